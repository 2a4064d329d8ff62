# shellcheck shell=bash
#
# tests/helpers/common.bash: loaded by every bats file (`load helpers/common`)
# and sourced by tests/demo.
#
# Sets up a hermetic environment, then pulls in the rest of the harness:
#   pebble.bash   pebble_start/stop/restart, pebble_root, challtest_* (DNS)
#   nginx.bash    nginx_start/stop, served_cert/serial/chain/verify
#   proxy.bash    proxy_start/stop, proxy_fault/ari/profiles (acme-proxy.py)
#   assert.bash   run_split, assert_* (bats 1.8 has no bats-assert)
#   store.bash    store_new, store_meta, store_serial: the store under test
#
# Exported here:
#   REPO_ROOT   the checkout; $REPO_ROOT/bin and /scripts lead PATH
#   FIXTURES    $REPO_ROOT/tests/fixtures
#   TEST_TMP    per-file scratch directory (BATS_FILE_TMPDIR), server state
#               and logs live under it; bats removes it after the run
#   HOME        $TEST_TMP/home, so no default path ever reaches the real home
#
# Servers are started and stopped by PID, kept in files under TEST_TMP so a
# server restarted inside a test is still stopped by teardown_file.

# Outside bats (tests/demo, or by hand: `source tests/helpers/common.bash`)
# everything but run/teardown works the same; TEST_TMP is then made below.
if declare -F bats_require_minimum_version >/dev/null; then
	bats_require_minimum_version 1.5.0 # `run -N` / `run !` without warnings
fi

HARNESS_DIR=$(cd "${BASH_SOURCE[0]%/*}" && pwd)
REPO_ROOT=$(cd "$HARNESS_DIR/../.." && pwd)
FIXTURES=$REPO_ROOT/tests/fixtures
export REPO_ROOT FIXTURES

# The file is sourced for setup_file and again for each test, in processes
# that inherit the first one's environment: anything exported here must be
# idempotent.
case ":$PATH:" in
*":$REPO_ROOT/bin:"*) ;;
*) PATH=$REPO_ROOT/bin:$REPO_ROOT/scripts:$PATH ;;
esac
export PATH

if [[ -n ${BATS_FILE_TMPDIR:-} ]]; then
	TEST_TMP=$BATS_FILE_TMPDIR
else
	# Sourced outside bats: the caller's TEST_TMP (tests/demo sets one),
	# else a new directory inside the checkout, for debugging by hand.
	mkdir -p "$REPO_ROOT/tests/tmp"
	TEST_TMP=${TEST_TMP:-$(mktemp -d "$REPO_ROOT/tests/tmp/harness.XXXXXX")}
fi
export TEST_TMP

# Once per file (the first load, in the setup_file process): drop the
# caller's ACMEPIPE_* settings, which would otherwise point tests at a real
# account key or CA. The marker is exported, so the loads in test processes
# keep what setup_file exported (ACMEPIPE_DIRECTORY, ...).
if [[ -z ${HARNESS_ENV_CLEAN:-} ]]; then
	while IFS= read -r _v; do
		[[ $_v == ACMEPIPE_* ]] && unset "$_v"
	done < <(compgen -e)
	unset _v XDG_CONFIG_HOME XDG_DATA_HOME XDG_STATE_HOME XDG_CACHE_HOME
	export HARNESS_ENV_CLEAN=1
fi
export HOME=$TEST_TMP/home
mkdir -p "$HOME"
# Stable messages and sort order; UTF-8 so IDN fixtures pass through intact.
export LC_ALL=C.UTF-8

# free_ports N: prints N distinct TCP+UDP ports free on this host, one per
# line. Pure bash plus ss(8) (iproute2): python3 is not on a fresh Debian.
# Ports come from 20000-31999, below Linux's ephemeral range (32768-), so
# an outgoing connection's local port cannot take one between this check
# and the server's bind. Random, so parallel runs rarely collide; servers
# that still lose the race are retried by their start functions.
free_ports() {
	local n=${1:-1} used=' ' port tries=0
	local -a out=()
	if command -v ss >/dev/null 2>&1; then
		# Column 5 is the local address; the port follows its last colon.
		used+=$(ss -Htuan | awk '{ n = split($5, a, ":"); printf "%s ", a[n] }')
	fi
	while ((${#out[@]} < n)); do
		if ((++tries > 1000)); then
			echo "free_ports: no free port found" >&2
			return 1
		fi
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		[[ $used == *" $port "* ]] && continue
		# Without ss, a TCP connect that succeeds means the port is taken.
		if ! command -v ss >/dev/null 2>&1 &&
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			continue
		fi
		used+="$port "
		out+=("$port")
	done
	printf '%s\n' "${out[@]}"
}

# proc_alive PID: true while PID runs. A zombie counts as gone: kill -0
# succeeds on zombies, and a container's PID 1 may never reap orphans.
proc_alive() {
	local stat
	[[ ${1:-} =~ ^[0-9]+$ ]] || return 1
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) } # the command name may hold spaces and parentheses
	[[ ${stat:0:1} != Z ]]
}

# proc_start PIDFILE LOG CMD...: starts CMD in the background, output
# appended to LOG, PID written to PIDFILE. fd 3 is closed because bats
# waits for every holder of its fd 3 before it finishes a test or file.
proc_start() {
	local pidfile=$1 log=$2
	shift 2
	"$@" </dev/null >>"$log" 2>&1 3>&- &
	echo "$!" >"$pidfile"
}

# proc_stop PIDFILE NAME: stops the process in PIDFILE if it still runs NAME
# (a recycled PID is left alone): SIGTERM, up to 5 s, then SIGKILL. Safe when
# PIDFILE is missing or the process is already dead; removes PIDFILE.
proc_stop() {
	local pidfile=$1 name=$2 pid i
	[[ -f $pidfile ]] || return 0
	pid=$(<"$pidfile")
	if proc_alive "$pid" &&
		tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1 | grep -q -- "$name"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			proc_alive "$pid" || break
			sleep 0.1
		done
		if proc_alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
			for ((i = 0; i < 20; i++)); do
				proc_alive "$pid" || break
				sleep 0.1
			done
		fi
	fi
	# Reap it when it is this shell's child (started in this process).
	wait "$pid" 2>/dev/null || true
	rm -f "$pidfile"
	! proc_alive "$pid"
}

# wait_until TENTHS PID CMD...: retries CMD every 0.1 s for TENTHS tries.
# Returns 0 once CMD succeeds, 2 as soon as PID has died, 1 on timeout.
wait_until() {
	local tries=$1 pid=$2 i
	shift 2
	for ((i = 0; i < tries; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		proc_alive "$pid" || return 2
		sleep 0.1
	done
	return 1
}

# log_tail LOG...: the last lines of each log, for failure messages.
log_tail() {
	local f
	for f in "$@"; do
		[[ -f $f ]] || continue
		printf -- '--- %s (last 20 lines)\n' "$f"
		tail -n 20 -- "$f"
	done
}

# harness_logs: log tails of every server this file started.
harness_logs() {
	log_tail "$TEST_TMP"/pebble/*.log "$TEST_TMP"/nginx/*.log "$TEST_TMP"/proxy/*.log
}

# harness_stop: stops nginx, the proxy, pebble and challtestsrv; for
# teardown_file.
harness_stop() {
	nginx_stop
	proxy_stop
	pebble_stop
}

# Default teardown: when a test failed, show the servers' log tails in its
# output. A file that defines its own teardown can call this.
harness_teardown() {
	if [[ -z ${BATS_TEST_COMPLETED:-} ]]; then
		harness_logs
	fi
	return 0
}
teardown() { harness_teardown; }

# Default teardown_file, so servers die even when a file forgets its own.
teardown_file() { harness_stop; }

# shellcheck source=tests/helpers/pebble.bash
source "$HARNESS_DIR/pebble.bash"
# shellcheck source=tests/helpers/nginx.bash
source "$HARNESS_DIR/nginx.bash"
# shellcheck source=tests/helpers/store.bash
source "$HARNESS_DIR/store.bash"
# shellcheck source=tests/helpers/assert.bash
source "$HARNESS_DIR/assert.bash"
# shellcheck source=tests/helpers/man.bash
source "$HARNESS_DIR/man.bash"
# shellcheck source=tests/helpers/certs.bash
source "$HARNESS_DIR/certs.bash"
# shellcheck source=tests/helpers/proxy.bash
source "$HARNESS_DIR/proxy.bash"
