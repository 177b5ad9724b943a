/* quickstart.c — athanor from C, following the start of SQLAlchemy's tutorial: an engine with
 * echo on, a schema, inserts (one and many), a join with a parameter, a transaction rolled back,
 * and the compile-cache counters. Statements are msgpack trees built with msgpack-c's packer (see
 * docs/wire-format.md); a host language's binding builds the same trees from its own syntax.
 *
 * Build: cc quickstart.c $(pkg-config --cflags --libs athanor msgpack) */
#include <athanor/athanor.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a few helpers to write msgpack trees readably ---------------------------------------- */

static msgpack_sbuffer sbuf;
static msgpack_packer pk;

static void begin_tree(void)
{
	msgpack_sbuffer_clear(&sbuf);
	msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
}

#define ARR(n) msgpack_pack_array(&pk, (n))
#define MAP(n) msgpack_pack_map(&pk, (n))
#define INT(i) msgpack_pack_int64(&pk, (i))
#define NIL() msgpack_pack_nil(&pk)
static void STR(const char *s)
{
	msgpack_pack_str(&pk, strlen(s));
	msgpack_pack_str_body(&pk, s, strlen(s));
}
/* ["col", table, name] and ["bind", i] */
static void COL(const char *table, const char *name) { ARR(3), STR("col"), STR(table), STR(name); }
static void BIND(int i) { ARR(2), STR("bind"), INT(i); }

/* A finished tree, copied out of the shared buffer. */
typedef struct {
	char *data;
	size_t size;
} tree;

static tree end_tree(void)
{
	tree t = { malloc(sbuf.size), sbuf.size };
	memcpy(t.data, sbuf.data, sbuf.size);
	return t;
}

/* ---- running statements -------------------------------------------------------------------- */

static void die(const char *what)
{
	const ath_error *e = ath_error_last();
	fprintf(stderr, "%s failed: %s: %s\n", what, ath_error_class_name(e->klass), e->message);
	if (e->sql)
		fprintf(stderr, "[SQL: %s]\n", e->sql);
	exit(1);
}

static ath_result *execute(ath_conn *conn, tree shape, tree params)
{
	ath_result *res;
	if (ath_conn_execute(&res, conn, shape.data, shape.size, params.data, params.size) != ATH_OK)
		die("execute");
	return res;
}

/* Print every row of a result, fetching batches of up to 100 rows. */
static void print_rows(ath_result *res)
{
	ath_buf batch = ATH_BUF_INIT;
	for (size_t i = 0; i < ath_result_column_count(res); i++)
		printf("%s%s", i ? " | " : "", ath_result_column_name(res, i));
	printf("\n");
	int rc;
	while ((rc = ath_result_fetch(&batch, res, 100)) == ATH_OK) {
		msgpack_unpacked rows;
		msgpack_unpacked_init(&rows);
		msgpack_unpack_next(&rows, (const char *)batch.ptr, batch.size, NULL);
		for (uint32_t r = 0; r < rows.data.via.array.size; r++) {
			msgpack_object row = rows.data.via.array.ptr[r];
			for (uint32_t c = 0; c < row.via.array.size; c++) {
				printf("%s", c ? " | " : "");
				msgpack_object_print(stdout, row.via.array.ptr[c]);
			}
			printf("\n");
		}
		msgpack_unpacked_destroy(&rows);
	}
	if (rc != ATH_ITEROVER)
		die("fetch");
	ath_buf_dispose(&batch);
}

static int64_t count_addresses(ath_conn *conn, tree count, tree no_params)
{
	ath_result *res = execute(conn, count, no_params);
	ath_buf batch = ATH_BUF_INIT;
	if (ath_result_fetch(&batch, res, 1) != ATH_OK)
		die("count");
	msgpack_unpacked rows;
	msgpack_unpacked_init(&rows);
	msgpack_unpack_next(&rows, (const char *)batch.ptr, batch.size, NULL);
	int64_t n = rows.data.via.array.ptr[0].via.array.ptr[0].via.i64;
	msgpack_unpacked_destroy(&rows);
	ath_buf_dispose(&batch);
	ath_result_close(res);
	return n;
}

int main(void)
{
	msgpack_sbuffer_init(&sbuf);
	int major, minor, patch;
	ath_version(&major, &minor, &patch);
	printf("athanor %d.%d.%d\n\n", major, minor, patch);

	/* An in-memory SQLite database; echo logs each statement to stderr, as echo=True does. */
	ath_engine_options opts;
	ath_engine_options_init(&opts, ATH_ENGINE_OPTIONS_VERSION);
	opts.flags = ATH_ENGINE_ECHO;
	ath_engine *engine;
	if (ath_engine_create(&engine, "sqlite://", &opts) != ATH_OK)
		die("create engine");
	ath_conn *conn;
	if (ath_engine_connect(&conn, engine) != ATH_OK)
		die("connect");

	begin_tree(), ARR(0);
	tree no_params = end_tree();

	/* The schema, as text DDL for now. */
	const char *ddl[] = {
		"CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(30) NOT NULL, fullname VARCHAR)",
		"CREATE TABLE addresses (id INTEGER PRIMARY KEY, email_address VARCHAR NOT NULL, "
		"user_id INTEGER NOT NULL REFERENCES users (id))",
	};
	for (int i = 0; i < 2; i++) {
		begin_tree(), MAP(2), STR("k"), STR("text"), STR("sql"), STR(ddl[i]);
		tree t = end_tree();
		ath_result_close(execute(conn, t, no_params));
		free(t.data);
	}

	/* INSERT INTO users (name, fullname) VALUES (?, ?), run for many rows at once. */
	begin_tree(), MAP(4), STR("k"), STR("insert");
	STR("table"), ARR(2), STR("table"), STR("users");
	STR("columns"), ARR(2), STR("name"), STR("fullname");
	STR("values"), ARR(1), ARR(2), BIND(0), BIND(1);
	tree insert_user = end_tree();
	const char *people[][2] = { { "spongebob", "Spongebob Squarepants" },
				    { "sandy", "Sandy Cheeks" },
				    { "patrick", "Patrick Star" } };
	begin_tree(), ARR(3);
	for (int i = 0; i < 3; i++)
		ARR(2), STR(people[i][0]), STR(people[i][1]);
	tree user_rows = end_tree();
	ath_result *res;
	if (ath_conn_executemany(&res, conn, insert_user.data, insert_user.size, user_rows.data, user_rows.size) != ATH_OK)
		die("executemany");
	printf("inserted %lld users\n", (long long)ath_result_rowcount(res));
	ath_result_close(res);

	/* One address; its new primary key comes back with the result. */
	begin_tree(), MAP(4), STR("k"), STR("insert");
	STR("table"), ARR(2), STR("table"), STR("addresses");
	STR("columns"), ARR(2), STR("email_address"), STR("user_id");
	STR("values"), ARR(1), ARR(2), BIND(0), BIND(1);
	tree insert_address = end_tree();
	const char *emails[][2] = { { "spongebob@sqlalchemy.org", "1" },
				    { "sandy@sqlalchemy.org", "2" },
				    { "sandy@squirrelpower.org", "2" } };
	for (int i = 0; i < 3; i++) {
		begin_tree(), ARR(2), STR(emails[i][0]), INT(atoi(emails[i][1]));
		tree p = end_tree();
		res = execute(conn, insert_address, p);
		ath_buf key = ATH_BUF_INIT;
		ath_result_inserted_primary_key(&key, res);
		msgpack_unpacked k;
		msgpack_unpacked_init(&k);
		msgpack_unpack_next(&k, (const char *)key.ptr, key.size, NULL);
		printf("address %s has primary key ", emails[i][0]);
		msgpack_object_print(stdout, k.data);
		printf("\n");
		msgpack_unpacked_destroy(&k);
		ath_buf_dispose(&key);
		ath_result_close(res);
		free(p.data);
	}
	if (ath_conn_commit(conn) != ATH_OK)
		die("commit");

	/* SELECT users.name, addresses.email_address FROM users JOIN addresses ON ...
	 * WHERE users.name = ? ORDER BY addresses.email_address */
	begin_tree(), MAP(5), STR("k"), STR("select");
	STR("columns"), ARR(2), COL("users", "name"), COL("addresses", "email_address");
	STR("from"), ARR(1), ARR(5), STR("join"), ARR(2), STR("table"), STR("users"), ARR(2), STR("table"),
		STR("addresses"), ARR(3), STR("="), COL("users", "id"), COL("addresses", "user_id"), STR("inner");
	STR("where"), ARR(3), STR("="), COL("users", "name"), BIND(0);
	STR("order_by"), ARR(1), COL("addresses", "email_address");
	tree join = end_tree();
	const char *who[] = { "sandy", "spongebob" };
	for (int i = 0; i < 2; i++) { /* the second run is a compile-cache hit */
		begin_tree(), ARR(1), STR(who[i]);
		tree p = end_tree();
		printf("\naddresses of %s:\n", who[i]);
		res = execute(conn, join, p);
		print_rows(res);
		ath_result_close(res);
		free(p.data);
	}

	/* Those SELECTs began a transaction implicitly (SQLAlchemy 2.0's autobegin); end it before
	 * beginning one explicitly. */
	if (ath_conn_commit(conn) != ATH_OK)
		die("commit");

	/* A transaction rolled back: the DELETE is undone. */
	begin_tree(), MAP(3), STR("k"), STR("select");
	STR("columns"), ARR(1), ARR(3), STR("fn"), STR("count"), ARR(0);
	STR("from"), ARR(1), ARR(2), STR("table"), STR("addresses");
	tree count = end_tree();
	begin_tree(), MAP(2), STR("k"), STR("delete"), STR("table"), ARR(2), STR("table"), STR("addresses");
	tree delete_all = end_tree();
	ath_txn *txn;
	if (ath_conn_begin(&txn, conn) != ATH_OK)
		die("begin");
	ath_result_close(execute(conn, delete_all, no_params));
	printf("\ninside the transaction: %lld addresses\n", (long long)count_addresses(conn, count, no_params));
	if (ath_txn_rollback(txn) != ATH_OK)
		die("rollback");
	ath_txn_free(txn);
	printf("after rollback: %lld addresses\n", (long long)count_addresses(conn, count, no_params));

	/* The engine's counters, as msgpack. */
	ath_buf stats = ATH_BUF_INIT;
	ath_engine_stats(&stats, engine);
	msgpack_unpacked s;
	msgpack_unpacked_init(&s);
	msgpack_unpack_next(&s, (const char *)stats.ptr, stats.size, NULL);
	printf("\nengine stats: ");
	msgpack_object_print(stdout, s.data);
	printf("\n");
	msgpack_unpacked_destroy(&s);
	ath_buf_dispose(&stats);

	ath_conn_close(conn);
	ath_engine_free(engine);
	free(no_params.data), free(insert_user.data), free(user_rows.data), free(insert_address.data);
	free(join.data), free(count.data), free(delete_all.data);
	msgpack_sbuffer_destroy(&sbuf);
	return 0;
}
