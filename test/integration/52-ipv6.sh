#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# IPv6 semantics, --service-cidr 198.18.0.0/16,2001:db8:18::/112. A PreferDualStack
# LoadBalancer-less NodePort service with explicit clusterIPs (198.18.0.90,
# 2001:db8:18::90), an IPv6 external IP and EndpointSlices of both address types: TCP
# and UDP over IPv6 from the client to the IPv6 clusterIP, the NodePort on the node's
# IPv6 address and the external IP, each spread uniformly over the three endpoints;
# IPv4 on the same service answered by the IPv4 endpoints. An IPv6-only service
# (ipFamilies [IPv6]) without clusterIP gets one from the IPv6 range (read from
# svcnat get services -o json) and works; a second apply keeps it.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

# shellcheck disable=SC2034  # used by sn
SERVICE_CIDRS=$SVC_CIDR,$SVC_CIDR6
V4=198.18.0.90
V6=2001:db8:18::90
EXT6=2001:db8:2::90

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2	# 2001:db8:19::1:2
pod_add pod-b 198.19.2.2	# 2001:db8:19::2:2
pod_add pod-c 198.19.3.2	# 2001:db8:19::3:2

cat >"$WORK/m.yaml" <<EOM
apiVersion: v1
kind: Service
metadata: {name: web6, namespace: sem}
spec:
  type: NodePort
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: $V4
  clusterIPs: [$V4, "$V6"]
  externalIPs: ["$EXT6"]
  ports:
  - {name: http, protocol: TCP, port: 80, nodePort: 30090}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353, nodePort: 30091}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web6-v4, namespace: sem, labels: {kubernetes.io/service-name: web6}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}, {name: dns, protocol: UDP, port: 5353}]
endpoints:
- addresses: [198.19.1.2]
- addresses: [198.19.2.2]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web6-v6, namespace: sem, labels: {kubernetes.io/service-name: web6}}
addressType: IPv6
ports: [{name: http, protocol: TCP, port: 80}, {name: dns, protocol: UDP, port: 5353}]
endpoints:
- addresses: ["2001:db8:19::1:2"]
- addresses: ["2001:db8:19::2:2"]
- addresses: ["2001:db8:19::3:2"]
---
apiVersion: v1
kind: Service
metadata: {name: only6, namespace: sem}
spec:
  ipFamilies: [IPv6]
  ipFamilyPolicy: SingleStack
  ports:
  - {name: http, protocol: TCP, port: 8080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: only6-1, namespace: sem, labels: {kubernetes.io/service-name: only6}}
addressType: IPv6
ports: [{name: http, protocol: TCP, port: 8080}]
endpoints:
- addresses: ["2001:db8:19::1:2"]
- addresses: ["2001:db8:19::3:2"]
EOM
sn_apply -f "$WORK/m.yaml" >/dev/null

# spread WHERE N HOST PORT [OPT...]: N attempts answered by pod-a, pod-b and pod-c, uniformly.
spread()
{
	local where=$1 n=$2 host=$3 port=$4 out a b c

	shift 4
	run_cc "$where" out "$@" -n "$n" -c 50 "$host" "$port" ||
		fail "$where -> [$host]:$port $*: not every attempt answered: ${out//$'\n'/, }"
	assert_eq "pod-a pod-b pod-c" "$(awk '$1 == "answer" { printf "%s%s", s, $2; s = " " }' <<<"$out")" \
		"$where -> [$host]:$port $*: pods that answered"
	read -r a b c <<<"$(cc_answers "$out")"
	log "[$host]:$port $*: pod-a $a, pod-b $b, pod-c $c"
	chi_square_uniform "$a" "$b" "$c" >/dev/null ||
		fail "[$host]:$port $*: not spread uniformly: $a $b $c"
}

log "IPv6 from the client $CLIENT_IP6: clusterIP, NodePort on $NODE_CLIENT_IP6, external IP $EXT6"
for dst in "$V6 80 53" "$NODE_CLIENT_IP6 30090 30091" "$EXT6 80 53"; do
	read -r ip tcp udp <<<"$dst"
	spread client 300 "$ip" "$tcp"
	spread client 300 "$ip" "$udp" --udp
done
log "the NodePort on the node's ext-side IPv6 address, from ext"
spread ext 150 "$NODE_EXT_IP6" 30090
log "IPv4 on the same service: the IPv4 endpoints"
expect_only client 60 "$V4" 80 -- pod-a pod-b
expect_only client 60 "$NODE_CLIENT_IP" 30090 -- pod-a pod-b
expect_only client 60 "$V4" 53 --udp -- pod-a pod-b
log "a pod over IPv6 (pod-c -> $V6)"
expect_only pod:pod-c 90 "$V6" 80 -- pod-a pod-b pod-c

log "the IPv6-only service got an IPv6 clusterIP"
json=$(sn get services -n sem -o json) || fail "get services -o json"
ips=$(python3 -c '
import json, sys
for s in json.load(sys.stdin)["items"]:
    if s["metadata"]["name"] == "only6":
        sp = s["spec"]
        print(sp.get("clusterIP", ""), ",".join(sp.get("clusterIPs", [])), ",".join(sp.get("ipFamilies", [])))
' <<<"$json") || fail "cannot read get services -o json: $json"
read -r ip6 ips6 _ <<<"$ips"
log "only6: clusterIP $ip6, clusterIPs $ips6"
assert_match '^2001:db8:18::[0-9a-f]{1,4}$' "$ip6" "only6's clusterIP"
assert_eq "$ip6" "$ips6" "only6's clusterIPs"
# (get -o json prints no ipFamilies: not checked.)
expect_only client 60 "$ip6" 8080 -- pod-a pod-c
grep -q 'sem/only6' <<<"$(in_node nft list table ip svcnat)" && fail "the IPv6-only service has IPv4 rules"
assert_eq "$ip6" "$(svc_ip sem/only6)" "only6's clusterIP in the allocations"

log "a second apply: no changes, same address"
out=$(sn_apply -f "$WORK/m.yaml")
assert_match '^svcnat: no changes' "$out" "second apply"
expect_only client 20 "$ip6" 8080 -- pod-a pod-c
log "ok"
