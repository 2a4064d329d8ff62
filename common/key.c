/* key: private keys, OpenSSL 3 EVP only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "afile.h"
#include "key.h"

static const struct {
	const char *name;
	const char *curve; /* NULL for RSA */
	unsigned int bits;
} key_types[] = {
	{ "ec-p256", "P-256", 0 },
	{ "ec-p384", "P-384", 0 },
	{ "rsa2048", NULL, 2048 },
	{ "rsa3072", NULL, 3072 },
	{ "rsa4096", NULL, 4096 },
};

int
key_type_valid(const char *type)
{
	size_t i;

	for (i = 0; type != NULL && i < sizeof(key_types) / sizeof(key_types[0]); i++)
		if (strcmp(type, key_types[i].name) == 0)
			return 1;
	return 0;
}

EVP_PKEY *
key_generate(const char *type)
{
	size_t i;

	for (i = 0; type != NULL && i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strcmp(type, key_types[i].name) != 0)
			continue;
		if (key_types[i].curve != NULL)
			return EVP_EC_gen(key_types[i].curve);
		return EVP_RSA_gen(key_types[i].bits);
	}
	return NULL;
}

int
key_write_new(const char *path, EVP_PKEY *k, char *why, size_t whylen)
{
	struct afile_chunk c;
	BIO *bio = NULL;
	char *pem = NULL;
	long len;
	int rc = -1;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		snprintf(why, whylen, "%s: cannot encode key", path);
		goto out;
	}
	c.p = pem;
	c.len = (size_t)len;
	/* The only copy of the key until it is stored: durable. */
	rc = afile_write(path, NULL, NULL, &c, 1, 0600, (gid_t)-1,
	    AFILE_EXCL | AFILE_DURABLE, NULL, why, whylen);
	if (rc == 1) {
		snprintf(why, whylen, "%s: %s", path, strerror(EEXIST));
		rc = -2;
	}
out:
	BIO_free(bio);
	return rc;
}

char *
key_read_file(const char *path, size_t max, size_t *lenp, char *why,
    size_t whylen)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = OPENSSL_secure_malloc(max + 1)) == NULL &&
	    (buf = OPENSSL_malloc(max + 1)) == NULL) {
		snprintf(why, whylen, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	while (len < max && (n = read(fd, buf + len, max - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	if (len == max) {
		snprintf(why, whylen, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
fail:
	close(fd);
	key_pem_free(buf, max + 1);
	return NULL;
}

void
key_pem_free(char *pem, size_t len)
{
	if (pem == NULL)
		return;
	OPENSSL_cleanse(pem, len);
	if (CRYPTO_secure_allocated(pem))
		OPENSSL_secure_free(pem);
	else
		OPENSSL_free(pem);
}

/*
 * The PKCS #8 EC key acmepipe writes, decoded by a decoder chain made for
 * just that: a generic PEM_read_bio_PrivateKey() builds one for every
 * key type and format the providers know, which costs a quarter of a
 * command's start-up. NULL (nothing reported) when it is something else.
 */
static EVP_PKEY *
key_load_ec(const char *pem, size_t len)
{
	OSSL_DECODER_CTX *d;
	EVP_PKEY *k = NULL;
	const unsigned char *p = (const unsigned char *)pem;

	d = OSSL_DECODER_CTX_new_for_pkey(&k, "PEM", "PrivateKeyInfo", "EC",
	    EVP_PKEY_KEYPAIR, NULL, NULL);
	if (d != NULL && OSSL_DECODER_from_data(d, &p, &len) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	OSSL_DECODER_CTX_free(d);
	ERR_clear_error();
	return k;
}

EVP_PKEY *
key_parse(const char *pem, size_t len)
{
	EVP_PKEY *k = NULL;
	BIO *bio = NULL;

	if (strstr(pem, "-----BEGIN PRIVATE KEY-----") != NULL)
		k = key_load_ec(pem, len);
	if (k == NULL && (bio = BIO_new_mem_buf(pem, (int)len)) != NULL)
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	ERR_clear_error();
	BIO_free(bio);
	return k;
}

EVP_PKEY *
key_load(const char *path, char *why, size_t whylen)
{
	EVP_PKEY *k = NULL;
	char *pem;
	size_t len = 0;

	if ((pem = key_read_file(path, 64 * 1024, &len, why, whylen)) == NULL)
		return NULL;
	if ((k = key_parse(pem, len)) == NULL)
		snprintf(why, whylen, "%s: not a PEM private key", path);
	key_pem_free(pem, len + 1);
	return k;
}
