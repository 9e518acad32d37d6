// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer harness: the allocation state file (alloc_state_parse). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "contract.h"

/* Entries of a state that was accepted are what alloc_run() relies on. */
static void check_state(const struct alloc_state *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct alloc_entry *e = &s->v[i];

		if (!e->service)
			broken("an accepted entry has no service");
		if (e->kind == ALLOC_CLUSTER_IP && !e->ip.family)
			broken("an accepted clusterip entry has no address");
		if (e->kind == ALLOC_NODE_PORT && (!e->port || !e->node_port))
			broken("an accepted nodeport entry has a zero port");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alloc_state s = { 0 };
	struct diag d;
	int r;

	diag_init(&d);
	r = alloc_state_parse(&s, (const char *)data, size, "fuzz-allocations", &d);
	if (r != -ENOMEM)
		check_diags(&d, r);
	if (r == 0)
		check_state(&s);
	alloc_state_free(&s);
	diag_free(&d);
	return 0;
}
