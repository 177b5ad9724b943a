/* luaglue.h — the hand-written C half of the Lua binding (luaglue.c): msgpack <-> Lua values and the
 * Lua error object. Included by the SWIG wrapper generated from bindings/athanor.i. */
#ifndef ATHANOR_LUAGLUE_H
#define ATHANOR_LUAGLUE_H

#include <stddef.h>
#include <athanor/athanor.h>
#include <lua.h>
#include <lauxlib.h>

/* Push the Lua value of one msgpack object (size 0 pushes nil). Returns 0, or -1 with an error
 * message pushed instead (malformed bytes), for the caller to raise after releasing its buffer. */
int athlua_decode_push(lua_State *L, const unsigned char *p, size_t size);
/* As athlua_decode_push(), resolving object references (ext 1, 8-byte id) through the table at
 * cache_idx (cache[id]) and, when absent there, the function at fn_idx (fn(id)); positive indexes.
 * The resolver's error becomes the pushed error value. */
int athlua_decode_push_refs(lua_State *L, const unsigned char *p, size_t size, int cache_idx, int fn_idx);
/* Push a batch (a msgpack array of rows) as a Lua array of row tables with the metatable at
 * stack index mt_idx (none when nil). Returns 0, or -1 with an error message pushed. */
int athlua_decode_rows(lua_State *L, const unsigned char *p, size_t size, int mt_idx);
/* As athlua_decode_rows(), pushing only the batch's first row (nil when empty); *nrows is the
 * batch's row count. */
int athlua_decode_first_row(lua_State *L, const unsigned char *p, size_t size, int mt_idx, size_t *nrows);
/* Push the calling thread's last athanor error as a Lua error object (rc is the call's code). */
void athlua_push_last_error(lua_State *L, int rc);

/* Called once per Lua state when the module loads: ath_init(), and ath_shutdown() at lua_close. */
void athlua_open(lua_State *L);

/* The ath_metadata behind the value at idx, or -1 with an error message pushed (SWIG's types). */
typedef int (*athlua_metadata_fn)(lua_State *L, int idx, const ath_metadata **out);
/* Options structs from a Lua table (nil: defaults); -1 with an error message pushed. Engine option
 * keys are SQLAlchemy's create_engine keywords; an unknown key is an error. */
int athlua_engine_options_fill(lua_State *L, int idx, ath_engine_options *o, athlua_metadata_fn to_md);
int athlua_compile_options_fill(lua_State *L, int idx, ath_compile_options *o, athlua_metadata_fn to_md);

/* ath_obj_set_i(obj, attr, the msgpack of the Lua value at idx): 0, or -1 with an error value
 * pushed (a message when the value cannot be encoded, else the call's error object). */
int athlua_obj_set(lua_State *L, ath_obj *obj, int attr, int idx);

int athlua_pack(lua_State *L);
int athlua_pack_params(lua_State *L);
int athlua_pack_rows(lua_State *L);
int athlua_unpack(lua_State *L);
int athlua_configure(lua_State *L);
int athlua_error_classes(lua_State *L);

#endif
