/* process.c — bind and result processors by type (process.h): checking and converting a bound
 * value of a typed column into the form the drivers bind, and turning what a driver read back
 * (SQLite's ISO-8601 text, MySQL's CHAR(32) UUIDs and JSON text, PostgreSQL's array text) into the
 * wire's values; plus the JSON codec the JSON type needs. Mirrors sqlalchemy/sql/sqltypes.py
 * (Integer, Boolean, Numeric, DateTime, Interval, JSON, Enum processors) and the SQLite dialect's
 * DATE/DATETIME/TIME storage formats (sqlalchemy/dialects/sqlite/base.py). Which column a bind
 * belongs to is the compiler's; how a driver sends a value is each driver's. */
#include "types/process.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ext.h"

/* ---- choosing ----------------------------------------------------------------------------- */

static uint8_t proc_of(const ath_type *t)
{
	switch (t->kind) {
	case ATH_T_INTEGER:
	case ATH_T_BIGINT:
	case ATH_T_SMALLINT: return ATH_PROC_INT;
	case ATH_T_BOOLEAN: return ATH_PROC_BOOL;
	case ATH_T_STRING:
	case ATH_T_TEXT:
	case ATH_T_UNICODE:
	case ATH_T_UNICODE_TEXT: return ATH_PROC_STR;
	case ATH_T_FLOAT:
	case ATH_T_DOUBLE: return ATH_PROC_FLOAT;
	case ATH_T_NUMERIC: return ATH_PROC_NUMERIC;
	case ATH_T_DATE: return ATH_PROC_DATE;
	case ATH_T_DATETIME: return ATH_PROC_DATETIME;
	case ATH_T_TIME: return ATH_PROC_TIME; /* with timezone: PostgreSQL only (ath_typeproc__make) */
	case ATH_T_INTERVAL: return ATH_PROC_INTERVAL;
	case ATH_T_LARGEBINARY: return ATH_PROC_BINARY;
	case ATH_T_ENUM: return ATH_PROC_ENUM;
	case ATH_T_JSON: return ATH_PROC_JSON;
	case ATH_T_UUID: return ATH_PROC_UUID;
	case ATH_T_ARRAY: return t->item ? ATH_PROC_ARRAY : ATH_PROC_NONE;
	case ATH_T_DIALECT:
		if (!t->tname)
			return ATH_PROC_NONE;
		if (strcmp(t->tname, "JSONB") == 0 || strcmp(t->tname, "JSON") == 0)
			return ATH_PROC_JSON;
		/* mysql.DATETIME(6) / TIMESTAMP / TIME(6) / DATE: the generic forms with a precision */
		if (strcmp(t->tname, "DATETIME") == 0 || strcmp(t->tname, "TIMESTAMP") == 0)
			return ATH_PROC_DATETIME;
		if (strcmp(t->tname, "TIME") == 0)
			return ATH_PROC_TIME;
		if (strcmp(t->tname, "DATE") == 0)
			return ATH_PROC_DATE;
		if (strstr(t->tname, "INT"))
			return ATH_PROC_INT;
		return ATH_PROC_NONE;
	default: return ATH_PROC_NONE;
	}
}

const ath_typeproc *ath_typeproc__make(const ath_type *t, const char *dialect_name, const char *table,
				       const char *column, ath_arena *arena, int *oom)
{
	uint8_t p = t ? proc_of(t) : ATH_PROC_NONE;
	if (p == ATH_PROC_NONE)
		return NULL;
	/* TIME WITH TIME ZONE exists on PostgreSQL only; elsewhere Time(timezone=True) stays untyped */
	if (t->kind == ATH_T_TIME && t->timezone && strcmp(dialect_name, "postgresql") != 0)
		return NULL;
	ath_typeproc *tp = ath_arena__zalloc(arena, sizeof *tp);
	if (!tp) {
		*oom = 1;
		return NULL;
	}
	tp->proc = p;
	tp->timezone = t->timezone;
	tp->scale = t->kind == ATH_T_NUMERIC ? t->scale : -1;
	tp->type = t;
	tp->table = table;
	tp->column = column;
	tp->min = INT64_MIN;
	tp->max = INT64_MAX;
	/* SQLite's INTEGER is 64-bit whatever the declared name (SQLAlchemy does not check ranges) */
	if (strcmp(dialect_name, "sqlite") != 0) {
		if (t->kind == ATH_T_SMALLINT) {
			tp->min = INT16_MIN;
			tp->max = INT16_MAX;
		} else if (t->kind == ATH_T_INTEGER) {
			tp->min = INT32_MIN;
			tp->max = INT32_MAX;
		}
	}
	if (p == ATH_PROC_ARRAY) {
		tp->item = ath_typeproc__make(t->item, dialect_name, table, column, arena, oom);
		if (*oom)
			return NULL;
	}
	return tp;
}

/* ---- checking ----------------------------------------------------------------------------- */

static const char *kind_name(const msgpack_object *v)
{
	switch (v->type) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "bool";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "int";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "float";
	case MSGPACK_OBJECT_STR: return "str";
	case MSGPACK_OBJECT_BIN: return "bin";
	case MSGPACK_OBJECT_ARRAY: return "array";
	case MSGPACK_OBJECT_MAP: return "map";
	case MSGPACK_OBJECT_EXT:
		switch (v->via.ext.type) {
		case -1: return "timestamp (ext -1)";
		case 2: return "decimal (ext 2)";
		case 3: return "date (ext 3)";
		case 4: return "time (ext 4)";
		case 5: return "datetime (ext 5)";
		case 6: return "interval (ext 6)";
		case 7: return "uuid (ext 7)";
		default: return "ext";
		}
	}
	return "?";
}

static int wrong(const ath_typeproc *tp, ath_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int wrong(const ath_typeproc *tp, ath_err *err, const char *fmt, ...)
{
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (tp->column)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR, "column %s%s%s: %s", tp->table ? tp->table : "",
				    tp->table ? "." : "", tp->column, what);
	return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR, "%s", what);
}

static int digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* "YYYY-MM-DD" at p (exactly 10 characters) */
static int check_date(const char *p, size_t n, int *y, int *m, int *d)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (n != 10 || p[4] != '-' || p[7] != '-')
		return -1;
	*y = digits(p, 4);
	*m = digits(p + 5, 2);
	*d = digits(p + 8, 2);
	if (*y < 1 || *m < 1 || *m > 12 || *d < 1)
		return -1;
	return *d <= mdays[*m - 1] + (*m == 2 && leap(*y)) ? 0 : -1;
}

/* "HH:MM:SS[.f{1,6}]"; *us = the fraction in microseconds */
static int check_time(const char *p, size_t n, int *h, int *mi, int *s, int *us)
{
	if (n < 8 || p[2] != ':' || p[5] != ':')
		return -1;
	*h = digits(p, 2);
	*mi = digits(p + 3, 2);
	*s = digits(p + 6, 2);
	*us = 0;
	if (*h < 0 || *h > 23 || *mi < 0 || *mi > 59 || *s < 0 || *s > 59)
		return -1;
	if (n == 8)
		return 0;
	if (p[8] != '.' || n == 9 || n > 15)
		return -1;
	int f = digits(p + 9, (int)n - 9);
	if (f < 0)
		return -1;
	for (size_t k = n - 9; k < 6; k++)
		f *= 10;
	*us = f;
	return 0;
}

/* "HH:MM:SS[.f]" followed by a UTC offset "+HH", "+HH:MM" or "+HH:MM:SS" (PostgreSQL's timetz
 * text, Python's time.isoformat() of an aware time); *off in seconds east of UTC. */
static int check_time_tz(const char *p, size_t n, int *h, int *mi, int *s, int *us, int *off)
{
	size_t k = 8;
	while (k < n && p[k] != '+' && p[k] != '-')
		k++;
	if (k == n || check_time(p, k, h, mi, s, us))
		return -1;
	const char *o = p + k + 1;
	size_t on = n - k - 1;
	int oh = on >= 2 ? digits(o, 2) : -1, om = 0, os = 0;
	if (oh < 0 || oh > 23 || !(on == 2 || on == 5 || on == 8))
		return -1;
	if (on >= 5 && (o[2] != ':' || (om = digits(o + 3, 2)) < 0 || om > 59))
		return -1;
	if (on == 8 && (o[5] != ':' || (os = digits(o + 6, 2)) < 0 || os > 59))
		return -1;
	*off = (p[k] == '-' ? -1 : 1) * (oh * 3600 + om * 60 + os);
	return 0;
}

/* "YYYY-MM-DD[T ]HH:MM:SS[.f]" */
static int check_datetime(const char *p, size_t n, int f[7])
{
	if (n < 19 || (p[10] != 'T' && p[10] != ' '))
		return -1;
	return check_date(p, 10, &f[0], &f[1], &f[2]) || check_time(p + 11, n - 11, &f[3], &f[4], &f[5], &f[6]) ? -1 : 0;
}

static int check_decimal(const char *p, size_t n)
{
	size_t i = 0, nd = 0;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		i++;
	for (; i < n && isdigit((unsigned char)p[i]); i++)
		nd++;
	if (i < n && p[i] == '.')
		for (i++; i < n && isdigit((unsigned char)p[i]); i++)
			nd++;
	if (!nd)
		return -1;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		size_t e = i;
		while (i < n && isdigit((unsigned char)p[i]))
			i++;
		if (i == e)
			return -1;
	}
	return i == n ? 0 : -1;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* 32 hex digits, dashes allowed between them (the forms Python's uuid.UUID() takes) */
static int parse_uuid(const char *s, size_t n, unsigned char out[16])
{
	int k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-' && (n == 36 || n == 38))
			continue;
		if ((s[i] == '{' && i == 0) || (s[i] == '}' && i == n - 1))
			continue;
		if (k == 32 || hexval(s[i]) < 0)
			return -1;
		if (k % 2 == 0)
			out[k / 2] = (unsigned char)(hexval(s[i]) << 4);
		else
			out[k / 2] |= (unsigned char)hexval(s[i]);
		k++;
	}
	return k == 32 ? 0 : -1;
}

static msgpack_object *new_obj(ath_arena *a)
{
	if (!a->chunk_size)
		ath_arena__init(a, 512);
	return ath_arena__zalloc(a, sizeof(msgpack_object));
}

static int made_str(ath_arena *a, msgpack_object_type type, int8_t ext, const char *s, size_t n,
		    const msgpack_object **out, ath_err *err)
{
	msgpack_object *o = new_obj(a);
	char *copy = o ? ath_arena__strndup(a, n ? s : "", n) : NULL;
	if (!copy)
		return ath_err__oom(err);
	o->type = type;
	if (type == MSGPACK_OBJECT_EXT) {
		o->via.ext.type = ext;
		o->via.ext.ptr = copy;
		o->via.ext.size = (uint32_t)n;
	} else {
		o->via.str.ptr = copy;
		o->via.str.size = (uint32_t)n;
	}
	*out = o;
	return 0;
}

/* shortest text that reads back as the same double */
static void put_double(ath_strbuf *b, double v)
{
	char buf[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	ath_strbuf__puts(b, buf);
	if (!strpbrk(buf, ".eEni"))
		ath_strbuf__puts(b, ".0");
}

static int is_int(const msgpack_object *v)
{
	return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER || v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

static int array_literal(ath_strbuf *b, const ath_typeproc *tp, const msgpack_object *v, ath_arena *scratch,
			 ath_err *err);

int ath_typeproc__bind(const ath_typeproc *tp, const msgpack_object *v, const msgpack_object **out, ath_arena *scratch,
		       ath_err *err)
{
	*out = v;
	if (!tp || v->type == MSGPACK_OBJECT_NIL)
		return 0;
	int f[7];
	switch (tp->proc) {
	case ATH_PROC_INT:
		if (tp->any_number && (is_int(v) || v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64 ||
				       (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 2)))
			return 0;
		if (v->type == MSGPACK_OBJECT_BOOLEAN) {
			msgpack_object *o = new_obj(scratch);
			if (!o)
				return ath_err__oom(err);
			o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
			o->via.u64 = v->via.boolean;
			*out = o;
			return 0;
		}
		if (!is_int(v))
			return wrong(tp, err, "expected an integer, got %s", kind_name(v));
		if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? v->via.u64 > (uint64_t)tp->max : v->via.i64 < tp->min) {
			if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				return wrong(tp, err, "integer %" PRIu64 " is out of range (%" PRId64 "..%" PRId64 ")",
					     v->via.u64, tp->min, tp->max);
			return wrong(tp, err, "integer %" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")", v->via.i64,
				     tp->min, tp->max);
		}
		return 0;
	case ATH_PROC_BOOL:
		if (v->type == MSGPACK_OBJECT_BOOLEAN)
			return 0;
		if (is_int(v) && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= 1) {
			static const msgpack_object t = { .type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = true };
			static const msgpack_object fa = { .type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = false };
			*out = v->via.u64 ? &t : &fa;
			return 0;
		}
		/* SQLAlchemy's Boolean: "Value ... is not None, True, or False" */
		return wrong(tp, err, "expected a bool, got %s", kind_name(v));
	case ATH_PROC_STR:
		return v->type == MSGPACK_OBJECT_STR ? 0 : wrong(tp, err, "expected a string, got %s", kind_name(v));
	case ATH_PROC_ENUM:
		if (v->type != MSGPACK_OBJECT_STR)
			return wrong(tp, err, "expected a string, got %s", kind_name(v));
		for (uint32_t i = 0; i < tp->type->nvalues; i++)
			if (strlen(tp->type->values[i]) == v->via.str.size &&
			    memcmp(tp->type->values[i], v->via.str.ptr, v->via.str.size) == 0)
				return 0;
		/* SQLAlchemy's Enum._db_value_for_elem LookupError */
		return wrong(tp, err, "'%.*s' is not among the defined enum values", (int)(v->via.str.size > 60 ? 60 : v->via.str.size),
			     v->via.str.ptr);
	case ATH_PROC_FLOAT:
		if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
			return 0;
		if (is_int(v) || (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 2)) {
			msgpack_object *o = new_obj(scratch);
			if (!o)
				return ath_err__oom(err);
			o->type = MSGPACK_OBJECT_FLOAT64;
			if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				o->via.f64 = (double)v->via.u64;
			else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
				o->via.f64 = (double)v->via.i64;
			else {
				char buf[64];
				if (v->via.ext.size >= sizeof buf || check_decimal(v->via.ext.ptr, v->via.ext.size))
					return wrong(tp, err, "malformed decimal");
				memcpy(buf, v->via.ext.ptr, v->via.ext.size);
				buf[v->via.ext.size] = '\0';
				o->via.f64 = strtod(buf, NULL);
			}
			*out = o;
			return 0;
		}
		return wrong(tp, err, "expected a float, got %s", kind_name(v));
	case ATH_PROC_NUMERIC: {
		if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 2)
			return check_decimal(v->via.ext.ptr, v->via.ext.size) ? wrong(tp, err, "malformed decimal '%.*s'",
										      (int)(v->via.ext.size > 60 ? 60 : v->via.ext.size), v->via.ext.ptr) : 0;
		ath_strbuf b = { 0 };
		if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			ath_strbuf__printf(&b, "%" PRIu64, v->via.u64);
		else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			ath_strbuf__printf(&b, "%" PRId64, v->via.i64);
		else if ((v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64) && isfinite(v->via.f64))
			put_double(&b, v->via.f64);
		else
			return wrong(tp, err, "expected a decimal (ext 2), int or finite float, got %s", kind_name(v));
		int rc = b.oom ? ath_err__oom(err) : made_str(scratch, MSGPACK_OBJECT_EXT, 2, b.ptr, b.len, out, err);
		ath_strbuf__free(&b);
		return rc;
	}
	case ATH_PROC_DATE:
		if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 3) {
			if (check_date(v->via.ext.ptr, v->via.ext.size, &f[0], &f[1], &f[2]))
				return wrong(tp, err, "malformed date '%.*s'", (int)(v->via.ext.size > 40 ? 40 : v->via.ext.size),
					     v->via.ext.ptr);
			return 0;
		}
		return wrong(tp, err, "expected a date (ext 3), got %s", kind_name(v));
	case ATH_PROC_TIME:
		if (tp->timezone) { /* Time(timezone=True): an aware time, as DateTime(timezone=True) wants an instant */
			if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 4) {
				if (check_time_tz(v->via.ext.ptr, v->via.ext.size, &f[0], &f[1], &f[2], &f[3], &f[4]))
					return wrong(tp, err, "malformed time with UTC offset '%.*s'",
						     (int)(v->via.ext.size > 40 ? 40 : v->via.ext.size), v->via.ext.ptr);
				return 0;
			}
			return wrong(tp, err, "expected a time with a UTC offset (ext 4, HH:MM:SS[.f]+HH:MM), got %s", kind_name(v));
		}
		if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 4) {
			if (check_time(v->via.ext.ptr, v->via.ext.size, &f[0], &f[1], &f[2], &f[3]))
				return wrong(tp, err, "malformed time '%.*s'", (int)(v->via.ext.size > 40 ? 40 : v->via.ext.size),
					     v->via.ext.ptr);
			return 0;
		}
		return wrong(tp, err, "expected a time (ext 4), got %s", kind_name(v));
	case ATH_PROC_DATETIME:
		if (tp->timezone) {
			int64_t secs;
			uint32_t nsec;
			if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == -1)
				return ath_wire__ext_timestamp(v->via.ext.ptr, v->via.ext.size, &secs, &nsec) ?
					       wrong(tp, err, "malformed timestamp (ext -1)") : 0;
			return wrong(tp, err, "expected a timezone-aware timestamp (ext -1), got %s", kind_name(v));
		}
		if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 5) {
			if (check_datetime(v->via.ext.ptr, v->via.ext.size, f))
				return wrong(tp, err, "malformed datetime '%.*s'", (int)(v->via.ext.size > 40 ? 40 : v->via.ext.size),
					     v->via.ext.ptr);
			return 0;
		}
		return wrong(tp, err, "expected a naive datetime (ext 5), got %s", kind_name(v));
	case ATH_PROC_INTERVAL:
		if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 6 && v->via.ext.size == 8)
			return 0;
		return wrong(tp, err, "expected an interval (ext 6), got %s", kind_name(v));
	case ATH_PROC_BINARY:
		return v->type == MSGPACK_OBJECT_BIN ? 0 : wrong(tp, err, "expected bytes (bin), got %s", kind_name(v));
	case ATH_PROC_UUID: {
		unsigned char u[16];
		if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 7)
			return v->via.ext.size == 16 ? 0 : wrong(tp, err, "malformed uuid (ext 7)");
		if (v->type == MSGPACK_OBJECT_STR && parse_uuid(v->via.str.ptr, v->via.str.size, u) == 0)
			return made_str(scratch, MSGPACK_OBJECT_EXT, 7, (const char *)u, 16, out, err);
		if (v->type == MSGPACK_OBJECT_BIN && v->via.bin.size == 16)
			return made_str(scratch, MSGPACK_OBJECT_EXT, 7, v->via.bin.ptr, 16, out, err);
		return wrong(tp, err, "expected a uuid (ext 7 or its text), got %s", kind_name(v));
	}
	case ATH_PROC_JSON: {
		ath_strbuf b = { 0 };
		const char *why = NULL;
		int rc = ath_json__encode(&b, v, &why);
		if (rc == 0 && b.oom)
			rc = ath_err__oom(err);
		else if (rc)
			rc = wrong(tp, err, "cannot be serialized as JSON: %s", why);
		else
			rc = made_str(scratch, MSGPACK_OBJECT_STR, 0, b.ptr, b.len, out, err);
		ath_strbuf__free(&b);
		return rc;
	}
	case ATH_PROC_ARRAY: {
		if (v->type != MSGPACK_OBJECT_ARRAY)
			return wrong(tp, err, "expected a list, got %s", kind_name(v));
		ath_strbuf b = { 0 };
		int rc = array_literal(&b, tp->item, v, scratch, err);
		if (!rc)
			rc = b.oom ? ath_err__oom(err) : made_str(scratch, MSGPACK_OBJECT_STR, 0, b.ptr, b.len, out, err);
		ath_strbuf__free(&b);
		return rc;
	}
	default: return 0;
	}
}

/* PostgreSQL's array input syntax: {1,2,NULL,"a \"b\""}; nested lists are sub-arrays. */
static int array_literal(ath_strbuf *b, const ath_typeproc *item, const msgpack_object *v, ath_arena *scratch,
			 ath_err *err)
{
	ath_strbuf__putc(b, '{');
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		const msgpack_object *e = &v->via.array.ptr[i];
		int rc;
		if (i)
			ath_strbuf__putc(b, ',');
		if (e->type == MSGPACK_OBJECT_ARRAY) {
			if ((rc = array_literal(b, item, e, scratch, err)))
				return rc;
			continue;
		}
		if ((rc = ath_typeproc__bind(item, e, &e, scratch, err)))
			return rc;
		switch (e->type) {
		case MSGPACK_OBJECT_NIL: ath_strbuf__puts(b, "NULL"); break;
		case MSGPACK_OBJECT_BOOLEAN: ath_strbuf__puts(b, e->via.boolean ? "t" : "f"); break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER: ath_strbuf__printf(b, "%" PRIu64, e->via.u64); break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER: ath_strbuf__printf(b, "%" PRId64, e->via.i64); break;
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64: put_double(b, e->via.f64); break;
		case MSGPACK_OBJECT_STR:
		case MSGPACK_OBJECT_EXT: {
			const char *p = e->type == MSGPACK_OBJECT_STR ? e->via.str.ptr : e->via.ext.ptr;
			uint32_t n = e->type == MSGPACK_OBJECT_STR ? e->via.str.size : e->via.ext.size;
			if (e->type == MSGPACK_OBJECT_EXT && (e->via.ext.type < 2 || e->via.ext.type > 5))
				return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
						    "column %s.%s: an ARRAY item of %s is not supported", item->table,
						    item->column, kind_name(e));
			ath_strbuf__putc(b, '"');
			for (uint32_t k = 0; k < n; k++) {
				if (p[k] == '"' || p[k] == '\\')
					ath_strbuf__putc(b, '\\');
				ath_strbuf__putc(b, p[k]);
			}
			ath_strbuf__putc(b, '"');
			break;
		}
		default:
			return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_DATA_ERROR,
					    "column %s.%s: an ARRAY item of %s is not supported", item->table, item->column,
					    kind_name(e));
		}
	}
	ath_strbuf__putc(b, '}');
	return 0;
}

/* ---- results ------------------------------------------------------------------------------ */

static int pack_ext(msgpack_packer *pk, int8_t type, const char *s, size_t n)
{
	if (msgpack_pack_ext(pk, n, type) < 0)
		return -1;
	return msgpack_pack_ext_body(pk, s, n);
}

/* days from 1970-01-01 (proleptic Gregorian; Howard Hinnant's days_from_civil) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* the datetime text/ext of a driver value: str or ext 5 */
static int dt_fields(const msgpack_object *v, int f[7])
{
	if (v->type == MSGPACK_OBJECT_STR)
		return check_datetime(v->via.str.ptr, v->via.str.size, f);
	if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 5)
		return check_datetime(v->via.ext.ptr, v->via.ext.size, f);
	return -1;
}

/* Python's isoformat: the fraction only when not zero, then 6 digits */
static int pack_time_text(msgpack_packer *pk, int8_t type, const char *date, int h, int mi, int s, int us)
{
	char buf[40];
	int n = snprintf(buf, sizeof buf, "%s%s%02d:%02d:%02d", date ? date : "", date ? "T" : "", h, mi, s);
	if (us)
		n += snprintf(buf + n, sizeof buf - (size_t)n, ".%06d", us);
	return pack_ext(pk, type, buf, (size_t)n);
}

/* an aware time as Python's isoformat: 03:04:05[.ffffff]+02:00 (seconds of the offset when not 0) */
static int pack_time_tz(msgpack_packer *pk, int h, int mi, int s, int us, int off)
{
	char buf[48];
	int n = snprintf(buf, sizeof buf, "%02d:%02d:%02d", h, mi, s), a = off < 0 ? -off : off;
	if (us)
		n += snprintf(buf + n, sizeof buf - (size_t)n, ".%06d", us);
	n += snprintf(buf + n, sizeof buf - (size_t)n, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
	if (a % 60)
		n += snprintf(buf + n, sizeof buf - (size_t)n, ":%02d", a % 60);
	return pack_ext(pk, 4, buf, (size_t)n);
}

static int pack_instant(msgpack_packer *pk, int8_t type, int64_t secs, uint32_t nsec)
{
	char buf[12];
	if (type == 6) {
		int64_t us = secs * 1000000 + nsec / 1000;
		for (int i = 0; i < 8; i++)
			buf[i] = (char)((uint64_t)us >> (56 - 8 * i));
		return pack_ext(pk, 6, buf, 8);
	}
	for (int i = 0; i < 4; i++)
		buf[i] = (char)(nsec >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		buf[4 + i] = (char)((uint64_t)secs >> (56 - 8 * i));
	return pack_ext(pk, -1, buf, 12);
}

static int pack_pg_array(msgpack_packer *pk, const ath_typeproc *item, const char **sp, const char *end);

int ath_typeproc__passthrough(const ath_typeproc *tp)
{
	return tp->proc == ATH_PROC_INT || tp->proc == ATH_PROC_STR || tp->proc == ATH_PROC_ENUM ||
	       tp->proc == ATH_PROC_BINARY;
}

int ath_typeproc__result(const ath_typeproc *tp, const msgpack_object *v, msgpack_packer *pk)
{
	int f[7];
	if (!tp || v->type == MSGPACK_OBJECT_NIL)
		return msgpack_pack_object(pk, *v);
	switch (tp->proc) {
	case ATH_PROC_BOOL:
		if (is_int(v))
			return v->via.i64 ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
		break;
	case ATH_PROC_FLOAT:
		if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			return msgpack_pack_double(pk, (double)v->via.u64);
		if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			return msgpack_pack_double(pk, (double)v->via.i64);
		if (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 2 && v->via.ext.size < 64) {
			char buf[64];
			memcpy(buf, v->via.ext.ptr, v->via.ext.size);
			buf[v->via.ext.size] = '\0';
			return msgpack_pack_double(pk, strtod(buf, NULL));
		}
		break;
	case ATH_PROC_NUMERIC: {
		/* SQLite: an INTEGER or REAL (NUMERIC affinity), read as SQLAlchemy's
		 * to_decimal_processor_factory does: "%.{scale}f", 10 digits without a scale */
		char buf[400];
		int n = -1, scale = tp->scale >= 0 ? tp->scale : 10;
		if (scale > 60)
			scale = 60;
		if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32) {
			if (isfinite(v->via.f64))
				n = snprintf(buf, sizeof buf, "%.*f", scale, v->via.f64);
		} else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER || v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
			n = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? snprintf(buf, 64, "%" PRIu64, v->via.u64)
								       : snprintf(buf, 64, "%" PRId64, v->via.i64);
			if (tp->scale > 0) {
				buf[n++] = '.';
				for (int k = 0; k < scale; k++)
					buf[n++] = '0';
				buf[n] = '\0';
			}
		} else if (v->type == MSGPACK_OBJECT_STR && check_decimal(v->via.str.ptr, v->via.str.size) == 0) {
			return pack_ext(pk, 2, v->via.str.ptr, v->via.str.size);
		}
		if (n > 0 && (size_t)n < sizeof buf)
			return pack_ext(pk, 2, buf, (size_t)n);
		break;
	}
	case ATH_PROC_DATE:
		if (v->type == MSGPACK_OBJECT_STR && check_date(v->via.str.ptr, v->via.str.size, &f[0], &f[1], &f[2]) == 0)
			return pack_ext(pk, 3, v->via.str.ptr, 10);
		break;
	case ATH_PROC_TIME: {
		const char *p = v->type == MSGPACK_OBJECT_STR ? v->via.str.ptr : v->via.ext.ptr;
		uint32_t n = v->type == MSGPACK_OBJECT_STR ? v->via.str.size : v->via.ext.size;
		int text = v->type == MSGPACK_OBJECT_STR || (v->type == MSGPACK_OBJECT_EXT && v->via.ext.type == 4);
		if (text && tp->timezone && check_time_tz(p, n, &f[0], &f[1], &f[2], &f[3], &f[4]) == 0)
			return pack_time_tz(pk, f[0], f[1], f[2], f[3], f[4]);
		if (text && !tp->timezone && check_time(p, n, &f[0], &f[1], &f[2], &f[3]) == 0)
			return pack_time_text(pk, 4, NULL, f[0], f[1], f[2], f[3]);
		break;
	}
	case ATH_PROC_DATETIME:
		if (dt_fields(v, f) == 0) {
			if (tp->timezone) /* stored as UTC where the backend has no time zones */
				return pack_instant(pk, -1,
						    days_from_civil(f[0], (unsigned)f[1], (unsigned)f[2]) * 86400 + f[3] * 3600 +
							    f[4] * 60 + f[5],
						    (uint32_t)f[6] * 1000);
			char date[11];
			snprintf(date, sizeof date, "%04d-%02d-%02d", f[0], f[1], f[2]);
			return pack_time_text(pk, 5, date, f[3], f[4], f[5], f[6]);
		}
		break;
	case ATH_PROC_INTERVAL:
		if (dt_fields(v, f) == 0) /* epoch + the interval (SQLAlchemy's _AbstractInterval on SQLite/MySQL) */
			return pack_instant(pk, 6,
					    days_from_civil(f[0], (unsigned)f[1], (unsigned)f[2]) * 86400 + f[3] * 3600 +
						    f[4] * 60 + f[5],
					    (uint32_t)f[6] * 1000);
		break;
	case ATH_PROC_UUID: {
		unsigned char u[16];
		if (v->type == MSGPACK_OBJECT_STR && parse_uuid(v->via.str.ptr, v->via.str.size, u) == 0)
			return pack_ext(pk, 7, (const char *)u, 16);
		if (v->type == MSGPACK_OBJECT_BIN && v->via.bin.size == 16)
			return pack_ext(pk, 7, v->via.bin.ptr, 16);
		break;
	}
	case ATH_PROC_JSON:
		if (v->type == MSGPACK_OBJECT_STR || v->type == MSGPACK_OBJECT_BIN) {
			const char *p = v->type == MSGPACK_OBJECT_STR ? v->via.str.ptr : v->via.bin.ptr;
			size_t n = v->type == MSGPACK_OBJECT_STR ? v->via.str.size : v->via.bin.size;
			/* parse into a scratch packer first: a half-written value cannot be taken back */
			msgpack_sbuffer sb;
			msgpack_sbuffer_init(&sb);
			msgpack_packer tmp;
			msgpack_packer_init(&tmp, &sb, msgpack_sbuffer_write);
			int rc = ath_json__decode(&tmp, p, n);
			if (rc == 0)
				rc = pk->callback(pk->data, sb.data, sb.size);
			msgpack_sbuffer_destroy(&sb);
			if (rc != -1)
				return rc < 0 ? -1 : 0;
		}
		break;
	case ATH_PROC_ARRAY:
		if (v->type == MSGPACK_OBJECT_STR && v->via.str.size && v->via.str.ptr[0] == '{') {
			msgpack_sbuffer sb;
			msgpack_sbuffer_init(&sb);
			msgpack_packer tmp;
			msgpack_packer_init(&tmp, &sb, msgpack_sbuffer_write);
			const char *s = v->via.str.ptr;
			int rc = pack_pg_array(&tmp, tp->item, &s, v->via.str.ptr + v->via.str.size);
			if (rc == 0)
				rc = pk->callback(pk->data, sb.data, sb.size);
			msgpack_sbuffer_destroy(&sb);
			if (rc != -2)
				return rc < 0 ? -1 : 0;
		}
		break;
	default: break;
	}
	return msgpack_pack_object(pk, *v);
}

/* One element of PostgreSQL's array output, by the item type. -2 = not parsable. */
static int pack_pg_item(msgpack_packer *pk, const ath_typeproc *item, const char *s, size_t n, int quoted)
{
	if (!quoted && n == 4 && memcmp(s, "NULL", 4) == 0)
		return msgpack_pack_nil(pk);
	char buf[64];
	msgpack_object v = { .type = MSGPACK_OBJECT_STR, .via.str = { (uint32_t)n, s } };
	switch (item ? item->proc : ATH_PROC_NONE) {
	case ATH_PROC_INT:
		if (n >= sizeof buf)
			return -2;
		memcpy(buf, s, n);
		buf[n] = '\0';
		return msgpack_pack_int64(pk, strtoll(buf, NULL, 10));
	case ATH_PROC_FLOAT:
		if (n >= sizeof buf)
			return -2;
		memcpy(buf, s, n);
		buf[n] = '\0';
		return msgpack_pack_double(pk, strtod(buf, NULL));
	case ATH_PROC_BOOL: return n && s[0] == 't' ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	case ATH_PROC_NUMERIC: return pack_ext(pk, 2, s, n);
	default: return ath_typeproc__result(item, &v, pk);
	}
}

static int pack_pg_array(msgpack_packer *pk, const ath_typeproc *item, const char **sp, const char *end)
{
	const char *s = *sp;
	if (s >= end || *s != '{')
		return -2;
	s++;
	/* count the top-level elements first: msgpack needs the size up front */
	uint32_t count = 0;
	int depth = 0, inq = 0, any = 0;
	for (const char *p = s; p < end; p++) {
		if (inq) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				inq = 0;
			continue;
		}
		if (*p == '"')
			inq = 1;
		else if (*p == '{')
			depth++;
		else if (*p == '}') {
			if (depth-- == 0)
				break;
		} else if (*p == ',' && depth == 0)
			count++;
		any = 1;
	}
	if (any)
		count++;
	if (msgpack_pack_array(pk, count) < 0)
		return -1;
	ath_strbuf tok = { 0 };
	int rc = 0;
	for (uint32_t i = 0; i < count && !rc; i++) {
		if (s >= end) {
			rc = -2;
			break;
		}
		if (*s == '{') {
			rc = pack_pg_array(pk, item, &s, end);
		} else if (*s == '"') {
			ath_strbuf__reset(&tok);
			for (s++; s < end && *s != '"'; s++) {
				if (*s == '\\' && s + 1 < end)
					s++;
				ath_strbuf__putc(&tok, *s);
			}
			if (s >= end) {
				rc = -2;
				break;
			}
			s++;
			rc = pack_pg_item(pk, item, tok.ptr ? tok.ptr : "", tok.len, 1);
		} else {
			const char *b = s;
			while (s < end && *s != ',' && *s != '}')
				s++;
			rc = pack_pg_item(pk, item, b, (size_t)(s - b), 0);
		}
		if (s < end && *s == ',')
			s++;
	}
	ath_strbuf__free(&tok);
	if (rc)
		return rc;
	if (s >= end || *s != '}')
		return -2;
	*sp = s + 1;
	return 0;
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void json_string(ath_strbuf *b, const char *s, uint32_t n)
{
	ath_strbuf__putc(b, '"');
	for (uint32_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '"': ath_strbuf__puts(b, "\\\""); break;
		case '\\': ath_strbuf__puts(b, "\\\\"); break;
		case '\n': ath_strbuf__puts(b, "\\n"); break;
		case '\r': ath_strbuf__puts(b, "\\r"); break;
		case '\t': ath_strbuf__puts(b, "\\t"); break;
		case '\b': ath_strbuf__puts(b, "\\b"); break;
		case '\f': ath_strbuf__puts(b, "\\f"); break;
		default:
			if (ch < 0x20)
				ath_strbuf__printf(b, "\\u%04x", ch);
			else
				ath_strbuf__putc(b, (char)ch);
		}
	}
	ath_strbuf__putc(b, '"');
}

int ath_json__encode(ath_strbuf *b, const msgpack_object *v, const char **why)
{
	switch (v->type) {
	case MSGPACK_OBJECT_NIL: ath_strbuf__puts(b, "null"); return 0;
	case MSGPACK_OBJECT_BOOLEAN: ath_strbuf__puts(b, v->via.boolean ? "true" : "false"); return 0;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: ath_strbuf__printf(b, "%" PRIu64, v->via.u64); return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: ath_strbuf__printf(b, "%" PRId64, v->via.i64); return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(v->via.f64)) {
			*why = "a non-finite float";
			return -1;
		}
		put_double(b, v->via.f64);
		return 0;
	case MSGPACK_OBJECT_STR: json_string(b, v->via.str.ptr, v->via.str.size); return 0;
	case MSGPACK_OBJECT_ARRAY:
		ath_strbuf__putc(b, '[');
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			if (i)
				ath_strbuf__puts(b, ", ");
			if (ath_json__encode(b, &v->via.array.ptr[i], why))
				return -1;
		}
		ath_strbuf__putc(b, ']');
		return 0;
	case MSGPACK_OBJECT_MAP:
		ath_strbuf__putc(b, '{');
		for (uint32_t i = 0; i < v->via.map.size; i++) {
			const msgpack_object_kv *kv = &v->via.map.ptr[i];
			if (kv->key.type != MSGPACK_OBJECT_STR) {
				*why = "a map key that is not a string";
				return -1;
			}
			if (i)
				ath_strbuf__puts(b, ", ");
			json_string(b, kv->key.via.str.ptr, kv->key.via.str.size);
			ath_strbuf__puts(b, ": ");
			if (ath_json__encode(b, &kv->val, why))
				return -1;
		}
		ath_strbuf__putc(b, '}');
		return 0;
	case MSGPACK_OBJECT_BIN: *why = "bytes (bin)"; return -1;
	default: *why = "an ext value"; return -1;
	}
}

typedef struct jp {
	const char *s, *end;
	msgpack_packer *pk;
	int depth;
} jp;

static void ws(jp *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static int put_utf8(ath_strbuf *b, uint32_t c)
{
	if (c < 0x80) {
		ath_strbuf__putc(b, (char)c);
	} else if (c < 0x800) {
		ath_strbuf__putc(b, (char)(0xc0 | c >> 6));
		ath_strbuf__putc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		ath_strbuf__putc(b, (char)(0xe0 | c >> 12));
		ath_strbuf__putc(b, (char)(0x80 | (c >> 6 & 0x3f)));
		ath_strbuf__putc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		ath_strbuf__putc(b, (char)(0xf0 | c >> 18));
		ath_strbuf__putc(b, (char)(0x80 | (c >> 12 & 0x3f)));
		ath_strbuf__putc(b, (char)(0x80 | (c >> 6 & 0x3f)));
		ath_strbuf__putc(b, (char)(0x80 | (c & 0x3f)));
	}
	return 0;
}

static int hex4(const char *s, uint32_t *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		*out = *out << 4 | (uint32_t)h;
	}
	return 0;
}

static int jstring(jp *p, ath_strbuf *b)
{
	p->s++; /* '"' */
	while (p->s < p->end && *p->s != '"') {
		char ch = *p->s++;
		if ((unsigned char)ch < 0x20)
			return -1;
		if (ch != '\\') {
			ath_strbuf__putc(b, ch);
			continue;
		}
		if (p->s >= p->end)
			return -1;
		ch = *p->s++;
		switch (ch) {
		case '"':
		case '\\':
		case '/': ath_strbuf__putc(b, ch); break;
		case 'n': ath_strbuf__putc(b, '\n'); break;
		case 'r': ath_strbuf__putc(b, '\r'); break;
		case 't': ath_strbuf__putc(b, '\t'); break;
		case 'b': ath_strbuf__putc(b, '\b'); break;
		case 'f': ath_strbuf__putc(b, '\f'); break;
		case 'u': {
			uint32_t c, lo;
			if (p->end - p->s < 4 || hex4(p->s, &c))
				return -1;
			p->s += 4;
			if (c >= 0xd800 && c < 0xdc00 && p->end - p->s >= 6 && p->s[0] == '\\' && p->s[1] == 'u' &&
			    hex4(p->s + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				p->s += 6;
			}
			put_utf8(b, c);
			break;
		}
		default: return -1;
		}
	}
	if (p->s >= p->end)
		return -1;
	p->s++;
	return b->oom ? -2 : 0;
}

static int jvalue(jp *p);

static int count_items(jp *p, char close, uint32_t *n)
{
	/* a dry run over the container to learn its size (msgpack needs it first) */
	jp q = *p;
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer null_pk;
	msgpack_packer_init(&null_pk, &sb, msgpack_sbuffer_write);
	q.pk = &null_pk;
	*n = 0;
	q.s++;
	ws(&q);
	int rc = 0;
	if (q.s < q.end && *q.s == close) {
		msgpack_sbuffer_destroy(&sb);
		return 0;
	}
	for (;;) {
		if (close == '}') {
			ws(&q);
			if (q.s >= q.end || *q.s != '"') {
				rc = -1;
				break;
			}
			ath_strbuf k = { 0 };
			rc = jstring(&q, &k);
			ath_strbuf__free(&k);
			if (rc)
				break;
			ws(&q);
			if (q.s >= q.end || *q.s++ != ':') {
				rc = -1;
				break;
			}
		}
		sb.size = 0;
		if ((rc = jvalue(&q)))
			break;
		(*n)++;
		ws(&q);
		if (q.s < q.end && *q.s == ',') {
			q.s++;
			continue;
		}
		if (q.s < q.end && *q.s == close)
			break;
		rc = -1;
		break;
	}
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static int jnumber(jp *p)
{
	const char *b = p->s;
	int real = 0;
	if (p->s < p->end && *p->s == '-')
		p->s++;
	while (p->s < p->end && (isdigit((unsigned char)*p->s) || strchr(".eE+-", *p->s))) {
		if (strchr(".eE", *p->s))
			real = 1;
		p->s++;
	}
	char buf[400];
	size_t n = (size_t)(p->s - b);
	if (!n || n >= sizeof buf)
		return -1;
	memcpy(buf, b, n);
	buf[n] = '\0';
	char *end;
	if (!real) {
		long long x = strtoll(buf, &end, 10);
		if (*end == '\0' && !(x == LLONG_MAX || x == LLONG_MIN))
			return msgpack_pack_int64(p->pk, x) < 0 ? -2 : 0;
		if (*end == '\0' && buf[0] != '-') {
			unsigned long long u = strtoull(buf, &end, 10);
			if (*end == '\0' && u != ULLONG_MAX)
				return msgpack_pack_uint64(p->pk, u) < 0 ? -2 : 0;
		}
	}
	double d = strtod(buf, &end);
	if (*end)
		return -1;
	return msgpack_pack_double(p->pk, d) < 0 ? -2 : 0;
}

static int jvalue(jp *p)
{
	ws(p);
	if (p->s >= p->end || ++p->depth > 512)
		return -1;
	int rc = 0;
	char ch = *p->s;
	if (ch == '{' || ch == '[') {
		char close = ch == '{' ? '}' : ']';
		uint32_t n;
		if ((rc = count_items(p, close, &n)))
			return rc;
		if ((ch == '{' ? msgpack_pack_map(p->pk, n) : msgpack_pack_array(p->pk, n)) < 0)
			return -2;
		p->s++;
		for (uint32_t i = 0; i < n && !rc; i++) {
			ws(p);
			if (ch == '{') {
				ath_strbuf k = { 0 };
				rc = jstring(p, &k);
				if (!rc && (msgpack_pack_str(p->pk, k.len) < 0 ||
					    msgpack_pack_str_body(p->pk, k.ptr ? k.ptr : "", k.len) < 0))
					rc = -2;
				ath_strbuf__free(&k);
				ws(p);
				p->s++; /* ':' (checked by the dry run) */
			}
			if (!rc)
				rc = jvalue(p);
			ws(p);
			p->s++; /* ',' or the close */
		}
		if (!n) {
			ws(p);
			p->s++;
		}
	} else if (ch == '"') {
		ath_strbuf s = { 0 };
		rc = jstring(p, &s);
		if (!rc && (msgpack_pack_str(p->pk, s.len) < 0 || msgpack_pack_str_body(p->pk, s.ptr ? s.ptr : "", s.len) < 0))
			rc = -2;
		ath_strbuf__free(&s);
	} else if (p->end - p->s >= 4 && memcmp(p->s, "null", 4) == 0) {
		p->s += 4;
		rc = msgpack_pack_nil(p->pk) < 0 ? -2 : 0;
	} else if (p->end - p->s >= 4 && memcmp(p->s, "true", 4) == 0) {
		p->s += 4;
		rc = msgpack_pack_true(p->pk) < 0 ? -2 : 0;
	} else if (p->end - p->s >= 5 && memcmp(p->s, "false", 5) == 0) {
		p->s += 5;
		rc = msgpack_pack_false(p->pk) < 0 ? -2 : 0;
	} else {
		rc = jnumber(p);
	}
	p->depth--;
	return rc;
}

int ath_json__decode(msgpack_packer *pk, const char *s, size_t n)
{
	jp p = { s, s + n, pk, 0 };
	int rc = jvalue(&p);
	if (rc)
		return rc;
	ws(&p);
	return p.s == p.end ? 0 : -1;
}
