#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's or bash -c's
# shellcheck disable=SC2154 # stderr, stderr_lines: set by run_split
# shellcheck disable=SC2030,SC2031 # exports inside a test stay in that test
#
# Documents in flight (issue 15): each ACME step works on up to
# --in-flight documents at once and writes them in input order. Against a
# Pebble whose validation takes its time (PEBBLE_VA_SLEEPTIME: 0 to 2 s
# per validation, as a real CA's vantage points take). Tests of
# behaviour: order, overlap, failures, faults; none asserts on speed.

load helpers/common

setup_file() {
	pebble_start PEBBLE_VA_NOSLEEP=0 PEBBLE_VA_SLEEPTIME=2
	# The proxy: to stall one document's requests.
	proxy_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
}

setup() {
	T=$BATS_TEST_TMPDIR
	proxy_reset
}

# docs PREFIX N: N documents, one name each, PREFIX1.example.com on.
docs() {
	local i
	for ((i = 1; i <= $2; i++)); do
		jq -cn --arg n "$1$i.example.com" '{version: 1, identifiers: [$n]}'
	done
}

# pipeline IN [OPTION...]: the four steps, each with the OPTIONs.
pipeline() {
	local in=$1
	shift
	acme-order "$@" <"$in" | acme-challenge -w "$WEBROOT" "$@" |
		acme-finalize -s "$STORE" "$@" | certstore-put -s "$STORE"
}

# names FILE: the first identifier of each document, one line.
names() { jq -r '.identifiers[0]' "$1"; }

# chal_path FILE N: the path of the http-01 challenge of FILE's Nth document.
chal_path() {
	sed -n "$2p" "$1" | jq -r '.authorizations[0].challenges[] |
		select(.type == "http-01") | .url | sub("^https://[^/]*"; "")'
}

# assert_only_failed STEP TYPE STATUS N...: $OUTPUT_FILE has the documents
# of $T/in.jsonl in their order; the Nth ones failed in STEP with TYPE,
# the others have no error and their order is STATUS.
assert_only_failed() {
	local step=$1 type=$2 status=$3 n sel=
	shift 3
	assert_line_count "$(wc -l <"$T/in.jsonl")"
	assert_equal "$(names "$OUTPUT_FILE")" "$(names "$T/in.jsonl")" "order"
	for n in "$@"; do sel+="${n}p;"; done
	assert_json "$(sed -n "$sel" "$OUTPUT_FILE")" '.error.step == $s and .error.type == $t' \
		--arg s "$step" --arg t "urn:acmepipe:error:$type"
	sed -n "$sel" "$OUTPUT_FILE" | grep -vxFf - "$OUTPUT_FILE" >"$T/rest.jsonl"
	assert_json "$T/rest.jsonl" '(.error | not) and .order.status == $s' --arg s "$status"
}

# interleaved [PREFIX]: the number of names (starting with PREFIX) whose validations by Pebble's VA (its
# three "Attempting to validate" lines per challenge) were interrupted by
# another name's: 0 when the CA validated one document after the other.
interleaved() {
	sed -n 's,.*Attempting to validate w/ HTTP: http://\([^:/]*\).*,\1,p' \
		"$TEST_TMP/pebble/pebble.log" | grep "^${1:-}" | uniq | sort | uniq -d | wc -l
}

@test "40 documents through one pipeline with --in-flight 16: all issued, in input order, validations overlapping" {
	docs fly 40 >"$T/in.jsonl"
	run_split -0 pipeline "$T/in.jsonl" --in-flight 16
	assert_line_count 40
	assert_equal "$(names "$OUTPUT_FILE")" "$(names "$T/in.jsonl")" "order"
	assert_json "$OUTPUT_FILE" '(.error | not) and .stored.names == .identifiers'
	(($(interleaved fly) > 0)) || fail "Pebble never validated two documents at once"
	# The measure can fail: one in flight, one validation after another.
	docs one 4 >"$T/one.jsonl"
	run_split -0 pipeline "$T/one.jsonl" --in-flight 1
	assert_equal "$(interleaved one)" 0 "interleaved with --in-flight 1"
}

@test "acme-order --in-flight 8: newOrders together, authorization reads together, never one beside the other" {
	docs lone 8 >"$T/in.jsonl"
	# Every newOrder and authorization read takes 0.3 s at the CA, the
	# second document's newOrder 0.9 s: the others' authorization reads
	# wait for it.
	proxy_fault '[{"fault": "stall", "path": "^/order-plz$", "identifier": "lone2.example.com",
		"seconds": 0.9},
		{"fault": "stall", "path": "^/order-plz$", "seconds": 0.3, "times": -1},
		{"fault": "stall", "path": "^/authZ/", "seconds": 0.3, "times": -1}]'
	run_split -0 acme-order --in-flight 8 <"$T/in.jsonl"
	assert_line_count 8
	assert_json "$OUTPUT_FILE" '(.error | not) and .order.status == "pending"'
	# Each request at the CA: "START END KIND".
	proxy_log | jq -r 'select(.path == "/order-plz" or (.path | startswith("/authZ/")))
		| "\(.time) \(.answered) \(if .path == "/order-plz" then "order" else "authz" end)"' |
		sort -n >"$T/seen"
	assert_equal "$(grep -c ' order$' "$T/seen")" 8 "newOrders" "$(cat "$T/seen")"
	assert_equal "$(grep -c ' authz$' "$T/seen")" 8 "authorization reads" "$(cat "$T/seen")"
	# A newOrder and an authorization read: never at the CA together.
	assert_equal "$(awk '{ s[NR] = $1; e[NR] = $2; k[NR] = $3 }
		END { for (i = 1; i <= NR; i++) for (j = 1; j <= NR; j++)
			if (k[i] == "order" && k[j] == "authz" && s[i] < e[j] && s[j] < e[i]) n++
			print n + 0 }' "$T/seen")" 0 "newOrders beside an authorization read" "$(cat "$T/seen")"
	# Requests of one kind: together, not one per round trip.
	assert_equal "$(awk '$3 == "order" { if (n++ && $1 - t < 0.1) k++; t = $1 }
		END { print (k > 0) }' "$T/seen")" 1 "newOrders side by side" "$(cat "$T/seen")"
}

@test "acme-order: a newOrder the CA never answers holds the others back by seconds, not by its timeout" {
	local t0
	docs hang 6 >"$T/in.jsonl"
	# The proxy holds the second's newOrder past the step's HTTP timeout.
	proxy_fault '{"fault": "stall", "path": "^/order-plz$", "identifier": "hang2.example.com",
		"seconds": 60, "times": -1}'
	run_split -1 acme-order --in-flight 6 -T 15 <"$T/in.jsonl"
	assert_only_failed acme-order timeout pending 2
	# Every other newOrder reached the CA while the hung one was still
	# in flight, not after its 15 s timeout.
	proxy_log | jq -c 'select(.path == "/order-plz")
		| {time, name: .payload.identifiers[0].value}' >"$T/orders"
	t0=$(jq -r 'select(.name == "hang2.example.com") | .time' "$T/orders" | head -1)
	assert_equal "$(jq -r --argjson t0 "$t0" 'select(.name != "hang2.example.com"
		and .time > $t0 + 14) | .name' "$T/orders")" "" \
		"newOrders made after the hung one's timeout" "$(cat "$T/orders")"
	# So did the authorization reads, which may not go beside a newOrder:
	# the hung one's turn was given up after 5 s.
	assert_equal "$(proxy_log | jq -r --argjson t0 "$t0" 'select((.path | startswith("/authZ/"))
		and .time > $t0 + 14) | .path')" "" "authorization reads made after the hung newOrder's timeout"
}

@test "half the nonces rejected (PEBBLE_WFE_NONCEREJECT=50), 64 in flight: every document succeeds" {
	pebble_restart PEBBLE_VA_NOSLEEP=0 PEBBLE_VA_SLEEPTIME=2 PEBBLE_WFE_NONCEREJECT=50
	docs nonce 64 >"$T/in.jsonl"
	run_split pipeline "$T/in.jsonl" --in-flight 64
	pebble_restart PEBBLE_VA_NOSLEEP=0 PEBBLE_VA_SLEEPTIME=2
	assert_status 0
	assert_line_count 64
	assert_equal "$(names "$OUTPUT_FILE")" "$(names "$T/in.jsonl")" "order"
	assert_json "$OUTPUT_FILE" '(.error | not) and .stored.names == .identifiers'
}

@test "one document stalls past its timeout: it fails with its error, those after it complete and come out behind it" {
	local chal
	docs stall 12 >"$T/in.jsonl"
	acme-order --in-flight 12 <"$T/in.jsonl" >"$T/ordered.jsonl"
	# The challenge of the third: the CA is never told to validate it
	# (the proxy holds the request past the step's HTTP timeout).
	chal=$(chal_path "$T/ordered.jsonl" 3)
	proxy_fault "$(jq -cn --arg p "^$chal\$" '{fault: "stall", path: $p, seconds: 30, times: -1}')"
	run_split -1 acme-challenge --in-flight 4 -T 3 -w "$WEBROOT" <"$T/ordered.jsonl"
	assert_only_failed acme-challenge timeout ready 3
	assert_equal "$(grep -c 'stall3.example.com' <<<"$stderr")" 1 "stderr lines for the stalled one"
}

@test "a challenge poll answered with something else than a challenge: that document fails, the others complete" {
	local c1 c2 n z
	docs odd 4 >"$T/in.jsonl"
	acme-order --in-flight 4 <"$T/in.jsonl" >"$T/ordered.jsonl"
	c1=$(chal_path "$T/ordered.jsonl" 1) c2=$(chal_path "$T/ordered.jsonl" 3)
	# The second request to each challenge is its first poll: for the
	# first document no status, for the third a status and nothing else.
	proxy_fault "$(jq -cn --arg a "^$c1\$" --arg b "^$c2\$" '[
		{fault: "status", status: 200, path: $a, nth: 2, contentType: "application/json",
		 body: "{\"type\": \"http-01\"}"},
		{fault: "status", status: 200, path: $b, nth: 2, contentType: "application/json",
		 body: "{\"status\": \"valid\"}"}]')"
	run_split -1 acme-challenge --in-flight 4 -w "$WEBROOT" <"$T/ordered.jsonl"
	assert_only_failed acme-challenge response ready 1 3
	assert_json "$(sed -n '1p; 3p' "$OUTPUT_FILE")" '.error.detail | endswith("not a challenge")'
	assert_json "$(proxy_log | jq -sc '[.[] | select(.fault == "status")] | length')" '. == 2'
	# The CA was validating them: their authorizations are left to it,
	# not deactivated. Once it has settled them, it still makes orders
	# (Pebble 2.4 deadlocked when one was deactivated mid-validation).
	assert_json "$(sed -n '1p; 3p' "$OUTPUT_FILE")" '.authorizations[0].status == "pending"'
	for n in 1 3; do
		z=$(sed -n "${n}p" "$OUTPUT_FILE" | jq -r '.authorizations[0].url | sub(".*/"; "")')
		wait_until 100 "$(<"$TEST_TMP/pebble/pebble.pid")" \
			grep -q "authz $z set" "$TEST_TMP/pebble/pebble.log" || fail "authorization $n never settled"
	done
	run_split -0 acme-order -T 10 <<<'{"version": 1, "identifiers": ["odd5.example.com"]}'
	assert_json "$OUTPUT_FILE" '.order.status == "pending"'
}

@test "Pebble killed in the middle, 32 in flight: every document written, the unfinished with an error; a rerun completes them" {
	local pid n
	docs kill 64 >"$T/in.jsonl"
	pipeline "$T/in.jsonl" --in-flight 32 >"$T/out.jsonl" 2>"$T/err" &
	pid=$!
	# Once some are stored, the CA goes away.
	wait_until 600 "$pid" bash -c 'ls "$1"/certs/kill*.pem 2>/dev/null | grep -q .' _ "$STORE" ||
		fail "nothing stored before the kill" "$(tail -5 "$T/err")"
	kill -9 "$(<"$TEST_TMP/pebble/pebble.pid")"
	wait "$pid" && fail "the pipeline exited 0 with Pebble gone" || true
	assert_line_count 64 "$T/out.jsonl"
	assert_equal "$(names "$T/out.jsonl")" "$(names "$T/in.jsonl")" "order"
	assert_json "$T/out.jsonl" '.stored or .error'
	n=$(jq -c 'select(.error)' "$T/out.jsonl" | wc -l)
	((n > 0)) || fail "no document was unfinished"
	# Back at the same address, having forgotten everything.
	pebble_restart PEBBLE_VA_NOSLEEP=0 PEBBLE_VA_SLEEPTIME=2
	jq -c 'select(.error) | del(.error)' "$T/out.jsonl" >"$T/again.jsonl"
	run_split -0 pipeline "$T/again.jsonl" --in-flight 32
	assert_line_count "$n"
	assert_json "$OUTPUT_FILE" '(.error | not) and .stored.names == .identifiers'
}
