/*
 * provision: making a challenge answerable and cleaning up after it,
 * through a webroot (http-01) or a hook program (any type).
 *
 * The hook runs without a shell as
 *   HOOK PHASE TYPE IDENTIFIER TOKEN KEYAUTH
 * PHASE is begin, done or failed; for dns-01 KEYAUTH is the TXT record
 * value (base64url SHA-256 of the key authorization). Exit status 0 means
 * success. The token has been checked to be base64url and the identifier
 * to be a host name before they reach a path or argv.
 */
#ifndef PROVISION_H
#define PROVISION_H

#include <stddef.h>

struct provision {
	const char	*webroot; /* borrowed, or NULL */
	const char	*hook;    /* borrowed, or NULL */
};

/* 1 when token is a non-empty base64url string (RFC 8555 8.1). */
int provision_token_ok(const char *token);

/*
 * Checks the configuration before any document is read: exactly one of
 * webroot and hook, the webroot a directory, the hook executable.
 */
int provision_check(const struct provision *p, const char *type,
    char *why, size_t whylen);

/*
 * Runs phase "begin" (provision), "done" or "failed" (remove) for one
 * challenge. keyauth is the key authorization. Returns 0 or -1 with why.
 */
int provision_run(const struct provision *p, const char *phase,
    const char *type, const char *identifier, const char *token,
    const char *keyauth, char *why, size_t whylen);

#endif
