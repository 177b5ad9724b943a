/**
 * @file athanor/metadata.h
 * @brief Schema metadata (SQLAlchemy's MetaData): built from a schema spec (msgpack, see
 * docs/schema-spec.md), rendered as DDL per dialect, created and dropped on an engine.
 *
 * Thread-safety: a built ath_metadata is immutable and may be shared by any number of threads;
 * it is reference counted, so an engine or another holder may keep it after the caller frees
 * its own reference. ath_engine_create_all() / ath_engine_drop_all() may run on any thread; they
 * check a connection out of the engine's pool for their duration, as do the reflection functions
 * (ath_engine_inspect(), ath_reflect_spec(), ath_metadata_reflect()).
 */
#ifndef ATHANOR_METADATA_H
#define ATHANOR_METADATA_H

#include "common.h"
#include "types.h"

ATH_BEGIN_DECL

/** DDL flags (ath_engine_create_all, ath_engine_drop_all, ath_compile_ddl). */
#define ATH_DDL_NO_CHECKFIRST 0x1u /**< do not query the catalog first (SQLAlchemy's checkfirst=False); the default checks, as create_all() does */
#define ATH_DDL_DROP 0x2u          /**< ath_compile_ddl: the drop_all statements instead of create_all's */

/**
 * Build a metadata from a schema spec: `{"k": "metadata", "naming_convention": {...}, "tables": [...]}`.
 * Constraint and index names are completed by the naming conventions (SQLAlchemy's default
 * `{"ix": "ix_%(column_0_label)s"}` when none is given).
 * @param[out] out owned; release with ath_metadata_free().
 * @param spec msgpack bytes, borrowed for the call (the metadata keeps its own copy).
 * @return ATH_OK; ATH_EINVALID with WireFormatError naming the path of a malformed part
 *         (`$.tables[1].columns[2].type: unknown type "Strin"`), or with ArgumentError naming the
 *         table and column of a semantic error (duplicate names, a foreign key to a missing table
 *         or column, use_alter without a name); ATH_ENOMEM.
 */
ATH_EXTERN(int) ath_metadata_create(ath_metadata **out, const void *spec, size_t len);

/** Release the caller's reference; holders (engines) keep theirs. NULL is fine. */
ATH_EXTERN(void) ath_metadata_free(ath_metadata *md);

/** Number of tables, in spec order. */
ATH_EXTERN(size_t) ath_metadata_table_count(const ath_metadata *md);

/** Name of table `i` (0-based). @return borrowed; valid while `md` lives; NULL when `i` is out of range. */
ATH_EXTERN(const char *) ath_metadata_table_name(const ath_metadata *md, size_t i);

/**
 * The normalised schema spec of `md` (docs/schema-spec.md "The normalised spec"): a msgpack map
 * with every key of every table, column, constraint and index, names completed by the naming
 * conventions and `"naming_convention": {}`, so that ath_metadata_create() of it builds the same
 * metadata again (spec -> metadata -> spec round-trips). May run on any thread.
 * @param[out] out replaced; dispose with ath_buf_dispose().
 * @return ATH_OK; ATH_EMISUSE (NULL `out` or not a metadata); ATH_ENOMEM.
 */
ATH_EXTERN(int) ath_metadata_spec(ath_buf *out, const ath_metadata *md);

/**
 * The DDL of create_all (or drop_all with ATH_DDL_DROP) for a dialect by name ("sqlite",
 * "postgresql", "mysql", "mariadb"), as run with checkfirst off: a msgpack array of SQL strings in
 * execution order. ATH_DDL_NO_CHECKFIRST is implied.
 * @param[out] out replaced; dispose with ath_buf_dispose().
 * @return ATH_OK; ATH_EINVALID (unknown dialect); ATH_ERROR with CompileError naming the table and
 *         column (a type the dialect cannot render, MySQL VARCHAR without a length), or with
 *         InvalidRequestError for a foreign-key cycle that drop_all cannot break (unnamed constraints).
 */
ATH_EXTERN(int) ath_compile_ddl(ath_buf *out, const char *dialect, const ath_metadata *md, uint32_t flags);

/**
 * Create every table, index, sequence and (PostgreSQL) ENUM type of `md` that does not exist yet,
 * in foreign-key order (SQLAlchemy's MetaData.create_all, checkfirst=True unless
 * ATH_DDL_NO_CHECKFIRST). Runs in one transaction, committed at the end (PostgreSQL and SQLite roll
 * all of it back on failure; MySQL commits each DDL statement as it runs).
 * @return ATH_OK; ATH_ERROR with the driver's error class and the failing SQL; CompileError as
 *         ath_compile_ddl().
 */
ATH_EXTERN(int) ath_engine_create_all(ath_engine *engine, const ath_metadata *md, uint32_t flags);

/** Drop what ath_engine_create_all() creates, in reverse order (MetaData.drop_all). Same rules and codes. */
ATH_EXTERN(int) ath_engine_drop_all(ath_engine *engine, const ath_metadata *md, uint32_t flags);

/* ---- Reflection (SQLAlchemy's Inspector and MetaData.reflect) -------------------------------- */

/** What ath_engine_inspect() returns (values are ABI: append only). */
typedef enum ath_inspect_kind {
	ATH_INSPECT_SCHEMA_NAMES = 0,       /**< ["public", ...] (Inspector.get_schema_names) */
	ATH_INSPECT_TABLE_NAMES = 1,        /**< table names of `schema`, sorted */
	ATH_INSPECT_VIEW_NAMES = 2,         /**< view names of `schema`, sorted */
	ATH_INSPECT_SEQUENCE_NAMES = 3,     /**< sequence names (PostgreSQL; [] elsewhere) */
	ATH_INSPECT_COLUMNS = 4,            /**< [{"name", "type", "nullable", "default", "autoincrement", "comment"[, "computed": {"sqltext", "persisted"}][, "identity": {...}]}] */
	ATH_INSPECT_PK_CONSTRAINT = 5,      /**< {"constrained_columns": [...], "name": n} */
	ATH_INSPECT_FOREIGN_KEYS = 6,       /**< [{"name", "constrained_columns", "referred_schema", "referred_table", "referred_columns", "options": {"ondelete", "onupdate", "deferrable", "initially", "match"}}] */
	ATH_INSPECT_INDEXES = 7,            /**< [{"name", "column_names" (nil for an expression), "unique"[, "expressions"][, "duplicates_constraint"][, "dialect_options": {"postgresql_where": sql}]}] */
	ATH_INSPECT_UNIQUE_CONSTRAINTS = 8, /**< [{"name", "column_names"}] */
	ATH_INSPECT_CHECK_CONSTRAINTS = 9,  /**< [{"name", "sqltext"}] */
	ATH_INSPECT_TABLE_COMMENT = 10,     /**< {"text": comment or nil} */
	ATH_INSPECT_DEFAULT_SCHEMA_NAME = 11, /**< "public" / the database name / "main" */
	ATH_INSPECT_VIEW_DEFINITION = 12    /**< the definition of view `table` as a string (Inspector.get_view_definition): SQLite the CREATE VIEW statement, PostgreSQL pg_get_viewdef(), MySQL information_schema.VIEWS.VIEW_DEFINITION */
} ath_inspect_kind;

/**
 * One Inspector call (SQLAlchemy's Inspector.get_<what>) on a connection checked out of the
 * engine's pool for the call; the result is msgpack shaped as SQLAlchemy's dicts (keys listed at
 * ath_inspect_kind), types as the wire's type forms (["String", 40], ["postgresql.JSONB"], ...).
 * May run on any thread. Catalog queries bind every name; nothing is cached.
 * @param[out] out replaced; dispose with ath_buf_dispose().
 * @param schema NULL = the connection's default schema (SQLite: "main" or "temp" only).
 * @param table the table for the per-table kinds (ATH_INSPECT_COLUMNS ... ATH_INSPECT_TABLE_COMMENT), the
 *        view for ATH_INSPECT_VIEW_DEFINITION; ignored otherwise.
 * @return ATH_OK; ATH_ENOTFOUND (InvalidRequestError "NoSuchTableError: t") for a missing table or view;
 *         ATH_EINVALID (ArgumentError: unknown kind, no table given); ATH_ERROR with the driver's error.
 */
ATH_EXTERN(int) ath_engine_inspect(ath_buf *out, ath_engine *engine, ath_inspect_kind what, const char *schema,
				   const char *table);

/**
 * The schema spec of every table of `schema` as reflected (docs/schema-spec.md "Reflection"): a
 * msgpack map `{"k": "metadata", "tables": [...]}` that ath_metadata_create() accepts, tables sorted
 * by name; usable as the seed of a mapping spec (as sqlacodegen / automap). Views are not in it
 * (the spec has none): ATH_INSPECT_VIEW_NAMES and ATH_INSPECT_VIEW_DEFINITION give them. Thread-safety as
 * ath_engine_inspect().
 * @param[out] out replaced; dispose with ath_buf_dispose().
 * @return ATH_OK; ATH_ERROR with the driver's error.
 */
ATH_EXTERN(int) ath_reflect_spec(ath_buf *out, ath_engine *engine, const char *schema);

/**
 * Reflect a whole database into a new metadata (MetaData.reflect): ath_reflect_spec() fed to
 * ath_metadata_create().
 * @param[out] out owned; release with ath_metadata_free().
 * @param flags 0 (reserved).
 * @return ATH_OK; as ath_reflect_spec(); ATH_EINVALID as ath_metadata_create() when the reflected
 *         schema uses what the spec cannot express.
 */
ATH_EXTERN(int) ath_metadata_reflect(ath_metadata **out, ath_engine *engine, const char *schema, uint32_t flags);

ATH_END_DECL

#endif
