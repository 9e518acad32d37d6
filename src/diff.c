// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"

static void *array(struct arena *a, size_t n, size_t size)
{
	return arena_alloc(a, (n ? n : 1) * size);
}

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_rules(const struct kv_chain *a, const struct kv_chain *b)
{
	if (a->n_rules != b->n_rules)
		return false;
	for (size_t i = 0; i < a->n_rules; i++)
		if (strcmp(a->rules[i], b->rules[i]))
			return false;
	return true;
}

static bool is_base(const struct kv_chain *c)
{
	/* A regular chain's declaration is only its comment; see kv_chain_decl. */
	return c->decl && strstr(c->decl, "hook ");
}

/* What makes a table's shape differ, or NULL: then only chains and elements change. */
static const char *shape_difference(const struct kv_table *want, const struct kv_table *have)
{
	if (!same_text(want->decl, have->decl))
		return "table declaration";
	/* Sets may come and go (session affinity); one that changed its type replaces the table. */
	for (size_t i = 0; i < want->n_sets; i++) {
		const struct kv_set *h = kv_table_find_set(have, want->sets[i].name);

		if (h && !same_text(want->sets[i].decl, h->decl))
			return "map declaration";
		/* The kernel would refuse the elements beyond its size (ENFILE): a new table, with room. */
		if (h && h->size && want->sets[i].n_elems > h->size)
			return "map size";
	}
	for (size_t i = 0; i < have->n_chains; i++) {
		const struct kv_chain *w = kv_table_find_chain(want, have->chains[i].name);

		if (is_base(&have->chains[i]) && !w)
			return "base chains";
		if (w && !same_text(w->decl, have->chains[i].decl))
			return "chain declaration";
	}
	for (size_t i = 0; i < want->n_chains; i++)
		if (is_base(&want->chains[i]) && !kv_table_find_chain(have, want->chains[i].name))
			return "base chains";
	return NULL;
}

static int diff_chains(struct arena *a, struct table_diff *td)
{
	const struct kv_table *w = td->want, *h = td->have;

	td->add_chains = array(a, w->n_chains, sizeof(*td->add_chains));
	td->rewrite_chains = array(a, w->n_chains, sizeof(*td->rewrite_chains));
	td->del_chains = array(a, h->n_chains, sizeof(*td->del_chains));
	if (!td->add_chains || !td->rewrite_chains || !td->del_chains)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_chains; i++) {
		const struct kv_chain *hc = kv_table_find_chain(h, w->chains[i].name);

		if (!hc)
			td->add_chains[td->n_add_chains++] = &w->chains[i];
		else if (!same_rules(&w->chains[i], hc))
			td->rewrite_chains[td->n_rewrite_chains++] = &w->chains[i];
	}
	for (size_t i = 0; i < h->n_chains; i++)
		if (!kv_table_find_chain(w, h->chains[i].name))
			td->del_chains[td->n_del_chains++] = &h->chains[i];
	return 0;
}

/* A merge of two key-sorted element lists. */
static int diff_elems(struct arena *a, struct set_diff *sd)
{
	const struct kv_set *w = sd->want, *h = sd->have;
	size_t i = 0, j = 0;

	sd->add = array(a, w->n_elems, sizeof(*sd->add));
	sd->del = array(a, h->n_elems, sizeof(*sd->del));
	if (!sd->add || !sd->del)
		return -ENOMEM;
	while (i < w->n_elems || j < h->n_elems) {
		int c = i == w->n_elems ? 1 : j == h->n_elems ? -1 : kv_elem_cmp_key(&w->elems[i], &h->elems[j]);

		if (c < 0) {
			sd->add[sd->n_add++] = &w->elems[i++];
		} else if (c > 0) {
			sd->del[sd->n_del++] = &h->elems[j++];
		} else {
			/* Same key, other value: delete and add in one transaction, as kube-proxy does. */
			if (!kv_elem_equal(&w->elems[i], &h->elems[j])) {
				sd->del[sd->n_del++] = &h->elems[j];
				sd->add[sd->n_add++] = &w->elems[i];
			}
			i++;
			j++;
		}
	}
	return 0;
}

/* Sets the kernel fills itself (session affinity clients): their elements are not svcnat's to diff. */
static bool kernel_filled(const struct kv_set *want)
{
	return want->src && want->src->kind == RS_SET_ADDR_DYNAMIC;
}

static int diff_sets(struct arena *a, struct table_diff *td)
{
	const struct kv_table *w = td->want, *h = td->have;

	td->add_sets = array(a, w->n_sets, sizeof(*td->add_sets));
	td->del_sets = array(a, h->n_sets, sizeof(*td->del_sets));
	td->sets = array(a, w->n_sets, sizeof(*td->sets));
	if (!td->add_sets || !td->del_sets || !td->sets)
		return -ENOMEM;
	for (size_t i = 0; i < w->n_sets; i++) {
		const struct kv_set *hs = kv_table_find_set(h, w->sets[i].name);
		struct set_diff *sd;

		if (!hs) {
			td->add_sets[td->n_add_sets++] = &w->sets[i];
			continue;
		}
		sd = &td->sets[td->n_sets++];
		sd->want = &w->sets[i];
		sd->have = hs;
		if (!kernel_filled(sd->want) && diff_elems(a, sd) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < h->n_sets; i++)
		if (!kv_table_find_set(w, h->sets[i].name))
			td->del_sets[td->n_del_sets++] = &h->sets[i];
	return 0;
}

static int diff_table(struct arena *a, struct table_diff *td, bool full)
{
	if (!td->have || !td->have->present) {
		td->action = TABLE_CREATE;
		return 0;
	}
	td->why = full ? "--full" : shape_difference(td->want, td->have);
	if (td->why) {
		td->action = TABLE_REPLACE;
		return 0;
	}
	if (diff_chains(a, td) < 0 || diff_sets(a, td) < 0)
		return -ENOMEM;
	td->action = TABLE_UPDATE;
	if (!td->n_add_chains && !td->n_del_chains && !td->n_rewrite_chains && !td->n_add_sets && !td->n_del_sets) {
		bool same = true;

		for (size_t i = 0; same && i < td->n_sets; i++)
			same = !td->sets[i].n_add && !td->sets[i].n_del;
		if (same)
			td->action = TABLE_KEEP;
	}
	return 0;
}

int diff_compute(const struct kview *want, const struct kview *have, bool full, struct diff **ret)
{
	struct diff *d = calloc(1, sizeof(*d));
	size_t n = want->n_tables + (have ? have->n_tables : 0);

	if (!d)
		return -ENOMEM;
	arena_init(&d->arena);
	d->tables = array(&d->arena, n, sizeof(*d->tables));
	if (!d->tables)
		goto oom;
	for (size_t i = 0; i < want->n_tables; i++) {
		struct table_diff *td = &d->tables[d->n_tables++];

		td->want = &want->tables[i];
		td->have = have ? kview_find_table(have, td->want->family, td->want->name) : NULL;
		if (diff_table(&d->arena, td, full) < 0)
			goto oom;
	}
	for (size_t i = 0; have && i < have->n_tables; i++) {
		const struct kv_table *h = &have->tables[i];

		if (h->present && !kview_find_table(want, h->family, h->name))
			d->tables[d->n_tables++] = (struct table_diff){ .action = TABLE_DELETE, .have = h };
	}
	*ret = d;
	return 0;
oom:
	diff_free(d);
	return -ENOMEM;
}

void diff_keep_kernel_sizes(struct diff *d)
{
	for (size_t i = 0; i < d->n_tables; i++) {
		struct table_diff *td = &d->tables[i];

		if (td->action != TABLE_UPDATE && td->action != TABLE_KEEP)
			continue;
		/* The caller's own view: diff_compute only read it. */
		for (size_t j = 0; j < td->n_sets; j++)
			((struct kv_set *)td->sets[j].want)->size = td->sets[j].have->size;
	}
}

void diff_free(struct diff *d)
{
	if (!d)
		return;
	arena_free(&d->arena);
	free(d);
}

bool diff_empty(const struct diff *d)
{
	for (size_t i = 0; i < d->n_tables; i++)
		if (d->tables[i].action != TABLE_KEEP)
			return false;
	return true;
}

void diff_count(const struct diff *d, struct diff_stats *ret)
{
	struct diff_stats s = { 0 };

	for (size_t i = 0; i < d->n_tables; i++) {
		const struct table_diff *td = &d->tables[i];

		s.tables_created += td->action == TABLE_CREATE;
		s.tables_replaced += td->action == TABLE_REPLACE;
		s.tables_deleted += td->action == TABLE_DELETE;
		s.chains_added += td->n_add_chains;
		s.chains_deleted += td->n_del_chains;
		s.chains_rewritten += td->n_rewrite_chains;
		s.sets_added += td->n_add_sets;
		s.sets_deleted += td->n_del_sets;
		for (size_t j = 0; j < td->n_sets; j++) {
			s.elems_added += td->sets[j].n_add;
			s.elems_deleted += td->sets[j].n_del;
		}
	}
	*ret = s;
}
