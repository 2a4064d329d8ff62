/*
 * finalize: turning a ready order into a checked certificate: the
 * certificate key (a file, never in the document), the CSR, finalization,
 * polling, download, choice of chain, and the checks before acceptance.
 *
 * Document members written (acmepipe-state(5)):
 *   "key": {"path", "type"}
 *   "certificate": {"pem", "notBefore", "notAfter", "serial", "issuer"}
 */
#ifndef FINALIZE_H
#define FINALIZE_H

#include <jansson.h>

#include "acme.h"

struct finalize_opts {
	const char	*key_type;  /* see key_generate() */
	const char	*key_dir;   /* where new key files go */
	const char	*preferred; /* issuer CN of the preferred chain, or NULL */
	long		 timeout;   /* seconds of polling */
};

/*
 * Finalizes doc's order (or resumes: a processing order is polled, a valid
 * one only downloaded) and records the key path and the certificate.
 * Returns 0, or -1 after recording the failure under step.
 */
int finalize_order(struct acme *a, json_t *doc, const struct finalize_opts *o,
    const char *step);

#endif
