/*
 * ari: ACME Renewal Information (see ari.h and cert-expiring(1)).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "ari.h"
#include "hash.h"
#include "state.h"

#define ARI_SALT 0x4152494152490003ULL
/* Longest explanationURL kept; a longer one is dropped. */
#define ARI_URL_MAX 2048

/* A time member of obj; -1 when absent or not RFC 3339. */
static long long
ari_time(const json_t *obj, const char *key)
{
	long long t;

	return state_time_parse(state_str(obj, key), &t) == 0 ? t : -1;
}

void
ari_info_get(const json_t *meta, struct ari_info *ai)
{
	const char *id = state_str(meta, "certID"), *e;
	const json_t *a = json_object_get(meta, "ari"), *w;

	memset(ai, 0, sizeof(*ai));
	if (id == NULL || !json_is_object(a) ||
	    state_str(a, "certID") == NULL ||
	    strcmp(state_str(a, "certID"), id) != 0)
		return;
	ai->current = 1;
	if ((ai->next_check = ari_time(a, "nextCheck")) < 0)
		ai->next_check = 0;
	w = json_object_get(a, "window");
	ai->start = ari_time(w, "start");
	ai->end = ari_time(w, "end");
	ai->chosen = ari_time(a, "chosen");
	ai->window = ai->start >= 0 && ai->end > ai->start &&
	    ai->chosen >= ai->start && ai->chosen <= ai->end;
	if (!ai->window) {
		ai->start = ai->end = ai->chosen = 0;
		return;
	}
	if ((e = state_str(a, "explanationURL")) != NULL)
		ai->explanation = e;
}

long long
ari_choose(const char *certid, long long start, long long end)
{
	uint64_t h = hash_name(certid) ^ ARI_SALT;

	if (end <= start)
		return start;
	h = hash_more(hash_more(h, (uint64_t)start), (uint64_t)end);
	return start + hash_spread(h, end - start);
}

long long
ari_retry(long retry_after)
{
	if (retry_after < 0)
		return ARI_RETRY_DEFAULT;
	if (retry_after < ARI_RETRY_MIN)
		return ARI_RETRY_MIN;
	return retry_after > ARI_RETRY_MAX ? ARI_RETRY_MAX : retry_after;
}

/* 1 for "base64url.base64url", the only CertID that may reach a URL. */
static int
ari_certid_ok(const char *id)
{
	const char *dot;
	size_t n;

	if (id == NULL || (dot = strchr(id, '.')) == NULL || dot == id ||
	    dot[1] == '\0' || (n = strlen(id)) > 512)
		return 0;
	return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_.") == n && strchr(dot + 1, '.') == NULL;
}

int
ari_wanted(const json_t *meta, const char *directory, long long now)
{
	const char *dir = state_str(meta, "directory");
	struct ari_info ai;
	long long na = ari_time(meta, "notAfter");

	if (!ari_certid_ok(state_str(meta, "certID")) || na <= now ||
	    (dir != NULL && directory != NULL && strcmp(dir, directory) != 0))
		return 0;
	ari_info_get(meta, &ai);
	return !ai.current || ai.next_check <= now;
}

/* Sets obj.key to the time t. */
static int
ari_set_time(json_t *obj, const char *key, long long t)
{
	char buf[32];

	return json_object_set_new(obj, key, json_string(state_time(t > 0 ?
	    t : 1, buf, sizeof(buf))));
}

/*
 * A valid suggestedWindow in body: 0 with its times, and the explanation
 * URL (borrowed from *doc, which the caller frees) when there is one.
 */
static int
ari_parse(const struct http_response *r, json_t **doc, long long *start,
    long long *end, const char **expl, char *why, size_t whylen)
{
	const json_t *w;
	const char *e;

	*expl = NULL;
	if ((*doc = json_loadb(r->body != NULL ? r->body : "", r->len, 0,
	    NULL)) == NULL || !json_is_object(*doc)) {
		snprintf(why, whylen, "HTTP 200: not a JSON object");
		return -1;
	}
	w = json_object_get(*doc, "suggestedWindow");
	*start = ari_time(w, "start");
	*end = ari_time(w, "end");
	if (*start < 0 || *end < 0) {
		snprintf(why, whylen, "HTTP 200: no suggestedWindow with an "
		    "RFC 3339 start and end");
		return -1;
	}
	if (*end <= *start) {
		snprintf(why, whylen, "HTTP 200: suggestedWindow ends before "
		    "it starts");
		return -1;
	}
	if ((e = state_str(*doc, "explanationURL")) != NULL &&
	    strlen(e) <= ARI_URL_MAX)
		*expl = e;
	return 0;
}

/* Why a status other than 200: the problem's detail when it has one. */
static void
ari_status_why(const struct http_response *r, char *why, size_t whylen)
{
	json_t *p = NULL;
	const char *d = NULL;

	if (r->body != NULL && r->len > 0 &&
	    (p = json_loadb(r->body, r->len, 0, NULL)) != NULL)
		d = state_str(p, "detail");
	snprintf(why, whylen, "HTTP %ld%s%.200s", r->status, d != NULL ?
	    ": " : "", d != NULL ? d : "");
	json_decref(p);
}

/* Copies the window of old (when about certid) into rec. */
static int
ari_keep(json_t *rec, const json_t *old, const char *certid)
{
	static const char *const keys[] = { "window", "chosen",
	    "explanationURL" };
	const json_t *v;
	size_t i;

	if (!json_is_object(old) || state_str(old, "certID") == NULL ||
	    strcmp(state_str(old, "certID"), certid) != 0)
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = json_object_get(old, keys[i])) != NULL &&
		    json_object_set_new(rec, keys[i], json_deep_copy(v)) != 0)
			return -1;
	return 0;
}

/* The member for a request without a window: old's window stays. */
static json_t *
ari_unanswered(const char *certid, long long now, long long wait,
    const json_t *old, const char *why)
{
	json_t *rec = json_pack("{s:s}", "certID", certid);

	if (rec == NULL || ari_set_time(rec, "checked", now) != 0 ||
	    ari_set_time(rec, "nextCheck", now + wait) != 0 ||
	    ari_keep(rec, old, certid) != 0 ||
	    json_object_set_new(rec, "error", json_string(why)) != 0) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

json_t *
ari_record(const char *certid, long long now, const struct http_response *r,
    const char *why_transport, const json_t *old, enum ari_outcome *out,
    char *why, size_t whylen)
{
	json_t *rec = NULL, *doc = NULL, *w = NULL;
	long long start = 0, end = 0, wait;
	const char *expl = NULL;
	int bad;

	why[0] = '\0';
	if (r->status == 0) {
		*out = ARI_UNANSWERED;
		snprintf(why, whylen, "%s", why_transport != NULL ?
		    why_transport : "no answer");
	} else if (r->status == 200)
		*out = ari_parse(r, &doc, &start, &end, &expl, why, whylen) ==
		    0 ? ARI_ANSWER : ARI_REFUSED;
	else {
		*out = r->status == 429 ? ARI_LIMITED : r->status >= 500 ?
		    ARI_UNANSWERED : ARI_REFUSED;
		ari_status_why(r, why, whylen);
	}
	/* Without Retry-After, no answer is asked again sooner. */
	if (r->status != 0 && (r->retry_after >= 0 || *out == ARI_ANSWER ||
	    *out == ARI_REFUSED))
		wait = ari_retry(r->retry_after);
	else
		wait = ARI_RETRY_ERROR;
	if (*out != ARI_ANSWER) {
		json_decref(doc);
		return ari_unanswered(certid, now, wait, old, why);
	}
	rec = json_pack("{s:s}", "certID", certid);
	bad = rec == NULL || ari_set_time(rec, "checked", now) != 0 ||
	    ari_set_time(rec, "nextCheck", now + wait) != 0 ||
	    (w = json_object()) == NULL ||
	    ari_set_time(w, "start", start) != 0 ||
	    ari_set_time(w, "end", end) != 0 ||
	    json_object_set(rec, "window", w) != 0 ||
	    ari_set_time(rec, "chosen", ari_choose(certid, start, end)) != 0 ||
	    (expl != NULL && json_object_set_new(rec, "explanationURL",
	    json_string(expl)) != 0);
	json_decref(w);
	json_decref(doc);
	if (bad) {
		json_decref(rec);
		return NULL;
	}
	return rec;
}

int
ari_client_open(struct ari_client *c, const char *dir_url, double rate,
    char *why, size_t whylen)
{
	struct acme a;
	json_t *problem = NULL;
	const char *url;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	memset(&a, 0, sizeof(a));
	pthread_mutex_init(&c->mu, NULL);
	c->interval = rate > 0 ? 1.0 / rate : 1.0 / ARI_RATE;
	if (acme_open(&a, dir_url, &problem) != 0) {
		snprintf(why, whylen, "%s", problem != NULL &&
		    state_str(problem, "detail") != NULL ?
		    state_str(problem, "detail") : "out of memory");
		goto out;
	}
	if ((url = acme_dir_url(&a, "renewalInfo")) == NULL) {
		rc = 0;
		goto out;
	}
	if ((c->base = strdup(url)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	rc = 1;
out:
	json_decref(problem);
	acme_close(&a);
	return rc;
}

/* Waits until the next request may start, and books the one after. */
void
ari_client_wait(struct ari_client *c)
{
	struct timespec now, d;
	double step;

	clock_gettime(CLOCK_MONOTONIC, &now);
	while (c->started && (now.tv_sec < c->next.tv_sec ||
	    (now.tv_sec == c->next.tv_sec && now.tv_nsec < c->next.tv_nsec))) {
		d.tv_sec = c->next.tv_sec - now.tv_sec;
		d.tv_nsec = c->next.tv_nsec - now.tv_nsec;
		if (d.tv_nsec < 0) {
			d.tv_sec--;
			d.tv_nsec += 1000000000L;
		}
		if (nanosleep(&d, NULL) != 0 && errno != EINTR)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
	}
	/* From the actual start: a late request never lets two run closer. */
	step = c->interval;
	c->next.tv_sec = now.tv_sec + (time_t)step;
	c->next.tv_nsec = now.tv_nsec + (long)((step - (double)(time_t)step) *
	    1e9);
	if (c->next.tv_nsec >= 1000000000L) {
		c->next.tv_sec++;
		c->next.tv_nsec -= 1000000000L;
	}
	c->started = 1;
}

json_t *
ari_client_ask(struct ari_client *c, const char *certid, long long now,
    const json_t *old, enum ari_outcome *out, char *why, size_t whylen)
{
	struct http_response r;
	char *url = NULL, twhy[512];
	size_t blen;
	json_t *rec;
	int herr;

	memset(&r, 0, sizeof(r));
	r.retry_after = -1;
	twhy[0] = '\0';
	if (!ari_certid_ok(certid)) { /* ari_wanted() keeps these out */
		*out = ARI_REFUSED;
		snprintf(why, whylen, "certID is not base64url.base64url");
		return ari_unanswered(certid, now, ARI_RETRY_DEFAULT, old, why);
	}
	blen = strlen(c->base);
	if ((url = malloc(blen + strlen(certid) + 2)) == NULL)
		return NULL;
	snprintf(url, blen + strlen(certid) + 2, "%s%s%s", c->base,
	    blen > 0 && c->base[blen - 1] == '/' ? "" : "/", certid);
	pthread_mutex_lock(&c->mu);
	c->asked++;
	pthread_mutex_unlock(&c->mu);
	if (http_request("GET", url, NULL, NULL, 0, &r, &herr, twhy,
	    sizeof(twhy)) != 0) {
		http_response_free(&r);
		r.status = 0;
	}
	rec = ari_record(certid, now, &r, twhy, old, out, why, whylen);
	pthread_mutex_lock(&c->mu);
	c->fails = *out == ARI_UNANSWERED ? c->fails + 1 : 0;
	pthread_mutex_unlock(&c->mu);
	http_response_free(&r);
	free(url);
	return rec;
}

void
ari_client_close(struct ari_client *c)
{
	free(c->base);
	if (c->interval > 0) /* opened: the lock was made */
		pthread_mutex_destroy(&c->mu);
	memset(c, 0, sizeof(*c));
}
