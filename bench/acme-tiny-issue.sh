#!/bin/sh
# bench/acme-tiny-issue.sh URL WEBROOT DIR NAME: one certificate for NAME
# with acme-tiny, the way its README scripts it: a new EC P-256 key and CSR
# (openssl req), then acme-tiny with the account key DIR/account.key (RSA:
# acme-tiny signs RS256 only) against the ACME directory URL, writing the
# http-01 token into WEBROOT/.well-known/acme-challenge. Leaves DIR/NAME.key
# and the chain DIR/NAME.pem (renamed into place once complete). acme-tiny
# trusts what Python's ssl trusts: the caller sets SSL_CERT_FILE.
set -eu
if [ $# -ne 4 ]; then
	echo "usage: bench/acme-tiny-issue.sh URL WEBROOT DIR NAME" >&2
	exit 2
fi
url=$1 webroot=$2 dir=$3 name=$4
umask 077
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj "/CN=$name" -addext "subjectAltName=DNS:$name" \
	-keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
# --disable-check: acme-tiny's own pre-check fetches http://NAME/ through
# the system resolver, which knows nothing of challtestsrv's names.
acme-tiny --quiet --disable-check --account-key "$dir/account.key" \
	--csr "$dir/$name.csr" --acme-dir "$webroot/.well-known/acme-challenge" \
	--directory-url "$url" >"$dir/$name.pem.tmp"
mv "$dir/$name.pem.tmp" "$dir/$name.pem"
