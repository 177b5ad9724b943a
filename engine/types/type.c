/* type.c — the wire's type forms parsed into ath_type descriptors (type.h): argument counts and
 * ranges, Enum values and options, ARRAY item types, dialect types. Mirrors the constructors of
 * sqlalchemy/sql/sqltypes.py. Does not render names (typename.c, ddl_typename.c). */
#include "type.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef const msgpack_object mobj;

static int is(mobj *o, const char *s)
{
	size_t n = strlen(s);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const struct {
	const char *wire;
	uint8_t kind;
	uint8_t maxargs; /* positional integer arguments */
} generic[] = {
	{ "Integer", ATH_T_INTEGER, 0 },       { "BigInteger", ATH_T_BIGINT, 0 }, { "SmallInteger", ATH_T_SMALLINT, 0 },
	{ "Boolean", ATH_T_BOOLEAN, 0 },       { "String", ATH_T_STRING, 1 },     { "Text", ATH_T_TEXT, 1 },
	{ "Unicode", ATH_T_UNICODE, 1 },       { "UnicodeText", ATH_T_UNICODE_TEXT, 1 }, { "Float", ATH_T_FLOAT, 1 },
	{ "Double", ATH_T_DOUBLE, 0 },         { "Numeric", ATH_T_NUMERIC, 2 },   { "Date", ATH_T_DATE, 0 },
	{ "DateTime", ATH_T_DATETIME, 0 },     { "Time", ATH_T_TIME, 0 },         { "Interval", ATH_T_INTERVAL, 0 },
	{ "LargeBinary", ATH_T_LARGEBINARY, 1 }, { "JSON", ATH_T_JSON, 0 },       { "UUID", ATH_T_UUID, 0 },
	{ "Uuid", ATH_T_UUID, 0 }, /* SQLAlchemy 2.0's generic Uuid: CHAR(32) where there is no UUID type */
};

const char *ath_type__generic_name(int kind)
{
	const char *name = kind == ATH_T_ENUM ? "Enum" : kind == ATH_T_ARRAY ? "ARRAY" : NULL;
	for (size_t i = 0; i < sizeof generic / sizeof *generic; i++)
		if (generic[i].kind == kind)
			name = generic[i].wire; /* the last spelling: Uuid rather than 1.4's UUID */
	return name;
}

static char *dup(ath_arena *a, mobj *o) { return ath_arena__strndup(a, o->via.str.ptr, o->via.str.size); }

/* options map: {"timezone": bool, "name": str, "native": bool, "create_constraint": bool} */
static int options(ath_type *t, mobj *m, ath_arena *a, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		mobj *k = &m->via.map.ptr[i].key, *v = &m->via.map.ptr[i].val;
		bool *flag = is(k, "timezone") ? &t->timezone : is(k, "native") ? &t->native_enum
			   : is(k, "create_constraint") ? &t->create_constraint : NULL;
		if (flag) {
			if (v->type != MSGPACK_OBJECT_BOOLEAN)
				return fail(err, errlen, "type option \"%.*s\" must be a bool", (int)k->via.str.size, k->via.str.ptr);
			*flag = v->via.boolean;
		} else if (is(k, "name")) {
			if (v->type == MSGPACK_OBJECT_NIL)
				continue;
			if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0 || memchr(v->via.str.ptr, 0, v->via.str.size))
				return fail(err, errlen, "type option \"name\" must be a non-empty string");
			if (!(t->name = dup(a, v)))
				return fail(err, errlen, "out of memory");
		} else {
			return fail(err, errlen, "unknown type option \"%.*s\"",
				    k->type == MSGPACK_OBJECT_STR ? (int)(k->via.str.size > 40 ? 40 : k->via.str.size) : 1,
				    k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?");
		}
	}
	return 0;
}

int ath_type__parse(ath_type *t, const msgpack_object *o, ath_arena *a, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	t->length = t->precision = t->scale = t->dims = -1;
	t->native_enum = true;
	t->wire = o;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0 || o->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
		return fail(err, errlen, "a type is an array [name, args...]");
	mobj *name = &o->via.array.ptr[0];
	uint32_t n = o->via.array.size, first = 1;
	int32_t ints[2];
	uint32_t nints = 0;
	if (is(name, "Enum")) {
		t->kind = ATH_T_ENUM;
		if (n < 2 || o->via.array.ptr[1].type != MSGPACK_OBJECT_ARRAY || o->via.array.ptr[1].via.array.size == 0)
			return fail(err, errlen, "Enum needs a non-empty array of values");
		mobj *vals = &o->via.array.ptr[1];
		t->nvalues = vals->via.array.size;
		if (!(t->values = ath_arena__zalloc(a, t->nvalues * sizeof *t->values)))
			return fail(err, errlen, "out of memory");
		for (uint32_t i = 0; i < t->nvalues; i++) {
			mobj *v = &vals->via.array.ptr[i];
			if (v->type != MSGPACK_OBJECT_STR || memchr(v->via.str.ptr, 0, v->via.str.size))
				return fail(err, errlen, "Enum values must be strings");
			if (!(t->values[i] = dup(a, v)))
				return fail(err, errlen, "out of memory");
		}
		first = 2;
	} else if (is(name, "ARRAY")) {
		t->kind = ATH_T_ARRAY;
		if (n < 2)
			return fail(err, errlen, "ARRAY needs an item type");
		ath_type *item = ath_arena__zalloc(a, sizeof *item);
		if (!item)
			return fail(err, errlen, "out of memory");
		if (ath_type__parse(item, &o->via.array.ptr[1], a, err, errlen))
			return -1;
		if (item->kind == ATH_T_ARRAY)
			return fail(err, errlen, "ARRAY of ARRAY: give the dimensions instead");
		t->item = item;
		first = 2;
	} else {
		size_t i;
		for (i = 0; i < sizeof generic / sizeof *generic; i++)
			if (is(name, generic[i].wire))
				break;
		if (i < sizeof generic / sizeof *generic) {
			t->kind = generic[i].kind;
			if (is(name, "Uuid"))
				t->length = 32;
		} else {
			const char *dot = memchr(name->via.str.ptr, '.', name->via.str.size);
			size_t nslen = dot ? (size_t)(dot - name->via.str.ptr) : 0;
			if (!dot || !((nslen == 10 && memcmp(name->via.str.ptr, "postgresql", 10) == 0) ||
				      (nslen == 5 && memcmp(name->via.str.ptr, "mysql", 5) == 0) ||
				      (nslen == 6 && memcmp(name->via.str.ptr, "sqlite", 6) == 0)))
				return fail(err, errlen, "unknown type \"%.*s\"", (int)(name->via.str.size > 60 ? 60 : name->via.str.size),
					    name->via.str.ptr);
			size_t tlen = name->via.str.size - nslen - 1;
			if (tlen == 0 || tlen > 40)
				return fail(err, errlen, "unknown type \"%.*s\"", (int)name->via.str.size, name->via.str.ptr);
			char *tn = ath_arena__strndup(a, dot + 1, tlen);
			t->ns = ath_arena__strndup(a, name->via.str.ptr, nslen);
			if (!tn || !t->ns)
				return fail(err, errlen, "out of memory");
			for (char *p = tn; *p; p++) {
				if (!isalnum((unsigned char)*p) && *p != '_')
					return fail(err, errlen, "unknown type \"%.*s\"", (int)name->via.str.size, name->via.str.ptr);
				*p = (char)toupper((unsigned char)*p);
			}
			t->tname = tn;
			t->kind = ATH_T_DIALECT;
		}
	}
	for (uint32_t k = first; k < n; k++) {
		mobj *v = &o->via.array.ptr[k];
		if (v->type == MSGPACK_OBJECT_MAP) {
			if (k != n - 1)
				return fail(err, errlen, "type options must come last");
			if (options(t, v, a, err, errlen))
				return -1;
		} else if (v->type == MSGPACK_OBJECT_NIL && nints < 2) {
			ints[nints++] = -1;
		} else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT32_MAX && nints < 2) {
			ints[nints++] = (int32_t)v->via.u64;
		} else {
			return fail(err, errlen, "type argument %u must be a non-negative integer", k);
		}
	}
	uint32_t maxargs = 2;
	for (size_t i = 0; i < sizeof generic / sizeof *generic; i++)
		if (generic[i].kind == t->kind)
			maxargs = generic[i].maxargs;
	if (t->kind == ATH_T_ENUM)
		maxargs = 0;
	if (t->kind == ATH_T_ARRAY)
		maxargs = 1;
	if (nints > maxargs)
		return fail(err, errlen, "%.*s takes at most %u arguments", (int)name->via.str.size, name->via.str.ptr, maxargs);
	switch (t->kind) {
	case ATH_T_STRING: case ATH_T_UNICODE: case ATH_T_TEXT: case ATH_T_UNICODE_TEXT: case ATH_T_LARGEBINARY:
		t->length = nints ? ints[0] : -1;
		break;
	case ATH_T_FLOAT:
		t->precision = nints ? ints[0] : -1;
		break;
	case ATH_T_NUMERIC:
		t->precision = nints ? ints[0] : -1;
		t->scale = nints > 1 ? ints[1] : -1;
		break;
	case ATH_T_ARRAY:
		t->dims = nints ? ints[0] : -1;
		break;
	case ATH_T_DIALECT:
		t->nargs = nints;
		for (uint32_t i = 0; i < nints; i++)
			t->args[i] = ints[i];
		break;
	default:
		break;
	}
	if ((t->timezone && t->kind != ATH_T_DATETIME && t->kind != ATH_T_TIME) ||
	    (t->kind != ATH_T_ENUM && (t->name && t->kind != ATH_T_BOOLEAN)) ||
	    (!t->native_enum && t->kind != ATH_T_ENUM) ||
	    (t->create_constraint && t->kind != ATH_T_ENUM && t->kind != ATH_T_BOOLEAN))
		return fail(err, errlen, "an option given does not apply to %.*s", (int)name->via.str.size, name->via.str.ptr);
	return 0;
}

bool ath_type__is_integer(const ath_type *t)
{
	if (t->kind == ATH_T_INTEGER || t->kind == ATH_T_BIGINT || t->kind == ATH_T_SMALLINT)
		return true;
	return t->kind == ATH_T_DIALECT && strstr(t->tname, "INT") != NULL;
}

uint32_t ath_type__enum_length(const ath_type *t)
{
	uint32_t len = 0;
	for (uint32_t i = 0; i < t->nvalues; i++) {
		uint32_t chars = 0; /* characters, not bytes: count UTF-8 lead bytes */
		for (const unsigned char *p = (const unsigned char *)t->values[i]; *p; p++)
			chars += (*p & 0xc0) != 0x80;
		if (chars > len)
			len = chars;
	}
	return len;
}
