/*
 * progress: one line on stderr that a long run rewrites in place, only
 * when stderr is a terminal and the run is not quiet (-q): done/total,
 * failed, the rate and the time left, such as
 *
 *   cert-expiring: renewal info: 1200/5000, 3 failed, 9.9/s, 6m24s left
 *
 * The line ends with a carriage return, so the cursor stays at its start;
 * a diagnostic (diag.h) erases it first and the next update draws it
 * again below. progress_end() erases it. When stderr is not a terminal
 * nothing at all is written, so cron mail and logs stay as they were.
 *
 * One line at a time per process: the line shown is the module's.
 */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stddef.h>

struct progress {
	const char	*what;   /* borrowed; "" for none */
	unsigned long	 total;
	int		 on;
	double		 t0, last;
};

/*
 * Whether a line would be shown: quiet is 0 and stderr is a terminal.
 * For a caller that must count its steps first, to count only then.
 */
int progress_wanted(int quiet);

/*
 * Starts p for total steps of what (borrowed, "renewal info"): on when
 * total > 0, quiet is 0 and stderr is a terminal. Shows nothing yet.
 */
void progress_start(struct progress *p, const char *what,
    unsigned long total, int quiet);

/*
 * Shows done of total, failed of them: at once when no line is shown
 * (the first time, after progress_hide() or a diagnostic), else at most
 * five times a second, and always when done reaches total.
 */
void progress_show(struct progress *p, unsigned long done,
    unsigned long failed);

/*
 * Erases the line, when one is shown, before something else is written
 * to the terminal (a name on standard output when it is the terminal
 * too); p stays on, and its next progress_show() draws the line again.
 */
void progress_hide(struct progress *p);

/* Erases the line, when one is shown; p is off after. */
void progress_end(struct progress *p);

/*
 * For diag.c: writes into buf (len bytes) what erases the line shown,
 * and forgets it; returns the bytes written, 0 when none is shown.
 */
size_t progress_erase(char *buf, size_t len);

#endif
