#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# An SCTP service port (ClusterIP 198.18.0.95:9000 and NodePort 30095, targetPort 7000)
# with two endpoints, and one without endpoints (198.18.0.96:9000).
#
# The kernels this runs on may have SCTP conntrack and NAT (built in with nf_conntrack)
# but no SCTP sockets (CONFIG_IP_SCTP). The test therefore speaks SCTP itself over raw
# IP sockets, in python3: the client sends an INIT (verification tag 0, its own
# initiate tag, CRC32c) to the service; the endpoint's responder checks that the INIT
# arrived DNATed to its address and port 7000 with a valid CRC32c (NAT rewrites the
# port and must redo the checksum), and answers with an INIT ACK that carries its name
# in the state cookie; the client takes only an INIT ACK that comes back from the
# service address and port (conntrack's reverse NAT), to its port, with its initiate
# tag as verification tag. When the kernel has SCTP sockets, a raw responder would
# race the kernel's own ABORT, so real SCTP sockets (SOCK_STREAM) are used instead.
# The port without endpoints is refused with ICMP port unreachable.
# Exit 0 pass, 1 fail, 77 skip (no python3, or no SCTP conntrack in the kernel).
set -eu -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

VIP=198.18.0.95
NOEP=198.18.0.96
N=40

require_root_netns
require_tools
PY=$(command -v python3) || skip "needs python3 for its SCTP client and responders"
topo_create
svcnat_setup
in_node test -e /proc/sys/net/netfilter/nf_conntrack_sctp_timeout_established ||
	skip "the kernel has no SCTP connection tracking (CONFIG_NF_CT_PROTO_SCTP), so no SCTP NAT"
pod_add pod-a 198.19.1.2 - 80
pod_add pod-b 198.19.2.2 - 80

cat >"$WORK/sctp.py" <<'EOPY'
import os, random, select, signal, socket, struct, sys, time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

IPPROTO_SCTP = 132
INIT, INIT_ACK = 1, 2

def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t
TABLE = _table()

def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF
assert crc32c(b"123456789") == 0xE3069283

def packet(sport, dport, vtag, chunk):
    p = struct.pack("!HHII", sport, dport, vtag, 0) + chunk
    return p[:8] + struct.pack("<I", crc32c(p)) + p[12:]

def parse(ippkt):
    """(src, dst, sport, dport, vtag, crc_ok, chunk type, chunk body) of an IPv4 SCTP packet."""
    ihl = (ippkt[0] & 0x0F) * 4
    src, dst = socket.inet_ntoa(ippkt[12:16]), socket.inet_ntoa(ippkt[16:20])
    s = ippkt[ihl:]
    sport, dport, vtag = struct.unpack("!HHI", s[:8])
    (crc,) = struct.unpack("<I", s[8:12])
    ok = crc32c(s[:8] + b"\0\0\0\0" + s[12:]) == crc
    ctype, _, clen = struct.unpack("!BBH", s[12:16])
    return src, dst, sport, dport, vtag, ok, ctype, s[16:12 + clen]

def init_chunk(itag, params=b""):
    body = struct.pack("!IIHHI", itag, 65535, 1, 1, random.getrandbits(32)) + params
    return struct.pack("!BBH", INIT, 0, 4 + len(body)) + body

def serve_raw(name, port, log, ready):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_SCTP)
    open(ready, "w").close()
    cookie = name.encode().ljust((len(name) + 3) // 4 * 4, b"\0")
    while True:
        data, _ = s.recvfrom(65535)
        src, dst, sport, dport, vtag, ok, ctype, body = parse(data)
        if ctype != INIT or dport != port:
            continue
        with open(log, "a") as f:
            f.write("INIT %s:%d -> %s:%d crc %s\n" % (src, sport, dst, dport, "ok" if ok else "BAD"))
        (itag,) = struct.unpack("!I", body[:4])
        param = struct.pack("!HH", 7, 4 + len(cookie)) + cookie   # State Cookie
        ack = struct.pack("!IIHHI", random.getrandbits(32) | 1, 65535, 1, 1, random.getrandbits(32)) + param
        s.sendto(packet(port, sport, itag, struct.pack("!BBH", INIT_ACK, 0, 4 + len(ack)) + ack), (src, 0))

def client_raw(host, port, n, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_SCTP)
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    answers, refused, timeouts, bad = {}, 0, 0, 0
    for i in range(n):
        sport, itag = 20000 + random.randrange(20000), random.getrandbits(32) | 1
        s.sendto(packet(sport, port, 0, init_chunk(itag)), (host, 0))
        deadline = time.time() + timeout
        result = None
        while result is None:
            left = deadline - time.time()
            if left <= 0:
                result = "timeout"
                break
            r, _, _ = select.select([s, icmp], [], [], left)
            if icmp in r:
                d = icmp.recv(65535)
                ihl = (d[0] & 0x0F) * 4
                t, code = d[ihl], d[ihl + 1]
                inner = d[ihl + 8:]
                iihl = (inner[0] & 0x0F) * 4 if inner else 0
                if (t, code) == (3, 3) and len(inner) >= iihl + 4 and inner[9] == IPPROTO_SCTP and \
                        socket.inet_ntoa(inner[16:20]) == host and \
                        struct.unpack("!HH", inner[iihl:iihl + 4]) == (sport, port):
                    result = "refused"
            if s in r:
                src, dst, psport, pdport, vtag, ok, ctype, body = parse(s.recv(65535))
                if ctype != INIT_ACK or pdport != sport:
                    continue
                if (src, psport, vtag, ok) != (host, port, itag, True):
                    print("bad-init-ack from %s:%d vtag %#x (want %#x) crc %s" %
                          (src, psport, vtag, itag, ok), file=sys.stderr)
                    result = "bad"
                    continue
                # the State Cookie parameter after the 16 fixed bytes
                ptype, plen = struct.unpack("!HH", body[16:20])
                result = ("answer", body[20:16 + plen].rstrip(b"\0").decode()) if ptype == 7 else "bad"
        if result == "timeout":
            timeouts += 1
        elif result == "refused":
            refused += 1
        elif result == "bad":
            bad += 1
        else:
            answers[result[1]] = answers.get(result[1], 0) + 1
    for k in sorted(answers):
        print("answer %s %d" % (k, answers[k]))
    print("refused %d\ntimeout %d\nfailed %d\ntotal %d" % (refused, timeouts, bad, n))
    return 0 if sum(answers.values()) == n else 1

def serve_kernel(name, port, log, ready):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, IPPROTO_SCTP)
    s.bind(("::", port))
    s.listen(64)
    open(ready, "w").close()
    while True:
        c, peer = s.accept()
        with open(log, "a") as f:
            f.write("ASSOC %s -> port %d crc ok\n" % (peer[0], port))
        c.sendall((name + "\n").encode())
        c.close()

def client_kernel(host, port, n, timeout):
    answers, refused, timeouts, failed = {}, 0, 0, 0
    for i in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP)
        c.settimeout(timeout)
        try:
            c.connect((host, port))
            name = c.recv(200).decode().strip()
            answers[name] = answers.get(name, 0) + 1
        except ConnectionRefusedError:
            refused += 1
        except socket.timeout:
            timeouts += 1
        except OSError:
            failed += 1
        finally:
            c.close()
    for k in sorted(answers):
        print("answer %s %d" % (k, answers[k]))
    print("refused %d\ntimeout %d\nfailed %d\ntotal %d" % (refused, timeouts, failed, n))
    return 0 if sum(answers.values()) == n else 1

def have_kernel_sctp():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP).close()
        return True
    except OSError:
        return False

if __name__ == "__main__":
    mode = "kernel" if have_kernel_sctp() else "raw"
    cmd = sys.argv[1]
    if cmd == "mode":
        print(mode)
    elif cmd == "serve":
        (serve_kernel if mode == "kernel" else serve_raw)(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif cmd == "client":
        sys.exit((client_kernel if mode == "kernel" else client_raw)(sys.argv[2], int(sys.argv[3]),
                                                                   int(sys.argv[4]), float(sys.argv[5])))
EOPY

mode=$(in_client "$PY" "$WORK/sctp.py" mode) || fail "python3 $WORK/sctp.py does not run"
log "SCTP over $mode sockets$([ "$mode" = raw ] && echo " (the kernel has no SCTP sockets)")"

for p in pod-a pod-b; do
	in_pod "$p" "$PY" "$WORK/sctp.py" serve "$p" 7000 "$WORK/$p.log" "$WORK/$p.ready" </dev/null &
	wait_for 5 test -e "$WORK/$p.ready" || fail "the SCTP responder in $p did not start"
done

cat >"$WORK/m.yaml" <<EOM
apiVersion: v1
kind: Service
metadata: {name: sctp}
spec:
  type: NodePort
  clusterIP: $VIP
  ports: [{name: s, protocol: SCTP, port: 9000, targetPort: 7000, nodePort: 30095}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: sctp-1, labels: {kubernetes.io/service-name: sctp}}
addressType: IPv4
ports: [{name: s, protocol: SCTP, port: 7000}]
endpoints: [{addresses: [198.19.1.2]}, {addresses: [198.19.2.2]}]
---
apiVersion: v1
kind: Service
metadata: {name: sctp-none}
spec:
  clusterIP: $NOEP
  ports: [{name: s, protocol: SCTP, port: 9000}]
EOM
sn_apply -f "$WORK/m.yaml" >/dev/null
grep -q "$VIP . sctp . 9000" <<<"$(in_node nft list map ip svcnat service-ips)" ||
	fail "no sctp element in service-ips: $(in_node nft list map ip svcnat service-ips)"

out=''
sctp_client() # sctp_client OUTVAR HOST PORT N
{
	local _o _rc

	_o=$(in_client "$PY" "$WORK/sctp.py" client "$2" "$3" "$4" 1) && _rc=0 || _rc=$?
	printf -v "$1" '%s' "$_o"
	return "$_rc"
}

# ClusterIP traffic from outside keeps its source (no --cluster-cidr given); NodePort
# traffic is masqueraded to the node's pod-side address.
for target in "$VIP 9000 $CLIENT_IP" "$NODE_CLIENT_IP 30095 $POD_GW"; do
	read -r host port src <<<"$target"
	log "client -> $host:$port (SCTP), $N associations"
	: >"$WORK/pod-a.log"
	: >"$WORK/pod-b.log"
	sctp_client out "$host" "$port" "$N" || fail "$host:$port: not every INIT was answered: ${out//$'\n'/, }"
	a=$(cc_get "$out" answer pod-a) b=$(cc_get "$out" answer pod-b)
	log "$host:$port: pod-a $a, pod-b $b"
	assert_eq "$N" "$((a + b))" "$host:$port: answers (${out//$'\n'/, })"
	{ [ "$a" -gt 0 ] && [ "$b" -gt 0 ]; } || fail "$host:$port: not spread over both endpoints: pod-a $a, pod-b $b"
	# The responders saw each INIT DNATed to their port 7000, from $src, checksum valid.
	for p in pod-a pod-b; do
		bad=$(grep -v "^[A-Z]* $src\(:[0-9]*\)\? -> .*\(port \|:\)7000 crc ok$" "$WORK/$p.log" || true)
		[ -z "$bad" ] || fail "$host:$port: $p received unexpected SCTP: $bad"
	done
	got=$(cat "$WORK/pod-a.log" "$WORK/pod-b.log" | wc -l)
	assert_eq "$N" "$got" "$host:$port: INITs the responders logged"
done

log "a port without endpoints is refused (ICMP port unreachable)"
sctp_client out "$NOEP" 9000 3 && fail "$NOEP:9000 answered: $out"
assert_eq 3 "$(cc_get "$out" refused)" "refusals on $NOEP:9000 (${out//$'\n'/, })"
log "ok"
