-- bench/lua_orm.lua — the Lua ORM (athanor.orm) against LuaSQL (Debian lua-sql-sqlite3) doing the
-- same work by hand, on the same SQLite file:
--   insert: N new objects saved in one flush (ORM: User{...} + session:add + commit, the generated
--           keys set on the objects; LuaSQL: BEGIN, one INSERT string per row with its values
--           escaped, getlastautoid() into a Lua table per row, COMMIT);
--   load:   N rows as objects and one attribute read from each (ORM: session:scalars(select(User))
--           in a new session; LuaSQL: one cursor:fetch per row into a new table).
-- Also the ORM's bulk INSERT (session:execute(orm.insert(User), rows)) for reference. Best of 5 runs
-- (3 for inserts); prints each time and the ORM / LuaSQL ratios. Not run by ctest or `make bench`
-- (which drives the C and Python programs); from the checkout, after `make build`:
--   LUA_PATH='bindings/lua/?.lua;;' LUA_CPATH='build/bindings/lua/5.4/?.so;;' lua5.4 bench/lua_orm.lua [N]
-- LuaSQL comes from Debian's lua-sql-sqlite3 (apt-get install lua-sql-sqlite3: for Lua 5.1, used by
-- LuaJIT, to 5.4); without it only the ORM figures are printed.
local athanor = require "athanor"
local orm, T = athanor.orm, athanor.types
local N = tonumber(arg[1]) or 100000
local clock = os.clock

local Base = orm.registry()
local User = Base:map("User", { __tablename = "users",
  id = orm.Column(T.Integer, { primary_key = true }),
  name = orm.Column(T.String(50), { nullable = false }),
  fullname = orm.Column(T.String(100)),
})

local function best(runs, setup, f)
  local b = math.huge
  for _ = 1, runs do
    local state = setup and setup() or nil
    collectgarbage(); collectgarbage()
    local t0 = clock()
    local n = f(state)
    b = math.min(b, clock() - t0)
    assert(n == N, "did " .. tostring(n) .. " of " .. N)
  end
  return b
end

local tmp = os.tmpname()
local path = tmp .. ".db"
local engine = athanor.create_engine("sqlite:///" .. path, { metadata = Base.metadata })
local function fresh()
  Base.metadata:drop_all(engine)
  Base.metadata:create_all(engine)
end

local results = {}
local function report(key, label, secs)
  results[key] = secs
  print(("%-34s %8.3f s  %10.0f rows/s"):format(label, secs, N / secs))
end
print(("N = %d on SQLite (%s), %s"):format(N, path, jit and jit.version or _VERSION))

report("orm_insert", "athanor ORM insert, one flush", best(3, fresh, function()
  local s = orm.Session(engine)
  local objs = {}
  for i = 1, N do
    local u = User { name = "user " .. i, fullname = "User Number " .. i }
    s:add(u)
    objs[i] = u
  end
  s:flush() -- the INSERTs; the generated keys are on the objects (read before commit expires them)
  local n = 0
  for _, u in ipairs(objs) do if u.id then n = n + 1 end end
  s:commit()
  s:close()
  return n
end))

report("orm_bulk", "athanor ORM bulk insert", best(3, fresh, function()
  local s = orm.Session(engine)
  local rows = {}
  for i = 1, N do rows[i] = { name = "user " .. i, fullname = "User Number " .. i } end
  local r = s:execute(orm.insert(User), rows)
  s:commit()
  s:close()
  return r.rowcount
end))

local function load_orm()
  local s = orm.Session(engine)
  local users = s:scalars(orm.select(User)):all()
  local n = 0
  for _, u in ipairs(users) do if u.name then n = n + 1 end end
  s:close()
  return n
end
report("orm_load", "athanor ORM load objects", best(5, nil, load_orm))

local ok, driver = pcall(require, "luasql.sqlite3")
if not ok then
  print("LuaSQL: not installed (apt-get install lua-sql-sqlite3); no ratios")
else
  local env = driver.sqlite3()
  local function q(s) return "'" .. s:gsub("'", "''") .. "'" end
  report("luasql_insert", "LuaSQL insert by hand", best(3, fresh, function()
    local con = env:connect(path)
    con:execute("BEGIN")
    local objs = {}
    for i = 1, N do
      local o = { name = "user " .. i, fullname = "User Number " .. i }
      assert(con:execute("INSERT INTO users (name, fullname) VALUES (" .. q(o.name) .. ", " .. q(o.fullname) .. ")") == 1)
      o.id = con:getlastautoid()
      objs[i] = o
    end
    con:execute("COMMIT")
    con:close()
    local n = 0
    for _, o in ipairs(objs) do if o.id then n = n + 1 end end
    return n
  end))
  report("luasql_load", "LuaSQL load rows into tables", best(5, nil, function()
    local con = env:connect(path)
    local cur = con:execute("SELECT users.id, users.name, users.fullname FROM users")
    local objs = {}
    local row = cur:fetch({}, "a")
    while row do
      objs[#objs + 1] = row
      row = cur:fetch({}, "a")
    end
    cur:close()
    con:close()
    local n = 0
    for _, o in ipairs(objs) do if o.name then n = n + 1 end end
    return n
  end))
  env:close()
  print(("ratios (athanor ORM / LuaSQL by hand; < 1 is faster): insert %.2fx, bulk insert %.2fx, load %.2fx"):format(
    results.orm_insert / results.luasql_insert, results.orm_bulk / results.luasql_insert,
    results.orm_load / results.luasql_load))
end
engine:dispose()
os.remove(path)
os.remove(tmp)
