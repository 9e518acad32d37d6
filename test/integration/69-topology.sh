#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Topology-aware routing: the endpoints' hints narrow a ClusterIP's endpoints as
# kube-proxy narrows them, for this node (--hostname-override node-1) in its zone
# (--node-zone):
#  - zone hints (trafficDistribution: PreferSameZone), node in zone-a: only pod-a and
#    pod-b (hinted for zone-a) answer, TCP and UDP; the Local policy's endpoints (its
#    nodePort) ignore the hints;
#  - the same as a node in zone-c, which no hint names, or without --node-zone: all three;
#  - node hints (PreferSameNode), one for node-1: only that endpoint;
#  - the endpoints hinted for the zone turn terminating: the hints name no ready
#    endpoint there, so every ready one (pod-c) serves.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2	# node-1, zone-a
pod_add pod-b 198.19.2.2	# node-2, zone-a
pod_add pod-c 198.19.3.2	# node-3, zone-b

# manifests DISTRIBUTION READY(true|false for pod-a and pod-b)
manifests()
{
	local td=$1 ready=$2 term=false

	[ "$ready" = true ] || term=true
	cat <<EOM
apiVersion: v1
kind: Service
metadata: {name: near}
spec:
  clusterIP: 198.18.0.80
  trafficDistribution: $td
  ports:
  - {name: http, protocol: TCP, port: 80}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353}
---
apiVersion: v1
kind: Service
metadata: {name: near-local}
spec:
  type: NodePort
  clusterIP: 198.18.0.81
  externalTrafficPolicy: Local
  ports: [{name: http, protocol: TCP, port: 80, nodePort: 30081}]
EOM
	for svc in near near-local; do
		cat <<EOM
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $svc-1, labels: {kubernetes.io/service-name: $svc}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}, {name: dns, protocol: UDP, port: 5353}]
endpoints:
- addresses: [198.19.1.2]
  nodeName: node-1
  zone: zone-a
  conditions: {ready: $ready, serving: true, terminating: $term}
  hints: {forZones: [{name: zone-a}], forNodes: [{name: node-1}]}
- addresses: [198.19.2.2]
  nodeName: node-2
  zone: zone-a
  conditions: {ready: $ready, serving: true, terminating: $term}
  hints: {forZones: [{name: zone-a}], forNodes: [{name: node-2}]}
- addresses: [198.19.3.2]
  nodeName: node-3
  zone: zone-b
  hints: {forZones: [{name: zone-b}], forNodes: [{name: node-3}]}
EOM
	done
}

# apply_as ZONE DISTRIBUTION READY (ZONE "-": no --node-zone)
apply_as()
{
	local zone=()

	[ "$1" = - ] || zone=(--node-zone "$1")
	manifests "$2" "$3" >"$WORK/m.yaml"
	SN_OPTS=(--hostname-override node-1 ${zone[@]+"${zone[@]}"})
	sn_apply -f "$WORK/m.yaml" >/dev/null
}

# Node hints are set too: with PreferSameZone the controller writes zone hints only,
# but kube-proxy's rule does not look at trafficDistribution, only at the hints, so
# node hints everywhere would win. Drop them for the zone cases.
zone_only() { sed -i '/forNodes/s/, forNodes: \[[^]]*\]//' "$WORK/m.yaml"; sn_apply -f "$WORK/m.yaml" >/dev/null; }

log "zone hints, this node in zone-a: pod-a and pod-b only"
apply_as zone-a PreferSameZone true
zone_only
expect_only client 60 198.18.0.80 80 -- pod-a pod-b
expect_only client 60 198.18.0.80 53 --udp -- pod-a pod-b
log "the Local policy's endpoints ignore the hints (pod-a, the only one on node-1)"
expect_only client 20 "$NODE_CLIENT_IP" 30081 -- pod-a

log "this node in zone-c, which no hint names: all three"
apply_as zone-c PreferSameZone true
zone_only
expect_only client 80 198.18.0.80 80 -- pod-a pod-b pod-c
log "no --node-zone: all three"
apply_as - PreferSameZone true
zone_only
expect_only client 80 198.18.0.80 80 -- pod-a pod-b pod-c

log "node hints, one for node-1: pod-a only"
apply_as zone-a PreferSameNode true
expect_only client 20 198.18.0.80 80 -- pod-a
expect_only client 20 198.18.0.80 53 --udp -- pod-a

log "zone-a's endpoints terminating: the ready one elsewhere serves (pod-c)"
apply_as zone-a PreferSameZone false
zone_only
expect_only client 20 198.18.0.80 80 -- pod-c
log "ok"
