/* evaluate.c — synchronize_session="evaluate" (sqlalchemy/orm/evaluator.py): an ORM UPDATE or
 * DELETE's WHERE judged in memory against the identity map's objects, so the session follows the
 * statement without a SELECT. Comparisons (= != < <= > >=, IS [NOT] NULL, IN, BETWEEN) of
 * attributes, binds and literals under AND / OR / NOT, in SQL's three-valued logic; numbers by
 * value, strings, binary and ext values (dates, decimals' text) by their bytes, as SQLAlchemy's
 * evaluator compares Python values. Anything else cannot be evaluated: "auto" then finds the
 * rows with a SELECT instead, "evaluate" is an error. */
#include "orm/orm.h"

#include <string.h>

#include "util/alloc.h"
#include "wire/mpbuf.h"

typedef const msgpack_object mobj;

enum { T_FALSE, T_TRUE, T_NULL, T_FAIL, T_UNLOADED };

typedef struct ectx {
	const ath_mapper *m;
	ath_obj *o;
	const msgpack_object *params;
	msgpack_zone *zone;
} ectx;

static bool str_is(mobj *o, const char *s)
{
	size_t n = strlen(s);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

static bool form(mobj *o, const char *kind, uint32_t arity)
{
	return o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == arity + 1 && str_is(&o->via.array.ptr[0], kind);
}

/* the prop an ["attr", cls, name] or ["col", table, name] names, or -1 */
static int prop_ref(const ectx *c, mobj *e)
{
	mobj *a = e->via.array.ptr;
	const ath_mapper *m = c->m;
	char name[256];
	if (a[2].type != MSGPACK_OBJECT_STR || a[2].via.str.size >= sizeof name)
		return -1;
	memcpy(name, a[2].via.str.ptr, a[2].via.str.size);
	name[a[2].via.str.size] = 0;
	if (form(e, "attr", 2)) {
		bool mine = false; /* the class or one it inherits */
		for (const ath_mapper *x = m; x && !mine; x = x->parent)
			mine = a[1].type == MSGPACK_OBJECT_STR && strlen(x->name) == a[1].via.str.size &&
			       memcmp(x->name, a[1].via.str.ptr, a[1].via.str.size) == 0;
		int at = mine ? ath_mapper__attr(m, name) : -1;
		return at >= 0 && (uint32_t)at < m->nprops ? at : -1;
	}
	if (!str_is(&a[1], m->table->name))
		return -1;
	for (uint32_t i = 0; i < m->nprops; i++)
		if (m->props[i].col && strcmp(m->props[i].col->name, name) == 0)
			return (int)i;
	return -1;
}

/* an operand's value: T_TRUE with *out, T_FAIL, or T_UNLOADED (an attribute not in memory) */
static int operand(const ectx *c, mobj *e, msgpack_object *out)
{
	if (e->type != MSGPACK_OBJECT_ARRAY || !e->via.array.size)
		return T_FAIL;
	mobj *a = e->via.array.ptr;
	if (form(e, "bind", 1) && a[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (!c->params || c->params->type != MSGPACK_OBJECT_ARRAY || a[1].via.u64 >= c->params->via.array.size)
			return T_FAIL;
		*out = c->params->via.array.ptr[a[1].via.u64];
		return T_TRUE;
	}
	if (form(e, "lit", 1)) {
		*out = a[1];
		return T_TRUE;
	}
	if (form(e, "null", 0) || form(e, "true", 0) || form(e, "false", 0)) {
		out->type = form(e, "null", 0) ? MSGPACK_OBJECT_NIL : MSGPACK_OBJECT_BOOLEAN;
		out->via.boolean = form(e, "true", 0);
		return T_TRUE;
	}
	if (form(e, "attr", 2) || form(e, "col", 2)) {
		int p = prop_ref(c, e);
		if (p < 0)
			return T_FAIL;
		const ath_val *v = &c->o->cur[p];
		if (!v->p)
			return T_UNLOADED;
		size_t off = 0;
		return msgpack_unpack((const char *)v->p, v->len, &off, c->zone, out) == MSGPACK_UNPACK_SUCCESS ? T_TRUE : T_FAIL;
	}
	return T_FAIL;
}

static bool is_number(mobj *v)
{
	return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER || v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
	       v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64;
}

static double number(mobj *v)
{
	return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER   ? (double)v->via.u64
	       : v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (double)v->via.i64
							    : v->via.f64;
}

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int r = memcmp(a, b, an < bn ? an : bn);
	return r ? (r < 0 ? -1 : 1) : an < bn ? -1 : an > bn;
}

/* -1, 0, 1; 2 when either is NULL; 3 when they cannot be compared here */
static int compare(mobj *x, mobj *y)
{
	if (x->type == MSGPACK_OBJECT_NIL || y->type == MSGPACK_OBJECT_NIL)
		return 2;
	if (is_number(x) && is_number(y)) {
		if (x->type != MSGPACK_OBJECT_FLOAT32 && x->type != MSGPACK_OBJECT_FLOAT64 && y->type != MSGPACK_OBJECT_FLOAT32 &&
		    y->type != MSGPACK_OBJECT_FLOAT64) { /* integers exactly */
			bool xn = x->type == MSGPACK_OBJECT_NEGATIVE_INTEGER, yn = y->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
			if (xn != yn)
				return xn ? -1 : 1;
			if (xn)
				return x->via.i64 < y->via.i64 ? -1 : x->via.i64 > y->via.i64;
			return x->via.u64 < y->via.u64 ? -1 : x->via.u64 > y->via.u64;
		}
		double a = number(x), b = number(y);
		return a < b ? -1 : a > b;
	}
	if (x->type != y->type)
		return 3;
	switch (x->type) {
	case MSGPACK_OBJECT_BOOLEAN: return x->via.boolean == y->via.boolean ? 0 : x->via.boolean ? 1 : -1;
	case MSGPACK_OBJECT_STR: return bytes_cmp(x->via.str.ptr, x->via.str.size, y->via.str.ptr, y->via.str.size);
	case MSGPACK_OBJECT_BIN: return bytes_cmp(x->via.bin.ptr, x->via.bin.size, y->via.bin.ptr, y->via.bin.size);
	case MSGPACK_OBJECT_EXT:
		/* dates, times and UUIDs compare by their bytes; decimals' text does not */
		if (x->via.ext.type != y->via.ext.type || x->via.ext.type == 2)
			return 3;
		return bytes_cmp(x->via.ext.ptr, x->via.ext.size, y->via.ext.ptr, y->via.ext.size);
	default: return 3;
	}
}

static int eval(const ectx *c, mobj *e);

static int cmp_op(const ectx *c, mobj *l, mobj *r, const char *op)
{
	msgpack_object x, y;
	int a = operand(c, l, &x), b = operand(c, r, &y);
	if (a != T_TRUE)
		return a;
	if (b != T_TRUE)
		return b;
	int k = compare(&x, &y);
	if (k == 3)
		return T_FAIL;
	if (k == 2)
		return T_NULL;
	bool v = !strcmp(op, "=") || !strcmp(op, "==") ? k == 0
		 : !strcmp(op, "!=")			 ? k != 0
		 : !strcmp(op, "<")			 ? k < 0
		 : !strcmp(op, "<=")			 ? k <= 0
		 : !strcmp(op, ">")			 ? k > 0
							 : k >= 0;
	return v ? T_TRUE : T_FALSE;
}

static int eval(const ectx *c, mobj *e)
{
	if (e->type != MSGPACK_OBJECT_ARRAY || !e->via.array.size || e->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
		return T_FAIL;
	mobj *a = e->via.array.ptr;
	uint32_t n = e->via.array.size;
	static const char *const cmps[] = { "=", "==", "!=", "<", "<=", ">", ">=" };
	for (size_t i = 0; i < sizeof cmps / sizeof *cmps; i++)
		if (str_is(&a[0], cmps[i]) && n == 3)
			return cmp_op(c, &a[1], &a[2], cmps[i]);
	if ((str_is(&a[0], "and") || str_is(&a[0], "or")) && n >= 2) {
		bool is_and = str_is(&a[0], "and");
		int acc = is_and ? T_TRUE : T_FALSE;
		for (uint32_t i = 1; i < n; i++) {
			int v = eval(c, &a[i]);
			if (v == T_FAIL || v == T_UNLOADED)
				return v;
			if (is_and ? v == T_FALSE : v == T_TRUE)
				return v;
			if (v == T_NULL)
				acc = T_NULL;
		}
		return acc;
	}
	if (str_is(&a[0], "not") && n == 2) {
		int v = eval(c, &a[1]);
		return v == T_TRUE ? T_FALSE : v == T_FALSE ? T_TRUE : v;
	}
	if ((str_is(&a[0], "is") || str_is(&a[0], "is_not")) && n == 3) {
		msgpack_object x, y;
		int p = operand(c, &a[1], &x), q = operand(c, &a[2], &y);
		if (p != T_TRUE)
			return p;
		if (q != T_TRUE)
			return q;
		bool same = y.type == MSGPACK_OBJECT_NIL ? x.type == MSGPACK_OBJECT_NIL
			    : y.type == MSGPACK_OBJECT_BOOLEAN && x.type == MSGPACK_OBJECT_BOOLEAN ? x.via.boolean == y.via.boolean
												    : false;
		if (y.type != MSGPACK_OBJECT_NIL && y.type != MSGPACK_OBJECT_BOOLEAN)
			return T_FAIL;
		return same == str_is(&a[0], "is") ? T_TRUE : T_FALSE;
	}
	if (str_is(&a[0], "between") && n == 4) {
		int lo = cmp_op(c, &a[1], &a[2], ">="), hi = cmp_op(c, &a[1], &a[3], "<=");
		if (lo == T_FAIL || hi == T_FAIL || lo == T_UNLOADED || hi == T_UNLOADED)
			return lo == T_FAIL || hi == T_FAIL ? T_FAIL : T_UNLOADED;
		return lo == T_FALSE || hi == T_FALSE ? T_FALSE : lo == T_NULL || hi == T_NULL ? T_NULL : T_TRUE;
	}
	if ((str_is(&a[0], "in") || str_is(&a[0], "not_in")) && n == 3) {
		msgpack_object x, list;
		int p = operand(c, &a[1], &x);
		if (p != T_TRUE)
			return p;
		if (form(&a[2], "expanding", 1) && a[2].via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
			msgpack_object idx = { .type = MSGPACK_OBJECT_ARRAY };
			msgpack_object bind[2] = { { .type = MSGPACK_OBJECT_STR }, a[2].via.array.ptr[1] };
			bind[0].via.str.ptr = "bind";
			bind[0].via.str.size = 4;
			idx.via.array.ptr = bind;
			idx.via.array.size = 2;
			if (operand(c, &idx, &list) != T_TRUE || list.type != MSGPACK_OBJECT_ARRAY)
				return T_FAIL;
		} else
			return T_FAIL;
		if (x.type == MSGPACK_OBJECT_NIL)
			return T_NULL;
		bool found = false, null = false;
		for (uint32_t i = 0; i < list.via.array.size && !found; i++) {
			int k = compare(&x, &list.via.array.ptr[i]);
			if (k == 3)
				return T_FAIL;
			found = k == 0;
			null |= k == 2;
		}
		bool in = str_is(&a[0], "in");
		return found ? (in ? T_TRUE : T_FALSE) : null ? T_NULL : (in ? T_FALSE : T_TRUE);
	}
	return T_FAIL;
}

int ath_eval__matches(ath_session *s, const ath_mapper *m, const msgpack_object *where, const msgpack_object *params,
		      ath_objvec *sure, ath_objvec *unsure, ath_err *err)
{
	msgpack_zone z;
	if (!msgpack_zone_init(&z, 1024))
		return ath_err__oom(err);
	int rc = 0;
	for (ath_obj *o = s->head; o && rc == 0; o = o->next) {
		if (!ath_mapper__isa(o->m, m) || o->status != ATH_OBJ_PERSISTENT || o->marked_deleted)
			continue;
		ectx c = { o->m, o, params, &z };
		int v = where ? eval(&c, where) : T_TRUE;
		if (v == T_FAIL)
			rc = 1;
		else if (v == T_UNLOADED || v == T_TRUE) { /* unloaded: cannot tell, so it is expired after */
			if (ath_objvec__push(v == T_TRUE ? sure : unsure, o) < 0)
				rc = ath_err__oom(err);
			else
				o->host_refs++; /* held until applied */
		}
		msgpack_zone_clear(&z);
	}
	msgpack_zone_destroy(&z);
	return rc;
}

/* The value an UPDATE's SET gives (a bind or literal), packed; false when it is an expression. */
static bool set_value(mobj *e, const msgpack_object *params, ath_buf *out)
{
	msgpack_object v;
	ectx c = { NULL, NULL, params, NULL };
	if (!(form(e, "bind", 1) || form(e, "lit", 1) || form(e, "null", 0) || form(e, "true", 0) || form(e, "false", 0)))
		return false;
	if (operand(&c, e, &v) != T_TRUE)
		return false;
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	return msgpack_pack_object(&pk, v) == 0;
}

/* one object after the statement: deleted, or the SET's values assigned (expired when unknown) */
static int apply_one(ath_session *s, ath_obj *o, bool unknown, bool deleted, const msgpack_object *set,
		     const msgpack_object *params, ath_buf *b, ath_err *err)
{
	if (deleted) {
		if (unknown) { /* it may not have matched: its row is read again on next access */
			ath_obj__expire(o, NULL, false);
			return 0;
		}
		ath_objset__del(&s->identity, o);
		o->status = ATH_OBJ_DELETED;
		o->del_level = (uint16_t)(s->nested + 1);
		return 0;
	}
	int rc = 0;
	for (uint32_t k = 0; set && set->type == MSGPACK_OBJECT_ARRAY && k < set->via.array.size && !rc; k++) {
		mobj *pair = &set->via.array.ptr[k];
		char name[256];
		if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2 ||
		    pair->via.array.ptr[0].type != MSGPACK_OBJECT_STR || pair->via.array.ptr[0].via.str.size >= sizeof name)
			continue;
		memcpy(name, pair->via.array.ptr[0].via.str.ptr, pair->via.array.ptr[0].via.str.size);
		name[pair->via.array.ptr[0].via.str.size] = 0;
		int at = ath_mapper__attr(o->m, name);
		if (at < 0 || (uint32_t)at >= o->m->nprops || o->modified[at])
			continue; /* a local change stays */
		if (!unknown && set_value(&pair->via.array.ptr[1], params, b))
			rc = ath_obj__set_prop(o, (uint32_t)at, b->ptr, b->size, true, err);
		else {
			bool mask[512] = { 0 };
			if ((uint32_t)at < 512)
				mask[at] = true;
			ath_obj__expire(o, mask, false);
		}
	}
	return rc;
}

int ath_eval__apply(ath_session *s, bool deleted, const msgpack_object *set, const msgpack_object *params,
		    ath_objvec *sure, ath_objvec *unsure, ath_err *err)
{
	ath_buf b = ATH_BUF_INIT;
	int rc = 0;
	for (size_t i = 0; i < sure->n + unsure->n; i++) {
		ath_obj *o = i < sure->n ? sure->v[i] : unsure->v[i - sure->n];
		if (!rc)
			rc = apply_one(s, o, i >= sure->n, deleted, set, params, &b, err);
		ath_obj__decref(o);
	}
	ath_buf_dispose(&b);
	sure->n = unsure->n = 0;
	return rc;
}

void ath_eval__release(ath_objvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		ath_obj__decref(v->v[i]);
	ath__free(v->v);
	memset(v, 0, sizeof *v);
}
