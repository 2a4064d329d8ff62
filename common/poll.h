/*
 * poll: waiting between polls of an ACME object (RFC 8555 section 7.5.1):
 * Retry-After when the CA gives one, else a backoff from 25 ms doubling
 * to 5 s, all within a deadline. The first wait is short because a CA
 * often validates or issues within milliseconds (Pebble, a CA near its
 * client); the doubling keeps a slow one from being asked more than about
 * ten times in its first minute.
 *
 * A step with many documents in flight learns instead (struct poll_learn,
 * one per kind of object and process): the first poll comes when the
 * objects polled before were done, and after it the backoff starts from a
 * quarter of that. A poll begun before anything was learnt takes the
 * learnt time up at its next wait, so the first documents of a run are
 * not all asked on the doubling. A learnt poll that finds the object
 * done moves the estimate down by 1/32 of the wait it had, one that finds
 * it pending up by 1/8 (so about one in five is pending); both are taken
 * relative to that wait, so the documents in flight that found the same
 * thing at the same moment move it once, not once each. A CA that takes a
 * second is then asked about 1.25 times per object instead of the 6 of
 * the doubling.
 */
#ifndef POLL_H
#define POLL_H

#include <pthread.h>
#include <time.h>

#define POLL_FIRST_MS 25
#define POLL_MAX_MS   5000
#define POLL_LEARN_MAX_MS 30000 /* the most a first wait learns */

/* What one kind of poll has learnt; shared by the threads of a process. */
struct poll_learn {
	pthread_mutex_t	mu;
	long		first_ms; /* 0: nothing learnt, the fixed backoff */
};
#define POLL_LEARN_INIT { PTHREAD_MUTEX_INITIALIZER, 0 }

struct poll {
	time_t			 deadline;
	long			 wait_ms;
	struct poll_learn	*learn;   /* or NULL */
	long			 timeout; /* seconds, as given */
	long			 first_ms; /* the learnt wait it took, or 25 */
	long			 learnt_poll; /* the poll it led to (1..), or 0 */
	long			 polls;    /* waits done */
	long long		 t0;       /* start, monotonic ms */
	long long		 last;     /* when the last wait ended */
	long long		 prev;     /* when the one before it ended */
};

/* Starts a poll that may last timeout seconds. */
void poll_start(struct poll *p, long timeout);

/* poll_start() with a first wait learnt in l (borrowed, outlives p). */
void poll_start_learnt(struct poll *p, long timeout, struct poll_learn *l);

/*
 * Sleeps before the next poll: retry_after seconds when >= 0, else the
 * backoff. Returns 0, or -1 without sleeping when the deadline would pass.
 */
int poll_wait(struct poll *p, long retry_after);

/*
 * The object has left pending (or processing) at the last poll: teaches
 * p's poll_learn, if any, when the next ones should ask.
 */
void poll_done(struct poll *p);

#endif
