/* registry.c — URL dialect names to dialect vtables (SQLAlchemy's dialect registry, without
 * plugins: the set is fixed at build time). */
#include <string.h>

#include "dialect.h"

static const struct {
	const char *name;
	const ath_dialect *dialect;
} dialects[] = {
	{ "sqlite", &ath_dialect_sqlite },
	{ "postgresql", &ath_dialect_postgresql },
	{ "postgres", &ath_dialect_postgresql },
	{ "mysql", &ath_dialect_mysql },
	{ "mariadb", &ath_dialect_mariadb },
};

const ath_dialect *ath_dialect__find(const char *name)
{
	for (size_t i = 0; i < sizeof dialects / sizeof dialects[0]; i++)
		if (name && strcmp(dialects[i].name, name) == 0)
			return dialects[i].dialect;
	return NULL;
}
