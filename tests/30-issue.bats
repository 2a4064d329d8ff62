#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's or bash -c's
# shellcheck disable=SC2154 # stderr, stderr_lines: set by run_split
# shellcheck disable=SC2030,SC2031 # exports inside a test stay in that test
#
# End to end (issue 3): acme-order | acme-challenge | acme-finalize |
# certstore-put and scripts/acme-issue against a real Pebble, with the
# http-01 tokens and then the certificates served by a real nginx running
# scripts/nginx-acmepipe.conf (tests/helpers/nginx.bash). Every name
# resolves to 127.0.0.1 through challtestsrv, except those a test points
# at 127.0.0.2, where nothing listens.
#
# Names are unique per test: the store and the CA's state are shared by the
# whole file, so a test must not depend on what an earlier one left.

load helpers/common

setup_file() {
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	# Created by acme-order on first use (EC P-256, 0600), registered with
	# Pebble then; Pebble forgets it on restart and it is registered again.
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	# The store is not made here: the first acme-issue creates it.
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
}

setup() {
	T=$BATS_TEST_TMPDIR
	command -v acme-finalize >/dev/null || fail "build first: make"
}

# doc NAME...: a new state document for one certificate.
doc() {
	jq -cn '{version: 1, identifiers: $ARGS.positional}' --args "$@"
}

# root_pem: Pebble's current root (it changes when Pebble restarts) in
# $ROOT, for served_verify.
root_pem() {
	ROOT=$T/root.pem
	pebble_root >"$ROOT" || fail "cannot fetch Pebble's root"
}

# serial_lc HEX: lower case without "serial=", as the documents have it.
serial_lc() {
	tr 'A-F' 'a-f' <<<"${1#serial=}"
}

# meta NAME [JQ]: NAME's metadata (certstore list), or JQ of it.
meta() { store_meta "$STORE" "$1" "${2:-.}"; }

# has_cert NAME [STORE]: NAME has a stored certificate, and the stored key
# is its own (certstore chain).
has_cert() { certstore -s "${2:-$STORE}" chain "$1" >/dev/null; }

# no_cert NAME: no certificate is stored for NAME (certstore chain).
no_cert() {
	local e
	if e=$(certstore -s "$STORE" chain "$1" 2>&1 >/dev/null); then
		return 1
	fi
	[[ $e == "certstore: $1: no certificate" ]] || {
		echo "no_cert $1: $e" >&2
		return 1
	}
}

# pipeline FILE: the four steps as the manual shows them, FILE on stdin.
pipeline() {
	acme-order <"$1" | acme-challenge -w "$WEBROOT" |
		acme-finalize -s "$STORE" | certstore-put -s "$STORE"
}

@test "acme-issue: three names issued in parallel, each served by nginx, verified" {
	local -a names=(blog.example.com shop.example.com www.example.org)
	# As the issue has it: xargs -P 8 -n 1 scripts/acme-issue <domains.txt
	printf '%s\n' "${names[@]}" >"$T/domains.txt"
	run_split -0 bash -c 'xargs -P 8 -n 1 acme-issue -w "$WEBROOT" -s "$STORE" <"$1"' \
		_ "$T/domains.txt"
	assert_stderr ''
	assert_line_count 3
	assert_no_private_key
	assert_json "$OUTPUT_FILE" '(.error | not) and (.key | not)
		and .stored.names == .identifiers and .certificate.serial != null'
	root_pem
	for n in "${names[@]}"; do
		served_verify "$n" "$ROOT" || fail "$n: served chain does not verify up to Pebble's root"
		assert_equal "$(serial_lc "$(served_serial "$n")")" \
			"$(meta "$n" .serial)" "$n: served serial"
		assert_json "$(meta "$n")" '.name == $n and .identifiers == [$n]
			and .failCount == 0 and (.issuer | startswith("Pebble Intermediate CA"))
			and .keyType == "ec-p256"' --arg n "$n"
		run_split -0 openssl x509 -noout -subject -nameopt RFC2253 <<<"$(served_cert "$n")"
		assert_output "subject=CN=$n"
	done
}

@test "reissue: the new serial is served at once, with no nginx reload or restart" {
	local n=again.example.com first second stamp
	run_split -0 acme-issue -w "$WEBROOT" -s "$STORE" "$n"
	first=$(served_serial "$n")
	stamp=$(nginx_stamp)
	run_split -0 acme-issue -w "$WEBROOT" -s "$STORE" "$n"
	assert_stderr ''
	second=$(served_serial "$n")
	[[ -n $first && $first != "$second" ]] ||
		fail "served serial did not change: $first, then $second"
	assert_equal "$(serial_lc "$second")" "$(jq -r .certificate.serial "$OUTPUT_FILE")" \
		"served serial"
	assert_equal "$(nginx_stamp)" "$stamp" "nginx PID and start time"
	# Nor was it signalled: nginx logs "signal N (SIGHUP) received,
	# reconfiguring" at info level, which the harness logs.
	if grep -E 'signal|reconfiguring' "$TEST_TMP/nginx/error.log"; then
		fail "nginx was signalled"
	fi
	root_pem
	served_verify "$n" "$ROOT" || fail "new chain does not verify"
}

@test "every key type issues and is served: ec-p256 ec-p384 rsa2048 rsa3072 rsa4096" {
	local kt n text want
	root_pem
	for kt in ec-p256 ec-p384 rsa2048 rsa3072 rsa4096; do
		n=$kt.keys.example.com
		run_split -0 acme-issue -K "$kt" -w "$WEBROOT" -s "$STORE" "$n"
		assert_stderr ''
		assert_json "$OUTPUT_FILE" '.stored.names == [$n]' --arg n "$n"
		assert_json "$(meta "$n")" '.keyType == $kt' --arg kt "$kt"
		served_verify "$n" "$ROOT" || fail "$kt: served chain does not verify"
		text=$(served_cert "$n" | openssl x509 -noout -text)
		case $kt in
		ec-p256) want='ASN1 OID: prime256v1' ;;
		ec-p384) want='ASN1 OID: secp384r1' ;;
		rsa*) want="Public-Key: (${kt#rsa} bit)" ;;
		esac
		assert_contains "$text" "$want"
		# The stored key is the certificate's.
		has_cert "$n" || fail "$kt: stored key"
	done
}

@test "five documents, one name unreachable: it fails with the CA's reason, four stored, exit 1" {
	local -a names=(s1.example.com s2.example.com down.example.com s4.example.com s5.example.com)
	local n bad
	challtest_add_a down.example.com 127.0.0.2 >/dev/null
	for n in "${names[@]}"; do doc "$n"; done >"$T/in.jsonl"
	run_split -1 pipeline "$T/in.jsonl"
	challtest_clear_a down.example.com >/dev/null
	# N in, N out, in order.
	assert_line_count 5
	assert_equal "$(jq -r '.identifiers[0]' "$OUTPUT_FILE" | paste -sd ' ')" \
		"${names[*]}" "order of the documents"
	bad=$(sed -n 3p "$OUTPUT_FILE")
	assert_json "$bad" '.error.step == "acme-challenge"
		and .error.type == "urn:ietf:params:acme:error:connection"
		and .error.identifier == "down.example.com"
		and (.error.detail | contains("127.0.0.2"))
		and [.authorizations[].status] == ["invalid"]
		and (.certificate | not) and (.stored | not)'
	# One line on stderr, from the step that failed, with the CA's words;
	# the later steps pass the document through without a word.
	assert_stderr "$(jq -r '"acme-challenge: <stdin>:3: \(.error.identifier): \(.error.type): \(.error.detail)"' <<<"$bad")"
	sed 3d "$OUTPUT_FILE" >"$T/good.jsonl"
	assert_json "$T/good.jsonl" '(.error | not) and .stored.names == .identifiers'
	for n in s1 s2 s4 s5; do
		has_cert "$n.example.com" || fail "$n.example.com not stored"
	done
	# The failure is recorded for the name; no certificate appears for it.
	no_cert down.example.com || fail "down.example.com has a certificate"
	assert_json "$(meta down.example.com)" '.failCount == 1 and (.serial | not)
		and .lastError.step == "acme-challenge"
		and .lastError.type == "urn:ietf:params:acme:error:connection"'
	meta down.example.com >"$T/meta.json"
	assert_no_private_key "$OUTPUT_FILE" "$T/meta.json"
}

@test "a failed authorization: the order's other pending ones are deactivated" {
	local failed
	challtest_add_a gone1.example.com 127.0.0.2 >/dev/null
	challtest_add_a gone2.example.com 127.0.0.2 >/dev/null
	doc gone1.example.com gone2.example.com >"$T/in.jsonl"
	run_split -1 bash -c 'acme-order <"$1" | acme-challenge -w "$WEBROOT"' _ "$T/in.jsonl"
	challtest_clear_a gone1.example.com >/dev/null
	challtest_clear_a gone2.example.com >/dev/null
	assert_line_count 1
	# Pebble lists the authorizations in no fixed order: the first one
	# tried fails, and the other, never tried, is deactivated.
	assert_json "$OUTPUT_FILE" '([.authorizations[].status] | sort) == ["deactivated", "invalid"]'
	failed=$(jq -r '.authorizations[] | select(.status == "invalid") | .identifier' "$OUTPUT_FILE")
	assert_json "$OUTPUT_FILE" '.error.step == "acme-challenge" and .error.identifier == $f
		and .error.type == "urn:ietf:params:acme:error:connection"' --arg f "$failed"
	assert_equal "${#stderr_lines[@]}" 1 "stderr lines"
}

@test "a wildcard with http-01 fails before anything is asked of the CA about it" {
	doc '*.wild.example.com' >"$T/in.jsonl"
	run_split -1 bash -c 'acme-order <"$1" | acme-challenge -v -w "$WEBROOT"' _ "$T/in.jsonl"
	assert_line_count 1
	assert_json "$OUTPUT_FILE" '.error.step == "acme-challenge"
		and .error.type == "urn:ietf:params:acme:error:unsupportedIdentifier"
		and .error.identifier == "*.wild.example.com"
		and .error.detail == "wildcard names can only be validated with dns-01, not http-01"'
	# -v prints every request: no challenge was started.
	if grep -E 'POST [^ ]*/chalZ/' "$STDERR_FILE"; then
		fail "a challenge was posted"
	fi
	assert_equal "${stderr_lines[-1]}" \
		"acme-challenge: <stdin>:1: *.wild.example.com: urn:ietf:params:acme:error:unsupportedIdentifier: wildcard names can only be validated with dns-01, not http-01" \
		"last stderr line"
}

@test "a hook that provisions http-01 itself: begin, then done, with type, name, token, key authorization" {
	local n=hooked.example.com token keyauth
	cat >"$T/hook" <<'EOF'
#!/bin/sh
# A test hook: logs its arguments, serves the key authorization itself.
printf '%s\n' "$*" >>"$HOOK_LOG"
dir=$HOOK_WEBROOT/.well-known/acme-challenge
case $1 in
begin) mkdir -p "$dir" && printf '%s' "$5" >"$dir/$4" ;;
*) rm -f "$dir/$4" ;;
esac
EOF
	chmod 755 "$T/hook"
	export HOOK_LOG=$T/hook.log HOOK_WEBROOT=$WEBROOT
	run_split -0 acme-issue -H "$T/hook" -s "$STORE" "$n"
	assert_stderr ''
	assert_json "$OUTPUT_FILE" '.stored.names == [$n]' --arg n "$n"
	token=$(jq -r '.authorizations[0].challenges[] | select(.type == "http-01") | .token' "$OUTPUT_FILE")
	keyauth=$token.$(jwk_thumbprint "$ACMEPIPE_ACCOUNT_KEY")
	assert_equal "$(<"$HOOK_LOG")" "begin http-01 $n $token $keyauth
done http-01 $n $token $keyauth" "hook calls"
	[[ ! -e $WEBROOT/.well-known/acme-challenge/$token ]] || fail "token file left behind"
	root_pem
	served_verify "$n" "$ROOT" || fail "not served"
}

@test "a hook that fails on begin: the document fails in acme-challenge, nothing follows begin" {
	local n=hookfail.example.com
	cat >"$T/hook" <<'EOF'
#!/bin/sh
printf '%s\n' "$*" >>"$HOOK_LOG"
[ "$1" = begin ] && exit 3
exit 0
EOF
	chmod 755 "$T/hook"
	export HOOK_LOG=$T/hook.log
	doc "$n" >"$T/in.jsonl"
	run_split -1 bash -c 'acme-order <"$1" | acme-challenge -H "$2"' _ "$T/in.jsonl" "$T/hook"
	assert_json "$OUTPUT_FILE" '.error.step == "acme-challenge"
		and .error.type == "urn:acmepipe:error:local"
		and .error.identifier == $n
		and .error.detail == "hook \($h) begin exited with status 3"
		and [.authorizations[].status] == ["deactivated"]' --arg n "$n" --arg h "$T/hook"
	assert_stderr "acme-challenge: <stdin>:1: $n: urn:acmepipe:error:local: hook $T/hook begin exited with status 3"
	assert_equal "$(cut -d ' ' -f 1-3 "$HOOK_LOG")" "begin http-01 $n" "hook calls"
}

@test "a hook that is not executable, a webroot that does not exist: exit 2, one line" {
	printf '#!/bin/sh\nexit 0\n' >"$T/hook"
	chmod 644 "$T/hook"
	doc nothing.example.com >"$T/in.jsonl"
	run_split -2 acme-challenge -H "$T/hook" <"$T/in.jsonl"
	assert_output ''
	assert_stderr "acme-challenge: hook $T/hook: Permission denied"
	run_split -2 acme-challenge -w "$T/no-such-dir" <"$T/in.jsonl"
	assert_output ''
	assert_stderr "acme-challenge: webroot $T/no-such-dir: No such file or directory"
}

@test "Pebble restarted between acme-challenge and acme-finalize: clear error, then recovery" {
	local n=restart.example.com url
	doc "$n" >"$T/in.jsonl"
	run_split -0 bash -c 'acme-order <"$1" | acme-challenge -w "$WEBROOT"' _ "$T/in.jsonl"
	cp "$OUTPUT_FILE" "$T/saved.jsonl"
	assert_json "$T/saved.jsonl" '.order.status == "ready"'
	url=$(jq -r .order.url "$T/saved.jsonl")
	pebble_restart
	# Pebble forgot the account (registered again, -a is set) and the
	# order: the rest of the pipeline fails, with the CA's word for it.
	# acme-finalize sends the CSR of a ready order at once, so its key
	# exists and stays in the document for a rerun.
	run_split -1 bash -c 'acme-finalize -s "$STORE" <"$1" | certstore-put -s "$STORE"' \
		_ "$T/saved.jsonl"
	cp "$OUTPUT_FILE" "$T/failed.jsonl"
	assert_json "$T/failed.jsonl" '.error.step == "acme-finalize" and .error.status == 404
		and (.error.detail | contains($u | sub(".*/"; "")))
		and (.certificate | not)' --arg u "$url"
	assert_stderr "$(jq -r '"acme-finalize: <stdin>:1: \(.error.type): \(.error.detail)"' "$T/failed.jsonl")"
	no_cert "$n" || fail "a certificate was stored"
	assert_json "$(meta "$n")" '.failCount == 1 and .lastError.step == "acme-finalize"'
	# A fresh run issues, from the new CA.
	run_split -0 acme-issue -w "$WEBROOT" -s "$STORE" "$n"
	root_pem
	served_verify "$n" "$ROOT" || fail "fresh run: not served"
	# The saved document recovers once its error is deleted: acme-order
	# finds the order gone (404) and replaces it.
	run_split -0 bash -c 'jq -c "del(.error)" <"$1" | acme-order -v |
		acme-challenge -w "$WEBROOT" | acme-finalize -s "$STORE" |
		certstore-put -s "$STORE"' _ "$T/failed.jsonl"
	assert_contains "$stderr" "acme-order: POST $url 404 "
	assert_json "$OUTPUT_FILE" '(.error | not) and .order.url != $u and .stored.names == [$n]' \
		--arg u "$url" --arg n "$n"
	assert_json "$(meta "$n")" '.failCount == 0'
	served_verify "$n" "$ROOT" || fail "recovered: not served"
}

@test "permissions: key files 0600 in a 0700 private area, stored files 0640 or -m; no key on any stream" {
	local n=perm.example.com key
	mkdir -p "$STORE" # acme-finalize -s wants it; certstore-put makes it
	doc "$n" >"$T/in.jsonl"
	run_split -0 acme-order -v <"$T/in.jsonl"
	assert_no_private_key
	cp "$OUTPUT_FILE" "$T/ordered.jsonl"
	run_split -0 acme-challenge -v -w "$WEBROOT" <"$T/ordered.jsonl"
	assert_no_private_key
	cp "$OUTPUT_FILE" "$T/valid.jsonl"
	run_split -0 acme-finalize -v -s "$STORE" <"$T/valid.jsonl"
	assert_no_private_key
	cp "$OUTPUT_FILE" "$T/final.jsonl"
	key=$(jq -r .key.path "$T/final.jsonl")
	# file layout: where the key file is, and the modes of the files and
	# directories (what nginx and other users may read).
	[[ $key == "$STORE/private/"* ]] || fail "key outside the store's private area: $key"
	assert_equal "$(stat -c %a "$key")" 600 "key file mode"
	assert_equal "$(stat -c %a "$STORE/private")" 700 "private/ mode"
	run_split -0 certstore-put -v -s "$STORE" <"$T/final.jsonl"
	meta "$n" >"$T/meta.json"
	assert_no_private_key "$T/meta.json"
	assert_equal "$(stat -c %a "$STORE/certs/$n.pem")" 640 "stored file mode"
	[[ ! -e $key ]] || fail "key file not removed after storing"
	# file layout: the key is in the certificate file, where nginx reads it.
	grep -q -- '-----BEGIN PRIVATE KEY-----' "$STORE/certs/$n.pem" ||
		fail "no key in the stored file"
	# acme-issue -m: another mode, still served.
	run_split -0 acme-issue -m 0600 -w "$WEBROOT" -s "$STORE" mode.example.com
	assert_no_private_key
	# file layout: the mode of the file nginx reads.
	assert_equal "$(stat -c %a "$STORE/certs/mode.example.com.pem")" 600 "-m 0600"
	root_pem
	served_verify mode.example.com "$ROOT" || fail "0600 file not served"
}

@test "a name with a path in it is refused by acme-order before any request" {
	local found
	doc ../x >"$T/in.jsonl"
	run_split -1 acme-order -v <"$T/in.jsonl"
	# -v would print a line for every request: there is only the refusal.
	assert_stderr "acme-order: <stdin>:1: ../x: urn:acmepipe:error:identifier: invalid character '/' in name"
	assert_json "$OUTPUT_FILE" '.error.step == "acme-order" and .error.identifier == "../x"
		and .error.type == "urn:acmepipe:error:identifier" and (.order | not)'
	# The rest of the pipeline passes it on and writes nothing for it.
	run_split -1 pipeline "$T/in.jsonl"
	assert_line_count 1
	assert_stderr "acme-order: <stdin>:1: ../x: urn:acmepipe:error:identifier: invalid character '/' in name"
	# file layout: no file anywhere, in the store or out of it, is named
	# after ../x.
	found=$(find "$TEST_TMP" \( -name x -o -name x.pem -o -name x.json \) -print)
	assert_equal "$found" '' "files named after ../x"
}

@test "a document without a certificate reaching certstore-put fails there, store untouched" {
	local n=nocert.example.com
	doc "$n" >"$T/in.jsonl"
	run_split -1 bash -c 'acme-order <"$1" | acme-challenge -w "$WEBROOT" |
		certstore-put -s "$STORE"' _ "$T/in.jsonl"
	assert_stderr "certstore-put: <stdin>:1: urn:acmepipe:error:input: no certificate in document"
	assert_json "$OUTPUT_FILE" '.error.step == "certstore-put" and .error.type == "urn:acmepipe:error:input"
		and .order.status == "ready" and (.stored | not)'
	no_cert "$n" || fail "a certificate file appeared"
}

@test "acme-issue exits with its worst step: 0, 1, 2" {
	run_split -0 acme-issue -w "$WEBROOT" -s "$STORE" status0.example.com
	assert_stderr ''
	challtest_add_a status1.example.com 127.0.0.2 >/dev/null
	run_split -1 acme-issue -w "$WEBROOT" -s "$STORE" status1.example.com
	challtest_clear_a status1.example.com >/dev/null
	assert_line_count 1
	assert_json "$OUTPUT_FILE" '.error.step == "acme-challenge"'
	assert_equal "${#stderr_lines[@]}" 1 "stderr lines"
	usage=$(acme-issue -h)
	run_split -2 acme-issue -Z -w "$WEBROOT" status2.example.com
	assert_output ''
	assert_contains "$stderr" "$usage"
	run_split -2 acme-issue -w "$WEBROOT" -s "$STORE"
	assert_output ''
	assert_stderr "acme-issue: no name given
$usage"
}

# A step that stops at setup (exit 2) makes the steps before it die of
# SIGPIPE (141): acme-issue still says 2, its worst step in 0/1/2.
# (Where SIGPIPE is ignored, the earlier steps say "<stdout>: Broken pipe"
# and exit 2 instead; hence no exact stderr here.)
@test "acme-issue: a step's setup error is exit 2, not an earlier step's SIGPIPE" {
	run_split acme-issue -w "$T/no-such-dir" -s "$STORE" setup.example.com
	assert_output ''
	assert_contains "$stderr" "acme-challenge: webroot $T/no-such-dir: No such file or directory"
	assert_status 2
	run_split acme-issue -K dsa -w "$WEBROOT" -s "$STORE" setup.example.com
	assert_contains "$stderr" "acme-finalize: unknown key type: dsa (ec-p256, ec-p384, rsa2048, rsa3072, rsa4096)"
	assert_status 2
}

# dash's own getopts message ("Illegal option -Z") is not `prog: what`
# (STYLE rule 5): acme-issue says it itself.
@test "acme-issue: a bad option is one acme-issue: line, then the usage" {
	run_split -2 acme-issue -Z x.example.com
	assert_output ''
	[[ ${stderr_lines[0]} == 'acme-issue: '* ]] ||
		fail "first stderr line not prefixed with acme-issue: ${stderr_lines[0]}"
	assert_equal "${stderr_lines[1]}" "$(acme-issue -h | head -n 1)" "usage line"
}

@test "nginx-acmepipe.conf: port 80 serves tokens only, redirects the rest to https" {
	mkdir -p "$WEBROOT/.well-known/acme-challenge"
	printf 'tok.print' >"$WEBROOT/.well-known/acme-challenge/tok"
	run_split -0 curl -sS -H 'Host: www.example.com' \
		"http://127.0.0.1:$HTTP01_PORT/.well-known/acme-challenge/tok"
	assert_output tok.print
	run_split -0 curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' \
		-H 'Host: www.example.com' "http://127.0.0.1:$HTTP01_PORT/a/b?c=d"
	assert_output "301 https://www.example.com/a/b?c=d"
	rm -f "$WEBROOT/.well-known/acme-challenge/tok"
}

@test "acmepipe-store(5) shows scripts/nginx-acmepipe.conf, the tested file, without comments" {
	local man conf
	# The first literal display of the section, blank lines dropped.
	man=$(awk '/^\.Sh SERVING WITH NGINX/ { s = 1; next } /^\.Sh / { s = 0 }
		s && /^\.Bd -literal/ { n++; inb = 1; next } /^\.Ed/ { inb = 0; next }
		s && inb && n == 1 && !/^$/ { print }' "$REPO_ROOT/man/acmepipe-store.5")
	man=${man//\\e/\\}
	conf=$(sed -e '/^[[:space:]]*#/d' -e 's/[[:space:]]#.*//' -e '/^[[:space:]]*$/d' \
		"$REPO_ROOT/scripts/nginx-acmepipe.conf")
	assert_equal "$man" "$conf" "configuration in acmepipe-store(5)"
}

@test "the nginx snippets hold the map and the lines of scripts/nginx-acmepipe.conf, unchanged" {
	local conf map
	conf=$(sed -e 's/[[:space:]]#.*//' -e '/^[[:space:]]*#/d' "$REPO_ROOT/scripts/nginx-acmepipe.conf")
	map=$(sed -e '/^[[:space:]]*#/d' -e '/^$/d' "$REPO_ROOT/scripts/nginx-snippet-acmepipe-map.conf")
	assert_equal "$map" "$(sed -n '/^map /,/^}/p' <<<"$conf")" "map"
	# Each line of the server snippet is one of the configuration's.
	while IFS= read -r line; do
		[[ -z $line ]] && continue
		grep -qxF -- "$(sed 's/^[[:space:]]*//' <<<"$line")" < <(sed 's/^[[:space:]]*//' <<<"$conf") ||
			fail "not in nginx-acmepipe.conf: $line"
	done < <(sed -e '/^[[:space:]]*#/d' "$REPO_ROOT/scripts/nginx-snippet-acmepipe.conf")
}

@test "tests/demo runs: three names issued and served, nothing left running, exit 0" {
	local d=$T/demo left
	# Its own servers and temporary directory, under this test's.
	run_split -0 env TMPDIR="$T" "$REPO_ROOT/tests/demo" "$d"
	assert_stderr ''
	assert_contains "$output" "Done: 3 of 3 names issued"
	for n in blog.example.com shop.example.com www.example.org; do
		assert_contains "$output" "subject  CN=$n"
		has_cert "$n" "$d/store" || fail "demo: $n not stored"
	done
	# Friendly, not a wall of JSON.
	if grep -q '^[[:space:]]*[{[]' "$OUTPUT_FILE"; then
		fail "JSON in the demo's output"
	fi
	[[ -f $d/account.key ]] || fail "demo: no account key in $d"
	# The servers inherit the demo's TEST_TMP (challtestsrv's command line
	# names no path): none may be left.
	left=$(grep -laF "TEST_TMP=$T/acmepipe-demo." /proc/[0-9]*/environ 2>/dev/null) || true
	assert_equal "$left" '' "processes the demo left running"
	[[ -z $(find "$T" -maxdepth 1 -name 'acmepipe-demo.*') ]] ||
		fail "demo left its temporary directory"
	# This file's own servers are untouched.
	proc_alive "$(<"$TEST_TMP/nginx/harness.pid")" || fail "the test's nginx is gone"
	proc_alive "$(<"$TEST_TMP/pebble/pebble.pid")" || fail "the test's pebble is gone"
}
