// SPDX-License-Identifier: GPL-2.0-or-later
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

void diag_init(struct diag *d)
{
	*d = (struct diag){ 0 };
}

void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i].text);
	free(d->msgs);
	*d = (struct diag){ 0 };
}

int diag_vadd(struct diag *d, enum diag_level level, const struct loc *loc,
	      const char *fmt, va_list ap)
{
	struct diag_msg *m;
	int ret = level == DIAG_ERROR ? -EINVAL : 0;

	if (level == DIAG_ERROR)
		d->errors++;
	else if (level == DIAG_WARNING)
		d->warnings++;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct diag_msg *v = realloc(d->msgs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->msgs = v;
		d->cap = cap;
	}
	m = &d->msgs[d->n];
	m->level = level;
	m->loc = loc ? *loc : (struct loc){ 0 };
	if (vasprintf(&m->text, fmt, ap) < 0)
		return -ENOMEM;
	/* A message is one line: a user's value must not break it (or a terminal). */
	for (char *c = m->text; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	d->n++;
	return ret;
}

int diag_add(struct diag *d, enum diag_level level, const struct loc *loc, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = diag_vadd(d, level, loc, fmt, ap);
	va_end(ap);
	return ret;
}

int diag_move(struct diag *d, struct diag *from)
{
	if (d->n + from->n > d->cap) {
		size_t cap = d->n + from->n;
		struct diag_msg *v = realloc(d->msgs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->msgs = v;
		d->cap = cap;
	}
	if (from->n)
		memcpy(d->msgs + d->n, from->msgs, from->n * sizeof(*from->msgs));
	d->n += from->n;
	d->errors += from->errors;
	d->warnings += from->warnings;
	free(from->msgs);
	*from = (struct diag){ 0 };
	return 0;
}

static const char *const level_names[] = {
	[DIAG_ERROR] = "error",
	[DIAG_WARNING] = "warning",
	[DIAG_INFO] = "info",
};

int diag_format(const struct diag_msg *m, char *buf, size_t len)
{
	const struct loc *l = &m->loc;
	const char *lvl = level_names[m->level];

	if (l->file && l->line)
		return snprintf(buf, len, "%s:%u:%u: %s: %s", l->file, l->line, l->col, lvl, m->text);
	if (l->file)
		return snprintf(buf, len, "%s: %s: %s", l->file, lvl, m->text);
	return snprintf(buf, len, "%s: %s", lvl, m->text);
}
