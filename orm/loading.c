/* loading.c — rows into objects (loading.py's instances(): the identity map first, unloaded
 * attributes filled, new objects registered), loading of expired and deferred columns
 * (load_on_ident), and the relationship loaders of strategies.py: LazyLoader (with the
 * identity-map shortcut for a many-to-one by primary key) and SelectInLoader (IN batches of
 * 500, recursively for what the batch loads). */
#include "orm/orm.h"

#include <string.h>

#include "util/alloc.h"
#include "wire/mpbuf.h"

int ath_load__run(ath_session *s, const ath_mapper *m, const void *shape, size_t len, const void *params, size_t plen,
		  ath_buf *rows, ath_err *err)
{
	ath_conn *c;
	int rc = ath_session__conn(s, m, &c, err);
	if (rc)
		return rc;
	ath_result *res;
	rc = ath_conn__execute(&res, c, shape, len, params, plen, 0, 0, err);
	if (rc)
		return rc;
	s->rowcount = res->rowcount;
	if (res->returns_rows)
		rc = ath_result__fetch(rows, res, SIZE_MAX, err);
	else { /* DML without RETURNING: no rows */
		msgpack_packer pk;
		ath_wire__packer_init(&pk, rows);
		rc = msgpack_pack_array(&pk, 0) ? ath_err__oom(err) : 0;
	}
	ath_result__close(res);
	return rc == ATH_ITEROVER ? 0 : rc;
}

/* Iterate the rows of a batch: each row's values as (pointer, length) pairs. */
typedef struct rowiter {
	const unsigned char *p, *end;
	uint32_t left;
	const unsigned char *vals[256];
	uint32_t lens[256];
	uint32_t ncols;
} rowiter;

static int rows_begin(rowiter *it, const ath_buf *rows)
{
	it->end = rows->ptr + rows->size;
	it->p = ath_mp__array(rows->ptr, it->end, &it->left);
	return it->p ? 0 : -1;
}

/* 1 with a row, 0 at the end, -1 for a malformed batch */
static int rows_next(rowiter *it)
{
	if (!it->left)
		return 0;
	it->left--;
	uint32_t n;
	const unsigned char *p = ath_mp__array(it->p, it->end, &n);
	if (!p || n > 256)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *q = ath_mp__skip(p, it->end);
		if (!q)
			return -1;
		it->vals[i] = p;
		it->lens[i] = (uint32_t)(q - p);
		p = q;
	}
	it->ncols = n;
	it->p = p;
	return 1;
}

static int malformed(ath_err *err)
{
	return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch from the engine");
}

/* the identity key (array32 of the values) of a row, or of an object's prop values */
static int build_key(ath_buf *key, const ath_mapper *m, const unsigned char *const *vals, const uint32_t *lens)
{
	static const unsigned char h[5] = { 0xdd, 0, 0, 0, 0 };
	key->size = 0;
	if (ath_wire__buf_write(key, (const char *)h, 5) < 0)
		return -1;
	key->ptr[4] = (unsigned char)m->npk;
	for (uint32_t i = 0; i < m->npk; i++)
		if (ath_wire__buf_write(key, (const char *)vals[i], lens[i]) < 0)
			return -1;
	return 0;
}

/* whether prop p is in a row: the given column set, or every prop but the deferred ones */
static inline bool in_row(const ath_mapper *m, const bool *cols, uint32_t p)
{
	return cols ? cols[p] : !m->props[p].deferred;
}

/* column position of a prop in such a row, -1 when absent */
static int row_pos(const ath_mapper *m, const bool *cols, uint32_t p)
{
	if (!in_row(m, cols, p))
		return -1;
	int pos = 0;
	for (uint32_t i = 0; i < p; i++)
		pos += in_row(m, cols, i);
	return pos;
}

int ath_load__instance(ath_obj **out, ath_session *s, const ath_mapper *m, const bool *cols,
		       const unsigned char *const *vals, const uint32_t *lens, bool populate_existing, ath_err *err)
{
	const ath_mapper *rowm = m; /* the row's layout; the object may be of a subclass with more props */
	const unsigned char *kv[32];
	uint32_t kl[32];
	for (uint32_t i = 0; i < m->npk && i < 32; i++) {
		int pos = row_pos(m, cols, m->pk[i]);
		kv[i] = vals[pos];
		kl[i] = lens[pos];
		if (kl[i] == 1 && kv[i][0] == 0xc0)
			return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
					    "a row of %s has a NULL primary key column '%s'", m->name,
					    m->props[m->pk[i]].name);
	}
	if (m->root->poly_prop >= 0) {
		/* the row's discriminator says which class it is (a joined-table subclass's own columns
		 * not in the row load on access) */
		int pos = row_pos(m, cols, (uint32_t)m->root->poly_prop);
		const ath_mapper *found = NULL;
		for (uint32_t i = 0; pos >= 0 && i < s->reg->nmappers && !found; i++) {
			const ath_mapper *x = &s->reg->mappers[i];
			if (x->root == m->root && x->identity_len == lens[pos] && memcmp(x->identity, vals[pos], lens[pos]) == 0)
				found = x;
		}
		if (found)
			m = found;
		else if (pos >= 0 && !(lens[pos] == 1 && vals[pos][0] == 0xc0))
			return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
					    "No such polymorphic_identity in the %s hierarchy (a row of table '%s')", m->root->name,
					    m->table->name);
	}
	/* the identity key (array32 of the values), on the stack when it fits */
	size_t klen = 5;
	for (uint32_t i = 0; i < m->npk; i++)
		klen += kl[i];
	unsigned char kstack[256], *key = klen <= sizeof kstack ? kstack : ath__malloc(klen);
	if (!key)
		return ath_err__oom(err);
	key[0] = 0xdd;
	key[1] = key[2] = key[3] = 0;
	key[4] = (unsigned char)m->npk;
	for (uint32_t i = 0, off = 5; i < m->npk; off += kl[i], i++)
		memcpy(key + off, kv[i], kl[i]);
	uint64_t khash = ath_objset__key_hash(m, key, klen);
	ath_obj *o = ath_objset__by_key_h(&s->identity, m, key, klen, khash);
	int rc = 0;
	if (o) {
		if (key != kstack)
			ath__free(key);
		for (uint32_t i = 0, pos = 0; i < rowm->nprops && !rc; i++) {
			if (!in_row(rowm, cols, i))
				continue;
			if (populate_existing || (!ath_val__loaded(&o->cur[i]) && !o->modified[i])) {
				if (populate_existing && o->modified[i]) { /* populate_existing overwrites pending changes */
					ath_obj__clear_committed(o, i);
					o->modified[i] = 0;
				}
				rc = ath_obj__set_prop(o, i, vals[pos], lens[pos], true, err);
			}
			pos++;
		}
		if (populate_existing) {
			o->dirty = false;
			for (uint32_t i = 0; i < m->nprops; i++)
				o->dirty |= o->modified[i];
		}
		*out = o;
		return rc;
	}
	/* the row's values that do not fit inline go into the object's own block */
	size_t spare = 0;
	for (uint32_t i = 0, pos = 0; i < rowm->nprops; i++)
		if (in_row(rowm, cols, i) && lens[pos++] > ATH_VAL_INLINE)
			spare += lens[pos - 1];
	rc = ath_obj__new_sized(&o, s->reg, m, spare, err);
	if (rc) {
		if (key != kstack)
			ath__free(key);
		return rc;
	}
	for (uint32_t i = 0; i < m->nrels; i++)
		o->rels[i].loaded = false; /* from the database: relationships load on access */
	for (uint32_t i = 0, pos = 0; i < rowm->nprops && !rc; i++) {
		if (!in_row(rowm, cols, i))
			continue;
		rc = ath_obj__set_prop(o, i, vals[pos], lens[pos], true, err);
		pos++;
	}
	if (!rc && ath_obj__set_key(o, key, klen, khash) < 0)
		rc = ath_err__oom(err);
	if (!rc) {
		o->status = ATH_OBJ_PERSISTENT;
		rc = ath_session__attach(s, o, err);
		if (!rc && ath_objset__put(&s->identity, o) < 0) {
			ath_session__detach(s, o);
			rc = ath_err__oom(err);
		}
	}
	if (key != kstack)
		ath__free(key);
	if (rc) {
		o->host_refs = 1;
		ath_obj__decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

/* SELECT the wanted props of `o` by its primary key and fill those not changed locally. */
static int load_cols(ath_session *s, ath_obj *o, const bool *want, ath_err *err)
{
	const ath_mapper *m = o->m;
	if (!o->has_key)
		return 0;
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->nprops; i++)
		n += want[i];
	if (!n)
		return 0;
	ath_buf shape = ATH_BUF_INIT, params = ATH_BUF_INIT, rows = ATH_BUF_INIT;
	msgpack_packer sp, pp;
	ath_wire__packer_init(&sp, &shape);
	ath_wire__packer_init(&pp, &params);
	const ath_column *cols[32];
	for (uint32_t i = 0; i < m->npk && i < 32; i++)
		cols[i] = m->props[m->pk[i]].col;
	int prc = msgpack_pack_map(&sp, m->ntables > 1 ? 4 : 3) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "select") |
		  ath_mp__key(&sp, "columns") | msgpack_pack_array(&sp, n);
	for (uint32_t i = 0; i < m->nprops && !prc; i++)
		if (want[i] && ath_query__pack_prop(&sp, s->reg, m, i, m->table->name, true, err))
			prc = -1;
	if (m->ntables > 1) /* a joined-table subclass: its tables' join (SQLAlchemy reads the subclass's own table alone) */
		prc |= ath_mp__key(&sp, "from") | msgpack_pack_array(&sp, 1) | ath_mp__mapper_from(&sp, m);
	prc |= ath_mp__key(&sp, "where") | ath_mp__where_eq(&sp, m->table->name, cols, m->npk, 0);
	prc |= msgpack_pack_array(&pp, m->npk) |
	       ath_wire__buf_write(&params, (const char *)o->key.p + 5, o->key.len - 5);
	int rc = prc ? (err->code ? err->code : ath_err__oom(err))
		     : ath_load__run(s, m, shape.ptr, shape.size, params.ptr, params.size, &rows, err);
	if (!rc) {
		rowiter it;
		int got = rows_begin(&it, &rows) < 0 ? -1 : rows_next(&it);
		if (got < 0)
			rc = malformed(err);
		else if (got == 0)
			rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_OBJECT_DELETED_ERROR,
					  "Instance '<%s at id %llu>' has been deleted, or its row is otherwise not present.",
					  m->name, (unsigned long long)o->id);
		else
			for (uint32_t i = 0, c = 0; i < m->nprops && !rc; i++) {
				if (!want[i])
					continue;
				if (!o->modified[i])
					rc = ath_obj__set_prop(o, i, it.vals[c], it.lens[c], true, err);
				c++;
			}
	}
	ath_buf_dispose(&shape);
	ath_buf_dispose(&params);
	ath_buf_dispose(&rows);
	return rc;
}

int ath_load__props(ath_session *s, ath_obj *o, bool force, ath_err *err)
{
	const ath_mapper *m = o->m;
	bool want[512];
	if (m->nprops > 512)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR, "more than 512 columns");
	if (force)
		ath_obj__expire(o, NULL, false);
	for (uint32_t i = 0; i < m->nprops; i++)
		want[i] = !m->props[i].deferred && !ath_val__loaded(&o->cur[i]) && !o->modified[i];
	return load_cols(s, o, want, err);
}

int ath_load__ensure_prop(ath_obj *o, uint32_t p, ath_err *err)
{
	if (ath_val__loaded(&o->cur[p]) || o->status == ATH_OBJ_TRANSIENT || o->status == ATH_OBJ_PENDING)
		return 0;
	if (!o->sess)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_DETACHED_INSTANCE_ERROR,
				    "Instance <%s at id %llu> is not bound to a Session; attribute refresh operation "
				    "cannot proceed",
				    o->m->name, (unsigned long long)o->id);
	int rc = ath_session__usable(o->sess, err);
	if (rc)
		return rc;
	bool want[512];
	const ath_mapper *m = o->m;
	/* an expired object loads every expired column at once; a deferred column alone */
	for (uint32_t i = 0; i < m->nprops && i < 512; i++)
		want[i] = !ath_val__loaded(&o->cur[i]) && !o->modified[i] && (m->props[p].deferred ? i == p : !m->props[i].deferred);
	return load_cols(o->sess, o, want, err);
}

/* ---- relationships --------------------------------------------------------------------------- */

/* Pack "where" for a relationship load of one parent: remote columns = the parent's values
 * (binds 0..), plus the FROM for a many-to-many. */
static int pack_rel_select(msgpack_packer *sp, const ath_rel *r, const ath_registry *reg, bool in_list, ath_err *err)
{
	const ath_mapper *t = r->target;
	const char *tt = t->table->name;
	int nkeys = 2 + (r->order_by ? 1 : 0) + (r->dir == ATH_REL_M2M || t->ntables > 1 ? 1 : 0);
	int prc = msgpack_pack_map(sp, (uint32_t)nkeys + 1) | ath_mp__key(sp, "k") | ath_mp__key(sp, "select") |
		  ath_mp__key(sp, "columns");
	/* columns: the target's, plus for an IN load the columns that say which parent a row is for */
	uint32_t nextra = !in_list ? 0 : r->dir == ATH_REL_M2M ? r->nsec_local : 0;
	prc |= msgpack_pack_array(sp, ath_mapper__nloaded(t) + nextra);
	for (uint32_t i = 0; i < t->nprops && !prc; i++)
		if (!t->props[i].deferred && ath_query__pack_prop(sp, reg, t, i, tt, true, err))
			return err->code ? err->code : ath_err__oom(err);
	for (uint32_t i = 0; i < nextra; i++)
		prc |= ath_mp__col(sp, r->secondary->name, r->sec_local_col[i]->name);
	if (r->dir == ATH_REL_M2M) {
		/* FROM target JOIN secondary ON secondary.remote = target.ref */
		prc |= ath_mp__key(sp, "from") | msgpack_pack_array(sp, 1) | msgpack_pack_array(sp, 5) |
		       ath_wire__pack_cstr(sp, "join") | ath_mp__mapper_from(sp, t) | ath_mp__table(sp, r->secondary);
		if (r->nsec_remote > 1)
			prc |= msgpack_pack_array(sp, r->nsec_remote + 1) | ath_wire__pack_cstr(sp, "and");
		for (uint32_t i = 0; i < r->nsec_remote; i++)
			prc |= msgpack_pack_array(sp, 3) | ath_wire__pack_cstr(sp, "=") |
			       ath_mp__col(sp, r->secondary->name, r->sec_remote_col[i]->name) |
			       ath_mp__prop_col(sp, t, r->sec_remote_prop[i], tt);
		prc |= ath_wire__pack_cstr(sp, "inner");
	} else if (t->ntables > 1) /* a joined-table subclass: its tables' join */
		prc |= ath_mp__key(sp, "from") | msgpack_pack_array(sp, 1) | ath_mp__mapper_from(sp, t);
	/* the criterion's columns: target side for M2O / O2M, secondary for M2M */
	uint32_t n = r->dir == ATH_REL_M2M ? r->nsec_local : r->npairs;
	const char *ct = r->dir == ATH_REL_M2M ? r->secondary->name : tt;
	prc |= ath_mp__key(sp, "where");
	bool poly = ath_mapper__filtered(t);
	if (poly || r->nextra) /* the discriminator, a custom primaryjoin's other terms */
		prc |= msgpack_pack_array(sp, 2 + poly + r->nextra) | ath_wire__pack_cstr(sp, "and");
	if (in_list) {
		prc |= msgpack_pack_array(sp, 3) | ath_wire__pack_cstr(sp, "in");
		if (n > 1)
			prc |= msgpack_pack_array(sp, n + 1) | ath_wire__pack_cstr(sp, "tuple");
	} else if (n > 1)
		prc |= msgpack_pack_array(sp, n + 1) | ath_wire__pack_cstr(sp, "and");
	for (uint32_t i = 0; i < n; i++) {
		const char *cn = r->dir == ATH_REL_M2M ? r->sec_local_col[i]->name : t->props[r->remote[i]].col->name;
		if (!in_list)
			prc |= msgpack_pack_array(sp, 3) | ath_wire__pack_cstr(sp, "=");
		prc |= r->dir == ATH_REL_M2M ? ath_mp__col(sp, ct, cn) : ath_mp__prop_col(sp, t, r->remote[i], ct);
		if (!in_list)
			prc |= ath_mp__bind(sp, i);
	}
	if (in_list)
		prc |= msgpack_pack_array(sp, 2) | ath_wire__pack_cstr(sp, "expanding") | msgpack_pack_uint32(sp, 0);
	if (poly)
		prc |= ath_mp__poly_criterion(sp, reg, t, tt);
	if (!prc && r->nextra && (prc = ath_query__pack_rel_extra(sp, r, tt, reg, err)))
		return prc;
	if (prc)
		return ath_err__oom(err);
	if (r->order_by) {
		if (ath_mp__key(sp, "order_by"))
			return ath_err__oom(err);
		return ath_query__pack_expr(sp, r->order_by, reg, err);
	}
	return 0;
}

/* the parent-side values of a relationship's join: props of `o` in pair order */
static uint32_t parent_props(const ath_rel *r, const uint32_t **props)
{
	if (r->dir == ATH_REL_M2M) {
		*props = r->sec_local_prop;
		return r->nsec_local;
	}
	*props = r->local;
	return r->npairs;
}

/* A many-to-one by primary key: the target in the identity map (not deleted), or *out NULL. */
static int identity_target(ath_session *s, ath_obj *o, const ath_rel *r, ath_obj **out, ath_err *err)
{
	const unsigned char *kv[32];
	uint32_t kl[32];
	*out = NULL;
	for (uint32_t i = 0; i < r->npairs && i < 32; i++) {
		kv[i] = o->cur[r->local[i]].p;
		kl[i] = o->cur[r->local[i]].len;
	}
	ath_buf key = ATH_BUF_INIT;
	if (build_key(&key, r->target, kv, kl) < 0) {
		ath_buf_dispose(&key);
		return ath_err__oom(err);
	}
	ath_obj *t = ath_objset__by_key(&s->identity, r->target, key.ptr, key.size);
	ath_buf_dispose(&key);
	if (t && !t->marked_deleted && t->status != ATH_OBJ_DELETED)
		*out = t;
	return 0;
}

static int ensure_parent_values(ath_obj *o, const ath_rel *r, ath_err *err)
{
	const uint32_t *props;
	uint32_t n = parent_props(r, &props);
	for (uint32_t i = 0; i < n; i++) {
		int rc = ath_load__ensure_prop(o, props[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

int ath_load__rel(ath_session *s, ath_obj *o, const ath_rel *r, ath_err *err)
{
	if (r->lazy == ATH_LAZY_NOLOAD || o->status == ATH_OBJ_PENDING || o->status == ATH_OBJ_TRANSIENT ||
	    !o->has_key)
		return ath_obj__rel_load(o, r, NULL, 0, err);
	int rc = ensure_parent_values(o, r, err);
	if (rc)
		return rc;
	const uint32_t *props;
	uint32_t n = parent_props(r, &props);
	for (uint32_t i = 0; i < n; i++)
		if (ath_val__is_nil(&o->cur[props[i]]))
			return ath_obj__rel_load(o, r, NULL, 0, err); /* a NULL foreign key: None, no SQL */
	if (r->dir == ATH_REL_M2O && r->m2o_by_pk) {
		/* the identity map shortcut: no SQL when the target is already in the session */
		ath_obj *t = NULL;
		if ((rc = identity_target(s, o, r, &t, err)))
			return rc;
		if (t)
			return ath_obj__rel_load(o, r, &t, 1, err);
	}
	if ((rc = ath_session__autoflush(s, err)))
		return rc;
	ath_buf shape = ATH_BUF_INIT, params = ATH_BUF_INIT, rows = ATH_BUF_INIT;
	msgpack_packer sp, pp;
	ath_wire__packer_init(&sp, &shape);
	ath_wire__packer_init(&pp, &params);
	rc = pack_rel_select(&sp, r, s->reg, false, err);
	if (!rc) {
		int prc = msgpack_pack_array(&pp, n);
		for (uint32_t i = 0; i < n; i++)
			prc |= ath_wire__buf_write(&params, (const char *)o->cur[props[i]].p, o->cur[props[i]].len);
		rc = prc ? ath_err__oom(err) : 0;
	}
	if (!rc)
		rc = ath_load__run(s, r->target, shape.ptr, shape.size, params.ptr, params.size, &rows, err);
	ath_obj **items = NULL;
	uint32_t nitems = 0;
	if (!rc) {
		rowiter it;
		int got;
		if (rows_begin(&it, &rows) < 0)
			rc = malformed(err);
		else if (!(items = ath__malloc(sizeof *items * (it.left ? it.left : 1))))
			rc = ath_err__oom(err);
		while (!rc && (got = rows_next(&it)) != 0) {
			if (got < 0) {
				rc = malformed(err);
				break;
			}
			ath_obj *t;
			rc = ath_load__instance(&t, s, r->target, NULL, it.vals, it.lens, false, err);
			if (!rc) {
				t->host_refs++; /* held until linked */
				items[nitems++] = t;
			}
		}
	}
	if (!rc && !r->uselist && nitems > 1)
		rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_MULTIPLE_RESULTS_FOUND,
				  "Multiple rows returned with uselist=False for lazily-loaded attribute '%s.%s'",
				  o->m->name, r->name);
	if (!rc)
		rc = ath_obj__rel_load(o, r, items, nitems, err);
	if (!rc)
		rc = ath_load__eager(s, items, nitems, NULL, err);
	for (uint32_t i = 0; i < nitems; i++)
		ath_obj__decref(items[i]);
	ath__free(items);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&params);
	ath_buf_dispose(&rows);
	return rc;
}

int ath_load__ensure_rel(ath_obj *o, const ath_rel *r, ath_err *err)
{
	if (r->lazy == ATH_LAZY_WRITE_ONLY)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "'%s.%s' is a write-only collection: it is never loaded; select its items with a "
				    "statement (e.g. comparing the other side's relationship to the object)",
				    o->m->name, r->name);
	if (o->rels[r->idx].loaded)
		return 0;
	if (o->status == ATH_OBJ_TRANSIENT || o->status == ATH_OBJ_PENDING)
		return ath_obj__rel_load(o, r, NULL, 0, err); /* nothing in the database yet */
	if (!o->sess)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_DETACHED_INSTANCE_ERROR,
				    "Parent instance <%s at id %llu> is not bound to a Session; lazy load operation of "
				    "attribute '%s' cannot proceed",
				    o->m->name, (unsigned long long)o->id, r->name);
	if (r->lazy == ATH_LAZY_RAISE || o->rels[r->idx].raise)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "'%s.%s' is not available due to lazy='raise'", o->m->name, r->name);
	int rc = ath_session__usable(o->sess, err);
	return rc ? rc : ath_load__rel(o->sess, o, r, err);
}

/* Whether `o` needs r loaded by an IN / subquery load (1: its join values appended to `keys`);
 * 0 when it is not r's owner, has it loaded, or gets it without SQL (a NULL join value: none; a
 * many-to-one by primary key already in the identity map); negative on error. */
static int pending_parent(ath_session *s, ath_obj *o, const ath_rel *r, ath_buf *keys, ath_err *err)
{
	if (!ath_mapper__isa(o->m, r->owner) || o->rels[r->idx].loaded || !o->has_key)
		return 0;
	int rc = ensure_parent_values(o, r, err);
	if (rc)
		return rc;
	const uint32_t *props;
	uint32_t nk = parent_props(r, &props);
	for (uint32_t k = 0; k < nk; k++)
		if (ath_val__is_nil(&o->cur[props[k]]))
			return ath_obj__rel_load(o, r, NULL, 0, err);
	ath_obj *known = NULL;
	if (r->dir == ATH_REL_M2O && r->m2o_by_pk && (rc = identity_target(s, o, r, &known, err)))
		return rc;
	if (known)
		return ath_obj__rel_load(o, r, &known, 1, err);
	for (uint32_t k = 0; k < nk; k++)
		if (ath_wire__buf_write(keys, (const char *)o->cur[props[k]].p, o->cur[props[k]].len) < 0)
			return ath_err__oom(err);
	return 1;
}

/* ---- selectin ------------------------------------------------------------------------------- */

/* parents of one batch, found again by their join values */
typedef struct pslot {
	const unsigned char *k;
	uint32_t len;
	ath_obj *o;
	ath_objvec kids;
} pslot;

static pslot *find_parent(pslot *ps, uint32_t n, const unsigned char *k, uint32_t len)
{
	for (uint32_t i = 0; i < n; i++)
		if (ps[i].len == len && memcmp(ps[i].k, k, len) == 0)
			return &ps[i];
	return NULL;
}

/* one batch: parents ps[0..n) whose join values are packed one after another in `vals` */
static int selectin_batch(ath_session *s, const ath_rel *r, pslot *ps, uint32_t n, ath_objvec *loaded, ath_err *err)
{
	const uint32_t *props;
	uint32_t nk = parent_props(r, &props);
	ath_buf shape = ATH_BUF_INIT, params = ATH_BUF_INIT, rows = ATH_BUF_INIT, kbuf = ATH_BUF_INIT;
	msgpack_packer sp, pp;
	ath_wire__packer_init(&sp, &shape);
	ath_wire__packer_init(&pp, &params);
	int rc = pack_rel_select(&sp, r, s->reg, true, err);
	if (!rc) {
		/* params: [[v, v, ...]] or [[[a, b], ...]] for a composite key; parents with equal values once */
		uint32_t distinct = 0;
		for (uint32_t i = 0; i < n; i++)
			distinct += !find_parent(ps, i, ps[i].k, ps[i].len);
		int prc = msgpack_pack_array(&pp, 1) | msgpack_pack_array(&pp, distinct);
		for (uint32_t i = 0; i < n; i++) {
			if (find_parent(ps, i, ps[i].k, ps[i].len))
				continue;
			if (nk > 1)
				prc |= msgpack_pack_array(&pp, nk);
			prc |= ath_wire__buf_write(&params, (const char *)ps[i].k, ps[i].len);
		}
		rc = prc ? ath_err__oom(err) : ath_load__run(s, r->target, shape.ptr, shape.size, params.ptr, params.size, &rows, err);
	}
	if (!rc) {
		rowiter it;
		int got;
		if (rows_begin(&it, &rows) < 0)
			rc = malformed(err);
		while (!rc && (got = rows_next(&it)) != 0) {
			if (got < 0) {
				rc = malformed(err);
				break;
			}
			ath_obj *t;
			rc = ath_load__instance(&t, s, r->target, NULL, it.vals, it.lens, false, err);
			if (rc)
				break;
			/* which parents: M2M by the secondary's columns at the end of the row; O2M by the
			 * child's foreign key props; M2O by the target's referred props */
			kbuf.size = 0;
			uint32_t base = ath_mapper__nloaded(r->target);
			for (uint32_t i = 0; i < nk && !rc; i++) {
				const unsigned char *v;
				uint32_t l;
				if (r->dir == ATH_REL_M2M) {
					v = it.vals[base + i];
					l = it.lens[base + i];
				} else {
					const ath_val *tv = &t->cur[r->remote[i]];
					if (!tv->p)
						continue;
					v = tv->p;
					l = tv->len;
				}
				if (ath_wire__buf_write(&kbuf, (const char *)v, l) < 0)
					rc = ath_err__oom(err);
			}
			bool seen = false;
			for (uint32_t i = 0; i < n && !rc; i++) {
				if (ps[i].len != kbuf.size || memcmp(ps[i].k, kbuf.ptr, kbuf.size) != 0)
					continue;
				if (ath_objvec__push(&ps[i].kids, t) < 0)
					rc = ath_err__oom(err);
				seen = true;
			}
			if (!rc && seen) {
				if (ath_objvec__push(loaded, t) < 0) {
					rc = ath_err__oom(err);
					break;
				}
				t->host_refs++;
			}
		}
	}
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = ath_obj__rel_load(ps[i].o, r, ps[i].kids.v, (uint32_t)ps[i].kids.n, err);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&params);
	ath_buf_dispose(&rows);
	ath_buf_dispose(&kbuf);
	return rc;
}

static int selectin(ath_session *s, ath_obj **objs, size_t n, const ath_rel *r, ath_objvec *loaded, ath_err *err)
{
	pslot *ps = ath__calloc(ATH_SELECTIN_BATCH, sizeof *ps);
	ath_buf keys = ATH_BUF_INIT;
	if (!ps)
		return ath_err__oom(err);
	int rc = 0;
	size_t i = 0;
	while (i < n && !rc) {
		/* gather up to 500 parents that still need the relationship */
		uint32_t np = 0;
		keys.size = 0;
		size_t *offs = ath__malloc(sizeof *offs * ATH_SELECTIN_BATCH);
		if (!offs) {
			rc = ath_err__oom(err);
			break;
		}
		for (; i < n && np < ATH_SELECTIN_BATCH && !rc; i++) {
			offs[np] = keys.size;
			int got = pending_parent(s, objs[i], r, &keys, err);
			if (got < 0)
				rc = got;
			else if (got) {
				ps[np].o = objs[i];
				ps[np].len = (uint32_t)(keys.size - offs[np]);
				np++;
			}
		}
		for (uint32_t k = 0; k < np; k++)
			ps[k].k = keys.ptr + offs[k];
		ath__free(offs);
		if (!rc && np)
			rc = selectin_batch(s, r, ps, np, loaded, err);
		for (uint32_t k = 0; k < np; k++) {
			ath__free(ps[k].kids.v);
			memset(&ps[k], 0, sizeof ps[k]);
		}
	}
	ath__free(ps);
	ath_buf_dispose(&keys);
	return rc;
}

int ath_load__selectin(ath_session *s, ath_obj **objs, size_t n, const ath_rel *r, const ath_loadopts *opts,
		       ath_err *err)
{
	ath_objvec loaded = { 0 };
	int rc = selectin(s, objs, n, r, &loaded, err);
	if (!rc)
		rc = ath_load__eager(s, loaded.v, loaded.n, opts, err);
	for (size_t i = 0; i < loaded.n; i++)
		ath_obj__decref(loaded.v[i]);
	ath__free(loaded.v);
	return rc;
}

/* ---- subquery -------------------------------------------------------------------------------- */

/* a parent of a subquery load, found again by its join values (sorted by them) */
typedef struct sqparent {
	size_t off;
	uint32_t len;
	const unsigned char *k;
	ath_obj *o;
	ath_objvec kids;
} sqparent;

static int sqparent_cmp(const void *a, const void *b)
{
	const sqparent *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->k, y->k, x->len);
}

/* The relationship's columns on the parent side and their labels in the subquery (`users_id`). */
static void subq_label(char *buf, size_t cap, const ath_rel *r, uint32_t i)
{
	const uint32_t *props;
	parent_props(r, &props);
	snprintf(buf, cap, "%s_%s", r->owner->table->name, r->owner->props[props[i]].col->name);
}

/* "from" (and "where") of a subquery load: the statement `in` as a subquery `anon` that selects
 * the parents' join values, joined to the target (through the secondary); packed as map entries
 * into `rest`, the next level's `in`. */
static int pack_subq_from(ath_buf *rest, uint32_t *nkeys, const ath_rel *r, const ath_registry *reg, const ath_subq *in,
			  const char *anon, ath_err *err)
{
	const ath_mapper *t = r->target;
	const char *tt = t->table->name;
	const uint32_t *props;
	uint32_t nk = parent_props(r, &props);
	bool pk_only = nk == r->owner->npk; /* SQLAlchemy's distinct_target_key: DISTINCT unless the whole key */
	for (uint32_t i = 0; i < nk && pk_only; i++)
		pk_only = props[i] == r->owner->pk[i];
	bool distinct = !in->distinct && !in->ordered && (!pk_only || in->depth > 0);
	msgpack_packer pk;
	ath_wire__packer_init(&pk, rest);
	char lbl[160];
	int rc = ath_mp__key(&pk, "from") | msgpack_pack_array(&pk, 1);
	bool m2m = r->dir == ATH_REL_M2M;
	rc |= msgpack_pack_array(&pk, 5) | ath_wire__pack_cstr(&pk, "join");
	if (m2m)
		rc |= msgpack_pack_array(&pk, 5) | ath_wire__pack_cstr(&pk, "join");
	/* ["subquery", {"k": "select", "distinct"?, "columns": [labelled join values], in...}, anon] */
	rc |= msgpack_pack_array(&pk, 3) | ath_wire__pack_cstr(&pk, "subquery") |
	      msgpack_pack_map(&pk, 2 + distinct + in->nkeys) | ath_mp__key(&pk, "k") | ath_mp__key(&pk, "select");
	if (distinct)
		rc |= ath_mp__key(&pk, "distinct") | msgpack_pack_true(&pk);
	rc |= ath_mp__key(&pk, "columns") | msgpack_pack_array(&pk, nk);
	for (uint32_t i = 0; i < nk; i++) {
		subq_label(lbl, sizeof lbl, r, i);
		rc |= msgpack_pack_array(&pk, 3) | ath_wire__pack_cstr(&pk, "label") | ath_wire__pack_cstr(&pk, lbl) |
		      ath_mp__prop_col(&pk, r->owner, props[i], in->from);
	}
	rc |= ath_wire__buf_write(rest, (const char *)in->rest, in->len) | ath_wire__pack_cstr(&pk, anon);
	/* anon JOIN target ON anon.x = target.y, or anon JOIN secondary ON ... JOIN target ON ... */
	const char *first = m2m ? r->secondary->name : tt;
	if (m2m)
		rc |= ath_mp__table(&pk, r->secondary);
	else
		rc |= ath_mp__mapper_from(&pk, t);
	if (nk > 1)
		rc |= msgpack_pack_array(&pk, nk + 1) | ath_wire__pack_cstr(&pk, "and");
	for (uint32_t i = 0; i < nk; i++) {
		subq_label(lbl, sizeof lbl, r, i);
		rc |= msgpack_pack_array(&pk, 3) | ath_wire__pack_cstr(&pk, "=") | ath_mp__col(&pk, anon, lbl) |
		      (m2m ? ath_mp__col(&pk, first, r->sec_local_col[i]->name)
			   : ath_mp__prop_col(&pk, t, r->remote[i], tt));
	}
	rc |= ath_wire__pack_cstr(&pk, "inner");
	if (m2m) {
		rc |= ath_mp__mapper_from(&pk, t);
		if (r->nsec_remote > 1)
			rc |= msgpack_pack_array(&pk, r->nsec_remote + 1) | ath_wire__pack_cstr(&pk, "and");
		for (uint32_t i = 0; i < r->nsec_remote; i++)
			rc |= msgpack_pack_array(&pk, 3) | ath_wire__pack_cstr(&pk, "=") |
			      ath_mp__col(&pk, r->secondary->name, r->sec_remote_col[i]->name) |
			      ath_mp__prop_col(&pk, t, r->sec_remote_prop[i], tt);
		rc |= ath_wire__pack_cstr(&pk, "inner");
	}
	*nkeys = 1;
	bool poly = ath_mapper__filtered(t);
	if (!rc && (poly || r->nextra)) { /* the discriminator, a custom primaryjoin's other terms */
		rc = ath_mp__key(&pk, "where");
		if (poly + r->nextra > 1)
			rc |= msgpack_pack_array(&pk, 1 + poly + r->nextra) | ath_wire__pack_cstr(&pk, "and");
		if (poly)
			rc |= ath_mp__poly_criterion(&pk, reg, t, tt);
		if (!rc && r->nextra && (rc = ath_query__pack_rel_extra(&pk, r, tt, reg, err)))
			return rc;
		*nkeys = 2;
	}
	return rc ? ath_err__oom(err) : 0;
}

/* Load `r` of the objects of objs (those that have it unloaded) with one SELECT of the targets
 * joined to the statement that loaded them (SQLAlchemy's SubqueryLoader), then what the targets
 * load eagerly, below this statement in turn. */
static int subquery(ath_session *s, ath_obj **objs, size_t n, const ath_rel *r, const ath_loadopts *opts,
		    const ath_subq *in, ath_err *err)
{
	const uint32_t *props;
	uint32_t nk = parent_props(r, &props);
	sqparent *ps = NULL;
	size_t np = 0;
	ath_buf keys = ATH_BUF_INIT, rest = ATH_BUF_INIT, shape = ATH_BUF_INIT, rows = ATH_BUF_INIT, kbuf = ATH_BUF_INIT;
	ath_objvec loaded = { 0 };
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (!ps && !(ps = ath__calloc(n, sizeof *ps))) {
			rc = ath_err__oom(err);
			break;
		}
		ps[np].off = keys.size;
		int got = pending_parent(s, objs[i], r, &keys, err);
		if (got < 0)
			rc = got;
		else if (got) {
			ps[np].len = (uint32_t)(keys.size - ps[np].off);
			ps[np++].o = objs[i];
		}
	}
	for (size_t i = 0; i < np; i++)
		ps[i].k = keys.ptr + ps[i].off;
	if (np)
		qsort(ps, np, sizeof *ps, sqparent_cmp);
	char anon[32];
	snprintf(anon, sizeof anon, "anon_%u", in->depth + 1);
	uint32_t nrest = 0;
	if (!rc && np)
		rc = pack_subq_from(&rest, &nrest, r, s->reg, in, anon, err);
	if (!rc && np) {
		/* SELECT target..., anon.<join values> FROM <rest> ORDER BY anon.<join values>, order_by */
		msgpack_packer sp;
		ath_wire__packer_init(&sp, &shape);
		const ath_mapper *t = r->target;
		char lbl[160];
		int prc = msgpack_pack_map(&sp, 3 + nrest) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "select") |
			  ath_mp__key(&sp, "columns") | msgpack_pack_array(&sp, ath_mapper__nloaded(t) + nk);
		for (uint32_t i = 0; i < t->nprops && !prc; i++)
			if (!t->props[i].deferred && (rc = ath_query__pack_prop(&sp, s->reg, t, i, t->table->name, true, err)))
				break;
		for (uint32_t i = 0; i < nk && !rc; i++) {
			subq_label(lbl, sizeof lbl, r, i);
			prc |= ath_mp__col(&sp, anon, lbl);
		}
		uint32_t nob = r->order_by ? r->order_by->via.array.size : 0;
		prc |= ath_wire__buf_write(&shape, (const char *)rest.ptr, rest.size) | ath_mp__key(&sp, "order_by") |
		       msgpack_pack_array(&sp, nk + nob);
		for (uint32_t i = 0; i < nk; i++) {
			subq_label(lbl, sizeof lbl, r, i);
			prc |= ath_mp__col(&sp, anon, lbl);
		}
		for (uint32_t i = 0; i < nob && !rc && !prc; i++)
			rc = ath_query__pack_expr(&sp, &r->order_by->via.array.ptr[i], s->reg, err);
		if (!rc && prc)
			rc = ath_err__oom(err);
	}
	if (!rc && np)
		rc = ath_load__run(s, r->target, shape.ptr, shape.size, in->params, in->plen, &rows, err);
	if (!rc && np) {
		rowiter it;
		int got;
		uint32_t base = ath_mapper__nloaded(r->target);
		if (rows_begin(&it, &rows) < 0)
			rc = malformed(err);
		while (!rc && (got = rows_next(&it)) != 0) {
			if (got < 0 || it.ncols != base + nk) {
				rc = malformed(err);
				break;
			}
			ath_obj *t;
			if ((rc = ath_load__instance(&t, s, r->target, NULL, it.vals, it.lens, false, err)))
				break;
			kbuf.size = 0;
			for (uint32_t i = 0; i < nk && !rc; i++)
				if (ath_wire__buf_write(&kbuf, (const char *)it.vals[base + i], it.lens[base + i]) < 0)
					rc = ath_err__oom(err);
			sqparent key = { .k = kbuf.ptr, .len = (uint32_t)kbuf.size };
			sqparent *p = rc ? NULL : bsearch(&key, ps, np, sizeof *ps, sqparent_cmp);
			if (!p)
				continue; /* a parent of the statement this load is not for */
			while (p > ps && sqparent_cmp(p - 1, &key) == 0)
				p--;
			bool added = false; /* every parent with these join values (many-to-one: a shared target) */
			for (; !rc && p < ps + np && sqparent_cmp(p, &key) == 0; p++) {
				bool dup = false; /* the statement repeated the parent (a join): its rows came twice */
				for (size_t k = 0; k < p->kids.n && !dup; k++)
					dup = p->kids.v[k] == t;
				if (!dup && ath_objvec__push(&p->kids, t) < 0)
					rc = ath_err__oom(err);
				added |= !dup;
			}
			if (!rc && added) {
				if (ath_objvec__push(&loaded, t) < 0)
					rc = ath_err__oom(err);
				else
					t->host_refs++;
			}
		}
	}
	for (size_t i = 0; i < np && !rc; i++)
		rc = ath_obj__rel_load(ps[i].o, r, ps[i].kids.v, (uint32_t)ps[i].kids.n, err);
	if (!rc && loaded.n) {
		ath_subq next = { .rest = rest.ptr, .len = rest.size, .nkeys = nrest, .depth = in->depth + 1,
				  .params = in->params, .plen = in->plen };
		snprintf(next.from, sizeof next.from, "%s", r->target->table->name);
		rc = ath_load__eager_in(s, loaded.v, loaded.n, opts, &next, err);
	}
	for (size_t i = 0; i < loaded.n; i++)
		ath_obj__decref(loaded.v[i]);
	ath__free(loaded.v);
	for (size_t i = 0; i < np; i++)
		ath__free(ps[i].kids.v);
	ath__free(ps);
	ath_buf_dispose(&keys);
	ath_buf_dispose(&rest);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&rows);
	ath_buf_dispose(&kbuf);
	return rc;
}

int ath_load__eager_in(ath_session *s, ath_obj **objs, size_t n, const ath_loadopts *opts, const ath_subq *in,
		       ath_err *err)
{
	if (!n)
		return 0;
	const ath_registry *reg = s->reg;
	for (uint32_t mi = 0; mi < reg->nmappers; mi++) {
		const ath_mapper *m = &reg->mappers[mi];
		for (uint32_t ri = 0; ri < m->nrels; ri++) {
			const ath_rel *r = &m->rels[ri];
			uint8_t strat = ath_load__strategy(opts, r);
			/* joined: these objects came from a load that did not join it (a lazy, selectin or
			 * subquery load; SQLAlchemy joins it there): one IN query rather than one per object */
			if (strat != ATH_LAZY_SELECTIN && strat != ATH_LAZY_SUBQUERY && strat != ATH_LAZY_JOINED &&
			    strat != ATH_LAZY_NOLOAD)
				continue;
			bool any = false;
			for (size_t i = 0; i < n && !any; i++)
				any = objs[i]->m == m && !objs[i]->rels[ri].loaded;
			if (!any)
				continue;
			int rc = 0;
			if (strat == ATH_LAZY_SUBQUERY && in)
				rc = subquery(s, objs, n, r, opts, in, err);
			else if (strat == ATH_LAZY_SELECTIN || strat == ATH_LAZY_SUBQUERY || strat == ATH_LAZY_JOINED)
				rc = ath_load__selectin(s, objs, n, r, opts, err);
			else /* noload: empty, no SQL */
				for (size_t i = 0; i < n && !rc; i++)
					if (objs[i]->m == m && !objs[i]->rels[ri].loaded)
						rc = ath_obj__rel_load(objs[i], r, NULL, 0, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}
