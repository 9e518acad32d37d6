// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ruleset description -> libnftnl objects.  Everything here imitates what
 * nft 1.0.6 sends for the script print_nft.c writes (checked byte for byte
 * against `nft --debug=mnl -f`), because `nft list` decodes the kernel's
 * expressions and the sets' user data back into text, and that text must not
 * depend on which back end loaded the table.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>	/* before the linux/ headers */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "nlbatch.h"
#include "nlbuild.h"

/* Kernel ABI: user data (comments, set descriptions) is at most 256 bytes (ERANGE beyond). */
#define USERDATA_MAX 256
#define ICMP_PORT_UNREACHABLE 3		/* ICMP_PORT_UNREACH */
#define ICMPV6_PORT_UNREACHABLE 4	/* ICMP6_DST_UNREACH_NOPORT */

/*
 * nft's datatype ids (nftables datatype.h); a concatenation's type packs one
 * per 6 bits (TYPE_BITS).  Only nft's printing reads these.
 */
enum { DT_INTEGER = 4, DT_IPADDR = 7, DT_IP6ADDR = 8, DT_INET_PROTO = 12, DT_INET_SERVICE = 13 };
#define DT_BITS 6

/*
 * nft's private vocabulary for set user data, which `nft list` needs to print
 * "typeof ..." and the concatenated types (values of nftables 1.0.6,
 * observed with `nft --debug=mnl`):
 *   enum byteorder:      INVALID 0, HOST 1, BIG_ENDIAN 2
 *   enum expr_types:     payload 7, meta 9, concat 13, numgen 23
 *   enum proto_desc_id:  th 11, ip 12, ip6 13
 *   header fields:       ip saddr 11 / daddr 12, ip6 saddr 8 / daddr 9, th dport 2
 * Nested attributes: a concat holds one nest per field (type = field index)
 * with SUB_TYPE (expression type) and SUB_DATA (that expression's data).
 */
enum { BO_INVALID = 0, BO_BIG_ENDIAN = 2 };
enum { EXPR_PAYLOAD = 7, EXPR_META = 9, EXPR_CONCAT = 13, EXPR_NUMGEN = 23 };
enum { PROTO_DESC_TH = 11, PROTO_DESC_IP = 12, PROTO_DESC_IP6 = 13 };
enum { IPHDR_DADDR = 12, IP6HDR_DADDR = 9, THDR_DPORT = 2 };
enum { UD_CONCAT_SUB_TYPE = 0, UD_CONCAT_SUB_DATA = 1 };
enum { UD_PAYLOAD_DESC = 0, UD_PAYLOAD_TYPE = 1 };
enum { UD_META_KEY = 0 };
enum { UD_NUMGEN_TYPE = 0, UD_NUMGEN_MOD = 1, UD_NUMGEN_OFFSET = 2 };

enum field { F_DADDR, F_L4PROTO, F_DPORT, F_NUMGEN };

/* IP header offsets (network header base). */
#define IPV4_SADDR 12
#define IPV4_DADDR 16
#define IPV6_SADDR 8
#define IPV6_DADDR 24
#define TH_DPORT 2	/* transport header base */

/*
 * nft counts a concatenation's fields in 4-byte slots from NFT_REG_1 and names
 * a slot by its 16-byte register (NFT_REG_1..4) when it starts one, else as
 * NFT_REG32_00 + slot: "reg 1", "reg 9", "reg 10"... (ip6: 1, 2, 13, 14).
 */
static uint32_t reg_slot(size_t slot)
{
	return slot % 4 == 0 ? NFT_REG_1 + (uint32_t)(slot / 4) : NFT_REG32_00 + (uint32_t)slot;
}

static bool is_ip6(const struct rs_table *t)
{
	return t->family == NFPROTO_IPV6;
}

static size_t addr_slots(const struct rs_table *t)
{
	return rs_table_addr_len(t) / 4;
}

/* A sanitised comment, cut to max, in a user data TLV; false on overflow. */
static bool put_comment(struct nftnl_udata_buf *u, uint8_t type, const char *comment, size_t max)
{
	char buf[RS_COMMENT_MAX + 1];

	if (!comment || rs_comment_sanitize(buf, max, comment) == 0)
		return true;
	return nftnl_udata_put_strz(u, type, buf);
}

/*
 * Sets a comment-only user data attribute through set_data: 0 or -ENOMEM.
 * The one TLV is laid out here, as nftnl_udata_put_strz would (type, length,
 * the string with its NUL): a cold load sets 180,000 of them, and a udata
 * buffer is a malloc and a free each.
 */
static int set_comment_udata(const char *comment, uint8_t type, void *obj,
			     int (*set_data)(void *obj, uint16_t attr, const void *data, uint32_t len),
			     uint16_t attr)
{
	_Static_assert(RS_COMMENT_MAX + 1 <= UINT8_MAX, "a comment's TLV length is one byte");
	unsigned char tlv[2 + RS_COMMENT_MAX + 1];
	size_t len;

	if (!comment || !*comment)
		return 0;
	len = rs_comment_sanitize((char *)tlv + 2, RS_COMMENT_MAX, comment);
	if (!len)
		return 0;
	tlv[0] = type;
	tlv[1] = (unsigned char)(len + 1);
	return set_data(obj, attr, tlv, (uint32_t)len + 3) < 0 ? -ENOMEM : 0;
}

/* Adapters so one helper serves tables, chains, rules and elements. */
static int table_set_data(void *o, uint16_t a, const void *d, uint32_t l)
{
	return nftnl_table_set_data(o, a, d, l);
}

static int chain_set_data(void *o, uint16_t a, const void *d, uint32_t l)
{
	return nftnl_chain_set_data(o, a, d, l);
}

static int rule_set_data(void *o, uint16_t a, const void *d, uint32_t l)
{
	return nftnl_rule_set_data(o, a, d, l);
}

static int elem_set_data(void *o, uint16_t a, const void *d, uint32_t l)
{
	return nftnl_set_elem_set(o, a, d, l);
}

static struct nftnl_table *table_ref(const struct rs_table *t)
{
	struct nftnl_table *nt = nftnl_table_alloc();

	if (!nt)
		return NULL;
	nftnl_table_set_u32(nt, NFTNL_TABLE_FAMILY, (uint32_t)t->family);
	if (nftnl_table_set_str(nt, NFTNL_TABLE_NAME, t->name) < 0) {
		nftnl_table_free(nt);
		return NULL;
	}
	return nt;
}

struct nftnl_table *nlbuild_table(const struct rs_table *t, bool with_comment)
{
	struct nftnl_table *nt = table_ref(t);

	if (!nt)
		return NULL;
	nftnl_table_set_u32(nt, NFTNL_TABLE_FLAGS, 0);	/* nft sends it */
	if (with_comment &&
	    set_comment_udata(t->comment, NFTNL_UDATA_TABLE_COMMENT, nt, table_set_data, NFTNL_TABLE_USERDATA) < 0) {
		nftnl_table_free(nt);
		return NULL;
	}
	return nt;
}

struct nftnl_chain *nlbuild_chain(const struct rs_table *t, const struct rs_chain *c)
{
	struct nftnl_chain *nc = nftnl_chain_alloc();

	if (!nc)
		return NULL;
	nftnl_chain_set_u32(nc, NFTNL_CHAIN_FAMILY, (uint32_t)t->family);
	if (nftnl_chain_set_str(nc, NFTNL_CHAIN_TABLE, t->name) < 0 ||
	    nftnl_chain_set_str(nc, NFTNL_CHAIN_NAME, c->name) < 0)
		goto fail;
	if (c->hook != RS_HOOK_NONE) {
		if (nftnl_chain_set_str(nc, NFTNL_CHAIN_TYPE, c->type == RS_CHAIN_NAT ? "nat" : "filter") < 0)
			goto fail;
		/* NF_INET_PRE_ROUTING .. POST_ROUTING are 0..4, as enum rs_hook. */
		nftnl_chain_set_u32(nc, NFTNL_CHAIN_HOOKNUM, (uint32_t)c->hook);
		nftnl_chain_set_s32(nc, NFTNL_CHAIN_PRIO, c->priority);
		nftnl_chain_set_u32(nc, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	if (set_comment_udata(c->comment, NFTNL_UDATA_CHAIN_COMMENT, nc, chain_set_data, NFTNL_CHAIN_USERDATA) < 0)
		goto fail;
	return nc;
fail:
	nftnl_chain_free(nc);
	return NULL;
}

/* ---- expressions: one helper per kind; the first failure sticks in rb->err ---- */

struct rule_builder {
	struct nftnl_rule *r;
	const struct rs_table *t;
	int err;
};

static struct nftnl_expr *expr_new(struct rule_builder *rb, const char *name)
{
	struct nftnl_expr *e;

	if (rb->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (!e)
		rb->err = -ENOMEM;
	return e;
}

/* ok: whether every attribute could be set.  The rule owns e from here on. */
static void expr_add(struct rule_builder *rb, struct nftnl_expr *e, bool ok)
{
	if (!ok) {
		nftnl_expr_free(e);
		rb->err = -ENOMEM;
		return;
	}
	nftnl_rule_add_expr(rb->r, e);
}

static void e_payload(struct rule_builder *rb, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = expr_new(rb, "payload");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	expr_add(rb, e, true);
}

static void e_meta_load(struct rule_builder *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr_new(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	expr_add(rb, e, true);
}

static void e_meta_set(struct rule_builder *rb, uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = expr_new(rb, "meta");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
	expr_add(rb, e, true);
}

static void e_cmp(struct rule_builder *rb, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_new(rb, "cmp");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	expr_add(rb, e, nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) == 0);
}

static void e_cmp_u32(struct rule_builder *rb, uint32_t sreg, uint32_t op, uint32_t host_value)
{
	e_cmp(rb, sreg, op, &host_value, sizeof(host_value));
}

/*
 * reg = (reg & mask) ^ xor over len bytes.  nft sends NFTA_BITWISE_OP
 * (NFT_BITWISE_BOOL) where the script has an explicit "&", "|" or "^"
 * ("meta mark & m", "meta mark set meta mark | m"), but not for the masks it
 * makes up itself (flag tests, prefixes): with_op.
 */
static void e_bitwise(struct rule_builder *rb, uint32_t reg, const void *mask, const void *xor, uint32_t len,
		      bool with_op)
{
	struct nftnl_expr *e = expr_new(rb, "bitwise");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
	if (with_op)
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, NFT_BITWISE_BOOL);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	expr_add(rb, e, nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len) == 0 &&
			nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len) == 0);
}

static void e_bitwise_u32(struct rule_builder *rb, uint32_t reg, uint32_t mask, uint32_t xor, bool with_op)
{
	e_bitwise(rb, reg, &mask, &xor, sizeof(uint32_t), with_op);
}

/*
 * A set lookup by name (the set may be created earlier in the same batch:
 * the kernel finds it by name; no NFTA_LOOKUP_SET_ID, which could bind a
 * same-numbered set of this batch if the name were missing).  dreg < 0: a
 * plain membership test; NFT_REG_VERDICT: a verdict map; else a data map.
 */
static void e_lookup(struct rule_builder *rb, uint32_t sreg, const char *set, int32_t dreg)
{
	struct nftnl_expr *e = expr_new(rb, "lookup");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	if (dreg >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
	expr_add(rb, e, nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set) == 0);
}

static void e_numgen(struct rule_builder *rb, uint32_t dreg, uint32_t mod)
{
	struct nftnl_expr *e = expr_new(rb, "numgen");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, mod);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, 0);	/* nft sends it */
	expr_add(rb, e, true);
}

static int verdict_code(enum rs_verdict v)
{
	switch (v) {
	case RS_VERDICT_ACCEPT:
		return NF_ACCEPT;
	case RS_VERDICT_DROP:
		return NF_DROP;
	case RS_VERDICT_RETURN:
		return NFT_RETURN;
	case RS_VERDICT_JUMP:
		return NFT_JUMP;
	case RS_VERDICT_GOTO:
		return NFT_GOTO;
	case RS_VERDICT_NONE:
		break;
	}
	assert(!"not a verdict");
	return NFT_CONTINUE;
}

static void e_immediate_verdict(struct rule_builder *rb, enum rs_verdict v, const char *chain)
{
	struct nftnl_expr *e = expr_new(rb, "immediate");
	bool ok = true;

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict_code(v));
	if (v == RS_VERDICT_JUMP || v == RS_VERDICT_GOTO)
		ok = chain && nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain) == 0;
	expr_add(rb, e, ok);
}

static void e_immediate_data(struct rule_builder *rb, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_new(rb, "immediate");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	expr_add(rb, e, nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len) == 0);
}

/* "update @set { ip saddr }": the set's own timeout applies (no NFTA_DYNSET_TIMEOUT, as nft). */
static void e_dynset_update(struct rule_builder *rb, uint32_t sreg, const char *set)
{
	struct nftnl_expr *e = expr_new(rb, "dynset");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, sreg);
	expr_add(rb, e, nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, set) == 0);
}

/*
 * flags: NFTA_NAT_FLAGS, or 0 for none.  nft sends NF_NAT_RANGE_PROTO_SPECIFIED
 * for a literal port ("dnat ip to 198.19.1.2:8080") and nothing for a map;
 * the kernel stores the same either way (it sets the flag itself when given a
 * proto register), so this only keeps our bytes equal to nft's.
 */
static void e_dnat(struct rule_builder *rb, uint32_t reg_addr, uint32_t reg_proto, uint32_t flags)
{
	struct nftnl_expr *e = expr_new(rb, "nat");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, (uint32_t)rb->t->family);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, reg_addr);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, reg_proto);
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
	expr_add(rb, e, true);
}

static void e_masq(struct rule_builder *rb, uint32_t flags)
{
	struct nftnl_expr *e = expr_new(rb, "masq");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, flags);
	expr_add(rb, e, true);
}

static void e_reject(struct rule_builder *rb, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = expr_new(rb, "reject");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	expr_add(rb, e, true);
}

static void e_fib(struct rule_builder *rb, uint32_t flags, uint32_t result, uint32_t dreg)
{
	struct nftnl_expr *e = expr_new(rb, "fib");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, result);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, flags);
	expr_add(rb, e, true);
}

static void e_ct_load(struct rule_builder *rb, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = expr_new(rb, "ct");

	if (!e)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	expr_add(rb, e, true);
}

static void e_counter(struct rule_builder *rb)
{
	struct nftnl_expr *e = expr_new(rb, "counter");

	if (e)
		expr_add(rb, e, true);
}

/* ---- statements ---- */

/* "ct state new" / "ct status dnat": load, mask the bit, compare with zero. */
static void st_ct_bit(struct rule_builder *rb, uint32_t key, uint32_t bit)
{
	e_ct_load(rb, key, NFT_REG_1);
	e_bitwise_u32(rb, NFT_REG_1, bit, 0, false);
	e_cmp_u32(rb, NFT_REG_1, NFT_CMP_NEQ, 0);
}

/*
 * "ip daddr [!=] prefix", as nft linearises it: a byte-aligned prefix loads
 * just its bytes and compares them; any other (or /0) loads the whole
 * address, masks it and compares.
 */
static void st_prefix(struct rule_builder *rb, uint32_t offset, const struct addr *a, uint8_t plen, uint32_t op)
{
	uint32_t alen = (uint32_t)rs_table_addr_len(rb->t);
	uint8_t net[16] = { 0 }, mask[16] = { 0 }, zero[16] = { 0 };

	assert(plen <= alen * 8);
	for (uint32_t bit = 0; bit < plen; bit++)
		mask[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	for (uint32_t i = 0; i < alen; i++)
		net[i] = a->bytes[i] & mask[i];
	if (plen && plen % 8 == 0) {
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, offset, plen / 8u, NFT_REG_1);
		e_cmp(rb, NFT_REG_1, op, net, plen / 8u);
		return;
	}
	e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, offset, alen, NFT_REG_1);
	e_bitwise(rb, NFT_REG_1, mask, zero, alen, false);
	e_cmp(rb, NFT_REG_1, op, net, alen);
}

static uint32_t daddr_offset(const struct rs_table *t)
{
	return is_ip6(t) ? IPV6_DADDR : IPV4_DADDR;
}

static uint32_t saddr_offset(const struct rs_table *t)
{
	return is_ip6(t) ? IPV6_SADDR : IPV4_SADDR;
}

/* "ip daddr != 127.0.0.0/8", "ip6 daddr != ::1". */
static void st_not_loopback(struct rule_builder *rb)
{
	struct addr lo = { .family = is_ip6(rb->t) ? AF_INET6 : AF_INET };

	if (is_ip6(rb->t))
		lo.bytes[15] = 1;
	else
		lo.bytes[0] = 127;
	st_prefix(rb, daddr_offset(rb->t), &lo, is_ip6(rb->t) ? 128 : 8, NFT_CMP_NEQ);
}

/* Loads [daddr .] l4proto . dport (. numgen mod) into consecutive slots from reg 1. */
static void load_key(struct rule_builder *rb, bool with_daddr, uint32_t mod)
{
	size_t slot = 0;

	if (with_daddr) {
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, daddr_offset(rb->t), (uint32_t)rs_table_addr_len(rb->t),
			  NFT_REG_1);
		slot = addr_slots(rb->t);
	}
	e_meta_load(rb, NFT_META_L4PROTO, reg_slot(slot));
	e_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, TH_DPORT, 2, reg_slot(slot + 1));
	if (mod)
		e_numgen(rb, reg_slot(slot + 2), mod);
}

/* The map's data is addr . port: the address in reg 1, the port in the slot after it. */
static void st_dnat(struct rule_builder *rb, const struct rs_stmt *st, bool with_daddr)
{
	assert(st->mod > 0);
	load_key(rb, with_daddr, st->mod);
	e_lookup(rb, NFT_REG_1, st->set, NFT_REG_1);
	e_dnat(rb, NFT_REG_1, reg_slot(addr_slots(rb->t)), 0);
}

static void st_set_match(struct rule_builder *rb, const struct rs_stmt *st)
{
	uint32_t alen = (uint32_t)rs_table_addr_len(rb->t);

	if (st->kind == RS_ST_SADDR_DADDR_IN_SET) {
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, saddr_offset(rb->t), alen, NFT_REG_1);
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, daddr_offset(rb->t), alen, reg_slot(addr_slots(rb->t)));
	} else {
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, daddr_offset(rb->t), alen, NFT_REG_1);
	}
	e_lookup(rb, NFT_REG_1, st->set, -1);
}

/* "meta mark set meta mark | m" / "^ m"; the mark is a host-order u32. */
static void st_mark_set(struct rule_builder *rb, uint32_t mask, uint32_t xor)
{
	e_meta_load(rb, NFT_META_MARK, NFT_REG_1);
	e_bitwise_u32(rb, NFT_REG_1, mask, xor, true);
	e_meta_set(rb, NFT_META_MARK, NFT_REG_1);
}

static void st_match(struct rule_builder *rb, const struct rs_stmt *st)
{
	switch (st->kind) {
	case RS_ST_CT_STATE_NEW:
		st_ct_bit(rb, NFT_CT_STATE, NF_CT_STATE_BIT(IP_CT_NEW));
		break;
	case RS_ST_CT_STATUS_DNAT:
		st_ct_bit(rb, NFT_CT_STATUS, IPS_DST_NAT);
		break;
	case RS_ST_FIB_DADDR_LOCAL:
		e_fib(rb, NFTA_FIB_F_DADDR, NFT_FIB_RESULT_ADDRTYPE, NFT_REG_1);
		e_cmp_u32(rb, NFT_REG_1, NFT_CMP_EQ, RTN_LOCAL);
		break;
	case RS_ST_DADDR_NOT_LOOPBACK:
		st_not_loopback(rb);
		break;
	case RS_ST_DADDR_PREFIX:
		st_prefix(rb, daddr_offset(rb->t), &st->prefix, st->prefix_len, NFT_CMP_EQ);
		break;
	case RS_ST_SADDR_NOT_PREFIX:
		st_prefix(rb, saddr_offset(rb->t), &st->prefix, st->prefix_len, NFT_CMP_NEQ);
		break;
	case RS_ST_SADDR_PREFIX:
		st_prefix(rb, saddr_offset(rb->t), &st->prefix, st->prefix_len, NFT_CMP_EQ);
		break;
	case RS_ST_L4PROTO:
		e_meta_load(rb, NFT_META_L4PROTO, NFT_REG_1);
		e_cmp(rb, NFT_REG_1, NFT_CMP_EQ, &st->proto, 1);
		break;
	case RS_ST_MARK_CLEAR_TEST:
		e_meta_load(rb, NFT_META_MARK, NFT_REG_1);
		e_bitwise_u32(rb, NFT_REG_1, st->mark, 0, true);
		e_cmp_u32(rb, NFT_REG_1, NFT_CMP_EQ, 0);
		break;
	default:
		st_set_match(rb, st);
	}
}

static void st_build(struct rule_builder *rb, const struct rs_stmt *st)
{
	bool ip6 = is_ip6(rb->t);

	switch (st->kind) {
	case RS_ST_MARK_OR:
		st_mark_set(rb, ~st->mark, st->mark);
		break;
	case RS_ST_MARK_XOR:
		st_mark_set(rb, UINT32_MAX, st->mark);
		break;
	case RS_ST_VMAP_DADDR_PROTO_DPORT:
	case RS_ST_VMAP_PROTO_DPORT:
		load_key(rb, st->kind == RS_ST_VMAP_DADDR_PROTO_DPORT, 0);
		e_lookup(rb, NFT_REG_1, st->set, NFT_REG_VERDICT);
		break;
	case RS_ST_DADDR_PROTO_DPORT_IN_SET:
	case RS_ST_PROTO_DPORT_IN_SET:
		load_key(rb, st->kind == RS_ST_DADDR_PROTO_DPORT_IN_SET, 0);
		e_lookup(rb, NFT_REG_1, st->set, -1);
		break;
	case RS_ST_SADDR_IN_SET:
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, saddr_offset(rb->t), (uint32_t)rs_table_addr_len(rb->t), NFT_REG_1);
		e_lookup(rb, NFT_REG_1, st->set, -1);
		break;
	case RS_ST_UPDATE_SADDR:
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, saddr_offset(rb->t), (uint32_t)rs_table_addr_len(rb->t), NFT_REG_1);
		e_dynset_update(rb, NFT_REG_1, st->set);
		break;
	case RS_ST_NUMGEN_ZERO:
		e_numgen(rb, NFT_REG_1, st->mod);
		e_cmp_u32(rb, NFT_REG_1, NFT_CMP_EQ, 0);
		break;
	case RS_ST_DNAT_TO: {
		uint8_t port[2] = { (uint8_t)(st->port >> 8), (uint8_t)st->port };

		e_immediate_data(rb, NFT_REG_1, st->to_addr.bytes, (uint32_t)rs_table_addr_len(rb->t));
		e_immediate_data(rb, NFT_REG_2, port, 2);
		e_dnat(rb, NFT_REG_1, NFT_REG_2, NF_NAT_RANGE_PROTO_SPECIFIED);
		break;
	}
	case RS_ST_DADDR_EQ:
		e_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, daddr_offset(rb->t), (uint32_t)rs_table_addr_len(rb->t), NFT_REG_1);
		e_cmp(rb, NFT_REG_1, NFT_CMP_EQ, st->prefix.bytes, (uint32_t)rs_table_addr_len(rb->t));
		break;
	case RS_ST_DPORT_EQ: {
		uint8_t port[2] = { (uint8_t)(st->port >> 8), (uint8_t)st->port };

		e_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, TH_DPORT, 2, NFT_REG_1);
		e_cmp(rb, NFT_REG_1, NFT_CMP_EQ, port, 2);
		break;
	}
	case RS_ST_DNAT_DADDR_PROTO_DPORT_NG:
	case RS_ST_DNAT_PROTO_DPORT_NG:
		st_dnat(rb, st, st->kind == RS_ST_DNAT_DADDR_PROTO_DPORT_NG);
		break;
	case RS_ST_MASQUERADE:
		e_masq(rb, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
		break;
	case RS_ST_REJECT_TCP_RESET:
		e_reject(rb, NFT_REJECT_TCP_RST, 0);
		break;
	case RS_ST_REJECT:
		e_reject(rb, NFT_REJECT_ICMP_UNREACH, ip6 ? ICMPV6_PORT_UNREACHABLE : ICMP_PORT_UNREACHABLE);
		break;
	case RS_ST_COUNTER:
		e_counter(rb);
		break;
	case RS_ST_VERDICT:
		e_immediate_verdict(rb, st->verdict, st->chain);
		break;
	default:
		st_match(rb, st);
	}
}

struct nftnl_rule *nlbuild_rule(const struct rs_table *t, const struct rs_chain *c, const struct rs_rule *r)
{
	struct rule_builder rb = { .r = nftnl_rule_alloc(), .t = t };

	if (!rb.r)
		return NULL;
	nftnl_rule_set_u32(rb.r, NFTNL_RULE_FAMILY, (uint32_t)t->family);
	if (nftnl_rule_set_str(rb.r, NFTNL_RULE_TABLE, t->name) < 0 ||
	    nftnl_rule_set_str(rb.r, NFTNL_RULE_CHAIN, c->name) < 0)
		rb.err = -ENOMEM;
	for (size_t i = 0; i < r->n_stmts && !rb.err; i++)
		st_build(&rb, &r->stmts[i]);
	if (!rb.err)
		rb.err = set_comment_udata(r->comment, NFTNL_UDATA_RULE_COMMENT, rb.r, rule_set_data,
					   NFTNL_RULE_USERDATA);
	if (rb.err) {
		nftnl_rule_free(rb.r);
		return NULL;
	}
	return rb.r;
}

/* ---- sets ---- */

struct set_layout {
	uint32_t flags;			/* NFT_SET_* */
	uint8_t key_dt[4], data_dt[2];	/* nft datatypes of the fields */
	size_t n_key, n_data;		/* n_data 0: no data or verdict */
	bool concat;			/* the key is a concatenation */
	bool typeof_;			/* declared with typeof: nft stores the expressions */
	bool with_daddr;		/* typeof key starts with "ip daddr" */
};

static struct set_layout set_layout(const struct rs_table *t, enum rs_set_kind kind)
{
	uint8_t at = is_ip6(t) ? DT_IP6ADDR : DT_IPADDR;

	switch (kind) {
	case RS_SET_ADDR_PROTO_PORT_VMAP:
		return (struct set_layout){ .flags = NFT_SET_MAP, .key_dt = { at, DT_INET_PROTO, DT_INET_SERVICE },
					    .n_key = 3, .concat = true };
	case RS_SET_PROTO_PORT_VMAP:
		return (struct set_layout){ .flags = NFT_SET_MAP, .key_dt = { DT_INET_PROTO, DT_INET_SERVICE },
					    .n_key = 2, .concat = true };
	case RS_SET_ADDR_PROTO_PORT_INDEX_MAP:
		return (struct set_layout){ .flags = NFT_SET_MAP,
					    .key_dt = { at, DT_INET_PROTO, DT_INET_SERVICE, DT_INTEGER }, .n_key = 4,
					    .data_dt = { at, DT_INET_SERVICE }, .n_data = 2,
					    .concat = true, .typeof_ = true, .with_daddr = true };
	case RS_SET_PROTO_PORT_INDEX_MAP:
		return (struct set_layout){ .flags = NFT_SET_MAP,
					    .key_dt = { DT_INET_PROTO, DT_INET_SERVICE, DT_INTEGER }, .n_key = 3,
					    .data_dt = { at, DT_INET_SERVICE }, .n_data = 2,
					    .concat = true, .typeof_ = true };
	case RS_SET_ADDR:
		return (struct set_layout){ .key_dt = { at }, .n_key = 1 };
	case RS_SET_ADDR_ADDR:
		return (struct set_layout){ .key_dt = { at, at }, .n_key = 2, .concat = true };
	case RS_SET_PREFIX:
		return (struct set_layout){ .flags = NFT_SET_INTERVAL, .key_dt = { at }, .n_key = 1 };
	case RS_SET_ADDR_PROTO_PORT:
		return (struct set_layout){ .key_dt = { at, DT_INET_PROTO, DT_INET_SERVICE }, .n_key = 3, .concat = true };
	case RS_SET_PROTO_PORT:
		return (struct set_layout){ .key_dt = { DT_INET_PROTO, DT_INET_SERVICE }, .n_key = 2, .concat = true };
	case RS_SET_ADDR_DYNAMIC:
		return (struct set_layout){ .flags = NFT_SET_TIMEOUT | NFT_SET_EVAL, .key_dt = { at }, .n_key = 1 };
	}
	assert(!"unknown set kind");
	return (struct set_layout){ .n_key = 0 };
}

/* A concatenation's type for nft: each datatype in 6 bits, the first field highest. */
static uint32_t concat_type(const uint8_t *dt, size_t n)
{
	uint32_t type = 0;

	for (size_t i = 0; i < n; i++)
		type = type << DT_BITS | dt[i];
	return type;
}

/* Length of concatenated fields: each padded to 4 bytes; addresses 4 or 16. */
static uint32_t concat_len(const uint8_t *dt, size_t n)
{
	uint32_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += dt[i] == DT_IP6ADDR ? 16 : 4;
	return len;
}

static void put_typeof_field(struct nftnl_udata_buf *u, const struct rs_table *t, enum field f)
{
	struct nftnl_udata *data;

	static const uint32_t sub_type[] = { [F_DADDR] = EXPR_PAYLOAD, [F_L4PROTO] = EXPR_META,
					     [F_DPORT] = EXPR_PAYLOAD, [F_NUMGEN] = EXPR_NUMGEN };

	nftnl_udata_put_u32(u, UD_CONCAT_SUB_TYPE, sub_type[f]);
	data = nftnl_udata_nest_start(u, UD_CONCAT_SUB_DATA);
	switch (f) {
	case F_DADDR:
		nftnl_udata_put_u32(u, UD_PAYLOAD_DESC, is_ip6(t) ? PROTO_DESC_IP6 : PROTO_DESC_IP);
		nftnl_udata_put_u32(u, UD_PAYLOAD_TYPE, is_ip6(t) ? IP6HDR_DADDR : IPHDR_DADDR);
		break;
	case F_L4PROTO:
		nftnl_udata_put_u32(u, UD_META_KEY, NFT_META_L4PROTO);
		break;
	case F_DPORT:
		nftnl_udata_put_u32(u, UD_PAYLOAD_DESC, PROTO_DESC_TH);
		nftnl_udata_put_u32(u, UD_PAYLOAD_TYPE, THDR_DPORT);
		break;
	case F_NUMGEN:	/* "numgen random mod 1": the modulus of a typeof is a placeholder */
		nftnl_udata_put_u32(u, UD_NUMGEN_TYPE, NFT_NG_RANDOM);
		nftnl_udata_put_u32(u, UD_NUMGEN_MOD, 1);
		nftnl_udata_put_u32(u, UD_NUMGEN_OFFSET, 0);
		break;
	}
	nftnl_udata_nest_end(u, data);
}

/*
 * A concatenation's description: { TYPEOF_EXPR = concat, TYPEOF_DATA = one
 * nest per field }.  For a set declared with "type a . b" nft stores the same
 * with no fields at all.
 */
static void put_typeof(struct nftnl_udata_buf *u, uint8_t attr, const struct rs_table *t, const enum field *fields,
		       size_t n)
{
	struct nftnl_udata *outer = nftnl_udata_nest_start(u, attr), *data;

	nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, EXPR_CONCAT);
	data = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA);
	for (size_t i = 0; i < n; i++) {
		struct nftnl_udata *nest = nftnl_udata_nest_start(u, (uint8_t)i);

		put_typeof_field(u, t, fields[i]);
		nftnl_udata_nest_end(u, nest);
	}
	nftnl_udata_nest_end(u, data);
	nftnl_udata_nest_end(u, outer);
}

/*
 * The set's user data, in nft's order: key byte order, data byte order (maps),
 * key typeof (concatenations), data typeof (typeof maps), data interval
 * (maps), comment.
 */
static bool put_set_udata(struct nftnl_udata_buf *u, const struct rs_table *t, const struct rs_set *s,
			  const struct set_layout *l)
{
	static const enum field key_full[] = { F_DADDR, F_L4PROTO, F_DPORT, F_NUMGEN };
	static const enum field data[] = { F_DADDR, F_DPORT };
	bool map = l->flags & NFT_SET_MAP;
	bool ok = nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, l->concat ? BO_INVALID : BO_BIG_ENDIAN);

	if (map)
		ok = ok && nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATABYTEORDER, BO_INVALID);
	if (l->concat && l->typeof_)
		put_typeof(u, NFTNL_UDATA_SET_KEY_TYPEOF, t, key_full + !l->with_daddr, l->n_key);
	else if (l->concat)
		put_typeof(u, NFTNL_UDATA_SET_KEY_TYPEOF, t, NULL, 0);
	if (l->typeof_)
		put_typeof(u, NFTNL_UDATA_SET_DATA_TYPEOF, t, data, 2);
	if (map)
		ok = ok && nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
	ok = ok && put_comment(u, NFTNL_UDATA_SET_COMMENT, s->comment, RS_SET_COMMENT_MAX);
	/* The nest helpers do not report overflow; the buffer is sized so none can happen. */
	return ok && nftnl_udata_buf_len(u) <= USERDATA_MAX;
}

struct nftnl_set *nlbuild_set_ref(const struct rs_table *t, const struct rs_set *s)
{
	struct nftnl_set *ns = nftnl_set_alloc();

	if (!ns)
		return NULL;
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, (uint32_t)t->family);
	if (nftnl_set_set_str(ns, NFTNL_SET_TABLE, t->name) < 0 || nftnl_set_set_str(ns, NFTNL_SET_NAME, s->name) < 0) {
		nftnl_set_free(ns);
		return NULL;
	}
	return ns;
}

struct nftnl_set *nlbuild_set(const struct rs_table *t, const struct rs_set *s)
{
	struct set_layout l = set_layout(t, s->kind);
	struct nftnl_set *ns = nlbuild_set_ref(t, s);
	/* Room to spare: put_set_udata checks the kernel's limit itself. */
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(2 * USERDATA_MAX);
	bool ok = ns && u;

	if (ok) {
		/*
		 * The kernel requires NFTA_SET_ID on NEWSET (EINVAL without): an id
		 * unique in the batch, which nothing else here uses (lookups and
		 * element lists name the set).  Derived from the set's position.
		 */
		nftnl_set_set_u32(ns, NFTNL_SET_ID, (uint32_t)t->family << 16 | (uint32_t)(s - t->sets + 1));
		nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, l.flags);
		nftnl_set_set_u32(ns, NFTNL_SET_KEY_TYPE, concat_type(l.key_dt, l.n_key));
		nftnl_set_set_u32(ns, NFTNL_SET_KEY_LEN, concat_len(l.key_dt, l.n_key));
		if (s->size)
			nftnl_set_set_u32(ns, NFTNL_SET_DESC_SIZE, s->size);
		if (l.flags & NFT_SET_TIMEOUT)
			nftnl_set_set_u64(ns, NFTNL_SET_TIMEOUT, (uint64_t)s->timeout * 1000);
		if (l.flags & NFT_SET_MAP) {
			bool vmap = rs_set_kind_is_vmap(s->kind);

			nftnl_set_set_u32(ns, NFTNL_SET_DATA_TYPE, vmap ? NFT_DATA_VERDICT : concat_type(l.data_dt, l.n_data));
			nftnl_set_set_u32(ns, NFTNL_SET_DATA_LEN, vmap ? 0 : concat_len(l.data_dt, l.n_data));
		}
		bool udata_ok = put_set_udata(u, t, s, &l);

		/* "counter" in the declaration: the kernel gives every element a counter (NFTA_SET_EXPR). */
		if (s->counter) {
			struct nftnl_expr *ctr = nftnl_expr_alloc("counter");

			if (!ctr)
				udata_ok = false;
			else
				nftnl_set_add_expr(ns, ctr);	/* the set takes the expression */
		}

		assert(udata_ok);	/* RS_SET_COMMENT_MAX keeps it under the kernel's limit */
		ok = udata_ok &&
		     nftnl_set_set_data(ns, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u)) == 0;
	}
	if (u)
		nftnl_udata_buf_free(u);
	if (!ok) {
		nftnl_set_free(ns);
		return NULL;
	}
	return ns;
}

/* ---- elements ---- */

static int elem_set_verdict_or_data(struct nftnl_set_elem *ne, const struct rs_table *t, const struct rs_set *s,
				    const struct rs_elem *e)
{
	uint8_t data[RS_KEY_MAX];
	size_t len;

	if (rs_set_kind_is_vmap(s->kind)) {
		nftnl_set_elem_set_u32(ne, NFTNL_SET_ELEM_VERDICT, (uint32_t)verdict_code(e->verdict));
		if (e->verdict == RS_VERDICT_JUMP || e->verdict == RS_VERDICT_GOTO)
			return e->chain && nftnl_set_elem_set_str(ne, NFTNL_SET_ELEM_CHAIN, e->chain) == 0 ? 0 : -ENOMEM;
		return 0;
	}
	len = rs_elem_data(t, s, e, data);
	if (len && nftnl_set_elem_set(ne, NFTNL_SET_ELEM_DATA, data, (uint32_t)len) < 0)
		return -ENOMEM;
	return 0;
}

struct nftnl_set_elem *nlbuild_elem(const struct rs_table *t, const struct rs_set *s, const struct rs_elem *e,
				    bool key_only)
{
	struct nftnl_set_elem *ne = nftnl_set_elem_alloc();
	uint8_t key[RS_KEY_MAX];
	size_t len = rs_elem_key(t, s, e, key);

	if (!ne)
		return NULL;
	if (nftnl_set_elem_set(ne, NFTNL_SET_ELEM_KEY, key, (uint32_t)len) < 0 ||
	    (!key_only && elem_set_verdict_or_data(ne, t, s, e) < 0) ||
	    set_comment_udata(e->comment, NFTNL_UDATA_SET_ELEM_COMMENT, ne, elem_set_data,
			      NFTNL_SET_ELEM_USERDATA) < 0) {
		nftnl_set_elem_free(ne);
		return NULL;
	}
	return ne;
}

/* An interval end: key only, flagged NFT_SET_ELEM_INTERVAL_END. */
static int add_interval_end(struct nftnl_set *ns, const uint8_t *key, size_t len)
{
	struct nftnl_set_elem *ne = nftnl_set_elem_alloc();

	if (!ne)
		return -ENOMEM;
	if (nftnl_set_elem_set(ne, NFTNL_SET_ELEM_KEY, key, (uint32_t)len) < 0) {
		nftnl_set_elem_free(ne);
		return -ENOMEM;
	}
	nftnl_set_elem_set_u32(ne, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(ns, ne);	/* the set owns ne now */
	return 0;
}

int nlbuild_set_add_elem(struct nftnl_set *ns, const struct rs_table *t, const struct rs_set *s,
			 const struct rs_elem *e, bool key_only)
{
	struct nftnl_set_elem *ne = nlbuild_elem(t, s, e, key_only);
	uint8_t end[RS_KEY_MAX];
	size_t len;

	if (!ne)
		return -ENOMEM;
	nftnl_set_elem_add(ns, ne);	/* the set owns ne now */
	if (s->kind != RS_SET_PREFIX)
		return 0;
	len = rs_elem_key_end(t, e, end);
	return len ? add_interval_end(ns, end, len) : 0;
}

/*
 * nft opens an interval set's element list with an end element at the zero
 * address unless some interval starts there (a convention older rbtree
 * kernels needed); kept so that the kernel holds what nft would give it.
 */
static int add_leading_zero_end(struct nftnl_set *ns, const struct rs_table *t, const struct rs_set *s)
{
	static const uint8_t zero[16];
	size_t alen = rs_table_addr_len(t);

	for (size_t i = 0; i < s->n_elems; i++) {
		uint8_t key[RS_KEY_MAX];

		rs_elem_key(t, s, &s->elems[i], key);
		if (!memcmp(key, zero, alen))
			return 0;
	}
	return add_interval_end(ns, zero, alen);
}

/* ---- the full load ---- */

static const char *set_word(const struct rs_set *s)
{
	return rs_set_kind_is_map(s->kind) ? "map" : "set";
}

/* The elements in chunks, each freed once serialised (see NLBUILD_ELEM_CHUNK). */
static int add_set_elems(struct nlbatch *b, const struct rs_table *t, const struct rs_set *s)
{
	char what[NLBATCH_TEXT_MAX];
	size_t base = 0;
	int ret = 0;

	snprintf(what, sizeof(what), "%s '%s'", set_word(s), s->name);
	for (size_t i = 0; i < s->n_elems && !ret; i += NLBUILD_ELEM_CHUNK) {
		size_t end = s->n_elems - i < NLBUILD_ELEM_CHUNK ? s->n_elems : i + NLBUILD_ELEM_CHUNK;
		struct nftnl_set *ns = nlbuild_set_ref(t, s);

		if (!ns)
			return -ENOMEM;
		if (i == 0 && s->kind == RS_SET_PREFIX)
			ret = add_leading_zero_end(ns, t, s);
		for (size_t k = i; k < end && !ret; k++)
			ret = nlbuild_set_add_elem(ns, t, s, &s->elems[k], false);
		if (!ret)
			ret = nlbatch_add_setelems(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, ns, what, &base);
		nftnl_set_free(ns);
	}
	return ret;
}

static int add_set(struct nlbatch *b, const struct rs_table *t, const struct rs_set *s)
{
	struct nftnl_set *ns = nlbuild_set(t, s);
	char what[NLBATCH_TEXT_MAX];
	int ret;

	if (!ns)
		return -ENOMEM;
	snprintf(what, sizeof(what), "%s '%s'", set_word(s), s->name);
	ret = nlbatch_add_set(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, ns, what);
	nftnl_set_free(ns);
	return ret ? ret : add_set_elems(b, t, s);
}

static int add_chain(struct nlbatch *b, const struct rs_table *t, const struct rs_chain *c)
{
	struct nftnl_chain *nc = nlbuild_chain(t, c);
	char what[NLBATCH_TEXT_MAX];
	int ret;

	if (!nc)
		return -ENOMEM;
	snprintf(what, sizeof(what), "chain '%s'", c->name);
	ret = nlbatch_add_chain(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL, nc, what);
	nftnl_chain_free(nc);
	return ret;
}

static int add_rules(struct nlbatch *b, const struct rs_table *t, const struct rs_chain *c)
{
	char what[NLBATCH_TEXT_MAX];

	for (size_t i = 0; i < c->n_rules; i++) {
		const struct rs_rule *r = &c->rules[i];
		struct nftnl_rule *nr = nlbuild_rule(t, c, r);
		int ret;

		if (!nr)
			return -ENOMEM;
		snprintf(what, sizeof(what), "rule %zu of chain '%s'%s%s%s", i + 1, c->name,
			 r->comment ? " (\"" : "", r->comment ? r->comment : "", r->comment ? "\")" : "");
		ret = nlbatch_add_rule(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, nr, what);
		nftnl_rule_free(nr);
		if (ret)
			return ret;
	}
	return 0;
}

/* NEWTABLE (create if missing, so the delete cannot fail), DELTABLE, NEWTABLE with the comment. */
static int add_table_replace(struct nlbatch *b, const struct rs_table *t)
{
	struct nftnl_table *ensure = nlbuild_table(t, false), *ref = table_ref(t), *fresh = nlbuild_table(t, true);
	char what[NLBATCH_TEXT_MAX];
	int ret = -ENOMEM;

	snprintf(what, sizeof(what), "table %s %s", t->family == NFPROTO_IPV6 ? "ip6" : "ip", t->name);
	if (ensure && ref && fresh) {
		ret = nlbatch_add_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE, ensure, what);
		if (!ret)
			ret = nlbatch_add_table(b, NFT_MSG_DELTABLE, 0, ref, what);
		if (!ret)
			ret = nlbatch_add_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, fresh, what);
	}
	if (ensure)
		nftnl_table_free(ensure);
	if (ref)
		nftnl_table_free(ref);
	if (fresh)
		nftnl_table_free(fresh);
	return ret;
}

static int load_table(const struct rs_table *t, struct nlbatch *b)
{
	int ret = add_table_replace(b, t);

	/* Chains first, all empty: every element and rule that names a chain comes later. */
	for (size_t i = 0; i < t->n_chains && !ret; i++)
		ret = add_chain(b, t, &t->chains[i]);
	for (size_t i = 0; i < t->n_sets && !ret; i++)
		ret = add_set(b, t, &t->sets[i]);
	for (size_t i = 0; i < t->n_chains && !ret; i++)
		ret = add_rules(b, t, &t->chains[i]);
	return ret;
}

int nlbuild_load_full(const struct ruleset *rs, struct nlbatch *b)
{
	for (size_t i = 0; i < rs->n_tables; i++) {
		int ret = load_table(&rs->tables[i], b);

		if (ret)
			return ret;
	}
	return 0;
}
