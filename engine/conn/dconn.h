/* dconn.h — a driver connection (SQLAlchemy's "DBAPI connection" inside a _ConnectionRecord):
 * the native handle plus its prepared-statement cache. Lives in the pool between checkouts, so
 * prepared statements survive connect/close cycles. Used by one thread at a time. */
#ifndef ATH_CONN_DCONN_H
#define ATH_CONN_DCONN_H

#include <stdatomic.h>
#include <stdint.h>

#include "dialects/dialect.h"

#define ATH_COLTYPE_TZ 0x40

/* A statement's result columns: names and the driver's types, read once per prepared statement
 * instead of at every execute. Shared by the statement's slot and the results reading it, so a
 * result keeps its names when the slot is evicted or its connection closed; the last reference
 * frees it. Its count is not atomic, as `pins` is not: the driver connection and the results of
 * the ath_conn using it are used by one thread at a time. One allocation: this header, the name
 * pointers, the types, then the names. */
typedef struct ath_colinfo {
	int refs;
	uint64_t version;    /* the driver's columns_version() when read */
	size_t n;
	char **names;
	signed char *types;  /* per column ATH_T_* (| ATH_COLTYPE_TZ), -1 unknown; NULL without column_type */
} ath_colinfo;

void ath_colinfo__decref(ath_colinfo *ci);

typedef struct ath_stmt_slot {
	uint64_t hash;
	char *sql;
	size_t len;
	void *stmt;
	uint64_t used_at; /* LRU tick */
	int in_use;       /* an open result is reading rows from it */
	ath_colinfo *cols; /* the columns as last read (a reference), or NULL */
} ath_stmt_slot;

typedef struct ath_dconn {
	const ath_driver_ops *ops;
	void *native;
	ath_stmt_slot *slots;
	uint32_t nslots, capacity;
	uint64_t tick;
	int invalid;           /* a disconnect was seen: do not return to the pool */
	int users;             /* ath_conn objects using it (more than one only for a shared memory database) */
	double created_at;     /* monotonic seconds, for pool_recycle */
	uint64_t generation;   /* the pool's generation when it was opened */
	int pins;              /* statements handed out and not yet released */
	int orphaned;          /* the pool let go of it while pinned: the last release closes it */
} ath_dconn;

/* A statement the caller may execute: a cached slot, or a private one when the slot is busy. */
typedef struct ath_stmt_ref {
	void *stmt;
	ath_stmt_slot *slot; /* NULL: private, finalize after use */
} ath_stmt_ref;

int ath_dconn__open(ath_dconn **out, const ath_driver_ops *ops, const ath_connect_cfg *cfg, uint32_t capacity,
		    ath_err *err);
void ath_dconn__close(ath_dconn *dc);
/* Find or prepare the statement for `sql`; marks it in use. *cache_hit tells which. */
int ath_dconn__statement(ath_stmt_ref *out, ath_dconn *dc, const char *sql, size_t len, uint64_t hash, int *cache_hit,
			 ath_err *err);
/* The result columns of the executed statement `ref` (a new reference in *out): the slot's copy
 * while the driver says the columns have not changed since, else read again (and kept in the
 * slot). ATH_ENOMEM when there is no memory for them. */
int ath_dconn__columns(ath_colinfo **out, ath_dconn *dc, ath_stmt_ref *ref, ath_err *err);
/* Done with a statement: reset it (and finalize a private one); closes an orphaned connection
 * when this was its last statement. */
void ath_dconn__release(ath_dconn *dc, ath_stmt_ref *ref);

#endif
