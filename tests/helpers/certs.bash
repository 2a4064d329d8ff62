# shellcheck shell=bash
#
# tests/helpers/certs.bash: certificates from a throwaway openssl CA, for
# the tests of the store and of renewal that need no ACME server, and
# jwk_thumbprint KEY (below). Sourced by common.bash.
#
# test_ca DIR DAYS           key DIR/ca.key and certificate DIR/ca.pem
# test_cert DIR P DAYS NAME...
#                            key DIR/P.key and chain DIR/P.pem (leaf, then
#                            the CA) for the names, valid DAYS days; the
#                            serial is 16 hex digits starting with 71;
#                            with TEST_CERT_AKI=1 it has an Authority Key
#                            Identifier, so an RFC 9773 CertID;
#                            TEST_CERT_KEY (default "ec -pkeyopt
#                            ec_paramgen_curve:P-256") is openssl req's
#                            -newkey and its options, TEST_CERT_CA (default
#                            ca) the CA's DIR/NAME.pem and DIR/NAME.key
# cert_put DIR STORE DAYS NAME...
#                            a certificate for the names, valid DAYS days
#                            from now (made in DIR), stored in STORE by
#                            certstore-put
# cert_failed STORE ERROR NAME...
#                            certstore-put records the error object (JSON,
#                            step acme-order and detail "test" unless it
#                            says) as a failed attempt for the names

test_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1/ca.key" -out "$1/ca.pem" -subj "/CN=Test CA" \
		-days "$2" 2>/dev/null
}

test_cert() {
	local dir=$1 p=$2 days=$3 san ca=${TEST_CERT_CA:-ca}
	local -a newkey
	read -r -a newkey <<<"${TEST_CERT_KEY:-ec -pkeyopt ec_paramgen_curve:P-256}"
	shift 3
	san=$(printf 'DNS:%s,' "$@")
	openssl req -new -newkey "${newkey[@]}" -nodes \
		-keyout "$dir/$p.key" -out "$dir/$p.csr" -subj "/CN=$1" 2>/dev/null
	openssl x509 -req -in "$dir/$p.csr" -CA "$dir/$ca.pem" -CAkey "$dir/$ca.key" \
		-set_serial "0x71$(openssl rand -hex 7)" -days "$days" \
		-extfile <(printf 'subjectAltName=%s\n' "${san%,}"
			[[ -z ${TEST_CERT_AKI:-} ]] || echo 'authorityKeyIdentifier=keyid') \
		-out "$dir/$p.crt" 2>/dev/null
	cat "$dir/$p.crt" "$dir/$ca.pem" >"$dir/$p.pem"
}

# jwk_thumbprint KEY: the base64url RFC 7638 thumbprint of an EC P-256
# key, the part of an http-01 key authorization after the dot, computed
# by openssl from the public key's coordinates (not by acmepipe).
jwk_thumbprint() {
	local raw
	raw=$(mktemp) || return 1
	# The DER public key of P-256 ends with the 64 bytes X || Y.
	openssl pkey -in "$1" -pubout -outform DER | tail -c 64 >"$raw"
	jq -cnj --arg x "$(head -c 32 "$raw" | b64url)" \
		--arg y "$(tail -c 32 "$raw" | b64url)" \
		'{crv: "P-256", kty: "EC", x: $x, y: $y}' |
		openssl dgst -sha256 -binary | b64url
	rm -f "$raw"
}
b64url() { base64 -w 0 | tr '+/' '-_' | tr -d '='; }

cert_put() {
	local dir=$1 store=$2 days=$3 p=c$RANDOM$RANDOM
	shift 3
	test_cert "$dir" "$p" "$days" "$@"
	jq -cn --rawfile pem "$dir/$p.pem" --arg k "$dir/$p.key" \
		'{version: 1, identifiers: $ARGS.positional,
		  key: {path: $k, type: "ec-p256"}, certificate: {pem: $pem}}' \
		--args "$@" | certstore-put -s "$store" >/dev/null
}

cert_failed() {
	local store=$1 e=$2
	shift 2
	jq -cn --argjson e "$e" '{version: 1, identifiers: $ARGS.positional,
		error: ({step: "acme-order", detail: "test"} + $e)}' --args "$@" |
		certstore-put -s "$store" >/dev/null || (($? == 1))
}
