#!/bin/sh
# bench/uacme-hook.sh METHOD TYPE IDENT TOKEN AUTH: uacme's challenge hook
# for the benchmark. Accepts http-01 only: on begin, writes AUTH to
# $BENCH_WEBROOT/.well-known/acme-challenge/TOKEN (what nginx serves);
# on done or failed, removes it. Declines every other type (exit 1).
set -u
[ $# -eq 5 ] || exit 85
method=$1 type=$2 token=$4 auth=$5
[ "$type" = http-01 ] || exit 1
dir=${BENCH_WEBROOT:?}/.well-known/acme-challenge
case $token in
*/* | .* | '') exit 1 ;;
esac
case $method in
begin)
	mkdir -p "$dir" && printf '%s' "$auth" >"$dir/$token"
	;;
done | failed)
	rm -f "$dir/$token"
	;;
*)
	exit 1
	;;
esac
