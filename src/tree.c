// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The generic document tree: lookups, the YAML/JSON dispatch, and the
 * helpers both parsers use so that their limits and messages read the same.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

struct node *node_get(const struct node *map, const char *key)
{
	size_t klen;

	if (!map || map->type != NODE_MAP || !key)
		return NULL;
	klen = strlen(key);
	for (size_t i = 0; i < map->n; i++) {
		const struct node *k = map->pairs[i].key;

		/* Compare by length too: a key may hold a NUL ("a\u0000b" is not "a"). */
		if (k->len == klen && memcmp(k->str, key, klen) == 0)
			return map->pairs[i].value;
	}
	return NULL;
}

const char *node_type_name(enum node_type t)
{
	static const char *const names[] = {
		[NODE_NULL] = "null",
		[NODE_BOOL] = "boolean",
		[NODE_INT] = "integer",
		[NODE_FLOAT] = "float",
		[NODE_STRING] = "string",
		[NODE_SEQ] = "sequence",
		[NODE_MAP] = "mapping",
	};

	if ((unsigned)t >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[t];
}

/* ---- building: node slabs, string chunks, the intern index ---- */

#define SLAB_FIRST	(4u * 1024)	/* bytes; doubles up to SLAB_MAX */
#define SLAB_MAX	(1u << 20)
#define SLAB_HEAD	32u		/* nodes start here, so home is never 0 */
#define CHUNK_SIZE	(4u * 1024)	/* string chunks; a string over a quarter of one gets its own */
#define INTERN_MAX_LEN	24		/* keys, protocols, namespaces, addresses; not uids */
#define INTERN_MAX	(1u << 18)	/* entries; then strings are only looked up */
#define INTERN_PROBES	32		/* a longer probe (colliding keys) copies instead */

_Static_assert(SLAB_MAX < (1u << 24), "home has 24 bits");
_Static_assert(sizeof(void *) != 8 || sizeof(struct node) == 32, "struct node grew");

struct tree_str {
	const char *s;
	uint32_t len;
	uint32_t hash;
};

void tree_builder_init(struct tree_builder *b, struct arena *a, const char *file)
{
	*b = (struct tree_builder){ .a = a, .file = file };
}

void tree_builder_fini(struct tree_builder *b)
{
	free(b->strs);
	b->strs = NULL;
	b->nstrs = b->capstrs = 0;
}

void tree_builder_reset(struct tree_builder *b)
{
	assert(b->no_intern);
	b->slab = NULL;
	b->slab_used = b->slab_size = 0;
	b->chars = b->chars_end = NULL;
}

struct node *tree_node(struct tree_builder *b, enum node_type t, uint32_t line, uint32_t col)
{
	struct node *n;

	if (b->slab_size - b->slab_used < sizeof(*n)) {
		size_t size = b->slab_size ? b->slab_size * 2 : SLAB_FIRST;
		struct tree_slab *slab;

		size = size < SLAB_MAX ? size : SLAB_MAX;
		slab = arena_alloc(b->a, size);
		if (!slab)
			return NULL;
		slab->file = b->file;
		b->slab = slab;
		b->slab_size = size;
		b->slab_used = SLAB_HEAD;
	}
	/* The slab is zeroed arena memory: what is not set here stays 0. */
	n = (struct node *)((char *)b->slab + b->slab_used);
	n->type = t;
	n->line = line;
	n->col = col;
	n->home = (uint32_t)b->slab_used;
	b->slab_used += sizeof(*n);
	return n;
}

static char *copy_string(struct tree_builder *b, const char *s, size_t len)
{
	char *p;

	if (len >= CHUNK_SIZE / 4)
		return arena_strndup(b->a, s, len);
	if ((size_t)(b->chars_end - b->chars) <= len) {
		b->chars = arena_alloc(b->a, CHUNK_SIZE);
		if (!b->chars) {
			b->chars_end = NULL;
			return NULL;
		}
		b->chars_end = b->chars + CHUNK_SIZE;
	}
	p = b->chars;
	memcpy(p, s, len);
	p[len] = '\0';
	b->chars += len + 1;
	return p;
}

static uint32_t hash_short(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	if (len) {
		w = 0;
		memcpy(&w, s, len);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	return (uint32_t)(h ^ (h >> 33));
}

/* memcmp for a few bytes, without the call: this runs for most strings of a file. */
static bool same_short(const char *x, const char *y, size_t len)
{
	uint64_t a, b;

	for (; len >= 8; x += 8, y += 8, len -= 8) {
		memcpy(&a, x, 8);
		memcpy(&b, y, 8);
		if (a != b)
			return false;
	}
	for (; len; x++, y++, len--)
		if (*x != *y)
			return false;
	return true;
}

/* Keeps the index at most half full. */
static int intern_grow(struct tree_builder *b)
{
	size_t cap = b->capstrs ? b->capstrs * 2 : 1024;
	struct tree_str *strs = calloc(cap, sizeof(*strs));

	if (!strs)
		return -ENOMEM;
	for (size_t i = 0; i < b->capstrs; i++) {
		size_t k = b->strs[i].hash & (cap - 1);

		if (!b->strs[i].s)
			continue;
		while (strs[k].s)
			k = (k + 1) & (cap - 1);
		strs[k] = b->strs[i];
	}
	free(b->strs);
	b->strs = strs;
	b->capstrs = cap;
	return 0;
}

const char *tree_string(struct tree_builder *b, const char *s, size_t len)
{
	size_t k, probes = 0;
	char *copy;
	uint32_t h;

	if (len > INTERN_MAX_LEN || b->no_intern)
		return copy_string(b, s, len);
	if ((b->nstrs + 1) * 2 > b->capstrs && b->nstrs < INTERN_MAX && intern_grow(b) < 0)
		return NULL;
	h = hash_short(s, len);
	for (k = h & (b->capstrs - 1); b->strs[k].s; k = (k + 1) & (b->capstrs - 1)) {
		const struct tree_str *e = &b->strs[k];

		if (e->hash == h && e->len == len && same_short(e->s, s, len))
			return e->s;
		if (++probes == INTERN_PROBES)
			return copy_string(b, s, len);
	}
	copy = copy_string(b, s, len);
	if (copy && b->nstrs < INTERN_MAX) {
		b->strs[k] = (struct tree_str){ .s = copy, .len = (uint32_t)len, .hash = h };
		b->nstrs++;
	}
	return copy;
}

int tree_set_items(struct tree_builder *b, struct node *n, struct node *const *kids, size_t k)
{
	if (!k)
		return 0;
	n->items = arena_alloc(b->a, k * sizeof(*n->items));
	if (!n->items)
		return -ENOMEM;
	memcpy(n->items, kids, k * sizeof(*n->items));
	n->n = (uint32_t)k;
	return 0;
}

int tree_set_pairs(struct tree_builder *b, struct node *n, struct node *const *kids, size_t k)
{
	if (k < 2)
		return 0;
	n->pairs = arena_alloc(b->a, k / 2 * sizeof(*n->pairs));
	if (!n->pairs)
		return -ENOMEM;
	for (size_t i = 0; i < k / 2; i++)
		n->pairs[i] = (struct node_pair){ .key = kids[2 * i], .value = kids[2 * i + 1] };
	n->n = (uint32_t)(k / 2);
	return 0;
}

/* ---- messages ---- */

size_t tree_utf8_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t want;

	if (!n)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	want = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	/* RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (want > n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < want; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return want;
}

/* The printable form of the character at s into esc; *step is how many bytes it used. */
static size_t quote_one(const unsigned char *s, size_t n, char esc[static 8], size_t *step)
{
	size_t seq = tree_utf8_len((const char *)s, n);

	*step = seq > 1 ? seq : 1;
	if (seq > 1) {
		memcpy(esc, s, seq);
		return seq;
	}
	if (s[0] == '\n')
		return (size_t)snprintf(esc, 8, "\\n");
	if (s[0] == '\t')
		return (size_t)snprintf(esc, 8, "\\t");
	if (s[0] == '\\' || s[0] == '\'')
		return (size_t)snprintf(esc, 8, "\\%c", s[0]);
	if (s[0] < 0x20 || s[0] >= 0x7f)
		return (size_t)snprintf(esc, 8, "\\x%02x", s[0]);
	esc[0] = (char)s[0];
	return 1;
}

/*
 * Messages are single lines and valid UTF-8, so control characters and
 * stray bytes are escaped, and a long value is cut at a character boundary.
 */
const char *tree_quote(char *out, size_t size, const char *s, size_t len)
{
	static const char ellipsis[] = "...";
	const unsigned char *u = (const unsigned char *)s;
	size_t pos = 0, i = 0, step, n;
	char esc[8];

	if (size < sizeof(ellipsis) + 1) {
		if (size)
			out[0] = '\0';
		return out;
	}
	while (i < len) {
		n = quote_one(u + i, len - i, esc, &step);
		if (pos + n > size - sizeof(ellipsis))
			break;
		memcpy(out + pos, esc, n);
		pos += n;
		i += step;
	}
	if (i < len) {
		memcpy(out + pos, ellipsis, sizeof(ellipsis) - 1);
		pos += sizeof(ellipsis) - 1;
	}
	out[pos] = '\0';
	return out;
}

struct loc tree_offset_loc(const char *buf, size_t len, size_t off, const char *name)
{
	struct loc loc = { .file = name, .line = 1, .col = 1 };

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n') {
			loc.line++;
			loc.col = 1;
		} else if ((c & 0xc0) != 0x80) {
			loc.col++;
		}
	}
	return loc;
}

size_t tree_loc_offset(const char *buf, size_t len, const struct loc *loc)
{
	size_t i = 0;

	for (uint32_t line = 1; i < len && line < loc->line; i++)
		if (buf[i] == '\n')
			line++;
	for (uint32_t col = 1; i < len && col < loc->col; col++) {
		i++;
		while (i < len && ((unsigned char)buf[i] & 0xc0) == 0x80)
			i++;
	}
	return i;
}

int tree_check_size(size_t len, const char *name, struct diag *d)
{
	struct loc loc = { .file = name };

	if (len > TREE_MAX_FILE_SIZE)
		return diag_error(d, &loc, "file of %zu bytes is too large, expected at most %u bytes",
				  len, TREE_MAX_FILE_SIZE);
	return 0;
}

int tree_error_depth(struct diag *d, const struct loc *loc)
{
	return diag_error(d, loc, "nesting deeper than %d levels", TREE_MAX_DEPTH);
}

int tree_error_nodes(struct diag *d, const struct loc *loc)
{
	return diag_error(d, loc, "more than %u values in one file (an alias counts as the values it repeats)",
			  TREE_MAX_NODES);
}

void *tree_grow(void *v, size_t *cap, size_t need, size_t elem)
{
	size_t cap2 = *cap ? *cap : 16;

	if (need <= *cap)
		return v;
	while (cap2 < need)
		cap2 *= 2;
	v = reallocarray(v, cap2, elem);
	if (v)
		*cap = cap2;
	return v;
}

struct key_ref {
	const struct node *key;
	size_t idx;
	size_t first;	/* index of the earlier equal key, or SIZE_MAX */
};

static int cmp_key_text(const struct node *x, const struct node *y)
{
	int r = memcmp(x->str, y->str, x->len < y->len ? x->len : y->len);

	if (r)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int cmp_key_ref(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int r = cmp_key_text(x->key, y->key);

	if (r)
		return r;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_key_idx(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Each duplicate is reported at its own position, in document order. */
static int report_duplicates(const struct node *map, struct key_ref *refs, struct diag *d)
{
	char q[TREE_QUOTE_SIZE];
	struct loc loc;
	int r = 0;

	qsort(refs, map->n, sizeof(*refs), cmp_key_idx);
	for (size_t i = 0; i < map->n; i++) {
		const struct node *k = refs[i].key;

		if (refs[i].first == SIZE_MAX)
			continue;
		loc = node_loc(k);
		r = diag_error(d, &loc, "duplicate key '%s', first defined on line %u",
			       tree_quote(q, sizeof(q), k->str, k->len), map->pairs[refs[i].first].key->line);
		if (r == -ENOMEM)
			return r;
	}
	return r;
}

/* Equal short keys are usually one interned string: the pointers say so without a memcmp. */
static bool same_key(const struct node *x, const struct node *y)
{
	return x->len == y->len && (x->str == y->str || memcmp(x->str, y->str, x->len) == 0);
}

/* Most mappings are small: comparing every pair is cheaper than a calloc and a sort. */
static bool small_without_duplicates(const struct node *map)
{
	if (map->n > 12)
		return false;
	for (size_t i = 1; i < map->n; i++)
		for (size_t j = 0; j < i; j++)
			if (same_key(map->pairs[i].key, map->pairs[j].key))
				return false;
	return true;
}

/* Sorting, not pairwise comparison: a mapping of 100,000 keys must not take 10^10 steps. */
int tree_check_duplicates(const struct node *map, struct diag *d)
{
	struct key_ref *refs;
	size_t dups = 0;
	int r = 0;

	if (map->n < 2 || small_without_duplicates(map))
		return 0;
	refs = calloc(map->n, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < map->n; i++)
		refs[i] = (struct key_ref){ .key = map->pairs[i].key, .idx = i, .first = SIZE_MAX };
	qsort(refs, map->n, sizeof(*refs), cmp_key_ref);
	for (size_t i = 1; i < map->n; i++) {
		if (cmp_key_text(refs[i - 1].key, refs[i].key) == 0) {
			refs[i].first = refs[i - 1].first != SIZE_MAX ? refs[i - 1].first : refs[i - 1].idx;
			dups++;
		}
	}
	if (dups)
		r = report_duplicates(map, refs, d);
	free(refs);
	return r;
}

static bool looks_like_json(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (buf[i]) {
		case ' ': case '\t': case '\r': case '\n':
			continue;
		case '{': case '[':
			return true;
		default:
			return false;
		}
	}
	return false;
}

int tree_parse_stream(const char *buf, size_t len, const char *name, struct arena *a,
		      struct diag *d, struct doc **ret_docs, const struct tree_stream *stream)
{
	static const char bom[] = "\xef\xbb\xbf";
	size_t skip = 0;

	if (!buf) {
		buf = "";
		len = 0;
	}
	/* Editors on Windows write a UTF-8 BOM; libyaml skips it, RFC 8259 lets a JSON parser ignore it. */
	if (len >= 3 && memcmp(buf, bom, 3) == 0)
		skip = 3;
	if (looks_like_json(buf + skip, len - skip))
		return tree_parse_json_stream(buf + skip, len - skip, name, a, d, ret_docs, stream);
	return tree_parse_yaml_stream(buf, len, name, a, d, ret_docs, stream);
}

int tree_parse(const char *buf, size_t len, const char *name, struct arena *a,
	       struct diag *d, struct doc **ret_docs)
{
	return tree_parse_stream(buf, len, name, a, d, ret_docs, NULL);
}
