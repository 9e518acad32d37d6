#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bad-inputs.sh: every malformed input in test/bad/ must be refused with the exact
# message its .expect file holds, and nothing else.
#
#   [BUILD=build] [VALGRIND=1] [BAD_REGEN=1] test/bad-inputs.sh [PATTERN...]
#
# A case is test/bad/NAME.expect plus its input: NAME.yaml or NAME.json, given to
# svcnat as test/bad/NAME.yaml; or NAME.gen, a bash snippet run as "bash NAME.gen DIR"
# that creates the input inside the empty directory DIR at test time (large files,
# FIFOs, symbolic links) and prints the path to give with -f.  NAME.expect holds two
# lines: "exit N", then the exact first line svcnat prints on stderr (empty for none);
# "@TMP@" in it stands for DIR.  Each case runs
#
#   $BUILD/svcnat -c EMPTY --service-cidr 198.18.0.0/16 --state-dir TMP compile -f INPUT
#
# (-c with an empty configuration, so that a host's /etc/svcnat/svcnat.yaml cannot
# change the results).  Prints one line per failing case and exits 0 only if every case
# matched.  VALGRIND=1 runs svcnat under valgrind --leak-check=full (any valgrind error
# fails the case; the huge-* generated cases are skipped, they take minutes there).
# BAD_REGEN=1 writes the .expect of each case that has none from what svcnat prints now:
# review them before committing.  PATTERN... runs only the cases whose name contains one.
# Exit 0 pass, 1 fail, 77 skip (svcnat not built).
set -u -o pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$SRCDIR" || exit 1
BUILD=${BUILD:-build}
SVCNAT=${SVCNAT:-$BUILD/svcnat}
BAD_DIR=test/bad
CASE_TIMEOUT=${CASE_TIMEOUT:-120}
export LC_ALL=C

[ -x "$SVCNAT" ] || { echo "SKIP: bad-inputs.sh: $SVCNAT is not built (make BUILD=$BUILD)"; exit 77; }
if [ "${VALGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null || { echo "bad-inputs.sh: VALGRIND=1 but no valgrind" >&2; exit 1; }
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/svcnat-bad.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
echo '{}' >"$TMP/svcnat.yaml"
mkdir "$TMP/state"

. "$SRCDIR/test/lib/bad-cases.sh"

run_svcnat()
{
	local cmd=("$SVCNAT")

	[ "${VALGRIND:-0}" = 1 ] && cmd=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite
		--error-exitcode=99 --log-file="$TMP/valgrind.log" "$SVCNAT")
	timeout -k 5 "$CASE_TIMEOUT" "${cmd[@]}" -c "$TMP/svcnat.yaml" --service-cidr 198.18.0.0/16 \
		--state-dir "$TMP/state" compile -f "$1" >/dev/null 2>"$TMP/stderr" </dev/null
}

failed=0 total=0 skipped=0
declare -A names=()
for f in "$BAD_DIR"/*.yaml "$BAD_DIR"/*.json "$BAD_DIR"/*.gen "$BAD_DIR"/*.expect; do
	[ -e "$f" ] || continue
	f=${f##*/}
	names[${f%.*}]=1
done
for name in $(printf '%s\n' "${!names[@]}" | sort); do
	selected "$name" "$@" || continue
	if [ "${VALGRIND:-0}" = 1 ] && [[ $name == huge-* ]]; then
		skipped=$((skipped + 1))
		continue
	fi
	total=$((total + 1))
	dir=$TMP/gen/$name
	if ! input=$(case_input "$name" "$dir"); then
		echo "FAIL: $name: no input (NAME.yaml, NAME.json or NAME.gen), or its generator failed"
		failed=$((failed + 1))
		continue
	fi
	start=$(date +%s%N)
	run_svcnat "$input"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	got=$(head -n 1 "$TMP/stderr")
	rm -rf "$dir"
	if [ ! -f "$BAD_DIR/$name.expect" ]; then
		if [ "${BAD_REGEN:-0}" = 1 ]; then
			printf 'exit %d\n%s\n' "$rc" "${got//$dir/@TMP@}" >"$BAD_DIR/$name.expect"
			echo "wrote $BAD_DIR/$name.expect: exit $rc: $got"
		else
			echo "FAIL: $name: no $name.expect (BAD_REGEN=1 writes it from what svcnat prints)"
			failed=$((failed + 1))
		fi
		continue
	fi
	want_rc=$(sed -n '1s/^exit //p' "$BAD_DIR/$name.expect")
	want=$(sed -n 2p "$BAD_DIR/$name.expect")
	want=${want//@TMP@/$dir}
	if [ "$rc" = 99 ] && [ "${VALGRIND:-0}" = 1 ]; then
		echo "FAIL: $name: valgrind: $(grep -m1 -E '== (Invalid|Conditional|[0-9,]+ bytes)' "$TMP/valgrind.log")"
		failed=$((failed + 1))
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "FAIL: $name: timed out after ${CASE_TIMEOUT}s"
		failed=$((failed + 1))
	elif [ "$rc" != "$want_rc" ] || [ "$got" != "$want" ]; then
		echo "FAIL: $name: exit $rc (want $want_rc): '$got' (want '$want')"
		failed=$((failed + 1))
	fi
	[ "$ms" -lt 5000 ] || echo "note: $name took $ms ms"
done
[ "$skipped" -eq 0 ] || echo "bad-inputs: $skipped huge-* cases skipped under valgrind"
echo "bad-inputs: $total cases, $failed failed"
[ "$failed" -eq 0 ]
