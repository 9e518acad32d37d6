#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The lock: while another process holds it, "apply --no-wait" and "delete --no-wait"
# exit 4 and change nothing, and a plain apply waits for it; several applies started at
# once all succeed, one after the other, and the kernel ends up holding the ruleset of
# one of them, whole.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

MDIR=$SRCDIR/test/integration/manifests

require_root_netns
command -v flock >/dev/null || skip "needs flock(1)"
topo_create
svcnat_setup

sn_apply -f "$MDIR/clusterip.yaml" >/dev/null
ruleset=$(in_node nft list ruleset)

log "the lock held by another process for 1.5 s"
flock "$LOCK" sleep 1.5 &
holder=$!
at_exit '[ -z "$holder" ] || kill "$holder" 2>/dev/null'
wait_for 2 test -e "$LOCK" || fail "the lock file did not appear"
sleep 0.2
out=$(sn apply --no-wait -f "$MDIR/external.yaml" 2>&1) && rc=0 || rc=$?
assert_eq 4 "$rc" "apply --no-wait while locked: exit status ($out)"
out=$(sn delete --no-wait 2>&1) && rc=0 || rc=$?
assert_eq 4 "$rc" "delete --no-wait while locked: exit status ($out)"
assert_eq "$ruleset" "$(in_node nft list ruleset)" "the ruleset after the refused runs"
start=$(date +%s%N)
out=$(sn_apply -f "$MDIR/external.yaml")
ms=$((($(date +%s%N) - start) / 1000000))
assert_match '^svcnat: applied: ' "$out" "apply that waited"
[ "$ms" -ge 800 ] || fail "apply did not wait for the lock (${ms} ms)"
wait "$holder" || true
holder=

log "four applies at once"
pids=()
for m in clusterip external selectorless clusterip; do
	sn apply -f "$MDIR/$m.yaml" >"$WORK/par-$m-${#pids[@]}" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a concurrent apply failed: $(cat "$WORK"/par-*)"
done
final=$(nft_table_blocks)
ok=0
for m in clusterip external selectorless; do
	sn_apply --full -f "$MDIR/$m.yaml" >/dev/null
	[ "$(nft_table_blocks)" = "$final" ] && ok=1
done
[ "$ok" = 1 ] || fail "after concurrent applies the table is none of the applied rulesets"
log "ok"
