#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Services svcnat leaves alone: headless (clusterIP: None), ExternalName, one labelled
# service.kubernetes.io/service-proxy-name: other and one labelled
# service.kubernetes.io/headless, each with endpoints. The compiled script and the
# kernel's table mention none of them and allocate nothing for them (describe says
# why); traffic to the proxy-name service's clusterIP and nodePort, and to the labelled
# headless one's clusterIP, is not answered by a pod; a normal service next to them
# works, and removing the label brings the proxy-name service to life.
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

# manifest PROXY-LABEL: PROXY-LABEL is the labels mapping of the proxy-name service
manifest()
{
	local n

	cat <<EOM
apiVersion: v1
kind: Service
metadata: {name: normal}
spec:
  clusterIP: 198.18.0.91
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: headless-none}
spec:
  clusterIP: None
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: extname}
spec:
  type: ExternalName
  externalName: www.example.com
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: proxied-elsewhere, labels: $1}
spec:
  type: NodePort
  clusterIP: 198.18.0.92
  ports: [{name: http, port: 80, nodePort: 30092}]
---
apiVersion: v1
kind: Service
metadata: {name: labelled-headless, labels: {service.kubernetes.io/headless: ""}}
spec:
  clusterIP: 198.18.0.93
  ports: [{name: http, port: 80}]
EOM
	for n in normal headless-none extname proxied-elsewhere labelled-headless; do
		cat <<EOM
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $n-1, labels: {kubernetes.io/service-name: $n}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}]
endpoints: [{addresses: [198.19.1.2]}, {addresses: [198.19.2.2]}]
EOM
	done
}

out=''
IGNORED='headless-none|extname|proxied-elsewhere|labelled-headless'
manifest '{service.kubernetes.io/service-proxy-name: other}' >"$WORK/m.yaml"

log "compile: no trace of the ignored services"
script=$(sn compile -f "$WORK/m.yaml" 2>"$WORK/compile.err") ||
	fail "compile: $(cat "$WORK/compile.err")"
grep -q 'default/normal:http' <<<"$script" || fail "compile: no element for default/normal"
if grep -E "$IGNORED|198\.18\.0\.9[23]|30092" <<<"$script"; then
	fail "the compiled script mentions an ignored service (above)"
fi

log "apply; describe says why each ignored service has no rules"
sn_apply -f "$WORK/m.yaml" >/dev/null
for n in headless-none extname proxied-elsewhere labelled-headless; do
	d=$(sn describe service "$n" 2>&1) || fail "describe service $n: $d"
	why=$(awk '$1 == "svcnat:" { $1 = ""; sub(/^ +/, ""); print }' <<<"$d")
	log "$n: $why"
	[ -n "$why" ] || fail "describe service $n gives no reason: $d"
done
case $(sn describe service proxied-elsewhere) in
*"proxy 'other'"*) ;;
*) fail "describe service proxied-elsewhere does not name the proxy 'other'" ;;
esac
in_node nft list table ip svcnat >"$WORK/table" || fail "no table ip svcnat"
if grep -E "$IGNORED|198\.18\.0\.9[23]|30092" "$WORK/table"; then
	fail "the kernel's table mentions an ignored service (above)"
fi
if grep -E "$IGNORED" "$STATE/allocations" 2>/dev/null; then
	fail "something was allocated for an ignored service (above)"
fi

log "the normal service works"
expect_only client 60 198.18.0.91 80 -- pod-a pod-b
log "the proxy-name service's clusterIP, nodePort and the labelled headless clusterIP: no pod answers"
for t in "198.18.0.92 80" "198.18.0.93 80" "$NODE_CLIENT_IP 30092"; do
	# shellcheck disable=SC2086
	run_cc client out --timeout 400 -n 3 $t && fail "$t answered: $out"
	assert_eq 0 "$(awk '$1 == "answer"' <<<"$out" | wc -l)" "answers on $t (${out//$'\n'/, })"
	log "$t: $(tr '\n' ' ' <<<"$out")"
done

log "without the service-proxy-name label it is served"
manifest '{app: web}' >"$WORK/m.yaml"
sn_apply -f "$WORK/m.yaml" >/dev/null
expect_only client 40 198.18.0.92 80 -- pod-a pod-b
expect_only client 40 "$NODE_CLIENT_IP" 30092 -- pod-a pod-b
log "and with it again it is gone"
manifest '{service.kubernetes.io/service-proxy-name: other}' >"$WORK/m.yaml"
sn_apply -f "$WORK/m.yaml" >/dev/null
run_cc client out --timeout 400 -n 3 198.18.0.92 80 && fail "198.18.0.92:80 still answered: $out"
grep -q proxied-elsewhere <<<"$(in_node nft list table ip svcnat)" && fail "proxied-elsewhere is left in the table"
expect_only client 20 198.18.0.91 80 -- pod-a pod-b
log "ok"
