/* luaglue.h — the hand-written C half of the Lua binding (luaglue.c): msgpack <-> Lua values and the
 * Lua error object. Included by the SWIG wrapper generated from bindings/athanor.i. */
#ifndef ATHANOR_LUAGLUE_H
#define ATHANOR_LUAGLUE_H

#include <stddef.h>
#include <lua.h>
#include <lauxlib.h>

/* Push the Lua value of one msgpack object (size 0 pushes nil). Returns 0, or -1 with an error
 * message pushed instead (malformed bytes), for the caller to raise after releasing its buffer. */
int athlua_decode_push(lua_State *L, const unsigned char *p, size_t size);
/* Push a batch (a msgpack array of rows) as a Lua array of row tables with the metatable at
 * stack index mt_idx (none when nil). Returns 0, or -1 with an error message pushed. */
int athlua_decode_rows(lua_State *L, const unsigned char *p, size_t size, int mt_idx);
/* Push the calling thread's last athanor error as a Lua error object (rc is the call's code). */
void athlua_push_last_error(lua_State *L, int rc);

/* Called once per Lua state when the module loads: ath_init(), and ath_shutdown() at lua_close. */
void athlua_open(lua_State *L);

int athlua_pack(lua_State *L);
int athlua_unpack(lua_State *L);
int athlua_configure(lua_State *L);
int athlua_error_classes(lua_State *L);

#endif
