/*
 * libFuzzer target: identifier normalisation. The input, cut at its
 * first NUL, is given to ident_normalize().
 *
 * Beyond memory safety it asserts ident.h's contract: a result is at
 * most 253 octets of [a-z0-9.-] (after an optional "*."), has no empty
 * label, and normalises to itself; a refusal leaves a non-empty reason
 * that is valid UTF-8 without control characters. Reasons are also
 * produced into a short buffer and into none.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A reason must be non-empty, UTF-8 (jansson checks) and one line. */
static void
fuzz_check_why(const char *why)
{
	json_t *j;
	const unsigned char *p;

	if (why[0] == '\0' || (j = json_string(why)) == NULL)
		abort();
	json_decref(j);
	for (p = (const unsigned char *)why; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
}

static void
fuzz_check_name(const char *n)
{
	const char *p = n;
	char why[256], *again;

	if (strlen(n) > 253)
		abort();
	/* An address is its own canonical text, and no wildcard. */
	if (ident_ip_family(n) != 0) {
		if ((again = ident_ip(n)) == NULL || strcmp(again, n) != 0 ||
		    ident_is_wildcard(n))
			abort();
		free(again);
		why[0] = '\0';
		if ((again = ident_normalize(n, why, sizeof(why))) == NULL ||
		    strcmp(again, n) != 0)
			abort();
		free(again);
		return;
	}
	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	if (*p == '\0' || *p == '.' || strstr(p, "..") != NULL ||
	    p[strlen(p) - 1] == '.' || strspn(p,
	    "abcdefghijklmnopqrstuvwxyz0123456789-.") != strlen(p))
		abort();
	if (ident_is_wildcard(n) != (p != n))
		abort();
	/* Normalising is idempotent: documents survive a second command. */
	why[0] = '\0';
	if ((again = ident_normalize(n, why, sizeof(why))) == NULL ||
	    strcmp(again, n) != 0)
		abort();
	free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name, *n, *n2, why[256], small[8];

	if ((name = malloc(size + 1)) == NULL)
		abort();
	memcpy(name, data, size);
	name[size] = '\0';

	why[0] = '\0';
	n = ident_normalize(name, why, sizeof(why));
	if (n != NULL)
		fuzz_check_name(n);
	else
		fuzz_check_why(why);

	/* The same answer whatever room the reason has. */
	memset(small, 'X', sizeof(small));
	n2 = ident_normalize(name, small, sizeof(small));
	if ((n == NULL) != (n2 == NULL) || (n != NULL && strcmp(n, n2) != 0))
		abort();
	if (n2 == NULL && memchr(small, '\0', sizeof(small)) == NULL)
		abort();
	free(n2);
	n2 = ident_normalize(name, NULL, 0);
	if ((n == NULL) != (n2 == NULL))
		abort();
	free(n2);
	free(n);
	free(name);
	return 0;
}
