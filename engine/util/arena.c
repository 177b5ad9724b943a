/* arena.c — chunked bump allocator. Large requests get a chunk of their own. */
#include "arena.h"

#include <string.h>

#include "alloc.h"

struct ath_arena_chunk {
	ath_arena_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

void ath_arena__init(ath_arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 4096;
}

void *ath_arena__alloc(ath_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	ath_arena_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > a->chunk_size ? n : a->chunk_size;
		ath_arena_chunk *nc = ath__malloc(sizeof *nc + cap);
		if (!nc)
			return NULL;
		nc->used = 0;
		nc->cap = cap;
		if (c && n > a->chunk_size) { /* keep filling the current chunk */
			nc->next = c->next;
			c->next = nc;
		} else {
			nc->next = c;
			a->head = nc;
		}
		c = nc;
	}
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

void *ath_arena__zalloc(ath_arena *a, size_t n)
{
	void *p = ath_arena__alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *ath_arena__strndup(ath_arena *a, const char *s, size_t n)
{
	char *d = ath_arena__alloc(a, n + 1);
	if (d) {
		if (n)
			memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void ath_arena__free(ath_arena *a)
{
	ath_arena_chunk *c = a->head;
	while (c) {
		ath_arena_chunk *n = c->next;
		ath__free(c);
		c = n;
	}
	a->head = NULL;
}
