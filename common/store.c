/*
 * store: the rules of the store, once, above every backend (store.h).
 *
 * Each change of a name is a store_change_fn run by the backend's
 * update() in its atomic step: the function gets the metadata as it is at
 * that moment and decides what to write, so no change is computed from
 * metadata that another writer has replaced since.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cert.h"
#include "ident.h"
#include "key.h"
#include "renew.h"
#include "state.h"
#include "store_backend.h"

#define STORE_KEY_MAX (64 * 1024) /* a pending key file */

struct store {
	const struct store_ops	*ops;
	void			*b; /* owned, the backend's */
};

/* Backends, the first that claims a store's "where" wins. */
static const struct store_ops *const store_backends[] = {
	&store_pg_ops,
	&store_file_ops,
};

json_t *
store_meta_named(json_t *m, const char *name, int strict, int e)
{
	if (m != NULL && !json_is_object(m)) {
		json_decref(m);
		m = NULL;
		e = EBADMSG;
	}
	if (m == NULL && strict) {
		errno = e;
		return NULL;
	}
	if (m == NULL && (m = json_object()) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (json_object_set_new(m, "name", json_string(name)) != 0) {
		json_decref(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

long long
store_due_hint(const json_t *m, long long *ari_check)
{
	return renew_due_hint(m, ari_check);
}

int
store_list_due(struct store *s, long long due, long long expire,
    long long ari, int (*fn)(const char *name, json_t *meta, void *arg),
    void *arg)
{
	if (s->ops->list_due == NULL)
		return store_list(s, fn, arg);
	return s->ops->list_due(s->b, due, expire, ari, fn, arg);
}

int
store_broken(const struct store *s)
{
	return s->ops->broken != NULL && s->ops->broken(s->b);
}

const char *
store_error(const struct store *s)
{
	return s->ops->error != NULL ? s->ops->error(s->b) : NULL;
}

int
store_opts_parse(struct store_opts *o, const char *group, const char *mode,
    char *why, size_t whylen)
{
	struct group *gr;
	char *end = NULL;
	unsigned long v;

	o->mode = 0640;
	o->gid = (gid_t)-1;
	o->existing = 0;
	o->init = 0;
	if (group != NULL && (gr = getgrnam(group)) != NULL)
		o->gid = gr->gr_gid;
	else if (group != NULL) {
		errno = 0;
		v = strtoul(group, &end, 10);
		if (*group < '0' || *group > '9' || errno != 0 ||
		    *end != '\0' || v >= (unsigned long)(gid_t)-1) {
			snprintf(why, whylen, "group %s: no such group", group);
			return -1;
		}
		o->gid = (gid_t)v;
	}
	if (mode == NULL)
		return 0;
	errno = 0;
	v = strtoul(mode, &end, 8);
	if (*mode < '0' || *mode > '7' || errno != 0 || *end != '\0' ||
	    v > 0777 || (v & 0400) == 0 || (v & 0007) != 0) {
		snprintf(why, whylen, "mode %s: want octal 0400 to 0770 "
		    "(nothing for others)", mode);
		return -1;
	}
	o->mode = (mode_t)v;
	return 0;
}

struct store *
store_open(const char *where, const struct store_opts *o, char *why,
    size_t whylen)
{
	const struct store_ops *ops = NULL;
	struct store *s = NULL;
	size_t i;

	for (i = 0; ops == NULL &&
	    i < sizeof(store_backends) / sizeof(store_backends[0]); i++)
		if (store_backends[i]->claims(where))
			ops = store_backends[i];
	if (ops == NULL) {
		snprintf(why, whylen, "store %s: no backend for it",
		    where != NULL ? where : "(null)");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, whylen, "%s: out of memory", where);
		return NULL;
	}
	s->ops = ops;
	if ((s->b = ops->open(where, o, why, whylen)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->b);
	free(s);
}

const char *
store_private_dir(const struct store *s)
{
	return s->ops->private_dir(s->b);
}

size_t
store_key_offset(const char *pem, size_t len)
{
	static const char tail[] = "PRIVATE KEY-----";
	const char *p = pem, *end = pem + len, *nl, *e;
	size_t tl = sizeof(tail) - 1;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if ((size_t)(e - p) >= 11 + tl && memcmp(p, "-----BEGIN ", 11) ==
		    0 && memcmp(e - tl, tail, tl) == 0)
			return (size_t)(p - pem);
		p = nl + 1;
	}
	return len;
}

/* Normalised names only (store.h); -1 with why otherwise. */
static int
store_name_ok(const char *name, char *why, size_t whylen)
{
	char ign[128], *n = NULL;
	int ok;

	ok = name != NULL && (n = ident_normalize(name, ign,
	    sizeof(ign))) != NULL && strcmp(n, name) == 0;
	free(n);
	if (!ok)
		snprintf(why, whylen, "%s: invalid name",
		    name != NULL ? name : "(null)");
	return ok ? 0 : -1;
}

/* update() for a valid name, its decision or -1. */
static int
store_update(struct store *s, const char *name,
    const struct store_cert_pem *cert, store_change_fn fn, void *arg,
    char *why, size_t whylen)
{
	if (store_name_ok(name, why, whylen) != 0)
		return -1;
	return s->ops->update(s->b, name, cert, fn, arg, why, whylen);
}

json_t *
store_get(struct store *s, const char *name)
{
	char why[320];

	if (store_name_ok(name, why, sizeof(why)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	return s->ops->get(s->b, name, 0);
}

int
store_list(struct store *s, int (*fn)(const char *name, json_t *meta,
    void *arg), void *arg)
{
	return s->ops->list(s->b, fn, arg);
}

int
store_read(struct store *s, const char *name, char **pem, size_t *len,
    size_t *keyoff, char *why, size_t whylen)
{
	*pem = NULL;
	*len = *keyoff = 0;
	if (store_name_ok(name, why, whylen) != 0)
		return -1;
	return s->ops->read(s->b, name, pem, len, keyoff, why, whylen);
}

int
store_has(struct store *s, const json_t *names, const char *serial)
{
	const json_t *v;
	const char *have;
	json_t *m;
	size_t i;
	int same;

	same = json_array_size(names) > 0 && serial != NULL;
	json_array_foreach(names, i, v) {
		m = store_get(s, json_string_value(v));
		have = state_str(m, "serial");
		same &= have != NULL && strcmp(have, serial) == 0;
		json_decref(m);
	}
	return same;
}

/*
 * 1 when to (this store's metadata) describes a newer certificate than
 * from: it has one, and from none or one issued before it.
 */
static int
store_newer(const json_t *to, const json_t *from)
{
	const char *ts = state_str(to, "serial"), *fs = state_str(from, "serial");
	const char *tn = state_str(to, "notBefore"), *fn = state_str(from,
	    "notBefore");

	if (ts == NULL)
		return 0;
	if (fs == NULL)
		return 1;
	return strcmp(ts, fs) != 0 && tn != NULL && fn != NULL &&
	    strcmp(tn, fn) > 0;
}

/* 1 when meta's "lease" is the one of id (NULL: none is). */
static int
store_lease_is(const json_t *meta, const char *id)
{
	const char *held = state_str(json_object_get(meta, "lease"), "id");

	return id != NULL && held != NULL && strcmp(held, id) == 0;
}

/* A put's change: the new certificate's metadata (struct store_put). */
struct store_put {
	const json_t	*meta;    /* what every name of the certificate gets */
	const char	*name;
	const char	*lease;   /* the document's lease id, or NULL */
	int		 refused; /* set: lease lost to a newer certificate */
};

/*
 * Why a put whose lease was lost is refused: who holds the name now, and
 * the newer certificate stored meanwhile (the document's error names the
 * name).
 */
static void
store_lease_lost(const json_t *meta, char *why, size_t whylen)
{
	const json_t *l = json_object_get(meta, "lease");
	const char *holder = state_str(l, "holder");

	if (l != NULL && holder == NULL)
		holder = "(no holder)";
	snprintf(why, whylen, "lease %s%s; the store holds a newer "
	    "certificate (serial %s)", holder != NULL ? "taken over by " :
	    "lost", holder != NULL ? holder : "", state_str(meta, "serial"));
}

/*
 * The metadata of a new certificate: its own members, then name and
 * stored time; the failure history and last error carry over from the
 * old metadata, the run of consecutive failures ends, and so does the
 * document's lease; another worker's lease stays. A document that lost
 * its lease does not replace a newer certificate (store.h).
 */
static int
store_change_put(json_t **meta, void *arg, char *why, size_t whylen)
{
	static const char *const keep[] = { "lastError", "failures", "lease" };
	struct store_put *p = arg;
	json_t *m = NULL, *v;
	char now[32];
	size_t i;
	int bad, ours = store_lease_is(*meta, p->lease);

	if (p->lease != NULL && !ours && store_newer(*meta, p->meta)) {
		store_lease_lost(*meta, why, whylen);
		p->refused = 1;
		return STORE_KEEP;
	}
	if ((m = json_deep_copy(p->meta)) == NULL)
		goto oom;
	bad = json_object_set_new(m, "name", json_string(p->name)) != 0 ||
	    json_object_set_new(m, "stored",
	    json_string(state_time(0, now, sizeof(now)))) != 0 ||
	    json_object_set_new(m, "failCount", json_integer(0)) != 0;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if ((v = json_object_get(*meta, keep[i])) != NULL &&
		    !(ours && strcmp(keep[i], "lease") == 0))
			bad |= json_object_set(m, keep[i], v) != 0;
	if (bad)
		goto oom;
	json_decref(*meta);
	*meta = m;
	return STORE_WRITE;
oom:
	json_decref(m);
	snprintf(why, whylen, "%s: out of memory", p->name);
	return -1;
}

/* The members every stored certificate gets; new object or NULL. */
static json_t *
store_cert_meta(const struct store_issued *in, const struct cert_info *ci)
{
	json_t *m;

	/* Key order as before: identifiers first, name comes first anyway. */
	m = json_pack("{s:s,s:O,s:s,s:s,s:s,s:s}", "name", "",
	    "identifiers", in->names, "notBefore", ci->not_before,
	    "notAfter", ci->not_after, "serial", ci->serial, "issuer",
	    ci->issuer);
	if (m == NULL || state_set_str(m, "certID",
	    ci->ari_id[0] != '\0' ? ci->ari_id : NULL) != 0 ||
	    state_set_str(m, "keyType", in->key_type) != 0 ||
	    state_set_str(m, "directory", in->directory) != 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

/*
 * 1 when the key file is gone because an earlier call already stored
 * this very certificate (and its output was lost).
 */
static int
store_stored_before(struct store *s, const struct store_issued *in)
{
	struct cert_info ci;
	char why[256];

	return access(in->key_path, F_OK) != 0 && errno == ENOENT &&
	    cert_check(in->chain, strlen(in->chain), NULL, NULL, &ci, why,
	    sizeof(why)) == 0 && store_has(s, in->names, ci.serial);
}

/* Stores the certificate under every name; as store_put_issued(). */
static int
store_put_names(struct store *s, const struct store_issued *in,
    const char **type, const char **failed, char *why, size_t whylen)
{
	struct store_cert_pem pem = { in->chain, strlen(in->chain), NULL, 0 };
	struct store_put p;
	struct cert_info ci;
	const json_t *id;
	EVP_PKEY *k = NULL;
	json_t *meta = NULL;
	char *kp = NULL;
	size_t i, klen = 0;
	int rc = -1;

	*type = STATE_ERR_LOCAL;
	if ((kp = key_read_file(in->key_path, STORE_KEY_MAX, &klen, why,
	    whylen)) == NULL || (k = key_load(in->key_path, why,
	    whylen)) == NULL)
		goto out;
	if (cert_check(in->chain, pem.chainlen, k, in->names, &ci, why,
	    whylen) != 0) {
		*type = STATE_ERR_CERT;
		goto out;
	}
	if ((meta = store_cert_meta(in, &ci)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	pem.key = kp;
	pem.keylen = klen;
	p.meta = meta;
	p.lease = in->lease;
	p.refused = 0;
	json_array_foreach(in->names, i, id) {
		p.name = json_string_value(id);
		if (store_update(s, p.name, &pem, store_change_put, &p, why,
		    whylen) != STORE_WRITE) {
			*failed = p.name;
			if (p.refused)
				*type = STATE_ERR_LEASE;
			else if (store_broken(s))
				*type = STATE_ERR_STORE;
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(meta);
	EVP_PKEY_free(k);
	if (kp != NULL)
		key_pem_free(kp, klen + 1);
	return rc;
}

int
store_put_issued(struct store *s, const struct store_issued *in,
    const char **type, const char **failed, char *why, size_t whylen)
{
	*type = STATE_ERR_LOCAL;
	*failed = NULL;
	if (!store_stored_before(s, in) &&
	    store_put_names(s, in, type, failed, why, whylen) != 0)
		return -1;
	/* The key now lives in the store only. */
	if (unlink(in->key_path) != 0 && errno != ENOENT) {
		snprintf(why, whylen, "%s: %s", in->key_path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Adds error (borrowed) to m's failure bookkeeping. */
static int
store_meta_fail(json_t *m, const json_t *error)
{
	json_t *hist, *e = NULL;
	json_int_t count;
	const char *t;
	char now[32];
	int bad;

	if ((e = json_deep_copy(error)) == NULL)
		return -1;
	hist = json_object_get(m, "failures");
	if (!json_is_array(hist)) {
		hist = json_array();
		if (json_object_set_new(m, "failures", hist) != 0) {
			json_decref(e);
			return -1;
		}
	}
	count = json_integer_value(json_object_get(m, "failCount"));
	if ((t = state_str(error, "time")) == NULL)
		t = state_time(0, now, sizeof(now));
	bad = json_object_set_new(m, "failCount",
	    json_integer(count > 0 ? count + 1 : 1)) != 0;
	if (count <= 0 || json_object_get(m, "firstFailure") == NULL)
		bad |= json_object_set_new(m, "firstFailure",
		    json_string(t)) != 0;
	bad |= json_object_set(m, "lastError", e) != 0;
	bad |= json_array_append_new(hist, e) != 0;
	while (json_array_size(hist) > STORE_HISTORY)
		bad |= json_array_remove(hist, 0) != 0;
	return bad ? -1 : 0;
}

/* A failure's change; arg is the error object. */
struct store_fail {
	const json_t	*error;
	const char	*name;
	const char	*lease; /* the document's lease id, or NULL */
};

static int
store_change_fail(json_t **meta, void *arg, char *why, size_t whylen)
{
	const struct store_fail *f = arg;
	int ours = store_lease_is(*meta, f->lease);

	if (*meta == NULL && (*meta = json_pack("{s:s}", "name",
	    f->name)) == NULL)
		goto oom;
	if (ours)
		(void)json_object_del(*meta, "lease");
	/* A rerun on the same failed document records nothing new. */
	if (json_equal(json_object_get(*meta, "lastError"),
	    (json_t *)f->error))
		return ours ? STORE_WRITE : STORE_KEEP;
	if (store_meta_fail(*meta, f->error) != 0)
		goto oom;
	return STORE_WRITE;
oom:
	snprintf(why, whylen, "%s: out of memory", f->name);
	return -1;
}

int
store_record_failure(struct store *s, const char *name,
    const json_t *error, const char *lease, char *why, size_t whylen)
{
	struct store_fail f = { error, name, lease };
	const char *type = state_str(error, "type");

	if (!json_is_object(error)) {
		snprintf(why, whylen, "%s: no error to record",
		    name != NULL ? name : "(null)");
		return -1;
	}
	/*
	 * A bad document or name: no name was attempted; a lost lease:
	 * another worker renewed it. Only the lease ends, and a name that
	 * is not valid holds none.
	 */
	if (type != NULL && (strcmp(type, STATE_ERR_INPUT) == 0 ||
	    strcmp(type, STATE_ERR_IDENTIFIER) == 0 ||
	    strcmp(type, STATE_ERR_LEASE) == 0))
		return lease == NULL ? 0 : store_release(s, name, lease, why,
		    whylen);
	return store_update(s, name, NULL, store_change_fail, &f, why,
	    whylen) == -1 ? -1 : 0;
}

/* The change of store_set_member(). */
struct store_member {
	const char	*name;
	const char	*serial;
	const char	*key;
	const json_t	*value;
	int		 stale; /* set: not managed or another certificate */
};

static int
store_change_member(json_t **meta, void *arg, char *why, size_t whylen)
{
	struct store_member *c = arg;
	const char *have = state_str(*meta, "serial");

	if (*meta == NULL || c->serial == NULL || have == NULL ||
	    strcmp(have, c->serial) != 0) {
		snprintf(why, whylen, *meta == NULL ? "%s: not managed" :
		    "%s: holds another certificate now", c->name);
		c->stale = 1;
		return STORE_KEEP;
	}
	if (json_object_set(*meta, c->key, (json_t *)c->value) != 0) {
		snprintf(why, whylen, "%s: out of memory", c->name);
		return -1;
	}
	return STORE_WRITE;
}

int
store_set_member(struct store *s, const char *name, const char *serial,
    const char *key, const json_t *value, char *why, size_t whylen)
{
	struct store_member c = { name, serial, key, value, 0 };
	int rc;

	rc = store_update(s, name, NULL, store_change_member, &c, why, whylen);
	return rc == -1 ? -1 : c.stale ? 1 : 0;
}

static int
store_change_add(json_t **meta, void *arg, char *why, size_t whylen)
{
	const char *name = arg;
	char now[32];

	if (*meta != NULL)
		return STORE_KEEP; /* managed already: it wins */
	if ((*meta = json_pack("{s:s,s:s}", "name", name, "added",
	    state_time(0, now, sizeof(now)))) == NULL) {
		snprintf(why, whylen, "%s: out of memory", name);
		return -1;
	}
	return STORE_WRITE;
}

int
store_add(struct store *s, const char *name, char *why, size_t whylen)
{
	int rc;

	rc = store_update(s, name, NULL, store_change_add, (void *)name, why,
	    whylen);
	return rc == -1 ? -1 : rc == STORE_KEEP ? 1 : 0;
}

static int
store_change_remove(json_t **meta, void *arg, char *why, size_t whylen)
{
	(void)meta;
	(void)arg;
	(void)why;
	(void)whylen;
	return STORE_DROP; /* an orphaned certificate goes too */
}

int
store_remove(struct store *s, const char *name, char *why, size_t whylen)
{
	int rc;

	rc = store_update(s, name, NULL, store_change_remove, NULL, why,
	    whylen);
	if (rc == STORE_KEEP) {
		snprintf(why, whylen, "%s: not managed", name);
		return 1;
	}
	return rc == -1 ? -1 : 0;
}

static int
store_change_unpark(json_t **meta, void *arg, char *why, size_t whylen)
{
	const char *name = arg;
	char now[32];

	if (*meta == NULL) {
		snprintf(why, whylen, "%s: not managed", name);
		return STORE_KEEP;
	}
	(void)json_object_del(*meta, "firstFailure");
	if (json_object_set_new(*meta, "failCount", json_integer(0)) != 0 ||
	    json_object_set_new(*meta, "unparked",
	    json_string(state_time(0, now, sizeof(now)))) != 0) {
		snprintf(why, whylen, "%s: out of memory", name);
		return -1;
	}
	return STORE_WRITE;
}

int
store_unpark(struct store *s, const char *name, char *why, size_t whylen)
{
	int rc;

	rc = store_update(s, name, NULL, store_change_unpark, (void *)name,
	    why, whylen);
	return rc == -1 ? -1 : rc == STORE_KEEP ? 1 : 0;
}

int
store_leased(const json_t *meta, const char *id, long long now, char *why,
    size_t whylen)
{
	const json_t *l = json_object_get(meta, "lease");
	const char *held = state_str(l, "id"), *holder;
	long long until;

	if (held == NULL || (id != NULL && strcmp(held, id) == 0) ||
	    state_time_parse(state_str(l, "until"), &until) != 0 ||
	    until <= now)
		return 0;
	holder = state_str(l, "holder");
	snprintf(why, whylen, "leased to %s until %s", holder != NULL ?
	    holder : "(no holder)", state_str(l, "until"));
	return 1;
}

/* A claim's change (struct store_claim_arg). */
struct store_claim_arg {
	const char		*name;
	const struct store_lease *l;
	long long		 now;
	const struct store_seen	*seen;
	int			 taken; /* set: claimed */
};

static int
store_change_claim(json_t **meta, void *arg, char *why, size_t whylen)
{
	struct store_claim_arg *c = arg;
	const char *have = state_str(*meta, "serial"), *want = c->seen->serial;
	char until[32], held[256];
	json_t *l;

	if (*meta == NULL) {
		snprintf(why, whylen, "%s: not managed", c->name);
		return STORE_KEEP;
	}
	/* Another worker's attempt ended meanwhile: not due as it was read. */
	if ((have == NULL) != (want == NULL) || (have != NULL &&
	    strcmp(have, want) != 0) || json_integer_value(json_object_get(
	    *meta, "failCount")) != c->seen->fail_count) {
		snprintf(why, whylen, "%s: changed since it was read",
		    c->name);
		return STORE_KEEP;
	}
	if (store_leased(*meta, c->l->id, c->now, held, sizeof(held))) {
		snprintf(why, whylen, "%s: %s", c->name, held);
		return STORE_KEEP;
	}
	if ((l = json_pack("{s:s,s:s,s:s}", "id", c->l->id, "holder",
	    c->l->holder, "until", state_time(c->l->until, until,
	    sizeof(until)))) == NULL || json_object_set_new(*meta, "lease",
	    l) != 0) {
		snprintf(why, whylen, "%s: out of memory", c->name);
		return -1;
	}
	c->taken = 1;
	return STORE_WRITE;
}

int
store_claim(struct store *s, const char *name, const struct store_lease *l,
    long long now, const struct store_seen *seen, char *why, size_t whylen)
{
	struct store_claim_arg c = { name, l, now, seen, 0 };

	if (store_update(s, name, NULL, store_change_claim, &c, why,
	    whylen) == -1)
		return -1;
	return c.taken ? 0 : 1;
}

static int
store_change_release(json_t **meta, void *arg, char *why, size_t whylen)
{
	(void)why;
	(void)whylen;
	if (!store_lease_is(*meta, arg))
		return STORE_KEEP; /* not managed, or not ours (any more) */
	(void)json_object_del(*meta, "lease");
	return STORE_WRITE;
}

int
store_release(struct store *s, const char *name, const char *id,
    char *why, size_t whylen)
{
	char ign[320];

	if (id == NULL || store_name_ok(name, ign, sizeof(ign)) != 0)
		return 0; /* a name that is not valid holds no lease */
	return store_update(s, name, NULL, store_change_release, (void *)id,
	    why, whylen) == -1 ? -1 : 0;
}

/* A copy's change (struct store_copy_arg). */
struct store_copy_arg {
	const json_t	*from;   /* the metadata in the other store */
	int		 mirror; /* 1: the other store wins, always */
	int		 result; /* what store_copy() returns */
};

static int
store_change_copy(json_t **meta, void *arg, char *why, size_t whylen)
{
	struct store_copy_arg *a = arg;
	json_t *m;

	if (*meta != NULL && json_equal(*meta, a->from)) {
		a->result = 1;
		return STORE_KEEP;
	}
	if (!a->mirror && store_newer(*meta, a->from)) {
		a->result = 2;
		return STORE_KEEP;
	}
	if ((m = json_deep_copy(a->from)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	json_decref(*meta);
	*meta = m;
	a->result = 0;
	return STORE_WRITE;
}

int
store_copy(struct store *s, const char *name, const json_t *meta,
    const char *pem, size_t len, size_t keyoff, int mirror, char *why,
    size_t whylen)
{
	struct store_copy_arg a = { meta, mirror, -1 };
	struct store_cert_pem c = { pem, keyoff, NULL, 0 };
	const char *fs = state_str(meta, "serial");
	json_t *old;
	int same = 0;

	if (!json_is_object(meta)) {
		snprintf(why, whylen, "%s: metadata: not a JSON object", name);
		return -1;
	}
	if (pem != NULL) {
		c.key = pem + keyoff;
		c.keylen = len - keyoff;
	}
	/* A mirror rewrites the certificate only when it changed. */
	if (mirror && pem != NULL && fs != NULL &&
	    (old = store_get(s, name)) != NULL) {
		same = state_str(old, "serial") != NULL &&
		    strcmp(state_str(old, "serial"), fs) == 0;
		json_decref(old);
	}
	if (store_update(s, name, pem != NULL && !same ? &c : NULL,
	    store_change_copy, &a, why, whylen) == -1)
		return -1;
	if (a.result == 2)
		snprintf(why, whylen, "%s: holds a newer certificate (%s)", name,
		    state_str(meta, "serial") != NULL ? "issued later" :
		    "the other store has none");
	return a.result;
}

int
store_watch(struct store *s, int timeout_ms,
    int (*fn)(const char *name, void *arg), void *arg, char *why,
    size_t whylen)
{
	if (s->ops->watch == NULL) {
		snprintf(why, whylen, "store: the %s backend cannot be watched",
		    s->ops->name);
		return -2;
	}
	return s->ops->watch(s->b, timeout_ms, fn, arg, why, whylen);
}
