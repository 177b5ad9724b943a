/* session.c — SQLAlchemy's Session: the object list and identity map, the connection and its
 * transaction (autobegin, commit, rollback with state restored), add / delete with their cascades,
 * get, expire, expunge, and the sweep that frees clean objects nothing refers to any more. The
 * unit of work is flush.c's; loading is loading.c's. */
#include "orm/orm.h"

#include <string.h>

#include "util/alloc.h"
#include "wire/mpbuf.h"

int ath_session__create(ath_session **out, ath_engine *e, ath_registry *reg, uint32_t flags, ath_err *err)
{
	ath_session *s = ath__calloc(1, sizeof *s);
	if (!s)
		return ath_err__oom(err);
	s->magic = ATH_MAGIC_SESSION;
	s->engine = e;
	ath_engine__incref(e);
	s->reg = reg;
	ath_registry__incref(reg);
	s->flags = flags;
	s->identity.by_key = true;
	s->rowcount = -1;
	*out = s;
	return 0;
}

int ath_session__usable(ath_session *s, ath_err *err)
{
	if (!s->need_rollback)
		return 0;
	return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_PENDING_ROLLBACK_ERROR,
			    "This Session's transaction has been rolled back due to a previous exception during "
			    "flush. To begin a new transaction with this Session, first issue Session.rollback(). "
			    "Original exception was: %s",
			    s->failed.message);
}

int ath_session__conn(ath_session *s, const ath_mapper *m, ath_conn **out, ath_err *err)
{
	for (const ath_mapper *x = m; x; x = x->parent) /* the most specific bind */
		for (uint32_t i = 0; i < s->nbinds; i++)
			if (s->binds[i].m == x) {
				if (!s->binds[i].conn) {
					int rc = ath_engine__connect(&s->binds[i].conn, s->binds[i].engine, err);
					if (rc)
						return rc;
				}
				*out = s->binds[i].conn;
				return 0;
			}
	if (!s->conn) {
		int rc = ath_engine__connect(&s->conn, s->engine, err);
		if (rc)
			return rc;
	}
	*out = s->conn;
	return 0;
}

int ath_session__bind(ath_session *s, const ath_mapper *m, ath_engine *e, ath_err *err)
{
	bool open = s->conn != NULL;
	for (uint32_t i = 0; i < s->nbinds; i++)
		open |= s->binds[i].conn != NULL;
	if (open)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "binds can't change while the session has a transaction in progress");
	uint32_t i;
	for (i = 0; i < s->nbinds && s->binds[i].m != m; i++)
		;
	if (i == sizeof s->binds / sizeof *s->binds)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "at most %zu class binds per session",
				    sizeof s->binds / sizeof *s->binds);
	ath_engine__incref(e);
	if (i < s->nbinds)
		ath_engine__decref(s->binds[i].engine);
	else
		s->nbinds++;
	s->binds[i].m = m;
	s->binds[i].engine = e;
	s->binds[i].conn = NULL;
	return 0;
}

/* Commit (or roll back) every connection of the session and return them to their pools; the
 * first error is kept. Without two-phase commit a failure after one COMMIT leaves that one
 * committed, as SQLAlchemy's Session does with several binds. */
static int end_conns(ath_session *s, bool commit, ath_err *err)
{
	int rc = 0;
	ath_conn **conns[9];
	uint32_t n = 0;
	conns[n++] = &s->conn;
	for (uint32_t i = 0; i < s->nbinds; i++)
		conns[n++] = &s->binds[i].conn;
	for (uint32_t i = 0; i < n; i++) {
		if (!*conns[i])
			continue;
		ath_err e = { 0 };
		int r = commit && !rc ? ath_conn__commit(*conns[i], &e) : ath_conn__rollback(*conns[i], &e);
		if (r && !rc) {
			rc = r;
			ath_err__move(err, &e);
		}
		ath_err__clear(&e);
	}
	if (rc && commit) /* the rest was not committed: roll it back */
		for (uint32_t i = 0; i < n; i++)
			if (*conns[i])
				ath_conn__rollback(*conns[i], &(ath_err){ 0 });
	return rc;
}

static void close_conns(ath_session *s)
{
	if (s->conn)
		ath_conn__close(s->conn);
	s->conn = NULL;
	for (uint32_t i = 0; i < s->nbinds; i++) {
		if (s->binds[i].conn)
			ath_conn__close(s->binds[i].conn);
		s->binds[i].conn = NULL;
	}
}

/* ---- membership ------------------------------------------------------------------------------ */

int ath_session__attach(ath_session *s, ath_obj *o, ath_err *err)
{
	if (ath_objset__put(&s->by_id, o) < 0)
		return ath_err__oom(err);
	o->sess = s;
	o->next = NULL;
	o->prev = s->tail;
	if (s->tail)
		s->tail->next = o;
	else
		s->head = o;
	s->tail = o;
	s->count++;
	return 0;
}

void ath_session__detach(ath_session *s, ath_obj *o)
{
	if (o->sess != s)
		return;
	ath_objset__del(&s->by_id, o);
	if (o->has_key) /* removes o itself, not another object of its key */
		ath_objset__del(&s->identity, o);
	if (o->prev)
		o->prev->next = o->next;
	else
		s->head = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		s->tail = o->prev;
	o->prev = o->next = NULL;
	o->sess = NULL;
	s->count--;
	o->status = o->has_key ? ATH_OBJ_DETACHED : ATH_OBJ_TRANSIENT;
	o->marked_deleted = false;
	o->ins_level = o->del_level = 0;
}

int ath_session__register(ath_session *s, ath_obj *o, ath_err *err)
{
	int rc = ath_obj__make_key(o, err);
	if (rc)
		return rc;
	ath_obj *other = ath_objset__put_key(&s->identity, o); /* one probe: absent, then put */
	if (!other)
		return ath_err__oom(err);
	if (other != o)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_FLUSH_ERROR,
				    "New instance of %s with identity key conflicts with persistent instance (id %llu)",
				    o->m->name, (unsigned long long)other->id);
	return 0;
}

/* save-update cascade: transient objects reachable along cascading relationships become pending */
static int cascade_add(ath_session *s, ath_obj *o, ath_err *err)
{
	for (uint32_t i = 0; i < o->m->nrels; i++) {
		const ath_rel *r = &o->m->rels[i];
		if (!(r->cascade & ATH_CASCADE_SAVE_UPDATE))
			continue;
		ath_relval *rv = &o->rels[i];
		for (uint32_t j = 0; j < rv->n; j++) {
			ath_obj *t = rv->items[j];
			if (t->sess == s)
				continue;
			int rc = ath_session__add(s, t, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int ath_session__add(ath_session *s, ath_obj *o, ath_err *err)
{
	if (o->reg != s->reg)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "%s instance belongs to another registry than the session's", o->m->name);
	if (o->sess == s)
		return cascade_add(s, o, err);
	if (o->sess)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "Object '%s' (id %llu) is already attached to another session", o->m->name,
				    (unsigned long long)o->id);
	if (o->has_key) { /* detached: persistent again */
		ath_obj *other = ath_objset__by_key(&s->identity, o->m, o->key.p, o->key.len);
		if (other)
			return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
					    "Can't attach instance of %s; another instance with the same identity key "
					    "is already present in this session",
					    o->m->name);
		int rc = ath_session__attach(s, o, err);
		if (rc)
			return rc;
		if (ath_objset__put(&s->identity, o) < 0) {
			ath_session__detach(s, o);
			return ath_err__oom(err);
		}
		o->status = ATH_OBJ_PERSISTENT;
	} else {
		int rc = ath_session__attach(s, o, err);
		if (rc)
			return rc;
		o->status = ATH_OBJ_PENDING;
	}
	return cascade_add(s, o, err);
}

static int cascade_delete(ath_session *s, ath_obj *o, ath_err *err);

int ath_session__delete(ath_session *s, ath_obj *o, ath_err *err)
{
	if (o->sess != s)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "Instance of %s is not persisted in this session", o->m->name);
	if (o->status == ATH_OBJ_PENDING) { /* SQLAlchemy: "is not persisted"; expunge it instead */
		ath_obj__incref(o);
		ath_session__detach(s, o);
		ath_obj__decref(o);
		return 0;
	}
	if (o->marked_deleted || o->status == ATH_OBJ_DELETED)
		return 0;
	o->marked_deleted = true;
	/* delete cascade (the collection is loaded to know what to delete; no autoflush meanwhile,
	 * which would delete the parent before its children are known) */
	bool was_off = s->autoflush_off;
	s->autoflush_off = true;
	int rc = cascade_delete(s, o, err);
	s->autoflush_off = was_off;
	return rc;
}

static int cascade_delete(ath_session *s, ath_obj *o, ath_err *err)
{
	for (uint32_t i = 0; i < o->m->nrels; i++) {
		const ath_rel *r = &o->m->rels[i];
		if (!(r->cascade & ATH_CASCADE_DELETE) || r->lazy == ATH_LAZY_WRITE_ONLY)
			continue; /* write-only: never loaded, the database's ON DELETE does the rest */
		if (!o->rels[i].loaded) {
			int rc = ath_load__rel(s, o, r, err);
			if (rc)
				return rc;
		}
		ath_relval *rv = &o->rels[i];
		for (uint32_t j = 0; j < rv->n; j++) {
			ath_obj *t = rv->items[j];
			if (t->sess == s && !t->marked_deleted) {
				int rc = ath_session__delete(s, t, err);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

/* ---- pins: the objects of the latest result stay resolvable until the next one ---------------- */

int ath_session__pin(ath_session *s, ath_obj *o)
{
	if (s->npins == s->pins_cap) {
		size_t cap = s->pins_cap ? s->pins_cap * 2 : 64;
		ath_obj **n = ath__realloc(s->pins, sizeof *n * cap);
		if (!n)
			return -1;
		s->pins = n;
		s->pins_cap = cap;
	}
	s->pins[s->npins++] = o;
	ath_obj__incref(o);
	return 0;
}

void ath_session__unpin_all(ath_session *s)
{
	size_t n = s->npins;
	s->npins = 0;
	for (size_t i = 0; i < n; i++)
		ath_obj__decref(s->pins[i]);
}

/* ---- get ------------------------------------------------------------------------------------- */

int ath_session__prepare_get(ath_registry *reg, ath_mapper *m, ath_err *err)
{
	/* what the ORM statement path adds to a plain SELECT of the entity: a subclass's row, its
	 * discriminator criterion, joins and eager loads of relationships */
	if (m->parent || m->root != m || m->poly_prop >= 0 || !m->npk || m->npk > 32)
		return 0;
	for (uint32_t i = 0; i < m->nrels; i++) /* only strategies that load nothing with the row */
		if (m->rels[i].lazy != ATH_LAZY_SELECT && m->rels[i].lazy != ATH_LAZY_RAISE &&
		    m->rels[i].lazy != ATH_LAZY_WRITE_ONLY)
			return 0;
	for (uint32_t i = 0; i < reg->nmappers; i++)
		if (reg->mappers[i].parent == m)
			return 0;
	/* the Core form of {"k": "select", "columns": [["entity", m]], "where": pk = binds} */
	ath_buf b = ATH_BUF_INIT;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, &b);
	int rc = msgpack_pack_map(&pk, 3) | ath_mp__key(&pk, "k") | ath_mp__key(&pk, "select") | ath_mp__key(&pk, "columns") |
		 msgpack_pack_array(&pk, ath_mapper__nloaded(m))
			 ? ath_err__oom(err)
			 : 0;
	for (uint32_t i = 0; i < m->nprops && !rc; i++)
		if (!m->props[i].deferred)
			rc = ath_query__pack_prop(&pk, reg, m, i, m->table->name, true, err);
	const ath_column *cols[32];
	for (uint32_t i = 0; i < m->npk; i++)
		cols[i] = m->props[m->pk[i]].col;
	if (!rc && (ath_mp__key(&pk, "where") | ath_mp__where_eq(&pk, m->table->name, cols, m->npk, 0)))
		rc = ath_err__oom(err);
	if (!rc && !(m->get_shape = ath_arena__alloc(&reg->arena, b.size)))
		rc = ath_err__oom(err);
	if (!rc) {
		memcpy(m->get_shape, b.ptr, b.size);
		m->get_shape_len = (uint32_t)b.size;
	}
	ath_buf_dispose(&b);
	return rc;
}

/* get() by the mapper's prepared SELECT: what ath_query__run() does for it, without building,
 * translating and planning the statement each time. `vals`: the key's values, packed. */
static int get_plain(ath_obj **out, ath_session *s, const ath_mapper *m, const unsigned char *vals, size_t vlen,
		     ath_err *err)
{
	int rc = ath_session__usable(s, err);
	if (!rc)
		rc = ath_session__autoflush(s, err);
	if (rc)
		return rc;
	ath_buf params = ATH_BUF_INIT, rows = ATH_BUF_INIT;
	msgpack_packer pp;
	ath_wire__packer_init(&pp, &params);
	if (msgpack_pack_array(&pp, m->npk) || ath_wire__buf_write(&params, (const char *)vals, vlen))
		rc = ath_err__oom(err);
	if (!rc)
		rc = ath_load__run(s, m, m->get_shape, m->get_shape_len, params.ptr, params.size, &rows, err);
	ath_buf_dispose(&params);
	const unsigned char *p = rows.ptr, *end = rows.ptr + rows.size, *row[256];
	uint32_t nrows = 0, ncols = 0, lens[256];
	if (!rc && !(p = ath_mp__array(p, end, &nrows)))
		rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
	if (!rc && nrows > 1)
		rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_MULTIPLE_RESULTS_FOUND,
				  "Multiple rows were found when exactly one was required");
	if (!rc && nrows == 1) {
		p = ath_mp__array(p, end, &ncols);
		if (!p || ncols != ath_mapper__nloaded(m) || ncols > 256)
			rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
		for (uint32_t c = 0; c < ncols && !rc; c++) {
			const unsigned char *q = ath_mp__skip(p, end);
			if (!q)
				rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "malformed row batch");
			else {
				row[c] = p;
				lens[c] = (uint32_t)(q - p);
				p = q;
			}
		}
		ath_obj *o = NULL;
		if (!rc)
			rc = ath_load__instance(&o, s, m, NULL, row, lens, false, err);
		if (!rc) {
			ath_obj__incref(o);
			*out = o;
		}
	}
	ath_buf_dispose(&rows);
	return rc;
}

/* The key as the identity map spells it: array32 of the canonical values. */
static int get_key(ath_buf *key, const ath_mapper *m, const void *pk, size_t len, ath_err *err)
{
	static const unsigned char h[5] = { 0xdd, 0, 0, 0, 0 };
	unsigned char ci[9];
	size_t cl = 0;
	if (m->npk == 1 && (ath_mp__canonical_scalar(pk, len) || (cl = ath_mp__canonical_int(pk, len, ci)) > 0)) {
		/* one scalar, canonical as given (or an integer made so): no unpacking */
		if (ath_wire__buf_write(key, (const char *)h, 5) || ath_wire__buf_write(key, cl ? (const char *)ci : pk, cl ? cl : len))
			return ath_err__oom(err);
		key->ptr[4] = 1;
		return 0;
	}
	ath_wire_limits lim = ath_wire__limits(NULL);
	int rc = ath_wire__validate(pk, len, &lim, "primary key", err);
	if (rc)
		return rc;
	msgpack_zone z;
	if (!msgpack_zone_init(&z, 512))
		return ath_err__oom(err);
	msgpack_object root;
	size_t off = 0;
	if (msgpack_unpack(pk, len, &off, &z, &root) != MSGPACK_UNPACK_SUCCESS) {
		msgpack_zone_destroy(&z);
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR, "primary key: not valid msgpack");
	}
	const msgpack_object *vals = &root;
	uint32_t nvals = 1;
	if (root.type == MSGPACK_OBJECT_ARRAY) {
		vals = root.via.array.ptr;
		nvals = root.via.array.size;
	}
	if (nvals != m->npk) {
		msgpack_zone_destroy(&z);
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "Incorrect number of values in identifier formed from argument for %s: %u given, "
				    "primary key has %u column(s)",
				    m->name, nvals, m->npk);
	}
	msgpack_packer pk2;
	ath_wire__packer_init(&pk2, key);
	rc = ath_wire__buf_write(key, (const char *)h, 5);
	key->ptr ? (void)(key->ptr[4] = (unsigned char)m->npk) : (void)0;
	for (uint32_t i = 0; !rc && i < nvals; i++)
		rc = msgpack_pack_object(&pk2, vals[i]);
	msgpack_zone_destroy(&z);
	return rc ? ath_err__oom(err) : 0;
}

int ath_session__get(ath_obj **out, ath_session *s, const char *cls, const void *pk, size_t len, ath_err *err)
{
	*out = NULL;
	const ath_mapper *m = ath_registry__mapper(s->reg, cls);
	if (!m)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "class '%s' is not mapped", cls);
	ath_buf key = ATH_BUF_INIT;
	int rc = get_key(&key, m, pk, len, err);
	if (rc) {
		ath_buf_dispose(&key);
		return rc;
	}
	ath_obj *o = ath_objset__by_key(&s->identity, m, key.ptr, key.size);
	if (o && !ath_mapper__isa(o->m, m)) { /* the row is of another class of the hierarchy */
		ath_buf_dispose(&key);
		return 0;
	}
	if (o && !o->marked_deleted && o->status != ATH_OBJ_DELETED) {
		ath_buf_dispose(&key);
		ath_obj__incref(o);
		/* a wholly expired object (after commit) is loaded again, as SQLAlchemy's get() does; a
		 * row gone meanwhile (ObjectDeletedError) is None. Partly expired ones load on access. */
		bool any = false;
		for (uint32_t i = 0; i < m->nprops && !any; i++)
			any = ath_val__loaded(&o->cur[i]);
		rc = any ? 0 : ath_load__props(s, o, false, err);
		if (rc && err->klass == ATH_ERRCLASS_OBJECT_DELETED_ERROR) {
			ath_err__clear(err);
			ath_obj__decref(o);
			return 0;
		}
		if (rc) {
			ath_obj__decref(o);
			return rc;
		}
		*out = o;
		return 0;
	}
	if (o) { /* deleted in this session */
		ath_buf_dispose(&key);
		return 0;
	}
	if (m->get_shape) {
		rc = get_plain(out, s, m, key.ptr + 5, key.size - 5, err);
		ath_buf_dispose(&key);
		return rc;
	}
	/* SELECT the entity WHERE pk = ? through the ORM statement path, so eager loads apply */
	ath_buf shape = ATH_BUF_INIT, params = ATH_BUF_INIT, rows = ATH_BUF_INIT;
	msgpack_packer sp, pp;
	ath_wire__packer_init(&sp, &shape);
	ath_wire__packer_init(&pp, &params);
	int prc = msgpack_pack_map(&sp, 3) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "select") |
		  ath_mp__key(&sp, "columns") | msgpack_pack_array(&sp, 1) | msgpack_pack_array(&sp, 2) |
		  ath_mp__key(&sp, "entity") | ath_mp__key(&sp, m->name) | ath_mp__key(&sp, "where");
	const ath_column *cols[32];
	for (uint32_t i = 0; i < m->npk && i < 32; i++)
		cols[i] = m->props[m->pk[i]].col;
	prc |= ath_mp__where_eq(&sp, m->table->name, cols, m->npk, 0);
	/* params: the key's values (the key without its array32 header is the values in order) */
	prc |= msgpack_pack_array(&pp, m->npk) | ath_wire__buf_write(&params, (const char *)key.ptr + 5, key.size - 5);
	ath_buf_dispose(&key);
	rc = prc ? ath_err__oom(err)
		 : ath_query__run(&rows, s, shape.ptr, shape.size, params.ptr, params.size, ATH_ROWS_ONE_OR_NONE, false,
				  out, err);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&params);
	ath_buf_dispose(&rows);
	return rc;
}

/* ---- expiry, expunge, sweep ------------------------------------------------------------------ */

/* Every object of the session, each held by a reference, so the caller may release any of them. */
static ath_obj **snapshot(ath_session *s, size_t *n)
{
	ath_obj **all = ath__malloc(sizeof *all * (s->count ? s->count : 1));
	*n = 0;
	if (!all)
		return NULL;
	for (ath_obj *o = s->head; o; o = o->next) {
		all[(*n)++] = o;
		o->host_refs++;
	}
	return all;
}

static void release_all(ath_obj **all, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ath_obj__decref(all[i]);
	ath__free(all);
}

void ath_session__expire_all(ath_session *s)
{
	size_t n;
	ath_obj **all = snapshot(s, &n);
	if (!all)
		return;
	for (size_t i = 0; i < n; i++)
		if (all[i]->status == ATH_OBJ_PERSISTENT)
			ath_obj__expire(all[i], NULL, true);
	release_all(all, n);
}

int ath_session__expunge(ath_session *s, ath_obj *o, ath_err *err)
{
	if (o->sess != s)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "Instance of %s is not present in this Session", o->m->name);
	o->host_refs++;
	ath_session__detach(s, o);
	for (uint32_t i = 0; i < o->m->nrels; i++) {
		if (!(o->m->rels[i].cascade & ATH_CASCADE_EXPUNGE))
			continue;
		ath_relval *rv = &o->rels[i];
		for (uint32_t j = 0; j < rv->n; j++)
			if (rv->items[j]->sess == s)
				ath_session__expunge(s, rv->items[j], err);
	}
	ath_obj__decref(o);
	return 0;
}

void ath_session__expunge_all(ath_session *s)
{
	ath_session__unpin_all(s);
	/* every object leaves: the sets are emptied at once rather than slot by slot in detach */
	ath_objset__clear(&s->by_id);
	ath_objset__clear(&s->identity);
	/* no allocation here: closing must work when memory has run out */
	while (s->head) {
		ath_obj *o = s->head;
		o->host_refs++;
		ath_session__detach(s, o);
		ath_obj__decref(o); /* may free others too: the list is read afresh */
	}
	ath_gc__collect(s->reg); /* what only cycles among the detached objects held */
}

/* ---- transactions ---------------------------------------------------------------------------- */

int ath_session__autoflush(ath_session *s, ath_err *err)
{
	if ((s->flags & ATH_SESSION_NO_AUTOFLUSH) || s->autoflush_off || s->flushing)
		return 0;
	return ath_session__flush(s, err);
}

int ath_session__flush(ath_session *s, ath_err *err)
{
	int rc = ath_session__usable(s, err);
	if (rc || s->flushing)
		return rc;
	s->flushing = true;
	rc = ath_flush__run(s, err);
	s->flushing = false;
	if (rc) {
		/* the flush's transaction is gone: roll the connection back now, refuse work until rollback() */
		if (s->nested) /* inside a savepoint only the savepoint is lost */
			ath_txn__rollback(s->savepoints[s->nested - 1], &(ath_err){ 0 });
		else
			end_conns(s, false, &(ath_err){ 0 });
		ath_err__clear(&s->failed);
		s->failed.code = err->code;
		s->failed.klass = err->klass;
		memcpy(s->failed.message, err->message, sizeof s->failed.message);
		s->need_rollback = true;
	}
	return rc;
}

/* After commit: flushed inserts and deletes are final. */
static void end_txn_state(ath_session *s, bool expire)
{
	size_t n;
	ath_obj **all = snapshot(s, &n);
	if (!all)
		return;
	bool none_kept = true;
	for (size_t i = 0; i < n; i++) {
		ath_obj *o = all[i];
		o->ins_level = 0;
		if (o->status == ATH_OBJ_DELETED) {
			o->del_level = 0;
			ath_session__detach(s, o);
			continue;
		}
		/* one nothing else holds is released below: expiring it first would be wasted work */
		bool kept = o->host_refs > 1 || o->link_refs > 0 || ath_obj__needs_session(o);
		none_kept &= !kept;
		if (expire && o->status == ATH_OBJ_PERSISTENT && kept)
			ath_obj__expire(o, NULL, true);
	}
	if (none_kept) { /* every object goes (a bulk insert nobody holds): the sets empty at once */
		ath_objset__clear(&s->by_id);
		ath_objset__clear(&s->identity);
	}
	release_all(all, n);
}

/* The savepoint handles end with their transaction (committing or rolling back the outer one
 * ends them on the server). */
static void drop_savepoints(ath_session *s)
{
	while (s->nested)
		ath_txn__free(s->savepoints[--s->nested]);
}

int ath_session__commit(ath_session *s, ath_err *err)
{
	int rc = ath_session__usable(s, err);
	if (!rc)
		rc = ath_session__flush(s, err);
	if (rc)
		return rc;
	rc = end_conns(s, true, err);
	if (rc) {
		ath_session__rollback(s, &(ath_err){ 0 });
		return rc;
	}
	drop_savepoints(s);
	close_conns(s);
	end_txn_state(s, !(s->flags & ATH_SESSION_NO_EXPIRE_ON_COMMIT));
	return 0;
}

int ath_session__rollback(ath_session *s, ath_err *err)
{
	int rc = end_conns(s, false, err);
	drop_savepoints(s);
	close_conns(s);
	s->need_rollback = false;
	ath_err__clear(&s->failed);
	size_t n;
	ath_obj **all = snapshot(s, &n);
	if (!all)
		return rc ? rc : ath_err__oom(err);
	for (size_t i = 0; i < n; i++) {
		ath_obj *o = all[i];
		if (o->status == ATH_OBJ_PENDING || o->ins_level) {
			/* added in this transaction: transient again, keeping its values (and its relationships) */
			if (o->ins_level) {
				ath_val__clear(&o->key);
				o->has_key = false;
			}
			ath_session__detach(s, o);
			o->status = ATH_OBJ_TRANSIENT;
			continue;
		}
		if (o->status == ATH_OBJ_DELETED || o->del_level)
			o->status = ATH_OBJ_PERSISTENT;
		o->del_level = 0;
		o->marked_deleted = false;
		ath_obj__expire(o, NULL, true);
	}
	release_all(all, n);
	return rc;
}

void ath_session__close(ath_session *s)
{
	end_conns(s, false, &(ath_err){ 0 });
	drop_savepoints(s);
	close_conns(s);
	for (uint32_t i = 0; i < s->nbinds; i++)
		ath_engine__decref(s->binds[i].engine);
	s->need_rollback = false;
	/* what the transaction had flushed is gone: forget inserted keys, undo deletions */
	for (ath_obj *o = s->head; o; o = o->next) {
		if (o->ins_level) {
			ath_val__clear(&o->key);
			o->has_key = false;
		}
		o->ins_level = o->del_level = 0;
		if (o->status == ATH_OBJ_DELETED)
			o->status = ATH_OBJ_PERSISTENT;
	}
	ath_session__expunge_all(s);
	ath_session__unpin_all(s);
	ath__free(s->pins);
	ath_objset__free(&s->by_id);
	ath_objset__free(&s->identity);
	ath_err__clear(&s->failed);
	ath_registry__decref(s->reg);
	ath_engine__decref(s->engine);
	s->magic = ATH_MAGIC_DEAD;
	ath__free(s);
}

/* ---- savepoints (Session.begin_nested) --------------------------------------------------------- */

int ath_session__begin_nested(ath_session *s, ath_err *err)
{
	if (s->nested == sizeof s->savepoints / sizeof *s->savepoints)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR, "more than %zu nested savepoints",
				    sizeof s->savepoints / sizeof *s->savepoints);
	int rc = ath_session__usable(s, err);
	if (!rc)
		rc = ath_session__flush(s, err); /* what came before belongs to the enclosing transaction */
	ath_conn *c;
	if (!rc)
		rc = ath_session__conn(s, NULL, &c, err);
	ath_txn *t = NULL;
	if (!rc)
		rc = ath_conn__begin(&t, c, 1, err);
	if (rc)
		return rc;
	s->savepoints[s->nested++] = t;
	return 0;
}

/* RELEASE (commit) or ROLLBACK TO the innermost savepoint. A rollback undoes in memory what the
 * savepoint's flushes did: objects inserted in it are transient again, objects deleted in it
 * persistent, objects still pending are expunged, and every persistent object is expired. */
int ath_session__end_nested(ath_session *s, bool commit, ath_err *err)
{
	if (!s->nested)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR, "no nested transaction is in progress");
	int rc = commit ? ath_session__usable(s, err) : 0;
	if (!rc && commit)
		rc = ath_session__flush(s, err);
	if (rc)
		return rc;
	uint16_t level = (uint16_t)(s->nested + 1);
	ath_txn *t = s->savepoints[--s->nested];
	rc = commit ? ath_txn__commit(t, err) : t->active ? ath_txn__rollback(t, err) : 0;
	ath_txn__free(t);
	if (!commit)
		s->need_rollback = false; /* the failed flush's work is gone with the savepoint */
	size_t n;
	ath_obj **all = snapshot(s, &n);
	if (!all)
		return rc ? rc : ath_err__oom(err);
	for (size_t i = 0; i < n; i++) {
		ath_obj *o = all[i];
		if (commit) { /* the enclosing transaction owns what the savepoint did */
			if (o->ins_level >= level)
				o->ins_level = (uint16_t)(level - 1);
			if (o->del_level >= level)
				o->del_level = (uint16_t)(level - 1);
			continue;
		}
		if (o->status == ATH_OBJ_PENDING || o->ins_level >= level) {
			if (o->ins_level >= level) {
				ath_val__clear(&o->key);
				o->has_key = false;
			}
			ath_session__detach(s, o);
			continue;
		}
		if (o->del_level >= level) {
			o->status = ATH_OBJ_PERSISTENT;
			o->del_level = 0;
			if (ath_objset__put(&s->identity, o) < 0)
				rc = rc ? rc : ath_err__oom(err);
		}
		o->marked_deleted = false;
		if (o->status == ATH_OBJ_PERSISTENT)
			ath_obj__expire(o, NULL, true);
	}
	release_all(all, n);
	return rc;
}

/* ---- merge ------------------------------------------------------------------------------------- */

typedef struct merge_seen {
	ath_obj *src, *dst;
	struct merge_seen *next;
} merge_seen;

static int merge_one(ath_obj **out, ath_session *s, ath_obj *o, bool load, merge_seen **seen, ath_err *err);

/* copy the loaded state of `src` onto `dst` (columns, then merge-cascading relationships) */
static int merge_state(ath_session *s, ath_obj *src, ath_obj *dst, bool load, merge_seen **seen, ath_err *err)
{
	const ath_mapper *m = src->m;
	int rc = 0;
	for (uint32_t i = 0; i < m->nprops && !rc; i++) {
		const ath_val *v = &src->cur[i];
		if (!v->p)
			continue;
		/* load=False copies the state as the committed state (no history, no UPDATE) */
		rc = ath_obj__set_prop(dst, i, v->p, v->len, !load, err);
	}
	for (uint32_t i = 0; i < m->nrels && !rc; i++) {
		const ath_rel *r = &m->rels[i];
		const ath_relval *rv = &src->rels[i];
		if (!(r->cascade & ATH_CASCADE_MERGE) || !rv->loaded || r->viewonly)
			continue;
		ath_obj *targets[256];
		uint32_t n = 0;
		for (uint32_t j = 0; j < rv->n && n < 256 && !rc; j++)
			rc = merge_one(&targets[n], s, rv->items[j], load, seen, err), n += !rc;
		if (!rc && load) {
			/* the merged collection replaces the destination's (loaded first, for its history) */
			if ((rc = ath_load__ensure_rel(dst, r, err)) == 0) {
				ath_relval *dv = &dst->rels[i];
				for (uint32_t j = dv->n; j-- > 0 && !rc;) {
					bool keep = false;
					for (uint32_t k = 0; k < n; k++)
						keep |= targets[k] == dv->items[j];
					if (!keep)
						rc = ath_obj__rel_remove(dst, r, dv->items[j], true, err);
				}
				for (uint32_t k = 0; k < n && !rc; k++)
					rc = ath_obj__rel_add(dst, r, targets[k], false, true, err);
			}
		} else if (!rc)
			rc = ath_obj__rel_load(dst, r, targets, n, err);
		for (uint32_t k = 0; k < n; k++)
			ath_obj__decref(targets[k]);
	}
	return rc;
}

static int merge_one(ath_obj **out, ath_session *s, ath_obj *o, bool load, merge_seen **seen, ath_err *err)
{
	*out = NULL;
	for (merge_seen *m = *seen; m; m = m->next)
		if (m->src == o) { /* a cycle: the copy made already */
			*out = m->dst;
			ath_obj__incref(*out);
			return 0;
		}
	if (o->sess == s) { /* already ours: merge is a no-op (with the cascade) */
		*out = o;
		ath_obj__incref(o);
		return 0;
	}
	if (o->reg != s->reg)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "%s instance belongs to another registry than the session's", o->m->name);
	if (!load && (o->dirty || !o->has_key))
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "merge() with load=False option does not support objects transient (i.e. unpersisted) "
				    "objects or objects marked as dirty");
	ath_obj *dst = NULL;
	int rc = 0;
	if (o->has_key) {
		dst = ath_objset__by_key(&s->identity, o->m, o->key.p, o->key.len);
		if (dst)
			ath_obj__incref(dst);
		else if (load) {
			/* Session.get: the row as the database has it, or none */
			rc = ath_session__get(&dst, s, o->m->name, o->key.p, o->key.len, err);
			if (rc)
				return rc;
		} else { /* load=False: a persistent copy taken on trust, no SQL */
			if ((rc = ath_obj__new(&dst, s->reg, o->m, err)))
				return rc;
			dst->host_refs = 1;
			for (uint32_t i = 0; i < o->m->nrels; i++)
				dst->rels[i].loaded = false;
			if (ath_obj__set_key(dst, o->key.p, o->key.len, o->key_hash) < 0)
				rc = ath_err__oom(err);
			dst->has_key = true;
			dst->status = ATH_OBJ_PERSISTENT;
			if (!rc)
				rc = ath_session__attach(s, dst, err);
			if (!rc && ath_objset__put(&s->identity, dst) < 0)
				rc = ath_err__oom(err);
			if (rc) {
				ath_obj__decref(dst);
				return rc;
			}
		}
	}
	if (!dst) { /* transient, or its row is gone: a new pending object */
		if ((rc = ath_obj__new(&dst, s->reg, o->m, err)))
			return rc;
		dst->host_refs = 1;
		if ((rc = ath_session__add(s, dst, err))) {
			ath_obj__decref(dst);
			return rc;
		}
	}
	merge_seen node = { o, dst, *seen };
	*seen = &node;
	rc = merge_state(s, o, dst, load, seen, err);
	*seen = node.next;
	if (rc) {
		ath_obj__decref(dst);
		return rc;
	}
	*out = dst;
	return 0;
}

int ath_session__merge(ath_obj **out, ath_session *s, ath_obj *o, bool load, ath_err *err)
{
	merge_seen *seen = NULL;
	bool was_off = s->autoflush_off;
	s->autoflush_off = true; /* SQLAlchemy merges under no_autoflush */
	int rc = merge_one(out, s, o, load, &seen, err);
	s->autoflush_off = was_off;
	return rc;
}
