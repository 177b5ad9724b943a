/* decode.c — msgpack statement shapes into the AST (ast.h), following docs/wire-format.md: the
 * entry point, the operator table, the error path and the helpers every part shares. Expressions
 * are decode_expr.c's, FROM items decode_from.c's, statements decode_stmt.c's (decode_int.h).
 * Unknown kinds and keys are errors, never ignored; every error names the path of the node
 * ($.where[2][1]). Input is validated first (validate.c), so msgpack-c's allocations are bounded
 * by the input size. Does not resolve names or check dialect support: that is the compiler's. */
#include "decode_int.h"

#include <stdarg.h>
#include <stdio.h>

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
	/* ["op", "<->", l, r]: SQLAlchemy's custom_op, precedence 0 (always grouped). Its wire name
	 * is the public "op", which the expression-kind table claims first, so input can never reach
	 * this entry as a plain binary operator (an internal name here once could: fuzz_compile). */
	[ATH_OP_CUSTOM] = { "op", NULL, 0, 0, -1 },
	[ATH_OP_LIKE] = { "like", "LIKE", 5, ATH_OPF_COMPARISON, ATH_OP_NOT_LIKE },
	[ATH_OP_NOT_LIKE] = { "not_like", "NOT LIKE", 5, ATH_OPF_COMPARISON, ATH_OP_LIKE },
	[ATH_OP_ILIKE] = { "ilike", "ILIKE", 5, ATH_OPF_COMPARISON, ATH_OP_NOT_ILIKE },
	[ATH_OP_NOT_ILIKE] = { "not_ilike", "NOT ILIKE", 5, ATH_OPF_COMPARISON, ATH_OP_ILIKE },
};

int ath_wire__fail(dec *d, const char *fmt, ...)
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

/* A string operand as a NUL-terminated arena copy; NUL bytes inside are rejected. */
int ath_wire__get_str(dec *d, mobj *o, const char *what, const char **out)
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

int ath_wire__get_index(dec *d, mobj *o, uint32_t *out)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX - 1)
		return fail(d, "parameter index must be a non-negative integer");
	*out = (uint32_t)o->via.u64;
	return 0;
}

ath_node *ath_wire__new_node(dec *d, ath_node_kind kind, uint32_t nkids)
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

/* Decode o->via.array.ptr[at] as an expression, with the index on the path. */
int ath_wire__expr_at(dec *d, mobj *arr, uint32_t at, ath_node **out)
{
	path_idx(d, at);
	int rc = ath_wire__expr(d, &arr->via.array.ptr[at], out);
	if (rc == 0)
		path_pop(d);
	return rc;
}

/* An array of expressions (or FROM items) into a list. */
int ath_wire__list(dec *d, mobj *o, ath_list *out, int (*each)(dec *, mobj *, ath_node **))
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
	return ath_wire__stmt(&d, &root, out);
}

