#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Another program changes the ruleset between svcnat's read and its commit: svcnat's
# commit (which carries the generation id it read) is refused whole, svcnat reads again
# and converges: its table ends up exactly as compiled, and the other program's tables
# and changes elsewhere stay.
#
# 1. Provoked for real, WRITER_RUNS times (20): svcnat runs under strace, which holds its
#    first sendmsg(2) (the commit; reading uses sendto) for a while; as soon as svcnat is
#    held there, the "other program" (nft) commits one change: a table of its own, plus
#    in turn an element deleted from svcnat's map, an element added to svcnat's set,
#    svcnat's base chain flushed, a rule inserted into it, svcnat's table deleted.
#    svcnat -v must say "reading again" once, exit 0, and leave exactly the target
#    (compile output loaded by nft(8) in a scratch namespace, normalised); every table
#    the other program made must still be there.
# 2. A busy neighbour committing every 150 ms during five applies: each apply either
#    succeeds with its target whole, or gives up (exit 3) with the old ruleset whole.
# 3. A neighbour's table with chains (a firewall, say: a base chain and a regular one;
#    then one with a regular chain only), another commit, then an apply: the apply
#    succeeds, changing only what differs (no whole-table reload), and the neighbour's
#    table stays as it was.
#   WRITER_RUNS (20), WRITER_SERVICES (300), WRITER_ENDPOINTS (10), WRITER_HOLD_MS (800)
# Exit 0 pass, 1 fail, 77 skip.
set -u -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

RUNS=${WRITER_RUNS:-20}
NSVC=${WRITER_SERVICES:-300}
NEP=${WRITER_ENDPOINTS:-10}
HOLD_MS=${WRITER_HOLD_MS:-800}
GEN=$SRCDIR/test/gen-workload

require_root_netns
command -v python3 >/dev/null || skip "needs python3 for test/gen-workload and nft-normalize"
command -v strace >/dev/null || skip "needs strace(1) to hold svcnat between its read and its commit"
command -v pgrep >/dev/null || skip "needs pgrep(1)"
# LeakSanitizer cannot run under ptrace; the rest of the suite checks leaks.
[ "${SANITIZE:-0}" = 1 ] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
case $(uname -m) in
x86_64) SENDMSG_NR=46 ;;
aarch64 | riscv64) SENDMSG_NR=211 ;;
*) skip "does not know sendmsg's system call number on $(uname -m)" ;;
esac
topo_create
svcnat_setup
SCRATCH=$(netns_of scratch)
ip netns add "$SCRATCH" || fail "cannot create $SCRATCH"

listing()
{
	local raw

	raw=$(ip netns exec "$1" nft list table ip svcnat 2>&1) || { echo "(no table: $raw)"; return; }
	"$NFT_NORMALIZE" <<<"$raw" | _sort_blocks
}

log "workloads A and B ($NSVC services x $NEP endpoints) and what they compile to"
for w in A B; do
	"$GEN" -n "$NSVC" -m "$NEP" -s "$([ $w = A ] && echo 1 || echo 2)" -o "$WORK/$w.json" || fail "gen-workload $w"
	sn compile -f "$WORK/$w.json" >"$WORK/$w.nft" || fail "compile $w"
	ip netns exec "$SCRATCH" nft -f "$WORK/$w.nft" || fail "nft -f the compile output of $w"
	listing "$SCRATCH" >"$WORK/$w.expect"
done
# An address of the service range neither workload uses, for a foreign element.
for FOREIGN in 198.18.255.250 198.18.255.249 198.18.255.248 198.18.255.247; do
	grep -q "\"$FOREIGN\"" "$WORK/A.json" "$WORK/B.json" || break
done
other() { [ "$1" = A ] && echo B || echo A; }

sn_apply -f "$WORK/A.json" >/dev/null
[ "$(listing "$NS_NODE")" = "$(cat "$WORK/A.expect")" ] || fail "the first apply of A is not A's compile output"
state=A

# The other program's commit number $1, of kind $2 (one nft transaction).
interfere()
{
	local i=$1 kind=$2 cmds

	cmds="add table ip other$i"
	case $kind in
	table) ;;
	del-elem) cmds+=$'\n'"delete element ip svcnat service-ips { 198.18.0.1 . tcp . 443 }" ;;
	add-elem) cmds+=$'\n'"add element ip svcnat cluster-ips { $FOREIGN }" ;;
	flush-chain) cmds+=$'\n'"flush chain ip svcnat nat-prerouting" ;;
	add-rule) cmds+=$'\n'"insert rule ip svcnat nat-prerouting counter" ;;
	del-table) cmds+=$'\n'"delete table ip svcnat" ;;
	*) fail "interfere: unknown kind $kind" ;;
	esac
	in_node nft -f - <<<"$cmds"
}

check_others()
{
	local tables j

	tables=$(in_node nft list tables) || fail "nft list tables"
	for ((j = 1; j <= $1; j++)); do
		grep -qx "table ip other$j" <<<"$tables" || fail "$2: the other program's table other$j is gone"
	done
}

kinds=(table del-elem add-elem flush-chain add-rule del-table)
log "part 1: $RUNS applies, each held at its commit while another program commits"
start=$SECONDS
for ((i = 1; i <= RUNS; i++)); do
	target=$(other "$state")
	kind=${kinds[(i - 1) % ${#kinds[@]}]}
	ip netns exec "$NS_NODE" strace -f --seccomp-bpf -qq -o /dev/null -e trace=sendmsg \
		-e inject=sendmsg:delay_enter=$((HOLD_MS * 1000)):when=1 \
		"$SVCNAT" -c "$SVCNAT_CONF" -v --service-cidr "$SVC_CIDR" --state-dir "$STATE" \
		--lock-file "$LOCK" apply -f "$WORK/$target.json" >"$WORK/out" 2>&1 &
	tracer=$!
	# svcnat is strace's child; it is held as soon as /proc/PID/syscall shows sendmsg.
	held=0
	for ((t = 0; t < 1000; t++)); do
		child=$(pgrep -P "$tracer" | head -1)
		if [ -n "$child" ] && read -r nr _ 2>/dev/null <"/proc/$child/syscall" &&
			[ "$nr" = "$SENDMSG_NR" ]; then
			held=1
			break
		fi
		kill -0 "$tracer" 2>/dev/null || break
		sleep 0.01
	done
	[ "$held" = 1 ] || { wait "$tracer"; fail "run $i: svcnat was never seen held at its commit: $(cat "$WORK/out")"; }
	interfere "$i" "$kind" || fail "run $i: the other program's commit ($kind) failed"
	wait "$tracer"
	rc=$?
	out=$(cat "$WORK/out")
	[ "$rc" -eq 0 ] || fail "run $i ($kind): svcnat exited $rc: $out"
	n=$(grep -c 'the ruleset changed while svcnat read it: reading again' <<<"$out")
	[ "$n" -eq 1 ] || fail "run $i ($kind): svcnat said 'reading again' $n times (the other program's commit came while it was held, so once): $out"
	[ "$(listing "$NS_NODE")" = "$(cat "$WORK/$target.expect")" ] ||
		fail "run $i ($kind): the kernel does not hold $target's compile output: $(diff <(listing "$NS_NODE") "$WORK/$target.expect" | head -10)"
	check_others "$i" "run $i ($kind)"
	out=$(sn apply -f "$WORK/$target.json" 2>&1) || fail "run $i: the apply after it: $out"
	assert_match '^svcnat: no changes' "$out" "run $i ($kind): another apply of $target"
	state=$target
	log "run $i: $kind during the commit of $target: refused, read again, converged"
done
log "part 1: $RUNS runs in $((SECONDS - start)) s"

log "part 2: a neighbour committing every 150 ms during five applies"
(
	j=0
	while [ ! -e "$WORK/stop" ]; do
		j=$((j + 1))
		in_node nft add table ip busy$j 2>/dev/null
		echo "$j" >"$WORK/busy"
		sleep 0.15
	done
) &
busy=$!
at_exit "touch '$WORK/stop'; kill $busy 2>/dev/null"
ok=0 gaveup=0 retried=0
for ((i = 1; i <= 5; i++)); do
	target=$(other "$state")
	out=$(sn -v apply -f "$WORK/$target.json" 2>&1) && rc=0 || rc=$?
	retried=$((retried + $(grep -c 'reading again' <<<"$out")))
	case $rc in
	0)
		ok=$((ok + 1))
		[ "$(listing "$NS_NODE")" = "$(cat "$WORK/$target.expect")" ] ||
			fail "part 2, apply $i of $target exited 0 but the kernel does not hold it"
		state=$target
		;;
	3)
		gaveup=$((gaveup + 1))
		[ "$(listing "$NS_NODE")" = "$(cat "$WORK/$state.expect")" ] ||
			fail "part 2, apply $i of $target gave up (exit 3) but the kernel does not hold $state whole: $out"
		;;
	*) fail "part 2, apply $i of $target exited $rc: $out" ;;
	esac
done
touch "$WORK/stop"
wait "$busy"
nbusy=$(cat "$WORK/busy")
tables=$(in_node nft list tables)
for ((j = 1; j <= nbusy; j++)); do
	grep -qx "table ip busy$j" <<<"$tables" || fail "part 2: the neighbour's table busy$j is gone"
done
check_others "$RUNS" "part 2"
out=$(sn apply -f "$WORK/$state.json" 2>&1) || fail "part 2: the quiet apply after the neighbour stopped: $out"
[ "$(listing "$NS_NODE")" = "$(cat "$WORK/$state.expect")" ] || fail "part 2: no convergence once the neighbour stopped"
log "part 2: $ok applies succeeded ($retried retries), $gaveup gave up with the old ruleset whole; the neighbour's $nbusy tables are all there"

# svcnat's own table must be read as it is, whatever other tables hold: neither a chain
# of another table taken for one of svcnat's (deleting it from svcnat's table fails), nor
# a base chain of another table taken for a change of shape (the whole table reloaded,
# the counters reset).
log "part 3: neighbours' tables with chains, then another commit, then an apply"
errors=()
part3()
{
	local what=$1 def=$2 fw out rc

	in_node nft -f - <<<"$def" || fail "cannot create the neighbour's table ($what)"
	fw=$(in_node nft list table ip neighbour)
	in_node nft add table ip another-$RANDOM || fail "nft add table"
	target=$(other "$state")
	out=$(sn apply -f "$WORK/$target.json" 2>&1) && rc=0 || rc=$?
	if [ "$rc" -ne 0 ]; then
		errors+=("with $what, apply exited $rc: $(head -3 <<<"$out" | tr '\n' ' ')")
	else
		state=$target
		[ "$(listing "$NS_NODE")" = "$(cat "$WORK/$target.expect")" ] ||
			errors+=("with $what, the kernel does not hold $target")
		[[ $out != *"whole table loaded"* ]] ||
			errors+=("with $what, svcnat reloaded its whole table (its counters reset): $out")
	fi
	[ "$fw" = "$(in_node nft list table ip neighbour)" ] || errors+=("with $what, the neighbour's table changed")
	in_node nft delete table ip neighbour
}
part3 "a neighbour's table with a base chain and a regular chain" '
table ip neighbour {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 22 jump ssh
	}
	chain ssh {
		counter accept
	}
}'
part3 "a neighbour's table with a regular chain only" '
table ip neighbour {
	chain helpers {
		counter
	}
}'
[ ${#errors[@]} -eq 0 ] || fail "part 3: $(printf '%s; ' "${errors[@]}")"
log "ok"
