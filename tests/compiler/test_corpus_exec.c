/* test_corpus_exec.c — executes the compiler corpus (tests/compiler/cases/NN_area.json) on SQLite
 * through the public API and compares rows: a fresh in-memory database per file gets
 * fixtures.sql and the file's "setup", then every case with "rows" or "rowcount" runs inside a
 * transaction that is rolled back after the checks, so cases stay independent. Case keys used:
 *   "params" / "exec_params"     values (exec_params when the compile case has none)
 *   "rows": [[...], ...]         expected rows (JSON spelling of values); compared in order when
 *                                the statement has a top-level "order_by", else as a multiset
 *   "rowcount": n                expected rowcount (DML without RETURNING)
 *   "after": {"sql", "rows"}     a query run after the DML (same transaction) and its rows
 *   "exec": false, "exec_why"    not runnable on SQLite, and why (not read here)
 * Expected values come from gen/exec_rows.py (SQLAlchemy's SQL run by Python's sqlite3), never
 * from athanor. SQL text and compile errors are test_compiler.c's business. A case named on the
 * command line runs alone. */
#include <athanor/athanor.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonwire.h"
#include "test.h"

static int nexec, nskip;

static void report_error(const char *what)
{
	const ath_error *e = ath_error_last();
	fprintf(stderr, "FAIL %s: %s: %s: %s\n", test_case_name, what, ath_error_class_name(e->klass), e->message);
	test_failures++;
}

/* Executes a JSON statement (with JSON params, or none); returns the result or NULL (reported). */
static ath_result *execute(ath_conn *conn, json_t *stmt, json_t *params)
{
	char err[256];
	ath_buf shape = ATH_BUF_INIT, pbuf = ATH_BUF_INIT;
	ath_result *res = NULL;
	if (jsonwire_to_msgpack(stmt, &shape, err, sizeof err) ||
	    (params && jsonwire_to_msgpack(params, &pbuf, err, sizeof err))) {
		fprintf(stderr, "FAIL %s: bad case JSON: %s\n", test_case_name, err);
		test_failures++;
	} else if (ath_conn_execute(&res, conn, shape.ptr, shape.size, params ? pbuf.ptr : NULL, pbuf.size) < 0) {
		report_error("execute");
		res = NULL;
	}
	jsonwire_buf_dispose(&shape);
	jsonwire_buf_dispose(&pbuf);
	return res;
}

static json_t *fetch_rows(ath_result *res)
{
	ath_buf b = ATH_BUF_INIT;
	char err[256];
	json_t *rows = NULL;
	if (ath_result_fetch_all(&b, res) < 0)
		report_error("fetch");
	else if (!(rows = jsonwire_from_msgpack(b.ptr, b.size, err, sizeof err))) {
		fprintf(stderr, "FAIL %s: cannot read rows: %s\n", test_case_name, err);
		test_failures++;
	}
	ath_buf_dispose(&b);
	return rows;
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Rows as one JSON text; sorted row by row when order does not matter. */
static char *rows_text(json_t *rows, int ordered)
{
	size_t n = json_array_size(rows), len = 3;
	char **each = calloc(n ? n : 1, sizeof *each);
	for (size_t i = 0; i < n; i++) {
		each[i] = json_dumps(json_array_get(rows, i), JSON_COMPACT | JSON_ENCODE_ANY);
		len += strlen(each[i]) + 1;
	}
	if (!ordered)
		qsort(each, n, sizeof *each, by_text);
	char *out = malloc(len), *o = out;
	*o++ = '[';
	for (size_t i = 0; i < n; i++) {
		o += sprintf(o, "%s%s", i ? "," : "", each[i]);
		free(each[i]);
	}
	strcpy(o, "]");
	free(each);
	return out;
}

static void check_rows(json_t *want, json_t *got, int ordered)
{
	if (!json_is_array(got)) {
		CHECK(json_is_array(got));
		return;
	}
	char *w = rows_text(want, ordered), *a = rows_text(got, ordered);
	CHECK_STR(w, a);
	free(w);
	free(a);
}

static void run_case(ath_conn *conn, json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	json_t *stmt = json_object_get(c, "stmt"), *want_rows = json_object_get(c, "rows");
	json_t *want_count = json_object_get(c, "rowcount"), *after = json_object_get(c, "after");
	if (!want_rows && !want_count) {
		nskip++;
		return;
	}
	char label[256];
	snprintf(label, sizeof label, "exec/%s", name ? name : "(unnamed)");
	TEST_CASE(label);
	json_t *params = json_object_get(c, "exec_params");
	if (!params)
		params = json_object_get(c, "params");
	nexec++;
	ath_txn *txn = NULL;
	if (ath_conn_begin(&txn, conn) < 0) {
		report_error("begin");
		return;
	}
	ath_result *res = execute(conn, stmt, params);
	if (res) {
		if (want_rows) {
			CHECK(ath_result_returns_rows(res));
			json_t *rows = fetch_rows(res);
			check_rows(want_rows, rows, json_object_get(stmt, "order_by") != NULL);
			json_decref(rows);
		}
		if (want_count)
			CHECK_INT(json_integer_value(want_count), ath_result_rowcount(res));
		ath_result_close(res);
	}
	if (res && after) {
		json_t *q = json_pack("{s:s, s:O}", "k", "text", "sql", json_object_get(after, "sql"));
		ath_result *ares = execute(conn, q, NULL);
		if (ares) {
			json_t *rows = fetch_rows(ares);
			check_rows(json_object_get(after, "rows"), rows, 1);
			json_decref(rows);
			ath_result_close(ares);
		}
		json_decref(q);
	}
	if (ath_txn_rollback(txn) < 0)
		report_error("rollback");
	ath_txn_free(txn);
}

/* Runs each ";"-at-end-of-line statement of the fixture file; "--" lines are comments. */
static int run_script(ath_conn *conn, const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	char line[4096];
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof line, fp)) {
		size_t n = strcspn(line, "\n");
		line[n] = '\0';
		if (n == 0 || strncmp(line, "--", 2) == 0)
			continue;
		if (line[n - 1] == ';')
			line[n - 1] = '\0';
		json_t *q = json_pack("{s:s, s:s}", "k", "text", "sql", line);
		ath_result *res = execute(conn, q, NULL);
		rc = res ? 0 : -1;
		ath_result_close(res);
		json_decref(q);
	}
	fclose(fp);
	return rc;
}

/* A fresh in-memory database with the shared fixtures and the file's setup. */
static int open_db(ath_engine **engine, ath_conn **conn, const char *fixtures, json_t *setup)
{
	TEST_CASE("exec/setup");
	if (ath_engine_create(engine, "sqlite://", NULL) < 0 || ath_engine_connect(conn, *engine) < 0 ||
	    ath_conn_set_isolation_level(*conn, "AUTOCOMMIT") < 0) { /* ATTACH refuses a transaction */
		report_error("connect");
		return -1;
	}
	if (run_script(*conn, fixtures) < 0)
		return -1;
	size_t i;
	json_t *s;
	json_array_foreach(setup, i, s)
	{
		json_t *q = json_pack("{s:s, s:O}", "k", "text", "sql", s);
		ath_result *res = execute(*conn, q, NULL);
		json_decref(q);
		if (!res)
			return -1;
		ath_result_close(res);
	}
	if (ath_conn_set_isolation_level(*conn, "SERIALIZABLE") < 0) {
		report_error("isolation level");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("ATHANOR_COMPILER_CASES"), *fixtures = getenv("ATHANOR_COMPILER_FIXTURES");
	if (!dir)
		dir = "cases";
	if (!fixtures)
		fixtures = "fixtures.sql";
	DIR *dp = opendir(dir);
	if (!dp) {
		fprintf(stderr, "cannot open %s\n", dir);
		return 1;
	}
	char *files[256];
	int nfiles = 0;
	struct dirent *ent;
	while ((ent = readdir(dp)) && nfiles < 256)
		if (strstr(ent->d_name, ".json"))
			files[nfiles++] = strdup(ent->d_name);
	closedir(dp);
	qsort(files, (size_t)nfiles, sizeof *files, by_text);
	for (int f = 0; f < nfiles; f++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, files[f]);
		free(files[f]);
		json_error_t jerr;
		json_t *file = json_load_file(path, 0, &jerr);
		json_t *cases = json_is_object(file) ? json_object_get(file, "cases") : file;
		json_t *setup = json_is_object(file) ? json_object_get(file, "setup") : NULL;
		if (!json_is_array(cases)) {
			fprintf(stderr, "FAIL %s: %s (line %d)\n", path, file ? "not an array of cases" : jerr.text, jerr.line);
			test_failures++;
			json_decref(file);
			continue;
		}
		ath_engine *engine = NULL;
		ath_conn *conn = NULL;
		if (open_db(&engine, &conn, fixtures, setup) == 0) {
			size_t i;
			json_t *c;
			json_array_foreach(cases, i, c)
			{
				const char *name = json_string_value(json_object_get(c, "name"));
				if (argc > 1 && (!name || strcmp(name, argv[1]) != 0))
					continue;
				run_case(conn, c);
			}
		}
		ath_conn_close(conn);
		ath_engine_free(engine);
		json_decref(file);
	}
	printf("%d cases executed on SQLite, %d not executed (no \"rows\"/\"rowcount\")\n", nexec, nskip);
	return test_exit();
}
