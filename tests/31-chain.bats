#!/usr/bin/env bats
# acme-finalize --preferred-chain: Pebble offers an alternate chain to a
# second root (PEBBLE_ALTERNATE_ROOTS=1) through Link rel="alternate".

load helpers/common

setup_file() {
	pebble_start PEBBLE_ALTERNATE_ROOTS=1
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	mkdir -p "$WEBROOT"
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	export ACMEPIPE_WEBROOT=$WEBROOT ACMEPIPE_STORE=$STORE
	nginx_start "$WEBROOT" "$STORE"
}

# root_cn N: the commonName of Pebble's root number N.
root_cn() {
	curl -sf --cacert "$ACMEPIPE_CA_BUNDLE" "$PEBBLE_MGMT/roots/$1" |
		openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p'
}

# top_issuer FILE: the issuer commonName of the last certificate in FILE.
top_issuer() {
	awk '/BEGIN CERT/ { c = "" } { c = c $0 "\n" } /END CERT/ { last = c } END { printf "%s", last }' "$1" |
		openssl x509 -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= //p'
}

@test "preferred chain: the alternate root's chain is chosen and stored, the default otherwise" {
	alt=$(root_cn 1)
	def=$(root_cn 0)
	[ -n "$alt" ] && [ "$alt" != "$def" ]
	run_split -0 acme-issue -P "$alt" alt.example.com
	jq -r .certificate.pem <<<"$output" >"$BATS_TEST_TMPDIR/alt.pem"
	assert_equal "$(top_issuer "$BATS_TEST_TMPDIR/alt.pem")" "$alt" "preferred chain's root"
	assert_equal "$(top_issuer <(certstore -s "$STORE" chain alt.example.com))" "$alt" "stored chain's root"
	run_split -0 acme-issue def.example.com
	assert_equal "$(top_issuer <(certstore -s "$STORE" chain def.example.com))" "$def" "default chain's root"
	# Served as stored, and it verifies against the alternate root.
	curl -sf --cacert "$ACMEPIPE_CA_BUNDLE" "$PEBBLE_MGMT/roots/1" >"$BATS_TEST_TMPDIR/root1.pem"
	served_verify alt.example.com "$BATS_TEST_TMPDIR/root1.pem"
}

@test "preferred chain: a name no chain has keeps the default chain" {
	run_split -0 acme-issue -P "No Such Root" none.example.com
	assert_equal "$(top_issuer <(certstore -s "$STORE" chain none.example.com))" "$(root_cn 0)" "root"
}
