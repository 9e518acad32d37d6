#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Idempotence: a second apply of the same manifests says "no changes" and sends the
# kernel nothing (nft monitor sees no event), and the ruleset is identical; the same
# with the cache of the last apply ($STATE/applied) removed; "apply --full" reloads the
# table to the same listing; compile prints the same script twice; allocations stay.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

MDIR=$SRCDIR/test/integration/manifests
M=(-f "$MDIR/clusterip.yaml" -f "$MDIR/external.yaml" -f "$MDIR/selectorless.yaml"
	-f "$SRCDIR/rules/1-nginx")

require_root_netns
topo_create
svcnat_setup

# monitored CMD...: runs CMD with nft monitor watching the node's ruleset; the events
# it saw go to $WORK/events.
MON=
at_exit '[ -z "$MON" ] || kill "$MON" 2>/dev/null'
monitored()
{
	local rc=0

	in_node nft monitor >"$WORK/events" 2>&1 &
	MON=$!
	sleep 0.3	# let it subscribe
	"$@" || rc=$?
	sleep 0.3
	kill "$MON" 2>/dev/null || true
	wait "$MON" 2>/dev/null || true
	MON=
	return "$rc"
}

log "first apply"
out=$(sn_apply "${M[@]}")
assert_match '^svcnat: applied: ' "$out" "first apply"
before=$(nft_table)
alloc=$(cat "$STATE/allocations")
[ -s "$STATE/applied" ] || fail "no $STATE/applied after an apply"

log "second apply: no changes, no netlink event"
monitored sn_apply "${M[@]}" >"$WORK/out"
assert_match '^svcnat: no changes' "$(cat "$WORK/out")" "second apply"
[ ! -s "$WORK/events" ] || fail "second apply changed the kernel: $(head -5 "$WORK/events")"
assert_eq "$before" "$(nft_table)" "listing after the second apply"

log "without the cache ($STATE/applied): no changes, no netlink event"
rm "$STATE/applied"
monitored sn_apply "${M[@]}" >"$WORK/out"
assert_match '^svcnat: no changes' "$(cat "$WORK/out")" "apply without the cache"
[ ! -s "$WORK/events" ] || fail "apply without the cache changed the kernel: $(head -5 "$WORK/events")"
assert_eq "$before" "$(nft_table)" "listing after the apply without the cache"
log "and again, with the cache it wrote"
monitored sn_apply "${M[@]}" >"$WORK/out"
assert_match '^svcnat: no changes' "$(cat "$WORK/out")" "apply after the cache was rebuilt"
[ ! -s "$WORK/events" ] || fail "apply changed the kernel: $(head -5 "$WORK/events")"

log "apply --full reloads the same ruleset"
out=$(sn_apply --full "${M[@]}")
assert_match '^svcnat: applied: ' "$out" "apply --full"
assert_eq "$before" "$(nft_table)" "listing after apply --full"
out=$(sn_apply "${M[@]}")
assert_match '^svcnat: no changes' "$out" "apply after apply --full"

log "compile is deterministic; allocations are stable"
a=$(sn compile "${M[@]}") || fail "compile failed"
b=$(sn compile "${M[@]}") || fail "compile failed"
assert_eq "$a" "$b" "two compile outputs"
assert_eq "$alloc" "$(cat "$STATE/allocations")" "allocations after the re-applies"
log "ok"
