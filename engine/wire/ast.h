/* ast.h — the statement tree decoded from the wire format. Built in an arena by decode.c, read
 * by the compiler, freed in one go after compiling: the compiled form never points into it.
 * Mirrors sqlalchemy.sql.elements / selectable, reduced to what the compiler needs. */
#ifndef ATH_WIRE_AST_H
#define ATH_WIRE_AST_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum ath_node_kind {
	/* expressions */
	ATH_N_COL,       /* name, qual (from name or NULL) */
	ATH_N_BIND,      /* index */
	ATH_N_EXPANDING, /* index: a list parameter for IN */
	ATH_N_LIT,       /* value */
	ATH_N_NULL,
	ATH_N_TRUE,
	ATH_N_FALSE,
	ATH_N_STAR,      /* qual: from name or NULL */
	ATH_N_BINARY,    /* op; kids[0..n) with n >= 2 (n > 2 only for associative operators) */
	ATH_N_AND,       /* kids */
	ATH_N_OR,        /* kids */
	ATH_N_NOT,       /* kids[0] */
	ATH_N_NEG,       /* kids[0] */
	ATH_N_LIKE,      /* op (like/not_like/ilike/not_ilike); kids[0] e, kids[1] pattern; name = escape char or NULL */
	ATH_N_IN,        /* flags NEGATED; kids[0] e, kids[1] list: EXPANDING, TUPLE or SELECT */
	ATH_N_BETWEEN,   /* flags NEGATED, SYMMETRIC; kids[0..2] */
	ATH_N_FN,        /* name (possibly dotted); kids = args */
	ATH_N_LABEL,     /* name; kids[0] */
	ATH_N_TEXT,      /* text: sql fragment with :name binds */
	ATH_N_TUPLE,     /* kids */
	ATH_N_DISTINCT,  /* kids[0] */
	ATH_N_CASE,      /* kids: when, then, when, then, ..., [else]; flags HAS_ELSE */
	ATH_N_ORDER,     /* op: ASC/DESC/NULLS_FIRST/NULLS_LAST; kids[0] */
	ATH_N_SCALAR,    /* select: a scalar subquery */
	ATH_N_EXISTS,    /* select; flags NEGATED */
	ATH_N_AFFIX,     /* contains/startswith/endswith: op = ATH_AFFIX_*; flags NEGATED, AUTOESCAPE;
			  * kids[0] e, kids[1] value; name = escape char or NULL */
	ATH_N_EXCLUDED,  /* name: the proposed row's column in an upsert */
	ATH_N_CAST,      /* kids[0]; value = the wire type form */
	ATH_N_EXTRACT,   /* name = field; kids[0] */
	ATH_N_COLLATE,   /* name = collation; kids[0] */
	ATH_N_ANY,       /* op = 0 ANY / 1 ALL; kids[0] */
	ATH_N_INDEX,     /* kids[0] array, kids[1] index, [kids[2] upper bound: a slice] */
	ATH_N_JSON,      /* op = ATH_JSON_*; kids[0] document, kids[1] key or path (a bind or a literal) */
	ATH_N_COLUMNS_OF, /* qual = FROM name: its every column, in table order (columns clause / RETURNING only) */
	/* FROM items */
	ATH_N_TABLE,     /* name, qual = schema or NULL */
	ATH_N_ALIAS,     /* name = alias; kids[0] = the aliased from item */
	ATH_N_JOIN,      /* op = join kind; kids[0] left, kids[1] right, kids[2] on (may be NULL) */
	ATH_N_SUBQUERY,  /* name; select; flags LATERAL */
	ATH_N_CTE_REF,   /* name: a CTE of an enclosing statement's "with" */
	ATH_N_VALUES,    /* name; kids = rows (TUPLE nodes); u.names = column names (n in qual-less list) */
	ATH_N_TABLE_FN,  /* name; kids[0] = the function call */
	/* statements */
	ATH_N_SELECT,
	ATH_N_INSERT,
	ATH_N_UPDATE,
	ATH_N_DELETE,
	ATH_N_TEXT_STMT,
	ATH_N_DDL,       /* op = ATH_DDL_*; name = table, qual = its schema or NULL, u.names[0] = index
			  * name (index kinds); flags ATH_NF_IF_EXISTS (if_not_exists / if_exists) */
	ATH_N__COUNT
} ath_node_kind;

/* node flags */
#define ATH_NF_NEGATED 0x1u
#define ATH_NF_SYMMETRIC 0x2u
#define ATH_NF_HAS_ELSE 0x4u
#define ATH_NF_HAS_VALUE 0x8u   /* CASE: kids[0] is the value of a simple CASE */
#define ATH_NF_AUTOESCAPE 0x10u /* AFFIX: the engine escapes the value */
#define ATH_NF_LATERAL 0x20u
#define ATH_NF_IF_EXISTS 0x40u  /* DDL: IF NOT EXISTS / IF EXISTS */

/* DDL statement kinds (op of ATH_N_DDL) */
enum { ATH_DDL_CREATE_TABLE, ATH_DDL_DROP_TABLE, ATH_DDL_CREATE_INDEX, ATH_DDL_DROP_INDEX };

/* ORDER modifiers (op of ATH_N_ORDER) */
enum { ATH_ORDER_ASC, ATH_ORDER_DESC, ATH_ORDER_NULLS_FIRST, ATH_ORDER_NULLS_LAST };
/* join kinds (op of ATH_N_JOIN) */
enum { ATH_JOIN_INNER, ATH_JOIN_LEFT, ATH_JOIN_FULL };
/* contains / startswith / endswith (op of ATH_N_AFFIX) */
enum { ATH_AFFIX_CONTAINS, ATH_AFFIX_STARTSWITH, ATH_AFFIX_ENDSWITH };
/* JSON access (op of ATH_N_JSON) */
enum { ATH_JSON_GET, ATH_JSON_GET_TEXT, ATH_JSON_PATH, ATH_JSON_PATH_TEXT };
/* compound selects (ath_select.compound) */
enum { ATH_SET_NONE, ATH_SET_UNION, ATH_SET_UNION_ALL, ATH_SET_INTERSECT, ATH_SET_INTERSECT_ALL, ATH_SET_EXCEPT,
       ATH_SET_EXCEPT_ALL };

/* Binary operators: the wire name, the generic SQL, SQLAlchemy's precedence
 * (sql/operators.py _PRECEDENCE), and the operator whose result is the negation. */
typedef enum ath_binop {
	ATH_OP_EQ, ATH_OP_NE, ATH_OP_LT, ATH_OP_LE, ATH_OP_GT, ATH_OP_GE,
	ATH_OP_ADD, ATH_OP_SUB, ATH_OP_MUL, ATH_OP_DIV, ATH_OP_FLOORDIV, ATH_OP_MOD, ATH_OP_CONCAT,
	ATH_OP_BITAND, ATH_OP_BITOR, ATH_OP_BITXOR, ATH_OP_LSHIFT, ATH_OP_RSHIFT,
	ATH_OP_IS, ATH_OP_IS_NOT, ATH_OP_IS_DISTINCT_FROM, ATH_OP_IS_NOT_DISTINCT_FROM,
	ATH_OP_REGEXP, ATH_OP_NOT_REGEXP, ATH_OP_CUSTOM,
	ATH_OP_LIKE, ATH_OP_NOT_LIKE, ATH_OP_ILIKE, ATH_OP_NOT_ILIKE,
	ATH_OP__COUNT
} ath_binop;

#define ATH_OPF_ASSOCIATIVE 0x1u /* a op b op c needs no parentheses (and may be n-ary on the wire) */
#define ATH_OPF_COMPARISON 0x2u

typedef struct ath_op_info {
	const char *wire;
	const char *sql;
	int precedence;
	unsigned flags;
	int negate; /* ath_binop of the negation, or -1 */
} ath_op_info;

extern const ath_op_info ath_ops[ATH_OP__COUNT];

/* Precedences of the non-binary constructs (same scale). */
#define ATH_PREC_AND 3
#define ATH_PREC_OR 2
#define ATH_PREC_NOT 5
#define ATH_PREC_NEG 8
#define ATH_PREC_COMPARE 5
#define ATH_PREC_ATOM 100

typedef struct ath_node ath_node;

typedef struct ath_list {
	ath_node **v;
	uint32_t n;
} ath_list;

typedef struct ath_select ath_select;

/* One entry of a "with" list. */
typedef struct ath_cte {
	const char *name;
	ath_node *query;       /* SELECT (possibly compound) */
	const char **columns;  /* NULL or ncolumns names */
	uint32_t ncolumns;
	bool recursive;
} ath_cte;

typedef struct ath_window {
	ath_list partition_by, order_by;
	uint8_t frame;         /* 0 none, 1 ROWS, 2 RANGE */
	bool lo_unbounded, hi_unbounded;
	int64_t lo, hi;        /* negative = PRECEDING, positive = FOLLOWING, 0 = CURRENT ROW */
} ath_window;

/* Options of a function call: FILTER, OVER, WITHIN GROUP. */
typedef struct ath_fnopts {
	ath_node *filter;
	ath_window *over;
	ath_list within_group;
} ath_fnopts;

typedef struct ath_for_update {
	bool read, nowait, skip_locked, key_share;
	const char **of;
	uint32_t nof;
} ath_for_update;

struct ath_select {
	ath_cte *with;
	uint32_t nwith;
	ath_list columns, from, group_by, order_by, correlate;
	ath_node *where, *having, *limit, *offset;
	bool distinct;
	bool has_correlate; /* "correlate" given: disables auto-correlation */
	ath_list distinct_on;  /* DISTINCT ON (PostgreSQL) */
	ath_for_update *for_update;
	/* a compound select: compound != ATH_SET_NONE, selects are its members, and columns is
	 * empty; order_by / limit / offset then apply to the whole */
	uint8_t compound;
	ath_list selects;
};

typedef struct ath_insert {
	ath_node *table;
	const char **columns;
	uint32_t ncolumns;
	ath_list *rows; /* nrows lists of ncolumns expressions */
	uint32_t nrows;
	ath_node *select; /* INSERT ... SELECT */
	ath_list returning;
	ath_cte *with;
	uint32_t nwith;
	struct ath_on_conflict *on_conflict;
} ath_insert;

typedef struct ath_on_conflict {
	const char **target;  /* column names, or NULL */
	uint32_t ntarget;
	const char *constraint;
	ath_node *where;      /* index predicate of the target */
	bool do_update;
	const char **set_names;
	ath_list set_values;
	ath_node *set_where;
} ath_on_conflict;

typedef struct ath_update {
	ath_node *table;
	const char **set_names;
	ath_list set_values;
	ath_list from;
	ath_node *where;
	ath_list returning;
	ath_list order_by;
	ath_node *limit;
	ath_cte *with;
	uint32_t nwith;
} ath_update;

typedef struct ath_delete {
	ath_node *table;
	ath_list using_;
	ath_node *where;
	ath_list returning;
	ath_cte *with;
	uint32_t nwith;
} ath_delete;

/* A SQL fragment whose ":name" markers map to expressions (usually binds). */
typedef struct ath_text {
	const char *sql;
	const char **names;
	ath_node **values;
	uint32_t n;
} ath_text;

struct ath_node {
	uint8_t kind;   /* ath_node_kind */
	uint8_t op;     /* ath_binop, ORDER modifier or join kind */
	uint16_t flags; /* ATH_NF_* */
	uint32_t n;     /* number of kids */
	ath_node **kids;
	const char *name;
	const char *qual;
	uint32_t index;               /* BIND / EXPANDING parameter index */
	const msgpack_object *value;  /* LIT */
	union {
		ath_select *select;
		ath_insert *insert;
		ath_update *update;
		ath_delete *del;
		ath_text *text;
		ath_fnopts *fn;       /* FN: NULL when no options */
		const char **names;   /* VALUES / TABLE_FN column names (count in `index`) */
	} u;
};

#endif
