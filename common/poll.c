/* poll: backoff between polls, bounded by a deadline. */
#include "poll.h"

void
poll_start(struct poll *p, long timeout)
{
	p->deadline = time(NULL) + timeout;
	p->wait_ms = POLL_FIRST_MS;
}

int
poll_wait(struct poll *p, long retry_after)
{
	struct timespec ts;
	long ms = p->wait_ms;

	if (retry_after >= 0)
		ms = retry_after * 1000 > POLL_FIRST_MS ? retry_after * 1000 :
		    POLL_FIRST_MS;
	if (time(NULL) + ms / 1000 >= p->deadline)
		return -1;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0)
		;
	p->wait_ms = p->wait_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : p->wait_ms * 2;
	return 0;
}
