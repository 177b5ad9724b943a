/* reflect.c — the Inspector and whole-database reflection: catalog queries run as text statements
 * with bound values through the engine's own connection path (ath_conn__execute), rows read from
 * result batches, the per-dialect ath_reflect_ops (reflect_<db>.c) filling a small table model,
 * packed here either as SQLAlchemy's Inspector dicts or as a schema spec (docs/schema-spec.md
 * "Reflection"). Mirrors sqlalchemy/engine/reflection.py (Inspector.get_*, reflect_table) and
 * sqlacodegen's spec-as-seed idea; catalog SQL lives in reflect_<db>.c, not here. */
#include "schema/reflect.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conn/internal.h"
#include "dialects/ddl_dialect.h"
#include "util/alloc.h"
#include "util/strbuf.h"
#include "wire/mpbuf.h"

/* ---- catalog queries ------------------------------------------------------------------------- */

int ath_rf__query(ath_rf *rf, ath_rf_rows *out, const char *sql, uint32_t nparams, const char *const *params)
{
	memset(out, 0, sizeof *out);
	msgpack_zone_init(&out->zone, 4096);
	ath_buf shape = ATH_BUF_INIT, pbuf = ATH_BUF_INIT;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, &shape);
	int bad = msgpack_pack_map(&pk, nparams ? 3 : 2);
	bad |= ath_wire__pack_cstr(&pk, "k") | ath_wire__pack_cstr(&pk, "text");
	bad |= ath_wire__pack_cstr(&pk, "sql") | ath_wire__pack_cstr(&pk, sql);
	if (nparams) {
		bad |= ath_wire__pack_cstr(&pk, "binds") | msgpack_pack_map(&pk, nparams);
		for (uint32_t i = 0; i < nparams; i++) {
			char name[2] = { (char)('a' + i), 0 };
			bad |= ath_wire__pack_cstr(&pk, name) | msgpack_pack_array(&pk, 2);
			bad |= ath_wire__pack_cstr(&pk, "bind") | msgpack_pack_uint32(&pk, i);
		}
	}
	ath_wire__packer_init(&pk, &pbuf);
	bad |= msgpack_pack_array(&pk, nparams);
	for (uint32_t i = 0; i < nparams; i++)
		bad |= params[i] ? ath_wire__pack_cstr(&pk, params[i]) : msgpack_pack_nil(&pk);
	int rc = bad ? ath_rf__oom(rf) : 0;
	ath_result *res = NULL;
	if (!rc)
		rc = ath_conn__execute(&res, rf->conn, shape.ptr, shape.size, pbuf.ptr, pbuf.size, 0, 0, rf->err);
	if (!rc) {
		rc = ath_result__fetch(&out->buf, res, SIZE_MAX, rf->err);
		if (rc == ATH_ITEROVER)
			rc = 0;
		else if (!rc && out->buf.size) {
			msgpack_object o;
			size_t off = 0;
			if (msgpack_unpack((const char *)out->buf.ptr, out->buf.size, &off, &out->zone, &o) != MSGPACK_UNPACK_SUCCESS ||
			    o.type != MSGPACK_OBJECT_ARRAY)
				rc = ath_err__set(rf->err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "reflection: unreadable result batch");
			else {
				out->row = o.via.array.ptr;
				out->n = o.via.array.size;
			}
		}
	}
	if (res)
		ath_result__close(res);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&pbuf);
	if (rc)
		ath_rf__rows_free(out);
	if (rc == ATH_ENOMEM)
		rf->oom = 1;
	return rc;
}

void ath_rf__rows_free(ath_rf_rows *r)
{
	msgpack_zone_destroy(&r->zone);
	ath_buf_dispose(&r->buf);
	r->row = NULL;
	r->n = 0;
}

static const msgpack_object *cell(const msgpack_object *r, uint32_t i)
{
	return r->type == MSGPACK_OBJECT_ARRAY && i < r->via.array.size ? &r->via.array.ptr[i] : NULL;
}

const char *ath_rf__dup(ath_rf *rf, const char *s, size_t n)
{
	char *d = ath_arena__strndup(&rf->arena, s, n);
	if (!d)
		ath_rf__oom(rf);
	return d;
}

const char *ath_rf__str(ath_rf *rf, const msgpack_object *r, uint32_t i)
{
	const msgpack_object *c = cell(r, i);
	char num[32];
	if (!c || c->type == MSGPACK_OBJECT_NIL)
		return NULL;
	if (c->type == MSGPACK_OBJECT_STR || c->type == MSGPACK_OBJECT_BIN)
		return ath_rf__dup(rf, c->via.str.ptr, c->via.str.size);
	if (c->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		snprintf(num, sizeof num, "%llu", (unsigned long long)c->via.u64);
	else if (c->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		snprintf(num, sizeof num, "%lld", (long long)c->via.i64);
	else if (c->type == MSGPACK_OBJECT_BOOLEAN)
		snprintf(num, sizeof num, "%s", c->via.boolean ? "1" : "0");
	else
		return NULL;
	return ath_rf__dup(rf, num, strlen(num));
}

int64_t ath_rf__int(const msgpack_object *r, uint32_t i, int64_t dflt)
{
	const msgpack_object *c = cell(r, i);
	if (!c)
		return dflt;
	switch (c->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: return c->via.u64 > INT64_MAX ? INT64_MAX : (int64_t)c->via.u64;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return c->via.i64;
	case MSGPACK_OBJECT_BOOLEAN: return c->via.boolean;
	case MSGPACK_OBJECT_STR: {
		char num[32];
		size_t n = c->via.str.size < sizeof num - 1 ? c->via.str.size : sizeof num - 1;
		memcpy(num, c->via.str.ptr, n);
		num[n] = 0;
		char *end;
		long long v = strtoll(num, &end, 10);
		return end == num ? dflt : v;
	}
	default: return dflt;
	}
}

bool ath_rf__bool(const msgpack_object *r, uint32_t i)
{
	const msgpack_object *c = cell(r, i);
	if (c && c->type == MSGPACK_OBJECT_STR)
		return c->via.str.size && strchr("tTyY1", c->via.str.ptr[0]);
	return ath_rf__int(r, i, 0) != 0;
}

void *ath_rf__grow(ath_rf *rf, void *v, uint32_t n, size_t size)
{
	/* arena arrays double at powers of two: copy when n reaches one */
	if (n && (n & (n - 1)))
		return v;
	void *nv = ath_arena__zalloc(&rf->arena, (n ? 2 * n : 4) * size);
	if (!nv) {
		ath_rf__oom(rf);
		return NULL;
	}
	if (n)
		memcpy(nv, v, n * size);
	return nv;
}

int ath_rf__names_push(ath_rf *rf, ath_rf_names *v, const char *s)
{
	const char **nv = ath_rf__grow(rf, v->v, v->n, sizeof *v->v);
	if (!nv)
		return ATH_ENOMEM;
	nv[v->n++] = s;
	v->v = nv;
	return 0;
}

const char *ath_rf__split_type(ath_rf *rf, const char *t, int64_t args[2], uint32_t *nargs)
{
	args[0] = args[1] = -1;
	*nargs = 0;
	const char *paren = strchr(t, '(');
	size_t n = paren ? (size_t)(paren - t) : strlen(t);
	while (n && t[n - 1] == ' ')
		n--;
	char *base = ath_arena__strndup(&rf->arena, t, n);
	if (!base) {
		ath_rf__oom(rf);
		return NULL;
	}
	for (char *p = base; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (paren) {
		const char *p = paren + 1;
		while (*nargs < 2) {
			char *end;
			long long v = strtoll(p, &end, 10);
			if (end == p)
				break;
			args[(*nargs)++] = v;
			p = end;
			while (*p == ' ')
				p++;
			if (*p != ',')
				break;
			p++;
		}
	}
	return base;
}

/* ---- a reflection run ------------------------------------------------------------------------ */

static const ath_reflect_ops *ops_of(ath_engine *e, ath_err *err)
{
	const ath_reflect_ops *o = e->dialect->ddl ? e->dialect->ddl->reflect : NULL;
	if (!o)
		ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR, "reflection is not supported on %s",
			     e->dialect->name);
	return o;
}

static int rf_begin(ath_rf *rf, ath_engine *e, ath_err *err)
{
	memset(rf, 0, sizeof *rf);
	rf->engine = e;
	rf->err = err;
	ath_arena__init(&rf->arena, 8192);
	return ath_engine__connect(&rf->conn, e, err);
}

static void rf_end(ath_rf *rf)
{
	if (rf->conn) {
		ath_err ignored = { 0 };
		ath_conn__rollback(rf->conn, &ignored);
		ath_err__clear(&ignored);
		ath_conn__close(rf->conn);
	}
	ath_arena__free(&rf->arena);
}

static int names(ath_rf *rf, const char *sql, uint32_t nparams, const char *const *params, ath_rf_names *out)
{
	memset(out, 0, sizeof *out);
	if (!sql)
		return 0;
	ath_rf_rows rows;
	int rc = ath_rf__query(rf, &rows, sql, nparams, params);
	for (uint32_t i = 0; !rc && i < rows.n; i++) {
		const char *s = ath_rf__str(rf, &rows.row[i], 0);
		rc = !s ? ath_rf__oom(rf) : ath_rf__names_push(rf, out, s);
	}
	if (!rc)
		ath_rf__rows_free(&rows);
	return rc;
}

/* ---- packing --------------------------------------------------------------------------------- */

typedef struct pk_t {
	msgpack_packer p;
	int bad;
} pk_t;

static void ps(pk_t *k, const char *s) { k->bad |= s ? ath_wire__pack_cstr(&k->p, s) : msgpack_pack_nil(&k->p); }
static void pkey(pk_t *k, const char *key, const char *s) { ps(k, key), ps(k, s); }
static void pint(pk_t *k, int64_t v) { k->bad |= msgpack_pack_int64(&k->p, v); }
static void pbool(pk_t *k, bool b) { k->bad |= b ? msgpack_pack_true(&k->p) : msgpack_pack_false(&k->p); }
static void pmap(pk_t *k, uint32_t n) { k->bad |= msgpack_pack_map(&k->p, n); }
static void parr(pk_t *k, uint32_t n) { k->bad |= msgpack_pack_array(&k->p, n); }
static void pnames(pk_t *k, const ath_rf_names *v)
{
	parr(k, v->n);
	for (uint32_t i = 0; i < v->n; i++)
		ps(k, v->v[i]);
}
static void ptext(pk_t *k, const char *sql) { parr(k, 2), ps(k, "text"), ps(k, sql); }

static void ptype(pk_t *k, const ath_rf_type *t)
{
	uint32_t opts = (t->timezone >= 0) + (t->enum_name != NULL);
	uint32_t n = 1 + t->nargs + (opts ? 1 : 0) + (t->values ? 1 : 0) + (t->item ? 1 : 0) + (t->item && t->dims > 1);
	parr(k, n);
	ps(k, t->name);
	if (t->values) {
		parr(k, t->nvalues);
		for (uint32_t i = 0; i < t->nvalues; i++)
			ps(k, t->values[i]);
	}
	if (t->item)
		ptype(k, t->item);
	if (t->item && t->dims > 1)
		pint(k, t->dims);
	for (uint32_t i = 0; i < t->nargs; i++)
		if (t->args[i] < 0)
			k->bad |= msgpack_pack_nil(&k->p);
		else
			pint(k, t->args[i]);
	if (opts) {
		pmap(k, opts);
		if (t->timezone >= 0)
			ps(k, "timezone"), pbool(k, t->timezone);
		if (t->enum_name)
			pkey(k, "name", t->enum_name);
	}
}

static void pidentity(pk_t *k, const ath_rf_column *c, bool all)
{
	/* the spec leaves out what equals the backend's default for the sequence (PostgreSQL's
	 * CREATE SEQUENCE defaults: minvalue 1 / maxvalue the type's maximum when ascending) */
	int64_t inc = c->id_increment ? c->id_increment : 1;
	bool smin = all || (inc > 0 ? c->id_min != 1 : 0), smax = all || (inc < 0 ? c->id_max != -1 : 0);
	bool sstart = all || c->id_start != (inc > 0 ? c->id_min : c->id_max);
	bool sinc = all || inc != 1, scache = all || c->id_cache > 1, scycle = all || c->id_cycle;
	if (!all && inc > 0 && c->id_max != INT32_MAX && c->id_max != INT64_MAX && c->id_max != INT16_MAX)
		smax = true;
	pmap(k, 1 + smin + smax + sstart + sinc + scache + scycle);
	ps(k, "always"), pbool(k, c->id_always);
	if (sstart)
		ps(k, "start"), pint(k, c->id_start);
	if (sinc)
		ps(k, "increment"), pint(k, inc);
	if (smin)
		ps(k, "minvalue"), pint(k, c->id_min);
	if (smax)
		ps(k, "maxvalue"), pint(k, c->id_max);
	if (scache)
		ps(k, "cache"), pint(k, c->id_cache);
	if (scycle)
		ps(k, "cycle"), pbool(k, c->id_cycle);
}

static void pcolumns(pk_t *k, const ath_rf_table *t)
{
	parr(k, t->ncols);
	for (uint32_t i = 0; i < t->ncols; i++) {
		const ath_rf_column *c = &t->cols[i];
		pmap(k, 6 + (c->computed != NULL) + c->identity);
		pkey(k, "name", c->name);
		ps(k, "type"), ptype(k, &c->type);
		ps(k, "nullable"), pbool(k, c->nullable);
		pkey(k, "default", c->default_);
		ps(k, "autoincrement");
		if (c->autoincrement < 0)
			ps(k, "auto");
		else
			pbool(k, c->autoincrement);
		pkey(k, "comment", c->comment);
		if (c->computed) {
			ps(k, "computed"), pmap(k, 1 + (c->persisted >= 0));
			pkey(k, "sqltext", c->computed);
			if (c->persisted >= 0)
				ps(k, "persisted"), pbool(k, c->persisted);
		}
		if (c->identity)
			ps(k, "identity"), pidentity(k, c, true);
	}
}

static void pfks(pk_t *k, const ath_rf_table *t)
{
	parr(k, t->nfks);
	for (uint32_t i = 0; i < t->nfks; i++) {
		const ath_rf_fk *f = &t->fks[i];
		pmap(k, 6);
		pkey(k, "name", f->name);
		ps(k, "constrained_columns"), pnames(k, &f->cols);
		pkey(k, "referred_schema", f->ref_schema);
		pkey(k, "referred_table", f->ref_table);
		ps(k, "referred_columns"), pnames(k, &f->ref_cols);
		ps(k, "options");
		pmap(k, (f->ondelete != NULL) + (f->onupdate != NULL) + (f->deferrable >= 0) + (f->initially != NULL) +
				(f->match != NULL));
		if (f->ondelete)
			pkey(k, "ondelete", f->ondelete);
		if (f->onupdate)
			pkey(k, "onupdate", f->onupdate);
		if (f->deferrable >= 0)
			ps(k, "deferrable"), pbool(k, f->deferrable);
		if (f->initially)
			pkey(k, "initially", f->initially);
		if (f->match)
			pkey(k, "match", f->match);
	}
}

static void pindex_items(pk_t *k, const ath_rf_index *x, bool spec)
{
	parr(k, x->cols.n);
	for (uint32_t j = 0; j < x->cols.n; j++)
		if (x->cols.v[j] || !spec)
			ps(k, x->cols.v[j]);
		else
			ptext(k, x->exprs.v && x->exprs.v[j] ? x->exprs.v[j] : "");
}

static void pindexes(pk_t *k, const ath_rf_table *t, const char *where_key)
{
	parr(k, t->nindexes);
	for (uint32_t i = 0; i < t->nindexes; i++) {
		const ath_rf_index *x = &t->indexes[i];
		bool has_expr = false;
		for (uint32_t j = 0; j < x->cols.n; j++)
			has_expr |= !x->cols.v[j];
		pmap(k, 3 + has_expr + (x->duplicates_constraint != NULL) + (x->where != NULL));
		pkey(k, "name", x->name);
		ps(k, "column_names"), pindex_items(k, x, false);
		ps(k, "unique"), pbool(k, x->unique);
		if (has_expr) {
			ps(k, "expressions"), parr(k, x->cols.n);
			for (uint32_t j = 0; j < x->cols.n; j++)
				ps(k, x->cols.v[j] ? x->cols.v[j] : x->exprs.v && x->exprs.v[j] ? x->exprs.v[j] : "");
		}
		if (x->duplicates_constraint)
			pkey(k, "duplicates_constraint", x->duplicates_constraint);
		if (x->where) {
			ps(k, "dialect_options"), pmap(k, 1);
			pkey(k, where_key, x->where);
		}
	}
}

static int pack_inspect(ath_buf *out, ath_rf *rf, const ath_reflect_ops *o, int what, const ath_rf_table *t)
{
	pk_t k = { .bad = 0 };
	ath_wire__packer_init(&k.p, out);
	switch (what) {
	case ATH_RF_COLUMNS: pcolumns(&k, t); break;
	case ATH_RF_PK_CONSTRAINT:
		pmap(&k, 2);
		ps(&k, "constrained_columns"), pnames(&k, &t->pk);
		pkey(&k, "name", t->pk_name);
		break;
	case ATH_RF_FOREIGN_KEYS: pfks(&k, t); break;
	case ATH_RF_INDEXES: pindexes(&k, t, o->where_option); break;
	case ATH_RF_UNIQUE_CONSTRAINTS:
		parr(&k, t->nuniques);
		for (uint32_t i = 0; i < t->nuniques; i++) {
			pmap(&k, 2);
			pkey(&k, "name", t->uniques[i].name);
			ps(&k, "column_names"), pnames(&k, &t->uniques[i].cols);
		}
		break;
	case ATH_RF_CHECK_CONSTRAINTS:
		parr(&k, t->nchecks);
		for (uint32_t i = 0; i < t->nchecks; i++) {
			pmap(&k, 2);
			pkey(&k, "name", t->checks[i].name);
			pkey(&k, "sqltext", t->checks[i].sqltext);
		}
		break;
	case ATH_RF_TABLE_COMMENT:
		pmap(&k, 1);
		pkey(&k, "text", t->comment);
		break;
	}
	return k.bad ? ath_rf__oom(rf) : 0;
}

/* ---- the Inspector --------------------------------------------------------------------------- */

int ath_reflect__inspect(ath_buf *out, ath_engine *e, int what, const char *schema, const char *table, ath_err *err)
{
	const ath_reflect_ops *o = ops_of(e, err);
	if (!o)
		return ATH_ERROR;
	if (what < 0 || what >= ATH_RF__COUNT)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "unknown inspection %d", what);
	bool per_table = what >= ATH_RF_COLUMNS && what <= ATH_RF_TABLE_COMMENT;
	if ((per_table || what == ATH_RF_VIEW_DEFINITION) && !table)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "this inspection needs a %s name",
				    per_table ? "table" : "view");
	ath_rf rf;
	int rc = rf_begin(&rf, e, err);
	out->size = 0;
	if (!rc && per_table) {
		ath_rf_table t;
		memset(&t, 0, sizeof t);
		rc = o->table(&rf, schema, table, &t);
		if (!rc)
			rc = pack_inspect(out, &rf, o, what, &t);
	} else if (!rc && what == ATH_RF_VIEW_DEFINITION) {
		ath_rf_names v = { 0 };
		const char *params[2] = { schema, table };
		rc = names(&rf, o->view_definition_sql, 2, params, &v);
		if (!rc && !v.n)
			rc = ath_err__set(err, ATH_ENOTFOUND, ATH_ERRCLASS_NO_SUCH_TABLE_ERROR, "%.200s", table);
		pk_t k = { .bad = 0 };
		ath_wire__packer_init(&k.p, out);
		if (!rc)
			ps(&k, v.v[0]);
		if (!rc && k.bad)
			rc = ath_err__oom(err);
	} else if (!rc) {
		ath_rf_names v = { 0 };
		const char *params[2] = { schema, what == ATH_RF_VIEW_NAMES ? "view" : "table" };
		if (what == ATH_RF_SCHEMA_NAMES)
			rc = names(&rf, o->schema_names_sql, 0, NULL, &v);
		else if (what == ATH_RF_DEFAULT_SCHEMA_NAME)
			rc = names(&rf, o->default_schema_sql, 0, NULL, &v);
		else if (what == ATH_RF_SEQUENCE_NAMES)
			rc = names(&rf, o->sequence_names_sql, 1, params, &v);
		else
			rc = names(&rf, o->table_names_sql, 2, params, &v);
		pk_t k = { .bad = 0 };
		ath_wire__packer_init(&k.p, out);
		if (!rc && what == ATH_RF_DEFAULT_SCHEMA_NAME)
			ps(&k, v.n ? v.v[0] : NULL);
		else if (!rc)
			pnames(&k, &v);
		if (!rc && k.bad)
			rc = ath_err__oom(err);
	}
	if (!rc && rf.oom)
		rc = ath_err__oom(err);
	rf_end(&rf);
	return rc;
}

/* ---- whole-database reflection as a schema spec ---------------------------------------------- */

static bool in_names(const ath_rf_names *v, const char *s)
{
	for (uint32_t i = 0; i < v->n; i++)
		if (v->v[i] && strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

static void spec_column(pk_t *k, const ath_rf_table *t, const ath_rf_column *c)
{
	bool dflt = c->default_ && !c->serial && !c->identity && !c->computed;
	bool autoinc = c->autoincrement == 1 && !c->identity && t->pk.n == 1 && in_names(&t->pk, c->name);
	pmap(k, 3 + dflt + autoinc + (c->comment != NULL) + (c->computed != NULL) + c->identity);
	pkey(k, "name", c->name);
	ps(k, "type"), ptype(k, &c->type);
	ps(k, "nullable"), pbool(k, c->nullable);
	if (dflt)
		ps(k, "server_default"), ptext(k, c->default_);
	if (autoinc)
		ps(k, "autoincrement"), pbool(k, true);
	if (c->comment)
		pkey(k, "comment", c->comment);
	if (c->computed) {
		ps(k, "computed"), pmap(k, 1 + (c->persisted >= 0));
		ps(k, "sql"), ptext(k, c->computed);
		if (c->persisted >= 0)
			ps(k, "persisted"), pbool(k, c->persisted);
	}
	if (c->identity)
		ps(k, "identity"), pidentity(k, c, false);
}

static void spec_table(pk_t *k, const ath_rf_table *t, const char *schema)
{
	uint32_t nidx = 0;
	for (uint32_t i = 0; i < t->nindexes; i++)
		nidx += !t->indexes[i].duplicates_constraint;
	pmap(k, 5 + (schema != NULL));
	pkey(k, "name", t->name);
	if (schema)
		pkey(k, "schema", schema);
	pkey(k, "comment", t->comment);
	ps(k, "columns"), parr(k, t->ncols);
	for (uint32_t i = 0; i < t->ncols; i++)
		spec_column(k, t, &t->cols[i]);
	ps(k, "constraints"), parr(k, (t->pk.n > 0) + t->nfks + t->nuniques + t->nchecks);
	if (t->pk.n) {
		pmap(k, 3);
		pkey(k, "k", "primary_key");
		pkey(k, "name", t->pk_name);
		ps(k, "columns"), pnames(k, &t->pk);
	}
	for (uint32_t i = 0; i < t->nfks; i++) {
		const ath_rf_fk *f = &t->fks[i];
		pmap(k, 5 + (f->ref_schema != NULL) + (f->ondelete != NULL) + (f->onupdate != NULL) + (f->deferrable >= 0) +
				(f->initially != NULL) + (f->match != NULL));
		pkey(k, "k", "foreign_key");
		pkey(k, "name", f->name);
		ps(k, "columns"), pnames(k, &f->cols);
		pkey(k, "ref_table", f->ref_table);
		if (f->ref_schema)
			pkey(k, "ref_schema", f->ref_schema);
		ps(k, "ref_columns"), pnames(k, &f->ref_cols);
		if (f->ondelete)
			pkey(k, "ondelete", f->ondelete);
		if (f->onupdate)
			pkey(k, "onupdate", f->onupdate);
		if (f->deferrable >= 0)
			ps(k, "deferrable"), pbool(k, f->deferrable);
		if (f->initially)
			pkey(k, "initially", f->initially);
		if (f->match)
			pkey(k, "match", f->match);
	}
	for (uint32_t i = 0; i < t->nuniques; i++) {
		pmap(k, 3);
		pkey(k, "k", "unique");
		pkey(k, "name", t->uniques[i].name);
		ps(k, "columns"), pnames(k, &t->uniques[i].cols);
	}
	for (uint32_t i = 0; i < t->nchecks; i++) {
		pmap(k, 3);
		pkey(k, "k", "check");
		pkey(k, "name", t->checks[i].name);
		ps(k, "sql"), ptext(k, t->checks[i].sqltext);
	}
	ps(k, "indexes"), parr(k, nidx);
	for (uint32_t i = 0; i < t->nindexes; i++) {
		const ath_rf_index *x = &t->indexes[i];
		if (x->duplicates_constraint)
			continue;
		pmap(k, 3 + (x->where != NULL));
		pkey(k, "name", x->name);
		ps(k, "columns"), pindex_items(k, x, true);
		ps(k, "unique"), pbool(k, x->unique);
		if (x->where)
			ps(k, "where"), ptext(k, x->where);
	}
}

int ath_reflect__spec(ath_buf *out, ath_engine *e, const char *schema, ath_err *err)
{
	const ath_reflect_ops *o = ops_of(e, err);
	if (!o)
		return ATH_ERROR;
	ath_rf rf;
	int rc = rf_begin(&rf, e, err);
	ath_rf_names tables = { 0 };
	const char *params[2] = { schema, "table" };
	if (!rc)
		rc = names(&rf, o->table_names_sql, 2, params, &tables);
	ath_rf_table *t = NULL;
	if (!rc && tables.n && !(t = ath_arena__zalloc(&rf.arena, tables.n * sizeof *t)))
		rc = ath_err__oom(err);
	for (uint32_t i = 0; !rc && i < tables.n; i++)
		rc = o->table(&rf, schema, tables.v[i], &t[i]);
	if (!rc) {
		pk_t k = { .bad = 0 };
		out->size = 0;
		ath_wire__packer_init(&k.p, out);
		pmap(&k, 2);
		pkey(&k, "k", "metadata");
		ps(&k, "tables"), parr(&k, tables.n);
		for (uint32_t i = 0; i < tables.n; i++)
			spec_table(&k, &t[i], schema);
		if (k.bad)
			rc = ath_err__oom(err);
	}
	if (!rc && rf.oom)
		rc = ath_err__oom(err);
	rf_end(&rf);
	return rc;
}
