#!/usr/bin/env bats
#
# certstore-put and the file store (common/store.c, acmepipe-store(5)).
# No ACME server: the certificates come from a throwaway CA made with
# openssl in each test's temporary directory. One test serves the stored
# file with nginx, as ssl_certificate and ssl_certificate_key at once.

load helpers/common

setup() {
	T=$BATS_TEST_TMPDIR
	STORE=$T/store
	MOUNTED=
	command -v certstore-put >/dev/null || fail "build first: make"
	test_ca "$T" 30
}

teardown() {
	if [[ -n $MOUNTED ]]; then
		umount "$MOUNTED"
	fi
	nginx_stop
	harness_teardown
}

# mkleaf P NAME...: key $T/P.key and chain $T/P.pem (leaf, then the CA)
# for the names; the serial is 16 hex digits starting with 71; valid for
# $DAYS days (30 by default).
mkleaf() {
	test_cert "$T" "$1" "${DAYS:-30}" "${@:2}"
}

# mkdoc P NAME...: a state document for the chain and key of P.
mkdoc() {
	local p=$1
	shift
	jq -cn --rawfile pem "$T/$p.pem" --arg k "$T/$p.key" \
		'{version: 1, identifiers: $ARGS.positional,
		  key: {path: $k, type: "ec-p256"}, certificate: {pem: $pem},
		  order: {url: "https://ca.test/order/1", status: "valid"}}' \
		--args "$@"
}

# cert_pub FILE / key_pub FILE: the public key of FILE's first certificate
# or of its private key.
cert_pub() { openssl x509 -in "$1" -noout -pubkey; }
key_pub() { openssl pkey -in "$1" -pubout; }

# serial_of FILE: the first certificate's serial as the metadata has it.
serial_of() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f'
}

@test "one name: chain then key, mode 0640, metadata, key file deleted" {
	mkleaf a example.com
	mkdoc a example.com >"$T/in"
	run_split -0 certstore-put -s "$STORE" <"$T/in"
	assert_stderr ''
	assert_line_count 1
	f=$STORE/certs/example.com.pem
	assert_equal "$(stat -c %a "$f")" 640 mode
	assert_equal "$(stat -c %a "$STORE" "$STORE/certs" "$STORE/meta" \
		"$STORE/private" | tr '\n' ' ')" "755 755 755 700 " "directory modes"
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' "$f")" 2 certificates
	assert_equal "$(grep -c 'BEGIN PRIVATE KEY' "$f")" 1 keys
	assert_equal "$(cert_pub "$f")" "$(key_pub "$f")" "public keys"
	cmp <(head -c "$(stat -c %s "$T/a.pem")" "$f") "$T/a.pem"
	[[ ! -e $T/a.key ]] || fail "key file still there"
	assert_json "$output" '.stored.names == ["example.com"] and (.key | not)
		and (.stored.time | test("^[0-9-]{10}T[0-9:]{8}Z$"))
		and .order.url == "https://ca.test/order/1"'
	na=$(date -u -d "$(openssl x509 -in "$T/a.crt" -noout -enddate |
		sed 's/^notAfter=//')" +%FT%TZ)
	assert_json "$STORE/meta/example.com.json" '.name == "example.com"
		and .identifiers == ["example.com"] and .notAfter == $na
		and .issuer == "Test CA" and .failCount == 0
		and .keyType == "ec-p256" and .serial == $serial
		and (.stored | test("Z$"))' \
		--arg na "$na" --arg serial "$(serial_of "$T/a.crt")"
	assert_no_private_key "$STORE/meta/example.com.json"
}

@test "two names: each name gets its own file and metadata" {
	mkleaf a example.com www.example.com
	mkdoc a example.com www.example.com >"$T/in"
	run_split -0 certstore-put --store "$STORE" -v <"$T/in"
	assert_equal "${#stderr_lines[@]}" 2 "stderr lines"
	na=$(jq -r .notAfter "$STORE/meta/example.com.json")
	assert_stderr "certstore-put: example.com: stored, not after $na
certstore-put: www.example.com: stored, not after $na"
	cmp "$STORE/certs/example.com.pem" "$STORE/certs/www.example.com.pem"
	assert_json "$STORE/meta/www.example.com.json" '.name == "www.example.com"
		and .identifiers == ["example.com", "www.example.com"]'
	assert_equal "$(ls "$STORE/certs" | tr '\n' ' ')" \
		"example.com.pem www.example.com.pem " files
	assert_no_private_key "$STORE"/meta/*
}

@test "--mode and --group, and ACMEPIPE_STORE, ACMEPIPE_GROUP, ACMEPIPE_MODE" {
	mkleaf a example.com
	mkdoc a example.com >"$T/in"
	run_split -0 certstore-put -s "$STORE" --mode 0600 -g 1 <"$T/in"
	assert_equal "$(stat -c %a:%g "$STORE/certs/example.com.pem")" 600:1
	mkleaf b example.org
	mkdoc b example.org >"$T/in"
	grp=$(getent group 2 | cut -d: -f1)
	ACMEPIPE_STORE=$STORE ACMEPIPE_GROUP=$grp ACMEPIPE_MODE=0440 \
		run_split -0 certstore-put <"$T/in"
	assert_equal "$(stat -c %a:%g "$STORE/certs/example.org.pem")" 440:2
	# An option beats the environment.
	mkleaf c example.net
	mkdoc c example.net >"$T/in"
	ACMEPIPE_STORE=$T/elsewhere ACMEPIPE_MODE=0440 \
		run_split -0 certstore-put -s "$STORE" -m 0640 <"$T/in"
	assert_equal "$(stat -c %a "$STORE/certs/example.net.pem")" 640
	[[ ! -e $T/elsewhere ]] || fail "ACMEPIPE_STORE beat --store"
}

@test "bad --mode or --group: exit 2, one line" {
	run_split -2 certstore-put -s "$STORE" -m 0644 </dev/null
	assert_stderr "certstore-put: mode 0644: want octal 0400 to 0770 (nothing for others)"
	run_split -2 certstore-put -s "$STORE" -m rw </dev/null
	assert_stderr "certstore-put: mode rw: want octal 0400 to 0770 (nothing for others)"
	run_split -2 certstore-put -s "$STORE" -g no-such-group-x </dev/null
	assert_stderr "certstore-put: group no-such-group-x: no such group"
	assert_output ''
}

@test "rerun on its own output: unchanged, exit 0, store untouched" {
	mkleaf a example.com www.example.com
	mkdoc a example.com www.example.com >"$T/in"
	certstore-put -s "$STORE" <"$T/in" >"$T/out"
	cp -p "$STORE/meta/example.com.json" "$T/meta1"
	run_split -0 certstore-put -s "$STORE" <"$T/out"
	assert_stderr ''
	assert_json_eq "$OUTPUT_FILE" "$T/out"
	cmp "$STORE/meta/example.com.json" "$T/meta1"
}

@test "rerun on the same input after the output was lost: stored, no error" {
	mkleaf a example.com
	mkdoc a example.com >"$T/in"
	certstore-put -s "$STORE" <"$T/in" >/dev/null
	[[ ! -e $T/a.key ]]
	run_split -0 certstore-put -s "$STORE" <"$T/in"
	assert_stderr ''
	assert_json "$output" '.stored.names == ["example.com"] and (.key | not)'
	# A different certificate with its key gone is still an error.
	mkleaf b example.com
	mkdoc b example.com >"$T/in"
	rm "$T/b.key"
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_stderr "certstore-put: <stdin>:1: urn:acmepipe:error:local: $T/b.key: No such file or directory"
}

@test "path traversal in identifiers: refused, nothing written outside" {
	mkleaf a example.com
	for bad in ../x a/b; do
		mkdoc a "$bad" >"$T/in"
		run_split -1 certstore-put -s "$STORE" <"$T/in"
		assert_stderr "certstore-put: <stdin>:1: $bad: urn:acmepipe:error:identifier: invalid character '/' in name"
		assert_json "$output" '.error.step == "certstore-put"
			and .error.identifier == $b and (.stored | not)' --arg b "$bad"
	done
	[[ -e $T/a.key ]] || fail "key file deleted"
	assert_equal "$(find "$T" -mindepth 1 -newer "$T/a.pem" \
		-not -path "$STORE*" -not -name in -not -name 'run_split.*')" "" \
		"files written outside the store"
	assert_equal "$(find "$STORE" -type f)" "" "files in the store"
	# A failed document with such names: the store refuses them too.
	jq -c '.error = {step: "acme-order", detail: "down",
		type: "urn:acmepipe:error:connection", time: "2026-01-01T00:00:00Z"}
		| .identifiers = ["../x"]' "$T/in" >"$T/failed"
	run_split -1 certstore-put -s "$STORE" <"$T/failed"
	assert_stderr "certstore-put: cannot record failure: ../x: invalid name"
	assert_equal "$(find "$STORE" -type f)" "" "files in the store"
}

@test "document without a certificate: error, exit 1" {
	jq -cn '{version: 1, identifiers: ["example.com"],
		key: {path: "/nonexistent/k.pem", type: "ec-p256"}}' >"$T/in"
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_stderr "certstore-put: <stdin>:1: urn:acmepipe:error:input: no certificate in document"
	assert_json "$output" '.error.type == "urn:acmepipe:error:input"
		and .error.detail == "no certificate in document"
		and .key.path == "/nonexistent/k.pem"'
}

@test "failed document: recorded in metadata, old certificate kept, passed through" {
	mkleaf a example.com
	mkdoc a example.com | certstore-put -s "$STORE" >/dev/null
	cp "$STORE/certs/example.com.pem" "$T/old"
	mkleaf b example.com
	mkdoc b example.com | jq -c '.error = {step: "acme-challenge",
		type: "urn:ietf:params:acme:error:connection", detail: "no answer",
		identifier: "example.com", time: "2026-01-02T03:04:05Z"}' >"$T/in"
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_stderr ''
	assert_json_eq "$OUTPUT_FILE" "$T/in"
	cmp "$STORE/certs/example.com.pem" "$T/old"
	[[ -e $T/b.key ]] || fail "key of a failed document deleted"
	m=$STORE/meta/example.com.json
	assert_json "$m" '.lastError == $d[0].error and .failCount == 1
		and .firstFailure == "2026-01-02T03:04:05Z"
		and (.failures | length) == 1 and .issuer == "Test CA"
		and .serial == $s' --slurpfile d "$T/in" --arg s "$(serial_of "$T/a.crt")"
	# The same document again records nothing new.
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_json "$m" '.failCount == 1'
	# STORE_HISTORY (10) bounds the history; failCount keeps counting.
	for i in $(seq 10 21); do
		jq -c --arg t "2026-01-02T03:04:${i}Z" '.error.time = $t' "$T/in"
	done >"$T/in12"
	run_split -1 certstore-put -s "$STORE" <"$T/in12"
	assert_line_count 12
	assert_json "$m" '.failCount == 13 and (.failures | length) == 10
		and .failures[9].time == "2026-01-02T03:04:21Z"
		and .firstFailure == "2026-01-02T03:04:05Z"'
	# Success ends the run of failures and keeps the history.
	mkdoc b example.com | certstore-put -s "$STORE" >/dev/null
	assert_json "$m" '.failCount == 0 and (.firstFailure | not)
		and (.failures | length) == 10 and .lastError.detail == "no answer"
		and .serial == $s' --arg s "$(serial_of "$T/b.crt")"
}

@test "failure of a name never stored: metadata without a certificate" {
	jq -cn '{version: 1, identifiers: ["new.example"], error: {
		step: "acme-order", type: "urn:ietf:params:acme:error:rateLimited",
		detail: "slow down", time: "2026-01-01T00:00:00Z"}}' >"$T/in"
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_stderr ''
	assert_json "$STORE/meta/new.example.json" '.name == "new.example"
		and .failCount == 1 and .lastError.detail == "slow down"'
	[[ ! -e $STORE/certs/new.example.pem ]]
}

@test "a bad document does not count as a failure of its names" {
	jq -cn '{version: 1, identifiers: ["example.com"], error: {
		step: "acme-order", type: "urn:acmepipe:error:input",
		detail: "x", time: "2026-01-01T00:00:00Z"}}' >"$T/in"
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_stderr ''
	[[ ! -e $STORE/meta/example.com.json ]]
}

@test "N in, N out, same order" {
	mkleaf a a.example
	mkleaf b b.example
	{
		mkdoc a a.example
		jq -cn '{version: 1, identifiers: ["x.example"]}'
		mkdoc b b.example
	} >"$T/in"
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_stderr "certstore-put: <stdin>:2: urn:acmepipe:error:input: no certificate in document"
	assert_line_count 3
	assert_equal "$(jq -r '.identifiers[0] + " " + (.stored != null | tostring)' \
		"$OUTPUT_FILE" | tr '\n' ' ')" \
		"a.example true x.example false b.example true " order
}

# file layout: the broken files are made by hand, since no command stores
# a chain without its key.
@test "certstore chain: a stored file without its key, or with another key: refused, nothing printed" {
	mkleaf a example.com
	mkleaf b example.com
	mkdoc a example.com | certstore-put -s "$STORE" >/dev/null
	f=$STORE/certs/example.com.pem
	run_split -0 certstore -s "$STORE" chain example.com
	cmp "$OUTPUT_FILE" "$T/a.pem"
	cp "$T/a.pem" "$f"
	run_split -1 certstore -s "$STORE" chain example.com
	assert_output ''
	assert_stderr "certstore: example.com: stored without a private key"
	cat "$T/a.pem" "$T/b.key" >"$f"
	run_split -1 certstore -s "$STORE" chain example.com
	assert_output ''
	[[ $stderr == "certstore: example.com: stored chain: "* ]] || fail "stderr: $stderr"
	assert_no_private_key
	run_split -1 certstore -s "$STORE" chain ../x.example
	[[ $stderr == "certstore: ../x.example: "* ]] || fail "stderr: $stderr"
}

@test "wildcard name is stored as _.NAME" {
	mkleaf a '*.example.com' example.com
	mkdoc a '*.example.com' example.com >"$T/in"
	run_split -0 certstore-put -s "$STORE" <"$T/in"
	f=$STORE/certs/_.example.com.pem
	[[ -f $f ]] || fail "no $f"
	assert_json "$STORE/meta/_.example.com.json" '.name == "*.example.com"'
	assert_equal "$(cert_pub "$f")" "$(key_pub "$f")" "public keys"
}

@test "store path that is a regular file: exit 2, one line" {
	: >"$T/file"
	run_split -2 certstore-put -s "$T/file" </dev/null
	assert_output ''
	assert_stderr "certstore-put: $T/file: not a directory"
}

@test "no store: exit 2, one line; --help: usage, exit 0" {
	run_split -2 certstore-put </dev/null
	assert_stderr "certstore-put: --store: missing (or set ACMEPIPE_STORE)"
	run_split -0 certstore-put --help
	assert_output "usage: certstore-put [-v] [-g group] [-m mode] [-s dir]"
	assert_stderr ''
	run_split -0 certstore-put -h
	assert_output "usage: certstore-put [-v] [-g group] [-m mode] [-s dir]"
	run_split -2 certstore-put -s "$STORE" extra </dev/null
	assert_stderr "certstore-put: unexpected argument: extra
usage: certstore-put [-v] [-g group] [-m mode] [-s dir]"
}

@test "certificate that does not match the key: refused, not stored" {
	mkleaf a example.com
	mkleaf b example.com
	mkdoc a example.com | jq -c --arg k "$T/b.key" '.key.path = $k' >"$T/in"
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_stderr "certstore-put: <stdin>:1: urn:acmepipe:error:certificate: certificate key does not match the certificate key file"
	[[ ! -e $STORE/certs/example.com.pem && ! -e $STORE/meta/example.com.json ]]
	[[ -e $T/b.key ]] || fail "key file deleted"
	# Names that differ from the certificate's are refused as well.
	mkdoc a example.com www.example.com >"$T/in"
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_stderr "certstore-put: <stdin>:1: urn:acmepipe:error:certificate: certificate names differ from the order: missing www.example.com"
	assert_equal "$(find "$STORE/certs" -type f)" "" "stored files"
}

@test "16 concurrent certstore-put for one name: one complete file" {
	for i in $(seq 1 16); do
		mkleaf "c$i" example.com
		mkdoc "c$i" example.com >"$T/in$i"
	done
	for i in $(seq 1 16); do
		certstore-put -s "$STORE" <"$T/in$i" >"$T/out$i" 2>"$T/err$i" 3>&- &
	done
	wait
	for i in $(seq 1 16); do
		assert_json "$T/out$i" '.stored.names == ["example.com"]'
		[[ ! -s $T/err$i ]] || fail "$(cat "$T/err$i")"
	done
	assert_equal "$(ls -A "$STORE/certs")" example.com.pem "certs/"
	assert_equal "$(ls -A "$STORE/meta")" example.com.json "meta/"
	f=$STORE/certs/example.com.pem
	assert_equal "$(cert_pub "$f")" "$(key_pub "$f")" "public keys"
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' "$f")" 2 certificates
	assert_json "$STORE/meta/example.com.json" '.name == "example.com"'
}

@test "unwritable store: error names the file, old certificate kept" {
	mkleaf a example.com
	if ((EUID != 0)); then
		mkdoc a example.com | certstore-put -s "$STORE" >/dev/null
		chmod 0500 "$STORE/certs"
		why="Permission denied"
	else
		# Root writes anywhere: fill a small tmpfs instead.
		mkdir "$T/tmpfs"
		mount -t tmpfs -o size=256k,mode=0755 tmpfs "$T/tmpfs" 2>/dev/null ||
			skip "root, but cannot mount a tmpfs here"
		MOUNTED=$T/tmpfs
		STORE=$T/tmpfs/store
		mkdoc a example.com | certstore-put -s "$STORE" >/dev/null
		dd if=/dev/zero of="$T/tmpfs/fill" bs=4k 2>/dev/null || true
		why="No space left on device"
	fi
	cp "$STORE/certs/example.com.pem" "$T/old"
	mkleaf b example.com
	mkdoc b example.com >"$T/in"
	run_split -1 certstore-put -s "$STORE" <"$T/in"
	assert_stderr "certstore-put: <stdin>:1: example.com: urn:acmepipe:error:local: certs/example.com.pem: $why"
	cmp "$STORE/certs/example.com.pem" "$T/old"
	assert_equal "$(ls -A "$STORE/certs")" example.com.pem "certs/ (no temporary file)"
	[[ -e $T/b.key ]] || fail "key file deleted"
	assert_json "$output" '.error.step == "certstore-put" and (.stored | not)
		and .key.path == $k' --arg k "$T/b.key"
}

@test "/dev/full on stdout: exit 2" {
	[[ -w /dev/full ]] || skip "no /dev/full"
	mkleaf a example.com
	mkdoc a example.com >"$T/in"
	run_split -2 sh -c 'certstore-put -s "$1" <"$2" >/dev/full' sh "$STORE" "$T/in"
	assert_stderr "certstore-put: <stdout>: No space left on device"
}

@test "nginx serves the stored file as certificate and key, new one without reload" {
	mkleaf a example.com
	mkdoc a example.com | certstore-put -s "$STORE" >/dev/null
	nginx_start "$T/www" "$STORE"
	served_verify example.com "$T/ca.pem" || fail "chain does not verify"
	assert_equal "$(served_serial example.com)" "$(openssl x509 -in "$T/a.crt" -noout -serial | sed 's/^serial=//')" serial
	mkleaf b example.com
	mkdoc b example.com | certstore-put -s "$STORE" >/dev/null
	assert_equal "$(served_serial example.com)" "$(openssl x509 -in "$T/b.crt" -noout -serial | sed 's/^serial=//')" "serial after replace"
}

@test "the EXAMPLES of certstore-put(1) and acmepipe-store(5) run" {
	local -a ex
	local grp=ssl-cert
	# Debian's ssl-cert package makes that group; without it, our own.
	getent group ssl-cert >/dev/null || grp=$(id -gn)
	DAYS=10 mkleaf a example.com www.example.com
	DAYS=90 mkleaf b example.org
	{
		mkdoc a example.com www.example.com
		mkdoc b example.org
	} >"$T/issued.jsonl"
	cd "$T"
	mapfile -t -d '' ex < <(man_examples "$REPO_ROOT/man/certstore-put.1")
	assert_equal "${#ex[@]}" 2 "examples in certstore-put.1"
	run_split -0 bash -c "${ex[0]//ssl-cert/$grp}"
	assert_line_count 2 stored.jsonl
	assert_equal "$(stat -c %G "$STORE/certs/example.org.pem")" "$grp" group
	run_split -0 bash -c "${ex[1]}"
	assert_output ''
	# A failure for example.org, for the second example of the store page.
	mkleaf c example.org
	mkdoc c example.org | jq -c '.error = {step: "acme-order",
		type: "urn:ietf:params:acme:error:connection", detail: "no answer",
		time: "2026-01-01T00:00:00Z"}' | certstore-put -s "$STORE" >/dev/null ||
		true
	mapfile -t -d '' ex < <(man_examples "$REPO_ROOT/man/acmepipe-store.5")
	assert_equal "${#ex[@]}" 2 "examples in acmepipe-store.5"
	run_split -0 bash -c "${ex[0]}"
	assert_output "example.com
www.example.com"
	run_split -0 bash -c "${ex[1]}"
	assert_output "$(printf 'example.org\tno answer')"
}

@test "temporary files of a killed writer live in tmp/ and are swept after an hour" {
	mkleaf a example.com
	mkdoc a example.com >"$T/in"
	run_split -0 certstore-put -s "$STORE" <"$T/in"
	cp "$OUTPUT_FILE" "$T/stored"
	assert_equal "$(stat -c %a "$STORE/tmp")" 700 "tmp mode"
	printf 'half a key\n' >"$STORE/tmp/certs.example.com.pem.dead01"
	touch -d '2 hours ago' "$STORE/tmp/certs.example.com.pem.dead01"
	printf 'in flight\n' >"$STORE/tmp/certs.example.org.pem.live01"
	run_split -0 certstore-put -s "$STORE" <"$T/stored"
	[ ! -e "$STORE/tmp/certs.example.com.pem.dead01" ] || fail "old temporary file kept"
	[ -e "$STORE/tmp/certs.example.org.pem.live01" ] || fail "a writer's fresh file removed"
	# Nothing temporary ever stands beside the served files.
	assert_equal "$(find "$STORE/certs" "$STORE/meta" -name '.*' | wc -l)" 0 "dot files"
}

# file layout: the journal's rules (acmepipe-store(5), Writes), one state
# a writer killed or cut by a power loss can leave at a time.
@test "a put left in journal/ is finished or undone by the next command that opens the store" {
	mkleaf a example.com
	mkleaf b example.com
	mkdoc a example.com | certstore-put -s "$STORE" >/dev/null
	mkdoc b example.com | certstore-put -s "$T/other" >/dev/null
	sa=$(serial_of "$T/a.crt") sb=$(serial_of "$T/b.crt")
	[[ $sa != "$sb" ]] || fail "the two leaves share a serial"
	cp -p "$STORE/certs/example.com.pem" "$T/a.stored"
	cp -p "$STORE/meta/example.com.json" "$T/a.json"
	new_pem=$T/other/certs/example.com.pem new_json=$T/other/meta/example.com.json
	j=$STORE/journal
	# reset: the store as a put of a left it, journal/ empty.
	reset() {
		cp -p "$T/a.stored" "$STORE/certs/example.com.pem"
		cp -p "$T/a.json" "$STORE/meta/example.com.json"
		rm -f "$j"/*
	}
	# after WANT: open the store, then check both files and journal/.
	after() {
		run_split -0 certstore -s "$STORE" list
		assert_json "$output" '.name == "example.com"'
		assert_equal "$(serial_of "$STORE/certs/example.com.pem")" "$1" "$2: certificate"
		assert_json "$STORE/meta/example.com.json" '.serial == $s' --arg s "$1"
		assert_equal "$(find "$j" -type f | wc -l)" 0 "$2: journal/ not emptied"
	}
	mkdir -p "$j"
	# Both staged: committed, both go into place.
	reset
	cp "$new_pem" "$j/example.com.pem"
	cp "$new_json" "$j/example.com.json"
	after "$sb" "both staged"
	# The metadata alone, its certificate already in place: it follows.
	reset
	cp "$new_pem" "$STORE/certs/example.com.pem"
	cp "$new_json" "$j/example.com.json"
	after "$sb" "certificate settled"
	# The metadata alone, its certificate never made it: undone.
	reset
	cp "$new_json" "$j/example.com.json"
	after "$sa" "certificate lost"
	# The certificate alone: never committed, undone.
	reset
	cp "$new_pem" "$j/example.com.pem"
	after "$sa" "metadata never staged"
	# A removal marked: both files go, and the name with them.
	reset
	: >"$j/example.com.drop"
	run_split -0 certstore -s "$STORE" list
	assert_output ''
	[[ ! -e $STORE/certs/example.com.pem && ! -e $STORE/meta/example.com.json ]] ||
		fail "a marked removal left a file"
	assert_equal "$(find "$j" -type f | wc -l)" 0 "drop: journal/ not emptied"
}
