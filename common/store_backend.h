/*
 * store_backend: what a store backend provides. Only store.c (the rules)
 * and the backends (store_file.c, ...) include this; commands use store.h
 * and never know which backend they talk to.
 *
 * A backend keeps, per managed name, a metadata object (JSON, no key
 * material) and at most one certificate: the chain and its private key.
 * It knows nothing of what the metadata means; store.c does.
 *
 * Atomicity, the contract every backend keeps:
 *   - update() applies a change to one name as one step against every
 *     other update() of that name in any process (and, for a shared
 *     backend, on any host): no update is lost, none sees another half
 *     done. With a certificate, the certificate and the metadata change
 *     together in that step.
 *   - get() and list() never wait for writers. They see each name's
 *     metadata as it was before or after an update, never a mix; the
 *     certificate that readers (nginx) load is likewise old or new, whole.
 *     The metadata and the certificate are separate reads: a reader racing
 *     a put may see the new certificate with the old metadata, for the
 *     time between the two writes.
 *   - Different names are independent: no global lock.
 */
#ifndef STORE_BACKEND_H
#define STORE_BACKEND_H

#include <stddef.h>
#include <jansson.h>

#include "store.h"

/* A certificate to store with an update: borrowed. */
struct store_cert_pem {
	const char	*chain;    /* PEM, leaf first, ends in "\n" */
	size_t		 chainlen;
	const char	*key;      /* PEM private key */
	size_t		 keylen;
};

/* What a change decided (see store_change_fn). */
#define STORE_KEEP  0 /* write nothing */
#define STORE_WRITE 1 /* write *meta (and the certificate, if any) */
#define STORE_DROP  2 /* remove the name: metadata and certificate */

/*
 * A change to one name's metadata, run by update() inside its atomic step.
 * *meta is the metadata as it is now (a new reference, owned by the
 * backend, NULL when the name is not managed; unparseable metadata reads
 * as {"name": NAME}); fn may change it in place or replace it (dropping
 * the old reference). Returns STORE_KEEP, STORE_WRITE or STORE_DROP, or -1
 * with why (nothing written). fn must not call the store.
 */
typedef int (*store_change_fn)(json_t **meta, void *arg, char *why,
    size_t whylen);

struct store_ops {
	const char	*name; /* "files", "postgresql" */

	/* 1 when where names a store of this backend (a path, a URI). */
	int	 (*claims)(const char *where);

	/*
	 * Opens (or, unless o->existing, creates) the store at where. A new
	 * handle or NULL with why naming where and the reason.
	 */
	void	*(*open)(const char *where, const struct store_opts *o,
		    char *why, size_t whylen);
	void	 (*close)(void *b);

	/*
	 * The metadata of name (new reference), or NULL with errno: ENOENT
	 * not managed, EBADMSG not a JSON object (only when strict; else it
	 * reads as {"name": name}), another on a read error.
	 */
	json_t	*(*get)(void *b, const char *name, int strict);

	/*
	 * Runs fn on name's metadata in one atomic step and does what it
	 * decided; cert (may be NULL) is written with STORE_WRITE, before the
	 * metadata. Returns fn's decision (STORE_KEEP, STORE_WRITE, or
	 * STORE_DROP; STORE_KEEP too when a dropped name did not exist), or -1
	 * with why.
	 */
	int	 (*update)(void *b, const char *name,
		    const struct store_cert_pem *cert, store_change_fn fn,
		    void *arg, char *why, size_t whylen);

	/* As store_list() in store.h. */
	int	 (*list)(void *b, int (*fn)(const char *name, json_t *meta,
		    void *arg), void *arg);

	/*
	 * Reads name's certificate back: a new buffer *pem of *len bytes
	 * (NUL-terminated), the chain followed by the key, which starts at
	 * *keyoff. The caller frees it with key_pem_free(*pem, *len + 1).
	 * Returns 0, 1 when name has no certificate, -1 with why.
	 */
	int	 (*read)(void *b, const char *name, char **pem, size_t *len,
		    size_t *keyoff, char *why, size_t whylen);

	/* Where pending certificate keys go; borrowed, NULL when none. */
	const char *(*private_dir)(void *b);

	/*
	 * Optional (NULL: never). 1 when the last failure was the store
	 * being unreachable (a lost database connection), not the change.
	 */
	int	 (*broken)(void *b);

	/*
	 * Optional (NULL: errno says it all). The reason of the last get()
	 * or list() that failed; borrowed, NULL when there is none.
	 */
	const char *(*error)(void *b);

	/*
	 * Optional (NULL: store_list_due() lists everything). As
	 * store_list(), but only the names whose store_due_hint() was at or
	 * before due, or is not known, or whose notAfter is at or before
	 * expire (0: none), or (ari not 0) whose renewal-info check was at
	 * or before ari.
	 */
	int	 (*list_due)(void *b, long long due, long long expire,
		    long long ari, int (*fn)(const char *name, json_t *meta,
		    void *arg), void *arg);

	/* Optional (NULL: cannot). As store_watch() in store.h. */
	int	 (*watch)(void *b, int timeout_ms,
		    int (*fn)(const char *name, void *arg), void *arg,
		    char *why, size_t whylen);
};

extern const struct store_ops store_file_ops;
extern const struct store_ops store_pg_ops;

/*
 * What a backend's get() returns for metadata m (a new reference, NULL
 * when it could not be read or parsed, e then saying why): m with "name"
 * set to name, provided it is a JSON object; else {"name": name}, or when
 * strict NULL with errno e (EBADMSG when m is not an object). Takes m.
 */
json_t *store_meta_named(json_t *m, const char *name, int strict, int e);

/*
 * The due hint of metadata m, for a backend that indexes what is due
 * (store_pg.c): cert-expiring, with its default policy, has nothing to
 * do for the name before this time (renew_due_hint()); 0 when it may
 * have something at any time. *ari_check likewise for asking about the
 * certificate's renewal information, -1 never.
 */
long long store_due_hint(const json_t *m, long long *ari_check);

/*
 * The offset of the private key in a stored PEM text (chain then key):
 * the first "-----BEGIN ... PRIVATE KEY-----" line; len when none.
 */
size_t store_key_offset(const char *pem, size_t len);

#endif
