/**
 * @file athanor/types.h
 * @brief The opaque handles of the public API.
 *
 * Thread-safety: an ath_engine is shared by any number of threads; an ath_conn, ath_txn and
 * ath_result are used by one thread at a time and may move between threads.
 */
#ifndef ATHANOR_TYPES_H
#define ATHANOR_TYPES_H

#include "common.h"

ATH_BEGIN_DECL

typedef struct ath_engine ath_engine; /**< a database URL, its dialect, pool and compile cache */
typedef struct ath_conn ath_conn;     /**< a connection checked out of an engine's pool */
typedef struct ath_txn ath_txn;       /**< a transaction or savepoint on a connection */
typedef struct ath_result ath_result; /**< the outcome of one execution: header and rows */
typedef struct ath_metadata ath_metadata; /**< an immutable schema (tables, constraints, indexes), shared by reference */

/** Log levels passed to an ath_log_cb. */
typedef enum ath_log_level {
	ATH_LOG_DEBUG = 10,
	ATH_LOG_INFO = 20,
	ATH_LOG_WARNING = 30,
	ATH_LOG_ERROR = 40
} ath_log_level;

/**
 * A log sink. `message` is borrowed for the duration of the call; the callback may be called
 * from any thread that uses the engine, so it must be thread-safe itself.
 */
typedef void (*ath_log_cb)(ath_log_level level, const char *message, void *payload);

ATH_END_DECL

#endif
