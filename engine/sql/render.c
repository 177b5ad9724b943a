/* render.c — a compiled statement's template plus parameters into the SQL a driver runs and
 * the values in placeholder order: placeholders per dialect ("?", "$n"), expanding IN lists
 * (SQLAlchemy's "post-compile" parameters) and the empty-IN form; value transforms that SQLAlchemy
 * does in bind processors (LIKE autoescape, JSON paths), since the shape holds no values; and the
 * bind processors of typed binds the compiler chose (types/process.h), before the driver sees them. */
#include <string.h>
#include <xxhash.h>

#include "dialects/dialect.h"
#include "sql/compiled.h"
#include "types/process.h"
#include "util/alloc.h"

uint64_t ath_sql__hash(const void *data, size_t len) { return XXH3_64bits(data, len); }

static int push_value(ath_rendered *r, const msgpack_object *v, ath_err *err)
{
	if (r->nvalues == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 16;
		const msgpack_object **p = ath__realloc(r->values, cap * sizeof *p);
		if (!p)
			return ath_err__oom(err);
		r->values = p;
		r->cap = cap;
	}
	r->values[r->nvalues++] = v;
	return 0;
}

/* An empty expanding list, written inside the "IN (" ... ")" the compiler put around it. */
static void empty_in(ath_strbuf *b, const ath_dialect *d, const ath_bindref *br)
{
	if (d->empty_in_style != ATH_EMPTY_IN_NULL) {
		d->empty_set(b, br->arity);
		return;
	}
	/* x IN (NULL) AND (1 != 1); (x, y) IN ((NULL, NULL)) AND (1 != 1); NOT IN: OR (1 = 1) */
	if (br->arity) {
		ath_strbuf__putc(b, '(');
		for (uint32_t i = 0; i < br->arity; i++)
			ath_strbuf__puts(b, i ? ", NULL" : "NULL");
		ath_strbuf__putc(b, ')');
	} else {
		ath_strbuf__puts(b, "NULL");
	}
	ath_strbuf__puts(b, br->flags & ATH_BIND_NOT_IN ? ") OR (1 = 1" : ") AND (1 != 1");
}

#define XFORM (ATH_BIND_AUTOESCAPE | ATH_BIND_JSON_PATH | ATH_BIND_PG_PATH)

static int bad_value(uint32_t param, const char *what, ath_err *err)
{
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "parameter %u: %s", param, what);
}

/* One JSON path step: ."key" or [n] (SQLAlchemy's JSONPathType / JSONIndexType formats). */
static int path_step(ath_strbuf *b, const msgpack_object *k, uint32_t param, ath_err *err)
{
	if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		ath_strbuf__printf(b, "[%llu]", (unsigned long long)k->via.u64);
		return 0;
	}
	if (k->type != MSGPACK_OBJECT_STR)
		return bad_value(param, "a JSON key must be a string or a non-negative integer", err);
	ath_strbuf__puts(b, ".\"");
	for (uint32_t i = 0; i < k->via.str.size; i++) {
		if (k->via.str.ptr[i] == '"' || k->via.str.ptr[i] == '\\')
			ath_strbuf__putc(b, '\\');
		ath_strbuf__putc(b, k->via.str.ptr[i]);
	}
	ath_strbuf__putc(b, '"');
	return 0;
}

/* A bind whose value the engine rewrites: escaped for autoescape, or a key/path made into the
 * path text the backend's JSON functions take. The new value lives in r->scratch. */
static int transform(ath_rendered *r, const ath_bindref *br, const msgpack_object *v, const msgpack_object **out,
		     ath_err *err)
{
	ath_strbuf b = { 0 };
	int rc = 0;
	if (br->flags & ATH_BIND_AUTOESCAPE) {
		if (v->type != MSGPACK_OBJECT_STR)
			return bad_value(br->param, "autoescape needs a string value", err);
		for (uint32_t i = 0; i < v->via.str.size; i++) {
			char ch = v->via.str.ptr[i];
			if (ch == '%' || ch == '_' || ch == '/')
				ath_strbuf__putc(&b, '/');
			ath_strbuf__putc(&b, ch);
		}
	} else if (br->flags & ATH_BIND_JSON_PATH) {
		ath_strbuf__putc(&b, '$');
		if (v->type == MSGPACK_OBJECT_ARRAY)
			for (uint32_t i = 0; i < v->via.array.size && !rc; i++)
				rc = path_step(&b, &v->via.array.ptr[i], br->param, err);
		else
			rc = path_step(&b, v, br->param, err);
	} else { /* PG_PATH: {a, 1} */
		if (v->type != MSGPACK_OBJECT_ARRAY)
			return bad_value(br->param, "a JSON path must be a list of keys", err);
		ath_strbuf__putc(&b, '{');
		for (uint32_t i = 0; i < v->via.array.size && !rc; i++) {
			const msgpack_object *k = &v->via.array.ptr[i];
			if (i)
				ath_strbuf__puts(&b, ", ");
			if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				ath_strbuf__printf(&b, "%llu", (unsigned long long)k->via.u64);
			else if (k->type == MSGPACK_OBJECT_STR)
				ath_strbuf__put(&b, k->via.str.ptr, k->via.str.size);
			else
				rc = bad_value(br->param, "a JSON key must be a string or a non-negative integer", err);
		}
		ath_strbuf__putc(&b, '}');
	}
	if (rc) {
		ath_strbuf__free(&b);
		return rc;
	}
	if (!r->scratch.chunk_size)
		ath_arena__init(&r->scratch, 512);
	msgpack_object *o = ath_arena__zalloc(&r->scratch, sizeof *o);
	char *text = b.oom ? NULL : ath_arena__strndup(&r->scratch, b.ptr ? b.ptr : "", b.len);
	size_t len = b.len;
	ath_strbuf__free(&b);
	if (!o || !text)
		return ath_err__oom(err);
	o->type = MSGPACK_OBJECT_STR;
	o->via.str.ptr = text;
	o->via.str.size = (uint32_t)len;
	*out = o;
	return 0;
}

int ath_compiled__process(ath_rendered *r, const ath_compiled *c, uint32_t i, const msgpack_object *v,
			  const msgpack_object **out, ath_err *err)
{
	*out = v;
	if (!c->bind_procs || !c->bind_procs[i] || (c->binds[i].flags & (XFORM | ATH_BIND_DEFAULT)))
		return 0;
	return ath_typeproc__bind(c->bind_procs[i], v, out, &r->scratch, err);
}

static int push_bind(ath_rendered *r, const ath_compiled *c, const ath_bindref *br, const msgpack_object *v,
		     ath_err *err)
{
	int rc;
	if (br->flags & XFORM) {
		if ((rc = transform(r, br, v, &v, err)))
			return rc;
	} else if ((rc = ath_compiled__process(r, c, (uint32_t)(br - c->binds), v, &v, err))) {
		return rc;
	}
	return push_value(r, v, err);
}

static int missing(const ath_compiled *c, uint32_t param, uint32_t given, ath_err *err)
{
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
			    "a value is required for parameter %u: the statement uses %u parameter%s and %u %s given",
			    param, c->nparams, c->nparams == 1 ? "" : "s", given, given == 1 ? "was" : "were");
}

int ath_compiled__render(ath_rendered *r, const ath_compiled *c, const msgpack_object *params, ath_err *err)
{
	int have = params->type == MSGPACK_OBJECT_ARRAY;
	uint32_t given = have ? params->via.array.size : 0;
	r->nvalues = 0;
	if (r->scratch.head) { /* values transformed for the previous execution */
		ath_arena__free(&r->scratch);
		memset(&r->scratch, 0, sizeof r->scratch);
	}
	if (have && given < c->nparams) {
		for (uint32_t i = 0; i < c->nbinds; i++)
			if (!(c->binds[i].flags & ATH_BIND_DEFAULT) && c->binds[i].param >= given)
				return missing(c, c->binds[i].param, given, err);
	}
	if (c->sql) { /* fixed SQL: only line the values up */
		r->sql = c->sql;
		r->sql_len = c->sql_len;
		r->sql_hash = c->sql_hash;
		for (uint32_t i = 0; have && i < c->nbinds; i++) {
			int rc = push_bind(r, c, &c->binds[i], ath_compiled__bind_value(c, &c->binds[i], params), err);
			if (rc)
				return rc;
		}
		return 0;
	}
	const ath_dialect *d = c->dialect;
	ath_strbuf *b = &r->buf;
	ath_strbuf__reset(b);
	uint32_t pos = 0, at = 0;
	for (uint32_t i = 0; i < c->nbinds; i++) {
		const ath_bindref *br = &c->binds[i];
		ath_strbuf__put(b, c->tmpl + at, br->offset - at);
		at = br->offset;
		if (!(br->flags & ATH_BIND_EXPANDING)) {
			d->placeholder(b, ++pos);
			if (have) {
				int rc = push_bind(r, c, br, ath_compiled__bind_value(c, br, params), err);
				if (rc)
					return rc;
			}
			continue;
		}
		if (!have)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "parameter %u is an expanding IN list: its values are needed to render the SQL",
					    br->param);
		const msgpack_object *list = &params->via.array.ptr[br->param];
		if (list->type != MSGPACK_OBJECT_ARRAY)
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
					    "parameter %u is for an expanding IN and must be a list", br->param);
		if (list->via.array.size == 0) {
			empty_in(b, d, br);
			continue;
		}
		if (br->arity && d->tuple_in_values)
			ath_strbuf__puts(b, "VALUES ");
		for (uint32_t k = 0; k < list->via.array.size; k++) {
			const msgpack_object *item = &list->via.array.ptr[k];
			if (k)
				ath_strbuf__puts(b, ", ");
			if (!br->arity) {
				d->placeholder(b, ++pos);
				int rc = ath_compiled__process(r, c, i, item, &item, err);
				if (rc)
					return rc;
				if (push_value(r, item, err))
					return ATH_ENOMEM;
				continue;
			}
			if (item->type != MSGPACK_OBJECT_ARRAY || item->via.array.size != br->arity)
				return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
						    "parameter %u[%u]: a tuple IN item must be a list of %u values", br->param,
						    k, br->arity);
			ath_strbuf__putc(b, '(');
			for (uint32_t j = 0; j < br->arity; j++) {
				if (j)
					ath_strbuf__puts(b, ", ");
				d->placeholder(b, ++pos);
				if (push_value(r, &item->via.array.ptr[j], err))
					return ATH_ENOMEM;
			}
			ath_strbuf__putc(b, ')');
		}
	}
	ath_strbuf__put(b, c->tmpl + at, c->tmpl_len - at);
	if (b->oom || !ath_strbuf__cstr(b))
		return ath_err__oom(err);
	r->sql = b->ptr ? b->ptr : "";
	r->sql_len = b->len;
	r->sql_hash = ath_sql__hash(r->sql, r->sql_len);
	return 0;
}

int ath_compiled__check_rows(const ath_compiled *c, const msgpack_object *rows, ath_err *err)
{
	if (!c->bind_procs || rows->type != MSGPACK_OBJECT_ARRAY)
		return 0;
	ath_rendered scratch = { 0 };
	int rc = 0;
	for (uint32_t k = 0; k < rows->via.array.size && !rc; k++) {
		const msgpack_object *row = &rows->via.array.ptr[k];
		for (uint32_t i = 0; i < c->nbinds && !rc; i++) {
			const msgpack_object *v = ath_compiled__bind_value(c, &c->binds[i], row), *out;
			if (v && !(c->binds[i].flags & ATH_BIND_EXPANDING) &&
			    (rc = ath_compiled__process(&scratch, c, i, v, &out, err)))
				ath_err__prefix(err, "executemany row %u: ", k);
		}
		if (scratch.scratch.head) {
			ath_arena__free(&scratch.scratch);
			memset(&scratch.scratch, 0, sizeof scratch.scratch);
		}
	}
	ath_rendered__free(&scratch);
	return rc;
}

void ath_rendered__free(ath_rendered *r)
{
	ath__free(r->values);
	ath_strbuf__free(&r->buf);
	ath_arena__free(&r->scratch);
	memset(r, 0, sizeof *r);
}
