#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A selector-less Service whose hand-written Endpoints points at 198.51.100.10 (the ext
# namespace, outside the pod network), reached through the service from the client, a
# pod and the node itself; the ports are translated as the Endpoints says.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

VIP=198.18.0.40

require_root_netns
require_tools
topo_create
svcnat_setup
ext_server_start mysql-outside 3306 80
pod_add pod-a 198.19.1.2

sn_apply -f "$SRCDIR/test/integration/manifests/selectorless.yaml" >/dev/null
log "client -> $VIP:3306 and :33062 (-> $EXT_IP:80)"
expect_only client 30 "$VIP" 3306 -- mysql-outside
expect_only client 10 "$VIP" 33062 -- mysql-outside
log "pod-a -> $VIP:3306"
expect_only pod:pod-a 30 "$VIP" 3306 -- mysql-outside
log "the node -> $VIP:3306"
in_node ip route add default via "$EXT_IP"	# a real node has one; see 20-clusterip.sh
expect_only node 30 "$VIP" 3306 -- mysql-outside
log "the ext host itself -> $VIP:3306 (the endpoint reaching itself through the service)"
expect_only ext 10 "$VIP" 3306 -- mysql-outside
log "ok"
