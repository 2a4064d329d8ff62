/*
 * renewq: the two outputs of cert-expiring(1) (see renewq.h): the queue of
 * due documents, written most urgent first and limited per registered
 * domain, and the summary for a monitor.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "hash.h"
#include "renewq.h"

const char *
renew_registered_domain(const char *name)
{
	const psl_ctx_t *psl = psl_builtin();
	const char *d;

	if (strncmp(name, "*.", 2) == 0)
		name += 2;
	if (psl == NULL || (d = psl_registrable_domain(psl, name)) == NULL)
		return name;
	return d;
}

/* One due document, kept as its JSON line. */
struct renew_entry {
	long long	 expiry, when;
	char		*name;  /* first identifier, for ties */
	char		*ids;   /* identifiers separated by spaces */
	char		*line;
};

/*
 * The entries in memory, up to about memory bytes; beyond that they are
 * sorted and written to a temporary file (a run), and the runs are merged
 * when the queue is written. A run holds one entry a line:
 * "EXPIRY WHEN NAME<tab>IDS<tab>LINE" (neither names nor compact JSON
 * contain a tab or a newline).
 */
struct renew_queue {
	struct renew_entry	*e;
	size_t			 n, cap;
	size_t			 held, memory;
	FILE			**runs;
	size_t			 nruns;
	int			 tmp_errno; /* why a run failed, or 0 */
};

struct renew_queue *
renew_queue_new(size_t memory)
{
	struct renew_queue *q = calloc(1, sizeof(struct renew_queue));

	if (q != NULL)
		q->memory = memory > 0 ? memory : RENEW_QUEUE_MEMORY;
	return q;
}

/* Frees the entries in memory. */
static void
renew_queue_clear(struct renew_queue *q)
{
	size_t i;

	for (i = 0; i < q->n; i++) {
		free(q->e[i].name);
		free(q->e[i].ids);
		free(q->e[i].line);
	}
	q->n = 0;
	q->held = 0;
}

void
renew_queue_free(struct renew_queue *q)
{
	size_t i;

	if (q == NULL)
		return;
	renew_queue_clear(q);
	for (i = 0; i < q->nruns; i++)
		(void)fclose(q->runs[i]);
	free(q->runs);
	free(q->e);
	free(q);
}

/* The identifiers of doc joined by spaces (new). */
static char *
renew_join(const json_t *ids)
{
	const json_t *v;
	size_t i, len = 1;
	char *s;

	json_array_foreach(ids, i, v)
		len += strlen(json_string_value(v)) + 1;
	if ((s = calloc(1, len)) == NULL)
		return NULL;
	json_array_foreach(ids, i, v) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, json_string_value(v));
	}
	return s;
}

static int
renew_entry_cmp(const void *a, const void *b)
{
	const struct renew_entry *x = a, *y = b;

	if (x->expiry != y->expiry)
		return x->expiry < y->expiry ? -1 : 1;
	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Sorts the entries in memory into a new run. 0, or -1 (errno). */
static int
renew_queue_spill(struct renew_queue *q)
{
	FILE *f, **nr;
	size_t i;

	if ((nr = reallocarray(q->runs, q->nruns + 1, sizeof(*nr))) == NULL)
		return -1;
	q->runs = nr;
	if ((f = tmpfile()) == NULL)
		goto fail;
	q->runs[q->nruns++] = f;
	if (q->n > 1)
		qsort(q->e, q->n, sizeof(q->e[0]), renew_entry_cmp);
	for (i = 0; i < q->n; i++)
		if (fprintf(f, "%lld %lld %s\t%s\t%s\n", q->e[i].expiry,
		    q->e[i].when, q->e[i].name, q->e[i].ids,
		    q->e[i].line) < 0)
			goto fail;
	if (fflush(f) == EOF || fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	renew_queue_clear(q);
	return 0;
fail:
	q->tmp_errno = errno;
	return -1;
}

int
renew_queue_tmp_errno(const struct renew_queue *q)
{
	return q != NULL ? q->tmp_errno : 0;
}

int
renew_queue_add(struct renew_queue *q, const struct renew_info *ri,
    const json_t *doc)
{
	const json_t *ids = json_object_get(doc, "identifiers");
	struct renew_entry *e, *ne;
	size_t ncap;

	if (q->n == q->cap) {
		ncap = q->cap ? q->cap * 2 : 64;
		if ((ne = reallocarray(q->e, ncap, sizeof(*ne))) == NULL)
			return -1;
		q->e = ne;
		q->cap = ncap;
	}
	e = &q->e[q->n];
	memset(e, 0, sizeof(*e));
	e->expiry = ri->has_cert ? ri->not_after : LLONG_MIN;
	e->when = ri->when;
	e->name = strdup(json_string_value(json_array_get(ids, 0)));
	e->ids = renew_join(ids);
	e->line = json_dumps(doc, JSON_COMPACT);
	if (e->name == NULL || e->ids == NULL || e->line == NULL) {
		free(e->name);
		free(e->ids);
		free(e->line);
		return -1;
	}
	q->n++;
	q->held += sizeof(*e) + strlen(e->name) + strlen(e->ids) +
	    strlen(e->line) + 3 * 16; /* the allocator's share, roughly */
	return q->held > q->memory ? renew_queue_spill(q) : 0;
}

/* Documents written per registered domain: open addressing by hash. */
struct renew_count {
	char	*key;
	long	 n;
};

struct renew_counts {
	struct renew_count	*t;
	size_t			 cap, used;
};

/* The domains of one document at most: as many as its identifiers. */
#define RENEW_DOC_DOMAINS 100

/* The slot of key: its own, or the empty one the caller fills. */
static struct renew_count *
renew_count_find(struct renew_counts *c, const char *key, size_t len)
{
	size_t i;

	for (i = hash_bytes(key, len) & (c->cap - 1); c->t[i].key != NULL;
	    i = (i + 1) & (c->cap - 1))
		if (strlen(c->t[i].key) == len &&
		    memcmp(c->t[i].key, key, len) == 0)
			return &c->t[i];
	return &c->t[i];
}

/*
 * Grows the table, before a document's look-ups, so that they find room
 * without growing it: a slot found stays where it is until the document
 * is counted. 0, or -1 when out of memory.
 */
static int
renew_count_reserve(struct renew_counts *c)
{
	struct renew_count *t = c->t;
	size_t i, cap = c->cap, ncap = cap ? cap : 256;

	while ((c->used + RENEW_DOC_DOMAINS) * 2 >= ncap)
		ncap *= 2;
	if (ncap == cap)
		return 0;
	if ((c->t = calloc(ncap, sizeof(*c->t))) == NULL) {
		c->t = t;
		return -1;
	}
	c->cap = ncap;
	for (i = 0; i < cap; i++)
		if (t[i].key != NULL)
			*renew_count_find(c, t[i].key, strlen(t[i].key)) = t[i];
	free(t);
	return 0;
}

/*
 * The slots of the registered domains of ids (space-separated; consumed)
 * into slot, each once, their number into *n. Returns 1 when each has had
 * fewer than max documents, 0 when one is full, -1 when out of memory.
 */
static int
renew_count_room(struct renew_counts *c, char *ids, long max,
    struct renew_count **slot, size_t *n)
{
	const char *d;
	char *p, *save = NULL;
	size_t i;

	*n = 0;
	if (renew_count_reserve(c) != 0)
		return -1;
	for (p = strtok_r(ids, " ", &save); p != NULL &&
	    *n < RENEW_DOC_DOMAINS; p = strtok_r(NULL, " ", &save)) {
		d = renew_registered_domain(p);
		slot[*n] = renew_count_find(c, d, strlen(d));
		if (slot[*n]->key == NULL) {
			if ((slot[*n]->key = strdup(d)) == NULL)
				return -1;
			c->used++;
		}
		for (i = 0; i < *n && slot[i] != slot[*n]; i++)
			continue;
		if (i == *n)
			(*n)++;
	}
	for (i = 0; i < *n; i++)
		if (slot[i]->n >= max)
			return 0;
	return 1;
}

/* What renew_queue_write() writes with, and how far it got. */
struct renew_writer {
	struct renew_counts	 c;
	FILE			*out;
	long			 max;     /* per registered domain; 0: none */
	renew_queue_gate	 gate;    /* or NULL */
	void			*arg;
	long			 written;
};

/*
 * Writes e's line unless its domains are full or the gate keeps it out; a
 * document left out does not count. 0, or -1 (errno) on a write or
 * allocation error, or the gate's. e->ids is consumed.
 */
static int
renew_emit(struct renew_writer *w, struct renew_entry *e)
{
	struct renew_count *slot[RENEW_DOC_DOMAINS];
	char *repl = NULL;
	size_t n = 0, i;
	int take = 1, bad;

	if (w->max > 0 && (take = renew_count_room(&w->c, e->ids, w->max,
	    slot, &n)) == -1) {
		errno = ENOMEM;
		return -1;
	}
	if (take && w->gate != NULL)
		take = w->gate(e->line, &repl, w->arg);
	if (take <= 0)
		return take;
	bad = fputs(repl != NULL ? repl : e->line, w->out) == EOF ||
	    putc('\n', w->out) == EOF;
	free(repl);
	if (bad)
		return -1;
	for (i = 0; i < n; i++)
		slot[i]->n++;
	w->written++;
	return 0;
}

/* The next entry of a run, pointing into *buf; 0, 1 at its end, -1. */
static int
renew_run_next(FILE *f, char **buf, size_t *cap, struct renew_entry *e)
{
	ssize_t len;
	char *p, *t;

	errno = 0;
	if ((len = getline(buf, cap, f)) == -1)
		return errno == 0 || feof(f) ? 1 : -1;
	p = *buf;
	if (len > 0 && p[len - 1] == '\n')
		p[len - 1] = '\0';
	e->expiry = strtoll(p, &p, 10);
	e->when = strtoll(p, &p, 10);
	e->name = p + (*p == ' ');
	if ((t = strchr(e->name, '\t')) == NULL)
		goto bad;
	*t = '\0';
	e->ids = t + 1;
	if ((t = strchr(e->ids, '\t')) == NULL)
		goto bad;
	*t = '\0';
	e->line = t + 1;
	return 0;
bad:
	errno = EILSEQ; /* our own file, changed under us */
	return -1;
}

/* Merges the runs, most urgent first. */
static long
renew_queue_merge(struct renew_queue *q, struct renew_writer *w)
{
	struct renew_entry *head;
	char **buf;
	size_t *cap, i, best;
	int *live, rc = 0;

	head = calloc(q->nruns, sizeof(*head));
	buf = calloc(q->nruns, sizeof(*buf));
	cap = calloc(q->nruns, sizeof(*cap));
	live = calloc(q->nruns, sizeof(*live));
	if (head == NULL || buf == NULL || cap == NULL || live == NULL)
		rc = -1;
	for (i = 0; rc == 0 && i < q->nruns; i++)
		if ((rc = renew_run_next(q->runs[i], &buf[i], &cap[i],
		    &head[i])) >= 0) {
			live[i] = rc == 0;
			rc = 0;
		}
	while (rc == 0) {
		/*
		 * A run per 2 MiB of due documents, a handful for a store
		 * of 100,000: scanning the heads is simpler than a heap
		 * and cheap next to reading the runs.
		 */
		best = q->nruns;
		for (i = 0; i < q->nruns; i++)
			if (live[i] && (best == q->nruns ||
			    renew_entry_cmp(&head[i], &head[best]) < 0))
				best = i;
		if (best == q->nruns)
			break;
		if (renew_emit(w, &head[best]) != 0) {
			rc = -1;
			break;
		}
		if ((rc = renew_run_next(q->runs[best], &buf[best],
		    &cap[best], &head[best])) == 1) {
			live[best] = 0;
			rc = 0;
		} else if (rc == -1)
			q->tmp_errno = errno;
	}
	for (i = 0; buf != NULL && i < q->nruns; i++)
		free(buf[i]);
	free(head);
	free(buf);
	free(cap);
	free(live);
	return rc == 0 ? w->written : -1;
}

long
renew_queue_write(struct renew_queue *q, FILE *out, long max_per_domain)
{
	return renew_queue_write_gated(q, out, max_per_domain, NULL, NULL);
}

long
renew_queue_write_gated(struct renew_queue *q, FILE *out,
    long max_per_domain, renew_queue_gate gate, void *arg)
{
	struct renew_writer w = { { NULL, 0, 0 }, out, max_per_domain, gate,
	    arg, 0 };
	long written = 0;
	size_t i;

	if (q->nruns > 0) {
		if (q->n > 0 && renew_queue_spill(q) != 0)
			written = -1;
		else
			written = renew_queue_merge(q, &w);
	} else {
		if (q->n > 1)
			qsort(q->e, q->n, sizeof(q->e[0]), renew_entry_cmp);
		for (i = 0; i < q->n && written >= 0; i++)
			written = renew_emit(&w, &q->e[i]) != 0 ? -1 :
			    w.written;
	}
	for (i = 0; i < w.c.cap; i++)
		free(w.c.t[i].key);
	free(w.c.t);
	return written;
}

int
renew_summary_add(struct renew_summary *sum, const struct renew_info *ri,
    long long now)
{
	json_t *p;

	sum->managed++;
	sum->due += ri->emit;
	if (ri->has_cert && !ri->parked && (!sum->has_soonest ||
	    ri->not_after < sum->soonest)) {
		sum->soonest = ri->not_after;
		sum->has_soonest = 1;
	}
	if (ri->has_cert && ri->not_after <= now) {
		sum->expired++;
		sum->alarm++;
	} else if (ri->has_cert) {
		sum->expiring1d += ri->not_after - now <= RENEW_DAY;
		sum->expiring30d += ri->not_after - now <= 30 * RENEW_DAY;
		if (ri->not_after - now <= RENEW_SOON) {
			sum->expiring++;
			sum->expiring_failing += ri->fail_count > 0;
			sum->alarm += ri->fail_count > 0;
		}
	}
	if (ri->fail_count <= 0)
		return 0;
	if (ri->class != RENEW_PAUSED) {
		sum->parked += ri->parked;
		if (ri->class == RENEW_PREFLIGHT)
			sum->preflight += !ri->parked;
		else
			sum->failing += !ri->parked;
		return 0;
	}
	sum->alarm++;
	sum->npaused++;
	if (sum->paused == NULL && (sum->paused = json_array()) == NULL)
		return -1;
	p = json_pack("{s:s,s:s?}", "name", ri->name, "unpause",
	    ri->unpause[0] != '\0' ? ri->unpause : NULL);
	return json_array_append_new(sum->paused, p);
}

json_t *
renew_summary_json(struct renew_summary *sum)
{
	json_t *paused = sum->paused != NULL ? sum->paused : json_array();

	sum->paused = NULL;
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
	    "managed", (json_int_t)sum->managed, "due", (json_int_t)sum->due,
	    "expiring7d", (json_int_t)sum->expiring,
	    "failing", (json_int_t)sum->failing,
	    "preflight", (json_int_t)sum->preflight,
	    "parked", (json_int_t)sum->parked,
	    "expired", (json_int_t)sum->expired, "paused", paused);
}
