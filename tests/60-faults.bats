#!/usr/bin/env bats
#
# Faults survived (issue 5): whole pipelines against a real Pebble and
# nginx while the CA rejects nonces, dies mid-poll or stalls, a responder
# is down, certstore-put is killed, the store's file system is full, or 16
# writers race for one name. Every test asserts the end state, and where a
# document failed, that rerunning the pipeline on it issues the
# certificate.
#
# Pebble restarts (tests 1, 3, 4) make it forget every account and order:
# ACMEPIPE_AGREE_TOS=1 lets acme-order register the account key again,
# and acme-order replaces a forgotten order (404) with a new one.

load helpers/common

setup_file() {
	pebble_start || return 1
	mkdir -p "$TEST_TMP/www"
	nginx_start "$TEST_TMP/www" "$TEST_TMP/store" || return 1
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key
	export ACMEPIPE_AGREE_TOS=1
	export ACMEPIPE_WEBROOT=$TEST_TMP/www
}

setup() {
	T=$BATS_TEST_TMPDIR
	# Each test its own store (new keys go to its private/), except where
	# nginx must serve it: $TEST_TMP/store.
	export ACMEPIPE_STORE=$T/store
	MOUNTED=
	HELPERS=()
}

teardown() {
	local p
	harness_teardown # log tails first, while they show the failure
	for p in "${HELPERS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [[ -n $MOUNTED ]]; then
		umount "$MOUNTED" || umount -l "$MOUNTED"
	fi
	# A test that failed half-way may leave Pebble dead or rejecting
	# nonces; the next test gets the usual one.
	if ! proc_alive "$(cat "$TEST_TMP/pebble/pebble.pid" 2>/dev/null)" ||
		grep -q NONCEREJECT=50 "$TEST_TMP/pebble/extra.env"; then
		pebble_restart PEBBLE_WFE_NONCEREJECT=0
	fi
}

doc() { jq -cn --args '{identifiers: $ARGS.positional}' "$@"; }

# pebble_kill: SIGKILL to Pebble (not challtestsrv); returns once it died.
pebble_kill() {
	local pid
	pid=$(<"$TEST_TMP/pebble/pebble.pid")
	kill -KILL "$pid"
	wait_until 50 "$pid" false || true # returns 2 once it died
	! proc_alive "$pid"
}

# stored_ok NAME [STORE [ROOT]]: NAME has a stored chain in STORE (default
# ACMEPIPE_STORE) with its matching key (certstore chain checks it), and
# the chain verifies up to ROOT (default: the root of the Pebble running
# now).
stored_ok() {
	local s=${2:-$ACMEPIPE_STORE} root=${3:-$T/root.pem}
	certstore -s "$s" chain "$1" >"$T/stored.pem" ||
		fail "stored_ok: $1: no stored chain, or certificate and key do not match"
	if [[ -z ${3:-} ]]; then
		pebble_root >"$root" || fail "stored_ok: no Pebble root"
	fi
	openssl verify -CAfile "$root" -untrusted "$T/stored.pem" "$T/stored.pem" >/dev/null ||
		fail "stored_ok: $1: chain does not verify"
}

# no_cert NAME: no certificate is stored for NAME (certstore chain).
no_cert() {
	local e
	if e=$(certstore -s "$ACMEPIPE_STORE" chain "$1" 2>&1 >/dev/null); then
		return 1
	fi
	[[ $e == "certstore: $1: no certificate" ]] || {
		echo "no_cert $1: $e" >&2
		return 1
	}
}

# serial FILE: serial of FILE's first certificate, as openssl prints it.
serial() {
	local s
	s=$(openssl x509 -in "$1" -noout -serial) || return 1
	echo "${s#serial=}"
}

# no_temp_files DIR: nothing in DIR (recursively) is a temporary file
# (store.c's ".FILE.XXXXXX").
# file layout: temporary files are files of the files backend.
no_temp_files() {
	local left
	left=$(find "$1" -name '.*' -print)
	[[ -z $left ]] || fail "temporary files left behind:" "$left"
}

@test "Pebble rejecting half the nonces: 50 full pipelines all succeed" {
	pebble_restart PEBBLE_WFE_NONCEREJECT=50
	for i in $(seq 1 50); do doc "nonce$i.example.com"; done >"$T/in"
	# -v on the ACME steps only, to see the rejections; certstore-put
	# stays quiet, so any other stderr line is a diagnostic.
	run_split bash -c 'acme-order -v <"$1" | acme-challenge -v |
		acme-finalize -v | certstore-put' _ "$T/in"
	pebble_root >"$T/root.pem"
	pebble_restart PEBBLE_WFE_NONCEREJECT=0
	assert_status 0
	assert_line_count 50 "$OUTPUT_FILE"
	assert_json "$OUTPUT_FILE" '.error == null and .stored.names == .identifiers'
	assert_equal "$(jq -r '.identifiers[0]' "$OUTPUT_FILE" | tr '\n' ' ')" \
		"$(seq -f 'nonce%g.example.com' 1 50 | tr '\n' ' ')" order
	assert_equal "$(certstore -s "$ACMEPIPE_STORE" list |
		jq -n '[inputs | select((.name | startswith("nonce")) and .serial != null)] | length')" \
		50 "stored certificates"
	# The root of the Pebble that issued them, fetched before the restart.
	for i in 1 25 50; do
		stored_ok "nonce$i.example.com" "$ACMEPIPE_STORE" "$T/root.pem"
	done
	# Rejections happened (badNonce is a 400) and were retried silently:
	# stderr holds -v lines only, each whole although three processes
	# share the stream.
	assert_contains "$stderr" " 400 "
	if bad=$(grep -Ev '^acme-(order|challenge|finalize): (GET|HEAD|POST) https://[^ ]+ [0-9]+ [0-9]+ms$' \
		<<<"$stderr"); then
		fail "stderr lines that are not whole -v lines:" "$bad"
	fi
}

@test "http-01 responder down for one name: that document fails with the CA's reason, the rest succeed" {
	challtest_add_a down.example.com 127.0.0.2 # nothing listens there
	doc up1.example.com >"$T/in"
	doc down.example.com >>"$T/in"
	doc up2.example.com >>"$T/in"
	run_split -1 bash -c 'acme-order <"$1" | acme-challenge | acme-finalize |
		certstore-put' _ "$T/in"
	challtest_clear_a down.example.com
	assert_line_count 3 "$OUTPUT_FILE"
	assert_json "${lines[1]}" '.identifiers == ["down.example.com"]
		and .error.step == "acme-challenge"
		and .error.type == "urn:ietf:params:acme:error:connection"
		and .error.identifier == "down.example.com"
		and (.error.detail | contains("127.0.0.2"))
		and (.stored | not) and (.certificate | not)
		and .authorizations[0].status == "invalid"'
	for i in 0 2; do
		assert_json "${lines[i]}" '.error == null and .stored.names == .identifiers'
	done
	stored_ok up1.example.com
	stored_ok up2.example.com
	no_cert down.example.com || fail "down.example.com stored"
	# One line, from the step that failed, with the CA's reason.
	assert_equal "${#stderr_lines[@]}" 1 "stderr lines"
	detail=$(jq -r .error.detail <<<"${lines[1]}")
	assert_stderr "acme-challenge: <stdin>:2: down.example.com: urn:ietf:params:acme:error:connection: $detail"
	# The store remembers the failure for monitoring.
	assert_json "$(store_meta "$ACMEPIPE_STORE" down.example.com)" '.failCount == 1
		and .lastError.type == "urn:ietf:params:acme:error:connection"'
}

@test "Pebble killed or restarted while acme-challenge polls: clear error, the rerun issues the certificate" {
	# The VA fetches the tokens from 127.0.0.3, where a socket listens but
	# never accepts: validation hangs (up to Pebble's 15 s), so the
	# challenge stays pending while acme-challenge polls it.
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.3:$ARGV[0]",
		    Listen => 16, ReuseAddr => 1) or die "listen: $!\n";
		sleep 120' "$HTTP01_PORT" </dev/null >"$T/stall.log" 2>&1 3>&- &
	stall=$!
	HELPERS+=("$stall")
	wait_until 50 "$stall" bash -c "exec 3<>/dev/tcp/127.0.0.3/$HTTP01_PORT" ||
		fail "no stalled responder on 127.0.0.3:$HTTP01_PORT" "$(cat "$T/stall.log")"
	# killed: Pebble is gone at the next poll. restarted: Pebble is back
	# at the next poll (acme-challenge held with SIGSTOP meanwhile) but
	# has forgotten the account, the order and the authorization.
	for how in killed restarted; do
		name=$how.example.com
		challtest_add_a "$name" 127.0.0.3
		acme-order <<<"$(doc "$name")" >"$T/$how.ordered"
		assert_json "$T/$how.ordered" '.error == null'
		acme-challenge -v <"$T/$how.ordered" >"$T/$how.out" 2>"$T/$how.err" 3>&- &
		pid=$!
		HELPERS+=("$pid")
		# Polling: the challenge is fetched again after it was answered
		# (its second request).
		wait_until 150 "$pid" bash -c '[ "$(grep -c "^acme-challenge: POST .*/chalZ/.* 200 " "$1")" -ge 2 ]' _ "$T/$how.err" ||
			fail "$how: acme-challenge is not polling" "$(cat "$T/$how.err")"
		if [[ $how == killed ]]; then
			pebble_kill
			want=urn:acmepipe:error:connection
		else
			kill -STOP "$pid"
			pebble_restart
			kill -CONT "$pid"
			want=urn:ietf:params:acme:error:accountDoesNotExist
		fi
		status=0
		wait "$pid" || status=$?
		assert_equal "$status" 1 "$how: acme-challenge exit status"
		# A restart that lands while a poll's answer is in flight cuts
		# that request instead ("Transferred a partial file"): a
		# connection error, just as clear, and the rerun still works.
		if [[ $how == restarted ]] && jq -e '.error.type == "urn:acmepipe:error:connection"
		    and (.error.detail | test(": Transferred a partial file$|: Connection reset|: Empty reply"))' \
			"$T/$how.out" >/dev/null; then
			want=urn:acmepipe:error:connection
		fi
		assert_json "$T/$how.out" '.error.step == "acme-challenge"
			and .error.type == $t and .error.identifier == $n
			and (.error.detail | length) > 0' --arg t "$want" --arg n "$name"
		assert_equal "$(grep -v '^acme-challenge: \(GET\|HEAD\|POST\) ' "$T/$how.err")" \
			"acme-challenge: <stdin>:1: $name: $want: $(jq -r .error.detail "$T/$how.out")" \
			"$how: diagnostic"
		if [[ $how == killed ]]; then
			chal=$(jq -r '.authorizations[0].challenges[] | select(.type == "http-01") | .url' "$T/$how.ordered")
			assert_json "$T/$how.out" '.error.detail | startswith($a + ": ")' --arg a "$chal"
			pebble_restart
		fi
	done
	# The responder is back; rerun both documents.
	kill -KILL "$stall"
	challtest_clear_a killed.example.com
	challtest_clear_a restarted.example.com
	cat "$T/killed.out" "$T/restarted.out" >"$T/failed"
	run_split -0 bash -c 'jq -c "del(.error)" "$1" | acme-order | acme-challenge |
		acme-finalize | certstore-put' _ "$T/failed"
	assert_stderr ''
	assert_line_count 2
	assert_json "$OUTPUT_FILE" '.error == null and .stored.names == .identifiers'
	assert_equal "$(jq -r '.identifiers[0]' "$OUTPUT_FILE" | tr '\n' ' ')" \
		"killed.example.com restarted.example.com " order
	# New orders replaced the forgotten ones.
	i=0
	for how in killed restarted; do
		assert_json "${lines[i++]}" '.order.url != $o' \
			--arg o "$(jq -r .order.url "$T/$how.ordered")"
		stored_ok "$how.example.com"
	done
}

@test "Pebble killed during finalize: clear error, the rerun issues the certificate" {
	# Deterministic, whatever the machine's load: given an order it does
	# not know to be ready, acme-finalize refreshes it, then makes an RSA
	# 4096 key (a second or so), then sends the CSR. Pebble is stopped
	# (SIGSTOP) as soon as the refresh is reported, read from a FIFO, so
	# the finalize request is sent to a CA that does not answer; then it
	# is killed, which resets that connection.
	mkfifo "$T/fifo"
	name=fin.example.com
	acme-order <<<"$(doc "$name")" | acme-challenge >"$T/ready"
	assert_json "$T/ready" '.error == null and .order.status == "ready"'
	jq -c '.order.status = "pending"' "$T/ready" >"$T/stale"
	acme-finalize -v -K rsa4096 -T 20 -W 20 <"$T/stale" >"$T/out" 2>"$T/fifo" 3>&- &
	pid=$!
	HELPERS+=("$pid")
	pebble=$(<"$TEST_TMP/pebble/pebble.pid")
	: >"$T/err"
	while IFS= read -r line; do
		if [[ $line == "acme-finalize: POST "*"/my-order/"*" 200 "* ]]; then
			kill -STOP "$pebble"
			# Long enough for the key and the request to reach Pebble.
			(sleep 4; kill -KILL "$pebble") &
		fi
		printf '%s\n' "$line" >>"$T/err"
	done <"$T/fifo"
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 1 "acme-finalize exit status"
	final=$(jq -r .order.finalize "$T/ready")
	grep -q "POST $final 0 " "$T/err" || fail "finalize was not in flight" "$(cat "$T/err")"
	order=$(jq -r .order.url "$T/ready")
	assert_json "$T/out" '.error.step == "acme-finalize"
		and .error.type == "urn:acmepipe:error:connection"
		and (.error.detail | startswith($f + ": "))
		and (.certificate | not) and (.key.path | type) == "string"' --arg f "$final"
	assert_equal "$(grep -v '^acme-finalize: \(GET\|HEAD\|POST\) ' "$T/err")" \
		"acme-finalize: <stdin>:1: urn:acmepipe:error:connection: $(jq -r .error.detail "$T/out")" \
		"diagnostic"
	# The key stays for the rerun, which uses it for the new order.
	key=$(jq -r .key.path "$T/out")
	cp "$key" "$T/key.copy"
	pebble_restart
	run_split -0 bash -c 'jq -c "del(.error)" "$1" | acme-order | acme-challenge |
		acme-finalize | certstore-put' _ "$T/out"
	assert_stderr ''
	assert_json "$OUTPUT_FILE" '.error == null and .stored.names == [$n]
		and .order.url != $o' --arg n "$name" --arg o "$order"
	stored_ok "$name"
	assert_equal "$(certstore -s "$ACMEPIPE_STORE" chain "$name" | openssl x509 -noout -pubkey)" \
		"$(openssl pkey -in "$T/key.copy" -pubout)" "key of the reissued certificate"
	# file layout: the key file acme-finalize left in the store's private/
	# area is gone once stored.
	[[ ! -e $key ]] || fail "key file left in private/ after storing"
}

@test "a CA that accepts the connection and then stalls: the timeout fires and is recorded" {
	# openssl s_server completes the TLS handshake (Pebble's listener
	# certificate, which ACMEPIPE_CA_BUNDLE trusts) and then sends only
	# what it reads on stdin: a FIFO nobody writes to.
	port=$(free_ports 1)
	mkfifo "$T/silence"
	openssl s_server -accept "127.0.0.1:$port" -quiet \
		-cert "$TEST_TMP/pebble/cert.pem" -key "$TEST_TMP/pebble/key.pem" \
		<>"$T/silence" >"$T/s_server.log" 2>&1 3>&- &
	HELPERS+=("$!")
	wait_until 50 "$!" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" ||
		fail "s_server did not start" "$(cat "$T/s_server.log")"
	url=https://127.0.0.1:$port/dir
	for how in option variable; do
		t0=$EPOCHREALTIME
		if [[ $how == option ]]; then
			run_split -1 acme-order -T 2 -d "$url" <<<"$(doc stall.example.com)"
		else
			ACMEPIPE_HTTP_TIMEOUT=2 ACMEPIPE_DIRECTORY=$url \
				run_split -1 acme-order <<<"$(doc stall.example.com)"
		fi
		ms=$((${EPOCHREALTIME/./} / 1000 - ${t0/./} / 1000))
		((ms >= 1900 && ms < 5000)) || fail "$how: took ${ms} ms, want about 2000"
		assert_json "$output" '.identifiers == ["stall.example.com"]
			and .error.step == "acme-order"
			and .error.type == "urn:acmepipe:error:timeout"
			and (.error.detail | startswith($u + ": "))' --arg u "$url"
		assert_stderr "acme-order: <stdin>:1: urn:acmepipe:error:timeout: $(jq -r .error.detail <<<"$output")"
	done
	# The request reached the server: the stall came after TLS.
	assert_contains "$(cat "$T/s_server.log")" "GET /dir HTTP/1.1"
}

@test "certstore-put killed with SIGKILL 100 times while replacing: old or new, and nginx serves it" {
	# file layout: the test is of the files backend's atomic replacement:
	# certs/NAME.pem is byte for byte the old or the new file (with its
	# key, which no command prints), what nginx reads from it, and the
	# temporary files a kill may leave.
	local -A keyfile full served
	export ACMEPIPE_STORE=$TEST_TMP/store # the one nginx serves
	name=kill.example.com
	f=$ACMEPIPE_STORE/certs/$name.pem
	doc "$name" | acme-order | acme-challenge | acme-finalize >"$T/a"
	doc "$name" | acme-order | acme-challenge | acme-finalize >"$T/b"
	for v in a b; do
		assert_json "$T/$v" '.error == null and (.certificate.pem | type) == "string"'
		keyfile[$v]=$(jq -r .key.path "$T/$v")
		cp -p "${keyfile[$v]}" "$T/$v.key"
	done
	# Each one's complete file (checked: chain, then its own key) and
	# what nginx serves from it, to compare with after every kill.
	for v in a b; do
		certstore-put <"$T/$v" >/dev/null
		full[$v]=$T/$v.full
		cp "$f" "${full[$v]}"
		stored_ok "$name"
		assert_equal "$(openssl pkey -in "$f" -pubout)" \
			"$(openssl pkey -in "$T/$v.key" -pubout)" "$v: stored key"
		served[$v]=$(served_chain "$name") || fail "$v: nginx serves nothing"
	done
	[[ ${served[a]} != "${served[b]}" ]] || fail "a and b serve the same chain"
	# How long a whole run takes here: kills are spread over twice that.
	cp -p "$T/a.key" "${keyfile[a]}"
	t0=$EPOCHREALTIME
	certstore-put <"$T/a" >/dev/null
	span=$((2 * (${EPOCHREALTIME/./} - ${t0/./}) / 1000))
	((span >= 2)) || span=2
	cur=a
	killed=0 old=0 new=0
	for i in $(seq 1 100); do
		if [[ $cur == a ]]; then next=b; else next=a; fi
		cp -p "$T/$next.key" "${keyfile[$next]}"
		ms=$((1 + RANDOM % span))
		status=0
		# (A subshell, so that bash's "Killed" note goes to /dev/null.)
		(timeout -s KILL "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))" \
			certstore-put <"$T/$next" >/dev/null 2>"$T/err" || exit) \
			2>/dev/null || status=$?
		case $status in
		0) [[ ! -s $T/err ]] || fail "run $i: $(cat "$T/err")" ;;
		137) killed=$((killed + 1)) ;;
		*) fail "run $i: certstore-put exited $status" "$(cat "$T/err")" ;;
		esac
		# The file is byte for byte one of the two complete ones.
		if cmp -s "$f" "${full[$cur]}"; then
			((status != 0)) || fail "run $i: completed, but the old certificate is stored"
			old=$((old + 1))
		elif cmp -s "$f" "${full[$next]}"; then
			new=$((new + 1))
			cur=$next
		else
			fail "run $i (killed after ${ms} ms): $f is neither the old nor the new file"
		fi
		s=$(served_chain "$name") || fail "run $i: nginx serves nothing for $name"
		[[ $s == "${served[$cur]}" ]] || fail "run $i: nginx serves another chain than the stored one"
	done
	# Kills landed both before and after the new file took its place.
	((killed > 0 && old > 0 && new > 0)) ||
		fail "kills: $killed, old kept: $old, new stored: $new"
	# A killed run may leave a temporary file (".NAME.pem.XXXXXX", which
	# may hold the key) and nothing else; none is readable by others.
	assert_equal "$(find "$ACMEPIPE_STORE/certs" -name "$name*")" "$f" "certificate files"
	assert_equal "$(find "$ACMEPIPE_STORE/certs" -name ".$name.*" -perm /0007)" "" \
		"temporary files readable by others"
}

@test "16 certstore-put for one name at once: one complete certificate wins, no temporary files" {
	# file layout: the files of certs/, meta/ and private/ after the race,
	# no temporary files, and certs/NAME.pem byte for byte one document's
	# chain then its own key (which no command prints).
	name=race.example.com
	for i in $(seq 1 16); do doc "$name"; done |
		acme-order | acme-challenge | acme-finalize >"$T/issued"
	assert_line_count 16 "$T/issued"
	assert_json "$T/issued" '.error == null and (.certificate.pem | type) == "string"'
	for i in $(seq 1 16); do
		sed -n "${i}p" "$T/issued" >"$T/in$i"
		jq -j .certificate.pem "$T/in$i" >"$T/chain$i"
		cp "$(jq -r .key.path "$T/in$i")" "$T/key$i"
	done
	pids=()
	for i in $(seq 1 16); do
		certstore-put <"$T/in$i" >"$T/out$i" 2>"$T/err$i" 3>&- &
		pids+=("$!")
	done
	for i in $(seq 1 16); do
		wait "${pids[i - 1]}" || fail "certstore-put $i: exit status $?" "$(cat "$T/err$i")"
	done
	for i in $(seq 1 16); do
		assert_json "$T/out$i" '.error == null and .stored.names == [$n]' --arg n "$name"
		[[ ! -s $T/err$i ]] || fail "$(cat "$T/err$i")"
	done
	assert_equal "$(ls -A "$ACMEPIPE_STORE/certs")" "$name.pem" "certs/"
	assert_equal "$(ls -A "$ACMEPIPE_STORE/meta")" "$name.json" "meta/"
	assert_equal "$(ls -A "$ACMEPIPE_STORE/private")" "" "private/ (keys moved into certs/)"
	no_temp_files "$ACMEPIPE_STORE"
	# The winner: one document's chain, byte for byte, then its own key.
	f=$ACMEPIPE_STORE/certs/$name.pem
	win=
	for i in $(seq 1 16); do
		if cmp -s <(head -c "$(stat -c %s "$T/chain$i")" "$f") "$T/chain$i"; then
			win=$i
		fi
	done
	[[ -n $win ]] || fail "$f does not start with any of the 16 chains"
	assert_equal "$(openssl pkey -in "$f" -pubout)" \
		"$(openssl pkey -in "$T/key$win" -pubout)" "key of the winner"
	assert_equal "$(grep -c 'BEGIN CERTIFICATE' "$f")" \
		"$(grep -c 'BEGIN CERTIFICATE' "$T/chain$win")" "certificates in $f"
	assert_equal "$(grep -c 'PRIVATE KEY-----$' "$f")" 2 "key delimiters in $f"
	stored_ok "$name"
}

@test "store file system full: one-line error, old certificate kept, nothing half-written" {
	# file layout: a full file system under the files backend: the old
	# certs/NAME.pem unchanged byte for byte, no temporary files, the key
	# file kept in private/, then the new key in certs/NAME.pem (which no
	# command prints).
	((EUID == 0)) || skip "needs root to mount a small tmpfs"
	mkdir "$T/mnt"
	mount -t tmpfs -o size=64k,mode=0755 tmpfs "$T/mnt" 2>"$T/mount.err" ||
		skip "cannot mount a tmpfs here: $(cat "$T/mount.err")"
	MOUNTED=$T/mnt
	export ACMEPIPE_STORE=$T/mnt/store
	name=full.example.com
	f=$ACMEPIPE_STORE/certs/$name.pem
	# The old certificate, stored; then a new one issued, its key in the
	# store's private/ as acme-finalize -s puts it.
	run_split -0 bash -c 'acme-order | acme-challenge | acme-finalize | certstore-put' \
		<<<"$(doc "$name")"
	stored_ok "$name"
	cp "$f" "$T/old"
	doc "$name" | acme-order | acme-challenge | acme-finalize >"$T/new"
	assert_json "$T/new" '.error == null and (.certificate.pem | type) == "string"'
	key=$(jq -r .key.path "$T/new")
	[[ $key == "$ACMEPIPE_STORE/private/"* ]] || fail "key not in the store: $key"
	cp "$key" "$T/new.key"
	dd if=/dev/zero of="$T/mnt/fill" bs=4k 2>/dev/null || true
	run_split -1 certstore-put <"$T/new"
	assert_stderr "certstore-put: <stdin>:1: $name: urn:acmepipe:error:local: certs/$name.pem: No space left on device"
	assert_json "$output" '.error.step == "certstore-put"
		and .error.type == "urn:acmepipe:error:local"
		and .error.identifier == $n and (.stored | not) and .key.path == $k' \
		--arg n "$name" --arg k "$key"
	cmp "$f" "$T/old" || fail "the old certificate was changed"
	no_temp_files "$ACMEPIPE_STORE"
	assert_equal "$(ls -A "$ACMEPIPE_STORE/certs")" "$name.pem" "certs/"
	[[ -e $key ]] || fail "key file deleted although nothing was stored"
	# Space again: the same document, error removed, is stored.
	cp "$OUTPUT_FILE" "$T/failed"
	rm "$T/mnt/fill"
	run_split -0 bash -c 'jq -c "del(.error)" | certstore-put' <"$T/failed"
	assert_stderr ''
	stored_ok "$name"
	assert_equal "$(openssl pkey -in "$f" -pubout)" "$(openssl pkey -in "$T/new.key" -pubout)" "new key"
	no_temp_files "$ACMEPIPE_STORE"
}
