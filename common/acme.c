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
#include "afile.h"
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

/* One signed POST; kid when known, jwk otherwise (RFC 8555 6.2). */
static int
acme_post_once(struct acme *a, const char *url, const char *payload,
    struct http_response *r, json_t **problem)
{
	json_t *hdr = NULL;
	char *body = NULL, why[512];
	int herr, rc = -1;

	if (!acme_same_origin(a, url)) {
		*problem = acme_problem(STATE_ERR_INPUT, "%s: not at the CA's"
		    " address %s", url, a->dir_url);
		return -1;
	}
	if (acme_get_nonce(a, problem) != 0)
		return -1;
	hdr = json_pack("{s:s, s:s}", "nonce", a->nonce, "url", url);
	if (hdr == NULL || (a->kid != NULL ? json_object_set_new(hdr, "kid",
	    json_string(a->kid)) : json_object_set_new(hdr, "jwk",
	    jws_jwk(a->key))) != 0 ||
	    (body = jws_sign(a->key, hdr, payload)) == NULL) {
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
	json_decref(hdr);
	free(body);
	return rc;
}

int
acme_problem_is(const json_t *problem, const char *type)
{
	const char *t = state_str(problem, "type");

	return t != NULL && strcmp(t, type) == 0;
}

static int acme_account(struct acme *, int, json_t **);

/*
 * A cached account URL the CA refuses is stale (a CA that forgot the
 * account, a cache copied from elsewhere): CAs answer accountDoesNotExist,
 * unauthorized or malformed for an unknown kid.
 */
static int
acme_stale_kid(const struct acme *a, const json_t *problem)
{
	return a->kid_cached && (acme_problem_is(problem,
	    ACME_ERR("accountDoesNotExist")) || acme_problem_is(problem,
	    ACME_ERR("unauthorized")) || acme_problem_is(problem, ACME_ERR("malformed")));
}

int
acme_post(struct acme *a, const char *url, json_t *payload,
    struct http_response *r, json_t **problem)
{
	char *ps = NULL;
	int i, rc = -1, busy = 0;

	/* The account was lost on the way (see below): find it first. */
	if (a->kid == NULL && a->key_path != NULL && !a->in_login &&
	    acme_account(a, 0, problem) != 0)
		return -1;
	if (payload != NULL && (ps = json_dumps(payload, JSON_COMPACT)) == NULL)
		return -1;
	for (i = 0; i <= ACME_NONCE_RETRIES; i++) {
		json_decref(*problem);
		*problem = NULL;
		if ((rc = acme_post_once(a, url, ps != NULL ? ps : "", r,
		    problem)) == 0)
			break;
		if (acme_problem_is(*problem, ACME_ERR("badNonce")))
			continue;
		if (r->status == 503 && r->retry_after >= 0 &&
		    r->retry_after <= ACME_BUSY_WAIT_MAX &&
		    busy++ < ACME_BUSY_RETRIES) {
			sleep((unsigned)(r->retry_after > 0 ? r->retry_after : 1));
			continue;
		}
		if (acme_stale_kid(a, *problem)) {
			/* Look the account up once, again, then retry. */
			free(a->kid);
			a->kid = NULL;
			a->kid_cached = 0;
			json_decref(*problem);
			*problem = NULL;
			if ((rc = acme_account(a, 0, problem)) != 0)
				break;
			continue;
		}
		break;
	}
	if (rc == 0 && !a->in_login)
		a->kid_cached = 0; /* the CA accepted it */
	free(ps);
	return rc;
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

/*
 * The account URL cache: KEY.account beside the key, a JSON object mapping
 * directory URL to account URL, so that thousands of runs in parallel do
 * not each ask the CA. Replaced atomically; a lost race only rewrites the
 * same content.
 */
static int
acme_cache_path(const char *key_path, char *buf, size_t len)
{
	return snprintf(buf, len, "%s.account", key_path) >= (int)len ? -1 : 0;
}

static void
acme_cache_read(struct acme *a, const char *key_path)
{
	char path[PATH_MAX];
	json_t *c;
	const char *url;

	if (acme_cache_path(key_path, path, sizeof(path)) != 0 ||
	    (c = json_load_file(path, 0, NULL)) == NULL)
		return;
	if ((url = state_str(c, a->dir_url)) != NULL &&
	    (a->kid = strdup(url)) != NULL)
		a->kid_cached = 1;
	json_decref(c);
}

/*
 * Not durable (afile.h): a cache lost to a power cut is rebuilt with
 * onlyReturnExisting.
 */
static int
acme_cache_write(struct acme *a, const char *key_path)
{
	char path[PATH_MAX], why[64];
	struct afile_chunk c[2];
	char *text = NULL;
	json_t *m;
	int rc = -1;

	if (acme_cache_path(key_path, path, sizeof(path)) != 0)
		return -1;
	if ((m = json_load_file(path, 0, NULL)) == NULL || !json_is_object(m)) {
		json_decref(m);
		m = json_object();
	}
	if (m == NULL || json_object_set_new(m, a->dir_url,
	    json_string(a->kid)) != 0 ||
	    (text = json_dumps(m, JSON_COMPACT)) == NULL)
		goto out;
	c[0].p = text;
	c[0].len = strlen(text);
	c[1].p = "\n";
	c[1].len = 1;
	rc = afile_write(path, NULL, NULL, c, 2, 0600, (gid_t)-1, 0, NULL, why,
	    sizeof(why));
out:
	free(text);
	json_decref(m);
	return rc;
}

/* Posts req to newAccount; the account URL (Location) becomes a->kid. */
static int
acme_new_account(struct acme *a, json_t *req, json_t **problem)
{
	json_t *acct = NULL;
	char *loc = NULL;
	int rc = -1;

	if (acme_post_json(a, acme_dir_url(a, "newAccount"), req, &acct, &loc,
	    problem) != 0)
		goto out;
	if (loc == NULL) {
		*problem = acme_problem(STATE_ERR_RESPONSE,
		    "newAccount answered without Location");
		goto out;
	}
	a->kid = loc;
	loc = NULL;
	rc = 0;
out:
	json_decref(acct);
	free(loc);
	return rc;
}

/* newAccount with onlyReturnExisting: the account URL of a known key. */
static int
acme_lookup(struct acme *a, json_t **problem)
{
	json_t *req;
	int rc;

	if ((req = json_pack("{s:b}", "onlyReturnExisting", 1)) == NULL)
		return -1;
	rc = acme_new_account(a, req, problem);
	json_decref(req);
	return rc;
}

static int
acme_register(struct acme *a, const struct acme_account_opts *o,
    json_t **problem)
{
	json_t *req = NULL, *eab;
	int rc = -1;

	if (!o->agree_tos) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s: no account at %s"
		    " for this key; registering needs --agree-tos", o->key_path,
		    a->dir_url);
		return -1;
	}
	if ((req = json_pack("{s:b}", "termsOfServiceAgreed", 1)) == NULL)
		return -1;
	if (o->contact != NULL && json_object_set_new(req, "contact",
	    json_pack("[s]", o->contact)) != 0)
		goto out;
	if (o->eab_kid != NULL && o->eab_hmac != NULL) {
		eab = jws_eab(o->eab_kid, o->eab_hmac,
		    acme_dir_url(a, "newAccount"), a->key);
		if (eab == NULL) {
			*problem = acme_problem(STATE_ERR_LOCAL,
			    "cannot make the external account binding"
			    " (is --eab-hmac-key base64url?)");
			goto out;
		}
		json_object_set_new(req, "externalAccountBinding", eab);
	}
	rc = acme_new_account(a, req, problem);
out:
	json_decref(req);
	return rc;
}

/* Loads the key, or creates it; *created says which. */
static int
acme_load_key(struct acme *a, const char *path, int *created,
    json_t **problem)
{
	char why[512];
	EVP_PKEY *k = NULL;
	int w;

	*created = 0;
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		if ((k = key_generate("ec-p256")) == NULL) {
			*problem = acme_problem(STATE_ERR_LOCAL,
			    "cannot generate an account key");
			return -1;
		}
		w = key_write_new(path, k, why, sizeof(why));
		if (w == 0) {
			a->key = k;
			*created = 1;
			return 0;
		}
		EVP_PKEY_free(k);
		if (w != -2) { /* -2: another process made it first: use it */
			*problem = acme_problem(STATE_ERR_LOCAL, "%s", why);
			return -1;
		}
	}
	if ((a->key = key_load(path, why, sizeof(why))) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "account key %s", why);
		return -1;
	}
	if (jws_alg(a->key) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL,
		    "%s: account key must be EC P-256, P-384 or RSA", path);
		return -1;
	}
	return 0;
}

/*
 * Finds the account URL of a->key: asks the CA (onlyReturnExisting) unless
 * the key was just created, and registers when there is none.
 */
static int
acme_account(struct acme *a, int created, json_t **problem)
{
	int rc = -1;

	a->in_login = 1;
	if (created || acme_lookup(a, problem) != 0) {
		if (!created && !acme_problem_is(*problem,
		    ACME_ERR("accountDoesNotExist")))
			goto out;
		json_decref(*problem);
		*problem = NULL;
		if (acme_register(a, &a->opts, problem) != 0)
			goto out;
	}
	(void)acme_cache_write(a, a->key_path); /* a cache: best effort */
	rc = 0;
out:
	a->in_login = 0;
	return rc;
}

int
acme_login(struct acme *a, const struct acme_account_opts *o,
    json_t **problem)
{
	int created;

	a->opts = *o;
	if ((a->key_path = strdup(o->key_path)) == NULL ||
	    acme_load_key(a, o->key_path, &created, problem) != 0)
		return -1;
	if (!created)
		acme_cache_read(a, o->key_path);
	if (a->kid != NULL)
		return 0;
	return acme_account(a, created, problem);
}
