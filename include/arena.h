/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A bump allocator: a whole parse (tree, strings, model) lives in one arena
 * and is freed at once, so parsers need no per-node cleanup paths.
 */
#ifndef SVCNAT_ARENA_H
#define SVCNAT_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;
	size_t used_total;
};

void arena_init(struct arena *a);
void arena_free(struct arena *a);
/* Zeroed memory, aligned for any type; NULL only on out-of-memory. */
void *arena_alloc(struct arena *a, size_t size);
/* Zeroed bytes without alignment, packed: for many short byte strings (set keys). */
void *arena_alloc_bytes(struct arena *a, size_t size);
/* A copy of len bytes at p (packed, as arena_alloc_bytes); NULL only on out-of-memory. */
void *arena_memdup(struct arena *a, const void *p, size_t len);
/*
 * Takes back everything handed out, keeping the newest block (zeroed again) for
 * what comes next: a parser's scratch space, reused for each item of a stream.
 */
void arena_reset(struct arena *a);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The strings up to the NULL, joined: what arena_printf("%s%s..") makes, without printf's cost. */
char *arena_concat(struct arena *a, ...) __attribute__((sentinel));

#endif
