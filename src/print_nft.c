// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ruleset -> nft script.  The script is the dry run, and what `nft -f`
 * loads must list exactly like what the netlink back end (nlbuild.c) loads,
 * so every choice here has its twin there: the same sanitised comments, the
 * same set types and typeof expressions, the same statements.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>	/* before linux/netfilter.h */
#include <linux/netfilter.h>
#include <stdio.h>
#include <string.h>

#include "ruleset.h"

const char *print_nft_family(int family)
{
	return family == NFPROTO_IPV6 ? "ip6" : "ip";
}

static int stream_status(FILE *f)
{
	return ferror(f) ? -EIO : 0;
}

/* `comment "..."` with what before it, or nothing (NULL or empty comment): whether printed. */
static bool print_comment(FILE *f, const char *before, const char *comment, size_t max)
{
	char buf[RS_COMMENT_MAX + 1];

	if (max > RS_COMMENT_MAX)
		max = RS_COMMENT_MAX;
	if (!comment || rs_comment_sanitize(buf, max, comment) == 0)
		return false;
	fprintf(f, "%scomment \"%s\"", before, buf);
	return true;
}

int print_nft_comment(FILE *f, const char *comment, size_t max)
{
	print_comment(f, " ", comment, max);
	return stream_status(f);
}

static void print_addr(FILE *f, const struct addr *a)
{
	char buf[ADDR_STRLEN];

	fputs(addr_to_str(a, buf), f);
}

/*
 * "198.18.0.0/16", or the bare address for a full-length prefix.  Host bits
 * are cleared, as the netlink back end does: both must show the same network.
 */
static void print_prefix(FILE *f, const struct rs_table *t, const struct addr *a, uint8_t len)
{
	struct addr net = *a;

	for (size_t bit = len; bit < sizeof(net.bytes) * 8; bit++)
		net.bytes[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	print_addr(f, &net);
	if (len < rs_table_addr_len(t) * 8)
		fprintf(f, "/%u", len);
}

/* nft's names for inet_proto values; anything else prints as a number. */
static void print_proto(FILE *f, uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		fputs("tcp", f);
		break;
	case IPPROTO_UDP:
		fputs("udp", f);
		break;
	case IPPROTO_SCTP:
		fputs("sctp", f);
		break;
	default:
		fprintf(f, "%u", proto);
	}
}

static void print_verdict(FILE *f, enum rs_verdict v, const char *chain)
{
	static const char *const names[] = {
		[RS_VERDICT_NONE] = "?", [RS_VERDICT_ACCEPT] = "accept", [RS_VERDICT_DROP] = "drop",
		[RS_VERDICT_RETURN] = "return", [RS_VERDICT_JUMP] = "jump", [RS_VERDICT_GOTO] = "goto",
	};

	fputs(v <= RS_VERDICT_GOTO ? names[v] : "?", f);
	if (v == RS_VERDICT_JUMP || v == RS_VERDICT_GOTO)
		fprintf(f, " %s", chain ? chain : "?");
}

/* The key expressions, shared by set declarations and statements. */
static void print_key_expr(FILE *f, const struct rs_table *t, bool with_daddr)
{
	if (with_daddr)
		fprintf(f, "%s daddr . ", print_nft_family(t->family));
	fputs("meta l4proto . th dport", f);
}

static void print_dnat(FILE *f, const struct rs_table *t, const struct rs_stmt *st, bool with_daddr)
{
	fprintf(f, "dnat %s to ", print_nft_family(t->family));
	print_key_expr(f, t, with_daddr);
	fprintf(f, " . numgen random mod %" PRIu32 " map @%s", st->mod, st->set);
}

static void print_match_stmt(FILE *f, const struct rs_table *t, const struct rs_stmt *st)
{
	const char *fam = print_nft_family(t->family);

	switch (st->kind) {
	case RS_ST_DADDR_NOT_LOOPBACK:
		fprintf(f, "%s daddr != %s", fam, t->family == NFPROTO_IPV6 ? "::1" : "127.0.0.0/8");
		break;
	case RS_ST_DADDR_PREFIX:
	case RS_ST_SADDR_NOT_PREFIX:
	case RS_ST_SADDR_PREFIX:
		fprintf(f, "%s %s ", fam, st->kind == RS_ST_DADDR_PREFIX ? "daddr" :
				      st->kind == RS_ST_SADDR_PREFIX ? "saddr" : "saddr !=");
		print_prefix(f, t, &st->prefix, st->prefix_len);
		break;
	case RS_ST_DADDR_IN_SET:
		fprintf(f, "%s daddr @%s", fam, st->set);
		break;
	case RS_ST_SADDR_DADDR_IN_SET:
		fprintf(f, "%s saddr . %s daddr @%s", fam, fam, st->set);
		break;
	case RS_ST_L4PROTO:
		fputs("meta l4proto ", f);
		print_proto(f, st->proto);
		break;
	case RS_ST_MARK_CLEAR_TEST:
		fprintf(f, "meta mark & 0x%08" PRIx32 " == 0", st->mark);
		break;
	default:
		fputs("?", f);
	}
}

int print_nft_stmt(FILE *f, const struct rs_table *t, const struct rs_stmt *st)
{
	switch (st->kind) {
	case RS_ST_CT_STATE_NEW:
		fputs("ct state new", f);
		break;
	case RS_ST_CT_STATUS_DNAT:
		fputs("ct status dnat", f);
		break;
	case RS_ST_FIB_DADDR_LOCAL:
		fputs("fib daddr type local", f);
		break;
	case RS_ST_MARK_OR:
	case RS_ST_MARK_XOR:
		fprintf(f, "meta mark set meta mark %c 0x%08" PRIx32, st->kind == RS_ST_MARK_OR ? '|' : '^',
			st->mark);
		break;
	case RS_ST_VMAP_DADDR_PROTO_DPORT:
	case RS_ST_VMAP_PROTO_DPORT:
		print_key_expr(f, t, st->kind == RS_ST_VMAP_DADDR_PROTO_DPORT);
		fprintf(f, " vmap @%s", st->set);
		break;
	case RS_ST_DADDR_PROTO_DPORT_IN_SET:
	case RS_ST_PROTO_DPORT_IN_SET:
		print_key_expr(f, t, st->kind == RS_ST_DADDR_PROTO_DPORT_IN_SET);
		fprintf(f, " @%s", st->set);
		break;
	case RS_ST_SADDR_IN_SET:
		fprintf(f, "%s saddr @%s", print_nft_family(t->family), st->set);
		break;
	case RS_ST_UPDATE_SADDR:
		fprintf(f, "update @%s { %s saddr }", st->set, print_nft_family(t->family));
		break;
	case RS_ST_NUMGEN_ZERO:
		fprintf(f, "numgen random mod %u 0", st->mod);
		break;
	case RS_ST_DNAT_TO:
		fprintf(f, "dnat %s to ", print_nft_family(t->family));
		if (st->to_addr.family == AF_INET6)
			fputc('[', f);
		print_addr(f, &st->to_addr);
		fprintf(f, "%s:%u", st->to_addr.family == AF_INET6 ? "]" : "", st->port);
		break;
	case RS_ST_DADDR_EQ:
		fprintf(f, "%s daddr ", print_nft_family(t->family));
		print_addr(f, &st->prefix);
		break;
	case RS_ST_DPORT_EQ:
		fprintf(f, "th dport %u", st->port);
		break;
	case RS_ST_DNAT_DADDR_PROTO_DPORT_NG:
	case RS_ST_DNAT_PROTO_DPORT_NG:
		print_dnat(f, t, st, st->kind == RS_ST_DNAT_DADDR_PROTO_DPORT_NG);
		break;
	case RS_ST_MASQUERADE:
		fputs("masquerade fully-random", f);
		break;
	case RS_ST_REJECT_TCP_RESET:
		fputs("reject with tcp reset", f);
		break;
	case RS_ST_REJECT:
		fputs("reject", f);
		break;
	case RS_ST_COUNTER:
		fputs("counter", f);
		break;
	case RS_ST_VERDICT:
		print_verdict(f, st->verdict, st->chain);
		break;
	default:
		print_match_stmt(f, t, st);
	}
	return stream_status(f);
}

int print_nft_rule(FILE *f, const struct rs_table *t, const struct rs_rule *r)
{
	for (size_t i = 0; i < r->n_stmts; i++) {
		if (i)
			fputc(' ', f);
		print_nft_stmt(f, t, &r->stmts[i]);
	}
	return print_nft_comment(f, r->comment, RS_COMMENT_MAX);
}

int print_nft_elem(FILE *f, const struct rs_table *t, const struct rs_set *s, const struct rs_elem *e)
{
	switch (s->kind) {
	case RS_SET_ADDR_PROTO_PORT_VMAP:
	case RS_SET_ADDR_PROTO_PORT_INDEX_MAP:
	case RS_SET_ADDR_PROTO_PORT:
		print_addr(f, &e->addr);
		fputs(" . ", f);
		/* fall through */
	case RS_SET_PROTO_PORT_VMAP:
	case RS_SET_PROTO_PORT_INDEX_MAP:
	case RS_SET_PROTO_PORT:
		print_proto(f, e->proto);
		fprintf(f, " . %u", e->port);
		if (s->kind == RS_SET_ADDR_PROTO_PORT_INDEX_MAP || s->kind == RS_SET_PROTO_PORT_INDEX_MAP)
			fprintf(f, " . %" PRIu32, e->index);
		break;
	case RS_SET_ADDR:
	case RS_SET_ADDR_DYNAMIC:
		print_addr(f, &e->addr);
		break;
	case RS_SET_ADDR_ADDR:
		print_addr(f, &e->addr);
		fputs(" . ", f);
		print_addr(f, &e->addr2);
		break;
	case RS_SET_PREFIX:
		print_prefix(f, t, &e->addr, e->prefix_len);
		break;
	}
	print_nft_comment(f, e->comment, RS_COMMENT_MAX);
	if (rs_set_kind_is_vmap(s->kind)) {
		fputs(" : ", f);
		print_verdict(f, e->verdict, e->chain);
	} else if (rs_set_kind_is_map(s->kind)) {
		fputs(" : ", f);
		print_addr(f, &e->to_addr);
		fprintf(f, " . %u", e->to_port);
	}
	return stream_status(f);
}

/* "type ..." or "typeof ...", and "flags interval" for prefix sets; items separated by sep. */
static void print_set_type(FILE *f, const struct rs_table *t, const struct rs_set *s, const char *sep)
{
	const char *at = t->family == NFPROTO_IPV6 ? "ipv6_addr" : "ipv4_addr";
	const char *fam = print_nft_family(t->family);

	switch (s->kind) {
	case RS_SET_ADDR_PROTO_PORT_VMAP:
		fprintf(f, "type %s . inet_proto . inet_service : verdict", at);
		break;
	case RS_SET_PROTO_PORT_VMAP:
		fputs("type inet_proto . inet_service : verdict", f);
		break;
	case RS_SET_ADDR_PROTO_PORT:
		fprintf(f, "type %s . inet_proto . inet_service", at);
		break;
	case RS_SET_ADDR_DYNAMIC:
		fprintf(f, "type %s%sflags dynamic,timeout%stimeout %us", at, sep, sep, s->timeout);
		break;
	case RS_SET_PROTO_PORT:
		fputs("type inet_proto . inet_service", f);
		break;
	case RS_SET_ADDR_PROTO_PORT_INDEX_MAP:
	case RS_SET_PROTO_PORT_INDEX_MAP:
		fputs("typeof ", f);
		print_key_expr(f, t, s->kind == RS_SET_ADDR_PROTO_PORT_INDEX_MAP);
		fprintf(f, " . numgen random mod 1 : %s daddr . th dport", fam);
		break;
	case RS_SET_ADDR:
	case RS_SET_PREFIX:
		fprintf(f, "type %s", at);
		if (s->kind == RS_SET_PREFIX)
			fprintf(f, "%sflags interval", sep);
		break;
	case RS_SET_ADDR_ADDR:
		fprintf(f, "type %s . %s", at, at);
		break;
	}
}

static void print_set_elements(FILE *f, const struct rs_table *t, const struct rs_set *s)
{
	if (!s->n_elems)
		return;	/* nft does not accept "elements = { }" */
	fputs("\t\telements = {\n", f);
	for (size_t i = 0; i < s->n_elems; i++) {
		fputs("\t\t\t", f);
		print_nft_elem(f, t, s, &s->elems[i]);
		fputs(i + 1 < s->n_elems ? ",\n" : "\n", f);
	}
	fputs("\t\t}\n", f);
}

int print_nft_set_decl(FILE *f, const struct rs_table *t, const struct rs_set *s, unsigned flags)
{
	const char *what = rs_set_kind_is_map(s->kind) ? "map" : "set";

	if (flags & PRINT_NFT_ONELINE) {
		fprintf(f, "%s %s %s %s { ", what, print_nft_family(t->family), t->name, s->name);
		print_set_type(f, t, s, "; ");
		if (s->size)
			fprintf(f, "; size %u", s->size);
		fputs(s->counter ? "; counter;" : ";", f);
		fputs(print_comment(f, " ", s->comment, RS_SET_COMMENT_MAX) ? "; }" : " }", f);
		return stream_status(f);
	}
	fprintf(f, "\t%s %s {\n\t\t", what, s->name);
	print_set_type(f, t, s, "\n\t\t");
	fputc('\n', f);
	if (s->size)
		fprintf(f, "\t\tsize %u\n", s->size);
	if (s->counter)
		fputs("\t\tcounter\n", f);
	if (print_comment(f, "\t\t", s->comment, RS_SET_COMMENT_MAX))
		fputc('\n', f);
	if (flags & PRINT_NFT_CONTENT)
		print_set_elements(f, t, s);
	fputs("\t}\n", f);
	return stream_status(f);
}

static const char *hook_name(enum rs_hook hook)
{
	static const char *const names[] = {
		[RS_HOOK_PREROUTING] = "prerouting", [RS_HOOK_INPUT] = "input", [RS_HOOK_FORWARD] = "forward",
		[RS_HOOK_OUTPUT] = "output", [RS_HOOK_POSTROUTING] = "postrouting",
	};

	return hook >= RS_HOOK_PREROUTING && hook <= RS_HOOK_POSTROUTING ? names[hook] : "?";
}

/*
 * nft's standard priority names, within +-10 (as nft lists them).  nft 1.0.6
 * takes "dstnat" only in prerouting and "srcnat" only in postrouting (it
 * refuses both in output and input); elsewhere the number is printed.
 */
static void print_priority(FILE *f, enum rs_hook hook, int32_t prio)
{
	static const struct {
		const char *name;
		int32_t value;
		enum rs_hook only;
	} tags[] = {
		{ "raw", -300, RS_HOOK_NONE },	  { "mangle", -150, RS_HOOK_NONE },
		{ "dstnat", -100, RS_HOOK_PREROUTING }, { "filter", 0, RS_HOOK_NONE },
		{ "security", 50, RS_HOOK_NONE }, { "srcnat", 100, RS_HOOK_POSTROUTING },
	};

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		int64_t off = (int64_t)prio - tags[i].value;

		if ((tags[i].only != RS_HOOK_NONE && tags[i].only != hook) || off < -10 || off > 10)
			continue;
		fputs(tags[i].name, f);
		if (off)
			fprintf(f, " %c %" PRId64, off < 0 ? '-' : '+', off < 0 ? -off : off);
		return;
	}
	fprintf(f, "%" PRId32, prio);
}

static void print_hook(FILE *f, const struct rs_chain *c)
{
	fprintf(f, "type %s hook %s priority ", c->type == RS_CHAIN_NAT ? "nat" : "filter", hook_name(c->hook));
	print_priority(f, c->hook, c->priority);
	fputs("; policy accept;", f);
}

int print_nft_chain_decl(FILE *f, const struct rs_table *t, const struct rs_chain *c, unsigned flags)
{
	if (flags & PRINT_NFT_ONELINE) {
		fprintf(f, "chain %s %s %s {", print_nft_family(t->family), t->name, c->name);
		if (c->hook != RS_HOOK_NONE) {
			fputc(' ', f);
			print_hook(f, c);
		}
		fputs(print_comment(f, " ", c->comment, RS_COMMENT_MAX) ? "; }" : " }", f);
		return stream_status(f);
	}
	fprintf(f, "\tchain %s {\n", c->name);
	/* The comment first, as nft lists it. */
	if (print_comment(f, "\t\t", c->comment, RS_COMMENT_MAX))
		fputc('\n', f);
	if (c->hook != RS_HOOK_NONE) {
		fputs("\t\t", f);
		print_hook(f, c);
		fputc('\n', f);
	}
	for (size_t i = 0; (flags & PRINT_NFT_CONTENT) && i < c->n_rules; i++) {
		fputs("\t\t", f);
		print_nft_rule(f, t, &c->rules[i]);
		fputc('\n', f);
	}
	fputs("\t}\n", f);
	return stream_status(f);
}

int print_nft_table(FILE *f, const struct rs_table *t)
{
	fprintf(f, "table %s %s {\n", print_nft_family(t->family), t->name);
	if (print_comment(f, "\t", t->comment, RS_COMMENT_MAX))
		fputc('\n', f);
	for (size_t i = 0; i < t->n_sets; i++) {
		fputc('\n', f);
		print_nft_set_decl(f, t, &t->sets[i], PRINT_NFT_CONTENT);
	}
	for (size_t i = 0; i < t->n_chains; i++) {
		fputc('\n', f);
		print_nft_chain_decl(f, t, &t->chains[i], PRINT_NFT_CONTENT);
	}
	fputs("}\n", f);
	return stream_status(f);
}

int print_nft_ruleset(FILE *f, const struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n_tables; i++) {
		const struct rs_table *t = &rs->tables[i];
		const char *fam = print_nft_family(t->family);

		/* Create if missing, so that the delete cannot fail: one transaction replaces the table. */
		fprintf(f, "%stable %s %s\ndelete table %s %s\n", i ? "\n" : "", fam, t->name, fam, t->name);
		print_nft_table(f, t);
	}
	if (fflush(f) == EOF)
		return -errno;
	return stream_status(f);
}
