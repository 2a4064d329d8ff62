/* order: ACME orders and authorizations in the state document. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ident.h"
#include "order.h"
#include "state.h"

/*
 * A process with documents in flight never has a newOrder at the CA
 * beside the reading of an authorization: Pebble 2.4's newOrder scans
 * every authorization in its store under the store's read lock, while an
 * authorization read holds that authorization's lock and waits for the
 * store's; with a write queued between them (another order, a
 * certificate), its store deadlocks (bench/RESULTS.md, "The cycle").
 * Requests of one kind go together, so a CA a round trip away is not
 * asked one request at a time: the kinds take turns (a phase), and once
 * one kind waits, no more of the other join, so neither starves. Reads
 * beside another process's newOrder are not ruled out. acme-challenge
 * polls challenges, not authorizations, for the same reason (authz.c).
 */
enum { ORDER_NEW, ORDER_AUTHZ };

/*
 * A phase whose newest request has been at the CA for ORDER_TURN_HOLD_MS
 * is given up on, and the kind waiting starts its own: a CA that hangs
 * one document's newOrder holds back the other kind by that much, not by
 * that request's HTTP timeout. A hung request is the CA's trouble, and
 * Pebble's lock windows are microseconds long, so a request beside a
 * hung one is no risk worth a longer wait. A request ends its part of a
 * phase only if that phase is still the current one (its ticket).
 */
#define ORDER_TURN_HOLD_MS	5000
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t order_turn_cv;
static pthread_once_t order_turn_once = PTHREAD_ONCE_INIT;
static struct {
	int		 kind;		/* of the current phase */
	int		 n;		/* its requests at the CA */
	int		 waiting[2];	/* requests waiting, by kind */
	unsigned long	 phase;		/* the current phase's ticket */
	struct timespec	 until;		/* its newest + the hold, monotonic */
} order_turn;

static void
order_turn_init(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&order_turn_cv, &ca);
	pthread_condattr_destroy(&ca);
}

static int
order_turn_over(const struct timespec *now)
{
	return now->tv_sec > order_turn.until.tv_sec ||
	    (now->tv_sec == order_turn.until.tv_sec &&
	    now->tv_nsec >= order_turn.until.tv_nsec);
}

/* Waits until a request of this kind may go to the CA; a ticket. */
static unsigned long
order_turn_take(int kind)
{
	struct timespec now;
	unsigned long t;
	int other = kind == ORDER_NEW ? ORDER_AUTHZ : ORDER_NEW;

	pthread_once(&order_turn_once, order_turn_init);
	pthread_mutex_lock(&order_lock);
	order_turn.waiting[kind]++;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (order_turn.n == 0 && (order_turn.kind != kind ||
		    order_turn.waiting[other] == 0))
			break;		/* a new phase, ours */
		if (order_turn.n > 0 && order_turn.kind == kind &&
		    order_turn.waiting[other] == 0)
			break;		/* joins the phase */
		if (order_turn.n > 0 && order_turn.kind != kind &&
		    order_turn_over(&now)) {
			order_turn.n = 0;	/* that phase is given up */
			break;
		}
		/* Only the other kind's phase can run out on us. */
		if (order_turn.n > 0 && order_turn.kind != kind)
			pthread_cond_timedwait(&order_turn_cv, &order_lock,
			    &order_turn.until);
		else
			pthread_cond_wait(&order_turn_cv, &order_lock);
	}
	order_turn.waiting[kind]--;
	if (order_turn.n == 0) {
		order_turn.kind = kind;
		order_turn.phase++;
	}
	order_turn.n++;
	order_turn.until = now;
	order_turn.until.tv_sec += ORDER_TURN_HOLD_MS / 1000;
	order_turn.until.tv_nsec += ORDER_TURN_HOLD_MS % 1000 * 1000000L;
	if (order_turn.until.tv_nsec >= 1000000000L) {
		order_turn.until.tv_sec++;
		order_turn.until.tv_nsec -= 1000000000L;
	}
	t = order_turn.phase;
	pthread_mutex_unlock(&order_lock);
	return t;
}

static void
order_turn_give(unsigned long t)
{
	pthread_mutex_lock(&order_lock);
	if (order_turn.phase == t && order_turn.n > 0 && --order_turn.n == 0)
		pthread_cond_broadcast(&order_turn_cv);
	pthread_mutex_unlock(&order_lock);
}

const char *
order_status(const json_t *doc)
{
	return state_str(json_object_get(doc, "order"), "status");
}

/* Copies the string members named in keys from src into dst. */
static void
order_copy(json_t *dst, const json_t *src, const char *const *keys)
{
	for (; *keys != NULL; keys++) {
		json_t *v = json_object_get(src, *keys);
		if (json_is_string(v))
			json_object_set(dst, *keys, v);
	}
}

/* Records the ACME order object o (at url) as doc.order. */
static int
order_record(json_t *doc, const char *url, const json_t *o)
{
	static const char *const keys[] = { "status", "expires", "finalize",
	    "certificate", NULL };
	static const char *const ours[] = { "replaces", "replacesRefused",
	    NULL };
	const json_t *old = json_object_get(doc, "order");
	json_t *rec;

	if ((rec = json_pack("{s:s}", "url", url)) == NULL)
		return -1;
	order_copy(rec, o, keys);
	if (json_is_object(json_object_get(o, "error")))
		json_object_set(rec, "error", json_object_get(o, "error"));
	/* What acmepipe noted about the same order survives a refresh. */
	if (old != NULL && state_str(old, "url") != NULL &&
	    strcmp(state_str(old, "url"), url) == 0)
		order_copy(rec, old, ours);
	if (state_str(rec, "status") == NULL || state_str(rec, "finalize") ==
	    NULL || !json_is_array(json_object_get(o, "authorizations"))) {
		json_decref(rec);
		return -1;
	}
	return json_object_set_new(doc, "order", rec);
}

/* Refuses a profile the CA does not offer, listing those it does. */
static int
order_profile_ok(struct acme *a, const char *profile, json_t **problem)
{
	json_t *offered = json_object_get(json_object_get(a->dir, "meta"),
	    "profiles");
	const char *k;
	json_t *v;
	char list[512] = "";
	size_t n = 0;

	if (profile == NULL || json_object_get(offered, profile) != NULL)
		return 0;
	json_object_foreach(offered, k, v)
		if (n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
			    n > 0 ? ", " : "", k);
	*problem = acme_problem(ACME_ERR("invalidProfile"), "profile %s: the "
	    "CA offers %s", profile, n > 0 ? list : "no profiles");
	return -1;
}

/* The newOrder payload; replaces may be NULL. */
static json_t *
order_request(const json_t *doc, const char *profile, const char *replaces)
{
	json_t *req, *ids, *v;
	size_t i;

	if ((req = json_pack("{s:[]}", "identifiers")) == NULL)
		return NULL;
	ids = json_object_get(req, "identifiers");
	/* RFC 8738: an address is an "ip" identifier. */
	json_array_foreach(json_object_get(doc, "identifiers"), i, v)
		json_array_append_new(ids, json_pack("{s:s, s:O}", "type",
		    ident_ip_family(json_string_value(v)) != 0 ? "ip" : "dns",
		    "value", v));
	if (profile != NULL)
		json_object_set_new(req, "profile", json_string(profile));
	if (replaces != NULL)
		json_object_set_new(req, "replaces", json_string(replaces));
	return req;
}

/* The newOrder request, never beside an authorization read (its turn). */
static int
order_post_new(struct acme *a, json_t *req, json_t **o, char **loc,
    json_t **problem)
{
	unsigned long t;
	int rc;

	t = order_turn_take(ORDER_NEW);
	rc = acme_post_json(a, acme_dir_url(a, "newOrder"), req, o, loc,
	    problem);
	order_turn_give(t);
	return rc;
}

int
order_new(struct acme *a, json_t *doc, const char *profile,
    json_t **problem)
{
	json_t *req = NULL, *o = NULL, *refused = NULL;
	const char *replaces = NULL;
	char *loc = NULL;
	int rc = -1;

	if (order_profile_ok(a, profile, problem) != 0)
		return -1;
	/* Only a CA with ARI knows "replaces". */
	if (acme_dir_url(a, "renewalInfo") != NULL)
		replaces = state_str(json_object_get(doc, "previous"), "certID");
	if ((req = order_request(doc, profile, replaces)) == NULL)
		goto out;
	if (order_post_new(a, req, &o, &loc, problem) != 0) {
		if (replaces == NULL || json_integer_value(json_object_get(
		    *problem, "status")) != 409)
			goto out;
		/* alreadyReplaced: renew all the same, without the claim. */
		refused = *problem;
		*problem = NULL;
		json_decref(req);
		replaces = NULL;
		if ((req = order_request(doc, profile, NULL)) == NULL ||
		    order_post_new(a, req, &o, &loc, problem) != 0)
			goto out;
	}
	if (loc == NULL || order_record(doc, loc, o) != 0) {
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "newOrder: not an order (no Location, status or finalize)");
		goto out;
	}
	if (replaces != NULL)
		state_set_str(json_object_get(doc, "order"), "replaces",
		    replaces);
	if (refused != NULL)
		state_set_str(json_object_get(doc, "order"), "replacesRefused",
		    state_str(refused, "detail"));
	/* The authorization URLs, which order_authzs() replaces. */
	json_object_set(doc, "authorizations", json_object_get(o,
	    "authorizations"));
	rc = order_authzs(a, doc, problem);
out:
	json_decref(req);
	json_decref(o);
	json_decref(refused);
	free(loc);
	return rc;
}

int
order_refresh(struct acme *a, json_t *doc, int authzs, long *retry_after,
    json_t **problem)
{
	long ra = -1;
	const char *url = state_str(json_object_get(doc, "order"), "url");
	json_t *o = NULL;
	char *u = NULL;
	int rc = -1;

	if (url == NULL || (u = strdup(url)) == NULL) {
		*problem = acme_problem(STATE_ERR_INPUT, "no order.url");
		return -1;
	}
	if (acme_post_json_ra(a, u, NULL, &o, &ra, problem) != 0)
		goto out;
	if (retry_after != NULL)
		*retry_after = ra;
	if (order_record(doc, u, o) != 0) {
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "%s: not an order", u);
		goto out;
	}
	rc = 0;
	if (authzs) {
		json_object_set(doc, "authorizations", json_object_get(o,
		    "authorizations"));
		rc = order_authzs(a, doc, problem);
	}
out:
	json_decref(o);
	free(u);
	return rc;
}

json_t *
order_challenge_record(const json_t *c)
{
	static const char *const keys[] = { "type", "url", "token", "status",
	    NULL };
	json_t *rec;

	if (state_str(c, "type") == NULL || state_str(c, "url") == NULL ||
	    (rec = json_object()) == NULL)
		return NULL;
	order_copy(rec, c, keys);
	/* Why validation failed, as the CA said (RFC 8555 8.3). */
	if (json_is_object(json_object_get(c, "error")))
		json_object_set(rec, "error", json_object_get(c, "error"));
	return rec;
}

json_t *
order_authz_record(const char *url, const json_t *z, json_t **problem)
{
	static const char *const keys[] = { "status", "expires", NULL };
	json_t *rec, *cs, *c, *v;
	const char *id;
	char *ip = NULL;
	size_t i;

	/*
	 * An address is kept in canonical text, so that it compares equal to
	 * the document's whatever form the CA writes it in.
	 */
	id = state_str(json_object_get(z, "identifier"), "value");
	if (id != NULL && (ip = ident_ip(id)) != NULL)
		id = ip;
	if (id == NULL || state_str(z, "status") == NULL ||
	    (rec = json_pack("{s:s, s:s, s:[]}", "url", url, "identifier", id,
	    "challenges")) == NULL) {
		free(ip);
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "%s: not an authorization", url);
		return NULL;
	}
	free(ip);
	order_copy(rec, z, keys);
	if (json_is_true(json_object_get(z, "wildcard")))
		json_object_set_new(rec, "wildcard", json_true());
	cs = json_object_get(rec, "challenges");
	json_array_foreach(json_object_get(z, "challenges"), i, c)
		if ((v = order_challenge_record(c)) != NULL)
			json_array_append_new(cs, v);
	return rec;
}

json_t *
order_authz_get(struct acme *a, const char *url, json_t **problem)
{
	json_t *z = NULL, *rec;
	unsigned long t;
	int rc;

	t = order_turn_take(ORDER_AUTHZ);
	rc = acme_post_json(a, url, NULL, &z, NULL, problem);
	order_turn_give(t);
	if (rc != 0)
		return NULL;
	rec = order_authz_record(url, z, problem);
	json_decref(z);
	return rec;
}

int
order_authzs(struct acme *a, json_t *doc, json_t **problem)
{
	json_t *urls, *out = NULL, *v, *z;
	const char *url;
	size_t i;
	int rc = -1;

	urls = json_object_get(doc, "authorizations");
	if (!json_is_array(urls) || (out = json_array()) == NULL)
		goto out;
	json_array_foreach(urls, i, v) {
		/* A string is a URL from the order; an object was fetched. */
		url = json_is_string(v) ? json_string_value(v) :
		    state_str(v, "url");
		if (url == NULL) {
			*problem = acme_problem(STATE_ERR_INPUT,
			    "authorizations[%zu] has no url", i);
			goto out;
		}
		if ((z = order_authz_get(a, url, problem)) == NULL)
			goto out;
		json_array_append_new(out, z);
	}
	rc = json_object_set(doc, "authorizations", out);
out:
	json_decref(out);
	return rc;
}
