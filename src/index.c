// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Joins the model: services sorted by namespace/name (so every later stage
 * is reproducible and lookups are binary searches), duplicates found, and
 * endpoints linked to the services they serve.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static int cmp_ns_name(const char *ans, const char *aname, const char *bns, const char *bname)
{
	int c = strcmp(ans, bns);

	return c ? c : strcmp(aname, bname);
}

static int cmp_services(const void *a, const void *b)
{
	const struct service *x = a, *y = b;
	int c = cmp_ns_name(x->ns, x->name, y->ns, y->name);

	/* Equal names keep file order, so the first definition is the one that stands. */
	if (c)
		return c;
	return x->loc.file == y->loc.file ? (x->loc.line > y->loc.line) - (x->loc.line < y->loc.line) :
	       strcmp(x->loc.file ? x->loc.file : "", y->loc.file ? y->loc.file : "");
}

static int cmp_objects(const void *a, const void *b)
{
	const struct object_ref *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);

	if (!c)
		c = cmp_ns_name(x->ns, x->name, y->ns, y->name);
	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static void report_duplicate(struct diag *d, const char *kind, const char *ns, const char *name,
			     const struct loc *dup, const struct loc *first)
{
	diag_error(d, dup, "%s %s/%s: metadata.name: duplicate %s (first defined at %s:%u:%u)", kind, ns,
		   name, kind, first->file, first->line, first->col);
}

static int index_services(struct model *m, struct diag *d)
{
	int r = 0;

	if (m->n_services > 1)	/* qsort(NULL, 0, ...) is undefined */
		qsort(m->services, m->n_services, sizeof(*m->services), cmp_services);
	for (size_t i = 1; i < m->n_services; i++) {
		struct service *a = &m->services[i - 1], *b = &m->services[i];

		if (cmp_ns_name(a->ns, a->name, b->ns, b->name))
			continue;
		report_duplicate(d, "Service", b->ns, b->name, &b->loc, &a->loc);
		a->invalid = b->invalid = true;
		r = -EINVAL;
	}
	return r;
}

static int index_objects(struct model *m, struct diag *d)
{
	int r = 0;

	if (m->n_objects > 1)
		qsort(m->objects, m->n_objects, sizeof(*m->objects), cmp_objects);
	for (size_t i = 1; i < m->n_objects; i++) {
		struct object_ref *a = &m->objects[i - 1], *b = &m->objects[i];

		if (strcmp(a->kind, b->kind) || cmp_ns_name(a->ns, a->name, b->ns, b->name))
			continue;
		report_duplicate(d, b->kind, b->ns, b->name, &b->loc, &a->loc);
		r = -EINVAL;
	}
	return r;
}

struct service *model_find_service(const struct model *m, const char *ns, const char *name)
{
	size_t lo = 0, hi = m->n_services;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct service *s = &m->services[mid];
		int c = cmp_ns_name(ns, name, s->ns, s->name);

		if (c == 0)
			return (struct service *)s;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int link_groups(struct model *m, struct diag *d)
{
	size_t *count = calloc(m->n_services + 1, sizeof(*count));

	if (!count)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_groups; i++) {
		struct service *s = model_find_service(m, m->groups[i].ns, m->groups[i].service);

		if (s)
			count[s - m->services]++;
		else
			diag_info(d, &m->groups[i].loc, "%s %s/%s: no Service %s/%s: not used", m->groups[i].kind,
				  m->groups[i].ns, m->groups[i].object, m->groups[i].ns, m->groups[i].service);
	}
	for (size_t i = 0; i < m->n_services; i++) {
		m->services[i].groups = arena_alloc(&m->arena, (count[i] + 1) * sizeof(struct ep_group *));
		if (!m->services[i].groups) {
			free(count);
			return -ENOMEM;
		}
		m->services[i].n_groups = 0;
	}
	free(count);
	for (size_t i = 0; i < m->n_groups; i++) {
		struct service *s = model_find_service(m, m->groups[i].ns, m->groups[i].service);

		if (s)
			s->groups[s->n_groups++] = &m->groups[i];
	}
	return 0;
}

int model_index(struct model *m, struct diag *d)
{
	int r = index_services(m, d);

	if (index_objects(m, d) < 0)
		r = -EINVAL;
	if (link_groups(m, d) == -ENOMEM)
		return -ENOMEM;
	return r;
}

uint16_t ep_group_target(const struct ep_group *g, const struct svc_port *sp)
{
	for (size_t i = 0; i < g->n_ports; i++)
		if (g->ports[i].proto == sp->proto && !strcmp(g->ports[i].name, sp->name))
			return g->ports[i].port;
	if (!sp->target_name)
		return 0;
	for (size_t i = 0; i < g->n_ports; i++)
		if (g->ports[i].proto == sp->proto && !strcmp(g->ports[i].name, sp->target_name))
			return g->ports[i].port;
	return 0;
}
