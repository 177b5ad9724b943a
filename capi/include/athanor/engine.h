/**
 * @file athanor/engine.h
 * @brief Engines: created from a database URL, they own the dialect, the connection pool and the
 * compile cache, and hand out connections.
 *
 * Thread-safety: an engine is shared by any number of threads; every function here may be
 * called concurrently on the same engine.
 */
#ifndef ATHANOR_ENGINE_H
#define ATHANOR_ENGINE_H

#include "common.h"
#include "types.h"

ATH_BEGIN_DECL

/** Engine flags (ath_engine_options.flags). */
#define ATH_ENGINE_ECHO 0x1u             /**< log every statement, its parameters and cache use (SQLAlchemy's echo=True) */
#define ATH_ENGINE_NO_COMPILE_CACHE 0x2u /**< compile every statement afresh (for measuring the compiler) */
#define ATH_ENGINE_STREAM_RESULTS 0x4u   /**< read rows from the server as they are fetched, in flat memory
					      (SQLAlchemy's stream_results; PostgreSQL single-row mode, MySQL unbuffered) */

/** Pool implementations (ath_engine_options.pool_class), as SQLAlchemy's pool classes. */
typedef enum ath_pool_class {
	ATH_POOL_DEFAULT = 0,          /**< QueuePool; one shared connection for an in-memory SQLite database */
	ATH_POOL_QUEUE = 1,            /**< QueuePool: pool_size kept, max_overflow more, pool_timeout waits */
	ATH_POOL_NULL = 2,             /**< NullPool: connect on every checkout, close on every checkin */
	ATH_POOL_STATIC = 3,           /**< StaticPool: one connection for every checkout */
	ATH_POOL_SINGLETON_THREAD = 4  /**< SingletonThreadPool: one connection per thread */
} ath_pool_class;

/** Pool flags (ath_engine_options.pool_flags). */
#define ATH_POOL_LIFO 0x1u        /**< reuse the most recently returned connection first (use_lifo=True); default FIFO */
#define ATH_POOL_PRE_PING 0x2u    /**< test each connection with a round trip at checkout (pool_pre_ping=True) */
#define ATH_POOL_OVERFLOW_NONE (-2) /**< max_overflow value for "no overflow" (0 means the default, 10) */

/**
 * Engine options. Zero means "default" for every field; pass NULL for all defaults.
 * Initialise with ATH_ENGINE_OPTIONS_INIT or ath_engine_options_init(); fields are only ever
 * appended, and `version` says which ones the caller knows.
 */
typedef struct ath_engine_options {
	unsigned int version;       /**< ATH_ENGINE_OPTIONS_VERSION */
	uint32_t flags;             /**< ATH_ENGINE_* bits */
	ath_log_cb log_cb;          /**< where echo output and warnings go; NULL = stderr */
	void *log_payload;          /**< passed to log_cb */
	uint32_t compile_cache_size; /**< compiled statements kept (LRU); 0 = 500 */
	uint32_t stmt_cache_size;   /**< prepared statements kept per connection (LRU); 0 = 100 */
	uint32_t pool_size;         /**< idle connections kept for reuse; 0 = 5 */
	const char *isolation_level; /**< NULL = the backend's default; "AUTOCOMMIT", "SERIALIZABLE", "READ UNCOMMITTED", ... (copied) */
	uint32_t max_depth;         /**< nesting limit for msgpack input; 0 = 32, also the most msgpack-c can decode */
	uint32_t max_input_bytes;   /**< size limit for one msgpack input; 0 = 64 MiB */
	uint32_t max_items;         /**< limit on elements of one array or map; 0 = 1,048,576 (executemany rows count too) */
	/* version 2 */
	uint32_t pool_class;        /**< an ath_pool_class; 0 = ATH_POOL_DEFAULT */
	int32_t max_overflow;       /**< connections beyond pool_size; 0 = 10, -1 = unlimited, ATH_POOL_OVERFLOW_NONE = none */
	uint32_t pool_timeout_ms;   /**< how long a checkout waits for a connection before TimeoutError; 0 = 30000 */
	uint32_t pool_recycle_s;    /**< replace connections older than this at checkout; 0 = never */
	uint32_t pool_flags;        /**< ATH_POOL_* bits */
	/* version 3 */
	const ath_metadata *metadata; /**< NULL = none; else statements compile against it (table schemas,
					   columns_of, DDL kinds, client-side defaults, the primary key for
					   inserted_primary_key). The engine keeps its own reference. */
} ath_engine_options;

#define ATH_ENGINE_OPTIONS_VERSION 3
#define ATH_ENGINE_OPTIONS_INIT { ATH_ENGINE_OPTIONS_VERSION, 0, NULL, NULL, 0, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, NULL }

/** Fill `opts` with defaults for `version`. @return ATH_OK, or ATH_EINVALID for an unknown version. */
ATH_EXTERN(int) ath_engine_options_init(ath_engine_options *opts, unsigned int version);

/**
 * Create an engine from a URL in SQLAlchemy's grammar:
 * `dialect[+driver]://[user[:password]@][host[:port]]/[database][?key=value&...]`, percent-encoded.
 * SQLite: `sqlite://` (memory), `sqlite:///relative.db`, `sqlite:////abs/path.db`; query options
 * `timeout` (seconds, default 5), `mode` (`ro`, `rw`, `rwc`, `memory`).
 * No connection is made until ath_engine_connect().
 * @param[out] out owned; release with ath_engine_free().
 * @param opts NULL for defaults; copied.
 * @return ATH_OK; ATH_EINVALID with ArgumentError for a malformed URL, an unknown dialect or option;
 *         NotSupportedError for a dialect whose driver is not built into this library.
 */
ATH_EXTERN(int) ath_engine_create(ath_engine **out, const char *url, const ath_engine_options *opts);

/**
 * Release the caller's reference. Connections still open keep the engine alive until they are
 * closed (they stay usable); idle pooled connections are closed. NULL is fine.
 */
ATH_EXTERN(void) ath_engine_free(ath_engine *engine);

/** Name of the engine's dialect ("sqlite", "postgresql", "mysql"). @return static storage; never NULL. */
ATH_EXTERN(const char *) ath_engine_dialect_name(const ath_engine *engine);

/**
 * Check a connection out of the engine's pool, connecting if none is idle.
 * @param[out] out owned; release with ath_conn_close().
 * @return ATH_OK; ATH_ERROR with OperationalError when the database cannot be opened, or with
 *         TimeoutError when pool_size + max_overflow connections are out and none came back
 *         within pool_timeout_ms. Any thread may call it.
 */
ATH_EXTERN(int) ath_engine_connect(ath_conn **out, ath_engine *engine);

/**
 * Counters of the engine as a msgpack map: `compile_cache` {size, capacity, hits, misses,
 * evictions}, `stmt_cache` {hits, misses} summed over its connections, `pool` {class, size, idle,
 * checked_out, overflow, invalidations} (overflow = open connections beyond pool_size, negative
 * while fewer are open, as QueuePool.overflow()).
 * @param[out] out replaced; dispose with ath_buf_dispose().
 */
ATH_EXTERN(int) ath_engine_stats(ath_buf *out, ath_engine *engine);

/**
 * Compile a statement shape for this engine's dialect, through the compile cache, without
 * running it. Result: msgpack map {"sql": str, "bind_order": [param index...], "expanding": [param index...]}:
 * bind_order lists the parameter of every placeholder in SQL order, and expanding those of them
 * that are IN lists, which the SQL shows as `[EXPANDING n]` until their values are known.
 * @param[out] out replaced; dispose with ath_buf_dispose().
 * @param shape msgpack bytes, borrowed for the call.
 */
ATH_EXTERN(int) ath_engine_compile(ath_buf *out, ath_engine *engine, const void *shape, size_t shape_len);

/**
 * Compile a statement for a dialect by name, with no engine and no cache ("sqlite",
 * "postgresql", "mysql", "mariadb"). Same output as ath_engine_compile(); when `params` is given
 * (a msgpack array, or NULL) expanding parameters are expanded and the map also holds "params":
 * the values in the order the SQL binds them.
 */
ATH_EXTERN(int) ath_compile(ath_buf *out, const char *dialect, const void *shape, size_t shape_len,
			    const void *params, size_t params_len);

/** Options of ath_compile_v2(). Zero / NULL means "default" for every field. */
typedef struct ath_compile_options {
	unsigned int version;          /**< ATH_COMPILE_OPTIONS_VERSION */
	const ath_metadata *metadata;  /**< NULL = names only; else compile against it (borrowed for the call) */
} ath_compile_options;

#define ATH_COMPILE_OPTIONS_VERSION 1
#define ATH_COMPILE_OPTIONS_INIT { ATH_COMPILE_OPTIONS_VERSION, NULL }

/** Fill `opts` with defaults for `version`. @return ATH_OK, or ATH_EINVALID for an unknown version. */
ATH_EXTERN(int) ath_compile_options_init(ath_compile_options *opts, unsigned int version);

/**
 * ath_compile() with options: with `opts->metadata` the statement compiles against that metadata,
 * as on an engine created with it (table schemas, `columns_of`, the DDL statement kinds, client-side
 * defaults; bind_order then shows a bound default as -1 - k, and "params" holds its value).
 * @param opts NULL for defaults (then exactly ath_compile()).
 * @return as ath_compile(); ATH_EINVALID for an unknown options version; CompileError for a DDL kind
 *         or columns_of without a metadata, or a column a metadata table does not have.
 */
ATH_EXTERN(int) ath_compile_v2(ath_buf *out, const char *dialect, const void *shape, size_t shape_len,
			       const void *params, size_t params_len, const ath_compile_options *opts);

/**
 * Parse a URL without creating an engine. Result: msgpack map {"drivername", "dialect",
 * "driver", "username", "password", "host", "port", "database", "query": {k: v or [v...]}};
 * absent parts are nil.
 * @return ATH_OK, or ATH_EINVALID with ArgumentError saying what is wrong.
 */
ATH_EXTERN(int) ath_url_parse(ath_buf *out, const char *url);

ATH_END_DECL

#endif
