/* connection.c — executing statements on a connection: compile (through the cache), render
 * parameters, autobegin, prepared-statement reuse, executemany (insertmanyvalues batches, driver
 * pipelining, or a loop), and transactions with savepoints and two-phase commit, following
 * SQLAlchemy 2.0's Connection (engine/base.py): autobegin, commit-as-you-go, explicit begin(),
 * begin_nested(), begin_twophase(). Rows are read in result.c; SQL for the batches is rendered
 * in sql/insertmany.c; the backends' two-phase SQL is in their drivers. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "conn/internal.h"
#include "sql/insertmany.h"
#include "util/alloc.h"
#include "util/strbuf.h"
#include "wire/mpbuf.h"
#include "wire/params.h"

void ath_engine__conn_gone(ath_engine *e);

static int echo(const ath_conn *c) { return c->engine->flags & ATH_ENGINE_ECHO; }

/* After a driver error: a lost connection is invalidated and the pool refreshed, as SQLAlchemy's
 * Connection._handle_dbapi_exception does when the dialect says is_disconnect. Returns rc. */
int ath_conn__seen_error(ath_conn *c, int rc, ath_err *err)
{
	if (rc && (err->flags & ATH_ERROR_DISCONNECT) && !c->invalidated) {
		c->invalidated = 1;
		ath_pool__invalidate(&c->engine->pool, c->dc);
		if (echo(c))
			ath_engine__log(c->engine, ATH_LOG_WARNING, "connection invalidated: %s", err->message);
	}
	return rc;
}

static int simple(ath_conn *c, const char *sql, ath_err *err)
{
	if (echo(c))
		ath_engine__log(c->engine, ATH_LOG_INFO, "%s", sql);
	return ath_conn__seen_error(c, c->dc->ops->exec_simple(c->dc->native, sql, err), err);
}

/* An invalidated connection gets a fresh driver connection at its next use, once its transaction
 * is rolled back (SQLAlchemy 2.0: "Can't reconnect until invalid transaction is rolled back").
 * The lost one goes back to the pool first, as SQLAlchemy checks an invalidated connection in at
 * once: connections that all lost theirs to one server restart must not each hold a slot while
 * waiting for another (they would all wait out pool_timeout and fail, the pool being full of dead
 * connections). When no fresh connection comes, c->dc stays NULL and the next use tries again. */
static int revalidate(ath_conn *c, ath_err *err)
{
	if (!c->invalidated)
		return 0;
	if (c->top)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "Can't reconnect until invalid transaction is rolled back. Please rollback() "
				    "fully before proceeding");
	if (c->dc) {
		ath_pool__checkin(&c->engine->pool, c->dc);
		c->dc = NULL;
	}
	ath_dconn *fresh;
	int rc = ath_pool__checkout(&c->engine->pool, &fresh, err);
	if (rc)
		return rc;
	c->dc = fresh;
	c->invalidated = 0;
	c->isolation_changed = 0;
	return ath_engine__setup_conn(c, err);
}

/* ---- transactions ------------------------------------------------------------------------- */

static int refuse_if_prepared(ath_conn *c, ath_err *err);

static int misuse(ath_err *err, const char *msg)
{
	return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR, "%s", msg);
}

static ath_txn *new_txn(ath_conn *c, ath_err *err)
{
	ath_txn *t = ath__calloc(1, sizeof *t);
	if (!t) {
		ath_err__oom(err);
		return NULL;
	}
	t->magic = ATH_MAGIC_TXN;
	t->conn = c;
	t->active = 1;
	return t;
}

static void txn_maybe_free(ath_txn *t)
{
	if (!t->active && (t->implicit || t->released)) {
		ath_conn *c = t->conn;
		int handle = !t->implicit;
		t->magic = ATH_MAGIC_DEAD;
		ath__free(t);
		if (handle)
			ath_conn__decref(c);
	}
}

/* End `t` and every transaction nested inside it. */
static void deactivate_through(ath_conn *c, ath_txn *t)
{
	while (c->top) {
		ath_txn *top = c->top;
		c->top = top->parent;
		top->active = 0;
		top->parent = NULL;
		int last = top == t;
		txn_maybe_free(top);
		if (last)
			break;
	}
}

static int begin_root(ath_txn **out, ath_conn *c, int implicit, ath_err *err)
{
	ath_txn *t = new_txn(c, err);
	if (!t)
		return ATH_ENOMEM;
	t->implicit = implicit;
	/* a shared memory connection may already be inside a transaction another handle began */
	if (!c->dc->ops->in_transaction(c->dc->native)) {
		if (echo(c))
			ath_engine__log(c->engine, ATH_LOG_INFO, implicit ? "BEGIN (implicit)" : "BEGIN");
		int rc = ath_conn__seen_error(c, c->dc->ops->exec_simple(c->dc->native, c->engine->dialect->begin_sql, err), err);
		if (rc) {
			ath__free(t);
			return rc;
		}
	}
	c->top = t;
	*out = t;
	return 0;
}

static int autobegin(ath_conn *c, ath_err *err)
{
	ath_txn *t;
	if (c->top || c->autocommit)
		return 0;
	return begin_root(&t, c, 1, err);
}

int ath_conn__begin(ath_txn **out, ath_conn *c, int nested, ath_err *err)
{
	int rc;
	ath_txn *t;
	if ((rc = revalidate(c, err)) || (rc = refuse_if_prepared(c, err)))
		return rc;
	if (!nested) {
		if (c->top)
			return misuse(err, "This connection has already initialized a transaction via begin() or "
					   "autobegin; can't call begin() here unless rollback() or commit() is called first.");
		if ((rc = begin_root(&t, c, 0, err)))
			return rc;
	} else {
		if ((rc = autobegin(c, err)))
			return rc;
		if (c->autocommit && !c->top && (rc = begin_root(&t, c, 1, err)))
			return rc;
		if (!(t = new_txn(c, err)))
			return ATH_ENOMEM;
		t->nested = 1;
		snprintf(t->savepoint, sizeof t->savepoint, "sa_savepoint_%u", ++c->savepoint_seq);
		char sql[64];
		snprintf(sql, sizeof sql, "SAVEPOINT %s", t->savepoint);
		if ((rc = simple(c, sql, err))) {
			ath__free(t);
			return rc;
		}
		t->parent = c->top;
		c->top = t;
	}
	c->refs++; /* the handle keeps the connection alive */
	*out = t;
	return 0;
}

static int end_txn(ath_txn *t, int commit, ath_err *err)
{
	ath_conn *c = t->conn;
	if (!t->active)
		return misuse(err, "This transaction is inactive");
	int rc = 0;
	if (c->invalidated) {
		/* nothing to say to a lost server: a rollback just ends the transactions */
		if (commit)
			return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
					    "Can't reconnect until invalid transaction is rolled back. Please rollback() "
					    "fully before proceeding");
	} else if (t->twophase) {
		if (echo(c))
			ath_engine__log(c->engine, ATH_LOG_INFO, "%s%s '%s'", commit ? "COMMIT" : "ROLLBACK",
					t->prepared ? " PREPARED" : " TWOPHASE", t->xid);
		rc = ath_conn__seen_error(c, c->dc->ops->end_twophase(c->dc->native, t->xid, commit, t->prepared, err), err);
	} else if (t->nested) {
		char sql[80];
		snprintf(sql, sizeof sql, commit ? "RELEASE SAVEPOINT %s" : "ROLLBACK TO SAVEPOINT %s", t->savepoint);
		rc = simple(c, sql, err);
	} else if (c->dc->ops->in_transaction(c->dc->native)) {
		rc = simple(c, commit ? "COMMIT" : "ROLLBACK", err);
	}
	/* A failed COMMIT leaves the transaction open for a rollback, as SQLAlchemy does;
	 * a failed ROLLBACK still ends it. A connection lost during the COMMIT of the outermost
	 * transaction leaves its outcome unknown: the server may have committed before it went. */
	if (rc && commit) {
		if ((err->flags & ATH_ERROR_DISCONNECT) && !t->nested) {
			err->flags |= ATH_ERROR_UNKNOWN_OUTCOME;
			ath_err__prefix(err, "the outcome of COMMIT is unknown (the connection was lost during it): ");
		}
		return rc;
	}
	deactivate_through(c, t);
	return rc;
}

int ath_txn__commit(ath_txn *t, ath_err *err) { return end_txn(t, 1, err); }
int ath_txn__rollback(ath_txn *t, ath_err *err) { return end_txn(t, 0, err); }

/* A prepared two-phase transaction outlives its handle and its connection: it stays on the server
 * for recover_twophase() / commit_prepared() (the point of preparing; SQLAlchemy's tests call
 * invalidate() for this). The driver connection is not reused: MySQL keeps the session in the XA
 * PREPARED state, where it refuses other statements. */
static void detach_prepared(ath_conn *c, ath_txn *root)
{
	if (!c->invalidated) {
		c->dc->invalid = 1; /* closed when it goes back to the pool */
		c->invalidated = 1; /* the next use takes a fresh connection */
		if (echo(c))
			ath_engine__log(c->engine, ATH_LOG_INFO, "prepared transaction '%s' left for recovery", root->xid);
	}
	deactivate_through(c, root);
}

void ath_txn__free(ath_txn *t)
{
	ath_err err = { 0 };
	if (t->active && t->twophase && t->prepared)
		detach_prepared(t->conn, t);
	else if (t->active)
		end_txn(t, 0, &err); /* closing an active transaction rolls it back */
	ath_err__clear(&err);
	t->released = 1;
	txn_maybe_free(t);
}

static ath_txn *root_of(ath_conn *c)
{
	ath_txn *t = c->top;
	while (t && t->parent)
		t = t->parent;
	return t;
}

/* Closing: roll back what is open, but leave a prepared two-phase transaction prepared. */
static void abandon(ath_conn *c)
{
	ath_txn *root = root_of(c);
	ath_err err = { 0 };
	if (root && root->twophase && root->prepared)
		detach_prepared(c, root);
	else if (root)
		end_txn(root, 0, &err);
	ath_err__clear(&err);
}

/* ---- two-phase transactions ------------------------------------------------------------------ */

static int not_supported_2pc(ath_conn *c, ath_err *err)
{
	return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
			    "two-phase transactions are not supported by the %s dialect", c->engine->dialect->name);
}

/* The xid goes into SQL as a quoted literal ('xid'): only characters that need no escaping. */
static int check_xid(const char *xid, ath_err *err)
{
	size_t n = strlen(xid);
	int ok = n > 0 && n <= ATH_XID_MAX;
	for (size_t i = 0; i < n && ok; i++) {
		char ch = xid[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		     strchr("_-.:@/+=", ch) != NULL;
	}
	if (!ok)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "invalid two-phase xid '%.80s': 1 to %d characters of A-Z a-z 0-9 _ - . : @ / + =",
				    xid, ATH_XID_MAX);
	return 0;
}

/* SQLAlchemy's Connection._generate_xid: "_sa_%032x" % random 128 bits. */
static void generate_xid(char *out, size_t cap)
{
	unsigned char r[16];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		static _Atomic unsigned long seq;
		uint64_t a = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30), b = ++seq ^ (uint64_t)(uintptr_t)out;
		memcpy(r, &a, 8);
		memcpy(r + 8, &b, 8);
	}
	int n = snprintf(out, cap, "_sa_");
	for (int i = 0; i < 16 && (size_t)n + 2 < cap; i++)
		n += snprintf(out + n, cap - (size_t)n, "%02x", r[i]);
}

static ath_txn *prepared_root(ath_conn *c)
{
	ath_txn *root = root_of(c);
	return root && root->twophase && root->prepared ? root : NULL;
}

static int refuse_if_prepared(ath_conn *c, ath_err *err)
{
	ath_txn *root = prepared_root(c);
	if (!root)
		return 0;
	return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
			    "two-phase transaction '%s' is prepared: commit() or rollback() it first", root->xid);
}

int ath_conn__begin_twophase(ath_txn **out, ath_conn *c, const char *xid, ath_err *err)
{
	int rc = revalidate(c, err);
	if (rc)
		return rc;
	const ath_driver_ops *ops = c->dc->ops;
	if (!ops->begin_twophase)
		return not_supported_2pc(c, err);
	if (c->top)
		return misuse(err, "This connection has already initialized a transaction via begin() or autobegin; "
				   "can't call begin_twophase() here unless rollback() or commit() is called first.");
	char gen[ATH_XID_MAX + 1];
	if (!xid) {
		generate_xid(gen, sizeof gen);
		xid = gen;
	} else if ((rc = check_xid(xid, err))) {
		return rc;
	}
	ath_txn *t = new_txn(c, err);
	if (!t)
		return ATH_ENOMEM;
	t->twophase = 1;
	snprintf(t->xid, sizeof t->xid, "%s", xid);
	if (echo(c))
		ath_engine__log(c->engine, ATH_LOG_INFO, "BEGIN TWOPHASE '%s'", t->xid);
	if ((rc = ath_conn__seen_error(c, ops->begin_twophase(c->dc->native, t->xid, err), err))) {
		ath__free(t);
		return rc;
	}
	c->top = t;
	c->refs++;
	*out = t;
	return 0;
}

int ath_txn__prepare(ath_txn *t, ath_err *err)
{
	ath_conn *c = t->conn;
	if (!t->twophase)
		return misuse(err, "prepare() is only for two-phase transactions (begin_twophase())");
	if (!t->active)
		return misuse(err, "This transaction is inactive");
	if (t->prepared)
		return misuse(err, "This two-phase transaction is already prepared");
	if (c->top != t)
		return misuse(err, "a savepoint begun inside this transaction is still open: end it before prepare()");
	if (c->invalidated)
		return misuse(err, "Can't reconnect until invalid transaction is rolled back. Please rollback() fully "
				   "before proceeding");
	if (echo(c))
		ath_engine__log(c->engine, ATH_LOG_INFO, "PREPARE TWOPHASE '%s'", t->xid);
	int rc = ath_conn__seen_error(c, c->dc->ops->prepare_twophase(c->dc->native, t->xid, err), err);
	if (!rc)
		t->prepared = 1;
	return rc;
}

static void collect_xid(const char *xid, void *payload)
{
	ath_strbuf__put(payload, xid, strlen(xid) + 1); /* NUL-separated */
}

int ath_conn__recover_twophase(ath_buf *out, ath_conn *c, ath_err *err)
{
	int rc = revalidate(c, err);
	if (rc)
		return rc;
	const ath_driver_ops *ops = c->dc->ops;
	if (!ops->recover_twophase)
		return not_supported_2pc(c, err);
	ath_strbuf names = ATH_STRBUF_INIT;
	rc = ath_conn__seen_error(c, ops->recover_twophase(c->dc->native, collect_xid, &names, err), err);
	if (!rc && names.oom)
		rc = ath_err__oom(err);
	if (rc) {
		ath_strbuf__free(&names);
		return rc;
	}
	uint32_t n = 0;
	for (size_t i = 0; i < names.len; i += strlen(names.ptr + i) + 1)
		n++;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	int bad = msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < names.len && !bad; i += strlen(names.ptr + i) + 1)
		bad = ath_wire__pack_cstr(&pk, names.ptr + i);
	ath_strbuf__free(&names);
	return bad ? ath_err__oom(err) : 0;
}

int ath_conn__finish_prepared(ath_conn *c, const char *xid, int commit, ath_err *err)
{
	int rc = revalidate(c, err);
	if (rc)
		return rc;
	const ath_driver_ops *ops = c->dc->ops;
	if (!ops->end_twophase)
		return not_supported_2pc(c, err);
	if ((rc = check_xid(xid, err)))
		return rc;
	/* COMMIT PREPARED cannot run inside a transaction block */
	if (c->top)
		return misuse(err, "commit_prepared() / rollback_prepared() run outside a transaction: commit() or "
				   "rollback() this connection's transaction first");
	if (echo(c))
		ath_engine__log(c->engine, ATH_LOG_INFO, "%s PREPARED '%s'", commit ? "COMMIT" : "ROLLBACK", xid);
	rc = ath_conn__seen_error(c, ops->end_twophase(c->dc->native, xid, commit, 1, err), err);
	/* as a COMMIT lost on the way (end_txn): the server may have committed before the connection
	 * went; the transaction is then gone, else still prepared for another try */
	if (rc && commit && (err->flags & ATH_ERROR_DISCONNECT)) {
		err->flags |= ATH_ERROR_UNKNOWN_OUTCOME;
		ath_err__prefix(err, "the outcome of COMMIT PREPARED is unknown (the connection was lost during it): ");
	}
	return rc;
}

int ath_conn__commit(ath_conn *c, ath_err *err)
{
	ath_txn *root = root_of(c);
	return root ? end_txn(root, 1, err) : 0;
}

int ath_conn__rollback(ath_conn *c, ath_err *err)
{
	ath_txn *root = root_of(c);
	return root ? end_txn(root, 0, err) : 0;
}

int ath_conn__set_isolation(ath_conn *c, const char *level, ath_err *err)
{
	if (c->top)
		return misuse(err, "the isolation level can't be changed while a transaction is in progress");
	int rc = revalidate(c, err);
	if (rc)
		return rc;
	if (strcasecmp(level, "AUTOCOMMIT") == 0) {
		c->autocommit = 1;
		return 0;
	}
	if ((rc = ath_conn__seen_error(c, c->dc->ops->set_isolation(c->dc->native, level, err), err)))
		return rc;
	c->autocommit = 0;
	c->isolation_changed = 1;
	return 0;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void conn_destroy(ath_conn *c)
{
	ath_engine *e = c->engine;
	ath_err err = { 0 };
	abandon(c); /* reset on return */
	if (!c->invalidated &&
	    (c->isolation_changed || (e->isolation_level && strcasecmp(e->isolation_level, "AUTOCOMMIT") != 0))) {
		if (c->dc->ops->set_isolation(c->dc->native, c->dc->ops->default_isolation, &err))
			c->dc->invalid = 1;
	}
	ath_err__clear(&err);
	if (c->dc) /* NULL: invalidated, and no fresh connection came (revalidate) */
		ath_pool__checkin(&e->pool, c->dc);
	msgpack_zone_destroy(&c->zone);
	ath_rendered__free(&c->rendered);
	ath__free(c->spare);
	ath_compile_memo__free(&c->memo);
	c->magic = ATH_MAGIC_DEAD;
	ath__free(c);
	ath_engine__conn_gone(e);
}

void ath_conn__decref(ath_conn *c)
{
	if (--c->refs == 0)
		conn_destroy(c);
}

void ath_conn__close(ath_conn *c)
{
	if (c->closed)
		return;
	c->closed = 1;
	abandon(c); /* what was not committed is rolled back now, not later */
	ath_conn__decref(c);
}

/* ---- execution ---------------------------------------------------------------------------- */

static void log_statement(ath_conn *c, const ath_compiled *cs, const char *sql, size_t len, int cached, double age,
			  const msgpack_object *params, int many)
{
	ath_strbuf b = ATH_STRBUF_INIT;
	ath_strbuf__printf(&b, "%.*s\n", (int)(len > 2000 ? 2000 : len), sql);
	if (cached)
		ath_strbuf__printf(&b, "[cached since %.4gs ago] ", age);
	else
		ath_strbuf__printf(&b, "[generated in %.5fs] ", age);
	if (many) {
		ath_strbuf__printf(&b, "(%u parameter sets) ", params->via.array.size);
		if (params->via.array.size)
			ath_wire__repr(&b, &params->via.array.ptr[0], 300);
	} else {
		ath_strbuf__putc(&b, '(');
		for (uint32_t i = 0; i < params->via.array.size; i++) {
			if (i)
				ath_strbuf__puts(&b, ", ");
			ath_wire__repr(&b, &params->via.array.ptr[i], 300);
		}
		ath_strbuf__putc(&b, ')');
	}
	const char *msg = ath_strbuf__cstr(&b);
	if (msg)
		ath_engine__log(c->engine, ATH_LOG_INFO, "%s", msg);
	ath_strbuf__free(&b);
}

/* The DML kind of a statement: its compiled kind, or for text the leading keyword, as pysqlite
 * decides when to report rowcount and lastrowid (other statements report -1 and 0). */
static ath_stmt_kind dml_kind(const ath_compiled *cs, const char *sql)
{
	if (cs->kind != ATH_STMT_TEXT)
		return cs->kind;
	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '(')
		sql++;
	if (strncasecmp(sql, "INSERT", 6) == 0 || strncasecmp(sql, "REPLACE", 7) == 0)
		return ATH_STMT_INSERT;
	if (strncasecmp(sql, "UPDATE", 6) == 0)
		return ATH_STMT_UPDATE;
	if (strncasecmp(sql, "DELETE", 6) == 0)
		return ATH_STMT_DELETE;
	return ATH_STMT_TEXT;
}

static int is_dml(ath_stmt_kind k) { return k == ATH_STMT_INSERT || k == ATH_STMT_UPDATE || k == ATH_STMT_DELETE; }

static int driver_error(ath_conn *c, ath_err *err, const char *sql, size_t len)
{
	ath_conn__seen_error(c, err->code ? err->code : ATH_ERROR, err);
	if (!err->sql)
		ath_err__set_sql(err, sql, len);
	return err->code ? err->code : ATH_ERROR;
}

/* The values of the insert's columns, packed, for inserted_primary_key. */
static int keep_insert_values(ath_result *r, const ath_compiled *cs, const msgpack_object *params, ath_err *err)
{
	msgpack_packer pk;
	ath_wire__packer_init(&pk, &r->ins_values);
	int bad = msgpack_pack_array(&pk, cs->nins);
	for (uint32_t i = 0; i < cs->nins; i++) {
		int32_t p = cs->ins_params[i];
		if (p >= 0 && (uint32_t)p < params->via.array.size)
			bad |= msgpack_pack_object(&pk, params->via.array.ptr[p]);
		else if (p <= -2 && (uint32_t)(-2 - p) < cs->ndefaults) /* a bound client-side default */
			bad |= msgpack_pack_object(&pk, *cs->defaults[-2 - p]);
		else
			bad |= msgpack_pack_nil(&pk);
	}
	return bad ? ath_err__oom(err) : 0;
}

/* The row of an implicit RETURNING, kept for inserted_primary_key; the result then looks like the
 * INSERT's without it (no rows, rowcount 1), as SQLAlchemy's CursorResult after
 * _setup_ins_pk_from_implicit_returning. */
static int fetch_implicit_returning(ath_result *r, ath_dconn *dc, ath_exec_info *info, ath_err *err)
{
	size_t n = 0;
	int done = 0;
	r->ret_row.size = 0;
	int rc = info->has_rows ? dc->ops->fetch(dc->native, r->stmt.stmt, &r->ret_row, 1, &n, &done, err) : 0;
	if (rc)
		return rc;
	info->has_rows = 0;
	info->rowcount = (int64_t)n;
	return 0;
}

/* The names and driver types of the result's columns: read once per prepared statement and
 * shared with it (ath_dconn__columns), which short selects would otherwise pay on every call. */
static int collect_columns(ath_result *r, ath_dconn *dc, ath_err *err)
{
	int rc = ath_dconn__columns(&r->cols, dc, &r->stmt, err);
	if (rc)
		return rc;
	/* the driver's types, for a result header the compiled form cannot type */
	const ath_compiled *cs = r->compiled;
	size_t n = r->cols->n;
	r->colnames = r->cols->names;
	r->coltypes = cs->col_types_all && cs->ncol_types == n ? NULL : r->cols->types;
	r->ncols = n;
	return 0;
}

/* ---- executemany ------------------------------------------------------------------------ */

/* Append every row of the statement's row set to the result's buffer (executemany with
 * RETURNING), one fetch per row so each row's end is known. */
static int buffer_rows(ath_result *r, ath_dconn *dc, ath_err *err)
{
	for (;;) {
		size_t n = 0;
		int done = 0;
		int rc = dc->ops->fetch(dc->native, r->stmt.stmt, &r->rows, 1, &n, &done, err);
		if (rc)
			return rc;
		if (n) {
			if (r->nbuf == r->buf_cap) {
				size_t cap = r->buf_cap ? r->buf_cap * 2 : 64;
				size_t *ends = ath__realloc(r->row_ends, cap * sizeof *ends);
				if (!ends)
					return ath_err__oom(err);
				r->row_ends = ends;
				r->buf_cap = cap;
			}
			r->row_ends[r->nbuf++] = r->rows.size;
		}
		if (done)
			return 0;
	}
}

/* Run the statement in r->stmt once and take what it reports; rows (RETURNING) are buffered. */
static int run_buffered(ath_result *r, ath_conn *c, const ath_rendered *rd, int64_t *total, ath_err *err)
{
	ath_dconn *dc = c->dc;
	ath_exec_info info = { -1, 0, 0 };
	int rc = dc->ops->execute(dc->native, r->stmt.stmt, rd->values, rd->nvalues, &info, err);
	if (rc)
		return rc;
	r->lastrowid = info.lastrowid;
	if (info.has_rows) {
		if (!r->returns_rows && (rc = collect_columns(r, dc, err)))
			return rc;
		r->returns_rows = 1;
		r->buffered = 1;
		size_t before = r->nbuf;
		if ((rc = buffer_rows(r, dc, err)))
			return rc;
		/* SQLite reports no count for a statement returning rows: each returned row is one row */
		if (info.rowcount < 0)
			info.rowcount = (int64_t)(r->nbuf - before);
	}
	if (info.rowcount >= 0)
		*total += info.rowcount;
	return 0;
}

static void log_batch(ath_conn *c, const ath_rendered *rd, uint32_t batch, uint32_t nbatches, uint32_t rows)
{
	ath_engine__log(c->engine, ATH_LOG_INFO, "%.*s\n[insertmanyvalues batch %u of %u (%u rows)]",
			(int)(rd->sql_len > 2000 ? 2000 : rd->sql_len), rd->sql, batch, nbatches, rows);
}

/* ---- executemany with return_defaults: every row's primary key --------------------------- */

/* How an executemany INSERT learns each row's primary key (SQLAlchemy 2.0's
 * inserted_primary_key_rows): GIVEN, the statement supplies every key column in every row;
 * RETURNING, the insertmanyvalues batches end with RETURNING <key columns> (backends with INSERT
 * ... RETURNING); ROW, one execute per row with the key from lastrowid as for a single-row INSERT
 * (MySQL, and statements the batches cannot carry), as SQLAlchemy does without RETURNING. */
enum { PK_GIVEN, PK_RETURNING, PK_ROW };

typedef struct pk_plan {
	int mode;
	ath_strbuf names;              /* the key columns, NUL-separated */
	uint32_t n;
	int rowid_alias;
	const msgpack_object **given;  /* [nins]: one row's value per insert column (NULL = none) */
	ath_strbuf suffix;             /* PK_RETURNING: " RETURNING k1, k2" */
	msgpack_packer pk;             /* into r->pk_rows */
} pk_plan;

static void pk_plan_free(pk_plan *k)
{
	ath_strbuf__free(&k->names);
	ath_strbuf__free(&k->suffix);
	ath__free(k->given);
}

/* Point k->given at `row`'s values for the insert's columns. */
static void row_given(pk_plan *k, const ath_compiled *cs, const msgpack_object *row)
{
	uint32_t have = row->type == MSGPACK_OBJECT_ARRAY ? row->via.array.size : 0;
	for (uint32_t i = 0; i < cs->nins; i++) {
		int32_t p = cs->ins_params[i];
		k->given[i] = p >= 0 && (uint32_t)p < have ? &row->via.array.ptr[p]
			      : p <= -2 && (uint32_t)(-2 - p) < cs->ndefaults ? cs->defaults[-2 - p] : NULL;
	}
}

/* 1 when every row gives a non-null value for every key column. */
static int keys_given(pk_plan *k, const ath_compiled *cs, const msgpack_object *p)
{
	for (uint32_t r = 0; r < p->via.array.size; r++) {
		row_given(k, cs, &p->via.array.ptr[r]);
		for (size_t i = 0; i < k->names.len; i += strlen(k->names.ptr + i) + 1) {
			int found = 0;
			for (uint32_t j = 0; j < cs->nins && !found; j++)
				found = k->given[j] && k->given[j]->type != MSGPACK_OBJECT_NIL &&
					strcmp(cs->ins_columns[j], k->names.ptr + i) == 0;
			if (!found)
				return 0;
		}
	}
	return 1;
}

static int pk_plan_init(pk_plan *k, ath_result *r, ath_conn *c, const ath_compiled *cs, const msgpack_object *p,
			ath_insertmany *plan, ath_err *err)
{
	ath_dconn *dc = c->dc;
	const ath_dialect *d = c->engine->dialect;
	int rc = ath_result__pk_columns(&k->names, &k->n, &k->rowid_alias, dc, cs, err);
	if (rc)
		return rc;
	if (!(k->given = ath__calloc(cs->nins + 1, sizeof *k->given)))
		return ath_err__oom(err);
	r->pk_rows_set = 1;
	msgpack_packer_init(&k->pk, &r->pk_rows, ath_wire__buf_write);
	if (k->n == 0 || keys_given(k, cs, p)) {
		k->mode = PK_GIVEN;
		return 0;
	}
	/* batches only for a plain INSERT ... VALUES: nothing after the row (an upsert may insert
	 * fewer rows than it is given, so its RETURNING rows could not be matched to the input) */
	if ((d->returning & ATH_RETURNING_INSERT) && cs->returns_rows == 0 && dc->ops->max_params &&
	    ath_insertmany__plan(plan, cs, dc->ops->max_params) && plan->group_end == cs->tmpl_len) {
		k->mode = PK_RETURNING;
		ath_strbuf__puts(&k->suffix, " RETURNING ");
		for (size_t i = 0; i < k->names.len; i += strlen(k->names.ptr + i) + 1) {
			if (i)
				ath_strbuf__puts(&k->suffix, ", ");
			ath_strbuf__putc(&k->suffix, d->quote); /* the catalogue's spelling, so always quoted */
			for (const char *ch = k->names.ptr + i; *ch; ch++) {
				if (*ch == d->quote)
					ath_strbuf__putc(&k->suffix, d->quote);
				ath_strbuf__putc(&k->suffix, *ch);
			}
			ath_strbuf__putc(&k->suffix, d->quote);
		}
		return k->suffix.oom ? ath_err__oom(err) : 0;
	}
	k->mode = PK_ROW;
	return 0;
}

/* Pack row `row`'s key from its given values and the generated `lastrowid`. */
static int pack_row_key(ath_result *r, ath_conn *c, pk_plan *k, const ath_compiled *cs, const msgpack_object *row,
			int64_t lastrowid, ath_err *err)
{
	row_given(k, cs, row);
	int rc = ath_result__pack_pk(&k->pk, c->dc, cs, &k->names, k->n, k->rowid_alias, k->given, NULL, lastrowid, err);
	if (!rc)
		r->npk_rows++;
	return rc;
}

/* PK_RETURNING: run one batch of `n` rows and keep the keys its RETURNING gives back. */
static int take_keys(ath_result *r, ath_conn *c, pk_plan *k, const ath_rendered *rd, uint32_t n, int64_t *total,
		     ath_err *err)
{
	ath_dconn *dc = c->dc;
	ath_exec_info info = { -1, 0, 0 };
	int rc = dc->ops->execute(dc->native, r->stmt.stmt, rd->values, rd->nvalues, &info, err);
	if (rc)
		return rc;
	size_t got = 0;
	for (int done = !info.has_rows; !done;) {
		size_t m = 0;
		if ((rc = dc->ops->fetch(dc->native, r->stmt.stmt, &r->pk_rows, SIZE_MAX, &m, &done, err)))
			return rc;
		got += m;
	}
	if (got != n)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "the batch inserted %u rows but RETURNING gave %zu primary keys", n, got);
	r->npk_rows += got;
	*total += info.rowcount >= 0 ? info.rowcount : (int64_t)got;
	return 0;
}

/* insertmanyvalues: the rows go as multi-row INSERT ... VALUES (...), (...) [RETURNING ...] of up
 * to plan->page rows each. RETURNING rows are concatenated batch after batch. Within a batch we
 * rely on the backend returning rows in VALUES order: true of PostgreSQL (a VALUES list feeds
 * the insert in order and RETURNING emits rows as they are inserted) and of SQLite 3.40 (rows
 * are buffered as they are inserted), though neither documents it. SQLAlchemy 2.0 only
 * guarantees order with sort_by_parameter_order=True, for which it adds a sentinel column and
 * sorts; athanor does not yet. */
static int insertmany(ath_result *r, ath_conn *c, ath_compiled *cs, const ath_insertmany *plan,
		      const msgpack_object *p, pk_plan *k, ath_err *err)
{
	ath_engine *e = c->engine;
	ath_dconn *dc = c->dc;
	ath_rendered *rd = &c->rendered;
	uint32_t nrows = p->via.array.size, nbatches = (nrows + plan->page - 1) / plan->page;
	int64_t total = 0;
	for (uint32_t first = 0, batch = 1, prev_n = 0; first < nrows; first += plan->page, batch++) {
		uint32_t n = nrows - first < plan->page ? nrows - first : plan->page;
		/* full batches after the first have the first one's SQL: render only their values */
		int rc = ath_insertmany__render(rd, cs, plan, p, first, n, k ? k->suffix.ptr : NULL, k ? k->suffix.len : 0,
						n == prev_n, err);
		prev_n = n;
		if (rc)
			return rc;
		if (echo(c))
			log_batch(c, rd, batch, nbatches, n);
		int hit;
		if ((rc = ath_dconn__statement(&r->stmt, dc, rd->sql, rd->sql_len, rd->sql_hash, &hit, err)))
			return driver_error(c, err, rd->sql, rd->sql_len);
		atomic_fetch_add_explicit(hit ? &e->stmt_hits : &e->stmt_misses, 1, memory_order_relaxed);
		rc = k ? take_keys(r, c, k, rd, n, &total, err) : run_buffered(r, c, rd, &total, err);
		ath_dconn__release(dc, &r->stmt);
		if (rc) {
			ath_err__prefix(err, "executemany rows %u-%u: ", first, first + n - 1);
			return driver_error(c, err, rd->sql, rd->sql_len);
		}
	}
	r->rowcount = total;
	return 0;
}

/* Every row an array carrying every parameter and no bind needing a per-row transform: then the
 * values can be lined up for all rows at once (pipelining). */
static int plain_rows(const ath_compiled *cs, const msgpack_object *p)
{
	for (uint32_t i = 0; i < cs->nbinds; i++)
		if (cs->binds[i].flags)
			return 0;
	for (uint32_t k = 0; k < p->via.array.size; k++) {
		const msgpack_object *row = &p->via.array.ptr[k];
		if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size < cs->nparams)
			return 0;
	}
	return 1;
}

/* The driver's pipelined batch (PostgreSQL). Returns 1 when it declined and nothing was sent. */
static int pipelined(ath_result *r, ath_conn *c, const ath_compiled *cs, const msgpack_object *p, ath_err *err)
{
	ath_dconn *dc = c->dc;
	uint32_t nrows = p->via.array.size, per = cs->nbinds;
	const msgpack_object **values = ath__malloc(((size_t)nrows * per + 1) * sizeof *values);
	if (!values)
		return ath_err__oom(err);
	ath_rendered *rd = &c->rendered; /* its scratch holds the values the bind processors make */
	if (rd->scratch.head) {
		ath_arena__free(&rd->scratch);
		memset(&rd->scratch, 0, sizeof rd->scratch);
	}
	for (uint32_t k = 0; k < nrows; k++)
		for (uint32_t i = 0; i < per; i++) {
			const msgpack_object **slot = &values[(size_t)k * per + i];
			int rc = ath_compiled__process(rd, cs, i, &p->via.array.ptr[k].via.array.ptr[cs->binds[i].param], slot,
						       err);
			if (rc) {
				ath__free(values);
				ath_err__prefix(err, "executemany row %u: ", k);
				return rc;
			}
		}
	ath_exec_info info = { -1, 0, 0 };
	uint32_t failed = 0;
	int rc = dc->ops->execute_batch(dc->native, r->stmt.stmt, values, per, nrows, &info, &failed, err);
	ath__free(values);
	if (rc == 1)
		return 1;
	if (rc) {
		ath_err__prefix(err, "executemany row %u: ", failed);
		return driver_error(c, err, cs->sql, cs->sql_len);
	}
	r->rowcount = info.rowcount;
	return 0;
}

/* executemany: insertmanyvalues for INSERT ... RETURNING (and, where the driver asks, plain
 * INSERT); else one prepared statement run per row: pipelined when the driver can and a
 * transaction is open, else in a loop. Mirrors Connection._exec_insertmany_context and
 * DefaultDialect.do_executemany. */
static int execute_many(ath_result *r, ath_conn *c, ath_compiled *cs, const msgpack_object *p, int cached, double age,
			uint32_t flags, ath_err *err)
{
	ath_engine *e = c->engine;
	ath_dconn *dc = c->dc;
	const ath_driver_ops *ops = dc->ops;
	ath_rendered *rd = &c->rendered;
	int rc;
	if (cs->has_expanding)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "'expanding' parameters can't be used with executemany()");
	if (p->via.array.size == 0)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "executemany needs at least one parameter row");
	/* every row's typed values are checked before the first row is sent (SQLAlchemy runs the
	 * bind processors over all parameter sets before do_executemany) */
	if ((rc = ath_compiled__check_rows(cs, p, err)))
		return rc;
	if ((rc = autobegin(c, err)))
		return rc;
	ath_stmt_kind kind = dml_kind(cs, cs->sql ? cs->sql : cs->tmpl);
	ath_insertmany plan;
	pk_plan kp = { .names = ATH_STRBUF_INIT, .suffix = ATH_STRBUF_INIT }, *k = NULL;
	if ((flags & ATH_EXEC_RETURN_DEFAULTS) && cs->kind == ATH_STMT_INSERT && cs->single_row_insert) {
		k = &kp;
		if ((rc = pk_plan_init(k, r, c, cs, p, &plan, err)))
			goto done;
	}
	if (k && k->mode == PK_RETURNING) {
		if ((rc = insertmany(r, c, cs, &plan, p, k, err)))
			goto done;
		r->exhausted = 1;
		goto done;
	}
	if ((!k || k->mode == PK_GIVEN) && (cs->returns_rows == 1 || ops->insertmany_plain) && ops->max_params &&
	    ath_insertmany__plan(&plan, cs, ops->max_params)) {
		if ((rc = insertmany(r, c, cs, &plan, p, NULL, err)))
			goto done;
		r->exhausted = !r->returns_rows;
		if (!is_dml(kind))
			r->rowcount = -1;
		goto keys;
	}
	if ((rc = ath_compiled__render(rd, cs, &p->via.array.ptr[0], err)))
		goto done;
	if (echo(c))
		log_statement(c, cs, rd->sql, rd->sql_len, cached, age, p, 1);
	int hit;
	if ((rc = ath_dconn__statement(&r->stmt, dc, rd->sql, rd->sql_len, rd->sql_hash, &hit, err))) {
		rc = driver_error(c, err, rd->sql, rd->sql_len);
		goto done;
	}
	atomic_fetch_add_explicit(hit ? &e->stmt_hits : &e->stmt_misses, 1, memory_order_relaxed);
	rc = 1;
	if (ops->execute_batch && c->top && cs->returns_rows == 0 && cs->sql && p->via.array.size > 1 &&
	    (!k || k->mode == PK_GIVEN) && plain_rows(cs, p))
		rc = pipelined(r, c, cs, p, err);
	if (rc == 1) {
		int64_t total = 0;
		rc = 0;
		for (uint32_t i = 0; i < p->via.array.size && !rc; i++) {
			if (i && (rc = ath_compiled__render(rd, cs, &p->via.array.ptr[i], err))) {
				ath_err__prefix(err, "executemany row %u: ", i);
				break;
			}
			if ((rc = run_buffered(r, c, rd, &total, err))) {
				ath_err__prefix(err, "executemany row %u: ", i);
				rc = driver_error(c, err, rd->sql, rd->sql_len);
			} else if (k && k->mode == PK_ROW) {
				rc = pack_row_key(r, c, k, cs, &p->via.array.ptr[i], r->lastrowid, err);
			}
			dc->ops->reset(r->stmt.stmt);
		}
		r->rowcount = total;
	}
	ath_dconn__release(dc, &r->stmt);
	if (rc)
		goto done;
	if (!is_dml(kind))
		r->rowcount = -1;
	if (kind != ATH_STMT_INSERT)
		r->lastrowid = 0;
	r->exhausted = !r->returns_rows;
keys:
	/* PK_GIVEN: the keys are the rows' own values */
	for (uint32_t i = 0; k && k->mode == PK_GIVEN && i < p->via.array.size && !rc; i++)
		rc = pack_row_key(r, c, k, cs, &p->via.array.ptr[i], 0, err);
done:
	if (k)
		pk_plan_free(k);
	return rc;
}

int ath_conn__execute(ath_result **out, ath_conn *c, const void *shape, size_t len, const void *params,
		      size_t params_len, int many, uint32_t flags, ath_err *err)
{
	ath_engine *e = c->engine;
	ath_compiled *cs;
	double age;
	int cached, rc;
	if (flags & ~(uint32_t)ATH_EXEC_RETURN_DEFAULTS)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "unknown execution flags 0x%x",
				    (unsigned)(flags & ~(uint32_t)ATH_EXEC_RETURN_DEFAULTS));
	if ((rc = revalidate(c, err)))
		return rc;
	ath_dconn *dc = c->dc;
	age = 0; /* for the echo log only */
	if ((rc = ath_engine__compiled(&cs, e, shape, len, &c->memo, echo(c) ? &age : NULL, &cached, err)))
		return rc;
	/* a connection running one statement after another reuses the last result's block */
	ath_result *r = c->spare;
	if (r) {
		c->spare = NULL;
		memset(r, 0, sizeof *r);
	} else {
		r = ath__calloc(1, sizeof *r);
	}
	if (!r) {
		ath_compiled__decref(cs);
		return ath_err__oom(err);
	}
	r->magic = ATH_MAGIC_RESULT;
	r->compiled = cs;
	r->conn = c;
	r->dc = dc;
	r->many = many;
	c->refs++;

	msgpack_zone_clear(&c->zone);
	msgpack_object p;
	ath_rendered *rd = &c->rendered;
	if ((rc = ath_wire__decode_params(&p, params, params_len, many, &e->limits, &c->zone, err)))
		goto fail;
	if ((rc = refuse_if_prepared(c, err)))
		goto fail;
	if (many) {
		if ((rc = execute_many(r, c, cs, &p, cached, age, flags, err)))
			goto fail;
		*out = r;
		return 0;
	}
	if ((rc = ath_compiled__render(rd, cs, &p, err)))
		goto fail;
	if (cs->ret_sql) { /* implicit RETURNING of the generated key */
		rd->sql = cs->ret_sql;
		rd->sql_len = cs->ret_sql_len;
		rd->sql_hash = cs->ret_sql_hash;
	}
	if ((rc = autobegin(c, err)))
		goto fail;
	if (echo(c))
		log_statement(c, cs, rd->sql, rd->sql_len, cached, age, &p, many);
	int hit;
	if ((rc = ath_dconn__statement(&r->stmt, dc, rd->sql, rd->sql_len, rd->sql_hash, &hit, err))) {
		rc = driver_error(c, err, rd->sql, rd->sql_len);
		goto fail;
	}
	atomic_fetch_add_explicit(hit ? &e->stmt_hits : &e->stmt_misses, 1, memory_order_relaxed);

	ath_exec_info info = { -1, 0, 0 };
	rc = dc->ops->execute(dc->native, r->stmt.stmt, rd->values, rd->nvalues, &info, err);
	if (rc) {
		rc = driver_error(c, err, rd->sql, rd->sql_len);
		goto fail;
	}
	if (cs->ret_sql && (rc = fetch_implicit_returning(r, dc, &info, err))) {
		rc = driver_error(c, err, rd->sql, rd->sql_len);
		goto fail;
	}
	ath_stmt_kind kind = dml_kind(cs, rd->sql);
	r->rowcount = is_dml(kind) ? info.rowcount : -1;
	if (kind == ATH_STMT_INSERT) {
		r->lastrowid = info.lastrowid;
		if (cs->single_row_insert && (rc = keep_insert_values(r, cs, &p, err)))
			goto fail;
	}
	r->returns_rows = info.has_rows;
	if (r->returns_rows) {
		if ((rc = collect_columns(r, dc, err)))
			goto fail;
	} else {
		ath_dconn__release(dc, &r->stmt);
		r->exhausted = 1;
	}
	*out = r;
	return 0;
fail:
	ath_result__close(r);
	return rc;
}
