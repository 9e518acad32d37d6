#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Scaling 3 -> 2 -> 1 -> 3 endpoints while clients open new connections continuously
# (TCP and UDP to the ClusterIP, TCP to the NodePort): not one attempt fails, and after
# each apply only the current endpoints answer new connections.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

VIP=198.18.0.60
NP=30600
DURATION=6000	# ms of background traffic

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2

declare -A IP=([pod-a]=198.19.1.2 [pod-b]=198.19.2.2 [pod-c]=198.19.3.2)

# scale_to POD...: the Service with those pods as its endpoints, applied.
scale_to()
{
	local p addrs=

	for p in "$@"; do
		addrs+="${addrs:+, }{ip: ${IP[$p]}}"
	done
	cat >"$WORK/scaled.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: scaled, namespace: default}
spec:
  type: NodePort
  clusterIP: $VIP
  ports:
  - {name: http, protocol: TCP, port: 80, nodePort: $NP}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353}
---
apiVersion: v1
kind: Endpoints
metadata: {name: scaled, namespace: default}
subsets:
- addresses: [$addrs]
  ports:
  - {name: http, port: 80, protocol: TCP}
  - {name: dns, port: 5353, protocol: UDP}
YAML
	out=$(sn_apply -f "$WORK/scaled.yaml")
	log "scaled to $*: $out"
}

# only POD...: new connections from the client reach exactly these pods (ClusterIP TCP
# and UDP, NodePort). Each check comes from a source address of its own, so that it
# tests the DNAT alone: a UDP socket whose ephemeral port an earlier check's flow (still
# in conntrack) happened to use would be sent where that flow went, unless svcnat deleted
# that entry, which 32-udp-stale-endpoint.sh tests.
SRC_SEQ=100
only()
{
	local n=$((40 * $#)) src=203.0.113.$((SRC_SEQ++))

	in_client ip addr add "$src/24" dev eth0
	expect_only client "$n" "$VIP" 80 --bind "$src" -- "$@"
	expect_only client "$n" "$VIP" 53 --udp --bind "$src" -- "$@"
	expect_only client "$n" "$NODE_CLIENT_IP" "$NP" --bind "$src" -- "$@"
}

scale_to pod-a pod-b pod-c
only pod-a pod-b pod-c

log "background: new connections every 10 ms for $DURATION ms (TCP, UDP, NodePort)"
declare -A bg=()
in_client "$CONN_CLIENT" --duration "$DURATION" --interval 10 -n 2 "$VIP" 80 \
	>"$WORK/bg-tcp" 2>&1 &
bg[tcp]=$!
in_client "$CONN_CLIENT" --udp --duration "$DURATION" --interval 10 -n 2 "$VIP" 53 \
	>"$WORK/bg-udp" 2>&1 &
bg[udp]=$!
in_client "$CONN_CLIENT" --duration "$DURATION" --interval 10 -n 2 "$NODE_CLIENT_IP" "$NP" \
	>"$WORK/bg-np" 2>&1 &
bg[np]=$!
start=$SECONDS

sleep 0.5
scale_to pod-a pod-b
only pod-a pod-b
sleep 0.5
scale_to pod-b
only pod-b
sleep 0.5
scale_to pod-a pod-b pod-c
only pod-a pod-b pod-c
[ $((SECONDS - start)) -lt $((DURATION / 1000)) ] ||
	fail "the scaling steps took longer than the background traffic ($DURATION ms)"

for kind in tcp udp np; do
	wait "${bg[$kind]}" || true
	out=$(cat "$WORK/bg-$kind")
	log "background $kind: $(tr '\n' ' ' <<<"$out")"
	total=$(cc_get "$out" total)
	[ "$total" -ge 1000 ] || fail "background $kind: only $total attempts"
	for k in refused timeout failed; do
		assert_eq 0 "$(cc_get "$out" "$k")" "background $kind: $k attempts"
	done
	answered=$(awk '$1 == "answer" { s += $3 } END { print s + 0 }' <<<"$out")
	assert_eq "$total" "$answered" "background $kind: answered attempts"
done
log "ok"
