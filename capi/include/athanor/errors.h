/**
 * @file athanor/errors.h
 * @brief The error model: error classes (SQLAlchemy's hierarchy) and the thread-local last error.
 *
 * Functions return ATH_OK or a negative ath_rc; the details of the latest failure on the calling
 * thread are in ath_error_last(). Test the return code, not the last error: it is only replaced
 * by the next failure on the same thread, so it may be stale.
 *
 * Thread-safety: the last error is per OS thread; read it on the thread that got the failure.
 */
#ifndef ATHANOR_ERRORS_H
#define ATHANOR_ERRORS_H

#include "common.h"

ATH_BEGIN_DECL

/** Error classes, named as SQLAlchemy's exceptions (see errors.def for the hierarchy). */
typedef enum ath_error_class {
#define ATH_ERROR_CLASS(e, name, parent, code) ATH_ERRCLASS_##e,
#include "errors.def"
#undef ATH_ERROR_CLASS
	ATH_ERRCLASS__COUNT
} ath_error_class;

/** Flags on an error. */
#define ATH_ERROR_DISCONNECT 0x1u /**< the connection was lost; it will be invalidated */
#define ATH_ERROR_UNKNOWN_OUTCOME 0x2u /**< with ATH_ERROR_DISCONNECT, on a commit: the connection was lost during
					   COMMIT (or COMMIT PREPARED), which the server may or may not have applied */

/** The details of a failure. Library-owned; see ath_error_last() for the lifetime. */
typedef struct ath_error {
	int code;              /**< the ath_rc the failing call returned */
	ath_error_class klass; /**< the SQLAlchemy error class */
	char sqlstate[6];      /**< SQLSTATE from the server, NUL-terminated; "" when none */
	int native_code;       /**< the driver's own error number (sqlite3 extended code, ...); 0 when none */
	uint32_t flags;        /**< ATH_ERROR_* bits */
	const char *message;   /**< what went wrong and where; never NULL */
	const char *sql;       /**< the SQL that failed, or NULL */
} ath_error;

/**
 * The latest error on the calling thread.
 * @return borrowed, thread-local; valid until the next failing call on this thread; never NULL
 *         (klass is ATH_ERRCLASS_NONE and message "" when nothing failed yet).
 */
ATH_EXTERN(const ath_error *) ath_error_last(void);

/** Reset the calling thread's last error to "no error". */
ATH_EXTERN(void) ath_error_clear(void);

/** Name of an error class ("IntegrityError"). @return static storage; "Unknown" for out-of-range values. */
ATH_EXTERN(const char *) ath_error_class_name(ath_error_class klass);

/** Parent class in the hierarchy; ATH_ERRCLASS_NONE for the root (SQLAlchemyError). */
ATH_EXTERN(ath_error_class) ath_error_class_parent(ath_error_class klass);

/** SQLAlchemy's short error code ("gkpj"), used in its error URLs. @return static storage; "" when none. */
ATH_EXTERN(const char *) ath_error_class_code(ath_error_class klass);

/** 1 when `klass` is `ancestor` or one of its descendants, else 0. */
ATH_EXTERN(int) ath_error_class_is(ath_error_class klass, ath_error_class ancestor);

ATH_END_DECL

#endif
