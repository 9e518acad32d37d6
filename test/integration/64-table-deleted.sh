#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# svcnat's table removed or damaged by hand after an apply: the next apply (same
# manifests) restores everything, says it repaired drift, leaves a listing identical to
# the one before, and traffic works again (pods behind a ClusterIP and a NodePort
# answer); the apply after it has nothing to do. Done for: nft delete table; delete, then
# an empty table of the same name; nft flush table (rules gone, maps kept); one map
# element deleted; a base chain deleted (with its rules).
#   TABLE_DELETED_ROUNDS (1; more repeats every case)
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

ROUNDS=${TABLE_DELETED_ROUNDS:-1}
VIP=198.18.0.10
NODEPORT=30080

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2
cp "$SRCDIR/test/integration/manifests/clusterip.yaml" "$WORK/m.yaml"
cat >>"$WORK/m.yaml" <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: np, namespace: default}
spec:
  type: NodePort
  clusterIP: 198.18.0.11
  ports: [{name: http, protocol: TCP, port: 80, targetPort: 8080, nodePort: $NODEPORT}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: np, namespace: default}
subsets: [{addresses: [{ip: 198.19.1.2}, {ip: 198.19.2.2}], ports: [{name: http, port: 8080, protocol: TCP}]}]
EOF

traffic()
{
	expect_only client 30 "$VIP" 80 -- pod-a pod-b pod-c
	expect_only client 20 "$VIP" 53 --udp -- pod-a pod-b pod-c
	expect_only client 20 "$NODE_CLIENT_IP" "$NODEPORT" -- pod-a pod-b
}

out=$(sn_apply -f "$WORK/m.yaml")
assert_match '^svcnat: applied: ' "$out" "the first apply"
traffic
before=$(nft_table_blocks)
log "applied; traffic works; $(wc -l <<<"$before") lines of ruleset"

# $1: what; the rest: nft commands that damage svcnat's table.
damage_and_repair()
{
	local what=$1 out

	shift
	in_node nft -f - <<<"$(printf '%s\n' "$@")" || fail "$what: nft refused the damage"
	[ "$(nft_table_blocks)" != "$before" ] || fail "$what: the damage changed nothing"
	run_cc client out --timeout 300 -n 3 "$VIP" 80 && fail "$what: $VIP:80 still answers: $out"
	out=$(sn_apply -f "$WORK/m.yaml")
	assert_match '^svcnat: repaired drift' "$out" "$what: the apply after"
	assert_eq "$before" "$(nft_table_blocks)" "$what: the ruleset after the repair"
	traffic
	out=$(sn_apply -f "$WORK/m.yaml")
	assert_match '^svcnat: no changes' "$out" "$what: the apply after the repair"
	log "$what: repaired; traffic works"
}

for ((round = 1; round <= ROUNDS; round++)); do
	damage_and_repair "nft delete table" "delete table ip svcnat"
	damage_and_repair "deleted, then an empty table of the same name" \
		"delete table ip svcnat" "add table ip svcnat"
	damage_and_repair "nft flush table" "flush table ip svcnat"
	damage_and_repair "one map element deleted" \
		"delete element ip svcnat service-ips { $VIP . tcp . 80 }"
	damage_and_repair "a base chain deleted" \
		"flush chain ip svcnat nat-prerouting" "delete chain ip svcnat nat-prerouting"
done
log "ok"
