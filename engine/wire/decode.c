/* decode.c — msgpack statement shapes into the AST (ast.h), following docs/wire-format.md.
 * Unknown kinds and keys are errors, never ignored; every error names the path of the node
 * ($.where[2][1]). Input is validated first (validate.c), so msgpack-c's allocations are bounded
 * by the input size. Does not resolve names or check dialect support: that is the compiler's. */
#include "decode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const ath_op_info ath_ops[ATH_OP__COUNT] = {
	[ATH_OP_EQ] = { "=", "=", 5, ATH_OPF_COMPARISON, ATH_OP_NE },
	[ATH_OP_NE] = { "!=", "!=", 5, ATH_OPF_COMPARISON, ATH_OP_EQ },
	[ATH_OP_LT] = { "<", "<", 5, ATH_OPF_COMPARISON, ATH_OP_GE },
	[ATH_OP_LE] = { "<=", "<=", 5, ATH_OPF_COMPARISON, ATH_OP_GT },
	[ATH_OP_GT] = { ">", ">", 5, ATH_OPF_COMPARISON, ATH_OP_LE },
	[ATH_OP_GE] = { ">=", ">=", 5, ATH_OPF_COMPARISON, ATH_OP_LT },
	[ATH_OP_ADD] = { "+", "+", 7, ATH_OPF_ASSOCIATIVE, -1 },
	[ATH_OP_SUB] = { "-", "-", 7, 0, -1 },
	[ATH_OP_MUL] = { "*", "*", 8, ATH_OPF_ASSOCIATIVE, -1 },
	[ATH_OP_DIV] = { "/", "/", 8, 0, -1 },
	[ATH_OP_FLOORDIV] = { "//", "/", 8, 0, -1 },
	[ATH_OP_MOD] = { "%", "%", 8, 0, -1 },
	[ATH_OP_CONCAT] = { "||", "||", 6, ATH_OPF_ASSOCIATIVE, -1 },
	[ATH_OP_BITAND] = { "&", "&", 7, ATH_OPF_ASSOCIATIVE, -1 },
	[ATH_OP_BITOR] = { "|", "|", 7, ATH_OPF_ASSOCIATIVE, -1 },
	[ATH_OP_BITXOR] = { "^", "^", 7, ATH_OPF_ASSOCIATIVE, -1 },
	[ATH_OP_LSHIFT] = { "<<", "<<", 7, 0, -1 },
	[ATH_OP_RSHIFT] = { ">>", ">>", 7, 0, -1 },
	[ATH_OP_IS] = { "is", "IS", 5, ATH_OPF_COMPARISON, ATH_OP_IS_NOT },
	[ATH_OP_IS_NOT] = { "is_not", "IS NOT", 5, ATH_OPF_COMPARISON, ATH_OP_IS },
	[ATH_OP_IS_DISTINCT_FROM] = { "is_distinct_from", "IS DISTINCT FROM", 5, ATH_OPF_COMPARISON,
				      ATH_OP_IS_NOT_DISTINCT_FROM },
	[ATH_OP_IS_NOT_DISTINCT_FROM] = { "is_not_distinct_from", "IS NOT DISTINCT FROM", 5, ATH_OPF_COMPARISON,
					  ATH_OP_IS_DISTINCT_FROM },
	[ATH_OP_REGEXP] = { "regexp", "REGEXP", 5, ATH_OPF_COMPARISON, ATH_OP_NOT_REGEXP },
	[ATH_OP_NOT_REGEXP] = { "not_regexp", "NOT REGEXP", 5, ATH_OPF_COMPARISON, ATH_OP_REGEXP },
	/* ["op", "<->", l, r]: SQLAlchemy's custom_op, precedence 0 (always grouped) */
	[ATH_OP_CUSTOM] = { "\x01op", NULL, 0, 0, -1 },
	[ATH_OP_LIKE] = { "like", "LIKE", 5, ATH_OPF_COMPARISON, ATH_OP_NOT_LIKE },
	[ATH_OP_NOT_LIKE] = { "not_like", "NOT LIKE", 5, ATH_OPF_COMPARISON, ATH_OP_LIKE },
	[ATH_OP_ILIKE] = { "ilike", "ILIKE", 5, ATH_OPF_COMPARISON, ATH_OP_NOT_ILIKE },
	[ATH_OP_NOT_ILIKE] = { "not_ilike", "NOT ILIKE", 5, ATH_OPF_COMPARISON, ATH_OP_ILIKE },
};

#define PATH_MAX_DEPTH 128

typedef struct dec {
	ath_arena *arena;
	ath_err *err;
	int depth;
	struct {
		const char *key; /* NULL: an index */
		uint32_t keylen;
		uint32_t idx;
	} path[PATH_MAX_DEPTH];
} dec;

typedef const msgpack_object mobj;

static void path_key(dec *d, const char *key, uint32_t len)
{
	if (d->depth < PATH_MAX_DEPTH) {
		d->path[d->depth].key = key;
		d->path[d->depth].keylen = len;
	}
	d->depth++;
}

static void path_idx(dec *d, uint32_t i)
{
	if (d->depth < PATH_MAX_DEPTH) {
		d->path[d->depth].key = NULL;
		d->path[d->depth].idx = i;
	}
	d->depth++;
}

static void path_pop(dec *d) { d->depth--; }

__attribute__((format(printf, 2, 3))) static int fail(dec *d, const char *fmt, ...)
{
	char path[256], msg[512];
	size_t p = 0;
	path[p++] = '$';
	for (int i = 0; i < d->depth && i < PATH_MAX_DEPTH && p < sizeof path - 16; i++) {
		int w;
		if (d->path[i].key)
			w = snprintf(path + p, sizeof path - p, ".%.*s", (int)d->path[i].keylen, d->path[i].key);
		else
			w = snprintf(path + p, sizeof path - p, "[%u]", d->path[i].idx);
		if (w < 0)
			break;
		p += (size_t)w;
	}
	path[p < sizeof path ? p : sizeof path - 1] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ath_err__set(d->err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "%s: %s", path, msg);
}

static int oom(dec *d) { return ath_err__oom(d->err); }

static const char *type_name(mobj *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "bool";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "int";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "float";
	case MSGPACK_OBJECT_STR: return "str";
	case MSGPACK_OBJECT_BIN: return "bin";
	case MSGPACK_OBJECT_ARRAY: return "array";
	case MSGPACK_OBJECT_MAP: return "map";
	case MSGPACK_OBJECT_EXT: return "ext";
	}
	return "?";
}

static int str_eq(mobj *o, const char *s)
{
	size_t n = strlen(s);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

/* A string operand as a NUL-terminated arena copy; NUL bytes inside are rejected. */
static int get_str(dec *d, mobj *o, const char *what, const char **out)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return fail(d, "%s must be a string, not %s", what, type_name(o));
	if (o->via.str.size == 0)
		return fail(d, "%s must not be empty", what);
	if (memchr(o->via.str.ptr, '\0', o->via.str.size))
		return fail(d, "%s contains a NUL byte", what);
	*out = ath_arena__strndup(d->arena, o->via.str.ptr, o->via.str.size);
	return *out ? 0 : oom(d);
}

static int get_index(dec *d, mobj *o, uint32_t *out)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX - 1)
		return fail(d, "parameter index must be a non-negative integer");
	*out = (uint32_t)o->via.u64;
	return 0;
}

static ath_node *new_node(dec *d, ath_node_kind kind, uint32_t nkids)
{
	ath_node *n = ath_arena__zalloc(d->arena, sizeof *n);
	if (!n)
		return NULL;
	n->kind = (uint8_t)kind;
	if (nkids) {
		n->kids = ath_arena__zalloc(d->arena, nkids * sizeof *n->kids);
		if (!n->kids)
			return NULL;
		n->n = nkids;
	}
	return n;
}

static int decode_expr(dec *d, mobj *o, ath_node **out);
static int decode_names(dec *d, mobj *v, const char ***names, uint32_t *count, const char *what);
static int decode_from(dec *d, mobj *o, ath_node **out);
static int decode_stmt(dec *d, mobj *o, ath_node **out);

/* Decode o->via.array.ptr[at] as an expression, with the index on the path. */
static int expr_at(dec *d, mobj *arr, uint32_t at, ath_node **out)
{
	path_idx(d, at);
	int rc = decode_expr(d, &arr->via.array.ptr[at], out);
	if (rc == 0)
		path_pop(d);
	return rc;
}

/* An array of expressions (or FROM items) into a list. */
static int decode_list(dec *d, mobj *o, ath_list *out, int (*each)(dec *, mobj *, ath_node **))
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(d, "expected an array, not %s", type_name(o));
	out->n = o->via.array.size;
	out->v = ath_arena__zalloc(d->arena, (out->n ? out->n : 1) * sizeof *out->v);
	if (!out->v)
		return oom(d);
	for (uint32_t i = 0; i < out->n; i++) {
		path_idx(d, i);
		int rc = each(d, &o->via.array.ptr[i], &out->v[i]);
		if (rc)
			return rc;
		path_pop(d);
	}
	return 0;
}

/* ---- expressions: one handler per wire kind ---------------------------------------------- */

typedef int (*expr_fn)(dec *d, mobj *a, uint32_t arg, ath_node **out);

static int need_args(dec *d, mobj *a, uint32_t lo, uint32_t hi, const char *form)
{
	uint32_t n = a->via.array.size - 1;
	if (n < lo || n > hi)
		return fail(d, "\"%.*s\" takes %s", (int)a->via.array.ptr[0].via.str.size,
			    a->via.array.ptr[0].via.str.ptr, form);
	return 0;
}

static int x_col(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 1, 2, "[\"col\", from, name] or [\"col\", name]");
	if (rc)
		return rc;
	ath_node *n = new_node(d, ATH_N_COL, 0);
	if (!n)
		return oom(d);
	uint32_t argc = a->via.array.size - 1;
	path_idx(d, argc);
	if ((rc = get_str(d, &a->via.array.ptr[argc], "column name", &n->name)))
		return rc;
	path_pop(d);
	if (argc == 2) {
		path_idx(d, 1);
		if ((rc = get_str(d, &a->via.array.ptr[1], "FROM name", &n->qual)))
			return rc;
		path_pop(d);
	}
	*out = n;
	return 0;
}

static int x_bind(dec *d, mobj *a, uint32_t kind, ath_node **out)
{
	int rc = need_args(d, a, 1, kind == ATH_N_BIND ? 2 : 1, "a parameter index");
	if (rc)
		return rc;
	ath_node *n = new_node(d, (ath_node_kind)kind, 0);
	if (!n)
		return oom(d);
	path_idx(d, 1);
	if ((rc = get_index(d, &a->via.array.ptr[1], &n->index)))
		return rc;
	path_pop(d);
	/* The optional type of ["bind", i, type] is kept for the type system (not used yet). */
	*out = n;
	return 0;
}

static int x_lit(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 1, 1, "one value");
	if (rc)
		return rc;
	ath_node *n = new_node(d, ATH_N_LIT, 0);
	if (!n)
		return oom(d);
	n->value = &a->via.array.ptr[1];
	*out = n;
	return 0;
}

static int x_const(dec *d, mobj *a, uint32_t kind, ath_node **out)
{
	int rc = need_args(d, a, 0, 0, "no operands");
	if (rc)
		return rc;
	*out = new_node(d, (ath_node_kind)kind, 0);
	return *out ? 0 : oom(d);
}

static int x_star(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 0, 1, "an optional FROM name");
	if (rc)
		return rc;
	ath_node *n = new_node(d, ATH_N_STAR, 0);
	if (!n)
		return oom(d);
	if (a->via.array.size == 2) {
		path_idx(d, 1);
		if ((rc = get_str(d, &a->via.array.ptr[1], "FROM name", &n->qual)))
			return rc;
		path_pop(d);
	}
	*out = n;
	return 0;
}

/* Operands 1..argc of `a` as kids of a new node. */
static int with_kids(dec *d, mobj *a, ath_node_kind kind, uint32_t first, uint32_t count, ath_node **out)
{
	ath_node *n = new_node(d, kind, count);
	if (!n)
		return oom(d);
	for (uint32_t i = 0; i < count; i++) {
		int rc = expr_at(d, a, first + i, &n->kids[i]);
		if (rc)
			return rc;
	}
	*out = n;
	return 0;
}

static int x_binary(dec *d, mobj *a, uint32_t op, ath_node **out)
{
	uint32_t argc = a->via.array.size - 1;
	int rc = (ath_ops[op].flags & ATH_OPF_ASSOCIATIVE) ? need_args(d, a, 2, UINT32_MAX, "two or more operands")
							   : need_args(d, a, 2, 2, "two operands");
	if (rc)
		return rc;
	if ((rc = with_kids(d, a, ATH_N_BINARY, 1, argc, out)))
		return rc;
	(*out)->op = (uint8_t)op;
	return 0;
}

static int x_boolean(dec *d, mobj *a, uint32_t kind, ath_node **out)
{
	int rc = need_args(d, a, 1, UINT32_MAX, "one or more operands");
	return rc ? rc : with_kids(d, a, (ath_node_kind)kind, 1, a->via.array.size - 1, out);
}

static int x_unary(dec *d, mobj *a, uint32_t kind, ath_node **out)
{
	int rc = need_args(d, a, 1, 1, "one operand");
	return rc ? rc : with_kids(d, a, (ath_node_kind)kind, 1, 1, out);
}

/* Options map of like/between: {"escape": "/"} / {"symmetric": true}. */
static int decode_opts(dec *d, mobj *o, ath_node *n)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(d, "options must be a map, not %s", type_name(o));
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		mobj *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
		if (k->type == MSGPACK_OBJECT_STR)
			path_key(d, k->via.str.ptr, k->via.str.size);
		else
			path_idx(d, i);
		if (str_eq(k, "escape") && n->kind == ATH_N_LIKE) {
			int rc = get_str(d, v, "escape", &n->name);
			if (rc)
				return rc;
			if (strlen(n->name) != 1)
				return fail(d, "escape must be one character");
		} else if (str_eq(k, "symmetric") && n->kind == ATH_N_BETWEEN) {
			if (v->type != MSGPACK_OBJECT_BOOLEAN)
				return fail(d, "symmetric must be a bool");
			if (v->via.boolean)
				n->flags |= ATH_NF_SYMMETRIC;
		} else {
			return fail(d, "unknown option");
		}
		path_pop(d);
	}
	return 0;
}

static int x_like(dec *d, mobj *a, uint32_t op, ath_node **out)
{
	int rc = need_args(d, a, 2, 3, "an expression, a pattern and optional {\"escape\": c}");
	if (rc || (rc = with_kids(d, a, ATH_N_LIKE, 1, 2, out)))
		return rc;
	(*out)->op = (uint8_t)op;
	if (a->via.array.size == 4) {
		path_idx(d, 3);
		if ((rc = decode_opts(d, &a->via.array.ptr[3], *out)))
			return rc;
		path_pop(d);
	}
	return 0;
}

static int x_in(dec *d, mobj *a, uint32_t negated, ath_node **out)
{
	int rc = need_args(d, a, 2, 2, "an expression and a list ([\"expanding\", i], [\"tuple\", ...] or a select)");
	if (rc)
		return rc;
	ath_node *n = new_node(d, ATH_N_IN, 2);
	if (!n)
		return oom(d);
	n->flags = negated ? ATH_NF_NEGATED : 0;
	if ((rc = expr_at(d, a, 1, &n->kids[0])))
		return rc;
	mobj *list = &a->via.array.ptr[2];
	path_idx(d, 2);
	if (list->type == MSGPACK_OBJECT_MAP)
		rc = decode_stmt(d, list, &n->kids[1]);
	else
		rc = decode_expr(d, list, &n->kids[1]);
	if (rc)
		return rc;
	uint8_t k = n->kids[1]->kind;
	if (k != ATH_N_EXPANDING && k != ATH_N_TUPLE && k != ATH_N_SELECT)
		return fail(d, "IN needs [\"expanding\", i], [\"tuple\", ...] or a select");
	path_pop(d);
	*out = n;
	return 0;
}

static int x_between(dec *d, mobj *a, uint32_t negated, ath_node **out)
{
	int rc = need_args(d, a, 3, 4, "an expression, a low and a high bound, and optional {\"symmetric\": true}");
	if (rc || (rc = with_kids(d, a, ATH_N_BETWEEN, 1, 3, out)))
		return rc;
	(*out)->flags |= negated ? ATH_NF_NEGATED : 0;
	if (a->via.array.size == 5) {
		path_idx(d, 4);
		if ((rc = decode_opts(d, &a->via.array.ptr[4], *out)))
			return rc;
		path_pop(d);
	}
	return 0;
}

/* A window frame bound: an integer offset or nil (UNBOUNDED). */
static int frame_bound(dec *d, mobj *o, bool *unbounded, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_NIL) {
		*unbounded = true;
		return 0;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT32_MAX)
		*v = (int64_t)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= -INT32_MAX)
		*v = o->via.i64;
	else
		return fail(d, "a frame bound is an integer (negative = PRECEDING) or nil (UNBOUNDED)");
	return 0;
}

/* {"partition_by": [...], "order_by": [...], "rows": [lo, hi] | "range": [lo, hi]} */
static int decode_window(dec *d, mobj *o, ath_window **out)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(d, "a window is a map");
	ath_window *w = ath_arena__zalloc(d->arena, sizeof *w);
	if (!w)
		return oom(d);
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		mobj *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
		int rc = 0;
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "window keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "partition_by"))
			rc = decode_list(d, v, &w->partition_by, decode_expr);
		else if (str_eq(k, "order_by"))
			rc = decode_list(d, v, &w->order_by, decode_expr);
		else if (str_eq(k, "rows") || str_eq(k, "range")) {
			if (w->frame)
				return fail(d, "a window takes \"rows\" or \"range\", not both");
			if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != 2)
				return fail(d, "a frame is [lo, hi]");
			w->frame = str_eq(k, "rows") ? 1 : 2;
			if ((rc = frame_bound(d, &v->via.array.ptr[0], &w->lo_unbounded, &w->lo)) ||
			    (rc = frame_bound(d, &v->via.array.ptr[1], &w->hi_unbounded, &w->hi)))
				return rc;
		} else
			return fail(d, "unknown window key");
		if (rc)
			return rc;
		path_pop(d);
	}
	*out = w;
	return 0;
}

static int decode_fnopts(dec *d, mobj *o, ath_fnopts **out)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(d, "function options must be a map, not %s", type_name(o));
	ath_fnopts *f = ath_arena__zalloc(d->arena, sizeof *f);
	if (!f)
		return oom(d);
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		mobj *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
		int rc;
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "option keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "filter"))
			rc = decode_expr(d, v, &f->filter);
		else if (str_eq(k, "over"))
			rc = decode_window(d, v, &f->over);
		else if (str_eq(k, "within_group"))
			rc = decode_list(d, v, &f->within_group, decode_expr);
		else
			return fail(d, "unknown function option");
		if (rc)
			return rc;
		path_pop(d);
	}
	*out = f;
	return 0;
}

static int x_fn(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 1, 3, "a name, an array of arguments and optional {\"filter\", \"over\", \"within_group\"}");
	if (rc)
		return rc;
	ath_node *n = new_node(d, ATH_N_FN, 0);
	if (!n)
		return oom(d);
	if (a->via.array.size >= 3) {
		path_idx(d, 2);
		ath_list args;
		if ((rc = decode_list(d, &a->via.array.ptr[2], &args, decode_expr)))
			return rc;
		path_pop(d);
		n->kids = args.v;
		n->n = args.n;
	}
	if (a->via.array.size == 4) {
		path_idx(d, 3);
		if ((rc = decode_fnopts(d, &a->via.array.ptr[3], &n->u.fn)))
			return rc;
		path_pop(d);
	}
	path_idx(d, 1);
	if ((rc = get_str(d, &a->via.array.ptr[1], "function name", &n->name)))
		return rc;
	path_pop(d);
	*out = n;
	return 0;
}

static int x_label(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 2, 2, "a name and an expression");
	if (rc || (rc = with_kids(d, a, ATH_N_LABEL, 2, 1, out)))
		return rc;
	path_idx(d, 1);
	if ((rc = get_str(d, &a->via.array.ptr[1], "label", &(*out)->name)))
		return rc;
	path_pop(d);
	return 0;
}

/* ["text", sql, {name: expr}] (as_array: paths [1] and [2]) and the text statement's "sql" and
 * "binds" keys. */
static void path_text_part(dec *d, int as_array, int binds)
{
	if (as_array)
		path_idx(d, binds ? 2 : 1);
	else if (binds)
		path_key(d, "binds", 5);
	else
		path_key(d, "sql", 3);
}

static int decode_text(dec *d, mobj *sql, mobj *binds, int as_array, ath_text **out)
{
	ath_text *t = ath_arena__zalloc(d->arena, sizeof *t);
	if (!t)
		return oom(d);
	path_text_part(d, as_array, 0);
	if (sql->type != MSGPACK_OBJECT_STR)
		return fail(d, "SQL text must be a string, not %s", type_name(sql));
	if (memchr(sql->via.str.ptr, '\0', sql->via.str.size))
		return fail(d, "SQL text contains a NUL byte");
	if (!(t->sql = ath_arena__strndup(d->arena, sql->via.str.ptr, sql->via.str.size)))
		return oom(d);
	path_pop(d);
	if (binds && binds->type != MSGPACK_OBJECT_NIL) {
		path_text_part(d, as_array, 1);
		if (binds->type != MSGPACK_OBJECT_MAP)
			return fail(d, "text binds must be a map of name to expression, not %s", type_name(binds));
		t->n = binds->via.map.size;
		t->names = ath_arena__zalloc(d->arena, (t->n + 1) * sizeof *t->names);
		t->values = ath_arena__zalloc(d->arena, (t->n + 1) * sizeof *t->values);
		if (!t->names || !t->values)
			return oom(d);
		for (uint32_t i = 0; i < t->n; i++) {
			mobj *k = &binds->via.map.ptr[i].key;
			path_idx(d, i);
			int rc = get_str(d, k, "bind name", &t->names[i]);
			if (rc)
				return rc;
			path_pop(d);
			path_key(d, k->via.str.ptr, k->via.str.size);
			if ((rc = decode_expr(d, &binds->via.map.ptr[i].val, &t->values[i])))
				return rc;
			path_pop(d);
		}
		path_pop(d);
	}
	*out = t;
	return 0;
}

static int x_text(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 1, 2, "SQL text and an optional map of binds");
	if (rc)
		return rc;
	ath_node *n = new_node(d, ATH_N_TEXT, 0);
	if (!n)
		return oom(d);
	rc = decode_text(d, &a->via.array.ptr[1], a->via.array.size == 3 ? &a->via.array.ptr[2] : NULL, 1, &n->u.text);
	if (rc)
		return rc;
	*out = n;
	return 0;
}

static int x_tuple(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 1, UINT32_MAX, "one or more expressions");
	return rc ? rc : with_kids(d, a, ATH_N_TUPLE, 1, a->via.array.size - 1, out);
}

static int x_order(dec *d, mobj *a, uint32_t mod, ath_node **out)
{
	int rc = need_args(d, a, 1, 1, "one expression");
	if (rc || (rc = with_kids(d, a, ATH_N_ORDER, 1, 1, out)))
		return rc;
	(*out)->op = (uint8_t)mod;
	return 0;
}

static int x_case(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 1, 2, "[[when, then], ...] and an optional else");
	if (rc)
		return rc;
	mobj *whens = &a->via.array.ptr[1];
	path_idx(d, 1);
	if (whens->type != MSGPACK_OBJECT_ARRAY || whens->via.array.size == 0)
		return fail(d, "CASE needs a non-empty array of [when, then] pairs");
	uint32_t nw = whens->via.array.size, has_else = a->via.array.size == 3;
	ath_node *n = new_node(d, ATH_N_CASE, 2 * nw + has_else);
	if (!n)
		return oom(d);
	for (uint32_t i = 0; i < nw; i++) {
		mobj *pair = &whens->via.array.ptr[i];
		path_idx(d, i);
		if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2)
			return fail(d, "each CASE entry is [when, then]");
		if ((rc = expr_at(d, pair, 0, &n->kids[2 * i])) || (rc = expr_at(d, pair, 1, &n->kids[2 * i + 1])))
			return rc;
		path_pop(d);
	}
	path_pop(d);
	if (has_else) {
		if ((rc = expr_at(d, a, 2, &n->kids[2 * nw])))
			return rc;
		n->flags |= ATH_NF_HAS_ELSE;
	}
	*out = n;
	return 0;
}

static int x_subselect(dec *d, mobj *a, uint32_t kind, ath_node **out)
{
	int rc = need_args(d, a, 1, 1, "one select statement");
	if (rc)
		return rc;
	ath_node *n = new_node(d, kind == ATH_N_SCALAR ? ATH_N_SCALAR : ATH_N_EXISTS, 0);
	if (!n)
		return oom(d);
	if (kind == ATH_N__COUNT) /* not_exists */
		n->flags |= ATH_NF_NEGATED;
	ath_node *s;
	path_idx(d, 1);
	if ((rc = decode_stmt(d, &a->via.array.ptr[1], &s)))
		return rc;
	if (s->kind != ATH_N_SELECT)
		return fail(d, "a subquery must be a select");
	path_pop(d);
	n->u.select = s->u.select;
	*out = n;
	return 0;
}


/* A string that is safe to render verbatim: letters, digits and '_' (EXTRACT fields). */
static int get_word(dec *d, mobj *o, const char *what, const char **out)
{
	int rc = get_str(d, o, what, out);
	if (rc)
		return rc;
	for (const char *p = *out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return fail(d, "%s may only hold letters, digits and '_'", what);
	return 0;
}

/* ["op", "<->", l, r]: the operator text must be symbols only, so it cannot smuggle SQL. */
static int x_custom_op(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 3, 3, "an operator and two operands");
	if (rc)
		return rc;
	const char *opname;
	path_idx(d, 1);
	if ((rc = get_str(d, &a->via.array.ptr[1], "operator", &opname)))
		return rc;
	if (strlen(opname) > 8 || strspn(opname, "<>=~!@#%^&|`?*+-/:") != strlen(opname))
		return fail(d, "a custom operator is 1 to 8 symbols among <>=~!@#%%^&|`?*+-/:");
	path_pop(d);
	if ((rc = with_kids(d, a, ATH_N_BINARY, 2, 2, out)))
		return rc;
	(*out)->op = ATH_OP_CUSTOM;
	(*out)->name = opname;
	return 0;
}

/* contains / startswith / endswith: arg = affix | (negated << 4) */
static int x_affix(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 2, 3, "an expression, a value and optional {\"escape\": c} or {\"autoescape\": true}");
	if (rc || (rc = with_kids(d, a, ATH_N_AFFIX, 1, 2, out)))
		return rc;
	ath_node *n = *out;
	n->op = (uint8_t)(arg & 0xf);
	n->flags = (arg >> 4) ? ATH_NF_NEGATED : 0;
	if (a->via.array.size == 4) {
		mobj *o = &a->via.array.ptr[3];
		path_idx(d, 3);
		if (o->type != MSGPACK_OBJECT_MAP)
			return fail(d, "options must be a map, not %s", type_name(o));
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			mobj *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
			path_idx(d, i);
			if (str_eq(k, "escape")) {
				if ((rc = get_str(d, v, "escape", &n->name)))
					return rc;
				if (strlen(n->name) != 1)
					return fail(d, "escape must be one character");
			} else if (str_eq(k, "autoescape")) {
				if (v->type != MSGPACK_OBJECT_BOOLEAN)
					return fail(d, "autoescape must be a bool");
				if (v->via.boolean)
					n->flags |= ATH_NF_AUTOESCAPE;
			} else {
				return fail(d, "unknown option");
			}
			path_pop(d);
		}
		if (n->name && (n->flags & ATH_NF_AUTOESCAPE))
			return fail(d, "escape and autoescape are exclusive");
		if ((n->flags & ATH_NF_AUTOESCAPE) && n->kids[1]->kind != ATH_N_BIND)
			return fail(d, "autoescape needs the value to be a bind");
		path_pop(d);
	}
	return 0;
}

/* Nodes named by a string operand: ["excluded", name], ["extract", field, e], ["collate", e, c]. */
static int x_named(dec *d, mobj *a, uint32_t kind, ath_node **out)
{
	int rc;
	uint32_t name_at = kind == ATH_N_COLLATE ? 2 : 1;
	if (kind == ATH_N_EXCLUDED)
		rc = need_args(d, a, 1, 1, "a column name");
	else
		rc = need_args(d, a, 2, 2, kind == ATH_N_EXTRACT ? "a field and an expression" : "an expression and a collation");
	if (rc)
		return rc;
	if (kind == ATH_N_EXCLUDED) {
		if (!(*out = new_node(d, ATH_N_EXCLUDED, 0)))
			return oom(d);
	} else if ((rc = with_kids(d, a, (ath_node_kind)kind, kind == ATH_N_EXTRACT ? 2 : 1, 1, out))) {
		return rc;
	}
	path_idx(d, name_at);
	if (kind == ATH_N_EXTRACT)
		rc = get_word(d, &a->via.array.ptr[name_at], "EXTRACT field", &(*out)->name);
	else
		rc = get_str(d, &a->via.array.ptr[name_at], kind == ATH_N_EXCLUDED ? "column name" : "collation", &(*out)->name);
	if (rc)
		return rc;
	path_pop(d);
	return 0;
}

/* A type form: ["Integer"], ["String", 10], ["postgresql.JSONB"]; checked by the type renderer. */
static int check_type(dec *d, mobj *t)
{
	if (t->type != MSGPACK_OBJECT_ARRAY || t->via.array.size == 0 || t->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
		return fail(d, "a type is an array [name, args...]");
	return 0;
}

/* ["cast", e, type]; ["type_coerce", e, type] changes only the engine's idea of the type, so it
 * decodes to `e` itself (SQLAlchemy renders type_coerce as its expression). */
static int x_cast(dec *d, mobj *a, uint32_t coerce, ath_node **out)
{
	int rc = need_args(d, a, 2, 2, "an expression and a type");
	if (rc)
		return rc;
	path_idx(d, 2);
	if ((rc = check_type(d, &a->via.array.ptr[2])))
		return rc;
	path_pop(d);
	if (coerce)
		return expr_at(d, a, 1, out);
	if ((rc = with_kids(d, a, ATH_N_CAST, 1, 1, out)))
		return rc;
	(*out)->value = &a->via.array.ptr[2];
	return 0;
}

static int x_any(dec *d, mobj *a, uint32_t all, ath_node **out)
{
	int rc = need_args(d, a, 1, 1, "one array expression");
	if (rc || (rc = with_kids(d, a, ATH_N_ANY, 1, 1, out)))
		return rc;
	(*out)->op = (uint8_t)all;
	return 0;
}

/* ["index", e, i] and ["slice", e, lo, hi] */
static int x_index(dec *d, mobj *a, uint32_t slice, ath_node **out)
{
	int rc = slice ? need_args(d, a, 3, 3, "an array, a lower and an upper bound")
		       : need_args(d, a, 2, 2, "an array and an index");
	return rc ? rc : with_kids(d, a, ATH_N_INDEX, 1, slice ? 3 : 2, out);
}

static int x_json(dec *d, mobj *a, uint32_t op, ath_node **out)
{
	int rc = need_args(d, a, 2, 2, op >= ATH_JSON_PATH ? "a document and a path (a bind of a list of keys)"
							  : "a document and a key");
	if (rc || (rc = with_kids(d, a, ATH_N_JSON, 1, 2, out)))
		return rc;
	(*out)->op = (uint8_t)op;
	uint8_t k = (*out)->kids[1]->kind;
	if (k != ATH_N_BIND && k != ATH_N_LIT) {
		path_idx(d, 2);
		return fail(d, "a JSON key or path must be a bind or a literal");
	}
	return 0;
}

/* ["case_on", value, [[match, then], ...], else?] */
static int x_case_on(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 2, 3, "a value, [[match, then], ...] and an optional else");
	if (rc)
		return rc;
	msgpack_object_array rest = { a->via.array.size - 1, a->via.array.ptr + 1 };
	msgpack_object shifted = { .type = MSGPACK_OBJECT_ARRAY, .via.array = rest };
	/* decode [value, whens, else?] as if it were ["case", whens, else?] shifted by one */
	ath_node *value;
	if ((rc = expr_at(d, a, 1, &value)))
		return rc;
	mobj *arr = &shifted;
	if ((rc = x_case(d, arr, 1, out)))
		return rc;
	ath_node *n = *out, **kids = ath_arena__zalloc(d->arena, (n->n + 1) * sizeof *kids);
	if (!kids)
		return oom(d);
	kids[0] = value;
	memcpy(kids + 1, n->kids, n->n * sizeof *kids);
	n->kids = kids;
	n->n++;
	n->flags |= ATH_NF_HAS_VALUE;
	return 0;
}

static const struct {
	const char *name;
	expr_fn fn;
	uint32_t arg;
} expr_kinds[] = {
	{ "col", x_col, 0 },
	{ "bind", x_bind, ATH_N_BIND },
	{ "expanding", x_bind, ATH_N_EXPANDING },
	{ "lit", x_lit, 0 },
	{ "null", x_const, ATH_N_NULL },
	{ "true", x_const, ATH_N_TRUE },
	{ "false", x_const, ATH_N_FALSE },
	{ "*", x_star, 0 }, /* ["*"] and ["*", from]; ["*", l, r] is multiplication, handled below */
	{ "and", x_boolean, ATH_N_AND },
	{ "or", x_boolean, ATH_N_OR },
	{ "not", x_unary, ATH_N_NOT },
	{ "neg", x_unary, ATH_N_NEG },
	{ "distinct", x_unary, ATH_N_DISTINCT },
	{ "like", x_like, ATH_OP_LIKE },
	{ "not_like", x_like, ATH_OP_NOT_LIKE },
	{ "ilike", x_like, ATH_OP_ILIKE },
	{ "not_ilike", x_like, ATH_OP_NOT_ILIKE },
	{ "in", x_in, 0 },
	{ "not_in", x_in, 1 },
	{ "between", x_between, 0 },
	{ "not_between", x_between, 1 },
	{ "fn", x_fn, 0 },
	{ "label", x_label, 0 },
	{ "text", x_text, 0 },
	{ "tuple", x_tuple, 0 },
	{ "case", x_case, 0 },
	{ "asc", x_order, ATH_ORDER_ASC },
	{ "desc", x_order, ATH_ORDER_DESC },
	{ "nulls_first", x_order, ATH_ORDER_NULLS_FIRST },
	{ "nulls_last", x_order, ATH_ORDER_NULLS_LAST },
	{ "scalar", x_subselect, ATH_N_SCALAR },
	{ "exists", x_subselect, ATH_N_EXISTS },
	{ "not_exists", x_subselect, ATH_N__COUNT },
	{ "op", x_custom_op, 0 },
	{ "contains", x_affix, ATH_AFFIX_CONTAINS },
	{ "startswith", x_affix, ATH_AFFIX_STARTSWITH },
	{ "endswith", x_affix, ATH_AFFIX_ENDSWITH },
	{ "not_contains", x_affix, ATH_AFFIX_CONTAINS | 0x10 },
	{ "not_startswith", x_affix, ATH_AFFIX_STARTSWITH | 0x10 },
	{ "not_endswith", x_affix, ATH_AFFIX_ENDSWITH | 0x10 },
	{ "excluded", x_named, ATH_N_EXCLUDED },
	{ "extract", x_named, ATH_N_EXTRACT },
	{ "collate", x_named, ATH_N_COLLATE },
	{ "cast", x_cast, 0 },
	{ "type_coerce", x_cast, 1 },
	{ "any", x_any, 0 },
	{ "all", x_any, 1 },
	{ "index", x_index, 0 },
	{ "slice", x_index, 1 },
	{ "json_get", x_json, ATH_JSON_GET },
	{ "json_get_text", x_json, ATH_JSON_GET_TEXT },
	{ "json_path", x_json, ATH_JSON_PATH },
	{ "json_path_text", x_json, ATH_JSON_PATH_TEXT },
	{ "case_on", x_case_on, 0 },
};

static int decode_expr(dec *d, mobj *o, ath_node **out)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0)
		return fail(d, "an expression must be an array [kind, ...], not %s",
			    o->type == MSGPACK_OBJECT_ARRAY ? "an empty array" : type_name(o));
	mobj *k = &o->via.array.ptr[0];
	if (k->type != MSGPACK_OBJECT_STR)
		return fail(d, "expression kind must be a string, not %s", type_name(k));
	/* "*" is a star with 0-1 operands and multiplication with 2 or more. */
	int is_mul = str_eq(k, "*") && o->via.array.size >= 3;
	if (!is_mul) {
		for (size_t i = 0; i < sizeof expr_kinds / sizeof expr_kinds[0]; i++)
			if (str_eq(k, expr_kinds[i].name))
				return expr_kinds[i].fn(d, o, expr_kinds[i].arg, out);
	}
	for (uint32_t op = 0; op < ATH_OP__COUNT; op++)
		if (str_eq(k, ath_ops[op].wire)) {
			if (op >= ATH_OP_LIKE)
				return x_like(d, o, op, out);
			return x_binary(d, o, op, out);
		}
	return fail(d, "unknown expression kind \"%.*s\"", (int)(k->via.str.size > 40 ? 40 : k->via.str.size),
		    k->via.str.ptr);
}

/* ---- FROM items --------------------------------------------------------------------------- */

static int decode_from(dec *d, mobj *o, ath_node **out)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0 || o->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
		return fail(d, "a FROM item must be an array [kind, ...]");
	mobj *a = o->via.array.ptr;
	uint32_t n = o->via.array.size;
	int rc;
	ath_node *node;
	if (str_eq(&a[0], "table")) {
		if (n < 2 || n > 3)
			return fail(d, "\"table\" takes a name and optional {\"schema\": s}");
		if (!(node = new_node(d, ATH_N_TABLE, 0)))
			return oom(d);
		path_idx(d, 1);
		if ((rc = get_str(d, &a[1], "table name", &node->name)))
			return rc;
		path_pop(d);
		if (n == 3) {
			path_idx(d, 2);
			mobj *opts = &a[2];
			if (opts->type != MSGPACK_OBJECT_MAP)
				return fail(d, "table options must be a map");
			for (uint32_t i = 0; i < opts->via.map.size; i++) {
				mobj *k = &opts->via.map.ptr[i].key, *v = &opts->via.map.ptr[i].val;
				if (!str_eq(k, "schema"))
					return fail(d, "unknown table option");
				if (v->type != MSGPACK_OBJECT_NIL && (rc = get_str(d, v, "schema", &node->qual)))
					return rc;
			}
			path_pop(d);
		}
	} else if (str_eq(&a[0], "alias")) {
		if (n != 3)
			return fail(d, "\"alias\" takes a FROM item and a name");
		if (!(node = new_node(d, ATH_N_ALIAS, 1)))
			return oom(d);
		path_idx(d, 1);
		if ((rc = decode_from(d, &a[1], &node->kids[0])))
			return rc;
		path_pop(d);
		path_idx(d, 2);
		if ((rc = get_str(d, &a[2], "alias name", &node->name)))
			return rc;
		path_pop(d);
	} else if (str_eq(&a[0], "join")) {
		if (n < 4 || n > 5)
			return fail(d, "\"join\" takes left, right, on and a kind (\"inner\", \"left\", \"full\")");
		if (!(node = new_node(d, ATH_N_JOIN, 3)))
			return oom(d);
		for (uint32_t i = 1; i <= 2; i++) {
			path_idx(d, i);
			if ((rc = decode_from(d, &a[i], &node->kids[i - 1])))
				return rc;
			path_pop(d);
		}
		if (a[3].type != MSGPACK_OBJECT_NIL && (rc = expr_at(d, o, 3, &node->kids[2])))
			return rc;
		node->op = ATH_JOIN_INNER;
		if (n == 5) {
			path_idx(d, 4);
			if (str_eq(&a[4], "inner"))
				node->op = ATH_JOIN_INNER;
			else if (str_eq(&a[4], "left"))
				node->op = ATH_JOIN_LEFT;
			else if (str_eq(&a[4], "full"))
				node->op = ATH_JOIN_FULL;
			else
				return fail(d, "join kind must be \"inner\", \"left\" or \"full\"");
			path_pop(d);
		}
		if (!node->kids[2])
			return fail(d, "a join needs an ON clause (a cross join is two FROM items)");
	} else if (str_eq(&a[0], "subquery") || str_eq(&a[0], "lateral")) {
		if (n != 3)
			return fail(d, "\"%s\" takes a select and a name", str_eq(&a[0], "lateral") ? "lateral" : "subquery");
		if (!(node = new_node(d, ATH_N_SUBQUERY, 0)))
			return oom(d);
		if (str_eq(&a[0], "lateral"))
			node->flags |= ATH_NF_LATERAL;
		ath_node *s;
		path_idx(d, 1);
		if ((rc = decode_stmt(d, &a[1], &s)))
			return rc;
		if (s->kind != ATH_N_SELECT)
			return fail(d, "a subquery must be a select");
		path_pop(d);
		node->u.select = s->u.select;
		path_idx(d, 2);
		if ((rc = get_str(d, &a[2], "subquery name", &node->name)))
			return rc;
		path_pop(d);
	} else if (str_eq(&a[0], "cte")) {
		if (n != 2)
			return fail(d, "\"cte\" takes the name of a CTE");
		if (!(node = new_node(d, ATH_N_CTE_REF, 0)))
			return oom(d);
		path_idx(d, 1);
		if ((rc = get_str(d, &a[1], "CTE name", &node->name)))
			return rc;
		path_pop(d);
	} else if (str_eq(&a[0], "values")) {
		if (n != 4)
			return fail(d, "\"values\" takes rows, a name and column names");
		mobj *rows = &a[1];
		if (rows->type != MSGPACK_OBJECT_ARRAY || rows->via.array.size == 0)
			return fail(d, "VALUES needs a non-empty array of rows");
		if (!(node = new_node(d, ATH_N_VALUES, rows->via.array.size)))
			return oom(d);
		const char **cols;
		uint32_t ncols;
		path_idx(d, 3);
		if ((rc = decode_names(d, &a[3], &cols, &ncols, "VALUES columns")))
			return rc;
		if (ncols == 0)
			return fail(d, "VALUES needs column names");
		path_pop(d);
		node->u.names = cols;
		node->index = ncols;
		path_idx(d, 1);
		for (uint32_t r = 0; r < rows->via.array.size; r++) {
			path_idx(d, r);
			ath_list row;
			if ((rc = decode_list(d, &rows->via.array.ptr[r], &row, decode_expr)))
				return rc;
			if (row.n != ncols)
				return fail(d, "row has %u values for %u columns", row.n, ncols);
			if (!(node->kids[r] = new_node(d, ATH_N_TUPLE, 0)))
				return oom(d);
			node->kids[r]->kids = row.v;
			node->kids[r]->n = row.n;
			path_pop(d);
		}
		path_pop(d);
		path_idx(d, 2);
		if ((rc = get_str(d, &a[2], "VALUES name", &node->name)))
			return rc;
		path_pop(d);
	} else if (str_eq(&a[0], "table_fn")) {
		if (n < 3 || n > 4)
			return fail(d, "\"table_fn\" takes a function call, a name and optional column names");
		if (!(node = new_node(d, ATH_N_TABLE_FN, 1)))
			return oom(d);
		if ((rc = expr_at(d, o, 1, &node->kids[0])))
			return rc;
		if (node->kids[0]->kind != ATH_N_FN) {
			path_idx(d, 1);
			return fail(d, "a table-valued function needs [\"fn\", ...]");
		}
		path_idx(d, 2);
		if ((rc = get_str(d, &a[2], "table function name", &node->name)))
			return rc;
		path_pop(d);
		if (n == 4) {
			const char **cols;
			uint32_t ncols;
			path_idx(d, 3);
			if ((rc = decode_names(d, &a[3], &cols, &ncols, "columns")))
				return rc;
			path_pop(d);
			node->u.names = cols;
			node->index = ncols;
		}
	} else {
		return fail(d, "unknown FROM kind \"%.*s\"", (int)(a[0].via.str.size > 40 ? 40 : a[0].via.str.size),
			    a[0].via.str.ptr);
	}
	*out = node;
	return 0;
}

/* ---- statements ----------------------------------------------------------------------------- */

/* Iterate a statement map: each key must be one the statement knows. */
#define FOR_KEYS(d, o, i, k, v)                                                                    \
	for (uint32_t i = 0; i < (o)->via.map.size; i++)                                           \
		for (mobj *k = &(o)->via.map.ptr[i].key, *v = &(o)->via.map.ptr[i].val; k; k = NULL)

static int opt_expr(dec *d, mobj *v, ath_node **out)
{
	if (v->type == MSGPACK_OBJECT_NIL) {
		*out = NULL;
		return 0;
	}
	return decode_expr(d, v, out);
}

static int opt_list(dec *d, mobj *v, ath_list *out, int (*each)(dec *, mobj *, ath_node **))
{
	if (v->type == MSGPACK_OBJECT_NIL)
		return 0;
	return decode_list(d, v, out, each);
}

static int decode_names(dec *d, mobj *v, const char ***names, uint32_t *count, const char *what)
{
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return fail(d, "%s must be an array of names", what);
	*count = v->via.array.size;
	*names = ath_arena__zalloc(d->arena, (*count + 1) * sizeof **names);
	if (!*names)
		return oom(d);
	for (uint32_t i = 0; i < *count; i++) {
		path_idx(d, i);
		int rc = get_str(d, &v->via.array.ptr[i], "column name", &(*names)[i]);
		if (rc)
			return rc;
		path_pop(d);
	}
	return 0;
}

static int unknown_key(dec *d, const char *stmt) { return fail(d, "unknown key for a %s statement", stmt); }


/* "with": [{"name": n, "query": select, "recursive": bool, "columns": [names]}] */
static int decode_with(dec *d, mobj *v, ath_cte **out, uint32_t *count)
{
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return fail(d, "with must be an array of CTEs");
	*count = v->via.array.size;
	*out = ath_arena__zalloc(d->arena, (*count + 1) * sizeof **out);
	if (!*out)
		return oom(d);
	for (uint32_t i = 0; i < *count; i++) {
		mobj *e = &v->via.array.ptr[i];
		ath_cte *w = &(*out)[i];
		path_idx(d, i);
		if (e->type != MSGPACK_OBJECT_MAP)
			return fail(d, "a CTE is a map {\"name\", \"query\", \"recursive\", \"columns\"}");
		FOR_KEYS(d, e, j, k, val)
		{
			int rc = 0;
			if (k->type != MSGPACK_OBJECT_STR)
				return fail(d, "CTE keys must be strings");
			path_key(d, k->via.str.ptr, k->via.str.size);
			if (str_eq(k, "name"))
				rc = get_str(d, val, "CTE name", &w->name);
			else if (str_eq(k, "query")) {
				if (!(rc = decode_stmt(d, val, &w->query)) && w->query->kind != ATH_N_SELECT)
					return fail(d, "a CTE's query must be a select");
			} else if (str_eq(k, "recursive")) {
				if (val->type != MSGPACK_OBJECT_BOOLEAN)
					return fail(d, "recursive must be a bool");
				w->recursive = val->via.boolean;
			} else if (str_eq(k, "columns"))
				rc = decode_names(d, val, &w->columns, &w->ncolumns, "CTE columns");
			else
				return fail(d, "unknown CTE key");
			if (rc)
				return rc;
			path_pop(d);
		}
		if (!w->name || !w->query)
			return fail(d, "a CTE needs \"name\" and \"query\"");
		path_pop(d);
	}
	return 0;
}

static int decode_for_update(dec *d, mobj *v, ath_for_update **out)
{
	if (v->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (v->type != MSGPACK_OBJECT_MAP)
		return fail(d, "for_update must be a map");
	ath_for_update *f = ath_arena__zalloc(d->arena, sizeof *f);
	if (!f)
		return oom(d);
	FOR_KEYS(d, v, i, k, val)
	{
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "for_update keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		bool *flag = str_eq(k, "read") ? &f->read : str_eq(k, "nowait") ? &f->nowait
			   : str_eq(k, "skip_locked") ? &f->skip_locked : str_eq(k, "key_share") ? &f->key_share : NULL;
		if (flag) {
			if (val->type != MSGPACK_OBJECT_BOOLEAN)
				return fail(d, "must be a bool");
			*flag = val->via.boolean;
		} else if (str_eq(k, "of")) {
			/* names, or FROM items [\"table\", name] whose names are taken */
			if (val->type != MSGPACK_OBJECT_ARRAY)
				return fail(d, "of must be an array of names");
			f->nof = val->via.array.size;
			f->of = ath_arena__zalloc(d->arena, (f->nof + 1) * sizeof *f->of);
			if (!f->of)
				return oom(d);
			for (uint32_t j = 0; j < f->nof; j++) {
				mobj *e = &val->via.array.ptr[j];
				path_idx(d, j);
				if (e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size >= 2)
					e = &e->via.array.ptr[1];
				int rc = get_str(d, e, "table name", &f->of[j]);
				if (rc)
					return rc;
				path_pop(d);
			}
		} else
			return fail(d, "unknown for_update key");
		path_pop(d);
	}
	if (f->nowait && f->skip_locked)
		return fail(d, "nowait and skip_locked are exclusive");
	*out = f;
	return 0;
}

static int decode_compound(dec *d, mobj *o, ath_select *s)
{
	FOR_KEYS(d, o, i, k, v)
	{
		int rc = 0;
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "k"))
			;
		else if (str_eq(k, "selects")) {
			if ((rc = decode_list(d, v, &s->selects, decode_stmt)))
				return rc;
			for (uint32_t j = 0; j < s->selects.n; j++)
				if (s->selects.v[j]->kind != ATH_N_SELECT) {
					path_idx(d, j);
					return fail(d, "a compound select's members must be selects");
				}
		} else if (str_eq(k, "order_by"))
			rc = opt_list(d, v, &s->order_by, decode_expr);
		else if (str_eq(k, "limit"))
			rc = opt_expr(d, v, &s->limit);
		else if (str_eq(k, "offset"))
			rc = opt_expr(d, v, &s->offset);
		else if (str_eq(k, "with"))
			rc = decode_with(d, v, &s->with, &s->nwith);
		else
			return unknown_key(d, "compound select");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (s->selects.n < 2)
		return fail(d, "a compound select needs two or more \"selects\"");
	return 0;
}

static int decode_on_conflict(dec *d, mobj *v, ath_on_conflict **out);

static int decode_select(dec *d, mobj *o, ath_select *s)
{
	FOR_KEYS(d, o, i, k, v)
	{
		int rc = 0;
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "statement keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "k"))
			;
		else if (str_eq(k, "columns"))
			rc = decode_list(d, v, &s->columns, decode_expr);
		else if (str_eq(k, "from"))
			rc = opt_list(d, v, &s->from, decode_from);
		else if (str_eq(k, "where"))
			rc = opt_expr(d, v, &s->where);
		else if (str_eq(k, "group_by"))
			rc = opt_list(d, v, &s->group_by, decode_expr);
		else if (str_eq(k, "having"))
			rc = opt_expr(d, v, &s->having);
		else if (str_eq(k, "order_by"))
			rc = opt_list(d, v, &s->order_by, decode_expr);
		else if (str_eq(k, "limit"))
			rc = opt_expr(d, v, &s->limit);
		else if (str_eq(k, "offset"))
			rc = opt_expr(d, v, &s->offset);
		else if (str_eq(k, "distinct")) {
			if (v->type == MSGPACK_OBJECT_ARRAY) {
				if ((rc = decode_list(d, v, &s->distinct_on, decode_expr)))
					return rc;
				if (!s->distinct_on.n)
					return fail(d, "DISTINCT ON needs one or more expressions");
				s->distinct = true;
			} else if (v->type == MSGPACK_OBJECT_BOOLEAN) {
				s->distinct = v->via.boolean;
			} else {
				return fail(d, "distinct must be a bool or a list of expressions (DISTINCT ON)");
			}
		} else if (str_eq(k, "with"))
			rc = decode_with(d, v, &s->with, &s->nwith);
		else if (str_eq(k, "for_update"))
			rc = decode_for_update(d, v, &s->for_update); else if (str_eq(k, "correlate")) {
			const char **names;
			uint32_t count;
			if ((rc = decode_names(d, v, &names, &count, "correlate")))
				return rc;
			s->has_correlate = true;
			s->correlate.n = count;
			s->correlate.v = ath_arena__zalloc(d->arena, (count + 1) * sizeof *s->correlate.v);
			if (!s->correlate.v)
				return oom(d);
			for (uint32_t j = 0; j < count; j++) {
				if (!(s->correlate.v[j] = new_node(d, ATH_N_TABLE, 0)))
					return oom(d);
				s->correlate.v[j]->name = names[j];
			}
		} else
			return unknown_key(d, "select");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (s->columns.n == 0)
		return fail(d, "a select needs a non-empty \"columns\" list");
	return 0;
}

static int decode_returning(dec *d, mobj *v, ath_list *out) { return opt_list(d, v, out, decode_expr); }

static int decode_insert(dec *d, mobj *o, ath_insert *s)
{
	int have_values = 0;
	FOR_KEYS(d, o, i, k, v)
	{
		int rc = 0;
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "k"))
			;
		else if (str_eq(k, "table"))
			rc = decode_from(d, v, &s->table);
		else if (str_eq(k, "columns"))
			rc = decode_names(d, v, &s->columns, &s->ncolumns, "columns");
		else if (str_eq(k, "values")) {
			if (v->type != MSGPACK_OBJECT_ARRAY)
				return fail(d, "values must be an array of rows");
			have_values = 1;
			s->nrows = v->via.array.size;
			s->rows = ath_arena__zalloc(d->arena, (s->nrows + 1) * sizeof *s->rows);
			if (!s->rows)
				return oom(d);
			for (uint32_t r = 0; r < s->nrows && !rc; r++) {
				path_idx(d, r);
				rc = decode_list(d, &v->via.array.ptr[r], &s->rows[r], decode_expr);
				if (!rc)
					path_pop(d);
			}
		} else if (str_eq(k, "select")) {
			ath_node *sel;
			if ((rc = decode_stmt(d, v, &sel)))
				return rc;
			if (sel->kind != ATH_N_SELECT)
				return fail(d, "INSERT ... SELECT needs a select");
			s->select = sel;
		} else if (str_eq(k, "returning"))
			rc = decode_returning(d, v, &s->returning);
		else if (str_eq(k, "with"))
			rc = decode_with(d, v, &s->with, &s->nwith);
		else if (str_eq(k, "on_conflict"))
			rc = decode_on_conflict(d, v, &s->on_conflict);
		else
			return unknown_key(d, "insert");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (!s->table)
		return fail(d, "an insert needs a \"table\"");
	if (s->table->kind != ATH_N_TABLE)
		return fail(d, "an insert's table must be [\"table\", name]");
	if (have_values && s->select)
		return fail(d, "an insert takes \"values\" or \"select\", not both");
	for (uint32_t r = 0; r < s->nrows; r++)
		if (s->rows[r].n != s->ncolumns) {
			path_key(d, "values", 6);
			path_idx(d, r);
			return fail(d, "row has %u values for %u columns", s->rows[r].n, s->ncolumns);
		}
	return 0;
}


/* [[name, expr], ...] of an UPDATE's or an upsert's "set" */
static int decode_set(dec *d, mobj *v, const char ***names, ath_list *values)
{
	if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0)
		return fail(d, "set must be a non-empty array of [name, expr]");
	uint32_t n = v->via.array.size;
	*names = ath_arena__zalloc(d->arena, n * sizeof **names);
	values->v = ath_arena__zalloc(d->arena, n * sizeof *values->v);
	if (!*names || !values->v)
		return oom(d);
	values->n = n;
	for (uint32_t j = 0; j < n; j++) {
		mobj *pair = &v->via.array.ptr[j];
		path_idx(d, j);
		if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2)
			return fail(d, "each set entry is [name, expr]");
		path_idx(d, 0);
		int rc = get_str(d, &pair->via.array.ptr[0], "column name", &(*names)[j]);
		if (rc)
			return rc;
		path_pop(d);
		if ((rc = expr_at(d, pair, 1, &values->v[j])))
			return rc;
		path_pop(d);
	}
	return 0;
}

/* {"target": [names] | "constraint": name, "where": expr, "do": "nothing" | "update",
 *  "set": [[name, expr], ...], "set_where": expr} */
static int decode_on_conflict(dec *d, mobj *v, ath_on_conflict **out)
{
	if (v->type != MSGPACK_OBJECT_MAP)
		return fail(d, "on_conflict must be a map");
	ath_on_conflict *oc = ath_arena__zalloc(d->arena, sizeof *oc);
	if (!oc)
		return oom(d);
	int have_do = 0;
	FOR_KEYS(d, v, i, k, val)
	{
		int rc = 0;
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "on_conflict keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "target"))
			rc = decode_names(d, val, &oc->target, &oc->ntarget, "target");
		else if (str_eq(k, "constraint"))
			rc = get_str(d, val, "constraint", &oc->constraint);
		else if (str_eq(k, "where"))
			rc = opt_expr(d, val, &oc->where);
		else if (str_eq(k, "set_where"))
			rc = opt_expr(d, val, &oc->set_where);
		else if (str_eq(k, "set"))
			rc = decode_set(d, val, &oc->set_names, &oc->set_values);
		else if (str_eq(k, "do")) {
			if (str_eq(val, "nothing"))
				oc->do_update = false;
			else if (str_eq(val, "update"))
				oc->do_update = true;
			else
				return fail(d, "do must be \"nothing\" or \"update\"");
			have_do = 1;
		} else
			return fail(d, "unknown on_conflict key");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (!have_do)
		oc->do_update = oc->set_values.n > 0;
	if (oc->do_update && !oc->set_values.n)
		return fail(d, "on_conflict \"do\": \"update\" needs a \"set\" list");
	if (oc->constraint && oc->ntarget)
		return fail(d, "on_conflict takes \"target\" or \"constraint\", not both");
	*out = oc;
	return 0;
}

static int decode_update(dec *d, mobj *o, ath_update *s)
{
	FOR_KEYS(d, o, i, k, v)
	{
		int rc = 0;
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "k"))
			;
		else if (str_eq(k, "table"))
			rc = decode_from(d, v, &s->table);
		else if (str_eq(k, "set")) {
			if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0)
				return fail(d, "set must be a non-empty array of [name, expr]");
			uint32_t n = v->via.array.size;
			s->set_names = ath_arena__zalloc(d->arena, n * sizeof *s->set_names);
			s->set_values.v = ath_arena__zalloc(d->arena, n * sizeof *s->set_values.v);
			if (!s->set_names || !s->set_values.v)
				return oom(d);
			s->set_values.n = n;
			for (uint32_t j = 0; j < n && !rc; j++) {
				mobj *pair = &v->via.array.ptr[j];
				path_idx(d, j);
				if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2)
					return fail(d, "each set entry is [name, expr]");
				path_idx(d, 0);
				if ((rc = get_str(d, &pair->via.array.ptr[0], "column name", &s->set_names[j])))
					return rc;
				path_pop(d);
				if ((rc = expr_at(d, pair, 1, &s->set_values.v[j])))
					return rc;
				path_pop(d);
			}
		} else if (str_eq(k, "from"))
			rc = opt_list(d, v, &s->from, decode_from);
		else if (str_eq(k, "where"))
			rc = opt_expr(d, v, &s->where);
		else if (str_eq(k, "returning"))
			rc = decode_returning(d, v, &s->returning);
		else if (str_eq(k, "with"))
			rc = decode_with(d, v, &s->with, &s->nwith);
		else if (str_eq(k, "order_by"))
			rc = opt_list(d, v, &s->order_by, decode_expr);
		else if (str_eq(k, "limit"))
			rc = opt_expr(d, v, &s->limit);
		else
			return unknown_key(d, "update");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (!s->table || s->table->kind != ATH_N_TABLE)
		return fail(d, "an update needs a \"table\": [\"table\", name]");
	if (!s->set_values.n)
		return fail(d, "an update needs a \"set\" list");
	return 0;
}

static int decode_delete(dec *d, mobj *o, ath_delete *s)
{
	FOR_KEYS(d, o, i, k, v)
	{
		int rc = 0;
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "k"))
			;
		else if (str_eq(k, "table"))
			rc = decode_from(d, v, &s->table);
		else if (str_eq(k, "using"))
			rc = opt_list(d, v, &s->using_, decode_from);
		else if (str_eq(k, "where"))
			rc = opt_expr(d, v, &s->where);
		else if (str_eq(k, "returning"))
			rc = decode_returning(d, v, &s->returning);
		else if (str_eq(k, "with"))
			rc = decode_with(d, v, &s->with, &s->nwith);
		else
			return unknown_key(d, "delete");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (!s->table || s->table->kind != ATH_N_TABLE)
		return fail(d, "a delete needs a \"table\": [\"table\", name]");
	return 0;
}

static int decode_text_stmt(dec *d, mobj *o, ath_node *n)
{
	mobj *sql = NULL, *binds = NULL;
	FOR_KEYS(d, o, i, k, v)
	{
		if (str_eq(k, "k"))
			;
		else if (str_eq(k, "sql"))
			sql = v;
		else if (str_eq(k, "binds"))
			binds = v;
		else if (str_eq(k, "columns"))
			; /* result typing, for the type system; accepted and not needed to run */
		else {
			path_key(d, k->via.str.ptr, k->via.str.size);
			return unknown_key(d, "text");
		}
	}
	if (!sql)
		return fail(d, "a text statement needs \"sql\"");
	return decode_text(d, sql, binds, 0, &n->u.text);
}

static int compound_kind(mobj *k)
{
	static const char *const names[] = { NULL, "union", "union_all", "intersect", "intersect_all", "except", "except_all" };
	for (int i = 1; i < 7; i++)
		if (str_eq(k, names[i]))
			return i;
	return 0;
}

static int decode_stmt(dec *d, mobj *o, ath_node **out)
{
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(d, "a statement must be a map with a \"k\" key, not %s", type_name(o));
	mobj *kind = NULL;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		mobj *k = &o->via.map.ptr[i].key;
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "statement keys must be strings");
		for (uint32_t j = 0; j < i; j++) /* a repeated key is ambiguous, not "last one wins" */
			if (o->via.map.ptr[j].key.via.str.size == k->via.str.size &&
			    (k->via.str.size == 0 || /* empty strings have no pointer to compare */
			     memcmp(o->via.map.ptr[j].key.via.str.ptr, k->via.str.ptr, k->via.str.size) == 0)) {
				path_key(d, k->via.str.ptr, k->via.str.size);
				return fail(d, "key given twice");
			}
		if (str_eq(k, "k"))
			kind = &o->via.map.ptr[i].val;
	}
	if (!kind || kind->type != MSGPACK_OBJECT_STR)
		return fail(d, "a statement needs a \"k\" string naming its kind");
	ath_node *n;
	int rc;
	if (str_eq(kind, "select")) {
		if (!(n = new_node(d, ATH_N_SELECT, 0)) || !(n->u.select = ath_arena__zalloc(d->arena, sizeof(ath_select))))
			return oom(d);
		rc = decode_select(d, o, n->u.select);
	} else if (compound_kind(kind)) {
		if (!(n = new_node(d, ATH_N_SELECT, 0)) || !(n->u.select = ath_arena__zalloc(d->arena, sizeof(ath_select))))
			return oom(d);
		n->u.select->compound = (uint8_t)compound_kind(kind);
		rc = decode_compound(d, o, n->u.select);
	} else if (str_eq(kind, "insert")) {
		if (!(n = new_node(d, ATH_N_INSERT, 0)) || !(n->u.insert = ath_arena__zalloc(d->arena, sizeof(ath_insert))))
			return oom(d);
		rc = decode_insert(d, o, n->u.insert);
	} else if (str_eq(kind, "update")) {
		if (!(n = new_node(d, ATH_N_UPDATE, 0)) || !(n->u.update = ath_arena__zalloc(d->arena, sizeof(ath_update))))
			return oom(d);
		rc = decode_update(d, o, n->u.update);
	} else if (str_eq(kind, "delete")) {
		if (!(n = new_node(d, ATH_N_DELETE, 0)) || !(n->u.del = ath_arena__zalloc(d->arena, sizeof(ath_delete))))
			return oom(d);
		rc = decode_delete(d, o, n->u.del);
	} else if (str_eq(kind, "text")) {
		if (!(n = new_node(d, ATH_N_TEXT_STMT, 0)))
			return oom(d);
		rc = decode_text_stmt(d, o, n);
	} else {
		path_key(d, "k", 1);
		return fail(d, "unknown statement kind \"%.*s\"", (int)(kind->via.str.size > 40 ? 40 : kind->via.str.size),
			    kind->via.str.ptr);
	}
	if (rc)
		return rc;
	*out = n;
	return 0;
}

int ath_wire__decode_statement(ath_node **out, const void *data, size_t len, const ath_wire_limits *lim,
			       msgpack_zone *zone, ath_arena *arena, ath_err *err)
{
	int rc = ath_wire__validate(data, len, lim, "shape", err);
	if (rc)
		return rc;
	msgpack_object root;
	size_t off = 0;
	msgpack_unpack_return ur = msgpack_unpack(data, len, &off, zone, &root);
	if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
		return ath_err__oom(err);
	if (ur != MSGPACK_UNPACK_SUCCESS)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "shape: not valid msgpack");
	dec d = { .arena = arena, .err = err };
	return decode_stmt(&d, &root, out);
}
