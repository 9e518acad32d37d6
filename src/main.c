// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * svcnat: command line, options, output, and the compile command.  The front
 * end (this file and cmd_apply.c) is the only part that prints: every other
 * module returns errors and fills diagnostics.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "diag.h"
#include "metrics.h"
#include "pipeline.h"
#include "ruleset.h"

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
	      "  get services|endpoints [-n NS | -A] [-o wide|json|yaml]\n"
	      "                                what svcnat has applied, as kubectl shows it\n"
	      "  describe service NAME [-n NS] one service in detail, with its traffic counters\n"
	      "  healthcheck                   serve the healthCheckNodePorts of the last apply (runs\n"
	      "                                until SIGTERM)\n"
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
	      "      --hostname-override NAME      hostnameOverride: this node's name\n"
	      "      --node-zone ZONE              nodeZone: this node's topology.kubernetes.io/zone\n"
	      "      --metrics-file FILE           write Prometheus metrics of the run (textfile collector)\n"
	      "  -h, --help                    this text\n"
	      "  -V, --version                 the version\n"
	      "\n"
	      "Command options:\n"
	      "  -f, --filename PATH           a manifest file, a directory (recursive), or - for stdin;\n"
	      "                                without -f, the configured manifestDir\n"
	      "      --dry-run                 apply: print what would change, touch nothing\n"
	      "      --full                    apply: replace the whole table (recovery)\n"
	      "      --no-wait                 fail (exit 4) instead of waiting for another run\n"
	      "      --skip-invalid            apply: apply the valid services, skip (and report) the\n"
	      "                                invalid ones, exit 5\n"
	      "\n"
	      "See svcnat(8) and svcnat.yaml(5).\n", f);
}

/* ---- Output ---------------------------------------------------------- */

/* syslog priorities, which journald reads from a "<N>" line prefix. */
static const char *journal_prefix(const struct options *o, enum diag_level level)
{
	static const char *const prio[] = { [DIAG_ERROR] = "<3>", [DIAG_WARNING] = "<4>", [DIAG_INFO] = "<6>" };

	return o->journal ? prio[level] : "";
}

static bool shown(const struct options *o, enum diag_level level)
{
	return level == DIAG_ERROR || (level == DIAG_WARNING && o->verbosity >= NORMAL) ||
	       (level == DIAG_INFO && o->verbosity >= VERBOSE);
}

void cli_log(const struct options *o, enum diag_level level, const char *fmt, ...)
{
	va_list ap;

	if (!shown(o, level))
		return;
	fprintf(stderr, "%ssvcnat: %s", journal_prefix(o, level), level == DIAG_WARNING ? "warning: " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_print_diags(const struct options *o, const struct diag *d)
{
	char line[2048];

	for (size_t i = 0; i < d->n; i++) {
		const struct diag_msg *m = &d->msgs[i];

		if (!shown(o, m->level))
			continue;
		diag_format(m, line, sizeof(line));
		fprintf(stderr, "%s%s\n", journal_prefix(o, m->level), line);
	}
}

int cli_fail_input(const struct options *o, const struct diag *d)
{
	cli_print_diags(o, d);
	cli_log(o, DIAG_ERROR, "%zu error%s: nothing was changed", d->errors, d->errors == 1 ? "" : "s");
	return EXIT_INVALID;
}

double cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it connected. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
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
	OPT_METRICS_FILE,
	OPT_HOSTNAME,
	OPT_NODE_ZONE,
	OPT_DRY_RUN,
	OPT_FULL,
	OPT_NO_WAIT,
	OPT_SKIP_INVALID,
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
		if (!config_table_name_valid(o->value))
			return fprintf(stderr, "svcnat: --table: '%s' is not a table name (a letter, then letters, digits, "
				       "'-', '_')\n", o->value), -EINVAL;
		return copy_opt(c->table, sizeof(c->table), o->value, "--table");
	case OPT_STATE_DIR:
		return copy_opt(c->state_dir, sizeof(c->state_dir), o->value, "--state-dir");
	case OPT_LOCK_FILE:
		return copy_opt(c->lock_file, sizeof(c->lock_file), o->value, "--lock-file");
	case OPT_HOSTNAME:
		return copy_opt(c->hostname, sizeof(c->hostname), o->value, "--hostname-override");
	case OPT_NODE_ZONE:
		return copy_opt(c->zone, sizeof(c->zone), o->value, "--node-zone");
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
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "hostname-override", required_argument, NULL, OPT_HOSTNAME },
	{ "node-zone", required_argument, NULL, OPT_NODE_ZONE },
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
		case OPT_METRICS_FILE:
			o->metrics_file = optarg;
			break;
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
		return cli_fail_input(o, d);
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
	{ "skip-invalid", no_argument, NULL, OPT_SKIP_INVALID },
	{ "namespace", required_argument, NULL, 'n' },
	{ "all-namespaces", no_argument, NULL, 'A' },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 }
};

/* Which command options a command takes, by option code. */
struct command {
	const char *name;
	const int *options;	/* 0-terminated */
	bool positional;	/* takes arguments (get, describe) rather than manifests */
	int (*run)(struct options *o, struct diag *d);
};

static bool option_allowed(const struct command *cmd, int c)
{
	for (const int *p = cmd->options; *p; p++)
		if (*p == c)
			return true;
	return false;
}

static int take_option(struct options *o, int c)
{
	switch (c) {
	case 'f':
		o->paths[o->n_paths++] = optarg;
		break;
	case 'n':
		o->ns = optarg;
		break;
	case 'A':
		o->all_namespaces = true;
		break;
	case 'o':
		o->output = optarg;
		break;
	default:
		o->dry_run |= c == OPT_DRY_RUN;
		o->full |= c == OPT_FULL;
		o->no_wait |= c == OPT_NO_WAIT;
		o->skip_invalid |= c == OPT_SKIP_INVALID;
	}
	return 0;
}

static int parse_command(int argc, char **argv, struct options *o, const struct command *cmd)
{
	int c;

	optind = 0;	/* glibc: 0 also resets getopt's state from the global pass (its "+" mode) */
	o->paths = calloc((size_t)argc + 1, sizeof(*o->paths));
	if (!o->paths)
		return EXIT_INVALID;
	/* get and describe take options anywhere, as kubectl does: let getopt permute. */
	while ((c = getopt_long(argc, argv, cmd->positional ? "f:n:Ao:h" : "+f:n:Ao:h", command_options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		if (c == '?' || !option_allowed(cmd, c)) {
			fprintf(stderr, "svcnat %s: option not valid here (see svcnat --help)\n", argv[0]);
			return EXIT_USAGE;
		}
		take_option(o, c);
	}
	if (cmd->positional) {
		o->args = argv + optind;
		o->n_args = (size_t)(argc - optind);
		return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "svcnat %s: unexpected argument '%s' (manifests are given with -f)\n", argv[0],
			argv[optind]);
		return EXIT_USAGE;
	}
	/* Without -f, the configured manifest directory: what the systemd units apply. */
	if (!o->n_paths)
		o->paths[o->n_paths++] = o->config.manifest_dir;
	return -1;
}

/* ---- Commands --------------------------------------------------------- */

static void print_allocations(FILE *f, const struct model *m, const char *verb)
{
	char buf[ADDR_STRLEN];

	for (size_t i = 0; i < m->n_services; i++) {
		const struct service *s = &m->services[i];

		for (size_t j = 0; s->cluster_ip_allocated && j < s->cluster_ips.n; j++)
			fprintf(f, "# %s Service %s/%s clusterIP %s\n", verb, s->ns, s->name,
				addr_to_str(&s->cluster_ips.v[j], buf));
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
	int r = pipeline_run(&p, &o->config, o->paths, o->n_paths, false, d);

	/* Print before freeing: the messages point at file names the pipeline holds. */
	if (r == -EINVAL) {
		r = cli_fail_input(o, d);
		pipeline_free(&p);
		return r;
	}
	if (r < 0) {
		pipeline_free(&p);
		fprintf(stderr, "svcnat: %s\n", strerror(-r));
		return EXIT_INVALID;
	}
	cli_print_diags(o, d);
	print_script_header(stdout, o, &p);
	r = print_nft_ruleset(stdout, p.rs);
	pipeline_free(&p);
	if (r < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "svcnat: cannot write the script: %s\n", strerror(r < 0 ? -r : errno));
		return EXIT_INVALID;
	}
	return EXIT_OK;
}

static const int compile_opts[] = { 'f', 0 };
static const int apply_opts[] = { 'f', OPT_DRY_RUN, OPT_FULL, OPT_NO_WAIT, OPT_SKIP_INVALID, 0 };
static const int delete_opts[] = { OPT_NO_WAIT, 0 };
static const int get_opts[] = { 'n', 'A', 'o', 0 };
static const int describe_opts[] = { 'n', 0 };
static const int healthcheck_opts[] = { 0 };

static const struct command commands[] = {
	{ "compile", compile_opts, false, cmd_compile },
	{ "apply", apply_opts, false, cmd_apply },
	{ "delete", delete_opts, false, cmd_delete },
	{ "get", get_opts, true, cmd_get },
	{ "describe", describe_opts, true, cmd_describe },
	{ "healthcheck", healthcheck_opts, false, cmd_healthcheck },
};

int main(int argc, char **argv)
{
	struct options o = { 0 };
	double start = cli_now_ms();
	struct diag d;
	int r;

	diag_init(&d);
	o.journal = stderr_is_journal();
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
		r = parse_command(argc, argv, &o, &commands[i]);
		if (r < 0)
			r = commands[i].run(&o, &d);
		goto out;
	}
	fprintf(stderr, "svcnat: unknown command '%s' (see svcnat --help)\n", argv[optind]);
out:
	if (o.metrics_file) {
		int k = metrics_write(o.metrics_file, &o.report, r, cli_now_ms() - start);

		if (k < 0)
			cli_log(&o, DIAG_WARNING, "cannot write metrics to %s: %s", o.metrics_file, strerror(-k));
	}
	free(o.paths);
	diag_free(&d);
	return r;
}
