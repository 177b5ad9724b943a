/* lua.i — Lua typemaps for athanor.i: owned handles become garbage-collected userdata, ath_buf
 * results become Lua values (decoded from msgpack in C, luaglue.c), byte inputs are Lua strings, and
 * a failing call raises a Lua error object {class, code, sqlstate, native_code, flags, message, sql}
 * (athanor/errors.lua gives it its class hierarchy). The idiomatic layer is athanor/*.lua; this
 * module (athanor_raw) is not meant to be used directly. */

%{
#include "luaglue.h"
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
	     (const void *params_rows, size_t params_rows_len), (const void *spec, size_t len) {
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
		else
			return luaL_error(L, "athanor: close() expects an athanor handle, not %s", usr->type->name);
	}
	usr->ptr = NULL;
	usr->own = 0;
	return 0;
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
static int athlua_fetch_all(lua_State *L) { return athlua_fetch_impl(L, 1); }
%}

%init %{
	athlua_open(L);
%}

%native(close) int athlua_close(lua_State *L);
%native(fetch) int athlua_fetch(lua_State *L);
%native(fetch_all) int athlua_fetch_all(lua_State *L);
%native(pack) int athlua_pack(lua_State *L);
%native(pack_rows) int athlua_pack_rows(lua_State *L);
%native(unpack) int athlua_unpack(lua_State *L);
%native(configure) int athlua_configure(lua_State *L);
%native(error_classes) int athlua_error_classes(lua_State *L);
