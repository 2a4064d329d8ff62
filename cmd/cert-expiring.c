/*
 * cert-expiring: reads the store's metadata and writes one state document
 * for each certificate due for renewal (or name due for first issuance),
 * most urgent first; or, with --summary, one object of counts; with
 * --metrics, the counts for Prometheus too (common/metrics.c). The policy
 * is common/renew.c.
 *
 * The run itself, with renewal information (RFC 9773) when the CA offers
 * it, is common/expiring.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "http.h"
#include "expiring.h"
#include "renew.h"
#include "renewq.h"
#include "state.h"
#include "store.h"
#include "stream.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-AIqrvZ] [-b i/n] [-C file] [-d url] [-e days] "
	    "[-F n]\n\t[-L seconds] [-l count] [-m count] [-n time] [-R rate] "
	    "[-s dir]\n\t[-T seconds] [-X file] [-x days]\n", diag_prog);
}

/* --ari-rate: a positive number of requests per second, or -1. */
static double
parse_rate(const char *s)
{
	char *end = NULL;
	double v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v > 0) || v > ARI_RATE_MAX)
		return -1;
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "no-ari", no_argument, NULL, 'A' },
		{ "ca-bundle", required_argument, NULL, 'C' },
		{ "directory", required_argument, NULL, 'd' },
		{ "days", required_argument, NULL, 'e' },
		{ "include-parked", no_argument, NULL, 'I' },
		{ "in-flight", required_argument, NULL, 'F' },
		{ "lease", required_argument, NULL, 'L' },
		{ "max-per-domain", required_argument, NULL, 'l' },
		{ "ari-max", required_argument, NULL, 'm' },
		{ "now", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "ari-rate", required_argument, NULL, 'R' },
		{ "shard", required_argument, NULL, 'b' },
		{ "summary", no_argument, NULL, 'r' },
		{ "store", required_argument, NULL, 's' },
		{ "http-timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "park-days", required_argument, NULL, 'x' },
		{ "metrics", required_argument, NULL, 'X' },
		{ "metrics-names", no_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct store_opts o = { 0, (gid_t)-1, 1, 0 };
	struct expiring r;
	const char *dir = NULL, *bad = NULL, *bundle = NULL, *timeout = NULL;
	const char *lease = NULL, *flight = NULL;
	char why[512];
	long days = 0, max = 0, park = RENEW_PARK_DAYS, n = 1;
	int ch, status, no_ari = 0;

	memset(&r, 0, sizeof(r));
	r.p.now = (long long)time(NULL);
	r.rate = ARI_RATE;
	diag_init(argv);
	while (bad == NULL && (ch = getopt_long(argc, argv,
	    "AC:b:d:e:F:IL:l:m:n:qR:rs:T:vX:x:Zh", longopts, NULL)) != -1) {
		if (ch == 'e' && (days = conf_number(optarg,
		    RENEW_DAYS_MAX)) == -1)
			bad = "--days: want a number of days from 1 to 3650";
		else if (ch == 'l' && (max = conf_number(optarg,
		    LONG_MAX)) == -1)
			bad = "--max-per-domain: want a positive number";
		else if (ch == 'm' && (r.ari_max = conf_number(optarg,
		    LONG_MAX)) == -1)
			bad = "--ari-max: want a positive number";
		else if (ch == 'n' && state_time_parse(optarg, &r.p.now) != 0)
			bad = "--now: want an RFC 3339 time such as "
			    "2027-01-31T00:00:00Z";
		else if (ch == 'R' && (r.rate = parse_rate(optarg)) < 0)
			bad = "--ari-rate: want requests per second, above 0 "
			    "and at most 1000";
		else if (ch == 'b' && renew_parse_shard(optarg, &r.shard,
		    &r.shards) != 0)
			bad = "--shard: want i/n with 1 <= i <= n";
		else if (ch == 'x' && (park = conf_number(optarg,
		    RENEW_DAYS_MAX)) == -1)
			bad = "--park-days: want a number of days from 1 to 3650";
		else if (ch == 'X' && *optarg == '\0')
			bad = "--metrics: want a file, or - for standard output";
		else if (ch == 'F')
			flight = optarg;
		else if (ch == 'A')
			no_ari = 1;
		else if (ch == 'C')
			bundle = optarg;
		else if (ch == 'd')
			r.directory = optarg;
		else if (ch == 'I')
			r.p.include_parked = 1;
		else if (ch == 'L')
			lease = optarg;
		else if (ch == 'n')
			r.dry = 1;
		else if (ch == 'q')
			r.quiet = 1;
		else if (ch == 'r')
			r.summary = 1;
		else if (ch == 's')
			dir = optarg;
		else if (ch == 'T')
			timeout = optarg;
		else if (ch == 'v')
			r.verbose++;
		else if (ch == 'X')
			r.metrics = optarg;
		else if (ch == 'Z')
			r.metrics_names = 1;
		else if (ch == 'h' || ch == '?' || ch == ':') {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	diag_verbosity = r.verbose;
	flight = conf_value(CONF_V_IN_FLIGHT, flight);
	if (bad == NULL && (n = conf_number(flight, STREAM_IN_FLIGHT_MAX)) == -1)
		bad = "--in-flight: want a number from 1 to 1024";
	r.in_flight = n > 0 ? (unsigned)n : 1;
	if (bad == NULL && r.metrics_names && r.metrics == NULL)
		bad = "--metrics-names: only with --metrics";
	else if (bad == NULL && r.summary && r.metrics != NULL &&
	    strcmp(r.metrics, "-") == 0)
		bad = "--metrics -: the summary has standard output";
	if (bad != NULL || optind != argc) {
		if (bad != NULL)
			diag_warnx("%s", bad);
		else
			diag_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return 2;
	}
	r.p.window = days * RENEW_DAY;
	r.p.park_days = (int)park;
	if ((dir = conf_value(CONF_V_STORE, dir)) == NULL) {
		diag_warnx("--store: missing (or set %s)", CONF_ENV(STORE));
		return 2;
	}
	if (expiring_lease_setup(&r, lease, why, sizeof(why)) != 0) {
		diag_warnx("%s", why);
		return 2;
	}
	if ((r.s = store_open(dir, &o, why, sizeof(why))) == NULL) {
		diag_warnx("%s", why);
		return 2;
	}
	if (!no_ari && expiring_ari_setup(&r, bundle, timeout, why,
	    sizeof(why)) != 0) {
		diag_warnx("%s", why);
		store_close(r.s);
		return 2;
	}
	if ((r.q = renew_queue_new(0)) == NULL || expiring_scan(&r) != 0) {
		/* Due documents that did not fit in memory have nowhere to go. */
		if (renew_queue_tmp_errno(r.q) != 0)
			diag_warnx("temporary file: %s",
			    strerror(renew_queue_tmp_errno(r.q)));
		else
			diag_warnx("%s/meta: %s", dir, strerror(errno));
		status = 2;
	} else
		status = expiring_finish(&r, max);
	expiring_free(&r);
	http_cleanup();
	store_close(r.s);
	return status;
}
