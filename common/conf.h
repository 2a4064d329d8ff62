/*
 * conf: option, then ACMEPIPE_* environment variable, then default.
 */
#ifndef CONF_H
#define CONF_H

/*
 * Returns opt when non-NULL, else getenv(env) when set and non-empty, else
 * def (which may be NULL). The result is borrowed: it points into argv,
 * the environment or def.
 */
const char *conf_get(const char *opt, const char *env, const char *def);

/* 1 when the variable env is set to anything but "", "0", "no", "false". */
int conf_flag(const char *env);

/* Parses a decimal number from 1 to max; -1 when s is not one. */
long conf_number(const char *s, long max);

/* Parses a positive decimal number of seconds; -1 when s is not one. */
long conf_seconds(const char *s);

/* Let's Encrypt's directories (production is the default). */
#define CONF_LE_PRODUCTION "https://acme-v02.api.letsencrypt.org/directory"
#define CONF_LE_STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"

#endif
