#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's or bash -c's
# shellcheck disable=SC2154 # stderr, stderr_lines: set by run_split
# shellcheck disable=SC2030,SC2031 # exports inside a test stay in that test
#
# acme-account (issue 13): the account shown, its contact changed, its key
# rolled over (RFC 8555 7.3.5) and the account deactivated (7.3.6),
# against a real Pebble. Each test has its own account key.

load helpers/common

setup_file() {
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
}

setup() {
	T=$BATS_TEST_TMPDIR
	KEY=$T/account.key
	export ACMEPIPE_ACCOUNT_KEY=$KEY
	command -v acme-account >/dev/null || fail "build first: make"
}

doc() {
	jq -cn '{version: 1, identifiers: $ARGS.positional}' --args "$@"
}

# register [KEY]: an account for KEY (default $KEY), made by acme-order
# as a user's first order makes it; prints the account URL.
register() {
	doc "reg.$RANDOM.example.com" |
		acme-order -a -k "${1:-$KEY}" | jq -er .account.url
}

@test "show: URL, status, contact and thumbprint; a missing key is an error, never a new account" {
	local url
	url=$(register)
	run_split -0 acme-account show
	assert_stderr ''
	assert_json "$output" '.url == $u and .status == "valid" and .contact == []
		and .thumbprint == $t and .directory == $d' \
		--arg u "$url" --arg t "$(jwk_thumbprint "$KEY")" --arg d "$ACMEPIPE_DIRECTORY"
	# No key file: refused, and none is made.
	run_split -1 acme-account -k "$T/none.key" show
	assert_output ''
	assert_stderr "acme-account: urn:acmepipe:error:local: $T/none.key: no account key there"
	[[ ! -e $T/none.key ]] || fail "a key was made"
	# A key the CA has no account for: the CA's answer, nothing registered.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/fresh.key" 2>/dev/null
	run_split -1 acme-account -a -k "$T/fresh.key" show
	[[ $stderr == "acme-account: urn:ietf:params:acme:error:accountDoesNotExist: "* ]] ||
		fail "stderr: $stderr"
	run_split -1 acme-account -k "$T/fresh.key" show
}

@test "contact: replaced, listed by show, and removed with none" {
	register >/dev/null
	run_split -0 acme-account contact mailto:ops@example.com mailto:oncall@example.com
	assert_json "$output" '.contact == ["mailto:ops@example.com", "mailto:oncall@example.com"]'
	run_split -0 acme-account show
	assert_json "$output" '.contact == ["mailto:ops@example.com", "mailto:oncall@example.com"]'
	run_split -0 acme-account contact
	assert_json "$output" '.contact == []'
	# The CA's refusal of a contact that is not a URL it takes.
	run_split -1 acme-account contact not-a-url
	[[ $stderr == "acme-account: urn:ietf:params:acme:error:"* ]] || fail "stderr: $stderr"
	assert_output ''
}

@test "rollover: a new key in the key file, same account; the old key is refused and the new one issues" {
	local url old_tp
	url=$(register)
	cp "$KEY" "$T/old.key"
	old_tp=$(jwk_thumbprint "$KEY")
	run_split -0 acme-account rollover
	assert_stderr ''
	assert_json "$output" '.url == $u and .status == "valid" and .thumbprint != $o
		and .thumbprint == $n' --arg u "$url" --arg o "$old_tp" \
		--arg n "$(jwk_thumbprint "$KEY")"
	[[ ! -e $KEY.new ]] || fail "KEY.new left behind"
	assert_equal "$(stat -c %a "$KEY")" 600 "key file mode"
	assert_json "$(cat "$KEY.account")" '.[$d] == $u' --arg d "$ACMEPIPE_DIRECTORY" --arg u "$url"
	# The old key: the CA knows no account for it any more.
	run_split -1 acme-account -k "$T/old.key" show
	[[ $stderr == *accountDoesNotExist* ]] || fail "old key: $stderr"
	# The new key issues, under the same account.
	run_split -0 acme-issue -w "$WEBROOT" -s "$STORE" rolled.example.com
	assert_json "$OUTPUT_FILE" '(.error | not) and .account.url == $u' --arg u "$url"
}

@test "rollover to a key that has an account of its own: conflict, the old key kept and working" {
	local url other
	url=$(register)
	other=$(register "$T/other.key")
	cp "$KEY" "$T/before.key"
	run_split -1 acme-account --new-key "$T/other.key" rollover
	assert_output ''
	assert_stderr "acme-account: urn:acmepipe:error:conflict: the new key already has an account at the CA: $other; the key stays $KEY"
	cmp -s "$KEY" "$T/before.key" || fail "the key file changed"
	[[ ! -e $KEY.new ]] || fail "KEY.new left behind"
	run_split -0 acme-account show
	assert_json "$output" '.url == $u and .status == "valid"' --arg u "$url"
}

@test "rollover interrupted after the CA took the key: a rerun finishes it" {
	local url
	url=$(register)
	cp "$KEY" "$T/old.key"
	run_split -0 acme-account rollover
	# As if the process died between the CA's answer and the rename.
	mv "$KEY" "$KEY.new"
	cp "$T/old.key" "$KEY"
	run_split -0 acme-account rollover
	assert_json "$output" '.url == $u and .thumbprint == $n' --arg u "$url" \
		--arg n "$(jwk_thumbprint "$KEY")"
	cmp -s "$KEY" "$T/old.key" && fail "the old key is back in the key file"
	[[ ! -e $KEY.new ]] || fail "KEY.new left behind"
	# A rerun with no interruption is just another rollover.
	run_split -0 acme-account show
	assert_json "$output" '.url == $u' --arg u "$url"
}

@test "rollover while acme-renew runs: no document fails for good, one account throughout" {
	local url n i pid
	url=$(register)
	for i in $(seq 1 60); do echo "fly$i.example.com"; done >"$T/names"
	xargs certstore -s "$STORE" add <"$T/names"
	# Its two pipelines, four documents in flight in each step, each
	# process holding the key it loaded, while the key is rolled over
	# under them once the first certificates are in.
	acme-renew -F 4 -w "$WEBROOT" -s "$STORE" >"$T/out.jsonl" 2>"$T/err" &
	pid=$!
	wait_until 300 "$pid" bash -c '(($(ls "$1"/certs/fly*.pem 2>/dev/null | wc -l) >= 2))' _ "$STORE" ||
		fail "nothing stored yet"
	run_split -0 acme-account rollover
	kill -0 "$pid" 2>/dev/null || fail "the renewal was done before the rollover ended"
	wait "$pid" || true
	assert_line_count 60 "$T/out.jsonl"
	# Every document came out under the same account, and a failed one
	# carries its error; a rerun completes them.
	assert_json "$T/out.jsonl" '.account.url == $u or .error' --arg u "$url"
	# (cert-expiring would wait out the failure's backoff: the failed
	# documents are run again as they are.)
	jq -c 'select(.error) | del(.error)' "$T/out.jsonl" >"$T/again.jsonl"
	if [[ -s $T/again.jsonl ]]; then
		run_split -0 acme-issue -i -w "$WEBROOT" -s "$STORE" <"$T/again.jsonl"
		assert_json "$OUTPUT_FILE" '(.error | not) and .account.url == $u' --arg u "$url"
	fi
	while read -r n; do
		certstore -s "$STORE" chain "$n" >/dev/null || fail "$n not stored"
	done <"$T/names"
	# No second account was registered with the old key on the way.
	run_split -0 acme-account show
	assert_json "$output" '.url == $u' --arg u "$url"
}

@test "deactivate: only with --confirm; then orders fail with the CA's unauthorized and the store is untouched" {
	local url before
	url=$(register)
	run_split -2 acme-account deactivate
	assert_stderr 'acme-account: deactivate cannot be undone: it needs --confirm'
	run_split -0 acme-account show
	assert_json "$output" '.status == "valid"'
	acme-issue -w "$WEBROOT" -s "$STORE" before-off.example.com >/dev/null
	before=$(cd "$STORE" && find . -type f | sort | xargs sha256sum)
	run_split -0 acme-account --confirm deactivate
	assert_json "$output" '.url == $u and .status == "deactivated"' --arg u "$url"
	run_split -1 bash -c 'echo "{\"identifiers\":[\"after-off.example.com\"]}" | acme-order'
	assert_json "$output" '.error.step == "acme-order"
		and .error.type == "urn:ietf:params:acme:error:unauthorized"
		and (.order | not)'
	assert_equal "$(cd "$STORE" && find . -type f | sort | xargs sha256sum)" "$before" "store"
	# Not even -a registers the key again: a deactivated account is final.
	run_split -1 bash -c 'echo "{\"identifiers\":[\"after-off.example.com\"]}" | acme-order -a'
	assert_json "$output" '.error.type == "urn:ietf:params:acme:error:unauthorized"'
}

@test "usage: unknown command, stray arguments, --new-key elsewhere: exit 2, one line" {
	run_split -2 acme-account frobnicate
	[[ ${stderr_lines[0]} == "acme-account: unknown command: frobnicate" ]] || fail "$stderr"
	run_split -2 acme-account show extra
	[[ ${stderr_lines[0]} == "acme-account: unexpected argument: extra" ]] || fail "$stderr"
	run_split -2 acme-account --new-key "$T/k" show
	assert_stderr 'acme-account: --new-key is for rollover'
	run_split -2 acme-account
	# A CA that cannot be reached: exit 1, one line, nothing on stdout.
	register >/dev/null
	run_split -1 acme-account -d https://127.0.0.1:1/dir show
	assert_output ''
	assert_line_count 0
	[[ ${#stderr_lines[@]} -eq 1 && ${stderr_lines[0]} == "acme-account: urn:acmepipe:error:connection: "* ]] ||
		fail "stderr: $stderr"
}
