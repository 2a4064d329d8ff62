#!/bin/bash
#
# bench/expiring-pg.sh [-n N] [-d D] [-w W]: cert-expiring over a
# PostgreSQL store of N (default 1000000) managed names of which D
# (default 1000) are due, through the command only. A throwaway
# PostgreSQL 15 as the tests start one (tests/helpers/pg.bash), durable.
#
# The rows are inserted with SQL, as certstore-put would have written
# them: metadata, and the due hint the rules give (renew_due_hint(): the
# start of the last third of a certificate's lifetime, a lower bound of
# its due point); the due names' certificates are in that third, the
# others 10 days old of 90. Then, RUNS (3) times each, under
# /usr/bin/time:
#   (a) cert-expiring -L 0: the D documents (checked), to /dev/null;
#   (b) cert-expiring --summary (every row: the same N on any backend);
#   (c) W (default 8) cert-expiring runs at once, each claiming with a
#       lease what it emits, over D * W due names (another database):
#       claims per second, and every name claimed exactly once.
#
# Prints Markdown on standard output, progress on standard error.

set -eu
prog=bench/expiring-pg.sh
usage() { echo "usage: $prog [-n N] [-d D] [-w W]" >&2; }
die() { echo "$prog: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
n=1000000 d=1000 w=8 runs=3
while getopts n:d:w:h opt; do
	case $opt in
	n) n=$OPTARG ;;
	d) d=$OPTARG ;;
	w) w=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($# != 0)) || ! [[ $n =~ ^[1-9][0-9]{0,7}$ && $d =~ ^[1-9][0-9]{0,6}$ &&
	$w =~ ^[1-9][0-9]?$ ]] || ((d > n)); then
	usage
	exit 2
fi
bin=$repo/bin
for c in cert-expiring certstore; do
	[[ -x $bin/$c ]] || { echo "$prog: $bin/$c: not built (make)" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "$prog: needs /usr/bin/time (Debian package time)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/expiring-pg.XXXXXX")
export TEST_TMP=$work/pg PG_DURABLE=1 PG_SHARED_BUFFERS=256MB
mkdir -p "$TEST_TMP"
# shellcheck source=tests/helpers/pg.bash
source "$repo/tests/helpers/pg.bash"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	pg_stop
	rm -rf "$work"
}
trap cleanup EXIT
pg_start >/dev/null || die "cannot start PostgreSQL"
load0=$(cat /proc/loadavg)
t_start=$(date +%s)

# fill URI TOTAL DUE: TOTAL rows, the first DUE of them due.
fill() {
	local now
	now=$(date +%s)
	"$bin/certstore" -s "$1" init
	pg_psql "$1" "INSERT INTO acmepipe_names (name, meta, chain, key, not_after, due, changed)
	SELECT n, json_build_object('name', n, 'identifiers', json_build_array(n),
	    'notBefore', to_char(nb, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
	    'notAfter', to_char(nb + interval '90 days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
	    'serial', to_hex(i), 'issuer', 'bench CA', 'keyType', 'ec-p256',
	    'stored', to_char(nb, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'failCount', 0)::text::json,
	    'x', 'x', nb + interval '90 days', nb + interval '60 days', i
	FROM (SELECT i, 'host' || lpad(i::text, 8, '0') || '.example' AS n,
	    to_timestamp($now) AT TIME ZONE 'UTC' - CASE WHEN i <= $3
	        THEN interval '85 days' ELSE interval '10 days' END AS nb
	    FROM generate_series(1, $2) i) AS s" >/dev/null
	pg_psql "$1" "SELECT setval('acmepipe_change', $2)" "ANALYZE acmepipe_names" >/dev/null
}

echo "$prog: $n names, $d due" >&2
U=$(pg_new_db)
fill "$U" "$n" "$d"
bad=0
: >"$work/results"
for ((r = 1; r <= runs; r++)); do
	echo "$prog: run $r of $runs" >&2
	sync
	/usr/bin/time -o "$work/t" -f '%e %U %S %M' "$bin/cert-expiring" -s "$U" -L 0 >"$work/out" 2>"$work/err" ||
		{ echo "$prog: (a): cert-expiring failed: $(head -n 3 "$work/err")" >&2; bad=1; }
	got=$(wc -l <"$work/out")
	((got == d)) || { echo "$prog: (a): $got documents, not $d" >&2; bad=1; }
	awk -v r="$r" '{ print "due", r, $1, $2 + $3, $4 }' "$work/t" >>"$work/results"
	/usr/bin/time -o "$work/t" -f '%e %U %S %M' "$bin/cert-expiring" -s "$U" --summary >"$work/sum" 2>"$work/err" || true
	[[ $(jq .managed "$work/sum") == "$n" ]] ||
		{ echo "$prog: (b): summary $(cat "$work/sum")" >&2; bad=1; }
	awk -v r="$r" '{ print "summary", r, $1, $2 + $3, $4 }' "$work/t" >>"$work/results"
done

# (c) claims
echo "$prog: (c) $w runs at once over $((d * w)) due names" >&2
: >"$work/claims"
for ((r = 1; r <= runs; r++)); do
	V=$(pg_new_db)
	fill "$V" $((d * w)) $((d * w))
	t0=$EPOCHREALTIME
	pids=()
	for ((i = 1; i <= w; i++)); do
		"$bin/cert-expiring" -s "$V" >"$work/c$i" 2>"$work/ce$i" &
		pids+=("$!")
	done
	for p in "${pids[@]}"; do
		wait "$p" || { echo "$prog: (c): a run failed" >&2; bad=1; }
	done
	t1=$EPOCHREALTIME
	total=$(cat "$work"/c? "$work"/c?? 2>/dev/null | jq -r '.identifiers[0]' | sort | uniq | wc -l)
	all=$(cat "$work"/c? "$work"/c?? 2>/dev/null | wc -l)
	((total == d * w && all == d * w)) ||
		{ echo "$prog: (c): $all documents, $total names, not $((d * w))" >&2; bad=1; }
	awk -v a="$t0" -v b="$t1" -v k=$((d * w)) -v r="$r" 'BEGIN { printf "%d %.2f %.0f\n", r, b - a, k / (b - a) }' >>"$work/claims"
	pg_psql "$PG_URI_BASE/postgres" "DROP DATABASE \"${V##*/}\"" >/dev/null
done
load1=$(cat /proc/loadavg)

commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "## cert-expiring on PostgreSQL ($commit)"
echo
echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr), PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') on 127.0.0.1 (durable, shared_buffers 256MB)."
echo "Load average before: \`$load0\`; after: \`$load1\`."
echo "Command: \`$prog -n $n -d $d -w $w\`; took $(($(date +%s) - t_start)) s."
echo
echo "$n managed names, $d due; medians of $runs runs (wall, client CPU, peak RSS):"
echo
echo "| run | wall s | CPU s | peak RSS MiB | wall s, all runs |"
echo "| --- | --- | --- | --- | --- |"
# shellcheck disable=SC2016 # awk's own fields
for l in due summary; do
	awk -v l="$l" '
	function med(a, k,   i, j, t) {
		for (i = 2; i <= k; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	$1 == l { k++; w[k] = $3; c[k] = $4; m[k] = $5; all = all (k > 1 ? " " : "") $3 }
	END {
		desc["due"] = "(a) the due documents"
		desc["summary"] = "(b) --summary (every row)"
		printf "| %s | %.2f | %.2f | %.1f | %s |\n", desc[l], med(w, k), med(c, k), med(m, k) / 1024, all
	}' "$work/results"
done
echo
echo "(c) $w cert-expiring runs at once, each claiming what it emits, over $((d * w)) due names (each claimed once):"
echo
echo "| run | wall s | claims per second |"
echo "| --- | --- | --- |"
awk '{ printf "| %d | %s | %s |\n", $1, $2, $3 }' "$work/claims"
exit "$bad"
