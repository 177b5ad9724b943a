/* err.c — filling and moving the internal error record. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

int ath_err__set(ath_err *e, int code, ath_error_class klass, const char *fmt, ...)
{
	va_list ap;
	ath_err__clear(e);
	e->code = code;
	e->klass = klass;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return code;
}

int ath_err__oom(ath_err *e)
{
	return ath_err__set(e, ATH_ENOMEM, ATH_ERRCLASS_OUT_OF_MEMORY_ERROR, "out of memory");
}

void ath_err__set_sql(ath_err *e, const char *sql, size_t len)
{
	ath__free(e->sql);
	e->sql = sql ? ath__strndup(sql, len) : NULL;
}

void ath_err__prefix(ath_err *e, const char *fmt, ...)
{
	char head[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	size_t hl = strlen(head), old = strnlen(e->message, sizeof e->message - 1);
	if (old + hl > sizeof e->message - 1)
		old = sizeof e->message - 1 - hl;
	memmove(e->message + hl, e->message, old);
	memcpy(e->message, head, hl);
	e->message[hl + old] = '\0';
}

void ath_err__clear(ath_err *e)
{
	ath__free(e->sql);
	memset(e, 0, sizeof *e);
}

void ath_err__drop(ath_err *e)
{
	ath__free(e->sql);
	e->sql = NULL;
}

void ath_err__move(ath_err *dst, ath_err *src)
{
	if (dst == src)
		return;
	ath__free(dst->sql);
	memcpy(dst, src, sizeof *dst);
	memset(src, 0, sizeof *src);
}
