// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness: YAML text -> tree (tree_parse_yaml).  Besides the
 * sanitizers, it checks the parser's contract (contract.c): it fails with a
 * message or succeeds without one, every message names the file, and the
 * tree stays within the documented limits.
 */
#include "contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_tree_parser(tree_parse_yaml, "fuzz.yaml", data, size);
	return 0;
}
