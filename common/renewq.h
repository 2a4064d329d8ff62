/*
 * renewq: the two outputs of cert-expiring(1) made of the names renew.h
 * assessed: the queue of due documents, written most urgent first and
 * limited per registered domain, and the summary for a monitor (counts
 * and the paused names).
 *
 * Nothing here prints; a failure is a return value (with errno for the
 * queue).
 */
#ifndef RENEWQ_H
#define RENEWQ_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

#include "renew.h"

/*
 * The registered domain of name (the wildcard label dropped) by the
 * public suffix list, or name itself when it has none (a public suffix,
 * a single label). Borrows from name.
 */
const char *renew_registered_domain(const char *name);

/*
 * The due documents: add in any order, write most urgent first. Beyond
 * about memory bytes (0: RENEW_QUEUE_MEMORY) they are sorted into
 * temporary files (tmpfile(3): unnamed, gone with the process) and merged
 * when written, so memory does not grow with the number due.
 */
#define RENEW_QUEUE_MEMORY (2u * 1024 * 1024)
struct renew_queue;

struct renew_queue *renew_queue_new(size_t memory);
void renew_queue_free(struct renew_queue *q);

/*
 * Adds doc (borrowed) for ri. Returns 0 or -1 (errno: out of memory, or a
 * temporary file could not be written).
 */
int renew_queue_add(struct renew_queue *q, const struct renew_info *ri,
    const json_t *doc);

/*
 * When renew_queue_add() or renew_queue_write() failed on a temporary
 * file (full or unwritable), its errno; else 0, and the failure was
 * memory or the output.
 */
int renew_queue_tmp_errno(const struct renew_queue *q);

/*
 * Writes the documents as JSON Lines, by notAfter (no certificate first),
 * then due time, then name; with max_per_domain > 0, at most that many
 * per registered domain, a document counting for each domain of its
 * identifiers. Returns the number written, or -1 (errno) on a write or
 * allocation error.
 */
long renew_queue_write(struct renew_queue *q, FILE *out,
    long max_per_domain);

/*
 * Decides, as a document comes up to be written, whether it is: line is
 * its JSON text (borrowed). Returns 1 to write it, as *repl when that is
 * set (a new string, which the queue frees) or else as it is; 0 to leave
 * it out, when it does not count for its domains either; -1 (errno) to
 * stop writing. *repl is NULL on entry.
 */
typedef int (*renew_queue_gate)(const char *line, char **repl, void *arg);

/*
 * renew_queue_write(), each document that would be written, and only
 * those (the limit per domain first), passed through gate (NULL: none)
 * with arg: cert-expiring claims its documents' names there.
 */
long renew_queue_write_gated(struct renew_queue *q, FILE *out,
    long max_per_domain, renew_queue_gate gate, void *arg);

/*
 * Counts for --summary and --metrics; zero it, then add each name.
 * expiring is within 7 days (RENEW_SOON), expiring1d and expiring30d
 * within 1 and 30 days; none of them counts an expired certificate.
 */
struct renew_summary {
	long		 managed, due, expiring, failing, parked, expired;
	long		 preflight; /* failing pre-flight, not counted in failing */
	long		 alarm;   /* names that make the exit status 1 */
	long		 expiring1d, expiring30d, npaused;
	long		 expiring_failing; /* within 7 days, last attempt failed */
	long		 unreadable; /* counted by the caller: metadata unusable */
	int		 has_soonest;
	long long	 soonest; /* earliest notAfter of names not parked */
	json_t		*paused;  /* [{name, unpause}], owned */
};

/*
 * Counts ri (borrowed; what it names is copied) into sum at now. Returns
 * 0, or -1 when out of memory, the counts added all the same.
 */
int renew_summary_add(struct renew_summary *sum,
    const struct renew_info *ri, long long now);

/* The summary object (new; NULL: out of memory); frees sum's members. */
json_t *renew_summary_json(struct renew_summary *sum);

#endif
