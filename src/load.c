// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Paths -> documents -> model: files, directories (recursive, sorted, so
 * runs are reproducible) and "-" for standard input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"

#define LOAD_MAX_DIR_DEPTH 16

struct dir_chain {
	dev_t dev;
	ino_t ino;
	const struct dir_chain *up;
};

/* size_hint: the file's size when known, so a large file is read into one buffer of its size. */
static int read_all(int fd, const char *name, size_t size_hint, char **ret_buf, size_t *ret_len, struct diag *d)
{
	size_t cap = size_hint && size_hint < TREE_MAX_FILE_SIZE ? size_hint + 1 : 64 * 1024, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= TREE_MAX_FILE_SIZE) {
				free(buf);
				return diag_error(d, &(struct loc){ .file = name },
						  "larger than %u MiB: refusing to read it", TREE_MAX_FILE_SIZE >> 20);
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			return diag_error(d, &(struct loc){ .file = name }, "cannot read: %s", strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int load_buffer(struct model *m, const char *buf, size_t len, const char *name, struct diag *d)
{
	struct doc *docs = NULL;
	int r = tree_parse(buf, len, name, &m->arena, d, &docs);

	if (r < 0)
		return r;
	for (struct doc *doc = docs; doc; doc = doc->next)
		if (model_add_doc(m, doc->root, d) < 0)
			r = -EINVAL;
	return r;
}

static int load_fd(struct model *m, int fd, const char *name, size_t size_hint, struct diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	int r = read_all(fd, name, size_hint, &buf, &len, d);

	if (r < 0)
		return r;
	r = load_buffer(m, buf, len, name, d);
	free(buf);
	return r;
}

static bool manifest_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return false;	/* editors' swap files and the like */
	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".json"));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_any(struct model *m, const char *path, const struct dir_chain *up, unsigned depth,
		    struct diag *d);

static int load_dir(struct model *m, const char *path, DIR *dir, const struct dir_chain *self,
		    unsigned depth, struct diag *d)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*v));

			if (!v) {
				r = -ENOMEM;
				goto out;
			}
			names = v;
		}
		names[n] = arena_printf(&m->arena, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/",
					de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		const char *base = strrchr(names[i], '/') + 1;

		/* Files are picked by suffix; directories are always entered. */
		if (stat(names[i], &st) == 0 && !S_ISDIR(st.st_mode) && !manifest_name(base))
			continue;
		/*
		 * A FIFO or device in a manifest directory is no manifest (and could
		 * block the run); one named with -f is the user's choice (<(kubectl ...)).
		 */
		if (stat(names[i], &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			diag_error(d, &(struct loc){ .file = names[i] }, "not a regular file (%s): refusing to read it",
				   S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISSOCK(st.st_mode) ? "a socket" : "a device");
			r = r == -ENOMEM ? r : -EINVAL;
			continue;
		}
		if (load_any(m, names[i], self, depth + 1, d) < 0)
			r = r == -ENOMEM ? r : -EINVAL;
	}
out:
	free(names);
	return r;
}

static int load_any(struct model *m, const char *path, const struct dir_chain *up, unsigned depth,
		    struct diag *d)
{
	const struct loc where = { .file = path };
	struct stat st;
	DIR *dir;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return diag_error(d, &where, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return diag_error(d, &where, "cannot stat: %s", strerror(-r));
	}
	/*
	 * Whoever may write the manifests steers this node's traffic (svcnat runs
	 * as root): a file or directory anyone can write is refused.  A sticky
	 * directory (/tmp) still lets anyone add files, so it counts too.
	 */
	if ((S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) && (st.st_mode & S_IWOTH)) {
		close(fd);
		return diag_error(d, &where, "%s is world-writable: anyone could steer this node's traffic; refusing it "
				  "(chmod o-w)", S_ISDIR(st.st_mode) ? "directory" : "file");
	}
	if (!S_ISDIR(st.st_mode)) {
		r = load_fd(m, fd, path, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, d);
		close(fd);
		return r;
	}
	for (const struct dir_chain *c = up; c; c = c->up)
		if (c->dev == st.st_dev && c->ino == st.st_ino) {
			close(fd);
			return diag_error(d, &where, "directory loop (a symbolic link back to a parent): not entered");
		}
	if (depth > LOAD_MAX_DIR_DEPTH) {
		close(fd);
		return diag_error(d, &where, "directories nested deeper than %d levels", LOAD_MAX_DIR_DEPTH);
	}
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return diag_error(d, &where, "cannot read directory: %s", strerror(errno));
	}
	r = load_dir(m, path, dir, &(struct dir_chain){ st.st_dev, st.st_ino, up }, depth, d);
	closedir(dir);
	return r;
}

int model_load_path(struct model *m, const char *path, struct diag *d)
{
	const char *name;

	if (!strcmp(path, "-"))
		return load_fd(m, STDIN_FILENO, "<stdin>", 0, d);
	name = arena_strdup(&m->arena, path);
	if (!name)
		return -ENOMEM;
	return load_any(m, name, NULL, 0, d);
}
