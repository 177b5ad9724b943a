/* suite.c — the behaviour suite every backend runs (SQLAlchemy's compliance suite in miniature):
 * execute / executemany (insertmanyvalues, pipelining) / fetch in batches / streaming, RETURNING,
 * inserted primary keys (one row, and every row of an executemany), two-phase commit and recovery, every transaction
 * form (autobegin, commit, rollback, explicit begin, savepoints, AUTOCOMMIT, isolation levels),
 * error classes for constraint violations and syntax errors, and a backend disconnect after which
 * the pool recovers with no committed row lost. `test_suite [sqlite|postgresql|mysql]`: the server
 * backends read ATHANOR_TEST_PG_URL / ATHANOR_TEST_MYSQL_URL and exit 77 (skipped) without it,
 * unless ATHANOR_TEST_REQUIRE_SERVERS=1; RETURNING runs on MySQL's server (MariaDB) through a mariadb:// URL.
 * Backend differences are the strings in `backends`. */
#include <athanor/athanor.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "wirejson.h"

typedef struct backend {
	const char *name, *url_env;
	const char *users_ddl;
	const char *syntax_class, *syntax_state; /* "SELEC 1" */
	const char *unique_state;                /* SQLSTATE of a unique violation ("" = none) */
	int unique_native;                       /* native code of a unique violation (0 = not checked) */
	const char *pid_sql;                     /* this connection's server id; NULL = no server */
	const char *kill_pre, *kill_post;        /* SQL killing a server connection: pre + id + post */
	const char *isolation_sql;               /* reads the session's isolation level back */
	const char *series_setup;                /* lets WITH RECURSIVE count to 20000; NULL = not needed */
} backend;

static const backend backends[] = {
	{ "sqlite", NULL, "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, fullname TEXT)",
	  "OperationalError", "", "", 2067, NULL, NULL, NULL, NULL, NULL },
	{ "postgresql", "ATHANOR_TEST_PG_URL",
	  "CREATE TABLE users (id SERIAL PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, fullname TEXT)",
	  "ProgrammingError", "42601", "23505", 0, "SELECT pg_backend_pid()", "SELECT pg_terminate_backend(", ")",
	  "SHOW transaction_isolation", NULL },
	{ "mysql", "ATHANOR_TEST_MYSQL_URL",
	  "CREATE TABLE users (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE, "
	  "fullname TEXT) ENGINE=InnoDB",
	  "ProgrammingError", "42000", "23000", 1062, "SELECT CONNECTION_ID()", "KILL ", "", "SELECT @@tx_isolation",
	  "SET SESSION max_recursive_iterations = 100000" /* MariaDB's default stops at 1000 */ },
};

static const backend *B;
static char url[1024];
/* The URL for RETURNING tests: MySQL's server is MariaDB 10.11, reached as mariadb:// so the
 * mariadb dialect (INSERT / DELETE ... RETURNING) is used; mysql:// keeps MySQL's rules (none). */
static char returning_url[1024];

static const char *INSERT_USER = "{\"k\": \"insert\", \"table\": [\"table\", \"users\"], \"columns\": [\"name\", "
				 "\"fullname\"], \"values\": [[[\"bind\", 0], [\"bind\", 1]]]}";
static const char *SELECT_NAMES = "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"]], "
				  "\"order_by\": [[\"col\", \"users\", \"id\"]]}";
static const char *COUNT_USERS = "{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"users\"]]}";

static ath_engine *engine_at(const char *u, const ath_engine_options *o)
{
	ath_engine *e = NULL;
	if (ath_engine_create(&e, u, o) != ATH_OK) {
		fprintf(stderr, "engine %s: %s\n", B->name, ath_error_last()->message);
		exit(1);
	}
	return e;
}

static ath_engine *engine(const ath_engine_options *o) { return engine_at(url, o); }

static ath_conn *connect_or_die(ath_engine *e)
{
	ath_conn *c = NULL;
	if (ath_engine_connect(&c, e) != ATH_OK) {
		fprintf(stderr, "connect %s: %s\n", B->name, ath_error_last()->message);
		exit(1);
	}
	return c;
}

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

static int text(ath_conn *c, const char *sql)
{
	char shape[1024];
	snprintf(shape, sizeof shape, "{\"k\": \"text\", \"sql\": \"%s\"}", sql);
	return run(NULL, c, shape, NULL);
}

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

static char *text_rows(ath_conn *c, const char *sql)
{
	char shape[1024];
	snprintf(shape, sizeof shape, "{\"k\": \"text\", \"sql\": \"%s\"}", sql);
	return rows(c, shape, NULL);
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

static void fresh_users(ath_conn *c)
{
	CHECK_INT(ATH_OK, text(c, "DROP TABLE IF EXISTS users"));
	CHECK_INT(ATH_OK, text(c, B->users_ddl));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
}

static long long stat_of(ath_engine *e, const char *group, const char *key)
{
	ath_buf b = ATH_BUF_INIT;
	ath_engine_stats(&b, e);
	json_t *j = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
	long long v = (long long)json_integer_value(json_object_get(json_object_get(j, group), key));
	json_decref(j);
	ath_buf_dispose(&b);
	return v;
}

static void test_execute(ath_engine *e)
{
	TEST_CASE("suite/execute_insert_select");
	ath_conn *c = connect_or_die(e);
	fresh_users(c);
	ath_result *r;
	CHECK_INT(ATH_OK, run(&r, c, INSERT_USER, "[\"spongebob\", \"Spongebob Squarepants\"]"));
	CHECK_INT(1, ath_result_rowcount(r));
	ath_buf b = ATH_BUF_INIT;
	CHECK_INT(ATH_OK, ath_result_inserted_primary_key(&b, r));
	char *j = as_json(b.ptr, b.size);
	CHECK_STR("[1]", j);
	free(j);
	ath_result_close(r);
	CHECK_INT(ATH_OK, run(&r, c, INSERT_USER, "[\"sandy\", null]"));
	CHECK_INT(ATH_OK, ath_result_inserted_primary_key(&b, r));
	j = as_json(b.ptr, b.size);
	CHECK_STR("[2]", j);
	free(j);
	ath_result_close(r);
	CHECK_ROWS("[[\"spongebob\"],[\"sandy\"]]", c, SELECT_NAMES, NULL);
	CHECK_ROWS("[[2]]", c, COUNT_USERS, NULL);
	CHECK_ROWS("[[42]]", c, "{\"k\": \"select\", \"columns\": [[\"lit\", 42]]}", NULL);

	TEST_CASE("suite/header_types"); /* no metadata: the driver's types, mapped to generic ones */
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"id\"], [\"col\", \"users\", \"name\"], "
			      "[\"col\", \"users\", \"fullname\"]]}", NULL));
	CHECK_INT(ATH_OK, ath_result_header(&b, r));
	json_t *h = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
	j = json_dumps(json_object_get(h, "columns"), JSON_COMPACT);
	CHECK_STR("[{\"name\":\"id\",\"type\":[\"Integer\"]},{\"name\":\"name\",\"type\":[\"String\"]},"
		  "{\"name\":\"fullname\",\"type\":[\"Text\"]}]", j);
	free(j);
	json_decref(h);
	ath_result_close(r);
	CHECK_ROWS("[[\"caf\u00e9\"]]", c, "{\"k\": \"select\", \"columns\": [[\"bind\", 0]]}", "[\"caf\u00e9\"]");

	TEST_CASE("suite/update_delete_rowcount");
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"update\", \"table\": [\"table\", \"users\"], \"set\": [[\"fullname\", [\"lit\", \"x\"]]]}", NULL));
	CHECK_INT(2, ath_result_rowcount(r));
	ath_result_close(r);
	/* matched, not changed, rows (CLIENT_FOUND_ROWS on MySQL) */
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"update\", \"table\": [\"table\", \"users\"], \"set\": [[\"fullname\", [\"lit\", \"x\"]]]}", NULL));
	CHECK_INT(2, ath_result_rowcount(r));
	ath_result_close(r);
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"delete\", \"table\": [\"table\", \"users\"], \"where\": [\"=\", [\"col\", \"users\", \"name\"], [\"bind\", 0]]}", "[\"sandy\"]"));
	CHECK_INT(1, ath_result_rowcount(r));
	ath_result_close(r);
	CHECK_INT(ATH_OK, ath_conn_commit(c));

	TEST_CASE("suite/executemany_batches");
	char *params = malloc(40 * 1000 + 16), *p = params;
	p += sprintf(p, "[");
	for (int i = 1; i <= 1000; i++)
		p += sprintf(p, "%s[\"u%d\", \"%d\"]", i > 1 ? "," : "", i, i * i);
	sprintf(p, "]");
	ath_buf s = mp("%s", INSERT_USER), pr = mp("%s", params);
	free(params);
	CHECK_INT(ATH_OK, ath_conn_executemany(&r, c, s.ptr, s.size, pr.ptr, pr.size));
	CHECK_INT(1000, ath_result_rowcount(r));
	ath_result_close(r);
	mp_free(&s);
	mp_free(&pr);
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"]], \"where\": [\"like\", "
			      "[\"col\", \"users\", \"name\"], [\"bind\", 0]], \"order_by\": [[\"col\", \"users\", \"id\"]]}", "[\"u%\"]"));
	int batches = 0, total = 0, rc;
	while ((rc = ath_result_fetch(&b, r, 100)) == ATH_OK) {
		json_t *jj = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
		batches++;
		total += (int)json_array_size(jj);
		json_decref(jj);
	}
	CHECK_INT(ATH_ITEROVER, rc);
	CHECK_INT(10, batches);
	CHECK_INT(1000, total);
	ath_result_close(r);
	CHECK_INT(ATH_OK, ath_conn_commit(c));

	TEST_CASE("suite/expanding_in");
	CHECK_ROWS("[[\"u1\"],[\"u3\"]]", c, "{\"k\": \"select\", \"columns\": [[\"col\", \"users\", \"name\"]], \"where\": [\"in\", "
		   "[\"col\", \"users\", \"name\"], [\"expanding\", 0]], \"order_by\": [[\"col\", \"users\", \"id\"]]}", "[[\"u1\", \"u3\", \"zz\"]]");
	ath_buf_dispose(&b);
	ath_conn_close(c);
}

static void test_streaming(void)
{
	TEST_CASE("suite/streaming");
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.flags = ATH_ENGINE_STREAM_RESULTS;
	ath_engine *e = engine(&o);
	ath_conn *c = connect_or_die(e);
	ath_result *r;
	if (B->series_setup)
		CHECK_INT(ATH_OK, text(c, B->series_setup));
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"text\", \"sql\": \"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
				     "FROM s WHERE n < 20000) SELECT n FROM s\"}", NULL));
	ath_buf b = ATH_BUF_INIT;
	long long sum = 0, n = 0;
	int rc;
	while ((rc = ath_result_fetch(&b, r, 1000)) == ATH_OK) {
		json_t *jj = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
		for (size_t i = 0; i < json_array_size(jj); i++, n++)
			sum += json_integer_value(json_array_get(json_array_get(jj, i), 0));
		json_decref(jj);
	}
	CHECK_INT(ATH_ITEROVER, rc);
	CHECK_INT(20000, n);
	CHECK_INT(20000LL * 20001 / 2, sum);
	ath_result_close(r);
	/* a stream closed early leaves the connection usable */
	CHECK_INT(ATH_OK, run(&r, c, "{\"k\": \"text\", \"sql\": \"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
				     "FROM s WHERE n < 5000) SELECT n FROM s\"}", NULL));
	CHECK_INT(ATH_OK, ath_result_fetch(&b, r, 10));
	ath_result_close(r);
	CHECK_ROWS("[[7]]", c, "{\"k\": \"select\", \"columns\": [[\"lit\", 7]]}", NULL);
	ath_buf_dispose(&b);
	ath_conn_close(c);
	ath_engine_free(e);
}

static void test_transactions(ath_engine *e)
{
	ath_conn *c = connect_or_die(e), *other = connect_or_die(e);
	fresh_users(c);

	TEST_CASE("suite/txn/autobegin_rollback");
	CHECK_INT(0, ath_conn_in_transaction(c));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"gone\", null]"));
	CHECK_INT(1, ath_conn_in_transaction(c));
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_ROWS("[[0]]", c, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));

	TEST_CASE("suite/txn/commit_visible_elsewhere");
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"kept\", null]"));
	CHECK_ROWS("[[0]]", other, COUNT_USERS, NULL); /* not yet committed */
	CHECK_INT(ATH_OK, ath_conn_rollback(other));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	CHECK_ROWS("[[1]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));

	TEST_CASE("suite/txn/explicit_begin");
	ath_txn *t, *sp1, *sp2;
	CHECK_INT(ATH_OK, ath_conn_begin(&t, c));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"explicit\", null]"));
	CHECK_INT(ATH_OK, ath_txn_commit(t));
	ath_txn_free(t);
	CHECK_INT(ATH_OK, ath_conn_begin(&t, c));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"dropped\", null]"));
	ath_txn_free(t);
	CHECK_ROWS("[[2]]", c, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));

	TEST_CASE("suite/txn/savepoints");
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"outer\", null]"));
	CHECK_INT(ATH_OK, ath_conn_begin_nested(&sp1, c));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"inner1\", null]"));
	CHECK_INT(ATH_OK, ath_conn_begin_nested(&sp2, c));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"inner2\", null]"));
	CHECK_INT(ATH_OK, ath_txn_rollback(sp2));
	CHECK_INT(ATH_OK, ath_txn_commit(sp1));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	ath_txn_free(sp1);
	ath_txn_free(sp2);
	CHECK_ROWS("[[\"kept\"],[\"explicit\"],[\"outer\"],[\"inner1\"]]", other, SELECT_NAMES, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));

	TEST_CASE("suite/txn/savepoint_integrity_error_recovers");
	CHECK_INT(ATH_OK, ath_conn_begin_nested(&sp1, c));
	int rc = run(NULL, c, INSERT_USER, "[\"kept\", null]");
	CHECK_ERROR(rc, "IntegrityError", "");
	CHECK_STR(B->unique_state, ath_error_last()->sqlstate);
	if (B->unique_native)
		CHECK_INT(B->unique_native, ath_error_last()->native_code);
	CHECK_CONTAINS(ath_error_last()->sql, "INSERT INTO users");
	CHECK_INT(ATH_OK, ath_txn_rollback(sp1));
	ath_txn_free(sp1);
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"after\", null]"));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	CHECK_ROWS("[[5]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));

	TEST_CASE("suite/txn/close_rolls_back");
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"uncommitted\", null]"));
	ath_conn_close(c);
	CHECK_ROWS("[[5]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));

	TEST_CASE("suite/txn/autocommit");
	c = connect_or_die(e);
	CHECK_INT(ATH_OK, ath_conn_set_isolation_level(c, "AUTOCOMMIT"));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"auto\", null]"));
	CHECK_INT(0, ath_conn_in_transaction(c));
	CHECK_ROWS("[[6]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(other));
	CHECK_ERROR(ath_conn_set_isolation_level(c, "SNAPSHOT"), "ArgumentError", "Invalid value 'SNAPSHOT' for isolation_level");
	ath_conn_close(c);

	if (B->isolation_sql) {
		static const struct {
			const char *level, *pg, *my;
		} levels[] = {
			{ "SERIALIZABLE", "[[\"serializable\"]]", "[[\"SERIALIZABLE\"]]" },
			{ "REPEATABLE READ", "[[\"repeatable read\"]]", "[[\"REPEATABLE-READ\"]]" },
			{ "READ COMMITTED", "[[\"read committed\"]]", "[[\"READ-COMMITTED\"]]" },
			{ "READ UNCOMMITTED", "[[\"read uncommitted\"]]", "[[\"READ-UNCOMMITTED\"]]" },
		};
		for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
			char name[80];
			snprintf(name, sizeof name, "suite/txn/isolation/%s", levels[i].level);
			TEST_CASE(name);
			c = connect_or_die(e);
			CHECK_INT(ATH_OK, ath_conn_set_isolation_level(c, levels[i].level));
			char *got = text_rows(c, B->isolation_sql);
			CHECK_STR(strcmp(B->name, "postgresql") == 0 ? levels[i].pg : levels[i].my, got);
			free(got);
			ath_conn_close(c);
		}
		TEST_CASE("suite/txn/isolation_reset_on_return");
		c = connect_or_die(e);
		char *got = text_rows(c, B->isolation_sql);
		CHECK_STR(strcmp(B->name, "postgresql") == 0 ? "[[\"read committed\"]]" : "[[\"REPEATABLE-READ\"]]", got);
		free(got);
		ath_conn_close(c);

		TEST_CASE("suite/txn/engine_isolation_level");
		ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
		o.isolation_level = "SERIALIZABLE";
		ath_engine *es = engine(&o);
		c = connect_or_die(es);
		got = text_rows(c, B->isolation_sql);
		CHECK_STR(strcmp(B->name, "postgresql") == 0 ? "[[\"serializable\"]]" : "[[\"SERIALIZABLE\"]]", got);
		free(got);
		ath_conn_close(c);
		ath_engine_free(es);
	}
	ath_conn_close(other);
}

/* ---- executemany: insertmanyvalues, pipelining ---------------------------------------------- */

static const char *INSERT_USER_RETURNING =
	"{\"k\": \"insert\", \"table\": [\"table\", \"users\"], \"columns\": [\"name\", \"fullname\"], "
	"\"values\": [[[\"bind\", 0], [\"bind\", 1]]], \"returning\": [[\"col\", \"users\", \"id\"], [\"col\", "
	"\"users\", \"name\"]]}";

static int executemany_json(ath_result **out, ath_conn *c, const char *shape, const char *rows_json)
{
	ath_buf s = mp("%s", shape), p = mp("%s", rows_json);
	int rc = ath_conn_executemany(out, c, s.ptr, s.size, p.ptr, p.size);
	mp_free(&s);
	mp_free(&p);
	return rc;
}

/* [["<prefix>1", "1"], ...] */
static char *user_rows(const char *prefix, int from, int to)
{
	char *buf = malloc((size_t)(to - from + 1) * 48 + 8), *p = buf;
	p += sprintf(p, "[");
	for (int i = from; i <= to; i++)
		p += sprintf(p, "%s[\"%s%d\", \"%d\"]", i > from ? "," : "", prefix, i, i);
	sprintf(p, "]");
	return buf;
}

static void test_executemany(ath_engine *e, ath_engine *er)
{
	ath_conn *c = connect_or_die(e);
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	fresh_users(c);
	int rc;
	char *params;

	if (strcmp(B->name, "mysql") == 0) {
		TEST_CASE("suite/returning_refused_by_mysql_dialect");
		/* MySQL has no RETURNING: the mysql:// dialect refuses it even though this server (MariaDB)
		 * would take it */
		rc = executemany_json(&r, c, INSERT_USER_RETURNING, "[[\"x\", null]]");
		CHECK_ERROR(rc, "NotSupportedError", "INSERT ... RETURNING is not supported by the mysql dialect");
		CHECK_INT(ATH_OK, ath_conn_rollback(c));
	}
	ath_conn_close(c);
	c = connect_or_die(er);

	TEST_CASE("suite/insert_delete_returning");
	CHECK_ROWS("[[1,\"one\"]]", c, INSERT_USER_RETURNING, "[\"one\", null]");
	CHECK_ROWS("[[1,\"one\"]]", c, "{\"k\": \"delete\", \"table\": [\"table\", \"users\"], \"where\": [\"=\", "
		   "[\"col\", \"users\", \"name\"], [\"bind\", 0]], \"returning\": [[\"col\", \"users\", \"id\"], "
		   "[\"col\", \"users\", \"name\"]]}", "[\"one\"]");
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	fresh_users(c); /* MariaDB does not hand a rolled-back AUTO_INCREMENT value out again */

	TEST_CASE("suite/executemany_returning");
	params = user_rows("r", 1, 2500); /* three batches: 1000 + 1000 + 500 */
	rc = executemany_json(&r, c, INSERT_USER_RETURNING, params);
	free(params);
	{
		CHECK_INT(ATH_OK, rc);
		CHECK_INT(1, ath_result_returns_rows(r));
		CHECK_INT(2500, ath_result_rowcount(r));
		CHECK_INT(2, ath_result_column_count(r));
		int n = 0, in_order = 1, batches = 0;
		while ((rc = ath_result_fetch(&b, r, 700)) == ATH_OK) {
			json_t *jj = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
			batches++;
			for (size_t i = 0; i < json_array_size(jj); i++) {
				json_t *row = json_array_get(jj, i);
				char want[16];
				n++;
				snprintf(want, sizeof want, "r%d", n);
				if (json_integer_value(json_array_get(row, 0)) != n ||
				    strcmp(json_string_value(json_array_get(row, 1)), want) != 0)
					in_order = 0;
			}
			json_decref(jj);
		}
		CHECK_INT(ATH_ITEROVER, rc);
		CHECK_INT(2500, n);
		CHECK_INT(4, batches);
		CHECK_INT(1, in_order); /* rows come back in input order, ids 1..2500 */
	}
	ath_result_close(r);
	r = NULL;
	CHECK_INT(ATH_OK, ath_conn_rollback(c));

	TEST_CASE("suite/executemany_returning_one_row");
	{
		CHECK_INT(ATH_OK, executemany_json(&r, c, INSERT_USER_RETURNING, "[[\"solo\", null]]"));
		CHECK_INT(ATH_OK, ath_result_fetch_all(&b, r));
		char *j = as_json(b.ptr, b.size);
		CHECK_CONTAINS(j, "\"solo\"]]");
		free(j);
		ath_result_close(r);
		r = NULL;
		CHECK_INT(ATH_OK, ath_conn_rollback(c));
	}
	ath_conn_close(c);
	c = connect_or_die(e);

	TEST_CASE("suite/executemany_plain_10000");
	params = user_rows("p", 1, 10000);
	CHECK_INT(ATH_OK, executemany_json(&r, c, INSERT_USER, params));
	free(params);
	CHECK_INT(10000, ath_result_rowcount(r));
	CHECK_INT(0, ath_result_returns_rows(r));
	ath_result_close(r);
	r = NULL;
	CHECK_ROWS("[[10000]]", c, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(c));

	TEST_CASE("suite/executemany_update_rowcount");
	CHECK_INT(ATH_OK, executemany_json(&r, c, "{\"k\": \"update\", \"table\": [\"table\", \"users\"], \"set\": "
				       "[[\"fullname\", [\"bind\", 1]]], \"where\": [\"=\", [\"col\", \"users\", \"name\"], "
				       "[\"bind\", 0]]}", "[[\"p1\", \"x\"], [\"p2\", \"y\"], [\"nobody\", \"z\"]]"));
	CHECK_INT(2, ath_result_rowcount(r));
	ath_result_close(r);
	r = NULL;
	CHECK_INT(ATH_OK, ath_conn_commit(c));

	TEST_CASE("suite/executemany_error_names_row");
	/* row 3 repeats an existing name: the batch (or row) fails with IntegrityError */
	rc = executemany_json(&r, c, INSERT_USER, "[[\"e0\", null], [\"e1\", null], [\"e2\", null], [\"p5\", null], [\"e4\", null]]");
	CHECK_ERROR(rc, "IntegrityError", "executemany row");
	CHECK(r == NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_ROWS("[[10000]]", c, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_commit(c));

	TEST_CASE("suite/executemany_autocommit");
	/* no transaction: row by row (PostgreSQL does not pipeline), each row commits */
	CHECK_INT(ATH_OK, ath_conn_set_isolation_level(c, "AUTOCOMMIT"));
	rc = executemany_json(&r, c, INSERT_USER, "[[\"a0\", null], [\"a1\", null]]");
	CHECK_INT(ATH_OK, rc);
	CHECK_INT(2, ath_result_rowcount(r));
	ath_result_close(r);
	CHECK_ROWS("[[10002]]", c, COUNT_USERS, NULL);
	ath_buf_dispose(&b);
	ath_conn_close(c);
}

/* ---- inserted primary keys of executemany (return_defaults) ---------------------------------- */

static int executemany_flags(ath_result **out, ath_conn *c, const char *shape, const char *rows_json, uint32_t flags)
{
	ath_buf s = mp("%s", shape), p = mp("%s", rows_json);
	int rc = ath_conn_executemany_v2(out, c, s.ptr, s.size, p.ptr, p.size, flags);
	mp_free(&s);
	mp_free(&p);
	return rc;
}

/* inserted_primary_key_rows as JSON (or the error message) */
static char *pk_rows(ath_result *r)
{
	ath_buf b = ATH_BUF_INIT;
	char *j = ath_result_inserted_primary_key_rows(&b, r) == ATH_OK ? as_json(b.ptr, b.size)
									: strdup(ath_error_last()->message);
	ath_buf_dispose(&b);
	return j;
}

#define CHECK_PK_ROWS(expected, r)                                                                 \
	do {                                                                                       \
		char *got_ = pk_rows(r);                                                           \
		CHECK_STR(expected, got_);                                                         \
		free(got_);                                                                        \
	} while (0)

static const char *INSERT_KV = "{\"k\": \"insert\", \"table\": [\"table\", \"kv\"], \"columns\": [\"k\", \"v\"], "
			       "\"values\": [[[\"bind\", 0], [\"bind\", 1]]]}";
static const char *INSERT_PAIR = "{\"k\": \"insert\", \"table\": [\"table\", \"pair\"], \"columns\": [\"b\", \"v\"], "
				 "\"values\": [[[\"bind\", 0], [\"bind\", 1]]]}";
static const char *INSERT_PAIR_AB = "{\"k\": \"insert\", \"table\": [\"table\", \"pair\"], \"columns\": [\"a\", \"b\", "
				    "\"v\"], \"values\": [[[\"bind\", 0], [\"bind\", 1], [\"bind\", 2]]]}";

/* Executemany with ATH_EXEC_RETURN_DEFAULTS on `e`: 2,500 generated keys in input order. */
static void pk_rows_generated(ath_engine *e, const char *name)
{
	TEST_CASE(name);
	ath_conn *c = connect_or_die(e);
	fresh_users(c);
	ath_result *r = NULL;
	char *params = user_rows("k", 1, 2500);
	CHECK_INT(ATH_OK, executemany_flags(&r, c, INSERT_USER, params, ATH_EXEC_RETURN_DEFAULTS));
	free(params);
	CHECK_INT(2500, ath_result_rowcount(r));
	CHECK_INT(0, ath_result_returns_rows(r));
	ath_buf b = ATH_BUF_INIT;
	CHECK_INT(ATH_OK, ath_result_inserted_primary_key_rows(&b, r));
	json_t *j = jsonwire_from_msgpack(b.ptr, b.size, NULL, 0);
	int ok = json_is_array(j) && json_array_size(j) == 2500;
	for (size_t i = 0; ok && i < json_array_size(j); i++) {
		json_t *row = json_array_get(j, i);
		ok = json_array_size(row) == 1 && json_integer_value(json_array_get(row, 0)) == (json_int_t)i + 1;
	}
	CHECK_INT(1, ok); /* [[1], [2], ..., [2500]] */
	json_decref(j);
	ath_buf_dispose(&b);
	ath_result_close(r);
	CHECK_ROWS("[[2500]]", c, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	ath_conn_close(c);
}

static void test_pk_rows(ath_engine *e, ath_engine *er)
{
	int mysql = strcmp(B->name, "mysql") == 0;
	/* SQLite, PostgreSQL, MariaDB: RETURNING "id" on the insertmanyvalues batches */
	pk_rows_generated(er, "suite/pk_rows/executemany_2500");
	if (mysql) /* the mysql dialect has no RETURNING: one execute per row, keys from lastrowid */
		pk_rows_generated(e, "suite/pk_rows/mysql_fallback_2500");

	ath_conn *c = connect_or_die(er);
	ath_result *r = NULL;
	TEST_CASE("suite/pk_rows/client_supplied_pk");
	CHECK_INT(ATH_OK, text(c, "DROP TABLE IF EXISTS kv"));
	CHECK_INT(ATH_OK, text(c, "CREATE TABLE kv (k VARCHAR(20) PRIMARY KEY, v INTEGER)"));
	CHECK_INT(ATH_OK, executemany_flags(&r, c, INSERT_KV, "[[\"a\", 1], [\"b\", 2], [\"c\", 3]]", ATH_EXEC_RETURN_DEFAULTS));
	CHECK_PK_ROWS("[[\"a\"],[\"b\"],[\"c\"]]", r);
	CHECK_INT(3, ath_result_rowcount(r));
	ath_result_close(r);

	TEST_CASE("suite/pk_rows/composite_pk");
	CHECK_INT(ATH_OK, text(c, "DROP TABLE IF EXISTS pair"));
	CHECK_INT(ATH_OK, text(c, "CREATE TABLE pair (a INTEGER NOT NULL DEFAULT 7, b VARCHAR(10) NOT NULL, v INTEGER, "
				  "PRIMARY KEY (a, b))"));
	CHECK_INT(ATH_OK, executemany_flags(&r, c, INSERT_PAIR_AB, "[[1, \"x\", 0], [1, \"y\", 0], [2, \"x\", 0]]",
					    ATH_EXEC_RETURN_DEFAULTS));
	CHECK_PK_ROWS("[[1,\"x\"],[1,\"y\"],[2,\"x\"]]", r); /* given: taken from the rows */
	ath_result_close(r);
	/* `a` comes from its server default: RETURNING brings it back */
	CHECK_INT(ATH_OK, executemany_flags(&r, c, INSERT_PAIR, "[[\"p\", 0], [\"q\", 0]]", ATH_EXEC_RETURN_DEFAULTS));
	CHECK_PK_ROWS("[[7,\"p\"],[7,\"q\"]]", r);
	ath_result_close(r);
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	ath_conn_close(c);
	if (mysql) {
		TEST_CASE("suite/pk_rows/mysql_fallback_composite");
		/* without RETURNING only a lone AUTO_INCREMENT key is learnt (lastrowid), as SQLAlchemy */
		c = connect_or_die(e);
		CHECK_INT(ATH_OK, executemany_flags(&r, c, INSERT_PAIR, "[[\"r\", 0], [\"s\", 0]]", ATH_EXEC_RETURN_DEFAULTS));
		CHECK_PK_ROWS("[[null,\"r\"],[null,\"s\"]]", r);
		ath_result_close(r);
		CHECK_INT(ATH_OK, executemany_flags(&r, c, INSERT_KV, "[[\"d\", 4], [\"e\", 5]]", ATH_EXEC_RETURN_DEFAULTS));
		CHECK_PK_ROWS("[[\"d\"],[\"e\"]]", r);
		ath_result_close(r);
		CHECK_INT(ATH_OK, ath_conn_rollback(c));
		ath_conn_close(c);
	}

	TEST_CASE("suite/pk_rows/other_forms");
	c = connect_or_die(e);
	fresh_users(c);
	CHECK_INT(ATH_OK, run(&r, c, INSERT_USER, "[\"single\", null]"));
	CHECK_PK_ROWS("[[1]]", r); /* a single-row execute: [inserted_primary_key] */
	ath_result_close(r);
	CHECK_INT(ATH_OK, executemany_json(&r, c, INSERT_USER, "[[\"m1\", null], [\"m2\", null]]"));
	CHECK_PK_ROWS("null", r); /* executemany without the flag */
	ath_result_close(r);
	CHECK_INT(ATH_OK, executemany_flags(&r, c, "{\"k\": \"update\", \"table\": [\"table\", \"users\"], \"set\": "
					    "[[\"fullname\", [\"bind\", 1]]], \"where\": [\"=\", [\"col\", \"users\", \"name\"], "
					    "[\"bind\", 0]]}", "[[\"m1\", \"x\"]]", ATH_EXEC_RETURN_DEFAULTS));
	CHECK_PK_ROWS("null", r); /* not an INSERT */
	CHECK_INT(1, ath_result_rowcount(r));
	ath_result_close(r);
	r = NULL;
	CHECK_ERROR(executemany_flags(&r, c, INSERT_USER, "[[\"m3\", null]]", 0x80), "ArgumentError", "unknown execution flags");
	CHECK(r == NULL);
	CHECK_INT(ATH_OK, executemany_flags(&r, c, INSERT_USER, "[[\"m4\", null]]", 0));
	CHECK_PK_ROWS("null", r);
	ath_result_close(r);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_INT(ATH_OK, text(c, "DROP TABLE kv"));
	CHECK_INT(ATH_OK, text(c, "DROP TABLE pair"));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	ath_conn_close(c);
}

/* ---- two-phase commit ---------------------------------------------------------------------- */

/* The last statement an echo engine logged. */
static void last_sql(ath_log_level level, const char *msg, void *payload)
{
	(void)level;
	if (strncmp(msg, "INSERT", 6) == 0)
		snprintf(payload, 512, "%s", msg);
}

static char *pk_of(ath_result *r)
{
	ath_buf b = ATH_BUF_INIT;
	char *j = ath_result_inserted_primary_key(&b, r) == ATH_OK ? as_json(b.ptr, b.size) : strdup(ath_error_last()->message);
	ath_buf_dispose(&b);
	return j;
}

/* inserted_primary_key of tables whose key the server generates, compiled against a metadata:
 * SERIAL / AUTO_INCREMENT / rowid, an identity column and a Sequence (nextval() rendered on
 * PostgreSQL); PostgreSQL fetches the key with an implicit RETURNING (SQLAlchemy's
 * implicit_returning), the others from lastrowid. A statement with its own RETURNING keeps it. */
static void test_implicit_returning(void)
{
	static const char *const tables[] = { "ir_serial", "ir_identity", "ir_seq" };
	TEST_CASE("suite/implicit_returning");
	ath_buf spec = mp("{\"k\": \"metadata\", \"tables\": ["
			  "{\"name\": \"ir_serial\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}, {\"name\": \"name\", \"type\": [\"String\", 20]}]},"
			  "{\"name\": \"ir_identity\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true, \"identity\": {\"start\": 10}}, {\"name\": \"name\", \"type\": [\"String\", 20]}]},"
			  "{\"name\": \"ir_seq\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true, \"sequence\": {\"name\": \"ir_seq_id\", \"start\": 100}}, {\"name\": \"name\", \"type\": [\"String\", 20]}]},"
			  "{\"name\": \"ir_uniq\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}, {\"name\": \"name\", \"type\": [\"String\", 20], \"unique\": true}]}]}");
	ath_metadata *md = NULL;
	CHECK_INT(ATH_OK, ath_metadata_create(&md, spec.ptr, spec.size));
	mp_free(&spec);
	char sql[512] = "";
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.metadata = md;
	o.flags = ATH_ENGINE_ECHO;
	o.log_cb = last_sql;
	o.log_payload = sql;
	ath_engine *e = engine_at(returning_url, &o);
	ath_engine_drop_all(e, md, 0);
	CHECK_INT(ATH_OK, ath_engine_create_all(e, md, 0));
	ath_conn *c = connect_or_die(e);
	int pg = strcmp(B->name, "postgresql") == 0;
	for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
		char shape[512], name[128], want[64], ret[128];
		snprintf(name, sizeof name, "suite/implicit_returning/%s", tables[t]);
		TEST_CASE(name);
		snprintf(shape, sizeof shape, "{\"k\": \"insert\", \"table\": [\"table\", \"%s\"], \"columns\": [\"name\"], "
			 "\"values\": [[[\"bind\", 0]]]}", tables[t]);
		/* SQLite and MySQL have neither sequences nor identity options: the rowid / AUTO_INCREMENT counts from 1 */
		long long first = t == 1 && pg ? 10 : t == 2 && pg ? 100 : 1;
		for (int i = 0; i < 2; i++) {
			ath_result *r = NULL;
			CHECK_INT(ATH_OK, run(&r, c, shape, "[\"a\"]"));
			CHECK_INT(1, ath_result_rowcount(r));
			CHECK_INT(0, ath_result_returns_rows(r));
			char *j = pk_of(r);
			snprintf(want, sizeof want, "[%lld]", first + i);
			CHECK_STR(want, j);
			free(j);
			ath_result_close(r);
			snprintf(ret, sizeof ret, " RETURNING %s.id", tables[t]);
			size_t n = strlen(sql), m = strlen(ret);
			CHECK_INT(pg, n >= m && strstr(sql, ret) != NULL);
		}
		/* executemany of the same statement: no RETURNING, no rows */
		ath_result *r = NULL;
		ath_buf s = mp("%s", shape), rows = mp("[[\"b\"], [\"c\"]]");
		CHECK_INT(ATH_OK, ath_conn_executemany(&r, c, s.ptr, s.size, rows.ptr, rows.size));
		CHECK_INT(2, ath_result_rowcount(r));
		CHECK_INT(0, ath_result_returns_rows(r));
		ath_result_close(r);
		mp_free(&s);
		mp_free(&rows);
		/* a key given: nothing to fetch */
		snprintf(shape, sizeof shape, "{\"k\": \"insert\", \"table\": [\"table\", \"%s\"], \"columns\": [\"id\", \"name\"], "
			 "\"values\": [[[\"bind\", 0], [\"bind\", 1]]]}", tables[t]);
		CHECK_INT(ATH_OK, run(&r, c, shape, "[5000, \"d\"]"));
		char *j = pk_of(r);
		CHECK_STR("[5000]", j);
		free(j);
		ath_result_close(r);
		CHECK_INT(0, strstr(sql, "RETURNING") != NULL);
	}
	/* an upsert that inserts nothing brings no row back: no key, and no currval() guess */
	if (pg) {
		TEST_CASE("suite/implicit_returning/do_nothing");
		const char *upsert = "{\"k\": \"insert\", \"table\": [\"table\", \"ir_uniq\"], \"columns\": [\"name\"], "
				     "\"values\": [[[\"bind\", 0]]], \"on_conflict\": {\"target\": [\"name\"], \"do\": \"nothing\"}}";
		for (int i = 0; i < 2; i++) {
			ath_result *r = NULL;
			CHECK_INT(ATH_OK, run(&r, c, upsert, "[\"u\"]"));
			CHECK_INT(!i, ath_result_rowcount(r));
			char *j = pk_of(r);
			CHECK_STR(i ? "[null]" : "[1]", j);
			free(j);
			ath_result_close(r);
		}
	}
	/* the statement's own RETURNING is kept and nothing is added */
	TEST_CASE("suite/implicit_returning/own_returning");
	if (B->name[0] != 'm' || strcmp(returning_url, url) != 0) {
		CHECK_ROWS("[[\"own\"]]", c, "{\"k\": \"insert\", \"table\": [\"table\", \"ir_serial\"], \"columns\": [\"name\"], "
			   "\"values\": [[[\"bind\", 0]]], \"returning\": [[\"col\", \"ir_serial\", \"name\"]]}", "[\"own\"]");
		CHECK(strstr(sql, "RETURNING ir_serial.name") != NULL && strstr(sql, "ir_serial.id") == NULL);
	}
	ath_conn_rollback(c);
	ath_conn_close(c);
	CHECK_INT(ATH_OK, ath_engine_drop_all(e, md, 0));
	ath_engine_free(e);
	ath_metadata_free(md);
}

static int xid_listed(ath_conn *c, const char *xid)
{
	ath_buf b = ATH_BUF_INIT;
	if (ath_conn_recover_twophase(&b, c) != ATH_OK) {
		fprintf(stderr, "recover_twophase: %s\n", ath_error_last()->message);
		return -1;
	}
	char *j = as_json(b.ptr, b.size), want[128];
	snprintf(want, sizeof want, "\"%s\"", xid);
	int found = strstr(j, want) != NULL;
	free(j);
	ath_buf_dispose(&b);
	return found;
}

static void insert_one(ath_conn *c, const char *name)
{
	char params[128];
	snprintf(params, sizeof params, "[\"%s\", null]", name);
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, params));
}

static void test_twophase(ath_engine *e)
{
	ath_conn *c = connect_or_die(e);
	ath_txn *t = NULL;
	if (!B->pid_sql) {
		TEST_CASE("suite/twophase_not_supported");
		CHECK_ERROR(ath_conn_begin_twophase(&t, c, NULL), "NotSupportedError", "two-phase");
		CHECK(t == NULL);
		ath_buf b = ATH_BUF_INIT;
		CHECK_ERROR(ath_conn_recover_twophase(&b, c), "NotSupportedError", "two-phase");
		CHECK_ERROR(ath_conn_commit_prepared(c, "x"), "NotSupportedError", "two-phase");
		ath_buf_dispose(&b);
		ath_conn_close(c);
		return;
	}
	fresh_users(c);

	TEST_CASE("suite/twophase_prepare_commit");
	CHECK_INT(ATH_OK, ath_conn_begin_twophase(&t, c, "athanor_xa_1"));
	CHECK_STR("athanor_xa_1", ath_txn_xid(t));
	insert_one(c, "tp1");
	CHECK_INT(ATH_OK, ath_txn_prepare(t));
	CHECK_INT(1, ath_txn_is_active(t));
	CHECK_INT(1, xid_listed(c, "athanor_xa_1"));
	/* prepared: nothing else runs on the connection until it is finished */
	CHECK_ERROR(run(NULL, c, COUNT_USERS, NULL), "InvalidRequestError", "is prepared");
	CHECK_ERROR(ath_txn_prepare(t), "InvalidRequestError", "already prepared");
	CHECK_INT(ATH_OK, ath_txn_commit(t));
	CHECK_INT(0, ath_txn_is_active(t));
	ath_txn_free(t);
	CHECK_INT(0, xid_listed(c, "athanor_xa_1"));
	ath_conn *other = connect_or_die(e);
	CHECK_ROWS("[[1]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(other));

	TEST_CASE("suite/twophase_prepare_rollback");
	CHECK_INT(ATH_OK, ath_conn_begin_twophase(&t, c, NULL));
	const char *gen = ath_txn_xid(t);
	CHECK(gen && strncmp(gen, "_sa_", 4) == 0 && strlen(gen) == 36);
	insert_one(c, "tp2");
	CHECK_INT(ATH_OK, ath_txn_prepare(t));
	CHECK_INT(ATH_OK, ath_txn_rollback(t));
	ath_txn_free(t);
	CHECK_ROWS("[[1]]", c, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));

	TEST_CASE("suite/twophase_one_phase");
	CHECK_INT(ATH_OK, ath_conn_begin_twophase(&t, c, "athanor_xa_op"));
	insert_one(c, "tp3");
	CHECK_INT(ATH_OK, ath_txn_commit(t)); /* never prepared: an ordinary commit */
	ath_txn_free(t);
	CHECK_INT(ATH_OK, ath_conn_begin_twophase(&t, c, "athanor_xa_op2"));
	insert_one(c, "tp4");
	ath_txn_free(t); /* unprepared: rolled back */
	CHECK_ROWS("[[2]]", other, COUNT_USERS, NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(other));

	TEST_CASE("suite/twophase_misuse");
	CHECK_ERROR(ath_conn_begin_twophase(&t, c, "bad'xid"), "ArgumentError", "invalid two-phase xid");
	CHECK_INT(ATH_OK, run(NULL, c, COUNT_USERS, NULL)); /* autobegun */
	CHECK_ERROR(ath_conn_begin_twophase(&t, c, "athanor_xa_x"), "InvalidRequestError", "already initialized");
	CHECK_ERROR(ath_conn_commit_prepared(c, "athanor_xa_x"), "InvalidRequestError", "outside a transaction");
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_INT(ATH_OK, ath_conn_begin(&t, c));
	CHECK_ERROR(ath_txn_prepare(t), "InvalidRequestError", "only for two-phase");
	ath_txn_free(t);
	CHECK(ath_conn_commit_prepared(c, "athanor_no_such_xid") < 0);

	TEST_CASE("suite/twophase_recover_after_close");
	ath_conn *prep = connect_or_die(e);
	CHECK_INT(ATH_OK, ath_conn_begin_twophase(&t, prep, "athanor_xa_rc"));
	insert_one(prep, "tp5");
	CHECK_INT(ATH_OK, ath_txn_prepare(t));
	ath_txn_free(t);      /* still prepared */
	ath_conn_close(prep); /* the session ends; the server keeps the transaction */
	CHECK_INT(ATH_OK, ath_conn_begin_twophase(&t, c, "athanor_xa_rb"));
	insert_one(c, "tp6");
	CHECK_INT(ATH_OK, ath_txn_prepare(t));
	ath_txn_free(t);
	ath_conn_close(c);
	c = connect_or_die(e);
	CHECK_INT(1, xid_listed(c, "athanor_xa_rc"));
	CHECK_INT(1, xid_listed(c, "athanor_xa_rb"));
	CHECK_INT(ATH_OK, ath_conn_commit_prepared(c, "athanor_xa_rc"));
	CHECK_INT(ATH_OK, ath_conn_rollback_prepared(c, "athanor_xa_rb"));
	CHECK_INT(0, xid_listed(c, "athanor_xa_rc"));
	CHECK_INT(0, xid_listed(c, "athanor_xa_rb"));
	CHECK_ROWS("[[\"tp1\"],[\"tp3\"],[\"tp5\"]]", other, SELECT_NAMES, NULL);
	CHECK_INT(ATH_OK, ath_conn_rollback(other));
	ath_conn_close(other);
	ath_conn_close(c);
}

static void test_errors(ath_engine *e)
{
	ath_conn *c = connect_or_die(e);
	TEST_CASE("suite/errors/syntax");
	int rc = text(c, "SELEC 1");
	CHECK_ERROR(rc, B->syntax_class, "");
	CHECK_STR(B->syntax_state, ath_error_last()->sqlstate);
	CHECK_STR("SELEC 1", ath_error_last()->sql);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));

	TEST_CASE("suite/errors/not_null");
	CHECK_ERROR(run(NULL, c, INSERT_USER, "[null, null]"), "IntegrityError", "");
	CHECK_INT(ATH_OK, ath_conn_rollback(c));

	TEST_CASE("suite/errors/no_such_table");
	rc = run(NULL, c, "{\"k\": \"select\", \"columns\": [[\"col\", \"nope\", \"x\"]]}", NULL);
	CHECK(rc < 0);
	CHECK(ath_error_class_is(ath_error_last()->klass, ATH_ERRCLASS_DATABASE_ERROR));
	CHECK_INT(0, ath_error_last()->flags & ATH_ERROR_DISCONNECT);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_ROWS("[[1]]", c, "{\"k\": \"select\", \"columns\": [[\"lit\", 1]]}", NULL);
	ath_conn_close(c);
}

static long long server_id(ath_conn *c)
{
	char *got = text_rows(c, B->pid_sql);
	long long id = got && got[0] == '[' ? strtoll(got + 2, NULL, 10) : -1;
	free(got);
	return id;
}

static int kill_backend(ath_conn *killer, long long id)
{
	char sql[128];
	snprintf(sql, sizeof sql, "%s%lld%s", B->kill_pre, id, B->kill_post);
	int rc = text(killer, sql);
	ath_conn_commit(killer);
	struct timespec pause = { 0, 200 * 1000 * 1000 }; /* the backend takes a moment to go */
	nanosleep(&pause, NULL);
	return rc;
}

static void test_disconnect(void)
{
	TEST_CASE("suite/disconnect_pool_recovers");
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.pool_size = 2;
	ath_engine *e = engine(&o), *killer_e = engine(NULL);
	ath_conn *c = connect_or_die(e), *idle = connect_or_die(e), *killer = connect_or_die(killer_e);
	fresh_users(c);
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"committed1\", null]"));
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"committed2\", null]"));
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	long long id = server_id(c), idle_id = server_id(idle);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	ath_conn_close(idle); /* back in the pool: it dies too */
	CHECK_INT(ATH_OK, run(NULL, c, INSERT_USER, "[\"uncommitted\", null]"));
	CHECK_INT(ATH_OK, kill_backend(killer, id));
	CHECK_INT(ATH_OK, kill_backend(killer, idle_id));
	int rc = run(NULL, c, COUNT_USERS, NULL);
	CHECK_ERROR(rc, "OperationalError", "");
	CHECK(ath_error_last()->flags & ATH_ERROR_DISCONNECT);
	CHECK_INT(1, stat_of(e, "pool", "invalidations"));
	CHECK_INT(0, stat_of(e, "pool", "idle")); /* the idle one was thrown away with it */
	/* SQLAlchemy 2.0: the transaction must be rolled back before the connection reconnects */
	CHECK_ERROR(run(NULL, c, COUNT_USERS, NULL), "InvalidRequestError", "rolled back");
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_ROWS("[[\"committed1\"],[\"committed2\"]]", c, SELECT_NAMES, NULL); /* reconnected; nothing lost */
	CHECK(server_id(c) != id);
	CHECK_INT(ATH_OK, ath_conn_commit(c));
	ath_conn_close(c);
	c = connect_or_die(e);
	CHECK_ROWS("[[2]]", c, COUNT_USERS, NULL);
	ath_conn_close(c);

	TEST_CASE("suite/disconnect_pre_ping");
	o.pool_flags = ATH_POOL_PRE_PING;
	ath_engine *ep = engine(&o);
	c = connect_or_die(ep);
	id = server_id(c);
	ath_conn_close(c);
	CHECK_INT(ATH_OK, kill_backend(killer, id));
	c = connect_or_die(ep); /* the dead idle connection is found at checkout and replaced */
	CHECK_ROWS("[[2]]", c, COUNT_USERS, NULL);
	CHECK_INT(1, stat_of(ep, "pool", "invalidations"));
	ath_conn_close(c);
	ath_engine_free(ep);

	ath_conn_close(killer);
	ath_engine_free(killer_e);
	ath_engine_free(e);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "sqlite";
	for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
		if (strcmp(backends[i].name, which) == 0)
			B = &backends[i];
	if (!B) {
		fprintf(stderr, "usage: test_suite [sqlite|postgresql|mysql] (not %s)\n", which);
		return 2;
	}
	if (B->url_env) {
		const char *u;
		int rc = test_server_url(B->url_env, &u);
		if (rc)
			return rc;
		snprintf(url, sizeof url, "%s", u);
	} else {
		unlink("suite.db");
		snprintf(url, sizeof url, "sqlite:///suite.db");
	}
	snprintf(returning_url, sizeof returning_url, "%s", url);
	if (strncmp(url, "mysql://", 8) == 0)
		snprintf(returning_url, sizeof returning_url, "mariadb://%.*s", (int)(sizeof returning_url - 11), url + 8);
	ath_engine *e = engine(NULL), *er = strcmp(returning_url, url) ? engine_at(returning_url, NULL) : e;
	test_execute(e);
	test_streaming();
	test_transactions(e);
	test_executemany(e, er);
	test_pk_rows(e, er);
	test_implicit_returning();
	test_twophase(e);
	test_errors(e);
	if (er != e)
		ath_engine_free(er);
	ath_engine_free(e);
	if (B->pid_sql)
		test_disconnect();
	return test_exit();
}
