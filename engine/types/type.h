/* type.h — type descriptors: the wire's type forms (["Integer"], ["String", 50], ["Numeric", 10, 2],
 * ["DateTime", {"timezone": true}], ["Enum", [...], {"name": ..., "native": ...}], ["ARRAY", t],
 * ["postgresql.JSONB"], ["mysql.TINYINT", 1], ...) parsed once into a struct the schema model and
 * the DDL renderer read. Mirrors sqlalchemy/sql/sqltypes.py (the generic types' constructor
 * arguments). Names per dialect are typename.c (CAST) and ddl_typename.c (CREATE TABLE); bind and
 * result processing is process.c. */
#ifndef ATH_TYPES_TYPE_H
#define ATH_TYPES_TYPE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/strbuf.h"

typedef enum ath_type_kind {
	ATH_T_INTEGER,
	ATH_T_BIGINT,
	ATH_T_SMALLINT,
	ATH_T_BOOLEAN,
	ATH_T_STRING,
	ATH_T_TEXT,
	ATH_T_UNICODE,
	ATH_T_UNICODE_TEXT,
	ATH_T_FLOAT,
	ATH_T_DOUBLE,
	ATH_T_NUMERIC,
	ATH_T_DATE,
	ATH_T_DATETIME,
	ATH_T_TIME,
	ATH_T_INTERVAL,
	ATH_T_LARGEBINARY,
	ATH_T_ENUM,
	ATH_T_JSON,
	ATH_T_UUID,
	ATH_T_ARRAY,
	ATH_T_DIALECT /* ["postgresql.JSONB"], ["mysql.TINYINT", 1]: ns + name + int args */
} ath_type_kind;

typedef struct ath_type {
	uint8_t kind;              /* ath_type_kind */
	bool timezone;             /* DateTime, Time */
	bool native_enum;          /* Enum: CREATE TYPE / ENUM(...) where the backend has one (default true) */
	bool create_constraint;    /* Enum, Boolean: a CHECK constraint (SQLAlchemy 1.4 default: false) */
	int32_t length;            /* String, Unicode, LargeBinary; -1 = none. UUID: 32 for ["Uuid"] (SQLAlchemy
				    * 2.0's Uuid, CHAR(32) where not native); ["UUID"] is native only */
	int32_t precision, scale;  /* Float (precision), Numeric; -1 = none */
	const char *name;          /* Enum / Boolean constraint name, or NULL */
	const char **values;       /* Enum values */
	uint32_t nvalues;
	const struct ath_type *item; /* ARRAY */
	int32_t dims;              /* ARRAY dimensions; -1 = not given */
	const char *ns, *tname;    /* dialect type: "postgresql", "JSONB" (upper-cased) */
	int32_t args[2];
	uint32_t nargs;
	const msgpack_object *wire; /* the form it was parsed from (borrowed from the owner's zone) */
} ath_type;

/* Parse a wire type form into `out`, allocating in `arena`; `o` must outlive the type. Returns 0,
 * or -1 with a message in `err` ("unknown type \"Foo\"", "String length must be ...") for the
 * caller to prefix with its path. */
int ath_type__parse(ath_type *out, const msgpack_object *o, ath_arena *arena, char *err, size_t errlen);

/* The wire name of a generic type kind ("Integer", "DateTime", "Uuid", ...); NULL for a dialect type. */
const char *ath_type__generic_name(int kind);

/* SQLAlchemy's _type_affinity checks. */
bool ath_type__is_integer(const ath_type *t);
/* The longest Enum value, in characters (SQLAlchemy's Enum.length for the VARCHAR form). */
uint32_t ath_type__enum_length(const ath_type *t);

#endif
