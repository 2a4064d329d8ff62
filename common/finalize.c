/* finalize: from a ready order to a checked certificate. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "cert.h"
#include "finalize.h"
#include "key.h"
#include "order.h"
#include "poll.h"
#include "state.h"

/*
 * The certificate key: the one the document names when its file is still
 * there (a rerun after a failed finalize), else a new one in a new file.
 */
static EVP_PKEY *
finalize_key(json_t *doc, const struct finalize_opts *o, json_t **problem)
{
	const char *kp = state_str(json_object_get(doc, "key"), "path");
	char path[PATH_MAX], dir[PATH_MAX], why[512];
	const char *name;
	unsigned char rnd[6];
	EVP_PKEY *k;
	int i, n, w = -2;

	if (kp != NULL && access(kp, F_OK) == 0) {
		if ((k = key_load(kp, why, sizeof(why))) == NULL)
			*problem = acme_problem(STATE_ERR_LOCAL, "%s", why);
		return k;
	}
	if ((k = key_generate(o->key_type)) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL,
		    "cannot generate a %s key", o->key_type);
		return NULL;
	}
	/* The path must hold wherever the next step runs: absolute. */
	if ((mkdir(o->key_dir, 0700) != 0 && errno != EEXIST) ||
	    realpath(o->key_dir, dir) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s: %s", o->key_dir,
		    strerror(errno));
		goto fail;
	}
	snprintf(why, sizeof(why), "cannot make a unique key file name");
	/* A random name: parallel runs for one host never share a key. */
	for (i = 0; i < 5 && w == -2; i++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			break;
		/* "*.example.com" is named "_.example.com", as in the store. */
		name = json_string_value(json_array_get(json_object_get(doc,
		    "identifiers"), 0));
		n = snprintf(path, sizeof(path), "%s/%s%s.%02x%02x%02x%02x%02x"
		    "%02x.key", dir, name[0] == '*' ? "_" : "", name +
		    (name[0] == '*'), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		    rnd[5]);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			snprintf(why, sizeof(why), "key directory path too long");
			break;
		}
		w = key_write_new(path, k, why, sizeof(why));
	}
	if (w != 0) {
		*problem = acme_problem(STATE_ERR_LOCAL, "%s", why);
		goto fail;
	}
	if (json_object_set_new(doc, "key", json_pack("{s:s, s:s}", "path",
	    path, "type", o->key_type)) == 0)
		return k;
fail:
	EVP_PKEY_free(k);
	return NULL;
}

static int
finalize_have_key(const json_t *doc)
{
	const char *kp = state_str(json_object_get(doc, "key"), "path");

	return kp != NULL && access(kp, F_OK) == 0;
}

/*
 * Polls the order while it is processing, until deadline. sent: the CSR
 * was sent just now, so the order in doc is stale; otherwise doc holds it
 * as the CA gave it a moment ago. Each request comes after a wait
 * (asking at once would find the order still processing).
 */
static int
finalize_poll(struct acme *a, json_t *doc, long timeout, int sent,
    json_t **problem)
{
	static struct poll_learn learnt = POLL_LEARN_INIT;
	struct poll p;
	long ra = -1;

	poll_start_learnt(&p, timeout, &learnt);
	for (;;) {
		if (!sent && strcmp(order_status(doc), "processing") != 0) {
			poll_done(&p);
			return 0;
		}
		if (poll_wait(&p, ra) != 0) {
			*problem = acme_problem(STATE_ERR_TIMEOUT,
			    "order still processing when the timeout expired");
			return -1;
		}
		if (order_refresh(a, doc, 0, &ra, problem) != 0)
			return -1;
		sent = 0;
	}
}

/* Downloads one chain (new string in *pem). */
static int
finalize_fetch(struct acme *a, const char *url, char **pem, char ***alts,
    json_t **problem)
{
	struct http_response r = { .retry_after = -1 };
	int rc = -1;

	if (acme_post(a, url, NULL, &r, problem) != 0)
		goto out;
	if (r.content_type == NULL || strncmp(r.content_type,
	    "application/pem-certificate-chain", 33) != 0) {
		*problem = acme_problem(STATE_ERR_RESPONSE, "%s: content type "
		    "\"%s\", want application/pem-certificate-chain", url,
		    r.content_type != NULL ? r.content_type : "");
		goto out;
	}
	*pem = r.body;
	r.body = NULL;
	if (alts != NULL) {
		*alts = r.alternates;
		r.alternates = NULL;
	}
	rc = 0;
out:
	http_response_free(&r);
	return rc;
}

static void
finalize_free_list(char **l)
{
	size_t i;

	for (i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

/*
 * Downloads the certificate; with a preferred chain, the first alternate
 * whose top issuer has that name (the default chain when none has).
 */
static char *
finalize_download(struct acme *a, const char *url, const char *preferred,
    json_t **problem)
{
	char *pem = NULL, *alt = NULL, **alts = NULL, cn[256];
	size_t i;

	if (finalize_fetch(a, url, &pem, &alts, problem) != 0)
		return NULL;
	if (preferred == NULL || (cert_top_issuer(pem, strlen(pem), cn,
	    sizeof(cn)) == 0 && strcmp(cn, preferred) == 0))
		goto out;
	for (i = 0; alts != NULL && alts[i] != NULL; i++) {
		if (finalize_fetch(a, alts[i], &alt, NULL, problem) != 0)
			break;
		if (cert_top_issuer(alt, strlen(alt), cn, sizeof(cn)) == 0 &&
		    strcmp(cn, preferred) == 0) {
			free(pem);
			pem = alt;
			goto out;
		}
		free(alt);
		alt = NULL;
	}
	json_decref(*problem); /* no alternate matched: keep the default */
	*problem = NULL;
out:
	finalize_free_list(alts);
	return pem;
}

/* Checks the chain against key and names and records it. */
static int
finalize_accept(json_t *doc, EVP_PKEY *k, const char *pem, json_t **problem)
{
	struct cert_info ci;
	char why[512];

	if (cert_check(pem, strlen(pem), k, json_object_get(doc,
	    "identifiers"), &ci, why, sizeof(why)) != 0) {
		*problem = acme_problem(STATE_ERR_CERT, "refused: %s", why);
		return -1;
	}
	return json_object_set_new(doc, "certificate", json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s*}", "pem", pem, "notBefore",
	    ci.not_before, "notAfter", ci.not_after, "serial", ci.serial,
	    "issuer", ci.issuer, "certID", ci.ari_id[0] != '\0' ?
	    ci.ari_id : NULL));
}

/* Sends the CSR when the order is ready. */
static int
finalize_send(struct acme *a, json_t *doc, EVP_PKEY *k, json_t **problem)
{
	json_t *req = NULL, *o = NULL;
	char *csr, why[512];
	int rc = -1;

	if ((csr = cert_csr(k, json_object_get(doc, "identifiers"), why,
	    sizeof(why))) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "csr: %s", why);
		return -1;
	}
	if ((req = json_pack("{s:s}", "csr", csr)) != NULL &&
	    acme_post_json(a, state_str(json_object_get(doc, "order"),
	    "finalize"), req, &o, NULL, problem) == 0)
		rc = 0;
	free(csr);
	json_decref(req);
	json_decref(o);
	return rc;
}

int
finalize_order(struct acme *a, json_t *doc, const struct finalize_opts *o,
    const char *step)
{
	json_t *problem = NULL;
	EVP_PKEY *k = NULL;
	const char *st, *url;
	char *pem = NULL;
	int rc = -1, fresh = 0, sent;

	/*
	 * acme-challenge leaves the order ready: it is finalized without
	 * asking again. Any other status, or a CA that says the order is not
	 * ready after all (orderNotReady), is checked with the CA first.
	 */
	st = order_status(doc);
	if (st == NULL || strcmp(st, "ready") != 0) {
		if (order_refresh(a, doc, 0, NULL, &problem) != 0)
			goto out;
		fresh = 1;
	}
again:
	st = order_status(doc);
	if (strcmp(st, "pending") == 0 || strcmp(st, "invalid") == 0) {
		problem = json_is_object(json_object_get(json_object_get(doc,
		    "order"), "error")) ? json_deep_copy(json_object_get(
		    json_object_get(doc, "order"), "error")) : acme_problem(
		    ACME_ERR("orderNotReady"), "order is %s: %s", st,
		    st[0] == 'p' ? "run acme-challenge first" :
		    "rerun acme-order for a new order");
		goto out;
	}
	/* A new key only for a new CSR: later the key must be the one sent. */
	if (strcmp(st, "ready") != 0 && !finalize_have_key(doc)) {
		problem = acme_problem(STATE_ERR_LOCAL, "order is %s but the key"
		    " of its CSR is gone: rerun acme-order for a new order", st);
		goto out;
	}
	if (k == NULL && (k = finalize_key(doc, o, &problem)) == NULL)
		goto out;
	sent = strcmp(st, "ready") == 0;
	if (sent && finalize_send(a, doc, k, &problem) != 0) {
		if (fresh || !acme_problem_is(problem, ACME_ERR("orderNotReady")))
			goto out;
		json_decref(problem);
		problem = NULL;
		if (order_refresh(a, doc, 0, NULL, &problem) != 0)
			goto out;
		fresh = 1;
		goto again;
	}
	if (finalize_poll(a, doc, o->timeout, sent, &problem) != 0)
		goto out;
	if ((url = state_str(json_object_get(doc, "order"), "certificate")) ==
	    NULL || strcmp(order_status(doc), "valid") != 0) {
		problem = acme_problem(STATE_ERR_RESPONSE, "order is %s without"
		    " a certificate", order_status(doc));
		goto out;
	}
	if ((pem = finalize_download(a, url, o->preferred, &problem)) == NULL ||
	    finalize_accept(doc, k, pem, &problem) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		state_fail_problem(doc, step, problem, NULL);
	json_decref(problem);
	EVP_PKEY_free(k);
	free(pem);
	return rc;
}
