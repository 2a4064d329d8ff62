#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's
# shellcheck disable=SC2154 # stderr: set by run_split
#
# Pre-flight (issue 14): acme-order's --points-to and --caa-identity ask
# DNS (challtestsrv, through --resolver) before the CA, so a name that
# has left the operator costs Pebble neither an order nor a validation.
# Pebble's log names each validation ("Pulled a task ... Value:NAME") and
# counts each order ("Added order"): both are what the CA saw.
#
# Every name resolves to 127.0.0.1 (challtestsrv's default) where nginx
# answers http-01, unless a test points it elsewhere: 127.0.0.2, where
# nothing listens, is "elsewhere" for --points-to 127.0.0.1/32.

load helpers/common

setup_file() {
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	export ACMEPIPE_WEBROOT=$WEBROOT ACMEPIPE_STORE=$STORE
	export ACMEPIPE_RESOLVER=127.0.0.1:$CHALLTESTSRV_DNS_PORT
	# --self-check fetches where Pebble validates (nginx).
	export ACMEPIPE_SELF_CHECK_PORT=$HTTP01_PORT
	# The operator's edge host, which customers CNAME to.
	challtest_add_a edge.test 127.0.0.1
	challtest_add_a away.test 127.0.0.2
}

setup() { T=$BATS_TEST_TMPDIR; }

doc() { jq -cn '{identifiers: $ARGS.positional}' --args "$@"; }

# lines TEXT: how many lines TEXT has (0 when empty).
lines() {
	if [[ -z $1 ]]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

POINTS=127.0.0.1/32,edge.test

# validations NAME...: how many validations Pebble began for the names.
validations() {
	local n=0 name
	for name in "$@"; do
		n=$((n + $(grep -cF "Value:\"$name\"}" "$TEST_TMP/pebble/pebble.log" || true)))
	done
	echo "$n"
}

# orders: how many orders Pebble has made so far.
orders() { grep -c 'Added order' "$TEST_TMP/pebble/pebble.log" || true; }

# pipeline [ORDER-OPTION...]: the four steps, documents on stdin.
pipeline() {
	acme-order "$@" | acme-challenge | acme-finalize | certstore-put
}

@test "points-to: an address elsewhere fails before any order, the detail says what was found" {
	challtest_add_a left.example.com 198.51.100.7
	local before
	before=$(orders)
	run_split -1 acme-order --points-to 203.0.113.0/24 <<<"$(doc left.example.com)"
	assert_json "$output" '.error == {step: "acme-order",
	    type: "urn:acmepipe:error:notPointed", identifier: "left.example.com",
	    detail: "left.example.com: A 198.51.100.7, not in 203.0.113.0/24",
	    time: .error.time} and (has("order") | not)'
	assert_stderr "acme-order: <stdin>:1: left.example.com: urn:acmepipe:error:notPointed: left.example.com: A 198.51.100.7, not in 203.0.113.0/24"
	assert_equal "$(orders)" "$before" "orders"
}

@test "points-to: in the network, or a CNAME to the listed host, is ordered" {
	challtest_set_cname shop.customer.test edge.test
	run_split -0 acme-order --points-to "$POINTS" <<<"$(doc in.customer.test)
$(doc shop.customer.test)"
	assert_json "$output" '.order.status == "pending"'
	assert_equal "$(lines "$output")" 2 "documents"
}

@test "points-to: a CNAME elsewhere and an AAAA outside fail, with the chain" {
	challtest_set_cname gone.customer.test away.test
	challtest_add_aaaa six.customer.test 2001:db8::1
	run_split -1 acme-order --points-to "$POINTS" <<<"$(doc gone.customer.test)
$(doc six.customer.test)"
	assert_json "$(head -n 1 <<<"$output")" '.error.type == "urn:acmepipe:error:notPointed"
	    and .error.detail == "gone.customer.test: CNAME away.test, A 127.0.0.2, not in 127.0.0.1/32, edge.test"'
	assert_json "$(tail -n 1 <<<"$output")" '.error.detail == "six.customer.test: AAAA 2001:db8::1, not in 127.0.0.1/32, edge.test"'
	# The same AAAA inside an IPv6 network passes.
	run_split -0 acme-order --points-to "127.0.0.1,2001:db8::/32" <<<"$(doc six.customer.test)"
	assert_json "$output" '.order.status == "pending"'
}

@test "points-to: no address at all is not pointed" {
	# Without a default answer challtestsrv has no A for unknown names.
	challtest_default_ipv4 ''
	run_split -1 acme-order --points-to "$POINTS" <<<"$(doc nothing.customer.test)"
	challtest_default_ipv4 127.0.0.1
	assert_json "$output" '.error.type == "urn:acmepipe:error:notPointed"
	    and .error.detail == "nothing.customer.test: no A or AAAA record, not in 127.0.0.1/32, edge.test"'
}

@test "resolver: SERVFAIL is a transient resolver error, not notPointed" {
	challtest_servfail broken.customer.test
	run_split -1 acme-order --points-to "$POINTS" <<<"$(doc broken.customer.test)"
	assert_json "$output" '.error.type == "urn:acmepipe:error:resolver"
	    and .error.detail == "A broken.customer.test: SERVFAIL from \($r)"' --arg r "$ACMEPIPE_RESOLVER"
	assert_equal "$(validations broken.customer.test)" 0 "validations"
}

@test "resolver: one that does not answer fails each document, one line each; after 2 it is not asked" {
	local port
	# A free UDP port: nothing answers there (no DNS server, no ICMP
	# error that ldns would see on its unconnected socket): a timeout.
	port=$(free_ports 1)
	# One in flight: the documents ask one after the other. With more,
	# those in flight ask at once and all wait for their own answer.
	run_split -1 acme-order --in-flight 1 --resolver "127.0.0.1:$port" --points-to "$POINTS" <<<"$(doc a.customer.test)
$(doc b.customer.test)
$(doc c.customer.test)"
	assert_json "$(head -n 1 <<<"$output")" '.error.type == "urn:acmepipe:error:resolver"
	    and (.error.detail | startswith("A a.customer.test: no answer from 127.0.0.1:\($p): "))' --arg p "$port"
	assert_json "$(sed -n 2p <<<"$output")" '.error.detail | startswith("A b.customer.test: no answer from")'
	assert_json "$(tail -n 1 <<<"$output")" '.error.type == "urn:acmepipe:error:resolver"
	    and .error.detail == "A c.customer.test: not asked: 127.0.0.1:\($p) gave no answer to 2 queries in a row"' --arg p "$port"
	assert_equal "$(lines "$stderr")" 3 "stderr lines"
}

@test "bad input: --points-to and --resolver that do not parse exit 2, one line" {
	local bad
	for bad in 203.0.113.0/33 203.0.113.5/24 300.1.2.3 2001:db8::/129 '*.edge.test' 'a..b'; do
		run_split -2 acme-order --points-to "$bad" </dev/null
		assert_equal "$(lines "$stderr")" 1 "stderr lines"
		assert_contains "$stderr" "acme-order: --points-to: "
		assert_contains "$stderr" "$bad"
	done
	run_split -2 acme-order --points-to 10.0.0.0/8 --resolver dns.example:53 </dev/null
	assert_stderr "acme-order: --resolver: want ADDR or ADDR:PORT ([ADDR]:PORT for IPv6), not dns.example:53"
	ACMEPIPE_RESOLVER=127.0.0.1:0 run_split -2 acme-order --caa-identity letsencrypt.org </dev/null
	assert_stderr "acme-order: --resolver: want ADDR or ADDR:PORT ([ADDR]:PORT for IPv6), not 127.0.0.1:0"
	ACMEPIPE_POINTS_TO=10.0.0.0/x run_split -2 acme-order </dev/null
	assert_stderr "acme-order: --points-to: not an address or network (ADDR/PREFIX, no host bits): 10.0.0.0/x"
}

@test "caa: a record naming another CA fails before any order, with the records" {
	challtest_add_caa other.customer.test issue other-ca.example
	challtest_add_caa le.customer.test issue "letsencrypt.org; validationmethods=http-01"
	local before
	before=$(orders)
	run_split -1 acme-order --caa-identity letsencrypt.org <<<"$(doc www.other.customer.test)
$(doc le.customer.test)"
	assert_json "$(head -n 1 <<<"$output")" '.error.type == "urn:acmepipe:error:caa"
	    and .error.identifier == "www.other.customer.test"
	    and .error.detail == "www.other.customer.test: CAA at other.customer.test: 0 issue \"other-ca.example\"; letsencrypt.org may not issue"'
	assert_json "$(tail -n 1 <<<"$output")" '.order.status == "pending"'
	assert_equal "$(orders)" "$((before + 1))" "orders"
	# From the environment, as the option.
	ACMEPIPE_CAA_IDENTITY=letsencrypt.org run_split -1 acme-order <<<"$(doc other.customer.test)"
	assert_json "$output" '.error.type == "urn:acmepipe:error:caa"'
}

@test "caa: issuewild decides for a wildcard, issue for the name" {
	challtest_add_caa wild.customer.test issuewild ";"
	run_split -1 acme-order --caa-identity letsencrypt.org <<<"$(doc '*.wild.customer.test')"
	assert_json "$output" '.error.type == "urn:acmepipe:error:caa"'
	run_split -0 acme-order --caa-identity letsencrypt.org <<<"$(doc wild.customer.test)"
	assert_json "$output" '.order.status == "pending"'
}

# The fleet of the issue: 300 names, 250 that point here (10 of them by a
# CNAME to edge.test) and 50 that do not: 30 with an address elsewhere,
# 10 with a CNAME elsewhere, 5 answering SERVFAIL, 5 whose CAA names
# another CA. Good names go 10 to a document, bad ones 1.
@test "fleet: every good name issued, no order and no validation for the 50 bad ones; without --points-to the CA sees them" {
	local i before bad=() good=() with without
	for i in $(seq 1 240); do good+=("f$i.fleet.test"); done
	for i in $(seq 1 10); do
		challtest_set_cname "c$i.fleet.test" edge.test
		good+=("c$i.fleet.test")
		challtest_set_cname "x$i.fleet.test" away.test
		bad+=("x$i.fleet.test")
	done
	for i in $(seq 1 30); do
		challtest_add_a "a$i.fleet.test" 127.0.0.2
		bad+=("a$i.fleet.test")
	done
	for i in $(seq 1 5); do
		challtest_servfail "s$i.fleet.test"
		challtest_add_caa "k$i.fleet.test" issue other-ca.example
		bad+=("s$i.fleet.test" "k$i.fleet.test")
	done
	((${#good[@]} == 250 && ${#bad[@]} == 50))
	{
		printf '%s\n' "${good[@]}" | xargs -n 10 | while read -r -a names; do doc "${names[@]}"; done
		for i in "${bad[@]}"; do doc "$i"; done
	} >"$T/fleet.jsonl"
	assert_equal "$(wc -l <"$T/fleet.jsonl")" 75 "documents"
	before=$(orders)
	run_split -1 pipeline --points-to "$POINTS" --caa-identity letsencrypt.org <"$T/fleet.jsonl"
	printf '%s\n' "$output" >"$T/out.jsonl"
	# Every good name has its certificate, every bad document its reason.
	assert_equal "$(jq -r 'select(.error == null) | .identifiers[]' "$T/out.jsonl" | sort)" \
		"$(printf '%s\n' "${good[@]}" | sort)" "issued"
	for i in "${good[@]}"; do [[ -f $STORE/certs/$i.pem ]] || fail "$i: no certificate"; done
	assert_json "$(jq -c 'select(.error) | .error' "$T/out.jsonl" | jq -sc 'group_by(.type) | map({(.[0].type): length}) | add')" \
	    '. == {"urn:acmepipe:error:notPointed": 40, "urn:acmepipe:error:resolver": 5, "urn:acmepipe:error:caa": 5}'
	# Each bad one with the type and detail its DNS calls for.
	assert_json "$(jq -sc --arg r "$ACMEPIPE_RESOLVER" '[.[] | select(.error) | .error
	    | .identifier as $n | ($n[0:1]) as $k
	    | {type, detail, want: (
		if $k == "x" then ["notPointed", "\($n): CNAME away.test, A 127.0.0.2, not in 127.0.0.1/32, edge.test"]
		elif $k == "a" then ["notPointed", "\($n): A 127.0.0.2, not in 127.0.0.1/32, edge.test"]
		elif $k == "s" then ["resolver", "A \($n): SERVFAIL from \($r)"]
		elif $k == "k" then ["caa", "\($n): CAA at \($n): 0 issue \"other-ca.example\"; letsencrypt.org may not issue"]
		else ["?", "?"] end)}
	    | select(.type != "urn:acmepipe:error:\(.want[0])" or .detail != .want[1])]' "$T/out.jsonl")" \
	    '. == []'
	# The CA: one order per good document, none for the bad ones, and no
	# validation of a bad name.
	assert_equal "$(($(orders) - before))" 25 "orders"
	with=$(validations "${bad[@]}")
	assert_equal "$with" 0 "validations of the bad names with --points-to"
	# The same bad names without the checks: the CA tries every one.
	for i in "${bad[@]}"; do doc "$i"; done >"$T/bad.jsonl"
	run_split -1 pipeline <"$T/bad.jsonl"
	without=$(validations "${bad[@]}")
	echo "# validations of the 50 bad names: $with with --points-to, $without without" >&3
	assert_equal "$without" 50 "validations of the bad names without --points-to"
	# Pebble checks no CAA: those 5 are issued; the other 45 fail at the CA.
	assert_equal "$(jq -c 'select(.error)' <<<"$output" | wc -l)" 45 "failed at the CA"
}

@test "renewal: a name fixed after pointing elsewhere is issued on the run after its hourly backoff; --summary counts it apart" {
	local now S=$T/store
	# A store of its own: the fleet's names are not this test's.
	export ACMEPIPE_STORE=$S
	challtest_add_a moved.customer.test 127.0.0.2
	certstore -s "$S" add moved.customer.test
	run_split -0 cert-expiring -s "$S" --lease 0
	run_split -1 pipeline --points-to "$POINTS" <<<"$output"
	assert_json "$output" '.error.type == "urn:acmepipe:error:notPointed"'
	assert_equal "$(store_meta "$S" moved.customer.test .failCount)" 1 "failCount"
	run_split -0 cert-expiring -s "$S" --summary
	assert_json "$output" '.preflight == 1 and .failing == 0'
	now=$(date +%s)
	# Within the hour nothing is emitted: not the 1 minute of a CA failure.
	run_split -0 cert-expiring -s "$S" -n "$(date -u -d "@$((now + 50 * 60))" +%FT%TZ)"
	assert_output ''
	run_split -0 cert-expiring -s "$S" -n "$(date -u -d "@$((now + 67 * 60))" +%FT%TZ)"
	assert_json "$output" '.identifiers == ["moved.customer.test"] and .renewal.reason == "retry"'
	# The customer fixes the record; the next run issues.
	challtest_clear_a moved.customer.test
	run_split -0 pipeline --points-to "$POINTS" <<<"$output"
	assert_json "$output" '.certificate != null and .error == null'
	[[ -f $S/certs/moved.customer.test.pem ]] || fail "no certificate stored"
	assert_equal "$(store_meta "$S" moved.customer.test .failCount)" 0 "failCount"
}

# A hook that serves http-01 from the webroot nginx serves, but for
# wrong.customer.test writes the wrong content.
wrong_hook() {
	cat >"$T/hook" <<-HOOK
		#!/bin/sh
		f=$WEBROOT/.well-known/acme-challenge/\$4
		case \$1 in
		begin)
			mkdir -p "\${f%/*}"
			if [ "\$3" = wrong.customer.test ]; then echo nope >"\$f"; else printf %s "\$5" >"\$f"; fi ;;
		*) rm -f "\$f" ;;
		esac
	HOOK
	chmod +x "$T/hook"
}

@test "self-check: a wrong answer fails before the CA is asked, the authorization is deactivated" {
	wrong_hook
	acme-order <<<"$(doc wrong.customer.test)
$(doc right.customer.test)" >"$T/ordered"
	run_split -1 acme-challenge --self-check -H "$T/hook" <"$T/ordered"
	assert_json "$(head -n 1 <<<"$output")" '.error.type == "urn:acmepipe:error:selfCheck"
	    and .error.identifier == "wrong.customer.test"
	    and .error.detail == "wrong.customer.test: http://wrong.customer.test:\($p)/.well-known/acme-challenge/\(.authorizations[0].challenges[] | select(.type == "http-01") | .token) (127.0.0.1) answered 4 bytes that are not the key authorization"
	    and .authorizations[0].status == "deactivated"' --arg p "$HTTP01_PORT"
	assert_json "$(tail -n 1 <<<"$output")" '.order.status == "ready"'
	assert_equal "$(validations wrong.customer.test)" 0 "validations of the wrong name"
	assert_equal "$(validations right.customer.test)" 1 "validations of the right name"
	# The check went through nginx, as the CA would.
	assert_equal "$(grep -c 'acmepipe-self-check' "$TEST_TMP/nginx/access.log")" 2 "self-check requests"
	# Without it the CA finds the wrong answer itself.
	acme-order <<<"$(doc wrong.customer.test)" | acme-challenge -H "$T/hook" >/dev/null || true
	assert_equal "$(validations wrong.customer.test)" 1 "validations without --self-check"
}

@test "self-check: from ACMEPIPE_SELF_CHECK; nothing listening is no answer; bad settings exit 2" {
	challtest_add_a nobody.customer.test 127.0.0.2
	run_split -1 env ACMEPIPE_SELF_CHECK=1 acme-challenge <<<"$(acme-order <<<"$(doc nobody.customer.test)")"
	assert_json "$output" '.error.type == "urn:acmepipe:error:selfCheck"
	    and (.error.detail | test("^nobody.customer.test: http://nobody.customer.test:[0-9]+/.well-known/acme-challenge/[^ ]+ \\(127.0.0.2\\): Couldn.t connect to server$"))
	    and .authorizations[0].status == "deactivated"'
	assert_equal "$(validations nobody.customer.test)" 0 "validations"
	ACMEPIPE_SELF_CHECK_PORT=http run_split -2 acme-challenge --self-check </dev/null
	assert_stderr "acme-challenge: ACMEPIPE_SELF_CHECK_PORT: not a port: http"
	run_split -2 acme-challenge --self-check --resolver 1.2.3 </dev/null
	assert_stderr "acme-challenge: --resolver: want ADDR or ADDR:PORT ([ADDR]:PORT for IPv6), not 1.2.3"
}
