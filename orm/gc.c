/* gc.c — the cycle collector. Objects keep what their loaded relationships hold alive, and a
 * back_populates pair holds both ways (user.addresses and address.user), so objects the caller
 * has let go of can keep each other alive. An object that nothing holds but other objects
 * becomes a *suspect*; when enough have gathered (and in full when the caller frees the registry
 * or closes a session) a trial deletion runs over the suspects and everything they reach: an
 * object held by the caller, needed by its session, or referred to from outside the set is a
 * root; whatever the roots cannot reach is garbage, its relationships are cut and it is freed
 * (CPython's gc, without generations). The registry's lock guards the suspect list, so objects
 * of sessions on different threads may be collected safely. */
#include "orm/orm.h"

#include "util/alloc.h"

#define GC_MIN_THRESHOLD 256

static void list_remove(ath_registry *reg, ath_obj *o)
{
	if (o->gc_prev)
		o->gc_prev->gc_next = o->gc_next;
	else
		reg->suspects = o->gc_next;
	if (o->gc_next)
		o->gc_next->gc_prev = o->gc_prev;
	o->gc_prev = o->gc_next = NULL;
	o->suspect = false;
	reg->nsuspects--;
}

void ath_gc__forget(ath_obj *o)
{
	if (!o->suspect)
		return;
	ath_registry *reg = o->reg;
	pthread_mutex_lock(&reg->gc_lock);
	if (o->suspect)
		list_remove(reg, o);
	pthread_mutex_unlock(&reg->gc_lock);
}

void ath_gc__suspect(ath_obj *o)
{
	ath_registry *reg = o->reg;
	bool run;
	pthread_mutex_lock(&reg->gc_lock);
	if (!o->suspect) {
		o->suspect = true;
		o->gc_prev = NULL;
		o->gc_next = reg->suspects;
		if (reg->suspects)
			reg->suspects->gc_prev = o;
		reg->suspects = o;
		reg->nsuspects++;
	}
	if (!reg->gc_threshold)
		reg->gc_threshold = GC_MIN_THRESHOLD;
	run = reg->nsuspects >= reg->gc_threshold && !reg->collecting;
	pthread_mutex_unlock(&reg->gc_lock);
	if (run)
		ath_gc__collect(reg);
}

static int each_link(ath_obj *x, ath_objvec *set, uint32_t mark, bool add)
{
	for (uint32_t r = 0; r < x->m->nrels; r++) {
		ath_relval *rv = &x->rels[r];
		for (uint32_t j = 0; j < rv->n + rv->norig; j++) {
			ath_obj *t = j < rv->n ? rv->items[j] : rv->orig[j - rv->n];
			if (add) {
				if (t->gc_mark == mark)
					continue;
				t->gc_mark = mark;
				t->gc_index = (uint32_t)set->n;
				if (ath_objvec__push(set, t) < 0)
					return -1;
			}
		}
	}
	return 0;
}

void ath_gc__collect(ath_registry *reg)
{
	pthread_mutex_lock(&reg->gc_lock);
	if (reg->collecting || !reg->suspects) {
		pthread_mutex_unlock(&reg->gc_lock);
		return;
	}
	ath_registry__incref(reg); /* freeing the garbage may drop the last other reference */
	reg->collecting = true;
	uint32_t mark = ++reg->gc_epoch;
	if (!mark) /* 0 is never a mark */
		mark = ++reg->gc_epoch;
	/* the set: the suspects and everything they reach */
	ath_objvec set = { 0 };
	bool ok = true;
	for (ath_obj *o = reg->suspects; o && ok; o = o->gc_next) {
		o->gc_mark = mark;
		o->gc_index = (uint32_t)set.n;
		ok = ath_objvec__push(&set, o) == 0;
	}
	for (size_t i = 0; i < set.n && ok; i++)
		ok = each_link(set.v[i], &set, mark, true) == 0;
	uint32_t *internal = ok ? ath__calloc(set.n ? set.n : 1, sizeof *internal) : NULL;
	ath_objvec garbage = { 0 };
	if (internal) {
		/* link references from inside the set; more than those means a holder outside it */
		for (size_t i = 0; i < set.n; i++) {
			ath_obj *x = set.v[i];
			for (uint32_t r = 0; r < x->m->nrels; r++) {
				ath_relval *rv = &x->rels[r];
				for (uint32_t j = 0; j < rv->n + rv->norig; j++)
					internal[(j < rv->n ? rv->items[j] : rv->orig[j - rv->n])->gc_index]++;
			}
		}
		/* roots, then everything they reach is alive (mark + 1) */
		uint32_t alive = ++reg->gc_epoch;
		ath_objvec stack = { 0 };
		for (size_t i = 0; i < set.n && ok; i++) {
			ath_obj *x = set.v[i];
			if (x->host_refs > 0 || ath_obj__needs_session(x) || (int)internal[i] < x->link_refs) {
				x->gc_mark = alive;
				ok = ath_objvec__push(&stack, x) == 0;
			}
		}
		while (stack.n && ok) {
			ath_obj *x = stack.v[--stack.n];
			for (uint32_t r = 0; r < x->m->nrels && ok; r++) {
				ath_relval *rv = &x->rels[r];
				for (uint32_t j = 0; j < rv->n + rv->norig && ok; j++) {
					ath_obj *t = j < rv->n ? rv->items[j] : rv->orig[j - rv->n];
					if (t->gc_mark == mark) { /* in the set, not yet alive */
						t->gc_mark = alive;
						ok = ath_objvec__push(&stack, t) == 0;
					}
				}
			}
		}
		ath__free(stack.v);
		for (size_t i = 0; i < set.n && ok; i++)
			if (set.v[i]->gc_mark != alive)
				ok = ath_objvec__push(&garbage, set.v[i]) == 0;
		if (!ok)
			garbage.n = 0;
	}
	/* the survivors are held by something: no longer suspects until let go again (out of
	 * memory, nothing was decided: they stay suspects for the next collection) */
	while (ok && internal && reg->suspects)
		list_remove(reg, reg->suspects);
	reg->gc_threshold = set.n - garbage.n > GC_MIN_THRESHOLD / 2 ? 2 * (set.n - garbage.n) : GC_MIN_THRESHOLD;
	pthread_mutex_unlock(&reg->gc_lock);
	/* free the garbage: hold each, cut every relationship, then let go */
	for (size_t i = 0; i < garbage.n; i++)
		garbage.v[i]->host_refs++;
	for (size_t i = 0; i < garbage.n; i++)
		ath_obj__expire(garbage.v[i], NULL, true);
	for (size_t i = 0; i < garbage.n; i++) {
		ath_obj *x = garbage.v[i];
		x->host_refs--;
		ath_obj__maybe_release(x);
	}
	ath__free(internal);
	ath__free(set.v);
	ath__free(garbage.v);
	pthread_mutex_lock(&reg->gc_lock);
	reg->collecting = false;
	pthread_mutex_unlock(&reg->gc_lock);
	ath_registry__decref(reg);
}
