/*
 * Unit tests of common/preflight.c's pure parts: --points-to entries and
 * the networks they match, and the CAA verdict (RFC 8659). The DNS side
 * is tested against challtestsrv in tests/67-preflight.bats.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "preflight.h"

#define UNIT_PROG "preflight_test"
#include "unit.h"

/* 1 when addr (text) lies in the networks of list (comma-separated). */
static int
in_list(const char *list, const char *addr)
{
	struct preflight pf;
	struct dns_addr a;
	char why[256], *copy = strdup(list), *item, *save = NULL;
	int in;

	memset(&pf, 0, sizeof(pf));
	memset(&a, 0, sizeof(a));
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save))
		if (preflight_add(&pf, item, why, sizeof(why)) != 0)
			fail(item, "refused: %s", why);
	a.family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(a.family, addr, a.a) != 1)
		fail(addr, "bad fixture");
	in = preflight_in_nets(&pf, &a);
	preflight_free(&pf);
	free(copy);
	return in;
}

static void
test_entries(void)
{
	static const char *const good[] = { "203.0.113.0/24", "192.0.2.1",
	    "0.0.0.0/0", "2001:db8::/32", "::1", "edge.example.net",
	    "Edge.Example.NET." };
	static const char *const bad[] = { "203.0.113.0/33", "203.0.113.5/24",
	    "300.1.2.3", "10.0.0", "2001:db8::/129", "2001:db8::1/32",
	    "10.0.0.0/", "10.0.0.0/x", "*.edge.example.net", "a..b", "-a.b" };
	struct preflight pf;
	char why[256];
	size_t i;

	memset(&pf, 0, sizeof(pf));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (preflight_add(&pf, good[i], why, sizeof(why)) != 0)
			fail(good[i], "refused: %s", why);
	if (pf.nhosts != 2 || strcmp(pf.hosts[1], "edge.example.net") != 0)
		fail("hosts", "%zu, normalised \"%s\"", pf.nhosts,
		    pf.nhosts > 1 ? pf.hosts[1] : "");
	want_ll("networks", (long long)pf.nnets, 5);
	preflight_free(&pf);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&pf, 0, sizeof(pf));
		why[0] = '\0';
		if (preflight_add(&pf, bad[i], why, sizeof(why)) == 0)
			fail(bad[i], "accepted");
		else if (strncmp(why, "--points-to: ", 13) != 0 ||
		    strstr(why, bad[i]) == NULL)
			fail(bad[i], "reason \"%s\"", why);
		preflight_free(&pf);
	}
	memset(&pf, 0, sizeof(pf));
	if (preflight_setup(&pf, " , ", NULL, NULL, 0, why,
	    sizeof(why)) == 0 || strcmp(why, "--points-to: an empty list") != 0)
		fail("empty list", "reason \"%s\"", why);
	preflight_free(&pf);
}

static void
test_nets(void)
{
	want_ll("in /24", in_list("203.0.113.0/24", "203.0.113.255"), 1);
	want_ll("out of /24", in_list("203.0.113.0/24", "203.0.114.0"), 0);
	want_ll("one address", in_list("192.0.2.1", "192.0.2.1"), 1);
	want_ll("another address", in_list("192.0.2.1", "192.0.2.2"), 0);
	want_ll("/0", in_list("0.0.0.0/0", "198.51.100.7"), 1);
	want_ll("odd prefix in", in_list("10.0.0.0/9", "10.127.255.255"), 1);
	want_ll("odd prefix out", in_list("10.0.0.0/9", "10.128.0.0"), 0);
	want_ll("v6 in", in_list("2001:db8::/32", "2001:db8:ffff::1"), 1);
	want_ll("v6 out", in_list("2001:db8::/32", "2001:db9::1"), 0);
	want_ll("v4 is not v6", in_list("::/0", "127.0.0.1"), 0);
	want_ll("second entry", in_list("10.0.0.0/8,127.0.0.0/8",
	    "127.0.0.1"), 1);
}

/* The verdict on records "FLAGS TAG VALUE|..." for identity. */
static int
caa(const char *records, int wild, char *detail, size_t len)
{
	struct dns_caa_set s;
	char *copy = strdup(records), *r, *save = NULL;
	int ok;

	memset(&s, 0, sizeof(s));
	for (r = strtok_r(copy, "|", &save); r != NULL && s.n < DNS_CAA_MAX;
	    r = strtok_r(NULL, "|", &save)) {
		struct dns_caa *c = &s.rr[s.n++];
		int n = 0;
		if (sscanf(r, "%d %31s %n", &c->flags, c->tag, &n) < 2)
			fail(r, "bad fixture");
		snprintf(c->value, sizeof(c->value), "%s", r + n);
	}
	ok = preflight_caa_allows(&s, "letsencrypt.org", wild, detail, len);
	free(copy);
	return ok;
}

static void
test_caa(void)
{
	static const struct {
		const char	*records;
		int		 wild, ok;
	} cases[] = {
		{ "0 issue letsencrypt.org", 0, 1 },
		{ "0 issue LetsEncrypt.ORG; accounturi=x", 0, 1 },
		{ "0 issue other.example", 0, 0 },
		{ "0 issue other.example|0 issue letsencrypt.org", 0, 1 },
		{ "0 issue ;", 0, 0 },
		{ "0 iodef mailto:a@example.com", 0, 1 },
		{ "0 ISSUE other.example", 0, 0 },
		/* issuewild decides for wildcards only, issue when it is absent */
		{ "0 issue letsencrypt.org|0 issuewild ;", 1, 0 },
		{ "0 issue letsencrypt.org|0 issuewild ;", 0, 1 },
		{ "0 issue other.example", 1, 0 },
		{ "0 issue other.example|0 issuewild letsencrypt.org", 1, 1 },
		/* an unknown property: ignored unless critical */
		{ "0 tbs x|0 issue letsencrypt.org", 0, 1 },
		{ "128 tbs x|0 issue letsencrypt.org", 0, 0 },
		{ "128 issue letsencrypt.org", 0, 1 },
	};
	char detail[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (caa(cases[i].records, cases[i].wild, detail,
		    sizeof(detail)) != cases[i].ok)
			fail(cases[i].records, "wild %d: want %d", cases[i].wild,
			    cases[i].ok);
	(void)caa("0 issue other.example|128 tbs x", 0, detail,
	    sizeof(detail));
	if (strcmp(detail, "0 issue \"other.example\", 128 tbs \"x\"") != 0)
		fail("detail", "\"%s\"", detail);
}

int
main(void)
{
	test_entries();
	test_nets();
	test_caa();
	return unit_status();
}
