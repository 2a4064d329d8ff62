/*
 * conf-table: prints the rows of common/conf_table.h as the commands see
 * them (conf_vars[], conf.h), one a line, for tests/26-conf.bats and
 * `make conf-table`. Tab-separated: variable, long option, short option,
 * default, meaning; an absent field is empty.
 */
#include <stdio.h>

#include "conf.h"

int
main(void)
{
	const struct conf_var *v;
	char letter[2];
	int i;

	for (i = 0; i < CONF_NVARS; i++) {
		v = &conf_vars[i];
		letter[0] = (char)v->shortopt;
		letter[1] = '\0';
		if (printf("%s\t%s\t%s\t%s\t%s\n", v->env,
		    v->longopt != NULL ? v->longopt : "", letter,
		    v->def != NULL ? v->def : "", v->meaning) < 0)
			break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("conf-table: <stdout>");
		return 1;
	}
	return 0;
}
