# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # the address plan is for the tests that source us
#
# netns.sh: throw-away network topologies for svcnat's kernel tests.
# Source it from a test script; it needs bash, root, ip(8) and nft(8).
#
#   client                  node (router: IPv4 and IPv6 forwarding)           ext
#   eth0 203.0.113.2/24 --- veth-client 203.0.113.1/24
#        2001:db8:c::2/64               2001:db8:c::1/64
#                           veth-ext    198.51.100.1/24 --- eth0 198.51.100.10/24
#                                       2001:db8:e::1/64         2001:db8:e::10/64
#                           br-pods     198.19.0.1/16, 2001:db8:19::1/64
#                             +-- vpN --- pod NAME: eth0 IP/16, IP6/64; echo-server
#   Service addresses: 198.18.0.0/16 ($SVC_CIDR), 2001:db8:18::/112 ($SVC_CIDR6).
#   Default routes point at the node everywhere; the node has none.
#
# Every namespace is named "$NETNS_PREFIX<role>", a prefix made from $$ (and from
# SVCNAT_RUN_TAG, which run-tests sets), so parallel runs do not clash. Veth pairs are
# created inside the node namespace: nothing is added to the host's (root) namespace
# but the named namespaces themselves, and the host's sysctls are not touched.
# topo_create installs an EXIT trap (and INT/TERM/HUP traps that exit through it); do not
# set your own EXIT trap, use at_exit. Note that bash runs a trap only after the current
# foreground command ends: a test that is signalled while in a long command cleans up
# late unless the whole process group is signalled, as run-tests and ^C do.
#
# Setup and teardown
#   require_root_netns        exit 77 with a loud SKIP unless root and namespaces work
#   require_tools             fail unless $ECHO_SERVER and $CONN_CLIENT are built
#                             (pod_add and ext_server_start check this themselves)
#   topo_create               node, client, ext and br-pods; sets the EXIT trap
#   topo_destroy              kill every process in our namespaces, delete them; idempotent
#   at_exit CMD...            run CMD (eval'd) at exit, before topo_destroy, latest first
#   pod_add NAME IP [IP6|-] [PORT...]
#                             a pod namespace on br-pods running "echo-server --name NAME"
#                             on PORT... (default $POD_PORTS); IP6 defaults to
#                             2001:db8:19::C:D for IP 198.19.C.D, "-" for none
#   pod_del NAME              stop its server, delete its namespace and veth
#   pod_ip NAME / pod_ip6 NAME   its addresses
#   ext_server_start NAME PORT...   echo-server --name NAME in ext (default $POD_PORTS)
#   ext_server_stop
# Running commands
#   in_node / in_client / in_ext CMD...     ip netns exec wrappers
#   in_pod NAME CMD...
#   netns_of ROLE             the namespace name of node, client, ext or pod-NAME
# Assertions (fail = print to stderr and exit 1)
#   fail MSG...               FAIL: <test>: MSG, exit 1
#   skip MSG...               a loud SKIP: <test>: MSG, exit 77
#   log MSG...                progress line on stdout
#   assert_eq EXPECTED ACTUAL [WHAT]
#   assert_match REGEX ACTUAL [WHAT]   bash =~ match
#   cc_get OUTPUT KEY [NAME]  a count from conn-client output: cc_get "$out" total,
#                             cc_get "$out" answer pod-a (0 when absent)
#   cc_answers OUTPUT         the answer counts, in name order, space separated
#   chi_square_uniform N...   success if the counts fit a uniform distribution
#                             (goodness of fit at p = 0.001); prints the statistic
#   wait_for SECONDS CMD...   retry CMD every 0.1 s until it succeeds or time runs out
#
# Variables (override before sourcing where it makes sense)
#   BUILD (build), SRCDIR, TOOLS_DIR ($SRCDIR/$BUILD/test), ECHO_SERVER, CONN_CLIENT,
#   SVCNAT ($SRCDIR/$BUILD/svcnat), POD_PORTS ("80 8080 5353 3306"), and the address
#   plan below. TEST_NAME is the script's basename, used in SKIP/FAIL messages.

SRCDIR=${SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) _build_dir=$BUILD ;; *) _build_dir=$SRCDIR/$BUILD ;; esac
TOOLS_DIR=${TOOLS_DIR:-$_build_dir/test}
ECHO_SERVER=${ECHO_SERVER:-$TOOLS_DIR/echo-server}
CONN_CLIENT=${CONN_CLIENT:-$TOOLS_DIR/conn-client}
SVCNAT=${SVCNAT:-$_build_dir/svcnat}
TEST_NAME=${TEST_NAME:-$(basename "$0")}
POD_PORTS=${POD_PORTS:-"80 8080 5353 3306"}
PATH=$PATH:/usr/sbin:/sbin

# Address plan: documentation and benchmarking ranges only. Used by the tests that source us.
SVC_CIDR=198.18.0.0/16			# Service (cluster IP) range
SVC_CIDR6=2001:db8:18::/112
POD_CIDR=198.19.0.0/16			# pod network on br-pods
POD_GW=198.19.0.1
POD_CIDR6=2001:db8:19::/64
POD_GW6=2001:db8:19::1
CLIENT_IP=203.0.113.2
CLIENT_IP6=2001:db8:c::2
NODE_CLIENT_IP=203.0.113.1		# node's address towards client
NODE_CLIENT_IP6=2001:db8:c::1
EXT_IP=198.51.100.10
EXT_IP6=2001:db8:e::10
NODE_EXT_IP=198.51.100.1		# node's address towards ext
NODE_EXT_IP6=2001:db8:e::1
# Interface names inside the namespaces.
NODE_IF_CLIENT=veth-client		# in node, towards client (eth0 there)
NODE_IF_EXT=veth-ext			# in node, towards ext (eth0 there)
POD_BRIDGE=br-pods

NETNS_PREFIX=svcnat-${SVCNAT_RUN_TAG:+$SVCNAT_RUN_TAG-}$$-
NS_NODE=${NETNS_PREFIX}node
NS_CLIENT=${NETNS_PREFIX}client
NS_EXT=${NETNS_PREFIX}ext

_STATE_DIR=
_TOPO_UP=0
_AT_EXIT=()
declare -A _POD_IF=() _POD_IP=() _POD_IP6=()
_POD_SEQ=0

log() { printf '%s: %s\n' "$TEST_NAME" "$*"; }

fail()
{
	printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
	exit 1
}

skip()
{
	{
		echo "************************************************************************"
		echo "SKIP: $TEST_NAME: $*"
		echo "************************************************************************"
	} >&2
	exit 77
}

require_root_netns()
{
	local probe=svcnat-probe-$$

	[ "$(id -u)" -eq 0 ] ||
		skip "needs root and network namespaces (running as uid $(id -u))"
	command -v ip >/dev/null || skip "needs root and network namespaces, and ip(8) is missing"
	command -v nft >/dev/null ||
		skip "needs root and network namespaces, and nft(8) is missing"
	unshare -n true 2>/dev/null ||
		skip "needs root and network namespaces ('unshare -n' does not work here)"
	ip netns add "$probe" 2>/dev/null ||
		skip "needs root and network namespaces ('ip netns add' does not work here)"
	ip netns del "$probe"
}

require_tools()
{
	local t

	for t in "$ECHO_SERVER" "$CONN_CLIENT"; do
		[ -x "$t" ] || fail "$t is missing; build it with 'make ${t#"$SRCDIR"/}'"
	done
}

in_node() { ip netns exec "$NS_NODE" "$@"; }
in_client() { ip netns exec "$NS_CLIENT" "$@"; }
in_ext() { ip netns exec "$NS_EXT" "$@"; }

in_pod()
{
	local name=$1

	shift
	[ -n "${_POD_IF[$name]:-}" ] || fail "in_pod: no pod '$name'"
	ip netns exec "${NETNS_PREFIX}pod-$name" "$@"
}

netns_of() { echo "${NETNS_PREFIX}${1:?netns_of ROLE}"; }

pod_ip()
{
	[ -n "${_POD_IP[$1]:-}" ] || fail "pod_ip: no pod '$1'"
	echo "${_POD_IP[$1]}"
}

pod_ip6()
{
	[ -n "${_POD_IP[$1]:-}" ] || fail "pod_ip6: no pod '$1'"
	echo "${_POD_IP6[$1]}"
}

at_exit() { _AT_EXIT+=("$*"); }

# Runs once, on any exit of the test script; keeps the script's exit status.
_on_exit()
{
	local rc=$? i

	# Cleanup must not be cut short by a second ^C, nor by the test's set -e.
	trap - EXIT
	trap '' INT TERM HUP
	set +e
	for ((i = ${#_AT_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_AT_EXIT[i]}" || true
	done
	topo_destroy
	exit "$rc"
}

# Our namespaces, found by prefix, so cleanup works even if bookkeeping was lost.
_our_netns()
{
	ip netns list 2>/dev/null | awk -v p="$NETNS_PREFIX" 'index($1, p) == 1 { print $1 }'
}

# Setup steps must not fail silently, whether or not the test uses set -e.
_ip() { ip "$@" || fail "setup step failed: ip $*"; }

# Without duplicate address detection, link-local addresses are usable at once: a router
# whose link-local address is still tentative sends no neighbour solicitations at all, so
# forwarded IPv6 would be lost for the first second or two.
_ns_add()
{
	_ip netns add "$1"
	_ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null || fail "cannot turn off DAD in $1"
}

# A veth pair created inside $1 (named $2) whose peer ($4) is moved into $3.
_veth()
{
	_ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
	_ip -n "$1" link set "$2" up
	_ip -n "$3" link set "$4" up
}

_addr6() { _ip -n "$1" -6 addr add "$2" dev "$3" nodad; }

_topo_node()
{
	_ns_add "$NS_NODE"
	in_node sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null ||
		fail "cannot enable forwarding in $NS_NODE"
	_ip -n "$NS_NODE" link add "$POD_BRIDGE" type bridge forward_delay 0 mcast_snooping 0
	_ip -n "$NS_NODE" addr add "$POD_GW/${POD_CIDR#*/}" dev "$POD_BRIDGE"
	_addr6 "$NS_NODE" "$POD_GW6/${POD_CIDR6#*/}" "$POD_BRIDGE"
	_ip -n "$NS_NODE" link set "$POD_BRIDGE" up
}

# A host namespace (client, ext) on its own /24 link to the node.
_topo_host()
{
	local ns=$1 nif=$2 ip=$3 gw=$4 ip6=$5 gw6=$6

	_ns_add "$ns"
	_veth "$NS_NODE" "$nif" "$ns" eth0
	_ip -n "$NS_NODE" addr add "$gw/24" dev "$nif"
	_addr6 "$NS_NODE" "$gw6/64" "$nif"
	_ip -n "$ns" addr add "$ip/24" dev eth0
	_addr6 "$ns" "$ip6/64" eth0
	_ip -n "$ns" route add default via "$gw"
	_ip -n "$ns" -6 route add default via "$gw6"
}

topo_create()
{
	[ "$_TOPO_UP" -eq 0 ] || fail "topo_create: topology already exists"
	_STATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/svcnat-test.XXXXXX") ||
		fail "cannot create a state directory"
	_TOPO_UP=1
	trap _on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	_topo_node
	_topo_host "$NS_CLIENT" "$NODE_IF_CLIENT" "$CLIENT_IP" "$NODE_CLIENT_IP" \
		"$CLIENT_IP6" "$NODE_CLIENT_IP6"
	_topo_host "$NS_EXT" "$NODE_IF_EXT" "$EXT_IP" "$NODE_EXT_IP" "$EXT_IP6" "$NODE_EXT_IP6"
}

# Starts echo-server in namespace $1 with pid file $2; waits until it listens.
_server_start()
{
	local ns=$1 pidfile=$2 name=$3 port args=()

	shift 3
	for port in "$@"; do
		args+=(--port "$port")
	done
	rm -f "$pidfile"
	ip netns exec "$ns" "$ECHO_SERVER" --name "$name" "${args[@]}" --pidfile "$pidfile" \
		</dev/null &
	# The pid file appears once every socket is bound.
	wait_for 5 test -s "$pidfile" || fail "echo-server $name did not start in $ns"
}

_server_stop()
{
	local pidfile=$1 pid i

	[ -s "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$pidfile"
}

# 198.19.C.D -> 2001:db8:19::C:D (the decimal digits read as hex groups).
_default_ip6()
{
	local IFS=.
	# shellcheck disable=SC2086
	set -- $1
	echo "${POD_GW6%::*}::$3:$4"
}

pod_add()
{
	local name=${1:?pod_add NAME IP [IP6|-] [PORT...]} ip=${2:?pod_add NAME IP}
	local ip6 ns=${NETNS_PREFIX}pod-$1 vif

	shift 2
	ip6=$(_default_ip6 "$ip")
	if [ $# -gt 0 ] && [[ $1 == *:* || $1 == - ]]; then
		ip6=$1
		shift
	fi
	[ "$ip6" = - ] && ip6=
	[ "$_TOPO_UP" -eq 1 ] || fail "pod_add: call topo_create first"
	require_tools
	[ -z "${_POD_IF[$name]:-}" ] || fail "pod_add: pod '$name' exists"
	vif=vp$((_POD_SEQ++))
	_POD_IF[$name]=$vif _POD_IP[$name]=$ip _POD_IP6[$name]=$ip6
	_ns_add "$ns"
	_veth "$NS_NODE" "$vif" "$ns" eth0
	_ip -n "$NS_NODE" link set "$vif" master "$POD_BRIDGE"
	# Hairpin mode, as kubelet asks of the bridge CNI plugin (hairpinMode): when the
	# host has br_netfilter loaded (bridge-nf-call-iptables is then 1 in every new
	# namespace), a pod's packet DNATed back to the pod itself is bridged out of the
	# port it came in on, which the bridge refuses unless hairpin mode is on.
	_ip -n "$NS_NODE" link set "$vif" type bridge_slave hairpin on
	_ip -n "$ns" addr add "$ip/${POD_CIDR#*/}" dev eth0
	_ip -n "$ns" route add default via "$POD_GW"
	if [ -n "$ip6" ]; then
		_addr6 "$ns" "$ip6/${POD_CIDR6#*/}" eth0
		_ip -n "$ns" -6 route add default via "$POD_GW6"
	fi
	# shellcheck disable=SC2086
	[ $# -gt 0 ] || set -- $POD_PORTS
	_server_start "$ns" "$_STATE_DIR/pod-$name.pid" "$name" "$@"
}

pod_del()
{
	local name=${1:?pod_del NAME}

	[ -n "${_POD_IF[$name]:-}" ] || fail "pod_del: no pod '$name'"
	_server_stop "$_STATE_DIR/pod-$name.pid"
	_ns_kill_all "${NETNS_PREFIX}pod-$name"
	# Deleting the namespace deletes its veth end, and with it the node's end.
	ip netns del "${NETNS_PREFIX}pod-$name"
	unset "_POD_IF[$name]" "_POD_IP[$name]" "_POD_IP6[$name]"
}

ext_server_start()
{
	local name=${1:?ext_server_start NAME [PORT...]}

	shift
	[ "$_TOPO_UP" -eq 1 ] || fail "ext_server_start: call topo_create first"
	require_tools
	# shellcheck disable=SC2086
	[ $# -gt 0 ] || set -- $POD_PORTS
	_server_stop "$_STATE_DIR/ext.pid"
	_server_start "$NS_EXT" "$_STATE_DIR/ext.pid" "$name" "$@"
}

ext_server_stop() { _server_stop "$_STATE_DIR/ext.pid"; }

# Anything still running in one of our namespaces was started by this test.
_ns_kill_all()
{
	local pids

	pids=$(ip netns pids "$1" 2>/dev/null) || return 0
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	sleep 0.2
	pids=$(ip netns pids "$1" 2>/dev/null) || true
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

topo_destroy()
{
	local f ns

	if [ -n "$_STATE_DIR" ]; then
		for f in "$_STATE_DIR"/*.pid; do
			_server_stop "$f"
		done
		rm -rf "$_STATE_DIR"
		_STATE_DIR=
	fi
	for ns in $(_our_netns); do
		_ns_kill_all "$ns"
		ip netns del "$ns" 2>/dev/null ||
			printf 'WARNING: %s: cannot delete namespace %s\n' "$TEST_NAME" "$ns" >&2
	done
	_POD_IF=() _POD_IP=() _POD_IP6=()
	_TOPO_UP=0
	return 0
}

wait_for()
{
	local deadline=$((SECONDS + $1))

	shift
	until "$@" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

assert_eq()
{
	[ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_match()
{
	[[ $2 =~ $1 ]] || fail "${3:-value}: '$2' does not match /$1/"
}

# A listing without the sets' "size N" lines (a filter): an incremental apply keeps the size
# a set already has in the kernel while it has room, so only a fresh load has compile's sizes.
drop_set_sizes()
{
	sed -E '/^[[:space:]]+size [0-9]+$/d'
}

cc_get()
{
	local out=$1 key=$2 name=${3:-}

	awk -v k="$key" -v n="$name" '
		k == "answer" && $1 == "answer" && $2 == n { v = $3 }
		k != "answer" && $1 == k { v = $2 }
		END { print v + 0 }' <<<"$out"
}

cc_answers()
{
	awk '$1 == "answer" { printf "%s%s", sep, $3; sep = " " } END { print "" }' <<<"$1"
}

# Pearson's chi-square test against a uniform distribution at p = 1e-6: a suite makes about
# a dozen of these per run, twice in CI, and a false alarm at p = 0.001 would fail one run in
# forty. A broken spread (an endpoint never or always chosen) is still far beyond the bound.
# Critical values for df 1..10 from the table; beyond that the Wilson-Hilferty approximation.
chi_square_uniform()
{
	[ $# -ge 2 ] || fail "chi_square_uniform: needs at least two counts"
	awk -v name="$TEST_NAME" 'BEGIN {
		split("23.928 27.631 30.665 33.377 35.888 38.258 40.522 42.701 44.811 46.863", crit)
		k = ARGC - 1
		for (i = 1; i <= k; i++) sum += ARGV[i]
		if (sum == 0) { print name ": chi-square: no observations"; exit 1 }
		e = sum / k
		for (i = 1; i <= k; i++) chi += (ARGV[i] - e) ^ 2 / e
		df = k - 1
		if (df <= 10) c = crit[df]
		else { h = 2 / (9 * df); c = df * (1 - h + 4.7534 * sqrt(h)) ^ 3 }
		ok = chi <= c
		printf "%s: chi-square %.3f, df %d, critical %.3f at p=1e-6: %s\n", name, chi, df, c,
			ok ? "uniform" : "NOT uniform"
		exit !ok
	}' "$@"
}
