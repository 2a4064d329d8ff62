/* expiring: one run of cert-expiring over a store (see expiring.h). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ari.h"
#include "conf.h"
#include "diag.h"
#include "expiring.h"
#include "hash.h"
#include "http.h"
#include "lease.h"
#include "metrics.h"
#include "progress.h"
#include "renew.h"
#include "renewq.h"
#include "state.h"
#include "store.h"

/*
 * 1 when the run writes no documents: --summary, or the metrics on
 * stdout. Such a run claims nothing and asks the CA nothing.
 */
static int
nodocs(const struct expiring *r)
{
	return r->summary || (r->metrics != NULL &&
	    strcmp(r->metrics, "-") == 0);
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
cand_add(struct expiring *r, const char *name, const json_t *meta)
{
	struct ari_info ai;
	struct expiring_cand *nc;
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

static int expiring_each(const char *name, json_t *meta, void *arg);

/* By certificate, then name. */
static int
cand_by_cert(const void *a, const void *b)
{
	const struct expiring_cand *x = a, *y = b;
	int c = strcmp(x->cert_id, y->cert_id);

	return c != 0 ? c : strcmp(x->name, y->name);
}

/* Oldest nextCheck first, the names of a certificate together. */
static int
cand_by_next(const void *a, const void *b)
{
	const struct expiring_cand *x = a, *y = b;

	if (x->next != y->next)
		return x->next < y->next ? -1 : 1;
	return cand_by_cert(a, b);
}

/*
 * Orders the candidates: a certificate stored under several names is
 * asked about once, when the earliest nextCheck of its names says so.
 */
static void
cand_order(struct expiring *r)
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

/* With -v, what the CA said about name's certificate. */
static void
told(const struct expiring *r, const char *name, const json_t *rec,
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
cand_handle(struct expiring *r, size_t i, size_t j, const json_t *rec)
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
			rc = expiring_each(r->c[i].name, m, r);
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
ari_open(struct expiring *r)
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
 * The requests of the second pass in flight. The main thread reads each
 * certificate's stored answer (the store is its own), workers ask the CA,
 * paced together by the client, and the main thread handles the answers
 * in the sweep's order. Workers stop taking certificates once an answer
 * says to stop (the CA limits the requests, five unanswered in a row).
 */
struct sweep_job {
	size_t			 i, j;   /* the certificate's names r->c[i..j) */
	json_t			*old;    /* its stored "ari", or NULL */
	json_t			*rec;    /* the answer, once asked */
	enum ari_outcome	 out;
	char			 why[512];
	int			 state;  /* 0 ready, 1 asking, 2 done */
};

struct sweep_pool {
	struct expiring		*r;
	struct sweep_job	*jobs;
	size_t			 njobs;
	size_t			 prepared; /* jobs whose old is read */
	size_t			 next;     /* the next job to ask about */
	int			 stop;     /* take no more */
	int			 nomem;
	pthread_mutex_t		 mu;
	pthread_cond_t		 more, done;
};

static void *
sweep_work(void *v)
{
	struct sweep_pool *p = v;
	struct sweep_job *jb;

	/* Requests print their line with -vv; -v is for the names. */
	diag_verbosity = p->r->verbose > 0 ? p->r->verbose - 1 : 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next == p->prepared &&
		    p->prepared < p->njobs)
			pthread_cond_wait(&p->more, &p->mu);
		if (p->stop || p->next == p->njobs)
			break;
		/*
		 * The rate's start first, then the job, taken in the order of
		 * the starts (the client's lock is held across both): an
		 * answer that says to stop, come in meanwhile, is not asked
		 * past, and the jobs asked stay a prefix of the sweep.
		 */
		pthread_mutex_unlock(&p->mu);
		pthread_mutex_lock(&p->r->ac.mu);
		ari_client_wait(&p->r->ac);
		pthread_mutex_lock(&p->mu);
		if (p->stop || p->next == p->njobs || p->next == p->prepared) {
			pthread_mutex_unlock(&p->r->ac.mu);
			if (p->stop || p->next == p->njobs)
				break;
			continue; /* not read yet: its start is lost */
		}
		jb = &p->jobs[p->next++];
		jb->state = 1;
		pthread_mutex_unlock(&p->mu);
		pthread_mutex_unlock(&p->r->ac.mu);
		jb->rec = ari_client_ask(&p->r->ac, p->r->c[jb->i].cert_id,
		    p->r->p.now, jb->old, &jb->out, jb->why, sizeof(jb->why));
		pthread_mutex_lock(&p->mu);
		if (jb->rec == NULL)
			p->nomem = 1;
		if (jb->rec == NULL || jb->out == ARI_LIMITED ||
		    p->r->ac.fails >= ARI_FAILS_MAX)
			p->stop = 1;
		jb->state = 2;
		pthread_cond_broadcast(&p->done);
		pthread_cond_broadcast(&p->more);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* The certificates set aside, as jobs: one per CertID, in order. */
static struct sweep_job *
sweep_jobs(struct expiring *r, size_t *n)
{
	struct sweep_job *jobs;
	size_t i, j, k = 0;

	if ((jobs = calloc(r->nc, sizeof(*jobs))) == NULL)
		return NULL;
	for (i = 0; i < r->nc; i = j) {
		for (j = i + 1; j < r->nc &&
		    strcmp(r->c[j].cert_id, r->c[i].cert_id) == 0; j++)
			continue;
		jobs[k].i = i;
		jobs[k++].j = j;
	}
	*n = k;
	return jobs;
}

/* Tells the workers to take no more; with the lock held. */
static void
sweep_stop(struct sweep_pool *p)
{
	p->stop = 1;
	pthread_cond_broadcast(&p->more);
}

/*
 * Waits for job h: 1 when it was asked (done), 0 when the workers
 * stopped before it. Reads ahead, meanwhile, the stored answers of a
 * window of jobs for the workers (the store is the main thread's).
 */
static int
sweep_wait(struct sweep_pool *p, size_t h, size_t window)
{
	struct sweep_job *jb = &p->jobs[h];
	json_t *m;
	size_t k;
	int done;

	pthread_mutex_lock(&p->mu);
	while (p->prepared < p->njobs && p->prepared < h + window) {
		k = p->prepared;
		pthread_mutex_unlock(&p->mu);
		m = store_get(p->r->s, p->r->c[p->jobs[k].i].name);
		p->jobs[k].old = json_incref(json_object_get(m, "ari"));
		json_decref(m);
		pthread_mutex_lock(&p->mu);
		p->prepared++;
		pthread_cond_broadcast(&p->more);
	}
	while (jb->state != 2 && !(p->stop && jb->state == 0))
		pthread_cond_wait(&p->done, &p->mu);
	done = jb->state == 2;
	pthread_mutex_unlock(&p->mu);
	return done;
}

/* Handles the answer of job jb; *bad and last as the sweep keeps them. */
static int
sweep_handle(struct expiring *r, struct sweep_job *jb, unsigned long *bad,
    char *last, size_t lastlen)
{
	if (jb->rec == NULL)
		return -1;
	told(r, r->c[jb->i].name, jb->rec, jb->out, jb->why);
	*bad += jb->out != ARI_ANSWER;
	if (jb->out != ARI_ANSWER)
		snprintf(last, lastlen, "%s", jb->why);
	return cand_handle(r, jb->i, jb->j, jb->rec);
}

/*
 * The second pass: asks about each certificate set aside, within the
 * rate and the count, up to r->in_flight at once, and handles the names
 * of each in the sweep's order. Returns 0 or -1.
 */
static int
sweep(struct expiring *r)
{
	struct sweep_pool p;
	struct progress pr;
	const char *stop = NULL;
	pthread_t *t = NULL;
	char last[512] = "";
	size_t h, k, all, window, nt, started = 0;
	unsigned long bad = 0;
	int rc = 0, open;

	if (r->nc == 0)
		return 0;
	open = ari_open(r);
	cand_order(r);
	memset(&p, 0, sizeof(p));
	p.r = r;
	if ((p.jobs = sweep_jobs(r, &all)) == NULL)
		return -1;
	/* --ari-max: only so many are asked; the rest wait for a run. */
	p.njobs = open ? all : 0;
	if (r->ari_max > 0 && p.njobs > (size_t)r->ari_max)
		p.njobs = (size_t)r->ari_max;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.more, NULL);
	pthread_cond_init(&p.done, NULL);
	nt = r->in_flight > 0 ? (size_t)r->in_flight : 1;
	nt = nt < p.njobs ? nt : p.njobs;
	window = 2 * nt;
	if (nt > 0 && (t = calloc(nt, sizeof(*t))) != NULL)
		for (; started < nt; started++)
			if (pthread_create(&t[started], NULL, sweep_work,
			    &p) != 0)
				break;
	if (p.njobs > 0 && started == 0) {
		diag_warnx("renewal info: cannot start threads");
		p.njobs = 0;
		rc = -1;
	}
	progress_start(&pr, "renewal info", p.njobs, r->quiet);
	progress_show(&pr, 0, 0);
	for (h = 0; h < p.njobs && rc == 0 && sweep_wait(&p, h, window);
	    h++) {
		rc = sweep_handle(r, &p.jobs[h], &bad, last, sizeof(last));
		progress_show(&pr, (unsigned long)(h + 1), bad);
		/* Answers that cannot be kept would be asked every run. */
		if (r->unstored && stop == NULL) {
			stop = "the answers cannot be stored";
			snprintf(last, sizeof(last), "see above");
			pthread_mutex_lock(&p.mu);
			sweep_stop(&p);
			pthread_mutex_unlock(&p.mu);
		}
	}
	pthread_mutex_lock(&p.mu);
	sweep_stop(&p);
	pthread_mutex_unlock(&p.mu);
	for (k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	/* Those asked before the stop (workers take them in order). */
	for (; rc == 0 && h < p.next; h++)
		rc = sweep_handle(r, &p.jobs[h], &bad, last, sizeof(last));
	progress_end(&pr);
	if (stop == NULL && h < p.njobs)
		stop = r->ac.fails >= ARI_FAILS_MAX ?
		    "no answer to 5 requests in a row" :
		    "the CA limits the requests";
	/* The rest go by the lifetime rule; the next run asks about them. */
	for (k = h; rc == 0 && k < all; k++)
		rc = cand_handle(r, p.jobs[k].i, p.jobs[k].j, NULL);
	if (rc == 0 && open && h < all) {
		if (stop == NULL)
			diag_verbose(1, "renewal info: --ari-max reached: %zu "
			    "certificates left for the next run", all - h);
		else
			diag_warnx("renewal info: %s (%s): %zu certificates "
			    "left for the next run", stop, last, all - h);
	}
	for (k = 0; k < all; k++) {
		json_decref(p.jobs[k].old);
		json_decref(p.jobs[k].rec);
	}
	free(p.jobs);
	free(t);
	pthread_cond_destroy(&p.done);
	pthread_cond_destroy(&p.more);
	pthread_mutex_destroy(&p.mu);
	return rc;
}

/*
 * Checks the renewal-info settings when a directory is given, and sets up
 * HTTP. Returns 0, or -1 on a usage error (with why).
 */
int
expiring_ari_setup(struct expiring *r, const char *ca_bundle,
    const char *timeout, char *why, size_t whylen)
{
	long t = EXPIRING_HTTP_TIMEOUT;

	/* No default directory: without one, no renewal information. */
	r->directory = conf_get(r->directory, CONF_ENV(DIRECTORY), NULL);
	if (r->directory == NULL || nodocs(r))
		return 0;
	if (strncmp(r->directory, "https://", 8) != 0 ||
	    r->directory[8] == '\0') {
		snprintf(why, whylen, "directory must be an https URL: %s",
		    r->directory);
		return -1;
	}
	ca_bundle = conf_value(CONF_V_CA_BUNDLE, ca_bundle);
	if (ca_bundle != NULL && access(ca_bundle, R_OK) != 0) {
		snprintf(why, whylen, "ca bundle %s: %s", ca_bundle,
		    strerror(errno));
		return -1;
	}
	/* Its own default, EXPIRING_HTTP_TIMEOUT, not the table's. */
	timeout = conf_get(timeout, CONF_ENV(HTTP_TIMEOUT), NULL);
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

int
expiring_lease_setup(struct expiring *r, const char *opt, char *why,
    size_t whylen)
{
	const char *v = conf_value(CONF_V_LEASE, opt);

	if (lease_parse(v, &r->lease_secs) != 0) {
		snprintf(why, whylen, "--lease: want a number of seconds from "
		    "0 to %ld: %s", LEASE_MAX, v);
		return -1;
	}
	r->leasing = r->lease_secs > 0 && !nodocs(r) && !r->dry;
	return r->leasing ? lease_new(&r->lease, why, whylen) : 0;
}

/*
 * 1 when name is managed with the certificate serial (NULL: none), its
 * failCount then in *fails.
 */
static int
ids_live(struct store *s, const char *name, const char *serial,
    json_int_t *fails)
{
	json_t *m = store_get(s, name);
	const char *have = state_str(m, "serial");
	int live;

	live = m != NULL && (have == NULL ? serial == NULL :
	    serial != NULL && strcmp(have, serial) == 0);
	*fails = json_integer_value(json_object_get(m, "failCount"));
	json_decref(m);
	return live;
}

/*
 * The identifiers to renew together with name, whose metadata is meta:
 * the certificate's names that are still managed with the same serial.
 * Returns 1 with *ids (new) when name is the first of them (so it emits
 * the document), 0 when another name does, -1 when out of memory. With
 * seen non-NULL, *seen (new, when 1 is returned) maps each of *ids to
 * the failCount its metadata had (absent: 0), for a claim (lease.h).
 */
static int
expiring_ids(struct store *s, const char *name, const json_t *meta,
    json_t **ids, json_t **seen)
{
	const json_t *all = json_object_get(meta, "identifiers"), *v;
	const char *serial = state_str(meta, "serial"), *id;
	json_t *out = NULL, *fc = NULL;
	json_int_t fails;
	size_t i;

	*ids = NULL;
	if (seen != NULL)
		*seen = NULL;
	if ((out = json_array()) == NULL || (fc = json_object()) == NULL)
		goto fail;
	json_array_foreach(all, i, v) {
		if ((id = json_string_value(v)) == NULL)
			continue;
		fails = json_integer_value(json_object_get(meta, "failCount"));
		if (strcmp(id, name) != 0 && !ids_live(s, id, serial, &fails))
			continue; /* removed, or renewed on its own */
		if (json_array_size(out) == 0 && strcmp(id, name) != 0) {
			json_decref(out);
			json_decref(fc);
			return 0; /* an earlier name emits the document */
		}
		if (json_array_append_new(out, json_string(id)) != 0 ||
		    json_object_set_new(fc, id, json_integer(fails)) != 0)
			goto fail;
	}
	if (json_array_size(out) == 0 && (json_array_append_new(out,
	    json_string(name)) != 0 || json_object_set_new(fc, name,
	    json_integer(json_integer_value(json_object_get(meta,
	    "failCount")))) != 0))
		goto fail;
	*ids = out;
	if (seen != NULL)
		*seen = fc;
	else
		json_decref(fc);
	return 1;
fail:
	json_decref(out);
	json_decref(fc);
	return -1;
}

static int
expiring_each(const char *name, json_t *meta, void *arg)
{
	struct expiring *r = arg;
	struct renew_info ri;
	json_t *ids = NULL, *doc = NULL, *seen = NULL;
	char why[512];
	int first, leased, rc = 0;

	if (meta == NULL || renew_assess(meta, &r->p, &ri, why,
	    sizeof(why)) != 0) {
		diag_warnx("%s: %s", name, meta != NULL ? why : errno ==
		    EBADMSG ? "metadata: not a JSON object" : strerror(errno));
		r->status = 1;
		r->sum.unreadable++;
		return 0;
	}
	if (r->shards > 1 && hash_shard(name, r->shards) != r->shard)
		return 0;
	/* Another worker renews it: nothing to emit, nor to ask about. */
	leased = r->lease_secs > 0 && !nodocs(r) && store_leased(meta, NULL,
	    r->p.now, why, sizeof(why));
	if (!leased && r->ari && ari_wanted(meta, r->directory, r->p.now))
		return cand_add(r, name, meta); /* handled after the request */
	/* Counted here once, leased or not. */
	if ((r->summary || r->metrics != NULL) &&
	    (renew_summary_add(&r->sum, &ri, r->p.now) != 0 ||
	    (r->metrics_names && ri.has_cert && metrics_name_add(&r->m, name,
	    ri.not_after) != 0)))
		return -1;
	/*
	 * Said for the name a document would come from (the other names of a
	 * certificate are said at the claim, when they hold it back).
	 */
	if (leased) {
		if (strcmp(ri.key, name) == 0)
			diag_verbose(1, "%s: %s", name, why);
		return 0;
	}
	if (ri.class == RENEW_PAUSED)
		diag_warnx("%s: the CA paused the account for this name: "
		    "unpause at %s", name, ri.unpause[0] != '\0' ? ri.unpause :
		    "(no URL in the CA's message)");
	if (nodocs(r))
		return 0;
	if (!ri.emit) {
		explain(&ri);
		return 0;
	}
	if ((first = expiring_ids(r->s, name, meta, &ids, r->leasing ? &seen :
	    NULL)) == 1 && ((doc = renew_doc(meta, &ri, ids)) == NULL ||
	    (r->leasing && lease_mark(doc, seen) != 0) ||
	    renew_queue_add(r->q, &ri, doc) != 0))
		rc = -1;
	json_decref(doc);
	json_decref(ids);
	json_decref(seen);
	return first == -1 ? -1 : rc;
}

/*
 * The queue's gate (renewq.h): a document is written once all its names
 * are claimed, with its lease; one whose names another worker holds, or
 * renewed or failed since they were read, is left out (said with -v).
 */
static int
expiring_gate(const char *line, char **repl, void *arg)
{
	struct expiring *r = arg;
	json_t *doc;
	char why[640];
	int rc;

	if ((doc = json_loads(line, 0, NULL)) == NULL) {
		errno = ENOMEM; /* our own line: only memory can fail */
		return -1;
	}
	rc = lease_claim(r->s, &r->lease, (long long)time(NULL), doc, why,
	    sizeof(why));
	if (rc == 1)
		diag_verbose(1, "%s", why);
	else if (rc == -1) {
		diag_warnx("%s", why);
		r->status = 1;
	} else if ((*repl = json_dumps(doc, JSON_COMPACT)) == NULL) {
		(void)lease_end(r->s, doc, why, sizeof(why));
		errno = ENOMEM;
		rc = -2;
	}
	json_decref(doc);
	return rc == 0 ? 1 : rc == -2 ? -1 : 0;
}

/* Writes the documents or the summary; the exit status. */
int
expiring_finish(struct expiring *r, long max)
{
	json_t *sum = NULL;
	char why[512], *text = NULL;
	size_t len = 0;
	int status = 0;

	if (r->metrics != NULL) {
		if ((text = metrics_text(&r->sum, r->metrics_names ? &r->m :
		    NULL, r->p.now, r->shard, r->shards, &len)) == NULL)
			snprintf(why, sizeof(why), "metrics: %s",
			    strerror(errno));
		if (text == NULL || metrics_write(r->metrics, text, len, why,
		    sizeof(why)) != 0) {
			diag_warnx("%s", why);
			free(text);
			(void)fclose(stdout);
			return 2;
		}
		free(text);
	}
	/* The lease runs from the claims, not from the start of the run. */
	r->lease.until = (long long)time(NULL) + r->lease_secs;
	if (r->summary) {
		if (r->sum.alarm > 0)
			status = 1;
		if ((sum = renew_summary_json(&r->sum)) == NULL ||
		    json_dumpf(sum, stdout, JSON_COMPACT) != 0 ||
		    putc('\n', stdout) == EOF)
			status = 2;
		json_decref(sum);
	} else if (!nodocs(r) && renew_queue_write_gated(r->q, stdout, max,
	    r->leasing ? expiring_gate : NULL, r) < 0) {
		if (renew_queue_tmp_errno(r->q) != 0) {
			diag_warnx("temporary file: %s",
			    strerror(renew_queue_tmp_errno(r->q)));
			(void)fclose(stdout);
			return 2;
		}
		status = 2;
	}
	if (fclose(stdout) == EOF || status == 2) {
		diag_warnx("<stdout>: %s", strerror(errno));
		status = 2;
	}
	return status > r->status ? status : r->status;
}

int
expiring_scan(struct expiring *r)
{
	/*
	 * What may be due, where the store indexes it (a database of
	 * millions of names); the summary and parked names need them all.
	 */
	if (!nodocs(r) && !r->p.include_parked && r->metrics == NULL) {
		/*
		 * With a directory, the certificates whose renewal-info check
		 * has come are wanted too (a CA that turns out to offer none
		 * then had them listed for nothing: give it no directory).
		 */
		if (store_list_due(r->s, r->p.now, r->p.window > 0 ?
		    r->p.now + r->p.window : 0, r->ari ? r->p.now : 0,
		    expiring_each, r) != 0)
			return -1;
	} else if (store_list(r->s, expiring_each, r) != 0)
		return -1;
	return r->ari ? sweep(r) : 0;
}

void
expiring_free(struct expiring *r)
{
	size_t i;

	for (i = 0; i < r->nc; i++) {
		free(r->c[i].name);
		free(r->c[i].cert_id);
	}
	free(r->c);
	ari_client_close(&r->ac);
	json_decref(r->sum.paused);
	metrics_free(&r->m);
	renew_queue_free(r->q);
}
