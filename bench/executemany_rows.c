/* bench/executemany_rows.c — executemany throughput: N rows of INSERT INTO bench_em (name, n)
 * VALUES (?, ?), plain and with RETURNING id, inside one transaction, as rows per second. Shows
 * insertmanyvalues (multi-row VALUES batches) and PostgreSQL pipelining against one execute per row.
 * Usage: executemany_rows URL ROWS; prints one line per form. Drops and creates table bench_em. */
#include <athanor/athanor.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static int text(ath_conn *c, const char *sql)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	pack_str(&pk, "k");
	pack_str(&pk, "text");
	pack_str(&pk, "sql");
	pack_str(&pk, sql);
	ath_result *r = NULL;
	int rc = ath_conn_execute(&r, c, sb.data, sb.size, NULL, 0);
	ath_result_close(r);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

/* {"k": "insert", "table": ["table", "bench_em"], "columns": ["name", "n"],
 *  "values": [[["bind", 0], ["bind", 1]]] [, "returning": [["col", "bench_em", "id"]]]} */
static void insert_shape(msgpack_sbuffer *sb, int returning)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, returning ? 5 : 4);
	pack_str(&pk, "k");
	pack_str(&pk, "insert");
	pack_str(&pk, "table");
	msgpack_pack_array(&pk, 2);
	pack_str(&pk, "table");
	pack_str(&pk, "bench_em");
	pack_str(&pk, "columns");
	msgpack_pack_array(&pk, 2);
	pack_str(&pk, "name");
	pack_str(&pk, "n");
	pack_str(&pk, "values");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 2);
	for (int i = 0; i < 2; i++) {
		msgpack_pack_array(&pk, 2);
		pack_str(&pk, "bind");
		msgpack_pack_int(&pk, i);
	}
	if (returning) {
		pack_str(&pk, "returning");
		msgpack_pack_array(&pk, 1);
		msgpack_pack_array(&pk, 3);
		pack_str(&pk, "col");
		pack_str(&pk, "bench_em");
		pack_str(&pk, "id");
	}
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: executemany_rows URL ROWS\n"), 2;
	long rows = atol(argv[2]);
	ath_engine *e = NULL;
	ath_conn *c = NULL;
	if (ath_engine_create(&e, argv[1], NULL) || ath_engine_connect(&c, e)) {
		fprintf(stderr, "%s\n", ath_error_last()->message);
		return 1;
	}
	const char *dialect = ath_engine_dialect_name(e);
	const char *ddl = strcmp(dialect, "postgresql") == 0 ? "CREATE TABLE bench_em (id SERIAL PRIMARY KEY, name TEXT, n INTEGER)"
			  : strcmp(dialect, "sqlite") == 0	? "CREATE TABLE bench_em (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)"
								: "CREATE TABLE bench_em (id INTEGER AUTO_INCREMENT PRIMARY KEY, name TEXT, n INTEGER)";
	msgpack_sbuffer params;
	msgpack_sbuffer_init(&params);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &params, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, (size_t)rows);
	for (long i = 0; i < rows; i++) {
		char name[32];
		snprintf(name, sizeof name, "row %ld", i);
		msgpack_pack_array(&pk, 2);
		pack_str(&pk, name);
		msgpack_pack_long(&pk, i);
	}
	int status = 0;
	for (int returning = 0; returning < 2; returning++) {
		if (text(c, "DROP TABLE IF EXISTS bench_em") || text(c, ddl) || ath_conn_commit(c)) {
			fprintf(stderr, "setup: %s\n", ath_error_last()->message);
			return 1;
		}
		msgpack_sbuffer shape;
		msgpack_sbuffer_init(&shape);
		insert_shape(&shape, returning);
		ath_result *r = NULL;
		ath_buf b = ATH_BUF_INIT;
		double t0 = now();
		int rc = ath_conn_executemany(&r, c, shape.data, shape.size, params.data, params.size);
		long got = 0;
		while (rc == ATH_OK && returning && (rc = ath_result_fetch(&b, r, 1000)) == ATH_OK)
			got += (long)(b.ptr[1] << 24 | b.ptr[2] << 16 | b.ptr[3] << 8 | b.ptr[4]);
		if (rc == ATH_ITEROVER)
			rc = ATH_OK;
		if (rc == ATH_OK)
			rc = ath_conn_commit(c);
		double dt = now() - t0;
		if (rc == ATH_OK)
			printf("%s executemany %ld rows%s: %.3f s, %.0f rows/s%s\n", dialect, rows,
			       returning ? " RETURNING id" : "", dt, (double)rows / dt, returning && got != rows ? " (row count wrong)" : "");
		else {
			printf("%s executemany %ld rows%s: failed: %s\n", dialect, rows, returning ? " RETURNING id" : "",
			       ath_error_last()->message);
			ath_conn_rollback(c);
			status = 1;
		}
		ath_buf_dispose(&b);
		ath_result_close(r);
		msgpack_sbuffer_destroy(&shape);
	}
	text(c, "DROP TABLE IF EXISTS bench_em");
	ath_conn_commit(c);
	msgpack_sbuffer_destroy(&params);
	ath_conn_close(c);
	ath_engine_free(e);
	return status;
}
