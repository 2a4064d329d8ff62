/*
 * Unit tests of common/cert.c: CSRs decode and verify, issued chains are
 * checked for key, names and shape, and info is filled. Silent on
 * success; on the first failure prints the line and what went wrong and
 * exits 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"

static void
die(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
die(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cert_test: line %d: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define CHECK(c, ...) do { if (!(c)) die(__LINE__, __VA_ARGS__); } while (0)

/* Strict base64url (no padding) decoder; new buffer, length in *outlen. */
static unsigned char *
b64url_decode(const char *s, size_t *outlen)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char *out;
	unsigned long v = 0;
	size_t n = 0, bits = 0;
	const char *p, *c;

	if ((out = malloc(strlen(s) * 3 / 4 + 1)) == NULL)
		return NULL;
	for (p = s; *p != '\0'; p++) {
		if ((c = strchr(tab, *p)) == NULL) {
			free(out);
			return NULL;
		}
		v = (v << 6 | (unsigned long)(c - tab)) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	*outlen = n;
	return out;
}

static json_t *
names_of(const char *a, const char *b)
{
	json_t *j = json_array();

	CHECK(j != NULL, "json_array");
	CHECK(json_array_append_new(j, json_string(a)) == 0, "append");
	if (b != NULL)
		CHECK(json_array_append_new(j, json_string(b)) == 0, "append");
	return j;
}

/* The DNS SANs in gens as one comma-separated string (new). */
static char *
san_list(const GENERAL_NAMES *gens)
{
	char *s = calloc(1, 4096);
	const ASN1_STRING *v;
	const unsigned char *a;
	int i, j, type;

	CHECK(s != NULL, "calloc");
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i),
		    &type);
		CHECK(type == GEN_DNS || type == GEN_IPADD,
		    "SAN %d is neither a DNS name nor an address", i);
		if (i > 0)
			strcat(s, ",");
		if (type == GEN_DNS) {
			strncat(s, (const char *)ASN1_STRING_get0_data(v),
			    (size_t)ASN1_STRING_length(v));
			continue;
		}
		/* An address as "IP:" and its octets in hex. */
		strcat(s, "IP:");
		a = ASN1_STRING_get0_data(v);
		for (j = 0; j < ASN1_STRING_length(v); j++)
			snprintf(s + strlen(s), 3, "%02x", a[j]);
	}
	return s;
}

/* cert_csr(k, names) must decode to a CSR with this CN, SANs and sig. */
static void
check_csr(EVP_PKEY *k, json_t *names, const char *cn, const char *sans,
    int signid)
{
	char why[256] = "", *b64, *got, buf[256];
	unsigned char *der;
	const unsigned char *p;
	size_t len;
	X509_REQ *req;
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES *gens;
	X509_NAME *subj;

	b64 = cert_csr(k, names, why, sizeof(why));
	CHECK(b64 != NULL, "cert_csr: %s", why);
	CHECK(strpbrk(b64, "=+/\n") == NULL, "not base64url: %s", b64);
	CHECK((der = b64url_decode(b64, &len)) != NULL, "bad base64url");
	p = der;
	CHECK((req = d2i_X509_REQ(NULL, &p, (long)len)) != NULL, "d2i");
	CHECK(p == der + len, "trailing bytes after the CSR");
	CHECK(X509_REQ_verify(req, k) == 1, "CSR signature does not verify");
	CHECK(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), k) == 1, "CSR key");
	CHECK(X509_REQ_get_signature_nid(req) == signid, "not SHA-256");
	CHECK(X509_REQ_get_version(req) == X509_REQ_VERSION_1, "version");
	subj = X509_REQ_get_subject_name(req);
	if (cn == NULL)
		CHECK(X509_NAME_entry_count(subj) == 0, "subject not empty");
	else {
		CHECK(X509_NAME_entry_count(subj) == 1, "subject has extras");
		CHECK(X509_NAME_get_text_by_NID(subj, NID_commonName, buf,
		    sizeof(buf)) > 0 && strcmp(buf, cn) == 0, "CN %s", buf);
	}
	CHECK((exts = X509_REQ_get_extensions(req)) != NULL, "no exts");
	CHECK(sk_X509_EXTENSION_num(exts) == 1, "extensions besides SAN");
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	CHECK(gens != NULL, "no SAN extension");
	got = san_list(gens);
	CHECK(strcmp(got, sans) == 0, "SANs \"%s\", want \"%s\"", got, sans);
	free(got);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(der);
	free(b64);
}

static void
test_csr(EVP_PKEY *ec, EVP_PKEY *rsa)
{
	char longname[80], why[256] = "";
	json_t *names, *bad;

	names = names_of("example.com", "www.example.com");
	check_csr(ec, names, "example.com", "example.com,www.example.com",
	    NID_ecdsa_with_SHA256);
	check_csr(rsa, names, "example.com", "example.com,www.example.com",
	    NID_sha256WithRSAEncryption);
	json_decref(names);

	/* 65 octets: too long for a CN, the subject stays empty. */
	memset(longname, 'a', 61);
	strcpy(longname + 61, ".com");
	names = names_of(longname, "b.example");
	check_csr(ec, names, NULL, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com,"
	    "b.example", NID_ecdsa_with_SHA256);
	json_decref(names);
	longname[60] = '\0';
	strcat(longname, ".com"); /* exactly 64: still the CN */
	names = names_of(longname, NULL);
	check_csr(ec, names, longname, longname, NID_ecdsa_with_SHA256);
	json_decref(names);

	/* Addresses are iPAddress SANs (RFC 8738); the CN a DNS name. */
	names = names_of("192.0.2.1", "example.com");
	CHECK(json_array_append_new(names, json_string("2001:db8::1")) == 0,
	    "append");
	check_csr(ec, names, "example.com", "IP:c0000201,example.com,"
	    "IP:20010db8000000000000000000000001", NID_ecdsa_with_SHA256);
	json_decref(names);
	names = names_of("192.0.2.1", NULL);
	check_csr(ec, names, NULL, "IP:c0000201", NID_ecdsa_with_SHA256);
	json_decref(names);

	bad = json_array();
	CHECK(cert_csr(ec, bad, why, sizeof(why)) == NULL, "empty names");
	CHECK(strcmp(why, "no names for the certificate") == 0, "%s", why);
	CHECK(json_array_append_new(bad, json_integer(1)) == 0, "append");
	CHECK(cert_csr(ec, bad, why, sizeof(why)) == NULL, "integer name");
	CHECK(strcmp(why, "name 1 is not a non-empty string") == 0, "%s", why);
	json_decref(bad);
}

/* Adds a subjectAltName of DNS names (comma list "DNS:a,DNS:b") to x. */
static void
add_san(X509 *x, const char *list)
{
	X509_EXTENSION *ext;

	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, list);
	CHECK(ext != NULL, "SAN extension %s", list);
	CHECK(X509_add_ext(x, ext, -1) == 1, "add SAN");
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for pub signed by signer, issued by iss (borrowed), with
 * the given serial (hex) and SANs (may be NULL); new X509.
 */
static X509 *
make_x509(EVP_PKEY *pub, EVP_PKEY *signer, const X509_NAME *iss,
    const char *serial, const char *sans)
{
	X509 *x;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *sn;

	CHECK((x = X509_new()) != NULL, "X509_new");
	CHECK(X509_set_version(x, X509_VERSION_3) == 1, "version");
	CHECK(BN_hex2bn(&bn, serial) > 0, "serial %s", serial);
	CHECK((sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL, "serial");
	CHECK(X509_set_serialNumber(x, sn) == 1, "set serial");
	CHECK(ASN1_TIME_set_string_X509(X509_getm_notBefore(x),
	    "20260102030405Z") == 1, "notBefore");
	CHECK(ASN1_TIME_set_string_X509(X509_getm_notAfter(x),
	    "20260402030405Z") == 1, "notAfter");
	CHECK(X509_set_issuer_name(x, iss) == 1, "issuer");
	CHECK(X509_set_pubkey(x, pub) == 1, "pubkey");
	if (sans != NULL)
		add_san(x, sans);
	CHECK(X509_sign(x, signer, EVP_sha256()) > 0, "X509_sign");
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	return x;
}

/* PEM block named name around data[0..len); new string. */
static char *
pem_of(const char *name, const unsigned char *data, long len)
{
	BIO *b;
	char *mem, *pem;
	long n;

	CHECK((b = BIO_new(BIO_s_mem())) != NULL, "BIO_new");
	CHECK(PEM_write_bio(b, name, "", data, len) > 0, "PEM_write_bio");
	CHECK((n = BIO_get_mem_data(b, &mem)) > 0, "mem data");
	CHECK((pem = strndup(mem, (size_t)n)) != NULL, "strndup");
	BIO_free(b);
	return pem;
}

/*
 * Like make_x509 with issuer "C=US, O=Test Org[, CN=issuer_cn]";
 * returned as PEM (new string). With extra > 0, that many junk octets
 * follow the DER inside the PEM block.
 */
static char *
make_cert_junk(EVP_PKEY *pub, EVP_PKEY *signer, const char *issuer_cn,
    const char *serial, const char *sans, int extra)
{
	X509 *x;
	X509_NAME *iss;
	unsigned char *der = NULL, *buf;
	char *pem;
	int len;

	CHECK((iss = X509_NAME_new()) != NULL, "X509_NAME_new");
	CHECK(X509_NAME_add_entry_by_txt(iss, "C", MBSTRING_ASC,
	    (const unsigned char *)"US", -1, -1, 0) == 1, "C");
	CHECK(X509_NAME_add_entry_by_txt(iss, "O", MBSTRING_ASC,
	    (const unsigned char *)"Test Org", -1, -1, 0) == 1, "O");
	if (issuer_cn != NULL)
		CHECK(X509_NAME_add_entry_by_txt(iss, "CN", MBSTRING_UTF8,
		    (const unsigned char *)issuer_cn, -1, -1, 0) == 1, "CN");
	x = make_x509(pub, signer, iss, serial, sans);
	CHECK((len = i2d_X509(x, &der)) > 0, "i2d_X509");
	CHECK((buf = calloc(1, (size_t)len + (size_t)extra)) != NULL, "calloc");
	memcpy(buf, der, (size_t)len);
	pem = pem_of("CERTIFICATE", buf, len + extra);
	free(buf);
	OPENSSL_free(der);
	X509_NAME_free(iss);
	X509_free(x);
	return pem;
}

static char *
make_cert(EVP_PKEY *pub, EVP_PKEY *signer, const char *issuer_cn,
    const char *serial, const char *sans)
{
	return make_cert_junk(pub, signer, issuer_cn, serial, sans, 0);
}

/* Concatenation of a and b (and c when not NULL); new string. */
static char *
cat3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + (c != NULL ? strlen(c) : 0) + 1;
	char *s = malloc(n);

	CHECK(s != NULL, "malloc");
	snprintf(s, n, "%s%s%s", a, b, c != NULL ? c : "");
	return s;
}

/* cert_check must refuse chain with exactly the reason want. */
static void
refuse(int line, const char *chain, size_t len, EVP_PKEY *k,
    const json_t *names, const char *want)
{
	struct cert_info info;
	char why[512] = "";

	if (cert_check(chain, len, k, names, &info, why, sizeof(why)) == 0)
		die(line, "accepted, want refusal \"%s\"", want);
	if (strcmp(why, want) != 0)
		die(line, "reason \"%s\", want \"%s\"", why, want);
}

static void
test_check_ok(const char *leaf, const char *chain, EVP_PKEY *k)
{
	struct cert_info info;
	char why[256] = "", top[256];
	json_t *names;

	names = names_of("www.example.com", "example.com");
	CHECK(json_array_append_new(names, json_string("192.0.2.1")) == 0,
	    "append");
	CHECK(cert_check(leaf, strlen(leaf), k, names, &info, why,
	    sizeof(why)) == 0, "leaf refused: %s", why);
	CHECK(cert_check(chain, strlen(chain), k, names, &info, why,
	    sizeof(why)) == 0, "chain refused: %s", why);
	CHECK(strcmp(info.not_before, "2026-01-02T03:04:05Z") == 0,
	    "not_before %s", info.not_before);
	CHECK(strcmp(info.not_after, "2026-04-02T03:04:05Z") == 0,
	    "not_after %s", info.not_after);
	CHECK(strcmp(info.serial, "0a1b2c3d4e5f60718293a4b5c6d7e8f9") == 0,
	    "serial %s", info.serial);
	CHECK(strcmp(info.issuer, "Test Intermediate") == 0, "issuer %s",
	    info.issuer);
	json_decref(names);

	/* Case-insensitive, order-free, duplicates harmless; NULLs skip. */
	names = names_of("EXAMPLE.com", "www.Example.COM");
	CHECK(json_array_append_new(names, json_string("example.com")) == 0 &&
	    json_array_append_new(names, json_string("192.0.2.1")) == 0,
	    "append");
	CHECK(cert_check(chain, strlen(chain), k, names, NULL, why,
	    sizeof(why)) == 0, "case: %s", why);
	json_decref(names);
	CHECK(cert_check(chain, strlen(chain), NULL, NULL, NULL, why,
	    sizeof(why)) == 0, "NULL checks: %s", why);

	CHECK(cert_top_issuer(chain, strlen(chain), top, sizeof(top)) == 0,
	    "cert_top_issuer");
	CHECK(strcmp(top, "Test Root X1") == 0, "top issuer %s", top);
	CHECK(cert_top_issuer(leaf, strlen(leaf), top, sizeof(top)) == 0,
	    "cert_top_issuer leaf");
	CHECK(strcmp(top, "Test Intermediate") == 0, "top issuer %s", top);
	CHECK(cert_top_issuer("junk", 4, top, sizeof(top)) == -1, "junk top");
}

static void
test_check_refuse(const char *leaf, const char *chain, EVP_PKEY *k,
    EVP_PKEY *other)
{
	json_t *names = names_of("www.example.com", "example.com");
	json_t *fewer = names_of("example.com", "192.0.2.1");
	json_t *more = names_of("example.com", "www.example.com");
	json_t *noip = names_of("www.example.com", "example.com");
	json_t *otherip = names_of("www.example.com", "example.com");
	char *s;

	CHECK(json_array_append_new(names, json_string("192.0.2.1")) == 0 &&
	    json_array_append_new(more, json_string("192.0.2.1")) == 0 &&
	    json_array_append_new(more, json_string("evil.example")) == 0 &&
	    json_array_append_new(otherip, json_string("192.0.2.2")) == 0,
	    "append");
	/* An iPAddress SAN counts like a name, compared as canonical text. */
	refuse(__LINE__, chain, strlen(chain), k, noip,
	    "certificate names differ from the order: extra 192.0.2.1");
	refuse(__LINE__, chain, strlen(chain), k, otherip,
	    "certificate names differ from the order: missing 192.0.2.2");
	refuse(__LINE__, chain, strlen(chain), other, names,
	    "certificate key does not match the certificate key file");
	refuse(__LINE__, chain, strlen(chain), k, fewer,
	    "certificate names differ from the order: extra www.example.com");
	refuse(__LINE__, chain, strlen(chain), k, more,
	    "certificate names differ from the order: missing evil.example");
	refuse(__LINE__, "", 0, k, names, "no certificate in the chain");
	refuse(__LINE__, " \n", 2, k, names, "no certificate in the chain");
	refuse(__LINE__, "garbage", 7, k, names,
	    "chain does not start with a certificate");
	s = cat3("garbage\n", chain, NULL);
	refuse(__LINE__, s, strlen(s), k, names,
	    "chain does not start with a certificate");
	free(s);
	s = cat3(chain, "trailing garbage\n", NULL);
	refuse(__LINE__, s, strlen(s), k, names,
	    "unexpected data after certificate 2 of the chain");
	free(s);
	s = cat3(leaf, "-----BEGIN PUBLIC KEY-----\nAAAA\n"
	    "-----END PUBLIC KEY-----\n", NULL);
	refuse(__LINE__, s, strlen(s), k, names,
	    "unexpected data after certificate 1 of the chain");
	free(s);
	/* A NUL inside the chain is not white space. */
	refuse(__LINE__, chain, strlen(chain) + 1, k, names,
	    "unexpected data after certificate 2 of the chain");
	/* Cut inside the second certificate: no END line. */
	refuse(__LINE__, chain, strlen(leaf) + 100, k, names,
	    "certificate 2 of the chain does not parse");
	s = cat3(leaf, "-----BEGIN CERTIFICATE-----\nnot base64!\n"
	    "-----END CERTIFICATE-----\n", NULL);
	refuse(__LINE__, s, strlen(s), k, names,
	    "certificate 2 of the chain does not parse");
	free(s);
	refuse(__LINE__, chain, strlen(leaf) - 30, k, names,
	    "certificate 1 of the chain does not parse");
	json_decref(names);
	json_decref(fewer);
	json_decref(noip);
	json_decref(otherip);
	json_decref(more);
}

/* Issuer without a CN falls back to the one-line DN; no SAN: missing. */
static void
test_check_odd(EVP_PKEY *k)
{
	struct cert_info info;
	char why[256] = "", *pem;
	json_t *names = names_of("example.com", NULL);

	pem = make_cert(k, k, NULL, "0102", NULL);
	CHECK(cert_check(pem, strlen(pem), k, NULL, &info, why,
	    sizeof(why)) == 0, "no-CN cert refused: %s", why);
	CHECK(strcmp(info.issuer, "C = US, O = Test Org") == 0, "issuer %s",
	    info.issuer);
	CHECK(strcmp(info.serial, "0102") == 0, "serial %s", info.serial);
	refuse(__LINE__, pem, strlen(pem), k, names,
	    "certificate names differ from the order: missing example.com");
	free(pem);
	/* Control characters from the server come back escaped. */
	pem = make_cert(k, k, "Bad\nCA", "7f", "DNS:example.com");
	CHECK(cert_check(pem, strlen(pem), k, names, &info, why,
	    sizeof(why)) == 0, "ctrl cert refused: %s", why);
	CHECK(strcmp(info.issuer, "Bad\\0ACA") == 0, "issuer %s", info.issuer);
	CHECK(strcmp(info.serial, "7f") == 0, "serial %s", info.serial);
	free(pem);
	json_decref(names);
}

/* PEM blocks that hold more or other than one certificate's DER. */
static void
test_check_pem(EVP_PKEY *k)
{
	char *pem, *s, *nl;

	pem = make_cert_junk(k, k, "CA", "01", NULL, 2);
	refuse(__LINE__, pem, strlen(pem), k, NULL,
	    "certificate 1 of the chain does not parse");
	free(pem);
	/* Encapsulated headers (encrypted PEM) do not belong on a cert. */
	pem = make_cert(k, k, "CA", "01", NULL);
	CHECK((nl = strchr(pem, '\n')) != NULL, "no newline in PEM");
	*nl = '\0';
	s = cat3(pem, "\nProc-Type: 4,ENCRYPTED\n\n", nl + 1);
	refuse(__LINE__, s, strlen(s), k, NULL,
	    "certificate 1 of the chain does not parse");
	free(s);
	free(pem);
}

/* A long issuer DN is cut before a UTF-8 sequence, never inside one. */
static void
test_check_utf8(EVP_PKEY *k)
{
	struct cert_info info;
	X509_NAME *iss;
	X509 *x;
	unsigned char *der = NULL, ou[121];
	char *pem, why[256] = "";
	size_t i, n;
	int len;

	for (i = 0; i < 120; i += 2)
		memcpy(ou + i, "\xc3\xa9", 2); /* U+00E9 */
	ou[120] = '\0';
	CHECK((iss = X509_NAME_new()) != NULL, "X509_NAME_new");
	CHECK(X509_NAME_add_entry_by_txt(iss, "O", MBSTRING_ASC,
	    (const unsigned char *)"xy", -1, -1, 0) == 1, "O");
	for (i = 0; i < 3; i++)
		CHECK(X509_NAME_add_entry_by_txt(iss, "OU", MBSTRING_UTF8, ou,
		    -1, -1, 0) == 1, "OU");
	x = make_x509(k, k, iss, "01", NULL);
	CHECK((len = i2d_X509(x, &der)) > 0, "i2d_X509");
	pem = pem_of("CERTIFICATE", der, len);
	CHECK(cert_check(pem, strlen(pem), k, NULL, &info, why,
	    sizeof(why)) == 0, "utf-8 DN refused: %s", why);
	n = strlen(info.issuer);
	/*
	 * "O = xy, OU = <120>, OU = " puts a sequence across octet 255: the
	 * cut must fall before it, leaving 254 octets that end whole.
	 */
	CHECK(n == 254 && strncmp(info.issuer, "O = xy, OU = \xc3\xa9", 15) ==
	    0 && (unsigned char)info.issuer[n - 2] == 0xc3, "issuer cut "
	    "wrong: %zu octets", n);
	free(pem);
	OPENSSL_free(der);
	X509_free(x);
	X509_NAME_free(iss);
}

int
main(void)
{
	EVP_PKEY *ec = NULL, *rsa = NULL, *ica = NULL, *root = NULL;
	char *leaf, *inter, *chain;

	CHECK((ec = EVP_EC_gen("P-256")) != NULL, "EVP_EC_gen");
	/* 1024 bits: the same code path as 2048, and valgrind runs stay fast. */
	CHECK((rsa = EVP_RSA_gen(1024)) != NULL, "EVP_RSA_gen");
	CHECK((ica = EVP_EC_gen("P-384")) != NULL, "EVP_EC_gen");
	CHECK((root = EVP_EC_gen("P-256")) != NULL, "EVP_EC_gen");
	test_csr(ec, rsa);

	leaf = make_cert(ec, ica, "Test Intermediate",
	    "0A1B2C3D4E5F60718293A4B5C6D7E8F9",
	    "DNS:example.com,DNS:www.example.com,IP:192.0.2.1");
	inter = make_cert(ica, root, "Test Root X1", "02", NULL);
	chain = cat3(leaf, inter, NULL);
	test_check_ok(leaf, chain, ec);
	test_check_refuse(leaf, chain, ec, rsa);
	test_check_odd(rsa);
	test_check_pem(ec);
	test_check_utf8(ec);

	free(chain);
	free(inter);
	free(leaf);
	EVP_PKEY_free(root);
	EVP_PKEY_free(ica);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	return 0;
}
