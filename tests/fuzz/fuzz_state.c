/*
 * libFuzzer target: the state reader. The input is a JSON Lines stream
 * fed to stream_run() through fmemopen(); the step is state_check(), so
 * every document's shape and identifiers are checked and normalised the
 * way every command does it on input.
 *
 * Beyond memory safety it asserts the stream contract: the exit status is
 * 0, 1 or 2, and a second pass over our own output is accepted unchanged
 * (same status, or 0/1 where the first pass refused a line, and
 * byte-identical documents), which is what "rerun
 * on own output" relies on.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_step(json_t *doc, void *arg)
{
	(void)arg;
	return state_check(doc, "fuzz");
}

/* Runs the stream over buf; the output in a new buffer (*out, *outlen). */
static int
fuzz_run(const char *buf, size_t len, char **out, size_t *outlen)
{
	FILE *in, *o;
	char *copy;
	int status;

	/* fmemopen() of an empty buffer fails on older C libraries. */
	if ((copy = malloc(len + 1)) == NULL)
		abort();
	memcpy(copy, buf, len);
	copy[len] = '\n';
	if ((in = fmemopen(copy, len > 0 ? len : 1, "r")) == NULL)
		abort();
	if (len == 0)
		(void)getc(in); /* the stream sees end of input at once */
	if ((o = open_memstream(out, outlen)) == NULL)
		abort();
	status = stream_run(in, "<fuzz>", o, fuzz_step, NULL);
	if (fclose(o) != 0)
		abort();
	fclose(in);
	free(copy);
	return status;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out1 = NULL, *out2 = NULL;
	size_t len1 = 0, len2 = 0;
	int s1, s2;

	s1 = fuzz_run((const char *)data, size, &out1, &len1);
	if (s1 < 0 || s1 > 2)
		abort();
	/* Our own output reads back: nothing refused, nothing changed. */
	s2 = fuzz_run(out1, len1, &out2, &len2);
	if (s2 == 2 || (s1 != 2 && s2 != s1))
		abort();
	if (len1 != len2 || memcmp(out1, out2, len1) != 0)
		abort();
	free(out1);
	free(out2);
	return 0;
}
