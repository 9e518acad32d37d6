// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Paths -> documents -> model: files, directories (recursive, sorted, so
 * runs are reproducible) and "-" for standard input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/*
 * A JSON List's items, and the documents of a YAML stream, go into the model
 * as the parser reads them, each into scratch memory, so a 100 MB file never
 * has its whole tree in memory.  Their messages wait in a diag of their own:
 * if the file turns out not to parse, or a JSON object with items not to be a
 * List after all, they are taken back, as if never read.
 */
struct item_stream {
	struct model *m;
	struct diag d;
	int r;
	bool counted_list;
	bool yaml_docs;		/* YAML documents were handed over: a stream */
	const char *map;	/* the file's mapping (page-aligned), or NULL when it was read */
	size_t released;	/* bytes of map given back */
};

/* Pages of a mapped file the parser is done with go back to the page cache. */
static void release_text(void *ctx, const char *upto)
{
	struct item_stream *s = ctx;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), off;

	if (!s->map)
		return;
	off = (size_t)(upto - s->map) & ~(page - 1);
	if (off < s->released + (4u << 20))	/* also never behind what was given back */
		return;
	madvise((char *)s->map + s->released, off - s->released, MADV_DONTNEED);
	s->released = off;
}

/* An object's errors are kept and reading goes on; only running out of memory stops the parse. */
static int took(struct item_stream *s, int r)
{
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		s->r = r;
	return 0;
}

static int stream_item(void *ctx, const struct node *item)
{
	struct item_stream *s = ctx;

	/* Read whole, the List is counted before its items: so it is here, for the same limit. */
	if (!s->counted_list) {
		s->m->n_read++;
		s->counted_list = true;
	}
	return took(s, model_add_item(s->m, item, &s->d));
}

static int stream_doc(void *ctx, const struct node *root)
{
	struct item_stream *s = ctx;

	s->yaml_docs = true;
	return took(s, model_add_doc(s->m, root, &s->d));
}

static bool is_list(const struct node *root)
{
	const struct node *kind = root ? node_get(root, "kind") : NULL;

	return kind && kind->type == NODE_STRING && kind->len >= 4 &&
	       !strcmp(kind->str + kind->len - 4, "List");
}

static int load_text(struct model *m, const char *buf, size_t len, const char *name, bool mapped,
		     struct diag *d)
{
	struct item_stream s = { .m = m, .map = mapped ? buf : NULL };
	struct tree_stream stream = { .item = stream_item, .doc = stream_doc, .release = release_text, .ctx = &s };
	struct model_mark mark = model_mark(m);
	struct doc *docs = NULL;
	int r = tree_parse_stream(buf, len, name, &m->arena, d, &docs, &stream);
	bool streamed = r == 0 && (s.yaml_docs || (docs && !docs->next && is_list(docs->root)));

	if (streamed) {
		int k = diag_move(d, &s.d);

		if (k < 0) {
			diag_free(&s.d);
			return k;
		}
		/* The List itself, counted ahead of its items against the limit, is counted again below. */
		if (s.counted_list)
			m->n_read--;
	} else {
		model_rollback(m, &mark);
	}
	diag_free(&s.d);
	if (r < 0)
		return r;
	r = streamed ? s.r : 0;
	for (struct doc *doc = docs; doc; doc = doc->next)
		if (model_add_doc(m, doc->root, d) < 0)
			r = -EINVAL;
	return r;
}

int model_load_buffer(struct model *m, const char *buf, size_t len, const char *name, struct diag *d)
{
	return load_text(m, buf, len, name, false, d);
}

/*
 * A regular file is mapped, not read: nothing is copied, and the pages a
 * List's items came from are given back as the parser moves on, so memory
 * never holds the whole file.  A file cut short while mapped (rewritten in
 * place, as `kubectl get ... > file` does) raises SIGBUS on the pages past
 * its new end; the handler turns that into an error for this file.
 */
static sigjmp_buf *bus_jump;

static void on_sigbus(int sig)
{
	if (bus_jump)
		siglongjmp(*bus_jump, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int load_mapped(struct model *m, int fd, const char *name, size_t size, struct diag *d)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	struct model_mark mark = model_mark(m);
	sigjmp_buf jump;
	char *map;
	int r;

	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return 1;	/* read it instead */
	madvise(map, size, MADV_SEQUENTIAL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(jump, 1) == 0) {
		bus_jump = &jump;
		r = load_text(m, map, size, name, true, d);
	} else {
		model_rollback(m, &mark);
		r = diag_error(d, &(struct loc){ .file = name }, "the file was cut short while being read");
	}
	bus_jump = NULL;
	sigaction(SIGBUS, &old, NULL);
	munmap(map, size);
	return r;
}

static int load_fd(struct model *m, int fd, const char *name, size_t size_hint, struct diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (size_hint && size_hint <= TREE_MAX_FILE_SIZE) {
		r = load_mapped(m, fd, name, size_hint, d);
		if (r <= 0)
			return r;
	}
	r = read_all(fd, name, size_hint, &buf, &len, d);

	if (r < 0)
		return r;
	r = load_text(m, buf, len, name, false, d);
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
