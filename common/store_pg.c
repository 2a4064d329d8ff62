/*
 * store_pg: the PostgreSQL backend (store_backend.h), for a store that
 * many hosts share. The store is a database, named by a libpq connection
 * URI ("postgresql://" or "postgres://"; libpq's rules for passwords,
 * service files and sslmode apply). The schema (SPG_SCHEMA, below) is
 * made and upgraded by `certstore init` (store_opts.init) only; every
 * other open checks its version.
 *
 * One row per managed name: its metadata as JSON text (the text the rules
 * wrote, key order kept), its chain and key (NULL without a certificate),
 * the certificate's notAfter and the rules' due hint (store_due_hint()),
 * both indexed, so that "what is due" is an index range (list_due()), and
 * a change number from one sequence, which a mirror follows. An update is
 * one transaction that first takes a transaction-level advisory lock on
 * the name (SPG_LOCK_NS, hashtext(name)): updates of one name queue
 * there, on any host, and end with the transaction (a killed writer's
 * connection ends and with it the lock). A name that is not stored yet
 * has no row to lock, which is why the lock is advisory and not FOR
 * UPDATE. Two names that hash alike only queue behind each other. Readers
 * take no lock (MVCC): they see a row as committed before or after an
 * update, the certificate and metadata always together. Each committed
 * change notifies channel "acmepipe_store" with the name.
 *
 * A lost connection fails the operation in flight with a reason that
 * says so (store_broken() then holds); the next operation reconnects
 * once. Reasons never hold key material, and the URI is never printed
 * (it may hold a password): the server is named as HOST:PORT/DB.
 */
#include <errno.h>
#include <sys/poll.h> /* <poll.h> would be common/poll.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "key.h"
#include "state.h"
#include "store_backend.h"

#define SPG_SCHEMA   2          /* the schema version this code knows */
#define SPG_LOCK_NS  "1633906021" /* 0x61636d65, "acme": advisory locks'
				     first key */
#define SPG_FETCH    "1000"     /* rows per FETCH of a listing */
#define SPG_PEM_MAX  (1024 * 1024)

struct spg {
	PGconn	*c;
	char	*where;   /* owned: the URI, for reconnecting */
	char	 label[300]; /* HOST:PORT/DB for reasons */
	int	 listing; /* inside store_list(): no updates */
	int	 broken;  /* the last failure was the connection's */
	int	 listening; /* LISTEN sent on this connection */
	char	 err[512]; /* the reason of the last get() or list() failed */
};

/*
 * Version 1. acmepipe_schema holds the version (one row); acmepipe_names
 * the names. The GRANTs go to the roles acmepipe_worker (read, write) and
 * acmepipe_mirror (read) when they exist (SECURITY.md makes them).
 */
static const char *const spg_v1[] = {
	"CREATE TABLE acmepipe_names ("
	" name text PRIMARY KEY,"
	" meta json NOT NULL,"
	" chain text,"
	" key text,"
	" not_after timestamptz,"
	" changed bigint NOT NULL)",
	"CREATE INDEX acmepipe_names_not_after ON acmepipe_names (not_after)",
	"CREATE INDEX acmepipe_names_changed ON acmepipe_names (changed)",
	"CREATE SEQUENCE acmepipe_change",
	"INSERT INTO acmepipe_schema (version) VALUES (1)",
};

/*
 * Version 2: the due hint. Rows of version 1 get NULL, which list_due()
 * returns always, until their next write.
 */
static const char *const spg_v2[] = {
	"ALTER TABLE acmepipe_names ADD COLUMN due timestamptz",
	"ALTER TABLE acmepipe_names ADD COLUMN ari_check timestamptz",
	"CREATE INDEX acmepipe_names_due ON acmepipe_names (due)",
	"CREATE INDEX acmepipe_names_ari_check ON acmepipe_names (ari_check)",
	"UPDATE acmepipe_schema SET version = 2",
};

static int
spg_claims(const char *where)
{
	return where != NULL && (strncmp(where, "postgresql://", 13) == 0 ||
	    strncmp(where, "postgres://", 11) == 0);
}

/* The first line of libpq's message, without "ERROR:  " and such. */
static const char *
spg_line(const char *msg, char *buf, size_t buflen)
{
	size_t n;

	if (msg == NULL || *msg == '\0')
		msg = "unknown error";
	if (strncmp(msg, "ERROR:  ", 8) == 0)
		msg += 8;
	n = strcspn(msg, "\n");
	snprintf(buf, buflen, "%.*s", (int)n, msg);
	return buf;
}

/* Reason for a failed command or connection; sets s->broken. */
static void
spg_why(struct spg *s, const PGresult *r, char *why, size_t whylen)
{
	char line[512];
	const char *msg;

	msg = r != NULL && PQresultErrorMessage(r)[0] != '\0' ?
	    PQresultErrorMessage(r) : PQerrorMessage(s->c);
	s->broken = PQstatus(s->c) != CONNECTION_OK;
	snprintf(why, whylen, "store %s: %s%s", s->label,
	    s->broken ? "connection lost: " : "",
	    spg_line(msg, line, sizeof(line)));
}

static void
spg_set_label(struct spg *s)
{
	const char *h = PQhost(s->c), *p = PQport(s->c), *d = PQdb(s->c);

	snprintf(s->label, sizeof(s->label), "%s:%s/%s",
	    h != NULL && *h != '\0' ? h : "localhost",
	    p != NULL && *p != '\0' ? p : "5432", d != NULL ? d : "");
}

/*
 * Runs sql with params (text); the result when its status is want, else
 * NULL with why.
 */
static PGresult *
spg_exec(struct spg *s, const char *sql, int n, const char *const *params,
    ExecStatusType want, char *why, size_t whylen)
{
	PGresult *r;

	r = n == 0 ? PQexec(s->c, sql) :
	    PQexecParams(s->c, sql, n, NULL, params, NULL, NULL, 0);
	if (r != NULL && PQresultStatus(r) == want)
		return r;
	spg_why(s, r, why, whylen);
	PQclear(r);
	return NULL;
}

/* spg_exec() of a command without rows: 0 or -1 with why. */
static int
spg_cmd(struct spg *s, const char *sql, int n, const char *const *params,
    char *why, size_t whylen)
{
	PGresult *r;

	if ((r = spg_exec(s, sql, n, params, PGRES_COMMAND_OK, why,
	    whylen)) == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* Ends a transaction that failed; the reason stays the first one's. */
static void
spg_rollback(struct spg *s)
{
	PGresult *r;

	if (PQstatus(s->c) == CONNECTION_OK &&
	    PQtransactionStatus(s->c) != PQTRANS_IDLE &&
	    (r = PQexec(s->c, "ROLLBACK")) != NULL)
		PQclear(r);
}

/*
 * Before each operation: a connection that was lost is made again, once.
 * 0, or -1 with why.
 */
static int
spg_ready(struct spg *s, char *why, size_t whylen)
{
	char line[512];

	if (PQstatus(s->c) == CONNECTION_OK) {
		s->broken = 0;
		return 0;
	}
	PQreset(s->c);
	s->listening = 0;
	if (PQstatus(s->c) == CONNECTION_OK) {
		s->broken = 0;
		return 0;
	}
	s->broken = 1;
	snprintf(why, whylen, "store %s: connection lost: %s", s->label,
	    spg_line(PQerrorMessage(s->c), line, sizeof(line)));
	return -1;
}

/* The schema version: >= 1, 0 when there is none, -1 with why. */
static int
spg_version(struct spg *s, char *why, size_t whylen)
{
	PGresult *r;
	int v;

	if ((r = spg_exec(s, "SELECT to_regclass('acmepipe_schema') IS NULL",
	    0, NULL, PGRES_TUPLES_OK, why, whylen)) == NULL)
		return -1;
	v = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? 0 : 1;
	PQclear(r);
	if (v == 0)
		return 0;
	if ((r = spg_exec(s, "SELECT max(version) FROM acmepipe_schema", 0,
	    NULL, PGRES_TUPLES_OK, why, whylen)) == NULL)
		return -1;
	v = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* Grants to ROLE when it exists: 0, or -1 with why. */
static int
spg_grant(struct spg *s, const char *role, const char *what, char *why,
    size_t whylen)
{
	char sql[512];
	PGresult *r;
	int exists;

	if ((r = spg_exec(s, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1,
	    &role, PGRES_TUPLES_OK, why, whylen)) == NULL)
		return -1;
	exists = PQntuples(r) == 1;
	PQclear(r);
	if (!exists)
		return 0;
	snprintf(sql, sizeof(sql), "GRANT %s TO %s", what, role);
	return spg_cmd(s, sql, 0, NULL, why, whylen);
}

/*
 * certstore init: creates the schema, or upgrades an older one, in one
 * transaction under an advisory lock, so that concurrent inits are safe.
 * 0, or -1 with why.
 */
static int
spg_init(struct spg *s, char *why, size_t whylen)
{
	PGresult *r;
	size_t i;
	int v;

	if (spg_cmd(s, "BEGIN", 0, NULL, why, whylen) != 0)
		return -1;
	if ((r = spg_exec(s, "SELECT pg_advisory_xact_lock(" SPG_LOCK_NS ", 0)",
	    0, NULL, PGRES_TUPLES_OK, why, whylen)) == NULL)
		goto fail;
	PQclear(r);
	if (spg_cmd(s, "CREATE TABLE IF NOT EXISTS acmepipe_schema"
	    " (version integer NOT NULL)", 0, NULL, why, whylen) != 0 ||
	    (v = spg_version(s, why, whylen)) == -1)
		goto fail;
	if (v > SPG_SCHEMA) {
		snprintf(why, whylen, "store %s: schema version %d is newer than"
		    " this acmepipe knows (%d)", s->label, v, SPG_SCHEMA);
		goto fail;
	}
	for (i = 0; v < 1 && i < sizeof(spg_v1) / sizeof(spg_v1[0]); i++)
		if (spg_cmd(s, spg_v1[i], 0, NULL, why, whylen) != 0)
			goto fail;
	for (i = 0; v < 2 && i < sizeof(spg_v2) / sizeof(spg_v2[0]); i++)
		if (spg_cmd(s, spg_v2[i], 0, NULL, why, whylen) != 0)
			goto fail;
	if (spg_grant(s, "acmepipe_worker", "SELECT, INSERT, UPDATE, DELETE"
	    " ON acmepipe_names", why, whylen) != 0 ||
	    spg_grant(s, "acmepipe_worker", "SELECT ON acmepipe_schema",
	    why, whylen) != 0 ||
	    spg_grant(s, "acmepipe_worker", "USAGE ON SEQUENCE acmepipe_change",
	    why, whylen) != 0 ||
	    spg_grant(s, "acmepipe_mirror", "SELECT ON acmepipe_names,"
	    " acmepipe_schema", why, whylen) != 0)
		goto fail;
	return spg_cmd(s, "COMMIT", 0, NULL, why, whylen);
fail:
	spg_rollback(s);
	return -1;
}

static void
spg_close(void *b)
{
	struct spg *s = b;

	if (s == NULL)
		return;
	PQfinish(s->c);
	free(s->where);
	free(s);
}

/* Notices ("relation already exists, skipping") are not for users. */
static void
spg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void *
spg_open(const char *where, const struct store_opts *o, char *why,
    size_t whylen)
{
	struct spg *s;
	char line[512];
	int v;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->where = strdup(where)) == NULL) {
		snprintf(why, whylen, "store: out of memory");
		spg_close(s);
		return NULL;
	}
	s->c = PQconnectdb(where);
	if (s->c == NULL) {
		snprintf(why, whylen, "store: out of memory");
		spg_close(s);
		return NULL;
	}
	spg_set_label(s);
	(void)PQsetNoticeProcessor(s->c, spg_notice, NULL);
	if (PQstatus(s->c) != CONNECTION_OK) {
		snprintf(why, whylen, "store %s: %s", s->label,
		    spg_line(PQerrorMessage(s->c), line, sizeof(line)));
		spg_close(s);
		return NULL;
	}
	if (o != NULL && o->init && spg_init(s, why, whylen) != 0) {
		spg_close(s);
		return NULL;
	}
	if ((v = spg_version(s, why, whylen)) == -1) {
		spg_close(s);
		return NULL;
	}
	if (v != SPG_SCHEMA) {
		if (v == 0)
			snprintf(why, whylen, "store %s: no acmepipe schema"
			    " (certstore init makes it)", s->label);
		else if (v > SPG_SCHEMA)
			snprintf(why, whylen, "store %s: schema version %d is"
			    " newer than this acmepipe knows (%d)", s->label, v,
			    SPG_SCHEMA);
		else
			snprintf(why, whylen, "store %s: schema version %d is"
			    " older than this acmepipe's (%d): run certstore"
			    " init", s->label, v, SPG_SCHEMA);
		spg_close(s);
		return NULL;
	}
	return s;
}

static const char *
spg_private_dir(void *b)
{
	(void)b;
	return NULL;
}

/* Metadata text of name, parsed as store_meta_named() says. */
static json_t *
spg_meta(const char *text, const char *name, int strict)
{
	return store_meta_named(json_loads(text, JSON_REJECT_DUPLICATES, NULL),
	    name, strict, EBADMSG);
}

static json_t *
spg_get(void *b, const char *name, int strict)
{
	struct spg *s = b;
	PGresult *r;
	json_t *m;

	if (spg_ready(s, s->err, sizeof(s->err)) != 0 ||
	    (r = spg_exec(s, "SELECT meta FROM acmepipe_names WHERE name = $1",
	    1, &name, PGRES_TUPLES_OK, s->err, sizeof(s->err))) == NULL) {
		errno = s->broken ? ENOTCONN : EIO;
		return NULL;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		errno = ENOENT;
		return NULL;
	}
	m = spg_meta(PQgetvalue(r, 0, 0), name, strict);
	PQclear(r);
	return m;
}

/* Cleanses a result's text values before it is freed: they hold keys. */
static void
spg_clear_secret(PGresult *r)
{
	int i, j;

	for (i = 0; r != NULL && i < PQntuples(r); i++)
		for (j = 0; j < PQnfields(r); j++)
			OPENSSL_cleanse(PQgetvalue(r, i, j),
			    (size_t)PQgetlength(r, i, j));
	PQclear(r);
}

/* Writes what fn decided, inside update()'s transaction. */
static int
spg_apply(struct spg *s, const char *name, const json_t *m, int what,
    int existed, const struct store_cert_pem *cert, char *why,
    size_t whylen)
{
	const char *p[7];
	char *text = NULL, *chain = NULL, *key = NULL, due[32], ari[32];
	long long hint, check;
	int rc = -1;

	if (what == STORE_DROP) {
		if (!existed)
			return STORE_KEEP;
		p[0] = name;
		return spg_cmd(s, "DELETE FROM acmepipe_names WHERE name = $1", 1,
		    p, why, whylen) == 0 ? STORE_DROP : -1;
	}
	if (what != STORE_WRITE)
		return what;
	if ((text = json_dumps(m, JSON_COMPACT)) == NULL) {
		snprintf(why, whylen, "%s: out of memory", name);
		return -1;
	}
	p[0] = name;
	p[1] = text;
	p[2] = json_string_value(json_object_get(m, "notAfter"));
	/* NULL: not known, listed always; -infinity: any time. */
	hint = store_due_hint(m, &check);
	p[3] = hint > 0 ? state_time(hint, due, sizeof(due)) : "-infinity";
	p[4] = check > 0 ? state_time(check, ari, sizeof(ari)) : check == 0 ?
	    "-infinity" : NULL;
	if (cert == NULL) {
		rc = spg_cmd(s, "INSERT INTO acmepipe_names"
		    " (name, meta, not_after, due, ari_check, changed)"
		    " VALUES ($1, $2, $3, $4, $5, nextval('acmepipe_change'))"
		    " ON CONFLICT (name) DO UPDATE SET meta = EXCLUDED.meta,"
		    " due = EXCLUDED.due, ari_check = EXCLUDED.ari_check,"
		    " changed = EXCLUDED.changed", 5, p, why, whylen);
		free(text);
		return rc == 0 ? STORE_WRITE : -1;
	}
	/* The chain as the file backend stores it: ending in "\n". */
	if ((chain = malloc(cert->chainlen + 2)) == NULL ||
	    (key = malloc(cert->keylen + 1)) == NULL) {
		snprintf(why, whylen, "%s: out of memory", name);
		goto out;
	}
	memcpy(chain, cert->chain, cert->chainlen);
	chain[cert->chainlen] = '\0';
	if (cert->chainlen > 0 && cert->chain[cert->chainlen - 1] != '\n')
		strcat(chain, "\n");
	memcpy(key, cert->key, cert->keylen);
	key[cert->keylen] = '\0';
	p[5] = chain;
	p[6] = key;
	rc = spg_cmd(s, "INSERT INTO acmepipe_names"
	    " (name, meta, not_after, due, ari_check, chain, key, changed)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7,"
	    " nextval('acmepipe_change'))"
	    " ON CONFLICT (name) DO UPDATE SET meta = EXCLUDED.meta,"
	    " not_after = EXCLUDED.not_after, due = EXCLUDED.due,"
	    " ari_check = EXCLUDED.ari_check, chain = EXCLUDED.chain,"
	    " key = EXCLUDED.key, changed = EXCLUDED.changed", 7, p, why,
	    whylen) == 0 ? STORE_WRITE : -1;
out:
	free(text);
	free(chain);
	if (key != NULL) {
		OPENSSL_cleanse(key, cert->keylen);
		free(key);
	}
	return rc;
}

static int
spg_update(void *b, const char *name, const struct store_cert_pem *cert,
    store_change_fn fn, void *arg, char *why, size_t whylen)
{
	struct spg *s = b;
	const char *p[1] = { name };
	PGresult *r = NULL;
	json_t *m = NULL;
	int rc = -1, existed;

	if (s->listing) {
		snprintf(why, whylen, "store %s: changed while listed",
		    s->label);
		return -1;
	}
	if (spg_ready(s, why, whylen) != 0 ||
	    spg_cmd(s, "BEGIN", 0, NULL, why, whylen) != 0)
		return -1;
	if ((r = spg_exec(s, "SELECT pg_advisory_xact_lock(" SPG_LOCK_NS ","
	    " hashtext($1))", 1, p, PGRES_TUPLES_OK, why, whylen)) == NULL)
		goto out;
	PQclear(r);
	if ((r = spg_exec(s, "SELECT meta FROM acmepipe_names WHERE name = $1",
	    1, p, PGRES_TUPLES_OK, why, whylen)) == NULL)
		goto out;
	existed = PQntuples(r) == 1;
	if (existed && (m = spg_meta(PQgetvalue(r, 0, 0), name, 0)) == NULL) {
		snprintf(why, whylen, "%s: out of memory", name);
		goto out;
	}
	PQclear(r);
	r = NULL;
	if ((rc = fn(&m, arg, why, whylen)) == -1)
		goto out;
	if ((rc = spg_apply(s, name, m, rc, existed, cert, why, whylen)) ==
	    -1)
		goto out;
	if (rc != STORE_KEEP && (r = spg_exec(s,
	    "SELECT pg_notify('acmepipe_store', $1)", 1, p, PGRES_TUPLES_OK,
	    why, whylen)) == NULL) {
		rc = -1;
		goto out;
	}
	PQclear(r);
	r = NULL;
	if (spg_cmd(s, "COMMIT", 0, NULL, why, whylen) != 0)
		rc = -1;
out:
	PQclear(r);
	if (rc == -1)
		spg_rollback(s);
	json_decref(m);
	return rc;
}

/*
 * Streams the rows of query (with its n params) in one read-only snapshot,
 * through a cursor, SPG_FETCH rows at a time: store_list()'s contract.
 */
static int
spg_walk(struct spg *s, const char *query, int np, const char *const *pp,
    int (*fn)(const char *name, json_t *meta, void *arg), void *arg)
{
	char *why = s->err;
	PGresult *r = NULL;
	json_t *m;
	int rc = 0, i, n, e;

	if (spg_ready(s, why, sizeof(s->err)) != 0 ||
	    spg_cmd(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
	    NULL, why, sizeof(s->err)) != 0) {
		errno = s->broken ? ENOTCONN : EIO;
		return -1;
	}
	if (spg_cmd(s, query, np, pp, why, sizeof(s->err)) != 0)
		goto fail;
	s->listing = 1;
	do {
		if ((r = spg_exec(s, "FETCH " SPG_FETCH " FROM acmepipe_list",
		    0, NULL, PGRES_TUPLES_OK, why, sizeof(s->err))) == NULL)
			goto fail;
		n = PQntuples(r);
		for (i = 0; i < n && rc == 0; i++) {
			m = spg_meta(PQgetvalue(r, i, 1), PQgetvalue(r, i, 0),
			    1);
			rc = fn(PQgetvalue(r, i, 0), m, arg);
			json_decref(m);
		}
		PQclear(r);
		r = NULL;
	} while (n > 0 && rc == 0);
	s->listing = 0;
	if (spg_cmd(s, "COMMIT", 0, NULL, why, sizeof(s->err)) != 0 && rc == 0)
		goto fail;
	return rc;
fail:
	e = s->broken ? ENOTCONN : EIO;
	s->listing = 0;
	spg_rollback(s);
	errno = e;
	return -1;
}

static int
spg_list(void *b, int (*fn)(const char *name, json_t *meta, void *arg),
    void *arg)
{
	return spg_walk(b, "DECLARE acmepipe_list NO SCROLL CURSOR FOR"
	    " SELECT name, meta FROM acmepipe_names ORDER BY name", 0, NULL, fn,
	    arg);
}

static int
spg_list_due(void *b, long long due, long long expire, long long ari,
    int (*fn)(const char *name, json_t *meta, void *arg), void *arg)
{
	char d[32], e[32], a[32];
	const char *p[3];

	p[0] = state_time(due, d, sizeof(d));
	p[1] = expire > 0 ? state_time(expire, e, sizeof(e)) : NULL;
	p[2] = ari > 0 ? state_time(ari, a, sizeof(a)) : NULL;
	/* Index ranges, OR'd: PostgreSQL makes it a bitmap scan. */
	return spg_walk(b, "DECLARE acmepipe_list NO SCROLL CURSOR FOR"
	    " SELECT name, meta FROM acmepipe_names WHERE due IS NULL"
	    " OR due <= $1 OR not_after <= $2 OR ari_check <= $3"
	    " ORDER BY name", 3, p, fn, arg);
}

static int
spg_read(void *b, const char *name, char **pem, size_t *len,
    size_t *keyoff, char *why, size_t whylen)
{
	struct spg *s = b;
	size_t cl, kl;
	PGresult *r;

	if (spg_ready(s, why, whylen) != 0 ||
	    (r = spg_exec(s, "SELECT chain, key FROM acmepipe_names"
	    " WHERE name = $1", 1, &name, PGRES_TUPLES_OK, why,
	    whylen)) == NULL)
		return -1;
	if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) {
		spg_clear_secret(r);
		snprintf(why, whylen, "%s: no certificate", name);
		return 1;
	}
	cl = (size_t)PQgetlength(r, 0, 0);
	kl = PQgetisnull(r, 0, 1) ? 0 : (size_t)PQgetlength(r, 0, 1);
	if (cl + kl > SPG_PEM_MAX || (*pem = malloc(cl + kl + 1)) == NULL) {
		spg_clear_secret(r);
		snprintf(why, whylen, "%s: certificate too large", name);
		return -1;
	}
	memcpy(*pem, PQgetvalue(r, 0, 0), cl);
	memcpy(*pem + cl, PQgetvalue(r, 0, 1), kl);
	(*pem)[cl + kl] = '\0';
	*len = cl + kl;
	*keyoff = store_key_offset(*pem, *len);
	spg_clear_secret(r);
	return 0;
}

static int
spg_broken(void *b)
{
	return ((struct spg *)b)->broken;
}

static const char *
spg_error(void *b)
{
	struct spg *s = b;

	return s->err[0] != '\0' ? s->err : NULL;
}

/* Hands the notifications that arrived to fn; their number. */
static int
spg_notified(struct spg *s, int (*fn)(const char *name, void *arg),
    void *arg)
{
	PGnotify *n;
	int count = 0;

	while ((n = PQnotifies(s->c)) != NULL) {
		if (strcmp(n->relname, "acmepipe_store") == 0) {
			(void)fn(n->extra, arg);
			count++;
		}
		PQfreemem(n);
	}
	return count;
}

static int
spg_watch(void *b, int timeout_ms, int (*fn)(const char *name, void *arg),
    void *arg, char *why, size_t whylen)
{
	struct spg *s = b;
	struct pollfd p;
	int n;

	if (spg_ready(s, why, whylen) != 0)
		return -1;
	if (!s->listening) {
		if (spg_cmd(s, "LISTEN acmepipe_store", 0, NULL, why,
		    whylen) != 0)
			return -1;
		s->listening = 1;
	}
	if ((n = spg_notified(s, fn, arg)) > 0)
		return n;
	p.fd = PQsocket(s->c);
	p.events = POLLIN;
	p.revents = 0;
	if (p.fd < 0 || (poll(&p, 1, timeout_ms) == -1 && errno != EINTR) ||
	    ((p.revents & (POLLIN | POLLHUP | POLLERR)) &&
	    PQconsumeInput(s->c) == 0) || PQstatus(s->c) != CONNECTION_OK) {
		s->broken = 1;
		s->listening = 0;
		spg_why(s, NULL, why, whylen);
		return -1;
	}
	return spg_notified(s, fn, arg);
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.claims = spg_claims,
	.open = spg_open,
	.close = spg_close,
	.get = spg_get,
	.update = spg_update,
	.list = spg_list,
	.read = spg_read,
	.private_dir = spg_private_dir,
	.broken = spg_broken,
	.error = spg_error,
	.watch = spg_watch,
	.list_due = spg_list_due,
};
