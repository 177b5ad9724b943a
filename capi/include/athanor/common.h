/**
 * @file athanor/common.h
 * @brief Export macros, version, return codes and the byte buffer shared by every header.
 *
 * Thread-safety: everything here may be called from any thread.
 */
#ifndef ATHANOR_COMMON_H
#define ATHANOR_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define ATH_BEGIN_DECL extern "C" {
#define ATH_END_DECL }
#else
#define ATH_BEGIN_DECL
#define ATH_END_DECL
#endif

#if defined(_WIN32)
#define ATH_EXTERN(type) extern __declspec(dllexport) type
#elif defined(__GNUC__)
#define ATH_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#define ATH_EXTERN(type) extern type
#endif

/** Version of the headers; compare with ath_version() at run time. */
#define ATH_VERSION_MAJOR 0
#define ATH_VERSION_MINOR 1
#define ATH_VERSION_PATCH 0
#define ATH_VERSION_STRING "0.1.0"

ATH_BEGIN_DECL

/**
 * Return codes. Every function that can fail returns ATH_OK or one of these; the details
 * (error class, message, SQL) are in ath_error_last() on the calling thread. Callers branch
 * on the few expected codes below and treat anything else negative as ATH_ERROR.
 */
typedef enum ath_rc {
	ATH_OK = 0,
	ATH_ERROR = -1,     /**< generic failure; see ath_error_last() */
	ATH_ENOTFOUND = -3, /**< a looked-up thing does not exist */
	ATH_EBUSY = -4,     /**< resource busy (database locked, pool exhausted) */
	ATH_EINVALID = -5,  /**< invalid argument or input bytes */
	ATH_EMISUSE = -6,   /**< API misuse: NULL or closed handle, wrong state */
	ATH_ENOMEM = -7,    /**< out of memory */
	ATH_ITEROVER = -31  /**< iteration is over: no more rows; not an error */
} ath_rc;

/**
 * A growable byte buffer that the library fills and the caller owns.
 * Initialise with ATH_BUF_INIT, pass to as many calls as you like (each call replaces the
 * contents and reuses the allocation), and release with ath_buf_dispose(). Never free(ptr).
 */
typedef struct ath_buf {
	unsigned char *ptr; /**< the bytes; NULL until first filled */
	size_t reserved;    /**< allocated capacity (library-private meaning) */
	size_t size;        /**< number of valid bytes at ptr */
} ath_buf;

#define ATH_BUF_INIT { NULL, 0, 0 }

/** Release the memory of a buffer filled by the library and reset it to ATH_BUF_INIT. NULL is fine. */
ATH_EXTERN(void) ath_buf_dispose(ath_buf *buf);

/** Version of the library that is loaded (may differ from ATH_VERSION_* of the headers). Any out-param may be NULL. */
ATH_EXTERN(void) ath_version(int *major, int *minor, int *patch);

/** Version as "major.minor.patch". @return static storage; never NULL. */
ATH_EXTERN(const char *) ath_version_string(void);

/**
 * Optional library set-up, reference counted: each successful ath_init() is matched by one
 * ath_shutdown(). Every other function initialises lazily, so calling these is only needed to
 * control when global driver state is created and released.
 * @return the number of outstanding initialisations (> 0), or a negative code.
 */
ATH_EXTERN(int) ath_init(void);
/** @return the number of initialisations still outstanding, or ATH_EMISUSE without a matching ath_init(). */
ATH_EXTERN(int) ath_shutdown(void);

ATH_END_DECL

#endif
