#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Stale UDP conntrack entries: a client that keeps sending from one source port
# (DNS-like, every 100 ms) is pinned by conntrack to one endpoint. When that
# endpoint leaves the service (and its pod goes), svcnat deletes the stale
# entries after its commit, so the next datagrams reach a live endpoint at once
# instead of vanishing until the entry expires (30 s and more).
set -u
. "$(dirname "$0")/../lib/netns.sh"
require_root_netns
require_tools
topo_create

work=$(mktemp -d /tmp/svcnat-ct.XXXXXX) || fail "mktemp"
at_exit 'rm -rf "$work"'
pod_add dns-a 198.19.1.2 - 5353
pod_add dns-b 198.19.2.2 - 5353

manifest() {
	cat > "$work/m.yaml" <<EOM
apiVersion: v1
kind: Service
metadata: {name: dns}
spec:
  clusterIP: 198.18.0.80
  ports: [{name: dns, protocol: UDP, port: 53, targetPort: 5353}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: dns}
subsets: [{addresses: [$1], ports: [{name: dns, protocol: UDP, port: 5353}]}]
EOM
}
svcnat() { in_node "$SVCNAT" -v --service-cidr "$SVC_CIDR" --state-dir "$work/state" --lock-file "$work/lock" "$@"; }

# dns-a alone at first, so the client's flow is pinned to it.
manifest "{ip: 198.19.1.2}"
svcnat apply -f "$work/m.yaml" >/dev/null || fail "first apply"

# 60 datagrams, one every 100 ms, all from one socket (one source port).
in_client "$CONN_CLIENT" --udp --same-socket -n 1 --duration 6000 --interval 100 --timeout 300 198.18.0.80 53 \
	> "$work/client.out" &
client=$!
sleep 1.5
# dns-a goes, dns-b comes: the client's conntrack entry still points at dns-a.
manifest "{ip: 198.19.2.2}"
pod_del dns-a
out=$(svcnat apply -f "$work/m.yaml" 2>&1) || fail "second apply: $out"
log "$out"
wait "$client"
res=$(cat "$work/client.out")
log "client: $(echo "$res" | tr '\n' ' ')"
timeouts=$(cc_get "$res" timeout)
total=$(cc_get "$res" total)
[ "$total" -ge 50 ] || fail "the client sent only $total datagrams"
# At most the few datagrams in flight while the endpoint went may be lost; without the
# cleanup every datagram after it would be (about 45 of them).
[ "$timeouts" -le 5 ] || fail "$timeouts of $total datagrams lost: the stale conntrack entry was not deleted"
[ "$(cc_get "$res" answer dns-a)" -ge 10 ] || fail "dns-a did not answer first: $res"
[ "$(cc_get "$res" answer dns-b)" -ge 35 ] || fail "dns-b did not take over: $res"
log "ok: $timeouts of $total datagrams lost across the endpoint's removal"
