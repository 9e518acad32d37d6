/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The generic document tree both manifest parsers produce: JSON-like values
 * that remember where in the source they came from, so that every later
 * error can name file, line and column.
 */
#ifndef SVCNAT_TREE_H
#define SVCNAT_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

enum node_type {
	NODE_NULL,
	NODE_BOOL,
	NODE_INT,
	NODE_FLOAT,
	NODE_STRING,
	NODE_SEQ,
	NODE_MAP,
};

struct node;

struct node_pair {
	struct node *key;	/* always NODE_STRING for manifests; kept as a node for its position */
	struct node *value;
};

struct node {
	enum node_type type;
	struct loc loc;		/* where the value starts */
	/*
	 * Scalars: the source text, NUL-terminated (for YAML the scalar's value
	 * after unquoting; for JSON the decoded string or the number's text).
	 */
	const char *str;
	size_t len;
	int64_t i;		/* NODE_INT */
	double f;		/* NODE_FLOAT */
	bool b;			/* NODE_BOOL */
	size_t n;		/* NODE_SEQ: items; NODE_MAP: pairs */
	union {
		struct node **items;
		struct node_pair *pairs;
	};
};

/* One document of a stream (a YAML stream may hold several). */
struct doc {
	struct node *root;	/* NULL for an empty document */
	struct doc *next;
};

/* Limits on what a user controls; documented in svcnat(8). */
#define TREE_MAX_DEPTH		64
#define TREE_MAX_NODES		(16u * 1024 * 1024)	/* per file, aliases counted as expanded */
#define TREE_MAX_FILE_SIZE	(256u * 1024 * 1024)

/*
 * Parsers: buf need not be NUL-terminated. On success *ret_docs is the list
 * of documents (allocated in a). On a syntax error a diagnostic with the
 * parser's position is added and -EINVAL returned.
 */
int tree_parse_yaml(const char *buf, size_t len, const char *name, struct arena *a,
		    struct diag *d, struct doc **ret_docs);
int tree_parse_json(const char *buf, size_t len, const char *name, struct arena *a,
		    struct diag *d, struct doc **ret_docs);
/* Picks by content: a document whose first non-blank byte is '{' or '[' is JSON. */
int tree_parse(const char *buf, size_t len, const char *name, struct arena *a,
	       struct diag *d, struct doc **ret_docs);

/* Lookups; NULL when absent or when n is not a mapping. */
struct node *node_get(const struct node *map, const char *key);
const char *node_type_name(enum node_type t);

/*
 * Helpers the two parsers share (tree.c).  tree_quote is also meant for
 * any module that puts a user's value into a message.
 */
#define TREE_QUOTE_SIZE 72	/* room for a quoted value, truncated with "..." */

/* A zeroed node of type t at loc (the file name pointer is kept, not copied). */
struct node *tree_node_new(struct arena *a, enum node_type t, const struct loc *loc);
/* s[0..len) made printable for a message: escapes, truncation; returns out. */
const char *tree_quote(char *out, size_t size, const char *s, size_t len);
/* Byte offset -> line:col (col counts UTF-8 characters), as the parsers report them. */
struct loc tree_offset_loc(const char *buf, size_t len, size_t off, const char *name);
/* The reverse: the byte offset of loc's line:col, or len if it is beyond the end. */
size_t tree_loc_offset(const char *buf, size_t len, const struct loc *loc);
/* The limit errors, worded the same for YAML and JSON. */
int tree_check_size(size_t len, const char *name, struct diag *d);
int tree_error_depth(struct diag *d, const struct loc *loc);
int tree_error_nodes(struct diag *d, const struct loc *loc);
/* Reports each repeated key of a mapping at its own position; -EINVAL if there was one. */
int tree_check_duplicates(const struct node *map, struct diag *d);
/*
 * Room for need elements of elem bytes in the malloc'd vector v of *cap:
 * returns v, moved if it grew, or NULL on out-of-memory (v is then untouched).
 */
void *tree_grow(void *v, size_t *cap, size_t need, size_t elem);

#endif
