#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# apply's helper threads under valgrind's helgrind: services.json is written while the
# ruleset compiles, the record of the last apply is read while the manifests are parsed,
# and the cache record is written while the kernel takes the batch. A cold apply, a
# change (the preloaded record used), a run with nothing to change, a dry run and a run
# with bad input report no data race and no misuse of a thread or a lock, and do what
# the same runs do without helgrind.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

require_root_netns
command -v valgrind >/dev/null || skip "needs valgrind"
command -v python3 >/dev/null || skip "needs python3 for gen-workload"
topo_create
svcnat_setup
ldd "$SVCNAT" 2>/dev/null | grep -q 'libasan\|libtsan' && skip "helgrind cannot run a sanitizer build"

"$SRCDIR/test/gen-workload" --services 150 --format json -o "$WORK/base.json"
"$SRCDIR/test/gen-workload" --services 150 --format json --step 1 -o "$WORK/changed.json"

# Exit 99: helgrind found something; otherwise svcnat's own status.
hg()
{
	in_node valgrind --tool=helgrind -q --error-exitcode=99 "$SVCNAT" -c "$SVCNAT_CONF" \
		--service-cidr "$SVC_CIDR" --state-dir "$STATE" --lock-file "$LOCK" "$@"
}

run()
{
	local what=$1 want=$2 pattern=$3 out rc

	shift 3
	log "$what"
	out=$(hg "$@" 2>&1) && rc=0 || rc=$?
	[ "$rc" -ne 99 ] || fail "$what: helgrind reports: $out"
	[ "$rc" -eq "$want" ] || fail "$what: exited $rc, expected $want: $out"
	assert_match "$pattern" "$out" "$what"
}

run "cold apply" 0 'applied: services 1[0-9]{2} added' apply -f "$WORK/base.json"
run "a change, from the preloaded record" 0 'applied: services [0-9]+ added, [1-9][0-9]* updated' \
	apply -f "$WORK/changed.json"
run "nothing to change" 0 'no changes' apply -f "$WORK/changed.json"
run "a dry run" 0 'table|element|no changes' apply --dry-run -f "$WORK/base.json"
run "bad input" 1 'invalid JSON: found a NUL byte' apply -f "$SRCDIR/test/bad/json-nul-byte.json"
log "ok"
