#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# datapath.sh: the new-connection rate through the DNAT with one service loaded and with
# a whole workload loaded, for svcnat and for kube-proxy-iptables-style rules
# (iptables-legacy), in the test harness' topology (test/lib/netns.sh): the client
# namespace opens TCP connections to the probe service's ClusterIP; the node namespace
# DNATs them to two pods on br-pods, each running echo-server, which answers and closes.
#
#   datapath.sh            (everything comes from the environment)
#
#   BUILD        build directory (for svcnat, echo-server, conn-client)
#   WORKLOAD     the big workload (kind: List JSON)       PROBE     the probe service (probe.json)
#   IPT_ONE      iptables-restore input: the probe service alone
#   IPT_FULL     iptables-restore input: the workload, then the probe service (matched last)
#   COUNT        connections per run (20000)   CONC   in flight at once (8)   RUNS  rounds (5)
#   SETTLE       seconds to wait before each run, for the last run's conntrack entries to go (1.5)
#   SVCNAT_ARGS  global options for svcnat (--service-cidr ... --node-port-range ...)
#
# Prints one line per run:  RESULT CONFIG RUN COUNT SECONDS ANSWERED NOT-ANSWERED
# (CONFIG: svcnat-1, svcnat-N, iptables-legacy-1, iptables-legacy-N; RUNS rounds, each
# loading and measuring every configuration once, in that order) and, for each load,
#   LOAD CONFIG SECONDS     (for the record; the cold-apply section measures loads properly)
# Exit 0 when every configuration was measured, 1 on a failure, 77 when it cannot run here.
set -eu -o pipefail

# shellcheck disable=SC2034  # netns.sh's messages name the test
TEST_NAME=datapath
# shellcheck source=test/lib/netns.sh
. "$(dirname "$0")/../test/lib/netns.sh"

: "${WORKLOAD:?}" "${PROBE:?}" "${IPT_ONE:?}" "${IPT_FULL:?}"
COUNT=${COUNT:-20000}
CONC=${CONC:-8}
RUNS=${RUNS:-5}
SETTLE=${SETTLE:-1.5}
read -r -a SN_ARGS <<<"${SVCNAT_ARGS:-}"
POD_A=198.19.255.2
POD_B=198.19.255.3

require_root_netns
require_tools
[ -x "$SVCNAT" ] || fail "$SVCNAT is missing"
VIP=$(python3 -c 'import json, sys
items = json.load(open(sys.argv[1]))["items"]
print([o for o in items if o["kind"] == "Service"][0]["spec"]["clusterIP"])' "$PROBE")

topo_create
WORK=$(mktemp -d "${TMPDIR:-/tmp}/svcnat-bench-dp.XXXXXX")
at_exit "rm -rf '$WORK'"
echo '{}' >"$WORK/svcnat.yaml"
# Closed connections leave conntrack entries (CLOSE, 10 s by default): let them go within a
# second, so that one run's entries do not slow the next (per-namespace sysctls).
# A ct expression makes sure nf_conntrack (and so its sysctls) is there.
in_node nft -f - <<'NFT'
table ip bench-ct-init { chain c { ct state new counter; }; }
delete table ip bench-ct-init
NFT
in_node sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_close=1 \
	net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 >/dev/null ||
	fail "cannot shorten the conntrack timeouts in the node namespace"
pod_add probe-a "$POD_A" - 80
pod_add probe-b "$POD_B" - 80

sn()
{
	in_node "$SVCNAT" -q -c "$WORK/svcnat.yaml" ${SN_ARGS[@]+"${SN_ARGS[@]}"} \
		--cluster-cidr 198.19.0.0/16 --state-dir "$WORK/state" --lock-file "$WORK/lock" "$@"
}

# timed LABEL CMD...: runs CMD, prints LOAD LABEL SECONDS.
timed()
{
	local label=$1 t0

	shift
	t0=$EPOCHREALTIME
	"$@" >/dev/null || fail "$label: '$*' failed"
	printf 'LOAD %s %s\n' "$label" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')"
}

# measure CONFIG ROUND: a short warm-up (the path works, both pods answer), then one run of
# COUNT connections.
measure()
{
	local config=$1 round=$2 t0 t1 out total answered

	out=$(in_client "$CONN_CLIENT" -n 200 -c "$CONC" "$VIP" 80) ||
		fail "$config: warm-up: not every connection was answered: ${out//$'\n'/, }"
	if [ "$(cc_get "$out" answer probe-a)" -eq 0 ] || [ "$(cc_get "$out" answer probe-b)" -eq 0 ]; then
		fail "$config: warm-up: both pods should answer: ${out//$'\n'/, }"
	fi
	sleep "$SETTLE"		# conntrack entries of the last run expire
	t0=$EPOCHREALTIME
	out=$(in_client "$CONN_CLIENT" -n "$COUNT" -c "$CONC" --timeout 2000 "$VIP" 80) || true
	t1=$EPOCHREALTIME
	total=$(cc_get "$out" total)
	answered=$(awk '$1 == "answer" { s += $3 } END { print s + 0 }' <<<"$out")
	printf 'RESULT %s %d %d %s %d %d\n' "$config" "$round" "$total" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')" \
		"$answered" $((total - answered))
}

ipt_flush()
{
	local t

	for t in nat filter; do
		in_node iptables-legacy -t "$t" -F
		in_node iptables-legacy -t "$t" -X
	done
}

have_legacy=0
if command -v iptables-legacy-restore >/dev/null; then
	have_legacy=1
else
	echo "SKIPPED iptables-legacy: iptables-legacy-restore is not installed"
fi

# Rounds, each measuring every configuration once, so that the machine's other load,
# which drifts, weighs on every configuration alike.
for ((round = 1; round <= RUNS; round++)); do
	timed svcnat-1 sn apply -f "$PROBE"
	measure svcnat-1 "$round"
	timed svcnat-N sn apply -f "$WORKLOAD" -f "$PROBE"
	measure svcnat-N "$round"
	timed svcnat-delete sn delete
	in_node nft flush ruleset
	[ "$have_legacy" -eq 1 ] || continue
	timed iptables-legacy-1 in_node iptables-legacy-restore --noflush "$IPT_ONE"
	measure iptables-legacy-1 "$round"
	ipt_flush
	timed iptables-legacy-N in_node iptables-legacy-restore --noflush "$IPT_FULL"
	measure iptables-legacy-N "$round"
	ipt_flush
done
