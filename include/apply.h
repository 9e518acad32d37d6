/* SPDX-License-Identifier: GPL-2.0-or-later */
/* diff -> one netlink batch, or -> the nft script of the same changes (the dry run). */
#ifndef SVCNAT_APPLY_H
#define SVCNAT_APPLY_H

#include <stdio.h>

#include "diff.h"
#include "nlbatch.h"

/* Which objects each set-element message carries, to name a refused element. */
struct apply_map;

/* Appends the changes of d to b in an order the kernel accepts. */
int apply_build_batch(const struct diff *d, struct nlbatch *b, struct apply_map **ret_map);
void apply_map_free(struct apply_map *m);
/*
 * "kernel refused map element 'default/myservice:http -> 198.19.1.2:8080'
 * (map 'service-backends'): Operation not supported (kernel: ...)".
 */
void apply_describe_error(const struct apply_map *m, const struct nlbatch_error *e, char *buf, size_t len);

/* The changes as an nft script: the empty script when there are none. */
int apply_print_diff(FILE *f, const struct diff *d);

/* What a diff does, in Kubernetes terms, for the one-line summary. */
struct apply_summary {
	size_t services_added, services_removed, services_updated;
	size_t endpoints_added, endpoints_removed;	/* backend map entries */
	size_t elements, chains;			/* kernel objects changed */
	size_t tables_replaced;
};
int apply_summarize(const struct diff *d, struct apply_summary *ret);

struct stale_flow;
/*
 * The UDP endpoints this diff takes away from a frontend (their conntrack
 * entries are stale), for one family.  *ret is malloc'd.
 */
int apply_stale_udp(const struct diff *d, int family, struct stale_flow **ret, size_t *ret_n);

#endif
