#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Hairpin: a pod that reaches a service whose only endpoint is itself gets its own
# answer (svcnat masquerades it, so the reply comes back through the node), over TCP
# and UDP, on the ClusterIP and on a NodePort; and a pod reaching a two-endpoint
# service that includes itself gets answers from both.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2

cat >"$WORK/hairpin.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: self, namespace: default}
spec:
  type: NodePort
  clusterIP: 198.18.0.30
  ports:
  - {name: http, protocol: TCP, port: 80, targetPort: 80, nodePort: 30030}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353, nodePort: 30031}
---
apiVersion: v1
kind: Endpoints
metadata: {name: self, namespace: default}
subsets:
- addresses: [{ip: 198.19.1.2}]
  ports:
  - {name: http, port: 80, protocol: TCP}
  - {name: dns, port: 5353, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: both, namespace: default}
spec:
  clusterIP: 198.18.0.31
  ports:
  - {protocol: TCP, port: 80}
---
apiVersion: v1
kind: Endpoints
metadata: {name: both, namespace: default}
subsets:
- addresses: [{ip: 198.19.1.2}, {ip: 198.19.2.2}]
  ports:
  - {port: 80, protocol: TCP}
YAML
sn_apply -f "$WORK/hairpin.yaml" >/dev/null

# Hairpin must work whether the node's bridge hands its frames to the IP hooks
# (br_netfilter, bridge-nf-call-iptables=1, as Kubernetes requires) or only routes.
modes=(0)
if in_node test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
	modes=(1 0)
else
	log "br_netfilter is not loaded: the bridged (bridge-nf-call-iptables=1) case is NOT TESTED"
fi
for bnf in "${modes[@]}"; do
	if [ "$bnf" = 1 ] || in_node test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		in_node sysctl -qw net.bridge.bridge-nf-call-iptables="$bnf"
	fi
	log "bridge-nf-call-iptables=$bnf: pod-a -> its own service 198.18.0.30 (TCP, UDP)"
	expect_only pod:pod-a 50 198.18.0.30 80 -- pod-a
	expect_only pod:pod-a 50 198.18.0.30 53 --udp -- pod-a
	log "bridge-nf-call-iptables=$bnf: pod-a -> its own NodePort on the node's pod-side address"
	expect_only pod:pod-a 20 "$POD_GW" 30030 -- pod-a
	expect_only pod:pod-a 20 "$POD_GW" 30031 --udp -- pod-a
	# A pod reaching another pod of its bridge through a service needs br_netfilter, as in
	# Kubernetes: the reply is bridged straight back and must meet the conntrack entry.
	[ "$bnf" = 1 ] || continue
	log "bridge-nf-call-iptables=1: pod-b -> the same service (not hairpin)"
	expect_only pod:pod-b 20 198.18.0.30 80 -- pod-a
	log "bridge-nf-call-iptables=1: pod-a -> 198.18.0.31, whose endpoints are pod-a and pod-b"
	expect_only pod:pod-a 100 198.18.0.31 80 -- pod-a pod-b
done

# A node needs the hairpin entries of its own endpoints only: one of another node
# (by nodeName) is left out once some endpoint names this node.
log "nodeName: pod-a on node-a (this node); service remote's endpoint 198.19.9.9 on node-b"
{
	sed '0,/- addresses: \[{ip: 198.19.1.2}\]/s//- addresses: [{ip: 198.19.1.2, nodeName: node-a}]/' "$WORK/hairpin.yaml"
	cat <<'YAML'
---
{apiVersion: v1, kind: Service, metadata: {name: remote, namespace: default},
 spec: {clusterIP: 198.18.0.32, ports: [{protocol: TCP, port: 80}]}}
---
{apiVersion: v1, kind: Endpoints, metadata: {name: remote, namespace: default},
 subsets: [{addresses: [{ip: 198.19.9.9, nodeName: node-b}], ports: [{port: 80, protocol: TCP}]}]}
YAML
} >"$WORK/hairpin-nodes.yaml"
grep -q "nodeName: node-a" "$WORK/hairpin-nodes.yaml" || fail "the test's sed did not apply"
SN_OPTS=(--hostname-override node-a)
sn_apply -f "$WORK/hairpin-nodes.yaml" >/dev/null
set_list=$(in_node nft list set ip svcnat hairpin)
assert_match "198\.19\.1\.2 \. 198\.19\.1\.2" "$set_list" "hairpin set: this node's endpoint"
[[ $set_list != *198.19.9.9* ]] || fail "hairpin set holds node-b's endpoint: $set_list"
in_node sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
expect_only pod:pod-a 20 198.18.0.30 53 --udp -- pod-a
log "ok"
