// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The generic document tree: lookups, the YAML/JSON dispatch, and the
 * helpers both parsers use so that their limits and messages read the same.
 */
#define _GNU_SOURCE
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

struct node *tree_node_new(struct arena *a, enum node_type t, const struct loc *loc)
{
	struct node *n = arena_alloc(a, sizeof(*n));

	if (!n)
		return NULL;
	n->type = t;
	n->loc = *loc;
	return n;
}

/* Length of the UTF-8 sequence at s (n bytes available), 0 if there is none. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t want;

	if (s[0] < 0x80)
		return 1;
	want = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3 :
	       s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (!want || want > n)
		return 0;
	for (size_t k = 1; k < want; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return want;
}

/* The printable form of the character at s into esc; *step is how many bytes it used. */
static size_t quote_one(const unsigned char *s, size_t n, char esc[static 8], size_t *step)
{
	size_t seq = utf8_seq_len(s, n);

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
	int r = 0;

	qsort(refs, map->n, sizeof(*refs), cmp_key_idx);
	for (size_t i = 0; i < map->n; i++) {
		const struct node *k = refs[i].key;

		if (refs[i].first == SIZE_MAX)
			continue;
		r = diag_error(d, &k->loc, "duplicate key '%s', first defined on line %u",
			       tree_quote(q, sizeof(q), k->str, k->len),
			       map->pairs[refs[i].first].key->loc.line);
		if (r == -ENOMEM)
			return r;
	}
	return r;
}

/* Sorting, not pairwise comparison: a mapping of 100,000 keys must not take 10^10 steps. */
int tree_check_duplicates(const struct node *map, struct diag *d)
{
	struct key_ref *refs;
	size_t dups = 0;
	int r = 0;

	if (map->n < 2)
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

int tree_parse(const char *buf, size_t len, const char *name, struct arena *a,
	       struct diag *d, struct doc **ret_docs)
{
	static const char bom[] = "\xef\xbb\xbf";
	size_t skip = 0;

	if (!buf) {
		buf = "";
		len = 0;
	}
	/* Editors on Windows write a UTF-8 BOM; libyaml skips it, jansson would refuse it. */
	if (len >= 3 && memcmp(buf, bom, 3) == 0)
		skip = 3;
	if (looks_like_json(buf + skip, len - skip))
		return tree_parse_json(buf + skip, len - skip, name, a, d, ret_docs);
	return tree_parse_yaml(buf, len, name, a, d, ret_docs);
}
