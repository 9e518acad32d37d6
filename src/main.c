// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * svcnat: command line.  The only file that prints: every other module
 * returns errors and fills diagnostics.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <time.h>

#include "apply.h"
#include "cache.h"
#include "config.h"
#include "diag.h"
#include "diff.h"
#include "kstate.h"
#include "kview.h"
#include "lock.h"
#include "nlbatch.h"
#include "pipeline.h"
#include "ruleset.h"

#include <linux/netfilter.h>

/* Exit status, documented in svcnat(8). */
enum {
	EXIT_OK = 0,
	EXIT_INVALID = 1,	/* invalid input: manifests, configuration, state */
	EXIT_USAGE = 2,
	EXIT_KERNEL = 3,	/* the kernel refused, or netlink failed */
	EXIT_LOCKED = 4,	/* another run holds the lock and --no-wait was given */
};

enum verbosity {
	QUIET = -1,
	NORMAL = 0,
	VERBOSE = 1,
};

struct options {
	const char *config_path;
	bool config_given;
	enum verbosity verbosity;
	struct config config;
	char **paths;
	size_t n_paths;
	bool dry_run;
	bool full;
	bool no_wait;
};

static void usage(FILE *f)
{
	fputs("Usage: svcnat [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
	      "\n"
	      "Compiles Kubernetes Service, Endpoints and EndpointSlice manifests into an\n"
	      "nftables DNAT ruleset, and applies it to the kernel in one transaction.\n"
	      "\n"
	      "Commands:\n"
	      "  compile -f PATH...            print the whole ruleset as an nft -f script\n"
	      "  apply [--dry-run] [--full] [--no-wait] -f PATH...\n"
	      "                                make the kernel hold the compiled ruleset\n"
	      "  delete [--no-wait]            remove svcnat's tables, and nothing else\n"
	      "\n"
	      "Global options (before the command):\n"
	      "  -c, --config FILE             configuration (default " CONFIG_DEFAULT_PATH ")\n"
	      "  -v, --verbose                 also report skipped objects and allocations\n"
	      "  -q, --quiet                   report errors only\n"
	      "      --service-cidr CIDR[,CIDR]    serviceCIDR\n"
	      "      --cluster-cidr CIDR[,CIDR]    clusterCIDR\n"
	      "      --node-port-range MIN-MAX     nodePortRange\n"
	      "      --node-port-addresses CIDR,.. nodePortAddresses\n"
	      "      --masquerade-all              nftables.masqueradeAll\n"
	      "      --table NAME                  tableName\n"
	      "      --state-dir DIR               stateDir\n"
	      "      --lock-file FILE              lockFile\n"
	      "  -h, --help                    this text\n"
	      "  -V, --version                 the version\n"
	      "\n"
	      "Command options:\n"
	      "  -f, --filename PATH           a manifest file, a directory (recursive), or - for stdin\n"
	      "      --dry-run                 apply: print what would change, touch nothing\n"
	      "      --full                    apply: replace the whole table (recovery)\n"
	      "      --no-wait                 fail (exit 4) instead of waiting for another run\n"
	      "\n"
	      "See svcnat(8) and svcnat.yaml(5).\n", f);
}

static void print_diags(const struct diag *d, enum verbosity v)
{
	char line[2048];

	for (size_t i = 0; i < d->n; i++) {
		const struct diag_msg *m = &d->msgs[i];

		if ((m->level == DIAG_INFO && v < VERBOSE) || (m->level == DIAG_WARNING && v < NORMAL))
			continue;
		diag_format(m, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
}

static int fail_input(const struct diag *d, enum verbosity v)
{
	print_diags(d, v);
	fprintf(stderr, "svcnat: %zu error%s: nothing was changed\n", d->errors, d->errors == 1 ? "" : "s");
	return EXIT_INVALID;
}

/* ---- Options ---------------------------------------------------------- */

enum {
	OPT_SERVICE_CIDR = 256,
	OPT_CLUSTER_CIDR,
	OPT_NODE_PORT_RANGE,
	OPT_NODE_PORT_ADDRESSES,
	OPT_MASQUERADE_ALL,
	OPT_TABLE,
	OPT_STATE_DIR,
	OPT_LOCK_FILE,
	OPT_DRY_RUN,
	OPT_FULL,
	OPT_NO_WAIT,
};

static int copy_opt(char *dst, size_t size, const char *v, const char *name)
{
	if (strlen(v) >= size) {
		fprintf(stderr, "svcnat: %s: '%s' is too long\n", name, v);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

/* Flags that override the configuration file; applied after it is read. */
struct override {
	int opt;
	const char *value;
};

static int apply_override(struct config *c, const struct override *o)
{
	switch (o->opt) {
	case OPT_SERVICE_CIDR:
		return cidr_list_parse(o->value, &c->service_cidrs, true) < 0 ?
			fprintf(stderr, "svcnat: --service-cidr: '%s' is not a CIDR (or one per family)\n", o->value), -EINVAL : 0;
	case OPT_CLUSTER_CIDR:
		return cidr_list_parse(o->value, &c->cluster_cidrs, true) < 0 ?
			fprintf(stderr, "svcnat: --cluster-cidr: '%s' is not a CIDR (or one per family)\n", o->value), -EINVAL : 0;
	case OPT_NODE_PORT_ADDRESSES:
		return cidr_list_parse(o->value, &c->node_port_addresses, false) < 0 ?
			fprintf(stderr, "svcnat: --node-port-addresses: '%s' is not a CIDR list\n", o->value), -EINVAL : 0;
	case OPT_NODE_PORT_RANGE:
		return port_range_parse(o->value, &c->node_port_min, &c->node_port_max) < 0 ?
			fprintf(stderr, "svcnat: --node-port-range: '%s' is not MIN-MAX\n", o->value), -EINVAL : 0;
	case OPT_MASQUERADE_ALL:
		c->masquerade_all = true;
		return 0;
	case OPT_TABLE:
		return copy_opt(c->table, sizeof(c->table), o->value, "--table");
	case OPT_STATE_DIR:
		return copy_opt(c->state_dir, sizeof(c->state_dir), o->value, "--state-dir");
	case OPT_LOCK_FILE:
		return copy_opt(c->lock_file, sizeof(c->lock_file), o->value, "--lock-file");
	}
	return 0;
}

static const struct option global_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "service-cidr", required_argument, NULL, OPT_SERVICE_CIDR },
	{ "cluster-cidr", required_argument, NULL, OPT_CLUSTER_CIDR },
	{ "node-port-range", required_argument, NULL, OPT_NODE_PORT_RANGE },
	{ "node-port-addresses", required_argument, NULL, OPT_NODE_PORT_ADDRESSES },
	{ "masquerade-all", no_argument, NULL, OPT_MASQUERADE_ALL },
	{ "table", required_argument, NULL, OPT_TABLE },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "lock-file", required_argument, NULL, OPT_LOCK_FILE },
	{ 0 }
};

#define MAX_OVERRIDES 32

/* Returns an exit status when the run is over (help, version, error), -1 to go on. */
static int parse_global(int argc, char **argv, struct options *o, struct diag *d)
{
	struct override ov[MAX_OVERRIDES];
	size_t n_ov = 0;
	int c, r;

	o->config_path = CONFIG_DEFAULT_PATH;
	while ((c = getopt_long(argc, argv, "+c:vqhV", global_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			o->config_given = true;
			break;
		case 'v':
			o->verbosity = VERBOSE;
			break;
		case 'q':
			o->verbosity = QUIET;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("svcnat %s\n", SVCNAT_VERSION);
			return EXIT_OK;
		case '?':
			usage(stderr);
			return EXIT_USAGE;
		default:
			if (n_ov < MAX_OVERRIDES)
				ov[n_ov++] = (struct override){ c, optarg };
		}
	}
	config_defaults(&o->config);
	r = config_load(&o->config, o->config_path, d);
	if (r == -ENOENT && !o->config_given)
		r = 0;
	else if (r < 0 && r != -EINVAL)
		diag_error(d, &(struct loc){ .file = o->config_path }, "cannot read configuration: %s", strerror(-r));
	if (r < 0)
		return fail_input(d, o->verbosity);
	for (size_t i = 0; i < n_ov; i++)
		if (apply_override(&o->config, &ov[i]) < 0)
			return EXIT_USAGE;
	return -1;
}

static const struct option command_options[] = {
	{ "filename", required_argument, NULL, 'f' },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "full", no_argument, NULL, OPT_FULL },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

static int parse_command(int argc, char **argv, struct options *o, const char *allowed)
{
	int c;

	optind = 1;
	o->paths = calloc((size_t)argc + 1, sizeof(*o->paths));
	if (!o->paths)
		return EXIT_INVALID;
	while ((c = getopt_long(argc, argv, "+f:h", command_options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		if (c == '?' || (c > 255 && !strchr(allowed, c - OPT_DRY_RUN + 'a'))) {
			fprintf(stderr, "svcnat %s: option not valid here (see svcnat --help)\n", argv[0]);
			return EXIT_USAGE;
		}
		if (c == 'f')
			o->paths[o->n_paths++] = optarg;
		o->dry_run |= c == OPT_DRY_RUN;
		o->full |= c == OPT_FULL;
		o->no_wait |= c == OPT_NO_WAIT;
	}
	if (optind < argc) {
		fprintf(stderr, "svcnat %s: unexpected argument '%s' (manifests are given with -f)\n", argv[0],
			argv[optind]);
		return EXIT_USAGE;
	}
	if (!o->n_paths && strcmp(argv[0], "delete")) {
		fprintf(stderr, "svcnat %s: no manifests: give at least one -f PATH\n", argv[0]);
		return EXIT_USAGE;
	}
	return -1;
}

/* ---- Commands --------------------------------------------------------- */

static void print_allocations(FILE *f, const struct model *m, const char *verb)
{
	char buf[ADDR_STRLEN];

	for (size_t i = 0; i < m->n_services; i++) {
		const struct service *s = &m->services[i];

		if (s->cluster_ip_allocated)
			fprintf(f, "# %s Service %s/%s clusterIP %s\n", verb, s->ns, s->name,
				addr_to_str(&s->cluster_ips.v[0], buf));
		for (size_t j = 0; j < s->n_ports; j++)
			if (s->ports[j].node_port_allocated)
				fprintf(f, "# %s Service %s/%s %s nodePort %u\n", verb, s->ns, s->name,
					s->ports[j].path, s->ports[j].node_port);
	}
}

static void print_script_header(FILE *f, const struct options *o, const struct pipeline *p)
{
	fprintf(f, "#!/usr/sbin/nft -f\n# svcnat %s: %zu service%s, %zu service port%s, %zu without endpoints\n",
		SVCNAT_VERSION, p->stats.services, p->stats.services == 1 ? "" : "s", p->stats.service_ports,
		p->stats.service_ports == 1 ? "" : "s", p->stats.no_endpoints);
	fputs("# from:", f);
	for (size_t i = 0; i < o->n_paths; i++)
		fprintf(f, " %s", o->paths[i]);
	fputc('\n', f);
	print_allocations(f, p->model, "allocates");
}

static int cmd_compile(struct options *o, struct diag *d)
{
	struct pipeline p;
	int r = pipeline_run(&p, &o->config, o->paths, o->n_paths, d);

	if (r == -EINVAL) {
		pipeline_free(&p);
		return fail_input(d, o->verbosity);
	}
	if (r < 0) {
		pipeline_free(&p);
		fprintf(stderr, "svcnat: %s\n", strerror(-r));
		return EXIT_INVALID;
	}
	print_diags(d, o->verbosity);
	print_script_header(stdout, o, &p);
	r = print_nft_ruleset(stdout, p.rs);
	pipeline_free(&p);
	if (r < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "svcnat: cannot write the script: %s\n", strerror(r < 0 ? -r : errno));
		return EXIT_INVALID;
	}
	return EXIT_OK;
}

/* ---- apply ----------------------------------------------------------- */

#define APPLY_RETRIES 3

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct apply_run {
	struct options *o;
	struct mnl_socket *nl;
	struct kview *want;
	struct diff *diff;
	size_t msgs;
	double start;
	bool from_cache;	/* the last attempt read the cache, not the kernel */
};

static int report_kernel_error(const struct nlbatch *b, const struct apply_map *map)
{
	char line[1024];

	for (size_t i = 0; i < nlbatch_n_errors(b); i++) {
		apply_describe_error(map, nlbatch_get_error(b, i), line, sizeof(line));
		fprintf(stderr, "svcnat: %s\n", line);
	}
	fprintf(stderr, "svcnat: the transaction was refused as a whole: the old ruleset is unchanged\n");
	return EXIT_KERNEL;
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
	if (r == 0 && !x->o->full && cache_key_get(x->nl, genid, &key) == 0 &&
	    cache_load(x->o->config.state_dir, &key, ret) == 0) {
		x->from_cache = true;
		*ret_genid = genid;
		return 0;
	}
	return kstate_dump(x->nl, x->want, ret, ret_genid);
}

/* After a commit based on genid, the kernel is at genid + 1 unless someone else committed since. */
static void remember_applied(struct apply_run *x, uint32_t genid)
{
	struct cache_key key;
	uint32_t now;

	if (nl_get_genid(x->nl, &now) == 0 && now == genid && cache_key_get(x->nl, now, &key) == 0)
		cache_save(x->o->config.state_dir, &key, x->want);
	else
		cache_save(x->o->config.state_dir, NULL, NULL);
}

/* One attempt: read, diff, commit.  -ERESTART: the ruleset changed under us, try again. */
static int apply_once(struct apply_run *x)
{
	struct kview *have = NULL;
	struct apply_map *map = NULL;
	struct nlbatch *b = NULL;
	struct nlbatch_error err;
	uint32_t genid = 0;
	int r;

	diff_free(x->diff);
	x->diff = NULL;
	r = read_current(x, &have, &genid);
	if (r < 0) {
		fprintf(stderr, "svcnat: cannot read svcnat's tables from the kernel: %s\n", strerror(-r));
		return EXIT_KERNEL;
	}
	r = diff_compute(x->want, have, x->o->full, &x->diff);
	if (r == 0 && (x->o->dry_run || diff_empty(x->diff))) {
		if (x->o->dry_run)
			r = apply_print_diff(stdout, x->diff);
		else if (!x->from_cache)
			remember_applied(x, genid);
		goto out;
	}
	b = r == 0 ? nlbatch_new(genid) : NULL;
	if (!b || apply_build_batch(x->diff, b, &map) < 0) {
		r = -ENOMEM;
		goto out;
	}
	x->msgs = nlbatch_n_msgs(b) + 2;
	r = nlbatch_commit(b, x->nl, 0, &err);
	if (r == -ERESTART)
		goto out;
	if (r < 0) {
		r = report_kernel_error(b, map);
		goto out;
	}
	remember_applied(x, genid + 1 ? genid + 1 : 1);
out:
	apply_map_free(map);
	nlbatch_free(b);
	kview_free(have);
	if (r == -ENOMEM)
		fprintf(stderr, "svcnat: out of memory\n");
	return r == -ERESTART ? r : r < 0 ? EXIT_KERNEL : r;
}

static void print_summary(const struct apply_run *x)
{
	struct apply_summary s;

	if (x->o->verbosity < NORMAL || apply_summarize(x->diff, &s) < 0)
		return;
	if (diff_empty(x->diff)) {
		printf("svcnat: no changes: the kernel already holds this ruleset (%.1f ms)\n", now_ms() - x->start);
		return;
	}
	printf("svcnat: applied: services %zu added, %zu updated, %zu removed; endpoints +%zu -%zu; "
	       "%zu elements, %zu chains%s changed; %zu netlink messages; %.1f ms\n",
	       s.services_added, s.services_updated, s.services_removed, s.endpoints_added, s.endpoints_removed,
	       s.elements, s.chains, s.tables_replaced ? " (whole table loaded)" : "", x->msgs, now_ms() - x->start);
}

static int apply_pipeline(struct apply_run *x, struct pipeline *p, struct diag *d)
{
	int r = pipeline_run(p, &x->o->config, x->o->paths, x->o->n_paths, d);

	if (r == -EINVAL)
		return fail_input(d, x->o->verbosity);
	if (r < 0 || kview_from_ruleset(p->rs, &x->want) < 0) {
		fprintf(stderr, "svcnat: %s\n", strerror(r < 0 ? -r : ENOMEM));
		return EXIT_INVALID;
	}
	print_diags(d, x->o->verbosity);
	return EXIT_OK;
}

static int take_lock(const struct options *o)
{
	int fd = lock_take(o->config.lock_file, !o->no_wait);

	if (fd == -EWOULDBLOCK)
		fprintf(stderr, "svcnat: another svcnat run holds %s (--no-wait)\n", o->config.lock_file);
	else if (fd < 0)
		fprintf(stderr, "svcnat: cannot lock %s: %s\n", o->config.lock_file, strerror(-fd));
	return fd;
}

static int cmd_apply(struct options *o, struct diag *d)
{
	struct apply_run x = { .o = o, .start = now_ms() };
	struct pipeline p = { 0 };
	int lock = -1, r;

	/* A dry run changes nothing, so it needs no lock and no root beyond reading the kernel. */
	if (!o->dry_run) {
		lock = take_lock(o);
		if (lock < 0)
			return lock == -EWOULDBLOCK ? EXIT_LOCKED : EXIT_KERNEL;
	}
	r = apply_pipeline(&x, &p, d);
	if (r != EXIT_OK)
		goto out;
	r = nl_socket_open(&x.nl);
	if (r < 0) {
		fprintf(stderr, "svcnat: cannot open a netlink socket: %s\n", strerror(-r));
		r = EXIT_KERNEL;
		goto out;
	}
	for (int i = 0; i < APPLY_RETRIES; i++) {
		r = apply_once(&x);
		if (r != -ERESTART)
			break;
	}
	if (r == -ERESTART) {
		fprintf(stderr, "svcnat: the ruleset kept changing while svcnat applied its own: gave up after %d tries\n",
			APPLY_RETRIES);
		r = EXIT_KERNEL;
	}
	if (r == EXIT_OK && !o->dry_run) {
		int k = alloc_state_save(&p.new_alloc, o->config.state_dir);

		if (k < 0)
			fprintf(stderr, "svcnat: warning: the ruleset is applied, but the allocations could not be saved in %s: %s\n",
				o->config.state_dir, strerror(-k));
		print_summary(&x);
	}
out:
	if (x.nl)
		mnl_socket_close(x.nl);
	diff_free(x.diff);
	kview_free(x.want);
	pipeline_free(&p);
	if (lock >= 0)
		close(lock);
	return r;
}

/* ---- delete ------------------------------------------------------------ */

/* Removes svcnat's tables (both families, when present) in one transaction, and nothing else. */
static int cmd_delete(struct options *o, struct diag *d)
{
	struct kview *want = kview_new(), *have = NULL;
	struct nlbatch *b = NULL;
	struct mnl_socket *nl = NULL;
	struct nlbatch_error err;
	struct diff *diff = NULL;
	uint32_t genid;
	int lock = take_lock(o), r;

	(void)d;
	if (lock < 0) {
		kview_free(want);
		return lock == -EWOULDBLOCK ? EXIT_LOCKED : EXIT_KERNEL;
	}
	r = want ? 0 : -ENOMEM;
	if (r == 0) {
		want->tables = arena_alloc(&want->arena, 2 * sizeof(*want->tables));
		r = want->tables ? 0 : -ENOMEM;
	}
	if (r == 0) {
		want->tables[0] = (struct kv_table){ .family = NFPROTO_IPV4, .name = o->config.table };
		want->tables[1] = (struct kv_table){ .family = NFPROTO_IPV6, .name = o->config.table };
		want->n_tables = 2;
		r = nl_socket_open(&nl);
	}
	if (r == 0)
		r = kstate_dump(nl, want, &have, &genid);
	if (r == 0) {
		struct kview none = { 0 };

		r = diff_compute(&none, have, false, &diff);
	}
	if (r == 0 && !diff_empty(diff) && (b = nlbatch_new(genid))) {
		struct apply_map *map = NULL;

		r = apply_build_batch(diff, b, &map);
		if (r == 0 && nlbatch_commit(b, nl, 0, &err) < 0)
			r = report_kernel_error(b, map) ? -EPERM : 0;
		apply_map_free(map);
	}
	if (r == 0 && o->verbosity >= NORMAL)
		printf("svcnat: %s\n", diff_empty(diff) ? "no svcnat table to delete" : "deleted svcnat's tables");
	if (r < 0 && r != -EPERM)
		fprintf(stderr, "svcnat: cannot delete svcnat's tables: %s\n", strerror(-r));
	diff_free(diff);
	nlbatch_free(b);
	kview_free(have);
	kview_free(want);
	if (nl)
		mnl_socket_close(nl);
	close(lock);
	return r < 0 ? EXIT_KERNEL : EXIT_OK;
}

struct command {
	const char *name;
	const char *options;	/* which command options it takes: a=dry-run b=full c=no-wait */
	int (*run)(struct options *o, struct diag *d);
};

static const struct command commands[] = {
	{ "compile", "", cmd_compile },
	{ "apply", "abc", cmd_apply },
	{ "delete", "c", cmd_delete },
};

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct diag d;
	int r;

	diag_init(&d);
	r = parse_global(argc, argv, &o, &d);
	if (r >= 0)
		goto out;
	if (optind >= argc) {
		usage(stderr);
		r = EXIT_USAGE;
		goto out;
	}
	r = EXIT_USAGE;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		argv += optind;
		argc -= optind;
		r = parse_command(argc, argv, &o, commands[i].options);
		if (r < 0)
			r = commands[i].run(&o, &d);
		goto out;
	}
	fprintf(stderr, "svcnat: unknown command '%s' (see svcnat --help)\n", argv[optind]);
out:
	free(o.paths);
	diag_free(&d);
	return r;
}
