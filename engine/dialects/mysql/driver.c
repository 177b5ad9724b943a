/* mysql/driver.c — the MySQL/MariaDB driver over MariaDB Connector/C: connect from the URL
 * (charset, connect_timeout, unix_socket, ssl_*), reconnect off, CLIENT_FOUND_ROWS (UPDATE counts
 * matched rows, as SQLAlchemy asks of every MySQL DBAPI), server-side prepared statements
 * (mysql_stmt_*), binary-protocol results into msgpack (buffered, or unbuffered when streaming),
 * transactions by server status, isolation levels, the information_schema lookup behind
 * inserted_primary_key (AUTO_INCREMENT keys come from lastrowid). Mirrors
 * sqlalchemy/dialects/mysql/mysqldb.py + pymysql.py. SQL text is the compiler's. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <mysql.h>
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
#include "util/strbuf.h"

typedef struct my_stmt my_stmt;

typedef struct my_conn {
	MYSQL *my;
	int refs;           /* the connection + each statement: finalize may come after close */
	int stream;
	my_stmt *streaming; /* unbuffered rows still on the wire */
} my_conn;

typedef struct my_col {
	enum enum_field_types type;
	int is_unsigned, binary;
	char *name;
	long long i;
	double d;
	char small[64];
	char *buf;
	unsigned long cap, len;
	my_bool is_null, error;
} my_col;

struct my_stmt {
	my_conn *c;
	MYSQL_STMT *st;
	unsigned int nparams, ncols;
	my_col *cols;
	MYSQL_BIND *rbind;
	int active;
	int row_ready;
	int rebind;         /* buffers grew: bind them before the next fetch, not before this row is read */
};

static int stmt_error(ath_err *err, MYSQL_STMT *st)
{
	return ath_mysql__error(err, mysql_stmt_errno(st), mysql_stmt_sqlstate(st), mysql_stmt_error(st));
}

static int conn_error(ath_err *err, MYSQL *my)
{
	return ath_mysql__error(err, mysql_errno(my), mysql_sqlstate(my), mysql_error(my));
}

/* ---- connecting --------------------------------------------------------------------------- */

static const char *const known_opts[] = { "charset", "connect_timeout", "read_timeout", "write_timeout",
					  "unix_socket", "ssl_ca", "ssl_cert", "ssl_key", "ssl_capath", "ssl_cipher",
					  "ssl_mode", "local_infile", "init_command", NULL };

static int check_url(const ath_url *url, ath_err *err)
{
	for (size_t i = 0; i < url->nquery; i++) {
		int ok = 0;
		for (int k = 0; known_opts[k]; k++)
			ok |= strcmp(url->query[i].key, known_opts[k]) == 0;
		if (!ok)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "unknown mysql URL option '%.40s' (known: charset, connect_timeout, "
					    "read_timeout, write_timeout, unix_socket, ssl_ca, ssl_cert, ssl_key, "
					    "ssl_capath, ssl_cipher, ssl_mode, local_infile, init_command)", url->query[i].key);
	}
	if (url->driver && strcmp(url->driver, "mysqldb") != 0 && strcmp(url->driver, "pymysql") != 0 &&
	    strcmp(url->driver, "mariadbconnector") != 0 && strcmp(url->driver, "libmysqlclient") != 0)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
				    "unknown driver '%.40s' for mysql (athanor uses MariaDB Connector/C)", url->driver);
	return 0;
}

static int is_memory(const ath_url *url)
{
	(void)url;
	return 0;
}

static int my_connect(void **out, const ath_connect_cfg *cfg, ath_err *err)
{
	const ath_url *u = cfg->url;
	my_conn *c = ath__calloc(1, sizeof *c);
	if (!c)
		return ath_err__oom(err);
	if (!(c->my = mysql_init(NULL))) {
		ath__free(c);
		return ath_err__oom(err);
	}
	my_bool off = 0;
	mysql_optionsv(c->my, MYSQL_OPT_RECONNECT, &off);
	const char *charset = "utf8mb4", *sock = NULL;
	for (size_t i = 0; i < u->nquery; i++) {
		const char *k = u->query[i].key, *v = u->query[i].value;
		unsigned int secs = (unsigned int)strtoul(v, NULL, 10);
		if (strcmp(k, "charset") == 0)
			charset = v;
		else if (strcmp(k, "connect_timeout") == 0)
			mysql_optionsv(c->my, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
		else if (strcmp(k, "read_timeout") == 0)
			mysql_optionsv(c->my, MYSQL_OPT_READ_TIMEOUT, &secs);
		else if (strcmp(k, "write_timeout") == 0)
			mysql_optionsv(c->my, MYSQL_OPT_WRITE_TIMEOUT, &secs);
		else if (strcmp(k, "unix_socket") == 0)
			sock = v;
		else if (strcmp(k, "ssl_ca") == 0)
			mysql_optionsv(c->my, MYSQL_OPT_SSL_CA, v);
		else if (strcmp(k, "ssl_cert") == 0)
			mysql_optionsv(c->my, MYSQL_OPT_SSL_CERT, v);
		else if (strcmp(k, "ssl_key") == 0)
			mysql_optionsv(c->my, MYSQL_OPT_SSL_KEY, v);
		else if (strcmp(k, "ssl_capath") == 0)
			mysql_optionsv(c->my, MYSQL_OPT_SSL_CAPATH, v);
		else if (strcmp(k, "ssl_cipher") == 0)
			mysql_optionsv(c->my, MYSQL_OPT_SSL_CIPHER, v);
		else if (strcmp(k, "ssl_mode") == 0) {
			my_bool enforce = strcasecmp(v, "REQUIRED") == 0 || strncasecmp(v, "VERIFY", 6) == 0;
			my_bool verify = strncasecmp(v, "VERIFY", 6) == 0;
			mysql_optionsv(c->my, MYSQL_OPT_SSL_ENFORCE, &enforce);
			mysql_optionsv(c->my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
		} else if (strcmp(k, "local_infile") == 0) {
			unsigned int on = strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
			mysql_optionsv(c->my, MYSQL_OPT_LOCAL_INFILE, &on);
		} else if (strcmp(k, "init_command") == 0)
			mysql_optionsv(c->my, MYSQL_INIT_COMMAND, v);
	}
	mysql_optionsv(c->my, MYSQL_SET_CHARSET_NAME, charset);
	if (!mysql_real_connect(c->my, u->host, u->username, u->password ? u->password : "",
				u->database && *u->database ? u->database : NULL, u->port >= 0 ? (unsigned)u->port : 0, sock,
				CLIENT_FOUND_ROWS | CLIENT_MULTI_RESULTS)) {
		conn_error(err, c->my);
		err->flags &= ~ATH_ERROR_DISCONNECT; /* never connected: nothing to invalidate */
		mysql_close(c->my);
		ath__free(c);
		return ATH_ERROR;
	}
	c->stream = cfg->stream_results;
	c->refs = 1;
	*out = c;
	return 0;
}

static void my_close(void *native)
{
	my_conn *c = native;
	if (!c)
		return;
	mysql_close(c->my); /* Connector/C detaches the connection's statements: closing them later is safe */
	c->my = NULL;
	c->streaming = NULL;
	if (--c->refs == 0)
		ath__free(c);
}

/* A command is about to use the connection: an unbuffered result that has not been read yet is
 * stored client-side; one being read is an error (MySQL's "Commands out of sync"). */
static int claim(my_conn *c, my_stmt *self, ath_err *err)
{
	my_stmt *s = c->streaming;
	if (!s || s == self)
		return 0;
	if (s->row_ready || mysql_stmt_store_result(s->st) != 0)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERFACE_ERROR,
				    "another result is still streaming rows on this connection; read it to the end or "
				    "close it first (MySQL's \"Commands out of sync\")");
	c->streaming = NULL;
	return 0;
}

/* ---- statements --------------------------------------------------------------------------- */

static void free_cols(my_stmt *s)
{
	for (unsigned i = 0; i < s->ncols; i++) {
		ath__free(s->cols[i].name);
		if (s->cols[i].buf != s->cols[i].small)
			ath__free(s->cols[i].buf);
	}
	ath__free(s->cols);
	ath__free(s->rbind);
	s->cols = NULL;
	s->rbind = NULL;
	s->ncols = 0;
}

/* Result buffers: integers and floats natively, everything else as bytes (text or binary). */
static int setup_cols(my_stmt *s, ath_err *err)
{
	free_cols(s);
	MYSQL_RES *meta = mysql_stmt_result_metadata(s->st);
	if (!meta)
		return 0;
	unsigned n = mysql_num_fields(meta);
	MYSQL_FIELD *f = mysql_fetch_fields(meta);
	s->cols = ath__calloc(n ? n : 1, sizeof *s->cols);
	s->rbind = ath__calloc(n ? n : 1, sizeof *s->rbind);
	if (!s->cols || !s->rbind) {
		mysql_free_result(meta);
		ath__free(s->cols);
		ath__free(s->rbind);
		s->cols = NULL;
		s->rbind = NULL;
		return ath_err__oom(err);
	}
	s->ncols = n;
	int oom = 0;
	for (unsigned i = 0; i < n; i++) {
		my_col *col = &s->cols[i];
		MYSQL_BIND *b = &s->rbind[i];
		col->type = f[i].type;
		col->is_unsigned = (f[i].flags & UNSIGNED_FLAG) != 0;
		col->binary = f[i].charsetnr == 63;
		oom |= !(col->name = ath__strdup(f[i].name ? f[i].name : ""));
		b->is_null = &col->is_null;
		b->error = &col->error;
		switch (f[i].type) {
		case MYSQL_TYPE_TINY:
		case MYSQL_TYPE_SHORT:
		case MYSQL_TYPE_INT24:
		case MYSQL_TYPE_LONG:
		case MYSQL_TYPE_LONGLONG:
		case MYSQL_TYPE_YEAR:
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &col->i;
			b->is_unsigned = col->is_unsigned;
			break;
		case MYSQL_TYPE_FLOAT:
		case MYSQL_TYPE_DOUBLE:
			b->buffer_type = MYSQL_TYPE_DOUBLE;
			b->buffer = &col->d;
			break;
		default:
			col->buf = col->small;
			col->cap = sizeof col->small;
			b->buffer_type = col->binary ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
			b->buffer = col->buf;
			b->buffer_length = col->cap;
			b->length = &col->len;
		}
	}
	mysql_free_result(meta);
	if (oom)
		return ath_err__oom(err);
	if (mysql_stmt_bind_result(s->st, s->rbind))
		return stmt_error(err, s->st);
	return 0;
}

static int my_prepare(void **out, void *native, const char *sql, size_t len, ath_err *err)
{
	my_conn *c = native;
	int rc = claim(c, NULL, err);
	if (rc)
		return rc;
	my_stmt *s = ath__calloc(1, sizeof *s);
	if (!s)
		return ath_err__oom(err);
	s->c = c;
	c->refs++;
	if (!(s->st = mysql_stmt_init(c->my))) {
		c->refs--;
		ath__free(s);
		return ath_err__oom(err);
	}
	if (mysql_stmt_prepare(s->st, sql, (unsigned long)len)) {
		rc = stmt_error(err, s->st);
		if (!mysql_stmt_errno(s->st))
			rc = conn_error(err, c->my);
		mysql_stmt_close(s->st);
		c->refs--;
		ath__free(s);
		return rc;
	}
	s->nparams = mysql_stmt_param_count(s->st);
	if ((rc = setup_cols(s, err))) {
		mysql_stmt_close(s->st);
		free_cols(s); /* what setup_cols allocated before failing */
		c->refs--;
		ath__free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void my_reset(void *stmt)
{
	my_stmt *s = stmt;
	if (s->active)
		mysql_stmt_free_result(s->st); /* discards unread rows, buffered or not */
	if (s->c->streaming == s)
		s->c->streaming = NULL;
	s->active = 0;
	s->row_ready = 0;
}

static void my_finalize(void *stmt)
{
	my_stmt *s = stmt;
	if (!s)
		return;
	my_conn *c = s->c;
	if (c->streaming == s)
		c->streaming = NULL;
	mysql_stmt_close(s->st);
	free_cols(s);
	ath__free(s);
	if (--c->refs == 0)
		ath__free(c);
}

/* ---- parameters --------------------------------------------------------------------------- */

/* "YYYY-MM-DD HH:MM:SS.ffffff" into b; -1 when out of range */
static int utc_text(ath_strbuf *b, int len, const char *buf)
{
	if (len < 0)
		return -1;
	ath_strbuf__put(b, buf, (size_t)len);
	return 0;
}

/* Ext values become text the server converts (as SQLAlchemy's MySQL types store them). */
static int ext_text(ath_strbuf *b, const msgpack_object *v)
{
	const char *p = v->via.ext.ptr;
	uint32_t n = v->via.ext.size;
	switch (v->via.ext.type) {
	case 2:
	case 3:
	case 4: ath_strbuf__put(b, p, n); return 0;
	case 5:
		ath_strbuf__put(b, p, n);
		if (n > 10 && b->ptr && b->ptr[b->len - n + 10] == 'T')
			b->ptr[b->len - n + 10] = ' ';
		return 0;
	case -1: {
		int64_t secs;
		uint32_t nsec;
		char buf[64];
		if (ath_wire__ext_timestamp(p, n, &secs, &nsec) < 0)
			return -1;
		return utc_text(b, ath_wire__format_utc(buf, sizeof buf, secs, nsec / 1000), buf);
	}
	case 6: {
		int64_t us;
		char buf[64];
		if (ath_wire__ext_interval(p, n, &us) < 0)
			return -1;
		return utc_text(b, ath_wire__format_epoch_plus(buf, sizeof buf, us), buf);
	}
	case 7:
		if (n != 16)
			return -1;
		for (int k = 0; k < 16; k++)
			ath_strbuf__printf(b, "%02x", (unsigned char)p[k]);
		return 0;
	default: return -2;
	}
}

static int my_execute(void *native, void *stmt, const msgpack_object *const *values, uint32_t n, ath_exec_info *info,
		      ath_err *err)
{
	my_conn *c = native;
	my_stmt *s = stmt;
	int rc = claim(c, s, err);
	if (rc)
		return rc;
	my_reset(s);
	if (n != s->nparams)
		return ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_PROGRAMMING_ERROR,
				    "Incorrect number of bindings supplied. The current statement uses %u, and there "
				    "are %u supplied.", s->nparams, n);
	MYSQL_BIND *pb = ath__calloc(n ? n : 1, sizeof *pb);
	size_t *offs = ath__calloc(n ? n : 1, sizeof *offs);
	long long *ints = ath__calloc(n ? n : 1, sizeof *ints);
	double *dbls = ath__calloc(n ? n : 1, sizeof *dbls);
	ath_strbuf b = ATH_STRBUF_INIT;
	if (!pb || !offs || !ints || !dbls) {
		rc = ath_err__oom(err);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *v = values[i];
		offs[i] = (size_t)-1;
		switch (v->type) {
		case MSGPACK_OBJECT_NIL: pb[i].buffer_type = MYSQL_TYPE_NULL; break;
		case MSGPACK_OBJECT_BOOLEAN:
			ints[i] = v->via.boolean;
			pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
			pb[i].buffer = &ints[i];
			break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			ints[i] = (long long)v->via.u64;
			pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
			pb[i].buffer = &ints[i];
			pb[i].is_unsigned = v->via.u64 > INT64_MAX;
			break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
			ints[i] = v->via.i64;
			pb[i].buffer_type = MYSQL_TYPE_LONGLONG;
			pb[i].buffer = &ints[i];
			break;
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			dbls[i] = v->via.f64;
			pb[i].buffer_type = MYSQL_TYPE_DOUBLE;
			pb[i].buffer = &dbls[i];
			break;
		case MSGPACK_OBJECT_STR:
			offs[i] = b.len;
			ath_strbuf__put(&b, v->via.str.ptr, v->via.str.size);
			pb[i].buffer_type = MYSQL_TYPE_STRING;
			pb[i].buffer_length = v->via.str.size;
			break;
		case MSGPACK_OBJECT_BIN:
			offs[i] = b.len;
			ath_strbuf__put(&b, v->via.bin.ptr, v->via.bin.size);
			pb[i].buffer_type = MYSQL_TYPE_BLOB;
			pb[i].buffer_length = v->via.bin.size;
			break;
		case MSGPACK_OBJECT_EXT: {
			size_t at = b.len;
			int t = ext_text(&b, v);
			if (t == -2) {
				rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
						  "parameter %u: msgpack ext type %d cannot be bound on mysql", i, v->via.ext.type);
				goto out;
			}
			if (t < 0) {
				rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
						  "parameter %u: malformed value of msgpack ext type %d", i, v->via.ext.type);
				goto out;
			}
			offs[i] = at;
			pb[i].buffer_type = v->via.ext.type == 2 ? MYSQL_TYPE_NEWDECIMAL : MYSQL_TYPE_STRING;
			pb[i].buffer_length = b.len - at;
			break;
		}
		case MSGPACK_OBJECT_ARRAY:
			rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
					  "parameter %u: a list cannot be bound as one value (for IN lists use "
					  "[\"expanding\", %u] in the statement)", i, i);
			goto out;
		default:
			rc = ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
					  "parameter %u: a map cannot be bound as one value", i);
			goto out;
		}
	}
	if (b.oom) {
		rc = ath_err__oom(err);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		if (offs[i] != (size_t)-1)
			pb[i].buffer = b.ptr ? b.ptr + offs[i] : (void *)"";
	if (n && mysql_stmt_bind_param(s->st, pb)) {
		rc = stmt_error(err, s->st);
		goto out;
	}
	if (mysql_stmt_execute(s->st)) {
		rc = stmt_error(err, s->st);
		goto out;
	}
	unsigned fields = mysql_stmt_field_count(s->st);
	info->has_rows = fields > 0;
	info->lastrowid = (int64_t)mysql_stmt_insert_id(s->st);
	if (fields) {
		/* the metadata of an execution can differ from the prepare's (SELECT ? learns its type) */
		if ((rc = setup_cols(s, err))) {
			mysql_stmt_free_result(s->st); /* the rows are on their way: unread, the next command is out of sync */
			goto out;
		}
		s->active = 1;
		if (c->stream) {
			c->streaming = s;
		} else if (mysql_stmt_store_result(s->st)) {
			rc = stmt_error(err, s->st);
			s->active = 0;
			goto out;
		}
		info->rowcount = -1;
	} else {
		my_ulonglong a = mysql_stmt_affected_rows(s->st);
		info->rowcount = a == (my_ulonglong)-1 ? -1 : (int64_t)a;
	}
out:
	ath_strbuf__free(&b);
	ath__free(pb);
	ath__free(offs);
	ath__free(ints);
	ath__free(dbls);
	return rc;
}

/* ---- results ------------------------------------------------------------------------------ */

static int pack_bytes(msgpack_packer *pk, int8_t ext, int bin, const char *s, size_t n)
{
	if (ext) {
		if (msgpack_pack_ext(pk, n, ext) < 0)
			return -1;
		return msgpack_pack_ext_body(pk, s, n);
	}
	if (bin)
		return msgpack_pack_bin(pk, n) < 0 ? -1 : msgpack_pack_bin_body(pk, s, n);
	return msgpack_pack_str(pk, n) < 0 ? -1 : msgpack_pack_str_body(pk, s, n);
}

static int pack_col(msgpack_packer *pk, my_col *col)
{
	if (col->is_null)
		return msgpack_pack_nil(pk);
	switch (col->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR:
		return col->is_unsigned ? msgpack_pack_uint64(pk, (uint64_t)col->i) : msgpack_pack_int64(pk, col->i);
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE: return msgpack_pack_double(pk, col->d);
	case MYSQL_TYPE_DECIMAL:
	case MYSQL_TYPE_NEWDECIMAL: return pack_bytes(pk, 2, 0, col->buf, col->len);
	case MYSQL_TYPE_DATE:
	case MYSQL_TYPE_NEWDATE:
		if (col->len == 10 && strncmp(col->buf, "0000", 4) != 0)
			return pack_bytes(pk, 3, 0, col->buf, col->len);
		break;
	case MYSQL_TYPE_TIME:
		if (col->len >= 8 && col->len <= 15 && col->buf[0] != '-' && col->buf[2] == ':')
			return pack_bytes(pk, 4, 0, col->buf, col->len);
		break;
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP:
		if (col->len >= 19 && col->len < 40 && strncmp(col->buf, "0000", 4) != 0) {
			char tmp[40];
			memcpy(tmp, col->buf, col->len);
			tmp[10] = 'T';
			return pack_bytes(pk, 5, 0, tmp, col->len);
		}
		break;
	default: break;
	}
	return pack_bytes(pk, 0, col->binary, col->buf, col->len);
}

/* A value longer than its buffer: grow the buffer and read the column again. */
static int refetch_truncated(my_stmt *s, ath_err *err)
{
	for (unsigned i = 0; i < s->ncols; i++) {
		my_col *col = &s->cols[i];
		if (!col->error || !col->buf)
			continue;
		unsigned long cap = col->len + 1;
		char *nb = col->buf == col->small ? ath__malloc(cap) : ath__realloc(col->buf, cap);
		if (!nb)
			return ath_err__oom(err);
		col->buf = nb;
		col->cap = cap;
		s->rbind[i].buffer = nb;
		s->rbind[i].buffer_length = cap;
		if (mysql_stmt_fetch_column(s->st, &s->rbind[i], i, 0))
			return stmt_error(err, s->st);
		col->error = 0;
		s->rebind = 1;
	}
	/* The grown buffers are bound before the next fetch: binding now may reset the lengths of the
	 * row just read (Connector/C 10.11.18 does; 10.11.19 does not), which would empty its values. */
	return 0;
}

static int my_fetch(void *native, void *stmt, ath_buf *out, size_t max, size_t *nrows, int *done, ath_err *err)
{
	msgpack_packer packer, *pk = &packer;
	msgpack_packer_init(pk, out, ath_wire__buf_write);
	my_stmt *s = stmt;
	(void)native;
	*nrows = 0;
	*done = 0;
	while (*nrows < max && s->active) {
		if (s->rebind) {
			if (mysql_stmt_bind_result(s->st, s->rbind)) {
				int rc = stmt_error(err, s->st);
				my_reset(s);
				return rc;
			}
			s->rebind = 0;
		}
		int r = mysql_stmt_fetch(s->st);
		if (r == MYSQL_NO_DATA) {
			s->active = 0;
			break;
		}
		if (r == 1) {
			int rc = stmt_error(err, s->st);
			my_reset(s);
			return rc;
		}
		s->row_ready = 1;
		if (r == MYSQL_DATA_TRUNCATED) {
			int rc = refetch_truncated(s, err);
			if (rc) {
				my_reset(s);
				return rc;
			}
		}
		if (msgpack_pack_array(pk, s->ncols) < 0)
			return ath_err__oom(err);
		for (unsigned i = 0; i < s->ncols; i++)
			if (pack_col(pk, &s->cols[i]) < 0)
				return ath_err__oom(err);
		(*nrows)++;
	}
	if (!s->active) {
		*done = 1;
		my_reset(s);
	}
	return 0;
}

static size_t my_column_count(void *stmt) { return ((my_stmt *)stmt)->ncols; }

static const char *my_column_name(void *stmt, size_t i)
{
	my_stmt *s = stmt;
	return i < s->ncols ? s->cols[i].name : NULL;
}

/* MySQL field types to the generic types (SQLAlchemy's MySQL ischema_names); the binary character
 * set (63) makes a string or BLOB column bytes. */
static int my_column_type(void *stmt, size_t i, int *timezone)
{
	my_stmt *s = stmt;
	*timezone = 0;
	if (i >= s->ncols)
		return -1;
	const my_col *c = &s->cols[i];
	switch (c->type) {
	case MYSQL_TYPE_TINY: case MYSQL_TYPE_SHORT: return ATH_T_SMALLINT;
	case MYSQL_TYPE_INT24: case MYSQL_TYPE_LONG: return ATH_T_INTEGER;
	case MYSQL_TYPE_LONGLONG: return ATH_T_BIGINT;
	case MYSQL_TYPE_FLOAT: return ATH_T_FLOAT;
	case MYSQL_TYPE_DOUBLE: return ATH_T_DOUBLE;
	case MYSQL_TYPE_DECIMAL: case MYSQL_TYPE_NEWDECIMAL: return ATH_T_NUMERIC;
	case MYSQL_TYPE_DATE: return ATH_T_DATE;
	case MYSQL_TYPE_DATETIME: case MYSQL_TYPE_TIMESTAMP: return ATH_T_DATETIME;
	case MYSQL_TYPE_TIME: return ATH_T_TIME;
	case MYSQL_TYPE_JSON: return ATH_T_JSON;
	case MYSQL_TYPE_VARCHAR: case MYSQL_TYPE_VAR_STRING: case MYSQL_TYPE_STRING:
		return c->binary ? ATH_T_LARGEBINARY : ATH_T_STRING;
	case MYSQL_TYPE_TINY_BLOB: case MYSQL_TYPE_MEDIUM_BLOB: case MYSQL_TYPE_LONG_BLOB: case MYSQL_TYPE_BLOB:
		return c->binary ? ATH_T_LARGEBINARY : ATH_T_TEXT;
	default: return -1;
	}
}

static int my_exec_simple(void *native, const char *sql, ath_err *err)
{
	my_conn *c = native;
	int rc = claim(c, NULL, err);
	if (rc)
		return rc;
	if (mysql_real_query(c->my, sql, (unsigned long)strlen(sql)))
		return conn_error(err, c->my);
	do {
		MYSQL_RES *res = mysql_store_result(c->my);
		if (res)
			mysql_free_result(res);
	} while (mysql_next_result(c->my) == 0);
	if (mysql_errno(c->my))
		return conn_error(err, c->my);
	return 0;
}

static int my_in_transaction(void *native)
{
	my_conn *c = native;
	unsigned int status = 0;
	if (mariadb_get_infov(c->my, MARIADB_CONNECTION_SERVER_STATUS, &status))
		return 0;
	return (status & SERVER_STATUS_IN_TRANS) != 0;
}

static int my_primary_key(void *native, const char *schema, const char *table, void (*each)(const char *, void *),
			  void *payload, int *rowid_alias, ath_err *err)
{
	my_conn *c = native;
	int rc = claim(c, NULL, err);
	if (rc)
		return rc;
	size_t tl = strlen(table), sl = schema ? strlen(schema) : 0;
	char *et = ath__malloc(2 * tl + 1), *es = ath__malloc(2 * sl + 1);
	ath_strbuf q = ATH_STRBUF_INIT;
	if (et && es) {
		mysql_real_escape_string(c->my, et, table, (unsigned long)tl);
		if (schema)
			mysql_real_escape_string(c->my, es, schema, (unsigned long)sl);
		ath_strbuf__printf(&q,
				   "SELECT k.COLUMN_NAME, c.EXTRA FROM information_schema.KEY_COLUMN_USAGE k "
				   "JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND "
				   "c.TABLE_NAME = k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME "
				   "WHERE k.CONSTRAINT_NAME = 'PRIMARY' AND k.TABLE_NAME = '%s' AND k.TABLE_SCHEMA = %s%s%s "
				   "ORDER BY k.ORDINAL_POSITION",
				   et, schema ? "'" : "", schema ? es : "DATABASE()", schema ? "'" : "");
	}
	const char *sql = et && es ? ath_strbuf__cstr(&q) : NULL; /* else q is empty: "" would be sent */
	ath__free(et);
	ath__free(es);
	if (!sql) {
		ath_strbuf__free(&q);
		return ath_err__oom(err);
	}
	if (mysql_real_query(c->my, sql, (unsigned long)q.len)) {
		ath_strbuf__free(&q);
		return conn_error(err, c->my);
	}
	ath_strbuf__free(&q);
	MYSQL_RES *res = mysql_store_result(c->my);
	if (!res)
		return conn_error(err, c->my);
	MYSQL_ROW row;
	int n = 0, autoinc = 0;
	while ((row = mysql_fetch_row(res))) {
		each(row[0], payload);
		autoinc = row[1] && strstr(row[1], "auto_increment") != NULL;
		n++;
	}
	mysql_free_result(res);
	*rowid_alias = n == 1 && autoinc;
	return 0;
}

static int my_set_isolation(void *native, const char *level, ath_err *err)
{
	static const char *const levels[] = { "READ COMMITTED", "READ UNCOMMITTED", "REPEATABLE READ", "SERIALIZABLE" };
	for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
		if (strcasecmp(level, levels[i]) == 0) {
			char sql[96];
			snprintf(sql, sizeof sql, "SET SESSION TRANSACTION ISOLATION LEVEL %s", levels[i]);
			return my_exec_simple(native, sql, err);
		}
	}
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
			    "Invalid value '%.40s' for isolation_level. Valid isolation levels for mysql are "
			    "AUTOCOMMIT, READ COMMITTED, READ UNCOMMITTED, REPEATABLE READ, SERIALIZABLE", level);
}

static int my_ping(void *native, ath_err *err)
{
	my_conn *c = native;
	int rc = claim(c, NULL, err);
	if (rc)
		return rc;
	return mysql_ping(c->my) ? conn_error(err, c->my) : 0;
}

/* ---- two-phase commit (XA) ------------------------------------------------------------------ */

/* SQLAlchemy's MySQLDialect: XA START / XA END + XA PREPARE / XA COMMIT / XA ROLLBACK, and
 * XA RECOVER, whose xid is data[0:gtrid_length]. An unprepared commit is XA COMMIT ... ONE PHASE
 * (SQLAlchemy prepares first; one phase is the same outcome in one fewer round trip). MariaDB 10.5+
 * keeps a prepared XA transaction when its session ends, so another connection can finish it. */
static int xa(void *native, const char *verb, const char *xid, const char *tail, ath_err *err)
{
	char sql[160];
	snprintf(sql, sizeof sql, "XA %s '%s'%s", verb, xid, tail);
	return my_exec_simple(native, sql, err);
}

static int my_begin_twophase(void *native, const char *xid, ath_err *err) { return xa(native, "START", xid, "", err); }

static int my_prepare_twophase(void *native, const char *xid, ath_err *err)
{
	int rc = xa(native, "END", xid, "", err);
	return rc ? rc : xa(native, "PREPARE", xid, "", err);
}

static int my_end_twophase(void *native, const char *xid, int commit, int prepared, ath_err *err)
{
	int rc = prepared ? 0 : xa(native, "END", xid, "", err);
	if (rc)
		return rc;
	if (commit)
		return xa(native, "COMMIT", xid, prepared ? "" : " ONE PHASE", err);
	return xa(native, "ROLLBACK", xid, "", err);
}

static int my_recover_twophase(void *native, void (*each)(const char *, void *), void *payload, ath_err *err)
{
	my_conn *c = native;
	int rc = claim(c, NULL, err);
	if (rc)
		return rc;
	if (mysql_real_query(c->my, "XA RECOVER", 10))
		return conn_error(err, c->my);
	MYSQL_RES *res = mysql_store_result(c->my);
	if (!res)
		return conn_error(err, c->my);
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		long glen = row[1] ? strtol(row[1], NULL, 10) : 0;
		char xid[160];
		if (!row[3] || glen < 0 || (unsigned long)glen > len[3] || (size_t)glen >= sizeof xid)
			continue;
		memcpy(xid, row[3], (size_t)glen);
		xid[glen] = '\0';
		each(xid, payload);
	}
	mysql_free_result(res);
	return 0;
}

const ath_driver_ops ath_mysql_driver = {
	.version = 4,
	.check_url = check_url,
	.is_memory = is_memory,
	.connect = my_connect,
	.close = my_close,
	.prepare = my_prepare,
	.finalize = my_finalize,
	.execute = my_execute,
	.fetch = my_fetch,
	.reset = my_reset,
	.column_count = my_column_count,
	.column_name = my_column_name,
	.column_type = my_column_type,
	.exec_simple = my_exec_simple,
	.in_transaction = my_in_transaction,
	.primary_key = my_primary_key,
	.default_isolation = "REPEATABLE READ",
	.set_isolation = my_set_isolation,
	.ping = my_ping,
	.autoincrement_value = NULL,
	.max_params = 65535, /* the binary protocol's 2-byte parameter count */
	.insertmany_plain = 1,
	.begin_twophase = my_begin_twophase,
	.prepare_twophase = my_prepare_twophase,
	.end_twophase = my_end_twophase,
	.recover_twophase = my_recover_twophase,
};
