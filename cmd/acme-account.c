/*
 * acme-account: the ACME account itself: shows it, changes its contact,
 * rolls its key over, deactivates it. Writes the account as one JSON
 * object on standard output.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "client.h"
#include "diag.h"
#include "state.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s %s\n\t[--confirm] [--new-key file]\n"
	    "\tshow | contact [url ...] | rollover | deactivate\n",
	    diag_prog, CLIENT_USAGE);
}

/* One line for a problem: "type: detail", as the steps report them. */
static void
report(const json_t *problem)
{
	diag_warnx("%s: %s", state_str(problem, "type") != NULL ?
	    state_str(problem, "type") : "(no type)",
	    state_str(problem, "detail") != NULL ?
	    state_str(problem, "detail") : "(no detail)");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = { CLIENT_LONGOPTS,
	    { "confirm", no_argument, NULL, 'Z' },
	    { "new-key", required_argument, NULL, 'n' },
	    { NULL, 0, NULL, 0 } };
	struct client c;
	struct acme *a;
	const char *verb, *new_key = NULL;
	json_t *out = NULL, *problem = NULL, *contact = NULL;
	char why[512];
	int ch, confirm = 0, i, rc = -1;

	memset(&c, 0, sizeof(c));
	diag_init(argv);
	while ((ch = getopt_long(argc, argv, CLIENT_SHORTOPTS, longopts,
	    NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return 0;
		}
		if (ch == 'Z')
			confirm = 1;
		else if (ch == 'n')
			new_key = optarg;
		else if (!client_option(&c, ch, optarg)) {
			usage(stderr);
			return 2;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return 2;
	}
	verb = argv[optind++];
	if (strcmp(verb, "contact") == 0) {
		if ((contact = json_array()) == NULL)
			return 2;
		for (i = optind; i < argc; i++)
			json_array_append_new(contact, json_string(argv[i]));
	} else if (strcmp(verb, "show") != 0 && strcmp(verb, "rollover") !=
	    0 && strcmp(verb, "deactivate") != 0) {
		diag_warnx("unknown command: %s", verb);
		usage(stderr);
		return 2;
	} else if (optind != argc) {
		diag_warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (new_key != NULL && strcmp(verb, "rollover") != 0) {
		diag_warnx("--new-key is for rollover");
		return 2;
	}
	/* Deactivation is final: the CA refuses the account for good. */
	if (strcmp(verb, "deactivate") == 0 && !confirm) {
		diag_warnx("deactivate cannot be undone: it needs --confirm");
		return 2;
	}
	/* This command manages an account; it never makes one. */
	c.existing = 1;
	if (client_setup(&c, why, sizeof(why)) != 0) {
		diag_warnx("%s", why);
		json_decref(contact);
		return 2;
	}
	if ((a = client_acme_plain(&c)) == NULL) {
		report(c.problem);
		goto out;
	}
	if (strcmp(verb, "show") == 0)
		rc = account_fetch(a, &out, &problem);
	else if (contact != NULL)
		rc = account_set_contact(a, contact, &out, &problem);
	else if (strcmp(verb, "rollover") == 0)
		rc = account_key_change(a, new_key, "ec-p256", &out, &problem);
	else
		rc = account_deactivate(a, &out, &problem);
	if (rc != 0)
		report(problem);
	else if (json_dumpf(out, stdout, JSON_COMPACT) != 0 ||
	    putchar('\n') == EOF || fflush(stdout) != 0) {
		diag_warnx("<stdout>: write error");
		rc = -1;
	}
out:
	json_decref(out);
	json_decref(problem);
	json_decref(contact);
	client_close(&c);
	return rc == 0 ? 0 : 1;
}
