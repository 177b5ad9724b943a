/* flush.c — the unit of work (unitofwork.py, persistence.py, dependency.py): orphans found,
 * foreign keys synchronised from parents (many-to-one targets, one-to-many owners), mappers
 * processed parents first (rows of a self-referential mapper in waves, parents first), INSERTs
 * batched per column set through executemany with the generated keys returned, UPDATEs of the
 * changed columns only, grouped by column set, with the version counter checked,
 * many-to-many rows, post_update, then DELETEs children first. Runs inside the session's
 * transaction; any failure leaves it to session.c to roll back. */
#include "orm/orm.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "wire/mpbuf.h"

typedef struct flush {
	ath_session *s;
	ath_err *err;
	ath_objvec all;      /* every object of the session, each held */
	ath_objvec inserted, updated, deleted;
} flush;

static int oom(flush *f) { return ath_err__oom(f->err); }

/* Execute `shape` once per row of `rows` (a packed array of param arrays), on m's bind. */
static int exec_many(flush *f, const ath_mapper *m, const ath_buf *shape, const ath_buf *rows, uint32_t flags,
		     ath_result **out)
{
	ath_conn *c;
	int rc = ath_session__conn(f->s, m, &c, f->err);
	return rc ? rc : ath_conn__execute(out, c, shape->ptr, shape->size, rows->ptr, rows->size, 1, flags, f->err);
}

static int set_prop_from(ath_obj *o, uint32_t p, const ath_val *v, ath_err *err)
{
	static const unsigned char nil = 0xc0;
	const void *src = v && v->p ? v->p : &nil;
	size_t len = v && v->p ? v->len : 1;
	return ath_obj__set_prop(o, p, src, len, false, err);
}

/* ---- foreign key synchronisation (sync.py) ---------------------------------------------------- */

/* many-to-one: the object's foreign key props from its target (or nil) */
static int sync_m2o(flush *f, ath_obj *o)
{
	for (uint32_t i = 0; i < o->m->nrels; i++) {
		const ath_rel *r = &o->m->rels[i];
		ath_relval *rv = &o->rels[i];
		if (r->dir != ATH_REL_M2O || r->viewonly || r->post_update)
			continue;
		if (!rv->changed && !(o->status == ATH_OBJ_PENDING && rv->n))
			continue;
		ath_obj *t = rv->n ? rv->items[0] : NULL;
		if (t && (t->marked_deleted || t->status == ATH_OBJ_DELETED))
			t = NULL;
		for (uint32_t k = 0; k < r->npairs; k++) {
			const ath_val *v = t ? &t->cur[r->remote[k]] : NULL;
			if (t && !v->p) {
				int rc = ath_load__ensure_prop(t, r->remote[k], f->err);
				if (rc)
					return rc;
			}
			int rc = set_prop_from(o, r->local[k], v, f->err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* A child removed from `o`'s collection that another parent has taken (its many-to-one back says
 * so): neither nulled nor an orphan. */
static bool reparented(const ath_rel *r, const ath_obj *c, const ath_obj *o)
{
	return r->back && c->rels[r->back->idx].n && c->rels[r->back->idx].items[0] != o;
}

/* one-to-many: the owner's values into the children it gained, nil into those it lost */
static int sync_o2m(flush *f, ath_obj *o)
{
	for (uint32_t i = 0; i < o->m->nrels; i++) {
		const ath_rel *r = &o->m->rels[i];
		ath_relval *rv = &o->rels[i];
		if (r->dir != ATH_REL_O2M || r->viewonly)
			continue;
		if (!rv->changed && o->status != ATH_OBJ_PENDING && !o->just_inserted)
			continue;
		for (uint32_t j = 0; j < rv->norig; j++) {
			ath_obj *c = rv->orig[j];
			if (ath_relval__has(rv, c) || c->marked_deleted || c->status == ATH_OBJ_DELETED)
				continue;
			if (reparented(r, c, o)) /* removed: nil, unless another parent has taken it */
				continue;
			for (uint32_t k = 0; k < r->npairs; k++) {
				int rc = set_prop_from(c, r->remote[k], NULL, f->err);
				if (rc)
					return rc;
			}
		}
		for (uint32_t j = 0; j < rv->n; j++) {
			ath_obj *c = rv->items[j];
			if (c->marked_deleted)
				continue;
			for (uint32_t k = 0; k < r->npairs; k++) {
				const ath_val *v = &o->cur[r->local[k]];
				if (!v->p) {
					int rc = ath_load__ensure_prop(o, r->local[k], f->err);
					if (rc)
						return rc;
				}
				if (ath_val__eq(&c->cur[r->remote[k]], v))
					continue;
				int rc = set_prop_from(c, r->remote[k], v, f->err);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

/* ---- orphans and deletes' effect on children --------------------------------------------------- */

static int find_orphans(flush *f)
{
	for (size_t i = 0; i < f->all.n; i++) {
		ath_obj *o = f->all.v[i];
		for (uint32_t r = 0; r < o->m->nrels; r++) {
			const ath_rel *rel = &o->m->rels[r];
			ath_relval *rv = &o->rels[r];
			if (!(rel->cascade & ATH_CASCADE_DELETE_ORPHAN) || (!rv->changed && !o->marked_deleted))
				continue;
			for (uint32_t j = 0; j < rv->norig; j++) {
				ath_obj *c = rv->orig[j];
				if (ath_relval__has(rv, c) || c->sess != f->s || c->marked_deleted)
					continue;
				if (reparented(rel, c, o))
					continue;
				int rc = ath_session__delete(f->s, c, f->err);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

/* A deleted parent's children without delete cascade get their foreign key nulled (the
 * collection is loaded for it unless passive_deletes). */
static int orphan_children_of_deleted(flush *f)
{
	for (size_t i = 0; i < f->all.n; i++) {
		ath_obj *o = f->all.v[i];
		if (!o->marked_deleted)
			continue;
		for (uint32_t r = 0; r < o->m->nrels; r++) {
			const ath_rel *rel = &o->m->rels[r];
			if (rel->dir != ATH_REL_O2M || rel->viewonly || (rel->cascade & ATH_CASCADE_DELETE))
				continue;
			if (!o->rels[r].loaded) {
				if (rel->passive_deletes || rel->lazy == ATH_LAZY_WRITE_ONLY)
					continue;
				int rc = ath_load__rel(f->s, o, rel, f->err);
				if (rc)
					return rc;
			}
			ath_relval *rv = &o->rels[r];
			for (uint32_t j = 0; j < rv->n; j++) {
				ath_obj *c = rv->items[j];
				if (c->marked_deleted)
					continue;
				for (uint32_t k = 0; k < rel->npairs; k++) {
					int rc = set_prop_from(c, rel->remote[k], NULL, f->err);
					if (rc)
						return rc;
				}
			}
		}
	}
	return 0;
}

/* ---- INSERT ------------------------------------------------------------------------------------ */

static bool same_columns(const ath_obj *a, const ath_obj *b)
{
	for (uint32_t i = 0; i < a->m->nprops; i++)
		if (!a->cur[i].p != !b->cur[i].p)
			return false;
	return true;
}

/* whether prop i is a column of table t of its mapper (joined-table inheritance: one of several) */
static bool in_table(const ath_mapper *m, uint32_t i, uint32_t t)
{
	return m->props[i].col && m->props[i].table == m->tables[t]; /* column_property expressions are not written */
}

/* INSERT the rows of table t (0: the base table, whose generated keys RETURNING gives when
 * `need_keys`; a joined-table subclass's table after it, its key from the base row's) */
static int insert_table(flush *f, ath_obj **objs, size_t n, uint32_t t, bool need_keys)
{
	const ath_mapper *m = objs[0]->m;
	ath_obj *o0 = objs[0];
	uint32_t ncols = t ? m->npk : 0;
	for (uint32_t i = 0; i < m->nprops; i++)
		ncols += o0->cur[i].p != NULL && in_table(m, i, t);
	ath_buf shape = ATH_BUF_INIT, rows = ATH_BUF_INIT, keys = ATH_BUF_INIT;
	msgpack_packer sp, rp;
	ath_wire__packer_init(&sp, &shape);
	ath_wire__packer_init(&rp, &rows);
	int prc = msgpack_pack_map(&sp, ncols ? 4 : 2) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "insert") |
		  ath_mp__key(&sp, "table") | ath_mp__table(&sp, m->tables[t]);
	if (ncols) {
		prc |= ath_mp__key(&sp, "columns") | msgpack_pack_array(&sp, ncols);
		for (uint32_t k = 0; t && k < m->npk; k++)
			prc |= ath_wire__pack_cstr(&sp, m->tpk[t][k]->name);
		for (uint32_t i = 0; i < m->nprops; i++)
			if (o0->cur[i].p && in_table(m, i, t))
				prc |= ath_wire__pack_cstr(&sp, m->props[i].col->name);
		prc |= ath_mp__key(&sp, "values") | msgpack_pack_array(&sp, 1) | msgpack_pack_array(&sp, ncols);
		for (uint32_t i = 0; i < ncols; i++)
			prc |= ath_mp__bind(&sp, i);
	}
	prc |= msgpack_pack_array(&rp, (uint32_t)n);
	for (size_t j = 0; j < n; j++) {
		prc |= msgpack_pack_array(&rp, ncols);
		for (uint32_t k = 0; t && k < m->npk; k++)
			prc |= ath_wire__buf_write(&rows, (const char *)objs[j]->cur[m->pk[k]].p, objs[j]->cur[m->pk[k]].len);
		for (uint32_t i = 0; i < m->nprops; i++)
			if (objs[j]->cur[i].p && in_table(m, i, t))
				prc |= ath_wire__buf_write(&rows, (const char *)objs[j]->cur[i].p, objs[j]->cur[i].len);
	}
	int rc = prc ? oom(f) : 0;
	ath_result *res = NULL;
	if (!rc)
		rc = exec_many(f, m, &shape, &rows, need_keys ? ATH_EXEC_RETURN_DEFAULTS : 0, &res);
	if (!rc && need_keys) {
		rc = ath_result__inserted_primary_key_rows(&keys, res, f->err);
		const unsigned char *p = keys.ptr, *end = keys.ptr + keys.size;
		uint32_t nk = 0;
		if (!rc && (!(p = ath_mp__array(p, end, &nk)) || nk != n))
			rc = ath_err__set(f->err, ATH_ERROR, ATH_ERRCLASS_FLUSH_ERROR,
					  "could not learn the primary keys of %zu inserted %s rows", n, m->name);
		for (size_t j = 0; j < n && !rc; j++) {
			uint32_t nv;
			const unsigned char *q = ath_mp__array(p, end, &nv);
			if (!q || nv != m->npk) {
				rc = ath_err__set(f->err, ATH_ERROR, ATH_ERRCLASS_FLUSH_ERROR,
						  "no primary key was generated for an inserted %s row", m->name);
				break;
			}
			for (uint32_t k = 0; k < nv && !rc; k++) {
				const unsigned char *e = ath_mp__skip(q, end);
				ath_obj *o = objs[j];
				if (!o->cur[m->pk[k]].p || ath_val__is_nil(&o->cur[m->pk[k]]))
					rc = ath_obj__set_prop(o, m->pk[k], q, (size_t)(e - q), true, f->err);
				q = e;
			}
			p = q;
		}
	}
	ath_result__close(res);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&rows);
	ath_buf_dispose(&keys);
	return rc;
}

static int insert_group(flush *f, ath_obj **objs, size_t n)
{
	const ath_mapper *m = objs[0]->m;
	bool need_keys = false;
	for (size_t j = 0; j < n && !need_keys; j++)
		for (uint32_t k = 0; k < m->npk; k++)
			if (!objs[j]->cur[m->pk[k]].p || ath_val__is_nil(&objs[j]->cur[m->pk[k]]))
				need_keys = true;
	int rc = 0;
	for (uint32_t t = 0; t < m->ntables && !rc; t++)
		rc = insert_table(f, objs, n, t, need_keys && t == 0);
	for (size_t j = 0; j < n && !rc; j++) {
		ath_obj *o = objs[j];
		if ((rc = ath_session__register(f->s, o, f->err)))
			break;
		o->status = ATH_OBJ_PERSISTENT;
		o->ins_level = (uint16_t)(f->s->nested + 1);
		o->just_inserted = true;
		if (ath_objvec__push(&f->inserted, o) < 0)
			rc = oom(f);
	}
	return rc;
}

/* insert objs (same mapper): the version counter starts at 1; groups of equal column sets */
static int insert_objs(flush *f, ath_obj **objs, size_t n)
{
	static const unsigned char one = 0x01;
	for (size_t j = 0; j < n; j++) {
		ath_obj *o = objs[j];
		int rc = sync_m2o(f, o);
		if (rc)
			return rc;
		if (o->m->version_prop >= 0 && (!o->cur[o->m->version_prop].p || ath_val__is_nil(&o->cur[o->m->version_prop])))
			if ((rc = ath_obj__set_prop(o, (uint32_t)o->m->version_prop, &one, 1, true, f->err)))
				return rc;
		if (o->m->identity_len && !o->cur[o->m->root->poly_prop].p) /* the discriminator */
			if ((rc = ath_obj__set_prop(o, (uint32_t)o->m->root->poly_prop, o->m->identity, o->m->identity_len, true,
						    f->err)))
				return rc;
	}
	/* stable partition into runs of the same column set (SQLAlchemy groups by the keys present) */
	size_t i = 0;
	while (i < n) {
		size_t j = i + 1;
		while (j < n && same_columns(objs[i], objs[j]))
			j++;
		int rc = insert_group(f, objs + i, j - i);
		if (rc)
			return rc;
		for (size_t k = i; k < j; k++)
			if ((rc = sync_o2m(f, objs[k])))
				return rc;
		i = j;
	}
	return 0;
}

/* self-referential rows: wave = 1 + the wave of the pending parent */
static ath_obj *self_parent(const ath_obj *o)
{
	for (uint32_t i = 0; i < o->m->nrels; i++) {
		const ath_rel *r = &o->m->rels[i];
		if (r->target != o->m || r->dir != ATH_REL_M2O || r->post_update || r->viewonly)
			continue;
		if (o->rels[i].n)
			return o->rels[i].items[0];
	}
	return NULL;
}

static int cmp_wave(const void *a, const void *b)
{
	const ath_obj *x = *(ath_obj *const *)a, *y = *(ath_obj *const *)b;
	return x->wave < y->wave ? -1 : x->wave > y->wave;
}

static int insert_waves(flush *f, ath_obj **objs, size_t n)
{
	/* parents through a one-to-many to the same mapper: the child's parent is its owner */
	for (size_t j = 0; j < n; j++)
		objs[j]->wave = 0;
	for (size_t j = 0; j < n; j++) {
		ath_obj *o = objs[j];
		for (uint32_t i = 0; i < o->m->nrels; i++) {
			const ath_rel *r = &o->m->rels[i];
			if (r->target != o->m || r->dir != ATH_REL_O2M || r->viewonly)
				continue;
			for (uint32_t k = 0; k < o->rels[i].n; k++)
				o->rels[i].items[k]->mark = (uint32_t)j + 1; /* scratch: index + 1 of the owner */
		}
	}
	for (size_t pass = 0; pass <= n; pass++) {
		bool changed = false;
		for (size_t j = 0; j < n; j++) {
			ath_obj *o = objs[j], *p = self_parent(o);
			uint32_t w = 0;
			if (p && p->status == ATH_OBJ_PENDING)
				w = p->wave + 1;
			if (o->mark && o->mark <= n && objs[o->mark - 1] != o && objs[o->mark - 1]->wave + 1 > w)
				w = objs[o->mark - 1]->wave + 1;
			if (w != o->wave) {
				o->wave = w;
				changed = true;
			}
		}
		if (!changed)
			break;
		if (pass == n)
			return ath_err__set(f->err, ATH_ERROR, ATH_ERRCLASS_FLUSH_ERROR,
					    "Circular dependency detected among %s rows: a row is its own ancestor",
					    objs[0]->m->name);
	}
	for (size_t j = 0; j < n; j++)
		objs[j]->mark = 0;
	qsort(objs, n, sizeof *objs, cmp_wave);
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && objs[j]->wave == objs[i]->wave)
			j++;
		int rc = insert_objs(f, objs + i, j - i);
		if (rc)
			return rc;
		i = j;
	}
	return 0;
}

/* ---- UPDATE ------------------------------------------------------------------------------------ */

static bool same_changes(const ath_obj *a, const ath_obj *b)
{
	for (uint32_t i = 0; i < a->m->nprops; i++)
		if (a->modified[i] != b->modified[i])
			return false;
	return true;
}

static int stale(flush *f, const char *what, const ath_table *t, int64_t expected, int64_t matched)
{
	return ath_err__set(f->err, ATH_ERROR, ATH_ERRCLASS_STALE_DATA_ERROR,
			    "%s statement on table '%s' expected to %s %lld row(s); %lld were matched.", what,
			    t->name, what[0] == 'U' ? "update" : "delete", (long long)expected, (long long)matched);
}

/* the WHERE of an UPDATE / DELETE of table t by primary key (and on the base table, version),
 * binds from `base` */
static int pack_pk_where(msgpack_packer *sp, const ath_mapper *m, uint32_t t, uint32_t base)
{
	const ath_column *cols[33];
	uint32_t n = 0;
	for (uint32_t k = 0; k < m->npk && n < 32; k++)
		cols[n++] = m->tpk[t][k];
	if (m->version_prop >= 0 && t == 0)
		cols[n++] = m->props[m->version_prop].col;
	return ath_mp__key(sp, "where") | ath_mp__where_eq(sp, m->tables[t]->name, cols, n, base);
}

/* the committed value of a prop (the one the database has) */
static const ath_val *committed(const ath_obj *o, uint32_t p)
{
	return o->modified[p] ? &o->committed[p] : &o->cur[p];
}

static int pack_pk_params(ath_buf *rows, msgpack_packer *rp, const ath_obj *o, uint32_t t)
{
	const ath_mapper *m = o->m;
	/* the identity key's values (loaded or not, they are known) */
	int prc = ath_wire__buf_write(rows, (const char *)o->key.p + 5, o->key.len - 5);
	if (m->version_prop >= 0 && t == 0) {
		const ath_val *v = committed(o, (uint32_t)m->version_prop);
		prc |= v->p ? ath_wire__buf_write(rows, (const char *)v->p, v->len) : msgpack_pack_nil(rp);
	}
	return prc;
}

static int next_version(ath_obj *o, ath_err *err)
{
	uint32_t vp = (uint32_t)o->m->version_prop;
	const ath_val *v = committed(o, vp);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	int64_t cur = 0;
	if (v->p && msgpack_unpack_next(&u, (const char *)v->p, v->len, NULL) == MSGPACK_UNPACK_SUCCESS) {
		if (u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			cur = (int64_t)u.data.via.u64;
		else if (u.data.type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			cur = u.data.via.i64;
	}
	msgpack_unpacked_destroy(&u);
	ath_buf b = ATH_BUF_INIT;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, &b);
	int rc = msgpack_pack_int64(&pk, cur + 1) ? ath_err__oom(err) : ath_obj__set_prop(o, vp, b.ptr, b.size, false, err);
	ath_buf_dispose(&b);
	return rc;
}

/* UPDATE table t of objects with the same changes: its changed columns (the base table: with the
 * version check); 0 without changes there */
static int update_table(flush *f, ath_obj **objs, size_t n, uint32_t t)
{
	const ath_mapper *m = objs[0]->m;
	ath_obj *o0 = objs[0];
	uint32_t nset = 0;
	for (uint32_t i = 0; i < m->nprops; i++)
		nset += o0->modified[i] && in_table(m, i, t);
	if (!nset)
		return 0;
	ath_buf shape = ATH_BUF_INIT, rows = ATH_BUF_INIT;
	msgpack_packer sp, rp;
	ath_wire__packer_init(&sp, &shape);
	ath_wire__packer_init(&rp, &rows);
	int prc = msgpack_pack_map(&sp, 4) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "update") |
		  ath_mp__key(&sp, "table") | ath_mp__table(&sp, m->tables[t]) | ath_mp__key(&sp, "set") |
		  msgpack_pack_array(&sp, nset);
	uint32_t b = 0;
	for (uint32_t i = 0; i < m->nprops; i++)
		if (o0->modified[i] && in_table(m, i, t))
			prc |= msgpack_pack_array(&sp, 2) | ath_wire__pack_cstr(&sp, m->props[i].col->name) |
			       ath_mp__bind(&sp, b++);
	prc |= pack_pk_where(&sp, m, t, b);
	uint32_t nparams = nset + m->npk + (m->version_prop >= 0 && t == 0);
	prc |= msgpack_pack_array(&rp, (uint32_t)n);
	for (size_t j = 0; j < n; j++) {
		ath_obj *o = objs[j];
		prc |= msgpack_pack_array(&rp, nparams);
		for (uint32_t i = 0; i < m->nprops; i++)
			if (o->modified[i] && in_table(m, i, t))
				prc |= ath_wire__buf_write(&rows, (const char *)o->cur[i].p, o->cur[i].len);
		prc |= pack_pk_params(&rows, &rp, o, t);
	}
	int rc = prc ? oom(f) : 0;
	ath_result *res = NULL;
	if (!rc)
		rc = exec_many(f, m, &shape, &rows, 0, &res);
	if (!rc && res->rowcount >= 0 && res->rowcount != (int64_t)n)
		rc = stale(f, "UPDATE", m->tables[t], (int64_t)n, res->rowcount);
	ath_result__close(res);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&rows);
	return rc;
}

static int update_group(flush *f, ath_obj **objs, size_t n)
{
	int rc = 0;
	for (uint32_t t = 0; t < objs[0]->m->ntables && !rc; t++)
		rc = update_table(f, objs, n, t);
	return rc;
}

static int update_objs(flush *f, ath_obj **objs, size_t n)
{
	/* those with changes, the version counter moved on; grouped by the set of changed columns */
	ath_objvec todo = { 0 };
	int rc = 0;
	for (size_t j = 0; j < n && !rc; j++) {
		ath_obj *o = objs[j];
		if (!o->dirty)
			continue;
		for (uint32_t k = 0; k < o->m->npk; k++)
			if (o->modified[o->m->pk[k]] && !ath_val__eq(&o->cur[o->m->pk[k]], &o->committed[o->m->pk[k]]))
				rc = ath_err__set(f->err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "changing the primary key of a persistent %s is not supported yet",
						  o->m->name);
		if (!rc && o->m->version_prop >= 0)
			rc = next_version(o, f->err);
		if (!rc && ath_objvec__push(&todo, o) < 0)
			rc = oom(f);
	}
	size_t i = 0;
	while (!rc && i < todo.n) {
		/* gather every object with the same changed columns (keeps first-seen order) */
		ath_objvec grp = { 0 };
		for (size_t j = i; j < todo.n && !rc; j++)
			if (todo.v[j] && same_changes(todo.v[i], todo.v[j])) {
				if (ath_objvec__push(&grp, todo.v[j]) < 0)
					rc = oom(f);
				if (j != i)
					todo.v[j] = NULL;
			}
		if (!rc)
			rc = update_group(f, grp.v, grp.n);
		for (size_t j = 0; j < grp.n && !rc; j++)
			if (ath_objvec__push(&f->updated, grp.v[j]) < 0)
				rc = oom(f);
		ath__free(grp.v);
		do
			i++;
		while (i < todo.n && !todo.v[i]);
	}
	ath__free(todo.v);
	return rc;
}

/* ---- many-to-many rows, post_update ------------------------------------------------------------- */

/* INSERT (add) or DELETE (!add) one secondary row per (owners[j], targets[j]) pair, in one executemany */
static int secondary_rows(flush *f, const ath_rel *r, ath_obj **owners, ath_obj **targets, uint32_t n, bool add)
{
	if (!n)
		return 0;
	ath_buf shape = ATH_BUF_INIT, rows = ATH_BUF_INIT;
	msgpack_packer sp, rp;
	ath_wire__packer_init(&sp, &shape);
	ath_wire__packer_init(&rp, &rows);
	uint32_t nc = r->nsec_local + r->nsec_remote;
	int prc = 0;
	if (add) {
		prc |= msgpack_pack_map(&sp, 4) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "insert") |
		       ath_mp__key(&sp, "table") | ath_mp__table(&sp, r->secondary) | ath_mp__key(&sp, "columns") |
		       msgpack_pack_array(&sp, nc);
		for (uint32_t i = 0; i < r->nsec_local; i++)
			prc |= ath_wire__pack_cstr(&sp, r->sec_local_col[i]->name);
		for (uint32_t i = 0; i < r->nsec_remote; i++)
			prc |= ath_wire__pack_cstr(&sp, r->sec_remote_col[i]->name);
		prc |= ath_mp__key(&sp, "values") | msgpack_pack_array(&sp, 1) | msgpack_pack_array(&sp, nc);
		for (uint32_t i = 0; i < nc; i++)
			prc |= ath_mp__bind(&sp, i);
	} else {
		const ath_column *cols[64];
		uint32_t k = 0;
		for (uint32_t i = 0; i < r->nsec_local && k < 64; i++)
			cols[k++] = r->sec_local_col[i];
		for (uint32_t i = 0; i < r->nsec_remote && k < 64; i++)
			cols[k++] = r->sec_remote_col[i];
		prc |= msgpack_pack_map(&sp, 3) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "delete") |
		       ath_mp__key(&sp, "table") | ath_mp__table(&sp, r->secondary) | ath_mp__key(&sp, "where") |
		       ath_mp__where_eq(&sp, r->secondary->name, cols, k, 0);
	}
	prc |= msgpack_pack_array(&rp, n);
	for (uint32_t j = 0; j < n; j++) {
		prc |= msgpack_pack_array(&rp, nc);
		for (uint32_t i = 0; i < r->nsec_local; i++) {
			const ath_val *v = &owners[j]->cur[r->sec_local_prop[i]];
			prc |= ath_wire__buf_write(&rows, (const char *)v->p, v->len);
		}
		for (uint32_t i = 0; i < r->nsec_remote; i++) {
			const ath_val *v = &targets[j]->cur[r->sec_remote_prop[i]];
			prc |= ath_wire__buf_write(&rows, (const char *)v->p, v->len);
		}
	}
	int rc = prc ? oom(f) : 0;
	ath_result *res = NULL;
	if (!rc)
		rc = exec_many(f, r->owner, &shape, &rows, 0, &res);
	if (!rc && !add && res->rowcount >= 0 && res->rowcount != (int64_t)n)
		rc = ath_err__set(f->err, ATH_ERROR, ATH_ERRCLASS_STALE_DATA_ERROR,
				  "DELETE statement on table '%s' expected to delete %u row(s); Only %lld were matched.",
				  r->secondary->name, n, (long long)res->rowcount);
	ath_result__close(res);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&rows);
	return rc;
}

/* The pair (o, t) along r is written once even when both sides of a back_populates pair hold it:
 * the side with the lower (mapper, relationship) writes it, the other only when the first side
 * does not show the change. */
static bool other_side_writes(const ath_rel *r, ath_obj *o, ath_obj *t, bool add)
{
	const ath_rel *b = r->back;
	if (!b || (b->owner->idx > r->owner->idx || (b->owner == r->owner && b->idx > r->idx)))
		return false;
	const ath_relval *bv = &t->rels[b->idx];
	if (!bv->changed)
		return false;
	bool in_cur = ath_relval__has(bv, o), in_orig = false;
	for (uint32_t i = 0; i < bv->norig; i++)
		in_orig |= bv->orig[i] == o;
	return add ? in_cur && !in_orig : !in_cur && in_orig;
}

/* the changed pairs of one many-to-many relationship, written together */
typedef struct m2m_batch {
	const ath_rel *rel;
	ath_objvec owners, targets;
} m2m_batch;

static int m2m_changes(flush *f, bool add)
{
	m2m_batch *b = NULL;
	size_t nb = 0, capb = 0;
	int rc = 0;
	for (size_t i = 0; i < f->all.n && !rc; i++) {
		ath_obj *o = f->all.v[i];
		if (o->marked_deleted && add)
			continue;
		for (uint32_t r = 0; r < o->m->nrels && !rc; r++) {
			const ath_rel *rel = &o->m->rels[r];
			ath_relval *rv = &o->rels[r];
			if (rel->dir != ATH_REL_M2M || rel->viewonly || !rv->changed)
				continue;
			uint32_t n = add ? rv->n : rv->norig;
			for (uint32_t j = 0; j < n && !rc; j++) {
				ath_obj *t = add ? rv->items[j] : rv->orig[j];
				bool changed = add ? !ath_relval__has(&(ath_relval){ .items = rv->orig, .n = rv->norig }, t)
						   : !ath_relval__has(rv, t);
				if (!changed || other_side_writes(rel, o, t, add))
					continue;
				size_t k = 0;
				while (k < nb && b[k].rel != rel)
					k++;
				if (k == nb) {
					if (nb == capb) {
						m2m_batch *nbv = ath__realloc(b, sizeof *b * (capb ? capb * 2 : 4));
						if (!nbv) {
							rc = oom(f);
							break;
						}
						b = nbv;
						capb = capb ? capb * 2 : 4;
					}
					b[nb++] = (m2m_batch){ .rel = rel };
				}
				if (ath_objvec__push(&b[k].owners, o) < 0 || ath_objvec__push(&b[k].targets, t) < 0)
					rc = oom(f);
			}
		}
	}
	for (size_t k = 0; k < nb; k++) {
		if (!rc && b[k].owners.n == b[k].targets.n)
			rc = secondary_rows(f, b[k].rel, b[k].owners.v, b[k].targets.v, (uint32_t)b[k].targets.n, add);
		ath__free(b[k].owners.v);
		ath__free(b[k].targets.v);
	}
	ath__free(b);
	return rc;
}

/* the secondary rows of deleted objects (DELETE FROM secondary WHERE local = owner's key) */
static int m2m_of_deleted(flush *f, ath_obj *o)
{
	for (uint32_t r = 0; r < o->m->nrels; r++) {
		const ath_rel *rel = &o->m->rels[r];
		if (rel->dir != ATH_REL_M2M || rel->viewonly)
			continue;
		ath_buf shape = ATH_BUF_INIT, rows = ATH_BUF_INIT;
		msgpack_packer sp, rp;
		ath_wire__packer_init(&sp, &shape);
		ath_wire__packer_init(&rp, &rows);
		int prc = msgpack_pack_map(&sp, 3) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "delete") |
			  ath_mp__key(&sp, "table") | ath_mp__table(&sp, rel->secondary) | ath_mp__key(&sp, "where") |
			  ath_mp__where_eq(&sp, rel->secondary->name, rel->sec_local_col, rel->nsec_local, 0) |
			  msgpack_pack_array(&rp, 1) | msgpack_pack_array(&rp, rel->nsec_local);
		for (uint32_t i = 0; i < rel->nsec_local; i++) {
			const ath_val *v = committed(o, rel->sec_local_prop[i]);
			prc |= ath_wire__buf_write(&rows, (const char *)v->p, v->len);
		}
		ath_result *res = NULL;
		int rc = prc ? oom(f) : exec_many(f, o->m, &shape, &rows, 0, &res);
		ath_result__close(res);
		ath_buf_dispose(&shape);
		ath_buf_dispose(&rows);
		if (rc)
			return rc;
	}
	return 0;
}

/* post_update many-to-ones: UPDATE t SET fk = ? WHERE pk = ? after every INSERT */
static int post_updates(flush *f)
{
	for (size_t i = 0; i < f->all.n; i++) {
		ath_obj *o = f->all.v[i];
		if (o->marked_deleted)
			continue;
		for (uint32_t r = 0; r < o->m->nrels; r++) {
			const ath_rel *rel = &o->m->rels[r];
			ath_relval *rv = &o->rels[r];
			if (rel->dir != ATH_REL_M2O || !rel->post_update || !(rv->changed || (o->just_inserted && rv->n)))
				continue;
			ath_obj *t = rv->n ? rv->items[0] : NULL;
			ath_buf shape = ATH_BUF_INIT, rows = ATH_BUF_INIT;
			msgpack_packer sp, rp;
			ath_wire__packer_init(&sp, &shape);
			ath_wire__packer_init(&rp, &rows);
			uint32_t ft = 0; /* the table of the foreign key (a joined-table subclass's own, maybe) */
			while (ft + 1 < o->m->ntables && !in_table(o->m, rel->local[0], ft))
				ft++;
			int prc = msgpack_pack_map(&sp, 4) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "update") |
				  ath_mp__key(&sp, "table") | ath_mp__table(&sp, o->m->tables[ft]) | ath_mp__key(&sp, "set") |
				  msgpack_pack_array(&sp, rel->npairs);
			for (uint32_t k = 0; k < rel->npairs; k++)
				prc |= msgpack_pack_array(&sp, 2) |
				       ath_wire__pack_cstr(&sp, o->m->props[rel->local[k]].col->name) | ath_mp__bind(&sp, k);
			prc |= ath_mp__key(&sp, "where") |
			       ath_mp__where_eq(&sp, o->m->tables[ft]->name, o->m->tpk[ft], o->m->npk, rel->npairs);
			prc |= msgpack_pack_array(&rp, 1) | msgpack_pack_array(&rp, rel->npairs + o->m->npk);
			int rc = 0;
			for (uint32_t k = 0; k < rel->npairs && !rc; k++) {
				if (t && !t->cur[rel->remote[k]].p)
					rc = ath_load__ensure_prop(t, rel->remote[k], f->err);
				const ath_val *v = t ? &t->cur[rel->remote[k]] : NULL;
				prc |= v && v->p ? ath_wire__buf_write(&rows, (const char *)v->p, v->len) : msgpack_pack_nil(&rp);
				if (!rc)
					rc = set_prop_from(o, rel->local[k], v, f->err);
			}
			for (uint32_t k = 0; k < o->m->npk; k++)
				prc |= ath_wire__buf_write(&rows, (const char *)o->cur[o->m->pk[k]].p, o->cur[o->m->pk[k]].len);
			ath_result *res = NULL;
			if (!rc)
				rc = prc ? oom(f) : exec_many(f, o->m, &shape, &rows, 0, &res);
			ath_result__close(res);
			ath_buf_dispose(&shape);
			ath_buf_dispose(&rows);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* ---- DELETE ------------------------------------------------------------------------------------ */

/* The deleted parent of a deleted row of a self-referential mapper: by its foreign key values
 * (relationships need not be loaded), else by its loaded many-to-one. */
static ath_obj *deleted_parent(flush *f, ath_obj *o)
{
	const ath_mapper *m = o->m;
	for (uint32_t i = 0; i < m->nrels; i++) {
		const ath_rel *r = &m->rels[i];
		if (r->target != m || r->viewonly || r->dir == ATH_REL_M2M || r->npairs != m->npk || m->npk > 32)
			continue;
		const uint32_t *fk = r->dir == ATH_REL_M2O ? r->local : r->remote;
		const uint32_t *ref = r->dir == ATH_REL_M2O ? r->remote : r->local;
		const ath_val *vals[32];
		bool by_pk = true;
		for (uint32_t k = 0; k < m->npk; k++) {
			by_pk &= ref[k] == m->pk[k];
			vals[k] = committed(o, fk[k]);
		}
		ath_obj *p = by_pk ? ath_objset__lookup(&f->s->identity, m, vals) : NULL;
		if (p && p != o && p->marked_deleted)
			return p;
	}
	ath_obj *p = self_parent(o);
	return p && p->marked_deleted ? p : NULL;
}

/* depth of a deleted row among deleted rows of the same mapper (children deeper, deleted first) */
static uint32_t delete_depth(flush *f, ath_obj *o, uint32_t guard)
{
	ath_obj *p = deleted_parent(f, o);
	if (!p || guard > 10000)
		return 0;
	return 1 + delete_depth(f, p, guard + 1);
}

static int cmp_wave_desc(const void *a, const void *b) { return -cmp_wave(a, b); }

static int delete_objs(flush *f, ath_obj **objs, size_t n)
{
	const ath_mapper *m = objs[0]->m;
	int rc = 0;
	/* the version counter and, for the order of self-referential rows, the foreign keys */
	for (size_t j = 0; j < n && !rc && (m->self_ref || m->version_prop >= 0); j++)
		rc = m->self_ref ? ath_load__props(f->s, objs[j], false, f->err)
				 : ath_load__ensure_prop(objs[j], (uint32_t)m->version_prop, f->err);
	if (rc)
		return rc;
	if (m->self_ref) {
		for (size_t j = 0; j < n; j++)
			objs[j]->wave = delete_depth(f, objs[j], 0);
		qsort(objs, n, sizeof *objs, cmp_wave_desc);
	}
	size_t i = 0;
	while (i < n && !rc) {
		size_t j = i;
		while (j < n && objs[j]->wave == objs[i]->wave)
			j++;
		/* a joined-table subclass's own tables first, the base table (with the version) last */
		for (uint32_t t = m->ntables; t-- > 0 && !rc;) {
			ath_buf shape = ATH_BUF_INIT, rows = ATH_BUF_INIT;
			msgpack_packer sp, rp;
			ath_wire__packer_init(&sp, &shape);
			ath_wire__packer_init(&rp, &rows);
			int prc = msgpack_pack_map(&sp, 3) | ath_mp__key(&sp, "k") | ath_mp__key(&sp, "delete") |
				  ath_mp__key(&sp, "table") | ath_mp__table(&sp, m->tables[t]) | pack_pk_where(&sp, m, t, 0) |
				  msgpack_pack_array(&rp, (uint32_t)(j - i));
			for (size_t k = i; k < j; k++) {
				prc |= msgpack_pack_array(&rp, m->npk + (m->version_prop >= 0 && t == 0));
				prc |= pack_pk_params(&rows, &rp, objs[k], t);
			}
			ath_result *res = NULL;
			rc = prc ? oom(f) : exec_many(f, m, &shape, &rows, 0, &res);
			if (!rc && res->rowcount >= 0 && res->rowcount != (int64_t)(j - i))
				rc = stale(f, "DELETE", m->tables[t], (int64_t)(j - i), res->rowcount);
			ath_result__close(res);
			ath_buf_dispose(&shape);
			ath_buf_dispose(&rows);
		}
		for (size_t k = i; k < j && !rc; k++) {
			ath_obj *o = objs[k];
			if (o->has_key)
				ath_objset__del(&f->s->identity, o);
			o->status = ATH_OBJ_DELETED;
			o->del_level = (uint16_t)(f->s->nested + 1);
			o->marked_deleted = false;
			if (ath_objvec__push(&f->deleted, o) < 0)
				rc = oom(f);
		}
		i = j;
	}
	return rc;
}

/* ---- the flush --------------------------------------------------------------------------------- */

static int snapshot(flush *f)
{
	for (size_t i = 0; i < f->all.n; i++)
		ath_obj__decref(f->all.v[i]);
	f->all.n = 0;
	for (ath_obj *o = f->s->head; o; o = o->next) {
		if (ath_objvec__push(&f->all, o) < 0)
			return oom(f);
		o->host_refs++;
	}
	return 0;
}

static bool has_work(ath_session *s)
{
	for (ath_obj *o = s->head; o; o = o->next) {
		if (o->status == ATH_OBJ_PENDING || o->marked_deleted || o->dirty)
			return true;
		for (uint32_t i = 0; i < o->m->nrels; i++)
			if (o->rels[i].changed)
				return true;
	}
	return false;
}

static int run(flush *f)
{
	ath_session *s = f->s;
	int rc = snapshot(f);
	/* save-update cascade for links made since the objects were added */
	for (size_t i = 0; i < f->all.n && !rc; i++)
		if (!f->all.v[i]->marked_deleted)
			rc = ath_session__add(s, f->all.v[i], f->err);
	if (!rc)
		rc = snapshot(f);
	if (!rc)
		rc = find_orphans(f);
	if (!rc)
		rc = snapshot(f); /* delete cascades may have loaded more */
	if (!rc)
		rc = orphan_children_of_deleted(f);
	if (!rc)
		rc = snapshot(f);
	if (rc)
		return rc;
	ath_objvec ins = { 0 }, upd = { 0 }, del = { 0 };
	const ath_registry *reg = s->reg;
	/* secondary rows of deleted objects and removed pairs go before anything is deleted */
	for (size_t i = 0; i < f->all.n && !rc; i++)
		if (f->all.v[i]->marked_deleted && f->all.v[i]->has_key)
			rc = m2m_of_deleted(f, f->all.v[i]);
	for (uint32_t k = 0; k < reg->nmappers && !rc; k++) {
		const ath_mapper *m = reg->flush_order[k];
		ins.n = upd.n = 0;
		for (size_t i = 0; i < f->all.n && !rc; i++) {
			ath_obj *o = f->all.v[i];
			if (o->m != m || o->marked_deleted)
				continue;
			if (o->status == ATH_OBJ_PENDING)
				rc = ath_objvec__push(&ins, o) < 0 ? oom(f) : 0;
			else if (o->status == ATH_OBJ_PERSISTENT)
				rc = ath_objvec__push(&upd, o) < 0 ? oom(f) : 0;
		}
		if (!rc && ins.n)
			rc = m->self_ref ? insert_waves(f, ins.v, ins.n) : insert_objs(f, ins.v, ins.n);
		for (size_t i = 0; i < upd.n && !rc; i++)
			rc = sync_m2o(f, upd.v[i]);
		for (size_t i = 0; i < upd.n && !rc; i++)
			rc = sync_o2m(f, upd.v[i]);
		if (!rc)
			rc = update_objs(f, upd.v, upd.n);
	}
	if (!rc)
		rc = post_updates(f);
	if (!rc)
		rc = m2m_changes(f, false);
	if (!rc)
		rc = m2m_changes(f, true);
	for (uint32_t k = reg->nmappers; k-- > 0 && !rc;) {
		const ath_mapper *m = reg->flush_order[k];
		del.n = 0;
		for (size_t i = 0; i < f->all.n && !rc; i++)
			if (f->all.v[i]->m == m && f->all.v[i]->marked_deleted && f->all.v[i]->has_key)
				rc = ath_objvec__push(&del, f->all.v[i]) < 0 ? oom(f) : 0;
		if (!rc && del.n)
			rc = delete_objs(f, del.v, del.n);
	}
	ath__free(ins.v);
	ath__free(upd.v);
	ath__free(del.v);
	if (rc)
		return rc;
	/* written: history is now committed state; columns the database filled in load on access */
	for (size_t i = 0; i < f->inserted.n; i++) {
		ath_obj *o = f->inserted.v[i];
		bool expire[512] = { 0 }, any = false;
		for (uint32_t p = 0; p < o->m->nprops && p < 512; p++)
			if (!o->cur[p].p)
				expire[p] = any = true;
		ath_obj__commit_state(o);
		if (any)
			ath_obj__expire(o, expire, false);
	}
	for (size_t i = 0; i < f->updated.n; i++) {
		ath_obj *o = f->updated.v[i];
		bool expire[512] = { 0 }, any = false;
		for (uint32_t p = 0; p < o->m->nprops && p < 512; p++)
			if (o->m->props[p].col && o->m->props[p].col->onupdate.node && !o->modified[p])
				expire[p] = any = true; /* the engine set it */
		ath_obj__commit_state(o);
		if (any)
			ath_obj__expire(o, expire, false);
	}
	for (size_t i = 0; i < f->all.n; i++) {
		ath_obj *o = f->all.v[i];
		if (o->status == ATH_OBJ_PERSISTENT || o->status == ATH_OBJ_DELETED)
			ath_obj__commit_state(o); /* relationship history of everything that took part */
	}
	/* eager_defaults: what the database generated is read now, not on first access */
	for (size_t i = 0; i < f->inserted.n + f->updated.n; i++) {
		ath_obj *o = i < f->inserted.n ? f->inserted.v[i] : f->updated.v[i - f->inserted.n];
		if (o->m->eager_defaults && (rc = ath_load__props(s, o, false, f->err)))
			return rc;
	}
	return 0;
}

int ath_flush__run(ath_session *s, ath_err *err)
{
	if (!has_work(s))
		return 0;
	flush f = { .s = s, .err = err };
	int rc = run(&f);
	for (size_t i = 0; i < f.inserted.n; i++)
		f.inserted.v[i]->just_inserted = false;
	for (size_t i = 0; i < f.all.n; i++)
		ath_obj__decref(f.all.v[i]);
	ath__free(f.all.v);
	ath__free(f.inserted.v);
	ath__free(f.updated.v);
	ath__free(f.deleted.v);
	return rc;
}
