/* engine.c — engines: URL → dialect and driver, options, the compile cache and the pool; echo
 * logging; counters. Mirrors sqlalchemy/engine/create.py (create_engine) and Engine in
 * engine/base.py. Statement execution is in connection.c. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conn/internal.h"
#include "dialects/dialect.h"
#include "schema/metadata.h"
#include "sql/compiler.h"
#include "util/alloc.h"
#include "wire/decode.h"
#include "wire/mpbuf.h"
#include "wire/params.h"

#define DEFAULT_COMPILE_CACHE 500
#define DEFAULT_STMT_CACHE 100
#define DEFAULT_POOL_SIZE 5
#define DEFAULT_MAX_OVERFLOW 10
#define DEFAULT_POOL_TIMEOUT_MS 30000

void ath_engine__log(ath_engine *e, ath_log_level level, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (e->log_cb)
		e->log_cb(level, msg, e->log_payload);
	else
		fprintf(stderr, "athanor.engine %s %s\n", level >= ATH_LOG_WARNING ? "WARNING" : "INFO", msg);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int engine_fail(ath_engine *e, int rc)
{
	ath_url__free(&e->url);
	ath__free(e->isolation_level);
	ath__free(e);
	return rc;
}

int ath_engine__create(ath_engine **out, const char *url, const ath_engine_options *opts, ath_err *err)
{
	ath_engine_options o = ATH_ENGINE_OPTIONS_INIT;
	if (opts)
		o = *opts;
	ath_engine *e = ath__calloc(1, sizeof *e);
	if (!e)
		return ath_err__oom(err);
	int rc = ath_url__parse(&e->url, url, err);
	if (rc) {
		ath__free(e);
		return rc;
	}
	e->dialect = ath_dialect__find(e->url.dialect);
	if (!e->dialect)
		return engine_fail(e, ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
						   "Can't load plugin: unknown dialect '%.40s' (known: sqlite, "
						   "postgresql, mysql, mariadb)", e->url.dialect));
	const ath_driver_ops *ops = e->dialect->driver;
	if (!ops)
		return engine_fail(e, ath_err__set(err, ATH_ERROR, ATH_ERRCLASS_NOT_SUPPORTED_ERROR,
						   "the %s dialect has no driver in this build of athanor yet "
						   "(athanor compile --dialect %s still renders its SQL)",
						   e->dialect->name, e->dialect->name));
	if (e->url.driver && strcmp(e->dialect->name, "sqlite") == 0 && strcmp(e->url.driver, "pysqlite") != 0 &&
	    strcmp(e->url.driver, "sqlite3") != 0)
		return engine_fail(e, ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
						   "unknown driver '%.40s' for sqlite (athanor uses libsqlite3)",
						   e->url.driver));
	if ((rc = ops->check_url(&e->url, err)))
		return engine_fail(e, rc);
	e->flags = o.flags;
	e->log_cb = o.log_cb;
	e->log_payload = o.log_payload;
	if (o.isolation_level) {
		if (!(e->isolation_level = ath__strdup(o.isolation_level)))
			return engine_fail(e, ath_err__oom(err));
		/* check the name now rather than at the first connection */
		if (strcasecmp(o.isolation_level, "AUTOCOMMIT") != 0 && strcasecmp(o.isolation_level, "SERIALIZABLE") != 0 &&
		    strcasecmp(o.isolation_level, "READ UNCOMMITTED") != 0 && strcasecmp(o.isolation_level, "READ COMMITTED") != 0 &&
		    strcasecmp(o.isolation_level, "REPEATABLE READ") != 0)
			return engine_fail(e, ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
							   "Invalid value '%.40s' for isolation_level", o.isolation_level));
	}
	ath_wire_limits lim = { o.max_depth, o.max_input_bytes, o.max_items };
	e->limits = ath_wire__limits(&lim);
	uint32_t cache = (o.flags & ATH_ENGINE_NO_COMPILE_CACHE) ? 0 : (o.compile_cache_size ? o.compile_cache_size : DEFAULT_COMPILE_CACHE);
	if (ath_cache__init(&e->cache, cache) != 0)
		return engine_fail(e, ath_err__oom(err));
	ath_connect_cfg cfg = { .url = &e->url, .stream_results = (o.flags & ATH_ENGINE_STREAM_RESULTS) != 0 };
	ath_pool_opts po = {
		.klass = (int)o.pool_class,
		.size = o.pool_size ? o.pool_size : DEFAULT_POOL_SIZE,
		.max_overflow = o.max_overflow == 0 ? DEFAULT_MAX_OVERFLOW
				: o.max_overflow == ATH_POOL_OVERFLOW_NONE ? 0 : o.max_overflow < 0 ? -1 : o.max_overflow,
		.timeout_ms = o.pool_timeout_ms ? o.pool_timeout_ms : DEFAULT_POOL_TIMEOUT_MS,
		.recycle_s = o.pool_recycle_s,
		.lifo = (o.pool_flags & ATH_POOL_LIFO) != 0,
		.pre_ping = (o.pool_flags & ATH_POOL_PRE_PING) != 0,
		.stmt_cache_size = o.stmt_cache_size ? o.stmt_cache_size : DEFAULT_STMT_CACHE,
	};
	if (o.pool_class > ATH_POOL_SINGLETON_THREAD) {
		ath_cache__dispose(&e->cache);
		return engine_fail(e, ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR,
						   "unknown pool_class %u", o.pool_class));
	}
	/* a private in-memory SQLite database exists once per connection: share one, as SQLAlchemy
	 * picks SingletonThreadPool/StaticPool for it */
	if (po.klass == ATH_POOL_DEFAULT)
		po.klass = ops->is_memory(&e->url) ? ATH_POOL_STATIC : ATH_POOL_QUEUE;
	if (ath_pool__init(&e->pool, ops, &cfg, &po) != 0) {
		ath_cache__dispose(&e->cache);
		return engine_fail(e, ath_err__oom(err));
	}
	e->pool.cfg.url = &e->url; /* the pool's copy points at the engine's URL, which outlives it */
	if (o.metadata) {
		ath_metadata__incref(o.metadata);
		e->metadata = o.metadata;
	}
	atomic_init(&e->refs, 1);
	e->magic = ATH_MAGIC_ENGINE;
	*out = e;
	return 0;
}

static void engine_destroy(ath_engine *e)
{
	ath_pool__destroy(&e->pool);
	ath_cache__dispose(&e->cache);
	ath_url__free(&e->url);
	ath__free(e->isolation_level);
	if (e->metadata)
		ath_metadata__decref(e->metadata);
	e->magic = ATH_MAGIC_DEAD;
	ath__free(e);
}

void ath_engine__release(ath_engine *e)
{
	if (atomic_exchange(&e->released, 1) == 0) {
		ath_pool__dispose_idle(&e->pool);
		if (atomic_fetch_sub(&e->refs, 1) == 1)
			engine_destroy(e);
	}
}

static void engine_decref(ath_engine *e)
{
	if (atomic_fetch_sub(&e->refs, 1) == 1)
		engine_destroy(e);
}

void ath_engine__incref(ath_engine *e) { atomic_fetch_add(&e->refs, 1); }
void ath_engine__decref(ath_engine *e) { engine_decref(e); }

int ath_engine__setup_conn(ath_conn *c, ath_err *err)
{
	ath_engine *e = c->engine;
	c->autocommit = 0;
	if (!e->isolation_level)
		return 0;
	if (strcasecmp(e->isolation_level, "AUTOCOMMIT") == 0) {
		c->autocommit = 1;
		return 0;
	}
	return e->pool.ops->set_isolation(c->dc->native, e->isolation_level, err);
}

int ath_engine__connect(ath_conn **out, ath_engine *e, ath_err *err)
{
	ath_conn *c = ath__calloc(1, sizeof *c);
	if (!c)
		return ath_err__oom(err);
	int rc = ath_pool__checkout(&e->pool, &c->dc, err);
	if (rc) {
		ath__free(c);
		return rc;
	}
	if (!msgpack_zone_init(&c->zone, 4096)) {
		ath_pool__checkin(&e->pool, c->dc);
		ath__free(c);
		return ath_err__oom(err);
	}
	c->engine = e;
	if ((rc = ath_engine__setup_conn(c, err))) {
		msgpack_zone_destroy(&c->zone);
		ath_pool__checkin(&e->pool, c->dc);
		ath__free(c);
		return rc;
	}
	atomic_fetch_add(&e->refs, 1);
	c->engine = e;
	c->refs = 1;
	c->magic = ATH_MAGIC_CONN;
	*out = c;
	return 0;
}

/* Called by connection.c when a connection's last reference goes. */
void ath_engine__conn_gone(ath_engine *e);
void ath_engine__conn_gone(ath_engine *e) { engine_decref(e); }

void ath_compile_memo__free(ath_compile_memo *m)
{
	ath_compiled__decref(m->cs);
	ath__free(m->shape);
	memset(m, 0, sizeof *m);
}

/* Shapes up to this size are remembered by a connection's memo. */
#define MEMO_MAX_SHAPE 4096

/* Remember `cs` for these shape bytes; without memory the memo is just left empty. */
static void memo_keep(ath_compile_memo *m, ath_compiled *cs, const void *shape, size_t len)
{
	if (len > m->cap) {
		unsigned char *p = ath__realloc(m->shape, len);
		if (!p) {
			ath_compile_memo__free(m);
			return;
		}
		m->shape = p;
		m->cap = len;
	}
	memcpy(m->shape, shape, len);
	m->len = len;
	ath_compiled__incref(cs);
	ath_compiled__decref(m->cs);
	m->cs = cs;
}

int ath_engine__compiled(ath_compiled **out, ath_engine *e, const void *shape, size_t len, ath_compile_memo *memo,
			 double *age, int *cached, ath_err *err)
{
	if (!shape || len == 0)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "no statement shape given");
	if (len > e->limits.max_bytes)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_WIRE_FORMAT_ERROR,
				    "shape: %zu bytes is more than the limit of %zu", len, e->limits.max_bytes);
	ath_compiled *cs;
	uint64_t hash = 0;
	if (memo && memo->cs && memo->len == len && memcmp(memo->shape, shape, len) == 0) {
		cs = memo->cs;
		ath_compiled__incref(cs);
		atomic_fetch_add_explicit(&e->memo_hits, 1, memory_order_relaxed);
	} else {
		hash = ath_sql__hash(shape, len);
		cs = ath_cache__get(&e->cache, shape, len, hash);
		if (cs && memo && len <= MEMO_MAX_SHAPE)
			memo_keep(memo, cs, shape, len);
	}
	if (cs) {
		*cached = 1;
		if (age)
			*age = now_seconds() - cs->created_at;
		*out = cs;
		return 0;
	}
	double t0 = age ? now_seconds() : 0;
	msgpack_zone zone;
	if (!msgpack_zone_init(&zone, 2048))
		return ath_err__oom(err);
	ath_arena arena;
	ath_arena__init(&arena, 4096);
	ath_node *stmt;
	int rc = ath_wire__decode_statement(&stmt, shape, len, &e->limits, &zone, &arena, err);
	if (!rc)
		rc = ath_sql__compile(&cs, e->dialect, e->metadata, stmt, err);
	ath_arena__free(&arena);
	msgpack_zone_destroy(&zone);
	if (rc)
		return rc;
	ath_compiled *other = ath_cache__put(&e->cache, cs, shape, len, hash);
	if (other) { /* another thread compiled it first: use theirs */
		ath_compiled__decref(cs);
		cs = other;
	}
	if (memo && e->cache.capacity && len <= MEMO_MAX_SHAPE)
		memo_keep(memo, cs, shape, len);
	*cached = 0;
	if (age)
		*age = now_seconds() - t0;
	*out = cs;
	return 0;
}

int ath_compiled__pack_info(ath_buf *out, const ath_compiled *cs, const ath_rendered *r, ath_err *err)
{
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	int bad = 0;
	uint32_t nexp = 0;
	for (uint32_t i = 0; i < cs->nbinds; i++)
		nexp += (cs->binds[i].flags & ATH_BIND_EXPANDING) != 0;
	bad |= msgpack_pack_map(&pk, r ? 4 : 3);
	bad |= ath_wire__pack_cstr(&pk, "sql");
	if (r) {
		bad |= ath_wire__pack_strn(&pk, r->sql, r->sql_len);
	} else if (cs->sql) {
		bad |= ath_wire__pack_strn(&pk, cs->sql, cs->sql_len);
	} else { /* show where expanding lists go */
		ath_strbuf b = ATH_STRBUF_INIT;
		uint32_t at = 0, pos = 0;
		for (uint32_t i = 0; i < cs->nbinds; i++) {
			ath_strbuf__put(&b, cs->tmpl + at, cs->binds[i].offset - at);
			at = cs->binds[i].offset;
			if (cs->binds[i].flags & ATH_BIND_EXPANDING)
				ath_strbuf__printf(&b, "[EXPANDING %u]", cs->binds[i].param);
			else
				cs->dialect->placeholder(&b, ++pos);
		}
		ath_strbuf__put(&b, cs->tmpl + at, cs->tmpl_len - at);
		bad |= b.oom || ath_wire__pack_strn(&pk, b.ptr ? b.ptr : "", b.len);
		ath_strbuf__free(&b);
	}
	/* every placeholder in SQL order; "expanding" names those that are IN lists */
	bad |= ath_wire__pack_cstr(&pk, "bind_order");
	bad |= msgpack_pack_array(&pk, cs->nbinds);
	for (uint32_t i = 0; i < cs->nbinds; i++) /* a bound client-side default k shows as -1 - k */
		bad |= cs->binds[i].flags & ATH_BIND_DEFAULT ? msgpack_pack_int64(&pk, -1 - (int64_t)cs->binds[i].param)
							     : msgpack_pack_uint32(&pk, cs->binds[i].param);
	bad |= ath_wire__pack_cstr(&pk, "expanding");
	bad |= msgpack_pack_array(&pk, nexp);
	for (uint32_t i = 0; i < cs->nbinds; i++)
		if (cs->binds[i].flags & ATH_BIND_EXPANDING)
			bad |= msgpack_pack_uint32(&pk, cs->binds[i].param);
	if (r) {
		bad |= ath_wire__pack_cstr(&pk, "params");
		bad |= msgpack_pack_array(&pk, r->nvalues);
		for (uint32_t i = 0; i < r->nvalues; i++)
			bad |= msgpack_pack_object(&pk, *r->values[i]);
	}
	return bad ? ath_err__oom(err) : 0;
}

int ath_compile__standalone(ath_buf *out, const ath_dialect *d, const ath_metadata *md, const void *shape, size_t len,
			    const void *params, size_t params_len, const ath_wire_limits *lim, ath_err *err)
{
	if (!shape || len == 0)
		return ath_err__set(err, ATH_EINVALID, ATH_ERRCLASS_ARGUMENT_ERROR, "no statement shape given");
	msgpack_zone zone;
	if (!msgpack_zone_init(&zone, 2048))
		return ath_err__oom(err);
	ath_arena arena;
	ath_arena__init(&arena, 4096);
	ath_node *stmt;
	ath_compiled *cs = NULL;
	ath_rendered r = { 0 };
	int rc = ath_wire__decode_statement(&stmt, shape, len, lim, &zone, &arena, err);
	if (!rc)
		rc = ath_sql__compile(&cs, d, md, stmt, err);
	if (!rc && params) {
		msgpack_object p;
		rc = ath_wire__decode_params(&p, params, params_len, 0, lim, &zone, err);
		if (!rc)
			rc = ath_compiled__render(&r, cs, &p, err);
	}
	if (!rc)
		rc = ath_compiled__pack_info(out, cs, params ? &r : NULL, err);
	ath_rendered__free(&r);
	if (cs)
		ath_compiled__decref(cs);
	ath_arena__free(&arena);
	msgpack_zone_destroy(&zone);
	return rc;
}

int ath_engine__stats(ath_buf *out, ath_engine *e, ath_err *err)
{
	uint64_t hits, misses, evictions;
	uint32_t size;
	ath_pool_status ps;
	ath_cache__stats(&e->cache, &hits, &misses, &evictions, &size);
	hits += atomic_load_explicit(&e->memo_hits, memory_order_relaxed);
	ath_pool__status(&e->pool, &ps);
	msgpack_packer pk;
	ath_wire__packer_init(&pk, out);
	int bad = msgpack_pack_map(&pk, 3);
	bad |= ath_wire__pack_cstr(&pk, "compile_cache");
	bad |= msgpack_pack_map(&pk, 5);
	bad |= ath_wire__pack_cstr(&pk, "size") | msgpack_pack_uint32(&pk, size);
	bad |= ath_wire__pack_cstr(&pk, "capacity") | msgpack_pack_uint32(&pk, e->cache.capacity);
	bad |= ath_wire__pack_cstr(&pk, "hits") | msgpack_pack_uint64(&pk, hits);
	bad |= ath_wire__pack_cstr(&pk, "misses") | msgpack_pack_uint64(&pk, misses);
	bad |= ath_wire__pack_cstr(&pk, "evictions") | msgpack_pack_uint64(&pk, evictions);
	bad |= ath_wire__pack_cstr(&pk, "stmt_cache");
	bad |= msgpack_pack_map(&pk, 2);
	bad |= ath_wire__pack_cstr(&pk, "hits") | msgpack_pack_uint64(&pk, atomic_load(&e->stmt_hits));
	bad |= ath_wire__pack_cstr(&pk, "misses") | msgpack_pack_uint64(&pk, atomic_load(&e->stmt_misses));
	bad |= ath_wire__pack_cstr(&pk, "pool");
	static const char *const classes[] = { "", "QueuePool", "NullPool", "StaticPool", "SingletonThreadPool" };
	bad |= msgpack_pack_map(&pk, 6);
	bad |= ath_wire__pack_cstr(&pk, "class") | ath_wire__pack_cstr(&pk, classes[e->pool.o.klass]);
	bad |= ath_wire__pack_cstr(&pk, "size") | msgpack_pack_uint32(&pk, ps.size);
	bad |= ath_wire__pack_cstr(&pk, "idle") | msgpack_pack_uint32(&pk, ps.idle);
	bad |= ath_wire__pack_cstr(&pk, "checked_out") | msgpack_pack_uint32(&pk, ps.checked_out);
	bad |= ath_wire__pack_cstr(&pk, "overflow") | msgpack_pack_int64(&pk, ps.overflow);
	bad |= ath_wire__pack_cstr(&pk, "invalidations") | msgpack_pack_uint64(&pk, ps.invalidations);
	return bad ? ath_err__oom(err) : 0;
}
