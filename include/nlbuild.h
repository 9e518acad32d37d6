/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ruleset description -> libnftnl objects, built exactly as nft 1.0.6 builds
 * them from the script print_nft.c writes (same expressions, registers, set
 * flags, key and data types, user data), so that `nft list table` prints the
 * same text whichever back end loaded the table.
 *
 * Ownership: every constructor returns a new object that the caller owns and
 * frees with nftnl_<kind>_free(); nlbatch_add_*() only serialise it.  Inside,
 * expressions pass to their rule (nftnl_rule_add_expr) and elements to their
 * set (nftnl_set_elem_add).
 */
#ifndef SVCNAT_NLBUILD_H
#define SVCNAT_NLBUILD_H

#include <stdbool.h>

#include "ruleset.h"

struct nftnl_table;
struct nftnl_chain;
struct nftnl_rule;
struct nftnl_set;
struct nftnl_set_elem;
struct nlbatch;

/* NULL only on out-of-memory.  with_comment: false for the bare "create if missing" NEWTABLE. */
struct nftnl_table *nlbuild_table(const struct rs_table *t, bool with_comment);
/* A base or regular chain, without its rules. */
struct nftnl_chain *nlbuild_chain(const struct rs_table *t, const struct rs_chain *c);
/* A rule to append to chain c: its expressions and its comment. */
struct nftnl_rule *nlbuild_rule(const struct rs_table *t, const struct rs_chain *c, const struct rs_rule *r);
/*
 * The set's declaration (no elements): flags, key/data types and lengths, user
 * data, and the NFTA_SET_ID the kernel demands, derived from s's position in
 * t (s must be one of t->sets).
 */
struct nftnl_set *nlbuild_set(const struct rs_table *t, const struct rs_set *s);
/* Table, name and family only: the holder of elements for NEWSETELEM / DELSETELEM. */
struct nftnl_set *nlbuild_set_ref(const struct rs_table *t, const struct rs_set *s);

/*
 * One kernel element: key, then data (index maps) or verdict and chain
 * (verdict maps) unless key_only (enough to delete), and the comment.  For a
 * prefix set this is the interval's start; see nlbuild_set_add_elem.
 */
struct nftnl_set_elem *nlbuild_elem(const struct rs_table *t, const struct rs_set *s, const struct rs_elem *e,
				    bool key_only);

/*
 * Elements go into a batch this many at a time, each chunk's libnftnl
 * elements freed once serialised: one costs several times its netlink bytes,
 * and the 178,000 of a cold load at 10,000 services held at once were 40 MB.
 */
#define NLBUILD_ELEM_CHUNK 2048

/*
 * Adds the kernel elements of e to ns: one, or for RS_SET_PREFIX the start
 * and, unless the prefix reaches the top of the address space, an end
 * element (key: first address after the prefix; NFT_SET_ELEM_INTERVAL_END).
 * key_only: as for nlbuild_elem.  0 or -ENOMEM.
 */
int nlbuild_set_add_elem(struct nftnl_set *ns, const struct rs_table *t, const struct rs_set *s,
			 const struct rs_elem *e, bool key_only);

/*
 * The "replace svcnat's tables" batch, the netlink twin of
 * print_nft_ruleset(): for each table NEWTABLE (create if missing), DELTABLE,
 * NEWTABLE with its comment, then every chain (empty, so that any element or
 * rule can name any chain), every set followed by its elements, and every
 * rule.  This is the order nft 1.0.6 uses for the same script.  0, or
 * -ENOMEM.
 */
int nlbuild_load_full(const struct ruleset *rs, struct nlbatch *b);

#endif
