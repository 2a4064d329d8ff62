#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's, not the shell's
#
# Leases (cert-expiring(1) "Leases", store.h): N runs of cert-expiring at
# once over one store never emit a name twice, certstore-put ends the
# lease of its document and only that one, and a document whose lease was
# taken over does not replace a newer certificate. Through the commands
# only, so the same tests run on every backend (tests/helpers/store.bash;
# tests/48-lease-postgresql.bats is this file, run against PostgreSQL).
# Certificates come from a throwaway openssl CA; names added with
# certstore add are due at once.

load helpers/common

setup_file() {
	store_start
}

setup() {
	T=$BATS_TEST_TMPDIR
	S=$(store_new)
	test_ca "$T" 400
}


# issued P < DOC: DOC (one line, from cert-expiring) as acme-finalize
# leaves it with P's chain and a copy of P's key, so a rerun finds the key
# file gone only when certstore-put stored it.
issued() {
	cp "$T/$1.key" "$T/$1.pending.key"
	jq -c --rawfile pem "$T/$1.pem" --arg k "$T/$1.pending.key" \
		'. + {key: {path: $k, type: "ec-p256"}, certificate: {pem: $pem}}'
}

# failing < DOC: DOC as acme-challenge fails it.
failing() {
	jq -c '. + {error: {step: "acme-challenge", type: "urn:ietf:params:acme:error:connection",
	    detail: "down", identifier: .identifiers[0], time: (now | todate)}}'
}

# names N: n001.example ... nN.example, one a line.
names() { seq -f 'n%03g.example' 1 "$1"; }

# lease NAME: NAME's lease in the store, compact JSON, "null" without one.
lease() { store_meta "$S" "$1" '.lease' | jq -c .; }

# line FILE NAME: the document for NAME in FILE.
line() { jq -c --arg n "$2" 'select(.identifiers | index($n))' "$1"; }

# secs TIME: RFC 3339 as seconds since the epoch.
secs() { date -u -d "$1" +%s; }


@test "lease: 3 runs at once over 300 due names: each name emitted once, by one run, with its lease" {
	for round in 1 2 3; do
		S=$(store_new)
		names 300 | xargs certstore -s "$S" add
		pids=()
		for i in 1 2 3; do
			cert-expiring -s "$S" >"$T/out$i" 2>"$T/err$i" &
			pids+=("$!")
		done
		for i in 1 2 3; do
			wait "${pids[i - 1]}" || fail "round $round, run $i: status $?: $(cat "$T/err$i")"
			[[ ! -s $T/err$i ]] || fail "round $round, run $i: $(cat "$T/err$i")"
		done
		cat "$T/out1" "$T/out2" "$T/out3" >"$T/all"
		assert_equal "$(jq -r '.identifiers[]' "$T/all" | sort)" "$(names 300)" "round $round: the names emitted"
		assert_json "$T/all" '(.lease.id | test("^[0-9a-f]{32}$")) and (.lease.until | fromdate) > now'
		# One lease a run, and each name's metadata holds the lease of
		# the run that emitted it.
		for i in 1 2 3; do
			[[ $(jq -r .lease.id "$T/out$i" | sort -u | wc -l) -le 1 ]] || fail "round $round, run $i: several leases"
		done
		jq -r '[.identifiers[0], .lease.id] | @tsv' "$T/all" | sort >"$T/emitted"
		certstore -s "$S" list | jq -r '[.name, .lease.id] | @tsv' | sort >"$T/held"
		cmp "$T/emitted" "$T/held" || fail "round $round: the store holds other leases: $(diff "$T/emitted" "$T/held" | head)"
		assert_json "$(certstore -s "$S" list)" '.lease.holder | test(":[0-9]+$")'
	done
}

@test "lease: a second run while the leases are live emits nothing; --lease 0 emits all and claims nothing; --summary and --now claim nothing" {
	names 5 | xargs certstore -s "$S" add
	# Looking first claims nothing.
	certstore -s "$S" list >"$T/before"
	run_split -0 cert-expiring -s "$S" --summary
	assert_json "$OUTPUT_FILE" '.due == 5'
	run_split -0 cert-expiring -s "$S" -n "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	assert_line_count 5
	assert_json "$OUTPUT_FILE" '.lease == null'
	run_split -0 env ACMEPIPE_LEASE=0 cert-expiring -s "$S"
	assert_line_count 5
	assert_json "$OUTPUT_FILE" '.lease == null'
	assert_json_eq "$(certstore -s "$S" list)" "$(cat "$T/before")"
	# A run claims them all; the next one leaves them alone, and says who
	# holds them with -v.
	run_split -0 cert-expiring -s "$S" -L 3600
	assert_line_count 5
	id=$(jq -r .lease.id "$OUTPUT_FILE" | sort -u)
	until=$(jq -r .lease.until "$OUTPUT_FILE" | sort -u)
	(($(secs "$until") - $(date +%s) > 3500)) || fail "until $until"
	assert_json "$(certstore -s "$S" list)" '.lease.id == $id and .lease.until == $u' --arg id "$id" --arg u "$until"
	run_split -0 cert-expiring -s "$S" -v
	assert_output ''
	holder=$(store_meta "$S" n001.example .lease.holder)
	assert_equal "$(sort <<<"$stderr")" "$(names 5 | sed "s/\$/: leased to $holder until $until/; s/^/cert-expiring: /")" "stderr"
	# So does a dry run, as a real one would; --summary still counts them.
	run_split -0 cert-expiring -s "$S" -n "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	assert_output ''
	run_split -0 cert-expiring -s "$S" -r
	assert_json "$OUTPUT_FILE" '.due == 5'
	# --lease 0 takes and heeds none: everything due, no lease touched.
	certstore -s "$S" list >"$T/before"
	run_split -0 cert-expiring -s "$S" --lease 0
	assert_line_count 5
	assert_json "$OUTPUT_FILE" '.lease == null'
	assert_json_eq "$(certstore -s "$S" list)" "$(cat "$T/before")"
	# Bad values.
	for v in -1 x 604801 1.5; do
		run_split -2 cert-expiring -s "$S" -L "$v"
		assert_stderr "cert-expiring: --lease: want a number of seconds from 0 to 604800: $v"
	done
}

@test "lease: a run killed (its output lost, or SIGKILL) leaves leases that run out, and the next run takes those names" {
	names 20 | xargs certstore -s "$S" add
	cert-expiring -s "$S" -L 2 >/dev/null
	run_split -0 cert-expiring -s "$S"
	assert_output ''
	sleep 3
	run_split -0 cert-expiring -s "$S" -L 600
	assert_equal "$(jq -r '.identifiers[]' "$OUTPUT_FILE" | sort)" "$(names 20)" "taken after the lease ran out"
	assert_json "$(certstore -s "$S" list)" '.lease.id == $id' --arg id "$(jq -r .lease.id "$OUTPUT_FILE" | head -n 1)"
	# Killed at random points while claiming: whatever it claimed runs
	# out, and the next run emits every name.
	for run in 1 2 3; do
		S=$(store_new)
		names 100 | xargs certstore -s "$S" add
		timeout -s KILL "0.$(printf '%03d' $((20 + RANDOM % 200)))" cert-expiring -s "$S" -L 2 >/dev/null 2>&1 || true
		sleep 3
		run_split -0 cert-expiring -s "$S"
		assert_equal "$(jq -r '.identifiers[]' "$OUTPUT_FILE" | sort)" "$(names 100)" "run $run: after SIGKILL"
	done
}

@test "lease: certstore-put ends its own lease on success and on failure, never another's" {
	certstore -s "$S" add ok.example bad.example other.example mine.example
	run_split -0 cert-expiring -s "$S" -L 3600
	cp "$OUTPUT_FILE" "$T/due"
	mine=$(lease mine.example)
	# Success: stored, the lease gone with it.
	leaf a ok.example
	run_split -0 certstore-put -s "$S" < <(line "$T/due" ok.example | issued a)
	assert_json "$OUTPUT_FILE" '.stored.names == ["ok.example"] and (.lease.id | length) == 32'
	assert_equal "$(lease ok.example)" null "ok.example's lease"
	assert_equal "$(store_meta "$S" ok.example .serial)" "$(leaf_serial a)" "ok.example's serial"
	# Failure: recorded, the lease gone.
	run_split -1 certstore-put -s "$S" < <(line "$T/due" bad.example | failing)
	assert_equal "$(lease bad.example)" null "bad.example's lease"
	assert_equal "$(store_meta "$S" bad.example .failCount)" 1 "bad.example's failCount"
	# Another run's lease id: the failure is recorded, the lease stays;
	# so does it for a certificate stored with it.
	held=$(lease other.example)
	line "$T/due" other.example | jq -c '.lease.id = "0123456789abcdef0123456789abcdef"' >"$T/other"
	run_split -1 certstore-put -s "$S" < <(failing <"$T/other")
	assert_equal "$(lease other.example)" "$held" "other.example's lease after a failure"
	assert_equal "$(store_meta "$S" other.example .failCount)" 1 "other.example's failCount"
	leaf b other.example
	run_split -0 certstore-put -s "$S" < <(issued b <"$T/other")
	assert_equal "$(lease other.example)" "$held" "other.example's lease after a put"
	assert_equal "$(store_meta "$S" other.example .serial)" "$(leaf_serial b)" "other.example's serial"
	# A document without a lease leaves leases alone.
	leaf c mine.example
	run_split -0 certstore-put -s "$S" < <(line "$T/due" mine.example | jq -c 'del(.lease)' | issued c)
	assert_equal "$(lease mine.example)" "$mine" "mine.example's lease"
	# A document that fails in certstore-put itself ends its lease too,
	# and a bad document with a lease ends it without counting a failure
	# (ok.example is due again with --days 365; the others wait or are
	# held).
	run_split -0 cert-expiring -s "$S" -L 3600 --days 365
	assert_equal "$(jq -r '.identifiers[0]' "$OUTPUT_FILE")" ok.example "claimed again"
	[[ $(lease ok.example) != null ]] || fail "ok.example not claimed"
	cp "$OUTPUT_FILE" "$T/again"
	leaf d elsewhere.example
	run_split -1 certstore-put -s "$S" < <(issued d <"$T/again")
	assert_json "$OUTPUT_FILE" '.error.type == "urn:acmepipe:error:certificate"'
	assert_equal "$(lease ok.example)" null "ok.example's lease after a refused certificate"
	assert_equal "$(store_meta "$S" ok.example .serial)" "$(leaf_serial a)" "ok.example's serial"
	[[ -e $T/d.pending.key ]] || fail "the key file of a refused certificate is gone"
	run_split -0 cert-expiring -s "$S" -L 3600 --days 365
	jq -c '. + {error: {step: "acme-order", type: "urn:acmepipe:error:input", detail: "bad"}}' \
		"$OUTPUT_FILE" >"$T/bad"
	run_split -1 certstore-put -s "$S" <"$T/bad"
	assert_equal "$(lease ok.example)" null "ok.example's lease after a bad document"
	assert_equal "$(store_meta "$S" ok.example .failCount)" 0 "ok.example's failCount"
}

@test "lease: taken over, and a newer certificate stored meanwhile: not stored (urn:acmepipe:error:lease), the key kept; an older one: replaced" {
	# Two names with a certificate that --days 365 makes due.
	leaf t0 taken.example
	leaf u0 older.example
	for p in t0:taken.example u0:older.example; do
		jq -cn --arg n "${p#*:}" '{version: 1, identifiers: [$n]}' | issued "${p%:*}" |
			certstore-put -s "$S" >/dev/null
	done
	# Run A claims them for a second; its certificates are issued now.
	run_split -0 cert-expiring -s "$S" -e 365 -L 1
	cp "$OUTPUT_FILE" "$T/a"
	leaf ta taken.example
	sleep 2
	# Run B takes both over; its taken.example is issued later, stored.
	run_split -0 cert-expiring -s "$S" -e 365 -L 3600
	cp "$OUTPUT_FILE" "$T/b"
	assert_line_count 2
	leaf tb taken.example
	run_split -0 certstore-put -s "$S" < <(line "$T/b" taken.example | issued tb)
	# Run C claims taken.example's new certificate (due with --days 365).
	run_split -0 cert-expiring -s "$S" -e 365 -L 3600
	assert_equal "$(jq -r '.identifiers[0]' "$OUTPUT_FILE")" taken.example "run C"
	held=$(lease taken.example)
	before=$(certstore -s "$S" list taken.example)
	# A's certificate is older than B's: refused, naming C, the key kept.
	run_split -1 certstore-put -s "$S" < <(line "$T/a" taken.example | issued ta)
	cp "$OUTPUT_FILE" "$T/a.out"
	holder=$(jq -r .holder <<<"$held")
	assert_json "$OUTPUT_FILE" '.error.type == "urn:acmepipe:error:lease" and .error.step == "certstore-put"
	    and .error.identifier == "taken.example" and .stored == null and .key.path == $k
	    and .error.detail == "lease taken over by \($h); the store holds a newer certificate (serial \($s))"' \
		--arg k "$T/ta.pending.key" --arg h "$holder" --arg s "$(leaf_serial tb)"
	assert_stderr "certstore-put: <stdin>:1: taken.example: urn:acmepipe:error:lease: $(jq -r .error.detail "$OUTPUT_FILE")"
	[[ -e $T/ta.pending.key ]] || fail "the key file is gone"
	assert_json_eq "$(certstore -s "$S" list taken.example)" "$before"
	assert_equal "$(store_serial "$S" taken.example)" "$(leaf_serial tb)" "stored chain"
	# Rerun on its own output: the same document, nothing recorded, C's
	# lease untouched.
	run_split -1 certstore-put -s "$S" <"$T/a.out"
	cmp "$OUTPUT_FILE" "$T/a.out" || fail "the rerun changed the document"
	assert_json_eq "$(certstore -s "$S" list taken.example)" "$before"
	# older.example: B holds it, but the store's certificate is older than
	# A's (issued after the one stored): A's is stored, B's lease stays.
	held=$(lease older.example)
	leaf ua older.example
	run_split -0 certstore-put -s "$S" < <(line "$T/a" older.example | issued ua)
	assert_equal "$(store_meta "$S" older.example .serial)" "$(leaf_serial ua)" "older.example's serial"
	assert_equal "$(store_serial "$S" older.example)" "$(leaf_serial ua)" "older.example's chain"
	assert_equal "$(lease older.example)" "$held" "B's lease"
	# B's own put then ends B's lease.
	leaf ub older.example
	run_split -0 certstore-put -s "$S" < <(line "$T/b" older.example | issued ub)
	assert_equal "$(lease older.example)" null "older.example's lease"
	assert_equal "$(store_meta "$S" older.example .serial)" "$(leaf_serial ub)" "older.example's serial"
}

@test "lease: a document of several names is emitted only when all are claimed; those claimed are released" {
	leaf san a.example b.example
	jq -cn '{version: 1, identifiers: ["a.example", "b.example"]}' | issued san |
		certstore-put -s "$S" >/dev/null
	run_split -0 cert-expiring -s "$S" -e 365 -L 3600
	assert_json "$OUTPUT_FILE" '.identifiers == ["a.example", "b.example"]'
	cp "$OUTPUT_FILE" "$T/x"
	held=$(lease b.example)
	# a.example's lease ends (a bad document of a.example alone), b's stays.
	jq -c '.identifiers = ["a.example"] | . + {error: {step: "acme-order",
	    type: "urn:acmepipe:error:input", detail: "bad"}}' "$T/x" | certstore-put -s "$S" >/dev/null || true
	assert_equal "$(lease a.example)" null "a.example's lease"
	run_split -0 cert-expiring -s "$S" -e 365 -v
	assert_output ''
	assert_stderr "cert-expiring: b.example: leased to $(jq -r .holder <<<"$held") until $(jq -r .until <<<"$held")"
	assert_equal "$(lease a.example)" null "a.example's lease, released"
	assert_equal "$(lease b.example)" "$held" "b.example's lease"
}

@test "lease: --shard 1/2 and 2/2 with leases, twice each at once: together every name, without overlap" {
	names 120 | xargs certstore -s "$S" add
	pids=()
	for i in 1 2 3 4; do
		cert-expiring -s "$S" -b "$(((i + 1) / 2))/2" >"$T/out$i" 2>"$T/err$i" &
		pids+=("$!")
	done
	for i in 1 2 3 4; do
		wait "${pids[i - 1]}" || fail "run $i: $(cat "$T/err$i")"
	done
	cat "$T"/out[12] >"$T/shard1"
	cat "$T"/out[34] >"$T/shard2"
	jq -r '.identifiers[]' "$T/shard1" | sort >"$T/n1"
	jq -r '.identifiers[]' "$T/shard2" | sort >"$T/n2"
	assert_equal "$(sort "$T/n1" "$T/n2")" "$(names 120)" "both shards"
	assert_equal "$(comm -12 "$T/n1" "$T/n2")" "" "overlap"
	[[ -s $T/n1 && -s $T/n2 ]] || fail "a shard is empty"
	# Each shard is what the shard alone emits without leases.
	run_split -0 cert-expiring -s "$S" -b 1/2 -L 0
	assert_equal "$(jq -r '.identifiers[]' "$OUTPUT_FILE" | sort)" "$(cat "$T/n1")" "shard 1"
	assert_json "$T/shard1" '.lease.id | length == 32'
	run_split -0 cert-expiring -s "$S"
	assert_output ''
}

@test "lease: --max-per-domain claims only what it emits; the next runs take the rest" {
	certstore -s "$S" add x1.example.com x2.example.com x3.example.com x4.example.com x5.example.com
	seen=
	for n in 2 2 1 0; do
		run_split -0 cert-expiring -s "$S" -l 2
		assert_line_count "$n"
		seen+=$(jq -r '.identifiers[0]' "$OUTPUT_FILE")$'\n'
		assert_equal "$(certstore -s "$S" list | jq -r 'select(.lease) | .name' | sort)" \
			"$(sort <<<"${seen%$'\n'}" | grep .)" "leased after a run of $n"
	done
	assert_equal "$(sort <<<"$seen" | grep . | uniq -d)" "" "emitted twice"
}

@test "lease: certstore-put rerun on its own output harms nothing" {
	certstore -s "$S" add ok.example bad.example
	run_split -0 cert-expiring -s "$S"
	cp "$OUTPUT_FILE" "$T/due"
	leaf a ok.example
	{
		line "$T/due" ok.example | issued a
		line "$T/due" bad.example | failing
	} >"$T/in"
	run_split -1 certstore-put -s "$S" <"$T/in"
	cp "$OUTPUT_FILE" "$T/out"
	certstore -s "$S" list >"$T/meta"
	# Another run now holds ok.example (due with --days 365).
	run_split -0 cert-expiring -s "$S" -e 365
	assert_equal "$(jq -r '.identifiers[0]' "$OUTPUT_FILE")" ok.example "claimed again"
	held=$(lease ok.example)
	run_split -1 certstore-put -s "$S" <"$T/out"
	cmp "$OUTPUT_FILE" "$T/out" || fail "the rerun changed the documents"
	assert_equal "$(lease ok.example)" "$held" "the other run's lease"
	assert_json_eq "$(certstore -s "$S" list bad.example)" "$(jq -c 'select(.name == "bad.example")' "$T/meta")"
	assert_json_eq "$(certstore -s "$S" list ok.example | jq -c 'del(.lease)')" \
		"$(jq -c 'select(.name == "ok.example")' "$T/meta")"
}

@test "lease: a name renewed or failed by another worker while this run read the store is not claimed" {
	certstore -s "$S" add new.example fail.example
	# A certificate with a CertID, so the run asks the CA about it: the
	# CA's directory is a socket that never answers, which holds the run
	# between its reading and its claims for the --http-timeout.
	TEST_CERT_AKI=1 leaf ari ari.example
	jq -cn '{version: 1, identifiers: ["ari.example"]}' | issued ari | certstore-put -s "$S" >/dev/null
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$T/port" &
	hole=$!
	for _ in $(seq 1 50); do [[ -s $T/port ]] && break; sleep 0.1; done
	cert-expiring -s "$S" -v -T 4 -d "https://127.0.0.1:$(cat "$T/port")/dir" >"$T/out" 2>"$T/err" &
	run=$!
	sleep 1
	# Meanwhile another worker stores new.example and fails fail.example.
	leaf n new.example
	jq -cn '{version: 1, identifiers: ["new.example"]}' | issued n | certstore-put -s "$S" >/dev/null
	jq -cn '{version: 1, identifiers: ["fail.example"]}' | failing | certstore-put -s "$S" >/dev/null || true
	wait "$run" || fail "cert-expiring: status $?: $(cat "$T/err")"
	kill "$hole"
	wait "$hole" 2>/dev/null || true
	assert_equal "$(cat "$T/out")" "" "documents"
	grep -qx 'cert-expiring: new.example: changed since it was read' "$T/err" || fail "stderr: $(cat "$T/err")"
	grep -qx 'cert-expiring: fail.example: changed since it was read' "$T/err" || fail "stderr: $(cat "$T/err")"
	assert_equal "$(lease new.example)$(lease fail.example)" nullnull "leases"
}
