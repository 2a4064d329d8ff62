/*
 * store_file: the file backend (store_backend.h; the layout is
 * acmepipe-store(5), kept byte for byte):
 *
 *   DIR/certs/STEM.pem    chain then key
 *   DIR/meta/STEM.json    metadata (jansson JSON_INDENT(2) and "\n")
 *   DIR/private/          pending certificate keys
 *   DIR/tmp/              temporary files of writes in progress
 *   DIR/lock/STEM.lock    one lock file per name being updated
 *   DIR/journal/          a put's or drop's files until they are in
 *                         place (sfile_apply())
 *
 * Files are written with afile_write(), durable, via DIR/tmp, which
 * writers killed half way leave temporary files in; the next writer to
 * open the store removes those older than STORE_TMP_AGE.
 *
 * An update holds flock(LOCK_EX) on DIR/lock/STEM.lock while it reads the
 * metadata, runs the change and writes: updates of one name queue there,
 * and nothing else waits. Readers take no lock: every file is replaced by
 * rename(), so they see it whole. Dropping a name unlinks its lock file
 * while holding it; a writer that got the lock on an unlinked file sees
 * that (the path no longer names its file) and locks again.
 *
 * Reasons name files relative to the store ("certs/NAME.pem: No space
 * left on device") and never hold key material.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "afile.h"
#include "cert.h"
#include "ident.h"
#include "key.h"
#include "store_backend.h"

#define SFILE_DIR_MODE     0755 /* DIR, certs/, meta/, lock/ when created */
#define SFILE_PRIVATE_MODE 0700 /* private/ when created */
#define SFILE_META_MODE    0644 /* meta/NAME.json: no key material */
#define SFILE_META_MAX     (1024 * 1024) /* larger metadata is ignored */
#define SFILE_PEM_MAX      (1024 * 1024) /* a chain and its key */
#define SFILE_STEM_MAX     272  /* a file name stem: names are <= 253 */
#define SFILE_NOSYNC       0x100 /* sfile_write(): no fsync at all */

/* The subdirectories whose descriptors are kept for their fsyncs. */
static const char *const sfile_subs[] = { "certs", "meta", "journal" };
#define SFILE_NSUBS (sizeof(sfile_subs) / sizeof(sfile_subs[0]))

struct sfile {
	char	*dir;      /* owned */
	char	*priv;     /* DIR/private, owned */
	char	*tmp;      /* DIR/tmp, owned */
	mode_t	 mode;
	gid_t	 gid;
	int	*dfd;      /* owned: sfile_subs' descriptors, -1 until used */
};

static int
sfile_claims(const char *where)
{
	return where != NULL && strstr(where, "://") == NULL;
}

/*
 * The file name stem for name ("*.x" becomes "_.x"), refusing a name that
 * is not already in normalised form: nothing but [a-z0-9.-] (and the
 * leading "_") can reach a path.
 */
static int
sfile_stem(const char *name, char *buf, size_t buflen, char *why,
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

/* DIR/SUB/STEM.EXT into buf; -1 when too long. */
static int
sfile_path(char *buf, size_t buflen, const struct sfile *s, const char *sub,
    const char *stem, const char *ext)
{
	int n;

	n = snprintf(buf, buflen, "%s/%s/%s%s", s->dir, sub, stem, ext);
	return n < 0 || (size_t)n >= buflen ? -1 : 0;
}

/*
 * A descriptor of DIR/SUB, opened the first time and kept, so that the
 * directory syncs of every write cost no open; -1 with errno.
 */
static int
sfile_dirfd(const struct sfile *s, const char *sub)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < SFILE_NSUBS && strcmp(sfile_subs[i], sub) != 0; i++)
		;
	if (i < SFILE_NSUBS && s->dfd[i] != -1)
		return s->dfd[i];
	if (snprintf(path, sizeof(path), "%s/%s", s->dir, sub) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (i == SFILE_NSUBS) /* not kept: opened for this once */
		return -1;
	return s->dfd[i] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* fsync of DIR/SUB; 0 or -1 with why. */
static int
sfile_sync(const struct sfile *s, const char *sub, char *why, size_t whylen)
{
	int fd;

	if ((fd = sfile_dirfd(s, sub)) == -1 || fsync(fd) != 0) {
		snprintf(why, whylen, "%s: fsync directory: %s", sub,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Writes SUB/STEM.EXT durably, via DIR/tmp, as afile_write(); with
 * AFILE_SYNC in flags the caller syncs the directory, with SFILE_NOSYNC
 * nothing is synced.
 */
static int
sfile_write(const struct sfile *s, const char *sub, const char *stem,
    const char *ext, const struct afile_chunk *c, size_t nc, mode_t mode,
    gid_t gid, int flags, char *why, size_t whylen)
{
	char path[PATH_MAX], tag[SFILE_STEM_MAX + 16], label[SFILE_STEM_MAX + 16];
	int rc, sync;

	/* A staged file is named for people by where it is going. */
	snprintf(label, sizeof(label), "%s/%s%s", strcmp(sub, "journal") != 0 ?
	    sub : strcmp(ext, ".pem") == 0 ? "certs" : strcmp(ext, ".json") ==
	    0 ? "meta" : sub, stem, ext);
	snprintf(tag, sizeof(tag), "%s.%s%s", sub, stem, ext);
	if (sfile_path(path, sizeof(path), s, sub, stem, ext) != 0) {
		snprintf(why, whylen, "%s: path too long", label);
		return -1;
	}
	if (flags & SFILE_NOSYNC)
		return afile_write(path, s->tmp, tag, c, nc, mode, gid,
		    flags & ~SFILE_NOSYNC, label, why, whylen);
	sync = !(flags & AFILE_SYNC); /* else the caller syncs SUB */
	rc = afile_write(path, s->tmp, tag, c, nc, mode, gid,
	    flags | AFILE_SYNC, label, why, whylen);
	if (rc == 0 && sync && sfile_sync(s, sub, why, whylen) != 0)
		return -1;
	return rc;
}

/* Removes what writers killed half way left in DIR/tmp. */
static void
sfile_sweep(const struct sfile *s)
{
	struct dirent *e;
	struct stat st;
	time_t old = time(NULL) - STORE_TMP_AGE;
	DIR *d;

	if ((d = opendir(s->tmp)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_mtime < old)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	(void)closedir(d);
}

/*
 * Reads and parses size bytes of fd in one go (json_loadfd() would read
 * them one at a time). NULL with *e set when they cannot be read or
 * parsed.
 */
static json_t *
sfile_meta_parse(int fd, size_t size, int *e)
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
 * Reads SUB/STEM.json (SUB meta/, or journal/ for a staged one). NULL
 * with errno ENOENT when the name is not
 * managed, NULL with another errno on a read error. Metadata that cannot
 * be parsed reads as {"name": name}, so the name stays managed and the
 * next write heals it; when strict, it is NULL with errno EBADMSG instead.
 */
static json_t *
sfile_meta_read(const struct sfile *s, const char *sub, const char *stem,
    const char *name, int strict)
{
	char path[PATH_MAX];
	struct stat st;
	json_t *m = NULL;
	int fd = -1, e;

	if (sfile_path(path, sizeof(path), s, sub, stem, ".json") != 0) {
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
	else if (st.st_size > SFILE_META_MAX)
		e = EFBIG;
	else
		m = sfile_meta_parse(fd, (size_t)st.st_size, &e);
	(void)close(fd);
	return store_meta_named(m, name, strict, e);
}

/*
 * Creates path with mode when missing and make is 1; it must then be a
 * directory.
 */
static int
sfile_dir(const char *path, mode_t mode, int make, char *why, size_t whylen)
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

static void
sfile_close(void *b)
{
	struct sfile *s = b;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s->dfd != NULL && i < SFILE_NSUBS; i++)
		if (s->dfd[i] != -1)
			(void)close(s->dfd[i]);
	free(s->dfd);
	free(s->dir);
	free(s->priv);
	free(s->tmp);
	free(s);
}

static char *
sfile_join(const char *dir, const char *sub)
{
	size_t len = strlen(dir) + strlen(sub) + 2;
	char *p;

	if ((p = malloc(len)) != NULL)
		snprintf(p, len, "%s/%s", dir, sub);
	return p;
}

static int sfile_lock(const struct sfile *, const char *, int, char *,
    size_t, char *, size_t);
static int sfile_recover(const struct sfile *, const char *, char *,
    size_t);

/*
 * Runs sfile_recover() for every name a killed writer left something in
 * DIR/journal for, unless its lock is held (its writer is alive, or the
 * next one is on it). DIR/journal is empty but for such files, so this
 * is one read of an empty directory per open. A ".put" mark, which an
 * earlier version of this journal wrote, goes once its name is recovered.
 */
static void
sfile_recover_all(const struct sfile *s)
{
	static const char *const exts[] = { ".pem", ".json", ".drop", ".put" };
	char path[PATH_MAX], lock[PATH_MAX], stem[SFILE_STEM_MAX], why[320];
	struct dirent *e;
	size_t len, el, i;
	DIR *d;
	int fd;

	if (snprintf(path, sizeof(path), "%s/journal", s->dir) >=
	    (int)sizeof(path) || (d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
			el = strlen(exts[i]);
			if (len > el && strcmp(e->d_name + len - el,
			    exts[i]) == 0)
				break;
		}
		if (e->d_name[0] == '.' || i == sizeof(exts) / sizeof(exts[0]) ||
		    len - el >= sizeof(stem))
			continue;
		memcpy(stem, e->d_name, len - el);
		stem[len - el] = '\0';
		if ((fd = sfile_lock(s, stem, 0, lock, sizeof(lock), why,
		    sizeof(why))) < 0)
			continue;
		if (sfile_recover(s, stem, why, sizeof(why)) == 0 &&
		    strcmp(exts[i], ".put") == 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
		(void)close(fd);
	}
	(void)closedir(d);
}

static void *
sfile_open(const char *dir, const struct store_opts *o, char *why,
    size_t whylen)
{
	static const struct {
		const char	*sub;
		mode_t		 mode;
	} subs[] = {
		{ "certs", SFILE_DIR_MODE },
		{ "meta", SFILE_DIR_MODE },
		{ "private", SFILE_PRIVATE_MODE },
	};
	struct sfile *s = NULL;
	char path[PATH_MAX];
	size_t i;
	int make = o == NULL || !o->existing;

	if (dir == NULL || *dir == '\0') {
		snprintf(why, whylen, "store: empty path");
		return NULL;
	}
	if (sfile_dir(dir, SFILE_DIR_MODE, make, why, whylen) != 0)
		return NULL;
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, subs[i].sub) >=
		    (int)sizeof(path)) {
			snprintf(why, whylen, "%s: path too long", dir);
			return NULL;
		}
		if (sfile_dir(path, subs[i].mode, make, why, whylen) != 0)
			return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dir = strdup(dir)) == NULL ||
	    (s->priv = sfile_join(dir, "private")) == NULL ||
	    (s->tmp = sfile_join(dir, "tmp")) == NULL ||
	    (s->dfd = malloc(SFILE_NSUBS * sizeof(*s->dfd))) == NULL) {
		snprintf(why, whylen, "%s: out of memory", dir);
		sfile_close(s);
		return NULL;
	}
	for (i = 0; i < SFILE_NSUBS; i++)
		s->dfd[i] = -1;
	s->mode = o != NULL ? o->mode : 0640;
	s->gid = o != NULL ? o->gid : (gid_t)-1;
	if (make)
		sfile_sweep(s);
	sfile_recover_all(s);
	return s;
}

static const char *
sfile_private_dir(void *b)
{
	return ((struct sfile *)b)->priv;
}

static json_t *
sfile_get(void *b, const char *name, int strict)
{
	char stem[SFILE_STEM_MAX], why[320];

	if (sfile_stem(name, stem, sizeof(stem), why, sizeof(why)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	return sfile_meta_read(b, "meta", stem, name, strict);
}

/*
 * Locks DIR/lock/STEM.lock (into path): the open descriptor, or -1 with
 * why; without wait, -2 when another process holds it. The directory is
 * made the first time, like DIR/tmp.
 */
static int
sfile_lock(const struct sfile *s, const char *stem, int wait, char *path,
    size_t pathlen, char *why, size_t whylen)
{
	char dir[PATH_MAX];
	struct stat fst, pst;
	int fd;

	if (sfile_path(path, pathlen, s, "lock", stem, ".lock") != 0 ||
	    snprintf(dir, sizeof(dir), "%s/lock", s->dir) >= (int)sizeof(dir)) {
		snprintf(why, whylen, "lock/%s.lock: path too long", stem);
		return -1;
	}
	for (;;) {
		fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0644);
		if (fd == -1 && errno == ENOENT &&
		    (mkdir(dir, SFILE_DIR_MODE) == 0 || errno == EEXIST))
			continue;
		if (fd == -1)
			break;
		while (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
			if (!wait && errno == EWOULDBLOCK) {
				(void)close(fd);
				return -2;
			}
			if (errno != EINTR)
				goto fail;
		}
		/* Still the file the path names: not dropped meanwhile. */
		if (fstat(fd, &fst) != 0)
			goto fail;
		if (stat(path, &pst) != 0) {
			if (errno != ENOENT)
				goto fail;
		} else if (pst.st_ino == fst.st_ino && pst.st_dev == fst.st_dev)
			return fd;
		(void)close(fd);
	}
	snprintf(why, whylen, "lock/%s.lock: %s", stem, strerror(errno));
	return -1;
fail:
	snprintf(why, whylen, "lock/%s.lock: %s", stem, strerror(errno));
	(void)close(fd);
	return -1;
}

/* Writes SUB/STEM.json from m (borrowed). */
static int
sfile_meta_write(const struct sfile *s, const char *sub, const char *stem,
    const json_t *m, int flags, char *why, size_t whylen)
{
	struct afile_chunk c[2];
	char *text = NULL;
	int rc;

	if ((text = json_dumps(m, JSON_INDENT(2))) == NULL) {
		snprintf(why, whylen, "meta/%s.json: out of memory", stem);
		return -1;
	}
	c[0].p = text;
	c[0].len = strlen(text);
	c[1].p = "\n";
	c[1].len = 1;
	rc = sfile_write(s, sub, stem, ".json", c, 2, SFILE_META_MODE,
	    (gid_t)-1, flags, why, whylen);
	free(text);
	return rc;
}

/*
 * Unlinks SUB/STEM.EXT, or with to renames journal/STEM.EXT there; with
 * sync, then syncs SUB: 0, 1 when the file was absent, -1 with why.
 */
static int
sfile_move(const struct sfile *s, const char *sub, const char *stem,
    const char *ext, int to, int sync, char *why, size_t whylen)
{
	char path[PATH_MAX], from[PATH_MAX];

	if (sfile_path(path, sizeof(path), s, sub, stem, ext) != 0 ||
	    sfile_path(from, sizeof(from), s, "journal", stem, ext) != 0) {
		snprintf(why, whylen, "%s/%s%s: path too long", sub, stem, ext);
		return -1;
	}
	if ((to ? rename(from, path) : unlink(path)) != 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(why, whylen, "%s/%s%s: %s", sub, stem, ext,
		    strerror(errno));
		return -1;
	}
	return sync ? sfile_sync(s, sub, why, whylen) : 0;
}

/* Unlinks SUB/STEM.EXT durably: 0, 1 when it was absent, -1 with why. */
static int
sfile_unlink(const struct sfile *s, const char *sub, const char *stem,
    const char *ext, char *why, size_t whylen)
{
	return sfile_move(s, sub, stem, ext, 0, 1, why, whylen);
}

/* 1 when SUB/STEM.EXT exists, 0 when not, -1 with errno. */
static int
sfile_exists(const struct sfile *s, const char *sub, const char *stem,
    const char *ext)
{
	char path[PATH_MAX];

	if (sfile_path(path, sizeof(path), s, sub, stem, ext) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (access(path, F_OK) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/*
 * Moves journal/STEM.EXT to SUB/STEM.EXT, unsynced: the staged file was
 * made to last by the sync of journal/, and rename() leaves it in one
 * directory or the other, so should a power cut undo the move, the file
 * is back in journal/ and sfile_recover() moves it again.
 */
static int
sfile_settle(const struct sfile *s, const char *stem, const char *sub,
    const char *ext, char *why, size_t whylen)
{
	return sfile_move(s, sub, stem, ext, 1, 0, why, whylen) == -1 ? -1 : 0;
}

/*
 * Removes both files of a name, metadata first: once it is gone the name
 * is no longer renewed.
 */
static int
sfile_unlink_both(const struct sfile *s, const char *stem, char *why,
    size_t whylen)
{
	return sfile_unlink(s, "meta", stem, ".json", why, whylen) == -1 ||
	    sfile_unlink(s, "certs", stem, ".pem", why, whylen) == -1 ? -1 : 0;
}

/*
 * 1 when the staged journal/STEM.json describes certs/STEM.pem (same
 * serial), that is when it is the rest of a put whose certificate is in
 * place already; 0 when not or either cannot be read.
 */
static int
sfile_staged_describes(const struct sfile *s, const char *stem)
{
	struct cert_info ci;
	char path[PATH_MAX], ign[320];
	const char *serial;
	size_t len = 0;
	char *pem = NULL;
	json_t *m;
	int same = 0;

	if ((m = sfile_meta_read(s, "journal", stem, "", 1)) == NULL)
		return 0;
	serial = json_string_value(json_object_get(m, "serial"));
	if (serial != NULL && sfile_path(path, sizeof(path), s, "certs", stem,
	    ".pem") == 0 && (pem = key_read_file(path, SFILE_PEM_MAX, &len, ign,
	    sizeof(ign))) != NULL && cert_check(pem, store_key_offset(pem, len),
	    NULL, NULL, &ci, ign, sizeof(ign)) == 0)
		same = strcmp(ci.serial, serial) == 0;
	if (pem != NULL)
		key_pem_free(pem, len);
	json_decref(m);
	return same;
}

/*
 * Finishes, with the name's lock held, what a writer killed half way left
 * in journal/ (see sfile_apply()):
 *
 *   STEM.drop                  both files of the name go, then the mark;
 *   STEM.pem and STEM.json     a committed put: both go into place,
 *                              the certificate first;
 *   STEM.json alone            a put whose certificate is in place, when
 *                              it describes certs/STEM.pem: it goes into
 *                              place; else one whose certificate never
 *                              became durable: it goes;
 *   STEM.pem alone             a put that never committed: it goes.
 *
 * Staged files that go are unlinked unsynced: one that comes back after
 * a power cut meets the same rule again. 0, or -1 with why.
 */
static int
sfile_recover(const struct sfile *s, const char *stem, char *why,
    size_t whylen)
{
	int pem, meta, drop;

	if ((pem = sfile_exists(s, "journal", stem, ".pem")) == -1 ||
	    (meta = sfile_exists(s, "journal", stem, ".json")) == -1 ||
	    (drop = sfile_exists(s, "journal", stem, ".drop")) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		snprintf(why, whylen, "journal/%s: %s", stem, strerror(errno));
		return -1;
	}
	if (drop)
		return sfile_unlink_both(s, stem, why, whylen) == 0 &&
		    sfile_unlink(s, "journal", stem, ".drop", why, whylen) !=
		    -1 ? 0 : -1;
	if (pem && meta)
		return sfile_settle(s, stem, "certs", ".pem", why, whylen) ||
		    sfile_settle(s, stem, "meta", ".json", why, whylen) ? -1 : 0;
	if (meta && sfile_staged_describes(s, stem))
		return sfile_settle(s, stem, "meta", ".json", why, whylen);
	if (meta)
		(void)sfile_move(s, "journal", stem, ".json", 0, 0, why, whylen);
	if (pem)
		(void)sfile_move(s, "journal", stem, ".pem", 0, 0, why, whylen);
	return 0;
}


/* DIR/journal, made (0700) the first time. */
static int
sfile_journal(const struct sfile *s, char *why, size_t whylen)
{
	char dir[PATH_MAX];

	if (sfile_dirfd(s, "journal") != -1)
		return 0; /* there already */
	if (snprintf(dir, sizeof(dir), "%s/journal", s->dir) >=
	    (int)sizeof(dir) || (mkdir(dir, 0700) != 0 && errno != EEXIST)) {
		snprintf(why, whylen, "journal: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A name's two files change together, through the journal. A put stages
 * the new certificate, then the new metadata, each written whole and
 * synced, in DIR/journal/; one sync of journal/ then commits to both
 * (the put is durable from here); then they are renamed into place,
 * certificate first, without further syncs (sfile_settle()). Three
 * fsyncs in all, where writing the two files in place durably would take
 * four. A drop marks journal/STEM.drop durably and unlinks both. A writer
 * killed half way leaves the rest to sfile_recover(), which the next
 * update of the name, and the next open of the store, run; one killed
 * before its commit leaves things as they were. Readers in between may
 * see the new certificate with the old metadata until then.
 */
static int
sfile_apply(const struct sfile *s, const char *stem, json_t *m, int what,
    const struct store_cert_pem *cert, char *why, size_t whylen)
{
	struct afile_chunk c[3];
	int meta, crt;

	if (what == STORE_DROP) {
		if ((meta = sfile_exists(s, "meta", stem, ".json")) == -1 ||
		    (crt = sfile_exists(s, "certs", stem, ".pem")) == -1) {
			snprintf(why, whylen, "%s: %s", stem, strerror(errno));
			return -1;
		}
		if (!meta && !crt)
			return STORE_KEEP;
		/* Empty: only its name matters, so only journal/ is synced. */
		return sfile_journal(s, why, whylen) == 0 &&
		    sfile_write(s, "journal", stem, ".drop", NULL, 0, 0600,
		    (gid_t)-1, SFILE_NOSYNC, why, whylen) == 0 &&
		    sfile_sync(s, "journal", why, whylen) == 0 &&
		    sfile_recover(s, stem, why, whylen) == 0 ? STORE_DROP : -1;
	}
	if (what != STORE_WRITE)
		return what;
	if (cert == NULL)
		return sfile_meta_write(s, "meta", stem, m, 0, why, whylen) == 0 ?
		    STORE_WRITE : -1;
	c[0].p = cert->chain;
	c[0].len = cert->chainlen;
	c[1].p = "\n";
	c[1].len = cert->chainlen > 0 &&
	    cert->chain[cert->chainlen - 1] != '\n' ? 1 : 0;
	c[2].p = cert->key;
	c[2].len = cert->keylen;
	if (sfile_journal(s, why, whylen) != 0 ||
	    sfile_write(s, "journal", stem, ".pem", c, 3, s->mode, s->gid,
	    AFILE_SYNC, why, whylen) != 0 ||
	    sfile_meta_write(s, "journal", stem, m, AFILE_SYNC, why,
	    whylen) != 0 ||
	    sfile_sync(s, "journal", why, whylen) != 0)
		return -1; /* not committed: the next update clears it */
	if (sfile_recover(s, stem, why, whylen) != 0)
		return -1; /* committed: the next update finishes it */
	return STORE_WRITE;
}

static int
sfile_update(void *b, const char *name, const struct store_cert_pem *cert,
    store_change_fn fn, void *arg, char *why, size_t whylen)
{
	char stem[SFILE_STEM_MAX], lock[PATH_MAX];
	struct sfile *s = b;
	json_t *m = NULL;
	int fd, rc = -1;

	if (sfile_stem(name, stem, sizeof(stem), why, whylen) != 0)
		return -1;
	if ((fd = sfile_lock(s, stem, 1, lock, sizeof(lock), why,
	    whylen)) == -1)
		return -1;
	if (sfile_recover(s, stem, why, whylen) != 0)
		goto out;
	if ((m = sfile_meta_read(s, "meta", stem, name, 0)) == NULL &&
	    errno != ENOENT) {
		snprintf(why, whylen, "meta/%s.json: %s", stem,
		    strerror(errno));
		goto out;
	}
	if ((rc = fn(&m, arg, why, whylen)) != -1)
		rc = sfile_apply(s, stem, m, rc, cert, why, whylen);
	/* A dropped name leaves no lock file; see sfile_lock(). */
	if (rc == STORE_DROP || (rc == STORE_KEEP && m == NULL))
		(void)unlink(lock);
out:
	json_decref(m);
	(void)close(fd); /* and with it the lock */
	return rc;
}

static int
sfile_read(void *b, const char *name, char **pem, size_t *len,
    size_t *keyoff, char *why, size_t whylen)
{
	char stem[SFILE_STEM_MAX], path[PATH_MAX], ign[320];
	struct sfile *s = b;

	if (sfile_stem(name, stem, sizeof(stem), why, whylen) != 0)
		return -1;
	if (sfile_path(path, sizeof(path), s, "certs", stem, ".pem") != 0) {
		snprintf(why, whylen, "certs/%s.pem: path too long", stem);
		return -1;
	}
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		snprintf(why, whylen, "%s: no certificate", name);
		return 1;
	}
	if ((*pem = key_read_file(path, SFILE_PEM_MAX, len, ign,
	    sizeof(ign))) == NULL) {
		snprintf(why, whylen, "certs/%s.pem: %s", stem,
		    errno == ENOENT ? "no certificate" : strerror(errno));
		return errno == ENOENT ? 1 : -1;
	}
	*keyoff = store_key_offset(*pem, *len);
	return 0;
}

/*
 * The managed name (into name) and file stem (into stem) for a directory
 * entry of meta/; -1 for temporary files and anything else that is not
 * the "STEM.json" of a valid name.
 */
static int
sfile_entry_name(const char *entry, char *name, size_t namelen, char *stem,
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
	if (sfile_stem(name, stem, stemlen, ign, sizeof(ign)) != 0 ||
	    strlen(stem) != len - 5 || strncmp(entry, stem, len - 5) != 0)
		return -1;
	return 0;
}

static int
sfile_list(void *b, int (*fn)(const char *name, json_t *meta, void *arg),
    void *arg)
{
	char path[PATH_MAX], name[SFILE_STEM_MAX], stem[SFILE_STEM_MAX];
	struct sfile *s = b;
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
		if (sfile_entry_name(de->d_name, name, sizeof(name), stem,
		    sizeof(stem)) != 0)
			continue;
		m = sfile_meta_read(s, "meta", stem, name, 1);
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

const struct store_ops store_file_ops = {
	.name = "files",
	.claims = sfile_claims,
	.open = sfile_open,
	.close = sfile_close,
	.get = sfile_get,
	.update = sfile_update,
	.list = sfile_list,
	.read = sfile_read,
	.private_dir = sfile_private_dir,
};
