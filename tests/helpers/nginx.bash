# shellcheck shell=bash
#
# tests/helpers/nginx.bash: Debian's nginx as the http-01 responder and as
# the TLS server that serves what certstore-put stored. Sourced by
# common.bash. Configuration: tests/helpers/nginx.conf.in.
#
# nginx_start WEBROOT STOREDIR  serve WEBROOT/.well-known/acme-challenge/TOKEN
#                               (what acme-challenge -w WEBROOT writes) on
#                               http://127.0.0.1:$HTTP01_PORT
#                               and, on 127.0.0.1:$NGINX_TLS_PORT, the
#                               certificate STOREDIR/certs/SNI.pem
# nginx_stop                    stop it (safe when already dead)
# nginx_stamp                   the PID of the running nginx and its start
#                               time: equal only for the same process
# served_cert NAME              PEM of the leaf served for SNI NAME
# served_serial NAME            its serial, hex as openssl prints it
#                               (NAME '' for a client that sends no SNI,
#                               as for served_cert and served_chain)
# served_chain NAME             PEM of every certificate served for NAME
# served_verify NAME ROOTPEM    succeeds when the served chain verifies up
#                               to ROOTPEM (e.g. from pebble_root) for NAME
#
# nginx_start exports NGINX_TLS_PORT, and HTTP01_PORT when pebble_start has
# not chosen it already. With NGINX_INSTANCE=X set, each of these is a
# second nginx (its own directory and ports, HTTP01_PORT left alone), a
# front end of its own; set NGINX_TLS_PORT to its port for served_*. Neither directory needs to exist yet; neither path
# may hold white space or any of ;"'{}$\&|#.
#
# The servers are those of scripts/nginx-acmepipe.conf, the configuration
# users are given (_nginx_site), inside the frame tests/helpers/nginx.conf.in.
# With NGINX_SITE=nginx-acmepipe-lua.conf (a file in scripts/, or a path;
# a name ending in -lua.conf) they are those of that file, with
# Debian's Lua module loaded and acmepipe's Lua module taken from
# scripts/lua; NGINX_LUA_SET="fresh=1 cache_size=3" then changes the values
# of its init options (each must be there). NGINX_LOG_LEVEL (default info)
# is the error log's level.

nginx_start() {
	local dir=$TEST_TMP/nginx${NGINX_INSTANCE:+-$NGINX_INSTANCE} webroot store conf site user='' modules='' rc=0
	local -a ports
	if (($# != 2)); then
		echo "usage: nginx_start WEBROOT STOREDIR" >&2
		return 2
	fi
	# Absolute, because nginx resolves relative paths against its prefix.
	webroot=$(realpath -m -- "$1") && store=$(realpath -m -- "$2") || return 1
	mkdir -p "$dir/tmp"
	mapfile -t ports < <(free_ports 2)
	((${#ports[@]} == 2)) || return 1
	if [[ -n ${NGINX_INSTANCE:-} ]]; then
		local HTTP01_PORT=${ports[0]}
	else
		export HTTP01_PORT=${HTTP01_PORT:-${ports[0]}}
	fi
	export NGINX_TLS_PORT=${ports[1]}
	# As root: single-process nginx keeps running as root anyway, but
	# without this it hands its temp directories to nobody.
	if ((EUID == 0)); then
		user='user root;'
	fi
	site=$(_nginx_site "$webroot" "$store") || return 1
	if [[ ${NGINX_SITE:-nginx-acmepipe.conf} == *-lua.conf ]]; then
		modules="load_module /usr/share/nginx/modules/ndk_http_module.so;
load_module /usr/share/nginx/modules/ngx_http_lua_module.so;"
	fi
	conf=$(<"$HARNESS_DIR/nginx.conf.in")
	# Quoted replacements: bash 5.2 would expand & in them otherwise.
	conf=${conf//@USER@/"$user"}
	conf=${conf//@MODULES@/"$modules"}
	conf=${conf//@LOGLEVEL@/"${NGINX_LOG_LEVEL:-info}"}
	conf=${conf//@DIR@/"$dir"}
	conf=${conf//@SITE@/"$site"}
	printf '%s\n' "$conf" >"$dir/nginx.conf"
	# -e: the compiled-in error log is checked before the config is read.
	proc_start "$dir/harness.pid" "$dir/nginx.log" \
		nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf"
	wait_until 100 "$(<"$dir/harness.pid")" _nginx_listening || rc=$?
	if ((rc != 0)); then
		echo "nginx_start: nginx is not listening on 127.0.0.1:$HTTP01_PORT and :$NGINX_TLS_PORT" >&2
		log_tail "$dir/nginx.log" "$dir/error.log" >&2
		nginx_stop
		return 1
	fi
}

# _nginx_site WEBROOT STORE: scripts/nginx-acmepipe.conf made to run here:
# "listen 80" and "listen 443" become 127.0.0.1 and HTTP01_PORT or
# NGINX_TLS_PORT, IPv6 listens are dropped (a test host may have no IPv6)
# or with NGINX_IPV6=1 become [::1] and the same ports,
# /var/www/html becomes WEBROOT and /var/lib/acmepipe/store STORE. Fails
# when a directive names another system path or keeps a port, so a change
# to the user's file cannot make the tests bind port 80 or write /var/log.
_nginx_site() {
	local webroot=$1 store=$2 site left file=${NGINX_SITE:-nginx-acmepipe.conf} kv
	local lua=$REPO_ROOT/scripts/lua
	[[ $file == /* ]] || file=$REPO_ROOT/scripts/$file
	local bad='[[:space:];"'\''{}$\\&|#]'
	if [[ $webroot =~ $bad || $store =~ $bad ]]; then
		echo "nginx_start: a path unfit for nginx.conf: $webroot, $store" >&2
		return 1
	fi
	local v6='/^[[:space:]]*listen[[:space:]]+\[::\]/d'
	if [[ -n ${NGINX_IPV6:-} ]]; then
		v6="s/^([[:space:]]*listen[[:space:]]+)\\[::\\]:80([[:space:];])/\\1[::1]:$HTTP01_PORT\\2/
s/^([[:space:]]*listen[[:space:]]+)\\[::\\]:443([[:space:];])/\\1[::1]:$NGINX_TLS_PORT\\2/"
	fi
	site=$(sed -E \
		-e "$v6" \
		-e "s/^([[:space:]]*listen[[:space:]]+)80([[:space:];])/\\1127.0.0.1:$HTTP01_PORT\\2/" \
		-e "s/^([[:space:]]*listen[[:space:]]+)443([[:space:];])/\\1127.0.0.1:$NGINX_TLS_PORT\\2/" \
		"$file") || return 1
	for kv in ${NGINX_LUA_SET:-}; do
		grep -Eq "^[[:space:]]+${kv%%=*} = " <<<"$site" ||
			{ echo "nginx_start: $file has no option ${kv%%=*}" >&2 && return 1; }
		site=$(sed -E "s/^([[:space:]]+${kv%%=*} = )[^,]*,/\\1${kv#*=},/" <<<"$site") || return 1
	done
	left=$(sed -e 's/#.*//' -e 's/--.*//' -e 's,/var/lib/acmepipe/store[/"],,g' \
		-e 's,/var/www/html[;/],,g' -e 's,"/usr/share/acmepipe/lua/?.lua;;",,' <<<"$site" |
		grep -E '/(var|etc|run|usr)/|listen[[:space:]]+[^1[[:space:]]|listen[[:space:]]+\[[^:]|listen[[:space:]]+\[::\]') || true
	site=${site//\/var\/lib\/acmepipe\/store/"$store"}
	site=${site//\/var\/www\/html/"$webroot"}
	site=${site//\/usr\/share\/acmepipe\/lua/"$lua"}
	if [[ -n $left ]]; then
		printf 'nginx_start: %s: left as it was: %s\n' "$file" "$left" >&2
		return 1
	fi
	printf '%s\n' "$site"
}

nginx_stop() {
	proc_stop "$TEST_TMP/nginx${NGINX_INSTANCE:+-$NGINX_INSTANCE}/harness.pid" nginx
}

_nginx_listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$HTTP01_PORT") 2>/dev/null &&
		(exec 3<>"/dev/tcp/127.0.0.1/$NGINX_TLS_PORT") 2>/dev/null
}

# _served NAME [s_client options]: the handshake's output for SNI NAME,
# or with no SNI at all when NAME is empty.
_served() {
	local -a sni=(-servername "$1")
	[[ -n $1 ]] || sni=(-noservername)
	shift
	timeout 10 openssl s_client -connect "127.0.0.1:$NGINX_TLS_PORT" \
		"${sni[@]}" "$@" </dev/null 2>/dev/null
}

# Field 22 of /proc/PID/stat is the start time, in clock ticks.
nginx_stamp() {
	local pid stat
	pid=$(<"$TEST_TMP/nginx${NGINX_INSTANCE:+-$NGINX_INSTANCE}/harness.pid")
	read -r stat <"/proc/$pid/stat" || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split into fields on purpose
	set -- $stat
	echo "$pid ${20}"
}

served_cert() {
	_served "$1" | openssl x509 2>/dev/null
}

served_serial() {
	local pem serial
	pem=$(served_cert "$1") || return 1
	serial=$(openssl x509 -noout -serial <<<"$pem") || return 1
	echo "${serial#serial=}"
}

served_chain() {
	_served "$1" -showcerts |
		sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' |
		grep . # fails when nothing was served
}

served_verify() {
	_served "$1" -CAfile "$2" -verify_hostname "$1" -verify_return_error >/dev/null
}
