// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ctnetlink, raw: one dump of the UDP entries of a family (the kernel filters
 * by protocol with CTA_FILTER where it can), matched in memory against the
 * stale flows, and one delete per match, by its original tuple.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "conntrack.h"
#include "nlbatch.h"

struct ct_tuple {
	struct addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;	/* host order */
};

struct ct_entry {
	struct ct_tuple orig, reply;
};

struct dump_ctx {
	int family;
	const struct stale_flow *v;
	size_t n;
	struct ct_entry *hits;
	size_t n_hits, cap_hits;
	int err;
};

static void parse_ip(const struct nlattr *nest, int family, struct ct_tuple *t)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		int type = mnl_attr_get_type(a);
		struct addr *dst = type == CTA_IP_V4_SRC || type == CTA_IP_V6_SRC ? &t->src :
				   type == CTA_IP_V4_DST || type == CTA_IP_V6_DST ? &t->dst : NULL;
		size_t len = family == AF_INET ? 4 : 16;

		if (dst && mnl_attr_get_payload_len(a) == len) {
			dst->family = family;
			memcpy(dst->bytes, mnl_attr_get_payload(a), len);
		}
	}
}

static void parse_proto(const struct nlattr *nest, struct ct_tuple *t)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		switch (mnl_attr_get_type(a)) {
		case CTA_PROTO_NUM:
			t->proto = mnl_attr_get_u8(a);
			break;
		case CTA_PROTO_SRC_PORT:
			t->sport = ntohs(mnl_attr_get_u16(a));
			break;
		case CTA_PROTO_DST_PORT:
			t->dport = ntohs(mnl_attr_get_u16(a));
			break;
		}
	}
}

static void parse_tuple(const struct nlattr *nest, int family, struct ct_tuple *t)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == CTA_TUPLE_IP)
			parse_ip(a, family, t);
		else if (mnl_attr_get_type(a) == CTA_TUPLE_PROTO)
			parse_proto(a, t);
	}
}

static bool stale(const struct dump_ctx *c, const struct ct_entry *e)
{
	if (e->orig.proto != IPPROTO_UDP)
		return false;
	for (size_t i = 0; i < c->n; i++) {
		const struct stale_flow *f = &c->v[i];

		if (f->port == e->orig.dport && addr_equal(&f->endpoint, &e->reply.src) &&
		    (!f->frontend.family || addr_equal(&f->frontend, &e->orig.dst)))
			return true;
	}
	return false;
}

static int entry_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	struct ct_entry e = { 0 };
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == CTA_TUPLE_ORIG)
			parse_tuple(a, c->family, &e.orig);
		else if (mnl_attr_get_type(a) == CTA_TUPLE_REPLY)
			parse_tuple(a, c->family, &e.reply);
	}
	if (!stale(c, &e))
		return MNL_CB_OK;
	if (c->n_hits == c->cap_hits) {
		struct ct_entry *v = realloc(c->hits, (c->cap_hits = c->cap_hits ? c->cap_hits * 2 : 16) * sizeof(*v));

		if (!v) {
			c->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		c->hits = v;
	}
	c->hits[c->n_hits++] = e;
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_header(char *buf, uint16_t type, uint16_t flags, int family, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static int run(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static char buf[NL_RECV_SIZE];
	int r;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		errno = 0;
		r = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), cb, data);
		if (r < 0)
			return errno ? -errno : -EPROTO;
	} while (r > 0);
	return 0;
}

static void put_tuple(struct nlmsghdr *nlh, const struct ct_tuple *t)
{
	struct nlattr *tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG), *ip, *proto;
	bool v6 = t->src.family == AF_INET6;

	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, v6 ? 16 : 4, t->src.bytes);
	mnl_attr_put(nlh, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, v6 ? 16 : 4, t->dst.bytes);
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tuple);
}

int conntrack_delete_stale(int family, const struct stale_flow *v, size_t n, size_t *ret_deleted)
{
	struct dump_ctx c = { .family = family, .v = v, .n = n };
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL);
	struct mnl_socket *nl;
	size_t deleted = 0;
	int r;

	*ret_deleted = 0;
	if (!n)
		return 0;
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl)
		return -errno;
	r = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	if (r == 0)
		r = run(nl, ct_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, family, seq++), entry_cb, &c);
	if (r < 0 && c.err)
		r = c.err;
	for (size_t i = 0; r == 0 && i < c.n_hits; i++) {
		struct nlmsghdr *nlh = ct_header(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, family, seq++);
		int k;

		put_tuple(nlh, &c.hits[i].orig);
		k = run(nl, nlh, NULL, NULL);
		if (k == 0)
			deleted++;
		else if (k != -ENOENT)	/* it may have expired meanwhile */
			r = k;
	}
	free(c.hits);
	mnl_socket_close(nl);
	*ret_deleted = deleted;
	return r;
}
