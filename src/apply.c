// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * diff -> netlink batch (or nft script).  Order within the one transaction:
 * new chains (empty), element deletions, rule rewrites, element additions,
 * then chain deletions: so every goto/jump target exists before anything
 * points at it, and nothing points at a chain when it goes (else EBUSY).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include "apply.h"
#include "conntrack.h"
#include "nlbuild.h"

struct elem_call {
	char what[96];
	const struct kv_elem **elems;	/* borrowed from the diff, or owned */
	size_t n;
	bool owned;
};

struct apply_map {
	struct elem_call *calls;
	size_t n, cap;
};

void apply_map_free(struct apply_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		if (m->calls[i].owned)
			free(m->calls[i].elems);
	free(m->calls);
	free(m);
}

static int remember(struct apply_map *m, const char *what, const struct kv_elem **elems, size_t n)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct elem_call *v = realloc(m->calls, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->calls = v;
		m->cap = cap;
	}
	snprintf(m->calls[m->n].what, sizeof(m->calls[m->n].what), "%s", what);
	m->calls[m->n].elems = elems;
	m->calls[m->n].n = n;
	m->calls[m->n].owned = false;
	m->n++;
	return 0;
}

/* ---- Whole tables ------------------------------------------------------- */

static int add_table_msg(struct nlbatch *b, const struct rs_table *t, uint16_t type, uint16_t flags, bool comment)
{
	struct nftnl_table *nt = nlbuild_table(t, comment);
	char what[96];
	int r;

	if (!nt)
		return -ENOMEM;
	snprintf(what, sizeof(what), "table %s %s", print_nft_family(t->family), t->name);
	r = nlbatch_add_table(b, type, flags, nt, what);
	nftnl_table_free(nt);
	return r;
}

static int add_chain_msg(struct nlbatch *b, const struct rs_table *t, const struct rs_chain *c)
{
	struct nftnl_chain *nc = nlbuild_chain(t, c);
	char what[160];
	int r;

	if (!nc)
		return -ENOMEM;
	snprintf(what, sizeof(what), "chain '%s'", c->name);
	r = nlbatch_add_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, nc, what);
	nftnl_chain_free(nc);
	return r;
}

static int add_rules(struct nlbatch *b, const struct rs_table *t, const struct rs_chain *c)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		struct nftnl_rule *nr = nlbuild_rule(t, c, &c->rules[i]);
		char what[160];
		int r;

		if (!nr)
			return -ENOMEM;
		snprintf(what, sizeof(what), "rule %zu of chain '%s'", i + 1, c->name);
		r = nlbatch_add_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, nr, what);
		nftnl_rule_free(nr);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_set_msg(struct nlbatch *b, const struct rs_table *t, const struct rs_set *s)
{
	struct nftnl_set *ns = nlbuild_set(t, s);
	char what[160];
	int r;

	if (!ns)
		return -ENOMEM;
	snprintf(what, sizeof(what), "map '%s'", s->name);
	r = nlbatch_add_set(b, NFT_MSG_NEWSET, NLM_F_CREATE, ns, what);
	nftnl_set_free(ns);
	return r;
}

static int add_elem_chunk(struct nlbatch *b, const struct rs_table *t, const struct rs_set *s,
			  const struct kv_elem **elems, size_t n, bool del, const char *what, size_t *base)
{
	struct nftnl_set *ns = nlbuild_set_ref(t, s);
	int r = ns ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct nftnl_set_elem *e;

		if (!del) {
			r = nlbuild_set_add_elem(ns, t, s, elems[i]->src, false);
			continue;
		}
		/* A deletion needs only the key, which the kernel gave us. */
		e = nftnl_set_elem_alloc();
		if (!e) {
			r = -ENOMEM;
			break;
		}
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, elems[i]->key, elems[i]->key_len);
		nftnl_set_elem_add(ns, e);	/* the set takes the element */
	}
	if (r == 0)
		r = nlbatch_add_setelems(b, del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM, del ? 0 : NLM_F_CREATE, ns,
					 what, base);
	if (ns)
		nftnl_set_free(ns);
	return r;
}

/* Element messages for one set, in chunks: additions from the desired side, or deletions by key. */
static int add_elems(struct nlbatch *b, struct apply_map *m, const struct rs_table *t, const struct rs_set *s,
		     const struct kv_elem **elems, size_t n, bool del)
{
	char what[96];
	size_t base = 0;
	int r = 0;

	if (!n)
		return 0;
	snprintf(what, sizeof(what), "%s map '%s'", del ? "delete from" : "add to", s->name);
	for (size_t i = 0; r == 0 && i < n; i += NLBUILD_ELEM_CHUNK)
		r = add_elem_chunk(b, t, s, elems + i, n - i < NLBUILD_ELEM_CHUNK ? n - i : NLBUILD_ELEM_CHUNK, del,
				   what, &base);
	if (r == 0)
		r = remember(m, what, elems, n);
	return r;
}

/* Every element of a new set: the list of pointers is kept by the map, to name a refused one. */
static int all_elems(const struct rs_set *s, const struct kv_set *ks, struct nlbatch *b, struct apply_map *m,
		     const struct rs_table *t)
{
	const struct kv_elem **v;
	size_t before = m->n;
	int r;

	if (!ks->n_elems)
		return 0;
	v = malloc(ks->n_elems * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < ks->n_elems; i++)
		v[i] = &ks->elems[i];
	r = add_elems(b, m, t, s, v, ks->n_elems, false);
	if (m->n > before)
		m->calls[m->n - 1].owned = true;
	else
		free(v);
	return r;
}

/* Create (or replace) a table whole: the netlink twin of print_nft_ruleset for one table. */
static int load_table(struct nlbatch *b, struct apply_map *m, const struct kv_table *kt, bool replace)
{
	const struct rs_table *t = kt->src;
	int r = 0;

	if (replace && (add_table_msg(b, t, NFT_MSG_NEWTABLE, NLM_F_CREATE, false) < 0 ||
			add_table_msg(b, t, NFT_MSG_DELTABLE, 0, false) < 0))
		return -ENOMEM;
	if (add_table_msg(b, t, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, true) < 0)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < t->n_chains; i++)
		r = add_chain_msg(b, t, &t->chains[i]);
	for (size_t i = 0; r == 0 && i < t->n_sets; i++)
		r = add_set_msg(b, t, &t->sets[i]);
	/*
	 * Rules before elements: binding a map to a rule makes the kernel walk every
	 * element the map already holds, once per rule (about 6% of a cold load at
	 * 10,000 services); an empty map costs nothing to bind.
	 */
	for (size_t i = 0; r == 0 && i < t->n_chains; i++)
		r = add_rules(b, t, &t->chains[i]);
	for (size_t i = 0; r == 0 && i < t->n_sets; i++)
		r = all_elems(&t->sets[i], &kt->sets[i], b, m, t);
	return r;
}

/* ---- Incremental changes -------------------------------------------------- */

static int flush_chain(struct nlbatch *b, const struct kv_table *kt, const char *chain, const char *why)
{
	struct nftnl_rule *nr = nftnl_rule_alloc();
	char what[160];
	int r;

	if (!nr)
		return -ENOMEM;
	nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, (uint32_t)kt->family);
	nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, kt->name);
	nftnl_rule_set_str(nr, NFTNL_RULE_CHAIN, chain);
	snprintf(what, sizeof(what), "%s chain '%s'", why, chain);
	r = nlbatch_add_rule(b, NFT_MSG_DELRULE, 0, nr, what);
	nftnl_rule_free(nr);
	return r;
}

static int del_chain(struct nlbatch *b, const struct kv_table *kt, const char *chain)
{
	struct nftnl_chain *nc = nftnl_chain_alloc();
	char what[160];
	int r;

	if (!nc)
		return -ENOMEM;
	nftnl_chain_set_u32(nc, NFTNL_CHAIN_FAMILY, (uint32_t)kt->family);
	nftnl_chain_set_str(nc, NFTNL_CHAIN_TABLE, kt->name);
	nftnl_chain_set_str(nc, NFTNL_CHAIN_NAME, chain);
	snprintf(what, sizeof(what), "delete chain '%s'", chain);
	r = nlbatch_add_chain(b, NFT_MSG_DELCHAIN, 0, nc, what);
	nftnl_chain_free(nc);
	return r;
}

static int del_set(struct nlbatch *b, const struct kv_table *kt, const char *name)
{
	struct nftnl_set *ns = nftnl_set_alloc();
	char what[160];
	int r;

	if (!ns)
		return -ENOMEM;
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, (uint32_t)kt->family);
	nftnl_set_set_str(ns, NFTNL_SET_TABLE, kt->name);
	nftnl_set_set_str(ns, NFTNL_SET_NAME, name);
	snprintf(what, sizeof(what), "delete set '%s'", name);
	r = nlbatch_add_set(b, NFT_MSG_DELSET, 0, ns, what);
	nftnl_set_free(ns);
	return r;
}

static int update_table(struct nlbatch *b, struct apply_map *m, const struct table_diff *td)
{
	const struct rs_table *t = td->want->src;
	int r = 0;

	for (size_t i = 0; r == 0 && i < td->n_add_sets; i++) {
		r = add_set_msg(b, t, td->add_sets[i]->src);
		if (r == 0)
			r = all_elems(td->add_sets[i]->src, td->add_sets[i], b, m, t);
	}
	for (size_t i = 0; r == 0 && i < td->n_add_chains; i++)
		r = add_chain_msg(b, t, td->add_chains[i]->src);
	for (size_t i = 0; r == 0 && i < td->n_sets; i++)
		r = add_elems(b, m, t, td->sets[i].want->src, td->sets[i].del, td->sets[i].n_del, true);
	for (size_t i = 0; r == 0 && i < td->n_rewrite_chains; i++) {
		r = flush_chain(b, td->have, td->rewrite_chains[i]->name, "flush");
		if (r == 0)
			r = add_rules(b, t, td->rewrite_chains[i]->src);
	}
	for (size_t i = 0; r == 0 && i < td->n_add_chains; i++)
		r = add_rules(b, t, td->add_chains[i]->src);
	for (size_t i = 0; r == 0 && i < td->n_sets; i++)
		r = add_elems(b, m, t, td->sets[i].want->src, td->sets[i].add, td->sets[i].n_add, false);
	/* All flushed before any goes: one may jump to another (session affinity). */
	for (size_t i = 0; r == 0 && i < td->n_del_chains; i++)
		r = flush_chain(b, td->have, td->del_chains[i]->name, "flush (to delete)");
	for (size_t i = 0; r == 0 && i < td->n_del_chains; i++)
		r = del_chain(b, td->have, td->del_chains[i]->name);
	/* Last: nothing refers to them any more. */
	for (size_t i = 0; r == 0 && i < td->n_del_sets; i++)
		r = del_set(b, td->have, td->del_sets[i]->name);
	return r;
}

static int delete_table(struct nlbatch *b, const struct kv_table *kt)
{
	struct nftnl_table *nt = nftnl_table_alloc();
	char what[96];
	int r;

	if (!nt)
		return -ENOMEM;
	nftnl_table_set_u32(nt, NFTNL_TABLE_FAMILY, (uint32_t)kt->family);
	nftnl_table_set_str(nt, NFTNL_TABLE_NAME, kt->name);
	snprintf(what, sizeof(what), "delete table %s %s", print_nft_family(kt->family), kt->name);
	r = nlbatch_add_table(b, NFT_MSG_DELTABLE, 0, nt, what);
	nftnl_table_free(nt);
	return r;
}

int apply_build_batch(const struct diff *d, struct nlbatch *b, struct apply_map **ret_map)
{
	struct apply_map *m = calloc(1, sizeof(*m));
	int r = 0;

	if (!m)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < d->n_tables; i++) {
		const struct table_diff *td = &d->tables[i];

		switch (td->action) {
		case TABLE_KEEP:
			break;
		case TABLE_CREATE:
		case TABLE_REPLACE:
			r = load_table(b, m, td->want, td->action == TABLE_REPLACE);
			break;
		case TABLE_UPDATE:
			r = update_table(b, m, td);
			break;
		case TABLE_DELETE:
			r = delete_table(b, td->have);
			break;
		}
	}
	if (r < 0) {
		apply_map_free(m);
		return r;
	}
	*ret_map = m;
	return 0;
}

/* ---- Errors ---------------------------------------------------------- */

void apply_describe_error(const struct apply_map *m, const struct nlbatch_error *e, char *buf, size_t len)
{
	char detail[512];

	for (size_t i = 0; m && e->elem_index >= 0 && i < m->n; i++) {
		const struct elem_call *c = &m->calls[i];
		const struct kv_elem *k;

		if (strcmp(c->what, e->what) || (size_t)e->elem_index >= c->n)
			continue;
		k = c->elems[e->elem_index];
		/* "add to map 'service-backends'" -> "map 'service-backends'" */
		snprintf(buf, len, "kernel refused %s element '%s' (%s): %s%s%s%s", strstr(c->what, "map '") ? "map" : "set",
			 k->comment ? k->comment : "(no comment)", strstr(c->what, "map '") ? strstr(c->what, "map '") : c->what,
			 strerror(-e->error), e->msg[0] ? " (kernel: " : "", e->msg, e->msg[0] ? ")" : "");
		return;
	}
	nlbatch_error_format(e, detail, sizeof(detail));
	snprintf(buf, len, "kernel refused %s", detail);
}

/* ---- The dry run: the same changes as an nft script ----------------------- */

/* A kernel key back in nft syntax, decoded by the set's kind (a deletion names the key only). */
static void print_key(FILE *f, const struct rs_table *t, const struct rs_set *s, const struct kv_elem *k)
{
	bool v6 = !strcmp(print_nft_family(t->family), "ip6");
	size_t alen = v6 ? 16 : 4, off = 0;
	struct addr a = { .family = v6 ? AF_INET6 : AF_INET };
	char buf[ADDR_STRLEN];
	uint32_t u;
	bool addr_first = s->kind == RS_SET_ADDR_PROTO_PORT_VMAP || s->kind == RS_SET_ADDR_PROTO_PORT_INDEX_MAP ||
			  s->kind == RS_SET_ADDR_PROTO_PORT ||
			  s->kind == RS_SET_ADDR || s->kind == RS_SET_ADDR_ADDR || s->kind == RS_SET_PREFIX;

	if (addr_first) {
		memcpy(a.bytes, k->key, alen);
		fputs(addr_to_str(&a, buf), f);
		off = alen;
		if (s->kind == RS_SET_ADDR || s->kind == RS_SET_PREFIX)
			return;
		if (s->kind == RS_SET_ADDR_ADDR) {
			memcpy(a.bytes, k->key + off, alen);
			fprintf(f, " . %s", addr_to_str(&a, buf));
			return;
		}
		fputs(" . ", f);
	}
	/* l4proto: a host-order byte in a 4-byte slot; port: network order, padded. */
	fprintf(f, "%s . %u", k->key[off] == IPPROTO_UDP ? "udp" : k->key[off] == IPPROTO_SCTP ? "sctp" : "tcp",
		(unsigned)(k->key[off + 4] << 8 | k->key[off + 5]));
	if (s->kind == RS_SET_ADDR_PROTO_PORT_INDEX_MAP || s->kind == RS_SET_PROTO_PORT_INDEX_MAP) {
		memcpy(&u, k->key + off + 8, 4);
		fprintf(f, " . %u", u);
	}
}

static void print_elem_lines(FILE *f, const char *verb, const struct rs_table *t, const struct rs_set *s,
			     const struct kv_elem **v, size_t n, bool key_only)
{
	if (!n)
		return;
	fprintf(f, "%s element %s %s %s {\n", verb, print_nft_family(t->family), t->name, s->name);
	for (size_t i = 0; i < n; i++) {
		fputc('\t', f);
		if (key_only)
			print_key(f, t, s, v[i]);
		else
			print_nft_elem(f, t, s, v[i]->src);
		fputs(i + 1 < n ? ",\n" : "\n", f);
	}
	fputs("}\n", f);
}

static void print_rules(FILE *f, const struct rs_table *t, const struct rs_chain *c)
{
	for (size_t i = 0; i < c->n_rules; i++) {
		fprintf(f, "add rule %s %s %s ", print_nft_family(t->family), t->name, c->name);
		print_nft_rule(f, t, &c->rules[i]);
		fputc('\n', f);
	}
}

static void print_update(FILE *f, const struct table_diff *td)
{
	const struct rs_table *t = td->want->src;
	const char *fam = print_nft_family(t->family);

	for (size_t i = 0; i < td->n_add_sets; i++) {
		fprintf(f, "add ");
		print_nft_set_decl(f, t, td->add_sets[i]->src, PRINT_NFT_ONELINE);
		fputc('\n', f);
		for (size_t k = 0; k < td->add_sets[i]->n_elems; k++) {
			const struct kv_elem *e = &td->add_sets[i]->elems[k];

			print_elem_lines(f, "add", t, td->add_sets[i]->src, &e, 1, false);
		}
	}
	/* Only regular chains come and go in an update; base chains change the table's shape. */
	for (size_t i = 0; i < td->n_add_chains; i++) {
		fputs("add ", f);
		print_nft_chain_decl(f, t, td->add_chains[i]->src, PRINT_NFT_ONELINE);
		fputc('\n', f);
	}
	for (size_t i = 0; i < td->n_sets; i++)
		print_elem_lines(f, "delete", t, td->sets[i].want->src, td->sets[i].del, td->sets[i].n_del, true);
	for (size_t i = 0; i < td->n_rewrite_chains; i++) {
		fprintf(f, "flush chain %s %s %s\n", fam, t->name, td->rewrite_chains[i]->name);
		print_rules(f, t, td->rewrite_chains[i]->src);
	}
	for (size_t i = 0; i < td->n_add_chains; i++)
		print_rules(f, t, td->add_chains[i]->src);
	for (size_t i = 0; i < td->n_sets; i++)
		print_elem_lines(f, "add", t, td->sets[i].want->src, td->sets[i].add, td->sets[i].n_add, false);
	/* As apply does it: every chain that goes is flushed before any is deleted. */
	for (size_t i = 0; i < td->n_del_chains; i++)
		fprintf(f, "flush chain %s %s %s\n", fam, t->name, td->del_chains[i]->name);
	for (size_t i = 0; i < td->n_del_chains; i++)
		fprintf(f, "delete chain %s %s %s\n", fam, t->name, td->del_chains[i]->name);
	for (size_t i = 0; i < td->n_del_sets; i++)
		fprintf(f, "delete set %s %s %s\n", fam, t->name, td->del_sets[i]->name);
}

int apply_print_diff(FILE *f, const struct diff *d)
{
	for (size_t i = 0; i < d->n_tables; i++) {
		const struct table_diff *td = &d->tables[i];
		const struct kv_table *kt = td->want ? td->want : td->have;

		switch (td->action) {
		case TABLE_KEEP:
			break;
		case TABLE_REPLACE:
			fprintf(f, "# replacing the whole table: %s differs\n", td->why);
			fprintf(f, "table %s %s\ndelete table %s %s\n", print_nft_family(kt->family), kt->name,
				print_nft_family(kt->family), kt->name);
			/* fall through */
		case TABLE_CREATE:
			print_nft_table(f, td->want->src);
			break;
		case TABLE_UPDATE:
			print_update(f, td);
			break;
		case TABLE_DELETE:
			fprintf(f, "delete table %s %s\n", print_nft_family(kt->family), kt->name);
			break;
		}
	}
	return ferror(f) ? -EIO : 0;
}

/* ---- Summary ------------------------------------------------------------ */

/* One changed element, by the service it belongs to ("namespace/name" from its comment). */
struct svc_change {
	const char *name;	/* borrowed from the view */
	size_t len;
	int how;		/* 1 frontend added, -1 frontend deleted, 2 backend added, -2 backend deleted */
};

struct svc_changes {
	struct svc_change *v;
	size_t n, cap;
};

static bool is_frontend_set(const char *name)
{
	return strcmp(name, "service-backends") && strcmp(name, "nodeport-backends") && strcmp(name, "hairpin") &&
	       strcmp(name, "cluster-ips");
}

static int note_service(struct svc_changes *c, const char *comment, int how)
{
	const char *colon = comment ? strchr(comment, ':') : NULL;

	if (!colon || colon == comment)
		return 0;
	if (c->n == c->cap) {
		struct svc_change *v = realloc(c->v, (c->cap = c->cap ? c->cap * 2 : 256) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
	}
	c->v[c->n++] = (struct svc_change){ comment, (size_t)(colon - comment), how };
	return 0;
}

static int cmp_changes(const void *a, const void *b)
{
	const struct svc_change *x = a, *y = b;
	int r = strncmp(x->name, y->name, x->len < y->len ? x->len : y->len);

	return r ? r : (x->len > y->len) - (x->len < y->len);
}

/* Sorted by service, each service's changes say whether it came, went, or changed. */
static void count_services(struct svc_changes *c, struct apply_summary *s)
{
	if (c->n > 1)	/* qsort(NULL, 0, ...) is undefined */
		qsort(c->v, c->n, sizeof(*c->v), cmp_changes);
	for (size_t i = 0, j; i < c->n; i = j) {
		bool fa = false, fr = false, ba = false, br = false;

		for (j = i; j < c->n && !cmp_changes(&c->v[i], &c->v[j]); j++) {
			fa |= c->v[j].how == 1;
			fr |= c->v[j].how == -1;
			ba |= c->v[j].how == 2;
			br |= c->v[j].how == -2;
		}
		if (fa && !fr && !br)
			s->services_added++;
		else if (fr && !fa && !ba)
			s->services_removed++;
		else
			s->services_updated++;
	}
}

static int summarize_table(const struct table_diff *td, struct svc_changes *c, struct apply_summary *s)
{
	int r = 0;

	s->tables_replaced += td->action == TABLE_REPLACE || td->action == TABLE_CREATE;
	s->chains += td->n_add_chains + td->n_del_chains + td->n_rewrite_chains;
	if (td->action == TABLE_REPLACE || td->action == TABLE_CREATE)
		for (size_t j = 0; r == 0 && j < td->want->n_sets; j++) {
			const struct kv_set *ks = &td->want->sets[j];
			bool front = is_frontend_set(ks->name), backend = strstr(ks->name, "backends") != NULL;

			s->elements += ks->n_elems;
			s->endpoints_added += backend ? ks->n_elems : 0;
			/* Every service of a new table is added: its frontends name them all. */
			for (size_t k = 0; r == 0 && front && k < ks->n_elems; k++)
				r = note_service(c, ks->elems[k].comment, 1);
		}
	for (size_t j = 0; r == 0 && j < td->n_sets; j++) {
		const struct set_diff *sd = &td->sets[j];
		bool front = is_frontend_set(sd->want->name), backend = strstr(sd->want->name, "backends") != NULL;

		s->elements += sd->n_add + sd->n_del;
		s->endpoints_added += backend ? sd->n_add : 0;
		s->endpoints_removed += backend ? sd->n_del : 0;
		for (size_t k = 0; r == 0 && k < sd->n_add; k++)
			r = note_service(c, sd->add[k]->comment, front ? 1 : 2);
		for (size_t k = 0; r == 0 && k < sd->n_del; k++)
			r = note_service(c, sd->del[k]->comment, front ? -1 : -2);
	}
	return r;
}

int apply_summarize(const struct diff *d, struct apply_summary *ret)
{
	struct apply_summary s = { 0 };
	struct svc_changes c = { 0 };
	int r = 0;

	for (size_t i = 0; r == 0 && i < d->n_tables; i++)
		r = summarize_table(&d->tables[i], &c, &s);
	if (r == 0)
		count_services(&c, &s);
	free(c.v);
	*ret = s;
	return r;
}

/* ---- Stale UDP flows -------------------------------------------------- */

static bool same_frontend(const struct kv_elem *a, const struct kv_elem *b, size_t prefix)
{
	return a->key_len == b->key_len && !memcmp(a->key, b->key, prefix);
}

/* Whether endpoint (data bytes) still serves the frontend of k in the desired set. */
static bool still_served(const struct kv_set *want, const struct kv_elem *k, size_t prefix, size_t alen)
{
	size_t lo = 0, hi = want->n_elems;

	/* Elements are sorted by key: find the first with the frontend's prefix. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(want->elems[mid].key, k->key, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < want->n_elems && same_frontend(&want->elems[i], k, prefix); i++)
		if (!memcmp(want->elems[i].data, k->data, alen))
			return true;
	return false;
}

static int note_stale(const struct set_diff *sd, bool nodeport, int family, struct stale_flow **v, size_t *n,
		      size_t *cap)
{
	size_t alen = family == AF_INET6 ? 16 : 4, off = nodeport ? 0 : alen, prefix = off + 8;

	for (size_t i = 0; i < sd->n_del; i++) {
		const struct kv_elem *k = sd->del[i];
		struct stale_flow *f;

		if (k->key_len < prefix + 4 || k->data_len < alen || k->key[off] != IPPROTO_UDP ||
		    still_served(sd->want, k, prefix, alen))
			continue;
		if (*n == *cap) {
			struct stale_flow *nv = realloc(*v, (*cap = *cap ? *cap * 2 : 16) * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			*v = nv;
		}
		f = &(*v)[(*n)++];
		*f = (struct stale_flow){ .port = (uint16_t)(k->key[off + 4] << 8 | k->key[off + 5]) };
		if (!nodeport) {
			f->frontend.family = family;
			memcpy(f->frontend.bytes, k->key, alen);
		}
		f->endpoint.family = family;
		memcpy(f->endpoint.bytes, k->data, alen);
	}
	return 0;
}

int apply_stale_udp(const struct diff *d, int family, struct stale_flow **ret, size_t *ret_n)
{
	struct stale_flow *v = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	for (size_t i = 0; r == 0 && i < d->n_tables; i++) {
		const struct table_diff *td = &d->tables[i];

		if (td->action != TABLE_UPDATE ||
		    !strcmp(print_nft_family(td->want->family), "ip6") != (family == AF_INET6))
			continue;
		for (size_t j = 0; r == 0 && j < td->n_sets; j++) {
			const char *name = td->sets[j].want->name;

			if (!strcmp(name, "service-backends") || !strcmp(name, "nodeport-backends"))
				r = note_stale(&td->sets[j], !strcmp(name, "nodeport-backends"), family, &v, &n, &cap);
		}
	}
	if (r < 0) {
		free(v);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
