// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>

#include "pipeline.h"
#include "validate.h"

int pipeline_model(struct pipeline *p, const struct config *c, char *const *paths, size_t n_paths,
		   bool skip_invalid, struct diag *d)
{
	int r = 0, k;

	*p = (struct pipeline){ .model = model_new() };
	if (!p->model)
		return -ENOMEM;
	for (size_t i = 0; i < n_paths; i++) {
		k = model_load_path(p->model, paths[i], d);
		if (k == -ENOMEM)
			return k;
		if (k < 0)
			r = -EINVAL;
	}
	k = model_index(p->model, d);
	if (k == -ENOMEM)
		return k;
	/* A broken state file must stop the run: guessing would move services to new addresses. */
	k = alloc_state_load(&p->old_alloc, c->state_dir, d);
	if (k < 0)
		return k == -ENOMEM ? k : -EINVAL;
	k = alloc_run(p->model, c, &p->old_alloc, &p->new_alloc, d);
	if (k == -ENOMEM)
		return k;
	k = validate_model(p->model, c, d);
	if (k == -ENOMEM)
		return k;
	if ((r < 0 || d->errors) && !skip_invalid)
		return -EINVAL;
	return r < 0 || d->errors ? -EAGAIN : 0;
}

int pipeline_compile(struct pipeline *p, const struct config *c, int r)
{
	int k = compile_ruleset(p->model, c, &p->rs, &p->stats);

	return k < 0 ? k : r;
}

int pipeline_run(struct pipeline *p, const struct config *c, char *const *paths, size_t n_paths,
		 bool skip_invalid, struct diag *d)
{
	int r = pipeline_model(p, c, paths, n_paths, skip_invalid, d);

	return r == 0 || r == -EAGAIN ? pipeline_compile(p, c, r) : r;
}

void pipeline_free(struct pipeline *p)
{
	model_free(p->model);
	ruleset_free(p->rs);
	alloc_state_free(&p->old_alloc);
	alloc_state_free(&p->new_alloc);
	*p = (struct pipeline){ 0 };
}
