#!/usr/bin/env bats
#
# The PostgreSQL harness itself (tests/helpers/pg.bash), before any store
# backend is involved: a real PostgreSQL 15 comes up as the postgres user
# on a free loopback port, hands out empty databases, refuses a wrong
# password, keeps its data over a stop and start, and is gone after
# pg_stop. Needs nothing from bin/.

load helpers/common
load helpers/pg

setup_file() {
	pg_start
}

teardown_file() {
	pg_stop
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# sleeping URI: one session of URI's server runs pg_sleep.
sleeping() {
	[[ $(pg_psql "$1" "SELECT count(*) FROM pg_stat_activity
		WHERE query LIKE 'SELECT pg_sleep%'") == 1 ]]
}

# user_tables URI: the number of tables outside the system schemas.
user_tables() {
	pg_psql "$1" "SELECT count(*) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
}

@test "pg_start: PostgreSQL 15 as postgres, on 127.0.0.1:PG_PORT only, no socket" {
	[[ $PG_PORT =~ ^[0-9]+$ ]] || fail "PG_PORT: $PG_PORT"
	assert_equal "$PG_URI_BASE" "postgresql://acmepipe@127.0.0.1:$PG_PORT"
	assert_equal "$PG_PID" "$(pg_pid)" PG_PID
	assert_equal "$(stat -c %U "/proc/$PG_PID")" postgres "the server's user"
	assert_equal "$(stat -c %a "$PGPASSFILE")" 600 "the password file's mode"
	run_split -0 pg_psql "$PG_URI_BASE/postgres" 'SHOW server_version_num' \
		'SHOW listen_addresses' 'SHOW unix_socket_directories' 'SELECT current_user' \
		'SELECT rolsuper FROM pg_roles WHERE rolname = current_user'
	[[ ${lines[0]} == 15* ]] || fail "server_version_num: ${lines[0]}"
	assert_equal "${lines[*]:1}" "127.0.0.1  acmepipe t"
	# The port's only listening socket is on 127.0.0.1.
	assert_equal "$(ss -Htln "sport = :$PG_PORT" | awk '{ print $4 }')" \
		"127.0.0.1:$PG_PORT" "listeners on port $PG_PORT"
	# Idempotent: the same server.
	pg_start
	assert_equal "$PG_PID" "$(pg_pid)" "PG_PID after pg_start again"
}

@test "pg_new_db: two distinct empty databases that take CREATE TABLE" {
	a=$(pg_new_db)
	b=$(pg_new_db)
	[[ $a == "$PG_URI_BASE"/* && $b == "$PG_URI_BASE"/* ]] || fail "URIs: $a $b"
	[[ $a != "$b" ]] || fail "the same database twice: $a"
	assert_equal "$(user_tables "$a")" 0 "tables in $a"
	assert_equal "$(user_tables "$b")" 0 "tables in $b"
	pg_psql "$a" 'CREATE TABLE t (x int)' 'INSERT INTO t VALUES (1)'
	pg_psql "$b" 'CREATE TABLE t (x int)' 'INSERT INTO t VALUES (2), (3)'
	assert_equal "$(pg_psql "$a" 'SELECT sum(x) FROM t')" 1
	assert_equal "$(pg_psql "$b" 'SELECT sum(x) FROM t')" 5
	assert_equal "$(pg_psql "$a" 'SELECT current_database()')" "${a##*/}"
}

@test "pg_psql: stops at the first error, with psql's status 1" {
	u=$(pg_new_db)
	run_split -1 pg_psql "$u" 'CREATE TABLE t (x int)' 'SELECT nope' 'CREATE TABLE u (x int)'
	assert_contains "$stderr" 'column "nope" does not exist'
	assert_equal "$(user_tables "$u")" 1
	# Without SQL arguments, the SQL comes from standard input.
	run_split -0 pg_psql "$u" <<<'SELECT 6 * 7;'
	assert_output 42
}

@test "the server refuses a wrong password, and no password" {
	u=$(pg_new_db)
	run_split -2 env -u PGPASSFILE PGPASSWORD=wrong \
		"$PG_BIN/psql" -X -w -d "$u" -c 'SELECT 1'
	assert_contains "$stderr" 'password authentication failed for user "acmepipe"'
	run_split -2 env -u PGPASSFILE "$PG_BIN/psql" -X -w -d "$u" -c 'SELECT 1'
	assert_contains "$stderr" 'no password supplied'
	# The right one, in the URI instead of the password file.
	run_split -0 env -u PGPASSFILE "$PG_BIN/psql" -X -w -qAt \
		-d "postgresql://acmepipe:$PG_PASSWORD@127.0.0.1:$PG_PORT/${u##*/}" -c 'SELECT 1'
	assert_output 1
}

@test "pg_down, pg_up: the same port, a new postmaster, the data kept" {
	u=$(pg_new_db)
	pg_psql "$u" 'CREATE TABLE kept (x text)' "INSERT INTO kept VALUES ('before')"
	old=$PG_PID port=$PG_PORT
	pg_down
	! proc_alive "$old" || fail "postmaster $old still runs"
	assert_equal "$PG_PID" '' "PG_PID while down"
	! pg_pid || fail "pg_pid while down"
	! port_open "$PG_PORT" || fail "port $PG_PORT still answers"
	run_split ! pg_psql "$u" 'SELECT 1'
	pg_up
	assert_equal "$PG_PORT" "$port" PG_PORT
	proc_alive "$PG_PID" || fail "no postmaster after pg_up"
	[[ $PG_PID != "$old" ]] || fail "the same PID after pg_up: $old"
	assert_equal "$(pg_psql "$u" 'SELECT x FROM kept')" before
}

@test "pg_restart: the data kept, sessions cut, a new PID seen by the next load" {
	u=$(pg_new_db)
	pg_psql "$u" 'CREATE TABLE kept (x int)' 'INSERT INTO kept VALUES (7)'
	old=$PG_PID
	# A session that would hold a smart shutdown forever.
	pg_psql "$u" 'SELECT pg_sleep(60)' >/dev/null 2>&1 3>&- &
	sleeper=$!
	wait_until 50 "$sleeper" sleeping "$u" || fail "no sleeping session"
	start=$SECONDS
	pg_restart
	((SECONDS - start < 10)) || fail "pg_restart took $((SECONDS - start)) s"
	! wait "$sleeper" || fail "the session survived the restart"
	[[ $PG_PID != "$old" ]] || fail "the same PID after pg_restart: $old"
	assert_equal "$(pg_psql "$u" 'SELECT x FROM kept')" 7
	# What a later test's process sees: PG_PID as setup_file exported it,
	# made current again by loading pg.bash.
	# shellcheck disable=SC2016 # expanded by the inner bash
	run_split -0 env PG_PID="$old" bash -c \
		'source "$1/tests/helpers/common.bash" && source "$1/tests/helpers/pg.bash" &&
		 echo "$PG_PID"' sh "$REPO_ROOT"
	assert_output "$PG_PID"
}

@test "pg_stop: no postgres process, no listener, no directory; again harmless" {
	pid=$PG_PID dir=$PG_DIR
	mapfile -t kids < <(pgrep -P "$pid")
	((${#kids[@]} > 0)) || fail "the postmaster has no children"
	pg_stop
	for p in "$pid" "${kids[@]}"; do
		! proc_alive "$p" || fail "process $p still runs"
	done
	! port_open "$PG_PORT" || fail "port $PG_PORT still answers"
	[[ ! -e $dir ]] || fail "$dir is left"
	! pg_pid || fail "pg_pid after pg_stop"
	# Again, as teardown_file will.
	pg_stop
}
