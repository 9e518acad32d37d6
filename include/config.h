/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Configuration: /etc/svcnat/svcnat.yaml.  Keys follow kube-proxy's
 * KubeProxyConfiguration where one exists; svcnat's own keys are documented
 * in svcnat.yaml(5).
 */
#ifndef SVCNAT_CONFIG_H
#define SVCNAT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "diag.h"

#define CONFIG_DEFAULT_PATH "/etc/svcnat/svcnat.yaml"
#define CONFIG_MAX_CIDRS 16

struct cidr {
	struct addr net;
	uint8_t len;
};

struct cidr_list {
	struct cidr v[CONFIG_MAX_CIDRS];
	size_t n;
};

struct config {
	struct cidr_list service_cidrs;		/* serviceCIDR: one per family at most */
	struct cidr_list cluster_cidrs;		/* clusterCIDR: "inside the cluster" */
	struct cidr_list node_port_addresses;	/* nodePortAddresses; empty = every local address */
	uint16_t node_port_min, node_port_max;	/* nodePortRange */
	bool masquerade_all;			/* nftables.masqueradeAll */
	uint32_t masquerade_bit;		/* nftables.masqueradeBit */
	char table[64];				/* tableName */
	char state_dir[256];			/* stateDir */
	char lock_file[256];			/* lockFile */
	char hostname[256];			/* hostnameOverride */
	char zone[256];				/* nodeZone: topology.kubernetes.io/zone; "" = unknown */
	char manifest_dir[256];			/* manifestDir */
};

void config_defaults(struct config *c);
/* Reads and merges a configuration file; every error goes to d. -ENOENT if absent. */
int config_load(struct config *c, const char *path, struct diag *d);
/* Parses "10.96.0.0/12" or "10.96.0.0/12,fd00::/108" (one per family). */
/* The same for a buffer (the fuzzer's entry point); name is kept for diagnostics. */
int config_load_buffer(struct config *c, const char *buf, size_t len, const char *name, struct diag *d);
int cidr_list_parse(const char *s, struct cidr_list *ret, bool one_per_family);
/* A tableName nft takes: a letter, then letters, digits, '-' and '_' (at most 63). */
bool config_table_name_valid(const char *s);
int port_range_parse(const char *s, uint16_t *ret_min, uint16_t *ret_max);
const struct cidr *cidr_list_family(const struct cidr_list *l, int family);

#endif
