/* create.c — create_all / drop_all on an engine and ath_compile_ddl: ddl.c's statements either
 * collected into a msgpack array or executed on a pooled connection in one transaction, with
 * checkfirst answered by the dialect's catalog queries (has_table, has_sequence, has_type).
 * Mirrors MetaData.create_all / drop_all (sql/schema.py) running SchemaGenerator / SchemaDropper
 * through Engine.begin(). Statement text is ddl.c's. */
#include "schema/create.h"

#include <string.h>

#include "conn/internal.h"
#include "dialects/ddl_dialect.h"
#include "schema/ddl.h"
#include "util/alloc.h"
#include "wire/mpbuf.h"

/* ---- ath_compile_ddl: collect ---------------------------------------------------------------- */

typedef struct collect {
	char **v;
	size_t *len;
	uint32_t n, cap;
} collect;

static int collect_emit(void *payload, const char *sql, size_t len, ath_err *err)
{
	collect *c = payload;
	if (c->n == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 16;
		char **v = ath__realloc(c->v, cap * sizeof *v);
		if (!v)
			return ath_err__oom(err);
		c->v = v;
		size_t *l = ath__realloc(c->len, cap * sizeof *l);
		if (!l)
			return ath_err__oom(err);
		c->len = l;
		c->cap = cap;
	}
	if (!(c->v[c->n] = ath__strndup(sql, len)))
		return ath_err__oom(err);
	c->len[c->n++] = len;
	return 0;
}

int ath_schema__compile(ath_buf *out, const ath_dialect *d, const ath_metadata *md, int drop, ath_err *err)
{
	collect c = { 0 };
	ath_ddl_sink s = { .emit = collect_emit, .payload = &c };
	int rc = drop ? ath_ddl__drop_all(md, d, &s, err) : ath_ddl__create_all(md, d, &s, err);
	if (!rc) {
		msgpack_packer pk;
		ath_wire__packer_init(&pk, out);
		int bad = msgpack_pack_array(&pk, c.n);
		for (uint32_t i = 0; i < c.n; i++)
			bad |= ath_wire__pack_strn(&pk, c.v[i], c.len[i]);
		if (bad)
			rc = ath_err__oom(err);
	}
	for (uint32_t i = 0; i < c.n; i++)
		ath__free(c.v[i]);
	ath__free(c.v);
	ath__free(c.len);
	return rc;
}

/* ---- create_all / drop_all on an engine ------------------------------------------------------ */

typedef struct run {
	ath_conn *conn;
	ath_engine *engine;
} run;

/* {"k": "text", "sql": sql} with ':' escaped, so the text statement sees no binds */
static int text_shape(ath_buf *b, const char *sql, size_t len, const char *const *binds, uint32_t nbinds)
{
	ath_strbuf s = ATH_STRBUF_INIT;
	for (size_t i = 0; i < len; i++) {
		if (sql[i] == ':' && !nbinds)
			ath_strbuf__putc(&s, '\\');
		ath_strbuf__putc(&s, sql[i]);
	}
	msgpack_packer pk;
	ath_wire__packer_init(&pk, b);
	int bad = s.oom || msgpack_pack_map(&pk, nbinds ? 3 : 2);
	bad |= ath_wire__pack_cstr(&pk, "k") | ath_wire__pack_cstr(&pk, "text");
	bad |= ath_wire__pack_cstr(&pk, "sql") | ath_wire__pack_strn(&pk, s.ptr ? s.ptr : "", s.len);
	if (nbinds) {
		bad |= ath_wire__pack_cstr(&pk, "binds") | msgpack_pack_map(&pk, nbinds);
		for (uint32_t i = 0; i < nbinds; i++) {
			bad |= ath_wire__pack_cstr(&pk, binds[i]) | msgpack_pack_array(&pk, 2);
			bad |= ath_wire__pack_cstr(&pk, "bind") | msgpack_pack_uint32(&pk, i);
		}
	}
	ath_strbuf__free(&s);
	return bad ? -1 : 0;
}

static int run_emit(void *payload, const char *sql, size_t len, ath_err *err)
{
	run *r = payload;
	ath_buf shape = ATH_BUF_INIT;
	if (text_shape(&shape, sql, len, NULL, 0)) {
		ath_buf_dispose(&shape);
		return ath_err__oom(err);
	}
	ath_result *res = NULL;
	int rc = ath_conn__execute(&res, r->conn, shape.ptr, shape.size, NULL, 0, 0, 0, err);
	ath_buf_dispose(&shape);
	if (res)
		ath_result__close(res);
	return rc;
}

static int run_exists(void *payload, int what, const char *schema, const char *name, int *out, ath_err *err)
{
	run *r = payload;
	const ath_ddl_dialect *x = r->engine->dialect->ddl;
	const char *sql = what == ATH_DDL_TABLE ? x->has_table_sql : what == ATH_DDL_SEQUENCE ? x->has_sequence_sql
											   : x->has_type_sql;
	*out = 0;
	if (!sql)
		return 0;
	static const char *const binds[] = { "n", "s" };
	ath_buf shape = ATH_BUF_INIT, params = ATH_BUF_INIT, rows = ATH_BUF_INIT;
	int rc = text_shape(&shape, sql, strlen(sql), binds, 2);
	msgpack_packer pk;
	ath_wire__packer_init(&pk, &params);
	rc |= msgpack_pack_array(&pk, 2) | ath_wire__pack_cstr(&pk, name) | ath_wire__pack_cstr(&pk, schema);
	if (rc) {
		ath_buf_dispose(&shape);
		ath_buf_dispose(&params);
		return ath_err__oom(err);
	}
	ath_result *res = NULL;
	rc = ath_conn__execute(&res, r->conn, shape.ptr, shape.size, params.ptr, params.size, 0, 0, err);
	if (!rc) {
		rc = ath_result__fetch(&rows, res, 1, err);
		if (rc == ATH_ITEROVER)
			rc = 0;
		else if (!rc)
			*out = rows.size > 5; /* an array32 header, then the rows */
	}
	if (res)
		ath_result__close(res);
	ath_buf_dispose(&shape);
	ath_buf_dispose(&params);
	ath_buf_dispose(&rows);
	return rc;
}

static void run_warn(void *payload, const char *msg)
{
	run *r = payload;
	ath_engine__log(r->engine, ATH_LOG_WARNING, "%s", msg);
}

int ath_schema__run(ath_engine *e, const ath_metadata *md, int drop, int checkfirst, ath_err *err)
{
	run r = { .engine = e };
	int rc = ath_engine__connect(&r.conn, e, err);
	if (rc)
		return rc;
	ath_ddl_sink s = { .emit = run_emit, .warn = run_warn, .payload = &r };
	if (checkfirst)
		s.exists = run_exists;
	rc = drop ? ath_ddl__drop_all(md, e->dialect, &s, err) : ath_ddl__create_all(md, e->dialect, &s, err);
	if (!rc) {
		rc = ath_conn__commit(r.conn, err);
	} else {
		ath_err ignored = { 0 };
		ath_conn__rollback(r.conn, &ignored);
		ath_err__clear(&ignored);
	}
	ath_conn__close(r.conn);
	return rc;
}
