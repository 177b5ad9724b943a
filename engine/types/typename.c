/* typename.c — CAST target names for the wire's type forms, per dialect family: VARCHAR(10) /
 * CHAR(10) on MySQL, SIGNED INTEGER for MySQL integers, TIMESTAMP WITH TIME ZONE on PostgreSQL,
 * no CAST at all where MySQL cannot cast (Boolean). Mirrors the visit_<TYPE> methods of
 * sqlalchemy/sql/compiler.py GenericTypeCompiler and each dialect's TypeCompiler (and MySQL's
 * visit_cast). Does not do DDL column types, bind or result processing yet. */
#include "typename.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef const msgpack_object mobj;

static int name_is(mobj *o, const char *s)
{
	size_t n = strlen(s);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

/* The i-th positional (non-map) integer argument, or -1. */
static int64_t int_arg(mobj *t, uint32_t i)
{
	uint32_t seen = 0;
	for (uint32_t k = 1; k < t->via.array.size; k++) {
		mobj *a = &t->via.array.ptr[k];
		if (a->type == MSGPACK_OBJECT_MAP)
			continue;
		if (seen++ == i)
			return a->type == MSGPACK_OBJECT_POSITIVE_INTEGER && a->via.u64 < INT32_MAX ? (int64_t)a->via.u64 : -1;
	}
	return -1;
}

static int flag_opt(mobj *t, const char *key)
{
	for (uint32_t k = 1; k < t->via.array.size; k++) {
		mobj *a = &t->via.array.ptr[k];
		if (a->type != MSGPACK_OBJECT_MAP)
			continue;
		for (uint32_t i = 0; i < a->via.map.size; i++)
			if (name_is(&a->via.map.ptr[i].key, key) && a->via.map.ptr[i].val.type == MSGPACK_OBJECT_BOOLEAN)
				return a->via.map.ptr[i].val.via.boolean;
	}
	return 0;
}

/* NAME or NAME(n) or NAME(p, s) */
static void with_args(ath_strbuf *b, const char *name, int64_t a, int64_t c)
{
	ath_strbuf__puts(b, name);
	if (a >= 0 && c >= 0)
		ath_strbuf__printf(b, "(%" PRId64 ", %" PRId64 ")", a, c);
	else if (a >= 0)
		ath_strbuf__printf(b, "(%" PRId64 ")", a);
}

/* Generic types: [sqlite, postgresql, mysql] names; NULL for mysql = no CAST (SQLAlchemy skips it). */
static const struct {
	const char *wire;
	const char *name[3];
	int nargs; /* length / precision arguments rendered */
} generic[] = {
	{ "Integer", { "INTEGER", "INTEGER", "SIGNED INTEGER" }, 0 },
	{ "BigInteger", { "BIGINT", "BIGINT", "SIGNED INTEGER" }, 0 },
	{ "SmallInteger", { "SMALLINT", "SMALLINT", "SIGNED INTEGER" }, 0 },
	{ "Boolean", { "BOOLEAN", "BOOLEAN", NULL }, 0 },
	{ "String", { "VARCHAR", "VARCHAR", "CHAR" }, 1 },
	{ "Unicode", { "VARCHAR", "VARCHAR", "CHAR" }, 1 },
	{ "Text", { "TEXT", "TEXT", "CHAR" }, 0 },
	{ "UnicodeText", { "TEXT", "TEXT", "CHAR" }, 0 },
	{ "Float", { "FLOAT", "FLOAT", "FLOAT" }, 1 },
	{ "Numeric", { "NUMERIC", "NUMERIC", "DECIMAL" }, 2 },
	{ "Date", { "DATE", "DATE", "DATE" }, 0 },
	{ "Interval", { "DATETIME", "INTERVAL", "DATETIME" }, 0 },
	{ "LargeBinary", { "BLOB", "BYTEA", "BINARY" }, 1 },
	{ "JSON", { "JSON", "JSON", "JSON" }, 0 },
};

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

#define NAME_ARGS(name) (int)((name)->via.str.size > 60 ? 60 : (name)->via.str.size), (name)->via.str.ptr

int ath_typename__cast(ath_strbuf *b, const msgpack_object *t, int family, const char *ns, char *err, size_t errlen)
{
	if (t->type != MSGPACK_OBJECT_ARRAY || t->via.array.size == 0 || t->via.array.ptr[0].type != MSGPACK_OBJECT_STR) {
		snprintf(err, errlen, "a type is an array [name, args...]");
		return ATH_TYPENAME_UNKNOWN;
	}
	mobj *name = &t->via.array.ptr[0];
	for (size_t i = 0; i < sizeof generic / sizeof *generic; i++) {
		if (!name_is(name, generic[i].wire))
			continue;
		const char *sql = generic[i].name[family];
		if (!sql)
			return ATH_TYPENAME_SKIP_CAST;
		with_args(b, sql, generic[i].nargs >= 1 && !(family == ATH_TYPES_MYSQL && generic[i].nargs == 1 && name_is(name, "Float")) ? int_arg(t, 0) : -1,
			  generic[i].nargs >= 2 ? int_arg(t, 1) : -1);
		return ATH_TYPENAME_OK;
	}
	if (name_is(name, "DateTime") || name_is(name, "Time")) {
		int is_time = name_is(name, "Time");
		if (family == ATH_TYPES_POSTGRESQL)
			ath_strbuf__puts(b, flag_opt(t, "timezone") ? (is_time ? "TIME WITH TIME ZONE" : "TIMESTAMP WITH TIME ZONE")
								  : (is_time ? "TIME WITHOUT TIME ZONE" : "TIMESTAMP WITHOUT TIME ZONE"));
		else
			ath_strbuf__puts(b, is_time ? "TIME" : "DATETIME");
		return ATH_TYPENAME_OK;
	}
	if (name_is(name, "UUID")) {
		if (family != ATH_TYPES_POSTGRESQL)
			return fail(err, errlen, ATH_TYPENAME_UNSUPPORTED, "type %.*s is not supported by the %s dialect", NAME_ARGS(name), ns);
		ath_strbuf__puts(b, "UUID");
		return ATH_TYPENAME_OK;
	}
	if (name_is(name, "ARRAY")) {
		if (family != ATH_TYPES_POSTGRESQL)
			return fail(err, errlen, ATH_TYPENAME_UNSUPPORTED, "type %.*s is not supported by the %s dialect", NAME_ARGS(name), ns);
		if (t->via.array.size < 2)
			return fail(err, errlen, ATH_TYPENAME_UNKNOWN, "%.*s needs an item type", NAME_ARGS(name));
		int rc = ath_typename__cast(b, &t->via.array.ptr[1], family, ns, err, errlen);
		if (rc)
			return rc;
		int64_t dims = int_arg(t, 1);
		for (int64_t i = 0; i < (dims > 0 ? dims : 1); i++)
			ath_strbuf__puts(b, "[]");
		return ATH_TYPENAME_OK;
	}
	/* dialect types: "postgresql.JSONB", "mysql.TINYINT"; only in their own dialect */
	const char *dot = memchr(name->via.str.ptr, '.', name->via.str.size);
	if (dot) {
		size_t nslen = (size_t)(dot - name->via.str.ptr), tlen = name->via.str.size - nslen - 1;
		if (strlen(ns) != nslen || memcmp(ns, name->via.str.ptr, nslen) != 0)
			return fail(err, errlen, ATH_TYPENAME_UNSUPPORTED, "type %.*s is not supported by the %s dialect", NAME_ARGS(name), ns);
		char tn[64];
		if (tlen == 0 || tlen >= sizeof tn)
			return fail(err, errlen, ATH_TYPENAME_UNKNOWN, "unknown type %.*s", NAME_ARGS(name));
		for (size_t i = 0; i < tlen; i++) {
			char ch = dot[1 + i];
			if (!isalnum((unsigned char)ch) && ch != '_' && ch != ' ')
				return fail(err, errlen, ATH_TYPENAME_UNKNOWN, "unknown type %.*s", NAME_ARGS(name));
			tn[i] = (char)toupper((unsigned char)ch);
		}
		tn[tlen] = '\0';
		if (family == ATH_TYPES_MYSQL && strstr(tn, "INT")) {
			ath_strbuf__puts(b, "SIGNED INTEGER"); /* MySQL casts every integer type as SIGNED INTEGER */
			return ATH_TYPENAME_OK;
		}
		with_args(b, tn, int_arg(t, 0), int_arg(t, 1));
		return ATH_TYPENAME_OK;
	}
	return fail(err, errlen, ATH_TYPENAME_UNKNOWN, "unknown type %.*s", NAME_ARGS(name));
}
