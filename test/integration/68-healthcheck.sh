#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# svcnat healthcheck, kube-proxy's service health server, in the node namespace, asked
# over HTTP from the client namespace at the node's address (and from the node over IPv6
# loopback), as node-1:
#  - web (externalTrafficPolicy Local, endpoints pod-a and pod-b on node-1, pod-c on
#    node-2): 200, X-Load-Balancing-Endpoint-Weight 2 and kube-proxy's JSON body;
#  - remote (its only endpoint on node-2): 503, localEndpoints 0;
#  - svcnat describe shows each service's HealthCheck NodePort and what it answers;
#  - web again with pod-a and pod-b terminating (serving) and pod-c ready: 503, while the
#    nodePort still reaches pod-a and pod-b (the e2e test "should fail health check node
#    port if there are only terminating endpoints"); then ready again: 200. Each answer
#    changes within a few seconds of the apply, without a signal;
#  - a record that is not JSON: an error, and the answers stay as they were;
#  - svcnat delete: the ports close (connection refused);
#  - SIGTERM: the server exits 0 at once;
#  - out of file descriptors, connections wait without the server spinning on them,
#    and it answers again once they close;
#  - with nodePortAddresses, only connections to those addresses are answered.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2
SN_OPTS=(--hostname-override node-1)

# service NAME N: a Local-policy LoadBalancer service 198.18.0.N, health check port 320N,
# nodePort 300N, and the head of its slice (the endpoints follow).
service()
{
	cat <<EOM
---
apiVersion: v1
kind: Service
metadata: {name: $1, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 198.18.0.$2
  externalTrafficPolicy: Local
  healthCheckNodePort: 320$2
  ports: [{name: http, protocol: TCP, port: 80, nodePort: 300$2}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $1-1, namespace: shop, labels: {kubernetes.io/service-name: $1}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}]
endpoints:
EOM
}

# manifests READY-ON-NODE-1: web's node-1 endpoints ready (true) or terminating (false).
manifests()
{
	local ready=$1 term=false

	[ "$ready" = true ] || term=true
	service web 70
	echo "- {addresses: [198.19.1.2], nodeName: node-1, conditions: {ready: $ready, serving: true, terminating: $term}}"
	echo "- {addresses: [198.19.2.2], nodeName: node-1, conditions: {ready: $ready, serving: true, terminating: $term}}"
	echo "- {addresses: [198.19.3.2], nodeName: node-2}"
	service remote 71
	echo "- {addresses: [198.19.3.2], nodeName: node-2}"
}

apply_as_node1()
{
	manifests "$1" >"$WORK/m.yaml"
	sn_apply -f "$WORK/m.yaml" >/dev/null
}

# get WHERE HOST PORT: the whole HTTP answer (CRs removed), or nothing when refused.
get()
{
	local where=$1 host=$2 port=$3

	"in_$where" timeout 5 bash -c '
		exec 3<>"/dev/tcp/$0/$1" || exit 1
		printf "GET /healthz HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: svcnat-test\r\n\r\n" "$0" "$1" >&3
		cat <&3' "$host" "$port" 2>/dev/null | tr -d '\r'
}

status_of() { get "$@" | sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p'; }
has_status() { [ "$(status_of "$1" "$2" "$3")" = "$4" ]; }

# expect WHERE HOST PORT STATUS WEIGHT BODY: waits up to 5 s for STATUS, then checks it all.
expect()
{
	local where=$1 host=$2 port=$3 status=$4 weight=$5 body=$6 out

	wait_for 5 has_status "$where" "$host" "$port" "$status" ||
		fail "$where -> $host:$port: no $status within 5 s: $(get "$where" "$host" "$port")"
	out=$(get "$where" "$host" "$port")
	grep -qx "Content-Type: application/json" <<<"$out" || fail "$host:$port: content type: $out"
	grep -qx "X-Content-Type-Options: nosniff" <<<"$out" || fail "$host:$port: nosniff: $out"
	grep -qx "X-Load-Balancing-Endpoint-Weight: $weight" <<<"$out" || fail "$host:$port: weight $weight: $out"
	assert_eq "$body" "$(tail -n 1 <<<"$out")" "$where -> $host:$port: body"
}

body() { printf '{"service":{"namespace":"shop","name":"%s"},"localEndpoints":%s,"serviceProxyHealthy":true}' "$1" "$2"; }

apply_as_node1 true
# Not in_node: $! must be the server itself (ip netns exec execs it), not a subshell.
ip netns exec "$NS_NODE" "$SVCNAT" -c "$SVCNAT_CONF" --state-dir "$STATE" -v healthcheck 2>"$WORK/hc.log" &
HC=$!
at_exit "kill $HC 2>/dev/null"
wait_for 5 has_status client "$NODE_CLIENT_IP" 32070 200 ||
	fail "the server does not answer on $NODE_CLIENT_IP:32070: $(cat "$WORK/hc.log")"

log "local ready endpoints: 200 with their count, from the client and over IPv6 on the node"
expect client "$NODE_CLIENT_IP" 32070 200 2 "$(body web 2)"
expect node ::1 32070 200 2 "$(body web 2)"
log "no local endpoint: 503"
expect client "$NODE_CLIENT_IP" 32071 503 0 "$(body remote 0)"
log "svcnat describe shows the port and the answer"
d=$(sn describe service web -n shop)
assert_match $'HealthCheck NodePort: +32070\nLocal Endpoints: +2 ready on this node \(svcnat healthcheck answers 200\)' \
	"$d" "describe service web"
assert_match 'Local Endpoints: +0 ready on this node \(svcnat healthcheck answers 503\)' \
	"$(sn describe service remote -n shop)" "describe service remote"

log "only terminating local endpoints: 503, while the nodePort still serves them"
apply_as_node1 false
expect client "$NODE_CLIENT_IP" 32070 503 0 "$(body web 0)"
expect_only client 40 "$NODE_CLIENT_IP" 30070 -- pod-a pod-b
log "ready again: 200"
apply_as_node1 true
expect client "$NODE_CLIENT_IP" 32070 200 2 "$(body web 2)"

log "a record that is not JSON: an error, the answers stay"
cp "$STATE/services.json" "$WORK/services.json"
echo 'not json' >"$STATE/services.json.new" && mv "$STATE/services.json.new" "$STATE/services.json"
wait_for 5 grep -q "cannot read .*services.json" "$WORK/hc.log" || fail "no error for a bad record: $(cat "$WORK/hc.log")"
expect client "$NODE_CLIENT_IP" 32070 200 2 "$(body web 2)"
mv "$WORK/services.json" "$STATE/services.json"

log "svcnat delete: the ports close"
out=$(sn delete 2>&1) || fail "svcnat delete: $out"
wait_for 5 eval '! in_client timeout 2 bash -c "exec 3<>/dev/tcp/$NODE_CLIENT_IP/32070" 2>/dev/null' ||
	fail "port 32070 still open after svcnat delete"
wait_for 5 eval '! in_client timeout 2 bash -c "exec 3<>/dev/tcp/$NODE_CLIENT_IP/32071" 2>/dev/null' ||
	fail "port 32071 still open after svcnat delete"

log "SIGTERM: exit 0"
kill -TERM "$HC"
rc=0
timeout 5 tail --pid="$HC" -f /dev/null || fail "the server did not exit within 5 s of SIGTERM"
wait "$HC" || rc=$?
assert_eq 0 "$rc" "exit status after SIGTERM"
grep -q "health checks stopped" "$WORK/hc.log" || fail "no closing line: $(cat "$WORK/hc.log")"

log "out of file descriptors (a hard limit of 8): no busy loop, and it serves again once connections close"
apply_as_node1 true
ip netns exec "$NS_NODE" prlimit --nofile=8:8 "$SVCNAT" -c "$SVCNAT_CONF" --state-dir "$STATE" healthcheck \
	2>"$WORK/hc2.log" &
HC=$!
at_exit "kill $HC 2>/dev/null"
wait_for 5 has_status client "$NODE_CLIENT_IP" 32070 200 || fail "the limited server does not answer: $(cat "$WORK/hc2.log")"
holders=()
for i in 1 2 3 4 5 6; do
	in_client bash -c 'exec 3<>"/dev/tcp/$0/32070"; sleep 4' "$NODE_CLIENT_IP" 2>/dev/null &
	holders+=($!)
done
sleep 1.5
t0=$(awk '{ print $14 + $15 }' "/proc/$HC/stat")
sleep 1
t1=$(awk '{ print $14 + $15 }' "/proc/$HC/stat")
[ $((t1 - t0)) -le 20 ] || fail "the server used $((t1 - t0)) ticks of CPU in 1 s while out of descriptors"
for p in "${holders[@]}"; do wait "$p" || true; done
expect client "$NODE_CLIENT_IP" 32070 200 2 "$(body web 2)"
kill -TERM "$HC"
wait "$HC" || fail "the limited server exited $?"

log "with nodePortAddresses 203.0.113.0/24: answered at $NODE_CLIENT_IP, not at $NODE_EXT_IP"
ip netns exec "$NS_NODE" "$SVCNAT" -c "$SVCNAT_CONF" --state-dir "$STATE" --node-port-addresses 203.0.113.0/24 \
	healthcheck 2>"$WORK/hc3.log" &
HC=$!
at_exit "kill $HC 2>/dev/null"
expect client "$NODE_CLIENT_IP" 32070 200 2 "$(body web 2)"
out=$(get ext "$NODE_EXT_IP" 32070 || true)	# closed unanswered: the request write may get EPIPE
[ -z "$out" ] || fail "answered at $NODE_EXT_IP, outside nodePortAddresses: $out"
kill -TERM "$HC"
wait "$HC" || fail "the server exited $?"
log "ok"
