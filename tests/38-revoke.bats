#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's or bash -c's
# shellcheck disable=SC2154 # stderr, stderr_lines: set by run_split
# shellcheck disable=SC2030,SC2031 # exports inside a test stay in that test
#
# Revocation (RFC 8555 7.6, issue 13): acme-revoke and certstore remove
# --revoke against a real Pebble, whose management interface
# (/cert-status-by-serial/) confirms what the CA did.

load helpers/common

setup_file() {
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
}

setup() {
	T=$BATS_TEST_TMPDIR
	command -v acme-revoke >/dev/null || fail "build first: make"
}

doc() {
	jq -cn '{version: 1, identifiers: $ARGS.positional}' --args "$@"
}

# issue NAME: a certificate for NAME in the store; its serial on stdout.
issue() {
	acme-issue -w "$WEBROOT" -s "$STORE" "$1" | jq -er .certificate.serial
}

# ca_status SERIAL: what Pebble says of the certificate: "Valid" or
# "Revoked", and the reason code after a space when revoked.
ca_status() {
	curl -sf --cacert "$ACMEPIPE_CA_BUNDLE" "$PEBBLE_MGMT/cert-status-by-serial/$1" |
		jq -r '[.Status, (.Reason // empty | tostring)] | join(" ")'
}

@test "by name from the store, signed by the account: revoked at the CA with its reason, recorded, due at once" {
	local n=rv1.example.com serial
	serial=$(issue "$n")
	assert_equal "$(ca_status "$serial")" "Valid" "before"
	doc "$n" >"$T/in.jsonl"
	run_split -0 acme-revoke -s "$STORE" --reason keyCompromise <"$T/in.jsonl"
	assert_stderr ''
	assert_json "$output" '(.error | not) and .revoked.serial == $s
		and .revoked.reason == "keyCompromise" and (.revoked.time | type) == "string"' \
		--arg s "$serial"
	assert_equal "$(ca_status "$serial")" "Revoked 1" "at the CA"
	assert_json "$(store_meta "$STORE" "$n")" '.revoked.serial == $s
		and .revoked.reason == "keyCompromise" and .serial == $s' --arg s "$serial"
	# Due at once, with its reason; a new certificate clears it.
	run_split -0 cert-expiring -s "$STORE"
	assert_json "$(grep "\"$n\"" "$OUTPUT_FILE")" '.renewal.reason == "revoked"
		and .previous.serial == $s' --arg s "$serial"
	grep "\"$n\"" "$OUTPUT_FILE" | acme-order | acme-challenge -w "$WEBROOT" |
		acme-finalize -s "$STORE" | certstore-put -s "$STORE" >/dev/null
	run_split -0 cert-expiring -s "$STORE"
	! grep -q "\"$n\"" "$OUTPUT_FILE" || fail "$n still due after its reissue"
}

@test "a rerun on the output does nothing; already revoked: the CA's alreadyRevoked recorded, exit 1, store untouched" {
	local n=rv2.example.com serial meta
	serial=$(issue "$n")
	doc "$n" | acme-revoke -s "$STORE" >"$T/out.jsonl"
	meta=$(store_meta "$STORE" "$n")
	# Its own output: the revocation is there, no request, exit 0.
	run_split -0 acme-revoke -s "$STORE" <"$T/out.jsonl"
	assert_json "$output" '(.error | not) and .revoked.serial == $s' --arg s "$serial"
	# A new document for it: the CA says it is revoked already.
	doc "$n" >"$T/again.jsonl"
	run_split -1 acme-revoke -s "$STORE" <"$T/again.jsonl"
	assert_json "$output" '.error.step == "acme-revoke"
		and .error.type == "urn:ietf:params:acme:error:alreadyRevoked"
		and .error.identifier == $n and (.revoked | not)' --arg n "$n"
	assert_equal "$(store_meta "$STORE" "$n")" "$meta" "metadata"
}

@test "--cert-key: signed by the certificate's own key, with no account at all" {
	local n=rv3.example.com serial
	serial=$(issue "$n")
	# An account key path that does not exist: nothing may be made.
	run_split -0 env ACMEPIPE_ACCOUNT_KEY="$T/no-account.key" \
		acme-revoke -s "$STORE" --cert-key --reason cessationOfOperation <<<"$(doc "$n")"
	assert_json "$output" '(.error | not) and .revoked.serial == $s' --arg s "$serial"
	assert_equal "$(ca_status "$serial")" "Revoked 5" "at the CA"
	[[ ! -e $T/no-account.key ]] || fail "an account key was made"
}

@test "a document that carries its certificate: revoked from certificate.pem, no store needed" {
	local n=rv4.example.com
	acme-order <<<"$(doc "$n")" | acme-challenge -w "$WEBROOT" |
		acme-finalize -s "$STORE" >"$T/issued.jsonl"
	run_split -0 acme-revoke --reason superseded <"$T/issued.jsonl"
	assert_json "$output" '.revoked.serial == .certificate.serial and .revoked.reason == "superseded"'
	assert_equal "$(ca_status "$(jq -r .certificate.serial "$T/issued.jsonl")")" "Revoked 4" "at the CA"
}

@test "the wrong key: another account is unauthorized, nothing recorded" {
	local n=rv5.example.com serial meta
	serial=$(issue "$n")
	meta=$(store_meta "$STORE" "$n")
	doc other.example.com | acme-order -k "$T/other.key" >/dev/null
	run_split -1 acme-revoke -s "$STORE" -k "$T/other.key" <<<"$(doc "$n")"
	assert_json "$output" '.error.type == "urn:ietf:params:acme:error:unauthorized"
		and (.revoked | not)'
	assert_equal "$(ca_status "$serial")" "Valid" "at the CA"
	assert_equal "$(store_meta "$STORE" "$n")" "$meta" "metadata"
}

@test "a name not in the store, a certificate of another CA, no source at all: each fails its document, the rest go on" {
	local n=rv6.example.com serial
	serial=$(issue "$n")
	mkdir -p "$T/ca"
	test_ca "$T/ca" 30
	test_cert "$T/ca" other 30 foreign.example.com
	{
		doc nowhere.example.com
		jq -cn --rawfile pem "$T/ca/other.pem" \
			'{identifiers: ["foreign.example.com"], certificate: {pem: $pem}}'
		doc "$n"
	} >"$T/in.jsonl"
	run_split -1 acme-revoke -s "$STORE" <"$T/in.jsonl"
	assert_line_count 3
	assert_json "$(sed -n 1p "$OUTPUT_FILE")" '.error.type == "urn:acmepipe:error:input"
		and .error.identifier == "nowhere.example.com"'
	# Pebble did not issue it: it says so, and nothing else happens.
	assert_json "$(sed -n 2p "$OUTPUT_FILE")" '.error.step == "acme-revoke"
		and (.error.type | startswith("urn:ietf:params:acme:error:")) and (.revoked | not)'
	assert_json "$(sed -n 3p "$OUTPUT_FILE")" '(.error | not) and .revoked.serial == $s' --arg s "$serial"
	# No store and no certificate.pem.
	run_split -1 acme-revoke <<<"$(doc "$n")"
	assert_json "$output" '.error.detail == "no certificate: the document has no certificate.pem, and no --store"'
}

@test "certstore remove --revoke: revoked at the CA, then removed; a failed revocation keeps the name" {
	local n=rv7.example.com m=rv8.example.com serial
	serial=$(issue "$n")
	issue "$m" >/dev/null
	run_split -0 certstore -s "$STORE" remove --revoke --reason cessationOfOperation "$n"
	assert_equal "$(ca_status "$serial")" "Revoked 5" "at the CA"
	run_split -1 certstore -s "$STORE" list "$n"
	# The CA out of reach: nothing revoked, nothing removed, exit 1.
	run_split -1 env ACMEPIPE_DIRECTORY=https://127.0.0.1:1/dir \
		certstore -s "$STORE" remove --revoke "$m"
	[[ $stderr == "certstore: $m: not revoked: "* ]] || fail "stderr: $stderr"
	certstore -s "$STORE" chain "$m" >/dev/null || fail "$m was removed"
	# Usage.
	run_split -2 certstore -s "$STORE" remove --reason keyCompromise "$m"
	run_split -2 certstore -s "$STORE" remove --revoke --reason bogus "$m"
}

@test "usage: an unknown reason is exit 2 with the list" {
	run_split -2 acme-revoke --reason bogus </dev/null
	assert_stderr "acme-revoke: --reason bogus: not one of unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, removeFromCRL, privilegeWithdrawn, aACompromise"
}
