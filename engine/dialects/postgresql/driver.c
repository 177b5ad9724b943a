/* postgresql/driver.c — the PostgreSQL driver over libpq: connect from the URL (libpq keywords
 * from the query string), named server-side prepared statements whose parameter types follow the
 * msgpack values (re-prepared when they change), results read by type OID into msgpack, buffered
 * or streamed in single-row mode (libpq 15 has no chunked mode), transactions, isolation levels,
 * the catalog lookup behind inserted_primary_key, and ping for pool_pre_ping. Mirrors what
 * psycopg does for SQLAlchemy (sqlalchemy/dialects/postgresql/psycopg.py). SQL is the compiler's. */
#include <ctype.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
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
#include "util/strbuf.h"
#include "wire/ext.h"
#include "wire/mpbuf.h"

/* type OIDs (src/include/catalog/pg_type.dat) */
enum {
	OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26,
	OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_DATE = 1082, OID_TIME = 1083, OID_TIMESTAMP = 1114,
	OID_TIMESTAMPTZ = 1184, OID_TIMETZ = 1266, OID_INTERVAL = 1186, OID_NUMERIC = 1700, OID_UUID = 2950
};

typedef struct pg_stmt pg_stmt;

typedef struct pg_conn {
	PGconn *pg;
	int refs;           /* the connection + each statement: finalize may come after close */
	int stream;         /* stream_results: single-row mode */
	uint64_t seq;       /* statement names */
	pg_stmt *streaming; /* the statement whose rows are still arriving */
} pg_conn;

struct pg_stmt {
	pg_conn *c;
	char name[32];
	char *sql;
	int prepared;
	Oid *types;         /* parameter types it was prepared with */
	uint32_t ntypes;
	PGresult *res;      /* rows being read */
	int row;
	PGresult **queue;   /* rows of a stream drained by another command on the connection */
	size_t nqueue, qhead, qcap;
	int lost;           /* draining ran out of memory: rows are missing, the next fetch fails */
	int active;         /* rows remain */
	int nfields;
	char **names;
	Oid *oids;          /* each column's type */
};

static void conn_unref(pg_conn *c)
{
	if (--c->refs == 0)
		ath__free(c);
}

/* ---- connecting --------------------------------------------------------------------------- */

/* Query options pass through when libpq knows them (sslmode, connect_timeout, host for a unix
 * socket directory, application_name, options, target_session_attrs, ...), as psycopg passes
 * SQLAlchemy's query string to PQconnectdbParams. */
static int is_libpq_keyword(const char *k)
{
	static const char *const extra[] = { "client_encoding", NULL };
	for (int i = 0; extra[i]; i++)
		if (strcmp(k, extra[i]) == 0)
			return 1;
	PQconninfoOption *opts = PQconndefaults(), *o;
	int found = 0;
	for (o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, k) == 0 && strcmp(k, "dbname") != 0 && strcmp(k, "user") != 0 &&
		    strcmp(k, "password") != 0)
			found = 1;
	PQconninfoFree(opts);
	return found;
}

static int check_url(const ath_url *url, ath_err *err)
{
	for (size_t i = 0; i < url->nquery; i++)
		if (!is_libpq_keyword(url->query[i].key))
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "unknown postgresql URL option '%.40s' (libpq connection keywords such as "
					    "sslmode, connect_timeout, host, application_name are accepted)",
					    url->query[i].key);
	if (url->driver && strcmp(url->driver, "libpq") != 0 && strcmp(url->driver, "psycopg") != 0 &&
	    strcmp(url->driver, "psycopg2") != 0)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "unknown driver '%.40s' for postgresql (athanor uses libpq)", url->driver);
	return 0;
}

static int is_memory(const ath_url *url)
{
	(void)url;
	return 0;
}

static int run_simple(pg_conn *c, const char *sql, ath_err *err);

static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int pg_connect(void **out, const ath_connect_cfg *cfg, ath_err *err)
{
	const ath_url *u = cfg->url;
	const char *keys[64], *vals[64];
	char port[16];
	int n = 0;
	if (u->host && *u->host) {
		keys[n] = "host";
		vals[n++] = u->host;
	}
	if (u->port >= 0) {
		snprintf(port, sizeof port, "%d", u->port);
		keys[n] = "port";
		vals[n++] = port;
	}
	if (u->username) {
		keys[n] = "user";
		vals[n++] = u->username;
	}
	if (u->password) {
		keys[n] = "password";
		vals[n++] = u->password;
	}
	if (u->database && *u->database) {
		keys[n] = "dbname";
		vals[n++] = u->database;
	}
	for (size_t i = 0; i < u->nquery && n < 62; i++) {
		keys[n] = u->query[i].key;
		vals[n++] = u->query[i].value;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	pg_conn *c = ath__calloc(1, sizeof *c);
	if (!c)
		return ath_err__oom(err);
	c->pg = PQconnectdbParams(keys, vals, 0);
	if (!c->pg) {
		ath__free(c);
		return ath_err__oom(err);
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		ath_pg__error(err, c->pg, NULL);
		err->flags &= ~ATH_ERROR_DISCONNECT; /* never connected: nothing to invalidate */
		PQfinish(c->pg);
		ath__free(c);
		return ATH_ERROR;
	}
	c->refs = 1;
	c->stream = cfg->stream_results;
	PQsetNoticeProcessor(c->pg, quiet_notice, NULL); /* NOTICEs are not errors: keep stderr clean */
	/* the formats this file parses: ISO dates, postgres-style intervals, round-trip floats */
	int rc = run_simple(c, "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
			       "SET extra_float_digits = 3", err);
	if (rc) {
		PQfinish(c->pg);
		ath__free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void pg_close(void *native)
{
	pg_conn *c = native;
	if (!c)
		return;
	if (c->pg)
		PQfinish(c->pg);
	c->pg = NULL;
	conn_unref(c);
}

/* ---- statements --------------------------------------------------------------------------- */

static void clear_rows(pg_stmt *s)
{
	PQclear(s->res);
	s->res = NULL;
	s->row = 0;
	while (s->qhead < s->nqueue)
		PQclear(s->queue[s->qhead++]);
	s->qhead = s->nqueue = 0;
	s->lost = 0;
}

/* Read what is left of a streamed result into the statement's queue, so the connection is free
 * for another command (the rows are then read from memory, as a buffered result). */
static void drain(pg_conn *c)
{
	pg_stmt *s = c->streaming;
	if (!s)
		return;
	c->streaming = NULL;
	PGresult *r;
	while ((r = PQgetResult(c->pg))) {
		if (s->nqueue == s->qcap) {
			size_t cap = s->qcap ? s->qcap * 2 : 64;
			PGresult **q = ath__realloc(s->queue, cap * sizeof *q);
			if (!q) { /* no memory: the connection is freed all the same; the fetch reports it */
				PQclear(r);
				s->lost = 1;
				continue;
			}
			s->queue = q;
			s->qcap = cap;
		}
		s->queue[s->nqueue++] = r;
	}
}

/* Discard a stream's remaining rows (the result was closed early). */
static void discard(pg_conn *c)
{
	PGresult *r;
	c->streaming = NULL;
	while (c->pg && (r = PQgetResult(c->pg)))
		PQclear(r);
}

static int run_simple(pg_conn *c, const char *sql, ath_err *err)
{
	drain(c);
	PGresult *r = PQexec(c->pg, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		ath_pg__error(err, c->pg, r);
		PQclear(r);
		return ATH_ERROR;
	}
	PQclear(r);
	return 0;
}

static int pg_prepare(void **out, void *native, const char *sql, size_t len, ath_err *err)
{
	pg_conn *c = native;
	pg_stmt *s = ath__calloc(1, sizeof *s);
	if (!s || !(s->sql = ath__strndup(sql, len))) {
		ath__free(s);
		return ath_err__oom(err);
	}
	/* prepared at the first execute, when the parameter types are known */
	s->c = c;
	c->refs++;
	*out = s;
	return 0;
}

static void free_names(pg_stmt *s)
{
	for (int i = 0; i < s->nfields; i++)
		ath__free(s->names[i]);
	ath__free(s->names);
	ath__free(s->oids);
	s->names = NULL;
	s->oids = NULL;
	s->nfields = 0;
}

static void deallocate(pg_stmt *s)
{
	pg_conn *c = s->c;
	if (!s->prepared || !c->pg || PQstatus(c->pg) != CONNECTION_OK)
		return;
	if (c->streaming && c->streaming != s)
		drain(c);
	char sql[64];
	snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
	PQclear(PQexec(c->pg, sql)); /* failing (aborted transaction) only leaves it until disconnect */
	s->prepared = 0;
}

static void pg_reset(void *stmt)
{
	pg_stmt *s = stmt;
	if (s->c->streaming == s)
		discard(s->c);
	clear_rows(s);
	s->active = 0;
}

static void pg_finalize(void *stmt)
{
	pg_stmt *s = stmt;
	if (!s)
		return;
	pg_reset(s);
	deallocate(s);
	free_names(s);
	ath__free(s->queue);
	ath__free(s->types);
	ath__free(s->sql);
	pg_conn *c = s->c;
	ath__free(s);
	conn_unref(c);
}

/* ---- parameters --------------------------------------------------------------------------- */

/* The type a value is sent as; 0 lets the server infer it (strings and NULL, as psycopg does). */
static Oid value_type(const msgpack_object *v)
{
	switch (v->type) {
	case MSGPACK_OBJECT_BOOLEAN: return OID_BOOL;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		return v->via.u64 > INT64_MAX ? OID_NUMERIC : OID_INT8;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return OID_INT8;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return OID_FLOAT8;
	case MSGPACK_OBJECT_BIN: return OID_BYTEA;
	case MSGPACK_OBJECT_EXT:
		switch (v->via.ext.type) {
		case 2: return OID_NUMERIC;
		case 3: return OID_DATE;
		case 4: /* a time with a UTC offset (Time(timezone=True)) is a timetz */
			for (uint32_t k = 8; k < v->via.ext.size; k++)
				if (v->via.ext.ptr[k] == '+' || v->via.ext.ptr[k] == '-')
					return OID_TIMETZ;
			return OID_TIME;
		case 5: return OID_TIMESTAMP;
		case -1: return OID_TIMESTAMPTZ;
		case 6: return OID_INTERVAL;
		case 7: return OID_UUID;
		default: return 0;
		}
	default: return 0;
	}
}

static int bad_value(ath_err *err, uint32_t i, const msgpack_object *v)
{
	if (v->type == MSGPACK_OBJECT_ARRAY)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
				    "parameter %u: a list cannot be bound as one value (for IN lists use "
				    "[\"expanding\", %u] in the statement)", i, i);
	if (v->type == MSGPACK_OBJECT_MAP)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
				    "parameter %u: a map cannot be bound as one value", i);
	if (v->type == MSGPACK_OBJECT_EXT && value_type(v) == 0)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
				    "parameter %u: msgpack ext type %d cannot be bound on postgresql", i, v->via.ext.type);
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
			    "parameter %u: malformed value of msgpack ext type %d", i, v->via.ext.type);
}

/* Text form of one value into b (NUL-terminated); *binary for bytea. Returns 0, 1 for NULL, -1 bad. */
static int value_text(ath_strbuf *b, const msgpack_object *v, int *binary)
{
	*binary = 0;
	switch (v->type) {
	case MSGPACK_OBJECT_NIL: return 1;
	case MSGPACK_OBJECT_BOOLEAN: ath_strbuf__puts(b, v->via.boolean ? "t" : "f"); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: ath_strbuf__printf(b, "%" PRIu64, v->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: ath_strbuf__printf(b, "%" PRId64, v->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isnan(v->via.f64))
			ath_strbuf__puts(b, "NaN");
		else if (isinf(v->via.f64))
			ath_strbuf__puts(b, v->via.f64 > 0 ? "Infinity" : "-Infinity");
		else
			ath_strbuf__printf(b, "%.17g", v->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		if (v->via.str.size && memchr(v->via.str.ptr, 0, v->via.str.size)) /* msgpack-c: "" has a NULL ptr */
			return -2;
		ath_strbuf__put(b, v->via.str.ptr, v->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		*binary = 1;
		ath_strbuf__put(b, v->via.bin.ptr, v->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT: {
		const char *p = v->via.ext.ptr;
		uint32_t n = v->via.ext.size;
		switch (v->via.ext.type) {
		case 2:
		case 3:
		case 4:
		case 5:
			if (n && memchr(p, 0, n))
				return -1;
			ath_strbuf__put(b, p, n);
			break;
		case -1: {
			int64_t secs;
			uint32_t nsec;
			char buf[64];
			int len;
			if (ath_wire__ext_timestamp(p, n, &secs, &nsec) < 0 ||
			    (len = ath_wire__format_utc(buf, sizeof buf, secs, nsec / 1000)) < 0)
				return -1;
			ath_strbuf__put(b, buf, (size_t)len);
			ath_strbuf__puts(b, "+00");
			break;
		}
		case 6: {
			int64_t us;
			if (ath_wire__ext_interval(p, n, &us) < 0)
				return -1;
			ath_strbuf__printf(b, "%" PRId64 " microseconds", us);
			break;
		}
		case 7:
			if (n != 16)
				return -1;
			for (int k = 0; k < 16; k++)
				ath_strbuf__printf(b, "%s%02x", k == 4 || k == 6 || k == 8 || k == 10 ? "-" : "",
						   (unsigned char)p[k]);
			break;
		default: return -1;
		}
		break;
	}
	default: return -1;
	}
	ath_strbuf__putc(b, '\0');
	return 0;
}

/* Prepare (again) when the statement is new or a parameter's type changed. NULL fits any type;
 * a slot the server inferred (0) takes whatever comes, sent as text. */
static int ensure_prepared(pg_stmt *s, const Oid *types, uint32_t n, ath_err *err)
{
	if (s->prepared && s->ntypes == n) {
		int same = 1;
		for (uint32_t i = 0; i < n && same; i++)
			same = types[i] == 0 || s->types[i] == 0 || s->types[i] == types[i];
		if (same)
			return 0;
	}
	deallocate(s);
	Oid *copy = ath__malloc((n ? n : 1) * sizeof *copy);
	if (!copy)
		return ath_err__oom(err);
	memcpy(copy, types, n * sizeof *copy);
	ath__free(s->types);
	s->types = copy;
	s->ntypes = n;
	snprintf(s->name, sizeof s->name, "ath_%" PRIu64, ++s->c->seq);
	PGresult *r = PQprepare(s->c->pg, s->name, s->sql, (int)n, types);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ath_pg__error(err, s->c->pg, r);
		PQclear(r);
		return ATH_ERROR;
	}
	PQclear(r);
	s->prepared = 1;
	return 0;
}

static int keep_fields(pg_stmt *s, const PGresult *r, ath_err *err)
{
	free_names(s);
	int n = PQnfields(r);
	if (!n)
		return 0;
	if (!(s->names = ath__calloc((size_t)n, sizeof *s->names)) || !(s->oids = ath__calloc((size_t)n, sizeof *s->oids)))
		return ath_err__oom(err);
	s->nfields = n;
	for (int i = 0; i < n; i++) {
		if (!(s->names[i] = ath__strdup(PQfname(r, i))))
			return ath_err__oom(err);
		s->oids[i] = PQftype(r, i);
	}
	return 0;
}

static int64_t cmd_tuples(const PGresult *r)
{
	const char *t = PQcmdTuples((PGresult *)r);
	return t && *t ? strtoll(t, NULL, 10) : -1;
}

static int pg_execute(void *native, void *stmt, const msgpack_object *const *values, uint32_t n, ath_exec_info *info,
		      ath_err *err)
{
	pg_conn *c = native;
	pg_stmt *s = stmt;
	drain(c);
	clear_rows(s);
	s->active = 0;
	Oid types_small[16], *types = n <= 16 ? types_small : ath__malloc(n * sizeof *types);
	size_t offs_small[16], *offs = n <= 16 ? offs_small : ath__malloc(n * sizeof *offs);
	const char *vals_small[16], **vals = n <= 16 ? vals_small : ath__malloc(n * sizeof *vals);
	int lens_small[16], *lens = n <= 16 ? lens_small : ath__malloc(n * sizeof *lens);
	int fmts_small[16], *fmts = n <= 16 ? fmts_small : ath__malloc(n * sizeof *fmts);
	ath_strbuf b = ATH_STRBUF_INIT;
	int rc = 0;
	if (!types || !offs || !vals || !lens || !fmts) {
		rc = ath_err__oom(err);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		size_t at = b.len;
		int bin, t = value_text(&b, values[i], &bin);
		if (t == -2) {
			rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
					  "parameter %u: a string containing a NUL byte cannot be sent to postgresql", i);
			goto out;
		}
		if (t < 0) {
			rc = bad_value(err, i, values[i]);
			goto out;
		}
		types[i] = value_type(values[i]);
		offs[i] = t == 1 ? (size_t)-1 : at;
		lens[i] = t == 1 ? 0 : (int)(b.len - at - 1); /* value_text ends every value with a NUL */
		fmts[i] = bin;
	}
	if (b.oom) {
		rc = ath_err__oom(err);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		vals[i] = offs[i] == (size_t)-1 ? NULL : b.ptr + offs[i];
	if ((rc = ensure_prepared(s, types, n, err)))
		goto out;
	if (c->stream) {
		if (!PQsendQueryPrepared(c->pg, s->name, (int)n, vals, lens, fmts, 0) || !PQsetSingleRowMode(c->pg)) {
			rc = ath_pg__error(err, c->pg, NULL);
			discard(c);
			goto out;
		}
		s->res = PQgetResult(c->pg);
		c->streaming = s;
	} else {
		s->res = PQexecPrepared(c->pg, s->name, (int)n, vals, lens, fmts, 0);
	}
	ExecStatusType st = PQresultStatus(s->res);
	if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
		if ((rc = keep_fields(s, s->res, err))) {
			pg_reset(s);
			goto out;
		}
		if (st == PGRES_TUPLES_OK && c->streaming == s) /* no rows: the stream is over */
			discard(c);
		info->has_rows = 1;
		info->rowcount = st == PGRES_TUPLES_OK ? cmd_tuples(s->res) : -1;
		s->active = 1;
		s->row = 0;
	} else if (st == PGRES_COMMAND_OK) {
		info->has_rows = 0;
		info->rowcount = cmd_tuples(s->res);
		if (c->streaming == s)
			discard(c);
		clear_rows(s);
	} else {
		rc = ath_pg__error(err, c->pg, s->res);
		if (c->streaming == s)
			discard(c);
		clear_rows(s);
	}
	info->lastrowid = 0;
out:
	ath_strbuf__free(&b);
	if (n > 16) {
		ath__free(types);
		ath__free(offs);
		ath__free(vals);
		ath__free(lens);
		ath__free(fmts);
	}
	return rc;
}

/* ---- results ------------------------------------------------------------------------------ */

static int pack_ext_text(msgpack_packer *pk, int8_t type, const char *s, size_t n)
{
	if (msgpack_pack_ext(pk, n, type) < 0)
		return -1;
	return msgpack_pack_ext_body(pk, s, n);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* bytea in hex output format: \x0001ff */
static int pack_bytea(msgpack_packer *pk, const char *s, size_t n)
{
	if (n < 2 || s[0] != '\\' || s[1] != 'x')
		return msgpack_pack_bin(pk, n) < 0 ? -1 : msgpack_pack_bin_body(pk, s, n);
	size_t len = (n - 2) / 2;
	if (msgpack_pack_bin(pk, len) < 0)
		return -1;
	unsigned char chunk[256];
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		chunk[k++] = (unsigned char)(hexval(s[2 + 2 * i]) << 4 | hexval(s[3 + 2 * i]));
		if (k == sizeof chunk || i + 1 == len) {
			if (msgpack_pack_bin_body(pk, chunk, k) < 0)
				return -1;
			k = 0;
		}
	}
	return 0;
}

/* days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's days_from_civil) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM[:SS]]" → msgpack timestamp 96 */
static int pack_timestamptz(msgpack_packer *pk, const char *s, size_t n)
{
	int y, mo, d, h, mi, sec, consumed = 0;
	if (sscanf(s, "%d-%d-%d %d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6)
		return -2;
	const char *p = s + consumed;
	uint32_t nsec = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			if (digits < 9)
				nsec = nsec * 10 + (uint32_t)(*p - '0');
		for (; digits < 9; digits++)
			nsec *= 10;
	}
	int64_t off = 0;
	if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh = 0, om = 0, os = 0;
		sscanf(p + 1, "%d:%d:%d", &oh, &om, &os);
		off = sign * (oh * 3600 + om * 60 + os);
	}
	if (strstr(s, " BC"))
		y = 1 - y;
	int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off;
	char buf[12];
	for (int i = 0; i < 4; i++)
		buf[i] = (char)(nsec >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		buf[4 + i] = (char)((uint64_t)secs >> (56 - 8 * i));
	(void)n;
	return pack_ext_text(pk, -1, buf, 12);
}

/* postgres-style interval ("1 year 2 mons -3 days +04:05:06.5") → microseconds, with a month as
 * 30 days and a year as 365.25 days, as psycopg turns intervals into timedelta. */
static int pack_interval(msgpack_packer *pk, const char *s)
{
	int64_t us = 0;
	const char *p = s;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		int neg = 0;
		if (*p == '-' || *p == '+')
			neg = *p++ == '-';
		if (strchr(p, ':') && (!strchr(p, ' ') || strchr(p, ':') < strchr(p, ' '))) {
			int h = 0, m = 0, consumed = 0;
			double sec = 0;
			if (sscanf(p, "%d:%d:%lf%n", &h, &m, &sec, &consumed) < 2)
				return -2;
			int64_t v = (int64_t)h * 3600000000LL + (int64_t)m * 60000000LL + (int64_t)llround(sec * 1e6);
			us += neg ? -v : v;
			p += consumed ? consumed : (int)strlen(p);
			continue;
		}
		char *end;
		long long qty = strtoll(p, &end, 10);
		if (end == p)
			return -2;
		p = end;
		while (*p == ' ')
			p++;
		int64_t unit = 0;
		if (strncmp(p, "year", 4) == 0)
			unit = 31557600000000LL;
		else if (strncmp(p, "mon", 3) == 0)
			unit = 2592000000000LL;
		else if (strncmp(p, "day", 3) == 0)
			unit = 86400000000LL;
		else
			return -2;
		while (*p && *p != ' ')
			p++;
		us += (neg ? -qty : qty) * unit;
	}
	char buf[8];
	for (int i = 0; i < 8; i++)
		buf[i] = (char)((uint64_t)us >> (56 - 8 * i));
	return pack_ext_text(pk, 6, buf, 8);
}

static int pack_uuid(msgpack_packer *pk, const char *s)
{
	char buf[16];
	int k = 0;
	for (const char *p = s; *p && k < 16; p++) {
		if (*p == '-')
			continue;
		int hi = hexval(p[0]), lo = p[1] ? hexval(p[1]) : -1;
		if (hi < 0 || lo < 0)
			return -2;
		buf[k++] = (char)(hi << 4 | lo);
		p++;
	}
	return k == 16 ? pack_ext_text(pk, 7, buf, 16) : -2;
}

static int pack_str(msgpack_packer *pk, const char *s, size_t n)
{
	if (msgpack_pack_str(pk, n) < 0)
		return -1;
	return msgpack_pack_str_body(pk, s, n);
}

/* One value by its type OID; -1 = packer failure (out of memory). Values this file cannot parse
 * (infinity dates, BC timestamps with odd offsets) fall back to their text. */
static int pack_value(msgpack_packer *pk, const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return msgpack_pack_nil(pk);
	const char *s = PQgetvalue(r, row, col);
	size_t n = (size_t)PQgetlength(r, row, col);
	int rc = -2;
	switch (PQftype(r, col)) {
	case OID_BOOL: return s[0] == 't' ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	case OID_INT2:
	case OID_INT4:
	case OID_INT8: return msgpack_pack_int64(pk, strtoll(s, NULL, 10));
	case OID_OID: return msgpack_pack_uint64(pk, strtoull(s, NULL, 10));
	case OID_FLOAT4:
	case OID_FLOAT8: return msgpack_pack_double(pk, strtod(s, NULL)); /* NaN, Infinity too */
	case OID_NUMERIC:
		if (strcmp(s, "NaN") == 0 || strstr(s, "Infinity"))
			return msgpack_pack_double(pk, strtod(s, NULL));
		return pack_ext_text(pk, 2, s, n);
	case OID_BYTEA: return pack_bytea(pk, s, n);
	case OID_DATE:
		if (isdigit((unsigned char)s[0]) && !strstr(s, " BC"))
			return pack_ext_text(pk, 3, s, n);
		break;
	case OID_TIME:
	case OID_TIMETZ: return pack_ext_text(pk, 4, s, n);
	case OID_TIMESTAMP:
		if (isdigit((unsigned char)s[0]) && n >= 19 && n < 40 && !strstr(s, " BC")) {
			char buf[40];
			memcpy(buf, s, n);
			buf[10] = 'T';
			return pack_ext_text(pk, 5, buf, n);
		}
		break;
	case OID_TIMESTAMPTZ:
		if (isdigit((unsigned char)s[0]))
			rc = pack_timestamptz(pk, s, n);
		break;
	case OID_INTERVAL: rc = pack_interval(pk, s); break;
	case OID_UUID: rc = pack_uuid(pk, s); break;
	default: break;
	}
	if (rc != -2)
		return rc;
	return pack_str(pk, s, n); /* text, varchar, json, jsonb, arrays, ...: their text */
}

/* The next result holding rows, or NULL at the end; errors are recorded. */
static int next_result(pg_conn *c, pg_stmt *s, ath_err *err)
{
	PQclear(s->res);
	s->res = NULL;
	s->row = 0;
	if (s->qhead < s->nqueue)
		s->res = s->queue[s->qhead++];
	else if (c->streaming == s)
		s->res = PQgetResult(c->pg);
	if (!s->res) {
		s->active = 0;
		if (c->streaming == s)
			c->streaming = NULL;
		return 0;
	}
	ExecStatusType st = PQresultStatus(s->res);
	if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK)
		return 0;
	int rc = ath_pg__error(err, c->pg, s->res);
	if (c->streaming == s)
		discard(c);
	clear_rows(s);
	s->active = 0;
	return rc;
}

static int pg_fetch(void *native, void *stmt, ath_buf *out, size_t max, size_t *nrows, int *done, ath_err *err)
{
	msgpack_packer packer, *pk = &packer;
	msgpack_packer_init(pk, out, ath_wire__buf_write);
	pg_conn *c = native;
	pg_stmt *s = stmt;
	*nrows = 0;
	*done = 0;
	if (s->lost) { /* never a result that silently ends early */
		pg_reset(s);
		return ath_err__set(err, ATH_ENOMEM, ATH_ERRCLASS_OUT_OF_MEMORY_ERROR,
				    "out of memory keeping the rest of a streamed result while another statement ran on "
				    "the connection: its remaining rows are lost");
	}
	while (*nrows < max && s->active) {
		if (!s->res || s->row >= PQntuples(s->res)) {
			int rc = next_result(c, s, err);
			if (rc)
				return rc;
			continue;
		}
		int nf = PQnfields(s->res);
		if (msgpack_pack_array(pk, (size_t)nf) < 0)
			return ath_err__oom(err);
		for (int i = 0; i < nf; i++)
			if (pack_value(pk, s->res, s->row, i) < 0)
				return ath_err__oom(err);
		s->row++;
		(*nrows)++;
	}
	/* look ahead so an exhausted result says so with its last rows */
	if (s->active && s->res && s->row >= PQntuples(s->res) && c->streaming != s && s->qhead >= s->nqueue)
		s->active = 0;
	if (!s->active) {
		*done = 1;
		pg_reset(s);
	}
	return 0;
}

static size_t pg_column_count(void *stmt) { return (size_t)((pg_stmt *)stmt)->nfields; }

static const char *pg_column_name(void *stmt, size_t i)
{
	pg_stmt *s = stmt;
	return i < (size_t)s->nfields ? s->names[i] : NULL;
}

/* pg_type OIDs of the built-in types to the generic types (SQLAlchemy's PostgreSQL ischema_names). */
static int pg_column_type(void *stmt, size_t i, int *timezone)
{
	pg_stmt *s = stmt;
	*timezone = 0;
	if (i >= (size_t)s->nfields || !s->oids)
		return -1;
	switch (s->oids[i]) {
	case 16: return ATH_T_BOOLEAN;
	case 17: return ATH_T_LARGEBINARY;
	case 20: return ATH_T_BIGINT;
	case 21: return ATH_T_SMALLINT;
	case 23: return ATH_T_INTEGER;
	case 25: return ATH_T_TEXT;
	case 114: case 3802: return ATH_T_JSON;
	case 700: return ATH_T_FLOAT;
	case 701: return ATH_T_DOUBLE;
	case 1042: case 1043: return ATH_T_STRING;
	case 1082: return ATH_T_DATE;
	case 1083: return ATH_T_TIME;
	case 1114: return ATH_T_DATETIME;
	case 1184: *timezone = 1; return ATH_T_DATETIME;
	case 1186: return ATH_T_INTERVAL;
	case 1266: *timezone = 1; return ATH_T_TIME;
	case 1700: return ATH_T_NUMERIC;
	case 2950: return ATH_T_UUID;
	default: return -1;
	}
}

static int pg_exec_simple(void *native, const char *sql, ath_err *err) { return run_simple(native, sql, err); }

static int pg_in_transaction(void *native)
{
	pg_conn *c = native;
	drain(c);
	PGTransactionStatusType t = PQtransactionStatus(c->pg);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* pg_index: the key's columns in key order; a single integer column with a default taken from a
 * sequence (SERIAL) or an identity column is read back with currval(). */
static int pg_primary_key(void *native, const char *schema, const char *table, void (*each)(const char *, void *),
			  void *payload, int *rowid_alias, ath_err *err)
{
	pg_conn *c = native;
	drain(c);
	/* the name as the compiler wrote it: each part quoted, resolved by ::regclass */
	ath_strbuf q = ATH_STRBUF_INIT;
	char *qt = PQescapeIdentifier(c->pg, table, strlen(table));
	char *qs = schema ? PQescapeIdentifier(c->pg, schema, strlen(schema)) : NULL;
	ath_strbuf__printf(&q, "%s%s%s", qs ? qs : "", qs ? "." : "", qt ? qt : "");
	PQfreemem(qt);
	PQfreemem(qs);
	const char *name = ath_strbuf__cstr(&q);
	if (!name) {
		ath_strbuf__free(&q);
		return ath_err__oom(err);
	}
	const char *vals[1] = { name };
	PGresult *r = PQexecParams(c->pg,
				   "SELECT a.attname, (a.attidentity <> '' OR pg_get_serial_sequence($1, a.attname) IS NOT "
				   "NULL) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = "
				   "ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary "
				   "ORDER BY array_position(i.indkey::int2[], a.attnum)",
				   1, NULL, vals, NULL, NULL, 0);
	ath_strbuf__free(&q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int rc = ath_pg__error(err, c->pg, r);
		PQclear(r);
		return rc;
	}
	int n = PQntuples(r);
	for (int i = 0; i < n; i++)
		each(PQgetvalue(r, i, 0), payload);
	*rowid_alias = n == 1 && PQgetvalue(r, 0, 1)[0] == 't';
	PQclear(r);
	return 0;
}

static int pg_autoincrement_value(void *native, const char *schema, const char *table, const char *col, int64_t *out,
				  ath_err *err)
{
	pg_conn *c = native;
	drain(c);
	char *qt = PQescapeIdentifier(c->pg, table, strlen(table));
	char *qs = schema ? PQescapeIdentifier(c->pg, schema, strlen(schema)) : NULL;
	ath_strbuf q = ATH_STRBUF_INIT;
	ath_strbuf__printf(&q, "%s%s%s", qs ? qs : "", qs ? "." : "", qt ? qt : "");
	PQfreemem(qt);
	PQfreemem(qs);
	const char *vals[2] = { ath_strbuf__cstr(&q), col };
	if (!vals[0]) {
		ath_strbuf__free(&q);
		return ath_err__oom(err);
	}
	PGresult *r = PQexecParams(c->pg, "SELECT currval(pg_get_serial_sequence($1, $2))", 2, NULL, vals, NULL, NULL, 0);
	ath_strbuf__free(&q);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int rc = ath_pg__error(err, c->pg, r);
		PQclear(r);
		return rc;
	}
	*out = PQntuples(r) && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

static int pg_set_isolation(void *native, const char *level, ath_err *err)
{
	static const char *const levels[] = { "READ COMMITTED", "READ UNCOMMITTED", "REPEATABLE READ", "SERIALIZABLE" };
	for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
		if (strcasecmp(level, levels[i]) == 0) {
			char sql[96];
			snprintf(sql, sizeof sql, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL %s", levels[i]);
			return run_simple(native, sql, err);
		}
	}
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
			    "Invalid value '%.40s' for isolation_level. Valid isolation levels for postgresql are "
			    "AUTOCOMMIT, READ COMMITTED, READ UNCOMMITTED, REPEATABLE READ, SERIALIZABLE", level);
}

static int pg_ping(void *native, ath_err *err)
{
	pg_conn *c = native;
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK)
		return ath_pg__error(err, c->pg, NULL);
	return run_simple(c, ";", err); /* an empty query: one round trip, no parse */
}

/* ---- executemany in pipeline mode --------------------------------------------------------- */

/* Rows sent between two syncs: their results (a few dozen bytes each) fit in the socket buffers,
 * so a blocking send cannot deadlock against a server blocked on sending us results. */
#define PIPELINE_CHUNK 1000

/* Bind text of one row, as pg_execute builds it. */
static int row_params(ath_strbuf *b, const msgpack_object *const *values, uint32_t per, const char **vals, int *lens,
		      int *fmts, size_t *offs, ath_err *err)
{
	ath_strbuf__reset(b);
	for (uint32_t i = 0; i < per; i++) {
		size_t at = b->len;
		int bin, t = value_text(b, values[i], &bin);
		if (t == -2)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
					    "parameter %u: a string containing a NUL byte cannot be sent to postgresql", i);
		if (t < 0)
			return bad_value(err, i, values[i]);
		offs[i] = t == 1 ? (size_t)-1 : at;
		lens[i] = t == 1 ? 0 : (int)(b->len - at - 1); /* value_text ends every value with a NUL */
		fmts[i] = bin;
	}
	if (b->oom)
		return ath_err__oom(err);
	for (uint32_t i = 0; i < per; i++)
		vals[i] = offs[i] == (size_t)-1 ? NULL : b->ptr + offs[i];
	return 0;
}

/* Read one chunk's results: per query its result then NULL, then the sync. The first failure is
 * recorded; the queries after it come back PGRES_PIPELINE_ABORTED. */
static int pipeline_results(pg_conn *c, uint32_t first, uint32_t n, int64_t *total, uint32_t *failed_row, int rc,
			    ath_err *err)
{
	for (uint32_t i = 0; i < n; i++) {
		PGresult *r;
		while ((r = PQgetResult(c->pg))) {
			ExecStatusType st = PQresultStatus(r);
			if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
				int64_t t = cmd_tuples(r);
				if (t > 0)
					*total += t;
			} else if (st != PGRES_PIPELINE_ABORTED && !rc) {
				rc = ath_pg__error(err, c->pg, r);
				*failed_row = first + i;
			}
			PQclear(r);
		}
	}
	PGresult *r = PQgetResult(c->pg); /* PGRES_PIPELINE_SYNC */
	if (!r && !rc) {
		rc = ath_pg__error(err, c->pg, NULL);
		*failed_row = first;
	}
	PQclear(r);
	return rc;
}

/* executemany without RETURNING: every row is sent with PQsendQueryPrepared in pipeline mode and
 * a sync follows each PIPELINE_CHUNK rows, so 10,000 rows cost ten round trips instead of 10,000
 * (libpq 14+; what psycopg 3's executemany does). The caller only pipelines inside a transaction:
 * in autocommit the rows between two syncs would commit or fail together. */
static int pg_execute_batch(void *native, void *stmt, const msgpack_object *const *values, uint32_t per,
			    uint32_t nrows, ath_exec_info *info, uint32_t *failed_row, ath_err *err)
{
	pg_conn *c = native;
	pg_stmt *s = stmt;
	*failed_row = 0;
	drain(c);
	clear_rows(s);
	s->active = 0;
	/* one prepared statement for all rows: a column's type is its first non-NULL value's */
	Oid *types = ath__calloc(per ? per : 1, sizeof *types);
	if (!types)
		return ath_err__oom(err);
	for (uint32_t r = 0; r < nrows; r++)
		for (uint32_t i = 0; i < per; i++) {
			Oid t = value_type(values[(size_t)r * per + i]);
			if (t && !types[i])
				types[i] = t;
			else if (t && types[i] != t) { /* 1 then 1.5: let execute() re-prepare per row */
				ath__free(types);
				return 1;
			}
		}
	int rc = ensure_prepared(s, types, per, err);
	ath__free(types);
	if (rc)
		return rc;
	const char **vals = ath__calloc(per ? per : 1, sizeof *vals);
	int *lens = ath__calloc(per ? per : 1, sizeof *lens), *fmts = ath__calloc(per ? per : 1, sizeof *fmts);
	size_t *offs = ath__calloc(per ? per : 1, sizeof *offs);
	ath_strbuf b = ATH_STRBUF_INIT;
	if (!vals || !lens || !fmts || !offs) {
		rc = ath_err__oom(err);
		goto out;
	}
	if (!PQenterPipelineMode(c->pg)) {
		rc = ath_pg__error(err, c->pg, NULL);
		goto out;
	}
	int64_t total = 0;
	for (uint32_t first = 0; first < nrows && !rc; first += PIPELINE_CHUNK) {
		uint32_t n = nrows - first < PIPELINE_CHUNK ? nrows - first : PIPELINE_CHUNK, sent = 0;
		for (; sent < n; sent++) {
			uint32_t row = first + sent;
			if ((rc = row_params(&b, values + (size_t)row * per, per, vals, lens, fmts, offs, err))) {
				*failed_row = row;
				break;
			}
			if (!PQsendQueryPrepared(c->pg, s->name, (int)per, vals, lens, fmts, 0)) {
				rc = ath_pg__error(err, c->pg, NULL);
				*failed_row = row;
				break;
			}
		}
		if (!PQpipelineSync(c->pg) && !rc) {
			rc = ath_pg__error(err, c->pg, NULL);
			*failed_row = first;
		}
		if (PQstatus(c->pg) == CONNECTION_OK)
			rc = pipeline_results(c, first, sent, &total, failed_row, rc, err);
	}
	if (!PQexitPipelineMode(c->pg) && !rc)
		rc = ath_pg__error(err, c->pg, NULL);
	info->has_rows = 0;
	info->rowcount = total;
	info->lastrowid = 0;
out:
	ath_strbuf__free(&b);
	ath__free(vals);
	ath__free(lens);
	ath__free(fmts);
	ath__free(offs);
	return rc;
}

/* ---- two-phase commit --------------------------------------------------------------------- */

/* SQLAlchemy's PGDialect: BEGIN, PREPARE TRANSACTION 'xid', COMMIT/ROLLBACK PREPARED 'xid' (which
 * run outside a transaction block: after PREPARE TRANSACTION the session is idle), and
 * pg_prepared_xacts, here only this database's (another database's cannot be finished from here). */
static int pg_begin_twophase(void *native, const char *xid, ath_err *err)
{
	(void)xid;
	return run_simple(native, "BEGIN", err);
}

static int pg_prepare_twophase(void *native, const char *xid, ath_err *err)
{
	char sql[128];
	snprintf(sql, sizeof sql, "PREPARE TRANSACTION '%s'", xid);
	return run_simple(native, sql, err);
}

static int pg_end_twophase(void *native, const char *xid, int commit, int prepared, ath_err *err)
{
	if (!prepared)
		return run_simple(native, commit ? "COMMIT" : "ROLLBACK", err);
	char sql[128];
	snprintf(sql, sizeof sql, "%s PREPARED '%s'", commit ? "COMMIT" : "ROLLBACK", xid);
	return run_simple(native, sql, err);
}

static int pg_recover_twophase(void *native, void (*each)(const char *, void *), void *payload, ath_err *err)
{
	pg_conn *c = native;
	drain(c);
	PGresult *r = PQexec(c->pg, "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() "
				    "ORDER BY prepared");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int rc = ath_pg__error(err, c->pg, r);
		PQclear(r);
		return rc;
	}
	for (int i = 0; i < PQntuples(r); i++)
		each(PQgetvalue(r, i, 0), payload);
	PQclear(r);
	return 0;
}

const ath_driver_ops ath_postgresql_driver = {
	.version = 4,
	.check_url = check_url,
	.is_memory = is_memory,
	.connect = pg_connect,
	.close = pg_close,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.execute = pg_execute,
	.fetch = pg_fetch,
	.reset = pg_reset,
	.column_count = pg_column_count,
	.column_name = pg_column_name,
	.column_type = pg_column_type,
	.exec_simple = pg_exec_simple,
	.in_transaction = pg_in_transaction,
	.primary_key = pg_primary_key,
	.default_isolation = "READ COMMITTED",
	.set_isolation = pg_set_isolation,
	.ping = pg_ping,
	.autoincrement_value = pg_autoincrement_value,
	.max_params = 65535, /* the protocol's Int16 parameter count */
	.insertmany_plain = 0, /* pipelined instead: one prepared statement, no new SQL per batch size */
	.execute_batch = pg_execute_batch,
	.begin_twophase = pg_begin_twophase,
	.prepare_twophase = pg_prepare_twophase,
	.end_twophase = pg_end_twophase,
	.recover_twophase = pg_recover_twophase,
};
