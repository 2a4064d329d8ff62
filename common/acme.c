/* acme: RFC 8555 client session. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acme.h"
#include "jws.h"
#include "key.h"
#include "state.h"

json_t *
acme_problem(const char *type, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return json_pack("{s:s, s:s}", "type", type, "detail", detail);
}

const char *
acme_dir_url(const struct acme *a, const char *name)
{
	return state_str(a->dir, name);
}

/* A problem for an HTTP exchange that gave no usable response. */
static json_t *
acme_transport_problem(int err, const char *why)
{
	return acme_problem(err == HTTP_ERR_TIMEOUT ? STATE_ERR_TIMEOUT :
	    err == HTTP_ERR_RESPONSE ? STATE_ERR_RESPONSE :
	    STATE_ERR_CONNECTION, "%s", why);
}

/* The CA's problem document, or one made from the status line. */
static json_t *
acme_http_problem(const char *url, const struct http_response *r)
{
	json_t *p = NULL, *v;
	char when[32];

	if (r->body != NULL && r->len > 0)
		p = json_loadb(r->body, r->len, 0, NULL);
	if (!json_is_object(p) || !json_is_string(json_object_get(p, "type"))) {
		json_decref(p);
		p = r->status == 404 ? acme_problem(STATE_ERR_RESPONSE,
		    "%s: HTTP 404: the CA does not know it (forgotten by a"
		    " restarted CA?): rerun from acme-order", url) :
		    acme_problem(STATE_ERR_RESPONSE, "%s: HTTP %ld without a"
		    " problem document", url, r->status);
	}
	if (p == NULL)
		return NULL;
	json_object_set_new(p, "status", json_integer(r->status));
	if (!json_is_string(json_object_get(p, "detail")))
		json_object_set_new(p, "detail", json_string("(no detail)"));
	if (r->retry_after >= 0)
		json_object_set_new(p, "retryAfter", json_string(state_time(
		    (long long)time(NULL) + r->retry_after, when, sizeof(when))));
	/* The identifier of a subproblem names the failing name. */
	v = json_object_get(json_array_get(json_object_get(p, "subproblems"),
	    0), "identifier");
	if (json_is_string(json_object_get(v, "value")))
		json_object_set(p, "identifier", json_object_get(v, "value"));
	return p;
}

/* Takes the Replay-Nonce of a response for the next request. */
static void
acme_keep_nonce(struct acme *a, struct http_response *r)
{
	if (r->nonce == NULL)
		return;
	free(a->nonce);
	a->nonce = r->nonce;
	r->nonce = NULL;
}

static int
acme_get_nonce(struct acme *a, json_t **problem)
{
	struct http_response r = { .retry_after = -1 };
	const char *url = acme_dir_url(a, "newNonce");
	char why[512];
	int herr, rc = -1;

	if (a->nonce != NULL)
		return 0;
	if (url == NULL) {
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "%s: directory has no newNonce", a->dir_url);
		return -1;
	}
	if (http_request("HEAD", url, NULL, NULL, 0, &r, &herr, why,
	    sizeof(why)) != 0) {
		*problem = acme_transport_problem(herr, why);
		goto out;
	}
	acme_keep_nonce(a, &r);
	if (a->nonce == NULL) {
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "%s: HTTP %ld without Replay-Nonce", url, r.status);
		goto out;
	}
	rc = 0;
out:
	http_response_free(&r);
	return rc;
}

static int
acme_json_type(const char *ct)
{
	return ct != NULL && (strncmp(ct, "application/json", 16) == 0 ||
	    strncmp(ct, "application/problem+json", 24) == 0);
}

/*
 * 1 when url is at the same origin (scheme://host:port/) as the
 * directory. URLs come from documents, which must not be able to send
 * signed requests anywhere else.
 */
static int
acme_same_origin(const struct acme *a, const char *url)
{
	const char *d = a->dir_url, *slash;
	size_t n;

	if (strncmp(d, "https://", 8) != 0 || (slash = strchr(d + 8, '/')) ==
	    NULL)
		return 0;
	n = (size_t)(slash - d) + 1;
	return strncmp(url, d, n) == 0;
}

/*
 * Adopts a directory a previous step fetched. Every URL in it must share
 * dir_url's origin, as every URL the session follows must: a document
 * cannot point the session anywhere else.
 */
int
acme_open_known(struct acme *a, const char *dir_url, json_t *dir)
{
	const char *k;
	json_t *v;

	if (!json_is_object(dir) || state_str(dir, "newOrder") == NULL ||
	    state_str(dir, "newAccount") == NULL ||
	    state_str(dir, "newNonce") == NULL ||
	    (a->dir_url = strdup(dir_url)) == NULL)
		return -1;
	json_object_foreach(dir, k, v) {
		if (json_is_string(v) && strcmp(k, "meta") != 0 &&
		    !acme_same_origin(a, json_string_value(v))) {
			free(a->dir_url);
			a->dir_url = NULL;
			return -1;
		}
	}
	a->dir = json_incref(dir);
	return 0;
}

void
acme_put_nonce(struct acme *a, const char *nonce)
{
	if (a->nonce == NULL && nonce != NULL && *nonce != '\0')
		a->nonce = strdup(nonce); /* none on ENOMEM: newNonce then */
}

char *
acme_take_nonce(struct acme *a)
{
	char *n = a->nonce;

	a->nonce = NULL;
	return n;
}

int
acme_open(struct acme *a, const char *dir_url, json_t **problem)
{
	struct http_response r = { .retry_after = -1 };
	char why[512];
	int herr, rc = -1;

	if ((a->dir_url = strdup(dir_url)) == NULL)
		return -1;
	if (http_request("GET", dir_url, NULL, NULL, 0, &r, &herr, why,
	    sizeof(why)) != 0) {
		*problem = acme_transport_problem(herr, why);
		goto out;
	}
	if (r.status != 200) {
		*problem = acme_http_problem(dir_url, &r);
		goto out;
	}
	if (!acme_json_type(r.content_type)) {
		*problem = acme_problem(STATE_ERR_RESPONSE, "%s: content type "
		    "\"%s\", want application/json", dir_url,
		    r.content_type != NULL ? r.content_type : "");
		goto out;
	}
	a->dir = json_loadb(r.body, r.len, 0, NULL);
	if (!json_is_object(a->dir) || acme_dir_url(a, "newOrder") == NULL ||
	    acme_dir_url(a, "newAccount") == NULL) {
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "%s: not an ACME directory", dir_url);
		goto out;
	}
	rc = 0;
out:
	http_response_free(&r);
	return rc;
}

char *
acme_sign(const struct acme_signer *s, const char *url, const char *nonce,
    const char *payload)
{
	json_t *hdr;
	char *body = NULL;

	if ((hdr = json_pack("{s:s}", "url", url)) == NULL)
		return NULL;
	if ((nonce == NULL || json_object_set_new(hdr, "nonce",
	    json_string(nonce)) == 0) &&
	    (s->kid != NULL ? json_object_set_new(hdr, "kid",
	    json_string(s->kid)) : json_object_set_new(hdr, "jwk",
	    jws_jwk(s->key))) == 0)
		body = jws_sign(s->key, hdr, payload);
	json_decref(hdr);
	return body;
}

/* One POST signed by s (RFC 8555 6.2), with the session's next nonce. */
static int
acme_post_once(struct acme *a, const struct acme_signer *s, const char *url,
    const char *payload, struct http_response *r, json_t **problem)
{
	char *body = NULL, why[512];
	int herr, rc = -1;

	if (!acme_same_origin(a, url)) {
		*problem = acme_problem(STATE_ERR_INPUT, "%s: not at the CA's"
		    " address %s", url, a->dir_url);
		return -1;
	}
	if (acme_get_nonce(a, problem) != 0)
		return -1;
	if ((body = acme_sign(s, url, a->nonce, payload)) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "cannot sign request");
		goto out;
	}
	free(a->nonce); /* each nonce is good for one request */
	a->nonce = NULL;
	if (http_request("POST", url, "application/jose+json", body,
	    strlen(body), r, &herr, why, sizeof(why)) != 0) {
		*problem = acme_transport_problem(herr, why);
		goto out;
	}
	acme_keep_nonce(a, r);
	if (r->status >= 400) {
		*problem = acme_http_problem(url, r);
		goto out;
	}
	rc = 0;
out:
	free(body);
	return rc;
}

int
acme_problem_is(const json_t *problem, const char *type)
{
	const char *t = state_str(problem, "type");

	return t != NULL && strcmp(t, type) == 0;
}

/*
 * The POST loop: s signs when not NULL, else the account (its URL once
 * known, its JWK before). badNonce is retried with the CA's fresh nonce,
 * a short 503 waited out, and a refusal of the account handed once to
 * a->recover, which may have found the account again or its new key.
 */
static int
acme_post_as(struct acme *a, const struct acme_signer *s, const char *url,
    json_t *payload, struct http_response *r, json_t **problem)
{
	struct acme_signer acct;
	json_t *fixed = NULL;
	char *ps = NULL;
	int i, rc = -1, busy = 0, recovered = 0, f;

	/* The account was lost on the way (see below): find it first. */
	if (s == NULL && a->kid == NULL && a->recover != NULL &&
	    !a->in_login && a->recover(a, NULL, problem) != 1)
		return -1;
	if (payload != NULL && (ps = json_dumps(payload, JSON_COMPACT)) == NULL)
		return -1;
	for (i = 0; i <= ACME_NONCE_RETRIES; i++) {
		json_decref(*problem);
		*problem = NULL;
		acct.key = a->key;
		acct.kid = a->kid;
		if ((rc = acme_post_once(a, s != NULL ? s : &acct, url,
		    ps != NULL ? ps : "", r, problem)) == 0)
			break;
		if (acme_problem_is(*problem, ACME_ERR("badNonce")))
			continue;
		if (r->status == 503 && r->retry_after >= 0 &&
		    r->retry_after <= ACME_BUSY_WAIT_MAX &&
		    busy++ < ACME_BUSY_RETRIES) {
			sleep((unsigned)(r->retry_after > 0 ? r->retry_after : 1));
			continue;
		}
		if (s != NULL || a->in_login || a->recover == NULL ||
		    recovered++ > 0 || r->status < 400)
			break;
		if ((f = a->recover(a, *problem, &fixed)) == 1)
			continue;
		if (f == -1) {
			json_decref(*problem);
			*problem = fixed;
			fixed = NULL;
		}
		break;
	}
	free(ps);
	return rc;
}

int
acme_post(struct acme *a, const char *url, json_t *payload,
    struct http_response *r, json_t **problem)
{
	int rc = acme_post_as(a, NULL, url, payload, r, problem);

	if (rc == 0 && !a->in_login)
		a->kid_cached = 0; /* the CA accepted it */
	return rc;
}

int
acme_post_signed(struct acme *a, const struct acme_signer *s,
    const char *url, json_t *payload, struct http_response *r,
    json_t **problem)
{
	return acme_post_as(a, s, url, payload, r, problem);
}

static int
acme_post_json_all(struct acme *a, const char *url, json_t *payload,
    json_t **out, char **location, long *retry_after, json_t **problem)
{
	struct http_response r = { .retry_after = -1 };
	json_error_t jerr;
	int rc = -1;

	*out = NULL;
	if (location != NULL)
		*location = NULL;
	if (acme_post(a, url, payload, &r, problem) != 0)
		goto out;
	if (!acme_json_type(r.content_type)) {
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "%s: content type \"%s\", want application/json", url,
		    r.content_type != NULL ? r.content_type : "");
		goto out;
	}
	if ((*out = json_loadb(r.body, r.len, 0, &jerr)) == NULL ||
	    !json_is_object(*out)) {
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "%s: response is not a JSON object: %s", url,
		    *out == NULL ? jerr.text : "wrong type");
		json_decref(*out);
		*out = NULL;
		goto out;
	}
	if (location != NULL && r.location != NULL) {
		*location = r.location;
		r.location = NULL;
	}
	if (retry_after != NULL)
		*retry_after = r.retry_after;
	rc = 0;
out:
	http_response_free(&r);
	return rc;
}

int
acme_post_json(struct acme *a, const char *url, json_t *payload,
    json_t **out, char **location, json_t **problem)
{
	return acme_post_json_all(a, url, payload, out, location, NULL,
	    problem);
}

int
acme_post_json_ra(struct acme *a, const char *url, json_t *payload,
    json_t **out, long *retry_after, json_t **problem)
{
	*retry_after = -1;
	return acme_post_json_all(a, url, payload, out, NULL, retry_after,
	    problem);
}

char *
acme_key_authz(struct acme *a, const char *token)
{
	char *tp, *out = NULL;
	size_t n;

	if ((tp = jws_thumbprint(a->key)) == NULL)
		return NULL;
	n = strlen(token) + strlen(tp) + 2;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s.%s", token, tp);
	free(tp);
	return out;
}

void
acme_close(struct acme *a)
{
	free(a->dir_url);
	json_decref(a->dir);
	free(a->nonce);
	EVP_PKEY_free(a->key);
	free(a->kid);
	free(a->key_path);
	memset(a, 0, sizeof(*a));
}

