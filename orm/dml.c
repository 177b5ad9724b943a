/* dml.c — ORM-enabled INSERT and UPDATE statements (SQLAlchemy 2.0's bulk_persistence.py):
 * `{"k": "insert", "table": ["entity", cls]}` with params that are rows of attribute maps inserts
 * them as executemany batches (rows grouped by the attributes they give); an UPDATE of an entity
 * without "set" updates each row by its primary key. After an UPDATE / DELETE with criteria, the
 * identity map follows the matched rows (synchronize_session): updated attributes are expired,
 * deleted objects leave the identity map. */
#include "orm/orm.h"

#include <string.h>

#include "util/alloc.h"
#include "wire/mpbuf.h"

/* one row's attributes as prop indices, in the order given; -1 when unknown */
static int row_props(const ath_mapper *m, const msgpack_object *row, uint32_t *props, uint32_t i, ath_err *err)
{
	if (row->type != MSGPACK_OBJECT_MAP || row->via.map.size == 0 || row->via.map.size > 256)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "params[%u]: a bulk row is a non-empty map of attribute name to value", i);
	for (uint32_t k = 0; k < row->via.map.size; k++) {
		const msgpack_object *key = &row->via.map.ptr[k].key;
		char name[256];
		if (key->type != MSGPACK_OBJECT_STR || key->via.str.size >= sizeof name)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "params[%u]: attribute names must be strings", i);
		memcpy(name, key->via.str.ptr, key->via.str.size);
		name[key->via.str.size] = 0;
		int at = ath_mapper__attr(m, name);
		if (at < 0 || (uint32_t)at >= m->nprops || !m->props[at].col)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "params[%u]: %s has no column attribute '%s'", i, m->name, name);
		props[k] = (uint32_t)at;
	}
	return 0;
}

static bool same_keys(const msgpack_object *a, const msgpack_object *b)
{
	if (a->via.map.size != b->via.map.size)
		return false;
	for (uint32_t k = 0; k < a->via.map.size; k++) {
		const msgpack_object *x = &a->via.map.ptr[k].key, *y = &b->via.map.ptr[k].key;
		if (x->via.str.size != y->via.str.size || memcmp(x->via.str.ptr, y->via.str.ptr, x->via.str.size) != 0)
			return false;
	}
	return true;
}

static bool is_pk(const ath_mapper *m, uint32_t p)
{
	for (uint32_t k = 0; k < m->npk; k++)
		if (m->pk[k] == p)
			return true;
	return false;
}

/* rows[from..to) share their attributes: one executemany */
static int bulk_group(ath_session *s, const ath_mapper *m, bool update, const msgpack_object *rows, uint32_t from,
		      uint32_t to, int64_t *count, ath_err *err)
{
	const msgpack_object *r0 = &rows[from];
	uint32_t n = r0->via.map.size, props[256];
	int rc = row_props(m, r0, props, from, err);
	if (rc)
		return rc;
	/* UPDATE: SET the non-key attributes WHERE the key attributes (all of them given) */
	uint32_t order[256], nset = 0, nkey = 0;
	for (uint32_t k = 0; k < n; k++)
		if (!update || !is_pk(m, props[k]))
			order[nset++] = k;
	for (uint32_t k = 0; update && k < m->npk; k++) {
		uint32_t j;
		for (j = 0; j < n && props[j] != m->pk[k]; j++)
			;
		if (j == n)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
					    "params[%u]: a bulk UPDATE by primary key needs %s.%s in every row", from, m->name,
					    m->props[m->pk[k]].name);
		order[nset + nkey++] = j;
	}
	if (update && !nset)
		return 0; /* nothing to set */
	ath_buf shape = ATH_BUF_INIT, params = ATH_BUF_INIT;
	msgpack_packer sp, pp;
	ath_wire__packer_init(&sp, &shape);
	ath_wire__packer_init(&pp, &params);
	int prc = msgpack_pack_map(&sp, update ? 4 : 4) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, update ? "update" : "insert") |
		  ath_mp__key(&sp, "table") | ath_mp__table(&sp, m->table);
	if (update) {
		prc |= ath_mp__key(&sp, "set") | msgpack_pack_array(&sp, nset);
		for (uint32_t k = 0; k < nset; k++)
			prc |= msgpack_pack_array(&sp, 2) | ath_wire__pack_cstr(&sp, m->props[props[order[k]]].col->name) |
			       ath_mp__bind(&sp, k);
		const ath_column *cols[32];
		for (uint32_t k = 0; k < nkey && k < 32; k++)
			cols[k] = m->props[props[order[nset + k]]].col;
		prc |= ath_mp__key(&sp, "where") | ath_mp__where_eq(&sp, m->table->name, cols, nkey, nset);
	} else {
		prc |= ath_mp__key(&sp, "columns") | msgpack_pack_array(&sp, n);
		for (uint32_t k = 0; k < n; k++)
			prc |= ath_wire__pack_cstr(&sp, m->props[props[k]].col->name);
		prc |= ath_mp__key(&sp, "values") | msgpack_pack_array(&sp, 1) | msgpack_pack_array(&sp, n);
		for (uint32_t k = 0; k < n; k++)
			prc |= ath_mp__bind(&sp, k);
	}
	prc |= msgpack_pack_array(&pp, to - from);
	for (uint32_t i = from; i < to; i++) {
		prc |= msgpack_pack_array(&pp, nset + nkey);
		for (uint32_t k = 0; k < nset + nkey; k++)
			prc |= msgpack_pack_object(&pp, rows[i].via.map.ptr[order[k]].val);
	}
	ath_conn *c;
	ath_result *res = NULL;
	rc = prc ? ath_err__oom(err) : ath_session__conn(s, m, &c, err);
	if (!rc)
		rc = ath_conn__execute(&res, c, shape.ptr, shape.size, params.ptr, params.size, 1, 0, err);
	if (!rc && res->rowcount > 0)
		*count += res->rowcount;
	ath_result__close(res);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&params);
	/* objects of the identity map the UPDATE changed: the values set are expired */
	for (uint32_t i = from; update && !rc && i < to; i++) {
		const ath_val *kv[32];
		ath_val vals[32];
		ath_buf tmp[32];
		for (uint32_t k = 0; k < m->npk && k < 32; k++) {
			tmp[k] = (ath_buf)ATH_BUF_INIT;
			msgpack_packer kp;
			ath_wire__packer_init(&kp, &tmp[k]);
			msgpack_pack_object(&kp, rows[i].via.map.ptr[order[nset + k]].val);
			vals[k].p = tmp[k].ptr;
			vals[k].len = (uint32_t)tmp[k].size;
			kv[k] = &vals[k];
		}
		/* the key values in key order (order[nset + k] follows m->pk) */
		ath_obj *o = ath_objset__lookup(&s->identity, m, kv);
		for (uint32_t k = 0; k < m->npk && k < 32; k++)
			ath_buf_dispose(&tmp[k]);
		if (o && !o->dirty) {
			bool expire[512] = { 0 };
			for (uint32_t k = 0; k < nset && props[order[k]] < 512; k++)
				expire[props[order[k]]] = true;
			ath_obj__expire(o, expire, false);
		}
	}
	return rc;
}

int ath_dml__bulk(ath_session *s, const ath_mapper *m, bool update, const void *params, size_t plen, ath_err *err)
{
	if (!params || !plen)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "an ORM bulk %s of %s needs params: an array of attribute maps", update ? "UPDATE" : "INSERT",
				    m->name);
	ath_wire_limits lim = s->engine->limits;
	int rc = ath_wire__validate(params, plen, &lim, "params", err);
	if (rc)
		return rc;
	msgpack_zone z;
	if (!msgpack_zone_init(&z, 4096))
		return ath_err__oom(err);
	msgpack_object root;
	size_t off = 0;
	if (msgpack_unpack(params, plen, &off, &z, &root) != MSGPACK_UNPACK_SUCCESS || root.type != MSGPACK_OBJECT_ARRAY ||
	    !root.via.array.size) {
		msgpack_zone_destroy(&z);
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "an ORM bulk %s needs a non-empty array of attribute maps", update ? "UPDATE" : "INSERT");
	}
	const msgpack_object *rows = root.via.array.ptr;
	uint32_t n = root.via.array.size, i = 0;
	int64_t count = 0;
	for (uint32_t k = 0; k < n && !rc; k++)
		if (rows[k].type != MSGPACK_OBJECT_MAP)
			rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					  "params[%u]: a bulk row is a map of attribute name to value", k);
	while (i < n && !rc) {
		uint32_t j = i + 1;
		while (j < n && same_keys(&rows[i], &rows[j]))
			j++;
		rc = bulk_group(s, m, update, rows, i, j, &count, err);
		i = j;
	}
	msgpack_zone_destroy(&z);
	s->rowcount = count;
	return rc;
}

int ath_dml__synchronize(ath_session *s, const ath_mapper *m, bool deleted, const uint32_t *set_props, uint32_t nset,
			 const ath_buf *keys, ath_err *err)
{
	const unsigned char *p = keys->ptr, *end = keys->ptr + keys->size;
	uint32_t nrows;
	if (!(p = ath_mp__array(p, end, &nrows)))
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
	int64_t rowcount = s->rowcount;
	for (uint32_t r = 0; r < nrows; r++) {
		uint32_t nk;
		if (!(p = ath_mp__array(p, end, &nk)) || nk != m->npk || nk > 32)
			return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
		ath_val vals[32];
		const ath_val *kv[32];
		for (uint32_t k = 0; k < nk; k++) {
			const unsigned char *q = ath_mp__skip(p, end);
			if (!q)
				return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
			vals[k].p = (unsigned char *)p;
			vals[k].len = (uint32_t)(q - p);
			kv[k] = &vals[k];
			p = q;
		}
		ath_obj *o = ath_objset__lookup(&s->identity, m, kv);
		if (!o)
			continue;
		if (deleted) { /* gone from the database: deleted in the session, as a flush would leave it */
			ath_objset__del(&s->identity, o);
			o->status = ATH_OBJ_DELETED;
			o->marked_deleted = false;
			o->del_level = (uint16_t)(s->nested + 1);
			continue;
		}
		bool expire[512] = { 0 };
		for (uint32_t k = 0; k < nset; k++)
			if (set_props[k] < 512 && !o->modified[set_props[k]])
				expire[set_props[k]] = true;
		ath_obj__expire(o, expire, false);
	}
	s->rowcount = rowcount;
	return 0;
}
