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

#define orm_error(err, ...) ath_err__set((err), ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, __VA_ARGS__)

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

/* A class reference: "User" (its table) or ["aliased", "User", "u2"] (an alias of its table).
 * *from is the name its columns are qualified with (the table's, or the alias, copied to `buf`). */
static const ath_mapper *class_ref(mobj *o, const ath_registry *reg, const char **from, char *buf, size_t cap,
				   ath_err *err)
{
	if (is_form(o, "aliased", 2)) {
		const ath_mapper *m = mapper_of(&o->via.array.ptr[1], reg, err);
		const char *alias = m ? cstr(&o->via.array.ptr[2], buf, cap) : NULL;
		if (m && !alias) {
			orm_error(err, "an aliased entity is [\"aliased\", class, name] with a name of at most %zu bytes", cap - 1);
			return NULL;
		}
		if (from)
			*from = alias;
		return m;
	}
	const ath_mapper *m = mapper_of(o, reg, err);
	if (m && from)
		*from = m->table->name;
	return m;
}

/* ["attr", cls, name] / ["rel", cls, name]: the attribute index, or -1 (error set); cls may be
 * an ["aliased", ...] when `from` is given (then *from is the alias, in `buf`) */
static int attr_of_from(mobj *o, const ath_registry *reg, const ath_mapper **m, const char **from, char *buf,
			size_t cap, ath_err *err)
{
	*m = class_ref(&o->via.array.ptr[1], reg, from, buf, cap, err);
	if (!*m)
		return -1;
	char nbuf[256];
	const char *n = cstr(&o->via.array.ptr[2], nbuf, sizeof nbuf);
	int a = n ? ath_mapper__attr(*m, n) : -1;
	if (a < 0)
		orm_error(err, "%s has no attribute '%s'", (*m)->name, n ? n : "?");
	return a;
}

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

/* ON clause of a relationship join, from the owner (as `on`) to the target (as `tn`) (M2O / O2M),
 * without a custom primaryjoin's other terms (pack_rel_cond() adds them) */
static int pack_rel_on(msgpack_packer *pk, const ath_rel *r, const char *on, const char *tn, bool wrap)
{
	const ath_mapper *o = r->owner, *t = r->target;
	int rc = 0;
	if (r->npairs > 1 && wrap)
		rc |= msgpack_pack_array(pk, r->npairs + 1) | ath_wire__pack_cstr(pk, "and");
	for (uint32_t i = 0; i < r->npairs; i++)
		rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "=") |
		      ath_mp__prop_col(pk, o, r->local[i], on) |
		      ath_mp__prop_col(pk, t, r->remote[i], tn);
	return rc;
}

/* mapper (as `mn`) = secondary (as `sn`), for a many-to-many join; `sec_first` writes the
 * secondary's column on the left */
static int pack_sec_on(msgpack_packer *pk, const ath_mapper *m, const char *mn, const char *sn, const uint32_t *props,
		       const ath_column **cols, uint32_t n, bool sec_first)
{
	int rc = 0;
	if (n > 1)
		rc |= msgpack_pack_array(pk, n + 1) | ath_wire__pack_cstr(pk, "and");
	for (uint32_t i = 0; i < n; i++) {
		rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "=");
		if (sec_first)
			rc |= ath_mp__col(pk, sn, cols[i]->name) | ath_mp__prop_col(pk, m, props[i], mn);
		else
			rc |= ath_mp__prop_col(pk, m, props[i], mn) | ath_mp__col(pk, sn, cols[i]->name);
	}
	return rc;
}

/* a FROM item for a table, aliased when `name` is not the table's own */
static int pack_table_as(msgpack_packer *pk, const ath_table *t, const char *name)
{
	if (strcmp(name, t->name) == 0)
		return ath_mp__table(pk, t);
	return msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "alias") | ath_mp__table(pk, t) | ath_wire__pack_cstr(pk, name);
}

/* a mapper's FROM item read as `name`: its table or an alias of it; a joined-table subclass's
 * join of its tables, each aliased after `name` (ath_mapper__table_as) */
static int pack_mapper_as(msgpack_packer *pk, const ath_mapper *m, const char *name)
{
	return m->ntables > 1 ? ath_mp__mapper_from_as(pk, m, name) : pack_table_as(pk, m->table, name);
}

/* Translation state: the registry, and for comparisons with objects the statement's params
 * (object references) and the values appended to them. */
typedef struct tctx {
	const ath_registry *reg;
	ath_session *s;
	const void *params;            /* the statement's params bytes (NULL: none) */
	size_t plen;
	msgpack_zone zone;             /* params unpacked on first need */
	msgpack_object pobj;
	bool unpacked;
	ath_buf extra;                 /* msgpack values appended after the params */
	uint32_t nextra;
	ath_err *err;
	const char *adapt_table, *adapt_to; /* ["col", adapt_table, c] read from adapt_to (an alias) */
} tctx;

static int pack_obj(msgpack_packer *pk, mobj *o, tctx *t);

/* ["join", left, ["rel", cls, name, target_alias?], on?, kind?]: cls may be ["aliased", cls,
 * alias] (the owner side as that alias), and target_alias joins the target as an alias */
static int pack_join(msgpack_packer *pk, mobj *o, tctx *t)
{
	const ath_registry *reg = t->reg;
	ath_err *err = t->err;
	mobj *a = o->via.array.ptr;
	uint32_t n = o->via.array.size;
	if (n < 4 || !(is_form(&a[2], "rel", 2) || is_form(&a[2], "rel", 3)))
		return -2; /* not a relationship join */
	const ath_mapper *m;
	const char *on;
	char obuf[72], tbuf[72];
	int at = attr_of_from(&a[2], reg, &m, &on, obuf, sizeof obuf, err);
	if (at < 0)
		return ATH_EINVALID;
	if ((uint32_t)at < m->nprops)
		return orm_error(err, "%s.%s is not a relationship", m->name, m->props[at].name);
	const ath_rel *r = &m->rels[at - (int)m->nprops];
	if (a[3].type != MSGPACK_OBJECT_NIL)
		return orm_error(err, "a join along %s.%s takes its ON clause from the relationship (give nil)", m->name,
				 r->name);
	const char *tn = r->target->table->name;
	if (a[2].via.array.size == 4 && !(tn = cstr(&a[2].via.array.ptr[3], tbuf, sizeof tbuf)))
		return orm_error(err, "[\"rel\", cls, name, alias]: the alias is a name of at most %zu bytes", sizeof tbuf - 1);
	if (r->target->table == r->owner->table && strcmp(on, tn) == 0) /* the same table (or hierarchy's base) twice */
		return orm_error(err, "a join along the self-referential %s.%s needs an alias for one side", m->name, r->name);
	mobj *kind = n > 4 ? &a[4] : NULL;
	int rc = 0;
	if (r->dir == ATH_REL_M2M) {
		/* left JOIN secondary ON owner = secondary JOIN target ON secondary = target */
		rc |= msgpack_pack_array(pk, kind ? 5 : 4) | ath_wire__pack_cstr(pk, "join");
		rc |= msgpack_pack_array(pk, kind ? 5 : 4) | ath_wire__pack_cstr(pk, "join");
		if (pack_obj(pk, &a[1], t))
			return err->code ? err->code : ath_err__oom(err);
		rc |= ath_mp__table(pk, r->secondary) |
		      pack_sec_on(pk, r->owner, on, r->secondary->name, r->sec_local_prop, r->sec_local_col, r->nsec_local, false);
		if (kind)
			rc |= msgpack_pack_object(pk, *kind);
		rc |= pack_mapper_as(pk, r->target, tn) |
		      pack_sec_on(pk, r->target, tn, r->secondary->name, r->sec_remote_prop, r->sec_remote_col, r->nsec_remote, false);
	} else {
		rc |= msgpack_pack_array(pk, kind ? 5 : 4) | ath_wire__pack_cstr(pk, "join");
		if (pack_obj(pk, &a[1], t))
			return err->code ? err->code : ath_err__oom(err);
		rc |= pack_mapper_as(pk, r->target, tn);
		if (r->nextra) /* a custom primaryjoin: its pairs and its other terms */
			rc |= msgpack_pack_array(pk, r->npairs + r->nextra + 1) | ath_wire__pack_cstr(pk, "and");
		rc |= pack_rel_on(pk, r, on, tn, !r->nextra);
		if (!rc && r->nextra && (rc = ath_query__pack_rel_extra(pk, r, tn, reg, err)))
			return rc;
	}
	if (kind)
		rc |= msgpack_pack_object(pk, *kind);
	return rc ? ath_err__oom(err) : 0;
}

/* Any value, with ORM references translated. */
static int pack_rel_compare(msgpack_packer *pk, mobj *o, tctx *t);

/* ["entity", cls] or ["aliased", cls, name] in a select's columns: loaded as objects */
static bool is_entity(mobj *c) { return is_form(c, "entity", 1) || is_form(c, "aliased", 2); }

static int pack_obj(msgpack_packer *pk, mobj *o, tctx *t)
{
	const ath_registry *reg = t->reg;
	ath_err *err = t->err;
	if (o->type == MSGPACK_OBJECT_MAP) {
		int rc = msgpack_pack_map(pk, o->via.map.size);
		for (uint32_t i = 0; i < o->via.map.size && !rc; i++) {
			rc = msgpack_pack_object(pk, o->via.map.ptr[i].key);
			if (!rc)
				rc = pack_obj(pk, &o->via.map.ptr[i].val, t);
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
		const char *from;
		char fbuf[72];
		int at = attr_of_from(o, reg, &m, &from, fbuf, sizeof fbuf, err);
		if (at < 0)
			return ATH_EINVALID;
		if ((uint32_t)at >= m->nprops)
			return orm_error(err, "%s.%s is a relationship: compare objects or join along it instead", m->name,
					 m->rels[at - (int)m->nprops].name);
		if (t->adapt_table && strcmp(from, t->adapt_table) == 0)
			from = t->adapt_to; /* read through the alias */
		return ath_query__pack_prop(pk, reg, m, (uint32_t)at, from, false, err);
	}
	if (t->adapt_table && is_form(o, "col", 2) && str_is(&a[1], t->adapt_table))
		return msgpack_pack_array(pk, 3) | msgpack_pack_object(pk, a[0]) | ath_wire__pack_cstr(pk, t->adapt_to) |
			       msgpack_pack_object(pk, a[2]) ? ath_err__oom(err) : 0;
	if (is_form(o, "aliased", 2)) { /* as a FROM item: the aliased table */
		const char *from;
		char fbuf[72];
		const ath_mapper *m = class_ref(o, reg, &from, fbuf, sizeof fbuf, err);
		if (!m)
			return ATH_EINVALID;
		return pack_mapper_as(pk, m, from) ? ath_err__oom(err) : 0;
	}
	if (is_form(o, "entity", 1)) {
		/* outside a columns list (FROM items): the mapped table */
		const ath_mapper *m = mapper_of(&a[1], reg, err);
		if (!m)
			return ATH_EINVALID;
		return ath_mp__mapper_from(pk, m) ? ath_err__oom(err) : 0;
	}
	if (o->via.array.size >= 2 && is_form(&a[1], "rel", 2) && !str_is(&a[0], "join"))
		return pack_rel_compare(pk, o, t);
	if (str_is(&a[0], "rel"))
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
				    "[\"rel\", ...] is supported only as the right side of a join or in a comparison");
	if (str_is(&a[0], "join")) {
		int rc = pack_join(pk, o, t);
		if (rc != -2)
			return rc;
	}
elements:;
	int rc = msgpack_pack_array(pk, o->via.array.size);
	for (uint32_t i = 0; i < o->via.array.size && !rc; i++)
		rc = pack_obj(pk, &a[i], t);
	return rc ? (err->code ? err->code : ath_err__oom(err)) : 0;
}

int ath_query__pack_prop(msgpack_packer *pk, const ath_registry *reg, const ath_mapper *m, uint32_t i, const char *from,
			 bool label, ath_err *err)
{
	const ath_prop *p = &m->props[i];
	if (p->col)
		return ath_mp__prop_col(pk, m, i, from) ? ath_err__oom(err) : 0;
	tctx t = { .reg = reg, .err = err };
	if (strcmp(from, m->table->name) != 0) { /* read through an alias */
		t.adapt_table = m->table->name;
		t.adapt_to = from;
	}
	if (label && (msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "label") | ath_wire__pack_cstr(pk, p->name)))
		return ath_err__oom(err);
	int rc = pack_obj(pk, p->expr, &t);
	return rc < 0 && !err->code ? ath_err__oom(err) : rc;
}

int ath_query__pack_rel_extra(msgpack_packer *pk, const ath_rel *r, const char *target_as, const ath_registry *reg,
			      ath_err *err)
{
	tctx t = { .reg = reg, .err = err };
	if (strcmp(target_as, r->target->table->name) != 0) {
		t.adapt_table = r->target->table->name;
		t.adapt_to = target_as;
	}
	for (uint32_t i = 0; i < r->nextra; i++) {
		int rc = pack_obj(pk, r->extra[i], &t);
		if (rc)
			return rc < 0 && !err->code ? ath_err__oom(err) : rc;
	}
	return 0;
}

int ath_query__pack_expr(msgpack_packer *pk, const msgpack_object *e, const ath_registry *reg, ath_err *err)
{
	tctx t = { .reg = reg, .err = err };
	int rc = pack_obj(pk, e, &t);
	return rc < 0 && !err->code ? ath_err__oom(err) : rc;
}

/* ---- relationship comparisons (any, has, contains, == object) ------------------------------- */

/* the statement's params, unpacked on first need */
static const msgpack_object *param(tctx *t, mobj *bind)
{
	if (!is_form(bind, "bind", 1) || bind->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		orm_error(t->err, "an object comparison takes [\"bind\", i] whose value is an object reference");
		return NULL;
	}
	if (!t->unpacked) {
		size_t off = 0;
		if (!t->params || !msgpack_zone_init(&t->zone, 512)) {
			orm_error(t->err, "an object comparison needs params");
			return NULL;
		}
		t->unpacked = true;
		if (msgpack_unpack(t->params, t->plen, &off, &t->zone, &t->pobj) != MSGPACK_UNPACK_SUCCESS ||
		    t->pobj.type != MSGPACK_OBJECT_ARRAY) {
			t->pobj.type = MSGPACK_OBJECT_NIL;
			ath_err__set(t->err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "params: must be an array");
			return NULL;
		}
	}
	uint64_t i = bind->via.array.ptr[1].via.u64;
	if (t->pobj.type != MSGPACK_OBJECT_ARRAY || i >= t->pobj.via.array.size) {
		orm_error(t->err, "a value is required for parameter %llu", (unsigned long long)i);
		return NULL;
	}
	return &t->pobj.via.array.ptr[i];
}

/* the statement's params unpacked (an array), or NULL */
static const msgpack_object *param_array(tctx *t)
{
	if (!t->unpacked && t->params && t->plen) {
		size_t off = 0;
		if (!msgpack_zone_init(&t->zone, 512))
			return NULL;
		t->unpacked = true;
		if (msgpack_unpack(t->params, t->plen, &off, &t->zone, &t->pobj) != MSGPACK_UNPACK_SUCCESS)
			t->pobj.type = MSGPACK_OBJECT_NIL;
	}
	return t->unpacked && t->pobj.type == MSGPACK_OBJECT_ARRAY ? &t->pobj : NULL;
}

/* the object a param references (ext 1 in this session), or NULL with an error */
static ath_obj *param_obj(tctx *t, mobj *bind, const ath_mapper *want)
{
	const msgpack_object *v = param(t, bind);
	if (!v)
		return NULL;
	ath_obj *o = NULL;
	if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == ATH_EXT_OBJREF && v->via.ext.size == 8 && t->s) {
		uint64_t id = 0;
		for (int k = 0; k < 8; k++)
			id = id << 8 | (unsigned char)v->via.ext.ptr[k];
		o = ath_objset__by_id(&t->s->by_id, id);
	}
	if (!o || !ath_mapper__isa(o->m, want)) {
		orm_error(t->err, "parameter %llu must be a reference to a %s object of this session",
			  (unsigned long long)bind->via.array.ptr[1].via.u64, want->name);
		return NULL;
	}
	return o;
}

/* a bind for a value of `o` appended after the params */
static int extra_bind(msgpack_packer *pk, tctx *t, ath_obj *o, uint32_t prop)
{
	int rc = 0;
	if (!o->cur[prop].p && (rc = ath_load__ensure_prop(o, prop, t->err)))
		return rc;
	msgpack_packer xp;
	msgpack_packer_init(&xp, &t->extra, ath_wire__buf_write);
	uint32_t n = t->pobj.type == MSGPACK_OBJECT_ARRAY ? t->pobj.via.array.size : 0;
	const ath_val *v = &o->cur[prop];
	if ((v->p ? ath_wire__buf_write(&t->extra, (const char *)v->p, v->len) : msgpack_pack_nil(&xp)) ||
	    ath_mp__bind(pk, n + t->nextra++))
		return ath_err__oom(t->err);
	return 0;
}

/* EXISTS (SELECT 1 FROM <target or secondary+target> WHERE <join> [AND crit] [AND target key =
 * the key of `keyobj`, bound]). A self-referential relationship reads its target as an alias
 * (`nodes_1`), and the criterion's columns of that class through it, as SQLAlchemy adapts them. */
static int pack_exists(msgpack_packer *pk, const ath_rel *r, mobj *crit, ath_obj *keyobj, tctx *t)
{
	const ath_mapper *own = r->owner, *tgt = r->target;
	char abuf[72];
	const char *tn = tgt->table->name;
	if (tgt->table == own->table) {
		snprintf(abuf, sizeof abuf, "%s_1", tn);
		tn = abuf;
	}
	int rc = msgpack_pack_array(pk, 2) | ath_wire__pack_cstr(pk, "exists") | msgpack_pack_map(pk, 4) |
		 ath_mp__key(pk, "k") | ath_mp__key(pk, "select") | ath_mp__key(pk, "columns") |
		 msgpack_pack_array(pk, 1) | msgpack_pack_array(pk, 2) | ath_wire__pack_cstr(pk, "text") |
		 ath_wire__pack_cstr(pk, "1") | ath_mp__key(pk, "from");
	if (r->secondary)
		rc |= msgpack_pack_array(pk, 2) | ath_mp__table(pk, r->secondary) | pack_mapper_as(pk, tgt, tn);
	else
		rc |= msgpack_pack_array(pk, 1) | pack_mapper_as(pk, tgt, tn);
	uint32_t nconds = r->secondary ? r->nsec_local + r->nsec_remote : r->npairs + r->nextra;
	if (keyobj)
		nconds += tgt->npk;
	rc |= ath_mp__key(pk, "where") | msgpack_pack_array(pk, nconds + 1 + (crit != NULL)) | ath_wire__pack_cstr(pk, "and");
	if (r->secondary) {
		for (uint32_t i = 0; i < r->nsec_local; i++)
			rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "=") |
			      ath_mp__prop_col(pk, own, r->sec_local_prop[i], own->table->name) |
			      ath_mp__col(pk, r->secondary->name, r->sec_local_col[i]->name);
		for (uint32_t i = 0; i < r->nsec_remote; i++)
			rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "=") |
			      ath_mp__prop_col(pk, tgt, r->sec_remote_prop[i], tn) |
			      ath_mp__col(pk, r->secondary->name, r->sec_remote_col[i]->name);
	} else
		rc |= pack_rel_on(pk, r, own->table->name, tn, false);
	if (rc)
		return ath_err__oom(t->err);
	if (!rc && r->nextra)
		rc = ath_query__pack_rel_extra(pk, r, tn, t->reg, t->err);
	for (uint32_t i = 0; keyobj && i < tgt->npk && !rc; i++) {
		rc = msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "=") |
		     ath_mp__col(pk, tn, tgt->props[tgt->pk[i]].col->name) ? ath_err__oom(t->err) : 0;
		if (!rc)
			rc = extra_bind(pk, t, keyobj, tgt->pk[i]);
	}
	if (rc || !crit)
		return rc;
	const char *at = t->adapt_table, *ato = t->adapt_to;
	if (tn == abuf) { /* the criterion's columns of the class: the alias */
		t->adapt_table = tgt->table->name;
		t->adapt_to = tn;
	}
	rc = pack_obj(pk, crit, t);
	t->adapt_table = at;
	t->adapt_to = ato;
	return rc;
}

/* ["any", rel, crit?], ["has", rel, crit?], ["contains", rel, obj], ["=" | "!=", rel, obj],
 * ["is" | "is_not", rel, ["null"]] */
static int pack_rel_compare(msgpack_packer *pk, mobj *o, tctx *t)
{
	mobj *a = o->via.array.ptr;
	uint32_t n = o->via.array.size;
	const ath_mapper *m;
	int at = attr_of(&a[1], t->reg, &m, t->err);
	if (at < 0)
		return ATH_EINVALID;
	if ((uint32_t)at < m->nprops)
		return orm_error(t->err, "%s.%s is not a relationship", m->name, m->props[at].name);
	const ath_rel *r = &m->rels[at - (int)m->nprops];
	bool scalar = r->dir == ATH_REL_M2O;
	if ((str_is(&a[0], "any") && !scalar) || (str_is(&a[0], "has") && scalar)) {
		if (n > 3)
			return orm_error(t->err, "[\"%s\", rel, criterion?]", scalar ? "has" : "any");
		return pack_exists(pk, r, n == 3 ? &a[2] : NULL, NULL, t);
	}
	if (str_is(&a[0], "any") || str_is(&a[0], "has"))
		return orm_error(t->err, "%s.%s: use %s for a %s", m->name, r->name, scalar ? "has" : "any",
				 scalar ? "many-to-one" : "collection");
	if ((str_is(&a[0], "is") || str_is(&a[0], "is_not")) && n == 3 && is_form(&a[2], "null", 0)) {
		bool is = str_is(&a[0], "is");
		if (!scalar) { /* a collection is empty: NOT EXISTS */
			int rc = is ? msgpack_pack_array(pk, 2) | ath_wire__pack_cstr(pk, "not") : 0;
			return rc ? ath_err__oom(t->err) : pack_exists(pk, r, NULL, NULL, t);
		}
		int rc = r->npairs > 1 ? msgpack_pack_array(pk, r->npairs + 1) | ath_wire__pack_cstr(pk, is ? "and" : "or") : 0;
		for (uint32_t i = 0; i < r->npairs; i++)
			rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, is ? "is" : "is_not") |
			      ath_mp__prop_col(pk, m, r->local[i], m->table->name) |
			      msgpack_pack_array(pk, 1) | ath_wire__pack_cstr(pk, "null");
		return rc ? ath_err__oom(t->err) : 0;
	}
	bool eq = str_is(&a[0], "="), ne = str_is(&a[0], "!=");
	if ((eq || ne) && n == 3 && scalar) {
		/* many-to-one: the foreign key against the object's referred values (bound) */
		ath_obj *obj = param_obj(t, &a[2], r->target);
		if (!obj)
			return ATH_EINVALID;
		int rc = 0;
		if (ne) /* != also matches rows with no parent, as SQLAlchemy renders it */
			rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "or");
		if (r->npairs > 1)
			rc |= msgpack_pack_array(pk, r->npairs + 1) | ath_wire__pack_cstr(pk, eq ? "and" : "or");
		for (uint32_t i = 0; i < r->npairs && !rc; i++) {
			rc |= msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, eq ? "=" : "!=") |
			      ath_mp__prop_col(pk, m, r->local[i], m->table->name);
			rc = rc ? ath_err__oom(t->err) : extra_bind(pk, t, obj, r->remote[i]);
		}
		if (ne && !rc)
			rc = msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "is") |
			     ath_mp__prop_col(pk, m, r->local[0], m->table->name) | msgpack_pack_array(pk, 1) |
			     ath_wire__pack_cstr(pk, "null") ? ath_err__oom(t->err) : 0;
		return rc;
	}
	if (str_is(&a[0], "contains") && n == 3 && !scalar) {
		/* the collection holds the object: EXISTS with the object's key bound */
		ath_obj *obj = param_obj(t, &a[2], r->target);
		return obj ? pack_exists(pk, r, NULL, obj, t) : ATH_EINVALID;
	}
	return orm_error(t->err, "unsupported comparison of relationship %s.%s (any, has, contains, =, !=, is and is_not are)",
			 m->name, r->name);
}

/* params + the values object comparisons appended */
static int extend_params(ath_buf *out, tctx *t)
{
	uint32_t n = t->pobj.type == MSGPACK_OBJECT_ARRAY ? t->pobj.via.array.size : 0;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	int rc = msgpack_pack_array(&pk, n + t->nextra);
	const unsigned char *p = t->params, *end = p + t->plen;
	uint32_t pn = 0;
	if (n) {
		p = ath_mp__array(p, end, &pn);
		if (!p)
			return ath_err__set(t->err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "params: must be an array");
		rc |= ath_wire__buf_write(out, (const char *)p, (size_t)(end - p));
	}
	rc |= ath_wire__buf_write(out, (const char *)t->extra.ptr, t->extra.size);
	return rc ? ath_err__oom(t->err) : 0;
}

/* ---- statements ------------------------------------------------------------------------------- */

#define MAX_ENTITIES 16
#define MAX_JOINS 16
#define MAX_PATHS 16
#define MAX_PATH_LEN 8

/* A joined eager load: LEFT OUTER JOIN of the relationship's target (through an aliased secondary
 * for a many-to-many) under an alias, its columns appended to the select's. */
typedef struct join_plan {
	const ath_rel *rel;
	int parent;                    /* entity index >= 0, or -1 - the parent join's index */
	char alias[72], sec_alias[72];
	uint32_t col, ncols;
	bool contains;                 /* contains_eager: the statement joins it itself; only columns are added */
} join_plan;

typedef struct orm_plan {
	uint32_t nent;
	struct {
		const ath_mapper *m;
		uint32_t col, ncols;
		bool *cols;            /* which props are selected (defer / undefer / load_only) */
		char from[72];         /* its columns' qualifier: the table, or the alias of ["aliased", ...] */
	} ent[MAX_ENTITIES];
	uint32_t njoins;
	join_plan joins[MAX_JOINS];
	uint32_t ncols_out;            /* result columns after expansion */
	uint32_t npaths;
	const ath_rel *paths[MAX_PATHS][MAX_PATH_LEN];
	uint8_t path_strat[MAX_PATHS];
	char path_alias[MAX_PATHS][72]; /* contains_eager's alias of the target ("" = its table) */
	uint32_t pathlen[MAX_PATHS];
	ath_loadopts opts;
	bool populate_existing, has_limit, raise_all;
	/* a joined collection under LIMIT / OFFSET: the statement runs as the subquery anon_1 and the
	 * joins go outside it (SQLAlchemy's eager-join wrapping), its one entity read from anon_1 */
	bool wrap;
	/* joined-table subclasses whose attributes the select names without selecting the entity:
	 * their tables' join joins the FROM (a statement without "from") */
	const ath_mapper *jti[8];
	uint32_t njti;
	mobj *columns, *from;
	/* ORM INSERT / UPDATE / DELETE (a "table" that is ["entity", cls]) */
	const ath_mapper *dml;
	char dml_kind;                 /* 'i', 'u', 'd' */
	bool bulk;                     /* by rows of attribute maps in the params */
	int sync;                      /* synchronize_session: 0 false, 'a'uto, 'f'etch, 'e'valuate */
	size_t where_off, where_len;   /* the translated WHERE in the Core shape */
	mobj *where_src, *set_src;     /* as given (for synchronize_session="evaluate") */
	uint32_t nset;
	uint32_t set_props[64];        /* the props an UPDATE sets (expired in the session after it) */
} orm_plan;

static void plan_free(orm_plan *p)
{
	for (uint32_t i = 0; i < p->nent; i++)
		ath__free(p->ent[i].cols);
}

static const struct {
	const char *name;
	uint8_t strat;
} STRATS[] = { { "lazyload", ATH_LAZY_SELECT },	   { "selectinload", ATH_LAZY_SELECTIN }, { "subqueryload", ATH_LAZY_SUBQUERY },
	       { "raiseload", ATH_LAZY_RAISE },	   { "noload", ATH_LAZY_NOLOAD },	  { "joinedload", ATH_LAZY_JOINED },
	       { "contains_eager", ATH_LAZY_CONTAINS } };

/* a path step [cls, rel] */
static const ath_rel *path_step(mobj *step, const ath_registry *reg, uint32_t i, uint32_t j, ath_err *err)
{
	if (step->type != MSGPACK_OBJECT_ARRAY || step->via.array.size != 2) {
		orm_error(err, "options[%u][%u]: a path step is [class, relationship]", i, j);
		return NULL;
	}
	msgpack_object fake[3] = { { .type = MSGPACK_OBJECT_STR }, step->via.array.ptr[0], step->via.array.ptr[1] };
	msgpack_object form = { .type = MSGPACK_OBJECT_ARRAY, .via.array = { 3, fake } };
	const ath_mapper *m;
	int at = attr_of(&form, reg, &m, err);
	if (at < 0)
		return NULL;
	if ((uint32_t)at < m->nprops) {
		orm_error(err, "options[%u][%u]: %s.%s is not a relationship", i, j, m->name, m->props[at].name);
		return NULL;
	}
	return &m->rels[at - (int)m->nprops];
}

/* the entity's selected columns: ["defer", cls, attr], ["undefer", cls, attr], ["load_only", cls, [attrs]] */
static int column_option(mobj *opt, const ath_registry *reg, orm_plan *plan, uint32_t i, ath_err *err)
{
	mobj *a = opt->via.array.ptr;
	bool load_only = str_is(&a[0], "load_only");
	if (opt->via.array.size != 3)
		return orm_error(err, "options[%u]: [\"%s\", class, %s]", i, load_only ? "load_only" : "defer",
				 load_only ? "[attributes]" : "attribute");
	const ath_mapper *m = mapper_of(&a[1], reg, err);
	if (!m)
		return ATH_EINVALID;
	uint32_t e;
	for (e = 0; e < plan->nent && plan->ent[e].m != m; e++)
		;
	if (e == plan->nent)
		return orm_error(err, "options[%u]: %s is not an entity of this select", i, m->name);
	bool *cols = plan->ent[e].cols;
	mobj *names = &a[2];
	uint32_t n = load_only ? (names->type == MSGPACK_OBJECT_ARRAY ? names->via.array.size : 0) : 1;
	if (load_only) {
		if (names->type != MSGPACK_OBJECT_ARRAY)
			return orm_error(err, "options[%u]: load_only takes a list of attributes", i);
		for (uint32_t k = 0; k < m->nprops; k++)
			cols[k] = false;
	}
	for (uint32_t k = 0; k < n; k++) {
		char buf[256];
		const char *name = cstr(load_only ? &names->via.array.ptr[k] : names, buf, sizeof buf);
		int at = name ? ath_mapper__attr(m, name) : -1;
		if (at < 0 || (uint32_t)at >= m->nprops)
			return orm_error(err, "options[%u]: %s has no column attribute '%s'", i, m->name, name ? name : "?");
		cols[at] = !str_is(&a[0], "defer");
	}
	for (uint32_t k = 0; k < m->npk; k++)
		cols[m->pk[k]] = true; /* the identity is always loaded */
	return 0;
}

/* "options": relationship loader options along paths, and column options */
static int read_options(mobj *v, const ath_registry *reg, orm_plan *plan, ath_err *err)
{
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return orm_error(err, "options must be an array of loader options");
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		mobj *opt = &v->via.array.ptr[i];
		if (opt->type != MSGPACK_OBJECT_ARRAY || !opt->via.array.size || opt->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
			return orm_error(err, "options[%u]: a loader option is [name, ...]", i);
		mobj *name = &opt->via.array.ptr[0];
		if (str_is(name, "defer") || str_is(name, "undefer") || str_is(name, "load_only")) {
			int rc = column_option(opt, reg, plan, i, err);
			if (rc)
				return rc;
			continue;
		}
		int strat = -1;
		for (size_t k = 0; k < sizeof STRATS / sizeof *STRATS; k++)
			if (str_is(name, STRATS[k].name))
				strat = STRATS[k].strat;
		if (strat < 0)
			return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
					    "options[%u]: unknown loader option '%.*s' (selectinload, subqueryload, joinedload, "
					    "contains_eager, lazyload, noload, raiseload, defer, undefer and load_only are known)",
					    i, (int)name->via.str.size, name->via.str.ptr);
		if (strat == ATH_LAZY_RAISE && opt->via.array.size == 2 && str_is(&opt->via.array.ptr[1], "*")) {
			plan->raise_all = true; /* raiseload("*"): every relationship of the entities */
			continue;
		}
		if (plan->npaths == MAX_PATHS || opt->via.array.size - 1 > MAX_PATH_LEN || opt->via.array.size < 2)
			return orm_error(err, "options[%u]: a loader path has 1 to %d steps (and at most %d paths)", i,
					 MAX_PATH_LEN, MAX_PATHS);
		uint32_t p = plan->npaths++;
		plan->pathlen[p] = opt->via.array.size - 1;
		plan->path_strat[p] = (uint8_t)strat;
		plan->path_alias[p][0] = 0;
		mobj *last_arg = &opt->via.array.ptr[opt->via.array.size - 1];
		if (strat == ATH_LAZY_CONTAINS && last_arg->type == MSGPACK_OBJECT_STR && opt->via.array.size > 2) {
			/* ["contains_eager", [cls, rel], "alias"]: the target's columns are read from the alias */
			if (!cstr(last_arg, plan->path_alias[p], sizeof plan->path_alias[p]))
				return orm_error(err, "options[%u]: the contains_eager alias is a name of at most %zu bytes", i,
						 sizeof plan->path_alias[p] - 1);
			plan->pathlen[p]--;
		}
		for (uint32_t j = 1; j <= plan->pathlen[p]; j++) {
			const ath_rel *r = path_step(&opt->via.array.ptr[j], reg, i, j, err);
			if (!r)
				return ATH_EINVALID;
			if (j > 1 && plan->paths[p][j - 2]->target != r->owner)
				return orm_error(err, "options[%u][%u]: %s.%s does not continue the path", i, j, r->owner->name,
						 r->name);
			plan->paths[p][j - 1] = r;
		}
		/* the strategy applies to the path's last relationship (the steps before keep theirs) */
		const ath_rel *last = plan->paths[p][plan->pathlen[p] - 1];
		if (plan->opts.n == ATH_MAX_LOADOPTS)
			return orm_error(err, "more than %d loader options", ATH_MAX_LOADOPTS);
		plan->opts.rel[plan->opts.n] = last;
		plan->opts.strat[plan->opts.n++] = (uint8_t)strat;
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

static uint32_t ncols_of(const ath_mapper *m, const bool *cols)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->nprops; i++)
		n += cols ? cols[i] : !m->props[i].deferred;
	return n;
}

static int add_join(orm_plan *plan, const ath_rel *r, int parent, ath_err *err)
{
	for (uint32_t j = 0; j < plan->njoins; j++)
		if (plan->joins[j].rel == r && plan->joins[j].parent == parent)
			return (int)j;
	if (plan->njoins == MAX_JOINS)
		return orm_error(err, "more than %d joined eager loads in one select", MAX_JOINS), -1;
	join_plan *j = &plan->joins[plan->njoins];
	j->rel = r;
	j->parent = parent;
	snprintf(j->alias, sizeof j->alias, "%s_%u", r->target->table->name, plan->njoins + 1);
	if (r->secondary)
		snprintf(j->sec_alias, sizeof j->sec_alias, "%s_%u", r->secondary->name, plan->njoins + 1);
	j->ncols = ath_mapper__nloaded(r->target);
	return (int)plan->njoins++;
}

/* configured lazy="joined" below a join or entity, not through a mapper already on the path */
static int add_default_joins(orm_plan *plan, const ath_mapper *m, int parent, const ath_mapper **chain, int depth,
			     ath_err *err)
{
	if (depth >= MAX_PATH_LEN)
		return 0;
	for (uint32_t i = 0; i < m->nrels; i++) {
		const ath_rel *r = &m->rels[i];
		if (ath_load__strategy(&plan->opts, r) != ATH_LAZY_JOINED || r->lazy != ATH_LAZY_JOINED)
			continue;
		bool seen = r->target == m;
		for (int k = 0; k < depth; k++)
			seen |= chain[k] == r->target;
		if (seen)
			continue;
		int j = add_join(plan, r, parent, err);
		if (j < 0)
			return ATH_EINVALID;
		chain[depth] = m;
		int rc = add_default_joins(plan, r->target, -1 - j, chain, depth + 1, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Record in plan->jti the joined-table subclasses an expression names by ["attr", cls, name]. */
static void scan_joined(mobj *o, const ath_registry *reg, orm_plan *plan)
{
	if (o->type == MSGPACK_OBJECT_MAP) {
		for (uint32_t i = 0; i < o->via.map.size; i++)
			scan_joined(&o->via.map.ptr[i].val, reg, plan);
		return;
	}
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return;
	if (is_form(o, "attr", 2) && o->via.array.ptr[1].type == MSGPACK_OBJECT_STR) {
		char buf[256];
		const char *cls = cstr(&o->via.array.ptr[1], buf, sizeof buf);
		const ath_mapper *m = cls ? ath_registry__mapper(reg, cls) : NULL;
		if (!m || m->ntables < 2)
			return;
		for (uint32_t k = 0; k < plan->nent; k++)
			if (plan->ent[k].m == m)
				return;
		for (uint32_t k = 0; k < plan->njti; k++)
			if (plan->jti[k] == m)
				return;
		if (plan->njti < 8)
			plan->jti[plan->njti++] = m;
		return;
	}
	if (is_form(o, "exists", 1) || is_form(o, "scalar", 1) || is_form(o, "subquery", 2) ||
	    (o->via.array.size >= 2 && (is_form(&o->via.array.ptr[1], "rel", 2) || is_form(&o->via.array.ptr[1], "rel", 3))))
		return; /* nested selects, and relationship comparisons' EXISTS, have FROMs of their own */
	for (uint32_t i = 0; i < o->via.array.size; i++)
		scan_joined(&o->via.array.ptr[i], reg, plan);
}

/* Which entities and joins the select has: from its columns and options, before packing. */
static int plan_statement(mobj *st, const ath_registry *reg, orm_plan *plan, ath_err *err)
{
	mobj *options = NULL;
	for (uint32_t i = 0; i < st->via.map.size; i++) {
		mobj *k = &st->via.map.ptr[i].key, *v = &st->via.map.ptr[i].val;
		if (str_is(k, "columns"))
			plan->columns = v;
		else if (str_is(k, "from"))
			plan->from = v;
		else if (str_is(k, "options"))
			options = v;
		else if ((str_is(k, "limit") || str_is(k, "offset")) && v->type != MSGPACK_OBJECT_NIL)
			plan->has_limit = true;
		else if (str_is(k, "execution_options")) {
			int rc = read_exec_options(v, plan, err);
			if (rc)
				return rc;
		}
	}
	mobj *cols = plan->columns;
	for (uint32_t i = 0; cols && cols->type == MSGPACK_OBJECT_ARRAY && i < cols->via.array.size; i++) {
		mobj *c = &cols->via.array.ptr[i];
		if (!is_entity(c))
			continue;
		if (plan->nent == MAX_ENTITIES)
			return orm_error(err, "more than %d entities in one select", MAX_ENTITIES);
		const char *from;
		char *fbuf = plan->ent[plan->nent].from;
		const ath_mapper *m = is_form(c, "entity", 1) ? mapper_of(&c->via.array.ptr[1], reg, err)
							   : class_ref(c, reg, &from, fbuf, sizeof plan->ent[0].from, err);
		if (!m)
			return ATH_EINVALID;
		if (is_form(c, "entity", 1))
			snprintf(fbuf, sizeof plan->ent[0].from, "%s", m->table->name);
		bool *mask = ath__malloc(m->nprops ? m->nprops : 1);
		if (!mask)
			return ath_err__oom(err);
		for (uint32_t k = 0; k < m->nprops; k++)
			mask[k] = !m->props[k].deferred;
		plan->ent[plan->nent].m = m;
		plan->ent[plan->nent++].cols = mask;
	}
	if (options) {
		int rc = read_options(options, reg, plan, err);
		if (rc)
			return rc;
	}
	/* every option path starts at an entity of the select (SQLAlchemy: "does not apply to any of
	 * the root entities") */
	for (uint32_t p = 0; p < plan->npaths; p++) {
		const ath_mapper *owner = plan->paths[p][0]->owner;
		bool rooted = false;
		for (uint32_t e = 0; e < plan->nent && !rooted; e++)
			rooted = ath_mapper__isa(plan->ent[e].m, owner) || ath_mapper__isa(owner, plan->ent[e].m);
		if (!rooted)
			return orm_error(err, "loader option along %s.%s: mapped class %s does not apply to any of the root "
					      "entities of this select",
					 owner->name, plan->paths[p][0]->name, owner->name);
	}
	/* joins: configured ones from each entity, then the joinedload paths */
	for (uint32_t e = 0; e < plan->nent; e++) {
		const ath_mapper *chain[MAX_PATH_LEN];
		int rc = add_default_joins(plan, plan->ent[e].m, (int)e, chain, 0, err);
		if (rc)
			return rc;
	}
	for (uint32_t p = 0; p < plan->npaths; p++) {
		if (plan->path_strat[p] != ATH_LAZY_JOINED && plan->path_strat[p] != ATH_LAZY_CONTAINS)
			continue;
		uint32_t e;
		for (e = 0; e < plan->nent && plan->ent[e].m != plan->paths[p][0]->owner; e++)
			;
		if (e == plan->nent)
			return orm_error(err, "joinedload of %s.%s: %s is not an entity of this select",
					 plan->paths[p][0]->owner->name, plan->paths[p][0]->name, plan->paths[p][0]->owner->name);
		int parent = (int)e;
		for (uint32_t k = 0; k < plan->pathlen[p]; k++) {
			int j = add_join(plan, plan->paths[p][k], parent, err);
			if (j < 0)
				return ATH_EINVALID;
			if (plan->path_strat[p] == ATH_LAZY_CONTAINS) { /* the statement's own join: read it */
				join_plan *jp = &plan->joins[j];
				jp->contains = true;
				snprintf(jp->alias, sizeof jp->alias, "%s",
					 k + 1 == plan->pathlen[p] && plan->path_alias[p][0] ? plan->path_alias[p]
											  : plan->paths[p][k]->target->table->name);
			}
			parent = -1 - j;
		}
	}
	for (uint32_t j = 0; j < plan->njoins && plan->has_limit; j++)
		plan->wrap |= plan->joins[j].rel->uselist && !plan->joins[j].contains;
	bool contains = false;
	for (uint32_t j = 0; j < plan->njoins; j++)
		contains |= plan->joins[j].contains;
	if (plan->wrap && (plan->nent != 1 || cols->via.array.size != 1 || plan->ent[0].m->ntables > 1 || contains))
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
				    "joined eager loading of a collection with LIMIT/OFFSET is supported for a select of one "
				    "entity (not a joined-table subclass, without contains_eager); use selectinload or "
				    "subqueryload");
	/* the result's column layout */
	uint32_t n = 0;
	for (uint32_t i = 0, e = 0; cols && cols->type == MSGPACK_OBJECT_ARRAY && i < cols->via.array.size; i++) {
		if (is_entity(&cols->via.array.ptr[i])) {
			plan->ent[e].col = n;
			plan->ent[e].ncols = ncols_of(plan->ent[e].m, plan->ent[e].cols);
			n += plan->ent[e++].ncols;
		} else
			n++;
	}
	for (uint32_t j = 0; j < plan->njoins; j++) {
		plan->joins[j].col = n;
		n += plan->joins[j].ncols;
	}
	plan->ncols_out = n;
	for (uint32_t i = 0; !plan->from && i < st->via.map.size; i++) {
		mobj *k = &st->via.map.ptr[i].key;
		if (str_is(k, "columns") || str_is(k, "where") || str_is(k, "order_by") || str_is(k, "group_by") ||
		    str_is(k, "having"))
			scan_joined(&st->via.map.ptr[i].val, reg, plan);
	}
	return 0;
}

static const char *parent_name(const orm_plan *plan, int parent)
{
	return parent >= 0 ? (plan->wrap ? "anon_1" : plan->ent[parent].from) : plan->joins[-1 - parent].alias;
}

static int pack_alias(msgpack_packer *pk, const ath_table *t, const char *alias)
{
	return msgpack_pack_array(pk, 3) | ath_wire__pack_cstr(pk, "alias") | ath_mp__table(pk, t) |
	       ath_wire__pack_cstr(pk, alias);
}


/* The FROM item of entity e with its joined eager loads: nested LEFT OUTER JOINs, innermost first,
 * around the entity's table, or around `base` (packed) when given. */
static int pack_entity_from(msgpack_packer *pk, const orm_plan *plan, uint32_t e, const ath_registry *reg,
			    const ath_buf *base)
{
	/* every join under entity e (directly or through other joins), in plan order */
	uint32_t list[MAX_JOINS], n = 0;
	for (uint32_t j = 0; j < plan->njoins; j++) {
		int p = plan->joins[j].parent;
		while (p < 0)
			p = plan->joins[-1 - p].parent;
		if ((uint32_t)p == e && !plan->joins[j].contains)
			list[n++] = j;
	}
	uint32_t depth = 0;
	for (uint32_t k = 0; k < n; k++)
		depth += plan->joins[list[k]].rel->secondary ? 2 : 1;
	int rc = 0;
	for (uint32_t k = 0; k < depth; k++)
		rc |= msgpack_pack_array(pk, 5) | ath_wire__pack_cstr(pk, "join");
	if (base)
		rc |= ath_wire__buf_write(pk->data, (const char *)base->ptr, base->size);
	else
		rc |= pack_mapper_as(pk, plan->ent[e].m, plan->ent[e].from);
	for (uint32_t k = 0; k < n; k++) {
		const join_plan *j = &plan->joins[list[k]];
		const ath_rel *r = j->rel;
		const char *pt = parent_name(plan, j->parent);
		if (r->secondary) {
			rc |= pack_alias(pk, r->secondary, j->sec_alias) |
			      pack_sec_on(pk, r->owner, pt, j->sec_alias, r->sec_local_prop, r->sec_local_col, r->nsec_local, false) |
			      ath_wire__pack_cstr(pk, "left") | pack_mapper_as(pk, r->target, j->alias) |
			      pack_sec_on(pk, r->target, j->alias, j->sec_alias, r->sec_remote_prop, r->sec_remote_col,
					  r->nsec_remote, true) |
			      ath_wire__pack_cstr(pk, "left");
		} else {
			rc |= pack_mapper_as(pk, r->target, j->alias);
			if (r->nextra) /* a custom primaryjoin's other terms, on the alias */
				rc |= msgpack_pack_array(pk, r->npairs + r->nextra + 1) | ath_wire__pack_cstr(pk, "and");
			rc |= pack_rel_on(pk, r, pt, j->alias, !r->nextra);
			if (!rc && r->nextra && ath_query__pack_rel_extra(pk, r, j->alias, reg, &(ath_err){ 0 }))
				rc = -1;
			rc |= ath_wire__pack_cstr(pk, "left");
		}
	}
	return rc;
}

/* whether entity e's FROM item is more than its table: joined eager loads, or the tables of a
 * joined-table subclass */
static bool has_joins(const orm_plan *plan, uint32_t e)
{
	if (plan->ent[e].m->ntables > 1)
		return true;
	for (uint32_t j = 0; j < plan->njoins; j++) {
		if (plan->joins[j].contains)
			continue;
		int p = plan->joins[j].parent;
		while (p < 0)
			p = plan->joins[-1 - p].parent;
		if ((uint32_t)p == e)
			return true;
	}
	return false;
}

/* the entity a FROM item stands for (by the name its columns are qualified with), or -1 */
static int from_entity(mobj *item, const orm_plan *plan, const ath_registry *reg)
{
	char buf[256];
	const char *name = NULL;
	if (is_form(item, "entity", 1)) {
		const char *cls = cstr(&item->via.array.ptr[1], buf, sizeof buf);
		const ath_mapper *m = cls ? ath_registry__mapper(reg, cls) : NULL;
		name = m ? m->table->name : NULL;
	} else if (is_form(item, "aliased", 2))
		name = cstr(&item->via.array.ptr[2], buf, sizeof buf);
	else if (is_form(item, "table", 1))
		name = cstr(&item->via.array.ptr[1], buf, sizeof buf);
	for (uint32_t e = 0; name && e < plan->nent; e++)
		if (strcmp(plan->ent[e].from, name) == 0)
			return (int)e;
	return -1;
}

static int pack_columns(msgpack_packer *pk, mobj *cols, tctx *t, const orm_plan *plan)
{
	const ath_registry *reg = t->reg;
	ath_err *err = t->err;
	if (cols->type != MSGPACK_OBJECT_ARRAY)
		return pack_obj(pk, cols, t);
	int rc = msgpack_pack_array(pk, plan->ncols_out);
	for (uint32_t i = 0, e = 0; i < cols->via.array.size && !rc; i++) {
		mobj *c = &cols->via.array.ptr[i];
		if (is_entity(c)) {
			const ath_mapper *m = plan->ent[e].m;
			for (uint32_t j = 0; j < m->nprops && !rc; j++)
				if (plan->ent[e].cols[j])
					rc = ath_query__pack_prop(pk, reg, m, j, plan->ent[e].from, true, err);
			e++;
			if (rc)
				return rc;
		} else
			rc = pack_obj(pk, c, t);
	}
	for (uint32_t j = 0; j < plan->njoins && !rc; j++) {
		const ath_mapper *tm = plan->joins[j].rel->target;
		for (uint32_t k = 0; k < tm->nprops && !rc; k++)
			if (!tm->props[k].deferred)
				rc = ath_query__pack_prop(pk, reg, tm, k, plan->joins[j].alias, true, err);
	}
	return rc;
}

/* "from": each entity's table that has joined eager loads becomes its join chain; when the
 * statement names no FROM, one is added for those entities. */
/* whether a FROM item is entity e or a join that has it (as a side, or as a relationship's
 * target without an alias) */
static bool from_mentions(mobj *item, const orm_plan *plan, const ath_registry *reg, uint32_t e)
{
	if (from_entity(item, plan, reg) == (int)e)
		return true;
	if (is_form(item, "rel", 2) || is_form(item, "rel", 3)) {
		const ath_mapper *m;
		int at = attr_of(item, reg, &m, &(ath_err){ 0 });
		return item->via.array.size == 3 && at >= 0 && at >= (int)m->nprops && m->rels[at - (int)m->nprops].target == plan->ent[e].m;
	}
	if (item->type != MSGPACK_OBJECT_ARRAY || item->via.array.size < 3 || !str_is(&item->via.array.ptr[0], "join"))
		return false;
	return from_mentions(&item->via.array.ptr[1], plan, reg, e) || from_mentions(&item->via.array.ptr[2], plan, reg, e);
}

/* Whether the statement's FROM has entity e: as an item, or (when all it needs beyond its table
 * is a joined-table subclass's join, which the join packs itself) inside a join. */
static bool from_names(mobj *from, const orm_plan *plan, const ath_registry *reg, uint32_t e)
{
	bool eager = false;
	for (uint32_t j = 0; j < plan->njoins && !eager; j++) {
		int p = plan->joins[j].parent;
		while (p < 0)
			p = plan->joins[-1 - p].parent;
		eager = (uint32_t)p == e && !plan->joins[j].contains;
	}
	for (uint32_t i = 0; from && i < from->via.array.size; i++)
		if (from_entity(&from->via.array.ptr[i], plan, reg) == (int)e ||
		    (!eager && from_mentions(&from->via.array.ptr[i], plan, reg, e)))
			return true;
	return false;
}

static int pack_from(msgpack_packer *pk, tctx *t, const orm_plan *plan)
{
	const ath_registry *reg = t->reg;
	ath_err *err = t->err;
	bool done[MAX_ENTITIES] = { 0 };
	mobj *from = plan->from && plan->from->type == MSGPACK_OBJECT_ARRAY ? plan->from : NULL;
	uint32_t n = from ? from->via.array.size : 0;
	for (uint32_t e = 0; e < plan->nent; e++)
		if (!from_names(from, plan, reg, e) && has_joins(plan, e))
			n++;
	n += plan->njti;
	int rc = msgpack_pack_array(pk, n);
	for (uint32_t i = 0; from && i < from->via.array.size && !rc; i++) {
		mobj *item = &from->via.array.ptr[i];
		int e = from_entity(item, plan, reg);
		if (e >= 0 && !done[e] && has_joins(plan, (uint32_t)e)) {
			done[e] = true;
			rc = pack_entity_from(pk, plan, (uint32_t)e, reg, NULL) ? ath_err__oom(err) : 0;
		} else
			rc = pack_obj(pk, item, t);
	}
	for (uint32_t e = 0; e < plan->nent && !rc; e++)
		if (!done[e] && has_joins(plan, e) && !from_names(from, plan, reg, e))
			rc = pack_entity_from(pk, plan, e, reg, NULL) ? ath_err__oom(err) : 0;
	for (uint32_t k = 0; k < plan->njti && !rc; k++)
		rc = ath_mp__mapper_from(pk, plan->jti[k]) ? ath_err__oom(err) : 0;
	return rc;
}

/* An ORM DML statement: which mapper, bulk or by criteria, synchronize_session. */
static int plan_dml(mobj *st, tctx *t, orm_plan *plan)
{
	bool has_rows = false, has_set = false;
	plan->sync = 'a'; /* SQLAlchemy 2.0's default */
	for (uint32_t i = 0; i < st->via.map.size; i++) {
		mobj *k = &st->via.map.ptr[i].key, *v = &st->via.map.ptr[i].val;
		if (str_is(k, "k"))
			plan->dml_kind = str_is(v, "insert") ? 'i' : str_is(v, "update") ? 'u' : str_is(v, "delete") ? 'd' : 0;
		else if (str_is(k, "table") && is_form(v, "entity", 1) && !(plan->dml = mapper_of(&v->via.array.ptr[1], t->reg, t->err)))
			return ATH_EINVALID;
		else if (str_is(k, "values") || str_is(k, "select") || str_is(k, "columns"))
			has_rows = true;
		else if (str_is(k, "set"))
			has_set = true;
		else if (str_is(k, "synchronize_session")) {
			if (v->type == MSGPACK_OBJECT_BOOLEAN && !v->via.boolean)
				plan->sync = 0;
			else if (str_is(v, "auto") || str_is(v, "fetch") || str_is(v, "evaluate"))
				plan->sync = v->via.str.ptr[0];
			else
				return orm_error(t->err, "synchronize_session must be \"auto\", \"fetch\", \"evaluate\" or false");
		}
	}
	if (!plan->dml_kind || !plan->dml) {
		for (uint32_t i = 0; i < st->via.map.size; i++)
			if (str_is(&st->via.map.ptr[i].key, "synchronize_session"))
				return orm_error(t->err, "synchronize_session applies to an UPDATE or DELETE of an entity");
		plan->dml = NULL;
		return 0;
	}
	if (plan->dml->ntables > 1)
		return ath_err__set(t->err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
				    "ORM INSERT / UPDATE / DELETE statements of %s (a joined-table subclass) are not supported yet; "
				    "use the Session", plan->dml->name);
	plan->bulk = (plan->dml_kind == 'i' && !has_rows) || (plan->dml_kind == 'u' && !has_set);
	return 0;
}

/* an ORM UPDATE's "set": attribute names become column names; the props are remembered */
static int pack_set(msgpack_packer *pk, mobj *v, tctx *t, orm_plan *plan)
{
	const ath_mapper *m = plan->dml;
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return pack_obj(pk, v, t);
	int rc = msgpack_pack_array(pk, v->via.array.size) ? ath_err__oom(t->err) : 0;
	for (uint32_t i = 0; i < v->via.array.size && !rc; i++) {
		mobj *e = &v->via.array.ptr[i];
		char buf[256];
		const char *name = e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 2
					   ? cstr(&e->via.array.ptr[0], buf, sizeof buf) : NULL;
		int at = name ? ath_mapper__attr(m, name) : -1;
		if (at < 0 || (uint32_t)at >= m->nprops || !m->props[at].col)
			return orm_error(t->err, "set[%u]: %s has no column attribute '%s'", i, m->name, name ? name : "?");
		if (plan->nset < 64)
			plan->set_props[plan->nset++] = (uint32_t)at;
		rc = msgpack_pack_array(pk, 2) | ath_wire__pack_cstr(pk, m->props[at].col->name) ? ath_err__oom(t->err)
												  : pack_obj(pk, &e->via.array.ptr[1], t);
	}
	return rc;
}

/* the statement map: ORM keys consumed, the rest translated */
static int pack_statement(msgpack_packer *pk, mobj *st, tctx *t, orm_plan *plan);

/* the order_by terms of the joined eager loads (contains_eager's are the statement's own) */
static uint32_t join_order_terms(const orm_plan *plan)
{
	uint32_t n = 0;
	for (uint32_t j = 0; j < plan->njoins; j++)
		if (!plan->joins[j].contains && plan->joins[j].rel->order_by)
			n += plan->joins[j].rel->order_by->via.array.size;
	return n;
}

/* ORDER BY: the statement's terms (`given`, an array or NULL, read as they are), then each joined
 * relationship's order_by read from its alias, as SQLAlchemy appends them */
static int pack_order_by(msgpack_packer *pk, mobj *given, tctx *t, const orm_plan *plan)
{
	uint32_t ng = given && given->type == MSGPACK_OBJECT_ARRAY ? given->via.array.size : 0;
	if (given && given->type != MSGPACK_OBJECT_ARRAY && given->type != MSGPACK_OBJECT_NIL)
		return pack_obj(pk, given, t); /* not a list: as it is (the compiler judges it) */
	int rc = msgpack_pack_array(pk, ng + join_order_terms(plan)) ? ath_err__oom(t->err) : 0;
	for (uint32_t i = 0; i < ng && !rc; i++)
		rc = pack_obj(pk, &given->via.array.ptr[i], t);
	const char *at = t->adapt_table, *ato = t->adapt_to;
	for (uint32_t j = 0; j < plan->njoins && !rc; j++) {
		const ath_rel *r = plan->joins[j].rel;
		if (plan->joins[j].contains || !r->order_by)
			continue;
		t->adapt_table = r->target->table->name;
		t->adapt_to = plan->joins[j].alias;
		for (uint32_t i = 0; i < r->order_by->via.array.size && !rc; i++)
			rc = pack_obj(pk, &r->order_by->via.array.ptr[i], t);
	}
	t->adapt_table = at;
	t->adapt_to = ato;
	return rc;
}

/* plan->wrap: SELECT anon_1.<the entity's columns>, <joined columns> FROM (<the statement without
 * its loader options>) AS anon_1 LEFT OUTER JOIN ... ORDER BY <its ORDER BY, read from anon_1> */
static int pack_wrapped(msgpack_packer *pk, mobj *st, tctx *t, orm_plan *plan)
{
	ath_err *err = t->err;
	const ath_mapper *m = plan->ent[0].m;
	mobj *order_by = NULL;
	msgpack_object_kv kv[32];
	uint32_t nkv = 0;
	for (uint32_t i = 0; i < st->via.map.size; i++) {
		mobj *k = &st->via.map.ptr[i].key;
		if (str_is(k, "order_by") && st->via.map.ptr[i].val.type != MSGPACK_OBJECT_NIL)
			order_by = &st->via.map.ptr[i].val;
		if (str_is(k, "options") || str_is(k, "execution_options"))
			continue;
		if (nkv == 32)
			return orm_error(err, "a select with more than 32 keys");
		kv[nkv++] = st->via.map.ptr[i];
	}
	mobj inner_st = { .type = MSGPACK_OBJECT_MAP, .via.map = { nkv, kv } };
	orm_plan inner;
	memset(&inner, 0, sizeof inner);
	ath_buf base = ATH_BUF_INIT;
	msgpack_packer bp;
	ath_wire__packer_init(&bp, &base);
	int rc = msgpack_pack_array(&bp, 3) | ath_wire__pack_cstr(&bp, "subquery") ? ath_err__oom(err) : 0;
	if (!rc)
		rc = pack_statement(&bp, &inner_st, t, &inner);
	plan_free(&inner);
	if (!rc && ath_wire__pack_cstr(&bp, "anon_1"))
		rc = ath_err__oom(err);
	/* the entity's columns as the subquery names them: a column by its name, an expression by its label */
	int prc = rc ? 0 : msgpack_pack_map(pk, order_by || join_order_terms(plan) ? 4 : 3) | ath_mp__key(pk, "k") |
			       ath_mp__key(pk, "select") |
			       ath_mp__key(pk, "columns") | msgpack_pack_array(pk, plan->ncols_out);
	for (uint32_t i = 0; i < m->nprops && !rc; i++)
		if (plan->ent[0].cols[i])
			prc |= ath_mp__col(pk, "anon_1", m->props[i].col ? m->props[i].col->name : m->props[i].name);
	for (uint32_t j = 0; j < plan->njoins && !rc && !prc; j++) {
		const ath_mapper *tm = plan->joins[j].rel->target;
		for (uint32_t k = 0; k < tm->nprops && !rc; k++)
			if (!tm->props[k].deferred)
				rc = ath_query__pack_prop(pk, t->reg, tm, k, plan->joins[j].alias, true, err);
	}
	if (!rc && !prc)
		prc = ath_mp__key(pk, "from") | msgpack_pack_array(pk, 1) | pack_entity_from(pk, plan, 0, t->reg, &base);
	if (!rc && !prc && (order_by || join_order_terms(plan))) {
		/* the statement's terms read from anon_1, then the joined relationships' */
		const char *at = t->adapt_table, *ato = t->adapt_to;
		t->adapt_table = plan->ent[0].from;
		t->adapt_to = "anon_1";
		rc = ath_mp__key(pk, "order_by") ? ath_err__oom(err) : pack_order_by(pk, order_by, t, plan);
		t->adapt_table = at;
		t->adapt_to = ato;
	}
	ath_buf_dispose(&base);
	return rc ? rc : prc ? ath_err__oom(err) : 0;
}

static int pack_statement(msgpack_packer *pk, mobj *st, tctx *t, orm_plan *plan)
{
	const ath_registry *reg = t->reg;
	ath_err *err = t->err;
	if (st->type != MSGPACK_OBJECT_MAP)
		return pack_obj(pk, st, t);
	bool is_select = false;
	for (uint32_t i = 0; i < st->via.map.size; i++)
		if (str_is(&st->via.map.ptr[i].key, "k") && str_is(&st->via.map.ptr[i].val, "select"))
			is_select = true;
	int rc = is_select ? plan_statement(st, reg, plan, err) : plan_dml(st, t, plan);
	if (rc || plan->bulk)
		return rc;
	if (plan->wrap)
		return pack_wrapped(pk, st, t, plan);
	bool own_joins = false; /* joined eager loads the select gains (contains_eager's are its own) */
	for (uint32_t j = 0; j < plan->njoins; j++)
		own_joins |= !plan->joins[j].contains;
	for (uint32_t e = 0; e < plan->nent; e++)
		own_joins |= plan->ent[e].m->ntables > 1; /* a joined-table subclass's tables join too */
	own_joins |= plan->njti > 0;
	bool add_from = is_select && own_joins && !plan->from;
	/* subclass entities of single-table inheritance: the discriminator criterion joins the WHERE */
	uint32_t npoly = 0;
	bool has_where = false;
	for (uint32_t e = 0; is_select && e < plan->nent; e++)
		npoly += ath_mapper__filtered(plan->ent[e].m);
	for (uint32_t i = 0; i < st->via.map.size; i++)
		has_where |= str_is(&st->via.map.ptr[i].key, "where") && st->via.map.ptr[i].val.type != MSGPACK_OBJECT_NIL;
	bool has_order = false; /* joined relationships' order_by join the statement's, or make one */
	for (uint32_t i = 0; i < st->via.map.size; i++)
		has_order |= str_is(&st->via.map.ptr[i].key, "order_by");
	bool add_order = is_select && !has_order && join_order_terms(plan);
	uint32_t keep = add_from + (npoly && !has_where) + add_order;
	for (uint32_t i = 0; i < st->via.map.size; i++) {
		mobj *k = &st->via.map.ptr[i].key;
		keep += !(str_is(k, "options") || str_is(k, "execution_options") || str_is(k, "synchronize_session") ||
			  (npoly && !has_where && str_is(k, "where")));
	}
	rc = msgpack_pack_map(pk, keep);
	for (uint32_t i = 0; i < st->via.map.size && !rc; i++) {
		mobj *k = &st->via.map.ptr[i].key, *v = &st->via.map.ptr[i].val;
		if (str_is(k, "options") || str_is(k, "execution_options") || str_is(k, "synchronize_session") ||
		    (npoly && !has_where && str_is(k, "where")))
			continue; /* a nil WHERE gives way to the discriminator's */
		if (msgpack_pack_object(pk, *k))
			rc = ath_err__oom(err);
		else if (plan->dml && str_is(k, "set"))
			rc = pack_set(pk, v, t, plan), plan->set_src = v;
		else if (plan->dml && str_is(k, "columns") && v->type == MSGPACK_OBJECT_ARRAY) {
			/* an ORM INSERT names attributes */
			rc = msgpack_pack_array(pk, v->via.array.size) ? ath_err__oom(err) : 0;
			for (uint32_t c = 0; c < v->via.array.size && !rc; c++) {
				char buf[256];
				const char *name = cstr(&v->via.array.ptr[c], buf, sizeof buf);
				int at = name ? ath_mapper__attr(plan->dml, name) : -1;
				if (at < 0 || (uint32_t)at >= plan->dml->nprops || !plan->dml->props[at].col)
					return orm_error(err, "columns[%u]: %s has no column attribute '%s'", c, plan->dml->name,
							 name ? name : "?");
				rc = ath_wire__pack_cstr(pk, plan->dml->props[at].col->name) ? ath_err__oom(err) : 0;
			}
		}
		else if (plan->dml && str_is(k, "where")) {
			plan->where_src = v->type == MSGPACK_OBJECT_NIL ? NULL : v;
			plan->where_off = ((ath_buf *)pk->data)->size;
			rc = pack_obj(pk, v, t);
			plan->where_len = ((ath_buf *)pk->data)->size - plan->where_off;
		} else if (npoly && str_is(k, "where") && v->type != MSGPACK_OBJECT_NIL) {
			rc = msgpack_pack_array(pk, npoly + 2) | ath_wire__pack_cstr(pk, "and") ? ath_err__oom(err) : pack_obj(pk, v, t);
			for (uint32_t e = 0; e < plan->nent && !rc; e++)
				if (ath_mapper__filtered(plan->ent[e].m))
					rc = ath_mp__poly_criterion(pk, reg, plan->ent[e].m, plan->ent[e].from) ? ath_err__oom(err) : 0;
		} else if (is_select && str_is(k, "columns"))
			rc = pack_columns(pk, v, t, plan);
		else if (is_select && str_is(k, "order_by") && join_order_terms(plan))
			rc = pack_order_by(pk, v, t, plan);
		else if (is_select && str_is(k, "from") && own_joins)
			rc = pack_from(pk, t, plan);
		else
			rc = pack_obj(pk, v, t);
	}
	if (!rc && add_from)
		rc = ath_mp__key(pk, "from") ? ath_err__oom(err) : pack_from(pk, t, plan);
	if (!rc && add_order)
		rc = ath_mp__key(pk, "order_by") ? ath_err__oom(err) : pack_order_by(pk, NULL, t, plan);
	if (!rc && npoly && !has_where) {
		rc = ath_mp__key(pk, "where") | (npoly > 1 ? msgpack_pack_array(pk, npoly + 1) | ath_wire__pack_cstr(pk, "and") : 0)
			     ? ath_err__oom(err) : 0;
		for (uint32_t e = 0; e < plan->nent && !rc; e++)
			if (ath_mapper__filtered(plan->ent[e].m))
				rc = ath_mp__poly_criterion(pk, reg, plan->ent[e].m, plan->ent[e].from) ? ath_err__oom(err) : 0;
	}
	if (!rc && !is_select)
		for (uint32_t i = 0; i < st->via.map.size && !rc; i++)
			if (str_is(&st->via.map.ptr[i].key, "options") || str_is(&st->via.map.ptr[i].key, "execution_options"))
				rc = orm_error(err, "options and execution_options apply to a select");
	return rc;
}

/* ---- subquery eager loading ------------------------------------------------------------------- */

/* what subquery eager loads below one entity of a select join: the statement without its columns */
typedef struct subq_ent {
	bool used;
	ath_buf rest, params;
	ath_subq q;
} subq_ent;

/* Whether objects of m (or a subclass) have a relationship the statement loads by subquery. */
static bool wants_subquery(const ath_registry *reg, const ath_loadopts *opts, const ath_mapper *m)
{
	for (uint32_t i = 0; i < reg->nmappers; i++)
		if (ath_mapper__isa(&reg->mappers[i], m))
			for (uint32_t k = 0; k < reg->mappers[i].nrels; k++)
				if (ath_load__strategy(opts, &reg->mappers[i].rels[k]) == ATH_LAZY_SUBQUERY)
					return true;
	return false;
}

/* The select `st` for entity e's subquery loads: its FROM, WHERE (with the discriminators),
 * GROUP BY, HAVING, DISTINCT, and ORDER BY only with LIMIT / OFFSET (SQLAlchemy keeps them
 * together), as Core map entries; object comparisons add their params as in the statement. */
static int subq_prepare(subq_ent *q, mobj *st, const orm_plan *plan, uint32_t e, ath_session *s, const void *params,
			size_t plen, ath_err *err)
{
	tctx t = { .reg = s->reg, .s = s, .params = params, .plen = plen, .err = err };
	msgpack_packer pk;
	ath_wire__packer_init(&pk, &q->rest);
	uint32_t npoly = 0;
	for (uint32_t i = 0; i < plan->nent; i++)
		npoly += ath_mapper__filtered(plan->ent[i].m);
	bool has_where = false, has_from = false;
	int rc = 0;
	for (uint32_t i = 0; i < st->via.map.size && !rc; i++) {
		mobj *k = &st->via.map.ptr[i].key, *v = &st->via.map.ptr[i].val;
		if (str_is(k, "k") || str_is(k, "columns") || str_is(k, "options") || str_is(k, "execution_options") ||
		    (str_is(k, "order_by") && !plan->has_limit) || v->type == MSGPACK_OBJECT_NIL)
			continue;
		q->q.nkeys++;
		q->q.distinct |= str_is(k, "distinct");
		q->q.ordered |= str_is(k, "order_by");
		has_from |= str_is(k, "from");
		rc = msgpack_pack_object(&pk, *k) ? ath_err__oom(err) : 0;
		if (!rc && str_is(k, "where") && npoly) {
			has_where = true;
			rc = msgpack_pack_array(&pk, npoly + 2) | ath_wire__pack_cstr(&pk, "and") ? ath_err__oom(err) : 0;
		}
		if (!rc)
			rc = pack_obj(&pk, v, &t);
	}
	if (!rc && npoly && !has_where) {
		q->q.nkeys++;
		rc = ath_mp__key(&pk, "where") | (npoly > 1 ? msgpack_pack_array(&pk, npoly + 1) | ath_wire__pack_cstr(&pk, "and") : 0)
			     ? ath_err__oom(err) : 0;
	}
	for (uint32_t i = 0; i < plan->nent && npoly && !rc; i++)
		if (ath_mapper__filtered(plan->ent[i].m))
			rc = ath_mp__poly_criterion(&pk, s->reg, plan->ent[i].m, plan->ent[i].from) ? ath_err__oom(err) : 0;
	uint32_t njoined = plan->njti; /* joined-table subclasses: their tables' joins (the statement infers the rest) */
	for (uint32_t i = 0; i < plan->nent; i++)
		njoined += plan->ent[i].m->ntables > 1;
	if (!rc && njoined && !has_from) {
		q->q.nkeys++;
		rc = ath_mp__key(&pk, "from") | msgpack_pack_array(&pk, njoined) ? ath_err__oom(err) : 0;
		for (uint32_t i = 0; i < plan->nent && !rc; i++)
			if (plan->ent[i].m->ntables > 1 && ath_mp__mapper_from_as(&pk, plan->ent[i].m, plan->ent[i].from))
				rc = ath_err__oom(err);
		for (uint32_t i = 0; i < plan->njti && !rc; i++)
			if (ath_mp__mapper_from(&pk, plan->jti[i]))
				rc = ath_err__oom(err);
	}
	if (!rc && t.nextra)
		rc = extend_params(&q->params, &t);
	ath_buf_dispose(&t.extra);
	if (t.unpacked)
		msgpack_zone_destroy(&t.zone);
	if (rc)
		return rc < 0 && !err->code ? ath_err__oom(err) : rc;
	q->used = true;
	q->q.rest = q->rest.ptr;
	q->q.len = q->rest.size;
	snprintf(q->q.from, sizeof q->q.from, "%s", plan->ent[e].from);
	q->q.params = t.nextra ? q->params.ptr : params;
	q->q.plen = t.nextra ? q->params.size : plen;
	return 0;
}

/* The subquery (and other eager) loads of each entity's objects: every nent-th of `ents`. */
static int subq_run(ath_session *s, subq_ent *sq, const orm_plan *plan, const ath_objvec *ents, ath_err *err)
{
	ath_objvec mine = { 0 };
	int rc = 0;
	for (uint32_t e = 0; e < plan->nent && !rc; e++) {
		if (!sq[e].used)
			continue;
		mine.n = 0;
		for (size_t i = e; i < ents->n && !rc; i += plan->nent)
			if (ath_objvec__push(&mine, ents->v[i]) < 0)
				rc = ath_err__oom(err);
		if (!rc)
			rc = ath_load__eager_in(s, mine.v, mine.n, &plan->opts, &sq[e].q, err);
	}
	ath__free(mine.v);
	return rc;
}

/* synchronize_session "fetch" / "auto": the primary keys of the rows an UPDATE / DELETE will
 * match, by a SELECT with its WHERE before it runs (the identity map is brought in line after) */
static int matched_keys(ath_buf *keys, ath_session *s, const orm_plan *plan, const unsigned char *where, size_t wlen,
			const void *params, size_t plen, ath_err *err)
{
	const ath_mapper *m = plan->dml;
	ath_buf shape = ATH_BUF_INIT;
	msgpack_packer sp;
	ath_wire__packer_init(&sp, &shape);
	int rc = msgpack_pack_map(&sp, wlen ? 4 : 3) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "select") |
		 ath_mp__key(&sp, "columns") | msgpack_pack_array(&sp, m->npk);
	for (uint32_t k = 0; k < m->npk; k++)
		rc |= ath_mp__col(&sp, m->table->name, m->props[m->pk[k]].col->name);
	rc |= ath_mp__key(&sp, "from") | msgpack_pack_array(&sp, 1) | ath_mp__table(&sp, m->table);
	if (wlen)
		rc |= ath_mp__key(&sp, "where") | ath_wire__buf_write(&shape, (const char *)where, wlen);
	rc = rc ? ath_err__oom(err) : ath_load__run(s, m, shape.ptr, shape.size, params, plen, keys, err);
	ath_buf_dispose(&shape);
	return rc;
}

/* append holding a reference */
static int push(ath_objvec *l, ath_obj *o)
{
	if (ath_objvec__push(l, o) < 0)
		return -1;
	o->host_refs++;
	return 0;
}

static void list_free(ath_objvec *l)
{
	for (size_t i = 0; i < l->n; i++)
		ath_obj__decref(l->v[i]);
	ath__free(l->v);
	memset(l, 0, sizeof *l);
}

/* load path p's relationships level by level, from the result's objects (selectinload, noload) */
static int run_path(ath_session *s, const orm_plan *plan, uint32_t p, ath_obj **objs, size_t n, ath_err *err)
{
	ath_obj **level = objs;
	size_t nlevel = n;
	ath_obj **next = NULL;
	int rc = 0;
	for (uint32_t step = 0; step < plan->pathlen[p] && !rc && nlevel; step++) {
		const ath_rel *r = plan->paths[p][step];
		uint8_t strat = step + 1 == plan->pathlen[p] ? plan->path_strat[p] : ath_load__strategy(&plan->opts, r);
		if (strat == ATH_LAZY_SELECTIN || strat == ATH_LAZY_SUBQUERY) /* a subquery load ran already (subq_run) */
			rc = ath_load__selectin(s, level, nlevel, r, &plan->opts, err);
		else if (strat == ATH_LAZY_NOLOAD) {
			for (size_t i = 0; i < nlevel && !rc; i++)
				if (ath_mapper__isa(level[i]->m, r->owner) && !level[i]->rels[r->idx].loaded)
					rc = ath_obj__rel_load(level[i], r, NULL, 0, err);
		} else if (strat == ATH_LAZY_RAISE) {
			for (size_t i = 0; i < nlevel; i++)
				if (ath_mapper__isa(level[i]->m, r->owner) && !level[i]->rels[r->idx].loaded)
					level[i]->rels[r->idx].raise = true;
		}
		if (rc || strat == ATH_LAZY_SELECT || strat == ATH_LAZY_NOLOAD || strat == ATH_LAZY_RAISE)
			break; /* lazyload: nothing now (and nothing below it either) */
		/* the next level: every object this step's relationship holds */
		ath_objvec nx = { 0 };
		for (size_t i = 0; i < nlevel && !rc; i++) {
			if (!ath_mapper__isa(level[i]->m, r->owner))
				continue;
			ath_relval *rv = &level[i]->rels[r->idx];
			for (uint32_t j = 0; j < rv->n && !rc; j++)
				if (push(&nx, rv->items[j]) < 0)
					rc = ath_err__oom(err);
		}
		if (next) {
			for (size_t i = 0; i < nlevel; i++)
				ath_obj__decref(next[i]);
			ath__free(next);
		}
		next = level = nx.v;
		nlevel = nx.n;
	}
	if (next) {
		for (size_t i = 0; i < nlevel; i++)
			ath_obj__decref(next[i]);
		ath__free(next);
	}
	return rc;
}

/* ---- rows -> objects ------------------------------------------------------------------------ */

/* what a joined eager load collected for one parent */
typedef struct jgroup {
	ath_obj *parent;
	uint32_t join;
	ath_objvec kids;
	struct jgroup *next;           /* the parent's other groups (its scratch chain) */
	struct jgroup *all;            /* every group of the statement */
} jgroup;

static bool all_nil(const unsigned char *const *vals, const uint32_t *lens, const ath_mapper *m, uint32_t base)
{
	/* the target's primary key columns in the joined columns (every non-deferred prop, in order) */
	for (uint32_t k = 0; k < m->npk; k++) {
		uint32_t pos = 0;
		for (uint32_t i = 0; i < m->pk[k]; i++)
			pos += !m->props[i].deferred;
		if (!(lens[base + pos] == 1 && vals[base + pos][0] == 0xc0))
			return false;
	}
	return true;
}

/* rows seen, for de-duplication when joined collections repeat parents */
typedef struct rowset {
	uint64_t *hash;
	size_t *off, *len;
	uint32_t cap, n;
} rowset;

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h | 1;
}

/* 1 when the row at buf[off..off+len) was seen, 0 after adding it, -1 out of memory */
static int rowset_seen(rowset *rs, const ath_buf *buf, size_t off, size_t len)
{
	if ((rs->n + 1) * 2 > rs->cap) {
		uint32_t cap = rs->cap ? rs->cap * 2 : 64;
		uint64_t *h = ath__calloc(cap, sizeof *h);
		size_t *o = ath__malloc(sizeof *o * cap), *l = ath__malloc(sizeof *l * cap);
		if (!h || !o || !l) {
			ath__free(h), ath__free(o), ath__free(l);
			return -1;
		}
		for (uint32_t i = 0; i < rs->cap; i++) {
			if (!rs->hash[i])
				continue;
			uint32_t j = (uint32_t)rs->hash[i] & (cap - 1);
			while (h[j])
				j = (j + 1) & (cap - 1);
			h[j] = rs->hash[i], o[j] = rs->off[i], l[j] = rs->len[i];
		}
		ath__free(rs->hash), ath__free(rs->off), ath__free(rs->len);
		rs->hash = h, rs->off = o, rs->len = l, rs->cap = cap;
	}
	uint64_t hv = fnv(buf->ptr + off, len);
	uint32_t j = (uint32_t)hv & (rs->cap - 1);
	while (rs->hash[j]) {
		if (rs->hash[j] == hv && rs->len[j] == len && memcmp(buf->ptr + rs->off[j], buf->ptr + off, len) == 0)
			return 1;
		j = (j + 1) & (rs->cap - 1);
	}
	rs->hash[j] = hv, rs->off[j] = off, rs->len[j] = len;
	rs->n++;
	return 0;
}

static void rowset_free(rowset *rs) { ath__free(rs->hash), ath__free(rs->off), ath__free(rs->len); }

/* One result row: entities and joined objects loaded, the output row packed into `body`. */
static int one_row(ath_session *s, const orm_plan *plan, const unsigned char *const *vals, const uint32_t *lens,
		   uint32_t ncols, uint32_t flags, bool pin, msgpack_packer *op, ath_objvec *ents, jgroup **groups,
		   ath_objvec *joined, ath_err *err)
{
	ath_obj *eo[MAX_ENTITIES] = { 0 }, *jo[MAX_JOINS] = { 0 };
	int rc = 0;
	for (uint32_t e = 0; e < plan->nent && !rc; e++) {
		rc = ath_load__instance(&eo[e], s, plan->ent[e].m, plan->ent[e].cols, vals + plan->ent[e].col,
					lens + plan->ent[e].col, plan->populate_existing, err);
		if (!rc && ((pin && ath_session__pin(s, eo[e]) < 0) || push(ents, eo[e]) < 0))
			rc = ath_err__oom(err);
	}
	for (uint32_t j = 0; j < plan->njoins && !rc; j++) {
		const join_plan *jp = &plan->joins[j];
		ath_obj *parent = jp->parent >= 0 ? eo[jp->parent] : jo[-1 - jp->parent];
		if (!parent)
			continue;
		if (!all_nil(vals, lens, jp->rel->target, jp->col)) {
			rc = ath_load__instance(&jo[j], s, jp->rel->target, NULL, vals + jp->col, lens + jp->col,
						plan->populate_existing, err);
			if (!rc && push(joined, jo[j]) < 0)
				rc = ath_err__oom(err);
		}
		/* the parent's group for this join (scratch: its first group; chained per join) */
		jgroup *g = parent->scratch;
		while (g && g->join != j)
			g = g->next;
		if (!rc && !g) {
			g = ath__calloc(1, sizeof *g);
			if (!g) {
				rc = ath_err__oom(err);
				break;
			}
			g->parent = parent;
			g->join = j;
			parent->host_refs++;
			g->next = parent->scratch;
			parent->scratch = g;
			g->all = *groups;
			*groups = g;
		}
		if (!rc && jo[j]) {
			bool dup = false;
			for (size_t k = g->kids.n; k-- > 0 && !dup;)
				dup = g->kids.v[k] == jo[j];
			if (!dup && push(&g->kids, jo[j]) < 0)
				rc = ath_err__oom(err);
		}
	}
	if (rc)
		return rc;
	/* the output row: entities as references, other columns as they are */
	uint32_t outcols = ncols;
	for (uint32_t e = 0; e < plan->nent; e++)
		outcols -= plan->ent[e].ncols - 1;
	for (uint32_t j = 0; j < plan->njoins; j++)
		outcols -= plan->joins[j].ncols;
	if (!(flags & ATH_ROWS_SCALARS) && msgpack_pack_array(op, outcols))
		return ath_err__oom(err);
	uint32_t c = 0, e = 0, emitted = 0, end = plan->njoins ? plan->joins[0].col : ncols;
	while (c < end && !rc) {
		bool first = !(flags & ATH_ROWS_SCALARS) || emitted == 0;
		if (e < plan->nent && plan->ent[e].col == c) {
			if (first && ath_obj__pack_ref(op, eo[e]))
				rc = ath_err__oom(err);
			c += plan->ent[e++].ncols;
		} else {
			if (first && ath_wire__buf_write(op->data, (const char *)vals[c], lens[c]))
				rc = ath_err__oom(err);
			c++;
		}
		emitted++;
	}
	return rc;
}

/* the joined relationships: each parent's collected objects become its loaded value */
static int finish_groups(jgroup *groups, const orm_plan *plan, ath_err *err)
{
	int rc = 0;
	while (groups) {
		jgroup *g = groups;
		groups = g->all;
		const ath_rel *r = plan->joins[g->join].rel;
		if (!rc && !g->parent->rels[r->idx].loaded)
			rc = ath_obj__rel_load(g->parent, r, g->kids.v, (uint32_t)g->kids.n, err);
		else if (!rc && plan->populate_existing)
			rc = ath_obj__rel_load(g->parent, r, g->kids.v, (uint32_t)g->kids.n, err);
		g->parent->scratch = NULL;
		list_free(&g->kids);
		ath_obj__decref(g->parent);
		ath__free(g);
	}
	return rc;
}

int ath_query__run(ath_buf *out, ath_session *s, const void *shape, size_t len, const void *params, size_t plen,
		   uint32_t flags, bool pin, ath_obj **first, ath_err *err)
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
	if (pin)
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
	orm_plan plan;
	memset(&plan, 0, sizeof plan);
	ath_buf core = ATH_BUF_INIT, rows = ATH_BUF_INIT, body = ATH_BUF_INIT;
	msgpack_packer cp;
	ath_wire__packer_init(&cp, &core);
	tctx t = { .reg = s->reg, .s = s, .params = params, .plen = plen, .err = err };
	rc = pack_statement(&cp, &root, &t, &plan);
	if (rc < 0 && !err->code) /* a packer failed: the only way it fails is running out of memory */
		rc = ath_err__oom(err);
	ath_buf allp = ATH_BUF_INIT;
	if (!rc && t.nextra) /* object comparisons added values: params + them */
		rc = extend_params(&allp, &t);
	subq_ent sq[MAX_ENTITIES];
	memset(sq, 0, sizeof sq);
	for (uint32_t e = 0; e < plan.nent && !rc && !plan.dml; e++)
		if (wants_subquery(s->reg, &plan.opts, plan.ent[e].m))
			rc = subq_prepare(&sq[e], &root, &plan, e, s, params, plen, err);
	const void *rp = t.nextra ? allp.ptr : params;
	size_t rplen = t.nextra ? allp.size : plen;
	ath_buf keys = ATH_BUF_INIT;
	ath_objvec sure = { 0 }, unsure = { 0 };
	bool evaluated = false;
	if (!rc && plan.bulk)
		rc = ath_dml__bulk(s, plan.dml, plan.dml_kind == 'u', params, plen, err);
	else if (!rc && plan.dml && plan.dml_kind != 'i' && (plan.sync == 'e' || plan.sync == 'a')) {
		/* in memory first; "auto" falls back to the matched keys when the WHERE can't be evaluated */
		const msgpack_object *pobj = plan.where_src || plan.set_src ? param_array(&t) : NULL;
		rc = ath_eval__matches(s, plan.dml, plan.where_src, pobj, &sure, &unsure, err);
		evaluated = rc == 0;
		if (rc == 1) {
			ath_eval__release(&sure);
			ath_eval__release(&unsure);
			rc = plan.sync == 'e' ? ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
							   "Could not evaluate current criteria in Python: the WHERE uses "
							   "what synchronize_session=\"evaluate\" can't judge in memory; use \"fetch\"")
					      : matched_keys(&keys, s, &plan, core.ptr + plan.where_off, plan.where_len, rp, rplen, err);
		}
	} else if (!rc && plan.dml && plan.dml_kind != 'i' && plan.sync == 'f')
		rc = matched_keys(&keys, s, &plan, core.ptr + plan.where_off, plan.where_len, rp, rplen, err);
	if (!rc && !plan.bulk)
		rc = ath_load__run(s, plan.dml ? plan.dml : plan.nent ? plan.ent[0].m : NULL, core.ptr, core.size, rp, rplen,
				   &rows, err); /* the bind of the statement's (first) entity */
	if (!rc && keys.size)
		rc = ath_dml__synchronize(s, plan.dml, plan.dml_kind == 'd', plan.set_props, plan.nset, &keys, err);
	if (evaluated) {
		int64_t rowcount = s->rowcount;
		if (!rc)
			rc = ath_eval__apply(s, plan.dml_kind == 'd', plan.set_src, param_array(&t), &sure, &unsure, err);
		s->rowcount = rowcount;
	}
	ath_eval__release(&sure);
	ath_eval__release(&unsure);
	msgpack_zone_destroy(&z);
	ath_buf_dispose(&keys);
	if (!rc && plan.bulk) {
		msgpack_packer ep;
		ath_wire__packer_init(&ep, &rows);
		rc = msgpack_pack_array(&ep, 0) ? ath_err__oom(err) : 0;
	}
	ath_buf_dispose(&allp);
	ath_buf_dispose(&t.extra);
	if (t.unpacked)
		msgpack_zone_destroy(&t.zone);
	ath_buf_dispose(&core);
	/* rows: entity columns become object references; joined columns fill relationships */
	const unsigned char *p = rows.ptr, *end = rows.ptr + rows.size;
	uint32_t nrows = 0, nout = 0;
	if (!rc && !(p = ath_mp__array(p, end, &nrows)))
		rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
	bool unique = false;
	for (uint32_t j = 0; j < plan.njoins; j++)
		unique |= plan.joins[j].rel->uselist; /* a joined collection repeats its parent's row */
	ath_objvec ents = { 0 }, joined = { 0 };
	jgroup *groups = NULL;
	rowset seen = { 0 };
	msgpack_packer op;
	ath_wire__packer_init(&op, &body);
	/* first() needs one row, one() / one_or_none() two (to see a second); a joined collection
	 * spreads one parent over several rows, so then every row is read */
	uint32_t want = unique ? nrows : (flags & ATH_ROWS_FIRST) ? 1 : (flags & (ATH_ROWS_ONE | ATH_ROWS_ONE_OR_NONE)) ? 2 : nrows;
	if (!rc && plan.nent) /* the identity map sized for the rows at once (a failure only means growing later) */
		(void)(ath_objset__reserve(&s->by_id, (size_t)(want < nrows ? want : nrows) * plan.nent) ||
		       ath_objset__reserve(&s->identity, (size_t)(want < nrows ? want : nrows) * plan.nent));
	for (uint32_t r = 0; r < nrows && r < want && !rc; r++) {
		uint32_t ncols;
		const unsigned char *vals[512];
		uint32_t lens[512];
		p = ath_mp__array(p, end, &ncols);
		if (!p || ncols > 512 || (plan.nent + plan.njoins && ncols != plan.ncols_out)) {
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
		size_t start = body.size;
		if (!rc)
			rc = one_row(s, &plan, vals, lens, ncols, flags, pin, &op, &ents, &groups, &joined, err);
		if (!rc && unique) {
			int dup = rowset_seen(&seen, &body, start, body.size - start);
			if (dup < 0)
				rc = ath_err__oom(err);
			else if (dup)
				body.size = start;
			else
				nout++;
		} else if (!rc)
			nout++;
	}
	rowset_free(&seen);
	ath_buf_dispose(&rows);
	if (!rc)
		rc = finish_groups(groups, &plan, err);
	else
		finish_groups(groups, &plan, &(ath_err){ 0 });
	if (!rc && ents.n)
		rc = subq_run(s, sq, &plan, &ents, err);
	for (uint32_t e = 0; e < plan.nent; e++) {
		ath_buf_dispose(&sq[e].rest);
		ath_buf_dispose(&sq[e].params);
	}
	if (!rc && ents.n)
		rc = ath_load__eager(s, ents.v, ents.n, &plan.opts, err);
	if (!rc && joined.n)
		rc = ath_load__eager(s, joined.v, joined.n, &plan.opts, err);
	for (uint32_t i = 0; i < plan.npaths && !rc; i++)
		if (plan.path_strat[i] != ATH_LAZY_JOINED && plan.path_strat[i] != ATH_LAZY_CONTAINS)
			rc = run_path(s, &plan, i, ents.v, ents.n, err);
	for (size_t k = 0; plan.raise_all && !rc && k < ents.n; k++) /* what is still unloaded raises */
		for (uint32_t r = 0; r < ents.v[k]->m->nrels; r++)
			if (!ents.v[k]->rels[r].loaded)
				ents.v[k]->rels[r].raise = true;
	if (!rc && first && ents.n) {
		*first = ents.v[0];
		ath_obj__incref(*first);
	}
	list_free(&ents);
	list_free(&joined);
	plan_free(&plan);
	/* one / one_or_none / first over the (de-duplicated) rows */
	if (!rc && (flags & (ATH_ROWS_ONE | ATH_ROWS_ONE_OR_NONE)) && nout > 1)
		rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_MULTIPLE_RESULTS_FOUND,
				  "Multiple rows were found when exactly one was required");
	else if (!rc && (flags & ATH_ROWS_ONE) && nout == 0)
		rc = ath_err__set(err, ATH_ENOTFOUND, ATH_ERRCLASS_NO_RESULT_FOUND, "No row was found when one was required");
	if (!rc) {
		uint32_t keep = (flags & ATH_ROWS_FIRST) && nout > 1 ? 1 : nout;
		size_t keep_bytes = body.size;
		if (keep < nout) { /* the first row only */
			const unsigned char *e1 = ath_mp__skip(body.ptr, body.ptr + body.size);
			keep_bytes = e1 ? (size_t)(e1 - body.ptr) : body.size;
		}
		msgpack_packer fp;
		ath_wire__packer_init(&fp, out);
		if (msgpack_pack_array(&fp, keep) || ath_wire__buf_write(out, (const char *)body.ptr, keep_bytes))
			rc = ath_err__oom(err);
	}
	ath_buf_dispose(&body);
	if (rc) {
		out->size = 0;
		if (first && *first) { /* nothing is handed out on failure */
			ath_obj__decref(*first);
			*first = NULL;
		}
	}
	return rc;
}

int ath_query__execute(ath_buf *out, ath_session *s, const void *shape, size_t len, const void *params, size_t plen,
		       uint32_t flags, ath_err *err)
{
	return ath_query__run(out, s, shape, len, params, plen, flags, true, NULL, err);
}
