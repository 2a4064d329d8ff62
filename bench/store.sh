#!/bin/bash
#
# bench/store.sh [-P] [-b BUILD_DIR] [-n N] [-r RUNS] [-e SIZE]: the cost
# of the store, through the commands only (certstore-put, certstore list,
# bench/expiring.sh), so that the same script measures any store behind
# them. -P: the stores are PostgreSQL databases (a throwaway server as the
# tests start it, tests/helpers/pg.bash, but with fsync and synchronous
# commits on, PG_DURABLE=1; a new database per store), and the CPU column
# adds the server's CPU to the clients'. BUILD_DIR (default: this repository) is the tree whose bin/ is
# measured; it is not built here.
#
# N (default 2000) documents are made as acme-finalize emits them, without
# any ACME CA: a local openssl test CA, then one EC P-256 key (PKCS #8 PEM,
# mode 0600) and one leaf per name signed by that CA (as bench/mkstore.sh
# makes its leaves), cached under ${TMPDIR:-/tmp}/acmepipe-bench-put-N so
# that a rerun reuses them. certstore-put deletes the key files it stores,
# so the keys are copied afresh into a scratch directory before each timed
# run. Under /usr/bin/time (wall, user+sys, peak RSS):
#
#   (i)   the N documents through one certstore-put into an empty store;
#   (ii)  the same N again into that now full store (each one replaced);
#   (iii) N failed documents (an "error" from acme-challenge) for the same
#         N names, recorded in that store;
#   (iv)  16 certstore-put processes at once, N/16 documents each (round
#         robin), into another empty store.
#
# Each is run RUNS times (default 3), interleaved (i, ii, iii, iv, i, ...),
# with a sync before each; the table gives the medians, per document. After
# each run the store is checked with certstore list (N names, the right
# serials, failCount 1 after iii). Then bench/expiring.sh SIZE (default
# 100000; 0 for none) from BUILD_DIR, RUNS times, medians of its rows
# (BUILD_DIR/bench/expiring.sh when there is one, else this repository's is
# copied there first).
#
# Prints Markdown on standard output, progress on standard error. Exit 0
# when every run did what it should, 1 when one did not, 2 on usage.

set -eu
prog=bench/store.sh
FORMAT=1
PAR=16

usage() { echo "usage: $prog [-P] [-b BUILD_DIR] [-n N] [-r RUNS] [-e SIZE]" >&2; }
die() { echo "$prog: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=$repo n=2000 runs=3 esize=100000 backend=files
while getopts Pb:n:r:e:h opt; do
	case $opt in
	P) backend=postgresql ;;
	b) build=$OPTARG ;;
	n) n=$OPTARG ;;
	r) runs=$OPTARG ;;
	e) esize=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($# != 0)) || ! [[ $n =~ ^[1-9][0-9]{0,6}$ && $runs =~ ^[1-9][0-9]?$ &&
	$esize =~ ^(0|[1-9][0-9]{0,6})$ ]] || ((n < PAR)); then
	usage
	exit 2
fi
build=$(cd "$build" && pwd) || exit 2
bin=$build/bin
for c in certstore-put certstore cert-expiring; do
	[[ -x $bin/$c ]] || { echo "$prog: $bin/$c: not built (make -C $build)" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "$prog: needs /usr/bin/time (Debian package time)" >&2; exit 2; }
for c in openssl jq; do
	command -v "$c" >/dev/null || { echo "$prog: needs $c" >&2; exit 2; }
done

load0=$(cat /proc/loadavg)
t_start=$(date +%s)

# The material, cached: DIR/ca (the CA), DIR/keys/NAME.key,
# DIR/certs/NAME.pem (the leaf) and DIR/names, one line "NAME SERIAL
# NOTBEFORE NOTAFTER" per name, sorted; DIR/stamp when complete.
cache=${TMPDIR:-/tmp}/acmepipe-bench-put-$n
if ! [[ -s $cache/stamp ]] || ! grep -qx "format=$FORMAT n=$n" "$cache/stamp" ||
	(($(wc -l <"$cache/names") != n)); then
	echo "$prog: making $n keys and certificates in $cache" >&2
	t0=$(date +%s)
	rm -rf "$cache"
	mkdir -p "$cache/ca" "$cache/keys" "$cache/certs" "$cache/rec"
	chmod 0700 "$cache/keys"
	# The leaves' extensions, shared with bench/mkstore.sh.
	cp "$here/leaf.cnf" "$cache/ca/leaf.cnf" || exit 1
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 3650 -subj "/CN=acmepipe bench put CA" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$cache/ca/ca.key" -out "$cache/ca/ca.pem" 2>"$cache/ca/openssl.err" ||
		{ cat "$cache/ca/openssl.err" >&2; die "test CA: openssl failed"; }
	# The worker: bash -c WORKER _ DIR I...; a line per name into
	# DIR/rec/BASHPID.
	# shellcheck disable=SC2016 # expanded by the worker's bash
	WORKER='set -u
d=$1
shift
rec=$d/rec/$BASHPID
umask 077
for i; do
	printf -v name "put%07d.zone%03d.example.net" "$i" $((i % 997))
	printf -v serial "%x" $((0x6000000000 + i))
	openssl req -x509 -new -config "$d/ca/leaf.cnf" \
		-CA "$d/ca/ca.pem" -CAkey "$d/ca/ca.key" \
		-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$d/keys/$name.key" -out "$d/certs/$name.pem" -days 90 \
		-set_serial "0x$serial" -subj "/CN=$name" \
		-addext "subjectAltName=DNS:$name" 2>"$rec.err" ||
		{ cat "$rec.err" >&2; exit 255; }
	chmod 0600 "$d/keys/$name.key"
	dates=$(openssl x509 -in "$d/certs/$name.pem" -noout -dateopt iso_8601 \
		-startdate -enddate) || exit 255
	nb=${dates%%$'\''\n'\''*} na=${dates#*$'\''\n'\''}
	nb=${nb#notBefore=} na=${na#notAfter=}
	echo "$name $serial ${nb/ /T} ${na/ /T}" >>"$rec"
done
rm -f "$rec.err"'
	seq 1 "$n" | xargs -P "$(nproc)" -n 250 bash -c "$WORKER" worker "$cache" ||
		die "generation failed"
	cat "$cache"/rec/* | LC_ALL=C sort >"$cache/names"
	rm -rf "$cache/rec"
	(($(wc -l <"$cache/names") == n)) || die "generation: not $n certificates"
	openssl x509 -in "$cache/ca/ca.pem" -noout -ext subjectKeyIdentifier |
		sed -n '2s/[^0-9A-Fa-f]//gp' >"$cache/ca/ski"
	echo "format=$FORMAT n=$n" >"$cache/stamp"
	echo "$prog: made in $(($(date +%s) - t0)) s" >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/store-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# new_store PATH: prints a new, empty store: PATH itself, or (-P) a new
# database's URI. drop_store STORE. server_cpu: the PostgreSQL server's CPU
# seconds so far (every postgres process, and what its exited backends
# used), 0 for files.
if [[ $backend == postgresql ]]; then
	export TEST_TMP=$work/pg PG_DURABLE=1 PG_SHARED_BUFFERS=256MB
	mkdir -p "$TEST_TMP"
	# shellcheck source=tests/helpers/pg.bash
	source "$repo/tests/helpers/pg.bash"
	pg_start >/dev/null || die "cannot start PostgreSQL"
	trap 'pg_stop; rm -rf "$work"' EXIT
fi
new_store() {
	local uri
	if [[ $backend == files ]]; then
		echo "$1"
		return
	fi
	uri=$(pg_new_db) && "$bin/certstore" -s "$uri" init && echo "$uri"
}
drop_store() {
	if [[ $backend == files ]]; then
		rm -rf "$1"
	else
		pg_psql "$PG_URI_BASE/postgres" "DROP DATABASE \"${1##*/}\""
	fi
}
server_cpu() {
	local pid
	if [[ $backend == files ]]; then
		echo 0
		return
	fi
	for pid in $(pgrep -u postgres); do
		awk -v main="$([[ $pid == "$(pg_pid)" ]] && echo 1)" '
		    { t = $14 + $15; if (main) t += $16 + $17; print t }' "/proc/$pid/stat" 2>/dev/null
	done | awk -v hz="$(getconf CLK_TCK)" '{ s += $1 } END { printf "%.2f\n", s / hz }'
}

# The documents, with key paths into $work/keys: ok.jsonl as acme-finalize
# writes them, fail.jsonl as acme-challenge writes a failed one.
# shellcheck disable=SC2016 # awk's own $1..$4
awk -v cache="$cache" -v keys="$work/keys" -v ski="$(cat "$cache/ca/ski")" \
	-v ok="$work/ok.jsonl" -v fail="$work/fail.jsonl" \
	-v now="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
function b64url(hex,   i, n, v, out, b, alpha) {
	alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	n = 0
	for (i = 1; i <= length(hex); i += 2)
		b[n++] = hexval(substr(hex, i, 2))
	out = ""
	for (i = 0; i < n; i += 3) {
		v = b[i] * 65536 + (i + 1 < n ? b[i + 1] * 256 : 0) + (i + 2 < n ? b[i + 2] : 0)
		out = out substr(alpha, int(v / 262144) % 64 + 1, 1) substr(alpha, int(v / 4096) % 64 + 1, 1)
		if (i + 1 < n) out = out substr(alpha, int(v / 64) % 64 + 1, 1)
		if (i + 2 < n) out = out substr(alpha, v % 64 + 1, 1)
	}
	return out
}
function hexval(h,   i, v) {
	v = 0
	for (i = 1; i <= length(h); i++)
		v = v * 16 + index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
	return v
}
function pem(f,   l, s) {
	s = ""
	while ((getline l < f) > 0)
		s = s l "\\n"
	close(f)
	return s
}
BEGIN { ca = pem(cache "/ca/ca.pem"); aki = b64url(ski) }
{
	name = $1; serial = $2; id = sprintf("%012x", NR)
	head = sprintf("{\"identifiers\":[\"%s\"],\"version\":1,", name)
	dir = "\"directory\":\"https://acme.bench.invalid/dir\",\"account\":{\"url\":\"https://acme.bench.invalid/acct/1\"}"
	chal = sprintf("{\"type\":\"http-01\",\"url\":\"https://acme.bench.invalid/chal/%s\",\"token\":\"tok%sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", id, id)
	printf "%s\"order\":{\"url\":\"https://acme.bench.invalid/order/%s\",\"status\":\"valid\",\"expires\":\"%s\",\"finalize\":\"https://acme.bench.invalid/finalize/%s\",\"certificate\":\"https://acme.bench.invalid/cert/%s\"},", head, id, now, id, id > ok
	printf "\"authorizations\":[{\"url\":\"https://acme.bench.invalid/authz/%s\",\"identifier\":\"%s\",\"challenges\":[%s,\"status\":\"valid\"}],\"status\":\"valid\",\"expires\":\"%s\"}],", id, name, chal, now > ok
	printf "%s,\"key\":{\"path\":\"%s/%s.key\",\"type\":\"ec-p256\"},", dir, keys, name > ok
	printf "\"certificate\":{\"pem\":\"%s%s\",\"notBefore\":\"%s\",\"notAfter\":\"%s\",\"serial\":\"%s\",\"issuer\":\"acmepipe bench put CA\",\"certID\":\"%s.%s\"}}\n", pem(cache "/certs/" name ".pem"), ca, $3, $4, serial, aki, b64url(serial) > ok
	detail = sprintf("Non-200 status code from HTTP: http://%s/.well-known/acme-challenge/tok%s returned 404", name, id)
	err = sprintf("{\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"%s\",\"status\":403}", detail)
	printf "%s\"order\":{\"url\":\"https://acme.bench.invalid/order/%s\",\"status\":\"invalid\",\"expires\":\"%s\",\"finalize\":\"https://acme.bench.invalid/finalize/%s\"},", head, id, now, id > fail
	printf "\"authorizations\":[{\"url\":\"https://acme.bench.invalid/authz/%s\",\"identifier\":\"%s\",\"challenges\":[%s,\"status\":\"invalid\",\"error\":%s}],\"status\":\"invalid\",\"expires\":\"%s\"}],", id, name, chal, err, now > fail
	printf "%s,\"error\":{\"step\":\"acme-challenge\",\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"%s\",\"identifier\":\"%s\",\"time\":\"%s\",\"status\":403}}\n", dir, detail, name, now > fail
}' "$cache/names"
jq -e . "$work/ok.jsonl" "$work/fail.jsonl" >/dev/null || die "the documents are not JSON"
split -n r/$PAR -d -a 2 "$work/ok.jsonl" "$work/par."
printf '%s\n' "$work"/par.?? >"$work/par.list"
cut -d ' ' -f 1,2 "$cache/names" >"$work/want"

fresh_keys() {
	rm -rf "$work/keys"
	cp -a "$cache/keys" "$work/keys"
}

# measure LABEL RUN WANT_RC IN OUT CMD...: times CMD <IN >OUT (standard
# error into $work/err), into $work/results as "LABEL RUN wall user+sys
# maxrss_KiB"; an exit status other than WANT_RC is a failure.
bad=0
measure() {
	local label=$1 run=$2 want=$3 in=$4 out=$5 rc=0
	shift 5
	sync
	c0=$(server_cpu)
	/usr/bin/time -o "$work/time" -f '%e %U %S %M' "$@" <"$in" >"$out" 2>"$work/err" || rc=$?
	c1=$(server_cpu)
	if ((rc != want)); then
		echo "$prog: $label, run $run: exit $rc, not $want:" >&2
		head -n 5 "$work/err" >&2
		bad=1
	fi
	awk -v l="$label" -v r="$run" -v srv="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" \
		'END { print l, r, $1, $2 + $3 + srv, $4 }' "$work/time" >>"$work/results"
}

# check LABEL STORE FAILS: the store holds the N names with their serials,
# each with failCount FAILS.
check() {
	local got
	"$bin/certstore" -s "$2" list >"$work/list" 2>"$work/err" || {
		echo "$prog: $1: certstore list failed: $(cat "$work/err")" >&2
		bad=1
		return
	}
	jq -r '[.name, .serial] | join(" ")' "$work/list" | LC_ALL=C sort >"$work/got"
	cmp -s "$work/want" "$work/got" || {
		echo "$prog: $1: the store does not hold the $n names and serials" >&2
		bad=1
	}
	got=$(jq -s --argjson f "$3" 'map(select((.failCount // 0) == $f)) | length' "$work/list")
	((got == n)) || {
		echo "$prog: $1: $got names with failCount $3, not $n" >&2
		bad=1
	}
}

# stored LABEL FILES...: every output document was stored.
stored() {
	local label=$1 got
	shift
	got=$(cat "$@" | jq -s 'map(select(.stored and (.error | not))) | length')
	((got == n)) || { echo "$prog: $label: $got documents stored, not $n" >&2; bad=1; }
}

: >"$work/results"
for ((r = 1; r <= runs; r++)); do
	echo "$prog: run $r of $runs" >&2
	s=$(new_store "$work/store.$r") || die "cannot make a store"
	fresh_keys
	measure new "$r" 0 "$work/ok.jsonl" "$work/out" "$bin/certstore-put" -s "$s"
	stored "(i) run $r" "$work/out"
	check "(i) run $r" "$s" 0
	fresh_keys
	measure replace "$r" 0 "$work/ok.jsonl" "$work/out" "$bin/certstore-put" -s "$s"
	stored "(ii) run $r" "$work/out"
	check "(ii) run $r" "$s" 0
	measure fail "$r" 1 "$work/fail.jsonl" "$work/out" "$bin/certstore-put" -s "$s"
	got=$(jq -s 'map(select(.error.step == "acme-challenge")) | length' "$work/out")
	((got == n)) || { echo "$prog: (iii) run $r: $got failed documents out, not $n" >&2; bad=1; }
	check "(iii) run $r" "$s" 1
	drop_store "$s"
	s=$(new_store "$work/pstore.$r") || die "cannot make a store"
	fresh_keys
	rm -f "$work"/par.??.out
	# shellcheck disable=SC2016 # the inner sh's own variables
	measure parallel "$r" 0 "$work/par.list" /dev/null xargs -P $PAR -n 1 \
		sh -c 'exec "$0" -s "$1" <"$2" >"$2.out"' "$bin/certstore-put" "$s"
	stored "(iv) run $r" "$work"/par.??.out
	check "(iv) run $r" "$s" 0
	drop_store "$s"
done

# expiring.sh, RUNS times: its table rows, with the run number in front.
if ((esize > 0)); then
	if ! [[ -f $build/bench/expiring.sh ]]; then
		mkdir -p "$build/bench"
		cp "$repo/bench/expiring.sh" "$build/bench/expiring.sh"
	fi
	: >"$work/exp"
	for ((r = 1; r <= runs; r++)); do
		echo "$prog: bench/expiring.sh $esize, run $r of $runs" >&2
		(cd "$build" && bench/expiring.sh "$esize") >"$work/exp.out" ||
			{ echo "$prog: bench/expiring.sh failed" >&2; bad=1; }
		grep '^| [0-9]' "$work/exp.out" | awk -v r="$r" '{ print r, NR, $0 }' >>"$work/exp"
	done
fi
load1=$(cat /proc/loadavg)

# The report.
commit=$(git -C "$build" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown && -n $(git -C "$build" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	commit="$commit, with uncommitted changes"
fi
echo "## certstore-put and cert-expiring: $build ($commit)"
echo
if [[ $backend == postgresql ]]; then
	where="PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') on 127.0.0.1 (fsync and synchronous_commit on, data in ${TMPDIR:-/tmp}, $(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }')); CPU includes the server's"
else
	where="store in ${TMPDIR:-/tmp} ($(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }'))"
fi
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr), $where, $(openssl version | cut -d ' ' -f 1,2)."
echo "Load average before: \`$load0\`; after: \`$load1\`."
echo "Command: \`$prog$([[ $backend == postgresql ]] && echo " -P") -b $build -n $n -r $runs -e $esize\`; took $(($(date +%s) - t_start)) s."
echo
echo "certstore-put, $n documents (one EC P-256 name each), median of $runs runs:"
echo
echo "| run | wall s | wall µs/doc | CPU µs/doc | peak RSS MiB | wall s, all runs |"
echo "| --- | --- | --- | --- | --- | --- |"
# shellcheck disable=SC2016 # awk's own $1..$5
for l in new replace fail parallel; do
	awk -v l="$l" -v n="$n" -v par="$PAR" '
	function med(a, k,   i, j, t) {
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	$1 == l { k++; w[k] = $3; c[k] = $4; m[k] = $5; all = all (k > 1 ? " " : "") $3 }
	END {
		desc["new"] = "(i) one process, empty store"
		desc["replace"] = "(ii) one process, full store (replacing)"
		desc["fail"] = "(iii) one process, failed documents recorded"
		desc["parallel"] = "(iv) " par " processes, " n / par " documents each, empty store"
		wm = med(w, k); cm = med(c, k); mm = med(m, k)
		printf "| %s | %.2f | %.0f | %.0f | %.1f | %s |\n", desc[l], wm, wm / n * 1e6, cm / n * 1e6, mm / 1024, all
	}' "$work/results"
done
echo
echo "Wall and CPU (user+system, every process) are per document; peak RSS is the largest single process."
if ((esize > 0)); then
	echo
	echo "cert-expiring (bench/expiring.sh $esize: metadata-only store; documents to /dev/null, and --summary), median of $runs runs:"
	echo
	echo "| store, run | wall s | CPU s | peak RSS MiB | wall s, all runs |"
	echo "| --- | --- | --- | --- | --- |"
	# shellcheck disable=SC2016 # awk's own fields
	awk -F '|' '
	function med(a, k,   i, j, t) {
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	{
		split($1, h, " "); row = h[2]; rows = row > rows ? row : rows
		if (h[1] == 1) label[row] = $2
		k = ++cnt[row]; W[row, k] = $3 + 0; C[row, k] = $4 + 0; M[row, k] = $5 + 0
		all[row] = all[row] (k > 1 ? " " : "") sprintf("%.2f", $3)
	}
	END {
		for (row = 1; row <= rows; row++) {
			k = cnt[row]
			for (i = 1; i <= k; i++) { w[i] = W[row, i]; c[i] = C[row, i]; m[i] = M[row, i] }
			printf "|%s| %.2f | %.2f | %.1f | %s |\n", label[row], med(w, k), med(c, k), med(m, k), all[row]
		}
	}' "$work/exp"
fi
exit "$bad"
