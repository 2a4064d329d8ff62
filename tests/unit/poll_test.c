/*
 * poll_test: the wait between polls (common/poll.c). The first poll comes
 * within tens of milliseconds, then the wait doubles (up to POLL_MAX_MS,
 * not slept through here);
 * Retry-After wins; nothing is slept when the deadline would pass. Only
 * lower bounds of elapsed time are checked (a sleep never ends early), so
 * a loaded machine cannot make it fail.
 */
#define UNIT_PROG "poll_test"
#include <time.h>

#include "../../common/poll.h"
#include "unit.h"

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(void)
{
	struct poll p;
	long long t0;

	/* Tens of milliseconds: a CA near its client is often done. */
	want_range("POLL_FIRST_MS", POLL_FIRST_MS, 10, 100);
	poll_start(&p, 60);
	want_ll("first wait", p.wait_ms, POLL_FIRST_MS);
	t0 = now_ms();
	want_ll("poll_wait", poll_wait(&p, -1), 0);
	want_range("slept", now_ms() - t0, POLL_FIRST_MS, 60000);
	want_ll("doubled", p.wait_ms, 2 * POLL_FIRST_MS);

	/* Retry-After (seconds) beats the backoff; 0 means the first wait. */
	poll_start(&p, 60);
	t0 = now_ms();
	want_ll("retry-after 1", poll_wait(&p, 1), 0);
	want_range("slept retry-after", now_ms() - t0, 1000, 60000);
	t0 = now_ms();
	want_ll("retry-after 0", poll_wait(&p, 0), 0);
	want_range("slept at least the first wait", now_ms() - t0,
	    POLL_FIRST_MS, 60000);

	/* A wait past the deadline is refused at once. */
	poll_start(&p, 5);
	t0 = now_ms();
	want_ll("past the deadline", poll_wait(&p, 10), -1);
	want_range("without sleeping", now_ms() - t0, 0, 1000);
	poll_start(&p, 0);
	want_ll("no time left", poll_wait(&p, -1), -1);
	return unit_status();
}
