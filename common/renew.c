/*
 * renew: the renewal policy (see renew.h and cert-expiring(1)); the queue
 * and the summary are in renewq.c.
 *
 * Every pseudo-random choice (the due point in its window, the jitter of
 * a backoff, the time picked in the CA's window) comes from a hash of the
 * name or CertID (hash.h), so runs on any machine and at any time agree,
 * and a dry run with --now shows what a real one will do.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ari.h"
#include "conf.h"
#include "hash.h"
#include "renew.h"
#include "state.h"
#include "store.h" /* STORE_HISTORY */

#define ACME_PREFIX "urn:ietf:params:acme:error:"
#define RENEW_SALT_SPREAD 0x5350524541440001ULL
#define RENEW_SALT_JITTER 0x4a49545445520002ULL

int
renew_parse_shard(const char *s, unsigned long *i, unsigned long *n)
{
	const char *slash = s != NULL ? strchr(s, '/') : NULL;
	char num[16];
	long a, b;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(num))
		return -1;
	memcpy(num, s, (size_t)(slash - s));
	num[slash - s] = '\0';
	if ((a = conf_number(num, RENEW_SHARDS_MAX)) == -1 ||
	    (b = conf_number(slash + 1, RENEW_SHARDS_MAX)) == -1 ||
	    a > b)
		return -1;
	*i = (unsigned long)a;
	*n = (unsigned long)b;
	return 0;
}

long long
renew_due(long long nb, long long na, long long window, const char *key)
{
	long long life = na - nb, w, spread;

	if (window > 0)
		w = window;
	else if (life <= 0)
		w = 0;
	else
		w = life < RENEW_SHORT_LIFETIME ? life / 2 : life / 3;
	/* Short lifetimes: soon after half of it, to leave time for retries. */
	spread = window <= 0 && life > 0 && life < RENEW_SHORT_LIFETIME ?
	    w / 4 : w / 2;
	return na - w + hash_spread(hash_name(key) ^ RENEW_SALT_SPREAD,
	    spread);
}

/* b plus 0 to 10% of it, fixed by key and count. */
static long long
renew_jitter(const char *key, long long count, long long b)
{
	return b + hash_spread(hash_name(key) ^
	    hash_mix((uint64_t)count ^ RENEW_SALT_JITTER), b / 10);
}

long long
renew_backoff(const char *key, long long count)
{
	static const long long steps[] = { 60, 600, 6000, RENEW_DAY };

	return renew_jitter(key, count, steps[count < 1 ? 0 : count > 4 ? 3 :
	    count - 1]);
}

/* 1 when the error is one of acmepipe's pre-flight failures. */
static int
renew_is_preflight(const json_t *error)
{
	static const char *const types[] = { STATE_ERR_NOT_POINTED,
	    STATE_ERR_CAA, STATE_ERR_RESOLVER, STATE_ERR_SELF_CHECK };
	const char *t = state_str(error, "type");
	size_t i;

	for (i = 0; t != NULL && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i]) == 0)
			return 1;
	return 0;
}

/* The ACME problem type without its prefix, or NULL for other types. */
static const char *
renew_acme_type(const json_t *error)
{
	const char *t = state_str(error, "type");

	if (t == NULL || strncmp(t, ACME_PREFIX, strlen(ACME_PREFIX)) != 0)
		return NULL;
	return t + strlen(ACME_PREFIX);
}

/* 1 when needle (lower case) occurs in s, ignoring case. */
static int
renew_icontains(const char *s, const char *needle)
{
	size_t i, n = strlen(needle);

	for (; *s != '\0'; s++) {
		for (i = 0; i < n; i++) {
			char c = s[i];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c != needle[i])
				break;
		}
		if (i == n)
			return 1;
	}
	return 0;
}

/* The first https URL in detail that mentions "unpause", into url. */
static void
renew_unpause_url(const char *detail, char *url, size_t urllen)
{
	const char *p = detail, *q;
	size_t n;

	url[0] = '\0';
	while ((p = strstr(p, "https://")) != NULL) {
		for (q = p; *q != '\0' && strchr(" \t\r\n\"'<>", *q) == NULL; q++)
			continue;
		while (q > p && strchr(".,;:)]", q[-1]) != NULL)
			q--;
		n = (size_t)(q - p);
		if (n < urllen) {
			memcpy(url, p, n);
			url[n] = '\0';
			if (strstr(url, "unpause") != NULL)
				return;
			url[0] = '\0';
		}
		p = q > p ? q : p + 1;
	}
}

static enum renew_class
renew_classify_at(const json_t *error, char *url, size_t urllen, int depth)
{
	const char *a = renew_acme_type(error), *detail;
	const json_t *sub;
	enum renew_class c;
	size_t i;

	detail = state_str(error, "detail");
	if (detail == NULL)
		detail = "";
	if (a == NULL)
		return renew_is_preflight(error) ? RENEW_PREFLIGHT :
		    RENEW_TRANSIENT;
	if ((strcmp(a, "rateLimited") == 0 || strcmp(a, "unauthorized") == 0) &&
	    (renew_icontains(detail, "pause") ||
	    renew_icontains(detail, "temporarily prevented from requesting"))) {
		renew_unpause_url(detail, url, urllen);
		return RENEW_PAUSED;
	}
	if (strcmp(a, "caa") == 0 || strcmp(a, "unauthorized") == 0 ||
	    strcmp(a, "rejectedIdentifier") == 0 ||
	    strcmp(a, "incorrectResponse") == 0 ||
	    strcmp(a, "unsupportedIdentifier") == 0 ||
	    (strcmp(a, "dns") == 0 && strstr(detail, "NXDOMAIN") != NULL))
		return RENEW_PERMANENT;
	if (strcmp(a, "compound") == 0 && depth == 0) {
		json_array_foreach(json_object_get(error, "subproblems"), i,
		    sub) {
			c = renew_classify_at(sub, url, urllen, 1);
			if (c != RENEW_TRANSIENT)
				return c;
		}
	}
	return RENEW_TRANSIENT;
}

enum renew_class
renew_classify(const json_t *error, char *url, size_t urllen)
{
	if (urllen > 0)
		url[0] = '\0';
	return renew_classify_at(error, url, urllen, 0);
}

/* 1 when e is a failed validation: the CA checked a challenge. */
static int
renew_is_validation(const json_t *e)
{
	static const char *const types[] = { "connection", "dns", "caa",
	    "tls", "unauthorized", "incorrectResponse" };
	const char *a = renew_acme_type(e), *step = state_str(e, "step");
	size_t i;

	if (a == NULL || step == NULL || strcmp(step, "acme-challenge") != 0)
		return 0;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(a, types[i]) == 0)
			return 1;
	return 0;
}

long long
renew_validation_cap(const json_t *failures, long long now)
{
	long long t[STORE_HISTORY * 2] = { 0 }, v;
	const json_t *e;
	size_t i, j, n = 0;

	json_array_foreach(failures, i, e) {
		if (n == sizeof(t) / sizeof(t[0]) || !renew_is_validation(e) ||
		    state_time_parse(state_str(e, "time"), &v) != 0 ||
		    v > now || v <= now - 3600)
			continue;
		/* Insertion sort: the history is short. */
		for (j = n++; j > 0 && t[j - 1] > v; j--)
			t[j] = t[j - 1];
		t[j] = v;
	}
	if (n < RENEW_FAILS_PER_HOUR)
		return 0;
	/* Attempts resume when one fewer than the limit is left in the hour. */
	return t[n - RENEW_FAILS_PER_HOUR] + 3600;
}

/* The times of the current run of failures; lenient, they are data. */
static void
renew_fail_times(const json_t *meta, struct renew_info *ri)
{
	const json_t *err = json_object_get(meta, "lastError");

	if (state_time_parse(state_str(err, "time"), &ri->last_failure) != 0 &&
	    state_time_parse(state_str(meta, "firstFailure"),
	    &ri->last_failure) != 0)
		ri->last_failure = 0;
	if (state_time_parse(state_str(meta, "firstFailure"),
	    &ri->first_failure) != 0 || ri->first_failure > ri->last_failure)
		ri->first_failure = ri->last_failure;
}

/* The failure bookkeeping: class, backoff, retryAfter, parking. */
static void
renew_failures(const json_t *meta, const struct renew_policy *p,
    struct renew_info *ri)
{
	const json_t *err = json_object_get(meta, "lastError");
	long long ra, park;

	renew_fail_times(meta, ri);
	ri->class = renew_classify(err, ri->unpause, sizeof(ri->unpause));
	ri->next = ri->last_failure + (ri->class == RENEW_PREFLIGHT ?
	    renew_jitter(ri->key, ri->fail_count, RENEW_PREFLIGHT_WAIT) :
	    renew_backoff(ri->key, ri->fail_count));
	if (state_time_parse(state_str(err, "retryAfter"), &ra) == 0 &&
	    ra > ri->next)
		ri->next = ra;
	park = p->park_days;
	if (ri->class == RENEW_PERMANENT && park > RENEW_PARK_PERMANENT)
		park = RENEW_PARK_PERMANENT;
	ri->parked = ri->class != RENEW_PAUSED &&
	    ri->last_failure - ri->first_failure >= park * RENEW_DAY;
}

/*
 * The CA's suggested window, when the metadata has one for this
 * certificate, wins over the lifetime rule; a window that starts only
 * once the certificate has expired is no advice, and the time picked is
 * never after notAfter.
 */
static void
renew_ari(const json_t *meta, struct renew_info *ri)
{
	ri->cert_id = state_str(meta, "certID");
	ari_info_get(meta, &ri->ari);
	if (!ri->ari.window || ri->ari.start >= ri->not_after)
		return;
	ri->by_ari = 1;
	ri->due = ri->ari.chosen < ri->not_after ? ri->ari.chosen :
	    ri->not_after;
}

/*
 * A revoked certificate (acme-revoke records "revoked" with its serial)
 * is due from its revocation on: clients may refuse it already. A
 * certificate stored since has another serial and its own due point.
 */
static void
renew_revoked(const json_t *meta, struct renew_info *ri)
{
	const json_t *r = json_object_get(meta, "revoked");
	const char *serial = state_str(meta, "serial");
	long long t;

	if (serial == NULL || state_str(r, "serial") == NULL ||
	    strcmp(state_str(r, "serial"), serial) != 0)
		return;
	ri->revoked = 1;
	/* No time that parses: due since issuance, the safe side. */
	if (state_time_parse(state_str(r, "time"), &t) != 0)
		t = ri->not_before;
	if (t < ri->due) {
		ri->due = t;
		ri->by_ari = 0;
	}
}

int
renew_assess(const json_t *meta, const struct renew_policy *p,
    struct renew_info *ri, char *why, size_t whylen)
{
	const json_t *v;
	const char *na, *nb;
	long long added, cap;

	memset(ri, 0, sizeof(*ri));
	ri->name = state_str(meta, "name");
	ri->key = json_string_value(json_array_get(json_object_get(meta,
	    "identifiers"), 0));
	if (ri->key == NULL)
		ri->key = ri->name;
	if (ri->name == NULL) {
		snprintf(why, whylen, "metadata without a name");
		return -1;
	}
	if ((na = state_str(meta, "notAfter")) != NULL) {
		nb = state_str(meta, "notBefore");
		if (state_time_parse(na, &ri->not_after) != 0 ||
		    (nb != NULL && state_time_parse(nb, &ri->not_before) != 0)) {
			snprintf(why, whylen, "metadata: %s is not an RFC 3339 "
			    "time", state_time_parse(na, &added) != 0 ?
			    "notAfter" : "notBefore");
			return -1;
		}
		if (nb == NULL)
			ri->not_before = ri->not_after - RENEW_LIFETIME;
		ri->has_cert = 1;
		ri->due = renew_due(ri->not_before, ri->not_after, p->window,
		    ri->key);
		renew_ari(meta, ri);
		renew_revoked(meta, ri);
	} else if (state_time_parse(state_str(meta, "added"), &added) == 0 &&
	    added < p->now)
		ri->due = added;
	else
		ri->due = p->now;
	v = json_object_get(meta, "failCount");
	ri->fail_count = json_is_integer(v) ? json_integer_value(v) : 0;
	if (ri->fail_count > 0)
		renew_failures(meta, p, ri);
	cap = renew_validation_cap(json_object_get(meta, "failures"), p->now);
	if (cap > ri->next)
		ri->next = cap;
	ri->when = ri->next > ri->due ? ri->next : ri->due;
	ri->emit = p->now >= ri->when && ri->class != RENEW_PAUSED &&
	    (!ri->parked || p->include_parked);
	if (ri->emit)
		ri->reason = ri->fail_count > 0 ? RENEW_RETRY : ri->revoked ?
		    RENEW_REVOKED : ri->has_cert ? RENEW_EXPIRING : RENEW_NEW;
	return 0;
}


static const char *
renew_reason_name(enum renew_reason r)
{
	return r == RENEW_NEW ? "new" : r == RENEW_RETRY ? "retry" :
	    r == RENEW_EXPIRING ? "expiring" : r == RENEW_REVOKED ? "revoked" :
	    "none";
}

/* renewal.ari: the window that made the certificate due. */
static json_t *
renew_doc_ari(const struct renew_info *ri)
{
	char a[32], b[32];

	return json_pack("{s:s,s:s,s:s*}", "start", state_time(ri->ari.start,
	    a, sizeof(a)), "end", state_time(ri->ari.end, b, sizeof(b)),
	    "explanationURL", ri->ari.explanation);
}

json_t *
renew_doc(const json_t *meta, const struct renew_info *ri,
    const json_t *ids)
{
	json_t *doc = NULL, *prev = NULL, *ren = NULL;
	char due[32];
	int bad;

	doc = json_pack("{s:i,s:O}", "version", STATE_VERSION, "identifiers",
	    (json_t *)ids);
	ren = json_pack("{s:s,s:s}", "reason", renew_reason_name(ri->reason),
	    "due", state_time(ri->when > 0 ? ri->when : 1, due, sizeof(due)));
	bad = doc == NULL || ren == NULL;
	if (!bad && ri->parked)
		bad = json_object_set_new(ren, "parked", json_true()) != 0;
	if (!bad && ri->by_ari)
		bad = json_object_set_new(ren, "ari", renew_doc_ari(ri)) != 0;
	if (!bad && ri->has_cert) {
		bad = (prev = json_object()) == NULL ||
		    state_set_str(prev, "serial", state_str(meta, "serial")) ||
		    state_set_str(prev, "notAfter", state_str(meta,
		    "notAfter")) ||
		    state_set_str(prev, "issuer", state_str(meta, "issuer")) ||
		    state_set_str(prev, "certID", state_str(meta, "certID")) ||
		    json_object_set(doc, "previous", prev) != 0;
	}
	bad = bad || json_object_set(doc, "renewal", ren) != 0;
	json_decref(prev);
	json_decref(ren);
	if (bad) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

long long
renew_due_hint(const json_t *meta, long long *ari_check)
{
	struct renew_policy p;
	struct renew_info ri;
	struct ari_info ai;
	char why[128];

	*ari_check = -1;
	memset(&p, 0, sizeof(p));
	p.now = (long long)time(NULL);
	p.park_days = RENEW_PARK_DAYS;
	if (renew_assess(meta, &p, &ri, why, sizeof(why)) != 0)
		return 0;
	if (ri.has_cert && ri.cert_id != NULL) {
		ari_info_get(meta, &ai);
		*ari_check = ai.current && ai.next_check > 0 ? ai.next_check : 0;
	}
	return ri.when > 0 ? ri.when : 0;
}
