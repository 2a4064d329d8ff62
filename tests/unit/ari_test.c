/*
 * Unit tests of common/ari.c, ACME Renewal Information (RFC 9773), and of
 * how common/renew.c uses it. Silent on success; on failure prints each
 * broken case and exits 1. No network: answers are made up here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ari.h"
#include "renew.h"
#include "state.h"

#define UNIT_PROG "ari_test"
#include "unit.h"

#define DAY RENEW_DAY
/* 2027-01-01T00:00:00Z */
#define T0 1798761600LL
#define ID "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"

static void
want_str(const char *what, const char *got, const char *want)
{
	if (got == NULL || want == NULL ? got != want : strcmp(got, want) != 0)
		fail(what, "got \"%s\", want \"%s\"", got ? got : "(null)",
		    want ? want : "(null)");
}

static json_t *
parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL) {
		fprintf(stderr, "ari_test: bad fixture: %s: %s\n", text,
		    e.text);
		exit(2);
	}
	return j;
}

/* A time member of obj in seconds, -1 when absent. */
static long long
tm(const json_t *obj, const char *key)
{
	long long t;

	return state_time_parse(state_str(obj, key), &t) == 0 ? t : -1;
}

static void
test_retry(void)
{
	want_ll("absent", ari_retry(-1), 6 * 3600);
	want_ll("0", ari_retry(0), 60);
	want_ll("59", ari_retry(59), 60);
	want_ll("60", ari_retry(60), 60);
	want_ll("3600", ari_retry(3600), 3600);
	want_ll("a day", ari_retry(86400), 86400);
	want_ll("over a day", ari_retry(86401), 86400);
	want_ll("a year", ari_retry(365 * 86400L), 86400);
}

static void
test_choose(void)
{
	long long s = T0, e = T0 + 2 * DAY, c;
	long count[10] = { 0 };
	char id[64];
	int i, moved = 0;

	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.%05x", i);
		c = ari_choose(id, s, e);
		want_range(id, c, s, e);
		count[(c - s) * 10 / (e - s)]++;
		if (c != ari_choose(id, s, e))
			fail(id, "not the same time twice");
		/* A new window draws anew: not the same fraction. */
		if ((ari_choose(id, s + DAY, e + 2 * DAY) - (s + DAY)) * 2 !=
		    c - s)
			moved++;
	}
	for (i = 0; i < 10; i++)
		want_range("uniform over the window", count[i], 850, 1150);
	want_range("a new window, a new draw", moved, 9900, 10001);
	want_ll("empty window", ari_choose(ID, s, s), s);
	want_ll("reversed window", ari_choose(ID, e, s), e);
	want_range("one second", ari_choose(ID, s, s + 1), s, s + 1);
}

/* ari_record() of a made-up answer; the outcome in *out. */
static json_t *
record(long status, const char *body, long retry_after, const char *old,
    enum ari_outcome *out, char *why, size_t whylen)
{
	struct http_response r;
	json_t *o = old != NULL ? parse(old) : NULL, *rec;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.body = (char *)body;
	r.len = body != NULL ? strlen(body) : 0;
	r.retry_after = retry_after;
	rec = ari_record(ID, T0, &r, status == 0 ? "t: Timeout was reached" :
	    NULL, o, out, why, whylen);
	json_decref(o);
	if (rec == NULL) {
		fprintf(stderr, "ari_test: ari_record: NULL\n");
		exit(2);
	}
	return rec;
}

#define WINDOW "{\"suggestedWindow\":{\"start\":\"2027-01-10T00:00:00Z\"," \
	"\"end\":\"2027-01-12T00:00:00Z\"}"
#define OLD "{\"certID\":\"" ID "\",\"window\":{\"start\":" \
	"\"2027-01-20T00:00:00Z\",\"end\":\"2027-01-21T00:00:00Z\"}," \
	"\"chosen\":\"2027-01-20T06:00:00Z\",\"nextCheck\":" \
	"\"2027-01-01T00:00:00Z\"}"

static void
test_record(void)
{
	enum ari_outcome out;
	char why[256];
	json_t *rec;

	/* A window: kept with the time picked; Retry-After clamped. */
	rec = record(200, WINDOW ",\"explanationURL\":\"https://ca.example/"
	    "why\"}", 120, OLD, &out, why, sizeof(why));
	want_ll("answer", out, ARI_ANSWER);
	want_str("answer: certID", state_str(rec, "certID"), ID);
	want_ll("answer: checked", tm(rec, "checked"), T0);
	want_ll("answer: nextCheck", tm(rec, "nextCheck"), T0 + 120);
	want_ll("answer: start", tm(json_object_get(rec, "window"), "start"),
	    T0 + 9 * DAY);
	want_ll("answer: end", tm(json_object_get(rec, "window"), "end"),
	    T0 + 11 * DAY);
	want_ll("answer: chosen", tm(rec, "chosen"), ari_choose(ID,
	    T0 + 9 * DAY, T0 + 11 * DAY));
	want_str("answer: explanationURL", state_str(rec, "explanationURL"),
	    "https://ca.example/why");
	want_ll("answer: no error", json_object_get(rec, "error") == NULL, 1);
	json_decref(rec);
	rec = record(200, WINDOW "}", -1, NULL, &out, why, sizeof(why));
	want_ll("answer without Retry-After", tm(rec, "nextCheck"),
	    T0 + 6 * 3600);
	want_ll("answer without explanationURL",
	    json_object_get(rec, "explanationURL") == NULL, 1);
	json_decref(rec);
	rec = record(200, WINDOW "}", 5, NULL, &out, why, sizeof(why));
	want_ll("Retry-After 5", tm(rec, "nextCheck"), T0 + 60);
	json_decref(rec);

	/* No window: refused, the old window stays, asked in 6 hours. */
	rec = record(200, "{\"suggestedWindow\":{\"start\":\"2027-01-12T00:00"
	    ":00Z\",\"end\":\"2027-01-12T00:00:00Z\"}}", -1, OLD, &out, why,
	    sizeof(why));
	want_ll("empty window", out, ARI_REFUSED);
	want_str("empty window: why", why, "HTTP 200: suggestedWindow ends "
	    "before it starts");
	want_str("empty window: error", state_str(rec, "error"), why);
	want_ll("empty window: old chosen", tm(rec, "chosen"),
	    T0 + 19 * DAY + 6 * 3600);
	want_ll("empty window: nextCheck", tm(rec, "nextCheck"),
	    T0 + 6 * 3600);
	json_decref(rec);
	rec = record(200, "{\"suggestedWindow\":{\"start\":\"soon\"}}", -1,
	    NULL, &out, why, sizeof(why));
	want_ll("bad window", out, ARI_REFUSED);
	want_ll("bad window: no window", json_object_get(rec, "window") ==
	    NULL, 1);
	json_decref(rec);
	rec = record(200, "[1]", -1, NULL, &out, why, sizeof(why));
	want_ll("not an object", out, ARI_REFUSED);
	want_str("not an object: why", why, "HTTP 200: not a JSON object");
	json_decref(rec);
	rec = record(404, "{\"type\":\"urn:ietf:params:acme:error:malformed\","
	    "\"detail\":\"no such certificate\"}", -1, NULL, &out, why,
	    sizeof(why));
	want_ll("404", out, ARI_REFUSED);
	want_str("404: why", why, "HTTP 404: no such certificate");
	want_ll("404: nextCheck", tm(rec, "nextCheck"), T0 + 6 * 3600);
	json_decref(rec);
	rec = record(404, "", -1, NULL, &out, why, sizeof(why));
	want_str("404 without a body", why, "HTTP 404");
	json_decref(rec);

	/* No answer: asked again in an hour, or after Retry-After. */
	rec = record(0, NULL, -1, OLD, &out, why, sizeof(why));
	want_ll("timeout", out, ARI_UNANSWERED);
	want_str("timeout: why", why, "t: Timeout was reached");
	want_ll("timeout: nextCheck", tm(rec, "nextCheck"), T0 + 3600);
	want_ll("timeout: old window", tm(json_object_get(rec, "window"),
	    "start"), T0 + 19 * DAY);
	json_decref(rec);
	rec = record(500, "oops", -1, NULL, &out, why, sizeof(why));
	want_ll("500", out, ARI_UNANSWERED);
	want_str("500: why", why, "HTTP 500");
	want_ll("500: nextCheck", tm(rec, "nextCheck"), T0 + 3600);
	json_decref(rec);
	rec = record(503, NULL, 120, NULL, &out, why, sizeof(why));
	want_ll("503 Retry-After", tm(rec, "nextCheck"), T0 + 120);
	json_decref(rec);
	rec = record(429, "{\"detail\":\"slow down\"}", 600, NULL, &out, why,
	    sizeof(why));
	want_ll("429", out, ARI_LIMITED);
	want_ll("429: nextCheck", tm(rec, "nextCheck"), T0 + 600);
	json_decref(rec);
	/* An old member about another certificate is not kept. */
	rec = record(0, NULL, -1, "{\"certID\":\"x.y\",\"window\":{}}", &out,
	    why, sizeof(why));
	want_ll("other certificate", json_object_get(rec, "window") == NULL,
	    1);
	json_decref(rec);
}

#define META(ari) "{\"name\":\"a.example\",\"identifiers\":[\"a.example\"]," \
	"\"notBefore\":\"2027-01-01T00:00:00Z\",\"notAfter\":" \
	"\"2027-04-01T00:00:00Z\",\"serial\":\"71aa\",\"issuer\":\"Test CA\"," \
	"\"certID\":\"" ID "\"" ari "}"
#define NA (T0 + 90 * DAY)

static void
test_info(void)
{
	struct ari_info ai;
	json_t *m;

	m = parse(META(",\"ari\":" OLD));
	ari_info_get(m, &ai);
	want_ll("current", ai.current, 1);
	want_ll("window", ai.window, 1);
	want_ll("chosen", ai.chosen, T0 + 19 * DAY + 6 * 3600);
	want_ll("nextCheck", ai.next_check, T0);
	json_decref(m);
	m = parse(META(",\"ari\":{\"certID\":\"x.y\",\"nextCheck\":"
	    "\"2030-01-01T00:00:00Z\"}"));
	ari_info_get(m, &ai);
	want_ll("another certificate", ai.current, 0);
	want_ll("another certificate: nextCheck", ai.next_check, 0);
	json_decref(m);
	m = parse(META(",\"ari\":{\"certID\":\"" ID "\",\"window\":{\"start\":"
	    "\"2027-01-20T00:00:00Z\",\"end\":\"2027-01-21T00:00:00Z\"},"
	    "\"chosen\":\"2027-02-20T00:00:00Z\"}"));
	ari_info_get(m, &ai);
	want_ll("chosen outside the window", ai.window, 0);
	want_ll("no nextCheck", ai.next_check, 0);
	json_decref(m);
}

static void
test_wanted(void)
{
	static const struct {
		const char	*meta;
		long long	 now;
		int		 want;
	} c[] = {
		{ META(""), T0, 1 },
		{ META(""), NA, 0 },  /* expired */
		{ META(",\"directory\":\"https://ca.example/dir\""), T0, 1 },
		{ META(",\"directory\":\"https://other.example/dir\""), T0, 0 },
		{ META(",\"ari\":" OLD), T0, 1 },
		{ META(",\"ari\":" OLD), T0 - 1, 0 },
		{ META(",\"ari\":{\"certID\":\"x.y\",\"nextCheck\":"
		    "\"2030-01-01T00:00:00Z\"}"), T0, 1 },
		{ "{\"name\":\"a.example\",\"notAfter\":\"2027-04-01T00:00:00Z\"}",
		    T0, 0 },
		{ "{\"name\":\"a\",\"notAfter\":\"2027-04-01T00:00:00Z\","
		    "\"certID\":\"a/b.c\"}", T0, 0 },
		{ "{\"name\":\"a\",\"notAfter\":\"2027-04-01T00:00:00Z\","
		    "\"certID\":\"abc\"}", T0, 0 },
		{ "{\"name\":\"a\",\"notAfter\":\"2027-04-01T00:00:00Z\","
		    "\"certID\":\"a.b.c\"}", T0, 0 },
		{ "{\"name\":\"a\",\"notAfter\":\"2027-04-01T00:00:00Z\","
		    "\"certID\":\".b\"}", T0, 0 },
		{ "{\"name\":\"a\",\"certID\":\"a.b\"}", T0, 0 },
	};
	json_t *m;
	size_t i;
	char what[32];

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		m = parse(c[i].meta);
		snprintf(what, sizeof(what), "ari_wanted %zu", i);
		want_ll(what, ari_wanted(m, "https://ca.example/dir", c[i].now),
		    c[i].want);
		json_decref(m);
	}
}

static struct renew_info
assess(const char *text, long long now, json_t **keep)
{
	struct renew_policy p = { now, 0, RENEW_PARK_DAYS, 0 };
	struct renew_info ri;
	char why[256];

	json_decref(*keep);
	*keep = parse(text);
	if (renew_assess(*keep, &p, &ri, why, sizeof(why)) != 0)
		fail(text, "renew_assess: %s", why);
	return ri;
}

static void
test_assess(void)
{
	long long chosen = T0 + 19 * DAY + 6 * 3600;
	struct renew_info ri;
	json_t *m = NULL, *doc, *ids = parse("[\"a.example\"]"), *a;

	/* The time picked in the CA's window, not the lifetime. */
	ri = assess(META(",\"ari\":" OLD), chosen - 1, &m);
	want_ll("before chosen", ri.emit, 0);
	want_ll("before chosen: by_ari", ri.by_ari, 1);
	want_ll("before chosen: due", ri.due, chosen);
	ri = assess(META(",\"ari\":" OLD), chosen, &m);
	want_ll("at chosen", ri.emit, 1);
	want_ll("at chosen: reason", ri.reason, RENEW_EXPIRING);
	doc = renew_doc(m, &ri, ids);
	a = json_object_get(json_object_get(doc, "renewal"), "ari");
	want_str("doc: ari.start", state_str(a, "start"),
	    "2027-01-20T00:00:00Z");
	want_str("doc: ari.end", state_str(a, "end"), "2027-01-21T00:00:00Z");
	want_ll("doc: no explanationURL", json_object_get(a, "explanationURL")
	    == NULL, 1);
	want_str("doc: certID", state_str(json_object_get(doc, "previous"),
	    "certID"), ID);
	json_decref(doc);
	ri = assess(META(",\"ari\":{\"certID\":\"" ID "\",\"window\":{\"start\":"
	    "\"2026-12-01T00:00:00Z\",\"end\":\"2026-12-02T00:00:00Z\"},"
	    "\"chosen\":\"2026-12-01T12:00:00Z\",\"explanationURL\":"
	    "\"https://ca.example/incident\"}"), T0, &m);
	want_ll("window in the past", ri.emit, 1);
	doc = renew_doc(m, &ri, ids);
	want_str("doc: explanationURL", state_str(json_object_get(
	    json_object_get(doc, "renewal"), "ari"), "explanationURL"),
	    "https://ca.example/incident");
	json_decref(doc);
	/* A window after expiry is no advice; one across it ends there. */
	ri = assess(META(",\"ari\":{\"certID\":\"" ID "\",\"window\":{\"start\":"
	    "\"2027-04-01T00:00:00Z\",\"end\":\"2027-04-05T00:00:00Z\"},"
	    "\"chosen\":\"2027-04-02T00:00:00Z\"}"), T0, &m);
	want_ll("window after expiry", ri.by_ari, 0);
	want_ll("window after expiry: lifetime", ri.due,
	    renew_due(T0, NA, 0, "a.example"));
	ri = assess(META(",\"ari\":{\"certID\":\"" ID "\",\"window\":{\"start\":"
	    "\"2027-03-31T00:00:00Z\",\"end\":\"2027-04-05T00:00:00Z\"},"
	    "\"chosen\":\"2027-04-02T00:00:00Z\"}"), T0, &m);
	want_ll("window across expiry", ri.due, NA);
	/* For another certificate, or without a window: the lifetime. */
	ri = assess(META(",\"ari\":{\"certID\":\"x.y\",\"window\":{\"start\":"
	    "\"2027-01-20T00:00:00Z\",\"end\":\"2027-01-21T00:00:00Z\"},"
	    "\"chosen\":\"2027-01-20T06:00:00Z\"}"), T0, &m);
	want_ll("another certificate", ri.by_ari, 0);
	ri = assess(META(",\"ari\":{\"certID\":\"" ID "\",\"error\":\"HTTP 404\"}"),
	    T0, &m);
	want_ll("no window", ri.due, renew_due(T0, NA, 0, "a.example"));
	doc = renew_doc(m, &ri, ids);
	want_ll("doc without ari", json_object_get(json_object_get(doc,
	    "renewal"), "ari") == NULL, 1);
	json_decref(doc);
	/* Failures still hold it back. */
	ri = assess(META(",\"ari\":" OLD ",\"failCount\":1,\"lastError\":"
	    "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"time\":"
	    "\"2027-01-20T06:00:00Z\",\"retryAfter\":\"2027-01-21T00:00:00Z\"}"),
	    chosen + 3600, &m);
	want_ll("retryAfter after chosen", ri.emit, 0);
	want_ll("retryAfter after chosen: next", ri.next, T0 + 20 * DAY);
	json_decref(m);
	json_decref(ids);
}

int
main(void)
{
	test_retry();
	test_choose();
	test_record();
	test_info();
	test_wanted();
	test_assess();
	return unit_status();
}
