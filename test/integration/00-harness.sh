#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Self-test of the kernel test harness (test/lib/netns.sh, echo-server, conn-client),
# without svcnat: a hand-written nft DNAT in the node namespace must spread client
# connections to a "Service" address over two pods, uniformly.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"

VIP=198.18.0.10

require_root_netns
require_tools
topo_create
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
ext_server_start outside 80

log "direct paths: client -> pods (IPv4, IPv6), client -> ext"
out=$(in_client "$CONN_CLIENT" -n 20 "$(pod_ip pod-a)" 80) || fail "client -> pod-a: $out"
assert_eq 20 "$(cc_get "$out" answer pod-a)" "answers from pod-a"
out=$(in_client "$CONN_CLIENT" --udp -n 20 "$(pod_ip6 pod-b)" 5353) ||
	fail "client -> pod-b over IPv6: $out"
assert_eq 20 "$(cc_get "$out" answer pod-b)" "answers from pod-b over IPv6"
out=$(in_client "$CONN_CLIENT" -n 5 "$EXT_IP" 80) || fail "client -> ext: $out"
assert_eq 5 "$(cc_get "$out" answer outside)" "answers from ext"

log "conn-client counts refusals and timeouts"
out=$(in_client "$CONN_CLIENT" -n 3 "$(pod_ip pod-a)" 9) && fail "port 9 answered: $out"
assert_eq 3 "$(cc_get "$out" refused)" "TCP refusals"
out=$(in_client "$CONN_CLIENT" --udp -n 3 "$(pod_ip pod-a)" 9) && fail "UDP 9 answered: $out"
assert_eq 3 "$(cc_get "$out" refused)" "UDP refusals (ICMP port unreachable)"
out=$(in_client "$CONN_CLIENT" --timeout 300 -n 2 198.19.99.99 80) && fail "nobody answered: $out"
assert_eq 2 "$(cc_get "$out" timeout)" "timeouts to an absent address"

log "chi-square helper"
chi_square_uniform 200 200 >/dev/null || fail "chi_square_uniform rejects 200 200"
chi_square_uniform 100 100 100 100 100 100 100 100 100 100 100 130 >/dev/null ||
	fail "chi_square_uniform rejects a near-uniform 12-way split"
! chi_square_uniform 300 100 >/dev/null || fail "chi_square_uniform accepts 300 100"

log "DNAT $VIP:80 to two pods with numgen random"
in_node nft -f - <<EOF
table ip harness_selftest {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $VIP meta l4proto { tcp, udp } th dport 80 \
			dnat to numgen random mod 2 map { 0 : $(pod_ip pod-a), 1 : $(pod_ip pod-b) }
	}
}
EOF

for proto in tcp udp; do
	opt=()
	[ "$proto" = udp ] && opt=(--udp)
	out=$(in_client "$CONN_CLIENT" "${opt[@]}" -n 400 -c 50 "$VIP" 80) ||
		fail "$proto via DNAT: not every attempt was answered: ${out//$'\n'/, }"
	a=$(cc_get "$out" answer pod-a) b=$(cc_get "$out" answer pod-b)
	log "$proto: pod-a $a, pod-b $b"
	assert_eq 400 "$((a + b))" "$proto answers from the two pods"
	if [ "$a" -eq 0 ] || [ "$b" -eq 0 ]; then
		fail "$proto: a pod got no connections"
	fi
	chi_square_uniform "$a" "$b" || fail "$proto: connections are not spread uniformly"
done

log "UDP from one source port sticks to one pod (conntrack)"
out=$(in_client "$CONN_CLIENT" --udp --same-socket -n 50 "$VIP" 80) || fail "same-socket: $out"
assert_eq 50 "$(cc_answers "$out")" "answer counts (one pod answers every datagram)"
assert_eq 50 "$(cc_get "$out" total)" "same-socket datagrams"

log "--duration keeps connecting"
out=$(in_client "$CONN_CLIENT" --duration 1000 --interval 10 -n 4 "$VIP" 80) ||
	fail "duration run: ${out//$'\n'/, }"
total=$(cc_get "$out" total)
[ "$total" -ge 300 ] || fail "duration run made only $total connections"

log "pod_del removes the pod"
pod_del pod-b
ns=$(netns_of pod-pod-b)
! grep -q "^$ns\b" <<<"$(ip netns list)" || fail "namespace $ns still exists"
out=$(in_client "$CONN_CLIENT" --timeout 300 -n 2 198.19.2.2 80) && fail "pod-b answered: $out"

log "topo_destroy leaves nothing behind"
topo_destroy
topo_destroy
left=$(ip netns list | grep -c "^$NETNS_PREFIX" || true)
assert_eq 0 "$left" "namespaces left after topo_destroy"
log "ok"
