/*
 * revoke: certificate revocation (RFC 8555 section 7.6) and what the store
 * keeps of it.
 */
#ifndef REVOKE_H
#define REVOKE_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "acme.h"
#include "store.h"

/* The reason names revoke_reason() knows, for messages. */
#define REVOKE_REASONS "unspecified, keyCompromise, cACompromise, " \
	"affiliationChanged, superseded, cessationOfOperation, " \
	"certificateHold, removeFromCRL, privilegeWithdrawn, aACompromise"

/*
 * The RFC 5280 section 5.3.1 CRLReason code of name (keyCompromise: 1),
 * or -1 when it is none. Let's Encrypt accepts 0, 1, 3, 4 and 5.
 */
int revoke_reason(const char *name);

/*
 * Asks the CA to revoke the first certificate of chain (PEM, len bytes,
 * borrowed) with reason (a code; -1 sends none, which CAs take as
 * unspecified). Signed by the session's account when cert_key is NULL,
 * else by cert_key (the certificate's own key, sent as a JWK), which
 * needs no account. Returns 0, or -1 with *problem: the CA's, such as
 * alreadyRevoked or unauthorized.
 */
int revoke_cert(struct acme *a, const char *chain, size_t len, int reason,
    EVP_PKEY *cert_key, json_t **problem);

/*
 * Records a revocation in the metadata of each of names (borrowed) that
 * still holds the certificate serial: "revoked": {"time", "reason",
 * "serial"} (reason NULL: none given), in one atomic step per name, so
 * that cert-expiring makes the name due. Names not managed or holding
 * another certificate are left alone. Returns the number of names that
 * recorded it, or -1 with why.
 */
int revoke_record(struct store *s, const json_t *names, const char *serial,
    const char *reason, long long when, char *why, size_t whylen);

#endif
