/* test_pool.c — the engine's pool through the public API, with threads: more demand than
 * pool_size + max_overflow (waits, then TimeoutError), status counters, recycle, the pool classes.
 * Mirrors SQLAlchemy's test/engine/test_pool.py in spirit. Uses SQLite files, so it needs no server;
 * with ATHANOR_TEST_PG_URL set the threaded cases run on PostgreSQL too. `make test` also runs it
 * under ThreadSanitizer (build/tsan). */
#include <athanor/athanor.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
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
	test_classes();
	unlink("pool.db");
	const char *pg = getenv("ATHANOR_TEST_PG_URL");
	if (pg && *pg) {
		fprintf(stderr, "pool: the threaded cases again on PostgreSQL\n");
		test_queue_pool_threads(pg, ATH_POOL_PRE_PING);
	}
	return test_exit();
}
