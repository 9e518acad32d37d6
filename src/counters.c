// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "counters.h"
#include "nlbatch.h"

struct counted {
	char *comment;
	struct counter_value v;
};

struct counters {
	struct counted *v;
	size_t n, cap;
};

void counters_free(struct counters *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].comment);
	free(c->v);
	free(c);
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct counter_value *v = data;

	if (!strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter")) {
		v->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		v->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT)
		*(const struct nftnl_udata **)data = attr;
	return 0;
}

static int add_elem(struct counters *c, struct nftnl_set_elem *e)
{
	const struct nftnl_udata *cm = NULL;
	uint32_t len = 0;
	const void *u = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	struct counted *x;

	if (!u)
		return 0;
	nftnl_udata_parse(u, len, comment_cb, &cm);
	if (!cm)
		return 0;
	if (c->n == c->cap) {
		struct counted *v = realloc(c->v, (c->cap = c->cap ? c->cap * 2 : 64) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
	}
	x = &c->v[c->n];
	*x = (struct counted){ .comment = strndup(nftnl_udata_get(cm), nftnl_udata_len(cm)) };
	if (!x->comment)
		return -ENOMEM;
	nftnl_set_elem_expr_foreach(e, expr_cb, &x->v);
	c->n++;
	return 0;
}

static int elems_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it = NULL;
	int r = MNL_CB_OK;

	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0 || !(it = nftnl_set_elems_iter_create(s)))
		r = MNL_CB_ERROR;
	for (struct nftnl_set_elem *e = it ? nftnl_set_elems_iter_next(it) : NULL; e; e = nftnl_set_elems_iter_next(it))
		if (add_elem(data, e) < 0)
			r = MNL_CB_ERROR;
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return r;
}

static int read_set(struct mnl_socket *nl, uint16_t family, const char *table, const char *set, struct counters *c)
{
	static char buf[NL_RECV_SIZE];	/* one dump at a time; too big for the stack */
	struct nftnl_set *s = nftnl_set_alloc();
	uint32_t seq = (uint32_t)time(NULL);
	struct nlmsghdr *nlh;
	int r;

	if (!s)
		return -ENOMEM;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, family, NLM_F_DUMP, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		errno = 0;
		r = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), elems_cb, c);
		if (r < 0)
			return errno ? -errno : -EPROTO;
	} while (r > 0);
	return 0;
}

int counters_read(const char *table, struct counters **ret)
{
	static const uint16_t families[] = { NFPROTO_IPV4, NFPROTO_IPV6 };
	static const char *const sets[] = { "service-traffic", "nodeport-traffic" };
	struct counters *c = calloc(1, sizeof(*c));
	struct mnl_socket *nl = NULL;
	int r = c ? nl_socket_open(&nl) : -ENOMEM, found = 0;

	for (size_t f = 0; r == 0 && f < 2; f++)
		for (size_t s = 0; r == 0 && s < 2; s++) {
			int k = read_set(nl, families[f], table, sets[s], c);

			if (k == 0)
				found++;
			else if (k != -ENOENT)
				r = k;
		}
	if (nl)
		mnl_socket_close(nl);
	if (r == 0 && !found)
		r = -ENOENT;
	if (r < 0) {
		counters_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

int counters_get(const struct counters *c, const char *label, struct counter_value *ret)
{
	size_t len = strlen(label);
	struct counter_value sum = { 0 };
	bool any = false;

	for (size_t i = 0; i < c->n; i++)
		if (!strncmp(c->v[i].comment, label, len) && c->v[i].comment[len] == ' ') {
			sum.packets += c->v[i].v.packets;
			sum.bytes += c->v[i].v.bytes;
			any = true;
		}
	if (!any)
		return -ENOENT;
	*ret = sum;
	return 0;
}
