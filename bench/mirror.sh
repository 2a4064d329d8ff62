#!/bin/bash
#
# bench/mirror.sh [-n N] [-p P]: certstore mirror from a PostgreSQL store,
# through the commands only. A throwaway PostgreSQL 15 as the tests start
# one (tests/helpers/pg.bash), durable (PG_DURABLE=1), on loopback.
#
#   (a) latency: `certstore mirror --follow` into an empty file store, then
#       N (default 1000) certificates stored one after another through one
#       certstore-put (a document every 50 ms, so that each is measured on
#       its own); for each, the time from handing the document to
#       certstore-put to the mtime of the mirror's new certs/NAME.pem: an
#       upper bound, since it includes certstore-put's own work (parsing,
#       checking chain and key) before its commit. Median, 90th
#       percentile and worst.
#   (b) a full pass over P (default 100000) names: into an empty mirror,
#       then again with nothing changed (the reconciliation after a
#       reconnect). The P rows are inserted with SQL (one chain and key for
#       all, metadata as certstore-put writes it), since issuing P
#       certificates would take longer than what is measured.
#
# Prints Markdown on standard output, progress on standard error. Exit 0
# when every run did what it should, 1 when one did not, 2 on usage.

set -eu
prog=bench/mirror.sh
usage() { echo "usage: $prog [-n N] [-p P]" >&2; }
die() { echo "$prog: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
n=1000 p=100000
while getopts n:p:h opt; do
	case $opt in
	n) n=$OPTARG ;;
	p) p=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($# != 0)) || ! [[ $n =~ ^[1-9][0-9]{0,5}$ && $p =~ ^[1-9][0-9]{0,6}$ ]]; then
	usage
	exit 2
fi
bin=$repo/bin
for c in certstore-put certstore; do
	[[ -x $bin/$c ]] || { echo "$prog: $bin/$c: not built (make)" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "$prog: needs /usr/bin/time (Debian package time)" >&2; exit 2; }
PATH=$bin:$PATH

work=$(mktemp -d "${TMPDIR:-/tmp}/mirror-bench.XXXXXX")
export TEST_TMP=$work/pg PG_DURABLE=1 PG_SHARED_BUFFERS=256MB
mkdir -p "$TEST_TMP"
# shellcheck source=tests/helpers/pg.bash
source "$repo/tests/helpers/pg.bash"
mpid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[[ -z $mpid ]] || kill "$mpid" 2>/dev/null || true
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
pg_start >/dev/null || die "cannot start PostgreSQL"
load0=$(cat /proc/loadavg)
t_start=$(date +%s)

# The certificates for (a): a throwaway CA, a key and a leaf per name.
echo "$prog: making $n certificates" >&2
mkdir -p "$work/c"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 30 -subj "/CN=acmepipe bench mirror CA" -keyout "$work/c/ca.key" \
	-out "$work/c/ca.pem" 2>/dev/null
# shellcheck disable=SC2016 # the worker's own variables
seq 1 "$n" | xargs -P "$(nproc)" -n 100 bash -c 'd=$0
for i; do
	name=$(printf "lat%05d.example" "$i")
	openssl req -x509 -new -CA "$d/ca.pem" -CAkey "$d/ca.key" -newkey ec \
		-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/$name.key" \
		-out "$d/$name.crt" -days 30 -subj "/CN=$name" \
		-addext "subjectAltName=DNS:$name" 2>/dev/null || exit 255
	chmod 0600 "$d/$name.key"
done' "$work/c" || die "certificates: openssl failed"
for i in $(seq 1 "$n"); do
	name=$(printf "lat%05d.example" "$i")
	jq -cn --rawfile pem <(cat "$work/c/$name.crt" "$work/c/ca.pem") \
		--arg k "$work/c/$name.key" --arg n "$name" \
		'{version: 1, identifiers: [$n], key: {path: $k, type: "ec-p256"},
		  certificate: {pem: $pem}}'
done >"$work/docs.jsonl"
# certstore-put deletes the keys it stores; (b) needs one.
cp "$work/c/lat00001.example.key" "$work/one.key"

# (a)
U=$(pg_new_db)
certstore -s "$U" init
certstore mirror --follow --from "$U" --to "$work/m1" 2>"$work/follow.err" &
mpid=$!
sleep 1
echo "$prog: (a) $n certificates, one every 50 ms" >&2
i=0
while IFS= read -r line; do
	i=$((i + 1))
	printf '%s %s\n' "$EPOCHREALTIME" "$(printf "lat%05d.example" "$i")" >>"$work/sent"
	printf '%s\n' "$line"
	sleep 0.05
done <"$work/docs.jsonl" | certstore-put -s "$U" >"$work/out"
for _ in $(seq 1 100); do
	(($(find "$work/m1/certs" -name 'lat*.pem' | wc -l) == n)) && break
	sleep 0.1
done
bad=0
(($(find "$work/m1/certs" -name 'lat*.pem' | wc -l) == n)) ||
	{ echo "$prog: (a): the mirror holds $(find "$work/m1/certs" -name 'lat*.pem' | wc -l) of $n" >&2; bad=1; }
: >"$work/lat"
while read -r ts name; do
	[[ -e $work/m1/certs/$name.pem ]] || continue
	echo "$ts $(stat -c %.9Y "$work/m1/certs/$name.pem")"
done <"$work/sent" | awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' | sort -n >"$work/lat"
kill "$mpid" 2>/dev/null || true
wait "$mpid" 2>/dev/null || true
mpid=
nl=$(wc -l <"$work/lat")
((nl == n)) || { echo "$prog: (a): $nl latencies, not $n" >&2; bad=1; }
lat_med=$(awk -v k="$nl" 'NR == int((k + 1) / 2) { print }' "$work/lat")
lat_p90=$(awk -v k="$nl" 'NR == int(k * 0.9 + 0.5) { print }' "$work/lat")
lat_max=$(tail -n 1 "$work/lat")

# (b)
echo "$prog: (b) $p names inserted" >&2
V=$(pg_new_db)
certstore -s "$V" init
chain=$(cat "$work/c/lat00001.example.crt" "$work/c/ca.pem")
key=$(cat "$work/one.key")
nb=$(date -u +%Y-%m-%dT%H:%M:%SZ)
na=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
pg_psql "$V" "INSERT INTO acmepipe_names (name, meta, chain, key, not_after, changed)
	SELECT n, json_build_object('name', n, 'identifiers', json_build_array(n),
	    'notBefore', '$nb', 'notAfter', '$na', 'serial', to_hex(1000000 + i),
	    'issuer', 'acmepipe bench mirror CA', 'keyType', 'ec-p256',
	    'stored', '$nb', 'failCount', 0)::text::json,
	    \$c\$$chain
\$c\$, \$k\$$key
\$k\$, '$na', nextval('acmepipe_change')
	FROM (SELECT i, 'pass' || lpad(i::text, 7, '0') || '.example' AS n
	    FROM generate_series(1, $p) i) AS s" >/dev/null
sync
echo "$prog: (b) a pass into an empty mirror" >&2
/usr/bin/time -o "$work/t1" -f '%e %U %S %M' certstore mirror --from "$V" --to "$work/m2" 2>"$work/pass.err" ||
	{ echo "$prog: (b): the pass failed: $(head -n 3 "$work/pass.err")" >&2; bad=1; }
(($(find "$work/m2/meta" -name 'pass*.json' | wc -l) == p)) ||
	{ echo "$prog: (b): the mirror does not hold $p names" >&2; bad=1; }
sync
echo "$prog: (b) a pass with nothing changed" >&2
/usr/bin/time -o "$work/t2" -f '%e %U %S %M' certstore mirror --from "$V" --to "$work/m2" 2>"$work/pass2.err" ||
	{ echo "$prog: (b): the second pass failed" >&2; bad=1; }
load1=$(cat /proc/loadavg)

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown && -n $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	commit="$commit, with uncommitted changes"
fi
echo "## certstore mirror from PostgreSQL ($commit)"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr), PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') on 127.0.0.1 (durable), mirror in ${TMPDIR:-/tmp} ($(df -T "${TMPDIR:-/tmp}" | awk 'NR == 2 { print $2 }'))."
echo "Load average before: \`$load0\`; after: \`$load1\`."
echo "Command: \`$prog -n $n -p $p\`; took $(($(date +%s) - t_start)) s."
echo
echo "(a) From a document handed to certstore-put to the mirror's new certificate file, $n certificates:"
echo
echo "| median ms | 90th percentile ms | worst ms |"
echo "| --- | --- | --- |"
echo "| $lat_med | $lat_p90 | $lat_max |"
echo
echo "(b) A full pass over $p names (wall, client CPU, peak RSS of certstore):"
echo
echo "| pass | wall s | µs/name | CPU s | peak RSS MiB |"
echo "| --- | --- | --- | --- | --- |"
awk -v p="$p" -v l="into an empty mirror" '{ printf "| %s | %.1f | %.0f | %.1f | %.1f |\n", l, $1, $1 / p * 1e6, $2 + $3, $4 / 1024 }' "$work/t1"
awk -v p="$p" -v l="nothing changed" '{ printf "| %s | %.1f | %.0f | %.1f | %.1f |\n", l, $1, $1 / p * 1e6, $2 + $3, $4 / 1024 }' "$work/t2"
exit "$bad"
