/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per service port traffic, from the counters the kernel keeps on the
 * elements of svcnat's service-traffic and nodeport-traffic sets (every
 * packet to a service IP or nodePort counts, before DNAT).
 */
#ifndef SVCNAT_COUNTERS_H
#define SVCNAT_COUNTERS_H

#include <stdint.h>

struct counters;

struct counter_value {
	uint64_t packets;
	uint64_t bytes;
};

/* Reads both families' counters of table; -ENOENT when the table is absent. */
int counters_read(const char *table, struct counters **ret);
void counters_free(struct counters *c);
/* The sum over every element whose comment is label followed by a space; -ENOENT when none. */
int counters_get(const struct counters *c, const char *label, struct counter_value *ret);

#endif
