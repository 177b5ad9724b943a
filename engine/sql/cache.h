/* cache.h — the compile cache: shape bytes → compiled statement, bounded LRU, thread-safe.
 * Mirrors SQLAlchemy's compiled_cache (an LRUCache keyed by the statement's cache key); here the
 * key is the shape's bytes themselves, hashed with XXH3. */
#ifndef ATH_SQL_CACHE_H
#define ATH_SQL_CACHE_H

#include <pthread.h>
#include <stdint.h>

#include "sql/compiled.h"

typedef struct ath_cache_entry ath_cache_entry;

typedef struct ath_cache {
	pthread_mutex_t mu;
	uint32_t capacity; /* 0 = caching off */
	uint32_t size;
	ath_cache_entry **buckets;
	uint32_t nbuckets; /* power of two */
	ath_cache_entry *lru_head, *lru_tail; /* head = most recently used */
	uint64_t hits, misses, evictions;
} ath_cache;

int ath_cache__init(ath_cache *c, uint32_t capacity);
void ath_cache__dispose(ath_cache *c);
/* The cached statement for these shape bytes, with a reference for the caller; NULL on a miss. */
ath_compiled *ath_cache__get(ath_cache *c, const void *key, size_t len, uint64_t hash);
/* Insert `cs` (the cache takes its own reference). If another thread cached the same key first,
 * its statement is returned instead (with a reference) and `cs` is left to the caller. */
ath_compiled *ath_cache__put(ath_cache *c, ath_compiled *cs, const void *key, size_t len, uint64_t hash);
void ath_cache__stats(ath_cache *c, uint64_t *hits, uint64_t *misses, uint64_t *evictions, uint32_t *size);

#endif
