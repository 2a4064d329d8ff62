/*
 * Unit tests of common/renew.c, the renewal policy, and common/renewq.c,
 * its queue and summary. Silent on success; on failure prints each broken
 * case and exits 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "renew.h"
#include "renewq.h"

#define UNIT_PROG "renew_test"
#include "unit.h"

#define DAY RENEW_DAY
/* 2027-01-01T00:00:00Z */
#define T0 1798761600LL

static json_t *
parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL) {
		fprintf(stderr, "renew_test: bad fixture: %s: %s\n", text,
		    e.text);
		exit(2);
	}
	return j;
}

static void
test_numbers(void)
{
	unsigned long i = 0, n = 0;

	want_ll("number 7", conf_number("7", 10), 7);
	want_ll("number 0", conf_number("0", 10), -1);
	want_ll("number 11", conf_number("11", 10), -1);
	want_ll("number -1", conf_number("-1", 10), -1);
	want_ll("number 7d", conf_number("7d", 10), -1);
	want_ll("number ''", conf_number("", 10), -1);
	if (renew_parse_shard("2/5", &i, &n) != 0 || i != 2 || n != 5)
		fail("shard 2/5", "got %lu/%lu", i, n);
	if (renew_parse_shard("1/1", &i, &n) != 0 || i != 1 || n != 1)
		fail("shard 1/1", "got %lu/%lu", i, n);
	if (renew_parse_shard("0/5", &i, &n) == 0 ||
	    renew_parse_shard("6/5", &i, &n) == 0 ||
	    renew_parse_shard("5", &i, &n) == 0 ||
	    renew_parse_shard("/5", &i, &n) == 0 ||
	    renew_parse_shard("1/", &i, &n) == 0 ||
	    renew_parse_shard("1/5/6", &i, &n) == 0)
		fail("shard", "a bad i/n accepted");
}

static void
test_due(void)
{
	long long na = T0 + 90 * DAY, d, lo = na, hi = 0;
	char name[64];
	int i, distinct = 0;

	/* 90 days: window 30 days, point in its first half. */
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "host%d.example.com", i);
		d = renew_due(T0, na, 0, name);
		want_range(name, d, na - 30 * DAY, na - 15 * DAY);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		if (i > 0 && d != renew_due(T0, na, 0, "host0.example.com"))
			distinct++;
	}
	/* Spread over the whole first half of the window. */
	want_range("earliest due", lo, na - 30 * DAY, na - 29 * DAY);
	want_range("latest due", hi, na - 16 * DAY, na - 15 * DAY);
	want_range("distinct due points", distinct, 990, 1000);
	want_ll("stable", renew_due(T0, na, 0, "a.example"),
	    renew_due(T0, na, 0, "a.example"));
	/* 6 days: from half of the lifetime, over the next quarter of it. */
	lo = T0 + 6 * DAY;
	hi = 0;
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "host%d.example.com", i);
		d = renew_due(T0, T0 + 6 * DAY, 0, name);
		want_range("6 days", d, T0 + 3 * DAY, T0 + 3 * DAY + 3 * DAY / 4);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	want_range("6 days: earliest", lo, T0 + 3 * DAY, T0 + 3 * DAY + 3600);
	want_range("6 days: latest", hi, T0 + 3 * DAY + 3 * DAY / 4 - 3600,
	    T0 + 3 * DAY + 3 * DAY / 4);
	/* 6 days with --days 2: the window given, its first half. */
	want_range("6 days, --days 2", renew_due(T0, T0 + 6 * DAY, 2 * DAY,
	    "a.example"), T0 + 4 * DAY, T0 + 5 * DAY);
	/* --days 10. */
	want_range("--days", renew_due(T0, na, 10 * DAY, "a.example"),
	    na - 10 * DAY, na - 5 * DAY);
	want_ll("no lifetime", renew_due(na, na, 0, "a.example"), na);
}

static void
test_backoff(void)
{
	static const long long base[] = { 60, 60, 600, 6000, DAY, DAY, DAY };
	long long b, c;
	char what[32];
	int distinct = 0;

	for (c = 0; c < 7; c++) {
		snprintf(what, sizeof(what), "backoff %lld", c);
		b = renew_backoff("a.example", c);
		want_range(what, b, base[c], base[c] + base[c] / 10);
	}
	for (c = 0; c < 100; c++) {
		snprintf(what, sizeof(what), "h%lld.example", c);
		distinct += renew_backoff(what, 4) != renew_backoff("h0.example",
		    4);
	}
	want_range("jittered backoffs", distinct, 95, 100);
}

static enum renew_class
classify(const char *error, char *url, size_t len)
{
	json_t *e = parse(error);
	enum renew_class c = renew_classify(e, url, len);

	json_decref(e);
	return c;
}

#define ACME "urn:ietf:params:acme:error:"

static void
test_classify(void)
{
	static const struct {
		const char	*error;
		enum renew_class c;
	} cases[] = {
		{ "{\"type\":\"" ACME "caa\",\"detail\":\"CAA forbids\"}", RENEW_PERMANENT },
		{ "{\"type\":\"" ACME "unauthorized\",\"detail\":\"404\"}", RENEW_PERMANENT },
		{ "{\"type\":\"" ACME "rejectedIdentifier\"}", RENEW_PERMANENT },
		{ "{\"type\":\"" ACME "incorrectResponse\"}", RENEW_PERMANENT },
		{ "{\"type\":\"" ACME "unsupportedIdentifier\"}", RENEW_PERMANENT },
		{ "{\"type\":\"" ACME "dns\",\"detail\":\"DNS problem: NXDOMAIN looking up A\"}", RENEW_PERMANENT },
		{ "{\"type\":\"" ACME "dns\",\"detail\":\"DNS problem: SERVFAIL looking up A\"}", RENEW_TRANSIENT },
		{ "{\"type\":\"" ACME "connection\"}", RENEW_TRANSIENT },
		{ "{\"type\":\"" ACME "serverInternal\"}", RENEW_TRANSIENT },
		{ "{\"type\":\"" ACME "rateLimited\",\"detail\":\"too many certificates\"}", RENEW_TRANSIENT },
		{ "{\"type\":\"urn:acmepipe:error:timeout\"}", RENEW_TRANSIENT },
		{ "{\"type\":\"urn:acmepipe:error:connection\"}", RENEW_TRANSIENT },
		{ "{}", RENEW_TRANSIENT },
		{ "{\"type\":\"urn:acmepipe:error:notPointed\"}", RENEW_PREFLIGHT },
		{ "{\"type\":\"urn:acmepipe:error:caa\"}", RENEW_PREFLIGHT },
		{ "{\"type\":\"urn:acmepipe:error:resolver\"}", RENEW_PREFLIGHT },
		{ "{\"type\":\"urn:acmepipe:error:selfCheck\"}", RENEW_PREFLIGHT },
		{ "{\"type\":\"" ACME "compound\",\"subproblems\":[{\"type\":\"" ACME "connection\"},{\"type\":\"" ACME "caa\"}]}", RENEW_PERMANENT },
		{ "{\"type\":\"" ACME "compound\",\"subproblems\":[{\"type\":\"" ACME "connection\"}]}", RENEW_TRANSIENT },
	};
	char url[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (classify(cases[i].error, url, sizeof(url)) != cases[i].c)
			fail(cases[i].error, "class %d, want %d",
			    classify(cases[i].error, url, sizeof(url)),
			    cases[i].c);
	if (classify("{\"type\":\"" ACME "rateLimited\",\"detail\":\"Your "
	    "account is temporarily prevented from requesting certificates "
	    "for a.example and possibly others. Please visit: "
	    "https://portal.example/sfe/v1/unpause?jwt=x.y.z.\"}", url,
	    sizeof(url)) != RENEW_PAUSED ||
	    strcmp(url, "https://portal.example/sfe/v1/unpause?jwt=x.y.z") != 0)
		fail("paused", "url \"%s\"", url);
	if (classify("{\"type\":\"" ACME "rateLimited\",\"detail\":\"see "
	    "https://letsencrypt.org/docs/rate-limits/ - account paused, "
	    "https://ca.example/unpause?a=1\"}", url, sizeof(url)) !=
	    RENEW_PAUSED || strcmp(url, "https://ca.example/unpause?a=1") != 0)
		fail("paused, two URLs", "url \"%s\"", url);
	if (classify("{\"type\":\"" ACME "rateLimited\",\"detail\":\"Paused\"}",
	    url, sizeof(url)) != RENEW_PAUSED || url[0] != '\0')
		fail("paused without a URL", "url \"%s\"", url);
	/* A URL longer than the buffer is dropped, not cut. */
	if (classify("{\"type\":\"" ACME "rateLimited\",\"detail\":\"paused: "
	    "https://ca.example/unpause?jwt=0123456789\"}", url, 20) !=
	    RENEW_PAUSED || url[0] != '\0')
		fail("paused, long URL", "url \"%s\"", url);
}

static void
test_cap(void)
{
	json_t *f;
	char text[2048], *p = text;
	int i;

	p += sprintf(p, "[");
	for (i = 0; i < 6; i++)
		p += sprintf(p, "%s{\"step\":\"acme-challenge\",\"type\":\""
		    ACME "%s\",\"time\":\"2027-01-01T00:%02d:00Z\"}",
		    i ? "," : "", i == 2 ? "dns" : "unauthorized", i * 10);
	sprintf(p, "]");
	f = parse(text);
	/*
	 * 00:00 .. 00:50: at 00:55, six in the hour; attempts resume when
	 * only four are left, after the second (00:10) leaves it.
	 */
	want_ll("cap of 6", renew_validation_cap(f, T0 + 55 * 60),
	    T0 + 3600 + 10 * 60);
	/* At 01:05 five remain (00:10 .. 00:50): until 00:10 leaves. */
	want_ll("cap of 5", renew_validation_cap(f, T0 + 65 * 60),
	    T0 + 3600 + 10 * 60);
	/* At 01:15, four: no cap. */
	want_ll("cap of 4", renew_validation_cap(f, T0 + 75 * 60), 0);
	json_decref(f);
	f = parse("[{\"step\":\"acme-order\",\"type\":\"" ACME "unauthorized\","
	    "\"time\":\"2027-01-01T00:00:00Z\"},{\"step\":\"acme-order\","
	    "\"type\":\"" ACME "unauthorized\",\"time\":\"2027-01-01T00:00:01Z\"},"
	    "{\"step\":\"acme-challenge\",\"type\":\"" ACME "serverInternal\","
	    "\"time\":\"2027-01-01T00:00:02Z\"},{\"step\":\"acme-challenge\","
	    "\"type\":\"urn:acmepipe:error:local\",\"time\":\"2027-01-01T00:00:03Z\"},"
	    "{\"step\":\"acme-challenge\",\"type\":\"" ACME "dns\"}]");
	want_ll("not validations", renew_validation_cap(f, T0 + 60), 0);
	json_decref(f);
	/* Pre-flight failures never reached the CA: six in ten minutes. */
	f = parse("[{\"step\":\"acme-order\",\"type\":\"urn:acmepipe:error:notPointed\","
	    "\"time\":\"2027-01-01T00:00:00Z\"},{\"step\":\"acme-order\","
	    "\"type\":\"urn:acmepipe:error:caa\",\"time\":\"2027-01-01T00:01:00Z\"},"
	    "{\"step\":\"acme-order\",\"type\":\"urn:acmepipe:error:resolver\","
	    "\"time\":\"2027-01-01T00:02:00Z\"},{\"step\":\"acme-challenge\","
	    "\"type\":\"urn:acmepipe:error:selfCheck\",\"time\":\"2027-01-01T00:03:00Z\"},"
	    "{\"step\":\"acme-challenge\",\"type\":\"urn:acmepipe:error:selfCheck\","
	    "\"time\":\"2027-01-01T00:04:00Z\"},{\"step\":\"acme-order\","
	    "\"type\":\"urn:acmepipe:error:notPointed\",\"time\":\"2027-01-01T00:05:00Z\"}]");
	want_ll("pre-flight: no cap", renew_validation_cap(f, T0 + 10 * 60), 0);
	want_ll("no history", renew_validation_cap(NULL, T0), 0);
	json_decref(f);
}

/* Assesses meta (JSON text) at now. */
static struct renew_info
assess(const char *meta, long long now, long long window, int include)
{
	static json_t *keep; /* ri borrows from it */
	struct renew_policy p = { now, window, RENEW_PARK_DAYS, include };
	struct renew_info ri;
	char why[256];

	json_decref(keep);
	keep = meta != NULL ? parse(meta) : NULL;
	if (meta != NULL && renew_assess(keep, &p, &ri, why, sizeof(why)) != 0)
		fail(meta, "assess: %s", why);
	return ri;
}

#define CERT "\"name\":\"a.example\",\"identifiers\":[\"a.example\"]," \
	"\"notBefore\":\"2027-01-01T00:00:00Z\",\"notAfter\":\"2027-04-01T00:00:00Z\"," \
	"\"serial\":\"71aa\",\"issuer\":\"Test CA\""
#define NA (T0 + 90 * DAY)

static void
test_assess(void)
{
	struct renew_info ri;
	long long due = renew_due(T0, NA, 0, "a.example");

	ri = assess("{" CERT "}", due - 1, 0, 0);
	want_ll("not yet due", ri.emit, 0);
	want_ll("not yet due: reason", ri.reason, RENEW_NOT_DUE);
	ri = assess("{" CERT "}", due, 0, 0);
	want_ll("due", ri.emit, 1);
	want_ll("due: reason", ri.reason, RENEW_EXPIRING);
	want_ll("due: when", ri.when, due);
	/* --days 11: due between 11 and 5.5 days before expiry. */
	ri = assess("{" CERT "}", NA - 11 * DAY / 2, 11 * DAY, 0);
	want_ll("--days 11, 5.5 days before", ri.emit, 1);
	ri = assess("{" CERT "}", NA - 11 * DAY - 1, 11 * DAY, 0);
	want_ll("--days 11, 11 days before", ri.emit, 0);
	ri = assess("{\"name\":\"n.example\",\"added\":\"2027-01-01T00:00:00Z\"}",
	    T0 + 5, 0, 0);
	want_ll("new", ri.reason, RENEW_NEW);
	want_ll("new: when", ri.when, T0);
	ri = assess("{\"name\":\"n.example\"}", T0 + 5, 0, 0);
	want_ll("new without added", ri.when, T0 + 5);

	/* Failed once at T0 + 100 days (after expiry): 1 minute. */
	ri = assess("{" CERT ",\"failCount\":1,\"firstFailure\":"
	    "\"2027-04-11T00:00:00Z\",\"lastError\":{\"type\":\"" ACME
	    "connection\",\"time\":\"2027-04-11T00:00:00Z\"}}",
	    T0 + 100 * DAY + 30, 0, 0);
	want_ll("backoff 30 s", ri.emit, 0);
	want_range("backoff next", ri.next, T0 + 100 * DAY + 60,
	    T0 + 100 * DAY + 67);
	ri = assess("{" CERT ",\"failCount\":1,\"firstFailure\":"
	    "\"2027-04-11T00:00:00Z\",\"lastError\":{\"type\":\"" ACME
	    "connection\",\"time\":\"2027-04-11T00:00:00Z\"}}",
	    T0 + 100 * DAY + 120, 0, 0);
	want_ll("backoff 2 min", ri.emit, 1);
	want_ll("retry", ri.reason, RENEW_RETRY);
	/* retryAfter beats a shorter backoff. */
	ri = assess("{" CERT ",\"failCount\":1,\"lastError\":{\"type\":\""
	    ACME "rateLimited\",\"time\":\"2027-04-11T00:00:00Z\","
	    "\"retryAfter\":\"2027-04-11T03:00:00Z\"}}",
	    T0 + 100 * DAY + 2 * 3600, 0, 0);
	want_ll("retryAfter", ri.emit, 0);
	want_ll("retryAfter next", ri.next, T0 + 100 * DAY + 3 * 3600);
	/* Transient: 29 days of failures is not parked, 30 is. */
	ri = assess("{" CERT ",\"failCount\":33,\"firstFailure\":"
	    "\"2027-03-01T00:00:00Z\",\"lastError\":{\"type\":\"" ACME
	    "connection\",\"time\":\"2027-03-30T00:00:00Z\"}}", T0 + 200 * DAY,
	    0, 0);
	want_ll("29 days transient", ri.parked, 0);
	want_ll("29 days transient: emit", ri.emit, 1);
	ri = assess("{" CERT ",\"failCount\":34,\"firstFailure\":"
	    "\"2027-03-01T00:00:00Z\",\"lastError\":{\"type\":\"" ACME
	    "connection\",\"time\":\"2027-03-31T00:00:00Z\"}}", T0 + 200 * DAY,
	    0, 0);
	want_ll("30 days transient", ri.parked, 1);
	want_ll("30 days transient: emit", ri.emit, 0);
	ri = assess("{" CERT ",\"failCount\":34,\"firstFailure\":"
	    "\"2027-03-01T00:00:00Z\",\"lastError\":{\"type\":\"" ACME
	    "connection\",\"time\":\"2027-03-31T00:00:00Z\"}}", T0 + 200 * DAY,
	    0, 1);
	want_ll("--include-parked", ri.emit, 1);
	/* Permanent: 7 days. */
	ri = assess("{" CERT ",\"failCount\":9,\"firstFailure\":"
	    "\"2027-03-01T00:00:00Z\",\"lastError\":{\"type\":\"" ACME
	    "caa\",\"time\":\"2027-03-08T00:00:00Z\"}}", T0 + 200 * DAY, 0, 0);
	want_ll("7 days permanent", ri.parked, 1);
	want_ll("7 days permanent: class", ri.class, RENEW_PERMANENT);
	ri = assess("{" CERT ",\"failCount\":9,\"firstFailure\":"
	    "\"2027-03-01T00:00:00Z\",\"lastError\":{\"type\":\"" ACME
	    "caa\",\"time\":\"2027-03-07T23:59:59Z\"}}", T0 + 200 * DAY, 0, 0);
	want_ll("under 7 days permanent", ri.parked, 0);
	/* Paused: never, not even with --include-parked. */
	ri = assess("{" CERT ",\"failCount\":1,\"lastError\":{\"type\":\"" ACME
	    "rateLimited\",\"detail\":\"paused https://x.example/unpause?j=1\","
	    "\"time\":\"2027-03-08T00:00:00Z\"}}", T0 + 200 * DAY, 0, 1);
	want_ll("paused", ri.emit, 0);
	want_ll("paused: class", ri.class, RENEW_PAUSED);
	if (strcmp(ri.unpause, "https://x.example/unpause?j=1") != 0)
		fail("paused", "unpause \"%s\"", ri.unpause);
	/* failCount 0 (after unpark): the history does not hold it back. */
	ri = assess("{" CERT ",\"failCount\":0,\"lastError\":{\"type\":\"" ACME
	    "caa\",\"time\":\"2027-03-08T00:00:00Z\"}}", T0 + 200 * DAY, 0, 0);
	want_ll("unparked", ri.emit, 1);
	want_ll("unparked: reason", ri.reason, RENEW_EXPIRING);
}

/* Pre-flight failures: hourly whatever the count, parked after --park-days. */
static void
test_preflight(void)
{
	struct renew_info ri;
	char meta[1024];
	long long count;

	for (count = 1; count <= 6; count += 5) {
		snprintf(meta, sizeof(meta), "{\"name\":\"a.example\","
		    "\"identifiers\":[\"a.example\"],\"failCount\":%lld,"
		    "\"firstFailure\":\"2027-01-01T00:00:00Z\",\"lastError\":"
		    "{\"step\":\"acme-order\",\"type\":"
		    "\"urn:acmepipe:error:notPointed\",\"time\":"
		    "\"2027-01-01T00:00:00Z\"}}", count);
		ri = assess(meta, T0 + 3599, 0, 0);
		want_ll("pre-flight: class", ri.class, RENEW_PREFLIGHT);
		want_ll("pre-flight: not within the hour", ri.emit, 0);
		if (ri.next < T0 + 3600 || ri.next > T0 + 3960)
			fail("pre-flight: next", "%lld, want an hour (+10%%)",
			    ri.next - T0);
		ri = assess(meta, T0 + 3960, 0, 0);
		want_ll("pre-flight: after the hour", ri.emit, 1);
		want_ll("pre-flight: retry", ri.reason, RENEW_RETRY);
	}
	/* Not the 7 days of a permanent error: --park-days (30). */
	ri = assess("{\"name\":\"a.example\",\"failCount\":200,"
	    "\"firstFailure\":\"2027-01-01T00:00:00Z\",\"lastError\":"
	    "{\"type\":\"urn:acmepipe:error:notPointed\",\"time\":"
	    "\"2027-01-09T00:00:00Z\"}}", T0 + 8 * DAY + 7200, 0, 0);
	want_ll("pre-flight: not parked after 8 days", ri.parked, 0);
	ri = assess("{\"name\":\"a.example\",\"failCount\":800,"
	    "\"firstFailure\":\"2027-01-01T00:00:00Z\",\"lastError\":"
	    "{\"type\":\"urn:acmepipe:error:notPointed\",\"time\":"
	    "\"2027-01-31T00:00:00Z\"}}", T0 + 30 * DAY + 7200, 0, 0);
	want_ll("pre-flight: parked after 30 days", ri.parked, 1);
}

static void
test_bad_meta(void)
{
	struct renew_policy p = { T0, 0, RENEW_PARK_DAYS, 0 };
	struct renew_info ri;
	char why[256] = "";
	json_t *m;

	m = parse("{\"name\":\"a.example\",\"notAfter\":\"tomorrow\"}");
	if (renew_assess(m, &p, &ri, why, sizeof(why)) != -1 ||
	    strcmp(why, "metadata: notAfter is not an RFC 3339 time") != 0)
		fail("bad notAfter", "why \"%s\"", why);
	json_decref(m);
	m = parse("{\"name\":\"a.example\",\"notAfter\":\"2027-01-01T00:00:00Z\","
	    "\"notBefore\":1}");
	want_ll("numeric notBefore: read as absent",
	    renew_assess(m, &p, &ri, why, sizeof(why)), 0);
	json_decref(m);
}

static void
test_domain(void)
{
	static const char *const cases[][2] = {
		{ "a.b.example.co.uk", "example.co.uk" },
		{ "example.co.uk", "example.co.uk" },
		{ "co.uk", "co.uk" },
		{ "www.example.com", "example.com" },
		{ "*.example.com", "example.com" },
		{ "localhost", "localhost" },
		{ "a.github.io", "a.github.io" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(renew_registered_domain(cases[i][0]),
		    cases[i][1]) != 0)
			fail(cases[i][0], "registered domain %s, want %s",
			    renew_registered_domain(cases[i][0]), cases[i][1]);
}

/* Queues docs for the names, expiring in order of the days given. */
/*
 * Many entries, ties included: the runs merged give exactly the order
 * (and the per-domain cut) of the queue kept in memory.
 */
static void
test_queue_runs(void)
{
	char *out[2] = { NULL, NULL }, name[64];
	size_t len[2], i, m;
	struct renew_queue *q;
	struct renew_info ri;
	json_t *doc;
	FILE *f;

	for (m = 0; m < 2; m++) {
		if ((q = renew_queue_new(m == 0 ? 0 : 4096)) == NULL)
			exit(2);
		for (i = 0; i < 3000; i++) {
			memset(&ri, 0, sizeof(ri));
			ri.has_cert = i % 7 != 0;
			ri.not_after = T0 + (long long)(i * 7919 % 97) * DAY;
			ri.when = T0 + (long long)(i % 5);
			snprintf(name, sizeof(name), "h%zu.d%zu.com", i,
			    i % 40);
			doc = json_pack("{s:[s]}", "identifiers", name);
			if (doc == NULL || renew_queue_add(q, &ri, doc) != 0)
				exit(2);
			json_decref(doc);
		}
		if ((f = open_memstream(&out[m], &len[m])) == NULL ||
		    renew_queue_write(q, f, 50) < 0)
			fail("queue runs", "write failed (memory %zu)", m);
		fclose(f);
		renew_queue_free(q);
	}
	for (i = 0, m = 0; out[0] != NULL && out[0][i] != '\0'; i++)
		m += out[0][i] == '\n';
	want_ll("queue runs: 40 domains, 50 each", (long long)m, 40 * 50);
	want_ll("queue runs: merged as sorted in memory", out[0] != NULL &&
	    out[1] != NULL && strcmp(out[0], out[1]) == 0, 1);
	free(out[0]);
	free(out[1]);
}

static void
test_queue(void)
{
	static const struct {
		const char	*ids;
		int		 days;  /* -1: no certificate */
	} in[] = {
		{ "[\"c.example.com\"]", 30 }, { "[\"a.example.com\"]", 10 },
		{ "[\"x.example.co.uk\"]", 5 }, { "[\"new.example.com\"]", -1 },
		{ "[\"b.example.com\",\"y.example.co.uk\"]", 20 },
		{ "[\"d.example.com\"]", 40 },
	};
	static const char *const want[] = {
	    "new.example.com x.example.co.uk a.example.com "
	    "b.example.com c.example.com d.example.com ",
	    "new.example.com x.example.co.uk ",
	    "new.example.com x.example.co.uk a.example.com ",
	};
	/* In memory; a run per entry; a few runs (the merge). */
	static const size_t mem[] = { 0, 1, 600 };
	struct renew_queue *q;
	struct renew_info ri;
	json_t *doc, *line;
	char *buf = NULL, got[512], *p, *save = NULL;
	size_t i, len = 0, k, m;
	FILE *f;

	for (m = 0; m < sizeof(mem) / sizeof(mem[0]); m++)
	for (k = 0; k < 3; k++) {
		if ((q = renew_queue_new(mem[m])) == NULL)
			exit(2);
		for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
			memset(&ri, 0, sizeof(ri));
			ri.has_cert = in[i].days >= 0;
			ri.not_after = T0 + in[i].days * DAY;
			ri.when = T0;
			doc = json_pack("{s:o}", "identifiers", parse(in[i].ids));
			if (renew_queue_add(q, &ri, doc) != 0)
				exit(2);
			json_decref(doc);
		}
		f = open_memstream(&buf, &len);
		if (renew_queue_write(q, f, (long)k) < 0)
			fail("queue", "write failed");
		fclose(f);
		got[0] = '\0';
		for (p = strtok_r(buf, "\n", &save); p != NULL;
		    p = strtok_r(NULL, "\n", &save)) {
			line = parse(p);
			strcat(got, json_string_value(json_array_get(
			    json_object_get(line, "identifiers"), 0)));
			strcat(got, " ");
			json_decref(line);
		}
		if (strcmp(got, want[k]) != 0)
			fail("queue", "memory %zu, max %zu: got \"%s\", want "
			    "\"%s\"", mem[m], k, got, want[k]);
		free(buf);
		buf = NULL;
		save = NULL;
		renew_queue_free(q);
	}
}

static void
test_summary(void)
{
	struct renew_summary sum;
	struct renew_info ri;
	json_t *j, *want;
	char *s;

	memset(&sum, 0, sizeof(sum));
	memset(&ri, 0, sizeof(ri));
	ri.name = "ok.example";
	ri.has_cert = 1;
	ri.not_after = T0 + 60 * DAY;
	renew_summary_add(&sum, &ri, T0);
	ri.name = "soon.example";
	ri.not_after = T0 + 3 * DAY;
	ri.emit = 1;
	renew_summary_add(&sum, &ri, T0);
	ri.name = "expired.example";
	ri.not_after = T0 - 1;
	renew_summary_add(&sum, &ri, T0);
	ri.emit = 0;
	ri.name = "failing.example";
	ri.not_after = T0 + 60 * DAY;
	ri.fail_count = 2;
	ri.class = RENEW_TRANSIENT;
	renew_summary_add(&sum, &ri, T0);
	ri.name = "notpointed.example";
	ri.class = RENEW_PREFLIGHT;
	renew_summary_add(&sum, &ri, T0);
	ri.name = "parked.example";
	ri.parked = 1;
	renew_summary_add(&sum, &ri, T0);
	ri.name = "paused.example";
	ri.parked = 0;
	ri.class = RENEW_PAUSED;
	strcpy(ri.unpause, "https://x.example/unpause");
	renew_summary_add(&sum, &ri, T0);
	want_ll("alarm", sum.alarm, 2);
	j = renew_summary_json(&sum);
	want = parse("{\"managed\":7,\"due\":2,\"expiring7d\":1,\"failing\":1,"
	    "\"preflight\":1,\"parked\":1,\"expired\":1,\"paused\":[{\"name\":\"paused.example\","
	    "\"unpause\":\"https://x.example/unpause\"}]}");
	if (!json_equal(j, want)) {
		s = json_dumps(j, JSON_COMPACT);
		fail("summary", "got %s", s);
		free(s);
	}
	json_decref(j);
	json_decref(want);
	/* A failing name that expires within 7 days raises the alarm. */
	memset(&sum, 0, sizeof(sum));
	ri.class = RENEW_TRANSIENT;
	ri.not_after = T0 + 6 * DAY;
	renew_summary_add(&sum, &ri, T0);
	want_ll("failing and expiring: alarm", sum.alarm, 1);
	json_decref(renew_summary_json(&sum));
}

int
main(void)
{
	test_numbers();
	test_due();
	test_backoff();
	test_classify();
	test_cap();
	test_assess();
	test_preflight();
	assess(NULL, 0, 0, 0); /* frees the last fixture */
	test_bad_meta();
	test_domain();
	test_queue();
	test_queue_runs();
	test_summary();
	return unit_status();
}
