// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the ruleset description and its two back ends, without a
 * kernel: the byte layout of set keys and data, ruleset_sort, comment
 * sanitising, the nft text of elements, statements and declarations, and the
 * expressions nlbuild_rule() emits, compared with what nft 1.0.6 generates for
 * the same statements (`nft --debug=netlink`).
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>	/* before linux/netfilter.h */
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <libnftnl/rule.h>

#include "arena.h"
#include "diff.h"
#include "kview.h"
#include "nlbuild.h"
#include "ruleset.h"

static struct ruleset *rs;

static void setup(void)
{
	rs = ruleset_new();
	ck_assert_ptr_nonnull(rs);
}

static void teardown(void)
{
	ruleset_free(rs);
	rs = NULL;
}

static struct addr A(const char *s)
{
	struct addr a;

	ck_assert_int_eq(addr_parse(s, &a), 0);
	return a;
}

static struct rs_table *table(int family)
{
	struct rs_table *t = ruleset_add_table(rs, family, "svcnat", NULL);

	ck_assert_ptr_nonnull(t);
	return t;
}

static struct rs_set *set(struct rs_table *t, enum rs_set_kind kind)
{
	struct rs_set *s = rs_table_add_set(rs, t, "s", kind, NULL);

	ck_assert_ptr_nonnull(s);
	return s;
}

/* "c6 12 00 0a" -> bytes; returns the length. */
static size_t hex(const char *s, uint8_t *out)
{
	size_t n = 0;

	while (*s) {
		unsigned v;

		if (*s == ' ') {
			s++;
			continue;
		}
		ck_assert_int_eq(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void assert_bytes(const uint8_t *got, size_t got_len, const char *want_hex)
{
	uint8_t want[RS_KEY_MAX];
	size_t len = hex(want_hex, want);

	ck_assert_uint_eq(got_len, len);
	ck_assert_mem_eq(got, want, len);
}

/* Output of a print function, as a string the caller frees. */
#define CAPTURE(call)                                            \
	({                                                       \
		char *buf_ = NULL;                               \
		size_t len_ = 0;                                 \
		FILE *f = open_memstream(&buf_, &len_);          \
		ck_assert_ptr_nonnull(f);                        \
		ck_assert_int_eq((call), 0);                     \
		ck_assert_int_eq(fclose(f), 0);                  \
		buf_;                                            \
	})

#define ASSERT_PRINTS(call, want)                   \
	do {                                        \
		char *got_ = CAPTURE(call);         \
		ck_assert_str_eq(got_, want);       \
		free(got_);                         \
	} while (0)

/* ---- key and data layout ---- */

/* Each field in a 4-byte slot; addresses and ports in network order; l4proto one byte. */
START_TEST(key_addr_proto_port_vmap)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *s = set(t, RS_SET_ADDR_PROTO_PORT_VMAP);
	struct rs_elem e = { .addr = A("198.18.0.10"), .proto = IPPROTO_TCP, .port = 80,
			     .verdict = RS_VERDICT_GOTO, .chain = "cluster-2" };
	uint8_t buf[RS_KEY_MAX];

	assert_bytes(buf, rs_elem_key(t, s, &e, buf), "c612000a 06000000 00500000");
	ck_assert_uint_eq(rs_elem_data(t, s, &e, buf), 0);	/* a verdict, not bytes */
}
END_TEST

START_TEST(key_proto_port_vmap)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *s = set(t, RS_SET_PROTO_PORT_VMAP);
	struct rs_elem e = { .proto = IPPROTO_UDP, .port = 30080 };
	uint8_t buf[RS_KEY_MAX];

	assert_bytes(buf, rs_elem_key(t, s, &e, buf), "11000000 75800000");
}
END_TEST

/* The numgen slot is a host-order u32: compare with memcpy, not with fixed bytes. */
START_TEST(key_index_maps)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *s = set(t, RS_SET_ADDR_PROTO_PORT_INDEX_MAP);
	struct rs_elem e = { .addr = A("198.18.0.10"), .proto = IPPROTO_TCP, .port = 80, .index = 258,
			     .to_addr = A("198.19.1.2"), .to_port = 8080 };
	uint8_t buf[RS_KEY_MAX], want[16];
	uint32_t idx = 258;
	size_t n = rs_elem_key(t, s, &e, buf);

	ck_assert_uint_eq(n, 16);
	hex("c612000a 06000000 00500000", want);
	memcpy(want + 12, &idx, 4);
	ck_assert_mem_eq(buf, want, 16);
	assert_bytes(buf, rs_elem_data(t, s, &e, buf), "c6130102 1f900000");

	s = rs_table_add_set(rs, t, "np", RS_SET_PROTO_PORT_INDEX_MAP, NULL);
	e.index = 2;
	idx = 2;
	n = rs_elem_key(t, s, &e, buf);
	ck_assert_uint_eq(n, 12);
	hex("06000000 00500000", want);
	memcpy(want + 8, &idx, 4);
	ck_assert_mem_eq(buf, want, 12);
	assert_bytes(buf, rs_elem_data(t, s, &e, buf), "c6130102 1f900000");
}
END_TEST

START_TEST(key_addr_sets)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *a = set(t, RS_SET_ADDR);
	struct rs_set *aa = rs_table_add_set(rs, t, "aa", RS_SET_ADDR_ADDR, NULL);
	struct rs_elem e = { .addr = A("198.19.1.2"), .addr2 = A("198.19.1.3") };
	uint8_t buf[RS_KEY_MAX];

	assert_bytes(buf, rs_elem_key(t, a, &e, buf), "c6130102");
	assert_bytes(buf, rs_elem_key(t, aa, &e, buf), "c6130102 c6130103");
	ck_assert_uint_eq(rs_elem_data(t, a, &e, buf), 0);
}
END_TEST

/* A prefix is the interval [start, end): host bits cleared, end = first address after it. */
START_TEST(key_prefix)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *s = set(t, RS_SET_PREFIX);
	struct rs_elem e = { .addr = A("198.51.100.130"), .prefix_len = 25 };
	uint8_t buf[RS_KEY_MAX];

	assert_bytes(buf, rs_elem_key(t, s, &e, buf), "c6336480");
	assert_bytes(buf, rs_elem_key_end(t, &e, buf), "c6336500");
	e = (struct rs_elem){ .addr = A("198.51.100.255"), .prefix_len = 32 };
	assert_bytes(buf, rs_elem_key_end(t, &e, buf), "c6336500");	/* carries into the next byte */
	e = (struct rs_elem){ .addr = A("198.18.0.0"), .prefix_len = 15 };
	assert_bytes(buf, rs_elem_key_end(t, &e, buf), "c6140000");
	e = (struct rs_elem){ .addr = A("198.18.0.0"), .prefix_len = 0 };
	assert_bytes(buf, rs_elem_key(t, s, &e, buf), "00000000");
	ck_assert_uint_eq(rs_elem_key_end(t, &e, buf), 0);	/* reaches the top: no end element */
}
END_TEST

/* Plain (non-map) sets: the same key layout as the maps, no data. */
START_TEST(key_plain_sets)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *apport = set(t, RS_SET_ADDR_PROTO_PORT);
	struct rs_set *pport = rs_table_add_set(rs, t, "pp", RS_SET_PROTO_PORT, NULL);
	struct rs_set *dyn = rs_table_add_set(rs, t, "d", RS_SET_ADDR_DYNAMIC, NULL);
	struct rs_elem e = { .addr = A("198.18.0.10"), .proto = IPPROTO_TCP, .port = 80 };
	uint8_t buf[RS_KEY_MAX];

	assert_bytes(buf, rs_elem_key(t, apport, &e, buf), "c612000a 06000000 00500000");
	assert_bytes(buf, rs_elem_key(t, pport, &e, buf), "06000000 00500000");
	assert_bytes(buf, rs_elem_key(t, dyn, &e, buf), "c612000a");
	ck_assert_uint_eq(rs_elem_data(t, apport, &e, buf), 0);
	ck_assert(!rs_set_kind_is_map(RS_SET_ADDR_PROTO_PORT));
	ck_assert(!rs_set_kind_is_map(RS_SET_ADDR_DYNAMIC));
}
END_TEST

START_TEST(key_ip6)
{
	struct rs_table *t = table(NFPROTO_IPV6);
	struct rs_set *v = set(t, RS_SET_ADDR_PROTO_PORT_VMAP);
	struct rs_set *b = rs_table_add_set(rs, t, "b", RS_SET_ADDR_PROTO_PORT_INDEX_MAP, NULL);
	struct rs_set *p = rs_table_add_set(rs, t, "p", RS_SET_PREFIX, NULL);
	struct rs_elem e = { .addr = A("2001:db8::a"), .proto = IPPROTO_TCP, .port = 443,
			     .to_addr = A("2001:db8:19::2"), .to_port = 8443 };
	uint8_t buf[RS_KEY_MAX];

	assert_bytes(buf, rs_elem_key(t, v, &e, buf),
		     "20010db8 00000000 00000000 0000000a 06000000 01bb0000");
	ck_assert_uint_eq(rs_elem_key(t, b, &e, buf), 28);
	assert_bytes(buf, rs_elem_data(t, b, &e, buf), "20010db8 00190000 00000000 00000002 20fb0000");
	e = (struct rs_elem){ .addr = A("2001:db8:ff::"), .prefix_len = 40 };
	assert_bytes(buf, rs_elem_key_end(t, &e, buf), "20010db8 01000000 00000000 00000000");
	ck_assert_uint_eq(rs_elem_key(t, p, &e, buf), 16);
	ck_assert_uint_eq(rs_table_addr_len(t), 16);
}
END_TEST

/* ---- sort ---- */

START_TEST(sort_by_key_bytes)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *s = set(t, RS_SET_ADDR_PROTO_PORT_INDEX_MAP);
	static const struct {
		const char *addr;
		uint16_t port;
		uint32_t index;
	} in[] = {
		{ "198.18.0.11", 80, 0 }, { "198.18.0.10", 443, 1 }, { "198.18.0.10", 80, 1 },
		{ "198.18.0.10", 80, 0 }, { "198.18.0.9", 8080, 0 }, { "198.18.0.10", 443, 0 },
	};
	static const size_t order[] = { 4, 3, 2, 5, 1, 0 };

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct rs_elem *e = rs_set_add_elem(rs, s);

		ck_assert_ptr_nonnull(e);
		*e = (struct rs_elem){ .addr = A(in[i].addr), .proto = IPPROTO_TCP, .port = in[i].port,
				       .index = in[i].index, .to_addr = A("198.19.0.1"), .to_port = (uint16_t)i };
	}
	ruleset_sort(rs);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		ck_assert_uint_eq(s->elems[i].to_port, order[i]);	/* to_port remembers the input position */
}
END_TEST

/* Equal keys: shorter prefix first, then insertion order, so the result is reproducible. */
START_TEST(sort_ties)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *p = set(t, RS_SET_PREFIX);
	struct rs_set *a = rs_table_add_set(rs, t, "a", RS_SET_ADDR, NULL);
	static const uint8_t lens[] = { 24, 16, 24, 8 };

	for (size_t i = 0; i < 4; i++) {
		struct rs_elem *e = rs_set_add_elem(rs, p);

		ck_assert_ptr_nonnull(e);
		*e = (struct rs_elem){ .addr = A("198.0.0.0"), .prefix_len = lens[i], .to_port = (uint16_t)i };
		e = rs_set_add_elem(rs, a);
		ck_assert_ptr_nonnull(e);
		*e = (struct rs_elem){ .addr = A("198.19.0.1"), .to_port = (uint16_t)i };
	}
	ruleset_sort(rs);
	ck_assert_uint_eq(p->elems[0].to_port, 3);
	ck_assert_uint_eq(p->elems[1].to_port, 1);
	ck_assert_uint_eq(p->elems[2].to_port, 0);
	ck_assert_uint_eq(p->elems[3].to_port, 2);
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(a->elems[i].to_port, i);
}
END_TEST

/* ---- comments ---- */

static const struct {
	const char *in, *out;
} sanitize_cases[] = {
	{ "default/myservice:http", "default/myservice:http" },
	{ "say \"hi\"", "say 'hi'" },
	{ "a\\b", "a/b" },
	{ "tab\there\nnewline\x7f", "tab here newline " },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
	{ "bad \xff byte", "bad ? byte" },
	{ "truncated \xc3", "truncated ?" },
	{ "overlong \xc0\xaf", "overlong ??" },
	{ "surrogate \xed\xa0\x80", "surrogate ???" },
	{ "beyond \xf4\x90\x80\x80", "beyond ????" },
	{ "# $x ; } { ' @", "# $x ; } { ' @" },
	{ "", "" },
};

START_TEST(comment_sanitize)
{
	char out[RS_COMMENT_MAX + 1], again[RS_COMMENT_MAX + 1];
	size_t n = rs_comment_sanitize(out, RS_COMMENT_MAX, sanitize_cases[_i].in);

	ck_assert_str_eq(out, sanitize_cases[_i].out);
	ck_assert_uint_eq(n, strlen(out));
	rs_comment_sanitize(again, RS_COMMENT_MAX, out);
	ck_assert_str_eq(again, out);	/* idempotent */
}
END_TEST

/* Cut at the limit, never inside a UTF-8 sequence. */
START_TEST(comment_truncate)
{
	char in[300], out[RS_COMMENT_MAX + 1];

	memset(in, 'a', 127);
	strcpy(in + 127, "\xc3\xa9tail");
	ck_assert_uint_eq(rs_comment_sanitize(out, RS_COMMENT_MAX, in), 127);
	memset(in, 'b', 200);
	in[200] = '\0';
	ck_assert_uint_eq(rs_comment_sanitize(out, RS_COMMENT_MAX, in), RS_COMMENT_MAX);
	ck_assert_uint_eq(rs_comment_sanitize(out, RS_SET_COMMENT_MAX, in), RS_SET_COMMENT_MAX);
}
END_TEST

/* The builders store sanitised copies; "" is no comment. */
START_TEST(comment_builders)
{
	struct rs_table *t = ruleset_add_table(rs, NFPROTO_IPV4, "svcnat", "t \"x\"");
	struct rs_chain *c = rs_table_add_chain(rs, t, "c", "");
	struct rs_rule *r = rs_chain_add_rule(rs, c, "a\\b");
	struct rs_set *s = rs_table_add_set(rs, t, "s", RS_SET_ADDR,
					    "a set comment longer than eighty bytes is cut to eighty, because of the kernel's limit");
	struct rs_elem *e = rs_set_add_elem(rs, s);

	ck_assert_str_eq(t->comment, "t 'x'");
	ck_assert_ptr_null(c->comment);
	ck_assert_str_eq(r->comment, "a/b");
	ck_assert_uint_eq(strlen(s->comment), RS_SET_COMMENT_MAX);
	ck_assert_int_eq(rs_elem_set_comment(rs, e, "e\x01"), 0);
	ck_assert_str_eq(e->comment, "e ");
}
END_TEST

/* ---- builders ---- */

/* Set and table pointers survive later additions (the compiler keeps several). */
START_TEST(builders_stable_sets)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *first = rs_table_add_set(rs, t, "first", RS_SET_ADDR, NULL);
	char name[16];

	for (int i = 1; i < RS_MAX_SETS; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		ck_assert_ptr_nonnull(rs_table_add_set(rs, t, name, RS_SET_ADDR, NULL));
	}
	ck_assert_ptr_eq(first, &t->sets[0]);
	ck_assert_ptr_eq(rs_table_find_set(t, "first"), first);
	ck_assert_ptr_eq(rs_table_find_set(t, "s31"), &t->sets[31]);
	ck_assert_ptr_null(rs_table_find_set(t, "nope"));
	ck_assert_ptr_eq(ruleset_add_table(rs, NFPROTO_IPV6, "svcnat", NULL), &rs->tables[1]);
	ck_assert_ptr_eq(t, &rs->tables[0]);
}
END_TEST

START_TEST(builders_chains_rules)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_chain *c = rs_table_add_base_chain(rs, t, "nat-prerouting", RS_CHAIN_NAT, RS_HOOK_PREROUTING,
						     -100, "x");
	struct rs_rule *r;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->hook, RS_HOOK_PREROUTING);
	for (int i = 0; i < 100; i++)
		ck_assert_ptr_nonnull(rs_table_add_chain(rs, t, "c", NULL));
	c = rs_table_find_chain(t, "nat-prerouting");
	ck_assert_ptr_eq(c, &t->chains[0]);
	ck_assert_int_eq(t->chains[1].hook, RS_HOOK_NONE);
	r = rs_chain_add_rule(rs, c, NULL);
	ck_assert_ptr_nonnull(r);
	for (int i = 0; i < RS_MAX_STMTS; i++)
		ck_assert_ptr_nonnull(rs_rule_add_stmt(r, RS_ST_COUNTER));
	ck_assert_uint_eq(r->n_stmts, RS_MAX_STMTS);
	ck_assert(rs_set_kind_is_map(RS_SET_PROTO_PORT_INDEX_MAP));
	ck_assert(!rs_set_kind_is_vmap(RS_SET_PROTO_PORT_INDEX_MAP));
	ck_assert(!rs_set_kind_is_map(RS_SET_PREFIX));
}
END_TEST

/* ---- nft text ---- */

START_TEST(print_elements)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *v = set(t, RS_SET_ADDR_PROTO_PORT_VMAP);
	struct rs_set *pv = rs_table_add_set(rs, t, "pv", RS_SET_PROTO_PORT_VMAP, NULL);
	struct rs_set *b = rs_table_add_set(rs, t, "b", RS_SET_ADDR_PROTO_PORT_INDEX_MAP, NULL);
	struct rs_set *nb = rs_table_add_set(rs, t, "nb", RS_SET_PROTO_PORT_INDEX_MAP, NULL);
	struct rs_set *a = rs_table_add_set(rs, t, "a", RS_SET_ADDR, NULL);
	struct rs_set *aa = rs_table_add_set(rs, t, "aa", RS_SET_ADDR_ADDR, NULL);
	struct rs_set *p = rs_table_add_set(rs, t, "p", RS_SET_PREFIX, NULL);
	struct rs_elem e = { .addr = A("198.18.0.10"), .addr2 = A("198.19.1.2"), .proto = IPPROTO_TCP, .port = 80,
			     .index = 1, .to_addr = A("198.19.1.2"), .to_port = 8080, .verdict = RS_VERDICT_GOTO,
			     .chain = "cluster-2", .comment = "default/myservice:http" };

	ASSERT_PRINTS(print_nft_elem(f, t, v, &e),
		      "198.18.0.10 . tcp . 80 comment \"default/myservice:http\" : goto cluster-2");
	e.comment = NULL;
	e.proto = IPPROTO_SCTP;
	e.verdict = RS_VERDICT_JUMP;
	ASSERT_PRINTS(print_nft_elem(f, t, pv, &e), "sctp . 80 : jump cluster-2");
	e.proto = 99;
	e.verdict = RS_VERDICT_DROP;
	ASSERT_PRINTS(print_nft_elem(f, t, pv, &e), "99 . 80 : drop");
	e.proto = IPPROTO_UDP;
	ASSERT_PRINTS(print_nft_elem(f, t, b, &e), "198.18.0.10 . udp . 80 . 1 : 198.19.1.2 . 8080");
	ASSERT_PRINTS(print_nft_elem(f, t, nb, &e), "udp . 80 . 1 : 198.19.1.2 . 8080");
	ASSERT_PRINTS(print_nft_elem(f, t, a, &e), "198.18.0.10");
	ASSERT_PRINTS(print_nft_elem(f, t, aa, &e), "198.18.0.10 . 198.19.1.2");
	e = (struct rs_elem){ .addr = A("203.0.113.77"), .prefix_len = 24, .comment = "lan \"x\"" };
	ASSERT_PRINTS(print_nft_elem(f, t, p, &e), "203.0.113.0/24 comment \"lan 'x'\"");
	e.prefix_len = 32;
	ASSERT_PRINTS(print_nft_elem(f, t, p, &e), "203.0.113.77 comment \"lan 'x'\"");
}
END_TEST

START_TEST(print_plain_sets)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *apport = rs_table_add_set(rs, t, "service-traffic", RS_SET_ADDR_PROTO_PORT, "traffic");
	struct rs_set *pport = rs_table_add_set(rs, t, "nodeports", RS_SET_PROTO_PORT, NULL);
	struct rs_set *dyn = rs_table_add_set(rs, t, "aff-web-0", RS_SET_ADDR_DYNAMIC, NULL);
	struct rs_elem e = { .addr = A("198.18.0.10"), .proto = IPPROTO_TCP, .port = 80, .comment = "default/web:http" };

	apport->counter = true;
	dyn->timeout = 10800;
	ASSERT_PRINTS(print_nft_elem(f, t, apport, &e), "198.18.0.10 . tcp . 80 comment \"default/web:http\"");
	ASSERT_PRINTS(print_nft_elem(f, t, pport, &e), "tcp . 80 comment \"default/web:http\"");
	ASSERT_PRINTS(print_nft_set_decl(f, t, apport, 0),
		      "\tset service-traffic {\n\t\ttype ipv4_addr . inet_proto . inet_service\n\t\tcounter\n"
		      "\t\tcomment \"traffic\"\n\t}\n");
	ASSERT_PRINTS(print_nft_set_decl(f, t, pport, PRINT_NFT_ONELINE),
		      "set ip svcnat nodeports { type inet_proto . inet_service; }");
	ASSERT_PRINTS(print_nft_set_decl(f, t, dyn, 0),
		      "\tset aff-web-0 {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n\t\ttimeout 10800s\n\t}\n");
}
END_TEST

START_TEST(print_elements_ip6)
{
	struct rs_table *t = table(NFPROTO_IPV6);
	struct rs_set *v = set(t, RS_SET_ADDR_PROTO_PORT_VMAP);
	struct rs_set *p = rs_table_add_set(rs, t, "p", RS_SET_PREFIX, NULL);
	struct rs_elem e = { .addr = A("2001:db8::a"), .proto = IPPROTO_TCP, .port = 80,
			     .verdict = RS_VERDICT_ACCEPT };

	ASSERT_PRINTS(print_nft_elem(f, t, v, &e), "2001:db8::a . tcp . 80 : accept");
	e.verdict = RS_VERDICT_RETURN;
	ASSERT_PRINTS(print_nft_elem(f, t, v, &e), "2001:db8::a . tcp . 80 : return");
	e.prefix_len = 64;
	ASSERT_PRINTS(print_nft_elem(f, t, p, &e), "2001:db8::/64");
}
END_TEST

/* The statements of the design, in the order of stmt_text[] below. */
static void add_stmt(struct rs_rule *r, size_t i, bool ip6)
{
	static const enum rs_stmt_kind kinds[] = {
		RS_ST_CT_STATE_NEW, RS_ST_CT_STATUS_DNAT, RS_ST_FIB_DADDR_LOCAL, RS_ST_DADDR_NOT_LOOPBACK,
		RS_ST_DADDR_PREFIX, RS_ST_SADDR_NOT_PREFIX, RS_ST_DADDR_IN_SET, RS_ST_SADDR_DADDR_IN_SET,
		RS_ST_L4PROTO, RS_ST_MARK_CLEAR_TEST, RS_ST_MARK_OR, RS_ST_MARK_XOR,
		RS_ST_VMAP_DADDR_PROTO_DPORT, RS_ST_VMAP_PROTO_DPORT, RS_ST_DNAT_DADDR_PROTO_DPORT_NG,
		RS_ST_DNAT_PROTO_DPORT_NG, RS_ST_MASQUERADE, RS_ST_REJECT_TCP_RESET, RS_ST_REJECT, RS_ST_COUNTER,
		RS_ST_VERDICT, RS_ST_VERDICT, RS_ST_VERDICT, RS_ST_VERDICT, RS_ST_VERDICT,
	};
	static const char *const sets[] = { [6] = "a", [7] = "aa", [12] = "vm", [13] = "pm", [14] = "bm", [15] = "nm" };
	static const enum rs_verdict verdicts[] = { [20] = RS_VERDICT_ACCEPT, [21] = RS_VERDICT_DROP,
						    [22] = RS_VERDICT_RETURN, [23] = RS_VERDICT_JUMP,
						    [24] = RS_VERDICT_GOTO };
	struct rs_stmt *st;

	if (kinds[i] == RS_ST_REJECT_TCP_RESET) {
		st = rs_rule_add_stmt(r, RS_ST_L4PROTO);
		st->proto = IPPROTO_TCP;
	}
	st = rs_rule_add_stmt(r, kinds[i]);
	ck_assert_ptr_nonnull(st);
	st->set = i < sizeof(sets) / sizeof(sets[0]) ? sets[i] : NULL;
	st->prefix = A(i == 4 ? (ip6 ? "2001:db8::" : "198.18.0.0") : (ip6 ? "2001:db8:19::" : "198.19.0.0"));
	st->prefix_len = i == 4 ? (ip6 ? 33 : 15) : (ip6 ? 64 : 16);
	st->proto = IPPROTO_UDP;
	st->mark = 0x4000;
	st->mod = i == 14 ? 3 : 2;
	st->verdict = i >= 20 ? verdicts[i] : RS_VERDICT_NONE;
	st->chain = "x";
}

static const char *const stmt_text[] = {
	"ct state new",
	"ct status dnat",
	"fib daddr type local",
	"@ daddr != 127.0.0.0/8",
	"@ daddr 198.18.0.0/15",
	"@ saddr != 198.19.0.0/16",
	"@ daddr @a",
	"@ saddr . @ daddr @aa",
	"meta l4proto udp",
	"meta mark & 0x00004000 == 0",
	"meta mark set meta mark | 0x00004000",
	"meta mark set meta mark ^ 0x00004000",
	"@ daddr . meta l4proto . th dport vmap @vm",
	"meta l4proto . th dport vmap @pm",
	"dnat @ to @ daddr . meta l4proto . th dport . numgen random mod 3 map @bm",
	"dnat @ to meta l4proto . th dport . numgen random mod 2 map @nm",
	"masquerade fully-random",
	"meta l4proto tcp reject with tcp reset",
	"reject",
	"counter",
	"accept",
	"drop",
	"return",
	"jump x",
	"goto x",
};

#define N_STMTS (sizeof(stmt_text) / sizeof(stmt_text[0]))

/* stmt_text with '@' replaced by the family keyword, and the ip6 addresses. */
static void expected_text(size_t i, bool ip6, char *out, size_t len)
{
	const char *s = stmt_text[i];
	size_t n = 0;

	if (ip6 && i == 3)
		s = "@ daddr != ::1";
	else if (ip6 && i == 4)
		s = "@ daddr 2001:db8::/33";
	else if (ip6 && i == 5)
		s = "@ saddr != 2001:db8:19::/64";
	for (; *s && n + 4 < len; s++) {
		if (*s == '@' && s[1] != 'a' && s[1] != 'v' && s[1] != 'b' && s[1] != 'p' && s[1] != 'n') {
			strcpy(out + n, ip6 ? "ip6" : "ip");
			n += ip6 ? 3 : 2;
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
}

START_TEST(print_statements)
{
	bool ip6 = _i >= (int)N_STMTS;
	size_t i = (size_t)_i % N_STMTS;
	struct rs_table *t = table(ip6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	struct rs_chain *c = rs_table_add_chain(rs, t, "c", NULL);
	struct rs_rule *r = rs_chain_add_rule(rs, c, NULL);
	char want[256];

	add_stmt(r, i, ip6);
	expected_text(i, ip6, want, sizeof(want));
	ASSERT_PRINTS(print_nft_rule(f, t, r), want);
}
END_TEST

/* The statements added for affinity, firewall and traffic counters, in netlink_more_* order. */
static void add_more_stmt(struct rs_rule *r, size_t i, bool ip6)
{
	static const enum rs_stmt_kind kinds[] = {
		RS_ST_DADDR_PROTO_DPORT_IN_SET, RS_ST_PROTO_DPORT_IN_SET, RS_ST_SADDR_IN_SET, RS_ST_UPDATE_SADDR,
		RS_ST_NUMGEN_ZERO, RS_ST_DNAT_TO, RS_ST_DADDR_EQ, RS_ST_DPORT_EQ, RS_ST_SADDR_PREFIX,
	};
	static const char *const sets[] = { "s3", "s2", "a", "d" };
	struct rs_stmt *st;

	if (kinds[i] == RS_ST_DNAT_TO) {
		st = rs_rule_add_stmt(r, RS_ST_L4PROTO);
		st->proto = IPPROTO_TCP;
	}
	st = rs_rule_add_stmt(r, kinds[i]);
	ck_assert_ptr_nonnull(st);
	st->set = i < 4 ? sets[i] : NULL;
	st->mod = 3;
	st->to_addr = A(ip6 ? "2001:db8:19::2" : "198.19.1.2");
	st->port = i == 5 ? 8080 : 80;
	st->prefix = A(i == 6 ? (ip6 ? "2001:db8::a" : "198.18.0.10") : (ip6 ? "2001:db8:51::" : "198.51.100.0"));
	st->prefix_len = i == 6 ? (ip6 ? 128 : 32) : (ip6 ? 120 : 24);
}

static const char *const more_text[][2] = {
	{ "ip daddr . meta l4proto . th dport @s3", "ip6 daddr . meta l4proto . th dport @s3" },
	{ "meta l4proto . th dport @s2", "meta l4proto . th dport @s2" },
	{ "ip saddr @a", "ip6 saddr @a" },
	{ "update @d { ip saddr }", "update @d { ip6 saddr }" },
	{ "numgen random mod 3 0", "numgen random mod 3 0" },
	{ "meta l4proto tcp dnat ip to 198.19.1.2:8080", "meta l4proto tcp dnat ip6 to [2001:db8:19::2]:8080" },
	{ "ip daddr 198.18.0.10", "ip6 daddr 2001:db8::a" },
	{ "th dport 80", "th dport 80" },
	{ "ip saddr 198.51.100.0/24", "ip6 saddr 2001:db8:51::/120" },
};

#define N_MORE (sizeof(more_text) / sizeof(more_text[0]))

START_TEST(print_more_statements)
{
	bool ip6 = _i >= (int)N_MORE;
	size_t i = (size_t)_i % N_MORE;
	struct rs_table *t = table(ip6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	struct rs_chain *c = rs_table_add_chain(rs, t, "c", NULL);
	struct rs_rule *r = rs_chain_add_rule(rs, c, NULL);

	add_more_stmt(r, i, ip6);
	ASSERT_PRINTS(print_nft_rule(f, t, r), more_text[i][ip6]);
}
END_TEST

START_TEST(print_rule_comment)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_chain *c = rs_table_add_chain(rs, t, "c", NULL);
	struct rs_rule *r = rs_chain_add_rule(rs, c, "hairpin");
	struct rs_stmt *st = rs_rule_add_stmt(r, RS_ST_CT_STATUS_DNAT);

	st = rs_rule_add_stmt(r, RS_ST_VERDICT);
	st->verdict = RS_VERDICT_JUMP;
	st->chain = "masquerading";
	ASSERT_PRINTS(print_nft_rule(f, t, r), "ct status dnat jump masquerading comment \"hairpin\"");
	r->comment = "set \"by hand\"";	/* the printer sanitises again */
	ASSERT_PRINTS(print_nft_rule(f, t, r), "ct status dnat jump masquerading comment \"set 'by hand'\"");
}
END_TEST

START_TEST(print_declarations)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_set *b = rs_table_add_set(rs, t, "service-backends", RS_SET_ADDR_PROTO_PORT_INDEX_MAP, "backends");
	struct rs_set *p = rs_table_add_set(rs, t, "nodeport-addresses", RS_SET_PREFIX, NULL);
	struct rs_chain *c = rs_table_add_base_chain(rs, t, "nat-prerouting", RS_CHAIN_NAT, RS_HOOK_PREROUTING, -100,
						     "dispatch");

	ASSERT_PRINTS(print_nft_set_decl(f, t, b, PRINT_NFT_ONELINE),
		      "map ip svcnat service-backends { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : "
		      "ip daddr . th dport; comment \"backends\"; }");
	ASSERT_PRINTS(print_nft_set_decl(f, t, p, PRINT_NFT_ONELINE),
		      "set ip svcnat nodeport-addresses { type ipv4_addr; flags interval; }");
	ASSERT_PRINTS(print_nft_set_decl(f, t, p, 0),
		      "\tset nodeport-addresses {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}\n");
	ASSERT_PRINTS(print_nft_chain_decl(f, t, c, PRINT_NFT_ONELINE),
		      "chain ip svcnat nat-prerouting { type nat hook prerouting priority dstnat; policy accept; "
		      "comment \"dispatch\"; }");
	c = rs_table_add_chain(rs, t, "services", NULL);
	ASSERT_PRINTS(print_nft_chain_decl(f, t, c, PRINT_NFT_ONELINE), "chain ip svcnat services { }");
}
END_TEST

/* nft's priority names where nft 1.0.6 accepts them, numbers elsewhere. */
START_TEST(print_priorities)
{
	static const struct {
		enum rs_hook hook;
		int32_t prio;
		const char *text;
	} cases[] = {
		{ RS_HOOK_PREROUTING, -110, "dstnat - 10" }, { RS_HOOK_PREROUTING, -90, "dstnat + 10" },
		{ RS_HOOK_OUTPUT, -110, "-110" },	     { RS_HOOK_OUTPUT, -100, "-100" },
		{ RS_HOOK_POSTROUTING, 100, "srcnat" },      { RS_HOOK_INPUT, 100, "100" },
		{ RS_HOOK_OUTPUT, 0, "filter" },	     { RS_HOOK_FORWARD, -5, "filter - 5" },
		{ RS_HOOK_OUTPUT, -300, "raw" },	     { RS_HOOK_PREROUTING, -150, "mangle" },
		{ RS_HOOK_OUTPUT, 55, "security + 5" },	     { RS_HOOK_OUTPUT, -200, "-200" },
	};
	struct rs_table *t = table(NFPROTO_IPV4);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rs_chain *c = rs_table_add_base_chain(rs, t, "c", RS_CHAIN_FILTER, cases[i].hook, cases[i].prio,
							     NULL);
		char want[160];

		snprintf(want, sizeof(want), "chain ip svcnat c { type filter hook %s priority %s; policy accept; }",
			 cases[i].hook == RS_HOOK_PREROUTING ? "prerouting" : cases[i].hook == RS_HOOK_OUTPUT ? "output" :
			 cases[i].hook == RS_HOOK_POSTROUTING ? "postrouting" : cases[i].hook == RS_HOOK_INPUT ? "input" :
			 "forward", cases[i].text);
		ASSERT_PRINTS(print_nft_chain_decl(f, t, c, PRINT_NFT_ONELINE), want);
	}
}
END_TEST

START_TEST(print_whole_ruleset)
{
	struct rs_table *t = ruleset_add_table(rs, NFPROTO_IPV4, "svcnat", "svcnat");
	struct rs_set *s = rs_table_add_set(rs, t, "service-nodeports", RS_SET_PROTO_PORT_VMAP, NULL);
	struct rs_set *empty = rs_table_add_set(rs, t, "cluster-ips", RS_SET_ADDR, "none yet");
	struct rs_elem *e = rs_set_add_elem(rs, s);
	struct rs_chain *c = rs_table_add_chain(rs, t, "nodeport-1", NULL);
	struct rs_rule *r = rs_chain_add_rule(rs, c, NULL);
	struct rs_stmt *st = rs_rule_add_stmt(r, RS_ST_DNAT_PROTO_DPORT_NG);

	ck_assert_ptr_nonnull(empty);
	*e = (struct rs_elem){ .proto = IPPROTO_TCP, .port = 30080, .verdict = RS_VERDICT_GOTO, .chain = "nodeport-1" };
	ck_assert_int_eq(rs_elem_set_comment(rs, e, "default/web:http nodePort"), 0);
	e = rs_set_add_elem(rs, s);
	*e = (struct rs_elem){ .proto = IPPROTO_UDP, .port = 30053, .verdict = RS_VERDICT_DROP };
	st->set = "nodeport-backends";
	st->mod = 1;
	ASSERT_PRINTS(print_nft_ruleset(f, rs),
		      "table ip svcnat\n"
		      "delete table ip svcnat\n"
		      "table ip svcnat {\n"
		      "\tcomment \"svcnat\"\n"
		      "\n"
		      "\tmap service-nodeports {\n"
		      "\t\ttype inet_proto . inet_service : verdict\n"
		      "\t\telements = {\n"
		      "\t\t\ttcp . 30080 comment \"default/web:http nodePort\" : goto nodeport-1,\n"
		      "\t\t\tudp . 30053 : drop\n"
		      "\t\t}\n"
		      "\t}\n"
		      "\n"
		      "\tset cluster-ips {\n"
		      "\t\ttype ipv4_addr\n"
		      "\t\tcomment \"none yet\"\n"
		      "\t}\n"
		      "\n"
		      "\tchain nodeport-1 {\n"
		      "\t\tdnat ip to meta l4proto . th dport . numgen random mod 1 map @nodeport-backends\n"
		      "\t}\n"
		      "}\n");
}
END_TEST

/* A write error is reported, not swallowed. */
START_TEST(print_write_error)
{
	FILE *f = fopen("/dev/full", "w");
	struct rs_table *t = table(NFPROTO_IPV4);

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(rs_table_add_chain(rs, t, "c", NULL));
	ck_assert_int_lt(print_nft_ruleset(f, rs), 0);
	fclose(f);
}
END_TEST

/* ---- netlink expressions, against `nft --debug=netlink` of nft 1.0.6 ---- */

/* Generated from `nft --debug=netlink -f` of one rule per statement (nft 1.0.6, x86_64). */
static const char *const netlink_ip4[] = {
	"  [ ct load state => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0x00000008 ) ^ 0x00000000 ]\n"
	"  [ cmp neq reg 1 0x00000000 ]\n",
	"  [ ct load status => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]\n"
	"  [ cmp neq reg 1 0x00000000 ]\n",
	"  [ fib daddr type => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00000002 ]\n",
	"  [ payload load 1b @ network header + 16 => reg 1 ]\n"
	"  [ cmp neq reg 1 0x0000007f ]\n",
	"  [ payload load 4b @ network header + 16 => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0x0000feff ) ^ 0x00000000 ]\n"
	"  [ cmp eq reg 1 0x000012c6 ]\n",
	"  [ payload load 2b @ network header + 12 => reg 1 ]\n"
	"  [ cmp neq reg 1 0x000013c6 ]\n",
	"  [ payload load 4b @ network header + 16 => reg 1 ]\n"
	"  [ lookup reg 1 set a ]\n",
	"  [ payload load 4b @ network header + 12 => reg 1 ]\n"
	"  [ payload load 4b @ network header + 16 => reg 9 ]\n"
	"  [ lookup reg 1 set aa ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00000011 ]\n",
	"  [ meta load mark => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0x00004000 ) ^ 0x00000000 ]\n"
	"  [ cmp eq reg 1 0x00000000 ]\n",
	"  [ meta load mark => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0xffffbfff ) ^ 0x00004000 ]\n"
	"  [ meta set mark with reg 1 ]\n",
	"  [ meta load mark => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0xffffffff ) ^ 0x00004000 ]\n"
	"  [ meta set mark with reg 1 ]\n",
	"  [ payload load 4b @ network header + 16 => reg 1 ]\n"
	"  [ meta load l4proto => reg 9 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 10 ]\n"
	"  [ lookup reg 1 set vm dreg 0 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 9 ]\n"
	"  [ lookup reg 1 set pm dreg 0 ]\n",
	"  [ payload load 4b @ network header + 16 => reg 1 ]\n"
	"  [ meta load l4proto => reg 9 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 10 ]\n"
	"  [ numgen reg 11 = random mod 3 ]\n"
	"  [ lookup reg 1 set bm dreg 1 ]\n"
	"  [ nat dnat ip addr_min reg 1 proto_min reg 9 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 9 ]\n"
	"  [ numgen reg 10 = random mod 2 ]\n"
	"  [ lookup reg 1 set nm dreg 1 ]\n"
	"  [ nat dnat ip addr_min reg 1 proto_min reg 9 ]\n",
	"  [ masq flags 0x10 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00000006 ]\n"
	"  [ reject type 1 code 0 ]\n",
	"  [ reject type 0 code 3 ]\n",
	"  [ counter pkts 0 bytes 0 ]\n",
	"  [ immediate reg 0 accept ]\n",
	"  [ immediate reg 0 drop ]\n",
	"  [ immediate reg 0 return ]\n",
	"  [ immediate reg 0 jump -> x ]\n",
	"  [ immediate reg 0 goto -> x ]\n",
};

static const char *const netlink_ip6[] = {
	"  [ ct load state => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0x00000008 ) ^ 0x00000000 ]\n"
	"  [ cmp neq reg 1 0x00000000 ]\n",
	"  [ ct load status => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0x00000020 ) ^ 0x00000000 ]\n"
	"  [ cmp neq reg 1 0x00000000 ]\n",
	"  [ fib daddr type => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00000002 ]\n",
	"  [ payload load 16b @ network header + 24 => reg 1 ]\n"
	"  [ cmp neq reg 1 0x00000000 0x00000000 0x00000000 0x01000000 ]\n",
	"  [ payload load 16b @ network header + 24 => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0xffffffff 0x00000080 0x00000000 0x00000000 ) ^ 0x00000000 0x00000000 0x00000000 0x00000000 ]\n"
	"  [ cmp eq reg 1 0xb80d0120 0x00000000 0x00000000 0x00000000 ]\n",
	"  [ payload load 8b @ network header + 8 => reg 1 ]\n"
	"  [ cmp neq reg 1 0xb80d0120 0x00001900 ]\n",
	"  [ payload load 16b @ network header + 24 => reg 1 ]\n"
	"  [ lookup reg 1 set a ]\n",
	"  [ payload load 16b @ network header + 8 => reg 1 ]\n"
	"  [ payload load 16b @ network header + 24 => reg 2 ]\n"
	"  [ lookup reg 1 set aa ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00000011 ]\n",
	"  [ meta load mark => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0x00004000 ) ^ 0x00000000 ]\n"
	"  [ cmp eq reg 1 0x00000000 ]\n",
	"  [ meta load mark => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0xffffbfff ) ^ 0x00004000 ]\n"
	"  [ meta set mark with reg 1 ]\n",
	"  [ meta load mark => reg 1 ]\n"
	"  [ bitwise reg 1 = ( reg 1 & 0xffffffff ) ^ 0x00004000 ]\n"
	"  [ meta set mark with reg 1 ]\n",
	"  [ payload load 16b @ network header + 24 => reg 1 ]\n"
	"  [ meta load l4proto => reg 2 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 13 ]\n"
	"  [ lookup reg 1 set vm dreg 0 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 9 ]\n"
	"  [ lookup reg 1 set pm dreg 0 ]\n",
	"  [ payload load 16b @ network header + 24 => reg 1 ]\n"
	"  [ meta load l4proto => reg 2 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 13 ]\n"
	"  [ numgen reg 14 = random mod 3 ]\n"
	"  [ lookup reg 1 set bm dreg 1 ]\n"
	"  [ nat dnat ip6 addr_min reg 1 proto_min reg 2 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 9 ]\n"
	"  [ numgen reg 10 = random mod 2 ]\n"
	"  [ lookup reg 1 set nm dreg 1 ]\n"
	"  [ nat dnat ip6 addr_min reg 1 proto_min reg 2 ]\n",
	"  [ masq flags 0x10 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00000006 ]\n"
	"  [ reject type 1 code 0 ]\n",
	"  [ reject type 0 code 4 ]\n",
	"  [ counter pkts 0 bytes 0 ]\n",
	"  [ immediate reg 0 accept ]\n",
	"  [ immediate reg 0 drop ]\n",
	"  [ immediate reg 0 return ]\n",
	"  [ immediate reg 0 jump -> x ]\n",
	"  [ immediate reg 0 goto -> x ]\n",
};

/* The same for the statements of add_more_stmt(). */
static const char *const netlink_more_ip4[] = {
	"  [ payload load 4b @ network header + 16 => reg 1 ]\n"
	"  [ meta load l4proto => reg 9 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 10 ]\n"
	"  [ lookup reg 1 set s3 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 9 ]\n"
	"  [ lookup reg 1 set s2 ]\n",
	"  [ payload load 4b @ network header + 12 => reg 1 ]\n"
	"  [ lookup reg 1 set a ]\n",
	"  [ payload load 4b @ network header + 12 => reg 1 ]\n"
	"  [ dynset update reg_key 1 set d ]\n",
	"  [ numgen reg 1 = random mod 3 ]\n"
	"  [ cmp eq reg 1 0x00000000 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00000006 ]\n"
	"  [ immediate reg 1 0x020113c6 ]\n"
	"  [ immediate reg 2 0x0000901f ]\n"
	"  [ nat dnat ip addr_min reg 1 proto_min reg 2 flags 0x2 ]\n",
	"  [ payload load 4b @ network header + 16 => reg 1 ]\n"
	"  [ cmp eq reg 1 0x0a0012c6 ]\n",
	"  [ payload load 2b @ transport header + 2 => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00005000 ]\n",
	"  [ payload load 3b @ network header + 12 => reg 1 ]\n"
	"  [ cmp eq reg 1 0x006433c6 ]\n",
};

static const char *const netlink_more_ip6[] = {
	"  [ payload load 16b @ network header + 24 => reg 1 ]\n"
	"  [ meta load l4proto => reg 2 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 13 ]\n"
	"  [ lookup reg 1 set s3 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ payload load 2b @ transport header + 2 => reg 9 ]\n"
	"  [ lookup reg 1 set s2 ]\n",
	"  [ payload load 16b @ network header + 8 => reg 1 ]\n"
	"  [ lookup reg 1 set a ]\n",
	"  [ payload load 16b @ network header + 8 => reg 1 ]\n"
	"  [ dynset update reg_key 1 set d ]\n",
	"  [ numgen reg 1 = random mod 3 ]\n"
	"  [ cmp eq reg 1 0x00000000 ]\n",
	"  [ meta load l4proto => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00000006 ]\n"
	"  [ immediate reg 1 0xb80d0120 0x00001900 0x00000000 0x02000000 ]\n"
	"  [ immediate reg 2 0x0000901f ]\n"
	"  [ nat dnat ip6 addr_min reg 1 proto_min reg 2 flags 0x2 ]\n",
	"  [ payload load 16b @ network header + 24 => reg 1 ]\n"
	"  [ cmp eq reg 1 0xb80d0120 0x00000000 0x00000000 0x0a000000 ]\n",
	"  [ payload load 2b @ transport header + 2 => reg 1 ]\n"
	"  [ cmp eq reg 1 0x00005000 ]\n",
	"  [ payload load 15b @ network header + 8 => reg 1 ]\n"
	"  [ cmp eq reg 1 0xb80d0120 0x00005100 0x00000000 0x00000000 ]\n",
};

/* The expressions of one statement as libnftnl prints them (the text of nft --debug=netlink). */
static char *rule_exprs(const struct rs_table *t, const struct rs_chain *c, const struct rs_rule *r)
{
	struct nftnl_rule *nr = nlbuild_rule(t, c, r);
	char buf[4096], *nl;

	ck_assert_ptr_nonnull(nr);
	nftnl_rule_snprintf(buf, sizeof(buf), nr, NFTNL_OUTPUT_DEFAULT, 0);
	nftnl_rule_free(nr);
	nl = strchr(buf, '\n');	/* after the "ip svcnat c" header */
	ck_assert_ptr_nonnull(nl);
	if (buf[strlen(buf) - 1] != '\n')
		strcat(buf, "\n");
	return strdup(nl + 1);
}

START_TEST(netlink_statements)
{
	bool ip6 = _i >= (int)N_STMTS;
	size_t i = (size_t)_i % N_STMTS;
	struct rs_table *t = table(ip6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	struct rs_chain *c = rs_table_add_chain(rs, t, "c", NULL);
	struct rs_rule *r = rs_chain_add_rule(rs, c, NULL);
	char *got;

	/* The register dumps print host-order words: the expected text is little-endian's. */
	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
		return;
	add_stmt(r, i, ip6);
	got = rule_exprs(t, c, r);
	ck_assert_str_eq(got, (ip6 ? netlink_ip6 : netlink_ip4)[i]);
	free(got);
}
END_TEST

START_TEST(netlink_more_statements)
{
	bool ip6 = _i >= (int)N_MORE;
	size_t i = (size_t)_i % N_MORE;
	struct rs_table *t = table(ip6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	struct rs_chain *c = rs_table_add_chain(rs, t, "c", NULL);
	struct rs_rule *r = rs_chain_add_rule(rs, c, NULL);
	char *got;

	if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
		return;
	add_more_stmt(r, i, ip6);
	got = rule_exprs(t, c, r);
	ck_assert_str_eq(got, (ip6 ? netlink_more_ip6 : netlink_more_ip4)[i]);
	free(got);
}
END_TEST

START_TEST(netlink_rule_comment)
{
	struct rs_table *t = table(NFPROTO_IPV4);
	struct rs_chain *c = rs_table_add_chain(rs, t, "c", NULL);
	struct rs_rule *r = rs_chain_add_rule(rs, c, "no port");
	char *got;

	rs_rule_add_stmt(r, RS_ST_REJECT);
	got = rule_exprs(t, c, r);
	ck_assert_str_eq(got, "  [ reject type 0 code 3 ]\n  userdata = { \\x00\\x08no port\\x00 }\n");
	free(got);
}
END_TEST

/* ---- set sizes ---- */

static struct rs_set *filled_set(struct rs_table *t, const char *name, enum rs_set_kind kind, size_t n)
{
	struct rs_set *s = rs_table_add_set(rs, t, name, kind, NULL);

	for (size_t i = 0; i < n; i++) {
		struct rs_elem *e = rs_set_add_elem(rs, s);
		char ip[32];

		snprintf(ip, sizeof(ip), "198.18.%zu.%zu", i / 250, i % 250 + 1);
		e->addr = A(ip);
	}
	return s;
}

START_TEST(sizes_from_counts)
{
	struct rs_table *t = table(NFPROTO_IPV4);

	filled_set(t, "empty", RS_SET_ADDR, 0);
	filled_set(t, "n128", RS_SET_ADDR, 128);
	filled_set(t, "n129", RS_SET_ADDR, 129);
	filled_set(t, "prefixes", RS_SET_PREFIX, 3);
	rs_table_add_set(rs, t, "affinity", RS_SET_ADDR_DYNAMIC, NULL)->timeout = 10;
	ruleset_size_sets(rs);
	ck_assert_uint_eq(rs_table_find_set(t, "empty")->size, RS_SET_MIN_SIZE);
	ck_assert_uint_eq(rs_table_find_set(t, "n128")->size, 256);
	ck_assert_uint_eq(rs_table_find_set(t, "n129")->size, 512);
	ck_assert_uint_eq(rs_table_find_set(t, "prefixes")->size, 0);
	ck_assert_uint_eq(rs_table_find_set(t, "affinity")->size, 0);
}
END_TEST

/* A set the kernel holds keeps its size while it has room; beyond it, the table is replaced. */
START_TEST(sizes_in_the_diff)
{
	static const struct {
		size_t have_size, want_elems;
		enum table_action action;
		uint32_t want_size;
	} cases[] = {
		{ 4096, 300, TABLE_UPDATE, 4096 },	/* room: the kernel's size stays */
		{ 0, 300, TABLE_UPDATE, 0 },		/* no limit (an older table): stays */
		{ 256, 300, TABLE_REPLACE, 1024 },	/* too small: a new table, sized anew */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rs_table *t = table(NFPROTO_IPV4);
		struct kview *want = NULL, *have = NULL;
		struct diff *d = NULL;

		filled_set(t, "ips", RS_SET_ADDR, cases[i].want_elems);
		ruleset_size_sets(rs);
		ck_assert_int_eq(kview_from_ruleset(rs, &want), 0);
		ck_assert_int_eq(kview_from_ruleset(rs, &have), 0);
		have->tables[0].present = true;
		have->tables[0].sets[0].size = (uint32_t)cases[i].have_size;
		have->tables[0].sets[0].n_elems = 1;	/* so that something changes */
		ck_assert_int_eq(diff_compute(want, have, false, &d), 0);
		ck_assert_int_eq(d->tables[0].action, cases[i].action);
		diff_keep_kernel_sizes(d);
		ck_assert_uint_eq(want->tables[0].sets[0].size, cases[i].want_size);
		diff_free(d);
		kview_free(want);
		kview_free(have);
		teardown();
		setup();
	}
}
END_TEST

/* The hand-written IPv4 formatting agrees with inet_ntop; endpoints get brackets for IPv6. */
START_TEST(format_addresses)
{
	static const char *const v[] = { "0.0.0.0", "1.2.3.4", "10.0.0.10", "192.0.2.255", "198.51.100.100",
					 "203.0.113.9", "255.255.255.255", "2001:db8::1", "::" };
	char buf[ADDR_STRLEN], want[ADDR_STRLEN], ep[ADDR_PORT_STRLEN];
	struct arena a;
	struct addr x;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		x = A(v[i]);
		ck_assert_str_eq(addr_to_str(&x, buf), v[i]);
	}
	for (unsigned i = 0; i < 70000; i++) {
		x = (struct addr){ .family = AF_INET };
		x.bytes[0] = (uint8_t)(i * 7);
		x.bytes[1] = (uint8_t)(i >> 8);
		x.bytes[2] = (uint8_t)i;
		x.bytes[3] = (uint8_t)(i * 13);
		ck_assert_ptr_nonnull(inet_ntop(AF_INET, x.bytes, want, sizeof(want)));
		ck_assert_str_eq(addr_to_str(&x, buf), want);
	}
	x = A("198.51.100.7");
	ck_assert_str_eq(addr_port_to_str(&x, 8080, ep), "198.51.100.7:8080");
	x = A("2001:db8::7");
	ck_assert_str_eq(addr_port_to_str(&x, 0, ep), "[2001:db8::7]:0");
	x = A("2001:db8:1:2:3:4:5:6");
	ck_assert_str_eq(addr_port_to_str(&x, 65535, ep), "[2001:db8:1:2:3:4:5:6]:65535");
	x = (struct addr){ 0 };
	ck_assert_str_eq(addr_to_str(&x, buf), "?");
	arena_init(&a);
	ck_assert_str_eq(arena_concat(&a, "ns/web:http", " -> ", ep, NULL), "ns/web:http -> [2001:db8:1:2:3:4:5:6]:65535");
	ck_assert_str_eq(arena_concat(&a, NULL), "");
	arena_free(&a);
}
END_TEST

static Suite *ruleset_suite(void)
{
	Suite *s = suite_create("ruleset");
	TCase *layout = tcase_create("layout"), *sort = tcase_create("sort");
	TCase *comments = tcase_create("comments"), *builders = tcase_create("builders");
	TCase *print = tcase_create("print"), *netlink = tcase_create("netlink");
	TCase *all[] = { layout, sort, comments, builders, print, netlink };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(layout, key_addr_proto_port_vmap);
	tcase_add_test(layout, key_proto_port_vmap);
	tcase_add_test(layout, key_index_maps);
	tcase_add_test(layout, key_addr_sets);
	tcase_add_test(layout, key_prefix);
	tcase_add_test(layout, key_plain_sets);
	tcase_add_test(layout, key_ip6);
	tcase_add_test(sort, sort_by_key_bytes);
	tcase_add_test(builders, sizes_from_counts);
	tcase_add_test(builders, sizes_in_the_diff);
	tcase_add_test(sort, sort_ties);
	tcase_add_loop_test(comments, comment_sanitize, 0, sizeof(sanitize_cases) / sizeof(sanitize_cases[0]));
	tcase_add_test(comments, comment_truncate);
	tcase_add_test(comments, comment_builders);
	tcase_add_test(comments, format_addresses);
	tcase_add_test(builders, builders_stable_sets);
	tcase_add_test(builders, builders_chains_rules);
	tcase_add_test(print, print_elements);
	tcase_add_test(print, print_plain_sets);
	tcase_add_test(print, print_elements_ip6);
	tcase_add_loop_test(print, print_statements, 0, 2 * N_STMTS);
	tcase_add_loop_test(print, print_more_statements, 0, 2 * N_MORE);
	tcase_add_test(print, print_rule_comment);
	tcase_add_test(print, print_declarations);
	tcase_add_test(print, print_priorities);
	tcase_add_test(print, print_whole_ruleset);
	tcase_add_test(print, print_write_error);
	tcase_add_loop_test(netlink, netlink_statements, 0, 2 * N_STMTS);
	tcase_add_loop_test(netlink, netlink_more_statements, 0, 2 * N_MORE);
	tcase_add_test(netlink, netlink_rule_comment);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ruleset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
