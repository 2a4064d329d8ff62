/*
 * dns: the few DNS questions pre-flight asks (preflight.h), over ldns:
 * a name's addresses with the CNAME chain that leads to them, and a name's
 * CAA records. One resolver per process, the system's (/etc/resolv.conf)
 * or one name server given as ADDR[:PORT]; recursion is left to it.
 *
 * Nothing here prints; what went wrong goes into the result's why.
 */
#ifndef DNS_H
#define DNS_H

#include <stddef.h>

/* CNAMEs followed from a name before giving up. */
#define DNS_CHAIN_MAX  8
/* Addresses and CAA records kept of one answer; the rest is ignored. */
#define DNS_ADDR_MAX   16
#define DNS_CAA_MAX    16
/* Seconds one query waits for an answer, and tries of it. */
#define DNS_TIMEOUT    2
#define DNS_TRIES      2
/*
 * Queries in a row without any answer after which the server counts as
 * down for the rest of the process: later queries fail at once, so a
 * stream of documents does not wait DNS_TIMEOUT * DNS_TRIES for each.
 */
#define DNS_DOWN_AFTER 2

enum dns_status {
	DNS_OK = 0,     /* an answer, perhaps with no record */
	DNS_NXDOMAIN,   /* the name (or a CNAME target) does not exist */
	DNS_FAIL        /* no answer: SERVFAIL, REFUSED, timeout, network */
};

struct dns_addr {
	int		 family;  /* AF_INET or AF_INET6 */
	unsigned char	 a[16];   /* network order; 4 bytes for AF_INET */
};

/* What dns_resolve() found. */
struct dns_result {
	enum dns_status	 status;
	char		 chain[DNS_CHAIN_MAX][256]; /* CNAME targets, in order */
	int		 nchain;
	int		 stopped;  /* stop() accepted chain[nchain - 1] */
	int		 too_long; /* more than DNS_CHAIN_MAX CNAMEs */
	struct dns_addr	 addr[DNS_ADDR_MAX];
	int		 naddr;    /* A and AAAA of the chain's end */
	char		 why[256]; /* DNS_FAIL: "A: SERVFAIL from 127.0.0.1" */
};

struct dns_caa {
	int		 flags;
	char		 tag[32];
	char		 value[256];
};

/* The CAA records of one name (dns_caa()). */
struct dns_caa_set {
	enum dns_status	 status;
	struct dns_caa	 rr[DNS_CAA_MAX];
	int		 n;
	char		 why[256];
};

struct dns;

/*
 * Checks server ("ADDR", "ADDR:PORT", "[ADDR6]:PORT"; NULL: the system's)
 * without opening anything. 0, or -1 with the reason in why.
 */
int dns_server_check(const char *server, char *why, size_t whylen);

/*
 * A resolver asking server (as dns_server_check()), new; NULL with why
 * when server does not parse or the system's configuration does not read.
 * Every query of it fails with DNS_FAIL once DNS_DOWN_AFTER in a row got
 * no answer at all (an answer such as SERVFAIL is one).
 */
struct dns *dns_open(const char *server, char *why, size_t whylen);
void dns_close(struct dns *d);

/* The name server asked, for messages: "127.0.0.1:5353" or "system". */
const char *dns_server(const struct dns *d);

/*
 * The A and AAAA records of name (normalised, no trailing dot), following
 * CNAMEs up to DNS_CHAIN_MAX. stop, when non-NULL, is called with each
 * CNAME target; when it returns 1 the walk ends there (stopped). Fills r;
 * returns r->status.
 */
enum dns_status dns_resolve(struct dns *d, const char *name,
    int (*stop)(const char *target, void *arg), void *arg,
    struct dns_result *r);

/* The CAA records of name (as the resolver follows CNAMEs). */
enum dns_status dns_caa(struct dns *d, const char *name,
    struct dns_caa_set *s);

/* "192.0.2.1" or "2001:db8::1" into buf (>= 46 bytes). */
const char *dns_addr_str(const struct dns_addr *a, char *buf, size_t len);

#endif
