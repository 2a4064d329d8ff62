/*
 * http: one libcurl handle per process, so connections are reused.
 * TLS verification is always on.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

/* Response bodies larger than this are refused. */
#define HTTP_MAX_BODY (4u * 1024 * 1024)

struct http_response {
	long	 status;       /* HTTP status, 0 when no response */
	char	*body;         /* NUL-terminated, owned */
	size_t	 len;
	char	*content_type; /* owned, may be NULL */
	char	*location;     /* owned, may be NULL */
	char	*nonce;        /* Replay-Nonce, owned, may be NULL */
	char	*link_up;      /* Link rel="up", owned, may be NULL */
	char   **alternates;   /* Link rel="alternate", NULL-terminated, owned */
	long	 retry_after;  /* seconds, -1 when absent */
};

/*
 * Configures the process's handle. ca_bundle may be NULL (system store).
 * Timeouts in seconds. Returns 0 or -1 (message in why).
 */
int http_init(const char *ca_bundle, long connect_timeout, long timeout,
    char *why, size_t whylen);
void http_cleanup(void);

/* What went wrong with an exchange that gave no usable response. */
#define HTTP_ERR_CONNECTION 1 /* no connection, TLS failure, reset */
#define HTTP_ERR_TIMEOUT    2
#define HTTP_ERR_RESPONSE   3 /* an answer came, but too large to take */

/*
 * Performs one request. body may be NULL (GET/HEAD). When no usable
 * response came returns -1 with *err one of HTTP_ERR_* and a one-line
 * message in why. Otherwise returns 0 with resp filled (any status).
 * resp must be zeroed or freed before; http_response_free() releases it.
 */
int http_request(const char *method, const char *url, const char *ctype,
    const char *body, size_t bodylen, struct http_response *resp,
    int *err, char *why, size_t whylen);
void http_response_free(struct http_response *resp);

#endif
