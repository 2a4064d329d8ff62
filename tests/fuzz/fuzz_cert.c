/*
 * libFuzzer target: checks of issued chains, cert_check() and
 * cert_top_issuer().
 *
 * Two input forms, so that mutations reach both the PEM framing and the
 * X.509 parser behind it:
 *   - anything not starting with 'D' is the chain itself (random bytes,
 *     mutated PEM);
 *   - 'D' then DER certificates back to back: each top-level ASN.1
 *     element (the last one takes whatever is left) is wrapped in its own
 *     PEM block here, so the mutations land in the DER.
 * The seeds in corpus/fuzz_cert are a leaf, intermediate and root made
 * with openssl req/x509 (EC P-256; SANs example.com, www.example.com,
 * *.example.com, xn--mnchen-3ya.example and an IP; a UTF-8 intermediate
 * CN; a self-signed certificate without a CN), in both forms, and
 * self-signed ones whose issuer holds control characters (C0, DEL, C1 in
 * UTF8String and T61String) or invalid UTF-8, made with the OpenSSL API.
 *
 * Beyond memory safety it asserts: a chain cert_check() accepts has a
 * top issuer; the fuzzer's own key never matches; reasons are non-empty;
 * info and issuer strings are NUL-terminated valid UTF-8 without control
 * characters, as cert.h promises, whatever room the buffer has.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cert.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *fuzz_key;
static json_t *fuzz_names;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((fuzz_key = EVP_EC_gen("P-256")) == NULL ||
	    (fuzz_names = json_pack("[s,s,s,s]", "example.com",
	    "www.example.com", "*.example.com", "xn--mnchen-3ya.example")) ==
	    NULL)
		abort();
	return 0;
}

/* Length of the DER element at p (at most n bytes), or n when malformed. */
static size_t
fuzz_der_len(const uint8_t *p, size_t n)
{
	size_t len = 0, hdr = 2, i, k;

	if (n < 2)
		return n;
	if (p[1] < 0x80)
		len = p[1];
	else {
		k = p[1] & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return n;
		for (i = 0; i < k; i++)
			len = len << 8 | p[2 + i];
		hdr += k;
	}
	return len > n - hdr ? n : hdr + len;
}

/* The PEM form of the DER elements in data; new buffer in *out. */
static size_t
fuzz_pem(const uint8_t *data, size_t size, char **out)
{
	BIO *b;
	char *mem;
	long n;
	size_t len;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		abort();
	while (size > 0) {
		len = fuzz_der_len(data, size);
		if (PEM_write_bio(b, "CERTIFICATE", "", data, (long)len) <= 0)
			abort();
		data += len;
		size -= len;
	}
	if ((n = BIO_get_mem_data(b, &mem)) < 0 ||
	    (*out = malloc((size_t)n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(*out, mem, (size_t)n);
	BIO_free(b);
	return (size_t)n;
}

/*
 * NUL-terminated within len, valid UTF-8, no control character: neither
 * C0 nor DEL nor C1 (U+0080..U+009F, UTF-8 C2 80..C2 9F), which some
 * terminals obey.
 */
static void
fuzz_check_str(const char *s, size_t len, int nonempty)
{
	const unsigned char *p;
	json_t *j;

	if (memchr(s, '\0', len) == NULL || (nonempty && s[0] == '\0'))
		abort();
	if ((j = json_string(s)) == NULL)
		abort();
	json_decref(j);
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			abort();
}

static void
fuzz_check_info(const struct cert_info *info)
{
	fuzz_check_str(info->not_before, sizeof(info->not_before), 1);
	fuzz_check_str(info->not_after, sizeof(info->not_after), 1);
	fuzz_check_str(info->serial, sizeof(info->serial), 1);
	fuzz_check_str(info->issuer, sizeof(info->issuer), 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cert_info info;
	char why[256], buf[256], tiny[6], *pem = NULL;
	const char *chain = (const char *)data;
	size_t len = size;
	int parsed, top;

	if (size > 0 && data[0] == 'D') {
		len = fuzz_pem(data + 1, size - 1, &pem);
		chain = pem;
	}

	why[0] = '\0';
	parsed = cert_check(chain, len, NULL, NULL, &info, why, sizeof(why));
	if (parsed == 0)
		fuzz_check_info(&info);
	else
		fuzz_check_str(why, sizeof(why), 1);
	why[0] = '\0';
	if (cert_check(chain, len, NULL, fuzz_names, &info, why,
	    sizeof(why)) == 0)
		fuzz_check_info(&info);
	else
		fuzz_check_str(why, sizeof(why), 1);
	why[0] = '\0';
	if (cert_check(chain, len, fuzz_key, NULL, NULL, why,
	    sizeof(why)) == 0)
		abort(); /* the key is not the one of any seed */
	fuzz_check_str(why, sizeof(why), 1);

	memset(buf, 'X', sizeof(buf));
	top = cert_top_issuer(chain, len, buf, sizeof(buf));
	if (top == 0)
		fuzz_check_str(buf, sizeof(buf), 0);
	memset(tiny, 'X', sizeof(tiny));
	if (cert_top_issuer(chain, len, tiny, sizeof(tiny)) != top)
		abort();
	if (top == 0)
		fuzz_check_str(tiny, sizeof(tiny), 0);
	/*
	 * cert_fill can refuse what parsed (a bad time or serial), so
	 * parsing alone is compared: a parsed chain has a top issuer.
	 */
	if (parsed == 0 && top != 0)
		abort();
	free(pem);
	return 0;
}
