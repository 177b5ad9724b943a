/* ddl_typename.c — DDL column type names per dialect family: VARCHAR(n) (a length is required on
 * MySQL), BOOL on MySQL, TIMESTAMP WITH TIME ZONE on PostgreSQL, BYTEA, FLOAT(p), ENUM('a','b')
 * inline on MySQL, a named type on PostgreSQL and VARCHAR(longest value) elsewhere, ARRAY as
 * item[]..., dialect types by their own name. Mirrors the visit_<TYPE> methods of
 * sqlalchemy/sql/compiler.py GenericTypeCompiler and of SQLiteTypeCompiler, PGTypeCompiler and
 * MySQLTypeCompiler as they render in CREATE TABLE. CAST names are typename.c's. */
#include "ddl_typename.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sql/compiler.h"
#include "types/typename.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void sized(ath_strbuf *b, const char *name, int32_t a, int32_t c)
{
	ath_strbuf__puts(b, name);
	if (a >= 0 && c >= 0)
		ath_strbuf__printf(b, "(%" PRId32 ", %" PRId32 ")", a, c);
	else if (a >= 0)
		ath_strbuf__printf(b, "(%" PRId32 ")", a);
}

static const char *family_ns(int family)
{
	return family == ATH_TYPES_POSTGRESQL ? "postgresql" : family == ATH_TYPES_MYSQL ? "mysql" : "sqlite";
}

static int cannot(char *err, size_t errlen, const ath_dialect *d, const char *what)
{
	return fail(err, errlen, "the %s dialect can't render element of type %s", d->name, what);
}

int ath_typename__ddl(ath_strbuf *b, const ath_type *t, const ath_dialect *d, char *err, size_t errlen)
{
	int fam = d->type_family;
	int pg = fam == ATH_TYPES_POSTGRESQL, my = fam == ATH_TYPES_MYSQL;
	switch ((ath_type_kind)t->kind) {
	case ATH_T_INTEGER: ath_strbuf__puts(b, "INTEGER"); return 0;
	case ATH_T_BIGINT: ath_strbuf__puts(b, "BIGINT"); return 0;
	case ATH_T_SMALLINT: ath_strbuf__puts(b, "SMALLINT"); return 0;
	case ATH_T_BOOLEAN: ath_strbuf__puts(b, my ? "BOOL" : "BOOLEAN"); return 0;
	case ATH_T_STRING:
	case ATH_T_UNICODE:
		if (my && t->length < 0)
			return fail(err, errlen, "VARCHAR requires a length on dialect %s", d->name);
		sized(b, "VARCHAR", t->length, -1);
		return 0;
	case ATH_T_TEXT:
	case ATH_T_UNICODE_TEXT: sized(b, "TEXT", t->length, -1); return 0;
	case ATH_T_FLOAT: sized(b, "FLOAT", fam == ATH_TYPES_SQLITE ? -1 : t->precision, -1); return 0;
	case ATH_T_DOUBLE: sized(b, "FLOAT", fam == ATH_TYPES_SQLITE ? -1 : 53, -1); return 0;
	case ATH_T_NUMERIC: sized(b, "NUMERIC", t->precision, t->precision >= 0 ? t->scale : -1); return 0;
	case ATH_T_DATE: ath_strbuf__puts(b, "DATE"); return 0;
	case ATH_T_DATETIME:
		ath_strbuf__puts(b, pg ? (t->timezone ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP WITHOUT TIME ZONE") : "DATETIME");
		return 0;
	case ATH_T_TIME:
		ath_strbuf__puts(b, pg ? (t->timezone ? "TIME WITH TIME ZONE" : "TIME WITHOUT TIME ZONE") : "TIME");
		return 0;
	case ATH_T_INTERVAL: ath_strbuf__puts(b, pg ? "INTERVAL" : "DATETIME"); return 0;
	case ATH_T_LARGEBINARY:
		if (pg)
			ath_strbuf__puts(b, "BYTEA");
		else
			sized(b, "BLOB", my ? t->length : -1, -1);
		return 0;
	case ATH_T_JSON: ath_strbuf__puts(b, "JSON"); return 0;
	case ATH_T_UUID:
		if (!pg && t->length == 32) { /* SQLAlchemy 2.0's Uuid: 32 hex digits */
			ath_strbuf__puts(b, "CHAR(32)");
			return 0;
		}
		if (!pg)
			return cannot(err, errlen, d, "UUID");
		ath_strbuf__puts(b, "UUID");
		return 0;
	case ATH_T_ENUM:
		if (t->native_enum && pg) {
			if (!t->name)
				return fail(err, errlen, "PostgreSQL ENUM type requires a name.");
			ath_sql__quote(b, d, t->name);
			return 0;
		}
		if (t->native_enum && my) { /* MySQLTypeCompiler.visit_ENUM: no space after the commas */
			ath_strbuf__puts(b, "ENUM(");
			for (uint32_t i = 0; i < t->nvalues; i++) {
				if (i)
					ath_strbuf__putc(b, ',');
				ath_sql__string_literal(b, d, t->values[i], strlen(t->values[i]));
			}
			ath_strbuf__putc(b, ')');
			return 0;
		}
		sized(b, "VARCHAR", (int32_t)ath_type__enum_length(t), -1);
		return 0;
	case ATH_T_ARRAY: {
		if (!pg)
			return cannot(err, errlen, d, "ARRAY");
		if (ath_typename__ddl(b, t->item, d, err, errlen))
			return -1;
		for (int32_t i = 0; i < (t->dims > 0 ? t->dims : 1); i++)
			ath_strbuf__puts(b, "[]");
		return 0;
	}
	case ATH_T_DIALECT:
		if (strcmp(t->ns, family_ns(fam)) != 0) {
			/* SQLite's DATETIME-family dialect types render by name on SQLite too (they
			 * subclass the generic ones); others are refused as SQLAlchemy does */
			char what[64];
			snprintf(what, sizeof what, "%s", t->tname);
			if (fam == ATH_TYPES_SQLITE && my == 0 && strcmp(t->ns, "mysql") == 0 &&
			    (strcmp(t->tname, "DATETIME") == 0 || strcmp(t->tname, "TIME") == 0 ||
			     strcmp(t->tname, "TIMESTAMP") == 0 || strcmp(t->tname, "DATE") == 0)) {
				ath_strbuf__puts(b, t->tname);
				return 0;
			}
			return cannot(err, errlen, d, what);
		}
		sized(b, t->tname, t->nargs > 0 ? t->args[0] : -1, t->nargs > 1 ? t->args[1] : -1);
		return 0;
	}
	return fail(err, errlen, "unknown type");
}
