#!/bin/bash
#
# bench/mkstore.sh [-f] [-j jobs] N [DIR]: an acmepipe store of N
# certificates for bench/issue.sh's cert-expiring figures, generated
# straight into the store: a local test CA (openssl), then one leaf per name
# with its own EC P-256 key, `openssl req -x509 -new -CA`, jobs at a time
# (default: nproc). The layout and metadata are what certstore-put writes
# (man/acmepipe-store.5, common/store.c): certs/NAME.pem is the chain (leaf,
# then the CA) followed by the key (PKCS #8), mode 0640; meta/NAME.json is
# jansson's JSON_INDENT(2) text of name, identifiers, notBefore, notAfter,
# serial, issuer, certID, keyType, stored, failCount, mode 0644. At the end
# one certificate goes through certstore-put itself into a scratch store,
# and both of its files must match (but for the "stored" time).
#
# Every certificate starts when it is made (OpenSSL 3.0's req has no start
# date); lifetimes vary from 45 to 134 days, so at T0 + 45 days (T0 the
# start of the generation) about a quarter of them are due. The caller
# moves cert-expiring's clock there with --now.
#
# DIR (default ${TMPDIR:-/tmp}/acmepipe-bench-store-N) is a cache: when
# DIR/stamp says it holds N certificates of this format, nothing is made
# again (-f: make it anyway). Prints DIR; the store is DIR/store, and
# DIR/stamp has the line "format=F n=N t0=EPOCH now=RFC3339".
# Exit 0 when the store is there, 1 when generation failed, 2 on usage.

set -u
prog=bench/mkstore.sh
FORMAT=1

usage() { echo "usage: $prog [-f] [-j jobs] N [DIR]" >&2; }

here=$(cd "$(dirname "$0")" && pwd) || exit 2
repo=$(cd "$here/.." && pwd) || exit 2
jobs=$(nproc) force=
while getopts fj:h opt; do
	case $opt in
	f) force=1 ;;
	j) jobs=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($# < 1 || $# > 2)) || ! [[ $1 =~ ^[1-9][0-9]{0,6}$ && $jobs =~ ^[1-9][0-9]{0,2}$ ]]; then
	usage
	exit 2
fi
n=$1
dir=${2:-${TMPDIR:-/tmp}/acmepipe-bench-store-$n}

if [[ -z $force && -s $dir/stamp ]] &&
	grep -q "^format=$FORMAT n=$n t0=[0-9]* now=" "$dir/stamp" &&
	[[ -d $dir/store/meta ]]; then
	echo "$dir"
	exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/ca" "$dir/rec" "$dir/tmp" || exit 1
store=$dir/store
# As certstore-put makes them: certs and meta 0755, private 0700.
mkdir "$store" "$store/certs" "$store/meta" "$store/private" &&
	chmod 0755 "$store" "$store/certs" "$store/meta" &&
	chmod 0700 "$store/private" || exit 1

# The leaves' extensions, shared with bench/store.sh.
cp "$here/leaf.cnf" "$dir/ca/leaf.cnf" || exit 1
if ! openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-nodes -days 3650 -subj "/CN=acmepipe bench test CA" \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$dir/ca/ca.key" -out "$dir/ca/ca.pem" 2>"$dir/ca/openssl.err"; then
	cat "$dir/ca/openssl.err" >&2
	exit 1
fi

t0=$(date +%s)
echo "$prog: $n certificates into $store, $jobs at a time" >&2

# The worker: bash -c WORKER _ DIR I...; one line "NAME NB DAYS" per
# certificate into DIR/rec/BASHPID. The start (NB) is the second openssl
# signed in; when that second is not known for sure, openssl says.
# shellcheck disable=SC2016 # expanded by the worker's bash
WORKER='set -u
d=$1
shift
t=$d/tmp/$BASHPID
rec=$d/rec/$BASHPID
umask 027
for i; do
	printf -v name "host%07d.zone%03d.example.com" "$i" $((i % 997))
	printf -v serial "%x" $((0x5000000000 + i))
	days=$((45 + i * 7919 % 90))
	a=$EPOCHSECONDS
	openssl req -x509 -new -config "$d/ca/leaf.cnf" \
		-CA "$d/ca/ca.pem" -CAkey "$d/ca/ca.key" \
		-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$t.key" -out "$t.pem" -days "$days" -set_serial "0x$serial" \
		-subj "/CN=$name" -addext "subjectAltName=DNS:$name" 2>"$t.err" ||
		{ cat "$t.err" >&2; exit 255; }
	b=$EPOCHSECONDS
	if ((a != b)); then
		s=$(openssl x509 -in "$t.pem" -noout -startdate) &&
			b=$(date -u -d "${s#notBefore=}" +%s) || exit 255
	fi
	cat "$t.pem" "$d/ca/ca.pem" "$t.key" >"$d/store/certs/$name.pem" || exit 255
	echo "$name $serial $b $days" >>"$rec"
done
rm -f "$t.pem" "$t.key" "$t.err"'

seq 1 "$n" | xargs -P "$jobs" -n 500 bash -c "$WORKER" worker "$dir" || {
	echo "$prog: generation failed" >&2
	exit 1
}

# certID's first half: the CA's key identifier (the leaves' AKI), base64url.
ski=$(openssl x509 -in "$dir/ca/ca.pem" -noout -ext subjectKeyIdentifier |
	sed -n '2s/[^0-9A-Fa-f]//gp')
# The metadata, in one awk: mawk and gawk both have strftime(f, t, utc).
# shellcheck disable=SC2016 # awk's own $1..$4
(umask 022 && cat "$dir"/rec/* | awk -v meta="$store/meta" -v ski="$ski" -v n="$n" '
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
function hexval(h,   i, v, c) {
	v = 0
	for (i = 1; i <= length(h); i++) {
		c = index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
		v = v * 16 + c
	}
	return v
}
function t(s) { return strftime("%Y-%m-%dT%H:%M:%SZ", s, 1) }
BEGIN { aki = b64url(ski) }
{
	name = $1; serial = $2; nb = $3; na = nb + $4 * 86400
	f = meta "/" name ".json"
	printf "{\n  \"name\": \"%s\",\n  \"identifiers\": [\n    \"%s\"\n  ],\n", name, name > f
	printf "  \"notBefore\": \"%s\",\n  \"notAfter\": \"%s\",\n", t(nb), t(na) > f
	printf "  \"serial\": \"%s\",\n  \"issuer\": \"acmepipe bench test CA\",\n", serial > f
	printf "  \"certID\": \"%s.%s\",\n  \"keyType\": \"ec-p256\",\n", aki, b64url(serial) > f
	printf "  \"stored\": \"%s\",\n  \"failCount\": 0\n}\n", t(nb) > f
	close(f)
	k++
}
END { if (k != 0 + n) exit 1 }') || {
	echo "$prog: metadata: not $n records" >&2
	exit 1
}

# The check: the first name through certstore-put, into a scratch store.
name=host0000001.zone001.example.com
chk=$dir/check
mkdir -p "$chk"
awk '/-----BEGIN PRIVATE KEY-----/ { k = 1 } k' "$store/certs/$name.pem" >"$chk/key.pem"
chmod 600 "$chk/key.pem"
# shellcheck disable=SC2016 # jq's own variables
if ! jq -cn --rawfile chain <(sed '/-----BEGIN PRIVATE KEY-----/,$d' "$store/certs/$name.pem") \
	--arg name "$name" --arg key "$chk/key.pem" \
	'{version: 1, identifiers: [$name], certificate: {pem: $chain},
	  key: {path: $key, type: "ec-p256"}}' |
	"$repo/bin/certstore-put" -s "$chk/store" >"$chk/out.json" 2>"$chk/err"; then
	echo "$prog: check: certstore-put failed: $(cat "$chk/err")" >&2
	exit 1
fi
if ! cmp -s "$store/certs/$name.pem" "$chk/store/certs/$name.pem" ||
	! diff <(grep -v '"stored"' "$store/meta/$name.json") \
		<(grep -v '"stored"' "$chk/store/meta/$name.json") >"$chk/diff"; then
	echo "$prog: check: not what certstore-put writes:" >&2
	cat "$chk/diff" >&2
	exit 1
fi
rm -rf "$chk" "$dir/rec" "$dir/tmp"
now=$(date -u -d "@$((t0 + 45 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
echo "format=$FORMAT n=$n t0=$t0 now=$now" >"$dir/stamp"
echo "$prog: done in $(($(date +%s) - t0)) s" >&2
echo "$dir"
