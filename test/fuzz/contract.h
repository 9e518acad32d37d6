/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef SVCNAT_FUZZ_CONTRACT_H
#define SVCNAT_FUZZ_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken contract: says which, then abort(), which makes libFuzzer save the input. */
__attribute__((noreturn)) void broken(const char *what);

/* A stage fails with a message or succeeds without one, and every message names the file. */
void check_diags(const struct diag *d, int r);

typedef int tree_parser(const char *buf, size_t len, const char *name, struct arena *a,
			struct diag *d, struct doc **docs);

/* Runs one text parser on the input, checks its messages and walks every tree it built. */
void check_tree_parser(tree_parser *parse, const char *name, const uint8_t *data, size_t size);

#endif
