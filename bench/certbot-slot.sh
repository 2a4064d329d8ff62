#!/bin/sh
# bench/certbot-slot.sh URL WEBROOT DIR NAME: one certificate for NAME with
# certbot (webroot, EC P-256 key), in the directories of parallel slot
# $SLOT (GNU xargs --process-slot-var=SLOT; 0 when unset): DIR/slotN/conf,
# work and logs. certbot locks its directories, so each of the parallel
# runs needs its own; bench/issue.sh registers one account per slot. The
# caller sets REQUESTS_CA_BUNDLE to Pebble's certificate.
set -u
if [ $# -ne 4 ]; then
	echo "usage: bench/certbot-slot.sh URL WEBROOT DIR NAME" >&2
	exit 2
fi
d=$3/slot${SLOT:-0}
exec certbot certonly --quiet --config-dir "$d/conf" --work-dir "$d/work" \
	--logs-dir "$d/logs" --server "$1" --non-interactive --agree-tos \
	--key-type ecdsa --elliptic-curve secp256r1 --webroot -w "$2" -d "$4"
