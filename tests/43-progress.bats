#!/usr/bin/env bats
#
# The progress line of `certstore copy` and of a `certstore mirror` pass
# (common/progress.c, common/mirror.c): on a pseudo-terminal (script(1))
# the line "certstore: copy: N/TOTAL, F failed, R/s, T left", erased at
# the end; stderr that is no terminal gets the very bytes it got before
# the line existed (nothing, or the diagnostics); -q shows nothing. File
# stores only: no CA, no server, no PostgreSQL.

load helpers/common

setup() {
	T=$BATS_TEST_TMPDIR
	F=$T/from
	command -v script >/dev/null || skip "no script(1) (bsdutils)"
	# 300 names: one with a certificate (and key), 299 added only.
	test_ca "$T" 30
	cert_put "$T" "$F" 30 n000.example >/dev/null
	certstore -s "$F" add $(seq -f 'n%03g.example' 1 299)
}

teardown() {
	# The follower of the last test, when it failed before killing it.
	if [[ -s ${T:-}/pid ]]; then
		kill "$(cat "$T/pid")" 2>/dev/null || true
	fi
	harness_teardown
}

# on_tty CMD: runs the shell command CMD with a pseudo-terminal as its
# standard output and error; what the terminal got goes to $T/tty.
on_tty() {
	script -qec "$1" /dev/null </dev/null >"$T/tty"
}

# shown: the texts drawn on the terminal, one a line.
shown() { tr '\r' '\n' <"$T/tty" | grep -a .; }

# assert_erased: nothing but spaces after the terminal's last carriage
# return, and something was drawn before it.
assert_erased() {
	[[ -s $T/tty ]] || fail "nothing on the terminal"
	assert_equal "$(tr '\r' '\n' <"$T/tty" | tail -n 1 | tr -d ' ')" "" "erased"
}

@test "copy on a terminal: the progress line to N/N, erased at the end; stdout as ever" {
	on_tty "certstore copy '$F' '$T/to' >'$T/out'"
	assert_line_count 300 "$T/out"
	shown | grep -aq '^certstore: copy: [0-9]*/300, 0 failed, [0-9.]*/s' ||
		fail "no progress line: $(od -c "$T/tty" | head -20)"
	shown | grep -aq '^certstore: copy: 300/300, 0 failed, [0-9.]*/s *$' || fail "no 300/300"
	# Only progress lines, then the erasure.
	assert_equal "$(shown | grep -av '^certstore: copy: [0-9]*/300, ' | tr -d ' ')" "" "other text"
	assert_erased
	assert_no_private_key "$T/tty"
	# Again: nothing left to copy, the line all the same.
	on_tty "certstore copy '$F' '$T/to' >'$T/out'"
	assert_line_count 0 "$T/out"
	shown | grep -aq '^certstore: copy: 300/300, 0 failed' || fail "no 300/300 again"
	assert_erased
}

@test "copy, stderr not a terminal: the same bytes as before (nothing; a diagnostic's line)" {
	run_split -0 certstore copy "$F" "$T/to"
	assert_line_count 300
	assert_equal "$(wc -c <"$STDERR_FILE")" 0 "stderr bytes"
	# A name whose metadata cannot be read: its one line, as ever.
	echo garbage >"$F/meta/bad.example.json"
	run_split -1 certstore copy "$F" "$T/again"
	printf 'certstore: bad.example: metadata: not a JSON object\n' | cmp - "$STDERR_FILE"
	# On a terminal the line is erased before it and counts it as failed.
	st=0
	on_tty "certstore copy '$F' '$T/tty-to' >'$T/out'" || st=$?
	assert_equal "$st" 1 "exit status"
	grep -aq $'\r *\rcertstore: bad.example: metadata: not a JSON object\r$' "$T/tty" ||
		fail "not erased before the diagnostic: $(od -c "$T/tty" | head -30)"
	shown | grep -aq '^certstore: copy: 301/301, 1 failed' || fail "no 301/301, 1 failed"
	assert_erased
}

@test "copy -q on a terminal: nothing on it" {
	on_tty "certstore -q copy '$F' '$T/to' >'$T/out'"
	assert_line_count 300 "$T/out"
	assert_equal "$(wc -c <"$T/tty")" 0 "terminal bytes"
	on_tty "certstore --quiet copy '$F' '$T/to2' >'$T/out'"
	assert_equal "$(wc -c <"$T/tty")" 0 "terminal bytes, --quiet"
}

@test "copy with stdout on the terminal too: the line is erased before each name" {
	on_tty "certstore copy '$F' '$T/to'"
	# Each terminal line: perhaps the progress line and its erasure
	# (spaces), then the name, alone from the start of the line.
	sed 's/\r$//' "$T/tty" | awk -F'\r' '
		$NF ~ /^n[0-9]+\.example$/ {
			if (NF > 1 && $(NF - 1) !~ /^ *$/) { print "not erased: " NR; bad = 1 }
			n++
			next
		}
		$0 !~ /^(\rcertstore: copy: [0-9]+\/300, [^\r]*\r)?\r *$/ { print "other: " NR; bad = 1 }
		END { if (n != 300) print n " names"; exit bad || n != 300 }' ||
		fail "$(od -c "$T/tty" | head -30)"
	assert_erased
}

@test "mirror: a pass shows its progress over the names and the removals; not a terminal: nothing; -q: nothing" {
	on_tty "certstore mirror --from '$F' --to '$T/m' >'$T/out'"
	assert_line_count 0 "$T/out"
	shown | grep -aq '^certstore: mirror: 300/300, 0 failed, [0-9.]*/s *$' ||
		fail "no 300/300: $(od -c "$T/tty" | head -20)"
	assert_equal "$(shown | grep -av '^certstore: mirror: [0-9]*/300, ' | tr -d ' ')" "" "other text"
	assert_erased
	# Ten names fewer in the source: 290 copied or kept, 10 removed.
	certstore -s "$F" remove $(seq -f 'n%03g.example' 290 299)
	on_tty "certstore mirror --from '$F' --to '$T/m'"
	shown | grep -aq '^certstore: mirror: 300/300, 0 failed' || fail "removals not counted"
	assert_equal "$(certstore -s "$T/m" list | wc -l)" 290 "mirrored"
	assert_erased
	run_split -0 certstore mirror --from "$F" --to "$T/m2"
	assert_equal "$(wc -c <"$STDERR_FILE")" 0 "stderr bytes"
	run_split -0 certstore -v mirror --from "$F" --to "$T/m2"
	printf 'certstore: copied 0, removed 0, unchanged 290, failed 0\n' | cmp - "$STDERR_FILE"
	on_tty "certstore -q mirror --from '$F' --to '$T/m3'"
	assert_equal "$(wc -c <"$T/tty")" 0 "terminal bytes with -q"
	assert_equal "$(certstore -s "$T/m3" list | wc -l)" 290 "mirrored with -q"
}

@test "mirror --follow: the first pass shows progress, the polls do not, the pass after a lost source does" {
	on_tty "sh -c 'echo \$\$ >\"$T/pid\"; exec certstore mirror --follow --interval 1 --from \"$F\" --to \"$T/m\"'" &
	wait_until 50 $! grep -aq 'mirror: 300/300' "$T/tty" || fail "no first pass: $(cat "$T/tty")"
	sleep 2.5 # two polls, at least
	assert_equal "$(shown | grep -ac '^certstore: mirror: 300/300')" 1 "passes shown"
	# The source goes away, then comes back: a pass that catches up.
	mv "$F" "$F.away"
	wait_until 50 "$(cat "$T/pid")" grep -aq 'source store: No such file' "$T/tty" ||
		fail "the loss was not said: $(shown)"
	mv "$F.away" "$F"
	wait_until 100 "$(cat "$T/pid")" grep -aq 'caught up' "$T/tty" || fail "not caught up: $(shown)"
	kill "$(cat "$T/pid")"
	wait
	assert_equal "$(shown | grep -ac '^certstore: mirror: 300/300')" 2 "passes shown"
	grep -aq $'\r *\rcertstore: source store: No such file or directory\r$' "$T/tty" ||
		fail "not erased before the diagnostic: $(od -c "$T/tty" | tail -20)"
}
