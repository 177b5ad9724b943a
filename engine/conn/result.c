/* result.c — results: the header, row batches packed by the driver straight into msgpack, and
 * inserted_primary_key / inserted_primary_key_rows. Mirrors sqlalchemy/engine/cursor.py
 * (CursorResult): a result that returns no rows refuses fetches with ResourceClosedError; an
 * exhausted one frees its statement at once. An executemany with RETURNING has its rows (and with
 * return_defaults its primary keys) buffered already (connection.c) and serves them. Rows of a
 * statement compiled against a metadata go through the result processors its compiled form chose
 * (types/process.h: SQLite's ISO-8601 text becomes the wire's date/time ext values, and so on). */
#include <string.h>

#include "conn/internal.h"
#include "types/process.h"
#include "util/alloc.h"
#include "wire/mpbuf.h"

#define DEFAULT_BATCH 500

static void release_stmt(ath_result *r)
{
	if (r->stmt.stmt)
		ath_dconn__release(r->dc, &r->stmt);
}

/* Rewrite the rows packed at out[start..] through the result processors (SQLAlchemy's
 * result_processor per column). A row whose width differs from the typed columns' is left alone. */
static int process_rows(ath_buf *out, size_t start, const ath_compiled *cs, ath_err *err)
{
	size_t len = out->size - start;
	if (!len)
		return 0;
	char *copy = ath__malloc(len);
	if (!copy)
		return ath_err__oom(err);
	memcpy(copy, out->ptr + start, len);
	out->size = start;
	msgpack_packer pk;
	msgpack_packer_init(&pk, out, ath_wire__buf_write);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	size_t off = 0;
	int rc = 0;
	while (off < len && !rc) {
		if (msgpack_unpack_next(&u, copy, len, &off) != MSGPACK_UNPACK_SUCCESS) {
			rc = ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_INTERNAL_ERROR, "result rows do not parse");
			break;
		}
		const msgpack_object *row = &u.data;
		if (row->type != MSGPACK_OBJECT_ARRAY || row->via.array.size != cs->ncol_procs) {
			rc = msgpack_pack_object(&pk, *row) < 0 ? ath_err__oom(err) : 0;
			continue;
		}
		if (msgpack_pack_array(&pk, row->via.array.size) < 0)
			rc = ath_err__oom(err);
		for (uint32_t j = 0; j < row->via.array.size && !rc; j++)
			if (ath_typeproc__result(cs->col_procs[j], &row->via.array.ptr[j], &pk) < 0)
				rc = ath_err__oom(err);
	}
	msgpack_unpacked_destroy(&u);
	ath__free(copy);
	return rc;
}

int ath_result__fetch(ath_buf *out, ath_result *r, size_t max, ath_err *err)
{
	if (!r->returns_rows)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_RESOURCE_CLOSED_ERROR,
				    "This result object does not return rows. It has been closed automatically.");
	if (!max)
		max = DEFAULT_BATCH;
	/* The row count is known only after packing: reserve a 5-byte array32 header and fill it
	 * in afterwards (msgpack allows the wide form for any count). */
	out->size = 0;
	if (ath_wire__buf_reserve(out, 5) < 0)
		return ath_err__oom(err);
	out->ptr[0] = 0xdd;
	out->size = 5;
	size_t n = 0;
	if (r->buffered) { /* executemany with RETURNING: rows already read, in input order */
		size_t from = r->buf_next ? r->row_ends[r->buf_next - 1] : 0;
		n = r->nbuf - r->buf_next < max ? r->nbuf - r->buf_next : max;
		if (n) {
			size_t to = r->row_ends[r->buf_next + n - 1];
			if (ath_wire__buf_write(out, (const char *)r->rows.ptr + from, to - from) < 0)
				return ath_err__oom(err);
			r->buf_next += n;
		}
	} else if (!r->exhausted) {
		int done;
		ath_dconn *dc = r->dc;
		int rc = dc->ops->fetch(dc->native, r->stmt.stmt, out, max, &n, &done, err);
		if (rc) {
			if (r->dc == r->conn->dc)
				ath_conn__seen_error(r->conn, rc, err);
			release_stmt(r);
			r->exhausted = 1;
			out->size = 0;
			return rc;
		}
		if (done) {
			release_stmt(r);
			r->exhausted = 1;
		}
	}
	if (n && r->compiled && r->compiled->col_procs) {
		int rc = process_rows(out, 5, r->compiled, err);
		if (rc) {
			out->size = 0;
			return rc;
		}
	}
	out->ptr[1] = (unsigned char)(n >> 24);
	out->ptr[2] = (unsigned char)(n >> 16);
	out->ptr[3] = (unsigned char)(n >> 8);
	out->ptr[4] = (unsigned char)n;
	return n ? 0 : ATH_ITEROVER;
}

static void pk_collect(const char *col, void *payload)
{
	ath_strbuf *names = payload;
	ath_strbuf__put(names, col, strlen(col) + 1); /* NUL-separated */
}

int ath_result__pk_columns(ath_strbuf *names, uint32_t *n, int *rowid_alias, ath_dconn *dc, const ath_compiled *cs,
			   ath_err *err)
{
	*rowid_alias = 0;
	*n = 0;
	if (cs->pk_known) { /* compiled against a metadata: its key, without asking the catalog */
		for (uint32_t i = 0; i < cs->npk; i++)
			ath_strbuf__put(names, cs->pk_names[i], strlen(cs->pk_names[i]) + 1);
		*n = cs->npk;
		*rowid_alias = cs->pk_autoinc;
		return names->oom ? ath_err__oom(err) : 0;
	}
	int rc = dc->ops->primary_key(dc->native, cs->schema, cs->table, pk_collect, names, rowid_alias, err);
	if (!rc && names->oom)
		rc = ath_err__oom(err);
	if (rc)
		return rc;
	for (size_t i = 0; i < names->len; i += strlen(names->ptr + i) + 1)
		(*n)++;
	return 0;
}

int ath_result__pack_pk(msgpack_packer *pk, ath_dconn *dc, const ath_compiled *cs, const ath_strbuf *names,
			uint32_t npk, int rowid_alias, const msgpack_object *const *given, const msgpack_object *returned,
			int64_t generated, ath_err *err)
{
	int bad = npk == 0 ? msgpack_pack_nil(pk) : msgpack_pack_array(pk, npk);
	for (size_t i = 0; i < names->len && !bad; i += strlen(names->ptr + i) + 1) {
		const char *col = names->ptr + i;
		const msgpack_object *v = NULL;
		for (uint32_t k = 0; k < cs->nins; k++)
			if (given[k] && given[k]->type != MSGPACK_OBJECT_NIL && strcmp(cs->ins_columns[k], col) == 0)
				v = given[k];
		int fetched = 0; /* a column the implicit RETURNING was to bring (none when no row came) */
		for (uint32_t k = 0; !v && returned && k < cs->nret; k++)
			if (strcmp(cs->ret_names[k], col) == 0) {
				fetched = 1;
				v = k < returned->via.array.size ? &returned->via.array.ptr[k] : NULL;
			}
		int64_t value = generated;
		int rc;
		if (!v && !fetched && rowid_alias && dc->ops->autoincrement_value &&
		    (rc = dc->ops->autoincrement_value(dc->native, cs->schema, cs->table, col, &value, err)))
			return rc;
		if (v)
			bad |= msgpack_pack_object(pk, *v);
		else if (rowid_alias && !fetched)
			bad |= msgpack_pack_int64(pk, value);
		else
			bad |= msgpack_pack_nil(pk);
	}
	return bad ? ath_err__oom(err) : 0;
}

int ath_result__inserted_primary_key(ath_buf *out, ath_result *r, ath_err *err)
{
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	const ath_compiled *cs = r->compiled;
	if (!r->ins_values.size || r->many)
		return msgpack_pack_nil(&pk) ? ath_err__oom(err) : 0;
	ath_dconn *dc = r->conn->dc;
	if (dc != r->dc)
		return ath_err__set(err, ATH_EMISUSE, ATH_ERRCLASS_INVALID_REQUEST_ERROR,
				    "the connection was lost since this INSERT ran; its primary key is unknown");
	ath_strbuf names = ATH_STRBUF_INIT;
	uint32_t npk;
	int rowid_alias;
	int rc = ath_result__pk_columns(&names, &npk, &rowid_alias, dc, cs, err);
	if (rc) {
		ath_strbuf__free(&names);
		return rc;
	}
	msgpack_zone zone;
	msgpack_object values;
	size_t off = 0;
	const msgpack_object **given = ath__calloc(cs->nins + 1, sizeof *given);
	if (!given || !msgpack_zone_init(&zone, 256)) {
		ath__free(given);
		ath_strbuf__free(&names);
		return ath_err__oom(err);
	}
	msgpack_unpack((const char *)r->ins_values.ptr, r->ins_values.size, &off, &zone, &values);
	for (uint32_t k = 0; k < cs->nins && k < values.via.array.size; k++)
		given[k] = &values.via.array.ptr[k];
	/* sent with the implicit RETURNING: its row, or no row at all (ON CONFLICT DO NOTHING) */
	msgpack_object returned = { .type = MSGPACK_OBJECT_ARRAY };
	off = 0;
	if (r->ret_row.size)
		msgpack_unpack((const char *)r->ret_row.ptr, r->ret_row.size, &off, &zone, &returned);
	rc = ath_result__pack_pk(&pk, dc, cs, &names, npk, rowid_alias, given,
				 cs->ret_sql && returned.type == MSGPACK_OBJECT_ARRAY ? &returned : NULL, r->lastrowid, err);
	msgpack_zone_destroy(&zone);
	ath__free(given);
	ath_strbuf__free(&names);
	return rc;
}

int ath_result__inserted_primary_key_rows(ath_buf *out, ath_result *r, ath_err *err)
{
	msgpack_packer pk;
	if (r->pk_rows_set) { /* executemany with return_defaults: packed row after row */
		ath_wire__packer_init(&pk, out);
		if (msgpack_pack_array(&pk, (uint32_t)r->npk_rows) ||
		    ath_wire__buf_write(out, (const char *)r->pk_rows.ptr, r->pk_rows.size) < 0)
			return ath_err__oom(err);
		return 0;
	}
	if (!r->ins_values.size || r->many) {
		ath_wire__packer_init(&pk, out);
		return msgpack_pack_nil(&pk) ? ath_err__oom(err) : 0;
	}
	ath_buf one = ATH_BUF_INIT; /* a single-row INSERT: [inserted_primary_key] */
	int rc = ath_result__inserted_primary_key(&one, r, err);
	if (!rc) {
		ath_wire__packer_init(&pk, out);
		if (msgpack_pack_array(&pk, 1) || ath_wire__buf_write(out, (const char *)one.ptr, one.size) < 0)
			rc = ath_err__oom(err);
	}
	ath__free(one.ptr);
	return rc;
}

/* A column's type: the compiled form's (a metadata column, a CAST), else the driver's mapped to a
 * generic type, else nil. */
static int pack_type(msgpack_packer *pk, ath_buf *out, const ath_result *r, size_t i)
{
	const ath_compiled *cs = r->compiled;
	if (cs->col_types && cs->ncol_types == r->ncols && cs->col_types[i].len)
		return ath_wire__buf_write(out, (const char *)cs->col_types[i].ptr, cs->col_types[i].len);
	const char *name = r->coltypes && r->coltypes[i] >= 0 ? ath_type__generic_name(r->coltypes[i] & ~ATH_COLTYPE_TZ) : NULL;
	if (!name)
		return msgpack_pack_nil(pk);
	int tz = r->coltypes[i] & ATH_COLTYPE_TZ;
	int bad = msgpack_pack_array(pk, tz ? 2 : 1) | ath_wire__pack_cstr(pk, name);
	if (tz)
		bad |= msgpack_pack_map(pk, 1) | ath_wire__pack_cstr(pk, "timezone") | msgpack_pack_true(pk);
	return bad;
}

int ath_result__header(ath_buf *out, ath_result *r, ath_err *err)
{
	ath_buf pkbuf = ATH_BUF_INIT;
	int rc = ath_result__inserted_primary_key(&pkbuf, r, err);
	if (rc) { /* the key's array may be packed already when asking the server for a value fails */
		ath__free(pkbuf.ptr);
		return rc;
	}
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	int bad = msgpack_pack_map(&pk, 5);
	bad |= ath_wire__pack_cstr(&pk, "columns");
	bad |= msgpack_pack_array(&pk, r->ncols);
	for (size_t i = 0; i < r->ncols; i++) {
		bad |= msgpack_pack_map(&pk, 2);
		bad |= ath_wire__pack_cstr(&pk, "name") | ath_wire__pack_cstr(&pk, r->colnames[i]);
		bad |= ath_wire__pack_cstr(&pk, "type") | pack_type(&pk, out, r, i);
	}
	bad |= ath_wire__pack_cstr(&pk, "returns_rows");
	bad |= r->returns_rows ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
	bad |= ath_wire__pack_cstr(&pk, "rowcount") | msgpack_pack_int64(&pk, r->rowcount);
	bad |= ath_wire__pack_cstr(&pk, "lastrowid") | msgpack_pack_int64(&pk, r->lastrowid);
	bad |= ath_wire__pack_cstr(&pk, "inserted_primary_key");
	bad |= ath_wire__buf_write(out, (const char *)pkbuf.ptr, pkbuf.size);
	ath__free(pkbuf.ptr);
	return bad ? ath_err__oom(err) : 0;
}

void ath_result__close(ath_result *r)
{
	if (!r)
		return;
	release_stmt(r);
	ath_colinfo__decref(r->cols);
	ath__free(r->ins_values.ptr);
	ath__free(r->ret_row.ptr);
	ath__free(r->rows.ptr);
	ath__free(r->row_ends);
	ath__free(r->pk_rows.ptr);
	ath_compiled__decref(r->compiled);
	ath_conn *c = r->conn;
	r->magic = ATH_MAGIC_DEAD;
	if (!c->spare && !c->closed)
		c->spare = r; /* the connection's next execute takes it (it frees it when it goes) */
	else
		ath__free(r);
	ath_conn__decref(c);
}
