/* query.c — ORM statements (docs/orm.md "Statements") into Core shapes, and their execution
 * (context.py's ORMSelectCompileState, loading.py's instances()): `["entity", cls]` in a select's
 * columns expands to the mapper's columns and comes back as objects, `["attr", cls, name]` is the
 * mapped column, a join whose right side is `["rel", cls, name]` takes its ON clause from the
 * relationship, "options" name relationships to selectin-load and "execution_options" may ask for
 * populate_existing. Everything else passes through to the Core compiler unchanged. */
#include "orm/orm.h"

#include <string.h>

#include "util/alloc.h"
#include "wire/mpbuf.h"

typedef const msgpack_object mobj;

static bool str_is(mobj *o, const char *s)
{
	size_t n = strlen(s);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

static bool is_form(mobj *o, const char *kind, uint32_t arity)
{
	return o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == arity + 1 && str_is(&o->via.array.ptr[0], kind);
}

/* a str object as a C string in `buf` */
static const char *cstr(mobj *o, char *buf, size_t cap)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap)
		return NULL;
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = 0;
	return memchr(buf, 0, o->via.str.size) ? NULL : buf;
}

static int orm_error(ath_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int orm_error(ath_err *err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "%s", msg);
}

static const ath_mapper *mapper_of(mobj *name, const ath_registry *reg, ath_err *err)
{
	char buf[256];
	const char *n = cstr(name, buf, sizeof buf);
	const ath_mapper *m = n ? ath_registry__mapper(reg, n) : NULL;
	if (!m)
		orm_error(err, "class '%.*s' is not mapped", name->type == MSGPACK_OBJECT_STR ? (int)name->via.str.size : 1,
			  name->type == MSGPACK_OBJECT_STR ? name->via.str.ptr : "?");
	return m;
}

/* ["attr", cls, name] / ["rel", cls, name]: the attribute index, or -1 (error set) */
static int attr_of(mobj *o, const ath_registry *reg, const ath_mapper **m, ath_err *err)
{
	*m = mapper_of(&o->via.array.ptr[1], reg, err);
	if (!*m)
		return -1;
	char buf[256];
	const char *n = cstr(&o->via.array.ptr[2], buf, sizeof buf);
	int a = n ? ath_mapper__attr(*m, n) : -1;
	if (a < 0)
		orm_error(err, "%s has no attribute '%s'", (*m)->name, n ? n : "?");
	return a;
}

/* ON clause of a relationship join, from the owner table to the target table (M2O / O2M) */
static int pack_rel_on(msgpack_packer *pk, const ath_rel *r)
{
	const ath_mapper *o = r->owner, *t = r->target;
	int rc = 0;
	if (r->npairs > 1)
		rc |= msgpack_pack_array(pk, r->npairs + 1) | ath_wire__pack_cstr(pk, "and");
	for (uint32_t i = 0; i < r->npairs; i++)
		rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "=") |
		      ath_mp__col(pk, o->table->name, o->props[r->local[i]].col->name) |
		      ath_mp__col(pk, t->table->name, t->props[r->remote[i]].col->name);
	return rc;
}

static int pack_sec_on(msgpack_packer *pk, const ath_mapper *m, const ath_table *sec, const uint32_t *props,
		       const ath_column **cols, uint32_t n)
{
	int rc = 0;
	if (n > 1)
		rc |= msgpack_pack_array(pk, n + 1) | ath_wire__pack_cstr(pk, "and");
	for (uint32_t i = 0; i < n; i++)
		rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "=") |
		      ath_mp__col(pk, m->table->name, m->props[props[i]].col->name) |
		      ath_mp__col(pk, sec->name, cols[i]->name);
	return rc;
}

static int pack_obj(msgpack_packer *pk, mobj *o, const ath_registry *reg, ath_err *err);

/* ["join", left, ["rel", cls, name], on?, kind?] */
static int pack_join(msgpack_packer *pk, mobj *o, const ath_registry *reg, ath_err *err)
{
	mobj *a = o->via.array.ptr;
	uint32_t n = o->via.array.size;
	if (n < 4 || !is_form(&a[2], "rel", 2))
		return -2; /* not a relationship join */
	const ath_mapper *m;
	int at = attr_of(&a[2], reg, &m, err);
	if (at < 0)
		return ATH_EINVALID;
	if ((uint32_t)at < m->nprops)
		return orm_error(err, "%s.%s is not a relationship", m->name, m->props[at].name);
	const ath_rel *r = &m->rels[at - (int)m->nprops];
	if (a[3].type != MSGPACK_OBJECT_NIL)
		return orm_error(err, "a join along %s.%s takes its ON clause from the relationship (give nil)", m->name,
				 r->name);
	mobj *kind = n > 4 ? &a[4] : NULL;
	int rc = 0;
	if (r->dir == ATH_REL_M2M) {
		/* left JOIN secondary ON owner = secondary JOIN target ON secondary = target */
		rc |= msgpack_pack_array(pk, kind ? 5 : 4) | ath_wire__pack_cstr(pk, "join");
		rc |= msgpack_pack_array(pk, kind ? 5 : 4) | ath_wire__pack_cstr(pk, "join");
		if (pack_obj(pk, &a[1], reg, err))
			return err->code ? err->code : ath_err__oom(err);
		rc |= ath_mp__table(pk, r->secondary) |
		      pack_sec_on(pk, r->owner, r->secondary, r->sec_local_prop, r->sec_local_col, r->nsec_local);
		if (kind)
			rc |= msgpack_pack_object(pk, *kind);
		rc |= ath_mp__table(pk, r->target->table) |
		      pack_sec_on(pk, r->target, r->secondary, r->sec_remote_prop, r->sec_remote_col, r->nsec_remote);
	} else {
		rc |= msgpack_pack_array(pk, kind ? 5 : 4) | ath_wire__pack_cstr(pk, "join");
		if (pack_obj(pk, &a[1], reg, err))
			return err->code ? err->code : ath_err__oom(err);
		rc |= ath_mp__table(pk, r->target->table) | pack_rel_on(pk, r);
	}
	if (kind)
		rc |= msgpack_pack_object(pk, *kind);
	return rc ? ath_err__oom(err) : 0;
}

/* Any value, with ORM references translated. */
static int pack_obj(msgpack_packer *pk, mobj *o, const ath_registry *reg, ath_err *err)
{
	if (o->type == MSGPACK_OBJECT_MAP) {
		int rc = msgpack_pack_map(pk, o->via.map.size);
		for (uint32_t i = 0; i < o->via.map.size && !rc; i++) {
			rc = msgpack_pack_object(pk, o->via.map.ptr[i].key);
			if (!rc)
				rc = pack_obj(pk, &o->via.map.ptr[i].val, reg, err);
		}
		return rc ? (err->code ? err->code : ath_err__oom(err)) : 0;
	}
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return msgpack_pack_object(pk, *o) ? ath_err__oom(err) : 0;
	mobj *a = o->via.array.ptr;
	if (!o->via.array.size || a[0].type != MSGPACK_OBJECT_STR)
		goto elements; /* a list of expressions */
	if (is_form(o, "attr", 2)) {
		const ath_mapper *m;
		int at = attr_of(o, reg, &m, err);
		if (at < 0)
			return ATH_EINVALID;
		if ((uint32_t)at >= m->nprops)
			return orm_error(err, "%s.%s is a relationship: compare objects or join along it instead", m->name,
					 m->rels[at - (int)m->nprops].name);
		return ath_mp__col(pk, m->table->name, m->props[at].col->name) ? ath_err__oom(err) : 0;
	}
	if (is_form(o, "entity", 1)) {
		/* outside a columns list (FROM items): the mapped table */
		const ath_mapper *m = mapper_of(&a[1], reg, err);
		if (!m)
			return ATH_EINVALID;
		return ath_mp__table(pk, m->table) ? ath_err__oom(err) : 0;
	}
	if (str_is(&a[0], "rel") || str_is(&a[0], "aliased"))
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
				    "[\"%.*s\", ...] is supported only as the right side of a join yet",
				    (int)a[0].via.str.size, a[0].via.str.ptr);
	if (str_is(&a[0], "join")) {
		int rc = pack_join(pk, o, reg, err);
		if (rc != -2)
			return rc;
	}
elements:;
	int rc = msgpack_pack_array(pk, o->via.array.size);
	for (uint32_t i = 0; i < o->via.array.size && !rc; i++)
		rc = pack_obj(pk, &a[i], reg, err);
	return rc ? (err->code ? err->code : ath_err__oom(err)) : 0;
}

int ath_query__pack_expr(msgpack_packer *pk, const msgpack_object *e, const ath_registry *reg, ath_err *err)
{
	return pack_obj(pk, e, reg, err);
}

/* ---- statements ------------------------------------------------------------------------------- */

#define MAX_ENTITIES 16
#define MAX_PATHS 16
#define MAX_PATH_LEN 8

typedef struct orm_plan {
	uint32_t nent;
	struct {
		const ath_mapper *m;
		uint32_t col, ncols;
	} ent[MAX_ENTITIES];
	uint32_t ncols_out;            /* result columns after expansion */
	uint32_t npaths;
	const ath_rel *paths[MAX_PATHS][MAX_PATH_LEN];
	uint32_t pathlen[MAX_PATHS];
	bool populate_existing;
} orm_plan;

static int pack_columns(msgpack_packer *pk, mobj *cols, const ath_registry *reg, orm_plan *plan, ath_err *err)
{
	if (cols->type != MSGPACK_OBJECT_ARRAY)
		return pack_obj(pk, cols, reg, err);
	uint32_t n = 0;
	for (uint32_t i = 0; i < cols->via.array.size; i++) {
		mobj *c = &cols->via.array.ptr[i];
		if (is_form(c, "entity", 1)) {
			const ath_mapper *m = mapper_of(&c->via.array.ptr[1], reg, err);
			if (!m)
				return ATH_EINVALID;
			if (plan->nent == MAX_ENTITIES)
				return orm_error(err, "more than %d entities in one select", MAX_ENTITIES);
			plan->ent[plan->nent].m = m;
			plan->ent[plan->nent].col = n;
			plan->ent[plan->nent].ncols = ath_mapper__nloaded(m);
			n += plan->ent[plan->nent++].ncols;
		} else
			n++;
	}
	plan->ncols_out = n;
	int rc = msgpack_pack_array(pk, n);
	for (uint32_t i = 0; i < cols->via.array.size && !rc; i++) {
		mobj *c = &cols->via.array.ptr[i];
		if (is_form(c, "entity", 1)) {
			const ath_mapper *m = mapper_of(&c->via.array.ptr[1], reg, err);
			for (uint32_t j = 0; j < m->nprops && !rc; j++)
				if (!m->props[j].deferred)
					rc = ath_mp__col(pk, m->table->name, m->props[j].col->name);
			if (rc)
				return ath_err__oom(err);
		} else
			rc = pack_obj(pk, c, reg, err);
	}
	return rc;
}

/* "options": [["selectinload", [cls, rel], [cls, rel], ...], ...] */
static int read_options(mobj *v, const ath_registry *reg, orm_plan *plan, ath_err *err)
{
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return orm_error(err, "options must be an array of loader options");
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		mobj *opt = &v->via.array.ptr[i];
		if (opt->type != MSGPACK_OBJECT_ARRAY || !opt->via.array.size || opt->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
			return orm_error(err, "options[%u]: a loader option is [name, ...]", i);
		mobj *name = &opt->via.array.ptr[0];
		if (!str_is(name, "selectinload"))
			return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					    "options[%u]: loader option '%.*s' is not supported yet (selectinload is)", i,
					    (int)name->via.str.size, name->via.str.ptr);
		if (plan->npaths == MAX_PATHS || opt->via.array.size - 1 > MAX_PATH_LEN || opt->via.array.size < 2)
			return orm_error(err, "options[%u]: a selectinload path has 1 to %d steps (and at most %d paths)", i,
					 MAX_PATH_LEN, MAX_PATHS);
		uint32_t p = plan->npaths++;
		plan->pathlen[p] = opt->via.array.size - 1;
		for (uint32_t j = 1; j < opt->via.array.size; j++) {
			mobj *step = &opt->via.array.ptr[j];
			if (step->type != MSGPACK_OBJECT_ARRAY || step->via.array.size != 2)
				return orm_error(err, "options[%u][%u]: a path step is [class, relationship]", i, j);
			msgpack_object_array pa = step->via.array;
			msgpack_object fake[3] = { { .type = MSGPACK_OBJECT_STR }, pa.ptr[0], pa.ptr[1] };
			msgpack_object form = { .type = MSGPACK_OBJECT_ARRAY, .via.array = { 3, fake } };
			const ath_mapper *m;
			int at = attr_of(&form, reg, &m, err);
			if (at < 0)
				return ATH_EINVALID;
			if ((uint32_t)at < m->nprops)
				return orm_error(err, "options[%u][%u]: %s.%s is not a relationship", i, j, m->name,
						 m->props[at].name);
			const ath_rel *r = &m->rels[at - (int)m->nprops];
			if (j > 1 && plan->paths[p][j - 2]->target != r->owner)
				return orm_error(err, "options[%u][%u]: %s.%s does not continue the path", i, j, m->name, r->name);
			plan->paths[p][j - 1] = r;
		}
	}
	return 0;
}

static int read_exec_options(mobj *v, orm_plan *plan, ath_err *err)
{
	if (v->type != MSGPACK_OBJECT_MAP)
		return orm_error(err, "execution_options must be a map");
	for (uint32_t i = 0; i < v->via.map.size; i++) {
		mobj *k = &v->via.map.ptr[i].key, *val = &v->via.map.ptr[i].val;
		if (str_is(k, "populate_existing") && val->type == MSGPACK_OBJECT_BOOLEAN)
			plan->populate_existing = val->via.boolean;
		else
			return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					    "execution option '%.*s' is not supported yet (populate_existing is)",
					    k->type == MSGPACK_OBJECT_STR ? (int)k->via.str.size : 1,
					    k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?");
	}
	return 0;
}

/* the statement map: ORM keys consumed, the rest translated */
static int pack_statement(msgpack_packer *pk, mobj *st, const ath_registry *reg, orm_plan *plan, ath_err *err)
{
	if (st->type != MSGPACK_OBJECT_MAP)
		return pack_obj(pk, st, reg, err);
	uint32_t keep = 0;
	bool is_select = false;
	for (uint32_t i = 0; i < st->via.map.size; i++) {
		mobj *k = &st->via.map.ptr[i].key;
		keep += !(str_is(k, "options") || str_is(k, "execution_options"));
		if (str_is(k, "k") && str_is(&st->via.map.ptr[i].val, "select"))
			is_select = true;
	}
	int rc = msgpack_pack_map(pk, keep);
	for (uint32_t i = 0; i < st->via.map.size && !rc; i++) {
		mobj *k = &st->via.map.ptr[i].key, *v = &st->via.map.ptr[i].val;
		if (str_is(k, "options"))
			rc = read_options(v, reg, plan, err);
		else if (str_is(k, "execution_options"))
			rc = read_exec_options(v, plan, err);
		else if (msgpack_pack_object(pk, *k))
			rc = ath_err__oom(err);
		else if (is_select && str_is(k, "columns"))
			rc = pack_columns(pk, v, reg, plan, err);
		else
			rc = pack_obj(pk, v, reg, err);
	}
	return rc;
}

/* load path p's relationships level by level, from the result's objects */
static int run_path(ath_session *s, const orm_plan *plan, uint32_t p, ath_obj **objs, size_t n, ath_err *err)
{
	ath_obj **level = objs;
	size_t nlevel = n;
	ath_obj **next = NULL;
	int rc = 0;
	for (uint32_t step = 0; step < plan->pathlen[p] && !rc && nlevel; step++) {
		const ath_rel *r = plan->paths[p][step];
		rc = ath_load__selectin(s, level, nlevel, r, err);
		if (rc)
			break;
		/* the next level: every object this step's relationship holds */
		size_t cap = 0, nn = 0;
		ath_obj **nx = NULL;
		for (size_t i = 0; i < nlevel && !rc; i++) {
			if (level[i]->m != r->owner)
				continue;
			ath_relval *rv = &level[i]->rels[r->idx];
			for (uint32_t j = 0; j < rv->n; j++) {
				if (nn == cap) {
					cap = cap ? cap * 2 : 64;
					ath_obj **g = ath__realloc(nx, sizeof *g * cap);
					if (!g) {
						rc = ath_err__oom(err);
						break;
					}
					nx = g;
				}
				rv->items[j]->host_refs++;
				nx[nn++] = rv->items[j];
			}
		}
		if (next) {
			for (size_t i = 0; i < nlevel; i++)
				ath_obj__decref(next[i]);
			ath__free(next);
		}
		next = level = nx;
		nlevel = nn;
	}
	if (next) {
		for (size_t i = 0; i < nlevel; i++)
			ath_obj__decref(next[i]);
		ath__free(next);
	}
	return rc;
}

int ath_query__execute(ath_buf *out, ath_session *s, const void *shape, size_t len, const void *params, size_t plen,
		       uint32_t flags, ath_err *err)
{
	int rc = ath_session__usable(s, err);
	if (rc)
		return rc;
	if (!shape || !len)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "no statement shape given");
	ath_wire_limits lim = s->engine->limits;
	if ((rc = ath_wire__validate(shape, len, &lim, "shape", err)))
		return rc;
	if ((rc = ath_session__autoflush(s, err)))
		return rc;
	ath_session__unpin_all(s);
	msgpack_zone z;
	if (!msgpack_zone_init(&z, 2048))
		return ath_err__oom(err);
	msgpack_object root;
	size_t off = 0;
	if (msgpack_unpack(shape, len, &off, &z, &root) != MSGPACK_UNPACK_SUCCESS) {
		msgpack_zone_destroy(&z);
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "shape: not valid msgpack");
	}
	orm_plan plan = { 0 };
	ath_buf core = ATH_BUF_INIT, rows = ATH_BUF_INIT;
	msgpack_packer cp;
	ath_wire__packer_init(&cp, &core);
	rc = pack_statement(&cp, &root, s->reg, &plan, err);
	msgpack_zone_destroy(&z);
	if (!rc)
		rc = ath_load__run(s, core.ptr, core.size, params, plen, &rows, err);
	ath_buf_dispose(&core);
	if (rc) {
		ath_buf_dispose(&rows);
		return rc;
	}
	/* rows: entity columns become object references */
	const unsigned char *p = rows.ptr, *end = rows.ptr + rows.size;
	uint32_t nrows = 0;
	p = ath_mp__array(p, end, &nrows);
	if (!p) {
		ath_buf_dispose(&rows);
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
	}
	if ((flags & (ATH_ROWS_ONE | ATH_ROWS_ONE_OR_NONE)) && nrows > 1)
		rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_MULTIPLE_RESULTS_FOUND,
				  "Multiple rows were found when exactly one was required");
	else if ((flags & ATH_ROWS_ONE) && nrows == 0)
		rc = ath_err__set(err, ATH_ENOTFOUND, ATH_ERRCLASS_NO_RESULT_FOUND,
				  "No row was found when one was required");
	uint32_t keep = (flags & ATH_ROWS_FIRST) && nrows > 1 ? 1 : nrows;
	msgpack_packer op;
	ath_wire__packer_init(&op, out);
	if (!rc && msgpack_pack_array(&op, keep))
		rc = ath_err__oom(err);
	ath_obj **objs = NULL;
	size_t nobjs = 0;
	if (!rc && plan.nent && keep && !(objs = ath__malloc(sizeof *objs * keep * plan.nent)))
		rc = ath_err__oom(err);
	for (uint32_t r = 0; r < keep && !rc; r++) {
		uint32_t ncols;
		const unsigned char *vals[512];
		uint32_t lens[512];
		p = ath_mp__array(p, end, &ncols);
		if (!p || ncols > 512 || (plan.nent && ncols != plan.ncols_out)) {
			rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
			break;
		}
		for (uint32_t c = 0; c < ncols; c++) {
			const unsigned char *q = ath_mp__skip(p, end);
			if (!q) {
				rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
				break;
			}
			vals[c] = p;
			lens[c] = (uint32_t)(q - p);
			p = q;
		}
		if (rc)
			break;
		uint32_t outcols = ncols;
		for (uint32_t e = 0; e < plan.nent; e++)
			outcols -= plan.ent[e].ncols - 1;
		if (!(flags & ATH_ROWS_SCALARS) && msgpack_pack_array(&op, outcols)) {
			rc = ath_err__oom(err);
			break;
		}
		uint32_t c = 0, e = 0, emitted = 0;
		while (c < ncols && !rc) {
			if (e < plan.nent && plan.ent[e].col == c) {
				ath_obj *o;
				rc = ath_load__instance(&o, s, plan.ent[e].m, vals + c, lens + c, plan.populate_existing, err);
				if (rc)
					break;
				if (ath_session__pin(s, o) < 0) {
					rc = ath_err__oom(err);
					break;
				}
				objs[nobjs++] = o;
				if (!(flags & ATH_ROWS_SCALARS) || emitted == 0)
					rc = ath_obj__pack_ref(&op, o) ? ath_err__oom(err) : 0;
				c += plan.ent[e++].ncols;
			} else {
				if (!(flags & ATH_ROWS_SCALARS) || emitted == 0)
					rc = ath_wire__buf_write(out, (const char *)vals[c], lens[c]) ? ath_err__oom(err) : 0;
				c++;
			}
			emitted++;
		}
	}
	ath_buf_dispose(&rows);
	if (!rc && nobjs)
		rc = ath_load__eager(s, objs, nobjs, err);
	for (uint32_t i = 0; i < plan.npaths && !rc; i++)
		rc = run_path(s, &plan, i, objs, nobjs, err);
	ath__free(objs);
	if (rc)
		out->size = 0;
	return rc;
}
