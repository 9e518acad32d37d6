/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The command-line front end, the only part of svcnat that prints: main.c
 * (options, dispatch, output, compile), cmd_apply.c (apply, delete), cmd_get.c
 * (get, describe), cmd_healthcheck.c (healthcheck).
 */
#ifndef SVCNAT_CLI_H
#define SVCNAT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "diag.h"

/* Exit status, documented in svcnat(8). */
enum {
	EXIT_OK = 0,
	EXIT_INVALID = 1,	/* invalid input: manifests, configuration, state */
	EXIT_USAGE = 2,
	EXIT_KERNEL = 3,	/* the kernel refused, or netlink failed */
	EXIT_LOCKED = 4,	/* another run holds the lock and --no-wait was given */
	EXIT_SKIPPED = 5,	/* --skip-invalid: applied, but invalid objects were left out */
};

enum verbosity {
	QUIET = -1,
	NORMAL = 0,
	VERBOSE = 1,
};

/* What a run did, for the metrics file. */
struct run_report {
	bool ran;			/* got as far as compiling */
	size_t services, service_ports, endpoints, no_endpoints;
	size_t elements_changed, chains_changed;
	size_t netlink_messages;
	bool drift_repaired;
};

struct options {
	const char *config_path;
	bool config_given;
	enum verbosity verbosity;
	bool journal;			/* stderr is the journal: prefix lines with <N> priorities */
	const char *metrics_file;
	struct config config;
	char **paths;
	size_t n_paths;
	bool dry_run;
	bool full;
	bool no_wait;
	bool skip_invalid;
	const char *ns;			/* get, describe: -n */
	bool all_namespaces;		/* get: -A */
	const char *output;		/* get: -o */
	char **args;			/* get, describe: positional arguments */
	size_t n_args;
	struct run_report report;
};

/* "svcnat: ..." on stderr at a level; suppressed below the verbosity. */
void cli_log(const struct options *o, enum diag_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cli_print_diags(const struct options *o, const struct diag *d);
/* Prints every diagnostic and the closing line of a run whose input was bad. */
int cli_fail_input(const struct options *o, const struct diag *d);
double cli_now_ms(void);

int cmd_apply(struct options *o, struct diag *d);
int cmd_delete(struct options *o, struct diag *d);
int cmd_get(struct options *o, struct diag *d);
int cmd_describe(struct options *o, struct diag *d);
int cmd_healthcheck(struct options *o, struct diag *d);

#endif
