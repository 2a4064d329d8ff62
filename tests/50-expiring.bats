#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# cert-expiring (common/renew.c) and certstore: what comes due when, the
# backoff after failures, parking, pauses, shards, the per-domain limit
# and the summary, over a store that certstore-put filled with
# certificates from a throwaway openssl CA. No ACME server: --now moves
# the clock. Only the test of the manual's examples starts Pebble.

load helpers/common

ACME=urn:ietf:params:acme:error:
USAGE="usage: cert-expiring [-AIqrvZ] [-b i/n] [-C file] [-d url] [-e days] [-F n]
	[-L seconds] [-l count] [-m count] [-n time] [-R rate] [-s dir]
	[-T seconds] [-X file] [-x days]"

setup() {
	T=$BATS_TEST_TMPDIR
	STORE=$T/store
	command -v cert-expiring >/dev/null || fail "build first: make"
	test_ca "$T" 400
}

teardown() {
	nginx_stop
	harness_teardown
}

# put NAME...: a certificate for the names, valid $DAYS days (90 by
# default) from now, stored by certstore-put.
put() { cert_put "$T" "$STORE" "${DAYS:-90}" "$@"; }

# failed ERROR NAME...: certstore-put records the error object (JSON)
# as a failed attempt for the names.
failed() { cert_failed "$STORE" "$@"; }

# secs TIME / at SECONDS: RFC 3339 and seconds since the epoch.
secs() { date -u -d "$1" +%s; }
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# meta NAME [MEMBER]: NAME's metadata (certstore list), or a member of it.
meta() { store_meta "$STORE" "$1" ".${2-}"; }

# firsts [sort]: the first identifier of each document on stdout of
# run_split, in order or sorted (by version, so n9 before n10).
firsts() {
	if [[ ${1:-} == sort ]]; then
		jq -r '.identifiers[0]' "$OUTPUT_FILE" | sort -V | tr '\n' ' '
	else
		jq -r '.identifiers[0]' "$OUTPUT_FILE" | tr '\n' ' '
	fi
}

@test "not due, then due: one document with identifiers, previous and renewal" {
	put example.com
	na=$(secs "$(meta example.com notAfter)")
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((na - 31 * 86400)))"
	assert_output ''
	assert_stderr ''
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((na - 15 * 86400)))"
	assert_stderr ''
	assert_line_count 1
	assert_json_eq "$(jq -c 'del(.renewal.due)' "$OUTPUT_FILE")" "$(meta example.com | jq -c \
		'{version: 1, identifiers: ["example.com"], previous: ({serial,
		  notAfter, issuer: "Test CA"} + if .certID then {certID} else {} end),
		  renewal: {reason: "expiring"}}')"
	assert_json "$OUTPUT_FILE" '.previous.serial | test("^71[0-9a-f]{14}$")'
	# The CertID for ARI's "replaces", when the metadata has one.
	# file layout: no command sets metadata; the certID is written into
	# meta/ as the files backend lays it out.
	jq '.certID = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"' "$STORE/meta/example.com.json" >"$T/m"
	mv "$T/m" "$STORE/meta/example.com.json"
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((na - 15 * 86400)))"
	assert_json "$OUTPUT_FILE" '.previous.certID == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"'
	# The due point is in the first half of the last third of 90 days.
	due=$(secs "$(jq -r .renewal.due "$OUTPUT_FILE")")
	((due >= na - 30 * 86400 && due <= na - 15 * 86400)) ||
		fail "due $(at "$due") not within 30 to 15 days before $(at "$na")"
	# It is the exact point: not a second before.
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((due - 1)))"
	assert_output ''
	run_split -0 cert-expiring -s "$STORE" -n "$(at "$due")"
	assert_line_count 1
	# Expired: still due, same document.
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((na + 86400)))"
	assert_json "$OUTPUT_FILE" '.renewal == {reason: "expiring", due: $d}' \
		--arg d "$(at "$due")"
	# Today nothing is due.
	run_split -0 cert-expiring -s "$STORE"
	assert_output ''
}

@test "a certificate for several names: one document, removed names left out" {
	put a.example.com www.example.com shop.example.com
	na=$(secs "$(meta a.example.com notAfter)")
	now=$(at $((na - 86400)))
	run_split -0 cert-expiring -s "$STORE" -n "$now"
	assert_line_count 1
	assert_json "$OUTPUT_FILE" '.identifiers == ["a.example.com", "www.example.com", "shop.example.com"]'
	# Without its first name, the next one emits it.
	run_split -0 certstore -s "$STORE" remove a.example.com
	run_split -0 cert-expiring -s "$STORE" -n "$now"
	assert_line_count 1
	assert_json "$OUTPUT_FILE" '.identifiers == ["www.example.com", "shop.example.com"]'
	# A name renewed on its own since goes its own way.
	put www.example.com
	run_split -0 cert-expiring -s "$STORE" -n "$now"
	assert_equal "$(jq -c .identifiers "$OUTPUT_FILE" | sort | tr '\n' ' ')" \
		'["shop.example.com"] ["www.example.com"] ' identifiers
}

@test "most urgent first: names without a certificate, then by expiry" {
	DAYS=30 put d30.example
	DAYS=10 put d10.example
	certstore -s "$STORE" add new.example
	DAYS=90 put d90.example
	DAYS=20 put d20.example x20.example
	run_split -0 cert-expiring -s "$STORE" -n "$(at $(($(date +%s) + 200 * 86400)))"
	assert_stderr ''
	assert_equal "$(firsts)" "new.example d10.example d20.example d30.example d90.example " order
	assert_json "$(head -n 1 "$OUTPUT_FILE")" '.renewal.reason == "new" and (.previous | not)'
}

@test "--days N: due between N and N/2 days before expiry" {
	put example.com
	na=$(secs "$(meta example.com notAfter)")
	run_split -0 cert-expiring -s "$STORE" --days 10 -n "$(at $((na - 10 * 86400 - 1)))"
	assert_output ''
	run_split -0 cert-expiring -s "$STORE" -e 10 -n "$(at $((na - 5 * 86400)))"
	assert_line_count 1
	due=$(secs "$(jq -r .renewal.due "$OUTPUT_FILE")")
	((due >= na - 10 * 86400 && due <= na - 5 * 86400)) ||
		fail "due $(at "$due") not within 10 to 5 days before $(at "$na")"
	# Without --days it would have been due 11 days before.
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((na - 11 * 86400)))"
	assert_line_count 1
	run_split -0 cert-expiring -s "$STORE" -e 10 -n "$(at $((na - 11 * 86400)))"
	assert_output ''
}

@test "spread: each name its own due point, over the first half of the window" {
	for i in $(seq 1 16); do
		put "host$i.example.com"
	done
	na=$(secs "$(meta host1.example.com notAfter)")
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((na - 15 * 86400 + 60)))"
	assert_line_count 16
	# Within bounds, each by its own certificate's expiry.
	assert_json "$OUTPUT_FILE" '(.previous.notAfter | fromdateiso8601) as $na
		| (.renewal.due | fromdateiso8601) as $d
		| $d >= $na - 30 * 86400 and $d <= $na - 15 * 86400'
	n=$(jq -r .renewal.due "$OUTPUT_FILE" | sort -u | wc -l)
	((n >= 15)) || fail "only $n distinct due points of 16"
	# Spread: more than a day between the first and the last.
	span=$(jq -rs 'map(.renewal.due | fromdateiso8601) | max - min' "$OUTPUT_FILE")
	((span > 86400)) || fail "due points within $span seconds"
	# The same points at every run.
	cp "$OUTPUT_FILE" "$T/first"
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((na - 15 * 86400 + 60)))"
	assert_json_eq "$OUTPUT_FILE" "$T/first"
}

@test "lifetime under 10 days: due when about half of it remains" {
	DAYS=6 put short.example
	na=$(secs "$(meta short.example notAfter)")
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((na - 3 * 86400 - 1)))"
	assert_output ''
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((na - 3 * 86400 / 2)))"
	assert_line_count 1
}

@test "first issuance of an added name; stored, it is no longer due" {
	run_split -0 certstore -s "$STORE" add new.example.com
	assert_output ''
	assert_stderr ''
	added=$(meta new.example.com added)
	run_split -0 cert-expiring -s "$STORE"
	assert_json_eq "$(jq -c 'del(.lease)' "$OUTPUT_FILE")" "$(jq -cn --arg a "$added" '{version: 1,
		identifiers: ["new.example.com"], renewal: {reason: "new", due: $a}}')"
	# Claimed for this run (tests/47-lease.bats).
	assert_json "$OUTPUT_FILE" '(.lease.id | test("^[0-9a-f]{32}$")) and (.lease.until | fromdate) > now'
	# The document is what acme-order reads.
	assert_json "$OUTPUT_FILE" '.identifiers | type == "array"'
	put new.example.com
	run_split -0 cert-expiring -s "$STORE"
	assert_output ''
	assert_json "$(meta new.example.com)" '(.added | not) and .issuer == "Test CA"'
}

@test "backoff: 1 minute, 10 minutes, 100 minutes, then daily, with jitter" {
	put example.com
	t0=$(($(secs "$(meta example.com notAfter)") - 10 * 86400))
	failed "{\"type\":\"${ACME}connection\",\"time\":\"$(at "$t0")\"}" example.com
	assert_json "$(meta example.com)" '.failCount == 1'
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t0 + 30)))" -v
	assert_output ''
	[[ $stderr == "cert-expiring: example.com: failure 1, next attempt after "* ]] ||
		fail "stderr: $stderr"
	next=$(secs "${stderr##* }")
	((next >= t0 + 60 && next <= t0 + 66)) || fail "next $(at "$next")"
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t0 + 120)))"
	assert_json "$OUTPUT_FILE" '.renewal.reason == "retry" and .renewal.due == $n' \
		--arg n "$(at "$next")"
	# Second failure: 10 minutes (at most 11).
	t1=$((t0 + 120))
	failed "{\"type\":\"${ACME}connection\",\"time\":\"$(at "$t1")\"}" example.com
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t1 + 9 * 60)))"
	assert_output ''
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t1 + 11 * 60)))"
	assert_line_count 1
	# Third: 100 minutes (at most 110).
	t2=$((t1 + 11 * 60))
	failed "{\"type\":\"${ACME}serverInternal\",\"time\":\"$(at "$t2")\"}" example.com
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t2 + 99 * 60)))"
	assert_output ''
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t2 + 110 * 60)))"
	assert_line_count 1
	# Fourth and later: a day (at most 26.4 hours).
	t3=$((t2 + 110 * 60))
	failed "{\"type\":\"urn:acmepipe:error:timeout\",\"time\":\"$(at "$t3")\"}" example.com
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t3 + 23 * 3600)))"
	assert_output ''
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t3 + 27 * 3600)))"
	assert_json "$OUTPUT_FILE" '.renewal.reason == "retry"'
	assert_json "$(meta example.com)" '.failCount == 4'
	# A success ends it: the new certificate is due as any other.
	put example.com
	assert_json "$(meta example.com)" '.failCount == 0'
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t3 + 60)))"
	assert_json "$OUTPUT_FILE" '.renewal.reason == "expiring"'
}

@test "never more than 5 failed validations per name in an hour" {
	put example.com
	t0=$(($(secs "$(meta example.com notAfter)") - 10 * 86400))
	for i in 0 1 2 3 4; do
		failed "{\"step\":\"acme-challenge\",\"type\":\"${ACME}connection\",
			\"time\":\"$(at $((t0 + i * 120)))\"}" example.com
	done
	# unpark ends the backoff, not the CA's hourly limit.
	run_split -0 certstore -s "$STORE" unpark example.com
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t0 + 30 * 60)))" -v
	assert_output ''
	assert_stderr "cert-expiring: example.com: 5 failed validations in an hour, next attempt after $(at $((t0 + 3600)))"
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t0 + 3599)))"
	assert_output ''
	# Once the first leaves the hour, it is due as before.
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t0 + 3600)))"
	assert_json "$OUTPUT_FILE" '.renewal.reason == "expiring"
		and (.renewal.due | fromdateiso8601) < $t' --argjson t "$t0"
	# Failures that are not validations do not count.
	put other.example
	for i in 0 1 2 3 4; do
		failed "{\"step\":\"acme-finalize\",\"type\":\"${ACME}serverInternal\",
			\"time\":\"$(at $((t0 + i * 120)))\"}" other.example
	done
	certstore -s "$STORE" unpark other.example
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t0 + 30 * 60)))"
	assert_equal "$(firsts)" "other.example " names
}

@test "parking: permanent errors after 7 days, transient ones after 30" {
	put perm.example
	put trans.example
	na=$(secs "$(meta perm.example notAfter)")
	f0=$((na - 22 * 86400)) # due from 15 days before expiry at the latest
	for n in perm trans; do
		[[ $n == perm ]] && type=${ACME}caa || type=${ACME}connection
		failed "{\"type\":\"$type\",\"time\":\"$(at "$f0")\"}" $n.example
		failed "{\"type\":\"$type\",\"time\":\"$(at $((f0 + 7 * 86400)))\"}" $n.example
	done
	now=$(at $((f0 + 8 * 86400)))
	run_split -0 cert-expiring -s "$STORE" -n "$now" -v
	assert_equal "$(firsts)" "trans.example " "emitted"
	assert_stderr "cert-expiring: perm.example: parked: failing since $(at "$f0")"
	# --include-parked: both, the parked one marked.
	run_split -0 cert-expiring -s "$STORE" -n "$now" --include-parked
	assert_line_count 2
	assert_json "$(grep perm "$OUTPUT_FILE")" '.renewal.reason == "retry" and .renewal.parked == true'
	assert_json "$(grep trans "$OUTPUT_FILE")" '.renewal.reason == "retry" and (.renewal.parked | not)'
	# --park-days 7 parks the transient one too; -x 30 is the default.
	run_split -0 cert-expiring -s "$STORE" -n "$now" --park-days 7
	assert_output ''
	# 30 days of transient failures.
	failed "{\"type\":\"${ACME}connection\",\"time\":\"$(at $((f0 + 30 * 86400)))\"}" trans.example
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((f0 + 31 * 86400)))" -x 31
	assert_equal "$(firsts)" "trans.example " "emitted with -x 31"
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((f0 + 31 * 86400)))"
	assert_output ''
	run_split -1 cert-expiring -s "$STORE" -n "$(at $((f0 + 31 * 86400)))" -r
	assert_json "$OUTPUT_FILE" '.parked == 2 and .failing == 0 and .expired == 2'
	# Unparked, a name is retried at once; the history stays.
	run_split -0 certstore -s "$STORE" -v unpark perm.example
	assert_stderr "certstore: perm.example: unparked"
	assert_json "$(meta perm.example)" '.failCount == 0
		and (.firstFailure | not) and (.unparked | test("Z$"))
		and .lastError.type == $t and (.failures | length) == 2' --arg t "${ACME}caa"
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((f0 + 31 * 86400)))"
	assert_json "$OUTPUT_FILE" '.identifiers == ["perm.example"] and .renewal.reason == "expiring"'
}

@test "permanent and transient errors: which is which" {
	local -a perm=("caa" "unauthorized" "rejectedIdentifier" "incorrectResponse"
		"unsupportedIdentifier" "dns:DNS problem: NXDOMAIN looking up A for x")
	local -a trans=("connection" "tls" "serverInternal" "rateLimited" "badNonce"
		"dns:DNS problem: SERVFAIL looking up A for x")
	local i=0 e
	t0=$(($(date +%s) - 30 * 86400))
	for e in "${perm[@]}" "${trans[@]}"; do
		i=$((i + 1))
		certstore -s "$STORE" add "n$i.example"
		for t in "$t0" $((t0 + 7 * 86400)); do
			failed "$(jq -cn --arg t "$(at "$t")" --arg type "$ACME${e%%:*}" \
				--arg d "${e#*:}" '{type: $type, detail: $d, time: $t}')" "n$i.example"
		done
	done
	run_split -0 cert-expiring -s "$STORE"
	# The six permanent ones are parked after 7 days; the others retried.
	assert_equal "$(firsts sort)" \
		"n7.example n8.example n9.example n10.example n11.example n12.example " emitted
}

@test "rateLimited waits for the CA's retryAfter" {
	put example.com
	t0=$(($(secs "$(meta example.com notAfter)") - 5 * 86400))
	failed "{\"type\":\"${ACME}rateLimited\",\"detail\":\"too many new orders\",
		\"time\":\"$(at "$t0")\",\"retryAfter\":\"$(at $((t0 + 3 * 3600)))\"}" example.com
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t0 + 3 * 3600 - 1)))" -v
	assert_output ''
	assert_stderr "cert-expiring: example.com: failure 1, next attempt after $(at $((t0 + 3 * 3600)))"
	run_split -0 cert-expiring -s "$STORE" -n "$(at $((t0 + 3 * 3600)))"
	assert_json "$OUTPUT_FILE" '.renewal == {reason: "retry", due: $d}' \
		--arg d "$(at $((t0 + 3 * 3600)))"
}

@test "paused account: no attempt, the unpause URL on stderr and in --summary" {
	put example.com www.example.com
	put ok.example
	url='https://portal.letsencrypt.org/sfe/v1/unpause?jwt=a.b.c'
	t0=$(($(secs "$(meta example.com notAfter)") - 5 * 86400))
	failed "$(jq -cn --arg t "$(at "$t0")" --arg u "$url" '{type: "'"$ACME"'rateLimited",
		detail: "Your account is temporarily prevented from requesting certificates for example.com and possibly others. Please visit: \($u)",
		time: $t}')" example.com www.example.com
	now=$(at $((t0 + 86400)))
	run_split -0 cert-expiring -s "$STORE" -n "$now" -I
	assert_equal "$(firsts)" "ok.example " emitted
	assert_equal "$(sort <<<"$stderr")" "cert-expiring: example.com: the CA paused the account for this name: unpause at $url
cert-expiring: www.example.com: the CA paused the account for this name: unpause at $url" stderr
	run_split -1 cert-expiring -s "$STORE" -n "$now" --summary
	assert_json "$OUTPUT_FILE" '.failing == 0 and .parked == 0 and .managed == 3'
	[[ $(jq -c '.paused | sort_by(.name)' "$OUTPUT_FILE") == "$(jq -cn --arg u "$url" \
		'[{name: "example.com", unpause: $u}, {name: "www.example.com", unpause: $u}]')" ]] ||
		fail "paused: $(cat "$OUTPUT_FILE")"
	# After the unpause, unpark.
	run_split -0 certstore -s "$STORE" unpark example.com www.example.com
	run_split -0 cert-expiring -s "$STORE" -n "$now"
	assert_equal "$(firsts sort)" "example.com ok.example " emitted
	assert_stderr ''
	# No URL in the CA's text.
	failed "{\"type\":\"${ACME}rateLimited\",\"detail\":\"account paused\",\"time\":\"$(at "$t0")\"}" ok.example
	run_split -1 cert-expiring -s "$STORE" -n "$now" -r
	assert_stderr "cert-expiring: ok.example: the CA paused the account for this name: unpause at (no URL in the CA's message)"
	assert_json "$OUTPUT_FILE" '.paused == [{name: "ok.example", unpause: null}]'
}

@test "--shard: the shards together are exactly the due set, without overlap" {
	for i in $(seq 1 40); do
		echo "n$i.example.org"
	done | xargs certstore -s "$STORE" add
	put a.example.com b.example.com
	put c.example.com
	now=$(at $(($(date +%s) + 100 * 86400)))
	cert-expiring -s "$STORE" -n "$now" | sort >"$T/all"
	assert_line_count 42 "$T/all"
	for n in 1 2 3 7; do
		for i in $(seq 1 "$n"); do
			run_split -0 cert-expiring -s "$STORE" -n "$now" --shard "$i/$n"
			cat "$OUTPUT_FILE"
		done | sort >"$T/union"
		cmp "$T/all" "$T/union" || fail "shards of $n differ from the due set"
	done
	# Every shard of 3 has some, and a name stays in its shard.
	for i in 1 2 3; do
		run_split -0 cert-expiring -s "$STORE" -n "$now" -b "$i/3"
		((${#lines[@]} > 5)) || fail "shard $i/3 has ${#lines[@]} documents"
		cp "$OUTPUT_FILE" "$T/s$i"
		run_split -0 cert-expiring -s "$STORE" -n "$now" -b "$i/3"
		cmp "$OUTPUT_FILE" "$T/s$i"
	done
	# --summary counts the names of its shard.
	total=0
	for i in 1 2 3; do
		run_split -0 cert-expiring -s "$STORE" -b "$i/3" -r
		total=$((total + $(jq .managed "$OUTPUT_FILE")))
	done
	assert_equal "$total" 43 "managed names over the shards"
	for bad in 0/3 4/3 3 1/0 a/b 1/3/3; do
		run_split -2 cert-expiring -s "$STORE" -b "$bad"
		assert_stderr "cert-expiring: --shard: want i/n with 1 <= i <= n
$USAGE"
	done
}

@test "--max-per-domain: most urgent first, by registered domain from the public suffix list" {
	DAYS=5 put m.example.co.uk m.example.com
	DAYS=10 put a.example.co.uk
	DAYS=20 put b.example.co.uk
	DAYS=30 put example.co.uk
	DAYS=11 put foo.example.com
	DAYS=15 put x.foo.example.com
	DAYS=25 put y.foo.example.com
	DAYS=12 put a.github.io
	DAYS=13 put b.github.io
	now=$(at $(($(date +%s) + 100 * 86400)))
	run_split -0 cert-expiring -s "$STORE" -n "$now"
	assert_equal "$(firsts)" "m.example.co.uk a.example.co.uk foo.example.com a.github.io b.github.io x.foo.example.com b.example.co.uk y.foo.example.com example.co.uk " all
	run_split -0 cert-expiring -s "$STORE" -n "$now" --max-per-domain 2
	assert_equal "$(firsts)" "m.example.co.uk a.example.co.uk foo.example.com a.github.io b.github.io " "-l 2"
	run_split -0 cert-expiring -s "$STORE" -n "$now" -l 1
	assert_equal "$(firsts)" "m.example.co.uk a.github.io b.github.io " "-l 1"
	run_split -0 cert-expiring -s "$STORE" -n "$now" -l 3
	assert_equal "$(firsts)" "m.example.co.uk a.example.co.uk foo.example.com a.github.io b.github.io x.foo.example.com b.example.co.uk " "-l 3"
	run_split -2 cert-expiring -s "$STORE" -l 0
	assert_stderr "cert-expiring: --max-per-domain: want a positive number
$USAGE"
}

@test "--summary: counts, and exit 1 for expired or failing and expiring within 7 days" {
	DAYS=90 put healthy.example
	run_split -0 cert-expiring -s "$STORE" --summary
	assert_json_eq "$OUTPUT_FILE" '{"managed":1,"due":0,"expiring7d":0,"failing":0,"preflight":0,"parked":0,"expired":0,"paused":[]}'
	assert_equal "$(cat "$OUTPUT_FILE")" '{"managed":1,"due":0,"expiring7d":0,"failing":0,"preflight":0,"parked":0,"expired":0,"paused":[]}' "key order"
	DAYS=5 put soon.example
	run_split -0 cert-expiring -s "$STORE" -r
	assert_json "$OUTPUT_FILE" '.managed == 2 and .expiring7d == 1 and .due == 0'
	# The one expiring within 7 days fails: exit 1.
	failed "{\"type\":\"${ACME}connection\",\"time\":\"$(at "$(date +%s)")\"}" soon.example
	run_split -1 cert-expiring -s "$STORE" -r
	assert_json_eq "$OUTPUT_FILE" '{"managed":2,"due":0,"expiring7d":1,"failing":1,"preflight":0,"parked":0,"expired":0,"paused":[]}'
	# Expired, failing elsewhere, parked, new.
	DAYS=1 put gone.example
	DAYS=90 put failing.example
	failed "{\"type\":\"${ACME}connection\",\"time\":\"$(at "$(date +%s)")\"}" failing.example
	DAYS=90 put parked.example
	failed "{\"type\":\"${ACME}caa\",\"time\":\"$(at $(($(date +%s) - 8 * 86400)))\"}" parked.example
	failed "{\"type\":\"${ACME}caa\",\"time\":\"$(at "$(date +%s)")\"}" parked.example
	certstore -s "$STORE" add new.example
	run_split -1 cert-expiring -s "$STORE" -r -n "$(at $(($(date +%s) + 2 * 86400)))"
	assert_json_eq "$OUTPUT_FILE" '{"managed":6,"due":2,"expiring7d":1,"failing":2,"preflight":0,
		"parked":1,"expired":1,"paused":[]}'
	assert_stderr ''
	# No document in summary mode; the same store's documents.
	run_split -0 cert-expiring -s "$STORE" -n "$(at $(($(date +%s) + 2 * 86400)))"
	assert_equal "$(firsts)" "new.example gone.example " documents
}

@test "certstore add, list, remove, unpark; names normalised, bad names refused" {
	run_split -1 certstore -s "$STORE" add Example.COM. ../x www.example.com 'a..b' '*.example.net'
	assert_stderr "certstore: ../x: invalid character '/' in name
certstore: a..b: empty label"
	# file layout: a wildcard's metadata file is named with _ for *.
	assert_equal "$(ls "$STORE/meta" | tr '\n' ' ')" "_.example.net.json example.com.json www.example.com.json " meta
	run_split -0 certstore -s "$STORE" -v add example.com
	assert_stderr "certstore: example.com: already managed"
	run_split -0 certstore -s "$STORE" list
	assert_line_count 3
	assert_json_eq "$(sort "$OUTPUT_FILE" | jq -c 'del(.added)')" \
		'{"name":"*.example.net"}
{"name":"example.com"}
{"name":"www.example.com"}'
	assert_json "$OUTPUT_FILE" '.added | test("^[0-9-]{10}T[0-9:]{8}Z$")'
	run_split -1 certstore -s "$STORE" list www.example.com nope.example
	assert_json "$OUTPUT_FILE" '.name == "www.example.com"'
	assert_stderr "certstore: nope.example: not managed"
	# remove: metadata and certificate (with its key) go.
	put www.example.com
	# file layout: the metadata files on disk hold no key material.
	assert_no_private_key "$STORE"/meta/*
	run_split -1 certstore -s "$STORE" remove www.example.com nope.example
	assert_stderr "certstore: nope.example: not managed"
	! certstore -s "$STORE" list www.example.com 2>/dev/null ||
		fail "www.example.com still stored"
	# file layout: the certificate file (what nginx reads) goes too.
	[[ ! -e $STORE/certs/www.example.com.pem ]] ||
		fail "www.example.com still stored"
	run_split -0 certstore -s "$STORE" -v remove '*.example.net'
	assert_stderr "certstore: *.example.net: removed"
	run_split -1 certstore -s "$STORE" unpark nope.example
	assert_stderr "certstore: nope.example: not managed"
	run_split -0 certstore -s "$STORE" list
	assert_json "$OUTPUT_FILE" '.name == "example.com"'
	assert_no_private_key
}

@test "certstore remove: nginx stops serving the name" {
	put example.com
	put example.org
	nginx_start "$T/www" "$STORE"
	served_serial example.com >/dev/null || fail "example.com not served"
	run_split -0 certstore -s "$STORE" remove example.com
	! served_serial example.com >/dev/null 2>&1 || fail "example.com still served"
	served_serial example.org >/dev/null || fail "example.org no longer served"
	run_split -0 cert-expiring -s "$STORE" -n "$(at $(($(date +%s) + 100 * 86400)))"
	assert_equal "$(firsts)" "example.org " documents
}

@test "certstore: usage, a missing store, --help" {
	usage=$(certstore -h)
	[[ $usage == "usage: certstore [-v] [-s store] add name ..."$'\n'* ]] || fail "usage: $usage"
	run_split -0 certstore -h
	assert_output "$usage"
	run_split -2 certstore -s "$STORE"
	assert_stderr "certstore: missing command: add, chain, copy, init, list, mirror, remove or unpark
$usage"
	run_split -2 certstore -s "$STORE" frob x
	assert_stderr "certstore: frob: unknown command
$usage"
	run_split -2 certstore -s "$STORE" add
	assert_stderr "certstore: add: no name given
$usage"
	run_split -2 certstore list
	assert_stderr "certstore: --store: missing (or set ACMEPIPE_STORE)"
	run_split -2 certstore -s "$T/none" list
	assert_stderr "certstore: $T/none: No such file or directory"
	[[ ! -e $T/none ]] || fail "list created the store"
	ACMEPIPE_STORE=$STORE run_split -0 certstore add example.com
	certstore -s "$STORE" list example.com >/dev/null
	ACMEPIPE_STORE=$T/elsewhere run_split -0 certstore -s "$STORE" list
	assert_json "$OUTPUT_FILE" '.name == "example.com"'
	[[ -w /dev/full ]] || skip "no /dev/full"
	run_split -2 sh -c 'certstore -s "$1" list >/dev/full' sh "$STORE"
	assert_stderr "certstore: <stdout>: No space left on device"
}

@test "cert-expiring: usage errors, a missing store, --help, /dev/full" {
	usage=$USAGE
	run_split -0 cert-expiring --help
	assert_output "$usage"
	run_split -2 cert-expiring -s "$STORE" --days 0
	assert_stderr "cert-expiring: --days: want a number of days from 1 to 3650
$usage"
	run_split -2 cert-expiring -s "$STORE" -n 2027-01-01
	assert_stderr "cert-expiring: --now: want an RFC 3339 time such as 2027-01-31T00:00:00Z
$usage"
	run_split -2 cert-expiring -s "$STORE" -x 9999
	assert_stderr "cert-expiring: --park-days: want a number of days from 1 to 3650
$usage"
	run_split -2 cert-expiring -s "$STORE" extra
	assert_stderr "cert-expiring: unexpected argument: extra
$usage"
	for r in 0 0.0 1001 -1 x 1e3x; do
		run_split -2 cert-expiring -s "$STORE" --ari-rate "$r"
		assert_stderr "cert-expiring: --ari-rate: want requests per second, above 0 and at most 1000
$usage"
	done
	run_split -2 cert-expiring -s "$STORE" -m 0
	assert_stderr "cert-expiring: --ari-max: want a positive number
$usage"
	run_split -2 cert-expiring
	assert_stderr "cert-expiring: --store: missing (or set ACMEPIPE_STORE)"
	run_split -2 cert-expiring -s "$T/none"
	assert_stderr "cert-expiring: $T/none: No such file or directory"
	[[ ! -e $T/none ]] || fail "cert-expiring created the store"
	certstore -s "$STORE" add example.com
	# Runs that only look take no lease, so the last ones have a document.
	ACMEPIPE_STORE=$STORE run_split -0 cert-expiring --lease 0
	assert_json "$OUTPUT_FILE" '.identifiers == ["example.com"]'
	# The renewal-info settings are checked only with a directory.
	run_split -2 cert-expiring -s "$STORE" -d http://ca.example/dir
	assert_stderr "cert-expiring: directory must be an https URL: http://ca.example/dir"
	ACMEPIPE_DIRECTORY=https://ca.example/dir run_split -2 cert-expiring -s "$STORE" -T 0
	assert_stderr "cert-expiring: --http-timeout: want a number of seconds: 0"
	ACMEPIPE_DIRECTORY=https://ca.example/dir run_split -2 cert-expiring -s "$STORE" -C "$T/none.pem"
	assert_stderr "cert-expiring: ca bundle $T/none.pem: No such file or directory"
	run_split -0 cert-expiring -s "$STORE" -T 0 -C "$T/none.pem" -R 0.5 -m 1 -L 0
	[[ -w /dev/full ]] || skip "no /dev/full"
	run_split -2 sh -c 'cert-expiring -s "$1" >/dev/full' sh "$STORE"
	assert_stderr "cert-expiring: <stdout>: No space left on device"
	run_split -2 sh -c 'cert-expiring -s "$1" -r >/dev/full' sh "$STORE"
	assert_stderr "cert-expiring: <stdout>: No space left on device"
}

@test "unreadable metadata: named on stderr, exit 1, the other names still emitted" {
	certstore -s "$STORE" add good.example bad.example worse.example
	# file layout: metadata no command would write, put straight into
	# meta/.
	echo 'not json' >"$STORE/meta/bad.example.json"
	jq '.notAfter = "soon"' "$STORE/meta/worse.example.json" >"$T/m"
	mv "$T/m" "$STORE/meta/worse.example.json"
	# Only to look: no lease, so that the last run emits it again.
	run_split -1 cert-expiring -s "$STORE" --lease 0
	assert_equal "$(firsts)" "good.example " documents
	assert_equal "$(sort <<<"$stderr")" "cert-expiring: bad.example: metadata: not a JSON object
cert-expiring: worse.example: metadata: notAfter is not an RFC 3339 time" stderr
	run_split -1 cert-expiring -s "$STORE" -r
	assert_json "$OUTPUT_FILE" '.managed == 1'
	run_split -1 certstore -s "$STORE" list
	assert_equal "$stderr" "certstore: bad.example: metadata: not a JSON object"
	assert_line_count 2
	# Temporary files of writes in progress are not names.
	# file layout: a temporary file as the files backend names them.
	: >"$STORE/meta/.x.example.json.AbC123"
	run_split -1 cert-expiring -s "$STORE"
	assert_equal "$(firsts)" "good.example " documents
}

@test "without renewal information (no directory, or -A) nor leases (--lease 0, -r, -n), cert-expiring never writes to the store" {
	put example.com www.example.com
	failed "{\"type\":\"${ACME}caa\",\"time\":\"2026-01-01T00:00:00Z\"}" example.com
	certstore -s "$STORE" add new.example
	# file layout: no file of the store is created, removed or changed
	# (size, time), and a read-only store is enough.
	find "$STORE" -printf '%p %s %T@ %m\n' | sort >"$T/before"
	chmod -R a-w "$STORE"
	for opts in "-L 0" "-r" "--lease 0 -I" "-n 2030-01-01T00:00:00Z" "-L 0 -b 1/2 -I -l 1 -e 30 -x 1" \
		"-L 0 -A -d https://127.0.0.1:1/dir" "-r -d https://127.0.0.1:1/dir"; do
		# shellcheck disable=SC2086 # word splitting wanted
		cert-expiring -s "$STORE" $opts >/dev/null || (($? == 1))
	done
	chmod -R u+w "$STORE"
	find "$STORE" -printf '%p %s %T@ %m\n' | sort >"$T/after"
	sed -i 's/ [0-9]*$//' "$T/before" "$T/after" # modes changed by chmod
	cmp "$T/before" "$T/after"
}

@test "more due than fits in memory: sorted through temporary files; none writable: exit 2, nothing written" {
	((EUID == 0)) || skip "needs root to put a full tmpfs over /tmp"
	command -v unshare >/dev/null || skip "needs unshare(1)"
	# 8,000 names whose certificate expired, far more than the 2 MiB of
	# due documents cert-expiring keeps in memory.
	# file layout: metadata files written straight into meta/; 8,000
	# certificates through certstore-put would take too long.
	mkdir -p "$STORE/meta" "$STORE/certs" "$STORE/private"
	awk -v dir="$STORE/meta" 'BEGIN {
		for (i = 0; i < 8000; i++) {
			n = sprintf("h%05d.spill.example", i)
			printf "{\"name\":\"%s\",\"identifiers\":[\"%s\"],\"notBefore\":\"2020-01-01T00:00:00Z\",\"notAfter\":\"2020-%02d-%02dT00:00:00Z\",\"serial\":\"%x\",\"issuer\":\"Test\",\"stored\":\"2020-01-01T00:00:00Z\",\"failCount\":0}\n",
			    n, n, 2 + i % 10, 1 + i % 28, i + 1 > (dir "/" n ".json")
			close(dir "/" n ".json")
		}
	}'
	# No leases: 8,000 claims are not what this is about.
	run_split -0 cert-expiring -A -L 0 -s "$STORE"
	assert_line_count 8000
	# Most urgent first across the runs: by expiry (ties by due time).
	assert_equal "$(jq -r .previous.notAfter "$OUTPUT_FILE" | sort -c 2>&1)" "" "order"
	assert_equal "$(jq -r '.identifiers[0]' "$OUTPUT_FILE" | sort -u | wc -l)" 8000 "distinct names"
	# /tmp full (a private mount, this command only): the documents that
	# did not fit have nowhere to go. The mount hides all of /tmp, where
	# the store and even the checkout may be: the store is reached
	# through the working directory, the command through a descriptor
	# opened before.
	run_split -2 unshare -m bash -c 'exec 3<"$2" && cd "$1" &&
		mount -t tmpfs -o size=16k tmpfs /tmp &&
		exec -a cert-expiring /proc/self/fd/3 -A -L 0 -s .' _ "$STORE" "$(command -v cert-expiring)"
	assert_output ''
	assert_stderr "cert-expiring: temporary file: No space left on device"
}

@test "the EXAMPLES of cert-expiring(1) and certstore(1) run" {
	pebble_start
	export WEBROOT=$T/www KEYS=$T/keys
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
	export ACMEPIPE_ACCOUNT_KEY=$T/account.key ACMEPIPE_KEY_DIR=$T/keys
	dir=$T/ex
	mkdir -p "$dir"
	for page in certstore cert-expiring; do
		{
			echo 'set -e -o pipefail'
			n=0
			while IFS= read -r -d '' ex; do
				# A shared store's examples run in tests/46-pg.bats.
				[[ $ex == *postgresql://* ]] && continue
				# certstore chain needs a certificate: run last.
				if [[ $ex == *" chain "* ]]; then
					printf '%s\n' "$ex" >"$dir/chain.sh"
					continue
				fi
				n=$((n + 1))
				printf 'echo "## %s example %d" >&2\n%s\n' "$page" "$n" "$ex"
			done < <(man_examples "$REPO_ROOT/man/$page.1")
		} >"$dir/$page.sh"
	done
	assert_equal "$(grep -c '^echo "## ' "$dir/certstore.sh")" 5 "certstore examples"
	assert_equal "$(grep -c '^echo "## ' "$dir/cert-expiring.sh")" 8 "cert-expiring examples"
	# certstore(1): add two names, list, unpark, remove one.
	run_split -0 bash -c "cd '$dir' && bash certstore.sh"
	assert_equal "$(sort <<<"$output")" "example.com
www.example.com" "names without a certificate"
	assert_equal "$(store_names "$STORE")" example.com "names left"
	# cert-expiring(1): issue example.com through Pebble, then the others.
	run_split -0 bash -c "cd '$dir' && bash cert-expiring.sh"
	assert_json "$dir/renewed.jsonl" '.stored.names == ["example.com"]
		and .renewal.reason == "new"'
	assert_json "$(meta example.com)" '.serial and (.issuer | test("Pebble"))'
	assert_json "$dir/summary.json" '.managed == 1 and .expired == 0'
	[[ -f $dir/due.jsonl ]]
	assert_equal "$(served_serial example.com | tr 'A-F' 'a-f' | sed 's/^0*//')" \
		"$(meta example.com serial | sed 's/^0*//')" "served serial"
	# certstore(1)'s chain example, now that example.com has one.
	run_split -0 bash -c "cd '$dir' && bash chain.sh"
	assert_equal "$output" "notAfter=$(date -u -d "$(meta example.com notAfter)" '+%b %e %H:%M:%S %Y GMT')" "chain example"
}
