/* compile_select.c — FROM items and SELECT: scopes, FROM inference and auto-correlation
 * (Select._get_display_froms), joins, aliases, derived tables, the columns clause with
 * SQLAlchemy's anonymous labels, compound selects and CTEs. Mirrors visit_select, visit_join,
 * visit_alias, visit_compound_select and visit_cte of sqlalchemy/sql/compiler.py. */
#include "compiler_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scopes: FROM items and correlation ----------------------------------------------------- */

static const char *exposed_name(const ath_node *f)
{
	return f->name; /* table name, alias name or subquery name */
}

int ath_compiler__scope_add(ath_compiler *c, scope *s, const ath_node *f)
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
const ath_node *ath_compiler__resolve_from(const ath_compiler *c, const char *name)
{
	for (const scope *s = c->scope; s; s = s->up) {
		const ath_node *f = scope_find(s, name);
		if (f)
			return f;
	}
	return NULL;
}

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
static int infer_list(ath_compiler *c, const ath_list *list, from_list *l);

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
	if (n->kind == ATH_N_FN && n->u.fn) {
		const ath_fnopts *o = n->u.fn;
		int rc = infer_froms(c, o->filter, l);
		if (!rc)
			rc = infer_list(c, &o->within_group, l);
		if (!rc && o->over && !(rc = infer_list(c, &o->over->partition_by, l)))
			rc = infer_list(c, &o->over->order_by, l);
		if (rc)
			return rc;
	}
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

/* ---- FROM items ------------------------------------------------------------------------------ */


/* ["values", rows, name, cols]: (VALUES (?, ?), ...) AS name (a, b), or, where the backend has no
 * column list for a derived table (SQLite, MySQL/MariaDB), the same rows as
 * (SELECT ? AS a, ? AS b UNION ALL SELECT ?, ?) AS name. */
static int values_from(ath_compiler *c, const ath_node *f)
{
	const char **cols = f->u.names;
	int rc = 0;
	int as_union = c->d->values_style == ATH_VALUES_UNION_ALL;
	ath_compiler__puts(c, as_union ? "(" : "(VALUES ");
	for (uint32_t r = 0; r < f->n && !rc; r++) {
		const ath_node *row = f->kids[r];
		if (as_union) {
			ath_compiler__puts(c, r ? " UNION ALL SELECT " : "SELECT ");
			for (uint32_t i = 0; i < row->n && !rc; i++) {
				if (i)
					ath_compiler__puts(c, ", ");
				rc = visit(c, row->kids[i]);
				if (!rc && r == 0) {
					ath_compiler__puts(c, " AS ");
					rc = ident(c, cols[i]);
				}
			}
		} else {
			if (r)
				ath_compiler__puts(c, ", ");
			rc = visit(c, row);
		}
	}
	if (rc)
		return rc;
	ath_compiler__puts(c, ") AS ");
	if ((rc = ident(c, f->name)) || as_union)
		return rc;
	ath_compiler__puts(c, " (");
	for (uint32_t i = 0; i < f->index && !rc; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		rc = ident(c, cols[i]);
	}
	ath_strbuf__putc(&c->sql, ')');
	return rc;
}

int ath_compiler__from(ath_compiler *c, const ath_node *f)
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
		int lateral = f->flags & ATH_NF_LATERAL;
		if (lateral && !c->d->supports_lateral)
			return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "LATERAL is not supported by the %s dialect", c->d->name);
		ath_compiler__puts(c, lateral ? "LATERAL (" : "(");
		/* a subquery in FROM does not correlate to the enclosing query; a LATERAL one does */
		if ((rc = compile_select(c, f->u.select, lateral ? c->scope : NULL)))
			return rc;
		ath_compiler__puts(c, ") AS ");
		return ident(c, f->name);
	}
	case ATH_N_CTE_REF: return ident(c, f->name);
	case ATH_N_VALUES: return values_from(c, f);
	case ATH_N_TABLE_FN:
		if ((rc = visit(c, f->kids[0])))
			return rc;
		ath_compiler__puts(c, " AS ");
		return ident(c, f->name);
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

int ath_compiler__expr_list(ath_compiler *c, const ath_list *l)
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
int ath_compiler__column_entry(ath_compiler *c, const ath_node *e, const char **seen, uint32_t i)
{
	int rc = ath_compiler__result_type(c, e);
	if (rc)
		return rc;
	rc = visit(c, e);
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
	case ATH_N_NEG: /* SQLAlchemy 1.4 gives a unary minus no label */
	case ATH_N_TEXT: return 0;
	case ATH_N_CAST:
		if (e->kids[0]->kind == ATH_N_COL) { /* SQLAlchemy labels CAST(t.a AS ..) as "a" */
			for (uint32_t j = 0; j < i; j++)
				if (seen[j] && strcmp(seen[j], e->kids[0]->name) == 0)
					return anon_label(c, "anon", 4);
			seen[i] = e->kids[0]->name;
			ath_compiler__puts(c, " AS ");
			return ident(c, e->kids[0]->name);
		}
		return anon_label(c, "anon", 4);
	case ATH_N_FN: {
		if (e->u.fn) /* FILTER / OVER / WITHIN GROUP wrap the function: an anonymous label */
			return anon_label(c, "anon", 4);
		const char *base = strrchr(e->name, '.');
		base = base ? base + 1 : e->name;
		return anon_label(c, base, strlen(base));
	}
	default: return anon_label(c, "anon", 4);
	}
}

/* ---- columns_of ------------------------------------------------------------------------------ */

static const ath_node *find_from(const ath_node *f, const char *name)
{
	if (f->kind == ATH_N_JOIN) {
		const ath_node *l = find_from(f->kids[0], name);
		return l ? l : find_from(f->kids[1], name);
	}
	return f->name && strcmp(f->name, name) == 0 ? f : NULL;
}

static int push_node(ath_compiler *c, ath_list *out, uint32_t *cap, ath_node *n)
{
	if (out->n == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 16;
		ath_node **v = ath_arena__alloc(&c->tmp, ncap * sizeof *v);
		if (!v)
			return oom(c);
		if (out->n)
			memcpy(v, out->v, out->n * sizeof *v);
		out->v = v;
		*cap = ncap;
	}
	out->v[out->n++] = n;
	return 0;
}

static int push_col(ath_compiler *c, ath_list *out, uint32_t *cap, const char *qual, const char *name)
{
	ath_node *col = ath_arena__zalloc(&c->tmp, sizeof *col);
	if (!col)
		return oom(c);
	col->kind = ATH_N_COL;
	col->qual = qual;
	col->name = name;
	return push_node(c, out, cap, col);
}

/* One ["columns_of", from]: a metadata table (or an alias of one) in table column order, or the
 * named columns of a subquery (Select.selected_columns / FromClause.c). */
static int columns_of(ath_compiler *c, const ath_node *e, const ath_list *from, const ath_node *dml_table,
		      ath_list *out, uint32_t *cap)
{
	const ath_node *f = NULL;
	for (uint32_t i = 0; from && i < from->n && !f; i++)
		f = find_from(from->v[i], e->qual);
	if (!f && dml_table && strcmp(dml_table->name, e->qual) == 0)
		f = dml_table;
	if (!f)
		f = resolve_from(c, e->qual);
	int rc = 0;
	if (f && f->kind == ATH_N_SUBQUERY && f->u.select->compound == ATH_SET_NONE) {
		const ath_list *cols = &f->u.select->columns;
		for (uint32_t i = 0; i < cols->n && !rc; i++) {
			const ath_node *x = cols->v[i];
			if (x->kind != ATH_N_COL && x->kind != ATH_N_LABEL)
				return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
							  "columns_of '%.80s': column %u of the subquery has no name (label it)",
							  e->qual, i);
			rc = push_col(c, out, cap, e->qual, x->name);
		}
		return rc;
	}
	if (!c->md)
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
					  "columns_of '%.80s' needs a metadata to know the table's columns "
					  "(ath_engine_options.metadata or ath_compile_v2)", e->qual);
	ath_node implicit = { .kind = ATH_N_TABLE, .name = e->qual, .qual = e->name };
	const ath_table *mt = ath_compiler__md_table(c, f ? f : &implicit);
	if (!mt)
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "columns_of: '%.80s' is not a table of the metadata",
					  e->qual);
	for (uint32_t i = 0; i < mt->ncolumns && !rc; i++)
		rc = push_col(c, out, cap, e->qual, mt->columns[i].name);
	return rc;
}

int ath_compiler__expand_columns(ath_compiler *c, const ath_list *in, const ath_list *from, const ath_node *dml_table,
				 ath_list *out)
{
	uint32_t i = 0;
	while (i < in->n && in->v[i]->kind != ATH_N_COLUMNS_OF)
		i++;
	*out = *in;
	if (i == in->n)
		return 0;
	ath_list l = { 0 };
	uint32_t cap = 0;
	int rc = 0;
	for (i = 0; i < in->n && !rc; i++) {
		if (in->v[i]->kind == ATH_N_COLUMNS_OF)
			rc = columns_of(c, in->v[i], from, dml_table, &l, &cap);
		else
			rc = push_node(c, &l, &cap, in->v[i]);
	}
	*out = l;
	return rc;
}

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

static int simple_select(ath_compiler *c, const ath_select *s, scope *enclosing)
{
	from_list froms = { 0 };
	ath_list cols;
	scope *saved_scope = c->scope;
	c->scope = enclosing; /* columns_of of a correlated name resolves outward */
	int rc = ath_compiler__expand_columns(c, &s->columns, &s->from, NULL, &cols);
	c->scope = saved_scope;
	if (rc)
		return rc;
	ath_select expanded;
	if (cols.v != s->columns.v) {
		expanded = *s;
		expanded.columns = cols;
		s = &expanded;
	}
	rc = display_froms(c, s, enclosing, &froms);
	if (rc)
		return rc;
	scope sc = { .up = enclosing };
	for (uint32_t i = 0; i < froms.n; i++)
		if ((rc = scope_add(c, &sc, froms.v[i])))
			return rc;
	scope *saved = c->scope;
	c->scope = &sc;

	if (s->distinct_on.n) {
		if (!c->d->supports_distinct_on) {
			c->scope = saved;
			return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "DISTINCT ON is not supported by the %s dialect", c->d->name);
		}
		ath_compiler__puts(c, "SELECT DISTINCT ON (");
		if ((rc = expr_list(c, &s->distinct_on)))
			return rc;
		ath_compiler__puts(c, ") ");
	} else {
		ath_compiler__puts(c, s->distinct ? "SELECT DISTINCT " : "SELECT ");
	}
	const char **seen = ath_arena__zalloc(&c->tmp, s->columns.n * sizeof *seen);
	if (!seen)
		return oom(c);
	for (uint32_t i = 0; i < s->columns.n && !rc; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		rc = column_entry(c, s->columns.v[i], seen, i);
	}
	if (c->rlevel == 1)
		c->rdone = 1; /* a compound's later selects and nested ones are not the result's columns */
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
	if (!rc && s->for_update && c->d->for_update_clause)
		rc = c->d->for_update_clause(c, s);
	c->scope = saved;
	return rc;
}

/* A member of a compound select is grouped when it has its own ORDER BY / LIMIT or is itself
 * compound: (SELECT ... LIMIT ?) UNION ..., or SELECT * FROM (...) where the backend does not
 * accept a parenthesised select there (SQLite). */
static int compound_member(ath_compiler *c, const ath_select *m)
{
	int group = m->compound || m->order_by.n || m->limit || m->offset;
	if (!group)
		return ath_compiler__select(c, m, NULL);
	ath_compiler__puts(c, c->d->compound_parens ? "(" : "SELECT * FROM (");
	int rc = ath_compiler__select(c, m, NULL);
	ath_strbuf__putc(&c->sql, ')');
	return rc;
}

static int compound_select(ath_compiler *c, const ath_select *s)
{
	static const char *const kw[] = { "", " UNION ", " UNION ALL ", " INTERSECT ", " INTERSECT ALL ", " EXCEPT ",
					  " EXCEPT ALL " };
	int rc = 0;
	for (uint32_t i = 0; i < s->selects.n && !rc; i++) {
		if (i)
			ath_compiler__puts(c, kw[s->compound]);
		rc = compound_member(c, s->selects.v[i]->u.select);
	}
	if (!rc && s->order_by.n) { /* the compound's ORDER BY names result columns: bare names */
		ath_compiler__puts(c, " ORDER BY ");
		int saved = c->bare_columns;
		c->bare_columns = 1;
		rc = expr_list(c, &s->order_by);
		c->bare_columns = saved;
	}
	if (!rc && (s->limit || s->offset))
		rc = c->d->limit_clause ? c->d->limit_clause(c, s) : ath_compiler__limit_generic(c, s);
	return rc;
}

/* The column names of a CTE: given, or those its (first) select exposes. */
static int cte_columns(ath_compiler *c, const ath_cte *w)
{
	int rc = 0;
	if (w->ncolumns) {
		for (uint32_t i = 0; i < w->ncolumns && !rc; i++) {
			ath_compiler__puts(c, i ? ", " : "(");
			rc = ident(c, w->columns[i]);
		}
		ath_strbuf__putc(&c->sql, ')');
		return rc;
	}
	const ath_select *s = w->query->u.select;
	while (s->compound)
		s = s->selects.v[0]->u.select;
	for (uint32_t i = 0; i < s->columns.n && !rc; i++) {
		const ath_node *e = s->columns.v[i];
		if (e->kind != ATH_N_LABEL && e->kind != ATH_N_COL)
			return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
						  "recursive CTE '%.80s': column %u needs a name (a label, or \"columns\")", w->name, i + 1);
		ath_compiler__puts(c, i ? ", " : "(");
		rc = ident(c, e->name);
	}
	ath_strbuf__putc(&c->sql, ')');
	return rc;
}

/* WITH [RECURSIVE] a AS (...), b(x, y) AS (...) — SQLAlchemy's visit_cte; RECURSIVE once, when
 * any of them is, and the column list where the CTE is recursive or names its columns. */
int ath_compiler__with(ath_compiler *c, const ath_cte *with, uint32_t n)
{
	if (!n)
		return 0;
	int recursive = 0, rc = 0;
	for (uint32_t i = 0; i < n; i++)
		recursive |= with[i].recursive;
	ath_compiler__puts(c, recursive ? "WITH RECURSIVE " : "WITH ");
	for (uint32_t i = 0; i < n && !rc; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		if ((rc = ident(c, with[i].name)))
			return rc;
		if ((with[i].recursive || with[i].ncolumns) && (rc = cte_columns(c, &with[i])))
			return rc;
		ath_compiler__puts(c, " AS (");
		scope *saved = c->scope;
		rc = ath_compiler__select(c, with[i].query->u.select, NULL);
		c->scope = saved;
		ath_strbuf__putc(&c->sql, ')');
	}
	ath_strbuf__putc(&c->sql, ' ');
	return rc;
}

int ath_compiler__select(ath_compiler *c, const ath_select *s, scope *enclosing)
{
	c->rlevel++;
	int rc = ath_compiler__with(c, s->with, s->nwith);
	if (!rc)
		rc = s->compound ? compound_select(c, s) : simple_select(c, s, enclosing);
	c->rlevel--;
	return rc;
}