/*
 * selfcheck: acme-challenge --self-check: before the CA is told to
 * validate an http-01 challenge, fetch
 * http://NAME[:PORT]/.well-known/acme-challenge/TOKEN ourselves, with
 * NAME resolved through the pre-flight resolver (dns.h), and compare the
 * answer with the key authorization. A wrong answer, an HTTP error or no
 * answer at all fails the authorization before the CA tries; a redirect
 * (which the CA would follow, perhaps to HTTPS elsewhere) is left to the
 * CA. A plain-HTTP libcurl handle of its own, made per check: the CA's
 * handle (http.h) verifies TLS and keeps its connection.
 */
#ifndef SELFCHECK_H
#define SELFCHECK_H

#include <stddef.h>
#include <jansson.h>

#include "dns.h"

/* Seconds one self-check fetch may take; bytes of an answer read. */
#define SELFCHECK_TIMEOUT  10
#define SELFCHECK_MAX_BODY 8192

struct selfcheck {
	struct dns	*dns;  /* owned */
	unsigned	 port; /* 80 but for test CAs */
};

/*
 * Opens the resolver (NULL: the system's) and takes the port (decimal,
 * 1-65535). 0, or -1 with a one-line reason (a usage error).
 */
int selfcheck_setup(struct selfcheck *sc, const char *resolver,
    const char *port, char *why, size_t whylen);

/*
 * Fetches name's token and compares it with ka (trailing white space
 * ignored, as the CA does). 0 when it matches or cannot be judged here
 * (a redirect); else -1 with *problem (new): STATE_ERR_SELF_CHECK, or
 * STATE_ERR_RESOLVER when the name server gave no answer.
 */
int selfcheck_http01(struct selfcheck *sc, const char *name,
    const char *token, const char *ka, json_t **problem);

void selfcheck_free(struct selfcheck *sc);

#endif
