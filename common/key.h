/*
 * key: private keys (account and certificate keys), OpenSSL 3 EVP only.
 * Key material never leaves this module as text except into a key file.
 */
#ifndef KEY_H
#define KEY_H

#include <stddef.h>
#include <openssl/evp.h>

/*
 * Generates a key of type "ec-p256", "ec-p384", "rsa2048", "rsa3072" or
 * "rsa4096". Returns a new key or NULL (unknown type or OpenSSL failure).
 */
EVP_PKEY *key_generate(const char *type);

/* 1 when type is one key_generate() knows. */
int key_type_valid(const char *type);

/*
 * Writes k as PEM (PKCS#8) to path, which must not exist: mode 0600,
 * durable, through afile_write() with AFILE_EXCL, so a reader never sees
 * a partial key and two writers cannot both win. Returns 0, or -1 with
 * errno-style reason in why; when the path already exists returns -2.
 */
int key_write_new(const char *path, EVP_PKEY *k, char *why, size_t whylen);

/* Loads a private key from a PEM file; new key or NULL (reason in why). */
EVP_PKEY *key_load(const char *path, char *why, size_t whylen);

/*
 * Parses the first PEM private key in pem (NUL-terminated, len bytes,
 * borrowed); new key or NULL.
 */
EVP_PKEY *key_parse(const char *pem, size_t len);

/*
 * Reads the whole file at path into a new NUL-terminated buffer, at most
 * max bytes. Returns NULL on failure (reason in why). For key files the
 * caller must cleanse and free with key_pem_free().
 */
char *key_read_file(const char *path, size_t max, size_t *len, char *why,
    size_t whylen);
void key_pem_free(char *pem, size_t len);

#endif
