#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Traffic policies, with --hostname-override node-1 and endpoints on node-1 (pod-a,
# pod-b) and node-2 (pod-c; reachable here, so a wrong choice would show).
# externalTrafficPolicy: Local on a LoadBalancer service: its external IP, load-balancer
# IP and NodePort reach only the local endpoints, TCP and UDP, and keep the client's
# address (the conntrack reply tuple goes back to 203.0.113.2, where a Cluster policy
# service's goes to the node's masquerade address); its ClusterIP still reaches every
# endpoint. With no local endpoint, external traffic is dropped (a timeout, not a
# refusal). The same external ports reached from a pod (clusterCIDR) or from the node
# itself are short-circuited, as kube-proxy does: every endpoint, with or without a local
# one; a pod's address is kept, the node's masqueraded. internalTrafficPolicy: Local:
# ClusterIP traffic reaches only local endpoints, from the client and from a pod; with
# none local it is dropped.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2	# node-1
pod_add pod-b 198.19.2.2	# node-1
pod_add pod-c 198.19.3.2	# node-2
pod_add pod-d 198.19.4.2	# a client pod, no endpoint

# service NAME IP-LAST-OCTET EXTPOLICY INTPOLICY NODEPORT-BASE ENDPOINT...  (ENDPOINT: IP@NODE)
service()
{
	local name=$1 n=$2 ext=$3 int=$4 np=$5 e

	shift 5
	cat <<EOM
---
apiVersion: v1
kind: Service
metadata: {name: $name}
spec:
  type: LoadBalancer
  clusterIP: 198.18.0.$n
  externalIPs: [192.0.2.$n]
  externalTrafficPolicy: $ext
  internalTrafficPolicy: $int
  ports:
  - {name: http, protocol: TCP, port: 80, nodePort: $np}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353, nodePort: $((np + 1))}
status: {loadBalancer: {ingress: [{ip: 192.0.2.$((n + 100))}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $name-1, labels: {kubernetes.io/service-name: $name}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}, {name: dns, protocol: UDP, port: 5353}]
endpoints:
EOM
	for e in "$@"; do
		echo "- {addresses: [${e%@*}], nodeName: ${e#*@}}"
	done
}

M=$WORK/m.yaml
{
	# local: Local external policy, endpoints on both nodes.
	service local 60 Local Cluster 30060 198.19.1.2@node-1 198.19.2.2@node-1 198.19.3.2@node-2
	# cluster: the same endpoints, Cluster policies (for the masquerade contrast).
	service cluster 61 Cluster Cluster 30062 198.19.1.2@node-1 198.19.2.2@node-1 198.19.3.2@node-2
	# remote: Local external policy, its only endpoint on node-2.
	service remote 62 Local Cluster 30064 198.19.3.2@node-2
	# int: Local internal policy, endpoints on both nodes.
	service int 63 Cluster Local 30066 198.19.1.2@node-1 198.19.2.2@node-1 198.19.3.2@node-2
	# int-none: Local internal policy, its only endpoint on node-2.
	service int-none 64 Cluster Local 30068 198.19.3.2@node-2
} >"$M"
# svcnat as node NAME
sn_as() { in_node "$SVCNAT" -c "$SVCNAT_CONF" --service-cidr "$SVC_CIDR" --cluster-cidr "$POD_CIDR" --hostname-override "$@"; }
out=$(sn_as node-1 --state-dir "$STATE" --lock-file "$LOCK" apply -f "$M" 2>&1) ||
	fail "apply with --hostname-override node-1: $out"
log "$out"

log "externalTrafficPolicy Local: external IP, load-balancer IP and NodePort reach pod-a and pod-b only"
for target in "192.0.2.60 80" "192.0.2.160 80" "$NODE_CLIENT_IP 30060"; do
	# shellcheck disable=SC2086
	expect_only client 120 $target -- pod-a pod-b
done
for target in "192.0.2.60 53" "192.0.2.160 53" "$NODE_CLIENT_IP 30061"; do
	# shellcheck disable=SC2086
	expect_only client 120 $target --udp -- pod-a pod-b
done
log "the NodePort from ext ($NODE_EXT_IP:30060) too"
expect_only ext 60 "$NODE_EXT_IP" 30060 -- pod-a pod-b
log "its ClusterIP (internalTrafficPolicy Cluster) reaches all three"
expect_only client 120 198.18.0.60 80 -- pod-a pod-b pod-c

# The node's conntrack table: "ipv4 2 tcp 6 T STATE src=C dst=S sport= dport= src=E dst=R ...":
# the second dst= is where replies go: the client itself unless masqueraded.
reply_dsts()
{
	in_node cat /proc/net/nf_conntrack | awk -v d="dst=$1" -v p="dport=$2" -v proto="$3" '
		$3 == proto {
			n = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^dst=/) dst[++n] = $i
				if ($i ~ /^dport=/ && !dp) dp = $i
			}
			if (dst[1] == d && dp == p) print substr(dst[2], 5)
			dp = ""
		}' | sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }'
}
log "source address preserved with Local, masqueraded with Cluster"
in_node test -r /proc/net/nf_conntrack || skip "no /proc/net/nf_conntrack in the node namespace"
expect_only client 20 192.0.2.61 80 -- pod-a pod-b pod-c
expect_only client 20 "$NODE_CLIENT_IP" 30062 -- pod-a pod-b pod-c
for t in "192.0.2.60 80 tcp" "192.0.2.160 80 tcp" "$NODE_CLIENT_IP 30060 tcp" "192.0.2.60 53 udp" \
	"$NODE_CLIENT_IP 30061 udp"; do
	# shellcheck disable=SC2086
	r=$(reply_dsts $t)
	log "Local   $t: replies to $r"
	assert_match "^$CLIENT_IP x[0-9]+$" "$r" "reply destinations of $t (Local)"
done
for t in "192.0.2.61 80 tcp" "$NODE_CLIENT_IP 30062 tcp"; do
	# shellcheck disable=SC2086
	r=$(reply_dsts $t)
	log "Cluster $t: replies to $r"
	assert_match "^$POD_GW x[0-9]+$" "$r" "reply destinations of $t (Cluster)"
done

log "externalTrafficPolicy Local without a local endpoint: dropped (timeout), ClusterIP still served"
for target in "192.0.2.62 80" "192.0.2.162 80" "$NODE_CLIENT_IP 30064" "192.0.2.62 53 --udp" \
	"$NODE_CLIENT_IP 30065 --udp"; do
	# shellcheck disable=SC2086
	run_cc client out --timeout 500 -n 3 $target && fail "$target answered: $out"
	assert_eq 3 "$(cc_get "$out" timeout)" "timeouts on $target (${out//$'\n'/, })"
done
expect_only client 20 198.18.0.62 80 -- pod-c

log "short-circuit: a pod reaches every endpoint of Local ports, local endpoints or not"
expect_only pod:pod-d 120 192.0.2.60 80 -- pod-a pod-b pod-c
expect_only pod:pod-d 20 192.0.2.162 80 -- pod-c
expect_only pod:pod-d 20 192.0.2.62 53 --udp -- pod-c
expect_only pod:pod-d 20 "$POD_GW" 30064 -- pod-c
log "short-circuit: so does the node itself (output path)"
# A socket needs a route before the output hook's DNAT; a real node has its default route.
in_node ip route add default via "$EXT_IP"
expect_only node 20 192.0.2.62 80 -- pod-c
expect_only node 20 "$NODE_CLIENT_IP" 30064 -- pod-c
expect_only node 120 192.0.2.160 80 -- pod-a pod-b pod-c
r=$(reply_dsts 192.0.2.162 80 tcp)
log "pod  -> 192.0.2.162:80: replies to $r"
assert_match "^198.19.4.2 x[0-9]+$" "$r" "reply destinations of pod-d's short-circuited traffic"
r=$(reply_dsts 192.0.2.62 80 tcp)
log "node -> 192.0.2.62:80: replies to $r"
assert_match "^$POD_GW x[0-9]+$" "$r" "reply destinations of the node's short-circuited traffic"
log "and the client outside still gets the Local policy"
run_cc client out --timeout 500 -n 3 192.0.2.162 80 && fail "client -> 192.0.2.162:80 answered: $out"
expect_only client 40 192.0.2.160 80 -- pod-a pod-b

log "internalTrafficPolicy Local: ClusterIP reaches pod-a and pod-b only, from the client and from pod-d"
expect_only client 120 198.18.0.63 80 -- pod-a pod-b
expect_only client 120 198.18.0.63 53 --udp -- pod-a pod-b
expect_only pod:pod-d 120 198.18.0.63 80 -- pod-a pod-b
log "its external IP and NodePort (externalTrafficPolicy Cluster) reach all three"
expect_only client 120 192.0.2.63 80 -- pod-a pod-b pod-c
expect_only client 120 "$NODE_CLIENT_IP" 30066 -- pod-a pod-b pod-c
log "internalTrafficPolicy Local without a local endpoint: ClusterIP dropped, NodePort served"
for where in client pod:pod-d; do
	run_cc "$where" out --timeout 500 -n 3 198.18.0.64 80 && fail "$where -> 198.18.0.64:80 answered: $out"
	assert_eq 3 "$(cc_get "$out" timeout)" "timeouts from $where on 198.18.0.64:80 (${out//$'\n'/, })"
done
expect_only client 20 "$NODE_CLIENT_IP" 30068 -- pod-c

log "applied as node-2 (--hostname-override node-2): Local traffic goes to pod-c only"
out=$(sn_as node-2 --state-dir "$STATE" --lock-file "$LOCK" apply -f "$M" 2>&1) || fail "apply as node-2: $out"
expect_only client 40 192.0.2.60 80 -- pod-c
expect_only client 40 198.18.0.64 80 -- pod-c
log "ok"
