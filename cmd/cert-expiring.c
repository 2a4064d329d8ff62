/*
 * cert-expiring: reads the store's metadata and writes one state document
 * for each certificate due for renewal (or name due for first issuance),
 * most urgent first; or, with --summary, one object of counts. The policy
 * is common/renew.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "diag.h"
#include "renew.h"
#include "state.h"
#include "store.h"

struct run {
	struct store		*s;
	struct renew_policy	 p;
	struct renew_queue	*q;
	struct renew_summary	 sum;
	unsigned long		 shard, shards;
	int			 summary, status;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-Irv] [-b i/n] [-e days] [-l count] "
	    "[-n time] [-s dir] [-x days]\n", diag_prog);
}

/* With -v, why a name that is not due now waits. */
static void
explain(const struct renew_info *ri)
{
	char t[32];

	if (ri->parked)
		diag_verbose(1, "%s: parked: failing since %s", ri->name,
		    state_time(ri->first_failure, t, sizeof(t)));
	else if (ri->next > ri->due && ri->fail_count > 0 &&
	    ri->class != RENEW_PAUSED)
		diag_verbose(1, "%s: failure %lld, next attempt after %s",
		    ri->name, ri->fail_count, state_time(ri->next, t,
		    sizeof(t)));
	else if (ri->next > ri->due && ri->fail_count <= 0)
		diag_verbose(1, "%s: %d failed validations in an hour, next "
		    "attempt after %s", ri->name, RENEW_FAILS_PER_HOUR,
		    state_time(ri->next, t, sizeof(t)));
}

static int
each(const char *name, json_t *meta, void *arg)
{
	struct run *r = arg;
	struct renew_info ri;
	json_t *ids = NULL, *doc = NULL;
	char why[256];
	int first, rc = 0;

	if (meta == NULL || renew_assess(meta, &r->p, &ri, why,
	    sizeof(why)) != 0) {
		diag_warnx("%s: %s", name, meta != NULL ? why : errno ==
		    EBADMSG ? "metadata: not a JSON object" : strerror(errno));
		r->status = 1;
		return 0;
	}
	if (r->shards > 1 && renew_shard(name, r->shards) != r->shard)
		return 0;
	if (ri.class == RENEW_PAUSED)
		diag_warnx("%s: the CA paused the account for this name: "
		    "unpause at %s", name, ri.unpause[0] != '\0' ? ri.unpause :
		    "(no URL in the CA's message)");
	if (r->summary)
		return renew_summary_add(&r->sum, &ri, r->p.now);
	if (!ri.emit) {
		explain(&ri);
		return 0;
	}
	if ((first = renew_ids(r->s, name, meta, &ids)) == 1 &&
	    ((doc = renew_doc(meta, &ri, ids)) == NULL ||
	    renew_queue_add(r->q, &ri, doc) != 0))
		rc = -1;
	json_decref(doc);
	json_decref(ids);
	return first == -1 ? -1 : rc;
}

/* Writes the documents or the summary; the exit status. */
static int
finish(struct run *r, long max)
{
	json_t *sum = NULL;
	int status = r->status;

	if (r->summary) {
		if (r->sum.alarm > 0)
			status = 1;
		if ((sum = renew_summary_json(&r->sum)) == NULL ||
		    json_dumpf(sum, stdout, JSON_COMPACT) != 0 ||
		    putc('\n', stdout) == EOF)
			status = 2;
		json_decref(sum);
	} else if (renew_queue_write(r->q, stdout, max) < 0)
		status = 2;
	if (fclose(stdout) == EOF || status == 2) {
		diag_warnx("<stdout>: %s", strerror(errno));
		status = 2;
	}
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "days", required_argument, NULL, 'e' },
		{ "include-parked", no_argument, NULL, 'I' },
		{ "max-per-domain", required_argument, NULL, 'l' },
		{ "now", required_argument, NULL, 'n' },
		{ "shard", required_argument, NULL, 'b' },
		{ "summary", no_argument, NULL, 'r' },
		{ "store", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "park-days", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct store_opts o = { 0, (gid_t)-1, 1 };
	struct run r;
	const char *dir = NULL, *bad = NULL;
	char why[512];
	long days = 0, max = 0, park = RENEW_PARK_DAYS;
	int ch, status;

	memset(&r, 0, sizeof(r));
	r.p.now = (long long)time(NULL);
	diag_init(argv);
	while (bad == NULL && (ch = getopt_long(argc, argv, "b:e:Il:n:rs:vx:h",
	    longopts, NULL)) != -1) {
		if (ch == 'e' && (days = renew_parse_number(optarg,
		    RENEW_DAYS_MAX)) == -1)
			bad = "--days: want a number of days from 1 to 3650";
		else if (ch == 'l' && (max = renew_parse_number(optarg,
		    LONG_MAX)) == -1)
			bad = "--max-per-domain: want a positive number";
		else if (ch == 'n' && renew_time_parse(optarg, &r.p.now) != 0)
			bad = "--now: want an RFC 3339 time such as "
			    "2027-01-31T00:00:00Z";
		else if (ch == 'b' && renew_parse_shard(optarg, &r.shard,
		    &r.shards) != 0)
			bad = "--shard: want i/n with 1 <= i <= n";
		else if (ch == 'x' && (park = renew_parse_number(optarg,
		    RENEW_DAYS_MAX)) == -1)
			bad = "--park-days: want a number of days from 1 to 3650";
		else if (ch == 'I')
			r.p.include_parked = 1;
		else if (ch == 'r')
			r.summary = 1;
		else if (ch == 's')
			dir = optarg;
		else if (ch == 'v')
			diag_verbosity++;
		else if (ch == 'h' || ch == '?' || ch == ':') {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
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
	if ((dir = conf_get(dir, "ACMEPIPE_STORE", NULL)) == NULL) {
		diag_warnx("--store: missing (or set ACMEPIPE_STORE)");
		return 2;
	}
	if ((r.s = store_open(dir, &o, why, sizeof(why))) == NULL) {
		diag_warnx("%s", why);
		return 2;
	}
	if ((r.q = renew_queue_new()) == NULL ||
	    (status = store_list(r.s, each, &r)) != 0) {
		diag_warnx("%s/meta: %s", dir, strerror(errno));
		status = 2;
	} else
		status = finish(&r, max);
	json_decref(r.sum.paused);
	renew_queue_free(r.q);
	store_close(r.s);
	return status;
}
