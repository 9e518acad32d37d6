#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ClusterIP: TCP and UDP from the client, spread uniformly over three endpoints;
# a process on the node itself (output path); an unknown port of a ClusterIP is
# refused, an unallocated address of the service CIDR is dropped.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

VIP=198.18.0.10
N=1200

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2

log "apply $SRCDIR/test/integration/manifests/clusterip.yaml"
out=$(sn_apply -f "$SRCDIR/test/integration/manifests/clusterip.yaml")
assert_match '^svcnat: applied: ' "$out" "apply summary"

for proto in tcp udp; do
	opt=() port=80
	[ "$proto" = udp ] && opt=(--udp) port=53
	log "$proto: $N connections client -> $VIP:$port"
	run_cc client out "${opt[@]}" -n "$N" -c 100 "$VIP" "$port" ||
		fail "$proto: not every attempt was answered: ${out//$'\n'/, }"
	read -r a b c <<<"$(cc_answers "$out")"
	log "$proto: pod-a $a, pod-b $b, pod-c $c"
	assert_eq "pod-a pod-b pod-c" \
		"$(awk '$1 == "answer" { printf "%s%s", s, $2; s = " " }' <<<"$out")" \
		"$proto: pods that answered"
	assert_eq "$N" "$((a + b + c))" "$proto: answers"
	chi_square_uniform "$a" "$b" "$c" || fail "$proto: connections are not spread uniformly"
done

log "a port the service does not have is refused at once; an unallocated address is dropped"
# (The node has no route to 198.18.0.0/16 yet: without the drop, the client would get
# ICMP network unreachable, "failed", rather than a timeout.)
start=$(date +%s%N)
run_cc client out --timeout 2000 -n 3 "$VIP" 8080 && fail "port 8080 answered: $out"
ms=$((($(date +%s%N) - start) / 1000000))
assert_eq 3 "$(cc_get "$out" refused)" "refusals on $VIP:8080 (${out//$'\n'/, })"
[ "$ms" -lt 1500 ] || fail "refusal took ${ms} ms"
run_cc client out --timeout 300 -n 2 198.18.0.99 80 && fail "198.18.0.99 answered: $out"
assert_eq 2 "$(cc_get "$out" timeout)" "timeouts on an unallocated ClusterIP (${out//$'\n'/, })"

log "the node itself (output path) -> $VIP"
# The harness's node has no default route, and a socket needs a route to the ClusterIP
# before the output hook's DNAT runs; a real node has its default route.
in_node ip route add default via "$EXT_IP"
expect_only node 60 "$VIP" 80 -- pod-a pod-b pod-c
expect_only node 60 "$VIP" 53 --udp -- pod-a pod-b pod-c

log "ok"
