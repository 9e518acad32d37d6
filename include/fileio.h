/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Files svcnat writes: replaced atomically, never through a planted link, only when they change. */
#ifndef SVCNAT_FILEIO_H
#define SVCNAT_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define FILE_FOLLOW 0x1	/* path may be a symbolic link (svcnat's own files may not) */
#define FILE_ANY_TYPE 0x2	/* not only a regular file (-c /dev/null); read as much as fstat says */

/*
 * Reads a file whole (NUL-terminated, for convenience).  -ENOENT, -EINVAL
 * when not a regular file (unless FILE_ANY_TYPE), -EFBIG above max bytes, or
 * -errno.
 */
int file_read(const char *path, size_t max, unsigned flags, char **ret_buf, size_t *ret_len);

/* Whether path holds exactly data (false when it cannot be read). */
bool file_equals(const char *path, const void *data, size_t len);

/*
 * Replaces path with data: a temporary file beside it (O_EXCL|O_NOFOLLOW),
 * written whole, fsync'ed when durable (then the directory too), renamed over
 * path.  A reader sees the old file or the new one, never a part.  Nothing is
 * written when path already holds data.  0 or a negative errno.
 */
int file_replace(const char *path, const void *data, size_t len, mode_t mode, bool durable);

/*
 * file_replace in two halves, for a file written ahead of the moment it may
 * take effect: file_stage writes the temporary file (tmp stays NULL when
 * path already holds data), file_commit renames it over path, file_discard
 * removes it.  Each frees what file_stage allocated.
 */
struct staged_file {
	char *tmp, *path;
	bool durable;
};

int file_stage(const char *path, const void *data, size_t len, mode_t mode, bool durable,
	       struct staged_file *ret);
/*
 * The same, with the content written by writer(f, ctx) straight into the
 * temporary file (a large record need not be held in memory whole), and
 * compared with path afterwards.  writer returns 0 or a negative errno, which
 * file_stage_stream returns.
 */
typedef int (*file_writer)(FILE *f, const void *ctx);
int file_stage_stream(const char *path, mode_t mode, bool durable, file_writer writer, const void *ctx,
		      struct staged_file *ret);
int file_commit(struct staged_file *s);
void file_discard(struct staged_file *s);
/* Removes what runs killed between file_stage and file_commit left in dir ("NAME.PID.tmp"). */
void file_remove_stale(const char *dir);

#endif
