# shellcheck shell=bash
#
# tests/helpers/proxy.bash: tests/helpers/acme-proxy.py, a fault-injecting
# ACME proxy on 127.0.0.1 in front of Pebble (renewal info, profiles,
# rate limits, stalls, ...; its docstring has the details). Sourced by
# common.bash.
#
# proxy_start           start it (after pebble_start); clients then use it
# proxy_stop            stop it (safe when already dead); ACMEPIPE_DIRECTORY
#                       points at Pebble again
# proxy_fault JSON      set the fault rules (a list, or one rule); '[]' clears
# proxy_ari JSON        set the renewal info: {"default": WINDOW|null,
#                       "byCertID": {CERTID: WINDOW}}; WINDOW is
#                       {"start", "end", "retryAfter", "explanationURL"}
#                       (start, end: RFC 3339, or a number of seconds from
#                       now); `proxy_ari off` / `proxy_ari on` take
#                       renewalInfo out of the directory or put it back
# proxy_profiles JSON   profiles offered: {"name": "description", ...}; {}
# proxy_reset           no faults, renewal info or profiles; log emptied
# proxy_log             the requests seen, as JSON Lines: {time, method,
#                       path, status, payload, fault, peer (client port)}
#
# proxy_start exports:
#   PROXY_URL            https://127.0.0.1:PROXY_PORT (same CA bundle)
#   PROXY_PORT
#   PEBBLE_DIRECTORY     Pebble's own directory
#   ACMEPIPE_DIRECTORY   $PROXY_URL/dir
# Every request is also appended to $TEST_TMP/proxy/requests.jsonl.

proxy_start() {
	local dir=$TEST_TMP/proxy attempt rc
	if [[ -z ${PEBBLE_PORT:-} ]]; then
		echo "proxy_start: pebble_start first" >&2
		return 1
	fi
	mkdir -p "$dir"
	export PEBBLE_DIRECTORY=https://127.0.0.1:$PEBBLE_PORT/dir
	for attempt in 1 2 3; do
		PROXY_PORT=$(free_ports 1) || return 1
		proc_start "$dir/proxy.pid" "$dir/proxy.log" \
			"$HARNESS_DIR/acme-proxy.py" --listen "127.0.0.1:$PROXY_PORT" \
			--upstream "https://127.0.0.1:$PEBBLE_PORT" \
			--upstream-ca "$TEST_TMP/pebble/cert.pem" \
			--cert "$TEST_TMP/pebble/cert.pem" --key "$TEST_TMP/pebble/key.pem" \
			--log "$dir/requests.jsonl"
		rc=0
		wait_until 100 "$(<"$dir/proxy.pid")" curl -sf -o /dev/null --max-time 1 \
			--cacert "$TEST_TMP/pebble/cert.pem" \
			"https://127.0.0.1:$PROXY_PORT/_proxy/log" || rc=$?
		((rc == 0)) && break
		proxy_stop
		# rc 2: it died at once, most likely a lost port race.
		if ((rc != 2 || attempt == 3)); then
			echo "proxy_start: acme-proxy did not come up (attempt $attempt)" >&2
			log_tail "$dir/proxy.log" >&2
			return 1
		fi
	done
	export PROXY_PORT PROXY_URL=https://127.0.0.1:$PROXY_PORT
	export ACMEPIPE_DIRECTORY=$PROXY_URL/dir
}

proxy_stop() {
	# The script runs as "python3 .../acme-proxy.py", so that is the name.
	proc_stop "$TEST_TMP/proxy/proxy.pid" python
	if [[ -n ${PEBBLE_DIRECTORY:-} && ${ACMEPIPE_DIRECTORY:-} == "${PROXY_URL:-}/dir" ]]; then
		export ACMEPIPE_DIRECTORY=$PEBBLE_DIRECTORY
	fi
}

proxy_fault() { _proxy_post faults "${1:-[]}"; }

proxy_ari() {
	case ${1:-} in
	off) _proxy_post ari '{"enabled":false}' ;;
	on) _proxy_post ari '{"enabled":true}' ;;
	*) _proxy_post renewal-info "${1:-"{}"}" ;;
	esac
}

proxy_profiles() { _proxy_post profiles "${1:-"{}"}"; }

proxy_reset() { _proxy_post reset '{}'; }

proxy_log() {
	curl -sS --fail --max-time 10 --cacert "$ACMEPIPE_CA_BUNDLE" \
		"$PROXY_URL/_proxy/log" | jq -c '.[]'
}

# _proxy_post ENDPOINT JSON: quiet on success; the proxy's complaint on
# stderr otherwise (a bad rule, bad JSON).
_proxy_post() {
	local out
	out=$(curl -sS --fail-with-body --max-time 10 --cacert "$ACMEPIPE_CA_BUNDLE" \
		-H 'Content-Type: application/json' --data-binary "$2" \
		"$PROXY_URL/_proxy/$1" 2>&1) || {
		echo "proxy: /_proxy/$1: $out" >&2
		return 1
	}
}
