/* decode_expr.c — wire expressions ("[kind, operand, ...]") into AST nodes: one handler per
 * kind, looked up by name (docs/wire-format.md section 4), with their options (LIKE escape, window,
 * FILTER, affixes, casts, JSON access). Checks shapes only: names are resolved and dialect support
 * decided by the compiler. The wire counterpart of sqlalchemy/sql/elements.py's constructors. */
#include "decode_int.h"

#include <stdio.h>
#include <string.h>

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
	ath_node *n = ath_wire__new_node(d, ATH_N_COL, 0);
	if (!n)
		return oom(d);
	uint32_t argc = a->via.array.size - 1;
	path_idx(d, argc);
	if ((rc = ath_wire__get_str(d, &a->via.array.ptr[argc], "column name", &n->name)))
		return rc;
	path_pop(d);
	if (argc == 2) {
		path_idx(d, 1);
		if ((rc = ath_wire__get_str(d, &a->via.array.ptr[1], "FROM name", &n->qual)))
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
	ath_node *n = ath_wire__new_node(d, (ath_node_kind)kind, 0);
	if (!n)
		return oom(d);
	path_idx(d, 1);
	if ((rc = ath_wire__get_index(d, &a->via.array.ptr[1], &n->index)))
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
	ath_node *n = ath_wire__new_node(d, ATH_N_LIT, 0);
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
	*out = ath_wire__new_node(d, (ath_node_kind)kind, 0);
	return *out ? 0 : oom(d);
}

static int x_star(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	int rc = need_args(d, a, 0, 1, "an optional FROM name");
	if (rc)
		return rc;
	ath_node *n = ath_wire__new_node(d, ATH_N_STAR, 0);
	if (!n)
		return oom(d);
	if (a->via.array.size == 2) {
		path_idx(d, 1);
		if ((rc = ath_wire__get_str(d, &a->via.array.ptr[1], "FROM name", &n->qual)))
			return rc;
		path_pop(d);
	}
	*out = n;
	return 0;
}

/* ["columns_of", from]: a FROM name (table, alias, subquery or CTE) or a ["table", name, opts?]. */
static int x_columns_of(dec *d, mobj *a, uint32_t arg, ath_node **out)
{
	(void)arg;
	int rc = need_args(d, a, 1, 1, "a FROM name");
	if (rc)
		return rc;
	ath_node *n = ath_wire__new_node(d, ATH_N_COLUMNS_OF, 0);
	if (!n)
		return oom(d);
	mobj *f = &a->via.array.ptr[1];
	path_idx(d, 1);
	if (f->type == MSGPACK_OBJECT_ARRAY) {
		ath_node *t;
		if ((rc = ath_wire__from(d, f, &t)))
			return rc;
		if (t->kind != ATH_N_TABLE)
			return fail(d, "columns_of takes a FROM name or a [\"table\", name]");
		n->qual = t->name;
		n->name = t->qual; /* the table's schema */
	} else if ((rc = ath_wire__get_str(d, f, "FROM name", &n->qual))) {
		return rc;
	}
	path_pop(d);
	*out = n;
	return 0;
}

/* Operands 1..argc of `a` as kids of a new node. */
static int with_kids(dec *d, mobj *a, ath_node_kind kind, uint32_t first, uint32_t count, ath_node **out)
{
	ath_node *n = ath_wire__new_node(d, kind, count);
	if (!n)
		return oom(d);
	for (uint32_t i = 0; i < count; i++) {
		int rc = ath_wire__expr_at(d, a, first + i, &n->kids[i]);
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
			int rc = ath_wire__get_str(d, v, "escape", &n->name);
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
	ath_node *n = ath_wire__new_node(d, ATH_N_IN, 2);
	if (!n)
		return oom(d);
	n->flags = negated ? ATH_NF_NEGATED : 0;
	if ((rc = ath_wire__expr_at(d, a, 1, &n->kids[0])))
		return rc;
	mobj *list = &a->via.array.ptr[2];
	path_idx(d, 2);
	if (list->type == MSGPACK_OBJECT_MAP)
		rc = ath_wire__stmt(d, list, &n->kids[1]);
	else
		rc = ath_wire__expr(d, list, &n->kids[1]);
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
			rc = ath_wire__list(d, v, &w->partition_by, ath_wire__expr);
		else if (str_eq(k, "order_by"))
			rc = ath_wire__list(d, v, &w->order_by, ath_wire__expr);
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
			rc = ath_wire__expr(d, v, &f->filter);
		else if (str_eq(k, "over"))
			rc = decode_window(d, v, &f->over);
		else if (str_eq(k, "within_group"))
			rc = ath_wire__list(d, v, &f->within_group, ath_wire__expr);
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
	ath_node *n = ath_wire__new_node(d, ATH_N_FN, 0);
	if (!n)
		return oom(d);
	if (a->via.array.size >= 3) {
		path_idx(d, 2);
		ath_list args;
		if ((rc = ath_wire__list(d, &a->via.array.ptr[2], &args, ath_wire__expr)))
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
	if ((rc = ath_wire__get_str(d, &a->via.array.ptr[1], "function name", &n->name)))
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
	if ((rc = ath_wire__get_str(d, &a->via.array.ptr[1], "label", &(*out)->name)))
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

int ath_wire__text(dec *d, mobj *sql, mobj *binds, int as_array, ath_text **out)
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
			int rc = ath_wire__get_str(d, k, "bind name", &t->names[i]);
			if (rc)
				return rc;
			path_pop(d);
			path_key(d, k->via.str.ptr, k->via.str.size);
			if ((rc = ath_wire__expr(d, &binds->via.map.ptr[i].val, &t->values[i])))
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
	ath_node *n = ath_wire__new_node(d, ATH_N_TEXT, 0);
	if (!n)
		return oom(d);
	rc = ath_wire__text(d, &a->via.array.ptr[1], a->via.array.size == 3 ? &a->via.array.ptr[2] : NULL, 1, &n->u.text);
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
	ath_node *n = ath_wire__new_node(d, ATH_N_CASE, 2 * nw + has_else);
	if (!n)
		return oom(d);
	for (uint32_t i = 0; i < nw; i++) {
		mobj *pair = &whens->via.array.ptr[i];
		path_idx(d, i);
		if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2)
			return fail(d, "each CASE entry is [when, then]");
		if ((rc = ath_wire__expr_at(d, pair, 0, &n->kids[2 * i])) || (rc = ath_wire__expr_at(d, pair, 1, &n->kids[2 * i + 1])))
			return rc;
		path_pop(d);
	}
	path_pop(d);
	if (has_else) {
		if ((rc = ath_wire__expr_at(d, a, 2, &n->kids[2 * nw])))
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
	ath_node *n = ath_wire__new_node(d, kind == ATH_N_SCALAR ? ATH_N_SCALAR : ATH_N_EXISTS, 0);
	if (!n)
		return oom(d);
	if (kind == ATH_N__COUNT) /* not_exists */
		n->flags |= ATH_NF_NEGATED;
	ath_node *s;
	path_idx(d, 1);
	if ((rc = ath_wire__stmt(d, &a->via.array.ptr[1], &s)))
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
	int rc = ath_wire__get_str(d, o, what, out);
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
	if ((rc = ath_wire__get_str(d, &a->via.array.ptr[1], "operator", &opname)))
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
				if ((rc = ath_wire__get_str(d, v, "escape", &n->name)))
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
		if (!(*out = ath_wire__new_node(d, ATH_N_EXCLUDED, 0)))
			return oom(d);
	} else if ((rc = with_kids(d, a, (ath_node_kind)kind, kind == ATH_N_EXTRACT ? 2 : 1, 1, out))) {
		return rc;
	}
	path_idx(d, name_at);
	if (kind == ATH_N_EXTRACT)
		rc = get_word(d, &a->via.array.ptr[name_at], "EXTRACT field", &(*out)->name);
	else
		rc = ath_wire__get_str(d, &a->via.array.ptr[name_at], kind == ATH_N_EXCLUDED ? "column name" : "collation", &(*out)->name);
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
		return ath_wire__expr_at(d, a, 1, out);
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
	if ((rc = ath_wire__expr_at(d, a, 1, &value)))
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
	{ "columns_of", x_columns_of, 0 },
};

int ath_wire__expr(dec *d, mobj *o, ath_node **out)
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
