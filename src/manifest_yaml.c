// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * YAML text -> tree, through libyaml's event API.
 *
 * Events arrive in document order; collections being built sit on a frame
 * stack (bounded by TREE_MAX_DEPTH) and their children on one shared value
 * stack, so nothing here recurses and a 10,000-deep "[[[[" costs 64 frames.
 * Plain scalars are typed the way Kubernetes reads them: its sigs.k8s.io/yaml
 * goes through go-yaml v2, which follows YAML 1.1 (yes/no/on/off are
 * booleans, 0777 is octal), so a manifest means here what it means to the
 * API server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "tree.h"

#define YAML_TAG(t) "tag:yaml.org,2002:" t
#define NO_ANCHOR SIZE_MAX

struct anchor {
	const char *name;
	struct node *node;
	size_t size;	/* values the node stands for, counted towards TREE_MAX_NODES per alias */
	bool open;	/* still being built: an alias to it would make the tree a cycle */
};

struct frame {
	struct node *node;
	size_t base;		/* its children start here on the value stack */
	size_t nodes_before;	/* the node count before it, so its size is a difference */
	size_t anchor;		/* index into anchors, or NO_ANCHOR */
};

struct yctx {
	struct arena *a;
	struct tree_builder tb;
	struct diag *d;
	const char *name;
	const char *buf;
	size_t len;
	yaml_parser_t parser;
	locale_t c_locale;	/* "1.5" must not depend on the caller's LC_NUMERIC */
	struct frame frames[TREE_MAX_DEPTH];
	size_t depth;
	struct node **stack;	/* children of the open collections, in order */
	size_t nstack, capstack;
	struct anchor *anchors;	/* this document's anchors, in definition order */
	size_t nanchors, capanchors;
	size_t *slots;		/* open-addressing index: anchor index + 1, 0 = empty */
	size_t nslots;
	size_t nodes;		/* values so far in this file, aliases expanded */
	struct node *root;
	struct doc *head, **tail;
	char *digits;		/* a number's text without its underscores */
	size_t capdigits;
	int err;		/* set by errors after which reading goes on (duplicate keys) */
	const struct tree_stream *stream;	/* documents handed over one by one */
	struct arena doc_arena;			/* with a stream: each document's tree, reset after it */
};

static struct loc mark_loc(const struct yctx *c, const yaml_mark_t *m)
{
	/* libyaml counts from 0; columns are characters, not bytes. */
	return (struct loc){ .file = c->name, .line = (uint32_t)m->line + 1,
			     .col = (uint32_t)m->column + 1 };
}

/* ---- scalar resolution, as go-yaml v2 (resolve.go) does it ---- */

/* go-yaml's resolveMap without "<<": merge keys are not supported, so "<<" stays a string. */
static const char *const null_words[] = { "", "~", "null", "Null", "NULL", NULL };
static const char *const true_words[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					  "on", "On", "ON", NULL };
static const char *const false_words[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					   "off", "Off", "OFF", NULL };
static const char *const nan_words[] = { ".nan", ".NaN", ".NAN", NULL };
static const char *const inf_words[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL };
static const char *const neg_inf_words[] = { "-.inf", "-.Inf", "-.INF", NULL };

struct yaml_words {
	const char *const *words;
	enum node_type type;
	bool b;
	double f;
};

static const struct yaml_words yaml_words[] = {
	{ null_words, NODE_NULL, false, 0 },
	{ true_words, NODE_BOOL, true, 0 },
	{ false_words, NODE_BOOL, false, 0 },
	{ nan_words, NODE_FLOAT, false, NAN },
	{ inf_words, NODE_FLOAT, false, INFINITY },
	{ neg_inf_words, NODE_FLOAT, false, -INFINITY },
};

static const struct yaml_words *lookup_word(const char *s)
{
	/* Most plain scalars are names: their first character rules out every word. */
	if (*s && !strchr("~nNyYtToOfF.+-", *s))
		return NULL;
	for (size_t i = 0; i < sizeof(yaml_words) / sizeof(yaml_words[0]); i++)
		for (const char *const *w = yaml_words[i].words; *w; w++)
			if (strcmp(*w, s) == 0)
				return &yaml_words[i];
	return NULL;
}

static size_t span_digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

/* go-yaml's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_float_syntax(const char *s)
{
	size_t d;

	if (*s == '+' || *s == '-')
		s++;
	if (*s == '.') {
		d = span_digits(++s);
		if (!d)
			return false;
		s += d;
	} else {
		d = span_digits(s);
		if (!d)
			return false;
		s += d;
		if (*s == '.')
			s += 1 + span_digits(s + 1);
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		d = span_digits(s);
		if (!d)
			return false;
		s += d;
	}
	return *s == '\0';
}

/* Go's strconv base 0: 0x, 0o, 0b (either case, with at least one digit after), or 0 = octal. */
static unsigned go_int_base(const char **s)
{
	const char *p = *s;

	if (p[0] != '0')
		return 10;
	if (p[1] && p[2]) {
		switch (p[1] | 0x20) {
		case 'x': *s += 2; return 16;
		case 'o': *s += 2; return 8;
		case 'b': *s += 2; return 2;
		}
	}
	*s += 1;
	return 8;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	return -1;
}

/*
 * strconv.ParseInt(s, 0, 64).  -ERANGE: a well-formed integer outside
 * int64, with *ret_approx its value as a double.
 */
static int go_parse_int(const char *s, int64_t *ret, double *ret_approx)
{
	bool neg = false, range = false;
	uint64_t v = 0;
	double approx = 0;
	unsigned base;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!*s)
		return -EINVAL;
	base = go_int_base(&s);
	for (; *s; s++) {
		int d = digit_value(*s);

		if (d < 0 || (unsigned)d >= base)
			return -EINVAL;
		approx = approx * base + d;
		if (v > (UINT64_MAX - (unsigned)d) / base)
			range = true;
		else
			v = v * base + (unsigned)d;
	}
	if (!range && v <= (uint64_t)INT64_MAX + neg) {
		*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
		return 0;
	}
	*ret_approx = neg ? -approx : approx;
	return -ERANGE;
}

/* Go's ParseFloat fails on overflow, and go-yaml then keeps the text as a string. */
static bool resolve_float(struct yctx *c, struct node *n, const char *text)
{
	double f;

	errno = 0;
	f = strtod_l(text, NULL, c->c_locale);
	if (errno == ERANGE && isinf(f))
		return false;
	n->type = NODE_FLOAT;
	n->f = f;
	return true;
}

/* Into the scratch buffer: most plain scalars that start with a digit are addresses, not numbers. */
static char *strip_underscores(struct yctx *c, const char *s, size_t len)
{
	char *out = tree_grow(c->digits, &c->capdigits, len + 1, 1), *p = out;

	if (!out)
		return NULL;
	c->digits = out;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '_')
			*p++ = s[i];
	*p = '\0';
	return out;
}

/* Leading sign or digit: int, else float, else an int too big for int64 (a float here). */
static int resolve_number(struct yctx *c, struct node *n)
{
	char *plain = strip_underscores(c, n->str, n->len);
	double approx = 0;
	int64_t i;

	if (!plain)
		return -ENOMEM;
	switch (go_parse_int(plain, &i, &approx)) {
	case 0:
		n->type = NODE_INT;
		n->i = i;
		return 0;
	case -ERANGE:
		if (!yaml_float_syntax(plain) || !resolve_float(c, n, plain)) {
			n->type = NODE_FLOAT;
			n->f = approx;
		}
		return 0;
	}
	if (yaml_float_syntax(plain))
		resolve_float(c, n, plain);
	return 0;
}

/* Types n (whose str holds the text) as go-yaml types an untagged plain scalar. */
static int resolve_plain(struct yctx *c, struct node *n)
{
	const struct yaml_words *w;
	char c0 = n->str[0];

	n->type = NODE_STRING;
	/* Only a tagged quoted scalar can hold "\0"; no number or keyword contains one. */
	if (memchr(n->str, '\0', n->len))
		return 0;
	/* No word is longer than "false" or "+.inf". */
	w = n->len <= 5 ? lookup_word(n->str) : NULL;
	if (w) {
		n->type = w->type;
		if (w->type == NODE_BOOL)
			n->b = w->b;
		else if (w->type == NODE_FLOAT)
			n->f = w->f;
		return 0;
	}
	if (c0 == '.' && yaml_float_syntax(n->str))
		resolve_float(c, n, n->str);
	else if (c0 == '+' || c0 == '-' || (c0 >= '0' && c0 <= '9'))
		return resolve_number(c, n);
	return 0;
}

/* The tags go-yaml checks a value against; anything else (!!str, "!", !foo) means string. */
static bool tag_type(const char *tag, enum node_type *ret)
{
	static const struct { const char *tag; enum node_type type; } tags[] = {
		{ YAML_TAG("int"), NODE_INT }, { YAML_TAG("float"), NODE_FLOAT },
		{ YAML_TAG("bool"), NODE_BOOL }, { YAML_TAG("null"), NODE_NULL },
	};

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if (strcmp(tag, tags[i].tag) == 0) {
			*ret = tags[i].type;
			return true;
		}
	}
	return false;
}

static void check_tag(struct yctx *c, struct node *n, enum node_type want, const char *tag)
{
	char q[TREE_QUOTE_SIZE];
	struct loc loc;

	if (n->type == want)
		return;
	if (want == NODE_FLOAT && n->type == NODE_INT) {
		n->type = NODE_FLOAT;
		n->f = (double)n->i;
		return;
	}
	loc = node_loc(n);
	c->err = diag_error(c->d, &loc, "cannot decode %s '%s' as !!%s", node_type_name(n->type),
			    tree_quote(q, sizeof(q), n->str, n->len), tag + strlen(YAML_TAG("")));
}

static int resolve_scalar(struct yctx *c, struct node *n, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	enum node_type want;
	int r;

	if (!tag)
		return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? resolve_plain(c, n) : 0;
	if (!tag_type(tag, &want))
		return 0;
	r = resolve_plain(c, n);
	if (r < 0)
		return r;
	check_tag(c, n, want, tag);
	return 0;
}

/* ---- anchors ---- */

static size_t hash_name(const char *s)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

/* The slot holding name, or the empty slot where it would go; the table is never full. */
static size_t *anchor_slot(struct yctx *c, const char *name)
{
	size_t mask = c->nslots - 1;

	for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
		size_t *slot = &c->slots[i];

		if (!*slot || strcmp(c->anchors[*slot - 1].name, name) == 0)
			return slot;
	}
}

/* Keeps the table at most half full; a redefined anchor replaces the older one. */
static int anchor_rehash(struct yctx *c)
{
	size_t n = c->nslots ? c->nslots * 2 : 64;
	size_t *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	free(c->slots);
	c->slots = slots;
	c->nslots = n;
	for (size_t i = 0; i < c->nanchors; i++)
		*anchor_slot(c, c->anchors[i].name) = i + 1;
	return 0;
}

static struct anchor *anchor_find(struct yctx *c, const char *name)
{
	size_t *slot;

	if (!c->nslots)
		return NULL;
	slot = anchor_slot(c, name);
	return *slot ? &c->anchors[*slot - 1] : NULL;
}

static int anchor_define(struct yctx *c, const yaml_char_t *name, struct node *n, bool open,
			 size_t *ret_index)
{
	struct anchor *an;
	int r;

	if (!name) {
		*ret_index = NO_ANCHOR;
		return 0;
	}
	an = tree_grow(c->anchors, &c->capanchors, c->nanchors + 1, sizeof(*an));
	if (!an)
		return -ENOMEM;
	c->anchors = an;
	if ((c->nanchors + 1) * 2 > c->nslots && (r = anchor_rehash(c)) < 0)
		return r;
	an = &c->anchors[c->nanchors];
	an->name = arena_strdup(c->a, (const char *)name);
	if (!an->name)
		return -ENOMEM;
	an->node = n;
	an->size = 1;
	an->open = open;
	*anchor_slot(c, an->name) = ++c->nanchors;
	*ret_index = c->nanchors - 1;
	return 0;
}

/* ---- building ---- */

static bool at_key(const struct yctx *c)
{
	const struct frame *f;

	if (!c->depth)
		return false;
	f = &c->frames[c->depth - 1];
	return f->node->type == NODE_MAP && (c->nstack - f->base) % 2 == 0;
}

/* Adds k values to the file's count; aliases add what they expand to. */
static int count_nodes(struct yctx *c, size_t k, const struct loc *loc)
{
	if (k > TREE_MAX_NODES - c->nodes)
		return tree_error_nodes(c->d, loc);
	c->nodes += k;
	return 0;
}

/* Attaches n to the open collection, or makes it the document's root. */
static int add_value(struct yctx *c, struct node *n)
{
	struct node **stack;

	if (!c->depth) {
		c->root = n;
		return 0;
	}
	stack = tree_grow(c->stack, &c->capstack, c->nstack + 1, sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	c->stack = stack;
	c->stack[c->nstack++] = n;
	return 0;
}

/* "---" followed by nothing: libyaml reports an empty plain scalar as the root. */
static bool is_empty_document(const struct yctx *c, const yaml_event_t *ev)
{
	return !c->depth && ev->data.scalar.length == 0 && !ev->data.scalar.tag &&
	       !ev->data.scalar.anchor && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int on_scalar(struct yctx *c, const yaml_event_t *ev)
{
	struct loc loc = mark_loc(c, &ev->start_mark);
	struct node *n;
	size_t anchor;
	int r;

	if (is_empty_document(c, ev))
		return 0;
	r = count_nodes(c, 1, &loc);
	if (r < 0)
		return r;
	n = tree_node(&c->tb, NODE_STRING, loc.line, loc.col);
	if (!n)
		return -ENOMEM;
	/* Fits: unescaping grows text by half at most ("\L" is 3 bytes), and the input is bounded. */
	n->len = (uint32_t)ev->data.scalar.length;
	n->str = tree_string(&c->tb, (const char *)ev->data.scalar.value, n->len);
	if (!n->str)
		return -ENOMEM;
	/* Keys stay strings whatever they look like ("80: x" has the key "80"). */
	if (!at_key(c) && (r = resolve_scalar(c, n, ev)) < 0)
		return r;
	r = anchor_define(c, ev->data.scalar.anchor, n, false, &anchor);
	if (r < 0)
		return r;
	return add_value(c, n);
}

/* An alias used as a key: the key must be a string node, so a non-string scalar is copied. */
static int alias_key(struct yctx *c, struct node *target, const struct loc *loc,
		     struct node **ret)
{
	struct node *n;

	if (target->type == NODE_SEQ || target->type == NODE_MAP)
		return diag_error(c->d, loc, "invalid YAML: found an alias of a %s as a mapping key, expected a scalar",
				  node_type_name(target->type));
	if (target->type == NODE_STRING) {
		*ret = target;
		return 0;
	}
	n = tree_node(&c->tb, NODE_STRING, loc->line, loc->col);
	if (!n)
		return -ENOMEM;
	n->str = target->str;
	n->len = target->len;
	*ret = n;
	return 0;
}

static int on_alias(struct yctx *c, const yaml_event_t *ev)
{
	struct loc loc = mark_loc(c, &ev->start_mark);
	const char *name = (const char *)ev->data.alias.anchor;
	struct anchor *an = anchor_find(c, name);
	struct node *n;
	char q[TREE_QUOTE_SIZE];
	int r;

	if (!an)
		return diag_error(c->d, &loc, "invalid YAML: found alias '*%s', expected a previously defined anchor",
				  tree_quote(q, sizeof(q), name, strlen(name)));
	if (an->open)
		return diag_error(c->d, &loc, "invalid YAML: alias '*%s' is inside the node it refers to",
				  tree_quote(q, sizeof(q), name, strlen(name)));
	r = count_nodes(c, an->size, &loc);
	if (r < 0)
		return r;
	n = an->node;
	if (at_key(c) && (r = alias_key(c, an->node, &loc, &n)) < 0)
		return r;
	return add_value(c, n);
}

static int on_open(struct yctx *c, const yaml_event_t *ev, enum node_type type)
{
	struct loc loc = mark_loc(c, &ev->start_mark);
	const yaml_char_t *anchor = type == NODE_SEQ ? ev->data.sequence_start.anchor :
						     ev->data.mapping_start.anchor;
	struct frame *f;
	struct node *n;
	int r;

	if (at_key(c))
		return diag_error(c->d, &loc, "invalid YAML: found a %s as a mapping key, expected a scalar",
				  node_type_name(type));
	if (c->depth == TREE_MAX_DEPTH)
		return tree_error_depth(c->d, &loc);
	r = count_nodes(c, 1, &loc);
	if (r < 0)
		return r;
	n = tree_node(&c->tb, type, loc.line, loc.col);
	if (!n)
		return -ENOMEM;
	/* Into the parent first, so the parent's children stay in document order. */
	r = add_value(c, n);
	if (r < 0)
		return r;
	f = &c->frames[c->depth++];
	f->node = n;
	f->base = c->nstack;
	f->nodes_before = c->nodes - 1;
	return anchor_define(c, anchor, n, true, &f->anchor);
}

static int finish_collection(struct yctx *c, struct node *n, struct node **kids, size_t k)
{
	int r;

	if (n->type == NODE_SEQ)
		return tree_set_items(&c->tb, n, kids, k);
	/* libyaml emits a value for every key, so k is even. */
	r = tree_set_pairs(&c->tb, n, kids, k);
	if (r == 0)
		r = tree_check_duplicates(n, c->d);
	if (r == -EINVAL)
		c->err = r;	/* not a syntax error: read on and report the others too */
	return r == -EINVAL ? 0 : r;
}

static int on_close(struct yctx *c)
{
	struct frame *f = &c->frames[--c->depth];
	size_t k = c->nstack - f->base;
	/* Not stack + base when nothing was ever pushed: NULL + 0 is undefined. */
	int r = finish_collection(c, f->node, k ? c->stack + f->base : NULL, k);

	c->nstack = f->base;
	if (f->anchor != NO_ANCHOR) {
		c->anchors[f->anchor].open = false;
		c->anchors[f->anchor].size = c->nodes - f->nodes_before;
	}
	return r;
}

/*
 * Anchors are scoped to their document.  The index is dropped, not cleared:
 * clearing a table sized for one document's million anchors before each of
 * the next million "---" would be quadratic.  A document counts as a value,
 * so a file of empty documents is bounded too.
 */
static int on_document_start(struct yctx *c, const yaml_event_t *ev)
{
	struct loc loc = mark_loc(c, &ev->start_mark);

	c->nanchors = 0;
	free(c->slots);
	c->slots = NULL;
	c->nslots = 0;
	c->root = NULL;
	return count_nodes(c, 1, &loc);
}

static int on_document_end(struct yctx *c, const yaml_event_t *ev)
{
	struct doc *doc;
	int r;

	if (c->stream) {
		r = c->stream->doc(c->stream->ctx, c->root);
		c->root = NULL;
		arena_reset(&c->doc_arena);
		tree_builder_reset(&c->tb);
		if (c->stream->release)
			c->stream->release(c->stream->ctx, c->buf + ev->end_mark.index);
		return r;
	}
	doc = arena_alloc(c->a, sizeof(*doc));
	if (!doc)
		return -ENOMEM;
	doc->root = c->root;
	*c->tail = doc;
	c->tail = &doc->next;
	return 0;
}

static int on_event(struct yctx *c, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		return on_document_start(c, ev);
	case YAML_DOCUMENT_END_EVENT:
		return on_document_end(c, ev);
	case YAML_SCALAR_EVENT:
		return on_scalar(c, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(c, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_open(c, ev, NODE_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_open(c, ev, NODE_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_close(c);
	default:
		return 0;
	}
}

/* ---- errors from libyaml ---- */

/* Reader errors (bad UTF-8, control characters) carry a byte offset instead of a mark. */
static int reader_error(struct yctx *c)
{
	const yaml_parser_t *p = &c->parser;
	struct loc loc = tree_offset_loc(c->buf, c->len, p->problem_offset, c->name);

	const char *problem = p->problem ? p->problem : "unreadable input";

	if (p->problem_value >= 0)
		return diag_error(c->d, &loc, "invalid YAML: %s (found 0x%02x)", problem,
				  (unsigned)p->problem_value);
	return diag_error(c->d, &loc, "invalid YAML: %s", problem);
}

static int syntax_error(struct yctx *c)
{
	const yaml_parser_t *p = &c->parser;
	struct loc loc = mark_loc(c, &p->problem_mark), ctx;
	const char *problem = p->problem ? p->problem : "unknown error";
	size_t off = tree_loc_offset(c->buf, c->len, &loc);

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR)
		return reader_error(c);
	/* libyaml's wording for a tab says nothing about tabs. */
	if (strcmp(problem, "found character that cannot start any token") == 0 &&
	    off < c->len && c->buf[off] == '\t')
		return diag_error(c->d, &loc, "invalid YAML: found a tab character that cannot start any token (indent with spaces)");
	if (!p->context)
		return diag_error(c->d, &loc, "invalid YAML: %s", problem);
	ctx = mark_loc(c, &p->context_mark);
	if (ctx.line == loc.line && ctx.col == loc.col)
		return diag_error(c->d, &loc, "invalid YAML: %s (%s)", problem, p->context);
	return diag_error(c->d, &loc, "invalid YAML: %s (%s at line %u col %u)", problem, p->context,
			  ctx.line, ctx.col);
}

static int run(struct yctx *c)
{
	yaml_event_t ev;
	bool done = false;
	int r;

	while (!done) {
		if (!yaml_parser_parse(&c->parser, &ev))
			return syntax_error(c);
		done = ev.type == YAML_STREAM_END_EVENT;
		r = on_event(c, &ev);
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
	}
	return c->err;
}

int tree_parse_yaml_stream(const char *buf, size_t len, const char *name, struct arena *a,
			   struct diag *d, struct doc **ret_docs, const struct tree_stream *stream)
{
	struct yctx c = { .a = a, .d = d, .name = name, .buf = buf ? buf : "", .len = buf ? len : 0,
			  .stream = stream && stream->doc ? stream : NULL };
	int r = tree_check_size(len, name, d);

	if (r < 0)
		return r;
	c.tail = &c.head;
	c.c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (!c.c_locale)
		return -ENOMEM;
	if (!yaml_parser_initialize(&c.parser)) {
		freelocale(c.c_locale);
		return -ENOMEM;
	}
	/* libyaml reads exactly len bytes: buf needs no terminator, and a NUL is an error. */
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)c.buf, c.len);
	arena_init(&c.doc_arena);
	tree_builder_init(&c.tb, c.stream ? &c.doc_arena : a, name);
	c.tb.no_intern = c.stream != NULL;
	r = run(&c);
	tree_builder_fini(&c.tb);
	arena_free(&c.doc_arena);
	yaml_parser_delete(&c.parser);
	freelocale(c.c_locale);
	free(c.digits);
	free(c.stack);
	free(c.anchors);
	free(c.slots);
	if (r == 0)
		*ret_docs = c.head;
	return r;
}

int tree_parse_yaml(const char *buf, size_t len, const char *name, struct arena *a,
		    struct diag *d, struct doc **ret_docs)
{
	return tree_parse_yaml_stream(buf, len, name, a, d, ret_docs, NULL);
}
