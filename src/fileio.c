// SPDX-License-Identifier: GPL-2.0-or-later
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

int file_read(const char *path, size_t max, unsigned flags, char **ret_buf, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (flags & FILE_FOLLOW ? 0 : O_NOFOLLOW));
	size_t len = 0;
	struct stat st;
	char *buf;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode) && !(flags & FILE_ANY_TYPE))
		r = -EINVAL;
	else if ((uint64_t)st.st_size > max)
		r = -EFBIG;
	buf = r == 0 ? malloc((size_t)st.st_size + 1) : NULL;
	if (r == 0 && !buf)
		r = -ENOMEM;
	while (r == 0 && len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;	/* shrank while read */
		else
			len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

bool file_equals(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[65536];
	size_t off = 0;
	bool same = fd >= 0;

	while (same) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0) {
			same = n == 0;
			break;
		}
		same = off + (size_t)n <= len && !memcmp(buf, (const char *)data + off, (size_t)n);
		off += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	return same && off == len;
}

/* Whether path holds what the file at staged holds (false when either cannot be read). */
static bool file_equals_file(const char *path, const char *staged)
{
	int fd = open(staged, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t len;
	void *map;
	bool same;

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	len = (size_t)st.st_size;
	map = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (map == MAP_FAILED)
		return false;
	same = file_equals(path, len ? map : "", len);
	if (len)
		munmap(map, len);
	return same;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* Creates path's temporary twin ("PATH.PID.tmp") in ret: its fd, or a negative errno. */
static int open_staged(const char *path, mode_t mode, bool durable, struct staged_file *ret)
{
	char *tmp = NULL;
	int fd;

	*ret = (struct staged_file){ .durable = durable };
	if (asprintf(&tmp, "%s.%d.tmp", path, (int)getpid()) < 0)
		return -ENOMEM;
	ret->path = strdup(path);
	if (!ret->path) {
		free(tmp);
		return -ENOMEM;
	}
	unlink(tmp);	/* a leftover of a killed run that had our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		fd = -errno;
		free(tmp);
		file_discard(ret);
		return fd;
	}
	ret->tmp = tmp;
	return fd;
}

int file_stage(const char *path, const void *data, size_t len, mode_t mode, bool durable,
	       struct staged_file *ret)
{
	int fd, r;

	*ret = (struct staged_file){ .durable = durable };
	if (file_equals(path, data, len))
		return 0;
	fd = open_staged(path, mode, durable, ret);
	if (fd < 0)
		return fd;
	r = write_all(fd, data, len);
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		file_discard(ret);
	return r;
}

int file_stage_stream(const char *path, mode_t mode, bool durable, file_writer writer, const void *ctx,
		      struct staged_file *ret)
{
	int fd = open_staged(path, mode, durable, ret), r;
	FILE *f;

	if (fd < 0)
		return fd;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		file_discard(ret);
		return -ENOMEM;
	}
	setvbuf(f, NULL, _IOFBF, 256 * 1024);
	r = writer(f, ctx);
	if (fflush(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0) {
		file_discard(ret);
	} else if (file_equals_file(path, ret->tmp)) {
		/* Unchanged: leave the file (and its time stamps) alone. */
		unlink(ret->tmp);
		free(ret->tmp);
		ret->tmp = NULL;
	}
	return r;
}

int file_commit(struct staged_file *s)
{
	int r = 0;

	if (s->tmp && rename(s->tmp, s->path) < 0) {
		r = -errno;
		unlink(s->tmp);
	} else if (s->tmp && s->durable) {
		sync_dir(s->path);
	}
	free(s->tmp);
	free(s->path);
	*s = (struct staged_file){ 0 };
	return r;
}

void file_discard(struct staged_file *s)
{
	if (s->tmp)
		unlink(s->tmp);
	free(s->tmp);
	free(s->path);
	*s = (struct staged_file){ 0 };
}

int file_replace(const char *path, const void *data, size_t len, mode_t mode, bool durable)
{
	struct staged_file s;
	int r = file_stage(path, data, len, mode, durable, &s);

	return r < 0 ? r : file_commit(&s);
}

static bool is_staged_name(const char *name)
{
	size_t n = strlen(name), digits = 0;

	if (n < 6 || strcmp(name + n - 4, ".tmp"))
		return false;
	for (n -= 4; n > 0 && name[n - 1] >= '0' && name[n - 1] <= '9'; n--)
		digits++;
	return digits && n > 1 && name[n - 1] == '.';
}

void file_remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_type == DT_REG && is_staged_name(e->d_name))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}
