/*
 * poll: waiting between polls of an ACME object (RFC 8555 section 7.5.1):
 * Retry-After when the CA gives one, else a backoff from 25 ms doubling
 * to 5 s, all within a deadline. The first wait is short because a CA
 * often validates or issues within milliseconds (Pebble, a CA near its
 * client); the doubling keeps a slow one from being asked more than about
 * ten times in its first minute.
 */
#ifndef POLL_H
#define POLL_H

#include <time.h>

#define POLL_FIRST_MS 25
#define POLL_MAX_MS   5000

struct poll {
	time_t	deadline;
	long	wait_ms;
};

/* Starts a poll that may last timeout seconds. */
void poll_start(struct poll *p, long timeout);

/*
 * Sleeps before the next poll: retry_after seconds when >= 0, else the
 * backoff. Returns 0, or -1 without sleeping when the deadline would pass.
 */
int poll_wait(struct poll *p, long retry_after);

#endif
