#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# IPv6 and dual stack: table ip6 svcnat next to table ip svcnat. A dual-stack NodePort
# Service with external IPs of both families, reached over each family on its
# ClusterIP, external IP and NodePort (TCP and UDP); a dual-stack Service without
# endpoints refuses over both; IPv6 hairpin; the node itself; a second apply changes
# nothing; delete removes both tables.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

M=$SRCDIR/test/integration/manifests/dual-stack.yaml
# shellcheck disable=SC2034  # used by sn
SERVICE_CIDRS=$SVC_CIDR,$SVC_CIDR6
V6=2001:db8:18::100

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2	# 2001:db8:19::1:2
pod_add pod-b 198.19.2.2	# 2001:db8:19::2:2
in_node sysctl -qw net.ipv6.icmp.ratelimit=0 net.ipv4.icmp_ratelimit=0

out=$(sn_apply -f "$M")
log "$out"
in_node nft list table ip svcnat >/dev/null || fail "no table ip svcnat"
in_node nft list table ip6 svcnat >/dev/null || fail "no table ip6 svcnat"

log "ClusterIPs 198.18.0.100 and $V6, TCP and UDP"
for ip in 198.18.0.100 "$V6"; do
	expect_only client 60 "$ip" 80 -- pod-a pod-b
	expect_only client 60 "$ip" 53 --udp -- pod-a pod-b
done
log "external IPs 192.0.2.100 and 2001:db8:2::100"
for ip in 192.0.2.100 2001:db8:2::100; do
	expect_only client 60 "$ip" 80 -- pod-a pod-b
	expect_only client 60 "$ip" 53 --udp -- pod-a pod-b
done
log "NodePorts on $NODE_CLIENT_IP and $NODE_CLIENT_IP6"
for ip in "$NODE_CLIENT_IP" "$NODE_CLIENT_IP6"; do
	expect_only client 60 "$ip" 30100 -- pod-a pod-b
	expect_only client 60 "$ip" 30101 --udp -- pod-a pod-b
done
log "no endpoints: refused over both families"
for ip in 198.18.0.101 2001:db8:18::101; do
	for opt in "" --udp; do
		port=80
		[ -n "$opt" ] && port=53
		start=$(date +%s%N)
		run_cc client out $opt --timeout 1000 -n 3 "$ip" "$port" &&
			fail "$ip:$port $opt answered: $out"
		ms=$((($(date +%s%N) - start) / 1000000))
		assert_eq 3 "$(cc_get "$out" refused)" "$ip:$port $opt refusals (${out//$'\n'/, })"
		[ "$ms" -lt 500 ] || fail "$ip:$port $opt: refusals took $ms ms"
	done
done
log "IPv6 hairpin: pod-a -> 2001:db8:18::102, whose only endpoint it is"
expect_only pod:pod-a 30 2001:db8:18::102 80 -- pod-a
log "the node itself -> $V6"
in_node ip -6 route add default via "$EXT_IP6"	# a real node has one; see 20-clusterip.sh
expect_only node 40 "$V6" 80 -- pod-a pod-b

log "second apply: no changes"
out=$(sn_apply -f "$M")
assert_match '^svcnat: no changes' "$out" "second apply"
log "delete removes both tables"
sn delete >/dev/null 2>&1 || fail "svcnat delete failed"
assert_eq "" "$(in_node nft list tables)" "tables after delete"
log "ok"
