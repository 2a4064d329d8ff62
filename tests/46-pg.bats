#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# The PostgreSQL store beyond the contract (tests/42-store-postgresql.bats):
# the schema and certstore init, the one-line refusals (unreachable, wrong
# password, no schema, newer schema), a connection lost or a server
# restarted mid-stream, certstore copy between backends, and certstore
# mirror feeding nginx. A real PostgreSQL 15 (tests/helpers/pg.bash), a new
# database per test; certificates from a throwaway openssl CA.

# Read before helpers/common drops every ACMEPIPE_* variable of the caller.
export SCALE_FULL=${SCALE_FULL:-${ACMEPIPE_SCALE:-0}}

load helpers/common
load helpers/pg

setup_file() {
	pg_start
}

setup() {
	T=$BATS_TEST_TMPDIR
	U=$(pg_new_db)
	MIRROR_PID=
	test_ca "$T" 30
}

teardown() {
	if [[ -n $MIRROR_PID ]]; then
		kill "$MIRROR_PID" 2>/dev/null || true
		wait "$MIRROR_PID" 2>/dev/null || true
	fi
	nginx_stop
	# A test that stopped the server leaves it running for the next.
	pg_start >/dev/null
	harness_teardown
}

# within SECONDS CMD...: retries CMD every 0.1 s; fails after SECONDS.
within() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

# leaves N PREFIX: N leaves PREFIX1..N for PREFIXi.example, two at a time,
# and their documents, one a line, in $T/PREFIX.jsonl.
leaves() {
	local n=$1 p=$2 i
	export -f test_cert
	export T
	seq 1 "$n" | xargs -P 2 -I{} bash -c 'test_cert "$T" "'"$p"'{}" 30 "'"$p"'{}.example"' ||
		return 1
	for i in $(seq 1 "$n"); do
		doc "$p$i" "$p$i.example"
	done >"$T/$p.jsonl"
}

@test "pg: init makes the schema once, at the same time from 4 processes, and again changes nothing" {
	pids=()
	for i in 1 2 3 4; do
		certstore -s "$U" init 2>"$T/init$i" &
		pids+=("$!")
	done
	for i in 1 2 3 4; do
		wait "${pids[i - 1]}" || fail "init $i: $(cat "$T/init$i")"
		[[ ! -s $T/init$i ]] || fail "init $i said: $(cat "$T/init$i")"
	done
	assert_equal "$(pg_psql "$U" 'SELECT version FROM acmepipe_schema')" 2 "schema rows"
	certstore -s "$U" add a.example
	run_split -0 certstore -s "$U" init
	assert_stderr ''
	assert_equal "$(store_names "$U")" a.example "names after a second init"
	# "What is due" is an index range.
	idx=$(pg_psql "$U" "SELECT indexdef FROM pg_indexes WHERE tablename = 'acmepipe_names'")
	[[ $idx == *"(not_after)"* && $idx == *"(due)"* ]] || fail "indexes: $idx"
}

@test "pg: a version 1 schema is refused until certstore init upgrades it, keeping every name" {
	certstore -s "$U" init
	leaf a a.example
	doc a a.example | certstore-put -s "$U" >/dev/null
	certstore -s "$U" add b.example
	# Version 1 had no due hint.
	pg_psql "$U" 'ALTER TABLE acmepipe_names DROP COLUMN due, DROP COLUMN ari_check' \
		'UPDATE acmepipe_schema SET version = 1'
	run_split -2 certstore -s "$U" list
	assert_stderr "certstore: store 127.0.0.1:$PG_PORT/${U##*/}: schema version 1 is older than this acmepipe's (2): run certstore init"
	run_split -0 certstore -s "$U" init
	assert_equal "$(pg_psql "$U" 'SELECT version FROM acmepipe_schema')" 2 "version"
	assert_equal "$(store_names "$U" | tr '\n' ' ')" "a.example b.example " "names kept"
	assert_equal "$(store_serial "$U" a.example)" "$(leaf_serial a)" "certificate kept"
	# Rows from version 1 have no hint yet, and are listed as due anyway.
	run_split -0 cert-expiring -s "$U" -L 0
	assert_equal "$(jq -r '.identifiers[0]' "$OUTPUT_FILE")" b.example "due after the upgrade"
}

@test "pg: cert-expiring reads what may be due through the index, and decides as on files" {
	certstore -s "$U" init
	F=$T/files
	leaf a a.example
	doc a a.example | certstore-put -s "$U" >/dev/null
	doc a a.example | certstore-put -s "$F" >/dev/null
	for s in "$U" "$F"; do
		certstore -s "$s" add new.example
		failed gone.example NXDOMAIN | certstore-put -s "$s" >/dev/null || true
	done
	# The hints: a.example not before the last third of its 30 days.
	hint=$(pg_psql "$U" "SELECT extract(epoch FROM due)::bigint FROM acmepipe_names WHERE name = 'a.example'")
	((hint > $(date +%s) + 15 * 86400)) || fail "a.example's hint: $hint"
	# Its renewal information was never asked: any time, for a run that asks.
	assert_equal "$(pg_psql "$U" "SELECT ari_check FROM acmepipe_names WHERE name = 'a.example'")" -infinity "ari_check"
	for args in "" "--days 365" "--now $(date -u -d '+25 days' +%FT%TZ)" "--summary"; do
		# shellcheck disable=SC2086 # the options, split
		a=$(cert-expiring -s "$U" -L 0 $args | jq -cS 'del(.renewal.due) | del(.lease)' | sort)
		# shellcheck disable=SC2086
		b=$(cert-expiring -s "$F" -L 0 $args | jq -cS 'del(.renewal.due) | del(.lease)' | sort)
		assert_equal "$a" "$b" "cert-expiring $args: database and files"
	done
	assert_equal "$(cert-expiring -s "$U" -L 0 | jq -r '.identifiers[0]' | sort | tr '\n' ' ')" "new.example " "due now"
	assert_equal "$(cert-expiring -s "$U" -L 0 --days 365 | jq -r '.identifiers[0]' | sort | tr '\n' ' ')" \
		"a.example new.example " "due with --days 365"
}

@test "pg: no schema, or a newer one: every command refuses in one line, exit 2" {
	leaf a a.example
	doc a a.example >"$T/in"
	E=$(pg_new_db)
	label=127.0.0.1:$PG_PORT/${E##*/}
	for cmd in "certstore -s $E list" "certstore-put -s $E" "cert-expiring -s $E"; do
		run_split -2 $cmd <"$T/in"
		assert_stderr "${cmd%% *}: store $label: no acmepipe schema (certstore init makes it)"
		assert_output ''
	done
	certstore -s "$U" init
	pg_psql "$U" 'UPDATE acmepipe_schema SET version = 99'
	label=127.0.0.1:$PG_PORT/${U##*/}
	for cmd in "certstore -s $U list" "certstore-put -s $U" "cert-expiring -s $U" "certstore -s $U init"; do
		run_split -2 $cmd <"$T/in"
		assert_stderr "${cmd%% *}: store $label: schema version 99 is newer than this acmepipe knows (2)"
	done
	assert_equal "$(pg_psql "$U" 'SELECT version FROM acmepipe_schema')" 99 "version after a refused init"
	[[ -e $T/a.pending.key ]] || fail "the key file went"
}

@test "pg: a server that cannot be reached, a wrong password: exit 2, one line naming the server, never the password" {
	closed=$(free_ports 1)
	run_split -2 certstore -s "postgresql://acmepipe:s3cretpw@127.0.0.1:$closed/x" list
	[[ $stderr == "certstore: store 127.0.0.1:$closed/x: connection to server at \"127.0.0.1\", port $closed failed: Connection refused" ]] ||
		fail "stderr: $stderr"
	run_split -2 certstore-put -s "postgres://acmepipe:s3cretpw@127.0.0.1:$closed/x" </dev/null
	assert_line_count 0
	[[ $stderr == "certstore-put: store 127.0.0.1:$closed/x: "*"Connection refused" ]] || fail "stderr: $stderr"
	bad=postgresql://acmepipe:wr0ngpw@127.0.0.1:$PG_PORT/${U##*/}
	for cmd in "certstore -s $bad list" "cert-expiring -s $bad"; do
		PGPASSFILE=/dev/null run_split -2 $cmd
		[[ $stderr == "${cmd%% *}: store 127.0.0.1:$PG_PORT/${U##*/}: "*"password authentication failed for user \"acmepipe\"" ]] ||
			fail "$cmd: stderr: $stderr"
		[[ $stderr != *wr0ngpw* ]] || fail "the password was printed"
	done
}

@test "pg: the server stops mid-stream: documents in flight fail with urn:acmepipe:error:store, none lost; a rerun stores them" {
	certstore -s "$U" init
	leaves 10 m
	{
		head -n 5 "$T/m.jsonl"
		sleep 2
		pg_down >/dev/null
		tail -n 5 "$T/m.jsonl"
	} | certstore-put -s "$U" >"$T/out" 2>"$T/err" && fail "exit 0 with the server down" || rc=$?
	assert_equal "$rc" 1 "exit status"
	assert_equal "$(wc -l <"$T/out")" 10 "documents out"
	assert_equal "$(jq -r '.identifiers[0]' "$T/out" | tr '\n' ' ')" \
		"$(jq -r '.identifiers[0]' "$T/m.jsonl" | tr '\n' ' ')" "order"
	assert_equal "$(jq -c 'select(.stored) | .identifiers[0]' "$T/out" | wc -l)" 5 "stored before the stop"
	jq -e -s 'map(select(.error)) | length == 5 and all(.error.type == "urn:acmepipe:error:store"
	    and .error.step == "certstore-put" and (.error.detail | test("127.0.0.1")))' "$T/out" >/dev/null ||
		fail "errors: $(jq -c .error "$T/out")"
	assert_no_private_key "$T/out"
	assert_no_private_key "$T/err"
	for i in 6 7 8 9 10; do
		[[ -e $T/m$i.pending.key ]] || fail "m$i: the key file went with the document unstored"
	done
	pg_up >/dev/null
	# The rerun of the failed documents (acmepipe-state(5): delete "error").
	jq -c 'select(.error) | del(.error)' "$T/out" | certstore-put -s "$U" >"$T/out2"
	assert_equal "$(jq -c 'select(.stored)' "$T/out2" | wc -l)" 5 "stored by the rerun"
	assert_equal "$(store_names "$U" | wc -l)" 10 "names stored"
	for i in $(seq 1 10); do
		assert_equal "$(store_serial "$U" "m$i.example")" "$(leaf_serial "m$i")" "m$i"
		assert_equal "$(store_meta "$U" "m$i.example" .failCount)" 0 "m$i: a store error is no failure of the name"
	done
}

@test "pg: 3 workers while PostgreSQL restarts: after one rerun of the failed documents, every name is stored" {
	# 150 names; 1,000 with ACMEPIPE_SCALE=1 (make check-scale).
	n=150
	((SCALE_FULL == 1)) && n=1000
	certstore -s "$U" init
	leaves "$n" w
	split -n r/3 -d -a 1 "$T/w.jsonl" "$T/part."
	pids=()
	for i in 0 1 2; do
		# Paced, so that the restart lands mid-stream.
		while IFS= read -r line; do
			printf '%s\n' "$line"
			sleep 0.02
		done <"$T/part.$i" | certstore-put -s "$U" >"$T/out.$i" 2>"$T/err.$i" &
		pids+=("$!")
	done
	sleep $((n / 150))
	pg_restart >/dev/null
	for i in 0 1 2; do
		wait "${pids[i]}" || true # 1: some failed
	done
	cat "$T"/out.? >"$T/out"
	assert_equal "$(wc -l <"$T/out")" "$n" "documents out"
	jq -e -s 'all(.stored or .error.type == "urn:acmepipe:error:store")' "$T/out" >/dev/null ||
		fail "other outcomes: $(jq -c 'select(.stored | not) | .error' "$T/out" | sort | uniq -c)"
	# The restart cut some documents off (else this test proves nothing).
	nfail=$(jq -c 'select(.error)' "$T/out" | wc -l)
	((nfail > 0)) || fail "no document was in flight during the restart"
	echo "# $nfail of $n failed during the restart" >&3
	jq -c 'select(.error) | del(.error)' "$T/out" | certstore-put -s "$U" >"$T/rerun" ||
		fail "the rerun failed: $(jq -c .error "$T/rerun" | sort | uniq -c)"
	assert_equal "$(store_names "$U" | wc -l)" "$n" "names stored"
	assert_no_private_key "$T/out"
}

@test "copy: files to PostgreSQL and back: certificates, keys, failures, names without one; again copies nothing; a newer certificate stays" {
	F=$T/files
	leaf a a.example www.a.example
	doc a a.example www.a.example | certstore-put -s "$F" >/dev/null
	for i in 1 2 3; do failed b.example "NXDOMAIN $i"; done | certstore-put -s "$F" >/dev/null || true
	certstore -s "$F" add c.example
	certstore -s "$U" init
	run_split -0 certstore copy "$F" "$U"
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "a.example b.example c.example www.a.example " "copied"
	assert_no_private_key "$OUTPUT_FILE"
	run_split -0 certstore copy "$F" "$U"
	assert_output ''
	# And back, into a new file store: the same names, metadata and chains.
	run_split -0 certstore copy "$U" "$T/back"
	for n in a.example www.a.example b.example c.example; do
		assert_json_eq "$(store_meta "$U" "$n")" "$(store_meta "$F" "$n")"
		assert_json_eq "$(store_meta "$T/back" "$n")" "$(store_meta "$F" "$n")"
	done
	for s in "$U" "$T/back"; do
		assert_equal "$(certstore -s "$s" chain a.example | openssl x509 -noout -serial)" \
			"$(openssl x509 -in "$T/a.pem" -noout -serial)" "chain in $s"
	done
	assert_equal "$(store_meta "$U" b.example .failCount)" 3 "failures copied"
	# A newer certificate in the target is not overwritten.
	sleep 1 # a later notBefore
	leaf n a.example www.a.example
	doc n a.example www.a.example | certstore-put -s "$U" >/dev/null
	certstore -s "$F" unpark b.example # something to copy
	run_split -1 certstore copy "$F" "$U"
	assert_output b.example
	assert_contains "$stderr" "certstore: a.example: holds a newer certificate (issued later)"
	assert_equal "$(store_serial "$U" a.example)" "$(leaf_serial n)" "newer kept"
}

# mkshared N: N names in the database $U, the first half with certificates.
mkshared() {
	local i
	certstore -s "$U" init
	for i in $(seq 1 "$1"); do
		if ((i <= $1 / 2)); then
			leaf "s$i" "s$i.example"
			doc "s$i" "s$i.example" | certstore-put -s "$U" >/dev/null
		else
			certstore -s "$U" add "s$i.example"
		fi
	done
}

@test "mirror: a pass copies every name, removes what the source dropped, and will not remove more than half unless --force" {
	mkshared 4
	M=$T/mirror
	run_split -0 certstore -g "$(id -gn)" -m 0640 mirror --from "$U" --to "$M"
	assert_equal "$(store_names "$M" | tr '\n' ' ')" "s1.example s2.example s3.example s4.example " "mirrored"
	assert_equal "$(stat -c %a "$M/certs/s1.example.pem")" 640 "mode"
	assert_equal "$(certstore -s "$M" chain s1.example)" "$(certstore -s "$U" chain s1.example)" "chain"
	assert_no_private_key "$OUTPUT_FILE"
	certstore -s "$U" remove s2.example
	run_split -0 certstore mirror --from "$U" --to "$M"
	assert_equal "$(store_names "$M" | tr '\n' ' ')" "s1.example s3.example s4.example " "after a removal"
	# A source that reads empty by mistake blanks nothing.
	E=$(pg_new_db)
	certstore -s "$E" init
	run_split -1 certstore mirror --from "$E" --to "$M"
	assert_stderr "certstore: would remove 3 of the mirror's 3 names, more than half (the source holds 0): not done; --force if that is meant"
	assert_equal "$(store_names "$M" | wc -l)" 3 "names kept"
	run_split -0 certstore mirror --force --from "$E" --to "$M"
	assert_equal "$(store_names "$M")" "" "with --force"
	run_split -2 certstore mirror --from "$U"
	assert_stderr "certstore: mirror: --to: missing"
}

@test "mirror --follow: nginx serves a renewed certificate within 5 s without a reload; it survives PostgreSQL going down and catches up" {
	mkshared 2
	M=$T/mirror
	certstore mirror --follow --from "$U" --to "$M" 2>"$T/follow.err" &
	MIRROR_PID=$!
	within 10 test -e "$M/certs/s1.example.pem" || fail "no first pass: $(cat "$T/follow.err")"
	nginx_start "$T/www" "$M"
	assert_equal "$(served_serial s1.example | tr 'A-F' 'a-f')" "$(leaf_serial s1)" "served"
	# A renewal: served within 5 s.
	leaf r1 s1.example
	doc r1 s1.example | certstore-put -s "$U" >/dev/null
	t0=$(date +%s%N)
	within 5 bash -c '[[ $(openssl s_client -connect 127.0.0.1:'"$NGINX_TLS_PORT"' -servername s1.example </dev/null 2>/dev/null |
		openssl x509 -noout -serial | tr A-F a-f) == serial='"$(leaf_serial r1)"' ]]' ||
		fail "not served within 5 s: $(cat "$T/follow.err")"
	echo "# served after $((($(date +%s%N) - t0) / 1000000)) ms" >&3
	# A name removed, a name added.
	certstore -s "$U" remove s2.example
	certstore -s "$U" add new.example
	within 5 bash -c '! test -e "'"$M"'/meta/s2.example.json" && test -e "'"$M"'/meta/new.example.json"' ||
		fail "removal or addition not mirrored"
	# The database goes away: nginx keeps serving what the mirror has.
	pg_down >/dev/null
	sleep 1
	assert_equal "$(served_serial s1.example | tr 'A-F' 'a-f')" "$(leaf_serial r1)" "served while down"
	kill -0 "$MIRROR_PID" || fail "the mirror died with the database"
	# Back; a change made before the mirror reconnects is caught up by
	# its full pass.
	pg_up >/dev/null
	leaf r2 s1.example
	doc r2 s1.example | certstore-put -s "$U" >/dev/null
	within 70 bash -c '[[ $(certstore -s "'"$M"'" list s1.example | jq -r .serial) == '"$(leaf_serial r2)"' ]]' ||
		fail "not caught up: $(cat "$T/follow.err")"
	assert_equal "$(served_serial s1.example | tr 'A-F' 'a-f')" "$(leaf_serial r2)" "served after catching up"
	grep -q "connection lost\|Connection refused\|terminating connection" "$T/follow.err" ||
		fail "the loss was not reported: $(cat "$T/follow.err")"
	assert_no_private_key "$T/follow.err"
}

@test "names that must never become paths are refused on the database too" {
	certstore -s "$U" init
	for n in '../x.example' 'a/b.example' '..' '/etc/passwd'; do
		run_split -1 certstore -s "$U" add "$n"
	done
	assert_equal "$(pg_psql "$U" 'SELECT count(*) FROM acmepipe_names')" 0 "rows"
}

@test "the EXAMPLES of certstore(1) for a shared store run" {
	F=$T/files
	leaf a a.example
	doc a a.example | certstore-put -s "$F" >/dev/null
	n=0
	while IFS= read -r -d '' ex; do
		[[ $ex == *postgresql://* ]] || continue
		n=$((n + 1))
		ex=${ex//postgresql:\/\/acmepipe@db.example.net\/acmepipe/$U}
		ex=${ex//postgresql:\/\/mirror@db.example.net\/acmepipe/$U}
		ex=${ex//\/var\/lib\/acmepipe\/store/$F}
		ex=${ex//\/var\/lib\/acmepipe\/mirror/$T/mirror}
		printf 'echo "## example %d"\n%s\n' "$n" "$ex"
	done < <(man_examples "$REPO_ROOT/man/certstore.1") >"$T/ex.sh"
	# The last one follows in the background: give it its pass, then stop it.
	printf 'sleep 1\nkill %%1\n' >>"$T/ex.sh"
	assert_equal "$n" 5 "examples"
	run_split -0 bash -e "$T/ex.sh"
	assert_equal "$(sed -n '/^## example 3$/{n;p}' "$OUTPUT_FILE" | tr -d ' ')" 0 "a second copy copies nothing"
	assert_equal "$(store_names "$T/mirror")" a.example "mirrored"
}

@test "roles: certstore init grants a worker role read-write and a mirror role read-only" {
	pg_psql "$U" "DO \$\$ BEGIN
	    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'acmepipe_worker') THEN
	        CREATE ROLE acmepipe_worker LOGIN PASSWORD 'w0rker'; END IF;
	    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'acmepipe_mirror') THEN
	        CREATE ROLE acmepipe_mirror LOGIN PASSWORD 'm1rror'; END IF; END \$\$"
	certstore -s "$U" init
	W=postgresql://acmepipe_worker:w0rker@127.0.0.1:$PG_PORT/${U##*/}
	R=postgresql://acmepipe_mirror:m1rror@127.0.0.1:$PG_PORT/${U##*/}
	leaf a a.example
	run_split -0 certstore-put -s "$W" < <(doc a a.example)
	run_split -0 certstore -s "$W" add b.example
	run_split -0 certstore mirror --from "$R" --to "$T/mirror"
	assert_equal "$(store_names "$T/mirror" | tr '\n' ' ')" "a.example b.example " "mirrored by the read-only role"
	# The mirror's role changes nothing.
	leaf b b.example
	run_split -1 certstore-put -s "$R" < <(doc b b.example)
	assert_json "$OUTPUT_FILE" '.error.type == "urn:acmepipe:error:local"
	    and (.error.detail | test("permission denied for table acmepipe_names"))'
	run_split -1 certstore -s "$R" remove a.example
	assert_contains "$stderr" "permission denied"
	assert_equal "$(store_names "$U" | tr '\n' ' ')" "a.example b.example " "names"
	[[ $stderr != *m1rror* ]] || fail "a password was printed"
}

@test "TLS to the database: sslmode=verify-full with the right CA connects, another CA is refused in one line" {
	# A server certificate for localhost from this test's CA, and a
	# second CA that did not sign it.
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/server.key" -out "$T/server.csr" -subj /CN=localhost 2>/dev/null
	openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -days 2 \
		-set_serial 0x5e -extfile <(echo subjectAltName=DNS:localhost) -out "$T/server.crt" 2>/dev/null
	mkdir "$T/other" && test_ca "$T/other" 2
	install -o postgres -m 0600 "$T/server.key" "$PG_DIR/server.key"
	install -o postgres -m 0644 "$T/server.crt" "$PG_DIR/server.crt"
	pg_psql "$U" "ALTER SYSTEM SET ssl = on" "ALTER SYSTEM SET ssl_cert_file = '$PG_DIR/server.crt'" \
		"ALTER SYSTEM SET ssl_key_file = '$PG_DIR/server.key'" "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
	V=postgresql://acmepipe@localhost:$PG_PORT/${U##*/}
	run_split -0 certstore -s "$V?sslmode=verify-full&sslrootcert=$T/ca.pem" init
	run_split -0 certstore -s "$V?sslmode=verify-full&sslrootcert=$T/ca.pem" add tls.example
	run_split -2 certstore -s "$V?sslmode=verify-full&sslrootcert=$T/other/ca.pem" list
	assert_line_count 0
	[[ $stderr == "certstore: store localhost:$PG_PORT/${U##*/}: "*"certificate verify failed"* ]] ||
		fail "stderr: $stderr"
	assert_equal "${#stderr_lines[@]}" 1 "lines on stderr"
	pg_psql "$U" "ALTER SYSTEM RESET ssl" "SELECT pg_reload_conf()" >/dev/null
}

@test "copy and mirror: bad arguments, a source out of reach, a target without schema or unwritable: exit 2, one line, nothing written" {
	closed=$(free_ports 1)
	gone=postgresql://acmepipe:s3cretpw@127.0.0.1:$closed/x
	run_split -2 certstore copy "$T/files"
	assert_contains "$stderr" "certstore: copy: needs a store to copy from and one to copy to"
	run_split -2 certstore copy "$gone" "$T/to"
	assert_stderr "certstore: store 127.0.0.1:$closed/x: connection to server at \"127.0.0.1\", port $closed failed: Connection refused"
	[[ ! -e $T/to ]] || fail "copy made its target with the source out of reach"
	certstore -s "$T/files" add a.example
	run_split -2 certstore copy "$T/files" "$U" # no certstore init
	assert_stderr "certstore: store 127.0.0.1:$PG_PORT/${U##*/}: no acmepipe schema (certstore init makes it)"
	run_split -2 certstore mirror --interval 0 --from "$U" --to "$T/m"
	assert_stderr "certstore: --interval 0: not a number of seconds from 1 to 86400"
	run_split -2 certstore mirror --from "$gone" --to "$T/m"
	assert_line_count 0
	[[ $stderr == *"Connection refused" && $stderr != *s3cretpw* ]] || fail "stderr: $stderr"
	[[ ! -e $T/m ]] || fail "mirror made its target with the source out of reach"
	certstore -s "$U" init
	: >"$T/file"
	run_split -2 certstore mirror --from "$U" --to "$T/file"
	assert_contains "$stderr" "certstore: "
	assert_equal "${#stderr_lines[@]}" 1 "lines on stderr"
}
