/**
 * @file athanor/result.h
 * @brief Results: a header (columns, counts, keys) and rows in msgpack batches.
 *
 * A batch is one msgpack array of rows, each row an array of values (see docs/wire-format.md
 * "Values"). Pull batches with ath_result_fetch() until it returns ATH_ITEROVER.
 *
 * Thread-safety: a result is used by one thread at a time, like its connection.
 */
#ifndef ATHANOR_RESULT_H
#define ATHANOR_RESULT_H

#include "common.h"
#include "types.h"

ATH_BEGIN_DECL

/**
 * The result header as a msgpack map: {"columns": [{"name": n, "type": t}], "returns_rows": bool,
 * "rowcount": n, "lastrowid": v, "inserted_primary_key": [v...] or nil}. `t` is the column's type
 * form (["Integer"], ["String", 40]): the metadata's or a CAST's when the statement was compiled
 * against a metadata, else the driver's type mapped to a generic one, else nil
 * (docs/wire-format.md "Results").
 * @param[out] out replaced; dispose with ath_buf_dispose().
 */
ATH_EXTERN(int) ath_result_header(ath_buf *out, ath_result *res);

/**
 * Fetch up to `max_rows` rows (0 = 500) as one msgpack array of rows.
 * @param[out] out replaced with the batch; dispose with ath_buf_dispose().
 * @return ATH_OK with at least one row; ATH_ITEROVER when no rows remain (out is an empty
 *         array); ATH_ERROR when the driver fails mid-way (the result is then closed for rows).
 */
ATH_EXTERN(int) ath_result_fetch(ath_buf *out, ath_result *res, size_t max_rows);

/** Fetch every remaining row as one msgpack array (possibly empty). @return ATH_OK or an error. */
ATH_EXTERN(int) ath_result_fetch_all(ath_buf *out, ath_result *res);

/** Number of columns; 0 for statements that return no rows. */
ATH_EXTERN(size_t) ath_result_column_count(const ath_result *res);

/** Name of column `i`. @return borrowed; valid until ath_result_close(res); NULL when i is out of range. */
ATH_EXTERN(const char *) ath_result_column_name(const ath_result *res, size_t i);

/** 1 when the statement returns rows (SELECT, RETURNING), else 0. */
ATH_EXTERN(int) ath_result_returns_rows(const ath_result *res);

/** Rows matched by an UPDATE/DELETE or inserted by an INSERT (summed for executemany); -1 when unknown. */
ATH_EXTERN(int64_t) ath_result_rowcount(const ath_result *res);

/** The driver's last inserted row id after an INSERT (SQLite rowid); 0 when none. */
ATH_EXTERN(int64_t) ath_result_lastrowid(const ath_result *res);

/**
 * The primary key of the row a single-row INSERT created, as a msgpack array in the table's
 * primary-key column order (from the given values, or the generated rowid), or nil when not
 * known (not an INSERT, executemany, or a multi-row VALUES).
 */
ATH_EXTERN(int) ath_result_inserted_primary_key(ath_buf *out, ath_result *res);

/**
 * The primary keys of the rows an INSERT created (SQLAlchemy 2.0's inserted_primary_key_rows), as
 * a msgpack array with one entry per parameter row, in input order: each the row's key as
 * ath_result_inserted_primary_key() gives it (an array in key column order; nil for a table
 * without a primary key). Filled for ath_conn_executemany_v2() with ATH_EXEC_RETURN_DEFAULTS; a
 * single-row ath_conn_execute() INSERT gives a one-element array [inserted_primary_key]; nil
 * otherwise (not an INSERT, or executemany without the flag).
 * @param[out] out replaced; dispose with ath_buf_dispose().
 * @return ATH_OK; ATH_EMISUSE for a closed result or when the connection was lost since a
 *         single-row INSERT ran; ATH_ERROR when reading the table's key columns fails.
 */
ATH_EXTERN(int) ath_result_inserted_primary_key_rows(ath_buf *out, ath_result *res);

/** Release the result and whatever cursor it holds. NULL is fine. */
ATH_EXTERN(void) ath_result_close(ath_result *res);

ATH_END_DECL

#endif
