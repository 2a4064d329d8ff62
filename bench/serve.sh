#!/bin/bash
#
# bench/serve.sh [-t SECONDS] [-r RUNS] [-c PROCS]: TLS handshakes served by
# nginx (Debian's 1.22, one worker) from a store, three ways, in one run:
#
#   static  one certificate in ssl_certificate: the baseline
#   plain   scripts/nginx-acmepipe.conf: the file named by SNI, read and
#           parsed at every handshake
#   lua     scripts/nginx-acmepipe-lua.conf: chosen in Lua, parsed once
#           into a per-worker LRU (cache_size as given in the table: the
#           default, 10000; 40000, below the store; 50000, all of it)
#
# each with the SNI names of bench/tls-load (built here): one name, and a
# name drawn at random for each handshake from stores of 1,000 and 50,000
# names. The store's files are as certstore-put writes them (leaf, CA,
# key; EC P-256), one certificate copied under every name: the client does
# not verify names, and each name is still its own file and cache entry.
#
# nginx runs on CPU 0, the load (PROCS processes, default 2) on CPU 1. The
# figure compared is handshakes per second of the worker's CPU time
# (utime + stime from /proc), which is what one core of nginx sustains
# whether or not the client could saturate it; the wall-clock rate is
# shown beside it. Worker RSS is VmHWM, its peak.
#
# All configurations of a store run at once (an nginx each, idle but for
# the one under load), each warmed up with one handshake for every name,
# then 2 s. Then RUNS (default 3) rounds, each a run of SECONDS (default
# 10) against every configuration in turn: each ratio to static compares
# runs seconds apart, not minutes, as a shared machine's speed drifts.
# A cell's rate is the median of its runs; its ratio to static the median
# of its rounds' ratios, with their range.
#
# Prints Markdown on standard output, progress on standard error. Exit 0
# when every run served, 1 when one did not, 2 on usage.

set -eu
prog=bench/serve.sh
usage() { echo "usage: $prog [-t SECONDS] [-r RUNS] [-c PROCS]" >&2; }
die() { echo "$prog: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
secs=10 runs=3 procs=2
while getopts t:r:c:h opt; do
	case $opt in
	t) secs=$OPTARG ;;
	r) runs=$OPTARG ;;
	c) procs=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($# != 0)) || ! [[ $secs =~ ^[1-9][0-9]{0,3}$ && $runs =~ ^[1-9]$ && $procs =~ ^[1-9][0-9]?$ ]]; then
	usage
	exit 2
fi
for c in nginx taskset openssl cc python3; do
	command -v "$c" >/dev/null || { echo "$prog: needs $c" >&2; exit 2; }
done
[[ -e /usr/share/nginx/modules/ngx_http_lua_module.so ]] ||
	{ echo "$prog: needs libnginx-mod-http-lua, lua-resty-core, lua-resty-lrucache" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/serve-bench.XXXXXX")
export TEST_TMP=$work/harness NGINX_LOG_LEVEL=error
mkdir -p "$TEST_TMP"
# shellcheck source=tests/helpers/common.bash
source "$repo/tests/helpers/common.bash"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local how
	for how in $(configs 50000); do # the most of any store
		NGINX_INSTANCE=$how nginx_stop >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
load0=$(cat /proc/loadavg)
t_start=$(date +%s)

cc -O2 -Wall -Wextra -Werror -o "$work/tls-load" "$here/tls-load.c" \
	$(pkg-config --cflags --libs libssl libcrypto) || die "cannot build tls-load"

# One certificate, chained as Pebble's are (leaf, then its issuer), and
# the stores.
c=$work/c
mkdir -p "$c"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 30 -subj "/CN=acmepipe bench serve CA" -keyout "$c/ca.key" -out "$c/ca.pem" 2>/dev/null
openssl req -x509 -new -CA "$c/ca.pem" -CAkey "$c/ca.key" -newkey ec \
	-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$c/leaf.key" -out "$c/leaf.crt" \
	-days 30 -subj "/CN=bench.example" -addext "subjectAltName=DNS:bench.example" 2>/dev/null
cat "$c/leaf.crt" "$c/ca.pem" "$c/leaf.key" >"$c/file.pem"
echo "$prog: making the stores" >&2
python3 - "$work" "$c/file.pem" <<'EOF'
import os, sys
work, pem = sys.argv[1], open(sys.argv[2], "rb").read()
for size in (1, 1000, 50000):
    d = os.path.join(work, "store%d" % size, "certs")
    os.makedirs(d)
    with open(os.path.join(work, "names%d" % size), "w") as names:
        for i in range(size):
            n = "n%05d.example" % i
            with open(os.path.join(d, n + ".pem"), "wb") as f:
                f.write(pem)
            names.write(n + "\n")
EOF
# The static configuration: the plain one's servers with a file name in
# place of the variable.
sed -e 's,certs/$acmepipe_cert.pem,certs/n00000.example.pem,' \
	"$repo/scripts/nginx-acmepipe.conf" >"$work/static.conf"

# The configurations measured for each store, all running at once, one
# nginx each (NGINX_INSTANCE), all on CPU 0; only the one under load works.
configs() {
	if (($1 == 50000)); then
		echo static plain lua lua40k lua50k
	else
		echo static plain lua
	fi
}

# start HOW SIZE: nginx for configuration HOW over the store of SIZE names,
# warmed up: every name once (a cache as full as it gets), then 2 s. Sets
# port[HOW] and pid[HOW].
declare -A port pid
start() {
	local how=$1 size=$2 conf set=''
	case $how in
	static) conf=$work/static.conf ;;
	plain) conf=nginx-acmepipe.conf ;;
	lua) conf=nginx-acmepipe-lua.conf ;;
	lua40k) conf=nginx-acmepipe-lua.conf set=cache_size=40000 ;;
	lua50k) conf=nginx-acmepipe-lua.conf set=cache_size=50000 ;;
	esac
	NGINX_INSTANCE=$how NGINX_SITE=$conf NGINX_LUA_SET=$set nginx_start "$work/www" "$work/store$size" >&2 ||
		die "$how: nginx did not start"
	port[$how]=$NGINX_TLS_PORT
	pid[$how]=$(<"$TEST_TMP/nginx-$how/harness.pid")
	taskset -pc 0 "${pid[$how]}" >/dev/null
	taskset -c 1 "$work/tls-load" -p "${port[$how]}" -a -c "$procs" "$work/names$size" >/dev/null &&
		taskset -c 1 "$work/tls-load" -p "${port[$how]}" -t 2 -c "$procs" "$work/names$size" >/dev/null ||
		die "$how, $size names: no handshake in the warm-up"
}

# measure HOW SIZE RUN: one run of SECONDS against HOW; prints
# "capacity wall failed" (capacity: handshakes per CPU second of the worker).
measure() {
	local how=$1 size=$2 i=$3 out t0 t1 ok failed cpu
	t0=$(awk '{ print $14 + $15 }' "/proc/${pid[$how]}/stat")
	out=$(taskset -c 1 "$work/tls-load" -p "${port[$how]}" -t "$secs" -c "$procs" -s "$i" \
		"$work/names$size") || die "$how, $size names: no handshake"
	t1=$(awk '{ print $14 + $15 }' "/proc/${pid[$how]}/stat")
	read -r _ ok _ failed _ <<<"$out"
	cpu=$(((t1 - t0) * 1000 / $(getconf CLK_TCK))) # ms
	((cpu > 0)) || cpu=1
	echo "$((ok * 1000 / cpu)) $((ok / secs)) $failed"
}

# median N...: the middle one of the numbers (the lower middle of an even count).
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# For each store: every configuration started and warmed up, then RUNS
# rounds, each measuring every configuration in turn, so each ratio to
# static compares runs seconds apart. A cell: the median of its runs; its
# ratio, the median of its rounds' ratios, with their range.
declare -A cap wall rss fail ratio range
for size in 1 1000 50000; do
	read -r -a hows <<<"$(configs "$size")"
	for how in "${hows[@]}"; do
		echo "$prog: $how, $size names: starting, warming up" >&2
		start "$how" "$size"
	done
	declare -A caps=() walls=() rats=() fails=()
	for r in $(seq 1 "$runs"); do
		echo "$prog: $size names: round $r of $runs" >&2
		for how in "${hows[@]}"; do
			read -r c w f <<<"$(measure "$how" "$size" "$r")"
			caps[$how]+=" $c" walls[$how]+=" $w"
			fails[$how]=$((${fails[$how]:-0} + f))
			[[ $how == static ]] && base=$c
			rats[$how]+=" $((c * 100 / base))"
		done
	done
	for how in "${hows[@]}"; do
		cell="$how $size"
		# shellcheck disable=SC2086 # the lists split on purpose
		cap[$cell]=$(median ${caps[$how]}) wall[$cell]=$(median ${walls[$how]})
		# shellcheck disable=SC2086
		ratio[$cell]=$(median ${rats[$how]})
		# shellcheck disable=SC2086
		sorted=$(printf '%s\n' ${rats[$how]} | sort -n)
		range[$cell]="${sorted%%$'\n'*} to ${sorted##*$'\n'}"
		rss[$cell]=$(awk '/^VmHWM/ { print $2 }' "/proc/${pid[$how]}/status")
		fail[$cell]=${fails[$how]}
		NGINX_INSTANCE=$how nginx_stop >&2
	done
done
cells=()
for size in 1 1000 50000; do
	for how in $(configs "$size"); do
		cells+=("$how $size")
	done
done

status=0
echo "## Serving handshakes (bench/serve.sh, $(date -u +%Y-%m-%d))"
echo
echo "nginx $(nginx -v 2>&1 | sed 's,.*/,,'), one worker on CPU 0; bench/tls-load, $procs processes"
echo "on CPU 1, full TLS 1.3 handshakes (EC P-256, no resumption), SNI as given."
echo "$runs rounds of runs of $secs s, each round running every configuration of a store in turn."
echo "Load before: $load0; took $(($(date +%s) - t_start)) s. Handshakes: the median run;"
echo "vs static: the median of the rounds' ratios to the static run of the same round (range)."
echo
echo "| configuration | names (SNI) | cache_size | handshakes / CPU s | vs static (range) | wall / s | worker peak RSS | failed |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for cell in "${cells[@]}"; do
	read -r how size <<<"$cell"
	case $how in
	static) label=static cs=- ;;
	plain) label="plain (per handshake)" cs=- ;;
	lua) label=lua cs=10000 ;;
	lua40k) label=lua cs=40000 ;;
	lua50k) label=lua cs=50000 ;;
	esac
	((fail["$cell"] == 0)) || status=1
	printf '| %s | %s | %s | %s | %s %% (%s) | %s | %s MiB | %s |\n' "$label" \
		"$([[ $size == 1 ]] && echo "one" || echo "random of $size")" "$cs" \
		"${cap["$cell"]}" "${ratio["$cell"]}" "${range["$cell"]}" "${wall["$cell"]}" \
		"$((rss["$cell"] / 1024))" "${fail["$cell"]}"
done
exit "$status"
