// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One nf_tables transaction over netlink, with errors mapped back to the
 * objects.  See include/nlbatch.h for the kernel semantics relied upon.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nlbatch.h"

/*
 * Batch pages: a message never straddles two pages, so the overrun room after
 * a page must hold the largest message.  Element lists are capped at 64 KiB
 * (16-bit attribute length), as nft does it (NFT_NLMSG_MAXSIZE).
 */
#define BATCH_PAGE_SIZE (256 * 4096)
#define BATCH_MSG_MAX (UINT16_MAX + 4096)
/* Replies are capped (NETLINK_CAP_ACK) but size the buffer for an uncapped echo too. */
#define RECV_BUF_SIZE (BATCH_MSG_MAX + 4096)

struct nlbatch_msg {
	uint32_t seq;
	uint16_t type;
	size_t elem_base;	/* index of the message's first element within its add_setelems() call */
	const struct nlmsghdr *nlh;	/* the bytes sent, for decoding error offsets */
	char *what;
};

struct nlbatch {
	struct nftnl_batch *batch;
	uint32_t genid;
	uint32_t seq0;		/* seq of BATCH_BEGIN; message i has seq0 + i */
	struct nlbatch_msg *msgs;	/* msgs[0] is BATCH_BEGIN */
	size_t n_msgs, cap_msgs;
	size_t size;
	int broken;		/* an append failed half-way: commit refuses */
	bool sent, acked;
	uint32_t end_seq;
	struct nlbatch_error *errors;
	size_t n_errors, cap_errors;
	uintptr_t zero_lo, zero_hi;	/* the zeroed part of the current page, see zero_ahead() */
};

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t new_cap = *cap ? *cap * 2 : 64;
	void *p;

	if (n < *cap)
		return 0;
	if (new_cap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, new_cap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = new_cap;
	return 0;
}

/*
 * libmnl 1.0.4 does not clear the padding after an attribute's payload, so
 * bytes malloc'd by nftnl_batch_alloc() would go to the kernel unset (harmless
 * to the kernel, which ignores padding, but noise under valgrind, and not
 * reproducible).  Zero the room the next message may take: after
 * nftnl_batch_update() the current page always has BATCH_MSG_MAX bytes left.
 * Each byte is cleared once, plus one message's room per page.
 */
static void zero_ahead(struct nlbatch *b)
{
	char *p = nftnl_batch_buffer(b->batch);
	uintptr_t at = (uintptr_t)p;

	if (at < b->zero_lo || at > b->zero_hi) {	/* a new page */
		memset(p, 0, BATCH_MSG_MAX);
		b->zero_lo = at;
	} else if (at + BATCH_MSG_MAX > b->zero_hi) {
		memset((char *)b->zero_hi, 0, at + BATCH_MSG_MAX - b->zero_hi);
	} else {
		return;
	}
	b->zero_hi = at + BATCH_MSG_MAX;
}

/* Reserves the record of the next message (before writing it, so OOM leaves no orphan). */
static struct nlbatch_msg *msg_record(struct nlbatch *b, uint16_t type, const char *what, size_t elem_base)
{
	struct nlbatch_msg *m;
	char *copy = strdup(what ? what : "?");

	if (!copy || grow((void **)&b->msgs, &b->cap_msgs, b->n_msgs, sizeof(*b->msgs)) < 0) {
		free(copy);
		return NULL;
	}
	zero_ahead(b);
	m = &b->msgs[b->n_msgs];
	*m = (struct nlbatch_msg){ .seq = b->seq0 + (uint32_t)b->n_msgs, .type = type, .elem_base = elem_base,
				   .nlh = nftnl_batch_buffer(b->batch), .what = copy };
	b->n_msgs++;
	return m;
}

/*
 * After a message is written: count it and move on.  Pages never move, but
 * when a message overflows its page, nftnl_batch_update() copies it to the
 * start of a new page, and the copy is what gets sent: follow it.
 */
static int msg_done(struct nlbatch *b, const struct nlmsghdr *nlh)
{
	uint32_t len = nlh->nlmsg_len;
	const char *cur;

	b->size += len;
	if (nftnl_batch_update(b->batch) < 0) {
		b->broken = -ENOMEM;
		return -ENOMEM;
	}
	cur = nftnl_batch_buffer(b->batch);
	if ((const char *)nlh + len != cur)
		b->msgs[b->n_msgs - 1].nlh = (const struct nlmsghdr *)(cur - len);
	return 0;
}

struct nlbatch *nlbatch_new(uint32_t genid)
{
	struct nlbatch *b = calloc(1, sizeof(*b));
	struct nlmsghdr *nlh;

	if (!b)
		return NULL;
	b->genid = genid;
	b->seq0 = (uint32_t)time(NULL);
	b->batch = nftnl_batch_alloc(BATCH_PAGE_SIZE, BATCH_MSG_MAX);
	if (!b->batch || !msg_record(b, NFNL_MSG_BATCH_BEGIN, "batch", 0)) {
		nlbatch_free(b);
		return NULL;
	}
	nlh = nftnl_batch_begin(nftnl_batch_buffer(b->batch), b->seq0);
	/* Linux 4.11+: the kernel refuses the whole batch with ERESTART if the generation moved on. */
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
	if (msg_done(b, nlh) < 0) {
		nlbatch_free(b);
		return NULL;
	}
	return b;
}

void nlbatch_free(struct nlbatch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_msgs; i++)
		free(b->msgs[i].what);
	free(b->msgs);
	free(b->errors);
	if (b->batch)
		nftnl_batch_free(b->batch);
	free(b);
}

/* Starts a message: its record, then its header.  NULL on out-of-memory or a committed batch. */
static struct nlmsghdr *msg_start(struct nlbatch *b, uint16_t type, uint16_t family, uint16_t flags,
				  const char *what, size_t elem_base)
{
	if (b->sent || b->broken || !msg_record(b, type, what, elem_base))
		return NULL;
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->batch), type, family, flags, b->seq0 + (uint32_t)(b->n_msgs - 1));
}

static int start_error(const struct nlbatch *b)
{
	return b->sent ? -EINVAL : -ENOMEM;
}

int nlbatch_add_table(struct nlbatch *b, uint16_t msg_type, uint16_t flags, const struct nftnl_table *t,
		      const char *what)
{
	struct nlmsghdr *nlh = msg_start(b, msg_type, (uint16_t)nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY), flags,
					 what, 0);

	if (!nlh)
		return start_error(b);
	nftnl_table_nlmsg_build_payload(nlh, t);
	return msg_done(b, nlh);
}

int nlbatch_add_chain(struct nlbatch *b, uint16_t msg_type, uint16_t flags, const struct nftnl_chain *c,
		      const char *what)
{
	struct nlmsghdr *nlh = msg_start(b, msg_type, (uint16_t)nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY), flags,
					 what, 0);

	if (!nlh)
		return start_error(b);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	return msg_done(b, nlh);
}

int nlbatch_add_rule(struct nlbatch *b, uint16_t msg_type, uint16_t flags, struct nftnl_rule *r, const char *what)
{
	struct nlmsghdr *nlh = msg_start(b, msg_type, (uint16_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY), flags,
					 what, 0);

	if (!nlh)
		return start_error(b);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	return msg_done(b, nlh);
}

int nlbatch_add_set(struct nlbatch *b, uint16_t msg_type, uint16_t flags, struct nftnl_set *s, const char *what)
{
	struct nlmsghdr *nlh = msg_start(b, msg_type, (uint16_t)nftnl_set_get_u32(s, NFTNL_SET_FAMILY), flags,
					 what, 0);

	if (!nlh)
		return start_error(b);
	nftnl_set_nlmsg_build_payload(nlh, s);
	return msg_done(b, nlh);
}

/* Number of elements in a NEWSETELEM/DELSETELEM message. */
static size_t count_elems(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *e;
	size_t n = 0;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			mnl_attr_for_each_nested(e, a)
				n++;
	return n;
}

int nlbatch_add_setelems(struct nlbatch *b, uint16_t msg_type, uint16_t flags, struct nftnl_set *s,
			 const char *what, size_t *elem_base)
{
	uint16_t family = (uint16_t)nftnl_set_get_u32(s, NFTNL_SET_FAMILY);
	struct nftnl_set_elems_iter *iter = nftnl_set_elems_iter_create(s);
	size_t base = *elem_base;
	int ret = 0;

	if (!iter)
		return -ENOMEM;
	while (nftnl_set_elems_iter_cur(iter)) {
		struct nlmsghdr *nlh = msg_start(b, msg_type, family, flags, what, base);
		int more;

		if (!nlh) {
			ret = start_error(b);
			break;
		}
		/* Fills the message up to the 64 KiB attribute limit; > 0 if elements remain. */
		more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, iter);
		base += count_elems(nlh);
		ret = msg_done(b, nlh);
		if (ret < 0 || more <= 0)
			break;
	}
	nftnl_set_elems_iter_destroy(iter);
	*elem_base = base;
	return ret;
}

size_t nlbatch_n_msgs(const struct nlbatch *b)
{
	return b->n_msgs - 1 - (b->end_seq != 0);
}

size_t nlbatch_size(const struct nlbatch *b)
{
	return b->size;
}

bool nlbatch_acked(const struct nlbatch *b)
{
	return b->acked;
}

size_t nlbatch_n_errors(const struct nlbatch *b)
{
	return b->n_errors;
}

const struct nlbatch_error *nlbatch_get_error(const struct nlbatch *b, size_t i)
{
	return i < b->n_errors ? &b->errors[i] : NULL;
}

/* Top-level attribute names, per message kind, for error messages. */
static const char *attr_name(uint16_t msg_type, uint16_t attr)
{
	static const char *const table[] = { NULL, "NAME", "FLAGS", "USE", "HANDLE", "PAD", "USERDATA" };
	static const char *const chain[] = { NULL, "TABLE", "HANDLE", "NAME", "HOOK", "POLICY", "USE", "TYPE",
					     "COUNTERS", "PAD", "FLAGS", "ID", "USERDATA" };
	static const char *const rule[] = { NULL, "TABLE", "CHAIN", "HANDLE", "EXPRESSIONS", "COMPAT",
					    "POSITION", "USERDATA", "PAD", "ID", "POSITION_ID", "CHAIN_ID" };
	static const char *const set[] = { NULL, "TABLE", "NAME", "FLAGS", "KEY_TYPE", "KEY_LEN", "DATA_TYPE",
					   "DATA_LEN", "POLICY", "DESC", "ID", "TIMEOUT", "GC_INTERVAL",
					   "USERDATA", "PAD", "OBJ_TYPE", "HANDLE", "EXPR", "EXPRESSIONS" };
	static const char *const elems[] = { NULL, "TABLE", "SET", "ELEMENTS", "SET_ID" };
#define PICK(arr) (attr < sizeof(arr) / sizeof(arr[0]) ? arr[attr] : NULL)
	switch (msg_type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		return PICK(table);
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_DELCHAIN:
		return PICK(chain);
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
		return PICK(rule);
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET:
		return PICK(set);
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		return PICK(elems);
	}
	return NULL;
#undef PICK
}

static const char *attr_prefix(uint16_t msg_type)
{
	switch (msg_type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		return "NFTA_TABLE_";
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_DELCHAIN:
		return "NFTA_CHAIN_";
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
		return "NFTA_RULE_";
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET:
		return "NFTA_SET_";
	}
	return "NFTA_SET_ELEM_LIST_";
}

/* The nested attribute of a that holds byte offset off (from nlh), and its 0-based index. */
static const struct nlattr *nested_at(const struct nlmsghdr *nlh, const struct nlattr *a, uint32_t off,
				      int *ret_index)
{
	const struct nlattr *n;
	int i = 0;

	mnl_attr_for_each_nested(n, a) {
		size_t start = (size_t)((const char *)n - (const char *)nlh);

		if (off >= start && off < start + n->nla_len) {
			*ret_index = i;
			return n;
		}
		i++;
	}
	return NULL;
}

static const char *nested_str(const struct nlattr *a, uint16_t type)
{
	const struct nlattr *n;

	mnl_attr_for_each_nested(n, a)
		if (mnl_attr_get_type(n) == type && mnl_attr_validate(n, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(n);
	return NULL;
}

/* The comment in an element's user data, or NULL. */
static const char *elem_comment(const struct nlattr *elem, char *buf, size_t len)
{
	const struct nlattr *n;
	const struct nftnl_udata *u;

	mnl_attr_for_each_nested(n, elem) {
		const char *data = mnl_attr_get_payload(n);
		uint32_t dlen = mnl_attr_get_payload_len(n);

		if (mnl_attr_get_type(n) != NFTA_SET_ELEM_USERDATA)
			continue;
		nftnl_udata_for_each_data(data, dlen, u) {
			if ((const char *)u + 2 > data + dlen || (const char *)nftnl_udata_get(u) + nftnl_udata_len(u) > data + dlen)
				break;
			if (nftnl_udata_type(u) == NFTNL_UDATA_SET_ELEM_COMMENT && nftnl_udata_len(u) > 0) {
				snprintf(buf, len, "%.*s", (int)nftnl_udata_len(u) - 1, (const char *)nftnl_udata_get(u));
				return buf;
			}
		}
	}
	return NULL;
}

/* Fills e->where (and e->elem_index) from the extended-ACK offset into our message. */
static void decode_offset(struct nlbatch_error *e, const struct nlmsghdr *nlh, const struct nlbatch_msg *m)
{
	const struct nlattr *a, *n;
	char buf[160];	/* a comment is at most 128 bytes */
	int i;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		size_t start = (size_t)((const char *)a - (const char *)nlh);
		uint16_t type = mnl_attr_get_type(a);
		const char *name = attr_name(m->type, type);

		if (e->offset < start || e->offset >= start + a->nla_len)
			continue;
		if ((m->type == NFT_MSG_NEWRULE || m->type == NFT_MSG_DELRULE) && type == NFTA_RULE_EXPRESSIONS &&
		    (n = nested_at(nlh, a, e->offset, &i))) {
			const char *ename = nested_str(n, NFTA_EXPR_NAME);

			snprintf(e->where, sizeof(e->where), "expression %d (%s)", i + 1, ename ? ename : "?");
		} else if ((m->type == NFT_MSG_NEWSETELEM || m->type == NFT_MSG_DELSETELEM) &&
			   type == NFTA_SET_ELEM_LIST_ELEMENTS && (n = nested_at(nlh, a, e->offset, &i))) {
			const char *c = elem_comment(n, buf, sizeof(buf));

			e->elem_index = (long)(m->elem_base + (size_t)i);
			snprintf(e->where, sizeof(e->where), "element #%ld%s%s%s", e->elem_index, c ? " comment \"" : "",
				 c ? c : "", c ? "\"" : "");
		} else if (name) {
			snprintf(e->where, sizeof(e->where), "attribute %s%s", attr_prefix(m->type), name);
		} else {
			snprintf(e->where, sizeof(e->where), "attribute type %u", type);
		}
		return;
	}
	snprintf(e->where, sizeof(e->where), "offset %u", e->offset);
}

struct extack {
	const char *msg;
	uint32_t offset;
	bool has_offset;
};

static int extack_attr_cb(const struct nlattr *a, void *data)
{
	struct extack *x = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		x->msg = mnl_attr_get_str(a);
	else if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS && mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
		x->offset = mnl_attr_get_u32(a);
		x->has_offset = true;
	}
	return MNL_CB_OK;
}

/* The extended-ACK TLVs follow the nlmsgerr, and the echoed request unless capped. */
static void parse_extack(const struct nlmsghdr *nlh, const struct nlmsgerr *err, struct extack *x)
{
	size_t off = sizeof(*err);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return;
	mnl_attr_parse(nlh, (unsigned)off, extack_attr_cb, x);
}

static const struct nlbatch_msg *find_msg(const struct nlbatch *b, uint32_t seq)
{
	uint32_t i = seq - b->seq0;

	return i < b->n_msgs && b->msgs[i].seq == seq ? &b->msgs[i] : NULL;
}

static void record_error(struct nlbatch *b, const struct nlmsghdr *nlh, const struct nlmsgerr *err)
{
	const struct nlbatch_msg *m = find_msg(b, err->msg.nlmsg_seq);
	struct extack x = { 0 };
	struct nlbatch_error *e;
	const struct nlmsghdr *req;

	if (grow((void **)&b->errors, &b->cap_errors, b->n_errors, sizeof(*b->errors)) < 0)
		return;	/* the first errors are kept; commit still fails */
	e = &b->errors[b->n_errors++];
	*e = (struct nlbatch_error){ .error = err->error, .seq = err->msg.nlmsg_seq, .elem_index = -1 };
	parse_extack(nlh, err, &x);
	if (x.msg)
		snprintf(e->msg, sizeof(e->msg), "%s", x.msg);
	snprintf(e->what, sizeof(e->what), "%s", m ? m->what : "unknown message");
	if (!m)
		return;
	e->msg_type = m->type;
	if (m->type == NFNL_MSG_BATCH_BEGIN && err->error == -ERESTART && b->genid)
		snprintf(e->where, sizeof(e->where), "generation %u is stale: the ruleset changed, re-read it",
			 b->genid);
	req = m->nlh;
	if (x.has_offset && x.offset >= sizeof(struct nlmsghdr) && req && x.offset < req->nlmsg_len) {
		e->offset = x.offset;
		decode_offset(e, req, m);
	}
}

static int error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlbatch *b = data;
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return MNL_CB_OK;
	if (err->error == 0) {
		if (b->end_seq && err->msg.nlmsg_seq == b->end_seq)
			b->acked = true;
		return MNL_CB_OK;
	}
	record_error(b, nlh, err);
	return MNL_CB_OK;	/* keep going: the kernel reports every refused message */
}

/* Grows a socket buffer to at least want bytes: FORCE needs CAP_NET_ADMIN, else capped by [rw]mem_max. */
static void grow_sockbuf(int fd, int opt, int force_opt, size_t want)
{
	int cur = 0, val = want > INT_MAX / 2 ? INT_MAX / 2 : (int)want;
	socklen_t len = sizeof(cur);

	/* The kernel doubles what is set, and getsockopt reports the doubled value. */
	if (getsockopt(fd, SOL_SOCKET, opt, &cur, &len) == 0 && cur / 2 >= val)
		return;
	if (setsockopt(fd, SOL_SOCKET, force_opt, &val, sizeof(val)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &val, sizeof(val));
}

static int send_batch(struct nlbatch *b, struct mnl_socket *nl)
{
	int n = nftnl_batch_iovec_len(b->batch);
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct iovec *iov = calloc((size_t)(n > 0 ? n : 1), sizeof(*iov));
	struct msghdr msg = { .msg_name = &snl, .msg_namelen = sizeof(snl), .msg_iovlen = (size_t)n };
	int fd = mnl_socket_get_fd(nl);
	ssize_t sent;

	if (!iov)
		return -ENOMEM;
	nftnl_batch_iovec(b->batch, iov, (uint32_t)n);
	msg.msg_iov = iov;
	/* sendmsg refuses a datagram above sk_sndbuf - 32 with EMSGSIZE; each ACK costs ~1 KiB of rcvbuf. */
	grow_sockbuf(fd, SO_SNDBUF, SO_SNDBUFFORCE, b->size + 4096);
	grow_sockbuf(fd, SO_RCVBUF, SO_RCVBUFFORCE, (b->n_msgs + 16) * 1024);
	/* The whole transaction in ONE datagram: each sendmsg() is a batch of its own. */
	sent = sendmsg(fd, &msg, 0);
	free(iov);
	return sent < 0 ? -errno : 0;
}

/*
 * nf_tables handles the batch synchronously inside sendmsg(), so all replies
 * are queued by now: read until the socket is empty, as nft does.
 */
static int drain(struct nlbatch *b, struct mnl_socket *nl)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = error_cb };
	char *buf = malloc(RECV_BUF_SIZE);
	int fd = mnl_socket_get_fd(nl), ret = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = recv(fd, buf, RECV_BUF_SIZE, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
			break;
		}
		if (mnl_cb_run2(buf, (size_t)n, 0, mnl_socket_get_portid(nl), NULL, b, ctl, NLMSG_MIN_TYPE) < 0) {
			ret = -errno;
			break;
		}
	}
	free(buf);
	return ret;
}

static void sys_error(struct nlbatch_error *e, int err, const char *what)
{
	*e = (struct nlbatch_error){ .error = err, .elem_index = -1 };
	snprintf(e->what, sizeof(e->what), "%s", what);
}

static int finish(struct nlbatch *b, unsigned flags)
{
	struct nlmsghdr *nlh;

	if (b->sent)
		return -EINVAL;
	b->sent = true;
	if (b->broken)
		return b->broken;
	if (flags & NLBATCH_DRY_RUN)
		return 0;
	if (!msg_record(b, NFNL_MSG_BATCH_END, "batch end (commit)", 0))
		return -ENOMEM;
	b->end_seq = b->seq0 + (uint32_t)(b->n_msgs - 1);
	nlh = nftnl_batch_end(nftnl_batch_buffer(b->batch), b->end_seq);
	/* An ACK for END only (Linux 6.10+ honours it): per-message ACKs would flood the rcvbuf. */
	nlh->nlmsg_flags |= NLM_F_ACK;
	return msg_done(b, nlh);
}

int nlbatch_commit(struct nlbatch *b, struct mnl_socket *nl, unsigned flags, struct nlbatch_error *ret_err)
{
	struct nlbatch_error e;
	int ret = finish(b, flags);

	if (ret < 0) {
		sys_error(&e, ret, "building the batch");
		goto out;
	}
	ret = send_batch(b, nl);
	if (ret < 0) {
		sys_error(&e, ret, "sendmsg of the batch");
		goto out;
	}
	ret = drain(b, nl);
	if (b->n_errors) {
		e = b->errors[0];
		ret = e.error;
	} else if (ret < 0) {
		sys_error(&e, ret, ret == -ENOBUFS ? "reading replies: some were lost, the outcome is unknown"
						   : "reading replies");
	}
out:
	if (ret < 0 && ret_err)
		*ret_err = e;
	return ret;
}

int nlbatch_error_format(const struct nlbatch_error *e, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s%s: %s%s%s%s", e->what, e->where[0] ? ", " : "", e->where,
			 strerror(-e->error), e->msg[0] ? " (kernel: " : "", e->msg, e->msg[0] ? ")" : "");

	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

void nlbatch_dump(const struct nlbatch *b, FILE *f)
{
	for (size_t i = 0; i < b->n_msgs; i++) {
		const struct nlmsghdr *nlh = b->msgs[i].nlh;

		fprintf(f, "# seq %u: %s\n", b->msgs[i].seq, b->msgs[i].what);
		mnl_nlmsg_fprintf(f, nlh, nlh->nlmsg_len, sizeof(struct nfgenmsg));
	}
}

int nl_socket_open(struct mnl_socket **ret)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int one = 1, err;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		mnl_socket_close(nl);
		return err;
	}
	/* Best effort: Linux 4.12+ (EXT_ACK), 4.3+ (CAP_ACK); errors are still reported without them. */
	(void)mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	*ret = nl;
	return 0;
}

static int genid_cb(const struct nlmsghdr *nlh, void *data)
{
	uint32_t *genid = data;
	struct nftnl_gen *gen = nftnl_gen_alloc();

	if (!gen)
		return MNL_CB_ERROR;
	if (nftnl_gen_nlmsg_parse(nlh, gen) < 0) {
		nftnl_gen_free(gen);
		return MNL_CB_ERROR;
	}
	*genid = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
	nftnl_gen_free(gen);
	return MNL_CB_OK;
}

int nl_get_genid(struct mnl_socket *nl, uint32_t *ret)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL), genid = 0;
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, seq);
	ssize_t n;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if (mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl), genid_cb, &genid) < 0)
		return errno ? -errno : -EPROTO;
	*ret = genid;
	return 0;
}
