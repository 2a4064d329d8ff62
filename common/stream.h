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

/* Most documents one step keeps in flight (--in-flight). */
#define STREAM_IN_FLIGHT_MAX 1024

/*
 * Like stream_run(), with up to n documents in the step at once: n
 * threads each call step with its own args[i] (the step's state: its own
 * ACME session, resolver, store handle), while the calling thread reads
 * on and another writes the documents that are done, in input order, as
 * soon as those before them are written. At most 2n documents are held,
 * whatever the length of the stream; one whose step takes long holds
 * back the writing of those after it, never their work. n 1 is
 * stream_run() with args[0].
 */
int stream_run_par(FILE *in, const char *inname, FILE *out, stream_step step,
    void **args, unsigned n);

/*
 * What a step needs for each document in flight: a copy of the
 * command's context (proto, size bytes, with the options parsed), which
 * setup fills in (opening sessions, resolvers, stores; -1 with a
 * one-line reason in why) and done releases (also after a failed
 * setup).
 */
struct stream_ctx {
	const void	*proto;
	size_t		 size;
	int		(*setup)(void *ctx, char *why, size_t whylen);
	void		(*done)(void *ctx);
};

/*
 * stream_run_par() with n copies of c->proto. Returns its status, or 2
 * after one line on stderr when a copy cannot be made or set up.
 */
int stream_run_ctx(FILE *in, const char *inname, FILE *out, stream_step step,
    const struct stream_ctx *c, unsigned n);

#endif
