/*
 * certstore: manages the set of names the store holds: add (managed
 * without a certificate, so cert-expiring emits it for first issuance),
 * remove (certificate, key and metadata), unpark (ends a run of failures),
 * list (the metadata, one JSON line per name), chain (the stored chain,
 * once its key is checked against it; never the key); and the store as a
 * whole: init (makes it, or upgrades a database's schema), copy (every
 * name into another store), mirror (a front end's local copy).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "client.h"
#include "conf.h"
#include "diag.h"
#include "ident.h"
#include "key.h"
#include "mirror.h"
#include "revoke.h"
#include "state.h"
#include "store.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-v] [-s store] add name ...\n"
	    "       %s [-v] [-s store] chain name ...\n"
	    "       %s [-v] [-s store] init\n"
	    "       %s [-v] [-s store] list [name ...]\n"
	    "       %s [-v] [-s store] remove [--revoke [--reason reason]] name ...\n"
	    "       %s [-v] [-s store] unpark name ...\n"
	    "       %s [-qv] [-g group] [-m mode] copy from to\n"
	    "       %s [-qv] [-g group] [-m mode] mirror [--follow] [--force]\n"
	    "                 [--interval seconds] --from store --to dir\n",
	    diag_prog, diag_prog, diag_prog, diag_prog, diag_prog, diag_prog,
	    diag_prog, diag_prog);
}

/* Writes one metadata object as a line; -1 on a write error. */
static int
print(const json_t *m)
{
	if (json_dumpf(m, stdout, JSON_COMPACT) != 0 ||
	    putc('\n', stdout) == EOF)
		return -1;
	return 0;
}

static int
list_one(const char *name, json_t *meta, void *arg)
{
	int *status = arg;

	if (meta == NULL) {
		diag_warnx("%s: %s", name, errno == EBADMSG ?
		    "metadata: not a JSON object" : strerror(errno));
		*status = 1;
		return 0;
	}
	return print(meta);
}

/*
 * Prints name's stored chain after checking that the stored key belongs
 * to its leaf. 0, 1 (reported) or -1 (I/O).
 */
static int
chain(struct store *s, const char *name)
{
	char why[512], *pem = NULL;
	size_t len = 0, off = 0;
	EVP_PKEY *k = NULL;
	int rc;

	if ((rc = store_read(s, name, &pem, &len, &off, why,
	    sizeof(why))) != 0) {
		diag_warnx("%s", why);
		return 1;
	}
	rc = 1;
	if ((k = key_parse(pem + off, len - off)) == NULL)
		diag_warnx("%s: stored without a private key", name);
	else if (cert_check(pem, off, k, NULL, NULL, why, sizeof(why)) != 0)
		diag_warnx("%s: stored chain: %s", name, why);
	else
		rc = fwrite(pem, 1, off, stdout) == off ? 0 : -1;
	EVP_PKEY_free(k);
	key_pem_free(pem, len + 1);
	return rc;
}

/* Applies cmd to one normalised name. 0, 1 (reported) or -1 (I/O). */
static int
apply(struct store *s, const char *cmd, const char *name)
{
	char why[512];
	json_t *m;
	int rc;

	if (strcmp(cmd, "list") == 0) {
		if ((m = store_get(s, name)) == NULL) {
			diag_warnx("%s: %s", name, errno == ENOENT ?
			    "not managed" : strerror(errno));
			return 1;
		}
		rc = print(m);
		json_decref(m);
		return rc;
	}
	if (strcmp(cmd, "chain") == 0)
		return chain(s, name);
	if (strcmp(cmd, "add") == 0)
		rc = store_add(s, name, why, sizeof(why));
	else if (strcmp(cmd, "remove") == 0)
		rc = store_remove(s, name, why, sizeof(why));
	else
		rc = store_unpark(s, name, why, sizeof(why));
	if (rc == 1 && strcmp(cmd, "add") == 0) {
		diag_verbose(1, "%s: already managed", name);
		return 0;
	}
	if (rc != 0) {
		diag_warnx("%s", why);
		return 1;
	}
	diag_verbose(1, "%s: %s", name, strcmp(cmd, "add") == 0 ? "added" :
	    strcmp(cmd, "remove") == 0 ? "removed" : "unparked");
	return 0;
}

/* remove --revoke: the ACME session (ACMEPIPE_* settings) and reason. */
struct revoking {
	struct client	 c;
	const char	*reason; /* NULL: none */
	int		 code;
};

/*
 * Revokes name's stored certificate before it is removed; 0 when it is
 * revoked now or was already, 1 reported.
 */
static int
revoke_one(struct store *s, struct revoking *rv, const char *name)
{
	char why[512], *pem = NULL;
	size_t len = 0, off = 0;
	struct acme *a;
	json_t *problem = NULL;
	int rc;

	if ((rc = store_read(s, name, &pem, &len, &off, why,
	    sizeof(why))) != 0) {
		diag_warnx("%s", why);
		return 1;
	}
	rc = 1;
	if ((a = client_acme_plain(&rv->c)) == NULL)
		diag_warnx("%s: not revoked: %s: %s", name,
		    state_str(rv->c.problem, "type"),
		    state_str(rv->c.problem, "detail"));
	else if (revoke_cert(a, pem, off, rv->code, NULL, &problem) == 0 ||
	    acme_problem_is(problem, ACME_ERR("alreadyRevoked")))
		rc = 0;
	else
		diag_warnx("%s: not revoked: %s: %s", name,
		    state_str(problem, "type"), state_str(problem, "detail"));
	if (rc == 0)
		diag_verbose(1, "%s: revoked", name);
	json_decref(problem);
	key_pem_free(pem, len + 1);
	return rc;
}

/*
 * The options of remove, from argv[0] ("remove") on: --revoke and
 * --reason. The number of arguments they took, or -1 (reported).
 */
static int
remove_opts(int argc, char *argv[], struct revoking *rv, int *on)
{
	static const struct option longopts[] = {
		{ "revoke", no_argument, NULL, 'R' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 } };
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		if (ch == 'R')
			*on = 1;
		else if (ch == 'r')
			rv->reason = optarg;
		else
			return -1;
	}
	if (rv->reason != NULL && !*on) {
		diag_warnx("remove: --reason needs --revoke");
		return -1;
	}
	if (rv->reason != NULL && (rv->code = revoke_reason(rv->reason)) < 0) {
		diag_warnx("--reason %s: not one of %s", rv->reason,
		    REVOKE_REASONS);
		return -1;
	}
	return optind - 1;
}

/* Runs cmd over the names; the exit status. */
static int
run(struct store *s, const char *dir, const char *cmd, char **names, int n,
    struct revoking *rv)
{
	char why[256], *norm;
	int i, rc, status = 0;

	if (strcmp(cmd, "init") == 0) {
		diag_verbose(1, "store ready");
		return 0;
	}
	if (n == 0 && (rc = store_list(s, list_one, &status)) != 0) {
		if (rc == -1 && ferror(stdout) == 0 && store_error(s) != NULL)
			diag_warnx("%s", store_error(s));
		else if (rc == -1 && ferror(stdout) == 0)
			diag_warnx("%s/meta: %s", dir, strerror(errno));
		return 2;
	}
	for (i = 0; i < n; i++) {
		if ((norm = ident_normalize(names[i], why, sizeof(why))) ==
		    NULL) {
			diag_warnx("%s: %s", names[i], why);
			status = 1;
			continue;
		}
		rc = rv != NULL ? revoke_one(s, rv, norm) : 0;
		if (rc == 0)
			rc = apply(s, cmd, norm);
		free(norm);
		if (rc == -1)
			return 2;
		if (rc == 1)
			status = 1;
	}
	return status;
}

/*
 * Opens a store for copy or mirror, o NULL for the defaults; NULL
 * reported.
 */
static struct store *
open_store(const char *where, struct store_opts *o, int existing)
{
	struct store_opts def = { 0640, (gid_t)-1, 0, 0 };
	struct store *s;
	char why[512];

	if (o == NULL)
		o = &def;
	o->existing = existing;
	if ((s = store_open(where, o, why, sizeof(why))) == NULL)
		diag_warnx("%s", why);
	return s;
}

/* certstore copy FROM TO: the exit status. */
static int
copy(const char *from, const char *to, struct store_opts *o, int quiet)
{
	struct mirror_count c = { 0, 0, 0, 0, 0 };
	struct store *f = NULL, *t = NULL;
	char why[512];
	int status = 2;

	if ((f = open_store(from, NULL, 1)) == NULL ||
	    (t = open_store(to, o, 0)) == NULL)
		goto out;
	if (mirror_copy(f, t, stdout, quiet, &c, why, sizeof(why)) != 0) {
		diag_warnx("%s", why);
		status = store_broken(f) || store_broken(t) ? 1 : 2;
		goto out;
	}
	diag_verbose(1, "copied %lu, unchanged %lu, refused %lu, failed %lu",
	    c.copied, c.unchanged, c.refused, c.failed);
	status = c.refused > 0 || c.failed > 0 ? 1 : 0;
out:
	store_close(f);
	store_close(t);
	return status;
}

/* certstore mirror [options] --from STORE --to DIR: the exit status. */
static int
mirror(int argc, char *argv[], struct store_opts *o, int quiet)
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "follow", no_argument, NULL, 'F' },
		{ "force", no_argument, NULL, 'o' },
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 } };
	struct mirror_count c = { 0, 0, 0, 0, 0 };
	const char *from = NULL, *to = NULL, *iv = "10";
	struct store *f = NULL, *t = NULL;
	int ch, follow = 0, force = 0, status = 2;
	long interval;
	char why[512];

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:t:Foi:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'F': follow = 1; break;
		case 'o': force = 1; break;
		case 'i': iv = optarg; break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || from == NULL || to == NULL) {
		diag_warnx("mirror: %s", optind != argc ? "too many arguments" :
		    from == NULL ? "--from: missing" : "--to: missing");
		return 2;
	}
	if ((interval = conf_seconds(iv)) < 1 || interval > 86400) {
		diag_warnx("--interval %s: not a number of seconds from 1 to"
		    " 86400", iv);
		return 2;
	}
	if ((f = open_store(from, NULL, 1)) == NULL ||
	    (t = open_store(to, o, 0)) == NULL)
		goto out;
	if (follow)
		mirror_follow(f, t, force, quiet, (int)interval, why,
		    sizeof(why));
	status = mirror_pass(f, t, force, quiet, &c, why, sizeof(why));
	if (status != 0)
		diag_warnx("%s", why);
	diag_verbose(1, "copied %lu, removed %lu, unchanged %lu, failed %lu",
	    c.copied, c.removed, c.unchanged, c.failed);
	status = status == -1 ? 2 : status == 1 || c.failed > 0 ? 1 : 0;
out:
	store_close(f);
	store_close(t);
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "group", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	static const char *const cmds[] = { "add", "chain", "copy", "init",
	    "list", "mirror", "remove", "unpark" };
	struct store_opts o = { 0640, (gid_t)-1, 1, 0 };
	struct revoking rv;
	struct store *s = NULL;
	const char *dir = NULL, *cmd = NULL, *group = NULL, *mode = NULL;
	char why[512];
	size_t i;
	int ch, status, nargs, revoking = 0, skip = 0, base, quiet = 0;

	memset(&rv, 0, sizeof(rv));
	rv.code = -1;
	diag_init(argv);
	while ((ch = getopt_long(argc, argv, "+s:g:m:qvh", longopts, NULL)) !=
	    -1) {
		if (ch == 's')
			dir = optarg;
		else if (ch == 'g')
			group = optarg;
		else if (ch == 'm')
			mode = optarg;
		else if (ch == 'v')
			diag_verbosity++;
		else if (ch == 'q')
			quiet = 1;
		else {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	for (i = 0; optind < argc && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[optind], cmds[i]) == 0)
			cmd = cmds[i];
	base = optind; /* remove_opts() runs getopt again */
	if (cmd != NULL && strcmp(cmd, "remove") == 0 &&
	    (skip = remove_opts(argc - base, argv + base, &rv,
	    &revoking)) < 0) {
		usage(stderr);
		return 2;
	}
	optind = base + skip;
	nargs = argc - optind - 1;
	if (cmd == NULL || (nargs == 0 && strcmp(cmd, "list") != 0 &&
	    strcmp(cmd, "init") != 0 && strcmp(cmd, "mirror") != 0) ||
	    (nargs > 0 && strcmp(cmd, "init") == 0) ||
	    (strcmp(cmd, "copy") == 0 && nargs != 2)) {
		if (optind == argc)
			diag_warnx("missing command: add, chain, copy, init, "
			    "list, mirror, remove or unpark");
		else if (cmd == NULL)
			diag_warnx("%s: unknown command", argv[optind]);
		else if (strcmp(cmd, "copy") == 0)
			diag_warnx("copy: needs a store to copy from and one to"
			    " copy to");
		else if (strcmp(cmd, "init") == 0)
			diag_warnx("init: takes no names");
		else
			diag_warnx("%s: no name given", cmd);
		usage(stderr);
		return 2;
	}
	if (store_opts_parse(&o, conf_value(CONF_V_GROUP, group),
	    conf_value(CONF_V_MODE, mode), why, sizeof(why)) != 0) {
		diag_warnx("%s", why);
		return 2;
	}
	if (strcmp(cmd, "copy") == 0)
		return copy(argv[optind + 1], argv[optind + 2], &o, quiet);
	if (strcmp(cmd, "mirror") == 0)
		return mirror(argc - optind, argv + optind, &o, quiet);
	if ((dir = conf_value(CONF_V_STORE, dir)) == NULL) {
		diag_warnx("--store: missing (or set %s)", CONF_ENV(STORE));
		return 2;
	}
	o.existing = strcmp(cmd, "add") != 0 && strcmp(cmd, "init") != 0;
	o.init = strcmp(cmd, "init") == 0;
	/* The CA's settings come from the ACMEPIPE_* variables. */
	rv.c.existing = 1;
	if (revoking && client_setup(&rv.c, why, sizeof(why)) != 0) {
		diag_warnx("%s", why);
		return 2;
	}
	if ((s = store_open(dir, &o, why, sizeof(why))) == NULL) {
		diag_warnx("%s", why);
		if (revoking)
			client_close(&rv.c);
		return 2;
	}
	status = run(s, dir, cmd, argv + optind + 1, nargs,
	    revoking ? &rv : NULL);
	store_close(s);
	if (revoking)
		client_close(&rv.c);
	if (ferror(stdout) || fclose(stdout) == EOF) {
		diag_warnx("<stdout>: %s", strerror(errno));
		status = 2;
	}
	return status;
}
