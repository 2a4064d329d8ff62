/*
 * store: the file backend (see store.h and acmepipe-store(5)).
 *
 * Every file is written the same way: a temporary "SUB.FILE.XXXXXX" in
 * DIR/tmp (mkstemp, so 0600 from the first byte), all bytes written,
 * fsync, then its final mode and group, then rename() over the old file
 * (link() when an existing file must win), then fsync of the directory. On
 * any failure the temporary file is unlinked and the old file stays. A
 * writer killed half way leaves its temporary file in DIR/tmp, never next
 * to the files served, and the next writer to open the store removes
 * temporary files older than STORE_TMP_AGE.
 *
 * Reasons in why name the file relative to the store ("certs/NAME.pem:
 * No space left on device"); they never hold key material.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ident.h"
#include "state.h"
#include "store.h"

#define STORE_DIR_MODE     0755 /* DIR, certs/ and meta/ when created */
#define STORE_PRIVATE_MODE 0700 /* private/ when created */
#define STORE_META_MODE    0644 /* meta/NAME.json: no key material */
#define STORE_META_MAX     (1024 * 1024) /* larger metadata is ignored */
#define STORE_FNAME_MAX    272  /* a file name stem: names are <= 253 octets */

struct store {
	char	*dir;      /* owned */
	char	*priv;     /* DIR/private, owned */
	mode_t	 mode;
	gid_t	 gid;
};

/* One piece of a file's content; borrowed. */
struct store_chunk {
	const char	*p;
	size_t		 len;
};

/*
 * The file name stem for name ("*.x" becomes "_.x"), refusing a name that
 * is not already in normalised form: nothing but [a-z0-9.-] (and the
 * leading "_") can reach a path.
 */
static int
store_stem(const char *name, char *buf, size_t buflen, char *why,
    size_t whylen)
{
	char *n = NULL, ign[128];
	int rc = -1;

	if (name == NULL ||
	    (n = ident_normalize(name, ign, sizeof(ign))) == NULL ||
	    strcmp(n, name) != 0) {
		snprintf(why, whylen, "%s: invalid name",
		    name != NULL ? name : "(null)");
		goto out;
	}
	if (snprintf(buf, buflen, "%s%s", ident_is_wildcard(n) ? "_" : "",
	    ident_is_wildcard(n) ? n + 1 : n) >= (int)buflen) {
		snprintf(why, whylen, "%s: invalid name", name);
		goto out;
	}
	rc = 0;
out:
	free(n);
	return rc;
}

static int
store_path(char *buf, size_t buflen, const struct store *s, const char *sub,
    const char *file)
{
	int n;

	n = snprintf(buf, buflen, "%s/%s/%s", s->dir, sub, file);
	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}

static int
store_write_all(int fd, const struct store_chunk *c, size_t nc)
{
	size_t i, done;
	ssize_t n;

	for (i = 0; i < nc; i++) {
		for (done = 0; done < c[i].len; done += (size_t)n) {
			n = write(fd, c[i].p + done, c[i].len - done);
			if (n == -1 && errno == EINTR)
				n = 0;
			else if (n == -1)
				return -1;
		}
	}
	return 0;
}

static int
store_sync_dir(const struct store *s, const char *sub)
{
	char path[PATH_MAX];
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s/%s", s->dir, sub) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	(void)close(fd);
	return rc;
}

/*
 * Writes sub/file atomically with mode and group gid ((gid_t)-1 keeps the
 * process's). When replace is 0 an existing file wins: returns 1 and
 * leaves it. Returns 0 when written, -1 with why on failure.
 */
/* mkstemp in DIR/tmp, made (0700) the first time it is needed. */
static int
store_mkstemp(const struct store *s, char *tmp)
{
	char dir[PATH_MAX];
	int fd;

	if ((fd = mkstemp(tmp)) != -1 || errno != ENOENT)
		return fd;
	if (snprintf(dir, sizeof(dir), "%s/tmp", s->dir) >= (int)sizeof(dir) ||
	    (mkdir(dir, 0700) != 0 && errno != EEXIST))
		return -1;
	/* mkstemp left XXXXXX in place on failure: try again. */
	memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
	return mkstemp(tmp);
}

/* Removes what writers killed half way left in DIR/tmp. */
static void
store_sweep(const struct store *s)
{
	char dir[PATH_MAX];
	struct dirent *e;
	struct stat st;
	time_t old = time(NULL) - STORE_TMP_AGE;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%s/tmp", s->dir) >= (int)sizeof(dir) ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < old)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	(void)closedir(d);
}

static int
store_write(const struct store *s, const char *sub, const char *file,
    const struct store_chunk *c, size_t nc, mode_t mode, gid_t gid,
    int replace, char *why, size_t whylen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *what = "";
	int fd = -1, rc = -1, made = 0;

	if (store_path(path, sizeof(path), s, sub, file) != 0 ||
	    snprintf(tmp, sizeof(tmp), "%s/tmp/%s.%s.XXXXXX", s->dir, sub,
	    file) >= (int)sizeof(tmp)) {
		snprintf(why, whylen, "%s/%s: path too long", sub, file);
		return -1;
	}
	if ((fd = store_mkstemp(s, tmp)) == -1)
		goto out;
	made = 1;
	if (store_write_all(fd, c, nc) != 0 || fsync(fd) != 0)
		goto out;
	if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0) {
		what = "chown: ";
		goto out;
	}
	if (fchmod(fd, mode) != 0) {
		what = "chmod: ";
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (!replace && link(tmp, path) != 0) {
		if (errno == EEXIST)
			rc = 1;
		goto out;
	}
	if (replace && rename(tmp, path) != 0)
		goto out;
	made = !replace; /* after link() the temporary name still exists */
	if (store_sync_dir(s, sub) != 0) {
		what = "fsync directory: ";
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		snprintf(why, whylen, "%s/%s: %s%s", sub, file, what,
		    strerror(errno));
	if (fd != -1)
		(void)close(fd);
	if (made)
		(void)unlink(tmp);
	return rc;
}

/* Writes meta/STEM.json from m (borrowed). Returns as store_write(). */
static int
store_meta_write(const struct store *s, const char *stem, const json_t *m,
    int replace, char *why, size_t whylen)
{
	char file[STORE_FNAME_MAX + 8];
	struct store_chunk c[2];
	char *text = NULL;
	int rc = -1;

	snprintf(file, sizeof(file), "%s.json", stem);
	if ((text = json_dumps(m, JSON_INDENT(2))) == NULL) {
		snprintf(why, whylen, "meta/%s: out of memory", file);
		return -1;
	}
	c[0].p = text;
	c[0].len = strlen(text);
	c[1].p = "\n";
	c[1].len = 1;
	rc = store_write(s, "meta", file, c, 2, STORE_META_MODE, (gid_t)-1,
	    replace, why, whylen);
	free(text);
	return rc;
}

/*
 * Reads and parses size bytes of fd in one go (json_loadfd() would read
 * them one at a time). NULL with *e set when they cannot be read or
 * parsed.
 */
static json_t *
store_meta_parse(int fd, size_t size, int *e)
{
	json_error_t jerr;
	json_t *m = NULL;
	size_t done = 0;
	ssize_t n = 0;
	char *buf;

	if ((buf = malloc(size > 0 ? size : 1)) == NULL) {
		*e = ENOMEM;
		return NULL;
	}
	while (done < size) {
		n = read(fd, buf + done, size - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (n == -1)
		*e = errno;
	else if ((m = json_loadb(buf, done, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		*e = EBADMSG;
	free(buf);
	return m;
}

/*
 * Reads meta/STEM.json. NULL with errno ENOENT when the name is not
 * managed, NULL with another errno on a read error. Metadata that cannot
 * be parsed reads as {"name": name}, so the name stays managed and the
 * next write heals it; when strict, it is NULL with errno EBADMSG instead.
 */
static json_t *
store_meta_read(const struct store *s, const char *stem, const char *name,
    int strict)
{
	char file[STORE_FNAME_MAX + 8], path[PATH_MAX];
	struct stat st;
	json_t *m = NULL;
	int fd = -1, e;

	snprintf(file, sizeof(file), "%s.json", stem);
	if (store_path(path, sizeof(path), s, "meta", file) != 0) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	e = EBADMSG; /* cannot be parsed */
	if (fstat(fd, &st) != 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EISDIR;
	else if (st.st_size > STORE_META_MAX)
		e = EFBIG;
	else
		m = store_meta_parse(fd, (size_t)st.st_size, &e);
	(void)close(fd);
	if (m != NULL && !json_is_object(m)) {
		json_decref(m);
		m = NULL;
		e = EBADMSG;
	}
	if (m == NULL && strict) {
		errno = e;
		return NULL;
	}
	if (m == NULL && (m = json_object()) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (json_object_set_new(m, "name", json_string(name)) != 0) {
		json_decref(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

/*
 * Creates path with mode when missing and make is 1; it must then be a
 * directory.
 */
static int
store_dir(const char *path, mode_t mode, int make, char *why, size_t whylen)
{
	struct stat st;

	if (!make)
		errno = EEXIST;
	else if (mkdir(path, mode) == 0) {
		/* Exact mode whatever the umask. */
		if (chmod(path, mode) != 0)
			goto fail;
		return 0;
	}
	if (errno != EEXIST)
		goto fail;
	if (stat(path, &st) != 0)
		goto fail;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s: not a directory", path);
		return -1;
	}
	return 0;
fail:
	snprintf(why, whylen, "%s: %s", path, strerror(errno));
	return -1;
}

int
store_opts_parse(struct store_opts *o, const char *group, const char *mode,
    char *why, size_t whylen)
{
	struct group *gr;
	char *end = NULL;
	unsigned long v;

	o->mode = 0640;
	o->gid = (gid_t)-1;
	o->existing = 0;
	if (group != NULL && (gr = getgrnam(group)) != NULL)
		o->gid = gr->gr_gid;
	else if (group != NULL) {
		errno = 0;
		v = strtoul(group, &end, 10);
		if (*group < '0' || *group > '9' || errno != 0 ||
		    *end != '\0' || v >= (unsigned long)(gid_t)-1) {
			snprintf(why, whylen, "group %s: no such group", group);
			return -1;
		}
		o->gid = (gid_t)v;
	}
	if (mode == NULL)
		return 0;
	errno = 0;
	v = strtoul(mode, &end, 8);
	if (*mode < '0' || *mode > '7' || errno != 0 || *end != '\0' ||
	    v > 0777 || (v & 0400) == 0 || (v & 0007) != 0) {
		snprintf(why, whylen, "mode %s: want octal 0400 to 0770 "
		    "(nothing for others)", mode);
		return -1;
	}
	o->mode = (mode_t)v;
	return 0;
}

struct store *
store_open(const char *dir, const struct store_opts *o, char *why,
    size_t whylen)
{
	static const struct {
		const char	*sub;
		mode_t		 mode;
	} subs[] = {
		{ "certs", STORE_DIR_MODE },
		{ "meta", STORE_DIR_MODE },
		{ "private", STORE_PRIVATE_MODE },
	};
	struct store *s = NULL;
	char path[PATH_MAX];
	size_t i;
	int make = o == NULL || !o->existing;

	if (dir == NULL || *dir == '\0') {
		snprintf(why, whylen, "store: empty path");
		return NULL;
	}
	if (store_dir(dir, STORE_DIR_MODE, make, why, whylen) != 0)
		return NULL;
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, subs[i].sub) >=
		    (int)sizeof(path)) {
			snprintf(why, whylen, "%s: path too long", dir);
			return NULL;
		}
		if (store_dir(path, subs[i].mode, make, why, whylen) != 0)
			return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dir = strdup(dir)) == NULL ||
	    (s->priv = strdup(path)) == NULL) {
		snprintf(why, whylen, "%s: out of memory", dir);
		store_close(s);
		return NULL;
	}
	s->mode = o != NULL ? o->mode : 0640;
	s->gid = o != NULL ? o->gid : (gid_t)-1;
	if (make)
		store_sweep(s);
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	free(s->dir);
	free(s->priv);
	free(s);
}

const char *
store_private_dir(const struct store *s)
{
	return s->priv;
}

/*
 * The metadata to write for a new certificate: the caller's members, then
 * name and stored time; the failure history and last error carry over
 * from old (may be NULL), the run of consecutive failures ends.
 */
static json_t *
store_meta_put(const json_t *old, const json_t *meta, const char *name)
{
	static const char *const keep[] = { "lastError", "failures" };
	json_t *m = NULL, *v;
	char now[32];
	size_t i;
	int bad;

	if ((m = json_pack("{s:s}", "name", name)) == NULL)
		return NULL;
	bad = (meta != NULL && json_object_update(m, (json_t *)meta) != 0) ||
	    json_object_set_new(m, "name", json_string(name)) != 0 ||
	    json_object_set_new(m, "stored",
	    json_string(state_time(0, now, sizeof(now)))) != 0 ||
	    json_object_set_new(m, "failCount", json_integer(0)) != 0;
	(void)json_object_del(m, "firstFailure");
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		(void)json_object_del(m, keep[i]);
		if ((v = json_object_get(old, keep[i])) != NULL)
			bad |= json_object_set(m, keep[i], v) != 0;
	}
	if (bad) {
		json_decref(m);
		return NULL;
	}
	return m;
}

/*
 * The certificate is written before the metadata: if the second write
 * fails, the metadata still describes an older certificate, so renewal
 * comes early rather than late.
 */
int
store_put(struct store *s, const char *name, const char *chain,
    const char *keypem, size_t keylen, const json_t *meta, char *why,
    size_t whylen)
{
	char stem[STORE_FNAME_MAX], file[STORE_FNAME_MAX + 8];
	struct store_chunk c[3];
	json_t *old = NULL, *m = NULL;
	size_t clen;
	int rc = -1;

	if (store_stem(name, stem, sizeof(stem), why, whylen) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s.pem", stem);
	clen = strlen(chain);
	c[0].p = chain;
	c[0].len = clen;
	c[1].p = "\n";
	c[1].len = clen > 0 && chain[clen - 1] != '\n' ? 1 : 0;
	c[2].p = keypem;
	c[2].len = keylen;
	if (store_write(s, "certs", file, c, 3, s->mode, s->gid, 1, why,
	    whylen) != 0)
		goto out;
	if ((old = store_meta_read(s, stem, name, 0)) == NULL &&
	    errno != ENOENT) {
		snprintf(why, whylen, "meta/%s.json: %s", stem,
		    strerror(errno));
		goto out;
	}
	if ((m = store_meta_put(old, meta, name)) == NULL) {
		snprintf(why, whylen, "meta/%s.json: out of memory", stem);
		goto out;
	}
	if (store_meta_write(s, stem, m, 1, why, whylen) != 0)
		goto out;
	rc = 0;
out:
	json_decref(old);
	json_decref(m);
	return rc;
}

json_t *
store_get(struct store *s, const char *name)
{
	char stem[STORE_FNAME_MAX], why[320];

	if (store_stem(name, stem, sizeof(stem), why, sizeof(why)) != 0)
		return NULL;
	return store_meta_read(s, stem, name, 0);
}

int
store_has(struct store *s, const json_t *names, const char *serial)
{
	const json_t *v;
	const char *have;
	json_t *m;
	size_t i;
	int same;

	same = json_array_size(names) > 0 && serial != NULL;
	json_array_foreach(names, i, v) {
		m = store_get(s, json_string_value(v));
		have = state_str(m, "serial");
		same &= have != NULL && strcmp(have, serial) == 0;
		json_decref(m);
	}
	return same;
}

/* Adds error (borrowed) to m's failure bookkeeping. */
static int
store_meta_fail(json_t *m, const json_t *error)
{
	json_t *hist, *e = NULL;
	json_int_t count;
	const char *t;
	char now[32];
	int bad;

	if ((e = json_deep_copy(error)) == NULL)
		return -1;
	hist = json_object_get(m, "failures");
	if (!json_is_array(hist)) {
		hist = json_array();
		if (json_object_set_new(m, "failures", hist) != 0) {
			json_decref(e);
			return -1;
		}
	}
	count = json_integer_value(json_object_get(m, "failCount"));
	if ((t = state_str(error, "time")) == NULL)
		t = state_time(0, now, sizeof(now));
	bad = json_object_set_new(m, "failCount",
	    json_integer(count > 0 ? count + 1 : 1)) != 0;
	if (count <= 0 || json_object_get(m, "firstFailure") == NULL)
		bad |= json_object_set_new(m, "firstFailure",
		    json_string(t)) != 0;
	bad |= json_object_set(m, "lastError", e) != 0;
	bad |= json_array_append_new(hist, e) != 0;
	while (json_array_size(hist) > STORE_HISTORY)
		bad |= json_array_remove(hist, 0) != 0;
	return bad ? -1 : 0;
}

int
store_record_failure(struct store *s, const char *name,
    const json_t *error, char *why, size_t whylen)
{
	char stem[STORE_FNAME_MAX];
	json_t *m = NULL;
	int rc = -1;

	if (store_stem(name, stem, sizeof(stem), why, whylen) != 0)
		return -1;
	if (!json_is_object(error)) {
		snprintf(why, whylen, "%s: no error to record", name);
		return -1;
	}
	if ((m = store_meta_read(s, stem, name, 0)) == NULL) {
		if (errno != ENOENT || (m = json_pack("{s:s}", "name",
		    name)) == NULL) {
			snprintf(why, whylen, "meta/%s.json: %s", stem,
			    strerror(errno));
			goto out;
		}
	}
	/* A rerun on the same failed document records nothing new. */
	if (json_equal(json_object_get(m, "lastError"), (json_t *)error)) {
		rc = 0;
		goto out;
	}
	if (store_meta_fail(m, error) != 0) {
		snprintf(why, whylen, "meta/%s.json: out of memory", stem);
		goto out;
	}
	if (store_meta_write(s, stem, m, 1, why, whylen) != 0)
		goto out;
	rc = 0;
out:
	json_decref(m);
	return rc;
}

/*
 * The metadata of a managed name, for changing it: NULL with *rc 1 (and
 * why) when the name is not managed, -1 on a read error.
 */
static json_t *
store_meta_managed(const struct store *s, const char *stem,
    const char *name, int strict, int *rc, char *why, size_t whylen)
{
	json_t *m;

	if ((m = store_meta_read(s, stem, name, strict)) != NULL)
		return m;
	if (errno == ENOENT) {
		snprintf(why, whylen, "%s: not managed", name);
		*rc = 1;
	} else {
		snprintf(why, whylen, "meta/%s.json: %s", stem,
		    errno == EBADMSG ? "not a JSON object" : strerror(errno));
		*rc = -1;
	}
	return NULL;
}

int
store_set_member(struct store *s, const char *name, const char *serial,
    const char *key, const json_t *value, char *why, size_t whylen)
{
	char stem[STORE_FNAME_MAX];
	const char *have;
	json_t *m = NULL;
	int rc = -1;

	if (store_stem(name, stem, sizeof(stem), why, whylen) != 0)
		return -1;
	if ((m = store_meta_managed(s, stem, name, 1, &rc, why, whylen)) ==
	    NULL)
		return rc;
	have = state_str(m, "serial");
	if (serial == NULL || have == NULL || strcmp(have, serial) != 0) {
		snprintf(why, whylen, "%s: holds another certificate now",
		    name);
		rc = 1;
		goto out;
	}
	if (json_object_set(m, key, (json_t *)value) != 0) {
		snprintf(why, whylen, "meta/%s.json: out of memory", stem);
		goto out;
	}
	rc = store_meta_write(s, stem, m, 1, why, whylen);
out:
	json_decref(m);
	return rc;
}

int
store_add(struct store *s, const char *name, char *why, size_t whylen)
{
	char stem[STORE_FNAME_MAX], now[32];
	json_t *m = NULL;
	int rc;

	if (store_stem(name, stem, sizeof(stem), why, whylen) != 0)
		return -1;
	if ((m = json_pack("{s:s,s:s}", "name", name, "added",
	    state_time(0, now, sizeof(now)))) == NULL) {
		snprintf(why, whylen, "%s: out of memory", name);
		return -1;
	}
	/* link(): metadata that is already there wins, even in a race. */
	rc = store_meta_write(s, stem, m, 0, why, whylen);
	json_decref(m);
	return rc;
}

/* Unlinks sub/file: 0, 1 when it was absent, -1 with why. */
static int
store_unlink(const struct store *s, const char *sub, const char *file,
    char *why, size_t whylen)
{
	char path[PATH_MAX];

	if (store_path(path, sizeof(path), s, sub, file) != 0) {
		snprintf(why, whylen, "%s/%s: path too long", sub, file);
		return -1;
	}
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(why, whylen, "%s/%s: %s", sub, file, strerror(errno));
		return -1;
	}
	if (store_sync_dir(s, sub) != 0) {
		snprintf(why, whylen, "%s: fsync directory: %s", sub,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Metadata first: once it is gone the name is no longer renewed. */
int
store_remove(struct store *s, const char *name, char *why, size_t whylen)
{
	char stem[STORE_FNAME_MAX], file[STORE_FNAME_MAX + 8];
	int meta, cert;

	if (store_stem(name, stem, sizeof(stem), why, whylen) != 0)
		return -1;
	snprintf(file, sizeof(file), "%s.json", stem);
	if ((meta = store_unlink(s, "meta", file, why, whylen)) == -1)
		return -1;
	snprintf(file, sizeof(file), "%s.pem", stem);
	if ((cert = store_unlink(s, "certs", file, why, whylen)) == -1)
		return -1;
	if (meta == 1 && cert == 1) {
		snprintf(why, whylen, "%s: not managed", name);
		return 1;
	}
	return 0;
}

int
store_unpark(struct store *s, const char *name, char *why, size_t whylen)
{
	char stem[STORE_FNAME_MAX], now[32];
	json_t *m = NULL;
	int rc = -1;

	if (store_stem(name, stem, sizeof(stem), why, whylen) != 0)
		return -1;
	if ((m = store_meta_managed(s, stem, name, 0, &rc, why, whylen)) ==
	    NULL)
		return rc;
	(void)json_object_del(m, "firstFailure");
	if (json_object_set_new(m, "failCount", json_integer(0)) != 0 ||
	    json_object_set_new(m, "unparked",
	    json_string(state_time(0, now, sizeof(now)))) != 0) {
		snprintf(why, whylen, "meta/%s.json: out of memory", stem);
		goto out;
	}
	rc = store_meta_write(s, stem, m, 1, why, whylen);
out:
	json_decref(m);
	return rc;
}

/*
 * The managed name (into name) and file stem (into stem) for a directory
 * entry of meta/; -1 for temporary files and anything else that is not
 * the "STEM.json" of a valid name.
 */
static int
store_entry_name(const char *entry, char *name, size_t namelen, char *stem,
    size_t stemlen)
{
	char ign[128];
	size_t len = strlen(entry);
	int wild;

	if (entry[0] == '.' || len <= 5 || len - 5 >= stemlen ||
	    strcmp(entry + len - 5, ".json") != 0)
		return -1;
	wild = strncmp(entry, "_.", 2) == 0;
	if (snprintf(name, namelen, "%s%.*s", wild ? "*" : "",
	    (int)(len - 5 - (size_t)wild), entry + wild) >= (int)namelen)
		return -1;
	/* Only a name that maps back to this very file. */
	if (store_stem(name, stem, stemlen, ign, sizeof(ign)) != 0 ||
	    strlen(stem) != len - 5 || strncmp(entry, stem, len - 5) != 0)
		return -1;
	return 0;
}

int
store_list(struct store *s, int (*fn)(const char *name, json_t *meta,
    void *arg), void *arg)
{
	char path[PATH_MAX], name[STORE_FNAME_MAX], stem[STORE_FNAME_MAX];
	struct dirent *de;
	json_t *m;
	DIR *d = NULL;
	int rc = 0;

	if (snprintf(path, sizeof(path), "%s/meta", s->dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (store_entry_name(de->d_name, name, sizeof(name), stem,
		    sizeof(stem)) != 0)
			continue;
		m = store_meta_read(s, stem, name, 1);
		if (m == NULL && errno == ENOENT) /* removed meanwhile */
			continue;
		rc = fn(name, m, arg); /* m NULL: errno says why */
		json_decref(m);
		if (rc != 0)
			break;
	}
	if (de == NULL && errno != 0)
		rc = -1;
	(void)closedir(d);
	return rc;
}
