#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# svcnat get services / get endpoints / describe service after an apply, checked
# against the text kubectl prints for the same objects (its columns and tabwriter
# padding; AGE left out): NodePort ports as 80:31119/TCP, EXTERNAL-IP of a
# LoadBalancer as ingress IPs then external IPs, headless as None, -A with NAMESPACE,
# -o wide with SELECTOR, endpoints as the first three then "+ N more...", IPv6
# endpoints in brackets. describe's Traffic counters grow with connections to the
# ClusterIP and the NodePort (UDP: exactly one packet per datagram). -o json and -o yaml
# read back through svcnat compile give the ruleset of the original manifests.
# The last checks are about fields the output must keep: session affinity (describe and
# -o json), traffic policies, source ranges, endpoint node names, and IPv6 endpoints.
# Last, services.json (written by another thread while the ruleset compiles) is left
# alone by a run with nothing to change, and replaced by a change.
# Exit 0 pass, 1 fail, 77 skip.
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

# shellcheck disable=SC2034  # used by sn
SERVICE_CIDRS=$SVC_CIDR,$SVC_CIDR6

require_root_netns
require_tools
topo_create
svcnat_setup
pod_add pod-a 198.19.1.2
pod_add pod-b 198.19.2.2
pod_add pod-c 198.19.3.2

# Namespace default: the text checks and the first round trip.
cat >"$WORK/default.yaml" <<'EOM'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  clusterIP: 198.18.0.110
  selector: {app: web, tier: front}
  ports:
  - {name: http, protocol: TCP, port: 80, nodePort: 31119}
  - {name: dns, protocol: UDP, port: 53, targetPort: 5353, nodePort: 31053}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets:
- addresses: [{ip: 198.19.1.2}, {ip: 198.19.2.2}, {ip: 198.19.3.2}]
  ports: [{name: http, port: 80}, {name: dns, protocol: UDP, port: 5353}]
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  clusterIP: 198.18.0.111
  externalIPs: [192.0.2.111]
  ports: [{name: https, port: 443, targetPort: http, nodePort: 31443}]
status: {loadBalancer: {ingress: [{ip: 192.0.2.112}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: lb-1, labels: {kubernetes.io/service-name: lb}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}]
endpoints: [{addresses: [198.19.1.2]}]
---
apiVersion: v1
kind: Service
metadata: {name: plain}
spec:
  clusterIP: 198.18.0.112
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hl}
spec:
  clusterIP: None
  ports: [{name: http, port: 80}]
EOM

# Other namespaces: IPv6 endpoints, and the fields the last checks are about.
cat >"$WORK/other.yaml" <<'EOM'
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: 198.18.0.113
  ports: [{name: mysql, port: 3306}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: db, namespace: shop}
subsets: [{addresses: [{ip: 198.19.3.2}], ports: [{name: mysql, port: 3306}]}]
---
apiVersion: v1
kind: Service
metadata: {name: self6, namespace: v6}
spec:
  ipFamilies: [IPv6]
  clusterIP: "2001:db8:18::114"
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: self6-1, namespace: v6, labels: {kubernetes.io/service-name: self6}}
addressType: IPv6
ports: [{name: http, protocol: TCP, port: 80}]
endpoints: [{addresses: ["2001:db8:19::1:2"]}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky, namespace: sem}
spec:
  type: LoadBalancer
  clusterIP: 198.18.0.115
  sessionAffinity: ClientIP
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 60}}
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  loadBalancerSourceRanges: [203.0.113.0/24]
  ports: [{name: http, port: 80, nodePort: 31115}]
status: {loadBalancer: {ingress: [{ip: 192.0.2.115}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sticky-1, namespace: sem, labels: {kubernetes.io/service-name: sticky}}
addressType: IPv4
ports: [{name: http, protocol: TCP, port: 80}]
endpoints:
- {addresses: [198.19.1.2], nodeName: node-1}
- {addresses: [198.19.2.2], nodeName: node-2}
EOM

snh() { sn --hostname-override node-1 "$@"; }
out=$(snh apply -f "$WORK/default.yaml" -f "$WORK/other.yaml" 2>&1) || fail "apply: $out"
log "$out"

# same WHAT EXPECTED ACTUAL: compare texts, showing a diff on failure
same()
{
	[ "$2" = "$3" ] && return 0
	diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/    /' >&2 || true
	fail "$1 differs from what kubectl prints (- expected, + svcnat)"
}

log "get services"
same "get services" "$(cat <<'EOT'
NAME    TYPE           CLUSTER-IP     EXTERNAL-IP               PORT(S)
hl      ClusterIP      None           <none>                    80/TCP
lb      LoadBalancer   198.18.0.111   192.0.2.112,192.0.2.111   443:31443/TCP
plain   ClusterIP      198.18.0.112   <none>                    8080/TCP
web     NodePort       198.18.0.110   <none>                    80:31119/TCP,53:31053/UDP
EOT
)" "$(sn get services)"

log "get services -A"
same "get services -A" "$(cat <<'EOT'
NAMESPACE   NAME     TYPE           CLUSTER-IP         EXTERNAL-IP               PORT(S)
default     hl       ClusterIP      None               <none>                    80/TCP
default     lb       LoadBalancer   198.18.0.111       192.0.2.112,192.0.2.111   443:31443/TCP
default     plain    ClusterIP      198.18.0.112       <none>                    8080/TCP
default     web      NodePort       198.18.0.110       <none>                    80:31119/TCP,53:31053/UDP
sem         sticky   LoadBalancer   198.18.0.115       192.0.2.115               80:31115/TCP
shop        db       ClusterIP      198.18.0.113       <none>                    3306/TCP
v6          self6    ClusterIP      2001:db8:18::114   <none>                    80/TCP
EOT
)" "$(sn get services -A)"

log "get services -n shop -o wide"
same "get services -n shop -o wide" "$(cat <<'EOT'
NAME   TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)    SELECTOR
db     ClusterIP   198.18.0.113   <none>        3306/TCP   <none>
EOT
)" "$(sn get services -n shop -o wide)"
assert_match '^web +NodePort .* 80:31119/TCP,53:31053/UDP +app=web,tier=front$' \
	"$(sn get services -o wide | grep '^web ')" "get services -o wide: web"

log "get endpoints"
same "get endpoints" "$(cat <<'EOT'
NAME    ENDPOINTS
lb      198.19.1.2:80
plain   <none>
web     198.19.1.2:80,198.19.2.2:80,198.19.3.2:80 + 3 more...
EOT
)" "$(sn get endpoints)"
assert_match '^v6 +self6 +\[2001:db8:19::1:2\]:80$' "$(sn get endpoints -A | grep '^v6 ')" \
	"get endpoints -A: IPv6 endpoint"

log "describe service web, lb and plain (no traffic yet)"
same "describe service web" "$(cat <<'EOT'
Name:                     web
Namespace:                default
Selector:                 app=web,tier=front
Type:                     NodePort
IP:                       198.18.0.110
IPs:                      198.18.0.110
Port:                     http  80/TCP
TargetPort:               80/TCP
NodePort:                 http  31119/TCP
Endpoints:                198.19.1.2:80,198.19.2.2:80,198.19.3.2:80
Traffic:                  0 packets, 0 bytes (svcnat counters, since the last full load)
Port:                     dns  53/UDP
TargetPort:               5353/UDP
NodePort:                 dns  31053/UDP
Endpoints:                198.19.1.2:5353,198.19.2.2:5353,198.19.3.2:5353
Traffic:                  0 packets, 0 bytes (svcnat counters, since the last full load)
Session Affinity:         None
External Traffic Policy:  Cluster
Internal Traffic Policy:  Cluster
EOT
)" "$(sn describe service web)"
same "describe service lb" "$(cat <<'EOT'
Name:                     lb
Namespace:                default
Selector:                 <none>
Type:                     LoadBalancer
IP:                       198.18.0.111
IPs:                      198.18.0.111
External IPs:             192.0.2.111
LoadBalancer Ingress:     192.0.2.112
Port:                     https  443/TCP
TargetPort:               http/TCP
NodePort:                 https  31443/TCP
Endpoints:                198.19.1.2:80
Traffic:                  0 packets, 0 bytes (svcnat counters, since the last full load)
Session Affinity:         None
External Traffic Policy:  Cluster
Internal Traffic Policy:  Cluster
EOT
)" "$(sn describe service lb)"
assert_match 'Port: +<unset>  8080/TCP' "$(sn describe service plain)" "describe service plain: unnamed port"
assert_match 'Endpoints: +<none>' "$(sn describe service plain)" "describe service plain: no endpoints"
sn describe service nosuch >/dev/null 2>&1 && fail "describe service nosuch succeeded"

log "traffic: 50 TCP connections to the ClusterIP, 20 + 10 UDP datagrams to the ClusterIP and the NodePort"
expect_among client 50 198.18.0.110 80 -- pod-a pod-b pod-c
expect_among client 20 198.18.0.110 53 --udp -- pod-a pod-b pod-c
expect_among client 10 "$NODE_CLIENT_IP" 31053 --udp -- pod-a pod-b pod-c
d=$(sn describe service web)
traffic=$(awk '$1 == "Traffic:" { print $2, $4 }' <<<"$d")
read -r tcp_p tcp_b udp_p udp_b <<<"$(tr '\n' ' ' <<<"$traffic")"
log "describe: http $tcp_p packets, $tcp_b bytes; dns $udp_p packets, $udp_b bytes"
# Each TCP connection sends at least SYN, ACK and FIN towards the service address.
[ "$tcp_p" -ge 150 ] || fail "describe: http counted $tcp_p packets for 50 connections: $d"
[ "$tcp_b" -ge $((150 * 40)) ] || fail "describe: http counted $tcp_b bytes: $d"
assert_eq 30 "$udp_p" "describe: dns packets (one per datagram, ClusterIP and NodePort summed)"
[ "$udp_b" -ge $((30 * 28)) ] || fail "describe: dns counted $udp_b bytes: $d"
expect_among client 10 "$NODE_CLIENT_IP" 31053 --udp -- pod-a pod-b pod-c
assert_match 'Traffic: +40 packets' "$(sn describe service web | sed -n '/dns/,$p')" "describe: dns after 10 more"

log "-o json and -o yaml of namespace default read back through compile: the same ruleset"
sn get services -o json >"$WORK/svc.json" || fail "get services -o json"
sn get endpoints -o json >"$WORK/ep.json" || fail "get endpoints -o json"
sn get services -o yaml >"$WORK/svc.yaml" || fail "get services -o yaml"
sn get endpoints -o yaml >"$WORK/ep.yaml" || fail "get endpoints -o yaml"
python3 -c 'import json, sys; [json.load(open(f)) for f in sys.argv[1:]]' "$WORK/svc.json" "$WORK/ep.json" ||
	fail "get -o json is not JSON"
body() { grep -v '^# from: '; }
orig=$(snh compile -f "$WORK/default.yaml" | body) || fail "compile default.yaml"
back=$(snh compile -f "$WORK/svc.json" -f "$WORK/ep.json" 2>&1 | body) || fail "compile -o json output: $back"
same "the ruleset compiled from get -o json (default)" "$orig" "$back"
back=$(snh compile -f "$WORK/svc.yaml" -f "$WORK/ep.yaml" 2>&1 | body) || fail "compile -o yaml output: $back"
same "the ruleset compiled from get -o yaml (default)" "$orig" "$back"

# Fields the output must carry for the round trip and for describe.
log "describe service sticky -n sem: Session Affinity ClientIP"
assert_match 'Session Affinity: +ClientIP' "$(sn describe service sticky -n sem)" \
	"describe service sticky -n sem"
log "-A -o json read back: affinity, traffic policies, source ranges, node names, IPv6 endpoints kept"
sn get services -A -o json >"$WORK/svc-all.json" || fail "get services -A -o json"
sn get endpoints -A -o json >"$WORK/ep-all.json" || fail "get endpoints -A -o json"
orig=$(snh compile -f "$WORK/default.yaml" -f "$WORK/other.yaml" | body) || fail "compile the manifests"
back=$(snh compile -f "$WORK/svc-all.json" -f "$WORK/ep-all.json" 2>&1 | body) ||
	fail "compile of get -A -o json output failed: $back"
same "the ruleset compiled from get -A -o json" "$orig" "$back"

# services.json is staged and compared: one that comes out the same is left alone.
log "services.json: kept by a run with nothing to change, replaced by a change"
ino=$(stat -c %i "$STATE/services.json")
out=$(snh apply -f "$WORK/default.yaml" -f "$WORK/other.yaml" 2>&1) || fail "no-op apply: $out"
assert_match 'no changes' "$out" "the apply with nothing to change"
[ "$(stat -c %i "$STATE/services.json")" = "$ino" ] || fail "a run with nothing to change rewrote services.json"
sed 's/port: 8080}/port: 8081}/' "$WORK/default.yaml" >"$WORK/changed.yaml"
out=$(snh apply -f "$WORK/changed.yaml" -f "$WORK/other.yaml" 2>&1) || fail "apply of a change: $out"
[ "$(stat -c %i "$STATE/services.json")" != "$ino" ] || fail "a change left services.json as it was"
assert_match '"port":8081' "$(cat "$STATE/services.json")" "services.json after the change"
[ -z "$(find "$STATE" -name '*.tmp')" ] || fail "staged files left behind: $(find "$STATE" -name '*.tmp')"
log "ok"
