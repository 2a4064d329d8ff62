/*
 * cert-expiring: reads the store's metadata and writes one state document
 * for each certificate due for renewal (or name due for first issuance),
 * most urgent first; or, with --summary, one object of counts. The policy
 * is common/renew.c.
 *
 * With a directory (-d, ACMEPIPE_DIRECTORY) whose CA offers renewal
 * information (RFC 9773, common/ari.c), the run has two passes: the first
 * handles every name that needs no request and sets aside those whose
 * certificate is to be asked about; the second asks about them, oldest
 * nextCheck first, one certificate per request, no faster than --ari-rate
 * and at most --ari-max of them, stores each answer in the names'
 * metadata ("ari") and then handles those names like the others. Names
 * left over keep their old nextCheck and lead the next run.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ari.h"
#include "conf.h"
#include "diag.h"
#include "http.h"
#include "renew.h"
#include "state.h"
#include "store.h"

/* Default --http-timeout for renewal-info requests, in seconds. */
#define EXPIRING_HTTP_TIMEOUT 10

/* A name whose certificate is to be asked about. */
struct cand {
	char		*name, *cert_id;
	long long	 next;   /* nextCheck; then the certificate's earliest */
};

struct run {
	struct store		*s;
	struct renew_policy	 p;
	struct renew_queue	*q;
	struct renew_summary	 sum;
	unsigned long		 shard, shards;
	int			 summary, status, verbose;
	/* Renewal information. */
	const char		*directory;
	int			 ari, dry, unstored;
	long			 ari_max;
	double			 rate;
	struct ari_client	 ac;
	struct cand		*c;
	size_t			 nc, cap;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-AIrv] [-b i/n] [-C file] [-d url] [-e days] "
	    "[-l count]\n\t[-m count] [-n time] [-R rate] [-s dir] "
	    "[-T seconds] [-x days]\n", diag_prog);
}

/* With -v, why a name that is not due now waits. */
static void
explain(const struct renew_info *ri)
{
	char t[32];

	if (ri->parked)
		diag_verbose(1, "%s: parked: failing since %s", ri->name,
		    state_time(ri->first_failure, t, sizeof(t)));
	else if (ri->next > ri->due && ri->fail_count > 0 &&
	    ri->class != RENEW_PAUSED)
		diag_verbose(1, "%s: failure %lld, next attempt after %s",
		    ri->name, ri->fail_count, state_time(ri->next, t,
		    sizeof(t)));
	else if (ri->next > ri->due && ri->fail_count <= 0)
		diag_verbose(1, "%s: %d failed validations in an hour, next "
		    "attempt after %s", ri->name, RENEW_FAILS_PER_HOUR,
		    state_time(ri->next, t, sizeof(t)));
}

/* Sets name aside to be asked about. Returns 0 or -1 (out of memory). */
static int
cand_add(struct run *r, const char *name, const json_t *meta)
{
	struct ari_info ai;
	struct cand *nc;
	size_t ncap;

	if (r->nc == r->cap) {
		ncap = r->cap ? r->cap * 2 : 256;
		if ((nc = reallocarray(r->c, ncap, sizeof(*nc))) == NULL)
			return -1;
		r->c = nc;
		r->cap = ncap;
	}
	ari_info_get(meta, &ai);
	r->c[r->nc].next = ai.next_check;
	r->c[r->nc].name = strdup(name);
	r->c[r->nc].cert_id = strdup(state_str(meta, "certID"));
	if (r->c[r->nc].name == NULL || r->c[r->nc].cert_id == NULL) {
		free(r->c[r->nc].name);
		free(r->c[r->nc].cert_id);
		return -1;
	}
	r->nc++;
	return 0;
}

static int each(const char *name, json_t *meta, void *arg);

/* By certificate, then name. */
static int
cand_by_cert(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->cert_id, y->cert_id);

	return c != 0 ? c : strcmp(x->name, y->name);
}

/* Oldest nextCheck first, the names of a certificate together. */
static int
cand_by_next(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->next != y->next)
		return x->next < y->next ? -1 : 1;
	return cand_by_cert(a, b);
}

/*
 * Orders the candidates: a certificate stored under several names is
 * asked about once, when the earliest nextCheck of its names says so.
 */
static void
cand_order(struct run *r)
{
	size_t i, j, k;
	long long min;

	if (r->nc < 2)
		return;
	qsort(r->c, r->nc, sizeof(r->c[0]), cand_by_cert);
	for (i = 0; i < r->nc; i = j) {
		min = r->c[i].next;
		for (j = i + 1; j < r->nc &&
		    strcmp(r->c[j].cert_id, r->c[i].cert_id) == 0; j++)
			min = r->c[j].next < min ? r->c[j].next : min;
		for (k = i; k < j; k++)
			r->c[k].next = min;
	}
	qsort(r->c, r->nc, sizeof(r->c[0]), cand_by_next);
}

/* Requests print their line with -vv; -v is for the names. */
static json_t *
ask(struct run *r, const char *cert_id, const json_t *old,
    enum ari_outcome *out, char *why, size_t whylen)
{
	json_t *rec;

	diag_verbosity = r->verbose > 0 ? r->verbose - 1 : 0;
	rec = ari_client_ask(&r->ac, cert_id, r->p.now, old, out, why,
	    whylen);
	diag_verbosity = r->verbose;
	return rec;
}

/* With -v, what the CA said about name's certificate. */
static void
told(const struct run *r, const char *name, const json_t *rec,
    enum ari_outcome out, const char *why)
{
	const json_t *w = json_object_get(rec, "window");

	if (out == ARI_ANSWER)
		diag_verbose(1, "%s: renewal info: window %s to %s, renew at "
		    "%s; next check after %s%s", name, state_str(w, "start"),
		    state_str(w, "end"), state_str(rec, "chosen"),
		    state_str(rec, "nextCheck"), r->dry ? " (not stored: "
		    "--now)" : "");
	else
		diag_verbose(1, "%s: renewal info: %s; next check after %s%s",
		    name, why, state_str(rec, "nextCheck"), r->dry ?
		    " (not stored: --now)" : "");
}

/*
 * The names of the certificate at r->c[i] up to j: with rec (NULL: not
 * asked) as their "ari", stored unless a dry run, then handled as in the
 * first pass. Sets r->unstored when a write failed.
 */
static int
cand_handle(struct run *r, size_t i, size_t j, const json_t *rec)
{
	const char *serial;
	json_t *m;
	char why[512];
	int rc = 0, w;

	for (; i < j && rc == 0; i++) {
		if ((m = store_get(r->s, r->c[i].name)) == NULL)
			continue; /* removed meanwhile */
		serial = state_str(m, "serial");
		if (rec != NULL && serial != NULL && state_str(m, "certID") !=
		    NULL && strcmp(state_str(m, "certID"),
		    r->c[i].cert_id) == 0) {
			if (json_object_set(m, "ari", (json_t *)rec) != 0)
				rc = -1;
			else if (!r->dry && (w = store_set_member(r->s,
			    r->c[i].name, serial, "ari", rec, why,
			    sizeof(why))) != 0 && w != 1) {
				diag_warnx("%s: renewal info not stored: %s",
				    r->c[i].name, why);
				r->status = 1;
				r->unstored = 1;
			}
		}
		/* Only what the first pass would not have set aside. */
		if (rc == 0) {
			r->ari = 0;
			rc = each(r->c[i].name, m, r);
			r->ari = 1;
		}
		json_decref(m);
	}
	return rc;
}

/*
 * Fetches the directory, the first time there is something to ask. 1
 * when the CA offers renewal information; else the names set aside go by
 * the lifetime rule (a CA that cannot be reached is reported).
 */
static int
ari_open(struct run *r)
{
	char why[512];
	int rc;

	diag_verbosity = r->verbose > 0 ? r->verbose - 1 : 0;
	rc = ari_client_open(&r->ac, r->directory, r->rate, why, sizeof(why));
	diag_verbosity = r->verbose;
	if (rc == -1)
		diag_warnx("%s: renewal info not asked: %s", r->directory, why);
	else if (rc == 0)
		diag_verbose(2, "%s: the CA offers no renewal information",
		    r->directory);
	return rc == 1;
}

/*
 * The second pass: asks about each certificate set aside, within the
 * rate and the count, then handles its names. Returns 0 or -1.
 */
static int
sweep(struct run *r)
{
	enum ari_outcome out = ARI_ANSWER;
	const char *stop = NULL;
	json_t *m, *rec;
	char why[512], last[512];
	size_t i, j;
	long left = 0;
	int rc = 0, capped = 0;

	if (r->nc == 0)
		return 0;
	if (!ari_open(r))
		stop = "";
	cand_order(r);
	last[0] = '\0';
	for (i = 0; i < r->nc && rc == 0; i = j) {
		for (j = i + 1; j < r->nc &&
		    strcmp(r->c[j].cert_id, r->c[i].cert_id) == 0; j++)
			continue;
		if (stop == NULL && r->ari_max > 0 &&
		    r->ac.asked >= r->ari_max) {
			stop = "--ari-max reached";
			capped = 1;
		}
		if (stop != NULL) {
			left++;
			rc = cand_handle(r, i, j, NULL);
			continue;
		}
		m = store_get(r->s, r->c[i].name);
		rec = ask(r, r->c[i].cert_id, json_object_get(m, "ari"), &out,
		    why, sizeof(why));
		json_decref(m);
		if (rec == NULL) {
			rc = -1;
			break;
		}
		told(r, r->c[i].name, rec, out, why);
		if (out != ARI_ANSWER)
			snprintf(last, sizeof(last), "%s", why);
		if (out == ARI_LIMITED)
			stop = "the CA limits the requests";
		else if (r->ac.fails >= ARI_FAILS_MAX)
			stop = "no answer to 5 requests in a row";
		rc = cand_handle(r, i, j, rec);
		json_decref(rec);
		/* Answers that cannot be kept would be asked for every run. */
		if (r->unstored && stop == NULL) {
			stop = "the answers cannot be stored";
			snprintf(last, sizeof(last), "see above");
		}
	}
	if (capped && left > 0)
		diag_verbose(1, "renewal info: %s: %ld certificates left for "
		    "the next run", stop, left);
	else if (stop != NULL && *stop != '\0' && left > 0)
		diag_warnx("renewal info: %s (%s): %ld certificates left for "
		    "the next run", stop, last, left);
	return rc;
}

/*
 * Checks the renewal-info settings when a directory is given, and sets up
 * HTTP. Returns 0, or -1 on a usage error (with why).
 */
static int
ari_setup(struct run *r, const char *ca_bundle, const char *timeout,
    char *why, size_t whylen)
{
	long t = EXPIRING_HTTP_TIMEOUT;

	r->directory = conf_get(r->directory, "ACMEPIPE_DIRECTORY", NULL);
	if (r->directory == NULL || r->summary)
		return 0;
	if (strncmp(r->directory, "https://", 8) != 0 ||
	    r->directory[8] == '\0') {
		snprintf(why, whylen, "directory must be an https URL: %s",
		    r->directory);
		return -1;
	}
	ca_bundle = conf_get(ca_bundle, "ACMEPIPE_CA_BUNDLE", NULL);
	if (ca_bundle != NULL && access(ca_bundle, R_OK) != 0) {
		snprintf(why, whylen, "ca bundle %s: %s", ca_bundle,
		    strerror(errno));
		return -1;
	}
	timeout = conf_get(timeout, "ACMEPIPE_HTTP_TIMEOUT", NULL);
	if (timeout != NULL && (t = conf_seconds(timeout)) <= 0) {
		snprintf(why, whylen, "--http-timeout: want a number of "
		    "seconds: %s", timeout);
		return -1;
	}
	if (http_init(ca_bundle, t < 10 ? t : 10, t, why, whylen) != 0)
		return -1;
	r->ari = 1;
	return 0;
}

static int
each(const char *name, json_t *meta, void *arg)
{
	struct run *r = arg;
	struct renew_info ri;
	json_t *ids = NULL, *doc = NULL;
	char why[256];
	int first, rc = 0;

	if (meta == NULL || renew_assess(meta, &r->p, &ri, why,
	    sizeof(why)) != 0) {
		diag_warnx("%s: %s", name, meta != NULL ? why : errno ==
		    EBADMSG ? "metadata: not a JSON object" : strerror(errno));
		r->status = 1;
		return 0;
	}
	if (r->shards > 1 && renew_shard(name, r->shards) != r->shard)
		return 0;
	if (r->ari && ari_wanted(meta, r->directory, r->p.now))
		return cand_add(r, name, meta); /* handled after the request */
	if (ri.class == RENEW_PAUSED)
		diag_warnx("%s: the CA paused the account for this name: "
		    "unpause at %s", name, ri.unpause[0] != '\0' ? ri.unpause :
		    "(no URL in the CA's message)");
	if (r->summary)
		return renew_summary_add(&r->sum, &ri, r->p.now);
	if (!ri.emit) {
		explain(&ri);
		return 0;
	}
	if ((first = renew_ids(r->s, name, meta, &ids)) == 1 &&
	    ((doc = renew_doc(meta, &ri, ids)) == NULL ||
	    renew_queue_add(r->q, &ri, doc) != 0))
		rc = -1;
	json_decref(doc);
	json_decref(ids);
	return first == -1 ? -1 : rc;
}

/* Writes the documents or the summary; the exit status. */
static int
finish(struct run *r, long max)
{
	json_t *sum = NULL;
	int status = r->status;

	if (r->summary) {
		if (r->sum.alarm > 0)
			status = 1;
		if ((sum = renew_summary_json(&r->sum)) == NULL ||
		    json_dumpf(sum, stdout, JSON_COMPACT) != 0 ||
		    putc('\n', stdout) == EOF)
			status = 2;
		json_decref(sum);
	} else if (renew_queue_write(r->q, stdout, max) < 0)
		status = 2;
	if (fclose(stdout) == EOF || status == 2) {
		diag_warnx("<stdout>: %s", strerror(errno));
		status = 2;
	}
	return status;
}

/* --ari-rate: a positive number of requests per second, or -1. */
static double
parse_rate(const char *s)
{
	char *end = NULL;
	double v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v > 0) || v > ARI_RATE_MAX)
		return -1;
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "no-ari", no_argument, NULL, 'A' },
		{ "ca-bundle", required_argument, NULL, 'C' },
		{ "directory", required_argument, NULL, 'd' },
		{ "days", required_argument, NULL, 'e' },
		{ "include-parked", no_argument, NULL, 'I' },
		{ "max-per-domain", required_argument, NULL, 'l' },
		{ "ari-max", required_argument, NULL, 'm' },
		{ "now", required_argument, NULL, 'n' },
		{ "ari-rate", required_argument, NULL, 'R' },
		{ "shard", required_argument, NULL, 'b' },
		{ "summary", no_argument, NULL, 'r' },
		{ "store", required_argument, NULL, 's' },
		{ "http-timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "park-days", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct store_opts o = { 0, (gid_t)-1, 1 };
	struct run r;
	const char *dir = NULL, *bad = NULL, *bundle = NULL, *timeout = NULL;
	char why[512];
	long days = 0, max = 0, park = RENEW_PARK_DAYS;
	size_t i;
	int ch, status, no_ari = 0;

	memset(&r, 0, sizeof(r));
	r.p.now = (long long)time(NULL);
	r.rate = ARI_RATE;
	diag_init(argv);
	while (bad == NULL && (ch = getopt_long(argc, argv,
	    "AC:b:d:e:Il:m:n:R:rs:T:vx:h", longopts, NULL)) != -1) {
		if (ch == 'e' && (days = conf_number(optarg,
		    RENEW_DAYS_MAX)) == -1)
			bad = "--days: want a number of days from 1 to 3650";
		else if (ch == 'l' && (max = conf_number(optarg,
		    LONG_MAX)) == -1)
			bad = "--max-per-domain: want a positive number";
		else if (ch == 'm' && (r.ari_max = conf_number(optarg,
		    LONG_MAX)) == -1)
			bad = "--ari-max: want a positive number";
		else if (ch == 'n' && renew_time_parse(optarg, &r.p.now) != 0)
			bad = "--now: want an RFC 3339 time such as "
			    "2027-01-31T00:00:00Z";
		else if (ch == 'R' && (r.rate = parse_rate(optarg)) < 0)
			bad = "--ari-rate: want requests per second, above 0 "
			    "and at most 1000";
		else if (ch == 'b' && renew_parse_shard(optarg, &r.shard,
		    &r.shards) != 0)
			bad = "--shard: want i/n with 1 <= i <= n";
		else if (ch == 'x' && (park = conf_number(optarg,
		    RENEW_DAYS_MAX)) == -1)
			bad = "--park-days: want a number of days from 1 to 3650";
		else if (ch == 'A')
			no_ari = 1;
		else if (ch == 'C')
			bundle = optarg;
		else if (ch == 'd')
			r.directory = optarg;
		else if (ch == 'I')
			r.p.include_parked = 1;
		else if (ch == 'n')
			r.dry = 1;
		else if (ch == 'r')
			r.summary = 1;
		else if (ch == 's')
			dir = optarg;
		else if (ch == 'T')
			timeout = optarg;
		else if (ch == 'v')
			r.verbose++;
		else if (ch == 'h' || ch == '?' || ch == ':') {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	diag_verbosity = r.verbose;
	if (bad != NULL || optind != argc) {
		if (bad != NULL)
			diag_warnx("%s", bad);
		else
			diag_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return 2;
	}
	r.p.window = days * RENEW_DAY;
	r.p.park_days = (int)park;
	if ((dir = conf_get(dir, "ACMEPIPE_STORE", NULL)) == NULL) {
		diag_warnx("--store: missing (or set ACMEPIPE_STORE)");
		return 2;
	}
	if ((r.s = store_open(dir, &o, why, sizeof(why))) == NULL) {
		diag_warnx("%s", why);
		return 2;
	}
	if (!no_ari && ari_setup(&r, bundle, timeout, why,
	    sizeof(why)) != 0) {
		diag_warnx("%s", why);
		store_close(r.s);
		return 2;
	}
	if ((r.q = renew_queue_new()) == NULL ||
	    (status = store_list(r.s, each, &r)) != 0 ||
	    (r.ari && (status = sweep(&r)) != 0)) {
		diag_warnx("%s/meta: %s", dir, strerror(errno));
		status = 2;
	} else
		status = finish(&r, max);
	for (i = 0; i < r.nc; i++) {
		free(r.c[i].name);
		free(r.c[i].cert_id);
	}
	free(r.c);
	ari_client_close(&r.ac);
	http_cleanup();
	json_decref(r.sum.paused);
	renew_queue_free(r.q);
	store_close(r.s);
	return status;
}
