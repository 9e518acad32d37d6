#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Bad manifests after a good apply: apply (and apply --dry-run, and compile) exits 1,
# each error names file:line:col and the field, and the kernel ruleset (nft list
# ruleset), the allocations and the apply cache are byte-identical to before; the
# services keep working.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

MDIR=$SRCDIR/test/integration/manifests
GOOD=(-f "$MDIR/clusterip.yaml" -f "$MDIR/external.yaml")

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2

B=$WORK/bad
mkdir -p "$B"
# Each case: a file, and the expected "LINE:COL: error: ..." lines, one per error
# (extended regular expressions, matched after "FILE:").
declare -A EXPECT=()
bad() { EXPECT[$1]=$2; cat >"$B/$1"; }

bad port.yaml '9:11: error: Service default/bad: spec\.ports\[0\]\.port: 70000 is out of range' <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: bad
spec:
  clusterIP: 198.18.0.70
  ports:
  - protocol: TCP
    port: 70000
YAML
bad type.yaml "8:11: error: Service default/bad: spec\.ports\[0\]\.port: expected an integer" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: bad
spec:
  clusterIP: 198.18.0.70
  ports:
  - port: "eighty"
YAML
bad proto.yaml "9:15: error: Service default/bad: spec\.ports\[0\]\.protocol: .*ICMP" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: bad
spec:
  clusterIP: 198.18.0.70
  ports:
  - port: 80
    protocol: ICMP
YAML
bad nodeport.yaml "10:15: error: Service default/bad: spec\.ports\[0\]\.nodePort: 80 is outside" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: bad
spec:
  type: NodePort
  clusterIP: 198.18.0.70
  ports:
  - port: 80
    nodePort: 80
YAML
bad epip.yaml "7:9: error: Endpoints default/other: subsets\[0\]\.addresses\[0\]\.ip: '198\.19\.1\.300'" <<'YAML'
apiVersion: v1
kind: Endpoints
metadata:
  name: other
subsets:
- addresses:
  - ip: 198.19.1.300
  ports:
  - port: 80
YAML
bad loopback.yaml "8:5: error: Service default/bad: spec\.externalIPs\[0\]: '127\.0\.0\.1' is a loopback" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: bad
spec:
  clusterIP: 198.18.0.70
  externalIPs:
  - 127.0.0.1
  ports:
  - port: 80
YAML
bad family.yaml "9:15: error: EndpointSlice default/web-x: endpoints\[0\]\.addresses\[0\]: '2001:db8::1'" <<'YAML'
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-x
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses: ["2001:db8::1"]
YAML
bad slice.yaml "[0-9]+:[0-9]+: error: EndpointSlice default/bad-x: metadata\.labels\.kubernetes\.io/service-name" <<'YAML'
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: bad-x
addressType: IPv4
endpoints:
- addresses: ["198.19.1.2"]
YAML
bad name.yaml "4:9: error: Service default/My_Service: metadata\.name: 'My_Service'" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: My_Service
spec:
  clusterIP: 198.18.0.70
  ports:
  - port: 80
YAML
bad nokind.yaml "1:1: error: .*'kind'" <<'YAML'
apiVersion: v1
metadata:
  name: bad
YAML
bad syntax.yaml "7:12: error: invalid YAML" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: bad
spec:
  ports: [ {port: 80
  clusterIP: 198.18.0.70
YAML
bad syntax.json "5:38: error: invalid JSON" <<'JSON'
{
  "apiVersion": "v1",
  "kind": "Service",
  "metadata": { "name": "bad" },
  "spec": { "ports": [ { "port": 80, } ] }
}
JSON
bad clusterip.json "2:24: error: Service default/bad: spec\.clusterIP: '198\.18\.0\.700'" <<'JSON'
{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad"},
 "spec": {"clusterIP": "198.18.0.700", "ports": [{"port": 80}]}}
JSON
bad two.yaml "9:11: error: Service default/two: spec\.ports\[0\]\.port: 0 is out of range
10:15: error: Service default/two: spec\.ports\[0\]\.protocol: .*tcp" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: two
spec:
  clusterIP: 198.18.0.71
  ports:
  - name: a
    port: 0
    protocol: tcp
YAML

log "good apply"
sn_apply "${GOOD[@]}" >/dev/null
ruleset=$(in_node nft list ruleset)
sums=$(cd "$STATE" && sha256sum allocations applied)

for f in $(printf '%s\n' "${!EXPECT[@]}" | LC_ALL=C sort); do
	n=$(grep -c . <<<"${EXPECT[$f]}")
	for cmd in "apply" "apply --dry-run" "compile"; do
		# shellcheck disable=SC2086
		out=$(sn $cmd "${GOOD[@]}" -f "$B/$f" 2>&1 >/dev/null) && rc=0 || rc=$?
		assert_eq 1 "$rc" "$cmd with $f: exit status (output: $out)"
		while IFS= read -r re; do
			grep -Eq "^$B/$f:$re" <<<"$out" ||
				fail "$cmd with $f: no error line matching '$B/$f:$re' in: $out"
		done <<<"${EXPECT[$f]}"
		errs=$(grep -c ': error: ' <<<"$out" || true)
		assert_eq "$n" "$errs" "$cmd with $f: number of error lines (output: $out)"
		assert_match "svcnat: $n errors?: nothing was changed" "$out" "$cmd with $f: summary"
	done
	assert_eq "$ruleset" "$(in_node nft list ruleset)" "the ruleset after apply with $f"
	assert_eq "$sums" "$(cd "$STATE" && sha256sum allocations applied)" "state after $f"
	log "$f: $(head -1 <<<"$out")"
done

log "a claim conflicting with an applied service is refused too"
cat >"$B/conflict.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: zzz-conflict}
spec:
  clusterIP: 198.18.0.10
  ports:
  - port: 80
YAML
out=$(sn apply "${GOOD[@]}" -f "$B/conflict.yaml" 2>&1) && rc=0 || rc=$?
assert_eq 1 "$rc" "apply with a conflicting claim: exit status (output: $out)"
assert_match "conflict\.yaml:7:11" "$out" "conflict message names the new file"
assert_match "198\.18\.0\.10:80/TCP" "$out" "conflict message names the claim"
assert_eq "$ruleset" "$(in_node nft list ruleset)" "the ruleset after the conflict"
assert_eq "$sums" "$(cd "$STATE" && sha256sum allocations applied)" "state after the conflict"

log "the services still work"
expect_only client 60 198.18.0.10 80 -- pod-a pod-b pod-c
expect_only client 40 192.0.2.20 80 -- pod-a pod-b
log "ok"
