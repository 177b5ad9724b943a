/* compiler.c — statement trees to SQL text for a dialect: the generic visitor for every node
 * kind, FROM inference and auto-correlation, SQLAlchemy's operator-precedence grouping, anonymous
 * labels, identifier quoting and literal rendering. Dialect differences come only through the
 * dialect vtable (dialects/dialect.h). Mirrors sqlalchemy/sql/compiler.py (SQLCompiler). */
#include "compiler.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"

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
};

/* ---- small helpers ------------------------------------------------------------------------ */

const ath_dialect *ath_compiler__dialect(const ath_compiler *c) { return c->d; }

void ath_compiler__puts(ath_compiler *c, const char *s) { ath_strbuf__puts(&c->sql, s); }

int ath_compiler__fail(ath_compiler *c, ath_error_class klass, const char *fmt, ...)
{
	char msg[ATH_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ath_err__set(c->err, ATH_ERROR, klass, "%s", msg);
}

static int oom(ath_compiler *c) { return ath_err__oom(c->err); }

static int reserved_cmp(const void *key, const void *elem) { return strcmp(key, *(const char *const *)elem); }

static int needs_quotes(const ath_dialect *d, const char *s)
{
	char lower[128];
	size_t n = strlen(s);
	if (n == 0 || isdigit((unsigned char)s[0]) || s[0] == '$')
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '$'))
			return 1; /* upper case, punctuation, space, non-ASCII */
	}
	if (n >= sizeof lower)
		return 0;
	memcpy(lower, s, n + 1);
	return bsearch(lower, d->reserved, d->nreserved, sizeof *d->reserved, reserved_cmp) != NULL;
}

static int ident(ath_compiler *c, const char *name)
{
	size_t n = strlen(name);
	if (c->d->max_ident_len && n > c->d->max_ident_len)
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
					  "identifier '%.80s' is %zu bytes long; the %s limit is %u", name, n,
					  c->d->name, c->d->max_ident_len);
	if (!needs_quotes(c->d, name)) {
		ath_strbuf__put(&c->sql, name, n);
		return 0;
	}
	ath_strbuf__putc(&c->sql, c->d->quote);
	for (const char *p = name; *p; p++) {
		if (*p == c->d->quote)
			ath_strbuf__putc(&c->sql, c->d->quote);
		ath_strbuf__putc(&c->sql, *p);
	}
	ath_strbuf__putc(&c->sql, c->d->quote);
	return 0;
}

void ath_compiler__ident(ath_compiler *c, const char *name) { (void)ident(c, name); }

static int table_name(ath_compiler *c, const ath_node *t)
{
	int rc = 0;
	if (t->qual) {
		if ((rc = ident(c, t->qual)))
			return rc;
		ath_strbuf__putc(&c->sql, '.');
	}
	return ident(c, t->name);
}

/* Record a placeholder at the current position of the SQL (the text itself is added when the
 * statement is rendered, so that expanding lists and $n numbering are decided in one place). */
static int add_bind(ath_compiler *c, uint32_t param, uint16_t flags, uint16_t arity)
{
	if (c->nbinds == c->capbinds) {
		uint32_t cap = c->capbinds ? c->capbinds * 2 : 16;
		ath_bindref *b = ath__realloc(c->binds, cap * sizeof *b);
		if (!b)
			return oom(c);
		c->binds = b;
		c->capbinds = cap;
	}
	c->binds[c->nbinds++] = (ath_bindref){ param, (uint32_t)c->sql.len, flags, arity };
	if (param + 1 > c->nparams)
		c->nparams = param + 1;
	if (flags & ATH_BIND_EXPANDING)
		c->has_expanding = 1;
	return 0;
}

/* Next anonymous label for `base`: count_1, count_2, anon_1 ... (SQLAlchemy's _anon_label). */
static int anon_label(ath_compiler *c, const char *base, size_t baselen)
{
	label_counter *lc = NULL;
	for (uint32_t i = 0; i < c->nlabels; i++)
		if (strlen(c->labels[i].name) == baselen && memcmp(c->labels[i].name, base, baselen) == 0)
			lc = &c->labels[i];
	if (!lc) {
		if (c->nlabels == c->caplabels) {
			uint32_t cap = c->caplabels ? c->caplabels * 2 : 8;
			label_counter *l = ath__realloc(c->labels, cap * sizeof *l);
			if (!l)
				return oom(c);
			c->labels = l;
			c->caplabels = cap;
		}
		lc = &c->labels[c->nlabels];
		if (!(lc->name = ath__strndup(base, baselen)))
			return oom(c);
		lc->n = 0;
		c->nlabels++;
	}
	/* label bases keep word characters only, as SQLAlchemy's anon labels ("my func" -> my_func_1) */
	char label[160];
	size_t k = 0;
	for (; k < baselen && k < 120; k++)
		label[k] = isalnum((unsigned char)base[k]) || base[k] == '_' ? base[k] : '_';
	snprintf(label + k, sizeof label - k, "_%u", ++lc->n);
	ath_strbuf__puts(&c->sql, " AS ");
	return ident(c, label);
}

/* ---- scopes: FROM items and correlation ----------------------------------------------------- */

static const char *exposed_name(const ath_node *f)
{
	return f->name; /* table name, alias name or subquery name */
}

static int scope_add(ath_compiler *c, scope *s, const ath_node *f)
{
	if (f->kind == ATH_N_JOIN) {
		int rc = scope_add(c, s, f->kids[0]);
		return rc ? rc : scope_add(c, s, f->kids[1]);
	}
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 8;
		const ath_node **items = ath_arena__alloc(&c->tmp, cap * sizeof *items);
		if (!items)
			return oom(c);
		if (s->n)
			memcpy(items, s->items, s->n * sizeof *items);
		s->items = items;
		s->cap = cap;
	}
	s->items[s->n++] = f;
	return 0;
}

static const ath_node *scope_find(const scope *s, const char *name)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (strcmp(exposed_name(s->items[i]), name) == 0)
			return s->items[i];
	return NULL;
}

/* The FROM item a column qualifier names, in this or an enclosing (correlated) scope. */
static const ath_node *resolve_from(const ath_compiler *c, const char *name)
{
	for (const scope *s = c->scope; s; s = s->up) {
		const ath_node *f = scope_find(s, name);
		if (f)
			return f;
	}
	return NULL;
}

typedef struct from_list {
	const ath_node **v;
	uint32_t n, cap;
} from_list;

static int from_push(ath_compiler *c, from_list *l, const ath_node *f)
{
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 8;
		const ath_node **v = ath_arena__alloc(&c->tmp, cap * sizeof *v);
		if (!v)
			return oom(c);
		if (l->n)
			memcpy(v, l->v, l->n * sizeof *v);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = f;
	return 0;
}

static int from_covers(const ath_node *f, const char *name)
{
	if (f->kind == ATH_N_JOIN)
		return from_covers(f->kids[0], name) || from_covers(f->kids[1], name);
	return strcmp(exposed_name(f), name) == 0;
}

static int froms_cover(const from_list *l, const char *name)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (from_covers(l->v[i], name))
			return 1;
	return 0;
}

/* Collect FROM items implied by column qualifiers in `n`, in order of appearance; nested
 * selects are their own scope and are not entered. */
static int infer_froms(ath_compiler *c, const ath_node *n, from_list *l)
{
	if (!n)
		return 0;
	if ((n->kind == ATH_N_COL || n->kind == ATH_N_STAR) && n->qual) {
		if (froms_cover(l, n->qual))
			return 0;
		ath_node *t = ath_arena__zalloc(&c->tmp, sizeof *t);
		if (!t)
			return oom(c);
		t->kind = ATH_N_TABLE;
		t->name = n->qual;
		return from_push(c, l, t);
	}
	if (n->kind == ATH_N_TEXT) {
		for (uint32_t i = 0; i < n->u.text->n; i++) {
			int rc = infer_froms(c, n->u.text->values[i], l);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (n->kind == ATH_N_SCALAR || n->kind == ATH_N_EXISTS || n->kind == ATH_N_SELECT)
		return 0;
	for (uint32_t i = 0; i < n->n; i++) {
		int rc = infer_froms(c, n->kids[i], l);
		if (rc)
			return rc;
	}
	return 0;
}

static int infer_list(ath_compiler *c, const ath_list *list, from_list *l)
{
	for (uint32_t i = 0; i < list->n; i++) {
		int rc = infer_froms(c, list->v[i], l);
		if (rc)
			return rc;
	}
	return 0;
}

static int enclosing_has(const scope *s, const char *name)
{
	for (; s; s = s->up)
		if (scope_find(s, name))
			return 1;
	return 0;
}

/* The FROM list a SELECT displays: explicit items, then those its columns imply, less what
 * an enclosing query provides (SQLAlchemy's Select._get_display_froms). */
static int display_froms(ath_compiler *c, const ath_select *s, scope *enclosing, from_list *out)
{
	from_list all = { 0 };
	int rc;
	for (uint32_t i = 0; i < s->from.n; i++)
		if ((rc = from_push(c, &all, s->from.v[i])))
			return rc;
	if ((rc = infer_list(c, &s->columns, &all)) || (rc = infer_froms(c, s->where, &all)) ||
	    (rc = infer_list(c, &s->group_by, &all)) || (rc = infer_froms(c, s->having, &all)) ||
	    (rc = infer_list(c, &s->order_by, &all)))
		return rc;
	if (!enclosing) {
		*out = all;
		return 0;
	}
	if (s->has_correlate) {
		for (uint32_t i = 0; i < all.n; i++) {
			const ath_node *f = all.v[i];
			int drop = 0;
			for (uint32_t j = 0; j < s->correlate.n && !drop; j++)
				drop = f->kind != ATH_N_JOIN && strcmp(exposed_name(f), s->correlate.v[j]->name) == 0 &&
				       enclosing_has(enclosing, exposed_name(f));
			if (!drop && (rc = from_push(c, out, f)))
				return rc;
		}
		return 0;
	}
	if (all.n <= 1) {
		*out = all;
		return 0;
	}
	for (uint32_t i = 0; i < all.n; i++) {
		const ath_node *f = all.v[i];
		if (f->kind != ATH_N_JOIN && enclosing_has(enclosing, exposed_name(f)))
			continue;
		if ((rc = from_push(c, out, f)))
			return rc;
	}
	if (out->n == 0)
		return ath_compiler__fail(c, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
					  "Select statement returned no FROM clauses due to auto-correlation; "
					  "specify correlate(<tables>) to control correlation manually.");
	return 0;
}

/* ---- expressions ---------------------------------------------------------------------------- */

static int visit(ath_compiler *c, const ath_node *n);
static int compile_select(ath_compiler *c, const ath_select *s, scope *enclosing);

int ath_compiler__expr(ath_compiler *c, const ath_node *n) { return visit(c, n); }

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
	if (n->qual) {
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

static int visit_bind(ath_compiler *c, const ath_node *n) { return add_bind(c, n->index, 0, 0); }

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

static int put_string_literal(ath_compiler *c, const char *s, size_t n)
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
	for (uint32_t i = 0; i < n->n; i++) {
		if (i) {
			ath_strbuf__putc(&c->sql, ' ');
			ath_compiler__puts(c, op->sql);
			ath_strbuf__putc(&c->sql, ' ');
		}
		int rc = ath_compiler__grouped(c, n->kids[i], op->precedence, n->op);
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
		rc = add_bind(c, list->index, ATH_BIND_EXPANDING, arity);
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
	if ((rc = ath_compiler__grouped(c, n->kids[1], ATH_PREC_COMPARE, OP_NONE)))
		return rc;
	ath_compiler__puts(c, " AND ");
	return ath_compiler__grouped(c, n->kids[2], ATH_PREC_COMPARE, OP_NONE);
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

static int visit_fn(ath_compiler *c, const ath_node *n)
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
	for (uint32_t i = 0; i < n->n; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		if ((rc = visit(c, n->kids[i])))
			return rc;
	}
	ath_strbuf__putc(&c->sql, ')');
	return 0;
}

static int visit_label(ath_compiler *c, const ath_node *n)
{
	/* A label outside a columns clause renders as its expression (SQLAlchemy does the same). */
	return visit(c, n->kids[0]);
}

/* :name markers, as sqlalchemy.sql.elements.TextClause._bind_params_regex
 * (?<![:\w\\]):(\w+)(?!:) — so "::int" casts and "\:" escapes pass through. */
static int is_word(unsigned char ch) { return isalnum(ch) || ch == '_' || ch >= 0x80; }

static int visit_text(ath_compiler *c, const ath_node *n)
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
	uint32_t pairs = (n->n - (has_else ? 1 : 0)) / 2;
	ath_compiler__puts(c, "CASE");
	for (uint32_t i = 0; i < pairs; i++) {
		int rc;
		ath_compiler__puts(c, " WHEN ");
		if ((rc = ath_compiler__grouped(c, n->kids[2 * i], GROUP_ALL, OP_NONE)))
			return rc;
		ath_compiler__puts(c, " THEN ");
		if ((rc = visit(c, n->kids[2 * i + 1])))
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

/* ---- FROM items ------------------------------------------------------------------------------ */

static int visit_from(ath_compiler *c, const ath_node *f)
{
	int rc;
	switch (f->kind) {
	case ATH_N_TABLE: return table_name(c, f);
	case ATH_N_ALIAS:
		if (f->kids[0]->kind != ATH_N_TABLE) /* subqueries carry their own name */
			return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
						  "only a table can be aliased (alias '%.60s')", f->name);
		if ((rc = visit_from(c, f->kids[0])))
			return rc;
		ath_compiler__puts(c, " AS ");
		return ident(c, f->name);
	case ATH_N_SUBQUERY: {
		ath_strbuf__putc(&c->sql, '(');
		/* a subquery in FROM does not correlate to the enclosing query */
		if ((rc = compile_select(c, f->u.select, NULL)))
			return rc;
		ath_compiler__puts(c, ") AS ");
		return ident(c, f->name);
	}
	case ATH_N_JOIN:
		if (f->op == ATH_JOIN_FULL && !c->d->supports_full_join)
			return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "FULL OUTER JOIN is not supported by the %s dialect", c->d->name);
		if ((rc = visit_from(c, f->kids[0])))
			return rc;
		ath_strbuf__putc(&c->sql, ' ');
		ath_compiler__puts(c, f->op == ATH_JOIN_LEFT ? "LEFT OUTER JOIN"
				   : f->op == ATH_JOIN_FULL ? "FULL OUTER JOIN"
							    : c->d->inner_join);
		ath_strbuf__putc(&c->sql, ' ');
		/* a join nested on the right keeps its grouping */
		int nested = f->kids[1]->kind == ATH_N_JOIN;
		if (nested)
			ath_strbuf__putc(&c->sql, '(');
		if ((rc = visit_from(c, f->kids[1])))
			return rc;
		if (nested)
			ath_strbuf__putc(&c->sql, ')');
		ath_compiler__puts(c, " ON ");
		return visit(c, f->kids[2]);
	default:
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "not a FROM item");
	}
}

/* ---- statements ----------------------------------------------------------------------------- */

static int expr_list(ath_compiler *c, const ath_list *l)
{
	for (uint32_t i = 0; i < l->n; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		int rc = visit(c, l->v[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* One entry of a columns clause, with SQLAlchemy's labels: functions get name_N, other
 * unnamed expressions anon_N, and a repeated column name is disambiguated as name_N. */
static int column_entry(ath_compiler *c, const ath_node *e, const char **seen, uint32_t i)
{
	int rc = visit(c, e);
	if (rc)
		return rc;
	switch (e->kind) {
	case ATH_N_LABEL:
		ath_compiler__puts(c, " AS ");
		seen[i] = e->name;
		return ident(c, e->name);
	case ATH_N_COL:
		for (uint32_t j = 0; j < i; j++)
			if (seen[j] && strcmp(seen[j], e->name) == 0)
				return anon_label(c, e->name, strlen(e->name));
		seen[i] = e->name;
		return 0;
	case ATH_N_STAR:
	case ATH_N_TEXT: return 0;
	case ATH_N_FN: {
		const char *base = strrchr(e->name, '.');
		base = base ? base + 1 : e->name;
		return anon_label(c, base, strlen(base));
	}
	default: return anon_label(c, "anon", 4);
	}
}

int ath_compiler__limit_generic(ath_compiler *c, const ath_select *s);
int ath_compiler__limit_generic(ath_compiler *c, const ath_select *s)
{
	int rc = 0;
	if (s->limit) {
		ath_compiler__puts(c, " LIMIT ");
		rc = visit(c, s->limit);
	}
	if (!rc && s->offset) {
		ath_compiler__puts(c, " OFFSET ");
		rc = visit(c, s->offset);
	}
	return rc;
}

static int compile_select(ath_compiler *c, const ath_select *s, scope *enclosing)
{
	from_list froms = { 0 };
	int rc = display_froms(c, s, enclosing, &froms);
	if (rc)
		return rc;
	scope sc = { .up = enclosing };
	for (uint32_t i = 0; i < froms.n; i++)
		if ((rc = scope_add(c, &sc, froms.v[i])))
			return rc;
	scope *saved = c->scope;
	c->scope = &sc;

	ath_compiler__puts(c, s->distinct ? "SELECT DISTINCT " : "SELECT ");
	const char **seen = ath_arena__zalloc(&c->tmp, s->columns.n * sizeof *seen);
	if (!seen)
		return oom(c);
	for (uint32_t i = 0; i < s->columns.n && !rc; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		rc = column_entry(c, s->columns.v[i], seen, i);
	}
	if (!rc && froms.n) {
		ath_compiler__puts(c, " FROM ");
		for (uint32_t i = 0; i < froms.n && !rc; i++) {
			if (i)
				ath_compiler__puts(c, ", ");
			rc = visit_from(c, froms.v[i]);
		}
	}
	if (!rc && s->where) {
		ath_compiler__puts(c, " WHERE ");
		rc = visit(c, s->where);
	}
	if (!rc && s->group_by.n) {
		ath_compiler__puts(c, " GROUP BY ");
		rc = expr_list(c, &s->group_by);
	}
	if (!rc && s->having) {
		ath_compiler__puts(c, " HAVING ");
		rc = visit(c, s->having);
	}
	if (!rc && s->order_by.n) {
		ath_compiler__puts(c, " ORDER BY ");
		rc = expr_list(c, &s->order_by);
	}
	if (!rc && (s->limit || s->offset))
		rc = c->d->limit_clause ? c->d->limit_clause(c, s) : ath_compiler__limit_generic(c, s);
	c->scope = saved;
	return rc;
}

static int returning(ath_compiler *c, const ath_list *l)
{
	if (!l->n)
		return 0;
	if (!c->d->supports_returning)
		return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					  "RETURNING is not supported by the %s dialect", c->d->name);
	c->returns_rows = 1;
	ath_compiler__puts(c, " RETURNING ");
	const char **seen = ath_arena__zalloc(&c->tmp, l->n * sizeof *seen);
	if (!seen)
		return oom(c);
	for (uint32_t i = 0; i < l->n; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		int rc = column_entry(c, l->v[i], seen, i);
		if (rc)
			return rc;
	}
	return 0;
}

static int compile_insert(ath_compiler *c, const ath_insert *s, ath_compiled *out)
{
	scope sc = { 0 };
	int rc = scope_add(c, &sc, s->table);
	if (rc)
		return rc;
	c->scope = &sc;
	ath_compiler__puts(c, "INSERT INTO ");
	if ((rc = table_name(c, s->table)))
		return rc;
	if (s->ncolumns == 0 && !s->select) {
		ath_strbuf__putc(&c->sql, ' ');
		ath_compiler__puts(c, c->d->default_values);
		out->single_row_insert = 1; /* one row, every column defaulted: the key is generated */
		return returning(c, &s->returning);
	}
	if (s->ncolumns) {
		ath_compiler__puts(c, " (");
		for (uint32_t i = 0; i < s->ncolumns; i++) {
			if (i)
				ath_compiler__puts(c, ", ");
			if ((rc = ident(c, s->columns[i])))
				return rc;
		}
		ath_strbuf__putc(&c->sql, ')');
	}
	if (s->select) {
		ath_strbuf__putc(&c->sql, ' ');
		if ((rc = compile_select(c, s->select->u.select, NULL)))
			return rc;
	} else {
		if (s->nrows == 0)
			return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "an insert with columns needs values or a select");
		ath_compiler__puts(c, " VALUES ");
		for (uint32_t r = 0; r < s->nrows; r++) {
			ath_compiler__puts(c, r ? ", (" : "(");
			for (uint32_t i = 0; i < s->rows[r].n; i++) {
				if (i)
					ath_compiler__puts(c, ", ");
				if ((rc = ath_compiler__grouped(c, s->rows[r].v[i], GROUP_ALL, OP_NONE)))
					return rc;
			}
			ath_strbuf__putc(&c->sql, ')');
		}
	}
	if ((rc = returning(c, &s->returning)))
		return rc;

	/* What inserted_primary_key needs: which parameter feeds each column of a one-row insert. */
	out->single_row_insert = s->nrows == 1;
	out->nins = s->ncolumns;
	const char **cols = ath_arena__alloc(&out->arena, (s->ncolumns + 1) * sizeof *cols);
	int32_t *params = ath_arena__alloc(&out->arena, (s->ncolumns + 1) * sizeof *params);
	if (!cols || !params)
		return oom(c);
	for (uint32_t i = 0; i < s->ncolumns; i++) {
		if (!(cols[i] = ath_arena__strndup(&out->arena, s->columns[i], strlen(s->columns[i]))))
			return oom(c);
		const ath_node *v = s->nrows == 1 ? s->rows[0].v[i] : NULL;
		params[i] = v && v->kind == ATH_N_BIND ? (int32_t)v->index : -1;
	}
	out->ins_columns = cols;
	out->ins_params = params;
	return 0;
}

static int compile_update(ath_compiler *c, const ath_update *s)
{
	scope sc = { 0 };
	int rc = scope_add(c, &sc, s->table);
	for (uint32_t i = 0; i < s->from.n && !rc; i++)
		rc = scope_add(c, &sc, s->from.v[i]);
	if (rc)
		return rc;
	c->scope = &sc;
	ath_compiler__puts(c, "UPDATE ");
	if ((rc = table_name(c, s->table)))
		return rc;
	ath_compiler__puts(c, " SET ");
	for (uint32_t i = 0; i < s->set_values.n; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		if ((rc = ident(c, s->set_names[i])))
			return rc;
		ath_strbuf__putc(&c->sql, '=');
		if ((rc = ath_compiler__grouped(c, s->set_values.v[i], GROUP_ALL, OP_NONE)))
			return rc;
	}
	if (s->from.n) {
		ath_compiler__puts(c, " FROM ");
		for (uint32_t i = 0; i < s->from.n && !rc; i++) {
			if (i)
				ath_compiler__puts(c, ", ");
			rc = visit_from(c, s->from.v[i]);
		}
		if (rc)
			return rc;
	}
	if (s->where) {
		ath_compiler__puts(c, " WHERE ");
		if ((rc = visit(c, s->where)))
			return rc;
	}
	return returning(c, &s->returning);
}

static int compile_delete(ath_compiler *c, const ath_delete *s)
{
	scope sc = { 0 };
	int rc = scope_add(c, &sc, s->table);
	for (uint32_t i = 0; i < s->using_.n && !rc; i++)
		rc = scope_add(c, &sc, s->using_.v[i]);
	if (rc)
		return rc;
	c->scope = &sc;
	ath_compiler__puts(c, "DELETE FROM ");
	if ((rc = table_name(c, s->table)))
		return rc;
	if (s->using_.n) {
		if (strcmp(c->d->name, "postgresql") != 0)
			return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "DELETE ... USING is not supported by the %s dialect yet", c->d->name);
		ath_compiler__puts(c, " USING ");
		for (uint32_t i = 0; i < s->using_.n && !rc; i++) {
			if (i)
				ath_compiler__puts(c, ", ");
			rc = visit_from(c, s->using_.v[i]);
		}
		if (rc)
			return rc;
	}
	if (s->where) {
		ath_compiler__puts(c, " WHERE ");
		if ((rc = visit(c, s->where)))
			return rc;
	}
	return returning(c, &s->returning);
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static const ath_visit_fn generic[ATH_N__COUNT] = {
	[ATH_N_COL] = visit_col,
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
	[ATH_N_TEXT] = visit_text,
	[ATH_N_TUPLE] = visit_tuple,
	[ATH_N_DISTINCT] = visit_distinct,
	[ATH_N_CASE] = visit_case,
	[ATH_N_ORDER] = visit_order,
	[ATH_N_SCALAR] = visit_scalar,
	[ATH_N_EXISTS] = visit_exists,
};

int ath_compiler__visit_generic(ath_compiler *c, const ath_node *n)
{
	ath_visit_fn fn = n->kind < ATH_N__COUNT ? generic[n->kind] : NULL;
	if (!fn)
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "this construct cannot be used as an expression");
	return fn(c, n);
}

static int visit(ath_compiler *c, const ath_node *n)
{
	if (c->sql.oom)
		return oom(c);
	const ath_visit_fn *hooks = c->d->visit;
	if (hooks && hooks[n->kind])
		return hooks[n->kind](c, n);
	return ath_compiler__visit_generic(c, n);
}

/* ---- compiled statements -------------------------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ath_compiled__incref(ath_compiled *c) { atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed); }

void ath_compiled__decref(ath_compiled *c)
{
	if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
		ath_arena arena = c->arena; /* the struct lives in its own arena */
		ath_arena__free(&arena);
	}
}

static void compiler_free(ath_compiler *c)
{
	ath_strbuf__free(&c->sql);
	ath__free(c->binds);
	for (uint32_t i = 0; i < c->nlabels; i++)
		ath__free(c->labels[i].name);
	ath__free(c->labels);
	ath_arena__free(&c->tmp);
}

int ath_sql__compile(ath_compiled **out, const ath_dialect *d, const ath_node *stmt, ath_err *err)
{
	ath_arena arena;
	ath_arena__init(&arena, 1024);
	ath_compiled *cs = ath_arena__zalloc(&arena, sizeof *cs);
	if (!cs) {
		ath_arena__free(&arena);
		return ath_err__oom(err);
	}
	cs->dialect = d;
	ath_compiler c = { .d = d, .err = err };
	ath_arena__init(&c.tmp, 2048);
	int rc;
	switch (stmt->kind) {
	case ATH_N_SELECT:
		cs->kind = ATH_STMT_SELECT;
		c.returns_rows = 1;
		rc = compile_select(&c, stmt->u.select, NULL);
		break;
	case ATH_N_INSERT:
		cs->kind = ATH_STMT_INSERT;
		cs->arena = arena; /* compile_insert allocates INSERT facts in it */
		rc = compile_insert(&c, stmt->u.insert, cs);
		arena = cs->arena;
		if (!rc) {
			const ath_node *t = stmt->u.insert->table;
			cs->table = ath_arena__strndup(&arena, t->name, strlen(t->name));
			cs->schema = t->qual ? ath_arena__strndup(&arena, t->qual, strlen(t->qual)) : NULL;
			if (!cs->table || (t->qual && !cs->schema))
				rc = ath_err__oom(err);
		}
		break;
	case ATH_N_UPDATE:
		cs->kind = ATH_STMT_UPDATE;
		rc = compile_update(&c, stmt->u.update);
		break;
	case ATH_N_DELETE:
		cs->kind = ATH_STMT_DELETE;
		rc = compile_delete(&c, stmt->u.del);
		break;
	case ATH_N_TEXT_STMT:
		cs->kind = ATH_STMT_TEXT;
		c.returns_rows = -1;
		rc = visit_text(&c, stmt);
		break;
	default:
		rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_COMPILE_ERROR, "not a statement");
	}
	if (!rc && c.sql.oom)
		rc = ath_err__oom(err);
	if (rc) {
		compiler_free(&c);
		ath_arena__free(&arena);
		return rc;
	}
	cs->returns_rows = c.returns_rows;
	cs->tmpl_len = c.sql.len;
	cs->tmpl = ath_arena__strndup(&arena, ath_strbuf__cstr(&c.sql), c.sql.len);
	cs->nbinds = c.nbinds;
	cs->nparams = c.nparams;
	cs->has_expanding = c.has_expanding;
	ath_bindref *binds = ath_arena__alloc(&arena, (c.nbinds + 1) * sizeof *binds);
	if (!cs->tmpl || !binds) {
		compiler_free(&c);
		ath_arena__free(&arena);
		return ath_err__oom(err);
	}
	if (c.nbinds)
		memcpy(binds, c.binds, c.nbinds * sizeof *binds);
	cs->binds = binds;
	compiler_free(&c);
	if (!cs->has_expanding) {
		ath_rendered r = { 0 };
		msgpack_object none = { .type = MSGPACK_OBJECT_NIL };
		rc = ath_compiled__render(&r, cs, &none, err);
		cs->sql = rc ? NULL : ath_arena__strndup(&arena, r.sql, r.sql_len);
		cs->sql_len = r.sql_len;
		cs->sql_hash = ath_sql__hash(r.sql, r.sql_len);
		ath_rendered__free(&r);
		if (rc || !cs->sql) {
			ath_arena__free(&arena);
			return rc ? rc : ath_err__oom(err);
		}
	}
	cs->created_at = now_seconds();
	atomic_init(&cs->refs, 1);
	cs->arena = arena;
	*out = cs;
	return 0;
}
