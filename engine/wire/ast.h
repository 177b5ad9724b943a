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
	/* FROM items */
	ATH_N_TABLE,     /* name, qual = schema or NULL */
	ATH_N_ALIAS,     /* name = alias; kids[0] = the aliased from item */
	ATH_N_JOIN,      /* op = join kind; kids[0] left, kids[1] right, kids[2] on (may be NULL) */
	ATH_N_SUBQUERY,  /* name; select */
	/* statements */
	ATH_N_SELECT,
	ATH_N_INSERT,
	ATH_N_UPDATE,
	ATH_N_DELETE,
	ATH_N_TEXT_STMT,
	ATH_N__COUNT
} ath_node_kind;

/* node flags */
#define ATH_NF_NEGATED 0x1u
#define ATH_NF_SYMMETRIC 0x2u
#define ATH_NF_HAS_ELSE 0x4u

/* ORDER modifiers (op of ATH_N_ORDER) */
enum { ATH_ORDER_ASC, ATH_ORDER_DESC, ATH_ORDER_NULLS_FIRST, ATH_ORDER_NULLS_LAST };
/* join kinds (op of ATH_N_JOIN) */
enum { ATH_JOIN_INNER, ATH_JOIN_LEFT, ATH_JOIN_FULL };

/* Binary operators: the wire name, the generic SQL, SQLAlchemy's precedence
 * (sql/operators.py _PRECEDENCE), and the operator whose result is the negation. */
typedef enum ath_binop {
	ATH_OP_EQ, ATH_OP_NE, ATH_OP_LT, ATH_OP_LE, ATH_OP_GT, ATH_OP_GE,
	ATH_OP_ADD, ATH_OP_SUB, ATH_OP_MUL, ATH_OP_DIV, ATH_OP_FLOORDIV, ATH_OP_MOD, ATH_OP_CONCAT,
	ATH_OP_BITAND, ATH_OP_BITOR, ATH_OP_BITXOR, ATH_OP_LSHIFT, ATH_OP_RSHIFT,
	ATH_OP_IS, ATH_OP_IS_NOT, ATH_OP_IS_DISTINCT_FROM, ATH_OP_IS_NOT_DISTINCT_FROM,
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

typedef struct ath_select {
	ath_list with;      /* reserved for CTEs */
	ath_list columns, from, group_by, order_by, correlate;
	ath_node *where, *having, *limit, *offset;
	bool distinct;
	bool has_correlate; /* "correlate" given: disables auto-correlation */
} ath_select;

typedef struct ath_insert {
	ath_node *table;
	const char **columns;
	uint32_t ncolumns;
	ath_list *rows; /* nrows lists of ncolumns expressions */
	uint32_t nrows;
	ath_node *select; /* INSERT ... SELECT */
	ath_list returning;
} ath_insert;

typedef struct ath_update {
	ath_node *table;
	const char **set_names;
	ath_list set_values;
	ath_list from;
	ath_node *where;
	ath_list returning;
} ath_update;

typedef struct ath_delete {
	ath_node *table;
	ath_list using_;
	ath_node *where;
	ath_list returning;
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
	} u;
};

#endif
