/* sqlite/driver.c — the SQLite driver over libsqlite3: open, prepare (persistent statements for
 * the per-connection cache), bind msgpack values, step rows straight into msgpack batches,
 * transactions, and the primary-key lookup behind inserted_primary_key. Mirrors what pysqlite
 * does for SQLAlchemy (sqlalchemy/dialects/sqlite/pysqlite.py). SQL text is the compiler's. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conn/url.h"
#include "dialects/dialect.h"
#include "types/type.h"
#include "errors.h"
#include "util/alloc.h"
#include "wire/ext.h"
#include "wire/mpbuf.h"

/* A prepared statement: whether a stepped row waits to be read, whether it was bound or stepped
 * since its last reset (a finished row set is reset by fetch, then again on release), and what
 * every execute would otherwise ask SQLite again. */
typedef struct sq_stmt {
	sqlite3_stmt *st;
	int row_ready;
	int used;
	int large;   /* a large text or blob is bound: released at the reset, not kept until the next bind */
	int nparams; /* fixed by the SQL text */
	int ncols;   /* of the last execute (a schema change may change it) */
} sq_stmt;

/* Bound values up to this size stay bound after a reset: every execute binds every parameter
 * again, and clearing them costs each lookup (pysqlite does not clear them either). */
#define SQ_KEEP_BOUND 4096

/* Options of sqlite URLs: ?timeout=seconds&mode=ro|rw|rwc|memory&uri=true */
static int open_flags(const ath_url *url, int *flags, double *timeout, int *uri, ath_err *err)
{
	*flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	*timeout = 5.0; /* pysqlite's default */
	*uri = 0;
	for (size_t i = 0; i < url->nquery; i++) {
		const char *k = url->query[i].key, *v = url->query[i].value;
		if (strcmp(k, "timeout") == 0) {
			char *end;
			*timeout = strtod(v, &end);
			if (*end || end == v || !(*timeout >= 0) || *timeout > 86400)
				return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
						    "sqlite URL option timeout must be a number of seconds, not '%.40s'", v);
		} else if (strcmp(k, "mode") == 0) {
			int base = SQLITE_OPEN_NOMUTEX;
			if (strcmp(v, "ro") == 0)
				*flags = base | SQLITE_OPEN_READONLY;
			else if (strcmp(v, "rw") == 0)
				*flags = base | SQLITE_OPEN_READWRITE;
			else if (strcmp(v, "rwc") == 0)
				*flags = base | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
			else if (strcmp(v, "memory") == 0)
				*flags = base | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY;
			else
				return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
						    "sqlite URL option mode must be ro, rw, rwc or memory, not '%.40s'", v);
		} else if (strcmp(k, "uri") == 0) {
			*uri = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
		} else if (strcmp(k, "check_same_thread") == 0) {
			/* accepted for SQLAlchemy URLs; athanor's rule is one thread at a time per connection */
		} else {
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "unknown sqlite URL option '%.40s' (known: timeout, mode, uri)", k);
		}
	}
	if (*uri)
		*flags |= SQLITE_OPEN_URI;
	return 0;
}

static int check_url(const ath_url *url, ath_err *err)
{
	int flags, uri;
	double timeout;
	if (url->host || url->port >= 0 || url->username || url->password)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "sqlite URLs take no host, port or user: use sqlite:///relative.db, "
				    "sqlite:////absolute/path.db or sqlite:// for memory");
	return open_flags(url, &flags, &timeout, &uri, err);
}

static int is_memory(const ath_url *url)
{
	return !url->database || !*url->database || strcmp(url->database, ":memory:") == 0;
}

static int sq_connect(void **out, const ath_connect_cfg *cfg, ath_err *err)
{
	int flags, uri;
	double timeout;
	int rc = open_flags(cfg->url, &flags, &timeout, &uri, err);
	if (rc)
		return rc;
	const char *path = is_memory(cfg->url) ? ":memory:" : cfg->url->database;
	sqlite3 *db = NULL;
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		ath_sqlite__error(err, db, rc);
		ath_err__prefix(err, "cannot open database '%.200s': ", path);
		sqlite3_close(db);
		return ATH_ERROR;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, (int)(timeout * 1000));
	*out = db;
	return 0;
}

static void sq_close(void *native) { sqlite3_close_v2(native); }

static int sq_prepare(void **out, void *native, const char *sql, size_t len, ath_err *err)
{
	sqlite3 *db = native;
	sq_stmt *s = ath__calloc(1, sizeof *s);
	if (!s)
		return ath_err__oom(err);
	const char *tail = NULL;
	int rc = sqlite3_prepare_v3(db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, &s->st, &tail);
	if (rc != SQLITE_OK) {
		ath__free(s);
		return ath_sqlite__error(err, db, rc);
	}
	while (tail && tail < sql + len && (isspace((unsigned char)*tail) || *tail == ';'))
		tail++;
	if (tail && tail < sql + len) {
		sqlite3_finalize(s->st);
		ath__free(s);
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_PROGRAMMING_ERROR,
				    "(sqlite3) You can only execute one statement at a time.");
	}
	if (!s->st) { /* empty SQL */
		ath__free(s);
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_PROGRAMMING_ERROR, "(sqlite3) empty statement");
	}
	s->nparams = sqlite3_bind_parameter_count(s->st);
	*out = s;
	return 0;
}

static void sq_finalize(void *stmt)
{
	sq_stmt *s = stmt;
	if (s) {
		sqlite3_finalize(s->st);
		ath__free(s);
	}
}

static void sq_reset(void *stmt)
{
	sq_stmt *s = stmt;
	if (!s->used)
		return;
	s->used = 0;
	sqlite3_reset(s->st);
	if (s->large) {
		sqlite3_clear_bindings(s->st);
		s->large = 0;
	}
	s->row_ready = 0;
}

/* ---- binding ------------------------------------------------------------------------------ */

/* "HH:MM:SS[.f...]" into "HH:MM:SS.ffffff" (date part, if any, kept before it). */
static int normalise_time(char *out, size_t cap, const char *in, size_t len, int datetime)
{
	if (len >= cap - 8)
		return -1;
	memcpy(out, in, len);
	out[len] = '\0';
	if (datetime && len > 10 && out[10] == 'T')
		out[10] = ' ';
	char *dot = strchr(out + (datetime ? 11 : 0), '.');
	size_t frac = dot ? strlen(dot + 1) : 0;
	if (!dot) {
		strcat(out, ".");
		frac = 0;
	}
	if (frac > 6)
		return -1;
	while (frac++ < 6)
		strcat(out, "0");
	return (int)strlen(out);
}

static int bind_ext(sqlite3_stmt *st, int i, const msgpack_object *v, uint32_t param, ath_err *err)
{
	const char *p = v->via.ext.ptr;
	uint32_t n = v->via.ext.size;
	char buf[64];
	int len;
	switch (v->via.ext.type) {
	case 2: /* decimal, stored as text so no digit is lost */
	case 3: /* date "YYYY-MM-DD" */
		return sqlite3_bind_text64(st, i, n ? p : "", n, SQLITE_TRANSIENT, SQLITE_UTF8);
	case 4: /* time */
	case 5: /* naive datetime */
		len = normalise_time(buf, sizeof buf, p, n, v->via.ext.type == 5);
		if (len < 0)
			break;
		return sqlite3_bind_text64(st, i, buf, (sqlite3_uint64)len, SQLITE_TRANSIENT, SQLITE_UTF8);
	case -1: { /* msgpack timestamp: stored as the UTC datetime */
		int64_t secs;
		uint32_t nsec;
		if (ath_wire__ext_timestamp(p, n, &secs, &nsec) < 0 ||
		    (len = ath_wire__format_utc(buf, sizeof buf, secs, nsec / 1000)) < 0)
			break;
		return sqlite3_bind_text64(st, i, buf, (sqlite3_uint64)len, SQLITE_TRANSIENT, SQLITE_UTF8);
	}
	case 6: { /* interval: SQLAlchemy stores epoch + delta as a DATETIME on SQLite */
		int64_t us;
		if (ath_wire__ext_interval(p, n, &us) < 0 || (len = ath_wire__format_epoch_plus(buf, sizeof buf, us)) < 0)
			break;
		return sqlite3_bind_text64(st, i, buf, (sqlite3_uint64)len, SQLITE_TRANSIENT, SQLITE_UTF8);
	}
	case 7: /* UUID: CHAR(32) hex, as SQLAlchemy stores it on backends without a UUID type */
		if (n != 16)
			break;
		for (int k = 0; k < 16; k++)
			snprintf(buf + 2 * k, 3, "%02x", (unsigned char)p[k]);
		return sqlite3_bind_text64(st, i, buf, 32, SQLITE_TRANSIENT, SQLITE_UTF8);
	default:
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
				    "placeholder %u: msgpack ext type %d cannot be bound on sqlite", param, v->via.ext.type);
	}
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
			    "placeholder %u: malformed value of msgpack ext type %d", param, v->via.ext.type);
}

static int bind_value(sqlite3_stmt *st, int i, const msgpack_object *v, uint32_t param, ath_err *err)
{
	switch (v->type) {
	case MSGPACK_OBJECT_NIL: return sqlite3_bind_null(st, i);
	case MSGPACK_OBJECT_BOOLEAN: return sqlite3_bind_int(st, i, v->via.boolean);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (v->via.u64 > INT64_MAX)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
					    "placeholder %u: integer %" PRIu64 " is out of range for sqlite (64-bit signed)",
					    param, v->via.u64);
		return sqlite3_bind_int64(st, i, (sqlite3_int64)v->via.u64);
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return sqlite3_bind_int64(st, i, v->via.i64);
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return sqlite3_bind_double(st, i, v->via.f64);
	/* msgpack-c gives empty strings and blobs a NULL pointer, which SQLite would bind as NULL */
	case MSGPACK_OBJECT_STR:
		return sqlite3_bind_text64(st, i, v->via.str.size ? v->via.str.ptr : "", v->via.str.size, SQLITE_TRANSIENT,
					   SQLITE_UTF8);
	case MSGPACK_OBJECT_BIN:
		if (!v->via.bin.size)
			return sqlite3_bind_zeroblob(st, i, 0);
		return sqlite3_bind_blob64(st, i, v->via.bin.ptr, v->via.bin.size, SQLITE_TRANSIENT);
	case MSGPACK_OBJECT_EXT: return bind_ext(st, i, v, param, err);
	case MSGPACK_OBJECT_ARRAY:
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
				    "placeholder %u: a list cannot be bound as one value (IN lists are "
				    "[\"expanding\", i] in the statement)", param);
	case MSGPACK_OBJECT_MAP:
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
				    "placeholder %u: a map cannot be bound as one value", param);
	}
	return SQLITE_MISUSE;
}

/* ---- execution ---------------------------------------------------------------------------- */

static int step(sqlite3 *db, sq_stmt *s, ath_err *err)
{
	int rc = sqlite3_step(s->st);
	if (rc == SQLITE_ROW) {
		s->row_ready = 1;
		return 0;
	}
	s->row_ready = 0;
	if (rc == SQLITE_DONE)
		return 0;
	/* the error is reported by step; reset returns it again, so read it first */
	ath_sqlite__error(err, db, rc);
	sqlite3_reset(s->st);
	return err->code;
}

static int sq_execute(void *native, void *stmt, const msgpack_object *const *values, uint32_t n, ath_exec_info *info,
		      ath_err *err)
{
	sqlite3 *db = native;
	sq_stmt *s = stmt;
	int expected = s->nparams;
	if ((uint32_t)expected != n)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_PROGRAMMING_ERROR,
				    "Incorrect number of bindings supplied. The current statement uses %d, and there "
				    "are %u supplied.", expected, n);
	s->used = 1;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *v = values[i];
		if ((v->type == MSGPACK_OBJECT_STR && v->via.str.size > SQ_KEEP_BOUND) ||
		    (v->type == MSGPACK_OBJECT_BIN && v->via.bin.size > SQ_KEEP_BOUND) ||
		    (v->type == MSGPACK_OBJECT_EXT && v->via.ext.size > SQ_KEEP_BOUND))
			s->large = 1;
		int rc = bind_value(s->st, (int)i + 1, v, i + 1, err);
		if (rc != SQLITE_OK) {
			sqlite3_clear_bindings(s->st);
			if (err->code)
				return err->code;
			return ath_sqlite__error(err, db, rc);
		}
	}
	int rc = step(db, s, err);
	if (rc) {
		sqlite3_clear_bindings(s->st);
		return rc;
	}
	int ncols = s->ncols = sqlite3_column_count(s->st);
	int readonly = sqlite3_stmt_readonly(s->st);
	info->has_rows = ncols > 0;
	info->rowcount = !readonly && ncols == 0 ? sqlite3_changes64(db) : -1;
	info->lastrowid = readonly ? 0 : sqlite3_last_insert_rowid(db); /* read by INSERTs only */
	return 0;
}

/* One row as a msgpack array, written straight into `out` (no per-value packer callback). Each
 * value is read through sqlite3_column_value(): one call for its type and content instead of
 * sqlite3_column_type() and then the typed getters, which each check the column again. The value
 * is "unprotected", which only means no mutex guards it: the connection is opened
 * SQLITE_OPEN_NOMUTEX and used by one thread at a time, as the sqlite3_column_value() docs ask.
 * Returns 0, or -1 on out-of-memory (ours, or SQLite's converting a value). */
static int pack_row(ath_buf *out, sqlite3_stmt *st, int ncols)
{
	size_t rest = (size_t)ncols * ATH_WIRE_MAX_HEAD; /* room kept for the columns not yet written */
	if (ath_wire__buf_reserve(out, ATH_WIRE_MAX_HEAD + rest) < 0)
		return -1;
	unsigned char *p = out->ptr + out->size;
	p += ath_wire__put_array_header(p, (uint32_t)ncols);
	for (int i = 0; i < ncols; i++) {
		sqlite3_value *v = sqlite3_column_value(st, i);
		int type = sqlite3_value_type(v);
		rest -= ATH_WIRE_MAX_HEAD;
		switch (type) {
		case SQLITE_INTEGER: p += ath_wire__put_int64(p, sqlite3_value_int64(v)); break;
		case SQLITE_FLOAT: p += ath_wire__put_double(p, sqlite3_value_double(v)); break;
		case SQLITE_TEXT:
		case SQLITE_BLOB: {
			/* text before bytes: the length is then the text's, as SQLite documents */
			const void *data = type == SQLITE_TEXT ? (const void *)sqlite3_value_text(v) : sqlite3_value_blob(v);
			int n = sqlite3_value_bytes(v);
			if (!data && (type == SQLITE_TEXT || n))
				return -1;
			out->size = (size_t)(p - out->ptr);
			if (ath_wire__buf_reserve(out, ATH_WIRE_MAX_HEAD + (size_t)n + rest) < 0)
				return -1;
			p = out->ptr + out->size;
			p += type == SQLITE_TEXT ? ath_wire__put_str_header(p, (uint32_t)n) : ath_wire__put_bin_header(p, (uint32_t)n);
			if (n)
				memcpy(p, data, (size_t)n);
			p += n;
			break;
		}
		default: *p++ = 0xc0; /* nil */
		}
	}
	out->size = (size_t)(p - out->ptr);
	return 0;
}

static int sq_fetch(void *native, void *stmt, ath_buf *out, size_t max, size_t *nrows, int *done, ath_err *err)
{
	sq_stmt *s = stmt;
	int ncols = s->ncols;
	*nrows = 0;
	*done = 0;
	while (*nrows < max && s->row_ready) {
		if (pack_row(out, s->st, ncols) < 0)
			return ath_err__oom(err);
		(*nrows)++;
		int rc = step(native, s, err);
		if (rc)
			return rc;
	}
	if (!s->row_ready) {
		*done = 1;
		sq_reset(s);
	}
	return 0;
}

static size_t sq_column_count(void *stmt) { return (size_t)sqlite3_column_count(((sq_stmt *)stmt)->st); }

static const char *sq_column_name(void *stmt, size_t i) { return sqlite3_column_name(((sq_stmt *)stmt)->st, (int)i); }

/* The declared type of a table column, as SQLAlchemy's SQLite ischema_names reads it (the name
 * before any "(", case-insensitive); an expression has none. */
static int sq_column_type(void *stmt, size_t i, int *timezone)
{
	static const struct {
		const char *name;
		int kind;
	} names[] = { { "INTEGER", ATH_T_INTEGER }, { "INT", ATH_T_INTEGER },     { "BIGINT", ATH_T_BIGINT },
		      { "SMALLINT", ATH_T_SMALLINT }, { "BOOLEAN", ATH_T_BOOLEAN }, { "BOOL", ATH_T_BOOLEAN },
		      { "VARCHAR", ATH_T_STRING },   { "NVARCHAR", ATH_T_STRING },  { "CHAR", ATH_T_STRING },
		      { "NCHAR", ATH_T_STRING },     { "TEXT", ATH_T_TEXT },        { "CLOB", ATH_T_TEXT },
		      { "FLOAT", ATH_T_FLOAT },      { "REAL", ATH_T_FLOAT },       { "DOUBLE", ATH_T_DOUBLE },
		      { "DOUBLE PRECISION", ATH_T_DOUBLE }, { "NUMERIC", ATH_T_NUMERIC }, { "DECIMAL", ATH_T_NUMERIC },
		      { "DATE", ATH_T_DATE },        { "DATETIME", ATH_T_DATETIME }, { "TIMESTAMP", ATH_T_DATETIME },
		      { "TIME", ATH_T_TIME },        { "BLOB", ATH_T_LARGEBINARY }, { "JSON", ATH_T_JSON } };
	*timezone = 0;
	const char *decl = sqlite3_column_decltype(((sq_stmt *)stmt)->st, (int)i);
	if (!decl)
		return -1;
	size_t n = strcspn(decl, "(");
	while (n && decl[n - 1] == ' ')
		n--;
	for (size_t k = 0; k < sizeof names / sizeof *names; k++)
		if (strlen(names[k].name) == n && strncasecmp(decl, names[k].name, n) == 0)
			return names[k].kind;
	return -1;
}

/* SQLite prepares a statement again by itself when the schema changed (sqlite3_prepare_v3),
 * which is when its columns can change; it counts those in SQLITE_STMTSTATUS_REPREPARE. */
static uint64_t sq_columns_version(void *stmt)
{
	return (uint64_t)sqlite3_stmt_status(((sq_stmt *)stmt)->st, SQLITE_STMTSTATUS_REPREPARE, 0);
}

static int sq_exec_simple(void *native, const char *sql, ath_err *err)
{
	int rc = sqlite3_exec(native, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		ath_sqlite__error(err, native, rc);
		ath_err__set_sql(err, sql, strlen(sql));
		return err->code;
	}
	return 0;
}

static int sq_in_transaction(void *native) { return !sqlite3_get_autocommit(native); }

/* PRAGMA table_info: primary-key columns in key order, and whether the key is the rowid. */
static int sq_primary_key(void *native, const char *schema, const char *table, void (*each)(const char *, void *),
			  void *payload, int *rowid_alias, ath_err *err)
{
	char *sql = sqlite3_mprintf("PRAGMA \"%w\".table_info(\"%w\")", schema ? schema : "main", table);
	if (!sql)
		return ath_err__oom(err);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(native, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return ath_sqlite__error(err, native, rc);
	struct {
		int pk;
		char *name;
		int integer;
	} cols[64];
	int n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int pk = sqlite3_column_int(st, 5);
		if (pk <= 0 || n == 64)
			continue;
		const char *type = (const char *)sqlite3_column_text(st, 2);
		cols[n].pk = pk;
		cols[n].name = ath__strdup((const char *)sqlite3_column_text(st, 1));
		cols[n].integer = type && strcasecmp(type, "INTEGER") == 0;
		if (!cols[n].name)
			break;
		n++;
	}
	sqlite3_finalize(st);
	int failed = rc != SQLITE_DONE;
	*rowid_alias = n == 1 && cols[0].integer;
	for (int k = 1; k <= n && !failed; k++)
		for (int i = 0; i < n; i++)
			if (cols[i].pk == k)
				each(cols[i].name, payload);
	for (int i = 0; i < n; i++)
		ath__free(cols[i].name);
	return failed ? ath_err__oom(err) : 0;
}

static int sq_set_isolation(void *native, const char *level, ath_err *err)
{
	if (strcasecmp(level, "SERIALIZABLE") == 0)
		return sq_exec_simple(native, "PRAGMA read_uncommitted = 0", err);
	if (strcasecmp(level, "READ UNCOMMITTED") == 0)
		return sq_exec_simple(native, "PRAGMA read_uncommitted = 1", err);
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
			    "Invalid value '%.40s' for isolation_level. Valid isolation levels for sqlite are "
			    "AUTOCOMMIT, READ UNCOMMITTED, SERIALIZABLE", level);
}

const ath_driver_ops ath_sqlite_driver = {
	.version = 5,
	.check_url = check_url,
	.is_memory = is_memory,
	.connect = sq_connect,
	.close = sq_close,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.execute = sq_execute,
	.fetch = sq_fetch,
	.reset = sq_reset,
	.column_count = sq_column_count,
	.column_name = sq_column_name,
	.column_type = sq_column_type,
	.columns_version = sq_columns_version,
	.exec_simple = sq_exec_simple,
	.in_transaction = sq_in_transaction,
	.primary_key = sq_primary_key,
	.default_isolation = "SERIALIZABLE",
	.set_isolation = sq_set_isolation,
	/* SQLITE_MAX_VARIABLE_NUMBER of Debian 12's SQLite 3.40 (the default since 3.32); plain
	 * executemany stays a loop over one prepared statement: in-process, it has no round trips.
	 * No two-phase commit (SQLAlchemy's pysqlite dialect has none either). */
	.max_params = 32766,
};
