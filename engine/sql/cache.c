/* cache.c — hash table plus LRU list for compiled statements. The key bytes are copied into the
 * entry; statements are reference counted, so an evicted one lives on while in use. */
#include "cache.h"

#include <string.h>

#include "util/alloc.h"

struct ath_cache_entry {
	ath_cache_entry *hnext;
	ath_cache_entry *prev, *next;
	uint64_t hash;
	ath_compiled *cs;
	size_t len;
	unsigned char key[];
};

int ath_cache__init(ath_cache *c, uint32_t capacity)
{
	memset(c, 0, sizeof *c);
	c->capacity = capacity;
	if (pthread_mutex_init(&c->mu, NULL) != 0)
		return -1;
	if (!capacity)
		return 0;
	uint32_t nb = 16;
	while (nb < capacity * 2 && nb < (1u << 24))
		nb *= 2;
	c->buckets = ath__calloc(nb, sizeof *c->buckets);
	if (!c->buckets) {
		pthread_mutex_destroy(&c->mu);
		return -1;
	}
	c->nbuckets = nb;
	return 0;
}

static void lru_unlink(ath_cache *c, ath_cache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->lru_tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(ath_cache *c, ath_cache_entry *e)
{
	e->prev = NULL;
	e->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
}

static ath_cache_entry *find(ath_cache *c, const void *key, size_t len, uint64_t hash)
{
	for (ath_cache_entry *e = c->buckets[hash & (c->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

ath_compiled *ath_cache__get(ath_cache *c, const void *key, size_t len, uint64_t hash)
{
	if (!c->capacity)
		return NULL;
	pthread_mutex_lock(&c->mu);
	ath_cache_entry *e = find(c, key, len, hash);
	ath_compiled *cs = NULL;
	if (e) {
		c->hits++;
		lru_unlink(c, e);
		lru_push_front(c, e);
		cs = e->cs;
		ath_compiled__incref(cs);
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->mu);
	return cs;
}

static void remove_entry(ath_cache *c, ath_cache_entry *e)
{
	ath_cache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->size--;
}

ath_compiled *ath_cache__put(ath_cache *c, ath_compiled *cs, const void *key, size_t len, uint64_t hash)
{
	if (!c->capacity)
		return NULL;
	ath_cache_entry *fresh = ath__malloc(sizeof *fresh + len);
	if (!fresh)
		return NULL; /* not caching is always correct */
	pthread_mutex_lock(&c->mu);
	ath_cache_entry *e = find(c, key, len, hash);
	if (e) {
		ath_compiled *other = e->cs;
		ath_compiled__incref(other);
		pthread_mutex_unlock(&c->mu);
		ath__free(fresh);
		return other;
	}
	while (c->size >= c->capacity && c->lru_tail) {
		ath_cache_entry *victim = c->lru_tail;
		remove_entry(c, victim);
		c->evictions++;
		ath_compiled__decref(victim->cs);
		ath__free(victim);
	}
	fresh->hash = hash;
	fresh->len = len;
	memcpy(fresh->key, key, len);
	fresh->cs = cs;
	ath_compiled__incref(cs);
	uint32_t b = hash & (c->nbuckets - 1);
	fresh->hnext = c->buckets[b];
	c->buckets[b] = fresh;
	lru_push_front(c, fresh);
	c->size++;
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

void ath_cache__stats(ath_cache *c, uint64_t *hits, uint64_t *misses, uint64_t *evictions, uint32_t *size)
{
	pthread_mutex_lock(&c->mu);
	*hits = c->hits;
	*misses = c->misses;
	*evictions = c->evictions;
	*size = c->size;
	pthread_mutex_unlock(&c->mu);
}

void ath_cache__dispose(ath_cache *c)
{
	ath_cache_entry *e = c->lru_head;
	while (e) {
		ath_cache_entry *next = e->next;
		ath_compiled__decref(e->cs);
		ath__free(e);
		e = next;
	}
	ath__free(c->buckets);
	pthread_mutex_destroy(&c->mu);
	memset(c, 0, sizeof *c);
}
