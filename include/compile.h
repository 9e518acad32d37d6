/* SPDX-License-Identifier: GPL-2.0-or-later */
/* model -> ruleset description. */
#ifndef SVCNAT_COMPILE_H
#define SVCNAT_COMPILE_H

#include "config.h"
#include "model.h"
#include "ruleset.h"

struct compile_stats {
	size_t services;	/* services that got rules */
	size_t service_ports;
	size_t endpoints;	/* distinct endpoint addresses in use */
	size_t no_endpoints;	/* service ports without a ready endpoint */
};

/* An endpoint of a service port: where the DNAT sends it. */
struct backend {
	struct addr addr;
	uint16_t port;
	const char *node;	/* nodeName, or NULL */
	bool ready;		/* false: the terminating fallback */
};

/* Where this node is, for topology-aware routing (hints.forNodes, hints.forZones). */
struct topology {
	const char *node;
	const char *zone;	/* "" or NULL: unknown, zone hints unused */
};

/*
 * The endpoints of one service port (family 0: any; node NULL: any node),
 * sorted and unique: the ready ones, or when none is ready the serving
 * terminating ones, as kube-proxy does (for a Local policy, among the
 * node's own).  With topo (cluster endpoints only, node NULL), the ready
 * ones are narrowed by their hints as kube-proxy narrows them: to those
 * hinted for this node when every ready one has node hints and some name
 * this node, else to those hinted for its zone when every ready one has zone
 * hints and some name its zone.  *ret is malloc'd (NULL when none).
 */
int service_port_backends(const struct service *s, const struct svc_port *p, int family, const char *node,
			  const struct topology *topo, struct backend **ret, size_t *ret_n);

/*
 * What a health check on healthCheckNodePort reports, as kube-proxy counts
 * it: the distinct endpoints (address and port, over all service ports) on
 * the node that are ready; terminating ones do not count.
 */
int service_local_ready_endpoints(const struct service *s, const char *node, size_t *ret_n);

/* Compiles every valid, non-ignored service; never fails on user input (validation did that). */
int compile_ruleset(const struct model *m, const struct config *c, struct ruleset **ret_rs,
		    struct compile_stats *ret_stats);

#endif
