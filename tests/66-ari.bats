#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# ACME Renewal Information (RFC 9773) in cert-expiring, end to end: Pebble
# behind the fault-injecting proxy (tests/helpers/acme-proxy.py), which
# answers renewal-info requests with the window each test sets, and
# nginx for http-01. Certificates come from acme-issue through the proxy,
# or, for the 1,000-certificate runs, are metadata files written here
# (renewal information needs only a certID). Renewals run through
# acme-renew, so the proxy sees what acme-order sends.

load helpers/common

ACME=urn:ietf:params:acme:error:

setup_file() {
	pebble_start
	proxy_start
	export WEBROOT=$TEST_TMP/www
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$TEST_TMP/store"
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	export ACMEPIPE_WEBROOT=$WEBROOT
}

setup() {
	proxy_reset
	T=$BATS_TEST_TMPDIR
	# Each test its own store: cert-expiring asks about every certificate
	# in it.
	export STORE=$T/store ACMEPIPE_STORE=$T/store
}

# secs TIME / at SECONDS: RFC 3339 and seconds since the epoch.
secs() { date -u -d "$1" +%s; }
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# meta NAME [JQ]: NAME's metadata, or a member of it.
meta() { store_meta "$STORE" "$1" "${2:-.}"; }

# issue NAME...: a certificate for the names through the proxy, stored;
# then the proxy's log and settings are cleared. Prints its CertID.
issue() {
	acme-issue "$@" >"$T/issued.json" || {
		cat "$T/issued.json" >&2
		return 1
	}
	proxy_reset
	meta "$1" .certID
}

# ari_due NAME...: the names' next renewal-info check moved into the past
# (2000), so the next run asks again.
# file layout: no command sets metadata; meta/NAME.json is rewritten in
# place, as the files backend lays it out.
ari_due() {
	local n
	for n; do
		jq '.ari.nextCheck = "2000-01-01T00:00:00Z"' "$STORE/meta/$n.json" >"$T/m" &&
			mv "$T/m" "$STORE/meta/$n.json" || return 1
	done
}

# ari_stored: how many names hold a renewal-info answer (a nextCheck).
ari_stored() {
	certstore -s "$STORE" list | jq -n '[inputs | select(.ari.nextCheck != null)] | length'
}

# ari_requests: the CertIDs of the renewal-info requests the proxy saw,
# one a line, in order.
ari_requests() {
	proxy_log | jq -r 'select(.path | startswith("/renewal-info/"))
		| .path | ltrimstr("/renewal-info/")'
}

# window CERTID START END [RETRY-AFTER]: the proxy answers CERTID with
# the window (seconds since the epoch), and Retry-After.
window() {
	proxy_ari "$(jq -cn --arg c "$1" --arg s "$(at "$2")" --arg e "$(at "$3")" \
		--argjson r "${4:-21600}" \
		'{byCertID: {($c): {start: $s, end: $e, retryAfter: $r}}}')"
}

# fake N [FIRST]: metadata of N certificates valid 90 days from now, named
# fNNNNN.example, written straight into the store: only certID matters to
# renewal information, and the proxy answers any.
# file layout: no command stores metadata without a certificate; 1,000
# certificates from the CA would take minutes, so the files are written
# as the files backend lays them out.
fake() {
	local n=$1 i=${2:-1} nb na
	mkdir -p "$STORE/certs" "$STORE/meta" "$STORE/private"
	nb=$(at "$(date +%s)")
	na=$(at $(($(date +%s) + 90 * 86400)))
	for ((; n > 0; n--, i++)); do
		printf -v name 'f%05d.example' "$i"
		printf '{"name":"%s","identifiers":["%s"],"notBefore":"%s","notAfter":"%s","serial":"%x","issuer":"Fake","certID":"ZmFrZQ.%05d"}\n' \
			"$name" "$name" "$nb" "$na" $((0x1000 + i)) "$i" >"$STORE/meta/$name.json"
	done
}

@test "ARI: a window in the future: not due; the time picked and the next check are stored" {
	id=$(issue future.example.com)
	now=$(date +%s)
	s=$((now + 10 * 86400)) e=$((now + 12 * 86400))
	window "$id" "$s" "$e" 3600
	run_split -0 cert-expiring -v
	assert_output ''
	assert_equal "$(ari_requests)" "$id" "requests"
	[[ $stderr == "cert-expiring: future.example.com: renewal info: window $(at "$s") to $(at "$e"), renew at "*"; next check after "* ]] ||
		fail "stderr: $stderr"
	assert_json "$(meta future.example.com)" '.ari.certID == .certID
	    and .ari.window == {start: $s, end: $e} and (.ari.error | not)
	    and (.ari.chosen | fromdate) >= ($s | fromdate) and (.ari.chosen | fromdate) < ($e | fromdate)
	    and (.ari.nextCheck | fromdate) - (.ari.checked | fromdate) == 3600
	    and ((.ari.checked | fromdate) - now | fabs) < 60' \
		--arg s "$(at "$s")" --arg e "$(at "$e")"
	chosen=$(secs "$(meta future.example.com .ari.chosen)")
	meta future.example.com >"$T/before"
	# Due from the time picked, not a second before. These runs are past
	# nextCheck: they ask again, the same window gives the same time, and
	# --now stores nothing.
	proxy_reset
	window "$id" "$s" "$e" 3600
	run_split -0 cert-expiring -n "$(at $((chosen - 1)))"
	assert_output ''
	run_split -0 cert-expiring -n "$(at "$chosen")"
	assert_json "$OUTPUT_FILE" '.identifiers == ["future.example.com"]
	    and .previous.certID == $id and .renewal.reason == "expiring"
	    and .renewal.due == $c and .renewal.ari == {start: $s, end: $e}' \
		--arg id "$id" --arg c "$(at "$chosen")" --arg s "$(at "$s")" --arg e "$(at "$e")"
	assert_equal "$(ari_requests | wc -l)" 2 "requests with --now"
	cmp "$T/before" <(meta future.example.com)
	# -A asks nothing; the stored window still counts.
	proxy_reset
	run_split -0 cert-expiring -A -n "$(at "$chosen")"
	assert_json "$OUTPUT_FILE" '.renewal.due == $c' --arg c "$(at "$chosen")"
	assert_equal "$(proxy_log)" "" "requests with -A"
}

@test "ARI: a window in the past: due; acme-renew sends replaces; the new certificate is asked about at once" {
	id=$(issue past.example.com)
	now=$(date +%s)
	window "$id" $((now - 2 * 86400)) $((now - 86400))
	# Only to look: without a lease, so that acme-renew's run takes it.
	run_split -0 cert-expiring -L 0
	assert_json "$OUTPUT_FILE" '.identifiers == ["past.example.com"]
	    and .previous.certID == $id and .renewal.reason == "expiring"
	    and (.renewal.due | fromdate) < now - 86400' --arg id "$id"
	# acme-renew's own cert-expiring asks nothing: nextCheck has not come.
	proxy_reset
	run_split -0 acme-renew
	assert_json "$OUTPUT_FILE" '.stored.names == ["past.example.com"]'
	assert_equal "$(ari_requests)" "" "renewal-info requests of acme-renew"
	assert_json "$(proxy_log | jq -c 'select(.path == "/order-plz")')" \
		'.payload.replaces == $id and .status == 201' --arg id "$id"
	new=$(meta past.example.com .certID)
	[[ $new != "$id" && $new == *.* ]] || fail "certID $new"
	assert_json "$(meta past.example.com)" '.ari | not'
	# The new certificate: asked about on the next run. No window for it
	# (404): the lifetime rule, asked again in 6 hours.
	proxy_reset
	run_split -0 cert-expiring
	assert_output ''
	assert_equal "$(ari_requests)" "$new" "requests"
	assert_json "$(meta past.example.com)" '.ari.certID == $new
	    and (.ari.error | startswith("HTTP 404")) and (.ari.window | not)
	    and (.ari.nextCheck | fromdate) - (.ari.checked | fromdate) == 21600' --arg new "$new"
}

@test "ARI: Retry-After is respected between runs; --now past nextCheck asks again, storing nothing" {
	id=$(issue retry.example.com)
	now=$(date +%s)
	window "$id" $((now + 5 * 86400)) $((now + 6 * 86400)) 7200
	run_split -0 cert-expiring
	assert_equal "$(ari_requests)" "$id" "first run"
	next=$(secs "$(meta retry.example.com .ari.nextCheck)")
	((next - now >= 7200 && next - now < 7260)) || fail "nextCheck $(at "$next")"
	meta retry.example.com >"$T/before"
	# Before nextCheck: no request at all, not even the directory.
	proxy_reset
	for t in "" "$(at $((next - 1)))"; do
		run_split -0 cert-expiring ${t:+-n "$t"}
		assert_output ''
	done
	assert_equal "$(proxy_log)" "" "requests before nextCheck"
	# After it (a dry run): asked again, nothing stored.
	window "$id" $((now + 5 * 86400)) $((now + 6 * 86400)) 7200
	run_split -0 cert-expiring -v -n "$(at "$next")"
	assert_equal "$(ari_requests)" "$id" "after nextCheck"
	assert_contains "$stderr" "(not stored: --now)"
	cmp "$T/before" <(meta retry.example.com)
	# So the next real run still asks nothing.
	proxy_reset
	run_split -0 cert-expiring
	assert_equal "$(proxy_log)" "" "requests after the dry run"
	# Retry-After is clamped to 1 minute .. 1 day; none means 6 hours.
	for ra in 5:60 999999:86400 none:21600; do
		# file layout: the metadata as before, due for a check, written
		# back into meta/ (no command sets metadata).
		jq '.ari.nextCheck = "2000-01-01T00:00:00Z"' "$T/before" >"$STORE/meta/retry.example.com.json"
		if [[ ${ra%:*} == none ]]; then
			# The proxy's windows always have a Retry-After; this
			# answer has none.
			proxy_fault '{"fault": "status", "path": "^/renewal-info/", "status": 200,
				"body": {"suggestedWindow": {"start": "2030-01-01T00:00:00Z",
				"end": "2030-01-02T00:00:00Z"}}}'
		else
			window "$id" $((now + 5 * 86400)) $((now + 6 * 86400)) "${ra%:*}"
		fi
		run_split -0 cert-expiring
		assert_json "$(meta retry.example.com)" \
			'(.ari.nextCheck | fromdate) - (.ari.checked | fromdate) == $w' --argjson w "${ra#*:}"
	done
}

@test "ARI: a window that moves into the past (a mass revocation) makes it due on the next run" {
	id=$(issue revoked.example.com)
	now=$(date +%s)
	window "$id" $((now + 20 * 86400)) $((now + 22 * 86400)) 3600
	run_split -0 cert-expiring
	assert_output ''
	# The CA revokes: the window moves into the past.
	window "$id" $((now - 86400)) $((now - 3600)) 3600
	run_split -0 cert-expiring
	assert_output ''
	assert_equal "$(ari_requests | wc -l)" 1 "asked once: nextCheck"
	# The next run after nextCheck (a dry run one hour on, then a real
	# one once the hour has passed) renews it.
	run_split -0 cert-expiring -n "$(at $((now + 3601)))"
	assert_json "$OUTPUT_FILE" '.identifiers == ["revoked.example.com"]
	    and (.renewal.ari.end | fromdate) < now'
	ari_due revoked.example.com
	run_split -0 cert-expiring
	assert_json "$OUTPUT_FILE" '.previous.certID == $id and .renewal.reason == "expiring"' --arg id "$id"
	assert_json "$(meta revoked.example.com)" '(.ari.chosen | fromdate) < now'
}

@test "ARI: a CA without renewalInfo, or no answer: the lifetime rule" {
	id=$(issue noari.example.com)
	na=$(secs "$(meta noari.example.com .notAfter)")
	nb=$(secs "$(meta noari.example.com .notBefore)")
	due=$((na - (na - nb) / 3 + (na - nb) / 6))
	meta noari.example.com >"$T/before"
	# Not in the directory: the directory is fetched, nothing else, and
	# nothing is written.
	proxy_ari off
	run_split -0 cert-expiring -vv
	assert_output ''
	assert_equal "$(proxy_log | jq -r .path)" /dir "requests"
	assert_contains "$stderr" "$ACMEPIPE_DIRECTORY: the CA offers no renewal information"
	cmp "$T/before" <(meta noari.example.com)
	run_split -0 cert-expiring -n "$(at "$due")"
	assert_json "$OUTPUT_FILE" '.previous.certID == $id and (.renewal.ari | not)' --arg id "$id"
	# A directory that cannot be had: said once, then the lifetime rule.
	proxy_fault '{"fault": "status", "path": "^/dir$", "status": 500}'
	run_split -0 cert-expiring -n "$(at "$due")"
	assert_json "$OUTPUT_FILE" '.identifiers == ["noari.example.com"]'
	assert_stderr "cert-expiring: $ACMEPIPE_DIRECTORY: renewal info not asked: injected by acme-proxy"
	# Offered, but a timeout: stored as an error, asked again in an hour.
	proxy_reset
	proxy_fault '{"fault": "stall", "path": "^/renewal-info/", "seconds": 3}'
	run_split -0 cert-expiring -T 1
	assert_output ''
	assert_json "$(meta noari.example.com)" '(.ari.error | contains("imeout"))
	    and (.ari.nextCheck | fromdate) - (.ari.checked | fromdate) == 3600 and (.ari.window | not)'
	# Once a window came, an error later keeps it.
	window "$id" $(($(date +%s) - 7200)) $(($(date +%s) - 3600))
	ari_due noari.example.com
	# Runs that look again take no lease (cert-expiring(1), Leases).
	run_split -0 cert-expiring -L 0
	assert_line_count 1
	ari_due noari.example.com
	proxy_fault '{"fault": "status", "path": "^/renewal-info/", "status": 503, "retryAfter": 120}'
	run_split -0 cert-expiring -L 0
	assert_line_count 1
	assert_json "$(meta noari.example.com)" '.ari.error == "HTTP 503: injected by acme-proxy"
	    and (.ari.window | type) == "object"
	    and (.ari.nextCheck | fromdate) - (.ari.checked | fromdate) == 120'
}

@test "ARI: no answer to 5 requests in a row ends the run's requests; a 429 at once" {
	# One in flight, so that the count is exact: with more, those
	# already asked when the answer that stops comes are still made.
	export ACMEPIPE_IN_FLIGHT=1
	fake 8
	proxy_fault '{"fault": "status", "path": "^/renewal-info/", "status": 500, "times": -1}'
	run_split -0 cert-expiring
	assert_output ''
	assert_stderr "cert-expiring: renewal info: no answer to 5 requests in a row (HTTP 500: injected by acme-proxy): 3 certificates left for the next run"
	assert_equal "$(ari_requests | wc -l)" 5 "requests"
	# The next run asks the 3 never asked first.
	proxy_reset
	proxy_ari '{"default": {"start": 864000, "end": 950400}}'
	run_split -0 cert-expiring -m 3
	assert_equal "$(ari_requests | tr '\n' ' ')" "ZmFrZQ.00006 ZmFrZQ.00007 ZmFrZQ.00008 " "resumed"
	proxy_reset
	proxy_fault '{"fault": "status", "path": "^/renewal-info/", "status": 429, "retryAfter": 600, "nth": 2, "times": -1}'
	# shellcheck disable=SC2046 # one name a word
	ari_due $(store_names "$STORE")
	run_split -0 cert-expiring
	assert_equal "$(ari_requests | wc -l)" 2 "requests"
	assert_contains "$stderr" "renewal info: the CA limits the requests (HTTP 429: injected by acme-proxy): 6 certificates left"
}

@test "ARI: the directory from -d or ACMEPIPE_DIRECTORY; none, -A and --summary ask nothing" {
	fake 2
	proxy_ari '{"default": {"start": 864000, "end": 950400}}'
	ACMEPIPE_DIRECTORY='' run_split -0 cert-expiring
	run_split -0 cert-expiring -A
	run_split -0 cert-expiring --summary
	assert_json "$OUTPUT_FILE" '.managed == 2 and .due == 0'
	assert_equal "$(proxy_log)" "" "requests"
	ACMEPIPE_DIRECTORY=https://127.0.0.1:1/nowhere run_split -0 cert-expiring -d "$PROXY_URL/dir"
	assert_equal "$(ari_requests | wc -l)" 2 "requests with -d"
	# A certificate whose metadata names another CA is not asked about.
	fake 1 3
	# file layout: no command sets metadata; the directory is written
	# into meta/ as the files backend lays it out.
	jq '.directory = "https://other.example/dir"' "$STORE/meta/f00003.example.json" >"$T/m"
	mv "$T/m" "$STORE/meta/f00003.example.json"
	proxy_reset
	run_split -0 cert-expiring
	assert_equal "$(proxy_log)" "" "requests for another CA's certificate"
	# Settings that cannot work: usage errors.
	run_split -2 cert-expiring -d http://127.0.0.1/dir
	assert_stderr "cert-expiring: directory must be an https URL: http://127.0.0.1/dir"
	run_split -2 cert-expiring -C "$T/none.pem"
	assert_stderr "cert-expiring: ca bundle $T/none.pem: No such file or directory"
	run_split -2 cert-expiring -T 0
	assert_stderr "cert-expiring: --http-timeout: want a number of seconds: 0"
}

# overlaps: how many renewal-info requests reached the proxy less than
# 0.25 s after the one before, while that one was still stalled (0.3 s).
overlaps() {
	proxy_log | jq -r 'select(.path | startswith("/renewal-info/")) | .time' |
		awk 'NR > 1 && $1 - p < 0.25 { n++ } { p = $1 } END { print n + 0 }'
}

@test "ARI: requests in flight: 16 overlap where one in flight never does, within the rate" {
	local gaps
	fake 40
	proxy_ari '{"default": {"start": 864000, "end": 950400}}'
	# Each answer takes 0.3 s: a request that starts sooner than that
	# after the one before was in flight beside it.
	proxy_fault '{"fault": "stall", "path": "^/renewal-info/", "seconds": 0.3, "times": -1}'
	run_split -0 cert-expiring --ari-rate 50 -F 16
	assert_equal "$(ari_stored)" 40 "stored"
	gaps=$(overlaps)
	((gaps > 0)) || fail "no two requests were in flight at once"
	# Never more than the rate in any second.
	assert_equal "$(proxy_log | jq -r 'select(.path | startswith("/renewal-info/")) | .time | floor' |
		sort | uniq -c | awk '$1 > 50' | wc -l)" 0 "seconds over the rate"
	proxy_reset
	proxy_ari '{"default": {"start": 864000, "end": 950400}}'
	proxy_fault '{"fault": "stall", "path": "^/renewal-info/", "seconds": 0.3, "times": -1}'
	rm -rf "$STORE"
	fake 6
	run_split -0 cert-expiring --ari-rate 50 -F 1
	gaps=$(overlaps)
	assert_equal "$gaps" 0 "requests in flight together with -F 1"
}

@test "ARI: a certificate for several names is asked about once; all its names keep the answer" {
	id=$(issue multi.example.com www.multi.example.com)
	now=$(date +%s)
	window "$id" $((now - 7200)) $((now - 3600))
	run_split -0 cert-expiring
	assert_equal "$(ari_requests)" "$id" "requests"
	assert_json "$OUTPUT_FILE" '.identifiers == ["multi.example.com", "www.multi.example.com"]'
	assert_json_eq "$(meta multi.example.com .ari)" "$(meta www.multi.example.com .ari)"
}

@test "ARI: alreadyReplaced: retried without replaces, the document says so, the certificate is renewed" {
	id=$(issue replaced.example.com)
	now=$(date +%s)
	window "$id" $((now - 7200)) $((now - 3600))
	proxy_fault '{"fault": "status", "path": "^/order-plz$", "replaces": true, "status": 409,
	    "type": "alreadyReplaced", "detail": "certificate already replaced"}'
	# acme-renew's pipeline, step by step, to see acme-order's document.
	run_split -0 bash -c 'set -o pipefail; cert-expiring | acme-order | tee "$1" |
		acme-challenge | acme-finalize | certstore-put' sh "$T/ordered.jsonl"
	assert_json "$T/ordered.jsonl" '.order.replacesRefused == "certificate already replaced"
	    and .order.replaces == null and .previous.certID == $id' --arg id "$id"
	assert_json "$OUTPUT_FILE" '.stored.names == ["replaced.example.com"] and (.error | not)'
	assert_equal "$(proxy_log | jq -c 'select(.path == "/order-plz") | [.status, .payload.replaces]' | tr '\n' ' ')" \
		"[409,\"$id\"] [201,null] " "newOrders"
	[[ $(meta replaced.example.com .certID) != "$id" ]] || fail "not renewed"
}

@test "ARI: rateLimited holds the name back until retryAfter; a pause until unpaused" {
	id=$(issue limited.example.com)
	id2=$(issue paused.example.com)
	now=$(date +%s)
	proxy_ari "$(jq -cn --arg a "$id" --arg b "$id2" --arg s "$(at $((now - 7200)))" --arg e "$(at $((now - 3600)))" \
		'{byCertID: {($a): {start: $s, end: $e}, ($b): {start: $s, end: $e}}}')"
	proxy_fault '[{"fault": "status", "path": "^/order-plz$", "identifier": "limited.example.com",
	    "status": 429, "retryAfter": 7200, "detail": "too many certificates"},
	    {"fault": "paused", "path": "^/order-plz$", "identifier": "paused.example.com",
	    "url": "https://portal.example/sfe/v1/unpause?jwt=abc"}]'
	run_split -1 acme-renew
	assert_json "$(meta limited.example.com)" '.lastError.type == $t
	    and ((.lastError.retryAfter | fromdate) - now | . > 7000 and . < 7300)' --arg t "${ACME}rateLimited"
	ra=$(secs "$(meta limited.example.com .lastError.retryAfter)")
	# Due by its window, held back by the CA's retryAfter; the paused
	# name not at all.
	run_split -0 cert-expiring -v
	assert_output ''
	assert_contains "$stderr" "cert-expiring: limited.example.com: failure 1, next attempt after $(at "$ra")"
	assert_contains "$stderr" "cert-expiring: paused.example.com: the CA paused the account for this name: unpause at https://portal.example/sfe/v1/unpause?jwt=abc"
	run_split -0 cert-expiring -n "$(at $((ra - 1)))"
	assert_output ''
	run_split -0 cert-expiring -n "$(at "$ra")"
	assert_json "$OUTPUT_FILE" '.identifiers == ["limited.example.com"] and .renewal.reason == "retry"'
	run_split -1 cert-expiring --summary
	assert_json "$OUTPUT_FILE" '.paused == [{name: "paused.example.com",
	    unpause: "https://portal.example/sfe/v1/unpause?jwt=abc"}] and .failing == 1'
	# Unpaused: renewed, with replaces.
	proxy_fault '[]'
	certstore unpark paused.example.com
	run_split -0 cert-expiring
	assert_json "$OUTPUT_FILE" '.identifiers == ["paused.example.com"] and .previous.certID == $id' --arg id "$id2"
}

@test "ARI: 1,000 certificates, swept under --ari-rate" {
	fake 1000
	proxy_ari '{"default": {"start": 864000, "end": 950400, "retryAfter": 21600}}'
	SECONDS=0
	run_split -0 cert-expiring --ari-rate 100
	took=$SECONDS
	assert_output ''
	proxy_log | jq -c 'select(.path | startswith("/renewal-info/"))' >"$T/log"
	assert_equal "$(wc -l <"$T/log")" 1000 "requests"
	assert_equal "$(jq -r .path "$T/log" | sort -u | wc -l)" 1000 "distinct certificates"
	# At most 100 * 1.1 + 1 requests in any second, by the proxy's clock,
	# plus the skew cert-expiring(1) documents for its default 16 in
	# flight: the first request on each of the 16 connections reaches
	# the CA a TLS handshake after its start.
	most=$(jq -r .time "$T/log" | sort -g | awk '
		{ t[NR] = $1 }
		END { j = 1; for (i = 1; i <= NR; i++) { while (t[i] - t[j] >= 1) j++;
			if (i - j + 1 > m) m = i - j + 1 }; print m }')
	((most <= 111 + 16)) || fail "$most requests within one second"
	span=$(jq -s 'map(.time) | max - min' "$T/log")
	echo "# 1,000 renewal-info requests at --ari-rate 100: ${span}s, at most $most in a second, run ${took}s" >&3
	jq -en --argjson s "$span" '$s >= 9.0' >/dev/null || fail "1,000 requests in ${span}s"
	# Every name stored its answer.
	assert_equal "$(ari_stored)" 1000 "stored"
	# The next run asks nothing.
	proxy_reset
	run_split -0 cert-expiring --ari-rate 100
	assert_equal "$(proxy_log)" "" "second run"
}

# age_twenty: certificates 101 to 120 made due for renewal information,
# 120 the longest ago. File layout: no command sets metadata; nextCheck
# is written into meta/ as the files backend lays it out.
age_twenty() {
	local i n
	for i in $(seq 101 120); do
		printf -v n 'f%05d.example' "$i"
		jq --arg t "$(at $((1700000000 + (120 - i) * 60)))" '.ari.nextCheck = $t' \
			"$STORE/meta/$n.json" >"$T/m" && mv "$T/m" "$STORE/meta/$n.json"
	done
}

@test "ARI: a run cut short by --ari-max resumes where it stopped, oldest nextCheck first" {
	fake 1000
	proxy_ari '{"default": {"start": 864000, "end": 950400}}'
	run_split -0 cert-expiring --ari-max 300 --ari-rate 1000 -v
	ari_requests | sort >"$T/first"
	assert_equal "$(wc -l <"$T/first")" 300 "first run"
	assert_contains "$stderr" "renewal info: --ari-max reached: 700 certificates left for the next run"
	assert_equal "$(ari_stored)" 300 "stored"
	proxy_reset
	proxy_ari '{"default": {"start": 864000, "end": 950400}}'
	run_split -0 cert-expiring --ari-rate 1000
	ari_requests | sort >"$T/second"
	assert_equal "$(wc -l <"$T/second")" 700 "second run"
	assert_equal "$(sort -u "$T/first" "$T/second" | wc -l)" 1000 "every certificate once"
	proxy_reset
	run_split -0 cert-expiring --ari-rate 1000
	assert_equal "$(proxy_log)" "" "third run"
	# Oldest nextCheck first: the 5 oldest of 20 made due.
	age_twenty
	proxy_ari '{"default": {"start": 864000, "end": 950400}}'
	# One in flight: the proxy sees them in the order they are asked.
	run_split -0 cert-expiring --ari-max 5 -F 1
	assert_equal "$(ari_requests | tr '\n' ' ')" \
		"ZmFrZQ.00120 ZmFrZQ.00119 ZmFrZQ.00118 ZmFrZQ.00117 ZmFrZQ.00116 " "oldest first"
	# More in flight: the same five are asked.
	proxy_reset
	age_twenty
	proxy_ari '{"default": {"start": 864000, "end": 950400}}'
	run_split -0 cert-expiring --ari-max 5 -F 16
	assert_equal "$(ari_requests | sort | tr '\n' ' ')" \
		"ZmFrZQ.00116 ZmFrZQ.00117 ZmFrZQ.00118 ZmFrZQ.00119 ZmFrZQ.00120 " "oldest first, 16 in flight"
}

@test "ARI: answers that cannot be stored: said once, exit 1, no more requests this run" {
	(($(id -u) != 0)) || skip "root writes to a read-only directory"
	fake 3
	proxy_ari '{"default": {"start": 864000, "end": 950400}}'
	# file layout: a metadata directory that cannot be written, and the
	# file the message names.
	chmod a-w "$STORE/meta"
	run_split -1 cert-expiring
	chmod u+w "$STORE/meta"
	assert_output ''
	assert_equal "$(ari_requests | wc -l)" 1 "requests"
	assert_stderr "cert-expiring: f00001.example: renewal info not stored: meta/f00001.example.json: Permission denied
cert-expiring: renewal info: the answers cannot be stored (see above): 2 certificates left for the next run"
}

@test "ARI: the sweep's progress on a terminal; nothing more on stderr when it is not one; -q silences it" {
	command -v script >/dev/null || skip "no script(1) (bsdutils)"
	fake 30
	proxy_ari '{"default": {"start": 864000, "end": 950400, "retryAfter": 21600}}'
	# 30 requests at 20 a second: about 1.5 s, several updates. Asked as
	# at --now, nothing stored, so every run asks them all.
	now=$(at $(($(date +%s) + 60)))
	script -qec "cert-expiring -R 20 -n $now >'$T/out'" /dev/null </dev/null >"$T/tty"
	assert_equal "$(wc -l <"$T/out")" 0 "documents"
	grep -aq 'cert-expiring: renewal info: [0-9]*/30, 0 failed, [0-9.]*/s' "$T/tty" ||
		fail "no progress line: $(od -c "$T/tty" | head -20)"
	grep -aq 'cert-expiring: renewal info: 30/30, 0 failed' "$T/tty" || fail "no 30/30"
	# Erased at the end: nothing but spaces after the last carriage return.
	assert_equal "$(tr '\r' '\n' <"$T/tty" | tail -n 1 | tr -d ' ')" "" "erased"
	script -qec "cert-expiring -q -R 20 -n $now >'$T/out'" /dev/null </dev/null >"$T/tty"
	assert_equal "$(cat "$T/tty")" "" "-q"
	run_split -0 cert-expiring -R 20 -n "$now"
	assert_stderr ''
	assert_equal "$(wc -c <"$STDERR_FILE")" 0 "stderr bytes"
}
