/*
 * client: what every command that talks to the CA shares: its options
 * (directory, CA bundle, account key, registration, timeout), their
 * ACMEPIPE_* variables and defaults (conf_table.h), and one ACME session
 * opened lazily for the first document that needs it, so that a stream
 * of failed documents makes no request at all.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <getopt.h>
#include <jansson.h>

#include "acme.h"

/*
 * A session (directory and nonce) a previous step left in a document is
 * used for this many seconds; after that the directory is fetched again.
 */
#define CLIENT_SESSION_AGE 600

/* Short options shared by every ACME command; a command appends its own. */
#define CLIENT_SHORTOPTS "d:C:k:Sac:E:M:T:F:vh"
/* Long options, as initialisers for struct option. */
#define CLIENT_LONGOPTS \
	{ "directory", required_argument, NULL, 'd' }, \
	{ "ca-bundle", required_argument, NULL, 'C' }, \
	{ "account-key", required_argument, NULL, 'k' }, \
	{ "staging", no_argument, NULL, 'S' }, \
	{ "agree-tos", no_argument, NULL, 'a' }, \
	{ "contact", required_argument, NULL, 'c' }, \
	{ "eab-kid", required_argument, NULL, 'E' }, \
	{ "eab-hmac-key", required_argument, NULL, 'M' }, \
	{ "http-timeout", required_argument, NULL, 'T' }, \
	{ "in-flight", required_argument, NULL, 'F' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }
/* The usage text of those options, for usage(). */
#define CLIENT_USAGE \
	"[-aSv] [-C file] [-c mailto:addr] [-d url] [-E kid -M key]\n" \
	"\t[-F n] [-k file] [-T seconds]"

struct client {
	const char	*directory, *ca_bundle, *account_key, *contact;
	const char	*eab_kid, *eab_hmac, *http_timeout, *in_flight;
	int		 agree_tos, staging;
	int		 existing; /* only an existing account: none is made
				      (acme-account, acme-revoke) */
	int		 no_account; /* no account at all: requests are
				        signed by another key (acme-revoke
				        --cert-key) */
	struct acme	 acme;
	int		 state;   /* 0 not opened, 1 open, -1 failed */
	json_t		*problem; /* why opening failed, owned */
};

/*
 * The number of documents to keep in flight (--in-flight, then
 * ACMEPIPE_IN_FLIGHT, then 1): 1 to STREAM_IN_FLIGHT_MAX, or 0 with a
 * one-line reason in why (a usage error).
 */
unsigned client_in_flight(const struct client *c, char *why, size_t whylen);

/* Handles one getopt result: 1 when ch was a shared option, else 0. */
int client_option(struct client *c, int ch, const char *arg);

/*
 * Applies the environment and defaults and configures HTTP. Returns 0, or
 * -1 with a one-line reason in why (a usage error: exit 2).
 */
int client_setup(struct client *c, char *why, size_t whylen);

/*
 * The ACME session for doc, opened (directory, account) on first use,
 * with the directory the previous step left in doc's "session" when there
 * is one; the nonce left there is used too, and "session" is removed.
 * When it cannot be opened, records the failure in doc under step and
 * returns NULL; later documents get the same failure without new requests.
 * A document made for another directory is refused. Borrowed.
 */
struct acme *client_acme(struct client *c, json_t *doc, const char *step);

/*
 * The session for a command that has no documents (acme-account), opened
 * on first use. NULL when it cannot be opened, with the reason in
 * c->problem.
 */
struct acme *client_acme_plain(struct client *c);

/*
 * Records the session in doc for the next step: "directory", "account",
 * and "session" (the directory object, the time, and the unused nonce,
 * which leaves this process with the document). Call it when doc is done.
 */
int client_stamp(struct client *c, json_t *doc);

void client_close(struct client *c);

#endif
