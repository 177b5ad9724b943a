-- engine_spec.lua — engines, connections, transactions, results, errors, types, DDL and reflection
-- against the backend of spec/helper.lua (SQLite in memory, or a test server's URL).
local athanor = require "athanor"
local H = require "spec.helper"
local T = athanor.types
local select, insert, update, delete, func = athanor.select, athanor.insert, athanor.update, athanor.delete, athanor.func

local P = H.prefix
local md = athanor.MetaData()
local users = athanor.Table(P .. "users", md,
  athanor.Column("id", T.Integer, { primary_key = true }),
  athanor.Column("name", T.String(50), { nullable = false, unique = true }),
  athanor.Column("age", T.Integer))
local addresses = athanor.Table(P .. "addresses", md,
  athanor.Column("id", T.Integer, { primary_key = true }),
  athanor.Column("user_id", T.Integer, athanor.ForeignKey(P .. "users.id"), { nullable = false }),
  athanor.Column("email", T.String(100)))
local typed = athanor.Table(P .. "typed", md,
  athanor.Column("id", T.Integer, { primary_key = true }),
  athanor.Column("d", T.Date), athanor.Column("dt", T.DateTime), athanor.Column("num", T.Numeric(10, 4)),
  athanor.Column("b", T.Boolean), athanor.Column("bin", T.LargeBinary), athanor.Column("u", T.Uuid),
  athanor.Column("iv", T.Interval), athanor.Column("j", T.JSON), athanor.Column("f", T.Double),
  athanor.Column("ts", T.DateTime { timezone = true }), athanor.Column("t", T.Time))
local u, a = users.c, addresses.c

describe("on " .. H.backend .. " (" .. H.runtime .. ")", function()
  local engine

  setup(function()
    engine = H.engine { metadata = md }
  end)
  teardown(function()
    md:drop_all(engine)
    engine:dispose()
  end)
  before_each(function()
    -- fresh tables each time, so generated keys start at 1 on every backend (ids 1, 2, 3 below)
    md:drop_all(engine)
    md:create_all(engine)
    engine:begin(function(conn)
      conn:execute(insert(users), { { name = "ann", age = 30 }, { name = "bob", age = 17 },
        { name = "cid", age = athanor.null } })
      conn:execute(insert(addresses), { { user_id = 1, email = "ann@a" }, { user_id = 1, email = "ann@b" },
        { user_id = 2, email = "bob@a" } })
    end)
  end)

  it("reads results as all, first, one, scalar, scalars, mappings, rows and partitions", function()
    local conn = engine:connect()
    local res = conn:execute(select(u.id, u.name, u.age):order_by(u.id))
    assert.are.same({ "id", "name", "age" }, res:keys())
    local rows = res:all()
    assert.are.equal(3, #rows)
    assert.are.equal("ann", rows[1].name)
    assert.are.equal("ann", rows[1][2])
    assert.is_nil(rows[3].age)
    assert.are.same({ id = 2, name = "bob", age = 17 }, rows[2]:_asdict())
    assert.are.equal("bob", conn:execute(select(u.name):where(u.id:eq(2))):one().name)
    assert.are.equal("ann", conn:execute(select(u.name):order_by(u.id)):first().name)
    assert.is_nil(conn:execute(select(u.name):where(u.id:eq(99))):first())
    assert.is_nil(conn:execute(select(u.name):where(u.id:eq(99))):one_or_none())
    assert.are.equal(3, conn:scalar(select(func.count()):select_from(users)))
    assert.are.same({ "ann", "bob", "cid" }, conn:scalars(select(u.name):order_by(u.name)):all())
    assert.are.same({ { name = "ann" } }, conn:execute(select(u.name):where(u.id:eq(1))):mappings():all())
    local seen = {}
    for row in conn:execute(select(u.id):order_by(u.id)):rows(2) do seen[#seen + 1] = row.id end
    assert.are.same({ 1, 2, 3 }, seen)
    local batches = 0
    for batch in conn:execute(select(u.id)):partitions(2) do batches = batches + 1; assert.is_true(#batch <= 2) end
    assert.are.equal(2, batches)
    assert.are.equal("NoResultFound", H.error_of(function() conn:execute(select(u.id):where(u.id:eq(99))):one() end).class)
    assert.are.equal("MultipleResultsFound", H.error_of(function() conn:execute(select(u.id)):one() end).class)
    conn:close()
  end)

  it("executes joins, IN lists, functions, CTEs and unions", function()
    local conn = engine:connect()
    local rows = conn:execute(select(u.name, func.count(a.id):label("n")):join(addresses)
      :group_by(u.name):order_by(u.name)):all()
    assert.are.same({ "ann", 2 }, { rows[1].name, rows[1].n })
    assert.are.same({ 1, 3 }, conn:scalars(select(u.id):where(u.id:in_ { 1, 3, 5 }):order_by(u.id)):all())
    assert.are.same({}, conn:scalars(select(u.id):where(u.id:in_ {})):all())
    local adults = select(u.id, u.name):where(u.age:ge(18)):cte(P .. "adults")
    assert.are.same({ "ann" }, conn:scalars(select(adults.c.name)):all())
    local un = athanor.union(select(u.name):where(u.id:eq(1)), select(u.name):where(u.id:eq(2))):order_by("name")
    assert.are.same({ "ann", "bob" }, conn:scalars(un):all())
    assert.are.same({ "adult", "minor", "unknown" }, conn:scalars(select(athanor.case({ { u.age:ge(18), "adult" },
      { u.age:lt(18), "minor" } }, "unknown")):order_by(u.id)):all())
    local sq = select(a.user_id, func.count():label("n")):group_by(a.user_id):subquery("c")
    assert.are.same({ 2, 1 }, conn:scalars(select(sq.c.n):select_from(users:join(sq, sq.c.user_id:eq(u.id))):order_by(u.id)):all())
    conn:close()
  end)

  it("inserts, updates and deletes with rowcount, primary keys and named parameters", function()
    local conn = engine:connect()
    local r = conn:execute(insert(users):values { name = "dee", age = 40 })
    assert.are.equal(1, r.rowcount)
    local id = r.inserted_primary_key[1]
    assert.is_number(id)
    assert.are.equal(1, conn:execute(update(users):where(u.id:eq(id)):values { age = u.age + 1 }).rowcount)
    assert.are.equal(41, conn:scalar(select(u.age):where(u.id:eq(id))))
    local upd = update(users):where(u.name:eq(athanor.bindparam("who")))
    assert.are.equal(2, conn:execute(upd, { { who = "ann", age = 31 }, { who = "bob", age = 18 } }).rowcount)
    assert.are.same({ 31, 18 }, conn:scalars(select(u.age):where(u.id:in_ { 1, 2 }):order_by(u.id)):all())
    local byname = select(u.id):where(u.name:eq(athanor.bindparam("n")))
    assert.are.equal(2, conn:scalar(byname, { n = "bob" }))
    assert.are.equal(1, conn:scalar(byname, { n = "ann" }))
    assert.are.equal("ArgumentError", H.error_of(function() conn:execute(byname) end).class)
    assert.are.equal(1, conn:execute(delete(users):where(u.id:eq(id))).rowcount)
    assert.are.equal(3, conn:scalar(athanor.text("SELECT count(*) FROM " .. P .. "users WHERE id < :n"), { n = 10 }))
    if H.backend ~= "mysql" then
      assert.are.equal("eve", conn:execute(insert(users):values { name = "eve" }:returning(u.name)):scalar())
    end
    conn:commit()
    conn:close()
  end)

  it("commits and rolls back transactions, as objects and as function blocks", function()
    local count = select(func.count()):select_from(users)
    engine:begin(function(conn) conn:execute(insert(users):values { name = "t1" }) end)
    local ok = pcall(engine.begin, engine, function(conn)
      conn:execute(insert(users):values { name = "t2" })
      error("boom")
    end)
    assert.is_false(ok)
    local conn = engine:connect()
    assert.are.equal(4, conn:scalar(count))
    conn:rollback() -- the scalar autobegan a transaction (SQLAlchemy 2.0)
    local tx = conn:begin()
    conn:execute(insert(users):values { name = "t3" })
    tx:rollback()
    tx:close()
    assert.are.equal(4, conn:scalar(count))
    conn:rollback()
    tx = conn:begin()
    conn:execute(insert(users):values { name = "t4" })
    local sp = conn:begin_nested()
    conn:execute(insert(users):values { name = "t5" })
    sp:rollback()
    tx:commit()
    assert.are.equal(5, conn:scalar(count))
    conn:rollback()
    assert.are.equal("x", conn:begin(function(c) return "x" end))
    if H.backend == "sqlite" then
      assert.are.equal("NotSupportedError", H.error_of(conn.begin_twophase, conn).class)
    elseif H.backend == "mysql" then -- XA on MariaDB (PostgreSQL needs max_prepared_transactions > 0)
      local x = conn:begin_twophase("lua_xa_" .. H.runtime)
      assert.are.equal("lua_xa_" .. H.runtime, x:xid())
      conn:execute(insert(users):values { name = "xa" })
      x:prepare()
      x:commit()
      x:close()
      assert.are.equal(1, conn:scalar(select(func.count()):select_from(users):where(u.name:eq("xa"))))
      conn:execute(delete(users):where(u.name:eq("xa")))
      conn:commit()
    end
    if _VERSION == "Lua 5.4" then
      local chunk = load([[local engine, insert, users = ...
        do local c <close> = engine:begin(); c:execute(insert(users):values { name = "t6" }) end
        pcall(function() local c <close> = engine:begin(); c:execute(insert(users):values { name = "t7" }); error("x") end)]])
      chunk(engine, insert, users)
      conn:rollback()
      assert.are.equal(6, conn:scalar(count))
    end
    conn:close()
  end)

  it("raises error objects with class, SQLSTATE and message", function()
    local conn = engine:connect()
    local e = H.error_of(function() conn:execute(insert(users):values { id = 1, name = "dup" }) end)
    assert.are.equal("IntegrityError", e.class)
    assert.is_true(e:is("DatabaseError"))
    assert.is_true(e:is(athanor.errors.SQLAlchemyError))
    assert.is_false(e:is("OperationalError"))
    assert.is_string(e.message)
    assert.is_truthy(tostring(e):find("IntegrityError"))
    if H.backend ~= "sqlite" then assert.are.equal(5, #e.sqlstate) end
    conn:rollback()
    e = H.error_of(function() conn:execute(athanor.text("SELEC nonsense")) end)
    assert.is_true(e:is("DatabaseError"))
    conn:rollback()
    conn:close()
  end)

  it("never crashes on misuse: closed handles, wrong arguments, raw calls after close", function()
    local raw = athanor.raw
    local conn = engine:connect()
    local res = conn:execute(select(u.id))
    conn:close()
    conn:close() -- idempotent
    assert.are.equal("ResourceClosedError", H.error_of(conn.execute, conn, select(u.id)).class)
    assert.are.equal(3, #res:all()) -- a result keeps its connection alive
    assert.are.equal("ResourceClosedError", H.error_of(function() conn:execute(insert(users):values { name = "x" }):all() end).class)
    local c2 = engine:connect()
    assert.are.equal("ResourceClosedError", H.error_of(function() c2:execute(insert(users):values { name = "zz" }):all() end).class)
    assert.are.equal("ArgumentError", H.error_of(c2.execute, c2, 42).class)
    assert.are.equal("ArgumentError", H.error_of(function() c2:execute(select(u.id)):fetchmany(-1) end).class)
    local missing = H.error_of(c2.execute, c2, insert(users), { { name = "m1", age = 1 }, { name = "m2" } })
    assert.are.equal("ArgumentError", missing.class)
    assert.is_truthy(missing.message:find("'age' in parameter row 2", 1, true))
    assert.is_truthy(H.message_of(c2.execute, c2, insert(users), { { name = "m1" }, { name = print } }):find("function"))
    assert.is_truthy(H.message_of(raw.fetch, c2._h, 1, nil):find("ath_result"))
    assert.are.equal("ArgumentError", H.error_of(c2.execute, c2, select(u.id), "nope").class)
    c2:rollback()
    local h = c2._h
    c2:close()
    local e = H.error_of(raw.ath_conn_execute, h, raw.pack { k = "select", columns = { { "lit", 1 } } }, nil)
    assert.are.equal("ath_conn_execute: conn is NULL", e.message)
    assert.is_truthy(H.message_of(raw.ath_conn_execute, "not a handle", "", nil):find("expected 'ath_conn"))
    assert.is_truthy(H.message_of(raw.ath_conn_commit, engine._h):find("expected 'ath_conn"))
    assert.is_truthy(H.message_of(raw.close, 5):find("handle"))
    assert.are.equal("ArgumentError", H.error_of(athanor.create_engine, "nosuchdb://").class)
    assert.is_truthy(H.message_of(athanor.create_engine, "sqlite://", { bogus = 1 }):find("unknown engine option 'bogus'"))
    local e2 = H.engine()
    e2:dispose()
    assert.are.equal("ResourceClosedError", H.error_of(e2.connect, e2).class)
    collectgarbage()
    collectgarbage()
  end)

  it("round-trips typed values through a metadata", function()
    local conn = engine:connect()
    local row = {
      id = 1, d = athanor.Date("2024-02-29"), dt = athanor.DateTime("2024-01-02T03:04:05"),
      num = athanor.Decimal("12.3400"), b = true, bin = athanor.Binary("\0\1\255"),
      u = athanor.UUID("12345678-1234-5678-1234-567812345678"), iv = athanor.Interval { days = 1, seconds = 2 },
      j = { a = { 1, 2 }, b = "x" }, f = 1.5, ts = athanor.Timestamp("2024-01-02T03:04:05Z"),
      t = athanor.Time("12:30:00"),
    }
    conn:execute(insert(typed), row)
    local back = conn:execute(select(typed):where(typed.c.id:eq(1))):one()
    for k, v in pairs(row) do
      if type(v) == "table" and getmetatable(v) then
        assert.are.equal(tostring(v), tostring(back[k]), k)
      else
        assert.are.same(v, back[k], k)
      end
    end
    local e = H.error_of(function() conn:execute(insert(typed), { id = 2, d = "not a date" }) end)
    assert.are.equal("DataError", e.class)
    conn:rollback()
    conn:close()
  end)

  it("creates, reflects and inspects the schema", function()
    local insp = athanor.inspect(engine)
    assert.is_true(insp:has_table(P .. "users"))
    local cols = insp:get_columns(P .. "users")
    assert.are.same({ "id", "name", "age" }, { cols[1].name, cols[2].name, cols[3].name })
    assert.are.same({ "id" }, insp:get_pk_constraint(P .. "users").constrained_columns)
    assert.are.equal(P .. "users", insp:get_foreign_keys(P .. "addresses")[1].referred_table)
    local r = athanor.MetaData():reflect(engine)
    local ru = r.tables[P .. "users"]
    assert.is_not_nil(ru)
    assert.are.equal("String", ru.c.name.type._wire[1])
    local conn = engine:connect()
    assert.are.equal(2, conn:scalar(select(func.count()):select_from(r.tables[P .. "addresses"]):where(r.tables[P .. "addresses"].c.user_id:eq(1))))
    conn:close()
    local auto = athanor.Table(P .. "addresses", athanor.MetaData(), { autoload_with = engine })
    assert.are.same({ "id", "user_id", "email" }, { auto.columns[1].name, auto.columns[2].name, auto.columns[3].name })
    assert.are.equal(P .. "users", auto.c.user_id.foreign_keys[1].table)
    assert.are.equal("NoSuchTableError", H.error_of(athanor.Table, "nope", athanor.MetaData(), { autoload_with = engine }).class)
    local ddl = md:ddl(H.backend == "mysql" and "mysql" or H.backend)
    assert.is_truthy(ddl[1]:find("CREATE TABLE"))
  end)

  it("returns connections dropped without close() to the pool when they are collected", function()
    local e = H.engine { pool_size = 2, max_overflow = 1, pool_timeout = 2 }
    for i = 1, 20 do
      local c = e:connect()
      assert.are.equal(i, c:scalar(select(athanor.literal(i))))
      c = nil
      collectgarbage()
      collectgarbage()
    end
    local stats = e:stats().pool
    assert.is_true(stats.checked_out <= 1)
    e:dispose()
  end)

  it("executemany returns every inserted primary key, and results can stream", function()
    local conn = engine:connect()
    local r = conn:execute(insert(users), { { name = "k1" }, { name = "k2" }, { name = "k3" } }, { return_defaults = true })
    local keys = r:inserted_primary_key_rows()
    assert.are.equal(3, #keys)
    assert.are.same({ 4 }, keys[1])
    assert.are.same({ 6 }, keys[3])
    conn:commit()
    conn:close()
    -- streaming (PostgreSQL single-row mode, MySQL unbuffered) needs a server: sqlite:// engines do
    -- not share their in-memory database
    local se = H.backend == "sqlite" and engine or H.engine { stream_results = true }
    local c2 = se:connect()
    local n = 0
    for batch in c2:execute(select(u.id)):partitions(2) do n = n + #batch end
    assert.are.equal(6, n)
    c2:close()
    if se ~= engine then se:dispose() end
  end)

  it("stores JSON lists with nulls, and NULL through athanor.null", function()
    local conn = engine:connect()
    conn:execute(insert(typed), { id = 5, j = athanor.array({ 1, athanor.null, "x" }, 3), d = athanor.null })
    local back = conn:execute(select(typed.c.j, typed.c.d):where(typed.c.id:eq(5))):one()
    assert.are.equal(1, back.j[1])
    assert.is_nil(back.j[2])
    assert.are.equal("x", back.j[3])
    assert.is_nil(back.d)
    conn:rollback()
    conn:close()
  end)

  it("reports the engine's dialect and counters", function()
    assert.is_truthy(engine.dialect == H.backend or (H.backend == "mysql" and engine.dialect == "mariadb"))
    local s = select(u.id):where(u.id:eq(1))
    local conn = engine:connect()
    conn:execute(s):all()
    conn:execute(s):all()
    local stats = engine:stats()
    assert.is_true(stats.compile_cache.hits >= 1)
    assert.is_string(engine:compile(s).sql)
    conn:close()
  end)
end)
