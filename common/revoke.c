/* revoke: certificate revocation (see revoke.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "revoke.h"
#include "state.h"

/* RFC 5280 5.3.1; code 7 is unused. */
static const char *const revoke_names[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL", "privilegeWithdrawn", "aACompromise",
};

int
revoke_reason(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(revoke_names) /
	    sizeof(revoke_names[0]); i++)
		if (revoke_names[i] != NULL && strcmp(name,
		    revoke_names[i]) == 0)
			return (int)i;
	return -1;
}

int
revoke_cert(struct acme *a, const char *chain, size_t len, int reason,
    EVP_PKEY *cert_key, json_t **problem)
{
	struct http_response r = { .retry_after = -1 };
	struct acme_signer by = { cert_key, NULL };
	const char *url = acme_dir_url(a, "revokeCert");
	char why[256], *der;
	json_t *req = NULL;
	int rc = -1;

	if (url == NULL) {
		*problem = acme_problem(STATE_ERR_RESPONSE, "%s: the CA has no "
		    "revokeCert", a->dir_url);
		return -1;
	}
	if ((der = cert_leaf_b64url(chain, len, why, sizeof(why))) == NULL) {
		*problem = acme_problem(STATE_ERR_CERT, "%s", why);
		return -1;
	}
	if ((req = json_pack("{s:s}", "certificate", der)) == NULL ||
	    (reason >= 0 && json_object_set_new(req, "reason",
	    json_integer(reason)) != 0)) {
		*problem = acme_problem(STATE_ERR_LOCAL, "out of memory");
		goto out;
	}
	rc = cert_key != NULL ? acme_post_signed(a, &by, url, req, &r,
	    problem) : acme_post(a, url, req, &r, problem);
out:
	http_response_free(&r);
	json_decref(req);
	free(der);
	return rc;
}

int
revoke_record(struct store *s, const json_t *names, const char *serial,
    const char *reason, long long when, char *why, size_t whylen)
{
	char t[32];
	json_t *v, *rec;
	size_t i;
	int n = 0, rc;

	if ((rec = json_pack("{s:s, s:s}", "time", state_time(when, t,
	    sizeof(t)), "serial", serial)) == NULL || (reason != NULL &&
	    json_object_set_new(rec, "reason", json_string(reason)) != 0)) {
		json_decref(rec);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	json_array_foreach(names, i, v) {
		rc = store_set_member(s, json_string_value(v), serial,
		    "revoked", rec, why, whylen);
		if (rc < 0) {
			n = -1;
			break;
		}
		n += rc == 0;
	}
	json_decref(rec);
	return n;
}
