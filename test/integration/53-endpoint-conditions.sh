#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Endpoint conditions. EndpointSlice: only ready endpoints serve (a missing ready means
# ready; not-ready, and serving+terminating ones while a ready one exists, do not); with
# no ready endpoint, the serving+terminating ones serve (fallback), but not terminating
# ones that are not serving, nor not-ready ones that are not terminating; slices of a
# service are merged before the fallback is decided; with none usable, connections are
# refused. publishNotReadyAddresses: true makes not-ready endpoints serve. Endpoints:
# notReadyAddresses never serve. Then an endpoint turning ready takes over from the
# terminating ones. TCP and UDP.
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
pod_add pod-d 198.19.4.2

# svc NAME N [publishNotReadyAddresses]: a ClusterIP service 198.18.0.N, TCP 80 and UDP 53.
svc()
{
	cat <<EOM
---
apiVersion: v1
kind: Service
metadata: {name: $1}
spec:
  clusterIP: 198.18.0.$2
  publishNotReadyAddresses: ${3:-false}
  ports:
  - {name: http, protocol: TCP, port: 80}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353}
EOM
}

# slice SERVICE NAME "IP CONDITIONS" ...: an EndpointSlice; CONDITIONS a flow mapping or -.
slice()
{
	local s=$1 n=$2 e

	shift 2
	cat <<EOM
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $n, labels: {kubernetes.io/service-name: $s}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}, {name: dns, protocol: UDP, port: 5353}]
endpoints:
EOM
	for e in "$@"; do
		if [ "${e#* }" = - ]; then
			echo "- addresses: [${e% *}]"
		else
			echo "- {addresses: [${e%% *}], conditions: ${e#* }}"
		fi
	done
}

# eps NAME READY NOTREADY: an Endpoints object; READY and NOTREADY flow lists of {ip: }.
eps()
{
	cat <<EOM
---
apiVersion: v1
kind: Endpoints
metadata: {name: $1}
subsets:
- addresses: $2
  notReadyAddresses: $3
  ports: [{name: http, port: 80}, {name: dns, protocol: UDP, port: 5353}]
EOM
}

A=198.19.1.2 B=198.19.2.2 C=198.19.3.2 D=198.19.4.2
NOTREADY='{ready: false, serving: false, terminating: false}'
TERM_SERVING='{ready: false, serving: true, terminating: true}'
TERM_GONE='{ready: false, serving: false, terminating: true}'

manifest()
{
	local fb_b=$1

	svc ready 71
	slice ready ready-1 "$A {ready: true}" "$B {ready: false}" "$C -" "$D $TERM_SERVING"
	svc fallback 72
	slice fallback fallback-1 "$A $TERM_SERVING" "$B $fb_b" "$C $TERM_GONE" "$D $NOTREADY"
	svc merged 73
	slice merged merged-1 "$A $TERM_SERVING" "$B $TERM_SERVING"
	slice merged merged-2 "$C {ready: true, serving: true, terminating: false}"
	svc none 74
	slice none none-1 "$A $NOTREADY" "$B $TERM_GONE"
	svc pna 75 true
	slice pna pna-1 "$A {ready: false}" "$B $TERM_GONE" "$C $NOTREADY"
	svc eps 76
	eps eps "[{ip: $A}, {ip: $B}]" "[{ip: $C}, {ip: $D}]"
	svc eps-none 77
	eps eps-none "[]" "[{ip: $A}]"
}

both() # both N -- PODS...: TCP and UDP to 198.18.0.N from the client reach exactly PODS
{
	local ip=198.18.0.$1

	shift 2
	expect_only client 90 "$ip" 80 -- "$@"
	expect_only client 90 "$ip" 53 --udp -- "$@"
}

refused() # refused N: TCP and UDP to 198.18.0.N are refused at once
{
	local out

	run_cc client out --timeout 1000 -n 3 "198.18.0.$1" 80 && fail "198.18.0.$1:80 answered: $out"
	assert_eq 3 "$(cc_get "$out" refused)" "TCP refusals on 198.18.0.$1 (${out//$'\n'/, })"
	run_cc client out --udp --timeout 1000 -n 3 "198.18.0.$1" 53 && fail "198.18.0.$1:53 answered: $out"
	assert_eq 3 "$(cc_get "$out" refused)" "UDP refusals on 198.18.0.$1 (${out//$'\n'/, })"
}

manifest "$TERM_SERVING" >"$WORK/m.yaml"
sn_apply -f "$WORK/m.yaml" >/dev/null

log "ready: ready and condition-less endpoints only (not the not-ready, not the terminating)"
both 71 -- pod-a pod-c
log "fallback: no ready endpoint: the serving terminating ones"
both 72 -- pod-a pod-b
log "merged: a ready endpoint in another slice: no fallback"
both 73 -- pod-c
log "none: nothing ready or serving: refused"
refused 74
log "publishNotReadyAddresses: every endpoint serves"
both 75 -- pod-a pod-b pod-c
log "Endpoints: notReadyAddresses never serve"
both 76 -- pod-a pod-b
refused 77

log "pod-b of fallback turns ready: it alone serves"
manifest '{ready: true, serving: true, terminating: false}' >"$WORK/m.yaml"
sn_apply -f "$WORK/m.yaml" >/dev/null
both 72 -- pod-b
log "and back to terminating: the fallback again"
manifest "$TERM_SERVING" >"$WORK/m.yaml"
sn_apply -f "$WORK/m.yaml" >/dev/null
both 72 -- pod-a pod-b
log "ok"
