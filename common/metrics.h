/*
 * metrics: cert-expiring's counts (the summary of renewq.h) as Prometheus
 * metrics, in the text exposition format (version 0.0.4) that
 * node_exporter's textfile collector reads from *.prom files: a HELP and a
 * TYPE line for each metric, every one a gauge, units in the names, label
 * values escaped (backslash, double quote, newline).
 *
 * What they mean is cert-expiring(1)'s; scripts/acme-renew writes its own
 * file the same way. The counts cost nothing per name; the per-name expiry
 * series (metrics_name_add()) keep every name in memory until written, for
 * small fleets only.
 *
 * Nothing here prints: failures are return values, with errno, and why
 * for the file.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

#include "renewq.h"

/* One name's certificate, for the per-name series. */
struct metrics_name {
	char		*name;      /* owned */
	long long	 not_after;
};

/* The per-name series; zero it, add, then metrics_text(), metrics_free(). */
struct metrics {
	struct metrics_name	*v;
	size_t			 n, cap;
};

/* Adds name (copied) with its certificate's notAfter. 0, or -1 (ENOMEM). */
int metrics_name_add(struct metrics *m, const char *name,
    long long not_after);

/*
 * The metrics of sum (borrowed) counted at now, then m's per-name series
 * when m is not NULL (sorted by name here), as text: a new string of
 * *len bytes, or NULL (errno). Every sample carries the label shard="I/N"
 * (shard I of N, 1-based as renew_parse_shard() gives it)
 * when shards > 1, so that the files of several shards on one host do not
 * clash.
 */
char *metrics_text(const struct renew_summary *sum, struct metrics *m,
    long long now, unsigned long shard, unsigned long shards, size_t *len);

/*
 * Writes text to path atomically (afile.h: a temporary file in path's
 * directory, mode 0644 so that node_exporter can read it, then renamed;
 * not synced: the next run writes it anew), or to stdout when path is
 * "-" (the caller closes stdout). Returns 0, or -1 with why "PATH:
 * reason"; the old file stays.
 */
int metrics_write(const char *path, const char *text, size_t len, char *why,
    size_t whylen);

/* Releases what m holds. */
void metrics_free(struct metrics *m);

#endif
