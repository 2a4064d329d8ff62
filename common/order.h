/*
 * order: ACME orders and authorizations, and their record in the state
 * document (see acmepipe-state(5)):
 *
 *   "order": {"url", "status", "expires", "finalize", "certificate"}
 *   "authorizations": [{"url", "identifier", "wildcard", "status",
 *       "expires", "challenges": [{"type", "url", "token", "status"}]}]
 *
 * Every function borrows its arguments; problems are new references.
 */
#ifndef ORDER_H
#define ORDER_H

#include <jansson.h>

#include "acme.h"

/*
 * Creates a new order for doc's identifiers and records it and its
 * authorizations in doc. profile (may be NULL) must be one the directory
 * offers. A renewal (doc.previous.certID) at a CA with ARI carries
 * "replaces" (RFC 9773 section 5); when the CA answers alreadyReplaced the
 * order is asked for once more without it, and doc.order says so
 * ("replaces", or "replacesRefused" with the CA's detail).
 */
int order_new(struct acme *a, json_t *doc, const char *profile,
    json_t **problem);

/*
 * Fetches doc's order again and records its current state; with authzs,
 * fetches its authorizations too. retry_after, when non-NULL, receives the
 * CA's Retry-After in seconds (-1: none).
 */
int order_refresh(struct acme *a, json_t *doc, int authzs,
    long *retry_after, json_t **problem);

/* Fetches every authorization of doc's order into doc.authorizations. */
int order_authzs(struct acme *a, json_t *doc, json_t **problem);

/*
 * The document form (new) of the ACME authorization z fetched from url;
 * NULL with *problem when z is not one.
 */
json_t *order_authz_record(const char *url, const json_t *z,
    json_t **problem);

/* The document form (new) of one ACME challenge, or NULL when malformed. */
json_t *order_challenge_record(const json_t *c);

/*
 * Fetches one authorization and returns its document form (new). Never
 * while the same process sends a newOrder (see order.c).
 */
json_t *order_authz_get(struct acme *a, const char *url, json_t **problem);

/* doc.order.status, or NULL. */
const char *order_status(const json_t *doc);

#endif
