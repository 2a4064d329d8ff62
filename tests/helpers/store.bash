# shellcheck shell=bash
#
# tests/helpers/store.bash: the store under test, for the tests that must
# hold on every backend (tests/41-store.bats, the store contract). They
# reach the store through the commands only, never through its files, so
# the same tests run against any backend. Sourced by common.bash.
#
# ACMEPIPE_TEST_BACKEND   the backend: files (the default)
#
# store_new              prints a new, empty store of that backend, as
#                        --store takes it
# store_meta STORE NAME [JQ]
#                        NAME's metadata (certstore list), or JQ of it
# store_serial STORE NAME
#                        the serial of NAME's stored leaf, lower-case hex
#                        as the metadata has it (certstore chain, which
#                        also checks that the stored key matches)
# store_names STORE      the managed names, sorted, one a line

store_new() {
	case ${ACMEPIPE_TEST_BACKEND:-files} in
	files)
		local d
		d=$(mktemp -d "${BATS_TEST_TMPDIR:-$TEST_TMP}/store.XXXXXX") || return 1
		rmdir "$d" && echo "$d"
		;;
	*)
		echo "store_new: unknown backend: $ACMEPIPE_TEST_BACKEND" >&2
		return 2
		;;
	esac
}

store_meta() {
	certstore -s "$1" list "$2" | jq -r "${3:-.}"
}

store_serial() {
	local s
	s=$(certstore -s "$1" chain "$2" | openssl x509 -noout -serial) || return 1
	s=${s#serial=}
	echo "${s,,}"
}

store_names() {
	certstore -s "$1" list | jq -r .name | sort
}
