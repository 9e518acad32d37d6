// SPDX-License-Identifier: GPL-2.0-or-later
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "metrics.h"

static void gauge(FILE *f, const char *name, const char *help, double value)
{
	fprintf(f, "# HELP svcnat_%s %s\n# TYPE svcnat_%s gauge\nsvcnat_%s %.17g\n", name, help, name, name, value);
}

static void errors(FILE *f, int exit_status)
{
	static const char *const kinds[] = { [EXIT_INVALID] = "input", [EXIT_USAGE] = "usage",
					     [EXIT_KERNEL] = "kernel", [EXIT_LOCKED] = "lock" };

	fputs("# HELP svcnat_last_run_errors Whether the last run failed, by kind of error.\n"
	      "# TYPE svcnat_last_run_errors gauge\n", f);
	for (int k = EXIT_INVALID; k <= EXIT_LOCKED; k++)
		fprintf(f, "svcnat_last_run_errors{kind=\"%s\"} %d\n", kinds[k], exit_status == k);
}

static void write_metrics(FILE *f, const struct run_report *r, int exit_status, double duration_ms)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	gauge(f, "last_run_timestamp_seconds", "When the last run ended (Unix time).",
	      (double)now.tv_sec + (double)now.tv_nsec / 1e9);
	gauge(f, "last_run_success", "1 if the last run succeeded.", exit_status == EXIT_OK);
	gauge(f, "last_run_exit_status", "The last run's exit status (svcnat(8), EXIT STATUS).", exit_status);
	gauge(f, "last_run_duration_seconds", "How long the last run took.", duration_ms / 1e3);
	errors(f, exit_status);
	if (!r->ran)
		return;
	gauge(f, "services", "Services with rules.", (double)r->services);
	gauge(f, "service_ports", "Service ports with rules.", (double)r->service_ports);
	gauge(f, "service_ports_without_endpoints", "Service ports whose connections are rejected.",
	      (double)r->no_endpoints);
	gauge(f, "endpoints", "Distinct endpoint addresses in use.", (double)r->endpoints);
	fputs("# HELP svcnat_last_run_objects_changed Kernel objects the last run changed.\n"
	      "# TYPE svcnat_last_run_objects_changed gauge\n", f);
	fprintf(f, "svcnat_last_run_objects_changed{kind=\"element\"} %zu\n", r->elements_changed);
	fprintf(f, "svcnat_last_run_objects_changed{kind=\"chain\"} %zu\n", r->chains_changed);
	gauge(f, "last_run_netlink_messages", "Netlink messages the last run sent (0: nothing to do).",
	      (double)r->netlink_messages);
	gauge(f, "last_run_drift_repaired", "1 if the last run found and repaired drift.", r->drift_repaired);
}

int metrics_write(const char *path, const struct run_report *r, int exit_status, double duration_ms)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int ret;

	if (!f)
		return -ENOMEM;
	write_metrics(f, r, exit_status, duration_ms);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	/* Atomic, so the collector never reads half a file. */
	ret = file_replace(path, text, len, 0644, false);
	free(text);
	return ret;
}
