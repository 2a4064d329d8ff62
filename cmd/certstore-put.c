/*
 * certstore-put: stores each document's certificate and key under every
 * one of its identifiers, deletes the key file and marks the document
 * "stored"; records failed documents in the store's failure bookkeeping.
 * Either way the lease a document carries from cert-expiring ends.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "lease.h"
#include "state.h"
#include "store.h"
#include "stream.h"

#define STEP "certstore-put"

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-v] [-g group] [-m mode] [-s dir]\n", diag_prog);
}

/*
 * A failed document: its error goes into every name's metadata, and its
 * lease ends.
 */
static void
record(struct store *s, const json_t *doc)
{
	const json_t *id, *err = json_object_get(doc, "error");
	char why[512];
	size_t i;

	json_array_foreach(json_object_get(doc, "identifiers"), i, id)
		if (store_record_failure(s, json_string_value(id), err,
		    lease_id(doc), why, sizeof(why)) != 0)
			diag_warnx("cannot record failure: %s", why);
}

/* A document that fails here: its lease ends all the same. */
static int
fail_here(struct store *s, json_t *doc)
{
	char why[512];

	if (lease_end(s, doc, why, sizeof(why)) != 0)
		diag_warnx("cannot end lease: %s", why);
	return -1;
}

/* -v: each name stored, with the end of its certificate's validity. */
static void
say_stored(struct store *s, const json_t *names)
{
	const json_t *id;
	json_t *m;
	size_t i;

	json_array_foreach(names, i, id) {
		m = store_get(s, json_string_value(id));
		diag_verbose(1, "%s: stored, not after %s",
		    json_string_value(id), state_str(m, "notAfter") != NULL ?
		    state_str(m, "notAfter") : "?");
		json_decref(m);
	}
}

static int
step(json_t *doc, void *arg)
{
	struct store *s = arg;
	struct store_issued in;
	const char *chain, *kpath, *type, *failed;
	json_t *stored = NULL;
	char now[32], why[512];

	if (state_failed(doc)) {
		record(s, doc);
		return -1;
	}
	if (json_is_object(json_object_get(doc, "stored")))
		return 0; /* rerun on our own output */
	if (state_check(doc, STEP) != 0)
		return fail_here(s, doc);
	chain = state_str(json_object_get(doc, "certificate"), "pem");
	kpath = state_str(json_object_get(doc, "key"), "path");
	if (chain == NULL || kpath == NULL) {
		state_fail(doc, STEP, STATE_ERR_INPUT, NULL, chain == NULL ?
		    "no certificate in document" : "no key.path in document");
		return fail_here(s, doc);
	}
	in.names = json_object_get(doc, "identifiers");
	in.chain = chain;
	in.key_path = kpath;
	in.key_type = state_str(json_object_get(doc, "key"), "type");
	in.directory = state_str(doc, "directory");
	in.lease = lease_id(doc);
	if (store_put_issued(s, &in, &type, &failed, why, sizeof(why)) != 0) {
		state_fail(doc, STEP, type, failed, "%s", why);
		return fail_here(s, doc);
	}
	if (diag_verbosity >= 1)
		say_stored(s, in.names);
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
	if ((dir = conf_value(CONF_V_STORE, dir)) == NULL) {
		diag_warnx("--store: missing (or set %s)", CONF_ENV(STORE));
		return 2;
	}
	group = conf_value(CONF_V_GROUP, group);
	mode = conf_value(CONF_V_MODE, mode);
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
