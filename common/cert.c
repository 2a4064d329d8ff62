/*
 * cert: certificate signing requests and checks of issued certificates
 * (see cert.h). Everything read from a certificate is server data: names
 * put into reasons and info are escaped so they stay printable, valid
 * UTF-8 that can go into a JSON document as it is.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "diag.h"
#include "cert.h"
#include "ident.h"
#include "jws.h"

#define CERT_BEGIN	"-----BEGIN CERTIFICATE-----"
#define CERT_END	"-----END CERTIFICATE-----"
/* A CN is an ub-common-name (64) string; longer first names go SAN-only. */
#define CERT_CN_MAX	64

/* 0 when names is a non-empty array of non-empty strings, else -1. */
static int
cert_names_ok(const json_t *names, char *why, size_t whylen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(names) || json_array_size(names) == 0) {
		diag_why(why, whylen, "no names for the certificate");
		return -1;
	}
	json_array_foreach(names, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0) {
			diag_why(why, whylen,
			    "name %zu is not a non-empty string", i + 1);
			return -1;
		}
	}
	return 0;
}

/*
 * Adds subject CN and the SAN extension to req: a dNSName per DNS name, an
 * iPAddress per address (RFC 8738 section 4). The CN is the first DNS
 * name when it fits: CAs take it as a name to validate, and an address
 * there is not what RFC 5280 means by a name.
 */
static int
cert_csr_names(X509_REQ *req, const json_t *names)
{
	X509_NAME *subj = NULL;
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_STRING *str = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	const char *cn = NULL, *name;
	unsigned char ip[16];
	size_t i, iplen;
	json_t *v;
	int rc = -1;

	if ((subj = X509_NAME_new()) == NULL)
		goto out;
	json_array_foreach(names, i, v)
		if (cn == NULL && ident_ip_family(json_string_value(v)) == 0)
			cn = json_string_value(v);
	if (cn != NULL && strlen(cn) <= CERT_CN_MAX &&
	    X509_NAME_add_entry_by_NID(subj, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1)
		goto out;
	if (X509_REQ_set_subject_name(req, subj) != 1)
		goto out;
	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		goto out;
	json_array_foreach(names, i, v) {
		name = json_string_value(v);
		iplen = ident_ip_bytes(name, ip);
		if ((gn = GENERAL_NAME_new()) == NULL ||
		    (str = iplen > 0 ? ASN1_OCTET_STRING_new() :
		    ASN1_IA5STRING_new()) == NULL ||
		    (iplen > 0 ? ASN1_STRING_set(str, ip, (int)iplen) :
		    ASN1_STRING_set(str, name, (int)strlen(name))) != 1)
			goto out;
		GENERAL_NAME_set0_value(gn, iplen > 0 ? GEN_IPADD : GEN_DNS,
		    str);
		str = NULL; /* now owned by gn */
		if (sk_GENERAL_NAME_push(gens, gn) == 0)
			goto out;
		gn = NULL; /* now owned by gens */
	}
	if (X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, 0) != 1 ||
	    X509_REQ_add_extensions(req, exts) != 1)
		goto out;
	rc = 0;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ASN1_STRING_free(str);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subj);
	return rc;
}

char *
cert_csr(EVP_PKEY *k, const json_t *names, char *why, size_t whylen)
{
	X509_REQ *req = NULL;
	unsigned char *der = NULL;
	char *res = NULL;
	int len;

	if (k == NULL) {
		diag_why(why, whylen, "no key for the certificate request");
		goto out;
	}
	if (cert_names_ok(names, why, whylen) == -1)
		goto out;
	if ((req = X509_REQ_new()) == NULL ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    cert_csr_names(req, names) == -1 ||
	    X509_REQ_set_pubkey(req, k) != 1) {
		diag_why(why, whylen, "cannot build the certificate request");
		goto out;
	}
	if (X509_REQ_sign(req, k, EVP_sha256()) <= 0) {
		diag_why(why, whylen, "cannot sign the certificate request");
		goto out;
	}
	if ((len = i2d_X509_REQ(req, &der)) <= 0) {
		diag_why(why, whylen, "cannot encode the certificate request");
		goto out;
	}
	if ((res = jws_b64url(der, (size_t)len)) == NULL)
		diag_why(why, whylen, "out of memory");
out:
	OPENSSL_free(der);
	X509_REQ_free(req);
	return res;
}

/* First occurrence of needle in [p, end), or NULL; the chain may hold NULs. */
static const char *
cert_find(const char *p, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; (size_t)(end - p) >= n; p++)
		if (memcmp(p, needle, n) == 0)
			return p;
	return NULL;
}

/* Decodes the one PEM certificate block in [p, p+len); new X509 or NULL. */
static X509 *
cert_pem_one(const char *p, size_t len)
{
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	const unsigned char *q;
	long dlen = 0;
	X509 *x = NULL, *res = NULL;

	if (len > INT_MAX || (bio = BIO_new_mem_buf(p, (int)len)) == NULL)
		goto out;
	if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1)
		goto out;
	/* Encrypted-PEM headers have no place on a certificate. */
	if (strcmp(name, "CERTIFICATE") != 0 || header[0] != '\0')
		goto out;
	q = data;
	if ((x = d2i_X509(NULL, &q, dlen)) == NULL)
		goto out;
	if (q != data + dlen)
		goto out; /* DER followed by stray bytes */
	res = x;
	x = NULL;
out:
	X509_free(x);
	OPENSSL_free(data);
	OPENSSL_free(header);
	OPENSSL_free(name);
	BIO_free(bio);
	return res;
}

/*
 * Parses the whole chain into a new stack (caller frees with
 * sk_X509_pop_free). Only certificate blocks separated by white space
 * are accepted: PEM_read_bio_X509 alone would skip stray text and other
 * block types, and a chain we store must be exactly what we checked.
 */
static STACK_OF(X509) *
cert_chain(const char *chain, size_t len, char *why, size_t whylen)
{
	STACK_OF(X509) *certs = NULL, *res = NULL;
	const char *p = chain, *end = chain + len, *e;
	X509 *x = NULL;
	int n = 0;

	if (chain == NULL || (certs = sk_X509_new_null()) == NULL) {
		diag_why(why, whylen, "no certificate in the chain");
		goto out;
	}
	for (;;) {
		while (p < end && *p != '\0' && strchr(" \t\r\n", *p) != NULL)
			p++;
		if (p == end)
			break;
		n++;
		if ((size_t)(end - p) < strlen(CERT_BEGIN) ||
		    memcmp(p, CERT_BEGIN, strlen(CERT_BEGIN)) != 0) {
			if (n == 1)
				diag_why(why, whylen, "chain does not start "
				    "with a certificate");
			else
				diag_why(why, whylen, "unexpected data after "
				    "certificate %d of the chain", n - 1);
			goto out;
		}
		if ((e = cert_find(p, end, CERT_END)) == NULL ||
		    (x = cert_pem_one(p, (size_t)(e - p) +
		    strlen(CERT_END))) == NULL) {
			diag_why(why, whylen, "certificate %d of the chain "
			    "does not parse", n);
			goto out;
		}
		if (sk_X509_push(certs, x) == 0) {
			diag_why(why, whylen, "out of memory");
			goto out;
		}
		x = NULL; /* now owned by certs */
		p = e + strlen(CERT_END);
	}
	if (n == 0) {
		diag_why(why, whylen, "no certificate in the chain");
		goto out;
	}
	res = certs;
	certs = NULL;
out:
	X509_free(x);
	sk_X509_pop_free(certs, X509_free);
	return res;
}

/*
 * Copies what b holds (UTF-8, C0 controls and DEL already escaped by
 * OpenSSL) into buf as a C string. C1 controls (U+0080..U+009F, which
 * terminals may obey: U+009B is CSI) are escaped here the way OpenSSL
 * writes escaped bytes, "\C2\9B". The result is cut, if need be, before
 * a whole character or escape, so it stays valid UTF-8.
 */
static int
cert_bio_str(BIO *b, char *buf, size_t buflen)
{
	char *data = NULL;
	const unsigned char *p;
	long n;
	size_t len, i, o = 0, clen;

	if (buflen == 0 || (n = BIO_get_mem_data(b, &data)) < 0)
		return -1;
	p = (const unsigned char *)data;
	len = (size_t)n;
	for (i = 0; i < len; i += clen) {
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f) {
			clen = 2; /* 0xc2 0x80..0x9f */
			if (o + 6 >= buflen)
				break;
			(void)snprintf(buf + o, buflen - o, "\\C2\\%02X",
			    p[i + 1]);
			o += 6;
			continue;
		}
		for (clen = 1; i + clen < len && (p[i + clen] & 0xc0) == 0x80;
		    clen++)
			continue;
		if (o + clen >= buflen)
			break;
		memcpy(buf + o, p + i, clen);
		o += clen;
	}
	buf[o] = '\0';
	return 0;
}

/*
 * The issuer's commonName or, without one, the one-line DN, as UTF-8
 * with control characters escaped (\XX), into buf.
 */
static int
cert_issuer_name(X509 *x, char *buf, size_t buflen)
{
	const X509_NAME *dn = X509_get_issuer_name(x);
	const unsigned long sflags = ASN1_STRFLGS_ESC_CTRL |
	    ASN1_STRFLGS_UTF8_CONVERT;
	BIO *b = NULL;
	int i, rc = -1;

	if (dn == NULL || (b = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	i = X509_NAME_get_index_by_NID(dn, NID_commonName, -1);
	if (i >= 0) {
		if (ASN1_STRING_print_ex(b, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(dn, i)), sflags) < 0)
			goto out;
	} else if (X509_NAME_print_ex(b, dn, 0, (XN_FLAG_ONELINE &
	    ~ASN1_STRFLGS_ESC_MSB) | ASN1_STRFLGS_UTF8_CONVERT) < 0)
		goto out;
	rc = cert_bio_str(b, buf, buflen);
out:
	BIO_free(b);
	return rc;
}

/* RFC 3339 UTC of t into buf (at least 21 bytes). */
static int
cert_time(const ASN1_TIME *t, char *buf, size_t buflen)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	if (strftime(buf, buflen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}

/*
 * Serial as lower-case hex the way `openssl x509 -serial` prints it
 * (whole octets, so an even number of digits; "-" when negative).
 */
static int
cert_serial(X509 *x, char *buf, size_t buflen)
{
	BIGNUM *bn = NULL;
	char *hex = NULL, *p;
	int rc = -1;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) ==
	    NULL || (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	if (strlen(hex) >= buflen)
		goto out;
	for (p = hex; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	memcpy(buf, hex, strlen(hex) + 1);
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

/*
 * The ARI CertID (RFC 9773 section 4.1): the key identifier of the
 * Authority Key Identifier and the serial's DER content octets (with the
 * leading zero a positive serial may need), each base64url, joined by ".".
 */
static int
cert_ari_id(X509 *x, char *buf, size_t buflen)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	unsigned char *der = NULL;
	const unsigned char *p;
	char *a = NULL, *b = NULL;
	long len;
	int n, tag, cls, rc = -1;

	buf[0] = '\0';
	if (aki == NULL)
		return 0;
	if ((n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der)) <= 0)
		return -1;
	p = der;
	/* Skip tag and length: what is left is the content octets. */
	if (ASN1_get_object(&p, &len, &tag, &cls, n) & 0x80 || len <= 0)
		goto out;
	if ((a = jws_b64url(ASN1_STRING_get0_data(aki),
	    (size_t)ASN1_STRING_length(aki))) == NULL ||
	    (b = jws_b64url(p, (size_t)len)) == NULL)
		goto out;
	if (snprintf(buf, buflen, "%s.%s", a, b) < (int)buflen)
		rc = 0;
out:
	OPENSSL_free(der);
	free(a);
	free(b);
	return rc;
}

static int
cert_fill(X509 *x, struct cert_info *info, char *why, size_t whylen)
{
	memset(info, 0, sizeof(*info));
	if (cert_time(X509_get0_notBefore(x), info->not_before,
	    sizeof(info->not_before)) == -1 ||
	    cert_time(X509_get0_notAfter(x), info->not_after,
	    sizeof(info->not_after)) == -1) {
		diag_why(why, whylen, "certificate validity does not parse");
		return -1;
	}
	if (cert_serial(x, info->serial, sizeof(info->serial)) == -1) {
		diag_why(why, whylen, "certificate serial number does not "
		    "parse");
		return -1;
	}
	if (cert_issuer_name(x, info->issuer, sizeof(info->issuer)) == -1) {
		diag_why(why, whylen, "certificate issuer does not parse");
		return -1;
	}
	if (cert_ari_id(x, info->ari_id, sizeof(info->ari_id)) == -1) {
		diag_why(why, whylen, "certificate serial does not encode");
		return -1;
	}
	return 0;
}

/* ASCII case-insensitive equality of s[0..len) and the C string c. */
static int
cert_name_eq(const unsigned char *s, size_t len, const char *c)
{
	size_t i;
	int a, b;

	if (strlen(c) != len)
		return 0;
	for (i = 0; i < len; i++) {
		a = s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i];
		b = c[i] >= 'A' && c[i] <= 'Z' ? c[i] - 'A' + 'a' : c[i];
		if (a != b)
			return 0;
	}
	return 1;
}

/* s[0..len) into buf with bytes outside printable ASCII as \xNN. */
static void
cert_escape(const unsigned char *s, size_t len, char *buf, size_t buflen)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < buflen; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f)
			buf[o++] = (char)s[i];
		else
			o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x",
			    s[i]);
	}
	buf[o] = '\0';
}

/*
 * The i-th SAN as text in *s, *len when it is a DNS name (borrowed from
 * gens) or an IP address (canonical text in ip, ident.h); 0 for other
 * kinds, which are not names.
 */
static int
cert_gens_name(const GENERAL_NAMES *gens, int i, const unsigned char **s,
    size_t *len, char *ip, size_t iplen)
{
	const ASN1_STRING *v;
	int type = -1;

	v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i), &type);
	if (type == GEN_DNS) {
		*s = ASN1_STRING_get0_data(v);
		*len = (size_t)ASN1_STRING_length(v);
		return 1;
	}
	if (type != GEN_IPADD)
		return 0;
	/* An address of another length can never match: shown as hex. */
	if (ident_ip_text(ASN1_STRING_get0_data(v),
	    (size_t)ASN1_STRING_length(v), ip, iplen) == NULL)
		snprintf(ip, iplen, "(iPAddress of %d octets)",
		    ASN1_STRING_length(v));
	*s = (const unsigned char *)ip;
	*len = strlen(ip);
	return 1;
}

/* 1 when name is one of the DNS or IP SANs in gens (NULL: none). */
static int
cert_gens_has(const GENERAL_NAMES *gens, const char *name)
{
	const unsigned char *s;
	char ip[64];
	size_t len;
	int i;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		if (cert_gens_name(gens, i, &s, &len, ip, sizeof(ip)) &&
		    cert_name_eq(s, len, name))
			return 1;
	return 0;
}

/* 1 when the name s[0..len) is one of names. */
static int
cert_names_has(const json_t *names, const unsigned char *s, size_t len)
{
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v)
		if (cert_name_eq(s, len, json_string_value(v)))
			return 1;
	return 0;
}

/* The DNS and IP SANs of x as a set must equal names, case-insensitively. */
static int
cert_match_names(X509 *x, const json_t *names, char *why, size_t whylen)
{
	GENERAL_NAMES *gens = NULL;
	const unsigned char *san;
	const char *name;
	char esc[4 * 253 + 1], ip[64];
	size_t i, len;
	json_t *v;
	int crit = 0, j, rc = -1;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1) {
		diag_why(why, whylen, "certificate subjectAltName does not "
		    "parse");
		goto out;
	}
	json_array_foreach(names, i, v) {
		name = json_string_value(v);
		if (!cert_gens_has(gens, name)) {
			cert_escape((const unsigned char *)name, strlen(name),
			    esc, sizeof(esc));
			diag_why(why, whylen, "certificate names differ from "
			    "the order: missing %s", esc);
			goto out;
		}
	}
	for (j = 0; j < sk_GENERAL_NAME_num(gens); j++) {
		if (!cert_gens_name(gens, j, &san, &len, ip, sizeof(ip)))
			continue;
		if (!cert_names_has(names, san, len)) {
			cert_escape(san, len, esc, sizeof(esc));
			diag_why(why, whylen, "certificate names differ from "
			    "the order: extra %s", esc);
			goto out;
		}
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

int
cert_check(const char *chain, size_t len, EVP_PKEY *k,
    const json_t *names, struct cert_info *info, char *why, size_t whylen)
{
	STACK_OF(X509) *certs = NULL;
	X509 *x;
	EVP_PKEY *pub;
	int rc = -1;

	if (names != NULL && cert_names_ok(names, why, whylen) == -1)
		goto out;
	if ((certs = cert_chain(chain, len, why, whylen)) == NULL)
		goto out;
	x = sk_X509_value(certs, 0);
	if (k != NULL && ((pub = X509_get0_pubkey(x)) == NULL ||
	    EVP_PKEY_eq(pub, k) != 1)) {
		diag_why(why, whylen, "certificate key does not match the "
		    "certificate key file");
		goto out;
	}
	if (names != NULL && cert_match_names(x, names, why, whylen) == -1)
		goto out;
	if (info != NULL && cert_fill(x, info, why, whylen) == -1)
		goto out;
	rc = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int
cert_top_issuer(const char *chain, size_t len, char *buf, size_t buflen)
{
	STACK_OF(X509) *certs = NULL;
	int rc = -1;

	if ((certs = cert_chain(chain, len, NULL, 0)) == NULL)
		goto out;
	if (cert_issuer_name(sk_X509_value(certs, sk_X509_num(certs) - 1),
	    buf, buflen) == -1)
		goto out;
	rc = 0;
out:
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

char *
cert_leaf_b64url(const char *chain, size_t len, char *why, size_t whylen)
{
	STACK_OF(X509) *certs;
	unsigned char *der = NULL;
	char *res = NULL;
	int n;

	if ((certs = cert_chain(chain, len, why, whylen)) == NULL)
		return NULL;
	if ((n = i2d_X509(sk_X509_value(certs, 0), &der)) <= 0 ||
	    (res = jws_b64url(der, (size_t)n)) == NULL)
		diag_why(why, whylen, "cannot encode the certificate");
	OPENSSL_free(der);
	sk_X509_pop_free(certs, X509_free);
	return res;
}
