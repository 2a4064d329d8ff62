/*
 * ari: ACME Renewal Information (RFC 9773) for cert-expiring(1).
 *
 * The CA suggests a renewal window for each certificate, named by its
 * CertID (base64url Authority Key Identifier "." base64url serial). What a
 * name's metadata (acmepipe-store(5)) keeps of the last answer is its
 * "ari" member:
 *
 *   {"certID": ID, "window": {"start": T, "end": T}, "chosen": T,
 *    "explanationURL": URL, "checked": T, "nextCheck": T, "error": TEXT}
 *
 * window and chosen (the time picked in it, at which the certificate is
 * due) are there once the CA answered with a valid window; error when
 * the last request got no usable answer, the window of an earlier answer
 * staying. The member is about the certificate certID only: a new
 * certificate is asked about at once.
 *
 * The policy functions here are pure, for the unit tests; ari_client_*
 * make the requests, one at a time over libcurl's reused connection and
 * no faster than a given rate.
 */
#ifndef ARI_H
#define ARI_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "http.h"

/* Retry-After is clamped to this range; absent, the default applies. */
#define ARI_RETRY_MIN      60LL
#define ARI_RETRY_MAX      86400LL
#define ARI_RETRY_DEFAULT  (6 * 3600LL)
/* Next check after a request without an answer (timeout, 5xx). */
#define ARI_RETRY_ERROR    3600LL
/* Default and largest --ari-rate, requests per second. */
#define ARI_RATE           10.0
#define ARI_RATE_MAX       1000.0
/* Unanswered requests in a row that end the run's requests. */
#define ARI_FAILS_MAX      5

/* What a name's metadata says of its certificate's renewal window. */
struct ari_info {
	int		 current;    /* "ari" is about the certificate stored */
	int		 window;     /* with a valid window and chosen time */
	long long	 start, end, chosen;
	long long	 next_check; /* 0: ask now */
	const char	*explanation; /* explanationURL, borrowed, or NULL */
};

/*
 * Reads meta's "ari" member (borrowed; ai borrows from it). A member for
 * another certificate than meta's "certID", or with times that do not
 * parse, reads as none: current 0, ask now.
 */
void ari_info_get(const json_t *meta, struct ari_info *ai);

/*
 * The time picked in the window [start, end): uniform over the window, a
 * pseudo-random fraction fixed by certid and the window, so the choice is
 * the same at every run while the window is, and a new window draws anew.
 */
long long ari_choose(const char *certid, long long start, long long end);

/* Retry-After in seconds (-1: absent) as the wait before the next check. */
long long ari_retry(long retry_after);

/*
 * 1 when the certificate of meta (borrowed) is to be asked about at now:
 * it has a certID, has not expired, came from directory (or its metadata
 * names none), and its "ari" member is for another certificate or its
 * nextCheck has come.
 */
int ari_wanted(const json_t *meta, const char *directory, long long now);

/* How a request ended. */
enum ari_outcome {
	ARI_ANSWER = 0, /* a valid window */
	ARI_REFUSED,    /* a lasting error: 4xx, a body that is no window */
	ARI_UNANSWERED, /* no answer, a timeout, 5xx: try again sooner */
	ARI_LIMITED     /* 429: the CA wants fewer requests */
};

/*
 * The new "ari" member for certid, asked at now, from the answer r (status
 * 0: none came; then why_transport says why). old is the member before
 * (borrowed, may be NULL): its window carries over when there is no new
 * one. New object, or NULL when out of memory; *out says how it ended and
 * why a one-line reason when it is not ARI_ANSWER.
 */
json_t *ari_record(const char *certid, long long now,
    const struct http_response *r, const char *why_transport,
    const json_t *old, enum ari_outcome *out, char *why, size_t whylen);

/*
 * The renewal-info requests of a run. Several threads may ask at once
 * (one connection each): the starts are paced for all of them together,
 * under mu, and asked and fails count all of them.
 */
struct ari_client {
	char		*base;      /* the directory's renewalInfo URL, owned */
	double		 interval;  /* seconds between request starts */
	struct timespec	 next;      /* earliest start of the next request */
	int		 started;
	long		 asked;     /* requests made */
	long		 fails;     /* unanswered in a row, as they end */
	pthread_mutex_t	 mu;
};

/*
 * Fetches the directory at dir_url (http_init() done) and keeps its
 * renewalInfo URL. Returns 1 when the CA offers renewal information, 0
 * when it does not (nothing to ask), -1 with why when the directory could
 * not be had.
 */
int ari_client_open(struct ari_client *c, const char *dir_url, double rate,
    char *why, size_t whylen);

/*
 * Waits until the rate lets the next request start, and takes that
 * start; with c->mu held. Call it before each ari_client_ask(), which
 * does not wait.
 */
void ari_client_wait(struct ari_client *c);

/*
 * Asks for certid and returns the new "ari" member as ari_record() does
 * (NULL: out of memory).
 */
json_t *ari_client_ask(struct ari_client *c, const char *certid,
    long long now, const json_t *old, enum ari_outcome *out, char *why,
    size_t whylen);

void ari_client_close(struct ari_client *c);

#endif
