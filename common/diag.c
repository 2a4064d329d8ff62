/* diag: one-line diagnostics on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "progress.h"

const char *diag_prog = "acmepipe";
__thread int diag_verbosity = 0;

void
diag_init(char *argv[])
{
	char *p;

	if (argv[0] == NULL || *argv[0] == '\0')
		return;
	p = strrchr(argv[0], '/');
	if (p != NULL)
		argv[0] = p + 1;
	diag_prog = argv[0];
}

/*
 * Writes one line. Anything that came from a server or a document may hold
 * newlines or escape sequences; escaping them keeps "one line per problem"
 * true and the terminal safe.
 */
static void diag_vline(const char *, va_list)
    __attribute__((format(printf, 1, 0)));

static void
diag_vline(const char *fmt, va_list ap)
{
	char buf[2048], line[2048 * 6 + 64 + 256];
	const unsigned char *p;
	size_t n, e;
	int len;

	if (vsnprintf(buf, sizeof(buf), fmt, ap) < 0)
		return;
	/* A progress line shown (progress.h) is erased in the same write. */
	e = progress_erase(line, 256);
	len = snprintf(line + e, sizeof(line) - e, "%s: ", diag_prog);
	n = e + (len > 0 && (size_t)len < sizeof(line) - e ? (size_t)len : 0);
	for (p = (const unsigned char *)buf; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    "\\x%02x", *p);
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* C1 controls in UTF-8 (U+0080..U+009F), e.g. CSI */
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    "\\u%04x", p[1]);
			p++;
		} else
			line[n++] = (char)*p;
	}
	line[n++] = '\n';
	/*
	 * One write: the steps of a pipeline share stderr, and a line
	 * written in pieces would mix with theirs.
	 */
	(void)fflush(stderr);
	(void)!write(STDERR_FILENO, line, n);
}

void
diag_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vline(fmt, ap);
	va_end(ap);
}

void
diag_verbose(int level, const char *fmt, ...)
{
	va_list ap;

	if (diag_verbosity < level)
		return;
	va_start(ap, fmt);
	diag_vline(fmt, ap);
	va_end(ap);
}

void
diag_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}
