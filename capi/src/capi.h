/* capi.h — shared by capi/src only: publishing an internal error into the thread-local slot,
 * and the handle checks every entry point does first. */
#ifndef ATH_CAPI_H
#define ATH_CAPI_H

#include "athanor/athanor.h"
#include "conn/internal.h"
#include "util/err.h"

/* Move `e` into the calling thread's last error; returns e's code (or `rc` when e is empty). */
int ath_capi__publish(ath_err *e, int rc);
/* Record a misuse error (NULL or closed handle, bad argument) and return its code. */
int ath_capi__misuse(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define CAPI_CHECK(ptr, tag, what)                                                                 \
	do {                                                                                       \
		if (!(ptr))                                                                        \
			return ath_capi__misuse(ATH_EMISUSE, "%s: %s is NULL", __func__, what);    \
		if ((ptr)->magic != (tag))                                                         \
			return ath_capi__misuse(ATH_EMISUSE, "%s: %s is closed or not a valid handle", \
						__func__, what);                                   \
	} while (0)

/* The record starts empty without zeroing its 1 KiB message (ath_err__init; nothing reads it
 * while code is 0); on success it is dropped (a failure the call recovered from may have left its SQL). */
#define CAPI_CALL(expr)                                                                            \
	do {                                                                                       \
		ath_err e_;                                                                        \
		ath_err__init(&e_);                                                                \
		int rc_ = (expr);                                                                  \
		if (rc_ >= 0)                                                                      \
			ath_err__drop(&e_);                                                        \
		return rc_ < 0 ? ath_capi__publish(&e_, rc_) : rc_;                                \
	} while (0)
#define CAPI_ERR (&e_)

#endif
