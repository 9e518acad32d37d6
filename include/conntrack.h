/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stale UDP conntrack entries: when a UDP endpoint leaves a service, the
 * kernel would keep sending an established "connection" (a client that keeps
 * sending from one port: DNS, statsd) to it until the entry expires.  svcnat
 * deletes those entries through ctnetlink after it committed, so the next
 * datagram is load-balanced afresh, as kube-proxy's conntrack reconciler does.
 */
#ifndef SVCNAT_CONNTRACK_H
#define SVCNAT_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct stale_flow {
	struct addr frontend;	/* service IP (family 0 for a nodePort: any local address) */
	uint16_t port;		/* service port or nodePort, host order */
	struct addr endpoint;	/* the endpoint that is gone */
};

/* Deletes the UDP entries to frontend:port whose replies come from endpoint; *ret_deleted counts them. */
int conntrack_delete_stale(int family, const struct stale_flow *v, size_t n, size_t *ret_deleted);

#endif
