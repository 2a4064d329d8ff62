#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's or awk's
# shellcheck disable=SC2154 # stderr, stderr_lines: set by run_split
# shellcheck disable=SC2030,SC2031 # exports inside a test stay in that test
#
# Renewal at scale (issue 4, "Tests", first point): hostnames issued in
# parallel through the scripts against Pebble, 5% of them pointing where
# nothing listens, then renewed and parked, with nginx serving the store
# (scripts/nginx-acmepipe.conf, tests/helpers/nginx.bash).
#
# The cron path: `certstore add` every name, then scripts/acme-renew
# (cert-expiring | two long acme-issue -i pipelines, its default; through
# the test proxy, tests/helpers/acme-proxy.py). Each test, on a fresh store:
#   1. first issuance: documents in equal documents out, every valid name
#      stored and served (all of them checked with one curl, a sample
#      with openssl s_client), every invalid one recorded with the CA's
#      reason;
#   2. the next runs emit no invalid name before its backoff (1 minute
#      after the first failure), and all of them once it has passed;
#   3. parking after the documented default of 30 days of failures;
#   4. with --now about 4.5 years ahead (Pebble's certificates live 5
#      years) every valid certificate comes due and is renewed, new serial
#      served, while the parked names stay parked: not even attempted;
#   5. a name that points at us again is unparked and issued.
# Failures are recorded with the real clock (the errors' time), which
# --now does not move: a dry run cannot park (cert-expiring(1)). Step 3
# therefore ages the recorded failure history of the invalid names, as if
# the earlier attempts had been made days ago, between real acme-renew
# runs that fail against Pebble and record a new failure now.
#
# The 1,000-name test runs only with ACMEPIPE_SCALE=1 (make check-scale);
# the 40-name one, same steps and assertions, always. A third test issues
# 40 names with `xargs -P 8 acme-issue` instead (steps 1 and 2).
#
# Wall times (printed as "# ..." lines in the TAP output at each run),
# 2-core Debian 12 with Pebble 2.4 behind the proxy, 2026-12-03:
#   1,000 names: first issuance 17 s, renewal of the 950 at --now
#                +4.5 years 16 s, whole test 61 s
#   40 names:    first issuance 2 s, renewal 2.5 s, whole test 10 s
#   xargs -P 8 acme-issue, 40 names: 1.6 s

# Read before helpers/common drops every ACMEPIPE_* variable of the caller.
export SCALE_FULL=${SCALE_FULL:-${ACMEPIPE_SCALE:-0}}

load helpers/common

ACME=urn:ietf:params:acme:error:

setup_file() {
	pebble_start
	# acme-renew's two pipelines are two acme-orders: through the proxy,
	# whose gate keeps them out of Pebble 2.4's deadlock (acme-renew(1),
	# BUGS). No renewal information: renewal here comes from expiry.
	proxy_start
	proxy_ari off
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	# Pebble answers slowly with thousands of orders on a loaded machine:
	# a request's timeout here is about the machine, not the CA.
	export ACMEPIPE_HTTP_TIMEOUT=120
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
	export ROOT=$TEST_TMP/root.pem
	pebble_root >"$ROOT"
}

setup() {
	T=$BATS_TEST_TMPDIR
	command -v cert-expiring >/dev/null || fail "build first: make"
	# Each test has a store of its own, at the path nginx serves.
	rm -rf "$STORE"
}

# secs TIME / at SECONDS: RFC 3339 and seconds since the epoch.
secs() { date -u -d "$1" +%s; }
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# now_ms: wall clock in milliseconds; took_s MS: seconds since MS, "12.3".
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
took_s() {
	local d=$(($(now_ms) - $1))
	printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

# note TEXT: shown by bats in its output (TAP comment on fd 3).
note() { printf '# %s\n' "$*" >&3; }

# make_names N TAG: N hostnames hN.TAG.example, every 20th of them (5%)
# invalid: its A record points at 127.0.0.2, where nothing listens.
# Sorted lists in $T/names, $T/good and $T/bad; G and B their counts.
make_names() {
	local n=$1 tag=$2 i name
	: >"$T/good"
	: >"$T/bad"
	for ((i = 1; i <= n; i++)); do
		name=h$i.$tag.example
		if ((i % 20 == 7)); then
			echo "$name" >>"$T/bad"
			challtest_add_a "$name" 127.0.0.2 >/dev/null
		else
			echo "$name" >>"$T/good"
		fi
	done
	sort -o "$T/good" "$T/good"
	sort -o "$T/bad" "$T/bad"
	sort -m "$T/good" "$T/bad" >"$T/names"
	G=$(wc -l <"$T/good")
	B=$(wc -l <"$T/bad")
	((G + B == n && B == n / 20)) || fail "make_names: $G good, $B bad"
}

# firsts FILE: the first identifier of each document, in order.
firsts() { jq -r '.identifiers[0]' "$1"; }

# same_set FILE WANT WHAT: FILE's first identifiers, sorted, are the
# names of WANT (a sorted list, one name a line).
same_set() {
	local got want
	got=$(firsts "$1" | sort)
	want=$(<"$2")
	[[ $got == "$want" ]] && return 0
	fail "$3: the names differ (< wanted, > got):" \
		"$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | grep '^[<>]' | head -n 20)"
}

# only LIST [FILE]: the lines of FILE (stdin) whose first field is a name
# of LIST; except LIST [FILE]: the others.
only() { awk 'NR == FNR { l[$1]; next } $1 in l' "$1" "${2:--}"; }
except() { awk 'NR == FNR { l[$1]; next } !($1 in l)' "$1" "${2:--}"; }

# meta_all: the metadata of every managed name (one certstore list), one
# JSON line each.
meta_all() {
	certstore -s "$STORE" list | jq -c .
}

# serials: "name serial" for every managed name with a certificate.
serials() {
	meta_all | jq -r 'select(.serial) | "\(.name) \(.serial)"' | sort
}

# renew_run IN [ARG...]: scripts/acme-renew, its defaults (two long
# pipelines, 16 documents in flight in each step), with ARGs (cert-expiring's
# options after --), where IN holds the documents that cert-expiring
# emitted with the same options just before (documents in), without a
# lease (-L 0), so that acme-renew's own run claims them. Checks
# documents out: one per document in, same order; the names of
# $RENEW_BAD (default $T/bad) failed, with the CA's reason on stderr,
# the others stored; the summary line; exit 1 when one failed, else 0.
# Sets RUN_S to the wall time of acme-renew, in seconds.
renew_run() {
	local in=$1 bad=${RENEW_BAD:-$T/bad} ms n_in n_bad want=0
	shift
	n_in=$(wc -l <"$in")
	firsts "$in" | sort >"$T/in.names"
	only "$bad" "$T/in.names" >"$T/in.bad"
	except "$bad" "$T/in.names" >"$T/in.good"
	n_bad=$(wc -l <"$T/in.bad")
	((n_bad == 0)) || want=1
	ms=$(now_ms)
	run_split "-$want" acme-renew -w "$WEBROOT" -s "$STORE" "$@"
	RUN_S=$(took_s "$ms")
	cp "$OUTPUT_FILE" "$T/out.jsonl"
	cp "$STDERR_FILE" "$T/out.err"
	assert_no_private_key
	# Documents in equal documents out, in cert-expiring's order.
	assert_line_count "$n_in" "$T/out.jsonl"
	assert_equal "$(firsts "$T/out.jsonl")" "$(firsts "$in")" "documents out, in order"
	assert_equal "${stderr_lines[-1]}" \
		"acme-renew: $n_in due, $((n_in - n_bad)) renewed, $n_bad failed" "summary line"
	# Stored or failed, nothing else.
	if ((n_in > n_bad)); then
		jq -c 'select(.error | not)' "$T/out.jsonl" >"$T/out.good"
		assert_json "$T/out.good" '.stored.names == .identifiers
			and (.certificate.serial | type == "string")'
		same_set "$T/out.good" "$T/in.good" "stored"
	fi
	if ((n_bad > 0)); then
		jq -c 'select(.error)' "$T/out.jsonl" >"$T/out.bad"
		assert_json "$T/out.bad" '.error.step == "acme-challenge"
			and .error.type == $t and .error.identifier == .identifiers[0]
			and (.error.detail | contains("127.0.0.2") and contains("connection refused"))
			and (.stored | not)' --arg t "${ACME}connection"
		same_set "$T/out.bad" "$T/in.bad" "failed"
	fi
	# stderr: the CA's reason for each failed name, then the summary. The
	# line number is the document's in its batch.
	assert_equal "$(sed '$d' "$T/out.err" | sed 's/^\(acme-challenge: <stdin>:\)[0-9]*:/\11:/' | sort)" \
		"$(jq -r 'select(.error) |
		"acme-challenge: <stdin>:1: \(.error.identifier): \(.error.type): \(.error.detail)"' \
		"$T/out.jsonl" | sort)" "acme-challenge lines on stderr"
}

# check_store FAILS: every good name is managed, stored (certificate
# file, serial, no failure) under its own name; every bad one is managed
# without a certificate, with FAILS consecutive failures, the last one
# the CA's reason; nothing else is managed.
check_store() {
	local fails=$1 n bad
	bad=$(meta_all | jq -rn --rawfile good "$T/good" --rawfile bad "$T/bad" \
		--argjson fails "$fails" --arg t "${ACME}connection" '
		def set: split("\n") | map(select(. != "")) | map({(.): true}) | add // {};
		($good | set) as $g | ($bad | set) as $b | [inputs] as $m
		| INDEX($m[]; .name) as $by
		| ($m[] | select(($g[.name] or $b[.name]) | not) | "\(.name): managed, unknown"),
		  ($g | keys[] | . as $n | $by[$n] as $x
		   | if $x == null then "\($n): not managed"
		     elif ($x.serial | type) != "string" then "\($n): no serial"
		     elif $x.identifiers != [$n] then "\($n): identifiers \($x.identifiers)"
		     elif $x.failCount != 0 then "\($n): failCount \($x.failCount)"
		     else empty end),
		  ($b | keys[] | . as $n | $by[$n] as $x
		   | if $x == null then "\($n): not managed"
		     elif $x.serial then "\($n): has a certificate"
		     elif $x.failCount != $fails then "\($n): failCount \($x.failCount), not \($fails)"
		     elif $x.lastError.step != "acme-challenge" or $x.lastError.type != $t
		       or ($x.lastError.detail | contains("127.0.0.2") | not)
		       or $x.lastError.identifier != $n
		       then "\($n): lastError \($x.lastError)"
		     elif $x.failures[-1] != $x.lastError then "\($n): failures[-1] is not lastError"
		     else empty end)')
	[[ -z $bad ]] || fail "store:" "$(head -n 20 <<<"$bad")"
	# One certstore chain for all the good names (each a stored chain
	# with its own key), one for all the bad ones (each without).
	# shellcheck disable=SC2046 # one name a word
	bad=$(certstore -s "$STORE" chain $(<"$T/good") 2>&1 >/dev/null) ||
		fail "good names without a certificate:" "$(head -n 20 <<<"$bad")"
	# shellcheck disable=SC2046 # one name a word
	assert_equal "$(certstore -s "$STORE" chain $(<"$T/bad") 2>&1 >/dev/null | sort)" \
		"$(sed 's/.*/certstore: &: no certificate/' "$T/bad" | sort)" "bad names: no certificate"
}

# check_reasons OUT: the metadata of each name failed in OUT records
# exactly the error of its document: the CA's type and detail.
check_reasons() {
	local bad
	bad=$(meta_all | jq -rn --slurpfile out "$1" 'INDEX(inputs; .name) as $m
		| $out[] | select(.error) | select($m[.identifiers[0]].lastError != .error)
		| .identifiers[0]')
	[[ -z $bad ]] || fail "lastError is not the document's error:" "$bad"
}

# check_served: nginx serves each good name its stored certificate
# (serial of the metadata), verified up to Pebble's root for the name,
# and nothing for the bad names. All names in one curl run; then $SAMPLE
# good names again with openssl s_client (served_serial, served_verify),
# which takes about 0.4 s a name.
check_served() {
	local sample=${SAMPLE:-5} n s step i=0
	while read -r n; do
		printf 'url = "https://%s:%s/"\nresolve = "%s:%s:127.0.0.1"\noutput = "/dev/null"\n' \
			"$n" "$NGINX_TLS_PORT" "$n" "$NGINX_TLS_PORT"
	done <"$T/names" >"$T/curl.cfg"
	# %{certs}: the served chain, leaf first; then one line per name.
	curl -s --max-time 10 --cacert "$ROOT" -K "$T/curl.cfg" \
		-w '%{certs}@@ %{url} %{exitcode}\n' >"$T/served.raw" || true
	awk '/^Serial Number:/ && s == "" { s = tolower(substr($0, 15)) }
		/^@@ / { split($2, u, "[/:]"); print u[4], $3, (s == "" ? "-" : s); s = "" }' \
		"$T/served.raw" | sort >"$T/served"
	assert_equal "$(only "$T/good" "$T/served")" \
		"$(serials | awk '{ print $1, 0, $2 }' | only "$T/good")" "served good names"
	assert_equal "$(only "$T/bad" "$T/served" | awk '$2 == 0 || $3 != "-"')" '' \
		"served bad names"
	assert_equal "$(wc -l <"$T/served")" "$(wc -l <"$T/names")" "names tried"
	step=$((G / sample > 0 ? G / sample : 1))
	while read -r n s; do
		((i++ % step == 0)) || continue
		assert_equal "$(served_serial "$n" | tr 'A-F' 'a-f')" "$s" "$n: served serial (openssl)"
		served_verify "$n" "$ROOT" || fail "$n: served chain does not verify (openssl)"
	done < <(serials | only "$T/good")
}

# summary: cert-expiring --summary (the real clock), on $output.
summary() {
	run_split cert-expiring -s "$STORE" --summary
}

# check_backoff [added]: after one failure each, no bad name is emitted
# before the end of its backoff (1 minute and up to 10% of jitter after
# its failure), and each is emitted, as a retry, from then on, due since
# then ("added": names added with certstore, see below). Good names are
# never emitted: their certificates are new.
check_backoff() {
	local n l tb ta t
	# The next run, at once, with the real clock.
	tb=$(date +%s)
	run_split -0 cert-expiring -s "$STORE" -L 0
	ta=$(date +%s)
	assert_stderr ''
	if [[ -s $OUTPUT_FILE ]]; then
		assert_json "$OUTPUT_FILE" '.renewal.reason == "retry"'
	fi
	cp "$OUTPUT_FILE" "$T/next.jsonl"
	while read -r n; do
		l=$(secs "$(store_meta "$STORE" "$n" .lastError.time)")
		if grep -qF "[\"$n\"]" "$T/next.jsonl"; then
			((ta >= l + 60)) || fail "$n: emitted $((ta - l)) s after its failure"
		else
			((tb < l + 67)) || fail "$n: not emitted $((tb - l)) s after its failure"
		fi
	done <"$T/bad"
	assert_equal "$(firsts "$T/next.jsonl" | except "$T/bad")" '' "good names emitted"
	# Each bad name waits until 1 minute after its failure, plus up to
	# 10% of jitter: -v says until when.
	meta_all | jq -r 'select(.failCount > 0) | "\(.name) \(.lastError.time)"' |
		sort >"$T/failed-at"
	t=$(awk '{ print $2 }' "$T/failed-at" | sort | head -n 1)
	run_split -0 cert-expiring -v -s "$STORE" --now "$(at $(($(secs "$t") + 59)))"
	assert_output ''
	sed -n 's/^cert-expiring: \([^:]*\): failure 1, next attempt after \(.*\)$/\1 \2/p' \
		"$STDERR_FILE" | sort >"$T/next-at"
	assert_equal "$(cut -d ' ' -f 1 "$T/next-at")" "$(<"$T/bad")" "names held back (-v)"
	assert_line_count "$B" "$STDERR_FILE"
	assert_equal "$(join "$T/failed-at" "$T/next-at" | jq -rR 'split(" ")
		| ((.[2] | fromdateiso8601) - (.[1] | fromdateiso8601)) as $d
		| select($d < 60 or $d > 66) | "\(.[0]): failed \(.[1]), next \(.[2])"')" '' \
		"backoff after one failure"
	# Not a second before the first of those times; at the last of them,
	# each is due since its own time, as a retry.
	t=$(awk '{ print $2 }' "$T/next-at" | sort | head -n 1)
	run_split -0 cert-expiring -s "$STORE" --now "$(at $(($(secs "$t") - 1)))"
	assert_output ''
	t=$(awk '{ print $2 }' "$T/next-at" | sort | tail -n 1)
	run_split -0 cert-expiring -s "$STORE" --now "$t"
	jq -r '"\(.identifiers[0]) \(.renewal.due) \(.renewal.reason) \(.previous // "none")"' \
		"$OUTPUT_FILE" | sort >"$T/retry-at"
	if [[ ${1:-} == added ]]; then
		assert_equal "$(<"$T/retry-at")" "$(sed 's/$/ retry none/' "$T/next-at")" \
			"retries at the end of the backoff"
	else
		# Metadata made by certstore-put's failure record has no
		# "added": renewal.due is then the run's time, not the end of
		# the backoff (reported); not before it, at least.
		assert_equal "$(cut -d ' ' -f 1,3,4 "$T/retry-at")" \
			"$(sed 's/ .*/ retry none/' "$T/next-at")" "retries at the end of the backoff"
		assert_equal "$(join "$T/retry-at" "$T/next-at" | awk '$2 < $5')" '' \
			"retries due before the end of their backoff"
	fi
	# A few minutes after the last failure: all of them, and only them.
	l=$(meta_all | jq -rs 'map(.lastError.time // empty) | max')
	run_split -0 cert-expiring -s "$STORE" --now "$(at $(($(secs "$l") + 300)))"
	assert_line_count "$B"
	same_set "$OUTPUT_FILE" "$T/bad" "emitted a few minutes later"
	# For a monitor: failing, none parked, nothing expired (exit 0).
	summary
	assert_status 0
	assert_json "$output" '.managed == ($g + $b) and .failing == $b and .parked == 0
		and .expired == 0 and .expiring7d == 0 and .paused == []' \
		--argjson g "$G" --argjson b "$B"
}

# age_failures DAYS NAME...: the failure history of the names (firstFailure,
# lastError.time, failures[].time) moved DAYS days into the past, as if
# those attempts had been made then. What certstore-put wrote otherwise.
age_failures() {
	local s=$(($1 * 86400)) n f
	shift
	# file layout: no command sets metadata; meta/NAME.json is rewritten
	# in place, as the files backend lays it out.
	for n in "$@"; do
		f=$STORE/meta/$n.json
		jq -c --argjson s "$s" 'def back: fromdateiso8601 - $s | todateiso8601;
			.firstFailure |= back | .lastError.time |= back
			| .failures |= map(.time |= back)' "$f" >"$T/aged.json"
		cat "$T/aged.json" >"$f"
	done
}

# park: two more failed runs of the bad names, 29 then 31 days after their
# first failure (of the 30-day default): not parked after the first,
# parked after the second, and then left out of every run.
park() {
	local now t f
	local -a bads
	mapfile -t bads <"$T/bad"
	meta_all | jq -s 'map(select(.firstFailure) | {(.name): .firstFailure}) | add' >"$T/first.json"
	# Day 29: due again (the backoff after one failure has long passed).
	age_failures 29 "${bads[@]}"
	run_split -0 cert-expiring -s "$STORE" -L 0
	cp "$OUTPUT_FILE" "$T/due29.jsonl"
	assert_line_count "$B" "$T/due29.jsonl"
	assert_json "$T/due29.jsonl" '.renewal.reason == "retry"'
	renew_run "$T/due29.jsonl"
	check_store 2
	check_reasons "$T/out.jsonl"
	summary
	assert_json "$output" '.failing == $b and .parked == 0' --argjson b "$B"
	# Still retried after its backoff (10 minutes after a second failure).
	now=$(date +%s)
	run_split -0 cert-expiring -s "$STORE" --now "$(at $((now + 2 * 3600)))"
	same_set "$OUTPUT_FILE" "$T/bad" "retried on day 29"
	# Day 31: one more failure, 31 days after the first: parked.
	age_failures 2 "${bads[@]}"
	run_split -0 cert-expiring -s "$STORE" -L 0
	cp "$OUTPUT_FILE" "$T/due31.jsonl"
	assert_line_count "$B" "$T/due31.jsonl"
	renew_run "$T/due31.jsonl"
	check_store 3
	check_reasons "$T/out.jsonl"
	# The failures span 31 days, from the first one, now 31 days old.
	assert_json "$(meta_all | jq -c 'select(.failCount > 0)')" '
		($first[0][.name] | fromdateiso8601 - 31 * 86400 | todateiso8601) as $f
		| .firstFailure == $f and .failures[0].time == $f
		and (.lastError.time | fromdateiso8601) - ($f | fromdateiso8601) >= 31 * 86400' \
		--slurpfile first "$T/first.json"
	# Parked: no run emits them, neither now nor later.
	now=$(date +%s)
	for t in "" "$(at $((now + 86400)))" "$(at $((now + 90 * 86400)))"; do
		run_split -0 cert-expiring -s "$STORE" -v ${t:+--now "$t"}
		assert_output ''
		assert_equal "$(sort "$STDERR_FILE")" "$(meta_all | jq -r 'select(.failCount > 0) |
			"cert-expiring: \(.name): parked: failing since \(.firstFailure)"' | sort)" \
			"-v ${t:-now}"
	done
	summary
	assert_status 0
	assert_json "$output" '.managed == ($g + $b) and .due == 0 and .failing == 0
		and .parked == $b and .expired == 0' --argjson g "$G" --argjson b "$B"
	# Unless asked for (after the day's backoff), or with a longer -x.
	run_split -0 cert-expiring -s "$STORE" --include-parked --now "$(at $((now + 2 * 86400)))"
	same_set "$OUTPUT_FILE" "$T/bad" "--include-parked"
	assert_json "$OUTPUT_FILE" '.renewal.reason == "retry" and .renewal.parked == true'
	run_split -0 cert-expiring -s "$STORE" --park-days 60 --now "$(at $((now + 2 * 86400)))"
	same_set "$OUTPUT_FILE" "$T/bad" "--park-days 60"
	# The metadata as it is now, to show that nothing touches it.
	certstore -s "$STORE" list "${bads[@]}" >"$T/parked.jsonl"
}

# renew_far: --now about 4.5 years after issuance, when every certificate
# is due (Pebble's live 5 years; any shorter lifetime is due as well):
# the good names are renewed, new serials stored and served; the parked
# ones are not attempted. Sets RENEW_S.
renew_far() {
	local nb far n
	serials >"$T/serials.old"
	nb=$(meta_all | jq -rs 'map(.notBefore // empty) | max')
	far=$(at $(($(secs "$nb") + 1643 * 86400)))
	run_split -0 cert-expiring -s "$STORE" --now "$far"
	assert_stderr ''
	cp "$OUTPUT_FILE" "$T/due-far.jsonl"
	assert_line_count "$G" "$T/due-far.jsonl"
	same_set "$T/due-far.jsonl" "$T/good" "due at $far"
	# Each says which certificate it replaces.
	assert_equal "$(jq -r '"\(.identifiers[0]) \(.previous.serial)"' "$T/due-far.jsonl" | sort)" \
		"$(<"$T/serials.old")" "previous serials"
	assert_json "$T/due-far.jsonl" '.renewal.reason == "expiring"
		and (.previous.certID | type == "string")'
	renew_run "$T/due-far.jsonl" -- --now "$far"
	RENEW_S=$RUN_S
	check_store 3
	serials >"$T/serials.new"
	assert_equal "$(join "$T/serials.old" "$T/serials.new" | awk '$2 == $3')" '' \
		"serials not renewed"
	assert_equal "$(jq -r '"\(.identifiers[0]) \(.certificate.serial)"' "$T/out.jsonl" | sort)" \
		"$(<"$T/serials.new")" "stored serials"
	check_served
	# The parked names stay parked: not attempted, metadata untouched.
	# shellcheck disable=SC2046 # one name a word
	n=$(diff "$T/parked.jsonl" <(certstore -s "$STORE" list $(<"$T/bad"))) ||
		fail "metadata changed:" "$(head -n 20 <<<"$n")"
	summary
	assert_status 0
	assert_json "$output" '.managed == ($g + $b) and .due == 0 and .failing == 0
		and .parked == $b and .expired == 0' --argjson g "$G" --argjson b "$B"
}

# unpark_one: the first bad name points at us again; unparked, it is
# issued at the next run, and the others stay parked.
unpark_one() {
	local n
	n=$(head -n 1 "$T/bad")
	challtest_clear_a "$n" >/dev/null
	except <(echo "$n") "$T/bad" >"$T/bad.rest"
	run_split -0 certstore -s "$STORE" unpark "$n"
	run_split -0 cert-expiring -s "$STORE" -L 0
	cp "$OUTPUT_FILE" "$T/unparked.jsonl"
	assert_equal "$(firsts "$T/unparked.jsonl")" "$n" "emitted after unpark"
	RENEW_BAD=$T/bad.rest renew_run "$T/unparked.jsonl"
	assert_json "$(store_meta "$STORE" "$n")" '.failCount == 0 and (.serial | type == "string")'
	assert_equal "$(served_serial "$n" | tr 'A-F' 'a-f')" \
		"$(store_meta "$STORE" "$n" .serial)" "$n: served serial"
	summary
	assert_json "$output" '.parked == $b - 1 and .failing == 0' --argjson b "$B"
}

# scale N TAG: the whole scenario with N names.
scale() {
	local n=$1 tag=$2 ms all issue
	all=$(now_ms)
	make_names "$n" "$tag"
	# The cron path: names added, then acme-renew issues what is due.
	# shellcheck disable=SC2046 # one name a word
	run_split -0 certstore -s "$STORE" add $(<"$T/names")
	assert_stderr ''
	run_split -0 cert-expiring -s "$STORE" -L 0
	assert_stderr ''
	cp "$OUTPUT_FILE" "$T/due-new.jsonl"
	assert_line_count "$n" "$T/due-new.jsonl"
	assert_json "$T/due-new.jsonl" '.renewal.reason == "new" and (.previous | not)'
	same_set "$T/due-new.jsonl" "$T/names" "due for first issuance"
	ms=$(now_ms)
	renew_run "$T/due-new.jsonl"
	issue=$RUN_S
	check_store 1
	check_reasons "$T/out.jsonl"
	check_served
	note "$n names, $B invalid: first issuance (acme-renew) $issue s"
	check_backoff added
	park
	renew_far
	note "$n names: renewal at --now +4.5 years ($G due) $RENEW_S s"
	unpark_one
	note "$n names: whole test $(took_s "$all") s"
}

@test "40 hostnames, 2 invalid: issued, served, backed off, parked, renewed" {
	scale 40 small
}

@test "xargs -P 8 acme-issue, 40 hostnames, 2 invalid: stored, served, recorded, backed off" {
	local ms
	make_names 40 direct
	ms=$(now_ms)
	# As issue 3 has it: xargs -P 8 -n 1 acme-issue <domains.txt. xargs
	# exits 123 when an acme-issue exited 1.
	run_split -123 xargs -P 8 -n 1 acme-issue -w "$WEBROOT" -s "$STORE" <"$T/names"
	note "40 names, xargs -P 8 acme-issue: $(took_s "$ms") s"
	assert_no_private_key
	# One document out per name, whatever the order.
	assert_line_count 40
	same_set "$OUTPUT_FILE" "$T/names" "documents out"
	cp "$OUTPUT_FILE" "$T/out.jsonl"
	jq -c 'select(.error)' "$T/out.jsonl" >"$T/out.bad"
	same_set "$T/out.bad" "$T/bad" "failed"
	assert_json "$T/out.bad" '.error.step == "acme-challenge" and .error.type == $t
		and (.error.detail | contains("127.0.0.2"))' --arg t "${ACME}connection"
	assert_equal "$(sort "$STDERR_FILE")" "$(jq -r '"acme-challenge: <stdin>:1: \(.error.identifier): \(.error.type): \(.error.detail)"' \
		"$T/out.bad" | sort)" "stderr"
	check_store 1
	check_reasons "$T/out.jsonl"
	check_served
	check_backoff
}

@test "acme-renew -n: batches of documents keep cert-expiring's order; a bad -n is a usage error" {
	local s=$T/store i k bad=b5.batch.example
	for i in 1 2 3 4 5 6 7; do
		echo "b$i.batch.example"
	done >"$T/names"
	# shellcheck disable=SC2046 # one name a word
	run_split -0 certstore -s "$s" add $(<"$T/names")
	cert-expiring -s "$s" -L 0 >"$T/due.jsonl"
	assert_line_count 7 "$T/due.jsonl"
	challtest_add_a "$bad" 127.0.0.2 >/dev/null
	# 7 documents, 2 pipelines, batches of at most 3: lines 1-3, 4-6, 7.
	# The failing document's diagnostic gives its line in its batch.
	k=$(firsts "$T/due.jsonl" | grep -nx "$bad" | cut -d: -f1)
	(((k - 1) % 3 != 0)) || fail "$bad starts a batch: line 1 proves nothing"
	run_split -1 acme-renew -j 2 -n 3 -w "$WEBROOT" -s "$s"
	challtest_clear_a "$bad" >/dev/null
	assert_equal "$(firsts "$OUTPUT_FILE")" "$(firsts "$T/due.jsonl")" "documents out, in order"
	assert_json "$OUTPUT_FILE" '(.error == null and .stored.names == .identifiers)
		or (.identifiers[0] == $b and .error.step == "acme-challenge")' --arg b "$bad"
	assert_contains "$stderr" "acme-challenge: <stdin>:$(((k - 1) % 3 + 1)): $bad: "
	assert_equal "${stderr_lines[-1]}" "acme-renew: 7 due, 6 renewed, 1 failed" "summary line"
	for v in 0 x ''; do
		run_split -2 acme-renew -n "$v" -w "$WEBROOT" -s "$s"
		assert_stderr "acme-renew: -n wants a positive number: $v"
		assert_output ''
	done
}

# Last, so that the always-run tests above never meet a Pebble that holds
# thousands of orders.
@test "1,000 hostnames, 50 invalid, acme-renew's defaults (ACMEPIPE_SCALE=1, make check-scale)" {
	[[ $SCALE_FULL == 1 ]] ||
		skip "takes minutes; run with ACMEPIPE_SCALE=1 (make check-scale)"
	SAMPLE=20 scale 1000 full
}
