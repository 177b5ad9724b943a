/* compile_expr.c — the generic visitor for every expression kind: columns, binds, literals,
 * operators with SQLAlchemy's precedence grouping and negation, LIKE/IN/BETWEEN, functions,
 * CASE, text fragments, subquery expressions; and the table mapping node kinds to visitors.
 * Dialects override single kinds through dialect->visit. Mirrors the visit_* expression methods
 * of sqlalchemy/sql/compiler.py (SQLCompiler). */
#include "compiler_int.h"
#include "types/typename.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


static int precedence(const ath_node *n, int *op)
{
	*op = OP_NONE;
	switch (n->kind) {
	case ATH_N_BINARY: *op = n->op; return ath_ops[n->op].precedence;
	case ATH_N_AND: *op = OP_AND; return ATH_PREC_AND;
	case ATH_N_OR: *op = OP_OR; return ATH_PREC_OR;
	case ATH_N_NOT: return ATH_PREC_NOT;
	case ATH_N_NEG: return ATH_PREC_NEG;
	case ATH_N_LIKE: return ath_ops[n->op].precedence;
	case ATH_N_IN:
	case ATH_N_BETWEEN: return ATH_PREC_COMPARE;
	case ATH_N_COLLATE: return ATH_PREC_COLLATE;
	/* SQLAlchemy's exists has precedence 0, so it is grouped inside any operator: a AND (EXISTS ..);
	 * NOT (EXISTS ..) is a NOT */
	case ATH_N_EXISTS: return n->flags & ATH_NF_NEGATED ? ATH_PREC_NOT : ATH_PREC_EXISTS;
	default: return ATH_PREC_ATOM;
	}
}

static int self_precedent(int op)
{
	return op == OP_AND || op == OP_OR || (op >= 0 && op < ATH_OP__COUNT && (ath_ops[op].flags & ATH_OPF_ASSOCIATIVE));
}

int ath_compiler__grouped(ath_compiler *c, const ath_node *n, int against_prec, int against_op)
{
	int op, prec = precedence(n, &op);
	int group = prec <= against_prec && !(op == against_op && self_precedent(op));
	if (group)
		ath_strbuf__putc(&c->sql, '(');
	int rc = visit(c, n);
	if (group)
		ath_strbuf__putc(&c->sql, ')');
	return rc;
}

static int visit_col(ath_compiler *c, const ath_node *n)
{
	int rc;
	if (n->qual && c->md) { /* SQLAlchemy raises AttributeError at build time; athanor when compiling */
		const ath_table *mt = ath_compiler__md_table(c, resolve_from(c, n->qual));
		if (mt && !ath_table__column(mt, n->name))
			return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "table '%.80s' has no column '%.80s'",
						  mt->name, n->name);
	}
	if (n->qual && !c->bare_columns) {
		const ath_node *f = resolve_from(c, n->qual);
		if (f && f->kind == ATH_N_TABLE)
			rc = table_name(c, f);
		else
			rc = ident(c, n->qual);
		if (rc)
			return rc;
		ath_strbuf__putc(&c->sql, '.');
	}
	return ident(c, n->name);
}

static int visit_columns_of(ath_compiler *c, const ath_node *n)
{
	(void)n;
	return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
				  "columns_of is only allowed as an entry of a columns clause or RETURNING");
}

static int visit_bind(ath_compiler *c, const ath_node *n)
{
	if (c->tnode == n)
		c->pend = c->tcol;
	return add_bind(c, n->index, c->bind_flags, 0);
}

/* Visit `n` with `typed` as the column a bind or expanding list `n` takes its type from
 * (SQLAlchemy's bind type inference: the other side of a comparison, the target column). */
int ath_compiler__typed_visit(ath_compiler *c, const ath_node *n, const ath_bindcol *typed, int prec, int op)
{
	const ath_node *saved_node = c->tnode;
	ath_bindcol saved = c->tcol;
	if (typed && typed->type && (n->kind == ATH_N_BIND || n->kind == ATH_N_EXPANDING)) {
		c->tnode = n;
		c->tcol = *typed;
	}
	int rc = ath_compiler__grouped(c, n, prec, op);
	c->tnode = saved_node;
	c->tcol = saved;
	return rc;
}

static int is_comparison(int op)
{
	return (op >= ATH_OP_EQ && op <= ATH_OP_GE) || op == ATH_OP_IS_DISTINCT_FROM || op == ATH_OP_IS_NOT_DISTINCT_FROM;
}

static int is_arithmetic(int op) { return op >= ATH_OP_ADD && op <= ATH_OP_CONCAT; }

/* SQLAlchemy's ReturnTypeFromArgs functions (and the dialects' two-argument spellings): the type
 * of their first typed argument is theirs, and their binds'. */
static int returns_arg_type(const char *name)
{
	static const char *const names[] = { "coalesce", "nullif", "ifnull", "greatest", "least", "max", "min", "sum" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcasecmp(name, names[i]) == 0)
			return 1;
	return 0;
}

static ath_bindcol operands_type(ath_compiler *c, const ath_node *const *kids, uint32_t n, int depth);

static ath_bindcol expr_type(ath_compiler *c, const ath_node *e, int depth)
{
	ath_bindcol none = { 0 };
	if (!c->md || depth > 16)
		return none;
	if (e->kind == ATH_N_LABEL)
		e = e->kids[0];
	if (e->kind == ATH_N_COL || e->kind == ATH_N_CAST)
		return ath_compiler__typeof(c, e);
	if (e->kind == ATH_N_FN && returns_arg_type(e->name))
		return operands_type(c, (const ath_node *const *)e->kids, e->n, depth + 1);
	if (e->kind != ATH_N_BINARY || !is_arithmetic(e->op))
		return none;
	/* numbers and strings keep their type through arithmetic; a date's or an interval's result
	 * type depends on the other operand's value (SQLAlchemy's coerce_compared_value), so stays open */
	ath_bindcol t = operands_type(c, (const ath_node *const *)e->kids, e->n, depth + 1);
	switch (t.type ? t.type->kind : ATH_T_DIALECT) {
	case ATH_T_INTEGER: case ATH_T_BIGINT: case ATH_T_SMALLINT: case ATH_T_FLOAT: case ATH_T_DOUBLE:
	case ATH_T_NUMERIC: case ATH_T_STRING: case ATH_T_TEXT: case ATH_T_UNICODE: case ATH_T_UNICODE_TEXT:
		t.arith = 1;
		return t;
	default: return none;
	}
}

/* The first typed operand, for the binds among the others. */
static ath_bindcol operands_type(ath_compiler *c, const ath_node *const *kids, uint32_t n, int depth)
{
	ath_bindcol t = { 0 };
	for (uint32_t i = 0; i < n && !t.type; i++)
		if (kids[i]->kind != ATH_N_BIND && kids[i]->kind != ATH_N_EXPANDING)
			t = expr_type(c, kids[i], depth);
	return t;
}

ath_bindcol ath_compiler__expr_type(ath_compiler *c, const ath_node *e) { return expr_type(c, e, 0); }

static int visit_expanding(ath_compiler *c, const ath_node *n)
{
	/* Only valid as the list of IN; visit_in handles it. */
	return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
				  "[\"expanding\", %u] can only be the list of an IN", n->index);
}

/* repr()-like shortest round-tripping float text */
static void put_double(ath_strbuf *b, double v)
{
	char buf[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	ath_strbuf__puts(b, buf);
	if (!strpbrk(buf, ".eEn"))
		ath_strbuf__puts(b, ".0");
}

int ath_compiler__string_literal(ath_compiler *c, const char *s, size_t n)
{
	if (memchr(s, '\0', n))
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "a literal string cannot contain a NUL byte");
	ath_strbuf__putc(&c->sql, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			ath_strbuf__putc(&c->sql, '\'');
		else if (s[i] == '\\' && c->d->backslash_escapes)
			ath_strbuf__putc(&c->sql, '\\');
		ath_strbuf__putc(&c->sql, s[i]);
	}
	ath_strbuf__putc(&c->sql, '\'');
	return 0;
}

/* [+-]digits[.digits][(e|E)[+-]digits] or [+-].digits...: nothing else may be inlined. */
static int is_decimal(const char *p, uint32_t n)
{
	uint32_t i = 0, digits = 0;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++, digits++;
	if (i < n && p[i] == '.') {
		i++;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++, digits++;
	}
	if (!digits)
		return 0;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		uint32_t exp = 0;
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		while (i < n && p[i] >= '0' && p[i] <= '9')
			i++, exp++;
		if (!exp)
			return 0;
	}
	return i == n;
}

static int visit_lit(ath_compiler *c, const ath_node *n)
{
	const msgpack_object *v = n->value;
	switch (v->type) {
	case MSGPACK_OBJECT_NIL: ath_compiler__puts(c, "NULL"); return 0;
	case MSGPACK_OBJECT_BOOLEAN:
		ath_compiler__puts(c, c->d->native_boolean ? (v->via.boolean ? "true" : "false") : (v->via.boolean ? "1" : "0"));
		return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: ath_strbuf__printf(&c->sql, "%" PRIu64, v->via.u64); return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: ath_strbuf__printf(&c->sql, "%" PRId64, v->via.i64); return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (v->via.f64 != v->via.f64 || v->via.f64 - v->via.f64 != 0)
			return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "cannot render a non-finite float literal");
		put_double(&c->sql, v->via.f64);
		return 0;
	case MSGPACK_OBJECT_STR: return put_string_literal(c, v->via.str.ptr, v->via.str.size);
	case MSGPACK_OBJECT_EXT:
		if (v->via.ext.type == 2) { /* decimal: inlined verbatim only when it is a number */
			if (!is_decimal(v->via.ext.ptr, v->via.ext.size))
				return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
							  "malformed decimal literal: expected [+-]digits[.digits][e[+-]digits]");
			ath_strbuf__put(&c->sql, v->via.ext.ptr, v->via.ext.size);
			return 0;
		}
		if (v->via.ext.type >= 3 && v->via.ext.type <= 5)
			return put_string_literal(c, v->via.ext.ptr, v->via.ext.size);
		break;
	default: break;
	}
	return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
				  "cannot render this literal value inline; bind it as a parameter instead");
}

static int visit_const(ath_compiler *c, const ath_node *n)
{
	switch (n->kind) {
	case ATH_N_NULL: ath_compiler__puts(c, "NULL"); break;
	case ATH_N_TRUE: ath_compiler__puts(c, c->d->native_boolean ? "true" : "1"); break;
	case ATH_N_FALSE: ath_compiler__puts(c, c->d->native_boolean ? "false" : "0"); break;
	default: break;
	}
	return 0;
}

static int visit_star(ath_compiler *c, const ath_node *n)
{
	if (n->qual) {
		const ath_node *f = resolve_from(c, n->qual);
		int rc = f && f->kind == ATH_N_TABLE ? table_name(c, f) : ident(c, n->qual);
		if (rc)
			return rc;
		ath_strbuf__putc(&c->sql, '.');
	}
	ath_strbuf__putc(&c->sql, '*');
	return 0;
}

static int visit_binary(ath_compiler *c, const ath_node *n)
{
	const ath_op_info *op = &ath_ops[n->op];
	const char *sql = op->sql;
	if (n->op == ATH_OP_CUSTOM)
		sql = n->name;
	else if (n->op == ATH_OP_REGEXP || n->op == ATH_OP_NOT_REGEXP) {
		sql = n->op == ATH_OP_REGEXP ? c->d->regexp_op : c->d->not_regexp_op;
		if (!sql)
			return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "regular expression matching is not supported by the %s dialect", c->d->name);
	}
	ath_bindcol typed = { 0 };
	if (c->md && is_comparison(n->op))
		typed = operands_type(c, (const ath_node *const *)n->kids, n->n, 0);
	else if (c->md && is_arithmetic(n->op))
		typed = ath_compiler__expr_type(c, n);
	for (uint32_t i = 0; i < n->n; i++) {
		if (i) {
			ath_strbuf__putc(&c->sql, ' ');
			ath_compiler__puts(c, sql);
			ath_strbuf__putc(&c->sql, ' ');
		}
		int rc = ath_compiler__typed_visit(c, n->kids[i], &typed, op->precedence, n->op);
		if (rc)
			return rc;
	}
	return 0;
}

static int visit_boolean(ath_compiler *c, const ath_node *n)
{
	int is_and = n->kind == ATH_N_AND;
	for (uint32_t i = 0; i < n->n; i++) {
		if (i)
			ath_compiler__puts(c, is_and ? " AND " : " OR ");
		int rc = ath_compiler__grouped(c, n->kids[i], is_and ? ATH_PREC_AND : ATH_PREC_OR, is_and ? OP_AND : OP_OR);
		if (rc)
			return rc;
	}
	return 0;
}

/* NOT: negate comparisons, IN, BETWEEN, LIKE and EXISTS by their opposite form, as
 * SQLAlchemy's _negate() does; anything else becomes NOT (...). */
static int visit_not(ath_compiler *c, const ath_node *n)
{
	const ath_node *e = n->kids[0];
	ath_node neg = *e;
	switch (e->kind) {
	case ATH_N_BINARY:
	case ATH_N_LIKE:
		if (ath_ops[e->op].negate >= 0) {
			neg.op = (uint8_t)ath_ops[e->op].negate;
			return visit(c, &neg);
		}
		break;
	case ATH_N_IN:
	case ATH_N_BETWEEN:
	case ATH_N_EXISTS:
		neg.flags ^= ATH_NF_NEGATED;
		return visit(c, &neg);
	case ATH_N_NOT: return visit(c, e->kids[0]);
	default: break;
	}
	ath_compiler__puts(c, "NOT ");
	return ath_compiler__grouped(c, e, ATH_PREC_NOT, OP_NONE);
}

static int visit_neg(ath_compiler *c, const ath_node *n)
{
	ath_strbuf__putc(&c->sql, '-');
	size_t at = c->sql.len;
	int rc = ath_compiler__grouped(c, n->kids[0], ATH_PREC_NEG, OP_NONE);
	/* "--" starts an SQL comment: an operand that renders with a leading minus (a negative
	 * literal, a nested negation) is set apart by a space */
	if (!rc && !c->sql.oom && c->sql.len > at && c->sql.ptr[at] == '-') {
		ath_strbuf__putc(&c->sql, ' ');
		if (!c->sql.oom) {
			memmove(c->sql.ptr + at + 1, c->sql.ptr + at, c->sql.len - at - 1);
			c->sql.ptr[at] = ' ';
		}
	}
	return rc;
}

static int visit_like(ath_compiler *c, const ath_node *n)
{
	int ilike = n->op == ATH_OP_ILIKE || n->op == ATH_OP_NOT_ILIKE;
	int rc;
	if (ilike && !c->d->supports_ilike) { /* lower(x) LIKE lower(y), as SQLAlchemy renders it */
		ath_compiler__puts(c, "lower(");
		if ((rc = visit(c, n->kids[0])))
			return rc;
		ath_compiler__puts(c, n->op == ATH_OP_ILIKE ? ") LIKE lower(" : ") NOT LIKE lower(");
		if ((rc = visit(c, n->kids[1])))
			return rc;
		ath_strbuf__putc(&c->sql, ')');
	} else {
		if ((rc = ath_compiler__grouped(c, n->kids[0], ATH_PREC_COMPARE, n->op)))
			return rc;
		ath_strbuf__putc(&c->sql, ' ');
		ath_compiler__puts(c, ath_ops[n->op].sql);
		ath_strbuf__putc(&c->sql, ' ');
		if ((rc = ath_compiler__grouped(c, n->kids[1], ATH_PREC_COMPARE, n->op)))
			return rc;
	}
	if (n->name) {
		ath_compiler__puts(c, " ESCAPE ");
		return put_string_literal(c, n->name, strlen(n->name));
	}
	return 0;
}

static int visit_in(ath_compiler *c, const ath_node *n)
{
	int negated = n->flags & ATH_NF_NEGATED;
	const ath_node *list = n->kids[1];
	int rc;
	if (negated) /* SQLAlchemy groups NOT IN: (x NOT IN (...)) */
		ath_strbuf__putc(&c->sql, '(');
	if ((rc = ath_compiler__grouped(c, n->kids[0], ATH_PREC_COMPARE, OP_NONE)))
		return rc;
	ath_compiler__puts(c, negated ? " NOT IN (" : " IN (");
	if (list->kind == ATH_N_EXPANDING) {
		uint16_t arity = n->kids[0]->kind == ATH_N_TUPLE ? (uint16_t)n->kids[0]->n : 0;
		if (c->md && n->kids[0]->kind == ATH_N_COL)
			c->pend = ath_compiler__typeof(c, n->kids[0]);
		rc = add_bind(c, list->index, ATH_BIND_EXPANDING | (negated ? ATH_BIND_NOT_IN : 0), arity);
	} else if (list->kind == ATH_N_TUPLE) {
		for (uint32_t i = 0; i < list->n && !rc; i++) {
			if (i)
				ath_compiler__puts(c, ", ");
			rc = visit(c, list->kids[i]);
		}
	} else {
		rc = compile_select(c, list->u.select, c->scope);
	}
	if (rc)
		return rc;
	ath_strbuf__putc(&c->sql, ')');
	if (negated)
		ath_strbuf__putc(&c->sql, ')');
	return 0;
}

static int visit_between(ath_compiler *c, const ath_node *n)
{
	int rc;
	if ((rc = ath_compiler__grouped(c, n->kids[0], ATH_PREC_COMPARE, OP_NONE)))
		return rc;
	ath_compiler__puts(c, n->flags & ATH_NF_NEGATED ? " NOT BETWEEN " : " BETWEEN ");
	if (n->flags & ATH_NF_SYMMETRIC)
		ath_compiler__puts(c, "SYMMETRIC ");
	ath_bindcol typed = { 0 };
	if (c->md && n->kids[0]->kind == ATH_N_COL)
		typed = ath_compiler__typeof(c, n->kids[0]);
	if ((rc = ath_compiler__typed_visit(c, n->kids[1], &typed, ATH_PREC_COMPARE, OP_NONE)))
		return rc;
	ath_compiler__puts(c, " AND ");
	return ath_compiler__typed_visit(c, n->kids[2], &typed, ATH_PREC_COMPARE, OP_NONE);
}

/* ANSI functions that render as a bare keyword when called without arguments. */
static const char *const ansi_keywords[] = { "current_date", "current_time", "current_timestamp", "current_user",
					     "localtime", "localtimestamp", "session_user", "user" };

static int function_name(ath_compiler *c, const char *name)
{
	/* Dotted names ("pg_catalog.now"): each part quoted when it has characters that need it. */
	char part[256];
	const char *p = name;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len >= sizeof part)
			return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "invalid function name '%.80s'", name);
		memcpy(part, p, len);
		part[len] = '\0';
		int legal = isalpha((unsigned char)part[0]) || part[0] == '_';
		for (size_t i = 0; i < len && legal; i++)
			legal = isalnum((unsigned char)part[i]) || part[i] == '_' || part[i] == '$';
		if (legal)
			ath_strbuf__put(&c->sql, part, len);
		else if (ident(c, part))
			return -1;
		if (!dot)
			return 0;
		ath_strbuf__putc(&c->sql, '.');
		p = dot + 1;
	}
}

static int visit_fn_call(ath_compiler *c, const ath_node *n)
{
	char lower[64];
	size_t len = strlen(n->name);
	if (len < sizeof lower) {
		for (size_t i = 0; i <= len; i++)
			lower[i] = (char)tolower((unsigned char)n->name[i]);
		const char *special = c->d->function_sql ? c->d->function_sql(lower, n->n) : NULL;
		if (special) {
			ath_compiler__puts(c, special);
			return 0;
		}
		if (n->n == 0)
			for (size_t i = 0; i < sizeof ansi_keywords / sizeof *ansi_keywords; i++)
				if (strcmp(lower, ansi_keywords[i]) == 0) {
					for (size_t j = 0; j < len; j++)
						ath_strbuf__putc(&c->sql, (char)toupper((unsigned char)lower[j]));
					return 0;
				}
	}
	int rc = function_name(c, n->name);
	if (rc)
		return rc;
	ath_strbuf__putc(&c->sql, '(');
	if (n->n == 0 && len < sizeof lower && strcmp(lower, "count") == 0)
		ath_strbuf__putc(&c->sql, '*');
	ath_bindcol typed = ath_compiler__expr_type(c, n);
	for (uint32_t i = 0; i < n->n; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		if ((rc = ath_compiler__typed_visit(c, n->kids[i], &typed, INT_MIN, OP_NONE)))
			return rc;
	}
	ath_strbuf__putc(&c->sql, ')');
	return 0;
}


/* contains / startswith / endswith: (x LIKE '%' || ? || '%') (concat() where the dialect's ||
 * differs: the concatenation is visited as a BINARY node, so dialect hooks apply). SQLAlchemy's
 * contains_op has no precedence entry, so the whole is always parenthesised, even alone. */
static int visit_affix(ath_compiler *c, const ath_node *n)
{
	static const msgpack_object pct = { .type = MSGPACK_OBJECT_STR, .via.str = { 1, "%" } };
	ath_node lit = { .kind = ATH_N_LIT, .value = &pct };
	ath_node *inner[2], *outer[2];
	ath_node first = { .kind = ATH_N_BINARY, .op = ATH_OP_CONCAT, .n = 2, .kids = inner };
	ath_node whole = { .kind = ATH_N_BINARY, .op = ATH_OP_CONCAT, .n = 2, .kids = outer };
	const ath_node *pattern;
	ath_node *value = n->kids[1];
	switch (n->op) {
	case ATH_AFFIX_STARTSWITH:
		inner[0] = value, inner[1] = &lit;
		pattern = &first;
		break;
	case ATH_AFFIX_ENDSWITH:
		inner[0] = &lit, inner[1] = value;
		pattern = &first;
		break;
	default: /* ('%' || v) || '%': SQLAlchemy builds it left to right */
		inner[0] = &lit, inner[1] = value;
		outer[0] = &first, outer[1] = &lit;
		pattern = &whole;
		break;
	}
	ath_strbuf__putc(&c->sql, '(');
	int rc = ath_compiler__grouped(c, n->kids[0], ATH_PREC_COMPARE, ATH_OP_LIKE);
	if (rc)
		return rc;
	ath_compiler__puts(c, n->flags & ATH_NF_NEGATED ? " NOT LIKE " : " LIKE ");
	if (value->kind == ATH_N_BIND && (n->flags & ATH_NF_AUTOESCAPE)) {
		/* the bind carries the escaping: render.c escapes '%', '_' and '/' in the value */
		c->bind_flags = ATH_BIND_AUTOESCAPE;
		rc = visit(c, pattern);
		c->bind_flags = 0;
	} else {
		rc = visit(c, pattern);
	}
	if (rc)
		return rc;
	if (n->flags & ATH_NF_AUTOESCAPE)
		ath_compiler__puts(c, " ESCAPE '/'");
	else if (n->name) {
		ath_compiler__puts(c, " ESCAPE ");
		rc = put_string_literal(c, n->name, strlen(n->name));
	}
	ath_strbuf__putc(&c->sql, ')');
	return rc;
}

static int visit_excluded(ath_compiler *c, const ath_node *n)
{
	ath_compiler__puts(c, "excluded.");
	return ident(c, n->name);
}

static int visit_cast(ath_compiler *c, const ath_node *n)
{
	char err[160];
	ath_strbuf tn = { 0 };
	int rc = ath_typename__cast(&tn, n->value, c->d->type_family, c->d->name, err, sizeof err);
	if (rc < 0) {
		ath_strbuf__free(&tn);
		return ath_compiler__fail(c, rc == ATH_TYPENAME_UNSUPPORTED ? ATH_ERRCLASS_NOT_SUPPORTED_ERROR
									   : ATH_ERRCLASS_COMPILE_ERROR, "CAST: %s", err);
	}
	if (rc == ATH_TYPENAME_SKIP_CAST) { /* SQLAlchemy warns and renders the bare expression */
		ath_strbuf__free(&tn);
		return visit(c, n->kids[0]);
	}
	ath_compiler__puts(c, "CAST(");
	rc = visit(c, n->kids[0]);
	ath_compiler__puts(c, " AS ");
	ath_compiler__puts(c, tn.oom ? "" : ath_strbuf__cstr(&tn));
	ath_strbuf__putc(&c->sql, ')');
	if (tn.oom)
		rc = oom(c);
	ath_strbuf__free(&tn);
	return rc;
}

static int visit_extract(ath_compiler *c, const ath_node *n)
{
	ath_compiler__puts(c, "EXTRACT(");
	ath_compiler__puts(c, n->name);
	ath_compiler__puts(c, " FROM ");
	int rc = visit(c, n->kids[0]);
	ath_strbuf__putc(&c->sql, ')');
	return rc;
}

static int visit_collate(ath_compiler *c, const ath_node *n)
{
	int rc = ath_compiler__grouped(c, n->kids[0], ATH_PREC_COLLATE, OP_NONE);
	if (rc)
		return rc;
	ath_compiler__puts(c, " COLLATE ");
	return ident(c, n->name);
}

static int need_arrays(ath_compiler *c, const char *what)
{
	if (c->d->supports_arrays)
		return 0;
	return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR, "%s is not supported by the %s dialect", what,
				  c->d->name);
}

static int visit_any(ath_compiler *c, const ath_node *n)
{
	int rc = need_arrays(c, n->op ? "ALL (array)" : "ANY (array)");
	if (rc)
		return rc;
	ath_compiler__puts(c, n->op ? "ALL (" : "ANY (");
	rc = visit(c, n->kids[0]);
	ath_strbuf__putc(&c->sql, ')');
	return rc;
}

static int visit_index(ath_compiler *c, const ath_node *n)
{
	int rc = need_arrays(c, n->n == 3 ? "an array slice" : "an array index");
	if (rc || (rc = ath_compiler__grouped(c, n->kids[0], GROUP_ALL, OP_NONE)))
		return rc;
	ath_strbuf__putc(&c->sql, '[');
	if ((rc = visit(c, n->kids[1])))
		return rc;
	if (n->n == 3) {
		ath_strbuf__putc(&c->sql, ':');
		if ((rc = visit(c, n->kids[2])))
			return rc;
	}
	ath_strbuf__putc(&c->sql, ']');
	return 0;
}

/* JSON access, PostgreSQL's operators: -> ->> #> #>>. Other dialects hook ATH_N_JSON. The key
 * of a path is bound as PostgreSQL's text-array literal ('{a, 1}'), as SQLAlchemy's
 * JSONPathType does. */
static int visit_json(ath_compiler *c, const ath_node *n)
{
	static const char *const ops[] = { " -> ", " ->> ", " #> ", " #>> " };
	int rc = ath_compiler__grouped(c, n->kids[0], GROUP_ALL, OP_NONE);
	if (rc)
		return rc;
	ath_compiler__puts(c, ops[n->op]);
	return ath_compiler__json_key(c, n, n->op >= ATH_JSON_PATH ? ATH_BIND_PG_PATH : 0);
}

int ath_compiler__json_key(ath_compiler *c, const ath_node *n, uint16_t flags)
{
	const ath_node *k = n->kids[1];
	if (k->kind == ATH_N_LIT && flags == ATH_BIND_JSON_PATH) { /* a literal key: the path text inline */
		const msgpack_object *v = k->value;
		char buf[300];
		if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			snprintf(buf, sizeof buf, "$[%" PRIu64 "]", v->via.u64);
		else if (v->type == MSGPACK_OBJECT_STR && v->via.str.size < 256 && !memchr(v->via.str.ptr, '"', v->via.str.size))
			snprintf(buf, sizeof buf, "$.\"%.*s\"", (int)v->via.str.size, v->via.str.ptr);
		else
			return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
						  "a literal JSON key must be a short string without '\"' or an integer; bind it instead");
		return put_string_literal(c, buf, strlen(buf));
	}
	c->bind_flags = flags;
	int rc = visit(c, n->kids[1]);
	c->bind_flags = 0;
	return rc;
}

/* Frame bound text: UNBOUNDED PRECEDING, 2 PRECEDING, CURRENT ROW, 3 FOLLOWING. */
static void frame_bound(ath_compiler *c, int unbounded, int64_t v, int lower)
{
	if (unbounded)
		ath_compiler__puts(c, lower ? "UNBOUNDED PRECEDING" : "UNBOUNDED FOLLOWING");
	else if (v == 0)
		ath_compiler__puts(c, "CURRENT ROW");
	else
		ath_strbuf__printf(&c->sql, "%" PRId64 " %s", v < 0 ? -v : v, v < 0 ? "PRECEDING" : "FOLLOWING");
}

static int window(ath_compiler *c, const ath_window *w)
{
	int rc = 0;
	const char *sep = "";
	ath_compiler__puts(c, " OVER (");
	if (w->partition_by.n) {
		ath_compiler__puts(c, "PARTITION BY ");
		if ((rc = ath_compiler__expr_list(c, &w->partition_by)))
			return rc;
		sep = " ";
	}
	if (w->order_by.n) {
		ath_compiler__puts(c, sep);
		ath_compiler__puts(c, "ORDER BY ");
		if ((rc = ath_compiler__expr_list(c, &w->order_by)))
			return rc;
		sep = " ";
	}
	if (w->frame) {
		ath_compiler__puts(c, sep);
		ath_compiler__puts(c, w->frame == 1 ? "ROWS BETWEEN " : "RANGE BETWEEN ");
		frame_bound(c, w->lo_unbounded, w->lo, 1);
		ath_compiler__puts(c, " AND ");
		frame_bound(c, w->hi_unbounded, w->hi, 0);
	}
	ath_strbuf__putc(&c->sql, ')');
	return 0;
}

/* FILTER (WHERE cond) where the dialect has it; else each argument becomes
 * CASE WHEN cond THEN arg END (count(*) counts CASE WHEN cond THEN 1 END). */
static int fn_with_filter_emulated(ath_compiler *c, const ath_node *n, const ath_node *cond)
{
	int rc = function_name(c, n->name);
	if (rc)
		return rc;
	ath_strbuf__putc(&c->sql, '(');
	static const msgpack_object one = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 1 };
	ath_node lit1 = { .kind = ATH_N_LIT, .value = &one };
	uint32_t nargs = n->n ? n->n : 1;
	for (uint32_t i = 0; i < nargs; i++) {
		const ath_node *arg = n->n ? n->kids[i] : &lit1;
		int distinct = arg->kind == ATH_N_DISTINCT;
		if (i)
			ath_compiler__puts(c, ", ");
		if (distinct) {
			ath_compiler__puts(c, "DISTINCT ");
			arg = arg->kids[0];
		}
		ath_compiler__puts(c, "CASE WHEN ");
		if ((rc = ath_compiler__grouped(c, cond, GROUP_ALL, OP_NONE)))
			return rc;
		ath_compiler__puts(c, " THEN ");
		if ((rc = visit(c, arg)))
			return rc;
		ath_compiler__puts(c, " END");
	}
	ath_strbuf__putc(&c->sql, ')');
	return 0;
}

static int visit_fn(ath_compiler *c, const ath_node *n)
{
	const ath_fnopts *o = n->u.fn;
	if (!o)
		return visit_fn_call(c, n);
	int rc;
	if (o->filter && !c->d->supports_filter)
		rc = fn_with_filter_emulated(c, n, o->filter);
	else
		rc = visit_fn_call(c, n);
	if (rc)
		return rc;
	if (o->within_group.n) {
		ath_compiler__puts(c, " WITHIN GROUP (ORDER BY ");
		if ((rc = ath_compiler__expr_list(c, &o->within_group)))
			return rc;
		ath_strbuf__putc(&c->sql, ')');
	}
	if (o->filter && c->d->supports_filter) {
		ath_compiler__puts(c, " FILTER (WHERE ");
		if ((rc = visit(c, o->filter)))
			return rc;
		ath_strbuf__putc(&c->sql, ')');
	}
	if (o->over)
		rc = window(c, o->over);
	return rc;
}

static int visit_label(ath_compiler *c, const ath_node *n)
{
	/* A label outside a columns clause renders as its expression (SQLAlchemy does the same). */
	return visit(c, n->kids[0]);
}

/* :name markers, as sqlalchemy.sql.elements.TextClause._bind_params_regex
 * (?<![:\w\\]):(\w+)(?!:) — so "::int" casts and "\:" escapes pass through. */
static int is_word(unsigned char ch) { return isalnum(ch) || ch == '_' || ch >= 0x80; }

int ath_compiler__text(ath_compiler *c, const ath_node *n)
{
	const ath_text *t = n->u.text;
	const char *s = t->sql;
	size_t len = strlen(s);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && s[i + 1] == ':') {
			ath_strbuf__putc(&c->sql, ':');
			i++;
			continue;
		}
		if (s[i] == ':' && i + 1 < len && is_word((unsigned char)s[i + 1]) &&
		    (i == 0 || (s[i - 1] != ':' && !is_word((unsigned char)s[i - 1])))) {
			size_t j = i + 1;
			while (j < len && is_word((unsigned char)s[j]))
				j++;
			if (j < len && s[j] == ':') { /* followed by ':' : not a bind */
				ath_strbuf__put(&c->sql, s + i, j - i);
				i = j - 1;
				continue;
			}
			uint32_t k;
			for (k = 0; k < t->n; k++)
				if (strlen(t->names[k]) == j - i - 1 && memcmp(t->names[k], s + i + 1, j - i - 1) == 0)
					break;
			if (k == t->n)
				return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
							  "text() refers to :%.*s but no bind of that name was given",
							  (int)(j - i - 1 > 64 ? 64 : j - i - 1), s + i + 1);
			int rc = visit(c, t->values[k]);
			if (rc)
				return rc;
			i = j - 1;
			continue;
		}
		ath_strbuf__putc(&c->sql, s[i]);
	}
	return 0;
}

static int visit_tuple(ath_compiler *c, const ath_node *n)
{
	ath_strbuf__putc(&c->sql, '(');
	for (uint32_t i = 0; i < n->n; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		int rc = visit(c, n->kids[i]);
		if (rc)
			return rc;
	}
	ath_strbuf__putc(&c->sql, ')');
	return 0;
}

static int visit_distinct(ath_compiler *c, const ath_node *n)
{
	ath_compiler__puts(c, "DISTINCT ");
	return visit(c, n->kids[0]);
}

static int visit_case(ath_compiler *c, const ath_node *n)
{
	int has_else = n->flags & ATH_NF_HAS_ELSE;
	uint32_t first = n->flags & ATH_NF_HAS_VALUE ? 1 : 0;
	uint32_t pairs = (n->n - first - (has_else ? 1 : 0)) / 2;
	ath_compiler__puts(c, "CASE");
	if (first) {
		ath_strbuf__putc(&c->sql, ' ');
		int rc = visit(c, n->kids[0]);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < pairs; i++) {
		int rc;
		ath_compiler__puts(c, " WHEN ");
		if ((rc = ath_compiler__grouped(c, n->kids[first + 2 * i], GROUP_ALL, OP_NONE)))
			return rc;
		ath_compiler__puts(c, " THEN ");
		if ((rc = visit(c, n->kids[first + 2 * i + 1])))
			return rc;
	}
	if (has_else) {
		ath_compiler__puts(c, " ELSE ");
		int rc = visit(c, n->kids[n->n - 1]);
		if (rc)
			return rc;
	}
	ath_compiler__puts(c, " END");
	return 0;
}

static int visit_order(ath_compiler *c, const ath_node *n)
{
	static const char *const suffix[] = { " ASC", " DESC", " NULLS FIRST", " NULLS LAST" };
	int rc = visit(c, n->kids[0]);
	if (!rc)
		ath_compiler__puts(c, suffix[n->op]);
	return rc;
}

static int visit_scalar(ath_compiler *c, const ath_node *n)
{
	ath_strbuf__putc(&c->sql, '(');
	int rc = compile_select(c, n->u.select, c->scope);
	ath_strbuf__putc(&c->sql, ')');
	return rc;
}

static int visit_exists(ath_compiler *c, const ath_node *n)
{
	ath_compiler__puts(c, n->flags & ATH_NF_NEGATED ? "NOT (EXISTS (" : "EXISTS (");
	int rc = compile_select(c, n->u.select, c->scope);
	ath_compiler__puts(c, n->flags & ATH_NF_NEGATED ? "))" : ")");
	return rc;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

const ath_visit_fn ath_compiler__generic[ATH_N__COUNT] = {
	[ATH_N_COL] = visit_col,
	[ATH_N_COLUMNS_OF] = visit_columns_of,
	[ATH_N_BIND] = visit_bind,
	[ATH_N_EXPANDING] = visit_expanding,
	[ATH_N_LIT] = visit_lit,
	[ATH_N_NULL] = visit_const,
	[ATH_N_TRUE] = visit_const,
	[ATH_N_FALSE] = visit_const,
	[ATH_N_STAR] = visit_star,
	[ATH_N_BINARY] = visit_binary,
	[ATH_N_AND] = visit_boolean,
	[ATH_N_OR] = visit_boolean,
	[ATH_N_NOT] = visit_not,
	[ATH_N_NEG] = visit_neg,
	[ATH_N_LIKE] = visit_like,
	[ATH_N_IN] = visit_in,
	[ATH_N_BETWEEN] = visit_between,
	[ATH_N_FN] = visit_fn,
	[ATH_N_LABEL] = visit_label,
	[ATH_N_TEXT] = ath_compiler__text,
	[ATH_N_TUPLE] = visit_tuple,
	[ATH_N_DISTINCT] = visit_distinct,
	[ATH_N_CASE] = visit_case,
	[ATH_N_ORDER] = visit_order,
	[ATH_N_SCALAR] = visit_scalar,
	[ATH_N_EXISTS] = visit_exists,
	[ATH_N_AFFIX] = visit_affix,
	[ATH_N_EXCLUDED] = visit_excluded,
	[ATH_N_CAST] = visit_cast,
	[ATH_N_EXTRACT] = visit_extract,
	[ATH_N_COLLATE] = visit_collate,
	[ATH_N_ANY] = visit_any,
	[ATH_N_INDEX] = visit_index,
	[ATH_N_JSON] = visit_json,};
