/*
 * Unit tests of common/ident.c. Silent on success; on the first failure
 * prints what was expected and exits 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"

static int failures;

static void
fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ident_test: \"");
	for (; name != NULL && *name != '\0'; name++)
		if ((unsigned char)*name < 0x20)
			fprintf(stderr, "\\x%02x", (unsigned char)*name);
		else
			fputc(*name, stderr);
	fprintf(stderr, "\": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

/* name must normalise to want. */
static void
accept(const char *name, const char *want)
{
	char why[256] = "", *got;

	if ((got = ident_normalize(name, why, sizeof(why))) == NULL) {
		fail(name, "refused (%s), want \"%s\"", why, want);
		return;
	}
	if (strcmp(got, want) != 0)
		fail(name, "got \"%s\", want \"%s\"", got, want);
	free(got);
}

/* name must be refused with exactly the reason want. */
static void
refuse(const char *name, const char *want)
{
	char why[256] = "", *got;

	if ((got = ident_normalize(name, why, sizeof(why))) != NULL) {
		fail(name, "accepted as \"%s\", want refusal \"%s\"", got,
		    want);
		free(got);
		return;
	}
	if (strcmp(why, want) != 0)
		fail(name, "reason \"%s\", want \"%s\"", why, want);
}

static void
test_accept(void)
{
	accept("Example.COM.", "example.com");
	accept("example.com", "example.com");
	accept("b\xc3\xbc" "cher.example", "xn--bcher-kva.example");
	accept("B\xc3\x9c" "CHER.example", "xn--bcher-kva.example");
	/* Nontransitional: sharp s stays, it is not mapped to "ss". */
	accept("fa\xc3\x9f.de", "xn--fa-hia.de");
	accept("xn--bcher-kva.example", "xn--bcher-kva.example");
	accept("abc--d.Example", "abc--d.example");
	accept("a-b.c-d.example.", "a-b.c-d.example");
	accept("*.example.com", "*.example.com");
	accept("*.Example.com.", "*.example.com");
	accept("*.b\xc3\xbc" "cher.example", "*.xn--bcher-kva.example");
	accept("a-b.example", "a-b.example");
	accept("1.example", "1.example");
	/* Single-label names are left for the CA to judge. */
	accept("localhost", "localhost");
	/* Ideographic full stop is a label separator under UTS #46. */
	accept("a\xe3\x80\x82" "example", "a.example");
}

static void
test_refuse_shape(void)
{
	refuse("", "empty name");
	refuse(NULL, "empty name");
	refuse(".", "empty name");
	refuse("a..b", "empty label");
	refuse(".a.com", "empty label");
	refuse("a.com..", "empty label");
	refuse("../x", "invalid character '/' in name");
	refuse("exa mple.com", "invalid character ' ' in name");
	refuse("a_b.com", "invalid character '_' in name");
	refuse("a%2e.com", "invalid character '%' in name");
	refuse("a\n.com", "invalid character '\\x0a' in name");
	refuse("a\x7f.com", "invalid character '\\x7f' in name");
	refuse("foo.*.com", "wildcard allowed only as the whole first label");
	refuse("*foo.com", "wildcard allowed only as the whole first label");
	refuse("*", "wildcard allowed only as the whole first label");
	refuse("*.*.com", "wildcard allowed only as the whole first label");
	refuse("*.", "wildcard allowed only as the whole first label");
	refuse("*..com", "empty label");
	refuse("-a.com", "label starts or ends with '-'");
	refuse("a-.com", "label starts or ends with '-'");
	refuse("1.2.3.4.", "top-level label is all digits");
	refuse("a.123", "top-level label is all digits");
}

/* Addresses (RFC 8738): canonical text, strict forms only. */
static void
test_ip(void)
{
	static const struct { const char *in, *out; } ok[] = {
		{ "127.0.0.1", "127.0.0.1" },
		{ "::1", "::1" },
		{ "::", "::" },
		{ "1::", "1::" },
		{ "2001:DB8::1", "2001:db8::1" },
		{ "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
		/* RFC 5952 4.2.2: a single zero field is not compressed. */
		{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
		/* 4.2.3: the longest run, the first of equal ones. */
		{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
		{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
		/* Never the dotted form glibc writes for these. */
		{ "::1.2.3.4", "::102:304" },
		{ "::ffff:0:1.2.3.4", "::ffff:0:102:304" },
	};
	unsigned char b[16];
	size_t i;
	char *s;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		accept(ok[i].in, ok[i].out);
		if ((s = ident_ip(ok[i].in)) == NULL ||
		    strcmp(s, ok[i].out) != 0)
			fail(ok[i].in, "ident_ip gave %s", s ? s : "NULL");
		free(s);
		if (ident_ip_family(ok[i].out) == 0)
			fail(ok[i].out, "not seen as an address");
	}
	refuse("01.2.3.4", "not an IPv4 address (four decimal parts, no "
	    "leading zeros)");
	refuse("1.2.3", "not an IPv4 address (four decimal parts, no "
	    "leading zeros)");
	refuse("256.1.1.1", "not an IPv4 address (four decimal parts, no "
	    "leading zeros)");
	refuse("123", "not an IPv4 address (four decimal parts, no "
	    "leading zeros)");
	refuse("1::2::3", "not an IPv6 address");
	refuse("[::1]", "not an IPv6 address");
	refuse("fe80::1%eth0", "IPv6 address with a zone index");
	refuse("::ffff:1.2.3.4", "IPv4-mapped IPv6 address: write the IPv4"
	    " address");
	refuse("*.1.2.3.4", "a wildcard cannot cover an IP address");
	/* AF_INET and AF_INET6 (sys/socket.h would clash with accept()). */
	if (ident_ip_family("127.0.0.1") == 0 || ident_ip_family("::1") == 0 ||
	    ident_ip_family("127.0.0.1") == ident_ip_family("::1") ||
	    ident_ip_family("example.com") != 0 ||
	    ident_ip_family("*.example.com") != 0)
		fail("127.0.0.1", "wrong families");
	if (ident_ip_bytes("127.0.0.1", b) != 4 || b[0] != 127 || b[3] != 1 ||
	    ident_ip_bytes("::1", b) != 16 || b[15] != 1 || b[0] != 0)
		fail("::1", "wrong bytes");
	if ((s = ident_ip("example.com")) != NULL)
		fail("example.com", "seen as an address");
	free(s);
}

static void
test_refuse_length(void)
{
	char label[80], name[300];
	size_t i;

	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(name, sizeof(name), "%s.com", label);
	refuse(name, "label longer than 63 octets");
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.com", label);
	accept(name, name);

	/* 4 * (62 + 1) + 1 = 253 octets accepted, one more refused. */
	memset(label, 'a', 62);
	label[62] = '\0';
	name[0] = '\0';
	for (i = 0; i < 4; i++) {
		strcat(name, label);
		strcat(name, ".");
	}
	strcat(name, "b");
	accept(name, name);
	strcat(name, "c");
	refuse(name, "name longer than 253 octets");
	name[strlen(name) - 1] = '\0';
	/* The wildcard label counts toward the 253. */
	memcpy(name, "*.", 2);
	accept(name, name);
	strcat(name, "c");
	refuse(name, "name longer than 253 octets");
}

static void
test_refuse_idna(void)
{
	refuse("a\xff.com", "name is not valid utf-8");
	refuse("a\xc3.com", "name is not valid utf-8");
	refuse("a\xc0\xaf.com", "name is not valid utf-8"); /* overlong '/' */
	refuse("a\xed\xa0\x80.com", "name is not valid utf-8"); /* surrogate */
	refuse("a\xf4\x90\x80\x80.com", "name is not valid utf-8"); /* >U+10FFFF */
	refuse("xn--zz.com", "not a valid internationalised name: "
	    "string contains invalid punycode data");
	refuse("ab--cd.com", "not a valid internationalised name: "
	    "string contains forbidden two hyphens pattern");
	/* Any label: ASCII names skip libidn2 only without this pattern. */
	refuse("www.ab--cd.com", "not a valid internationalised name: "
	    "string contains forbidden two hyphens pattern");
	refuse("*.xn--zz.com", "not a valid internationalised name: "
	    "string contains invalid punycode data");
	/* A label that only IDNA mapping makes empty. */
	refuse("a.example\xe3\x80\x82\xe3\x80\x82", "empty label");
}

static void
test_wildcard(void)
{
	if (!ident_is_wildcard("*.example.com"))
		fail("*.example.com", "not seen as a wildcard");
	if (ident_is_wildcard("example.com"))
		fail("example.com", "seen as a wildcard");
	if (ident_is_wildcard("*example.com"))
		fail("*example.com", "seen as a wildcard");
}

int
main(void)
{
	char small[8];
	char *s;

	test_accept();
	test_refuse_shape();
	test_refuse_length();
	test_refuse_idna();
	test_wildcard();
	test_ip();
	/* A short or absent reason buffer truncates, never overflows. */
	if ((s = ident_normalize("a..b", small, sizeof(small))) != NULL ||
	    strcmp(small, "empty l") != 0)
		fail("a..b", "short buffer: %s", small);
	free(s);
	if ((s = ident_normalize("a..b", NULL, 0)) != NULL)
		fail("a..b", "accepted without a reason buffer");
	free(s);
	return failures == 0 ? 0 : 1;
}
