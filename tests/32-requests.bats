#!/usr/bin/env bats
# shellcheck disable=SC2016 # $vars in single quotes are jq's or bash -c's
# shellcheck disable=SC2154 # stderr: set by run_split
#
# Requests (issue 7): what one certificate costs the CA, counted in
# Pebble's own log, where every request it serves is one line
# "METHOD /path -> calling handler()". No request the protocol does not
# need: the directory and an unused nonce travel in the document from one
# step to the next ("session"), so only the first step fetches them; a
# stale nonce costs one badNonce retry, never a failure; a session that is
# old or points away from the CA is not used; and commands with nothing
# to ask the CA ask nothing.
#
# The protocol minimum for one name, with the account known: directory,
# newNonce, newOrder, the authorization, the challenge response, one poll
# of the authorization, finalize, one poll of the order (Pebble issues
# asynchronously), the certificate: 9.

load helpers/common

setup_file() {
	pebble_start
	export WEBROOT=$TEST_TMP/www STORE=$TEST_TMP/store
	export ACMEPIPE_ACCOUNT_KEY=$TEST_TMP/account.key ACMEPIPE_AGREE_TOS=1
	mkdir -p "$WEBROOT"
	nginx_start "$WEBROOT" "$STORE"
	# The account is registered here, outside every count.
	acme-issue -w "$WEBROOT" -s "$STORE" warm.example.com >/dev/null ||
		fail "warm-up issuance failed"
}

setup() {
	T=$BATS_TEST_TMPDIR
	command -v acme-finalize >/dev/null || fail "build first: make"
}

doc() {
	jq -cn '{version: 1, identifiers: $ARGS.positional}' --args "$@"
}

# mark: remembers where Pebble's log ends; requests prints, one a line,
# "METHOD /path" of every request Pebble served since.
mark() {
	MARK=$(wc -l <"$TEST_TMP/pebble/pebble.log")
}
requests() {
	tail -n +"$((MARK + 1))" "$TEST_TMP/pebble/pebble.log" |
		sed -n 's/^Pebble [0-9/]* [0-9:]* \([A-Z]*\) \([^ ]*\) -> calling handler()$/\1 \2/p'
}
# count PATTERN: how many of those requests match the grep pattern.
count() {
	requests | grep -c -- "$1" || true
}

@test "one certificate: 9 to 11 requests, the directory and a nonce fetched once for the whole pipeline" {
	mark
	run_split -0 acme-issue -w "$WEBROOT" -s "$STORE" one.example.com
	assert_json "$OUTPUT_FILE" '.error == null and .stored.names == ["one.example.com"]'
	requests >"$T/requests"
	assert_equal "$(count '^GET /dir$')" 1 "directory fetches" "$(cat "$T/requests")"
	assert_equal "$(count '^HEAD /nonce-plz$')" 1 "newNonce requests" "$(cat "$T/requests")"
	n=$(wc -l <"$T/requests")
	((n >= 9 && n <= 11)) || fail "$n requests for one certificate, want 9 to 11 (the minimum plus two)" "$(cat "$T/requests")"
}

@test "each step leaves the directory and an unused nonce for the next, which asks for neither" {
	mark
	acme-order <<<"$(doc pass.example.com)" >"$T/ordered"
	assert_json "$T/ordered" '(.session.directory.newOrder | type) == "string"
		and (.session.nonce | length) > 0
		and (.session.time | test("^[0-9-]+T[0-9:]+Z$"))'
	assert_equal "$(count '^GET /dir$')" 1 "acme-order's directory fetches"
	mark
	run_split -0 acme-challenge -w "$WEBROOT" <"$T/ordered"
	cp "$OUTPUT_FILE" "$T/ready"
	assert_equal "$(count '^GET /dir$\|^HEAD /nonce-plz$')" 0 \
		"acme-challenge's directory and nonce requests" "$(requests)"
	# The nonce it leaves is a new one: each is good for one request.
	assert_json "$T/ready" '.order.status == "ready" and .session.nonce != $n
		and (.session.nonce | length) > 0' --arg n "$(jq -r .session.nonce "$T/ordered")"
	mark
	run_split -0 acme-finalize -s "$STORE" <"$T/ready"
	assert_equal "$(count '^GET /dir$\|^HEAD /nonce-plz$')" 0 \
		"acme-finalize's directory and nonce requests" "$(requests)"
	# The ready order is finalized without being read again first.
	assert_equal "$(requests | head -n 1)" "POST /finalize-order/" "first request"
	assert_json "$OUTPUT_FILE" '.error == null and (.certificate.pem | length) > 0'
}

@test "a used or unknown nonce in the document costs one badNonce retry, never a failure" {
	acme-order <<<"$(doc used-a.example.com)" >"$T/a"
	acme-challenge -w "$WEBROOT" <"$T/a" >/dev/null
	used=$(jq -r .session.nonce "$T/a") # spent by that acme-challenge
	for n in used-b unknown; do
		acme-order <<<"$(doc "$n.example.com")" >"$T/ordered"
		if [[ $n == used-b ]]; then
			nonce=$used
		else
			nonce=bm90LWEtbm9uY2U
		fi
		jq -c --arg n "$nonce" '.session.nonce = $n' "$T/ordered" >"$T/in"
		mark
		run_split -0 acme-challenge -v -w "$WEBROOT" <"$T/in"
		assert_json "$OUTPUT_FILE" '.error == null and .order.status == "ready"'
		assert_equal "$(count '^HEAD /nonce-plz$\|^GET /dir$')" 0 "nonce and directory requests"
		# The first request was refused (badNonce) and sent again
		# with the nonce of the refusal.
		chal=$(jq -r '.authorizations[0].challenges[] | select(.type == "http-01") | .url' "$T/in")
		assert_equal "$(grep -c "^acme-challenge: POST $chal 400 " <<<"$stderr")" 1 \
			"refused challenge responses" "$stderr"
		# Then the response again and at least one poll, of the
		# challenge, never of the authorization (Pebble 2.4 locks an
		# authorization it serves across a read of its store).
		[ "$(count '^POST /chalZ/')" -ge 3 ] ||
			fail "challenge requests: want the refused one, the response and a poll" "$(requests)"
		assert_equal "$(count '^POST /authZ/')" 0 "authorization requests" "$(requests)"
	done
}

@test "a session that is old, or whose directory points away from the CA, is not used" {
	acme-order <<<"$(doc old.example.com)" >"$T/ordered"
	jq -c '.session.time = "2000-01-01T00:00:00Z"' "$T/ordered" >"$T/old"
	mark
	run_split -0 acme-challenge -w "$WEBROOT" <"$T/old"
	assert_equal "$(count '^GET /dir$')" 1 "directory fetches for an old session"
	assert_json "$OUTPUT_FILE" '.error == null'

	acme-order <<<"$(doc away.example.com)" >"$T/ordered"
	jq -c '.session.directory |= map_values(if type == "string"
		then "https://127.0.0.2:1/elsewhere" else . end)' "$T/ordered" >"$T/away"
	mark
	run_split -0 acme-challenge -w "$WEBROOT" <"$T/away"
	assert_equal "$(count '^GET /dir$')" 1 "directory fetches for a directory elsewhere"
	assert_json "$OUTPUT_FILE" '.error == null
		and (.session.directory.newOrder | startswith($d | sub("/dir$"; "/")))' \
		--arg d "$ACMEPIPE_DIRECTORY"

	# A session of a document made for another CA is refused with it.
	jq -c '.directory = "https://127.0.0.1:1/dir"' "$T/ordered" >"$T/other"
	mark
	run_split -1 acme-challenge -w "$WEBROOT" <"$T/other"
	assert_json "$OUTPUT_FILE" '.error.type == "urn:acmepipe:error:input"'
	assert_equal "$(requests | wc -l)" 0 "requests for another CA's document"
}

@test "commands with nothing to ask the CA ask nothing" {
	acme-issue -w "$WEBROOT" -s "$STORE" quiet.example.com >"$T/issued" ||
		fail "issuance failed"
	certstore -s "$T/store" add later.example.com
	mark
	# An empty stream: no directory, no account, no request.
	for c in "acme-order" "acme-challenge -w $WEBROOT" \
		"acme-finalize -s $STORE" "certstore-put -s $STORE"; do
		# shellcheck disable=SC2086 # the command and its options
		run_split -0 $c </dev/null
		assert_output ''
	done
	# certstore-put stores an issued document again without the CA.
	run_split -0 certstore-put -s "$STORE" <"$T/issued"
	assert_json "$OUTPUT_FILE" '.error == null'
	# cert-expiring with the CA configured (ACMEPIPE_DIRECTORY): no
	# certificate to ask renewal information about, so no directory.
	run_split -0 cert-expiring -s "$T/store"
	assert_json "$OUTPUT_FILE" '.identifiers == ["later.example.com"]'
	# ... and with renewal information turned off, over issued ones.
	run_split -0 cert-expiring -A -s "$STORE"
	assert_equal "$(requests | wc -l)" 0 "requests" "$(requests)"
}

@test "acme-challenge asks for the challenge only: a pending order with every authorization valid is recorded ready; another is read" {
	acme-order <<<"$(doc asks.example.com)" >"$T/ordered"
	mark
	run_split -0 acme-challenge -w "$WEBROOT" <"$T/ordered"
	assert_json "$OUTPUT_FILE" '.error == null and .order.status == "ready"
		and .authorizations[0].status == "valid"'
	# The challenge response and its polls, nothing else.
	requests >"$T/requests"
	assert_equal "$(grep -vc '^POST /chalZ/' "$T/requests")" 0 "other requests" "$(cat "$T/requests")"
	[ "$(wc -l <"$T/requests")" -ge 2 ] || fail "no poll" "$(cat "$T/requests")"
	# Finalized meanwhile: an order that is not pending is read again.
	acme-finalize -s "$STORE" <"$OUTPUT_FILE" >"$T/done"
	assert_json "$T/done" '.order.status == "valid"'
	mark
	run_split -0 acme-challenge -w "$WEBROOT" <"$T/done"
	assert_json "$OUTPUT_FILE" '.error == null and .order.status == "valid"'
	assert_equal "$(requests | sed 's|/[^/]*$|/|')" "POST /my-order/" "requests for a valid order"
}

@test "an order the document calls ready but the CA has finalized: refused, read again, the certificate downloaded" {
	acme-order <<<"$(doc late.example.com)" | acme-challenge -w "$WEBROOT" >"$T/ready"
	assert_json "$T/ready" '.order.status == "ready"'
	acme-finalize -s "$STORE" <"$T/ready" >"$T/done"
	assert_json "$T/done" '.error == null and .order.status == "valid"'
	# The same document again, as if that run's output were lost: it
	# still says ready, and its key is there (certstore-put never ran).
	jq -c '.order.status = "ready" | del(.certificate, .session)' "$T/done" >"$T/stale"
	mark
	run_split -0 acme-finalize -v -s "$STORE" <"$T/stale"
	assert_json "$OUTPUT_FILE" '.error == null and .order.status == "valid"
		and .certificate.serial == $s' --arg s "$(jq -r .certificate.serial "$T/done")"
	# Finalize refused (orderNotReady), the order read, the certificate.
	assert_equal "$(requests | grep -v '^GET /dir$\|^HEAD /nonce-plz$' | sed 's|/[^/]*$|/|')" \
		"$(printf '%s\n' 'POST /finalize-order/' 'POST /my-order/' 'POST /certZ/')" "requests"
	assert_contains "$stderr" "POST $(jq -r .order.finalize "$T/stale") 403 "
}
