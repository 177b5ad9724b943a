-- bench/lua_fetch.lua — fetching N rows into Lua tables: athanor (batches decoded in C) against
-- LuaSQL's SQLite driver (Debian lua-sql-sqlite3, one cursor:fetch per row), on the same SQLite file.
-- Not run by ctest. From the checkout, after `make build`:
--   LUA_PATH='bindings/lua/?.lua;;' LUA_CPATH='build/bindings/lua/5.4/?.so;;' lua5.4 bench/lua_fetch.lua [N]
local athanor = require "athanor"
local N = tonumber(arg[1]) or 100000
local path = os.tmpname() .. ".db"

local engine = athanor.create_engine("sqlite:///" .. path)
local t = athanor.table("t", "id", "name", "value")
local t0 = os.clock()
engine:begin(function(conn)
  conn:execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, value REAL)")
  local rows = {}
  for i = 1, N do rows[i] = { id = i, name = "name " .. i, value = i * 0.5 } end
  conn:execute(athanor.insert(t), rows)
end)
print(("athanor   executemany insert of %d rows: %.3f s"):format(N, os.clock() - t0))

local function best(f)
  local b = math.huge
  for _ = 1, 5 do
    collectgarbage()
    local t0 = os.clock()
    local n = f()
    assert(n == N, "fetched " .. n)
    b = math.min(b, os.clock() - t0)
  end
  return b
end

local stmt = athanor.select(t.c.id, t.c.name, t.c.value)
local a_all = best(function()
  local conn = engine:connect()
  local rows = conn:execute(stmt):all()
  conn:close()
  return #rows
end)
local a_iter = best(function()
  local conn = engine:connect()
  local n = 0
  for row in conn:execute(stmt):rows(1000) do n = n + 1 end
  conn:close()
  return n
end)
print(("athanor   all():      %.3f s  (%.0f rows/s)"):format(a_all, N / a_all))
print(("athanor   rows(1000): %.3f s  (%.0f rows/s)"):format(a_iter, N / a_iter))

local ok, driver = pcall(require, "luasql.sqlite3")
if ok then
  local env = driver.sqlite3()
  local l = best(function()
    local con = env:connect(path)
    local cur = con:execute("SELECT t.id, t.name, t.value FROM t")
    local rows, row = {}, cur:fetch({}, "n")
    while row do rows[#rows + 1] = row; row = cur:fetch({}, "n") end
    cur:close()
    con:close()
    return #rows
  end)
  print(("LuaSQL    fetch():    %.3f s  (%.0f rows/s)"):format(l, N / l))
  env:close()
else
  print("LuaSQL: not installed (apt-get install lua-sql-sqlite3)")
end
engine:dispose()
os.remove(path)
