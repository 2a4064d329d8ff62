/* jws: JSON Web Signatures for ACME. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "jws.h"

char *
jws_b64url(const unsigned char *d, size_t len)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out, *o;
	size_t i;
	unsigned long v;

	if ((out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	o = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)d[i] << 16 | (unsigned long)d[i + 1] << 8 | d[i + 2];
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = tab[v >> 6 & 63];
		*o++ = tab[v & 63];
	}
	if (i < len) {
		v = (unsigned long)d[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)d[i + 1] << 8;
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		if (i + 1 < len)
			*o++ = tab[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

/* Decodes base64url (padding tolerated); new buffer or NULL. */
static unsigned char *
jws_b64url_decode(const char *s, size_t *outlen)
{
	unsigned char *out;
	unsigned long v = 0;
	size_t n = 0, bits = 0;
	const char *p;
	int c;

	if ((out = malloc(strlen(s) * 3 / 4 + 3)) == NULL)
		return NULL;
	for (p = s; *p != '\0' && *p != '='; p++) {
		c = *p;
		if (c >= 'A' && c <= 'Z') c -= 'A';
		else if (c >= 'a' && c <= 'z') c = c - 'a' + 26;
		else if (c >= '0' && c <= '9') c = c - '0' + 52;
		else if (c == '-' || c == '+') c = 62;
		else if (c == '_' || c == '/') c = 63;
		else {
			free(out);
			return NULL;
		}
		v = (v << 6 | (unsigned long)c) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	*outlen = n;
	return out;
}

static char *
jws_b64url_bn(const BIGNUM *bn, int pad)
{
	unsigned char buf[1024];
	int n;

	n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	if (n <= 0 || n > (int)sizeof(buf))
		return NULL;
	return jws_b64url(buf, (size_t)n);
}

/* Adds a base64url member, taking ownership of v. */
static int
jws_set_b64(json_t *o, const char *k, char *v)
{
	int rc;

	if (v == NULL)
		return -1;
	rc = json_object_set_new(o, k, json_string(v));
	free(v);
	return rc;
}

static json_t *
jws_jwk_ec(EVP_PKEY *k)
{
	unsigned char pt[200];
	size_t len = 0, clen;
	char crv[32];
	json_t *j;

	if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
	    crv, sizeof(crv), NULL) ||
	    !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt,
	    sizeof(pt), &len) || len < 3 || pt[0] != 0x04)
		return NULL;
	clen = (len - 1) / 2;
	if ((j = json_object()) == NULL)
		return NULL;
	/* RFC 7638 member order: crv, kty, x, y. */
	if (json_object_set_new(j, "crv", json_string(
	    strcmp(crv, "prime256v1") == 0 || strcmp(crv, "P-256") == 0 ?
	    "P-256" : "P-384")) != 0 ||
	    json_object_set_new(j, "kty", json_string("EC")) != 0 ||
	    jws_set_b64(j, "x", jws_b64url(pt + 1, clen)) != 0 ||
	    jws_set_b64(j, "y", jws_b64url(pt + 1 + clen, clen)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *
jws_jwk_rsa(EVP_PKEY *k)
{
	BIGNUM *n = NULL, *e = NULL;
	json_t *j = NULL;

	if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e))
		goto out;
	/* RFC 7638 member order: e, kty, n. */
	if ((j = json_object()) == NULL ||
	    jws_set_b64(j, "e", jws_b64url_bn(e, 0)) != 0 ||
	    json_object_set_new(j, "kty", json_string("RSA")) != 0 ||
	    jws_set_b64(j, "n", jws_b64url_bn(n, 0)) != 0) {
		json_decref(j);
		j = NULL;
	}
out:
	BN_free(n);
	BN_free(e);
	return j;
}

json_t *
jws_jwk(EVP_PKEY *k)
{
	if (EVP_PKEY_is_a(k, "EC"))
		return jws_jwk_ec(k);
	if (EVP_PKEY_is_a(k, "RSA"))
		return jws_jwk_rsa(k);
	return NULL;
}

const char *
jws_alg(EVP_PKEY *k)
{
	if (EVP_PKEY_is_a(k, "RSA"))
		return "RS256";
	if (EVP_PKEY_is_a(k, "EC"))
		return EVP_PKEY_get_bits(k) > 256 ? "ES384" : "ES256";
	return NULL;
}

char *
jws_thumbprint(EVP_PKEY *k)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	json_t *jwk;
	char *s, *out = NULL;

	if ((jwk = jws_jwk(k)) == NULL)
		return NULL;
	s = json_dumps(jwk, JSON_COMPACT);
	json_decref(jwk);
	if (s != NULL && EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(),
	    NULL))
		out = jws_b64url(md, mdlen);
	free(s);
	return out;
}

/* JWS ECDSA signatures are r||s, each padded to the field size (RFC 7518). */
static char *
jws_ecdsa_raw(const unsigned char *der, size_t len, int size)
{
	unsigned char raw[132];
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	char *out = NULL;

	if (size * 2 > (int)sizeof(raw) ||
	    (sig = d2i_ECDSA_SIG(NULL, &der, (long)len)) == NULL)
		return NULL;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, raw, size) == size &&
	    BN_bn2binpad(s, raw + size, size) == size)
		out = jws_b64url(raw, (size_t)size * 2);
	ECDSA_SIG_free(sig);
	return out;
}

static char *
jws_signature(EVP_PKEY *k, const char *input)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	const char *alg = jws_alg(k);
	char *out = NULL;

	if (alg == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(ctx, NULL, strcmp(alg, "ES384") == 0 ?
	    EVP_sha384() : EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input,
	    strlen(input)) != 1 || (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
	    strlen(input)) != 1)
		goto out;
	if (alg[0] == 'R')
		out = jws_b64url(sig, siglen);
	else
		out = jws_ecdsa_raw(sig, siglen, alg[4] == '3' ? 48 : 32);
out:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return out;
}

/* Assembles {protected, payload, signature}; takes ownership of nothing. */
static json_t *
jws_flat(const char *prot, const char *payload, const char *sig)
{
	json_t *j;

	if ((j = json_pack("{s:s, s:s, s:s}", "protected", prot, "payload",
	    payload, "signature", sig)) == NULL)
		return NULL;
	return j;
}

char *
jws_sign(EVP_PKEY *k, json_t *hdr, const char *payload)
{
	json_t *h = NULL, *j = NULL;
	char *hs = NULL, *ph = NULL, *pp = NULL, *input = NULL, *sig = NULL;
	char *out = NULL;
	size_t n;

	if ((h = json_deep_copy(hdr)) == NULL || jws_alg(k) == NULL ||
	    json_object_set_new(h, "alg", json_string(jws_alg(k))) != 0 ||
	    (hs = json_dumps(h, JSON_COMPACT)) == NULL ||
	    (ph = jws_b64url((const unsigned char *)hs, strlen(hs))) == NULL ||
	    (pp = jws_b64url((const unsigned char *)payload,
	    strlen(payload))) == NULL)
		goto out;
	n = strlen(ph) + strlen(pp) + 2;
	if ((input = malloc(n)) == NULL)
		goto out;
	snprintf(input, n, "%s.%s", ph, pp);
	if ((sig = jws_signature(k, input)) == NULL ||
	    (j = jws_flat(ph, pp, sig)) == NULL)
		goto out;
	out = json_dumps(j, JSON_COMPACT);
out:
	json_decref(h);
	json_decref(j);
	free(hs);
	free(ph);
	free(pp);
	free(input);
	free(sig);
	return out;
}

json_t *
jws_eab(const char *kid, const char *hmac_b64url, const char *url,
    EVP_PKEY *account)
{
	unsigned char mac[EVP_MAX_MD_SIZE], *key = NULL;
	size_t keylen = 0, maclen = 0, n;
	json_t *hdr = NULL, *jwk = NULL, *out = NULL;
	char *hs = NULL, *js = NULL, *ph = NULL, *pp = NULL, *input = NULL;
	char *sig = NULL;

	if ((key = jws_b64url_decode(hmac_b64url, &keylen)) == NULL ||
	    keylen == 0 || (jwk = jws_jwk(account)) == NULL ||
	    (hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", kid,
	    "url", url)) == NULL ||
	    (hs = json_dumps(hdr, JSON_COMPACT)) == NULL ||
	    (js = json_dumps(jwk, JSON_COMPACT)) == NULL ||
	    (ph = jws_b64url((unsigned char *)hs, strlen(hs))) == NULL ||
	    (pp = jws_b64url((unsigned char *)js, strlen(js))) == NULL)
		goto out;
	n = strlen(ph) + strlen(pp) + 2;
	if ((input = malloc(n)) == NULL)
		goto out;
	snprintf(input, n, "%s.%s", ph, pp);
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
	    (unsigned char *)input, strlen(input), mac, sizeof(mac),
	    &maclen) == NULL || (sig = jws_b64url(mac, maclen)) == NULL)
		goto out;
	out = jws_flat(ph, pp, sig);
out:
	if (key != NULL)
		OPENSSL_cleanse(key, keylen);
	free(key);
	json_decref(hdr);
	json_decref(jwk);
	free(hs);
	free(js);
	free(ph);
	free(pp);
	free(input);
	free(sig);
	return out;
}
