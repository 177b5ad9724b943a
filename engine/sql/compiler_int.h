/* compiler_int.h — what the compiler's files share: the compiler state, FROM scopes, and the
 * helpers each file provides (compiler.c: quoting, binds, labels, dispatch; compile_expr.c:
 * expressions; compile_select.c: FROM items, SELECT, compound selects, CTEs; compile_dml.c:
 * INSERT/UPDATE/DELETE). Internal to engine/sql; dialects use compiler.h. */
#ifndef ATH_SQL_COMPILER_INT_H
#define ATH_SQL_COMPILER_INT_H

#include "schema/metadata.h"
#include "sql/compiler.h"
#include "util/alloc.h"

/* The column (or CAST type) a bind or result column has: type NULL = untyped. */
typedef struct ath_bindcol {
	const ath_type *type;
	const char *table, *column;
	int cast;                 /* type parsed from a CAST (lives in the compiler's tmp arena) */
	int arith;                /* met in arithmetic: an Integer column's bind takes any number */
} ath_bindcol;

/* Precedence pseudo-operators for AND/OR, so "a AND b AND c" stays flat as in SQLAlchemy. */
#define OP_AND (ATH_OP__COUNT + 1)
#define OP_OR (ATH_OP__COUNT + 2)
#define OP_NONE (-1)
/* "Group anything that is not atomic": SQLAlchemy's self_group() with no context, used for
 * SET / VALUES entries and CASE conditions. */
#define GROUP_ALL (ATH_PREC_ATOM - 1)

/* The FROM items one SELECT (or DML statement) exposes to its expressions. */
typedef struct scope {
	struct scope *up;            /* enclosing statement, for correlation; NULL for FROM subqueries */
	const ath_node **items;      /* TABLE / ALIAS / SUBQUERY nodes, joins flattened */
	uint32_t n, cap;
} scope;

typedef struct label_counter {
	char *name;
	uint32_t n;
} label_counter;

struct ath_compiler {
	const ath_dialect *d;
	ath_err *err;
	ath_strbuf sql;
	ath_bindref *binds;
	uint32_t nbinds, capbinds;
	uint32_t nparams;
	int has_expanding;
	scope *scope;
	label_counter *labels;
	uint32_t nlabels, caplabels;
	ath_arena tmp; /* scratch nodes (inferred FROM items) */
	int returns_rows;
	uint16_t bind_flags; /* ATH_BIND_* given to the binds visited now (value transforms) */
	int bare_columns;    /* ORDER BY of a compound select: columns by bare name */
	const ath_metadata *md; /* NULL: names only */
	const msgpack_object **defaults; /* scalar client-side defaults bound so far (ATH_BIND_DEFAULT) */
	uint32_t ndefaults, capdefaults;
	/* types (metadata only): the column the next bind belongs to (`tnode` is the bind, or the
	 * expanding list, the type applies to), each bind's column, and the result columns' types */
	const ath_node *tnode;
	ath_bindcol tcol;
	ath_bindcol pend;         /* what the bind being added now belongs to (cleared by add_bind) */
	ath_bindcol *bcols;       /* parallel to binds */
	ath_bindcol *rcols;
	uint32_t nrcols, caprcols;
	int rlevel, rdone, rbad;  /* select nesting; the first top-level columns list is recorded */
};

/* Precedences of the constructs added with the expression language (same scale as ast.h). */
#define ATH_PREC_COLLATE 4
#define ATH_PREC_EXISTS 0

typedef struct from_list {
	const ath_node **v;
	uint32_t n, cap;
} from_list;

int ath_compiler__oom(ath_compiler *c);
int ath_compiler__quote(ath_compiler *c, const char *name);
int ath_compiler__table_name(ath_compiler *c, const ath_node *t);
int ath_compiler__add_bind(ath_compiler *c, uint32_t param, uint16_t flags, uint16_t arity);
int ath_compiler__anon_label(ath_compiler *c, const char *base, size_t baselen);
int ath_compiler__string_literal(ath_compiler *c, const char *s, size_t n);
const ath_node *ath_compiler__resolve_from(const ath_compiler *c, const char *name);
int ath_compiler__scope_add(ath_compiler *c, scope *s, const ath_node *f);
int ath_compiler__select(ath_compiler *c, const ath_select *s, scope *enclosing);
int ath_compiler__from(ath_compiler *c, const ath_node *f);
int ath_compiler__expr_list(ath_compiler *c, const ath_list *l);
int ath_compiler__column_entry(ath_compiler *c, const ath_node *e, const char **seen, uint32_t i);
int ath_compiler__text(ath_compiler *c, const ath_node *n);
int ath_compiler__insert(ath_compiler *c, const ath_insert *s, ath_compiled *out);
int ath_compiler__update(ath_compiler *c, const ath_update *s);
int ath_compiler__delete(ath_compiler *c, const ath_delete *s);
int ath_compiler__with(ath_compiler *c, const ath_cte *with, uint32_t n);
int ath_compiler__limit_generic(ath_compiler *c, const ath_select *s);
/* The metadata's table for a TABLE node (any schema when the node names none), or for the table
 * an alias of a table names; NULL without a metadata or when it does not know the table. */
const ath_table *ath_compiler__md_table(const ath_compiler *c, const ath_node *f);
/* A columns list with every ["columns_of", from] replaced by that FROM item's columns;
 * `from` (explicit FROM items) and `dml_table` (a DML target) are searched before the scope. */
int ath_compiler__expand_columns(ath_compiler *c, const ath_list *in, const ath_list *from, const ath_node *dml_table,
				 ath_list *out);
/* A bind of a scalar default of the metadata (a ["lit", v] default / onupdate). */
int ath_compiler__default_bind(ath_compiler *c, const msgpack_object *value);
int ath_compiler__ddl(ath_compiler *c, const ath_node *n);
/* The metadata column `e` is (a ["col", ...] of a known table, through a label), or a CAST's type. */
ath_bindcol ath_compiler__typeof(ath_compiler *c, const ath_node *e);
/* The type an expression gives the binds it meets (SQLAlchemy's type coercion): a column or CAST
 * (ath_compiler__typeof), arithmetic over a numeric or string one (`col + ?`), a function that
 * returns its arguments' type (`coalesce(col, ?)`); untyped otherwise. */
ath_bindcol ath_compiler__expr_type(ath_compiler *c, const ath_node *e);
/* ath_compiler__grouped(c, n, prec, op), with `typed` the column a bind `n` belongs to. */
int ath_compiler__typed_visit(ath_compiler *c, const ath_node *n, const ath_bindcol *typed, int prec, int op);
/* Record result column `e` of the top-level columns list (compile_select.c, RETURNING). */
int ath_compiler__result_type(ath_compiler *c, const ath_node *e);
extern const ath_visit_fn ath_compiler__generic[ATH_N__COUNT];

/* Short names for use inside the compiler files. */
static inline int visit(ath_compiler *c, const ath_node *n) { return ath_compiler__expr(c, n); }
static inline int oom(ath_compiler *c) { return ath_compiler__oom(c); }
static inline int ident(ath_compiler *c, const char *name) { return ath_compiler__quote(c, name); }
static inline int table_name(ath_compiler *c, const ath_node *t) { return ath_compiler__table_name(c, t); }
static inline int add_bind(ath_compiler *c, uint32_t param, uint16_t flags, uint16_t arity) { return ath_compiler__add_bind(c, param, flags, arity); }
static inline int anon_label(ath_compiler *c, const char *base, size_t baselen) { return ath_compiler__anon_label(c, base, baselen); }
static inline int put_string_literal(ath_compiler *c, const char *s, size_t n) { return ath_compiler__string_literal(c, s, n); }
static inline const ath_node *resolve_from(const ath_compiler *c, const char *name) { return ath_compiler__resolve_from(c, name); }
static inline int scope_add(ath_compiler *c, scope *s, const ath_node *f) { return ath_compiler__scope_add(c, s, f); }
static inline int compile_select(ath_compiler *c, const ath_select *s, scope *enclosing) { return ath_compiler__select(c, s, enclosing); }
static inline int visit_from(ath_compiler *c, const ath_node *f) { return ath_compiler__from(c, f); }
static inline int expr_list(ath_compiler *c, const ath_list *l) { return ath_compiler__expr_list(c, l); }
static inline int column_entry(ath_compiler *c, const ath_node *e, const char **seen, uint32_t i) { return ath_compiler__column_entry(c, e, seen, i); }

#endif
