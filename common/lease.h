/*
 * lease: leases as documents carry them, so that N hosts that run the
 * same cron line at once never renew a name twice (cert-expiring(1)).
 *
 * The rules of a lease in a name's metadata are the store's (store.h,
 * Leases: store_claim, store_release, and what store_put_issued and
 * store_record_failure do with a document's lease id). Here: a new lease,
 * the claim of every name of a document, all or none, and the document's
 * "lease" member, {"id", "until"}, which certstore-put(1) reads to end
 * the lease.
 *
 * Between cert-expiring's reading of the store and its claim, a queued
 * document's "lease" is {"seen": {NAME: failCount, ...}}: what the run
 * decided on (lease_mark()); lease_claim() replaces it, and no document
 * leaves the process with it.
 */
#ifndef LEASE_H
#define LEASE_H

#include <stddef.h>
#include <jansson.h>

#include "store.h"

/* The longest --lease, in seconds: a week. */
#define LEASE_MAX (7 * 86400L)

/*
 * Parses a --lease value: 0 (no leases) or seconds up to LEASE_MAX into
 * *seconds. Returns 0 or -1.
 */
int lease_parse(const char *s, long *seconds);

/*
 * Fills l for this process: 128 random bits (RAND_bytes) as its id,
 * "HOST:PID" as its holder, until 0 (the caller sets it). Returns 0, or
 * -1 with why.
 */
int lease_new(struct store_lease *l, char *why, size_t whylen);

/*
 * The lease id doc carries (borrowed from doc), or NULL when it carries
 * none: no "lease" object, or its "id" is not a string of 1 to 64
 * characters.
 */
const char *lease_id(const json_t *doc);

/*
 * Sets a queued doc's "lease" to what the run saw: seen (borrowed, from
 * expiring.c) maps each identifier to its failCount. Returns 0 or -1
 * (out of memory).
 */
int lease_mark(json_t *doc, const json_t *seen);

/*
 * Claims every identifier of the marked doc for l at now (store_claim(),
 * the serial it saw being doc's "previous.serial", none without one),
 * in order; when one is not claimed, those claimed before it are
 * released. On success doc's "lease" becomes {"id", "until"} and 0 is
 * returned; 1 when a name was not claimed (why, e.g. "NAME: leased to
 * HOST:PID until TIME"), -1 on an error (why).
 */
int lease_claim(struct store *s, const struct store_lease *l, long long now,
    json_t *doc, char *why, size_t whylen);

/*
 * Ends doc's lease, when it carries one, on each of its identifiers
 * (store_release()). Returns 0, or -1 with why for the first name it
 * could not end it on (the others are still tried).
 */
int lease_end(struct store *s, const json_t *doc, char *why, size_t whylen);

#endif
