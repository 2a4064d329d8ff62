#!/usr/bin/env bats
# make lint: cppcheck on the C code, shellcheck on the scripts and the
# harness, mandoc on the pages.

load helpers/common

@test "lint: make lint is clean" {
	command -v cppcheck >/dev/null || skip "cppcheck not installed"
	command -v shellcheck >/dev/null || skip "shellcheck not installed"
	run_split -0 make -s -C "$REPO_ROOT" lint
	assert_stderr ''
}

@test "lint: the test harness and tools pass shellcheck" {
	command -v shellcheck >/dev/null || skip "shellcheck not installed"
	run_split -0 shellcheck -x "$REPO_ROOT"/tests/helpers/*.bash "$REPO_ROOT/tests/run" \
		"$REPO_ROOT/tests/demo" "$REPO_ROOT/.ci/run"
	assert_output ''
}
