#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# Prometheus metrics: cert-expiring --metrics (common/metrics.c) over a
# store that certstore-put filled from a throwaway openssl CA, with --now
# moving the clock; acme-renew -X after real runs against Pebble (the
# last tests); the example alerting rules under promtool test rules; and
# acme-renew's progress line on a pseudo-terminal (script(1)), nothing of
# it when stderr is not one.

load helpers/common

ACME=urn:ietf:params:acme:error:

setup() {
	T=$BATS_TEST_TMPDIR
	STORE=$T/store
	command -v cert-expiring >/dev/null || fail "build first: make"
	test_ca "$T" 400
}

# Servers started by a test (renew_setup) stop with it: the next test's
# pebble_start would leave them running.
teardown() {
	harness_teardown
	nginx_stop
	pebble_stop
}

# promtool_or_skip: promtool (Debian's prometheus) must be there under CI.
promtool_or_skip() {
	command -v promtool >/dev/null && return 0
	[[ ${CI:-} != true ]] || fail "promtool missing (apt-get install prometheus)"
	skip "no promtool (apt-get install prometheus)"
}

# promcheck FILE: promtool check metrics says nothing about FILE.
promcheck() {
	promtool_or_skip
	run_split -0 promtool check metrics <"$1"
	assert_output ''
	assert_stderr ''
}

# value FILE METRIC [LABELS]: the sample's value ("" when absent).
value() {
	local k=$2
	[[ -z ${3:-} ]] || k+="{$3}"
	K=$k awk '$1 == ENVIRON["K"] { print $2 }' "$1"
}

# secs TIME / at SECONDS: RFC 3339 and seconds since the epoch.
secs() { date -u -d "$1" +%s; }
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# put NAME...: certificates valid $DAYS (90) days; failed ERROR NAME...
put() { cert_put "$T" "$STORE" "${DAYS:-90}" "$@"; }
failed() { cert_failed "$STORE" "$@"; }

# fleet: a store of every kind of name; sets NOW (seconds), 2 days and 10
# minutes ahead, when the counts are known:
#   h90 (90 days), in30 (20), in7 (6), in1 (3: a day left), exp (1:
#   expired), failing and pre (failed at the CA and pre-flight), parked
#   (2 days: expired; failing for 8 days with caa), paused (the CA paused
#   the account), new (no certificate): 10 managed; due: new, exp, in1.
fleet() {
	local t0
	t0=$(date +%s)
	NOW=$((t0 + 2 * 86400 + 600))
	put h90.example
	DAYS=20 put in30.example
	DAYS=6 put in7.example
	DAYS=3 put in1.example
	DAYS=1 put exp.example
	put failing.example pre.example paused.example
	DAYS=2 put parked.example
	failed "{\"type\":\"${ACME}connection\",\"time\":\"$(at "$t0")\"}" failing.example
	failed "{\"type\":\"urn:acmepipe:error:notPointed\",\"time\":\"$(at "$t0")\"}" pre.example
	failed "{\"type\":\"${ACME}caa\",\"time\":\"$(at $((t0 - 8 * 86400)))\"}" parked.example
	failed "{\"type\":\"${ACME}caa\",\"time\":\"$(at "$t0")\"}" parked.example
	failed "$(jq -cn --arg t "$(at "$t0")" '{type: "'"$ACME"'rateLimited",
		detail: "Your account is temporarily prevented from requesting certificates for paused.example. Please visit: https://portal.example/unpause?jwt=x", time: $t}')" paused.example
	certstore -s "$STORE" add new.example
}

PAUSED="cert-expiring: paused.example: the CA paused the account for this name: unpause at https://portal.example/unpause?jwt=x"

@test "--metrics: managed, due, failing, pre-flight, parked, paused, expired; expiring within 1, 7 and 30 days; the soonest expiry" {
	fleet
	run_split -0 cert-expiring -s "$STORE" -n "$(at "$NOW")" -X - -L 0
	assert_stderr "$PAUSED"
	cp "$OUTPUT_FILE" "$T/m"
	for kv in names=10 names_due=3 names_failing=1 names_preflight_failing=1 \
		names_parked=1 names_paused=1 names_expired=2 names_unreadable=0; do
		assert_equal "$(value "$T/m" "acmepipe_${kv%=*}")" "${kv#*=}" "${kv%=*}"
	done
	assert_equal "$(value "$T/m" acmepipe_names_expiring 'within="1d"')" 1 "within 1d"
	assert_equal "$(value "$T/m" acmepipe_names_expiring 'within="7d"')" 2 "within 7d"
	assert_equal "$(value "$T/m" acmepipe_names_expiring 'within="30d"')" 3 "within 30d"
	assert_equal "$(value "$T/m" acmepipe_expiring_last_run_timestamp_seconds)" "$NOW" "run time"
	# The soonest: exp's; parked names aside (parked's is sooner than in1's).
	assert_equal "$(value "$T/m" acmepipe_certificate_soonest_expiry_timestamp_seconds)" \
		"$(secs "$(store_meta "$STORE" exp.example .notAfter)")" soonest
	certstore -s "$STORE" remove exp.example
	cert-expiring -s "$STORE" -n "$(at "$NOW")" -X "$T/m" -L 0 >/dev/null 2>&1
	assert_equal "$(value "$T/m" acmepipe_certificate_soonest_expiry_timestamp_seconds)" \
		"$(secs "$(store_meta "$STORE" in1.example .notAfter)")" "soonest, parked aside"
	# The same counts as --summary.
	run_split -1 cert-expiring -s "$STORE" -n "$(at "$NOW")" -r
	assert_json_eq "$OUTPUT_FILE" '{"managed":9,"due":2,"expiring7d":2,"failing":1,"preflight":1,
		"parked":1,"expired":1,"paused":[{"name":"paused.example","unpause":"https://portal.example/unpause?jwt=x"}]}'
	for kv in names=9 names_due=2 names_failing=1 names_preflight_failing=1 \
		names_parked=1 names_paused=1 names_expired=1; do
		assert_equal "$(value "$T/m" "acmepipe_${kv%=*}")" "${kv#*=}" "${kv%=*}, as --summary"
	done
	assert_equal "$(value "$T/m" acmepipe_names_expiring 'within="7d"')" 2 "within 7d, as --summary"
	# Every metric has its HELP and TYPE, and promtool finds nothing wrong.
	assert_equal "$(grep -c '^# TYPE acmepipe_[a-z_]* gauge$' "$T/m")" \
		"$(grep -c '^# HELP acmepipe_' "$T/m")" "HELP and TYPE"
	promcheck "$T/m"
}

@test "--metrics FILE: in the same run as the documents or the summary, which stay as they were" {
	fleet
	now=$(at "$NOW")
	run_split -0 cert-expiring -s "$STORE" -n "$now"
	cp "$OUTPUT_FILE" "$T/docs"
	cp "$STDERR_FILE" "$T/err"
	mkdir "$T/prom"
	run_split -0 cert-expiring -s "$STORE" -n "$now" --metrics "$T/prom/a.prom"
	cmp "$OUTPUT_FILE" "$T/docs"
	cmp "$STDERR_FILE" "$T/err"
	run_split -0 cert-expiring -s "$STORE" -n "$now" -X - -L 0
	cmp "$OUTPUT_FILE" "$T/prom/a.prom"
	# The file: mode 0644 (node_exporter runs as another user), alone.
	assert_equal "$(stat -c %a "$T/prom/a.prom")" 644 mode
	assert_equal "$(ls -A "$T/prom")" a.prom "files left"
	run_split -1 cert-expiring -s "$STORE" -n "$now" -r
	cp "$OUTPUT_FILE" "$T/sum"
	run_split -1 cert-expiring -s "$STORE" -n "$now" -r -X "$T/prom/b.prom"
	cmp "$OUTPUT_FILE" "$T/sum"
	cmp "$T/prom/a.prom" "$T/prom/b.prom"
	# A real run: the documents are claimed and come out; the metrics
	# count the names claimed as any other.
	run_split -0 cert-expiring -s "$STORE" -X "$T/prom/c.prom"
	assert_line_count 1 # new.example, today
	assert_equal "$(value "$T/prom/c.prom" acmepipe_names)" 10 managed
	run_split -0 cert-expiring -s "$STORE" -X "$T/prom/c.prom"
	assert_output '' # leased
	assert_equal "$(value "$T/prom/c.prom" acmepipe_names_due)" 1 "leased, still due"
}

@test "--metrics -: no documents, nothing claimed, exit 0 but for unreadable metadata" {
	fleet
	find "$STORE" -printf '%p %s %T@\n' | sort >"$T/before"
	# Expired and paused names: -r exits 1, the metrics run does not.
	run_split -0 cert-expiring -s "$STORE" -X -
	assert_contains "$output" "acmepipe_names_due 1"
	find "$STORE" -printf '%p %s %T@\n' | sort >"$T/after"
	cmp "$T/before" "$T/after"
	# file layout: metadata no command would write, into meta/.
	echo 'not json' >"$STORE/meta/bad.example.json"
	run_split -1 cert-expiring -s "$STORE" -X -
	assert_equal "$(value "$OUTPUT_FILE" acmepipe_names_unreadable)" 1 unreadable
	assert_equal "$(value "$OUTPUT_FILE" acmepipe_names)" 10 managed
	assert_equal "$(sort <<<"$stderr")" "cert-expiring: bad.example: metadata: not a JSON object
$PAUSED"
}

@test "--metrics-names: one expiry series a name with a certificate, only with the option; --shard labels every sample" {
	put b.example a.example
	DAYS=5 put c.example
	certstore -s "$STORE" add d.example
	run_split -0 cert-expiring -s "$STORE" -X -
	assert_equal "$(grep -c 'name=' "$OUTPUT_FILE")" 0 "without -Z"
	run_split -0 cert-expiring -s "$STORE" -X - --metrics-names
	grep '^acmepipe_certificate_expiry_timestamp_seconds{' "$OUTPUT_FILE" >"$T/names"
	for n in a.example b.example c.example; do
		echo "acmepipe_certificate_expiry_timestamp_seconds{name=\"$n\"} $(secs "$(store_meta "$STORE" "$n" .notAfter)")"
	done >"$T/want"
	cmp "$T/names" "$T/want"
	promcheck "$OUTPUT_FILE"
	# Shards: one file each, every sample labelled, the counts adding up.
	total=0
	for i in 1 2; do
		run_split -0 cert-expiring -s "$STORE" -b "$i/2" -Z -X "$T/s$i.prom" -L 0
		promcheck "$T/s$i.prom"
		assert_equal "$(grep -v '^#' "$T/s$i.prom" | grep -vc "{shard=\"$i/2\"[,}]")" 0 "unlabelled samples"
		total=$((total + $(value "$T/s$i.prom" acmepipe_names "shard=\"$i/2\"")))
	done
	assert_equal "$total" 4 "names over the shards"
	promtool_or_skip
	# Both files in one textfile directory: no series twice.
	cat "$T/s1.prom" "$T/s2.prom" | grep -v '^#' | cut -d' ' -f1 | sort | uniq -d >"$T/dups"
	assert_equal "$(cat "$T/dups")" "" "series in both shards"
}

@test "--metrics: usage errors; an unwritable file: exit 2, nothing emitted or claimed, the old file intact" {
	usage=$(cert-expiring -h)
	run_split -2 cert-expiring -s "$STORE" -Z
	assert_stderr "cert-expiring: --metrics-names: only with --metrics
$usage"
	run_split -2 cert-expiring -s "$STORE" -r -X -
	assert_stderr "cert-expiring: --metrics -: the summary has standard output
$usage"
	run_split -2 cert-expiring -s "$STORE" -X ''
	assert_stderr "cert-expiring: --metrics: want a file, or - for standard output
$usage"
	certstore -s "$STORE" add new.example
	run_split -2 cert-expiring -s "$STORE" -X "$T/none/m.prom"
	assert_output ''
	assert_stderr "cert-expiring: $T/none/m.prom: No such file or directory"
	assert_equal "$(store_meta "$STORE" new.example .lease)" null "lease"
	[[ -w /dev/full ]] || skip "no /dev/full"
	run_split -2 sh -c 'cert-expiring -s "$1" -X - >/dev/full' sh "$STORE"
	assert_stderr "cert-expiring: <stdout>: No space left on device"
	# A directory that cannot be written (read-only, as root is refused
	# nothing else): the old file stays, no temporary file is left.
	((EUID == 0)) || skip "needs root for a read-only bind mount"
	command -v unshare >/dev/null || skip "needs unshare(1)"
	mkdir "$T/prom"
	echo old >"$T/prom/m.prom"
	run_split -2 unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" &&
		exec cert-expiring -s "$2" -X "$1/m.prom"' sh "$T/prom" "$STORE"
	assert_output ''
	assert_stderr "cert-expiring: $T/prom/m.prom: Read-only file system"
	assert_equal "$(cat "$T/prom/m.prom")" old "old file"
	assert_equal "$(ls -A "$T/prom")" m.prom "files left"
	assert_equal "$(store_meta "$STORE" new.example .lease)" null "lease"
}

@test "unit: metrics_test (label escaping, order, shard label)" {
	[[ -x $REPO_ROOT/build/unit/metrics_test ]] || fail "build first: make"
	run_split -0 "$REPO_ROOT/build/unit/metrics_test"
	assert_output ''
	assert_stderr ''
}

@test "scripts/acmepipe-alerts.yml: promtool check rules and test rules" {
	promtool_or_skip
	run_split -0 promtool check rules "$REPO_ROOT/scripts/acmepipe-alerts.yml"
	run_split -0 sh -c 'cd "$1" && promtool test rules acmepipe-alerts.test.yml' sh "$REPO_ROOT/scripts"
	assert_contains "$output" "SUCCESS"
}

# The tests below run acme-renew against Pebble and nginx.

# renew_setup NAME...: Pebble, nginx for http-01, the names added.
renew_setup() {
	pebble_start
	export WEBROOT=$T/www ACMEPIPE_ACCOUNT_KEY=$T/account.key ACMEPIPE_AGREE_TOS=1
	mkdir -p "$WEBROOT" "$T/prom"
	nginx_start "$WEBROOT" "$STORE"
	certstore -s "$STORE" add "$@"
}

@test "acme-renew -X: due, renewed, failed, duration, success; a failed run recorded as failed" {
	renew_setup a.example b.example bad.example
	challtest_add_a bad.example 127.0.0.2 >/dev/null
	prom=$T/prom/acme-renew.prom
	t0=$(date +%s)
	run_split -1 acme-renew -j 2 -w "$WEBROOT" -s "$STORE" -X "$prom"
	t1=$(date +%s)
	challtest_clear_a bad.example >/dev/null
	assert_equal "${stderr_lines[-1]}" "acme-renew: 3 due, 2 renewed, 1 failed"
	assert_line_count 3
	promcheck "$prom"
	assert_equal "$(ls -A "$T/prom")" acme-renew.prom "files left"
	assert_equal "$(stat -c %a "$prom")" 644 mode
	r=acmepipe_renew_last_run
	assert_equal "$(value "$prom" ${r}_due) $(value "$prom" ${r}_renewed) $(value "$prom" ${r}_failed) $(value "$prom" ${r}_lost) $(value "$prom" ${r}_success)" \
		"3 2 1 0 0" "due renewed failed lost success"
	end=$(value "$prom" ${r}_timestamp_seconds)
	took=$(value "$prom" ${r}_duration_seconds)
	((end >= t0 && end <= t1)) || fail "ended $end, not within $t0..$t1"
	((took >= 0 && took <= t1 - t0)) || fail "took $took s of $((t1 - t0))"
	# Nothing due: a success.
	run_split -0 acme-renew -w "$WEBROOT" -s "$STORE" --metrics "$prom"
	assert_equal "$(value "$prom" ${r}_due) $(value "$prom" ${r}_success)" "0 1" "nothing due"
	# cert-expiring cannot run: a failure, recorded.
	run_split -2 acme-renew -w "$WEBROOT" -s "$T/none" -X "$prom"
	assert_equal "${stderr_lines[-1]}" "acme-renew: cert-expiring failed"
	assert_equal "$(value "$prom" ${r}_due) $(value "$prom" ${r}_success)" "0 0" "failed run"
	promcheck "$prom"
	# Its own metrics and cert-expiring's, side by side in one directory.
	run_split -0 acme-renew -w "$WEBROOT" -s "$STORE" -X "$prom" -- -X "$T/prom/acmepipe.prom"
	assert_equal "$(value "$T/prom/acmepipe.prom" acmepipe_names)" 3 "cert-expiring's"
	assert_equal "$(ls -A "$T/prom" | tr '\n' ' ')" "acme-renew.prom acmepipe.prom " "files"
	# An unwritable file: the renewals still run, exit 2, said.
	certstore -s "$STORE" add c.example
	run_split -2 acme-renew -w "$WEBROOT" -s "$STORE" -X "$T/none/r.prom"
	assert_equal "$stderr" "acme-renew: 1 due, 1 renewed, 0 failed
acme-renew: $T/none/r.prom: No such file or directory"
	run_split -2 acme-renew -X -
	assert_stderr "acme-renew: -X wants a file: standard output has the documents"
}

@test "acme-renew: progress on a terminal; the same stderr as ever when it is not one; -q silences it" {
	renew_setup a.example b.example c.example
	# Not a terminal: only the summary line, byte for byte.
	run_split -0 acme-renew -j 1 -w "$WEBROOT" -s "$STORE"
	printf 'acme-renew: 3 due, 3 renewed, 0 failed\n' | cmp - "$STDERR_FILE"
	# A terminal (script(1) gives the run one): the progress line, then
	# the summary.
	command -v script >/dev/null || skip "no script(1) (bsdutils)"
	certstore -s "$STORE" add d.example e.example f.example
	script -qec "acme-renew -j 1 -w '$WEBROOT' -s '$STORE' >'$T/out'" \
		/dev/null </dev/null >"$T/tty"
	assert_line_count 3 "$T/out"
	grep -aq 'acme-renew: [0-9]/3 done, 0 failed, [0-9.]*/s' "$T/tty" ||
		fail "no progress line: $(od -c "$T/tty" | head -20)"
	# Erased before the summary: spaces over it, then the line.
	grep -aq $'\r *\racme-renew: 3 due, 3 renewed, 0 failed' "$T/tty" ||
		fail "not erased: $(od -c "$T/tty" | tail -8)"
	certstore -s "$STORE" add g.example h.example i.example
	script -qec "acme-renew -q -j 1 -w '$WEBROOT' -s '$STORE' >'$T/out'" \
		/dev/null </dev/null >"$T/tty"
	assert_equal "$(tr -d '\r' <"$T/tty")" "acme-renew: 3 due, 3 renewed, 0 failed" "-q"
}
