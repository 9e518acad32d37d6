#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Ten "svcnat apply" runs at once, each with its own workload, sharing the state
# directory and the lock file:
#  - waiting (the default): all ten exit 0; they held the lock one after the other,
#    never two at a time; the kernel ends up holding exactly the workload of the last run
#    to take the lock (compared with its compile output loaded by nft(8) in a scratch
#    namespace), svcnat get shows that workload's services, and another apply of it has
#    nothing to do;
#  - --no-wait: a run that found the lock taken exits 4 and says so, the others exit 0
#    (at least one of each), and the kernel holds the workload of the last one to succeed.
# Who held the lock when comes from strace(1) (flock's return and the lock's close,
# timestamped);
# without strace, from the order in which the runs finished.
#   CONCURRENT_RUNS (10), CONCURRENT_SERVICES (150), CONCURRENT_ROUNDS (1; a longer mode
#   repeats both parts), CONCURRENT_NO_STRACE=1 (the fallback without strace)
# Exit 0 pass, 1 fail, 77 skip.
set -u -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

N=${CONCURRENT_RUNS:-10}
NSVC=${CONCURRENT_SERVICES:-150}
ROUNDS=${CONCURRENT_ROUNDS:-1}
GEN=$SRCDIR/test/gen-workload

require_root_netns
command -v python3 >/dev/null || skip "needs python3 for test/gen-workload and nft-normalize"
topo_create
svcnat_setup
SCRATCH=$(netns_of scratch)
ip netns add "$SCRATCH" || fail "cannot create $SCRATCH"
STRACE=$(command -v strace || true)
[ "${CONCURRENT_NO_STRACE:-0}" = 1 ] && STRACE=
[ -n "$STRACE" ] || log "note: no strace; the lock order is taken from the order the runs finished"
# LeakSanitizer cannot run under ptrace; the rest of the suite checks leaks.
[ "${SANITIZE:-0}" = 1 ] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# A normalised listing with its blocks in name order, from namespace $1.
listing()
{
	local raw

	raw=$(ip netns exec "$1" nft list table ip svcnat 2>&1) || { echo "(no table: $raw)"; return; }
	"$NFT_NORMALIZE" <<<"$raw" | _sort_blocks
}

log "$N workloads of $NSVC services, and what each compiles to"
for ((k = 1; k <= N; k++)); do
	"$GEN" -n "$NSVC" -m 1-4 -s $((100 + k)) -o "$WORK/w$k.json" || fail "gen-workload $k"
	sn compile -f "$WORK/w$k.json" >"$WORK/w$k.nft" || fail "compile w$k"
	ip netns exec "$SCRATCH" nft -f "$WORK/w$k.nft" || fail "nft -f the compile output of w$k"
	listing "$SCRATCH" >"$WORK/w$k.expect"
	# The services svcnat get should show: namespace/name, sorted.
	python3 -c 'import json, sys
for o in json.load(open(sys.argv[1]))["items"]:
    if o["kind"] == "Service": print(o["metadata"]["namespace"] + "/" + o["metadata"]["name"])' \
		"$WORK/w$k.json" | LC_ALL=C sort >"$WORK/w$k.svcs"
done
for ((k = 2; k <= N; k++)); do
	cmp -s "$WORK/w1.expect" "$WORK/w$k.expect" && fail "workloads 1 and $k compile to the same ruleset"
done

# Starts run $1 (svcnat apply OPTS... -f workload $1) $STAGGER ms times ($1 mod 10) after
# $WORK/go appears; its status
# and the time it ended go to $WORK/done.$1, strace's record to $WORK/trace.$1.
start_run()
{
	local k=$1 tr=()

	shift
	[ -n "$STRACE" ] && # -f for --seccomp-bpf, which stops svcnat only at the traced calls (it makes
	# thousands of others).
	tr=("$STRACE" -f --seccomp-bpf -q -ttt -T -e "trace=flock,close" -o "$WORK/trace.$k")
	(
		while [ ! -e "$WORK/go" ]; do sleep 0.005; done
		sleep "$(printf '0.%03d' $((k % 10 * STAGGER)))"
		ip netns exec "$NS_NODE" ${tr[@]+"${tr[@]}"} "$SVCNAT" -c "$SVCNAT_CONF" \
			--service-cidr "$SVC_CIDR" --state-dir "$STATE" --lock-file "$LOCK" apply "$@" \
			-f "$WORK/w$k.json" >"$WORK/out.$k" 2>&1
		echo "$? $(date +%s%N)" >"$WORK/done.$k"
	) &
	pids+=($!)
}

# Sets iv to "ACQUIRED RELEASED K" (seconds, float) for each run K that took the lock, in
# the order they took it.
lock_intervals()
{
	local k acq rel lines=()

	for k in "$@"; do
		if [ -n "$STRACE" ]; then
			# "T flock(3, LOCK_EX) = 0 <D>": taken by the time of the next traced call
			# (the closedir of the stale-file sweep; T + D as a fallback); let go by the
			# last close(3) (or at the exit). Not T + D: T is wall-clock time and D a
			# monotonic duration, so after a long wait under a slewed clock T + D can fall
			# microseconds before the previous holder's close (a CI run failed so). Both
			# times compared are now strace's wall-clock stamps, taken before the release
			# and after the acquisition, so a slew cannot reorder them.
			# (-f: "PID TIME CALL...")
			read -r acq rel < <(awk '
				next_call { acq = $2; next_call = 0 }
				$3 ~ /^flock\(/ && / = 0 </ {
					d = $NF; gsub(/[<>]/, "", d); acq = $2 + d; next_call = 1
					fd = $3; sub(/^flock\(/, "", fd); sub(/,$/, "", fd)
				}
				fd != "" && $3 == "close(" fd ")" { rel = $2 }
				/\+\+\+ exited with/ && rel == "" { rel = $2 }
				END { if (acq != "") printf "%.6f %s\n", acq, rel }' "$WORK/trace.$k")
			[ -n "$acq" ] && [ -n "$rel" ] || fail "run $k: no flock or exit in its strace record: $(cat "$WORK/trace.$k")"
		else
			rel=$(awk '{ printf "%.6f", $2 / 1e9 }' "$WORK/done.$k")
			acq=$rel
		fi
		lines+=("$acq $rel $k")
	done
	mapfile -t iv < <(printf '%s\n' "${lines[@]}" | sort -n)
}

check_final()
{
	local k=$1 what=$2 out

	[ "$(listing "$NS_NODE")" = "$(cat "$WORK/w$k.expect")" ] || {
		for ((j = 1; j <= N; j++)); do
			[ "$(listing "$NS_NODE")" = "$(cat "$WORK/w$j.expect")" ] &&
				fail "$what: the kernel holds workload $j, but run $k took the lock last"
		done
		fail "$what: the kernel holds none of the workloads whole: $(diff <(listing "$NS_NODE") "$WORK/w$k.expect" | head -10)"
	}
	out=$(sn get services -A 2>&1) || fail "svcnat get services -A: $out"
	diff <(awk 'NR > 1 { print $1 "/" $2 }' <<<"$out" | LC_ALL=C sort) "$WORK/w$k.svcs" >/dev/null ||
		fail "$what: svcnat get services does not show workload $k's services: $(
			diff <(awk 'NR > 1 { print $1 "/" $2 }' <<<"$out" | LC_ALL=C sort) "$WORK/w$k.svcs" | head -5)"
	out=$(sn apply -f "$WORK/w$k.json" 2>&1) || fail "apply w$k after the concurrent runs: $out"
	assert_match '^svcnat: no changes' "$out" "$what: apply of the last run's workload w$k again"
}

wait_all()
{
	local p

	for p in "${pids[@]}"; do
		wait "$p"
	done
	pids=()
}

pids=()
at_exit 'for p in ${pids[@]+"${pids[@]}"}; do kill $p 2>/dev/null; done'
for ((round = 1; round <= ROUNDS; round++)); do
	log "round $round: $N applies at once, waiting for the lock"
	rm -f "$WORK"/go "$WORK"/done.* "$WORK"/trace.* "$WORK"/out.*
	STAGGER=10	# ten starts within 90 ms
	for ((k = 1; k <= N; k++)); do
		start_run "$k"
	done
	t0=$(date +%s%N)
	touch "$WORK/go"
	wait_all
	ms=$((($(date +%s%N) - t0) / 1000000))
	for ((k = 1; k <= N; k++)); do
		read -r rc _ <"$WORK/done.$k"
		[ "$rc" -eq 0 ] || fail "run $k (waiting) exited $rc: $(cat "$WORK/out.$k")"
		assert_match '^svcnat: applied: ' "$(cat "$WORK/out.$k")" "run $k's output"
	done
	lock_intervals $(seq 1 "$N")
	prev_rel=0
	for line in "${iv[@]}"; do
		read -r acq rel k <<<"$line"
		awk -v a="$acq" -v p="$prev_rel" 'BEGIN { exit !(a >= p) }' ||
			fail "run $k took the lock at $acq, before the previous holder let it go at $prev_rel"
		prev_rel=$rel
	done
	last=${iv[-1]##* }
	log "all $N exited 0 in $ms ms, one after the other; lock order (run: ms held): $(
		printf '%s\n' "${iv[@]}" | awk '{ printf "%s%s: %d", s, $3, ($2 - $1) * 1000; s = ", " }')"
	check_final "$last" "waiting runs"

	log "round $round: $N applies at once with --no-wait"
	# Start from a ruleset none of them has, so each run that gets the lock changes something.
	sn delete >/dev/null || fail "svcnat delete"
	rm -f "$WORK"/go "$WORK"/done.* "$WORK"/trace.* "$WORK"/out.*
	STAGGER=30	# within 270 ms
	for ((k = 1; k <= N; k++)); do
		start_run "$k" --no-wait
	done
	# A run takes ~20 ms, less than the stagger, so the runs alone need not overlap: this
	# shell holds the lock for the first 150 ms, so the runs started then find it busy.
	exec {holder}>>"$LOCK"
	flock -x "$holder" || fail "flock $LOCK"
	touch "$WORK/go"
	sleep 0.15
	exec {holder}>&-
	wait_all
	ok=() busy=()
	for ((k = 1; k <= N; k++)); do
		read -r rc _ <"$WORK/done.$k"
		out=$(cat "$WORK/out.$k")
		case $rc in
		0) ok+=("$k") ;;
		4)
			busy+=("$k")
			assert_match "another svcnat run holds .*--no-wait" "$out" "run $k (exit 4)'s message"
			if [ -n "$STRACE" ]; then
				grep -Eq 'flock\(.*LOCK_NB.* = -1 (EWOULDBLOCK|EAGAIN)' "$WORK/trace.$k" ||
					fail "run $k exited 4, but its flock did not fail: $(cat "$WORK/trace.$k")"
			fi
			;;
		*) fail "run $k (--no-wait) exited $rc: $out" ;;
		esac
	done
	[ ${#ok[@]} -ge 1 ] || fail "--no-wait: no run succeeded"
	[ ${#busy[@]} -ge 1 ] || fail "--no-wait: no run found the lock busy (runs: ${ok[*]})"
	lock_intervals "${ok[@]}"
	prev_rel=0
	for line in "${iv[@]}"; do
		read -r acq rel k <<<"$line"
		awk -v a="$acq" -v p="$prev_rel" 'BEGIN { exit !(a >= p) }' ||
			fail "--no-wait: run $k took the lock at $acq, before the previous holder let it go at $prev_rel"
		prev_rel=$rel
	done
	last=${iv[-1]##* }
	log "--no-wait: runs ${ok[*]} exited 0, ${busy[*]} exited 4; the last to hold the lock: $last"
	check_final "$last" "--no-wait runs"
done
leftover=$(find "$STATE" -name '.*.tmp' | wc -l)
[ "$leftover" -eq 0 ] || fail "temporary files left in the state directory: $(ls -A "$STATE")"
log "ok"
