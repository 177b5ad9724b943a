-- athanor-scm-1.rockspec — the Lua binding built against an installed libathanor (found with
-- pkg-config), offline from a checkout:
--   make install PREFIX=/opt/athanor            (then PKG_CONFIG_PATH=/opt/athanor/lib/pkgconfig)
--   luarocks --lua-version=5.4 make bindings/lua/athanor-scm-1.rockspec     (from the checkout root)
--   luarocks --lua-version=5.1 make bindings/lua/athanor-scm-1.rockspec LUA_INCDIR=/usr/include/luajit-2.1  (LuaJIT)
-- SWIG generates the wrapper of bindings/athanor.i into build/luarocks/ (never into the sources).
rockspec_format = "3.0"
package = "athanor"
version = "scm-1"
source = { url = "git+file://." }
description = {
  summary = "SQLAlchemy's Core and ORM for Lua over the athanor C library",
  detailed = "create_engine, connections, transactions, results and the Core expression language "
    .. "(select, insert, update, delete, joins, CTEs, ...), and the ORM (declarative classes, Session, "
    .. "ORM statements, loader options) for Lua 5.4 and LuaJIT 2.1.",
  license = "MIT",
}
dependencies = { "lua >= 5.1" }
build = {
  type = "command",
  build_command = [[set -e
mkdir -p build/luarocks
swig -lua $(pkg-config --cflags-only-I athanor) -o build/luarocks/athanor_lua_wrap.c bindings/athanor.i
$(CC) $(CFLAGS) $(LIBFLAG) -I$(LUA_INCDIR) -Ibindings/lua $(pkg-config --cflags athanor) \
  build/luarocks/athanor_lua_wrap.c bindings/lua/luaglue.c -o build/luarocks/athanor_raw.so \
  $(pkg-config --libs athanor) -Wl,-rpath,$(pkg-config --variable=libdir athanor)]],
  install = {
    lib = { athanor_raw = "build/luarocks/athanor_raw.so" },
    lua = {
      athanor = "bindings/lua/athanor.lua",
      ["athanor.engine"] = "bindings/lua/athanor/engine.lua",
      ["athanor.orm"] = "bindings/lua/athanor/orm.lua",
      ["athanor.errors"] = "bindings/lua/athanor/errors.lua",
      ["athanor.schema"] = "bindings/lua/athanor/schema.lua",
      ["athanor.sql"] = "bindings/lua/athanor/sql.lua",
      ["athanor.values"] = "bindings/lua/athanor/values.lua",
    },
  },
}
