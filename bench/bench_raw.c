/* bench_raw.c — the raw C baseline of every workload, by hand against the client libraries
 * (sqlite3, libpq, libmariadb): prepared statements, one transaction per run. W2 inserts N
 * customers (SQLite: one prepared INSERT per row; PostgreSQL: the same in libpq pipeline mode,
 * a sync per 1000 rows; MariaDB: a prepared 1000-row INSERT, as athanor's insertmanyvalues
 * sends); W3 reads N rows; W4 runs 10,000 primary-key lookups through one prepared SELECT.
 * Usage: bench_raw BACKEND TARGET WORKLOAD N RUNS, TARGET a file path (sqlite), a libpq URL
 * (postgresql) or mysql://user:pass@host:port/db (mariadb); prints one JSON line (benchutil.h). */
#include <libpq-fe.h>
#include <mysql.h>
#include <sqlite3.h>
#include <string.h>

#include "benchutil.h"

#define COLS "id, name, description, value"
#define INSERT_SQL "INSERT INTO customer (name, description, value) VALUES "
#define BATCH 1000L

static long n;
static int nruns;
static double runs[100];
static volatile long check; /* keeps the reads from being optimised away */

static void fail(const char *what, const char *msg)
{
	fprintf(stderr, "bench_raw: %s: %s\n", what, msg);
	exit(1);
}

static const char *ddl(const char *backend)
{
	if (strcmp(backend, "postgresql") == 0)
		return "CREATE TABLE customer (id SERIAL PRIMARY KEY, name VARCHAR(255), description VARCHAR(255), value INTEGER)";
	if (strcmp(backend, "sqlite") == 0)
		return "CREATE TABLE customer (id INTEGER PRIMARY KEY, name VARCHAR(255), description VARCHAR(255), value INTEGER)";
	return "CREATE TABLE customer (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255), description VARCHAR(255), "
	       "value INTEGER)";
}

/* ---- SQLite --------------------------------------------------------------------------------- */

static void lite_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail(sql, err);
}

static void lite_insert(sqlite3 *db)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, INSERT_SQL "(?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		fail("prepare", sqlite3_errmsg(db));
	lite_exec(db, "BEGIN");
	for (long i = 0; i < n; i++) {
		char name[64], desc[64];
		bench_name(name, sizeof name, i);
		bench_description(desc, sizeof desc, i);
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, desc, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, bench_value(i));
		if (sqlite3_step(st) != SQLITE_DONE)
			fail("insert", sqlite3_errmsg(db));
		sqlite3_reset(st);
	}
	lite_exec(db, "COMMIT");
	sqlite3_finalize(st);
}

static long lite_read(sqlite3_stmt *st)
{
	long got = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		check += (long)sqlite3_column_int64(st, 0) + sqlite3_column_int64(st, 3);
		const unsigned char *a = sqlite3_column_text(st, 1), *b = sqlite3_column_text(st, 2);
		check += (long)sqlite3_column_bytes(st, 1) + sqlite3_column_bytes(st, 2) + (a && b);
		got++;
	}
	if (rc != SQLITE_DONE)
		fail("step", sqlite3_errstr(rc));
	sqlite3_reset(st);
	return got;
}

static void run_sqlite(const char *path, const char *w)
{
	sqlite3 *db;
	/* no per-call mutex, as athanor opens its connections (each used by one thread at a time): the
	 * fastest hand-written program, not the serialized default */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		fail("open", sqlite3_errmsg(db));
	for (int k = 0; k < nruns; k++) {
		if (w[1] == '2' || k == 0) {
			lite_exec(db, "DROP TABLE IF EXISTS customer");
			lite_exec(db, ddl("sqlite"));
		}
		if (w[1] == '2') {
			double t0 = bench_now();
			lite_insert(db);
			runs[k] = bench_now() - t0;
			continue;
		}
		if (k == 0)
			lite_insert(db);
		sqlite3_stmt *st;
		const char *sql = w[1] == '3' ? "SELECT " COLS " FROM customer" : "SELECT " COLS " FROM customer WHERE id = ?";
		double t0 = bench_now();
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
			fail("prepare", sqlite3_errmsg(db));
		lite_exec(db, "BEGIN");
		long got = 0;
		if (w[1] == '3')
			got = lite_read(st);
		else
			for (long i = 0; i < BENCH_LOOKUPS; i++) {
				sqlite3_bind_int64(st, 1, bench_lookup_id(i, n));
				got += lite_read(st);
			}
		lite_exec(db, "COMMIT");
		sqlite3_finalize(st);
		runs[k] = bench_now() - t0;
		if (got != (w[1] == '3' ? n : BENCH_LOOKUPS))
			fail(w, "wrong row count");
	}
	lite_exec(db, "DROP TABLE IF EXISTS customer");
	sqlite3_close(db);
}

/* ---- PostgreSQL ----------------------------------------------------------------------------- */

static void pg_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail(sql, PQerrorMessage(c));
	PQclear(r);
}

/* Read results up to the next PGRES_PIPELINE_SYNC. */
static void pg_drain(PGconn *c)
{
	for (;;) {
		PGresult *r = PQgetResult(c);
		if (!r)
			continue;
		ExecStatusType s = PQresultStatus(r);
		PQclear(r);
		if (s == PGRES_PIPELINE_SYNC)
			return;
		if (s != PGRES_COMMAND_OK)
			fail("pipelined insert", PQerrorMessage(c));
	}
}

static void pg_insert(PGconn *c)
{
	PGresult *r = PQprepare(c, "ins", INSERT_SQL "($1, $2, $3)", 3, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		fail("prepare", PQerrorMessage(c));
	PQclear(r);
	pg_exec(c, "BEGIN");
	if (!PQenterPipelineMode(c))
		fail("pipeline", PQerrorMessage(c));
	for (long i = 0; i < n; i++) {
		char name[64], desc[64], value[24];
		bench_name(name, sizeof name, i);
		bench_description(desc, sizeof desc, i);
		snprintf(value, sizeof value, "%ld", bench_value(i));
		const char *v[3] = { name, desc, value };
		if (!PQsendQueryPrepared(c, "ins", 3, v, NULL, NULL, 0))
			fail("send", PQerrorMessage(c));
		if ((i + 1) % BATCH == 0 || i + 1 == n) {
			if (!PQpipelineSync(c))
				fail("sync", PQerrorMessage(c));
			pg_drain(c);
		}
	}
	PQexitPipelineMode(c);
	pg_exec(c, "COMMIT");
	pg_exec(c, "DEALLOCATE ins");
}

static long pg_read(PGresult *r)
{
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail("select", PQresultErrorMessage(r));
	long rows = PQntuples(r);
	for (long i = 0; i < rows; i++) {
		check += atol(PQgetvalue(r, (int)i, 0)) + atol(PQgetvalue(r, (int)i, 3));
		check += PQgetlength(r, (int)i, 1) + PQgetlength(r, (int)i, 2);
	}
	PQclear(r);
	return rows;
}

static void run_pg(const char *url, const char *w)
{
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK)
		fail("connect", PQerrorMessage(c));
	pg_exec(c, "SET client_min_messages = warning");
	for (int k = 0; k < nruns; k++) {
		if (w[1] == '2' || k == 0) {
			pg_exec(c, "DROP TABLE IF EXISTS customer");
			pg_exec(c, ddl("postgresql"));
		}
		if (w[1] == '2') {
			double t0 = bench_now();
			pg_insert(c);
			runs[k] = bench_now() - t0;
			continue;
		}
		if (k == 0)
			pg_insert(c);
		double t0 = bench_now();
		long got = 0;
		pg_exec(c, "BEGIN");
		if (w[1] == '3')
			got = pg_read(PQexecParams(c, "SELECT " COLS " FROM customer", 0, NULL, NULL, NULL, NULL, 0));
		else {
			PGresult *r = PQprepare(c, "pk", "SELECT " COLS " FROM customer WHERE id = $1", 1, NULL);
			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				fail("prepare", PQerrorMessage(c));
			PQclear(r);
			for (long i = 0; i < BENCH_LOOKUPS; i++) {
				char id[24];
				snprintf(id, sizeof id, "%ld", bench_lookup_id(i, n));
				const char *v[1] = { id };
				got += pg_read(PQexecPrepared(c, "pk", 1, v, NULL, NULL, 0));
			}
			pg_exec(c, "DEALLOCATE pk");
		}
		pg_exec(c, "COMMIT");
		runs[k] = bench_now() - t0;
		if (got != (w[1] == '3' ? n : BENCH_LOOKUPS))
			fail(w, "wrong row count");
	}
	pg_exec(c, "DROP TABLE IF EXISTS customer");
	PQfinish(c);
}

/* ---- MariaDB -------------------------------------------------------------------------------- */

static void my_exec(MYSQL *m, const char *sql)
{
	if (mysql_query(m, sql))
		fail(sql, mysql_error(m));
	MYSQL_RES *r = mysql_store_result(m);
	mysql_free_result(r);
}

static MYSQL_STMT *my_prepare(MYSQL *m, const char *sql)
{
	MYSQL_STMT *st = mysql_stmt_init(m);
	if (!st || mysql_stmt_prepare(st, sql, strlen(sql)))
		fail("prepare", mysql_error(m));
	return st;
}

/* A prepared INSERT of `rows` rows. */
static MYSQL_STMT *my_prepare_insert(MYSQL *m, long rows)
{
	size_t cap = sizeof INSERT_SQL + (size_t)rows * 10;
	char *sql = malloc(cap), *p = sql;
	p += sprintf(p, "%s", INSERT_SQL);
	for (long i = 0; i < rows; i++)
		p += sprintf(p, "%s(?,?,?)", i ? "," : "");
	MYSQL_STMT *st = my_prepare(m, sql);
	free(sql);
	return st;
}

static void my_insert(MYSQL *m)
{
	long full = n < BATCH ? n : BATCH;
	MYSQL_STMT *batch = my_prepare_insert(m, full), *tail = n % full ? my_prepare_insert(m, n % full) : NULL;
	MYSQL_BIND *b = calloc((size_t)full * 3, sizeof *b);
	char(*names)[64] = malloc((size_t)full * 64), (*descs)[64] = malloc((size_t)full * 64);
	unsigned long *lens = malloc((size_t)full * 2 * sizeof *lens);
	long long *values = malloc((size_t)full * sizeof *values);
	my_exec(m, "START TRANSACTION");
	for (long base = 0; base < n; base += full) {
		long rows = n - base < full ? n - base : full;
		memset(b, 0, (size_t)rows * 3 * sizeof *b);
		for (long j = 0; j < rows; j++) {
			bench_name(names[j], 64, base + j);
			bench_description(descs[j], 64, base + j);
			values[j] = bench_value(base + j);
			lens[2 * j] = strlen(names[j]);
			lens[2 * j + 1] = strlen(descs[j]);
			b[3 * j] = (MYSQL_BIND){ .buffer_type = MYSQL_TYPE_STRING, .buffer = names[j], .length = &lens[2 * j] };
			b[3 * j + 1] = (MYSQL_BIND){ .buffer_type = MYSQL_TYPE_STRING, .buffer = descs[j], .length = &lens[2 * j + 1] };
			b[3 * j + 2] = (MYSQL_BIND){ .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &values[j] };
		}
		MYSQL_STMT *st = rows == full ? batch : tail;
		if (mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st))
			fail("insert", mysql_stmt_error(st));
	}
	my_exec(m, "COMMIT");
	mysql_stmt_close(batch);
	if (tail)
		mysql_stmt_close(tail);
	free(b), free(names), free(descs), free(lens), free(values);
}

/* Execute `st` (parameters bound) and read its rows through bound result buffers. */
static long my_read(MYSQL_STMT *st)
{
	long long id, value;
	char name[256], desc[256];
	unsigned long lens[4];
	MYSQL_BIND r[4];
	memset(r, 0, sizeof r);
	r[0] = (MYSQL_BIND){ .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &id, .length = &lens[0] };
	r[1] = (MYSQL_BIND){ .buffer_type = MYSQL_TYPE_STRING, .buffer = name, .buffer_length = sizeof name, .length = &lens[1] };
	r[2] = (MYSQL_BIND){ .buffer_type = MYSQL_TYPE_STRING, .buffer = desc, .buffer_length = sizeof desc, .length = &lens[2] };
	r[3] = (MYSQL_BIND){ .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &value, .length = &lens[3] };
	if (mysql_stmt_execute(st) || mysql_stmt_bind_result(st, r))
		fail("select", mysql_stmt_error(st));
	long got = 0;
	int rc;
	while ((rc = mysql_stmt_fetch(st)) == 0) {
		check += (long)(id + value) + (long)(lens[1] + lens[2]);
		got++;
	}
	if (rc != MYSQL_NO_DATA)
		fail("fetch", mysql_stmt_error(st));
	mysql_stmt_free_result(st);
	return got;
}

static void run_mysql(const char *url, const char *w)
{
	char user[128] = "", pass[128] = "", host[128] = "", db[128] = "";
	unsigned port = 3306;
	if (sscanf(url, "mysql://%127[^:]:%127[^@]@%127[^:]:%u/%127[^?]", user, pass, host, &port, db) != 5)
		fail("url", "expected mysql://user:pass@host:port/db");
	MYSQL *m = mysql_init(NULL);
	if (!mysql_real_connect(m, host, user, pass, db, port, NULL, 0))
		fail("connect", mysql_error(m));
	mysql_set_character_set(m, "utf8mb4");
	my_exec(m, "SET autocommit = 0");
	for (int k = 0; k < nruns; k++) {
		if (w[1] == '2' || k == 0) {
			my_exec(m, "DROP TABLE IF EXISTS customer");
			my_exec(m, ddl("mariadb"));
		}
		if (w[1] == '2') {
			double t0 = bench_now();
			my_insert(m);
			runs[k] = bench_now() - t0;
			continue;
		}
		if (k == 0)
			my_insert(m);
		double t0 = bench_now();
		long got = 0;
		my_exec(m, "START TRANSACTION");
		if (w[1] == '3') {
			MYSQL_STMT *st = my_prepare(m, "SELECT " COLS " FROM customer");
			got = my_read(st);
			mysql_stmt_close(st);
		} else {
			MYSQL_STMT *st = my_prepare(m, "SELECT " COLS " FROM customer WHERE id = ?");
			long long id;
			MYSQL_BIND p = { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &id };
			if (mysql_stmt_bind_param(st, &p))
				fail("bind", mysql_stmt_error(st));
			for (long i = 0; i < BENCH_LOOKUPS; i++) {
				id = bench_lookup_id(i, n);
				got += my_read(st);
			}
			mysql_stmt_close(st);
		}
		my_exec(m, "COMMIT");
		runs[k] = bench_now() - t0;
		if (got != (w[1] == '3' ? n : BENCH_LOOKUPS))
			fail(w, "wrong row count");
	}
	my_exec(m, "DROP TABLE IF EXISTS customer");
	mysql_close(m);
}

int main(int argc, char **argv)
{
	if (argc != 6)
		return fprintf(stderr, "usage: bench_raw BACKEND TARGET WORKLOAD N RUNS\n"), 2;
	const char *backend = argv[1], *w = argv[3];
	n = atol(argv[4]);
	nruns = atoi(argv[5]);
	if (n <= 0 || nruns <= 0 || nruns > 100)
		return fprintf(stderr, "bench_raw: bad N or RUNS\n"), 2;
	if (strcmp(w, "W2") && strcmp(w, "W3") && strcmp(w, "W4"))
		return fprintf(stderr, "bench_raw: no raw C form of %s\n", w), 2;
	if (strcmp(backend, "sqlite") == 0)
		run_sqlite(argv[2], w);
	else if (strcmp(backend, "postgresql") == 0)
		run_pg(argv[2], w);
	else if (strcmp(backend, "mariadb") == 0)
		run_mysql(argv[2], w);
	else
		return fprintf(stderr, "bench_raw: unknown backend %s\n", backend), 2;
	bench_report(w, "raw-c", backend, w[1] == '4' ? BENCH_LOOKUPS : n, runs, nruns);
	return 0;
}
