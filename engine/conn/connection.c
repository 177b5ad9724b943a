/* connection.c — executing statements on a connection: compile (through the cache), render
 * parameters, autobegin, prepared-statement reuse, executemany, and transactions with
 * savepoints, following SQLAlchemy 2.0's Connection (engine/base.py): autobegin, commit-as-you-go,
 * explicit begin(), begin_nested(). Rows are read in result.c. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conn/internal.h"
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
 * is rolled back (SQLAlchemy 2.0: "Can't reconnect until invalid transaction is rolled back"). */
static int revalidate(ath_conn *c, ath_err *err)
{
	if (!c->invalidated)
		return 0;
	if (c->top)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "Can't reconnect until invalid transaction is rolled back. Please rollback() "
				    "fully before proceeding");
	ath_dconn *fresh;
	int rc = ath_pool__checkout(&c->engine->pool, &fresh, err);
	if (rc)
		return rc;
	ath_pool__checkin(&c->engine->pool, c->dc);
	c->dc = fresh;
	c->invalidated = 0;
	c->isolation_changed = 0;
	return ath_engine__setup_conn(c, err);
}

/* ---- transactions ------------------------------------------------------------------------- */

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
	if ((rc = revalidate(c, err)))
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
	} else if (t->nested) {
		char sql[80];
		snprintf(sql, sizeof sql, commit ? "RELEASE SAVEPOINT %s" : "ROLLBACK TO SAVEPOINT %s", t->savepoint);
		rc = simple(c, sql, err);
	} else if (c->dc->ops->in_transaction(c->dc->native)) {
		rc = simple(c, commit ? "COMMIT" : "ROLLBACK", err);
	}
	/* A failed COMMIT leaves the transaction open for a rollback, as SQLAlchemy does;
	 * a failed ROLLBACK still ends it. */
	if (rc && commit)
		return rc;
	deactivate_through(c, t);
	return rc;
}

int ath_txn__commit(ath_txn *t, ath_err *err) { return end_txn(t, 1, err); }
int ath_txn__rollback(ath_txn *t, ath_err *err) { return end_txn(t, 0, err); }

void ath_txn__free(ath_txn *t)
{
	ath_err err = { 0 };
	if (t->active)
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
	if (c->top)
		ath_conn__rollback(c, &err); /* reset on return */
	if (!c->invalidated &&
	    (c->isolation_changed || (e->isolation_level && strcasecmp(e->isolation_level, "AUTOCOMMIT") != 0))) {
		if (c->dc->ops->set_isolation(c->dc->native, c->dc->ops->default_isolation, &err))
			c->dc->invalid = 1;
	}
	ath_err__clear(&err);
	ath_pool__checkin(&e->pool, c->dc);
	msgpack_zone_destroy(&c->zone);
	ath_rendered__free(&c->rendered);
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
	ath_err err = { 0 };
	if (c->top)
		ath_conn__rollback(c, &err); /* what was not committed is rolled back now, not later */
	ath_err__clear(&err);
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
		else
			bad |= msgpack_pack_nil(&pk);
	}
	return bad ? ath_err__oom(err) : 0;
}

static int collect_columns(ath_result *r, ath_dconn *dc, ath_err *err)
{
	size_t n = dc->ops->column_count(r->stmt.stmt);
	r->colnames = ath__calloc(n ? n : 1, sizeof *r->colnames);
	if (!r->colnames)
		return ath_err__oom(err);
	r->ncols = n;
	for (size_t i = 0; i < n; i++) {
		const char *name = dc->ops->column_name(r->stmt.stmt, i);
		if (!(r->colnames[i] = ath__strdup(name ? name : "")))
			return ath_err__oom(err);
	}
	return 0;
}

int ath_conn__execute(ath_result **out, ath_conn *c, const void *shape, size_t len, const void *params,
		      size_t params_len, int many, ath_err *err)
{
	ath_engine *e = c->engine;
	ath_compiled *cs;
	double age;
	int cached, rc;
	if ((rc = revalidate(c, err)))
		return rc;
	ath_dconn *dc = c->dc;
	if ((rc = ath_engine__compiled(&cs, e, shape, len, &age, &cached, err)))
		return rc;
	ath_result *r = ath__calloc(1, sizeof *r);
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
	if (many && cs->has_expanding) {
		rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				  "'expanding' parameters can't be used with executemany()");
		goto fail;
	}
	if (many && p.via.array.size == 0) {
		rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				  "executemany needs at least one parameter row");
		goto fail;
	}
	const msgpack_object *first = many ? &p.via.array.ptr[0] : &p;
	if ((rc = ath_compiled__render(rd, cs, first, err)))
		goto fail;
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
	if (!many) {
		rc = dc->ops->execute(dc->native, r->stmt.stmt, rd->values, rd->nvalues, &info, err);
		if (rc) {
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
	} else {
		int64_t total = 0;
		for (uint32_t i = 0; i < p.via.array.size; i++) {
			if (i && (rc = ath_compiled__render(rd, cs, &p.via.array.ptr[i], err))) {
				ath_err__prefix(err, "executemany row %u: ", i);
				goto fail;
			}
			rc = dc->ops->execute(dc->native, r->stmt.stmt, rd->values, rd->nvalues, &info, err);
			if (rc) {
				ath_err__prefix(err, "executemany row %u: ", i);
				rc = driver_error(c, err, rd->sql, rd->sql_len);
				goto fail;
			}
			if (info.has_rows) {
				rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						  "executemany of a statement that returns rows (RETURNING) is not "
						  "supported yet; execute it once per row");
				goto fail;
			}
			dc->ops->reset(r->stmt.stmt);
			if (info.rowcount >= 0)
				total += info.rowcount;
		}
		ath_dconn__release(dc, &r->stmt);
		ath_stmt_kind kind = dml_kind(cs, rd->sql);
		r->rowcount = is_dml(kind) ? total : -1;
		r->exhausted = 1;
		if (kind == ATH_STMT_INSERT)
			r->lastrowid = info.lastrowid;
	}
	*out = r;
	return 0;
fail:
	ath_result__close(r);
	return rc;
}
