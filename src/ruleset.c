// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ruleset description: builders, lookups, and the kernel's byte layout
 * of set keys and data, shared by the nft printer and the netlink builder.
 */
#define _GNU_SOURCE	/* qsort_r */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>	/* before linux/netfilter.h, which would define struct in_addr */
#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>

#include "ruleset.h"

struct ruleset *ruleset_new(void)
{
	struct ruleset *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return NULL;
	arena_init(&rs->arena);
	rs->tables = calloc(RS_MAX_TABLES, sizeof(*rs->tables));
	if (!rs->tables) {
		free(rs);
		return NULL;
	}
	rs->cap_tables = RS_MAX_TABLES;
	return rs;
}

static void table_free(struct rs_table *t)
{
	for (size_t i = 0; i < t->n_sets; i++)
		free(t->sets[i].elems);
	for (size_t i = 0; i < t->n_chains; i++)
		free(t->chains[i].rules);
	free(t->sets);
	free(t->chains);
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_tables; i++)
		table_free(&rs->tables[i]);
	free(rs->tables);
	arena_free(&rs->arena);
	free(rs);
}

/* Makes room for one more item in a growing array; 0 or -ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t new_cap;
	void *p;

	if (n < *cap)
		return 0;
	new_cap = *cap ? *cap * 2 : 8;
	if (new_cap < *cap || new_cap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, new_cap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = new_cap;
	return 0;
}

/* Sanitised arena copy of a comment; *ret = NULL for NULL or "". 0 or -ENOMEM. */
static int comment_dup(struct ruleset *rs, const char *in, size_t max, const char **ret)
{
	char buf[RS_COMMENT_MAX + 1];
	size_t len;

	assert(max <= RS_COMMENT_MAX);
	if (!in || !*in) {
		*ret = NULL;
		return 0;
	}
	len = rs_comment_sanitize(buf, max, in);
	*ret = len ? arena_strndup(&rs->arena, buf, len) : NULL;
	return len && !*ret ? -ENOMEM : 0;
}

/* Object names must be nft identifiers; names come from the compiler, never from users. */
static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 256 || !(s[0] == '_' || s[0] == '.' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-_.") == n;
}

struct rs_table *ruleset_add_table(struct ruleset *rs, int family, const char *name, const char *comment)
{
	struct rs_table *t;

	assert(family == NFPROTO_IPV4 || family == NFPROTO_IPV6);
	assert(name_valid(name));
	assert(rs->n_tables < rs->cap_tables);
	if (rs->n_tables >= rs->cap_tables)
		return NULL;
	t = &rs->tables[rs->n_tables];
	*t = (struct rs_table){ .family = family };
	t->name = arena_strdup(&rs->arena, name);
	t->sets = calloc(RS_MAX_SETS, sizeof(*t->sets));
	if (!t->name || !t->sets || comment_dup(rs, comment, RS_COMMENT_MAX, &t->comment) < 0) {
		free(t->sets);
		return NULL;
	}
	t->cap_sets = RS_MAX_SETS;
	rs->n_tables++;
	return t;
}

struct rs_set *rs_table_add_set(struct ruleset *rs, struct rs_table *t, const char *name,
				enum rs_set_kind kind, const char *comment)
{
	struct rs_set *s;

	assert(name_valid(name));
	assert(kind >= RS_SET_ADDR_PROTO_PORT_VMAP && kind <= RS_SET_ADDR_DYNAMIC);
	assert(t->n_sets < t->cap_sets);
	if (t->n_sets >= t->cap_sets)
		return NULL;
	s = &t->sets[t->n_sets];
	*s = (struct rs_set){ .kind = kind };
	s->name = arena_strdup(&rs->arena, name);
	if (!s->name || comment_dup(rs, comment, RS_SET_COMMENT_MAX, &s->comment) < 0)
		return NULL;
	t->n_sets++;
	return s;
}

struct rs_elem *rs_set_add_elem(struct ruleset *rs, struct rs_set *s)
{
	struct rs_elem *e;

	(void)rs;
	if (grow((void **)&s->elems, &s->cap_elems, s->n_elems, sizeof(*s->elems)) < 0)
		return NULL;
	e = &s->elems[s->n_elems++];
	*e = (struct rs_elem){ .verdict = RS_VERDICT_NONE };
	return e;
}

int rs_elem_set_comment(struct ruleset *rs, struct rs_elem *e, const char *comment)
{
	return comment_dup(rs, comment, RS_COMMENT_MAX, &e->comment);
}

static struct rs_chain *add_chain(struct ruleset *rs, struct rs_table *t, const char *name,
				  const char *comment)
{
	struct rs_chain *c;
	const char *copy = arena_strdup(&rs->arena, name);
	const char *ccopy;

	assert(name_valid(name));
	if (!copy || comment_dup(rs, comment, RS_COMMENT_MAX, &ccopy) < 0 ||
	    grow((void **)&t->chains, &t->cap_chains, t->n_chains, sizeof(*t->chains)) < 0)
		return NULL;
	c = &t->chains[t->n_chains++];
	*c = (struct rs_chain){ .name = copy, .comment = ccopy, .hook = RS_HOOK_NONE };
	return c;
}

struct rs_chain *rs_table_add_chain(struct ruleset *rs, struct rs_table *t, const char *name,
				    const char *comment)
{
	return add_chain(rs, t, name, comment);
}

struct rs_chain *rs_table_add_base_chain(struct ruleset *rs, struct rs_table *t, const char *name,
					 enum rs_chain_type type, enum rs_hook hook, int32_t priority,
					 const char *comment)
{
	struct rs_chain *c;

	assert(hook >= RS_HOOK_PREROUTING && hook <= RS_HOOK_POSTROUTING);
	c = add_chain(rs, t, name, comment);
	if (!c)
		return NULL;
	c->type = type;
	c->hook = hook;
	c->priority = priority;
	return c;
}

struct rs_rule *rs_chain_add_rule(struct ruleset *rs, struct rs_chain *c, const char *comment)
{
	struct rs_rule *r;
	const char *copy;

	if (comment_dup(rs, comment, RS_COMMENT_MAX, &copy) < 0 ||
	    grow((void **)&c->rules, &c->cap_rules, c->n_rules, sizeof(*c->rules)) < 0)
		return NULL;
	r = &c->rules[c->n_rules++];
	*r = (struct rs_rule){ .comment = copy };
	return r;
}

struct rs_stmt *rs_rule_add_stmt(struct rs_rule *r, enum rs_stmt_kind kind)
{
	struct rs_stmt *st;

	assert(r->n_stmts < RS_MAX_STMTS);
	if (r->n_stmts >= RS_MAX_STMTS)
		return NULL;
	st = &r->stmts[r->n_stmts++];
	*st = (struct rs_stmt){ .kind = kind };
	return st;
}

struct rs_set *rs_table_find_set(const struct rs_table *t, const char *name)
{
	for (size_t i = 0; i < t->n_sets; i++)
		if (!strcmp(t->sets[i].name, name))
			return &t->sets[i];
	return NULL;
}

struct rs_chain *rs_table_find_chain(const struct rs_table *t, const char *name)
{
	for (size_t i = 0; i < t->n_chains; i++)
		if (!strcmp(t->chains[i].name, name))
			return &t->chains[i];
	return NULL;
}

bool rs_set_kind_is_map(enum rs_set_kind kind)
{
	return kind == RS_SET_ADDR_PROTO_PORT_VMAP || kind == RS_SET_PROTO_PORT_VMAP ||
	       kind == RS_SET_ADDR_PROTO_PORT_INDEX_MAP || kind == RS_SET_PROTO_PORT_INDEX_MAP;
}

bool rs_set_kind_is_vmap(enum rs_set_kind kind)
{
	return kind == RS_SET_ADDR_PROTO_PORT_VMAP || kind == RS_SET_PROTO_PORT_VMAP;
}

size_t rs_table_addr_len(const struct rs_table *t)
{
	return t->family == NFPROTO_IPV6 ? 16 : 4;
}

/*
 * Key layout.  Kernel ABI: each field of a concatenation starts at the next
 * 4-byte register slot (NFT_REG32_*), zero padded; payload fields (addresses,
 * ports) are in network byte order, meta l4proto is one byte, and numgen is
 * a host-order u32.  Addresses are 4 or 16 bytes, already multiples of 4.
 */
static size_t put_addr(uint8_t *p, const struct addr *a, size_t alen)
{
	assert(a->family == (alen == 4 ? AF_INET : AF_INET6));
	memcpy(p, a->bytes, alen);
	return alen;
}

static size_t put_proto(uint8_t *p, uint8_t proto)
{
	memset(p, 0, 4);
	p[0] = proto;
	return 4;
}

static size_t put_port(uint8_t *p, uint16_t port)
{
	memset(p, 0, 4);
	p[0] = (uint8_t)(port >> 8);
	p[1] = (uint8_t)port;
	return 4;
}

static size_t put_u32_host(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return 4;
}

/* The prefix's network address (host bits cleared, whatever the caller left there). */
static size_t put_prefix(uint8_t *p, const struct addr *a, uint8_t plen, size_t alen)
{
	put_addr(p, a, alen);
	for (size_t bit = plen; bit < alen * 8; bit++)
		p[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return alen;
}

size_t rs_elem_key(const struct rs_table *t, const struct rs_set *s, const struct rs_elem *e, uint8_t *buf)
{
	size_t alen = rs_table_addr_len(t), n = 0;

	switch (s->kind) {
	case RS_SET_ADDR_PROTO_PORT_VMAP:
	case RS_SET_ADDR_PROTO_PORT_INDEX_MAP:
	case RS_SET_ADDR_PROTO_PORT:
		n += put_addr(buf + n, &e->addr, alen);
		/* fall through */
	case RS_SET_PROTO_PORT_VMAP:
	case RS_SET_PROTO_PORT_INDEX_MAP:
	case RS_SET_PROTO_PORT:
		n += put_proto(buf + n, e->proto);
		n += put_port(buf + n, e->port);
		if (s->kind == RS_SET_ADDR_PROTO_PORT_INDEX_MAP || s->kind == RS_SET_PROTO_PORT_INDEX_MAP)
			n += put_u32_host(buf + n, e->index);
		break;
	case RS_SET_ADDR:
	case RS_SET_ADDR_DYNAMIC:
		n += put_addr(buf, &e->addr, alen);
		break;
	case RS_SET_ADDR_ADDR:
		n += put_addr(buf, &e->addr, alen);
		n += put_addr(buf + n, &e->addr2, alen);
		break;
	case RS_SET_PREFIX:
		assert(e->prefix_len <= alen * 8);
		n += put_prefix(buf, &e->addr, e->prefix_len, alen);
		break;
	}
	assert(n <= RS_KEY_MAX);
	return n;
}

size_t rs_elem_data(const struct rs_table *t, const struct rs_set *s, const struct rs_elem *e, uint8_t *buf)
{
	size_t alen = rs_table_addr_len(t), n = 0;

	if (s->kind != RS_SET_ADDR_PROTO_PORT_INDEX_MAP && s->kind != RS_SET_PROTO_PORT_INDEX_MAP)
		return 0;	/* no data, or a verdict (not bytes) */
	n += put_addr(buf, &e->to_addr, alen);
	n += put_port(buf + n, e->to_port);
	return n;
}

size_t rs_elem_key_end(const struct rs_table *t, const struct rs_elem *e, uint8_t *buf)
{
	size_t alen = rs_table_addr_len(t);
	unsigned carry;
	size_t i;

	if (e->prefix_len == 0)
		return 0;
	put_prefix(buf, &e->addr, e->prefix_len, alen);
	/* Add 2^(bits - prefix_len): one at the prefix's last bit, then carry. */
	i = (size_t)(e->prefix_len - 1) / 8;
	carry = 0x80u >> ((e->prefix_len - 1) % 8);
	for (;; i--) {
		unsigned v = buf[i] + carry;

		buf[i] = (uint8_t)v;
		carry = v >> 8;
		if (!carry)
			return alen;
		if (i == 0)
			return 0;	/* wrapped: the prefix ends at the top */
	}
}

/* The element order: key bytes, then the shorter key, then the shorter prefix. */
static int cmp_keys(const uint8_t *ka, size_t la, uint8_t pa, const uint8_t *kb, size_t lb, uint8_t pb)
{
	int c = memcmp(ka, kb, la < lb ? la : lb);

	if (c)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return pa < pb ? -1 : pa > pb;
}

/*
 * 24 bytes, so that qsort moves the items themselves (it sorts pointers to
 * anything larger than 32): the key's first 16 bytes as two big-endian
 * words, zero-padded, decide almost every comparison (a service's backend
 * keys share the first 8: address and protocol); the whole key is looked
 * up only for a tie.  Zero padding orders a shorter key first, as cmp_keys.
 */
struct sort_item {
	uint64_t head[2];
	uint32_t idx;
	uint8_t len;
	uint8_t prefix_len;
};
_Static_assert(sizeof(struct sort_item) <= 32, "qsort moves items of up to 32 bytes directly");

static int sort_item_cmp(const void *a, const void *b, void *keys)
{
	const struct sort_item *x = a, *y = b;
	const uint8_t (*k)[RS_KEY_MAX] = keys;
	int c;

	for (size_t w = 0; w < 2; w++)
		if (x->head[w] != y->head[w])
			return x->head[w] < y->head[w] ? -1 : 1;
	c = cmp_keys(k[x->idx], x->len, x->prefix_len, k[y->idx], y->len, y->prefix_len);
	return c ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Keys computed once per element, sorted, then the elements permuted: 0 or -ENOMEM. */
static int sort_set(const struct rs_table *t, struct rs_set *s)
{
	uint8_t (*keys)[RS_KEY_MAX];
	struct sort_item *items;
	struct rs_elem *sorted;

	if (s->n_elems < 2)
		return 0;
	if (s->n_elems > UINT32_MAX)
		return -ENOMEM;
	keys = malloc(s->n_elems * sizeof(*keys));
	items = malloc(s->n_elems * sizeof(*items));
	sorted = malloc(s->n_elems * sizeof(*sorted));
	if (!keys || !items || !sorted) {
		free(keys);
		free(items);
		free(sorted);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_elems; i++) {
		struct sort_item *x = &items[i];

		*x = (struct sort_item){ .idx = (uint32_t)i, .prefix_len = s->elems[i].prefix_len };
		x->len = (uint8_t)rs_elem_key(t, s, &s->elems[i], keys[i]);
		for (size_t b = 0; b < 16; b++)
			x->head[b / 8] = x->head[b / 8] << 8 | (b < x->len ? keys[i][b] : 0);
	}
	qsort_r(items, s->n_elems, sizeof(*items), sort_item_cmp, keys);
	for (size_t i = 0; i < s->n_elems; i++)
		sorted[i] = s->elems[items[i].idx];
	free(keys);
	free(items);
	free(s->elems);
	s->elems = sorted;
	s->cap_elems = s->n_elems;
	return 0;
}

struct sort_ctx {
	const struct rs_table *t;
	const struct rs_set *s;
};

static int elem_cmp(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *ctx = arg;
	const struct rs_elem *ea = a, *eb = b;
	uint8_t ka[RS_KEY_MAX], kb[RS_KEY_MAX];
	size_t la = rs_elem_key(ctx->t, ctx->s, ea, ka), lb = rs_elem_key(ctx->t, ctx->s, eb, kb);

	return cmp_keys(ka, la, ea->prefix_len, kb, lb, eb->prefix_len);
}

/* The fallback when memory for the fast path is short: keys recomputed per comparison. */
static void sort_set_slow(const struct rs_table *t, struct rs_set *s)
{
	struct sort_ctx ctx = { t, s };

	qsort_r(s->elems, s->n_elems, sizeof(*s->elems), elem_cmp, &ctx);
}

void ruleset_size_sets(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n_tables; i++)
		for (size_t j = 0; j < rs->tables[i].n_sets; j++) {
			struct rs_set *s = &rs->tables[i].sets[j];
			uint32_t size = RS_SET_MIN_SIZE;

			/* Interval sets store two elements per prefix; dynamic ones are the kernel's to fill. */
			if (s->kind == RS_SET_PREFIX || s->kind == RS_SET_ADDR_DYNAMIC)
				continue;
			while (size < 2 * s->n_elems && size < (1u << 31))
				size *= 2;
			s->size = size;
		}
}

void ruleset_sort(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->n_tables; i++) {
		struct rs_table *t = &rs->tables[i];

		for (size_t j = 0; j < t->n_sets; j++)
			if (sort_set(t, &t->sets[j]) < 0)
				sort_set_slow(t, &t->sets[j]);
	}
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not valid. */
static size_t utf8_seq_len(const unsigned char *s)
{
	size_t n;
	unsigned c = s[0];
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also catches the terminating NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates, beyond U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static char sanitize_ascii(unsigned char c)
{
	if (c == '"')
		return '\'';
	if (c == '\\')
		return '/';
	if (c < 0x20 || c == 0x7f)
		return ' ';
	return (char)c;
}

size_t rs_comment_sanitize(char *out, size_t max, const char *in)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n = 0;

	while (*p) {
		size_t len;

		if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {	/* the common case */
			if (n + 1 > max)
				break;
			out[n++] = (char)*p++;
			continue;
		}
		len = utf8_seq_len(p);
		if (len > 1) {
			if (n + len > max)
				break;
			memcpy(out + n, p, len);
			n += len;
			p += len;
			continue;
		}
		if (n + 1 > max)
			break;
		out[n++] = len ? sanitize_ascii(*p) : '?';
		p++;
	}
	out[n] = '\0';
	return n;
}
