/* process.h — bind and result processing by type: what a value of a typed column must look like
 * before a driver binds it (checked and converted once, so a wrong-typed value is a DataError
 * naming the column before the server sees it) and what a driver's value becomes in a result (the
 * wire's ext values on every backend, SQLite's ISO-8601 text included). The processor is chosen
 * once per compiled statement (ath_typeproc, in the compiled form), never per value by name.
 * Mirrors sqlalchemy/sql/sqltypes.py's bind_processor / result_processor and the SQLite, PostgreSQL
 * and MySQL dialects' type processors. Choosing which bind gets which column is engine/sql's. */
#ifndef ATH_TYPES_PROCESS_H
#define ATH_TYPES_PROCESS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "types/type.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/strbuf.h"

typedef enum ath_proc {
	ATH_PROC_NONE,     /* untyped: values pass as they are */
	ATH_PROC_INT,
	ATH_PROC_BOOL,
	ATH_PROC_STR,
	ATH_PROC_ENUM,
	ATH_PROC_FLOAT,
	ATH_PROC_NUMERIC,
	ATH_PROC_DATE,
	ATH_PROC_TIME,
	ATH_PROC_DATETIME, /* naive; .timezone: aware (ext -1) */
	ATH_PROC_INTERVAL,
	ATH_PROC_BINARY,
	ATH_PROC_JSON,
	ATH_PROC_UUID,
	ATH_PROC_ARRAY
} ath_proc;

/* A processor chosen at compile time for one bind or one result column. Lives in the compiled
 * form's arena; `type`, `table` and `column` point into the metadata the compiled form holds. */
typedef struct ath_typeproc {
	uint8_t proc;            /* ath_proc */
	bool timezone;           /* DateTime(timezone=True): ext -1 */
	bool any_number;         /* ATH_PROC_INT in arithmetic: a float or decimal passes too, any int unchecked */
	int32_t scale;           /* Numeric: digits after the point in results read from floats; -1 none */
	int64_t min, max;        /* ATH_PROC_INT range for this backend */
	const ath_type *type;    /* Enum values, ARRAY item; NULL for a CAST target */
	const struct ath_typeproc *item; /* ARRAY: the items' processor */
	const char *table, *column; /* names for messages; NULL for a CAST target */
} ath_typeproc;

/* The processor for `t` on dialect `dialect_name` ("sqlite", "postgresql", "mysql", "mariadb"),
 * allocated in `arena`; NULL with no processing (or out of memory: *oom set). */
const ath_typeproc *ath_typeproc__make(const ath_type *t, const char *dialect_name, const char *table,
				       const char *column, ath_arena *arena, int *oom);

/* Check `v` against `tp` and give the value the driver binds (`v` itself, or one made in
 * `scratch`). DataError "column users.age: expected an integer, got str" when it does not fit. */
int ath_typeproc__bind(const ath_typeproc *tp, const msgpack_object *v, const msgpack_object **out, ath_arena *scratch,
		       ath_err *err);

/* 1 when results of this type come back from every driver as they are (no result processing). */
int ath_typeproc__passthrough(const ath_typeproc *tp);

/* Pack the result value `v` of a column typed `tp` (NULL: as it is) into `pk`. -1 = out of memory. */
int ath_typeproc__result(const ath_typeproc *tp, const msgpack_object *v, msgpack_packer *pk);

/* JSON text of a msgpack value (SQLAlchemy's json.dumps: ", " and ": " separators). Returns 0, or
 * -1 with what cannot be written in `why` (bin, ext, a non-string key, a non-finite float). */
int ath_json__encode(ath_strbuf *b, const msgpack_object *v, const char **why);
/* Parse JSON text into one msgpack value; -1 when it is not JSON, -2 out of memory. */
int ath_json__decode(msgpack_packer *pk, const char *s, size_t n);

#endif
