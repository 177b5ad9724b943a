/**
 * @file athanor/metadata.h
 * @brief Schema metadata (SQLAlchemy's MetaData): built from a schema spec (msgpack, see
 * docs/schema-spec.md), rendered as DDL per dialect, created and dropped on an engine.
 *
 * Thread-safety: a built ath_metadata is immutable and may be shared by any number of threads;
 * it is reference counted, so an engine or another holder may keep it after the caller frees
 * its own reference. ath_engine_create_all() / ath_engine_drop_all() may run on any thread; they
 * check a connection out of the engine's pool for their duration.
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

ATH_END_DECL

#endif
