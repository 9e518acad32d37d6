// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/*
 * Blocks come from calloc: above glibc's mmap threshold that is fresh zero
 * pages from the kernel, touched only as they are used, so handing out zeroed
 * memory costs no memset.  The first block is small, for the many small
 * arenas (configuration, views of small tables); later ones grow.
 */
#define ARENA_BLOCK_SIZE (64 * 1024)
#define ARENA_BLOCK_MAX (4 * 1024 * 1024)
#define ARENA_ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

void arena_init(struct arena *a)
{
	a->head = NULL;
	a->used_total = 0;
}

void arena_free(struct arena *a)
{
	struct arena_block *b, *next;

	for (b = a->head; b; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
	a->used_total = 0;
}

static struct arena_block *arena_grow(struct arena *a, size_t need)
{
	size_t grown = a->used_total < ARENA_BLOCK_MAX ? (a->used_total | ARENA_BLOCK_SIZE) : ARENA_BLOCK_MAX;
	size_t size = need > grown ? need : grown;
	struct arena_block *b = calloc(1, sizeof(*b) + size);

	if (!b)
		return NULL;
	b->size = size;
	b->used = 0;
	/* A block made for one large object goes behind the current one, which keeps filling. */
	if (a->head && need > grown) {
		b->next = a->head->next;
		a->head->next = b;
	} else {
		b->next = a->head;
		a->head = b;
	}
	return b;
}

/* size bytes at an offset that is a multiple of align (a power of two). */
static void *alloc_at(struct arena *a, size_t size, size_t align)
{
	struct arena_block *b = a->head;
	size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;
	void *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	if (!b || at > b->size || b->size - at < size) {
		b = arena_grow(a, size);	/* empty, and its data aligned for any type */
		if (!b)
			return NULL;
		at = 0;
	}
	p = b->data + at;
	a->used_total += at + size - b->used;
	b->used = at + size;
	return p;	/* zero: blocks are calloc'd and nothing is handed out twice */
}

void *arena_alloc(struct arena *a, size_t size)
{
	return alloc_at(a, size, ARENA_ALIGN);
}

void *arena_alloc_bytes(struct arena *a, size_t size)
{
	return alloc_at(a, size, 1);
}

void *arena_memdup(struct arena *a, const void *p, size_t len)
{
	void *q = arena_alloc_bytes(a, len);

	if (q && len)
		memcpy(q, p, len);
	return q;
}

void arena_reset(struct arena *a)
{
	struct arena_block *keep = a->head, *b, *next;

	if (!keep)
		return;
	for (b = keep->next; b; b = next) {
		next = b->next;
		free(b);
	}
	memset(keep->data, 0, keep->used);
	keep->used = 0;
	keep->next = NULL;
	a->used_total = 0;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);

	if (!p)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char small[256], *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	if ((size_t)n < sizeof(small)) {
		memcpy(p, small, (size_t)n + 1);
		return p;
	}
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

char *arena_concat(struct arena *a, ...)
{
	size_t len = 0;
	const char *s;
	char *out, *p;
	va_list ap;

	va_start(ap, a);
	while ((s = va_arg(ap, const char *)))
		len += strlen(s);
	va_end(ap);
	out = p = arena_alloc(a, len + 1);
	if (!out)
		return NULL;
	va_start(ap, a);
	while ((s = va_arg(ap, const char *))) {
		size_t n = strlen(s);

		memcpy(p, s, n);
		p += n;
	}
	va_end(ap);
	*p = '\0';
	return out;
}
