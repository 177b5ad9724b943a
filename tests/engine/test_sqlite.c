/* test_sqlite.c — the engine on SQLite through the public API: execute / executemany / fetch in
 * batches, result headers and keys, the compile and prepared-statement caches, SQLAlchemy 2.0
 * transaction semantics, error classes, echo, and handle lifetimes. Each case uses its own
 * database file in the test's working directory (or memory). */
#include <athanor/athanor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "wirejson.h"

static ath_engine *engine_for(const char *file, const ath_engine_options *opts)
{
	char url[512];
	if (file) {
		unlink(file);
		snprintf(url, sizeof url, "sqlite:///%s", file);
	} else {
		snprintf(url, sizeof url, "sqlite://");
	}
	ath_engine *e = NULL;
	if (ath_engine_create(&e, url, opts) != ATH_OK) {
		fprintf(stderr, "engine %s: %s\n", url, ath_error_last()->message);
		abort();
	}
	return e;
}

/* Execute JSON shape + JSON params; returns the rc and leaves the result in *out (or NULL). */
static int run(ath_result **out, ath_conn *c, const char *shape, const char *params)
{
	ath_buf s = mp("%s", shape), p = ATH_BUF_INIT;
	if (params)
		p = mp("%s", params);
	ath_result *r = NULL;
	int rc = ath_conn_execute(&r, c, s.ptr, s.size, params ? p.ptr : NULL, p.size);
	mp_free(&s);
	mp_free(&p);
	if (out)
		*out = r;
	else
		ath_result_close(r);
	return rc;
}

static int run_many(ath_conn *c, const char *shape, const char *rows, int64_t *rowcount)
{
	ath_buf s = mp("%s", shape), p = mp("%s", rows);
	ath_result *r = NULL;
	int rc = ath_conn_executemany(&r, c, s.ptr, s.size, p.ptr, p.size);
	if (rowcount)
		*rowcount = rc == 0 ? ath_result_rowcount(r) : -2;
	ath_result_close(r);
	mp_free(&s);
	mp_free(&p);
	return rc;
}

/* All rows of a statement as compact JSON ("[[1,\"a\"],...]"); the caller frees it. */
static char *rows(ath_conn *c, const char *shape, const char *params)
{
	ath_result *r;
	if (run(&r, c, shape, params) != ATH_OK)
		return strdup(ath_error_last()->message);
	ath_buf b = ATH_BUF_INIT;
	char *s = ath_result_fetch_all(&b, r) == ATH_OK ? as_json(b.ptr, b.size) : strdup(ath_error_last()->message);
	ath_buf_dispose(&b);
	ath_result_close(r);
	return s;
}

#define CHECK_ROWS(expected, c, shape, params)                                                     \
	do {                                                                                       \
		char *got_ = rows(c, shape, params);                                               \
		CHECK_STR(expected, got_);                                                         \
		free(got_);                                                                        \
	} while (0)

#define CHECK_ERROR(rc, class_name, needle)                                                         \
	do {                                                                                       \
		CHECK((rc) < 0);                                                                   \
		CHECK_STR(class_name, ath_error_class_name(ath_error_last()->klass));              \
		CHECK_CONTAINS(ath_error_last()->message, needle);                                 \
	} while (0)

static const char *USERS_DDL = "{\"k\": \"text\", \"sql\": \"CREATE TABLE users (id INTEGER PRIMARY KEY, "
			       "name VARCHAR(50) NOT NULL UNIQUE, fullname TEXT)\"}";
static const char *INSERT_USER = "{\"k\": \"insert\", \"table\": [\"table\", \"users\"], \"columns\": [\"name\", "
				 "\"fullname\"], \"values\": [[[\"bind\", 0], [\"bind\", 1]]]}";
static const char *SELECT_NAMES = "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"]], "
				  "\"order_by\": [[\"col\", \"users\", \"id\"]]}";
static const char *COUNT_USERS = "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"users\"]]}";

static void test_insert_select_header(void)
{
	TEST_CASE("engine/insert_select_header");
	ath_engine *e = engine_for("t_basic.db", NULL);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, run(NULL, c, USERS_DDL, NULL));
	ath_result *r;
	CHECK_INT(ATH_OK, run(&r, c, INSERT_USER, "[\"spongebob\", \"Spongebob Squarepants\"]"));
	CHECK_INT(1, ath_result_rowcount(r));
	CHECK_INT(1, ath_result_lastrowid(r));
	CHECK_INT(0, ath_result_returns_rows(r));
	ath_buf b = ATH_BUF_INIT;
	CHECK_INT(ATH_OK, ath_result_inserted_primary_key(&b, r));
	char *j = as_json(b.ptr, b.size);
	CHECK_STR("[1]", j);
	free(j);
	CHECK_INT(ATH_OK, ath_result_header(&b, r));
	j = field_json(b.ptr, b.size, "inserted_primary_key");
	CHECK_STR("[1]", j);
	free(j);
	j = field_json(b.ptr, b.size, "returns_rows");
	CHECK_STR("false", j);
	free(j);
	/* a result without rows refuses fetches, as SQLAlchemy's does */
	CHECK_ERROR(ath_result_fetch(&b, r, 10), "ResourceClosedError", "does not return rows");
	ath_result_close(r);

	CHECK_INT(ATH_OK, run(&r, c, INSERT_USER, "[\"sandy\", null]"));
	CHECK_INT(2, ath_result_lastrowid(r));
	ath_result_close(r);
	CHECK_ROWS("[[\"spongebob\"],[\"sandy\"]]", c, SELECT_NAMES, NULL);

	CHECK_INT(ATH_OK, run(&r, c,
			      "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"id\"], [\"label\", \"n\", "
			      "[\"col\", \"users\", \"name\"]], [\"fn\", \"upper\", [[\"col\", \"users\", \"name\"]]]]}",
			      NULL));
	CHECK_INT(3, ath_result_column_count(r));
	CHECK_STR("id", ath_result_column_name(r, 0));
	CHECK_STR("n", ath_result_column_name(r, 1));
	CHECK_STR("upper_1", ath_result_column_name(r, 2));
	CHECK(ath_result_column_name(r, 3) == NULL);
	CHECK_INT(1, ath_result_returns_rows(r));
	CHECK_INT(ATH_OK, ath_result_header(&b, r));
	j = field_json(b.ptr, b.size, "columns");
	/* no metadata: the declared types, mapped to generic ones; an expression has none on SQLite */
	CHECK_STR("[{\"name\":\"id\",\"type\":[\"Integer\"]},{\"name\":\"n\",\"type\":[\"String\"]},{\"name\":\"upper_1\",\"type\":null}]", j);
	free(j);
	ath_result_close(r);
	ath_buf_dispose(&b);
	/* DDL reports no rowcount (-1), not SQLite's count of the last DML, as pysqlite does */
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"text\", \"sql\": \"CREATE INDEX ix_fullname ON users (fullname)\"}", NULL));
	CHECK_INT(-1, ath_result_rowcount(r));
	CHECK_INT(0, ath_result_lastrowid(r));
	ath_result_close(r);
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"text\", \"sql\": \"UPDATE users SET fullname = 'x'\"}", NULL));
	CHECK_INT(2, ath_result_rowcount(r));
	ath_result_close(r);
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	ath_conn_close(c);
	ath_engine_free(e);
}

static void test_inserted_pk_without_rowid(void)
{
	TEST_CASE("engine/inserted_primary_key_composite");
	ath_engine *e = engine_for(NULL, NULL);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, run(NULL, c,
			      "{\"k\": \"text\", \"sql\": \"CREATE TABLE tags (owner TEXT, tag TEXT, n INT, PRIMARY KEY (tag, owner))\"}",
			      NULL));
	ath_result *r;
	CHECK_INT(ATH_OK, run(&r, c,
			      "{\"k\": \"insert\", \"table\": [\"table\", \"tags\"], \"columns\": [\"owner\", \"tag\", \"n\"], "
			      "\"values\": [[[\"bind\", 0], [\"bind\", 1], [\"lit\", 5]]]}",
			      "[\"ann\", \"red\"]"));
	ath_buf b = ATH_BUF_INIT;
	CHECK_INT(ATH_OK, ath_result_inserted_primary_key(&b, r));
	char *j = as_json(b.ptr, b.size);
	CHECK_STR("[\"red\",\"ann\"]", j); /* primary-key order, not insert order */
	free(j);
	ath_result_close(r);
	ath_buf_dispose(&b);
	ath_conn_close(c);
	ath_engine_free(e);
}

static void test_executemany_and_batches(void)
{
	TEST_CASE("engine/executemany_batches");
	ath_engine *e = engine_for("t_many.db", NULL);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, run(NULL, c, "{\"k\": \"text\", \"sql\": \"CREATE TABLE nums (n INTEGER PRIMARY KEY, sq INTEGER)\"}", NULL));
	/* 1000 rows in one executemany */
	char *params = malloc(32 * 1000 + 16), *p = params;
	p += sprintf(p, "[");
	for (int i = 1; i <= 1000; i++)
		p += sprintf(p, "%s[%d, %d]", i > 1 ? "," : "", i, i * i);
	sprintf(p, "]");
	int64_t count;
	CHECK_INT(ATH_OK, run_many(c,
				   "{\"k\": \"insert\", \"table\": [\"table\", \"nums\"], \"columns\": [\"n\", \"sq\"], "
				   "\"values\": [[[\"bind\", 0], [\"bind\", 1]]]}",
				   params, &count));
	free(params);
	CHECK_INT(1000, count);
	ath_result *r;
	CHECK_INT(ATH_OK, run(&r, c,
			      "{\"k\": \"select\", \"columns\": [[\"col\", \"nums\", \"n\"], [\"col\", \"nums\", \"sq\"]], "
			      "\"where\": [\">\", [\"col\", \"nums\", \"n\"], [\"bind\", 0]], \"order_by\": [[\"col\", \"nums\", \"n\"]]}",
			      "[50]"));
	ath_buf b = ATH_BUF_INIT;
	int batches = 0, total = 0, rc;
	long long sum = 0;
	while ((rc = ath_result_fetch(&b, r, 100)) == ATH_OK) {
		json_t *j = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
		batches++;
		total += (int)json_array_size(j);
		for (size_t i = 0; i < json_array_size(j); i++)
			sum += json_integer_value(json_array_get(json_array_get(j, i), 1));
		json_decref(j);
	}
	CHECK_INT(ATH_ITEROVER, rc);
	CHECK_INT(10, batches); /* 950 rows in batches of 100 */
	CHECK_INT(950, total);
	long long want = 0;
	for (long long i = 51; i <= 1000; i++)
		want += i * i;
	CHECK_INT(want, sum);
	CHECK_INT(ATH_ITEROVER, ath_result_fetch(&b, r, 100)); /* stays over */
	char *j = as_json(b.ptr, b.size);
	CHECK_STR("[]", j);
	free(j);
	ath_result_close(r);
	/* an UPDATE's rowcount counts matched rows */
	CHECK_INT(ATH_OK, run(&r, c,
			      "{\"k\": \"update\", \"table\": [\"table\", \"nums\"], \"set\": [[\"sq\", [\"lit\", 0]]], "
			      "\"where\": [\"<=\", [\"col\", \"nums\", \"n\"], [\"bind\", 0]]}",
			      "[10]"));
	CHECK_INT(10, ath_result_rowcount(r));
	ath_result_close(r);
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"delete\", \"table\": [\"table\", \"nums\"], \"where\": [\">\", [\"col\", \"nums\", \"n\"], [\"bind\", 0]]}", "[990]"));
	CHECK_INT(10, ath_result_rowcount(r));
	ath_result_close(r);
	/* executemany refuses expanding parameters and empty row lists */
	CHECK_ERROR(run_many(c, "{\"k\": \"select\", \"columns\": [[\"col\", \"nums\", \"n\"]], \"where\": [\"in\", [\"col\", \"nums\", \"n\"], [\"expanding\", 0]]}",
			     "[[[1]]]", NULL),
		    "ArgumentError", "'expanding' parameters can't be used with executemany()");
	CHECK_ERROR(run_many(c, INSERT_USER, "[]", NULL), "ArgumentError", "at least one parameter row");
	ath_buf_dispose(&b);
	ath_conn_close(c);
	ath_engine_free(e);
}

static void test_expanding_in(void)
{
	TEST_CASE("engine/expanding_in");
	ath_engine *e = engine_for(NULL, NULL);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, run(NULL, c, USERS_DDL, NULL));
	CHECK_INT(ATH_OK, run_many(c, INSERT_USER, "[[\"a\", null], [\"b\", null], [\"c\", null], [\"d\", null]]", NULL));
	const char *q = "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"]], \"where\": [\"in\", "
			"[\"col\", \"users\", \"id\"], [\"expanding\", 0]], \"order_by\": [[\"col\", \"users\", \"id\"]]}";
	CHECK_ROWS("[[\"a\"],[\"c\"]]", c, q, "[[1, 3]]");
	CHECK_ROWS("[[\"b\"],[\"c\"],[\"d\"]]", c, q, "[[2, 3, 4, 99]]");
	CHECK_ROWS("[]", c, q, "[[]]");
	const char *nq = "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"]], \"where\": [\"not_in\", "
			 "[\"col\", \"users\", \"id\"], [\"expanding\", 0]], \"order_by\": [[\"col\", \"users\", \"id\"]]}";
	CHECK_ROWS("[[\"a\"],[\"b\"],[\"c\"],[\"d\"]]", c, nq, "[[]]");
	const char *tq = "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"id\"]], \"where\": [\"in\", [\"tuple\", "
			 "[\"col\", \"users\", \"id\"], [\"col\", \"users\", \"name\"]], [\"expanding\", 0]]}";
	CHECK_ROWS("[[2]]", c, tq, "[[[2, \"b\"], [3, \"x\"]]]");
	CHECK_ERROR(run(NULL, c, q, "[5]"), "ArgumentError", "must be a list");
	ath_conn_close(c);
	ath_engine_free(e);
}

static uint64_t stat(ath_engine *e, const char *group, const char *key)
{
	ath_buf b = ATH_BUF_INIT;
	ath_engine_stats(&b, e);
	json_t *j = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
	uint64_t v = (uint64_t)json_integer_value(json_object_get(json_object_get(j, group), key));
	json_decref(j);
	ath_buf_dispose(&b);
	return v;
}

static void test_compiled_once(void)
{
	TEST_CASE("engine/compiled_once_prepared_once");
	ath_engine *e = engine_for(NULL, NULL);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, run(NULL, c, USERS_DDL, NULL));
	uint64_t misses0 = stat(e, "compile_cache", "misses"), hits0 = stat(e, "compile_cache", "hits");
	uint64_t smiss0 = stat(e, "stmt_cache", "misses"), shit0 = stat(e, "stmt_cache", "hits");
	for (int i = 0; i < 100; i++) {
		char params[64];
		snprintf(params, sizeof params, "[\"user%d\", \"User %d\"]", i, i);
		CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, params));
	}
	CHECK_INT(misses0 + 1, stat(e, "compile_cache", "misses"));
	CHECK_INT(hits0 + 99, stat(e, "compile_cache", "hits"));
	CHECK_INT(smiss0 + 1, stat(e, "stmt_cache", "misses"));
	CHECK_INT(shit0 + 99, stat(e, "stmt_cache", "hits"));
	CHECK_INT(1 + 1, stat(e, "compile_cache", "size")); /* the DDL and the insert */
	CHECK_INT(500, stat(e, "compile_cache", "capacity"));
	/* the same SQL prepared on a connection survives returning it to the pool */
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	ath_conn_close(c);
	CHECK_INT(1, stat(e, "pool", "idle"));
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(0, stat(e, "pool", "idle"));
	CHECK_INT(1, stat(e, "pool", "checked_out"));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"again\", null]"));
	CHECK_INT(shit0 + 100, stat(e, "stmt_cache", "hits"));
	/* while a result still reads rows from a statement, running the same SQL again uses a
	 * private statement instead of disturbing the first */
	ath_result *r1, *r2;
	CHECK_INT(ATH_OK, run(&r1, c, SELECT_NAMES, NULL));
	CHECK_INT(ATH_OK, run(&r2, c, SELECT_NAMES, NULL));
	ath_buf b1 = ATH_BUF_INIT, b2 = ATH_BUF_INIT;
	CHECK_INT(ATH_OK, ath_result_fetch(&b1, r1, 1));
	CHECK_INT(ATH_OK, ath_result_fetch(&b2, r2, 1));
	char *j1 = as_json(b1.ptr, b1.size), *j2 = as_json(b2.ptr, b2.size);
	CHECK_STR("[[\"user0\"]]", j1);
	CHECK_STR(j1, j2);
	free(j1);
	free(j2);
	ath_result_close(r1);
	ath_result_close(r2);
	ath_buf_dispose(&b1);
	ath_buf_dispose(&b2);
	ath_conn_close(c);

	/* a cache of one evicts; statements still compile correctly */
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.compile_cache_size = 1;
	ath_engine *e2 = engine_for(NULL, &o);
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e2));
	CHECK_INT(ATH_OK, run(NULL, c, USERS_DDL, NULL));
	for (int i = 0; i < 5; i++) { /* three shapes in turn through a cache of one */
		CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"x\", null]"));
		CHECK_ROWS("[[1]]", c, COUNT_USERS, NULL);
		CHECK_INT(ATH_OK, run(NULL, c, "{\"k\": \"delete\", \"table\": [\"table\", \"users\"]}", NULL));
	}
	CHECK(stat(e2, "compile_cache", "evictions") >= 10);
	CHECK_INT(1, stat(e2, "compile_cache", "size"));
	ath_conn_close(c);
	ath_engine_free(e2);

	/* caching off */
	o.compile_cache_size = 0;
	o.flags = ATH_ENGINE_NO_COMPILE_CACHE;
	e2 = engine_for(NULL, &o);
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e2));
	CHECK_ROWS("[[1]]", c, "{\"k\": \"select\", \"columns\": [[\"lit\", 1]]}", NULL);
	CHECK_ROWS("[[1]]", c, "{\"k\": \"select\", \"columns\": [[\"lit\", 1]]}", NULL);
	CHECK_INT(0, stat(e2, "compile_cache", "size"));
	CHECK_INT(0, stat(e2, "compile_cache", "capacity"));
	ath_conn_close(c);
	ath_engine_free(e2);
	ath_engine_free(e);
}

/* Column names and types are kept per prepared statement: a schema change (SQLite prepares the
 * statement again) must show in the next result, and a result keeps its names after its
 * statement is evicted from the connection's cache. */
static void test_columns_cached(void)
{
	TEST_CASE("engine/columns_after_schema_change");
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.stmt_cache_size = 1;
	ath_engine *e = engine_for(NULL, &o);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	static const char *SELECT_ALL = "{\"k\": \"text\", \"sql\": \"SELECT * FROM t\"}";
	CHECK_INT(ATH_OK, run(NULL, c, "{\"k\": \"text\", \"sql\": \"CREATE TABLE t (a INTEGER)\"}", NULL));
	ath_result *r;
	ath_buf b = ATH_BUF_INIT;
	for (int i = 0; i < 2; i++) { /* the second run reads them from the statement's cache */
		CHECK_INT(ATH_OK, run(&r, c, SELECT_ALL, NULL));
		CHECK_INT(1, ath_result_column_count(r));
		CHECK_STR("a", ath_result_column_name(r, 0));
		ath_result_close(r);
	}
	CHECK_INT(ATH_OK, run(NULL, c, "{\"k\": \"text\", \"sql\": \"ALTER TABLE t RENAME COLUMN a TO b\"}", NULL));
	CHECK_INT(ATH_OK, run(NULL, c, "{\"k\": \"text\", \"sql\": \"ALTER TABLE t ADD COLUMN c TEXT\"}", NULL));
	CHECK_INT(ATH_OK, run(&r, c, SELECT_ALL, NULL));
	CHECK_INT(2, ath_result_column_count(r));
	CHECK_STR("b", ath_result_column_name(r, 0));
	CHECK_STR("c", ath_result_column_name(r, 1));
	CHECK_INT(ATH_OK, ath_result_header(&b, r));
	char *j = field_json(b.ptr, b.size, "columns");
	CHECK_STR("[{\"name\":\"b\",\"type\":[\"Integer\"]},{\"name\":\"c\",\"type\":[\"Text\"]}]", j);
	free(j);
	CHECK_INT(ATH_ITEROVER, ath_result_fetch(&b, r, 10)); /* exhausted: the statement goes back */

	TEST_CASE("lifetime/result_columns_outlive_statement");
	/* another statement through a cache of one evicts SELECT * FROM t while `r` is open */
	CHECK_ROWS("[[1]]", c, "{\"k\": \"select\", \"columns\": [[\"lit\", 1]]}", NULL);
	CHECK_STR("b", ath_result_column_name(r, 0));
	CHECK_STR("c", ath_result_column_name(r, 1));
	ath_conn_close(c);
	ath_engine_free(e);
	CHECK_STR("c", ath_result_column_name(r, 1)); /* the result holds the connection */
	ath_result_close(r);
	ath_buf_dispose(&b);
}

static void test_transactions(void)
{
	ath_engine *e = engine_for("t_txn.db", NULL);
	ath_conn *c, *other;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, ath_engine_connect(&other, e));
	CHECK_INT(ATH_OK, run(NULL, c, USERS_DDL, NULL));
	CHECK_INT(ATH_OK, ath_conn_commit(c));

	TEST_CASE("txn/autobegin_rollback");
	CHECK_INT(0, ath_conn_in_transaction(c));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"gone\", null]"));
	CHECK_INT(1, ath_conn_in_transaction(c));
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_INT(0, ath_conn_in_transaction(c));
	CHECK_ROWS("[[0]]", c, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));

	TEST_CASE("txn/commit_visible_elsewhere");
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"kept\", null]"));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	CHECK_ROWS("[[1]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));
	CHECK_INT(ATH_OK, ath_conn_commit(c)); /* nothing to commit: a no-op */

	TEST_CASE("txn/explicit_begin");
	ath_txn *t, *t2;
	CHECK_INT(ATH_OK, ath_conn_begin(&t, c));
	CHECK_INT(1, ath_txn_is_active(t));
	CHECK_ERROR(ath_conn_begin(&t2, c), "InvalidRequestError", "already initialized a transaction");
	CHECK(t2 == NULL);
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"explicit\", null]"));
	CHECK_INT(ATH_OK, ath_txn_commit(t));
	CHECK_INT(0, ath_txn_is_active(t));
	CHECK_ERROR(ath_txn_commit(t), "InvalidRequestError", "inactive");
	ath_txn_free(t);
	CHECK_ROWS("[[2]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));

	TEST_CASE("txn/free_active_rolls_back");
	CHECK_INT(ATH_OK, ath_conn_begin(&t, c));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"dropped\", null]"));
	ath_txn_free(t);
	CHECK_INT(0, ath_conn_in_transaction(c));
	CHECK_ROWS("[[2]]", c, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));

	TEST_CASE("txn/savepoints");
	ath_txn *sp1, *sp2;
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"outer\", null]"));
	CHECK_INT(ATH_OK, ath_conn_begin_nested(&sp1, c));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"inner1\", null]"));
	CHECK_INT(ATH_OK, ath_conn_begin_nested(&sp2, c));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"inner2\", null]"));
	CHECK_INT(ATH_OK, ath_txn_rollback(sp2));
	CHECK_INT(0, ath_txn_is_active(sp2));
	CHECK_INT(1, ath_txn_is_active(sp1));
	CHECK_INT(ATH_OK, ath_txn_commit(sp1));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	CHECK_ROWS("[[\"spongebob\"]]", c, "{\"k\": \"select\", \"columns\": [[\"lit\", \"spongebob\"]]}", NULL);
	CHECK_ROWS("[[\"kept\"],[\"explicit\"],[\"outer\"],[\"inner1\"]]", other, SELECT_NAMES, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));
	ath_txn_free(sp1);
	ath_txn_free(sp2);

	TEST_CASE("txn/savepoint_integrity_error_recovers");
	CHECK_INT(ATH_OK, ath_conn_begin_nested(&sp1, c));
	CHECK_ERROR(run(NULL, c, INSERT_USER, "[\"kept\", null]"), "IntegrityError", "UNIQUE constraint failed: users.name");
	CHECK_INT(ATH_OK, ath_txn_rollback(sp1));
	ath_txn_free(sp1);
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"after\", null]"));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	CHECK_ROWS("[[5]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));

	TEST_CASE("txn/outer_commit_ends_nested");
	CHECK_INT(ATH_OK, ath_conn_begin(&t, c));
	CHECK_INT(ATH_OK, ath_conn_begin_nested(&sp1, c));
	CHECK_INT(ATH_OK, ath_txn_commit(t));
	CHECK_INT(0, ath_txn_is_active(sp1));
	ath_txn_free(sp1);
	ath_txn_free(t);

	TEST_CASE("txn/close_rolls_back");
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"uncommitted\", null]"));
	ath_conn_close(c);
	CHECK_ROWS("[[5]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));

	TEST_CASE("txn/autocommit");
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, ath_conn_set_isolation_level(c, "AUTOCOMMIT"));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"auto\", null]"));
	CHECK_INT(0, ath_conn_in_transaction(c));
	CHECK_ROWS("[[6]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));
	CHECK_ERROR(ath_conn_set_isolation_level(c, "SNAPSHOT"), "ArgumentError", "Invalid value 'SNAPSHOT' for isolation_level");
	CHECK_INT(ATH_OK, ath_conn_set_isolation_level(c, "READ UNCOMMITTED"));
	CHECK_INT(ATH_OK, run(NULL, c, COUNT_USERS, NULL));
	CHECK_ERROR(ath_conn_set_isolation_level(c, "SERIALIZABLE"), "InvalidRequestError", "transaction is in progress");
	ath_conn_close(c);

	TEST_CASE("txn/engine_autocommit_option");
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.isolation_level = "AUTOCOMMIT";
	ath_engine *ea;
	CHECK_INT(ATH_OK, ath_engine_create(&ea, "sqlite:///t_txn.db", &o));
	CHECK_INT(ATH_OK, ath_engine_connect(&c, ea));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"auto2\", null]"));
	CHECK_INT(0, ath_conn_in_transaction(c));
	CHECK_ROWS("[[7]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));
	ath_conn_close(c);
	ath_engine_free(ea);

	ath_conn_close(other);
	ath_engine_free(e);
}

static void test_values_round_trip(void)
{
	TEST_CASE("engine/values_round_trip");
	ath_engine *e = engine_for(NULL, NULL);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, run(NULL, c, "{\"k\": \"text\", \"sql\": \"CREATE TABLE v (id INTEGER PRIMARY KEY, x)\"}", NULL));
	const char *ins = "{\"k\": \"insert\", \"table\": [\"table\", \"v\"], \"columns\": [\"id\", \"x\"], \"values\": [[[\"bind\", 0], [\"bind\", 1]]]}";
	const char *sel = "{\"k\": \"select\", \"columns\": [[\"col\", \"v\", \"x\"]], \"where\": [\"=\", [\"col\", \"v\", \"id\"], [\"bind\", 0]]}";
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "null", "[[null]]" },
		{ "9223372036854775807", "[[9223372036854775807]]" },
		{ "-9223372036854775808", "[[-9223372036854775808]]" },
		{ "-0.25", "[[-0.25]]" },
		{ "\"caf\\u00e9 \\ud83d\\ude00 \\u4e2d\"", "[[\"café 😀 中\"]]" },
		{ "\"\"", "[[\"\"]]" },
		{ "{\"$bin\": \"AAEC/w==\"}", "[[{\"$bin\":\"AAEC/w==\"}]]" },
		{ "{\"$bin\": \"\"}", "[[{\"$bin\":\"\"}]]" },
		{ "true", "[[1]]" },
		{ "{\"$ext\": 2, \"v\": \"3.14159265358979323846264338327950288\"}", "[[\"3.14159265358979323846264338327950288\"]]" },
		{ "{\"$ext\": 3, \"v\": \"1969-07-20\"}", "[[\"1969-07-20\"]]" },
		{ "{\"$ext\": 5, \"v\": \"2038-01-19T03:14:08.5\"}", "[[\"2038-01-19 03:14:08.500000\"]]" },
		{ "{\"$ext\": -1, \"v\": \"1960-01-01T00:00:00.000001Z\"}", "[[\"1960-01-01 00:00:00.000001\"]]" },
		{ "{\"$ext\": 7, \"v\": \"EjRWeJCrze8SNFZ4kKvN7w==\"}", "[[\"1234567890abcdef1234567890abcdef\"]]" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char params[256], label[64];
		snprintf(label, sizeof label, "engine/values_round_trip/%zu", i);
		TEST_CASE(label);
		snprintf(params, sizeof params, "[%zu, %s]", i, cases[i].in);
		CHECK_INT(ATH_OK, run(NULL, c, ins, params));
		snprintf(params, sizeof params, "[%zu]", i);
		CHECK_ROWS(cases[i].out, c, sel, params);
	}
	TEST_CASE("engine/values_rejected");
	CHECK_ERROR(run(NULL, c, ins, "[100, {\"$uint\": \"18446744073709551615\"}]"), "DataError",
		    "placeholder 2: integer 18446744073709551615 is out of range");
	CHECK_ERROR(run(NULL, c, ins, "[101, [1, 2]]"), "DataError", "a list cannot be bound");
	CHECK_ERROR(run(NULL, c, ins, "[102, {\"a\": 1}]"), "DataError", "a map cannot be bound");
	CHECK_ERROR(run(NULL, c, ins, "[103, {\"$ext\": 1, \"v\": \"AAAAAAAAAAE=\"}]"), "DataError", "ext type 1 cannot be bound");
	CHECK_ERROR(run(NULL, c, ins, "[104]"), "ArgumentError", "a value is required for parameter 1");
	CHECK_ERROR(run(NULL, c, ins, "{\"a\": 1}"), "WireFormatError", "params: must be an array");
	ath_conn_close(c);
	ath_engine_free(e);
}

static void test_errors(void)
{
	ath_engine *e = engine_for(NULL, NULL);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, run(NULL, c, USERS_DDL, NULL));

	TEST_CASE("errors/integrity");
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"dup\", null]"));
	int rc = run(NULL, c, INSERT_USER, "[\"dup\", null]");
	CHECK_ERROR(rc, "IntegrityError", "(sqlite3) UNIQUE constraint failed: users.name");
	CHECK_INT(2067, ath_error_last()->native_code); /* SQLITE_CONSTRAINT_UNIQUE */
	CHECK_STR("INSERT INTO users (name, fullname) VALUES (?, ?)", ath_error_last()->sql);
	CHECK_STR("", ath_error_last()->sqlstate);
	CHECK(ath_error_class_is(ath_error_last()->klass, ATH_ERRCLASS_DATABASE_ERROR));
	CHECK(ath_error_class_is(ath_error_last()->klass, ATH_ERRCLASS_DBAPI_ERROR));
	CHECK(!ath_error_class_is(ath_error_last()->klass, ATH_ERRCLASS_OPERATIONAL_ERROR));
	CHECK_ERROR(run(NULL, c, INSERT_USER, "[null, null]"), "IntegrityError", "NOT NULL constraint failed: users.name");

	TEST_CASE("errors/no_such_table");
	rc = run(NULL, c, "{\"k\": \"select\", \"columns\": [[\"col\", \"nope\", \"x\"]]}", NULL);
	CHECK_ERROR(rc, "OperationalError", "no such table: nope");
	CHECK_STR("SELECT nope.x FROM nope", ath_error_last()->sql);

	TEST_CASE("errors/syntax");
	CHECK_ERROR(run(NULL, c, "{\"k\": \"text\", \"sql\": \"SELEC 1\"}", NULL), "OperationalError", "syntax error");
	CHECK_ERROR(run(NULL, c, "{\"k\": \"text\", \"sql\": \"SELECT 1; SELECT 2\"}", NULL), "ProgrammingError",
		    "one statement at a time");

	TEST_CASE("errors/compile_in_execute");
	CHECK_ERROR(run(NULL, c, "{\"k\": \"text\", \"sql\": \"SELECT :missing\"}", NULL), "CompileError", ":missing");
	CHECK_ERROR(run(NULL, c, "{\"k\": \"select\", \"columns\": [[\"nope\"]]}", NULL), "WireFormatError",
		    "$.columns[0]: unknown expression kind \"nope\"");

	TEST_CASE("errors/malformed_msgpack");
	ath_result *r = NULL;
	static const unsigned char huge_map[] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00 };
	rc = ath_conn_execute(&r, c, huge_map, sizeof huge_map, NULL, 0);
	CHECK_ERROR(rc, "WireFormatError", "shape: byte 0");
	CHECK_INT(ATH_EINVALID, rc);
	CHECK(r == NULL);
	static const unsigned char truncated[] = { 0x82, 0xa1, 'k' };
	CHECK_ERROR(ath_conn_execute(&r, c, truncated, sizeof truncated, NULL, 0), "WireFormatError", "shape");
	static const unsigned char not_a_map[] = { 0x2a };
	CHECK_ERROR(ath_conn_execute(&r, c, not_a_map, sizeof not_a_map, NULL, 0), "WireFormatError",
		    "a statement must be a map");
	ath_buf s = mp("%s", COUNT_USERS);
	static const unsigned char bad_params[] = { 0xdd, 0x7f, 0xff, 0xff, 0xff };
	CHECK_ERROR(ath_conn_execute(&r, c, s.ptr, s.size, bad_params, sizeof bad_params), "WireFormatError", "params: byte 0");
	CHECK_ERROR(ath_conn_execute(&r, c, NULL, 0, NULL, 0), "ArgumentError", "no statement shape");
	/* a NUL inside an identifier is refused (built by hand: JSON cannot hold one) */
	static const unsigned char nul_ident[] = { 0x82, 0xa1, 'k', 0xa6, 's', 'e', 'l', 'e', 'c', 't', 0xa7, 'c', 'o', 'l',
						   'u', 'm', 'n', 's', 0x91, 0x93, 0xa3, 'c', 'o', 'l', 0xa1, 't', 0xa3,
						   'a', 0x00, 'b' };
	CHECK_ERROR(ath_conn_execute(&r, c, nul_ident, sizeof nul_ident, NULL, 0), "WireFormatError",
		    "$.columns[0][2]: column name contains a NUL byte");
	/* after all of that the connection still works */
	CHECK_ROWS("[[1]]", c, COUNT_USERS, NULL);
	mp_free(&s);

	TEST_CASE("errors/misuse");
	CHECK_ERROR(ath_conn_execute(NULL, c, NULL, 0, NULL, 0), "InvalidRequestError", "out is NULL");
	CHECK_INT(ATH_EMISUSE, ath_conn_execute(&r, NULL, NULL, 0, NULL, 0));
	CHECK_CONTAINS(ath_error_last()->message, "conn is NULL");
	CHECK_INT(ATH_EMISUSE, ath_engine_connect(NULL, e));
	CHECK_INT(ATH_EMISUSE, ath_result_fetch(NULL, NULL, 0));
	CHECK_INT(-1, ath_result_rowcount(NULL));
	ath_result_close(NULL);
	ath_conn_close(NULL);
	ath_engine_free(NULL);
	ath_txn_free(NULL);
	ath_conn_close(c);
	ath_engine_free(e);

	TEST_CASE("errors/urls");
	ath_engine *bad = NULL;
	CHECK_ERROR(ath_engine_create(&bad, "not a url", NULL), "ArgumentError", "Could not parse");
	CHECK(bad == NULL);
	CHECK_ERROR(ath_engine_create(&bad, "oracle://scott:tiger@db/x", NULL), "ArgumentError", "unknown dialect 'oracle'");
	CHECK(!strstr(ath_error_last()->message, "tiger"));
	CHECK_ERROR(ath_engine_create(&bad, "sqlite:///x.db?bogus=1", NULL), "ArgumentError", "unknown sqlite URL option 'bogus'");
	CHECK_ERROR(ath_engine_create(&bad, "sqlite:///x.db?timeout=soon", NULL), "ArgumentError", "timeout");
	CHECK_ERROR(ath_engine_create(&bad, "sqlite://user@host/x.db", NULL), "ArgumentError", "no host");
	CHECK_ERROR(ath_engine_create(&bad, "sqlite+oracle:///x.db", NULL), "ArgumentError", "unknown driver 'oracle'");
	CHECK_ERROR(ath_engine_create(&bad, "postgresql://u@localhost/db?bogus=1", NULL), "ArgumentError",
		    "unknown postgresql URL option 'bogus'");
	/* a path that cannot be opened: the engine is created, connecting fails */
	CHECK_INT(ATH_OK, ath_engine_create(&bad, "sqlite:///nonexistent-dir/x/y.db", NULL));
	ath_conn *nc = NULL;
	CHECK_ERROR(ath_engine_connect(&nc, bad), "OperationalError", "unable to open database file");
	CHECK(nc == NULL);
	ath_engine_free(bad);
	ath_engine_options o;
	CHECK_INT(ATH_EINVALID, ath_engine_options_init(&o, 99));
	CHECK_INT(ATH_OK, ath_engine_options_init(&o, ATH_ENGINE_OPTIONS_VERSION));
	o.version = 42;
	CHECK_ERROR(ath_engine_create(&bad, "sqlite://", &o), "InvalidRequestError", "unknown options version 42");
}

static void test_lifetimes(void)
{
	TEST_CASE("lifetime/engine_freed_before_connection");
	ath_engine *e = engine_for(NULL, NULL);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	ath_engine_free(e); /* the open connection keeps it alive */
	CHECK_ROWS("[[1]]", c, "{\"k\": \"select\", \"columns\": [[\"lit\", 1]]}", NULL);

	TEST_CASE("lifetime/connection_closed_before_result");
	CHECK_INT(ATH_OK, run(NULL, c, USERS_DDL, NULL));
	CHECK_INT(ATH_OK, run_many(c, INSERT_USER, "[[\"a\", null], [\"b\", null], [\"c\", null]]", NULL));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	ath_txn *t;
	CHECK_INT(ATH_OK, ath_conn_begin(&t, c));
	ath_result *r;
	CHECK_INT(ATH_OK, run(&r, c, SELECT_NAMES, NULL));
	ath_conn_close(c); /* the result and the transaction handle keep it alive */
	CHECK_INT(ATH_EMISUSE, run(NULL, c, COUNT_USERS, NULL));
	CHECK_CONTAINS(ath_error_last()->message, "closed");
	CHECK_INT(0, ath_txn_is_active(t)); /* closing rolled it back */
	ath_buf b = ATH_BUF_INIT;
	CHECK_INT(ATH_OK, ath_result_fetch(&b, r, 10));
	char *j = as_json(b.ptr, b.size);
	CHECK_STR("[[\"a\"],[\"b\"],[\"c\"]]", j);
	free(j);
	ath_buf_dispose(&b);
	ath_txn_free(t);
	ath_result_close(r); /* the last reference: connection and engine go now */

	TEST_CASE("lifetime/memory_database_shared");
	e = engine_for(NULL, NULL);
	ath_conn *c1, *c2;
	CHECK_INT(ATH_OK, ath_engine_connect(&c1, e));
	CHECK_INT(ATH_OK, run(NULL, c1, USERS_DDL, NULL));
	CHECK_INT(ATH_OK, ath_conn_commit(c1));
	ath_conn_close(c1);
	CHECK_INT(ATH_OK, ath_engine_connect(&c2, e));
	CHECK_ROWS("[[0]]", c2, COUNT_USERS, NULL); /* the table is still there: one database per engine */
	ath_conn_close(c2);
	ath_engine_free(e);
}

typedef struct log_capture {
	char text[16384];
	size_t len;
} log_capture;

static void capture(ath_log_level level, const char *msg, void *payload)
{
	log_capture *lc = payload;
	int n = snprintf(lc->text + lc->len, sizeof lc->text - lc->len, "%s\n", msg);
	if (n > 0 && lc->len + (size_t)n < sizeof lc->text)
		lc->len += (size_t)n;
}

static void test_echo(void)
{
	TEST_CASE("engine/echo");
	log_capture lc = { .len = 0 };
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.flags = ATH_ENGINE_ECHO;
	o.log_cb = capture;
	o.log_payload = &lc;
	ath_engine *e = engine_for(NULL, &o);
	ath_conn *c;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	CHECK_INT(ATH_OK, run(NULL, c, USERS_DDL, NULL));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"x\", \"it's\"]"));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"y\", null]"));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	CHECK_CONTAINS(lc.text, "BEGIN (implicit)\nCREATE TABLE users");
	CHECK_CONTAINS(lc.text, "[generated in ");
	CHECK_CONTAINS(lc.text, "INSERT INTO users (name, fullname) VALUES (?, ?)\n[generated in ");
	CHECK_CONTAINS(lc.text, "] ('x', 'it's')");
	CHECK_CONTAINS(lc.text, "[cached since ");
	CHECK_CONTAINS(lc.text, "ago] ('y', None)");
	CHECK_CONTAINS(lc.text, "COMMIT");
	ath_conn_close(c);
	ath_engine_free(e);
}

int main(int argc, char **argv)
{
	test_insert_select_header();
	test_inserted_pk_without_rowid();
	test_executemany_and_batches();
	test_expanding_in();
	test_compiled_once();
	test_columns_cached();
	test_transactions();
	test_values_round_trip();
	test_errors();
	test_lifetimes();
	test_echo();
	return test_exit();
}
