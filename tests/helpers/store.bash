# shellcheck shell=bash
#
# tests/helpers/store.bash: the store under test, for the tests that must
# hold on every backend (tests/41-store.bats, the store contract). They
# reach the store through the commands only, never through its files, so
# the same tests run against any backend. Sourced by common.bash.
#
# ACMEPIPE_TEST_BACKEND   the backend: files or postgresql; when unset,
#                         postgresql for a file named *-postgresql.bats
#                         (tests/42-store-postgresql.bats is a link to
#                         tests/41-store.bats), else files
#                         (a real PostgreSQL 15, tests/helpers/pg.bash,
#                         started by store_start in setup_file and
#                         stopped by teardown_file; a new database per
#                         store, made with certstore init)
#
# store_start            starts what the backend needs (setup_file)
# store_new              prints a new, empty store of that backend, as
#                        --store takes it
# store_meta STORE NAME [JQ]
#                        NAME's metadata (certstore list), or JQ of it
# store_serial STORE NAME
#                        the serial of NAME's stored leaf, lower-case hex
#                        as the metadata has it (certstore chain, which
#                        also checks that the stored key matches)
# store_names STORE      the managed names, sorted, one a line
# store_frontend STORE DIR
#                        sets STORE_FRONTEND to the file store a front end
#                        (nginx) serves STORE from: STORE itself for
#                        files; else DIR, kept
#                        by `certstore mirror --follow` in the background
#                        (its PID in STORE_MIRROR_PID) after its first
#                        pass
# store_frontend_stop    stops that mirror
#
# And the material the store tests feed it, in the test's directory $T
# (test_ca "$T" first): leaf P NAME..., doc P NAME..., failed NAME DETAIL,
# leaf_serial P, pem_whole FILE, each described below.

if [[ -z ${ACMEPIPE_TEST_BACKEND:-} ]]; then
	ACMEPIPE_TEST_BACKEND=files
	[[ ${BATS_TEST_FILENAME:-} == *-postgresql.bats ]] && ACMEPIPE_TEST_BACKEND=postgresql
	export ACMEPIPE_TEST_BACKEND
fi

store_start() {
	if [[ $ACMEPIPE_TEST_BACKEND == postgresql ]]; then
		pg_start
	fi
}

store_new() {
	case ${ACMEPIPE_TEST_BACKEND:-files} in
	files)
		local d
		d=$(mktemp -d "${BATS_TEST_TMPDIR:-$TEST_TMP}/store.XXXXXX") || return 1
		rmdir "$d" && echo "$d"
		;;
	postgresql)
		local uri
		uri=$(pg_new_db) || return 1
		certstore -s "$uri" init || return 1
		echo "$uri"
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

# leaf P NAME...: key $T/P.key and chain $T/P.pem for the names.
leaf() { test_cert "$T" "$1" 30 "${@:2}"; }

# doc P NAME...: a document as acme-finalize leaves it, for P's chain. The
# key file is copied, since certstore-put deletes it once stored.
doc() {
	local p=$1
	shift
	cp "$T/$p.key" "$T/$p.pending.key"
	jq -cn --rawfile pem "$T/$p.pem" --arg k "$T/$p.pending.key" \
		'{version: 1, identifiers: $ARGS.positional,
		  key: {path: $k, type: "ec-p256"}, certificate: {pem: $pem}}' \
		--args "$@"
}

# failed NAME DETAIL: a document that failed at acme-challenge (a
# connection error: transient, counted).
failed() {
	jq -cn --arg n "$1" --arg d "$2" '{version: 1, identifiers: [$n],
	    error: {step: "acme-challenge", type: "urn:ietf:params:acme:error:connection",
	    detail: $d, identifier: $n, time: (now | todate)}}'
}

# leaf_serial P: P's leaf serial as the metadata has it.
leaf_serial() {
	local s
	s=$(openssl x509 -in "$T/$1.pem" -noout -serial)
	s=${s#serial=}
	echo "${s,,}"
}

# pem_whole FILE: one read of FILE (certs/NAME.pem of a file store) finds
# a chain and the private key of its leaf.
pem_whole() {
	local pem cert key
	pem=$(cat "$1") || return 1
	cert=$(openssl x509 -pubkey -noout <<<"$pem" 2>/dev/null) || return 1
	key=$(sed -n '/^-----BEGIN [A-Z ]*PRIVATE KEY-----$/,/^-----END [A-Z ]*PRIVATE KEY-----$/p' <<<"$pem" |
		openssl pkey -pubout 2>/dev/null) || return 1
	[[ -n $cert && $cert == "$key" ]]
}

STORE_MIRROR_PID='' STORE_FRONTEND=''
store_frontend() {
	STORE_FRONTEND=$1
	if [[ ${ACMEPIPE_TEST_BACKEND:-files} == files ]]; then
		return 0
	fi
	certstore mirror --from "$1" --to "$2" >/dev/null || return 1
	certstore mirror --follow --from "$1" --to "$2" >"$2.log" 2>&1 &
	STORE_MIRROR_PID=$!
	STORE_FRONTEND=$2
}

store_frontend_stop() {
	if [[ -n $STORE_MIRROR_PID ]]; then
		kill "$STORE_MIRROR_PID" 2>/dev/null || true
		wait "$STORE_MIRROR_PID" 2>/dev/null || true
		STORE_MIRROR_PID=
	fi
}

if [[ ${ACMEPIPE_TEST_BACKEND:-files} == postgresql ]]; then
	# shellcheck source=tests/helpers/pg.bash
	source "${BASH_SOURCE[0]%/*}/pg.bash"
fi
