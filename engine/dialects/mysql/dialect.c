/* mysql/dialect.c — MySQL and MariaDB SQL rendering: backquoted identifiers, "?" placeholders
 * (server-side prepared statements), LIMIT offset, count; concat() for ||; backslash escaping in
 * string literals; no FULL JOIN; VALUES() in ON DUPLICATE KEY UPDATE; multi-table UPDATE/DELETE;
 * FILTER emulated with CASE; <=> for IS [NOT] DISTINCT FROM. Mirrors sqlalchemy/dialects/mysql/base.py
 * (MySQLCompiler).
 * No driver yet: the libmysqlclient driver comes with the servers work. */
#include "dialects/dialect.h"
#include "dialects/ddl_dialect.h"
#include "schema/reflect.h"
#include "sql/compiler.h"
#include "types/typename.h"

#include "reserved_words.h"
#include "reserved_words_mariadb.h"

static void placeholder(ath_strbuf *b, uint32_t position) { ath_strbuf__putc(b, '?'); }

static int limit_clause(ath_compiler *c, const ath_select *s)
{
	/* LIMIT [offset, ] count; a bare offset needs the largest count (SQLAlchemy does the same) */
	int rc = 0;
	ath_compiler__puts(c, " LIMIT ");
	if (s->offset) {
		if ((rc = ath_compiler__expr(c, s->offset)))
			return rc;
		ath_compiler__puts(c, ", ");
	}
	if (s->limit)
		rc = ath_compiler__expr(c, s->limit);
	else
		ath_compiler__puts(c, "18446744073709551615");
	return rc;
}

/* a || b || c renders as concat(a, b, c); IS [NOT] DISTINCT FROM as NOT (a <=> b) / a <=> b
 * (MySQLCompiler.visit_is_distinct_from_binary) */
static int visit_binary(ath_compiler *c, const ath_node *n)
{
	if (n->op == ATH_OP_IS_DISTINCT_FROM || n->op == ATH_OP_IS_NOT_DISTINCT_FROM) {
		int neg = n->op == ATH_OP_IS_DISTINCT_FROM;
		ath_compiler__puts(c, neg ? "NOT (" : "");
		int rc = ath_compiler__grouped(c, n->kids[0], ATH_PREC_COMPARE, n->op);
		ath_compiler__puts(c, " <=> ");
		if (!rc)
			rc = ath_compiler__grouped(c, n->kids[1], ATH_PREC_COMPARE, n->op);
		ath_compiler__puts(c, neg ? ")" : "");
		return rc;
	}
	if (n->op != ATH_OP_CONCAT)
		return ath_compiler__visit_generic(c, n);
	ath_compiler__puts(c, "concat(");
	for (uint32_t i = 0; i < n->n; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		int rc = ath_compiler__expr(c, n->kids[i]);
		if (rc)
			return rc;
	}
	ath_compiler__puts(c, ")");
	return 0;
}

/* the proposed row of ON DUPLICATE KEY UPDATE: VALUES(name) */
static int visit_excluded(ath_compiler *c, const ath_node *n)
{
	ath_compiler__puts(c, "VALUES(");
	ath_compiler__ident(c, n->name);
	ath_compiler__puts(c, ")");
	return 0;
}

/* JSON_EXTRACT with a JSON path; as text, SQLAlchemy 1.4's JSON_UNQUOTE form that keeps JSON null
 * as SQL NULL (MySQLCompiler.visit_json_getitem_op_binary) */
static int visit_json(ath_compiler *c, const ath_node *n)
{
	int text = n->op == ATH_JSON_GET_TEXT || n->op == ATH_JSON_PATH_TEXT;
	int rc = 0;
	for (int pass = 0; pass < (text ? 2 : 1) && !rc; pass++) {
		if (text)
			ath_compiler__puts(c, pass ? " THEN NULL ELSE JSON_UNQUOTE(JSON_EXTRACT(" : "CASE JSON_EXTRACT(");
		else
			ath_compiler__puts(c, "JSON_EXTRACT(");
		if ((rc = ath_compiler__expr(c, n->kids[0])))
			return rc;
		ath_compiler__puts(c, ", ");
		rc = ath_compiler__json_key(c, n, ATH_BIND_JSON_PATH);
		ath_compiler__puts(c, text ? (pass ? ")) END" : ") WHEN 'null'") : ")");
	}
	return rc;
}

/* FOR UPDATE / LOCK IN SHARE MODE [OF t] [NOWAIT | SKIP LOCKED] (MySQLCompiler.for_update_clause);
 * OF only where the server has it (MySQL 8, not MariaDB: SQLAlchemy leaves it out there). */
static int for_update_common(ath_compiler *c, const ath_select *s, int has_of)
{
	const ath_for_update *f = s->for_update;
	ath_compiler__puts(c, f->read ? " LOCK IN SHARE MODE" : " FOR UPDATE");
	for (uint32_t i = 0; has_of && i < f->nof; i++) {
		ath_compiler__puts(c, i ? ", " : " OF ");
		ath_compiler__ident(c, f->of[i]);
	}
	if (f->nowait)
		ath_compiler__puts(c, " NOWAIT");
	if (f->skip_locked)
		ath_compiler__puts(c, " SKIP LOCKED");
	return 0;
}

static int for_update_mysql(ath_compiler *c, const ath_select *s) { return for_update_common(c, s, 1); }
static int for_update_mariadb(ath_compiler *c, const ath_select *s) { return for_update_common(c, s, 0); }

static const ath_visit_fn visit[ATH_N__COUNT] = {
	[ATH_N_BINARY] = visit_binary,
	[ATH_N_EXCLUDED] = visit_excluded,
	[ATH_N_JSON] = visit_json,
};

/* expression-language rendering shared by MySQL and MariaDB */
#define MYSQL_EXPR                                                                                 \
	.regexp_op = "REGEXP", .not_regexp_op = "NOT REGEXP", .supports_filter = 0, .compound_parens = 1, \
	.values_style = ATH_VALUES_UNION_ALL, .update_from_style = ATH_UPDATE_FROM_MULTI_TABLE,            \
	.delete_using_style = ATH_DELETE_USING_MULTI_TABLE, .upsert_style = ATH_UPSERT_ON_DUPLICATE_KEY,   \
	.type_family = ATH_TYPES_MYSQL, .supports_update_limit = 1, .empty_in_style = ATH_EMPTY_IN_NULL,    \
	.insert_cte_style = ATH_INSERT_CTE_BEFORE_SELECT, .ddl = &ddl

#define MYSQL_COMMON                                                                               \
	.version = 1, .quote = '`', .visit = visit, .placeholder = placeholder, .limit_clause = limit_clause, \
	.backslash_escapes = 1, .supports_full_join = 0,                                            \
	.supports_ilike = 0, .native_boolean = 1, .max_ident_len = 64, .inner_join = "INNER JOIN",     \
	.default_values = "() VALUES ()", .driver = &ath_mysql_driver, .begin_sql = "BEGIN"

/* MySQLDDLCompiler + MySQLDialect's flags: inline COMMENT, AUTO_INCREMENT, DROP FOREIGN KEY,
 * functional index items in parentheses; no partial indexes (SQLAlchemy has no mysql_where).
 * Sequences: SQLAlchemy 1.4 turns them on for MariaDB >= 10.3 only after connecting; athanor
 * renders as the unconnected dialect does (no CREATE SEQUENCE; AUTO_INCREMENT instead). */
static const ath_ddl_dialect ddl = {
	.version = 1,
	.supports_alter = 1,
	.inline_comments = 1,
	.autoincrement = "AUTO_INCREMENT",
	.functional_index_parens = 1,
	.drop_fk = "DROP FOREIGN KEY",
	.cross_schema_fk = 1,
	.bool_check = 1,
	.column_layout = ATH_DDL_COLUMNS_MYSQL,
	.has_table_sql = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_NAME = :n AND TABLE_SCHEMA = "
			 "coalesce(:s, DATABASE())",
	.reflect = &ath_reflect_mysql,
};

const ath_dialect ath_dialect_mysql = {
	MYSQL_COMMON,
	MYSQL_EXPR,
	.name = "mysql",
	.returning = 0, /* MySQL has no RETURNING */
	.supports_lateral = 1, /* MySQL >= 8.0.14 */
	.for_update_clause = for_update_mysql,
	.reserved = mysql_reserved,
	.nreserved = sizeof mysql_reserved / sizeof mysql_reserved[0],
};

const ath_dialect ath_dialect_mariadb = {
	MYSQL_COMMON,
	MYSQL_EXPR,
	.name = "mariadb",
	.returning = ATH_RETURNING_INSERT | ATH_RETURNING_DELETE, /* MariaDB >= 10.5; no UPDATE ... RETURNING */
	.for_update_clause = for_update_mariadb,
	.reserved = mariadb_reserved,
	.nreserved = sizeof mariadb_reserved / sizeof mariadb_reserved[0],
};
