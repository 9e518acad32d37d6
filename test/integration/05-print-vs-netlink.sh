#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The two back ends of the ruleset description must give the kernel the same
# ruleset: test/tools/rs-equiv builds a sample ruleset by hand (every set kind,
# every statement kind, K = 1, 2, 3 chains, comments that need sanitising), then
#   A: `nft -c -f` and `nft -f` of its printed script (print_nft.c)
#   B: its load through nlbuild.c + nlbatch.c (one netlink batch)
# and `nft list ruleset` of A and B, normalised by test/lib/nft-normalize (element
# order is the kernel's hash order), must be identical.  Each back end must also
# replace a table the other loaded without changing the listing.  Cases: ip, ip6,
# both tables at once, and ip with 3000 more services (element lists split over
# several messages and batch pages).  For ip and ip6, the messages of the netlink
# batch must also equal those `nft --debug=mnl -f` shows nft sending for the script,
# attribute for attribute (set ids aside).
# Then the error path, in B: a batch the kernel refuses (an element's goto to a
# missing chain, a rule's lookup of a missing set; a stale generation id; a dry
# run) reports the object, errno and place, and leaves ruleset and generation id
# unchanged.
#
# Build the tool (the Makefile rule is the lead's):
#   gcc -std=gnu11 -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
#       -Wwrite-strings -O2 -g -Iinclude -o build/test/rs-equiv test/tools/rs-equiv.c \
#       src/arena.c src/addr.c src/ruleset.c src/print_nft.c src/nlbuild.c src/nlbatch.c \
#       $(pkg-config --cflags --libs libnftnl libmnl)
#
# Exit 0 pass, 1 fail, 77 skip (not root, or no network namespaces).
set -u -o pipefail

. "$(dirname "$0")/../lib/netns.sh"

RS_EQUIV=${RS_EQUIV:-$_build_dir/test/rs-equiv}
NORMALIZE=$SRCDIR/test/lib/nft-normalize

require_root_netns
[ -x "$RS_EQUIV" ] || fail "$RS_EQUIV is missing; build it with the gcc command at the top of $0"
command -v python3 >/dev/null || fail "python3 is missing (test/lib/nft-normalize)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/svcnat-pn.XXXXXX") || fail "mktemp"
NS_A=${NETNS_PREFIX}pn-a
NS_B=${NETNS_PREFIX}pn-b
cleanup()
{
	trap - EXIT
	trap '' INT TERM HUP
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

failures=0
check_fail()
{
	printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
	failures=$((failures + 1))
}

fresh_netns()
{
	local ns

	for ns in "$NS_A" "$NS_B"; do
		ip netns del "$ns" 2>/dev/null
		ip netns add "$ns" || fail "ip netns add $ns"
	done
}

# listing NS OUT: the normalised ruleset of NS.
listing()
{
	ip netns exec "$1" nft list ruleset >"$2.raw" || { check_fail "nft list ruleset in $1"; return 1; }
	"$NORMALIZE" <"$2.raw" >"$2" || { check_fail "nft-normalize failed on $2.raw"; return 1; }
}

# same WHAT A B: identical files, else a failure with the start of the diff.
same()
{
	if cmp -s "$2" "$3"; then
		log "ok: $1"
		return 0
	fi
	check_fail "$1: listings differ ($2 vs $3):"
	diff -u "$2" "$3" | head -40 >&2
	return 1
}

genid() { ip netns exec "$NS_B" "$RS_EQUIV" genid; }

# One case: OPTIONS... for rs-equiv.
equivalence()
{
	local name=$1 out=$TMP/$1 t0

	shift
	fresh_netns
	"$RS_EQUIV" print "$@" >"$out.nft" || { check_fail "$name: rs-equiv print"; return; }
	ip netns exec "$NS_A" nft -c -f "$out.nft" || { check_fail "$name: nft -c -f refuses the script"; return; }
	log "ok: $name: nft -c -f accepts the printed script ($(wc -l <"$out.nft") lines)"
	ip netns exec "$NS_A" nft -f "$out.nft" || { check_fail "$name: nft -f refuses the script"; return; }
	t0=$(date +%s%N)
	ip netns exec "$NS_B" "$RS_EQUIV" load "$@" >"$out.load" 2>&1 ||
		{ check_fail "$name: netlink load failed: $(cat "$out.load")"; return; }
	log "$name: netlink: $(cat "$out.load") in $((($(date +%s%N) - t0) / 1000000)) ms"
	listing "$NS_A" "$out.A" && listing "$NS_B" "$out.B" || return
	[ -s "$out.A" ] && grep -q 'typeof' "$out.A" || check_fail "$name: the nft-loaded listing looks empty"
	same "$name: nft -f and netlink give the same ruleset" "$out.A" "$out.B" || return
	# Each back end replaces what the other loaded, and nothing changes.
	ip netns exec "$NS_A" "$RS_EQUIV" load "$@" >/dev/null || check_fail "$name: netlink reload over nft's table"
	ip netns exec "$NS_B" nft -f "$out.nft" || check_fail "$name: nft -f over the netlink table"
	listing "$NS_A" "$out.A2" && same "$name: netlink load over nft's table" "$out.A" "$out.A2"
	listing "$NS_B" "$out.B2" && same "$name: nft -f over the netlink table" "$out.B" "$out.B2"
}

# mnl_canon FILE: the batch messages of a `nft --debug=mnl` (or `rs-equiv dump`) listing,
# one attribute per line, nested attributes indented, siblings sorted by type (stable, so
# expressions and elements keep their order: nft emits base-chain attributes in another
# order than libnftnl).  Set ids are left out: nft numbers its sets and names them by id
# in element lists and lookups too; nlbuild numbers them its own way and names sets by name.
mnl_canon()
{
	python3 - "$1" <<'PY'
import re, sys
NEWSET, NEWSETELEM, NEWRULE = 2569, 2572, 2566
BATCH = {16, 17, 2560, 2562, 2563, NEWRULE, NEWSET, NEWSETELEM}   # begin, end, new/del table, ...
msgs, cur = [], None
for line in open(sys.argv[1], errors="replace"):
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    m = re.match(r"\| (\d+) \| \S+ \|\s+\|  type", line)
    if m:
        cur = {"type": int(m.group(1)), "items": []}
        msgs.append(cur)
        continue
    m = re.match(r"\|(\d+)\|(..)\|(\d+)\|", line)
    if m and cur:
        cur["items"].append((int(m.group(1)), "N" in m.group(2), int(m.group(3))))
        continue
    m = re.match(r"\| ((?:[0-9a-f]{2} ){4}) \|\s+\|\s+(data|extra header)", line)
    if m and cur:
        cur["items"].append(m.group(1).split())

def tree(items):
    pos = [1]                                   # items[0]: the nfgenmsg header
    def parse(nbytes):
        out, used = [], 0
        while used < nbytes and pos[0] < len(items):
            ln, nested, ty = items[pos[0]]
            pos[0] += 1
            al = (ln + 3) & ~3
            if nested:
                out.append((ty, parse(al - 4)))
            else:
                words = [b for w in items[pos[0]:pos[0] + (al - 4) // 4] for b in w]
                pos[0] += (al - 4) // 4
                out.append((ty, " ".join(words[:ln - 4])))
            used += al
        return out
    return parse(1 << 30)

def drop_set_ids(mtype, t):
    if mtype == NEWSET:
        return [a for a in t if a[0] != 10]                 # NFTA_SET_ID
    if mtype == NEWSETELEM:
        return [a for a in t if a[0] != 4]                  # NFTA_SET_ELEM_LIST_SET_ID
    if mtype != NEWRULE:
        return t
    out = []
    for ty, v in t:
        if ty == 4:                                         # NFTA_RULE_EXPRESSIONS
            exprs = []
            for ety, e in v:
                name = bytes.fromhex(dict(e).get(1, "").replace(" ", "")).rstrip(b"\0").decode()
                drop = {"lookup": 4, "dynset": 2}.get(name)  # NFTA_LOOKUP_SET_ID, NFTA_DYNSET_SET_ID
                exprs.append((ety, [(k, [x for x in d if x[0] != drop]) if k == 2 and isinstance(d, list)
                                    else (k, d) for k, d in e]))
            v = exprs
        out.append((ty, v))
    return out

def canon(t, ind=""):
    for ty, v in sorted(t, key=lambda a: a[0]):
        if isinstance(v, list):
            print("%s%d {" % (ind, ty))
            canon(v, ind + "  ")
            print(ind + "}")
        else:
            print("%s%d = %s" % (ind, ty, v))

for m in msgs:
    if m["type"] in BATCH and m["type"] != 17:          # rs-equiv dump has no END
        print("message", m["type"])
        canon(drop_set_ids(m["type"], tree(m["items"])))
PY
}

# bytes OPTIONS...: rs-equiv's batch is the batch nft sends for the printed script.
bytes_equal()
{
	local out=$TMP/bytes

	"$RS_EQUIV" print "$@" >"$out.nft" && "$RS_EQUIV" dump "$@" >"$out.mine" ||
		{ check_fail "bytes $*: rs-equiv print/dump"; return; }
	fresh_netns
	ip netns exec "$NS_A" nft --debug=mnl -f "$out.nft" >"$out.nft-mnl" 2>&1 ||
		{ check_fail "bytes $*: nft --debug=mnl -f"; return; }
	mnl_canon "$out.nft-mnl" >"$out.A" && mnl_canon "$out.mine" >"$out.B" ||
		{ check_fail "bytes $*: decoding the message dumps"; return; }
	[ "$(grep -c '^message' "$out.B")" -gt 50 ] || check_fail "bytes $*: too few messages decoded"
	same "bytes $*: the netlink batch carries what nft sends, attribute for attribute" "$out.A" "$out.B"
}

# expect_refusal WHAT PATTERN OPTIONS...: rs-equiv load must exit 3 (refused), print
# PATTERN (an ERE), and leave the ruleset of B and its generation id as they were.
expect_refusal()
{
	local what=$1 pattern=$2 out=$TMP/refusal rc before after

	shift 2
	before=$(genid)
	ip netns exec "$NS_B" "$RS_EQUIV" load "$@" >"$out.log" 2>&1
	rc=$?
	after=$(genid)
	sed "s/^/    $what: /" "$out.log"
	[ "$rc" -eq 3 ] || check_fail "$what: rs-equiv load exited $rc, expected 3 (refused)"
	grep -Eq -- "$pattern" "$out.log" || check_fail "$what: no line matching /$pattern/"
	[ "$before" = "$after" ] || check_fail "$what: the generation id moved from $before to $after"
	listing "$NS_B" "$out.list" && same "$what: the ruleset is unchanged" "$TMP/ip.B" "$out.list"
}

errors()
{
	local gen

	fresh_netns
	ip netns exec "$NS_B" "$RS_EQUIV" load >/dev/null || { check_fail "errors: first load"; return; }
	listing "$NS_B" "$TMP/ip.B" || return
	expect_refusal "goto to a missing chain" \
		"kernel refused seq [0-9]+: map 'service-ips', element #4 comment \"default/web:http external IP\": No such file or directory" \
		--break goto
	# Elements go in chunks of 2048: the index counts across them.
	expect_refusal "goto to a missing chain, element 3004 of a bulk map" \
		"kernel refused seq [0-9]+: map 'service-ips', element #3004 comment \"default/web:http external IP\": No such file or directory" \
		--break goto --bulk 3000
	expect_refusal "two refusals in one batch" \
		"kernel refused seq [0-9]+: rule 1 of chain 'services', expression 4 \(lookup\): No such file or directory" \
		--break goto --break lookup
	[ "$(grep -c 'kernel refused' "$TMP/refusal.log")" -eq 2 ] ||
		check_fail "two refusals in one batch: expected both to be reported"
	expect_refusal "stale generation id" \
		"kernel refused seq [0-9]+: batch, generation [0-9]+ is stale: the ruleset changed, re-read it: " \
		--genid stale
	expect_refusal "dry run of a bad batch" "expression 4 \(lookup\): No such file or directory" \
		--dry-run --break lookup
	gen=$(genid)
	grep -q 'dry run' <<<"$(ip netns exec "$NS_B" "$RS_EQUIV" load --dry-run)" || check_fail "dry run of a good batch"
	[ "$(genid)" = "$gen" ] || check_fail "a dry run moved the generation id"
	grep -q 'commit acknowledged' <<<"$(ip netns exec "$NS_B" "$RS_EQUIV" load --genid current)" ||
		check_fail "a batch guarded by the current generation id"
	[ "$(genid)" -gt "$gen" ] || check_fail "a committed batch did not move the generation id"
	log "ok: refusals name the object, errno and place; nothing changes"
}

equivalence ip --family ip
equivalence ip6 --family ip6
equivalence both --family both
equivalence bulk --family ip --bulk 3000
bytes_equal --family ip
bytes_equal --family ip6
errors

if [ "$failures" -ne 0 ]; then
	echo "FAIL: $TEST_NAME: $failures check(s) failed" >&2
	exit 1
fi
log "PASS"
exit 0
