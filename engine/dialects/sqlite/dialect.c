/* sqlite/dialect.c — SQLite's SQL rendering: "?" placeholders, LIMIT -1 for a bare OFFSET,
 * row-value IN via VALUES, CURRENT_TIMESTAMP for now(). Mirrors sqlalchemy/dialects/sqlite/base.py
 * (SQLiteCompiler, SQLiteIdentifierPreparer). The driver is in driver.c. */
#include <string.h>

#include "dialects/dialect.h"
#include "sql/compiler.h"

#include "reserved_words.h"

extern const ath_driver_ops ath_sqlite_driver;

static void placeholder(ath_strbuf *b, uint32_t position) { ath_strbuf__putc(b, '?'); }

static int limit_clause(ath_compiler *c, const ath_select *s)
{
	int rc = 0;
	ath_compiler__puts(c, " LIMIT ");
	if (s->limit)
		rc = ath_compiler__expr(c, s->limit);
	else
		ath_compiler__puts(c, "-1");
	if (!rc && s->offset) {
		ath_compiler__puts(c, " OFFSET ");
		rc = ath_compiler__expr(c, s->offset);
	}
	return rc;
}

static void empty_set(ath_strbuf *b, uint32_t arity)
{
	/* SELECT 1 FROM (SELECT 1) WHERE 1!=1, one "1" per tuple element */
	ath_strbuf__puts(b, "SELECT ");
	for (uint32_t pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < (arity ? arity : 1); i++)
			ath_strbuf__puts(b, i ? ", 1" : "1");
		ath_strbuf__puts(b, pass ? ") WHERE 1!=1" : " FROM (SELECT ");
	}
}

static const char *function_sql(const char *name, uint32_t nargs)
{
	if (nargs == 0 && strcmp(name, "now") == 0)
		return "CURRENT_TIMESTAMP";
	return NULL;
}

const ath_dialect ath_dialect_sqlite = {
	.version = 1,
	.name = "sqlite",
	.quote = '"',
	.reserved = sqlite_reserved,
	.nreserved = sizeof sqlite_reserved / sizeof sqlite_reserved[0],
	.placeholder = placeholder,
	.limit_clause = limit_clause,
	.empty_set = empty_set,
	.tuple_in_values = 1,
	.supports_returning = 1,
	.supports_full_join = 1, /* SQLite >= 3.39 */
	.supports_ilike = 0,
	.native_boolean = 0,
	.inner_join = "JOIN",
	.default_values = "DEFAULT VALUES",
	.function_sql = function_sql,
	.driver = &ath_sqlite_driver,
	.begin_sql = "BEGIN",
};
