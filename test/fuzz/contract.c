// SPDX-License-Identifier: GPL-2.0-or-later
/* The contract checks every libFuzzer harness shares. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "contract.h"

void broken(const char *what)
{
	fprintf(stderr, "fuzz harness: broken contract: %s\n", what);
	abort();
}

void check_diags(const struct diag *d, int r)
{
	char line[4096];

	if (r == -EINVAL && !d->errors)
		broken("failed without saying why");
	if (r == 0 && d->errors)
		broken("reported an error but succeeded");
	for (size_t i = 0; i < d->n; i++) {
		if (!d->msgs[i].loc.file)
			broken("a message that names no file");
		diag_format(&d->msgs[i], line, sizeof(line));
	}
}

/*
 * Walks the tree as a consumer would, so a dangling or half-built node is
 * touched; *budget counts values down from TREE_MAX_NODES, so an alias bomb
 * that got past the limit aborts here instead of running for ever.
 */
static void walk(const struct node *n, unsigned depth, size_t *budget)
{
	bool scalar = n->type != NODE_SEQ && n->type != NODE_MAP;

	/* 64 levels of collections; a scalar inside the deepest one is one level further. */
	if (depth > TREE_MAX_DEPTH + (unsigned)scalar || !*budget)
		broken("deeper or larger than the documented limits");
	--*budget;
	if (scalar && (!n->str || n->str[n->len] != '\0'))
		broken("every scalar keeps its text, NUL-terminated");
	if (n->type == NODE_SEQ)
		for (size_t i = 0; i < n->n; i++)
			walk(n->items[i], depth + 1, budget);
	if (n->type == NODE_MAP)
		for (size_t i = 0; i < n->n; i++) {
			if (n->pairs[i].key->type != NODE_STRING)
				broken("keys are always strings");
			walk(n->pairs[i].value, depth + 1, budget);
		}
}

void check_tree_parser(tree_parser *parse, const char *name, const uint8_t *data, size_t size)
{
	struct arena a;
	struct diag d;
	struct doc *docs = NULL;
	size_t budget = TREE_MAX_NODES;
	int r;

	arena_init(&a);
	diag_init(&d);
	r = parse((const char *)data, size, name, &a, &d, &docs);
	if (r != -ENOMEM)
		check_diags(&d, r);
	for (struct doc *doc = r == 0 ? docs : NULL; doc; doc = doc->next)
		if (doc->root)
			walk(doc->root, 1, &budget);
	diag_free(&d);
	arena_free(&a);
}
