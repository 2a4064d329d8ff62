/* selfcheck: the http-01 token fetched before the CA does (selfcheck.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "acme.h"
#include "conf.h"
#include "ident.h"
#include "selfcheck.h"
#include "state.h"

struct selfcheck_body {
	char	 buf[SELFCHECK_MAX_BODY + 1];
	size_t	 len;
	int	 over; /* more than SELFCHECK_MAX_BODY came */
};

static size_t
selfcheck_write(char *p, size_t size, size_t n, void *arg)
{
	struct selfcheck_body *b = arg;
	size_t len = size * n, room = SELFCHECK_MAX_BODY - b->len;

	if (len > room) {
		b->over = 1;
		return 0; /* ends the transfer */
	}
	memcpy(b->buf + b->len, p, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return len;
}

int
selfcheck_setup(struct selfcheck *sc, const char *resolver,
    const char *port, char *why, size_t whylen)
{
	long p = conf_number(port, 65535);

	memset(sc, 0, sizeof(*sc));
	if (p < 0) {
		snprintf(why, whylen, "%s: not a port: %s",
		    CONF_ENV(SELF_CHECK_PORT), port);
		return -1;
	}
	sc->port = (unsigned)p;
	if ((sc->dns = dns_open(resolver, why, whylen)) == NULL)
		return -1;
	return 0;
}

void
selfcheck_free(struct selfcheck *sc)
{
	dns_close(sc->dns);
	sc->dns = NULL;
}

/*
 * One GET of url with name:port pinned to addr (pin NULL: url has an
 * address); curl's result.
 */
static CURLcode
selfcheck_get(const char *url, const char *pin, struct selfcheck_body *b,
    long *status)
{
	struct curl_slist *resolve = NULL;
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	CURL *h = NULL;

	*status = 0;
	if ((pin != NULL && (resolve = curl_slist_append(NULL, pin)) ==
	    NULL) || (h = curl_easy_init()) == NULL)
		goto out;
	if ((rc = curl_easy_setopt(h, CURLOPT_URL, url)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_RESOLVE, resolve)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http")) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_PROXY, "")) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_TIMEOUT,
	    (long)SELFCHECK_TIMEOUT)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_USERAGENT,
	    "acmepipe-self-check")) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION,
	    selfcheck_write)) != CURLE_OK ||
	    (rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, b)) != CURLE_OK)
		goto out;
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
		(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(resolve);
	return rc;
}

int
selfcheck_http01(struct selfcheck *sc, const char *name, const char *token,
    const char *ka, json_t **problem)
{
	struct selfcheck_body *b = NULL;
	struct dns_result r;
	char url[512], pin[512], addr[64], port[8] = "";
	long status;
	CURLcode rc;
	int ret = -1, ip = ident_ip_family(name);

	/* An address is fetched from itself, as the CA does (RFC 8738). */
	if (ip != 0) {
		memset(&r, 0, sizeof(r));
		r.naddr = 1;
		r.addr[0].family = ip;
		(void)ident_ip_bytes(name, r.addr[0].a);
	} else if (dns_resolve(sc->dns, name, NULL, NULL, &r) == DNS_FAIL) {
		*problem = acme_problem(STATE_ERR_RESOLVER, "%s", r.why);
		return -1;
	}
	if (sc->port != 80)
		snprintf(port, sizeof(port), ":%u", sc->port);
	snprintf(url, sizeof(url), ip == AF_INET6 ?
	    "http://[%s]%s/.well-known/acme-challenge/%s" :
	    "http://%s%s/.well-known/acme-challenge/%s", name, port, token);
	if (r.naddr == 0) {
		*problem = acme_problem(STATE_ERR_SELF_CHECK, "%s: no address "
		    "to fetch %s from", name, url);
		return -1;
	}
	dns_addr_str(&r.addr[0], addr, sizeof(addr));
	snprintf(pin, sizeof(pin), r.addr[0].family == AF_INET6 ?
	    "%s:%u:[%s]" : "%s:%u:%s", name, sc->port, addr);
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		*problem = acme_problem(STATE_ERR_LOCAL, "out of memory");
		return -1;
	}
	rc = selfcheck_get(url, ip != 0 ? NULL : pin, b, &status);
	while (b->len > 0 && strchr(" \t\r\n", b->buf[b->len - 1]) != NULL)
		b->buf[--b->len] = '\0';
	if (status >= 300 && status < 400)
		ret = 0; /* the CA follows redirects; this check does not */
	else if (rc != CURLE_OK && !b->over)
		*problem = acme_problem(STATE_ERR_SELF_CHECK, "%s: %s (%s): %s",
		    name, url, addr, curl_easy_strerror(rc));
	else if (status != 200)
		*problem = acme_problem(STATE_ERR_SELF_CHECK, "%s: %s (%s) "
		    "answered HTTP %ld", name, url, addr, status);
	else if (b->over || strcmp(b->buf, ka) != 0)
		*problem = acme_problem(STATE_ERR_SELF_CHECK, "%s: %s (%s) "
		    "answered %s%zu bytes that are not the key authorization",
		    name, url, addr, b->over ? "over " : "", b->len);
	else
		ret = 0;
	free(b);
	return ret;
}
