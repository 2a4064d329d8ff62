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
# shown beside it. Worker RSS is VmHWM, its peak. Each cell is the median
# of RUNS (default 3) runs of SECONDS (default 10), after a warm-up of one
# handshake for every name, then 2 s.
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
	nginx_stop >/dev/null 2>&1 || true
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

# run CONF SIZE [LUASET]: prints "capacity wall rss_kib failed" of the
# median run (by capacity).
run() {
	local conf=$1 size=$2 set=${3:-} pid i out t0 t1 ok failed cpu line
	local -a rows=()
	NGINX_SITE=$conf NGINX_LUA_SET=$set nginx_start "$work/www" "$work/store$size" >&2 ||
		die "$conf: nginx did not start"
	pid=$(<"$TEST_TMP/nginx/harness.pid")
	taskset -pc 0 "$pid" >/dev/null
	# Warm-up: every name once (a cache as full as it gets), then 2 s.
	taskset -c 1 "$work/tls-load" -p "$NGINX_TLS_PORT" -a -c "$procs" "$work/names$size" >/dev/null &&
		taskset -c 1 "$work/tls-load" -p "$NGINX_TLS_PORT" -t 2 -c "$procs" "$work/names$size" >/dev/null ||
		die "$conf, $size names: no handshake in the warm-up"
	for i in $(seq 1 "$runs"); do
		t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
		out=$(taskset -c 1 "$work/tls-load" -p "$NGINX_TLS_PORT" -t "$secs" -c "$procs" -s "$i" \
			"$work/names$size") || die "$conf, $size names: no handshake"
		t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
		read -r _ ok _ failed _ <<<"$out"
		cpu=$(((t1 - t0) * 1000 / $(getconf CLK_TCK))) # ms
		((cpu > 0)) || cpu=1
		rows+=("$((ok * 1000 / cpu)) $((ok / secs)) $failed")
	done
	line=$(printf '%s\n' "${rows[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
	read -r cap wall failed <<<"$line"
	echo "$cap $wall $(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status") $failed"
	nginx_stop >&2
}

declare -A cap wall rss fail
cells=("static 1" "plain 1" "lua 1" "static 1000" "plain 1000" "lua 1000"
	"static 50000" "plain 50000" "lua 50000" "lua40k 50000" "lua50k 50000")
for cell in "${cells[@]}"; do
	read -r how size <<<"$cell"
	echo "$prog: $how, $size names" >&2
	case $how in
	static) r=$(run "$work/static.conf" "$size") ;;
	plain) r=$(run nginx-acmepipe.conf "$size") ;;
	lua) r=$(run nginx-acmepipe-lua.conf "$size") ;;
	lua40k) r=$(run nginx-acmepipe-lua.conf "$size" "cache_size=40000") ;;
	lua50k) r=$(run nginx-acmepipe-lua.conf "$size" "cache_size=50000") ;;
	esac
	read -r cap["$cell"] wall["$cell"] rss["$cell"] fail["$cell"] <<<"$r"
done

status=0
echo "## Serving handshakes (bench/serve.sh, $(date -u +%Y-%m-%d))"
echo
echo "nginx $(nginx -v 2>&1 | sed 's,.*/,,'), one worker on CPU 0; bench/tls-load, $procs processes"
echo "on CPU 1, full TLS 1.3 handshakes (EC P-256, no resumption), SNI as given."
echo "Median of $runs runs of $secs s. Load before: $load0; took $(($(date +%s) - t_start)) s."
echo
echo "| configuration | names (SNI) | cache_size | handshakes / CPU s | vs static | wall / s | worker peak RSS | failed |"
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
	base=${cap["static $size"]}
	pct=$((cap["$cell"] * 100 / base))
	((fail["$cell"] == 0)) || status=1
	printf '| %s | %s | %s | %s | %s %% | %s | %s MiB | %s |\n' "$label" \
		"$([[ $size == 1 ]] && echo "one" || echo "random of $size")" "$cs" \
		"${cap["$cell"]}" "$pct" "${wall["$cell"]}" "$((rss["$cell"] / 1024))" "${fail["$cell"]}"
done
exit "$status"
