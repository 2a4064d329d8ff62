/*
 * renew: the renewal policy of cert-expiring(1) as functions of one name's
 * metadata (acmepipe-store(5)) and a clock, so that every decision can be
 * tested without a store or a CA: when a certificate is due, how long a
 * name that failed waits, which failures are permanent, when a name is
 * parked, when the CA paused the account for it. Then its two outputs:
 * the queue of due documents (most urgent first, limited per registered
 * domain) and the summary for a monitor.
 *
 * The CA's suggested renewal window (ACME Renewal Information, ari.h),
 * when the metadata holds one for the certificate, decides the due point
 * instead of the lifetime.
 *
 * Times are seconds since the epoch, UTC. Nothing here prints; reasons go
 * into the caller's why buffer. The queue and the summary are renewq.h.
 */
#ifndef RENEW_H
#define RENEW_H

#include <stddef.h>
#include <jansson.h>

#include "ari.h"

#define RENEW_DAY             86400LL
/*
 * Lifetimes shorter than this are due soon after half of it: the window is
 * the last half, the due point in its first quarter.
 */
#define RENEW_SHORT_LIFETIME  (10 * RENEW_DAY)
/* Lifetime assumed when the metadata has no notBefore. */
#define RENEW_LIFETIME        (90 * RENEW_DAY)
/* Defaults of --park-days, and the cap for permanent errors. */
#define RENEW_PARK_DAYS       30
#define RENEW_PARK_PERMANENT  7
/* The CA's failed validations per hostname per account per hour. */
#define RENEW_FAILS_PER_HOUR  5
/*
 * The wait after a pre-flight failure (RENEW_PREFLIGHT), whatever the
 * count, plus 0 to 10% jitter: DNS is fixed by a person, who should get a
 * certificate soon after, and asking costs the CA nothing.
 */
#define RENEW_PREFLIGHT_WAIT  3600LL
/* "Expires soon" for --summary. */
#define RENEW_SOON            (7 * RENEW_DAY)
/* Longest accepted --days and --park-days. */
#define RENEW_DAYS_MAX        3650

/* Why a document is emitted. */
enum renew_reason {
	RENEW_NOT_DUE = 0,
	RENEW_NEW,       /* managed, no certificate yet */
	RENEW_EXPIRING,  /* its certificate is due */
	RENEW_RETRY,     /* the last attempt failed, its backoff has passed */
	RENEW_REVOKED    /* its certificate was revoked (acme-revoke) */
};

/* What the last error of a failing name says. */
enum renew_class {
	RENEW_OK = 0,    /* not failing */
	RENEW_TRANSIENT, /* worth retrying: network, timeout, CA trouble */
	RENEW_PERMANENT, /* the name does not work: NXDOMAIN, CAA, ... */
	RENEW_PAUSED,    /* the CA paused the account for the name */
	RENEW_PREFLIGHT  /* acmepipe's own checks failed before the CA was
	                    asked (notPointed, caa, resolver, selfCheck) */
};

struct renew_policy {
	long long	 now;
	long long	 window;   /* --days in seconds; 0: by lifetime */
	int		 park_days;
	int		 include_parked;
};

struct renew_info {
	const char	*name;        /* borrowed from the metadata */
	const char	*key;         /* identifiers[0], else name; borrowed */
	int		 has_cert;    /* notAfter present */
	long long	 not_before, not_after;
	long long	 due;         /* due point, failures aside */
	long long	 next;        /* earliest retry after failures; 0: none */
	long long	 when;        /* max(due, next) */
	long long	 fail_count;
	long long	 first_failure, last_failure;
	enum renew_class class;
	int		 parked;
	enum renew_reason reason; /* RENEW_NOT_DUE unless emit */
	int		 emit;        /* a document is due now */
	char		 unpause[512]; /* when paused: the URL, or "" */
	const char	*cert_id;     /* RFC 9773 CertID, borrowed, or NULL */
	struct ari_info	 ari;         /* the metadata's "ari" member */
	int		 by_ari;      /* due is the time picked in its window */
	int		 revoked;     /* "revoked" names the stored serial */
};

/* Largest N of --shard I/N. */
#define RENEW_SHARDS_MAX      1000000

/* "I/N" with 1 <= I <= N <= RENEW_SHARDS_MAX into *i and *n; 0 or -1. */
int renew_parse_shard(const char *s, unsigned long *i, unsigned long *n);

/*
 * The due point of a certificate valid from nb to na, for the name key:
 * the window is the last third of the lifetime or window seconds when
 * non-zero, the point in the first half of that window at a fraction
 * fixed by key; under 10 days of lifetime (and window 0) the window is the
 * last half and the point in its first quarter.
 */
long long renew_due(long long nb, long long na, long long window,
    const char *key);

/*
 * The wait after the count-th consecutive failure: 1 minute, 10 minutes,
 * 100 minutes, then a day, each plus 0 to 10% jitter fixed by key and
 * count.
 */
long long renew_backoff(const char *key, long long count);

/*
 * Classifies an error object (borrowed; see acmepipe-state(5)). The
 * pre-flight types (state.h) are RENEW_PREFLIGHT. When it
 * is RENEW_PAUSED, the unpause URL found in its detail is copied to url
 * ("" when none).
 */
enum renew_class renew_classify(const json_t *error, char *url,
    size_t urllen);

/*
 * The CA's failed-validation cap: when failures (the metadata's history,
 * borrowed) hold RENEW_FAILS_PER_HOUR failed validations within the hour
 * before now, the time the oldest of them leaves that hour; else 0. Only
 * the CA's answers to acme-challenge count: pre-flight failures never
 * reached it.
 */
long long renew_validation_cap(const json_t *failures, long long now);

/*
 * Assesses one name's metadata (borrowed; ri borrows from it). Returns 0,
 * or -1 with why when a time in it does not parse.
 */
int renew_assess(const json_t *meta, const struct renew_policy *p,
    struct renew_info *ri, char *why, size_t whylen);

/*
 * The due hint of a name's metadata (borrowed), for a store that indexes
 * what is due (store_backend.h): the earliest time at which cert-expiring
 * with the default policy (lifetime rule, no --include-parked) could emit
 * the name, assessed now (0: any time, or the metadata cannot be
 * assessed). *ari_check: when it would ask about the certificate's
 * renewal information (ari_wanted()), 0 any time (no current answer), -1
 * never (no CertID). With --days the due point can come earlier, but not
 * before notAfter minus the window, which the store indexes apart.
 */
long long renew_due_hint(const json_t *meta, long long *ari_check);

/*
 * The state document for ri with identifiers ids (borrowed): version,
 * identifiers, previous (serial, notAfter, issuer and, when the metadata
 * has it, certID, the RFC 9773 CertID acme-order puts in "replaces") and
 * renewal (reason, due, parked when parked, ari {start, end,
 * explanationURL?} when the CA's window set the due point). New.
 */
json_t *renew_doc(const json_t *meta, const struct renew_info *ri,
    const json_t *ids);

#endif
