#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# svcnat killed with SIGKILL at random points of an apply: the kernel always holds the
# complete old or the complete new ruleset, never a mix, and the next run converges.
#
# Two large workloads A and B (test/gen-workload). Their full loads are listed once in a
# scratch namespace; a listing's fingerprint is the canonical form below, hashed. The
# typical time of a switch is measured in the node, which is then emptied again. Then
# SIGKILL_RUNS times: an apply of the workload the kernel does not hold is killed after a
# random delay between 0 and the typical apply time; the kernel must then hold exactly
# what it held before, or exactly the target (no table at all only before any apply
# completed). Every SIGKILL_CONVERGE_EVERY runs, and at the end, an apply of the killed
# run's target is let run: it must exit 0 leaving exactly the target, and the apply after
# it must have nothing to do.
#
#   SIGKILL_RUNS (100), SIGKILL_SERVICES (200), SIGKILL_ENDPOINTS (10),
#   SIGKILL_CONVERGE_EVERY (10), SIGKILL_SEED (random; printed, to replay a run).
#   Long mode: SIGKILL_SERVICES=2000 (about 48,000 elements; a few minutes).
# Exit 0 pass, 1 fail, 77 skip.
set -u -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

RUNS=${SIGKILL_RUNS:-100}
NSVC=${SIGKILL_SERVICES:-200}
NEP=${SIGKILL_ENDPOINTS:-10}
CONVERGE_EVERY=${SIGKILL_CONVERGE_EVERY:-10}
SEED=${SIGKILL_SEED:-$((($$ * 7919 + $(date +%s)) % 32768))}
GEN=$SRCDIR/test/gen-workload

require_root_netns
command -v python3 >/dev/null || skip "needs python3 for test/gen-workload"
topo_create
svcnat_setup
SCRATCH=$(netns_of scratch)
ip netns add "$SCRATCH" || fail "cannot create $SCRATCH"
RANDOM=$SEED
log "seed $SEED (SIGKILL_SEED=$SEED replays the same delays), $RUNS runs, $NSVC services x $NEP endpoints"

# The canonical form of "nft list table": every line prefixed with its map, set or chain;
# elements one per line (the kernel lists them in hash order, and wraps them freely);
# rules numbered (their order matters); blocks in any order (an incremental apply creates
# chains in a different order than a full load); handles and counter values dropped.
canon()
{
	awk '
	function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
	function elems(line,    n, i, parts, e) {
		if (line ~ /\}$/) { sub(/ *\}$/, "", line); inel = 0 }
		if (line ~ /"/) {	# with a comment: one element on the line
			sub(/,[ \t]*$/, "", line); e = trim(line)
			if (e != "") print blk "\tE\t" e
			return
		}
		n = split(line, parts, ",")
		for (i = 1; i <= n; i++) { e = trim(parts[i]); if (e != "") print blk "\tE\t" e }
	}
	{ sub(/ # handle [0-9]+$/, ""); gsub(/counter packets [0-9]+ bytes [0-9]+/, "counter") }
	inel { elems($0); next }
	/^\t(map|set|chain) [^ ]+ \{$/ { blk = $2; top = seq; seq = 0; next }
	/^\t\}$/ { blk = ""; seq = top; next }
	/^[ \t]*elements = \{/ { l = $0; sub(/^[ \t]*elements = \{ */, "", l); inel = 1; elems(l); next }
	NF { print blk "\t" sprintf("%05d", ++seq) "\t" trim($0) }' | LC_ALL=C sort
}

# The fingerprint of svcnat's table in namespace $1, or "absent"; the canonical listing
# is kept in $WORK/last.canon.
fingerprint()
{
	local raw

	if ! raw=$(ip netns exec "$1" nft list table ip svcnat 2>/dev/null); then
		: >"$WORK/last.canon"
		echo absent
		return
	fi
	canon <<<"$raw" >"$WORK/last.canon"
	md5sum <"$WORK/last.canon" | cut -d' ' -f1
}

ms_now() { echo $(($(date +%s%N) / 1000000)); }

log "generating workloads A and B"
"$GEN" -n "$NSVC" -m "$NEP" -s 1 -o "$WORK/A.json" || fail "gen-workload A"
"$GEN" -n "$NSVC" -m "$NEP" -s 2 -o "$WORK/B.json" || fail "gen-workload B"

# Reference fingerprints: full loads of A and B in a scratch namespace.
scr() { ip netns exec "$SCRATCH" "$SVCNAT" -c "$SVCNAT_CONF" --service-cidr "$SVC_CIDR" \
	--state-dir "$WORK/scratch-state" --lock-file "$WORK/scratch-lock" -q "$@"; }
scr apply -f "$WORK/A.json" >/dev/null || fail "apply A in the scratch namespace"
declare -A H
H[A]=$(fingerprint "$SCRATCH")
cp "$WORK/last.canon" "$WORK/A.canon"
scr apply -f "$WORK/B.json" >/dev/null || fail "apply B in the scratch namespace"
scr apply --full -f "$WORK/B.json" >/dev/null || fail "apply --full B in the scratch namespace"
H[B]=$(fingerprint "$SCRATCH")
cp "$WORK/last.canon" "$WORK/B.canon"
scr apply -f "$WORK/A.json" >/dev/null || fail "apply A again in the scratch namespace"
[ "$(fingerprint "$SCRATCH")" = "${H[A]}" ] ||
	fail "an incremental switch B -> A differs from A's full load: $(diff "$WORK/A.canon" "$WORK/last.canon" | head -20)"
[ "${H[A]}" != "${H[B]}" ] || fail "workloads A and B give the same ruleset"
ip netns del "$SCRATCH"

# The typical time of a switch, in the node itself (the lower median of four), after
# which the node is emptied again: no table, no state.
times=()
sn apply -f "$WORK/A.json" >/dev/null || fail "apply A in the node"
for w in B A B A; do
	t0=$(ms_now)
	sn apply -f "$WORK/$w.json" >/dev/null || fail "apply $w in the node"
	times+=($(($(ms_now) - t0)))
done
sn delete >/dev/null || fail "svcnat delete"
rm -rf "$STATE"
[ "$(fingerprint "$NS_NODE")" = absent ] || fail "the node still has a table after svcnat delete"
T=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
[ "$T" -ge 10 ] || T=10
log "A: $(wc -l <"$WORK/A.canon") lines, B: $(wc -l <"$WORK/B.canon"); a switch takes about $T ms (${times[*]})"

other() { [ "$1" = A ] && echo B || echo A; }
name_of()
{
	case $1 in "${H[A]}") echo A ;; "${H[B]}") echo B ;; absent) echo absent ;; *) echo MIX ;; esac
}

# Fails with what differs from the nearest workload.
fail_mix()
{
	local what=$1 wa wb

	cp "$WORK/last.canon" "$WORK/mix.canon"
	wa=$(diff "$WORK/A.canon" "$WORK/mix.canon" | grep -c '^[<>]')
	wb=$(diff "$WORK/B.canon" "$WORK/mix.canon" | grep -c '^[<>]')
	fail "$what: the kernel holds neither A nor B whole (lines differing: $wa from A, $wb from B): $(
		diff "$WORK/$([ "$wa" -le "$wb" ] && echo A || echo B).canon" "$WORK/mix.canon" | head -10)"
}

# An apply of $1 let run to the end: exit 0, exactly $1 in the kernel, then nothing to do.
converge()
{
	local target=$1 out rc h

	out=$(sn apply -f "$WORK/$target.json" 2>&1) && rc=0 || rc=$?
	[ "$rc" -eq 0 ] || fail "the apply after a killed run exited $rc: $out"
	h=$(fingerprint "$NS_NODE")
	[ "$h" = "${H[$target]}" ] ||
		fail_mix "after the apply of $target that followed a killed run ($(name_of "$h"))"
	out=$(sn apply -f "$WORK/$target.json" 2>&1) || fail "the second apply of $target: $out"
	assert_match '^svcnat: no changes' "$out" "a second apply of $target after the convergence"
	# Files a killed run had staged (NAME.PID.tmp) are gone once a run has had the lock.
	assert_eq "" "$(cd "$STATE" && find . -name '*.tmp')" "staged files left in the state directory"
	converged=$((converged + 1))
}

state=absent	# what the kernel holds: A, B or absent
completed=0	# whether any apply has completed (absent is acceptable only before)
finished=0 before=0 after=0 converged=0
start=$SECONDS
for ((i = 1; i <= RUNS; i++)); do
	[ "$state" = absent ] && target=A || target=$(other "$state")
	delay=$(((RANDOM << 15 | RANDOM) % T))
	ip netns exec "$NS_NODE" "$SVCNAT" -c "$SVCNAT_CONF" --service-cidr "$SVC_CIDR" \
		--state-dir "$STATE" --lock-file "$LOCK" -q apply -f "$WORK/$target.json" \
		>"$WORK/run.out" 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null	# (no "Killed" job report)
	rc=$?
	h=$(fingerprint "$NS_NODE")
	got=$(name_of "$h")
	case $rc in
	0)
		finished=$((finished + 1))
		[ "$got" = "$target" ] || {
			[ "$got" = MIX ] && fail_mix "run $i (apply of $target, not killed: done in < $delay ms)"
			fail "run $i: an apply of $target exited 0 but the kernel holds $got"
		}
		;;
	137)
		[ "$got" = MIX ] && fail_mix "run $i (apply of $target killed after $delay ms)"
		if [ "$got" = "$target" ]; then
			after=$((after + 1))
		elif [ "$got" = "$state" ]; then
			before=$((before + 1))
		else
			fail "run $i: the apply of $target killed after $delay ms left $got, but the kernel held $state"
		fi
		[ "$got" != absent ] || [ "$completed" -eq 0 ] ||
			fail "run $i: no table after an apply had completed"
		;;
	*)
		fail "run $i: the apply of $target exited $rc (not killed): $(cat "$WORK/run.out")"
		;;
	esac
	state=$got
	[ "$state" = absent ] || completed=1
	if [ $((i % CONVERGE_EVERY)) -eq 0 ] || [ "$i" -eq "$RUNS" ]; then
		converge "$target"
		state=$target completed=1
	fi
	[ $((i % 20)) -ne 0 ] || log "$i runs ($((SECONDS - start)) s)"
done
leftover=$(find "$STATE" -name '*.tmp' 2>/dev/null | wc -l)
pgrep_left=$(ip netns pids "$NS_NODE" | wc -l)
[ "$pgrep_left" -eq 0 ] || fail "$pgrep_left processes still run in the node namespace"
log "$RUNS runs in $((SECONDS - start)) s: $finished finished before the kill, $before killed before their commit," \
	"$after killed after it (the kernel already held the target); $converged convergence runs all clean"
[ "$leftover" -eq 0 ] ||
	log "note: killed runs left $leftover temporary files in the state directory: $(cd "$STATE" && ls -A | tr '\n' ' ')"
log "ok"
