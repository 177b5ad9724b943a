/* ddl_dialect.h — what differs in DDL between backends (engine/schema/ddl.c), as data each
 * dialect.c fills: SQLAlchemy's DDLCompiler subclasses and the dialect flags create_all consults
 * (supports_alter, supports_comments, inline_comments, supports_sequences,
 * supports_identity_columns, supports_native_enum, supports_native_boolean), and the catalog
 * queries behind checkfirst (has_table, has_sequence, has_type) and reflection's (`reflect`). */
#ifndef ATH_DIALECTS_DDL_DIALECT_H
#define ATH_DIALECTS_DDL_DIALECT_H

#include <stdint.h>

/* column_layout: name type DEFAULT computed identity NOT NULL (DDLCompiler, PGDDLCompiler) /
 * name type DEFAULT NOT NULL computed (SQLiteDDLCompiler) / name type computed NOT NULL COMMENT
 * AUTO_INCREMENT|DEFAULT (MySQLDDLCompiler) */
enum { ATH_DDL_COLUMNS_GENERIC, ATH_DDL_COLUMNS_SQLITE, ATH_DDL_COLUMNS_MYSQL };

typedef struct ath_ddl_dialect {
	unsigned int version;
	int supports_alter;          /* ALTER TABLE ADD/DROP CONSTRAINT; else FK cycles stay inline */
	int supports_comments;       /* COMMENT ON TABLE / COLUMN statements (PostgreSQL) */
	int inline_comments;         /* COMMENT '...' on columns, COMMENT='...' on the table (MySQL) */
	int supports_sequences;      /* CREATE SEQUENCE for a column's "sequence" */
	int supports_identity;       /* GENERATED ... AS IDENTITY */
	int native_enum_type;        /* CREATE TYPE ... AS ENUM before the tables, DROP TYPE after (PostgreSQL) */
	int serial;                  /* autoincrement as SERIAL / BIGSERIAL / SMALLSERIAL (PostgreSQL) */
	const char *autoincrement;   /* suffix of the autoincrement column ("AUTO_INCREMENT"), or NULL */
	int partial_indexes;         /* CREATE INDEX ... WHERE (postgresql_where / sqlite_where) */
	int functional_index_parens; /* a function or operator index item is wrapped in parentheses (MySQL) */
	int default_expr_parens;     /* DEFAULT (expr) for a SQL expression default (SQLite) */
	const char *drop_fk;         /* "DROP CONSTRAINT" or "DROP FOREIGN KEY" (MySQL) */
	int cross_schema_fk;         /* 0: a foreign key to a table in another schema is left out (SQLite) */
	int computed_always_stored;  /* GENERATED ... STORED even when persisted is not given; VIRTUAL is an error (PostgreSQL) */
	int bool_check;              /* Boolean(create_constraint=True) adds CHECK (x IN (0, 1)) (no native boolean) */
	/* checkfirst queries: text SQL with :n (the name) and :s (the schema, or NULL) */
	const char *has_table_sql, *has_sequence_sql, *has_type_sql;
	uint8_t column_layout;       /* ATH_DDL_COLUMNS_* */
	int no_composite_autoinc;    /* autoincrement=True in a composite primary key is a CompileError (SQLite) */
	int index_expr_group;        /* an operator expression in an index is parenthesised (PostgreSQL's self_group) */
	const struct ath_reflect_ops *reflect; /* catalog queries of reflection (engine/schema/reflect_<db>.c); NULL = none */
} ath_ddl_dialect;

#endif
