#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Bad input never reaches the kernel: in a fresh network namespace, apply a good
# manifest, then "svcnat apply" each case of test/bad/ whose .expect says it must be
# refused (exit status not 0); after each, "nft list ruleset" must be byte-identical to
# what it was, the allocation state file unchanged, and the exit status the expected one.
# (Cases that are accepted, with a warning, would legitimately change the ruleset.)
# See test/bad-inputs.sh for the case format.  PATTERN... as arguments runs only the
# cases whose name contains one.  Exit 0 pass, 1 fail, 77 skip.
set -u -o pipefail

. "$(dirname "$0")/../lib/netns.sh"

BAD_DIR=$SRCDIR/test/bad
GOOD=$SRCDIR/test/integration/manifests/clusterip.yaml

require_root_netns
[ -x "$SVCNAT" ] || fail "$SVCNAT is missing; build it with 'make BUILD=$BUILD all'"

NS=${NETNS_PREFIX}bad
WORK=$(mktemp -d "${TMPDIR:-/tmp}/svcnat-bad-kernel.XXXXXX") || fail "cannot create a work directory"
cleanup()
{
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ip netns add "$NS" || fail "ip netns add $NS failed"
ip -n "$NS" link set lo up
echo '{}' >"$WORK/svcnat.yaml"

sn()
{
	ip netns exec "$NS" "$SVCNAT" -c "$WORK/svcnat.yaml" --service-cidr 198.18.0.0/16 \
		--state-dir "$WORK/state" --lock-file "$WORK/lock" "$@"
}

. "$SRCDIR/test/lib/bad-cases.sh"

log "apply the good manifest $GOOD"
out=$(sn apply -f "$GOOD" 2>&1) || fail "svcnat apply of the good manifest failed: $out"
# A second table must survive too: svcnat never touches what is not its own.
ip netns exec "$NS" nft add table inet bystander ||
	fail "cannot add a table of our own"
ip netns exec "$NS" nft add chain inet bystander c '{ type filter hook input priority 0; }' ||
	fail "cannot add a chain of our own"
ip netns exec "$NS" nft list ruleset >"$WORK/before" || fail "nft list ruleset failed"
grep -q 'table ip svcnat' "$WORK/before" || fail "the good manifest left no table ip svcnat"
cp "$WORK/state/allocations" "$WORK/allocations.before" 2>/dev/null || : >"$WORK/allocations.before"

failed=0 total=0
for expect in "$BAD_DIR"/*.expect; do
	name=${expect##*/}
	name=${name%.expect}
	selected "$name" "$@" || continue
	want_rc=$(sed -n '1s/^exit //p' "$expect")
	[ "$want_rc" != 0 ] || continue
	total=$((total + 1))
	dir=$WORK/gen/$name
	if ! input=$(case_input "$name" "$dir"); then
		echo "FAIL: $name: no input, or its generator failed"
		failed=$((failed + 1))
		continue
	fi
	sn apply -f "$input" >/dev/null 2>"$WORK/stderr" </dev/null
	rc=$?
	rm -rf "$dir"
	ip netns exec "$NS" nft list ruleset >"$WORK/after" || fail "nft list ruleset failed"
	cp "$WORK/state/allocations" "$WORK/allocations.after" 2>/dev/null || : >"$WORK/allocations.after"
	if ! cmp -s "$WORK/before" "$WORK/after"; then
		echo "FAIL: $name: svcnat apply (exit $rc) changed the ruleset:"
		diff -u "$WORK/before" "$WORK/after" | head -20 | sed 's/^/    /'
		failed=$((failed + 1))
		# Put the good ruleset back, so that one failure does not fail every later case.
		sn apply -f "$GOOD" >/dev/null 2>&1
		ip netns exec "$NS" nft list ruleset >"$WORK/before"
	elif ! cmp -s "$WORK/allocations.before" "$WORK/allocations.after"; then
		echo "FAIL: $name: svcnat apply (exit $rc) changed $WORK/state/allocations"
		cp "$WORK/allocations.after" "$WORK/allocations.before"
		failed=$((failed + 1))
	elif [ "$rc" != "$want_rc" ]; then
		echo "FAIL: $name: apply exited $rc, want $want_rc: $(head -n 1 "$WORK/stderr")"
		failed=$((failed + 1))
	fi
done
log "$total refused inputs applied, $failed failed"
[ "$failed" -eq 0 ]
