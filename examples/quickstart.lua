-- quickstart.lua — athanor from Lua, following the start of SQLAlchemy's tutorial, as quickstart.c
-- does from C: a schema as Table objects, create_all, inserts (one and many), a join with a named
-- parameter, a transaction rolled back, an error caught as an object, and the compile-cache
-- counters. Runs on Lua 5.4 and LuaJIT 2.1 (`make demo` runs both).
--
-- Run from the checkout after `make build`:
--   LUA_PATH='bindings/lua/?.lua;;' LUA_CPATH='build/bindings/lua/5.4/?.so;;' lua5.4 examples/quickstart.lua [URL]
local athanor = require "athanor"
local T = athanor.types
local Table, Column, ForeignKey = athanor.Table, athanor.Column, athanor.ForeignKey
local select, insert, func = athanor.select, athanor.insert, athanor.func

print(("athanor %s on %s"):format(athanor.version(), jit and jit.version or _VERSION))

local metadata = athanor.MetaData()
local users = Table("user_account", metadata,
  Column("id", T.Integer, { primary_key = true }),
  Column("name", T.String(30), { nullable = false }),
  Column("fullname", T.String(100)))
local addresses = Table("address", metadata,
  Column("id", T.Integer, { primary_key = true }),
  Column("user_id", T.Integer, ForeignKey("user_account.id"), { nullable = false }),
  Column("email_address", T.String(100), { nullable = false }))

local engine = athanor.create_engine(arg[1] or "sqlite://", { metadata = metadata })
metadata:create_all(engine)

-- A transaction as a function: committed when it returns, rolled back if it raises.
engine:begin(function(conn)
  local r = conn:execute(insert(users):values { name = "spongebob", fullname = "Spongebob Squarepants" })
  print("spongebob has primary key " .. r.inserted_primary_key[1])
  r = conn:execute(insert(users), { -- a list of parameter tables: executemany
    { name = "sandy", fullname = "Sandy Cheeks" },
    { name = "patrick", fullname = "Patrick Star" },
  })
  print(("inserted %d more users"):format(r.rowcount))
  conn:execute(insert(addresses), {
    { user_id = 1, email_address = "spongebob@sqlalchemy.org" },
    { user_id = 2, email_address = "sandy@sqlalchemy.org" },
    { user_id = 2, email_address = "sandy@squirrelpower.org" },
  })
end)

local conn = engine:connect()
-- Columns are expressions: methods for comparisons (:eq, :lt, :like, :in_ ...), operators for
-- arithmetic and `..`. The literal "sandy" becomes a parameter, so the statement is cached once.
local stmt = select(users.c.name, addresses.c.email_address)
  :join(addresses)
  :where(users.c.name:eq(athanor.bindparam("name")))
  :order_by(addresses.c.email_address)
print(stmt)
for _, name in ipairs { "sandy", "spongebob" } do
  for row in conn:execute(stmt, { name = name }):rows() do
    print(("  %s | %s"):format(row.name, row.email_address))
  end
end

local counts = select(users.c.name, func.count(addresses.c.id):label("n"))
  :outerjoin(addresses):group_by(users.c.name):order_by(users.c.name)
for _, row in ipairs(conn:execute(counts):all()) do print(("  %s has %d address(es)"):format(row.name, row.n)) end

-- A transaction object, rolled back: the update is gone afterwards.
conn:rollback()
local tx = conn:begin()
conn:execute(athanor.update(users):where(users.c.name:eq("patrick")):values { fullname = "Patrick the Star" })
tx:rollback()
tx:close()
print("after rollback: " .. conn:scalar(select(users.c.fullname):where(users.c.name:eq("patrick"))))

-- Errors are objects with the SQLAlchemy class, SQLSTATE and message.
local ok, err = pcall(conn.execute, conn, insert(users):values { id = 1, name = "dup" })
print(("caught %s (a DatabaseError: %s): %s"):format(err.class, tostring(err:is("DatabaseError")), err.message))
conn:rollback()
conn:close()

local stats = engine:stats().compile_cache
print(("compile cache: %d hits, %d misses"):format(stats.hits, stats.misses))
engine:dispose()
