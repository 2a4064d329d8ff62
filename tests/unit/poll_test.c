/*
 * poll_test: the wait between polls (common/poll.c). The first poll comes
 * within tens of milliseconds, then the wait doubles (up to POLL_MAX_MS,
 * not slept through here);
 * Retry-After wins; nothing is slept when the deadline would pass; a
 * learnt first wait follows what earlier polls found. Only
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

	/* Nothing learnt yet: the fixed backoff, and nothing to teach. */
	struct poll_learn l = POLL_LEARN_INIT;
	long first;
	poll_start_learnt(&p, 60, &l);
	want_ll("unlearnt first wait", p.wait_ms, POLL_FIRST_MS);
	poll_done(&p);
	want_ll("done before any poll teaches nothing", l.first_ms, 0);
	/* Pending at 25 and 75 ms, done at 175: learnt about 125 ms. */
	want_ll("wait 1", poll_wait(&p, -1), 0);
	want_ll("wait 2", poll_wait(&p, -1), 0);
	want_ll("wait 3", poll_wait(&p, -1), 0);
	poll_done(&p);
	want_range("learnt between the last two polls", l.first_ms,
	    (POLL_FIRST_MS * 3 + POLL_FIRST_MS * 7) / 2, 60000);
	first = l.first_ms;
	/* The next poll waits that long first, then a quarter of it. */
	poll_start_learnt(&p, 60, &l);
	want_ll("learnt first wait", p.wait_ms, first);
	t0 = now_ms();
	want_ll("learnt wait", poll_wait(&p, -1), 0);
	want_range("slept the learnt wait", now_ms() - t0, first, 60000);
	want_ll("then a quarter", p.wait_ms, first / 4 > POLL_FIRST_MS ?
	    first / 4 : POLL_FIRST_MS);
	/* Done at the first poll: the next first wait is 1/32 shorter. */
	poll_done(&p);
	want_ll("done at once: sooner", l.first_ms, first - first / 32);
	/* Pending at the first poll, done at the second: later again. */
	first = l.first_ms;
	poll_start_learnt(&p, 60, &l);
	want_ll("wait a", poll_wait(&p, -1), 0);
	want_ll("wait b", poll_wait(&p, -1), 0);
	poll_done(&p);
	want_range("pending once: later", l.first_ms, first + 1, 60000);
	/* A poll begun before anything was learnt takes it up as it goes. */
	struct poll_learn late = POLL_LEARN_INIT;
	t0 = now_ms(); /* before the poll's own start */
	poll_start_learnt(&p, 60, &late);
	want_ll("unlearnt: the fixed first wait", poll_wait(&p, -1), 0);
	late.first_ms = 300;
	want_ll("learnt meanwhile", poll_wait(&p, -1), 0);
	/* Whole milliseconds on both clocks: up to 2 ms short of 300. */
	want_range("the next poll at the learnt time", now_ms() - t0, 298,
	    60000);
	want_ll("then a quarter of it", p.wait_ms, 75);
	poll_done(&p);
	want_ll("done at the learnt poll: sooner", late.first_ms, 300 - 300 / 32);
	/* Retry-After still wins over what was learnt. */
	poll_start_learnt(&p, 60, &late);
	t0 = now_ms();
	want_ll("retry-after over learnt", poll_wait(&p, 1), 0);
	want_range("slept retry-after", now_ms() - t0, 1000, 60000);
	/* A learnt wait never takes more than half of the time a poll has. */
	l.first_ms = 20000;
	poll_start_learnt(&p, 10, &l);
	want_ll("half the timeout", p.wait_ms, 5000);
	l.first_ms = 20000;
	poll_start_learnt(&p, 60, &l);
	want_ll("within the timeout: as learnt", p.wait_ms, 20000);
	return unit_status();
}
