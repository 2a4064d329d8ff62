# shellcheck shell=bash
#
# tests/helpers/pebble.bash: Pebble (the test ACME server) and
# pebble-challtestsrv (its mock DNS), both on 127.0.0.1 at free ports.
# Sourced by common.bash.
#
# pebble_start [VAR=VALUE...]   start both; VARs go to pebble's environment
# pebble_stop                   stop both (safe when already dead)
# pebble_restart [VAR=VALUE...] restart pebble only, same ports; Pebble
#                               forgets accounts, orders and its CA
# pebble_root                   print Pebble's current root CA (PEM)
# challtest_add_a NAME IP...    answer A queries for NAME with IP...
# challtest_clear_a NAME        back to the default answer (127.0.0.1)
# challtest_resolve_a NAME      print the A records challtestsrv answers
# challtest_set_cname NAME TARGET  answer NAME with a CNAME to TARGET
#                               (challtestsrv follows one level itself)
# challtest_servfail NAME       answer every query for NAME with SERVFAIL
# challtest_add_caa NAME TAG VALUE  a CAA record (flags 0) for NAME
# challtest_add_aaaa NAME IP...  answer AAAA queries for NAME with IP...
# challtest_default_ipv4 IP     the default A answer; '' for none
#
# PEBBLE_EAB_KEYS, when set to a JSON object {"kid": "base64url HMAC key"},
# makes Pebble require external account binding with those keys.
#
# pebble_start exports:
#   ACMEPIPE_DIRECTORY   https://127.0.0.1:PEBBLE_PORT/dir
#   ACMEPIPE_CA_BUNDLE   throwaway certificate of Pebble's listeners
#   PEBBLE_MGMT          https://127.0.0.1:PEBBLE_MGMT_PORT (same CA bundle)
#   CHALLTESTSRV_MGMT    http://127.0.0.1:CHALLTESTSRV_MGMT_PORT
#   HTTP01_PORT          where Pebble's VA fetches http-01 tokens (nginx)
#   PEBBLE_PORT PEBBLE_MGMT_PORT CHALLTESTSRV_MGMT_PORT CHALLTESTSRV_DNS_PORT
#   TLSALPN01_PORT       Pebble's tls-alpn-01 port; nothing listens there
#
# Every name resolves to 127.0.0.1 (challtestsrv's default A answer, no
# AAAA), so Pebble validates http-01 against nginx on HTTP01_PORT.

# Pebble's own defaults reject 5% of good nonces and reuse 50% of valid
# authorizations at random; tests must not depend on luck, so both are off
# unless a test asks for them (pebble_start PEBBLE_WFE_NONCEREJECT=50).
PEBBLE_DEFAULT_ENV=(PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0)

pebble_start() {
	local dir=$TEST_TMP/pebble attempt rc
	local -a ports
	mkdir -p "$dir"
	# Kept in a file: pebble_restart may run in a test process, which
	# does not see variables set in setup_file's process (only exports).
	: >"$dir/extra.env"
	if (($#)); then
		printf '%s\n' "$@" >"$dir/extra.env"
	fi
	_pebble_cert "$dir" || return 1
	for attempt in 1 2 3; do
		mapfile -t ports < <(free_ports 6)
		((${#ports[@]} == 6)) || return 1
		export PEBBLE_PORT=${ports[0]} PEBBLE_MGMT_PORT=${ports[1]} \
			CHALLTESTSRV_DNS_PORT=${ports[2]} CHALLTESTSRV_MGMT_PORT=${ports[3]} \
			HTTP01_PORT=${ports[4]} TLSALPN01_PORT=${ports[5]}
		rc=0
		_challtestsrv_launch "$dir" && _pebble_launch "$dir" || rc=$?
		((rc == 0)) && break
		pebble_stop
		# rc 2: a server died at once, most likely a lost port race.
		if ((rc != 2 || attempt == 3)); then
			echo "pebble_start: servers did not come up (attempt $attempt)" >&2
			log_tail "$dir/challtestsrv.log" "$dir/pebble.log" >&2
			return 1
		fi
		mv "$dir/pebble.log" "$dir/pebble.log.$attempt" 2>/dev/null || true
		mv "$dir/challtestsrv.log" "$dir/challtestsrv.log.$attempt" 2>/dev/null || true
	done
	export ACMEPIPE_DIRECTORY=https://127.0.0.1:$PEBBLE_PORT/dir
	export ACMEPIPE_CA_BUNDLE=$dir/cert.pem
	export PEBBLE_MGMT=https://127.0.0.1:$PEBBLE_MGMT_PORT
	export CHALLTESTSRV_MGMT=http://127.0.0.1:$CHALLTESTSRV_MGMT_PORT
}

pebble_stop() {
	local dir=$TEST_TMP/pebble
	proc_stop "$dir/pebble.pid" pebble
	proc_stop "$dir/challtestsrv.pid" pebble-challtestsrv
}

# pebble_restart [VAR=VALUE...]: with no arguments pebble gets the
# environment of the last start or restart; with arguments, those instead
# (on top of PEBBLE_DEFAULT_ENV, so `pebble_restart PEBBLE_WFE_NONCEREJECT=0`
# is back to the defaults).
# Pebble comes back with a new root CA and no accounts, so a client's
# account URL is unknown to it afterwards.
pebble_restart() {
	local dir=$TEST_TMP/pebble rc=0
	if (($#)); then
		printf '%s\n' "$@" >"$dir/extra.env"
	fi
	proc_stop "$dir/pebble.pid" pebble || return 1
	_pebble_launch "$dir" || rc=$?
	if ((rc != 0)); then
		echo "pebble_restart: pebble did not come back" >&2
		log_tail "$dir/pebble.log" >&2
		return 1
	fi
}

# pebble_root: the PEM of Pebble's root CA, to verify issued chains. The
# root is made at start-up: fetch it again after pebble_restart.
pebble_root() {
	curl -sS --fail --max-time 10 --cacert "$ACMEPIPE_CA_BUNDLE" \
		"$PEBBLE_MGMT/roots/0"
}

# challtest_add_a NAME IP...: challtestsrv answers A queries for NAME with
# the IPs, e.g. 127.0.0.2 where nothing listens so http-01 fails.
challtest_add_a() { _challtest_addresses /add-a "$@"; }
challtest_add_aaaa() { _challtest_addresses /add-aaaa "$@"; }

# _challtest_addresses PATH NAME IP...: NAME's addresses, through PATH.
_challtest_addresses() {
	local path=$1 name=${2%.}.
	shift 2
	jq -nc --arg host "$name" '{host: $host, addresses: $ARGS.positional}' \
		--args "$@" | _challtest_post "$path"
}

# challtest_clear_a NAME: forget NAME's A records (default answer again).
challtest_clear_a() {
	jq -nc --arg host "${1%.}." '{host: $host}' | _challtest_post /clear-a
}

challtest_set_cname() {
	jq -nc --arg host "${1%.}." --arg target "${2%.}." \
		'{host: $host, target: $target}' | _challtest_post /set-cname
}

challtest_default_ipv4() {
	jq -nc --arg ip "$1" '{ip: $ip}' | _challtest_post /set-default-ipv4
}

challtest_servfail() {
	jq -nc --arg host "${1%.}." '{host: $host}' | _challtest_post /set-servfail
}

challtest_add_caa() {
	jq -nc --arg host "${1%.}." --arg tag "$2" --arg value "$3" \
		'{host: $host, policies: [{tag: $tag, value: $value}]}' |
		_challtest_post /add-caa
}

# challtest_resolve_a NAME: prints, one a line, the IPv4 addresses
# challtestsrv answers for NAME; fails when there is none. A DNS query over
# TCP written in bash, because no DNS client (dig) is installed.
challtest_resolve_a() {
	local name=${1%.} label hex='' fd len i n an rdlen type
	local -a r labels
	# Header: ID 0x4150, flags RD, one question; then QNAME, QTYPE A, IN.
	hex+='\x41\x50\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00'
	len=12
	IFS=. read -ra labels <<<"$name"
	for label in "${labels[@]}"; do
		hex+=$(printf '\\x%02x' "${#label}")
		for ((i = 0; i < ${#label}; i++)); do
			hex+=$(printf '\\x%02x' "'${label:i:1}")
		done
		len=$((len + 1 + ${#label}))
	done
	hex+='\x00\x00\x01\x00\x01'
	len=$((len + 5))
	exec {fd}<>"/dev/tcp/127.0.0.1/$CHALLTESTSRV_DNS_PORT" || return 1
	# DNS over TCP: a two-byte length, then the message.
	# shellcheck disable=SC2059 # hex holds the escapes on purpose
	printf "$(printf '\\x%02x\\x%02x' $((len >> 8)) $((len & 255)))$hex" >&"$fd"
	read -ra r < <(timeout 5 dd bs=2 count=1 iflag=fullblock status=none <&"$fd" | od -An -tu1)
	if ((${#r[@]} != 2)); then
		exec {fd}>&-
		echo "challtest_resolve_a: no answer from 127.0.0.1:$CHALLTESTSRV_DNS_PORT" >&2
		return 1
	fi
	len=$((r[0] * 256 + r[1]))
	mapfile -t r < <(timeout 5 dd bs="$len" count=1 iflag=fullblock status=none <&"$fd" |
		od -An -tu1 -v | tr -s ' ' '\n' | sed '/^$/d')
	exec {fd}>&-
	((${#r[@]} == len)) || return 1
	an=$((r[6] * 256 + r[7]))
	i=12
	_dns_skip_name && i=$((i + 4)) # QTYPE, QCLASS
	n=0
	while ((an-- > 0 && i < len)); do
		_dns_skip_name
		type=$((r[i] * 256 + r[i + 1]))
		rdlen=$((r[i + 8] * 256 + r[i + 9]))
		i=$((i + 10))
		if ((type == 1 && rdlen == 4)); then
			echo "${r[i]}.${r[i + 1]}.${r[i + 2]}.${r[i + 3]}"
			n=$((n + 1))
		fi
		i=$((i + rdlen))
	done
	((n > 0))
}

# _dns_skip_name: advances i (caller's) past the name at r[i]: labels up to
# a zero byte, or up to a two-byte compression pointer (top bits 11).
_dns_skip_name() {
	while ((i < ${#r[@]})); do
		if ((r[i] == 0)); then
			i=$((i + 1))
			return 0
		elif ((r[i] >= 192)); then
			i=$((i + 2))
			return 0
		fi
		i=$((i + r[i] + 1))
	done
}

_challtest_post() {
	curl -sS --fail --max-time 10 -H 'Content-Type: application/json' \
		--data-binary @- "$CHALLTESTSRV_MGMT$1"
}

# _pebble_cert DIR: throwaway key and self-signed certificate for Pebble's
# listeners (localhost and 127.0.0.1), also the clients' CA bundle.
_pebble_cert() {
	[[ -s $1/cert.pem && -s $1/key.pem ]] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 7 -subj /CN=localhost \
		-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
		-keyout "$1/key.pem" -out "$1/cert.pem" >"$1/openssl.out" 2>&1 || {
		echo "pebble_start: cannot make the listener certificate" >&2
		cat "$1/openssl.out" >&2
		return 1
	}
}

# Returns 0 when up, 2 when it died at once, 1 on timeout (wait_until).
_challtestsrv_launch() {
	local dir=$1
	# Empty addresses disable challtestsrv's own challenge servers: nginx
	# serves http-01, and they would only take more ports.
	proc_start "$dir/challtestsrv.pid" "$dir/challtestsrv.log" \
		pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 '' \
		-dns01 "127.0.0.1:$CHALLTESTSRV_DNS_PORT" \
		-http01 '' -https01 '' -tlsalpn01 '' \
		-management "127.0.0.1:$CHALLTESTSRV_MGMT_PORT"
	# Any HTTP status means the management server (started last) is up.
	wait_until 100 "$(<"$dir/challtestsrv.pid")" \
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$CHALLTESTSRV_MGMT_PORT/"
}

_pebble_launch() {
	local dir=$1
	local -a extra
	# Blank lines would become an empty command name for env.
	mapfile -t extra < <(grep -v '^$' "$dir/extra.env")
	jq -n --arg dir "$dir" \
		--argjson port "$PEBBLE_PORT" --argjson mgmt "$PEBBLE_MGMT_PORT" \
		--argjson http "$HTTP01_PORT" --argjson tls "$TLSALPN01_PORT" \
		--argjson eab "${PEBBLE_EAB_KEYS:-null}" '
		{pebble: {
			listenAddress: "127.0.0.1:\($port)",
			managementListenAddress: "127.0.0.1:\($mgmt)",
			certificate: "\($dir)/cert.pem",
			privateKey: "\($dir)/key.pem",
			httpPort: $http,
			tlsPort: $tls,
			ocspResponderURL: "",
			externalAccountBindingRequired: ($eab != null),
			externalAccountMACKeys: ($eab // {})
		}}' >"$dir/pebble.json" || return 1
	# env: later assignments win, so the extra ones override the defaults.
	proc_start "$dir/pebble.pid" "$dir/pebble.log" \
		env "${PEBBLE_DEFAULT_ENV[@]}" "${extra[@]}" \
		pebble -config "$dir/pebble.json" \
		-dnsserver "127.0.0.1:$CHALLTESTSRV_DNS_PORT"
	wait_until 100 "$(<"$dir/pebble.pid")" \
		curl -sf -o /dev/null --max-time 1 --cacert "$dir/cert.pem" \
		"https://127.0.0.1:$PEBBLE_PORT/dir"
}
