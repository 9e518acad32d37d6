/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The services svcnat last applied, as a JSON state file (stateDir/services.json):
 * what `svcnat get` and `svcnat describe` show, with the kernel's counters,
 * without reading the manifests again.
 */
#ifndef SVCNAT_SNAPSHOT_H
#define SVCNAT_SNAPSHOT_H

#include <jansson.h>

#include "fileio.h"
#include "model.h"

#define SNAPSHOT_FILE "services.json"

/*
 * The model's services as JSON, atomically (temporary file, rename); unchanged:
 * not written.  node: this node's name, for the health checks' local endpoints.
 */
int snapshot_save(const char *dir, const struct model *m, const char *node);
/* The same file written beside its place, for file_commit. */
int snapshot_stage(const char *dir, const struct model *m, const char *node, struct staged_file *ret);
/* After svcnat delete: nothing is in force. */
int snapshot_remove(const char *dir);
/* -ENOENT when no apply has been recorded yet. */
int snapshot_load(const char *dir, json_t **ret);

#endif
