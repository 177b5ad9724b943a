/* sqlite/dialect.c — SQLite's SQL rendering: "?" placeholders, LIMIT -1 for a bare OFFSET,
 * row-value IN via VALUES, CURRENT_TIMESTAMP for now(), STRFTIME for EXTRACT, JSON_EXTRACT for JSON
 * access, IS / IS NOT for IS [NOT] DISTINCT FROM, compound members wrapped as subqueries. Mirrors sqlalchemy/dialects/sqlite/base.py
 * (SQLiteCompiler, SQLiteIdentifierPreparer). The driver is in driver.c. */
#include <string.h>

#include "dialects/dialect.h"
#include "dialects/ddl_dialect.h"
#include "schema/reflect.h"
#include "sql/compiler.h"
#include "types/typename.h"

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
	if (nargs == 0 && strcmp(name, "localtimestamp") == 0)
		return "DATETIME(CURRENT_TIMESTAMP, \"localtime\")"; /* SQLiteCompiler.visit_localtimestamp_func */
	return NULL;
}

/* IS [NOT] DISTINCT FROM is spelled IS NOT / IS (SQLiteCompiler.visit_is_distinct_from_binary) */
static int visit_binary(ath_compiler *c, const ath_node *n)
{
	if (n->op != ATH_OP_IS_DISTINCT_FROM && n->op != ATH_OP_IS_NOT_DISTINCT_FROM)
		return ath_compiler__visit_generic(c, n);
	int rc = ath_compiler__grouped(c, n->kids[0], ATH_PREC_COMPARE, n->op);
	if (rc)
		return rc;
	ath_compiler__puts(c, n->op == ATH_OP_IS_DISTINCT_FROM ? " IS NOT " : " IS ");
	return ath_compiler__grouped(c, n->kids[1], ATH_PREC_COMPARE, n->op);
}

/* EXTRACT(field FROM x) as CAST(STRFTIME('%Y', x) AS INTEGER) (SQLiteCompiler.extract_map) */
static int visit_extract(ath_compiler *c, const ath_node *n)
{
	static const char *const map[][2] = { { "month", "%m" }, { "day", "%d" }, { "year", "%Y" }, { "second", "%S" },
					     { "hour", "%H" }, { "doy", "%j" }, { "minute", "%M" }, { "epoch", "%s" },
					     { "dow", "%w" }, { "week", "%W" } };
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(n->name, map[i][0]) == 0) {
			ath_compiler__puts(c, "CAST(STRFTIME('");
			ath_compiler__puts(c, map[i][1]);
			ath_compiler__puts(c, "', ");
			int rc = ath_compiler__expr(c, n->kids[0]);
			ath_compiler__puts(c, ") AS INTEGER)");
			return rc;
		}
	return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "%s is not a valid extract argument", n->name);
}

/* JSON access through JSON_EXTRACT with a JSON path (SQLiteCompiler.visit_json_getitem_op_binary) */
static int visit_json(ath_compiler *c, const ath_node *n)
{
	int text = n->op == ATH_JSON_GET_TEXT || n->op == ATH_JSON_PATH_TEXT;
	ath_compiler__puts(c, text ? "JSON_EXTRACT(" : "JSON_QUOTE(JSON_EXTRACT(");
	int rc = ath_compiler__expr(c, n->kids[0]);
	ath_compiler__puts(c, ", ");
	if (!rc)
		rc = ath_compiler__json_key(c, n, ATH_BIND_JSON_PATH);
	ath_compiler__puts(c, text ? ")" : "))");
	return rc;
}

static const ath_visit_fn visit[ATH_N__COUNT] = {
	[ATH_N_BINARY] = visit_binary,
	[ATH_N_EXTRACT] = visit_extract,
	[ATH_N_JSON] = visit_json,
};

/* SQLiteDDLCompiler + SQLiteDialect's flags: no ALTER for constraints, no comments, no sequences;
 * expression defaults in parentheses; foreign keys to another schema left out */
static const ath_ddl_dialect ddl = {
	.version = 1,
	.partial_indexes = 1,
	.default_expr_parens = 1,
	.drop_fk = "DROP CONSTRAINT",
	.bool_check = 1,
	.column_layout = ATH_DDL_COLUMNS_SQLITE,
	.no_composite_autoinc = 1,
	.has_table_sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = :n AND coalesce(:s, 'main') = 'main'",
	.reflect = &ath_reflect_sqlite,
};

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
	.returning = ATH_RETURNING_ALL, /* SQLite >= 3.35 */
	.supports_full_join = 1, /* SQLite >= 3.39 */
	.supports_ilike = 0,
	.native_boolean = 0,
	.inner_join = "JOIN",
	.default_values = "DEFAULT VALUES",
	.function_sql = function_sql,
	.driver = &ath_sqlite_driver,
	.begin_sql = "BEGIN",
	.visit = visit,
	.regexp_op = "REGEXP",
	.not_regexp_op = "NOT REGEXP",
	.supports_filter = 1, /* SQLite >= 3.30 */
	.compound_parens = 0, /* SQLite rejects (SELECT ...) UNION ...: members are wrapped as SELECT * FROM (...) */
	.values_style = ATH_VALUES_UNION_ALL,
	.update_from_style = ATH_UPDATE_FROM_CLAUSE, /* SQLite >= 3.33 */
	.delete_using_style = ATH_DELETE_USING_NONE,
	.upsert_style = ATH_UPSERT_ON_CONFLICT,
	.type_family = ATH_TYPES_SQLITE,
	.ddl = &ddl,
};
