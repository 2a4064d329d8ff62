/*
 * certstore: manages the set of names the store holds: add (managed
 * without a certificate, so cert-expiring emits it for first issuance),
 * remove (certificate, key and metadata), unpark (ends a run of failures),
 * list (the metadata, one JSON line per name), chain (the stored chain,
 * once its key is checked against it; never the key).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "conf.h"
#include "diag.h"
#include "ident.h"
#include "key.h"
#include "store.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [-v] [-s dir] add name ...\n"
	    "       %s [-v] [-s dir] chain name ...\n"
	    "       %s [-v] [-s dir] list [name ...]\n"
	    "       %s [-v] [-s dir] remove name ...\n"
	    "       %s [-v] [-s dir] unpark name ...\n",
	    diag_prog, diag_prog, diag_prog, diag_prog, diag_prog);
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

/* Runs cmd over the names; the exit status. */
static int
run(struct store *s, const char *dir, const char *cmd, char **names, int n)
{
	char why[256], *norm;
	int i, rc, status = 0;

	if (n == 0 && (rc = store_list(s, list_one, &status)) != 0) {
		if (rc == -1 && ferror(stdout) == 0)
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
		rc = apply(s, cmd, norm);
		free(norm);
		if (rc == -1)
			return 2;
		if (rc == 1)
			status = 1;
	}
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	static const char *const cmds[] = { "add", "chain", "list", "remove",
	    "unpark" };
	struct store_opts o = { 0, (gid_t)-1, 1 };
	struct store *s = NULL;
	const char *dir = NULL, *cmd = NULL;
	char why[512];
	size_t i;
	int ch, status;

	diag_init(argv);
	while ((ch = getopt_long(argc, argv, "+s:vh", longopts, NULL)) != -1) {
		if (ch == 's')
			dir = optarg;
		else if (ch == 'v')
			diag_verbosity++;
		else {
			usage(ch == 'h' ? stdout : stderr);
			return ch == 'h' ? 0 : 2;
		}
	}
	for (i = 0; optind < argc && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[optind], cmds[i]) == 0)
			cmd = cmds[i];
	if (cmd == NULL || (argc - optind == 1 && strcmp(cmd, "list") != 0)) {
		if (optind == argc)
			diag_warnx("missing command: add, chain, list, remove "
			    "or unpark");
		else if (cmd == NULL)
			diag_warnx("%s: unknown command", argv[optind]);
		else
			diag_warnx("%s: no name given", cmd);
		usage(stderr);
		return 2;
	}
	if ((dir = conf_get(dir, "ACMEPIPE_STORE", NULL)) == NULL) {
		diag_warnx("--store: missing (or set ACMEPIPE_STORE)");
		return 2;
	}
	o.existing = strcmp(cmd, "add") != 0;
	if ((s = store_open(dir, &o, why, sizeof(why))) == NULL) {
		diag_warnx("%s", why);
		return 2;
	}
	status = run(s, dir, cmd, argv + optind + 1, argc - optind - 1);
	store_close(s);
	if (ferror(stdout) || fclose(stdout) == EOF) {
		diag_warnx("<stdout>: %s", strerror(errno));
		status = 2;
	}
	return status;
}
