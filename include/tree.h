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

/*
 * 32 bytes on LP64: a 96 MB List holds close to four million of these.
 * What a node holds depends on its type, so read a field only after checking
 * type: a scalar has str, len and (by type) i, f or b; a collection has n and
 * items or pairs, and a NULL str.
 */
struct node {
	/*
	 * Scalars: the source text, NUL-terminated (for YAML the scalar's value
	 * after unquoting; for JSON the decoded string or the number's text).
	 * Equal short strings of one file may share their text.
	 */
	const char *str;
	union {
		int64_t i;			/* NODE_INT */
		double f;			/* NODE_FLOAT */
		bool b;				/* NODE_BOOL */
		struct node **items;		/* NODE_SEQ */
		struct node_pair *pairs;	/* NODE_MAP */
	};
	union {
		uint32_t len;	/* scalars: bytes of str, which may hold a NUL ("a\u0000b") */
		uint32_t n;	/* NODE_SEQ: items; NODE_MAP: pairs */
	};
	uint32_t line, col;	/* where the value starts (col counts characters); 0 = unknown */
	enum node_type type : 8;
	/*
	 * The file name is not repeated in every node: nodes are allocated in
	 * slabs that start with it, and home is how many bytes back from the
	 * node its slab starts.  0 for a node made outside a parser: no file.
	 * So a node is referred to, never copied by value.
	 */
	uint32_t home : 24;
};

/* The start of every slab of nodes. */
struct tree_slab {
	const char *file;
};

/* Where n starts, as diagnostics take it. */
static inline struct loc node_loc(const struct node *n)
{
	const struct tree_slab *slab = n->home ? (const void *)((const char *)n - n->home) : NULL;

	return (struct loc){ .file = slab ? slab->file : NULL, .line = n->line, .col = n->col };
}

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

/*
 * A List read one item at a time, so that memory holds one item's tree and
 * not the whole file's: the JSON parser hands each element of the "items"
 * array of a top-level object to item() as soon as it is complete, built in
 * scratch memory that is reused for the next one, and leaves the array empty
 * in the tree it returns.  item() must copy whatever it keeps; a negative
 * return stops the parse with that error.  The parser cannot know yet
 * whether the object is a List ("kind" may come after "items"): that is
 * for the caller to decide once the parse is done.  The YAML parser hands
 * each document of a stream to doc() alike, and returns no documents.
 */
struct tree_stream {
	int (*item)(void *ctx, const struct node *item);
	int (*doc)(void *ctx, const struct node *root);	/* NULL root: an empty document */
	/* Optional: the text before upto need not stay in memory (it may be read again for a message). */
	void (*release)(void *ctx, const char *upto);
	void *ctx;
};

int tree_parse_json_stream(const char *buf, size_t len, const char *name, struct arena *a,
			   struct diag *d, struct doc **ret_docs, const struct tree_stream *stream);
int tree_parse_yaml_stream(const char *buf, size_t len, const char *name, struct arena *a,
			   struct diag *d, struct doc **ret_docs, const struct tree_stream *stream);
int tree_parse_stream(const char *buf, size_t len, const char *name, struct arena *a,
		      struct diag *d, struct doc **ret_docs, const struct tree_stream *stream);

/* Lookups; NULL when absent or when n is not a mapping. */
struct node *node_get(const struct node *map, const char *key);
const char *node_type_name(enum node_type t);

/*
 * Helpers the two parsers share (tree.c).  tree_quote is also meant for
 * any module that puts a user's value into a message.
 */
#define TREE_QUOTE_SIZE 72	/* room for a quoted value, truncated with "..." */

/*
 * What a parser builds a tree with: nodes come from slabs and strings from
 * chunks carved out of the arena, so neither pays the arena's 16-byte
 * rounding, and short strings are interned (a List repeats "name" a
 * million times).  The index is temporary: tree_builder_fini frees it and
 * leaves the tree in the arena.
 */
struct tree_str;

struct tree_builder {
	struct arena *a;
	const char *file;
	struct tree_slab *slab;		/* the current slab */
	size_t slab_used, slab_size;	/* bytes */
	char *chars, *chars_end;	/* free room for strings */
	struct tree_str *strs;		/* intern index, open addressing; NULL slots are empty */
	size_t nstrs, capstrs;
	bool no_intern;			/* copy every string: the arena is reset before long */
};

void tree_builder_init(struct tree_builder *b, struct arena *a, const char *file);
void tree_builder_fini(struct tree_builder *b);
/* Forgets the slab and string chunk: for when the arena was reset (no_intern builders only). */
void tree_builder_reset(struct tree_builder *b);
/* A node of type t at line:col, otherwise zeroed; NULL on out-of-memory. */
struct node *tree_node(struct tree_builder *b, enum node_type t, uint32_t line, uint32_t col);
/* A NUL-terminated copy of s[0..len) that lives as long as the arena; NULL on out-of-memory. */
const char *tree_string(struct tree_builder *b, const char *s, size_t len);
/* Exact-size arrays for a collection's children from a parser's stack (k values, k/2 pairs). */
int tree_set_items(struct tree_builder *b, struct node *n, struct node *const *kids, size_t k);
int tree_set_pairs(struct tree_builder *b, struct node *n, struct node *const *kids, size_t k);
/* The length of the valid UTF-8 sequence (RFC 3629) at s, n bytes available; 0 if invalid. */
size_t tree_utf8_len(const char *s, size_t n);
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
