/* poll: backoff between polls, bounded by a deadline. */
#include "poll.h"

static long long
poll_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
poll_start(struct poll *p, long timeout)
{
	p->deadline = time(NULL) + timeout;
	p->timeout = timeout;
	p->wait_ms = POLL_FIRST_MS;
	p->learn = NULL;
	p->first_ms = POLL_FIRST_MS;
	p->learnt_poll = 0;
	p->polls = 0;
	p->t0 = p->last = p->prev = poll_now_ms();
}

/*
 * Moves what l has learnt to ms: only down (dir < 0), only up (dir > 0),
 * or either way when nothing was learnt yet (dir 0: only up otherwise).
 * Each is relative to the wait a poll started with, not to l's value, so
 * the many documents of one moment that found the same thing move it once,
 * not once each.
 */
static void
poll_teach(struct poll_learn *l, long ms, int dir)
{
	if (ms > POLL_LEARN_MAX_MS)
		ms = POLL_LEARN_MAX_MS;
	if (ms < POLL_FIRST_MS)
		ms = POLL_FIRST_MS;
	pthread_mutex_lock(&l->mu);
	if (l->first_ms == 0 || (dir < 0 && ms < l->first_ms) ||
	    (dir >= 0 && ms > l->first_ms))
		l->first_ms = ms;
	pthread_mutex_unlock(&l->mu);
}

/* What l has learnt, as a first wait for a poll that has timeout s. */
static long
poll_learnt(struct poll_learn *l, long timeout)
{
	long ms;

	pthread_mutex_lock(&l->mu);
	ms = l->first_ms;
	pthread_mutex_unlock(&l->mu);
	/* What was learnt never uses up the time a poll has. */
	if (ms / 1000 >= timeout / 2)
		ms = timeout * 1000 / 2;
	return ms > POLL_FIRST_MS ? ms : 0;
}

void
poll_start_learnt(struct poll *p, long timeout, struct poll_learn *l)
{
	long ms;

	poll_start(p, timeout);
	p->learn = l;
	if ((ms = poll_learnt(l, timeout)) > 0) {
		p->wait_ms = p->first_ms = ms;
		p->learnt_poll = 1;
	}
}

int
poll_wait(struct poll *p, long retry_after)
{
	struct timespec ts;
	long ms = p->wait_ms, learnt;

	/* The learnt poll found it pending: the next ones ask later. */
	if (p->learn != NULL && p->learnt_poll != 0 && p->polls ==
	    p->learnt_poll)
		poll_teach(p->learn, p->first_ms + p->first_ms / 8, 1);
	if (retry_after >= 0)
		ms = retry_after * 1000 > POLL_FIRST_MS ? retry_after * 1000 :
		    POLL_FIRST_MS;
	else if (p->learn != NULL && p->learnt_poll == 0 && p->polls > 0 &&
	    (learnt = poll_learnt(p->learn, p->timeout)) > 0) {
		/* Learnt meanwhile: the next poll at that time since the start. */
		ms = (long)(p->t0 + learnt - poll_now_ms());
		if (ms < POLL_FIRST_MS)
			ms = POLL_FIRST_MS;
		p->first_ms = learnt;
		p->learnt_poll = p->polls + 1;
	}
	if (time(NULL) + ms / 1000 >= p->deadline)
		return -1;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
	/* After a learnt first wait, the backoff starts from a quarter. */
	if (p->polls + 1 == p->learnt_poll)
		p->wait_ms = p->first_ms / 4 > POLL_FIRST_MS ?
		    p->first_ms / 4 : POLL_FIRST_MS;
	else
		p->wait_ms = p->wait_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS :
		    p->wait_ms * 2;
	p->polls++;
	p->prev = p->last;
	p->last = poll_now_ms();
	return 0;
}

void
poll_done(struct poll *p)
{
	long ms;

	if (p->learn == NULL || p->polls == 0)
		return;
	if (p->learnt_poll != 0 && p->polls == p->learnt_poll) {
		/* Done at the learnt poll: perhaps it could have come sooner. */
		poll_teach(p->learn, p->first_ms - p->first_ms / 32, -1);
		return;
	}
	/* Pending at the poll before: it was done in between. */
	ms = (long)((p->prev + p->last) / 2 - p->t0);
	/* One slow object moves the estimate by an eighth at most. */
	if (p->learnt_poll != 0 && ms > p->first_ms + p->first_ms / 8)
		ms = p->first_ms + p->first_ms / 8;
	poll_teach(p->learn, ms, 0);
}
