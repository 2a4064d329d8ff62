/*
 * ident: DNS identifiers as ACME wants them (see ident.h).
 *
 * The checks run in an order chosen for the reason they give: characters
 * that no host name may hold are named first, then the shape of the name
 * (empty labels, wildcard placement), then lengths, and libidn2 only judges
 * what is left, so the common mistakes get a plain reason rather than a
 * libidn2 message.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "diag.h"
#include "ident.h"

#define IDENT_LABEL_MAX	63
#define IDENT_NAME_MAX	253

/* Length of the UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t
ident_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * Refuses bytes that can never be part of a host name, in whatever
 * script, and input that is not UTF-8. Sets *ascii to 1 when every byte
 * is ASCII, so the caller knows its own length checks are exact.
 */
static int
ident_screen(const char *name, int *ascii, char *why, size_t whylen)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t n = strlen(name), len;
	int c;

	*ascii = 1;
	while (n > 0) {
		c = *p;
		if (c >= 0x80) {
			if ((len = ident_utf8_len(p, n)) == 0) {
				diag_why(why, whylen, "name is not valid utf-8");
				return -1;
			}
			*ascii = 0;
			p += len;
			n -= len;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*')) {
			if (c < 0x20 || c == 0x7f)
				diag_why(why, whylen,
				    "invalid character '\\x%02x' in name", c);
			else
				diag_why(why, whylen,
				    "invalid character '%c' in name", c);
			return -1;
		}
		p++;
		n--;
	}
	return 0;
}

/*
 * Strict LDH check of an A-label name: labels of 1..63 octets of
 * [a-z0-9-], no hyphen at either end, the whole at most max octets.
 */
static int
ident_ldh(const char *s, size_t max, char *why, size_t whylen)
{
	const char *label = s, *p;
	size_t len;

	if (strlen(s) > max) {
		diag_why(why, whylen, "name longer than 253 octets");
		return -1;
	}
	for (;;) {
		len = strcspn(label, ".");
		if (len == 0) {
			diag_why(why, whylen, "empty label");
			return -1;
		}
		if (len > IDENT_LABEL_MAX) {
			diag_why(why, whylen, "label longer than 63 octets");
			return -1;
		}
		if (label[0] == '-' || label[len - 1] == '-') {
			diag_why(why, whylen,
			    "label starts or ends with '-'");
			return -1;
		}
		for (p = label; p < label + len; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-')) {
				diag_why(why, whylen,
				    "invalid character '%c' in name", *p);
				return -1;
			}
		if (label[len] == '\0')
			break;
		label += len + 1;
	}
	/* RFC 3696 section 2: keeps dotted IPv4 addresses out. */
	if (strspn(label, "0123456789") == strlen(label)) {
		diag_why(why, whylen, "top-level label is all digits");
		return -1;
	}
	return 0;
}

/* Shape checks that hold before IDNA: no empty label, '*' only as "*.". */
static int
ident_shape(const char *s, char *why, size_t whylen)
{
	const char *rest = s;

	if (*s == '\0') {
		diag_why(why, whylen, "empty name");
		return -1;
	}
	if (strncmp(s, "*.", 2) == 0)
		rest = s + 2;
	if (strchr(rest, '*') != NULL) {
		diag_why(why, whylen,
		    "wildcard allowed only as the whole first label");
		return -1;
	}
	if (*rest == '\0' || *rest == '.' || strstr(rest, "..") != NULL ||
	    rest[strlen(rest) - 1] == '.') {
		diag_why(why, whylen, "empty label");
		return -1;
	}
	return 0;
}

/*
 * RFC 5952 section 4 text of an IPv6 address: lower-case hex without
 * leading zeros, the longest run of two or more zero fields (the first
 * of equal runs) as "::", never the dotted form. glibc's inet_ntop()
 * writes "::1.2.3.4" for some addresses, which other programs (and CAs)
 * do not; so the text is made here.
 */
static void
ident_ip6_text(const unsigned char *a, char *buf, size_t len)
{
	unsigned w[8];
	int i, j, run = -1, runlen = 0;
	size_t o = 0;

	for (i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8; i++) {
		if (w[i] != 0)
			continue;
		for (j = i; j < 8 && w[j] == 0; j++)
			;
		if (j - i >= 2 && j - i > runlen) {
			run = i;
			runlen = j - i;
		}
		i = j;
	}
	buf[0] = '\0';
	for (i = 0; i < 8 && o < len; i++) {
		if (i == run) {
			o += (size_t)snprintf(buf + o, len - o, "::");
			i += runlen - 1;
			continue;
		}
		o += (size_t)snprintf(buf + o, len - o, "%s%x",
		    i > 0 && i != run + runlen ? ":" : "", w[i]);
	}
}

/*
 * 1 when name has the shape of an address: a colon, or digits and dots
 * ending in a digit ("1.2.3.4." stays a DNS name, refused as one).
 */
static int
ident_ip_shape(const char *name)
{
	size_t n = strlen(name);

	return strchr(name, ':') != NULL || (n > 0 &&
	    strspn(name, "0123456789.") == n && name[n - 1] != '.');
}

/*
 * The canonical text of an address-shaped name, or NULL with why. Only
 * the strict forms inet_pton() reads are addresses.
 */
static char *
ident_ip_parse(const char *name, char *why, size_t whylen)
{
	unsigned char a[16];
	char buf[INET6_ADDRSTRLEN], *res;

	if (strchr(name, ':') == NULL) {
		if (inet_pton(AF_INET, name, a) != 1) {
			diag_why(why, whylen, "not an IPv4 address (four "
			    "decimal parts, no leading zeros)");
			return NULL;
		}
		if (inet_ntop(AF_INET, a, buf, sizeof(buf)) == NULL) {
			diag_why(why, whylen, "cannot write the address");
			return NULL;
		}
	} else {
		if (strchr(name, '%') != NULL) {
			diag_why(why, whylen, "IPv6 address with a zone index");
			return NULL;
		}
		if (inet_pton(AF_INET6, name, a) != 1) {
			diag_why(why, whylen, "not an IPv6 address");
			return NULL;
		}
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a)) {
			diag_why(why, whylen, "IPv4-mapped IPv6 address: "
			    "write the IPv4 address");
			return NULL;
		}
		ident_ip6_text(a, buf, sizeof(buf));
	}
	if ((res = strdup(buf)) == NULL)
		diag_why(why, whylen, "out of memory");
	return res;
}

char *
ident_ip_text(const unsigned char *a, size_t len, char *buf, size_t buflen)
{
	if (buflen < INET6_ADDRSTRLEN)
		return NULL;
	if (len == 4)
		return inet_ntop(AF_INET, a, buf, (socklen_t)buflen) != NULL ?
		    buf : NULL;
	if (len != 16)
		return NULL;
	ident_ip6_text(a, buf, buflen);
	return buf;
}

char *
ident_ip(const char *name)
{
	char why[8];

	return name != NULL && *name != '\0' && ident_ip_shape(name) ?
	    ident_ip_parse(name, why, sizeof(why)) : NULL;
}

size_t
ident_ip_bytes(const char *name, unsigned char *buf)
{
	if (name == NULL)
		return 0;
	if (inet_pton(AF_INET, name, buf) == 1)
		return 4;
	if (strchr(name, '%') == NULL && inet_pton(AF_INET6, name, buf) == 1)
		return 16;
	return 0;
}

int
ident_ip_family(const char *name)
{
	unsigned char a[16];

	switch (ident_ip_bytes(name, a)) {
	case 4:
		return AF_INET;
	case 16:
		return AF_INET6;
	}
	return 0;
}

/* Lower-cased copy without one trailing dot; NULL on allocation failure. */
static char *
ident_fold(const char *name)
{
	char *s, *p;
	size_t len;

	if ((s = strdup(name)) == NULL)
		return NULL;
	for (p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		s[len - 1] = '\0';
	return s;
}

/*
 * 1 when a label has hyphens in its third and fourth positions: an A-label
 * ("xn--") or a reserved one, which only libidn2 can judge.
 */
static int
ident_hyphens34(const char *name)
{
	const char *l = name;

	for (;;) {
		if (l[0] != '\0' && l[1] != '\0' && l[2] == '-' && l[3] == '-')
			return 1;
		if ((l = strchr(l, '.')) == NULL)
			return 0;
		l++;
	}
}

char *
ident_normalize(const char *name, char *why, size_t whylen)
{
	char *folded = NULL, *alabel = NULL, *res = NULL;
	const char *rest;
	size_t wild, max;
	int ascii, irc;

	if (name == NULL || *name == '\0') {
		diag_why(why, whylen, "empty name");
		goto out;
	}
	if (ident_ip_shape(name)) {
		res = ident_ip_parse(name, why, whylen);
		goto out;
	}
	if (ident_screen(name, &ascii, why, whylen) == -1)
		goto out;
	if ((folded = ident_fold(name)) == NULL) {
		diag_why(why, whylen, "out of memory");
		goto out;
	}
	if (ident_shape(folded, why, whylen) == -1)
		goto out;
	wild = strncmp(folded, "*.", 2) == 0 ? 2 : 0;
	rest = folded + wild;
	if (wild && ident_ip_shape(rest) && (res = ident_ip(rest)) != NULL) {
		free(res);
		res = NULL;
		diag_why(why, whylen, "a wildcard cannot cover an IP address");
		goto out;
	}
	max = IDENT_NAME_MAX - wild;
	/* Our own reasons first while the octet counts are still exact. */
	if (ascii && ident_ldh(rest, max, why, whylen) == -1)
		goto out;
	/*
	 * An LDH name libidn2 would return unchanged skips it: stores of
	 * 100,000 names are listed by name, and IDNA costs most of that.
	 */
	if (ascii && !ident_hyphens34(rest)) {
		if ((res = strdup(folded)) == NULL)
			diag_why(why, whylen, "out of memory");
		goto out;
	}
	irc = idn2_to_ascii_8z(rest, &alabel,
	    IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (irc != IDN2_OK) {
		diag_why(why, whylen, "not a valid internationalised name: %s",
		    idn2_strerror(irc));
		goto out;
	}
	/* IDNA mapping may create dots or lengths the input did not have. */
	if (ident_ldh(alabel, max, why, whylen) == -1)
		goto out;
	if ((res = malloc(wild + strlen(alabel) + 1)) == NULL) {
		diag_why(why, whylen, "out of memory");
		goto out;
	}
	memcpy(res, folded, wild);
	strcpy(res + wild, alabel);
out:
	idn2_free(alabel);
	free(folded);
	return res;
}

int
ident_is_wildcard(const char *name)
{
	return name != NULL && strncmp(name, "*.", 2) == 0;
}
