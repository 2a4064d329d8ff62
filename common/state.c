/* state: the state document's accessors and failure recording. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ident.h"
#include "state.h"

int
state_failed(const json_t *doc)
{
	return json_is_object(json_object_get(doc, "error"));
}

char *
state_time(long long t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt;

	tt = t > 0 ? (time_t)t : time(NULL);
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		if (len > 0)
			buf[0] = '\0';
	}
	return buf;
}

/* Reads n decimal digits. */
static int
state_digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* The zone of an RFC 3339 time ("Z" or "+hh:mm"), in seconds east. */
static int
state_zone(const char *s, long long *off)
{
	int h, m;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*off = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || state_digits(s + 1, 2, &h) != 0 ||
	    s[3] != ':' || state_digits(s + 4, 2, &m) != 0 || s[6] != '\0' ||
	    h > 23 || m > 59)
		return -1;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600LL + m * 60LL);
	return 0;
}

int
state_time_parse(const char *s, long long *t)
{
	struct tm tm;
	long long off;
	time_t tt;
	int y, mo, d, h, mi, se;

	if (s == NULL || strlen(s) < 20 || state_digits(s, 4, &y) != 0 ||
	    s[4] != '-' || state_digits(s + 5, 2, &mo) != 0 || s[7] != '-' ||
	    state_digits(s + 8, 2, &d) != 0 || (s[10] != 'T' && s[10] != 't') ||
	    state_digits(s + 11, 2, &h) != 0 || s[13] != ':' ||
	    state_digits(s + 14, 2, &mi) != 0 || s[16] != ':' ||
	    state_digits(s + 17, 2, &se) != 0)
		return -1;
	s += 19;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return -1;
		for (s++; *s >= '0' && *s <= '9'; s++)
			continue;
	}
	if (state_zone(s, &off) != 0 || y < 1970 || mo < 1 || mo > 12 ||
	    d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if ((tt = timegm(&tm)) == (time_t)-1 || tm.tm_mday != d)
		return -1; /* 31 April */
	*t = (long long)tt - off;
	return 0;
}

/* Builds the error object; every member is a copy. */
static void
state_set_error(json_t *doc, const char *step, const char *type,
    const char *identifier, const char *detail)
{
	json_t *e;
	char now[32];

	e = json_object();
	if (e == NULL)
		return;
	json_object_set_new(e, "step", json_string(step));
	json_object_set_new(e, "type", json_string(type));
	/* json_string() refuses invalid UTF-8: keep the error anyway. */
	if (json_object_set_new(e, "detail", json_string(detail)) != 0)
		json_object_set_new(e, "detail",
		    json_string("(detail not valid UTF-8)"));
	if (identifier != NULL)
		json_object_set_new(e, "identifier", json_string(identifier));
	json_object_set_new(e, "time",
	    json_string(state_time(0, now, sizeof(now))));
	json_object_set_new(doc, "error", e);
}

void
state_fail(json_t *doc, const char *step, const char *type,
    const char *identifier, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	state_set_error(doc, step, type, identifier, detail);
}

void
state_fail_problem(json_t *doc, const char *step, const json_t *problem,
    const char *identifier)
{
	const char *type, *detail, *ra;
	const json_t *v;
	json_t *e;

	/* No problem object: an allocation failed on the way. */
	type = problem != NULL ? state_str(problem, "type") : STATE_ERR_LOCAL;
	detail = problem != NULL ? state_str(problem, "detail") :
	    "out of memory";
	if (identifier == NULL)
		identifier = state_str(problem, "identifier");
	state_set_error(doc, step, type != NULL ? type : "about:blank",
	    identifier, detail != NULL ? detail : "(no detail)");
	e = json_object_get(doc, "error");
	if (e == NULL)
		return;
	if ((v = json_object_get(problem, "status")) != NULL &&
	    json_is_integer(v))
		json_object_set(e, "status", (json_t *)v);
	if ((ra = state_str(problem, "retryAfter")) != NULL)
		json_object_set_new(e, "retryAfter", json_string(ra));
	if ((v = json_object_get(problem, "subproblems")) != NULL &&
	    json_is_array(v))
		json_object_set(e, "subproblems", (json_t *)v);
}

/* Replaces the identifiers by their normalised forms, without duplicates. */
static int
state_norm_identifiers(json_t *doc, json_t *ids, const char *step)
{
	json_t *norm = NULL, *v, *w;
	size_t i, j;
	char why[256], *n;
	int dup, rc = -1;

	if ((norm = json_array()) == NULL)
		goto out;
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v)) {
			state_fail(doc, step, STATE_ERR_INPUT, NULL,
			    "identifiers[%zu] is not a string", i);
			goto out;
		}
		if ((n = ident_normalize(json_string_value(v), why,
		    sizeof(why))) == NULL) {
			state_fail(doc, step, STATE_ERR_IDENTIFIER,
			    json_string_value(v), "%s", why);
			goto out;
		}
		dup = 0;
		json_array_foreach(norm, j, w)
			dup |= strcmp(json_string_value(w), n) == 0;
		if (!dup && json_array_append_new(norm, json_string(n)) != 0) {
			free(n);
			goto out;
		}
		free(n);
	}
	if (json_object_set(doc, "identifiers", norm) != 0)
		goto out;
	rc = 0;
out:
	json_decref(norm);
	return rc;
}

int
state_check(json_t *doc, const char *step)
{
	json_t *v, *ids;

	v = json_object_get(doc, "version");
	if (v != NULL && !(json_is_integer(v) &&
	    json_integer_value(v) == STATE_VERSION)) {
		state_fail(doc, step, STATE_ERR_INPUT, NULL,
		    "unknown schema version (this program knows %d)",
		    STATE_VERSION);
		return -1;
	}
	if (json_object_set_new(doc, "version",
	    json_integer(STATE_VERSION)) != 0)
		return -1;
	ids = json_object_get(doc, "identifiers");
	if (!json_is_array(ids) || json_array_size(ids) == 0) {
		state_fail(doc, step, STATE_ERR_INPUT, NULL,
		    "no identifiers: want \"identifiers\":[\"example.com\"]");
		return -1;
	}
	if (json_array_size(ids) > 100) {
		state_fail(doc, step, STATE_ERR_INPUT, NULL,
		    "%zu identifiers: at most 100 per certificate",
		    json_array_size(ids));
		return -1;
	}
	return state_norm_identifiers(doc, ids, step);
}

const char *
state_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int
state_set_str(json_t *obj, const char *key, const char *s)
{
	if (s == NULL) {
		(void)json_object_del(obj, key); /* absent is fine */
		return 0;
	}
	return json_object_set_new(obj, key, json_string(s));
}
