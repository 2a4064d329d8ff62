#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# The harness itself, before any acmepipe binary is involved: Pebble,
# challtestsrv and nginx come up on loopback, answer as the other tests
# expect, and are gone after stop. Needs nothing from bin/.

load helpers/common

setup_file() {
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	mkdir -p "$WEBROOT" "$STORE/certs"
	nginx_start "$WEBROOT" "$STORE"
}

# self_signed NAME FILE: a chain+key PEM for NAME, as certstore-put writes.
self_signed() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 1 -subj "/CN=$1" -addext "subjectAltName=DNS:$1" \
		-keyout "$BATS_TEST_TMPDIR/key.pem" -out "$BATS_TEST_TMPDIR/cert.pem" 2>/dev/null
	cat "$BATS_TEST_TMPDIR/cert.pem" "$BATS_TEST_TMPDIR/key.pem" >"$2.tmp"
	mv "$2.tmp" "$2"
}

@test "pebble directory is reachable with the CA bundle" {
	run_split -0 curl -sS --fail --cacert "$ACMEPIPE_CA_BUNDLE" "$ACMEPIPE_DIRECTORY"
	assert_json "$output" '.newOrder | startswith("https://127.0.0.1:\($p)/")' \
		--arg p "$PEBBLE_PORT"
	# Pebble's VA must fetch http-01 tokens from nginx.
	assert_json "$TEST_TMP/pebble/pebble.json" '.pebble.httpPort == ($p | tonumber)' \
		--arg p "$HTTP01_PORT"
}

@test "pebble is not trusted without the CA bundle" {
	# curl 60: peer certificate cannot be authenticated.
	run_split -60 curl -sS --fail "$ACMEPIPE_DIRECTORY"
}

@test "pebble_root prints Pebble's root CA" {
	pebble_root >"$BATS_TEST_TMPDIR/root.pem"
	run_split -0 openssl x509 -noout -subject -in "$BATS_TEST_TMPDIR/root.pem"
	assert_contains "$output" "Pebble Root CA"
}

@test "challtestsrv answers 127.0.0.1 for a made-up name" {
	run_split -0 challtest_resolve_a made-up.test
	assert_output 127.0.0.1
}

@test "challtest_add_a and challtest_clear_a change the answer" {
	challtest_add_a nowhere.test 127.0.0.2
	run_split -0 challtest_resolve_a nowhere.test
	assert_output 127.0.0.2
	challtest_clear_a nowhere.test
	run_split -0 challtest_resolve_a nowhere.test
	assert_output 127.0.0.1
}

@test "nginx serves the webroot for http-01 on HTTP01_PORT" {
	mkdir -p "$WEBROOT/.well-known/acme-challenge"
	printf 'tok.thumbprint' >"$WEBROOT/.well-known/acme-challenge/tok"
	run_split -0 curl -sS --fail "http://127.0.0.1:$HTTP01_PORT/.well-known/acme-challenge/tok"
	assert_output tok.thumbprint
	run_split -0 curl -sS -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$HTTP01_PORT/.well-known/acme-challenge/missing"
	assert_output 404
}

@test "nginx serves the store's certificate by SNI, replaced without reload" {
	self_signed a.test "$STORE/certs/a.test.pem"
	run_split -0 served_cert a.test
	run_split -0 openssl x509 -noout -subject <<<"$output"
	assert_output "subject=CN = a.test"
	first=$(served_serial a.test)
	self_signed a.test "$STORE/certs/a.test.pem"
	second=$(served_serial a.test)
	[[ -n $first && $first != "$second" ]] ||
		fail "served serial did not change: $first then $second"
	run_split -0 served_verify a.test "$BATS_TEST_TMPDIR/cert.pem"
}

@test "nginx fails the handshake for a name not in the store" {
	self_signed b.test "$STORE/certs/b.test.pem"
	run_split -0 served_cert b.test
	run_split ! served_cert missing.test
	# nginx would pass this SNI into the path; the config's map refuses it.
	run_split ! served_cert ../certs/b.test
	run_split ! served_cert B.TEST
}

@test "run_split keeps stdout, stderr and status apart, byte for byte" {
	run_split -3 sh -c 'printf "out\n"; printf " err\n" >&2; exit 3'
	assert_output out
	assert_stderr " err"
	assert_line_count 1
	run assert_line_count 1 "$STDERR_FILE"
	assert_status 0
	run_split -0 printf 'no newline'
	run assert_line_count 0
	assert_status 1
	assert_contains "$output" "does not end with a newline"
}

@test "assert_json and assert_json_eq report the documents" {
	assert_json '{"a":1}
{"a":2}' '.a > 0'
	run assert_json '{"a":1}
{"a":2}' '.a == 1'
	assert_status 1
	assert_contains "$output" 'not true for every document: .a == 1'
	assert_contains "$output" '"a": 2'
	assert_json_eq '{"b":[1,2],"a":"x"}' '{ "a": "x", "b": [1, 2] }'
	run assert_json_eq '{"a":1}' '{"a":2}'
	assert_status 1
	assert_contains "$output" '+  "a": 1'
}

@test "pebble_restart keeps the ports, forgets the CA, takes new env" {
	old_root=$(pebble_root)
	pebble_restart PEBBLE_WFE_NONCEREJECT=100
	grep -q 'reject 100% of good nonces' "$TEST_TMP/pebble/pebble.log"
	run_split -0 curl -sS --fail --cacert "$ACMEPIPE_CA_BUNDLE" "$ACMEPIPE_DIRECTORY"
	new_root=$(pebble_root)
	[[ -n $new_root && $new_root != "$old_root" ]] || fail "root CA unchanged"
	# Back to the defaults for whatever runs next.
	pebble_restart PEBBLE_WFE_NONCEREJECT=0
	run_split -0 curl -sS --fail --cacert "$ACMEPIPE_CA_BUNDLE" "$ACMEPIPE_DIRECTORY"
}

@test "stop functions leave no server process and no listener" {
	pids=$(cat "$TEST_TMP/pebble/pebble.pid" "$TEST_TMP/pebble/challtestsrv.pid" \
		"$TEST_TMP/nginx/harness.pid")
	harness_stop
	for pid in $pids; do
		! proc_alive "$pid" || fail "process $pid still runs"
	done
	for port in "$PEBBLE_PORT" "$PEBBLE_MGMT_PORT" "$CHALLTESTSRV_MGMT_PORT" \
		"$CHALLTESTSRV_DNS_PORT" "$HTTP01_PORT" "$NGINX_TLS_PORT"; do
		! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
			fail "port $port still answers"
	done
	# Again, as teardown_file will: harmless.
	harness_stop
}
