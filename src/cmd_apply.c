// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * svcnat apply and svcnat delete: the front end of the kernel side.  Reads
 * what svcnat's tables hold (the record of the last apply when it provably
 * still holds, else a netlink dump), diffs, commits one batch guarded by the
 * generation id, retries when another writer got in between.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "apply.h"
#include "cache.h"
#include "conntrack.h"
#include "cli.h"
#include "diff.h"
#include "kstate.h"
#include "kview.h"
#include "lock.h"
#include "nlbatch.h"
#include "pipeline.h"
#include "snapshot.h"

#include <linux/netfilter.h>

#define APPLY_RETRIES 3
#define MAX_REPORTED_ERRORS 5

/*
 * The records of an apply, written on another core: services.json (what get
 * and describe show) while the ruleset is compiled, and the cache of what
 * the kernel holds while the kernel works through the batch.  At 10,000
 * services they cost a tenth of a cold apply.  They are staged beside their
 * files and put in place only once the kernel has taken the batch.
 */
struct staging {
	pthread_t thread;
	bool running;
	bool staged;
	struct staged_file file;
};

struct records {
	const char *dir;
	const char *node;
	const struct model *model;
	const struct kview *want;
	struct cache_key key;		/* for the generation the commit will make */
	struct staging snapshot, cache;
};

/*
 * The record of the last apply, read on another core while the manifests are
 * parsed.  It holds what the kernel holds only while the generation is the
 * one it was written for: read_current checks that again before taking it.
 */
struct preload {
	pthread_t thread;
	bool running;
	const char *dir;
	struct cache_key key;
	struct kview *view;	/* NULL: no record for key */
};

struct apply_run {
	struct options *o;
	const struct model *model;
	struct preload preload;
	struct records rec;
	struct mnl_socket *nl;
	struct kview *want;
	struct kview *have;	/* what the last attempt read: the diff points into it */
	struct diff *diff;
	size_t msgs;
	double start;
	bool from_cache;	/* the last attempt read the cache, not the kernel */
	bool drift;		/* the kernel differed from what the last apply left */
	struct apply_summary summary;	/* of diff, once it is final */
	bool summarized;
	size_t skipped;		/* --skip-invalid: errors in the input that were left out */
};

static int report_kernel_error(const struct options *o, const struct nlbatch *b, const struct apply_map *map)
{
	char line[1024];

	size_t n = nlbatch_n_errors(b);

	/* The first ones name the cause; a whole table refused would otherwise fill the screen. */
	for (size_t i = 0; i < n && i < MAX_REPORTED_ERRORS; i++) {
		apply_describe_error(map, nlbatch_get_error(b, i), line, sizeof(line));
		cli_log(o, DIAG_ERROR, "%s", line);
	}
	if (n > MAX_REPORTED_ERRORS)
		cli_log(o, DIAG_ERROR, "... and %zu more refused messages", n - MAX_REPORTED_ERRORS);
	cli_log(o, DIAG_ERROR, "the transaction was refused as a whole: the old ruleset is unchanged");
	return EXIT_KERNEL;
}

static void *load_record(void *arg)
{
	struct preload *p = arg;

	if (cache_load(p->dir, &p->key, &p->view) < 0)
		p->view = NULL;
	return NULL;
}

static void preload_start(struct apply_run *x)
{
	struct preload *p = &x->preload;
	uint32_t genid;

	p->dir = x->o->config.state_dir;
	if (x->o->full || nl_get_genid(x->nl, &genid) < 0 || cache_key_get(x->nl, genid, &p->key) < 0)
		return;
	p->running = pthread_create(&p->thread, NULL, load_record, p) == 0;
}

/* The preloaded view if it was read for key (NULL: none, which discards it); taken once. */
static struct kview *preload_take(struct preload *p, const struct cache_key *key)
{
	struct kview *v;

	if (!p->running)
		return NULL;
	pthread_join(p->thread, NULL);
	p->running = false;
	v = p->view;
	p->view = NULL;
	if (v && (!key || memcmp(&p->key, key, sizeof(*key)))) {
		kview_free(v);
		v = NULL;
	}
	return v;
}

/*
 * What the kernel holds: the cache of the last apply when it is provably
 * still true (same boot, netns and generation), else a netlink dump.
 */
static int read_current(struct apply_run *x, struct kview **ret, uint32_t *ret_genid)
{
	struct cache_key key;
	uint32_t genid;
	int r = nl_get_genid(x->nl, &genid);

	x->from_cache = false;
	if (r == 0 && !x->o->full && cache_key_get(x->nl, genid, &key) == 0) {
		*ret = preload_take(&x->preload, &key);
		if (*ret || cache_load(x->o->config.state_dir, &key, ret) == 0) {
			x->from_cache = true;
			*ret_genid = genid;
			return 0;
		}
	}
	preload_take(&x->preload, NULL);
	return kstate_dump(x->nl, x->want, ret, ret_genid);
}

static void *stage_snapshot(void *arg)
{
	struct records *rec = arg;

	rec->snapshot.staged = snapshot_stage(rec->dir, rec->model, rec->node, &rec->snapshot.file) == 0;
	return NULL;
}

static void *stage_cache(void *arg)
{
	struct records *rec = arg;

	rec->cache.staged = cache_stage(rec->dir, &rec->key, rec->want, &rec->cache.file) == 0;
	return NULL;
}

/* On another thread, or on this one if none can be had. */
static void staging_start(struct staging *st, void *(*stage)(void *), struct records *rec)
{
	st->running = pthread_create(&st->thread, NULL, stage, rec) == 0;
	if (!st->running)
		stage(rec);
}

static void staging_join(struct staging *st)
{
	if (st->running)
		pthread_join(st->thread, NULL);
	st->running = false;
}

static void staging_discard(struct staging *st)
{
	staging_join(st);
	file_discard(&st->file);
	st->staged = false;
}

/* The model is final once validated, and compiling only reads it. */
static void records_start_snapshot(struct apply_run *x)
{
	x->rec.model = x->model;
	staging_start(&x->rec.snapshot, stage_snapshot, &x->rec);
}

/* Before the commit based on genid: the cache of the generation it will make. */
static void records_start_cache(struct apply_run *x, uint32_t genid)
{
	struct records *rec = &x->rec;

	rec->want = x->want;
	if (cache_key_get(x->nl, genid + 1 ? genid + 1 : 1, &rec->key) == 0)
		staging_start(&rec->cache, stage_cache, rec);
}

static void records_discard(struct records *rec)
{
	staging_discard(&rec->cache);
	staging_discard(&rec->snapshot);
}

/* After a commit based on genid, the kernel is at genid + 1 unless someone else committed since. */
static void remember_applied(struct apply_run *x, uint32_t genid)
{
	struct staging *cache = &x->rec.cache;
	struct cache_key key;
	uint32_t now;
	bool still = nl_get_genid(x->nl, &now) == 0 && now == genid;

	staging_join(cache);
	if (still && cache->staged && x->rec.key.genid == now) {
		file_commit(&cache->file);
		cache->staged = false;
	} else if (still && cache_key_get(x->nl, now, &key) == 0) {
		staging_discard(cache);
		cache_save(x->o->config.state_dir, &key, x->want);
	} else {
		staging_discard(cache);
		cache_save(x->o->config.state_dir, NULL, NULL);
	}
}

/*
 * Changes with unchanged manifests are drift: the record of the last apply
 * (whatever generation it was for) already wanted what is wanted now.
 */
static bool is_drift(const struct apply_run *x)
{
	struct kview *last = NULL;
	struct diff *d = NULL;
	bool drift;

	if (cache_load(x->o->config.state_dir, NULL, &last) < 0)
		return false;
	drift = diff_compute(x->want, last, false, &d) == 0 && diff_empty(d);
	diff_free(d);
	kview_free(last);
	return drift;
}

/* After the commit: UDP flows still pinned by conntrack to endpoints that left (a warning if it fails). */
static void flush_stale_udp(struct apply_run *x)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (size_t i = 0; i < 2; i++) {
		struct stale_flow *v = NULL;
		size_t n = 0, deleted = 0;
		int r = apply_stale_udp(x->diff, families[i], &v, &n);

		if (r == 0 && n)
			r = conntrack_delete_stale(families[i], v, n, &deleted);
		if (r < 0)
			cli_log(x->o, DIAG_WARNING, "cannot delete stale UDP conntrack entries: %s", strerror(-r));
		else if (deleted)
			cli_log(x->o, DIAG_INFO, "deleted %zu stale UDP conntrack entr%s", deleted, deleted == 1 ? "y" : "ies");
		free(v);
	}
}

/* One attempt: read, diff, commit.  -ERESTART: the ruleset changed under us, try again. */
static int apply_once(struct apply_run *x)
{
	struct kview *have;
	struct apply_map *map = NULL;
	struct nlbatch *b = NULL;
	struct nlbatch_error err;
	uint32_t genid = 0;
	int r;

	diff_free(x->diff);
	kview_free(x->have);
	x->diff = NULL;
	x->summarized = false;
	x->have = NULL;
	r = read_current(x, &x->have, &genid);
	have = x->have;
	if (r < 0) {
		cli_log(x->o, DIAG_ERROR, "cannot read svcnat's tables from the kernel: %s", strerror(-r));
		return EXIT_KERNEL;
	}
	r = diff_compute(x->want, have, x->o->full, &x->diff);
	if (r == 0)
		diff_keep_kernel_sizes(x->diff);
	if (r == 0 && (x->o->dry_run || diff_empty(x->diff))) {
		if (x->o->dry_run)
			r = apply_print_diff(stdout, x->diff);
		else if (!x->from_cache)
			remember_applied(x, genid);
		goto out;
	}
	x->drift = r == 0 && !x->from_cache && !x->o->full && is_drift(x);
	if (r == 0)
		records_start_cache(x, genid);
	b = r == 0 ? nlbatch_new(genid) : NULL;
	if (!b || apply_build_batch(x->diff, b, &map) < 0) {
		staging_discard(&x->rec.cache);
		r = -ENOMEM;
		goto out;
	}
	x->msgs = nlbatch_n_msgs(b) + 2;
	r = nlbatch_commit(b, x->nl, 0, &err);
	if (r < 0)
		staging_discard(&x->rec.cache);
	if (r == -ERESTART)
		goto out;
	if (r < 0) {
		r = report_kernel_error(x->o, b, map);
		goto out;
	}
	/* While the cache is still being written on the other core. */
	flush_stale_udp(x);
	remember_applied(x, genid + 1 ? genid + 1 : 1);
out:
	apply_map_free(map);
	nlbatch_free(b);
	if (r == -ENOMEM)
		cli_log(x->o, DIAG_ERROR, "out of memory");
	return r == -ERESTART ? r : r < 0 ? EXIT_KERNEL : r;
}

/*
 * The one-line summary.  Quiet runs stay silent only when nothing changed:
 * a cron run that repaired something says what.
 */
static int summarize(struct apply_run *x)
{
	if (!x->summarized && apply_summarize(x->diff, &x->summary) < 0)
		return -ENOMEM;
	x->summarized = true;
	return 0;
}

static void print_summary(struct apply_run *x)
{
	const struct options *o = x->o;
	const struct apply_summary *s = &x->summary;

	if (summarize(x) < 0)
		return;
	if (diff_empty(x->diff)) {
		if (o->verbosity >= NORMAL)
			printf("svcnat: no changes: the kernel already holds this ruleset (%.1f ms)\n",
			       cli_now_ms() - x->start);
		return;
	}
	printf("svcnat: %s: services %zu added, %zu updated, %zu removed; endpoints +%zu -%zu; "
	       "%zu elements, %zu chains%s changed; %zu netlink messages; %.1f ms\n",
	       x->drift ? "repaired drift (the kernel differed from the last apply)" : "applied",
	       s->services_added, s->services_updated, s->services_removed, s->endpoints_added, s->endpoints_removed,
	       s->elements, s->chains, s->tables_replaced ? " (whole table loaded)" : "", x->msgs, cli_now_ms() - x->start);
}

static void fill_report(struct apply_run *x, const struct pipeline *p)
{
	struct run_report *rep = &x->o->report;

	rep->ran = true;
	rep->services = p->stats.services;
	rep->service_ports = p->stats.service_ports;
	rep->endpoints = p->stats.endpoints;
	rep->no_endpoints = p->stats.no_endpoints;
	if (x->diff && summarize(x) == 0) {
		rep->elements_changed = x->summary.elements;
		rep->chains_changed = x->summary.chains;
	}
	rep->netlink_messages = x->msgs;
	rep->drift_repaired = x->drift;
}

static int apply_pipeline(struct apply_run *x, struct pipeline *p, struct diag *d)
{
	int r = pipeline_model(p, &x->o->config, x->o->paths, x->o->n_paths, x->o->skip_invalid, d);

	if (r == -EINVAL)
		return cli_fail_input(x->o, d);
	x->model = p->model;
	if ((r == 0 || r == -EAGAIN) && !x->o->dry_run)
		records_start_snapshot(x);
	if (r == 0 || r == -EAGAIN)
		r = pipeline_compile(p, &x->o->config, r);
	if (r == -EAGAIN) {
		/* --skip-invalid: every error is reported; the valid rest is applied. */
		x->skipped = d->errors;
		r = 0;
	}
	if (r < 0 || kview_from_ruleset(p->rs, &x->want) < 0) {
		cli_log(x->o, DIAG_ERROR, "%s", strerror(r < 0 ? -r : ENOMEM));
		return EXIT_INVALID;
	}
	cli_print_diags(x->o, d);
	return EXIT_OK;
}

static int take_lock(const struct options *o)
{
	int fd = lock_take(o->config.lock_file, !o->no_wait);

	if (fd == -EWOULDBLOCK)
		cli_log(o, DIAG_ERROR, "another svcnat run holds %s (--no-wait)", o->config.lock_file);
	else if (fd < 0)
		cli_log(o, DIAG_ERROR, "cannot lock %s: %s", o->config.lock_file, strerror(-fd));
	return fd;
}

/* What get and describe show, and the allocations to keep: after the kernel took the ruleset. */
static void save_state(const struct options *o, struct pipeline *p, struct staging *snapshot)
{
	int k = alloc_state_save(&p->new_alloc, o->config.state_dir);

	staging_join(snapshot);
	if (k == 0 && snapshot->staged)
		k = file_commit(&snapshot->file);
	else if (k == 0)
		k = snapshot_save(o->config.state_dir, p->model, o->config.hostname);
	staging_discard(snapshot);
	if (k < 0)
		cli_log(o, DIAG_WARNING, "the ruleset is applied, but svcnat's state could not be saved in %s: %s",
			o->config.state_dir, strerror(-k));
}

static int apply_with_retries(struct apply_run *x)
{
	int r = x->nl ? 0 : nl_socket_open(&x->nl);

	if (r < 0) {
		cli_log(x->o, DIAG_ERROR, "cannot open a netlink socket: %s", strerror(-r));
		return EXIT_KERNEL;
	}
	for (int i = 0; i < APPLY_RETRIES; i++) {
		r = apply_once(x);
		if (r != -ERESTART)
			return r;
		cli_log(x->o, DIAG_INFO, "the ruleset changed while svcnat read it: reading again");
	}
	cli_log(x->o, DIAG_ERROR, "the ruleset kept changing while svcnat applied its own: gave up after %d tries",
		APPLY_RETRIES);
	return EXIT_KERNEL;
}

int cmd_apply(struct options *o, struct diag *d)
{
	/* rec.dir and rec.node are set once, here: the records threads read them. */
	struct apply_run x = { .o = o, .start = cli_now_ms(), .rec.dir = o->config.state_dir,
			       .rec.node = o->config.hostname };
	struct pipeline p = { 0 };
	int lock = -1, r;

	/* A dry run changes nothing, so it takes no lock. */
	if (!o->dry_run) {
		lock = take_lock(o);
		if (lock < 0)
			return lock == -EWOULDBLOCK ? EXIT_LOCKED : EXIT_KERNEL;
		/* Under the lock no other run is writing: what is staged was left by a killed one. */
		file_remove_stale(o->config.state_dir);
	}
	if (nl_socket_open(&x.nl) == 0)
		preload_start(&x);
	r = apply_pipeline(&x, &p, d);
	if (r == EXIT_OK)
		r = apply_with_retries(&x);
	if (r == EXIT_OK && !o->dry_run) {
		save_state(o, &p, &x.rec.snapshot);
		print_summary(&x);
	}
	records_discard(&x.rec);
	preload_take(&x.preload, NULL);
	if (r == EXIT_OK && x.skipped) {
		cli_log(o, DIAG_ERROR, "%zu error%s: the invalid objects were skipped, the rest is applied (--skip-invalid)",
			x.skipped, x.skipped == 1 ? "" : "s");
		r = EXIT_SKIPPED;
	}
	if (p.rs)
		fill_report(&x, &p);
	if (x.nl)
		mnl_socket_close(x.nl);
	diff_free(x.diff);
	kview_free(x.have);
	kview_free(x.want);
	pipeline_free(&p);
	if (lock >= 0)
		close(lock);
	return r;
}

/* ---- delete ------------------------------------------------------------ */

/* A view naming svcnat's tables of both families, with nothing in them. */
static struct kview *own_tables(const struct options *o)
{
	struct kview *v = kview_new();

	if (!v)
		return NULL;
	v->tables = arena_alloc(&v->arena, 2 * sizeof(*v->tables));
	if (!v->tables) {
		kview_free(v);
		return NULL;
	}
	v->tables[0] = (struct kv_table){ .family = NFPROTO_IPV4, .name = o->config.table };
	v->tables[1] = (struct kv_table){ .family = NFPROTO_IPV6, .name = o->config.table };
	v->n_tables = 2;
	return v;
}

static int delete_tables(struct options *o, struct mnl_socket *nl, bool *ret_any)
{
	struct kview *want = own_tables(o), *have = NULL, none = { 0 };
	struct apply_map *map = NULL;
	struct nlbatch *b = NULL;
	struct nlbatch_error err;
	struct diff *diff = NULL;
	uint32_t genid = 0;
	int r = want ? kstate_dump(nl, want, &have, &genid) : -ENOMEM;

	if (r == 0)
		r = diff_compute(&none, have, false, &diff);
	if (r == 0 && !diff_empty(diff)) {
		b = nlbatch_new(genid);
		r = b ? apply_build_batch(diff, b, &map) : -ENOMEM;
		if (r == 0 && nlbatch_commit(b, nl, 0, &err) < 0)
			r = err.error == -ERESTART ? -ERESTART : -ECANCELED;
		if (r == -ECANCELED)
			report_kernel_error(o, b, map);
	}
	*ret_any = diff && !diff_empty(diff);
	apply_map_free(map);
	nlbatch_free(b);
	diff_free(diff);
	kview_free(have);
	kview_free(want);
	return r;
}

/* Removes svcnat's tables (both families, when present) in one transaction, and nothing else. */
int cmd_delete(struct options *o, struct diag *d)
{
	struct mnl_socket *nl = NULL;
	int lock = take_lock(o), r;
	bool any = false;

	(void)d;
	if (lock < 0)
		return lock == -EWOULDBLOCK ? EXIT_LOCKED : EXIT_KERNEL;
	r = nl_socket_open(&nl);
	for (int i = 0; r == 0 && i < APPLY_RETRIES; i++) {
		r = delete_tables(o, nl, &any);
		if (r != -ERESTART)
			break;
	}
	if (r == 0) {
		cache_save(o->config.state_dir, NULL, NULL);
		snapshot_remove(o->config.state_dir);
		if (o->verbosity >= NORMAL)
			printf("svcnat: %s\n", any ? "deleted svcnat's tables" : "no svcnat table to delete");
	} else if (r != -ECANCELED) {
		cli_log(o, DIAG_ERROR, "cannot delete svcnat's tables: %s", strerror(-r));
	}
	if (nl)
		mnl_socket_close(nl);
	close(lock);
	return r < 0 ? EXIT_KERNEL : EXIT_OK;
}
