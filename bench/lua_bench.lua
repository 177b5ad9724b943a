-- bench/lua_bench.lua — the bench/ workloads from Lua through the binding (athanor and athanor.orm),
-- for bench/run: `lua5.4 bench/lua_bench.lua BACKEND URL WORKLOAD N RUNS` prints one JSON line
-- {"workload", "impl", "backend", "n", "runs": [seconds...], "maxrss_kb"} as the C programs do.
-- Same customer rows (row i: "name i", "description of customer i", i % 1000) and lookups
-- (id (k * 7919) % n + 1) as benchutil.h. Core: W2 executemany insert, W3 load rows into Lua
-- tables, W4 10,000 primary-key lookups. ORM: W1 N new objects in one flush, W3o N objects with
-- each attribute read, W4o 10,000 Session.get in a new session each. Setup is untimed; wall clock
-- from lua-system's monotime, the line from lua-cjson (Debian lua-system, lua-cjson).
local athanor = require "athanor"
local orm, T = athanor.orm, athanor.types
local monotime = require("system").monotime
local cjson = require "cjson"

local backend, url, workload, N, RUNS = arg[1], arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5])
if not (backend and url and workload and N and RUNS) then
  io.stderr:write("usage: lua_bench.lua BACKEND URL WORKLOAD N RUNS\n")
  os.exit(2)
end
local LOOKUPS = 10000

local Base = orm.registry()
local Customer = Base:map("Customer", { __tablename = "customer",
  id = orm.Column(T.Integer, { primary_key = true }),
  name = orm.Column(T.String(255)),
  description = orm.Column(T.String(255)),
  value = orm.Column(T.Integer),
})
local customer = Base.metadata.tables.customer
local engine = athanor.create_engine(url, { metadata = Base.metadata })

local function row(i) return { name = "name " .. i, description = "description of customer " .. i, value = i % 1000 } end
local function fresh(fill)
  Base.metadata:drop_all(engine)
  Base.metadata:create_all(engine)
  if fill then
    local rows = {}
    for i = 1, N do rows[i] = row(i) end
    engine:begin(function(conn) conn:execute(athanor.insert(customer), rows) end)
  end
end

local function peak_rss_kb()
  local f = io.open("/proc/self/status")
  local kb = -1
  for line in f:lines() do
    local v = line:match("^VmHWM:%s*(%d+)")
    if v then kb = tonumber(v) end
  end
  f:close()
  return kb
end

-- each workload: setup (untimed, once or per run) and the timed body, which returns what it did
local c = customer.c
local by_pk = athanor.select(c.id, c.name, c.description, c.value):where(c.id:eq(athanor.bindparam("id")))
local workloads = {
  W2 = { impl = "athanor-lua-core", each = function() fresh(false) end, run = function()
    local rows = {}
    for i = 1, N do rows[i] = row(i) end
    engine:begin(function(conn) conn:execute(athanor.insert(customer), rows) end)
    return N
  end },
  W3 = { impl = "athanor-lua-core", once = function() fresh(true) end, run = function()
    local conn = engine:connect()
    local rows = conn:execute(athanor.select(c.id, c.name, c.description, c.value)):all()
    local sum = 0
    for _, r in ipairs(rows) do sum = sum + r[4] + #r[2] end
    conn:close()
    return #rows
  end },
  W4 = { impl = "athanor-lua-core", once = function() fresh(true) end, run = function()
    local conn = engine:connect()
    local got = 0
    for k = 0, LOOKUPS - 1 do
      local r = conn:execute(by_pk, { id = (k * 7919) % N + 1 }):one()
      if r then got = got + 1 end
    end
    conn:commit()
    conn:close()
    return got
  end, n = LOOKUPS },
  W1 = { impl = "athanor-lua-orm", each = function() fresh(false) end, run = function()
    local s = orm.Session(engine)
    for i = 1, N do s:add(Customer(row(i))) end
    s:commit()
    s:close()
    return N
  end },
  W3o = { impl = "athanor-lua-orm", once = function() fresh(true) end, run = function()
    local s = orm.Session(engine)
    local objs = s:scalars(orm.select(Customer)):all()
    local sum = 0
    for _, o in ipairs(objs) do sum = sum + o.id + #o.name + #o.description + o.value end
    s:close()
    return #objs
  end },
  W4o = { impl = "athanor-lua-orm", once = function() fresh(true) end, run = function()
    local got = 0
    for k = 0, LOOKUPS - 1 do
      local s = orm.Session(engine)
      if s:get(Customer, (k * 7919) % N + 1) then got = got + 1 end
      s:close()
    end
    return got
  end, n = LOOKUPS },
}

local w = workloads[workload]
if not w then
  io.stderr:write("lua_bench.lua: unknown workload " .. workload .. "\n")
  os.exit(2)
end
local n = w.n or N
if w.once then w.once() end
local runs = {}
for k = 1, RUNS do
  if w.each then w.each() end
  collectgarbage()
  collectgarbage()
  local t0 = monotime()
  local did = w.run()
  runs[k] = monotime() - t0
  if did ~= n then
    io.stderr:write(("lua_bench.lua: %s did %s of %d\n"):format(workload, tostring(did), n))
    os.exit(1)
  end
end
Base.metadata:drop_all(engine)
engine:dispose()
print(cjson.encode({ workload = workload, impl = w.impl, backend = backend, n = n, runs = runs, maxrss_kb = peak_rss_kb() }))
