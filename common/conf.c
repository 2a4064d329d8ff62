/* conf: option, then environment, then default. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define CONF_V_ROW(id, env, lo, sh, def, what) \
	[CONF_V_##id] = { env, lo, sh, def, what },
const struct conf_var conf_vars[CONF_NVARS] = {
	CONF_TABLE(CONF_V_ROW)
};
#undef CONF_V_ROW

const char *
conf_value(enum conf_id id, const char *opt)
{
	return conf_get(opt, conf_vars[id].env, conf_vars[id].def);
}

const char *
conf_get(const char *opt, const char *env, const char *def)
{
	const char *v;

	if (opt != NULL)
		return opt;
	if (env != NULL && (v = getenv(env)) != NULL && *v != '\0')
		return v;
	return def;
}

long
conf_number(const char *s, long max)
{
	char *end = NULL;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max)
		return -1;
	return v;
}

long
conf_seconds(const char *s)
{
	return conf_number(s, 86400L * 366);
}

int
conf_flag(const char *env)
{
	const char *v = conf_get(NULL, env, NULL);

	return v != NULL && strcmp(v, "0") != 0 && strcmp(v, "no") != 0 &&
	    strcmp(v, "false") != 0;
}
