#!/bin/sh
# bench/ca-bind.sh BUNDLE COMMAND [ARG...]: runs COMMAND trusting BUNDLE as
# the system CA bundle. For a client with no CA option: uacme, built on
# libcurl-gnutls, trusts only /etc/ssl/certs/ca-certificates.crt. BUNDLE is
# bind-mounted over that file in a private mount namespace (unshare -m), so
# no process outside COMMAND's tree ever sees it. Needs root (CAP_SYS_ADMIN).
set -u
if [ $# -lt 2 ]; then
	echo "usage: bench/ca-bind.sh BUNDLE COMMAND [ARG...]" >&2
	exit 2
fi
if [ "${BENCH_CA_BIND_INNER:-}" != 1 ]; then
	BENCH_CA_BIND_INNER=1 exec unshare -m --propagation private -- "$0" "$@"
fi
unset BENCH_CA_BIND_INNER
mount --bind "$1" /etc/ssl/certs/ca-certificates.crt || exit 2
shift
exec "$@"
