// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit tests of the manifest parsers: text in, tree with positions out, or
 * one error with a position.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

#define FILE_NAME "test.yaml"

/* One parse per test; check forks each test, so a fixture is enough. */
static struct {
	struct arena a;
	struct diag d;
	struct doc *docs;
} P;

static void setup(void)
{
	arena_init(&P.a);
	diag_init(&P.d);
	P.docs = NULL;
}

static void teardown(void)
{
	diag_free(&P.d);
	arena_free(&P.a);
}

static int parse_yaml_n(const char *s, size_t len)
{
	return tree_parse_yaml(s, len, FILE_NAME, &P.a, &P.d, &P.docs);
}

static int parse_json_n(const char *s, size_t len)
{
	return tree_parse_json(s, len, FILE_NAME, &P.a, &P.d, &P.docs);
}

static int parse_yaml(const char *s)
{
	return parse_yaml_n(s, strlen(s));
}

static int parse_json(const char *s)
{
	return parse_json_n(s, strlen(s));
}

static struct node *root(void)
{
	ck_assert_ptr_nonnull(P.docs);
	ck_assert_ptr_nonnull(P.docs->root);
	return P.docs->root;
}

/* "spec.ports.0.port": mapping keys and sequence indexes. */
static struct node *at(struct node *n, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save)) {
		ck_assert_ptr_nonnull(n);
		if (n->type == NODE_SEQ) {
			size_t i = strtoul(t, NULL, 10);

			ck_assert_uint_lt(i, n->n);
			n = n->items[i];
		} else {
			n = node_get(n, t);
		}
		ck_assert_msg(n != NULL, "no '%s' in path '%s'", t, path);
	}
	return n;
}

static void assert_loc(const struct node *n, uint32_t line, uint32_t col)
{
	struct loc loc = node_loc(n);

	ck_assert_ptr_eq(loc.file, FILE_NAME);
	ck_assert_uint_eq(loc.line, line);
	ck_assert_uint_eq(loc.col, col);
}

static void assert_int(const struct node *n, int64_t v)
{
	ck_assert_int_eq(n->type, NODE_INT);
	ck_assert_int_eq(n->i, v);
}

static void assert_str(const struct node *n, const char *s)
{
	ck_assert_int_eq(n->type, NODE_STRING);
	ck_assert_str_eq(n->str, s);
	ck_assert_uint_eq(n->len, strlen(s));
}

/* The first error: its text holds want, sits at line:col, and is one line. */
static void assert_error(int rc, uint32_t line, uint32_t col, const char *want)
{
	const struct diag_msg *m;

	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_uint_ge(P.d.errors, 1);
	m = &P.d.msgs[0];
	ck_assert_msg(strstr(m->text, want), "message '%s' lacks '%s'", m->text, want);
	ck_assert_ptr_null(strchr(m->text, '\n'));
	ck_assert_ptr_eq(m->loc.file, FILE_NAME);
	ck_assert_msg(m->loc.line == line && m->loc.col == col, "'%s' at %u:%u, expected %u:%u",
		      m->text, m->loc.line, m->loc.col, line, col);
}

static char *repeat(const char *s, size_t times, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	char *out = malloc(n * times + t + 1);

	ck_assert_ptr_nonnull(out);
	for (size_t i = 0; i < times; i++)
		memcpy(out + i * n, s, n);
	memcpy(out + n * times, tail, t + 1);
	return out;
}

/* ---- YAML structure ---- */

static const char service_yaml[] =
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata:\n"
	"  name: web\n"
	"spec:\n"
	"  ports:\n"
	"    - name: http\n"
	"      port: 80\n"
	"      targetPort: \"8080\"\n";

START_TEST(yaml_block)
{
	struct node *r, *port;

	ck_assert_int_eq(parse_yaml(service_yaml), 0);
	r = root();
	ck_assert_int_eq(r->type, NODE_MAP);
	ck_assert_uint_eq(r->n, 4);
	assert_loc(r, 1, 1);
	assert_str(at(r, "kind"), "Service");
	assert_loc(r->pairs[1].key, 2, 1);
	assert_loc(r->pairs[1].value, 2, 7);
	port = at(r, "spec.ports.0.port");
	assert_int(port, 80);
	ck_assert_str_eq(port->str, "80");
	assert_loc(port, 8, 13);
	assert_loc(r->pairs[3].value->pairs[0].key, 6, 3);
	assert_loc(at(r, "spec.ports"), 7, 5);
	assert_loc(at(r, "spec.ports.0"), 7, 7);
	assert_str(at(r, "spec.ports.0.targetPort"), "8080");
	assert_loc(at(r, "spec.ports.0.targetPort"), 9, 19);
	ck_assert_ptr_null(P.docs->next);
}
END_TEST

START_TEST(yaml_flow)
{
	struct node *r;

	ck_assert_int_eq(parse_yaml("{a: [1, two, \"3\"], b: {c: d}, e: []}"), 0);
	r = root();
	ck_assert_int_eq(at(r, "a")->type, NODE_SEQ);
	ck_assert_uint_eq(at(r, "a")->n, 3);
	assert_int(at(r, "a.0"), 1);
	assert_str(at(r, "a.1"), "two");
	assert_str(at(r, "a.2"), "3");
	assert_loc(at(r, "a.2"), 1, 14);
	assert_str(at(r, "b.c"), "d");
	ck_assert_int_eq(at(r, "e")->type, NODE_SEQ);
	ck_assert_uint_eq(at(r, "e")->n, 0);
}
END_TEST

START_TEST(yaml_multi_document)
{
	struct doc *d;

	ck_assert_int_eq(parse_yaml("a: 1\n---\n---\nb: 2\n---\n"), 0);
	d = P.docs;
	ck_assert_ptr_nonnull(d);
	assert_int(at(d->root, "a"), 1);
	d = d->next;
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_null(d->root);
	d = d->next;
	ck_assert_ptr_nonnull(d);
	assert_int(at(d->root, "b"), 2);
	assert_loc(d->root, 4, 1);
	d = d->next;
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_null(d->root);
	ck_assert_ptr_null(d->next);
}
END_TEST

START_TEST(yaml_many_documents)
{
	/* The anchor index is rebuilt per document; each document sees its own anchor. */
	char *many = repeat("---\nx: &a0 [1]\ny: *a0\n", 5000, "");
	size_t n = 0;

	ck_assert_int_eq(parse_yaml(many), 0);
	for (struct doc *d = P.docs; d; d = d->next, n++)
		ck_assert_ptr_eq(at(d->root, "x"), at(d->root, "y"));
	ck_assert_uint_eq(n, 5000);
	free(many);
}
END_TEST

START_TEST(yaml_empty_stream)
{
	P.docs = (struct doc *)&P;	/* must be overwritten */
	ck_assert_int_eq(parse_yaml("# only a comment\n\n"), 0);
	ck_assert_ptr_null(P.docs);
	ck_assert_int_eq(parse_yaml_n(NULL, 0), 0);
	ck_assert_ptr_null(P.docs);
	ck_assert_int_eq(parse_yaml("--- ~\n"), 0);
	ck_assert_int_eq(root()->type, NODE_NULL);
}
END_TEST

START_TEST(yaml_anchors)
{
	struct node *r;

	ck_assert_int_eq(parse_yaml("base: &b {port: 80}\n"
				    "one: *b\n"
				    "two: *b\n"
				    "s: &s hello\n"
				    "t: *s\n"
				    "x: &x 1\n"
				    "x2: &x 2\n"
				    "y: *x\n"), 0);
	r = root();
	ck_assert_ptr_eq(at(r, "one"), at(r, "base"));
	ck_assert_ptr_eq(at(r, "two"), at(r, "base"));
	assert_int(at(r, "one.port"), 80);
	ck_assert_ptr_eq(at(r, "t"), at(r, "s"));
	/* A redefined anchor: the alias takes the latest. */
	ck_assert_ptr_eq(at(r, "y"), at(r, "x2"));
}
END_TEST

START_TEST(yaml_alias_as_key)
{
	struct node *r;

	ck_assert_int_eq(parse_yaml("a: &k 80\n*k : x\n"), 0);
	r = root();
	assert_int(at(r, "a"), 80);
	assert_str(r->pairs[1].key, "80");
	assert_loc(r->pairs[1].key, 2, 1);
}
END_TEST

START_TEST(yaml_alias_errors)
{
	teardown();
	setup();
	assert_error(parse_yaml("a: *nope\n"), 1, 4, "found alias '*nope', expected a previously defined anchor");
	teardown();
	setup();
	/* Anchors do not cross documents. */
	assert_error(parse_yaml("a: &x 1\n---\nb: *x\n"), 3, 4, "'*x'");
	teardown();
	setup();
	assert_error(parse_yaml("a: &x [1, *x]\n"), 1, 11, "alias '*x' is inside the node it refers to");
	teardown();
	setup();
	assert_error(parse_yaml("a: &m {b: 1}\n*m : 2\n"), 2, 1, "found an alias of a mapping as a mapping key");
}
END_TEST

START_TEST(yaml_non_scalar_key)
{
	assert_error(parse_yaml("a: 1\n? [x, y]\n: 2\n"), 2, 3, "found a sequence as a mapping key, expected a scalar");
	teardown();
	setup();
	assert_error(parse_yaml("{{a: 1}: b}"), 1, 2, "found a mapping as a mapping key");
}
END_TEST

START_TEST(yaml_keys_are_strings)
{
	struct node *r;

	ck_assert_int_eq(parse_yaml("80: a\ntrue: b\nnull: c\n~: d\n1.5: e\n"), 0);
	r = root();
	for (size_t i = 0; i < r->n; i++)
		ck_assert_int_eq(r->pairs[i].key->type, NODE_STRING);
	assert_str(at(r, "80"), "a");
	assert_str(at(r, "true"), "b");
	assert_str(at(r, "null"), "c");
	assert_str(at(r, "~"), "d");
}
END_TEST

/* ---- scalar resolution, as go-yaml v2 does it ---- */

struct scalar_case {
	const char *yaml;	/* the value after "v: " */
	enum node_type type;
	int64_t i;
	double f;
	const char *str;	/* expected str, NULL: the yaml text itself */
};

static const struct scalar_case scalar_cases[] = {
	{ "80", NODE_INT, 80, 0, NULL },
	{ "\"80\"", NODE_STRING, 0, 0, "80" },
	{ "'80'", NODE_STRING, 0, 0, "80" },
	{ "|\n  80\n", NODE_STRING, 0, 0, "80\n" },
	{ ">-\n  a\n  b\n", NODE_STRING, 0, 0, "a b" },
	{ "+12", NODE_INT, 12, 0, NULL },
	{ "-12", NODE_INT, -12, 0, NULL },
	{ "0", NODE_INT, 0, 0, NULL },
	{ "1_000", NODE_INT, 1000, 0, NULL },
	{ "0x1F", NODE_INT, 31, 0, NULL },
	{ "0X1f", NODE_INT, 31, 0, NULL },
	{ "-0x10", NODE_INT, -16, 0, NULL },
	{ "0o17", NODE_INT, 15, 0, NULL },
	{ "017", NODE_INT, 15, 0, NULL },
	{ "0b101", NODE_INT, 5, 0, NULL },
	{ "9223372036854775807", NODE_INT, INT64_MAX, 0, NULL },
	{ "-9223372036854775808", NODE_INT, INT64_MIN, 0, NULL },
	{ "9223372036854775808", NODE_FLOAT, 0, 9223372036854775808.0, NULL },
	{ "0x10000000000000000", NODE_FLOAT, 0, 18446744073709551616.0, NULL },
	{ "08", NODE_FLOAT, 0, 8, NULL },
	{ "1.5", NODE_FLOAT, 0, 1.5, NULL },
	{ "1.", NODE_FLOAT, 0, 1, NULL },
	{ "1e3", NODE_FLOAT, 0, 1000, NULL },
	{ "-2.5E-1", NODE_FLOAT, 0, -0.25, NULL },
	{ ".5", NODE_FLOAT, 0, 0.5, NULL },
	{ "1_0.5", NODE_FLOAT, 0, 10.5, NULL },
	{ ".inf", NODE_FLOAT, 0, INFINITY, NULL },
	{ "-.Inf", NODE_FLOAT, 0, -INFINITY, NULL },
	{ "+.INF", NODE_FLOAT, 0, INFINITY, NULL },
	{ "1e400", NODE_STRING, 0, 0, NULL },
	{ "0x", NODE_STRING, 0, 0, NULL },
	{ "0xg", NODE_STRING, 0, 0, NULL },
	{ "1.2.3", NODE_STRING, 0, 0, NULL },
	{ "10.0.0.1", NODE_STRING, 0, 0, NULL },
	{ "2001-12-14", NODE_STRING, 0, 0, NULL },
	{ "12:30", NODE_STRING, 0, 0, NULL },
	{ "+", NODE_STRING, 0, 0, NULL },
	{ ".", NODE_STRING, 0, 0, NULL },
	{ "._5", NODE_STRING, 0, 0, NULL },
	{ "_1", NODE_STRING, 0, 0, NULL },
	{ "<<", NODE_STRING, 0, 0, NULL },
	{ "tRUE", NODE_STRING, 0, 0, NULL },
	{ "yess", NODE_STRING, 0, 0, NULL },
	{ "TCP", NODE_STRING, 0, 0, NULL },
	{ "!!str 80", NODE_STRING, 0, 0, "80" },
	{ "!!str yes", NODE_STRING, 0, 0, "yes" },
	{ "! 80", NODE_STRING, 0, 0, "80" },
	{ "!custom 80", NODE_STRING, 0, 0, "80" },
	{ "!!int '80'", NODE_INT, 80, 0, "80" },
	{ "!!float 1", NODE_FLOAT, 0, 1, "1" },
	{ "!!bool \"on\"", NODE_BOOL, 1, 0, "on" },
	{ "!!null ''", NODE_NULL, 0, 0, "" },
};

START_TEST(yaml_scalar)
{
	const struct scalar_case *c = &scalar_cases[_i];
	char text[128];
	struct node *v;

	snprintf(text, sizeof(text), "v: %s\n", c->yaml);
	ck_assert_msg(parse_yaml(text) == 0, "'%s' failed", c->yaml);
	v = at(root(), "v");
	ck_assert_msg(v->type == c->type, "'%s' is a %s, expected a %s", c->yaml,
		      node_type_name(v->type), node_type_name(c->type));
	ck_assert_str_eq(v->str, c->str ? c->str : c->yaml);
	if (c->type == NODE_INT)
		ck_assert_int_eq(v->i, c->i);
	if (c->type == NODE_FLOAT && isinf(c->f))
		ck_assert(isinf(v->f) && signbit(v->f) == signbit(c->f));
	else if (c->type == NODE_FLOAT)
		ck_assert_double_eq(v->f, c->f);
	if (c->type == NODE_BOOL)
		ck_assert_int_eq(v->b, c->i);
}
END_TEST

struct word_case {
	const char *yaml;
	enum node_type type;
	bool b;
};

static const struct word_case word_cases[] = {
	{ "null", NODE_NULL, 0 }, { "Null", NODE_NULL, 0 }, { "NULL", NODE_NULL, 0 },
	{ "~", NODE_NULL, 0 }, { "", NODE_NULL, 0 }, { "nULL", NODE_STRING, 0 },
	{ "true", NODE_BOOL, 1 }, { "True", NODE_BOOL, 1 }, { "TRUE", NODE_BOOL, 1 },
	{ "yes", NODE_BOOL, 1 }, { "Yes", NODE_BOOL, 1 }, { "YES", NODE_BOOL, 1 },
	{ "on", NODE_BOOL, 1 }, { "On", NODE_BOOL, 1 }, { "ON", NODE_BOOL, 1 },
	{ "y", NODE_BOOL, 1 }, { "Y", NODE_BOOL, 1 },
	{ "false", NODE_BOOL, 0 }, { "False", NODE_BOOL, 0 }, { "FALSE", NODE_BOOL, 0 },
	{ "no", NODE_BOOL, 0 }, { "No", NODE_BOOL, 0 }, { "NO", NODE_BOOL, 0 },
	{ "off", NODE_BOOL, 0 }, { "Off", NODE_BOOL, 0 }, { "OFF", NODE_BOOL, 0 },
	{ "n", NODE_BOOL, 0 }, { "N", NODE_BOOL, 0 },
	{ "\"yes\"", NODE_STRING, 0 }, { "'null'", NODE_STRING, 0 }, { "''", NODE_STRING, 0 },
	{ ".nan", NODE_FLOAT, 0 }, { ".NaN", NODE_FLOAT, 0 }, { ".NAN", NODE_FLOAT, 0 },
};

START_TEST(yaml_words)
{
	const struct word_case *c = &word_cases[_i];
	char text[64];
	struct node *v;

	snprintf(text, sizeof(text), "v: %s\n", c->yaml);
	ck_assert_int_eq(parse_yaml(text), 0);
	v = at(root(), "v");
	ck_assert_msg(v->type == c->type, "'%s' is a %s, expected a %s", c->yaml,
		      node_type_name(v->type), node_type_name(c->type));
	if (c->type == NODE_BOOL)
		ck_assert_int_eq(v->b, c->b);
	if (c->type == NODE_FLOAT)
		ck_assert(isnan(v->f));
}
END_TEST

START_TEST(yaml_tag_mismatch)
{
	/* Not a syntax error: reading goes on and reports the second one too. */
	assert_error(parse_yaml("a: !!int abc\nb: !!bool 1\n"), 1, 4, "cannot decode string 'abc' as !!int");
	ck_assert_uint_eq(P.d.errors, 2);
	ck_assert_ptr_nonnull(strstr(P.d.msgs[1].text, "cannot decode integer '1' as !!bool"));
}
END_TEST

/* ---- YAML positions and errors ---- */

START_TEST(yaml_utf8_columns)
{
	/* Columns count characters, not bytes, in YAML as in JSON. */
	ck_assert_int_eq(parse_yaml("\xc3\xa9: [\xc3\xbc, 1]\n"), 0);
	assert_loc(at(root(), "\xc3\xa9.1"), 1, 8);
}
END_TEST

START_TEST(yaml_duplicate_key)
{
	assert_error(parse_yaml("a: 1\nb: 2\na: 3\n"), 3, 1, "duplicate key 'a', first defined on line 1");
}
END_TEST

START_TEST(yaml_duplicate_keys_all_reported)
{
	int rc = parse_yaml("spec:\n  ports: [{port: 80, port: 81}]\n  x: 1\n  x: 2\n  x: 3\n");

	assert_error(rc, 2, 22, "duplicate key 'port'");
	ck_assert_uint_eq(P.d.errors, 3);
	ck_assert_uint_eq(P.d.msgs[1].loc.line, 4);
	ck_assert_uint_eq(P.d.msgs[2].loc.line, 5);
	ck_assert_ptr_nonnull(strstr(P.d.msgs[2].text, "first defined on line 3"));
}
END_TEST

START_TEST(yaml_many_keys)
{
	/* 20,000 distinct keys: the duplicate check must not be quadratic, nor find any. */
	size_t n = 20000, len = 0;
	char *buf = malloc(n * 24);

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "key%zu: %zu\n", (i * 7919) % n, i);
	ck_assert_int_eq(parse_yaml_n(buf, len), 0);
	ck_assert_uint_eq(root()->n, n);
	free(buf);
}
END_TEST

START_TEST(yaml_tab_indent)
{
	assert_error(parse_yaml("a:\n\tb: 1\n"), 2, 1, "tab");
}
END_TEST

START_TEST(yaml_truncated)
{
	assert_error(parse_yaml("a: \"abc"), 1, 8,
		     "invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 1 col 4)");
	teardown();
	setup();
	assert_error(parse_yaml("a: [1, 2\n"), 2, 1, "invalid YAML: did not find expected ',' or ']'");
	teardown();
	setup();
	assert_error(parse_yaml("a: b: c\n"), 1, 5, "invalid YAML: mapping values are not allowed in this context");
}
END_TEST

START_TEST(yaml_nul_byte)
{
	static const char text[] = "a: b\0c\n";

	assert_error(parse_yaml_n(text, sizeof(text) - 1), 1, 5,
		     "invalid YAML: control characters are not allowed (found 0x00)");
}
END_TEST

START_TEST(yaml_invalid_utf8)
{
	assert_error(parse_yaml("a: ok\nb: \xff\n"), 2, 4, "invalid YAML: invalid leading UTF-8 octet (found 0xff)");
}
END_TEST

START_TEST(yaml_unterminated_buffer)
{
	/* An exact-size heap copy: any read past len is an AddressSanitizer/valgrind error. */
	static const char text[] = "a: [1, 2]\nb: 'x'";
	char *buf = malloc(sizeof(text) - 1);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, text, sizeof(text) - 1);
	ck_assert_int_eq(parse_yaml_n(buf, sizeof(text) - 1), 0);
	assert_str(at(root(), "b"), "x");
	free(buf);
}
END_TEST

START_TEST(yaml_depth_limit)
{
	char *ok = repeat("[", 64, ""), *deep = repeat("[", 10000, ""), *block = repeat("- ", 65, "x\n");
	char *ok_full = malloc(129);
	struct node *n;

	ck_assert_ptr_nonnull(ok_full);
	snprintf(ok_full, 129, "%s%.*s", ok, 64, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	ck_assert_int_eq(parse_yaml(ok_full), 0);
	n = root();
	for (int i = 1; i < 64; i++)
		n = n->items[0];
	ck_assert_int_eq(n->type, NODE_SEQ);
	ck_assert_uint_eq(n->n, 0);
	teardown();
	setup();
	assert_error(parse_yaml(deep), 1, 65, "nesting deeper than 64 levels");
	teardown();
	setup();
	assert_error(parse_yaml(block), 1, 129, "nesting deeper than 64 levels");
	free(ok);
	free(ok_full);
	free(deep);
	free(block);
}
END_TEST

START_TEST(yaml_billion_laughs)
{
	static const char bomb[] =
		"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		"i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n";

	/* 6,053,453 values (the document counts too) before h; its second *g passes 16,777,216. */
	assert_error(parse_yaml(bomb), 8, 12, "more than 16777216 values");
}
END_TEST

START_TEST(file_size_limit)
{
	/* The size is checked before a byte is read, so a short buffer is safe here. */
	assert_error(tree_parse_yaml("a", TREE_MAX_FILE_SIZE + 1u, FILE_NAME, &P.a, &P.d, &P.docs),
		     0, 0, "too large");
	teardown();
	setup();
	assert_error(tree_parse_json("{", TREE_MAX_FILE_SIZE + 1u, FILE_NAME, &P.a, &P.d, &P.docs),
		     0, 0, "too large");
}
END_TEST

/* ---- JSON ---- */

static const char service_json[] =
	"{\n"
	"  \"kind\": \"Service\",\n"
	"  \"metadata\": {\n"
	"    \"name\": \"web\"\n"
	"  },\n"
	"  \"spec\": {\n"
	"    \"port\": 80,\n"
	"    \"protocol\": \"TCP\"\n"
	"  }\n"
	"}\n";

START_TEST(json_positions)
{
	struct node *r;

	ck_assert_int_eq(parse_json(service_json), 0);
	r = root();
	assert_loc(r, 1, 1);
	assert_int(at(r, "spec.port"), 80);
	assert_loc(at(r, "spec.port"), 7, 13);
	assert_loc(at(r, "spec")->pairs[0].key, 7, 5);
	assert_loc(at(r, "spec"), 6, 11);
	assert_str(at(r, "spec.protocol"), "TCP");
	assert_loc(at(r, "spec.protocol"), 8, 17);
	assert_loc(r->pairs[0].key, 2, 3);
	ck_assert_ptr_null(P.docs->next);
}
END_TEST

START_TEST(json_utf8_columns)
{
	ck_assert_int_eq(parse_json("{\"\xc3\xa9\": \"\xc3\xbc\", \"n\": 1}"), 0);
	assert_loc(root()->pairs[1].key, 1, 12);
	assert_loc(at(root(), "n"), 1, 17);
}
END_TEST

START_TEST(json_key_order)
{
	/* Keys stay in document order, each with its own position. */
	char buf[2048];
	size_t len = (size_t)sprintf(buf, "{\n");
	struct node *r;

	for (int i = 0; i < 40; i++)
		len += (size_t)sprintf(buf + len, "  \"k%02d\": [%2d, {\"x\": \"%d\"}]%s\n", (i * 17) % 40, i, i,
				       i < 39 ? "," : "");
	sprintf(buf + len, "}\n");
	ck_assert_int_eq(parse_json(buf), 0);
	r = root();
	ck_assert_uint_eq(r->n, 40);
	for (int i = 0; i < 40; i++) {
		char key[8];

		snprintf(key, sizeof(key), "k%02d", (i * 17) % 40);
		assert_str(r->pairs[i].key, key);
		assert_loc(r->pairs[i].key, (uint32_t)i + 2, 3);
		assert_int(r->pairs[i].value->items[0], i);
		assert_loc(r->pairs[i].value->items[1]->pairs[0].value, (uint32_t)i + 2, 21);
	}
}
END_TEST

START_TEST(json_values)
{
	struct node *r;

	ck_assert_int_eq(parse_json("{\"i\": 80, \"neg\": -0, \"f\": 80.0, \"e\": 8e1, \"big\": 99999999999999999999,"
				    " \"t\": true, \"fa\": false, \"nu\": null, \"s\": \"a\\u0000b\", \"q\": \"80\"}"), 0);
	r = root();
	assert_int(at(r, "i"), 80);
	assert_int(at(r, "neg"), 0);
	ck_assert_str_eq(at(r, "neg")->str, "-0");
	ck_assert_int_eq(at(r, "f")->type, NODE_FLOAT);
	ck_assert_str_eq(at(r, "f")->str, "80.0");
	ck_assert_double_eq(at(r, "e")->f, 80);
	ck_assert_int_eq(at(r, "e")->type, NODE_FLOAT);
	ck_assert_int_eq(at(r, "big")->type, NODE_FLOAT);
	ck_assert_str_eq(at(r, "big")->str, "99999999999999999999");
	ck_assert_int_eq(at(r, "t")->type, NODE_BOOL);
	ck_assert(at(r, "t")->b);
	ck_assert(!at(r, "fa")->b);
	ck_assert_int_eq(at(r, "nu")->type, NODE_NULL);
	ck_assert_int_eq(at(r, "s")->type, NODE_STRING);
	ck_assert_uint_eq(at(r, "s")->len, 3);
	ck_assert_mem_eq(at(r, "s")->str, "a\0b", 4);
	assert_str(at(r, "q"), "80");
}
END_TEST

/*
 * Strings are scanned eight bytes at a time: a byte that ends the plain run
 * (escape, UTF-8, control character, the closing quote) is found at every
 * offset within those eight, and spaces after a newline are skipped the same way.
 */
START_TEST(json_string_word_scan)
{
	static const char *const special[] = { "\\n", "\xc3\xa9", "\\u0041", "\\\"" };
	static const char *const decoded[] = { "\n", "\xc3\xa9", "A", "\"" };

	for (size_t k = 0; k < 4; k++) {
		for (size_t n = 0; n < 20; n++) {
			for (size_t pos = 0; pos <= n; pos++) {
				char in[128], want[64], *w = want;
				size_t len = (size_t)sprintf(in, "{\n%*s\"s\": \"", (int)(n % 13), "");

				for (size_t i = 0; i < n; i++) {
					if (i == pos) {
						len += (size_t)sprintf(in + len, "%s", special[k]);
						w += sprintf(w, "%s", decoded[k]);
					}
					in[len++] = (char)('a' + i);
					*w++ = (char)('a' + i);
				}
				sprintf(in + len, "%s\"}", pos == n ? special[k] : "");
				sprintf(w, "%s", pos == n ? decoded[k] : "");
				ck_assert_int_eq(parse_json(in), 0);
				assert_str(at(root(), "s"), want);
				assert_loc(root()->pairs[0].key, 2, (uint32_t)(n % 13) + 1);
				teardown();
				setup();
			}
		}
	}
	for (size_t n = 0; n < 20; n++) {
		char in[64];

		sprintf(in, "{\"s\": \"%.*s\x01\"}", (int)n, "abcdefghijklmnopqrstuvwxyz");
		assert_error(parse_json(in), 1, (uint32_t)n + 8, "control character 0x01");
		teardown();
		setup();
		sprintf(in, "{\"s\": \"%.*s", (int)n, "abcdefghijklmnopqrstuvwxyz");
		assert_error(parse_json(in), 1, (uint32_t)n + 8, "expected '\"' to close the string");
		teardown();
		setup();
	}
}
END_TEST

/*
 * A NUL byte is reported as such, at its place, whatever the parser tripped
 * on first (a NUL inside a literal, after a duplicate key), and as the only
 * error of its file.
 */
START_TEST(json_nul_byte_anywhere)
{
	static const struct {
		const char *text;
		size_t len;
		uint32_t line, col;
	} cases[] = {
#define NUL_CASE(text, line, col) { text, sizeof(text) - 1, line, col }
		NUL_CASE("{\"a\": tr\0ue}", 1, 9),
		NUL_CASE("{\"a\": 1, \"a\": 2,\n \"b\": \"x\0\"}", 2, 9),
		NUL_CASE("{\"a\": 1}\n\0", 2, 1),
		NUL_CASE("\0{}", 1, 1),
		NUL_CASE("{\"a\": \"x\"} {\0", 1, 13),
#undef NUL_CASE
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_error(parse_json_n(cases[i].text, cases[i].len), cases[i].line, cases[i].col,
			     "invalid JSON: found a NUL byte, expected text");
		ck_assert_uint_eq(P.d.n, 1);
		teardown();
		setup();
	}
}
END_TEST

START_TEST(json_syntax_error)
{
	assert_error(parse_json("{\n  \"a\": 1,\n  \"b\": }\n"), 3, 8, "invalid JSON: found '}', expected a value");
	teardown();
	setup();
	/* The end of the file is where the missing '}' was expected. */
	assert_error(parse_json("{\"a\": 1"), 1, 8, "invalid JSON: found end of file, expected ',' or '}'");
	teardown();
	setup();
	assert_error(parse_json("{\"a\": 1} {}"), 1, 10, "invalid JSON: found '{', expected end of file");
	teardown();
	setup();
	assert_error(parse_json(""), 1, 1, "invalid JSON: found end of file, expected '[' or '{'");
}
END_TEST

START_TEST(json_duplicate_key)
{
	assert_error(parse_json("{\n  \"a\": 1,\n  \"a\": 2\n}\n"), 3, 3, "duplicate key 'a'");
	teardown();
	setup();
	/* Compared after decoding, and named decoded. */
	assert_error(parse_json("{\"spec\": {\"port\": 1, \"\\u0070ort\": 2}}"), 1, 22, "duplicate key 'port'");
}
END_TEST

START_TEST(json_depth_limit)
{
	char *ok = repeat("[", 64, ""), *deep = repeat("[", 10000, "");
	char *ok_full = malloc(129);

	ck_assert_ptr_nonnull(ok_full);
	snprintf(ok_full, 129, "%s%.*s", ok, 64, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	ck_assert_int_eq(parse_json(ok_full), 0);
	teardown();
	setup();
	assert_error(parse_json(deep), 1, 65, "nesting deeper than 64 levels");
	free(ok);
	free(ok_full);
	free(deep);
}
END_TEST

START_TEST(json_nul_byte)
{
	static const char text[] = "{\"a\": 1}\0";

	assert_error(parse_json_n(text, sizeof(text) - 1), 1, 9, "invalid JSON: found a NUL byte");
}
END_TEST

START_TEST(json_invalid_utf8)
{
	/* At the byte itself, not at the string. */
	assert_error(parse_json("{\"a\": \"\xff\"}"), 1, 8, "invalid JSON: found byte 0xff in a string, expected UTF-8 text");
}
END_TEST

START_TEST(json_unterminated_buffer)
{
	static const char text[] = "{\"a\": [1, 2.5, \"x\"]}";
	char *buf = malloc(sizeof(text) - 1);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, text, sizeof(text) - 1);
	ck_assert_int_eq(parse_json_n(buf, sizeof(text) - 1), 0);
	ck_assert_str_eq(at(root(), "a.1")->str, "2.5");
	free(buf);
}
END_TEST

static const char list_json[] =
	"{\n"
	"    \"apiVersion\": \"v1\",\n"
	"    \"items\": [\n"
	"        {\n"
	"            \"apiVersion\": \"v1\",\n"
	"            \"kind\": \"Service\",\n"
	"            \"metadata\": {\"name\": \"a\", \"namespace\": \"default\"},\n"
	"            \"spec\": {\"ports\": [{\"port\": 80, \"protocol\": \"TCP\", \"targetPort\": 8080}]}\n"
	"        },\n"
	"        {\n"
	"            \"apiVersion\": \"v1\",\n"
	"            \"kind\": \"Service\",\n"
	"            \"metadata\": {\"name\": \"b\"},\n"
	"            \"spec\": {\"clusterIP\": \"10.0.0.10\", \"ports\": [{\"port\": 53, \"protocol\": \"UDP\"}]}\n"
	"        }\n"
	"    ],\n"
	"    \"kind\": \"List\",\n"
	"    \"metadata\": {\"resourceVersion\": \"\"}\n"
	"}\n";

START_TEST(json_kind_list)
{
	struct node *r;

	ck_assert_int_eq(parse_json(list_json), 0);
	r = root();
	assert_str(at(r, "kind"), "List");
	ck_assert_uint_eq(at(r, "items")->n, 2);
	assert_loc(at(r, "items.1"), 10, 9);
	assert_str(at(r, "items.1.metadata.name"), "b");
	assert_int(at(r, "items.1.spec.ports.0.port"), 53);
	assert_loc(at(r, "items.1.spec.ports.0.port"), 14, 67);
	assert_int(at(r, "items.0.spec.ports.0.targetPort"), 8080);
	assert_str(at(r, "metadata.resourceVersion"), "");
}
END_TEST

/* ---- JSON: strict RFC 8259, decoding, numbers ---- */

struct json_error_case {
	const char *json;
	uint32_t line, col;
	const char *want;
};

static const struct json_error_case json_error_cases[] = {
	{ "{\"a\": [1, 2,]}", 1, 13, "found ']', expected a value (JSON allows no comma before ']')" },
	{ "{\"a\": 1,}", 1, 9, "found '}', expected a key in double quotes (JSON allows no comma before '}')" },
	{ "[1,,2]", 1, 4, "found ',', expected a value" },
	{ "// c\n{}", 1, 1, "found '/', expected '[' or '{' (JSON has no comments)" },
	{ "{\"a\": 1 /* c */}", 1, 9, "found '/', expected ',' or '}' (JSON has no comments)" },
	{ "{'a': 1}", 1, 2, "(JSON strings take double quotes)" },
	{ "{\"a\": NaN}", 1, 7, "found 'NaN', expected a value" },
	{ "{\"a\": -Infinity}", 1, 7, "found '-Infinity', expected a value" },
	{ "{\"a\": True}", 1, 7, "found 'True', expected a value" },
	{ "{\"a\": tru}", 1, 7, "found 'tru', expected a value" },
	{ "{\"a\": truex}", 1, 7, "found 'truex', expected a value" },
	{ "{\"a\": 01}", 1, 7, "found '01', expected a number without leading zeros" },
	{ "{\"a\": -01}", 1, 7, "found '-01', expected a number without leading zeros" },
	{ "{\"a\": 1.}", 1, 7, "found '1.', expected a digit after the decimal point" },
	{ "{\"a\": .5}", 1, 7, "found '.5', expected a value" },
	{ "{\"a\": +1}", 1, 7, "found '+1', expected a value" },
	{ "{\"a\": -}", 1, 7, "found '-', expected a value" },
	{ "{\"a\": 1e+}", 1, 7, "found '1e+', expected digits in the exponent" },
	{ "{\"a\": 1e400}", 1, 7, "found '1e400', expected a number within the range of a double" },
	{ "{\"a\" 1}", 1, 6, "found '1', expected ':'" },
	{ "{\"a\": 1 \"b\": 2}", 1, 9, "found '\"', expected ',' or '}'" },
	{ "[1 2]", 1, 4, "found '2', expected ',' or ']'" },
	{ "[1", 1, 3, "found end of file, expected ',' or ']'" },
	{ "[", 1, 2, "found end of file, expected a value or ']'" },
	{ "{\"a\":", 1, 6, "found end of file, expected a value" },
	{ "{\"a\": 1}]", 1, 9, "found ']', expected end of file" },
	{ "\"top\"", 1, 1, "found '\"', expected '[' or '{'" },
	{ "  \n 42", 2, 2, "found '42', expected '[' or '{'" },
	{ "{\"a\": \"x", 1, 9, "found end of file, expected '\"' to close the string at line 1 col 7" },
	/* Allowed by RFC 8259, but keys are C strings downstream. */
	{ "{\"a\": 1, \"ki\\u0000nd\": 2}", 1, 10, "found \\u0000 in a key, expected keys without NUL characters" },
	{ "{\"a\": \"\\x\"}", 1, 8, "found '\\x', expected one of the escapes" },
	{ "{\"a\": \"\\'\"}", 1, 8, "found '\\'', expected one of the escapes" },
	{ "{\"a\": \"\\u12\"}", 1, 8, "found '\\u' without four hex digits after it, expected \\uXXXX" },
	{ "{\"a\": \"\\ud834\"}", 1, 8, "found '\\ud834', a high surrogate, expected a low surrogate" },
	{ "{\"a\": \"\\ud834\\u0041\"}", 1, 8, "found '\\ud834', a high surrogate" },
	{ "{\"a\": \"\\udd1e\"}", 1, 8, "found '\\udd1e', a low surrogate with no high one before it" },
	{ "{\"a\": \"tab\there\"}", 1, 11, "found control character 0x09 in a string, expected it escaped, as \\u0009" },
	{ "{\"a\": \"line\nbreak\"}", 1, 12, "found control character 0x0a in a string" },
	/* UTF-8 as RFC 3629 has it: no overlong forms, no encoded surrogates, nothing past U+10FFFF. */
	{ "{\"a\": \"\xc0\xaf\"}", 1, 8, "found byte 0xc0 in a string, expected UTF-8 text" },
	{ "{\"a\": \"\xe0\x80\xaf\"}", 1, 8, "found byte 0xe0 in a string" },
	{ "{\"a\": \"\xed\xa0\x80\"}", 1, 8, "found byte 0xed in a string" },
	{ "{\"a\": \"\xf4\x90\x80\x80\"}", 1, 8, "found byte 0xf4 in a string" },
	{ "{\"a\": \"\xe2\x82\"}", 1, 8, "found byte 0xe2 in a string" },
	{ "{\"a\": \"ok\x80\"}", 1, 10, "found byte 0x80 in a string" },
	{ "{\"a\": \xc3\xa9}", 1, 7, "found '\xc3\xa9', expected a value" },
	{ "{\"a\": \xff}", 1, 7, "found byte 0xff, expected a value" },
	/* Columns count characters: the error is on 'x', the 15th. */
	{ "{\"\xc3\xa9\": 1, \"b\": x}", 1, 15, "found 'x', expected a value" },
	{ "{\"a\": 1}\0", 1, 9, "found a NUL byte" },
};

START_TEST(json_errors)
{
	const struct json_error_case *c = &json_error_cases[_i];
	/* The NUL case is the only one whose length strlen cannot tell. */
	size_t len = strlen(c->json) + (strstr(c->want, "NUL byte") ? 1 : 0);

	assert_error(parse_json_n(c->json, len), c->line, c->col, c->want);
	ck_assert_ptr_nonnull(strstr(P.d.msgs[0].text, "invalid JSON: "));
	ck_assert_uint_eq(P.d.errors, 1);
}
END_TEST

START_TEST(json_strings)
{
	static const char emoji[] = "\xf0\x9f\x98\x80";
	struct node *r;

	ck_assert_int_eq(parse_json("{\"e\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\", "
				    "\"u\": \"\\u00e9\\u20AC\\ud83d\\ude00\", "
				    "\"raw\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", "
				    "\"mixed\": \"a\\tb\xc3\xa9\\u0041\", \"nul\": \"\\u0000\", \"\": \"\"}"), 0);
	r = root();
	assert_str(at(r, "e"), "\"\\/\b\f\n\r\t");
	assert_str(at(r, "u"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_str(at(r, "raw"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_str(at(r, "mixed"), "a\tb\xc3\xa9" "A");
	ck_assert_uint_eq(at(r, "nul")->len, 1);
	ck_assert_int_eq(at(r, "nul")->str[0], '\0');
	assert_str(r->pairs[5].key, "");
	assert_str(r->pairs[5].value, "");
	ck_assert_ptr_nonnull(strstr(at(r, "u")->str, emoji));
}
END_TEST

START_TEST(json_columns_after_strings)
{
	/* Escapes count as the characters they are written with, UTF-8 as one per character. */
	ck_assert_int_eq(parse_json("[\"\\u00e9\", \"\xf0\x9f\x98\x80\xc3\xa9\", 1,\n \"\xc3\xa9\", 2]"), 0);
	assert_loc(at(root(), "1"), 1, 12);
	assert_loc(at(root(), "2"), 1, 18);
	assert_loc(at(root(), "3"), 2, 2);
	assert_loc(at(root(), "4"), 2, 7);
}
END_TEST

START_TEST(json_crlf)
{
	ck_assert_int_eq(parse_json("{\r\n  \"a\": 1,\r\n\t\"b\": [ ]\r\n}\r\n"), 0);
	assert_loc(root()->pairs[0].key, 2, 3);
	assert_loc(at(root(), "a"), 2, 8);
	assert_loc(at(root(), "b"), 3, 7);
	ck_assert_int_eq(at(root(), "b")->type, NODE_SEQ);
	ck_assert_uint_eq(at(root(), "b")->n, 0);
}
END_TEST

START_TEST(json_numbers)
{
	struct node *r;

	ck_assert_int_eq(parse_json("[9223372036854775807, -9223372036854775808, 9223372036854775808,"
				    " -9223372036854775809, 0, -0.0, 1E2, 1e-2, 2.5e+1,"
				    " 123456789012345678901234567890, 1e-400]"), 0);
	r = root();
	ck_assert_uint_eq(r->n, 11);
	assert_int(r->items[0], INT64_MAX);
	ck_assert_str_eq(r->items[0]->str, "9223372036854775807");
	assert_int(r->items[1], INT64_MIN);
	ck_assert_int_eq(r->items[2]->type, NODE_FLOAT);
	ck_assert_double_eq(r->items[2]->f, 9223372036854775808.0);
	ck_assert_str_eq(r->items[2]->str, "9223372036854775808");
	ck_assert_int_eq(r->items[3]->type, NODE_FLOAT);
	ck_assert_double_eq(r->items[3]->f, -9223372036854775809.0);
	assert_int(r->items[4], 0);
	ck_assert_int_eq(r->items[5]->type, NODE_FLOAT);
	ck_assert(r->items[5]->f == 0 && signbit(r->items[5]->f));
	ck_assert_str_eq(r->items[5]->str, "-0.0");
	ck_assert_double_eq(r->items[6]->f, 100);
	ck_assert_str_eq(r->items[6]->str, "1E2");
	ck_assert_double_eq(r->items[7]->f, 0.01);
	ck_assert_double_eq(r->items[8]->f, 25);
	ck_assert_double_eq_tol(r->items[9]->f, 1.2345678901234568e29, 1e14);
	ck_assert_uint_eq(r->items[9]->len, 30);
	/* Underflow is not an error: the value is as close to it as a double gets. */
	ck_assert_double_eq(r->items[10]->f, 0);
}
END_TEST

START_TEST(json_duplicate_keys_all_reported)
{
	/* As in YAML: each duplicate at its own position, reading goes on. */
	int rc = parse_json("{\"a\": 1, \"b\": {\"x\": 1, \"x\": 2}, \"a\": 3}");

	assert_error(rc, 1, 24, "duplicate key 'x', first defined on line 1");
	ck_assert_uint_eq(P.d.errors, 2);
	ck_assert_uint_eq(P.d.msgs[1].loc.col, 33);
	ck_assert_ptr_nonnull(strstr(P.d.msgs[1].text, "duplicate key 'a'"));
	ck_assert_ptr_null(P.docs);
}
END_TEST

START_TEST(json_many_keys)
{
	/* 20,000 keys, one repeated at the end: the sorting check, not the pairwise one, finds it. */
	size_t n = 20000, len = 0;
	char *buf = malloc(n * 32);

	ck_assert_ptr_nonnull(buf);
	len += (size_t)sprintf(buf + len, "{");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "\"key%zu\": %zu,\n", (i * 7919) % n, i);
	sprintf(buf + len, "\"key0\": 0}");
	assert_error(parse_json(buf), (uint32_t)n + 1, 1, "duplicate key 'key0', first defined on line 1");
	ck_assert_uint_eq(P.d.errors, 1);
	teardown();
	setup();
	sprintf(buf + len - 2, "}");
	ck_assert_int_eq(parse_json(buf), 0);
	ck_assert_uint_eq(root()->n, n);
	assert_str(root()->pairs[n - 1].key, "key12081");
	assert_int(root()->pairs[n - 1].value, (int64_t)n - 1);
	free(buf);
}
END_TEST

START_TEST(json_long_line)
{
	/* Minified: one line, positions still exact (and found without rescanning the line). */
	char *list = repeat("{\"kind\":\"Service\",\"port\":80},", 5000, "{\"kind\":\"Service\",\"port\":81}]}");
	char *text = malloc(strlen(list) + 16);

	ck_assert_ptr_nonnull(text);
	sprintf(text, "{\"items\":[%s", list);
	ck_assert_int_eq(parse_json(text), 0);
	ck_assert_uint_eq(at(root(), "items")->n, 5001);
	assert_int(at(root(), "items.5000.port"), 81);
	assert_loc(at(root(), "items.5000.port"), 1, 10 + 5000 * 29 + 26);
	free(list);
	free(text);
}
END_TEST

START_TEST(json_object_depth_limit)
{
	char *deep = repeat("{\"a\":", 100, "1");

	assert_error(parse_json(deep), 1, 5 * 64 + 1, "nesting deeper than 64 levels");
	free(deep);
}
END_TEST

START_TEST(shared_strings)
{
	/* Equal short strings of one file share their text; long ones are copied; each stays intact. */
	static const char uid[] = "811bcc56-e53b-4d9b-aede-6790720df3c3";
	char text[256];
	struct node *r;

	snprintf(text, sizeof(text), "[{\"name\": \"TCP\"}, {\"name\": \"TCP\", \"TCP\": \"%s\"}, \"%s\"]", uid, uid);
	ck_assert_int_eq(parse_json(text), 0);
	r = root();
	ck_assert_ptr_eq(at(r, "0.name")->str, at(r, "1.name")->str);
	ck_assert_ptr_eq(r->items[0]->pairs[0].key->str, r->items[1]->pairs[0].key->str);
	ck_assert_ptr_eq(r->items[1]->pairs[1].key->str, at(r, "1.name")->str);
	assert_str(at(r, "1.TCP"), uid);
	assert_str(at(r, "2"), uid);
	teardown();
	setup();
	ck_assert_int_eq(parse_yaml("a: TCP\nb: [TCP, 'TCP']\n"), 0);
	ck_assert_ptr_eq(at(root(), "a")->str, at(root(), "b.1")->str);
}
END_TEST

START_TEST(node_loc_outside_a_parser)
{
	struct node n = { .type = NODE_NULL, .line = 3, .col = 4 };
	struct loc loc = node_loc(&n);

	ck_assert_ptr_null(loc.file);
	ck_assert_uint_eq(loc.line, 3);
	ck_assert_uint_eq(loc.col, 4);
}
END_TEST

/* ---- dispatch and helpers ---- */

START_TEST(dispatch)
{
	static const char bom_json[] = "\xef\xbb\xbf{\"a\": 1}";

	/* "{a: yes}" is YAML, not JSON: the error proves which parser ran. */
	assert_error(tree_parse(" \n\t{a: yes}", 11, FILE_NAME, &P.a, &P.d, &P.docs), 2, 3, "invalid JSON");
	teardown();
	setup();
	ck_assert_int_eq(tree_parse("a: yes", 6, FILE_NAME, &P.a, &P.d, &P.docs), 0);
	ck_assert_int_eq(at(root(), "a")->type, NODE_BOOL);
	teardown();
	setup();
	ck_assert_int_eq(tree_parse(bom_json, sizeof(bom_json) - 1, FILE_NAME, &P.a, &P.d, &P.docs), 0);
	assert_loc(at(root(), "a"), 1, 7);
	teardown();
	setup();
	ck_assert_int_eq(tree_parse("", 0, FILE_NAME, &P.a, &P.d, &P.docs), 0);
	ck_assert_ptr_null(P.docs);
	ck_assert_int_eq(tree_parse(NULL, 0, FILE_NAME, &P.a, &P.d, &P.docs), 0);
	ck_assert_ptr_null(P.docs);
}
END_TEST

START_TEST(node_helpers)
{
	ck_assert_int_eq(parse_yaml("a: 1\nb: [x]\n"), 0);
	ck_assert_ptr_null(node_get(root(), "c"));
	ck_assert_ptr_null(node_get(at(root(), "b"), "x"));
	ck_assert_ptr_null(node_get(NULL, "a"));
	ck_assert_str_eq(node_type_name(NODE_MAP), "mapping");
	ck_assert_str_eq(node_type_name(NODE_SEQ), "sequence");
	ck_assert_str_eq(node_type_name(NODE_INT), "integer");
	ck_assert_str_eq(node_type_name((enum node_type)99), "unknown");
}
END_TEST

START_TEST(quote)
{
	char q[TREE_QUOTE_SIZE], small[12];
	char long_text[200];

	ck_assert_str_eq(tree_quote(q, sizeof(q), "a'b\n\x01", 5), "a\\'b\\n\\x01");
	ck_assert_str_eq(tree_quote(q, sizeof(q), "\xc3\xa9\xff", 3), "\xc3\xa9\\xff");
	memset(long_text, 'x', sizeof(long_text));
	tree_quote(q, sizeof(q), long_text, sizeof(long_text));
	ck_assert_uint_lt(strlen(q), sizeof(q));
	ck_assert_str_eq(q + strlen(q) - 3, "...");
	/* A cut never splits a UTF-8 sequence. */
	ck_assert_str_eq(tree_quote(small, sizeof(small), "abcdefg\xc3\xa9xyz", 12), "abcdefg...");
}
END_TEST

START_TEST(offsets)
{
	static const char text[] = "ab\n\xc3\xa9x\n\ny";
	struct loc loc = tree_offset_loc(text, sizeof(text) - 1, 5, FILE_NAME);

	/* "x" is the third byte but the second character of line 2. */
	ck_assert_uint_eq(loc.line, 2);
	ck_assert_uint_eq(loc.col, 2);
	ck_assert_uint_eq(tree_loc_offset(text, sizeof(text) - 1, &loc), 5);
	loc = tree_offset_loc(text, sizeof(text) - 1, 8, FILE_NAME);
	ck_assert_uint_eq(loc.line, 4);
	ck_assert_uint_eq(loc.col, 1);
	ck_assert_uint_eq(tree_loc_offset(text, sizeof(text) - 1, &loc), 8);
	loc.line = 99;
	ck_assert_uint_eq(tree_loc_offset(text, sizeof(text) - 1, &loc), sizeof(text) - 1);
}
END_TEST

/* Packed byte strings and aligned objects share blocks; both come zeroed, and big ones get blocks of their own. */
START_TEST(arena_packed_and_aligned)
{
	struct arena a;
	unsigned char *big;

	arena_init(&a);
	for (size_t i = 0; i < 20000; i++) {
		unsigned char key[7] = { (unsigned char)i, (unsigned char)(i >> 8), 1, 2, 3, 4, 5 };
		const unsigned char *k = arena_memdup(&a, key, 1 + i % 7);
		uint64_t *word = arena_alloc(&a, sizeof(*word) * (1 + i % 3));

		ck_assert_ptr_nonnull(k);
		ck_assert_ptr_nonnull(word);
		ck_assert_mem_eq(k, key, 1 + i % 7);
		ck_assert_uint_eq((uintptr_t)word % 16, 0);
		ck_assert_uint_eq(word[0], 0);
		word[0] = i;
	}
	big = arena_alloc_bytes(&a, 5u << 20);
	ck_assert_ptr_nonnull(big);
	ck_assert_uint_eq(big[0] | big[(5u << 20) - 1], 0);
	ck_assert_ptr_nonnull(arena_memdup(&a, "", 0));
	arena_free(&a);
}
END_TEST

static Suite *tree_suite(void)
{
	Suite *s = suite_create("tree");
	TCase *yaml = tcase_create("yaml"), *scalars = tcase_create("scalars");
	TCase *limits = tcase_create("limits"), *json = tcase_create("json");
	TCase *misc = tcase_create("misc");
	TCase *all[] = { yaml, scalars, limits, json, misc };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		/* Generous for valgrind. */
		tcase_set_timeout(all[i], 120);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(yaml, yaml_block);
	tcase_add_test(yaml, yaml_flow);
	tcase_add_test(yaml, yaml_multi_document);
	tcase_add_test(yaml, yaml_many_documents);
	tcase_add_test(yaml, yaml_empty_stream);
	tcase_add_test(yaml, yaml_anchors);
	tcase_add_test(yaml, yaml_alias_as_key);
	tcase_add_test(yaml, yaml_alias_errors);
	tcase_add_test(yaml, yaml_non_scalar_key);
	tcase_add_test(yaml, yaml_keys_are_strings);
	tcase_add_test(yaml, yaml_utf8_columns);
	tcase_add_test(yaml, yaml_duplicate_key);
	tcase_add_test(yaml, yaml_duplicate_keys_all_reported);
	tcase_add_test(yaml, yaml_many_keys);
	tcase_add_test(yaml, yaml_tab_indent);
	tcase_add_test(yaml, yaml_truncated);
	tcase_add_test(yaml, yaml_nul_byte);
	tcase_add_test(yaml, yaml_invalid_utf8);
	tcase_add_test(yaml, yaml_unterminated_buffer);
	tcase_add_loop_test(scalars, yaml_scalar, 0, sizeof(scalar_cases) / sizeof(scalar_cases[0]));
	tcase_add_loop_test(scalars, yaml_words, 0, sizeof(word_cases) / sizeof(word_cases[0]));
	tcase_add_test(scalars, yaml_tag_mismatch);
	tcase_add_test(limits, yaml_depth_limit);
	tcase_add_test(limits, yaml_billion_laughs);
	tcase_add_test(limits, json_depth_limit);
	tcase_add_test(limits, file_size_limit);
	tcase_add_test(json, json_positions);
	tcase_add_test(json, json_utf8_columns);
	tcase_add_test(json, json_key_order);
	tcase_add_test(json, json_values);
	tcase_add_test(json, json_string_word_scan);
	tcase_add_test(json, json_syntax_error);
	tcase_add_test(json, json_nul_byte_anywhere);
	tcase_add_test(json, json_duplicate_key);
	tcase_add_test(json, json_nul_byte);
	tcase_add_test(json, json_invalid_utf8);
	tcase_add_test(json, json_unterminated_buffer);
	tcase_add_test(json, json_kind_list);
	tcase_add_loop_test(json, json_errors, 0, sizeof(json_error_cases) / sizeof(json_error_cases[0]));
	tcase_add_test(json, json_strings);
	tcase_add_test(json, json_columns_after_strings);
	tcase_add_test(json, json_crlf);
	tcase_add_test(json, json_numbers);
	tcase_add_test(json, json_duplicate_keys_all_reported);
	tcase_add_test(json, json_many_keys);
	tcase_add_test(json, json_long_line);
	tcase_add_test(limits, json_object_depth_limit);
	tcase_add_test(misc, arena_packed_and_aligned);
	tcase_add_test(misc, shared_strings);
	tcase_add_test(misc, node_loc_outside_a_parser);
	tcase_add_test(misc, dispatch);
	tcase_add_test(misc, node_helpers);
	tcase_add_test(misc, quote);
	tcase_add_test(misc, offsets);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tree_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
