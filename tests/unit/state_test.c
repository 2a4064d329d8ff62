/*
 * Unit tests of common/state.c: RFC 3339 times, parsed and written.
 * Silent on success; on failure prints each broken case and exits 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

#define UNIT_PROG "state_test"
#include "unit.h"

/* 2027-01-01T00:00:00Z */
#define T0 1798761600LL

static void
test_time(void)
{
	static const struct {
		const char	*s;
		long long	 t;
	} ok[] = {
		{ "2027-01-01T00:00:00Z", T0 },
		{ "2027-01-01t00:00:00z", T0 },
		{ "2027-01-01T00:00:00.123456Z", T0 },
		{ "2027-01-01T01:30:00+01:30", T0 },
		{ "2026-12-31T23:00:00-01:00", T0 },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2028-02-29T00:00:00Z", T0 + 424 * 86400LL },
	};
	static const char *const bad[] = { "", "2027-01-01", "2027-01-01T00:00:00",
	    "2027-01-01 00:00:00Z", "2027-02-29T00:00:00Z", "2027-13-01T00:00:00Z",
	    "2027-01-01T24:00:00Z", "2027-01-01T00:00:00.Z", "1969-12-31T23:59:59Z",
	    "2027-01-01T00:00:00+0100", "2027-01-01T00:00:00Zjunk", "x027-01-01T00:00:00Z" };
	long long t;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		t = -1;
		if (state_time_parse(ok[i].s, &t) != 0)
			fail(ok[i].s, "refused");
		want_ll(ok[i].s, t, ok[i].t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (state_time_parse(bad[i], &t) == 0)
			fail(bad[i], "accepted as %lld", t);
	if (state_time_parse(NULL, &t) == 0)
		fail("NULL time", "accepted");
}

/* What state_time() writes, state_time_parse() reads back. */
static void
test_round_trip(void)
{
	static const long long ts[] = { 1, T0, T0 + 86399, 4102444800LL };
	char buf[32];
	long long t;
	size_t i;

	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		state_time(ts[i], buf, sizeof(buf));
		t = -1;
		if (state_time_parse(buf, &t) != 0)
			fail(buf, "refused");
		want_ll(buf, t, ts[i]);
	}
	/* A refused time leaves *t alone. */
	t = 7;
	if (state_time_parse("2027-04-31T00:00:00Z", &t) == 0)
		fail("31 April", "accepted");
	want_ll("untouched", t, 7);
}

int
main(void)
{
	test_time();
	test_round_trip();
	return unit_status();
}
