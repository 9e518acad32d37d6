#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Drift and a change in one apply: a chain added by hand to svcnat's table jumps to
# cluster-3; the next apply scales the service to 2 endpoints, so cluster-3 goes. The
# hand-made chain is not svcnat's and must go too, before cluster-3 (the kernel refuses
# to delete a chain that a rule still jumps to). The apply must succeed and leave the
# table an apply from scratch would make; and its --dry-run script, fed to nft -f in a
# second namespace holding the same ruleset, must be accepted too.
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
pod_add twin 198.19.99.2 - 80	# its namespace is the second node, for nft -f
sed '/ip: 198.19.3.2/d' "$M" >"$WORK/two.yaml"

log "reference: the table that 2 endpoints make"
sn_apply -f "$WORK/two.yaml" >/dev/null
want=$(nft_table_blocks)
sn delete >/dev/null 2>&1 || fail "svcnat delete failed"

log "3 endpoints, and a hand-made chain jumping to cluster-3 (in the node and the twin)"
sn_apply -f "$M" >/dev/null
sn compile -f "$M" | in_pod twin nft -f - || fail "loading compile output into the twin failed"
for place in in_node "in_pod twin"; do
	$place nft add chain ip svcnat extra
	$place nft add rule ip svcnat extra jump cluster-3
done
before=$(in_node nft list ruleset)
script=$(sn apply --dry-run -f "$WORK/two.yaml") || fail "apply --dry-run failed"
assert_eq "$before" "$(in_node nft list ruleset)" "the ruleset after --dry-run"

log "apply 2 endpoints"
out=$(sn apply -f "$WORK/two.yaml" 2>&1) && rc=0 || rc=$?
log "apply: exit $rc: ${out//$'\n'/ | }"
if [ "$rc" -ne 0 ]; then
	# The failure is at least clean: the transaction was refused as a whole...
	assert_eq 3 "$rc" "exit status of a refused transaction"
	assert_eq "$before" "$(in_node nft list ruleset)" "the ruleset after the refused apply"
	# ...and --full recovers.
	sn_apply --full -f "$WORK/two.yaml" >/dev/null
	assert_eq "$want" "$(nft_table_blocks)" "the table after apply --full"
	# (svcnat before 59e9177 failed here: its batch deleted cluster-3 before the
	# hand-made chain whose rule still jumps to it, and the kernel refused it, EBUSY.)
	fail "apply exited $rc instead of repairing the drift: is chain cluster-3 deleted" \
		"before the foreign chain that jumps to it?"
fi
assert_eq "$want" "$(nft_table_blocks)" "the table after the apply"
expect_only client 60 "$VIP" 80 -- pod-a pod-b

log "the dry-run script, fed to nft -f in the twin"
# The rules of new K chains are left out: nft 1.0.6 cannot parse a rule that uses one of
# svcnat's typeof maps already in the kernel (see 31-dry-run-equivalence.sh); they do
# not matter to the order of the deletions checked here.
script=$(grep -Ev '^add rule ip svcnat [^ ]+ .*map @(service|nodeport)-backends$' <<<"$script")
if ! err=$(in_pod twin nft -f - <<<"$script" 2>&1); then
	# KNOWN FAILURE (svcnat bug, see the report): the real apply orders its batch so that
	# the kernel accepts it, but --dry-run prints "delete chain ip svcnat cluster-3"
	# before "delete chain ip svcnat extra", which nft -f cannot apply (EBUSY).
	fail "KNOWN svcnat bug: the --dry-run script is not what apply does: nft -f refuses it:" \
		"${err//$'\n'/ | }; the script's deletions:" \
		"$(grep '^delete chain' <<<"$script" | tr '\n' ';')"
fi
log "ok"
