/*
 * conf_table: the one list of acmepipe's ACMEPIPE_* environment variables,
 * each with the option it stands for, its default and what it means. An
 * option beats its variable, which beats the default (conf.h).
 *
 * CONF_TABLE(X) calls X(id, variable, long, short, default, meaning) once
 * a row:
 *
 *   id        the row's name in C: CONF_ENV(id) is the variable,
 *             conf_value(CONF_V_id, opt) the setting (conf.h)
 *   variable  the environment variable, "ACMEPIPE_" and the id
 *   long      the long option without "--", NULL when there is none
 *   short     its letter, 0 when there is none; the pair is the same in
 *             every command and script that has the option
 *   default   what applies when neither is given, as text; NULL: nothing
 *             (the meaning says what happens then)
 *   meaning   one line
 *
 * The variables the C commands read, and those scripts/acme-issue and
 * scripts/acme-renew set for them, are all here; tests/26-conf.bats holds
 * the scripts and every man page's ENVIRONMENT section to this table
 * (through tests/conf-table.c, which prints it: `make conf-table`). A
 * variable only a script sets for itself is a row without an option.
 */
#ifndef CONF_TABLE_H
#define CONF_TABLE_H

/* Let's Encrypt's directories (production is the default). */
#define CONF_LE_PRODUCTION "https://acme-v02.api.letsencrypt.org/directory"
#define CONF_LE_STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"

#define CONF_TABLE(X) \
	X(ACCOUNT_KEY, "ACMEPIPE_ACCOUNT_KEY", "account-key", 'k', \
	    "/var/lib/acmepipe/account.key", \
	    "the account key file, made when missing") \
	X(AGREE_TOS, "ACMEPIPE_AGREE_TOS", "agree-tos", 'a', NULL, \
	    "set (not 0, no, false): agree to the CA's terms of service") \
	X(CA_BUNDLE, "ACMEPIPE_CA_BUNDLE", "ca-bundle", 'C', NULL, \
	    "PEM certificates to verify the CA's TLS certificate with") \
	X(CAA_IDENTITY, "ACMEPIPE_CAA_IDENTITY", "caa-identity", 'Y', NULL, \
	    "the CA's CAA issuer domain: check CAA before any order") \
	X(CHALLENGE_TYPE, "ACMEPIPE_CHALLENGE_TYPE", "type", 't', "http-01", \
	    "the challenge type: http-01, dns-01 or tls-alpn-01") \
	X(CONTACT, "ACMEPIPE_CONTACT", "contact", 'c', NULL, \
	    "the mailto: URL a new account is registered with") \
	X(DIRECTORY, "ACMEPIPE_DIRECTORY", "directory", 'd', \
	    CONF_LE_PRODUCTION, \
	    "the CA's directory URL (cert-expiring: none, no renewal info)") \
	X(EAB_HMAC_KEY, "ACMEPIPE_EAB_HMAC_KEY", "eab-hmac-key", 'M', NULL, \
	    "the external account binding's base64url HMAC key") \
	X(EAB_KID, "ACMEPIPE_EAB_KID", "eab-kid", 'E', NULL, \
	    "the external account binding's key identifier") \
	X(GROUP, "ACMEPIPE_GROUP", "group", 'g', NULL, \
	    "the group of the stored files") \
	X(HOOK, "ACMEPIPE_HOOK", "hook", 'H', NULL, \
	    "the program that provisions challenges (the webroot wins)") \
	X(IN_FLIGHT, "ACMEPIPE_IN_FLIGHT", "in-flight", 'F', "16", \
	    "documents an ACME step works on at once") \
	X(HTTP_TIMEOUT, "ACMEPIPE_HTTP_TIMEOUT", "http-timeout", 'T', "30", \
	    "seconds one HTTP request may take (cert-expiring: 10)") \
	X(KEY_DIR, "ACMEPIPE_KEY_DIR", "key-dir", 'D', NULL, \
	    "where certificate keys go (else the store's private area)") \
	X(KEY_TYPE, "ACMEPIPE_KEY_TYPE", "key-type", 'K', "ec-p256", \
	    "the type of new certificate keys (ec-p384, rsa2048, ...)") \
	X(LEASE, "ACMEPIPE_LEASE", "lease", 'L', "10800", \
	    "seconds a name cert-expiring emits stays claimed; 0: no leases") \
	X(MODE, "ACMEPIPE_MODE", "mode", 'm', NULL, \
	    "the mode of the stored files") \
	X(POINTS_TO, "ACMEPIPE_POINTS_TO", "points-to", 'O', NULL, \
	    "addresses, networks, CNAME hosts names must resolve to") \
	X(PREFERRED_CHAIN, "ACMEPIPE_PREFERRED_CHAIN", "preferred-chain", \
	    'P', NULL, "the issuer of the alternate chain to prefer") \
	X(PROFILE, "ACMEPIPE_PROFILE", "profile", 'p', NULL, \
	    "the certificate profile to order") \
	X(RENEW_ISSUE, "ACMEPIPE_RENEW_ISSUE", NULL, 0, NULL, \
	    "acme-renew's own: the flags its acme-issue runs get") \
	X(RENEW_OUT, "ACMEPIPE_RENEW_OUT", NULL, 0, NULL, \
	    "acme-renew's own: the directory of its batches' results") \
	X(RESOLVER, "ACMEPIPE_RESOLVER", "resolver", 'N', NULL, \
	    "the name server pre-flight checks ask, ADDR[:PORT]; else the system's") \
	X(SELF_CHECK, "ACMEPIPE_SELF_CHECK", "self-check", 'V', NULL, \
	    "set (not 0, no, false): fetch each http-01 token before the CA") \
	X(SELF_CHECK_PORT, "ACMEPIPE_SELF_CHECK_PORT", NULL, 0, "80", \
	    "the port --self-check fetches from (a test CA's http-01 port)") \
	X(STAGING, "ACMEPIPE_STAGING", "staging", 'S', NULL, \
	    "set (not 0, no, false): Let's Encrypt staging, unless -d") \
	X(STORE, "ACMEPIPE_STORE", "store", 's', NULL, \
	    "the certificate store: a directory or a postgresql:// URI") \
	X(TIMEOUT, "ACMEPIPE_TIMEOUT", "timeout", 'W', "120", \
	    "seconds to wait for the authorizations or the order") \
	X(WEBROOT, "ACMEPIPE_WEBROOT", "webroot", 'w', NULL, \
	    "the directory http-01 challenge files are written under")

#endif
