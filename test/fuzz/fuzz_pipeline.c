// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: the whole load, validate and compile path of
 * `svcnat compile`, in memory: model_load_buffer (as a file is read),
 * model_index, alloc_run from an empty state, validate_model,
 * compile_ruleset and print_nft_ruleset to /dev/null.  The configuration is
 * the default one with serviceCIDR 198.18.0.0/16.  Besides the sanitizers,
 * it checks the contracts: a failure comes with a message, and input that
 * passed validation always compiles and prints ("never fails on user input").
 * Input with errors is compiled too, as `apply --skip-invalid` does: the
 * invalid objects are left out, and the rest must compile just the same.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "compile.h"
#include "config.h"
#include "contract.h"
#include "model.h"
#include "ruleset.h"
#include "tree.h"
#include "validate.h"

/* The front half of pipeline_run(), with a buffer for the files and an empty state. */
static int load_and_check(struct model *m, const struct config *c, const uint8_t *data, size_t size,
			  struct alloc_state *new_alloc, struct diag *d)
{
	const struct alloc_state old_alloc = { 0 };
	int r, k;

	/* As a file is read: a JSON List item by item. */
	r = model_load_buffer(m, (const char *)data, size, "fuzz.yaml", d);
	if (r == -ENOMEM)
		return r;
	k = model_index(m, d);
	if (k == -ENOMEM)
		return k;
	k = alloc_run(m, c, &old_alloc, new_alloc, d);
	if (k == -ENOMEM)
		return k;
	k = validate_model(m, c, d);
	if (k == -ENOMEM)
		return k;
	return r < 0 || d->errors ? -EINVAL : 0;
}

static void compile_and_print(const struct model *m, const struct config *c)
{
	struct ruleset *rs = NULL;
	struct compile_stats stats;
	FILE *f;
	int r = compile_ruleset(m, c, &rs, &stats);

	if (r == -ENOMEM)
		return;
	if (r < 0 || !rs)
		broken("compiling failed on user input");	/* validation did its job: compile never fails */
	f = fopen("/dev/null", "w");
	if (f) {
		if (print_nft_ruleset(f, rs) < 0)
			broken("printing the ruleset failed");
		fclose(f);
	}
	ruleset_free(rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct alloc_state new_alloc = { 0 };
	struct config c;
	struct diag d;
	struct model *m;
	int r;

	config_defaults(&c);
	if (cidr_list_parse("198.18.0.0/16", &c.service_cidrs, true) < 0)
		broken("the fixed serviceCIDR does not parse");
	diag_init(&d);
	m = model_new();
	if (!m)
		return 0;
	r = load_and_check(m, &c, data, size, &new_alloc, &d);
	if (r != -ENOMEM)
		check_diags(&d, r);
	if (r == 0 || r == -EINVAL)
		compile_and_print(m, &c);
	alloc_state_free(&new_alloc);
	model_free(m);
	diag_free(&d);
	return 0;
}
