/* decode_stmt.c — wire statement maps (select and compounds, insert with upserts, update,
 * delete, text; docs/wire-format.md section 6) into AST statements, with their WITH, FOR UPDATE,
 * RETURNING and SET clauses; every key must be one the statement knows. Mirrors the statement
 * constructors of sqlalchemy/sql/selectable.py and dml.py; compiling them is engine/sql's. */
#include "decode_int.h"

#include <stdio.h>
#include <string.h>

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
	return ath_wire__expr(d, v, out);
}

static int opt_list(dec *d, mobj *v, ath_list *out, int (*each)(dec *, mobj *, ath_node **))
{
	if (v->type == MSGPACK_OBJECT_NIL)
		return 0;
	return ath_wire__list(d, v, out, each);
}

int ath_wire__names(dec *d, mobj *v, const char ***names, uint32_t *count, const char *what)
{
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return fail(d, "%s must be an array of names", what);
	*count = v->via.array.size;
	*names = ath_arena__zalloc(d->arena, (*count + 1) * sizeof **names);
	if (!*names)
		return oom(d);
	for (uint32_t i = 0; i < *count; i++) {
		path_idx(d, i);
		int rc = ath_wire__get_str(d, &v->via.array.ptr[i], "column name", &(*names)[i]);
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
				rc = ath_wire__get_str(d, val, "CTE name", &w->name);
			else if (str_eq(k, "query")) {
				if (!(rc = ath_wire__stmt(d, val, &w->query)) && w->query->kind != ATH_N_SELECT)
					return fail(d, "a CTE's query must be a select");
			} else if (str_eq(k, "recursive")) {
				if (val->type != MSGPACK_OBJECT_BOOLEAN)
					return fail(d, "recursive must be a bool");
				w->recursive = val->via.boolean;
			} else if (str_eq(k, "columns"))
				rc = ath_wire__names(d, val, &w->columns, &w->ncolumns, "CTE columns");
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
				int rc = ath_wire__get_str(d, e, "table name", &f->of[j]);
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
			if ((rc = ath_wire__list(d, v, &s->selects, ath_wire__stmt)))
				return rc;
			for (uint32_t j = 0; j < s->selects.n; j++)
				if (s->selects.v[j]->kind != ATH_N_SELECT) {
					path_idx(d, j);
					return fail(d, "a compound select's members must be selects");
				}
		} else if (str_eq(k, "order_by"))
			rc = opt_list(d, v, &s->order_by, ath_wire__expr);
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
			rc = ath_wire__list(d, v, &s->columns, ath_wire__expr);
		else if (str_eq(k, "from"))
			rc = opt_list(d, v, &s->from, ath_wire__from);
		else if (str_eq(k, "where"))
			rc = opt_expr(d, v, &s->where);
		else if (str_eq(k, "group_by"))
			rc = opt_list(d, v, &s->group_by, ath_wire__expr);
		else if (str_eq(k, "having"))
			rc = opt_expr(d, v, &s->having);
		else if (str_eq(k, "order_by"))
			rc = opt_list(d, v, &s->order_by, ath_wire__expr);
		else if (str_eq(k, "limit"))
			rc = opt_expr(d, v, &s->limit);
		else if (str_eq(k, "offset"))
			rc = opt_expr(d, v, &s->offset);
		else if (str_eq(k, "distinct")) {
			if (v->type == MSGPACK_OBJECT_ARRAY) {
				if ((rc = ath_wire__list(d, v, &s->distinct_on, ath_wire__expr)))
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
			if ((rc = ath_wire__names(d, v, &names, &count, "correlate")))
				return rc;
			s->has_correlate = true;
			s->correlate.n = count;
			s->correlate.v = ath_arena__zalloc(d->arena, (count + 1) * sizeof *s->correlate.v);
			if (!s->correlate.v)
				return oom(d);
			for (uint32_t j = 0; j < count; j++) {
				if (!(s->correlate.v[j] = ath_wire__new_node(d, ATH_N_TABLE, 0)))
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

static int decode_returning(dec *d, mobj *v, ath_list *out) { return opt_list(d, v, out, ath_wire__expr); }

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
			rc = ath_wire__from(d, v, &s->table);
		else if (str_eq(k, "columns"))
			rc = ath_wire__names(d, v, &s->columns, &s->ncolumns, "columns");
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
				rc = ath_wire__list(d, &v->via.array.ptr[r], &s->rows[r], ath_wire__expr);
				if (!rc)
					path_pop(d);
			}
		} else if (str_eq(k, "select")) {
			ath_node *sel;
			if ((rc = ath_wire__stmt(d, v, &sel)))
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
		int rc = ath_wire__get_str(d, &pair->via.array.ptr[0], "column name", &(*names)[j]);
		if (rc)
			return rc;
		path_pop(d);
		if ((rc = ath_wire__expr_at(d, pair, 1, &values->v[j])))
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
			rc = ath_wire__names(d, val, &oc->target, &oc->ntarget, "target");
		else if (str_eq(k, "constraint"))
			rc = ath_wire__get_str(d, val, "constraint", &oc->constraint);
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
			rc = ath_wire__from(d, v, &s->table);
		else if (str_eq(k, "set"))
			rc = decode_set(d, v, &s->set_names, &s->set_values);
		else if (str_eq(k, "from"))
			rc = opt_list(d, v, &s->from, ath_wire__from);
		else if (str_eq(k, "where"))
			rc = opt_expr(d, v, &s->where);
		else if (str_eq(k, "returning"))
			rc = decode_returning(d, v, &s->returning);
		else if (str_eq(k, "with"))
			rc = decode_with(d, v, &s->with, &s->nwith);
		else if (str_eq(k, "order_by"))
			rc = opt_list(d, v, &s->order_by, ath_wire__expr);
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
			rc = ath_wire__from(d, v, &s->table);
		else if (str_eq(k, "using"))
			rc = opt_list(d, v, &s->using_, ath_wire__from);
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
	return ath_wire__text(d, sql, binds, 0, &n->u.text);
}

/* {"k": "create_table" | "drop_table", "table": name, "schema": s?, "if_not_exists" / "if_exists": bool}
 * {"k": "create_index" | "drop_index", "table": name, "schema": s?, "index": name}
 * Resolved in the metadata by the compiler. */
static int decode_ddl(dec *d, mobj *o, ath_node *n)
{
	static const char *const kinds[] = { "create_table", "drop_table", "create_index", "drop_index" };
	int idx = n->op >= ATH_DDL_CREATE_INDEX;
	const char *ixname = NULL;
	FOR_KEYS(d, o, i, k, v)
	{
		int rc = 0;
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "k"))
			;
		else if (str_eq(k, "table"))
			rc = ath_wire__get_str(d, v, "table name", &n->name);
		else if (str_eq(k, "schema"))
			rc = v->type == MSGPACK_OBJECT_NIL ? 0 : ath_wire__get_str(d, v, "schema name", &n->qual);
		else if (idx && str_eq(k, "index"))
			rc = ath_wire__get_str(d, v, "index name", &ixname);
		else if (!idx && str_eq(k, n->op == ATH_DDL_CREATE_TABLE ? "if_not_exists" : "if_exists")) {
			if (v->type != MSGPACK_OBJECT_BOOLEAN)
				return fail(d, "must be a bool, not %s", type_name(v));
			if (v->via.boolean)
				n->flags |= ATH_NF_IF_EXISTS;
		} else
			return unknown_key(d, kinds[n->op]);
		if (rc)
			return rc;
		path_pop(d);
	}
	if (!n->name)
		return fail(d, "a %s statement needs \"table\"", kinds[n->op]);
	if (idx && !ixname)
		return fail(d, "a %s statement needs \"index\"", kinds[n->op]);
	if (idx) {
		if (!(n->u.names = ath_arena__alloc(d->arena, sizeof *n->u.names)))
			return oom(d);
		n->u.names[0] = ixname;
	}
	return 0;
}

static int ddl_kind(mobj *k)
{
	static const char *const names[] = { "create_table", "drop_table", "create_index", "drop_index" };
	for (int i = 0; i < 4; i++)
		if (str_eq(k, names[i]))
			return i;
	return -1;
}

static int compound_kind(mobj *k)
{
	static const char *const names[] = { NULL, "union", "union_all", "intersect", "intersect_all", "except", "except_all" };
	for (int i = 1; i < 7; i++)
		if (str_eq(k, names[i]))
			return i;
	return 0;
}

int ath_wire__stmt(dec *d, mobj *o, ath_node **out)
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
		if (!(n = ath_wire__new_node(d, ATH_N_SELECT, 0)) || !(n->u.select = ath_arena__zalloc(d->arena, sizeof(ath_select))))
			return oom(d);
		rc = decode_select(d, o, n->u.select);
	} else if (compound_kind(kind)) {
		if (!(n = ath_wire__new_node(d, ATH_N_SELECT, 0)) || !(n->u.select = ath_arena__zalloc(d->arena, sizeof(ath_select))))
			return oom(d);
		n->u.select->compound = (uint8_t)compound_kind(kind);
		rc = decode_compound(d, o, n->u.select);
	} else if (str_eq(kind, "insert")) {
		if (!(n = ath_wire__new_node(d, ATH_N_INSERT, 0)) || !(n->u.insert = ath_arena__zalloc(d->arena, sizeof(ath_insert))))
			return oom(d);
		rc = decode_insert(d, o, n->u.insert);
	} else if (str_eq(kind, "update")) {
		if (!(n = ath_wire__new_node(d, ATH_N_UPDATE, 0)) || !(n->u.update = ath_arena__zalloc(d->arena, sizeof(ath_update))))
			return oom(d);
		rc = decode_update(d, o, n->u.update);
	} else if (str_eq(kind, "delete")) {
		if (!(n = ath_wire__new_node(d, ATH_N_DELETE, 0)) || !(n->u.del = ath_arena__zalloc(d->arena, sizeof(ath_delete))))
			return oom(d);
		rc = decode_delete(d, o, n->u.del);
	} else if (str_eq(kind, "text")) {
		if (!(n = ath_wire__new_node(d, ATH_N_TEXT_STMT, 0)))
			return oom(d);
		rc = decode_text_stmt(d, o, n);
	} else if (ddl_kind(kind) >= 0) {
		if (!(n = ath_wire__new_node(d, ATH_N_DDL, 0)))
			return oom(d);
		n->op = (uint8_t)ddl_kind(kind);
		rc = decode_ddl(d, o, n);
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
