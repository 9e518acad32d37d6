#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# sessionAffinity: ClientIP with sessionAffinityConfig.clientIP.timeoutSeconds.
# One client (one source address) sticks to one of three endpoints, over TCP and UDP,
# on the ClusterIP and on the NodePort (the same endpoint on both: the kinds share their
# affinity sets, as kube-proxy's service chain does);
# a second client (ext) sticks too; the client's entry in the affinity set expires
# after the timeout and a new connection is still served; with a 1 s timeout, rounds
# separated by more than the timeout land on more than one endpoint; switching
# affinity off spreads connections again (chi-square), back on sticks again (the e2e
# "should be able to switch session affinity").
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

VIP=198.18.0.50		# web: affinity, timeout 5 s
SHORT=198.18.0.51	# short: affinity, timeout 1 s, six endpoints

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2
pod_add pod-d 198.19.4.2
pod_add pod-e 198.19.5.2
pod_add pod-f 198.19.6.2

# manifest AFFINITY(yes|no): web (3 endpoints) and short (6 endpoints).
manifest()
{
	local aff='' short_aff='sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 1}}'

	[ "$1" = yes ] && aff='sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 5}}'
	cat >"$WORK/m.yaml" <<EOM
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  clusterIP: $VIP
  $aff
  ports:
  - {name: http, protocol: TCP, port: 80, nodePort: 30050}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets:
- addresses: [{ip: 198.19.1.2}, {ip: 198.19.2.2}, {ip: 198.19.3.2}]
  ports: [{name: http, port: 80}, {name: dns, protocol: UDP, port: 5353}]
---
apiVersion: v1
kind: Service
metadata: {name: short}
spec:
  clusterIP: $SHORT
  $short_aff
  ports: [{name: http, protocol: TCP, port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: short}
subsets:
- addresses: [{ip: 198.19.1.2}, {ip: 198.19.2.2}, {ip: 198.19.3.2},
              {ip: 198.19.4.2}, {ip: 198.19.5.2}, {ip: 198.19.6.2}]
  ports: [{name: http, port: 80}]
EOM
}

# The addresses held by the affinity sets of default/SVC (one per line, sorted).
aff_elems()
{
	in_node nft list table ip svcnat | awk -v p="affinity-default/$1/" '
		/^\tset / { inset = index($2, p) == 1; next }
		/^\t}/ { inset = 0 }
		inset { line = line " " $0 }
		END {
			# elements = { 203.0.113.2 timeout 5s expires 4s990ms, ... }
			n = split(line, w, /[ \t{},=]+/)
			for (i = 1; i <= n; i++)
				if (w[i] ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/) print w[i]
		}' | LC_ALL=C sort -u
}

# sticks WHERE N HOST PORT [OPT...]: N sequential attempts, all answered by one pod;
# prints its name.
sticks()
{
	local where=$1 n=$2 host=$3 port=$4 out names

	shift 4
	run_cc "$where" out "$@" -c 1 -n "$n" "$host" "$port" ||
		fail "$where -> $host:$port $*: not every attempt answered: ${out//$'\n'/, }"
	names=$(awk '$1 == "answer" { print $2 }' <<<"$out")
	[ "$(wc -l <<<"$names")" -eq 1 ] ||
		fail "$where -> $host:$port $*: answered by more than one pod: ${out//$'\n'/, }"
	assert_eq "$n" "$(cc_get "$out" answer "$names")" "$where -> $host:$port $*: answers"
	echo "$names"
}

manifest yes
sn_apply -f "$WORK/m.yaml" >/dev/null

log "client $CLIENT_IP: 30 TCP connections to $VIP:80, one pod"
p1=$(sticks client 30 "$VIP" 80)
log "client sticks to $p1"
assert_eq "$CLIENT_IP" "$(aff_elems web)" "the affinity sets of web after the client's connections"
p1u=$(sticks client 30 "$VIP" 53 --udp)
log "client sticks to $p1u over UDP (30 datagrams, each from a new socket)"
log "ext $EXT_IP sticks too (perhaps to another pod)"
p2=$(sticks ext 30 "$VIP" 80)
log "ext sticks to $p2"
assert_eq "$EXT_IP $CLIENT_IP" "$(aff_elems web | tr '\n' ' ' | sed 's/ $//')" \
	"the affinity sets of web after two clients"
log "client -> NodePort $NODE_CLIENT_IP:30050 sticks too, to the same pod as through the ClusterIP"
p1n=$(sticks client 30 "$NODE_CLIENT_IP" 30050)
log "client sticks to $p1n through the NodePort"
assert_eq "$p1" "$p1n" "the client's pod through the NodePort (the ClusterIP's affinity sets are shared, as with kube-proxy)"
log "a pod as a client (pod-d, $(pod_ip pod-d)) sticks too"
p3=$(sticks pod:pod-d 30 "$VIP" 80)
log "pod-d sticks to $p3"

# While web's 5 s pass without traffic from the client: short (1 s) in rounds of five
# connections, more than its timeout apart. Every round sticks; over 6 rounds, with six
# endpoints, all on one pod would happen with probability 6^-5.
log "short ($SHORT, timeout 1 s): 6 rounds 2.2 s apart"
seen=()
start=$SECONDS
for round in 1 2 3 4 5 6; do
	seen+=("$(sticks client 5 "$SHORT" 80)")
	[ "$round" -lt 6 ] && sleep 2.2
done
distinct=$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)
log "short: rounds landed on ${seen[*]} ($distinct distinct)"
[ "$distinct" -ge 2 ] || fail "short: every round after the timeout went to ${seen[0]}: affinity did not expire"

# web's client entries were refreshed last more than 5 s ago (ext and pod-d's a little
# later: wait out the rest).
left=$((7 - (SECONDS - start)))
[ "$left" -gt 0 ] && sleep "$left"
log "after web's timeout: its affinity sets are empty"
wait_for 3 test -z "$(aff_elems web)" || fail "web's affinity sets still hold: $(aff_elems web | tr '\n' ' ')"
p4=$(sticks client 10 "$VIP" 80)
log "client's next connections are served (by $p4) and stick again"

log "affinity off: connections spread"
manifest no
sn_apply -f "$WORK/m.yaml" >/dev/null
grep -q 'affinity-default/web' <<<"$(in_node nft list table ip svcnat)" &&
	fail "affinity chains or sets of web are left after affinity was switched off"
run_cc client out -n 600 -c 50 "$VIP" 80 || fail "affinity off: not every attempt answered: ${out//$'\n'/, }"
read -r a b c <<<"$(cc_answers "$out")"
log "affinity off: pod-a $a, pod-b $b, pod-c $c"
assert_eq 600 "$((a + b + c))" "affinity off: answers (${out//$'\n'/, })"
chi_square_uniform "$a" "$b" "$c" || fail "affinity off: connections are not spread uniformly"

run_cc client out -n 300 -c 50 "$NODE_CLIENT_IP" 30050 ||
	fail "affinity off: NodePort: not every attempt answered: ${out//$'\n'/, }"
read -r a b c <<<"$(cc_answers "$out")"
log "affinity off, NodePort: pod-a $a, pod-b $b, pod-c $c"
assert_eq 300 "$((a + b + c))" "affinity off: NodePort answers (${out//$'\n'/, })"
chi_square_uniform "$a" "$b" "$c" || fail "affinity off: NodePort connections are not spread uniformly"

log "affinity on again: sticks"
manifest yes
sn_apply -f "$WORK/m.yaml" >/dev/null
p5=$(sticks client 30 "$VIP" 80)
log "client sticks to $p5"
sticks client 30 "$NODE_CLIENT_IP" 30050 >/dev/null
p6=$(sticks client 30 "$VIP" 53 --udp)
log "client sticks to $p6 over UDP"
log "ok"
