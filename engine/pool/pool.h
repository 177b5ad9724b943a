/* pool.h — the engine's connection pool: idle driver connections kept for reuse, LIFO, bounded
 * by pool_size (SQLAlchemy's QueuePool without overflow limits yet), or one shared connection for
 * a private in-memory SQLite database (SingletonThreadPool / StaticPool). Thread-safe. */
#ifndef ATH_POOL_POOL_H
#define ATH_POOL_POOL_H

#include <pthread.h>
#include <stdint.h>

#include "conn/dconn.h"

typedef struct ath_pool {
	pthread_mutex_t mu;
	const ath_driver_ops *ops;
	ath_connect_cfg cfg;
	uint32_t stmt_cache_size;
	ath_dconn **idle;
	uint32_t nidle, size;
	uint32_t checked_out;
	int shared_mode;     /* memory database: every checkout gets `shared` */
	ath_dconn *shared;
} ath_pool;

int ath_pool__init(ath_pool *p, const ath_driver_ops *ops, const ath_connect_cfg *cfg, uint32_t size,
		   uint32_t stmt_cache_size, int shared_mode);
int ath_pool__checkout(ath_pool *p, ath_dconn **out, ath_err *err);
/* Return a connection; the caller has already ended its transaction. Invalid ones are closed. */
void ath_pool__checkin(ath_pool *p, ath_dconn *dc);
/* Close idle connections (engine dispose). */
void ath_pool__dispose_idle(ath_pool *p);
void ath_pool__destroy(ath_pool *p);
void ath_pool__stats(ath_pool *p, uint32_t *idle, uint32_t *checked_out);

#endif
