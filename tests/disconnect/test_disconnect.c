/* test_disconnect.c — lost connections under load: a worker thread commits numbered transactions
 * (two rows each) and records every one as acknowledged, failed before COMMIT, or of unknown
 * outcome (ATH_ERROR_UNKNOWN_OUTCOME, also checked alone for COMMIT PREPARED), while a killer thread ends the worker's server session at
 * random moments (pg_terminate_backend / KILL CONNECTION, on the id read after each reconnect);
 * on PostgreSQL the server is then crash-restarted a few times (scripts/test-servers restart-pg)
 * under the same load. Afterwards every acknowledged transaction is present, no failed one is
 * (lost = phantom = 0), unknown ones are whole either way, the pool has recovered, and the
 * process's file descriptors and the worker's server sessions are back to where they were.
 * Usage: test_disconnect [sqlite|postgresql|mysql]; sqlite runs the bookkeeping without kills.
 * Server runs exit 77 without their URL unless ATHANOR_TEST_REQUIRE_SERVERS=1. */
#define _POSIX_C_SOURCE 200809L
#include <athanor/athanor.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "wirejson.h"

#define MAX_TXNS 100000
#define MAX_IDS 4096

typedef struct backend {
	const char *name, *url_env;
	const char *ddl;
	const char *pid_sql;            /* the session's server id */
	const char *session_sql;        /* run after each (re)connect; NULL = none */
	const char *kill_pre, *kill_post;
	const char *alive_pre, *alive_post; /* counts live sessions among an id list */
	int kill_returns_bool;          /* the kill is a SELECT of true/false (else it succeeds or fails) */
	int kills, kill_ms;             /* kills wanted; time limit of the kill phase */
	int restarts;
} backend;

static const backend backends[] = {
	{ "sqlite", NULL, "CREATE TABLE soak (txn INTEGER NOT NULL, part INTEGER NOT NULL, PRIMARY KEY (txn, part))",
	  NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 300, 0 },
	/* synchronous_commit is off server-wide (scripts/test-servers); an acknowledged commit must
	 * survive an immediate restart, so the worker's sessions turn it back on */
	{ "postgresql", "ATHANOR_TEST_PG_URL",
	  "CREATE TABLE soak (txn INTEGER NOT NULL, part INTEGER NOT NULL, PRIMARY KEY (txn, part))",
	  "SELECT pg_backend_pid()", "SET synchronous_commit = on", "SELECT pg_terminate_backend(", ")",
	  "SELECT count(*) FROM pg_stat_activity WHERE pid IN (", ")", 1, 300, 5000, 3 },
	{ "mysql", "ATHANOR_TEST_MYSQL_URL",
	  "CREATE TABLE soak (txn INTEGER NOT NULL, part INTEGER NOT NULL, PRIMARY KEY (txn, part)) ENGINE=InnoDB",
	  "SELECT CONNECTION_ID()", NULL, "KILL CONNECTION ", "",
	  "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID IN (", ")", 0, 400, 6000, 0 },
};

static const backend *B;
static char url[1024];

enum { T_NONE, T_ACKED, T_FAILED, T_UNKNOWN };
static unsigned char outcome[MAX_TXNS];

/* shared by the worker and the killer */
static atomic_llong worker_id = -1; /* the worker's current server session */
static atomic_int stop_worker, stop_killer;
static atomic_int txns;             /* transactions the worker started */
static long long ids[MAX_IDS];      /* every server session the worker had (worker only) */
static int nids;
static int disconnects, reconnect_failures; /* the worker's */
static atomic_int kills;

static ath_buf shape_insert;

static int text(ath_result **out, ath_conn *c, const char *sql)
{
	ath_buf s = mp("{\"k\": \"text\", \"sql\": \"%s\"}", sql);
	ath_result *r = NULL;
	int rc = ath_conn_execute(&r, c, s.ptr, s.size, NULL, 0);
	mp_free(&s);
	if (out)
		*out = r;
	else
		ath_result_close(r);
	return rc;
}

/* The first column of the first row as an integer (true = 1); -1 on failure. */
static long long scalar(ath_conn *c, const char *sql)
{
	ath_result *r;
	if (text(&r, c, sql))
		return -1;
	ath_buf b = ATH_BUF_INIT;
	long long v = -1;
	if (ath_result_fetch_all(&b, r) == ATH_OK) {
		char err[256];
		json_t *j = jsonwire_from_msgpack(b.ptr, b.size, err, sizeof err);
		json_t *x = json_array_get(json_array_get(j, 0), 0);
		v = json_is_integer(x) ? (long long)json_integer_value(x) : json_is_true(x) ? 1 : json_is_false(x) ? 0 : -1;
		json_decref(j);
	}
	ath_buf_dispose(&b);
	ath_result_close(r);
	return v;
}

static void sleep_us(long us)
{
	struct timespec t = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&t, NULL);
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int insert(ath_conn *c, int txn, int part)
{
	ath_buf p = mp("[%d, %d]", txn, part);
	ath_result *r = NULL;
	int rc = ath_conn_execute(&r, c, shape_insert.ptr, shape_insert.size, p.ptr, p.size);
	ath_result_close(r);
	mp_free(&p);
	return rc;
}

/* After a (re)connect: publish the session id for the killer and set the session up. */
static int session_setup(ath_conn *c)
{
	if (!B->pid_sql)
		return 0;
	long long id = scalar(c, B->pid_sql);
	int rc = id < 0 ? -1 : B->session_sql ? text(NULL, c, B->session_sql) : 0;
	if (rc == 0)
		rc = ath_conn_commit(c);
	if (rc) {
		ath_conn_rollback(c);
		return -1;
	}
	if (nids == 0 || ids[nids - 1] != id) {
		if (nids < MAX_IDS)
			ids[nids++] = id;
		atomic_store(&worker_id, id);
	}
	return 0;
}

/* The worker: transactions of two rows, each recorded by how its COMMIT ended. */
static void *worker(void *arg)
{
	ath_engine *e = arg;
	ath_conn *c = NULL;
	int fresh = 1;
	while (!atomic_load(&stop_worker)) {
		int n = atomic_load(&txns);
		if (n >= MAX_TXNS)
			break;
		if (!c && ath_engine_connect(&c, e)) {
			c = NULL;
			reconnect_failures++;
			sleep_us(20000); /* the server is restarting */
			continue;
		}
		if (fresh) {
			if (session_setup(c)) {
				reconnect_failures++;
				if (ath_error_last()->flags & ATH_ERROR_DISCONNECT)
					continue;
				sleep_us(20000);
				continue;
			}
			fresh = 0;
		}
		atomic_store(&txns, n + 1);
		outcome[n] = T_FAILED;
		int rc = insert(c, n, 0);
		if (rc == 0)
			rc = insert(c, n, 1);
		if (rc == 0) {
			rc = ath_conn_commit(c);
			if (rc == 0)
				outcome[n] = T_ACKED;
			else if (ath_error_last()->flags & ATH_ERROR_UNKNOWN_OUTCOME)
				outcome[n] = T_UNKNOWN;
		}
		if (rc) {
			const ath_error *err = ath_error_last();
			if (!(err->flags & ATH_ERROR_DISCONNECT) && outcome[n] != T_UNKNOWN)
				fprintf(stderr, "note: transaction %d failed without a disconnect: %s: %s\n", n,
					ath_error_class_name(err->klass), err->message);
			if (err->flags & ATH_ERROR_DISCONNECT)
				disconnects++;
			ath_conn_rollback(c); /* ends the transaction; the next use reconnects */
			fresh = 1;
			if (!B->pid_sql) /* SQLite: no server to lose */
				sleep_us(1000);
		}
	}
	ath_conn_close(c);
	return NULL;
}

/* Ends server session `id` from connection `k`; 1 when the server had it. */
static int kill_session(ath_conn *k, long long id)
{
	char sql[128];
	snprintf(sql, sizeof sql, "%s%lld%s", B->kill_pre, id, B->kill_post);
	int hit = B->kill_returns_bool ? scalar(k, sql) == 1 : text(NULL, k, sql) == ATH_OK;
	ath_conn_rollback(k);
	return hit;
}

/* The ways a transaction meets a lost connection, one at a time: during COMMIT (outcome unknown,
 * its own flag), during a statement before it (failed; COMMIT then refuses), and during COMMIT
 * PREPARED of a two-phase transaction (unknown, as COMMIT) or ROLLBACK PREPARED (not flagged). */
static void outcomes(ath_engine *e, ath_engine *ke)
{
	TEST_CASE("disconnect/commit_outcome_unknown");
	ath_conn *c = NULL, *k = NULL;
	if (ath_engine_connect(&c, e) || ath_engine_connect(&k, ke)) {
		CHECK(0);
		return;
	}
	struct timespec gone = { 0, 300 * 1000 * 1000 }; /* the session takes a moment to go */
	long long id = scalar(c, B->pid_sql);
	CHECK_INT(ATH_OK, insert(c, -1, 0));
	CHECK_INT(1, kill_session(k, id));
	nanosleep(&gone, NULL);
	CHECK(ath_conn_commit(c) != ATH_OK);
	const ath_error *err = ath_error_last();
	CHECK_STR("OperationalError", ath_error_class_name(err->klass));
	CHECK(err->flags & ATH_ERROR_DISCONNECT);
	CHECK(err->flags & ATH_ERROR_UNKNOWN_OUTCOME);
	CHECK_CONTAINS(err->message, "outcome of COMMIT is unknown");
	CHECK_INT(ATH_OK, ath_conn_rollback(c));

	TEST_CASE("disconnect/statement_lost_is_a_failure");
	id = scalar(c, B->pid_sql); /* reconnected */
	CHECK(id > 0);
	CHECK_INT(ATH_OK, insert(c, -2, 0));
	CHECK_INT(1, kill_session(k, id));
	nanosleep(&gone, NULL);
	CHECK(insert(c, -2, 1) != ATH_OK);
	CHECK(ath_error_last()->flags & ATH_ERROR_DISCONNECT);
	CHECK_INT(0, ath_error_last()->flags & ATH_ERROR_UNKNOWN_OUTCOME);
	CHECK_INT(ATH_EMISUSE, ath_conn_commit(c)); /* "Can't reconnect until invalid transaction is rolled back" */
	CHECK_INT(0, ath_error_last()->flags & ATH_ERROR_UNKNOWN_OUTCOME);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_INT(0, scalar(c, "SELECT COUNT(*) FROM soak WHERE txn < 0"));
	ath_conn_rollback(c);

	/* A transaction prepared by a connection since closed, finished from another one that is lost
	 * before its COMMIT PREPARED / XA COMMIT answers: unknown too. Here the server never got it, so
	 * the transaction is still prepared and a second try commits it. */
	TEST_CASE("disconnect/commit_prepared_outcome_unknown");
	const char *xid = "athanor_disconnect_xa";
	ath_conn *p = NULL;
	ath_txn *t = NULL;
	CHECK_INT(ATH_OK, ath_engine_connect(&p, ke));
	CHECK_INT(ATH_OK, ath_conn_begin_twophase(&t, p, xid));
	CHECK_INT(ATH_OK, insert(p, -3, 0));
	CHECK_INT(ATH_OK, ath_txn_prepare(t));
	ath_txn_free(t); /* left prepared */
	ath_conn_close(p);
	id = scalar(c, B->pid_sql);
	CHECK(id > 0);
	CHECK_INT(ATH_OK, ath_conn_rollback(c)); /* commit_prepared() runs outside a transaction */
	CHECK_INT(1, kill_session(k, id));
	nanosleep(&gone, NULL);
	CHECK(ath_conn_commit_prepared(c, xid) != ATH_OK);
	err = ath_error_last();
	CHECK_STR("OperationalError", ath_error_class_name(err->klass));
	CHECK(err->flags & ATH_ERROR_DISCONNECT);
	CHECK(err->flags & ATH_ERROR_UNKNOWN_OUTCOME);
	CHECK_CONTAINS(err->message, "outcome of COMMIT PREPARED is unknown");
	CHECK_INT(ATH_OK, ath_conn_commit_prepared(c, xid)); /* on a fresh connection */
	CHECK_INT(1, scalar(c, "SELECT COUNT(*) FROM soak WHERE txn = -3"));
	ath_conn_rollback(c);

	TEST_CASE("disconnect/rollback_prepared_lost_is_not_unknown");
	CHECK_INT(ATH_OK, ath_engine_connect(&p, ke));
	CHECK_INT(ATH_OK, ath_conn_begin_twophase(&t, p, xid));
	CHECK_INT(ATH_OK, insert(p, -4, 0));
	CHECK_INT(ATH_OK, ath_txn_prepare(t));
	ath_txn_free(t);
	ath_conn_close(p);
	id = scalar(c, B->pid_sql);
	CHECK_INT(ATH_OK, ath_conn_rollback(c));
	CHECK_INT(1, kill_session(k, id));
	nanosleep(&gone, NULL);
	CHECK(ath_conn_rollback_prepared(c, xid) != ATH_OK);
	CHECK(ath_error_last()->flags & ATH_ERROR_DISCONNECT);
	CHECK_INT(0, ath_error_last()->flags & ATH_ERROR_UNKNOWN_OUTCOME);
	CHECK_INT(ATH_OK, ath_conn_rollback_prepared(c, xid));
	CHECK_INT(0, scalar(c, "SELECT COUNT(*) FROM soak WHERE txn = -4"));
	ath_conn_rollback(c);
	ath_conn_close(k);
	ath_conn_close(c);
}

/* The killer: ends the worker's current session after a random pause, once per session. */
static void *killer(void *arg)
{
	ath_engine *e = arg;
	ath_conn *k = NULL;
	long long last = -1;
	unsigned seed = 12345;
	while (!atomic_load(&stop_killer) && atomic_load(&kills) < B->kills) {
		long long id = atomic_load(&worker_id);
		if (id < 0 || id == last) {
			sleep_us(200);
			continue;
		}
		sleep_us(rand_r(&seed) % 4000); /* around statements and COMMIT, or between transactions */
		if (!k && ath_engine_connect(&k, e)) {
			k = NULL;
			sleep_us(20000);
			continue;
		}
		if (kill_session(k, id))
			atomic_fetch_add(&kills, 1);
		last = id;
	}
	ath_conn_close(k);
	return NULL;
}

static int stat_of(ath_engine *e, const char *group, const char *key)
{
	ath_buf b = ATH_BUF_INIT;
	int v = -1;
	if (ath_engine_stats(&b, e) == ATH_OK) {
		char err[256];
		json_t *j = jsonwire_from_msgpack(b.ptr, b.size, err, sizeof err);
		json_t *x = json_object_get(json_object_get(j, group), key);
		v = json_is_integer(x) ? (int)json_integer_value(x) : -1;
		json_decref(j);
	}
	ath_buf_dispose(&b);
	return v;
}

/* Live server sessions among the worker's past ones, once the killed ones are gone (they take a
 * moment). */
static long long alive_sessions(ath_conn *v, long long expect)
{
	if (!nids)
		return 0;
	size_t cap = (size_t)nids * 24 + 256;
	char *sql = malloc(cap);
	size_t o = (size_t)snprintf(sql, cap, "%s", B->alive_pre);
	for (int i = 0; i < nids; i++)
		o += (size_t)snprintf(sql + o, cap - o, "%s%lld", i ? ", " : "", ids[i]);
	snprintf(sql + o, cap - o, "%s", B->alive_post);
	long long n = -1;
	for (int tries = 0; tries < 50; tries++) {
		n = scalar(v, sql);
		ath_conn_rollback(v);
		if (n == expect)
			break;
		sleep_us(100000);
	}
	free(sql);
	return n;
}

/* scripts/test-servers restart-pg; 1 when the server restarted, 0 when there is no server of
 * ours to restart (exit 3), -1 on failure. */
static int restart_server(void)
{
	const char *src = getenv("ATHANOR_SOURCE_DIR");
	if (!src)
		return 0;
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "'%s/scripts/test-servers' restart-pg", src);
	int st = system(cmd);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 3)
		return 0;
	return st == 0 ? 1 : -1;
}

static void run(void)
{
	TEST_CASE("disconnect/soak");
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	o.pool_size = 1;
	o.pool_timeout_ms = 5000;
	ath_engine *e = NULL, *ke = NULL, *ve = NULL;
	if (ath_engine_create(&e, url, &o) || ath_engine_create(&ke, url, NULL) || ath_engine_create(&ve, url, NULL)) {
		fprintf(stderr, "FAIL cannot create the engines: %s\n", ath_error_last()->message);
		exit(1);
	}
	ath_conn *v = NULL;
	if (ath_engine_connect(&v, ve)) {
		fprintf(stderr, "FAIL cannot connect: %s\n", ath_error_last()->message);
		exit(1);
	}
	text(NULL, v, "DROP TABLE IF EXISTS soak");
	CHECK_INT(ATH_OK, text(NULL, v, B->ddl));
	CHECK_INT(ATH_OK, ath_conn_commit(v));
	shape_insert = mp("{\"k\": \"insert\", \"table\": [\"table\", \"soak\"], \"columns\": [\"txn\", \"part\"], "
			  "\"values\": [[[\"bind\", 0], [\"bind\", 1]]]}");

	if (B->pid_sql)
		outcomes(e, ke);

	/* the baseline: every engine has made its connection once, as at the end */
	ath_conn *warm = NULL;
	if (ath_engine_connect(&warm, e) == ATH_OK)
		ath_conn_close(warm);
	if (B->pid_sql && ath_engine_connect(&warm, ke) == ATH_OK)
		ath_conn_close(warm);
	int fds0 = open_fds();

	long long t0 = now_ms();
	pthread_t wt, kt;
	pthread_create(&wt, NULL, worker, e);
	if (B->pid_sql) {
		pthread_create(&kt, NULL, killer, ke);
		while (atomic_load(&kills) < B->kills && now_ms() - t0 < B->kill_ms)
			sleep_us(10000);
		atomic_store(&stop_killer, 1);
		pthread_join(kt, NULL);
	} else {
		sleep_us((long)B->kill_ms * 1000);
	}
	int kill_phase_txns = atomic_load(&txns);
	int restarts = 0;
	for (int i = 0; i < B->restarts; i++) {
		sleep_us(300000 + (long)(rand() % 300) * 1000); /* a moment of load first */
		int r = restart_server();
		if (r == 0) {
			fprintf(stderr, "note: no server of scripts/test-servers to restart; restarts skipped\n");
			break;
		}
		CHECK_INT(1, r);
		restarts += r == 1;
	}
	if (restarts)
		sleep_us(500000); /* the worker reconnects and commits again */
	atomic_store(&stop_worker, 1);
	pthread_join(wt, NULL);
	long long elapsed = now_ms() - t0;

	/* the outcomes against the table */
	int n = atomic_load(&txns);
	int *parts = calloc((size_t)n + 1, sizeof *parts);
	ath_result *r = NULL;
	ath_conn_close(v); /* the verifier's connection died in a restart, maybe */
	v = NULL;
	CHECK_INT(ATH_OK, ath_engine_connect(&v, ve));
	int rc = text(&r, v, "SELECT txn FROM soak");
	if (rc) { /* the restart killed the verifier's pooled connection: once more, on a fresh one */
		ath_conn_rollback(v);
		rc = text(&r, v, "SELECT txn FROM soak");
	}
	CHECK_INT(ATH_OK, rc);
	ath_buf b = ATH_BUF_INIT;
	if (rc == ATH_OK && ath_result_fetch_all(&b, r) == ATH_OK) {
		char err[256];
		json_t *j = jsonwire_from_msgpack(b.ptr, b.size, err, sizeof err);
		for (size_t i = 0; i < json_array_size(j); i++) {
			long long t = json_integer_value(json_array_get(json_array_get(j, i), 0));
			if (t >= 0 && t < n)
				parts[t]++;
		}
		json_decref(j);
	}
	ath_buf_dispose(&b);
	ath_result_close(r);
	ath_conn_rollback(v);
	int acked = 0, failed = 0, unknown = 0, unknown_in = 0, lost = 0, phantom = 0, torn = 0;
	for (int i = 0; i < n; i++) {
		if (parts[i] == 1)
			torn++;
		if (outcome[i] == T_ACKED) {
			acked++;
			lost += parts[i] != 2;
		} else if (outcome[i] == T_FAILED) {
			failed++;
			phantom += parts[i] != 0;
		} else if (outcome[i] == T_UNKNOWN) {
			unknown++;
			unknown_in += parts[i] == 2;
		}
	}
	free(parts);
	printf("%s: %lld ms, %d transactions (%d in the kill phase), %d kills, %d restarts, %d disconnects seen, "
	       "%d failed reconnects; committed %d, failed %d, unknown %d (%d of them applied); lost %d, phantom %d, "
	       "torn %d\n",
	       B->name, elapsed, n, kill_phase_txns, atomic_load(&kills), restarts, disconnects, reconnect_failures, acked, failed,
	       unknown, unknown_in, lost, phantom, torn);
	CHECK_INT(0, lost);
	CHECK_INT(0, phantom);
	CHECK_INT(0, torn);
	CHECK(acked > 0);
	if (B->pid_sql) {
		CHECK(atomic_load(&kills) > 0);
		CHECK(disconnects > 0);
	}

	TEST_CASE("disconnect/pool_recovered");
	CHECK_INT(0, stat_of(e, "pool", "checked_out"));
	CHECK(stat_of(e, "pool", "idle") <= 1);
	if (B->pid_sql)
		CHECK(stat_of(e, "pool", "invalidations") > 0);
	ath_conn *c = NULL;
	CHECK_INT(ATH_OK, ath_engine_connect(&c, e));
	if (c) {
		/* a dead idle connection (the last restart) is found at its first use and replaced */
		if (scalar(c, "SELECT 1") != 1) {
			ath_conn_rollback(c);
			CHECK_INT(1, scalar(c, "SELECT 1"));
		}
		ath_conn_rollback(c);
		ath_conn_close(c);
	}
	int idle = stat_of(e, "pool", "idle");

	TEST_CASE("disconnect/resources_flat");
	if (B->pid_sql)
		CHECK_INT(idle, alive_sessions(v, idle)); /* the pool's one, every other session gone */
	ath_conn_close(v);
	v = NULL;
	int fds1 = open_fds();
	printf("%s: open fds %d before, %d after; worker sessions %d\n", B->name, fds0, fds1, nids);
	CHECK_INT(fds0, fds1);

	ath_conn_close(v);
	mp_free(&shape_insert);
	ath_engine_free(ve);
	ath_engine_free(ke);
	ath_engine_free(e);
}

int main(int argc, char **argv)
{
	const char *which = argc > 1 ? argv[1] : "sqlite";
	for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
		if (strcmp(backends[i].name, which) == 0)
			B = &backends[i];
	if (!B) {
		fprintf(stderr, "usage: test_disconnect [sqlite|postgresql|mysql] (not %s)\n", which);
		return 2;
	}
	if (B->url_env) {
		const char *u;
		int rc = test_server_url(B->url_env, &u);
		if (rc)
			return rc;
		snprintf(url, sizeof url, "%s", u);
	} else {
		unlink("disconnect.db");
		snprintf(url, sizeof url, "sqlite:///disconnect.db");
	}
	srand((unsigned)time(NULL));
	run();
	return test_exit();
}
