/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The front half every command shares: paths -> model -> allocation -> validation -> ruleset. */
#ifndef SVCNAT_PIPELINE_H
#define SVCNAT_PIPELINE_H

#include "alloc.h"
#include "compile.h"
#include "config.h"
#include "diag.h"
#include "model.h"
#include "ruleset.h"

struct pipeline {
	struct model *model;
	struct ruleset *rs;		/* NULL when the input had errors */
	struct alloc_state old_alloc;	/* as read from the state file */
	struct alloc_state new_alloc;	/* to save after a successful apply */
	struct compile_stats stats;
};

/*
 * -EINVAL when the input has errors (all of them are in d); -ENOMEM etc.
 * otherwise.  With skip_invalid, a run with errors still compiles what is
 * valid (invalid objects never reach the model, or are marked invalid) and
 * returns -EAGAIN after filling p->rs.
 */
int pipeline_run(struct pipeline *p, const struct config *c, char *const *paths, size_t n_paths,
		 bool skip_invalid, struct diag *d);
/*
 * pipeline_run in two halves, for a caller with work to start once the model
 * is final: pipeline_model stops before compiling, with what pipeline_run
 * would return but -EAGAIN and 0 mean "compile next"; pipeline_compile takes
 * that r and returns what pipeline_run would have.  Compiling only reads
 * p->model.
 */
int pipeline_model(struct pipeline *p, const struct config *c, char *const *paths, size_t n_paths,
		   bool skip_invalid, struct diag *d);
int pipeline_compile(struct pipeline *p, const struct config *c, int r);
void pipeline_free(struct pipeline *p);

#endif
