/*
 * authz: completing an order's authorizations: choose a challenge,
 * provision it, ask the CA to validate, poll, clean up.
 */
#ifndef AUTHZ_H
#define AUTHZ_H

#include <jansson.h>

#include "acme.h"
#include "provision.h"
#include "selfcheck.h"

struct authz_opts {
	const char		*type;    /* "http-01", "dns-01", "tls-alpn-01" */
	struct provision	 prov;
	long			 timeout; /* seconds of polling per authorization */
	struct selfcheck	*check;   /* http-01 self-check, or NULL */
};

/*
 * Checks doc before any request: an order with well-formed authorizations,
 * and no wildcard unless the type is dns-01. Records the failure under
 * step and returns -1.
 */
int authz_check(json_t *doc, const struct authz_opts *o, const char *step);

/*
 * Completes every authorization of doc's order that is not yet valid and
 * records the order as ready (RFC 8555 7.1.6: a pending order whose
 * authorizations are all valid is; an order in another state is read
 * again). With o->check, an http-01 token is fetched once
 * provisioned and before the CA is asked to validate (selfcheck.h). On failure records it in doc (under step, with the
 * CA's problem and the identifier), deactivates the order's pending
 * authorizations so none pile up at the CA, and returns -1.
 */
int authz_complete(struct acme *a, json_t *doc, const struct authz_opts *o,
    const char *step);

#endif
