#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cut-short.sh: a manifest file cut short while svcnat reads it (rewritten in place, as
# `kubectl get ... > file` does). svcnat maps regular files, and reading a page past the new
# end raises SIGBUS; svcnat must turn that into an error for the file, never die of it.
# Each round starts `svcnat compile` on a 30 MB List and truncates the file a few
# milliseconds later. Any outcome but a signal passes: success (read before the cut),
# invalid JSON (cut before the read), or "the file was cut short while being read".
# Exit 0 pass, 1 fail.
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
SVCNAT=$BUILD/svcnat
ROUNDS=${ROUNDS:-20}
# The SIGBUS path leaves the parser's scratch memory behind (the run ends there): no leak report.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
work=$(mktemp -d /tmp/svcnat-cut.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: cut-short.sh: $*" >&2; exit 1; }

python3 - "$work/big.json" <<'PY' || fail "cannot write the test input"
import json, sys
items = []
for i in range(6000):
    items.append({"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": "s%d" % i, "namespace": "cut", "labels": {"app": "x" * 40}},
                  "spec": {"clusterIP": "198.18.%d.%d" % (i // 250, i % 250 + 1),
                           "ports": [{"name": "p%d" % k, "port": 1000 + k, "targetPort": 2000 + k}
                                     for k in range(8)]}})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(sys.argv[1], "w"), indent=4)
PY

declare -A seen=()
for i in $(seq "$ROUNDS"); do
	cp "$work/big.json" "$work/in.json"
	"$SVCNAT" -c /dev/null --service-cidr 198.18.0.0/16 --state-dir "$work/state" \
		compile -f "$work/in.json" >/dev/null 2>"$work/err" &
	pid=$!
	sleep "0.0$((i % 9 + 1))"
	: >"$work/in.json"
	wait "$pid"
	rc=$?
	[ "$rc" -lt 128 ] || fail "round $i: svcnat died of signal $((rc - 128)): $(head -3 "$work/err")"
	case $rc in
	0) what=read-whole ;;
	1) if grep -q 'the file was cut short while being read' "$work/err"; then
		   what=cut-short
	   elif grep -q 'invalid JSON\|is empty\|no objects' "$work/err" || [ ! -s "$work/err" ]; then
		   what=cut-before
	   else
		   fail "round $i: exit 1 with an unexpected message: $(head -3 "$work/err")"
	   fi ;;
	*) fail "round $i: exit status $rc: $(head -3 "$work/err")" ;;
	esac
	seen[$what]=$(( ${seen[$what]:-0} + 1 ))
done
echo "cut-short.sh: $ROUNDS rounds: read whole ${seen[read-whole]:-0}, cut before reading ${seen[cut-before]:-0}," \
	"cut while reading ${seen[cut-short]:-0}"
[ "${seen[cut-short]:-0}" -gt 0 ] || echo "cut-short.sh: NOTE: no round hit the SIGBUS path this time"
exit 0
