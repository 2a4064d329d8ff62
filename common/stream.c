/* stream: the shared JSON Lines loop. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "state.h"
#include "stream.h"

/*
 * Reads one line into *buf (grown as needed, capped at STREAM_MAX_LINE).
 * Returns the length, -1 at end of input, -2 on a read error, -3 when the
 * line was too long (the rest of it is consumed).
 */
static long
stream_getline(FILE *in, char **buf, size_t *cap)
{
	size_t len = 0;
	int c, toolong = 0;
	char *nb;

	while ((c = getc(in)) != EOF) {
		if (c == '\n')
			break;
		if (toolong || len + 1 >= STREAM_MAX_LINE) {
			toolong = 1;
			continue;
		}
		if (len + 2 > *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			if ((nb = realloc(*buf, ncap)) == NULL)
				return -2;
			*buf = nb;
			*cap = ncap;
		}
		(*buf)[len++] = (char)c;
	}
	if (ferror(in))
		return -2;
	if (c == EOF && len == 0 && !toolong)
		return -1;
	if (toolong)
		return -3;
	if (*buf != NULL)
		(*buf)[len] = '\0';
	return (long)len;
}

static int
stream_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* Prints the one line that says why a document failed in this step. */
static void
stream_report(const char *inname, unsigned long lineno, const json_t *doc)
{
	const json_t *e = json_object_get(doc, "error");
	const char *id = state_str(e, "identifier");
	const char *type = state_str(e, "type");
	const char *detail = state_str(e, "detail");

	diag_warnx("%s:%lu: %s%s%s: %s", inname, lineno,
	    id != NULL ? id : "", id != NULL ? ": " : "",
	    type != NULL ? type : "error", detail != NULL ? detail : "");
}

/*
 * Writes doc and its newline with one write(2), so that commands run in
 * parallel into one file (xargs -P) do not interleave their documents.
 */
static int
stream_write(FILE *out, const json_t *doc)
{
	char *s;
	size_t len, off = 0;
	ssize_t n;
	int rc = 0;

	if (fflush(out) == EOF || (s = json_dumps(doc, JSON_COMPACT)) == NULL)
		return -1;
	len = strlen(s);
	s[len++] = '\n'; /* replaces the NUL: s is written by length */
	while (off < len && rc == 0) {
		n = write(fileno(out), s + off, len - off);
		if (n == -1 && errno != EINTR)
			rc = -1;
		else if (n > 0)
			off += (size_t)n;
	}
	free(s);
	return rc;
}

/* Parses one line; NULL (after a message) when it is not a JSON object. */
static json_t *
stream_parse(const char *buf, size_t len, const char *inname,
    unsigned long lineno)
{
	json_error_t jerr;
	json_t *doc;

	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		diag_warnx("%s:%lu:%d: %s", inname, lineno, jerr.column,
		    jerr.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		diag_warnx("%s:%lu:1: not a JSON object", inname, lineno);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/*
 * Reads the next document: 1 with *doc and *lineno, 0 at the end, -1
 * when reading cannot go on (a read error). Lines that are not documents
 * are reported and skipped with *status 2.
 */
static int
stream_next(FILE *in, const char *inname, char **buf, size_t *cap,
    unsigned long *lineno, json_t **doc, int *status)
{
	const char *line;
	size_t len;
	long n;

	while ((n = stream_getline(in, buf, cap)) != -1) {
		(*lineno)++;
		if (n == -2) {
			diag_warnx("%s:%lu: %s", inname, *lineno,
			    strerror(errno));
			*status = 2;
			return -1;
		}
		if (n == -3) {
			diag_warnx("%s:%lu:1: line longer than %u bytes",
			    inname, *lineno, STREAM_MAX_LINE);
			*status = 2;
			continue;
		}
		/*
		 * A UTF-8 byte order mark that some editors write at the start
		 * of a file is no part of the first document; anywhere else it
		 * is a byte JSON does not allow, and the parser says so.
		 */
		line = *buf; /* NULL for an empty first line */
		len = (size_t)n;
		if (*lineno == 1 && len >= 3 &&
		    memcmp(*buf, "\xef\xbb\xbf", 3) == 0) {
			line += 3;
			len -= 3;
		}
		if (stream_blank(line, len))
			continue;
		if ((*doc = stream_parse(line, len, inname, *lineno)) == NULL) {
			*status = 2;
			continue;
		}
		return 1;
	}
	return 0;
}

/* Runs the step on doc, unless it failed before (and not all). */
static void
stream_do(json_t *doc, stream_step step, void *arg, int all)
{
	if (!state_failed(doc) || all)
		(void)step(doc, arg);
}

/*
 * After the step: reports a failure of this step, writes doc. Returns
 * the status it makes, 2 on a write error.
 */
static int
stream_done(FILE *out, const char *inname, unsigned long lineno,
    const json_t *doc, int had_error)
{
	if (!had_error && state_failed(doc))
		stream_report(inname, lineno, doc);
	if (stream_write(out, doc) != 0) {
		diag_warnx("<stdout>: %s", strerror(errno));
		return 2;
	}
	return state_failed(doc) ? 1 : 0;
}

static int
stream_loop(FILE *in, const char *inname, FILE *out, stream_step step,
    void *arg, int all)
{
	char *buf = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	json_t *doc;
	int status = 0, had_error, s;

	while (stream_next(in, inname, &buf, &cap, &lineno, &doc,
	    &status) == 1) {
		had_error = state_failed(doc);
		stream_do(doc, step, arg, all);
		s = stream_done(out, inname, lineno, doc, had_error);
		json_decref(doc);
		if (s > status)
			status = s;
		if (s == 2)
			break;
	}
	free(buf);
	return status;
}

int
stream_run(FILE *in, const char *inname, FILE *out, stream_step step,
    void *arg)
{
	return stream_loop(in, inname, out, step, arg, 0);
}

int
stream_run_all(FILE *in, const char *inname, FILE *out, stream_step step,
    void *arg)
{
	return stream_loop(in, inname, out, step, arg, 1);
}

/*
 * The parallel loop. Documents get sequence numbers in input order;
 * slot seq % window holds document seq from its reading to its writing.
 * Workers start them in order (next_start), finish them in any order,
 * and the writer writes next_write once it is done.
 */
struct stream_slot {
	json_t		*doc;
	unsigned long	 lineno;
	int		 had_error;
	int		 done;
};

struct stream_par {
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;  /* a document to start, or the end */
	pthread_cond_t		 ready; /* next_write is done, or the end */
	pthread_cond_t		 room;  /* a slot was freed */
	struct stream_slot	*slots;
	unsigned long		 window;
	unsigned long		 next_read, next_start, next_write;
	int			 eof;    /* nothing more will be read */
	int			 broken; /* writing failed: stop */
	int			 status; /* the writer's */
	stream_step		 step;
	const char		*inname;
	FILE			*out;
};

struct stream_worker {
	struct stream_par	*p;
	void			*arg;
	pthread_t		 t;
	int			 verbosity; /* the starting thread's -v */
};

static void *
stream_work(void *v)
{
	struct stream_worker *w = v;
	struct stream_par *p = w->p;
	struct stream_slot *sl;

	diag_verbosity = w->verbosity;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->next_start == p->next_read && !p->eof)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->next_start == p->next_read)
			break;
		sl = &p->slots[p->next_start++ % p->window];
		pthread_mutex_unlock(&p->mu);
		if (!p->broken)
			stream_do(sl->doc, p->step, w->arg, 0);
		pthread_mutex_lock(&p->mu);
		sl->done = 1;
		pthread_cond_broadcast(&p->ready);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void *
stream_writer(void *v)
{
	struct stream_par *p = v;
	struct stream_slot *sl;
	int s;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		sl = &p->slots[p->next_write % p->window];
		while (p->next_write < p->next_read ? !sl->done : !p->eof)
			pthread_cond_wait(&p->ready, &p->mu);
		if (p->next_write == p->next_read)
			break;
		pthread_mutex_unlock(&p->mu);
		s = p->broken ? 0 : stream_done(p->out, p->inname, sl->lineno,
		    sl->doc, sl->had_error);
		json_decref(sl->doc);
		pthread_mutex_lock(&p->mu);
		sl->doc = NULL;
		sl->done = 0;
		if (s > p->status)
			p->status = s;
		if (s == 2)
			p->broken = 1;
		p->next_write++;
		pthread_cond_broadcast(&p->room);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
stream_run_par(FILE *in, const char *inname, FILE *out, stream_step step,
    void **args, unsigned n)
{
	struct stream_par p;
	struct stream_worker *w = NULL;
	pthread_t writer;
	char *buf = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	unsigned i, started = 0;
	json_t *doc;
	int status = 0, writing = 0;

	if (n <= 1)
		return stream_run(in, inname, out, step, args[0]);
	/* Jansson's hash seed before any thread could race to make it. */
	json_object_seed(0);
#ifdef M_ARENA_MAX
	/*
	 * glibc gives each thread a heap of its own (up to eight per core),
	 * each keeping what its thread freed: memory would grow with n.
	 * The threads spend their time waiting on the CA, not in malloc, so
	 * two heaps are plenty.
	 */
	mallopt(M_ARENA_MAX, 2);
#endif
	memset(&p, 0, sizeof(p));
	p.window = 2 * (unsigned long)n;
	p.step = step;
	p.inname = inname;
	p.out = out;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.ready, NULL);
	pthread_cond_init(&p.room, NULL);
	if ((p.slots = calloc(p.window, sizeof(*p.slots))) == NULL ||
	    (w = calloc(n, sizeof(*w))) == NULL) {
		diag_warnx("out of memory");
		status = 2;
		goto out;
	}
	writing = pthread_create(&writer, NULL, stream_writer, &p) == 0;
	for (i = 0; writing && i < n; i++) {
		w[i].p = &p;
		w[i].arg = args[i];
		w[i].verbosity = diag_verbosity;
		if (pthread_create(&w[i].t, NULL, stream_work, &w[i]) != 0)
			break;
		started++;
	}
	if (!writing || started == 0) {
		diag_warnx("cannot start threads: %s", strerror(errno));
		status = 2;
	}
	while (writing && started > 0 && stream_next(in, inname, &buf, &cap,
	    &lineno, &doc, &status) == 1) {
		pthread_mutex_lock(&p.mu);
		while (p.next_read - p.next_write >= p.window && !p.broken)
			pthread_cond_wait(&p.room, &p.mu);
		if (p.broken) {
			pthread_mutex_unlock(&p.mu);
			json_decref(doc);
			break;
		}
		p.slots[p.next_read % p.window].doc = doc;
		p.slots[p.next_read % p.window].lineno = lineno;
		p.slots[p.next_read % p.window].had_error = state_failed(doc);
		p.next_read++;
		pthread_cond_signal(&p.work);
		pthread_mutex_unlock(&p.mu);
	}
	pthread_mutex_lock(&p.mu);
	p.eof = 1;
	pthread_cond_broadcast(&p.work);
	pthread_cond_broadcast(&p.ready);
	pthread_mutex_unlock(&p.mu);
	for (i = 0; i < started; i++)
		pthread_join(w[i].t, NULL);
	if (writing)
		pthread_join(writer, NULL);
	if (p.status > status)
		status = p.status;
out:
	free(buf);
	free(w);
	free(p.slots);
	pthread_cond_destroy(&p.room);
	pthread_cond_destroy(&p.ready);
	pthread_cond_destroy(&p.work);
	pthread_mutex_destroy(&p.mu);
	return status;
}

int
stream_run_ctx(FILE *in, const char *inname, FILE *out, stream_step step,
    const struct stream_ctx *c, unsigned n)
{
	char *ctxs, why[512];
	void **args;
	unsigned i, ready;
	int status = 2;

	ctxs = calloc(n, c->size);
	args = calloc(n, sizeof(*args));
	if (ctxs == NULL || args == NULL) {
		diag_warnx("out of memory");
		goto out;
	}
	for (ready = 0; ready < n; ready++) {
		args[ready] = ctxs + (size_t)ready * c->size;
		memcpy(args[ready], c->proto, c->size);
		if (c->setup(args[ready], why, sizeof(why)) != 0) {
			diag_warnx("%s", why);
			ready++;
			goto done;
		}
	}
	status = stream_run_par(in, inname, out, step, args, n);
done:
	for (i = 0; i < ready; i++)
		c->done(args[i]);
out:
	free(ctxs);
	free(args);
	return status;
}
