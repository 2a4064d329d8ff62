/* authz: completing authorizations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authz.h"
#include "ident.h"
#include "order.h"
#include "poll.h"
#include "state.h"

/* The name as the user wrote it: "*.example.com" for a wildcard. */
static void
authz_name(const json_t *z, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", json_is_true(json_object_get(z,
	    "wildcard")) ? "*." : "", state_str(z, "identifier"));
}

static const json_t *
authz_challenge(const json_t *z, const char *type)
{
	const json_t *c;
	const char *t;
	size_t i;

	json_array_foreach(json_object_get(z, "challenges"), i, c)
		if ((t = state_str(c, "type")) != NULL && strcmp(t, type) == 0)
			return c;
	return NULL;
}

/* Whether a challenge's status is final. */
static int
authz_settled(const char *st)
{
	return st != NULL && strcmp(st, "pending") != 0 &&
	    strcmp(st, "processing") != 0;
}

/*
 * The authorization z once its challenge c has settled (new): the CA
 * gives both the same verdict (RFC 8555 7.1.6), the challenge carrying
 * the error.
 */
static json_t *
authz_settle(const json_t *z, const json_t *c, json_t **problem)
{
	const char *st = state_str(c, "status"), *url = state_str(c, "url");
	json_t *rec, *cs, *v, *cr;
	size_t i;

	if ((cr = order_challenge_record(c)) == NULL ||
	    (rec = json_deep_copy(z)) == NULL) {
		json_decref(cr);
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "%s: not a challenge", state_str(z, "url"));
		return NULL;
	}
	json_object_set_new(rec, "status", json_string(strcmp(st, "valid") ==
	    0 ? "valid" : "invalid"));
	cs = json_object_get(rec, "challenges");
	json_array_foreach(cs, i, v)
		if (url != NULL && state_str(v, "url") != NULL &&
		    strcmp(state_str(v, "url"), url) == 0) {
			json_array_set(cs, i, cr);
			break;
		}
	json_decref(cr);
	return rec;
}

/*
 * Polls the challenge c of authorization z until it settles, honouring
 * Retry-After and the learnt or backed-off wait, until the timeout.
 * resp is the CA's answer to the challenge response (settled already,
 * perhaps). Returns the new record of z (document form) or NULL with
 * *problem.
 *
 * The challenge, not the authorization, is polled: it says the same and
 * Pebble 2.4 holds an authorization's lock across a read of its store
 * while it serves it, which is one of the three sides of the deadlock in
 * order.c; a challenge is read without holding anything.
 */
static json_t *
authz_poll(struct acme *a, const json_t *z, const json_t *c, json_t *resp,
    long timeout, json_t **problem)
{
	static struct poll_learn learnt = POLL_LEARN_INIT;
	const char *url = state_str(c, "url");
	json_t *ch = NULL, *rec;
	char last[32] = "pending";
	struct poll p;
	long ra = -1;

	if (json_is_object(resp) && authz_settled(state_str(resp, "status")))
		return authz_settle(z, resp, problem);
	/*
	 * The challenge was answered just now: asking at once would find it
	 * still pending, so the first request comes after the first wait.
	 */
	poll_start_learnt(&p, timeout, &learnt);
	for (;;) {
		if (poll_wait(&p, ra) != 0) {
			*problem = acme_problem(STATE_ERR_TIMEOUT,
			    "%s: still %s when the timeout expired", url, last);
			return NULL;
		}
		if (acme_post_json_ra(a, url, NULL, &ch, &ra, problem) != 0)
			return NULL;
		if (!json_is_object(ch) || state_str(ch, "status") == NULL) {
			json_decref(ch);
			*problem = acme_problem(STATE_ERR_RESPONSE,
			    "%s: not a challenge", url);
			return NULL;
		}
		if (authz_settled(state_str(ch, "status"))) {
			poll_done(&p);
			rec = authz_settle(z, ch, problem);
			json_decref(ch);
			return rec;
		}
		snprintf(last, sizeof(last), "%s", state_str(ch, "status"));
		json_decref(ch);
		ch = NULL;
	}
}

/* The problem of a failed authorization: its challenge's error. */
static json_t *
authz_failure(const json_t *rec, const char *type)
{
	const json_t *c = authz_challenge(rec, type), *e;
	json_t *p;

	e = json_object_get(c, "error");
	if (json_is_object(e) && (p = json_deep_copy(e)) != NULL)
		return p;
	return acme_problem(ACME_ERR("unauthorized"),
	    "authorization is %s", state_str(rec, "status"));
}

/*
 * Validates one pending authorization. Returns the final record (new) or
 * NULL with *problem; *answered is set once the CA has taken the answer.
 */
static json_t *
authz_validate(struct acme *a, const json_t *z, const struct authz_opts *o,
    int *answered, json_t **problem)
{
	const json_t *c = authz_challenge(z, o->type);
	const char *id = state_str(z, "identifier"), *token;
	char why[512], *ka = NULL;
	json_t *empty = NULL, *resp = NULL, *rec = NULL;
	int begun = 0;

	if (c == NULL || (token = state_str(c, "token")) == NULL) {
		*problem = acme_problem(ACME_ERR("unsupportedIdentifier"),
		    "the CA offers no %s challenge for %s", o->type, id);
		return NULL;
	}
	if ((ka = acme_key_authz(a, token)) == NULL)
		goto out;
	if (provision_run(&o->prov, "begin", o->type, id, token, ka, why,
	    sizeof(why)) != 0) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s", why);
		goto out;
	}
	begun = 1;
	/* A wrong answer is found here, at no cost to the CA. */
	if (o->check != NULL && strcmp(o->type, "http-01") == 0 &&
	    selfcheck_http01(o->check, id, token, ka, problem) != 0)
		goto out;
	if ((empty = json_object()) == NULL || acme_post_json(a,
	    state_str(c, "url"), empty, &resp, NULL, problem) != 0)
		goto out;
	*answered = 1;
	rec = authz_poll(a, z, c, resp, o->timeout, problem);
out:
	if (begun && provision_run(&o->prov, rec != NULL && strcmp(state_str(
	    rec, "status"), "valid") == 0 ? "done" : "failed", o->type, id,
	    token, ka, why, sizeof(why)) != 0 && rec != NULL &&
	    *problem == NULL) {
		/* Validated, but what was provisioned is still there. */
		*problem = acme_problem(STATE_ERR_LOCAL, "%s", why);
		json_decref(rec);
		rec = NULL;
	}
	free(ka);
	json_decref(empty);
	json_decref(resp);
	return rec;
}

/*
 * Deactivates the authorizations still pending (RFC 8555 7.5.2), but for
 * the one at index busy (-1: none), whose challenge the CA is validating:
 * that one settles by itself, and once valid it serves the rerun's order
 * (a CA reuses valid authorizations) instead of costing a new validation.
 * Pebble 2.4 also deadlocks when an authorization is deactivated during
 * its validation (bench/RESULTS.md, "A second cycle").
 */
static void
authz_deactivate(struct acme *a, json_t *doc, size_t busy)
{
	json_t *z, *req, *resp = NULL, *problem = NULL;
	size_t i;

	if ((req = json_pack("{s:s}", "status", "deactivated")) == NULL)
		return;
	json_array_foreach(json_object_get(doc, "authorizations"), i, z) {
		const char *st = state_str(z, "status");
		if (st == NULL || strcmp(st, "pending") != 0 || i == busy)
			continue;
		if (acme_post_json(a, state_str(z, "url"), req, &resp, NULL,
		    &problem) == 0)
			json_object_set_new(z, "status",
			    json_string("deactivated"));
		json_decref(resp);
		json_decref(problem);
		resp = problem = NULL;
	}
	json_decref(req);
}

static int
authz_asked(const json_t *doc, const char *name)
{
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(doc, "identifiers"), i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return 1;
	return 0;
}

int
authz_check(json_t *doc, const struct authz_opts *o, const char *step)
{
	json_t *zs = json_object_get(doc, "authorizations"), *z;
	char name[300];
	size_t i;

	if (!json_is_array(zs) || state_str(json_object_get(doc, "order"),
	    "url") == NULL) {
		state_fail(doc, step, STATE_ERR_INPUT, NULL,
		    "no order in document: run acme-order first");
		return -1;
	}
	json_array_foreach(zs, i, z) {
		if (!json_is_object(z) || state_str(z, "url") == NULL ||
		    state_str(z, "identifier") == NULL ||
		    state_str(z, "status") == NULL) {
			state_fail(doc, step, STATE_ERR_INPUT, NULL,
			    "authorizations[%zu] is malformed", i);
			return -1;
		}
		authz_name(z, name, sizeof(name));
		/*
		 * The name goes to a hook's argv and the CA's answers are
		 * data: it must be one the document asked for, and those
		 * were checked by state_check().
		 */
		if (!authz_asked(doc, name)) {
			state_fail(doc, step, STATE_ERR_INPUT, NULL,
			    "authorizations[%zu]: %s is not one of the"
			    " document's identifiers", i, name);
			return -1;
		}
		/* RFC 8738 section 7: no DNS to put a TXT record in. */
		if (ident_ip_family(name) != 0 && strcmp(o->type, "dns-01") ==
		    0) {
			state_fail(doc, step, ACME_ERR("unsupportedIdentifier"),
			    name, "an IP address can only be validated with"
			    " http-01 or tls-alpn-01, not dns-01");
			return -1;
		}
		if (json_is_true(json_object_get(z, "wildcard")) &&
		    strcmp(o->type, "dns-01") != 0) {
			state_fail(doc, step, ACME_ERR("unsupportedIdentifier"),
			    name, "wildcard names can only be validated with"
			    " dns-01, not %s", o->type);
			return -1;
		}
	}
	return 0;
}

int
authz_complete(struct acme *a, json_t *doc, const struct authz_opts *o,
    const char *step)
{
	json_t *zs, *z, *rec = NULL, *problem = NULL;
	const char *st;
	char name[300];
	size_t i;
	int answered = 0;

	if (authz_check(doc, o, step) != 0)
		return -1;
	zs = json_object_get(doc, "authorizations");
	json_array_foreach(zs, i, z) {
		authz_name(z, name, sizeof(name));
		st = state_str(z, "status");
		answered = 0;
		if (strcmp(st, "valid") == 0)
			continue; /* reused by the CA: nothing to prove */
		if (strcmp(st, "pending") == 0 &&
		    (rec = authz_validate(a, z, o, &answered, &problem)) ==
		    NULL)
			goto fail;
		if (rec != NULL) {
			json_array_set_new(zs, i, rec);
			z = rec;
			rec = NULL;
		}
		if (strcmp(state_str(z, "status"), "valid") != 0) {
			problem = authz_failure(z, o->type);
			goto fail;
		}
	}
	/*
	 * Every authorization is valid, so a pending order is now ready (RFC
	 * 8555 7.1.6): recorded without asking. An order in any other state
	 * is read again, for the CA to say.
	 */
	st = order_status(doc);
	if (st != NULL && (strcmp(st, "pending") == 0 || strcmp(st, "ready") ==
	    0)) {
		state_set_str(json_object_get(doc, "order"), "status", "ready");
		return 0;
	}
	if (order_refresh(a, doc, 0, NULL, &problem) != 0) {
		state_fail_problem(doc, step, problem, NULL);
		json_decref(problem);
		return -1;
	}
	return 0;
fail:
	authz_deactivate(a, doc, answered ? i : (size_t)-1);
	state_fail_problem(doc, step, problem, name);
	json_decref(problem);
	return -1;
}
