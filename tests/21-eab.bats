#!/usr/bin/env bats
# Registration details: external account binding against a Pebble that
# requires it, and the contact.

load helpers/common

HMAC=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W

setup_file() {
	export PEBBLE_EAB_KEYS="{\"kid-1\": \"$HMAC\"}"
	pebble_start
}

doc() { jq -cn --args '{identifiers: $ARGS.positional}' "$@"; }

@test "eab: without a binding the CA refuses to register" {
	run_split -1 acme-order -a -k "$BATS_TEST_TMPDIR/k" <<<"$(doc a.example.com)"
	assert_json "$output" '.error.type == "urn:ietf:params:acme:error:externalAccountRequired"'
}

@test "eab: with --eab-kid and --eab-hmac-key the account is registered" {
	run_split -0 acme-order -a -k "$BATS_TEST_TMPDIR/k" -c mailto:ops@example.net \
		-E kid-1 -M "$HMAC" <<<"$(doc a.example.com)"
	assert_json "$output" '.order.status == "pending" and (.account.url | contains("/my-account/"))'
}

@test "eab: from ACMEPIPE_EAB_KID and ACMEPIPE_EAB_HMAC_KEY too" {
	ACMEPIPE_EAB_KID=kid-1 ACMEPIPE_EAB_HMAC_KEY=$HMAC run_split -0 acme-order -a \
		-k "$BATS_TEST_TMPDIR/k" <<<"$(doc a.example.com)"
	assert_json "$output" '.order.status == "pending"'
}

@test "eab: a wrong HMAC key is refused by the CA, the document says so" {
	run_split -1 acme-order -a -k "$BATS_TEST_TMPDIR/k" -E kid-1 \
		-M "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" <<<"$(doc a.example.com)"
	assert_json "$output" '.error.step == "acme-order" and .error.status >= 400
	    and (.error.type | startswith("urn:ietf:params:acme:error:"))'
}

@test "eab: a kid without a key, or a contact that is not mailto:, is a usage error" {
	run_split -2 acme-order -E kid-1 </dev/null
	assert_stderr 'acme-order: --eab-kid and --eab-hmac-key go together'
	run_split -2 acme-order -c ops@example.net </dev/null
	assert_stderr 'acme-order: contact must be a mailto: URL: ops@example.net'
}
