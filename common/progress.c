/* progress: a line rewritten in place on a terminal (see progress.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "progress.h"

/* The width of the line on the terminal now; 0: none shown. */
static size_t progress_shown;

static double
progress_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
progress_wanted(int quiet)
{
	return !quiet && isatty(STDERR_FILENO);
}

void
progress_start(struct progress *p, const char *what, unsigned long total,
    int quiet)
{
	p->what = what != NULL ? what : "";
	p->total = total;
	p->on = total > 0 && progress_wanted(quiet);
	p->t0 = progress_now();
	p->last = -1;
}

/* "1h02m", "6m24s", "12s" into buf. */
static void
progress_left(char *buf, size_t len, double secs)
{
	long s = (long)(secs + 0.5);

	if (s >= 3600)
		(void)snprintf(buf, len, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		(void)snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
	else
		(void)snprintf(buf, len, "%lds", s);
}

void
progress_show(struct progress *p, unsigned long done, unsigned long failed)
{
	char line[256], text[200], left[32] = "";
	double now, rate;
	size_t n, w;
	int len;

	if (!p->on)
		return;
	now = progress_now();
	if (progress_shown > 0 && now - p->last < 0.2 && done < p->total)
		return;
	p->last = now;
	rate = now - p->t0 > 0.05 ? (double)done / (now - p->t0) : 0;
	if (rate > 0 && done < p->total)
		progress_left(left, sizeof(left), (double)(p->total - done) /
		    rate);
	len = snprintf(text, sizeof(text), "%s: %s%s%lu/%lu, %lu failed, "
	    "%.1f/s%s%s", diag_prog, p->what, *p->what != '\0' ? ": " : "",
	    done, p->total, failed, rate, *left != '\0' ? ", " : "",
	    *left != '\0' ? left : "");
	if (len < 0)
		return;
	w = (size_t)len < sizeof(text) ? (size_t)len : sizeof(text) - 1;
	if (*left != '\0' && w + 5 < sizeof(text)) {
		memcpy(text + w, " left", 5);
		w += 5;
	}
	/* Padded over a longer line before, then back to its start. */
	line[0] = '\r';
	memcpy(line + 1, text, w);
	n = 1 + w;
	while (n - 1 < progress_shown && n < sizeof(line) - 1)
		line[n++] = ' ';
	line[n++] = '\r';
	progress_shown = w > progress_shown ? w : progress_shown;
	(void)fflush(stderr);
	(void)!write(STDERR_FILENO, line, n);
}

size_t
progress_erase(char *buf, size_t len)
{
	size_t n = 0;

	if (progress_shown == 0 || len < progress_shown + 2)
		return 0;
	buf[n++] = '\r';
	memset(buf + n, ' ', progress_shown);
	n += progress_shown;
	buf[n++] = '\r';
	progress_shown = 0;
	return n;
}

void
progress_hide(struct progress *p)
{
	char buf[260];
	size_t n;

	if (!p->on)
		return;
	if ((n = progress_erase(buf, sizeof(buf))) > 0) {
		(void)fflush(stderr);
		(void)!write(STDERR_FILENO, buf, n);
	}
}

void
progress_end(struct progress *p)
{
	progress_hide(p);
	p->on = 0;
}
