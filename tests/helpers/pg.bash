# shellcheck shell=bash
#
# tests/helpers/pg.bash: a real PostgreSQL 15 server for the tests, on
# 127.0.0.1 at a free port. Loaded after common.bash by the files that need
# it (`load helpers/common`, then `load helpers/pg`); common.bash does not
# source it, so files without PostgreSQL pay nothing.
#
# pg_start             initdb and start (or, when this file's server is
#                      already started, only export again; when it is down,
#                      pg_up); returns once it accepts password logins
# pg_stop              stop it and remove its directory (safe when already
#                      stopped or never started)
# pg_down              stop it, keeping its data
# pg_up                start it again, same port and data
# pg_restart           pg_down, then pg_up ("PostgreSQL restarted mid-run")
# pg_new_db            create a new, empty database and print its URI,
#                      postgresql://acmepipe@127.0.0.1:PG_PORT/acmepipe_test_N
# pg_psql URI [SQL...] run each SQL (else standard input) with psql
#                      -X -v ON_ERROR_STOP=1 -qAt against URI, as acmepipe
#                      unless URI names a user; prints the rows
# pg_pid               print the running postmaster's PID, fail when down
# pg_logs              tails of pg_ctl's and the server's logs
#
# pg_start exports (and every load of this file exports again, so a test
# process sees the PID of a server restarted by an earlier test):
#   PG_DIR       the server's directory, /tmp/acmepipe-pg.XXXXXX (mktemp -d,
#                owned by postgres): data/, postgres.log, initdb.log,
#                pg_ctl.log, pgpass
#   PG_PORT      its TCP port on 127.0.0.1; kept by pg_up and pg_restart
#   PG_PID       the postmaster's PID (data/postmaster.pid); empty while down
#   PG_USER      acmepipe, a superuser (the only role: initdb -U)
#   PG_PASSWORD  its password, random per start
#   PGPASSFILE   $PG_DIR/pgpass (mode 0600, lines for 127.0.0.1 and
#                localhost), so URIs need not carry the password
#   PG_URI_BASE  postgresql://acmepipe@127.0.0.1:PG_PORT (append /DBNAME)
#
# The only pg_hba.conf line is host all all 127.0.0.1/32 scram-sha-256:
# there is no Unix socket (unix_socket_directories = ''), no trust, no peer,
# so a wrong password is refused. The caller's libpq variables (PGHOST,
# PGUSER, PGPASSWORD, PGSSLMODE, ...) are dropped at the file's first load.
#
# Tests run as root and PostgreSQL refuses to, so initdb and pg_ctl run as
# the postgres user (runuser), in a directory under /tmp: TEST_TMP lies in
# bats' run directory, which is mode 0700 root. fsync, synchronous_commit
# and full_page_writes are off: a crash of the host may lose the data, a
# crash of the server (SIGKILL) does not. PG_DURABLE=1 keeps them on (the
# benchmarks, to compare with the file store's fsyncs); PG_SHARED_BUFFERS
# sets shared_buffers (32MB).
#
# Stopping: SIGINT to the postmaster (a fast shutdown: sessions are cut,
# as pg_ctl stop -m fast does), up to 10 s; then SIGQUIT (immediate), up
# to 3 s; then SIGKILL for it and its children. Never waits for anything
# but those PIDs.
#
# Clean-up: common.bash has no registry of clean-up functions, so this file
# chains pg_stop onto its harness_stop and pg_logs onto its harness_logs.
# The default teardown_file (harness_stop) therefore stops PostgreSQL, and
# a failed test's teardown (harness_teardown) shows PostgreSQL's log. A file
# whose own teardown_file does not call harness_stop must call pg_stop.

if ! declare -F free_ports >/dev/null; then
	# shellcheck source=tests/helpers/common.bash
	source "${BASH_SOURCE[0]%/*}/common.bash"
fi

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export PG_USER=acmepipe

# Once per file, as common.bash does for ACMEPIPE_*: libpq reads PGHOST,
# PGUSER, PGPASSWORD, PGSSLMODE, ... from the environment, and the caller's
# would point the tests elsewhere. The marker is exported, so the loads in
# test processes keep the PGPASSFILE that pg_start exported.
if [[ -z ${HARNESS_PG_ENV_CLEAN:-} ]]; then
	while IFS= read -r _v; do
		[[ $_v == PG[A-Z]* ]] && unset "$_v"
	done < <(compgen -e)
	unset _v
	export HARNESS_PG_ENV_CLEAN=1
fi

# State kept in files under TEST_TMP, because pg_restart may run in a test
# process, which does not see what setup_file's process set unexported:
#   dir   PG_DIR         port  PG_PORT
#   pid   the last postmaster's PID (in case postmaster.pid is gone)
#   seq   pg_new_db's counter (seq.lock: its lock)
_PG_STATE=$TEST_TMP/pg

pg_start() {
	local state=$_PG_STATE dir pw port attempt rc
	if [[ -s $state/dir ]]; then
		_pg_env || return 1
		if pg_pid >/dev/null; then
			return 0
		fi
		pg_up
		return
	fi
	if [[ ! -x $PG_BIN/postgres ]]; then
		echo "pg_start: no PostgreSQL in $PG_BIN (postgresql-15)" >&2
		return 1
	fi
	mkdir -p "$state" || return 1
	dir=$(mktemp -d /tmp/acmepipe-pg.XXXXXX) || return 1
	echo "$dir" >"$state/dir"
	if ((EUID == 0)); then
		chown postgres:postgres "$dir" || {
			pg_stop
			return 1
		}
	fi
	pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	if [[ ! $pw =~ ^[0-9a-f]{32}$ ]]; then
		echo "pg_start: no random password" >&2
		pg_stop
		return 1
	fi
	if ! _pg_initdb "$dir" "$pw"; then
		echo "pg_start: initdb failed" >&2
		log_tail "$dir/initdb.log" >&2
		pg_stop
		return 1
	fi
	for attempt in 1 2 3; do
		port=$(free_ports 1) || {
			pg_stop
			return 1
		}
		_pg_config "$dir" "$port" "$pw" || {
			pg_stop
			return 1
		}
		rc=0
		_pg_launch "$dir" || rc=$?
		((rc == 0)) && break
		# rc 2: the port was taken between free_ports and the bind.
		if ((rc != 2 || attempt == 3)); then
			echo "pg_start: PostgreSQL did not come up on 127.0.0.1:$port (attempt $attempt)" >&2
			log_tail "$dir/pg_ctl.log" "$dir/postgres.log" >&2
			pg_stop
			return 1
		fi
		mv "$dir/postgres.log" "$dir/postgres.log.$attempt" 2>/dev/null || true
	done
	_pg_env
}

pg_stop() {
	local state=$_PG_STATE dir
	[[ -s $state/dir ]] || return 0
	dir=$(<"$state/dir")
	if ! _pg_kill "$dir"; then
		echo "pg_stop: the postmaster ($(_pg_pid_file "$dir")) would not die; $dir kept" >&2
		return 1
	fi
	# Only what pg_start made: never an arbitrary path from a damaged file.
	if [[ $dir == /tmp/acmepipe-pg.?????? && -d $dir ]]; then
		rm -rf -- "$dir"
	fi
	rm -rf -- "$state"
	export PG_PID=
}

pg_down() {
	_pg_env || return 1
	if ! _pg_kill "$PG_DIR"; then
		echo "pg_down: the postmaster would not die" >&2
		return 1
	fi
	export PG_PID=
}

pg_up() {
	local rc=0
	_pg_env || return 1
	if pg_pid >/dev/null; then
		return 0
	fi
	_pg_launch "$PG_DIR" || rc=$?
	if ((rc != 0)); then
		if ((rc == 2)); then
			echo "pg_up: port $PG_PORT was taken while PostgreSQL was down" >&2
		else
			echo "pg_up: PostgreSQL did not come back on 127.0.0.1:$PG_PORT" >&2
		fi
		log_tail "$PG_DIR/pg_ctl.log" "$PG_DIR/postgres.log" >&2
		return 1
	fi
	_pg_env
}

pg_restart() {
	pg_down && pg_up
}

pg_new_db() {
	local seq n name
	_pg_env || return 1
	seq=$_PG_STATE/seq
	# A counter under a lock, so even parallel tests get distinct names.
	n=$({
		flock 9 || exit 1
		n=$(($(cat "$seq" 2>/dev/null || echo 0) + 1))
		echo "$n" >"$seq" && echo "$n"
	} 9>>"$seq.lock") && [[ -n $n ]] || return 1
	name=acmepipe_test_$n
	# FILE_COPY: a plain copy of template1, without writing it all to the
	# WAL as PostgreSQL 15's default (WAL_LOG) does; fsync is off anyway.
	pg_psql "$PG_URI_BASE/postgres" \
		"CREATE DATABASE $name TEMPLATE template1 STRATEGY FILE_COPY" || return 1
	echo "$PG_URI_BASE/$name"
}

pg_psql() {
	local uri=${1:-} sql
	local -a cmd
	if [[ -z $uri ]]; then
		echo "usage: pg_psql URI [SQL...]" >&2
		return 2
	fi
	shift
	cmd=("$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -qAt -d "$uri")
	for sql; do
		cmd+=(-c "$sql")
	done
	# A server that stopped answering must not hang the test. --foreground:
	# psql may read the SQL from a terminal, by hand.
	PGUSER=$PG_USER PGCONNECT_TIMEOUT=10 \
		timeout --foreground -k 5 "${PG_PSQL_TIMEOUT:-60}" "${cmd[@]}"
}

pg_pid() {
	local dir pid
	[[ -s $_PG_STATE/dir ]] || return 1
	dir=$(<"$_PG_STATE/dir")
	pid=$(_pg_pid_file "$dir") && _pg_is_postmaster "$pid" || return 1
	echo "$pid"
}

pg_logs() {
	local dir
	[[ -s $_PG_STATE/dir ]] || return 0
	dir=$(<"$_PG_STATE/dir")
	log_tail "$dir/pg_ctl.log" "$dir/postgres.log"
}

# _pg_env: exports PG_DIR, PG_PORT, PGPASSFILE, PG_PASSWORD, PG_URI_BASE
# and PG_PID (empty when down) from the state files.
_pg_env() {
	if [[ ! -s $_PG_STATE/dir || ! -s $_PG_STATE/port ]]; then
		echo "pg: PostgreSQL was not started (pg_start)" >&2
		return 1
	fi
	PG_DIR=$(<"$_PG_STATE/dir")
	PG_PORT=$(<"$_PG_STATE/port")
	PGPASSFILE=$PG_DIR/pgpass
	PG_PASSWORD=$(head -n 1 "$PGPASSFILE" 2>/dev/null) || PG_PASSWORD=
	PG_PASSWORD=${PG_PASSWORD##*:}
	PG_URI_BASE=postgresql://$PG_USER@127.0.0.1:$PG_PORT
	PG_PID=$(pg_pid) || PG_PID=
	export PG_DIR PG_PORT PGPASSFILE PG_PASSWORD PG_URI_BASE PG_PID
}

# _pg_as DIR CMD...: runs CMD as postgres (when root) in DIR, with a
# clean environment: PostgreSQL's tools cannot start where postgres may not
# enter (getcwd), and must not see the tests' PG* or LC_* variables.
_pg_as() {
	local dir=$1
	shift
	local -a env=(env -i PATH=/usr/bin:/bin HOME="$dir" LC_ALL=C TZ=UTC)
	if ((EUID == 0)); then
		(cd "$dir" && exec runuser -u postgres -- "${env[@]}" "$@" 3>&-)
	else
		(cd "$dir" && exec "${env[@]}" "$@" 3>&-)
	fi
}

# _pg_initdb DIR PASSWORD: the cluster in DIR/data, acmepipe its only role.
_pg_initdb() {
	local dir=$1 rc=0
	(umask 077 && printf '%s\n' "$2" >"$dir/pwfile") || return 1
	if ((EUID == 0)); then
		chown postgres:postgres "$dir/pwfile" || return 1
	fi
	# -N: no fsync of the new files, as the server runs with fsync off.
	_pg_as "$dir" timeout -k 5 120 "$PG_BIN/initdb" -D "$dir/data" -N \
		-U "$PG_USER" --pwfile="$dir/pwfile" -A scram-sha-256 \
		-E UTF8 --no-locale </dev/null >"$dir/initdb.log" 2>&1 || rc=$?
	rm -f "$dir/pwfile"
	return "$rc"
}

# _pg_config DIR PORT PASSWORD: the harness's settings (included after
# initdb's, so they win), pg_hba.conf, the password file, the state's port.
# Written as root; the server only reads them.
_pg_config() {
	local dir=$1 port=$2 pw=$3 data=$1/data _pg_sync=off
	[[ ${PG_DURABLE:-0} == 1 ]] && _pg_sync=on
	grep -qx "include 'harness.conf'" "$data/postgresql.conf" ||
		echo "include 'harness.conf'" >>"$data/postgresql.conf" || return 1
	cat >"$data/harness.conf" <<-EOF || return 1
		# tests/helpers/pg.bash
		listen_addresses = '127.0.0.1'
		port = $port
		unix_socket_directories = ''
		password_encryption = scram-sha-256
		ssl = off
		fsync = $_pg_sync
		synchronous_commit = $_pg_sync
		full_page_writes = $_pg_sync
		shared_buffers = ${PG_SHARED_BUFFERS:-32MB}
		max_connections = 100
		logging_collector = off
		log_destination = stderr
		log_line_prefix = '%m [%p] %q%u@%d '
		log_checkpoints = off
		log_timezone = UTC
		timezone = UTC
		lc_messages = C
	EOF
	echo 'host all all 127.0.0.1/32 scram-sha-256' >"$data/pg_hba.conf" || return 1
	if ((EUID == 0)); then
		chown postgres:postgres "$data/harness.conf" "$data/pg_hba.conf" || return 1
	fi
	(umask 077 && printf '127.0.0.1:%s:*:%s:%s\nlocalhost:%s:*:%s:%s\n' \
		"$port" "$PG_USER" "$pw" "$port" "$PG_USER" "$pw" >"$dir/pgpass") || return 1
	echo "$port" >"$_PG_STATE/port"
}

# _pg_launch DIR: pg_ctl start, then a password login. Returns 0 when up,
# 2 when the port was taken, 1 on any other failure or timeout (30 s).
_pg_launch() {
	local dir=$1 log=$1/postgres.log pid rc port off tries
	port=$(<"$_PG_STATE/port")
	# A postmaster.pid left by a SIGKILL: its PID may belong to another
	# process by now, which PostgreSQL would take for a running server.
	if pid=$(_pg_pid_file "$dir") && ! _pg_is_postmaster "$pid"; then
		rm -f "$dir/data/postmaster.pid"
	fi
	# Children of a postmaster killed with SIGKILL die of its death, not
	# all at once; until then they hold its shared memory and the new one
	# refuses to start. Up to 10 tries, a second apart, for that alone.
	for ((tries = 1; ; tries++)); do
		off=$(stat -c %s "$log" 2>/dev/null) || off=0
		rc=0
		_pg_as "$dir" timeout -k 5 40 "$PG_BIN/pg_ctl" start -D "$dir/data" \
			-l "$log" -w -t 30 -s </dev/null >"$dir/pg_ctl.log" 2>&1 || rc=$?
		((rc != 0)) || break
		_pg_kill "$dir" || true
		# Only this start's lines of the log.
		if tail -c "+$((off + 1))" "$log" 2>/dev/null | grep -q 'Address already in use'; then
			return 2
		fi
		if ((tries < 10)) && tail -c "+$((off + 1))" "$log" 2>/dev/null |
			grep -q 'pre-existing shared memory block .* is still in use'; then
			sleep 1
			continue
		fi
		return 1
	done
	pid=$(_pg_pid_file "$dir") && _pg_is_postmaster "$pid" || return 1
	echo "$pid" >"$_PG_STATE/pid"
	# pg_ctl -w saw "ready" in postmaster.pid; this proves the password.
	rc=0
	wait_until 300 "$pid" _pg_login "$dir" "$port" || rc=$?
	if ((rc != 0)); then
		_pg_kill "$dir" || true
		return 1
	fi
}

_pg_login() {
	[[ $(PGPASSFILE=$1/pgpass PG_PSQL_TIMEOUT=5 \
		pg_psql "postgresql://$PG_USER@127.0.0.1:$2/postgres" 'SELECT 1') == 1 ]]
}

# _pg_pid_file DIR: the PID in DIR/data/postmaster.pid, else the last one
# launched; fails when there is neither.
_pg_pid_file() {
	local pid=
	read -r pid 2>/dev/null <"$1/data/postmaster.pid" ||
		read -r pid 2>/dev/null <"$_PG_STATE/pid" || true
	[[ $pid =~ ^[0-9]+$ ]] && echo "$pid"
}

# _pg_is_postmaster PID: PID runs, and runs postgres (not a recycled PID).
_pg_is_postmaster() {
	local exe
	proc_alive "$1" || return 1
	exe=$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 1)
	[[ ${exe##*/} == postgres ]]
}

# _pg_kill DIR: stops DIR's postmaster if it runs; fails only when it
# still runs after SIGKILL.
_pg_kill() {
	local pid sig tries i
	local -a kids
	pid=$(_pg_pid_file "$1") && _pg_is_postmaster "$pid" || return 0
	for sig in INT:100 QUIT:30 KILL:30; do
		tries=${sig#*:}
		sig=${sig%:*}
		if [[ $sig == KILL ]]; then
			# Its children would die of the postmaster's death, but not
			# at once; take them along.
			mapfile -t kids < <(pgrep -P "$pid")
			kill -KILL "${kids[@]}" 2>/dev/null || true
		fi
		kill "-$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < tries; i++)); do
			proc_alive "$pid" || break 2
			sleep 0.1
		done
	done
	proc_alive "$pid" && return 1
	rm -f "$_PG_STATE/pid"
}

# _pg_chain FN NEXT: redefines common.bash's FN to run as before, then
# NEXT; fails when either failed. Once only, however often this is loaded.
_pg_chain() {
	local fn=$1 next=$2 def
	def=$(declare -f "$fn") || return 0
	[[ $def == *"_pg_orig_$fn"* ]] && return 0
	eval "_pg_orig_$def"
	eval "$fn() { local rc=0; _pg_orig_$fn || rc=\$?; $next || rc=1; return \$rc; }"
}
_pg_chain harness_stop pg_stop
_pg_chain harness_logs pg_logs

# Each load (each test process) exports again: PG_PID may have changed.
if [[ -s $_PG_STATE/dir && -s $_PG_STATE/port ]]; then
	_pg_env
fi
