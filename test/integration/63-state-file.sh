#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The allocation state file (stateDir/allocations) damaged: truncated (mid-line, at a
# line end, an entry missing), a garbage line, a NUL byte, a bad address, one address
# given to two services, empty; and the state directory's file system full. Each gives
# either a clear error (exit 1, the message naming the file; the file left as it is) or a
# safe outcome (exit 0, and the allocations of the existing services unchanged), never a
# silently different allocation: the kernel keeps every service's address and nodePort,
# and compile shows the same allocations. After the file is put right, apply works
# again (nothing to change). A write that fails leaves no partial file: the old state
# stays whole and no temporary file is left.
#
# To notice any re-allocation, the service t/web holds an address and a nodePort that
# are not the ones svcnat's hash would pick (a hand-made state file, as an earlier
# allocation that had to step around another service would leave it). Last, new
# services whose hash lands on t/web's address and nodePort are added: t/web keeps both.
# Exit 0 pass, 1 fail, 77 skip.
set -u -o pipefail

. "$(dirname "$0")/../lib/netns.sh"
. "$(dirname "$0")/lib/svcnat.sh"

require_root_netns
command -v python3 >/dev/null || skip "needs python3 for nft-normalize"
topo_create
svcnat_setup
ALLOC=$STATE/allocations
WEB_IP=198.18.7.7 WEB_NP=30007

# t/web (NodePort, one endpoint) and 150 ClusterIP services, all without clusterIP.
manifest()
{
	cat <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: t}
spec:
  type: NodePort
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: t}
subsets: [{addresses: [{ip: 198.19.1.2}], ports: [{name: http, port: 8080}]}]
EOF
	for ((i = 0; i < 150; i++)); do
		printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: s%03d, namespace: t}\n' "$i"
		printf 'spec:\n  ports: [{name: p, port: 80}]\n'
	done
	for s in "$@"; do
		printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: t}\n' "$s"
		printf 'spec:\n  ports: [{name: p, port: 80}]\n'
	done
}
manifest >"$WORK/svc.yaml"
manifest new >"$WORK/svc-new.yaml"

# Whether map $1 of svcnat's table holds text $2 (no "nft | grep -q": with pipefail,
# grep's early exit would fail the pipeline).
map_has() { local m; m=$(in_node nft list map ip svcnat "$1") && grep -qF -- "$2" <<<"$m"; }
# The allocations svcnat shows in compile's comments, sorted.
allocs() { sn compile -f "$1" 2>&1 | grep '^# allocates' | LC_ALL=C sort; }
# The entries of a state file, sorted (comments and the end line left out).
entries() { grep -E '^(clusterip|nodeport) ' "$1" | LC_ALL=C sort; }

mkdir -p "$STATE"
printf '# made by hand\nversion 1\nclusterip t/web %s\nnodeport t/web TCP 80 %s\nend 2\n' \
	"$WEB_IP" "$WEB_NP" >"$ALLOC"
sn_apply -f "$WORK/svc.yaml" >/dev/null
map_has service-ips "$WEB_IP . tcp . 80 comment \"t/web:http" ||
	fail "t/web did not keep its address $WEB_IP from the state file"
map_has service-nodeports "tcp . $WEB_NP comment \"t/web:http" ||
	fail "t/web did not keep its nodePort $WEB_NP from the state file"
cp "$ALLOC" "$WORK/good"
L0=$(nft_table_blocks) || fail "no table after the first apply"
A0=$(allocs "$WORK/svc.yaml")
[ "$(grep -c . <<<"$A0")" -eq 152 ] || fail "compile shows $(grep -c . <<<"$A0") allocations, not 152: $A0"
log "baseline: 151 services, t/web at $WEB_IP:80 and nodePort $WEB_NP; $(wc -l <"$ALLOC") lines, $(wc -c <"$ALLOC") bytes of state"

errors=()
# $1: what was done to the file (which is in place now).
expect_safe()
{
	local what=$1 out rc cout crc

	cp "$ALLOC" "$WORK/damaged"
	out=$(sn apply -f "$WORK/svc.yaml" 2>&1) && rc=0 || rc=$?
	cout=$(sn compile -f "$WORK/svc.yaml" 2>&1 >/dev/null) && crc=0 || crc=$?
	case $rc in
	1)
		[[ $out == *"$ALLOC"* ]] || errors+=("$what: apply exited 1 without naming $ALLOC: $out")
		cmp -s "$ALLOC" "$WORK/damaged" || errors+=("$what: apply exited 1 but rewrote the state file")
		[ "$crc" -eq 1 ] && [[ $cout == *"$ALLOC"* ]] ||
			errors+=("$what: apply refused the file, compile exited $crc: $cout")
		log "$what: exit 1: $(grep -m1 allocations <<<"$out")"
		;;
	0)
		local n=${#errors[@]}

		[ "$(entries "$ALLOC")" = "$(entries "$WORK/good")" ] ||
			errors+=("$what: apply exited 0 and the allocations changed: $(diff <(entries "$WORK/good") <(entries "$ALLOC") | grep '^[<>]' | head -4 | tr '\n' ' ')")
		[ "$(allocs "$WORK/svc.yaml")" = "$A0" ] ||
			errors+=("$what: compile now allocates differently: $(diff <(echo "$A0") <(allocs "$WORK/svc.yaml") | grep '^[<>]' | head -4 | tr '\n' ' ')")
		[ ${#errors[@]} -eq "$n" ] && log "$what: exit 0, the same allocations" ||
			log "$what: exit 0, and the allocations CHANGED"
		;;
	*) errors+=("$what: apply exited $rc: $out") ;;
	esac
	[ "$(nft_table_blocks)" = "$L0" ] ||
		errors+=("$what: the kernel's ruleset changed: $(diff <(echo "$L0") <(nft_table_blocks) | grep '^[<>]' | head -4 | tr '\n' ' ')")
	# Put right, apply works again and has nothing to do.
	cp "$WORK/good" "$ALLOC"
	out=$(sn apply -f "$WORK/svc.yaml" 2>&1) || fail "$what: the apply after the file was put right: $out"
	[[ $out == "svcnat: no changes"* ]] || errors+=("$what: the apply after the file was put right changed things: $out")
	[ "$(nft_table_blocks)" = "$L0" ] || fail "$what: the ruleset after the file was put right is not the original"
}

size=$(wc -c <"$WORK/good")
head -c $((size / 2)) "$WORK/good" >"$ALLOC"
expect_safe "truncated in mid-line"
head -n -1 "$WORK/good" >"$ALLOC"
expect_safe "truncated at a line end (no end line)"
sed '4d' "$WORK/good" >"$ALLOC"
expect_safe "an entry missing"
sed '4i garbage !! not an entry' "$WORK/good" >"$ALLOC"
expect_safe "a garbage line"
{ head -c 100 "$WORK/good"; printf '\0'; tail -c +101 "$WORK/good"; } >"$ALLOC"
expect_safe "a NUL byte"
sed "s|^clusterip t/s001 .*|clusterip t/s001 198.18.300.1|" "$WORK/good" >"$ALLOC"
expect_safe "an address that is not one"
: >"$ALLOC"
expect_safe "empty"
# A hand edit that gives t/web's address to t/s000 too: t/web (which holds it in the
# kernel) must not be moved.
sed "s|^clusterip t/s000 .*|clusterip t/s000 $WEB_IP|" "$WORK/good" >"$ALLOC"
expect_safe "one address given to two services"

log "the state directory's file system full (a tmpfs in a private mount namespace)"
# Inside: the state directory copied onto a small tmpfs, which is filled up; an apply
# that must allocate for a new service (t/new); the same with one page free (the write
# starts, then fails); then with room again. Outputs go to $WORK/df-*.
cat >"$WORK/diskfull.sh" <<'EOS'
set -u
small=$WORK/small st=$WORK/small/state
mkdir -p "$small"
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$small" || exit 77
mkdir "$st" && cp -a "$STATE"/. "$st"/ || exit 2
run()
{
	ip netns exec "$NS_NODE" "$SVCNAT" -c "$SVCNAT_CONF" --service-cidr "$SVC_CIDR" --state-dir "$st" \
		--lock-file "$LOCK" apply -f "$WORK/svc-new.yaml" >"$WORK/df-$1.out" 2>&1
	echo $? >"$WORK/df-$1.rc"
	cp "$st/allocations" "$WORK/df-$1.alloc" 2>/dev/null
	ls -A "$st" >"$WORK/df-$1.ls"
}
dd if=/dev/zero of="$small/fill" bs=4k 2>/dev/null
run full
truncate -s -4096 "$small/fill"
run page
rm -f "$small/fill"
run room
umount "$small"
EOS
env WORK="$WORK" STATE="$STATE" NS_NODE="$NS_NODE" SVCNAT="$SVCNAT" SVCNAT_CONF="$SVCNAT_CONF" \
	SVC_CIDR="$SVC_CIDR" LOCK="$LOCK" unshare -m --propagation private bash "$WORK/diskfull.sh"
rc=$?
[ "$rc" -ne 77 ] || skip "cannot mount a tmpfs in a private mount namespace"
[ "$rc" -eq 0 ] || fail "the disk-full sequence failed ($rc)"
# (t/new has no endpoints: its address is in no-endpoint-services.)
new_ip=$(in_node nft list table ip svcnat | grep -o '[0-9.]* \. tcp \. 80 comment "t/new:p' | head -1 | cut -d' ' -f1)
[ -n "$new_ip" ] || fail "disk full: t/new is not in the kernel after the runs: $(cat "$WORK"/df-*.out)"
for step in full page; do
	out=$(cat "$WORK/df-$step.out") rc=$(cat "$WORK/df-$step.rc")
	log "disk full ($step): exit $rc: $out"
	case $rc in
	0) [[ $out == *"could not be saved"*"No space left on device"* ]] ||
		errors+=("disk full ($step): exit 0 without saying the state could not be saved: $out") ;;
	1 | 3) [[ $out == *"$WORK/small/state"* ]] || errors+=("disk full ($step): exit $rc without naming the state: $out") ;;
	*) errors+=("disk full ($step): exit $rc: $out") ;;
	esac
	# The old state whole: no partial file, no temporary file left.
	cmp -s "$WORK/df-$step.alloc" "$WORK/good" ||
		errors+=("disk full ($step): the state file is not the old one whole: $(diff "$WORK/good" "$WORK/df-$step.alloc" | head -4 | tr '\n' ' ')")
	grep -q '\.tmp$' "$WORK/df-$step.ls" &&
		errors+=("disk full ($step): temporary files left: $(tr '\n' ' ' <"$WORK/df-$step.ls")")
done
out=$(cat "$WORK/df-room.out") rc=$(cat "$WORK/df-room.rc")
[ "$rc" -eq 0 ] || errors+=("with room again: exit $rc: $out")
grep -qx "clusterip t/new $new_ip" "$WORK/df-room.alloc" ||
	errors+=("with room again: t/new is in the kernel at $new_ip but the state says: $(grep 't/new' "$WORK/df-room.alloc")")
grep -qx "clusterip t/web $WEB_IP" "$WORK/df-room.alloc" && grep -qx "nodeport t/web TCP 80 $WEB_NP" "$WORK/df-room.alloc" ||
	errors+=("disk full: t/web's allocation changed: $(grep 't/web' "$WORK/df-room.alloc" | tr '\n' ' ')")
map_has service-ips "$WEB_IP . tcp . 80 comment \"t/web:http" ||
	errors+=("disk full: t/web no longer at $WEB_IP in the kernel")
log "with room again: exit $rc; t/new at $new_ip in the kernel and in the state"

# Last: new services whose first choice (svcnat's hash: FNV-1a of "ns/name", and of
# "ns/name/TCP/port" for a nodePort) is exactly t/web's address, and t/web's nodePort;
# their names sort before t/web. They must step around t/web, which keeps both.
read -r ipname npname < <(python3 - "$WEB_IP" "$WEB_NP" <<'EOP'
import sys
M = (1 << 64) - 1
def fnv(s):
    h = 0xcbf29ce484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001b3) & M
    return h
a, b = [int(x) for x in sys.argv[1].split(".")[2:]]
slot = a * 256 + b - 2                       # 198.18.0.0/16: host 2 + hash % (65536 - 3)
np = int(sys.argv[2]) - 30000                # 30000-32767
ipname = next("a%d" % i for i in range(10**7) if fnv("t/a%d" % i) % 65533 == slot)
npname = next("b%d" % i for i in range(10**7) if fnv("t/b%d/TCP/80" % i) % 2768 == np)
print(ipname, npname)
EOP
)
[ -n "$npname" ] || fail "cannot find colliding names"
manifest "$ipname" >"$WORK/svc-collide.yaml"
printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: t}\nspec:\n  type: NodePort\n  ports: [{name: p, port: 80}]\n' \
	"$npname" >>"$WORK/svc-collide.yaml"
out=$(sn apply -f "$WORK/svc-collide.yaml" 2>&1) || fail "apply with t/$ipname and t/$npname: $out"
got=$(grep -E '^(clusterip|nodeport) t/(web|'"$ipname|$npname"') ' "$ALLOC" | tr '\n' ' ')
grep -qx "clusterip t/web $WEB_IP" "$ALLOC" && grep -qx "nodeport t/web TCP 80 $WEB_NP" "$ALLOC" ||
	errors+=("new services t/$ipname (hash on $WEB_IP) and t/$npname (hash on nodePort $WEB_NP) took t/web's allocations: $got")
map_has service-ips "$WEB_IP . tcp . 80 comment \"t/web:http" ||
	errors+=("t/web is no longer at $WEB_IP in the kernel after t/$ipname was added")
map_has service-nodeports "tcp . $WEB_NP comment \"t/web:http" ||
	errors+=("t/web no longer has nodePort $WEB_NP in the kernel after t/$npname was added")
log "new services hashing onto t/web's address and nodePort: $got"

[ ${#errors[@]} -eq 0 ] || fail "$(printf '\n  %s' "${errors[@]}")"
log "ok"
