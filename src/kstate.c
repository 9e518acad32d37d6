// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>

#include "kstate.h"
#include "nlbatch.h"

#define KSTATE_RETRIES 8

struct dump {
	struct kview *v;
	struct kv_table *t;
	struct kv_set *set;	/* GETSETELEM: the set being read */
	size_t cap_sets, cap_chains, cap_elems;
	int err;
};

/* Sends one request and runs cb on every reply until the dump ends. */
static int request(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static uint32_t seq_counter;
	char *buf = malloc(NL_RECV_SIZE);
	uint32_t seq = (uint32_t)time(NULL) + ++seq_counter;
	int r;

	if (!buf)
		return -ENOMEM;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		free(buf);
		return -errno;
	}
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, NL_RECV_SIZE);

		if (n < 0) {
			r = -errno;
			break;
		}
		errno = 0;
		r = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), cb, data);
		if (r < 0)
			r = errno ? -errno : -EPROTO;
	} while (r > 0);
	free(buf);
	return r;
}

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 16;
	p = realloc(v, *cap * size);
	if (!p)
		free(v);
	return p;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct kv_chain *k;

	if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0)
		goto err;
	/* The kernel filters chain dumps by family only: other tables' chains are not ours. */
	if (strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), d->t->name)) {
		nftnl_chain_free(c);
		return MNL_CB_OK;
	}
	d->t->chains = grow(d->t->chains, &d->cap_chains, d->t->n_chains, sizeof(*d->t->chains));
	if (!d->t->chains)
		goto err;
	k = &d->t->chains[d->t->n_chains++];
	*k = (struct kv_chain){ .name = arena_strdup(&d->v->arena, nftnl_chain_get_str(c, NFTNL_CHAIN_NAME)),
				.decl = kv_chain_decl(&d->v->arena, c) };
	nftnl_chain_free(c);
	return k->name && k->decl ? MNL_CB_OK : MNL_CB_ERROR;
err:
	nftnl_chain_free(c);
	d->err = -ENOMEM;
	return MNL_CB_ERROR;
}

/* Rules arrive in chain order; each is appended to its chain's list. */
static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct kv_chain *c;
	const char *text;

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0)
		goto err;
	if (strcmp(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), d->t->name)) {
		nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	c = kv_table_find_chain(d->t, nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	text = kv_rule_text(&d->v->arena, r);
	if (!text)
		goto err;
	if (c) {
		const char **rules = arena_alloc(&d->v->arena, (c->n_rules + 1) * sizeof(*rules));
		uint64_t *handles = arena_alloc(&d->v->arena, (c->n_rules + 1) * sizeof(*handles));

		if (!rules || !handles)
			goto err;
		if (c->n_rules) {
			memcpy(rules, c->rules, c->n_rules * sizeof(*rules));
			memcpy(handles, c->handles, c->n_rules * sizeof(*handles));
		}
		rules[c->n_rules] = text;
		handles[c->n_rules] = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
		c->rules = rules;
		c->handles = handles;
		c->n_rules++;
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
err:
	nftnl_rule_free(r);
	d->err = -ENOMEM;
	return MNL_CB_ERROR;
}

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct kv_set *k;

	if (!s || nftnl_set_nlmsg_parse(nlh, s) < 0)
		goto err;
	if (strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE), d->t->name)) {
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	d->t->sets = grow(d->t->sets, &d->cap_sets, d->t->n_sets, sizeof(*d->t->sets));
	if (!d->t->sets)
		goto err;
	k = &d->t->sets[d->t->n_sets++];
	*k = (struct kv_set){ .name = arena_strdup(&d->v->arena, nftnl_set_get_str(s, NFTNL_SET_NAME)),
			      .decl = kv_set_decl(&d->v->arena, s),
			      .size = nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE) ? nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE) : 0 };
	nftnl_set_free(s);
	return k->name && k->decl ? MNL_CB_OK : MNL_CB_ERROR;
err:
	nftnl_set_free(s);
	d->err = -ENOMEM;
	return MNL_CB_ERROR;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT)
		*(const struct nftnl_udata **)data = attr;
	return 0;
}

int kv_elem_from_nftnl(struct arena *a, struct nftnl_set_elem *n, struct kv_elem *k)
{
	uint32_t len = 0;
	const void *p = nftnl_set_elem_get(n, NFTNL_SET_ELEM_KEY, &len);

	*k = (struct kv_elem){ .data = (const uint8_t *)"" };
	if (!p || len > RS_KEY_MAX)
		return -EPROTO;
	k->key = arena_memdup(a, p, len);
	if (!k->key)
		return -ENOMEM;
	k->key_len = (uint8_t)len;
	if (nftnl_set_elem_is_set(n, NFTNL_SET_ELEM_VERDICT)) {
		k->has_verdict = true;
		k->verdict = (int32_t)nftnl_set_elem_get_u32(n, NFTNL_SET_ELEM_VERDICT);
		if (nftnl_set_elem_is_set(n, NFTNL_SET_ELEM_CHAIN))
			k->chain = arena_strdup(a, nftnl_set_elem_get_str(n, NFTNL_SET_ELEM_CHAIN));
	} else if ((p = nftnl_set_elem_get(n, NFTNL_SET_ELEM_DATA, &len)) && len <= RS_KEY_MAX) {
		k->data = arena_memdup(a, p, len);
		if (!k->data)
			return -ENOMEM;
		k->data_len = (uint8_t)len;
	}
	p = nftnl_set_elem_get(n, NFTNL_SET_ELEM_USERDATA, &len);
	if (p) {
		const struct nftnl_udata *c = NULL;

		nftnl_udata_parse(p, len, comment_cb, &c);
		if (c)
			k->comment = arena_strndup(a, nftnl_udata_get(c), strnlen(nftnl_udata_get(c), nftnl_udata_len(c)));
	}
	return 0;
}

static int elem_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	struct nftnl_set_elem *e;

	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0 || !(it = nftnl_set_elems_iter_create(s)))
		goto err;
	for (e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) {
		struct kv_set *k = d->set;

		k->elems = grow(k->elems, &d->cap_elems, k->n_elems, sizeof(*k->elems));
		if (!k->elems)
			goto err;
		if (kv_elem_from_nftnl(&d->v->arena, e, &k->elems[k->n_elems]) < 0)
			goto err;
		k->n_elems++;
	}
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
err:
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	d->err = -ENOMEM;
	return MNL_CB_ERROR;
}

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t || nftnl_table_nlmsg_parse(nlh, t) < 0) {
		nftnl_table_free(t);
		d->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	d->t->present = true;
	d->t->decl = kv_table_decl(&d->v->arena, t);
	nftnl_table_free(t);
	return MNL_CB_OK;
}

static int cmp_elems(const void *a, const void *b)
{
	return kv_elem_cmp_key(a, b);
}

/*
 * Heap arrays filled by the callbacks move into the arena at the end, so the
 * whole view is freed with it.
 */
static int settle(struct kview *v, void **p, size_t n, size_t size)
{
	void *copy = arena_alloc(&v->arena, (n + 1) * size);

	if (!copy)
		return -ENOMEM;
	if (n)
		memcpy(copy, *p, n * size);
	free(*p);
	*p = copy;
	return 0;
}

static int dump_sets(struct mnl_socket *nl, struct dump *d, char *buf)
{
	for (size_t i = 0; i < d->t->n_sets; i++) {
		struct nftnl_set *s = nftnl_set_alloc();
		struct nlmsghdr *nlh;
		int r;

		if (!s)
			return -ENOMEM;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, d->t->name);
		nftnl_set_set_str(s, NFTNL_SET_NAME, d->t->sets[i].name);
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, (uint16_t)d->t->family, NLM_F_DUMP, 0);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
		d->set = &d->t->sets[i];
		d->cap_elems = 0;
		r = request(nl, nlh, elem_cb, d);
		if (r < 0)
			return d->err ? d->err : r;
		if (settle(d->v, (void **)&d->set->elems, d->set->n_elems, sizeof(struct kv_elem)) < 0)
			return -ENOMEM;
		if (d->set->n_elems > 1)
			qsort(d->set->elems, d->set->n_elems, sizeof(struct kv_elem), cmp_elems);
	}
	return 0;
}

static int dump_table(struct mnl_socket *nl, struct dump *d)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint16_t fam = (uint16_t)d->t->family;
	struct nlmsghdr *nlh;
	struct nftnl_table *t = nftnl_table_alloc();
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nftnl_rule *ru = nftnl_rule_alloc();
	struct nftnl_set *s = nftnl_set_alloc();
	int r = -ENOMEM;

	if (!t || !c || !ru || !s)
		goto out;
	memset(buf, 0, sizeof(buf));	/* attribute padding is sent as it is */
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, d->t->name);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, fam, NLM_F_ACK, 0);
	nftnl_table_nlmsg_build_payload(nlh, t);
	r = request(nl, nlh, table_cb, d);
	if (r == -ENOENT || !d->t->present) {
		r = 0;	/* nothing to read: svcnat's table is not there */
		goto out;
	}
	if (r < 0)
		goto out;
	/* Each dump names the table, so the kernel sends svcnat's objects only. */
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, d->t->name);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETCHAIN, fam, NLM_F_DUMP, 0);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	r = request(nl, nlh, chain_cb, d);
	if (r < 0 || (r = settle(d->v, (void **)&d->t->chains, d->t->n_chains, sizeof(struct kv_chain))) < 0)
		goto out;
	nftnl_rule_set_str(ru, NFTNL_RULE_TABLE, d->t->name);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, fam, NLM_F_DUMP, 0);
	nftnl_rule_nlmsg_build_payload(nlh, ru);
	r = request(nl, nlh, rule_cb, d);
	if (r < 0)
		goto out;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, d->t->name);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSET, fam, NLM_F_DUMP, 0);
	nftnl_set_nlmsg_build_payload(nlh, s);
	r = request(nl, nlh, set_cb, d);
	if (r < 0 || (r = settle(d->v, (void **)&d->t->sets, d->t->n_sets, sizeof(struct kv_set))) < 0)
		goto out;
	r = dump_sets(nl, d, buf);
out:
	nftnl_table_free(t);
	nftnl_chain_free(c);
	nftnl_rule_free(ru);
	nftnl_set_free(s);
	return r < 0 && d->err ? d->err : r;
}

static int dump_once(struct mnl_socket *nl, const struct kview *want, struct kview **ret)
{
	struct kview *v = kview_new();
	int r = 0;

	if (!v)
		return -ENOMEM;
	v->tables = arena_alloc(&v->arena, (want->n_tables + 1) * sizeof(*v->tables));
	if (!v->tables)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < want->n_tables; i++) {
		struct dump d = { .v = v, .t = &v->tables[v->n_tables++] };

		*d.t = (struct kv_table){ .family = want->tables[i].family, .name = want->tables[i].name };
		r = dump_table(nl, &d);
	}
	if (r < 0) {
		kview_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

int kstate_dump(struct mnl_socket *nl, const struct kview *want, struct kview **ret, uint32_t *ret_genid)
{
	for (int attempt = 0; attempt < KSTATE_RETRIES; attempt++) {
		uint32_t before, after;
		struct kview *v = NULL;
		int r = nl_get_genid(nl, &before);

		if (r == 0)
			r = dump_once(nl, want, &v);
		if (r == 0)
			r = nl_get_genid(nl, &after);
		if (r < 0) {
			kview_free(v);
			return r;
		}
		if (before == after) {
			*ret = v;
			*ret_genid = before;
			return 0;
		}
		kview_free(v);	/* someone committed while we read: read again, after a pause that grows */
		nanosleep(&(struct timespec){ .tv_nsec = (attempt + 1) * 20 * 1000000L }, NULL);
	}
	return -EAGAIN;
}
