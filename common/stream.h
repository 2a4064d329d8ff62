/*
 * stream: the one loop every command runs. It reads JSON Lines, passes
 * documents that already failed through untouched, calls the step on the
 * others, prints one diagnostic line for each document that fails in this
 * step, writes each document as one line, flushes it, and computes the exit
 * status.
 */
#ifndef STREAM_H
#define STREAM_H

#include <stdio.h>
#include <jansson.h>

/* Longest accepted input line; longer lines are refused (exit 2). */
#define STREAM_MAX_LINE (8u * 1024 * 1024)

/*
 * A step works on one document in place. It returns 0 when the document is
 * fine, -1 after recording a failure with state_fail*(). It never frees or
 * replaces doc.
 */
typedef int (*stream_step)(json_t *doc, void *arg);

/*
 * Runs step over every document of in (named inname in messages) and
 * writes them to out. Returns the exit status: 2 if a line could not be
 * read as a JSON object or out could not be written, else 1 if any output
 * document carries an error, else 0.
 */
int stream_run(FILE *in, const char *inname, FILE *out, stream_step step,
    void *arg);

/*
 * Like stream_run(), but the step also sees documents that already carry an
 * error (certstore-put records them); it must leave their error alone.
 */
int stream_run_all(FILE *in, const char *inname, FILE *out, stream_step step,
    void *arg);

#endif
