/* pool.c — checkout/checkin of driver connections. Mirrors sqlalchemy/pool/impl.py (QueuePool's
 * LIFO reuse; SingletonThreadPool's one connection for :memory:). Overflow, timeouts, recycle and
 * pre-ping come with the servers work. */
#include "pool.h"

#include <string.h>

#include "util/alloc.h"

int ath_pool__init(ath_pool *p, const ath_driver_ops *ops, const ath_connect_cfg *cfg, uint32_t size,
		   uint32_t stmt_cache_size, int shared_mode)
{
	memset(p, 0, sizeof *p);
	p->ops = ops;
	p->cfg = *cfg;
	p->size = size;
	p->stmt_cache_size = stmt_cache_size;
	p->shared_mode = shared_mode;
	if (!(p->idle = ath__calloc(size ? size : 1, sizeof *p->idle)))
		return -1;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		ath__free(p->idle);
		return -1;
	}
	return 0;
}

int ath_pool__checkout(ath_pool *p, ath_dconn **out, ath_err *err)
{
	pthread_mutex_lock(&p->mu);
	if (p->shared_mode && p->shared) {
		p->shared->users++;
		p->checked_out++;
		*out = p->shared;
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	if (!p->shared_mode && p->nidle) {
		*out = p->idle[--p->nidle];
		(*out)->users = 1;
		p->checked_out++;
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	/* Connect with the lock held only in shared mode, where a second connection would be a
	 * second, different memory database. */
	if (!p->shared_mode)
		pthread_mutex_unlock(&p->mu);
	ath_dconn *dc;
	int rc = ath_dconn__open(&dc, p->ops, &p->cfg, p->stmt_cache_size, err);
	if (!p->shared_mode)
		pthread_mutex_lock(&p->mu);
	if (rc == 0) {
		dc->users = 1;
		p->checked_out++;
		if (p->shared_mode)
			p->shared = dc;
		*out = dc;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void ath_pool__checkin(ath_pool *p, ath_dconn *dc)
{
	pthread_mutex_lock(&p->mu);
	p->checked_out--;
	if (p->shared_mode && dc == p->shared) {
		dc->users--;
		if (!dc->invalid) {
			pthread_mutex_unlock(&p->mu);
			return;
		}
		if (dc->users > 0) { /* others still hold it; it is closed when the last lets go */
			pthread_mutex_unlock(&p->mu);
			return;
		}
		p->shared = NULL;
	} else if (!dc->invalid && p->nidle < p->size) {
		dc->users = 0;
		p->idle[p->nidle++] = dc;
		pthread_mutex_unlock(&p->mu);
		return;
	}
	pthread_mutex_unlock(&p->mu);
	ath_dconn__close(dc);
}

void ath_pool__dispose_idle(ath_pool *p)
{
	pthread_mutex_lock(&p->mu);
	uint32_t n = p->nidle;
	ath_dconn *idle[64];
	while (n) {
		uint32_t k = n > 64 ? 64 : n;
		for (uint32_t i = 0; i < k; i++) {
			idle[i] = p->idle[--p->nidle];
		}
		pthread_mutex_unlock(&p->mu);
		for (uint32_t i = 0; i < k; i++)
			ath_dconn__close(idle[i]);
		pthread_mutex_lock(&p->mu);
		n = p->nidle;
	}
	if (p->shared && p->shared->users == 0) {
		ath_dconn *dc = p->shared;
		p->shared = NULL;
		pthread_mutex_unlock(&p->mu);
		ath_dconn__close(dc);
		return;
	}
	pthread_mutex_unlock(&p->mu);
}

void ath_pool__destroy(ath_pool *p)
{
	ath_pool__dispose_idle(p);
	ath__free(p->idle);
	pthread_mutex_destroy(&p->mu);
}

void ath_pool__stats(ath_pool *p, uint32_t *idle, uint32_t *checked_out)
{
	pthread_mutex_lock(&p->mu);
	*idle = p->nidle + (p->shared && p->shared->users == 0);
	*checked_out = p->checked_out;
	pthread_mutex_unlock(&p->mu);
}
