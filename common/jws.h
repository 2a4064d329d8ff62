/*
 * jws: JSON Web Signatures for ACME (RFC 7515, RFC 8555 section 6.2):
 * ES256 for P-256 keys, ES384 for P-384, RS256 for RSA keys.
 */
#ifndef JWS_H
#define JWS_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

/* base64url without padding; new string or NULL. */
char *jws_b64url(const unsigned char *data, size_t len);

/* The public JWK of k as a new object (members in RFC 7638 order), or NULL. */
json_t *jws_jwk(EVP_PKEY *k);

/* RFC 7638 thumbprint of k, base64url; new string or NULL. */
char *jws_thumbprint(EVP_PKEY *k);

/* "ES256", "ES384" or "RS256" for k; NULL for other keys. Static string. */
const char *jws_alg(EVP_PKEY *k);

/*
 * Signs payload (a string: "" for POST-as-GET) with protected header
 * hdr (borrowed; "alg" is added) and returns the flattened JWS
 * serialisation as a new JSON string, or NULL.
 */
char *jws_sign(EVP_PKEY *k, json_t *hdr, const char *payload);

/*
 * HMAC-SHA256 signed JWS for external account binding: protected header
 * {alg HS256, kid, url}, payload the account JWK. Returns a new object.
 */
json_t *jws_eab(const char *kid, const char *hmac_b64url, const char *url,
    EVP_PKEY *account);

#endif
