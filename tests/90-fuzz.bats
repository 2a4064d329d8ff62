#!/usr/bin/env bats
#
# libFuzzer targets of common/ (tests/fuzz/*.c, built by `make fuzz`):
# each one runs for FUZZ_SECONDS (default 10; 0 replays the seeds only)
# on a temporary copy of its seed corpus. A crash, leak, timeout or
# broken assertion fails the test; the input that caused it is kept in
# FUZZ_ARTIFACTS (default build/fuzz/artifacts). Needs clang with its
# libFuzzer runtime (Debian 12: clang libclang-rt-14-dev), else skipped.
# Needs no CA or server, so it does not load helpers/common.

bats_require_minimum_version 1.5.0

setup_file() {
	cd "$BATS_TEST_DIRNAME/.." || return 1
	export FUZZ_SECONDS=${FUZZ_SECONDS:-10}
	export FUZZ_ARTIFACTS=${FUZZ_ARTIFACTS:-$PWD/build/fuzz/artifacts}
	export FUZZ_SKIP=
	local cc=${FUZZ_CC:-clang} probe=$BATS_FILE_TMPDIR/probe
	if ! command -v "$cc" >/dev/null; then
		FUZZ_SKIP="$cc not installed (Debian: apt-get install clang libclang-rt-14-dev)"
		return 0
	fi
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)' \
		'{ (void)d; (void)n; return 0; }' >"$probe.c"
	if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$probe" "$probe.c" \
		2>/dev/null; then
		FUZZ_SKIP="$cc cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev)"
	fi
}

setup() {
	cd "$BATS_TEST_DIRNAME/.." || return 1
	[[ -z $FUZZ_SKIP ]] || skip "$FUZZ_SKIP"
	[[ $FUZZ_SECONDS =~ ^[0-9]+$ ]] ||
		fail "FUZZ_SECONDS must be a whole number of seconds: $FUZZ_SECONDS"
}

fail() {
	printf '%s\n' "$*" >&2
	return 1
}

# fuzz NAME: builds and runs build/fuzz/NAME for FUZZ_SECONDS; passes when
# libFuzzer ends normally and left no artifact.
fuzz() {
	local before after
	before=$(find "$FUZZ_ARTIFACTS" -type f -name "$1-*" 2>/dev/null | wc -l)
	run make -s --no-print-directory fuzz-run FUZZ_TARGETS="$1" \
		FUZZ_SECONDS="$FUZZ_SECONDS" FUZZ_ARTIFACTS="$FUZZ_ARTIFACTS"
	after=$(find "$FUZZ_ARTIFACTS" -type f -name "$1-*" 2>/dev/null | wc -l)
	if [[ $status -ne 0 || $after -ne $before ]] ||
		grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' <<<"$output"; then
		# The report, not the whole run.
		if grep -qE 'ERROR:|runtime error:|deadly signal' <<<"$output"; then
			grep -E -A40 'ERROR:|runtime error:|deadly signal' <<<"$output" |
				head -80 >&2
		else
			tail -40 <<<"$output" >&2
		fi
		grep -E 'Test unit written to' <<<"$output" >&2
		fail "$1: exit $status; inputs kept in $FUZZ_ARTIFACTS"
	fi
}

@test "make fuzz builds a target with seeds for every tests/fuzz/fuzz_*.c" {
	run make -s --no-print-directory fuzz
	echo "$output"
	[ "$status" -eq 0 ]
	local src name
	for src in tests/fuzz/fuzz_*.c; do
		name=${src##*/}
		name=${name%.c}
		[ -x "build/fuzz/$name" ] || fail "build/fuzz/$name not built"
		compgen -G "tests/fuzz/corpus/$name/*" >/dev/null ||
			fail "tests/fuzz/corpus/$name has no seeds"
	done
}

@test "fuzz_state: stream_run with state_check survives FUZZ_SECONDS" {
	fuzz fuzz_state
}

@test "fuzz_ident: ident_normalize survives FUZZ_SECONDS" {
	fuzz fuzz_ident
}

@test "fuzz_response: authorizations and problems survive FUZZ_SECONDS" {
	fuzz fuzz_response
}

@test "fuzz_cert: cert_check and cert_top_issuer survive FUZZ_SECONDS" {
	fuzz fuzz_cert
}

@test "fuzzing leaves the seed corpus untouched" {
	run git status --porcelain --untracked-files=all -- tests/fuzz/corpus
	[ "$status" -eq 0 ] || skip "not a git checkout"
	local before=$output
	run make -s --no-print-directory fuzz-run FUZZ_SECONDS=0 \
		FUZZ_ARTIFACTS="$FUZZ_ARTIFACTS"
	[ "$status" -eq 0 ]
	run git status --porcelain --untracked-files=all -- tests/fuzz/corpus
	[ "$output" = "$before" ]
}
