#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's
#
# Serving from the store with nginx's Lua module (issue 16):
# scripts/nginx-acmepipe-lua.conf and scripts/lua/acmepipe/serve.lua, run
# by Debian's nginx with libnginx-mod-http-lua (tests/helpers/nginx.bash,
# NGINX_SITE). Certificates come from Pebble where the test is about what
# clients verify, from a throwaway openssl CA where it is about the lookup.
# tests/helpers/sni-probe sends the SNI names no TLS client sends.

load helpers/common

setup_file() {
	pebble_start
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	export NGINX_SITE=nginx-acmepipe-lua.conf
}

setup() {
	T=$BATS_TEST_TMPDIR
	S=$T/store
	W=$T/www
	mkdir -p "$W"
	test_ca "$T" 30
	# One nginx per test, in the file's directory: each test reads its own log.
	rm -f "$TEST_TMP/nginx/error.log"
}

teardown() {
	nginx_stop
	harness_teardown
}

# put P NAME...: the test CA's certificate P for the names, stored.
put() {
	leaf "$1" "${@:2}"
	certstore-put -s "$S" < <(doc "$1" "${@:2}") >/dev/null
}

# hex STRING: STRING's bytes in hex, as sni-probe reads names.
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }

# probe NAME...: sni-probe's answer for each name, one line each.
probe() {
	local n
	for n in "$@"; do
		hex "$n"
		echo
	done | "$HARNESS_DIR/sni-probe" "$NGINX_TLS_PORT"
}

# nosni: the serial served, in lower case, to a client that sends no SNI.
nosni() {
	local s
	s=$(served_serial '') || return 1
	echo "${s,,}"
}

@test "lua: 50 names issued by Pebble, each served by its SNI name and verified; upper case served" {
	nginx_start "$W" "$S"
	for i in $(seq 1 50); do
		jq -cn --arg n "site$i.example.com" '{version: 1, identifiers: [$n]}'
	done >"$T/in.jsonl"
	acme-order <"$T/in.jsonl" | acme-challenge -w "$W" | acme-finalize -s "$S" |
		certstore-put -s "$S" >"$T/out.jsonl" || fail "issuance failed: $(jq -c .error "$T/out.jsonl" | sort | uniq -c)"
	pebble_root >"$T/root.pem"
	for i in $(seq 1 50); do
		n=site$i.example.com
		served_verify "$n" "$T/root.pem" || fail "$n: not served or not verified"
		s=$(served_serial "$n" | tr 'A-F' 'a-f')
		assert_equal "$s" "$(store_meta "$S" "$n" .serial)" "$n: served serial"
	done
	assert_equal "$(served_serial SITE7.Example.COM)" "$(served_serial site7.example.com)" "upper case SNI"
}

@test "lua: a wildcard serves the names one label below it; a name's own certificate wins" {
	put w '*.wild.example'
	put o own.wild.example
	nginx_start "$W" "$S"
	assert_equal "$(served_serial a.wild.example | tr 'A-F' 'a-f')" "$(leaf_serial w)" "a.wild.example"
	assert_equal "$(served_serial own.wild.example | tr 'A-F' 'a-f')" "$(leaf_serial o)" "own.wild.example"
	assert_equal "$(probe b.a.wild.example wild.example)" $'refused\nrefused' "two labels below, and the parent"
}

@test "lua: no SNI serves the certificate of the local address, and fails where there is none" {
	# unknown_fresh=0: the address is looked up again once its file exists.
	NGINX_LUA_SET="unknown_fresh=0" nginx_start "$W" "$S"
	! nosni >/dev/null || fail "no SNI, no certificate for 127.0.0.1: served"
	# The store does not issue addresses yet: the file a front end would
	# find, as acmepipe-store(5) names it, is written by hand.
	test_cert "$T" a 30 127.0.0.1 # a DNS SAN: nothing here verifies it
	mkdir -p "$S/certs"
	cat "$T/a.pem" "$T/a.key" >"$S/certs/127.0.0.1.pem"
	assert_equal "$(nosni)" "$(leaf_serial a)" "no SNI"
}

@test "lua: a reissued certificate is served within the freshness time, by the same nginx" {
	put a fresh.example
	NGINX_LUA_SET="fresh=2" nginx_start "$W" "$S"
	assert_equal "$(served_serial fresh.example | tr 'A-F' 'a-f')" "$(leaf_serial a)" "first"
	before=$(nginx_stamp)
	put b fresh.example
	start=$(date +%s%N)
	until [[ $(served_serial fresh.example | tr 'A-F' 'a-f') == "$(leaf_serial b)" ]]; do
		(($(date +%s%N) - start < 4000000000)) || fail "the new certificate not served within 4 s (fresh 2 s)"
		sleep 0.2
	done
	assert_equal "$(nginx_stamp)" "$before" "nginx PID and start"
	! grep -E 'signal|reconfiguring' "$TEST_TMP/nginx/error.log" || fail "nginx was signalled"
}

@test "lua: a certificate replaced 400 times while served, read at every handshake: no handshake fails" {
	put a churn.example
	leaf b churn.example
	cat "$T/a.pem" "$T/a.key" >"$T/1.pem"
	cat "$T/b.pem" "$T/b.key" >"$T/2.pem"
	# fresh=0: every handshake reads the file, as often as it can change.
	NGINX_LUA_SET="fresh=0" nginx_start "$W" "$S"
	(for k in $(seq 1 400); do
		cp "$T/$((k % 2 + 1)).pem" "$S/certs/.churn" && mv "$S/certs/.churn" "$S/certs/churn.example.pem"
	done) &
	churn=$!
	handshakes=0
	while kill -0 "$churn" 2>/dev/null; do
		served_serial churn.example >/dev/null || fail "handshake $handshakes failed: $(tail -n 3 "$TEST_TMP/nginx/error.log")"
		handshakes=$((handshakes + 1))
	done
	wait "$churn"
	((handshakes > 5)) || fail "only $handshakes handshakes during the churn"
	! grep -F '[error]' "$TEST_TMP/nginx/error.log" || fail "errors logged"
}

@test "lua: SNI names that are no host names, and 1,000 unknown names: each refused, nginx up, the log bounded" {
	put a good.example
	nginx_start "$W" "$S"
	pid=$(<"$TEST_TMP/nginx/harness.pid")
	long=$(printf 'a%.0s' $(seq 1 300))
	mid=$(printf 'b%.0s' $(seq 1 250)).example # under 255: OpenSSL passes it on
	before=$(stat -c %s "$TEST_TMP/nginx/error.log")
	# The names reach the Lua code in hex: a NUL byte included.
	out=$(for n in 2e2e2f78 2e2e 612f62 "$(hex "$long")" "$(hex "$mid")" \
		676f6f6400 676f6f642e6578616d706c6500 "$(hex good.example)"; do echo "$n"; done |
		"$HARNESS_DIR/sni-probe" "$NGINX_TLS_PORT")
	assert_equal "$out" $'refused\nrefused\nrefused\nrefused\nrefused\nrefused\nrefused\nserved' "the odd names, then good.example"
	for i in $(seq 1 1000); do echo "r$RANDOM$i.example"; done >"$T/names"
	probe $(<"$T/names") >"$T/answers"
	assert_equal "$(sort "$T/answers" | uniq -c | tr -s ' ')" " 1000 refused" "1,000 unknown names"
	proc_alive "$pid" || fail "nginx died"
	assert_equal "$(served_serial good.example | tr 'A-F' 'a-f')" "$(leaf_serial a)" "good.example after"
	# The log: at most two lines per refused handshake (nginx's and ours,
	# at info level), none of them long.
	added=$(tail -c +"$((before + 1))" "$TEST_TMP/nginx/error.log")
	lines=$(grep -c . <<<"$added")
	((lines <= 2 * 1008 + 10)) || fail "$lines log lines for 1,008 handshakes"
	! awk 'length > 400' <<<"$added" | grep . || fail "a long log line"
	# nginx itself logs a malformed ClientHello at crit level ("bad
	# extension"): at most one such line for each of the 7 odd names.
	grep -E '\[(error|crit|alert|emerg)\]' <<<"$added" >"$T/errors" || true
	! grep -v 'SSL_do_handshake() failed' "$T/errors" || fail "an error logged"
	(($(grep -c . "$T/errors") <= 7)) || fail "$(grep -c . "$T/errors") error lines"
	# A name asked for again within unknown_fresh is not looked up again.
	before=$(grep -c 'no certificate for' "$TEST_TMP/nginx/error.log")
	probe $(head -n 20 "$T/names") >/dev/null
	assert_equal "$(grep -c 'no certificate for' "$TEST_TMP/nginx/error.log")" "$before" "lookups of known-unknown names"
}

@test "lua: a file that cannot be read or parsed fails its handshake with one error line; the other names are served" {
	put a good.example
	nginx_start "$W" "$S"
	echo garbage >"$S/certs/garbage.example.pem"
	cp "$T/a.pem" "$S/certs/nokey.example.pem"
	mkdir "$S/certs/dir.example.pem"
	assert_equal "$(probe garbage.example nokey.example dir.example good.example)" \
		$'refused\nrefused\nrefused\nserved' "answers"
	grep -F '[error]' "$TEST_TMP/nginx/error.log" >"$T/errors" || true
	assert_equal "$(grep -c . "$T/errors")" 3 "error lines"
	grep -q 'garbage.example.pem: no certificate' "$T/errors" || fail "garbage: $(cat "$T/errors")"
	grep -q 'nokey.example.pem: no private key' "$T/errors" || fail "no key: $(cat "$T/errors")"
	grep -q 'dir.example.pem.*[Ii]s a directory' "$T/errors" || fail "directory: $(cat "$T/errors")"
	# Within unknown_fresh, asking again costs no second line.
	probe garbage.example >/dev/null
	assert_equal "$(grep -cF '[error]' "$TEST_TMP/nginx/error.log")" 3 "error lines after a retry"
}

@test "lua: a file whose private key is not its certificate's fails its handshake with one error line" {
	put a good.example
	leaf b other.example
	nginx_start "$W" "$S"
	cat "$T/a.pem" "$T/b.key" >"$S/certs/mismatch.example.pem"
	assert_equal "$(probe mismatch.example good.example)" $'refused\nserved' "answers"
	grep -F '[error]' "$TEST_TMP/nginx/error.log" >"$T/errors" || true
	assert_equal "$(grep -c . "$T/errors")" 1 "error lines"
	grep -q 'mismatch.example.pem: private key does not match the certificate' "$T/errors" ||
		fail "not said: $(cat "$T/errors")"
	! grep -q 'PRIVATE KEY' "$TEST_TMP/nginx/error.log" || fail "a key in the log"
}

@test "lua: keys and chains of other kinds are served and verify: P-384, SEC 1, RSA key, RSA CA" {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/rsaca.key" -out "$T/rsaca.pem" \
		-subj "/CN=Test RSA CA" -days 30 2>/dev/null
	TEST_CERT_KEY="ec -pkeyopt ec_paramgen_curve:P-384" leaf p384 p384.example
	leaf sec1 sec1.example
	openssl ec -in "$T/sec1.key" -out "$T/sec1.key.sec1" 2>/dev/null
	mv "$T/sec1.key.sec1" "$T/sec1.key"
	grep -q 'BEGIN EC PRIVATE KEY' "$T/sec1.key" || fail "no SEC 1 key"
	TEST_CERT_KEY=rsa:2048 leaf rsakey rsakey.example
	TEST_CERT_CA=rsaca leaf byrsa byrsa.example
	mkdir -p "$S/certs"
	# The store's file: the chain, then the key.
	for p in p384 sec1 rsakey byrsa; do
		cat "$T/$p.pem" "$T/$p.key" >"$S/certs/$p.example.pem"
	done
	nginx_start "$W" "$S"
	# Twice: parsed, then from the cache.
	for _ in 1 2; do
		for p in p384 sec1 rsakey; do
			served_verify "$p.example" "$T/ca.pem" || fail "$p.example not served or not verified"
		done
		served_verify byrsa.example "$T/rsaca.pem" || fail "byrsa.example not served or not verified"
	done
	! grep -F '[error]' "$TEST_TMP/nginx/error.log" || fail "errors logged"
}

@test "lua: a file larger than the read buffer (64 KiB) is read whole; 1 MiB is; one byte more is refused" {
	leaf a big.example
	nginx_start "$W" "$S"
	mkdir -p "$S/certs"
	# Text between PEM blocks is allowed and skipped: 180 KB of it, so the
	# buffer grows twice.
	{
		cat "$T/a.pem"
		for _ in $(seq 1 3000); do
			printf 'padding between the chain and the key, sixty bytes a line.\n'
		done
		cat "$T/a.key"
	} >"$S/certs/big.example.pem"
	(($(stat -c %s "$S/certs/big.example.pem") > 2 * 65536)) || fail "the file is not over 128 KiB"
	assert_equal "$(served_serial big.example | tr 'A-F' 'a-f')" "$(leaf_serial a)" "served"
	# padded SIZE: the chain, lines of padding, the key: SIZE bytes in all.
	padded() {
		local k=$(($1 - $(cat "$T/a.pem" "$T/a.key" | wc -c)))
		cat "$T/a.pem"
		((k % 60 == 0)) || { head -c "$((k % 60 - 1))" /dev/zero | tr '\0' x && echo; }
		for ((; k >= 60; k -= 60)); do
			printf '%059d\n' 0
		done
		cat "$T/a.key"
	}
	# 1 MiB exactly is the most that is read; one byte over is no
	# certificate file: refused, said once, not read on.
	padded 1048576 >"$S/certs/exact.example.pem"
	padded 1048577 >"$S/certs/huge.example.pem"
	assert_equal "$(stat -c %s "$S/certs/exact.example.pem" "$S/certs/huge.example.pem")" \
		$'1048576\n1048577' "sizes"
	assert_equal "$(probe huge.example exact.example big.example)" $'refused\nserved\nserved' "answers"
	grep -F '[error]' "$TEST_TMP/nginx/error.log" >"$T/errors" || true
	assert_equal "$(grep -c . "$T/errors")" 1 "error lines"
	grep -q 'huge.example.pem: larger than 1048576 bytes' "$T/errors" || fail "not said: $(cat "$T/errors")"
}

@test "lua: a file that cannot be opened (a symlink loop, as root can open anything else) fails its handshake with one line" {
	put a good.example
	nginx_start "$W" "$S"
	ln -s loop.example.pem "$S/certs/loop.example.pem"
	assert_equal "$(probe loop.example good.example)" $'refused\nserved' "answers"
	grep -F '[error]' "$TEST_TMP/nginx/error.log" >"$T/errors" || true
	assert_equal "$(grep -c . "$T/errors")" 1 "error lines"
	grep -q 'loop.example.pem: Too many levels of symbolic links' "$T/errors" || fail "not said: $(cat "$T/errors")"
}

@test "lua: a misspelt option, or a value of the wrong type or range, stops nginx from starting, named" {
	sed 's/unknown_fresh = 10/unknwon_fresh = 10/' "$REPO_ROOT/scripts/nginx-acmepipe-lua.conf" \
		>"$T/misspelt-lua.conf"
	NGINX_SITE=$T/misspelt-lua.conf run nginx_start "$W" "$S"
	((status != 0)) || fail "nginx started"
	grep -q 'unknown option unknwon_fresh' "$TEST_TMP/nginx/error.log" "$TEST_TMP/nginx/nginx.log" ||
		fail "not named: $(cat "$TEST_TMP/nginx/nginx.log")"
	# A value of the wrong type, and one out of range, the same way.
	for set in 'cache_size="big"' 'cache_size=0'; do
		NGINX_LUA_SET=$set run nginx_start "$W" "$S"
		((status != 0)) || fail "nginx started with $set"
	done
	grep -q 'option cache_size must be a number' "$TEST_TMP/nginx/error.log" "$TEST_TMP/nginx/nginx.log" ||
		fail "wrong type not named: $(cat "$TEST_TMP/nginx/nginx.log")"
	grep -q 'cache sizes must be at least 1' "$TEST_TMP/nginx/error.log" "$TEST_TMP/nginx/nginx.log" ||
		fail "range not named: $(cat "$TEST_TMP/nginx/nginx.log")"
}
