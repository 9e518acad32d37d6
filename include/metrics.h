/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Prometheus text file of a run, for node_exporter's textfile collector. */
#ifndef SVCNAT_METRICS_H
#define SVCNAT_METRICS_H

#include "cli.h"

/* Written atomically (temporary file, rename), so the collector never reads half a file. */
int metrics_write(const char *path, const struct run_report *r, int exit_status, double duration_ms);

#endif
