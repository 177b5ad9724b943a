/* test_oom.c — fails the 1st, 2nd, ... Nth allocation of the library inside representative
 * workloads (create engine, compile, execute, executemany, fetch, transactions, header/keys)
 * until a run completes without reaching the failure. Each failed run must return a negative
 * code with OutOfMemoryError (never a crash, never "without details"), leak nothing
 * (LeakSanitizer checks at exit), and leave the engine and connection working. The wire and
 * driver libraries (msgpack-c, sqlite3) allocate on their own and are not failed here. */
#include <athanor/athanor.h>
#include <string.h>

#include "test.h"
#include "util/alloc.h"
#include "wirejson.h"

typedef struct fixture {
	ath_engine *engine;
	ath_conn *conn;
} fixture;

static ath_buf ddl, ins, sel, sel_in, upd, p_ins, p_many, p_sel, p_in, none;

static int w_execute_fetch(fixture *f)
{
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	int rc = ath_conn_execute(&r, f->conn, ins.ptr, ins.size, p_ins.ptr, p_ins.size);
	if (rc == 0) {
		rc = ath_result_inserted_primary_key(&b, r);
		if (rc == 0)
			rc = ath_result_header(&b, r);
		ath_result_close(r);
	}
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, sel.ptr, sel.size, p_sel.ptr, p_sel.size);
	if (rc == 0) {
		while ((rc = ath_result_fetch(&b, r, 2)) == ATH_OK)
			;
		if (rc == ATH_ITEROVER)
			rc = ath_result_header(&b, r);
		ath_result_close(r);
	}
	ath_buf_dispose(&b);
	return rc;
}

static int w_executemany_in(fixture *f)
{
	ath_result *r = NULL;
	int rc = ath_conn_executemany(&r, f->conn, ins.ptr, ins.size, p_many.ptr, p_many.size);
	ath_result_close(r);
	r = NULL;
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, sel_in.ptr, sel_in.size, p_in.ptr, p_in.size);
	if (rc == 0) {
		ath_buf b = ATH_BUF_INIT;
		rc = ath_result_fetch_all(&b, r);
		ath_buf_dispose(&b);
		ath_result_close(r);
	}
	return rc;
}

static int w_transactions(fixture *f)
{
	ath_txn *t = NULL, *sp = NULL;
	ath_result *r = NULL;
	int rc = ath_conn_rollback(f->conn);
	if (rc == 0)
		rc = ath_conn_begin(&t, f->conn);
	if (rc == 0)
		rc = ath_conn_begin_nested(&sp, f->conn);
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, upd.ptr, upd.size, p_sel.ptr, p_sel.size);
	ath_result_close(r);
	if (rc == 0)
		rc = ath_txn_rollback(sp);
	if (rc == 0)
		rc = ath_txn_commit(t);
	ath_txn_free(sp);
	ath_txn_free(t);
	return rc;
}

static int w_stats_compile(fixture *f)
{
	ath_buf b = ATH_BUF_INIT;
	int rc = ath_engine_stats(&b, f->engine);
	if (rc == 0)
		rc = ath_engine_compile(&b, f->engine, sel_in.ptr, sel_in.size);
	if (rc == 0)
		rc = ath_compile(&b, "postgresql", sel_in.ptr, sel_in.size, p_in.ptr, p_in.size);
	if (rc == 0)
		rc = ath_url_parse(&b, "postgresql://u:p@h:5432/db?a=1&a=2");
	ath_buf_dispose(&b);
	return rc;
}

/* Setting up is a workload too: engine, connection, schema. */
static int setup(fixture *f)
{
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.compile_cache_size = 2; /* small, so evictions run under failure too */
	int rc = ath_engine_create(&f->engine, "sqlite://", &o);
	if (rc == 0)
		rc = ath_engine_connect(&f->conn, f->engine);
	if (rc == 0) {
		ath_result *r = NULL;
		rc = ath_conn_execute(&r, f->conn, ddl.ptr, ddl.size, none.ptr, none.size);
		ath_result_close(r);
	}
	if (rc == 0)
		rc = ath_conn_commit(f->conn);
	return rc;
}

static void teardown(fixture *f)
{
	ath_conn_close(f->conn);
	ath_engine_free(f->engine);
	memset(f, 0, sizeof *f);
}

static int failed_clean(int rc, const char *label, long n)
{
	const ath_error *e = ath_error_last();
	if (rc < 0 && e->klass == ATH_ERRCLASS_OUT_OF_MEMORY_ERROR && e->code == ATH_ENOMEM)
		return 1;
	fprintf(stderr, "FAIL %s at allocation %ld: rc %d, %s: %s\n", label, n, rc, ath_error_class_name(e->klass),
		e->message);
	test_failures++;
	return 0;
}

static void walk(const char *label, int (*workload)(fixture *))
{
	long n;
	int sites = 0;
	TEST_CASE(label);
	for (n = 0; n < 100000; n++) {
		fixture f = { 0 };
		if (workload == NULL) { /* walking the set-up itself */
			ath__alloc_fail_after(n);
			int rc = setup(&f);
			ath__alloc_fail_after(-1);
			if (rc == 0) {
				teardown(&f);
				break;
			}
			int clean = failed_clean(rc, label, n);
			teardown(&f);
			if (!clean)
				break;
			sites++;
			continue;
		}
		CHECK_INT(0, setup(&f));
		ath__alloc_fail_after(n);
		int rc = workload(&f);
		ath__alloc_fail_after(-1);
		if (rc == 0) {
			teardown(&f);
			break;
		}
		if (!failed_clean(rc, label, n)) {
			teardown(&f);
			break;
		}
		sites++;
		/* afterwards the same handles still work */
		ath_conn_rollback(f.conn);
		int again = workload(&f);
		if (again != 0) {
			fprintf(stderr, "FAIL %s: after failing allocation %ld the workload fails again: %s\n", label, n,
				ath_error_last()->message);
			test_failures++;
		}
		teardown(&f);
	}
	test_checks++;
	printf("%-28s %4d allocation sites failed cleanly\n", label, sites);
	CHECK(sites > 0);
}

int main(void)
{
	ddl = mp("{\"k\": \"text\", \"sql\": \"CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INT)\"}");
	ins = mp("{\"k\": \"insert\", \"table\": [\"table\", \"t\"], \"columns\": [\"name\", \"n\"], \"values\": [[[\"bind\", 0], [\"bind\", 1]]]}");
	sel = mp("{\"k\": \"select\", \"columns\": [[\"col\", \"t\", \"id\"], [\"label\", \"x\", [\"col\", \"t\", \"name\"]], "
		 "[\"fn\", \"upper\", [[\"col\", \"t\", \"name\"]]]], \"where\": [\">\", [\"col\", \"t\", \"n\"], [\"bind\", 0]], "
		 "\"order_by\": [[\"desc\", [\"col\", \"t\", \"id\"]]]}");
	sel_in = mp("{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"t\"]], \"where\": "
		    "[\"or\", [\"in\", [\"col\", \"t\", \"n\"], [\"expanding\", 0]], [\"like\", [\"col\", \"t\", \"name\"], [\"bind\", 1]]]}");
	upd = mp("{\"k\": \"update\", \"table\": [\"table\", \"t\"], \"set\": [[\"n\", [\"+\", [\"col\", \"t\", \"n\"], [\"lit\", 1]]]], "
		 "\"where\": [\">\", [\"col\", \"t\", \"n\"], [\"bind\", 0]]}");
	p_ins = mp("[\"a name\", 5]");
	p_many = mp("[[\"x\", 1], [\"y\", 2], [\"z\", 3], [\"w\", 4]]");
	p_sel = mp("[0]");
	p_in = mp("[[1, 2, 3], \"a%%\"]");
	none = mp("[]");

	walk("oom/setup", NULL);
	walk("oom/execute_fetch", w_execute_fetch);
	walk("oom/executemany_in", w_executemany_in);
	walk("oom/transactions", w_transactions);
	walk("oom/stats_compile", w_stats_compile);

	ath_buf *all[] = { &ddl, &ins, &sel, &sel_in, &upd, &p_ins, &p_many, &p_sel, &p_in, &none };
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		mp_free(all[i]);
	return test_exit();
}
