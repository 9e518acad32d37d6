# SPDX-License-Identifier: GPL-2.0-or-later
# The bad-input corpus (test/bad/, described in test/bad-inputs.sh), as both its runners read
# it: test/bad-inputs.sh (messages and exit codes) and integration/40-bad-inputs-kernel.sh (the
# kernel ruleset kept). Sourced; BAD_DIR must name test/bad.

# selected NAME [PATTERN...]: whether case NAME is one the run was asked for (all without patterns).
selected()
{
	local p

	[ $# -gt 1 ] || return 0
	for p in "${@:2}"; do
		[[ $1 == *"$p"* ]] && return 0
	done
	return 1
}

# case_input NAME DIR: the input of case NAME, created in DIR for a generator; prints the path for -f.
case_input()
{
	local name=$1 dir=$2

	if [ -f "$BAD_DIR/$name.gen" ]; then
		mkdir -p "$dir" && bash "$BAD_DIR/$name.gen" "$dir"
	elif [ -f "$BAD_DIR/$name.yaml" ]; then
		echo "$BAD_DIR/$name.yaml"
	elif [ -f "$BAD_DIR/$name.json" ]; then
		echo "$BAD_DIR/$name.json"
	else
		return 1
	fi
}
