/* test_oom.c — fails the 1st, 2nd, ... Nth allocation of the library inside representative
 * workloads (create engine, connect, compile, execute, executemany, fetch and streaming,
 * transactions and savepoints, two-phase commit, header/keys, schema spec and DDL, create_all /
 * Inspector / drop_all) until a run completes without
 * reaching the failure. Each failed run must return a negative code with OutOfMemoryError (never
 * a crash, never "without details"), leak nothing (LeakSanitizer checks at exit), and leave the
 * engine and connection working: the same workload then runs again on the same handles.
 * Usage: test_oom [sqlite|postgresql|mysql]; the server runs exit 77 without their URL unless
 * ATHANOR_TEST_REQUIRE_SERVERS=1. The wire and driver libraries (msgpack-c, sqlite3, libpq,
 * libmariadb) allocate on their own and are not failed here: the walk covers the library's own
 * allocations on each backend's paths (the PostgreSQL pipeline, MySQL's insertmanyvalues for
 * plain INSERT, streaming reads, XA / PREPARE TRANSACTION). ATHANOR_OOM_SITES=1 lists the sites. */
#define _GNU_SOURCE /* memmem */
#include <athanor/athanor.h>
#include <execinfo.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "util/alloc.h"
#include "wirejson.h"

typedef struct backend {
	const char *name, *url_env;
	const char *ddl;   /* the table, once before the walks (SQLite: in every set-up, a new database) */
	const char *reset; /* the set-up's statement on a server: an empty table */
	int returning;     /* INSERT ... RETURNING (not the mysql dialect's) */
	int interleave;    /* a statement may run while a streamed result is half read */
} backend;

static const backend backends[] = {
	{ "sqlite", NULL, "CREATE TABLE oom_t (id INTEGER PRIMARY KEY, name TEXT, n INT)", NULL, 1, 1 },
	{ "postgresql", "ATHANOR_TEST_PG_URL", "CREATE TABLE oom_t (id SERIAL PRIMARY KEY, name VARCHAR(400), n INT)",
	  "DELETE FROM oom_t", 1, 1 },
	{ "mysql", "ATHANOR_TEST_MYSQL_URL",
	  "CREATE TABLE oom_t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(400), n INT) ENGINE=InnoDB",
	  "DELETE FROM oom_t", 0, 0 },
};

static const backend *B;
static const char *url = "sqlite://";
#define XID "athanor_oom_xa"

typedef struct fixture {
	ath_engine *engine;
	ath_conn *conn;
	uint32_t engine_flags;
} fixture;

static ath_buf ddl, reset, clear, ins, ins_ret, sel, sel_in, upd, p_ins, p_many, p_sel, p_in, none;

/* A run that ends without an error must have the right rows: a failure swallowed on the way shows
 * here (the `once` walk), reported as WRONG_RESULT with wrong_msg. */
#define WRONG_RESULT (-99)
static char wrong_msg[256];
__attribute__((format(printf, 1, 2))) static int wrong(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(wrong_msg, sizeof wrong_msg, fmt, ap);
	va_end(ap);
	return WRONG_RESULT;
}

/* Rows in a batch (a msgpack array); -1 when it is not one. */
static long batch_rows(const ath_buf *b)
{
	json_t *j = jsonwire_from_msgpack(b->ptr, b->size, NULL, 0);
	long n = json_is_array(j) ? (long)json_array_size(j) : -1;
	json_decref(j);
	return n;
}

static int clear_table(fixture *f)
{
	ath_result *r = NULL;
	int rc = ath_conn_execute(&r, f->conn, clear.ptr, clear.size, none.ptr, none.size);
	ath_result_close(r);
	return rc;
}

static int w_execute_fetch(fixture *f)
{
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	long rows = 0;
	int rc = clear_table(f);
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, ins.ptr, ins.size, p_ins.ptr, p_ins.size);
	if (rc == 0) {
		rc = ath_result_inserted_primary_key(&b, r);
		if (rc == 0 && batch_rows(&b) != 1)
			rc = wrong("inserted_primary_key is not one value");
		if (rc == 0)
			rc = ath_result_header(&b, r);
		ath_result_close(r);
	}
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, sel.ptr, sel.size, p_sel.ptr, p_sel.size);
	if (rc == 0) {
		while ((rc = ath_result_fetch(&b, r, 2)) == ATH_OK)
			rows += batch_rows(&b);
		if (rc == ATH_ITEROVER)
			rc = ath_result_header(&b, r);
		if (rc == 0 && rows != 1)
			rc = wrong("the select gave %ld rows, not 1", rows);
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

/* insertmanyvalues with RETURNING, and every row's key (RETURNING batches on PostgreSQL and SQLite,
 * lastrowid row by row on MySQL) */
static int w_executemany_returning(fixture *f)
{
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	int rc = 0;
	if (B->returning) {
		rc = ath_conn_executemany(&r, f->conn, ins_ret.ptr, ins_ret.size, p_many.ptr, p_many.size);
		if (rc == 0)
			rc = ath_result_fetch_all(&b, r);
		if (rc == 0 && batch_rows(&b) != 4)
			rc = wrong("RETURNING gave %ld rows, not 4", batch_rows(&b));
		ath_result_close(r);
		r = NULL;
	}
	if (rc == 0)
		rc = ath_conn_executemany_v2(&r, f->conn, ins.ptr, ins.size, p_many.ptr, p_many.size,
					     ATH_EXEC_RETURN_DEFAULTS);
	if (rc == 0)
		rc = ath_result_inserted_primary_key_rows(&b, r);
	if (rc == 0 && batch_rows(&b) != 4)
		rc = wrong("inserted_primary_key_rows gave %ld keys, not 4", batch_rows(&b));
	ath_result_close(r);
	ath_buf_dispose(&b);
	return rc;
}

/* rows read as they are fetched (engine flag ATH_ENGINE_STREAM_RESULTS: PostgreSQL single-row
 * mode, MySQL unbuffered), a result closed half read, then the connection used again */
static int w_stream(fixture *f)
{
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	int rc = clear_table(f); /* four rows, below */
	if (rc == 0)
		rc = ath_conn_executemany(&r, f->conn, ins.ptr, ins.size, p_many.ptr, p_many.size);
	ath_result_close(r);
	r = NULL;
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, sel.ptr, sel.size, p_sel.ptr, p_sel.size);
	if (rc == 0) {
		while ((rc = ath_result_fetch(&b, r, 1)) == ATH_OK)
			;
		if (rc == ATH_ITEROVER)
			rc = ath_result_header(&b, r);
	}
	ath_result_close(r);
	r = NULL;
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, sel.ptr, sel.size, p_sel.ptr, p_sel.size);
	if (rc == 0)
		rc = ath_result_fetch(&b, r, 1);
	/* another statement while it streams: PostgreSQL keeps the rest of its rows in memory, read
	 * afterwards (MySQL refuses once reading began) */
	ath_result *u = NULL;
	if (rc == 0 && B->interleave)
		rc = ath_conn_execute(&u, f->conn, upd.ptr, upd.size, p_sel.ptr, p_sel.size);
	ath_result_close(u);
	if (rc == 0) {
		int got = 0;
		while ((rc = ath_result_fetch(&b, r, 1)) == ATH_OK)
			got++;
		if (rc == ATH_ITEROVER)
			rc = got == 3 ? 0 : wrong("%d rows after the first, not 3", got); /* none lost */
	}
	ath_result_close(r);
	r = NULL;
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, sel.ptr, sel.size, p_sel.ptr, p_sel.size);
	if (rc == 0)
		rc = ath_result_fetch(&b, r, 1);
	ath_result_close(r); /* the rest is never read */
	r = NULL;
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, upd.ptr, upd.size, p_sel.ptr, p_sel.size);
	ath_result_close(r);
	if (rc == 0)
		rc = ath_conn_commit(f->conn);
	ath_buf_dispose(&b);
	return rc;
}

/* PREPARE TRANSACTION / XA PREPARE, then COMMIT; first the leftover of a run that failed after
 * preparing (left prepared on the server, which would refuse the xid) */
static int w_twophase(fixture *f)
{
	ath_txn *t = NULL;
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	int rc = ath_conn_recover_twophase(&b, f->conn);
	if (rc == 0 && b.size >= strlen(XID) && memmem(b.ptr, b.size, XID, strlen(XID)))
		rc = ath_conn_rollback_prepared(f->conn, XID);
	ath_buf_dispose(&b);
	if (rc == 0)
		rc = ath_conn_begin_twophase(&t, f->conn, XID);
	if (rc == 0)
		rc = ath_conn_execute(&r, f->conn, ins.ptr, ins.size, p_ins.ptr, p_ins.size);
	ath_result_close(r);
	if (rc == 0)
		rc = ath_txn_prepare(t);
	if (rc == 0)
		rc = ath_txn_commit(t);
	ath_txn_free(t);
	return rc;
}

/* A schema spec: two tables, a foreign key, an index, a unique column. */
#define SPEC                                                                                                        \
	"{\"k\": \"metadata\", \"tables\": ["                                                                       \
	"{\"name\": \"oom_child\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}," \
	" {\"name\": \"parent_id\", \"type\": [\"Integer\"], \"index\": true}, {\"name\": \"note\", \"type\": [\"Text\"]}]," \
	" \"constraints\": [{\"k\": \"foreign_key\", \"columns\": [\"parent_id\"], \"ref_table\": \"oom_parent\","  \
	" \"ref_columns\": [\"id\"], \"ondelete\": \"CASCADE\"}]},"                                                 \
	"{\"name\": \"oom_parent\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}," \
	" {\"name\": \"name\", \"type\": [\"String\", 40], \"nullable\": false, \"unique\": true},"               \
	" {\"name\": \"n\", \"type\": [\"Integer\"], \"server_default\": [\"text\", \"0\"]}]}]}"

/* On the servers, one table: the foreign-key ordering is the same code on every backend (walked on
 * SQLite), the catalog queries are the servers' own, and a DDL round trip per allocation adds up. */
#define SPEC_SERVER                                                                                                 \
	"{\"k\": \"metadata\", \"tables\": ["                                                                       \
	"{\"name\": \"oom_child\", \"columns\": [{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true}," \
	" {\"name\": \"parent_id\", \"type\": [\"Integer\"], \"index\": true},"                                   \
	" {\"name\": \"name\", \"type\": [\"String\", 40], \"unique\": true}]}]}"

static ath_buf spec;

/* The spec loaded and its DDL compiled for every dialect (no database). */
static int w_metadata(fixture *f)
{
	(void)f;
	ath_metadata *md = NULL;
	ath_buf b = ATH_BUF_INIT;
	int rc = ath_metadata_create(&md, spec.ptr, spec.size);
	const char *dialects[] = { "sqlite", "postgresql", "mysql" };
	for (size_t i = 0; i < 3 && rc == 0; i++)
		if ((rc = ath_compile_ddl(&b, dialects[i], md, 0)) == 0)
			rc = ath_compile_ddl(&b, dialects[i], md, ATH_DDL_DROP);
	ath_buf_dispose(&b);
	ath_metadata_free(md);
	return rc;
}

/* create_all (checkfirst: the catalog queried first), Inspector calls, drop_all. */
static ath_metadata *schema_md;
static ath_buf schema_expect; /* the Inspector's answer in a run without failures */

static int copy_buf(ath_buf *dst, const ath_buf *src)
{
	dst->ptr = malloc(src->size);
	if (!dst->ptr)
		return -1;
	memcpy(dst->ptr, src->ptr, src->size);
	dst->size = src->size;
	return 0;
}
static int w_schema(fixture *f)
{
	ath_buf b = ATH_BUF_INIT;
	ath_conn_close(f->conn); /* back to the pool, for the engine's own checkouts */
	f->conn = NULL;
	int rc = ath_engine_create_all(f->engine, schema_md, 0);
	if (rc == 0)
		rc = ath_engine_inspect(&b, f->engine, ATH_INSPECT_COLUMNS, NULL, "oom_child");
	if (rc == 0 && schema_expect.size && (b.size != schema_expect.size || memcmp(b.ptr, schema_expect.ptr, b.size)))
		rc = wrong("the Inspector's columns differ from a run without failures");
	if (rc == 0 && !schema_expect.size) /* the first run, before the walks */
		rc = copy_buf(&schema_expect, &b);
	if (rc == 0)
		rc = ath_engine_drop_all(f->engine, schema_md, 0);
	ath_buf_dispose(&b);
	return rc;
}

/* An engine built with a metadata (typed binds and results, a client-side default, the key from
 * the metadata, DDL statements for one table), an isolation level and SingletonThreadPool. */
#define SPEC_TYPED                                                                                                  \
	"{\"k\": \"metadata\", \"tables\": [{\"name\": \"oom_typed\", \"columns\": ["                           \
	"{\"name\": \"id\", \"type\": [\"Integer\"], \"primary_key\": true},"                                     \
	" {\"name\": \"label\", \"type\": [\"String\", 40], \"default\": [\"lit\", \"dflt\"]},"                    \
	" {\"name\": \"d\", \"type\": [\"Date\"]}, {\"name\": \"amount\", \"type\": [\"Numeric\", 10, 2]},"        \
	" {\"name\": \"flag\", \"type\": [\"Boolean\"]}]}]}"

static ath_metadata *typed_md;
static ath_buf typed_create, typed_clear, typed_ins, typed_sel, typed_rows;

static int run_one(ath_conn *c, const ath_buf *shape, const ath_buf *params, ath_buf *rows)
{
	ath_result *r = NULL;
	int rc = ath_conn_execute(&r, c, shape->ptr, shape->size, params->ptr, params->size);
	if (rc == 0 && rows)
		rc = ath_result_fetch_all(rows, r);
	ath_result_close(r);
	return rc;
}

static int w_typed(fixture *f)
{
	(void)f;
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.metadata = typed_md;
	o.isolation_level = "SERIALIZABLE";
	o.pool_class = ATH_POOL_SINGLETON_THREAD;
	ath_engine *e = NULL;
	ath_conn *c = NULL;
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	int rc = ath_engine_create(&e, url, &o);
	if (rc == 0)
		rc = ath_engine_connect(&c, e);
	if (rc == 0)
		rc = run_one(c, &typed_create, &none, NULL);
	if (rc == 0)
		rc = run_one(c, &typed_clear, &none, NULL);
	if (rc == 0)
		rc = ath_conn_executemany_v2(&r, c, typed_ins.ptr, typed_ins.size, typed_rows.ptr, typed_rows.size,
					     ATH_EXEC_RETURN_DEFAULTS);
	if (rc == 0)
		rc = ath_result_inserted_primary_key_rows(&b, r);
	if (rc == 0 && batch_rows(&b) != 2)
		rc = wrong("inserted_primary_key_rows gave %ld keys, not 2", batch_rows(&b));
	ath_result_close(r);
	if (rc == 0)
		rc = run_one(c, &typed_sel, &none, &b);
	if (rc == 0) {
		char *j = as_json(b.ptr, b.size);
		if (!j || !strstr(j, "dflt") || !strstr(j, "true") || !strstr(j, "2026-01-02"))
			rc = wrong("typed rows: %s", j ? j : "(unreadable)");
		free(j);
	}
	if (rc == 0)
		rc = ath_conn_commit(c);
	ath_buf_dispose(&b);
	ath_conn_close(c);
	ath_engine_free(e);
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

/* Setting up is a workload too: engine, connection, schema (SQLite) or an empty table. */
static int setup(fixture *f)
{
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.compile_cache_size = 2; /* small, so evictions run under failure too */
	o.flags = f->engine_flags;
	int rc = ath_engine_create(&f->engine, url, &o);
	if (rc == 0)
		rc = ath_engine_connect(&f->conn, f->engine);
	if (rc == 0) {
		ath_result *r = NULL;
		const ath_buf *s = B->reset ? &reset : &ddl;
		rc = ath_conn_execute(&r, f->conn, s->ptr, s->size, none.ptr, none.size);
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

/* A failure must be OutOfMemoryError; anything else is reported with the allocation that failed
 * (`site`, as binary(+offset) for addr2line). */
static void print_path(void);

static int failed_clean(int rc, const char *label, long n, void *site)
{
	const ath_error *e = ath_error_last();
	if (rc == WRONG_RESULT) {
		fprintf(stderr, "FAIL %s at allocation %ld: a wrong result without an error: %s\n", label, n, wrong_msg);
		print_path();
		test_failures++;
		return 0;
	}
	if (rc < 0 && e->klass == ATH_ERRCLASS_OUT_OF_MEMORY_ERROR && e->code == ATH_ENOMEM)
		return 1;
	fprintf(stderr, "FAIL %s at allocation %ld: rc %d, %s: %s\n  the allocation failed first: ", label, n, rc,
		ath_error_class_name(e->klass), e->message);
	fflush(stderr);
	if (site)
		backtrace_symbols_fd(&site, 1, 2);
	else
		fprintf(stderr, "none\n");
	print_path();
	test_failures++;
	return 0;
}

typedef struct workload {
	const char *name;
	int (*run)(fixture *);     /* NULL: the set-up itself */
	uint32_t engine_flags;
	int only;                  /* ONLY_SERVERS, ONLY_SQLITE (no database: once is enough), or 0 */
	int heavy;                 /* a DDL round trip or a new connection per N: on the servers, no
				      second walk (`once`) unless ATHANOR_OOM_FULL is set */
} workload;

enum { ONLY_SERVERS = 1, ONLY_SQLITE = 2 };

static const workload workloads[] = {
	{ "setup", NULL, 0, 0, 0 },
	{ "execute_fetch", w_execute_fetch, 0, 0, 0 },
	{ "executemany_in", w_executemany_in, 0, 0, 0 },
	{ "executemany_returning", w_executemany_returning, 0, 0, 0 },
	{ "stream", w_stream, ATH_ENGINE_STREAM_RESULTS, 0, 0 },
	{ "transactions", w_transactions, 0, 0, 0 },
	{ "twophase", w_twophase, 0, ONLY_SERVERS, 0 },
	{ "stats_compile", w_stats_compile, 0, 0, 0 },
	{ "metadata", w_metadata, 0, ONLY_SQLITE, 0 },
	{ "typed", w_typed, 0, 0, 1 },
	{ "schema", w_schema, 0, 0, 1 },
};

#define MAX_SITES 8192
static void *all_sites[MAX_SITES];
static int nall_sites;

/* Adds `site` to `set` (of `*n`) unless there; 1 when it was new. */
static int add_site(void **set, int *n, void *site)
{
	for (int i = 0; i < *n; i++)
		if (set[i] == site)
			return 0;
	if (*n < MAX_SITES)
		set[(*n)++] = site;
	return 1;
}

/* The call stack of the failed allocation (ath__alloc_on_fail), its innermost frames hashed: tells
 * apart the places a string buffer or arena shared by many callers grew (the allocator's caller
 * and three callers above it; deeper, every loop of a caller would count again). */
static uintptr_t fail_path;
static void *fail_frames[32];
static int nfail_frames;
static void take_path(void)
{
	nfail_frames = backtrace(fail_frames, 32);
	uintptr_t h = 1469598103934665603u;
	for (int i = 1; i < nfail_frames && i < 8; i++) /* [0] is this hook, [1] should_fail, [2] ath__malloc */
		h = (h ^ (uintptr_t)fail_frames[i]) * 1099511628211u;
	fail_path = h;
}

/* The stack of the allocation that failed, for a failure report (binary(+offset) for addr2line). */
static void print_path(void)
{
	fprintf(stderr, "  the allocation that failed:\n");
	fflush(stderr);
	if (nfail_frames > 2)
		backtrace_symbols_fd(fail_frames + 2, nfail_frames - 2 < 8 ? nfail_frames - 2 : 8, 2);
}

static ath_buf probe;

static int run_probe(ath_conn *c)
{
	ath_result *r = NULL;
	ath_buf b = ATH_BUF_INIT;
	int rc = ath_conn_rollback(c);
	if (rc == 0)
		rc = ath_conn_execute(&r, c, probe.ptr, probe.size, none.ptr, none.size);
	if (rc == 0)
		rc = ath_result_fetch_all(&b, r);
	ath_result_close(r);
	ath_buf_dispose(&b);
	return rc ? rc : ath_conn_rollback(c);
}

/* After a failure: the connection (once rolled back) still serves a statement, and so does the
 * engine, from the pool the connection went back to. */
static int still_works(fixture *f)
{
	int rc = f->conn ? run_probe(f->conn) : 0;
	ath_conn_close(f->conn);
	f->conn = NULL;
	if (rc == 0)
		rc = ath_engine_connect(&f->conn, f->engine);
	return rc ? rc : run_probe(f->conn);
}

/* Walks N over the workload's allocations; each N a fresh engine and connection. `once` = 0: the
 * Nth allocation and every one after it fail, so the run must end in OutOfMemoryError; `once` = 1:
 * only the Nth fails, so a failure the library swallows instead of reporting shows as a run that
 * goes on and must then still be right (the workloads check their rows), or end in
 * OutOfMemoryError later. After each failure the handles must still serve a statement; the
 * workload itself must run through again on them after the first failure at each call path (every
 * failure on SQLite, where it is cheap; on the servers a DDL round trip per N would take minutes).
 * Prints the allocations failed (one per N), the distinct code locations they were made from
 * (callers of the allocator: a string buffer's or arena's growth counts once, at the buffer) and
 * the distinct call paths. */
static void walk(const workload *w, int once)
{
	static void *sites[MAX_SITES], *paths[MAX_SITES];
	int nsites = 0, npaths = 0, reruns = 0, absorbed = 0;
	long n;
	int failed = 0;
	char label[80];
	snprintf(label, sizeof label, "oom/%s/%s%s", B->name, w->name, once ? "/once" : "");
	TEST_CASE(label);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (n = 0; n < 100000; n++) {
		fixture f = { .engine_flags = w->engine_flags };
		fail_path = 0;
		int setup_rc = 0;
		if (w->run == NULL) /* walking the set-up itself */
			(once ? ath__alloc_fail_once : ath__alloc_fail_after)(n);
		else
			setup_rc = setup(&f);
		CHECK_INT(0, setup_rc);
		if (w->run)
			(once ? ath__alloc_fail_once : ath__alloc_fail_after)(n);
		int rc = w->run ? w->run(&f) : setup(&f);
		void *site = ath__alloc_fail_site();
		ath__alloc_fail_after(-1);
		if (!site) { /* no allocation was failed: the walk is over */
			if (rc != 0) {
				fprintf(stderr, "FAIL %s: fails without an injected failure: %s\n", label,
					ath_error_last()->message);
				test_failures++;
			}
			teardown(&f);
			break;
		}
		if (rc == 0) {
			absorbed++;
		} else if (!failed_clean(rc, label, n, site)) {
			teardown(&f);
			break;
		} else {
			failed++;
		}
		add_site(sites, &nsites, site);
		add_site(all_sites, &nall_sites, site);
		int new_path = add_site(paths, &npaths, (void *)fail_path);
		if (!w->run || (!f.conn && !f.engine)) { /* a failed set-up leaves nothing to use */
			teardown(&f);
			continue;
		}
		/* afterwards the same handles still work */
		if (!f.engine || still_works(&f) != 0) {
			fprintf(stderr, "FAIL %s: after failing allocation %ld the handles fail: %s\n", label, n,
				ath_error_last()->message);
			print_path();
			test_failures++;
		} else if (new_path || !B->reset) {
			reruns++;
			int again = w->run(&f);
			if (again != 0) {
				fprintf(stderr, "FAIL %s: after failing allocation %ld the workload fails again: %s\n",
					label, n, again == WRONG_RESULT ? wrong_msg : ath_error_last()->message);
				print_path();
				test_failures++;
			}
		}
		teardown(&f);
	}
	test_checks++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%-41s %4d allocations failed: %4d reported, %3d absorbed; %3d sites, %3d call paths, %4d runs again, "
	       "%5.1f s\n", label, failed + absorbed, failed, absorbed, nsites, npaths, reruns,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (getenv("ATHANOR_OOM_SITES")) { /* as binary(+offset): addr2line -f -e test_oom OFFSET */
		fflush(stdout);
		backtrace_symbols_fd(sites, nsites, 1);
	}
	CHECK(failed > 0);
}

/* The server's table, once: the walks' set-ups only empty it. */
static int create_table(void)
{
	ath_engine *e = NULL;
	ath_conn *c = NULL;
	ath_result *r = NULL;
	ath_buf drop = mp("{\"k\": \"text\", \"sql\": \"DROP TABLE IF EXISTS oom_t\"}");
	int rc = ath_engine_create(&e, url, NULL);
	if (rc == 0)
		rc = ath_engine_connect(&c, e);
	if (rc == 0)
		ath_conn_rollback_prepared(c, XID); /* a previous run's, interrupted; usually none */
	if (rc == 0)
		ath_engine_drop_all(e, schema_md, 0);
	if (rc == 0)
		rc = ath_conn_execute(&r, c, drop.ptr, drop.size, none.ptr, none.size);
	ath_result_close(r);
	r = NULL;
	if (rc == 0)
		rc = ath_conn_execute(&r, c, ddl.ptr, ddl.size, none.ptr, none.size);
	ath_result_close(r);
	if (rc == 0)
		rc = ath_conn_commit(c);
	if (rc)
		fprintf(stderr, "FAIL cannot create the table: %s\n", ath_error_last()->message);
	mp_free(&drop);
	ath_conn_close(c);
	ath_engine_free(e);
	return rc;
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "sqlite";
	for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
		if (strcmp(backends[i].name, which) == 0)
			B = &backends[i];
	if (!B) {
		fprintf(stderr, "usage: test_oom [sqlite|postgresql|mysql] (not %s)\n", which);
		return 2;
	}
	if (B->url_env) {
		int rc = test_server_url(B->url_env, &url);
		if (rc)
			return rc;
	}
	ddl = mp("{\"k\": \"text\", \"sql\": \"%s\"}", B->ddl);
	reset = mp("{\"k\": \"text\", \"sql\": \"%s\"}", B->reset ? B->reset : "SELECT 1");
	clear = mp("{\"k\": \"text\", \"sql\": \"DELETE FROM oom_t\"}");
	ins = mp("{\"k\": \"insert\", \"table\": [\"table\", \"oom_t\"], \"columns\": [\"name\", \"n\"], \"values\": [[[\"bind\", 0], [\"bind\", 1]]]}");
	ins_ret = mp("{\"k\": \"insert\", \"table\": [\"table\", \"oom_t\"], \"columns\": [\"name\", \"n\"], \"values\": [[[\"bind\", 0], [\"bind\", 1]]], "
		     "\"returning\": [[\"col\", \"oom_t\", \"id\"], [\"col\", \"oom_t\", \"name\"]]}");
	sel = mp("{\"k\": \"select\", \"columns\": [[\"col\", \"oom_t\", \"id\"], [\"label\", \"x\", [\"col\", \"oom_t\", \"name\"]], "
		 "[\"fn\", \"upper\", [[\"col\", \"oom_t\", \"name\"]]]], \"where\": [\">\", [\"col\", \"oom_t\", \"n\"], [\"bind\", 0]], "
		 "\"order_by\": [[\"desc\", [\"col\", \"oom_t\", \"id\"]]]}");
	sel_in = mp("{\"k\": \"select\", \"columns\": [[\"fn\", \"count\", []]], \"from\": [[\"table\", \"oom_t\"]], \"where\": "
		    "[\"or\", [\"in\", [\"col\", \"oom_t\", \"n\"], [\"expanding\", 0]], [\"like\", [\"col\", \"oom_t\", \"name\"], [\"bind\", 1]]]}");
	upd = mp("{\"k\": \"update\", \"table\": [\"table\", \"oom_t\"], \"set\": [[\"n\", [\"+\", [\"col\", \"oom_t\", \"n\"], [\"lit\", 1]]]], "
		 "\"where\": [\">\", [\"col\", \"oom_t\", \"n\"], [\"bind\", 0]]}");
	p_ins = mp("[\"a name\", 5]");
	/* the third row's name outgrows the buffers the first rows sized: an allocation halfway
	 * through the rows (the PostgreSQL pipeline has sent two when it fails) */
	p_many = mp("[[\"x\", 1], [\"y\", 2], [\"%0300d\", 3], [\"w\", 4]]", 7);
	p_sel = mp("[0]");
	/* 21 parameters: past the drivers' on-stack arrays (PostgreSQL keeps 16) */
	p_in = mp("[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], \"a%%\"]");
	none = mp("[]");
	probe = mp("{\"k\": \"select\", \"columns\": [[\"lit\", 1]]}");
	ath__alloc_on_fail(take_path);
	spec = mp(SPEC);
	ath_buf server_spec = mp(SPEC_SERVER);
	int bad = ath_metadata_create(&schema_md, B->reset ? server_spec.ptr : spec.ptr,
				      B->reset ? server_spec.size : spec.size) != ATH_OK;
	mp_free(&server_spec);
	if (bad) {
		fprintf(stderr, "FAIL the schema spec: %s\n", ath_error_last()->message);
		return 1;
	}

	ath_buf typed_spec = mp(SPEC_TYPED);
	bad = ath_metadata_create(&typed_md, typed_spec.ptr, typed_spec.size) != ATH_OK;
	mp_free(&typed_spec);
	if (bad) {
		fprintf(stderr, "FAIL the typed spec: %s\n", ath_error_last()->message);
		return 1;
	}
	typed_create = mp("{\"k\": \"create_table\", \"table\": \"oom_typed\", \"if_not_exists\": true}");
	typed_clear = mp("{\"k\": \"delete\", \"table\": [\"table\", \"oom_typed\"]}");
	typed_ins = mp("{\"k\": \"insert\", \"table\": [\"table\", \"oom_typed\"], \"columns\": [\"id\", \"d\", \"amount\", "
		       "\"flag\"], \"values\": [[[\"bind\", 0], [\"bind\", 1], [\"bind\", 2], [\"bind\", 3]]]}");
	typed_rows = mp("[[1, {\"$ext\": 3, \"v\": \"2026-01-02\"}, {\"$ext\": 2, \"v\": \"12.50\"}, true], "
			"[2, {\"$ext\": 3, \"v\": \"2026-01-03\"}, 3, false]]");
	typed_sel = mp("{\"k\": \"select\", \"columns\": [[\"col\", \"oom_typed\", \"label\"], [\"col\", \"oom_typed\", \"d\"], "
		       "[\"col\", \"oom_typed\", \"amount\"], [\"col\", \"oom_typed\", \"flag\"]], \"order_by\": [[\"col\", \"oom_typed\", \"id\"]]}");

	fixture first = { 0 }; /* the Inspector's answer without failures, for w_schema to compare */
	int ready = (!B->reset || create_table() == 0) && setup(&first) == 0 && w_schema(&first) == 0;
	if (!ready) {
		fprintf(stderr, "FAIL a run without failures: %s\n", ath_error_last()->message);
		test_failures++;
	}
	teardown(&first);
	if (ready) {
		for (size_t i = 0; i < sizeof workloads / sizeof *workloads; i++)
			if (workloads[i].only != (B->reset ? ONLY_SQLITE : ONLY_SERVERS)) {
				walk(&workloads[i], 0);
				if (!(B->reset && workloads[i].heavy) || getenv("ATHANOR_OOM_FULL"))
					walk(&workloads[i], 1);
			}
		printf("oom/%s: %d distinct allocation sites failed\n", B->name, nall_sites);
	}
	free(schema_expect.ptr);

	ath_metadata_free(schema_md);
	ath_metadata_free(typed_md);
	ath_buf *typed_all[] = { &typed_create, &typed_clear, &typed_ins, &typed_sel, &typed_rows };
	for (size_t i = 0; i < sizeof typed_all / sizeof *typed_all; i++)
		mp_free(typed_all[i]);
	ath_buf *all[] = { &probe, &spec, &ddl, &reset, &clear, &ins, &ins_ret, &sel, &sel_in, &upd, &p_ins, &p_many, &p_sel, &p_in, &none };
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		mp_free(all[i]);
	return test_exit();
}
