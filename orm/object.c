/* object.c — mapped instances (SQLAlchemy's InstanceState): attribute values as packed msgpack
 * with the committed value kept on first change (history), relationship contents with their
 * back_populates side kept in step in memory (backref events), and lifetime: references from the
 * host and from other objects' relationships, with the session holding new, changed and deleted
 * objects itself (the weak identity map). */
#include "orm/orm.h"

#include <string.h>

#include "util/alloc.h"
#include "wire/mpbuf.h"

static atomic_ullong next_id = 1;

/* whether the value has a heap block of its own */
static inline bool val_owned(const ath_val *v) { return v->p && !v->is_inline && !v->borrowed; }

int ath_val__set(ath_val *v, const void *p, size_t len)
{
	if (len <= ATH_VAL_INLINE) {
		if (val_owned(v))
			ath__free(v->p);
		memmove(v->inl, p, len);
		v->p = v->inl;
		v->is_inline = true;
		v->borrowed = false;
		v->len = (uint32_t)len;
		return 0;
	}
	unsigned char *n = ath__malloc(len);
	if (!n)
		return -1;
	memcpy(n, p, len);
	if (val_owned(v))
		ath__free(v->p);
	v->p = n;
	v->is_inline = v->borrowed = false;
	v->len = (uint32_t)len;
	return 0;
}

void ath_val__clear(ath_val *v)
{
	if (val_owned(v))
		ath__free(v->p);
	v->p = NULL;
	v->is_inline = v->borrowed = false;
	v->len = 0;
}

/* Within one object only: a borrowed value stays in the block it points into. */
void ath_val__move(ath_val *to, ath_val *from)
{
	ath_val__clear(to);
	if (from->is_inline) {
		memcpy(to->inl, from->inl, from->len);
		to->p = to->inl;
		to->is_inline = true;
	} else {
		to->p = from->p;
		to->borrowed = from->borrowed;
	}
	to->len = from->len;
	from->p = NULL;
	from->is_inline = from->borrowed = false;
	from->len = 0;
}

bool ath_val__eq(const ath_val *a, const ath_val *b)
{
	return a->len == b->len && (a->p == b->p || (a->p && b->p && memcmp(a->p, b->p, a->len) == 0));
}

bool ath_val__is_nil(const ath_val *v) { return v->p && v->len == 1 && v->p[0] == 0xc0; }

int ath_obj__new(ath_obj **out, ath_registry *reg, const ath_mapper *m, ath_err *err)
{
	return ath_obj__new_sized(out, reg, m, 0, err);
}

/* Committed values are kept once a loaded value changes: until then `committed` is this shared
 * row of not-loaded values, which is what the committed value of an unchanged prop is (and a
 * change to a value never loaded keeps none). Read-only: a missed check faults at once. Mappers
 * with more props get their committed values in the object's block. */
#define SHARED_COMMITTED 64
static const ath_val no_committed[SHARED_COMMITTED];

static int own_committed(ath_obj *o)
{
	if (o->own_committed)
		return 0;
	ath_val *c = ath__calloc(o->m->nprops, sizeof *c);
	if (!c)
		return -1;
	o->committed = c;
	o->own_committed = true;
	return 0;
}

void ath_obj__clear_committed(ath_obj *o, uint32_t p)
{
	if (o->own_committed)
		ath_val__clear(&o->committed[p]);
}

int ath_obj__new_sized(ath_obj **out, ath_registry *reg, const ath_mapper *m, size_t spare, ath_err *err)
{
	/* one block: the object, its values (and committed values when not shared), relationships,
	 * change flags and the room for values loaded with it */
	size_t nv = m->nprops, nr = m->nrels, nc = nv <= SHARED_COMMITTED ? 0 : nv;
	size_t size = sizeof(ath_obj) + sizeof(ath_val) * (nv + nc) + sizeof(ath_relval) * nr + nv;
	if (spare > UINT32_MAX)
		spare = 0;
	ath_obj *o = ath__malloc(size + spare);
	if (!o)
		return ath_err__oom(err);
	memset(o, 0, size); /* not the spare room: it is written before it is read */
	o->cur = (ath_val *)(o + 1);
	o->committed = nc ? o->cur + nv : (ath_val *)no_committed;
	o->own_committed = nc > 0;
	o->rels = (ath_relval *)(o->cur + nv + nc);
	o->modified = (uint8_t *)(o->rels + nr);
	o->spare = spare ? (unsigned char *)o + size : NULL;
	o->spare_left = (uint32_t)spare;
	o->magic = ATH_MAGIC_OBJ;
	o->m = m;
	o->reg = reg;
	ath_registry__incref(reg);
	o->id = atomic_fetch_add(&next_id, 1);
	o->status = ATH_OBJ_TRANSIENT;
	/* nothing in the database yet: every relationship is known, and empty */
	for (uint32_t i = 0; i < m->nrels; i++)
		o->rels[i].loaded = true;
	*out = o;
	return 0;
}

bool ath_relval__has(const ath_relval *rv, const ath_obj *o)
{
	for (uint32_t i = 0; i < rv->n; i++)
		if (rv->items[i] == o)
			return true;
	return false;
}

int ath_objvec__push(ath_objvec *a, ath_obj *o)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		ath_obj **g = ath__realloc(a->v, sizeof *g * cap);
		if (!g)
			return -1;
		a->v = g;
		a->cap = cap;
	}
	a->v[a->n++] = o;
	return 0;
}

static void link_drop(ath_obj *t)
{
	t->link_refs--;
	ath_obj__maybe_release(t);
}

/* Free the object's memory; its own links are dropped first. */
void ath_obj__destroy(ath_obj *o)
{
	const ath_mapper *m = o->m;
	ath_gc__forget(o);
	o->magic = ATH_MAGIC_DEAD;
	for (uint32_t i = 0; i < m->nprops; i++) {
		if (val_owned(&o->cur[i]))
			ath__free(o->cur[i].p);
		if (o->own_committed && val_owned(&o->committed[i]))
			ath__free(o->committed[i].p);
	}
	if (o->own_committed && m->nprops <= SHARED_COMMITTED)
		ath__free(o->committed);
	if (val_owned(&o->key))
		ath__free(o->key.p);
	o->key.p = NULL;
	/* hold ourselves while dropping links, so a cycle back to us does not free us twice */
	o->link_refs++;
	for (uint32_t i = 0; i < m->nrels; i++) {
		ath_relval *rv = &o->rels[i];
		for (uint32_t j = 0; j < rv->norig; j++)
			link_drop(rv->orig[j]);
		ath__free(rv->orig);
		rv->orig = NULL;
		rv->norig = 0;
		uint32_t n = rv->n;
		rv->n = 0;
		for (uint32_t j = 0; j < n; j++)
			link_drop(rv->items[j]);
		ath__free(rv->items);
		rv->items = NULL;
	}
	ath_registry__decref(o->reg);
	ath__free(o);
}

bool ath_obj__needs_session(const ath_obj *o)
{
	if (!o->sess)
		return false;
	if (o->status == ATH_OBJ_PENDING || o->status == ATH_OBJ_DELETED || o->marked_deleted || o->dirty ||
	    o->ins_level)
		return true;
	for (uint32_t i = 0; i < o->m->nrels; i++)
		if (o->rels[i].changed)
			return true;
	return false;
}

void ath_obj__maybe_release(ath_obj *o)
{
	if (o->magic != ATH_MAGIC_OBJ || o->host_refs > 0 || ath_obj__needs_session(o))
		return;
	if (o->link_refs > 0) { /* only other objects hold it: perhaps a garbage cycle */
		ath_gc__suspect(o);
		return;
	}
	if (o->sess)
		ath_session__detach(o->sess, o);
	ath_obj__destroy(o);
}

void ath_obj__incref(ath_obj *o) { o->host_refs++; }

void ath_obj__decref(ath_obj *o)
{
	if (--o->host_refs > 0)
		return;
	ath_obj__maybe_release(o);
}

/* ---- column attributes ----------------------------------------------------------------------- */

int ath_obj__set_prop(ath_obj *o, uint32_t p, const void *val, size_t len, bool loading, ath_err *err)
{
	ath_val *cur = &o->cur[p];
	if (loading) {
		if (len > ATH_VAL_INLINE && len <= o->spare_left) { /* the room the object was made with */
			if (val_owned(cur))
				ath__free(cur->p);
			memcpy(o->spare, val, len);
			cur->p = o->spare;
			cur->len = (uint32_t)len;
			cur->is_inline = false;
			cur->borrowed = true;
			o->spare += len;
			o->spare_left -= (uint32_t)len;
			return 0;
		}
		if (ath_val__set(cur, val, len) < 0)
			return ath_err__oom(err);
		return 0;
	}
	if (cur->p && cur->len == len && memcmp(cur->p, val, len) == 0 && !o->modified[p])
		return 0; /* same value: no history (SQLAlchemy's active history compares too) */
	if (!o->modified[p]) {
		/* keep the committed value (if loaded) for history and rollback */
		if (cur->p) {
			if (own_committed(o) < 0)
				return ath_err__oom(err);
			ath_val__move(&o->committed[p], cur);
		}
		o->modified[p] = 1;
	}
	if (ath_val__set(cur, val, len) < 0)
		return ath_err__oom(err);
	if (o->status != ATH_OBJ_TRANSIENT)
		o->dirty = true;
	return 0;
}

void ath_obj__commit_state(ath_obj *o)
{
	for (uint32_t i = 0; i < o->m->nprops; i++) {
		ath_obj__clear_committed(o, i);
		o->modified[i] = 0;
	}
	o->dirty = false;
	for (uint32_t i = 0; i < o->m->nrels; i++) {
		ath_relval *rv = &o->rels[i];
		for (uint32_t j = 0; j < rv->norig; j++)
			link_drop(rv->orig[j]);
		ath__free(rv->orig);
		rv->orig = NULL;
		rv->norig = 0;
		rv->changed = false;
		if (o->m->rels[i].lazy == ATH_LAZY_WRITE_ONLY) { /* written: nothing is kept */
			uint32_t n = rv->n;
			rv->n = 0;
			for (uint32_t j = 0; j < n; j++)
				link_drop(rv->items[j]);
		}
	}
}

int ath_obj__make_key(ath_obj *o, ath_err *err)
{
	const ath_mapper *m = o->m;
	size_t len = 5;
	for (uint32_t i = 0; i < m->npk; i++) {
		const ath_val *v = &o->cur[m->pk[i]];
		if (!v->p || ath_val__is_nil(v))
			return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_FLUSH_ERROR,
					    "Instance %s has a NULL identity key (primary key column '%s'): the row's key "
					    "was neither given nor generated by the database",
					    m->name, m->props[m->pk[i]].name);
		len += v->len;
	}
	unsigned char stack[256], *k = len <= sizeof stack ? stack : ath__malloc(len);
	if (!k)
		return ath_err__oom(err);
	k[0] = 0xdd; /* array32: one form for every key, so equal keys have equal bytes */
	k[1] = k[2] = k[3] = 0;
	k[4] = (unsigned char)m->npk;
	size_t off = 5;
	for (uint32_t i = 0; i < m->npk; i++) {
		const ath_val *v = &o->cur[m->pk[i]];
		memcpy(k + off, v->p, v->len);
		off += v->len;
	}
	int rc = ath_obj__set_key(o, k, len, ath_objset__key_hash(m, k, len));
	if (k != stack)
		ath__free(k);
	return rc < 0 ? ath_err__oom(err) : 0;
}

int ath_obj__set_key(ath_obj *o, const void *key, size_t len, uint64_t hash)
{
	if (ath_val__set(&o->key, key, len) < 0)
		return -1;
	o->key_hash = hash;
	o->has_key = true;
	return 0;
}

int ath_obj__pack_ref(msgpack_packer *pk, const ath_obj *o)
{
	unsigned char b[10] = { 0xd7, ATH_EXT_OBJREF }; /* fixext 8, in one write */
	for (int i = 0; i < 8; i++)
		b[2 + i] = (unsigned char)(o->id >> (56 - 8 * i));
	return pk->callback(pk->data, (const char *)b, sizeof b);
}

/* ---- relationships --------------------------------------------------------------------------- */

static int rv_push(ath_relval *rv, ath_obj *t)
{
	if (rv->n == rv->cap) {
		uint32_t cap = rv->cap ? rv->cap * 2 : 4;
		ath_obj **n = ath__realloc(rv->items, sizeof *n * cap);
		if (!n)
			return -1;
		rv->items = n;
		rv->cap = cap;
	}
	rv->items[rv->n++] = t;
	t->link_refs++;
	return 0;
}

/* Keep the committed content before the first change (for history and the unit of work). */
static int rv_snapshot(ath_obj *o, ath_relval *rv)
{
	if (rv->changed)
		return 0;
	if (rv->n) {
		rv->orig = ath__malloc(sizeof *rv->orig * rv->n);
		if (!rv->orig)
			return -1;
		memcpy(rv->orig, rv->items, sizeof *rv->orig * rv->n);
		for (uint32_t i = 0; i < rv->n; i++)
			rv->items[i]->link_refs++;
	}
	rv->norig = rv->n;
	rv->changed = true;
	(void)o;
	return 0;
}

static void rv_remove_at(ath_relval *rv, uint32_t i)
{
	ath_obj *t = rv->items[i];
	memmove(rv->items + i, rv->items + i + 1, sizeof *rv->items * (rv->n - i - 1));
	rv->n--;
	link_drop(t);
}

/* write_only: additions in items, removals in orig, each cancelling the other */
static int write_only_change(ath_relval *rv, ath_obj *t, bool add)
{
	ath_relval pending = { .items = add ? rv->orig : rv->items, .n = add ? rv->norig : rv->n };
	for (uint32_t i = 0; i < pending.n; i++)
		if (pending.items[i] == t) { /* undo the opposite change */
			memmove(pending.items + i, pending.items + i + 1, sizeof *pending.items * (pending.n - i - 1));
			*(add ? &rv->norig : &rv->n) -= 1;
			link_drop(t);
			return 0;
		}
	if (add) {
		if (ath_relval__has(rv, t))
			return 0;
		if (rv_push(rv, t) < 0)
			return -1;
	} else {
		ath_obj **g = ath__realloc(rv->orig, sizeof *g * (rv->norig + 1));
		if (!g)
			return -1;
		rv->orig = g;
		rv->orig[rv->norig++] = t;
		t->link_refs++;
	}
	rv->changed = true;
	return 0;
}

int ath_obj__rel_add(ath_obj *o, const ath_rel *r, ath_obj *t, bool loading, bool back, ath_err *err)
{
	ath_relval *rv = &o->rels[r->idx];
	if (r->lazy == ATH_LAZY_WRITE_ONLY) {
		if (write_only_change(rv, t, true) < 0)
			return ath_err__oom(err);
		return back && r->back && !r->back->uselist ? ath_obj__rel_add(t, r->back, o, loading, false, err) : 0;
	}
	if (ath_relval__has(rv, t))
		return 0;
	if (!loading && rv_snapshot(o, rv) < 0)
		return ath_err__oom(err);
	if (!r->uselist && rv->n) { /* a scalar: replace (the old target's back side follows) */
		ath_obj *old = rv->items[0];
		old->link_refs++;
		rv_remove_at(rv, 0);
		if (back && r->back && old->rels[r->back->idx].loaded)
			ath_obj__rel_remove(old, r->back, o, false, err);
		link_drop(old);
	}
	if (rv_push(rv, t) < 0)
		return ath_err__oom(err);
	rv->loaded = true;
	if (back && r->back) {
		/* the other side follows when it is loaded, or when it is a scalar (setting needs no load) */
		const ath_rel *b = r->back;
		if (t->rels[b->idx].loaded || !b->uselist)
			return ath_obj__rel_add(t, b, o, loading, false, err);
	}
	return 0;
}

int ath_obj__rel_remove(ath_obj *o, const ath_rel *r, ath_obj *t, bool back, ath_err *err)
{
	ath_relval *rv = &o->rels[r->idx];
	if (r->lazy == ATH_LAZY_WRITE_ONLY) {
		if (write_only_change(rv, t, false) < 0)
			return ath_err__oom(err);
		if (back && r->back && !r->back->uselist && t->rels[r->back->idx].n && t->rels[r->back->idx].items[0] == o)
			return ath_obj__rel_remove(t, r->back, o, false, err);
		return 0;
	}
	for (uint32_t i = 0; i < rv->n; i++) {
		if (rv->items[i] != t)
			continue;
		if (rv_snapshot(o, rv) < 0)
			return ath_err__oom(err);
		t->link_refs++;
		rv_remove_at(rv, i);
		int rc = 0;
		if (back && r->back && (t->rels[r->back->idx].loaded || !r->back->uselist))
			rc = ath_obj__rel_remove(t, r->back, o, false, err);
		link_drop(t);
		return rc;
	}
	return 0;
}

int ath_obj__rel_load(ath_obj *o, const ath_rel *r, ath_obj **items, uint32_t n, ath_err *err)
{
	ath_relval *rv = &o->rels[r->idx];
	if (rv->changed)
		return 0; /* local changes win over what the database says (SQLAlchemy keeps pending history) */
	ath_obj__rel_expire(o, r);
	for (uint32_t i = 0; i < n; i++)
		if (!ath_relval__has(rv, items[i]) && rv_push(rv, items[i]) < 0)
			return ath_err__oom(err);
	rv->loaded = true;
	rv->raise = false;
	return 0;
}

void ath_obj__rel_expire(ath_obj *o, const ath_rel *r)
{
	ath_relval *rv = &o->rels[r->idx];
	if (rv->changed)
		return;
	uint32_t n = rv->n;
	ath_obj **items = rv->items;
	rv->items = NULL;
	rv->n = rv->cap = 0;
	rv->loaded = false;
	rv->raise = false;
	for (uint32_t i = 0; i < n; i++)
		link_drop(items[i]);
	ath__free(items);
}

void ath_obj__expire(ath_obj *o, const bool *props, bool rels)
{
	for (uint32_t i = 0; i < o->m->nprops; i++) {
		if (props && !props[i])
			continue;
		ath_val__clear(&o->cur[i]);
		ath_obj__clear_committed(o, i);
		o->modified[i] = 0;
	}
	if (!props)
		o->dirty = false;
	else {
		o->dirty = false;
		for (uint32_t i = 0; i < o->m->nprops; i++)
			if (o->modified[i])
				o->dirty = true;
	}
	if (rels)
		for (uint32_t i = 0; i < o->m->nrels; i++) {
			ath_relval *rv = &o->rels[i];
			if (rv->changed) { /* expiring discards pending changes */
				for (uint32_t j = 0; j < rv->norig; j++)
					link_drop(rv->orig[j]);
				ath__free(rv->orig);
				rv->orig = NULL;
				rv->norig = 0;
				rv->changed = false;
			}
			ath_obj__rel_expire(o, &o->m->rels[i]);
		}
}
