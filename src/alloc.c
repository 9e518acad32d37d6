// SPDX-License-Identifier: GPL-2.0-or-later
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "fileio.h"

#define STATE_HEADER "# svcnat allocations: clusterIPs and nodePorts svcnat chose. Written by svcnat.\nversion 1\n"

/* ---- A set of taken values (addresses or port numbers) --------------- */

struct taken {
	uint64_t *keys;		/* 0 = empty slot */
	size_t cap, n;
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Addresses are folded to 64 bits by their low half: enough inside one service CIDR. */
static uint64_t addr_key(const struct addr *a)
{
	uint64_t k = 0;

	memcpy(&k, a->bytes + (a->family == AF_INET6 ? 8 : 0), a->family == AF_INET6 ? 8 : 4);
	return (k << 1 | (a->family == AF_INET6)) + 1;
}

static int taken_add(struct taken *t, uint64_t key)
{
	if (2 * (t->n + 1) > t->cap) {
		struct taken nt = { .cap = t->cap ? t->cap * 2 : 1024 };

		nt.keys = calloc(nt.cap, sizeof(*nt.keys));
		if (!nt.keys)
			return -ENOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->keys[i])
				taken_add(&nt, t->keys[i]);
		free(t->keys);
		*t = nt;
	}
	for (size_t i = mix64(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (t->keys[i] == key)
			return 0;
		if (!t->keys[i]) {
			t->keys[i] = key;
			t->n++;
			return 0;
		}
	}
}

static bool taken_has(const struct taken *t, uint64_t key)
{
	if (!t->cap)
		return false;
	for (size_t i = mix64(key) & (t->cap - 1); t->keys[i]; i = (i + 1) & (t->cap - 1))
		if (t->keys[i] == key)
			return true;
	return false;
}

/* ---- State ------------------------------------------------------------ */

void alloc_state_free(struct alloc_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].service);
	free(s->v);
	free(s->path);
	*s = (struct alloc_state){ 0 };
}

static int state_add(struct alloc_state *s, const struct alloc_entry *e)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct alloc_entry *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = *e;
	s->v[s->n].service = strdup(e->service);
	if (!s->v[s->n].service)
		return -ENOMEM;
	s->n++;
	return 0;
}

static int parse_proto_name(const char *s, uint8_t *ret)
{
	if (!strcmp(s, "TCP"))
		*ret = IPPROTO_TCP;
	else if (!strcmp(s, "UDP"))
		*ret = IPPROTO_UDP;
	else if (!strcmp(s, "SCTP"))
		*ret = IPPROTO_SCTP;
	else
		return -EINVAL;
	return 0;
}

static int parse_state_line(char *line, struct alloc_entry *e)
{
	char *f[6], *save = NULL;
	size_t n = 0;
	unsigned port, np;
	char extra;

	for (char *t = strtok_r(line, " \t", &save); t && n < 6; t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	if (n == 3 && !strcmp(f[0], "clusterip")) {
		e->kind = ALLOC_CLUSTER_IP;
		e->service = f[1];
		return addr_parse(f[2], &e->ip);
	}
	if (n == 5 && !strcmp(f[0], "nodeport")) {
		e->kind = ALLOC_NODE_PORT;
		e->service = f[1];
		if (parse_proto_name(f[2], &e->proto) < 0 || sscanf(f[3], "%u%c", &port, &extra) != 1 ||
		    sscanf(f[4], "%u%c", &np, &extra) != 1 || !port || port > 65535 || !np || np > 65535)
			return -EINVAL;
		e->port = (uint16_t)port;
		e->node_port = (uint16_t)np;
		return 0;
	}
	return -EINVAL;
}

int alloc_state_parse(struct alloc_state *s, const char *buf, size_t len, const char *name, struct diag *d)
{
	struct loc where = { .file = name };
	bool versioned = false, ended = false;
	const char *p = buf, *end = buf + len;
	size_t first = s->n;
	int r = 0;

	if (memchr(buf, '\0', len))
		return diag_error(d, &where, "corrupt state file: contains a NUL byte");
	for (where.line = 1; r == 0 && p < end; where.line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct alloc_entry e = { 0 };
		char line[640], copy[640];	/* parsing cuts the copy; the message quotes the line */

		if (n >= sizeof(line) || !nl) {
			where.col = 1;
			r = diag_error(d, &where, "corrupt state file: %s", nl ? "line too long" : "truncated last line");
			break;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (line[0] == '#' || !line[0])
			continue;
		where.col = 1;
		if (ended) {
			r = diag_error(d, &where, "corrupt state file: data after the 'end' line");
		} else if (!strncmp(line, "end ", 4)) {
			ended = true;
			if (strtoull(line + 4, NULL, 10) != s->n - first)
				r = diag_error(d, &where, "corrupt state file: '%s' but %zu entries were read", line,
					       s->n - first);
		} else if (!versioned) {
			versioned = !strcmp(line, "version 1");
			if (!versioned)
				r = diag_error(d, &where, "corrupt state file: expected 'version 1', found '%.80s'", line);
		} else if (memcpy(copy, line, n + 1), parse_state_line(copy, &e) < 0) {
			r = diag_error(d, &where, "corrupt state file: cannot read entry '%.80s'", line);
		} else {
			r = state_add(s, &e);
		}
	}
	if (r == 0 && !ended) {
		where.col = 0;
		r = diag_error(d, &where, "corrupt state file: truncated (no 'end' line)");
	}
	return r;
}

/* Entries in a fixed order (service, kind, family, protocol, port), whatever order they were made in. */
static int cmp_entries(const void *a, const void *b)
{
	const struct alloc_entry *x = a, *y = b;
	int c = strcmp(x->service, y->service);

	if (c)
		return c;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->kind == ALLOC_CLUSTER_IP)
		return (x->ip.family > y->ip.family) - (x->ip.family < y->ip.family);
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

/* Same value (address or nodePort) for two services: a state svcnat never writes. */
static int cmp_values(const void *a, const void *b)
{
	const struct alloc_entry *x = *(const struct alloc_entry *const *)a, *y = *(const struct alloc_entry *const *)b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->kind == ALLOC_CLUSTER_IP)
		return addr_cmp(&x->ip, &y->ip);
	return (x->node_port > y->node_port) - (x->node_port < y->node_port);
}

static int check_unique(const struct alloc_state *s, const char *name, struct diag *d)
{
	const struct alloc_entry **v = malloc((s->n + 1) * sizeof(*v));
	int r = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		v[i] = &s->v[i];
	if (s->n > 1)
		qsort(v, s->n, sizeof(*v), cmp_values);
	for (size_t i = 1; r == 0 && i < s->n; i++)
		if (!cmp_values(&v[i - 1], &v[i]) && strcmp(v[i - 1]->service, v[i]->service))
			r = diag_error(d, &(struct loc){ .file = name }, "corrupt state file: %s and %s hold the same %s",
				       v[i - 1]->service, v[i]->service, v[i]->kind == ALLOC_CLUSTER_IP ? "clusterIP" : "nodePort");
	free(v);
	return r;
}

int alloc_state_load(struct alloc_state *s, const char *dir, struct diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	/* Diagnostics keep the name pointer: the state keeps the name. */
	free(s->path);
	if (asprintf(&s->path, "%s/%s", dir, ALLOC_STATE_FILE) < 0) {
		s->path = NULL;
		return -ENOMEM;
	}
	r = file_read(s->path, 64 * 1024 * 1024, 0, &buf, &len);
	if (r == -ENOENT)
		r = 0;		/* no state yet */
	else if (r < 0)
		r = diag_error(d, &(struct loc){ .file = s->path }, "cannot read state file: %s",
			       r == -EINVAL || r == -ELOOP ? "not a regular file" : strerror(-r));
	else
		r = alloc_state_parse(s, buf, len, s->path, d);
	if (r == 0)
		r = check_unique(s, s->path, d);
	free(buf);
	return r;
}

static char *state_text(struct alloc_state *s, size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char ip[ADDR_STRLEN];

	if (!f)
		return NULL;
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_entries);
	fputs(STATE_HEADER, f);
	for (size_t i = 0; i < s->n; i++) {
		const struct alloc_entry *e = &s->v[i];

		if (e->kind == ALLOC_CLUSTER_IP)
			fprintf(f, "clusterip %s %s\n", e->service, addr_to_str(&e->ip, ip));
		else
			fprintf(f, "nodeport %s %s %u %u\n", e->service, proto_name(e->proto), e->port,
				e->node_port);
	}
	/* The count at the end tells a truncated file from a short one. */
	fprintf(f, "end %zu\n", s->n);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	*ret_len = len;
	return text;
}

int alloc_state_save(struct alloc_state *s, const char *dir)
{
	char *path = NULL, *text;
	size_t len = 0;
	int r;

	text = state_text(s, &len);
	if (!text)
		return -ENOMEM;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		r = -errno;
	else if (asprintf(&path, "%s/%s", dir, ALLOC_STATE_FILE) < 0)
		r = -ENOMEM;
	else
		r = file_replace(path, text, len, 0644, true);	/* durable: losing it would move services */
	free(text);
	free(path);
	return r;
}

/* ---- Allocation -------------------------------------------------------- */

static uint64_t fnv1a(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static bool wants_node_ports(const struct service *s)
{
	return (s->type == SVC_NODE_PORT || s->type == SVC_LOAD_BALANCER) && !s->invalid;
}

/* The address at offset i of net/len (i counts from the network address). */
static struct addr cidr_nth(const struct cidr *c, uint64_t i)
{
	struct addr a = c->net;
	size_t n = addr_len(&a);

	for (size_t b = n; b-- > 0 && i; i >>= 8) {
		unsigned v = a.bytes[b] + (unsigned)(i & 0xff);

		a.bytes[b] = (uint8_t)v;
		if (v > 0xff && b > 0)
			i += 0x100;	/* carry into the next byte */
	}
	return a;
}

static uint64_t cidr_size(const struct cidr *c)
{
	unsigned host_bits = (unsigned)addr_len(&c->net) * 8 - c->len;

	return host_bits >= 63 ? (1ULL << 62) : 1ULL << host_bits;
}

struct alloc_ctx {
	struct model *m;
	const struct config *c;
	const struct alloc_state *old;
	struct alloc_state *new;
	struct diag *d;
	struct taken ips;
	struct taken ports;
	const struct alloc_entry **by_service;	/* old entries sorted by service name, for lookups */
	bool keep_only;		/* first pass: only keep what services had, so a newcomer cannot take it */
};

static int cmp_entry_service(const void *a, const void *b)
{
	return strcmp((*(const struct alloc_entry *const *)a)->service, (*(const struct alloc_entry *const *)b)->service);
}

static const struct alloc_entry *old_entry(const struct alloc_ctx *x, enum alloc_kind kind, const char *svc,
					   int family, uint8_t proto, uint16_t port)
{
	size_t lo = 0, hi = x->old->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(x->by_service[mid]->service, svc) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < x->old->n && !strcmp(x->by_service[i]->service, svc); i++) {
		const struct alloc_entry *e = x->by_service[i];

		if (e->kind != kind)
			continue;
		if (kind == ALLOC_CLUSTER_IP && e->ip.family == family)
			return e;
		if (kind == ALLOC_NODE_PORT && e->proto == proto && e->port == port)
			return e;
	}
	return NULL;
}

static int collect_taken(struct alloc_ctx *x)
{
	for (size_t i = 0; i < x->m->n_services; i++) {
		const struct service *s = &x->m->services[i];

		for (size_t j = 0; j < s->cluster_ips.n; j++)
			if (taken_add(&x->ips, addr_key(&s->cluster_ips.v[j])) < 0)
				return -ENOMEM;
		for (size_t j = 0; j < s->n_ports; j++)
			if (s->ports[j].node_port && taken_add(&x->ports, s->ports[j].node_port) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* Appends (a dual-stack service may have one family given and the other allocated). */
static int append_cluster_ip(struct alloc_ctx *x, struct service *s, const struct addr *a)
{
	struct ip_list *l = &s->cluster_ips;
	struct addr *v = arena_alloc(&x->m->arena, (l->n + 1) * sizeof(*v));
	struct loc *locs = arena_alloc(&x->m->arena, (l->n + 1) * sizeof(*locs));

	if (!v || !locs)
		return -ENOMEM;
	if (l->n) {
		memcpy(v, l->v, l->n * sizeof(*v));
		memcpy(locs, l->locs, l->n * sizeof(*locs));
	}
	v[l->n] = *a;
	locs[l->n] = s->loc;
	l->v = v;
	l->locs = locs;
	l->n++;
	return 0;
}

static int alloc_ip(struct alloc_ctx *x, struct service *s, const char *key, const struct cidr *c)
{
	const struct alloc_entry *e = old_entry(x, ALLOC_CLUSTER_IP, key, c->net.family, 0, 0);
	uint64_t size = cidr_size(c), start, i;
	struct addr a;

	if (e && prefix_contains(&c->net, c->len, &e->ip) && !taken_has(&x->ips, addr_key(&e->ip))) {
		a = e->ip;
	} else if (x->keep_only) {
		return 0;
	} else {
		char ip[ADDR_STRLEN];

		if (e)
			diag_warn(x->d, &s->loc, "Service %s: its clusterIP %s is outside serviceCIDR or taken by another "
				  "service now: it moves", key, addr_to_str(&e->ip, ip));
		/* Skip the network address, the first host (the API server's own service) and broadcast. */
		if (size < 4)
			return diag_error(x->d, &s->loc, "Service %s: serviceCIDR has no free address", key);
		start = fnv1a(key, 0xcbf29ce484222325ULL) % (size - 3);
		for (i = 0; i < size - 3; i++) {
			a = cidr_nth(c, 2 + (start + i) % (size - 3));
			if (!taken_has(&x->ips, addr_key(&a)))
				break;
		}
		if (i == size - 3)
			return diag_error(x->d, &s->loc, "Service %s: serviceCIDR is full", key);
	}
	if (taken_add(&x->ips, addr_key(&a)) < 0)
		return -ENOMEM;
	if (append_cluster_ip(x, s, &a) < 0)
		return -ENOMEM;
	s->cluster_ip_allocated = true;
	return state_add(x->new, &(struct alloc_entry){ .kind = ALLOC_CLUSTER_IP, .service = (char *)key, .ip = a });
}

static int alloc_node_port(struct alloc_ctx *x, const char *key, struct svc_port *p)
{
	const struct alloc_entry *e = old_entry(x, ALLOC_NODE_PORT, key, 0, p->proto, p->port);
	unsigned lo = x->c->node_port_min, span = x->c->node_port_max - lo + 1u, i, start;
	uint16_t np = 0;

	if (e && e->node_port >= lo && e->node_port - lo < span && !taken_has(&x->ports, e->node_port)) {
		np = e->node_port;
	} else if (x->keep_only) {
		return 0;
	} else {
		if (e)
			diag_warn(x->d, &p->loc, "Service %s: %s: its nodePort %u is outside nodePortRange or taken by "
				  "another service now: it moves", key, p->path, e->node_port);
		char seed[600];

		snprintf(seed, sizeof(seed), "%s/%s/%u", key, proto_name(p->proto), p->port);
		start = (unsigned)(fnv1a(seed, 0xcbf29ce484222325ULL) % span);
		for (i = 0; i < span && !np; i++)
			if (!taken_has(&x->ports, lo + (start + i) % span))
				np = (uint16_t)(lo + (start + i) % span);
		if (!np)
			return diag_error(x->d, &p->loc, "Service %s: %s: nodePort range %u-%u is full", key, p->path,
					  lo, x->c->node_port_max);
	}
	if (taken_add(&x->ports, np) < 0)
		return -ENOMEM;
	p->node_port = np;
	p->node_port_allocated = true;
	return state_add(x->new, &(struct alloc_entry){ .kind = ALLOC_NODE_PORT, .service = (char *)key,
							 .proto = p->proto, .port = p->port, .node_port = np });
}

static bool has_family(const struct service *s, int family)
{
	for (size_t i = 0; i < s->cluster_ips.n; i++)
		if (s->cluster_ips.v[i].family == family)
			return true;
	return false;
}

/*
 * The families a service gets clusterIPs of, as the API server decides:
 * ipFamilies when given, else the first serviceCIDR's (single stack) or
 * every configured one (PreferDualStack, RequireDualStack).
 */
static size_t wanted_families(const struct alloc_ctx *x, const struct service *s, int ret[2])
{
	const struct cidr_list *l = &x->c->service_cidrs;
	size_t n = 0;

	if (s->headless || s->type == SVC_EXTERNAL_NAME || s->invalid)
		return 0;
	if (s->n_families) {
		for (size_t i = 0; i < s->n_families && (i == 0 || s->dual_stack); i++)
			ret[n++] = s->families[i];
	} else if (s->cluster_ips.n) {
		ret[n++] = s->cluster_ips.v[0].family;
	} else {
		ret[n++] = l->v[0].net.family;
	}
	if (s->dual_stack && n == 1 && l->n > 1)
		ret[n++] = l->v[0].net.family == ret[0] ? l->v[1].net.family : l->v[0].net.family;
	return n;
}

static int alloc_service(struct alloc_ctx *x, struct service *s)
{
	char key[320];
	int r = 0;

	int fam[2];
	size_t nf;

	snprintf(key, sizeof(key), "%s/%s", s->ns, s->name);
	if (s->invalid)
		return 0;
	nf = wanted_families(x, s, fam);
	for (size_t i = 0; r == 0 && i < nf; i++) {
		const struct cidr *c = cidr_list_family(&x->c->service_cidrs, fam[i]);

		if (has_family(s, fam[i]))
			continue;
		if (!c)
			r = diag_error(x->d, &s->loc, "Service %s: needs an %s clusterIP, but serviceCIDR has no %s range",
				       key, fam[i] == AF_INET ? "IPv4" : "IPv6", fam[i] == AF_INET ? "IPv4" : "IPv6");
		else
			r = alloc_ip(x, s, key, c);
	}
	for (size_t j = 0; r == 0 && wants_node_ports(s) && j < s->n_ports; j++)
		if (!s->ports[j].node_port)
			r = alloc_node_port(x, key, &s->ports[j]);
	return r;
}

int alloc_run(struct model *m, const struct config *c, const struct alloc_state *old,
	      struct alloc_state *ret_new, struct diag *d)
{
	struct alloc_ctx x = { .m = m, .c = c, .old = old, .new = ret_new, .d = d };
	int r = collect_taken(&x);

	x.by_service = malloc((old->n + 1) * sizeof(*x.by_service));
	if (!x.by_service)
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < old->n; i++)
		x.by_service[i] = &old->v[i];
	if (r == 0 && old->n > 1)
		qsort(x.by_service, old->n, sizeof(*x.by_service), cmp_entry_service);
	/*
	 * Two passes: every service first keeps what it had, then the rest is
	 * allocated; so a new service never takes an old one's address or port.
	 * Services are sorted (model_index): the result is reproducible.
	 */
	for (int pass = 0; pass < 2 && r != -ENOMEM; pass++) {
		x.keep_only = pass == 0;
		for (size_t i = 0; r != -ENOMEM && i < m->n_services; i++)
			if (alloc_service(&x, &m->services[i]) < 0)
				r = r == 0 ? -EINVAL : r;
	}
	free(x.by_service);
	free(x.ips.keys);
	free(x.ports.keys);
	return r;
}
