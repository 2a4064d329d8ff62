#!/usr/bin/env bats
# C unit tests of common/ (tests/unit/*.c, built into build/unit/ by make).
# Each one prints nothing and exits 0 when every assertion holds, and
# names the failing case on stderr otherwise. Needs no CA or server, so it
# does not load helpers/common.

bats_require_minimum_version 1.5.0

setup() {
	cd "$BATS_TEST_DIRNAME/.." || return 1
}

# unit NAME: runs build/unit/NAME; passes when it exits 0 silently.
unit() {
	[ -x "build/unit/$1" ] || {
		echo "build/unit/$1 is not built: make build/unit/$1"
		return 1
	}
	run --separate-stderr "build/unit/$1"
	echo "$stderr"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$stderr" ]
}

# Valgrind cannot run binaries built with SANITIZE=1.
need_valgrind() {
	command -v valgrind >/dev/null || skip "valgrind not installed"
	! grep -q fsanitize build/flags 2>/dev/null ||
	    skip "built with sanitizers"
}

# vg NAME: build/unit/NAME under valgrind: no leak, no invalid access.
vg() {
	run valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
	    --error-exitcode=99 "build/unit/$1"
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "ident_test: names normalised and refused with the right reason" {
	unit ident_test
}

@test "cert_test: CSRs, chain checks and certificate info" {
	unit cert_test
}

@test "every unit test in tests/unit is built and passes" {
	local src name
	for src in tests/unit/*.c; do
		name=${src##*/}
		unit "${name%.c}"
	done
}

@test "ident_test is valgrind clean" {
	need_valgrind
	vg ident_test
}

@test "cert_test is valgrind clean" {
	need_valgrind
	vg cert_test
}
