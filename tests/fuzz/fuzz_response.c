/*
 * libFuzzer target: what a CA answers. The input is parsed as JSON the
 * way acme.c reads response bodies (json_loadb, no flags) and given to
 * the public functions that walk it:
 *
 *   order_authz_record()   an authorization object into document form;
 *   state_fail_problem()   a problem object into a document's "error".
 *
 * acme.c's own problem parser (acme_http_problem) is static and runs
 * only on an HTTP answer; state_fail_problem() is where a problem the CA
 * wrote ends up, and it sees the same object.
 *
 * Beyond memory safety it asserts: a record or a problem, never both or
 * neither; a record has url, identifier and a challenges array whose
 * members all have type and url; the resulting document has an error
 * with string step, type, detail and time; everything still dumps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_url = "https://ca.test/authz/1";

static void
fuzz_dumps(const json_t *j)
{
	char *s;

	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		abort();
	free(s);
}

static void
fuzz_authz(const json_t *z)
{
	json_t *rec, *problem = NULL, *c;
	size_t i;

	rec = order_authz_record(fuzz_url, z, &problem);
	if ((rec == NULL) == (problem == NULL))
		abort();
	if (rec != NULL) {
		if (state_str(rec, "identifier") == NULL ||
		    strcmp(state_str(rec, "url"), fuzz_url) != 0 ||
		    !json_is_array(json_object_get(rec, "challenges")))
			abort();
		json_array_foreach(json_object_get(rec, "challenges"), i, c)
			if (state_str(c, "type") == NULL ||
			    state_str(c, "url") == NULL)
				abort();
		fuzz_dumps(rec);
	} else {
		if (state_str(problem, "type") == NULL ||
		    state_str(problem, "detail") == NULL)
			abort();
		fuzz_dumps(problem);
	}
	json_decref(rec);
	json_decref(problem);
}

static void
fuzz_problem(const json_t *p, const char *identifier)
{
	json_t *doc, *e;

	if ((doc = json_pack("{s:[s]}", "identifiers", "example.com")) == NULL)
		abort();
	state_fail_problem(doc, "fuzz", p, identifier);
	e = json_object_get(doc, "error");
	if (!state_failed(doc) || state_str(e, "step") == NULL ||
	    state_str(e, "type") == NULL || state_str(e, "detail") == NULL ||
	    state_str(e, "time") == NULL)
		abort();
	if (identifier != NULL &&
	    strcmp(state_str(e, "identifier"), identifier) != 0)
		abort();
	fuzz_dumps(doc);
	json_decref(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j;

	if ((j = json_loadb((const char *)data, size, 0, NULL)) == NULL)
		return 0;
	fuzz_authz(j);
	fuzz_problem(j, NULL);
	fuzz_problem(j, "www.example.com");
	/* The members the loops walk, given as the object themselves. */
	fuzz_authz(json_array_get(json_object_get(j, "challenges"), 0));
	fuzz_problem(json_array_get(json_object_get(j, "subproblems"), 0),
	    NULL);
	json_decref(j);
	return 0;
}
