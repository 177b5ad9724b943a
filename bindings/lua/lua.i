/* lua.i — Lua typemaps for athanor.i: owned handles become garbage-collected userdata, ath_buf
 * results become Lua values (decoded from msgpack in C, luaglue.c), byte inputs are Lua strings, and
 * a failing call raises a Lua error object {class, code, sqlstate, native_code, flags, message, sql}
 * (athanor/errors.lua gives it its class hierarchy). The idiomatic layer is athanor/*.lua; this
 * module (athanor_raw) is not meant to be used directly. */

%{
#include "luaglue.h"
#if LUA_VERSION_NUM < 502
#define lua_rawlen lua_objlen
#endif
%}

/* An int return: a failure raises the last error; freeargs still run (SWIG's fail: path). */
%typemap(out) int {
	if (ath_binding_failed($1)) {
		athlua_push_last_error(L, $1);
		SWIG_fail;
	}
	lua_pushinteger(L, (lua_Integer)$1);
	SWIG_arg++;
}

/* T **out: a new handle the host owns (its __gc calls the handle's destructor). */
%define ATH_OWNED_OUT(T)
%typemap(in, numinputs=0) T **out (T *tmp = NULL) { $1 = &tmp; }
%typemap(argout) T **out { SWIG_NewPointerObj(L, tmp$argnum, $*1_descriptor, 1); SWIG_arg++; }
%enddef
ATH_OWNED_OUT(ath_engine)
ATH_OWNED_OUT(ath_conn)
ATH_OWNED_OUT(ath_txn)
ATH_OWNED_OUT(ath_result)
ATH_OWNED_OUT(ath_metadata)
ATH_OWNED_OUT(ath_registry)
ATH_OWNED_OUT(ath_session)
ATH_OWNED_OUT(ath_obj)

/* ath_buf *out: the msgpack the library wrote, decoded into a Lua value; the buffer is disposed. */
%typemap(in, numinputs=0) ath_buf *out (ath_buf tmp = ATH_BUF_INIT) { $1 = &tmp; }
%typemap(argout) ath_buf *out {
	if (athlua_decode_push(L, tmp$argnum.ptr, tmp$argnum.size) < 0)
		SWIG_fail;
	SWIG_arg++;
}
%typemap(freearg) ath_buf *out { ath_buf_dispose(&tmp$argnum); }

/* (bytes, length) inputs: a Lua string, or nil for none. Borrowed for the call, as the C API says. */
%typemap(in) (const void *shape, size_t shape_len), (const void *params, size_t params_len),
	     (const void *params_rows, size_t params_rows_len), (const void *spec, size_t len),
	     (const void *spec, size_t spec_len), (const void *pk, size_t pk_len), (const void *value, size_t len) {
	if (lua_isnoneornil(L, $input)) {
		$1 = NULL;
		$2 = 0;
	} else {
		size_t n = 0;
		if (lua_type(L, $input) != LUA_TSTRING)
			SWIG_fail_arg("$symname", $input, "msgpack string");
		$1 = (void *)lua_tolstring(L, $input, &n);
		$2 = n;
	}
}

/* Options structs cross as Lua tables (nil for defaults). */
%typemap(in) const ath_engine_options *opts (ath_engine_options tmp) {
	if (athlua_engine_options(L, $input, &tmp) < 0)
		SWIG_fail;
	$1 = lua_isnoneornil(L, $input) ? NULL : &tmp;
}
%typemap(in) const ath_compile_options *opts (ath_compile_options tmp) {
	if (athlua_compile_options(L, $input, &tmp) < 0)
		SWIG_fail;
	$1 = lua_isnoneornil(L, $input) ? NULL : &tmp;
}

/* Session options as a Lua table {autoflush = false, expire_on_commit = false} (nil: defaults). */
%typemap(in) const ath_session_options *opts (ath_session_options tmp) {
	ath_session_options_init(&tmp, ATH_SESSION_OPTIONS_VERSION);
	if (lua_istable(L, $input)) {
		lua_getfield(L, $input, "autoflush");
		if (lua_isboolean(L, -1) && !lua_toboolean(L, -1))
			tmp.flags |= ATH_SESSION_NO_AUTOFLUSH;
		lua_pop(L, 1);
		lua_getfield(L, $input, "expire_on_commit");
		if (lua_isboolean(L, -1) && !lua_toboolean(L, -1))
			tmp.flags |= ATH_SESSION_NO_EXPIRE_ON_COMMIT;
		lua_pop(L, 1);
	} else if (!lua_isnoneornil(L, $input)) {
		SWIG_fail_arg("$symname", $input, "table of session options");
	}
	$1 = &tmp;
}

/* Attribute name lists: a Lua array of strings, or nil for all. The strings stay owned by the
 * table, which is on the stack for the call. */
%typemap(in) (const char *const *attrs, size_t nattrs) {
	if (lua_isnoneornil(L, $input)) {
		$1 = NULL;
		$2 = 0;
	} else {
		size_t i, n;
		if (!lua_istable(L, $input))
			SWIG_fail_arg("$symname", $input, "array of attribute names");
		n = (size_t)lua_rawlen(L, $input);
		$1 = ($1_ltype)calloc(n ? n : 1, sizeof(char *));
		if (!$1)
			SWIG_fail_arg("$symname", $input, "array of attribute names (out of memory)");
		$2 = n;
		for (i = 0; i < n; i++) {
			lua_rawgeti(L, $input, (int)i + 1);
			if (lua_type(L, -1) != LUA_TSTRING) {
				lua_pop(L, 1);
				SWIG_fail_arg("$symname", $input, "array of attribute names");
			}
			((const char **)$1)[i] = lua_tostring(L, -1);
			lua_pop(L, 1);
		}
	}
}
%typemap(freearg) (const char *const *attrs, size_t nattrs) { free((void *)$1); }

%typemap(in, numinputs=0) size_t *count_out (size_t tmp = 0) { $1 = &tmp; }
%typemap(argout) size_t *count_out { lua_pushinteger(L, (lua_Integer)tmp$argnum); SWIG_arg++; }

%include <typemaps.i>
%apply int *OUTPUT { int *major, int *minor, int *patch };

%{
/* The ath_metadata behind a userdata, or -1 with an error message pushed. */
static int athlua_to_metadata(lua_State *L, int idx, const ath_metadata **out)
{
	void *p = NULL;
	if (!SWIG_IsOK(SWIG_ConvertPtr(L, idx, &p, SWIGTYPE_p_ath_metadata, 0))) {
		lua_pushstring(L, "athanor: option metadata must be a metadata handle");
		return -1;
	}
	*out = p;
	return 0;
}

/* Options structs from Lua tables (luaglue.c), given the metadata conversion that needs SWIG's types. */
static int athlua_engine_options(lua_State *L, int idx, ath_engine_options *o)
{
	return athlua_engine_options_fill(L, idx, o, athlua_to_metadata);
}

static int athlua_compile_options(lua_State *L, int idx, ath_compile_options *o)
{
	return athlua_compile_options_fill(L, idx, o, athlua_to_metadata);
}

/* The C handle of the userdata at idx, for the hand-written natives below: a handle made by this
 * module has exactly SWIG's type (checked by pointer, no name comparison); anything else goes
 * through SWIG's conversion. Raises an argument error for a value of another type. */
static void *athlua_handle(lua_State *L, int idx, swig_type_info *type, const char *what)
{
	swig_lua_userdata *usr = (swig_lua_userdata *)lua_touserdata(L, idx);
	void *p = NULL;
	if (usr && !lua_islightuserdata(L, idx) && lua_rawlen(L, idx) >= sizeof *usr && usr->type == type)
		return usr->ptr;
	if (!SWIG_IsOK(SWIG_ConvertPtr(L, idx, &p, type, 0)))
		luaL_argerror(L, idx, what);
	return p;
}

/* close(handle): call the handle's destructor now and leave the userdata empty, so a later call
 * passes NULL and the C API answers ATH_EMISUSE instead of touching freed memory. Idempotent. */
static int athlua_close(lua_State *L)
{
	swig_lua_userdata *usr;
	if (lua_isnoneornil(L, 1))
		return 0;
	if (!lua_isuserdata(L, 1) || !(usr = (swig_lua_userdata *)lua_touserdata(L, 1)) || !usr->type)
		return luaL_error(L, "athanor: close() expects an athanor handle");
	if (usr->ptr && usr->own) {
		if (usr->type == SWIGTYPE_p_ath_result)
			ath_result_close(usr->ptr);
		else if (usr->type == SWIGTYPE_p_ath_txn)
			ath_txn_free(usr->ptr);
		else if (usr->type == SWIGTYPE_p_ath_conn)
			ath_conn_close(usr->ptr);
		else if (usr->type == SWIGTYPE_p_ath_engine)
			ath_engine_free(usr->ptr);
		else if (usr->type == SWIGTYPE_p_ath_metadata)
			ath_metadata_free(usr->ptr);
		else if (usr->type == SWIGTYPE_p_ath_obj)
			ath_obj_free(usr->ptr);
		else if (usr->type == SWIGTYPE_p_ath_session)
			ath_session_close(usr->ptr);
		else if (usr->type == SWIGTYPE_p_ath_registry)
			ath_registry_free(usr->ptr);
		else
			return luaL_error(L, "athanor: close() expects an athanor handle, not %s", usr->type->name);
	}
	usr->ptr = NULL;
	usr->own = 0;
	return 0;
}

/* Push what the Lua Result keeps of a new result: returns_rows, rowcount, lastrowid, its column
 * names joined by NUL bytes (a key for the row metatable, which athanor/engine.lua caches) and
 * inserted_primary_key. The header's content without building its table of columns and types on
 * every execute. Returns the number of values pushed, or -1 with the error object pushed. */
static int athlua_result_info(lua_State *L, ath_result *res)
{
	ath_buf buf = ATH_BUF_INIT;
	luaL_Buffer names;
	size_t i, n = ath_result_column_count(res);
	int rc;
	lua_pushboolean(L, ath_result_returns_rows(res));
#if LUA_VERSION_NUM >= 503
	lua_pushinteger(L, (lua_Integer)ath_result_rowcount(res));
	lua_pushinteger(L, (lua_Integer)ath_result_lastrowid(res));
#else
	lua_pushnumber(L, (lua_Number)ath_result_rowcount(res));
	lua_pushnumber(L, (lua_Number)ath_result_lastrowid(res));
#endif
	luaL_buffinit(L, &names);
	for (i = 0; i < n; i++) {
		if (i)
			luaL_addchar(&names, '\0');
		luaL_addstring(&names, ath_result_column_name(res, i));
	}
	luaL_pushresult(&names);
	rc = ath_result_inserted_primary_key(&buf, res);
	if (rc < 0) {
		ath_buf_dispose(&buf);
		athlua_push_last_error(L, rc);
		return -1;
	}
	rc = athlua_decode_push(L, buf.ptr, buf.size);
	ath_buf_dispose(&buf);
	return rc < 0 ? -1 : 5;
}

/* execute(conn, shape, params [, many, flags]) -> result, returns_rows, rowcount, lastrowid, names,
 * inserted_primary_key: ath_conn_execute() (or ath_conn_executemany_v2() when many) and the
 * result's header (athlua_result_info) in one call. */
static int athlua_execute(lua_State *L)
{
	ath_conn *c = athlua_handle(L, 1, SWIGTYPE_p_ath_conn, "expected an ath_conn handle");
	ath_result *res = NULL;
	size_t shape_len = 0, params_len = 0;
	const char *shape = luaL_checklstring(L, 2, &shape_len), *params = NULL;
	int many = lua_toboolean(L, 4), rc, n;
	uint32_t flags = (uint32_t)luaL_optinteger(L, 5, 0);
	if (!lua_isnoneornil(L, 3))
		params = luaL_checklstring(L, 3, &params_len);
	rc = many ? ath_conn_executemany_v2(&res, c, shape, shape_len, params, params_len, flags)
		  : ath_conn_execute(&res, c, shape, shape_len, params, params_len);
	if (rc < 0) {
		athlua_push_last_error(L, rc);
		return lua_error(L);
	}
	SWIG_NewPointerObj(L, res, SWIGTYPE_p_ath_result, 1);
	n = athlua_result_info(L, res);
	if (n < 0)
		return lua_error(L); /* the result stays with its userdata, released by the collector */
	return 1 + n;
}

/* fetch_one(result, row_metatable, probe) -> row or nil, more: the first row of what remains and,
 * with probe, whether another follows (Result:one() and one_or_none(); first() needs no probe).
 * One crossing and a batch of at most two rows instead of a default batch per fetchone(). */
static int athlua_fetch_one(lua_State *L)
{
	ath_result *res = athlua_handle(L, 1, SWIGTYPE_p_ath_result, "expected an ath_result handle");
	ath_buf buf = ATH_BUF_INIT;
	size_t nrows = 0;
	int probe = lua_toboolean(L, 3), more, rc;
	lua_settop(L, 3);
	rc = ath_result_fetch(&buf, res, probe ? 2 : 1);
	if (rc == ATH_ITEROVER) {
		ath_buf_dispose(&buf);
		lua_pushnil(L);
		lua_pushboolean(L, 0);
		return 2;
	}
	if (rc < 0) {
		ath_buf_dispose(&buf);
		athlua_push_last_error(L, rc);
		return lua_error(L);
	}
	rc = athlua_decode_first_row(L, buf.ptr, buf.size, 2, &nrows);
	if (rc < 0) {
		ath_buf_dispose(&buf);
		return lua_error(L);
	}
	more = nrows > 1;
	if (probe && !more) { /* one row came back: does the result hold another? */
		rc = ath_result_fetch(&buf, res, 1);
		if (rc < 0 && rc != ATH_ITEROVER) {
			ath_buf_dispose(&buf);
			athlua_push_last_error(L, rc);
			return lua_error(L);
		}
		more = rc != ATH_ITEROVER;
	}
	ath_buf_dispose(&buf);
	lua_pushboolean(L, more);
	return 2;
}

/* fetch(result, max_rows, row_metatable): the next batch as a Lua array of rows (each row a table of
 * its values with row_metatable set), or nil when no rows remain. The hot path of reading results:
 * one boundary crossing and one decode per batch, no intermediate Lua values. */
static int athlua_fetch_impl(lua_State *L, int all)
{
	void *p = NULL;
	ath_buf buf = ATH_BUF_INIT;
	int rc;
	size_t max_rows = 0;
	if (!SWIG_IsOK(SWIG_ConvertPtr(L, 1, &p, SWIGTYPE_p_ath_result, 0)))
		return luaL_argerror(L, 1, "expected an ath_result handle");
	if (!all)
		max_rows = (size_t)luaL_optinteger(L, 2, 0);
	rc = all ? ath_result_fetch_all(&buf, p) : ath_result_fetch(&buf, p, max_rows);
	if (rc == ATH_ITEROVER) {
		ath_buf_dispose(&buf);
		lua_pushnil(L);
		return 1;
	}
	if (rc < 0) {
		ath_buf_dispose(&buf);
		athlua_push_last_error(L, rc);
		return lua_error(L);
	}
	rc = athlua_decode_rows(L, buf.ptr, buf.size, 3);
	ath_buf_dispose(&buf);
	if (rc < 0)
		return lua_error(L);
	return 1;
}
static int athlua_fetch(lua_State *L) { return athlua_fetch_impl(L, 0); }

/* The ORM's two hot paths, decoding object references (ext 1) straight into Lua proxies:
 *   orm_execute(session, shape, params, flags, cache, resolve) -> rows (ath_session_execute)
 *   orm_get(obj, attr_index, cache, resolve) -> value (ath_obj_get_i)
 * A reference becomes cache[id] when present, else resolve(id) (athanor/orm.lua makes the proxy). */
static int athlua_orm_finish(lua_State *L, int rc, ath_buf *buf)
{
	if (rc < 0) {
		ath_buf_dispose(buf);
		athlua_push_last_error(L, rc);
		return lua_error(L);
	}
	rc = athlua_decode_push_refs(L, buf->ptr, buf->size, 5, 6);
	ath_buf_dispose(buf);
	if (rc < 0)
		return lua_error(L);
	return 1;
}

static int athlua_orm_execute(lua_State *L)
{
	void *s = NULL;
	ath_buf buf = ATH_BUF_INIT;
	size_t shape_len = 0, params_len = 0;
	const char *shape, *params = NULL;
	uint32_t flags;
	if (!SWIG_IsOK(SWIG_ConvertPtr(L, 1, &s, SWIGTYPE_p_ath_session, 0)))
		return luaL_argerror(L, 1, "expected an ath_session handle");
	shape = luaL_checklstring(L, 2, &shape_len);
	if (!lua_isnoneornil(L, 3))
		params = luaL_checklstring(L, 3, &params_len);
	flags = (uint32_t)luaL_optinteger(L, 4, 0);
	luaL_checktype(L, 5, LUA_TTABLE);
	luaL_checktype(L, 6, LUA_TFUNCTION);
	lua_settop(L, 6);
	int n = athlua_orm_finish(L, ath_session_execute(&buf, s, shape, shape_len, params, params_len, flags), &buf);
	ath_session_release_results(s); /* every reference is a proxy holding its own now */
	return n;
}

/* orm_set(obj, attr_index, value): ath_obj_set_i() with the value encoded straight from Lua (no
 * intermediate Lua string: the hot path of building objects). */
static int athlua_orm_set(lua_State *L)
{
	ath_obj *o = athlua_handle(L, 1, SWIGTYPE_p_ath_obj, "expected an ath_obj handle");
	int attr = (int)luaL_checkinteger(L, 2);
	lua_settop(L, 3);
	if (athlua_obj_set(L, o, attr, 3) < 0)
		return lua_error(L);
	return 0;
}

static int athlua_orm_get(lua_State *L)
{
	void *o = NULL;
	ath_buf buf = ATH_BUF_INIT;
	int attr;
	if (!SWIG_IsOK(SWIG_ConvertPtr(L, 1, &o, SWIGTYPE_p_ath_obj, 0)))
		return luaL_argerror(L, 1, "expected an ath_obj handle");
	attr = (int)luaL_checkinteger(L, 2);
	luaL_checktype(L, 3, LUA_TTABLE);
	luaL_checktype(L, 4, LUA_TFUNCTION);
	lua_settop(L, 4);
	lua_pushvalue(L, 3); /* the resolver table and function at 5 and 6, as for orm_execute */
	lua_pushvalue(L, 4);
	return athlua_orm_finish(L, ath_obj_get_i(&buf, o, attr), &buf);
}
static int athlua_fetch_all(lua_State *L) { return athlua_fetch_impl(L, 1); }

/* An object id as a Lua number: an integer on 5.4 (the proxy cache's keys), a double on LuaJIT. */
static void athlua_push_id(lua_State *L, uint64_t id)
{
#if LUA_VERSION_NUM >= 503
	lua_pushinteger(L, (lua_Integer)id);
#else
	lua_pushnumber(L, (lua_Number)id);
#endif
}

static int athlua_raise_last(lua_State *L, int rc)
{
	athlua_push_last_error(L, rc);
	return lua_error(L);
}

/* orm_value(obj, attr_index) -> value: ath_obj_get_i() of a column attribute, whose value holds no
 * object reference (relationships go through orm_get). The hot path of reading attributes. */
static int athlua_orm_value(lua_State *L)
{
	ath_obj *o = athlua_handle(L, 1, SWIGTYPE_p_ath_obj, "expected an ath_obj handle");
	ath_buf buf = ATH_BUF_INIT;
	int rc = ath_obj_get_i(&buf, o, (int)luaL_checkinteger(L, 2));
	if (rc < 0) {
		ath_buf_dispose(&buf);
		return athlua_raise_last(L, rc);
	}
	rc = athlua_decode_push(L, buf.ptr, buf.size);
	ath_buf_dispose(&buf);
	return rc < 0 ? lua_error(L) : 1;
}

/* orm_create(registry, class_name) -> obj, id: a new transient object (ath_obj_create) and its id. */
static int athlua_orm_create(lua_State *L)
{
	ath_registry *reg = athlua_handle(L, 1, SWIGTYPE_p_ath_registry, "expected an ath_registry handle");
	ath_obj *o = NULL;
	int rc = ath_obj_create(&o, reg, luaL_checkstring(L, 2));
	if (rc < 0)
		return athlua_raise_last(L, rc);
	SWIG_NewPointerObj(L, o, SWIGTYPE_p_ath_obj, 1);
	athlua_push_id(L, ath_obj_id(o));
	return 2;
}

/* orm_init(obj, values, columns) -> nil, or a list of the keys of values that name no column
 * attribute (columns: name -> attribute index): sets every column attribute given in values in one
 * call, as User{...} does; athanor/orm.lua handles the keys returned (relationships, errors). */
static int athlua_orm_init(lua_State *L)
{
	ath_obj *o = athlua_handle(L, 1, SWIGTYPE_p_ath_obj, "expected an ath_obj handle");
	lua_Integer nrest = 0;
	luaL_checktype(L, 2, LUA_TTABLE);
	luaL_checktype(L, 3, LUA_TTABLE);
	lua_settop(L, 3);
	lua_pushnil(L); /* 4: the other keys, made when there is one */
	lua_pushnil(L);
	while (lua_next(L, 2)) { /* key at 5, value at 6 */
		if (lua_type(L, 5) == LUA_TSTRING) {
			lua_pushvalue(L, 5);
			lua_rawget(L, 3);
		} else {
			lua_pushnil(L);
		}
		if (lua_isnumber(L, -1)) {
			int attr = (int)lua_tointeger(L, -1);
			lua_pop(L, 1);
			if (athlua_obj_set(L, o, attr, 6) < 0)
				return lua_error(L);
		} else {
			lua_pop(L, 1);
			if (lua_isnil(L, 4)) {
				lua_newtable(L);
				lua_replace(L, 4);
			}
			lua_pushvalue(L, 5);
			lua_rawseti(L, 4, (int)++nrest);
		}
		lua_pop(L, 1); /* the value; the key stays for lua_next */
	}
	return 1;
}

/* A new reference obj of a session: nil when the proxy cache (stack index cache_idx) has obj's
 * proxy, which is pushed instead and obj released at once (one proxy per object); else obj's
 * handle, id and class name pushed for athanor/orm.lua to make the proxy. Returns the count. */
static int athlua_push_obj(lua_State *L, ath_obj *o, int cache_idx)
{
	uint64_t id = ath_obj_id(o);
	athlua_push_id(L, id);
	lua_rawget(L, cache_idx);
	if (!lua_isnil(L, -1)) {
		ath_obj_free(o);
		return 1;
	}
	lua_pop(L, 1);
	SWIG_NewPointerObj(L, o, SWIGTYPE_p_ath_obj, 1);
	athlua_push_id(L, id);
	lua_pushstring(L, ath_obj_class(o));
	return 3;
}

/* orm_get_obj(session, class_name, pk, cache) -> proxy | obj, id, class | nil: Session.get
 * (ath_session_get) with the key packed here; the result as athlua_push_obj() gives it. */
static int athlua_orm_get_obj(lua_State *L)
{
	ath_session *s = athlua_handle(L, 1, SWIGTYPE_p_ath_session, "expected an ath_session handle");
	const char *cls = luaL_checkstring(L, 2);
	ath_obj *o = NULL;
	int rc;
	luaL_checktype(L, 4, LUA_TTABLE);
	lua_settop(L, 4);
	lua_pushcfunction(L, athlua_pack);
	lua_pushvalue(L, 3);
	lua_call(L, 1, 1); /* the key's msgpack at 5 (an encoding error raises here) */
	{
		size_t n;
		const char *pk = lua_tolstring(L, 5, &n);
		rc = ath_session_get(&o, s, cls, pk, n);
	}
	if (rc < 0)
		return athlua_raise_last(L, rc);
	if (!o) {
		lua_pushnil(L);
		return 1;
	}
	return athlua_push_obj(L, o, 4);
}

/* orm_object(session, id, cache) -> as orm_get_obj: the session's object of a result's reference. */
static int athlua_orm_object(lua_State *L)
{
	ath_session *s = athlua_handle(L, 1, SWIGTYPE_p_ath_session, "expected an ath_session handle");
	uint64_t id = (uint64_t)luaL_checknumber(L, 2);
	ath_obj *o = NULL;
	int rc;
	luaL_checktype(L, 3, LUA_TTABLE);
	rc = ath_session_object(&o, s, id);
	if (rc < 0)
		return athlua_raise_last(L, rc);
	if (!o) {
		lua_pushnil(L);
		return 1;
	}
	return athlua_push_obj(L, o, 3);
}
%}

%init %{
	athlua_open(L);
%}

%native(close) int athlua_close(lua_State *L);
%native(fetch) int athlua_fetch(lua_State *L);
%native(fetch_all) int athlua_fetch_all(lua_State *L);
%native(orm_execute) int athlua_orm_execute(lua_State *L);
%native(orm_get) int athlua_orm_get(lua_State *L);
%native(orm_set) int athlua_orm_set(lua_State *L);
%native(orm_value) int athlua_orm_value(lua_State *L);
%native(orm_create) int athlua_orm_create(lua_State *L);
%native(orm_init) int athlua_orm_init(lua_State *L);
%native(orm_get_obj) int athlua_orm_get_obj(lua_State *L);
%native(orm_object) int athlua_orm_object(lua_State *L);
%native(pack) int athlua_pack(lua_State *L);
%native(pack_rows) int athlua_pack_rows(lua_State *L);
%native(pack_params) int athlua_pack_params(lua_State *L);
%native(execute) int athlua_execute(lua_State *L);
%native(fetch_one) int athlua_fetch_one(lua_State *L);
%native(unpack) int athlua_unpack(lua_State *L);
%native(configure) int athlua_configure(lua_State *L);
%native(error_classes) int athlua_error_classes(lua_State *L);
