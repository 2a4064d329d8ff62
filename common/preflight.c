/* preflight: --points-to and CAA before any order (see preflight.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "ident.h"
#include "preflight.h"
#include "state.h"

/* CAA property tags RFC 8659 and its registry know; others may be critical. */
static const char *const preflight_caa_tags[] = { "issue", "issuewild",
    "iodef", "contactemail", "contactphone", "issuemail", "issuevmc" };

/* 1 when item is meant as an address: digits and dots, or a colon. */
static int
preflight_looks_ip(const char *s)
{
	if (strchr(s, ':') != NULL)
		return 1;
	for (; *s != '\0' && *s != '/'; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return 0;
	return 1;
}

/* The address and prefix of "ADDR[/PREFIX]" into n. */
static int
preflight_net_parse(const char *item, struct preflight_net *n)
{
	char buf[64], *slash, *end = NULL;
	long v;
	int bits, i;

	if (snprintf(buf, sizeof(buf), "%s", item) >= (int)sizeof(buf))
		return -1;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->a) == 1)
		n->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, n->a) == 1)
		n->family = AF_INET6;
	else
		return -1;
	bits = n->family == AF_INET ? 32 : 128;
	n->prefix = bits;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return -1;
		v = strtol(slash, &end, 10);
		if (*end != '\0' || v > bits)
			return -1;
		n->prefix = (int)v;
	}
	/* Host bits set is a typo for another network. */
	for (i = n->prefix; i < bits; i++)
		if (n->a[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return 0;
}

int
preflight_add(struct preflight *pf, const char *item, char *why,
    size_t whylen)
{
	char err[128];
	char *h;
	size_t used = strlen(pf->list);

	if (pf->nnets + pf->nhosts == PREFLIGHT_LIST_MAX) {
		snprintf(why, whylen, "--points-to: more than %d entries",
		    PREFLIGHT_LIST_MAX);
		return -1;
	}
	if (preflight_looks_ip(item)) {
		if (preflight_net_parse(item, &pf->nets[pf->nnets]) != 0) {
			snprintf(why, whylen, "--points-to: not an address or "
			    "network (ADDR/PREFIX, no host bits): %s", item);
			return -1;
		}
		pf->nnets++;
	} else {
		if ((h = ident_normalize(item, err, sizeof(err))) == NULL ||
		    ident_is_wildcard(h)) {
			snprintf(why, whylen, "--points-to: not an address, "
			    "network or host name: %s%s%s", item, h == NULL ?
			    ": " : "", h == NULL ? err : "");
			free(h);
			return -1;
		}
		pf->hosts[pf->nhosts++] = h;
	}
	if (used + strlen(item) + 3 > sizeof(pf->list)) {
		snprintf(why, whylen, "--points-to: the list is too long");
		return -1;
	}
	snprintf(pf->list + used, sizeof(pf->list) - used, "%s%s",
	    used > 0 ? ", " : "", item);
	return 0;
}

int
preflight_setup(struct preflight *pf, const char *points_to,
    const char *caa_identity, const char *resolver, int open_dns,
    char *why, size_t whylen)
{
	char *copy = NULL, *item, *save = NULL, *p;
	int rc = -1;

	if (dns_server_check(resolver, why, whylen) != 0)
		return -1;
	if (points_to != NULL) {
		if ((copy = strdup(points_to)) == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		for (item = strtok_r(copy, ", \t\n", &save); item != NULL;
		    item = strtok_r(NULL, ", \t\n", &save))
			if (preflight_add(pf, item, why, whylen) != 0)
				goto out;
		if (pf->nnets + pf->nhosts == 0) {
			snprintf(why, whylen, "--points-to: an empty list");
			goto out;
		}
	}
	if (caa_identity != NULL) {
		if ((pf->caa_identity = ident_normalize(caa_identity, why,
		    whylen)) == NULL || ident_is_wildcard(pf->caa_identity)) {
			snprintf(why, whylen, "--caa-identity: not a domain "
			    "name: %s", caa_identity);
			goto out;
		}
		for (p = pf->caa_identity; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	if ((preflight_on(pf) || open_dns) &&
	    (pf->dns = dns_open(resolver, why, whylen)) == NULL)
		goto out;
	rc = 0;
out:
	free(copy);
	return rc;
}

int
preflight_on(const struct preflight *pf)
{
	return pf->nnets + pf->nhosts > 0 || pf->caa_identity != NULL;
}

int
preflight_in_nets(const struct preflight *pf, const struct dns_addr *a)
{
	const struct preflight_net *n;
	size_t i;
	int b;

	for (i = 0; i < pf->nnets; i++) {
		n = &pf->nets[i];
		if (n->family != a->family)
			continue;
		for (b = 0; b < n->prefix; b++)
			if ((n->a[b / 8] ^ a->a[b / 8]) & (0x80 >> (b % 8)))
				break;
		if (b == n->prefix)
			return 1;
	}
	return 0;
}

/* dns_resolve()'s stop: the chain reached one of the listed hosts. */
static int
preflight_is_host(const char *name, void *arg)
{
	const struct preflight *pf = arg;
	size_t i;

	for (i = 0; i < pf->nhosts; i++)
		if (strcmp(pf->hosts[i], name) == 0)
			return 1;
	return 0;
}

/* Appends ", CNAME x" for each CNAME of r to buf. */
static void
preflight_chain(const struct dns_result *r, char *buf, size_t len)
{
	size_t used;
	int i;

	for (i = 0; i < r->nchain; i++) {
		used = strlen(buf);
		snprintf(buf + used, len - used, "%sCNAME %s", used > 0 ?
		    ", " : "", r->chain[i]);
	}
}

/* --points-to for one name; 0 or -1 with the failure recorded. */
static int
preflight_points(struct preflight *pf, json_t *doc, const char *step,
    const char *name)
{
	struct dns_result r;
	char found[1024] = "", addr[64];
	const struct dns_addr *bad = NULL;
	size_t used;
	int i;

	if (preflight_is_host(name, pf))
		return 0;
	/* An address points at itself: it must be one of ours. */
	if (ident_ip_family(name) != 0) {
		r.addr[0].family = ident_ip_family(name);
		(void)ident_ip_bytes(name, r.addr[0].a);
		if (preflight_in_nets(pf, &r.addr[0]))
			return 0;
		state_fail(doc, step, STATE_ERR_NOT_POINTED, name, "%s: an "
		    "address not in %s", name, pf->list);
		return -1;
	}
	if (dns_resolve(pf->dns, name, preflight_is_host, pf, &r) ==
	    DNS_FAIL) {
		state_fail(doc, step, STATE_ERR_RESOLVER, name, "%s", r.why);
		return -1;
	}
	if (r.stopped)
		return 0;
	preflight_chain(&r, found, sizeof(found));
	used = strlen(found);
	if (r.too_long)
		snprintf(found + used, sizeof(found) - used, ", more than %d "
		    "CNAMEs", DNS_CHAIN_MAX);
	else if (r.status == DNS_NXDOMAIN)
		snprintf(found + used, sizeof(found) - used, "%sNXDOMAIN",
		    used > 0 ? ": " : "");
	else if (r.naddr == 0)
		snprintf(found + used, sizeof(found) - used, "%sno A or AAAA "
		    "record", used > 0 ? ", " : "");
	else {
		for (i = 0; i < r.naddr && bad == NULL; i++)
			if (!preflight_in_nets(pf, &r.addr[i]))
				bad = &r.addr[i];
		if (bad == NULL)
			return 0;
		snprintf(found + used, sizeof(found) - used, "%s%s %s",
		    used > 0 ? ", " : "", bad->family == AF_INET ? "A" :
		    "AAAA", dns_addr_str(bad, addr, sizeof(addr)));
	}
	state_fail(doc, step, STATE_ERR_NOT_POINTED, name, "%s: %s, not in %s",
	    name, found, pf->list);
	return -1;
}

static int
preflight_known_tag(const char *tag)
{
	size_t i;

	for (i = 0; i < sizeof(preflight_caa_tags) /
	    sizeof(preflight_caa_tags[0]); i++)
		if (strcasecmp(tag, preflight_caa_tags[i]) == 0)
			return 1;
	return 0;
}

/* The issuer domain of an issue value: up to ';', without blanks. */
static void
preflight_issuer(const char *value, char *buf, size_t len)
{
	size_t n = 0;

	while (*value == ' ' || *value == '\t')
		value++;
	while (*value != '\0' && *value != ';' && *value != ' ' &&
	    *value != '\t' && n + 1 < len)
		buf[n++] = (char)tolower((unsigned char)*value++);
	buf[n] = '\0';
}

int
preflight_caa_allows(const struct dns_caa_set *s, const char *identity,
    int wild, char *detail, size_t len)
{
	const char *want = "issue";
	char issuer[256];
	size_t used;
	int i, relevant = 0, allowed = 0;

	detail[0] = '\0';
	for (i = 0; i < s->n; i++) {
		used = strlen(detail);
		snprintf(detail + used, len - used, "%s%d %s \"%s\"", used >
		    0 ? ", " : "", s->rr[i].flags, s->rr[i].tag,
		    s->rr[i].value);
	}
	for (i = 0; i < s->n; i++) {
		/* An unknown critical property: no one may issue. */
		if ((s->rr[i].flags & 128) &&
		    !preflight_known_tag(s->rr[i].tag))
			return 0;
		if (wild && strcasecmp(s->rr[i].tag, "issuewild") == 0)
			want = "issuewild";
	}
	for (i = 0; i < s->n; i++) {
		if (strcasecmp(s->rr[i].tag, want) != 0)
			continue;
		relevant = 1;
		preflight_issuer(s->rr[i].value, issuer, sizeof(issuer));
		if (strcmp(issuer, identity) == 0)
			allowed = 1;
	}
	return !relevant || allowed;
}

/* CAA for one name (RFC 8659 section 3); 0 or -1 with the failure recorded. */
static int
preflight_caa(struct preflight *pf, json_t *doc, const char *step,
    const char *name)
{
	struct dns_caa_set s;
	const char *at = name;
	char detail[1024];
	int wild = ident_is_wildcard(name);

	if (wild)
		at += 2;
	/* Up the tree to the top-level domain; the root is not asked. */
	for (; at != NULL && *at != '\0'; at = strchr(at, '.'),
	    at = at != NULL ? at + 1 : NULL) {
		if (dns_caa(pf->dns, at, &s) == DNS_FAIL) {
			state_fail(doc, step, STATE_ERR_RESOLVER, name, "%s",
			    s.why);
			return -1;
		}
		if (s.n == 0)
			continue;
		if (preflight_caa_allows(&s, pf->caa_identity, wild, detail,
		    sizeof(detail)))
			return 0;
		state_fail(doc, step, STATE_ERR_CAA, name, "%s: CAA at %s: %s;"
		    " %s may not issue", name, at, detail, pf->caa_identity);
		return -1;
	}
	return 0;
}

int
preflight_check(struct preflight *pf, json_t *doc, const char *step)
{
	const json_t *v;
	const char *name;
	size_t i;

	if (!preflight_on(pf))
		return 0;
	json_array_foreach(json_object_get(doc, "identifiers"), i, v) {
		name = json_string_value(v);
		if (pf->nnets + pf->nhosts > 0 && !ident_is_wildcard(name) &&
		    preflight_points(pf, doc, step, name) != 0)
			return -1;
		/* CAA (RFC 8659) is a DNS record: addresses have none. */
		if (pf->caa_identity != NULL && ident_ip_family(name) == 0 &&
		    preflight_caa(pf, doc, step, name) != 0)
			return -1;
	}
	return 0;
}

void
preflight_free(struct preflight *pf)
{
	size_t i;

	for (i = 0; i < pf->nhosts; i++)
		free(pf->hosts[i]);
	pf->nhosts = 0;
	free(pf->caa_identity);
	pf->caa_identity = NULL;
	dns_close(pf->dns);
	pf->dns = NULL;
}
