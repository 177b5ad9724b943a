/* pool.c — checkout/checkin of driver connections under one mutex and condition variable.
 * Mirrors sqlalchemy/pool/impl.py (QueuePool, NullPool, StaticPool, SingletonThreadPool) and
 * pool/base.py (_ConnectionRecord: recycle, invalidation, pre-ping). Connecting and closing happen
 * outside the lock, except for StaticPool's first connect (a second one would be a second,
 * different in-memory database). Reset-on-return (rollback) is done by the caller. */
#include "pool.h"

#include <string.h>
#include <time.h>

#include "athanor/athanor.h"
#include "util/alloc.h"

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int ath_pool__init(ath_pool *p, const ath_driver_ops *ops, const ath_connect_cfg *cfg, const ath_pool_opts *o)
{
	memset(p, 0, sizeof *p);
	p->ops = ops;
	p->cfg = *cfg;
	p->o = *o;
	p->idle_cap = o->size ? o->size : 1;
	if (!(p->idle = ath__calloc(p->idle_cap, sizeof *p->idle)))
		return -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int bad = pthread_mutex_init(&p->mu, NULL) != 0;
	if (!bad && pthread_cond_init(&p->cv, &ca) != 0) {
		pthread_mutex_destroy(&p->mu);
		bad = 1;
	}
	pthread_condattr_destroy(&ca);
	if (bad) {
		ath__free(p->idle);
		return -1;
	}
	return 0;
}

static int open_dconn(ath_pool *p, ath_dconn **out, uint64_t gen, ath_err *err)
{
	int rc = ath_dconn__open(out, p->ops, &p->cfg, p->o.stmt_cache_size, err);
	if (rc == 0) {
		(*out)->created_at = now_seconds();
		(*out)->generation = gen;
	}
	return rc;
}

static ath_dconn *take_idle(ath_pool *p)
{
	ath_dconn *dc;
	if (p->o.lifo) {
		dc = p->idle[(p->idle_head + p->nidle - 1) % p->idle_cap];
	} else {
		dc = p->idle[p->idle_head];
		p->idle_head = (p->idle_head + 1) % p->idle_cap;
	}
	p->nidle--;
	return dc;
}

/* A connection that must not be reused: too old, from before an invalidation, or (pre-ping) dead. */
static int stale(ath_pool *p, ath_dconn *dc)
{
	if (dc->generation < p->generation)
		return 1;
	return p->o.recycle_s && now_seconds() - dc->created_at > p->o.recycle_s;
}

static int checkout_static(ath_pool *p, ath_dconn **out, ath_err *err)
{
	int rc = 0;
	pthread_mutex_lock(&p->mu);
	if (!p->shared) {
		rc = open_dconn(p, &p->shared, p->generation, err);
		if (rc == 0)
			p->open++;
	}
	if (rc == 0) {
		p->shared->users++;
		p->checked_out++;
		*out = p->shared;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int checkout_thread(ath_pool *p, ath_dconn **out, ath_err *err)
{
	pthread_t me = pthread_self();
	pthread_mutex_lock(&p->mu);
	for (uint32_t i = 0; i < p->nthreads; i++) {
		if (pthread_equal(p->threads[i].tid, me)) {
			*out = p->threads[i].dc;
			(*out)->users++;
			p->checked_out++;
			pthread_mutex_unlock(&p->mu);
			return 0;
		}
	}
	if (p->nthreads == p->threads_cap) {
		uint32_t cap = p->threads_cap ? p->threads_cap * 2 : 8;
		ath_pool_thread *t = ath__realloc(p->threads, cap * sizeof *t);
		if (!t) {
			pthread_mutex_unlock(&p->mu);
			return ath_err__oom(err);
		}
		p->threads = t;
		p->threads_cap = cap;
	}
	uint64_t gen = p->generation;
	pthread_mutex_unlock(&p->mu);
	ath_dconn *dc;
	int rc = open_dconn(p, &dc, gen, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&p->mu);
	dc->users = 1;
	p->threads[p->nthreads++] = (ath_pool_thread){ me, dc };
	p->open++;
	p->checked_out++;
	pthread_mutex_unlock(&p->mu);
	*out = dc;
	return 0;
}

int ath_pool__checkout(ath_pool *p, ath_dconn **out, ath_err *err)
{
	if (p->o.klass == ATH_POOL_STATIC)
		return checkout_static(p, out, err);
	if (p->o.klass == ATH_POOL_SINGLETON_THREAD)
		return checkout_thread(p, out, err);
	double deadline = now_seconds() + p->o.timeout_ms / 1000.0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->nidle) {
			ath_dconn *dc = take_idle(p);
			if (stale(p, dc)) {
				p->open--;
				pthread_mutex_unlock(&p->mu);
				ath_dconn__close(dc);
				pthread_mutex_lock(&p->mu);
				continue;
			}
			p->checked_out++;
			pthread_mutex_unlock(&p->mu);
			ath_err perr = { 0 };
			if (p->o.pre_ping && p->ops->ping && p->ops->ping(dc->native, &perr) != 0) {
				/* dead: everything opened before now is suspect (SQLAlchemy invalidates the pool too) */
				ath_err__clear(&perr);
				ath_pool__invalidate(p, dc);
				ath_pool__checkin(p, dc);
				pthread_mutex_lock(&p->mu);
				continue;
			}
			dc->users = 1;
			*out = dc;
			return 0;
		}
		int unlimited = p->o.klass == ATH_POOL_NULL || p->o.max_overflow < 0;
		if (unlimited || p->open < p->o.size + (uint32_t)p->o.max_overflow)
			break;
		double left = deadline - now_seconds();
		if (left <= 0) {
			pthread_mutex_unlock(&p->mu);
			return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_TIMEOUT_ERROR,
					    "QueuePool limit of size %u overflow %d reached, connection timed out, "
					    "timeout %.2f", p->o.size, p->o.max_overflow, p->o.timeout_ms / 1000.0);
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		long long ns = (long long)ts.tv_nsec + (long long)(left * 1e9);
		ts.tv_sec += (time_t)(ns / 1000000000LL);
		ts.tv_nsec = (long)(ns % 1000000000LL);
		int w = pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		(void)w; /* ETIMEDOUT is found by the deadline check */
	}
	p->open++; /* the slot is ours while we connect without the lock */
	p->checked_out++;
	uint64_t gen = p->generation;
	pthread_mutex_unlock(&p->mu);
	ath_dconn *dc;
	int rc = open_dconn(p, &dc, gen, err);
	if (rc) {
		pthread_mutex_lock(&p->mu);
		p->open--;
		p->checked_out--;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	dc->users = 1;
	*out = dc;
	return 0;
}

/* Close now, or when the last result reading from it lets go. */
static void close_or_orphan(ath_dconn *dc)
{
	if (dc->pins > 0)
		dc->orphaned = 1;
	else
		ath_dconn__close(dc);
}

void ath_pool__checkin(ath_pool *p, ath_dconn *dc)
{
	pthread_mutex_lock(&p->mu);
	p->checked_out--;
	if (p->o.klass == ATH_POOL_STATIC || p->o.klass == ATH_POOL_SINGLETON_THREAD) {
		if (--dc->users > 0 || (!dc->invalid && dc->generation >= p->generation)) {
			pthread_mutex_unlock(&p->mu);
			return;
		}
		if (dc == p->shared)
			p->shared = NULL;
		for (uint32_t i = 0; i < p->nthreads; i++)
			if (p->threads[i].dc == dc)
				p->threads[i] = p->threads[--p->nthreads];
		p->open--;
		pthread_mutex_unlock(&p->mu);
		close_or_orphan(dc);
		return;
	}
	dc->users = 0;
	if (!dc->invalid && p->o.klass != ATH_POOL_NULL && !stale(p, dc) && p->nidle < p->idle_cap &&
	    p->nidle < p->o.size) {
		p->idle[(p->idle_head + p->nidle) % p->idle_cap] = dc;
		p->nidle++;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return;
	}
	p->open--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	close_or_orphan(dc);
}

void ath_pool__invalidate(ath_pool *p, ath_dconn *dc)
{
	pthread_mutex_lock(&p->mu);
	if (dc) {
		if (dc->invalid) { /* already counted */
			pthread_mutex_unlock(&p->mu);
			return;
		}
		dc->invalid = 1;
	}
	p->generation++;
	p->invalidations++;
	pthread_mutex_unlock(&p->mu);
	ath_pool__dispose_idle(p);
}

void ath_pool__dispose_idle(ath_pool *p)
{
	for (;;) {
		pthread_mutex_lock(&p->mu);
		ath_dconn *dc = NULL;
		if (p->nidle) {
			dc = take_idle(p);
			p->open--;
			pthread_cond_signal(&p->cv);
		} else if (p->shared && p->shared->users == 0) {
			dc = p->shared;
			p->shared = NULL;
			p->open--;
		} else {
			for (uint32_t i = 0; i < p->nthreads && !dc; i++) {
				if (p->threads[i].dc->users == 0) {
					dc = p->threads[i].dc;
					p->threads[i] = p->threads[--p->nthreads];
					p->open--;
				}
			}
		}
		pthread_mutex_unlock(&p->mu);
		if (!dc)
			return;
		ath_dconn__close(dc);
	}
}

void ath_pool__destroy(ath_pool *p)
{
	ath_pool__dispose_idle(p);
	ath__free(p->idle);
	ath__free(p->threads);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}

void ath_pool__status(ath_pool *p, ath_pool_status *st)
{
	pthread_mutex_lock(&p->mu);
	st->size = p->o.size;
	st->idle = p->nidle + (p->shared && p->shared->users == 0);
	for (uint32_t i = 0; i < p->nthreads; i++)
		st->idle += p->threads[i].dc->users == 0;
	st->checked_out = p->checked_out;
	st->overflow = (int64_t)p->open - (int64_t)p->o.size;
	st->invalidations = p->invalidations;
	pthread_mutex_unlock(&p->mu);
}
