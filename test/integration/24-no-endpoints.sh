#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Service ports without ready endpoints: a new connection is refused at once (TCP
# reset, ICMP port unreachable for UDP) on the ClusterIP, an external IP, a
# load-balancer IP and the NodePort, whether the Endpoints is empty, lists only
# not-ready addresses, or is missing. Endpoints that are serving and terminating are
# used when no endpoint is ready. Then endpoints appear (answered), and go again
# (refused again).
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
# The node sends many ICMP port unreachables to one client here; the kernel's default
# per-destination limit (a burst of 6, then one a second) would swallow most of them.
in_node sysctl -qw net.ipv4.icmp_ratelimit=0

# manifests ENDPOINTS-OF-empty ...: writes $WORK/m/all.yaml. $1 is the address list of
# the Endpoints of "empty" (YAML flow sequence, [] for none).
manifests()
{
	mkdir -p "$WORK/m"
	cat >"$WORK/m/all.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: ne}
spec:
  type: LoadBalancer
  clusterIP: 198.18.0.50
  externalIPs: [192.0.2.50]
  ports:
  - {name: http, protocol: TCP, port: 80, nodePort: 30500}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353, nodePort: 30501}
status:
  loadBalancer:
    ingress: [{ip: 192.0.2.51}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: empty, namespace: ne}
subsets:
- addresses: $1
  notReadyAddresses: [{ip: 198.19.2.2}]
  ports:
  - {name: http, port: 80, protocol: TCP}
  - {name: dns, port: 5353, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: missing, namespace: ne}
spec:
  clusterIP: 198.18.0.51
  ports:
  - {protocol: TCP, port: 80}
---
apiVersion: v1
kind: Service
metadata: {name: terminating, namespace: ne}
spec:
  clusterIP: 198.18.0.52
  ports:
  - {name: http, protocol: TCP, port: 80}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: terminating-1
  namespace: ne
  labels: {kubernetes.io/service-name: terminating}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}]
endpoints:
- addresses: [198.19.1.2]
  conditions: {ready: false, serving: true, terminating: true}
- addresses: [198.19.2.2]
  conditions: {ready: false, serving: false, terminating: true}
YAML
}

# refused_fast WHERE HOST PORT [--udp]: 3 attempts, all refused, within 500 ms in all
# (the timeout is 1000 ms, so a dropped packet would take at least that long).
refused_fast()
{
	local where=$1 host=$2 port=$3 start ms out

	shift 3
	start=$(date +%s%N)
	run_cc "$where" out "$@" --timeout 1000 -n 3 "$host" "$port" &&
		fail "$host:$port $*: answered: ${out//$'\n'/, }"
	ms=$((($(date +%s%N) - start) / 1000000))
	assert_eq 3 "$(cc_get "$out" refused)" "$host:$port $*: refusals (${out//$'\n'/, })"
	[ "$ms" -lt 500 ] || fail "$host:$port $*: refusals took $ms ms"
}

check_refused()
{
	local ip

	for ip in 198.18.0.50 192.0.2.50 192.0.2.51; do
		refused_fast client "$ip" 80
		refused_fast client "$ip" 53 --udp
	done
	refused_fast client "$NODE_CLIENT_IP" 30500
	refused_fast client "$NODE_CLIENT_IP" 30501 --udp
	refused_fast client 198.18.0.51 80
	refused_fast pod:pod-a 198.18.0.50 80
	refused_fast pod:pod-a 198.18.0.50 53 --udp
}

log "no ready endpoints (only a not-ready address); a Service without Endpoints"
manifests '[]'
sn_apply -f "$WORK/m" >/dev/null
check_refused
log "serving, terminating endpoints are used when none is ready"
expect_only client 30 198.18.0.52 80 -- pod-a

log "an endpoint becomes ready"
manifests '[{ip: 198.19.1.2}]'
sn_apply -f "$WORK/m" >/dev/null
for ip in 198.18.0.50 192.0.2.50 192.0.2.51; do
	expect_only client 10 "$ip" 80 -- pod-a
	expect_only client 10 "$ip" 53 --udp -- pod-a
done
expect_only client 10 "$NODE_CLIENT_IP" 30500 -- pod-a
expect_only client 10 "$NODE_CLIENT_IP" 30501 --udp -- pod-a

log "and goes again"
manifests '[]'
sn_apply -f "$WORK/m" >/dev/null
check_refused
log "ok"
