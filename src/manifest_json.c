// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * JSON text -> tree.  jansson does the parsing and reports syntax errors,
 * but keeps no positions for values, so a small scanner first walks the
 * same bytes and records where each value and each object key starts, in
 * document order.  The tree is then built by walking jansson's value in
 * that same order: jansson 2.14 iterates an object's keys in insertion
 * order (test_tree.c checks this), and JSON_REJECT_DUPLICATES guarantees
 * no key was overwritten.  Every value is checked against the byte its
 * recorded position points at, so a disagreement is caught, not silently
 * misreported.
 *
 * The scanner also enforces the depth and size limits before jansson
 * builds anything, which is what keeps a 10,000-deep "[[[[" from reaching
 * jansson's recursive parser.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "tree.h"

struct jpos {
	size_t off;
	uint32_t line, col;
};

struct jscan {
	const char *buf, *name;
	size_t len, i;
	uint32_t line, col;	/* of buf[i]; col counts UTF-8 characters, as jansson does */
	size_t depth;
	struct jpos *pos;	/* starts of values and keys, in document order */
	size_t npos, cap;
	struct diag *d;
};

struct jbuild {
	struct arena *a;
	struct diag *d;
	const char *name, *buf;
	size_t len;
	const struct jpos *pos;
	size_t npos, next;
};

/* ---- position scanner ---- */

static void scan_advance(struct jscan *s)
{
	unsigned char c = (unsigned char)s->buf[s->i++];

	if (c == '\n') {
		s->line++;
		s->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		s->col++;
	}
}

static struct loc scan_loc(const struct jscan *s)
{
	return (struct loc){ .file = s->name, .line = s->line, .col = s->col };
}

static int scan_record(struct jscan *s)
{
	struct jpos *p;
	struct loc loc;

	if (s->npos == TREE_MAX_NODES) {
		loc = scan_loc(s);
		return tree_error_nodes(s->d, &loc);
	}
	p = tree_grow(s->pos, &s->cap, s->npos + 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->pos = p;
	s->pos[s->npos++] = (struct jpos){ .off = s->i, .line = s->line, .col = s->col };
	return 0;
}

/* From the opening quote to past the closing one; an unterminated string is jansson's to report. */
static void scan_string(struct jscan *s)
{
	scan_advance(s);
	while (s->i < s->len) {
		char c = s->buf[s->i];

		scan_advance(s);
		if (c == '"')
			return;
		if (c == '\\' && s->i < s->len)
			scan_advance(s);
	}
}

static bool is_delimiter(char c)
{
	return strchr(" \t\r\n,:[]{}\"", c) != NULL;
}

/* Numbers, true, false, null, and whatever garbage jansson will reject. */
static void scan_literal(struct jscan *s)
{
	do
		scan_advance(s);
	while (s->i < s->len && !is_delimiter(s->buf[s->i]));
}

static int scan_open(struct jscan *s)
{
	struct loc loc;
	int r;

	if (s->depth == TREE_MAX_DEPTH) {
		loc = scan_loc(s);
		return tree_error_depth(s->d, &loc);
	}
	r = scan_record(s);
	if (r < 0)
		return r;
	s->depth++;
	scan_advance(s);
	return 0;
}

/* Keys and values are not told apart: the tree walk consumes them in the same order. */
static int scan(struct jscan *s)
{
	int r = 0;

	while (s->i < s->len && r == 0) {
		switch (s->buf[s->i]) {
		case ' ': case '\t': case '\r': case '\n': case ',': case ':':
			scan_advance(s);
			break;
		case '{': case '[':
			r = scan_open(s);
			break;
		case '}': case ']':
			if (s->depth)
				s->depth--;
			scan_advance(s);
			break;
		case '"':
			r = scan_record(s);
			scan_string(s);
			break;
		default:
			r = scan_record(s);
			scan_literal(s);
			break;
		}
	}
	return r;
}

/* ---- tree from jansson's value ---- */

static int build_value(struct jbuild *b, json_t *v, size_t depth, struct node **ret);

/* The next recorded position, if it starts with one of the bytes in first. */
static int take_pos(struct jbuild *b, const char *first, struct loc *ret_loc, size_t *ret_off)
{
	const struct jpos *p;
	struct loc loc = { .file = b->name };

	if (b->next >= b->npos || !b->buf[b->pos[b->next].off] ||
	    !strchr(first, b->buf[b->pos[b->next].off])) {
		if (b->next < b->npos)
			loc = (struct loc){ b->name, b->pos[b->next].line, b->pos[b->next].col };
		return diag_error(b->d, &loc, "internal error: JSON value positions are out of step with the parser");
	}
	p = &b->pos[b->next++];
	*ret_loc = (struct loc){ .file = b->name, .line = p->line, .col = p->col };
	*ret_off = p->off;
	return 0;
}

static int build_string(struct jbuild *b, const char *s, size_t len, struct node **ret)
{
	struct node *n;
	struct loc loc;
	size_t off;
	int r = take_pos(b, "\"", &loc, &off);

	if (r < 0)
		return r;
	n = tree_node_new(b->a, NODE_STRING, &loc);
	if (!n)
		return -ENOMEM;
	/* With JSON_ALLOW_NUL a string may hold "\u0000": len, not strlen, is its length. */
	n->str = arena_strndup(b->a, s, len);
	if (!n->str)
		return -ENOMEM;
	n->len = len;
	*ret = n;
	return 0;
}

static bool is_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Integers by their text ("80", not "80.0" or "8e1"); one beyond int64 becomes a float. */
static int build_number(struct jbuild *b, json_t *v, struct node **ret)
{
	struct node *n;
	struct loc loc;
	size_t off, len;
	int r = take_pos(b, "-0123456789", &loc, &off);

	if (r < 0)
		return r;
	/* buf has no terminator: bound the span by the buffer, not by a NUL. */
	for (len = 0; off + len < b->len && is_number_char(b->buf[off + len]); len++)
		;
	n = tree_node_new(b->a, NODE_FLOAT, &loc);
	if (!n || !(n->str = arena_strndup(b->a, b->buf + off, len)))
		return -ENOMEM;
	n->len = len;
	n->f = json_number_value(v);
	if (!strpbrk(n->str, ".eE")) {
		errno = 0;
		n->i = strtoll(n->str, NULL, 10);
		if (errno != ERANGE)
			n->type = NODE_INT;
	}
	if (n->type == NODE_INT)
		n->f = 0;
	else
		n->i = 0;
	*ret = n;
	return 0;
}

static int build_literal(struct jbuild *b, json_t *v, struct node **ret)
{
	const char *text = json_is_null(v) ? "null" : json_is_true(v) ? "true" : "false";
	struct node *n;
	struct loc loc;
	size_t off;
	int r = take_pos(b, "ntf", &loc, &off);

	if (r < 0)
		return r;
	n = tree_node_new(b->a, json_is_null(v) ? NODE_NULL : NODE_BOOL, &loc);
	if (!n)
		return -ENOMEM;
	n->b = json_is_true(v);
	n->str = text;
	n->len = strlen(text);
	*ret = n;
	return 0;
}

static int build_array(struct jbuild *b, json_t *v, size_t depth, struct node *n)
{
	size_t k = json_array_size(v);
	int r;

	if (!k)
		return 0;
	n->items = arena_alloc(b->a, k * sizeof(*n->items));
	if (!n->items)
		return -ENOMEM;
	for (size_t i = 0; i < k; i++) {
		r = build_value(b, json_array_get(v, i), depth + 1, &n->items[i]);
		if (r < 0)
			return r;
	}
	n->n = k;
	return 0;
}

static int build_object(struct jbuild *b, json_t *v, size_t depth, struct node *n)
{
	size_t k = json_object_size(v), i = 0;
	int r;

	if (!k)
		return 0;
	n->pairs = arena_alloc(b->a, k * sizeof(*n->pairs));
	if (!n->pairs)
		return -ENOMEM;
	for (void *it = json_object_iter(v); it && i < k; it = json_object_iter_next(v, it), i++) {
		r = build_string(b, json_object_iter_key(it), json_object_iter_key_len(it),
				 &n->pairs[i].key);
		if (r < 0)
			return r;
		r = build_value(b, json_object_iter_value(it), depth + 1, &n->pairs[i].value);
		if (r < 0)
			return r;
	}
	n->n = i;
	return 0;
}

/* Recursion is bounded: the scanner refused anything deeper than TREE_MAX_DEPTH. */
static int build_collection(struct jbuild *b, json_t *v, size_t depth, struct node **ret)
{
	bool obj = json_is_object(v);
	struct node *n;
	struct loc loc;
	size_t off;
	int r = take_pos(b, obj ? "{" : "[", &loc, &off);

	if (r < 0)
		return r;
	if (depth > TREE_MAX_DEPTH)
		return tree_error_depth(b->d, &loc);
	n = tree_node_new(b->a, obj ? NODE_MAP : NODE_SEQ, &loc);
	if (!n)
		return -ENOMEM;
	r = obj ? build_object(b, v, depth, n) : build_array(b, v, depth, n);
	if (r < 0)
		return r;
	*ret = n;
	return 0;
}

static int build_value(struct jbuild *b, json_t *v, size_t depth, struct node **ret)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		return build_collection(b, v, depth, ret);
	case JSON_STRING:
		return build_string(b, json_string_value(v), json_string_length(v), ret);
	case JSON_INTEGER:
	case JSON_REAL:
		return build_number(b, v, ret);
	default:
		return build_literal(b, v, ret);
	}
}

/* ---- errors ---- */

/* The key's text decoded ("\u00e9" -> "é") by jansson itself, from the raw token at off. */
static int duplicate_key_error(const struct jscan *s, const struct jpos *p)
{
	struct loc loc = { .file = s->name, .line = p->line, .col = p->col };
	char q[TREE_QUOTE_SIZE];
	size_t end = p->off + 1;
	json_t *key;
	int r;

	while (end < s->len && s->buf[end] != '"')
		end += s->buf[end] == '\\' ? 2 : 1;
	key = end < s->len ? json_loadb(s->buf + p->off, end + 1 - p->off,
					 JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
	if (!json_is_string(key)) {
		json_decref(key);
		return diag_error(s->d, &loc, "duplicate key");
	}
	r = diag_error(s->d, &loc, "duplicate key '%s'",
		       tree_quote(q, sizeof(q), json_string_value(key), json_string_length(key)));
	json_decref(key);
	return r;
}

/* jansson reports a duplicate just after the key: the last string recorded before that. */
static const struct jpos *duplicate_key_pos(const struct jscan *s, size_t err_off)
{
	for (size_t k = s->npos; k-- > 0;)
		if (s->pos[k].off < err_off && s->buf[s->pos[k].off] == '"')
			return &s->pos[k];
	return NULL;
}

static int parse_error(const struct jscan *s, const json_error_t *e)
{
	/* jansson's column is 0 before the first character of a line (an empty file, say). */
	struct loc loc = { .file = s->name, .line = e->line > 0 ? (uint32_t)e->line : 0,
			   .col = e->line > 0 ? (e->column > 0 ? (uint32_t)e->column : 1) : 0 };
	const struct jpos *p;
	char text[JSON_ERROR_TEXT_LENGTH];

	if (json_error_code(e) == json_error_out_of_memory)
		return -ENOMEM;
	if (json_error_code(e) == json_error_duplicate_key && e->position >= 0 &&
	    (p = duplicate_key_pos(s, (size_t)e->position)))
		return duplicate_key_error(s, p);
	/* jansson's "near '...'" quotes the input: keep the message on one line. */
	snprintf(text, sizeof(text), "%s", e->text);
	for (char *t = text; *t; t++)
		if ((unsigned char)*t < 0x20 || *t == 0x7f)
			*t = ' ';
	return diag_error(s->d, &loc, "invalid JSON: %s", text);
}

/* A NUL ends no JSON text, but jansson's message for one after the value is misleading. */
static int check_nul(const char *buf, size_t len, const char *name, struct diag *d)
{
	const char *nul = memchr(buf, '\0', len);
	struct loc loc;

	if (!nul)
		return 0;
	loc = tree_offset_loc(buf, len, (size_t)(nul - buf), name);
	return diag_error(d, &loc, "invalid JSON: found a NUL byte, expected text");
}

static int load(struct jscan *s, struct arena *a, struct doc **ret_docs)
{
	/*
	 * Integers as reals, so that one beyond int64 is a float rather than
	 * jansson's "too big integer"; build_number types them by their text.
	 */
	const size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL;
	struct jbuild b = { .a = a, .d = s->d, .name = s->name, .buf = s->buf, .len = s->len,
			    .pos = s->pos, .npos = s->npos };
	struct doc *doc;
	json_error_t e;
	json_t *v = json_loadb(s->buf, s->len, flags, &e);
	int r;

	if (!v)
		return parse_error(s, &e);
	doc = arena_alloc(a, sizeof(*doc));
	r = doc ? build_value(&b, v, 1, &doc->root) : -ENOMEM;
	json_decref(v);
	if (r == 0)
		*ret_docs = doc;
	return r;
}

int tree_parse_json(const char *buf, size_t len, const char *name, struct arena *a,
		    struct diag *d, struct doc **ret_docs)
{
	struct jscan s = { .buf = buf ? buf : "", .len = buf ? len : 0, .name = name,
			   .line = 1, .col = 1, .d = d };
	int r = tree_check_size(len, name, d);

	if (r < 0)
		return r;
	r = check_nul(s.buf, s.len, name, d);
	if (r == 0)
		r = scan(&s);
	if (r == 0)
		r = load(&s, a, ret_docs);
	free(s.pos);
	return r;
}
