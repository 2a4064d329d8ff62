/* stream: the shared JSON Lines loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "state.h"
#include "stream.h"

/*
 * Reads one line into *buf (grown as needed, capped at STREAM_MAX_LINE).
 * Returns the length, -1 at end of input, -2 on a read error, -3 when the
 * line was too long (the rest of it is consumed).
 */
static long
stream_getline(FILE *in, char **buf, size_t *cap)
{
	size_t len = 0;
	int c, toolong = 0;
	char *nb;

	while ((c = getc(in)) != EOF) {
		if (c == '\n')
			break;
		if (toolong || len + 1 >= STREAM_MAX_LINE) {
			toolong = 1;
			continue;
		}
		if (len + 2 > *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			if ((nb = realloc(*buf, ncap)) == NULL)
				return -2;
			*buf = nb;
			*cap = ncap;
		}
		(*buf)[len++] = (char)c;
	}
	if (ferror(in))
		return -2;
	if (c == EOF && len == 0 && !toolong)
		return -1;
	if (toolong)
		return -3;
	if (*buf != NULL)
		(*buf)[len] = '\0';
	return (long)len;
}

static int
stream_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* Prints the one line that says why a document failed in this step. */
static void
stream_report(const char *inname, unsigned long lineno, const json_t *doc)
{
	const json_t *e = json_object_get(doc, "error");
	const char *id = state_str(e, "identifier");
	const char *type = state_str(e, "type");
	const char *detail = state_str(e, "detail");

	diag_warnx("%s:%lu: %s%s%s: %s", inname, lineno,
	    id != NULL ? id : "", id != NULL ? ": " : "",
	    type != NULL ? type : "error", detail != NULL ? detail : "");
}

/*
 * Writes doc and its newline with one write(2), so that commands run in
 * parallel into one file (xargs -P) do not interleave their documents.
 */
static int
stream_write(FILE *out, const json_t *doc)
{
	char *s;
	size_t len, off = 0;
	ssize_t n;
	int rc = 0;

	if (fflush(out) == EOF || (s = json_dumps(doc, JSON_COMPACT)) == NULL)
		return -1;
	len = strlen(s);
	s[len++] = '\n'; /* replaces the NUL: s is written by length */
	while (off < len && rc == 0) {
		n = write(fileno(out), s + off, len - off);
		if (n == -1 && errno != EINTR)
			rc = -1;
		else if (n > 0)
			off += (size_t)n;
	}
	free(s);
	return rc;
}

/* Parses one line; NULL (after a message) when it is not a JSON object. */
static json_t *
stream_parse(const char *buf, size_t len, const char *inname,
    unsigned long lineno)
{
	json_error_t jerr;
	json_t *doc;

	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		diag_warnx("%s:%lu:%d: %s", inname, lineno, jerr.column,
		    jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		diag_warnx("%s:%lu:1: not a JSON object", inname, lineno);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int
stream_loop(FILE *in, const char *inname, FILE *out, stream_step step,
    void *arg, int all)
{
	char *buf = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	long n;
	json_t *doc;
	int status = 0, had_error;
	const char *line;
	size_t len;

	while ((n = stream_getline(in, &buf, &cap)) != -1) {
		lineno++;
		if (n == -2) {
			diag_warnx("%s:%lu: %s", inname, lineno,
			    strerror(errno));
			status = 2;
			break;
		}
		if (n == -3) {
			diag_warnx("%s:%lu:1: line longer than %u bytes",
			    inname, lineno, STREAM_MAX_LINE);
			status = 2;
			continue;
		}
		/*
		 * A UTF-8 byte order mark that some editors write at the start
		 * of a file is no part of the first document; anywhere else it
		 * is a byte JSON does not allow, and the parser says so.
		 */
		line = buf; /* NULL for an empty first line */
		len = (size_t)n;
		if (lineno == 1 && len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
			line += 3;
			len -= 3;
		}
		if (stream_blank(line, len))
			continue;
		if ((doc = stream_parse(line, len, inname, lineno)) == NULL) {
			status = 2;
			continue;
		}
		had_error = state_failed(doc);
		if (!had_error || all)
			(void)step(doc, arg);
		if (!had_error && state_failed(doc))
			stream_report(inname, lineno, doc);
		if (state_failed(doc) && status == 0)
			status = 1;
		if (stream_write(out, doc) != 0) {
			diag_warnx("<stdout>: %s", strerror(errno));
			json_decref(doc);
			status = 2;
			break;
		}
		json_decref(doc);
	}
	free(buf);
	return status;
}

int
stream_run(FILE *in, const char *inname, FILE *out, stream_step step,
    void *arg)
{
	return stream_loop(in, inname, out, step, arg, 0);
}

int
stream_run_all(FILE *in, const char *inname, FILE *out, stream_step step,
    void *arg)
{
	return stream_loop(in, inname, out, step, arg, 1);
}
