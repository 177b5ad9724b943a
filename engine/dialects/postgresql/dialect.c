/* postgresql/dialect.c — PostgreSQL's SQL rendering: "$n" placeholders (libpq), LIMIT ALL for a
 * bare OFFSET, native ILIKE and booleans, the 63-byte identifier limit. Mirrors
 * sqlalchemy/dialects/postgresql/base.py (PGCompiler): DISTINCT ON, FOR UPDATE variants, ~ for
 * regexp, arrays, LATERAL, ON CONFLICT; JSON operators are the generic compiler's. No driver yet: the libpq driver comes with
 * the servers work, so engines for postgresql:// URLs report NotSupportedError. */
#include <inttypes.h>

#include "dialects/dialect.h"
#include "dialects/ddl_dialect.h"
#include "schema/reflect.h"
#include "sql/compiler.h"
#include "types/typename.h"

#include "reserved_words.h"

static void placeholder(ath_strbuf *b, uint32_t position) { ath_strbuf__printf(b, "$%" PRIu32, position); }

static int limit_clause(ath_compiler *c, const ath_select *s)
{
	int rc = 0;
	if (s->limit) {
		ath_compiler__puts(c, " LIMIT ");
		rc = ath_compiler__expr(c, s->limit);
	} else {
		ath_compiler__puts(c, " LIMIT ALL");
	}
	if (!rc && s->offset) {
		ath_compiler__puts(c, " OFFSET ");
		rc = ath_compiler__expr(c, s->offset);
	}
	return rc;
}

/* FOR UPDATE / FOR NO KEY UPDATE / FOR SHARE / FOR KEY SHARE [OF t, ...] [NOWAIT | SKIP LOCKED]
 * (PGCompiler.for_update_clause) */
static int for_update_clause(ath_compiler *c, const ath_select *s)
{
	const ath_for_update *f = s->for_update;
	if (f->read)
		ath_compiler__puts(c, f->key_share ? " FOR KEY SHARE" : " FOR SHARE");
	else
		ath_compiler__puts(c, f->key_share ? " FOR NO KEY UPDATE" : " FOR UPDATE");
	for (uint32_t i = 0; i < f->nof; i++) {
		ath_compiler__puts(c, i ? ", " : " OF ");
		ath_compiler__ident(c, f->of[i]);
	}
	if (f->nowait)
		ath_compiler__puts(c, " NOWAIT");
	if (f->skip_locked)
		ath_compiler__puts(c, " SKIP LOCKED");
	return 0;
}

/* PGDDLCompiler + PGDialect's flags and its has_table / has_sequence / has_type queries */
static const ath_ddl_dialect ddl = {
	.version = 1,
	.supports_alter = 1,
	.supports_comments = 1,
	.supports_sequences = 1,
	.supports_identity = 1,
	.native_enum_type = 1,
	.serial = 1,
	.partial_indexes = 1,
	.drop_fk = "DROP CONSTRAINT",
	.cross_schema_fk = 1,
	.computed_always_stored = 1,
	.column_layout = ATH_DDL_COLUMNS_GENERIC,
	.index_expr_group = 1,
	.has_table_sql = "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
			 "c.relnamespace WHERE c.relname = :n AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = coalesce(CAST(:s AS TEXT), current_schema())",
	.has_sequence_sql = "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
			    "c.relnamespace WHERE c.relkind = 'S' AND c.relname = :n AND n.nspname = coalesce(CAST(:s AS TEXT), current_schema())",
	.has_type_sql = "SELECT t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = "
			"t.typnamespace WHERE t.typname = :n AND n.nspname = coalesce(CAST(:s AS TEXT), current_schema())",
	.reflect = &ath_reflect_postgresql,
};

const ath_dialect ath_dialect_postgresql = {
	.version = 1,
	.name = "postgresql",
	.quote = '"',
	.reserved = postgresql_reserved,
	.nreserved = sizeof postgresql_reserved / sizeof postgresql_reserved[0],
	.placeholder = placeholder,
	.limit_clause = limit_clause,
	.returning = ATH_RETURNING_ALL,
	.implicit_returning = 1,
	.supports_full_join = 1,
	.supports_ilike = 1,
	.native_boolean = 1,
	.max_ident_len = 63,
	.inner_join = "JOIN",
	.default_values = "DEFAULT VALUES",
	.driver = &ath_postgresql_driver,
	.begin_sql = "BEGIN",
	.for_update_clause = for_update_clause,
	.regexp_op = "~",
	.not_regexp_op = "!~",
	.supports_filter = 1,
	.supports_distinct_on = 1,
	.supports_lateral = 1,
	.supports_arrays = 1,
	.compound_parens = 1,
	.values_style = ATH_VALUES_CLAUSE,
	.update_from_style = ATH_UPDATE_FROM_CLAUSE,
	.delete_using_style = ATH_DELETE_USING_CLAUSE,
	.upsert_style = ATH_UPSERT_ON_CONFLICT,
	.on_conflict_constraint = 1,
	.type_family = ATH_TYPES_POSTGRESQL,
	.ddl = &ddl,
	.empty_in_style = ATH_EMPTY_IN_NULL,
};
