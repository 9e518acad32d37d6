#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Soak: SOAK_RUNS consecutive applies of a randomly mutated workload (test/gen-workload's
# steps 0, 1, 2, ...: services added and removed, endpoints rescaled, conditions flipped,
# ports renamed, targetPorts renumbered, types switched), plus three services that never
# change, backed by real pods: soak-stable/web (ClusterIP, TCP 80 and UDP 53),
# soak-stable/np (NodePort 30999) and soak-stable/alloc (clusterIP allocated by svcnat).
# Meanwhile clients open new connections to those three without pause.
#  - every apply exits 0; not one connection to the stable services fails;
#  - every SOAK_CHECK_EVERY steps (at least 20 checks) the kernel's table equals svcnat
#    compile's output for the same input loaded by nft(8) into a scratch namespace
#    (normalised listings, blocks in name order);
#  - soak-stable/alloc keeps its allocated address throughout;
#  - svcnat's peak RSS (GNU time) stays flat: the last run's within 20% of the first
#    run's, and no upward trend (the last quarter's median within 20% of the first's);
#  - one run (the last) under valgrind --track-fds=yes: no descriptor left open at exit
#    but the standard ones and those inherited.
#   SOAK_RUNS (100; "make soak" runs 1000), SOAK_SERVICES (150), SOAK_ENDPOINTS (1-4),
#   SOAK_SEED (7), SOAK_CHECK_EVERY (SOAK_RUNS / 25, at least 1)
# Exit 0 pass, 1 fail, 77 skip.
set -u -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

RUNS=${SOAK_RUNS:-100}
NSVC=${SOAK_SERVICES:-150}
NEP=${SOAK_ENDPOINTS:-1-4}
SEED=${SOAK_SEED:-7}
EVERY=${SOAK_CHECK_EVERY:-$((RUNS / 25 > 0 ? RUNS / 25 : 1))}
GEN=$SRCDIR/test/gen-workload
TIME=/usr/bin/time
WEB_IP=198.18.250.10 NP_IP=198.18.250.11 NODEPORT=30999

require_root_netns
require_tools
command -v python3 >/dev/null || skip "needs python3 for test/gen-workload and nft-normalize"
[ -x "$TIME" ] && "$TIME" -f %M true >/dev/null 2>&1 ||
	skip "needs GNU time ($TIME; Debian: apt-get install time) to measure svcnat's peak RSS"
topo_create
svcnat_setup
SCRATCH=$(netns_of scratch)
ip netns add "$SCRATCH" || fail "cannot create $SCRATCH"
pod_add s1 198.19.250.2
pod_add s2 198.19.250.3

cat >"$WORK/stable.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: web, namespace: soak-stable}
spec:
  clusterIP: $WEB_IP
  ports:
  - {name: http, protocol: TCP, port: 80, targetPort: 80}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353}
---
apiVersion: v1
kind: Service
metadata: {name: np, namespace: soak-stable}
spec:
  type: NodePort
  clusterIP: $NP_IP
  ports: [{name: http, protocol: TCP, port: 8080, targetPort: 8080, nodePort: $NODEPORT}]
---
apiVersion: v1
kind: Service
metadata: {name: alloc, namespace: soak-stable}
spec:
  ports: [{name: sql, protocol: TCP, port: 3306, targetPort: 3306}]
EOF
for s in web:"{name: http, port: 80, protocol: TCP}, {name: dns, port: 5353, protocol: UDP}" \
	np:"{name: http, port: 8080, protocol: TCP}" alloc:"{name: sql, port: 3306, protocol: TCP}"; do
	cat >>"$WORK/stable.yaml" <<EOF
---
apiVersion: v1
kind: Endpoints
metadata: {name: ${s%%:*}, namespace: soak-stable}
subsets: [{addresses: [{ip: 198.19.250.2}, {ip: 198.19.250.3}], ports: [${s#*:}]}]
EOF
done

# The workload generator as a coprocess: "step K FILE" writes step K (K counting up by
# one: each is one mutation of the previous, through gen-workload's own Workload class;
# if that cannot be used, gen-workload --step K is run), without the generated services
# that would clash with the stable ones' addresses or nodePort ("reserve-ip A",
# "reserve-np N"). Answers "ok ..." or "error ...".
cat >"$WORK/gen.py" <<'EOF'
import argparse, importlib.machinery, importlib.util, json, subprocess, sys

gen, n, ep, seed = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
lo, _, hi = ep.partition("-")
cli = [gen, "-n", str(n), "-m", ep, "-p", "1-2", "-s", str(seed)]
mode, w, cur = "cli", None, 0
try:
    loader = importlib.machinery.SourceFileLoader("gen_workload", gen)
    gw = importlib.util.module_from_spec(importlib.util.spec_from_loader("gen_workload", loader))
    loader.exec_module(gw)
    a = argparse.Namespace(services=n, endpoints=(int(lo), int(hi or lo)), ports=(1, 2), seed=seed,
                           format="json", step=0, churn=10, not_ready=10.0, slice_size=100,
                           mix=(80, 15, 5), node_port_range=(30000, 32767), no_kubernetes=False,
                           output="-")
    w = gw.Workload(a)
    # The class must give what the command gives: compare step 2.
    probe = gw.Workload(a)
    probe.mutate(1)
    probe.mutate(2)
    mine = json.dumps({"apiVersion": "v1", "items": probe.objects(), "kind": "List",
                       "metadata": {"resourceVersion": ""}}, indent=4, sort_keys=True) + "\n"
    theirs = subprocess.run(cli + ["--step", "2"], capture_output=True, text=True, check=True).stdout
    mode = "module" if mine == theirs else "cli"
except Exception:
    mode = "cli"
ips, nps = set(), set()
print("ok " + mode, flush=True)
for line in sys.stdin:
    f = line.split()
    try:
        if f[0] == "reserve-ip":
            ips.add(f[1])
            print("ok", flush=True)
        elif f[0] == "reserve-np":
            nps.add(int(f[1]))
            print("ok", flush=True)
        elif f[0] == "step":
            k, path = int(f[1]), f[2]
            if mode == "module":
                if k != cur and k != cur + 1:
                    raise ValueError("step %d after %d" % (k, cur))
                if k == cur + 1:
                    w.mutate(k)
                    cur = k
                items = w.objects()
            else:
                out = subprocess.run(cli + ["--step", str(k)], capture_output=True, text=True, check=True).stdout
                items = json.loads(out)["items"]
            drop = set()
            for o in items:
                if o["kind"] != "Service":
                    continue
                s = o["spec"]
                if s.get("clusterIP") in ips or any(p.get("nodePort") in nps for p in s["ports"]):
                    drop.add((o["metadata"]["namespace"], o["metadata"]["name"]))
            items = [o for o in items if (o["metadata"]["namespace"],
                     o["metadata"]["name"] if o["kind"] == "Service"
                     else o["metadata"]["labels"]["kubernetes.io/service-name"]) not in drop]
            with open(path, "w") as fh:
                json.dump({"apiVersion": "v1", "items": items, "kind": "List",
                           "metadata": {"resourceVersion": ""}}, fh, indent=4, sort_keys=True)
            print("ok %d services, %d dropped" % (sum(o["kind"] == "Service" for o in items), len(drop)),
                  flush=True)
        else:
            raise ValueError("unknown command " + f[0])
    except Exception as e:
        print("error %s" % e, flush=True)
EOF
coproc GENP { python3 "$WORK/gen.py" "$GEN" "$NSVC" "$NEP" "$SEED" 2>&1; }
at_exit "kill ${GENP_PID} 2>/dev/null"
gen_cmd()
{
	echo "$*" >&"${GENP[1]}" || fail "the generator is gone"
	read -r -t 60 reply <&"${GENP[0]}" || fail "no answer from the generator to '$*'"
	[[ $reply == ok* ]] || fail "generator: '$*': $reply"
}
read -r -t 60 reply <&"${GENP[0]}" || fail "the generator did not start"
[[ $reply == ok* ]] || fail "the generator: $reply"
log "generator mode: ${reply#ok } (module: incremental steps; cli: gen-workload --step K each time)"
gen_cmd reserve-ip "$WEB_IP"
gen_cmd reserve-ip "$NP_IP"
gen_cmd reserve-np "$NODEPORT"

listing()
{
	local raw

	raw=$(ip netns exec "$1" nft list table ip svcnat 2>&1) || { echo "(no table: $raw)"; return; }
	"$NFT_NORMALIZE" <<<"$raw" | _sort_blocks
}

# Apply step $1 (the workload file is $WORK/step.json), under GNU time: peak RSS into rss[].
rss=()
apply_step()
{
	local k=$1 out rc

	out=$(ip netns exec "$NS_NODE" "$TIME" -f %M -o "$WORK/rss" "$SVCNAT" -c "$SVCNAT_CONF" \
		--service-cidr "$SVC_CIDR" --state-dir "$STATE" --lock-file "$LOCK" -q apply \
		-f "$WORK/step.json" -f "$WORK/stable.yaml" 2>&1) && rc=0 || rc=$?
	[ "$rc" -eq 0 ] || fail "step $k: apply exited $rc: $out"
	rss+=("$(tail -1 "$WORK/rss")")
}

check_compile()
{
	local k=$1

	sn compile -f "$WORK/step.json" -f "$WORK/stable.yaml" >"$WORK/c.nft" 2>"$WORK/c.err" ||
		fail "step $k: compile: $(cat "$WORK/c.err")"
	ip netns exec "$SCRATCH" nft -f "$WORK/c.nft" || fail "step $k: nft -f the compile output"
	# Sets keep the size of the load that made them while they have room.
	listing "$NS_NODE" | drop_set_sizes >"$WORK/kernel.l"
	listing "$SCRATCH" | drop_set_sizes >"$WORK/compile.l"
	cmp -s "$WORK/kernel.l" "$WORK/compile.l" ||
		fail "step $k: the kernel differs from compile's output: $(diff "$WORK/compile.l" "$WORK/kernel.l" | head -10)"
	checks=$((checks + 1))
}

alloc_ip() { awk '$1 == "clusterip" && $2 == "soak-stable/alloc" { print $3 }' "$STATE/allocations"; }

log "step 0: $NSVC services ($NEP endpoints) + the stable ones"
gen_cmd step 0 "$WORK/step.json"
apply_step 0
ALLOC_IP=$(alloc_ip)
[ -n "$ALLOC_IP" ] || fail "soak-stable/alloc got no address"
gen_cmd reserve-ip "$ALLOC_IP"
checks=0
check_compile 0
expect_only client 10 "$WEB_IP" 80 -- s1 s2
expect_only client 10 "$WEB_IP" 53 --udp -- s1 s2
expect_only client 10 "$NODE_CLIENT_IP" "$NODEPORT" -- s1 s2
expect_only client 10 "$ALLOC_IP" 3306 -- s1 s2

# Clients: new connections every 50 ms to each stable service, in chunks of 2 s.
client_loop()
{
	local tag=$1 i=0

	shift
	while [ ! -e "$WORK/stop" ]; do
		i=$((i + 1))
		in_client "$CONN_CLIENT" -n 1 -c 8 --duration 2000 --interval 50 --timeout 2000 "$@" \
			>"$WORK/cc-$tag.$i" 2>&1
	done
}
cpids=()
client_loop web "$WEB_IP" 80 & cpids+=($!)
client_loop dns --udp "$WEB_IP" 53 & cpids+=($!)
client_loop np "$NODE_CLIENT_IP" "$NODEPORT" & cpids+=($!)
client_loop alloc "$ALLOC_IP" 3306 & cpids+=($!)
at_exit "touch '$WORK/stop'; kill ${cpids[*]} 2>/dev/null"

log "$RUNS steps; the kernel compared with compile every $EVERY"
start=$SECONDS
for ((k = 1; k <= RUNS; k++)); do
	gen_cmd step "$k" "$WORK/step.json"
	if [ "$k" -eq "$RUNS" ] && [ "${SANITIZE:-0}" != 1 ] && command -v valgrind >/dev/null; then
		# The last run under valgrind: descriptors open at exit.
		out=$(ip netns exec "$NS_NODE" valgrind -q --track-fds=yes --log-file="$WORK/vg" "$SVCNAT" \
			-c "$SVCNAT_CONF" --service-cidr "$SVC_CIDR" --state-dir "$STATE" --lock-file "$LOCK" -q \
			apply -f "$WORK/step.json" -f "$WORK/stable.yaml" 2>&1) || fail "step $k (valgrind): $out"
	else
		apply_step "$k"
	fi
	[ "$(alloc_ip)" = "$ALLOC_IP" ] || fail "step $k: soak-stable/alloc moved from $ALLOC_IP to $(alloc_ip)"
	[ $((k % EVERY)) -ne 0 ] && [ "$k" -ne "$RUNS" ] || check_compile "$k"
	[ $((k % 50)) -ne 0 ] || log "step $k ($((SECONDS - start)) s, $checks checks, peak RSS now ${rss[-1]} KiB)"
done
touch "$WORK/stop"
for p in "${cpids[@]}"; do
	wait "$p"
done
log "$RUNS steps in $((SECONDS - start)) s; $checks comparisons with compile, all equal"

# Connections: not one lost.
for tag in web dns np alloc; do
	read -r total bad s1 s2 < <(cat "$WORK"/cc-$tag.* | awk '
		$1 == "total" { t += $2 } $1 == "refused" || $1 == "timeout" || $1 == "failed" { b += $2 }
		$1 == "answer" && $2 == "s1" { a += $3 } $1 == "answer" && $2 == "s2" { c += $3 }
		END { print t + 0, b + 0, a + 0, c + 0 }')
	log "clients, $tag: $total connections, $bad failed (s1 $s1, s2 $s2)"
	[ "$total" -ge 10 ] || fail "clients, $tag: only $total connections"
	[ "$bad" -eq 0 ] || fail "clients, $tag: $bad of $total connections failed: $(grep -l -E '^(refused|timeout|failed) [1-9]' "$WORK"/cc-$tag.* | head -3 | xargs cat)"
	[ "$s1" -gt 0 ] && [ "$s2" -gt 0 ] || fail "clients, $tag: not both pods answered (s1 $s1, s2 $s2)"
done

# Peak RSS: flat.
n=${#rss[@]}
q=$((n / 4 > 0 ? n / 4 : 1))
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
first_q=$(median "${rss[@]:0:q}")
last_q=$(median "${rss[@]:n-q:q}")
max=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
log "peak RSS (KiB): run 1 ${rss[0]}, run 2 ${rss[1]:-?}, last ${rss[-1]}, max $max; medians: first quarter $first_q, last quarter $last_q"
within() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b <= a * 1.2 && b >= a * 0.8) }'; }
within "${rss[0]}" "${rss[-1]}" || fail "peak RSS: run 1 ${rss[0]} KiB, the last run ${rss[-1]} KiB: more than 20% apart"
within "$first_q" "$last_q" || fail "peak RSS grows: first quarter's median $first_q KiB, last quarter's $last_q KiB"

# Descriptors at exit (the valgrind run).
if [ -s "$WORK/vg" ]; then
	# Count the descriptors valgrind lists that are neither standard nor inherited.
	leaked=$(awk '
		/== Open / { if (fd != "") n += !inh; inh = 0
			match($0, /[0-9]+:/); fd = substr($0, RSTART, RLENGTH - 1)
			if (fd + 0 <= 2) fd = "" }
		/<inherited from parent>/ { inh = 1 }
		END { if (fd != "") n += !inh; print n + 0 }' "$WORK/vg")
	summary=$(grep -m1 'FILE DESCRIPTORS' "$WORK/vg" | sed 's/^==[0-9]*== //')
	log "valgrind --track-fds: $summary; $leaked opened by svcnat and not closed"
	[ "$leaked" -eq 0 ] || fail "svcnat left descriptors open at exit: $(grep -A3 'Open ' "$WORK/vg" | head -20)"
	grep -q 'ERROR SUMMARY: [1-9]' "$WORK/vg" &&
		log "note: valgrind reported errors: $(grep 'ERROR SUMMARY' "$WORK/vg" | sed 's/^==[0-9]*== //')"
else
	log "note: no valgrind (or an ASan build, which valgrind cannot run): the descriptor check was not done"
fi
log "ok"
