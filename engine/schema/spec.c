/* spec.c — schema specs (docs/schema-spec.md) into the metadata model (metadata.h): decoding with
 * the wire decoder's path errors ($.tables[1].columns[2].type: ...), then the semantic checks
 * SQLAlchemy makes when Tables are built and foreign keys resolved (duplicate names, a foreign
 * key to a missing table or column, autoincrement on a non-integer column), each an
 * ArgumentError naming the table and column. Mirrors the constructors of sqlalchemy/sql/schema.py
 * (Table, Column, *Constraint, Index, Sequence, Identity, Computed) and
 * PrimaryKeyConstraint._autoincrement_column. Names from conventions are naming.c's; DDL is ddl.c's. */
#include "schema/metadata.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "wire/decode_int.h"

#define FOR_MAP(o, i, k, v)                                                                        \
	for (uint32_t i = 0; i < (o)->via.map.size; i++)                                           \
		for (mobj *k = &(o)->via.map.ptr[i].key, *v = &(o)->via.map.ptr[i].val; k; k = NULL)

static int semantic(dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int semantic(dec *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ath_err__set(d->err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "%s", msg);
}

static int want_map(dec *d, mobj *o, const char *what)
{
	return o->type == MSGPACK_OBJECT_MAP ? 0 : fail(d, "%s must be a map, not %s", what, type_name(o));
}

static int get_bool(dec *d, mobj *v, bool *out)
{
	if (v->type != MSGPACK_OBJECT_BOOLEAN)
		return fail(d, "must be true or false, not %s", type_name(v));
	*out = v->via.boolean;
	return 0;
}

static int opt_str(dec *d, mobj *v, const char *what, const char **out)
{
	if (v->type == MSGPACK_OBJECT_NIL) {
		*out = NULL;
		return 0;
	}
	if (v->type == MSGPACK_OBJECT_STR && v->via.str.size == 0 && strcmp(what, "comment") == 0) {
		*out = "";
		return 0;
	}
	return ath_wire__get_str(d, v, what, out);
}

static int get_int(dec *d, mobj *v, int64_t *out)
{
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
		*out = (int64_t)v->via.u64;
	else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = v->via.i64;
	else
		return fail(d, "must be an integer, not %s", type_name(v));
	return 0;
}

static int get_expr(dec *d, mobj *v, ath_sexpr *out)
{
	ath_node *n;
	int rc = ath_wire__expr(d, v, &n);
	if (rc)
		return rc;
	out->node = n;
	out->wire = v;
	return 0;
}

/* sequence / identity options: {"name", "schema", "start", "increment", "minvalue", "maxvalue",
 * "cache", "cycle", "order", "optional"} ("always", "on_null" for an identity) */
static int decode_seq(dec *d, mobj *o, ath_sequence *s, ath_identity *ident)
{
	int rc = want_map(d, o, ident ? "identity" : "sequence");
	if (rc)
		return rc;
	s->wire = o;
	FOR_MAP(o, i, k, v)
	{
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (!ident && str_eq(k, "name"))
			rc = ath_wire__get_str(d, v, "sequence name", &s->name);
		else if (!ident && str_eq(k, "schema"))
			rc = opt_str(d, v, "schema", &s->schema);
		else if (str_eq(k, "start"))
			rc = get_int(d, v, &s->start), s->has_start = true;
		else if (str_eq(k, "increment"))
			rc = get_int(d, v, &s->increment), s->has_increment = true;
		else if (str_eq(k, "minvalue"))
			rc = get_int(d, v, &s->minvalue), s->has_minvalue = true;
		else if (str_eq(k, "maxvalue"))
			rc = get_int(d, v, &s->maxvalue), s->has_maxvalue = true;
		else if (str_eq(k, "cache"))
			rc = get_int(d, v, &s->cache), s->has_cache = true;
		else if (str_eq(k, "cycle"))
			rc = get_bool(d, v, &s->cycle);
		else if (str_eq(k, "order"))
			rc = get_bool(d, v, &s->order);
		else if (!ident && str_eq(k, "optional"))
			rc = get_bool(d, v, &s->optional);
		else if (ident && str_eq(k, "always"))
			rc = get_bool(d, v, &ident->always);
		else if (ident && str_eq(k, "on_null"))
			rc = get_bool(d, v, &ident->on_null);
		else
			rc = fail(d, "unknown key for %s", ident ? "an identity" : "a sequence");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (!ident && !s->name)
		return fail(d, "a sequence needs a \"name\"");
	return 0;
}

static int decode_column(dec *d, mobj *o, ath_column *c, ath_metadata *md)
{
	int rc = want_map(d, o, "a column");
	if (rc)
		return rc;
	bool nullable_given = false, has_type = false;
	c->autoincrement = -1;
	FOR_MAP(o, i, k, v)
	{
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "column keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "name")) {
			rc = ath_wire__get_str(d, v, "column name", &c->name);
		} else if (str_eq(k, "type")) {
			char msg[256];
			if (ath_type__parse(&c->type, v, &md->arena, msg, sizeof msg))
				return fail(d, "%s", msg);
			has_type = true;
		} else if (str_eq(k, "primary_key")) {
			rc = get_bool(d, v, &c->primary_key);
		} else if (str_eq(k, "nullable")) {
			rc = get_bool(d, v, &c->nullable);
			nullable_given = true;
		} else if (str_eq(k, "unique")) {
			rc = get_bool(d, v, &c->unique);
		} else if (str_eq(k, "index")) {
			rc = get_bool(d, v, &c->index);
		} else if (str_eq(k, "autoincrement")) {
			if (str_eq(v, "auto"))
				c->autoincrement = -1;
			else if (v->type == MSGPACK_OBJECT_BOOLEAN)
				c->autoincrement = v->via.boolean;
			else
				rc = fail(d, "must be true, false or \"auto\"");
		} else if (str_eq(k, "default")) {
			rc = v->type == MSGPACK_OBJECT_NIL ? 0 : get_expr(d, v, &c->default_);
		} else if (str_eq(k, "server_default")) {
			rc = v->type == MSGPACK_OBJECT_NIL ? 0 : get_expr(d, v, &c->server_default);
		} else if (str_eq(k, "onupdate")) {
			rc = v->type == MSGPACK_OBJECT_NIL ? 0 : get_expr(d, v, &c->onupdate);
		} else if (str_eq(k, "comment")) {
			rc = opt_str(d, v, "comment", &c->comment);
		} else if (str_eq(k, "identity")) {
			if (v->type != MSGPACK_OBJECT_NIL) {
				if (!(c->identity = ath_arena__zalloc(&md->arena, sizeof *c->identity)))
					return oom(d);
				rc = decode_seq(d, v, &c->identity->opts, c->identity);
			}
		} else if (str_eq(k, "sequence")) {
			if (v->type != MSGPACK_OBJECT_NIL) {
				if (!(c->sequence = ath_arena__zalloc(&md->arena, sizeof *c->sequence)))
					return oom(d);
				rc = decode_seq(d, v, c->sequence, NULL);
			}
		} else if (str_eq(k, "computed")) {
			if (v->type == MSGPACK_OBJECT_NIL)
				goto next;
			if ((rc = want_map(d, v, "computed")))
				return rc;
			if (!(c->computed = ath_arena__zalloc(&md->arena, sizeof *c->computed)))
				return oom(d);
			c->computed->persisted = -1;
			FOR_MAP(v, j, ck, cv)
			{
				path_key(d, ck->type == MSGPACK_OBJECT_STR ? ck->via.str.ptr : "?",
					 ck->type == MSGPACK_OBJECT_STR ? ck->via.str.size : 1);
				if (str_eq(ck, "sql")) {
					rc = get_expr(d, cv, &c->computed->sql);
				} else if (str_eq(ck, "persisted")) {
					if (cv->type == MSGPACK_OBJECT_BOOLEAN)
						c->computed->persisted = cv->via.boolean;
					else if (cv->type != MSGPACK_OBJECT_NIL)
						rc = fail(d, "must be true, false or null");
				} else {
					rc = fail(d, "unknown key for computed");
				}
				if (rc)
					return rc;
				path_pop(d);
			}
			if (!c->computed->sql.node)
				return fail(d, "computed needs \"sql\"");
		} else {
			rc = fail(d, "unknown key for a column");
		}
		if (rc)
			return rc;
	next:
		path_pop(d);
	}
	if (!c->name)
		return fail(d, "a column needs a \"name\"");
	if (!has_type)
		return fail(d, "column '%s' needs a \"type\"", c->name);
	if (!nullable_given)
		c->nullable = !c->primary_key;
	return 0;
}

static const ath_column *find_column(const ath_table *t, const char *name)
{
	for (uint32_t i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i].name, name) == 0)
			return &t->columns[i];
	return NULL;
}

static const char *const kind_names[] = { "PrimaryKeyConstraint", "ForeignKeyConstraint", "UniqueConstraint",
					  "CheckConstraint" };

/* the columns of a constraint, by name, in the table */
static int constraint_columns(dec *d, mobj *v, ath_table *t, ath_constraint *c, const char ***names_out, ath_metadata *md)
{
	const char **names;
	uint32_t n;
	int rc = ath_wire__names(d, v, &names, &n, "columns");
	if (rc)
		return rc;
	c->ncolumns = n;
	if (!(c->columns = ath_arena__zalloc(&md->arena, (n + 1) * sizeof *c->columns)))
		return oom(d);
	for (uint32_t i = 0; i < n; i++)
		if (!(c->columns[i] = find_column(t, names[i])))
			return semantic(d, "Can't create %s on table '%s': no column named '%s' is present.", kind_names[c->kind],
					t->name, names[i]);
	if (names_out)
		*names_out = names;
	return 0;
}

static int decode_constraint(dec *d, mobj *o, ath_table *t, ath_constraint *c, ath_metadata *md)
{
	int rc = want_map(d, o, "a constraint");
	if (rc)
		return rc;
	mobj *kind = NULL, *cols = NULL;
	FOR_MAP(o, i, k, v) if (str_eq(k, "k")) kind = v;
	if (!kind)
		return fail(d, "a constraint needs \"k\": \"primary_key\", \"foreign_key\", \"unique\" or \"check\"");
	if (str_eq(kind, "primary_key"))
		c->kind = ATH_CK_PRIMARY_KEY;
	else if (str_eq(kind, "foreign_key"))
		c->kind = ATH_CK_FOREIGN_KEY;
	else if (str_eq(kind, "unique"))
		c->kind = ATH_CK_UNIQUE;
	else if (str_eq(kind, "check"))
		c->kind = ATH_CK_CHECK;
	else
		return fail(d, "unknown constraint kind");
	c->deferrable = -1;
	int fk = c->kind == ATH_CK_FOREIGN_KEY;
	FOR_MAP(o, i, k, v)
	{
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "constraint keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "k"))
			rc = 0;
		else if (str_eq(k, "name")) {
			rc = opt_str(d, v, "constraint name", &c->name);
			c->name_given = c->name != NULL;
		} else if (str_eq(k, "columns") && c->kind != ATH_CK_CHECK) {
			cols = v;
			rc = constraint_columns(d, v, t, c, NULL, md);
		} else if (str_eq(k, "deferrable") && c->kind != ATH_CK_PRIMARY_KEY) {
			bool b = false;
			rc = v->type == MSGPACK_OBJECT_NIL ? 0 : get_bool(d, v, &b);
			if (!rc && v->type != MSGPACK_OBJECT_NIL)
				c->deferrable = b;
		} else if (str_eq(k, "initially") && c->kind != ATH_CK_PRIMARY_KEY)
			rc = opt_str(d, v, "initially", &c->initially);
		else if (fk && str_eq(k, "ref_table"))
			rc = ath_wire__get_str(d, v, "ref_table", &c->ref_table_name);
		else if (fk && str_eq(k, "ref_schema"))
			rc = opt_str(d, v, "ref_schema", &c->ref_schema);
		else if (fk && str_eq(k, "ref_columns")) {
			uint32_t n;
			rc = ath_wire__names(d, v, &c->ref_column_names, &n, "ref_columns");
			if (!rc && cols && n != cols->via.array.size)
				rc = fail(d, "ref_columns names %u columns but columns %u", n, cols->via.array.size);
		} else if (fk && str_eq(k, "ondelete"))
			rc = opt_str(d, v, "ondelete", &c->ondelete);
		else if (fk && str_eq(k, "onupdate"))
			rc = opt_str(d, v, "onupdate", &c->onupdate);
		else if (fk && str_eq(k, "match"))
			rc = opt_str(d, v, "match", &c->match);
		else if (fk && str_eq(k, "use_alter"))
			rc = get_bool(d, v, &c->use_alter);
		else if (c->kind == ATH_CK_CHECK && str_eq(k, "sql"))
			rc = get_expr(d, v, &c->sql);
		else
			rc = fail(d, "unknown key for a %s constraint", kind->via.str.ptr[0] == 'p' ? "primary_key"
								       : fk ? "foreign_key" : kind->via.str.ptr[0] == 'u' ? "unique" : "check");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (c->kind == ATH_CK_CHECK && !c->sql.node)
		return fail(d, "a check constraint needs \"sql\"");
	if (c->kind != ATH_CK_CHECK && !cols)
		return fail(d, "this constraint needs \"columns\"");
	if (fk && (!c->ref_table_name || !c->ref_column_names))
		return fail(d, "a foreign key needs \"ref_table\" and \"ref_columns\"");
	/* words rendered verbatim: only the SQL keywords SQLAlchemy's validation allows */
	const char *words[] = { c->ondelete, c->onupdate, c->initially, c->match };
	for (int w = 0; w < 4; w++)
		for (const char *p = words[w]; p && *p; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == ' '))
				return semantic(d, "Unexpected SQL phrase: '%s' (table '%s')", words[w], t->name);
	return 0;
}

static int decode_index(dec *d, mobj *o, ath_table *t, ath_index *ix, ath_metadata *md)
{
	int rc = want_map(d, o, "an index");
	if (rc)
		return rc;
	ix->table = t;
	FOR_MAP(o, i, k, v)
	{
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "index keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "name"))
			rc = opt_str(d, v, "index name", &ix->name);
		else if (str_eq(k, "unique"))
			rc = get_bool(d, v, &ix->unique);
		else if (str_eq(k, "where"))
			rc = v->type == MSGPACK_OBJECT_NIL ? 0 : get_expr(d, v, &ix->where);
		else if (str_eq(k, "columns")) {
			if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0)
				return fail(d, "columns must be a non-empty array of column names or expressions");
			ix->nitems = v->via.array.size;
			ix->items = ath_arena__zalloc(&md->arena, ix->nitems * sizeof *ix->items);
			ix->item_columns = ath_arena__zalloc(&md->arena, ix->nitems * sizeof *ix->item_columns);
			if (!ix->items || !ix->item_columns)
				return oom(d);
			for (uint32_t j = 0; j < ix->nitems; j++) {
				mobj *e = &v->via.array.ptr[j];
				path_idx(d, j);
				if (e->type == MSGPACK_OBJECT_STR) {
					const char *name;
					if ((rc = ath_wire__get_str(d, e, "column name", &name)))
						return rc;
					if (!(ix->item_columns[j] = find_column(t, name)))
						return semantic(d, "Index on table '%s': no column named '%s' is present.", t->name, name);
					ath_node *n = ath_wire__new_node(d, ATH_N_COL, 0);
					if (!n)
						return oom(d);
					n->name = ix->item_columns[j]->name;
					ix->items[j].node = n;
					ix->items[j].wire = e;
				} else if ((rc = get_expr(d, e, &ix->items[j]))) {
					return rc;
				}
				path_pop(d);
			}
		} else
			rc = fail(d, "unknown key for an index");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (!ix->nitems)
		return fail(d, "an index needs \"columns\"");
	return 0;
}

static int add_constraint(dec *d, ath_table *t, ath_constraint *c, uint32_t *cap, ath_metadata *md)
{
	if (t->nconstraints == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 8;
		ath_constraint **v = ath_arena__alloc(&md->arena, ncap * sizeof *v);
		if (!v)
			return oom(d);
		if (t->nconstraints)
			memcpy(v, t->constraints, t->nconstraints * sizeof *v);
		t->constraints = v;
		*cap = ncap;
	}
	t->constraints[t->nconstraints++] = c;
	return 0;
}

/* SQLAlchemy's PrimaryKeyConstraint._autoincrement_column */
static int autoinc_column(dec *d, ath_table *t)
{
	const ath_constraint *pk = t->pk;
	for (uint32_t i = 0; i < pk->ncolumns; i++) {
		const ath_column *c = pk->columns[i];
		int explicit_true = c->autoincrement == 1;
		if (pk->ncolumns > 1 && !explicit_true)
			continue;
		if (c->autoincrement == 0)
			continue;
		int ok = ath_type__is_integer(&c->type) || c->type.kind == ATH_T_NUMERIC;
		if (!ok) {
			if (explicit_true)
				return semantic(d, "Column type of column '%s.%s' is not compatible with autoincrement=True", t->name,
						c->name);
			continue;
		}
		if (!explicit_true && (c->default_.node || c->server_default.node || c->has_fk))
			continue;
		if (t->autoinc && explicit_true)
			return semantic(d, "Only one Column may be marked autoincrement=True, found both %s and %s.",
					t->autoinc->name, c->name);
		t->autoinc = c;
	}
	return 0;
}

static int decode_table(dec *d, mobj *o, ath_table *t, ath_metadata *md)
{
	int rc = want_map(d, o, "a table");
	if (rc)
		return rc;
	mobj *cols = NULL, *cons = NULL, *idxs = NULL;
	FOR_MAP(o, i, k, v)
	{
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "table keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "name"))
			rc = ath_wire__get_str(d, v, "table name", &t->name);
		else if (str_eq(k, "schema"))
			rc = opt_str(d, v, "schema", &t->schema);
		else if (str_eq(k, "comment"))
			rc = opt_str(d, v, "comment", &t->comment);
		else if (str_eq(k, "columns"))
			cols = v;
		else if (str_eq(k, "constraints"))
			cons = v;
		else if (str_eq(k, "indexes"))
			idxs = v;
		else
			rc = fail(d, "unknown key for a table");
		if (rc)
			return rc;
		path_pop(d);
	}
	if (!t->name)
		return fail(d, "a table needs a \"name\"");
	if (!cols || cols->type != MSGPACK_OBJECT_ARRAY || cols->via.array.size == 0)
		return fail(d, "table '%s' needs \"columns\": a non-empty array", t->name);
	t->ncolumns = cols->via.array.size;
	if (!(t->columns = ath_arena__zalloc(&md->arena, t->ncolumns * sizeof *t->columns)))
		return oom(d);
	path_key(d, "columns", 7);
	for (uint32_t i = 0; i < t->ncolumns; i++) {
		path_idx(d, i);
		if ((rc = decode_column(d, &cols->via.array.ptr[i], &t->columns[i], md)))
			return rc;
		t->columns[i].pos = i;
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(t->columns[j].name, t->columns[i].name) == 0)
				return semantic(d, "Table '%s' already has a column named '%s'", t->name, t->columns[i].name);
		path_pop(d);
	}
	path_pop(d);
	uint32_t cap = 0;
	ath_constraint *pk = NULL;
	if (cons) {
		path_key(d, "constraints", 11);
		if (cons->type != MSGPACK_OBJECT_ARRAY)
			return fail(d, "constraints must be an array");
		for (uint32_t i = 0; i < cons->via.array.size; i++) {
			path_idx(d, i);
			ath_constraint *c = ath_arena__zalloc(&md->arena, sizeof *c);
			if (!c)
				return oom(d);
			if ((rc = decode_constraint(d, &cons->via.array.ptr[i], t, c, md)))
				return rc;
			if (c->kind == ATH_CK_PRIMARY_KEY) {
				if (pk)
					return semantic(d, "Table '%s' has two primary key constraints", t->name);
				pk = c;
			} else if ((rc = add_constraint(d, t, c, &cap, md))) {
				return rc;
			}
			path_pop(d);
		}
		path_pop(d);
	}
	if (pk) { /* PrimaryKeyConstraint(...) makes its columns primary keys and NOT NULL */
		for (uint32_t i = 0; i < pk->ncolumns; i++) {
			ath_column *c = (ath_column *)pk->columns[i];
			c->primary_key = true;
			c->nullable = false;
		}
	} else {
		if (!(pk = ath_arena__zalloc(&md->arena, sizeof *pk)))
			return oom(d);
		pk->kind = ATH_CK_PRIMARY_KEY;
		uint32_t n = 0;
		for (uint32_t i = 0; i < t->ncolumns; i++)
			n += t->columns[i].primary_key;
		if (!(pk->columns = ath_arena__zalloc(&md->arena, (n + 1) * sizeof *pk->columns)))
			return oom(d);
		for (uint32_t i = 0; i < t->ncolumns; i++)
			if (t->columns[i].primary_key)
				pk->columns[pk->ncolumns++] = &t->columns[i];
	}
	t->pk = pk;
	/* column flags: unique=True makes a UniqueConstraint after the table's own constraints */
	for (uint32_t i = 0; i < t->ncolumns; i++) {
		ath_column *col = &t->columns[i];
		if (col->unique) {
			ath_constraint *c = ath_arena__zalloc(&md->arena, sizeof *c);
			if (!c || !(c->columns = ath_arena__zalloc(&md->arena, sizeof *c->columns)))
				return oom(d);
			c->kind = ATH_CK_UNIQUE;
			c->deferrable = -1;
			c->column_flag = true;
			c->columns[0] = col;
			c->ncolumns = 1;
			if ((rc = add_constraint(d, t, c, &cap, md)))
				return rc;
		}
		/* Boolean / Enum(create_constraint=True): CHECK (x IN (...)) named after the type */
		if (col->type.create_constraint && (col->type.kind == ATH_T_BOOLEAN ||
						    (col->type.kind == ATH_T_ENUM))) {
			ath_constraint *c = ath_arena__zalloc(&md->arena, sizeof *c);
			if (!c)
				return oom(d);
			c->kind = ATH_CK_CHECK;
			c->deferrable = -1;
			c->column_flag = true;
			c->check_column = col;
			c->name = col->type.name;
			c->name_given = c->name != NULL;
			if ((rc = add_constraint(d, t, c, &cap, md)))
				return rc;
		}
	}
	uint32_t nix = 0;
	for (uint32_t i = 0; i < t->ncolumns; i++)
		nix += t->columns[i].index;
	uint32_t nspec = idxs && idxs->type == MSGPACK_OBJECT_ARRAY ? idxs->via.array.size : 0;
	if (idxs && idxs->type != MSGPACK_OBJECT_ARRAY) {
		path_key(d, "indexes", 7);
		return fail(d, "indexes must be an array");
	}
	if (!(t->indexes = ath_arena__zalloc(&md->arena, (nix + nspec + 1) * sizeof *t->indexes)))
		return oom(d);
	/* index=True columns first: SQLAlchemy makes them while building the Table */
	for (uint32_t i = 0; i < t->ncolumns; i++) {
		if (!t->columns[i].index)
			continue;
		ath_index *ix = ath_arena__zalloc(&md->arena, sizeof *ix);
		ath_node *n = ath_wire__new_node(d, ATH_N_COL, 0);
		if (!ix || !n || !(ix->items = ath_arena__zalloc(&md->arena, sizeof *ix->items)) ||
		    !(ix->item_columns = ath_arena__zalloc(&md->arena, sizeof *ix->item_columns)))
			return oom(d);
		n->name = t->columns[i].name;
		ix->items[0].node = n;
		ix->item_columns[0] = &t->columns[i];
		ix->nitems = 1;
		ix->unique = t->columns[i].unique;
		ix->column_flag = true;
		ix->table = t;
		t->indexes[t->nindexes++] = ix;
	}
	if (nspec) {
		path_key(d, "indexes", 7);
		for (uint32_t i = 0; i < nspec; i++) {
			path_idx(d, i);
			ath_index *ix = ath_arena__zalloc(&md->arena, sizeof *ix);
			if (!ix)
				return oom(d);
			if ((rc = decode_index(d, &idxs->via.array.ptr[i], t, ix, md)))
				return rc;
			t->indexes[t->nindexes++] = ix;
			path_pop(d);
		}
		path_pop(d);
	}
	return 0;
}

const ath_table *ath_metadata__table(const ath_metadata *md, const char *schema, const char *name)
{
	for (uint32_t i = 0; i < md->ntables; i++) {
		const ath_table *t = &md->tables[i];
		if (strcmp(t->name, name) == 0 && ((!schema && !t->schema) || (schema && t->schema && strcmp(schema, t->schema) == 0)))
			return t;
	}
	return NULL;
}

const ath_column *ath_table__column(const ath_table *t, const char *name) { return find_column(t, name); }

const ath_index *ath_table__index(const ath_table *t, const char *name)
{
	for (uint32_t i = 0; i < t->nindexes; i++)
		if (t->indexes[i]->name && strcmp(t->indexes[i]->name, name) == 0)
			return t->indexes[i];
	return NULL;
}

static const char *fk_cols(const ath_constraint *c, char *buf, size_t len)
{
	size_t p = 0;
	buf[0] = '\0';
	for (uint32_t i = 0; i < c->ncolumns && p < len; i++)
		p += (size_t)snprintf(buf + p, len - p, "%s%s", i ? ", " : "", c->columns[i]->name);
	return buf;
}

/* foreign keys: the referred table and columns must exist (SQLAlchemy's NoReferencedTableError /
 * NoReferencedColumnError when the ForeignKey resolves its column) */
static int resolve(dec *d, ath_metadata *md)
{
	for (uint32_t ti = 0; ti < md->ntables; ti++) {
		ath_table *t = &md->tables[ti];
		for (uint32_t i = 0; i < t->nconstraints; i++) {
			ath_constraint *c = t->constraints[i];
			if (c->kind != ATH_CK_FOREIGN_KEY)
				continue;
			char cols[256];
			const ath_table *ref = ath_metadata__table(md, c->ref_schema, c->ref_table_name);
			if (!ref)
				return semantic(d, "Foreign key associated with column '%s.%s' could not find table '%s%s%s' with "
						   "which to generate a foreign key to target column '%s'",
						t->name, c->columns[0]->name, c->ref_schema ? c->ref_schema : "",
						c->ref_schema ? "." : "", c->ref_table_name, c->ref_column_names[0]);
			c->ref_table = ref;
			if (!(c->ref_columns = ath_arena__zalloc(&md->arena, (c->ncolumns + 1) * sizeof *c->ref_columns)))
				return oom(d);
			for (uint32_t k = 0; k < c->ncolumns; k++) {
				if (!(c->ref_columns[k] = find_column(ref, c->ref_column_names[k])))
					return semantic(d, "Could not initialize target column for ForeignKey '%s.%s' on table '%s': "
							   "table '%s' has no column named '%s'",
							ref->name, c->ref_column_names[k], t->name, ref->name, c->ref_column_names[k]);
				((ath_column *)c->columns[k])->has_fk = true;
			}
			if (c->use_alter && !c->name)
				return semantic(d, "Foreign key (%s) of table '%s' has use_alter=True but no name: "
						   "ALTER TABLE ... DROP CONSTRAINT needs one",
						fk_cols(c, cols, sizeof cols), t->name);
		}
	}
	return 0;
}

static int collect_enums(dec *d, ath_metadata *md)
{
	uint32_t n = 0;
	for (uint32_t ti = 0; ti < md->ntables; ti++)
		for (uint32_t i = 0; i < md->tables[ti].ncolumns; i++) {
			const ath_type *ty = &md->tables[ti].columns[i].type;
			n += ty->kind == ATH_T_ENUM || (ty->kind == ATH_T_ARRAY && ty->item->kind == ATH_T_ENUM);
		}
	if (!(md->enums = ath_arena__zalloc(&md->arena, (n + 1) * sizeof *md->enums)))
		return oom(d);
	for (uint32_t ti = 0; ti < md->ntables; ti++)
		for (uint32_t i = 0; i < md->tables[ti].ncolumns; i++) {
			const ath_type *ty = &md->tables[ti].columns[i].type;
			if (ty->kind == ATH_T_ARRAY)
				ty = ty->item;
			if (ty->kind != ATH_T_ENUM || !ty->native_enum || !ty->name)
				continue;
			uint32_t k;
			for (k = 0; k < md->nenums; k++)
				if (strcmp(md->enums[k].name, ty->name) == 0)
					break;
			if (k < md->nenums) {
				const ath_type *o = md->enums[k].type;
				int same = o->nvalues == ty->nvalues;
				for (uint32_t v = 0; same && v < ty->nvalues; v++)
					same = strcmp(o->values[v], ty->values[v]) == 0;
				if (!same)
					return semantic(d, "Enum '%s' of column '%s.%s' has other values than the Enum of that name "
							   "already in the metadata", ty->name, md->tables[ti].name,
							md->tables[ti].columns[i].name);
				continue;
			}
			md->enums[md->nenums].name = ty->name;
			md->enums[md->nenums].schema = NULL; /* SchemaType inherit_schema=False */
			md->enums[md->nenums].type = ty;
			md->nenums++;
		}
	return 0;
}

static int decode_metadata(dec *d, mobj *root, ath_metadata *md)
{
	if (root->type != MSGPACK_OBJECT_MAP)
		return fail(d, "a schema spec is a map {\"k\": \"metadata\", \"tables\": [...]}");
	mobj *tables = NULL;
	int is_md = 0, rc = 0;
	FOR_MAP(root, i, k, v)
	{
		if (k->type != MSGPACK_OBJECT_STR)
			return fail(d, "keys must be strings");
		path_key(d, k->via.str.ptr, k->via.str.size);
		if (str_eq(k, "k")) {
			if (!str_eq(v, "metadata"))
				return fail(d, "a schema spec has \"k\": \"metadata\"");
			is_md = 1;
		} else if (str_eq(k, "tables")) {
			if (v->type != MSGPACK_OBJECT_ARRAY)
				return fail(d, "tables must be an array");
			tables = v;
		} else if (str_eq(k, "naming_convention")) {
			if (v->type != MSGPACK_OBJECT_MAP)
				return fail(d, "naming_convention must be a map of strings");
			for (uint32_t j = 0; j < v->via.map.size; j++) {
				mobj *ck = &v->via.map.ptr[j].key, *cv = &v->via.map.ptr[j].val;
				if (ck->type != MSGPACK_OBJECT_STR || cv->type != MSGPACK_OBJECT_STR ||
				    memchr(cv->via.str.ptr, 0, cv->via.str.size))
					return fail(d, "naming_convention must be a map of strings");
				if (!(str_eq(ck, "ix") || str_eq(ck, "uq") || str_eq(ck, "ck") || str_eq(ck, "fk") || str_eq(ck, "pk")))
					return fail(d, "naming_convention keys are \"ix\", \"uq\", \"ck\", \"fk\", \"pk\"");
			}
			md->naming_convention = v;
		} else {
			return fail(d, "unknown key for a schema spec");
		}
		path_pop(d);
	}
	if (!is_md)
		return fail(d, "a schema spec has \"k\": \"metadata\"");
	if (!tables)
		return fail(d, "a schema spec needs \"tables\"");
	md->ntables = tables->via.array.size;
	if (!(md->tables = ath_arena__zalloc(&md->arena, (md->ntables + 1) * sizeof *md->tables)))
		return oom(d);
	path_key(d, "tables", 6);
	for (uint32_t i = 0; i < md->ntables; i++) {
		path_idx(d, i);
		if ((rc = decode_table(d, &tables->via.array.ptr[i], &md->tables[i], md)))
			return rc;
		md->tables[i].pos = i;
		const ath_table *t = &md->tables[i];
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(md->tables[j].name, t->name) == 0 &&
			    ((!t->schema && !md->tables[j].schema) || (t->schema && md->tables[j].schema && strcmp(t->schema, md->tables[j].schema) == 0)))
				return semantic(d, "Table '%s%s%s' is already defined for this MetaData instance.",
						t->schema ? t->schema : "", t->schema ? "." : "", t->name);
		path_pop(d);
	}
	path_pop(d);
	if ((rc = resolve(d, md)))
		return rc;
	for (uint32_t i = 0; i < md->ntables; i++) {
		ath_table *t = &md->tables[i];
		if ((rc = autoinc_column(d, t)) || (rc = ath_naming__constraint(md, t, t->pk, d->err)))
			return rc;
		for (uint32_t k = 0; k < t->nconstraints; k++)
			if ((rc = ath_naming__constraint(md, t, t->constraints[k], d->err)))
				return rc;
		for (uint32_t k = 0; k < t->nindexes; k++) {
			if ((rc = ath_naming__index(md, t, t->indexes[k], d->err)))
				return rc;
			for (uint32_t j = 0; j < k; j++)
				if (strcmp(t->indexes[j]->name, t->indexes[k]->name) == 0)
					return semantic(d, "Table '%s' has two indexes named '%s'", t->name, t->indexes[k]->name);
		}
	}
	return collect_enums(d, md);
}

void ath_metadata__incref(const ath_metadata *md) { atomic_fetch_add(&((ath_metadata *)md)->refs, 1); }

void ath_metadata__decref(const ath_metadata *cmd)
{
	ath_metadata *md = (ath_metadata *)cmd;
	if (md && atomic_fetch_sub(&md->refs, 1) == 1) {
		md->magic = 0;
		msgpack_zone_destroy(&md->zone);
		ath_arena__free(&md->arena);
		ath__free(md);
	}
}

int ath_metadata__create(ath_metadata **out, const void *spec, size_t len, const ath_wire_limits *lim, ath_err *err)
{
	*out = NULL;
	if (!spec || len == 0)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "no schema spec given");
	int rc = ath_wire__validate(spec, len, lim, "spec", err);
	if (rc)
		return rc;
	ath_metadata *md = ath__calloc(1, sizeof *md);
	if (!md)
		return ath_err__oom(err);
	if (!msgpack_zone_init(&md->zone, 4096)) {
		ath__free(md);
		return ath_err__oom(err);
	}
	ath_arena__init(&md->arena, 8192);
	atomic_init(&md->refs, 1);
	msgpack_object root;
	size_t off = 0;
	/* msgpack-c's objects point into the bytes they were unpacked from: keep a copy */
	void *copy = ath_arena__alloc(&md->arena, len);
	msgpack_unpack_return ur = copy ? (memcpy(copy, spec, len), msgpack_unpack(copy, len, &off, &md->zone, &root))
					: MSGPACK_UNPACK_NOMEM_ERROR;
	if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
		rc = ath_err__oom(err);
	else if (ur != MSGPACK_UNPACK_SUCCESS)
		rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "spec: not valid msgpack");
	else {
		dec d = { .arena = &md->arena, .err = err };
		rc = decode_metadata(&d, &root, md);
	}
	if (rc) {
		ath_metadata__decref(md);
		return rc;
	}
	md->magic = ATH_MAGIC_METADATA;
	*out = md;
	return 0;
}
