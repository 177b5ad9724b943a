/* reflect.h — reflection: the catalog of a live database read into a small model (tables with
 * columns, keys, indexes, constraints, comments), packed either as SQLAlchemy's Inspector results
 * or as a schema spec. Per-dialect catalog queries are ath_reflect_ops tables (reflect_sqlite.c,
 * reflect_postgresql.c, reflect_mysql.c) reached through the dialect's ddl vtable. Mirrors
 * sqlalchemy/engine/reflection.py (Inspector) and each dialect's get_* methods. */
#ifndef ATH_SCHEMA_REFLECT_H
#define ATH_SCHEMA_REFLECT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "athanor/common.h"
#include "util/arena.h"
#include "util/err.h"

struct ath_engine;
struct ath_conn;

/* A reflected type as a wire type form: [name, args..., {"timezone": .., "name": ..}] */
typedef struct ath_rf_type {
	const char *name;          /* "Integer", "String", "postgresql.JSONB", "Enum", "ARRAY" */
	int64_t args[2];           /* -1 = null */
	uint32_t nargs;
	int timezone;              /* -1 not given */
	const char **values;       /* Enum */
	uint32_t nvalues;
	const char *enum_name;
	struct ath_rf_type *item;  /* ARRAY */
	int32_t dims;
} ath_rf_type;

typedef struct ath_rf_column {
	const char *name;
	ath_rf_type type;
	bool nullable;
	const char *default_;      /* server default as SQL text, or NULL */
	int autoincrement;         /* -1 "auto" (not known), 0, 1 */
	const char *comment;
	const char *computed;      /* generation expression, or NULL */
	int persisted;             /* -1 not known */
	bool serial;               /* the default is the one autoincrement makes (PostgreSQL SERIAL's nextval) */
	bool identity, id_always, id_cycle;
	int64_t id_start, id_increment, id_min, id_max, id_cache;
} ath_rf_column;

typedef struct ath_rf_names {
	const char **v;
	uint32_t n;
} ath_rf_names;

typedef struct ath_rf_fk {
	const char *name, *ref_schema, *ref_table;
	ath_rf_names cols, ref_cols;
	const char *ondelete, *onupdate, *initially, *match;
	int deferrable;            /* -1 not known */
} ath_rf_fk;

typedef struct ath_rf_index {
	const char *name;
	bool unique;
	const char *duplicates_constraint;
	ath_rf_names cols;         /* v[i] NULL for an expression item */
	ath_rf_names exprs;        /* expressions, v[i] NULL for a column item */
	const char *where;         /* partial index predicate */
} ath_rf_index;

typedef struct ath_rf_check {
	const char *name, *sqltext;
} ath_rf_check;

typedef struct ath_rf_table {
	const char *schema, *name, *comment;
	ath_rf_column *cols;
	uint32_t ncols;
	const char *pk_name;
	ath_rf_names pk;
	ath_rf_fk *fks;
	uint32_t nfks;
	ath_rf_index *uniques;     /* unique constraints (name, cols) */
	uint32_t nuniques;
	ath_rf_index *indexes;
	uint32_t nindexes;
	ath_rf_check *checks;
	uint32_t nchecks;
} ath_rf_table;

/* One reflection run: a checked-out connection, an arena for every reflected string. */
typedef struct ath_rf {
	struct ath_engine *engine;
	struct ath_conn *conn;
	ath_arena arena;
	ath_err *err;
	int oom;              /* sticky: a string or array could not be kept, so the answer would lack it */
} ath_rf;

/* Out of memory during a reflection run: recorded, and the run fails at its end even where the
 * caller took the missing value for an absent one (NULL). */
static inline int ath_rf__oom(ath_rf *rf)
{
	rf->oom = 1;
	return ath_err__oom(rf->err);
}

/* Rows of a catalog query, unpacked; valid until ath_rf__rows_free(). */
typedef struct ath_rf_rows {
	msgpack_zone zone;
	ath_buf buf;
	msgpack_object *row;       /* row[i] is an array */
	uint32_t n;
} ath_rf_rows;

/* Run text SQL whose binds are :a, :b, :c, ... (values `params[i]`, NULL = SQL NULL; never pasted
 * into the text) and read every row. */
int ath_rf__query(ath_rf *rf, ath_rf_rows *out, const char *sql, uint32_t nparams, const char *const *params);
void ath_rf__rows_free(ath_rf_rows *r);
/* Column `i` of row `r`: a string copied into the arena (NULL for nil), an integer (strings
 * parsed; `dflt` for nil), a boolean. */
const char *ath_rf__str(ath_rf *rf, const msgpack_object *r, uint32_t i);
int64_t ath_rf__int(const msgpack_object *r, uint32_t i, int64_t dflt);
bool ath_rf__bool(const msgpack_object *r, uint32_t i);
/* arena helpers */
const char *ath_rf__dup(ath_rf *rf, const char *s, size_t n);
int ath_rf__names_push(ath_rf *rf, ath_rf_names *v, const char *s);
void *ath_rf__grow(ath_rf *rf, void *v, uint32_t n, size_t size); /* room for element n (arena copy) */

/* What each dialect provides (through ath_ddl_dialect.reflect). */
typedef struct ath_reflect_ops {
	unsigned int version;
	/* no binds; one text column each */
	const char *schema_names_sql;
	const char *default_schema_sql;
	/* :a schema (NULL = default), :b "table" / "view"; one column (the name), sorted */
	const char *table_names_sql;
	/* :a schema (NULL = default); sequence names, sorted (NULL: the backend has none) */
	const char *sequence_names_sql;
	const char *where_option;  /* the Inspector's dialect_options key of a partial index's predicate */
	/* fill `out` (arena memory); ATH_ENOTFOUND (NoSuchTableError) when there is no such table */
	int (*table)(ath_rf *rf, const char *schema, const char *name, ath_rf_table *out);
	/* the wire type of a catalog type name ("character varying(20)", "int(11)", "VARCHAR(20)") */
	int (*type)(ath_rf *rf, const char *sqltype, ath_rf_type *out);
	/* -- version 2 -- */
	/* :a schema (NULL = default), :b view name; one row, the definition as the catalog keeps it
	 * (SQLAlchemy's get_view_definition); no row when there is no such view */
	const char *view_definition_sql;
} ath_reflect_ops;

extern const ath_reflect_ops ath_reflect_sqlite, ath_reflect_postgresql, ath_reflect_mysql;

/* Parse "name(a, b)" into a lower-cased base name and up to two integer args (-1 when absent);
 * returns the base name (arena). */
const char *ath_rf__split_type(ath_rf *rf, const char *sqltype, int64_t args[2], uint32_t *nargs);

/* Inspector results */
typedef enum ath_rf_what {
	ATH_RF_SCHEMA_NAMES, ATH_RF_TABLE_NAMES, ATH_RF_VIEW_NAMES, ATH_RF_SEQUENCE_NAMES, ATH_RF_COLUMNS,
	ATH_RF_PK_CONSTRAINT, ATH_RF_FOREIGN_KEYS, ATH_RF_INDEXES, ATH_RF_UNIQUE_CONSTRAINTS,
	ATH_RF_CHECK_CONSTRAINTS, ATH_RF_TABLE_COMMENT, ATH_RF_DEFAULT_SCHEMA_NAME, ATH_RF_VIEW_DEFINITION, ATH_RF__COUNT
} ath_rf_what;

int ath_reflect__inspect(ath_buf *out, struct ath_engine *e, int what, const char *schema, const char *table,
			 ath_err *err);
/* The schema spec of every table of `schema` (NULL = default). */
int ath_reflect__spec(ath_buf *out, struct ath_engine *e, const char *schema, ath_err *err);

#endif
