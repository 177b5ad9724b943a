-- sql_spec.lua — the expression language compiled by the C compiler (stmt:compile(dialect)), no
-- database: each construct's SQL per dialect, values lifted into params, shapes cached per statement.
local athanor = require "athanor"
local T = athanor.types
local func, select, insert, update, delete = athanor.func, athanor.select, athanor.insert, athanor.update, athanor.delete

local md = athanor.MetaData()
local users = athanor.Table("users", md,
  athanor.Column("id", T.Integer, { primary_key = true }),
  athanor.Column("name", T.String(50)),
  athanor.Column("age", T.Integer))
local addresses = athanor.Table("addresses", md,
  athanor.Column("id", T.Integer, { primary_key = true }),
  athanor.Column("user_id", T.Integer, athanor.ForeignKey("users.id")),
  athanor.Column("email", T.String(100)))
local u, a = users.c, addresses.c

local function sql(stmt, dialect, params) return stmt:compile(dialect or "sqlite", params).sql end

describe("the expression language", function()
  it("compiles select, where, order, limit with lifted params", function()
    local s = select(u.id, u.name):where(u.name:eq("ann"), u.age:ge(18)):order_by(u.name:desc()):limit(10):offset(5)
    assert.are.equal("SELECT users.id, users.name FROM users WHERE users.name = ? AND users.age >= ? ORDER BY users.name DESC LIMIT ? OFFSET ?", sql(s))
    assert.are.equal("SELECT users.id, users.name FROM users WHERE users.name = $1 AND users.age >= $2 ORDER BY users.name DESC LIMIT $3 OFFSET $4", sql(s, "postgresql"))
    assert.are.equal("SELECT users.id, users.name FROM users WHERE users.name = ? AND users.age >= ? ORDER BY users.name DESC LIMIT ?, ?", sql(s, "mysql"))
    assert.are.same({ "ann", 18, 10, 5 }, s:compile("sqlite", {}).params)
  end)

  it("gives equal shapes for equal statements with different values", function()
    local s1 = select(u.id):where(u.name:eq("a"))
    local s2 = select(u.id):where(u.name:eq("b"))
    assert.are.equal(s1:shape(), s2:shape())
    assert.are_not.equal(s1:shape(), select(u.id):where(u.name:ne("b")):shape())
    assert.are.equal(s1:shape(), s1:shape()) -- cached on the statement
    local s3 = s1:where(u.age:gt(1)) -- derived after s1 was compiled: its own shape
    assert.are.equal("SELECT users.id FROM users WHERE users.name = ? AND users.age > ?", sql(s3))
    assert.are.equal("SELECT users.id FROM users WHERE users.name = ?", sql(s1))
  end)

  it("turns nil and booleans into IS NULL / true in the shape", function()
    assert.are.equal("SELECT users.id FROM users WHERE users.name IS NULL", sql(select(u.id):where(u.name:eq(nil))))
    assert.are.equal("SELECT users.id FROM users WHERE users.name IS NOT NULL", sql(select(u.id):where(u.name:ne(athanor.null))))
    assert.are.equal("SELECT users.id FROM users WHERE users.age = true", sql(select(u.id):where(u.age:eq(true)), "postgresql"))
  end)

  it("has operators as metamethods and methods", function()
    assert.are.equal("SELECT users.age + ? AS anon_1 FROM users", sql(select(u.age + 1)))
    assert.are.equal("SELECT ? - users.age AS anon_1 FROM users", sql(select(1 - u.age)))
    assert.are.equal("SELECT (users.age + ?) * ? AS anon_1 FROM users", sql(select((u.age + 1) * 2)))
    assert.are.equal("SELECT -users.age FROM users", sql(select(-u.age)))
    assert.are.equal("SELECT users.name || ? AS anon_1 FROM users", sql(select(u.name .. "!")))
    assert.are.equal("SELECT concat(users.name, ?) AS anon_1 FROM users", sql(select(u.name .. "!"), "mysql"))
    assert.are.equal("SELECT users.id FROM users WHERE users.age < ? OR users.age > ? AND users.name NOT LIKE ?",
      (sql(select(u.id):where(athanor.or_(u.age:lt(1), athanor.and_(u.age:gt(2), athanor.not_(u.name:like("a%"))))))))
    assert.are.equal("SELECT users.id FROM users WHERE users.age BETWEEN ? AND ? AND (users.name LIKE '%' || ? || '%')",
      sql(select(u.id):where(u.age:between(1, 2), u.name:contains("x"))))
    assert.are.equal("SELECT users.id FROM users WHERE users.name ILIKE $1", sql(select(u.id):where(u.name:ilike("x")), "postgresql"))
    if _VERSION == "Lua 5.4" then -- & | ~ exist only on Lua 5.3+; LuaJIT cannot even parse them
      local chunk = load("local u = ... return (u.age:lt(1) | u.age:gt(2)) & ~u.name:eq('x')")
      assert.are.equal("SELECT users.id FROM users WHERE (users.age < ? OR users.age > ?) AND users.name != ?",
        sql(select(u.id):where(chunk(u))))
    end
  end)

  it("lifts IN lists into one expanding parameter", function()
    local s = select(u.id):where(u.id:in_ { 1, 2, 3 })
    assert.are.equal("SELECT users.id FROM users WHERE users.id IN (?, ?, ?)", sql(s, "sqlite", {}))
    assert.are.equal(s:shape(), select(u.id):where(u.id:in_ { 7 }):shape())
    assert.are.equal("SELECT users.id FROM users WHERE users.id IN (?, NULL)", sql(select(u.id):where(u.id:in_ { 1, athanor.null })))
    assert.are.equal("SELECT users.id FROM users WHERE (users.id NOT IN (SELECT addresses.user_id FROM addresses))",
      sql(select(u.id):where(u.id:not_in(select(a.user_id)))))
  end)

  it("joins along foreign keys, aliases, subqueries and correlated scalars", function()
    assert.are.equal("SELECT users.name, addresses.email FROM users JOIN addresses ON addresses.user_id = users.id",
      sql(select(u.name, a.email):select_from(users:join(addresses))))
    assert.are.equal("SELECT users.name, addresses.email FROM users LEFT OUTER JOIN addresses ON addresses.user_id = users.id",
      sql(select(u.name, a.email):outerjoin(addresses)))
    local u2 = users:alias("u2")
    assert.are.equal("SELECT u2.name FROM users AS u2 WHERE u2.id = ?", sql(select(u2.c.name):where(u2.c.id:eq(1))))
    -- an alias of the enclosing query correlates into a scalar subquery, not into a FROM subquery
    assert.are.equal("SELECT u2.name, (SELECT max(addresses.id) AS max_1 FROM addresses WHERE addresses.user_id = u2.id) AS m FROM users AS u2",
      sql(select(u2.c.name, select(func.max(a.id)):where(a.user_id:eq(u2.c.id)):label("m"))))
    local inner = select(u2.c.id):subquery("s")
    assert.are.equal("SELECT u2.name, s.id FROM users AS u2, (SELECT u2.id FROM users AS u2) AS s",
      sql(select(u2.c.name, inner.c.id)))
    local sq = select(a.user_id, func.count(a.id):label("n")):group_by(a.user_id):subquery("counts")
    assert.are.equal("SELECT users.name, counts.n FROM users JOIN (SELECT addresses.user_id, count(addresses.id) AS n FROM addresses GROUP BY addresses.user_id) AS counts ON counts.user_id = users.id",
      sql(select(u.name, sq.c.n):select_from(users:join(sq, sq.c.user_id:eq(u.id)))))
    local n = select(func.count(a.id)):where(a.user_id:eq(u.id)):scalar_subquery():label("n")
    assert.are.equal("SELECT users.name, (SELECT count(addresses.id) AS count_1 FROM addresses WHERE addresses.user_id = users.id) AS n FROM users",
      sql(select(u.name, n)))
    assert.are.equal("SELECT users.id FROM users WHERE EXISTS (SELECT addresses.id FROM addresses WHERE addresses.user_id = users.id)",
      sql(select(u.id):where(athanor.exists(select(a.id):where(a.user_id:eq(u.id))))))
  end)

  it("compiles functions, case, cast, union, cte, distinct, group/having", function()
    assert.are.equal("SELECT count(*) AS count_1, lower(users.name) AS lower_1 FROM users", sql(select(func.count(), func.lower(u.name))))
    assert.are.equal("SELECT CASE WHEN (users.age < ?) THEN ? ELSE ? END AS anon_1 FROM users",
      sql(select(athanor.case({ { u.age:lt(18), "minor" } }, "adult"))))
    assert.are.equal("SELECT CASE users.age WHEN ? THEN ? END AS anon_1 FROM users",
      sql(select(athanor.case({ { 1, "one" } }, { value = u.age }))))
    assert.are.equal("SELECT CAST(users.age AS VARCHAR(10)) AS age FROM users", sql(select(athanor.cast(u.age, T.String(10)))))
    assert.are.equal("SELECT users.id FROM users WHERE users.id = ? UNION ALL SELECT users.id FROM users WHERE users.id = ?",
      sql(athanor.union_all(select(u.id):where(u.id:eq(1)), select(u.id):where(u.id:eq(2)))))
    local nums = select(athanor.literal(1):label("n")):cte("nums", { recursive = true })
    nums = nums:union_all(select((nums.c.n + 1):label("n")):where(nums.c.n:lt(5)))
    assert.are.equal("WITH RECURSIVE nums(n) AS (SELECT ? AS n UNION ALL SELECT nums.n + ? AS n FROM nums WHERE nums.n < ?) SELECT nums.n FROM nums",
      sql(select(nums.c.n)))
    assert.are.equal("SELECT DISTINCT users.name FROM users GROUP BY users.name HAVING count(*) > ?",
      sql(select(u.name):distinct():group_by(u.name):having(func.count():gt(1))))
    assert.are.equal("SELECT row_number() OVER (PARTITION BY users.age ORDER BY users.id) AS anon_1 FROM users",
      sql(select(func.row_number():over { partition_by = u.age, order_by = u.id })))
  end)

  it("compiles insert, update, delete with returning and upserts", function()
    assert.are.equal("INSERT INTO users (name, age) VALUES (?, ?)", sql(insert(users):values { age = 3, name = "x" }))
    assert.are.equal("INSERT INTO users (name) VALUES (?), (?)", sql(insert(users):values({ name = "a" }, { name = "b" })))
    assert.are.equal("INSERT INTO users (name) VALUES ($1) RETURNING users.id", sql(insert(users):values { name = "a" }:returning(u.id), "postgresql"))
    assert.are.equal("UPDATE users SET name=? WHERE users.id = ?", sql(update(users):where(u.id:eq(1)):values { name = "z" }))
    assert.are.equal("DELETE FROM users WHERE users.age < ?", sql(delete(users):where(u.age:lt(1))))
    assert.are.equal("INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name",
      sql(insert(users):values { id = 1, name = "a" }:on_conflict_do_update { index_elements = { "id" }, set_ = { name = athanor.excluded("name") } }))
    assert.are.equal("INSERT INTO archive (id, name) SELECT users.id, users.name FROM users",
      sql(insert(athanor.table("archive", "id", "name")):from_select({ "id", "name" }, select(u.id, u.name))))
  end)

  it("builds the schema spec: constraints, indexes, defaults, enums, naming conventions", function()
    local m = athanor.MetaData { naming_convention = { uq = "uq_%(table_name)s_%(column_0_name)s" } }
    athanor.Table("items", m,
      athanor.Column("id", T.Integer, { primary_key = true }),
      athanor.Column("sku", T.String(20), { nullable = false, unique = true }),
      athanor.Column("qty", T.Integer, { default = 0, server_default = athanor.text("1") }),
      athanor.Column("mood", T.Enum({ "ok", "sad" }, { name = "mood" })),
      athanor.Column("created", T.DateTime { timezone = true }, { server_default = func.now() }),
      athanor.CheckConstraint(athanor.column("qty"):ge(0), { name = "qty_nonneg" }),
      athanor.Index("ix_items_lower_sku", func.lower(athanor.column("sku")), { unique = true }),
      { comment = "stock" })
    local ddl = table.concat(m:ddl("postgresql"), ";\n")
    assert.is_truthy(ddl:find("CREATE TYPE mood AS ENUM ('ok', 'sad')", 1, true))
    assert.is_truthy(ddl:find("qty INTEGER DEFAULT 1", 1, true))
    assert.is_truthy(ddl:find("created TIMESTAMP WITH TIME ZONE DEFAULT now()", 1, true))
    assert.is_truthy(ddl:find("CONSTRAINT qty_nonneg CHECK (qty >= 0)", 1, true))
    assert.is_truthy(ddl:find("CONSTRAINT uq_items_sku UNIQUE (sku)", 1, true))
    assert.is_truthy(ddl:find("CREATE UNIQUE INDEX ix_items_lower_sku ON items (lower(sku))", 1, true))
    assert.is_truthy(ddl:find("COMMENT ON TABLE items IS 'stock'", 1, true))
    local drops = m:ddl("sqlite", { drop = true })
    assert.are.equal("DROP TABLE items", drops[#drops])
    -- the client-side default is sent when qty is not given
    local md2 = athanor.MetaData()
    local t2 = athanor.Table("t2", md2, athanor.Column("id", T.Integer, { primary_key = true }),
      athanor.Column("qty", T.Integer, { default = 7 }))
    assert.are.equal("ArgumentError", require("spec.helper").error_of(function()
      athanor.Table("t2", md2, athanor.Column("id", T.Integer)) end).class)
    local e = athanor.create_engine("sqlite://", { metadata = md2 })
    md2:create_all(e)
    local c = e:connect()
    c:execute(insert(t2):values { id = 1 })
    assert.are.equal(7, c:scalar(select(t2.c.qty)))
    c:close()
    e:dispose()
  end)

  it("parses text() markers as named parameters", function()
    local t = athanor.text("SELECT :b, :a, x::int, '12:30', \\:c FROM t WHERE y = :b")
    assert.are.equal("SELECT ?, ?, x::int, '12:30', :c FROM t WHERE y = ?", sql(t, "sqlite", { a = 1, b = 2 }))
    assert.are.equal("SELECT users.id FROM users WHERE users.id > ?",
      sql(select(u.id):where(athanor.text("users.id > :lo"):bindparams { lo = 5 })))
  end)

  it("raises ArgumentError for malformed calls", function()
    local H = require "spec.helper"
    assert.are.equal("ArgumentError", H.error_of(function() select(u.id):where(u.id:eq({})) end).class)
    assert.are.equal("ArgumentError", H.error_of(function() athanor.case("x") end).class)
    assert.are.equal("ArgumentError", H.error_of(function() users:alias() end).class)
    assert.are.equal("ArgumentError", H.error_of(function() insert("users") end).class)
    assert.are.equal("ArgumentError", H.error_of(function() select(u.id):where(u.id:eq(athanor.bindparam("x"))):compile("sqlite", {}) end).class)
    local e = H.error_of(function() select(u.id):compile("oracle") end)
    assert.are.equal("ArgumentError", e.class)
    assert.is_truthy(e.message:find("unknown dialect"))
  end)
end)
