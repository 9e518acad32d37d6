#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The kernel refuses the transaction: someone replaced svcnat's service-ips map
# by hand with one that holds a single element. The next apply adds a second
# element; the kernel refuses it, so the whole transaction, and svcnat names the
# refused element with the kernel's errno. The old ruleset stays whole (byte
# for byte, and traffic still flows); --full, the recovery path, repairs it.
set -u
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"
require_root_netns
require_tools
topo_create
svcnat_setup
pod_add kr-a 198.19.1.2 -
pod_add kr-b 198.19.2.2 -

service() {	# NAME IP POD-IP
	cat <<EOM
---
apiVersion: v1
kind: Service
metadata: {name: $1}
spec: {clusterIP: $2, ports: [{port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: $1}
subsets: [{addresses: [{ip: $3}], ports: [{port: 80}]}]
EOM
}
service one 198.18.0.130 198.19.1.2 > "$WORK/one.yaml"
{ service one 198.18.0.130 198.19.1.2; service two 198.18.0.131 198.19.2.2; } > "$WORK/two.yaml"
sn_apply -f "$WORK/one.yaml" >/dev/null

log "by hand: service-ips becomes a map of at most one element"
in_node nft -f - <<'EON' || fail "hand edit"
flush chain ip svcnat services
delete map ip svcnat service-ips
add map ip svcnat service-ips { type ipv4_addr . inet_proto . inet_service : verdict; size 1; comment "ClusterIP, external IP and load-balancer IP traffic"; }
add element ip svcnat service-ips { 198.18.0.130 . tcp . 80 comment "default/one:80/TCP cluster IP" : goto cluster-1 }
add rule ip svcnat services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip svcnat services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
EON
before=$(in_node nft list ruleset)

log "apply with a second service: refused whole, the element named"
out=$(sn apply -f "$WORK/two.yaml" 2>&1) && fail "the apply succeeded: $out"
rc=$(sn apply -f "$WORK/two.yaml" >/dev/null 2>&1; echo $?)
assert_eq 3 "$rc" "exit status of a refused transaction"
assert_match "kernel refused map element 'default/two:80/TCP cluster IP' \\(map 'service-ips'\\): Too many open files in system" \
	"$out" "the refused element and the kernel's errno"
assert_match "refused as a whole: the old ruleset is unchanged" "$out" "closing line"
assert_eq "$before" "$(in_node nft list ruleset)" "ruleset after the refused transaction"
expect_only client 10 198.18.0.130 80 -- kr-a

log "apply --full replaces the table and converges"
sn_apply --full -f "$WORK/two.yaml" >/dev/null
expect_only client 10 198.18.0.131 80 -- kr-b
out=$(sn apply -f "$WORK/two.yaml" 2>&1) || fail "apply after --full: $out"
assert_match '^svcnat: no changes' "$out" "apply after --full"
log "ok"
