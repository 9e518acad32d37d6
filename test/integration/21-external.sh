#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Traffic from outside the cluster: NodePorts on the node's addresses (explicit and
# allocated), an external IP and a load-balancer ingress IP, TCP and UDP; each is
# answered by the service's ready endpoints only (a not-ready one never answers).
# Then --node-port-addresses limits NodePorts to the client-side address.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

M=$SRCDIR/test/integration/manifests/external.yaml

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2	# not ready for shop/front; the only endpoint of shop/back

out=''
log "apply $M"
sn_apply -f "$M" >/dev/null
back_np=$(svc_nodeport shop/back TCP 3306)
log "shop/back got nodePort $back_np"

log "NodePort on the node's client-side address $NODE_CLIENT_IP"
expect_only client 60 "$NODE_CLIENT_IP" 30080 -- pod-a pod-b
expect_only client 60 "$NODE_CLIENT_IP" 30053 --udp -- pod-a pod-b
expect_only client 20 "$NODE_CLIENT_IP" "$back_np" -- pod-c
log "NodePort on the node's other address, from ext ($NODE_EXT_IP)"
expect_only ext 60 "$NODE_EXT_IP" 30080 -- pod-a pod-b
expect_only ext 20 "$NODE_EXT_IP" "$back_np" -- pod-c
log "external IP 192.0.2.10 and load-balancer IP 192.0.2.20"
for ip in 192.0.2.10 192.0.2.20; do
	expect_only client 60 "$ip" 80 -- pod-a pod-b
	expect_only client 60 "$ip" 53 --udp -- pod-a pod-b
done
log "ClusterIPs from the client"
expect_only client 60 198.18.0.20 80 -- pod-a pod-b
expect_only client 20 198.18.0.21 3306 -- pod-c
log "the node's address on a service port that is no NodePort is not served"
run_cc client out --timeout 1000 -n 2 "$NODE_CLIENT_IP" 80 && fail "$NODE_CLIENT_IP:80 answered: $out"
assert_eq 2 "$(cc_get "$out" refused)" "refusals on $NODE_CLIENT_IP:80 (${out//$'\n'/, })"

log "--node-port-addresses $NODE_CLIENT_IP/32: NodePorts only on the client-side address"
# shellcheck disable=SC2034  # used by sn_apply
SN_OPTS=(--node-port-addresses "$NODE_CLIENT_IP/32")
sn_apply -f "$M" >/dev/null
assert_eq "$back_np" "$(svc_nodeport shop/back TCP 3306)" "shop/back's nodePort after re-apply"
expect_only client 40 "$NODE_CLIENT_IP" 30080 -- pod-a pod-b
expect_only client 20 "$NODE_CLIENT_IP" "$back_np" -- pod-c
run_cc ext out --timeout 1000 -n 2 "$NODE_EXT_IP" 30080 && fail "$NODE_EXT_IP:30080 answered: $out"
assert_eq 2 "$(cc_get "$out" refused)" "refusals on $NODE_EXT_IP:30080 (${out//$'\n'/, })"
expect_only client 40 192.0.2.20 80 -- pod-a pod-b
log "ok"
