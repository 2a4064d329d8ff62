/*
 * store: where certificates live, and the rules of what is kept about
 * each managed name: one set of rules (store.c) over backends
 * (store_backend.h): files by default (store_file.c, acmepipe-store(5)).
 * Commands use this header only and never know which backend is behind.
 *
 * NAME is the normalised host name (ident.h); "*.example.com" for a
 * wildcard. A name that is not already normalised is refused ("invalid
 * name") before it reaches any backend, so no document can name a path.
 *
 * What is atomic. Every function below that changes a name does so in
 * one step, atomic against every other change of that name by any
 * process: store_put_issued, store_record_failure, store_set_member,
 * store_add, store_remove, store_unpark, store_claim, store_release. No change is lost and none is
 * based on metadata another one has since replaced (16 failures recorded
 * at once count 16). store_put_issued stores each name's certificate and
 * metadata in that step, and store_remove drops both: a writer killed
 * half way is finished by the next change of the name or the next open of
 * the store, never left describing another certificate. Different names
 * never wait for each other: there is no global lock. Readers (store_get,
 * store_list, store_has, store_read, and nginx reading a certificate
 * file) never wait for writers and see each name's metadata, and its
 * certificate, whole, before or after a change; the two are read apart,
 * so a reader racing a put can see the new certificate while the old
 * metadata still describes the old one.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

/* Seconds after which a temporary file in DIR/tmp is a dead writer's. */
#define STORE_TMP_AGE 3600

/* Failures kept in a name's metadata "failures" history. */
#define STORE_HISTORY 10

struct store;

struct store_opts {
	mode_t	 mode;     /* certs/NAME.pem mode, default 0640 */
	gid_t	 gid;      /* group of certs/NAME.pem, (gid_t)-1 to keep */
	int	 existing; /* 1: open only a store that exists, create nothing */
	int	 init;     /* 1: create the store, or upgrade its schema
			      (certstore init) */
};

/*
 * Fills o from the certstore options: group (name or number, NULL to keep
 * the process's) and mode (octal, NULL for 0640; the owner must be able to
 * read and others get nothing, since the file holds the key). Returns 0,
 * or -1 with a one-line reason in why (a usage error).
 */
int store_opts_parse(struct store_opts *o, const char *group,
    const char *mode, char *why, size_t whylen);

/*
 * Opens the store at where: a PostgreSQL connection URI ("postgresql://"
 * or "postgres://", store_pg.c), whose schema exists (o->init makes or
 * upgrades it); else a directory (the file backend), created with its
 * subdirectories when missing unless o->existing. o may be NULL. New
 * handle, or NULL with why (naming the server or directory; never a
 * password).
 */
struct store *store_open(const char *where, const struct store_opts *o,
    char *why, size_t whylen);
void store_close(struct store *s);

/*
 * 1 when the last failure was the store itself being out of reach (a
 * lost database connection) rather than the change: the document gets
 * STATE_ERR_STORE and a rerun may finish it. The next call reconnects.
 */
int store_broken(const struct store *s);

/*
 * The reason of the last store_get() or store_list() that failed, when
 * the backend has more to say than errno; borrowed, NULL when not.
 */
const char *store_error(const struct store *s);

/*
 * The directory for pending certificate keys; borrowed, NULL when the
 * backend has none (the caller needs a key directory of its own).
 */
const char *store_private_dir(const struct store *s);

/* A certificate as acme-finalize leaves it; everything borrowed. */
struct store_issued {
	const json_t	*names;     /* the document's identifiers */
	const char	*chain;     /* PEM, leaf first */
	const char	*key_path;  /* its private key, in a file */
	const char	*key_type;  /* "ec-p256", ...; NULL when unknown */
	const char	*directory; /* the CA's directory URL, or NULL */
	const char	*lease;     /* the document's lease id, or NULL */
};

/*
 * Stores an issued certificate under every one of its names, then deletes
 * the key file: from then on the key lives in the store only. Checked
 * first: the chain parses, is for exactly the names and matches the key.
 * Each name's metadata becomes what every stored certificate gets
 * (identifiers, notBefore, notAfter, serial, issuer, certID, keyType,
 * directory, stored) plus what a put carries over: the failure history
 * and last error; the run of failures ends (failCount 0). When the key
 * file is gone because an earlier call stored this very certificate under
 * every name, nothing is done (a rerun whose output was lost).
 *
 * With in->lease (see Leases below), each name's put also ends that
 * lease when the name's metadata holds it; a lease of another id stays,
 * as it does for a put without one. When the metadata no longer holds
 * in->lease (another worker took the name over, or took it and is done)
 * and describes a newer certificate (another serial, a later notBefore),
 * that name is refused: STATE_ERR_LEASE, why naming the holder, and
 * nothing stored for it. An older certificate is replaced all the same.
 *
 * Returns 0, or -1 with why, *type the state error type (STATE_ERR_LOCAL,
 * STATE_ERR_CERT, STATE_ERR_LEASE or STATE_ERR_STORE) and *failed the
 * name it failed on (borrowed from in->names, NULL when not for one
 * name). Names stored before a failure stay stored, and the key file
 * stays.
 */
int store_put_issued(struct store *s, const struct store_issued *in,
    const char **type, const char **failed, char *why, size_t whylen);

/*
 * The stored certificate of name: a new buffer *pem of *len bytes, the
 * chain followed by the private key from *keyoff on, NUL-terminated; the
 * caller cleanses and frees it with key_pem_free(*pem, *len + 1). Returns
 * 0, 1 when name has no certificate (why says so), -1 with why.
 */
int store_read(struct store *s, const char *name, char **pem, size_t *len,
    size_t *keyoff, char *why, size_t whylen);

/*
 * The metadata of name (new reference), or NULL with errno ENOENT when not
 * managed (EINVAL: not a normalised name; another errno on a read error).
 * Metadata that cannot be parsed reads as {"name": name}.
 */
json_t *store_get(struct store *s, const char *name);

/*
 * 1 when every name of names (array of strings, borrowed) is managed and
 * its metadata records the certificate serial (lower-case hex), else 0.
 */
int store_has(struct store *s, const json_t *names, const char *serial);

/*
 * Records a failed attempt (error object, borrowed) in name's metadata:
 * "lastError", "failures" (the newest STORE_HISTORY), "failCount",
 * "firstFailure"; the certificate already stored stays. A name that was
 * not managed becomes managed with only its failures. Recording the very
 * error object that is already "lastError" changes nothing (a rerun on
 * the same failed document); so do errors of a bad document or a bad
 * name (STATE_ERR_INPUT, STATE_ERR_IDENTIFIER), for which no name was
 * attempted, and STATE_ERR_LEASE (another worker renewed the name).
 * lease (the document's lease id, NULL when none) ends in the same step
 * when name's metadata holds it, whatever the error; another id's lease
 * stays. Returns 0 or -1.
 */
int store_record_failure(struct store *s, const char *name,
    const json_t *error, const char *lease, char *why, size_t whylen);

/*
 * Sets member key of name's metadata to value (borrowed), the rest
 * unchanged, provided the metadata still records the certificate serial
 * (lower-case hex), checked in the same atomic step, so a certificate
 * stored since is never described by old metadata. Returns 0, 1 when
 * name is no longer managed or holds another certificate (nothing
 * written), -1 with why.
 */
int store_set_member(struct store *s, const char *name, const char *serial,
    const char *key, const json_t *value, char *why, size_t whylen);

/*
 * Adds name as managed without a certificate: metadata {"name", "added"}.
 * Returns 0, 1 when name was managed already (nothing written), -1.
 */
int store_add(struct store *s, const char *name, char *why, size_t whylen);

/*
 * Removes name: its metadata, then its certificate (chain and key).
 * Returns 0, 1 when neither existed (why says "not managed"), -1.
 */
int store_remove(struct store *s, const char *name, char *why,
    size_t whylen);

/*
 * Ends name's current run of failures: "failCount" 0, "firstFailure"
 * removed, "unparked" set to now; "lastError" and "failures" stay as
 * history. Returns 0, 1 when name is not managed, -1.
 */
int store_unpark(struct store *s, const char *name, char *why,
    size_t whylen);

/*
 * Leases. A worker (a cert-expiring run) that is about to renew a name
 * claims it with a lease in the name's metadata, "lease": {"id",
 * "holder", "until"}, and the document it hands on carries the id; the
 * certstore-put of that document ends it. A lease that runs out (until
 * <= now: its worker was killed, or is far too slow) may be taken by the
 * next claim. Times are the hosts' clocks: they must roughly agree.
 */
#define STORE_LEASE_ID_LEN 32 /* hex digits: 128 bits */

struct store_lease {
	char		 id[STORE_LEASE_ID_LEN + 1]; /* lower-case hex */
	char		 holder[300];                /* "HOST:PID" */
	long long	 until;                      /* seconds, UTC */
};

/* What a claimer decided on: the name's metadata as it read it. */
struct store_seen {
	const char	*serial;     /* its certificate, NULL when none */
	long long	 fail_count; /* its failCount (absent: 0) */
};

/*
 * 1 when meta (borrowed) holds a lease other than id (NULL: any) that
 * has not run out at now, why then saying "leased to HOLDER until TIME";
 * else 0. A lease whose until cannot be read counts as run out.
 */
int store_leased(const json_t *meta, const char *id, long long now,
    char *why, size_t whylen);

/*
 * Claims name for l at now: writes l as the metadata's "lease", in one
 * atomic step, provided the metadata still holds what seen says (so that
 * a name another worker renewed, or failed, since it was read is not
 * claimed again) and no live lease but l's own (store_leased()). Returns
 * 0 claimed, 1 not (why: held by another, changed since, or no longer
 * managed; nothing written), -1 with why.
 */
int store_claim(struct store *s, const char *name,
    const struct store_lease *l, long long now,
    const struct store_seen *seen, char *why, size_t whylen);

/*
 * Ends the lease id on name when name's metadata holds it; any other
 * lease, and a name not managed, stay as they are, and a name that is
 * not valid (it can hold no lease) is no error. Returns 0 or -1.
 */
int store_release(struct store *s, const char *name, const char *id,
    char *why, size_t whylen);

/*
 * Calls fn for each managed name with its metadata (borrowed), streaming:
 * one entry in memory at a time, in the backend's order. Metadata that
 * cannot be read or parsed is passed as NULL with errno set (EBADMSG: not
 * a JSON object), and the listing goes on. Stops when fn returns non-zero
 * and returns that value; -1 with errno when the listing cannot be read.
 */
int store_list(struct store *s, int (*fn)(const char *name, json_t *meta,
    void *arg), void *arg);

/*
 * As store_list(), but where the backend indexes what is due (PostgreSQL),
 * only the names that cert-expiring with its default policy may have
 * something to do for at due (renew_due_hint() at or before it, or not
 * known), those whose notAfter is at or before expire (0: none; for
 * --days), and, unless ari is 0, those whose renewal information is to
 * be asked at ari; every name elsewhere. The caller applies its own policy
 * to each, as to store_list()'s.
 */
int store_list_due(struct store *s, long long due, long long expire,
    long long ari, int (*fn)(const char *name, json_t *meta, void *arg),
    void *arg);

/*
 * Copies one name from another store into s: its metadata (borrowed, as
 * store_list() gave it) and its certificate (pem of len bytes with the
 * key from keyoff, as store_read() gave it; NULL when it has none), in
 * one atomic step. Unless mirror, a name s holds a newer certificate for
 * (another serial, issued later; or the other store has none) is left
 * alone. With mirror the other store always wins, and the certificate is
 * only rewritten when its serial changed. Returns 0 copied, 1 unchanged
 * (s already holds that very metadata), 2 refused (newer; why says so),
 * -1 with why.
 */
int store_copy(struct store *s, const char *name, const json_t *meta,
    const char *pem, size_t len, size_t keyoff, int mirror, char *why,
    size_t whylen);

/*
 * Waits up to timeout_ms for changes that other processes commit to s,
 * calling fn(name, arg) for each name changed (added, stored, updated or
 * removed; a name may come more than once). Returns the number of names
 * given to fn (0 on timeout), -1 with why when the store was lost (the
 * next call reconnects; changes meanwhile were missed, so reread
 * everything), -2 with why when the backend cannot tell (the file
 * backend: poll instead).
 */
int store_watch(struct store *s, int timeout_ms,
    int (*fn)(const char *name, void *arg), void *arg, char *why,
    size_t whylen);

#endif
