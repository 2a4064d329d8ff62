/*
 * certstore-put: stores each document's certificate and key under every
 * one of its identifiers, deletes the key file and marks the document
 * "stored"; records failed documents in the store's failure bookkeeping.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cert.h"
#include "conf.h"
#include "diag.h"
#include "key.h"
#include "state.h"
#include "store.h"
#include "stream.h"

#define STEP "certstore-put"
#define KEY_MAX (64 * 1024)

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-v] [-g group] [-m mode] [-s dir]\n", diag_prog);
}

/*
 * A failed document: its error goes into every name's metadata, unless
 * the document itself was bad (then no name was attempted).
 */
static void
record(struct store *s, const json_t *doc)
{
	const json_t *id, *err = json_object_get(doc, "error");
	const char *type = state_str(err, "type");
	char why[512];
	size_t i;

	if (type != NULL && (strcmp(type, STATE_ERR_INPUT) == 0 ||
	    strcmp(type, STATE_ERR_IDENTIFIER) == 0))
		return;
	json_array_foreach(json_object_get(doc, "identifiers"), i, id)
		if (store_record_failure(s, json_string_value(id), err, why,
		    sizeof(why)) != 0)
			diag_warnx("cannot record failure: %s", why);
}

/* Stores chain and key under every identifier. */
static int
put(struct store *s, json_t *doc, const char *chain, const char *kpath)
{
	json_t *ids = json_object_get(doc, "identifiers"), *meta = NULL, *id;
	struct cert_info ci;
	EVP_PKEY *k = NULL;
	char *pem = NULL, why[512];
	size_t i, len = 0;
	int rc = -1;

	if ((pem = key_read_file(kpath, KEY_MAX, &len, why, sizeof(why))) ==
	    NULL || (k = key_load(kpath, why, sizeof(why))) == NULL) {
		state_fail(doc, STEP, STATE_ERR_LOCAL, NULL, "%s", why);
		goto out;
	}
	if (cert_check(chain, strlen(chain), k, ids, &ci, why,
	    sizeof(why)) != 0) {
		state_fail(doc, STEP, STATE_ERR_CERT, NULL, "%s", why);
		goto out;
	}
	meta = json_pack("{s:O,s:s,s:s,s:s,s:s}", "identifiers", ids,
	    "notBefore", ci.not_before, "notAfter", ci.not_after, "serial",
	    ci.serial, "issuer", ci.issuer);
	if (meta == NULL || state_set_str(meta, "certID",
	    ci.ari_id[0] != '\0' ? ci.ari_id : NULL) != 0 ||
	    state_set_str(meta, "keyType",
	    state_str(json_object_get(doc, "key"), "type")) != 0 ||
	    state_set_str(meta, "directory", state_str(doc, "directory")) != 0) {
		state_fail(doc, STEP, STATE_ERR_LOCAL, NULL, "out of memory");
		goto out;
	}
	json_array_foreach(ids, i, id) {
		if (store_put(s, json_string_value(id), chain, pem, len, meta,
		    why, sizeof(why)) != 0) {
			state_fail(doc, STEP, STATE_ERR_LOCAL,
			    json_string_value(id), "%s", why);
			goto out;
		}
		diag_verbose(1, "%s: stored, not after %s",
		    json_string_value(id), ci.not_after);
	}
	rc = 0;
out:
	json_decref(meta);
	EVP_PKEY_free(k);
	key_pem_free(pem, len + 1);
	return rc;
}

/*
 * 1 when the key file is gone because an earlier run already stored this
 * very certificate (and its output was lost).
 */
static int
stored_before(struct store *s, json_t *doc, const char *chain,
    const char *kpath)
{
	struct cert_info ci;
	char why[256];

	return access(kpath, F_OK) != 0 && errno == ENOENT &&
	    cert_check(chain, strlen(chain), NULL, NULL, &ci, why,
	    sizeof(why)) == 0 &&
	    store_has(s, json_object_get(doc, "identifiers"), ci.serial);
}

static int
step(json_t *doc, void *arg)
{
	struct store *s = arg;
	const char *chain, *kpath;
	json_t *stored = NULL;
	char now[32];

	if (state_failed(doc)) {
		record(s, doc);
		return -1;
	}
	if (json_is_object(json_object_get(doc, "stored")))
		return 0; /* rerun on our own output */
	if (state_check(doc, STEP) != 0)
		return -1;
	chain = state_str(json_object_get(doc, "certificate"), "pem");
	kpath = state_str(json_object_get(doc, "key"), "path");
	if (chain == NULL || kpath == NULL) {
		state_fail(doc, STEP, STATE_ERR_INPUT, NULL, chain == NULL ?
		    "no certificate in document" : "no key.path in document");
		return -1;
	}
	if (!stored_before(s, doc, chain, kpath) &&
	    put(s, doc, chain, kpath) != 0)
		return -1;
	/* The key now lives in the store only. */
	if (unlink(kpath) != 0 && errno != ENOENT) {
		state_fail(doc, STEP, STATE_ERR_LOCAL, NULL, "%s: %s", kpath,
		    strerror(errno));
		return -1;
	}
	if ((stored = json_pack("{s:s,s:O}", "time",
	    state_time(0, now, sizeof(now)), "names",
	    json_object_get(doc, "identifiers"))) == NULL ||
	    json_object_set_new(doc, "stored", stored) != 0) {
		state_fail(doc, STEP, STATE_ERR_LOCAL, NULL, "out of memory");
		return -1;
	}
	(void)json_object_del(doc, "key");
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "group", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *dir = NULL, *group = NULL, *mode = NULL;
	struct store_opts o;
	struct store *s = NULL;
	char why[512];
	int ch, status;

	diag_init(argv);
	while ((ch = getopt_long(argc, argv, "s:g:m:vh", longopts, NULL)) !=
	    -1) {
		if (ch == 's')
			dir = optarg;
		else if (ch == 'g')
			group = optarg;
		else if (ch == 'm')
			mode = optarg;
		else if (ch == 'v')
			diag_verbosity++;
		else {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		diag_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return 2;
	}
	if ((dir = conf_get(dir, "ACMEPIPE_STORE", NULL)) == NULL) {
		diag_warnx("--store: missing (or set ACMEPIPE_STORE)");
		return 2;
	}
	group = conf_get(group, "ACMEPIPE_GROUP", NULL);
	mode = conf_get(mode, "ACMEPIPE_MODE", NULL);
	if (store_opts_parse(&o, group, mode, why, sizeof(why)) != 0 ||
	    (s = store_open(dir, &o, why, sizeof(why))) == NULL) {
		diag_warnx("%s", why);
		return 2;
	}
	status = stream_run_all(stdin, "<stdin>", stdout, step, s);
	store_close(s);
	if (fclose(stdout) == EOF && status != 2) {
		diag_warnx("<stdout>: %s", strerror(errno));
		status = 2;
	}
	return status;
}
