/* api_orm.c — exported ORM functions (athanor/orm.h): handle checks, attribute lookup, values
 * validated and made canonical at the boundary (so equal values have equal bytes in the identity
 * map and in change detection), then orm/. */
#include "capi.h"
#include "orm/orm.h"
#include "util/alloc.h"
#include "wire/mpbuf.h"

#define SESSION_FLAGS (ATH_SESSION_NO_AUTOFLUSH | ATH_SESSION_NO_EXPIRE_ON_COMMIT)
#define ROWS_FLAGS (ATH_ROWS_SCALARS | ATH_ROWS_ONE | ATH_ROWS_ONE_OR_NONE | ATH_ROWS_FIRST)

/* ---- registry -------------------------------------------------------------------------------- */

ATH_EXTERN(int) ath_registry_create(ath_registry **out, const void *spec, size_t spec_len)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_registry_create: out is NULL");
	*out = NULL;
	CAPI_CALL(ath_registry__create(out, spec, spec_len, CAPI_ERR));
}

ATH_EXTERN(void) ath_registry_free(ath_registry *reg)
{
	if (reg && reg->magic == ATH_MAGIC_REGISTRY) {
		ath_gc__collect(reg); /* cycles of objects the caller let go of hold it too */
		ath_registry__decref(reg);
	}
}

ATH_EXTERN(const ath_metadata *) ath_registry_metadata(const ath_registry *reg)
{
	return reg && reg->magic == ATH_MAGIC_REGISTRY ? reg->md : NULL;
}

ATH_EXTERN(int) ath_registry_class(const ath_registry *reg, const char *name)
{
	CAPI_CHECK(reg, ATH_MAGIC_REGISTRY, "reg");
	if (!name)
		return ath_capi__misuse(ATH_EMISUSE, "ath_registry_class: name is NULL");
	const ath_mapper *m = ath_registry__mapper(reg, name);
	return m ? (int)m->idx : ath_capi__misuse(ATH_ENOTFOUND, "class '%.100s' is not mapped", name);
}

ATH_EXTERN(int) ath_registry_attr(const ath_registry *reg, int cls, const char *name)
{
	CAPI_CHECK(reg, ATH_MAGIC_REGISTRY, "reg");
	if (cls < 0 || (uint32_t)cls >= reg->nmappers || !name)
		return ath_capi__misuse(ATH_EMISUSE, "ath_registry_attr: %s", name ? "no such class index" : "name is NULL");
	int a = ath_mapper__attr(&reg->mappers[cls], name);
	return a >= 0 ? a
		      : ath_capi__misuse(ATH_ENOTFOUND, "%s has no attribute '%.100s'", reg->mappers[cls].name, name);
}

/* ---- sessions -------------------------------------------------------------------------------- */

ATH_EXTERN(int) ath_session_options_init(ath_session_options *opts, unsigned int version)
{
	if (!opts || version < 1 || version > ATH_SESSION_OPTIONS_VERSION)
		return ath_capi__misuse(ATH_EINVALID, "ath_session_options_init: %s",
					opts ? "unsupported version" : "opts is NULL");
	*opts = (ath_session_options)ATH_SESSION_OPTIONS_INIT;
	return ATH_OK;
}

ATH_EXTERN(int) ath_session_create(ath_session **out, ath_engine *engine, ath_registry *reg,
				   const ath_session_options *opts)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_session_create: out is NULL");
	*out = NULL;
	CAPI_CHECK(engine, ATH_MAGIC_ENGINE, "engine");
	CAPI_CHECK(reg, ATH_MAGIC_REGISTRY, "reg");
	uint32_t flags = 0;
	if (opts) {
		if (opts->version < 1 || opts->version > ATH_SESSION_OPTIONS_VERSION)
			return ath_capi__misuse(ATH_EINVALID, "ath_session_create: unsupported options version %u",
						opts->version);
		if (opts->flags & ~SESSION_FLAGS)
			return ath_capi__misuse(ATH_EINVALID, "ath_session_create: unknown flags 0x%x",
						opts->flags & ~SESSION_FLAGS);
		flags = opts->flags;
	}
	if (atomic_load(&engine->released))
		return ath_capi__misuse(ATH_EMISUSE, "ath_session_create: the engine has been freed");
	CAPI_CALL(ath_session__create(out, engine, reg, flags, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_bind(ath_session *s, const char *cls, ath_engine *engine)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CAPI_CHECK(engine, ATH_MAGIC_ENGINE, "engine");
	const ath_mapper *m = cls ? ath_registry__mapper(s->reg, cls) : NULL;
	if (!m)
		return ath_capi__misuse(ATH_EINVALID, "ath_session_bind: class '%.100s' is not mapped", cls ? cls : "(null)");
	CAPI_CALL(ath_session__bind(s, m, engine, CAPI_ERR));
}

ATH_EXTERN(void) ath_session_close(ath_session *s)
{
	if (s && s->magic == ATH_MAGIC_SESSION)
		ath_session__close(s);
}

#define CHECK_OBJ(o)                                                                               \
	do {                                                                                       \
		CAPI_CHECK(o, ATH_MAGIC_OBJ, "obj");                                               \
	} while (0)

ATH_EXTERN(int) ath_session_add(ath_session *s, ath_obj *obj)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CHECK_OBJ(obj);
	CAPI_CALL(ath_session__usable(s, CAPI_ERR) ? CAPI_ERR->code : ath_session__add(s, obj, CAPI_ERR));
}

static int add_all(ath_session *s, ath_obj *const *objs, size_t n, ath_err *err)
{
	int rc = ath_session__usable(s, err);
	for (size_t i = 0; i < n && !rc; i++)
		rc = ath_session__add(s, objs[i], err);
	return rc;
}

ATH_EXTERN(int) ath_session_add_all(ath_session *s, ath_obj *const *objs, size_t n)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	if (n && !objs)
		return ath_capi__misuse(ATH_EMISUSE, "%s: objs is NULL", __func__);
	for (size_t i = 0; i < n; i++)
		CHECK_OBJ(objs[i]);
	CAPI_CALL(add_all(s, objs, n, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_delete(ath_session *s, ath_obj *obj)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CHECK_OBJ(obj);
	CAPI_CALL(ath_session__usable(s, CAPI_ERR) ? CAPI_ERR->code : ath_session__delete(s, obj, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_get(ath_obj **out, ath_session *s, const char *cls, const void *pk, size_t pk_len)
{
	if (!out || !cls)
		return ath_capi__misuse(ATH_EMISUSE, "ath_session_get: %s is NULL", out ? "cls" : "out");
	*out = NULL;
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CAPI_CALL(ath_session__usable(s, CAPI_ERR) ? CAPI_ERR->code : ath_session__get(out, s, cls, pk, pk_len, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_flush(ath_session *s)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CAPI_CALL(ath_session__flush(s, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_commit(ath_session *s)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CAPI_CALL(ath_session__commit(s, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_rollback(ath_session *s)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CAPI_CALL(ath_session__rollback(s, CAPI_ERR));
}

/* which props the names select (NULL = all); ArgumentError for an unknown or relationship name */
static int prop_mask(ath_obj *obj, const char *const *attrs, size_t n, bool *mask, bool *rels, ath_err *err)
{
	const ath_mapper *m = obj->m;
	*rels = attrs == NULL;
	for (uint32_t i = 0; i < m->nprops; i++)
		mask[i] = attrs == NULL;
	for (size_t i = 0; attrs && i < n; i++) {
		int a = attrs[i] ? ath_mapper__attr(m, attrs[i]) : -1;
		if (a < 0)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "%s has no attribute '%.100s'",
					    m->name, attrs[i] ? attrs[i] : "(null)");
		if ((uint32_t)a < m->nprops)
			mask[a] = true;
		else
			ath_obj__rel_expire(obj, &m->rels[a - (int)m->nprops]);
	}
	return 0;
}

static int expire_or_refresh(ath_session *s, ath_obj *obj, const char *const *attrs, size_t n, bool refresh, ath_err *err)
{
	if (obj->sess != s || obj->status != ATH_OBJ_PERSISTENT)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "Instance of %s is not persistent within this Session", obj->m->name);
	bool mask[512], rels;
	if (obj->m->nprops > 512)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR, "more than 512 columns");
	int rc = prop_mask(obj, attrs, n, mask, &rels, err);
	if (rc)
		return rc;
	ath_obj__expire(obj, mask, rels);
	if (!refresh)
		return 0;
	if ((rc = ath_session__usable(s, err)))
		return rc;
	return ath_load__props(s, obj, false, err);
}

ATH_EXTERN(int) ath_session_expire(ath_session *s, ath_obj *obj, const char *const *attrs, size_t nattrs)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CHECK_OBJ(obj);
	CAPI_CALL(expire_or_refresh(s, obj, attrs, nattrs, false, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_expire_all(ath_session *s)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	ath_session__expire_all(s);
	return ATH_OK;
}

ATH_EXTERN(int) ath_session_refresh(ath_session *s, ath_obj *obj, const char *const *attrs, size_t nattrs)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CHECK_OBJ(obj);
	CAPI_CALL(expire_or_refresh(s, obj, attrs, nattrs, true, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_expunge(ath_session *s, ath_obj *obj)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CHECK_OBJ(obj);
	CAPI_CALL(ath_session__expunge(s, obj, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_expunge_all(ath_session *s)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	ath_session__expunge_all(s);
	return ATH_OK;
}

ATH_EXTERN(int) ath_session_begin_nested(ath_session *s)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CAPI_CALL(ath_session__begin_nested(s, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_commit_nested(ath_session *s)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CAPI_CALL(ath_session__end_nested(s, true, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_rollback_nested(ath_session *s)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CAPI_CALL(ath_session__end_nested(s, false, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_set_autoflush(ath_session *s, int enabled)
{
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	int was = !s->autoflush_off;
	s->autoflush_off = !enabled;
	return was;
}

ATH_EXTERN(int) ath_session_merge(ath_obj **out, ath_session *s, ath_obj *obj, uint32_t flags)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_session_merge: out is NULL");
	*out = NULL;
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	CHECK_OBJ(obj);
	if (flags & ~ATH_MERGE_NO_LOAD)
		return ath_capi__misuse(ATH_EINVALID, "ath_session_merge: unknown flags 0x%x", flags & ~ATH_MERGE_NO_LOAD);
	CAPI_CALL(ath_session__usable(s, CAPI_ERR) ? CAPI_ERR->code
						   : ath_session__merge(out, s, obj, !(flags & ATH_MERGE_NO_LOAD), CAPI_ERR));
}

ATH_EXTERN(int) ath_session_execute(ath_buf *out, ath_session *s, const void *shape, size_t shape_len,
				    const void *params, size_t params_len, uint32_t flags)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_session_execute: out is NULL");
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	if (flags & ~ROWS_FLAGS)
		return ath_capi__misuse(ATH_EINVALID, "ath_session_execute: unknown flags 0x%x", flags & ~ROWS_FLAGS);
	CAPI_CALL(ath_query__execute(out, s, shape, shape_len, params, params_len, flags, CAPI_ERR));
}

ATH_EXTERN(int) ath_session_object(ath_obj **out, ath_session *s, uint64_t id)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_session_object: out is NULL");
	*out = NULL;
	CAPI_CHECK(s, ATH_MAGIC_SESSION, "session");
	ath_obj *o = ath_objset__by_id(&s->by_id, id);
	if (!o)
		return ath_capi__misuse(ATH_ENOTFOUND, "no object with id %llu in this session", (unsigned long long)id);
	ath_obj__incref(o);
	*out = o;
	return ATH_OK;
}

ATH_EXTERN(void) ath_session_release_results(ath_session *s)
{
	if (s && s->magic == ATH_MAGIC_SESSION)
		ath_session__unpin_all(s);
}

ATH_EXTERN(int64_t) ath_session_rowcount(const ath_session *s)
{
	return s && s->magic == ATH_MAGIC_SESSION ? s->rowcount : -1;
}

ATH_EXTERN(size_t) ath_session_count(const ath_session *s)
{
	return s && s->magic == ATH_MAGIC_SESSION ? s->count : 0;
}

/* ---- objects --------------------------------------------------------------------------------- */

ATH_EXTERN(int) ath_obj_create(ath_obj **out, ath_registry *reg, const char *cls)
{
	if (!out || !cls)
		return ath_capi__misuse(ATH_EMISUSE, "ath_obj_create: %s is NULL", out ? "cls" : "out");
	*out = NULL;
	CAPI_CHECK(reg, ATH_MAGIC_REGISTRY, "reg");
	const ath_mapper *m = ath_registry__mapper(reg, cls);
	if (!m)
		return ath_capi__misuse(ATH_EINVALID, "class '%.100s' is not mapped", cls);
	ath_err e = { 0 };
	int rc = ath_obj__new(out, reg, m, &e);
	if (!rc && m->identity_len) /* the discriminator is set from the start, as SQLAlchemy's __init__ does */
		rc = ath_obj__set_prop(*out, (uint32_t)m->root->poly_prop, m->identity, m->identity_len, true, &e);
	if (rc) {
		if (*out)
			ath_obj__destroy(*out);
		*out = NULL;
		return ath_capi__publish(&e, rc);
	}
	(*out)->host_refs = 1;
	return ATH_OK;
}

ATH_EXTERN(void) ath_obj_free(ath_obj *obj)
{
	if (obj && obj->magic == ATH_MAGIC_OBJ && obj->host_refs > 0)
		ath_obj__decref(obj);
}

ATH_EXTERN(ath_obj *) ath_obj_ref(ath_obj *obj)
{
	if (obj && obj->magic == ATH_MAGIC_OBJ)
		ath_obj__incref(obj);
	return obj;
}

ATH_EXTERN(uint64_t) ath_obj_id(const ath_obj *obj) { return obj && obj->magic == ATH_MAGIC_OBJ ? obj->id : 0; }

ATH_EXTERN(const char *) ath_obj_class(const ath_obj *obj)
{
	return obj && obj->magic == ATH_MAGIC_OBJ ? obj->m->name : NULL;
}

ATH_EXTERN(int) ath_obj_status_of(const ath_obj *obj)
{
	CAPI_CHECK(obj, ATH_MAGIC_OBJ, "obj");
	if (obj->marked_deleted)
		return ATH_OBJ_PERSISTENT; /* SQLAlchemy: persistent until the flush deletes it */
	return obj->status;
}

static int attr_index(const ath_obj *obj, const char *attr, ath_err *err)
{
	int a = attr ? ath_mapper__attr(obj->m, attr) : -1;
	if (a < 0)
		ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "%s has no attribute '%.100s'", obj->m->name,
			     attr ? attr : "(null)");
	return a;
}

static int check_index(const ath_obj *obj, int a, ath_err *err)
{
	if (a < 0 || (uint32_t)a >= obj->m->nprops + obj->m->nrels)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "%s has no attribute index %d",
				    obj->m->name, a);
	return 0;
}

/* resolve an ext 1 object reference in the object's session */
static int resolve_ref(ath_obj **out, ath_obj *obj, const msgpack_object *v, ath_err *err)
{
	if (v->type != MSGPACK_OBJECT_EXT || v->via.ext.type != ATH_EXT_OBJREF || v->via.ext.size != 8)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "a relationship value must be an object reference (msgpack ext 1) or nil");
	uint64_t id = 0;
	for (int i = 0; i < 8; i++)
		id = id << 8 | (unsigned char)v->via.ext.ptr[i];
	ath_obj *t = obj->sess ? ath_objset__by_id(&obj->sess->by_id, id) : NULL;
	if (!t)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "object reference %llu is not an object of %s's session", (unsigned long long)id,
				    obj->m->name);
	*out = t;
	return 0;
}

static int check_target(const ath_rel *r, ath_obj *t, ath_err *err)
{
	if (!ath_mapper__isa(t->m, r->target))
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "%s.%s holds %s objects, not %s", r->owner->name, r->name, r->target->name, t->m->name);
	return 0;
}

/* link along r with the save-update cascade into obj's session */
static int link(ath_obj *obj, const ath_rel *r, ath_obj *t, ath_err *err)
{
	int rc = check_target(r, t, err);
	if (rc)
		return rc;
	if (r->uselist && r->lazy != ATH_LAZY_WRITE_ONLY && (rc = ath_load__ensure_rel(obj, r, err)))
		return rc;
	if ((rc = ath_obj__rel_add(obj, r, t, false, true, err)))
		return rc;
	if (obj->sess && t->sess != obj->sess && (r->cascade & ATH_CASCADE_SAVE_UPDATE))
		return ath_session__add(obj->sess, t, err);
	return 0;
}

static int set_rel(ath_obj *obj, const ath_rel *r, const msgpack_object *v, ath_err *err)
{
	ath_relval *rv = &obj->rels[r->idx];
	int rc;
	if (!r->uselist) {
		if (v->type == MSGPACK_OBJECT_NIL) { /* the current target is needed to unset it */
			if ((rc = ath_load__ensure_rel(obj, r, err)))
				return rc;
			return rv->n ? ath_obj__rel_remove(obj, r, rv->items[0], true, err) : 0;
		}
		ath_obj *t;
		if ((rc = resolve_ref(&t, obj, v, err)))
			return rc;
		return link(obj, r, t, err);
	}
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "%s.%s is a collection: give an array of object references", obj->m->name, r->name);
	ath_obj *ts[1024];
	if (v->via.array.size > 1024)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "set a collection of more than 1024 objects with ath_obj_link()");
	for (uint32_t i = 0; i < v->via.array.size; i++)
		if ((rc = resolve_ref(&ts[i], obj, &v->via.array.ptr[i], err)) || (rc = check_target(r, ts[i], err)))
			return rc;
	if ((rc = ath_load__ensure_rel(obj, r, err)))
		return rc;
	/* remove what is not in the new list, then add the rest */
	for (uint32_t i = rv->n; i-- > 0;) {
		bool keep = false;
		for (uint32_t j = 0; j < v->via.array.size; j++)
			keep |= ts[j] == rv->items[i];
		if (!keep && (rc = ath_obj__rel_remove(obj, r, rv->items[i], true, err)))
			return rc;
	}
	for (uint32_t j = 0; j < v->via.array.size; j++)
		if ((rc = link(obj, r, ts[j], err)))
			return rc;
	return 0;
}

static int obj_set(ath_obj *obj, int a, const void *value, size_t len, ath_err *err)
{
	int rc = check_index(obj, a, err);
	if (rc)
		return rc;
	if (obj->marked_deleted || obj->status == ATH_OBJ_DELETED)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "Instance of %s has been deleted; its attributes cannot be set", obj->m->name);
	const ath_mapper *m = obj->m;
	if ((uint32_t)a < m->nprops && m->props[a].col && !obj->has_key && value) {
		/* the common case, a new object's scalar: stored as given, or an integer re-encoded */
		unsigned char ci[9];
		size_t cl;
		if (ath_mp__canonical_scalar(value, len))
			return ath_obj__set_prop(obj, (uint32_t)a, value, len, false, err);
		if ((cl = ath_mp__canonical_int(value, len, ci)) > 0)
			return ath_obj__set_prop(obj, (uint32_t)a, ci, cl, false, err);
	}
	ath_wire_limits lim = ath_wire__limits(NULL);
	if ((rc = ath_wire__validate(value, len, &lim, "value", err)))
		return rc;
	msgpack_zone z;
	if (!msgpack_zone_init(&z, 256))
		return ath_err__oom(err);
	msgpack_object v;
	size_t off = 0;
	if (msgpack_unpack(value, len, &off, &z, &v) != MSGPACK_UNPACK_SUCCESS)
		rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "value: not valid msgpack");
	else if ((uint32_t)a >= obj->m->nprops)
		rc = set_rel(obj, &obj->m->rels[a - (int)obj->m->nprops], &v, err);
	else {
		if (!m->props[a].col)
			rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					  "%s.%s is a column_property expression: it is read-only", m->name, m->props[a].name);
		for (uint32_t k = 0; k < m->npk; k++)
			if (m->pk[k] == (uint32_t)a && obj->has_key)
				rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
						  "%s.%s is part of the primary key of a persisted object; changing it is "
						  "not supported yet",
						  m->name, m->props[a].name);
		/* canonical bytes: the smallest encodings, as rows from the database have them */
		ath_buf b = ATH_BUF_INIT;
		msgpack_packer pk;
		ath_wire__packer_init(&pk, &b);
		if (!rc && msgpack_pack_object(&pk, v))
			rc = ath_err__oom(err);
		if (!rc && obj->status == ATH_OBJ_PERSISTENT && !ath_val__loaded(&obj->cur[a]))
			rc = ath_load__ensure_prop(obj, (uint32_t)a, err); /* history needs the old value */
		if (!rc)
			rc = ath_obj__set_prop(obj, (uint32_t)a, b.ptr, b.size, false, err);
		ath_buf_dispose(&b);
	}
	msgpack_zone_destroy(&z);
	return rc;
}

ATH_EXTERN(int) ath_obj_set(ath_obj *obj, const char *attr, const void *value, size_t len)
{
	CHECK_OBJ(obj);
	ath_err e = { 0 };
	int a = attr_index(obj, attr, &e);
	if (a < 0)
		return ath_capi__publish(&e, ATH_EINVALID);
	CAPI_CALL(obj_set(obj, a, value, len, CAPI_ERR));
}

ATH_EXTERN(int) ath_obj_set_i(ath_obj *obj, int attr, const void *value, size_t len)
{
	CHECK_OBJ(obj);
	CAPI_CALL(obj_set(obj, attr, value, len, CAPI_ERR));
}

static int pack_relval(msgpack_packer *pk, const ath_rel *r, const ath_relval *rv)
{
	if (!r->uselist)
		return rv->n ? ath_obj__pack_ref(pk, rv->items[0]) : msgpack_pack_nil(pk);
	int rc = msgpack_pack_array(pk, rv->n);
	for (uint32_t i = 0; i < rv->n && !rc; i++)
		rc = ath_obj__pack_ref(pk, rv->items[i]);
	return rc;
}

static int obj_get(ath_buf *out, ath_obj *obj, int a, ath_err *err)
{
	if (a >= 0 && (uint32_t)a < obj->m->nprops && obj->cur[a].p) { /* a loaded column: its bytes as they are */
		out->size = 0;
		return ath_wire__buf_write(out, (const char *)obj->cur[a].p, obj->cur[a].len) ? ath_err__oom(err) : 0;
	}
	int rc = check_index(obj, a, err);
	if (rc)
		return rc;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	if ((uint32_t)a >= obj->m->nprops) {
		const ath_rel *r = &obj->m->rels[a - (int)obj->m->nprops];
		if ((rc = ath_load__ensure_rel(obj, r, err)))
			return rc;
		/* hand the objects to the host through the session: pin them so their ids resolve */
		const ath_relval *rv = &obj->rels[r->idx];
		for (uint32_t i = 0; obj->sess && i < rv->n; i++)
			if (ath_session__pin(obj->sess, rv->items[i]) < 0)
				return ath_err__oom(err);
		return pack_relval(&pk, r, rv) ? ath_err__oom(err) : 0;
	}
	if ((rc = ath_load__ensure_prop(obj, (uint32_t)a, err)))
		return rc;
	const ath_val *v = &obj->cur[a];
	if (!v->p) /* never set on a transient / pending object: None */
		return msgpack_pack_nil(&pk) ? ath_err__oom(err) : 0;
	return ath_wire__buf_write(out, (const char *)v->p, v->len) ? ath_err__oom(err) : 0;
}

ATH_EXTERN(int) ath_obj_get(ath_buf *out, ath_obj *obj, const char *attr)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_obj_get: out is NULL");
	CHECK_OBJ(obj);
	ath_err e = { 0 };
	int a = attr_index(obj, attr, &e);
	if (a < 0)
		return ath_capi__publish(&e, ATH_EINVALID);
	CAPI_CALL(obj_get(out, obj, a, CAPI_ERR));
}

ATH_EXTERN(int) ath_obj_get_i(ath_buf *out, ath_obj *obj, int attr)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_obj_get_i: out is NULL");
	CHECK_OBJ(obj);
	CAPI_CALL(obj_get(out, obj, attr, CAPI_ERR));
}

static int obj_state(ath_buf *out, ath_obj *obj, ath_err *err)
{
	const ath_mapper *m = obj->m;
	int rc = 0;
	if (obj->status == ATH_OBJ_PERSISTENT && obj->sess)
		rc = ath_load__props(obj->sess, obj, false, err);
	if (rc)
		return rc;
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->nprops; i++)
		n += obj->cur[i].p != NULL;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	rc = msgpack_pack_map(&pk, n);
	for (uint32_t i = 0; i < m->nprops && !rc; i++)
		if (obj->cur[i].p)
			rc = ath_wire__pack_cstr(&pk, m->props[i].name) |
			     ath_wire__buf_write(out, (const char *)obj->cur[i].p, obj->cur[i].len);
	return rc ? ath_err__oom(err) : 0;
}

ATH_EXTERN(int) ath_obj_state(ath_buf *out, ath_obj *obj)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_obj_state: out is NULL");
	CHECK_OBJ(obj);
	CAPI_CALL(obj_state(out, obj, CAPI_ERR));
}

static int rel_of(const ath_obj *obj, const char *rel, const ath_rel **r, ath_err *err)
{
	int a = attr_index(obj, rel, err);
	if (a < 0)
		return ATH_EINVALID;
	if ((uint32_t)a < obj->m->nprops)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "%s.%s is not a relationship",
				    obj->m->name, rel);
	*r = &obj->m->rels[a - (int)obj->m->nprops];
	return 0;
}

static int related_count(size_t *out, ath_obj *obj, const char *rel, ath_err *err)
{
	const ath_rel *r = NULL;
	int rc = rel_of(obj, rel, &r, err);
	if (!rc)
		rc = ath_load__ensure_rel(obj, r, err);
	if (!rc)
		*out = obj->rels[r->idx].n;
	return rc;
}

ATH_EXTERN(int) ath_obj_related_count(size_t *count_out, ath_obj *obj, const char *rel)
{
	if (!count_out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_obj_related_count: count_out is NULL");
	*count_out = 0;
	CHECK_OBJ(obj);
	CAPI_CALL(related_count(count_out, obj, rel, CAPI_ERR));
}

static int related(ath_obj **out, ath_obj *obj, const char *rel, size_t i, ath_err *err)
{
	size_t n;
	int rc = related_count(&n, obj, rel, err);
	if (rc)
		return rc;
	if (i >= n)
		return ath_err__set(err, ATH_ENOTFOUND, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "%s.%s has %zu object(s); no item %zu", obj->m->name, rel, n, i);
	const ath_rel *r = NULL;
	rel_of(obj, rel, &r, err);
	*out = obj->rels[r->idx].items[i];
	ath_obj__incref(*out);
	return 0;
}

ATH_EXTERN(int) ath_obj_related(ath_obj **out, ath_obj *obj, const char *rel, size_t i)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_obj_related: out is NULL");
	*out = NULL;
	CHECK_OBJ(obj);
	CAPI_CALL(related(out, obj, rel, i, CAPI_ERR));
}

static int obj_link(ath_obj *obj, const char *rel, ath_obj *target, bool add, ath_err *err)
{
	const ath_rel *r = NULL;
	int rc = rel_of(obj, rel, &r, err);
	if (rc)
		return rc;
	if (target && target->reg != obj->reg)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "the objects belong to different registries");
	if (target && target->sess && obj->sess && target->sess != obj->sess)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "Object of %s is already attached to another session", target->m->name);
	if (obj->marked_deleted || obj->status == ATH_OBJ_DELETED)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "Instance of %s has been deleted", obj->m->name);
	if (obj->sess && (rc = ath_session__usable(obj->sess, err)))
		return rc;
	if (add && target)
		return link(obj, r, target, err);
	if (target && r->lazy == ATH_LAZY_WRITE_ONLY)
		return ath_obj__rel_remove(obj, r, target, true, err);
	if ((rc = ath_load__ensure_rel(obj, r, err)))
		return rc;
	ath_relval *rv = &obj->rels[r->idx];
	if (!target) { /* clear a many-to-one */
		if (r->uselist)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "%s.%s is a collection: name the object to unlink",
					    obj->m->name, r->name);
		return rv->n ? ath_obj__rel_remove(obj, r, rv->items[0], true, err) : 0;
	}
	return ath_obj__rel_remove(obj, r, target, true, err);
}

ATH_EXTERN(int) ath_obj_link(ath_obj *obj, const char *rel, ath_obj *target)
{
	CHECK_OBJ(obj);
	if (target && target->magic != ATH_MAGIC_OBJ)
		return ath_capi__misuse(ATH_EMISUSE, "ath_obj_link: target is closed or not a valid handle");
	CAPI_CALL(obj_link(obj, rel, target, true, CAPI_ERR));
}

ATH_EXTERN(int) ath_obj_unlink(ath_obj *obj, const char *rel, ath_obj *target)
{
	CHECK_OBJ(obj);
	CAPI_CHECK(target, ATH_MAGIC_OBJ, "target");
	CAPI_CALL(obj_link(obj, rel, target, false, CAPI_ERR));
}

static int history(ath_buf *out, ath_obj *obj, const char *attr, ath_err *err)
{
	int a = attr_index(obj, attr, err);
	if (a < 0)
		return ATH_EINVALID;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	int rc = msgpack_pack_map(&pk, 3);
	if ((uint32_t)a < obj->m->nprops) {
		const ath_val *cur = &obj->cur[a], *old = &obj->committed[a];
		bool changed = obj->modified[a];
		bool added = (changed || obj->status == ATH_OBJ_TRANSIENT || obj->status == ATH_OBJ_PENDING) && cur->p;
		bool deleted = changed && old->p;
		rc |= ath_wire__pack_cstr(&pk, "added") | msgpack_pack_array(&pk, added);
		if (added)
			rc |= ath_wire__buf_write(out, (const char *)cur->p, cur->len);
		rc |= ath_wire__pack_cstr(&pk, "unchanged") | msgpack_pack_array(&pk, !added && cur->p);
		if (!added && cur->p)
			rc |= ath_wire__buf_write(out, (const char *)cur->p, cur->len);
		rc |= ath_wire__pack_cstr(&pk, "deleted") | msgpack_pack_array(&pk, deleted);
		if (deleted)
			rc |= ath_wire__buf_write(out, (const char *)old->p, old->len);
		return rc ? ath_err__oom(err) : 0;
	}
	const ath_relval *rv = &obj->rels[a - (int)obj->m->nprops];
	ath_relval orig = { .items = rv->changed ? rv->orig : rv->items, .n = rv->changed ? rv->norig : rv->n };
	uint32_t nadd = 0, nkeep = 0, ndel = 0;
	for (uint32_t i = 0; i < rv->n; i++)
		ath_relval__has(&orig, rv->items[i]) ? nkeep++ : nadd++;
	for (uint32_t i = 0; i < orig.n; i++)
		ndel += !ath_relval__has(rv, orig.items[i]);
	rc |= ath_wire__pack_cstr(&pk, "added") | msgpack_pack_array(&pk, nadd);
	for (uint32_t i = 0; i < rv->n; i++)
		if (!ath_relval__has(&orig, rv->items[i]))
			rc |= ath_obj__pack_ref(&pk, rv->items[i]);
	rc |= ath_wire__pack_cstr(&pk, "unchanged") | msgpack_pack_array(&pk, nkeep);
	for (uint32_t i = 0; i < rv->n; i++)
		if (ath_relval__has(&orig, rv->items[i]))
			rc |= ath_obj__pack_ref(&pk, rv->items[i]);
	rc |= ath_wire__pack_cstr(&pk, "deleted") | msgpack_pack_array(&pk, ndel);
	for (uint32_t i = 0; i < orig.n; i++)
		if (!ath_relval__has(rv, orig.items[i]))
			rc |= ath_obj__pack_ref(&pk, orig.items[i]);
	return rc ? ath_err__oom(err) : 0;
}

ATH_EXTERN(int) ath_obj_history(ath_buf *out, ath_obj *obj, const char *attr)
{
	if (!out)
		return ath_capi__misuse(ATH_EMISUSE, "ath_obj_history: out is NULL");
	CHECK_OBJ(obj);
	CAPI_CALL(history(out, obj, attr, CAPI_ERR));
}

ATH_EXTERN(int) ath_obj_is_modified(const ath_obj *obj)
{
	if (!obj || obj->magic != ATH_MAGIC_OBJ)
		return 0;
	if (obj->dirty)
		return 1;
	for (uint32_t i = 0; i < obj->m->nrels; i++)
		if (obj->rels[i].changed)
			return 1;
	return 0;
}
