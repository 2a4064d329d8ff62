/*
 * preflight: what acme-order checks before it asks the CA for anything,
 * so that a domain that has left the operator costs the CA nothing:
 *
 *   --points-to LIST   each name resolves (A, AAAA, following CNAMEs) to
 *                      addresses in LIST's networks only, or its CNAME
 *                      chain reaches one of LIST's host names
 *   --caa-identity D   the CAA records relevant to each name (RFC 8659,
 *                      climbing the tree) allow issuer domain D
 *
 * A name that fails gets STATE_ERR_NOT_POINTED or STATE_ERR_CAA with what
 * was found in the detail; a name the resolver gave no answer for (SERVFAIL,
 * timeout) gets STATE_ERR_RESOLVER, which is transient. Wildcard names are
 * validated through DNS, not through where they point: only CAA (issuewild)
 * applies to them.
 */
#ifndef PREFLIGHT_H
#define PREFLIGHT_H

#include <stddef.h>
#include <jansson.h>

#include "dns.h"

/* Entries of --points-to; more is a usage error. */
#define PREFLIGHT_LIST_MAX 64

struct preflight_net {
	int		 family;   /* AF_INET or AF_INET6 */
	unsigned char	 a[16];
	int		 prefix;
};

struct preflight {
	struct preflight_net nets[PREFLIGHT_LIST_MAX];
	size_t		 nnets;
	char		*hosts[PREFLIGHT_LIST_MAX]; /* normalised, owned */
	size_t		 nhosts;
	char		 list[1024];   /* the list as checked, for details */
	char		*caa_identity; /* lower case, owned, or NULL */
	struct dns	*dns;          /* owned; NULL when nothing to check */
};

/*
 * Parses the settings (each may be NULL: that check is off; resolver NULL
 * is the system's) and, when a check is on or open_dns is set, opens the
 * resolver. LIST holds addresses, networks (ADDR/PREFIX, no host bits) and
 * host names, separated by commas or white space. Returns 0, or -1 with a
 * one-line reason in why (a usage error: exit 2). pf must be zeroed.
 */
int preflight_setup(struct preflight *pf, const char *points_to,
    const char *caa_identity, const char *resolver, int open_dns,
    char *why, size_t whylen);

/* 1 when --points-to or --caa-identity is set. */
int preflight_on(const struct preflight *pf);

/*
 * Checks every identifier of doc (already checked by state_check()).
 * Returns 0, or -1 with the failure recorded in doc under step.
 */
int preflight_check(struct preflight *pf, json_t *doc, const char *step);

/*
 * The CAA verdict on records (borrowed) found at owner for name: 1 when
 * they let identity issue (for a wildcard name when wild), else 0 with
 * the records in detail. Pure, for the unit tests.
 */
int preflight_caa_allows(const struct dns_caa_set *s, const char *identity,
    int wild, char *detail, size_t len);

/*
 * Parses one LIST item into pf. 0, or -1 with why. For the unit tests
 * and preflight_setup().
 */
int preflight_add(struct preflight *pf, const char *item, char *why,
    size_t whylen);

/* 1 when address a lies in one of pf's networks. */
int preflight_in_nets(const struct preflight *pf, const struct dns_addr *a);

void preflight_free(struct preflight *pf);

#endif
