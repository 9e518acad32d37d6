#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Tables svcnat did not make as it would have.
# 1. Someone replaced svcnat's service-ips map by hand with one that holds at most
#    one element. The next apply needs two: svcnat sees the size, loads a new table
#    with room in the same transaction, and converges.
# 2. The kernel refuses the transaction: another process owns svcnat's table (the
#    table flag "owner": only the netlink socket that made it may change it). svcnat
#    names the refused object with the kernel's errno, and the old ruleset stays whole
#    (byte for byte, and traffic still flows). Once the owner is gone, apply converges.
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

log "apply with a second service: a new table with room, in one transaction"
out=$(sn_apply -f "$WORK/two.yaml")
assert_match "\\(whole table loaded\\)" "$out" "the apply after the map got too small"
assert_match "size 256" "$(in_node nft list map ip svcnat service-ips)" "service-ips after the apply"
expect_only client 10 198.18.0.130 80 -- kr-a
expect_only client 10 198.18.0.131 80 -- kr-b
out=$(sn apply -f "$WORK/two.yaml" 2>&1) || fail "second apply: $out"
assert_match '^svcnat: no changes' "$out" "second apply"

log "by hand: another process owns svcnat's table, holding one.yaml's ruleset"
in_node nft delete table ip svcnat
sn compile -f "$WORK/one.yaml" 2>/dev/null |
	sed '/^table ip svcnat$/d; /^delete table ip svcnat$/d; s/^table ip svcnat {$/table ip svcnat {\n\tflags owner/' \
	>"$WORK/owned.nft" || fail "compile one.yaml"
touch "$WORK/hold"
{ printf 'include "%s"\n' "$WORK/owned.nft"; while [ -e "$WORK/hold" ]; do sleep 0.1; done; } |
	in_node nft -i >"$WORK/owner.out" 2>&1 &
owner=$!
for _ in $(seq 50); do
	in_node nft list table ip svcnat 2>/dev/null | grep -q 'flags owner' && break
	sleep 0.1
done
in_node nft list table ip svcnat | grep -q 'flags owner' || fail "the owned table did not appear: $(cat "$WORK/owner.out")"
expect_only client 10 198.18.0.130 80 -- kr-a
before=$(in_node nft list ruleset)

log "apply with the second service: refused whole, the table named"
out=$(sn apply -f "$WORK/two.yaml" 2>&1) && fail "the apply succeeded: $out"
rc=$(sn apply -f "$WORK/two.yaml" >/dev/null 2>&1; echo $?)
assert_eq 3 "$rc" "exit status of a refused transaction"
assert_match "kernel refused table ip svcnat: Operation not permitted" "$out" "the refused object and the kernel's errno"
assert_match "refused as a whole: the old ruleset is unchanged" "$out" "closing line"
assert_eq "$before" "$(in_node nft list ruleset)" "ruleset after the refused transaction"
expect_only client 10 198.18.0.130 80 -- kr-a

log "the owner goes, its table with it; apply converges"
rm -f "$WORK/hold"
wait "$owner" || true
in_node nft list table ip svcnat >/dev/null 2>&1 && fail "the owned table outlived its owner"
sn_apply -f "$WORK/two.yaml" >/dev/null
expect_only client 10 198.18.0.131 80 -- kr-b
out=$(sn apply -f "$WORK/two.yaml" 2>&1) || fail "apply after the owner left: $out"
assert_match '^svcnat: no changes' "$out" "apply after the owner left"
log "ok"
