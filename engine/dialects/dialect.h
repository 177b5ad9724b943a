/* dialect.h — what differs between backends, as const vtables: SQL rendering hooks for the
 * compiler and the driver operations. One directory per dialect; picked by URL. Mirrors
 * sqlalchemy.engine.default.DefaultDialect + each dialect's compiler and DBAPI adapter. */
#ifndef ATH_DIALECTS_DIALECT_H
#define ATH_DIALECTS_DIALECT_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/strbuf.h"
#include "wire/ast.h"

typedef struct ath_compiler ath_compiler;
typedef struct ath_dialect ath_dialect;
typedef struct ath_url ath_url;
typedef int (*ath_visit_fn)(ath_compiler *c, const ath_node *n);

/* What a driver reports after running a statement. */
typedef struct ath_exec_info {
	int64_t rowcount;  /* -1 when unknown */
	int64_t lastrowid; /* 0 when none */
	int has_rows;      /* the statement produced a row set (possibly empty) */
} ath_exec_info;

/* Settings a driver needs when it connects. */
typedef struct ath_connect_cfg {
	const ath_url *url;
	int busy_timeout_ms; /* SQLite: how long to wait on a locked database */
	int stream_results;  /* read rows from the server as they are fetched (server-side cursor) */
} ath_connect_cfg;

/* A driver: the DBAPI layer. `native` is the driver's connection, `stmt` a prepared statement. */
typedef struct ath_driver_ops {
	unsigned int version;
	/* Check a URL's options when the engine is created, before any connection. */
	int (*check_url)(const ath_url *url, ath_err *err);
	/* The URL names a private in-memory database: the pool then shares one connection. */
	int (*is_memory)(const ath_url *url);
	int (*connect)(void **native, const ath_connect_cfg *cfg, ath_err *err);
	void (*close)(void *native);
	int (*prepare)(void **stmt, void *native, const char *sql, size_t len, ath_err *err);
	void (*finalize)(void *stmt);
	/* Bind `values` and start the statement; rows, if any, are then read with fetch(). */
	int (*execute)(void *native, void *stmt, const msgpack_object *const *values, uint32_t n, ath_exec_info *info,
		       ath_err *err);
	/* Append up to `max` rows to `out` as msgpack (each an array); *nrows counts them, *done is set
	 * when the row set is exhausted (the statement is then reset and may be executed again). */
	int (*fetch)(void *native, void *stmt, ath_buf *out, size_t max, size_t *nrows, int *done, ath_err *err);
	/* Stop reading rows and make the statement reusable. */
	void (*reset)(void *stmt);
	size_t (*column_count)(void *stmt);
	const char *(*column_name)(void *stmt, size_t i);
	/* Run SQL that takes no parameters and returns no rows (BEGIN, COMMIT, SAVEPOINT, PRAGMA). */
	int (*exec_simple)(void *native, const char *sql, ath_err *err);
	/* 1 while the native connection is inside a transaction (so BEGIN/COMMIT are not doubled). */
	int (*in_transaction)(void *native);
	/* Names of the primary-key columns of a table, in key order; the callback is called for each.
	 * *rowid_alias is set when the key is a single column that takes the rowid / autoincrement. */
	int (*primary_key)(void *native, const char *schema, const char *table,
			   void (*each)(const char *col, void *payload), void *payload, int *rowid_alias, ath_err *err);
	const char *default_isolation; /* the level a connection is reset to when it returns to the pool */
	/* Apply an isolation level for the next transactions; "AUTOCOMMIT" is handled by the caller. */
	int (*set_isolation)(void *native, const char *level, ath_err *err);
	/* -- version 2 -- */
	/* A cheap round trip to test the connection (pool_pre_ping); failure means it is gone. */
	int (*ping)(void *native, ath_err *err);
	/* The value the last INSERT on this connection generated for `col` (a SERIAL/IDENTITY column
	 * read back through its sequence); NULL when the driver's lastrowid is the value. */
	int (*autoincrement_value)(void *native, const char *schema, const char *table, const char *col, int64_t *out,
				   ath_err *err);
	/* -- version 3 -- */
	/* Most host parameters one statement may carry: insertmanyvalues batches stay under it. */
	uint32_t max_params;
	/* executemany of a plain INSERT (no RETURNING) is sent as multi-row VALUES batches too (MySQL,
	 * where each row is otherwise a round trip, as mysqlclient's executemany rewrites it). */
	int insertmany_plain;
	/* Run `stmt` for `nrows` rows of `per` values each (row-major in `values`) as one pipelined
	 * batch, for a statement that returns no rows; info->rowcount is the sum. Returns 1 (nothing
	 * sent) when the rows cannot share one prepared statement: the caller then loops over
	 * execute(). On error *failed_row tells which row. NULL = no pipelining. */
	int (*execute_batch)(void *native, void *stmt, const msgpack_object *const *values, uint32_t per, uint32_t nrows,
			     ath_exec_info *info, uint32_t *failed_row, ath_err *err);
	/* Two-phase commit: SQLAlchemy's do_begin_twophase / do_prepare_twophase / do_commit_twophase /
	 * do_rollback_twophase / do_recover_twophase. `xid` is already checked to be safe to quote.
	 * end_twophase commits or rolls back; `prepared` = 0 when prepare_twophase was not called. NULL =
	 * the backend has no two-phase commit (NotSupportedError). */
	int (*begin_twophase)(void *native, const char *xid, ath_err *err);
	int (*prepare_twophase)(void *native, const char *xid, ath_err *err);
	int (*end_twophase)(void *native, const char *xid, int commit, int prepared, ath_err *err);
	int (*recover_twophase)(void *native, void (*each)(const char *xid, void *payload), void *payload, ath_err *err);
	/* -- version 4 -- */
	/* The generic type (ATH_T_* of types/type.h) the driver reports for result column `i` of an
	 * executed statement, *timezone set for a type WITH TIME ZONE; -1 when it cannot tell (SQLite
	 * without a declared type). NULL = never. */
	int (*column_type)(void *stmt, size_t i, int *timezone);
	/* -- version 5 -- */
	/* A number that changes whenever an executed statement's result columns may differ from the
	 * last execute's (SQLite: how often it was prepared again after a schema change); the engine
	 * then keeps the names and types per prepared statement. NULL = they are read at every execute. */
	uint64_t (*columns_version)(void *stmt);
} ath_driver_ops;

struct ath_dialect {
	unsigned int version;
	const char *name;
	char quote;                     /* identifier quote character */
	const char *const *reserved;    /* sorted lowercase reserved words */
	size_t nreserved;
	const ath_visit_fn *visit;      /* [ATH_N__COUNT]; NULL entries use the generic visitor */
	/* "?", "$1", ...: `position` counts from 1 in the final SQL */
	void (*placeholder)(ath_strbuf *b, uint32_t position);
	int (*limit_clause)(ath_compiler *c, const ath_select *s);
	/* The empty-set SELECT used for IN () with `arity` columns (SQLAlchemy visit_empty_set_expr),
	 * when empty_in_style is ATH_EMPTY_IN_SET; NULL otherwise. */
	void (*empty_set)(ath_strbuf *b, uint32_t arity);
	int tuple_in_values;            /* (a, b) IN (VALUES (?, ?), ...) instead of IN ((?, ?), ...) */
	int backslash_escapes;          /* string literals treat backslash as an escape (MySQL) */
	int supports_full_join;
	int supports_ilike;
	int native_boolean;             /* true/false literals; else 1/0 */
	uint32_t max_ident_len;         /* longer identifiers are refused (PostgreSQL truncates silently); 0 = no limit */
	const char *inner_join;         /* "JOIN" or "INNER JOIN" */
	const char *default_values;     /* "DEFAULT VALUES" or "() VALUES ()" */
	/* SQL for functions whose name differs per dialect (now() -> CURRENT_TIMESTAMP); NULL = none */
	const char *(*function_sql)(const char *lower_name, uint32_t nargs);
	const ath_driver_ops *driver;   /* NULL when the driver is not built in */
	const char *begin_sql;          /* "BEGIN" */
	/* -- expression-language rendering (issue 3) -- */
	/* " FOR UPDATE ..." for a select's "for_update"; NULL = the backend has no row locks (SQLite:
	 * rendered as nothing, as SQLAlchemy does, since SQLite locks the whole database) */
	int (*for_update_clause)(ath_compiler *c, const ath_select *s);
	const char *regexp_op, *not_regexp_op; /* "~" / "!~", "REGEXP" / "NOT REGEXP" */
	int supports_filter;            /* agg FILTER (WHERE ...); else agg(CASE WHEN ... THEN x END) */
	int supports_distinct_on;
	int supports_lateral;
	int supports_arrays;            /* ARRAY index/slice and ANY/ALL */
	int compound_parens;            /* (SELECT ... LIMIT ?) UNION ...; else SELECT * FROM (...) */
	uint8_t values_style;           /* ATH_VALUES_* */
	uint8_t update_from_style;      /* ATH_UPDATE_FROM_* */
	uint8_t delete_using_style;     /* ATH_DELETE_USING_* */
	uint8_t upsert_style;           /* ATH_UPSERT_* */
	uint8_t type_family;            /* ATH_TYPES_*: names for CAST (types/typename.h) */
	int supports_update_limit;      /* UPDATE ... ORDER BY ... LIMIT (MySQL) */
	int on_conflict_constraint;     /* ON CONFLICT ON CONSTRAINT name */
	uint8_t empty_in_style;         /* ATH_EMPTY_IN_*: what an empty expanding IN list renders as */
	uint8_t insert_cte_style;       /* ATH_INSERT_CTE_*: where an INSERT's WITH goes */
	/* ATH_RETURNING_* bits: the statement kinds that take RETURNING (SQLAlchemy 2.0's
	 * insert_returning / update_returning / delete_returning) */
	uint8_t returning;
	/* a single-row INSERT fetches the server-generated primary key with RETURNING (SQLAlchemy's
	 * dialect.implicit_returning; PostgreSQL, which has no lastrowid) */
	int implicit_returning;
	/* -- schema / DDL (engine/schema; the struct is dialects/ddl_dialect.h) -- */
	const struct ath_ddl_dialect *ddl;
};

/* returning */
enum { ATH_RETURNING_INSERT = 1, ATH_RETURNING_UPDATE = 2, ATH_RETURNING_DELETE = 4 };
#define ATH_RETURNING_ALL (ATH_RETURNING_INSERT | ATH_RETURNING_UPDATE | ATH_RETURNING_DELETE)

/* values_style */
enum { ATH_VALUES_CLAUSE, ATH_VALUES_UNION_ALL };
/* update_from_style: UPDATE t SET .. FROM x (PostgreSQL, SQLite) / UPDATE t, x SET t.a=.. (MySQL) */
enum { ATH_UPDATE_FROM_NONE, ATH_UPDATE_FROM_CLAUSE, ATH_UPDATE_FROM_MULTI_TABLE };
/* delete_using_style: DELETE FROM t USING x (PostgreSQL) / DELETE FROM t USING t, x (MySQL) */
enum { ATH_DELETE_USING_NONE, ATH_DELETE_USING_CLAUSE, ATH_DELETE_USING_MULTI_TABLE };
/* empty_in_style: x IN (SELECT 1 FROM (SELECT 1) WHERE 1!=1), the dialect's empty_set (SQLAlchemy's
 * SQLiteCompiler.visit_empty_set_op_expr) / x IN (NULL) AND (1 != 1), x NOT IN (NULL) OR (1 = 1)
 * (SQLAlchemy 1.4's generic SQLCompiler.visit_empty_set_op_expr) */
enum { ATH_EMPTY_IN_SET, ATH_EMPTY_IN_NULL };
/* insert_cte_style: WITH x AS (...) INSERT INTO t ... / INSERT INTO t (...) WITH x AS (...) SELECT ...
 * (MySQL; SQLAlchemy's dialect flag cte_follows_insert, used by SQLCompiler.visit_insert) */
enum { ATH_INSERT_CTE_FIRST, ATH_INSERT_CTE_BEFORE_SELECT };
/* upsert_style */
enum { ATH_UPSERT_NONE, ATH_UPSERT_ON_CONFLICT, ATH_UPSERT_ON_DUPLICATE_KEY };

/* Look a dialect up by URL dialect name ("sqlite", "postgresql", "mysql", "mariadb"). NULL if unknown. */
const ath_dialect *ath_dialect__find(const char *name);

/* The drivers (each dialect.c points its .driver here). */
extern const ath_driver_ops ath_sqlite_driver;
extern const ath_driver_ops ath_postgresql_driver;
extern const ath_driver_ops ath_mysql_driver;

extern const ath_dialect ath_dialect_sqlite;
extern const ath_dialect ath_dialect_postgresql;
extern const ath_dialect ath_dialect_mysql;
extern const ath_dialect ath_dialect_mariadb;

#endif
