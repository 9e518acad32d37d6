#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# loadBalancerSourceRanges on a dual-stack LoadBalancer service (ingress 192.0.2.80 and
# 2001:db8:2::80): a source inside the ranges is served, one outside is dropped (a
# timeout, not a refusal), TCP and UDP, over both families; the ranges change with each
# apply (client's /24, then ext's /24, then host ranges, then a /25 without the client,
# then none). The ClusterIP, the external IP and the NodePort are not subject to the
# ranges (as kube-proxy), and another LoadBalancer service on the same port is not
# affected.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

# shellcheck disable=SC2034  # used by sn
SERVICE_CIDRS=$SVC_CIDR,$SVC_CIDR6
LB=192.0.2.80
LB6=2001:db8:2::80
OTHER=192.0.2.82

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2

# manifest RANGES: RANGES a flow sequence body (may be empty: no field at all)
manifest()
{
	local ranges=''

	[ -n "$1" ] && ranges="loadBalancerSourceRanges: [$1]"
	cat >"$WORK/m.yaml" <<EOM
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  clusterIPs: [198.18.0.80, "2001:db8:18::80"]
  externalIPs: [192.0.2.81]
  $ranges
  ports:
  - {name: http, protocol: TCP, port: 80, nodePort: 30080}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353, nodePort: 30081}
status: {loadBalancer: {ingress: [{ip: $LB}, {ip: "$LB6"}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: lb-v4, labels: {kubernetes.io/service-name: lb}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}, {name: dns, protocol: UDP, port: 5353}]
endpoints: [{addresses: [198.19.1.2]}, {addresses: [198.19.2.2]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: lb-v6, labels: {kubernetes.io/service-name: lb}}
addressType: IPv6
ports: [{name: http, protocol: TCP, port: 80}, {name: dns, protocol: UDP, port: 5353}]
endpoints: [{addresses: ["2001:db8:19::1:2"]}, {addresses: ["2001:db8:19::2:2"]}]
---
apiVersion: v1
kind: Service
metadata: {name: other}
spec:
  type: LoadBalancer
  clusterIP: 198.18.0.82
  ports: [{name: http, protocol: TCP, port: 80, nodePort: 30082}]
status: {loadBalancer: {ingress: [{ip: $OTHER}]}}
---
apiVersion: v1
kind: Endpoints
metadata: {name: other}
subsets: [{addresses: [{ip: 198.19.2.2}], ports: [{name: http, port: 80}]}]
EOM
	sn_apply -f "$WORK/m.yaml" >/dev/null
}

# allowed WHERE HOST: TCP 80 and UDP 53 answered by pod-a and pod-b
allowed()
{
	expect_only "$1" 40 "$2" 80 -- pod-a pod-b
	expect_only "$1" 40 "$2" 53 --udp -- pod-a pod-b
}

# dropped WHERE HOST: TCP 80 and UDP 53 time out. From a source address of its own in
# WHERE's subnets (never inside a range the checks use): a UDP socket whose ephemeral
# port an earlier, allowed flow (still in conntrack, so not new) happened to use would
# be answered, as a CI run once saw. The firewall polices new connections only.
SRC_SEQ=20
dropped()
{
	local out opt port src

	case $1:$2 in
	client:*:*) src=2001:db8:c::$SRC_SEQ ;;
	client:*) src=203.0.113.$SRC_SEQ ;;
	ext:*:*) src=2001:db8:e::$SRC_SEQ ;;
	ext:*) src=198.51.100.$SRC_SEQ ;;
	esac
	SRC_SEQ=$((SRC_SEQ + 1))
	if [[ $src == *:* ]]; then
		"in_$1" ip -6 addr add "$src/64" dev eth0 nodad
	else
		"in_$1" ip addr add "$src/24" dev eth0
	fi
	for opt in "" --udp; do
		port=80
		[ -n "$opt" ] && port=53
		# shellcheck disable=SC2086
		run_cc "$1" out $opt --bind "$src" --timeout 400 -n 3 "$2" "$port" &&
			fail "$1 -> $2:$port $opt (from $src) answered: $out"
		assert_eq 3 "$(cc_get "$out" timeout)" "timeouts $1 -> $2:$port $opt (${out//$'\n'/, })"
	done
	# Gone again, so that it never becomes the source the other checks' sockets pick.
	"in_$1" ip addr del "$src/$([[ $src == *:* ]] && echo 64 || echo 24)" dev eth0
}

# not_subject WHERE NODE-IP: the ClusterIP, external IP and NodePort serve WHERE anyway
not_subject()
{
	allowed "$1" 198.18.0.80
	allowed "$1" 192.0.2.81
	expect_only "$1" 40 "$2" 30080 -- pod-a pod-b
	expect_only "$1" 40 "$2" 30081 --udp -- pod-a pod-b
	expect_only "$1" 10 "$OTHER" 80 -- pod-b
}

log "ranges 203.0.113.0/24, 2001:db8:c::/64 (the client's): client served, ext dropped"
manifest '203.0.113.0/24, "2001:db8:c::/64"'
allowed client "$LB"
allowed client "$LB6"
dropped ext "$LB"
dropped ext "$LB6"
log "ext: ClusterIP, external IP, NodePort and the other service still served"
not_subject ext "$NODE_EXT_IP"

log "ranges 198.51.100.0/24, 2001:db8:e::/64 (ext's): ext served, client dropped"
manifest '198.51.100.0/24, "2001:db8:e::/64"'
allowed ext "$LB"
allowed ext "$LB6"
dropped client "$LB"
dropped client "$LB6"
log "client: ClusterIP, external IP, NodePort and the other service still served"
not_subject client "$NODE_CLIENT_IP"

log "ranges 198.51.100.10/32, 203.0.113.2/32, 2001:db8:e::10/128: both served over IPv4, ext over IPv6"
manifest '198.51.100.10/32, 203.0.113.2/32, "2001:db8:e::10/128"'
allowed client "$LB"
allowed ext "$LB"
allowed ext "$LB6"
dropped client "$LB6"

log "range 203.0.113.128/25 (not the client's .2): client dropped"
manifest '203.0.113.128/25, "2001:db8:c::/64"'
dropped client "$LB"
allowed client "$LB6"

log "no ranges: everyone served"
manifest ''
allowed client "$LB"
allowed ext "$LB"
allowed ext "$LB6"
grep -q 'elements' <<<"$(in_node nft list set ip svcnat firewall-ips)" &&
	fail "firewall-ips still holds elements without ranges: $(in_node nft list set ip svcnat firewall-ips)"
log "ok"
