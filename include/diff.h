/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * (desired, current) -> the smallest set of changes that makes the kernel
 * hold the desired tables.  Element changes are exact; a change to the shape
 * of a table (a set's type, a base chain's hook or priority: only a new
 * svcnat version or a hand edit does that) replaces the whole table in the
 * same transaction instead.
 */
#ifndef SVCNAT_DIFF_H
#define SVCNAT_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "kview.h"

enum table_action {
	TABLE_KEEP,	/* identical */
	TABLE_UPDATE,	/* chain and element changes below */
	TABLE_CREATE,	/* absent: create it whole */
	TABLE_REPLACE,	/* shape differs: delete and create whole, in one transaction */
	TABLE_DELETE,	/* no longer wanted (a family with nothing to serve) */
};

struct set_diff {
	const struct kv_set *want;	/* desired */
	const struct kv_set *have;	/* kernel */
	const struct kv_elem **add;	/* desired elements, new or changed */
	size_t n_add;
	const struct kv_elem **del;	/* kernel elements, gone or changed */
	size_t n_del;
};

struct table_diff {
	enum table_action action;
	const char *why;		/* TABLE_REPLACE: what differed */
	const struct kv_table *want;	/* NULL for TABLE_DELETE */
	const struct kv_table *have;	/* NULL when absent */
	const struct kv_chain **add_chains;	/* desired side */
	size_t n_add_chains;
	const struct kv_chain **del_chains;	/* kernel side */
	size_t n_del_chains;
	const struct kv_chain **rewrite_chains;	/* desired side: flush, then add its rules */
	size_t n_rewrite_chains;
	const struct kv_set **add_sets;		/* desired side: new sets (session affinity) */
	size_t n_add_sets;
	const struct kv_set **del_sets;		/* kernel side */
	size_t n_del_sets;
	struct set_diff *sets;		/* one per desired set present on both sides */
	size_t n_sets;
};

struct diff {
	struct arena arena;
	struct table_diff *tables;
	size_t n_tables;
};

/* full: replace every desired table whole (svcnat apply --full). */
int diff_compute(const struct kview *want, const struct kview *have, bool full, struct diff **ret);
/*
 * A set that stays keeps the size it has in the kernel (it still has room,
 * or diff_compute would have replaced its table): copies that size into the
 * desired view diff_compute was given, so that the record of the apply says
 * what the kernel holds.
 */
void diff_keep_kernel_sizes(struct diff *d);
void diff_free(struct diff *d);
bool diff_empty(const struct diff *d);

struct diff_stats {
	size_t elems_added, elems_deleted;
	size_t chains_added, chains_deleted, chains_rewritten;
	size_t sets_added, sets_deleted;
	size_t tables_created, tables_replaced, tables_deleted;
};
void diff_count(const struct diff *d, struct diff_stats *ret);

#endif
