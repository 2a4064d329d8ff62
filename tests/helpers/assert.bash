# shellcheck shell=bash
#
# tests/helpers/assert.bash: running a command with stdout and stderr kept
# apart, and assertions that say what they saw. bats 1.8 ships neither
# bats-assert nor bats-support, and CI must not fetch them. Sourced by
# common.bash. Each assertion returns 1 with a message on stderr, which
# bats shows under the failed test.
#
# A DOC argument is a file name when such a file exists, else the JSON text
# itself; either may hold several documents (JSON Lines).

# run_split [-N | !] [--] CMD...: runs CMD in a subshell, stdout and stderr
# to separate files, and sets
#   status                 CMD's exit status
#   output, stderr         the two streams, trailing newlines removed
#   lines, stderr_lines    the same split into lines (empty lines kept)
#   OUTPUT_FILE, STDERR_FILE  the exact bytes (overwritten by the next
#                          run_split; copy them to keep them)
# -N or ! checks the status as bats' run does. Redirect stdin as usual:
#   run_split -0 acme-order <"$FIXTURES/orders.jsonl"
# bats' own `run --separate-stderr` works in 1.8.2 too, but it strips
# leading and trailing whitespace from $stderr and keeps no file, so a
# missing final newline on a JSON line could not be caught.
# shellcheck disable=SC2034 # the variables set are for the caller
run_split() {
	local expect='' dir=${BATS_TEST_TMPDIR:-$TEST_TMP}
	case ${1:-} in
	'!')
		expect=nonzero
		shift
		;;
	-[0-9]*)
		expect=${1#-}
		shift
		;;
	esac
	[[ ${1:-} == -- ]] && shift
	OUTPUT_FILE=$dir/run_split.stdout
	STDERR_FILE=$dir/run_split.stderr
	BATS_RUN_COMMAND=$*
	status=0
	("$@") >"$OUTPUT_FILE" 2>"$STDERR_FILE" || status=$?
	output=$(<"$OUTPUT_FILE")
	stderr=$(<"$STDERR_FILE")
	mapfile -t lines <"$OUTPUT_FILE"
	mapfile -t stderr_lines <"$STDERR_FILE"
	if [[ $expect == nonzero && $status -eq 0 ]]; then
		_run_split_report "expected a non-zero exit status, got 0"
	elif [[ -n $expect && $expect != nonzero && $status -ne $expect ]]; then
		_run_split_report "expected exit status $expect, got $status"
	fi
}

_run_split_report() {
	{
		printf 'run_split: %s\n' "$1"
		printf 'command: %s\n' "$BATS_RUN_COMMAND"
		_show_streams
	} >&2
	return 1
}

_show_streams() {
	printf -- '--- stdout\n%s\n--- stderr\n%s\n---\n' "${output-}" "${stderr-}"
}

# fail MESSAGE...: fails the test with the message lines.
fail() {
	printf '%s\n' "$@" >&2
	return 1
}

# assert_status N: $status (from run or run_split) is N; shows both streams
# otherwise.
assert_status() {
	[[ ${status-} == "$1" ]] && return 0
	{
		printf 'assert_status: expected %s, got %s\n' "$1" "${status-unset}"
		_show_streams
	} >&2
	return 1
}

# assert_equal ACTUAL EXPECTED [WHAT]
assert_equal() {
	[[ $1 == "$2" ]] && return 0
	printf 'assert_equal: %s differs\nexpected: %s\nactual:   %s\n' \
		"${3:-value}" "$2" "$1" >&2
	return 1
}

# assert_output EXPECTED / assert_stderr EXPECTED: the whole stream, as
# run_split stored it (trailing newlines removed), equals EXPECTED exactly.
# `assert_stderr ''` asserts silence.
assert_output() {
	assert_equal "${output-}" "$1" stdout
}
assert_stderr() {
	assert_equal "${stderr-}" "$1" stderr
}

# assert_contains HAYSTACK NEEDLE: NEEDLE occurs in HAYSTACK.
assert_contains() {
	[[ $1 == *"$2"* ]] && return 0
	printf 'assert_contains: %s\nnot found in:\n%s\n' "$2" "$1" >&2
	return 1
}

# assert_json DOC JQ_EXPR [JQ_OPTION...]: JQ_EXPR is true (neither false
# nor null, and produces something) for every document in DOC. JQ_OPTIONs
# (e.g. --arg name value) come before the expression on jq's command line.
#   assert_json "$OUTPUT_FILE" '.error.type == $t' --arg t "$type"
assert_json() {
	local doc=$1 expr=$2 text res
	shift 2
	text=$(_json_text "$doc") || return 1
	if res=$(jq -n "$@" "[inputs | ($expr)] | length > 0 and all" <<<"$text" 2>&1) &&
		[[ $res == true ]]; then
		return 0
	fi
	{
		printf 'assert_json: not true for every document: %s\n' "$expr"
		[[ $res != false ]] && printf 'jq: %s\n' "$res"
		_json_show "$text"
	} >&2
	return 1
}

# assert_json_eq ACTUAL EXPECTED: the same documents, in the same order,
# compared after jq -S (key order and spacing do not matter).
assert_json_eq() {
	local a b
	a=$(_json_text "$1" | jq -S -c .) || {
		fail "assert_json_eq: ACTUAL is not JSON:" "$(_json_text "$1")"
		return 1
	}
	b=$(_json_text "$2" | jq -S -c .) || {
		fail "assert_json_eq: EXPECTED is not JSON:" "$(_json_text "$2")"
		return 1
	}
	[[ $a == "$b" ]] && return 0
	{
		echo 'assert_json_eq: documents differ (-expected +actual)'
		diff -u --label expected --label actual \
			<(jq -S . <<<"$b") <(jq -S . <<<"$a")
	} >&2
	return 1
}

# assert_line_count N [FILE]: FILE (default OUTPUT_FILE) holds exactly N
# newline-terminated lines, and nothing after the last newline.
assert_line_count() {
	local file=${2:-$OUTPUT_FILE} n
	n=$(wc -l <"$file") || return 1
	if [[ -s $file && $(tail -c 1 -- "$file" | od -An -tx1) != *0a* ]]; then
		fail "assert_line_count: $file does not end with a newline"
		return 1
	fi
	((n == $1)) && return 0
	printf 'assert_line_count: expected %s lines in %s, got %s:\n' "$1" "$file" "$n" >&2
	head -n 40 -- "$file" >&2
	return 1
}

# assert_no_private_key [FILE...]: no "PRIVATE KEY" in $output, $stderr or
# the FILEs (documents carry key paths, never key PEM).
assert_no_private_key() {
	local f
	if [[ ${output-} == *'PRIVATE KEY'* || ${stderr-} == *'PRIVATE KEY'* ]]; then
		fail "assert_no_private_key: private key material on stdout or stderr"
		return 1
	fi
	for f in "$@"; do
		if grep -q 'PRIVATE KEY' -- "$f"; then
			fail "assert_no_private_key: private key material in $f"
			return 1
		fi
	done
}

_json_text() {
	if [[ -f $1 ]]; then
		cat -- "$1"
	else
		printf '%s\n' "$1"
	fi
}

# _json_show TEXT: the documents, pretty when they parse, first 60 lines.
_json_show() {
	printf 'document(s):\n'
	{ jq . <<<"$1" 2>/dev/null || printf '%s\n' "$1"; } | head -n 60
}
