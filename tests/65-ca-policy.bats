#!/usr/bin/env bats
# What a CA of 2026 asks of a client, against the fault-injecting proxy in
# front of Pebble: profiles, "replaces" on renewals (RFC 9773),
# alreadyReplaced, 503 with Retry-After, rate limits and pauses.

load helpers/common

setup_file() {
	pebble_start
	proxy_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	export ACMEPIPE_WEBROOT=$WEBROOT ACMEPIPE_STORE=$STORE
}

setup() { proxy_reset; }

doc() { jq -cn --args '{identifiers: $ARGS.positional}' "$@"; }

# The newOrder payloads the proxy saw, one JSON object a line.
new_orders() { proxy_log | jq -c 'select(.path == "/order-plz") | .payload'; }

@test "profile: the profile reaches the CA and the order is made" {
	proxy_profiles '{"classic": "90 days", "shortlived": "6 days"}'
	run_split -0 acme-order -p shortlived <<<"$(doc p1.example.com)"
	assert_json "$output" '.order.status == "pending"'
	assert_json "$(new_orders)" '.profile == "shortlived"'
}

@test "profile: from ACMEPIPE_PROFILE, and the option beats it" {
	proxy_profiles '{"classic": "90 days", "shortlived": "6 days"}'
	ACMEPIPE_PROFILE=classic acme-order <<<"$(doc p2.example.com)" >/dev/null
	ACMEPIPE_PROFILE=classic acme-order -p shortlived <<<"$(doc p3.example.com)" >/dev/null
	assert_equal "$(new_orders | jq -r .profile | tr '\n' ' ')" "classic shortlived "
}

@test "profile: an unknown profile fails with the list the CA offers, no order made" {
	proxy_profiles '{"classic": "90 days", "shortlived": "6 days"}'
	run_split -1 acme-order -p tiny <<<"$(doc p4.example.com)"
	assert_json "$output" '.error.type == "urn:ietf:params:acme:error:invalidProfile"
	    and .error.detail == "profile tiny: the CA offers classic, shortlived"'
	assert_equal "$(new_orders | wc -l)" 0 "newOrders"
}

@test "profile: a CA without profiles refuses any" {
	run_split -1 acme-order -p classic <<<"$(doc p5.example.com)"
	assert_json "$output" '.error.detail == "profile classic: the CA offers no profiles"'
}

@test "replaces: a renewal order carries the old certificate's CertID" {
	acme-issue old.example.com >"$BATS_TEST_TMPDIR/first"
	certid=$(jq -r .certificate.certID "$BATS_TEST_TMPDIR/first")
	[[ $certid == *.* ]]
	assert_equal "$(store_meta "$STORE" old.example.com .certID)" "$certid" "meta certID"
	proxy_reset
	run_split -0 acme-order <<<"$(jq -cn --arg c "$certid" '{identifiers: ["old.example.com"], previous: {certID: $c}}')"
	assert_json "$output" '.order.replaces == $c' --arg c "$certid"
	assert_json "$(new_orders)" '.replaces == $c' --arg c "$certid"
}

@test "replaces: not sent to a CA without renewalInfo" {
	proxy_ari off
	run_split -0 acme-order <<<'{"identifiers":["noari.example.com"],"previous":{"certID":"aaaa.bbbb"}}'
	assert_json "$output" '.order.replaces == null'
	assert_json "$(new_orders)" 'has("replaces") | not'
}

@test "replaces: alreadyReplaced is retried once without replaces, and the document says so" {
	proxy_fault '{"fault": "status", "path": "^/order-plz$", "replaces": true, "status": 409, "type": "alreadyReplaced", "detail": "certificate already replaced"}'
	run_split -0 acme-order <<<'{"identifiers":["again.example.com"],"previous":{"certID":"aaaa.bbbb"}}'
	assert_json "$output" '.order.status == "pending" and .order.replaces == null
	    and .order.replacesRefused == "certificate already replaced"'
	assert_equal "$(new_orders | jq -c '.replaces' | tr '\n' ' ')" '"aaaa.bbbb" null ' "orders asked"
}

@test "503 with a short Retry-After is waited out within the run" {
	proxy_fault '{"fault": "status", "path": "^/order-plz$", "status": 503, "retryAfter": 1, "times": 2}'
	start=$SECONDS
	run_split -0 acme-order <<<"$(doc busy.example.com)"
	assert_json "$output" '.order.status == "pending"'
	((SECONDS - start >= 2)) || fail "did not wait for Retry-After"
	assert_equal "$(proxy_log | jq -r 'select(.path == "/order-plz") | .status' | tr '\n' ' ')" "503 503 201 " "answers"
}

@test "503 with a long Retry-After is recorded for a later run" {
	proxy_fault '{"fault": "status", "path": "^/order-plz$", "status": 503, "retryAfter": 3600}'
	run_split -1 acme-order <<<"$(doc later.example.com)"
	assert_json "$output" '.error.status == 503 and
	    ((.error.retryAfter | fromdate) - now | . > 3500 and . < 3700)'
}

@test "rateLimited: the document records retryAfter, certstore-put keeps it for cert-expiring" {
	proxy_fault '{"fault": "status", "path": "^/order-plz$", "status": 429, "retryAfter": 7200, "detail": "too many certificates for example.com"}'
	run_split -1 acme-issue limited.example.com
	assert_json "$output" '.error.type == "urn:ietf:params:acme:error:rateLimited"
	    and .error.step == "acme-order"
	    and ((.error.retryAfter | fromdate) - now | . > 7100 and . < 7300)'
	assert_json "$(store_meta "$STORE" limited.example.com)" '.lastError.retryAfter != null'
}

@test "paused: the document carries the CA's unpause URL" {
	proxy_fault '{"fault": "paused", "identifier": "paused.example.com"}'
	run_split -1 acme-issue paused.example.com
	assert_json "$output" '.error.type == "urn:ietf:params:acme:error:rateLimited"
	    and (.error.detail | test("https://[^ ]*unpause"))'
	run_split -0 acme-issue notpaused.example.com
}

@test "http: one connection per document in flight carries all of a process's requests" {
	for i in $(seq 1 10); do doc "conn$i.example.com"; done >"$BATS_TEST_TMPDIR/in"
	run_split -0 acme-order --in-flight 1 <"$BATS_TEST_TMPDIR/in"
	assert_line_count 10 "$OUTPUT_FILE"
	# directory, nonce, account, 10 orders and 10 authorizations
	[ "$(proxy_log | grep -c .)" -ge 22 ]
	assert_equal "$(proxy_log | jq -r .peer | sort -u | wc -l)" 1 "client ports seen"
	# Four in flight: four connections at most, each kept open.
	proxy_reset
	for i in $(seq 11 30); do doc "conn$i.example.com"; done >"$BATS_TEST_TMPDIR/in"
	run_split -0 acme-order --in-flight 4 <"$BATS_TEST_TMPDIR/in"
	assert_line_count 20 "$OUTPUT_FILE"
	(($(proxy_log | jq -r .peer | sort -u | wc -l) <= 4)) ||
		fail "more than 4 connections: $(proxy_log | jq -r .peer | sort -u | paste -sd ' ')"
}

@test "a problem document without a type is a response error naming the status" {
	proxy_fault '{"fault": "status", "path": "^/order-plz$", "status": 400, "body": {"detail": "something broke"}}'
	run_split -1 acme-order <<<"$(doc notype.example.com)"
	assert_json "$output" '.error.type == "urn:acmepipe:error:response" and .error.status == 400
	    and (.error.detail | endswith("/order-plz: HTTP 400 without a problem document"))'
	[ "${#stderr_lines[@]}" -eq 1 ]
}
