// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * JSON text -> tree, in one pass, straight into the arena.
 *
 * RFC 8259, strictly: no comments, no trailing commas, no NaN or Infinity,
 * no single quotes; strings must be valid UTF-8, and \u escapes (surrogate
 * pairs included) are decoded to UTF-8.  A manifest is an object, or a
 * List in one, so the text must start with '{' or '['.  Integers that fit
 * in int64 are NODE_INT; any other number is NODE_FLOAT; either keeps its
 * text in str.  Two limits RFC 8259 leaves to implementations: a number
 * beyond the range of a double, and a key holding \u0000, are refused (a
 * string value may hold one; len says where it ends).
 *
 * Nothing recurses: open collections sit on a frame stack bounded by
 * TREE_MAX_DEPTH, their children on one shared value stack that is copied
 * into an exact-size array when the collection closes, as in the YAML
 * parser.  Positions cost nothing extra: the line, the byte its line starts
 * at, and the UTF-8 continuation bytes seen since (only strings hold any)
 * give every value's line:col as the scanner passes it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

/* What the parser expects next. */
enum want {
	WANT_VALUE,		/* after ':' */
	WANT_ITEM,		/* after ',' in an array */
	WANT_FIRST_ITEM,	/* after '[' */
	WANT_KEY,		/* after ',' in an object */
	WANT_FIRST_KEY,		/* after '{' */
	WANT_NEXT,		/* after a value: ',' or the closing bracket */
};

struct frame {
	struct node *node;
	size_t base;		/* its children start here on the value stack */
	bool stream;		/* the top-level "items" array, read item by item */
};

struct jctx {
	const unsigned char *buf, *p, *end;
	const char *name;
	struct diag *d;
	struct tree_builder tb;
	uint32_t line;			/* of p */
	const unsigned char *line_start;
	size_t cont;			/* UTF-8 continuation bytes in [line_start, p) */
	struct frame frames[TREE_MAX_DEPTH];
	size_t depth;
	struct node **stack;		/* children of the open collections, in order */
	size_t nstack, capstack;
	char *scratch;			/* a string with escapes, decoded */
	size_t capscratch;
	bool escaped;			/* the last string had escapes: only then can it hold a NUL */
	size_t nodes;			/* values and keys so far, against TREE_MAX_NODES */
	locale_t c_locale;		/* "1.5" must not depend on the caller's LC_NUMERIC; made on first use */
	struct node *root;
	int err;			/* set by errors after which reading goes on (duplicate keys) */
	const struct tree_stream *stream;
	struct tree_builder item_tb;	/* swapped with tb while an item is read */
	struct arena item_arena;	/* an item's tree; reset after each */
	bool in_item;
};

/* Bytes that stand for themselves inside a string: not '"', '\\', controls or non-ASCII. */
static const unsigned char plain[256] = {
	[0x20 ... '"' - 1] = 1, ['"' + 1 ... '\\' - 1] = 1, ['\\' + 1 ... 0x7f] = 1,
};

/* ---- errors ---- */

__attribute__((format(printf, 3, 4)))
static int error_at(const struct jctx *j, const unsigned char *at, const char *fmt, ...)
{
	struct loc loc = tree_offset_loc((const char *)j->buf, (size_t)(j->end - j->buf),
					 (size_t)(at - j->buf), j->name);
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return diag_error(j->d, &loc, "invalid JSON: %s", msg);
}

static bool is_word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '+' || c == '.';
}

/* What is at `at`, for "found ...": 'NaN', '}', 'é', byte 0xff, end of file. */
static const char *describe(const struct jctx *j, const unsigned char *at, char *out, size_t size)
{
	size_t left = (size_t)(j->end - at), n = 1;
	char q[TREE_QUOTE_SIZE];

	if (!left)
		return "end of file";
	if (is_word_char(*at))
		while (n < left && n < 24 && is_word_char(at[n]))
			n++;
	else if (*at >= 0x80)
		n = tree_utf8_len((const char *)at, left);
	if (!n || *at < 0x20 || *at == 0x7f) {
		snprintf(out, size, "byte 0x%02x", *at);
		return out;
	}
	snprintf(out, size, "'%s'", tree_quote(q, sizeof(q), (const char *)at, n));
	return out;
}

/* The usual mistakes get a word of explanation. */
static const char *hint(const unsigned char *at, const unsigned char *end)
{
	if (at == end)
		return "";
	switch (*at) {
	case '/':
		return " (JSON has no comments)";
	case '\'':
		return " (JSON strings take double quotes)";
	}
	return "";
}

static int error_expected(const struct jctx *j, const char *what)
{
	char found[TREE_QUOTE_SIZE + 4];

	return error_at(j, j->p, "found %s, expected %s%s", describe(j, j->p, found, sizeof(found)),
			what, hint(j->p, j->end));
}

/* ---- scanning ---- */

/* Pretty-printed JSON (kubectl indents by 4 per level) is about half spaces: skip them 8 at a time. */
static const unsigned char *skip_blanks(const unsigned char *p, const unsigned char *end)
{
	static const uint64_t eight_spaces = 0x2020202020202020ull;
	uint64_t w;

	while (end - p >= 8) {
		memcpy(&w, p, 8);
		if (w != eight_spaces)
			break;
		p += 8;
	}
	return p;
}

static void skip_space(struct jctx *j)
{
	const unsigned char *p = j->p;

	for (; p < j->end; p++) {
		if (*p == '\n') {
			j->line++;
			j->line_start = p + 1;
			j->cont = 0;
			p = skip_blanks(p + 1, j->end) - 1;
		} else if (*p != ' ' && *p != '\t' && *p != '\r') {
			break;
		}
	}
	j->p = p;
}

static uint32_t col_of(const struct jctx *j)
{
	return (uint32_t)((size_t)(j->p - j->line_start) - j->cont + 1);
}

/* A node at p, counted against the limit. */
static int new_node(struct jctx *j, enum node_type t, struct node **ret)
{
	struct node *n;
	struct loc loc;

	if (j->nodes == TREE_MAX_NODES) {
		loc = tree_offset_loc((const char *)j->buf, (size_t)(j->end - j->buf),
				      (size_t)(j->p - j->buf), j->name);
		return tree_error_nodes(j->d, &loc);
	}
	j->nodes++;
	n = tree_node(&j->tb, t, j->line, col_of(j));
	if (!n)
		return -ENOMEM;
	*ret = n;
	return 0;
}

/* Attaches n to the open collection, or makes it the root. */
static int push(struct jctx *j, struct node *n)
{
	struct node **stack;

	if (!j->depth) {
		j->root = n;
		return 0;
	}
	stack = tree_grow(j->stack, &j->capstack, j->nstack + 1, sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	j->stack = stack;
	j->stack[j->nstack++] = n;
	return 0;
}

/* ---- strings ---- */

static int scratch_put(struct jctx *j, size_t *used, const void *s, size_t n)
{
	char *p;

	if (!n)
		return 0;
	p = tree_grow(j->scratch, &j->capscratch, *used + n, 1);
	if (!p)
		return -ENOMEM;
	j->scratch = p;
	memcpy(p + *used, s, n);
	*used += n;
	return 0;
}

static bool hex4(const unsigned char *s, const unsigned char *end, uint32_t *ret)
{
	uint32_t v = 0;

	if (end - s < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + ((c | 0x20) - 'a' + 10);
		else
			return false;
	}
	*ret = v;
	return true;
}

static size_t utf8_encode(uint32_t cp, char out[static 4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX at q, with its low surrogate if it is a high one; *ret_len: the bytes it took. */
static int decode_unicode(const struct jctx *j, const unsigned char *q, uint32_t *ret_cp, size_t *ret_len)
{
	uint32_t cp, lo;

	if (!hex4(q + 2, j->end, &cp))
		return error_at(j, q, "found '\\u' without four hex digits after it, expected \\uXXXX");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return error_at(j, q, "found '\\u%04x', a low surrogate with no high one before it, expected a character or a surrogate pair",
				cp);
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (j->end - q < 12 || q[6] != '\\' || q[7] != 'u' || !hex4(q + 8, j->end, &lo) ||
		    lo < 0xdc00 || lo > 0xdfff)
			return error_at(j, q, "found '\\u%04x', a high surrogate, expected a low surrogate '\\udc00'-'\\udfff' right after it",
					cp);
		*ret_cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		*ret_len = 12;
		return 0;
	}
	*ret_cp = cp;
	*ret_len = 6;
	return 0;
}

/* The escape at *qp (a backslash), decoded onto the scratch; *qp moves past it. */
static int decode_escape(struct jctx *j, const unsigned char **qp, size_t *used)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const unsigned char *q = *qp;
	const char *k = q + 1 < j->end && q[1] ? strchr(from, q[1]) : NULL;
	char utf8[4];
	uint32_t cp = 0;
	size_t len = 0;
	int r;

	if (q + 1 == j->end)
		return error_at(j, q + 1, "found end of file, expected an escape after '\\' and a closing '\"'");
	if (k) {
		*qp = q + 2;
		return scratch_put(j, used, &to[k - from], 1);
	}
	if (q[1] != 'u') {
		if (q[1] > 0x20 && q[1] < 0x7f)
			return error_at(j, q, "found '\\%c', expected one of the escapes \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
					q[1]);
		return error_at(j, q, "found byte 0x%02x after '\\', expected one of the escapes \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
				q[1]);
	}
	r = decode_unicode(j, q, &cp, &len);
	if (r < 0)
		return r;
	*qp = q + len;
	return scratch_put(j, used, utf8, utf8_encode(cp, utf8));
}

/*
 * Past the plain bytes of a string, eight at a time while none of them can
 * end the run: a control character, '"', '\\' or a byte of UTF-8 beyond
 * ASCII.  Each test below is the classic exact "some byte is zero" (or "is
 * less than n") word test.
 */
static const unsigned char *skip_plain(const unsigned char *q, const unsigned char *end)
{
	static const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t w, quote, backslash;

	while (end - q >= 8) {
		memcpy(&w, q, 8);
		quote = w ^ (ones * '"');
		backslash = w ^ (ones * '\\');
		if ((((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | ((w - ones * 0x20) & ~w) | w) & highs)
			break;
		q += 8;
	}
	while (q < end && plain[*q])
		q++;
	return q;
}

/*
 * The string at p (its opening quote): *ret_s is its text, in the input
 * when it has no escapes, else decoded in the scratch buffer.
 */
static int scan_string(struct jctx *j, const char **ret_s, size_t *ret_len)
{
	const unsigned char *start = j->p, *q = start + 1, *seg = q;
	size_t used = 0, k;
	bool escaped = false;
	int r;

	for (;;) {
		q = skip_plain(q, j->end);
		if (q == j->end) {
			struct loc at = tree_offset_loc((const char *)j->buf, (size_t)(j->end - j->buf),
							(size_t)(start - j->buf), j->name);

			return error_at(j, q, "found end of file, expected '\"' to close the string at line %u col %u",
					at.line, at.col);
		}
		if (*q == '"')
			break;
		if (*q >= 0x80) {
			k = tree_utf8_len((const char *)q, (size_t)(j->end - q));
			if (!k)
				return error_at(j, q, "found byte 0x%02x in a string, expected UTF-8 text", *q);
			j->cont += k - 1;
			q += k;
			continue;
		}
		if (*q != '\\')
			return error_at(j, q, "found control character 0x%02x in a string, expected it escaped, as \\u%04x",
					*q, *q);
		r = scratch_put(j, &used, seg, (size_t)(q - seg));
		if (r == 0)
			r = decode_escape(j, &q, &used);
		if (r < 0)
			return r;
		seg = q;
		escaped = true;
	}
	if (escaped) {
		r = scratch_put(j, &used, seg, (size_t)(q - seg));
		if (r < 0)
			return r;
		*ret_s = j->scratch;
		*ret_len = used;
	} else {
		*ret_s = (const char *)start + 1;
		*ret_len = (size_t)(q - start - 1);
	}
	j->escaped = escaped;
	j->p = q + 1;
	return 0;
}

static int parse_string(struct jctx *j)
{
	struct node *n;
	const char *s = NULL;
	size_t len = 0;
	int r = new_node(j, NODE_STRING, &n);

	if (r == 0)
		r = scan_string(j, &s, &len);
	if (r < 0)
		return r;
	n->str = tree_string(&j->tb, s, len);
	if (!n->str)
		return -ENOMEM;
	n->len = (uint32_t)len;
	return push(j, n);
}

/* ---- numbers and literals ---- */

static bool is_digit(const struct jctx *j, const unsigned char *q)
{
	return q < j->end && *q >= '0' && *q <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?; *ret_int: no fraction, no exponent. */
static int scan_number(const struct jctx *j, const unsigned char **ret_end, bool *ret_int)
{
	const unsigned char *q = j->p + (*j->p == '-');
	char found[TREE_QUOTE_SIZE + 4];

	if (!is_digit(j, q))
		return error_expected(j, "a value");
	if (*q++ == '0' && is_digit(j, q))
		return error_at(j, j->p, "found %s, expected a number without leading zeros",
				describe(j, j->p, found, sizeof(found)));
	while (is_digit(j, q))
		q++;
	*ret_int = true;
	if (q < j->end && *q == '.') {
		if (!is_digit(j, ++q))
			return error_at(j, j->p, "found %s, expected a digit after the decimal point",
					describe(j, j->p, found, sizeof(found)));
		while (is_digit(j, q))
			q++;
		*ret_int = false;
	}
	if (q < j->end && (*q | 0x20) == 'e') {
		q += q + 1 < j->end && (q[1] == '+' || q[1] == '-') ? 2 : 1;
		if (!is_digit(j, q))
			return error_at(j, j->p, "found %s, expected digits in the exponent",
					describe(j, j->p, found, sizeof(found)));
		while (is_digit(j, q))
			q++;
		*ret_int = false;
	}
	*ret_end = q;
	return 0;
}

/* The text's value as an int64, or false if it is out of range. */
static bool int_value(const char *s, int64_t *ret)
{
	bool neg = *s == '-';
	uint64_t v = 0;

	for (s += neg; *s; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v > (uint64_t)INT64_MAX + neg)
		return false;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static int parse_number(struct jctx *j)
{
	const unsigned char *end = j->p;
	struct node *n;
	bool integral = false;
	int r = scan_number(j, &end, &integral);

	if (r == 0)
		r = new_node(j, NODE_INT, &n);
	if (r < 0)
		return r;
	n->len = (uint32_t)(end - j->p);
	n->str = tree_string(&j->tb, (const char *)j->p, n->len);
	if (!n->str)
		return -ENOMEM;
	if (!integral || !int_value(n->str, &n->i)) {
		if (!j->c_locale && !(j->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0)))
			return -ENOMEM;
		n->type = NODE_FLOAT;
		n->f = strtod_l(n->str, NULL, j->c_locale);
		if (isinf(n->f))
			return error_at(j, j->p, "found '%.40s', expected a number within the range of a double",
					n->str);
	}
	j->p = end;
	return push(j, n);
}

static int parse_literal(struct jctx *j)
{
	static const struct {
		const char *text;
		enum node_type type;
		bool b;
	} words[] = {
		{ "true", NODE_BOOL, true }, { "false", NODE_BOOL, false }, { "null", NODE_NULL, false },
	};
	size_t left = (size_t)(j->end - j->p);
	struct node *n;
	int r;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t len = strlen(words[i].text);

		if (left < len || memcmp(j->p, words[i].text, len) != 0 ||
		    (left > len && is_word_char(j->p[len])))
			continue;
		r = new_node(j, words[i].type, &n);
		if (r < 0)
			return r;
		n->str = words[i].text;
		n->len = (uint32_t)len;
		if (words[i].type == NODE_BOOL)
			n->b = words[i].b;
		j->p += len;
		return push(j, n);
	}
	return error_expected(j, "a value");
}

/* ---- collections ---- */

static int open_collection(struct jctx *j, enum node_type t)
{
	struct frame *f;
	struct node *n;
	struct loc loc;
	int r;

	if (j->depth == TREE_MAX_DEPTH) {
		loc = tree_offset_loc((const char *)j->buf, (size_t)(j->end - j->buf),
				      (size_t)(j->p - j->buf), j->name);
		return tree_error_depth(j->d, &loc);
	}
	r = new_node(j, t, &n);
	if (r == 0)
		r = push(j, n);	/* into the parent first, so the parent's children stay in order */
	if (r < 0)
		return r;
	f = &j->frames[j->depth++];
	f->node = n;
	f->base = j->nstack;
	f->stream = j->stream && t == NODE_SEQ && j->depth == 2 && j->frames[0].node->type == NODE_MAP &&
		    !strcmp(j->stack[j->nstack - 2]->str, "items");
	j->p++;
	return 0;
}

static void swap_builders(struct jctx *j)
{
	struct tree_builder t = j->tb;

	j->tb = j->item_tb;
	j->item_tb = t;
}

/* Each item of a streamed array is built with the item builder... */
static void begin_item(struct jctx *j)
{
	swap_builders(j);
	j->in_item = true;
}

/* ...handed over once complete, and dropped from the tree. */
static int end_item(struct jctx *j)
{
	struct node *item = j->stack[--j->nstack];
	int r = j->stream->item(j->stream->ctx, item);

	swap_builders(j);
	j->in_item = false;
	arena_reset(&j->item_arena);
	tree_builder_reset(&j->item_tb);
	if (j->stream->release)
		j->stream->release(j->stream->ctx, (const char *)j->p);
	return r;
}

static int close_collection(struct jctx *j)
{
	struct frame *f = &j->frames[--j->depth];
	struct node *n = f->node;
	size_t k = j->nstack - f->base;
	/* Not stack + base when nothing was ever pushed: NULL + 0 is undefined. */
	struct node **kids = k ? j->stack + f->base : NULL;
	int r;

	j->p++;
	j->nstack = f->base;
	if (n->type == NODE_SEQ) {
		r = tree_set_items(&j->tb, n, kids, k);
	} else {
		r = tree_set_pairs(&j->tb, n, kids, k);
		if (r == 0)
			r = tree_check_duplicates(n, j->d);
		if (r == -EINVAL) {
			j->err = r;	/* not a syntax error: read on and report the others too */
			r = 0;
		}
	}
	if (r == 0 && j->in_item && j->depth == 2)
		r = end_item(j);
	return r;
}

/* ---- the grammar ---- */

static int parse_scalar(struct jctx *j)
{
	switch (*j->p) {
	case '"':
		return parse_string(j);
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return parse_number(j);
	default:
		return parse_literal(j);
	}
}

static int parse_value(struct jctx *j, enum want *w)
{
	bool item = j->depth == 2 && j->frames[1].stream;
	int r;

	if (item)
		begin_item(j);
	switch (*j->p) {
	case '{':
		*w = WANT_FIRST_KEY;
		return open_collection(j, NODE_MAP);
	case '[':
		*w = WANT_FIRST_ITEM;
		return open_collection(j, NODE_SEQ);
	}
	*w = WANT_NEXT;
	r = parse_scalar(j);
	if (r == 0 && item)
		r = end_item(j);
	return r;
}

static int parse_key(struct jctx *j, enum want *w)
{
	const unsigned char *key_start;
	const struct node *key;
	int r;

	if (j->p == j->end || *j->p != '"')
		return error_expected(j, *w == WANT_FIRST_KEY ? "a key in double quotes or '}'" :
				      j->p < j->end && *j->p == '}' ?
				      "a key in double quotes (JSON allows no comma before '}')" :
				      "a key in double quotes");
	key_start = j->p;
	r = parse_string(j);
	if (r < 0)
		return r;
	/* Keys are compared as C strings downstream ("kind\u0000x" would read as "kind"). */
	key = j->stack[j->nstack - 1];
	if (j->escaped && memchr(key->str, '\0', key->len))
		return error_at(j, key_start, "found \\u0000 in a key, expected keys without NUL characters");
	skip_space(j);
	if (j->p == j->end || *j->p != ':')
		return error_expected(j, "':'");
	j->p++;
	*w = WANT_VALUE;
	return 0;
}

/* After a value inside a collection: a comma, or the bracket that closes it. */
static int parse_next(struct jctx *j, enum want *w)
{
	bool map = j->frames[j->depth - 1].node->type == NODE_MAP;
	char close = map ? '}' : ']';

	if (j->p < j->end && *j->p == ',') {
		j->p++;
		*w = map ? WANT_KEY : WANT_ITEM;
		return 0;
	}
	if (j->p < j->end && *j->p == close)
		return close_collection(j);
	return error_expected(j, map ? "',' or '}'" : "',' or ']'");
}

static int parse_step(struct jctx *j, enum want *w)
{
	switch (*w) {
	case WANT_FIRST_KEY:
		if (j->p < j->end && *j->p == '}') {
			*w = WANT_NEXT;
			return close_collection(j);
		}
		/* fall through */
	case WANT_KEY:
		return parse_key(j, w);
	case WANT_FIRST_ITEM:
		if (j->p < j->end && *j->p == ']') {
			*w = WANT_NEXT;
			return close_collection(j);
		}
		/* fall through */
	case WANT_ITEM:
	case WANT_VALUE:
		if (j->p == j->end || (*w == WANT_ITEM && *j->p == ']'))
			return error_expected(j, *w == WANT_ITEM ? "a value (JSON allows no comma before ']')" :
					      *w == WANT_FIRST_ITEM ? "a value or ']'" : "a value");
		return parse_value(j, w);
	case WANT_NEXT:
		return parse_next(j, w);
	}
	return -EINVAL;
}

static int parse(struct jctx *j)
{
	enum want w = WANT_VALUE;
	int r;

	skip_space(j);
	if (j->p == j->end || (*j->p != '{' && *j->p != '['))
		return error_expected(j, "'[' or '{'");
	do {
		r = parse_step(j, &w);
		skip_space(j);
	} while (r == 0 && (w != WANT_NEXT || j->depth));
	if (r < 0)
		return r;
	if (j->p != j->end)
		return error_expected(j, "end of file after the JSON value");
	return j->err;
}

/*
 * A NUL ends no JSON text, so a text that parsed has none, and one that did
 * not is searched for one afterwards: its first NUL, said instead of whatever
 * the parser tripped on, explains itself wherever it is.  0 if there is none.
 */
static int report_nul(const char *buf, size_t len, const char *name, struct diag *d)
{
	const char *nul = memchr(buf, '\0', len);
	struct loc loc;

	if (!nul)
		return 0;
	loc = tree_offset_loc(buf, len, (size_t)(nul - buf), name);
	return diag_error(d, &loc, "invalid JSON: found a NUL byte, expected text");
}

int tree_parse_json_stream(const char *buf, size_t len, const char *name, struct arena *a,
			   struct diag *d, struct doc **ret_docs, const struct tree_stream *stream)
{
	const unsigned char *text = (const unsigned char *)(buf ? buf : "");
	struct diag parser_diag;
	struct jctx j = { .buf = text, .p = text, .end = text + (buf ? len : 0), .name = name, .d = &parser_diag,
			  .line = 1, .line_start = text, .stream = stream && stream->item ? stream : NULL };
	struct doc *doc;
	int r = tree_check_size(len, name, d);

	if (r < 0)
		return r;
	diag_init(&parser_diag);
	tree_builder_init(&j.tb, a, name);
	arena_init(&j.item_arena);
	tree_builder_init(&j.item_tb, &j.item_arena, name);
	j.item_tb.no_intern = true;
	r = parse(&j);
	if (j.in_item)
		swap_builders(&j);
	tree_builder_fini(&j.tb);
	tree_builder_fini(&j.item_tb);
	arena_free(&j.item_arena);
	free(j.stack);
	free(j.scratch);
	if (j.c_locale)
		freelocale(j.c_locale);
	if (r == -EINVAL && report_nul((const char *)text, (size_t)(j.end - text), name, d) < 0) {
		diag_free(&parser_diag);
		return r;
	}
	if (diag_move(d, &parser_diag) < 0)
		r = -ENOMEM;
	diag_free(&parser_diag);
	if (r < 0)
		return r;
	doc = arena_alloc(a, sizeof(*doc));
	if (!doc)
		return -ENOMEM;
	doc->root = j.root;
	*ret_docs = doc;
	return 0;
}

int tree_parse_json(const char *buf, size_t len, const char *name, struct arena *a,
		    struct diag *d, struct doc **ret_docs)
{
	return tree_parse_json_stream(buf, len, name, a, d, ret_docs, NULL);
}
