/* luaglue.c — the C half of the Lua binding: msgpack bytes <-> Lua values (statement shapes and
 * params out, result batches, headers and reflection back in), and the Lua error object built from
 * ath_error_last(). It owns no handles (the SWIG wrapper does) and builds no SQL (athanor/sql.lua).
 * Written here rather than with a Lua msgpack library because Debian 12 has none for Lua 5.4
 * (lua-mpack: 5.1-5.3; lua-messagepack: pure Lua, installed for 5.1-5.3 only), and because decoding
 * batches straight into Lua tables is the hot path of reading rows.
 *
 * Lua <-> msgpack (docs/wire-format.md "Values"):
 *   nil, athanor.null (a NULL light userdata) <-> nil;  boolean <-> bool;  string -> str, str -> string
 *   integer (Lua 5.4 integer subtype; on LuaJIT an integral double in int64 range) <-> int
 *   float -> float64;  float32/64 -> number;  uint64 above 2^63-1 -> number (float)
 *   table with metatable field __ath_ext = n <-> ext n (fields: v = text/bytes for 2..5 and 7,
 *     us = microseconds for 6, sec + nsec for -1, __ath_id for 1: an ORM object's proxy -> its
 *     reference); __ath_bin <-> bin (field bytes)
 *   ext 1 (object reference) -> {v = 8 bytes, ext = 1}, or through a resolver (athlua_decode_push_refs)
 *   table with __ath_map, or with keys that are not exactly 1..n -> map (keys sorted: canonical bytes)
 *   other table -> array (an empty table is an empty array); __ath_array: array of length t.n (nils kept)
 * Maps decode to tables, dropping nil values; arrays decode with nil holes. */
#define _GNU_SOURCE /* dladdr, RTLD_NODELETE */
#include "luaglue.h"

#include <athanor/athanor.h>
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#if LUA_VERSION_NUM < 502
#define lua_rawlen lua_objlen
#endif

#define ATHLUA_MAX_DEPTH 64

static char athlua_registry_key; /* registry[&key] = {error_mt=, binary_mt=, ext={[code]=mt}} */

/* ---- configuration from the Lua layer ------------------------------------------------------ */

/* configure{error_mt = mt, binary_mt = mt, ext = {[code] = mt}}: the metatables decoded values and
 * raised errors get. Returns athanor.null. */
int athlua_configure(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_pushlightuserdata(L, &athlua_registry_key);
	lua_pushvalue(L, 1);
	lua_rawset(L, LUA_REGISTRYINDEX);
	lua_pushlightuserdata(L, NULL);
	return 1;
}

/* Push registry config field `name` (nil when unconfigured). */
static void athlua_config_field(lua_State *L, const char *name)
{
	lua_pushlightuserdata(L, &athlua_registry_key);
	lua_rawget(L, LUA_REGISTRYINDEX);
	if (lua_istable(L, -1)) {
		lua_getfield(L, -1, name);
		lua_remove(L, -2);
	} else {
		lua_pop(L, 1);
		lua_pushnil(L);
	}
}

static char athlua_state_key;

static int athlua_state_gc(lua_State *L)
{
	(void)L;
	ath_shutdown();
	return 0;
}

void athlua_open(lua_State *L)
{
	/* ath_init() now and ath_shutdown() when the Lua state closes (a registry userdata's __gc, which
	 * runs after the handles' own, being the oldest): global driver state (libmariadb's) is then
	 * released at lua_close, so a Lua host under LeakSanitizer stays clean. */
	lua_pushlightuserdata(L, &athlua_state_key);
	lua_rawget(L, LUA_REGISTRYINDEX);
	if (!lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	lua_pop(L, 1);
	/* lua_close() unloads this module, and with it libathanor and the drivers, unless something else
	 * holds them: pin libathanor. Its thread-local error slot has a destructor that would otherwise
	 * point into unmapped code when a thread exits later, and the drivers' global state (libmariadb's
	 * one-time initialisation) would become unreachable memory (LeakSanitizer reports it). */
	{
		Dl_info info;
		if (dladdr((void *)&ath_version_string, &info) && info.dli_fname)
			(void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
	}
	if (ath_init() < 0)
		return;
	lua_pushlightuserdata(L, &athlua_state_key);
	lua_newuserdata(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, athlua_state_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	lua_rawset(L, LUA_REGISTRYINDEX);
}

/* error_classes(): {[id] = {name =, parent =, code =}} for every class of errors.def. */
int athlua_error_classes(lua_State *L)
{
	int id;
	lua_newtable(L);
	for (id = 0; id < ATH_ERRCLASS__COUNT; id++) {
		lua_newtable(L);
		lua_pushstring(L, ath_error_class_name((ath_error_class)id));
		lua_setfield(L, -2, "name");
		lua_pushinteger(L, (lua_Integer)ath_error_class_parent((ath_error_class)id));
		lua_setfield(L, -2, "parent");
		lua_pushstring(L, ath_error_class_code((ath_error_class)id));
		lua_setfield(L, -2, "code");
		lua_rawseti(L, -2, id);
	}
	return 1;
}

void athlua_push_last_error(lua_State *L, int rc)
{
	const ath_error *e = ath_error_last();
	lua_createtable(L, 0, 8);
	lua_pushstring(L, ath_error_class_name(e->klass));
	lua_setfield(L, -2, "class");
	lua_pushinteger(L, (lua_Integer)e->klass);
	lua_setfield(L, -2, "class_id");
	lua_pushinteger(L, (lua_Integer)rc);
	lua_setfield(L, -2, "code");
	lua_pushstring(L, e->sqlstate);
	lua_setfield(L, -2, "sqlstate");
	lua_pushinteger(L, (lua_Integer)e->native_code);
	lua_setfield(L, -2, "native_code");
	lua_pushboolean(L, (e->flags & ATH_ERROR_DISCONNECT) != 0);
	lua_setfield(L, -2, "connection_invalidated");
	lua_pushboolean(L, (e->flags & ATH_ERROR_UNKNOWN_OUTCOME) != 0);
	lua_setfield(L, -2, "unknown_outcome");
	lua_pushstring(L, e->message && e->message[0] ? e->message : "athanor call failed");
	lua_setfield(L, -2, "message");
	if (e->sql) {
		lua_pushstring(L, e->sql);
		lua_setfield(L, -2, "sql");
	}
	athlua_config_field(L, "error_mt");
	if (lua_istable(L, -1))
		lua_setmetatable(L, -2);
	else
		lua_pop(L, 1);
}

/* ---- options structs from Lua tables ------------------------------------------------------ */

static const struct {
	const char *name;
	uint32_t bit;
} athlua_engine_flags[] = {
	{ "echo", ATH_ENGINE_ECHO },
	{ "no_compile_cache", ATH_ENGINE_NO_COMPILE_CACHE },
	{ "stream_results", ATH_ENGINE_STREAM_RESULTS },
};
static const struct {
	const char *name;
	uint32_t bit;
} athlua_pool_flags[] = {
	{ "pool_use_lifo", ATH_POOL_LIFO },
	{ "pool_pre_ping", ATH_POOL_PRE_PING },
};
static const char *const athlua_pool_classes[] = { "default", "queue", "null", "static", "singleton_thread", NULL };

/* the numeric engine options: name, field, and the factor from Lua's unit to the field's */
static const struct {
	const char *name;
	size_t offset;
	double scale;
} athlua_uint_opts[] = {
	{ "pool_size", offsetof(ath_engine_options, pool_size), 1 },
	{ "pool_timeout", offsetof(ath_engine_options, pool_timeout_ms), 1000 }, /* seconds, as SQLAlchemy */
	{ "pool_recycle", offsetof(ath_engine_options, pool_recycle_s), 1 },
	{ "compile_cache_size", offsetof(ath_engine_options, compile_cache_size), 1 },
	{ "stmt_cache_size", offsetof(ath_engine_options, stmt_cache_size), 1 },
	{ "max_depth", offsetof(ath_engine_options, max_depth), 1 },
	{ "max_input_bytes", offsetof(ath_engine_options, max_input_bytes), 1 },
	{ "max_items", offsetof(ath_engine_options, max_items), 1 },
};

static int athlua_opt_uint(lua_State *L, const char *key, double scale, uint32_t *out)
{
	lua_Number n;
	if (!lua_isnumber(L, -1)) {
		lua_pushfstring(L, "athanor: option %s must be a number", key);
		return -1;
	}
	n = lua_tonumber(L, -1) * scale;
	if (!(n >= 0 && n <= 4294967295.0)) {
		lua_pushfstring(L, "athanor: option %s is out of range", key);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

/* Engine options from a Lua table (keys as SQLAlchemy's create_engine arguments); an unknown key is
 * an error rather than ignored. Strings stay owned by the table, which is on the stack for the call. */
int athlua_engine_options_fill(lua_State *L, int idx, ath_engine_options *o, athlua_metadata_fn to_md)
{
	ath_engine_options_init(o, ATH_ENGINE_OPTIONS_VERSION);
	if (lua_isnoneornil(L, idx))
		return 0;
	if (!lua_istable(L, idx)) {
		lua_pushstring(L, "athanor: engine options must be a table");
		return -1;
	}
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		size_t i;
		int done = 0;
		if (!k) {
			lua_pushstring(L, "athanor: engine option names must be strings");
			return -1;
		}
		for (i = 0; i < sizeof athlua_engine_flags / sizeof athlua_engine_flags[0]; i++)
			if (!strcmp(k, athlua_engine_flags[i].name)) {
				if (lua_toboolean(L, -1))
					o->flags |= athlua_engine_flags[i].bit;
				done = 1;
			}
		for (i = 0; i < sizeof athlua_pool_flags / sizeof athlua_pool_flags[0]; i++)
			if (!strcmp(k, athlua_pool_flags[i].name)) {
				if (lua_toboolean(L, -1))
					o->pool_flags |= athlua_pool_flags[i].bit;
				done = 1;
			}
		for (i = 0; !done && i < sizeof athlua_uint_opts / sizeof athlua_uint_opts[0]; i++)
			if (!strcmp(k, athlua_uint_opts[i].name)) {
				uint32_t *field = (uint32_t *)((char *)o + athlua_uint_opts[i].offset);
				if (athlua_opt_uint(L, k, athlua_uint_opts[i].scale, field) < 0)
					return -1;
				done = 1;
			}
		if (done) {
		} else if (!strcmp(k, "isolation_level")) {
			if (lua_type(L, -1) != LUA_TSTRING) {
				lua_pushstring(L, "athanor: option isolation_level must be a string");
				return -1;
			}
			o->isolation_level = lua_tostring(L, -1);
		} else if (!strcmp(k, "metadata")) {
			if (to_md(L, lua_gettop(L), &o->metadata) < 0)
				return -1;
		} else if (!strcmp(k, "pool_class")) {
			int c = -1;
			if (lua_type(L, -1) == LUA_TSTRING)
				for (i = 0; athlua_pool_classes[i]; i++)
					if (!strcmp(lua_tostring(L, -1), athlua_pool_classes[i]))
						c = (int)i;
			if (c < 0) {
				lua_pushstring(L, "athanor: option pool_class must be one of default, queue, null, static, singleton_thread");
				return -1;
			}
			o->pool_class = (uint32_t)c;
		} else if (!strcmp(k, "max_overflow")) {
			if (!lua_isnumber(L, -1)) {
				lua_pushstring(L, "athanor: option max_overflow must be a number");
				return -1;
			}
			o->max_overflow = (int32_t)lua_tonumber(L, -1);
			if (o->max_overflow == 0)
				o->max_overflow = ATH_POOL_OVERFLOW_NONE;
		} else {
			lua_pushfstring(L, "athanor: unknown engine option '%s'", k);
			return -1;
		}
		lua_pop(L, 1);
	}
	return 0;
}

int athlua_compile_options_fill(lua_State *L, int idx, ath_compile_options *o, athlua_metadata_fn to_md)
{
	ath_compile_options_init(o, ATH_COMPILE_OPTIONS_VERSION);
	if (lua_isnoneornil(L, idx))
		return 0;
	if (!lua_istable(L, idx)) {
		lua_pushstring(L, "athanor: compile options must be a table");
		return -1;
	}
	lua_getfield(L, idx, "metadata");
	if (!lua_isnil(L, -1) && to_md(L, lua_gettop(L), &o->metadata) < 0)
		return -1;
	lua_pop(L, 1);
	return 0;
}

/* ---- encoding ------------------------------------------------------------------------------- */

/* The bytes being encoded: in `inl` while they fit (a statement's params, one attribute value: no
 * malloc on the hot paths), then on the heap. */
typedef struct {
	unsigned char *p;
	size_t len, cap;
	const char *err; /* static message, or NULL */
	char errbuf[160];
	unsigned char inl[256];
} athlua_out;

static void out_init(athlua_out *o)
{
	o->p = o->inl;
	o->len = 0;
	o->cap = sizeof o->inl;
	o->err = NULL;
}

static void out_free(athlua_out *o)
{
	if (o->p != o->inl)
		free(o->p);
}

static int out_reserve(athlua_out *o, size_t n)
{
	if (o->len + n <= o->cap)
		return 0;
	size_t cap = o->cap * 2;
	while (cap < o->len + n)
		cap *= 2;
	unsigned char *p = o->p == o->inl ? malloc(cap) : realloc(o->p, cap);
	if (!p) {
		o->err = "out of memory";
		return -1;
	}
	if (o->p == o->inl)
		memcpy(p, o->inl, o->len);
	o->p = p;
	o->cap = cap;
	return 0;
}

static int out_bytes(athlua_out *o, const void *b, size_t n)
{
	if (out_reserve(o, n) < 0)
		return -1;
	memcpy(o->p + o->len, b, n);
	o->len += n;
	return 0;
}

static int out_be(athlua_out *o, unsigned char tag, uint64_t v, int width)
{
	unsigned char b[9];
	int i, n = 0;
	if (tag)
		b[n++] = tag;
	for (i = width - 1; i >= 0; i--)
		b[n++] = (unsigned char)(v >> (8 * i));
	return out_bytes(o, b, (size_t)n);
}

static int out_int(athlua_out *o, int64_t v)
{
	if (v >= 0) {
		if (v < 128)
			return out_be(o, 0, (uint64_t)v, 1);
		if (v < 256)
			return out_be(o, 0xcc, (uint64_t)v, 1);
		if (v < 65536)
			return out_be(o, 0xcd, (uint64_t)v, 2);
		if (v <= 0xffffffffLL)
			return out_be(o, 0xce, (uint64_t)v, 4);
		return out_be(o, 0xcf, (uint64_t)v, 8);
	}
	if (v >= -32)
		return out_be(o, 0, (uint64_t)(uint8_t)(int8_t)v, 1);
	if (v >= -128)
		return out_be(o, 0xd0, (uint64_t)(uint8_t)(int8_t)v, 1);
	if (v >= -32768)
		return out_be(o, 0xd1, (uint64_t)(uint16_t)(int16_t)v, 2);
	if (v >= INT32_MIN)
		return out_be(o, 0xd2, (uint64_t)(uint32_t)(int32_t)v, 4);
	return out_be(o, 0xd3, (uint64_t)v, 8);
}

static int out_double(athlua_out *o, double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return out_be(o, 0xcb, u, 8);
}

static int out_str_like(athlua_out *o, const char *s, size_t n, int bin)
{
	int r;
	if (bin) {
		if (n < 256)
			r = out_be(o, 0xc4, n, 1);
		else if (n < 65536)
			r = out_be(o, 0xc5, n, 2);
		else
			r = out_be(o, 0xc6, n, 4);
	} else if (n < 32) {
		r = out_be(o, 0, 0xa0 | n, 1);
	} else if (n < 256) {
		r = out_be(o, 0xd9, n, 1);
	} else if (n < 65536) {
		r = out_be(o, 0xda, n, 2);
	} else {
		r = out_be(o, 0xdb, n, 4);
	}
	return r < 0 ? r : out_bytes(o, s, n);
}

static int out_container(athlua_out *o, size_t n, int map)
{
	if (n < 16)
		return out_be(o, 0, (map ? 0x80 : 0x90) | n, 1);
	if (n < 65536)
		return out_be(o, map ? 0xde : 0xdc, n, 2);
	return out_be(o, map ? 0xdf : 0xdd, n, 4);
}

static int out_ext_header(athlua_out *o, int8_t type, size_t n)
{
	int r;
	switch (n) {
	case 1: r = out_be(o, 0xd4, 0, 0); break;
	case 2: r = out_be(o, 0xd5, 0, 0); break;
	case 4: r = out_be(o, 0xd6, 0, 0); break;
	case 8: r = out_be(o, 0xd7, 0, 0); break;
	case 16: r = out_be(o, 0xd8, 0, 0); break;
	default:
		if (n < 256)
			r = out_be(o, 0xc7, n, 1);
		else if (n < 65536)
			r = out_be(o, 0xc8, n, 2);
		else
			r = out_be(o, 0xc9, n, 4);
	}
	return r < 0 ? r : out_be(o, 0, (uint8_t)type, 1);
}

static int encode(lua_State *L, athlua_out *o, int idx, int depth);

static int fail(athlua_out *o, const char *msg)
{
	if (!o->err)
		o->err = msg;
	return -1;
}

/* Metatable field `name` of the value at idx (absolute), pushed; returns its Lua type. */
static int mt_field(lua_State *L, int idx, const char *name)
{
	if (!lua_getmetatable(L, idx)) {
		lua_pushnil(L);
		return LUA_TNIL;
	}
	lua_getfield(L, -1, name);
	lua_remove(L, -2);
	return lua_type(L, -1);
}

static int number_field(lua_State *L, int idx, const char *name, double *out)
{
	lua_getfield(L, idx, name);
	int ok = lua_isnumber(L, -1);
	if (ok)
		*out = lua_tonumber(L, -1);
	lua_pop(L, 1);
	return ok ? 0 : -1;
}

static int encode_ext(lua_State *L, athlua_out *o, int idx, int type)
{
	double sec, nsec, us;
	size_t n;
	const char *s;
	switch (type) {
	case 2: case 3: case 4: case 5: case 7:
		lua_getfield(L, idx, "v");
		s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
		if (!s || (type == 7 && n != 16)) {
			lua_pop(L, 1);
			return fail(o, "malformed athanor value object (field v)");
		}
		if (out_ext_header(o, (int8_t)type, n) < 0 || out_bytes(o, s, n) < 0) {
			lua_pop(L, 1);
			return -1;
		}
		lua_pop(L, 1);
		return 0;
	case 6:
		if (number_field(L, idx, "us", &us) < 0)
			return fail(o, "malformed athanor Interval (field us)");
		return out_ext_header(o, 6, 8) < 0 ? -1 : out_be(o, 0, (uint64_t)(int64_t)us, 8);
	case -1:
		if (number_field(L, idx, "sec", &sec) < 0 || number_field(L, idx, "nsec", &nsec) < 0 ||
		    !(nsec >= 0 && nsec < 1e9))
			return fail(o, "malformed athanor Timestamp (fields sec, nsec)");
		if (sec >= 0 && sec < 4294967296.0 && nsec == 0)
			return out_ext_header(o, -1, 4) < 0 ? -1 : out_be(o, 0, (uint64_t)sec, 4);
		if (sec >= 0 && sec < 17179869184.0)
			return out_ext_header(o, -1, 8) < 0 ? -1
			       : out_be(o, 0, ((uint64_t)nsec << 34) | (uint64_t)sec, 8);
		return out_ext_header(o, -1, 12) < 0 || out_be(o, 0, (uint64_t)nsec, 4) < 0
		       ? -1 : out_be(o, 0, (uint64_t)(int64_t)sec, 8);
	case 1: /* an ORM object (its Lua proxy): reference by id, 8 bytes big-endian */
		if (number_field(L, idx, "__ath_id", &us) < 0 || !(us > 0))
			return fail(o, "malformed object reference (field __ath_id)");
		return out_ext_header(o, 1, 8) < 0 ? -1 : out_be(o, 0, (uint64_t)us, 8);
	default:
		return fail(o, "unknown athanor value type");
	}
}

typedef struct {
	const char *s;
	size_t n;
	int keyref; /* index into the key list table on the stack */
} athlua_key;

static int key_cmp(const void *a, const void *b)
{
	const athlua_key *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->s, y->s, n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* A map with string keys, in byte order of the keys so equal trees give equal bytes. */
static int encode_map(lua_State *L, athlua_out *o, int idx, size_t count, int depth)
{
	athlua_key *keys = count ? malloc(count * sizeof *keys) : NULL;
	size_t i = 0;
	int r = 0;
	if (count && !keys)
		return fail(o, "out of memory");
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING) {
			lua_pop(L, 1);
			free(keys);
			return fail(o, "a table with non-sequence keys is encoded as a map, and its keys must all be strings");
		}
		/* the string stays alive: it is a key of the table being encoded */
		keys[i].s = lua_tolstring(L, -1, &keys[i].n);
		i++;
	}
	if (count)
		qsort(keys, count, sizeof *keys, key_cmp);
	if (out_container(o, count, 1) < 0)
		r = -1;
	for (i = 0; r == 0 && i < count; i++) {
		lua_pushlstring(L, keys[i].s, keys[i].n);
		lua_pushvalue(L, -1);
		lua_rawget(L, idx);
		r = out_str_like(o, keys[i].s, keys[i].n, 0);
		if (r == 0)
			r = encode(L, o, lua_gettop(L), depth + 1);
		lua_pop(L, 2);
	}
	free(keys);
	return r;
}

static int encode_table(lua_State *L, athlua_out *o, int idx, int depth)
{
	size_t count = 0, n, i;
	int maxkey_ok = 1;
	double maxkey = 0;
	int t = mt_field(L, idx, "__ath_ext");
	if (t == LUA_TNUMBER) {
		int type = (int)lua_tonumber(L, -1);
		lua_pop(L, 1);
		return encode_ext(L, o, idx, type);
	}
	lua_pop(L, 1);
	if (mt_field(L, idx, "__ath_bin") != LUA_TNIL) {
		const char *s;
		lua_pop(L, 1);
		lua_getfield(L, idx, "bytes");
		if (lua_type(L, -1) != LUA_TSTRING) {
			lua_pop(L, 1);
			return fail(o, "malformed athanor Binary (field bytes)");
		}
		s = lua_tolstring(L, -1, &n);
		t = out_str_like(o, s, n, 1);
		lua_pop(L, 1);
		return t;
	}
	lua_pop(L, 1);
	if (mt_field(L, idx, "__ath_array") != LUA_TNIL) {
		double dn = 0;
		lua_pop(L, 1);
		if (number_field(L, idx, "n", &dn) < 0 || dn < 0)
			return fail(o, "an athanor array needs its length in field n");
		n = (size_t)dn;
		if (out_container(o, n, 0) < 0)
			return -1;
		for (i = 1; i <= n; i++) {
			lua_rawgeti(L, idx, (int)i);
			t = encode(L, o, lua_gettop(L), depth + 1);
			lua_pop(L, 1);
			if (t < 0)
				return -1;
		}
		return 0;
	}
	lua_pop(L, 1);
	int as_map = mt_field(L, idx, "__ath_map") != LUA_TNIL;
	lua_pop(L, 1);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		count++;
		if (lua_type(L, -1) == LUA_TNUMBER) {
			double k = lua_tonumber(L, -1);
			if (k >= 1 && k == floor(k)) {
				if (k > maxkey)
					maxkey = k;
			} else {
				maxkey_ok = 0;
			}
		} else {
			maxkey_ok = 0;
		}
	}
	if (as_map || !maxkey_ok || (double)count != maxkey)
		return encode_map(L, o, idx, count, depth);
	if (out_container(o, count, 0) < 0)
		return -1;
	for (i = 1; i <= count; i++) {
		lua_rawgeti(L, idx, (int)i);
		t = encode(L, o, lua_gettop(L), depth + 1);
		lua_pop(L, 1);
		if (t < 0)
			return -1;
	}
	return 0;
}

static int encode(lua_State *L, athlua_out *o, int idx, int depth)
{
	if (depth > ATHLUA_MAX_DEPTH)
		return fail(o, "value nested too deeply to encode");
	if (!lua_checkstack(L, 8))
		return fail(o, "Lua stack exhausted");
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return out_be(o, 0, 0xc0, 1);
	case LUA_TBOOLEAN:
		return out_be(o, 0, lua_toboolean(L, idx) ? 0xc3 : 0xc2, 1);
	case LUA_TNUMBER: {
#if LUA_VERSION_NUM >= 503
		if (lua_isinteger(L, idx))
			return out_int(o, (int64_t)lua_tointeger(L, idx));
		return out_double(o, (double)lua_tonumber(L, idx));
#else
		double d = (double)lua_tonumber(L, idx);
		if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
			return out_int(o, (int64_t)d);
		return out_double(o, d);
#endif
	}
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		return out_str_like(o, s, n, 0);
	}
	case LUA_TLIGHTUSERDATA:
		if (lua_touserdata(L, idx) == NULL)
			return out_be(o, 0, 0xc0, 1); /* athanor.null */
		break;
	case LUA_TTABLE:
		return encode_table(L, o, idx, depth);
	default:
		break;
	}
	snprintf(o->errbuf, sizeof o->errbuf, "cannot encode a Lua %s as a value", luaL_typename(L, idx));
	return fail(o, o->errbuf);
}

/* pack(value [, n]): msgpack bytes of value; with n, value is an array of length n (nils kept). */
int athlua_pack(lua_State *L)
{
	athlua_out o;
	int r, top;
	out_init(&o);
	lua_settop(L, 2);
	top = lua_gettop(L);
	if (!lua_isnil(L, 2)) {
		lua_Integer n = luaL_checkinteger(L, 2), i;
		luaL_checktype(L, 1, LUA_TTABLE);
		r = out_container(&o, (size_t)n, 0);
		for (i = 1; r == 0 && i <= n; i++) {
			lua_rawgeti(L, 1, (int)i);
			r = encode(L, &o, lua_gettop(L), 1);
			lua_pop(L, 1);
		}
	} else {
		r = encode(L, &o, 1, 0);
	}
	lua_settop(L, top);
	if (r < 0) {
		out_free(&o);
		lua_pushfstring(L, "athanor: %s", o.err ? o.err : "cannot encode value");
		return lua_error(L);
	}
	lua_pushlstring(L, (const char *)o.p, o.len);
	out_free(&o);
	return 1;
}

int athlua_obj_set(lua_State *L, ath_obj *obj, int attr, int idx)
{
	athlua_out o;
	int top = lua_gettop(L), r;
	out_init(&o);
	r = encode(L, &o, idx, 0);
	lua_settop(L, top);
	if (r < 0) {
		out_free(&o);
		lua_pushfstring(L, "athanor: %s", o.err ? o.err : "cannot encode value");
		return -1;
	}
	r = ath_obj_set_i(obj, attr, o.p, o.len);
	out_free(&o);
	if (r < 0) {
		athlua_push_last_error(L, r);
		return -1;
	}
	return 0;
}

/* A plain Lua list given for an expanding bindparam: an array of t.n (else #t) values, nils kept. */
static int encode_list(lua_State *L, athlua_out *o, int idx)
{
	double dn;
	size_t n, i;
	if (number_field(L, idx, "n", &dn) == 0 && dn >= 0)
		n = (size_t)dn;
	else
		n = (size_t)lua_rawlen(L, idx);
	if (out_container(o, n, 0) < 0)
		return -1;
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, idx, (int)i);
		int r = encode(L, o, lua_gettop(L), 2);
		lua_pop(L, 1);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Whether the value on top is a table without a metatable given for expanding name i (exp_idx). */
static int is_plain_list_for(lua_State *L, int exp_idx, lua_Integer i)
{
	int yes;
	if (lua_type(L, -1) != LUA_TTABLE)
		return 0;
	if (lua_getmetatable(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	lua_rawgeti(L, exp_idx, (int)i);
	yes = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return yes;
}

/* One params array of a statement's plan (the tables at plan..plan+3: names, consts, has_const,
 * expanding or nil) from the {name = value} table at row (nil: none). Entry i is row[names[i]] when
 * names[i] is set (consts[i] when that is nil and has_const[i]), else consts[i] (a value lifted from
 * the statement). Returns 0, -1 for an encoding error (o->err), or i >= 1 when row lacks required
 * name i. Leaves the stack as it found it. */
static int encode_plan_row(lua_State *L, athlua_out *o, int row, lua_Integer n, int plan)
{
	int top = lua_gettop(L), r = out_container(o, (size_t)n, 0), has_row = !lua_isnil(L, row);
	int exp = !lua_isnoneornil(L, plan + 3);
	lua_Integer i;
	for (i = 1; r == 0 && i <= n; i++) {
		lua_rawgeti(L, plan, (int)i);
		if (lua_type(L, -1) == LUA_TSTRING) {
			if (has_row) {
				lua_pushvalue(L, -1);
				lua_gettable(L, row);
			} else {
				lua_pushnil(L);
			}
			if (lua_isnil(L, -1)) {
				lua_rawgeti(L, plan + 2, (int)i);
				int has = lua_toboolean(L, -1);
				lua_settop(L, top);
				if (!has)
					return (int)i;
				lua_rawgeti(L, plan + 1, (int)i);
			} else if (exp && is_plain_list_for(L, plan + 3, i)) {
				r = encode_list(L, o, lua_gettop(L));
				lua_settop(L, top);
				continue;
			}
		} else {
			lua_rawgeti(L, plan + 1, (int)i);
		}
		r = encode(L, o, lua_gettop(L), 1);
		lua_settop(L, top);
	}
	return r;
}

/* pack_params(params, n, names, consts, has_const, expanding): one execution's params array,
 * straight from the {name = value} table (or nil) as encode_plan_row() says; a plain list for an
 * expanding name is its array. Returns the msgpack bytes, or nil, name when a required name lacks
 * a value. */
int athlua_pack_params(lua_State *L)
{
	athlua_out o;
	lua_Integer n = luaL_checkinteger(L, 2);
	int r;
	if (!lua_isnil(L, 1))
		luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 3, LUA_TTABLE);
	luaL_checktype(L, 4, LUA_TTABLE);
	luaL_checktype(L, 5, LUA_TTABLE);
	lua_settop(L, 6);
	out_init(&o);
	r = encode_plan_row(L, &o, 1, n, 3);
	if (r > 0) {
		out_free(&o);
		lua_pushnil(L);
		lua_rawgeti(L, 3, r);
		return 2;
	}
	if (r < 0) {
		out_free(&o);
		lua_pushfstring(L, "athanor: %s", o.err ? o.err : "cannot encode value");
		return lua_error(L);
	}
	lua_pushlstring(L, (const char *)o.p, o.len);
	out_free(&o);
	return 1;
}

/* pack_rows(rows, n, names, consts, has_const): the params rows of an executemany, straight from
 * {name = value} tables, each as pack_params() packs one. Returns the msgpack bytes, or nil, row
 * number, name for a row that lacks a required name. */
int athlua_pack_rows(lua_State *L)
{
	athlua_out o;
	lua_Integer n = luaL_checkinteger(L, 2);
	size_t nrows, r;
	int rc = 0, top;
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 3, LUA_TTABLE);
	luaL_checktype(L, 4, LUA_TTABLE);
	luaL_checktype(L, 5, LUA_TTABLE);
	lua_settop(L, 5);
	lua_pushnil(L); /* no expanding names (6) */
	top = lua_gettop(L);
	out_init(&o);
	nrows = lua_rawlen(L, 1);
	rc = out_container(&o, nrows, 0);
	for (r = 1; rc == 0 && r <= nrows; r++) {
		lua_rawgeti(L, 1, (int)r);
		if (!lua_istable(L, -1)) {
			out_free(&o);
			return luaL_error(L, "athanor: parameter row %d must be a table", (int)r);
		}
		rc = encode_plan_row(L, &o, top + 1, n, 3);
		lua_settop(L, top);
		if (rc > 0) {
			out_free(&o);
			lua_pushnil(L);
			lua_pushinteger(L, (lua_Integer)r);
			lua_rawgeti(L, 3, rc);
			return 3;
		}
	}
	if (rc < 0) {
		out_free(&o);
		lua_pushfstring(L, "athanor: %s", o.err ? o.err : "cannot encode value");
		return lua_error(L);
	}
	lua_pushlstring(L, (const char *)o.p, o.len);
	out_free(&o);
	return 1;
}

/* ---- decoding ------------------------------------------------------------------------------- */

typedef struct {
	const unsigned char *p, *end;
	const char *err;
	int ref_cache, ref_fn; /* object references (ext 1): stack indexes of the id cache and resolver; 0 = none */
	int errref;            /* registry ref of the resolver's error, or LUA_NOREF */
} athlua_in;

static int in_need(athlua_in *in, size_t n)
{
	if ((size_t)(in->end - in->p) < n) {
		in->err = "truncated msgpack";
		return -1;
	}
	return 0;
}

static uint64_t in_be(athlua_in *in, int width)
{
	uint64_t v = 0;
	int i;
	for (i = 0; i < width; i++)
		v = (v << 8) | in->p[i];
	in->p += width;
	return v;
}

static void push_int64(lua_State *L, int64_t v)
{
#if LUA_VERSION_NUM >= 503
	lua_pushinteger(L, (lua_Integer)v);
#else
	lua_pushnumber(L, (lua_Number)v); /* LuaJIT: exact up to 2^53 */
#endif
}

static int decode(lua_State *L, athlua_in *in, int depth);

static void set_config_metatable(lua_State *L, const char *field, int ext)
{
	athlua_config_field(L, field);
	if (ext != 0x7fff && lua_istable(L, -1)) {
		lua_rawgeti(L, -1, ext);
		lua_remove(L, -2);
	}
	if (lua_istable(L, -1))
		lua_setmetatable(L, -2);
	else
		lua_pop(L, 1);
}

/* An object reference with a resolver: cache[id], else resolver(id) (called protected; its error is
 * kept for the caller to raise after releasing its buffer). */
static int decode_ref(lua_State *L, athlua_in *in)
{
	int64_t id = (int64_t)in_be(in, 8);
	push_int64(L, id);
	lua_rawget(L, in->ref_cache);
	if (!lua_isnil(L, -1))
		return 0;
	lua_pop(L, 1);
	lua_pushvalue(L, in->ref_fn);
	push_int64(L, id);
	if (lua_pcall(L, 1, 1, 0) != 0) {
		in->errref = luaL_ref(L, LUA_REGISTRYINDEX);
		in->err = "cannot resolve an object reference";
		return -1;
	}
	return 0;
}

static int decode_ext(lua_State *L, athlua_in *in, int8_t type, size_t n)
{
	if (in_need(in, n) < 0)
		return -1;
	if (type == 1 && n == 8 && in->ref_cache)
		return decode_ref(L, in);
	const unsigned char *b = in->p;
	lua_createtable(L, 0, 2);
	switch (type) {
	case 6:
		if (n != 8)
			goto raw;
		push_int64(L, (int64_t)in_be(in, 8));
		lua_setfield(L, -2, "us");
		break;
	case -1: {
		int64_t sec;
		uint32_t nsec;
		if (n == 4) {
			sec = (int64_t)in_be(in, 4);
			nsec = 0;
		} else if (n == 8) {
			uint64_t v = in_be(in, 8);
			nsec = (uint32_t)(v >> 34);
			sec = (int64_t)(v & 0x3ffffffffULL);
		} else if (n == 12) {
			nsec = (uint32_t)in_be(in, 4);
			sec = (int64_t)in_be(in, 8);
		} else {
			goto raw;
		}
		push_int64(L, sec);
		lua_setfield(L, -2, "sec");
		push_int64(L, nsec);
		lua_setfield(L, -2, "nsec");
		break;
	}
	default:
	raw:
		in->p = b + n;
		lua_pushlstring(L, (const char *)b, n);
		lua_setfield(L, -2, "v");
		if (type < -1 || type > 7 || type == 1) {
			lua_pushinteger(L, type);
			lua_setfield(L, -2, "ext");
			return 0;
		}
	}
	set_config_metatable(L, "ext", type);
	return 0;
}

static int decode_array_body(lua_State *L, athlua_in *in, size_t n, int depth, int mt_idx)
{
	size_t i;
	if ((size_t)(in->end - in->p) < n) {
		in->err = "truncated msgpack array";
		return -1;
	}
	lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
	for (i = 1; i <= n; i++) {
		if (decode(L, in, depth + 1) < 0)
			return -1;
		lua_rawseti(L, -2, (int)i);
	}
	if (mt_idx) {
		lua_pushvalue(L, mt_idx);
		lua_setmetatable(L, -2);
	}
	return 0;
}

static int decode_container(lua_State *L, athlua_in *in, size_t n, int map, int depth)
{
	size_t i;
	if (!map)
		return decode_array_body(L, in, n, depth, 0);
	if ((size_t)(in->end - in->p) / 2 < n) {
		in->err = "truncated msgpack map";
		return -1;
	}
	lua_createtable(L, 0, n > INT32_MAX ? 0 : (int)n);
	for (i = 0; i < n; i++) {
		if (decode(L, in, depth + 1) < 0 || decode(L, in, depth + 1) < 0)
			return -1;
		if (lua_isnil(L, -2)) {
			lua_pop(L, 2);
			continue;
		}
		lua_rawset(L, -3);
	}
	return 0;
}

static int decode_str(lua_State *L, athlua_in *in, size_t n, int bin)
{
	if (in_need(in, n) < 0)
		return -1;
	if (bin) {
		lua_createtable(L, 0, 1);
		lua_pushlstring(L, (const char *)in->p, n);
		lua_setfield(L, -2, "bytes");
		set_config_metatable(L, "binary_mt", 0x7fff);
	} else {
		lua_pushlstring(L, (const char *)in->p, n);
	}
	in->p += n;
	return 0;
}

static int decode(lua_State *L, athlua_in *in, int depth)
{
	unsigned char c;
	if (depth > ATHLUA_MAX_DEPTH) {
		in->err = "msgpack nested too deeply";
		return -1;
	}
	if (!lua_checkstack(L, 4)) {
		in->err = "Lua stack exhausted";
		return -1;
	}
	if (in_need(in, 1) < 0)
		return -1;
	c = *in->p++;
	if (c <= 0x7f) {
		lua_pushinteger(L, c);
		return 0;
	}
	if (c >= 0xe0) {
		lua_pushinteger(L, (int8_t)c);
		return 0;
	}
	if ((c & 0xf0) == 0x80)
		return decode_container(L, in, c & 0x0f, 1, depth);
	if ((c & 0xf0) == 0x90)
		return decode_container(L, in, c & 0x0f, 0, depth);
	if ((c & 0xe0) == 0xa0)
		return decode_str(L, in, c & 0x1f, 0);
	switch (c) {
	case 0xc0: lua_pushnil(L); return 0;
	case 0xc2: lua_pushboolean(L, 0); return 0;
	case 0xc3: lua_pushboolean(L, 1); return 0;
	case 0xc4: case 0xc5: case 0xc6: {
		int w = c == 0xc4 ? 1 : c == 0xc5 ? 2 : 4;
		if (in_need(in, (size_t)w) < 0)
			return -1;
		return decode_str(L, in, (size_t)in_be(in, w), 1);
	}
	case 0xc7: case 0xc8: case 0xc9: {
		int w = c == 0xc7 ? 1 : c == 0xc8 ? 2 : 4;
		size_t n;
		if (in_need(in, (size_t)w + 1) < 0)
			return -1;
		n = (size_t)in_be(in, w);
		int8_t type = (int8_t)*in->p++;
		return decode_ext(L, in, type, n);
	}
	case 0xca: {
		uint32_t u;
		float f;
		if (in_need(in, 4) < 0)
			return -1;
		u = (uint32_t)in_be(in, 4);
		memcpy(&f, &u, 4);
		lua_pushnumber(L, (lua_Number)f);
		return 0;
	}
	case 0xcb: {
		uint64_t u;
		double d;
		if (in_need(in, 8) < 0)
			return -1;
		u = in_be(in, 8);
		memcpy(&d, &u, 8);
		lua_pushnumber(L, (lua_Number)d);
		return 0;
	}
	case 0xcc: case 0xcd: case 0xce: case 0xcf: {
		int w = 1 << (c - 0xcc);
		uint64_t u;
		if (in_need(in, (size_t)w) < 0)
			return -1;
		u = in_be(in, w);
		if (u > (uint64_t)INT64_MAX)
			lua_pushnumber(L, (lua_Number)u);
		else
			push_int64(L, (int64_t)u);
		return 0;
	}
	case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
		int w = 1 << (c - 0xd0);
		uint64_t u;
		int64_t v;
		if (in_need(in, (size_t)w) < 0)
			return -1;
		u = in_be(in, w);
		if (w < 8 && (u >> (8 * w - 1)))
			u |= ~0ULL << (8 * w); /* sign-extend */
		memcpy(&v, &u, 8);
		push_int64(L, v);
		return 0;
	}
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
		size_t n = (size_t)1 << (c - 0xd4);
		if (in_need(in, 1) < 0)
			return -1;
		int8_t type = (int8_t)*in->p++;
		return decode_ext(L, in, type, n);
	}
	case 0xd9: case 0xda: case 0xdb: {
		int w = c == 0xd9 ? 1 : c == 0xda ? 2 : 4;
		if (in_need(in, (size_t)w) < 0)
			return -1;
		return decode_str(L, in, (size_t)in_be(in, w), 0);
	}
	case 0xdc: case 0xdd: case 0xde: case 0xdf: {
		int w = (c == 0xdc || c == 0xde) ? 2 : 4;
		if (in_need(in, (size_t)w) < 0)
			return -1;
		return decode_container(L, in, (size_t)in_be(in, w), c >= 0xde, depth);
	}
	default:
		in->err = "invalid msgpack type byte";
		return -1;
	}
}

int athlua_decode_push_refs(lua_State *L, const unsigned char *p, size_t size, int cache_idx, int fn_idx)
{
	athlua_in in = { p, p + size, NULL, cache_idx, fn_idx, LUA_NOREF };
	int top = lua_gettop(L);
	if (!size) {
		lua_pushnil(L);
		return 0;
	}
	if (decode(L, &in, 0) < 0 || in.p != in.end) {
		lua_settop(L, top);
		if (in.errref != LUA_NOREF) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, in.errref);
			luaL_unref(L, LUA_REGISTRYINDEX, in.errref);
			return -1;
		}
		lua_pushfstring(L, "athanor: %s", in.err ? in.err : "trailing bytes after msgpack value");
		return -1;
	}
	return 0;
}

int athlua_decode_push(lua_State *L, const unsigned char *p, size_t size)
{
	return athlua_decode_push_refs(L, p, size, 0, 0);
}

/* The length of the msgpack array header at in->p (consumed), or -1 with in->err set. */
static int64_t in_array_len(athlua_in *in, const char *what)
{
	unsigned char c;
	if (in_need(in, 1) < 0)
		return -1;
	c = *in->p++;
	if ((c & 0xf0) == 0x90)
		return c & 0x0f;
	if (c == 0xdc || c == 0xdd) {
		int w = c == 0xdc ? 2 : 4;
		if (in_need(in, (size_t)w) < 0)
			return -1;
		return (int64_t)in_be(in, w);
	}
	in->err = what;
	return -1;
}

/* A batch: all its rows as a Lua array (first_only = 0), or only the first row (nil when none) with
 * the batch's row count in *nrows. */
static int decode_batch(lua_State *L, const unsigned char *p, size_t size, int mt_idx, int first_only, size_t *nrows)
{
	athlua_in in = { p, p + size, NULL, 0, 0, LUA_NOREF };
	int top = lua_gettop(L);
	int64_t n, ncol;
	size_t i;
	if (mt_idx && lua_isnoneornil(L, mt_idx))
		mt_idx = 0;
	if ((n = in_array_len(&in, "a batch must be a msgpack array")) < 0)
		goto bad;
	if ((size_t)(in.end - in.p) < (size_t)n) {
		in.err = "truncated batch";
		goto bad;
	}
	if (nrows)
		*nrows = (size_t)n;
	if (first_only) {
		if (n == 0) {
			lua_pushnil(L);
			return 0;
		}
		if ((ncol = in_array_len(&in, "a row must be a msgpack array")) < 0 ||
		    decode_array_body(L, &in, (size_t)ncol, 1, mt_idx) < 0)
			goto bad;
		return 0; /* the rows after it are left undecoded */
	}
	lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
	for (i = 1; i <= (size_t)n; i++) {
		if ((ncol = in_array_len(&in, "a row must be a msgpack array")) < 0 ||
		    decode_array_body(L, &in, (size_t)ncol, 1, mt_idx) < 0)
			goto bad;
		lua_rawseti(L, -2, (int)i);
	}
	if (in.p != in.end) {
		in.err = "trailing bytes after the batch";
		goto bad;
	}
	return 0;
bad:
	lua_settop(L, top);
	lua_pushfstring(L, "athanor: %s", in.err ? in.err : "malformed batch");
	return -1;
}

int athlua_decode_rows(lua_State *L, const unsigned char *p, size_t size, int mt_idx)
{
	return decode_batch(L, p, size, mt_idx, 0, NULL);
}

int athlua_decode_first_row(lua_State *L, const unsigned char *p, size_t size, int mt_idx, size_t *nrows)
{
	return decode_batch(L, p, size, mt_idx, 1, nrows);
}

/* unpack(bytes): the Lua value of msgpack bytes (for tests and tools). */
int athlua_unpack(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	if (athlua_decode_push(L, (const unsigned char *)s, n) < 0)
		return lua_error(L);
	return 1;
}
