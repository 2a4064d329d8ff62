/*
 * mirror: names from one store into another, through store.h only, so
 * that any backend is either side: `certstore copy` (a whole store moved,
 * a newer certificate never overwritten) and `certstore mirror` (a front
 * end's local file store kept equal to the shared one: a pass, or a pass
 * then every change as it comes).
 */
#ifndef MIRROR_H
#define MIRROR_H

#include <stdio.h>

#include "store.h"

/* What a copy or a pass did, name by name. */
struct mirror_count {
	unsigned long	copied, unchanged, refused, removed, failed;
};

/*
 * certstore copy: every name of from, with its metadata and certificate,
 * into to (store_copy(), not mirror), each copied name printed on out as
 * a line; a name to holds a newer certificate for is refused with a
 * warning. Unless quiet, on a terminal, the progress line "copy: N/TOTAL,
 * F failed, ..." (progress.h; refused names count as failed), for which
 * from is listed once more first to count its names (only then). Returns
 * 0, or -1 with why when from cannot be listed.
 */
int mirror_copy(struct store *from, struct store *to, FILE *out, int quiet,
    struct mirror_count *c, char *why, size_t whylen);

/*
 * One mirror pass: every name of from into to (store_copy() as mirror),
 * then the names to holds and from does not are removed from to. A pass
 * that would remove more than half of to's names does nothing unless
 * force (a store that reads as empty by mistake must not blank every
 * site). Unless quiet, on a terminal, the progress line "mirror:
 * N/TOTAL, ..." (progress.h) over from's names and those removed, a
 * total the pass knows before it copies. Returns 0, 1 when it refused so
 * (why says why), -1 with why when from or to cannot be listed.
 */
int mirror_pass(struct store *from, struct store *to, int force, int quiet,
    struct mirror_count *c, char *why, size_t whylen);

/*
 * One name, as a change of from reports it: copied into to when from
 * holds it, removed from to when it no longer does. 0, or -1 with why.
 */
int mirror_name(struct store *from, struct store *to, const char *name,
    struct mirror_count *c, char *why, size_t whylen);

/*
 * certstore mirror --follow: a pass (force as for mirror_pass()), then
 * each change within a second of its commit (store_watch()). When from
 * is lost, retries with a backoff from 1 s up to 60 s and makes a full
 * pass once it is back; to keeps what it has meanwhile. A backend that
 * cannot be watched is passed over every interval seconds. A pass that
 * refuses (see mirror_pass()) is tried again with the same backoff, and
 * each failure is one line on stderr. Unless quiet, the first pass shows
 * its progress, and so does a pass after from was lost or a pass failed;
 * the passes that poll, and the changes, do not. Does not return: a signal ends it,
 * and since every file is replaced whole, at any point.
 */
void mirror_follow(struct store *from, struct store *to, int force,
    int quiet, int interval, char *why, size_t whylen);

#endif
