/* provision: webroot files and hook programs for challenges. */
/* posix_spawn_file_actions_addclosefrom_np() (glibc 2.34) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "afile.h"
#include "jws.h"
#include "provision.h"

extern char **environ;

#define PROVISION_DIR "/.well-known/acme-challenge"

int
provision_token_ok(const char *t)
{
	size_t n;

	if (t == NULL || *t == '\0')
		return 0;
	n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_");
	return t[n] == '\0' && n <= 256;
}

int
provision_check(const struct provision *p, const char *type, char *why,
    size_t whylen)
{
	struct stat st;

	if ((p->webroot == NULL) == (p->hook == NULL)) {
		snprintf(why, whylen, "give either --webroot or --hook");
		return -1;
	}
	if (p->webroot != NULL && strcmp(type, "http-01") != 0) {
		snprintf(why, whylen, "--webroot serves only http-01, not %s;"
		    " use --hook", type);
		return -1;
	}
	if (p->webroot != NULL && stat(p->webroot, &st) != 0) {
		snprintf(why, whylen, "webroot %s: %s", p->webroot,
		    strerror(errno));
		return -1;
	}
	if (p->webroot != NULL && !S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "webroot %s: not a directory", p->webroot);
		return -1;
	}
	if (p->hook != NULL && access(p->hook, X_OK) != 0) {
		snprintf(why, whylen, "hook %s: %s", p->hook, strerror(errno));
		return -1;
	}
	return 0;
}

/* mkdir that accepts an existing directory. */
static int
provision_mkdir(const char *path)
{
	return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* snprintf that reports truncation as failure. */
static int
provision_path(char *buf, size_t len, const char *a, const char *b,
    const char *c)
{
	int n = snprintf(buf, len, "%s%s%s", a, b, c);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Writes WEBROOT/.well-known/acme-challenge/TOKEN atomically, 0644. Not
 * durable (afile.h): a token lost to a power cut costs a retried
 * challenge. The temporary ".TOKEN.XXXXXX" is no token a CA asks for.
 */
static int
provision_file(const char *root, const char *token, const char *keyauth,
    char *why, size_t whylen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct afile_chunk c;

	if (provision_path(dir, sizeof(dir), root, "/.well-known", "") != 0 ||
	    provision_path(path, sizeof(path), root, PROVISION_DIR "/",
	    token) != 0) {
		snprintf(why, whylen, "webroot path too long");
		return -1;
	}
	if (provision_mkdir(dir) != 0 || (snprintf(dir, sizeof(dir), "%s%s",
	    root, PROVISION_DIR), provision_mkdir(dir)) != 0) {
		snprintf(why, whylen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	c.p = keyauth;
	c.len = strlen(keyauth);
	return afile_write(path, NULL, NULL, &c, 1, 0644, (gid_t)-1, 0, NULL,
	    why, whylen) == 0 ? 0 : -1;
}

/* dns-01's TXT value: base64url(SHA-256(key authorization)). */
static char *
provision_txt(const char *keyauth)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(keyauth, strlen(keyauth), md, &len, EVP_sha256(), NULL))
		return NULL;
	return jws_b64url(md, len);
}

static int
provision_hook(const char *hook, const char *phase, const char *type,
    const char *identifier, const char *token, const char *value,
    char *why, size_t whylen)
{
	char *argv[7];
	pid_t pid;
	int st, e;

	argv[0] = (char *)hook;
	argv[1] = (char *)phase;
	argv[2] = (char *)type;
	argv[3] = (char *)identifier;
	argv[4] = (char *)token;
	argv[5] = (char *)value;
	argv[6] = NULL;
	/* The hook's stdout would corrupt the document stream: stderr. */
	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, 2, 1) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)
	    != 0 ||
	    /* Nothing else: not the connection to the CA, nor any file. */
	    posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0) {
		snprintf(why, whylen, "hook %s: cannot set up", hook);
		return -1;
	}
	e = posix_spawn(&pid, hook, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		snprintf(why, whylen, "hook %s: %s", hook, strerror(e));
		return -1;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			snprintf(why, whylen, "hook %s: %s", hook,
			    strerror(errno));
			return -1;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		snprintf(why, whylen, "hook %s %s exited with status %d", hook,
		    phase, WEXITSTATUS(st));
	else
		snprintf(why, whylen, "hook %s %s killed by signal %d", hook,
		    phase, WTERMSIG(st));
	return -1;
}

int
provision_run(const struct provision *p, const char *phase,
    const char *type, const char *identifier, const char *token,
    const char *keyauth, char *why, size_t whylen)
{
	char path[PATH_MAX], *txt = NULL;
	int rc;

	if (!provision_token_ok(token)) {
		snprintf(why, whylen, "token is not base64url");
		return -1;
	}
	if (p->webroot != NULL) {
		if (strcmp(phase, "begin") == 0)
			return provision_file(p->webroot, token, keyauth, why,
			    whylen);
		if (provision_path(path, sizeof(path), p->webroot,
		    PROVISION_DIR "/", token) != 0 ||
		    (unlink(path) != 0 && errno != ENOENT)) {
			snprintf(why, whylen, "%s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (strcmp(type, "dns-01") == 0 && (txt = provision_txt(keyauth)) ==
	    NULL) {
		snprintf(why, whylen, "cannot hash the key authorization");
		return -1;
	}
	rc = provision_hook(p->hook, phase, type, identifier, token,
	    txt != NULL ? txt : keyauth, why, whylen);
	free(txt);
	return rc;
}
