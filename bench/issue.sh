#!/bin/bash
#
# bench/issue.sh [-k] [-j JOBS] [-n COUNT] [-o FILE] [-r RUNS] [-t TOOLS]:
# how fast acmepipe issues certificates, next to the ACME clients Debian
# ships (uacme, lego, certbot, acme-tiny), all in one run against one
# Pebble. `make bench` runs it with the defaults.
#
# The test harness (tests/helpers/common.bash) starts Pebble with
# PEBBLE_VA_NOSLEEP=1, challtestsrv (every name is 127.0.0.1) and nginx, all
# on 127.0.0.1. Every client writes its http-01 token into nginx's webroot,
# so Pebble validates every client through the same nginx. Each client
# registers its account and issues one warm-up certificate before any
# timing. Then, for each client in turn:
#   1 cert     RUNS runs of hyperfine (-N, one run per name: h<i>-TOOL),
#              mean and standard deviation of the wall time
#   sequential COUNT names one after another: a shell loop of single
#              issuances; for acmepipe also COUNT documents through one
#              acme-issue -i pipeline (acme-order | acme-challenge |
#              acme-finalize | certstore-put)
#   parallel   COUNT names with xargs -P JOBS, for the clients that allow
#              runs side by side (certbot does not: it locks its directories)
# Sequential and parallel runs are measured by GNU time (/usr/bin/time:
# wall, user+system CPU of all processes, largest maximum resident set of
# any one process) and by Pebble's own CPU time (/proc/PID/stat). After
# each run the certificates on disk are counted.
#
# Writes FILE (default bench/results/issue-YYYYMMDD.md): the figures, each
# peer's ratio to acmepipe, the versions and the machine's load. Exit 0
# when acmepipe and every installed peer issued all their certificates, 1
# when one did not (noted in FILE), 2 on a usage error or a missing tool.
#
# Needs (Debian): hyperfine time jq openssl curl pebble nginx, and the
# peers uacme lego certbot acme-tiny (a peer not installed is skipped):
#   apt-get install -y hyperfine time uacme lego certbot acme-tiny
# uacme has no CA option: bench/ca-bind.sh gives it Pebble's certificate as
# the system bundle in a private mount namespace, which needs root.

set -u

prog=bench/issue.sh
ALL_TOOLS=(acmepipe uacme lego certbot acme-tiny)

usage() {
	cat <<USAGE
usage: $prog [-k] [-j jobs] [-n count] [-o file] [-r runs] [-t tool,...]
  -j jobs   parallel issuances (xargs -P), default 8
  -k        keep the work directory (stores, logs, hyperfine JSON)
  -n count  certificates in the sequential and parallel runs, default 50
  -o file   results file, default bench/results/issue-YYYYMMDD.md
  -r runs   hyperfine runs of the 1-certificate issuance, default 10
  -t tools  comma-separated subset of: ${ALL_TOOLS[*]}
USAGE
}

here=$(cd "$(dirname "$0")" && pwd) || exit 2
repo=$(cd "$here/.." && pwd) || exit 2
jobs=8 count=50 runs=10 keep='' out='' tools_arg=''
while getopts hkj:n:o:r:t: opt; do
	case $opt in
	h) usage; exit 0 ;;
	k) keep=1 ;;
	j) jobs=$OPTARG ;;
	n) count=$OPTARG ;;
	o) out=$OPTARG ;;
	r) runs=$OPTARG ;;
	t) tools_arg=$OPTARG ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
for v in "$jobs" "$count" "$runs"; do
	if ! [[ $v =~ ^[1-9][0-9]{0,3}$ ]]; then
		echo "$prog: not a count from 1 to 9999: $v" >&2
		exit 2
	fi
done
if (($#)); then
	usage >&2
	exit 2
fi
if ((runs < 2)); then
	echo "$prog: -r: at least 2 runs, for a standard deviation" >&2
	exit 2
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
out=${out:-$repo/bench/results/issue-$(date +%Y%m%d).md}

# What the benchmark itself needs; a missing peer is only skipped.
missing=()
for c in hyperfine jq openssl curl pebble pebble-challtestsrv nginx xargs; do
	command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
[[ -x /usr/bin/time ]] || missing+=(/usr/bin/time)
if ((${#missing[@]})); then
	echo "$prog: not installed: ${missing[*]}" >&2
	echo "$prog: as root: apt-get install -y hyperfine time jq openssl curl pebble nginx" >&2
	exit 2
fi
for c in acme-order acme-challenge acme-finalize certstore-put; do
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

www=$W/www
mkdir -p "$www/.well-known/acme-challenge" "$W/nginx-store" "$W/logs"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "starting Pebble, challtestsrv and nginx"
# shellcheck disable=SC2119 # the harness's defaults: PEBBLE_VA_NOSLEEP=1
pebble_start >"$W/logs/pebble-start.log" 2>&1 || {
	cat "$W/logs/pebble-start.log" >&2
	exit 2
}
nginx_start "$www" "$W/nginx-store" >"$W/logs/nginx-start.log" 2>&1 || {
	cat "$W/logs/nginx-start.log" >&2
	exit 2
}
url=$ACMEPIPE_DIRECTORY bundle=$ACMEPIPE_CA_BUNDLE
pebble_pid=$(<"$TEST_TMP/pebble/pebble.pid")
tck=$(getconf CLK_TCK)

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
		CMD=(env REQUESTS_CA_BUNDLE="$bundle" certbot certonly --quiet
			--config-dir "$d/conf" --work-dir "$d/work" --logs-dir "$d/logs"
			--server "$url" --non-interactive --agree-tos
			--key-type ecdsa --webroot -w "$www" -d {})
		;;
	acme-tiny)
		CMD=(env SSL_CERT_FILE="$bundle" "$here/acme-tiny-issue.sh"
			"$url" "$www" "$d" {})
		;;
	esac
}

# tool_cert TOOL NAME: where TOOL leaves NAME's certificate.
tool_cert() {
	local d=$W/$1
	case $1 in
	acmepipe) echo "$d/store/certs/$2.pem" ;;
	uacme) echo "$d/$2/cert.pem" ;;
	lego) echo "$d/certificates/$2.crt" ;;
	certbot) echo "$d/conf/live/$2/fullchain.pem" ;;
	acme-tiny) echo "$d/$2.pem" ;;
	esac
}

# tool_version TOOL: one line.
tool_version() {
	case $1 in
	acmepipe) echo "acmepipe $(git -C "$repo" describe --always --dirty 2>/dev/null || echo '?')" ;;
	uacme) uacme -V 2>&1 | head -n 1 ;;
	lego) echo "lego $(dpkg-query -W -f '${Version}' lego 2>/dev/null)" ;;
	certbot) certbot --version 2>&1 | head -n 1 ;;
	acme-tiny) echo "acme-tiny $(dpkg-query -W -f '${Version}' acme-tiny 2>/dev/null)" ;;
	esac
}

# tool_setup TOOL: its directory and account, registered once.
tool_setup() {
	local d=$W/$1
	mkdir -p "$d"
	case $1 in
	uacme)
		"$here/ca-bind.sh" "$bundle" uacme -a "$url" -c "$d" -y -t EC new
		;;
	certbot)
		env REQUESTS_CA_BUNDLE="$bundle" certbot register \
			--config-dir "$d/conf" --work-dir "$d/work" --logs-dir "$d/logs" \
			--server "$url" --non-interactive --agree-tos \
			--register-unsafely-without-email
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

# run_one TOOL NAME: CMD for one name, stdin from /dev/null.
run_one() {
	tool_cmd "$1"
	"${CMD[@]//"{}"/$2}" </dev/null
}

# present TOOL NAMEFILE: how many of the names have a certificate.
present() {
	local n k=0
	while read -r n; do
		[[ -s $(tool_cert "$1" "$n") ]] && k=$((k + 1))
	done <"$2"
	echo "$k"
}

pebble_ticks() {
	local s
	read -r s <"/proc/$pebble_pid/stat" || return 1
	s=${s##*) }
	# Fields after the name: state is 3, so utime (14) is 12 on, stime 13.
	awk '{ print $12 + $13 }' <<<"$s"
}

# measure KEY NAMEFILE CMD...: runs CMD under GNU time with NAMEFILE as its
# standard input; results in R_WALL[KEY] R_CPU[KEY] R_RSS[KEY] R_PEB[KEY].
declare -A R_WALL R_CPU R_RSS R_PEB R_OK R_N R_1MEAN R_1SD NOTE
measure() {
	local key=$1 names=$2 p0 p1 rc=0 e u s m
	shift 2
	p0=$(pebble_ticks)
	/usr/bin/time -f '%e %U %S %M' -o "$W/logs/$key.time" "$@" \
		<"$names" >"$W/logs/$key.log" 2>&1 || rc=$?
	p1=$(pebble_ticks)
	# GNU time puts "Command exited with non-zero status N" first.
	read -r e u s m < <(tail -n 1 "$W/logs/$key.time")
	R_WALL[$key]=$e
	R_CPU[$key]=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	R_RSS[$key]=$(awk -v m="$m" 'BEGIN { printf "%.1f", m / 1024 }')
	R_PEB[$key]=$(awk -v a="$p0" -v b="$p1" -v t="$tck" 'BEGIN { printf "%.2f", (b - a) / t }')
	return "$rc"
}

# names PREFIX TOOL: COUNT names, one a line, into a file; prints its path.
names() {
	local f=$W/names.$1-$2 i
	for ((i = 1; i <= count; i++)); do
		echo "$1$i-$2.example.com"
	done >"$f"
	echo "$f"
}

# Loop over names in one bash, the peer's command per name.
# shellcheck disable=SC2016 # expanded by the inner bash
LOOP='while read -r n; do "${@//"{}"/$n}" </dev/null || echo "failed: $n" >&2; done'

# --- the runs ---------------------------------------------------------

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
	say "$t: registering an account and issuing one warm-up certificate"
	if ! tool_setup "$t" >"$W/logs/$t.setup.log" 2>&1 ||
		! run_one "$t" "w-$t.example.com" >>"$W/logs/$t.setup.log" 2>&1 ||
		[[ ! -s $(tool_cert "$t" "w-$t.example.com") ]]; then
		NOTE[$t]="warm-up failed: $(tail -n 3 "$W/logs/$t.setup.log" | tr '\n' ' ' | cut -c1-300)"
		say "$t: ${NOTE[$t]}"
		continue
	fi
	active+=("$t")
done

for t in "${active[@]}"; do
	say "$t: 1 certificate, $runs runs of hyperfine"
	tool_cmd "$t"
	line='' rep="h{i}-$t.example.com"
	for a in "${CMD[@]}"; do
		if [[ $a =~ [[:space:]\'\"\\] ]]; then
			echo "$prog: $t: an argument hyperfine -N cannot take: $a" >&2
			exit 2
		fi
		line+="${line:+ }${a//"{}"/$rep}"
	done
	if hyperfine -N --runs 1 --parameter-scan i 1 "$runs" \
		--export-json "$W/logs/$t.hyperfine.json" "$line" \
		>"$W/logs/$t.hyperfine.log" 2>&1; then
		read -r "R_1MEAN[$t]" "R_1SD[$t]" < <(jq -r '
			[.results[].times[0]] as $t | ($t | add / length) as $m |
			($t | map((. - $m) * (. - $m)) | add / (length - 1) | sqrt) as $sd |
			"\($m) \($sd)"' "$W/logs/$t.hyperfine.json")
	else
		NOTE[$t]+="1 cert: hyperfine failed: $(tail -n 2 "$W/logs/$t.hyperfine.log" | tr '\n' ' '). "
	fi
done

# acmepipe step by step: RUNS documents of one name each, every command
# run alone under GNU time, to see where a single issuance's time goes.
STEPS=(jq acme-order acme-challenge acme-finalize certstore-put)
steps_breakdown() {
	local d=$W/acmepipe s=$W/steps i k in out
	local -a opts
	mkdir -p "$s"
	for ((i = 1; i <= runs; i++)); do
		in=$s/doc.0
		# shellcheck disable=SC2016 # a jq variable
		/usr/bin/time -f '%e %U %S %M' -a -o "$s/jq.times" \
			jq -cn --arg n "b$i-acmepipe.example.com" \
			'{version: 1, identifiers: [$n]}' >"$in" || return 1
		for ((k = 1; k < ${#STEPS[@]}; k++)); do
			case ${STEPS[k]} in
			acme-order) opts=(-a -d "$url" -C "$bundle" -k "$d/account.key") ;;
			acme-challenge) opts=(-d "$url" -C "$bundle" -k "$d/account.key" -w "$www") ;;
			acme-finalize) opts=(-d "$url" -C "$bundle" -k "$d/account.key" -s "$d/store") ;;
			certstore-put) opts=(-s "$d/store") ;;
			esac
			out=$s/doc.$k
			/usr/bin/time -f '%e %U %S %M' -a -o "$s/${STEPS[k]}.times" \
				"$repo/bin/${STEPS[k]}" "${opts[@]}" <"$in" >"$out" \
				2>>"$W/logs/steps.log" || return 1
			in=$out
		done
	done
}
steps_ok=
if [[ " ${active[*]} " == *" acmepipe "* ]]; then
	say "acmepipe: each step alone, $runs documents"
	steps_breakdown && steps_ok=1
fi

for t in "${active[@]}"; do
	tool_cmd "$t"
	f=$(names s "$t")
	say "$t: $count certificates, one after another (shell loop)"
	measure "$t.loop" "$f" bash -c "$LOOP" loop "${CMD[@]}" || true
	R_OK[$t.loop]=$(present "$t" "$f") R_N[$t.loop]=$count
	if [[ $t == acmepipe ]]; then
		f=$(names q "$t")
		say "$t: $count documents through one pipeline (acme-issue -i)"
		unset 'CMD[-1]' # the name
		measure "$t.pipe" "$f" sh -c \
			'jq -cR "{version: 1, identifiers: [.]}" | "$@" -i' sh "${CMD[@]}" ||
			true
		R_OK[$t.pipe]=$(present "$t" "$f") R_N[$t.pipe]=$count
	fi
done

for t in "${active[@]}"; do
	if [[ $t == certbot ]]; then
		NOTE[$t]+="No parallel run: certbot takes a lock on its directories, and a second instance exits with 'Another instance of Certbot is already running'. "
		continue
	fi
	tool_cmd "$t"
	f=$(names p "$t")
	say "$t: $count certificates, xargs -P $jobs"
	measure "$t.par" "$f" xargs -P "$jobs" -I{} "${CMD[@]}" || true
	R_OK[$t.par]=$(present "$t" "$f") R_N[$t.par]=$count
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the report -------------------------------------------------------

# fmt KEY: "wall s" with a mark when certificates are missing.
fmt() {
	local k=$1
	[[ -n ${R_WALL[$k]:-} ]] || { echo "—"; return; }
	if [[ ${R_OK[$k]:-0} != "${R_N[$k]:-x}" ]]; then
		echo "${R_WALL[$k]} (only ${R_OK[$k]:-0}/${R_N[$k]:-?} issued)"
	else
		echo "${R_WALL[$k]}"
	fi
}
pair() { # ARRAY KEY1 KEY2
	local -n arr=$1
	local a=${arr[$2]:-—} b=${arr[$3]:-—}
	echo "$a / $b"
}
one() {
	[[ -n ${R_1MEAN[$1]:-} ]] || { echo "—"; return; }
	awk -v m="${R_1MEAN[$1]}" -v s="${R_1SD[$1]}" 'BEGIN { printf "%.3f ± %.3f", m, s }'
}
ratio() { # PEER BASE: PEER/BASE to 2 places, — when either is missing
	if [[ -z ${1:-} || -z ${2:-} ]]; then
		echo "—"
		return
	fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "—" }'
}
okrow() { # KEY...: "50/50" per key
	local k s=
	for k in "$@"; do
		s+="${s:+ / }${R_OK[$k]:-—}/${R_N[$k]:-—}"
	done
	echo "$s"
}

mkdir -p "$(dirname "$out")"
{
	echo "# Issuing certificates: acmepipe and Debian's ACME clients"
	echo
	echo "Written by \`bench/issue.sh -j $jobs -n $count -r $runs\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo "One Pebble (PEBBLE_VA_NOSLEEP=1), challtestsrv and nginx on 127.0.0.1;"
	echo "every client writes its http-01 token into the same nginx webroot."
	echo "Times are wall-clock seconds. See bench/README.md for what is measured."
	echo
	echo "## Results"
	echo
	echo "| tool | 1 cert, s (mean ± sd, n=$runs) | $count sequential, s | $count parallel (-P $jobs), s | peak RSS, MiB (seq / par) | CPU s (seq / par) | Pebble CPU s (seq / par) | issued (seq / par) |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for t in "${active[@]}"; do
		if [[ $t == acmepipe ]]; then
			echo "| acmepipe, one pipeline | $(one acmepipe) | $(fmt acmepipe.pipe) | $(fmt acmepipe.par) | $(pair R_RSS acmepipe.pipe acmepipe.par) | $(pair R_CPU acmepipe.pipe acmepipe.par) | $(pair R_PEB acmepipe.pipe acmepipe.par) | $(okrow acmepipe.pipe acmepipe.par) |"
			echo "| acmepipe, loop of acme-issue | (same) | $(fmt acmepipe.loop) | (same) | ${R_RSS[acmepipe.loop]:-—} | ${R_CPU[acmepipe.loop]:-—} | ${R_PEB[acmepipe.loop]:-—} | $(okrow acmepipe.loop) |"
		else
			echo "| $t | $(one "$t") | $(fmt "$t.loop") | $(fmt "$t.par") | $(pair R_RSS "$t.loop" "$t.par") | $(pair R_CPU "$t.loop" "$t.par") | $(pair R_PEB "$t.loop" "$t.par") | $(okrow "$t.loop" "$t.par") |"
		fi
	done
	echo
	echo "Sequential: acmepipe's one pipeline is \`acme-issue -i\` fed $count documents;"
	echo "every other row is a shell loop running the client once per name."
	echo
	if [[ " ${active[*]} " == *" acmepipe "* ]] && ((${#active[@]} > 1)); then
		echo "## Each peer relative to acmepipe"
		echo
		echo "Peer ÷ acmepipe: above 1× means the peer took longer or used more."
		echo "The sequential columns compare each peer's loop with acmepipe's one"
		echo "pipeline and with acmepipe's loop."
		echo
		echo "| tool | 1 cert | sequential vs pipeline | sequential vs loop | parallel | CPU seq vs pipeline | CPU seq vs loop | CPU par | peak RSS seq vs pipeline |"
		echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
		for t in "${active[@]}"; do
			[[ $t == acmepipe ]] && continue
			echo "| $t | $(ratio "${R_1MEAN[$t]:-}" "${R_1MEAN[acmepipe]:-}") | $(ratio "${R_WALL[$t.loop]:-}" "${R_WALL[acmepipe.pipe]:-}") | $(ratio "${R_WALL[$t.loop]:-}" "${R_WALL[acmepipe.loop]:-}") | $(ratio "${R_WALL[$t.par]:-}" "${R_WALL[acmepipe.par]:-}") | $(ratio "${R_CPU[$t.loop]:-}" "${R_CPU[acmepipe.pipe]:-}") | $(ratio "${R_CPU[$t.loop]:-}" "${R_CPU[acmepipe.loop]:-}") | $(ratio "${R_CPU[$t.par]:-}" "${R_CPU[acmepipe.par]:-}") | $(ratio "${R_RSS[$t.loop]:-}" "${R_RSS[acmepipe.pipe]:-}") |"
		done
		echo
	fi
	if [[ -n $steps_ok ]]; then
		echo "## acmepipe step by step"
		echo
		echo "One document at a time through each command alone (what acme-issue"
		echo "runs for one name), $runs names; mean per document."
		echo
		echo "| step | wall, s | CPU, s | max RSS, MiB |"
		echo "| --- | --- | --- | --- |"
		for k in "${STEPS[@]}"; do
			awk -v step="$k" '{ w += $1; c += $2 + $3; if ($4 > m) m = $4; n++ }
				END { printf "| %s | %.3f | %.3f | %.1f |\n", step, w / n, c / n, m / 1024 }' \
				"$W/steps/$k.times"
		done
		echo
	fi
	echo "## Notes on the clients"
	echo
	for t in "${tools[@]}"; do
		[[ -n ${NOTE[$t]:-} ]] && echo "- $t: ${NOTE[$t]}"
	done
	echo "- Commands (NAME for the name; paths in a temporary directory):"
	for t in "${active[@]}"; do
		tool_cmd "$t"
		line="${CMD[*]//"{}"/NAME}"
		line=${line//"$W"/\$W}
		line=${line//"$repo"\//}
		echo "  - $t: \`${line//"$url"/\$PEBBLE}\`"
	done
	echo "- Keys: certificate keys EC P-256 for every client; account keys EC"
	echo "  P-256 except certbot's and acme-tiny's (RSA 2048, their default and"
	echo "  acme-tiny's only kind)."
	echo
	echo "## Setting"
	echo
	echo "- Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')), Linux $(uname -r); Pebble, challtestsrv and nginx share them with the clients."
	echo "- Load average (1, 5, 15 min) before: $load_before; after: $load_after."
	echo "- Versions:"
	for t in "${active[@]}"; do
		echo "  - $(tool_version "$t")"
	done
	echo "  - pebble $(dpkg-query -W -f '${Version}' pebble 2>/dev/null), $(nginx -v 2>&1), hyperfine $(hyperfine --version | cut -d' ' -f2)"
} >"$out"
say "results: $out"

status=0
for t in "${tools[@]}"; do
	if [[ " ${active[*]} " != *" $t "* ]]; then
		[[ $t == acmepipe ]] && status=1
		continue
	fi
	[[ -n ${R_1MEAN[$t]:-} ]] || status=1
	for k in "$t.loop" "$t.pipe" "$t.par"; do
		[[ -n ${R_N[$k]:-} && ${R_OK[$k]} != "${R_N[$k]}" ]] && status=1
	done
done
# A peer that is not installed is no failure; one that broke is.
for t in "${tools[@]}"; do
	[[ ${NOTE[$t]:-} == "warm-up failed"* ]] && status=1
done
exit "$status"
