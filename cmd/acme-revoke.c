/*
 * acme-revoke: revokes the certificate of each document, the one it
 * carries or the one stored under its name, and records the revocation
 * in the document and the store.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert.h"
#include "client.h"
#include "conf.h"
#include "diag.h"
#include "key.h"
#include "revoke.h"
#include "state.h"
#include "store.h"
#include "stream.h"

#define STEP "acme-revoke"

struct ctx {
	struct client	 c;
	struct store	*store;    /* -s, or NULL */
	const char	*reason;   /* -r name, or NULL */
	int		 code;     /* its RFC 5280 code, -1 for none */
	int		 cert_key; /* --cert-key */
	const char	*store_opt; /* -s */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s %s\n\t[--cert-key] [-r reason] [-s store]\n",
	    diag_prog, CLIENT_USAGE);
}

/*
 * The chain to revoke, and with --cert-key its key: the document's
 * certificate.pem and key.path, else the store's file for the first
 * name. *pem is the caller's (key_pem_free(*pem, *size)); 0 or -1 with
 * the failure recorded.
 */
static int
load(struct ctx *x, json_t *doc, const char *name, char **pem,
    size_t *len, size_t *size, EVP_PKEY **k)
{
	const json_t *cert = json_object_get(doc, "certificate");
	const char *path = state_str(json_object_get(doc, "key"), "path");
	char why[512];
	size_t off;
	int rc;

	if (state_str(cert, "pem") != NULL) {
		*len = strlen(state_str(cert, "pem"));
		*size = *len + 1;
		if ((*pem = strdup(state_str(cert, "pem"))) == NULL)
			return -1;
		if (!x->cert_key)
			return 0;
		if (path == NULL) {
			state_fail(doc, STEP, STATE_ERR_INPUT, name, "--cert-key:"
			    " the document has no key.path for its certificate");
			return -1;
		}
		if ((*k = key_load(path, why, sizeof(why))) == NULL) {
			state_fail(doc, STEP, STATE_ERR_LOCAL, name, "%s", why);
			return -1;
		}
		return 0;
	}
	if (x->store == NULL) {
		state_fail(doc, STEP, STATE_ERR_INPUT, name, "no certificate: "
		    "the document has no certificate.pem, and no --store");
		return -1;
	}
	if ((rc = store_read(x->store, name, pem, len, &off, why,
	    sizeof(why))) != 0) {
		state_fail(doc, STEP, rc == 1 ? STATE_ERR_INPUT : STATE_ERR_STORE,
		    name, "%s", why);
		return -1;
	}
	*size = *len + 1;
	if (x->cert_key && (*k = key_parse(*pem + off, *len - off)) == NULL) {
		state_fail(doc, STEP, STATE_ERR_LOCAL, name, "%s: stored "
		    "without a private key", name);
		return -1;
	}
	*len = off; /* the chain alone */
	return 0;
}

/* 1 when doc records the revocation of serial already (a rerun). */
static int
done(const json_t *doc, const char *serial)
{
	const char *s = state_str(json_object_get(doc, "revoked"), "serial");

	return s != NULL && strcmp(s, serial) == 0;
}

static int
step(json_t *doc, void *arg)
{
	struct ctx *x = arg;
	struct cert_info info;
	struct acme *a;
	json_t *problem = NULL, *rec;
	EVP_PKEY *k = NULL;
	const char *name;
	char *pem = NULL, why[512], t[32];
	size_t len = 0, size = 0;
	long long now = (long long)time(NULL);
	int rc = -1;

	if (state_check(doc, STEP) != 0)
		return -1;
	name = json_string_value(json_array_get(json_object_get(doc,
	    "identifiers"), 0));
	if (load(x, doc, name, &pem, &len, &size, &k) != 0)
		goto out;
	if (cert_check(pem, len, NULL, NULL, &info, why, sizeof(why)) != 0) {
		state_fail(doc, STEP, STATE_ERR_CERT, name, "%s", why);
		goto out;
	}
	if (done(doc, info.serial)) {
		rc = 0;
		goto out;
	}
	if ((a = client_acme(&x->c, doc, STEP)) == NULL)
		goto out;
	if (revoke_cert(a, pem, len, x->code, k, &problem) != 0) {
		state_fail_problem(doc, STEP, problem, name);
		goto out;
	}
	if ((rec = json_pack("{s:s, s:s}", "time", state_time(now, t,
	    sizeof(t)), "serial", info.serial)) == NULL)
		goto out;
	if (x->reason != NULL)
		json_object_set_new(rec, "reason", json_string(x->reason));
	json_object_set_new(doc, "revoked", rec);
	if (x->store != NULL && revoke_record(x->store, json_object_get(doc,
	    "identifiers"), info.serial, x->reason, now, why,
	    sizeof(why)) < 0) {
		state_fail(doc, STEP, STATE_ERR_STORE, name, "revoked, but "
		    "not recorded in the store: %s", why);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(k);
	if (pem != NULL)
		key_pem_free(pem, size);
	json_decref(problem);
	return rc;
}

/* stream_run_ctx()'s hooks: one context per document in flight. */
static int
setup_one(void *v, char *why, size_t whylen)
{
	struct store_opts so = { 0640, (gid_t)-1, 1, 0 };
	struct ctx *x = v;

	if (client_setup(&x->c, why, whylen) != 0)
		return -1;
	if (x->store_opt != NULL && (x->store = store_open(x->store_opt, &so,
	    why, whylen)) == NULL)
		return -1;
	return 0;
}

static void
done_one(void *v)
{
	struct ctx *x = v;

	store_close(x->store);
	client_close(&x->c);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = { CLIENT_LONGOPTS,
	    { "cert-key", no_argument, NULL, 'K' },
	    { "reason", required_argument, NULL, 'r' },
	    { "store", required_argument, NULL, 's' },
	    { NULL, 0, NULL, 0 } };
	struct ctx x;
	struct stream_ctx sc = { &x, sizeof(x), setup_one, done_one };
	char why[512];
	unsigned n;
	int ch;

	memset(&x, 0, sizeof(x));
	x.code = -1;
	diag_init(argv);
	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS "r:s:", longopts,
	    NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (ch == 'K')
			x.cert_key = 1;
		else if (ch == 'r')
			x.reason = optarg;
		else if (ch == 's')
			x.store_opt = optarg;
		else if (!client_option(&x.c, ch, optarg)) {
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		diag_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (x.reason != NULL && (x.code = revoke_reason(x.reason)) < 0) {
		diag_warnx("--reason %s: not one of %s", x.reason,
		    REVOKE_REASONS);
		return 2;
	}
	/* Revoking never registers; with --cert-key no account is used. */
	x.c.existing = 1;
	x.c.no_account = x.cert_key;
	x.store_opt = conf_value(CONF_V_STORE, x.store_opt);
	if ((n = client_in_flight(&x.c, why, sizeof(why))) == 0) {
		diag_warnx("%s", why);
		return 2;
	}
	return stream_run_ctx(stdin, "<stdin>", stdout, step, &sc, n);
}
