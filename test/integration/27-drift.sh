#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Drift: svcnat's table changed by hand (a map element deleted, a stray one added, a
# backend pointed elsewhere, a chain flushed, a rule deleted, a base chain deleted, the
# whole table deleted); the next apply restores it: traffic works again and the
# listing is identical to before. Each drift is checked to break something first, so
# the test cannot pass by accident.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

M=$SRCDIR/test/integration/manifests/clusterip.yaml
VIP=198.18.0.10

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2
pod_add pod-x 198.19.9.2	# no service's endpoint

sn_apply -f "$M" >/dev/null
good=$(nft_table)
expect_only client 60 "$VIP" 80 -- pod-a pod-b pod-c

# drift WHAT NFT-SCRIPT [BROKEN-CHECK...]: make the change by hand, check that it
# shows (the listing differs; BROKEN-CHECK, if given, succeeds), apply, check the
# listing and the traffic.
drift()
{
	local what=$1 cmd=$2 out

	shift 2
	log "drift: $what"
	in_node nft -f - <<<"$cmd" || fail "$what: nft $cmd failed"
	[ "$(nft_table)" != "$good" ] || fail "$what: the listing did not change"
	if [ $# -gt 0 ]; then
		"$@" || fail "$what: the drift did not break traffic as expected"
	fi
	out=$(sn_apply -f "$M")
	assert_match '^svcnat: (applied|repaired drift)' "$out" "$what: apply"
	assert_eq "$good" "$(nft_table)" "$what: listing after the apply"
	expect_only client 60 "$VIP" 80 -- pod-a pod-b pod-c
	expect_only client 30 "$VIP" 53 --udp -- pod-a pod-b pod-c
	out=$(sn_apply -f "$M")
	assert_match '^svcnat: no changes' "$out" "$what: apply after the repair"
}

refused() # HOST PORT
{
	local out

	run_cc client out --timeout 1000 -n 2 "$1" "$2" && return 1
	[ "$(cc_get "$out" refused)" = 2 ]
}

# (UDP: over TCP, conn-client takes seconds to give up on ICMP unreachables.)
unanswered_udp() # HOST PORT
{
	local out

	! run_cc client out --udp --timeout 300 -n 2 "$1" "$2"
}

answers_from() # NAME HOST PORT: some answer comes from NAME
{
	local out

	run_cc client out -n 60 "$2" "$3" || true
	[ "$(cc_get "$out" answer "$1")" -gt 0 ]
}

drift "a service-ips element deleted" \
	"delete element ip svcnat service-ips { $VIP . tcp . 80 }" refused "$VIP" 80
drift "a stray service-ips element added" \
	"add element ip svcnat service-ips { $VIP . tcp . 8080 : goto cluster-3 }"
drift "an extra backend slot added" \
	"add element ip svcnat service-backends { $VIP . tcp . 80 . 7 : 198.19.9.2 . 80 }"
drift "backend slot 0 replaced by pod-x" \
	"delete element ip svcnat service-backends { $VIP . tcp . 80 . 0 }
	add element ip svcnat service-backends { $VIP . tcp . 80 . 0 : 198.19.9.2 . 80 }" \
	answers_from pod-x "$VIP" 80
drift "a service-ips element's comment changed" \
	"delete element ip svcnat service-ips { $VIP . tcp . 80 }
	add element ip svcnat service-ips { $VIP . tcp . 80 comment \"edited\" : goto cluster-3 }"
drift "a service-ips element's verdict changed" \
	"delete element ip svcnat service-ips { $VIP . tcp . 80 }
	add element ip svcnat service-ips { $VIP . tcp . 80 comment \"default/web:http cluster IP\" : accept }" \
	refused "$VIP" 80
drift "a hairpin element deleted" "delete element ip svcnat hairpin { 198.19.1.2 . 198.19.1.2 }"
drift "chain services flushed" "flush chain ip svcnat services" refused "$VIP" 80
drift "chain cluster-3 flushed" "flush chain ip svcnat cluster-3" refused "$VIP" 80
drift "the rule of cluster-3 replaced" "flush chain ip svcnat cluster-3
	add rule ip svcnat cluster-3 dnat ip to 198.19.9.2" answers_from pod-x "$VIP" 80
drift "cluster-ips emptied" "flush set ip svcnat cluster-ips"
drift "base chain nat-prerouting deleted" "delete chain ip svcnat nat-prerouting"
drift "the table deleted" "delete table ip svcnat"
drift "every rule of the table flushed" "flush table ip svcnat" unanswered_udp "$VIP" 53
log "ok"
