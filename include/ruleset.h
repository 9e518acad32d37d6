/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ruleset description: the single intermediate form between the
 * compiler and the two back ends (the nft script printer and the netlink
 * batch builder), so a dry run and the kernel can never disagree.
 *
 * The design (see svcnat(8), "RULESET LAYOUT") keeps the number of kernel
 * objects constant: per-service data lives in map elements, and the only
 * chains that vary are one per distinct endpoint count K, which hold the
 * "numgen random mod K" DNAT.  Sets, chains and rules therefore come from a
 * small fixed vocabulary, enumerated here.
 */
#ifndef SVCNAT_RULESET_H
#define SVCNAT_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "addr.h"

/* The kinds of set and map svcnat creates; each fixes key and data layout. */
enum rs_set_kind {
	/* daddr . l4proto . dport : verdict     (type ipv4_addr . inet_proto . inet_service : verdict) */
	RS_SET_ADDR_PROTO_PORT_VMAP,
	/* l4proto . dport : verdict             (type inet_proto . inet_service : verdict) */
	RS_SET_PROTO_PORT_VMAP,
	/* daddr . l4proto . dport . index : addr . port
	 * (typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport) */
	RS_SET_ADDR_PROTO_PORT_INDEX_MAP,
	/* l4proto . dport . index : addr . port
	 * (typeof meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport) */
	RS_SET_PROTO_PORT_INDEX_MAP,
	/* addr                                   (type ipv4_addr) */
	RS_SET_ADDR,
	/* saddr . daddr                          (type ipv4_addr . ipv4_addr) */
	RS_SET_ADDR_ADDR,
	/* addr prefixes                          (type ipv4_addr; flags interval) */
	RS_SET_PREFIX,
};

enum rs_verdict {
	RS_VERDICT_NONE,	/* not a verdict map */
	RS_VERDICT_ACCEPT,
	RS_VERDICT_DROP,
	RS_VERDICT_RETURN,
	RS_VERDICT_JUMP,
	RS_VERDICT_GOTO,
};

/*
 * One element. Which fields count depends on the set kind:
 *   key:  addr, proto, port, index, addr2 (RS_SET_ADDR_ADDR), prefix_len (RS_SET_PREFIX)
 *   data: to_addr . to_port (index maps) or verdict + chain (verdict maps)
 */
struct rs_elem {
	struct addr addr;
	struct addr addr2;
	uint8_t prefix_len;
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP */
	uint16_t port;		/* host order */
	uint32_t index;		/* numgen slot, 0..K-1 */
	struct addr to_addr;
	uint16_t to_port;	/* host order */
	enum rs_verdict verdict;
	const char *chain;	/* JUMP/GOTO target */
	const char *comment;	/* NULL: none; shown by nft list as comment "..." */
};

struct rs_set {
	const char *name;
	enum rs_set_kind kind;
	const char *comment;
	struct rs_elem *elems;
	size_t n_elems, cap_elems;
};

/* Statements: the small vocabulary of rule pieces the design needs. */
enum rs_stmt_kind {
	RS_ST_CT_STATE_NEW,		/* ct state new */
	RS_ST_CT_STATUS_DNAT,		/* ct status dnat */
	RS_ST_FIB_DADDR_LOCAL,		/* fib daddr type local */
	RS_ST_DADDR_NOT_LOOPBACK,	/* ip daddr != 127.0.0.0/8   (ip6: ip6 daddr != ::1) */
	RS_ST_DADDR_PREFIX,		/* ip daddr <prefix> */
	RS_ST_SADDR_NOT_PREFIX,		/* ip saddr != <prefix> */
	RS_ST_DADDR_IN_SET,		/* ip daddr @<set> */
	RS_ST_SADDR_DADDR_IN_SET,	/* ip saddr . ip daddr @<set> */
	RS_ST_L4PROTO,			/* meta l4proto <proto> */
	RS_ST_MARK_CLEAR_TEST,		/* meta mark & <mark> == 0 */
	RS_ST_MARK_OR,			/* meta mark set meta mark | <mark> */
	RS_ST_MARK_XOR,			/* meta mark set meta mark ^ <mark> */
	RS_ST_VMAP_DADDR_PROTO_DPORT,	/* ip daddr . meta l4proto . th dport vmap @<set> */
	RS_ST_VMAP_PROTO_DPORT,		/* meta l4proto . th dport vmap @<set> */
	RS_ST_DNAT_DADDR_PROTO_DPORT_NG, /* dnat ip to ip daddr . meta l4proto . th dport . numgen random mod <mod> map @<set> */
	RS_ST_DNAT_PROTO_DPORT_NG,	/* dnat ip to meta l4proto . th dport . numgen random mod <mod> map @<set> */
	RS_ST_MASQUERADE,		/* masquerade fully-random */
	RS_ST_REJECT_TCP_RESET,		/* reject with tcp reset (after meta l4proto tcp) */
	RS_ST_REJECT,			/* reject (ICMP port unreachable) */
	RS_ST_COUNTER,			/* counter */
	RS_ST_VERDICT,			/* accept | drop | return | jump <chain> | goto <chain> */
};

struct rs_stmt {
	enum rs_stmt_kind kind;
	const char *set;		/* *_IN_SET, VMAP_*, DNAT_* */
	struct addr prefix;		/* *_PREFIX */
	uint8_t prefix_len;
	uint8_t proto;			/* RS_ST_L4PROTO */
	uint32_t mark;			/* MARK_* */
	uint32_t mod;			/* DNAT_*: numgen modulus */
	enum rs_verdict verdict;	/* RS_ST_VERDICT */
	const char *chain;		/* RS_ST_VERDICT jump/goto */
};

#define RS_MAX_STMTS 8

struct rs_rule {
	struct rs_stmt stmts[RS_MAX_STMTS];
	size_t n_stmts;
	const char *comment;
};

enum rs_hook {
	RS_HOOK_NONE = -1,	/* regular chain */
	RS_HOOK_PREROUTING = 0,
	RS_HOOK_INPUT = 1,
	RS_HOOK_FORWARD = 2,
	RS_HOOK_OUTPUT = 3,
	RS_HOOK_POSTROUTING = 4,
};

enum rs_chain_type {
	RS_CHAIN_FILTER,
	RS_CHAIN_NAT,
};

struct rs_chain {
	const char *name;
	const char *comment;
	enum rs_hook hook;		/* RS_HOOK_NONE for a regular chain */
	enum rs_chain_type type;	/* base chains only */
	int32_t priority;		/* base chains only; policy is always accept */
	struct rs_rule *rules;
	size_t n_rules, cap_rules;
};

struct rs_table {
	int family;			/* NFPROTO_IPV4 or NFPROTO_IPV6 */
	const char *name;
	const char *comment;
	/* Order matters: sets first, then chains in an order where every jump/goto target precedes its user. */
	struct rs_set *sets;
	size_t n_sets, cap_sets;
	struct rs_chain *chains;
	size_t n_chains, cap_chains;
};

struct ruleset {
	struct arena arena;		/* names, comments, arrays */
	struct rs_table *tables;
	size_t n_tables, cap_tables;
};

struct ruleset *ruleset_new(void);
void ruleset_free(struct ruleset *rs);

/* Builders; all return NULL only on out-of-memory. Strings are copied into the arena. */
struct rs_table *ruleset_add_table(struct ruleset *rs, int family, const char *name, const char *comment);
struct rs_set *rs_table_add_set(struct ruleset *rs, struct rs_table *t, const char *name,
				enum rs_set_kind kind, const char *comment);
struct rs_elem *rs_set_add_elem(struct ruleset *rs, struct rs_set *s);
struct rs_chain *rs_table_add_chain(struct ruleset *rs, struct rs_table *t, const char *name,
				    const char *comment);
struct rs_chain *rs_table_add_base_chain(struct ruleset *rs, struct rs_table *t, const char *name,
					 enum rs_chain_type type, enum rs_hook hook, int32_t priority,
					 const char *comment);
struct rs_rule *rs_chain_add_rule(struct ruleset *rs, struct rs_chain *c, const char *comment);
struct rs_stmt *rs_rule_add_stmt(struct rs_rule *r, enum rs_stmt_kind kind);

struct rs_set *rs_table_find_set(const struct rs_table *t, const char *name);
struct rs_chain *rs_table_find_chain(const struct rs_table *t, const char *name);

/*
 * Key and data as the kernel stores them: concatenated fields each padded
 * to a 4-byte register slot, payload fields in network order, meta/numgen
 * values in host order.  Returns the length written (at most RS_KEY_MAX).
 */
#define RS_KEY_MAX 64
size_t rs_elem_key(const struct rs_table *t, const struct rs_set *s, const struct rs_elem *e, uint8_t *buf);
size_t rs_elem_data(const struct rs_table *t, const struct rs_set *s, const struct rs_elem *e, uint8_t *buf);
/* Sorts each set's elements by key bytes, for reproducible output and merge diffs. */
void ruleset_sort(struct ruleset *rs);

#endif
