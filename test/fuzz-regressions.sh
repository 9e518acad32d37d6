#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fuzz-regressions.sh: the inputs that once crashed a fuzz harness, and the seed corpus,
# run through the harnesses built as plain programs ($BUILD/test/fuzz_NAME, from
# test/fuzz/fuzz_NAME.c and test/fuzz/driver.c, with $(CC); "make check" builds them,
# "make check SANITIZE=1" with ASan and UBSan).  A harness aborts when a contract breaks
# (a failure without a message, a message without a file, validated input that does not
# compile); a sanitizer report or a crash ends it with a non-zero status.
#
#   [BUILD=build] [VALGRIND=1] test/fuzz-regressions.sh [NAME...]
#
# Inputs: test/fuzz/regressions/NAME/* (a file per crash, kept after the fix) and
# test/fuzz/corpus/NAME/*.  VALGRIND=1 runs the drivers under valgrind --leak-check=full.
# Prints one line per failing input (at most MAX_SHOWN=20 per harness); exit 0 pass, 1 fail, 77 skip (drivers not built).
set -u -o pipefail

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$SRCDIR" || exit 1
BUILD=${BUILD:-build}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(yaml json pipeline config state)
export LC_ALL=C
# gcc's and clang's sanitizers: report and stop at the first error, leaks included.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

missing=()
for t in "${TARGETS[@]}"; do
	[ -x "$BUILD/test/fuzz_$t" ] || missing+=("$BUILD/test/fuzz_$t")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "SKIP: fuzz-regressions.sh: not built: ${missing[*]} (make BUILD=$BUILD fuzz-drivers)"
	exit 77
fi

LOG=$(mktemp "${TMPDIR:-/tmp}/svcnat-fuzz-reg.XXXXXX") || exit 1
trap 'rm -f "$LOG"' EXIT

# Runs harness T on INPUT...; returns its exit status, the report in $LOG.
run()
{
	local t=$1 cmd=("$BUILD/test/fuzz_$1")

	shift
	[ "${VALGRIND:-0}" = 1 ] && cmd=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite
		--error-exitcode=99 "${cmd[@]}")
	# (In a subshell, so that bash's own "Aborted" notice goes nowhere.)
	(timeout -k 5 600 "${cmd[@]}" "$@" >"$LOG" 2>&1; exit $?) 2>/dev/null
}

MAX_SHOWN=${MAX_SHOWN:-20}
failed=0 total=0
for t in "${TARGETS[@]}"; do
	inputs=()
	for input in test/fuzz/regressions/"$t"/* test/fuzz/corpus/"$t"/*; do
		[ -f "$input" ] && inputs+=("$input")
	done
	total=$((total + ${#inputs[@]}))
	[ ${#inputs[@]} -gt 0 ] || continue
	# All of a harness's inputs in one process; when that fails, one by one to name each.
	run "$t" "${inputs[@]}" && continue
	shown=0
	for input in "${inputs[@]}"; do
		run "$t" "$input" && continue
		failed=$((failed + 1))
		shown=$((shown + 1))
		[ "$shown" -le "$MAX_SHOWN" ] || continue
		echo "FAIL: fuzz_$t $input: $(grep -m1 -E 'ERROR|broken contract|runtime error|Invalid|uninitialised|definitely|Abort|Segmentation|Timeout|Terminated' "$LOG" ||
			tail -n 1 "$LOG")"
	done
	[ "$shown" -le "$MAX_SHOWN" ] || echo "FAIL: fuzz_$t: and $((shown - MAX_SHOWN)) more inputs"
done
echo "fuzz-regressions: $total inputs, $failed failed"
[ "$failed" -eq 0 ]
