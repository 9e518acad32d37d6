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
#include <stdio.h>

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
	/* daddr . l4proto . dport                (type ipv4_addr . inet_proto . inet_service) */
	RS_SET_ADDR_PROTO_PORT,
	/* l4proto . dport                        (type inet_proto . inet_service) */
	RS_SET_PROTO_PORT,
	/* saddr, filled by the kernel            (type ipv4_addr; flags dynamic,timeout; timeout T) */
	RS_SET_ADDR_DYNAMIC,
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
	bool counter;		/* every element counts the packets and bytes that match it ("counter") */
	uint32_t timeout;	/* RS_SET_ADDR_DYNAMIC: seconds an element lives unless refreshed */
	uint32_t size;		/* "size N": the kernel holds at most N elements; 0 = no limit */
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
	RS_ST_DADDR_PROTO_DPORT_IN_SET,	/* ip daddr . meta l4proto . th dport @<set> */
	RS_ST_PROTO_DPORT_IN_SET,	/* meta l4proto . th dport @<set> */
	RS_ST_SADDR_IN_SET,		/* ip saddr @<set> */
	RS_ST_UPDATE_SADDR,		/* update @<set> { ip saddr } */
	RS_ST_NUMGEN_ZERO,		/* numgen random mod <mod> 0 */
	RS_ST_DNAT_TO,			/* dnat ip to <to_addr>:<to_port> (after meta l4proto) */
	RS_ST_DADDR_EQ,			/* ip daddr <prefix> (a single address: prefix_len 32/128) */
	RS_ST_DPORT_EQ,			/* th dport <port> */
	RS_ST_SADDR_PREFIX,		/* ip saddr <prefix> */
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
	struct addr to_addr;		/* RS_ST_DNAT_TO */
	uint16_t port;			/* RS_ST_DNAT_TO, RS_ST_DPORT_EQ: host order */
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
	struct arena arena;		/* names and comments; the arrays are malloc'd */
	struct rs_table *tables;
	size_t n_tables, cap_tables;
};

/*
 * Limits.  Tables and sets live in arrays allocated once at full capacity, so
 * a struct rs_table * or struct rs_set * stays valid for the life of the
 * ruleset (the compiler keeps pointers to several sets while it fills them).
 * Chains, rules and elements live in arrays that grow: a pointer to one of
 * them is valid only until the next add to the same array.
 */
#define RS_MAX_TABLES 4
#define RS_MAX_SETS 8192	/* per table: a fixed handful, plus one per session-affinity endpoint */
/*
 * nft refuses a comment longer than 128 bytes (NFTNL_UDATA_COMMENT_MAXLEN).
 * A set's whole user data is capped at 256 bytes by the kernel
 * (NFT_USERDATA_MAXLEN, ERANGE beyond); the typeof description of an ip6
 * index map takes 170 of them, leaving 83 for the comment: use 80.
 */
#define RS_COMMENT_MAX 128
#define RS_SET_COMMENT_MAX 80

struct ruleset *ruleset_new(void);
void ruleset_free(struct ruleset *rs);

/*
 * Builders; all return NULL only on out-of-memory (or, a programming error
 * caught by assert(), when a fixed limit above is exceeded).  Strings are
 * copied into the arena; comments are sanitised on the way (see
 * rs_comment_sanitize), and an empty comment is stored as NULL.
 */
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
/*
 * Sorts each set's elements by key bytes (memcmp), for reproducible output
 * and merge diffs.  Ties (equal keys) keep a deterministic order: shorter
 * prefix first, then the order of insertion.  Note that host-order fields
 * (the numgen index) make the byte order differ from numeric order above 255.
 */
void ruleset_sort(struct ruleset *rs);

/* Copies a sanitised comment into the arena: 0, or -ENOMEM. */
int rs_elem_set_comment(struct ruleset *rs, struct rs_elem *e, const char *comment);

/*
 * Makes a comment safe for both back ends, which must agree byte for byte:
 * nft's quoted strings have no escapes at all, so '"' becomes '\'', '\\'
 * becomes '/', control characters become spaces, invalid UTF-8 becomes '?',
 * and the result is cut to at most max bytes (RS_COMMENT_MAX or
 * RS_SET_COMMENT_MAX) without splitting a UTF-8 sequence.  out must hold
 * max + 1 bytes.  Returns the length written.  Idempotent.
 */
size_t rs_comment_sanitize(char *out, size_t max, const char *in);

/*
 * Gives each set svcnat fills a size: twice its elements, rounded up to a
 * power of two, at least RS_SET_MIN_SIZE.  A set with a size is a hash table
 * of fixed width that the kernel never resizes (unsized, it grows by rehashing
 * as elements arrive: an eighth of a cold load at 10,000 services); the size
 * is also a limit, which apply checks before every change (diff.c).
 */
#define RS_SET_MIN_SIZE 256
void ruleset_size_sets(struct ruleset *rs);
bool rs_set_kind_is_map(enum rs_set_kind kind);		/* has data (verdict or addr . port) */
bool rs_set_kind_is_vmap(enum rs_set_kind kind);
size_t rs_table_addr_len(const struct rs_table *t);	/* 4 (ip) or 16 (ip6) */

/*
 * For RS_SET_PREFIX: the kernel stores a prefix as an interval, the start
 * (rs_elem_key) and an end element flagged NFT_SET_ELEM_INTERVAL_END whose
 * key is the first address after the prefix.  Writes that key and returns its
 * length, or returns 0 when the prefix reaches the top of the address space
 * (then there is no end element, as nft does it).
 */
size_t rs_elem_key_end(const struct rs_table *t, const struct rs_elem *e, uint8_t *buf);

/*
 * The nft script back end (print_nft.c).  Every function writes to f and
 * returns 0, or -EIO if the stream reports an error.
 *
 * print_nft_ruleset: the whole ruleset as ONE script for `nft -f`, which
 * loads it in a single transaction replacing svcnat's tables and nothing
 * else; for each table:
 *     table ip svcnat
 *     delete table ip svcnat
 *     table ip svcnat {
 *             comment "..."
 *
 *             map service-ips {
 *                     type ipv4_addr . inet_proto . inet_service : verdict
 *                     comment "..."
 *                     elements = {
 *                             198.18.0.10 . tcp . 80 comment "..." : goto cluster-2,
 *                             ...
 *                     }
 *             }
 *             ... every set, then every chain:
 *             chain nat-prerouting {
 *                     comment "..."
 *                     type nat hook prerouting priority dstnat; policy accept;
 *                     jump services comment "..."
 *             }
 *     }
 */
int print_nft_ruleset(FILE *f, const struct ruleset *rs);
/* One "table ip svcnat { ... }" block, without the delete preamble. */
int print_nft_table(FILE *f, const struct rs_table *t);

/* Flags for the declaration printers below. */
#define PRINT_NFT_ONELINE 0x1	/* "map ip svcnat x { type ...; comment "..."; }", to follow "add " */
#define PRINT_NFT_CONTENT 0x2	/* block form only: include the elements / the rules */

/*
 * A set's or map's declaration.  Block form is indented one tab, as inside a
 * table block, and ends with a newline; one-line form has no newline.
 */
int print_nft_set_decl(FILE *f, const struct rs_table *t, const struct rs_set *s, unsigned flags);
/* A chain's declaration (type, hook, priority and policy for base chains, comment). */
int print_nft_chain_decl(FILE *f, const struct rs_table *t, const struct rs_chain *c, unsigned flags);
/* One element, e.g. `198.18.0.10 . tcp . 80 comment "x" : goto cluster-2`; no newline. */
int print_nft_elem(FILE *f, const struct rs_table *t, const struct rs_set *s, const struct rs_elem *e);
/* One rule's statements and comment, e.g. `ct state new jump endpoints-check`; no newline. */
int print_nft_rule(FILE *f, const struct rs_table *t, const struct rs_rule *r);
/* One statement; no newline. */
int print_nft_stmt(FILE *f, const struct rs_table *t, const struct rs_stmt *st);
/* ` comment "..."`, sanitised and cut to max bytes; nothing for NULL. */
int print_nft_comment(FILE *f, const char *comment, size_t max);
/* "ip" or "ip6" (nft's family keyword for the table). */
const char *print_nft_family(int family);

#endif
