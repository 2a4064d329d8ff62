/*
 * diag: one-line diagnostics on stderr, "prog: where: what".
 * Nothing here prints key material; callers never pass it.
 */
#ifndef DIAG_H
#define DIAG_H

#include <stddef.h>

/* Program name used as the prefix; set by diag_init() from argv[0]. */
extern const char *diag_prog;
/* Verbosity: 0 quiet, 1 (-v) one line per ACME request. */
/*
 * -v's level, per thread: a thread a command starts begins at 0 and is
 * given its level by the code that starts it (stream.c, expiring.c).
 */
extern __thread int diag_verbosity;

/*
 * Sets the program name from argv[0] and makes argv[0] that bare name, so
 * that getopt's own messages ("prog: unrecognized option") match ours.
 */
void diag_init(char *argv[]);
/* "prog: <fmt>\n" on stderr; control characters in the result are escaped. */
void diag_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Formats a reason into why (whylen bytes; nothing when why is NULL or
 * whylen 0), for the functions of common/ that explain a refusal.
 */
void diag_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like diag_warnx() but only when diag_verbosity >= level. */
void diag_verbose(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
