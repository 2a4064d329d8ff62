/* afile: whole-or-nothing file writes (see afile.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"

int
afile_sync_dir(const char *dir)
{
	int fd, rc, e;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	e = errno;
	(void)close(fd);
	errno = e;
	return rc;
}

static int
afile_write_all(int fd, const struct afile_chunk *c, size_t nc)
{
	const char *p;
	size_t i, done;
	ssize_t n;

	for (i = 0; i < nc; i++) {
		p = c[i].p;
		for (done = 0; done < c[i].len; done += (size_t)n) {
			n = write(fd, p + done, c[i].len - done);
			if (n == -1 && errno == EINTR)
				n = 0;
			else if (n == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * The directory of path (into dir) and the temporary file's template
 * (into tmp). -1 when a path is too long.
 */
static int
afile_names(const char *path, const char *tmpdir, const char *tag,
    char *dir, char *tmp)
{
	const char *base = strrchr(path, '/');
	size_t dlen = base != NULL ? (size_t)(base - path) : 1;
	int n;

	base = base != NULL ? base + 1 : path;
	if (dlen == 0) /* "/name" */
		dlen = 1;
	if (dlen >= PATH_MAX)
		return -1;
	if (strchr(path, '/') != NULL)
		memcpy(dir, path, dlen);
	else
		memcpy(dir, ".", 1);
	dir[dlen] = '\0';
	if (tag == NULL)
		tag = base;
	if (tmpdir != NULL)
		n = snprintf(tmp, PATH_MAX, "%s/%s.XXXXXX", tmpdir, tag);
	else
		n = snprintf(tmp, PATH_MAX, "%s/.%s.XXXXXX", dir, tag);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* mkstemp, making tmpdir (0700) the first time it is needed. */
static int
afile_mkstemp(char *tmp, const char *tmpdir)
{
	int fd;

	if ((fd = mkstemp(tmp)) != -1 || errno != ENOENT || tmpdir == NULL)
		return fd;
	if (mkdir(tmpdir, 0700) != 0 && errno != EEXIST)
		return -1;
	/* mkstemp may have changed the Xs before failing. */
	memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
	return mkstemp(tmp);
}

int
afile_write(const char *path, const char *tmpdir, const char *tag,
    const struct afile_chunk *c, size_t nc, mode_t mode, gid_t gid,
    int flags, const char *label, char *why, size_t whylen)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	const char *step = "";
	int fd = -1, rc = -1, made = 0, e;

	if (label == NULL)
		label = path;
	if (afile_names(path, tmpdir, tag, dir, tmp) != 0) {
		errno = ENAMETOOLONG;
		goto out;
	}
	if ((fd = afile_mkstemp(tmp, tmpdir)) == -1)
		goto out;
	made = 1;
	if (afile_write_all(fd, c, nc) != 0 ||
	    ((flags & (AFILE_DURABLE | AFILE_SYNC)) && fsync(fd) != 0))
		goto out;
	if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) != 0) {
		step = "chown: ";
		goto out;
	}
	if (fchmod(fd, mode) != 0) {
		step = "chmod: ";
		goto out;
	}
	e = close(fd);
	fd = -1;
	if (e != 0)
		goto out;
	if (flags & AFILE_EXCL) {
		/* link() fails with EEXIST when another writer won. */
		if (link(tmp, path) != 0) {
			if (errno == EEXIST)
				rc = 1;
			goto out;
		}
	} else if (rename(tmp, path) != 0)
		goto out;
	else
		made = 0;
	if ((flags & AFILE_DURABLE) && afile_sync_dir(dir) != 0) {
		step = "fsync directory: ";
		goto out;
	}
	rc = 0;
out:
	e = errno;
	if (rc == -1)
		snprintf(why, whylen, "%s: %s%s", label, step, strerror(e));
	if (fd != -1)
		(void)close(fd);
	if (made)
		(void)unlink(tmp); /* after link() the file has its name */
	errno = e;
	return rc;
}
