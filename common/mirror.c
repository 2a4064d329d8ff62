/*
 * mirror: copying names between stores (mirror.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "key.h"
#include "mirror.h"
#include "progress.h"

/* A listing's callback state. */
struct mirror_walk {
	struct store		*from, *to;
	FILE			*out;   /* mirror_copy(): the names copied */
	int			 out_tty; /* out is a terminal */
	int			 mirror;
	struct mirror_count	*c;
	int			 err;   /* 1: to could not be written */
	/* mirror_pass(): from's names, sorted, then to's to remove. */
	char			**names;
	size_t			 n, cap;
	char			**gone;
	size_t			 ngone, capgone;
	unsigned long		 nto;
	struct progress		 pr;    /* the names done of all */
	unsigned long		 done;
};

/* Appends a copy of name to *v; 0 or -1. */
static int
mirror_push(char ***v, size_t *n, size_t *cap, const char *name)
{
	char **nv;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		if ((nv = realloc(*v, *cap * sizeof(**v))) == NULL)
			return -1;
		*v = nv;
	}
	if (((*v)[*n] = strdup(name)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static void
mirror_free(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

static int
mirror_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies one name of from (meta borrowed) into to; 0, or -1 with why. */
static int
mirror_one(struct mirror_walk *w, const char *name, const json_t *meta,
    char *why, size_t whylen)
{
	char *pem = NULL;
	size_t len = 0, off = 0;
	int rc;

	if ((rc = store_read(w->from, name, &pem, &len, &off, why,
	    whylen)) == -1)
		return -1;
	rc = store_copy(w->to, name, meta, rc == 0 ? pem : NULL, len, off,
	    w->mirror, why, whylen);
	if (pem != NULL)
		key_pem_free(pem, len + 1);
	switch (rc) {
	case 0:
		w->c->copied++;
		if (w->out_tty)
			progress_hide(&w->pr);
		if (w->out != NULL && fprintf(w->out, "%s\n", name) < 0)
			return -1;
		diag_verbose(1, "%s: copied", name);
		break;
	case 1:
		w->c->unchanged++;
		break;
	case 2:
		w->c->refused++;
		diag_warnx("%s", why);
		break;
	default:
		return -1;
	}
	return 0;
}

/* One name more done: the progress line, refusals counted as failures. */
static void
mirror_tick(struct mirror_walk *w)
{
	w->done++;
	progress_show(&w->pr, w->done, w->c->failed + w->c->refused);
}

static int
mirror_each(const char *name, json_t *meta, void *arg)
{
	struct mirror_walk *w = arg;
	char why[512];
	int rc = 0;

	if (meta == NULL) {
		w->c->failed++;
		diag_warnx("%s: metadata: %s", name, errno == EBADMSG ?
		    "not a JSON object" : strerror(errno));
	} else if (mirror_one(w, name, meta, why, sizeof(why)) != 0) {
		w->c->failed++;
		diag_warnx("%s", why);
		if (store_broken(w->from) || store_broken(w->to)) {
			w->err = 1;
			rc = 1; /* the rest would fail alike */
		}
	}
	mirror_tick(w);
	return rc;
}

/* store_list()'s callback that counts the names. */
static int
mirror_counted(const char *name, json_t *meta, void *arg)
{
	(void)name;
	(void)meta;
	(*(unsigned long *)arg)++;
	return 0;
}

/* The reason a listing of s failed. */
static void
mirror_list_why(struct store *s, const char *which, char *why, size_t whylen)
{
	if (store_error(s) != NULL)
		snprintf(why, whylen, "%s", store_error(s));
	else
		snprintf(why, whylen, "%s store: %s", which, strerror(errno));
}

int
mirror_copy(struct store *from, struct store *to, FILE *out, int quiet,
    struct mirror_count *c, char *why, size_t whylen)
{
	struct mirror_walk w;
	unsigned long total = 0;
	int rc;

	memset(&w, 0, sizeof(w));
	w.from = from;
	w.to = to;
	w.out = out;
	w.out_tty = out != NULL && isatty(fileno(out));
	w.c = c;
	/* The total only for a line that is shown: a listing more. */
	if (progress_wanted(quiet) &&
	    store_list(from, mirror_counted, &total) == -1) {
		mirror_list_why(from, "source", why, whylen);
		return -1;
	}
	progress_start(&w.pr, "copy", total, quiet);
	progress_show(&w.pr, 0, 0);
	rc = store_list(from, mirror_each, &w);
	progress_end(&w.pr);
	if (rc == -1) {
		mirror_list_why(from, "source", why, whylen);
		return -1;
	}
	if (w.err) {
		snprintf(why, whylen, "a store was lost: rerun to finish");
		return -1;
	}
	return 0;
}

static int
mirror_collect(const char *name, json_t *meta, void *arg)
{
	struct mirror_walk *w = arg;

	(void)meta;
	return mirror_push(&w->names, &w->n, &w->cap, name) == 0 ? 0 : -1;
}

static int
mirror_gone(const char *name, json_t *meta, void *arg)
{
	struct mirror_walk *w = arg;
	const char *key = name;

	(void)meta;
	w->nto++;
	if (w->n > 0 && bsearch(&key, w->names, w->n, sizeof(*w->names),
	    mirror_cmp) != NULL)
		return 0;
	return mirror_push(&w->gone, &w->ngone, &w->capgone, name) == 0 ? 0 :
	    -1;
}

int
mirror_pass(struct store *from, struct store *to, int force, int quiet,
    struct mirror_count *c, char *why, size_t whylen)
{
	struct mirror_walk w;
	size_t i;
	int rc = -1;

	memset(&w, 0, sizeof(w));
	w.from = from;
	w.to = to;
	w.mirror = 1;
	w.c = c;
	if (store_list(from, mirror_collect, &w) != 0) {
		mirror_list_why(from, "source", why, whylen);
		goto out;
	}
	if (w.n > 0) /* qsort() and bsearch() want an array */
		qsort(w.names, w.n, sizeof(*w.names), mirror_cmp);
	if (store_list(to, mirror_gone, &w) != 0) {
		mirror_list_why(to, "mirror", why, whylen);
		goto out;
	}
	if (!force && w.ngone > 0 && w.ngone * 2 > w.nto) {
		snprintf(why, whylen, "would remove %zu of the mirror's %lu"
		    " names, more than half (the source holds %zu): not done;"
		    " --force if that is meant", w.ngone, w.nto, w.n);
		rc = 1;
		goto out;
	}
	/* Every name of from, then those to remove: the total is known. */
	progress_start(&w.pr, "mirror", (unsigned long)(w.n + w.ngone),
	    quiet);
	progress_show(&w.pr, 0, 0);
	if (store_list(from, mirror_each, &w) == -1) {
		mirror_list_why(from, "source", why, whylen);
		goto out;
	}
	if (w.err) {
		snprintf(why, whylen, "a store was lost during the pass");
		goto out;
	}
	for (i = 0; i < w.ngone; i++) {
		if (store_remove(to, w.gone[i], why, whylen) == -1) {
			c->failed++;
			diag_warnx("%s", why);
		} else {
			c->removed++;
			diag_verbose(1, "%s: removed", w.gone[i]);
		}
		mirror_tick(&w);
	}
	rc = 0;
out:
	progress_end(&w.pr);
	mirror_free(w.names, w.n);
	mirror_free(w.gone, w.ngone);
	return rc;
}

int
mirror_name(struct store *from, struct store *to, const char *name,
    struct mirror_count *c, char *why, size_t whylen)
{
	struct mirror_walk w;
	json_t *m;
	int rc;

	memset(&w, 0, sizeof(w));
	w.from = from;
	w.to = to;
	w.mirror = 1;
	w.c = c;
	if ((m = store_get(from, name)) == NULL) {
		if (errno == EINVAL)
			return 0; /* not a name: never stored */
		if (errno != ENOENT) {
			snprintf(why, whylen, "%s: %s", name,
			    store_error(from) != NULL ? store_error(from) :
			    strerror(errno));
			return -1;
		}
		if ((rc = store_remove(to, name, why, whylen)) == -1)
			return -1;
		if (rc == 0) {
			c->removed++;
			diag_verbose(1, "%s: removed", name);
		}
		return 0;
	}
	rc = mirror_one(&w, name, m, why, whylen);
	json_decref(m);
	return rc;
}

/*
 * store_watch()'s callback: the names changed, collected, so that a name
 * changed several times (a claim, a put, a release) is copied once.
 */
static int
mirror_changed(const char *name, void *arg)
{
	struct mirror_walk *w = arg;

	if (mirror_push(&w->names, &w->n, &w->cap, name) != 0)
		diag_warnx("%s: out of memory", name);
	return 0;
}

/* Copies each name collected once, then forgets them. */
static void
mirror_apply(struct mirror_walk *w)
{
	char why[512];
	size_t i;

	qsort(w->names, w->n, sizeof(*w->names), mirror_cmp);
	for (i = 0; i < w->n; i++) {
		if (i > 0 && strcmp(w->names[i], w->names[i - 1]) == 0)
			continue;
		if (mirror_name(w->from, w->to, w->names[i], w->c, why,
		    sizeof(why)) != 0)
			diag_warnx("%s", why);
	}
	while (w->n > 0)
		free(w->names[--w->n]);
}

/* Says why, then waits the next of 1, 2, 4 ... 60 seconds. */
static void
mirror_backoff(int *backoff, const char *why)
{
	diag_warnx("%s", why);
	*backoff = *backoff == 0 ? 1 : *backoff * 2 > 60 ? 60 : *backoff * 2;
	(void)sleep((unsigned)*backoff);
}

void
mirror_follow(struct store *from, struct store *to, int force, int quiet,
    int interval, char *why, size_t whylen)
{
	struct mirror_count c;
	struct mirror_walk w;
	int rc, backoff = 0, need_pass = 1, quiet_pass = quiet;

	memset(&w, 0, sizeof(w));
	w.from = from;
	w.to = to;
	w.mirror = 1;
	w.c = &c;

	for (;;) {
		memset(&c, 0, sizeof(c));
		if (need_pass) {
			/*
			 * Listen first: a change committed during the pass is
			 * then not lost, but queued and applied after it.
			 */
			rc = store_watch(from, 0, mirror_changed, &w, why,
			    whylen);
			if (rc == -1) {
				mirror_backoff(&backoff, why);
				quiet_pass = quiet;
				continue;
			}
			rc = mirror_pass(from, to, force, quiet_pass, &c, why,
			    whylen);
			if (rc == 0) {
				diag_verbose(1, "pass: %lu copied, %lu removed, "
				    "%lu unchanged, %lu failed", c.copied,
				    c.removed, c.unchanged, c.failed);
				if (backoff > 0)
					diag_warnx("caught up: %lu copied, %lu "
					    "removed", c.copied, c.removed);
				need_pass = 0;
				backoff = 0;
				/* Polls show nothing; a pass after a loss does. */
				quiet_pass = 1;
			} else {
				mirror_backoff(&backoff, why);
				quiet_pass = quiet;
				continue;
			}
		}
		rc = store_watch(from, 1000, mirror_changed, &w, why, whylen);
		if (w.n > 0)
			mirror_apply(&w);
		if (rc == -2) {
			(void)sleep((unsigned)interval);
			need_pass = 1;
		} else if (rc == -1) {
			diag_warnx("%s", why);
			need_pass = 1; /* changes were missed meanwhile */
			quiet_pass = quiet;
			backoff = backoff == 0 ? 1 : backoff;
			(void)sleep((unsigned)backoff);
		}
	}
}
