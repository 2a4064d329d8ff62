/*
 * unit.h: the checks the C unit tests share. A test defines UNIT_PROG
 * before including this, calls want_*() for each case (every broken case
 * is reported on stderr, prefixed with UNIT_PROG), and returns
 * unit_status() from main. Silent on success.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int unit_failures;

static inline void fail(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", UNIT_PROG, what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	unit_failures++;
}

static inline void
want_ll(const char *what, long long got, long long want)
{
	if (got != want)
		fail(what, "got %lld, want %lld", got, want);
}

/* got in [lo, hi) */
static inline void
want_range(const char *what, long long got, long long lo, long long hi)
{
	if (got < lo || got >= hi)
		fail(what, "got %lld, want [%lld, %lld)", got, lo, hi);
}

static inline int
unit_status(void)
{
	return unit_failures == 0 ? 0 : 1;
}

#endif
