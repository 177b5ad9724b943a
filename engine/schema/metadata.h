/* metadata.h — the schema model behind ath_metadata: tables, columns with type descriptors,
 * constraints, indexes, sequences and PostgreSQL ENUM types, built once from a schema spec
 * (spec.c), names produced by the naming conventions (naming.c), then immutable and shared by
 * reference count (engines hold one). Lookups by name. Mirrors sqlalchemy/sql/schema.py
 * (MetaData, Table, Column, Constraint, Index, Sequence, Identity, Computed). DDL text is ddl.c's. */
#ifndef ATH_SCHEMA_METADATA_H
#define ATH_SCHEMA_METADATA_H

#include <msgpack.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "athanor/common.h"
#include "types/type.h"
#include "util/arena.h"
#include "util/err.h"
#include "wire/ast.h"
#include "wire/validate.h"

#define ATH_MAGIC_METADATA 0x414d4454u

typedef struct ath_table ath_table;

/* An expression of the spec, decoded, with the wire form it came from (for the normalised spec). */
typedef struct ath_sexpr {
	const ath_node *node;
	const msgpack_object *wire;
} ath_sexpr;

typedef struct ath_sequence {
	const char *name, *schema;
	bool has_start, has_increment, has_minvalue, has_maxvalue, has_cache;
	int64_t start, increment, minvalue, maxvalue, cache;
	bool cycle, optional, order;
	const msgpack_object *wire;
} ath_sequence;

typedef struct ath_identity {
	bool always, on_null;
	ath_sequence opts; /* start, increment, ...; name unused */
} ath_identity;

typedef struct ath_computed {
	ath_sexpr sql;
	int persisted; /* -1 not given, 0 VIRTUAL, 1 STORED */
} ath_computed;

typedef struct ath_column {
	const char *name;
	ath_type type;
	uint32_t pos;
	bool primary_key, nullable, unique, index;
	int autoincrement;       /* -1 "auto" (the default), 0 false, 1 true */
	ath_sexpr default_, server_default, onupdate; /* node NULL when not given */
	ath_identity *identity;
	ath_sequence *sequence;
	ath_computed *computed;
	const char *comment;
	bool has_fk;             /* part of a foreign key (SQLAlchemy's col.foreign_keys) */
} ath_column;

typedef enum ath_constraint_kind { ATH_CK_PRIMARY_KEY, ATH_CK_FOREIGN_KEY, ATH_CK_UNIQUE, ATH_CK_CHECK } ath_constraint_kind;

typedef struct ath_constraint {
	uint8_t kind;
	const char *name;        /* given or made by a naming convention; NULL = unnamed */
	bool name_given;         /* the spec named it (a convention may still wrap %(constraint_name)s) */
	const ath_column **columns;
	uint32_t ncolumns;
	/* FOREIGN KEY */
	const char *ref_table_name, *ref_schema;
	const ath_table *ref_table;
	const char **ref_column_names;
	const ath_column **ref_columns;
	const char *ondelete, *onupdate, *initially, *match;
	int deferrable;          /* -1 not given, 0 NOT DEFERRABLE, 1 DEFERRABLE */
	bool use_alter;
	/* CHECK */
	ath_sexpr sql;
	const char *check_sql;   /* a CHECK made by a type (Enum / Boolean create_constraint): rendered per dialect */
	const ath_column *check_column;
	bool column_flag;        /* made by a column's unique=True / a type */
} ath_constraint;

typedef struct ath_index {
	const char *name;
	bool unique, column_flag;
	ath_sexpr *items;        /* a column is a ["col", name] node */
	const ath_column **item_columns; /* the column of each plain item, or NULL for an expression */
	uint32_t nitems;
	ath_sexpr where;         /* partial index predicate (postgresql_where / sqlite_where) */
	const ath_table *table;
} ath_index;

struct ath_table {
	const char *name, *schema, *comment;
	ath_column *columns;
	uint32_t ncolumns;
	ath_constraint *pk;      /* always present (possibly with no columns), as SQLAlchemy's table.primary_key */
	ath_constraint **constraints; /* in creation order, without the primary key */
	uint32_t nconstraints;
	ath_index **indexes;
	uint32_t nindexes;
	const ath_column *autoinc; /* SQLAlchemy's table._autoincrement_column, or NULL */
	uint32_t pos;
};

/* A named PostgreSQL ENUM type the metadata creates (one per name). */
typedef struct ath_enum_type {
	const char *name, *schema;
	const ath_type *type;
} ath_enum_type;

typedef struct ath_metadata {
	uint32_t magic;
	atomic_int refs;
	ath_arena arena;
	msgpack_zone zone;       /* the unpacked spec: the model points into it */
	const msgpack_object *naming_convention;
	ath_table *tables;
	uint32_t ntables;
	ath_enum_type *enums;
	uint32_t nenums;
} ath_metadata;

/* Build a metadata from spec bytes (msgpack) within `lim`. WireFormatError "$.tables[1].columns[2].type:
 * ..." for a malformed spec; ArgumentError naming the table and column for a semantic error
 * (duplicate names, a foreign key to a missing table or column, use_alter without a name). */
int ath_metadata__create(ath_metadata **out, const void *spec, size_t len, const ath_wire_limits *lim, ath_err *err);
void ath_metadata__incref(const ath_metadata *md);
void ath_metadata__decref(const ath_metadata *md);

const ath_table *ath_metadata__table(const ath_metadata *md, const char *schema, const char *name);
const ath_column *ath_table__column(const ath_table *t, const char *name);
const ath_index *ath_table__index(const ath_table *t, const char *name);

/* The normalised spec: every key with its value, names the conventions produced filled in. */
int ath_metadata__pack_spec(ath_buf *out, const ath_metadata *md, ath_err *err);

/* naming.c: apply the metadata's naming convention (or SQLAlchemy's default, ix_%(column_0_label)s)
 * to an unnamed constraint / index, or to a named one whose convention uses %(constraint_name)s. */
int ath_naming__constraint(ath_metadata *md, const ath_table *t, ath_constraint *c, ath_err *err);
int ath_naming__index(ath_metadata *md, const ath_table *t, ath_index *ix, ath_err *err);

#endif
