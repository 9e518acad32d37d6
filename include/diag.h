/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Diagnostics: every message carries the place in the input it is about.
 * Modules add messages here; only main prints them.
 */
#ifndef SVCNAT_DIAG_H
#define SVCNAT_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct loc {
	const char *file;	/* owned by whoever loaded the file; outlives the diag */
	uint32_t line;		/* 1-based; 0 = unknown */
	uint32_t col;		/* 1-based; 0 = unknown */
};

enum diag_level {
	DIAG_ERROR,
	DIAG_WARNING,
	DIAG_INFO,
};

struct diag_msg {
	enum diag_level level;
	struct loc loc;
	char *text;
};

struct diag {
	struct diag_msg *msgs;
	size_t n, cap;
	size_t errors;
	size_t warnings;
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);

/* Returns -EINVAL for errors and 0 otherwise, so callers can "return diag_error(...)". */
int diag_add(struct diag *d, enum diag_level level, const struct loc *loc,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int diag_vadd(struct diag *d, enum diag_level level, const struct loc *loc,
	      const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

#define diag_error(d, loc, ...) diag_add((d), DIAG_ERROR, (loc), __VA_ARGS__)
#define diag_warn(d, loc, ...) diag_add((d), DIAG_WARNING, (loc), __VA_ARGS__)
#define diag_info(d, loc, ...) diag_add((d), DIAG_INFO, (loc), __VA_ARGS__)

/* Appends every message of from to d, in order, and leaves from empty. */
int diag_move(struct diag *d, struct diag *from);

/* "file:line:col: error: text", the form compilers and nft use. */
int diag_format(const struct diag_msg *m, char *buf, size_t len);

#endif
