/* metrics: the counts in Prometheus' text format (see metrics.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "afile.h"
#include "metrics.h"
#include "renew.h"

int
metrics_name_add(struct metrics *m, const char *name, long long not_after)
{
	struct metrics_name *nv;
	size_t ncap;

	if (m->n == m->cap) {
		ncap = m->cap ? m->cap * 2 : 64;
		if ((nv = reallocarray(m->v, ncap, sizeof(*nv))) == NULL)
			return -1;
		m->v = nv;
		m->cap = ncap;
	}
	if ((m->v[m->n].name = strdup(name)) == NULL)
		return -1;
	m->v[m->n++].not_after = not_after;
	return 0;
}

void
metrics_free(struct metrics *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

static int
metrics_by_name(const void *a, const void *b)
{
	return strcmp(((const struct metrics_name *)a)->name,
	    ((const struct metrics_name *)b)->name);
}

/* A label value, escaped as the exposition format wants. */
static void
metrics_value(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			(void)putc('\\', f);
		if (*s == '\n')
			(void)fputs("\\n", f);
		else
			(void)putc(*s, f);
	}
}

static void
metrics_gauge(FILE *f, const char *name, const char *help)
{
	(void)fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/*
 * One sample: name, the labels (shard, when there are shards, then key
 * with the value val when key is not ""), the value.
 */
static void
metrics_sample(FILE *f, const char *name, const char *shard, const char *key,
    const char *val, long long v)
{
	int lab = *key != '\0';

	(void)fputs(name, f);
	if (*shard != '\0' || lab) {
		(void)fprintf(f, "{%s%s", shard, *shard != '\0' && lab ? "," :
		    "");
		if (lab) {
			(void)fprintf(f, "%s=\"", key);
			metrics_value(f, val);
			(void)putc('"', f);
		}
		(void)putc('}', f);
	}
	(void)fprintf(f, " %lld\n", v);
}

/* The counts of sum, one gauge each. */
static void
metrics_counts(FILE *f, const struct renew_summary *s, const char *sh)
{
	const struct {
		const char	*name, *help;
		long		 v;
	} c[] = {
		{ "acmepipe_names", "Names managed in the store.", s->managed },
		{ "acmepipe_names_due", "Names due for renewal or first "
		    "issuance now.", s->due },
		{ "acmepipe_names_failing", "Names whose last attempt failed at "
		    "the CA, still retried.", s->failing },
		{ "acmepipe_names_preflight_failing", "Names whose last attempt "
		    "failed pre-flight (DNS, CAA, self-check), still retried.",
		    s->preflight },
		{ "acmepipe_names_parked", "Names parked after failing for "
		    "days.", s->parked },
		{ "acmepipe_names_paused", "Names the CA paused the account for.",
		    s->npaused },
		{ "acmepipe_names_expired", "Names whose certificate has "
		    "expired.", s->expired },
		{ "acmepipe_names_failing_expiring", "Names whose certificate "
		    "expires within 7 days and whose last attempt failed.",
		    s->expiring_failing },
		{ "acmepipe_names_unreadable", "Names whose metadata could not "
		    "be used.", s->unreadable },
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		metrics_gauge(f, c[i].name, c[i].help);
		metrics_sample(f, c[i].name, sh, "", "", c[i].v);
	}
	metrics_gauge(f, "acmepipe_names_expiring", "Names whose certificate "
	    "expires within 1, 7 or 30 days and has not expired.");
	metrics_sample(f, "acmepipe_names_expiring", sh, "within", "1d",
	    s->expiring1d);
	metrics_sample(f, "acmepipe_names_expiring", sh, "within", "7d",
	    s->expiring);
	metrics_sample(f, "acmepipe_names_expiring", sh, "within", "30d",
	    s->expiring30d);
}

char *
metrics_text(const struct renew_summary *sum, struct metrics *m,
    long long now, unsigned long shard, unsigned long shards, size_t *len)
{
	char sh[64] = "", *buf = NULL;
	FILE *f;
	size_t i;
	int e;

	if (shards > 1)
		(void)snprintf(sh, sizeof(sh), "shard=\"%lu/%lu\"", shard,
		    shards);
	if ((f = open_memstream(&buf, len)) == NULL)
		return NULL;
	metrics_counts(f, sum, sh);
	if (sum->has_soonest) {
		metrics_gauge(f, "acmepipe_certificate_soonest_expiry_"
		    "timestamp_seconds", "The earliest notAfter of the names' "
		    "certificates, parked names aside.");
		metrics_sample(f, "acmepipe_certificate_soonest_expiry_"
		    "timestamp_seconds", sh, "", "", sum->soonest);
	}
	metrics_gauge(f, "acmepipe_expiring_last_run_timestamp_seconds",
	    "When cert-expiring counted (its --now when given).");
	metrics_sample(f, "acmepipe_expiring_last_run_timestamp_seconds", sh,
	    "", "", now);
	if (m != NULL && m->n > 0) {
		qsort(m->v, m->n, sizeof(m->v[0]), metrics_by_name);
		metrics_gauge(f, "acmepipe_certificate_expiry_timestamp_seconds",
		    "The notAfter of the certificate of each name.");
		for (i = 0; i < m->n; i++)
			metrics_sample(f, "acmepipe_certificate_expiry_"
			    "timestamp_seconds", sh, "name", m->v[i].name,
			    m->v[i].not_after);
	}
	e = ferror(f) ? ENOMEM : 0;
	if (fclose(f) != 0 || e != 0) {
		free(buf);
		errno = e != 0 ? e : ENOMEM;
		return NULL;
	}
	return buf;
}

int
metrics_write(const char *path, const char *text, size_t len, char *why,
    size_t whylen)
{
	struct afile_chunk c = { text, len };

	if (strcmp(path, "-") == 0) {
		if (fwrite(text, 1, len, stdout) != len) {
			snprintf(why, whylen, "<stdout>: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	return afile_write(path, NULL, NULL, &c, 1, 0644, (gid_t)-1, 0, NULL,
	    why, whylen) == 0 ? 0 : -1;
}
