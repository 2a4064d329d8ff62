/*
 * account: the ACME account of a session (RFC 8555 section 7.3): the key
 * file, the account URL cache beside it, finding or registering the
 * account, and what acme-account(1) does with it: show it, change its
 * contact, roll its key over, deactivate it.
 *
 * Every function takes a session opened with acme_open() (acme.h) and,
 * except account_login(), logged in with it. Objects returned in *out are
 * new references the caller owns: the account as "url", "status",
 * "contact" (the CA's list, or []), "thumbprint" (RFC 7638, of the key
 * in use) and "directory". Problems as in acme.h.
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <jansson.h>

#include "acme.h"

/* The file that holds a new key while a rollover is under way. */
#define ACCOUNT_PENDING_SUFFIX ".new"

/*
 * Loads the account key (creating and registering it when the file does not
 * exist, unless o->existing) and finds the account URL: from the cache
 * file KEY.account beside the key when it names this directory, else with
 * newAccount onlyReturnExisting, else by registering (not with
 * o->existing). Sets a->recover, so that a later request the CA refuses
 * finds the account again, or the key a rollover put in the key file.
 * Returns 0 or -1 with *problem.
 */
int account_login(struct acme *a, const struct acme_account_opts *o,
    json_t **problem);

/* The account as the CA has it (POST-as-GET of its URL, section 7.3). */
int account_fetch(struct acme *a, json_t **out, json_t **problem);

/*
 * Replaces the account's contact URLs with contact (an array of strings,
 * borrowed; empty removes them all).
 */
int account_set_contact(struct acme *a, json_t *contact, json_t **out,
    json_t **problem);

/*
 * Rolls the account key over (section 7.3.5) to the key in new_path, or
 * with new_path NULL to a new key of key_type (key.h). The new key is
 * first written to KEY.new (durable), then the CA asked with the inner
 * JWS signed by it, and only then renamed over KEY and the URL cache
 * rewritten: at every moment one of the two files holds the account's
 * key. A rerun after an interruption uses the same KEY.new, and finishes
 * the rename when the CA already took it. When the CA refuses (a new key
 * that has an account of its own: conflict), KEY.new is removed and the
 * old key stays. *out is the account with its new thumbprint.
 */
int account_key_change(struct acme *a, const char *new_path,
    const char *key_type, json_t **out, json_t **problem);

/*
 * Deactivates the account (section 7.3.6): final, the CA refuses every
 * later request of it. The key and cache files are left as they are.
 */
int account_deactivate(struct acme *a, json_t **out, json_t **problem);

#endif
