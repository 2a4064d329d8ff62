/*
 * cert: certificate signing requests and checks of issued certificates.
 */
#ifndef CERT_H
#define CERT_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

struct cert_info {
	char	not_before[32]; /* RFC 3339 */
	char	not_after[32];  /* RFC 3339 */
	char	serial[130];    /* lower-case hex, no separators, whole
				   octets as `openssl x509 -serial` */
	char	issuer[256];    /* issuer's commonName (or one-line DN),
				   UTF-8, control characters as \XX */
	char	ari_id[256];    /* RFC 9773 CertID: base64url(authority key
				   identifier) "." base64url(serial DER
				   content); "" without an AKI */
};

/*
 * A CSR for exactly the names (array of strings, borrowed) signed by k,
 * DER encoded and base64url'd as newOrder's finalize wants it. New string
 * or NULL with reason in why.
 */
char *cert_csr(EVP_PKEY *k, const json_t *names, char *why, size_t whylen);

/*
 * Checks a PEM chain before it is accepted: every certificate parses, the
 * first one's public key matches k (skipped when k is NULL) and its DNS
 * and IP SANs are exactly names (skipped when names is NULL; compared as sets,
 * case-insensitively). Only PEM certificate blocks separated by white
 * space are accepted. Fills info (may be NULL) from the first
 * certificate. Returns 0 or -1 with reason in why.
 */
int cert_check(const char *chain, size_t len, EVP_PKEY *k,
    const json_t *names, struct cert_info *info, char *why, size_t whylen);

/*
 * The issuer commonName (or one-line DN) of the last certificate in
 * chain, into buf. Returns 0, or -1 when the chain does not pass
 * cert_check()'s parsing.
 */
int cert_top_issuer(const char *chain, size_t len, char *buf, size_t buflen);

/*
 * The first certificate of chain (as cert_check() parses it), DER encoded
 * and base64url'd, as revokeCert wants it (RFC 8555 7.6). New string, or
 * NULL with reason in why.
 */
char *cert_leaf_b64url(const char *chain, size_t len, char *why,
    size_t whylen);

#endif
