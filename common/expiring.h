/*
 * expiring: one run of cert-expiring over a store: every name's metadata
 * read once (store_list), the due ones queued (renewq.h), and with a CA
 * that offers renewal information (RFC 9773, ari.h) a second pass that
 * asks about the certificates set aside, oldest nextCheck first, no
 * faster than the rate and at most ari_max of them, storing each answer
 * in the names' metadata ("ari") before handling them like the others.
 * Names left over keep their old nextCheck and lead the next run.
 *
 * Leases (lease.h): unless --lease 0, a name under another worker's live
 * lease is left alone, and each document is written only once all its
 * names are claimed for this run's lease, so that runs at once on many
 * hosts never emit a name twice. A dry run (--now) and --summary claim
 * nothing.
 *
 * With metrics (metrics.h), the summary's counts of every name of the
 * shard, leased or not, are also kept, in the same pass over the store
 * (which then lists every name, not only those that may be due), and
 * written before the documents: to a file, or instead of the documents to
 * stdout ("-"; a run that, like --summary, claims and asks nothing).
 *
 * With quiet unset and stderr a terminal, the renewal-info requests show
 * their progress there (progress.h).
 *
 * The caller fills the options (s, p, shard, shards, summary, verbose,
 * directory, dry, ari_max, rate, metrics, metrics_names, quiet), then calls expiring_lease_setup(),
 * expiring_ari_setup() unless renewal information is not wanted,
 * expiring_scan(), expiring_finish(), and expiring_free(). Everything the
 * struct points to is owned by it, except s (the caller's store).
 */
#ifndef EXPIRING_H
#define EXPIRING_H

#include <stddef.h>
#include <jansson.h>

#include "ari.h"
#include "metrics.h"
#include "renew.h"
#include "renewq.h"
#include "store.h"

/* Default --http-timeout for renewal-info requests, in seconds. */
#define EXPIRING_HTTP_TIMEOUT 10

/* A name whose certificate is to be asked about. */
struct expiring_cand {
	char		*name, *cert_id;
	long long	 next;   /* nextCheck; then the certificate's earliest */
};

struct expiring {
	struct store		*s;
	struct renew_policy	 p;
	struct renew_queue	*q;
	struct renew_summary	 sum;
	unsigned long		 shard, shards;
	int			 summary, status, verbose, quiet;
	/* Metrics: the file, "-" (stdout) or NULL; the per-name series. */
	const char		*metrics;
	int			 metrics_names;
	struct metrics		 m;
	/* Renewal information. */
	const char		*directory;
	int			 ari, dry, unstored;
	long			 ari_max;
	double			 rate;
	unsigned		 in_flight; /* requests at once (-F) */
	struct ari_client	 ac;
	struct expiring_cand	*c;
	size_t			 nc, cap;
	/* Leases. */
	long			 lease_secs; /* 0: no leases */
	int			 leasing;    /* 1: this run claims */
	struct store_lease	 lease;
};

/*
 * Reads the lease's length (opt, else ACMEPIPE_LEASE, else the default)
 * and, when this run claims, makes its lease. Returns 0, or -1 with why (a
 * usage error, or no random bytes for the id).
 */
int expiring_lease_setup(struct expiring *r, const char *opt, char *why,
    size_t whylen);

/*
 * Opens the renewal-info client for r->directory (when set and the CA
 * offers it): sets r->ari. Returns 0, or -1 with why (a usage error).
 */
int expiring_ari_setup(struct expiring *r, const char *ca_bundle,
    const char *timeout, char *why, size_t whylen);

/* Reads the store, then asks about what was set aside. 0, or -1 (errno). */
int expiring_scan(struct expiring *r);

/*
 * Writes the metrics, when wanted, then the documents (at most max per
 * registered domain when max > 0) or the summary to stdout, and closes
 * it. When the metrics cannot be written, nothing else is (nothing is
 * claimed) and the status is 2. Returns the exit status.
 */
int expiring_finish(struct expiring *r, long max);

/* Releases what r holds (not r->s). */
void expiring_free(struct expiring *r);

#endif
