/*
 * poll: waiting between polls of an ACME object (RFC 8555 section 7.5.1):
 * Retry-After when the CA gives one, else a backoff from 100 ms doubling
 * to 5 s, all within a deadline.
 */
#ifndef POLL_H
#define POLL_H

#include <time.h>

#define POLL_FIRST_MS 100
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
