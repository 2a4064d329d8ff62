#!/bin/bash
#
# bench/issue.sh [-k] [-c NxP,...] [-n N -j P]... [-e SIZE,...] [-r RUNS]
#                [-o FILE] [-t TOOLS] [-V SECONDS] [-L MS] [-F N,...]
#                [-T SECONDS]
# How fast acmepipe issues certificates next to the ACME clients Debian
# ships (uacme, lego, certbot, acme-tiny), all in one run against one
# Pebble; what each acmepipe command costs to start; and cert-expiring
# over large stores. `make bench` runs it with the defaults.
#
# Issuance: the test harness (tests/helpers/common.bash) starts Pebble
# (PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0),
# challtestsrv (every name is 127.0.0.1) and nginx on 127.0.0.1. Every
# client writes its http-01 token into nginx's webroot (itself or by a
# hook), with EC P-256 certificate keys. Each client registers its account
# (certbot: one per parallel slot) and issues one warm-up certificate
# before any timing. Then, for each configuration N x P and each client: N
# fresh names, one process tree per name, `xargs -P P -n 1 CLIENT ... NAME`
# (acmepipe: scripts/acme-issue), under GNU time. Pebble's log lines
# "-> calling handler()" during the run count its HTTP requests. Every
# certificate is then verified against Pebble's root (fetched from its
# management interface after the start): a run with fewer than N verified
# certificates is FAILED and not timed. acmepipe also runs as one
# pipeline: all N documents through one `acme-issue -F F -i`, for each F
# of -F. bench/rss-tree.py samples every run's process tree for its total
# memory.
#
# Latency (-V, -L): -V SECONDS starts Pebble with PEBBLE_VA_NOSLEEP=0
# PEBBLE_VA_SLEEPTIME=SECONDS (Pebble 2.4 then sleeps rand.Intn(SECONDS)
# whole seconds before each validation); -L MS puts the harness's
# tests/helpers/acme-proxy.py in front of Pebble for every client, with a
# stall of MS milliseconds on every request (each request delayed on its
# own: the proxy is threaded). Both are reported with the tables.
#
# Start-up: each command on an empty stream (hyperfine -N, RUNS runs; peak
# RSS from GNU time). cert-expiring: stores of SIZE certificates made by
# bench/mkstore.sh (cached under ${TMPDIR:-/tmp}), documents and --summary.
#
# Writes FILE (default bench/RESULTS.md); what follows the line
# "<!-- hand-written below -->" in an existing FILE is kept. Exit 0 when
# every run of every installed client produced all its certificates, 1
# when one did not, 2 on a usage error or a missing tool.
#
# Needs (Debian): hyperfine time jq openssl curl pebble nginx, and the
# peers uacme lego certbot acme-tiny (a peer not installed is skipped):
#   apt-get install -y hyperfine time uacme lego certbot acme-tiny
# uacme has no CA option: bench/ca-bind.sh gives it Pebble's certificate as
# the system bundle in a private mount namespace, which needs root.

set -u

prog=bench/issue.sh
ALL_TOOLS=(acmepipe uacme lego certbot acme-tiny)
MARKER='<!-- hand-written below -->'
MIN_REQUESTS=9 # the protocol minimum per certificate, see the results

usage() {
	cat <<USAGE
usage: $prog [-k] [-c NxP,...] [-n N -j P]... [-e size,...] [-r runs]
		[-o file] [-t tool,...]
  -c NxP,...  configurations: N certificates, P at a time (default 50x1,200x8)
  -n N -j P   one more configuration (repeatable, in pairs)
  -e sizes    cert-expiring store sizes (default 10000,100000; 0: none)
  -k          keep the work directory (logs, certificates)
  -o file     results file, default bench/RESULTS.md
  -r runs     hyperfine runs per command for the start-up cost (default 200)
  -t tools    comma-separated subset of: ${ALL_TOOLS[*]}
  -V seconds  Pebble's validation delay: PEBBLE_VA_NOSLEEP=0
              PEBBLE_VA_SLEEPTIME=seconds (default 0: none)
  -L ms       round-trip delay: every client through the proxy, each
              request stalled ms milliseconds (default 0: no proxy)
  -F n,...    acmepipe's one pipeline: --in-flight values (default 16,64;
              0: no one-pipeline runs)
  -T seconds  a run still going after this long is killed, FAILED
              (default 3600)
USAGE
}

here=$(cd "$(dirname "$0")" && pwd) || exit 2
repo=$(cd "$here/.." && pwd) || exit 2
keep='' out='' tools_arg='' configs_arg='' sizes_arg=10000,100000 runs=200
va_sleep=0 rtt_ms=0 inflight_arg=16,64 run_timeout=3600
ns=() js=()
args_line="$*"
while getopts hkc:e:j:n:o:r:t:V:L:F:T: opt; do
	case $opt in
	h) usage; exit 0 ;;
	k) keep=1 ;;
	c) configs_arg+="${configs_arg:+,}$OPTARG" ;;
	e) sizes_arg=$OPTARG ;;
	n) ns+=("$OPTARG") ;;
	j) js+=("$OPTARG") ;;
	o) out=$OPTARG ;;
	r) runs=$OPTARG ;;
	t) tools_arg=$OPTARG ;;
	V) va_sleep=$OPTARG ;;
	L) rtt_ms=$OPTARG ;;
	F) inflight_arg=$OPTARG ;;
	T) run_timeout=$OPTARG ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($#)) || ((${#ns[@]} != ${#js[@]})); then
	usage >&2
	exit 2
fi
for ((i = 0; i < ${#ns[@]}; i++)); do
	configs_arg+="${configs_arg:+,}${ns[i]}x${js[i]}"
done
configs_arg=${configs_arg:-50x1,200x8}
IFS=, read -ra configs <<<"$configs_arg"
maxp=1
for c in "${configs[@]}"; do
	if ! [[ $c =~ ^([1-9][0-9]{0,3})x([1-9][0-9]?)$ ]]; then
		echo "$prog: not a configuration NxP (N 1-9999, P 1-99): $c" >&2
		exit 2
	fi
	((BASH_REMATCH[2] > maxp)) && maxp=${BASH_REMATCH[2]}
done
# split_list ARRAY LIST REGEX WHAT: the comma-separated LIST into ARRAY
# (none for "0"), every item matching REGEX, else a usage error: WHAT.
split_list() {
	local -n _list=$1
	local x
	_list=()
	[[ $2 == 0 ]] && return
	IFS=, read -ra _list <<<"$2"
	for x in "${_list[@]}"; do
		[[ $x =~ $3 ]] || { echo "$prog: $4: $x" >&2; exit 2; }
	done
}
sizes=() inflights=()
split_list sizes "$sizes_arg" '^[1-9][0-9]{0,6}$' "-e: not a store size"
[[ $runs =~ ^[1-9][0-9]{0,4}$ ]] || { echo "$prog: -r: not a count: $runs" >&2; exit 2; }
[[ $va_sleep =~ ^[0-9]{1,3}$ ]] || { echo "$prog: -V: not a number of seconds: $va_sleep" >&2; exit 2; }
[[ $rtt_ms =~ ^[0-9]{1,5}$ ]] || { echo "$prog: -L: not a number of milliseconds: $rtt_ms" >&2; exit 2; }
[[ $run_timeout =~ ^[1-9][0-9]{0,5}$ ]] || { echo "$prog: -T: not a number of seconds: $run_timeout" >&2; exit 2; }
split_list inflights "$inflight_arg" '^[1-9][0-9]{0,3}$' "-F: not an in-flight count"
va_sleep=$((10#$va_sleep)) rtt_ms=$((10#$rtt_ms))
# The setting, as each table reports it.
if ((va_sleep > 0)); then
	setting="validation delay PEBBLE_VA_SLEEPTIME=$va_sleep (Pebble sleeps 0 to $((va_sleep - 1)) whole seconds, at random, before each validation)"
else
	setting="no validation delay (PEBBLE_VA_NOSLEEP=1)"
fi
if ((rtt_ms > 0)); then
	setting+="; round-trip delay $rtt_ms ms on every request (acme-proxy.py stall in front of Pebble)"
else
	setting+="; no round-trip delay (clients straight to Pebble)"
fi
tools=("${ALL_TOOLS[@]}")
if [[ -n $tools_arg ]]; then
	IFS=, read -ra tools <<<"$tools_arg"
	for t in "${tools[@]}"; do
		if [[ " ${ALL_TOOLS[*]} " != *" $t "* ]]; then
			echo "$prog: unknown tool: $t" >&2
			exit 2
		fi
	done
fi
out=${out:-$repo/bench/RESULTS.md}

missing=()
for c in hyperfine jq openssl curl pebble pebble-challtestsrv nginx xargs timeout python3; do
	command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
[[ -x /usr/bin/time ]] || missing+=(/usr/bin/time)
if ((${#missing[@]})); then
	echo "$prog: not installed: ${missing[*]}" >&2
	echo "$prog: as root: apt-get install -y hyperfine time jq openssl curl pebble nginx" >&2
	exit 2
fi
for c in acme-order acme-challenge acme-finalize certstore-put cert-expiring; do
	if [[ ! -x $repo/bin/$c ]]; then
		echo "$prog: $repo/bin/$c is missing; build first: make" >&2
		exit 2
	fi
done

# The harness, as tests/demo uses it: none of a caller's test settings.
unset BATS_FILE_TMPDIR BATS_TEST_TMPDIR HARNESS_ENV_CLEAN HTTP01_PORT \
	NGINX_TLS_PORT PEBBLE_PORT PEBBLE_MGMT_PORT
W=$(mktemp -d "${TMPDIR:-/tmp}/acmepipe-bench.XXXXXX") || exit 2
if [[ $W =~ [^A-Za-z0-9/._-] ]]; then
	echo "$prog: $W: the work directory's path must be plain (TMPDIR)" >&2
	rm -rf "$W"
	exit 2
fi
TEST_TMP=$W/harness
export TEST_TMP
# shellcheck source=tests/helpers/common.bash
source "$repo/tests/helpers/common.bash"

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	harness_stop >/dev/null 2>&1 || true
	if [[ -n $keep ]]; then
		echo "$prog: work directory kept: $W" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

www=$W/www
mkdir -p "$www/.well-known/acme-challenge" "$W/nginx-store" "$W/logs" "$W/verify"

# pebble_up: the harness, and Pebble's root into $W/root.pem. The root is
# made at Pebble's start: fetch it again after every start.
pebble_env=()
((va_sleep > 0)) && pebble_env=(PEBBLE_VA_NOSLEEP=0 "PEBBLE_VA_SLEEPTIME=$va_sleep")
pebble_up() {
	pebble_start "${pebble_env[@]}" >"$W/logs/pebble-start.log" 2>&1 || {
		cat "$W/logs/pebble-start.log" >&2
		return 1
	}
	if ! pebble_root >"$W/root.pem" 2>"$W/logs/root.log" ||
		! openssl x509 -in "$W/root.pem" -noout 2>/dev/null; then
		say "cannot fetch Pebble's root from $PEBBLE_MGMT/roots/0"
		return 1
	fi
}
say "starting Pebble, challtestsrv and nginx"
pebble_up || exit 2
nginx_start "$www" "$W/nginx-store" >"$W/logs/nginx-start.log" 2>&1 || {
	cat "$W/logs/nginx-start.log" >&2
	exit 2
}
if ((rtt_ms > 0)); then
	say "starting acme-proxy.py in front of Pebble: $rtt_ms ms on every request"
	if ! proxy_start >"$W/logs/proxy-start.log" 2>&1 ||
		! proxy_fault "$(jq -cn --argjson ms "$rtt_ms" \
			'{fault: "stall", seconds: ($ms / 1000), times: -1}')" \
			>>"$W/logs/proxy-start.log" 2>&1; then
		cat "$W/logs/proxy-start.log" >&2
		exit 2
	fi
fi
# The proxy's URL with -L (same CA bundle: it serves Pebble's certificate).
url=$ACMEPIPE_DIRECTORY bundle=$ACMEPIPE_CA_BUNDLE
plog=$TEST_TMP/pebble/pebble.log

# --- the clients ------------------------------------------------------

# tool_cmd TOOL: CMD becomes TOOL's command for one certificate, {} for
# the name. Each one is handed the CA bundle explicitly, in the way the
# client reads it, since the environment may hold other CA variables.
tool_cmd() {
	local d=$W/$1
	case $1 in
	acmepipe)
		CMD=("$repo/scripts/acme-issue" -a -d "$url" -C "$bundle"
			-k "$d/account.key" -w "$www" -s "$d/store" {})
		;;
	uacme)
		CMD=("$here/ca-bind.sh" "$bundle" env BENCH_WEBROOT="$www"
			uacme -a "$url" -c "$d" -h "$here/uacme-hook.sh" -o -t EC
			issue {})
		;;
	lego)
		CMD=(env LEGO_CA_CERTIFICATES="$bundle" lego --server "$url"
			--path "$d" --accept-tos --email bench@example.com
			--key-type ec256 --http --http.webroot "$www" --domains {} run)
		;;
	certbot)
		CMD=(env REQUESTS_CA_BUNDLE="$bundle" "$here/certbot-slot.sh"
			"$url" "$www" "$d" {})
		;;
	acme-tiny)
		CMD=(env SSL_CERT_FILE="$bundle" "$here/acme-tiny-issue.sh"
			"$url" "$www" "$d" {})
		;;
	esac
}

# tool_cert TOOL NAME: the file with NAME's certificate chain (leaf
# first) as TOOL leaves it; certbot's is in one of the slots.
tool_cert() {
	local d=$W/$1 f
	case $1 in
	acmepipe | acmepipe-F) echo "$W/acmepipe/store/certs/$2.pem" ;;
	uacme) echo "$d/$2/cert.pem" ;;
	lego) echo "$d/certificates/$2.crt" ;;
	certbot)
		for f in "$d"/slot*/conf/live/"$2"/fullchain.pem; do
			[[ -s $f ]] && { echo "$f"; return; }
		done
		echo "$d/slot0/conf/live/$2/fullchain.pem"
		;;
	acme-tiny) echo "$d/$2.pem" ;;
	esac
}

tool_version() {
	case $1 in
	acmepipe) echo "acmepipe $(git -C "$repo" describe --always --dirty 2>/dev/null || echo '?')" ;;
	uacme) uacme -V 2>&1 | head -n 1 ;;
	lego) echo "lego $(dpkg-query -W -f '${Version}' lego 2>/dev/null)" ;;
	certbot) certbot --version 2>&1 | head -n 1 ;;
	acme-tiny) echo "acme-tiny $(dpkg-query -W -f '${Version}' acme-tiny 2>/dev/null)" ;;
	esac
}

# tool_setup TOOL: its directory and account(s), registered once.
tool_setup() {
	local d=$W/$1 s
	mkdir -p "$d"
	case $1 in
	uacme)
		"$here/ca-bind.sh" "$bundle" uacme -a "$url" -c "$d" -y -t EC new
		;;
	certbot)
		for ((s = 0; s < maxp; s++)); do
			env REQUESTS_CA_BUNDLE="$bundle" certbot register \
				--config-dir "$d/slot$s/conf" --work-dir "$d/slot$s/work" \
				--logs-dir "$d/slot$s/logs" --server "$url" \
				--non-interactive --agree-tos \
				--register-unsafely-without-email || return 1
		done
		;;
	acme-tiny)
		# acme-tiny registers (or looks up) the account on every run.
		openssl genrsa -out "$d/account.key" 2048
		;;
	*)
		# acmepipe and lego register on first use: the warm-up.
		true
		;;
	esac
}

# run_one TOOL NAME: CMD for one name, stdin from /dev/null, slot 0.
run_one() {
	tool_cmd "$1"
	SLOT=0 "${CMD[@]//"{}"/$2}" </dev/null
}

# split_pem FILE LEAF CHAIN: the first certificate of FILE into LEAF, the
# other certificates into CHAIN (keys and text around them dropped).
split_pem() {
	awk -v leaf="$2" -v chain="$3" '
		/-----BEGIN CERTIFICATE-----/ { in_c = 1; n++ }
		in_c { print > (n == 1 ? leaf : chain) }
		/-----END CERTIFICATE-----/ { in_c = 0 }
		END { close(leaf); if (n < 2) printf "" > chain }' "$1"
}

# verify TOOL NAMEFILE: how many of the names have a certificate that
# chains to Pebble's root through the chain the client stored with it, is
# for that name and has an EC P-256 key. Failures into $W/logs.
verify() {
	local t=$1 n v=$W/verify/$1 ok=0
	mkdir -p "$v"
	while read -r n; do
		local f
		f=$(tool_cert "$t" "$n")
		if [[ ! -s $f ]]; then
			echo "$n: no certificate ($f)" >>"$W/logs/verify.$t.log"
			continue
		fi
		split_pem "$f" "$v/$n.leaf" "$v/$n.chain"
		if openssl verify -CAfile "$W/root.pem" -untrusted "$v/$n.chain" \
			-verify_hostname "$n" "$v/$n.leaf" >>"$W/logs/verify.$t.log" 2>&1 &&
			openssl x509 -in "$v/$n.leaf" -noout -text 2>/dev/null |
			grep -q 'NIST CURVE: P-256'; then
			ok=$((ok + 1))
		else
			echo "$n: did not verify, or not an EC P-256 key ($f)" >>"$W/logs/verify.$t.log"
		fi
	done <"$2"
	echo "$ok"
}

# requests FROM TO: Pebble's handled requests in log lines FROM+1..TO.
requests() {
	sed -n "$(($1 + 1)),$2p" "$plog" | grep -c -- '-> calling handler()'
}

# request_kinds FROM TO N: the requests of log lines FROM+1..TO by kind
# (Pebble's paths: /dir, /nonce-plz, /order-plz, /authZ/, /chalZ/, ...),
# per certificate of N, as "kind count/N, ...".
request_kinds() {
	sed -n "$(($1 + 1)),$2p" "$plog" |
		sed -n 's/^Pebble [0-9/]* [0-9:]* \([A-Z]*\) \(\/[^/ ]*\).* -> calling handler()$/\1 \2/p' |
		sort | uniq -c | sort -rn |
		awk -v n="$3" '{ printf "%s%s %s %.2f", (NR > 1 ? ", " : ""), $2, $3, $1 / n }'
}

# va_sleeps FROM TO: "SECONDS COUNT", Pebble's sleeps before validating
# in log lines FROM+1..TO ("Sleeping for 1s seconds before validating").
va_sleeps() {
	sed -n "$(($1 + 1)),$2p" "$plog" |
		sed -n 's/.*Sleeping for \([0-9.]*\)s seconds before validating.*/\1/p' |
		awk '{ s += $1; n++ } END { printf "%d %d\n", s, n }'
}

# timed KEY N INPUT CMD...: CMD with INPUT on stdin under GNU time (and
# timeout -T), its process tree sampled by rss-tree.py; the results into
# R_*[KEY]. Output in $W/logs/KEY.log.
timed() {
	local key=$1 n=$2 in=$3 tp rc e u s m l0 l1 vs vn
	shift 3
	l0=$(wc -l <"$plog")
	timeout -k 10 "$run_timeout" /usr/bin/time -f '%e %U %S %M' \
		-o "$W/logs/$key.time" "$@" <"$in" >"$W/logs/$key.log" 2>&1 &
	tp=$!
	python3 "$here/rss-tree.py" "$tp" "$W/logs/$key.rss" &
	rc=0
	wait "$tp" || rc=$?
	wait $! 2>/dev/null
	l1=$(wc -l <"$plog")
	R_N[$key]=$n
	if ((rc == 124 || rc == 137)); then
		NOTE[$key]="killed after -T $run_timeout s"
		say "$key: ${NOTE[$key]}"
	fi
	read -r e u s m < <(tail -n 1 "$W/logs/$key.time")
	R_REQ[$key]=$(awk -v r="$(requests "$l0" "$l1")" -v n="$n" 'BEGIN { printf "%.2f", r / n }')
	R_KINDS[$key]=$(request_kinds "$l0" "$l1" "$n")
	R_WALL[$key]=${e:-0}
	R_CPU[$key]=$(awk -v u="${u:-0}" -v s="${s:-0}" -v n="$n" 'BEGIN { printf "%.1f", (u + s) * 1000 / n }')
	R_RSS[$key]=$(awk -v m="${m:-0}" 'BEGIN { printf "%.1f", m / 1024 }')
	read -r "R_TRSS[$key]" "R_HWM[$key]" _ < <(awk '{ printf "%.1f %.1f\n", $1 / 1024, $2 / 1024 }' "$W/logs/$key.rss" 2>/dev/null)
	read -r vs vn < <(va_sleeps "$l0" "$l1")
	VA_S=$((VA_S + vs)) VA_N=$((VA_N + vn))
}

# --- issuance ---------------------------------------------------------

declare -A R_WALL R_CPU R_RSS R_REQ R_OK R_N R_TRSS R_HWM R_KINDS NOTE
VA_S=0 VA_N=0
active=()
for t in "${tools[@]}"; do
	bin=$t
	[[ $t == acmepipe ]] && bin=$repo/scripts/acme-issue
	if ! command -v "$bin" >/dev/null 2>&1; then
		NOTE[$t]="not installed (apt-get install $t)"
		say "$t: ${NOTE[$t]}, skipped"
		continue
	fi
	if [[ $t == uacme ]] && { ((EUID != 0)) || ! command -v unshare >/dev/null; }; then
		NOTE[$t]="needs root and unshare(1): uacme trusts only the system CA bundle, so bench/ca-bind.sh bind-mounts Pebble's over it"
		say "$t: skipped: ${NOTE[$t]}"
		continue
	fi
	say "$t: registering, one warm-up certificate"
	w="w-$t.example.com"
	if ! tool_setup "$t" >"$W/logs/$t.setup.log" 2>&1 ||
		! run_one "$t" "$w" >>"$W/logs/$t.setup.log" 2>&1 ||
		[[ $(verify "$t" <(echo "$w")) != 1 ]]; then
		NOTE[$t]="warm-up failed: $(tail -n 3 "$W/logs/$t.setup.log" | tr '\n' ' ' | cut -c1-300)"
		say "$t: ${NOTE[$t]}"
		continue
	fi
	active+=("$t")
done

runid=$(date +%H%M%S)
for c in "${configs[@]}"; do
	N=${c%x*} P=${c#*x}
	for t in "${active[@]}"; do
		key=$t.$c
		tool_cmd "$t"
		names=$W/names.$key
		for ((i = 1; i <= N; i++)); do
			echo "n$i-$c-$runid-$t.example.com"
		done >"$names"
		# -n 1 when the name is the last argument, else -I{} (lego).
		if [[ ${CMD[-1]} == "{}" ]]; then
			unset 'CMD[-1]'
			xa=(-n 1)
		else
			xa=(-I{})
		fi
		say "$t: $N certificates, xargs -P $P"
		timed "$key" "$N" "$names" \
			xargs -P "$P" "${xa[@]}" --process-slot-var=SLOT "${CMD[@]}"
		R_OK[$key]=$(verify "$t" "$names")
		if [[ ${R_OK[$key]} != "$N" ]]; then
			say "$t: FAILED: ${R_OK[$key]}/$N verified (see $W/logs/$key.log, verify.$t.log)"
		fi
	done
done

# acmepipe as one pipeline: the N names as N documents through ONE
# `acme-issue -F F -i` (four processes, up to F documents in flight in
# each step), for each F of -F. Each on a freshly started Pebble (same
# setting; acmepipe registers again by itself): Pebble 2.4's in-memory
# store can deadlock under many concurrent orders once it holds a
# thousand orders or so (bench/RESULTS.md).
for c in "${configs[@]}"; do
	N=${c%x*}
	[[ " ${active[*]} " == *" acmepipe "* ]] || break
	for F in "${inflights[@]}"; do
		# shellcheck disable=SC2119 # the setting of the start
		if ! pebble_restart >>"$W/logs/pebble-start.log" 2>&1 ||
			! pebble_root >"$W/root.pem" 2>>"$W/logs/root.log"; then
			say "acmepipe one pipeline: Pebble did not restart"
			break 2
		fi
		key=acmepipe-F$F.$c names=$W/names.$key
		for ((i = 1; i <= N; i++)); do
			echo "n$i-$c-$runid-f$F.example.com"
		done >"$names"
		jq -cR '{version: 1, identifiers: [.]}' <"$names" >"$names.jsonl"
		tool_cmd acmepipe
		unset 'CMD[-1]'
		say "acmepipe: $N certificates through one acme-issue -F $F -i"
		timed "$key" "$N" "$names.jsonl" "${CMD[@]}" -F "$F" -i
		R_OK[$key]=$(verify acmepipe-F "$names")
		[[ ${R_OK[$key]} == "$N" ]] || say "acmepipe -F $F -i: FAILED: ${R_OK[$key]}/$N verified"
	done
done
harness_stop >/dev/null 2>&1 || true

# --- start-up cost ----------------------------------------------------

STARTUP=(acme-order acme-challenge acme-finalize certstore-put cert-expiring)
declare -A S_WALL S_SD S_CPU S_RSS
su=$W/startup
mkdir -p "$su/www"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$su/account.key" 2>/dev/null
# What every command needs to start, and an https URL nothing answers at:
# on an empty stream none of them makes a request.
startup_env=(env -u ACMEPIPE_CA_BUNDLE ACMEPIPE_DIRECTORY=https://127.0.0.1:1/dir
	ACMEPIPE_STORE="$su/store" ACMEPIPE_ACCOUNT_KEY="$su/account.key"
	ACMEPIPE_WEBROOT="$su/www")
for c in "${STARTUP[@]}"; do
	say "start-up: $c, $runs runs"
	if ! "${startup_env[@]}" "$repo/bin/$c" </dev/null >/dev/null 2>"$W/logs/startup.$c.log"; then
		NOTE[startup]+="$c on an empty stream failed: $(head -c 200 "$W/logs/startup.$c.log"). "
		continue
	fi
	"${startup_env[@]}" hyperfine -N --warmup 10 --runs "$runs" \
		--export-json "$su/$c.json" "$repo/bin/$c" >>"$W/logs/startup.$c.log" 2>&1 || continue
	read -r "S_WALL[$c]" "S_SD[$c]" "S_CPU[$c]" < <(jq -r '.results[0] |
		"\(.mean * 1000) \(.stddev * 1000) \((.user + .system) * 1000)"' "$su/$c.json")
	m=0
	for i in 1 2 3 4 5; do
		"${startup_env[@]}" /usr/bin/time -f %M -o "$su/$c.rss" "$repo/bin/$c" </dev/null >/dev/null 2>&1
		rss=$(tail -n 1 "$su/$c.rss")
		((rss > m)) && m=$rss
	done
	S_RSS[$c]=$m
done

# --- cert-expiring over large stores ----------------------------------

declare -A E_GEN E_DUE E_DOC_W E_DOC_R E_SUM_W E_SUM_R E_NOW
# median3 FILE: the median of the first fields of 3 lines; the largest
# fourth field (peak RSS KiB).
for n in "${sizes[@]}"; do
	say "cert-expiring: a store of $n certificates (bench/mkstore.sh, cached)"
	g0=$(date +%s)
	if ! sd=$("$here/mkstore.sh" "$n" 2>"$W/logs/mkstore.$n.log"); then
		NOTE[expiring]+="mkstore.sh $n failed: $(tail -n 2 "$W/logs/mkstore.$n.log" | tr '\n' ' '). "
		continue
	fi
	E_GEN[$n]=$(($(date +%s) - g0))
	grep -q 'done in' "$W/logs/mkstore.$n.log" || E_GEN[$n]="cached"
	E_NOW[$n]=$(sed -n 's/.* now=//p' "$sd/stamp")
	ex=(env -u ACMEPIPE_DIRECTORY -u ACMEPIPE_STORE "$repo/bin/cert-expiring"
		-A -s "$sd/store" --now "${E_NOW[$n]}")
	# One run to warm the page cache and count the due documents.
	E_DUE[$n]=$("${ex[@]}" 2>/dev/null | wc -l)
	for mode in doc sum; do
		extra=()
		[[ $mode == sum ]] && extra=(--summary)
		: >"$W/logs/expiring.$n.$mode.times"
		for i in 1 2 3; do
			/usr/bin/time -f '%e %U %S %M' -a -o "$W/logs/expiring.$n.$mode.times" \
				"${ex[@]}" "${extra[@]}" >/dev/null 2>>"$W/logs/expiring.$n.log"
		done
		# The median wall time of three, the largest peak RSS.
		read -r w r < <(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' \
			"$W/logs/expiring.$n.$mode.times" | sort -n | awk '
			{ w[NR] = $1; if ($4 > m) m = $4 }
			END { printf "%s %.1f\n", w[int((NR + 1) / 2)], m / 1024 }')
		if [[ $mode == doc ]]; then
			E_DOC_W[$n]=$w E_DOC_R[$n]=$r
		else
			E_SUM_W[$n]=$w E_SUM_R[$n]=$r
		fi
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the report -------------------------------------------------------

ok() { [[ -n ${R_N[$1]:-} && ${R_OK[$1]:-} == "${R_N[$1]}" ]]; }
rate() { awk -v n="${R_N[$1]}" -v w="${R_WALL[$1]}" 'BEGIN { printf "%.2f", (w > 0 ? n / w : 0) }'; }
# ratio A B: A/B to 2 places, — when either is missing.
ratio() {
	if [[ -z ${1:-} || -z ${2:-} ]]; then
		echo "—"
		return
	fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "—" }'
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
metp() { if "$@"; then echo MET; else echo MISSED; fi; }

# The hand-written part of an existing results file.
hand=''
if [[ -f $out ]] && grep -qF -- "$MARKER" "$out"; then
	hand=$(sed -n "/^$MARKER\$/,\$p" "$out" | sed 1d)
fi
cmdline="bench/issue.sh${args_line:+ $args_line}"

mkdir -p "$(dirname "$out")"
{
	echo "# acmepipe benchmark results"
	echo
	echo "Written by \`$cmdline\` on $started (finished $(date -u '+%H:%M UTC'))."
	echo "See bench/README.md for what is measured and how. Everything above"
	echo "the marker line near the end is rewritten by each run."
	echo
	echo "## Setting"
	echo
	echo "- Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), Linux $(uname -r)."
	echo "  Pebble, challtestsrv, nginx and the clients share those CPUs."
	echo "- Load average (1, 5, 15 min) before: $load_before; after: $load_after."
	echo "- Latency: $setting."
	echo "- Versions:"
	for t in "${active[@]}"; do
		echo "  - $(tool_version "$t")"
	done
	echo "  - pebble $(dpkg-query -W -f '${Version}' pebble 2>/dev/null), $(nginx -v 2>&1), hyperfine $(hyperfine --version | cut -d' ' -f2), $(openssl version | cut -d' ' -f1-2)"
	echo
	echo "## Issuance"
	echo
	echo "**Setting: $setting.**"
	echo
	echo "N fresh names per client and configuration, one process tree per name:"
	echo "\`xargs -P P -n 1 CLIENT... NAME\` (lego: \`-I{}\`, its name is not last)"
	echo "under GNU time, against one Pebble (PEBBLE_WFE_NONCEREJECT=0,"
	echo "PEBBLE_AUTHZREUSE=0). Accounts registered and one warm-up certificate"
	echo "issued before timing. CPU: user+system of every process of the run."
	echo "Peak RSS: GNU time %M, the largest single process. Tree RSS: the"
	echo "largest sum of VmRSS over the run's processes alive at once"
	echo "(bench/rss-tree.py, sampled every 0.1 s). Σ peaks: the sum of every"
	echo "process's own peak (VmHWM), for the one-pipeline rows only: an upper"
	echo "bound for their total peak. Requests: Pebble log lines \"-> calling"
	echo "handler()\" during the run, ÷ N. Ratios: row ÷ acmepipe per name"
	echo "(certs/s below 1 means slower; CPU and requests above 1 mean more)."
	echo
	echo "| N×P | client | wall s | certs/s | CPU ms/cert | peak RSS MiB | tree RSS MiB | Σ peaks MiB | requests/cert | certs/s ratio | CPU ratio | requests ratio |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	rows=()
	for t in "${active[@]}"; do
		rows+=("$t")
		if [[ $t == acmepipe ]]; then
			for F in "${inflights[@]}"; do
				rows+=("acmepipe-F$F")
			done
		fi
	done
	for c in "${configs[@]}"; do
		a=acmepipe.$c
		for t in "${rows[@]}"; do
			k=$t.$c
			label=$t cc=$c
			if [[ $t == acmepipe-F* ]]; then
				[[ -z ${R_N[$k]:-} ]] && continue
				label="acmepipe, one pipeline, -F ${t#acmepipe-F}" cc="${c%x*}x1"
			fi
			if ! ok "$k"; then
				echo "| $cc | $label | FAILED: ${R_OK[$k]:-0}/${R_N[$k]:-?} certificates verified (not timed)${NOTE[$k]:+; ${NOTE[$k]}} | | | | | | | | | |"
				continue
			fi
			hw="—"
			[[ $t == acmepipe-F* ]] && hw=${R_HWM[$k]:-—}
			if [[ $t == acmepipe ]] || ! ok "$a"; then
				rr="— | — | —"
			else
				rr="$(ratio "$(rate "$k")" "$(rate "$a")") | $(ratio "${R_CPU[$k]}" "${R_CPU[$a]}") | $(ratio "${R_REQ[$k]}" "${R_REQ[$a]}")"
			fi
			echo "| $cc | $label | ${R_WALL[$k]} | $(rate "$k") | ${R_CPU[$k]} | ${R_RSS[$k]} | ${R_TRSS[$k]:-—} | $hw | ${R_REQ[$k]} | $rr |"
		done
	done
	echo
	echo "Requests per certificate by kind (Pebble's log: method and path,"
	echo "/nonce-plz newNonce, /order-plz newOrder, /authZ/ authorizations,"
	echo "/chalZ/ challenges, /my-order/ orders, /finalize-order/, /certZ/):"
	echo
	for c in "${configs[@]}"; do
		for t in "${rows[@]}"; do
			k=$t.$c label=$t cc=$c
			if [[ $t == acmepipe-F* ]]; then
				label="acmepipe, one pipeline, -F ${t#acmepipe-F}" cc="${c%x*}x1"
			fi
			ok "$k" && echo "- $cc $label: ${R_KINDS[$k]:-}"
		done
	done
	echo
	if ((va_sleep > 0)); then
		echo "Pebble's sleeps before validating, from its log, over the timed runs:"
		echo "$VA_N validations, $(awk -v s="$VA_S" -v n="$VA_N" 'BEGIN { printf "%.2f", n ? s / n : 0 }') s each on average."
		echo
	fi
	echo "acmepipe, one pipeline: the N names as N documents (\`jq -cR"
	echo "'{version: 1, identifiers: [.]}'\`) through one \`acme-issue -F F -i\`"
	echo "(four processes, each keeping up to F documents in flight), each run"
	echo "on a freshly restarted Pebble (same setting)."
	echo
	echo "Commands (NAME the name, \$W a temporary directory, \$PEBBLE the ACME"
	echo "directory URL; certbot's wrapper picks the directories of xargs' slot):"
	echo
	for t in "${active[@]}"; do
		tool_cmd "$t"
		line="${CMD[*]//"{}"/NAME}"
		line=${line//"$W"/\$W}
		line=${line//"$repo"\//}
		echo "- $t: \`xargs -P P --process-slot-var=SLOT ${line//"$url"/\$PEBBLE}\`"
		if [[ $t == acmepipe ]] && ((${#inflights[@]})); then
			line=${line% NAME}
			echo "- acmepipe, one pipeline: \`${line//"$url"/\$PEBBLE} -F F -i <DOCUMENTS\`"
		fi
	done
	echo
	echo "Each certificate is checked after its run: \`openssl verify -CAfile root"
	echo "-untrusted chain -verify_hostname NAME leaf\`, root from Pebble's"
	echo "\`/roots/0\` fetched after its start, leaf and chain split from the file"
	echo "the client wrote (acmepipe certs/NAME.pem, uacme NAME/cert.pem, lego"
	echo "certificates/NAME.crt, certbot live/NAME/fullchain.pem, acme-tiny"
	echo "NAME.pem), and an EC P-256 key."
	echo
	echo "## acmepipe commands: start-up cost"
	echo
	echo "Each command on an empty stream (\`cmd </dev/null\`, ACMEPIPE_DIRECTORY"
	echo "https://127.0.0.1:1/dir, a store, an account key and a webroot set; no"
	echo "request is made): \`hyperfine -N --warmup 10 --runs $runs\`; peak RSS the"
	echo "largest of 5 runs under GNU time."
	echo
	echo "| command | wall ms (mean ± sd) | CPU ms (user+sys) | peak RSS MiB |"
	echo "| --- | --- | --- | --- |"
	for c in "${STARTUP[@]}"; do
		if [[ -z ${S_WALL[$c]:-} ]]; then
			echo "| $c | failed (see notes) | | |"
			continue
		fi
		awk -v c="$c" -v w="${S_WALL[$c]}" -v s="${S_SD[$c]}" -v u="${S_CPU[$c]}" \
			-v m="${S_RSS[$c]}" 'BEGIN { printf "| %s | %.2f ± %.2f | %.2f | %.1f |\n", c, w, s, u, m / 1024 }'
	done
	echo
	echo "## cert-expiring over large stores"
	echo
	echo "Stores made by \`bench/mkstore.sh N\`: a local test CA (openssl), one"
	echo "leaf and key per name (\`openssl req -x509 -new -CA\`, xargs -P nproc),"
	echo "certs/NAME.pem and meta/NAME.json as certstore-put writes them (checked"
	echo "against certstore-put for one name). Lifetimes 45 to 134 days, all"
	echo "starting at generation; cert-expiring runs with \`--now\` 45 days later"
	echo "and \`-A\` (no renewal-information requests): \`bin/cert-expiring -A -s"
	echo "STORE --now T [--summary] >/dev/null\`. Warm page cache (one run first);"
	echo "median wall of 3 runs, largest peak RSS."
	echo
	echo "| certificates | due | generation s | documents: wall s | documents: peak RSS MiB | --summary: wall s | --summary: peak RSS MiB |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	for n in "${sizes[@]}"; do
		echo "| $n | ${E_DUE[$n]:-—} | ${E_GEN[$n]:-failed} | ${E_DOC_W[$n]:-—} | ${E_DOC_R[$n]:-—} | ${E_SUM_W[$n]:-—} | ${E_SUM_R[$n]:-—} |"
	done
	echo
	echo "## Targets"
	echo
	echo "Protocol minimum of HTTP requests for one name with a cached account:"
	echo "directory, newNonce, newOrder, the authorization, the challenge"
	echo "response, one authorization poll, finalize, one order poll (Pebble"
	echo "finalizes asynchronously), the certificate = $MIN_REQUESTS."
	echo
	echo "| target | configuration | measured | result |"
	echo "| --- | --- | --- | --- |"
	# The one-pipeline rows of a configuration, and "acmepipe" (per name).
	ones=()
	for F in "${inflights[@]}"; do
		ones+=("acmepipe-F$F")
	done
	for c in "${configs[@]}"; do
		[[ ${c#*x} == 8 ]] || continue
		best='' bt=''
		for t in "${active[@]}"; do
			[[ $t == acmepipe ]] && continue
			ok "$t.$c" || continue
			if [[ -z $best ]] || ge "$(rate "$t.$c")" "$best"; then
				best=$(rate "$t.$c") bt=$t
			fi
		done
		for t in "${ones[@]}"; do
			k=$t.$c
			if ! ok "$k"; then
				echo "| one pipeline certs/s ≥ 8× the fastest peer's at -P 8 | $c, -F ${t#acmepipe-F} | one-pipeline run FAILED or not run | MISSED |"
				echo "| one pipeline certs/s ≥ 5× acmepipe per name at -P 8 | $c, -F ${t#acmepipe-F} | one-pipeline run FAILED or not run | MISSED |"
				continue
			fi
			if [[ -n $best ]]; then
				r=$(ratio "$(rate "$k")" "$best")
				echo "| one pipeline certs/s ≥ 8× the fastest peer's at -P 8 | $c, -F ${t#acmepipe-F} | $(rate "$k") vs $bt $best: ${r}× | $(metp ge "$r" 8) |"
			else
				echo "| one pipeline certs/s ≥ 8× the fastest peer's at -P 8 | $c, -F ${t#acmepipe-F} | no complete peer run | NOT RUN |"
			fi
			if ok "acmepipe.$c"; then
				r=$(ratio "$(rate "$k")" "$(rate "acmepipe.$c")")
				echo "| one pipeline certs/s ≥ 5× acmepipe per name at -P 8 | $c, -F ${t#acmepipe-F} | $(rate "$k") vs $(rate "acmepipe.$c"): ${r}× | $(metp ge "$r" 5) |"
			else
				echo "| one pipeline certs/s ≥ 5× acmepipe per name at -P 8 | $c, -F ${t#acmepipe-F} | per-name run FAILED | MISSED |"
			fi
		done
	done
	for c in "${configs[@]}"; do
		for t in "${ones[@]}"; do
			k=$t.$c
			ok "$k" || continue
			# The larger of the two measures: sampled sum and Σ peaks.
			m=$(awk -v a="${R_TRSS[$k]:-0}" -v b="${R_HWM[$k]:-0}" 'BEGIN { print (a > b ? a : b) }')
			echo "| total client peak RSS < 64 MiB | ${c%x*}x1, -F ${t#acmepipe-F} | tree ${R_TRSS[$k]:-—} MiB sampled, Σ peaks ${R_HWM[$k]:-—} MiB | $(metp ge 63.999 "$m") |"
		done
	done
	for c in "${configs[@]}"; do
		low='' lt=''
		for t in "${active[@]}"; do
			[[ $t == acmepipe ]] && continue
			ok "$t.$c" || continue
			if [[ -z $low ]] || ge "$low" "${R_CPU[$t.$c]}"; then
				low=${R_CPU[$t.$c]} lt=$t
			fi
		done
		for t in acmepipe "${ones[@]}"; do
			k=$t.$c label="acmepipe per name" cc=$c
			[[ $t == acmepipe-F* ]] && label="one pipeline, -F ${t#acmepipe-F}" cc="${c%x*}x1 (peers $c)"
			if ok "$k" && [[ -n $low ]]; then
				r=$(ratio "${R_CPU[$k]}" "$low")
				echo "| CPU/cert ≤ ½ the lowest peer's: $label | $cc | ${R_CPU[$k]} ms vs $lt $low ms: ${r}× | $(metp ge 0.5 "$r") |"
			elif [[ $t == acmepipe || -n ${R_N[$k]:-} ]]; then
				echo "| CPU/cert ≤ ½ the lowest peer's: $label | $cc | no complete run to compare | MISSED |"
			fi
		done
	done
	for c in "${configs[@]}"; do
		for t in acmepipe "${ones[@]}"; do
			k=$t.$c label="acmepipe per name" cc=$c
			[[ $t == acmepipe-F* ]] && label="one pipeline, -F ${t#acmepipe-F}" cc="${c%x*}x1"
			if ok "$k"; then
				echo "| requests/cert ≤ $MIN_REQUESTS + 1: $label | $cc | ${R_REQ[$k]} ($(ratio "${R_REQ[$k]}" "$MIN_REQUESTS")× the minimum) | $(metp ge $((MIN_REQUESTS + 1)) "${R_REQ[$k]}") |"
			elif [[ $t == acmepipe || -n ${R_N[$k]:-} ]]; then
				echo "| requests/cert ≤ $MIN_REQUESTS + 1: $label | $cc | run FAILED | MISSED |"
			fi
		done
	done
	big=100000 small=10000
	if [[ -n ${E_DOC_W[$big]:-} && -n ${E_SUM_W[$big]:-} ]]; then
		worst=$(awk -v a="${E_DOC_W[$big]}" -v b="${E_SUM_W[$big]}" 'BEGIN { print (a > b ? a : b) }')
		echo "| cert-expiring over 100,000 certificates < 2 s | documents, --summary | ${E_DOC_W[$big]} s, ${E_SUM_W[$big]} s | $(metp ge 1.999 "$worst") |"
		if [[ -n ${E_DOC_R[$small]:-} ]]; then
			# Not growing: at most 2 MiB or 10 % more at 10× the store.
			grow=$(awk -v a="${E_DOC_R[$small]}" -v b="${E_DOC_R[$big]}" -v c="${E_SUM_R[$small]}" -v d="${E_SUM_R[$big]}" '
				function ok(s, l) { return l - s <= 2 || l <= s * 1.1 }
				BEGIN { print (ok(a, b) && ok(c, d)) ? "MET" : "MISSED" }')
			echo "| cert-expiring memory does not grow with the store (10,000 → 100,000: at most +2 MiB or +10 %) | documents, --summary | ${E_DOC_R[$small]} → ${E_DOC_R[$big]} MiB, ${E_SUM_R[$small]} → ${E_SUM_R[$big]} MiB | $grow |"
		else
			echo "| cert-expiring memory does not grow with the store | — | no 10,000 store to compare | NOT RUN |"
		fi
	else
		echo "| cert-expiring over 100,000 certificates < 2 s | — | no 100,000 store measured | NOT RUN |"
	fi
	echo
	echo "## Notes"
	echo
	for t in "${tools[@]}" startup expiring; do
		[[ -n ${NOTE[$t]:-} ]] && echo "- $t: ${NOTE[$t]}"
	done
	echo "- Keys: certificate keys EC P-256 for every client; account keys EC"
	echo "  P-256 except certbot's and acme-tiny's (RSA 2048, their default and"
	echo "  acme-tiny's only kind)."
	echo "- certbot runs with its own config, work and logs directories per xargs"
	echo "  slot (bench/certbot-slot.sh), one account registered per slot; uacme"
	echo "  through bench/ca-bind.sh (a private mount namespace); acme-tiny"
	echo "  through bench/acme-tiny-issue.sh (openssl key and CSR, --disable-check)."
	echo
	echo "$MARKER"
	if [[ -n $hand ]]; then
		printf '%s\n' "$hand"
	else
		echo
		echo "## Where the time goes"
		echo
		echo "(Hand-written analysis goes here; $prog keeps everything below the"
		echo "marker line above.)"
	fi
} >"$out"
say "results: $out"

status=0
for t in "${tools[@]}"; do
	[[ ${NOTE[$t]:-} == "warm-up failed"* ]] && status=1
	[[ $t == acmepipe && " ${active[*]} " != *" acmepipe "* ]] && status=1
done
for t in "${active[@]}"; do
	for c in "${configs[@]}"; do
		ok "$t.$c" || status=1
		if [[ $t == acmepipe ]]; then
			for F in "${inflights[@]}"; do
				[[ -n ${R_N[acmepipe-F$F.$c]:-} ]] && { ok "acmepipe-F$F.$c" || status=1; }
			done
		fi
	done
done
exit "$status"
