// SPDX-License-Identifier: GPL-2.0-or-later
/* The kernel view: common helpers, canonical texts, and the desired side built from a ruleset. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include "kview.h"
#include "nlbuild.h"

struct kview *kview_new(void)
{
	struct kview *v = calloc(1, sizeof(*v));

	if (v)
		arena_init(&v->arena);
	return v;
}

void kview_free(struct kview *v)
{
	if (!v)
		return;
	arena_free(&v->arena);
	free(v);
}

struct kv_table *kview_find_table(const struct kview *v, int family, const char *name)
{
	for (size_t i = 0; i < v->n_tables; i++)
		if (v->tables[i].family == family && !strcmp(v->tables[i].name, name))
			return &v->tables[i];
	return NULL;
}

struct kv_set *kv_table_find_set(const struct kv_table *t, const char *name)
{
	for (size_t i = 0; i < t->n_sets; i++)
		if (!strcmp(t->sets[i].name, name))
			return &t->sets[i];
	return NULL;
}

struct kv_chain *kv_table_find_chain(const struct kv_table *t, const char *name)
{
	for (size_t i = 0; i < t->n_chains; i++)
		if (!strcmp(t->chains[i].name, name))
			return &t->chains[i];
	return NULL;
}

int kv_elem_cmp_key(const struct kv_elem *a, const struct kv_elem *b)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(a->key, b->key, n);

	return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool kv_elem_equal(const struct kv_elem *a, const struct kv_elem *b)
{
	return kv_elem_cmp_key(a, b) == 0 && a->data_len == b->data_len &&
	       !memcmp(a->data, b->data, a->data_len) && a->has_verdict == b->has_verdict &&
	       a->verdict == b->verdict && same_str(a->chain, b->chain) && same_str(a->comment, b->comment);
}

/* ---- Canonical texts ---------------------------------------------------- */

static void put_hex(FILE *f, const void *data, uint32_t len)
{
	const uint8_t *p = data;

	for (uint32_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

/* Runs fill(f, obj) on a memory stream and copies the text into the arena. */
static const char *canonical(struct arena *a, void (*fill)(FILE *, const void *), const void *obj)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *s;

	if (!f)
		return NULL;
	fill(f, obj);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	s = arena_strndup(a, buf, len);
	free(buf);
	return s;
}

static void udata(FILE *f, const void *data, uint32_t len)
{
	fputs(" udata ", f);
	if (data)
		put_hex(f, data, len);
}

static void fill_table(FILE *f, const void *obj)
{
	const struct nftnl_table *t = obj;
	uint32_t len = 0;
	const void *u = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);

	fprintf(f, "flags %u", nftnl_table_is_set(t, NFTNL_TABLE_FLAGS) ? nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) : 0);
	udata(f, u, len);
}

static uint32_t set_u32(const struct nftnl_set *s, uint16_t attr)
{
	return nftnl_set_is_set(s, attr) ? nftnl_set_get_u32(s, attr) : 0;
}

static void fill_set(FILE *f, const void *obj)
{
	const struct nftnl_set *s = obj;
	uint32_t len = 0;
	const void *u = nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len);

	uint32_t data_type = set_u32(s, NFTNL_SET_DATA_TYPE);

	/* The kernel reports a verdict map's data length as sizeof(struct nft_verdict); nft sends 0. */
	fprintf(f, "flags %#x key %#x/%u data %#x/%u", set_u32(s, NFTNL_SET_FLAGS), set_u32(s, NFTNL_SET_KEY_TYPE),
		set_u32(s, NFTNL_SET_KEY_LEN), data_type, data_type == NFT_DATA_VERDICT ? 0 : set_u32(s, NFTNL_SET_DATA_LEN));
	if (nftnl_set_is_set(s, NFTNL_SET_TIMEOUT))
		fprintf(f, " timeout %llu", (unsigned long long)nftnl_set_get_u64(s, NFTNL_SET_TIMEOUT));
	udata(f, u, len);
}

static void fill_chain(FILE *f, const void *obj)
{
	const struct nftnl_chain *c = obj;
	uint32_t len = 0;
	const void *u = nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len);

	if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
		fprintf(f, "hook %u prio %d type %s policy %u ", nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM),
			(int)nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO),
			nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE) ? nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE) : "?",
			nftnl_chain_is_set(c, NFTNL_CHAIN_POLICY) ? nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) : NF_ACCEPT);
	fputs("chain", f);
	udata(f, u, len);
}

/*
 * libnftnl's own text of the expressions (what nft --debug=netlink shows),
 * without the first line, which carries the handle and position.
 */
static void fill_rule(FILE *f, const void *obj)
{
	const struct nftnl_rule *r = obj;
	uint32_t len = 0;
	const void *u = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	char buf[4096];
	const char *body;
	int n = nftnl_rule_snprintf(buf, sizeof(buf), r, NFTNL_OUTPUT_DEFAULT, 0);

	body = n > 0 ? strchr(buf, '\n') : NULL;
	fputs(body ? body + 1 : "?", f);
	udata(f, u, len);
}

const char *kv_table_decl(struct arena *a, const struct nftnl_table *t)
{
	return canonical(a, fill_table, t);
}

const char *kv_set_decl(struct arena *a, const struct nftnl_set *s)
{
	return canonical(a, fill_set, s);
}

const char *kv_chain_decl(struct arena *a, const struct nftnl_chain *c)
{
	return canonical(a, fill_chain, c);
}

/*
 * The kernel dumps some attributes nft never sends (a lookup's flags, as 0):
 * fill them in on our side so equal rules print equal.
 */
static void canonicalize_nat(struct nftnl_expr *e)
{
	uint32_t flags = nftnl_expr_is_set(e, NFTNL_EXPR_NAT_FLAGS) ? nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FLAGS) : 0;

	/* nft_nat_init(): a missing maximum is the minimum, and the range flags follow the registers. */
	if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MIN)) {
		if (!nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MAX))
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX,
					   nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN));
		flags |= NF_NAT_RANGE_MAP_IPS;
	}
	if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_PROTO_MIN)) {
		if (!nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_PROTO_MAX))
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX,
					   nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN));
		flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
	}
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
}

static int canonicalize_expr(struct nftnl_expr *e, void *data)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	(void)data;
	if (!strcmp(name, "lookup") && !nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS))
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, 0);
	else if (!strcmp(name, "dynset")) {
		/* nft_dynset_dump() always reports a timeout and flags. */
		if (!nftnl_expr_is_set(e, NFTNL_EXPR_DYNSET_TIMEOUT))
			nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT, 0);
		if (!nftnl_expr_is_set(e, NFTNL_EXPR_DYNSET_FLAGS))
			nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_FLAGS, 0);
	}
	else if (!strcmp(name, "nat"))
		canonicalize_nat(e);
	return 0;
}

const char *kv_rule_text(struct arena *a, struct nftnl_rule *r)
{
	nftnl_expr_foreach(r, canonicalize_expr, NULL);
	return canonical(a, fill_rule, r);
}

/* ---- The desired side ------------------------------------------------ */

static int cmp_elems(const void *a, const void *b)
{
	return kv_elem_cmp_key(a, b);
}

static bool is_sorted(const struct kv_elem *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (cmp_elems(&v[i - 1], &v[i]) > 0)
			return false;
	return true;
}

static int view_set(struct kview *v, const struct rs_table *t, const struct rs_set *s, struct kv_set *ret)
{
	struct nftnl_set *ns = nlbuild_set(t, s);

	if (!ns)
		return -ENOMEM;
	ret->name = s->name;
	ret->src = s;
	ret->decl = kv_set_decl(&v->arena, ns);
	ret->size = s->size;
	nftnl_set_free(ns);
	ret->elems = arena_alloc(&v->arena, (s->n_elems + 1) * sizeof(*ret->elems));
	if (!ret->decl || !ret->elems)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_elems; i++) {
		const struct rs_elem *e = &s->elems[i];
		struct kv_elem *k = &ret->elems[i];
		uint8_t key[RS_KEY_MAX], data[RS_KEY_MAX];

		k->key_len = (uint8_t)rs_elem_key(t, s, e, key);
		k->data_len = (uint8_t)rs_elem_data(t, s, e, data);
		if (e->verdict != RS_VERDICT_NONE) {
			k->has_verdict = true;
			k->verdict = e->verdict == RS_VERDICT_GOTO ? NFT_GOTO : e->verdict == RS_VERDICT_JUMP ? NFT_JUMP :
				     e->verdict == RS_VERDICT_DROP ? NF_DROP : e->verdict == RS_VERDICT_RETURN ? NFT_RETURN :
				     NF_ACCEPT;
			k->data_len = 0;
		}
		k->key = arena_memdup(&v->arena, key, k->key_len);
		k->data = arena_memdup(&v->arena, data, k->data_len);
		if (!k->key || !k->data)
			return -ENOMEM;
		k->chain = e->chain;
		k->comment = e->comment;
		k->src = e;
	}
	ret->n_elems = s->n_elems;
	/* The compiler's order already is key order (ruleset_sort): checked, since the merge depends on it. */
	if (!is_sorted(ret->elems, ret->n_elems))
		qsort(ret->elems, ret->n_elems, sizeof(*ret->elems), cmp_elems);
	return 0;
}

static int view_chain(struct kview *v, const struct rs_table *t, const struct rs_chain *c, struct kv_chain *ret)
{
	struct nftnl_chain *nc = nlbuild_chain(t, c);

	if (!nc)
		return -ENOMEM;
	ret->name = c->name;
	ret->src = c;
	ret->decl = kv_chain_decl(&v->arena, nc);
	nftnl_chain_free(nc);
	ret->rules = arena_alloc(&v->arena, (c->n_rules + 1) * sizeof(*ret->rules));
	if (!ret->decl || !ret->rules)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_rules; i++) {
		struct nftnl_rule *nr = nlbuild_rule(t, c, &c->rules[i]);

		if (!nr)
			return -ENOMEM;
		ret->rules[i] = kv_rule_text(&v->arena, nr);
		nftnl_rule_free(nr);
		if (!ret->rules[i])
			return -ENOMEM;
	}
	ret->n_rules = c->n_rules;
	return 0;
}

static int view_table(struct kview *v, const struct rs_table *t, struct kv_table *ret)
{
	struct nftnl_table *nt = nlbuild_table(t, true);

	if (!nt)
		return -ENOMEM;
	*ret = (struct kv_table){ .family = t->family, .name = t->name, .present = true, .src = t };
	ret->decl = kv_table_decl(&v->arena, nt);
	nftnl_table_free(nt);
	ret->sets = arena_alloc(&v->arena, (t->n_sets + 1) * sizeof(*ret->sets));
	ret->chains = arena_alloc(&v->arena, (t->n_chains + 1) * sizeof(*ret->chains));
	if (!ret->decl || !ret->sets || !ret->chains)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_sets; i++)
		if (view_set(v, t, &t->sets[i], &ret->sets[ret->n_sets++]) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < t->n_chains; i++)
		if (view_chain(v, t, &t->chains[i], &ret->chains[ret->n_chains++]) < 0)
			return -ENOMEM;
	return 0;
}

int kview_from_ruleset(const struct ruleset *rs, struct kview **ret)
{
	struct kview *v = kview_new();

	if (!v)
		return -ENOMEM;
	v->tables = arena_alloc(&v->arena, (rs->n_tables + 1) * sizeof(*v->tables));
	if (!v->tables)
		goto oom;
	for (size_t i = 0; i < rs->n_tables; i++)
		if (view_table(v, &rs->tables[i], &v->tables[v->n_tables++]) < 0)
			goto oom;
	*ret = v;
	return 0;
oom:
	kview_free(v);
	return -ENOMEM;
}
