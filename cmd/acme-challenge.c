/*
 * acme-challenge: proves control of each identifier of the order (http-01
 * through a webroot, or any type through a hook) and waits for the CA.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "client.h"
#include "conf.h"
#include "diag.h"
#include "state.h"
#include "stream.h"

#define STEP "acme-challenge"

struct ctx {
	struct client		c;
	struct authz_opts	o;
	struct selfcheck	sc;
	const char		*timeout_opt, *resolver_opt; /* -W, -N */
	int			 check_opt;                  /* -V */
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s %s\n\t[-V] [-N addr[:port]] [-t type] [-W seconds]"
	    " -w dir | -H hook\n", diag_prog, CLIENT_USAGE);
}

static int
step(json_t *doc, void *arg)
{
	struct ctx *x = arg;
	struct acme *a;

	/* What cannot work is refused before any request. */
	if (state_check(doc, STEP) != 0 || authz_check(doc, &x->o, STEP) != 0 ||
	    (a = client_acme(&x->c, doc, STEP)) == NULL)
		return -1;
	if (authz_complete(a, doc, &x->o, STEP) != 0)
		return -1;
	/* Without it (no memory) the next step only asks the CA again. */
	(void)client_stamp(&x->c, doc);
	return 0;
}

/* Options after the shared ones: environment, defaults, checks. */
static int
setup(struct ctx *x, const char *timeout, int check, const char *resolver,
    char *why, size_t whylen)
{
	const char *t;

	x->o.type = conf_value(CONF_V_CHALLENGE_TYPE, x->o.type);
	/* An option for either provisioner beats both variables. */
	if (x->o.prov.webroot == NULL && x->o.prov.hook == NULL) {
		x->o.prov.webroot = conf_value(CONF_V_WEBROOT, NULL);
		x->o.prov.hook = conf_value(CONF_V_HOOK, NULL);
	}
	t = conf_value(CONF_V_TIMEOUT, timeout);
	x->o.timeout = conf_seconds(t);
	if (x->o.timeout < 0) {
		snprintf(why, whylen, "timeout: not a number of seconds: %s", t);
		return -1;
	}
	if (strcmp(x->o.type, "http-01") != 0 && strcmp(x->o.type, "dns-01") &&
	    strcmp(x->o.type, "tls-alpn-01") != 0) {
		snprintf(why, whylen, "unknown challenge type: %s", x->o.type);
		return -1;
	}
	if (provision_check(&x->o.prov, x->o.type, why, whylen) != 0)
		return -1;
	/* Only http-01 is fetched; for the other types it is a no-op. */
	if ((check || conf_flag(CONF_ENV(SELF_CHECK))) &&
	    strcmp(x->o.type, "http-01") == 0) {
		if (selfcheck_setup(&x->sc, conf_value(CONF_V_RESOLVER,
		    resolver), conf_value(CONF_V_SELF_CHECK_PORT, NULL), why,
		    whylen) != 0)
			return -1;
		x->o.check = &x->sc;
	}
	return client_setup(&x->c, why, whylen);
}

/* stream_run_ctx()'s hooks: one context per document in flight. */
static int
setup_one(void *v, char *why, size_t whylen)
{
	struct ctx *x = v;

	return setup(x, x->timeout_opt, x->check_opt, x->resolver_opt, why,
	    whylen);
}

static void
done_one(void *v)
{
	struct ctx *x = v;

	client_close(&x->c);
	selfcheck_free(&x->sc);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = { CLIENT_LONGOPTS,
	    { "type", required_argument, NULL, 't' },
	    { "webroot", required_argument, NULL, 'w' },
	    { "hook", required_argument, NULL, 'H' },
	    { "timeout", required_argument, NULL, 'W' },
	    { "self-check", no_argument, NULL, 'V' },
	    { "resolver", required_argument, NULL, 'N' },
	    { NULL, 0, NULL, 0 } };
	struct ctx x;
	struct stream_ctx sc = { &x, sizeof(x), setup_one, done_one };
	const char *webroot = NULL, *hook = NULL;
	char why[512];
	unsigned n;
	int ch;

	memset(&x, 0, sizeof(x));
	diag_init(argv);
	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS "t:w:H:W:VN:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': usage(stdout); return 0;
		case 't': x.o.type = optarg; break;
		case 'w': webroot = optarg; hook = NULL; break;
		case 'H': hook = optarg; webroot = NULL; break;
		case 'W': x.timeout_opt = optarg; break;
		case 'V': x.check_opt = 1; break;
		case 'N': x.resolver_opt = optarg; break;
		default:
			if (!client_option(&x.c, ch, optarg)) {
				usage(stderr);
				return 2;
			}
		}
	}
	x.o.prov.webroot = webroot;
	x.o.prov.hook = hook;
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
