// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The cache file: "SVCNATC1", the key, then the view as length-prefixed
 * records.  Binary, because at 10,000 services it holds ~130,000 elements
 * and is read on every run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "cache.h"
#include "fileio.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define CACHE_MAGIC "SVCNATC2"	/* 2: set sizes */
#define CACHE_MAX_SIZE (1024u * 1024 * 1024)

int cache_key_get(struct mnl_socket *nl, uint32_t genid, struct cache_key *ret)
{
	struct cache_key k;
	socklen_t len = sizeof(k.netns_cookie);
	int fd;

	/* The key is compared with memcmp: no stray padding bytes. */
	memset(&k, 0, sizeof(k));
	k.genid = genid;
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -EOPNOTSUPP;
	n = read(fd, k.boot_id, sizeof(k.boot_id) - 1);
	close(fd);
	if (n < 32)
		return -EOPNOTSUPP;
	k.boot_id[strcspn(k.boot_id, "\n")] = '\0';
	if (getsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_NETNS_COOKIE, &k.netns_cookie, &len) < 0)
		return -EOPNOTSUPP;
	*ret = k;
	return 0;
}

/* ---- Writing ---------------------------------------------------------- */

/* A stream private to the thread that writes it while another commits: no stdio locking needed. */
#define fwrite fwrite_unlocked

static void put_u32(FILE *f, uint32_t v)
{
	fwrite(&v, sizeof(v), 1, f);
}

static void put_str(FILE *f, const char *s)
{
	uint32_t len = s ? (uint32_t)strlen(s) : UINT32_MAX;

	put_u32(f, len);
	if (s)
		fwrite(s, 1, len, f);
}

/* A length-prefixed string at p; the end. */
static uint8_t *pack_str(uint8_t *p, const char *s, size_t len)
{
	uint32_t n = s ? (uint32_t)len : UINT32_MAX;

	memcpy(p, &n, 4);
	if (s)
		memcpy(p + 4, s, len);
	return p + 4 + (s ? len : 0);
}

/* One fwrite per element: 180,000 of them, and a call per field was most of the cost. */
static int put_elem(FILE *f, const struct kv_elem *e)
{
	size_t chain_len = e->chain ? strlen(e->chain) : 0, comment_len = e->comment ? strlen(e->comment) : 0;
	size_t need = 4 + e->key_len + e->data_len + 3 * 4 + chain_len + comment_len;
	uint8_t stack[1024], *buf = need <= sizeof(stack) ? stack : malloc(need), *p = buf;
	uint32_t verdict = (uint32_t)e->verdict;

	if (!buf)
		return -ENOMEM;
	*p++ = e->key_len;
	*p++ = e->data_len;
	*p++ = e->has_verdict;
	*p++ = 0;
	memcpy(p, e->key, e->key_len);
	p += e->key_len;
	memcpy(p, e->data, e->data_len);
	p += e->data_len;
	memcpy(p, &verdict, 4);
	p = pack_str(p + 4, e->chain, chain_len);
	p = pack_str(p, e->comment, comment_len);
	fwrite(buf, 1, (size_t)(p - buf), f);
	if (buf != stack)
		free(buf);
	return 0;
}

static int put_view(FILE *f, const struct kview *v)
{
	int r = 0;

	put_u32(f, (uint32_t)v->n_tables);
	for (size_t i = 0; i < v->n_tables; i++) {
		const struct kv_table *t = &v->tables[i];

		put_u32(f, (uint32_t)t->family);
		put_u32(f, t->present);
		put_str(f, t->name);
		put_str(f, t->decl);
		put_u32(f, (uint32_t)t->n_sets);
		for (size_t j = 0; j < t->n_sets; j++) {
			put_str(f, t->sets[j].name);
			put_str(f, t->sets[j].decl);
			put_u32(f, t->sets[j].size);
			put_u32(f, (uint32_t)t->sets[j].n_elems);
			for (size_t k = 0; k < t->sets[j].n_elems; k++)
				r = r < 0 ? r : put_elem(f, &t->sets[j].elems[k]);
		}
		put_u32(f, (uint32_t)t->n_chains);
		for (size_t j = 0; j < t->n_chains; j++) {
			put_str(f, t->chains[j].name);
			put_str(f, t->chains[j].decl);
			put_u32(f, (uint32_t)t->chains[j].n_rules);
			for (size_t k = 0; k < t->chains[j].n_rules; k++)
				put_str(f, t->chains[j].rules[k]);
		}
	}
	return r;
}

int cache_save(const char *dir, const struct cache_key *key, const struct kview *v)
{
	struct staged_file s;
	char path[512];
	int r;

	if (v) {
		r = cache_stage(dir, key, v, &s);
		return r < 0 ? r : file_commit(&s);
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, CACHE_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

struct cache_record {
	const struct cache_key *key;
	const struct kview *view;
};

static int put_cache(FILE *f, const void *ctx)
{
	const struct cache_record *c = ctx;

	fwrite(CACHE_MAGIC, 1, 8, f);
	fwrite(c->key, sizeof(*c->key), 1, f);
	return put_view(f, c->view);
}

int cache_stage(const char *dir, const struct cache_key *key, const struct kview *v, struct staged_file *ret)
{
	struct cache_record c = { .key = key, .view = v };
	char path[512];

	*ret = (struct staged_file){ 0 };
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, CACHE_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	/* Not durable: a cache lost in a crash only costs the next run a dump. */
	return file_stage_stream(path, 0600, false, put_cache, &c, ret);
}

/* ---- Reading ---------------------------------------------------------- */

struct reader {
	const uint8_t *p, *end;
	struct arena *a;
	bool bad;
};

static uint32_t get_u32(struct reader *r)
{
	uint32_t v = 0;

	if (r->end - r->p < 4) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, 4);
	r->p += 4;
	return v;
}

static const char *get_str(struct reader *r)
{
	uint32_t len = get_u32(r);
	const char *s;

	if (len == UINT32_MAX || r->bad)
		return NULL;
	if ((size_t)(r->end - r->p) < len) {
		r->bad = true;
		return NULL;
	}
	s = arena_strndup(r->a, (const char *)r->p, len);
	r->p += len;
	if (!s)
		r->bad = true;
	return s;
}

static void *get_array(struct reader *r, uint32_t n, size_t size)
{
	/* Every record takes at least 4 bytes: a count larger than the file left is corrupt. */
	if (n > (size_t)(r->end - r->p) / 4 + 1) {
		r->bad = true;
		return NULL;
	}
	return arena_alloc(r->a, ((size_t)n + 1) * size);
}

static void get_elem(struct reader *r, struct kv_elem *e)
{
	if (r->end - r->p < 4) {
		r->bad = true;
		return;
	}
	e->key_len = r->p[0];
	e->data_len = r->p[1];
	e->has_verdict = r->p[2];
	r->p += 4;
	if (e->key_len > RS_KEY_MAX || e->data_len > RS_KEY_MAX || r->end - r->p < e->key_len + e->data_len) {
		r->bad = true;
		return;
	}
	e->key = arena_memdup(r->a, r->p, e->key_len);
	e->data = arena_memdup(r->a, r->p + e->key_len, e->data_len);
	if (!e->key || !e->data) {
		r->bad = true;
		return;
	}
	r->p += e->key_len + e->data_len;
	e->verdict = (int32_t)get_u32(r);
	e->chain = get_str(r);
	e->comment = get_str(r);
}

static void get_table(struct reader *r, struct kv_table *t)
{
	t->family = (int)get_u32(r);
	t->present = get_u32(r) != 0;
	t->name = get_str(r);
	t->decl = get_str(r);
	t->n_sets = get_u32(r);
	t->sets = get_array(r, (uint32_t)t->n_sets, sizeof(*t->sets));
	for (size_t j = 0; !r->bad && j < t->n_sets; j++) {
		struct kv_set *s = &t->sets[j];

		s->name = get_str(r);
		s->decl = get_str(r);
		s->size = get_u32(r);
		s->n_elems = get_u32(r);
		s->elems = get_array(r, (uint32_t)s->n_elems, sizeof(*s->elems));
		for (size_t k = 0; !r->bad && k < s->n_elems; k++)
			get_elem(r, &s->elems[k]);
	}
	t->n_chains = r->bad ? 0 : get_u32(r);
	t->chains = get_array(r, (uint32_t)t->n_chains, sizeof(*t->chains));
	for (size_t j = 0; !r->bad && j < t->n_chains; j++) {
		struct kv_chain *c = &t->chains[j];

		c->name = get_str(r);
		c->decl = get_str(r);
		c->n_rules = get_u32(r);
		c->rules = get_array(r, (uint32_t)c->n_rules, sizeof(*c->rules));
		for (size_t k = 0; !r->bad && k < c->n_rules; k++)
			c->rules[k] = get_str(r);
	}
	if (!t->name || !t->sets || !t->chains)
		r->bad = true;
}

static int parse(const uint8_t *buf, size_t len, const struct cache_key *key, struct kview **ret)
{
	struct kview *v;
	struct reader r;

	if (len < 8 + sizeof(*key) || memcmp(buf, CACHE_MAGIC, 8))
		return -EINVAL;
	if (key && memcmp(buf + 8, key, sizeof(*key)))
		return -ENOENT;	/* another namespace, boot or generation: the kernel may hold anything */
	v = kview_new();
	if (!v)
		return -ENOMEM;
	r = (struct reader){ .p = buf + 8 + sizeof(*key), .end = buf + len, .a = &v->arena };
	v->n_tables = get_u32(&r);
	v->tables = get_array(&r, (uint32_t)v->n_tables, sizeof(*v->tables));
	for (size_t i = 0; !r.bad && i < v->n_tables; i++)
		get_table(&r, &v->tables[i]);
	if (r.bad || r.p != r.end) {
		kview_free(v);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int cache_load(const char *dir, const struct cache_key *key, struct kview **ret)
{
	char path[512], *buf = NULL;
	size_t len = 0;
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, CACHE_FILE) >= sizeof(path))
		return -ENAMETOOLONG;
	r = file_read(path, CACHE_MAX_SIZE, 0, &buf, &len);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return -EINVAL;
	r = parse((const uint8_t *)buf, len, key, ret);
	free(buf);
	return r;
}
