/* client: shared options and the lazily opened ACME session. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "client.h"
#include "conf.h"
#include "diag.h"
#include "http.h"
#include "state.h"
#include "stream.h"

int
client_option(struct client *c, int ch, const char *arg)
{
	switch (ch) {
	case 'd': c->directory = arg; break;
	case 'C': c->ca_bundle = arg; break;
	case 'k': c->account_key = arg; break;
	case 'S': c->staging = 1; break;
	case 'a': c->agree_tos = 1; break;
	case 'c': c->contact = arg; break;
	case 'E': c->eab_kid = arg; break;
	case 'M': c->eab_hmac = arg; break;
	case 'T': c->http_timeout = arg; break;
	case 'F': c->in_flight = arg; break;
	case 'v': diag_verbosity++; break;
	default: return 0;
	}
	return 1;
}

unsigned
client_in_flight(const struct client *c, char *why, size_t whylen)
{
	const char *v = conf_value(CONF_V_IN_FLIGHT, c->in_flight);
	char *end = NULL;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *v == '-' || n < 1 ||
	    n > STREAM_IN_FLIGHT_MAX) {
		snprintf(why, whylen, "in-flight: not a number from 1 to %u: "
		    "%s", STREAM_IN_FLIGHT_MAX, v);
		return 0;
	}
	return (unsigned)n;
}

int
client_setup(struct client *c, char *why, size_t whylen)
{
	long timeout;
	const char *t;

	/* --staging is an option: it beats ACMEPIPE_DIRECTORY. */
	if (c->directory == NULL && c->staging)
		c->directory = CONF_LE_STAGING;
	c->directory = conf_get(c->directory, CONF_ENV(DIRECTORY),
	    conf_flag(CONF_ENV(STAGING)) ?
	    CONF_LE_STAGING : CONF_LE_PRODUCTION);
	c->ca_bundle = conf_value(CONF_V_CA_BUNDLE, c->ca_bundle);
	c->account_key = conf_value(CONF_V_ACCOUNT_KEY, c->account_key);
	c->contact = conf_value(CONF_V_CONTACT, c->contact);
	c->eab_kid = conf_value(CONF_V_EAB_KID, c->eab_kid);
	c->eab_hmac = conf_value(CONF_V_EAB_HMAC_KEY, c->eab_hmac);
	if (!c->agree_tos && conf_flag(CONF_ENV(AGREE_TOS)))
		c->agree_tos = 1;
	t = conf_value(CONF_V_HTTP_TIMEOUT, c->http_timeout);
	timeout = conf_seconds(t);
	if (timeout < 0) {
		snprintf(why, whylen, "http timeout: not a number of seconds: %s",
		    t);
		return -1;
	}
	/* TLS is what makes the CA the CA: no cleartext directory. */
	if (strncmp(c->directory, "https://", 8) != 0 || c->directory[8] == '\0') {
		snprintf(why, whylen, "directory must be an https URL: %s",
		    c->directory);
		return -1;
	}
	if (c->ca_bundle != NULL && access(c->ca_bundle, R_OK) != 0) {
		snprintf(why, whylen, "ca bundle %s: %s", c->ca_bundle,
		    strerror(errno));
		return -1;
	}
	if ((c->eab_kid == NULL) != (c->eab_hmac == NULL)) {
		snprintf(why, whylen, "--eab-kid and --eab-hmac-key go together");
		return -1;
	}
	if (c->contact != NULL && strncmp(c->contact, "mailto:", 7) != 0) {
		snprintf(why, whylen, "contact must be a mailto: URL: %s",
		    c->contact);
		return -1;
	}
	return http_init(c->ca_bundle, timeout < 10 ? timeout : 10, timeout,
	    why, whylen);
}

/*
 * What the sessions of one process share: the directory the first one
 * fetched, and a lock that makes them open one after the other, so that
 * the documents in flight of one step fetch the directory once and find
 * the account once (the later ones read the cache file the first wrote).
 */
static pthread_mutex_t client_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *client_dir;      /* owned; for client_dir_url */
static char *client_dir_url;

static int
client_open_locked(struct client *c, json_t *session)
{
	json_t *known = session != NULL ? json_object_get(session,
	    "directory") : NULL;

	if (known == NULL && client_dir != NULL &&
	    strcmp(client_dir_url, c->directory) == 0)
		known = client_dir;
	if ((known == NULL || acme_open_known(&c->acme, c->directory,
	    known) != 0) && acme_open(&c->acme, c->directory,
	    &c->problem) != 0)
		return -1;
	if (client_dir == NULL && (client_dir_url = strdup(c->directory)) !=
	    NULL)
		client_dir = json_incref(c->acme.dir);
	return 0;
}

static int
client_open(struct client *c, json_t *session)
{
	struct acme_account_opts o = {
		.key_path = c->account_key, .agree_tos = c->agree_tos,
		.contact = c->contact, .eab_kid = c->eab_kid,
		.eab_hmac = c->eab_hmac, .existing = c->existing,
	};

	/* The directory the previous step fetched saves a request. */
	pthread_mutex_lock(&client_mu);
	if (client_open_locked(c, session) != 0 || (!c->no_account &&
	    account_login(&c->acme, &o, &c->problem) != 0)) {
		pthread_mutex_unlock(&client_mu);
		goto fail;
	}
	pthread_mutex_unlock(&client_mu);
	return 0;
fail:
	if (c->problem == NULL)
		c->problem = acme_problem(STATE_ERR_LOCAL, "out of memory");
	return -1;
}

/*
 * The session a previous step left in doc, when it was for this directory
 * and is recent enough to be worth using; NULL otherwise.
 */
static json_t *
client_session(const struct client *c, json_t *doc)
{
	json_t *s = json_object_get(doc, "session");
	const char *dir = state_str(doc, "directory");
	long long t, now = (long long)time(NULL);

	if (!json_is_object(s) || dir == NULL ||
	    strcmp(dir, c->directory) != 0 ||
	    state_time_parse(state_str(s, "time"), &t) != 0 ||
	    t > now + 60 || now - t > CLIENT_SESSION_AGE)
		return NULL;
	return s;
}

struct acme *
client_acme(struct client *c, json_t *doc, const char *step)
{
	const char *dir = state_str(doc, "directory");
	json_t *s;

	if (dir != NULL && strcmp(dir, c->directory) != 0) {
		state_fail(doc, step, STATE_ERR_INPUT, NULL,
		    "document belongs to directory %s, not %s", dir,
		    c->directory);
		return NULL;
	}
	s = json_incref(client_session(c, doc));
	/* Used now or never: the nonce in it is good for one request. */
	(void)json_object_del(doc, "session");
	if (c->state == 0)
		c->state = client_open(c, s) == 0 ? 1 : -1;
	if (c->state > 0 && s != NULL)
		acme_put_nonce(&c->acme, state_str(s, "nonce"));
	json_decref(s);
	if (c->state < 0) {
		state_fail_problem(doc, step, c->problem, NULL);
		return NULL;
	}
	return &c->acme;
}

struct acme *
client_acme_plain(struct client *c)
{
	if (c->state == 0)
		c->state = client_open(c, NULL) == 0 ? 1 : -1;
	return c->state > 0 ? &c->acme : NULL;
}

int
client_stamp(struct client *c, json_t *doc)
{
	char when[32], *nonce;
	json_t *s;

	if (json_object_set_new(doc, "directory",
	    json_string(c->acme.dir_url)) != 0 ||
	    json_object_set_new(doc, "account", json_pack("{s:s}", "url",
	    c->acme.kid)) != 0)
		return -1;
	/* The nonce goes with the document: this process will not use it. */
	nonce = acme_take_nonce(&c->acme);
	s = json_pack("{s:O, s:s}", "directory", c->acme.dir, "time",
	    state_time((long long)time(NULL), when, sizeof(when)));
	if (s != NULL && nonce != NULL)
		json_object_set_new(s, "nonce", json_string(nonce));
	free(nonce);
	return s != NULL ? json_object_set_new(doc, "session", s) : -1;
}

void
client_close(struct client *c)
{
	acme_close(&c->acme);
	json_decref(c->problem);
	c->problem = NULL;
	http_cleanup();
	json_decref(client_dir);
	client_dir = NULL;
	free(client_dir_url);
	client_dir_url = NULL;
}
