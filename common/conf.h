/*
 * conf: option, then ACMEPIPE_* environment variable, then default. The
 * variables, their options and defaults are the rows of conf_table.h.
 */
#ifndef CONF_H
#define CONF_H

#include "conf_table.h"

/* A row of conf_table.h; every member is a string constant or NULL. */
struct conf_var {
	const char	*env;      /* "ACMEPIPE_..." */
	const char	*longopt;  /* without "--", or NULL */
	int		 shortopt; /* or 0 */
	const char	*def;      /* or NULL */
	const char	*meaning;
};

/* The rows, by id: conf_vars[CONF_V_STORE] is ACMEPIPE_STORE's. */
#define CONF_V_ID(id, env, lo, sh, def, what) CONF_V_##id,
enum conf_id {
	CONF_TABLE(CONF_V_ID)
	CONF_NVARS
};
#undef CONF_V_ID

extern const struct conf_var conf_vars[CONF_NVARS];

/* The variable of row id, a string constant: CONF_ENV(STORE). */
#define CONF_ENV(id) (conf_vars[CONF_V_##id].env)

/*
 * conf_get() with row id's variable and default: opt when non-NULL, else
 * the variable when set and non-empty, else the table's default (which
 * may be NULL). Borrowed, as conf_get()'s.
 */
const char *conf_value(enum conf_id id, const char *opt);

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

#endif
