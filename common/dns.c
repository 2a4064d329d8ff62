/* dns: addresses, CNAME chains and CAA records through ldns. */
/*
 * ldns's headers declare its DNSSEC functions with OpenSSL's deprecated
 * RSA and DSA types; nothing here uses them, but they must parse.
 */
#undef OPENSSL_NO_DEPRECATED
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dns.h"

struct dns {
	ldns_resolver	*res;
	char		 server[64];
};

/*
 * Queries in a row without an answer, per server and per process: the
 * handles of a step's documents in flight (one each, since an ldns
 * resolver is not for several threads) give up on a dead server
 * together.
 */
#define DNS_SERVERS 8
static pthread_mutex_t dns_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char	server[64];
	int	unanswered;
} dns_health[DNS_SERVERS];

/* Adds delta (or with reset, sets 0) to server's count; the count. */
static int
dns_unanswered(const char *server, int delta, int reset)
{
	int i, n = 0;

	pthread_mutex_lock(&dns_mu);
	for (i = 0; i < DNS_SERVERS; i++)
		if (dns_health[i].server[0] == '\0' ||
		    strcmp(dns_health[i].server, server) == 0)
			break;
	if (i < DNS_SERVERS) {
		if (dns_health[i].server[0] == '\0')
			snprintf(dns_health[i].server,
			    sizeof(dns_health[i].server), "%s", server);
		dns_health[i].unanswered = reset ? 0 :
		    dns_health[i].unanswered + delta;
		n = dns_health[i].unanswered;
	}
	pthread_mutex_unlock(&dns_mu);
	return n;
}

/* server into a bare address (buf) and a port (53 when none). */
static int
dns_server_split(const char *server, char *buf, size_t len, int *family,
    unsigned *port, char *why, size_t whylen)
{
	const char *orig = server, *colon = strrchr(server, ':'), *p = NULL;
	unsigned char a[16];
	char *end = NULL;
	size_t n;
	long v;

	*port = 53;
	if (server[0] == '[') {
		const char *close = strchr(server, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			goto bad;
		n = (size_t)(close - server - 1);
		p = close[1] == ':' ? close + 2 : NULL;
		if (close[1] == ':' && *p == '\0')
			goto bad;
		server++;
	} else if (colon != NULL && strchr(server, ':') == colon) {
		n = (size_t)(colon - server); /* one colon: IPv4:PORT */
		p = colon + 1;
	} else
		n = strlen(server);
	if (n == 0 || n >= len)
		goto bad;
	memcpy(buf, server, n);
	buf[n] = '\0';
	if (p != NULL) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = strtol(p, &end, 10);
		if (*end != '\0' || v < 1 || v > 65535)
			goto bad;
		*port = (unsigned)v;
	}
	if (inet_pton(AF_INET, buf, a) == 1)
		*family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		*family = AF_INET6;
	else
		goto bad;
	return 0;
bad:
	snprintf(why, whylen, "--resolver: want ADDR or ADDR:PORT "
	    "([ADDR]:PORT for IPv6), not %s", orig);
	return -1;
}

int
dns_server_check(const char *server, char *why, size_t whylen)
{
	char buf[64];
	unsigned port;
	int family;

	if (server == NULL)
		return 0;
	return dns_server_split(server, buf, sizeof(buf), &family, &port,
	    why, whylen);
}

struct dns *
dns_open(const char *server, char *why, size_t whylen)
{
	struct dns *d = NULL;
	ldns_rdf *ns = NULL;
	char buf[64];
	unsigned port = 53;
	int family = 0;
	struct timeval tv = { DNS_TIMEOUT, 0 };

	if (server != NULL && dns_server_split(server, buf, sizeof(buf),
	    &family, &port, why, whylen) != 0)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (server == NULL) {
		snprintf(d->server, sizeof(d->server), "system");
		if (ldns_resolver_new_frm_file(&d->res, NULL) !=
		    LDNS_STATUS_OK) {
			snprintf(why, whylen, "resolver: cannot read "
			    "/etc/resolv.conf");
			goto fail;
		}
	} else {
		snprintf(d->server, sizeof(d->server), "%s", server);
		if ((d->res = ldns_resolver_new()) == NULL ||
		    (ns = ldns_rdf_new_frm_str(family == AF_INET ?
		    LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA, buf)) == NULL ||
		    ldns_resolver_push_nameserver(d->res, ns) !=
		    LDNS_STATUS_OK) {
			snprintf(why, whylen, "resolver: out of memory");
			goto fail;
		}
		ldns_rdf_deep_free(ns);
		ns = NULL;
		ldns_resolver_set_port(d->res, (uint16_t)port);
	}
	ldns_resolver_set_recursive(d->res, true);
	ldns_resolver_set_defnames(d->res, false);
	ldns_resolver_set_dnsrch(d->res, false);
	ldns_resolver_set_timeout(d->res, tv);
	ldns_resolver_set_retry(d->res, DNS_TRIES);
	ldns_resolver_set_retrans(d->res, 1);
	return d;
fail:
	ldns_rdf_deep_free(ns);
	dns_close(d);
	return NULL;
}

void
dns_close(struct dns *d)
{
	if (d == NULL)
		return;
	if (d->res != NULL)
		ldns_resolver_deep_free(d->res);
	free(d);
}

const char *
dns_server(const struct dns *d)
{
	return d->server;
}

const char *
dns_addr_str(const struct dns_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family, a->a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

/* rdf (a domain name) into buf, lower case, without the trailing dot. */
static void
dns_name(const ldns_rdf *rdf, char *buf, size_t len)
{
	char *s = ldns_rdf2str(rdf), *p;
	size_t n;

	buf[0] = '\0';
	if (s == NULL)
		return;
	n = strlen(s);
	if (n > 1 && s[n - 1] == '.')
		s[n - 1] = '\0';
	for (p = s; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(buf, len, "%s", s);
	free(s);
}

/* Asks one question; *pkt is the answer (caller frees) when DNS_OK. */
static enum dns_status
dns_ask(struct dns *d, const char *name, ldns_rr_type t, const char *tname,
    ldns_pkt **pkt, char *why, size_t whylen)
{
	ldns_lookup_table *rc;
	ldns_status st;
	ldns_rdf *q;
	char fq[300];
	int code;

	*pkt = NULL;
	if (dns_unanswered(d->server, 0, 0) >= DNS_DOWN_AFTER) {
		snprintf(why, whylen, "%s %s: not asked: %s gave no answer to "
		    "%d queries in a row", tname, name, d->server,
		    DNS_DOWN_AFTER);
		return DNS_FAIL;
	}
	snprintf(fq, sizeof(fq), "%s.", name);
	if ((q = ldns_dname_new_frm_str(fq)) == NULL) {
		snprintf(why, whylen, "%s %s: not a name to ask for", tname,
		    name);
		return DNS_FAIL;
	}
	st = ldns_resolver_send(pkt, d->res, q, t, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_rdf_deep_free(q);
	if (st != LDNS_STATUS_OK || *pkt == NULL) {
		snprintf(why, whylen, "%s %s: no answer from %s: %s", tname,
		    name, d->server, ldns_get_errorstr_by_id(st));
		(void)dns_unanswered(d->server, 1, 0);
		goto fail;
	}
	(void)dns_unanswered(d->server, 0, 1);
	code = (int)ldns_pkt_get_rcode(*pkt);
	if (code == LDNS_RCODE_NOERROR)
		return DNS_OK;
	if (code == LDNS_RCODE_NXDOMAIN) {
		ldns_pkt_free(*pkt);
		*pkt = NULL;
		return DNS_NXDOMAIN;
	}
	rc = ldns_lookup_by_id(ldns_rcodes, code);
	snprintf(why, whylen, "%s %s: %s from %s", tname, name,
	    rc != NULL ? rc->name : "error", d->server);
fail:
	ldns_pkt_free(*pkt);
	*pkt = NULL;
	return DNS_FAIL;
}

/*
 * Follows the CNAMEs of answer from cur (updated). Returns 1 when the
 * walk must end (stopped, too long), else 0; *moved when cur changed.
 */
static int
dns_follow(const ldns_rr_list *answer, char *cur, size_t curlen,
    int (*stop)(const char *, void *), void *arg, struct dns_result *r,
    int *moved)
{
	char owner[256];
	size_t i, n = ldns_rr_list_rr_count(answer);
	int again = 1;

	while (again) {
		again = 0;
		for (i = 0; i < n; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(answer, i);
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
			    ldns_rr_rd_count(rr) < 1)
				continue;
			dns_name(ldns_rr_owner(rr), owner, sizeof(owner));
			if (strcmp(owner, cur) != 0)
				continue;
			if (r->nchain == DNS_CHAIN_MAX) {
				r->too_long = 1;
				return 1;
			}
			dns_name(ldns_rr_rdf(rr, 0), r->chain[r->nchain],
			    sizeof(r->chain[0]));
			snprintf(cur, curlen, "%s", r->chain[r->nchain++]);
			*moved = again = 1;
			if (stop != NULL && stop(cur, arg)) {
				r->stopped = 1;
				return 1;
			}
			break;
		}
	}
	return 0;
}

/* The addresses of type t owned by cur in answer, into r. */
static int
dns_collect(const ldns_rr_list *answer, const char *cur, ldns_rr_type t,
    struct dns_result *r)
{
	char owner[256];
	size_t i, n = ldns_rr_list_rr_count(answer), want;
	int found = 0;

	want = t == LDNS_RR_TYPE_A ? 4 : 16;
	for (i = 0; i < n && r->naddr < DNS_ADDR_MAX; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);
		const ldns_rdf *rd;
		if (ldns_rr_get_type(rr) != t || ldns_rr_rd_count(rr) < 1)
			continue;
		dns_name(ldns_rr_owner(rr), owner, sizeof(owner));
		rd = ldns_rr_rdf(rr, 0);
		if (strcmp(owner, cur) != 0 || ldns_rdf_size(rd) != want)
			continue;
		r->addr[r->naddr].family = want == 4 ? AF_INET : AF_INET6;
		memcpy(r->addr[r->naddr++].a, ldns_rdf_data(rd), want);
		found = 1;
	}
	return found;
}

enum dns_status
dns_resolve(struct dns *d, const char *name,
    int (*stop)(const char *, void *), void *arg, struct dns_result *r)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A,
	    LDNS_RR_TYPE_AAAA };
	static const char *const tnames[] = { "A", "AAAA" };
	enum dns_status st;
	ldns_pkt *pkt = NULL;
	char cur[256];
	size_t k;
	int moved, found, end;

	memset(r, 0, sizeof(*r));
	snprintf(cur, sizeof(cur), "%s", name);
	for (k = 0; k < 2; k++) {
		do {
			st = dns_ask(d, cur, types[k], tnames[k], &pkt, r->why,
			    sizeof(r->why));
			/* No AAAA where A was answered is no address. */
			if (st == DNS_NXDOMAIN && k == 1)
				break;
			if (st != DNS_OK)
				return r->status = st;
			moved = 0;
			end = dns_follow(ldns_pkt_answer(pkt), cur, sizeof(cur),
			    stop, arg, r, &moved);
			found = !end && dns_collect(ldns_pkt_answer(pkt), cur,
			    types[k], r);
			ldns_pkt_free(pkt);
			pkt = NULL;
			if (end)
				return r->status = DNS_OK;
			/* A chain the server did not resolve: ask its end. */
		} while (moved && !found);
	}
	return r->status = DNS_OK;
}

/* One CAA record's wire rdata into c; -1 when malformed. */
static int
dns_caa_parse(const ldns_rr *rr, struct dns_caa *c)
{
	ldns_buffer *b = ldns_buffer_new(512);
	const unsigned char *p;
	size_t n, tl;
	int rc = -1;

	if (b == NULL || ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK)
		goto out;
	p = ldns_buffer_begin(b);
	n = ldns_buffer_position(b);
	if (n < 2 || (tl = p[1]) == 0 || tl >= sizeof(c->tag) || 2 + tl > n)
		goto out;
	c->flags = p[0];
	memcpy(c->tag, p + 2, tl);
	c->tag[tl] = '\0';
	n -= 2 + tl;
	if (n >= sizeof(c->value))
		n = sizeof(c->value) - 1;
	memcpy(c->value, p + 2 + tl, n);
	c->value[n] = '\0';
	rc = 0;
out:
	if (b != NULL)
		ldns_buffer_free(b);
	return rc;
}

enum dns_status
dns_caa(struct dns *d, const char *name, struct dns_caa_set *s)
{
	ldns_rr_list *answer;
	ldns_pkt *pkt = NULL;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->status = dns_ask(d, name, LDNS_RR_TYPE_CAA, "CAA", &pkt, s->why,
	    sizeof(s->why));
	if (s->status != DNS_OK)
		return s->status;
	answer = ldns_pkt_answer(pkt);
	for (i = 0; i < ldns_rr_list_rr_count(answer) && s->n < DNS_CAA_MAX;
	    i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CAA &&
		    dns_caa_parse(rr, &s->rr[s->n]) == 0)
			s->n++;
	}
	ldns_pkt_free(pkt);
	return DNS_OK;
}
