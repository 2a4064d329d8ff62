/*
 * state: the state document (see acmepipe-state(5)), a jansson object.
 *
 * Documents are owned by the stream loop; step functions borrow them and
 * change them in place. Every accessor here borrows.
 */
#ifndef STATE_H
#define STATE_H

#include <jansson.h>

/* The schema version written into every document ("version"). */
#define STATE_VERSION 1

/* Problem types that acmepipe itself reports (ACME's are urn:ietf:...). */
#define STATE_ERR_INPUT      "urn:acmepipe:error:input"      /* bad document */
#define STATE_ERR_IDENTIFIER "urn:acmepipe:error:identifier" /* bad name */
#define STATE_ERR_CONNECTION "urn:acmepipe:error:connection" /* network */
#define STATE_ERR_TIMEOUT    "urn:acmepipe:error:timeout"
#define STATE_ERR_RESPONSE   "urn:acmepipe:error:response"   /* bad CA answer */
#define STATE_ERR_LOCAL      "urn:acmepipe:error:local"      /* file, hook, key */
#define STATE_ERR_CERT       "urn:acmepipe:error:certificate" /* refused cert */
#define STATE_ERR_STORE      "urn:acmepipe:error:store"      /* store unreachable */
#define STATE_ERR_LEASE      "urn:acmepipe:error:lease"      /* lease lost */
#define STATE_ERR_CONFLICT   "urn:acmepipe:error:conflict"   /* key has an account */
/* Pre-flight (preflight.h): found before the CA was asked, cost it nothing. */
#define STATE_ERR_NOT_POINTED "urn:acmepipe:error:notPointed" /* DNS elsewhere */
#define STATE_ERR_CAA        "urn:acmepipe:error:caa"        /* CAA forbids */
#define STATE_ERR_RESOLVER   "urn:acmepipe:error:resolver"   /* no DNS answer */
#define STATE_ERR_SELF_CHECK "urn:acmepipe:error:selfCheck"  /* wrong http-01 */

/* 1 when doc carries an "error" object. */
int state_failed(const json_t *doc);

/*
 * Records a failure: sets doc.error to {step, type, detail, identifier,
 * time} (identifier omitted when NULL). The detail is copied.
 */
void state_fail(json_t *doc, const char *step, const char *type,
    const char *identifier, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Records a failure from a problem object as made by acme.h
 * ({type, detail, status?, retryAfter?, identifier?, subproblems?}).
 * Borrows problem (NULL: out of memory); copies what it needs. identifier
 * may be NULL, in which case the problem's own identifier (if any) is used.
 */
void state_fail_problem(json_t *doc, const char *step, const json_t *problem,
    const char *identifier);

/*
 * Checks the document's shape on input: a "version" that is absent or
 * STATE_VERSION, "identifiers" an array of strings. On success sets
 * "version", normalises the identifiers in place (see ident.h) and returns
 * 0; otherwise records the failure with step and returns -1.
 */
int state_check(json_t *doc, const char *step);

/* String member of obj, or NULL when absent or not a string. */
const char *state_str(const json_t *obj, const char *key);

/* Sets obj.key to a copy of s (removes it when s is NULL). */
int state_set_str(json_t *obj, const char *key, const char *s);

/* Current time (or t when t > 0) as RFC 3339 UTC into buf (>= 21 bytes). */
char *state_time(long long t, char *buf, size_t len);

/*
 * Parses the RFC 3339 time s ("2026-11-25T10:00:00Z"; a fraction, which
 * is dropped, and a numeric offset "+hh:mm" allowed; lower-case "t" and
 * "z" too; from 1970 on) into *t, seconds since the epoch, UTC. s is
 * borrowed and may be NULL. Returns 0, or -1 with *t untouched when s is
 * NULL or not such a time (31 April, 24:00, no zone, trailing text).
 */
int state_time_parse(const char *s, long long *t);

#endif
