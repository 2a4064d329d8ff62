#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's or bash -c's
# shellcheck disable=SC2154 # stderr, stderr_lines: set by run_split
# shellcheck disable=SC2030,SC2031 # exports inside a test stay in that test
#
# IP address certificates (RFC 8738, issue 13): an address in a document
# is an "ip" identifier in the order and an iPAddress in the CSR and the
# certificate; Pebble validates it with http-01 by connecting to the
# address itself (nginx listens on 127.0.0.1 and, where the machine has
# it, ::1); the store keeps it under its canonical text, and nginx serves
# it to a client that connects to the address and sends no SNI.

load helpers/common

setup_file() {
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	mkdir -p "$WEBROOT"
	# IPv6 loopback where there is one: then nginx also listens on ::1.
	if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128'; then
		export HAVE_IPV6=1 NGINX_IPV6=1
	fi
	nginx_start "$WEBROOT" "$STORE"
}

setup() {
	T=$BATS_TEST_TMPDIR
	command -v acme-finalize >/dev/null || fail "build first: make"
}

doc() {
	jq -cn '{version: 1, identifiers: $ARGS.positional}' --args "$@"
}

root_pem() {
	ROOT=$T/root.pem
	pebble_root >"$ROOT" || fail "cannot fetch Pebble's root"
}

# nosni ADDR [s_client options]: a handshake with nginx at ADDR (the TLS
# port), without SNI, as a client connecting to an address does.
nosni() {
	local addr=$1 host
	shift
	host=$addr
	[[ $addr != *:* ]] || host="[$addr]"
	timeout 10 openssl s_client -connect "$host:$NGINX_TLS_PORT" \
		-noservername "$@" </dev/null 2>/dev/null
}

# sans PEM: the certificate's subjectAltName line, as openssl prints it.
sans() {
	openssl x509 -noout -ext subjectAltName <<<"$1" | sed -n 2p | sed 's/^ *//'
}

@test "127.0.0.1: ip identifier in the order, iPAddress in the certificate, stored and served without SNI, verified" {
	local pem
	run_split -0 acme-issue -w "$WEBROOT" -s "$STORE" 127.0.0.1
	assert_stderr ''
	assert_json "$OUTPUT_FILE" '(.error | not) and .identifiers == ["127.0.0.1"]
		and .stored.names == ["127.0.0.1"]
		and .authorizations[0].identifier == "127.0.0.1"'
	# The file name is the address's text.
	[[ -f $STORE/certs/127.0.0.1.pem ]] || fail "no certs/127.0.0.1.pem"
	assert_json "$(store_meta "$STORE" 127.0.0.1)" '.name == "127.0.0.1"
		and .identifiers == ["127.0.0.1"] and .serial != null'
	root_pem
	pem=$(nosni 127.0.0.1 | openssl x509) || fail "nothing served without SNI"
	assert_equal "$(sans "$pem")" "IP Address:127.0.0.1" "SAN"
	nosni 127.0.0.1 -CAfile "$ROOT" -verify_ip 127.0.0.1 -verify_return_error \
		>/dev/null || fail "served chain does not verify for 127.0.0.1"
}

@test "::1: canonical text from any spelling, issued, stored as certs/::1.pem, served to a client of ::1 without SNI" {
	[[ -n ${HAVE_IPV6:-} ]] || skip "this machine has no IPv6 loopback"
	local pem
	# A long spelling becomes the RFC 5952 text before any request.
	run_split -0 acme-issue -w "$WEBROOT" -s "$STORE" 0:0:0:0:0:0:0:0001
	assert_stderr ''
	assert_json "$OUTPUT_FILE" '(.error | not) and .identifiers == ["::1"]
		and .stored.names == ["::1"]'
	[[ -f $STORE/certs/::1.pem ]] || fail "no certs/::1.pem"
	root_pem
	pem=$(nosni ::1 | openssl x509) || fail "nothing served to ::1 without SNI"
	assert_equal "$(sans "$pem")" "IP Address:0:0:0:0:0:0:0:1" "SAN"
	nosni ::1 -CAfile "$ROOT" -verify_ip ::1 -verify_return_error >/dev/null ||
		fail "served chain does not verify for ::1"
	# The IPv4 address keeps its own certificate.
	pem=$(nosni 127.0.0.1 | openssl x509) || true
	[[ -z $pem || $(sans "$pem") == "IP Address:127.0.0.1" ]] ||
		fail "127.0.0.1 served $(sans "$pem")"
}

@test "a name and an address in one certificate: CN is the name, both SANs, both served" {
	local n=ipmix.example.com pem
	run_split -0 acme-issue -w "$WEBROOT" -s "$STORE" "$n" 127.0.0.1
	assert_json "$OUTPUT_FILE" '(.error | not) and .stored.names == [$n, "127.0.0.1"]' --arg n "$n"
	pem=$(_served "$n" | openssl x509) || fail "$n not served"
	assert_equal "$(sans "$pem")" "DNS:$n, IP Address:127.0.0.1" "SAN"
	assert_equal "$(openssl x509 -noout -subject -nameopt RFC2253 <<<"$pem")" "subject=CN=$n" "subject"
	# The store gives the address this certificate now: no SNI serves it.
	assert_equal "$(nosni 127.0.0.1 | openssl x509 -noout -serial)" \
		"$(openssl x509 -noout -serial <<<"$pem")" "served to 127.0.0.1"
}

@test "refused before any request: dns-01 for an address, a wildcard of an address, forms that are not addresses" {
	local a
	# dns-01: acme-challenge refuses the authorization before it asks
	# anything; the hook is never called.
	doc 127.0.0.1 >"$T/in.jsonl"
	printf '#!/bin/sh\necho "$@" >>"%s"\n' "$T/called" >"$T/hook"
	chmod +x "$T/hook"
	run_split -1 bash -c 'acme-order <"$1" | acme-challenge -t dns-01 -H "$2"' \
		_ "$T/in.jsonl" "$T/hook"
	assert_json "$OUTPUT_FILE" '.error.step == "acme-challenge"
		and .error.type == "urn:ietf:params:acme:error:unsupportedIdentifier"
		and .error.identifier == "127.0.0.1"
		and (.error.detail | contains("http-01 or tls-alpn-01, not dns-01"))
		and .authorizations[0].status == "pending"'
	[[ ! -e $T/called ]] || fail "the hook was run: $(<"$T/called")"
	# A wildcard of an address and non-canonical IPv4 forms: the
	# document fails in acme-order, which sends no request for it (the
	# directory is an address where nothing listens).
	for a in '*.127.0.0.1' 127.000.0.1 127.1 '::ffff:127.0.0.1' 'fe80::1%lo' '[::1]'; do
		doc "$a" >"$T/in.jsonl"
		run_split -1 acme-order -d https://127.0.0.1:1/dir <"$T/in.jsonl"
		assert_json "$OUTPUT_FILE" '.error.step == "acme-order"
			and .error.type == "urn:acmepipe:error:identifier"
			and .error.identifier == $a' --arg a "$a"
	done
}

@test "--points-to and --self-check: an address is checked as itself, with no DNS" {
	export ACMEPIPE_SELF_CHECK_PORT=$HTTP01_PORT
	# Not one of ours: refused, no order.
	doc 127.0.0.1 >"$T/in.jsonl"
	run_split -1 acme-order --points-to 10.0.0.0/8 <"$T/in.jsonl"
	assert_json "$OUTPUT_FILE" '.error.type == "urn:acmepipe:error:notPointed"
		and .error.detail == "127.0.0.1: an address not in 10.0.0.0/8"
		and (.order | not)'
	# Ours: ordered, self-checked over http://127.0.0.1:PORT/ and issued.
	run_split -0 bash -c 'acme-order --points-to 127.0.0.0/8 --caa-identity pebble.test <"$1" |
		acme-challenge --self-check -w "$WEBROOT" | acme-finalize -s "$STORE" |
		certstore-put -s "$STORE"' _ "$T/in.jsonl"
	assert_json "$OUTPUT_FILE" '(.error | not) and .stored.names == ["127.0.0.1"]'
	# The self-check fails like the CA would where nothing answers.
	mkdir -p "$T/otherroot"
	run_split -1 bash -c 'acme-order <"$1" | acme-challenge --self-check -w "$2"' \
		_ "$T/in.jsonl" "$T/otherroot"
	assert_json "$OUTPUT_FILE" '.error.type == "urn:acmepipe:error:selfCheck"
		and (.error.detail | startswith("127.0.0.1: http://127.0.0.1:"))'
}
