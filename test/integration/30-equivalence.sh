#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Equivalence of svcnat's two ways to the kernel: the nft script of `svcnat compile`
# loaded with `nft -f`, and `svcnat apply` through netlink (cold, incremental, dry run)
# must leave the same ruleset (`nft list ruleset`, normalised by test/lib/nft-normalize).
#
# Namespaces (fresh for every case, deleted afterwards):
#   A  reference: `nft -f` of `svcnat compile` (reloaded, whole table, at every step)
#   B  `svcnat apply`: cold, then incrementally step after step
#   C  `svcnat apply --dry-run` while C holds the previous step: its output fed to `nft -f`
# Cases:
#   1. every seed scenario rules/N-*/ cold: A == B; a second apply says "no changes"
#   2. the seed scenarios in order as one sequence (1-nginx -> ... -> 5-loadbalancer),
#      allocations carried over in B's state directory
#   3. gen-workload, seeds 1 2 3, 50 services, 1-5 (seed 3: 0-5) endpoints, 1-3 ports:
#      step 0 cold, then 5 mutated steps
# At every step of a sequence, after B's apply: A (fresh compile, same allocations) == B;
# a second apply in B says "no changes"; C's dry run fed to nft gives B's ruleset, and a
# real apply in C then says "no changes" (the nft-loaded ruleset is what svcnat wants).
# For the workloads, `svcnat apply` in A (loaded by nft, no cache) says "no changes" too.
# Listings are compared after nft-normalize and with the chains, sets and maps of a table
# in name order (creation order differs, see canon.py below). Where nft has the typeof
# map bug described below, dry runs that add chains are checked in part, with a warning.
# svcnat runs with -c /dev/null, --service-cidr 198.18.0.0/16 and a state directory and
# lock file of each namespace's own under a temporary directory.
# EQ_SEEDS ("1 2 3"), EQ_STEPS (5), EQ_SERVICES (50) change the workloads.
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces).
set -u -o pipefail

. "$(dirname "$0")/../lib/netns.sh"

SERVICE_CIDR=198.18.0.0/16
GEN=$SRCDIR/test/gen-workload
NORMALIZE=$SRCDIR/test/lib/nft-normalize
SEEDS=${EQ_SEEDS:-"1 2 3"}
STEPS=${EQ_STEPS:-5}
NSVC=${EQ_SERVICES:-50}

require_root_netns
[ -x "$SVCNAT" ] || fail "$SVCNAT is missing; build it with 'make BUILD=$BUILD'"
command -v python3 >/dev/null || fail "python3 is missing (gen-workload, nft-normalize)"
# The interpreter itself: a version manager's python3 shim costs ~0.1 s a call.
PY=$(python3 -c 'import sys; print(sys.executable)') && [ -x "$PY" ] || PY=python3
cd "$SRCDIR" || fail "cd $SRCDIR"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/svcnat-eq.XXXXXX") || fail "mktemp"
NS_LIST=()
cleanup()
{
	local ns

	trap - EXIT
	trap '' INT TERM HUP
	for ns in "${NS_LIST[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

failures=0
checks=0
START=$SECONDS

# A failed check is reported and counted; the test goes on, to report everything.
check_fail()
{
	printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
	failures=$((failures + 1))
}

# ns_new VAR SUFFIX: a fresh namespace, remembered for cleanup.
ns_new()
{
	local name=${NETNS_PREFIX}eq-$2

	ip netns del "$name" 2>/dev/null
	ip netns add "$name" || fail "ip netns add $name"
	NS_LIST+=("$name")
	printf -v "$1" %s "$name"
}

ns_del()
{
	local ns

	for ns in "$@"; do
		ip netns del "$ns" 2>/dev/null
	done
}

# svcnat with the test's fixed options; STATE is a state directory of the case's own.
sv() # NS|- STATE ARGS...
{
	local ns=$1 state=$2

	shift 2
	if [ "$ns" = - ]; then
		"$SVCNAT" -c /dev/null --service-cidr "$SERVICE_CIDR" --state-dir "$state" \
			--lock-file "$state.lock" "$@"
	else
		ip netns exec "$ns" "$SVCNAT" -c /dev/null --service-cidr "$SERVICE_CIDR" \
			--state-dir "$state" --lock-file "$state.lock" "$@"
	fi
}

# canon.py NFT-NORMALIZE [--no-sort] < listing: test/lib/nft-normalize's normalize(),
# loaded as a module and fed each elements block joined into one line beforehand, exactly
# as it joins them itself (the same output; run as a filter it rescans a block at every
# line, which takes about 0.5 s for a 50-service listing). Then the chains, sets and maps
# of each table are sorted by their header line: the kernel lists them in creation order,
# and while a whole-table load creates them in the script's order, an incremental apply
# appends a new chain (a new endpoint count) at the end. That order has no meaning;
# everything inside a block (rule order included) is kept as it is.
cat >"$TMP/canon.py" <<'EOF'
import importlib.machinery, importlib.util, re, sys

loader = importlib.machinery.SourceFileLoader("nft_normalize", sys.argv[1])
spec = importlib.util.spec_from_loader("nft_normalize", loader)
nn = importlib.util.module_from_spec(spec)
loader.exec_module(nn)


def closes(text, state):
    """Scans text as nn.split_elements does; True once the block's closing brace is seen."""
    for ch in text:
        if ch == '"':
            state[0] = not state[0]
        elif not state[0] and ch == "{":
            state[1] += 1
        elif not state[0] and ch == "}":
            if state[1] == 0:
                return True
            state[1] -= 1
    return False


def prejoin(raw):
    out, cur, state = [], None, None
    for line in raw:
        line = nn.COUNTER.sub("counter", nn.HANDLE.sub("", line.rstrip("\n")))
        if cur is None:
            m = re.match(r"^(\s*)elements = \{(.*)$", line)
            if not m:
                out.append(line)
                continue
            cur, state, text = line, [False, 0], m.group(2)
        else:
            cur, text = cur + " " + line.strip(), " " + line.strip()
        if closes(text, state):
            out.append(cur)
            cur = None
    if cur is not None:
        out.append(cur)
    return out


def sort_blocks(lines):
    out, head, blocks, cur, depth = [], None, None, None, 0
    for line in lines:
        if depth == 0:
            if re.match(r"table \S+ \S+ \{$", line):
                head, blocks = [], []
            out.append(line)
        elif depth == 1 and line == "}":
            out.extend(l for l in head if l.strip())
            out.append("\n\n".join(sorted(blocks)))
            out.append(line)
            head = blocks = None
        elif depth == 1 and cur is None and re.match(r"\t[a-z ]+ \S+ \{$", line):
            cur = [line]
        elif cur is not None:
            cur.append(line)
        else:
            head.append(line)
        depth += line.count("{") - line.count("}")
        if cur is not None and depth == 1:
            blocks.append("\n".join(cur))
            cur = None
    return out


lines = nn.normalize(prejoin(sys.stdin))
if "--no-sort" not in sys.argv:
    lines = sort_blocks(lines)
sys.stdout.write("".join(l + "\n" for l in lines))
EOF

# listing NS OUT: the normalised ruleset of NS.
listing()
{
	ip netns exec "$1" nft list ruleset >"$2.raw" || { check_fail "nft list ruleset in $1 failed"; return 1; }
	"$PY" "$TMP/canon.py" "$NORMALIZE" <"$2.raw" >"$2" || { check_fail "normalising $2.raw failed"; return 1; }
	[ -s "$2" ] || check_fail "$1 holds no ruleset at all ($2)"
}

# same WHAT EXPECTED ACTUAL: equal listings, else a failure with the diff.
same()
{
	checks=$((checks + 1))
	if ! cmp -s "$2" "$3"; then
		check_fail "$1: rulesets differ (--- ${2##*/} +++ ${3##*/}):"
		diff -u "$2" "$3" | head -60 | sed 's/^/    | /' >&2
		return 1
	fi
}

# same_history WHAT STEP EXPECTED ACTUAL: same, but after step 0 blind to set sizes, which
# B's sets keep from the load that made them while they have room.
same_history()
{
	if [ "$2" -eq 0 ]; then
		same "$1" "$3" "$4"
		return
	fi
	drop_set_sizes <"$3" >"$3.sizeless"
	drop_set_sizes <"$4" >"$4.sizeless"
	same "$1" "$3.sizeless" "$4.sizeless"
}

# apply_ok WHAT NS STATE INPUT... : svcnat apply succeeds (output in $TMP/last-apply).
apply_ok()
{
	local what=$1 ns=$2 state=$3

	shift 3
	checks=$((checks + 1))
	if ! sv "$ns" "$state" apply "${@/#/-f}" >"$TMP/last-apply" 2>&1; then
		check_fail "$what: svcnat apply failed:"
		sed 's/^/    | /' "$TMP/last-apply" >&2
		return 1
	fi
}

# no_changes WHAT NS STATE INPUT... : a repeated apply changes nothing and says so.
no_changes()
{
	local what=$1

	apply_ok "$@" || return 1
	checks=$((checks + 1))
	grep -q '^svcnat: no changes' "$TMP/last-apply" ||
		{ check_fail "$what: expected 'no changes', got: $(tr '\n' ' ' <"$TMP/last-apply")"; return 1; }
}

# nft_load WHAT NS FILE
nft_load()
{
	checks=$((checks + 1))
	if ! ip netns exec "$2" nft -f "$3" >"$TMP/last-nft" 2>&1; then
		check_fail "$1: nft -f $3 failed:"
		sed 's/^/    | /' "$TMP/last-nft" | head -30 >&2
		return 1
	fi
}

# compile_to WHAT STATE OUT INPUT...
compile_to()
{
	local what=$1 state=$2 out=$3

	shift 3
	checks=$((checks + 1))
	if ! sv - "$state" -q compile "${@/#/-f}" >"$out" 2>"$out.err"; then
		check_fail "$what: svcnat compile failed:"
		sed 's/^/    | /' "$out.err" >&2
		return 1
	fi
}

# The -f prefix above glues the path to -f (-fPATH), which getopt takes as -f PATH.

# ---- 1. every seed scenario, cold ----------------------------------------------------

cold_case()
{
	local input=$1 tag=$2 A B dir=$TMP/cold-$2

	mkdir -p "$dir"
	ns_new A "$tag-a"
	ns_new B "$tag-b"
	compile_to "$input cold" "$dir/state-a" "$dir/compiled.nft" "$input" &&
		nft_load "$input cold (A)" "$A" "$dir/compiled.nft" &&
		apply_ok "$input cold (B)" "$B" "$dir/state-b" "$input" &&
		listing "$A" "$dir/A.list" && listing "$B" "$dir/B.list" &&
		same "$input: cold apply (B) vs nft -f of compile (A)" "$dir/A.list" "$dir/B.list"
	no_changes "$input: second apply in B" "$B" "$dir/state-b" "$input"
	[ -e "$dir/state-a" ] && check_fail "$input: compile wrote its state directory $dir/state-a"
	ns_del "$A" "$B"
}

n=0
for d in rules/*/; do
	[ -d "$d" ] || continue
	n=$((n + 1))
	cold_case "${d%/}" "c$n"
done
[ "$n" -gt 0 ] || fail "no seed scenarios in rules/"
log "seed scenarios cold: $n checked ($((SECONDS - START)) s)"

# ---- nft 1.0.6 and typeof maps -----------------------------------------------------------
#
# nft 1.0.6 cannot add a rule that uses an existing typeof map whose data is a
# concatenation such as "ip daddr . th dport" (service-backends, nodeport-backends):
# "Error: conflicting protocols specified: ip vs. th". Only a script that creates the map
# in the same transaction works. A dry run that adds a K chain (a new endpoint count)
# holds exactly such a rule. Where this nft has the bug, such a dry run is checked
# without those rules: the rest is loaded and compared, the left-out rules must be in
# B's listing word for word, and a real apply in C then adds them. EQ_STRICT_DRYRUN=1
# makes this a failure instead.

nft_typeof_bug()
{
	local ns out

	ns_new ns probe
	ip netns exec "$ns" nft -f - <<-'EOF' || fail "probe: nft cannot create a typeof map"
	table ip probe {
		map m { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : ip daddr . th dport; }
		chain c { }
	}
	EOF
	out=$(ip netns exec "$ns" nft add rule ip probe c dnat ip to ip daddr . meta l4proto . th dport . \
		numgen random mod 1 map @m 2>&1)
	local rc=$?
	ns_del "$ns"
	[ "$rc" -ne 0 ] && [[ $out == *"conflicting protocols"* ]]
}

NFT_TYPEOF_BUG=0
workarounds=0
if nft_typeof_bug; then
	NFT_TYPEOF_BUG=1
	{
		echo "************************************************************************"
		echo "WARNING: $TEST_NAME: $(nft --version 2>/dev/null) cannot add a rule that uses an"
		echo "existing typeof map with \"ip daddr . th dport\" data ('conflicting protocols"
		echo "specified: ip vs. th'): dry runs that add a chain are checked without those rules"
		echo "************************************************************************"
	} >&2
fi

# dry_run_check WHAT C STATE INPUT DIR K: C holds step K-1; B holds step K ($DIR/B$K.list).
dry_run_check()
{
	local what=$1 C=$2 sc=$3 input=$4 dir=$5 k=$6 dry=$5/dry$6.nft

	checks=$((checks + 1))
	if ! sv "$C" "$sc" apply --dry-run -f "$input" >"$dry" 2>"$dry.err"; then
		check_fail "$what: apply --dry-run in C failed:"
		sed 's/^/    | /' "$dry.err" >&2
		return 1
	fi
	if ip netns exec "$C" nft -f "$dry" >"$dry.nft-err" 2>&1; then
		listing "$C" "$dir/C$k.list" &&
			same "$what: C (step $((k - 1)) + dry run via nft) vs B" "$dir/C$k.list" "$dir/B$k.list"
		# What nft loaded is what svcnat wants: a real apply changes nothing.
		no_changes "$what: apply in C after the dry run was loaded" "$C" "$sc" "$input"
		return
	fi
	if [ "$NFT_TYPEOF_BUG" = 0 ] || [ "${EQ_STRICT_DRYRUN:-0}" = 1 ] ||
		! grep -q 'conflicting protocols specified' "$dry.nft-err"; then
		check_fail "$what: nft -f of the dry run in C failed:"
		sed 's/^/    | /' "$dry.nft-err" | head -20 >&2
		return 1
	fi
	# The rules of chains the script itself adds go aside.
	workarounds=$((workarounds + 1))
	awk -v left="$dry.left" '
		$1 == "add" && $2 == "chain" { new[$3 " " $4 " " $5] = 1 }
		$1 == "add" && $2 == "rule" && (($3 " " $4 " " $5) in new) {
			stmt = $0; sub(/^add rule [^ ]+ [^ ]+ [^ ]+ /, "", stmt)
			print $3 "\t" $4 "\t" $5 "\t" stmt > left; next }
		{ print }' "$dry" >"$dry.partial"
	nft_load "$what: the dry run without the rules of its new chains, fed to nft in C" \
		"$C" "$dry.partial" || return 1
	listing "$C" "$dir/C$k.list" || return 1
	# B's listing without those rules; each must be there.
	if ! "$PY" - "$dir/B$k.list" "$dry.left" >"$dir/B$k.partial.list" 2>"$dry.left.err" <<-'EOF'
	import sys
	lines = open(sys.argv[1]).read().split("\n")
	for spec in open(sys.argv[2]).read().splitlines():
	    fam, table, chain, stmt = spec.split("\t")
	    t = c = None
	    for i, l in enumerate(lines):
	        if l == "table %s %s {" % (fam, table):
	            t = i
	        elif t is not None and c is None and l == "\tchain %s {" % chain:
	            c = i
	        elif c is not None and l == "\t\t" + stmt:
	            del lines[i]
	            break
	        elif c is not None and l == "\t}":
	            sys.exit("rule '%s' of %s %s %s is not in B's listing" % (stmt, fam, table, chain))
	    else:
	        sys.exit("chain %s %s %s is not in B's listing" % (fam, table, chain))
	sys.stdout.write("\n".join(lines))
	EOF
	then
		check_fail "$what: the dry run adds a rule B does not have: $(cat "$dry.left.err")"
		return 1
	fi
	same "$what: C (step $((k - 1)) + dry run via nft, without the rules of new chains) vs B" \
		"$dir/C$k.list" "$dir/B$k.partial.list" || return 1
	# A real apply in C adds the left-out rules, and nothing else.
	apply_ok "$what: apply in C after the partial dry run" "$C" "$sc" "$input" || return 1
	listing "$C" "$dir/C$k.list" &&
		same "$what: C after the apply that completed the dry run vs B" "$dir/C$k.list" "$dir/B$k.list"
}

# ---- 2./3. sequences --------------------------------------------------------------------

# sequence TAG INPUT0 INPUT1 ...: INPUT0 cold in A, B and C, then each next input as an
# incremental step. Workload steps also check an apply in A (see above).
sequence()
{
	local tag=$1 A B C dir=$TMP/seq-$1 k=0 input what
	local sa sb sc

	shift
	mkdir -p "$dir"
	sa=$dir/state-a sb=$dir/state-b sc=$dir/state-c
	ns_new A "$tag-a"
	ns_new B "$tag-b"
	ns_new C "$tag-c"
	for input in "$@"; do
		what="$tag step $k (${input#"$TMP"/})"
		# B: the real apply (cold at step 0).
		if ! apply_ok "$what: apply in B" "$B" "$sb" "$input"; then
			k=$((k + 1))
			continue
		fi
		listing "$B" "$dir/B$k.list"
		no_changes "$what: second apply in B" "$B" "$sb" "$input"
		# A: a fresh whole-table load of compile, with B's allocations (read only).
		compile_to "$what" "$sb" "$dir/compiled$k.nft" "$input" &&
			nft_load "$what: A" "$A" "$dir/compiled$k.nft" &&
			listing "$A" "$dir/A$k.list" &&
			same_history "$what: nft -f of compile (A) vs svcnat apply (B)" "$k" "$dir/A$k.list" "$dir/B$k.list"
		if [ "$tag" != seeds ]; then
			no_changes "$what: svcnat apply in A, loaded by nft" "$A" "$sa" "$input"
		fi
		# C: holds the previous step; its dry run, fed to nft, must give B's ruleset.
		if [ "$k" -eq 0 ]; then
			apply_ok "$what: cold apply in C" "$C" "$sc" "$input"
		else
			dry_run_check "$what" "$C" "$sc" "$input" "$dir" "$k"
		fi
		k=$((k + 1))
	done
	ns_del "$A" "$B" "$C"
}

seeds=()
for d in rules/*/; do
	[ -d "$d" ] && seeds+=("${d%/}")
done
sequence seeds "${seeds[@]}"
log "seed scenarios as one sequence: ${#seeds[@]} steps ($((SECONDS - START)) s)"

for seed in $SEEDS; do
	eps=1-5
	[ "$seed" = 3 ] && eps=0-5
	files=()
	for ((k = 0; k <= STEPS; k++)); do
		f=$TMP/wl-s$seed-step$k.json
		# Odd steps as YAML, so both readers are exercised.
		fmt=json
		[ $((k % 2)) = 1 ] && fmt=yaml f=${f%.json}.yaml
		"$PY" "$GEN" --services "$NSVC" --endpoints "$eps" --ports 1-3 --seed "$seed" --step "$k" \
			--format "$fmt" -o "$f" || fail "gen-workload --seed $seed --step $k failed"
		files+=("$f")
	done
	sequence "w$seed" "${files[@]}"
	log "workload seed $seed: $NSVC services, $eps endpoints, steps 0-$STEPS ($((SECONDS - START)) s)"
done

[ "$workarounds" -eq 0 ] ||
	log "WARNING: $workarounds dry run(s) checked without the rules of their new chains (nft bug, see above)"
log "$checks checks, $failures failed, $((SECONDS - START)) s"
[ "$failures" -eq 0 ] || fail "$failures of $checks checks failed"
exit 0
