/*
 * store: where certificates live, behind one interface so a shared network
 * store can be a second backend. The file backend (acmepipe-store(5)):
 *
 *   DIR/certs/NAME.pem    full chain then the private key, mode settable
 *   DIR/meta/NAME.json    metadata: no key material
 *   DIR/private/          pending certificate keys (mode 0700)
 *
 * NAME is the normalised host name; a wildcard "*.example.com" is stored
 * as "_.example.com". Names are validated with ident_normalize() before
 * they touch a path, so no document can write outside DIR. Every file is
 * replaced atomically (temporary file, fsync, rename, fsync directory), so
 * readers see the old or the new file, never a mix; there is no global
 * lock, and for one name the last complete write wins.
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
 * Opens the store at dir, creating it and its directories when missing
 * (unless o->existing). New handle, or NULL with why.
 */
struct store *store_open(const char *dir, const struct store_opts *o,
    char *why, size_t whylen);
void store_close(struct store *s);

/* The directory for pending certificate keys; borrowed. */
const char *store_private_dir(const struct store *s);

/*
 * Stores chain+key for name and its metadata (borrowed; "stored",
 * "name" and the failure bookkeeping are set here). Returns 0 or -1.
 */
int store_put(struct store *s, const char *name, const char *chain,
    const char *keypem, size_t keylen, const json_t *meta, char *why,
    size_t whylen);

/* The metadata of name (new reference) or NULL when not managed. */
json_t *store_get(struct store *s, const char *name);

/*
 * 1 when every name of names (array of strings, borrowed) is managed and
 * its metadata records the certificate serial (lower-case hex), else 0.
 */
int store_has(struct store *s, const json_t *names, const char *serial);

/*
 * Records a failed attempt (error object, borrowed) in name's metadata:
 * "lastError", "failures" (bounded history), "failCount"; the certificate
 * already stored stays. Returns 0 or -1.
 */
int store_record_failure(struct store *s, const char *name,
    const json_t *error, char *why, size_t whylen);

/*
 * Sets member key of name's metadata to value (borrowed), the rest
 * unchanged, provided the metadata still records the certificate serial
 * (lower-case hex): read, changed and written back atomically just now,
 * so a certificate stored since is not described by old metadata.
 * Returns 0, 1 when name is no longer managed or holds another
 * certificate (nothing written), -1 with why.
 */
int store_set_member(struct store *s, const char *name, const char *serial,
    const char *key, const json_t *value, char *why, size_t whylen);

/*
 * Adds name as managed without a certificate: metadata {"name", "added"}.
 * Returns 0, 1 when name was managed already (nothing written), -1.
 */
int store_add(struct store *s, const char *name, char *why, size_t whylen);

/*
 * Removes name's certificate file (chain and key) and metadata, the
 * metadata first. Returns 0, 1 when neither existed (why says "not
 * managed"), -1.
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
 * Calls fn for each managed name with its metadata (borrowed), streaming:
 * one entry in memory at a time, in directory order. Metadata that cannot
 * be read or parsed is passed as NULL with errno set (EBADMSG: not a JSON
 * object), and the listing goes on. Stops when fn returns non-zero and
 * returns that value; -1 with errno when meta/ cannot be read.
 */
int store_list(struct store *s, int (*fn)(const char *name, json_t *meta,
    void *arg), void *arg);

#endif
