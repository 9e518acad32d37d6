# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# svcnat.sh: helpers for svcnat's kernel tests; source it after test/lib/netns.sh.
# (Not a test itself: run-tests runs test/integration/*.sh only.)
#
#   svcnat_setup              a private work directory $WORK (removed at exit) holding
#                             the state dir $STATE, the lock file $LOCK and an empty
#                             configuration (so a host /etc/svcnat/svcnat.yaml is ignored)
#   sn ARGS...                svcnat in the node namespace with the test's global options
#                             (--service-cidr ${SERVICE_CIDRS:-$SVC_CIDR}, config, state, lock)
#   sn_apply ARGS...          sn ${SN_OPTS[@]} apply ARGS; fail unless it exits 0; prints
#                             its output
#   svc_ip NS/NAME            the clusterIP svcnat allocated (from $STATE/allocations)
#   svc_nodeport NS/NAME PROTO PORT   the nodePort svcnat allocated
#   nft_table [WHERE]         nft list table ip svcnat in the node (or WHERE: pod:NAME),
#                             normalised with test/lib/nft-normalize when it is there,
#                             else sorted line by line; without the table: a line saying
#                             so, and status 1
#   nft_table_blocks [WHERE]  nft_table with its maps, sets and chains in name order: the
#                             kernel lists chains in the order they were created, which
#                             differs between a table built step by step and one loaded
#                             in one go
#   run_cc WHERE OUTVAR ARGS...  conn-client ARGS in WHERE (client, node, ext, pod:NAME);
#                             its output goes into OUTVAR, its exit status is returned
#   expect_only WHERE N HOST PORT [CONN-CLIENT-OPTION...] -- NAME...
#                             N attempts from WHERE: every one answered, and by exactly
#                             the pods NAME... (each at least once)

svcnat_setup()
{
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/svcnat-it.XXXXXX") || fail "cannot create a work directory"
	at_exit "rm -rf '$WORK'"
	STATE=$WORK/state
	LOCK=$WORK/lock
	SVCNAT_CONF=$WORK/svcnat.yaml
	echo '{}' >"$SVCNAT_CONF"
	NFT_NORMALIZE=${NFT_NORMALIZE:-$SRCDIR/test/lib/nft-normalize}
	[ -x "$SVCNAT" ] || fail "$SVCNAT is missing; build it with 'make BUILD=$BUILD all'"
}

sn()
{
	in_node "$SVCNAT" -c "$SVCNAT_CONF" --service-cidr "${SERVICE_CIDRS:-$SVC_CIDR}" \
		--state-dir "$STATE" --lock-file "$LOCK" "$@"
}

sn_apply()
{
	local out rc

	out=$(sn ${SN_OPTS[@]+"${SN_OPTS[@]}"} apply "$@" 2>&1) && rc=0 || rc=$?
	[ "$rc" -eq 0 ] || fail "svcnat apply $* exited $rc: $out"
	printf '%s\n' "$out"
}

svc_ip()
{
	local ip

	ip=$(awk -v s="$1" '$1 == "clusterip" && $2 == s { print $3 }' "$STATE/allocations" \
		2>/dev/null)
	[ -n "$ip" ] || fail "no clusterIP allocated for $1 in $STATE/allocations"
	echo "$ip"
}

svc_nodeport()
{
	local np

	np=$(awk -v s="$1" -v p="$2" -v n="$3" \
		'$1 == "nodeport" && $2 == s && $3 == p && $4 == n { print $5 }' \
		"$STATE/allocations" 2>/dev/null)
	[ -n "$np" ] || fail "no nodePort allocated for $1 $2 $3 in $STATE/allocations"
	echo "$np"
}

_have_normalize() { command -v python3 >/dev/null && [ -x "$NFT_NORMALIZE" ]; }

nft_table()
{
	local where=${1:-node} out rc=0

	case $where in
	node) out=$(in_node nft list table ip svcnat 2>&1) || rc=$? ;;
	pod:*) out=$(in_pod "${where#pod:}" nft list table ip svcnat 2>&1) || rc=$? ;;
	*) fail "nft_table: unknown place $where" ;;
	esac
	if [ "$rc" -ne 0 ]; then
		echo "(no table ip svcnat in $where: $out)"
		return 1
	fi
	if _have_normalize; then
		"$NFT_NORMALIZE" <<<"$out"
	else
		sed 's/ # handle [0-9]*$//' <<<"$out" | LC_ALL=C sort
	fi
}

nft_table_blocks()
{
	local out rc=0

	out=$(nft_table "$@") || rc=$?
	if [ "$rc" -eq 0 ] && _have_normalize; then
		_sort_blocks <<<"$out"
	else
		# Sorted line by line already.
		printf '%s\n' "$out"
	fi
	return "$rc"
}

# Filter: the one-tab-indented blocks of a listing ("\tchain NAME {" to "\t}"), sorted
# by their first line; blank lines dropped.
_sort_blocks()
{
	awk '
		/^\t[a-z]+ [^ ]+ [{]$/ && !inblock { inblock = 1; block = $0; next }
		inblock && /^\t[}]$/ { blocks[++n] = block "\n" $0; inblock = 0; next }
		inblock { block = block "\n" $0; next }
		/^[}]$/ { closing = $0; next }
		NF == 0 { next }
		{ head = head $0 "\n" }
		END {
			for (i = 2; i <= n; i++) {	# insertion sort on the first lines
				v = blocks[i]
				split(v, a, "\n")
				for (j = i - 1; j >= 1; j--) {
					split(blocks[j], b, "\n")
					if (b[1] <= a[1])
						break
					blocks[j + 1] = blocks[j]
				}
				blocks[j + 1] = v
			}
			printf "%s", head
			for (i = 1; i <= n; i++)
				print blocks[i]
			if (closing != "")
				print closing
		}'
}

run_cc()
{
	local where=$1 var=$2 _out _rc

	shift 2
	case $where in
	client) _out=$(in_client "$CONN_CLIENT" "$@") && _rc=0 || _rc=$? ;;
	node) _out=$(in_node "$CONN_CLIENT" "$@") && _rc=0 || _rc=$? ;;
	ext) _out=$(in_ext "$CONN_CLIENT" "$@") && _rc=0 || _rc=$? ;;
	pod:*) _out=$(in_pod "${where#pod:}" "$CONN_CLIENT" "$@") && _rc=0 || _rc=$? ;;
	*) fail "run_cc: unknown place $where" ;;
	esac
	printf -v "$var" '%s' "$_out"
	return "$_rc"
}

# expect_among WHERE N HOST PORT [OPT...] -- POD...: exactly N attempts, each answered by
# one of the pods named (not necessarily all): for tests that count packets.
expect_among()
{
	EXPECT_ROUNDS=1 expect_only "$@"
}

# expect_only WHERE N HOST PORT [OPT...] -- POD...: rounds of N attempts, each answered, by
# exactly the pods named. Picks are random, so a round of N may miss a pod by chance (one run
# in twenty for 10 attempts over 3 pods); while every answer comes from a named pod, further
# rounds are made until each has answered, up to 8 rounds. A pod outside the list fails at once.
expect_only()
{
	local where=$1 n=$2 host=$3 port=$4 opts=() out='' seen='' got want what round rounds=${EXPECT_ROUNDS:-8}

	shift 4
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	what="$where -> $host:$port${opts[*]:+ ${opts[*]}}"
	want=$(printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' ')
	for round in $(seq "$rounds"); do
		run_cc "$where" out ${opts[@]+"${opts[@]}"} -n "$n" "$host" "$port" ||
			fail "$what: not every attempt was answered: ${out//$'\n'/, }"
		assert_eq "$n" "$(cc_get "$out" total)" "$what: attempts"
		seen+=$(awk '$1 == "answer" { print $2 }' <<<"$out")$'\n'
		got=$(sed '/^$/d' <<<"$seen" | LC_ALL=C sort -u | tr '\n' ' ')
		[ "$got" = "$want" ] && return 0
		[ -n "$(LC_ALL=C comm -23 <(tr ' ' '\n' <<<"$got" | sed '/^$/d') \
			<(tr ' ' '\n' <<<"$want" | sed '/^$/d'))" ] && break
		[ "$rounds" -gt 1 ] || return 0	# expect_among: every answer from a named pod is enough
		log "$what: round $round answered by ${got:-nobody}; another $n attempts"
	done
	assert_eq "$want" "$got" "$what: pods that answered (${out//$'\n'/, })"
}
