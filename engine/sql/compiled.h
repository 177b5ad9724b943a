/* compiled.h — a compiled statement: SQL for one dialect, with where each parameter goes.
 * Immutable once built and shared (compile cache, connections, results) by reference count.
 * Mirrors sqlalchemy.sql.compiler.SQLCompiler's output (string, positiontup, post-compile
 * expanding parameters). */
#ifndef ATH_SQL_COMPILED_H
#define ATH_SQL_COMPILED_H

#include <msgpack.h>
#include <stdatomic.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/strbuf.h"

typedef struct ath_dialect ath_dialect;
struct ath_typeproc;

#define ATH_BIND_EXPANDING 0x1u
/* value transforms done when the statement is rendered (the shape holds no values):
 * AUTOESCAPE escapes '%', '_' and '/' with '/' (contains(..., autoescape=True));
 * JSON_PATH turns a key / list of keys into a JSON path ('$."a"[1]', SQLite and MySQL);
 * PG_PATH turns a list of keys into PostgreSQL's text-array literal ('{a, 1}'). */
#define ATH_BIND_AUTOESCAPE 0x2u
#define ATH_BIND_JSON_PATH 0x4u
#define ATH_BIND_PG_PATH 0x8u
/* an expanding list of NOT IN: an empty list renders the NOT IN form of the dialect's empty IN */
#define ATH_BIND_NOT_IN 0x10u
/* a client-side default / onupdate scalar of the metadata (sql/crud.py binds them as parameters):
 * `param` indexes ath_compiled.defaults, not the caller's params; the value is added at render */
#define ATH_BIND_DEFAULT 0x20u

/* One placeholder of the SQL, in order. */
typedef struct ath_bindref {
	uint32_t param;  /* index into the params array */
	uint32_t offset; /* where it goes in the template */
	uint16_t flags;  /* ATH_BIND_* */
	uint16_t arity;  /* expanding tuple IN: values per item; 0 = scalar items */
} ath_bindref;

typedef enum ath_stmt_kind {
	ATH_STMT_SELECT,
	ATH_STMT_INSERT,
	ATH_STMT_UPDATE,
	ATH_STMT_DELETE,
	ATH_STMT_TEXT,
	ATH_STMT_DDL             /* create_table / drop_table / create_index / drop_index */
} ath_stmt_kind;

struct ath_metadata;

typedef struct ath_bytes {
	const unsigned char *ptr;
	size_t len;
} ath_bytes;

typedef struct ath_compiled {
	atomic_int refs;
	const ath_dialect *dialect;
	ath_stmt_kind kind;
	int returns_rows;        /* 1, 0, or -1 when only the driver can tell (text) */
	const char *tmpl;        /* SQL with the placeholders left out (see binds[].offset) */
	size_t tmpl_len;
	const ath_bindref *binds;
	uint32_t nbinds;
	uint32_t nparams;        /* highest parameter index used + 1 */
	int has_expanding;
	const char *sql;         /* the final SQL when there is no expanding parameter, else NULL */
	size_t sql_len;
	uint64_t sql_hash;       /* of `sql`, for the per-connection prepared-statement cache */
	/* INSERT facts, for inserted_primary_key: the target and, for a one-row VALUES, which
	 * parameter feeds each column (-1 when the value is not a plain bind). */
	const char *table, *schema;
	const char *const *ins_columns;
	const int32_t *ins_params;
	uint32_t nins;
	int single_row_insert;
	/* compiled against a metadata (held: defaults point into it): the scalar client-side
	 * defaults the ATH_BIND_DEFAULT binds take, and the INSERT table's primary key, so
	 * inserted_primary_key needs no catalog lookup (pk_known; npk 0 = no key) */
	const struct ath_metadata *md;
	const msgpack_object *const *defaults;
	uint32_t ndefaults;
	int pk_known;
	const char *const *pk_names;
	uint32_t npk;
	int pk_autoinc;          /* the key is one autoincrement integer column (lastrowid) */
	/* implicit RETURNING (SQLAlchemy's implicit_returning, PostgreSQL): a single-row INSERT whose
	 * server-generated key columns are not given runs, when executed once (not executemany), as
	 * ret_sql = sql + ret_suffix (" RETURNING t.id"); ret_names are those columns, in order */
	const char *ret_suffix;
	const char *ret_sql;
	size_t ret_sql_len;
	uint64_t ret_sql_hash;
	const char *const *ret_names;
	uint32_t nret;
	/* compiled against a metadata: the processor of each bind (binds[i]; NULL = untyped), chosen
	 * from the column it is inserted into / set / compared with, and of each result column (a
	 * plain column of a known table, a CAST); NULL arrays when nothing is typed */
	const struct ath_typeproc *const *bind_procs;
	const struct ath_typeproc *const *col_procs;
	uint32_t ncol_procs;
	/* the wire type form of each result column (msgpack bytes; len 0 = unknown), for the result
	 * header; NULL when the columns are not known (`*`, columns_of, no metadata) */
	const struct ath_bytes *col_types;
	uint32_t ncol_types;
	int col_types_all;       /* every column typed: the driver's types are not needed */
	/* compile cache bookkeeping */
	uint64_t key_hash;
	const unsigned char *key;
	size_t key_len;
	double created_at;       /* monotonic seconds */
	ath_arena arena;         /* owns all of the above, and this struct */
} ath_compiled;

void ath_compiled__incref(ath_compiled *c);
void ath_compiled__decref(ath_compiled *c);

/* A statement ready for a driver: the SQL and the values in placeholder order. */
typedef struct ath_rendered {
	const char *sql;   /* compiled->sql, or `buf` when expanded */
	size_t sql_len;
	uint64_t sql_hash;
	const msgpack_object **values;
	uint32_t nvalues;
	uint32_t cap;
	ath_strbuf buf;
	ath_arena scratch; /* values made when rendering (ATH_BIND_AUTOESCAPE, JSON paths) */
} ath_rendered;

/* Fill `r` for `params` (an ARRAY object): expand expanding parameters (an empty list becomes
 * the dialect's empty-set expression, as SQLAlchemy renders it) and line the values up.
 * ArgumentError when a parameter is missing or an expanding one is not a list. */
int ath_compiled__render(ath_rendered *r, const ath_compiled *c, const msgpack_object *params, ath_err *err);
/* Bind processing for binds[i] (types/process.h): `v` checked and maybe converted, into r->scratch. */
int ath_compiled__process(ath_rendered *r, const ath_compiled *c, uint32_t i, const msgpack_object *v,
			  const msgpack_object **out, ath_err *err);
void ath_rendered__free(ath_rendered *r);
/* Run the bind processors over every row of an executemany (an ARRAY of ARRAYs) without keeping
 * the values, so a wrong-typed value in any row fails before the first row is sent. */
int ath_compiled__check_rows(const ath_compiled *c, const msgpack_object *rows, ath_err *err);

/* The value a non-expanding bind takes: params[param], or a metadata default for ATH_BIND_DEFAULT;
 * NULL when the caller gave too few params. */
static inline const msgpack_object *ath_compiled__bind_value(const ath_compiled *c, const ath_bindref *br,
							    const msgpack_object *params)
{
	if (br->flags & ATH_BIND_DEFAULT)
		return br->param < c->ndefaults ? c->defaults[br->param] : NULL;
	if (params->type != MSGPACK_OBJECT_ARRAY || br->param >= params->via.array.size)
		return NULL;
	return &params->via.array.ptr[br->param];
}

uint64_t ath_sql__hash(const void *data, size_t len);

#endif
