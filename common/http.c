/*
 * http: one libcurl handle per thread (one per process for a step that
 * keeps one document in flight), each keeping its connection to the CA
 * open from one request to the next.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

#include "diag.h"
#include "http.h"

/* The settings of http_init(), the same for every thread's handle. */
static struct {
	char	*ca_bundle;
	long	 connect_timeout, timeout;
} http_conf;
static int http_global;
/* This thread's handle; every handle made, for http_cleanup(). */
static __thread CURL *http_curl;
static pthread_mutex_t http_mu = PTHREAD_MUTEX_INITIALIZER;
static CURL **http_handles;
static size_t http_nhandles;

/* Collects the body, refusing more than HTTP_MAX_BODY. */
static size_t
http_body_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct http_response *r = arg;
	size_t len = sz * n;
	char *nb;

	if (r->len + len > HTTP_MAX_BODY)
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	if ((nb = realloc(r->body, r->len + len + 1)) == NULL)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

/* A header value copied without surrounding blanks and CRLF. */
static char *
http_value(const char *p, size_t len)
{
	while (len > 0 && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	return strndup(p, len);
}

/* Retry-After is delta-seconds or an HTTP date (RFC 9110 10.2.3). */
static long
http_retry_after(const char *v)
{
	struct tm tm;
	char *end = NULL;
	long s;
	time_t t;

	s = strtol(v, &end, 10);
	if (end != v && *end == '\0')
		return s < 0 ? 0 : s;
	memset(&tm, 0, sizeof(tm));
	if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
		return -1;
	t = timegm(&tm) - time(NULL);
	return t < 0 ? 0 : (long)t;
}

/* Link: <url>;rel="up" -- one link per header line, as ACME servers send. */
static void
http_link(struct http_response *r, const char *v)
{
	const char *lt, *gt;
	char *url, **na;
	size_t n = 0;

	if ((lt = strchr(v, '<')) == NULL || (gt = strchr(lt, '>')) == NULL)
		return;
	if ((url = strndup(lt + 1, (size_t)(gt - lt - 1))) == NULL)
		return;
	if (strstr(gt, "rel=\"up\"") != NULL && r->link_up == NULL) {
		r->link_up = url;
		return;
	}
	if (strstr(gt, "rel=\"alternate\"") == NULL) {
		free(url);
		return;
	}
	while (r->alternates != NULL && r->alternates[n] != NULL)
		n++;
	if ((na = realloc(r->alternates, (n + 2) * sizeof(*na))) == NULL) {
		free(url);
		return;
	}
	na[n] = url;
	na[n + 1] = NULL;
	r->alternates = na;
}

static size_t
http_header_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct http_response *r = arg;
	size_t len = sz * n;
	const char *colon;
	char *v;
	size_t nl;

	if ((colon = memchr(p, ':', len)) == NULL)
		return len;
	nl = (size_t)(colon - p);
	if ((v = http_value(colon + 1, len - nl - 1)) == NULL)
		return 0;
	if (nl == 8 && strncasecmp(p, "Location", nl) == 0 && !r->location)
		r->location = v, v = NULL;
	else if (nl == 12 && strncasecmp(p, "Replay-Nonce", nl) == 0) {
		free(r->nonce);
		r->nonce = v, v = NULL;
	} else if (nl == 12 && strncasecmp(p, "Content-Type", nl) == 0 &&
	    !r->content_type)
		r->content_type = v, v = NULL;
	else if (nl == 11 && strncasecmp(p, "Retry-After", nl) == 0)
		r->retry_after = http_retry_after(v);
	else if (nl == 4 && strncasecmp(p, "Link", nl) == 0)
		http_link(r, v);
	free(v);
	return len;
}

/*
 * Each connection's TLS read and write buffers (about 34 KiB) are freed
 * while it is idle: a step with documents in flight keeps a connection per
 * document, and most of them wait on the CA most of the time.
 */
static CURLcode
http_ssl_ctx(CURL *h, void *ctx, void *arg)
{
	(void)h;
	(void)arg;
	SSL_CTX_set_mode((SSL_CTX *)ctx, SSL_MODE_RELEASE_BUFFERS);
	return CURLE_OK;
}

/* Sets up this thread's handle; 0, or -1 with why. */
static int
http_handle(char *why, size_t whylen)
{
	CURL **nh, *h;

	if (http_curl != NULL)
		return 0;
	if ((h = curl_easy_init()) == NULL) {
		snprintf(why, whylen, "curl_easy_init failed");
		return -1;
	}
	if (curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
	    http_conf.connect_timeout) ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT, http_conf.timeout) ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https") ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "acmepipe/0.1") ||
	    (http_conf.ca_bundle != NULL &&
	    curl_easy_setopt(h, CURLOPT_CAINFO, http_conf.ca_bundle))) {
		curl_easy_cleanup(h);
		snprintf(why, whylen, "curl_easy_setopt failed");
		return -1;
	}
	/* Only with an OpenSSL libcurl (Debian's); elsewhere no matter. */
	(void)curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx);
	/*
	 * HTTP/1.1: a handle makes one request at a time on its own
	 * connection, so HTTP/2 would multiplex nothing and only add its
	 * session (about 40 KiB a connection, measured with 64 in flight).
	 */
	(void)curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1);
	pthread_mutex_lock(&http_mu);
	nh = realloc(http_handles, (http_nhandles + 1) * sizeof(*nh));
	if (nh != NULL) {
		http_handles = nh;
		http_handles[http_nhandles++] = h;
	}
	pthread_mutex_unlock(&http_mu);
	if (nh == NULL) {
		curl_easy_cleanup(h);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	http_curl = h;
	return 0;
}

int
http_init(const char *ca_bundle, long connect_timeout, long timeout,
    char *why, size_t whylen)
{
	if (!http_global) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			snprintf(why, whylen, "curl_global_init failed");
			return -1;
		}
		http_global = 1;
	}
	free(http_conf.ca_bundle);
	http_conf.ca_bundle = NULL;
	if (ca_bundle != NULL && (http_conf.ca_bundle = strdup(ca_bundle)) ==
	    NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	http_conf.connect_timeout = connect_timeout;
	http_conf.timeout = timeout;
	/* The calling thread's handle now, so that setup errors show. */
	return http_handle(why, whylen);
}

void
http_cleanup(void)
{
	size_t i;

	for (i = 0; i < http_nhandles; i++)
		curl_easy_cleanup(http_handles[i]);
	free(http_handles);
	http_handles = NULL;
	http_nhandles = 0;
	http_curl = NULL;
	free(http_conf.ca_bundle);
	http_conf.ca_bundle = NULL;
	if (http_global)
		curl_global_cleanup();
	http_global = 0;
}

void
http_response_free(struct http_response *r)
{
	size_t i;

	free(r->body);
	free(r->content_type);
	free(r->location);
	free(r->nonce);
	free(r->link_up);
	for (i = 0; r->alternates != NULL && r->alternates[i] != NULL; i++)
		free(r->alternates[i]);
	free(r->alternates);
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
}

static long
http_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int
http_request(const char *method, const char *url, const char *ctype,
    const char *body, size_t bodylen, struct http_response *r,
    int *err, char *why, size_t whylen)
{
	struct curl_slist *hdrs = NULL, *nh;
	char ct[128];
	struct timespec t0;
	CURLcode cc;
	int rc = -1;

	http_response_free(r);
	*err = 0;
	if (http_handle(why, whylen) != 0) {
		*err = HTTP_ERR_CONNECTION;
		return -1;
	}
	snprintf(ct, sizeof(ct), "Content-Type: %s",
	    ctype != NULL ? ctype : "application/octet-stream");
	if (body != NULL) {
		if ((nh = curl_slist_append(hdrs, ct)) == NULL)
			goto out;
		hdrs = nh;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	curl_easy_setopt(http_curl, CURLOPT_URL, url);
	curl_easy_setopt(http_curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(http_curl, CURLOPT_WRITEFUNCTION, http_body_cb);
	curl_easy_setopt(http_curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(http_curl, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(http_curl, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(http_curl, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
	if (body != NULL) {
		curl_easy_setopt(http_curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(http_curl, CURLOPT_POSTFIELDSIZE, (long)bodylen);
	} else if (strcmp(method, "HEAD") != 0)
		curl_easy_setopt(http_curl, CURLOPT_HTTPGET, 1L);
	cc = curl_easy_perform(http_curl);
	curl_easy_getinfo(http_curl, CURLINFO_RESPONSE_CODE, &r->status);
	diag_verbose(1, "%s %s %ld %ldms", method, url,
	    cc == CURLE_OK ? r->status : 0L, http_ms_since(&t0));
	if (cc == CURLE_WRITE_ERROR) {
		*err = HTTP_ERR_RESPONSE;
		snprintf(why, whylen, "%s: response body larger than %u bytes",
		    url, HTTP_MAX_BODY);
		goto out;
	}
	if (cc != CURLE_OK) {
		*err = cc == CURLE_OPERATION_TIMEDOUT ? HTTP_ERR_TIMEOUT :
		    HTTP_ERR_CONNECTION;
		snprintf(why, whylen, "%s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	if (r->body == NULL && (r->body = strdup("")) == NULL)
		goto out;
	rc = 0;
out:
	/* The handle must not keep pointers to freed memory. */
	curl_easy_setopt(http_curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(http_curl, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	return rc;
}
