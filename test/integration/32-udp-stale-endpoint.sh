#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Stale UDP flows (svcnat(8)): a UDP flow to an endpoint that goes away must move to a
# current endpoint. After the apply that replaces pod-a by pod-b, datagrams that one
# client socket keeps sending to the ClusterIP (the same 5-tuple, so the same conntrack
# entry) must reach pod-b: svcnat deletes the conntrack entries of UDP flows to removed
# endpoints after its commit, as kube-proxy does. Without that, the flow stays on the
# removed endpoint until its entry expires (and a new socket that happens to reuse the
# port of such a flow is sent there too). svcnat before d76a3f5 failed this.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

VIP=198.18.0.90

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2

# endpoints IP: the service with that one endpoint, applied
endpoints()
{
	cat >"$WORK/svc.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: default}
spec:
  clusterIP: $VIP
  ports:
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353}
---
apiVersion: v1
kind: Endpoints
metadata: {name: dns, namespace: default}
subsets:
- addresses: [{ip: $1}]
  ports:
  - {name: dns, port: 5353, protocol: UDP}
YAML
	sn_apply -f "$WORK/svc.yaml" >/dev/null
}

endpoints 198.19.1.2
log "one socket sends to $VIP:53 every 20 ms for 3 s; pod-a is replaced by pod-b after 1 s"
t0=$(date +%s%N)
in_client "$CONN_CLIENT" --udp --same-socket --duration 3000 --interval 20 "$VIP" 53 \
	>"$WORK/flow" 2>&1 &
flow=$!
sleep 1
endpoints 198.19.2.2
applied_ms=$((($(date +%s%N) - t0) / 1000000))
log "new sockets after the apply reach pod-b"
expect_only client 20 "$VIP" 53 --udp -- pod-b
wait "$flow" || true
out=$(cat "$WORK/flow")
log "the long-lived flow: $(tr '\n' ' ' <<<"$out")"
a=$(cc_get "$out" answer pod-a) b=$(cc_get "$out" answer pod-b)
[ "$a" -gt 0 ] || fail "the flow never reached pod-a before the apply: $out"
[ "$b" -gt 0 ] ||
	fail "the UDP flow stayed on the removed endpoint pod-a for all its $a datagrams" \
		"(~$((a * 20 - 1000)) ms after the apply): its conntrack entry was not deleted"
# Datagrams are 20 ms apart: pod-a may answer those sent before the apply returned, and
# a few more (the client's start-up, rounding), no more.
[ "$a" -le $((applied_ms / 20 + 10)) ] ||
	fail "pod-a answered $a of the flow's datagrams, the apply returned after $applied_ms ms:" \
		"the flow moved late"
log "ok"
