/* err.h — the internal error record. Filled where a failure happens (decoder, compiler,
 * driver); capi/src copies it into the thread-local slot that ath_error_last() returns. */
#ifndef ATH_UTIL_ERR_H
#define ATH_UTIL_ERR_H

#include <stddef.h>
#include <stdint.h>

#include "athanor/errors.h"

#define ATH_ERR_MSG_MAX 1024

typedef struct ath_err {
	int code;              /* ath_rc; 0 = no error */
	ath_error_class klass;
	char sqlstate[6];
	int native_code;
	uint32_t flags;        /* ATH_ERROR_* */
	char message[ATH_ERR_MSG_MAX]; /* inline, so reporting out-of-memory never allocates */
	char *sql;             /* owned; NULL when none */
} ath_err;

/* Record an error and return `code`, so callers can `return ath_err__set(...)`. */
int ath_err__set(ath_err *e, int code, ath_error_class klass, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int ath_err__oom(ath_err *e);
/* Attach the SQL that failed (copied; silently dropped on out-of-memory). */
void ath_err__set_sql(ath_err *e, const char *sql, size_t len);
/* Prefix the message with context ("executemany row 3: "). */
void ath_err__prefix(ath_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ath_err__clear(ath_err *e);
/* An empty record, made without clearing all of `message` as `= { 0 }` does (1 KiB, on every API
 * call): every field a reader looks at while code is 0 is set. ath_err__set() clears the whole
 * record before it records anything. */
static inline void ath_err__init(ath_err *e)
{
	e->code = 0;
	e->klass = (ath_error_class)0;
	e->sqlstate[0] = '\0';
	e->native_code = 0;
	e->flags = 0;
	e->message[0] = '\0';
	e->sql = NULL;
}
/* Done with a record after success: frees what a failure the call recovered from left (its SQL). */
void ath_err__drop(ath_err *e);
/* Move src into dst (dst's old SQL is freed; src is cleared). */
void ath_err__move(ath_err *dst, ath_err *src);

#endif
