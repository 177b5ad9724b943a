/* test_pool.c — the engine's pool through the public API, with threads: more demand than
 * pool_size + max_overflow (waits, then TimeoutError), status counters, recycle, the pool classes,
 * and threads that check out, execute, hold, time out and invalidate connections at random (a
 * disconnect seen on a connection: SQLAlchemy's pool invalidation) while the others run; the pool
 * must never hold more than pool_size + max_overflow, never deadlock (a watchdog bounds the run)
 * and be whole afterwards. Mirrors SQLAlchemy's test/engine/test_pool.py in spirit. Uses SQLite
 * files, so it needs no server; with ATHANOR_TEST_PG_URL set the threaded cases run on PostgreSQL
 * too, where the threads also end each other's server sessions (pg_terminate_backend). `make test`
 * also runs it under ThreadSanitizer (build/tsan). */
#include <athanor/athanor.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conn/internal.h"
#include "test.h"
#include "util/err.h"
#include "wirejson.h"

static long long pool_stat(ath_engine *e, const char *key)
{
	ath_buf b = ATH_BUF_INIT;
	ath_engine_stats(&b, e);
	json_t *j = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
	long long v = (long long)json_integer_value(json_object_get(json_object_get(j, "pool"), key));
	json_decref(j);
	ath_buf_dispose(&b);
	return v;
}

static long long cache_stat(ath_engine *e, const char *key)
{
	ath_buf b = ATH_BUF_INIT;
	ath_engine_stats(&b, e);
	json_t *j = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
	long long v = (long long)json_integer_value(json_object_get(json_object_get(j, "compile_cache"), key));
	json_decref(j);
	ath_buf_dispose(&b);
	return v;
}

static char *pool_class(ath_engine *e)
{
	ath_buf b = ATH_BUF_INIT;
	ath_engine_stats(&b, e);
	json_t *j = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
	char *s = strdup(json_string_value(json_object_get(json_object_get(j, "pool"), "class")));
	json_decref(j);
	ath_buf_dispose(&b);
	return s;
}

static ath_engine *engine_url(const char *url, ath_engine_options *o)
{
	ath_engine *e = NULL;
	if (ath_engine_create(&e, url, o) != ATH_OK) {
		fprintf(stderr, "%s\n", ath_error_last()->message);
		exit(1);
	}
	return e;
}

static ath_engine *engine(const char *file, ath_engine_options *o)
{
	char url[256];
	snprintf(url, sizeof url, "sqlite:///%s", file);
	ath_engine *e = NULL;
	if (ath_engine_create(&e, url, o) != ATH_OK) {
		fprintf(stderr, "%s\n", ath_error_last()->message);
		exit(1);
	}
	return e;
}

static void nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

typedef struct worker {
	ath_engine *e;
	atomic_int *ok, *timeouts, *inside, *max_inside;
} worker;

static void *work(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < 5; i++) {
		ath_conn *c = NULL;
		if (ath_engine_connect(&c, w->e) != ATH_OK) {
			if (strcmp(ath_error_class_name(ath_error_last()->klass), "TimeoutError") == 0)
				atomic_fetch_add(w->timeouts, 1);
			continue;
		}
		int now = atomic_fetch_add(w->inside, 1) + 1, seen = atomic_load(w->max_inside);
		while (now > seen && !atomic_compare_exchange_weak(w->max_inside, &seen, now))
			;
		ath_buf s = mp("{\"k\": \"select\", \"columns\": [[\"lit\", 1]]}");
		ath_result *r = NULL;
		if (ath_conn_execute(&r, c, s.ptr, s.size, NULL, 0) == ATH_OK)
			atomic_fetch_add(w->ok, 1);
		ath_result_close(r);
		mp_free(&s);
		nap_ms(20);
		atomic_fetch_sub(w->inside, 1);
		ath_conn_close(c);
	}
	return NULL;
}

/* `url`: a SQLite file, or the PostgreSQL test server (with pre-ping, so every checkout also does
 * a round trip while other threads check in and out). */
static void test_queue_pool_threads(const char *url, uint32_t pool_flags)
{
	TEST_CASE("pool/queue_pool_threads_limit");
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.pool_size = 2;
	o.max_overflow = 1;
	o.pool_timeout_ms = 5000;
	o.pool_flags = pool_flags;
	ath_engine *e = engine_url(url, &o);
	atomic_int ok = 0, timeouts = 0, inside = 0, max_inside = 0;
	enum { N = 8 };
	pthread_t th[N];
	worker w = { e, &ok, &timeouts, &inside, &max_inside };
	for (int i = 0; i < N; i++)
		pthread_create(&th[i], NULL, work, &w);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	CHECK_INT(N * 5, atomic_load(&ok)); /* everyone got a turn: waits, no timeouts */
	CHECK_INT(0, atomic_load(&timeouts));
	CHECK(atomic_load(&max_inside) <= 3); /* never more than pool_size + max_overflow */
	CHECK_INT(2, pool_stat(e, "idle"));
	CHECK_INT(0, pool_stat(e, "checked_out"));
	CHECK_INT(0, pool_stat(e, "overflow"));
	char *cls = pool_class(e);
	CHECK_STR("QueuePool", cls);
	free(cls);

	TEST_CASE("pool/queue_pool_timeout");
	ath_conn *held[3];
	for (int i = 0; i < 3; i++)
		CHECK_INT(ATH_OK, ath_engine_connect(&held[i], e));
	CHECK_INT(3, pool_stat(e, "checked_out"));
	CHECK_INT(1, pool_stat(e, "overflow"));
	ath_engine_free(e);
	o.pool_timeout_ms = 100;
	e = engine_url(url, &o);
	ath_conn *more[4] = { 0 };
	for (int i = 0; i < 3; i++)
		CHECK_INT(ATH_OK, ath_engine_connect(&more[i], e));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = ath_engine_connect(&more[3], e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(rc < 0);
	CHECK_STR("TimeoutError", ath_error_class_name(ath_error_last()->klass));
	CHECK_CONTAINS(ath_error_last()->message, "QueuePool limit of size 2 overflow 1 reached");
	double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(waited >= 0.09 && waited < 2.0);
	ath_conn_close(more[0]); /* a connection coming back wakes a waiter */
	CHECK_INT(ATH_OK, ath_engine_connect(&more[3], e));
	for (int i = 1; i < 4; i++)
		ath_conn_close(more[i]);
	for (int i = 0; i < 3; i++)
		ath_conn_close(held[i]);
	CHECK_INT(2, pool_stat(e, "idle"));
	ath_engine_free(e);
}

/* ---- random invalidation ------------------------------------------------------------------ */

enum { RI_THREADS = 12, RI_ITERATIONS = 50, RI_POOL_SIZE = 3, RI_OVERFLOW = 2, RI_WATCHDOG_S = 120 };

typedef struct ri_shared {
	ath_engine *e;
	int pg;                          /* PostgreSQL: kill each other's sessions too */
	atomic_int checkouts, executes, timeouts, invalidations, kills, disconnects, errors;
	atomic_int max_checked_out, max_open, inside;
	atomic_llong pids[RI_THREADS];   /* each thread's current server session, 0 = none */
} ri_shared;

typedef struct ri_thread {
	ri_shared *sh;
	int id;
	unsigned seed;
} ri_thread;

static void atomic_max(atomic_int *m, int v)
{
	int seen = atomic_load(m);
	while (v > seen && !atomic_compare_exchange_weak(m, &seen, v))
		;
}

enum { RI_SHAPES = 8 };
static ath_buf ri_select, ri_pid, ri_shapes[RI_SHAPES]; /* more shapes than the compile cache keeps */

/* The pool's own counters, sampled: checked out and open (pool_size + overflow). */
static void ri_sample(ri_shared *sh)
{
	ath_pool_status st;
	ath_pool__status(&sh->e->pool, &st);
	atomic_max(&sh->max_checked_out, (int)st.checked_out);
	atomic_max(&sh->max_open, (int)(st.overflow + st.size));
}

static int ri_execute(ath_conn *c, const ath_buf *shape, long long *value)
{
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	int rc = ath_conn_execute(&r, c, shape->ptr, shape->size, NULL, 0);
	if (rc == ATH_OK)
		rc = ath_result_fetch_all(&b, r);
	if (rc == ATH_OK && value) {
		json_t *j = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
		*value = (long long)json_integer_value(json_array_get(json_array_get(j, 0), 0));
		json_decref(j);
	}
	ath_buf_dispose(&b);
	ath_result_close(r);
	return rc;
}

/* What a disconnect does to a connection (ath_conn__seen_error: the connection is invalidated,
 * the pool replaces every connection opened before now), without a server to lose. */
static void ri_invalidate(ath_conn *c)
{
	ath_err err = { 0 };
	ath_err__set(&err, ATH_ERROR, ATH_ERRCLASS_OPERATIONAL_ERROR, "test: connection lost");
	err.flags |= ATH_ERROR_DISCONNECT;
	ath_conn__seen_error(c, ATH_ERROR, &err);
	ath_err__clear(&err);
}

static void *ri_work(void *arg)
{
	ri_thread *t = arg;
	ri_shared *sh = t->sh;
	for (int i = 0; i < RI_ITERATIONS; i++) {
		ath_conn *c = NULL;
		if (ath_engine_connect(&c, sh->e) != ATH_OK) {
			const ath_error *e = ath_error_last();
			if (e->klass == ATH_ERRCLASS_TIMEOUT_ERROR)
				atomic_fetch_add(&sh->timeouts, 1);
			else
				atomic_fetch_add(&sh->errors, 1);
			continue;
		}
		atomic_fetch_add(&sh->checkouts, 1);
		atomic_fetch_add(&sh->inside, 1);
		ri_sample(sh);
		long long pid = 0;
		int rc = ri_execute(c, sh->pg ? &ri_pid : &ri_select, sh->pg ? &pid : NULL);
		if (rc == ATH_OK) {
			atomic_fetch_add(&sh->executes, 1);
			atomic_store(&sh->pids[t->id], pid);
		}
		int dice = (int)(rand_r(&t->seed) % 100);
		if (dice < 15) { /* invalidate this one; half the time use it again (a fresh connection) */
			atomic_fetch_add(&sh->invalidations, 1);
			atomic_store(&sh->pids[t->id], 0);
			ri_invalidate(c);
			ath_conn_rollback(c);
			if (dice < 8 && ri_execute(c, &ri_select, NULL) == ATH_OK)
				atomic_fetch_add(&sh->executes, 1);
			ri_sample(sh);
		} else if (dice < 25 && sh->pg) { /* end another thread's server session */
			long long victim = 0;
			for (int k = 0, from = (int)(rand_r(&t->seed) % RI_THREADS); k < RI_THREADS && victim <= 0; k++) {
				long long v = atomic_load(&sh->pids[(from + k) % RI_THREADS]);
				if (v != pid)
					victim = v;
			}
			if (victim > 0) {
				char sql[96];
				snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", victim);
				ath_buf k = mp("{\"k\": \"text\", \"sql\": \"%s\"}", sql);
				if (ri_execute(c, &k, NULL) == ATH_OK) {
					atomic_fetch_add(&sh->kills, 1);
				} else if (ath_error_last()->flags & ATH_ERROR_DISCONNECT) { /* ours went first */
					atomic_fetch_add(&sh->disconnects, 1);
					ath_conn_rollback(c);
				}
				mp_free(&k);
			}
		} else if (dice < 35) { /* hold it past the others' pool timeout */
			nap_ms(60);
		} else if (dice < 40) { /* the counters, read while the others change them */
			ath_buf b = ATH_BUF_INIT;
			if (ath_engine_stats(&b, sh->e) != ATH_OK)
				atomic_fetch_add(&sh->errors, 1);
			ath_buf_dispose(&b);
		} else {
			nap_ms(rand_r(&t->seed) % 3);
		}
		if (rc != ATH_OK || ri_execute(c, &ri_shapes[rand_r(&t->seed) % RI_SHAPES], NULL) != ATH_OK) {
			/* the session was ended by another thread: a disconnect, seen and invalidated */
			const ath_error *e = ath_error_last();
			if (e->flags & ATH_ERROR_DISCONNECT) {
				atomic_fetch_add(&sh->disconnects, 1);
			} else if (e->klass == ATH_ERRCLASS_TIMEOUT_ERROR) { /* reconnecting waited for a slot */
				atomic_fetch_add(&sh->timeouts, 1);
			} else if (atomic_fetch_add(&sh->errors, 1) < 5) {
				fprintf(stderr, "pool/random_invalidation: %s: %s\n", ath_error_class_name(e->klass),
					e->message);
			}
		}
		ath_conn_rollback(c);
		atomic_store(&sh->pids[t->id], 0);
		atomic_fetch_sub(&sh->inside, 1);
		ath_conn_close(c);
		ri_sample(sh);
	}
	return NULL;
}

/* An invalidated connection gives its slot back before it takes a fresh one: with every slot
 * held by connections that lost theirs (a server restart), reconnecting must not wait for a slot
 * that only they hold. */
static void test_revalidate_releases_slot(void)
{
	TEST_CASE("pool/revalidate_releases_slot");
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.pool_size = 2;
	o.max_overflow = ATH_POOL_OVERFLOW_NONE;
	o.pool_timeout_ms = 200;
	mkdir("pooldir", 0700);
	ath_engine *e = engine("pooldir/pool.db", &o);
	ath_buf s = mp("{\"k\": \"select\", \"columns\": [[\"lit\", 1]]}");
	ath_conn *c = NULL, *d = NULL;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, ath_engine_connect(&d, e));
	CHECK_INT(ATH_OK, ri_execute(c, &s, NULL));
	CHECK_INT(ATH_OK, ri_execute(d, &s, NULL));
	ri_invalidate(c);
	ri_invalidate(d);
	CHECK_INT(ATH_EMISUSE, ri_execute(c, &s, NULL)); /* the transaction first */
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_INT(ATH_OK, ath_conn_rollback(d));
	CHECK_INT(ATH_OK, ri_execute(c, &s, NULL)); /* was TimeoutError: both slots held by lost ones */
	CHECK_INT(ATH_OK, ri_execute(d, &s, NULL));
	CHECK_INT(2, pool_stat(e, "checked_out"));
	CHECK_INT(2, pool_stat(e, "invalidations"));
	ath_conn_close(d);

	/* no fresh connection to be had: c stays without one, its next use tries again */
	ri_invalidate(c);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	unlink("pooldir/pool.db");
	rmdir("pooldir");
	CHECK(ri_execute(c, &s, NULL) < 0);
	CHECK_STR("OperationalError", ath_error_class_name(ath_error_last()->klass));
	CHECK_INT(0, pool_stat(e, "checked_out"));
	CHECK(ri_execute(c, &s, NULL) < 0);
	mkdir("pooldir", 0700);
	CHECK_INT(ATH_OK, ri_execute(c, &s, NULL));
	CHECK_INT(1, pool_stat(e, "checked_out"));
	ri_invalidate(c);
	ath_conn_rollback(c);
	unlink("pooldir/pool.db");
	rmdir("pooldir");
	CHECK(ri_execute(c, &s, NULL) < 0);
	ath_conn_close(c); /* closing it then returns nothing */
	CHECK_INT(0, pool_stat(e, "checked_out"));
	mp_free(&s);
	ath_engine_free(e);
}

static void watchdog(int sig)
{
	(void)sig;
	static const char msg[] = "FAIL pool/random_invalidation: still running after the watchdog's limit (deadlock?)\n";
	if (write(2, msg, sizeof msg - 1) < 0) {
	}
	_exit(1);
}

static void test_random_invalidation(const char *url, uint32_t pool_flags, int pg)
{
	TEST_CASE("pool/random_invalidation");
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.pool_size = RI_POOL_SIZE;
	o.max_overflow = RI_OVERFLOW;
	o.pool_timeout_ms = pg ? 150 : 40; /* short, so checkouts time out too */
	o.pool_flags = pool_flags;
	o.compile_cache_size = RI_SHAPES / 2; /* the engine's shared compile cache evicts under the threads too */
	ri_shared sh = { .e = engine_url(url, &o), .pg = pg };
	ri_select = mp("{\"k\": \"select\", \"columns\": [[\"lit\", 1]]}");
	ri_pid = mp("{\"k\": \"text\", \"sql\": \"SELECT pg_backend_pid()\"}");
	for (int i = 0; i < RI_SHAPES; i++)
		ri_shapes[i] = mp("{\"k\": \"select\", \"columns\": [[\"label\", \"c%d\", [\"+\", [\"lit\", %d], [\"lit\", 1]]]]}", i, i);
	ri_thread th[RI_THREADS];
	pthread_t tid[RI_THREADS];
	struct timespec t0, t1;
	signal(SIGALRM, watchdog);
	alarm(RI_WATCHDOG_S);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < RI_THREADS; i++) {
		th[i] = (ri_thread){ &sh, i, 7919u * (unsigned)(i + 1) };
		pthread_create(&tid[i], NULL, ri_work, &th[i]);
	}
	for (int i = 0; i < RI_THREADS; i++)
		pthread_join(tid[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("pool/random_invalidation (%s): %d threads x %d iterations in %.2f s: %d checkouts, %d timeouts, "
	       "%d executes (compile cache: %lld hits, %lld misses), %d invalidations (pool counted %lld), %d sessions killed, %d disconnects seen, %d other "
	       "errors; at most %d checked out and %d open (limit %d)\n",
	       pg ? "postgresql" : "sqlite", RI_THREADS, RI_ITERATIONS, secs, atomic_load(&sh.checkouts),
	       atomic_load(&sh.timeouts), atomic_load(&sh.executes), cache_stat(sh.e, "hits"), cache_stat(sh.e, "misses"),
	       atomic_load(&sh.invalidations),
	       pool_stat(sh.e, "invalidations"), atomic_load(&sh.kills), atomic_load(&sh.disconnects),
	       atomic_load(&sh.errors), atomic_load(&sh.max_checked_out), atomic_load(&sh.max_open),
	       RI_POOL_SIZE + RI_OVERFLOW);
	CHECK(atomic_load(&sh.max_checked_out) <= RI_POOL_SIZE + RI_OVERFLOW);
	CHECK(atomic_load(&sh.max_open) <= RI_POOL_SIZE + RI_OVERFLOW);
	CHECK(atomic_load(&sh.invalidations) > 0);
	CHECK(pool_stat(sh.e, "invalidations") >= atomic_load(&sh.invalidations));
	CHECK(atomic_load(&sh.checkouts) > RI_THREADS * RI_ITERATIONS / 4); /* the rest timed out */
	CHECK_INT(0, atomic_load(&sh.errors));
	if (pg)
		CHECK(atomic_load(&sh.kills) > 0);
	/* afterwards: nothing checked out, no more open than pool_size, and it still works */
	CHECK_INT(0, pool_stat(sh.e, "checked_out"));
	CHECK(pool_stat(sh.e, "overflow") <= 0);
	ath_conn *c = NULL;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, sh.e));
	if (c && ri_execute(c, &ri_select, NULL) != ATH_OK) { /* an idle one killed last: replaced at its first use */
		ath_conn_rollback(c);
		CHECK_INT(ATH_OK, ri_execute(c, &ri_select, NULL));
	}
	ath_conn_close(c);
	mp_free(&ri_select);
	mp_free(&ri_pid);
	for (int i = 0; i < RI_SHAPES; i++)
		mp_free(&ri_shapes[i]);
	ath_engine_free(sh.e);
}

static void test_classes(void)
{
	TEST_CASE("pool/null_pool");
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.pool_class = ATH_POOL_NULL;
	ath_engine *e = engine("pool.db", &o);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	ath_conn_close(c);
	CHECK_INT(0, pool_stat(e, "idle"));
	char *cls = pool_class(e);
	CHECK_STR("NullPool", cls);
	free(cls);
	ath_engine_free(e);

	TEST_CASE("pool/static_pool");
	o.pool_class = ATH_POOL_STATIC;
	e = engine("pool.db", &o);
	ath_conn *a, *b;
	CHECK_INT(ATH_OK, ath_engine_connect(&a, e));
	CHECK_INT(ATH_OK, ath_engine_connect(&b, e));
	CHECK_INT(-4, pool_stat(e, "overflow")); /* one connection open, pool_size 5 */
	ath_conn_close(a);
	ath_conn_close(b);
	CHECK_INT(1, pool_stat(e, "idle"));
	ath_engine_free(e);

	TEST_CASE("pool/singleton_thread_pool");
	o.pool_class = ATH_POOL_SINGLETON_THREAD;
	e = engine("pool.db", &o);
	CHECK_INT(ATH_OK, ath_engine_connect(&a, e));
	CHECK_INT(ATH_OK, ath_engine_connect(&b, e));
	CHECK_INT(-4, pool_stat(e, "overflow")); /* same thread, same connection */
	ath_conn_close(a);
	ath_conn_close(b);
	ath_engine_free(e);

	TEST_CASE("pool/lifo_and_recycle");
	o.pool_class = ATH_POOL_QUEUE;
	o.pool_flags = ATH_POOL_LIFO;
	o.pool_recycle_s = 1;
	e = engine("pool.db", &o);
	CHECK_INT(ATH_OK, ath_engine_connect(&a, e));
	ath_conn_close(a);
	nap_ms(1100);
	CHECK_INT(ATH_OK, ath_engine_connect(&a, e)); /* the old one is replaced, not reused */
	CHECK_INT(1, pool_stat(e, "checked_out"));
	CHECK_INT(-4, pool_stat(e, "overflow"));
	ath_conn_close(a);
	ath_engine_free(e);

	TEST_CASE("pool/options_version_1");
	ath_engine_options v1;
	CHECK_INT(ATH_OK, ath_engine_options_init(&v1, 1));
	CHECK_INT(ATH_OK, ath_engine_create(&e, "sqlite://", &v1));
	ath_engine_free(e);
	o.pool_class = 99;
	CHECK(ath_engine_create(&e, "sqlite:///pool.db", &o) < 0);
	CHECK_CONTAINS(ath_error_last()->message, "unknown pool_class 99");
}

int main(void)
{
	unlink("pool.db");
	test_queue_pool_threads("sqlite:///pool.db", 0);
	test_revalidate_releases_slot();
	test_random_invalidation("sqlite:///pool.db", 0, 0);
	test_classes();
	unlink("pool.db");
	const char *pg = getenv("ATHANOR_TEST_PG_URL");
	if (pg && *pg) {
		fprintf(stderr, "pool: the threaded cases again on PostgreSQL\n");
		test_queue_pool_threads(pg, ATH_POOL_PRE_PING);
		test_random_invalidation(pg, ATH_POOL_PRE_PING, 1);
	}
	return test_exit();
}
