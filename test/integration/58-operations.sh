#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Running svcnat unattended (systemd, cron): the metrics file, journald
# priorities, quiet runs that stay silent with nothing to do and speak when
# they repair drift, and the exit status of each kind of failure.
set -u
. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"
require_root_netns
require_tools
topo_create
svcnat_setup
pod_add ops-a 198.19.1.2 -

cat > "$WORK/m.yaml" <<'EOM'
apiVersion: v1
kind: Service
metadata: {name: ops}
spec: {clusterIP: 198.18.0.120, ports: [{port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: ops}
subsets: [{addresses: [{ip: 198.19.1.2}], ports: [{port: 80}]}]
EOM
prom=$WORK/svcnat.prom

log "metrics file after an apply"
sn --metrics-file "$prom" apply -f "$WORK/m.yaml" >/dev/null || fail "apply"
for line in 'svcnat_last_run_success 1' 'svcnat_last_run_exit_status 0' 'svcnat_services 1' \
	    'svcnat_service_ports 1' 'svcnat_endpoints 1' 'svcnat_last_run_errors{kind="kernel"} 0'; do
	grep -qxF "$line" "$prom" || fail "metrics file lacks '$line': $(cat "$prom")"
done
grep -q '^svcnat_last_run_netlink_messages [1-9]' "$prom" || fail "no netlink messages counted"
grep -q '^# TYPE svcnat_last_run_timestamp_seconds gauge$' "$prom" || fail "no TYPE lines"
ls "$WORK"/*.tmp 2>/dev/null && fail "a temporary file was left behind"

log "a quiet run with nothing to do prints nothing and sends nothing"
out=$(sn -q --metrics-file "$prom" apply -f "$WORK/m.yaml" 2>&1) || fail "quiet apply failed: $out"
[ -z "$out" ] || fail "quiet apply printed: $out"
grep -qxF 'svcnat_last_run_netlink_messages 0' "$prom" || fail "a no-op run sent netlink messages"

log "a quiet run that repairs drift says so"
in_node nft flush chain ip svcnat services
out=$(sn -q --metrics-file "$prom" apply -f "$WORK/m.yaml" 2>&1) || fail "repairing apply failed: $out"
assert_match '^svcnat: repaired drift' "$out" "repair message"
grep -qxF 'svcnat_last_run_drift_repaired 1' "$prom" || fail "drift not in the metrics"
expect_only client 20 198.18.0.120 80 -- ops-a

log "journald priorities when stderr is the journal (JOURNAL_STREAM names it)"
printf 'kind: Service\n' > "$WORK/bad.yaml"
touch "$WORK/err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/err") in_node "$SVCNAT" -c "$SVCNAT_CONF" --state-dir "$STATE" \
	--lock-file "$LOCK" compile -f "$WORK/bad.yaml" 2>>"$WORK/err" >/dev/null && fail "bad input accepted"
assert_match '^<3>' "$(head -1 "$WORK/err")" "journald priority prefix"
in_node "$SVCNAT" -c "$SVCNAT_CONF" --state-dir "$STATE" --lock-file "$LOCK" compile -f "$WORK/bad.yaml" \
	2>"$WORK/err-plain" >/dev/null
grep -q '^<' "$WORK/err-plain" && fail "priority prefix without the journal: $(cat "$WORK/err-plain")"

log "exit status: 1 invalid input, 2 usage, 4 lock busy with --no-wait"
sn apply -f "$WORK/bad.yaml" >/dev/null 2>&1; assert_eq 1 $? "exit status for invalid input"
sn apply --bogus >/dev/null 2>&1; assert_eq 2 $? "exit status for a usage error"
exec 9>"$LOCK"
flock 9
sn apply --no-wait -f "$WORK/m.yaml" >/dev/null 2>&1; assert_eq 4 $? "exit status for a busy lock with --no-wait"
flock -u 9
exec 9>&-
sn --metrics-file "$prom" apply --no-wait -f "$WORK/m.yaml" >/dev/null 2>&1 || fail "apply after the lock was freed"
log "ok"
