#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# Bad input refused, with a one-line message and nothing lost: state
# documents (unreadable lines, wrong types, unknown versions, hostile
# names) and options, for every command, against a real Pebble and nginx.
#
# Every stream puts the bad line or document between "carriers": documents
# each command handles without error (made once, in setup_file, and
# handled again and again: acme-order refreshes the order, acme-challenge
# finds its authorizations valid, acme-finalize finds the certificate,
# certstore-put finds it stored). Carriers are numbered in "n", a member
# the commands copy unchanged, so a test sees that every other document
# came out, once, in order and without an error.

load helpers/common

CMDS=(acme-order acme-challenge acme-finalize certstore-put acme-revoke)
# With the commands that read no documents, for the option tests (each
# one where it is built).
OPT_CMDS=("${CMDS[@]}")
for _c in cert-expiring certstore acme-account; do
	[[ -x $REPO_ROOT/bin/$_c ]] && OPT_CMDS+=("$_c")
done
unset _c

setup_file() {
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key
	# ready: the order is ready (valid once finalized below), its
	# authorizations valid; issued: the certificate is in the document,
	# its key in the store; revoked: issued, and revoked since.
	jq -cn '{identifiers: ["carrier.example.com", "www.carrier.example.com"]}' |
		acme-order -a >"$TEST_TMP/ordered" &&
		acme-challenge -w "$WEBROOT" <"$TEST_TMP/ordered" >"$TEST_TMP/ready" &&
		acme-finalize -s "$STORE" <"$TEST_TMP/ready" >"$TEST_TMP/issued" &&
		certstore-put -s "$STORE" <"$TEST_TMP/issued" >"$TEST_TMP/stored" &&
		acme-revoke <"$TEST_TMP/issued" >"$TEST_TMP/revoked" ||
		return 1
	jq -e '.stored and (.key | not)'  "$TEST_TMP/stored" >/dev/null
}

setup() {
	T=$BATS_TEST_TMPDIR
}

# step CMD [OPTION...]: runs CMD with what it needs to work here (a
# webroot, a store) before the OPTIONs.
step() {
	local c=$1
	shift
	case $c in
	acme-challenge) set -- -w "$WEBROOT" "$@" ;;
	acme-finalize | certstore-put) set -- -s "$STORE" "$@" ;;
	esac
	"$c" "$@"
}

# carrier_file CMD: the file holding CMD's carrier, one line.
carrier_file() {
	case $1 in
	acme-order | acme-challenge) echo "$TEST_TMP/ready" ;;
	# Revoked already: passed on with no request, like a rerun.
	acme-revoke) echo "$TEST_TMP/revoked" ;;
	*) echo "$TEST_TMP/issued" ;;
	esac
}

# carrier CMD N: one line, a document CMD handles without error, numbered N.
carrier() {
	sed 's/}$/,"n":'"$2"'}/' "$(carrier_file "$1")"
}

# doc_stream CMD EDIT...: carrier 1, then for each jq EDIT a carrier edited
# by it (numbered 2, 4, ...) followed by a plain one (3, 5, ...). One jq.
doc_stream() {
	local c=$1 n=1 e prog='. + {n: 1}'
	shift
	for e in "$@"; do
		prog+=", (. + {n: $((n + 1))} | $e), . + {n: $((n + 2))}"
		n=$((n + 2))
	done
	jq -c "$prog" "$(carrier_file "$c")"
}

# assert_kept N...: stdout holds exactly the documents numbered N..., in
# that order, one line each.
assert_kept() {
	assert_line_count $# "$OUTPUT_FILE" &&
		assert_equal "$(jq -r .n "$OUTPUT_FILE" | tr '\n' ' ')" "$* " "documents out"
}

# assert_carriers_fine: the odd-numbered documents (the carriers) carry no
# error.
assert_carriers_fine() {
	assert_json "$OUTPUT_FILE" '.n % 2 == 0 or .error == null'
}

# snapshot: every path under the test's directories and the shared ones,
# to prove that a refused document created nothing.
snapshot() {
	find "$TEST_TMP" "$BATS_TEST_TMPDIR" -path "$TEST_TMP/nginx" -prune -o \
		-path "$TEST_TMP/pebble" -prune -o -path "$TEST_TMP/home" -prune -o \
		! -name 'run_split.*' ! -name snap.before ! -name snap.after -print |
		LC_ALL=C sort
}

# --- unreadable lines --------------------------------------------------

@test "input: malformed lines are refused one by one, with line and column; the others go on" {
	for c in "${CMDS[@]}"; do
		{
			carrier "$c" 1
			echo '{"identifiers":'
			carrier "$c" 3
			echo '[1,2]'
			carrier "$c" 5
			echo 'identifiers: example.com'
			carrier "$c" 7
			echo '{"a":1,"a":2}'
			carrier "$c" 9
			echo '{"a":1}x'
			carrier "$c" 11
			echo '"example.com"'
			carrier "$c" 13
		} >"$T/in"
		run_split -2 step "$c" <"$T/in"
		assert_kept 1 3 5 7 9 11 13
		assert_json "$OUTPUT_FILE" '.error == null'
		assert_stderr "$c: <stdin>:2:15: unexpected token near end of file
$c: <stdin>:4:1: not a JSON object
$c: <stdin>:6:11: '[' or '{' expected near 'identifiers'
$c: <stdin>:8:10: duplicate object key near '\"a\"'
$c: <stdin>:10:8: end of file expected near 'x'
$c: <stdin>:12:13: '[' or '{' expected near '\"example.com\"'"
		assert_no_private_key
	done
}

@test "input: an unreadable line and a failed document in one stream: exit 2" {
	for c in "${CMDS[@]}"; do
		{
			carrier "$c" 1
			echo '{'
			carrier "$c" 3 | jq -c '.version = 2'
		} >"$T/in"
		run_split -2 step "$c" <"$T/in"
		assert_kept 1 3
		assert_json "$OUTPUT_FILE" '(.n == 1) == (.error == null)'
		assert_stderr "$c: <stdin>:2:1: string or '}' expected near end of file
$c: <stdin>:3: urn:acmepipe:error:input: unknown schema version (this program knows 1)"
	done
}

@test "input: a complete last line without a newline is still processed" {
	for c in "${CMDS[@]}"; do
		{
			carrier "$c" 1
			carrier "$c" 3 | tr -d '\n'
		} >"$T/in"
		run_split -0 step "$c" <"$T/in"
		assert_kept 1 3
		assert_json "$OUTPUT_FILE" '.error == null'
		assert_stderr ''
	done
}

@test "input: a truncated last line is one line error, the documents before it go on" {
	for c in "${CMDS[@]}"; do
		{
			carrier "$c" 1
			printf '%s' '{"identifiers":["a.exa'
		} >"$T/in"
		run_split -2 step "$c" <"$T/in"
		assert_kept 1
		assert_json "$OUTPUT_FILE" '.error == null'
		assert_stderr "$c: <stdin>:2:22: premature end of input near '\"a.exa'"
	done
}

@test "input: 10,000 levels of nesting are one line error (the parser stops at 2048)" {
	{
		printf '{"a":'
		head -c 10000 /dev/zero | tr '\0' '['
		head -c 10000 /dev/zero | tr '\0' ']'
		echo '}'
	} >"$T/deep"
	for c in "${CMDS[@]}"; do
		{
			carrier "$c" 1
			cat "$T/deep"
			carrier "$c" 3
		} >"$T/in"
		run_split -2 step "$c" <"$T/in"
		assert_kept 1 3
		assert_json "$OUTPUT_FILE" '.error == null'
		assert_stderr "$c: <stdin>:2:2053: maximum parsing depth reached near '['"
	done
}

@test "input: a 100 MB line is refused without being held in memory, the others go on" {
	for c in "${CMDS[@]}"; do
		step_argv "$c"
		run_split -2 /usr/bin/time -f %M -o "$T/rss" "${ARGV[@]}" < <(
			carrier "$c" 1
			head -c 100000000 /dev/zero | tr '\0' a
			echo
			carrier "$c" 3
		)
		assert_kept 1 3
		assert_json "$OUTPUT_FILE" '.error == null'
		assert_stderr "$c: <stdin>:2:1: line longer than 8388608 bytes"
		# The longest line kept is 8 MiB; far less than the 100 MB read.
		rss=$(tail -n 1 "$T/rss")
		((rss < 80 * 1024)) || fail "$c: maximum RSS $rss KiB"
	done
}

# step_argv CMD: ARGV becomes the command line step would run.
step_argv() {
	ARGV=("$1")
	case $1 in
	acme-challenge) ARGV+=(-w "$WEBROOT") ;;
	acme-finalize | certstore-put) ARGV+=(-s "$STORE") ;;
	esac
}

@test "input: a line of exactly 8 MiB with its newline is read, one byte more is not" {
	for c in "${CMDS[@]}"; do
		line=$(carrier "$c" 1)
		pad=$((8388608 - 1 - ${#line}))
		{
			printf '%s' "$line"
			head -c "$pad" /dev/zero | tr '\0' ' '
			echo
			carrier "$c" 2 | tr -d '\n'
			head -c "$((pad + 1))" /dev/zero | tr '\0' ' '
			echo
			carrier "$c" 3
		} >"$T/in"
		run_split -2 step "$c" <"$T/in"
		assert_kept 1 3
		assert_stderr "$c: <stdin>:2:1: line longer than 8388608 bytes"
	done
}

@test "input: NUL bytes make a line unreadable, wherever they are" {
	for c in "${CMDS[@]}"; do
		{
			carrier "$c" 1
			printf '{"identifiers":["a\0b.example.com"]}\n'
			carrier "$c" 3
			printf '\0\n'
			carrier "$c" 5
			printf '{"identifiers":["a.example.com"]}\0\n'
			carrier "$c" 7
			# The escaped form is refused by the parser too: a NUL can
			# never reach a C string.
			printf '{"identifiers":["a\\u0000b.com"]}\n'
			carrier "$c" 9
		} >"$T/in"
		run_split -2 step "$c" <"$T/in"
		assert_kept 1 3 5 7 9
		assert_json "$OUTPUT_FILE" '.error == null'
		assert_stderr "$c: <stdin>:2:18: control character 0x0 near '\"a'
$c: <stdin>:4:1: '[' or '{' expected near end of file
$c: <stdin>:6:34: end of file expected near end of file
$c: <stdin>:8:30: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000b.com\"'"
	done
}

@test "input: invalid UTF-8 makes a line unreadable, in a name or in any member" {
	for c in "${CMDS[@]}"; do
		{
			carrier "$c" 1
			printf '{"identifiers":["\xff.example.com"]}\n'         # never UTF-8
			carrier "$c" 3
			printf '{"identifiers":["\xc0\xaf.example.com"]}\n'     # overlong "/"
			carrier "$c" 5
			printf '{"identifiers":["\xed\xa0\x80.example.com"]}\n' # a surrogate
			carrier "$c" 7
			printf '{"identifiers":["\xf4\x90\x80\x80.com"]}\n'     # past U+10FFFF
			carrier "$c" 9
			printf '{"identifiers":["a.com"],"note":"\xe2\x82"}\n'  # cut short
			carrier "$c" 11
			printf '{"identifiers":["\\ud800.com"]}\n'              # escaped surrogate
			carrier "$c" 13
		} >"$T/in"
		run_split -2 step "$c" <"$T/in"
		assert_kept 1 3 5 7 9 11 13
		assert_json "$OUTPUT_FILE" '.error == null'
		assert_stderr "$c: <stdin>:2:17: unable to decode byte 0xff near '\"'
$c: <stdin>:4:17: unable to decode byte 0xc0 near '\"'
$c: <stdin>:6:17: unable to decode byte 0xed near '\"'
$c: <stdin>:8:17: unable to decode byte 0xf4 near '\"'
$c: <stdin>:10:33: unable to decode byte 0xe2 near '\"'
$c: <stdin>:12:28: invalid Unicode '\\uD800' near '\"\\ud800.com\"'"
	done
}

@test "input: a UTF-8 byte order mark before the first document is ignored; anywhere else it is an error" {
	for c in "${CMDS[@]}"; do
		{
			printf '\xef\xbb\xbf'
			carrier "$c" 1
			carrier "$c" 2
		} >"$T/in"
		run_split -0 step "$c" <"$T/in"
		assert_kept 1 2
		assert_carriers_fine
		assert_stderr ''
		{
			carrier "$c" 1
			printf '\xef\xbb\xbf'
			carrier "$c" 3
			printf '\xef\xbb\xbf\n' # a line of a BOM alone
			carrier "$c" 5
		} >"$T/in"
		run_split -2 step "$c" <"$T/in"
		assert_kept 1 5
		assert_contains "$stderr" "$c: <stdin>:2:1: "
		assert_contains "$stderr" "$c: <stdin>:3:1: "
		assert_line_count 2 "$STDERR_FILE"
	done
}

@test "input: control characters in an unreadable line are escaped on stderr" {
	for c in "${CMDS[@]}"; do
		{
			carrier "$c" 1
			printf '{"a":\e[31m}\n'
			carrier "$c" 3
		} >"$T/in"
		run_split -2 step "$c" <"$T/in"
		assert_kept 1 3
		assert_stderr "$c: <stdin>:2:6: invalid token near '\\x1b'"
		[[ $stderr != *$'\e'* ]] || fail "raw escape on stderr"
	done
}

# --- documents of the wrong shape --------------------------------------

# assert_doc_errors CMD TYPE DETAIL...: a doc_stream of as many edits as
# DETAILs failed each edited document with TYPE and its DETAIL, one
# stderr line each, and passed every carrier through unharmed.
assert_doc_errors() {
	local c=$1 type=$2 n=0 d want=""
	shift 2
	for d in "$@"; do
		n=$((n + 2))
		want+="$c: <stdin>:$n: $type: $d"$'\n'
	done
	assert_status 1 || return 1
	assert_kept $(seq 1 $((n + 1))) || return 1
	assert_carriers_fine || return 1
	assert_json "$OUTPUT_FILE" '.n % 2 == 1 or (.error.type == $t and
	    .error.step == $c and (.error.time | test("Z$")))' \
		--arg t "$type" --arg c "$c" || return 1
	assert_json "$OUTPUT_FILE" '$d[.n / 2 - 1] as $want |
	    .n % 2 == 1 or .error.detail == $want' --argjson d "$(jq -nc '$ARGS.positional' --args "$@")" ||
		return 1
	assert_stderr "${want%$'\n'}"
	assert_no_private_key
}

@test "input: identifiers of the wrong type fail the document, for every command" {
	many=$(seq -f 'n%g.example.com' 1 101 | jq -R . | jq -sc .)
	edits=('.identifiers = "carrier.example.com"' '.identifiers = 42'
		'.identifiers = [1, 2]' '.identifiers = []' '.identifiers = {}'
		'.identifiers = null' 'del(.identifiers)'
		'.identifiers = ["carrier.example.com", ["b.example.com"]]'
		".identifiers = $many")
	none='no identifiers: want "identifiers":["example.com"]'
	details=("$none" "$none" 'identifiers[0] is not a string' "$none" "$none"
		"$none" "$none" 'identifiers[1] is not a string'
		'101 identifiers: at most 100 per certificate')
	for c in "${CMDS[@]}"; do
		run_split step "$c" < <(doc_stream "$c" "${edits[@]}")
		assert_doc_errors "$c" urn:acmepipe:error:input "${details[@]}"
	done
}

@test "input: an unknown schema version, or a version that is not the integer 1, is refused" {
	d='unknown schema version (this program knows 1)'
	for c in "${CMDS[@]}"; do
		run_split step "$c" < <(doc_stream "$c" '.version = 2' '.version = "1"' \
			'.version = null' '.version = 1.5' '.version = -1' '.version = [1]')
		assert_doc_errors "$c" urn:acmepipe:error:input "$d" "$d" "$d" "$d" "$d" "$d"
	done
}

@test "input: acme-order replaces an order or authorizations of the wrong type, refuses an order without a URL" {
	url=$(jq -r .order.url "$TEST_TMP/ready")
	run_split -1 acme-order < <(doc_stream acme-order '.order = "x"' \
		'.authorizations = {}' '.account = "x"' '.directory = 5' \
		'.order.url = 42')
	assert_kept 1 2 3 4 5 6 7 8 9 10 11
	assert_json "$OUTPUT_FILE" '.n == 10 or .error == null'
	# A new order for what was not one; the CA's view for the rest.
	assert_json "$OUTPUT_FILE" '.n != 2 or (.order.url != $u and
	    .order.status == "pending")' --arg u "$url"
	assert_json "$OUTPUT_FILE" '.n == 10 or ((.authorizations | type) == "array"
	    and (.account.url | type) == "string" and .directory == env.ACMEPIPE_DIRECTORY)'
	assert_json "$OUTPUT_FILE" '.n != 10 or (.error.type == "urn:acmepipe:error:input"
	    and .error.detail == "no order.url")'
	assert_stderr "acme-order: <stdin>:10: urn:acmepipe:error:input: no order.url"
}

@test "input: acme-challenge refuses an order or authorizations of the wrong type" {
	no_order='no order in document: run acme-order first'
	run_split step acme-challenge < <(doc_stream acme-challenge '.order = "x"' \
		'.order.url = 42' '.authorizations = {}' '.authorizations = [1]' \
		'.authorizations[0].status = 5' '.authorizations[0].identifier = 5' \
		'.authorizations[0].url = null')
	assert_doc_errors acme-challenge urn:acmepipe:error:input "$no_order" \
		"$no_order" "$no_order" 'authorizations[0] is malformed' \
		'authorizations[0] is malformed' 'authorizations[0] is malformed' \
		'authorizations[0] is malformed'
}

@test "input: acme-finalize refuses an order of the wrong type, and a certificate that is not one" {
	no_order='no order in document: run acme-order first'
	# The carrier without its certificate, for the order edits.
	run_split step acme-finalize < <(doc_stream acme-finalize \
		'del(.certificate) | .order = "x"' 'del(.certificate) | .order.url = 42' \
		'del(.certificate) | .order = null')
	assert_doc_errors acme-finalize urn:acmepipe:error:input "$no_order" \
		"$no_order" "$no_order"
	# Not an object: no certificate, so the order is finalized again; it
	# is valid and its key is gone (in the store), so that fails.
	gone='order is valid but the key of its CSR is gone: rerun acme-order for a new order'
	run_split step acme-finalize < <(doc_stream acme-finalize \
		'.certificate = []' '.certificate = "x"')
	assert_doc_errors acme-finalize urn:acmepipe:error:local "$gone" "$gone"
}

@test "input: certstore-put refuses a key or certificate of the wrong type" {
	nokey='no key.path in document'
	nocert='no certificate in document'
	snapshot >"$T/snap.before"
	run_split step certstore-put < <(doc_stream certstore-put \
		'.key = "x"' '.key.path = 5' '.key = {}' '.key = null' \
		'.certificate = []' '.certificate.pem = 5' '.certificate = "x"' \
		'.certificate = {}')
	assert_doc_errors certstore-put urn:acmepipe:error:input "$nokey" "$nokey" \
		"$nokey" "$nokey" "$nocert" "$nocert" "$nocert" "$nocert"
	snapshot >"$T/snap.after"
	diff "$T/snap.before" "$T/snap.after"
}

# Only an object records a failure ("stored" likewise records a storing):
# anything else in that place is an unknown member's value.
@test "input: \"stored\" that is not an object does not make certstore-put skip the document" {
	for e in '.stored = "yes"' '.stored = null' '.stored = true' '.stored = []'; do
		run_split -0 step certstore-put < <(carrier certstore-put 1 | jq -c "$e")
		assert_json "$output" '.stored.names == ["carrier.example.com",
		    "www.carrier.example.com"] and (.key | not)'
	done
}

@test "input: \"error\" that is not an object does not fail the document; it is kept" {
	for c in "${CMDS[@]}"; do
		for e in '"oops"' '[]' '42' 'false'; do
			# Without "version": the step sets it, so it surely ran.
			run_split -0 step "$c" < <(carrier "$c" 1 |
				jq -c --argjson e "$e" 'del(.version) | .error = $e')
			assert_stderr ''
			assert_json "$output" '.version == 1 and .error == $e' --argjson e "$e"
		done
		# null is no error either (and jq's select(.error) agrees).
		run_split -0 step "$c" < <(carrier "$c" 1 | jq -c 'del(.version) | .error = null')
		assert_json "$output" '.version == 1 and .error == null'
	done
}

@test "input: \"error\" that is an object, even empty, fails the document, which passes untouched" {
	for c in "${CMDS[@]}"; do
		carrier "$c" 1 | jq -c 'del(.version) | .identifiers = ["failed.example.com"] |
		    .error = {}' >"$T/in"
		run_split -1 step "$c" <"$T/in"
		assert_json_eq "$OUTPUT_FILE" "$T/in"
		assert_stderr ''
	done
}

# --- hostile names -----------------------------------------------------

@test "input: names with path traversal, shell metacharacters or control characters are refused; nothing is created" {
	pwned=$T/pwned
	tmpx_before=$([[ -e /tmp/x ]] && echo yes || echo no)
	names=('../../etc/passwd' 'a/b' "\$(touch $pwned).example.com"
		'$(touch /tmp/x).example.com' 'a;b.com' '`id`.com' 'a|b.com'
		'a b.com' '..' $'a\nb.com' $'\e[31m.com' $'a\rb.com' $'a\x7fb.com')
	details=("invalid character '/' in name" "invalid character '/' in name"
		"invalid character '\$' in name" "invalid character '\$' in name"
		"invalid character ';' in name" "invalid character '\`' in name"
		"invalid character '|' in name" "invalid character ' ' in name"
		'empty label' "invalid character '\\x0a' in name"
		"invalid character '\\x1b' in name" "invalid character '\\x0d' in name"
		"invalid character '\\x7f' in name")
	# What stderr shows for each name: control characters as \xNN.
	shown=("${names[@]:0:9}" 'a\x0ab.com' '\x1b[31m.com' 'a\x0db.com' 'a\x7fb.com')
	mapfile -t edits < <(jq -rn '$ARGS.positional[] | ".identifiers = [\(tojson)]"' \
		--args "${names[@]}")
	for c in "${CMDS[@]}"; do
		# One bad name after a good one.
		snapshot >"$T/snap.before"
		run_split step "$c" < <(doc_stream "$c" "${edits[@]}" \
			'.identifiers = ["ok.example.com", "../x"]')
		snapshot >"$T/snap.after"
		want=''
		for i in "${!names[@]}"; do
			want+="$c: <stdin>:$((2 * i + 2)): ${shown[i]}: urn:acmepipe:error:identifier: ${details[i]}"$'\n'
		done
		want+="$c: <stdin>:$((2 * ${#names[@]} + 2)): ../x: urn:acmepipe:error:identifier: invalid character '/' in name"
		assert_status 1
		assert_kept $(seq 1 $((2 * ${#names[@]} + 3)))
		assert_carriers_fine
		assert_stderr "$want"
		[[ $stderr != *$'\e'* && $stderr != *$'\r'* && $stderr != *$'\x7f'* ]] ||
			fail "$c: a raw control character on stderr"
		assert_json "$OUTPUT_FILE" '.n % 2 == 1 or (.error.type ==
		    "urn:acmepipe:error:identifier" and .error.step == $c and
		    .error.identifier == ($names + ["../x"])[.n / 2 - 1])' --arg c "$c" \
			--argjson names "$(jq -nc '$ARGS.positional' --args "${names[@]}")"
		diff "$T/snap.before" "$T/snap.after"
		[[ ! -e $pwned ]] || fail "$c: a name was run by a shell"
		[[ $tmpx_before == yes || ! -e /tmp/x ]] || fail "$c: /tmp/x was created"
		assert_no_private_key
	done
}

@test "input: a very long name fails with one stderr line, the name kept whole in the document" {
	head -c 100000 /dev/zero | tr '\0' a >"$T/label"
	for c in "${CMDS[@]}"; do
		run_split -1 step "$c" < <(carrier "$c" 1 |
			jq -c --rawfile l "$T/label" '.identifiers = [$l + ".com"]')
		[ "${#stderr_lines[@]}" -eq 1 ] || fail "$c: ${#stderr_lines[@]} stderr lines"
		((${#stderr} < 4096)) || fail "$c: a stderr line of ${#stderr} bytes"
		# Not assert_json: it would show the whole document.
		jq -e '.error.detail == "name longer than 253 octets"
		    and (.error.identifier | length) == 100004' "$OUTPUT_FILE" >/dev/null ||
			fail "$c: $(jq -c '.error.identifier |= length' "$OUTPUT_FILE")"
	done
}

# C1 control characters (U+0080-U+009F; U+009B is CSI) are escape
# sequences to many terminals, as UTF-8 too.
@test "input: C1 control characters in a name are escaped on stderr too" {
	for c in "${CMDS[@]}"; do
		run_split -1 step "$c" < <(carrier "$c" 1 |
			jq -c '.identifiers = ["\u009b31m.example.com"]')
		assert_json "$output" '.error.type == "urn:acmepipe:error:identifier"'
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ $stderr != *$'\xc2\x9b'* ]] || fail "$c: raw U+009B on stderr: $stderr"
	done
}

# hook_logger FILE: a hook that records its arguments in FILE and fails.
hook_logger() {
	printf '#!/bin/sh\nprintf "%%s|" "$@" >>"%s"\necho >>"%s"\nexit 1\n' "$1" "$1" \
		>"$T/hook"
	chmod +x "$T/hook"
}

@test "input: acme-challenge -H never runs its hook for a document with a bad name" {
	hook_logger "$T/hook.log"
	run_split -1 acme-challenge -t dns-01 -H "$T/hook" < <(carrier acme-challenge 1 |
		jq -c '.identifiers = ["$(id).example.com"]')
	assert_json "$output" '.error.type == "urn:acmepipe:error:identifier"'
	[[ ! -e $T/hook.log ]] || fail "the hook ran: $(<"$T/hook.log")"
}

# The hook gets its name from "authorizations", not "identifiers": it must
# be checked as well before it becomes an argument.
@test "input: acme-challenge -H never passes an invalid name from authorizations to its hook" {
	hook_logger "$T/hook.log"
	jq -cn '{identifiers: ["hook.example.com"]}' | acme-order >"$T/ordered"
	for n in '$(id).example.com' '../../etc/passwd' $'\e[31m.example.com'; do
		rm -f "$T/hook.log"
		run_split -1 acme-challenge -t dns-01 -H "$T/hook" < <(jq -c --arg n "$n" \
			'.authorizations[0].identifier = $n' "$T/ordered")
		assert_json "$output" '.error.type == "urn:acmepipe:error:identifier" or
		    .error.type == "urn:acmepipe:error:input"'
		[[ ! -e $T/hook.log ]] || fail "the hook ran with: $(cat -v "$T/hook.log")"
	done
}

# --- certstore-put and files named in documents ------------------------

@test "certstore-put: key.path naming /etc/passwd, a non-key or a directory is refused, the file left alone" {
	echo 'not a key' >"$T/notakey"
	sum=$(sha256sum /etc/passwd)
	snapshot >"$T/snap.before"
	run_split step certstore-put < <(doc_stream certstore-put \
		'.key.path = "/etc/passwd"' ".key.path = \"$T/notakey\"" \
		".key.path = \"$T\"")
	snapshot >"$T/snap.after"
	assert_doc_errors certstore-put urn:acmepipe:error:local \
		'/etc/passwd: not a PEM private key' "$T/notakey: not a PEM private key" \
		"$T: Is a directory"
	assert_equal "$(sha256sum /etc/passwd)" "$sum" /etc/passwd
	[ "$(cat "$T/notakey")" = 'not a key' ]
	diff "$T/snap.before" "$T/snap.after"
}

@test "certstore-put: a garbage certificate, or one for another key, is refused and nothing stored" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.key" 2>/dev/null
	k=$T/k.key
	snapshot >"$T/snap.before"
	run_split step certstore-put < <(doc_stream certstore-put \
		".key.path = \"$k\" | .certificate.pem = \"garbage\"" \
		".key.path = \"$k\" | .certificate.pem = \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"" \
		".key.path = \"$k\"")
	snapshot >"$T/snap.after"
	assert_doc_errors certstore-put urn:acmepipe:error:certificate \
		'chain does not start with a certificate' \
		'certificate 1 of the chain does not parse' \
		'certificate key does not match the certificate key file'
	[[ -f $k ]] || fail "the key file was deleted"
	diff "$T/snap.before" "$T/snap.after"
}

@test "certstore-put: names that try traversal are refused, in a document and in a failed one" {
	snapshot >"$T/snap.before"
	run_split step certstore-put < <(doc_stream certstore-put \
		'.identifiers = ["../../etc/passwd"]' '.identifiers = ["carrier.example.com/../x"]')
	snapshot >"$T/snap.after"
	assert_status 1
	assert_kept 1 2 3 4 5
	assert_carriers_fine
	assert_json "$OUTPUT_FILE" '.n % 2 == 1 or
	    (.error.type == "urn:acmepipe:error:identifier" and
	    .error.detail == "invalid character '\''/'\'' in name")'
	assert_stderr "certstore-put: <stdin>:2: ../../etc/passwd: urn:acmepipe:error:identifier: invalid character '/' in name
certstore-put: <stdin>:4: carrier.example.com/../x: urn:acmepipe:error:identifier: invalid character '/' in name"
	diff "$T/snap.before" "$T/snap.after"
	# A failed document's names go to the failure records: refused too.
	failed='{"identifiers":["../../etc/passwd","a\u001b[31m.com"],"error":{"step":"acme-challenge","type":"urn:ietf:params:acme:error:unauthorized","detail":"d"}}'
	run_split -1 certstore-put -s "$STORE" <<<"$failed"
	snapshot >"$T/snap.after"
	assert_json_eq "$output" "$failed"
	assert_stderr 'certstore-put: cannot record failure: ../../etc/passwd: invalid name
certstore-put: cannot record failure: a\x1b[31m.com: invalid name'
	diff "$T/snap.before" "$T/snap.after"
}

# --- options -------------------------------------------------------------

@test "options: an unknown option is one line, then the usage, exit 2" {
	for c in "${OPT_CMDS[@]}"; do
		usage=$("$c" --help)
		run_split -2 "$c" --x </dev/null
		assert_output ''
		assert_stderr "$c: unrecognized option '--x'
$usage"
		run_split -2 "$c" -Q </dev/null
		assert_stderr "$c: invalid option -- 'Q'
$usage"
	done
}

@test "options: a missing argument is one line, then the usage, exit 2" {
	for c in "${OPT_CMDS[@]}"; do
		usage=$("$c" --help)
		short=d long=directory
		[[ $c == acme-* ]] || short=s long=store
		run_split -2 "$c" "-$short" </dev/null
		assert_output ''
		assert_stderr "$c: option requires an argument -- '$short'
$usage"
		run_split -2 "$c" "--$long" </dev/null
		assert_stderr "$c: option '--$long' requires an argument
$usage"
	done
}

@test "options: a store or webroot that is a regular file: exit 2, one line, no document read" {
	: >"$T/file"
	for c in certstore-put acme-finalize; do
		run_split -2 "$c" -s "$T/file" < <(carrier "$c" 1)
		assert_output ''
		assert_stderr "$c: $T/file: not a directory"
		run_split -2 "$c" -s "$T/file/store" < <(carrier "$c" 1)
		assert_stderr "$c: $T/file/store: Not a directory"
	done
	run_split -2 acme-challenge -w "$T/file" < <(carrier acme-challenge 1)
	assert_output ''
	assert_stderr "acme-challenge: webroot $T/file: not a directory"
	for c in cert-expiring certstore; do
		[[ " ${OPT_CMDS[*]} " == *" $c "* ]] || continue
		args=()
		[[ $c == certstore ]] && args=(list)
		run_split -2 "$c" -s "$T/file" "${args[@]}" </dev/null
		assert_output ''
		assert_stderr "$c: $T/file: not a directory"
	done
}

@test "options: an account key that is not a key fails every document, exit 1" {
	echo 'not a key' >"$T/bad.key"
	openssl genpkey -algorithm ed25519 -out "$T/ed.key" 2>/dev/null
	openssl pkey -in "$ACMEPIPE_ACCOUNT_KEY" -pubout -out "$T/pub.key"
	mkdir "$T/dir.key"
	for c in acme-order acme-challenge acme-finalize; do
		# acme-finalize needs a document without its certificate to
		# open a session.
		edit=.
		[[ $c == acme-finalize ]] && edit='del(.certificate)'
		for k in "$T/bad.key" "$T/pub.key" /etc/passwd "$T/dir.key" "$T/ed.key"; do
			case $k in
			*/dir.key) d="account key $k: Is a directory" ;;
			*/ed.key) d="$k: account key must be EC P-256, P-384 or RSA" ;;
			*) d="account key $k: not a PEM private key" ;;
			esac
			run_split -1 step "$c" -k "$k" < <(carrier "$c" 1 | jq -c "$edit"
				carrier "$c" 2 | jq -c "$edit")
			assert_kept 1 2
			assert_json "$OUTPUT_FILE" '.error.type == "urn:acmepipe:error:local" and
			    .error.detail == $d and .error.step == $c' --arg d "$d" --arg c "$c"
			assert_stderr "$c: <stdin>:1: urn:acmepipe:error:local: $d
$c: <stdin>:2: urn:acmepipe:error:local: $d"
			assert_no_private_key
		done
	done
	[ "$(cat "$T/bad.key")" = 'not a key' ]
}

# The message is curl's: it does not name the file (reported).
@test "options: a --ca-bundle that does not exist is a setup error, exit 2, one line" {
	for c in acme-order acme-challenge acme-finalize; do
		run_split -2 step "$c" -C "$T/no-such-ca.pem" < <(carrier "$c" 1)
		assert_output ''
		assert_stderr "$c: ca bundle $T/no-such-ca.pem: No such file or directory"
	done
}

@test "options: a directory that is not https is refused at setup, never fetched" {
	for d in file:///etc/passwd "ftp://127.0.0.1:$PEBBLE_PORT/dir" \
		"http://127.0.0.1:$PEBBLE_PORT/dir" ""; do
		run_split -2 acme-order -d "$d" <<<'{"identifiers":["a.example.com"]}'
		assert_output ''
		assert_stderr "acme-order: directory must be an https URL: $d"
	done
}

@test "documents: a URL away from the CA is never sent a signed request" {
	jq -cn '{identifiers: ["origin.example.com"]}' | acme-order >"$T/ordered"
	for u in "http://127.0.0.1:$PEBBLE_PORT/my-order/x" "https://127.0.0.2:$PEBBLE_PORT/my-order/x" \
		"https://127.0.0.1:1/my-order/x"; do
		run_split -1 acme-order -v < <(jq -c --arg u "$u" '.order.url = $u' "$T/ordered")
		assert_json "$output" '.error.type == "urn:acmepipe:error:input" and
		    (.error.detail | startswith($u + ": not at the CA"))' --arg u "$u"
		[[ $stderr != *"POST $u"* ]] || fail "posted to $u"
	done
}
