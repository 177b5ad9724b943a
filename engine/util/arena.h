/* arena.h — bump allocator for trees freed all at once (decoded ASTs, compiled statements). */
#ifndef ATH_UTIL_ARENA_H
#define ATH_UTIL_ARENA_H

#include <stddef.h>

typedef struct ath_arena_chunk ath_arena_chunk;
typedef struct ath_arena {
	ath_arena_chunk *head;
	size_t chunk_size;
} ath_arena;

void ath_arena__init(ath_arena *a, size_t chunk_size);
/* 8-byte aligned; NULL on out-of-memory. */
void *ath_arena__alloc(ath_arena *a, size_t n);
void *ath_arena__zalloc(ath_arena *a, size_t n);
char *ath_arena__strndup(ath_arena *a, const char *s, size_t n);
void ath_arena__free(ath_arena *a);

#endif
