/* dconn.c — driver connections and their prepared-statement LRU cache (the per-connection half
 * of "compile once, prepare once"). Keyed by the final SQL text's hash plus the text itself. */
#include "dconn.h"

#include <string.h>

#include "util/alloc.h"

int ath_dconn__open(ath_dconn **out, const ath_driver_ops *ops, const ath_connect_cfg *cfg, uint32_t capacity,
		    ath_err *err)
{
	ath_dconn *dc = ath__calloc(1, sizeof *dc);
	if (!dc)
		return ath_err__oom(err);
	dc->ops = ops;
	dc->capacity = capacity;
	if (capacity && !(dc->slots = ath__calloc(capacity, sizeof *dc->slots))) {
		ath__free(dc);
		return ath_err__oom(err);
	}
	int rc = ops->connect(&dc->native, cfg, err);
	if (rc) {
		ath__free(dc->slots);
		ath__free(dc);
		return rc;
	}
	*out = dc;
	return 0;
}

void ath_dconn__close(ath_dconn *dc)
{
	if (!dc)
		return;
	/* close first: the drivers let statements outlive their connection (sqlite3_close_v2 waits
	 * for them; libpq and Connector/C statements then skip their server round trip) */
	dc->ops->close(dc->native);
	for (uint32_t i = 0; i < dc->nslots; i++) {
		dc->ops->finalize(dc->slots[i].stmt);
		ath__free(dc->slots[i].sql);
	}
	ath__free(dc->slots);
	ath__free(dc);
}

int ath_dconn__statement(ath_stmt_ref *out, ath_dconn *dc, const char *sql, size_t len, uint64_t hash, int *cache_hit,
			 ath_err *err)
{
	ath_stmt_slot *free_slot = NULL, *oldest = NULL;
	*cache_hit = 0;
	for (uint32_t i = 0; i < dc->nslots; i++) {
		ath_stmt_slot *s = &dc->slots[i];
		if (s->hash == hash && s->len == len && memcmp(s->sql, sql, len) == 0) {
			if (s->in_use)
				break; /* busy under an open result: use a private statement */
			s->in_use = 1;
			s->used_at = ++dc->tick;
			*cache_hit = 1;
			dc->pins++;
			*out = (ath_stmt_ref){ s->stmt, s };
			return 0;
		}
		if (!s->in_use && (!oldest || s->used_at < oldest->used_at))
			oldest = s;
	}
	void *stmt;
	int rc = dc->ops->prepare(&stmt, dc->native, sql, len, err);
	if (rc)
		return rc;
	if (dc->nslots < dc->capacity)
		free_slot = &dc->slots[dc->nslots];
	else if (oldest) {
		dc->ops->finalize(oldest->stmt);
		ath__free(oldest->sql);
		memset(oldest, 0, sizeof *oldest);
		free_slot = oldest;
	}
	char *copy = free_slot ? ath__strndup(sql, len) : NULL;
	dc->pins++;
	if (!free_slot || !copy) { /* cache full of busy statements, or no memory: run it privately */
		*out = (ath_stmt_ref){ stmt, NULL };
		return 0;
	}
	if (free_slot == &dc->slots[dc->nslots])
		dc->nslots++;
	*free_slot = (ath_stmt_slot){ hash, copy, len, stmt, ++dc->tick, 1 };
	*out = (ath_stmt_ref){ stmt, free_slot };
	return 0;
}

void ath_dconn__release(ath_dconn *dc, ath_stmt_ref *ref)
{
	if (!ref->stmt)
		return;
	dc->ops->reset(ref->stmt);
	if (ref->slot)
		ref->slot->in_use = 0;
	else
		dc->ops->finalize(ref->stmt);
	ref->stmt = NULL;
	ref->slot = NULL;
	if (--dc->pins == 0 && dc->orphaned)
		ath_dconn__close(dc);
}
