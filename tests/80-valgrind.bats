#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# Every command under valgrind's memcheck, on a small but real workload
# against Pebble and nginx (a full pipeline for two names, each step under
# memcheck, then each step again on its own output), on failures along the
# way, on malformed input, and on --help and usage errors. A test fails on
# any memcheck error and on any leak valgrind calls definite or indirect;
# "still reachable" (libcurl's and OpenSSL's global state) does not count.
#
# Skipped when valgrind is missing, and for a SANITIZE=1 build (build/flags
# holds -fsanitize), whose binaries valgrind cannot run.

load helpers/common

CMDS=(acme-order acme-challenge acme-finalize certstore-put)
# The store commands, each one where it is built.
STORE_CMDS=()
for _c in cert-expiring certstore; do
	[[ -x $REPO_ROOT/bin/$_c ]] && STORE_CMDS+=("$_c")
done
unset _c

setup_file() {
	export VG_SKIP=
	if ! command -v valgrind >/dev/null; then
		VG_SKIP='valgrind not installed (Debian: apt-get install valgrind)'
		return 0
	fi
	if grep -q fsanitize "$REPO_ROOT/build/flags" 2>/dev/null; then
		VG_SKIP='a SANITIZE=1 build: valgrind cannot run sanitized binaries'
		return 0
	fi
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	mkdir -p "$WEBROOT" "$STORE"
	nginx_start "$WEBROOT" "$STORE"
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key
}

setup() {
	[[ -z $VG_SKIP ]] || skip "$VG_SKIP"
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/vg"
}

# vg CMD [ARG...]: CMD under memcheck, its report in $T/vg/PID.log (empty
# when clean: --quiet leaves only errors and the leaks that count).
vg() {
	valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--num-callers=30 --log-file="$T/vg/%p.log" "$@"
}

# vg_clean WHAT: every report since the last call is empty and the run
# did not end with memcheck's exit status; the reports are shown when not.
vg_clean() {
	local f bad=0
	for f in "$T"/vg/*.log; do
		[[ -e $f ]] || continue
		if [[ -s $f ]]; then
			bad=1
			printf -- '--- memcheck report of %s (%s)\n' "$1" "${f##*/}" >&2
			cat "$f" >&2
		fi
		rm -f "$f"
	done
	if [[ ${status-} == 99 ]]; then
		printf 'vg_clean: %s: memcheck found errors (exit 99)\n' "$1" >&2
		bad=1
	fi
	((bad == 0))
}

# vg_step STATUS CMD [ARG...] <IN: runs CMD under memcheck on IN, expects
# STATUS, checks the report, and keeps the output in $T/out.CMD.
vg_step() {
	local want=$1
	shift
	run_split vg "$@"
	vg_clean "$*"
	assert_status "$want"
	cp "$OUTPUT_FILE" "$T/out.$1"
	assert_no_private_key
}

@test "valgrind: a full pipeline for two names, each step under memcheck, and again on its own output" {
	jq -cn '{identifiers: ["vg.example.com", "www.vg.example.com"]}' >"$T/in"
	# -a: the account key is created and registered under memcheck too.
	vg_step 0 acme-order -a <"$T/in"
	mv "$T/out.acme-order" "$T/ordered"
	vg_step 0 acme-challenge -w "$WEBROOT" <"$T/ordered"
	mv "$T/out.acme-challenge" "$T/ready"
	vg_step 0 acme-finalize -s "$STORE" <"$T/ready"
	mv "$T/out.acme-finalize" "$T/issued"
	vg_step 0 certstore-put -s "$STORE" <"$T/issued"
	mv "$T/out.certstore-put" "$T/stored"
	assert_json "$T/stored" '.stored.names == ["vg.example.com", "www.vg.example.com"]
	    and .error == null'
	pebble_root >"$T/root.pem"
	served_verify www.vg.example.com "$T/root.pem"
	# Each step on its own output: refresh, nothing to prove, the
	# certificate there, stored already.
	vg_step 0 acme-order <"$T/ordered"
	vg_step 0 acme-challenge -w "$WEBROOT" <"$T/ready"
	vg_step 0 acme-finalize -s "$STORE" <"$T/issued"
	vg_step 0 certstore-put -s "$STORE" <"$T/stored"
	vg_step 0 certstore-put -s "$STORE" <"$T/issued"
}

@test "valgrind: acme-challenge running a dns-01 hook" {
	cat >"$T/hook" <<-HOOK
		#!/bin/sh
		case \$1 in
		begin) curl -sf -d "{\"host\":\"_acme-challenge.\$3.\",\"value\":\"\$5\"}" $CHALLTESTSRV_MGMT/set-txt ;;
		*) curl -sf -d "{\"host\":\"_acme-challenge.\$3.\"}" $CHALLTESTSRV_MGMT/clear-txt ;;
		esac
	HOOK
	chmod +x "$T/hook"
	jq -cn '{identifiers: ["*.vg.example.com"]}' | acme-order -a >"$T/ordered"
	vg_step 0 acme-challenge -t dns-01 -H "$T/hook" <"$T/ordered"
	assert_json "$T/out.acme-challenge" '.order.status == "ready"'
	# A hook that fails: the document fails, the authorization is
	# deactivated.
	jq -cn '{identifiers: ["fail.vg.example.com"]}' | acme-order -a >"$T/ordered"
	vg_step 1 acme-challenge -t dns-01 -H /bin/false <"$T/ordered"
	assert_json "$T/out.acme-challenge" '.error.type == "urn:acmepipe:error:local"'
}

@test "valgrind: every command on malformed input" {
	{
		echo '{"identifiers":["ok.example.com"],"error":{"type":"t","detail":"d"}}'
		echo '{"identifiers":'
		echo '[1,2]'
		echo '{"a":1,"a":2}'
		printf '{"identifiers":["a\0b.example.com"]}\n'
		printf '{"identifiers":["\xff.example.com"]}\n'
		printf '{"a":'
		head -c 3000 /dev/zero | tr '\0' '['
		echo
		echo '{"version":2,"identifiers":["a.example.com"]}'
		echo '{"identifiers":[1]}'
		echo '{"identifiers":"a.example.com"}'
		echo '{"identifiers":["../../etc/passwd","$(id).com"]}'
		printf '{"identifiers":["\\u001b[31m.com"]}\n'
		echo '{"identifiers":["a.example.com"],"order":"x","authorizations":{},"key":"x","certificate":[]}'
		echo '{"identifiers":["a.example.com"],"certificate":{"pem":"garbage"},"key":{"path":"/etc/passwd"}}'
		echo '{"identifiers":["../x"],"error":{"type":"t"}}'
		printf '%s' '{"identifiers":["trunc'
	} >"$T/in"
	for c in "${CMDS[@]}"; do
		case $c in
		acme-challenge) opts=(-w "$WEBROOT") ;;
		acme-finalize | certstore-put) opts=(-s "$STORE") ;;
		*) opts=() ;;
		esac
		vg_step 2 "$c" "${opts[@]}" <"$T/in"
		[ "$(wc -l <"$T/out.$c")" -eq 9 ] || fail "$c: $(wc -l <"$T/out.$c") documents out"
	done
	# The line too long, once: the loop is common/stream.c for all.
	vg_step 2 acme-order < <(
		head -c 9000000 /dev/zero | tr '\0' a
		echo
	)
	assert_stderr 'acme-order: <stdin>:1:1: line longer than 8388608 bytes'
}

@test "valgrind: failures on the way: no CA, a bad account key, a missing CA bundle, certificates refused" {
	port=$(free_ports 1)
	echo 'not a key' >"$T/bad.key"
	jq -cn '{identifiers: ["f.vg.example.com"]}' >"$T/new"
	acme-order -a <"$T/new" >"$T/ordered"
	for c in acme-order acme-challenge acme-finalize; do
		in=$T/ordered
		[[ $c == acme-order ]] && in=$T/new
		case $c in
		acme-challenge) opts=(-w "$WEBROOT") ;;
		acme-finalize) opts=(-s "$STORE") ;;
		*) opts=() ;;
		esac
		vg_step 1 "$c" "${opts[@]}" -d "https://127.0.0.1:$port/dir" <"$in"
		vg_step 1 "$c" "${opts[@]}" -k "$T/bad.key" <"$in"
		vg_step 2 "$c" "${opts[@]}" -C "$T/no-such-ca.pem" <"$in"
	done
	# acme-finalize on an order that is not ready.
	vg_step 1 acme-finalize -s "$STORE" <"$T/ordered"
	assert_json "$T/out.acme-finalize" '.error.type == "urn:ietf:params:acme:error:orderNotReady"'
	# certstore-put: a key that is not one, a certificate for another key,
	# a failed document recorded in the store.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k.key" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/other.key" -out "$T/other.pem" -subj /CN=f.vg.example.com \
		-addext subjectAltName=DNS:f.vg.example.com -days 1 2>/dev/null
	jq -cn --rawfile pem "$T/other.pem" --arg k "$T/k.key" --arg bad "$T/bad.key" '
		{identifiers: ["f.vg.example.com"], certificate: {pem: $pem}, key: {path: $bad}},
		{identifiers: ["f.vg.example.com"], certificate: {pem: $pem}, key: {path: $k}},
		{identifiers: ["f.vg.example.com"], certificate: {pem: "garbage"}, key: {path: $k}},
		{identifiers: ["f.vg.example.com"], error: {step: "acme-challenge", type: "t", detail: "d"}}
		' >"$T/put"
	vg_step 1 certstore-put -s "$STORE" <"$T/put"
	[ "$(wc -l <"$T/out.certstore-put")" -eq 4 ]
}

@test "valgrind: --help, usage errors and setup errors of every command" {
	: >"$T/file"
	for c in "${CMDS[@]}" "${STORE_CMDS[@]}"; do
		vg_step 0 "$c" --help </dev/null
		vg_step 2 "$c" --no-such-option </dev/null
		vg_step 2 "$c" extra-argument </dev/null
	done
	vg_step 2 acme-order -T abc </dev/null
	vg_step 2 acme-order -d </dev/null
	vg_step 2 acme-challenge </dev/null
	vg_step 2 acme-challenge -w "$T/file" </dev/null
	vg_step 2 acme-finalize -s "$T/file" </dev/null
	vg_step 2 acme-finalize </dev/null
	vg_step 2 certstore-put -s "$T/file" </dev/null
	vg_step 2 certstore-put -s "$STORE" -m 0644 </dev/null
	vg_step 2 certstore-put -s "$STORE" -g no-such-group-x </dev/null
	vg_step 2 certstore-put </dev/null
}

@test "valgrind: cert-expiring and certstore on a store" {
	((${#STORE_CMDS[@]} == 2)) || skip "cert-expiring and certstore are not built"
	S=$T/store
	vg_step 0 certstore -s "$S" add a.vg.example.com b.vg.example.com '*.vg.example.com'
	vg_step 1 certstore -s "$S" add ../x
	vg_step 0 certstore -s "$S" list
	vg_step 0 cert-expiring -s "$S"
	[ "$(wc -l <"$T/out.cert-expiring")" -eq 3 ]
	vg_step 0 certstore -s "$S" unpark a.vg.example.com
	vg_step 0 certstore -s "$S" remove b.vg.example.com
	vg_step 2 cert-expiring -s "$T/no/such/dir/x" -e abc
	# The store the pipeline test filled, certificates and failures.
	vg_step 0 cert-expiring -s "$STORE"
	vg_step 0 certstore -s "$STORE" list
}

@test "valgrind: pre-flight in acme-order and --self-check in acme-challenge, passing and failing" {
	export ACMEPIPE_RESOLVER=127.0.0.1:$CHALLTESTSRV_DNS_PORT
	challtest_add_a away.vg.example.com 127.0.0.2
	challtest_servfail sf.vg.example.com
	challtest_add_caa caa.vg.example.com issue other-ca.example
	{
		jq -cn '{identifiers: ["pf.vg.example.com"]}'
		jq -cn '{identifiers: ["away.vg.example.com"]}'
		jq -cn '{identifiers: ["sf.vg.example.com"]}'
		jq -cn '{identifiers: ["caa.vg.example.com"]}'
	} >"$T/in"
	vg_step 1 acme-order -a --points-to 127.0.0.1/32,edge.vg.example.com \
		--caa-identity letsencrypt.org <"$T/in"
	assert_json "$(jq -sc 'map(.error.type)' "$T/out.acme-order")" \
	    '. == [null, "urn:acmepipe:error:notPointed", "urn:acmepipe:error:resolver", "urn:acmepipe:error:caa"]'
	# The self-check: one answered right, one with nothing listening.
	{
		head -n 1 "$T/out.acme-order"
		jq -cn '{identifiers: ["away.vg.example.com"]}' | acme-order
	} >"$T/ordered"
	ACMEPIPE_SELF_CHECK_PORT=$HTTP01_PORT vg_step 1 acme-challenge --self-check -w "$WEBROOT" <"$T/ordered"
	assert_json "$(jq -sc 'map(.error.type)' "$T/out.acme-challenge")" '. == [null, "urn:acmepipe:error:selfCheck"]'
	# Usage errors after the resolver is parsed.
	vg_step 2 acme-order --points-to 10.0.0.1/8 </dev/null
	vg_step 2 acme-challenge --self-check --resolver x -w "$WEBROOT" </dev/null
}

@test "valgrind: acme-account and acme-revoke, working and refused" {
	local S=$T/store n
	export ACMEPIPE_ACCOUNT_KEY=$T/account.key
	for n in r1.vg.example.com r2.vg.example.com r3.vg.example.com r4.vg.example.com; do
		acme-issue -a -w "$WEBROOT" -s "$S" "$n" >/dev/null
	done
	vg_step 0 acme-account show
	vg_step 0 acme-account contact mailto:vg@example.com
	vg_step 0 acme-account rollover
	vg_step 1 acme-account -k "$T/none.key" show
	vg_step 2 acme-account deactivate
	vg_step 2 acme-account --help-me
	vg_step 0 acme-account --help
	# Signed by the new key, which the rollover put in the file.
	jq -cn '{identifiers: ["r1.vg.example.com"]}' >"$T/r1"
	vg_step 0 acme-revoke -s "$S" --reason superseded <"$T/r1"
	vg_step 0 acme-revoke -s "$S" <"$T/out.acme-revoke"
	vg_step 1 acme-revoke -s "$S" <"$T/r1"
	jq -cn '{identifiers: ["r2.vg.example.com"]}' >"$T/r2"
	vg_step 0 acme-revoke -s "$S" --cert-key <"$T/r2"
	jq -cn '{identifiers: ["nowhere.vg.example.com"]}' | vg_step 1 acme-revoke -s "$S"
	vg_step 2 acme-revoke --reason bogus </dev/null
	vg_step 0 acme-revoke --help </dev/null
	vg_step 0 certstore -s "$S" remove --revoke --reason cessationOfOperation r3.vg.example.com
	vg_step 2 certstore -s "$S" remove --reason superseded r4.vg.example.com
	ACMEPIPE_DIRECTORY=https://127.0.0.1:1/dir \
		vg_step 1 certstore -s "$S" remove --revoke r4.vg.example.com
	vg_step 0 acme-account --confirm deactivate
}
