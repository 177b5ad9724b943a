/* identity.c — the session's two object sets: by object id (resolving ext 1 references) and by
 * identity key (mapper + primary key bytes: SQLAlchemy's identity map). Open addressing with
 * tombstones; the table grows at 70% load. */
#include "orm/orm.h"

#include <string.h>

#include "util/alloc.h"

#define TOMB ((ath_obj *)1)

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* keyed by the hierarchy's base: an Engineer is found as an Employee too */
uint64_t ath_objset__key_hash(const ath_mapper *m, const void *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ m->root->idx;
	const unsigned char *p = key;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return mix(h);
}

static uint64_t obj_hash(const ath_objset *s, const ath_obj *o)
{
	return s->by_key ? o->key_hash : mix(o->id); /* the key's hash is kept with it */
}

static int grow(ath_objset *s)
{
	uint32_t cap = s->cap ? s->cap * 2 : 64;
	while ((uint64_t)(s->n + 1) * 10 >= (uint64_t)cap * 7)
		cap *= 2;
	ath_obj **slots = ath__calloc(cap, sizeof *slots);
	if (!slots)
		return -1;
	for (uint32_t i = 0; i < s->cap; i++) {
		ath_obj *o = s->slots[i];
		if (!o || o == TOMB)
			continue;
		uint64_t h = obj_hash(s, o);
		uint32_t j = (uint32_t)h & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = o;
	}
	ath__free(s->slots);
	s->slots = slots;
	s->cap = cap;
	s->tomb = 0;
	return 0;
}

int ath_objset__reserve(ath_objset *s, size_t more)
{
	uint64_t want = (uint64_t)s->n + s->tomb + more;
	if (want > UINT32_MAX / 4)
		return -1;
	if (want * 10 < (uint64_t)s->cap * 7)
		return 0;
	uint32_t n = s->n;
	s->n = (uint32_t)want; /* grow() sizes the table for n + 1 */
	int rc = grow(s);
	s->n = n;
	return rc;
}

int ath_objset__put(ath_objset *s, ath_obj *o)
{
	if ((uint64_t)(s->n + s->tomb + 1) * 10 >= (uint64_t)s->cap * 7 && grow(s) < 0)
		return -1;
	uint32_t j = (uint32_t)obj_hash(s, o) & (s->cap - 1);
	while (s->slots[j] && s->slots[j] != TOMB)
		j = (j + 1) & (s->cap - 1);
	if (s->slots[j] == TOMB)
		s->tomb--;
	s->slots[j] = o;
	s->n++;
	return 0;
}

ath_obj *ath_objset__put_key(ath_objset *s, ath_obj *o)
{
	uint32_t slot = UINT32_MAX;
	if (s->cap) {
		uint32_t j = (uint32_t)o->key_hash & (s->cap - 1);
		for (; s->slots[j]; j = (j + 1) & (s->cap - 1)) {
			ath_obj *x = s->slots[j];
			if (x == TOMB) {
				if (slot == UINT32_MAX)
					slot = j; /* the first free slot, used once the key is known to be absent */
			} else if (x->key_hash == o->key_hash && x->m->root == o->m->root && x->key.len == o->key.len &&
				   memcmp(x->key.p, o->key.p, o->key.len) == 0)
				return x;
		}
		if (slot == UINT32_MAX)
			slot = j;
	}
	if ((uint64_t)(s->n + s->tomb + 1) * 10 >= (uint64_t)s->cap * 7) /* absent: the general put grows first */
		return ath_objset__put(s, o) < 0 ? NULL : o;
	if (s->slots[slot] == TOMB)
		s->tomb--;
	s->slots[slot] = o;
	s->n++;
	return o;
}

void ath_objset__del(ath_objset *s, ath_obj *o)
{
	if (!s->n) /* emptied at once (close, commit): no probe into the cold table per object */
		return;
	uint32_t j = (uint32_t)obj_hash(s, o) & (s->cap - 1);
	while (s->slots[j]) {
		if (s->slots[j] == o) {
			s->slots[j] = TOMB;
			s->n--;
			s->tomb++;
			return;
		}
		j = (j + 1) & (s->cap - 1);
	}
}

ath_obj *ath_objset__by_id(const ath_objset *s, uint64_t id)
{
	if (!s->cap)
		return NULL;
	uint32_t j = (uint32_t)mix(id) & (s->cap - 1);
	while (s->slots[j]) {
		if (s->slots[j] != TOMB && s->slots[j]->id == id)
			return s->slots[j];
		j = (j + 1) & (s->cap - 1);
	}
	return NULL;
}

ath_obj *ath_objset__by_key(const ath_objset *s, const ath_mapper *m, const void *key, size_t len)
{
	return s->cap ? ath_objset__by_key_h(s, m, key, len, ath_objset__key_hash(m, key, len)) : NULL;
}

ath_obj *ath_objset__by_key_h(const ath_objset *s, const ath_mapper *m, const void *key, size_t len, uint64_t hash)
{
	if (!s->cap)
		return NULL;
	uint32_t j = (uint32_t)hash & (s->cap - 1);
	while (s->slots[j]) {
		ath_obj *o = s->slots[j];
		if (o != TOMB && o->key_hash == hash && o->m->root == m->root && o->key.len == len &&
		    memcmp(o->key.p, key, len) == 0)
			return o;
		j = (j + 1) & (s->cap - 1);
	}
	return NULL;
}

void ath_objset__clear(ath_objset *s)
{
	if (s->cap)
		memset(s->slots, 0, sizeof *s->slots * s->cap);
	s->n = s->tomb = 0;
}

void ath_objset__free(ath_objset *s)
{
	ath__free(s->slots);
	memset(s, 0, sizeof *s);
}

ath_obj *ath_objset__lookup(const ath_objset *s, const ath_mapper *m, const ath_val *const *vals)
{
	size_t len = 5;
	for (uint32_t i = 0; i < m->npk; i++) {
		if (!vals[i]->p || ath_val__is_nil(vals[i]))
			return NULL;
		len += vals[i]->len;
	}
	unsigned char stack[256], *k = len <= sizeof stack ? stack : ath__malloc(len);
	if (!k)
		return NULL;
	k[0] = 0xdd; /* as ath_obj__make_key() spells it */
	k[1] = k[2] = k[3] = 0;
	k[4] = (unsigned char)m->npk;
	size_t off = 5;
	for (uint32_t i = 0; i < m->npk; i++) {
		memcpy(k + off, vals[i]->p, vals[i]->len);
		off += vals[i]->len;
	}
	ath_obj *o = ath_objset__by_key(s, m, k, len);
	if (k != stack)
		ath__free(k);
	return o;
}
