#!/usr/bin/env bats
# acme-order and the shared library under it, against a real Pebble.

load helpers/common

setup_file() {
	pebble_start
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key
	# One registered account for the tests that are not about accounts.
	echo '{"identifiers":["setup.example.com"]}' | acme-order -a >/dev/null
}

doc() { jq -cn --args '{identifiers: $ARGS.positional}' "$@"; }

@test "acme-order: a new account key is created 0600, registered and cached" {
	key=$BATS_TEST_TMPDIR/new.key
	run_split -0 acme-order -a -k "$key" <<<"$(doc example.com)"
	assert_stderr ''
	[ "$(stat -c %a "$key")" = 600 ]
	openssl pkey -in "$key" -noout
	assert_json "$output" '.account.url | startswith("https://127.0.0.1:")'
	acct=$(jq -r .account.url <<<"$output")
	[ "$(jq -r --arg d "$ACMEPIPE_DIRECTORY" '.[$d]' "$key.account")" = "$acct" ]
	assert_no_private_key "$OUTPUT_FILE" "$STDERR_FILE"
}

@test "acme-order: a new key without --agree-tos is refused, document kept" {
	key=$BATS_TEST_TMPDIR/new.key
	run_split -1 acme-order -k "$key" <<<"$(doc example.com)"
	assert_json "$output" '.error.step == "acme-order" and
	    (.error.detail | contains("--agree-tos")) and .identifiers == ["example.com"]'
	assert_line_count 1 "$OUTPUT_FILE"
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "acme-order: an existing account is found from the cache without asking the CA" {
	run_split -0 acme-order -v <<<"$(doc cached.example.com)"
	assert_contains "$stderr" "/order-plz 201"
	[[ $stderr != *"sign-me-up"* ]] || fail "asked newAccount despite the cache"
}

@test "acme-order: without the cache the account is looked up and the cache rewritten" {
	key=$BATS_TEST_TMPDIR/k.key
	acme-order -a -k "$key" <<<"$(doc a.example.com)" >/dev/null
	acct=$(jq -r --arg d "$ACMEPIPE_DIRECTORY" '.[$d]' "$key.account")
	rm "$key.account"
	run_split -0 acme-order -v -k "$key" <<<"$(doc b.example.com)"
	assert_contains "$stderr" "/sign-me-up 200"
	assert_json "$output" '.account.url == $a' --arg a "$acct"
	[ "$(jq -r --arg d "$ACMEPIPE_DIRECTORY" '.[$d]' "$key.account")" = "$acct" ]
}

@test "acme-order: a stale cache is repaired with onlyReturnExisting" {
	key=$BATS_TEST_TMPDIR/k.key
	acme-order -a -k "$key" <<<"$(doc a.example.com)" >/dev/null
	acct=$(jq -r --arg d "$ACMEPIPE_DIRECTORY" '.[$d]' "$key.account")
	jq -c --arg d "$ACMEPIPE_DIRECTORY" '.[$d] = "https://127.0.0.1:1/my-account/gone"' \
		"$key.account" >"$key.account.new"
	mv "$key.account.new" "$key.account"
	run_split -0 acme-order -k "$key" <<<"$(doc b.example.com)"
	assert_json "$output" '.account.url == $a and (.order.url | type) == "string"' --arg a "$acct"
	[ "$(jq -r --arg d "$ACMEPIPE_DIRECTORY" '.[$d]' "$key.account")" = "$acct" ]
}

@test "acme-order: two processes creating the same new key end with one key and one account" {
	key=$BATS_TEST_TMPDIR/race.key
	for i in 1 2 3 4; do
		acme-order -a -k "$key" <<<"$(doc "r$i.example.com")" >"$BATS_TEST_TMPDIR/out$i" &
	done
	wait
	cat "$BATS_TEST_TMPDIR"/out? >"$BATS_TEST_TMPDIR/all"
	assert_line_count 4 "$BATS_TEST_TMPDIR/all"
	assert_json "$BATS_TEST_TMPDIR/all" '.error == null'
	[ "$(jq -r .account.url "$BATS_TEST_TMPDIR/all" | sort -u | wc -l)" -eq 1 ]
	[ "$(find "$BATS_TEST_TMPDIR" -name 'race.key*' | grep -v '\.account$' | wc -l)" -eq 1 ]
}

@test "acme-order: one name gives an order, its authorization and the http-01 challenge" {
	run_split -0 acme-order <<<"$(doc Example.COM.)"
	assert_stderr ''
	assert_json "$output" '.version == 1 and .identifiers == ["example.com"]
	    and .order.status == "pending" and (.order.finalize | startswith("https://"))
	    and (.order.expires | test("^[0-9]{4}-"))
	    and (.authorizations | length) == 1
	    and .authorizations[0].identifier == "example.com"
	    and .authorizations[0].status == "pending"
	    and ([.authorizations[0].challenges[] | select(.type == "http-01")
	         | .token | test("^[A-Za-z0-9_-]+$")] == [true])
	    and .directory == env.ACMEPIPE_DIRECTORY'
}

@test "acme-order: three names give three authorizations, unknown members kept" {
	run_split -0 acme-order <<<'{"identifiers":["a.example.com","b.example.com","c.example.com"],"customer":{"id":42}}'
	assert_json "$output" '(.authorizations | map(.identifier) | sort) ==
	    ["a.example.com","b.example.com","c.example.com"] and .customer.id == 42'
}

@test "acme-order: a rerun on its own output refreshes the order, not a new one" {
	first=$(acme-order <<<"$(doc rerun.example.com)")
	run_split -0 acme-order -v <<<"$first"
	[[ $stderr != *"order-plz"* ]] || fail "created a new order"
	assert_json "$output" '.order.url == $f.order.url and
	    .authorizations[0].url == $f.authorizations[0].url' --argjson f "$first"
}

@test "acme-order: an invalid, expired or forgotten order is replaced by a new one" {
	first=$(acme-order <<<"$(doc replace.example.com)")
	for edit in '.order.status = "invalid"' '.order.status = "expired"' \
		'.order.url |= sub("my-order/.*"; "my-order/forgotten")'; do
		run_split -0 acme-order <<<"$(jq -c "$edit" <<<"$first")"
		assert_json "$output" '.order.url != $f.order.url and
		    .order.status == "pending" and .error == null' --argjson f "$first"
	done
}

@test "acme-order: 20 documents in one process come out in order, one account lookup" {
	for i in $(seq 1 20); do doc "n$i.example.com"; done >"$BATS_TEST_TMPDIR/in"
	run_split -0 acme-order -v <"$BATS_TEST_TMPDIR/in"
	assert_line_count 20 "$OUTPUT_FILE"
	[ "$(jq -r '.identifiers[0]' "$OUTPUT_FILE" | tr '\n' ' ')" = "$(seq -f 'n%g.example.com' 1 20 | tr '\n' ' ')" ]
	[ "$(grep -c 'GET .*/dir ' <<<"$stderr")" -eq 1 ]
	[ "$(grep -c '/order-plz 201' <<<"$stderr")" -eq 20 ]
}

@test "acme-order: Pebble rejecting half the nonces does not fail a document" {
	pebble_restart PEBBLE_WFE_NONCEREJECT=50
	key=$BATS_TEST_TMPDIR/nonce.key
	for i in $(seq 1 20); do doc "nonce$i.example.com"; done >"$BATS_TEST_TMPDIR/in"
	run_split acme-order -a -v -k "$key" <"$BATS_TEST_TMPDIR/in"
	pebble_restart PEBBLE_WFE_NONCEREJECT=0
	# A restarted Pebble forgot every account: register the shared one.
	acme-order -a <<<"$(doc again.example.com)" >/dev/null
	assert_status 0
	assert_line_count 20 "$OUTPUT_FILE"
	assert_json "$OUTPUT_FILE" '.error == null and .order.status == "pending"'
	# The rejections happened and were retried.
	assert_contains "$stderr" " 400 "
}

@test "acme-order: a malformed line is reported with line and column, the others go on" {
	printf '%s\n' "$(doc one.example.com)" '{"identifiers":' "$(doc three.example.com)" \
		'[1,2]' >"$BATS_TEST_TMPDIR/in"
	run_split -2 acme-order <"$BATS_TEST_TMPDIR/in"
	assert_line_count 2 "$OUTPUT_FILE"
	assert_json "$OUTPUT_FILE" '.error == null'
	[ "${stderr_lines[0]}" = "acme-order: <stdin>:2:15: unexpected token near end of file" ]
	[ "${stderr_lines[1]}" = "acme-order: <stdin>:4:1: not a JSON object" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
}

@test "acme-order: a document without identifiers fails, exit 1" {
	run_split -1 acme-order <<<'{"name":"x"}'
	assert_json "$output" '.error.type == "urn:acmepipe:error:input" and .name == "x"
	    and (.error.detail | contains("identifiers"))'
	assert_stderr 'acme-order: <stdin>:1: urn:acmepipe:error:input: no identifiers: want "identifiers":["example.com"]'
}

@test "acme-order: invalid names are refused before any request" {
	long63=$(printf 'a%.0s' $(seq 1 64))
	long254=$(printf 'abcdefghi.%.0s' $(seq 1 25))abcd
	[ "${#long254}" -eq 254 ]
	for n in ../x a..b "$long63.com" "exa mple.com" "" "$long254"; do
		run_split -1 acme-order -v -d https://127.0.0.1:1/dir <<<"$(doc "$n")"
		assert_json "$output" '.error.type == "urn:acmepipe:error:identifier"
		    and .error.identifier == $n and .error.step == "acme-order"' --arg n "$n"
		[[ $stderr != *"GET "* ]] || fail "made a request for '$n'"
		[ "${#stderr_lines[@]}" -eq 1 ]
	done
}

@test "acme-order: an internationalised name is ordered as its A-label" {
	run_split -0 acme-order <<<"$(doc 'bücher.example')"
	assert_json "$output" '.identifiers == ["xn--bcher-kva.example"] and
	    .authorizations[0].identifier == "xn--bcher-kva.example"'
}

@test "acme-order: an unreachable directory keeps the document with an error, exit 1" {
	port=$(free_ports 1)
	run_split -1 acme-order -d "https://127.0.0.1:$port/dir" < <(doc a.example.com; doc b.example.com)
	assert_line_count 2 "$OUTPUT_FILE"
	assert_json "$OUTPUT_FILE" '.error.type == "urn:acmepipe:error:connection" and
	    .error.step == "acme-order" and (.error.time | test("Z$"))'
	[ "${#stderr_lines[@]}" -eq 2 ]
}

@test "acme-order: a document that already failed passes through untouched" {
	in='{"identifiers":["x.example.com"],"error":{"step":"before","type":"t","detail":"d","time":"2026-01-01T00:00:00Z"}}'
	run_split -1 acme-order -v <<<"$in"
	assert_json_eq "$output" "$in"
	assert_stderr ''
}

@test "acme-order: an unknown schema version is refused" {
	run_split -1 acme-order <<<'{"version":2,"identifiers":["a.example.com"]}'
	assert_json "$output" '.error.type == "urn:acmepipe:error:input" and
	    (.error.detail | contains("schema version"))'
}

@test "acme-order: usage errors exit 2 with one line" {
	run_split -2 acme-order --bogus </dev/null
	[[ ${stderr_lines[0]} == "acme-order: unrecognized option '--bogus'" ]]
	run_split -2 acme-order -T abc </dev/null
	assert_stderr "acme-order: http timeout: not a number of seconds: abc"
	run_split -0 acme-order --help
	assert_contains "$output" "usage: acme-order"
}

@test "acme-order: an account key that is not a key fails every document" {
	echo "not a key" >"$BATS_TEST_TMPDIR/bad.key"
	run_split -1 acme-order -k "$BATS_TEST_TMPDIR/bad.key" <<<"$(doc a.example.com)"
	assert_json "$output" '.error.type == "urn:acmepipe:error:local" and
	    (.error.detail | contains("not a PEM private key"))'
}

@test "acme-order: an empty stream is nothing to do" {
	run_split -0 acme-order </dev/null
	assert_output ''
	assert_stderr ''
}

# The CA's real hosts are never contacted: curl's proxy variable sends the
# attempt to a closed loopback port, and the error names the URL chosen.
@test "acme-order: the default directory is Let's Encrypt's, -S and ACMEPIPE_STAGING pick staging" {
	unset ACMEPIPE_DIRECTORY ACMEPIPE_CA_BUNDLE
	export https_proxy=http://127.0.0.1:1 HTTPS_PROXY=http://127.0.0.1:1
	run_split -1 acme-order <<<"$(doc a.example.com)"
	assert_json "$output" '.error.detail | startswith("https://acme-v02.api.letsencrypt.org/directory: ")'
	run_split -1 acme-order -S <<<"$(doc a.example.com)"
	assert_json "$output" '.error.detail | startswith("https://acme-staging-v02.api.letsencrypt.org/directory: ")'
	ACMEPIPE_STAGING=1 run_split -1 acme-order <<<"$(doc a.example.com)"
	assert_json "$output" '.error.detail | startswith("https://acme-staging-v02.api.letsencrypt.org/directory: ")'
	ACMEPIPE_STAGING=0 run_split -1 acme-order <<<"$(doc a.example.com)"
	assert_json "$output" '.error.detail | startswith("https://acme-v02.api.letsencrypt.org/directory: ")'
}
