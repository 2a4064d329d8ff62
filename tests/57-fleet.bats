#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's
# shellcheck disable=SC2154 # stderr, lines: set by run_split
#
# A fleet on one machine: one PostgreSQL store shared by 3 workers (each
# its own directories, account and process group, all running the same
# acme-renew at once) and 3 front ends (a certstore mirror --follow and an
# nginx each), against Pebble behind the test proxy, whose log of
# newOrder payloads counts the orders per name. The brief's network
# namespaces are left out: every "host" reaches Pebble and PostgreSQL on
# 127.0.0.1, and the workers share the webroot that the first front end
# answers http-01 from (a fleet would share it, or use a hook).
#
# 40 names always; 1,000 with ACMEPIPE_SCALE=1 (make check-scale).

# Read before helpers/common drops every ACMEPIPE_* variable of the caller.
export SCALE_FULL=${SCALE_FULL:-${ACMEPIPE_SCALE:-0}}

load helpers/common
load helpers/pg

setup_file() {
	pg_start
	pebble_start
	proxy_start
	export ACMEPIPE_AGREE_TOS=1 ACMEPIPE_HTTP_TIMEOUT=120
	export WEBROOT=$TEST_TMP/www ROOT=$TEST_TMP/root.pem
	mkdir -p "$WEBROOT"
	pebble_root >"$ROOT"
}

setup() {
	T=$BATS_TEST_TMPDIR
	U=$(pg_new_db)
	certstore -s "$U" init
	MIRRORS=() FE_PORT=()
	proxy_reset
}

teardown() {
	local pid f
	for pid in "${GROUPS_[@]:-}"; do
		[[ -n $pid ]] && kill -9 -- "-$pid" 2>/dev/null || true
	done
	for pid in "${MIRRORS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for f in 2 3; do
		NGINX_INSTANCE=fe$f nginx_stop
	done
	nginx_stop
	harness_teardown
}

note() { printf '# %s\n' "$*" >&3; }

# names N: N names fN.fleet.example, one a line, in $T/names; all managed.
names() {
	local i
	for ((i = 1; i <= $1; i++)); do
		echo "f$i.fleet.example"
	done >"$T/names"
	xargs certstore -s "$U" add <"$T/names"
}

# front_ends: 3 mirrors of $U, each served by its own nginx (the first
# also answers http-01 from $WEBROOT); FE_PORT[f] its TLS port.
front_ends() {
	local f
	for f in 1 2 3; do
		certstore mirror --follow --from "$U" --to "$T/fe$f" 2>"$T/fe$f.err" &
		MIRRORS+=("$!")
		if ((f == 1)); then
			nginx_start "$WEBROOT" "$T/fe$f"
		else
			NGINX_INSTANCE=fe$f nginx_start "$T/www$f" "$T/fe$f"
		fi
		FE_PORT[f]=$NGINX_TLS_PORT
	done
}

# worker W [VAR=VALUE...]: starts host W's acme-renew in a session and
# process group of its own; WORKERS[W] is the PID to wait for (setsid -w),
# GROUPS_[W] the group to kill. Output in $T/wW/.
WORKERS=() GROUPS_=()
worker() {
	local w=$1 d=$T/w$1 i
	shift
	mkdir -p "$d/keys"
	rm -f "$d/pgid"
	# shellcheck disable=SC2016 # the inner shell's $$
	setsid -w bash -c 'echo $$ >"$0/pgid"; exec "$@"' "$d" env "$@" \
		ACMEPIPE_STORE="$U" ACMEPIPE_WEBROOT="$WEBROOT" \
		ACMEPIPE_ACCOUNT_KEY="$d/account.key" ACMEPIPE_KEY_DIR="$d/keys" \
		acme-renew -j 4 >"$d/out" 2>"$d/err" &
	WORKERS[w]=$!
	for ((i = 0; i < 100; i++)); do
		[[ -s $d/pgid ]] && break
		sleep 0.01
	done
	GROUPS_[w]=$(<"$d/pgid")
}

# stored: the names with a certificate in the store.
stored() {
	certstore -s "$U" list | jq -r 'select(.serial) | .name'
}

# orders: "COUNT NAME" for every name Pebble got a newOrder for since
# this test's proxy_reset.
orders() {
	proxy_log | jq -r 'select(.path == "/order-plz" and .status == 201) |
	    .payload.identifiers[].value' |
		sort | uniq -c | awk '{ print $1, $2 }'
}

# serves_all F: front end F serves every name with a chain that verifies
# up to Pebble's root.
serves_all() {
	local f=$1 name bad=0
	while read -r name; do
		NGINX_TLS_PORT=${FE_PORT[f]} served_verify "$name" "$ROOT" || {
			echo "front end $f: $name not served" >&2
			bad=$((bad + 1))
		}
	done <"$T/names"
	((bad == 0))
}

# mirrored F: front end F's mirror holds a certificate for every name.
mirrored() {
	[[ $(find "$T/fe$1/certs" -name '*.pem' 2>/dev/null | wc -l) -eq $(wc -l <"$T/names") ]]
}

fleet() {
	local n=$1 w f t0 name serial pids
	names "$n"
	front_ends
	# The same cron line on three hosts, at the same moment.
	t0=$SECONDS
	for w in 1 2 3; do
		worker "$w"
	done
	for w in 1 2 3; do
		wait "${WORKERS[w]}" || fail "worker $w: $(tail -n 3 "$T/w$w/err")"
	done
	WORKERS=()
	note "$n names renewed by 3 workers in $((SECONDS - t0)) s"
	# Each name ordered exactly once, by one of the three.
	orders >"$T/orders"
	assert_equal "$(wc -l <"$T/orders")" "$n" "names ordered"
	assert_equal "$(awk '$1 != 1' "$T/orders")" "" "names ordered more than once"
	cat "$T"/w?/out | jq -r 'select(.stored) | .identifiers[0]' | sort >"$T/stored"
	assert_equal "$(cat "$T/stored")" "$(sort "$T/names")" "stored, each by one worker"
	for w in 1 2 3; do
		note "worker $w stored $(jq -c 'select(.stored)' "$T/w$w/out" | wc -l)"
	done
	assert_equal "$(certstore -s "$U" list | jq -r 'select(.serial and (.lease | not)) | .name' | sort)" \
		"$(sort "$T/names")" "stored, leases ended"
	# Every front end serves every name, verified up to Pebble's root.
	for f in 1 2 3; do
		# Mirrors on a loaded 2-core machine: time to catch up, not speed.
		for _ in $(seq 1 1200); do mirrored "$f" && break; sleep 0.1; done
		mirrored "$f" || fail "front end $f: the mirror is incomplete: $(cat "$T/fe$f.err")"
		serves_all "$f" || fail "front end $f does not serve every name"
	done
	# A renewed certificate: served by all three within 5 s, no reload.
	name=$(head -n 1 "$T/names")
	pids=$(cat "$TEST_TMP"/nginx*/harness.pid | sort)
	jq -cn --arg n "$name" '{identifiers: [$n]}' >"$T/again"
	ACMEPIPE_STORE=$U ACMEPIPE_WEBROOT=$WEBROOT ACMEPIPE_ACCOUNT_KEY=$T/w1/account.key \
		ACMEPIPE_KEY_DIR=$T/w1/keys acme-issue -i <"$T/again" >"$T/again.out" ||
		fail "renewal: $(jq -c .error "$T/again.out")"
	t0=$(date +%s%N)
	serial=$(store_serial "$U" "$name")
	for f in 1 2 3; do
		until [[ $(NGINX_TLS_PORT=${FE_PORT[f]} served_serial "$name" | tr 'A-F' 'a-f') == "$serial" ]]; do
			(($(date +%s%N) - t0 < 5000000000)) || fail "front end $f: the renewal not served within 5 s"
			sleep 0.05
		done
	done
	note "renewal served by all 3 front ends after $((($(date +%s%N) - t0) / 1000000)) ms"
	assert_equal "$(cat "$TEST_TMP"/nginx*/harness.pid | sort)" "$pids" "nginx restarted"
	for f in 1 2 3; do
		assert_no_private_key "$T/fe$f.err"
	done
}

@test "fleet: 3 workers renew 40 names from one database at once, each ordered once; 3 front ends serve them all" {
	fleet 40
}

@test "fleet: a worker killed with SIGKILL mid-run: its names renewed by the others after the lease, none ordered more than twice" {
	n=40
	((SCALE_FULL == 1)) && n=200
	names "$n"
	nginx_start "$WEBROOT" "$T/fe1" # http-01
	lease=10
	worker 1 ACMEPIPE_LEASE=$lease
	t0=$SECONDS
	# Killed once it has stored a few, with every name claimed and the
	# others in flight.
	for _ in $(seq 1 400); do
		(($(stored | wc -l) >= 3)) && break
		sleep 0.05
	done
	kill -9 -- "-${GROUPS_[1]}" ||
		fail "worker 1 (group ${GROUPS_[1]}) is gone: $(stored | wc -l) stored; $(tail -n 3 "$T/w1/err")"
	wait "${WORKERS[1]}" || true
	WORKERS=()
	killed=$(stored | wc -l)
	note "worker 1 killed after storing $killed names and ordering $(orders | wc -l)"
	((killed < n)) || fail "worker 1 finished before it was killed"
	# While its leases last, another worker takes nothing.
	worker 2
	wait "${WORKERS[2]}" || true
	WORKERS=()
	assert_equal "$(jq -c 'select(.stored)' "$T/w2/out" | wc -l)" 0 "taken while leased"
	# Once they ran out, the two others finish the lot.
	while ((SECONDS - t0 <= lease)); do sleep 0.2; done
	worker 2
	worker 3
	wait "${WORKERS[2]}" || fail "worker 2: $(tail -n 3 "$T/w2/err")"
	wait "${WORKERS[3]}" || fail "worker 3: $(tail -n 3 "$T/w3/err")"
	WORKERS=()
	assert_equal "$(stored | sort)" "$(sort "$T/names")" "every name stored"
	orders >"$T/orders"
	assert_equal "$(awk '$1 > 2' "$T/orders")" "" "names ordered more than twice"
	note "$(awk '$1 == 2' "$T/orders" | wc -l) names ordered twice (in flight at the kill)"
}

@test "fleet: 1,000 names, 3 workers, 3 front ends (ACMEPIPE_SCALE=1, make check-scale)" {
	[[ $SCALE_FULL == 1 ]] ||
		skip "takes minutes; run with ACMEPIPE_SCALE=1 (make check-scale)"
	fleet 1000
}
