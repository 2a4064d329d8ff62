/*
 * acme: an RFC 8555 client session: directory, nonces, account, signed
 * POST and POST-as-GET, problem documents.
 *
 * Errors are returned as "problem" objects, new references owned by the
 * caller: {"type", "detail", "status"?, "retryAfter"?, "identifier"?,
 * "subproblems"?}. ACME problems keep the CA's type; local ones use the
 * STATE_ERR_* types of state.h. retryAfter is an RFC 3339 time.
 */
#ifndef ACME_H
#define ACME_H

#include <jansson.h>
#include <openssl/evp.h>
#include "http.h"

#define ACME_ERR(x) "urn:ietf:params:acme:error:" x
/*
 * How often a request is retried after badNonce with the fresh nonce. A CA
 * may reject any nonce (Pebble's PEBBLE_WFE_NONCEREJECT=50 rejects half):
 * 20 retries make a lost document one in a million requests.
 */
#define ACME_NONCE_RETRIES 20
/*
 * A 503 whose Retry-After is at most this many seconds is waited out and
 * retried, up to ACME_BUSY_RETRIES times; a longer wait is recorded in the
 * document (error.retryAfter) for a later run, as resumability allows.
 */
#define ACME_BUSY_WAIT_MAX 10
#define ACME_BUSY_RETRIES 3

/* How account_login() (account.h) finds the account; borrowed strings. */
struct acme_account_opts {
	const char	*key_path;  /* account key file; created when absent */
	int		 agree_tos; /* needed to register a new account */
	const char	*contact;   /* "mailto:..." or NULL */
	const char	*eab_kid;   /* external account binding, or NULL */
	const char	*eab_hmac;  /* base64url HMAC key, or NULL */
	int		 existing;  /* only an existing key and account: no
				       key is made, none registered */
};

/*
 * What signs a request (RFC 8555 6.2): key, with kid (the account URL) in
 * the protected header, or with kid NULL the key's JWK: for finding or
 * registering an account, revoking with a certificate's own key, and the
 * inner JWS of a key change.
 */
struct acme_signer {
	EVP_PKEY	*key; /* borrowed */
	const char	*kid; /* borrowed, or NULL */
};

struct acme {
	char		*dir_url;  /* owned */
	json_t		*dir;      /* directory object, owned */
	char		*nonce;    /* next nonce to use, owned */
	EVP_PKEY	*key;      /* account key, owned */
	char		*kid;      /* account URL, owned */
	/* The account's own state: account.c keeps it. */
	char		*key_path; /* account key file, owned */
	struct acme_account_opts opts; /* from account_login, borrowed */
	int		 kid_cached; /* kid came from the cache, unconfirmed */
	int		 in_login;   /* finding the account: requests use jwk */
	/*
	 * Set by account_login(): called when a request the account signed
	 * is refused (problem, borrowed), or with problem NULL before a
	 * request when the account URL was lost. Returns 1 when it found the
	 * account again (or its new key) and the request is worth
	 * repeating, 0 when the refusal stands, -1 with a new problem in
	 * *out. Through this pointer the session needs no account.h.
	 */
	int		(*recover)(struct acme *a, const json_t *problem,
			    json_t **out);
};

/* A new local problem object (type is a STATE_ERR_* or ACME_ERR()). */
json_t *acme_problem(const char *type, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 1 when problem (may be NULL) has the given type. */
int acme_problem_is(const json_t *problem, const char *type);

/* Fetches the directory. a must be zeroed. Returns 0 or -1 with *problem. */
int acme_open(struct acme *a, const char *dir_url, json_t **problem);

/*
 * Like acme_open(), with a directory object a previous step fetched (dir,
 * borrowed; a keeps a reference) instead of a request. Returns 0, or -1
 * with a unchanged when dir is not a directory whose URLs are all at
 * dir_url's origin.
 */
int acme_open_known(struct acme *a, const char *dir_url, json_t *dir);

/*
 * Gives the session a nonce a previous step left unused (borrowed), when
 * it holds none. A nonce that has expired or was used costs one badNonce
 * retry, never a failure.
 */
void acme_put_nonce(struct acme *a, const char *nonce);

/* Takes the session's unused nonce: new string (the caller's) or NULL. */
char *acme_take_nonce(struct acme *a);

/* A directory entry such as "newOrder"; borrowed, or NULL. */
const char *acme_dir_url(const struct acme *a, const char *name);

/*
 * Signed POST of payload (borrowed; NULL means POST-as-GET) to url, with
 * kid when the account is known (else jwk). Handles nonces and retries on
 * badNonce; a refusal of the account goes to a->recover once. On an HTTP
 * status >= 400 or transport error returns -1 with *problem; otherwise 0
 * with resp filled (caller frees it).
 */
int acme_post(struct acme *a, const char *url, json_t *payload,
    struct http_response *resp, json_t **problem);

/* acme_post() signed by s instead of the account; nothing recovered. */
int acme_post_signed(struct acme *a, const struct acme_signer *s,
    const char *url, json_t *payload, struct http_response *resp,
    json_t **problem);

/*
 * The flattened JWS of payload ("" for POST-as-GET) to url, signed by s,
 * with nonce in the header (NULL: none, for the inner JWS of a key
 * change). New string, or NULL. Every signed request is made here.
 */
char *acme_sign(const struct acme_signer *s, const char *url,
    const char *nonce, const char *payload);

/*
 * acme_post() whose answer must be a JSON object: returns it (new) in *out.
 * A body that is not JSON or has the wrong content type is a problem of
 * type STATE_ERR_RESPONSE. location, when non-NULL, receives the Location
 * header (new string or NULL).
 */
int acme_post_json(struct acme *a, const char *url, json_t *payload,
    json_t **out, char **location, json_t **problem);

/* acme_post_json() that also gives Retry-After in seconds (-1: none). */
int acme_post_json_ra(struct acme *a, const char *url, json_t *payload,
    json_t **out, long *retry_after, json_t **problem);

/* The key authorization "token.thumbprint" for a token; new string. */
char *acme_key_authz(struct acme *a, const char *token);

/* Releases everything a holds and zeroes it. */
void acme_close(struct acme *a);

#endif
