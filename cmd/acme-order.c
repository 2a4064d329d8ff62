/*
 * acme-order: creates (or refreshes) the ACME order for each document's
 * identifiers and records the order and its authorizations.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "conf.h"
#include "diag.h"
#include "order.h"
#include "preflight.h"
#include "state.h"
#include "stream.h"

#define STEP "acme-order"

struct ctx {
	struct client	 c;
	const char	*profile; /* certificate profile, or NULL */
	struct preflight pf;      /* --points-to, --caa-identity */
	const char	*points, *caa, *resolver; /* -O, -Y, -N */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s %s\n\t[-N addr[:port]] [-O list] [-p profile]"
	    " [-Y domain]\n", diag_prog, CLIENT_USAGE);
}

/* An order is worth refreshing while the CA may still complete it. */
static int
order_alive(const char *status)
{
	return status != NULL && (strcmp(status, "pending") == 0 ||
	    strcmp(status, "ready") == 0 || strcmp(status, "processing") == 0 ||
	    strcmp(status, "valid") == 0);
}

static int
step(json_t *doc, void *arg)
{
	struct ctx *x = arg;
	struct client *c = &x->c;
	struct acme *a;
	json_t *problem = NULL;
	int rc = -1;

	/* A name that has left costs the CA nothing: checked first. */
	if (state_check(doc, STEP) != 0 ||
	    preflight_check(&x->pf, doc, STEP) != 0 ||
	    (a = client_acme(c, doc, STEP)) == NULL)
		return -1;
	/* Rerun: refresh a live order; a forgotten one (404) is replaced. */
	if (order_alive(order_status(doc)) &&
	    order_refresh(a, doc, 1, NULL, &problem) != 0) {
		if (json_integer_value(json_object_get(problem, "status")) !=
		    404)
			goto out;
		json_decref(problem);
		problem = NULL;
		(void)json_object_del(doc, "order");
	}
	if (!order_alive(order_status(doc)) &&
	    order_new(a, doc, x->profile, &problem) != 0)
		goto out;
	if (client_stamp(c, doc) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		state_fail_problem(doc, STEP, problem, NULL);
	json_decref(problem);
	return rc;
}

/* stream_run_ctx()'s hooks: one context per document in flight. */
static int
setup_one(void *v, char *why, size_t whylen)
{
	struct ctx *x = v;

	if (preflight_setup(&x->pf, conf_value(CONF_V_POINTS_TO, x->points),
	    conf_value(CONF_V_CAA_IDENTITY, x->caa), conf_value(CONF_V_RESOLVER,
	    x->resolver), 0, why, whylen) != 0)
		return -1;
	return client_setup(&x->c, why, whylen);
}

static void
done_one(void *v)
{
	struct ctx *x = v;

	client_close(&x->c);
	preflight_free(&x->pf);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = { CLIENT_LONGOPTS,
	    { "profile", required_argument, NULL, 'p' },
	    { "points-to", required_argument, NULL, 'O' },
	    { "caa-identity", required_argument, NULL, 'Y' },
	    { "resolver", required_argument, NULL, 'N' },
	    { NULL, 0, NULL, 0 } };
	struct ctx x;
	struct stream_ctx sc = { &x, sizeof(x), setup_one, done_one };
	struct client *c = &x.c;
	char why[512];
	unsigned n;
	int ch;

	memset(&x, 0, sizeof(x));
	diag_init(argv);
	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS "p:O:Y:N:", longopts,
	    NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (ch == 'p')
			x.profile = optarg;
		else if (ch == 'O')
			x.points = optarg;
		else if (ch == 'Y')
			x.caa = optarg;
		else if (ch == 'N')
			x.resolver = optarg;
		else if (!client_option(c, ch, optarg)) {
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		diag_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return 2;
	}
	x.profile = conf_value(CONF_V_PROFILE, x.profile);
	if ((n = client_in_flight(c, why, sizeof(why))) == 0) {
		diag_warnx("%s", why);
		return 2;
	}
	return stream_run_ctx(stdin, "<stdin>", stdout, step, &sc, n);
}
