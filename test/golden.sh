#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Golden tests of `svcnat compile`: the script printed for each input must be, byte for
# byte, the expected one, and every expected script must be accepted by `nft -c -f`.
#
#   test/golden.sh [--update] [NAME...]
#
# Cases, each compiled from the source directory (the "# from:" line holds the path) as
#   svcnat -c /dev/null --service-cidr 198.18.0.0/16 --state-dir /nonexistent [ARGS] compile -f INPUT
# (the state directory does not exist, so allocation is fresh and deterministic; the
# empty configuration keeps a host's /etc/svcnat/svcnat.yaml out of it):
#   rules/NAME/                  -> test/golden/NAME.nft   (the seed scenarios)
#   test/golden/inputs/NAME.yaml, .yml, .json or NAME/ (a directory)
#                                -> test/golden/NAME.nft
#   test/golden/inputs/NAME.args  extra global options for NAME, whitespace separated
#                                 (lines starting with # are comments)
# The inputs kubectl-list.json and kubectl-list-yaml.yaml were made with
#   test/gen-workload --services 6 --endpoints 0-3 --ports 1-2 --seed 42
#   test/gen-workload --services 4 --endpoints 1-2 --ports 2 --seed 43 --format yaml-list
# (kubectl get -o json / -o yaml style); the others with kubectl create ... --dry-run=client
# and by hand, as their comments say.
# A mismatch prints a unified diff (expected, then actual). --update rewrites the expected
# files from the current svcnat instead (review the diff before committing). NAME...
# selects cases. The nft -c part runs in a fresh network namespace (unshare -n as root,
# else unshare -rn); where neither works it is skipped, loudly.
# Exit 0 pass, 1 fail. Needs no root.
set -u -o pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$SRCDIR" || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) build_dir=$BUILD ;; *) build_dir=$SRCDIR/$BUILD ;; esac
SVCNAT=${SVCNAT:-$build_dir/svcnat}
GOLDEN=test/golden
STATE_DIR=/nonexistent
export LC_ALL=C
PATH=$PATH:/usr/sbin:/sbin
TEST_NAME=golden.sh

update=0
names=()
for a in "$@"; do
	case $a in
	--update) update=1 ;;
	-h | --help) awk 'NR > 3 && /^#/ { sub(/^# ?/, ""); print; next } NR > 3 { exit }' "$0"; exit 0 ;;
	-*) echo "usage: $0 [--update] [NAME...]" >&2; exit 2 ;;
	*) names+=("$a") ;;
	esac
done

fail() { printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2; exit 1; }

[ -x "$SVCNAT" ] || fail "$SVCNAT is missing; build it with 'make BUILD=$BUILD'"
[ ! -e "$STATE_DIR" ] || fail "$STATE_DIR exists: the golden scripts assume a fresh allocation"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/svcnat-golden.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT

# Case list: NAME<TAB>INPUT<TAB>ARGS FILE (or -)
cases=()
for d in rules/*/; do
	[ -d "$d" ] || continue
	d=${d%/}
	cases+=("${d#rules/}"$'\t'"$d"$'\t'-)
done
for f in "$GOLDEN"/inputs/*; do
	[ -e "$f" ] || continue
	base=${f##*/}
	case $base in
	*.args) continue ;;
	*.yaml | *.yml | *.json) name=${base%.*} ;;
	*) [ -d "$f" ] || fail "$f: not a .yaml, .yml, .json, .args file or a directory"; name=$base ;;
	esac
	args=-
	[ -f "$GOLDEN/inputs/$name.args" ] && args=$GOLDEN/inputs/$name.args
	cases+=("$name"$'\t'"$f"$'\t'"$args")
done
[ ${#cases[@]} -gt 0 ] || fail "no cases (rules/*/ and $GOLDEN/inputs/* are empty)"

selected()
{
	local n

	[ ${#names[@]} -eq 0 ] && return 0
	for n in "${names[@]}"; do
		[ "$n" = "$1" ] && return 0
	done
	return 1
}

# Every name once: two inputs may not map to one expected file.
dups=$(printf '%s\n' "${cases[@]}" | cut -f1 | sort | uniq -d)
[ -z "$dups" ] || fail "several inputs for one expected file: $dups"

npass=0 nfail=0 nupdated=0 checked=()
failed_names=()
for c in "${cases[@]}"; do
	IFS=$'\t' read -r name input argfile <<<"$c"
	selected "$name" || continue
	extra=()
	if [ "$argfile" != - ]; then
		# shellcheck disable=SC2207
		extra=($(grep -v '^[[:space:]]*#' "$argfile"))
	fi
	expected=$GOLDEN/$name.nft
	actual=$tmp/$name.nft
	cmd=("$SVCNAT" -c /dev/null --service-cidr 198.18.0.0/16 --state-dir "$STATE_DIR" "${extra[@]}"
		compile -f "$input")
	"${cmd[@]}" >"$actual" 2>"$tmp/$name.err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $name: svcnat compile exited with status $rc (${cmd[*]#"$SRCDIR"/}):"
		sed 's/^/    | /' "$tmp/$name.err"
		nfail=$((nfail + 1)) failed_names+=("$name")
		continue
	fi
	# The same input twice gives the same script.
	if ! "${cmd[@]}" 2>/dev/null | cmp -s - "$actual"; then
		echo "FAIL: $name: two runs of svcnat compile printed different scripts"
		nfail=$((nfail + 1)) failed_names+=("$name")
		continue
	fi
	if [ "$update" = 1 ]; then
		if ! cmp -s "$actual" "$expected" 2>/dev/null; then
			cp "$actual" "$expected"
			echo "updated: $expected"
			nupdated=$((nupdated + 1))
		fi
		checked+=("$expected")
		continue
	fi
	if [ ! -f "$expected" ]; then
		echo "FAIL: $name: $expected is missing (create it with test/golden.sh --update $name, then review it)"
		nfail=$((nfail + 1)) failed_names+=("$name")
		continue
	fi
	checked+=("$expected")
	if diff -u --label "$expected" --label "svcnat compile -f $input${extra[*]:+ (${extra[*]})}" \
		"$expected" "$actual" >"$tmp/$name.diff"; then
		echo "ok: $name"
		npass=$((npass + 1))
	else
		echo "FAIL: $name: the compiled script differs from $expected:"
		cat "$tmp/$name.diff"
		nfail=$((nfail + 1)) failed_names+=("$name")
	fi
done

# Expected files whose input is gone.
if [ ${#names[@]} -eq 0 ]; then
	for e in "$GOLDEN"/*.nft; do
		[ -e "$e" ] || continue
		n=${e##*/}
		n=${n%.nft}
		if ! printf '%s\n' "${cases[@]}" | cut -f1 | grep -qxF -- "$n"; then
			echo "FAIL: $e has no input (rules/$n/ or $GOLDEN/inputs/$n.*): delete it"
			nfail=$((nfail + 1)) failed_names+=("$n")
		fi
	done
fi

# nft -c: every expected script is a valid ruleset for this kernel and nft, checked in a
# namespace of our own so that the host's ruleset is never involved.
netns=()
if ! command -v nft >/dev/null; then
	netns=()
elif [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
	netns=(unshare -n)
elif unshare -rn true 2>/dev/null; then
	netns=(unshare -rn)
fi
if [ ${#netns[@]} -eq 0 ]; then
	{
		echo "************************************************************************"
		echo "SKIP (part): $TEST_NAME: nft -c of the expected scripts: needs nft(8) and"
		echo "a network namespace (root with 'unshare -n', or 'unshare -rn'); neither works here"
		echo "************************************************************************"
	} >&2
else
	for e in "${checked[@]}"; do
		if out=$("${netns[@]}" nft -c -f "$e" 2>&1); then
			echo "ok: nft -c -f $e"
		else
			echo "FAIL: nft -c -f $e (in ${netns[*]}) rejects it:"
			printf '%s\n' "$out" | sed 's/^/    | /'
			nfail=$((nfail + 1)) failed_names+=("nft -c $e")
		fi
	done
fi

if [ "$update" = 1 ]; then
	echo "$TEST_NAME: $nupdated expected file(s) updated; review with git diff $GOLDEN"
else
	echo "$TEST_NAME: $npass matched, $nfail failed${failed_names[*]:+: ${failed_names[*]}}"
fi
[ "$nfail" -eq 0 ]
