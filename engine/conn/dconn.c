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
		ath_colinfo__decref(dc->slots[i].cols);
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
		ath_colinfo__decref(oldest->cols);
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
	*free_slot = (ath_stmt_slot){ hash, copy, len, stmt, ++dc->tick, 1, NULL };
	*out = (ath_stmt_ref){ stmt, free_slot };
	return 0;
}

void ath_colinfo__decref(ath_colinfo *ci)
{
	if (ci && --ci->refs == 0)
		ath__free(ci);
}

/* Read the columns of the executed `stmt` into one new block (one reference). */
static int read_columns(ath_colinfo **out, ath_dconn *dc, void *stmt, ath_err *err)
{
	const ath_driver_ops *ops = dc->ops;
	size_t n = ops->column_count(stmt), bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name = ops->column_name(stmt, i);
		bytes += strlen(name ? name : "") + 1;
	}
	size_t ntypes = ops->column_type ? n : 0;
	ath_colinfo *ci = ath__malloc(sizeof *ci + n * sizeof(char *) + ntypes + bytes);
	if (!ci)
		return ath_err__oom(err);
	ci->refs = 1;
	ci->version = ops->columns_version ? ops->columns_version(stmt) : 0;
	ci->n = n;
	ci->names = (char **)(ci + 1);
	ci->types = ops->column_type ? (signed char *)(ci->names + n) : NULL;
	char *p = (char *)(ci->names + n) + ntypes;
	for (size_t i = 0; i < n; i++) {
		const char *name = ops->column_name(stmt, i);
		size_t len = strlen(name ? name : "") + 1;
		memcpy(p, name ? name : "", len);
		ci->names[i] = p;
		p += len;
	}
	for (size_t i = 0; i < ntypes; i++) {
		int tz = 0, kind = ops->column_type(stmt, i, &tz);
		ci->types[i] = (signed char)(kind < 0 ? -1 : kind | (tz ? ATH_COLTYPE_TZ : 0));
	}
	*out = ci;
	return 0;
}

int ath_dconn__columns(ath_colinfo **out, ath_dconn *dc, ath_stmt_ref *ref, ath_err *err)
{
	ath_stmt_slot *s = ref->slot;
	/* columns_version changes when the statement was prepared again (a schema change), which may
	 * change its columns; without it the columns are read after every execute */
	if (s && s->cols && dc->ops->columns_version && s->cols->version == dc->ops->columns_version(ref->stmt)) {
		s->cols->refs++;
		*out = s->cols;
		return 0;
	}
	int rc = read_columns(out, dc, ref->stmt, err);
	if (rc || !s || !dc->ops->columns_version)
		return rc;
	ath_colinfo__decref(s->cols);
	(*out)->refs++;
	s->cols = *out;
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
