-- spec/helper.lua — what the busted specs share: the backend under test (ATHANOR_LUA_TEST_BACKEND:
-- sqlite, postgresql or mysql, with its URL from ATHANOR_LUA_TEST_URL, set by spec/run), a table
-- prefix per runtime so Lua 5.4 and LuaJIT runs can share a server, and error assertions.
local athanor = require "athanor"

local H = {}
H.backend = os.getenv("ATHANOR_LUA_TEST_BACKEND") or "sqlite"
H.url = os.getenv("ATHANOR_LUA_TEST_URL") or "sqlite://"
H.runtime = (jit and "luajit" or _VERSION:gsub("Lua ", "lua"):gsub("%.", ""))
H.prefix = H.runtime .. "_"

function H.engine(opts) return athanor.create_engine(H.url, opts) end

--- Call fn and return the athanor error object it raises (fails when it does not raise one).
function H.error_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error, got success")
  assert(athanor.errors.is(err), "expected an athanor error object, got: " .. tostring(err))
  return err
end

--- Call fn and return the plain Lua error message it raises.
function H.message_of(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error, got success")
  return tostring(err)
end

return H
