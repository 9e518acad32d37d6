#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Coexistence: tables that are not svcnat's (a firewall, a NAT table with masquerade, a
# table of the same name in another family, one with a longer name) are byte-identical,
# handles included, after apply, re-apply, an apply that changes things, and delete;
# delete removes table ip svcnat and nothing else, and a second delete is harmless.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

MDIR=$SRCDIR/test/integration/manifests
OTHERS=("inet userfw" "ip nat" "inet svcnat" "ip svcnat2" "ip6 nat")

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2

in_node nft -f - <<'NFT'
table inet userfw {
	set admins { type ipv4_addr; elements = { 203.0.113.2 } }
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 22 accept
		ip saddr @admins tcp dport 2222 counter accept
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "veth-ext" ip saddr 198.19.0.0/16 masquerade
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 2200 dnat to 198.19.9.9:22
	}
}
table inet svcnat {
	comment "not svcnat's: another family"
	chain c { type filter hook forward priority 0; policy accept; }
}
table ip svcnat2 {
	map m { type ipv4_addr : verdict; elements = { 192.0.2.99 : drop } }
	chain c { type filter hook prerouting priority -5; ip daddr vmap @m; }
}
table ip6 nat {
	chain postrouting { type nat hook postrouting priority srcnat; masquerade; }
}
NFT

snapshot()
{
	local t

	for t in "${OTHERS[@]}"; do
		echo "== $t"
		# shellcheck disable=SC2086  # "FAMILY NAME"
		in_node nft -a list table $t || echo "(missing)"
	done
}

tables_without_svcnat() { in_node nft list tables | grep -vx 'table ip svcnat' || true; }

before=$(snapshot)
tables=$(tables_without_svcnat)

check_others()
{
	assert_eq "$before" "$(snapshot)" "the other tables after $1"
	assert_eq "$tables" "$(tables_without_svcnat)" "the list of other tables after $1"
}

log "apply"
sn_apply -f "$MDIR/clusterip.yaml" >/dev/null
check_others "apply"
expect_only client 60 198.18.0.10 80 -- pod-a pod-b pod-c
log "re-apply"
sn_apply -f "$MDIR/clusterip.yaml" >/dev/null
check_others "re-apply"
log "apply --full"
sn_apply --full -f "$MDIR/clusterip.yaml" >/dev/null
check_others "apply --full"
log "apply of other manifests"
sn_apply -f "$MDIR/external.yaml" >/dev/null
check_others "an apply that changes things"
expect_only client 40 192.0.2.20 80 -- pod-a pod-b

log "delete"
out=$(sn delete 2>&1) || fail "svcnat delete: $out"
check_others "delete"
! in_node nft list table ip svcnat >/dev/null 2>&1 || fail "table ip svcnat is still there"
assert_eq "$tables" "$(in_node nft list tables)" "the tables after delete"
log "delete again"
out=$(sn delete 2>&1) || fail "a second svcnat delete failed: $out"
check_others "a second delete"
log "ok"
