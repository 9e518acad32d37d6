/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel view: svcnat's tables as the kernel holds them, in the form the
 * diff compares.  Both sides of the diff are brought to this form: the
 * desired ruleset (kview_from_ruleset, through the same libnftnl objects the
 * netlink batch sends) and the kernel's (kstate_dump, from netlink dumps, or
 * the cache of the last apply).  Comparing kernel bytes and libnftnl's own
 * canonical text, rather than re-parsing rules into svcnat's vocabulary,
 * means anything the kernel holds that svcnat would not have written shows
 * up as a difference.
 */
#ifndef SVCNAT_KVIEW_H
#define SVCNAT_KVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ruleset.h"

struct nftnl_set;
struct nftnl_chain;
struct nftnl_rule;
struct nftnl_table;

struct kv_elem {
	const uint8_t *key;	/* in the view's arena: a view of 180,000 elements holds no room it does not use */
	const uint8_t *data;
	uint8_t key_len;
	uint8_t data_len;	/* 0 for verdict maps and plain sets */
	int32_t verdict;	/* NFT_GOTO, NFT_JUMP, NF_DROP...; 0 when data_len or a plain set */
	bool has_verdict;
	const char *chain;	/* goto/jump target */
	const char *comment;	/* NULL: none */
	const struct rs_elem *src;	/* desired side only */
};

struct kv_set {
	const char *name;
	const char *decl;	/* canonical declaration: flags, types, lengths, user data */
	uint32_t size;		/* the kernel's limit on elements (NFTA_SET_DESC_SIZE); 0 = none */
	struct kv_elem *elems;	/* sorted by key (memcmp of key, then length) */
	size_t n_elems;
	const struct rs_set *src;	/* desired side only */
};

struct kv_chain {
	const char *name;
	const char *decl;	/* canonical declaration: hook, priority, type, policy, comment */
	const char **rules;	/* canonical text of each rule, in order (no handles) */
	uint64_t *handles;	/* kernel side: each rule's handle */
	size_t n_rules;
	const struct rs_chain *src;	/* desired side only */
};

struct kv_table {
	int family;		/* NFPROTO_IPV4 / NFPROTO_IPV6 */
	const char *name;
	bool present;		/* kernel side: false when the table does not exist */
	const char *decl;	/* canonical declaration: flags, comment */
	struct kv_set *sets;
	size_t n_sets;
	struct kv_chain *chains;
	size_t n_chains;
	const struct rs_table *src;	/* desired side only */
};

struct kview {
	struct arena arena;
	struct kv_table *tables;
	size_t n_tables;
};

struct kview *kview_new(void);
void kview_free(struct kview *v);
struct kv_table *kview_find_table(const struct kview *v, int family, const char *name);
struct kv_set *kv_table_find_set(const struct kv_table *t, const char *name);
struct kv_chain *kv_table_find_chain(const struct kv_table *t, const char *name);
int kv_elem_cmp_key(const struct kv_elem *a, const struct kv_elem *b);
/* Same key, data, verdict, chain and comment. */
bool kv_elem_equal(const struct kv_elem *a, const struct kv_elem *b);

/*
 * Canonical texts, the same function for both sides so equal objects give
 * equal strings.  Allocated in a.
 */
const char *kv_table_decl(struct arena *a, const struct nftnl_table *t);
const char *kv_set_decl(struct arena *a, const struct nftnl_set *s);
const char *kv_chain_decl(struct arena *a, const struct nftnl_chain *c);
/* Fills in attributes the kernel reports but nft leaves out, then prints. */
const char *kv_rule_text(struct arena *a, struct nftnl_rule *r);

/* The desired side: every table of rs, through nlbuild. */
int kview_from_ruleset(const struct ruleset *rs, struct kview **ret);

#endif
