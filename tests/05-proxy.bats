#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# tests/helpers/acme-proxy.py, the fault-injecting ACME proxy in front of
# Pebble: it forwards a whole issuance, adds renewal info and profiles, and
# each fault happens exactly as configured, seen by curl or acme-order.

load helpers/common

setup_file() {
	# An alternate chain, so certificate downloads carry several Links.
	pebble_start PEBBLE_ALTERNATE_ROOTS=1
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
	proxy_start
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key
	echo '{"identifiers":["setup.example.com"]}' | acme-order -a >/dev/null
	# An RS256 account of our own, for newOrder payloads acme-order does
	# not send yet (replaces, profile).
	export JWS_KEY=$TEST_TMP/jws.key
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$JWS_KEY" 2>/dev/null
	JWS_KID=$(jws_post "$PROXY_URL/sign-me-up" '{"termsOfServiceAgreed":true}' |
		tr -d '\r' | sed -n 's/^location: //Ip')
	[[ $JWS_KID == "$PROXY_URL/my-account/"* ]] || {
		echo "setup_file: no account: $JWS_KID" >&2
		return 1
	}
	export JWS_KID
}

setup() { proxy_reset; }

doc() { jq -cn --args '{identifiers: $ARGS.positional}' "$@"; }

b64url() { basenc --base64url -w0 | tr -d '='; }

# jws_body URL PAYLOAD: the JWS of PAYLOAD for URL, signed with JWS_KEY
# (RS256; kid JWS_KID when set, else the jwk), with a fresh nonce.
jws_body() {
	local url=$1 nonce hdr n p s
	nonce=$(curl -sS -I --cacert "$ACMEPIPE_CA_BUNDLE" "$PROXY_URL/nonce-plz" |
		tr -d '\r' | sed -n 's/^replay-nonce: //Ip')
	if [[ -n ${JWS_KID:-} ]]; then
		hdr=$(jq -cn --arg n "$nonce" --arg u "$url" --arg k "$JWS_KID" \
			'{alg: "RS256", nonce: $n, url: $u, kid: $k}')
	else
		n=$(openssl rsa -in "$JWS_KEY" -noout -modulus | sed 's/^Modulus=//; s/../\\x&/g')
		n=$(printf '%b' "$n" | b64url)
		hdr=$(jq -cn --arg n "$nonce" --arg u "$url" --arg m "$n" \
			'{alg: "RS256", nonce: $n, url: $u, jwk: {e: "AQAB", kty: "RSA", n: $m}}')
	fi
	hdr=$(printf '%s' "$hdr" | b64url)
	p=$(printf '%s' "$2" | b64url)
	s=$(printf '%s.%s' "$hdr" "$p" | openssl dgst -sha256 -sign "$JWS_KEY" | b64url)
	jq -cn --arg h "$hdr" --arg p "$p" --arg s "$s" '{protected: $h, payload: $p, signature: $s}'
}

# jws_send URL BODY: POSTs BODY, a JWS; prints the status line, headers
# and body of the answer.
jws_send() {
	curl -sS -i --max-time 10 --cacert "$ACMEPIPE_CA_BUNDLE" \
		-H 'Content-Type: application/jose+json' --data-binary "$2" "$1"
}

# jws_post URL PAYLOAD: jws_send of jws_body.
jws_post() {
	jws_send "$1" "$(jws_body "$1" "$2")"
}

# order_payload NAME [JQ-EDIT]: a newOrder payload for NAME.
order_payload() {
	jq -cn --arg n "$1" "{identifiers: [{type: \"dns\", value: \$n}]} | ${2:-.}"
}

# http_status / http_body / http_header NAME: from jws_post's or curl -i's
# output in $output.
http_status() { sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' <<<"$output"; }
http_body() { tr -d '\r' <<<"$output" | sed '1,/^$/d'; }
http_header() { tr -d '\r' <<<"$output" | sed '/^$/q' | sed -n "s/^$1: //Ip"; }

pcurl() { curl -sS --max-time 10 --cacert "$ACMEPIPE_CA_BUNDLE" "$@"; }

@test "proxy: the directory is Pebble's on the proxy's address, plus renewalInfo" {
	run_split -0 pcurl -I "$PROXY_URL/nonce-plz"
	[ "$(http_status)" = 200 ]
	[ "$(http_header link)" = "<$PROXY_URL/dir>;rel=\"index\"" ]
	[ -n "$(http_header replay-nonce)" ]
	[ "$(http_header cache-control)" = "public, max-age=0, no-cache" ]
	run_split -0 pcurl -i "$PROXY_URL/dir"
	[ "$(http_status)" = 200 ]
	assert_json "$(http_body)" '.newOrder == $p + "/order-plz"
	    and .renewalInfo == $p + "/renewal-info"
	    and (.meta.termsOfService | startswith("data:"))
	    and (.meta.profiles | not)' --arg p "$PROXY_URL"
	[ "$ACMEPIPE_DIRECTORY" = "$PROXY_URL/dir" ]
	[ "$PEBBLE_DIRECTORY" = "https://127.0.0.1:$PEBBLE_PORT/dir" ]
}

@test "proxy: acme-issue runs start to finish through it" {
	# A preferred chain nobody has: acme-finalize follows every alternate
	# Link and keeps the default chain.
	run_split -0 acme-issue -v -P "No Such Root" -s "$STORE" -w "$WEBROOT" issue.example.com
	assert_contains "$stderr" "/alternate/1 200"
	assert_json "$output" '.stored.names == ["issue.example.com"] and .error == null
	    and (.order.url | startswith(env.PROXY_URL))'
	pebble_root >"$BATS_TEST_TMPDIR/root.pem"
	served_verify issue.example.com "$BATS_TEST_TMPDIR/root.pem"
	proxy_log >"$BATS_TEST_TMPDIR/log"
	assert_json "$BATS_TEST_TMPDIR/log" '.fault == null'
	for p in /order-plz /chalZ/ /finalize-order/ /certZ/; do
		jq -se --arg p "$p" 'any(.method == "POST" and (.path | startswith($p))
		    and .status < 300)' "$BATS_TEST_TMPDIR/log" >/dev/null ||
			fail "no successful POST $p in the log"
	done
}

@test "proxy: the log records newOrder payloads, also in the --log file" {
	acme-order <<<"$(doc log1.example.com log2.example.com)" >/dev/null
	run_split -0 proxy_log
	assert_json "$(grep order-plz <<<"$output")" '.method == "POST" and .status == 201
	    and .fault == null and (.time | type) == "number"
	    and .payload == {identifiers: [{type: "dns", value: "log1.example.com"},
	                                   {type: "dns", value: "log2.example.com"}]}'
	# The file has every request since the start; the log since the reset.
	tail -n "${#lines[@]}" "$TEST_TMP/proxy/requests.jsonl" | jq -c . >"$BATS_TEST_TMPDIR/file"
	[ "$(cat "$BATS_TEST_TMPDIR/file")" = "$output" ]
	# Control requests are not logged.
	[[ $output != *_proxy* ]] || fail "a control request was logged"
}

@test "proxy: replaces and profile reach Pebble unchanged, which accepts them" {
	run_split -0 jws_post "$PROXY_URL/order-plz" \
		"$(order_payload replaces.example.com '.replaces = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" | .profile = "any"')"
	[ "$(http_status)" = 201 ]
	assert_json "$(http_body)" '.status == "pending"'
	assert_json "$(proxy_log | grep order-plz)" '.status == 201
	    and .payload.replaces == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
	    and .payload.profile == "any"'
}

@test "proxy: alreadyReplaced (409) for newOrders with replaces, when told" {
	proxy_fault '{"fault": "status", "path": "^/order-plz$", "replaces": true,
	    "status": 409, "type": "alreadyReplaced", "times": -1}'
	for i in 1 2; do
		run_split -0 jws_post "$PROXY_URL/order-plz" \
			"$(order_payload r$i.example.com '.replaces = "AAAA.BBBB"')"
		[ "$(http_status)" = 409 ]
		[ "$(http_header content-type)" = application/problem+json ]
		[ -n "$(http_header replay-nonce)" ]
		assert_json "$(http_body)" '.type == "urn:ietf:params:acme:error:alreadyReplaced"
		    and .status == 409'
	done
	run_split -0 jws_post "$PROXY_URL/order-plz" "$(order_payload r3.example.com)"
	[ "$(http_status)" = 201 ]
	assert_json "$(proxy_log | grep order-plz | jq -s 'map([.status, .fault])')" \
		'. == [[409, "status"], [409, "status"], [201, null]]'
}

@test "proxy: profiles in the directory; an unknown profile is invalidProfile" {
	proxy_profiles '{"classic": "90 days", "shortlived": "6 days"}'
	run_split -0 pcurl "$PROXY_URL/dir"
	assert_json "$output" '.meta.profiles == {classic: "90 days", shortlived: "6 days"}
	    and .meta.externalAccountRequired == false'
	run_split -0 jws_post "$PROXY_URL/order-plz" "$(order_payload p.example.com '.profile = "nope"')"
	[ "$(http_status)" = 400 ]
	assert_json "$(http_body)" '.type == "urn:ietf:params:acme:error:invalidProfile"
	    and (.detail | contains("nope") and contains("classic, shortlived"))'
	run_split -0 jws_post "$PROXY_URL/order-plz" "$(order_payload p.example.com '.profile = "shortlived"')"
	[ "$(http_status)" = 201 ]
	assert_json "$(http_body)" '.profile == "shortlived" and .status == "pending"'
	# None offered: no meta.profiles, and any profile goes through.
	proxy_profiles '{}'
	run_split -0 pcurl "$PROXY_URL/dir"
	assert_json "$output" '.meta.profiles | not'
	run_split -0 jws_post "$PROXY_URL/order-plz" "$(order_payload p.example.com '.profile = "nope"')"
	[ "$(http_status)" = 201 ]
}

@test "proxy: renewal info answers the window and Retry-After set, 404 otherwise" {
	run_split -0 pcurl -i "$PROXY_URL/renewal-info/aaaa.bbbb"
	[ "$(http_status)" = 404 ]
	proxy_ari '{"default": {"start": -3600, "end": 3600, "retryAfter": 120},
	    "byCertID": {"aaaa.bbbb": {"start": "2030-01-01T00:00:00Z",
	        "end": "2030-01-02T00:00:00Z", "explanationURL": "https://ca.example/why"}}}'
	run_split -0 pcurl -i "$PROXY_URL/renewal-info/aaaa.bbbb"
	[ "$(http_status)" = 200 ]
	[ "$(http_header retry-after)" = 21600 ]
	[ "$(http_header content-type)" = application/json ]
	assert_json "$(http_body)" '. == {suggestedWindow: {start: "2030-01-01T00:00:00Z",
	    end: "2030-01-02T00:00:00Z"}, explanationURL: "https://ca.example/why"}'
	# Numbers are seconds from now.
	run_split -0 pcurl -i "$PROXY_URL/renewal-info/cccc.dddd"
	[ "$(http_status)" = 200 ]
	[ "$(http_header retry-after)" = 120 ]
	assert_json "$(http_body)" '(.suggestedWindow.start | test("^[0-9-]{10}T[0-9:]{8}Z$"))
	    and (.suggestedWindow.start | fromdate) < now
	    and (.suggestedWindow.end | fromdate) > now and (.explanationURL | not)'
	assert_json "$(proxy_log | jq -s 'map(select(.path | startswith("/renewal-info/")))')" \
		'map([.method, .path, .status]) == [["GET", "/renewal-info/aaaa.bbbb", 404],
	        ["GET", "/renewal-info/aaaa.bbbb", 200], ["GET", "/renewal-info/cccc.dddd", 200]]'
	# No ARI at the CA: not in the directory, and no answers.
	proxy_ari off
	run_split -0 pcurl "$PROXY_URL/dir"
	assert_json "$output" '.renewalInfo | not'
	run_split -0 pcurl -o /dev/null -w '%{http_code}' "$PROXY_URL/renewal-info/aaaa.bbbb"
	assert_output 404
	proxy_ari on
	run_split -0 pcurl "$PROXY_URL/dir"
	assert_json "$output" '.renewalInfo == env.PROXY_URL + "/renewal-info"'
}

@test "proxy: 429 rateLimited with Retry-After reaches acme-order's document" {
	proxy_fault '{"fault": "status", "path": "^/order-plz$", "status": 429,
	    "retryAfter": 3600, "detail": "too many certificates"}'
	run_split -1 acme-order <<<"$(doc limited.example.com)"
	assert_json "$output" '.error.type == "urn:ietf:params:acme:error:rateLimited"
	    and .error.status == 429 and .error.detail == "too many certificates"
	    and ((.error.retryAfter | fromdate) - now | . > 3500 and . < 3700)'
}

@test "proxy: a paused hostname gets 429 with the unpause URL, other names do not" {
	proxy_fault '{"fault": "paused", "path": "^/order-plz$", "identifier": "paused.example.com",
	    "times": -1, "url": "https://portal.example/sfe/v1/unpause?jwt=abc.def"}'
	printf '%s\n' "$(doc paused.example.com)" "$(doc free.example.com)" \
		"$(doc paused.example.com)" >"$BATS_TEST_TMPDIR/in"
	run_split -1 acme-order <"$BATS_TEST_TMPDIR/in"
	jq -s 'map(.error.status)' "$OUTPUT_FILE" >"$BATS_TEST_TMPDIR/st"
	assert_json "$BATS_TEST_TMPDIR/st" '. == [429, null, 429]'
	assert_json "$(head -n 1 "$OUTPUT_FILE")" '.error.type == "urn:ietf:params:acme:error:rateLimited"
	    and (.error.detail | contains("requesting certificates for paused.example.com")
	         and contains("visit: https://portal.example/sfe/v1/unpause?jwt=abc.def"))'
}

@test "proxy: 503 with Retry-After" {
	proxy_fault '{"fault": "status", "path": "^/order-plz$", "status": 503, "retryAfter": 30}'
	run_split -1 acme-order <<<"$(doc busy.example.com)"
	assert_json "$output" '.error.status == 503
	    and .error.type == "urn:ietf:params:acme:error:serverInternal"
	    and ((.error.retryAfter | fromdate) - now | . > 20 and . < 40)'
	# The fault was for one request: Pebble answers the next.
	run_split -0 pcurl -i -X POST "$PROXY_URL/order-plz"
	[ "$(http_status)" != 503 ]
	assert_json "$(http_body)" '.type | startswith("urn:ietf:params:acme:error:")' 
}

@test "proxy: a stall longer than ACMEPIPE_HTTP_TIMEOUT is a timeout" {
	proxy_fault '{"fault": "stall", "path": "^/order-plz$", "seconds": 4}'
	SECONDS=0
	ACMEPIPE_HTTP_TIMEOUT=2 run_split -1 acme-order <<<"$(doc stall.example.com)"
	assert_json "$output" '.error.type == "urn:acmepipe:error:timeout"'
	((SECONDS < 4)) || fail "took $SECONDS s"
	assert_json "$(proxy_log | grep order-plz)" '.fault == "stall"'
}

@test "proxy: malformed JSON is a response error" {
	proxy_fault '{"fault": "malformed", "path": "^/order-plz$", "times": 2}'
	run_split -1 acme-order <<<"$(doc malformed.example.com)"
	assert_json "$output" '.error.type == "urn:acmepipe:error:response"'
	run_split -0 pcurl -i "$PROXY_URL/order-plz"
	[ "$(http_status)" = 200 ]
	[ "$(http_body)" = '{"status": ' ]
}

@test "proxy: a wrong content type is a response error" {
	proxy_fault '{"fault": "ctype", "path": "^/order-plz$"}'
	run_split -1 acme-order <<<"$(doc ctype.example.com)"
	assert_json "$output" '.error.type == "urn:acmepipe:error:response"
	    and (.error.detail | contains("text/html"))'
	assert_json "$(proxy_log | grep order-plz)" '.status == 201 and .fault == "ctype"'
}

@test "proxy: an oversized body is a response error, larger than the limit" {
	proxy_fault '{"fault": "oversize", "path": "^/order-plz$"}'
	run_split -1 acme-order <<<"$(doc big.example.com)"
	assert_json "$output" '(.error.detail | contains("larger than"))'
	# What the CA sent is unusable: a response error, not a connection one.
	assert_json "$output" '.error.type == "urn:acmepipe:error:response"'
}

@test "proxy: oversize sends exactly the bytes asked for" {
	proxy_fault '{"fault": "oversize", "bytes": 1000, "times": 2}'
	run_split -0 pcurl -o /dev/null -w '%{size_download} %{content_type}' "$PROXY_URL/dir"
	assert_output '1000 application/json'
	run_split -0 pcurl -o "$BATS_TEST_TMPDIR/big" "$PROXY_URL/dir"
	[ "$(head -c 9 "$BATS_TEST_TMPDIR/big")" = '{"pad": "' ]
	run_split -0 pcurl -o /dev/null -w '%{size_download}' "$PROXY_URL/dir"
	[ "$output" != 1000 ]
}

@test "proxy: a dropped connection is a connection error" {
	proxy_fault '{"fault": "drop", "path": "^/dir$"}'
	run_split -52 pcurl "$PROXY_URL/dir" # empty reply
	proxy_fault '{"fault": "drop", "path": "^/dir$"}'
	run_split -1 acme-order <<<"$(doc drop.example.com)"
	assert_json "$output" '.error.type == "urn:acmepipe:error:connection"'
	# libcurl silently retries a request once when a reused connection
	# closes without a word, so a lasting drop is "times": -1.
	proxy_fault '{"fault": "drop", "path": "^/order-plz$", "times": -1}'
	run_split -1 acme-order <<<"$(doc drop.example.com)"
	assert_json "$output" '.error.type == "urn:acmepipe:error:connection"'
	assert_json "$(proxy_log | grep order-plz)" '.fault == "drop" and .status == null'
}

@test "proxy: a newOrder goes to Pebble alone: after those being forwarded, before those that came after it" {
	local a b l body
	# logged COND: the proxy has logged a request for which COND holds.
	logged() { proxy_log | jq -se "any(.[]; $1)" >/dev/null; }
	# B is signed now, so that it is sent at once while A stalls: under
	# the sanitizers, signing it with openssl(1) in the stall took over 5 s.
	body=$(jws_body "$PROXY_URL/order-plz" \
		'{"identifiers": [{"type": "dns", "value": "gate.example.com"}]}')
	# A: a directory read that Pebble takes 5 s to answer (inside the gate).
	proxy_fault '{"fault": "stall", "path": "^/dir$", "seconds": 5, "gated": true}'
	pcurl -o /dev/null "$PROXY_URL/dir" &
	a=$!
	wait_until 50 "$a" logged '.path == "/dir"' || fail "the first read never arrived"
	# B: a newOrder, while A is at Pebble.
	jws_send "$PROXY_URL/order-plz" "$body" >"$BATS_TEST_TMPDIR/b" &
	b=$!
	wait_until 50 "$b" logged '.path == "/order-plz"' || fail "the newOrder never arrived"
	# C: a directory read, while B waits.
	pcurl -o /dev/null "$PROXY_URL/dir"
	wait "$a" "$b"
	grep -q '^HTTP/[0-9.]* 201' "$BATS_TEST_TMPDIR/b" || fail "newOrder: $(cat "$BATS_TEST_TMPDIR/b")"
	l=$(proxy_log | jq -sc '[.[] | select(.path == "/dir" or .path == "/order-plz")]')
	assert_json "$l" 'length == 3 and .[0].path == "/dir" and .[1].path == "/order-plz"
		and .[2].path == "/dir"'
	# B arrived while A was at Pebble and went only once A was done;
	# C arrived while B waited and went after B.
	assert_json "$l" '.[1].time < .[0].forwarded + 5 and .[1].forwarded >= .[0].forwarded + 5
		and .[2].time < .[1].forwarded and .[2].forwarded >= .[1].forwarded'
}

@test "proxy: nth and times pick exactly the matching requests" {
	proxy_fault '{"fault": "status", "status": 503, "path": "^/order-plz$", "nth": 2, "times": 2}'
	for i in 1 2 3 4 5; do doc "n$i.example.com"; done >"$BATS_TEST_TMPDIR/in"
	# One in flight: the documents' orders reach the proxy in their order.
	run_split -1 acme-order -F 1 <"$BATS_TEST_TMPDIR/in"
	assert_json "$(jq -sc 'map(.error.status)' "$OUTPUT_FILE")" '. == [null, 503, 503, null, null]'
	# times -1: every match from the nth on; no path: every request counts.
	proxy_reset
	proxy_fault '[{"fault": "status", "status": 418, "nth": 3, "times": -1}]'
	for i in 1 2 3 4; do
		pcurl -o /dev/null -w '%{http_code}\n' "$PROXY_URL/dir"
	done >"$BATS_TEST_TMPDIR/codes"
	[ "$(tr '\n' ' ' <"$BATS_TEST_TMPDIR/codes")" = "200 200 418 418 " ]
}

@test "proxy: a pattern with a method matches only those requests" {
	proxy_fault '{"fault": "status", "status": 418, "path": "nonce", "method": "HEAD", "times": -1}'
	run_split -0 pcurl -o /dev/null -w '%{http_code}' "$PROXY_URL/nonce-plz"
	[ "$output" != 418 ]
	run_split -0 pcurl -I -o /dev/null -w '%{http_code}' "$PROXY_URL/nonce-plz"
	assert_output 418
	# A pattern on the authorization: the order is made, the authz fails.
	proxy_fault '{"fault": "status", "status": 500, "path": "^/authZ/", "detail": "authz broke"}'
	run_split -1 acme-order <<<"$(doc pattern.example.com)"
	assert_json "$output" '.error.status == 500 and .error.detail == "authz broke"'
	assert_json "$(proxy_log | jq -s 'map(select(.fault) | .path)')" \
		'length == 2 and .[0] == "/nonce-plz" and (.[1] | startswith("/authZ/"))'
}

@test "proxy: badcert replaces the downloaded certificate; acme-finalize refuses it" {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 1 -subj /CN=other.example -addext subjectAltName=DNS:other.example \
		-keyout /dev/null -out "$BATS_TEST_TMPDIR/other.pem" 2>/dev/null
	proxy_fault "$(jq -cn --rawfile p "$BATS_TEST_TMPDIR/other.pem" '{fault: "badcert", pem: $p}')"
	run_split -1 acme-issue -s "$STORE" -w "$WEBROOT" badcert.example.com
	assert_json "$output" '.error.step == "acme-finalize"
	    and .error.type == "urn:acmepipe:error:certificate" and (.stored | not)'
	assert_json "$(proxy_log | jq -s 'map(select(.fault))')" \
		'length == 1 and (.[0].path | startswith("/certZ/")) and .[0].status == 200'
}

@test "proxy: bad control requests are refused, reset clears everything" {
	run_split -1 proxy_fault '{"fault": "explode"}'
	assert_contains "$stderr" "unknown fault"
	run_split -1 proxy_fault '{"fault": "drop", "path": "("}'
	run_split -1 proxy_fault 'not json'
	run_split -1 proxy_fault '{"fault": "stall", "seconds": "long"}'
	run_split -1 proxy_ari '{"default": "soon"}'
	run_split -0 pcurl -o /dev/null -w '%{http_code}' "$PROXY_URL/_proxy/nothing"
	assert_output 404
	proxy_fault '{"fault": "status", "status": 418, "times": -1}'
	proxy_profiles '{"classic": "x"}'
	proxy_ari '{"default": {"start": 0, "end": 60}}'
	proxy_ari off
	proxy_reset
	run_split -0 proxy_log
	assert_output ''
	run_split -0 pcurl "$PROXY_URL/dir"
	assert_json "$output" '(.meta.profiles | not) and (.renewalInfo | type) == "string"'
	run_split -0 pcurl -o /dev/null -w '%{http_code}' "$PROXY_URL/renewal-info/x.y"
	assert_output 404
}

# Last: the proxy restarted here has a new port, which later tests in other
# processes would not see.
@test "proxy: SIGTERM stops it at once, even during a stall" {
	proxy_fault '{"fault": "stall", "seconds": 60}'
	pcurl -o /dev/null "$PROXY_URL/dir" 3>&- &
	sleep 0.5
	pid=$(<"$TEST_TMP/proxy/proxy.pid")
	SECONDS=0
	proxy_stop
	((SECONDS < 3)) || fail "took $SECONDS s"
	if proc_alive "$pid"; then fail "still running"; fi
	[ "$ACMEPIPE_DIRECTORY" = "$PEBBLE_DIRECTORY" ]
	wait || true
	proxy_start
	run_split -0 pcurl -o /dev/null -w '%{http_code}' "$PROXY_URL/dir"
	assert_output 200
}
