/* pool.h — the engine's connection pool, thread-safe: QueuePool (pool_size idle connections kept,
 * max_overflow more opened on demand, checkouts beyond that wait pool_timeout then fail with
 * TimeoutError; recycle, pre-ping, LIFO/FIFO), NullPool, StaticPool (one connection for all, also
 * used for a private in-memory SQLite database) and SingletonThreadPool (one per thread). A
 * disconnect invalidates the pool: connections opened before it are replaced, as SQLAlchemy's
 * Pool._invalidate(). Mirrors sqlalchemy/pool/impl.py and pool/base.py. */
#ifndef ATH_POOL_POOL_H
#define ATH_POOL_POOL_H

#include <pthread.h>
#include <stdint.h>

#include "conn/dconn.h"

typedef struct ath_pool_opts {
	int klass;              /* ath_pool_class, resolved (never ATH_POOL_DEFAULT) */
	uint32_t size;
	int32_t max_overflow;   /* -1 = unlimited */
	uint32_t timeout_ms;
	uint32_t recycle_s;     /* 0 = never */
	int lifo, pre_ping;
	uint32_t stmt_cache_size;
} ath_pool_opts;

typedef struct ath_pool_thread {
	pthread_t tid;
	ath_dconn *dc;
} ath_pool_thread;

typedef struct ath_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const ath_driver_ops *ops;
	ath_connect_cfg cfg;
	ath_pool_opts o;
	ath_dconn **idle;       /* ring buffer: FIFO takes from head, LIFO from tail */
	uint32_t idle_head, nidle, idle_cap;
	uint32_t open;          /* connections open or being opened, idle or not */
	uint32_t checked_out;
	uint64_t generation;    /* bumped by invalidation; older connections are replaced */
	uint64_t invalidations;
	ath_dconn *shared;      /* StaticPool */
	ath_pool_thread *threads; /* SingletonThreadPool */
	uint32_t nthreads, threads_cap;
} ath_pool;

int ath_pool__init(ath_pool *p, const ath_driver_ops *ops, const ath_connect_cfg *cfg, const ath_pool_opts *o);
int ath_pool__checkout(ath_pool *p, ath_dconn **out, ath_err *err);
/* Return a connection; the caller has already ended its transaction (reset on return). Invalid
 * ones are closed (or, while a result still reads from them, when that result lets go). */
void ath_pool__checkin(ath_pool *p, ath_dconn *dc);
/* A disconnect was seen on `dc`: mark it invalid and replace every connection opened before now. */
void ath_pool__invalidate(ath_pool *p, ath_dconn *dc);
/* Close idle connections (engine dispose). */
void ath_pool__dispose_idle(ath_pool *p);
void ath_pool__destroy(ath_pool *p);
typedef struct ath_pool_status {
	uint32_t size, idle, checked_out;
	int64_t overflow;
	uint64_t invalidations;
} ath_pool_status;
void ath_pool__status(ath_pool *p, ath_pool_status *st);

#endif
