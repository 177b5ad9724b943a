/* compile_dml.c — INSERT, UPDATE and DELETE: VALUES rows and INSERT ... SELECT, SET lists,
 * UPDATE ... FROM, DELETE ... USING, RETURNING and upserts; the facts inserted_primary_key needs.
 * Dialect differences (RETURNING, USING, multi-table forms) come from dialect flags. Mirrors
 * visit_insert / visit_update / visit_delete of sqlalchemy/sql/compiler.py and sql/crud.py. */
#include "compiler_int.h"
#include "dialects/ddl_dialect.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* RETURNING, where the dialect takes it for this kind of statement (`kind` is one ATH_RETURNING_*
 * bit): PostgreSQL and SQLite >= 3.35 everywhere, MariaDB >= 10.5 on INSERT and DELETE only,
 * MySQL nowhere (SQLAlchemy 2.0's insert_returning / update_returning / delete_returning). */
static int returning(ath_compiler *c, const ath_list *l, unsigned kind)
{
	if (!l->n)
		return 0;
	if (!(c->d->returning & kind))
		return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					  "%s ... RETURNING is not supported by the %s dialect",
					  kind == ATH_RETURNING_INSERT ? "INSERT" : kind == ATH_RETURNING_UPDATE ? "UPDATE" : "DELETE",
					  c->d->name);
	c->returns_rows = 1;
	ath_compiler__puts(c, " RETURNING ");
	ath_list expanded;
	int rc = ath_compiler__expand_columns(c, l, NULL, NULL, &expanded);
	if (rc)
		return rc;
	l = &expanded;
	const char **seen = ath_arena__zalloc(&c->tmp, l->n * sizeof *seen);
	if (!seen)
		return oom(c);
	for (uint32_t i = 0; i < l->n; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		if ((rc = column_entry(c, l->v[i], seen, i)))
			return rc;
	}
	c->rdone = 1;
	return 0;
}


/* `mt`: the metadata table the names are columns of, whose types the values' binds take (an
 * upsert's SET, as SQLAlchemy's on_conflict_do_update(set_=...) / on_duplicate_key_update()). */
static int set_list(ath_compiler *c, const char *const *names, const ath_list *values, const char *eq,
		    const ath_node *qualify, const ath_table *mt)
{
	int rc = 0;
	for (uint32_t i = 0; i < values->n && !rc; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		if (qualify) {
			if ((rc = table_name(c, qualify)))
				return rc;
			ath_strbuf__putc(&c->sql, '.');
		}
		if ((rc = ident(c, names[i])))
			return rc;
		ath_compiler__puts(c, eq);
		const ath_column *col = mt ? ath_table__column(mt, names[i]) : NULL;
		ath_bindcol typed = { col ? &col->type : NULL, col ? mt->name : NULL, col ? col->name : NULL, 0, 0 };
		rc = ath_compiler__typed_visit(c, values->v[i], &typed, GROUP_ALL, OP_NONE);
	}
	return rc;
}

/* ON CONFLICT (PostgreSQL, SQLite) / ON DUPLICATE KEY UPDATE (MySQL, whose target is implied by
 * the table's unique keys). Mirrors the dialects' visit_on_conflict_do_* and
 * visit_on_duplicate_key_update. */
static int on_conflict(ath_compiler *c, const ath_on_conflict *oc, const ath_table *mt)
{
	int rc = 0;
	switch (c->d->upsert_style) {
	case ATH_UPSERT_ON_DUPLICATE_KEY:
		if (!oc->do_update)
			return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "ON CONFLICT DO NOTHING is not supported by the %s dialect "
						  "(ON DUPLICATE KEY UPDATE needs at least one SET)", c->d->name);
		if (oc->set_where || oc->where || oc->constraint)
			return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "an upsert WHERE or constraint is not supported by the %s dialect "
						  "(ON DUPLICATE KEY UPDATE)", c->d->name);
		ath_compiler__puts(c, " ON DUPLICATE KEY UPDATE ");
		return set_list(c, oc->set_names, &oc->set_values, " = ", NULL, mt);
	case ATH_UPSERT_ON_CONFLICT:
		break;
	default:
		return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR, "upserts are not supported by the %s dialect",
					  c->d->name);
	}
	ath_compiler__puts(c, " ON CONFLICT");
	if (oc->constraint) {
		if (!c->d->on_conflict_constraint)
			return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "ON CONFLICT ON CONSTRAINT is not supported by the %s dialect", c->d->name);
		ath_compiler__puts(c, " ON CONSTRAINT ");
		if ((rc = ident(c, oc->constraint)))
			return rc;
	} else if (oc->ntarget) {
		ath_compiler__puts(c, " (");
		for (uint32_t i = 0; i < oc->ntarget && !rc; i++) {
			if (i)
				ath_compiler__puts(c, ", ");
			rc = ident(c, oc->target[i]);
		}
		ath_strbuf__putc(&c->sql, ')');
		if (!rc && oc->where) {
			ath_compiler__puts(c, " WHERE ");
			rc = visit(c, oc->where);
		}
		if (rc)
			return rc;
	} else if (oc->do_update) {
		return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR,
					  "ON CONFLICT DO UPDATE needs a \"target\" (columns) or a \"constraint\"");
	}
	if (!oc->do_update) {
		ath_compiler__puts(c, " DO NOTHING");
		return 0;
	}
	ath_compiler__puts(c, " DO UPDATE SET ");
	if ((rc = set_list(c, oc->set_names, &oc->set_values, " = ", NULL, mt)))
		return rc;
	if (oc->set_where) {
		ath_compiler__puts(c, " WHERE ");
		rc = visit(c, oc->set_where);
	}
	return rc;
}

/* ---- crud rules against a metadata (sql/crud.py) -------------------------------------------- */

static int unconsumed(ath_compiler *c, const ath_table *mt, const char *name)
{
	return ath_compiler__fail(c, ATH_ERRCLASS_COMPILE_ERROR, "Unconsumed column names: %.80s (table '%.80s')", name,
				  mt->name);
}

static int find_name(const char *const *names, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

/* A client-side default or onupdate: a scalar (["lit", v]) is bound as a parameter, anything else
 * is SQL rendered inline (crud.py's _append_param_insert_pk / _create_insert_prefetch_bind_param). */
static int client_default(ath_compiler *c, const ath_sexpr *e)
{
	if (e->node->kind == ATH_N_LIT)
		return ath_compiler__default_bind(c, e->node->value);
	return ath_compiler__grouped(c, e->node, GROUP_ALL, OP_NONE);
}

/* A column whose value, when not given, is its sequence's next one (a Sequence default on a
 * backend with sequences; an optional one there leaves it to SERIAL, as sequences_optional). */
static int next_value(const ath_compiler *c, const ath_column *col)
{
	return col->sequence && !col->sequence->optional && !col->default_.node && c->d->ddl &&
	       c->d->ddl->supports_sequences;
}

/* nextval('schema.seq'): the sequence's name as DDL quotes it, inside a string literal */
static int sequence_next(ath_compiler *c, const ath_sequence *q)
{
	size_t at = c->sql.len;
	int rc = q->schema ? ident(c, q->schema) : 0;
	if (!rc && q->schema)
		ath_strbuf__putc(&c->sql, '.');
	if (!rc)
		rc = ident(c, q->name);
	if (rc || c->sql.oom)
		return rc ? rc : oom(c);
	char *name = ath_arena__strndup(&c->tmp, c->sql.ptr + at, c->sql.len - at);
	if (!name)
		return oom(c);
	c->sql.len = at;
	ath_compiler__puts(c, "nextval(");
	if ((rc = put_string_literal(c, name, strlen(name))))
		return rc;
	ath_strbuf__putc(&c->sql, ')');
	return 0;
}

/* SQLAlchemy's _append_param_insert_pk_returning: the key columns the server generates and the
 * INSERT does not give (the autoincrement column, a server default, a sequence, a SQL default)
 * are fetched with a RETURNING kept beside the SQL (ath_compiled.ret_suffix), used only when the
 * statement is executed once, since executemany wants no rows back. */
static int implicit_returning(ath_compiler *c, const ath_insert *s, const ath_table *mt, ath_compiled *out)
{
	const ath_constraint *pk = mt->pk;
	const char **names = ath_arena__alloc(&out->arena, (pk->ncolumns + 1) * sizeof *names);
	if (!names)
		return oom(c);
	uint32_t n = 0;
	for (uint32_t i = 0; i < pk->ncolumns; i++) {
		const ath_column *k = pk->columns[i];
		int given = find_name(s->columns, s->ncolumns, k->name) >= 0;
		int lit_default = k->default_.node && k->default_.node->kind == ATH_N_LIT; /* known client-side */
		if (!given && !lit_default &&
		    (k == mt->autoinc || k->server_default.node || k->default_.node || next_value(c, k) || k->identity))
			names[n++] = k->name;
	}
	if (!n)
		return 0;
	size_t at = c->sql.len;
	ath_compiler__puts(c, " RETURNING ");
	int rc = 0;
	for (uint32_t i = 0; i < n && !rc; i++) {
		if (i)
			ath_compiler__puts(c, ", ");
		if (!(rc = table_name(c, s->table))) {
			ath_strbuf__putc(&c->sql, '.');
			rc = ident(c, names[i]);
		}
	}
	if (rc || c->sql.oom)
		return rc ? rc : oom(c);
	out->ret_suffix = ath_arena__strndup(&out->arena, c->sql.ptr + at, c->sql.len - at);
	c->sql.len = at; /* not part of the statement executemany runs */
	if (!out->ret_suffix)
		return oom(c);
	out->ret_names = names;
	out->nret = n;
	return 0;
}

/* The INSERT with the table's rules applied: the given columns plus those with a client-side
 * default, in table column order; the values rows reordered to match. A column the table does not
 * have is a CompileError. Fills the INSERT's metadata facts in `out`. */
static int insert_crud(ath_compiler *c, const ath_insert *s, const ath_table *mt, ath_compiled *out)
{
	for (uint32_t i = 0; i < s->ncolumns; i++)
		if (!ath_table__column(mt, s->columns[i]))
			return unconsumed(c, mt, s->columns[i]);
	/* the primary key, from the metadata: no catalog lookup for inserted_primary_key */
	const ath_constraint *pk = mt->pk;
	out->pk_known = 1;
	out->npk = pk ? pk->ncolumns : 0;
	const char **pkn = ath_arena__alloc(&out->arena, (out->npk + 1) * sizeof *pkn);
	if (!pkn)
		return oom(c);
	for (uint32_t i = 0; i < out->npk; i++)
		pkn[i] = pk->columns[i]->name;
	out->pk_names = pkn;
	out->pk_autoinc = out->npk == 1 && mt->autoinc == pk->columns[0];
	if (s->select)
		return 1; /* INSERT ... SELECT: the given columns as they are */
	const char **cols = ath_arena__alloc(&out->arena, (mt->ncolumns + 1) * sizeof *cols);
	int32_t *params = ath_arena__alloc(&out->arena, (mt->ncolumns + 1) * sizeof *params);
	int *given = ath_arena__alloc(&c->tmp, (mt->ncolumns + 1) * sizeof *given);
	if (!cols || !params || !given)
		return oom(c);
	uint32_t n = 0;
	for (uint32_t j = 0; j < mt->ncolumns; j++) {
		const ath_column *col = &mt->columns[j];
		int g = find_name(s->columns, s->ncolumns, col->name);
		if (g < 0 && !col->default_.node && !next_value(c, col))
			continue;
		given[n] = g;
		cols[n++] = col->name;
	}
	int rc;
	if ((rc = ath_compiler__with(c, s->with, s->nwith)))
		return rc;
	ath_compiler__puts(c, "INSERT INTO ");
	if ((rc = table_name(c, s->table)))
		return rc;
	if (n == 0) {
		ath_strbuf__putc(&c->sql, ' ');
		ath_compiler__puts(c, c->d->default_values);
	} else {
		ath_compiler__puts(c, " (");
		for (uint32_t i = 0; i < n && !rc; i++) {
			if (i)
				ath_compiler__puts(c, ", ");
			rc = ident(c, cols[i]);
		}
		ath_compiler__puts(c, ") VALUES ");
		uint32_t nrows = s->nrows ? s->nrows : 1;
		for (uint32_t r = 0; r < nrows && !rc; r++) {
			ath_compiler__puts(c, r ? ", (" : "(");
			for (uint32_t i = 0; i < n && !rc; i++) {
				if (i)
					ath_compiler__puts(c, ", ");
				if (given[i] >= 0) {
					const ath_column *tc = ath_table__column(mt, cols[i]);
					ath_bindcol typed = { &tc->type, mt->name, tc->name, 0, 0 };
					rc = ath_compiler__typed_visit(c, s->rows[r].v[given[i]], &typed, GROUP_ALL, OP_NONE);
				}
				else if (next_value(c, ath_table__column(mt, cols[i])))
					rc = sequence_next(c, ath_table__column(mt, cols[i])->sequence);
				else
					rc = client_default(c, &ath_table__column(mt, cols[i])->default_);
			}
			ath_strbuf__putc(&c->sql, ')');
		}
	}
	if (!rc && s->on_conflict)
		rc = on_conflict(c, s->on_conflict, mt);
	if (!rc)
		rc = returning(c, &s->returning, ATH_RETURNING_INSERT);
	if (!rc && c->d->implicit_returning && s->nrows <= 1 && !s->returning.n)
		rc = implicit_returning(c, s, mt, out);
	if (rc)
		return rc;
	out->single_row_insert = s->nrows <= 1;
	out->nins = n;
	for (uint32_t i = 0; i < n; i++) {
		const ath_node *v = given[i] >= 0 && s->nrows == 1 ? s->rows[0].v[given[i]] : NULL;
		const ath_column *col = ath_table__column(mt, cols[i]);
		params[i] = v && v->kind == ATH_N_BIND ? (int32_t)v->index : -1;
		if (given[i] < 0 && col->default_.node && col->default_.node->kind == ATH_N_LIT) { /* a bound default: -2 - its index */
			for (uint32_t k = 0; k < c->ndefaults; k++)
				if (c->defaults[k] == col->default_.node->value)
					params[i] = -2 - (int32_t)k;
		}
	}
	out->ins_columns = cols;
	out->ins_params = params;
	return 0;
}

int ath_compiler__insert(ath_compiler *c, const ath_insert *s, ath_compiled *out)
{
	scope sc = { 0 };
	int rc = scope_add(c, &sc, s->table);
	if (rc)
		return rc;
	c->scope = &sc;
	const ath_table *mt = ath_compiler__md_table(c, s->table);
	if (mt && (rc = insert_crud(c, s, mt, out)) != 1)
		return rc;
	/* MySQL takes INSERT INTO t (...) WITH ... SELECT (SQLAlchemy's cte_follows_insert) */
	int cte_late = s->select && c->d->insert_cte_style == ATH_INSERT_CTE_BEFORE_SELECT;
	if (!cte_late && (rc = ath_compiler__with(c, s->with, s->nwith)))
		return rc;
	ath_compiler__puts(c, "INSERT INTO ");
	if ((rc = table_name(c, s->table)))
		return rc;
	if (s->ncolumns == 0 && !s->select) {
		ath_strbuf__putc(&c->sql, ' ');
		ath_compiler__puts(c, c->d->default_values);
		out->single_row_insert = 1; /* one row, every column defaulted: the key is generated */
		return returning(c, &s->returning, ATH_RETURNING_INSERT);
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
		if (cte_late && (rc = ath_compiler__with(c, s->with, s->nwith)))
			return rc;
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
	if (s->on_conflict && (rc = on_conflict(c, s->on_conflict, ath_compiler__md_table(c, s->table))))
		return rc;
	if ((rc = returning(c, &s->returning, ATH_RETURNING_INSERT)))
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

/* SET in table column order, plus each column's onupdate not set explicitly (crud.py). */
static int update_crud(ath_compiler *c, const ath_update *s, const ath_table *mt, const ath_node *qualify)
{
	for (uint32_t i = 0; i < s->set_values.n; i++)
		if (!ath_table__column(mt, s->set_names[i]))
			return unconsumed(c, mt, s->set_names[i]);
	int rc = 0, first = 1;
	for (uint32_t j = 0; j < mt->ncolumns && !rc; j++) {
		const ath_column *col = &mt->columns[j];
		int g = find_name(s->set_names, s->set_values.n, col->name);
		if (g < 0 && !col->onupdate.node)
			continue;
		if (!first)
			ath_compiler__puts(c, ", ");
		first = 0;
		if (qualify) {
			if ((rc = table_name(c, qualify)))
				return rc;
			ath_strbuf__putc(&c->sql, '.');
		}
		if ((rc = ident(c, col->name)))
			return rc;
		ath_strbuf__putc(&c->sql, '=');
		ath_bindcol typed = { &col->type, mt->name, col->name, 0, 0 };
		rc = g >= 0 ? ath_compiler__typed_visit(c, s->set_values.v[g], &typed, GROUP_ALL, OP_NONE)
			    : client_default(c, &col->onupdate);
	}
	return rc;
}

/* The FROM scope of an UPDATE or DELETE: its table, then the extra FROM / USING items. */
static int dml_scope(ath_compiler *c, scope *sc, const ath_node *table, const ath_list *extra)
{
	int rc = scope_add(c, sc, table);
	for (uint32_t i = 0; i < extra->n && !rc; i++)
		rc = scope_add(c, sc, extra->v[i]);
	if (!rc)
		c->scope = sc;
	return rc;
}

int ath_compiler__update(ath_compiler *c, const ath_update *s)
{
	scope sc = { 0 };
	int rc = dml_scope(c, &sc, s->table, &s->from);
	if (rc)
		return rc;
	int style = c->d->update_from_style;
	if (s->from.n && style == ATH_UPDATE_FROM_NONE)
		return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					  "UPDATE ... FROM is not supported by the %s dialect", c->d->name);
	if ((s->order_by.n || s->limit) && !c->d->supports_update_limit)
		return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					  "UPDATE ... ORDER BY / LIMIT is not supported by the %s dialect", c->d->name);
	if ((rc = ath_compiler__with(c, s->with, s->nwith)))
		return rc;
	ath_compiler__puts(c, "UPDATE ");
	if ((rc = table_name(c, s->table)))
		return rc;
	int multi = s->from.n && style == ATH_UPDATE_FROM_MULTI_TABLE;
	if (multi) /* MySQL: UPDATE t, x SET t.a=... */
		for (uint32_t i = 0; i < s->from.n && !rc; i++) {
			ath_compiler__puts(c, ", ");
			rc = visit_from(c, s->from.v[i]);
		}
	if (rc)
		return rc;
	ath_compiler__puts(c, " SET ");
	const ath_table *mt = ath_compiler__md_table(c, s->table);
	if ((rc = mt ? update_crud(c, s, mt, multi ? s->table : NULL)
		     : set_list(c, s->set_names, &s->set_values, "=", multi ? s->table : NULL, NULL)))
		return rc;
	if (s->from.n && !multi) {
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
	if (s->order_by.n) {
		ath_compiler__puts(c, " ORDER BY ");
		if ((rc = expr_list(c, &s->order_by)))
			return rc;
	}
	if (s->limit) {
		ath_compiler__puts(c, " LIMIT ");
		if ((rc = visit(c, s->limit)))
			return rc;
	}
	return returning(c, &s->returning, ATH_RETURNING_UPDATE);
}

int ath_compiler__delete(ath_compiler *c, const ath_delete *s)
{
	scope sc = { 0 };
	int rc = dml_scope(c, &sc, s->table, &s->using_);
	if (rc)
		return rc;
	int style = c->d->delete_using_style;
	if (s->using_.n && style == ATH_DELETE_USING_NONE)
		return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					  "DELETE ... USING is not supported by the %s dialect", c->d->name);
	/* MariaDB's DELETE ... RETURNING is single-table only */
	if (s->using_.n && s->returning.n && style == ATH_DELETE_USING_MULTI_TABLE &&
	    (c->d->returning & ATH_RETURNING_DELETE))
		return ath_compiler__fail(c, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					  "DELETE ... USING ... RETURNING (a multi-table DELETE) is not supported by the %s "
					  "dialect", c->d->name);
	if ((rc = ath_compiler__with(c, s->with, s->nwith)))
		return rc;
	ath_compiler__puts(c, "DELETE FROM ");
	if ((rc = table_name(c, s->table)))
		return rc;
	if (s->using_.n) {
		ath_compiler__puts(c, " USING ");
		if (style == ATH_DELETE_USING_MULTI_TABLE) { /* MySQL: DELETE FROM t USING t, x */
			if ((rc = table_name(c, s->table)))
				return rc;
			ath_compiler__puts(c, ", ");
		}
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
	return returning(c, &s->returning, ATH_RETURNING_DELETE);
}
