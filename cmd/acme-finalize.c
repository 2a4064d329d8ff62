/*
 * acme-finalize: makes the certificate key and CSR, finalizes the order,
 * downloads and checks the certificate.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "conf.h"
#include "diag.h"
#include "finalize.h"
#include "key.h"
#include "state.h"
#include "store.h"
#include "stream.h"

#define STEP "acme-finalize"

struct ctx {
	struct client		c;
	struct finalize_opts	o;
	struct store		*store; /* for its private area, or NULL */
	const char		*store_opt, *timeout_opt; /* -s, -W */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s %s\n\t[-D dir | -s dir] [-K type] [-P issuer]"
	    " [-W seconds]\n", diag_prog, CLIENT_USAGE);
}

static int
step(json_t *doc, void *arg)
{
	struct ctx *x = arg;
	struct acme *a;

	if (state_check(doc, STEP) != 0)
		return -1;
	if (json_is_object(json_object_get(doc, "certificate")))
		return 0; /* done before: resumable */
	if (state_str(json_object_get(doc, "order"), "url") == NULL) {
		state_fail(doc, STEP, STATE_ERR_INPUT, NULL,
		    "no order in document: run acme-order first");
		return -1;
	}
	if ((a = client_acme(&x->c, doc, STEP)) == NULL)
		return -1;
	if (finalize_order(a, doc, &x->o, STEP) != 0)
		return -1;
	/* Without it (no memory) a next step only asks the CA again. */
	(void)client_stamp(&x->c, doc);
	return 0;
}

static int
setup(struct ctx *x, const char *store, const char *timeout, char *why,
    size_t whylen)
{
	const char *t;

	x->o.key_type = conf_value(CONF_V_KEY_TYPE, x->o.key_type);
	x->o.preferred = conf_value(CONF_V_PREFERRED_CHAIN, x->o.preferred);
	/* --store is an option: it beats ACMEPIPE_KEY_DIR. */
	if (x->o.key_dir == NULL && store == NULL)
		x->o.key_dir = conf_value(CONF_V_KEY_DIR, NULL);
	store = conf_value(CONF_V_STORE, store);
	if (x->o.key_dir == NULL && store != NULL) {
		/* The store's private area (see acmepipe-store(5)). */
		if ((x->store = store_open(store, NULL, why, whylen)) == NULL)
			return -1;
		x->o.key_dir = store_private_dir(x->store);
	}
	if (x->o.key_dir == NULL) {
		snprintf(why, whylen, "no place for keys: give --key-dir or"
		    " --store");
		return -1;
	}
	if (!key_type_valid(x->o.key_type)) {
		snprintf(why, whylen, "unknown key type: %s (ec-p256, ec-p384,"
		    " rsa2048, rsa3072, rsa4096)", x->o.key_type);
		return -1;
	}
	t = conf_value(CONF_V_TIMEOUT, timeout);
	x->o.timeout = conf_seconds(t);
	if (x->o.timeout < 0) {
		snprintf(why, whylen, "timeout: not a number of seconds: %s", t);
		return -1;
	}
	return client_setup(&x->c, why, whylen);
}

/* stream_run_ctx()'s hooks: one context per document in flight. */
static int
setup_one(void *v, char *why, size_t whylen)
{
	struct ctx *x = v;

	return setup(x, x->store_opt, x->timeout_opt, why, whylen);
}

static void
done_one(void *v)
{
	struct ctx *x = v;

	client_close(&x->c);
	store_close(x->store);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = { CLIENT_LONGOPTS,
	    { "key-dir", required_argument, NULL, 'D' },
	    { "store", required_argument, NULL, 's' },
	    { "key-type", required_argument, NULL, 'K' },
	    { "preferred-chain", required_argument, NULL, 'P' },
	    { "timeout", required_argument, NULL, 'W' },
	    { NULL, 0, NULL, 0 } };
	struct ctx x;
	struct stream_ctx sc = { &x, sizeof(x), setup_one, done_one };
	char why[512];
	unsigned n;
	int ch;

	memset(&x, 0, sizeof(x));
	diag_init(argv);
	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS "D:s:K:P:W:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': usage(stdout); return 0;
		case 'D': x.o.key_dir = optarg; break;
		case 's': x.store_opt = optarg; break;
		case 'K': x.o.key_type = optarg; break;
		case 'P': x.o.preferred = optarg; break;
		case 'W': x.timeout_opt = optarg; break;
		default:
			if (!client_option(&x.c, ch, optarg)) {
				usage(stderr);
				return 2;
			}
		}
	}
	if (optind != argc) {
		diag_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return 2;
	}
	if ((n = client_in_flight(&x.c, why, sizeof(why))) == 0) {
		diag_warnx("%s", why);
		return 2;
	}
	return stream_run_ctx(stdin, "<stdin>", stdout, step, &sc, n);
}
