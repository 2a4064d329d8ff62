/* account: the ACME account of a session (see account.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "afile.h"
#include "jws.h"
#include "key.h"
#include "state.h"

/*
 * The account URL cache: KEY.account beside the key, a JSON object mapping
 * directory URL to account URL, so that thousands of runs in parallel do
 * not each ask the CA. Replaced atomically; a lost race only rewrites the
 * same content.
 */
static int
account_cache_path(const char *key_path, char *buf, size_t len)
{
	return snprintf(buf, len, "%s.account", key_path) >= (int)len ? -1 : 0;
}

static void
account_cache_read(struct acme *a, const char *key_path)
{
	char path[PATH_MAX];
	json_t *c;
	const char *url;

	if (account_cache_path(key_path, path, sizeof(path)) != 0 ||
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
account_cache_write(struct acme *a, const char *key_path)
{
	char path[PATH_MAX], why[64];
	struct afile_chunk c[2];
	char *text = NULL;
	json_t *m;
	int rc = -1;

	if (account_cache_path(key_path, path, sizeof(path)) != 0)
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
account_new(struct acme *a, json_t *req, json_t **problem)
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
account_lookup(struct acme *a, json_t **problem)
{
	json_t *req;
	int rc;

	if ((req = json_pack("{s:b}", "onlyReturnExisting", 1)) == NULL)
		return -1;
	rc = account_new(a, req, problem);
	json_decref(req);
	return rc;
}

static int
account_register(struct acme *a, const struct acme_account_opts *o,
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
	rc = account_new(a, req, problem);
out:
	json_decref(req);
	return rc;
}

/* Loads the key, or creates it; *created says which. */
static int
account_load_key(struct acme *a, const char *path, int *created,
    json_t **problem)
{
	char why[512];
	EVP_PKEY *k = NULL;
	int w;

	*created = 0;
	if (access(path, F_OK) != 0 && errno == ENOENT && a->opts.existing) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s: no account key "
		    "there", path);
		return -1;
	}
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
account_find(struct acme *a, int created, json_t **problem)
{
	int rc = -1;

	a->in_login = 1;
	if (created || account_lookup(a, problem) != 0) {
		if (!created && (!acme_problem_is(*problem,
		    ACME_ERR("accountDoesNotExist")) || a->opts.existing))
			goto out;
		json_decref(*problem);
		*problem = NULL;
		if (account_register(a, &a->opts, problem) != 0)
			goto out;
	}
	(void)account_cache_write(a, a->key_path); /* a cache: best effort */
	rc = 0;
out:
	a->in_login = 0;
	return rc;
}

/* The path of KEY.new into buf. */
static int
account_pending_path(const char *key_path, char *buf, size_t len)
{
	return snprintf(buf, len, "%s" ACCOUNT_PENDING_SUFFIX, key_path) >=
	    (int)len ? -1 : 0;
}

/* 1 when problem is how CAs refuse an account's key or URL. */
static int
account_refused(const json_t *problem)
{
	return acme_problem_is(problem, ACME_ERR("accountDoesNotExist")) ||
	    acme_problem_is(problem, ACME_ERR("unauthorized")) ||
	    acme_problem_is(problem, ACME_ERR("malformed"));
}

/*
 * Another key in the key file than the one in use: acme-account rolled
 * it over while this process ran. Takes it; 1 when it did.
 */
static int
account_reload(struct acme *a)
{
	char why[256];
	EVP_PKEY *k;

	if ((k = key_load(a->key_path, why, sizeof(why))) == NULL ||
	    jws_alg(k) == NULL || EVP_PKEY_eq(k, a->key) == 1) {
		EVP_PKEY_free(k);
		return 0;
	}
	EVP_PKEY_free(a->key);
	a->key = k;
	return 1;
}

/*
 * The account URL the CA has for key k, asked with onlyReturnExisting
 * signed by k: 1 with *url (new string), 0 when k has none, -1 with
 * *problem when the CA could not say.
 */
static int
account_owner(struct acme *a, EVP_PKEY *k, char **url, json_t **problem)
{
	EVP_PKEY *key = a->key;
	char *kid = a->kid;
	int rc;

	a->key = k;
	a->kid = NULL;
	a->in_login = 1;
	rc = account_lookup(a, problem) == 0 ? 1 : acme_problem_is(*problem,
	    ACME_ERR("accountDoesNotExist")) ? 0 : -1;
	*url = a->kid;
	a->in_login = 0;
	a->key = key;
	a->kid = kid;
	if (rc == 0) {
		json_decref(*problem);
		*problem = NULL;
	}
	return rc;
}

/*
 * A rollover between the CA's answer and the rename: KEY.new holds the
 * account's key already. Takes it when the CA says so; 1 when it did.
 */
static int
account_adopt_pending(struct acme *a)
{
	char path[PATH_MAX], why[256], *url = NULL;
	json_t *problem = NULL;
	EVP_PKEY *k;
	int rc = 0;

	if (account_pending_path(a->key_path, path, sizeof(path)) != 0 ||
	    access(path, F_OK) != 0 ||
	    (k = key_load(path, why, sizeof(why))) == NULL)
		return 0;
	if (jws_alg(k) != NULL && EVP_PKEY_eq(k, a->key) != 1 &&
	    account_owner(a, k, &url, &problem) == 1 &&
	    (a->kid == NULL || strcmp(url, a->kid) == 0)) {
		EVP_PKEY_free(a->key);
		a->key = k;
		k = NULL;
		free(a->kid);
		a->kid = url;
		url = NULL;
		rc = 1;
	}
	EVP_PKEY_free(k);
	free(url);
	json_decref(problem);
	return rc;
}

/* acme.h's recover hook: see there, and account_login(). */
static int
account_recover(struct acme *a, const json_t *problem, json_t **out)
{
	if (problem == NULL)
		return account_find(a, 0, out) == 0 ? 1 : -1;
	if (!account_refused(problem))
		return 0;
	if (account_reload(a) || account_adopt_pending(a))
		return 1;
	/*
	 * A cached account URL the CA refuses is stale (a CA that forgot
	 * the account, a cache copied from elsewhere): look it up once.
	 */
	if (!a->kid_cached)
		return 0;
	free(a->kid);
	a->kid = NULL;
	a->kid_cached = 0;
	return account_find(a, 0, out) == 0 ? 1 : -1;
}

int
account_login(struct acme *a, const struct acme_account_opts *o,
    json_t **problem)
{
	int created;

	a->opts = *o;
	a->recover = account_recover;
	if ((a->key_path = strdup(o->key_path)) == NULL ||
	    account_load_key(a, o->key_path, &created, problem) != 0)
		return -1;
	if (!created)
		account_cache_read(a, o->key_path);
	if (a->kid != NULL)
		return 0;
	return account_find(a, created, problem);
}

/* The account object the CA answered, in account.h's form, into *out. */
static int
account_view(struct acme *a, json_t *acct, json_t **out, json_t **problem)
{
	json_t *contact = json_object_get(acct, "contact");
	char *tp;

	if (state_str(acct, "status") == NULL) {
		*problem = acme_problem(STATE_ERR_RESPONSE, "%s: not an "
		    "account", a->kid);
		return -1;
	}
	if ((tp = jws_thumbprint(a->key)) == NULL ||
	    (*out = json_pack("{s:s, s:O, s:o, s:s, s:s}", "url", a->kid,
	    "status", json_object_get(acct, "status"), "contact",
	    json_is_array(contact) ? json_incref(contact) : json_array(),
	    "thumbprint", tp, "directory", a->dir_url)) == NULL) {
		free(tp);
		*problem = acme_problem(STATE_ERR_LOCAL, "out of memory");
		return -1;
	}
	free(tp);
	return 0;
}

/* POSTs req (borrowed; NULL: POST-as-GET) to the account URL. */
static int
account_post(struct acme *a, json_t *req, json_t **out, json_t **problem)
{
	json_t *acct = NULL;
	char *url;
	int rc = -1;

	/* A copy: recovering the account may replace a->kid meanwhile. */
	if ((url = strdup(a->kid)) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "out of memory");
		return -1;
	}
	if (acme_post_json(a, url, req, &acct, NULL, problem) == 0)
		rc = account_view(a, acct, out, problem);
	json_decref(acct);
	free(url);
	return rc;
}

int
account_fetch(struct acme *a, json_t **out, json_t **problem)
{
	/* POST-as-GET: Pebble refuses the empty update RFC 8555 also has. */
	return account_post(a, NULL, out, problem);
}

int
account_set_contact(struct acme *a, json_t *contact, json_t **out,
    json_t **problem)
{
	json_t *req = json_pack("{s:O}", "contact", contact);
	int rc = account_post(a, req, out, problem);

	json_decref(req);
	return rc;
}

int
account_deactivate(struct acme *a, json_t **out, json_t **problem)
{
	json_t *req = json_pack("{s:s}", "status", "deactivated");
	int rc = account_post(a, req, out, problem);

	json_decref(req);
	return rc;
}

/* The pending key: KEY.new as it is, or made from new_path or anew. */
static EVP_PKEY *
account_pending_key(const char *pending, const char *new_path,
    const char *key_type, json_t **problem)
{
	char why[512];
	EVP_PKEY *k = NULL, *given = NULL;
	int w;

	if (new_path != NULL && (given = key_load(new_path, why,
	    sizeof(why))) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "new key %s", why);
		return NULL;
	}
	if (given == NULL && (given = key_generate(key_type)) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "cannot generate a "
		    "%s key", key_type);
		return NULL;
	}
	if (jws_alg(given) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s: account key must "
		    "be EC P-256, P-384 or RSA", new_path);
		goto out;
	}
	w = key_write_new(pending, given, why, sizeof(why));
	if (w == 0) {
		k = given;
		given = NULL;
		goto out;
	}
	if (w != -2) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s", why);
		goto out;
	}
	/* An interrupted rollover: the key the CA may already hold. */
	if ((k = key_load(pending, why, sizeof(why))) == NULL)
		*problem = acme_problem(STATE_ERR_LOCAL, "%s", why);
	else if (new_path != NULL && EVP_PKEY_eq(k, given) != 1) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s: left by an "
		    "interrupted rollover to another key: roll over without "
		    "a new key to finish it, or remove it", pending);
		EVP_PKEY_free(k);
		k = NULL;
	}
out:
	EVP_PKEY_free(given);
	return k;
}

/* KEY.new becomes KEY, durably; the cache is rewritten for the key. */
static int
account_commit(struct acme *a, const char *pending, json_t **problem)
{
	char dir[PATH_MAX], *slash;

	if (rename(pending, a->key_path) != 0) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s: cannot replace "
		    "%s: %s (the CA has the new key: rerun to finish)",
		    pending, a->key_path, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", a->key_path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	(void)afile_sync_dir(dir);
	(void)account_cache_write(a, a->key_path);
	return 0;
}

int
account_key_change(struct acme *a, const char *new_path,
    const char *key_type, json_t **out, json_t **problem)
{
	struct acme_signer inner_by;
	struct http_response r = { .retry_after = -1 };
	const char *url = acme_dir_url(a, "keyChange");
	char pending[PATH_MAX], *inner = NULL, *text = NULL, *owner = NULL;
	json_t *payload = NULL, *jws = NULL, *acct = NULL;
	EVP_PKEY *k = NULL;
	int rc = -1;

	if (url == NULL) {
		*problem = acme_problem(STATE_ERR_RESPONSE, "%s: the CA has no "
		    "keyChange", a->dir_url);
		return -1;
	}
	if (account_pending_path(a->key_path, pending, sizeof(pending)) != 0) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s: path too long",
		    a->key_path);
		return -1;
	}
	/* Confirms the key in use; may take KEY.new the CA already has. */
	if (account_fetch(a, &acct, problem) != 0)
		return -1;
	json_decref(acct);
	acct = NULL;
	if ((k = account_pending_key(pending, new_path, key_type,
	    problem)) == NULL)
		return -1;
	if (EVP_PKEY_eq(k, a->key) == 1) {
		EVP_PKEY_free(k);
		k = NULL;
		goto done; /* the CA took it before an interruption */
	}
	/*
	 * A key with an account of its own cannot take this one's place
	 * (RFC 8555 7.3.5: 409). Asked first, since CAs answer it
	 * differently (Pebble 2.4: serverInternal).
	 */
	switch (account_owner(a, k, &owner, problem)) {
	case 1:
		*problem = acme_problem(STATE_ERR_CONFLICT, "the new key "
		    "already has an account at the CA: %s; the key stays %s",
		    owner, a->key_path);
		(void)unlink(pending);
		goto out;
	case -1:
		goto out;
	}
	inner_by.key = k;
	inner_by.kid = NULL;
	if ((payload = json_pack("{s:s, s:o}", "account", a->kid, "oldKey",
	    jws_jwk(a->key))) == NULL ||
	    (text = json_dumps(payload, JSON_COMPACT)) == NULL ||
	    (inner = acme_sign(&inner_by, url, NULL, text)) == NULL ||
	    (jws = json_loads(inner, 0, NULL)) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "cannot sign the key "
		    "change");
		goto out;
	}
	if (acme_post(a, url, jws, &r, problem) != 0) {
		/* Refused: the CA kept the old key, and so does the file. */
		if (r.status >= 400)
			(void)unlink(pending);
		goto out;
	}
	EVP_PKEY_free(a->key);
	a->key = k;
	k = NULL;
done:
	if (account_commit(a, pending, problem) != 0 ||
	    account_fetch(a, out, problem) != 0)
		goto out;
	rc = 0;
out:
	http_response_free(&r);
	EVP_PKEY_free(k);
	json_decref(payload);
	json_decref(jws);
	free(inner);
	free(text);
	free(owner);
	return rc;
}
