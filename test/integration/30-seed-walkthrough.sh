#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The walk-through in rules/: each directory, a snapshot of the cluster, applied in
# order, with traffic checks after each step. svcnat allocates the clusterIPs and
# nodePorts; they are read from the state file, checked against what compile said it
# would allocate, and must stay the same from step to step. Every step re-applied says
# "no changes".
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

RULES=$SRCDIR/rules

require_root_netns
require_tools
topo_create
svcnat_setup
# The ReplicationController's pods (their names as in the Endpoints' targetRefs), the
# my-nginx and my-lb pods, and a my-lb pod that is not ready.
pod_add nginx-7xk2p 198.19.1.2
pod_add nginx-q4b9d 198.19.2.2
pod_add my-nginx-1 198.19.3.2
pod_add my-nginx-2 198.19.4.2
pod_add my-lb-1 198.19.5.2
pod_add my-lb-2 198.19.6.2
pod_add my-lb-notready 198.19.7.2
ext_server_start mysql-db 3306

declare -A SEEN=()	# "clusterip default/x" or "nodeport ..." -> value, across steps

# step DIR: compile (reading what it would allocate), apply, check the allocations
# against compile's comments and against earlier steps, re-apply.
step()
{
	local name=$1 dir=$RULES/$1 script out line f key val

	log "step $name"
	script=$(sn compile -f "$dir") || fail "$name: compile failed"
	out=$(sn_apply -f "$dir")
	assert_match '^svcnat: applied: ' "$out" "$name: apply"
	# "# allocates Service default/my-lb clusterIP 198.18.x.y" for new allocations only.
	while read -r line; do
		read -r -a f <<<"$line"
		case $line in
		*" clusterIP "*)
			assert_eq "${f[5]}" "$(svc_ip "${f[3]}")" \
				"$name: clusterIP of ${f[3]} (compile said: $line)"
			;;
		*" nodePort "*) ;;	# "spec.ports[N]": checked through the state file below
		*) fail "$name: unexpected comment: $line" ;;
		esac
	done < <(grep '^# allocates ' <<<"$script" || true)
	while IFS='|' read -r key val; do
		if [ -n "${SEEN[$key]:-}" ]; then
			assert_eq "${SEEN[$key]}" "$val" "$name: $key (allocated in an earlier step)"
		fi
		SEEN[$key]=$val
	done < <(awk '$1 == "clusterip" { print $1 " " $2 "|" $3 }
		$1 == "nodeport" { print $1 " " $2 " " $3 " " $4 "|" $5 }' "$STATE/allocations")
	out=$(sn_apply -f "$dir")
	assert_match '^svcnat: no changes' "$out" "$name: second apply"
}

# from the client and from a pod (one that is not an endpoint)
both() { expect_only client "$@"; expect_only pod:my-lb-notready "$@"; }

step 1-nginx
MYSVC=$(svc_ip default/myservice)
log "myservice is $MYSVC"
both 60 "$MYSVC" 80 -- nginx-7xk2p nginx-q4b9d

step 2-mysql
MYSQL=$(svc_ip default/mysql)
log "mysql is $MYSQL"
both 60 "$MYSVC" 80 -- nginx-7xk2p nginx-q4b9d
both 20 "$MYSQL" 3306 -- mysql-db

step 3-nginx-scaled
both 40 "$MYSVC" 80 -- nginx-7xk2p
both 20 "$MYSQL" 3306 -- mysql-db

step 4-nodeport
NGINX=$(svc_ip default/my-nginx)
NGINX_NP=$(svc_nodeport default/my-nginx TCP 80)
log "my-nginx is $NGINX, nodePort $NGINX_NP"
both 60 "$NGINX" 80 -- my-nginx-1 my-nginx-2
expect_only client 60 "$NODE_CLIENT_IP" "$NGINX_NP" -- my-nginx-1 my-nginx-2
expect_only ext 60 "$NODE_EXT_IP" "$NGINX_NP" -- my-nginx-1 my-nginx-2
both 40 "$MYSVC" 80 -- nginx-7xk2p
both 20 "$MYSQL" 3306 -- mysql-db

step 5-loadbalancer
LB=$(svc_ip default/my-lb)
LB_HTTP_NP=$(svc_nodeport default/my-lb TCP 80)
LB_DNS_NP=$(svc_nodeport default/my-lb UDP 53)
log "my-lb is $LB, nodePorts $LB_HTTP_NP/TCP $LB_DNS_NP/UDP"
# http goes to the endpoints' port 8080, dns to 5353; my-lb-notready never answers.
for ip in "$LB" 192.0.2.10 192.0.2.20; do
	expect_only client 60 "$ip" 80 -- my-lb-1 my-lb-2
	expect_only client 60 "$ip" 53 --udp -- my-lb-1 my-lb-2
done
expect_only pod:nginx-q4b9d 60 "$LB" 80 -- my-lb-1 my-lb-2
expect_only client 60 "$NODE_CLIENT_IP" "$LB_HTTP_NP" -- my-lb-1 my-lb-2
expect_only client 60 "$NODE_CLIENT_IP" "$LB_DNS_NP" --udp -- my-lb-1 my-lb-2
expect_only client 40 "$NODE_CLIENT_IP" "$NGINX_NP" -- my-nginx-1 my-nginx-2
both 40 "$NGINX" 80 -- my-nginx-1 my-nginx-2
both 40 "$MYSVC" 80 -- nginx-7xk2p
both 20 "$MYSQL" 3306 -- mysql-db

log "back to step 1: the services that went away are gone, the rest is unchanged"
out=$(sn_apply -f "$RULES/1-nginx")
assert_eq "$MYSVC" "$(svc_ip default/myservice)" "myservice's clusterIP after going back"
both 60 "$MYSVC" 80 -- nginx-7xk2p nginx-q4b9d
for dst in "$MYSQL:3306" "$NGINX:80" "$LB:80"; do
	run_cc client out --timeout 300 -n 2 "${dst%:*}" "${dst#*:}" &&
		fail "$dst still answers after going back to step 1: $out"
done
log "ok"
