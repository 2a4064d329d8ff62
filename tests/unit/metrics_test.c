/*
 * Unit tests of common/metrics.c: label values escaped as the exposition
 * format wants (backslash, double quote, newline), the per-name series
 * sorted by name, the shard label on every sample, no soonest expiry
 * when no name has a certificate. Silent on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define UNIT_PROG "metrics_test"
#include "unit.h"

/* 1 when text has line as one of its lines. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p;

	for (p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static void
want_line(const char *what, const char *text, const char *line)
{
	if (!has_line(text, line))
		fail(what, "no line %s in:\n%s", line, text);
}

int
main(void)
{
	struct renew_summary sum;
	struct metrics m = { NULL, 0, 0 };
	char *t;
	size_t len;

	memset(&sum, 0, sizeof(sum));
	sum.managed = 3;
	sum.expiring = 2;
	if (metrics_name_add(&m, "z.example", 200) != 0 ||
	    metrics_name_add(&m, "a\"b\\c\nd", 100) != 0)
		fail("add", "out of memory");
	if ((t = metrics_text(&sum, &m, 1000, 2, 4, &len)) == NULL) {
		fail("text", "NULL");
		return unit_status();
	}
	want_ll("length", (long long)len, (long long)strlen(t));
	want_line("shard", t, "acmepipe_names{shard=\"2/4\"} 3");
	want_line("within", t,
	    "acmepipe_names_expiring{shard=\"2/4\",within=\"7d\"} 2");
	want_line("escaped", t, "acmepipe_certificate_expiry_timestamp_seconds"
	    "{shard=\"2/4\",name=\"a\\\"b\\\\c\\nd\"} 100");
	if (strstr(t, "a\\\"b") > strstr(t, "z.example"))
		fail("order", "not sorted by name:\n%s", t);
	if (strstr(t, "soonest") != NULL)
		fail("soonest", "without a certificate:\n%s", t);
	want_line("run", t, "acmepipe_expiring_last_run_timestamp_seconds"
	    "{shard=\"2/4\"} 1000");
	free(t);
	sum.has_soonest = 1;
	sum.soonest = 5;
	if ((t = metrics_text(&sum, NULL, 1000, 0, 1, &len)) == NULL) {
		fail("text", "NULL");
		return unit_status();
	}
	want_line("no shard", t, "acmepipe_names 3");
	want_line("soonest", t,
	    "acmepipe_certificate_soonest_expiry_timestamp_seconds 5");
	if (strstr(t, "{name=") != NULL)
		fail("names", "without m:\n%s", t);
	free(t);
	metrics_free(&m);
	return unit_status();
}
