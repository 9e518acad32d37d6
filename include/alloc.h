/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clusterIP and nodePort allocation, as the API server would do it for
 * hand-written manifests that omit them, kept stable across runs by a small
 * state file.
 */
#ifndef SVCNAT_ALLOC_H
#define SVCNAT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "diag.h"
#include "model.h"

#define ALLOC_STATE_FILE "allocations"

enum alloc_kind {
	ALLOC_CLUSTER_IP,
	ALLOC_NODE_PORT,
};

struct alloc_entry {
	enum alloc_kind kind;
	char *service;		/* "namespace/name" */
	uint8_t proto;		/* nodePort: of the service port */
	uint16_t port;		/* nodePort: the service port number */
	struct addr ip;		/* clusterIP */
	uint16_t node_port;	/* nodePort */
};

struct alloc_state {
	struct alloc_entry *v;
	size_t n, cap;
	char *path;		/* the file it was read from: diagnostics point at it */
};

void alloc_state_free(struct alloc_state *s);
/* A missing file is an empty state; a corrupt one is an error, never a silent rebuild. */
int alloc_state_load(struct alloc_state *s, const char *dir, struct diag *d);
int alloc_state_parse(struct alloc_state *s, const char *buf, size_t len, const char *name, struct diag *d);
/*
 * Atomically: temp file (O_EXCL|O_NOFOLLOW), fsync, rename, fsync of the
 * directory; the entries are sorted first, so the same allocations always
 * make the same file (and an unchanged one is not written).
 */
int alloc_state_save(struct alloc_state *s, const char *dir);

/*
 * Gives every service that lacks them its clusterIP and nodePorts: the one it
 * had (from state) when still free and in range, else a new one.  Fills
 * *ret_new with the allocations now in force (to save after a successful
 * apply).  What was allocated is flagged in the model (cluster_ip_allocated,
 * node_port_allocated), for the caller to show.
 */
int alloc_run(struct model *m, const struct config *c, const struct alloc_state *old,
	      struct alloc_state *ret_new, struct diag *d);

#endif
