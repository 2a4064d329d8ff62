/*
 * afile: the one way acmepipe writes a file, whole or not at all.
 *
 * The bytes go to a temporary file first (mkstemp, so mode 0600 from the
 * first byte, before any secret is written), then it gets its final group
 * and mode, then it takes the final name: rename() over an older file, or
 * link() when an existing file must win (AFILE_EXCL). A reader sees the
 * old file or the new one, never a part. On any failure the temporary
 * file is removed and the old file stays.
 *
 * Durability is the caller's choice, by what a loss would cost:
 *   AFILE_DURABLE  fsync of the file before it is named and of its
 *                  directory after: it survives power loss. For what
 *                  exists nowhere else: stored certificates and keys,
 *                  store metadata, pending certificate keys, account keys.
 *   (none)         atomic against crashes of the writer, but after power
 *                  loss the file may be the old one or empty. Enough for
 *                  what is rebuilt on demand: the account URL cache
 *                  (repaired with onlyReturnExisting) and webroot tokens
 *                  (a challenge retried).
 */
#ifndef AFILE_H
#define AFILE_H

#include <stddef.h>
#include <sys/types.h>

/* One piece of a file's content; borrowed. */
struct afile_chunk {
	const void	*p;
	size_t		 len;
};

#define AFILE_EXCL    0x1 /* an existing file wins: nothing written, 1 */
#define AFILE_DURABLE 0x2 /* fsync the file and its directory */
#define AFILE_SYNC    0x4 /* fsync the file only: the caller syncs the
			     directory once for several files */

/*
 * Writes the chunks c[0..nc) to path with mode and group gid ((gid_t)-1
 * keeps the process's). The temporary file is made in tmpdir, which is
 * created (0700) when missing, as "TMPDIR/TAG.XXXXXX"; tmpdir NULL means
 * path's own directory and ".BASENAME.XXXXXX" there. tag NULL is path's
 * base name. Both must be on path's file system.
 *
 * Returns 0 when written, 1 with AFILE_EXCL when path existed (nothing
 * changed), -1 with errno set and why "LABEL: [step: ]reason", label
 * naming the file for people (path when NULL). why never holds content.
 */
int afile_write(const char *path, const char *tmpdir, const char *tag,
    const struct afile_chunk *c, size_t nc, mode_t mode, gid_t gid,
    int flags, const char *label, char *why, size_t whylen);

/* fsync of the directory dir; 0 or -1 with errno. */
int afile_sync_dir(const char *dir);

#endif
