#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# The store contract: what every backend must do, through the commands
# only (certstore-put, certstore, cert-expiring), never through its files,
# so the same tests run against any backend (tests/helpers/store.bash,
# ACMEPIPE_TEST_BACKEND; tests/42-store-postgresql.bats is this file, run
# against PostgreSQL). Certificates come from a throwaway openssl CA;
# the ARI writes of cert-expiring are answered by the test proxy in front
# of Pebble. Where nginx serves, it serves the file store (the layout
# tests are tests/40-certstore.bats).

load helpers/common

setup_file() {
	store_start
	pebble_start
	proxy_start
}

setup() {
	T=$BATS_TEST_TMPDIR
	S=$(store_new)
	MOUNTED=
	export TEST_CERT_AKI=1 # a CertID, so cert-expiring asks about it
	test_ca "$T" 30
}

teardown() {
	if [[ -n $MOUNTED ]]; then
		umount "$MOUNTED" || true
	fi
	store_frontend_stop
	nginx_stop
	harness_teardown
}

@test "store: put, then read back: metadata, chain and key, list" {
	leaf a example.com www.example.com
	run_split -0 certstore-put -s "$S" < <(doc a example.com www.example.com)
	assert_json "$OUTPUT_FILE" '.stored.names == ["example.com", "www.example.com"] and .key == null'
	assert_stderr ''
	for n in example.com www.example.com; do
		store_meta "$S" "$n" >"$T/m"
		assert_json "$T/m" '.name == $n and .identifiers == ["example.com", "www.example.com"]
		    and .serial == $s and .issuer == "Test CA" and .keyType == "ec-p256"
		    and (.certID | test("^[A-Za-z0-9_-]+[.][A-Za-z0-9_-]+$"))
		    and .failCount == 0 and (.stored | fromdate) > 0
		    and (.notAfter | fromdate) > (.notBefore | fromdate)' \
			--arg n "$n" --arg s "$(leaf_serial a)"
		# The chain as stored, and the stored key belongs to it.
		run_split -0 certstore -s "$S" chain "$n"
		cmp "$OUTPUT_FILE" "$T/a.pem" || fail "$n: the chain read back differs"
		assert_no_private_key "$OUTPUT_FILE"
	done
	assert_equal "$(store_names "$S")" $'example.com\nwww.example.com' "names"
	[[ ! -e $T/a.pending.key ]] || fail "the key file is still there"
}

@test "store: a second put replaces the certificate; failures carried over, the run ends" {
	leaf a example.com
	leaf b example.com
	certstore-put -s "$S" < <(doc a example.com) >/dev/null
	failed example.com "down" | certstore-put -s "$S" >/dev/null || true
	assert_equal "$(store_meta "$S" example.com .failCount)" 1 "failCount after a failure"
	certstore-put -s "$S" < <(doc b example.com) >/dev/null
	store_meta "$S" example.com >"$T/m"
	assert_json "$T/m" '.serial == $s and .failCount == 0 and .firstFailure == null
	    and .lastError.detail == "down" and (.failures | length) == 1' --arg s "$(leaf_serial b)"
	assert_equal "$(store_serial "$S" example.com)" "$(leaf_serial b)" "stored chain"
}

@test "store: failure history: counted, the newest 10 kept, repeats and bad documents not counted" {
	for i in $(seq 1 12); do failed fail.example "attempt $i"; done >"$T/in"
	run_split -1 certstore-put -s "$S" <"$T/in"
	assert_line_count 12
	store_meta "$S" fail.example >"$T/m"
	assert_json "$T/m" '.failCount == 12 and (.failures | map(.detail)) == [range(3; 13) | "attempt \(.)"]
	    and .lastError.detail == "attempt 12" and .firstFailure == $f' \
		--arg f "$(head -n 1 "$T/in" | jq -r .error.time)"
	# The same document again: a rerun, nothing new.
	tail -n 1 "$T/in" | certstore-put -s "$S" >/dev/null || true
	assert_equal "$(store_meta "$S" fail.example .failCount)" 12 "after a rerun"
	# A bad document names no attempt.
	jq -c '.error.type = "urn:acmepipe:error:input" | .error.detail = "bad"' <<<"$(failed fail.example x)" |
		certstore-put -s "$S" >/dev/null || true
	assert_equal "$(store_meta "$S" fail.example .failCount)" 12 "after a bad document"
}

@test "store: add, unpark, remove" {
	run_split -0 certstore -s "$S" add new.example
	store_meta "$S" new.example >"$T/m"
	assert_json "$T/m" '.name == "new.example" and (.added | fromdate) > 0 and .serial == null'
	# Added again: it stays as it was.
	run_split -0 certstore -s "$S" add new.example
	assert_json_eq "$(store_meta "$S" new.example)" "$(cat "$T/m")"
	run_split -1 certstore -s "$S" chain new.example
	assert_stderr "certstore: new.example: no certificate"
	for i in 1 2 3; do failed new.example "try $i"; done | certstore-put -s "$S" >/dev/null || true
	run_split -0 certstore -s "$S" unpark new.example
	store_meta "$S" new.example >"$T/m"
	assert_json "$T/m" '.failCount == 0 and .firstFailure == null and (.unparked | fromdate) > 0
	    and .lastError.detail == "try 3" and (.failures | length) == 3'
	run_split -0 certstore -s "$S" remove new.example
	run_split -1 certstore -s "$S" list new.example
	assert_stderr "certstore: new.example: not managed"
	run_split -1 certstore -s "$S" remove new.example
	assert_stderr "certstore: new.example: not managed"
	run_split -1 certstore -s "$S" unpark new.example
	assert_stderr "certstore: new.example: not managed"
	assert_equal "$(store_names "$S")" "" "names"
}

@test "store: a removed name with a certificate: gone for every reader" {
	leaf a gone.example
	certstore-put -s "$S" < <(doc a gone.example) >/dev/null
	run_split -0 certstore -s "$S" remove gone.example
	run_split -1 certstore -s "$S" chain gone.example
	assert_stderr "certstore: gone.example: no certificate"
	run_split -0 cert-expiring -A -s "$S" --days 365
	assert_output ''
}

@test "store: names that must never become paths are refused, nothing stored" {
	for n in '../x.example' 'a/b.example' '..' '.' 'x..example' '/etc/passwd' 'a b.example'; do
		run_split -1 certstore -s "$S" add "$n"
		[[ $stderr == "certstore: $n: "* ]] || fail "add $n: $stderr"
		jq -cn --arg n "$n" '{version: 1, identifiers: [$n], certificate: {pem: "x"}, key: {path: "/nonexistent"}}' >"$T/in"
		run_split -1 certstore-put -s "$S" <"$T/in"
		assert_json "$OUTPUT_FILE" '.error.type == "urn:acmepipe:error:identifier"'
		failed "$n" x | certstore-put -s "$S" >/dev/null || true
	done
	assert_equal "$(store_names "$S")" "" "names"
	[[ ! -e $T/x.example && ! -e $T/../x.example ]] || fail "written outside the store"
}

# Makes the store S unwritable the way its backend can be, and sets WHY
# to what the reasons then say: for files, a full file system (root writes
# through modes); for PostgreSQL, a database whose sessions are read-only.
# Skips when it cannot.
store_unwritable() {
	case ${ACMEPIPE_TEST_BACKEND:-files} in
	postgresql)
		pg_psql "$S" "ALTER DATABASE \"${S##*/}\" SET default_transaction_read_only = on" ||
			fail "cannot make the database read-only"
		WHY="read-only transaction"
		;;
	files)
		WHY="No space left on device"
		mkdir "$T/tmpfs"
		mount -t tmpfs -o size=256k,mode=0755 tmpfs "$T/tmpfs" 2>/dev/null ||
			skip "cannot mount a tmpfs here"
		MOUNTED=$T/tmpfs
		cp -a "$S" "$T/tmpfs/store"
		S=$T/tmpfs/store
		dd if=/dev/zero of="$T/tmpfs/fill" bs=4k 2>/dev/null || true
		;;
	*) skip "no way to make $ACMEPIPE_TEST_BACKEND unwritable" ;;
	esac
}

@test "store: a store that cannot be written: each document fails with the reason, nothing changes" {
	leaf a full.example
	leaf b full.example
	certstore-put -s "$S" < <(doc a full.example) >/dev/null
	store_unwritable
	store_meta "$S" full.example >"$T/before"
	{ doc b full.example; failed full.example "down"; } >"$T/in"
	run_split -1 certstore-put -s "$S" <"$T/in"
	assert_line_count 2
	assert_json "$(head -n 1 "$OUTPUT_FILE")" '.error.step == "certstore-put"
	    and .error.type == "urn:acmepipe:error:local" and .error.identifier == "full.example"
	    and (.error.detail | test($why))' --arg why "$WHY"
	[[ ${stderr_lines[-1]} == "certstore-put: cannot record failure: "*"$WHY"* ]] ||
		fail "stderr: $stderr"
	assert_json_eq "$(store_meta "$S" full.example)" "$(cat "$T/before")"
	assert_equal "$(store_serial "$S" full.example)" "$(leaf_serial a)" "stored chain"
	run_split -1 certstore -s "$S" add other.example
	[[ $stderr == *"$WHY"* ]] || fail "add: $stderr"
}

@test "store: 16 processes record a failure for one name at once: failCount 16, newest 10, every time" {
	for round in $(seq 1 6); do
		n=round$round.example
		for i in $(seq 1 16); do
			failed "$n" "process $i" >"$T/in$i"
		done
		pids=()
		for i in $(seq 1 16); do
			certstore-put -s "$S" <"$T/in$i" >/dev/null 2>"$T/err$i" &
			pids+=("$!")
		done
		for i in $(seq 1 16); do
			wait "${pids[i - 1]}" || true # exit 1: the document failed
			[[ ! -s $T/err$i ]] || fail "round $round, process $i: $(cat "$T/err$i")"
		done
		store_meta "$S" "$n" >"$T/m"
		assert_json "$T/m" '.failCount == 16 and (.failures | length) == 10
		    and (.failures | map(.detail) | unique | length) == 10
		    and (.failures[-1] == .lastError)' ||
			fail "round $round"
	done
}

@test "store: 8 puts of 8 certificates for one name racing 8 cert-expiring ARI writers: the metadata describes the stored certificate" {
	n=race.example
	for i in $(seq 1 8); do
		leaf "c$i" "$n"
		doc "c$i" "$n" >"$T/in$i"
	done
	leaf c0 "$n"
	certstore-put -s "$S" < <(doc c0 "$n") >/dev/null
	proxy_ari '{"default": {"start": 864000, "end": 950400, "retryAfter": 60}}'
	# nginx serves the store, or (a shared store) its front end's mirror.
	store_frontend "$S" "$T/mirror"
	nginx_start "$T/www" "$STORE_FRONTEND"
	served=1
	# The ARI writers: each asks again whenever a new certificate has no
	# answer yet, and writes it only while the metadata still has its serial.
	aris=()
	for j in $(seq 1 8); do
		(for k in $(seq 1 15); do cert-expiring -s "$S" || true; done) >/dev/null 2>"$T/ari$j" &
		aris+=("$!")
	done
	pids=()
	for i in $(seq 1 8); do
		certstore-put -s "$S" <"$T/in$i" >"$T/out$i" 2>"$T/err$i" &
		pids+=("$!")
	done
	# Meanwhile one read of the file nginx serves always finds a whole
	# chain and its own key. nginx itself opens the file twice per
	# handshake (ssl_certificate, then ssl_certificate_key): a handshake
	# whose two opens straddle a replacement finds the new key beside the
	# old certificate and fails with "key values mismatch". That window is
	# nginx's (acmepipe-store(5), CAVEATS), so a handshake may fail only
	# with it; a half-written file would fail any other way.
	handshakes=0 failed=0
	while [[ -n $served ]] && kill -0 "${aris[@]}" 2>/dev/null && ((handshakes < 100)); do
		pem_whole "$STORE_FRONTEND/certs/$n.pem" || fail "one read found no whole chain and key"
		served_serial "$n" >/dev/null || failed=$((failed + 1))
		handshakes=$((handshakes + 1))
	done
	if ((failed > 0)); then
		errors=$(grep -E '\[(error|crit|alert|emerg)\]' "$TEST_TMP/nginx/error.log")
		! grep -v 'SSL_use_PrivateKey(.*key values mismatch' <<<"$errors" ||
			fail "$failed of $handshakes handshakes failed, not only in nginx's window"
		(($(grep -c . <<<"$errors") >= failed)) ||
			fail "$failed handshakes failed, nginx logged $(grep -c . <<<"$errors")"
	fi
	for i in $(seq 1 8); do
		wait "${pids[i - 1]}" || fail "certstore-put $i: $(cat "$T/err$i")"
	done
	wait "${aris[@]}"
	for j in $(seq 1 8); do
		! grep -v 'renewal info' "$T/ari$j" | grep . || fail "cert-expiring $j: $(cat "$T/ari$j")"
	done
	stored=$(store_serial "$S" "$n")
	store_meta "$S" "$n" >"$T/m"
	assert_json "$T/m" '.serial == $s' --arg s "$stored"
	# When an answer is stored, it is about the stored certificate.
	assert_json "$T/m" '.ari == null or .ari.certID == .certID'
	# One of the 8 won, and nginx serves it.
	grep -qx "$stored" < <(for i in $(seq 1 8); do leaf_serial "c$i"; done) ||
		fail "stored serial $stored is none of the 8"
	# A mirror follows within seconds.
	for _ in $(seq 1 50); do
		[[ $(served_serial "$n" | tr 'A-F' 'a-f') == "$stored" ]] && break
		sleep 0.1
	done
	assert_equal "$(served_serial "$n" | tr 'A-F' 'a-f')" "$stored" "served"
	((handshakes > 0)) || fail "no handshake during the race"
	[[ -n $(proxy_log | jq -r 'select(.path | startswith("/renewal-info/")) | .path' | head -n 1) ]] ||
		fail "cert-expiring asked nothing"
}

@test "store: add and remove of one name racing 8 certstore-put: managed and whole, or not managed" {
	n=addrm.example
	for round in $(seq 1 5); do
		for i in $(seq 1 8); do
			leaf "r$round-$i" "$n"
			doc "r$round-$i" "$n" >"$T/in$i"
		done
		for i in $(seq 1 8); do
			certstore-put -s "$S" <"$T/in$i" >/dev/null 2>&1 &
		done
		for k in 1 2 3 4; do
			certstore -s "$S" remove "$n" 2>/dev/null || true
			certstore -s "$S" add "$n" 2>/dev/null || true
		done &
		if ((round % 2)); then certstore -s "$S" remove "$n" 2>/dev/null & fi
		wait
		# Either not managed, or managed with metadata that describes the
		# certificate stored (or, just added, neither has a certificate).
		if m=$(certstore -s "$S" list "$n" 2>/dev/null); then
			serial=$(jq -r '.serial // empty' <<<"$m")
			if [[ -n $serial ]]; then
				assert_equal "$(store_serial "$S" "$n")" "$serial" "round $round: stored chain"
			else
				assert_json "$m" '.added != null and .identifiers == null'
				run_split -1 certstore -s "$S" chain "$n"
				assert_stderr "certstore: $n: no certificate"
			fi
		else
			run_split -1 certstore -s "$S" chain "$n"
			assert_stderr "certstore: $n: no certificate"
		fi
	done
}

@test "store: writers killed with SIGKILL at random points: never a half-written or stale-described entry" {
	n=kill.example
	for i in $(seq 1 6); do
		leaf "k$i" "$n"
	done
	certstore-put -s "$S" < <(doc k1 "$n") >/dev/null
	for run in $(seq 1 40); do
		i=$((1 + RANDOM % 6))
		{
			doc "k$i" "$n"
			failed "$n" "run $run"
		} >"$T/in"
		ms=$((1 + RANDOM % 40))
		(timeout -s KILL "0.$(printf '%03d' "$ms")" certstore-put -s "$S" <"$T/in" >/dev/null 2>&1 ||
			exit 0) 2>/dev/null &
		(timeout -s KILL "0.$(printf '%03d' $((1 + RANDOM % 40)))" certstore -s "$S" unpark "$n" >/dev/null 2>&1 ||
			exit 0) 2>/dev/null &
		wait
		m=$(certstore -s "$S" list "$n") || fail "run $run: $n not managed"
		jq -e 'type == "object" and (.serial | type) == "string"' <<<"$m" >/dev/null ||
			fail "run $run: metadata: $m"
		assert_equal "$(store_serial "$S" "$n")" "$(jq -r .serial <<<"$m")" "run $run: stored chain"
	done
}
