#!/bin/bash
# bench/expiring.sh [N...]: cert-expiring over stores of N certificates
# (default 10000 and 100000). cert-expiring reads metadata only, so the
# store is made of metadata files (as certstore-put writes them, with
# certificates issued over the last 90 days); no CA is involved. Prints a
# Markdown table: wall time, CPU and peak RSS of a normal run (the due
# documents written to /dev/null), of --summary, and with --metrics (and
# its per-name series), from /usr/bin/time.
set -eu
cd "$(dirname "$0")/.."
make -s all
[ -x /usr/bin/time ] || { echo "bench/expiring.sh: needs /usr/bin/time (Debian package time)" >&2; exit 2; }
sizes=("$@")
((${#sizes[@]})) || sizes=(10000 100000)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/expiring.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# mkstore DIR N: N names, issued at spread times over the last 90 days
# for 90 days each, so about a third are due at any time.
mkstore() {
	mkdir -p "$1/certs" "$1/meta" "$1/private"
	awk -v n="$2" -v dir="$1/meta" -v now="$(date +%s)" 'BEGIN {
		for (i = 0; i < n; i++) {
			name = sprintf("host%07d.example%d.com", i, i % 997)
			nb = now - (i * 7919 % 90) * 86400
			f = dir "/" name ".json"
			printf "{\"name\":\"%s\",\"identifiers\":[\"%s\"],\"notBefore\":\"%s\",\"notAfter\":\"%s\",\"serial\":\"%012x\",\"issuer\":\"Bench CA\",\"stored\":\"%s\",\"failCount\":0}\n",
			    name, name, strftime("%Y-%m-%dT%H:%M:%SZ", nb, 1),
			    strftime("%Y-%m-%dT%H:%M:%SZ", nb + 90 * 86400, 1), i,
			    strftime("%Y-%m-%dT%H:%M:%SZ", nb, 1) > f
			close(f)
		}
	}'
}

# measure LABEL CMD...: one row of wall s, user+sys s, max RSS MiB.
measure() {
	local label=$1 out
	shift
	out=$(/usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -n 1)
	awk -v l="$label" '{ printf "| %s | %s | %.2f | %.1f |\n", l, $1, $2 + $3, $4 / 1024 }' <<<"$out"
}

echo "cert-expiring on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| store, run | wall s | CPU s | peak RSS MiB |"
echo "| --- | --- | --- | --- |"
for n in "${sizes[@]}"; do
	mkstore "$tmp/s$n" "$n"
	due=$(bin/cert-expiring -s "$tmp/s$n" | wc -l)
	measure "$n certificates ($due due), documents" bin/cert-expiring -s "$tmp/s$n"
	measure "$n certificates, --summary" bin/cert-expiring -r -s "$tmp/s$n"
	# Without leases (-L 0), so that both emit every document due.
	measure "$n certificates, documents, -L 0" bin/cert-expiring -s "$tmp/s$n" -L 0
	measure "$n certificates, documents, -L 0 --metrics FILE" bin/cert-expiring -s "$tmp/s$n" -L 0 -X "$tmp/m.prom"
	measure "$n certificates, --metrics - --metrics-names" bin/cert-expiring -s "$tmp/s$n" -X - -Z
	rm -rf "$tmp/s$n"
done
