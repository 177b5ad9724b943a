/* mysql/dialect.c — MySQL and MariaDB SQL rendering: backquoted identifiers, "?" placeholders
 * (server-side prepared statements), LIMIT offset, count; concat() for ||; backslash escaping in
 * string literals; no FULL JOIN. Mirrors sqlalchemy/dialects/mysql/base.py (MySQLCompiler).
 * The Connector/C driver is in driver.c. */
#include "dialects/dialect.h"
#include "sql/compiler.h"

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

static void empty_set(ath_strbuf *b, uint32_t arity)
{
	ath_strbuf__puts(b, "SELECT ");
	for (uint32_t pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < (arity ? arity : 1); i++)
			ath_strbuf__puts(b, i ? ", 1" : "1");
		ath_strbuf__puts(b, pass ? ") as _empty_set WHERE 1!=1" : " FROM (SELECT ");
	}
}

/* a || b || c renders as concat(a, b, c) */
static int visit_binary(ath_compiler *c, const ath_node *n)
{
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

static const ath_visit_fn visit[ATH_N__COUNT] = {
	[ATH_N_BINARY] = visit_binary,
};

#define MYSQL_COMMON                                                                               \
	.version = 1, .quote = '`', .visit = visit, .placeholder = placeholder, .limit_clause = limit_clause, \
	.empty_set = empty_set, .backslash_escapes = 1, .supports_returning = 0, .supports_full_join = 0, \
	.supports_ilike = 0, .native_boolean = 1, .max_ident_len = 64, .inner_join = "INNER JOIN",     \
	.default_values = "() VALUES ()", .driver = &ath_mysql_driver, .begin_sql = "BEGIN"

const ath_dialect ath_dialect_mysql = {
	MYSQL_COMMON,
	.name = "mysql",
	.reserved = mysql_reserved,
	.nreserved = sizeof mysql_reserved / sizeof mysql_reserved[0],
};

const ath_dialect ath_dialect_mariadb = {
	MYSQL_COMMON,
	.name = "mariadb",
	.reserved = mariadb_reserved,
	.nreserved = sizeof mariadb_reserved / sizeof mariadb_reserved[0],
};
