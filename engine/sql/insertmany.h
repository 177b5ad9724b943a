/* insertmany.h — "insertmanyvalues": an executemany of a one-row INSERT ... VALUES (...) sent as
 * batches of multi-row VALUES, rendered from the compiled template. Mirrors
 * SQLCompiler._deliver_insertmanyvalues_batches (sqlalchemy/sql/compiler.py). Does not execute. */
#ifndef ATH_SQL_INSERTMANY_H
#define ATH_SQL_INSERTMANY_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "sql/compiled.h"

/* SQLAlchemy's insertmanyvalues_page_size default. */
#define ATH_INSERTMANY_PAGE_SIZE 1000

/* Where the VALUES row sits in a compiled INSERT's template. */
typedef struct ath_insertmany {
	uint32_t group_start, group_end; /* template offsets of its "(" and one past its ")" */
	uint32_t per_row;                /* placeholders in the row (every bind of the statement) */
	uint32_t page;                   /* rows per batch: page size within the backend's max_params */
} ath_insertmany;

/* 1 and `plan` filled when `cs` can be batched: a one-row INSERT ... VALUES whose every bind is
 * a plain value inside that row (none in a CTE, ON CONFLICT SET or RETURNING, none expanding or
 * transformed); else 0 (the caller executes row by row). `max_params` is the backend's limit. */
int ath_insertmany__plan(ath_insertmany *plan, const ath_compiled *cs, uint32_t max_params);

/* Render rows [first, first + n) of `rows` (an array of parameter arrays) into `r`: the template
 * with the VALUES row repeated n times, placeholders renumbered, values in order, then `suffix`
 * (`suffix_len` bytes, none when 0: the engine's RETURNING of the primary key for
 * return_defaults). `same_text`: the previous call rendered the same cs, n and suffix into `r`
 * (a later batch of one executemany), so its SQL stands and only the values are lined up.
 * ArgumentError when a row lacks a parameter. */
int ath_insertmany__render(ath_rendered *r, const ath_compiled *cs, const ath_insertmany *plan,
			   const msgpack_object *rows, uint32_t first, uint32_t n, const char *suffix,
			   size_t suffix_len, bool same_text, ath_err *err);

#endif
