/* lease: leases as documents carry them (see lease.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "conf.h"
#include "lease.h"
#include "state.h"
#include "store.h"

int
lease_parse(const char *s, long *seconds)
{
	long v;

	if (s != NULL && strcmp(s, "0") == 0) {
		*seconds = 0;
		return 0;
	}
	if ((v = conf_number(s, LEASE_MAX)) == -1)
		return -1;
	*seconds = v;
	return 0;
}

int
lease_new(struct store_lease *l, char *why, size_t whylen)
{
	unsigned char rnd[STORE_LEASE_ID_LEN / 2];
	char host[256];
	size_t i;

	memset(l, 0, sizeof(*l));
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(why, whylen, "lease: no random bytes for its id");
		return -1;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(l->id + 2 * i, 3, "%02x", rnd[i]);
	/* The holder is for people reading -v and errors: a best effort. */
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(l->holder, sizeof(l->holder), "%s:%ld", host,
	    (long)getpid());
	return 0;
}

const char *
lease_id(const json_t *doc)
{
	const char *id = state_str(json_object_get(doc, "lease"), "id");

	return id != NULL && *id != '\0' && strlen(id) <= 64 ? id : NULL;
}

int
lease_mark(json_t *doc, const json_t *seen)
{
	return json_object_set_new(doc, "lease", json_pack("{s:O}", "seen",
	    (json_t *)seen)) != 0 ? -1 : 0;
}

/* Releases l on the first n identifiers of doc, after a claim failed. */
static void
lease_unwind(struct store *s, const struct store_lease *l,
    const json_t *ids, size_t n)
{
	char ign[320];
	size_t i;

	/* A lease left behind only waits for its until. */
	for (i = 0; i < n; i++)
		(void)store_release(s, json_string_value(json_array_get(ids,
		    i)), l->id, ign, sizeof(ign));
}

int
lease_claim(struct store *s, const struct store_lease *l, long long now,
    json_t *doc, char *why, size_t whylen)
{
	const json_t *ids = json_object_get(doc, "identifiers"), *seen, *id;
	struct store_seen sn;
	json_t *mine;
	char until[32], w[512];
	size_t i;
	int rc = 0;

	seen = json_object_get(json_object_get(doc, "lease"), "seen");
	sn.serial = state_str(json_object_get(doc, "previous"), "serial");
	json_array_foreach(ids, i, id) {
		sn.fail_count = json_integer_value(json_object_get(seen,
		    json_string_value(id)));
		if ((rc = store_claim(s, json_string_value(id), l, now, &sn,
		    w, sizeof(w))) != 0) {
			lease_unwind(s, l, ids, i);
			if (rc == 1)
				snprintf(why, whylen, "%s", w);
			else
				snprintf(why, whylen, "%s: lease not taken: %s",
				    json_string_value(id), w);
			return rc;
		}
	}
	if ((mine = json_pack("{s:s,s:s}", "id", l->id, "until",
	    state_time(l->until, until, sizeof(until)))) == NULL ||
	    json_object_set_new(doc, "lease", mine) != 0) {
		lease_unwind(s, l, ids, json_array_size(ids));
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

int
lease_end(struct store *s, const json_t *doc, char *why, size_t whylen)
{
	const char *lid = lease_id(doc);
	const json_t *id;
	char w[512];
	size_t i;
	int rc = 0;

	if (lid == NULL)
		return 0;
	json_array_foreach(json_object_get(doc, "identifiers"), i, id) {
		if (json_string_value(id) == NULL || store_release(s,
		    json_string_value(id), lid, w, sizeof(w)) == 0 || rc != 0)
			continue;
		snprintf(why, whylen, "%s", w);
		rc = -1;
	}
	return rc;
}
