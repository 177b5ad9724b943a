/* internal.h — the structures behind the public handles ath_engine, ath_conn, ath_txn and
 * ath_result, and the functions capi/src calls. Mirrors sqlalchemy/engine/base.py (Engine,
 * Connection, Transaction) and engine/cursor.py (CursorResult). */
#ifndef ATH_CONN_INTERNAL_H
#define ATH_CONN_INTERNAL_H

#include <msgpack.h>
#include <stdatomic.h>

#include "athanor/athanor.h"
#include "conn/dconn.h"
#include "conn/url.h"
#include "pool/pool.h"
#include "sql/cache.h"
#include "sql/compiled.h"
#include "wire/validate.h"

/* Handle tags, checked on every API call (SQLite's API armor): a closed or foreign pointer is
 * reported as misuse instead of being trusted. */
#define ATH_MAGIC_ENGINE 0x41454e47u
#define ATH_MAGIC_CONN 0x41434f4eu
#define ATH_MAGIC_TXN 0x4154584eu
#define ATH_MAGIC_RESULT 0x41524553u
#define ATH_MAGIC_DEAD 0xdeadbeefu

/* Longest two-phase transaction id: MySQL's gtrid limit (PostgreSQL allows 199 bytes). */
#define ATH_XID_MAX 64

struct ath_engine {
	uint32_t magic;
	atomic_int refs;      /* the caller's + one per connection */
	atomic_int released;  /* ath_engine_free() was called */
	ath_url url;
	const ath_dialect *dialect;
	uint32_t flags;
	ath_log_cb log_cb;
	void *log_payload;
	char *isolation_level; /* NULL = the backend's default */
	ath_wire_limits limits;
	ath_cache cache;
	ath_pool pool;
	atomic_ullong stmt_hits, stmt_misses;
	atomic_ullong memo_hits; /* compile-cache hits a connection's memo served (counted as hits) */
	const ath_metadata *metadata; /* held (a reference); NULL = none */
};

/* A connection's last compiled statement and the shape bytes it came from: the same statement run
 * again on the connection (a loop of lookups) is found by comparing the bytes, without hashing
 * them and taking the shared cache's lock. Only with the compile cache on. */
typedef struct ath_compile_memo {
	ath_compiled *cs;     /* a reference, or NULL */
	unsigned char *shape;
	size_t len, cap;
} ath_compile_memo;

struct ath_conn {
	uint32_t magic;
	int refs;             /* the caller's + open results + transaction handles */
	int closed;           /* ath_conn_close() was called */
	ath_engine *engine;
	ath_dconn *dc;         /* NULL only when invalidated and revalidate() got no fresh one */
	msgpack_zone zone;    /* parameters of the statement being executed */
	ath_rendered rendered;
	ath_compile_memo memo;
	ath_txn *top;         /* innermost active transaction; NULL when none */
	uint32_t savepoint_seq;
	int autocommit;
	int isolation_changed;
	int invalidated;      /* a disconnect was seen: reconnects at the next use once rolled back */
	ath_result *spare;    /* the last closed result's block, for the next execute; NULL = none */
};

struct ath_txn {
	uint32_t magic;
	ath_conn *conn;
	ath_txn *parent;
	int nested;
	int active;
	int implicit;         /* autobegun: no caller handle */
	int released;         /* the caller freed its handle */
	char savepoint[32];
	int twophase;         /* begin_twophase(): ends with the driver's end_twophase */
	int prepared;         /* prepare() ran: the server holds it under `xid` */
	char xid[ATH_XID_MAX + 1];
};

struct ath_result {
	uint32_t magic;
	ath_conn *conn;
	ath_compiled *compiled;
	ath_dconn *dc;        /* the driver connection the rows come from (it may outlive a reconnect) */
	ath_stmt_ref stmt;    /* held while rows remain */
	int returns_rows;
	int exhausted;
	ath_colinfo *cols;    /* a reference to the statement's columns (dconn.h), or NULL */
	char **colnames;      /* cols->names */
	signed char *coltypes; /* the driver's type per column (ATH_T_*, | ATH_COLTYPE_TZ; -1 unknown), or NULL */
	size_t ncols;
	int64_t rowcount, lastrowid;
	ath_buf ins_values;   /* one-row INSERT: the inserted values, for inserted_primary_key */
	ath_buf ret_row;      /* implicit RETURNING: the row of compiled->ret_names (an array), or empty */
	int many;
	/* executemany with RETURNING: every batch's rows, packed one after another, served from
	 * memory in input order; row_ends[i] is where row i ends in `rows` */
	int buffered;
	ath_buf rows;
	size_t *row_ends;
	size_t nbuf, buf_cap, buf_next;
	/* executemany with ATH_EXEC_RETURN_DEFAULTS: each row's primary key (an array, or nil for a
	 * table without one), packed one after another in input order */
	int pk_rows_set;
	ath_buf pk_rows;
	size_t npk_rows;
};

void ath_engine__log(ath_engine *e, ath_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ath_engine__create(ath_engine **out, const char *url, const ath_engine_options *opts, ath_err *err);
void ath_engine__release(ath_engine *e);
/* A reference held by another object (an ORM session); ath_engine__decref() may destroy it. */
void ath_engine__incref(ath_engine *e);
void ath_engine__decref(ath_engine *e);
/* Apply the engine's isolation level to a freshly checked-out connection. */
int ath_engine__setup_conn(ath_conn *c, ath_err *err);
int ath_engine__connect(ath_conn **out, ath_engine *e, ath_err *err);
int ath_engine__stats(ath_buf *out, ath_engine *e, ath_err *err);
/* The compiled form of a shape, through the cache. *cached tells whether it came from the cache;
 * *age (when `age` is not NULL; reading the clock is a good part of a cache hit's cost) is the
 * seconds since it was compiled, or the seconds compiling it took. */
int ath_engine__compiled(ath_compiled **out, ath_engine *e, const void *shape, size_t len, ath_compile_memo *memo,
			 double *age, int *cached, ath_err *err);
void ath_compile_memo__free(ath_compile_memo *m);
int ath_compile__standalone(ath_buf *out, const ath_dialect *d, const ath_metadata *md, const void *shape, size_t len,
			    const void *params, size_t params_len, const ath_wire_limits *lim, ath_err *err);
int ath_compiled__pack_info(ath_buf *out, const ath_compiled *cs, const ath_rendered *r, ath_err *err);

/* `flags`: ATH_EXEC_* (executemany only); unknown bits are an ArgumentError. */
int ath_conn__execute(ath_result **out, ath_conn *c, const void *shape, size_t len, const void *params,
		      size_t params_len, int many, uint32_t flags, ath_err *err);
/* After a driver error: a disconnect invalidates the connection and refreshes the pool. Returns rc. */
int ath_conn__seen_error(ath_conn *c, int rc, ath_err *err);
int ath_conn__commit(ath_conn *c, ath_err *err);
int ath_conn__rollback(ath_conn *c, ath_err *err);
int ath_conn__set_isolation(ath_conn *c, const char *level, ath_err *err);
int ath_conn__begin(ath_txn **out, ath_conn *c, int nested, ath_err *err);
void ath_conn__close(ath_conn *c);
void ath_conn__decref(ath_conn *c);
int ath_conn__begin_twophase(ath_txn **out, ath_conn *c, const char *xid, ath_err *err);
/* A msgpack array of the xids of prepared transactions the server holds (this database's). */
int ath_conn__recover_twophase(ath_buf *out, ath_conn *c, ath_err *err);
/* COMMIT / ROLLBACK PREPARED of a recovered xid, outside any transaction of this connection. */
int ath_conn__finish_prepared(ath_conn *c, const char *xid, int commit, ath_err *err);
int ath_txn__prepare(ath_txn *t, ath_err *err);
int ath_txn__commit(ath_txn *t, ath_err *err);
int ath_txn__rollback(ath_txn *t, ath_err *err);
void ath_txn__free(ath_txn *t);

int ath_result__header(ath_buf *out, ath_result *r, ath_err *err);
int ath_result__fetch(ath_buf *out, ath_result *r, size_t max, ath_err *err);
int ath_result__inserted_primary_key(ath_buf *out, ath_result *r, ath_err *err);
int ath_result__inserted_primary_key_rows(ath_buf *out, ath_result *r, ath_err *err);
/* The primary-key columns of the INSERT's table (driver->primary_key), NUL-separated in `names`
 * (the caller frees it), *n of them; *rowid_alias as the driver reports. */
int ath_result__pk_columns(ath_strbuf *names, uint32_t *n, int *rowid_alias, ath_dconn *dc, const ath_compiled *cs,
			   ath_err *err);
/* Pack one inserted primary key: per key column the value given for it (given[k] is insert column
 * k's value, NULL or nil when none), else the value an implicit RETURNING brought back (`returned`,
 * the row of cs->ret_names, or NULL), else for a rowid alias `generated` (or the driver's
 * autoincrement_value), else nil; nil for a table without a key. */
int ath_result__pack_pk(msgpack_packer *pk, ath_dconn *dc, const ath_compiled *cs, const ath_strbuf *names,
			uint32_t npk, int rowid_alias, const msgpack_object *const *given, const msgpack_object *returned,
			int64_t generated, ath_err *err);
void ath_result__close(ath_result *r);

#endif
