-- orm_spec.lua — the Lua ORM (athanor.orm) on the backend under test: SQLAlchemy's ORM tutorial
-- (users and addresses) end to end, identity, loading strategies, ORM statements, error objects,
-- misuse, and memory after loading and dropping 100,000 objects.
local athanor = require "athanor"
local H = require "spec.helper"
local orm, T = athanor.orm, athanor.types
local select = orm.select

-- A fresh registry, engine and schema per test file (tables prefixed per runtime).
local p = H.prefix .. "orm_"
local Base = orm.registry()
local User = Base:map("User", { __tablename = p .. "users",
  id = orm.Column(T.Integer, { primary_key = true }),
  name = orm.Column(T.String(30), { nullable = false }),
  fullname = orm.Column(T.String(100)),
  bio = orm.Column(T.Text, { deferred = true }),
  version = orm.Column(T.Integer, { nullable = false }),
  addresses = orm.relationship("Address", { back_populates = "user", cascade = "all, delete-orphan", order_by = "email" }),
  __version_id = "version",
})
function User:display() return self.name .. " <" .. (self.fullname or "?") .. ">" end
local Address = Base:map("Address", { __tablename = p .. "addresses",
  id = orm.Column(T.Integer, { primary_key = true }),
  email = orm.Column("email_address", T.String(100), { nullable = false }),
  user_id = orm.Column(T.Integer, athanor.ForeignKey(p .. "users.id"), { nullable = false }),
  user = orm.relationship("User", { back_populates = "addresses" }),
})

local engine = H.engine { metadata = Base.metadata }
teardown(function() Base.metadata:drop_all(engine) end)
Base.metadata:create_all(engine)

local function count_rows(tbl)
  local conn = engine:connect()
  local n = conn:scalar(athanor.select(athanor.func.count()):select_from(tbl))
  conn:close()
  return n
end

local function reset()
  local conn = engine:connect()
  conn:execute(athanor.delete(Address.__table__))
  conn:execute(athanor.delete(User.__table__))
  conn:commit()
  conn:close()
end

describe("the ORM tutorial", function()
  before_each(reset)

  it("adds, queries, keeps identity, loads relationships, updates and deletes with cascade", function()
    local session = orm.Session(engine)
    local spongebob = User { name = "spongebob", fullname = "Spongebob Squarepants" }
    spongebob.addresses = { Address { email = "spongebob@sqlalchemy.org" } }
    local sandy = User { name = "sandy", fullname = "Sandy Cheeks" }
    sandy.addresses:append(Address { email = "sandy@sqlalchemy.org" })
    sandy.addresses:append(Address { email = "sandy@squirrelpower.org" })
    local patrick = User { name = "patrick", fullname = "Patrick Star" }
    assert.are.equal("transient", orm.status(spongebob))
    session:add_all { spongebob, sandy, patrick }
    assert.are.equal("pending", orm.status(sandy))
    assert.are.equal("pending", orm.status(sandy.addresses[1])) -- save-update cascade
    assert.are.equal(sandy, sandy.addresses[2].user)               -- back_populates in memory
    session:commit()
    assert.are.equal(3, count_rows(User.__table__))
    assert.are.equal(3, count_rows(Address.__table__))
    assert.are.equal("persistent", orm.status(sandy))
    assert.is_number(sandy.id)
    assert.are.equal("sandy <Sandy Cheeks>", sandy:display()) -- methods of the class

    -- select and identity: the same Lua object for the same row
    local s = session:scalars(select(User):where(User.name:eq("sandy"))):one()
    assert.are.equal(sandy, s)
    assert.is_true(rawequal(sandy, s))
    assert.are.equal(sandy, session:get(User, sandy.id))
    local all = session:scalars(select(User):order_by(User.name)):all()
    assert.are.same({ "patrick", "sandy", "spongebob" }, { all[1].name, all[2].name, all[3].name })
    assert.are.equal(sandy, all[2])
    -- rows of several columns
    local rows = session:execute(select(User, Address.email):join(User.addresses):order_by(Address.email)):all()
    assert.are.equal(3, #rows)
    assert.are.equal(sandy, rows[1][1])
    assert.are.equal("sandy@sqlalchemy.org", rows[1][2])
    assert.are.equal("spongebob", session:scalar(select(User.name):where(User.fullname:like("%Square%"))))

    -- relationships: a collection reads as a sequence, a many-to-one as the object
    local addrs = sandy.addresses
    assert.are.equal(2, #addrs)
    local emails = {}
    for i, a in ipairs(addrs) do emails[i] = a.email; assert.are.equal(sandy, a.user) end
    assert.are.same({ "sandy@sqlalchemy.org", "sandy@squirrelpower.org" }, emails)
    assert.are.equal(0, #patrick.addresses)

    -- joins, any/has, object comparison
    local q = select(User):join(User.addresses):where(Address.email:eq("sandy@sqlalchemy.org"))
    assert.are.equal(sandy, session:scalars(q):one())
    assert.are.equal(2, #session:scalars(select(User):where(User.addresses:any())):all())
    assert.are.equal(patrick, session:scalars(select(User):where(User.addresses:any():not_())):one())
    assert.are.equal(1, #session:scalars(select(Address):where(Address.user:has(User.name:eq("spongebob")))):all())
    assert.are.equal(2, #session:scalars(select(Address):where(Address.user:eq(sandy))):all())
    assert.are.equal(1, #session:scalars(select(Address):where(Address.user:ne(sandy))):all())
    assert.are.equal(sandy, session:scalars(select(User):where(User.addresses:contains(addrs[1]))):one())

    -- update through the object: flushed as an UPDATE (version counter goes up)
    local v = sandy.version
    sandy.fullname = "Sandy Squirrel"
    assert.is_true(orm.is_modified(sandy))
    assert.are.same({ "Sandy Squirrel" }, orm.history(sandy, "fullname").added)
    session:commit()
    assert.are.equal(v + 1, sandy.version)
    assert.are.equal("Sandy Squirrel", session:scalar(select(User.fullname):where(User.id:eq(sandy.id))))

    -- removing from a collection with delete-orphan deletes the row
    sandy.addresses:remove(sandy.addresses[2])
    session:commit()
    assert.are.equal(2, count_rows(Address.__table__))
    -- deleting a user deletes its addresses (cascade)
    session:delete(sandy)
    session:flush()
    assert.are.equal("deleted", orm.status(sandy))
    session:commit()
    assert.are.equal("detached", orm.status(sandy))
    assert.are.equal(2, count_rows(User.__table__))
    assert.are.equal(1, count_rows(Address.__table__))
    session:close()
  end)

  it("rolls back: added objects are transient again, changed ones expired", function()
    local session = orm.Session(engine)
    local ed = User { name = "ed", fullname = "Ed Jones" }
    session:add(ed)
    session:commit()
    ed.name = "Edwardo"
    local fake = User { name = "fakeuser", fullname = "Invalid" }
    session:add(fake)
    assert.are.equal(2, #session:scalars(select(User):where(User.name:in_ { "Edwardo", "fakeuser" })):all())
    session:rollback()
    assert.are.equal("ed", ed.name)
    assert.are.equal("transient", orm.status(fake))
    assert.are.equal(0, #session:scalars(select(User):where(User.name:in_ { "Edwardo", "fakeuser" })):all())
    -- session:begin(fn): rolled back when fn raises, committed when it returns
    local ok = pcall(session.begin, session, function(s)
      s:add(User { name = "inner" })
      s:flush()
      error("boom")
    end)
    assert.is_false(ok)
    assert.is_nil(session:scalar(select(User):where(User.name:eq("inner"))))
    session:begin(function(s) s:add(User { name = "kept" }) end)
    assert.is_not_nil(session:scalar(select(User):where(User.name:eq("kept"))))
    -- begin_nested: a savepoint
    session:begin_nested(function(s) s:add(User { name = "sp1" }) end)
    pcall(session.begin_nested, session, function(s) s:add(User { name = "sp2" }); s:flush(); error("x") end)
    session:commit()
    assert.is_not_nil(session:scalar(select(User):where(User.name:eq("sp1"))))
    assert.is_nil(session:scalar(select(User):where(User.name:eq("sp2"))))
    session:close()
  end)

  it("loads lazily, with selectinload, joinedload, noload, and defers columns", function()
    local session = orm.Session(engine)
    for i = 1, 5 do
      local u = User { name = "u" .. i, bio = "bio " .. i }
      for j = 1, i do u.addresses:append(Address { email = ("u%d_%d@x"):format(i, j) }) end
      session:add(u)
    end
    session:commit()
    session:close()
    local function total(users)
      local n = 0
      for _, u in ipairs(users) do n = n + #u.addresses end
      return n
    end
    for _, opt in ipairs { false, orm.selectinload(User.addresses), orm.joinedload(User.addresses), orm.lazyload(User.addresses) } do
      local s2 = orm.Session(engine)
      local q = select(User):order_by(User.name)
      if opt then q = q:options(opt) end
      local users = s2:scalars(q):all()
      assert.are.equal(5, #users)
      assert.are.equal(15, total(users))
      s2:close()
    end
    local s3 = orm.Session(engine)
    local users = s3:scalars(select(User):options(orm.noload(User.addresses))):all()
    assert.are.equal(0, total(users))
    -- selectinload chained to the many-to-one back
    local addrs = s3:scalars(select(Address):options(orm.selectinload(Address.user):selectinload(User.addresses))):all()
    assert.are.equal(15, #addrs)
    -- deferred column: loaded on access; undefer / load_only
    local u = s3:scalars(select(User):where(User.name:eq("u3")):options(orm.undefer(User.bio))):one()
    assert.are.equal("bio 3", u.bio)
    local s4 = orm.Session(engine)
    local u4 = s4:scalars(select(User):where(User.name:eq("u2")):options(orm.load_only(User.name))):one()
    assert.are.equal("u2", u4.name)
    assert.are.equal("bio 2", u4.bio) -- loads on access
    assert.is_nil(orm.state(orm.Session(engine):scalars(select(User):where(User.name:eq("u1")):options(orm.defer(User.fullname))):one()).bio)
    -- expire / refresh / expunge / merge
    s4:expire(u4, { "name" })
    assert.are.equal("u2", u4.name)
    s4:refresh(u4)
    s4:expunge(u4)
    assert.are.equal("detached", orm.status(u4))
    local merged = s3:merge(u4)
    assert.are.equal("persistent", orm.status(merged))
    assert.are.equal(u4.id, merged.id)
    s3:close(); s4:close()
  end)

  it("runs ORM bulk insert, update and delete with synchronize_session", function()
    local session = orm.Session(engine)
    local r = session:execute(orm.insert(User), { { name = "b1", version = 1 }, { name = "b2", version = 1 }, { name = "b3", fullname = "B3", version = 1 } })
    assert.are.equal(3, r.rowcount)
    local b = session:scalars(select(User):where(User.name:like("b%")):order_by(User.name)):all()
    assert.are.equal(3, #b)
    session:execute(orm.update(User), { { id = b[1].id, fullname = "B One" } })
    assert.are.equal("B One", b[1].fullname)
    local u = orm.update(User):where(User.name:like("b%")):values { fullname = "Bulk" }
    assert.are.equal(3, session:execute(u).rowcount)
    assert.are.equal("Bulk", b[2].fullname)
    session:execute(orm.update(User):where(User.name:like("b%")):values { fullname = "Stale" }:synchronize_session(false))
    assert.are.equal("Bulk", b[2].fullname)
    session:execute(orm.delete(User):where(User.name:eq("b3")):execution_options { synchronize_session = "fetch" })
    assert.are.equal("deleted", orm.status(b[3]))
    session:commit()
    assert.are.equal(2, count_rows(User.__table__))
    session:close()
  end)

  it("has filter_by, get of a missing row, transaction objects, one object per session", function()
    local session = orm.Session(engine)
    local tx = session:begin()
    session:add(User { name = "fb", fullname = "Filter By" })
    tx:commit()
    local u = session:scalars(select(User):filter_by { name = "fb" }):one()
    assert.are.equal("Filter By", u.fullname)
    assert.is_nil(session:get(User, -42))
    assert.are.equal(u, session:get(User, { u.id }))
    -- another session has its own object for the row
    local other = orm.Session(engine)
    local u2 = other:get(User, u.id)
    assert.are_not.equal(u, u2)
    assert.are.equal(u.id, u2.id)
    -- a nested transaction object rolled back
    local sp = session:begin_nested()
    u.fullname = "changed in savepoint"
    session:flush()
    sp:rollback()
    assert.are.equal("Filter By", u.fullname)
    -- non-mapped fields live on the proxy
    u.note = "hello"
    assert.are.equal("hello", u.note)
    assert.are.equal(u, session:scalars(select(User):filter_by { name = "fb" }):one())
    assert.are.equal("hello", u.note)
    assert.matches("^<User %d+ persistent>$", tostring(u))
    session:close(); other:close()
    assert.are.equal("detached", orm.status(u))
  end)

  it("builds ORM statements: entity joins, outer joins, NULL relationship tests, subqueries, Core through the session", function()
    local session = orm.Session(engine)
    local a = User { name = "a", addresses = { Address { email = "a1@x" }, Address { email = "a2@x" } } }
    local b = User { name = "b" }
    session:add_all { a, b }
    session:commit()
    assert.are.equal(2, #session:scalars(select(User):join(Address)):all()) -- ON from the foreign key
    assert.are.equal(2, #session:scalars(select(User):join(Address, Address.user_id:eq(User.id))):all())
    local rows = session:execute(select(User, Address.email):outerjoin(User.addresses):order_by(User.name, Address.email)):all()
    assert.are.equal(3, #rows)
    assert.are.equal(b, rows[3][1])
    assert.is_nil(rows[3][2])
    assert.are.equal(a, rows[1].User) -- rows answer to the columns' names too
    assert.are.equal("a1@x", rows[1].email)
    local lr = session:execute(select(User.name:label("who"), User.id)):first()
    assert.are.equal(lr[1], lr.who)
    assert.are.equal(lr[2], lr.id)
    assert.are.same({ "a", "a" }, session:scalars(select(User.name):join(User.addresses)):all())
    assert.are.equal(b, session:scalars(select(User):where(User.addresses:is_(nil))):one())
    assert.are.equal(a, session:scalars(select(User):where(User.addresses:is_not(nil))):one())
    local r = session:execute(select(User.name, athanor.func.count(Address.id)):join(User.addresses):group_by(User.name)):one()
    assert.are.same({ "a", 2 }, { r[1], r[2] })
    local sq = select(Address.user_id):where(Address.email:like("a%")):subquery("sq")
    assert.are.equal(a, session:scalars(select(User):where(User.id:in_(select(sq.c.user_id)))):one())
    assert.are.equal("a", session:scalar(select(User.name):where(User.id:eq(
      select(Address.user_id):where(Address.email:eq("a1@x")):scalar_subquery()))))
    assert.are.equal(2, session:scalar(select(athanor.func.count()):select_from(User)))
    -- populate_existing overwrites unflushed attribute values with the row's
    session:no_autoflush(function(s)
      a.name = "unflushed"
      s:scalars(select(User):execution_options { populate_existing = true }):all()
    end)
    assert.are.equal("a", a.name)
    -- Core statements through the session
    assert.are.equal(2, session:execute(athanor.text("SELECT 1 + 1")):scalar())
    assert.are.equal(2, #session:execute(athanor.select(User.__table__)):all())
    session:close()
  end)

  it("works without autoflush and with expire_on_commit = false", function()
    local session = orm.Session(engine, { expire_on_commit = false })
    local u = User { name = "noflush" }
    session:add(u)
    session:no_autoflush(function(s)
      assert.is_nil(s:scalar(select(User):where(User.name:eq("noflush"))))
    end)
    assert.are.equal(u, session:scalar(select(User):where(User.name:eq("noflush"))))
    session:commit()
    session:close()
    assert.are.equal("noflush", u.name) -- not expired, readable detached
  end)
end)

describe("ORM errors", function()
  before_each(reset)

  it("reach Lua as error objects with class and message", function()
    local session = orm.Session(engine)
    session:add(User { name = "one" }); session:add(User { name = "two" })
    session:commit()
    local e = H.error_of(function() return session:one(select(User):where(User.name:eq("nobody"))) end)
    assert.are.equal("NoResultFound", e.class)
    assert.is_true(e:is("InvalidRequestError"))
    e = H.error_of(function() return session:one(select(User)) end)
    assert.are.equal("MultipleResultsFound", e.class)
    e = H.error_of(function() return session:scalars(select(User)):one() end)
    assert.are.equal("MultipleResultsFound", e.class)
    assert.is_nil(session:one_or_none(select(User):where(User.name:eq("nobody"))))

    -- DetachedInstanceError: an expired attribute of an object whose session is closed
    local one = session:scalars(select(User):where(User.name:eq("one"))):one()
    session:commit() -- expires everything
    session:close()
    e = H.error_of(function() return one.name end)
    assert.are.equal("DetachedInstanceError", e.class)
    assert.matches("not bound to a Session", e.message)

    -- StaleDataError: the row's version changed underneath
    local s2 = orm.Session(engine)
    local two = s2:scalars(select(User):where(User.name:eq("two"))):one()
    local conn = engine:connect()
    conn:execute(athanor.update(User.__table__):values { version = 99 })
    conn:commit(); conn:close()
    two.fullname = "changed"
    e = H.error_of(function() s2:flush() end)
    assert.are.equal("StaleDataError", e.class)
    e = H.error_of(function() s2:scalars(select(User)):all() end)
    assert.are.equal("PendingRollbackError", e.class)
    s2:rollback()
    s2:close()

    -- IntegrityError from the database, through the flush
    local s3 = orm.Session(engine)
    s3:add(Address { email = "orphan@x" }) -- user_id NOT NULL
    e = H.error_of(function() s3:commit() end)
    assert.is_true(e:is("IntegrityError") or e:is("DBAPIError"))
    s3:rollback(); s3:close()

    -- configuration errors name the class and attribute
    local B2 = orm.registry()
    B2:map("A", { __tablename = "a_only", id = orm.Column(T.Integer, { primary_key = true }),
      bs = orm.relationship("Missing") })
    e = H.error_of(function() B2:configure() end)
    assert.matches("Missing", e.message)
  end)

  it("raise clear Lua errors for malformed calls, closed and freed handles; never crash", function()
    local session = orm.Session(engine)
    local u = User { name = "m" }
    session:add(u); session:commit()
    local bad = { false, 1, "x", {}, true, type, User, session, athanor.null, 2 ^ 70, User.name, -1 }
    local methods = { "add", "add_all", "delete", "get", "expire", "refresh", "expunge", "merge", "execute",
      "scalars", "scalar", "one", "one_or_none", "begin", "begin_nested", "no_autoflush", "is_modified" }
    local n = 0
    for _, m in ipairs(methods) do
      for _, a in ipairs(bad) do
        for _, b in ipairs(bad) do
          local ok, err = pcall(session[m], session, a, b)
          ok, err = pcall(session[m], session, a)
          ok, err = pcall(session[m], session, nil, b)
          if not ok then assert.is_truthy(tostring(err)) end
          n = n + 1
        end
        -- called with a dot, or on something that is not a session
        if a ~= session then assert.is_false(pcall(session[m], a, u), m .. " with self " .. tostring(a)) end
      end
    end
    assert.is_true(n > 1000)
    assert.has_error(function() User { nope = 1 } end)
    assert.has_error(function() User "x" end)
    assert.has_error(function() u.addresses = 5 end)
    assert.has_error(function() u.addresses = { 1, 2 } end)
    assert.has_error(function() orm.select(User):options("x") end)
    assert.has_error(function() orm.selectinload(User.name) end)
    assert.has_error(function() orm.defer(User.addresses) end)
    assert.has_error(function() session:execute(orm.insert(User), 5) end)
    assert.has_error(function() u.id = "not a number for a key" end)
    session:rollback()

    -- a freed C object (its handle closed at the raw level) and closed raw handles
    local v = User { name = "freed" }
    athanor.raw.close(rawget(v, "__ath_h"))
    assert.has_error(function() return v.name end)
    assert.has_error(function() v.name = "x" end)
    assert.has_error(function() session:add(v) end)
    assert.has_error(function() return #v.addresses end)
    assert.is_truthy(tostring(v))
    local raw = athanor.raw
    local sh = rawget(session, "_h")
    raw.close(sh)
    local args = { {}, { sh }, { sh, 1 }, { sh, "User", raw.pack(1) }, { sh, rawget(u, "__ath_h") },
      { rawget(u, "__ath_h"), "name" }, { rawget(u, "__ath_h"), 0, "\xa1x" }, { rawget(u, "__ath_h"), "addresses", sh },
      { sh, raw.pack { k = "select" }, nil, 0 }, { "x", 1, 2, 3 }, { rawget(v, "__ath_h"), "name", 0 } }
    local calls = 0
    for name, f in pairs(raw) do
      if type(f) == "function" and (name:match("^ath_session") or name:match("^ath_obj") or name:match("^ath_registry") or name:match("^orm_")) then
        for _, a in ipairs(args) do
          pcall(f, (table.unpack or unpack)(a, 1, 6))
          calls = calls + 1
        end
      end
    end
    assert.is_true(calls > 300)
    session._h = nil -- the session starts afresh (the closed handle was ours to drop)
    assert.are.equal("m", session:scalars(select(User):where(User.name:eq("m"))):one().name)
    session:close()
    collectgarbage(); collectgarbage()
  end)
end)

describe("ORM objects and memory", function()
  before_each(reset)

  it("releases 100,000 loaded objects once Lua drops them", function()
    local N = 100000
    local session = orm.Session(engine)
    local rows = {}
    for i = 1, N do rows[i] = { name = "m" .. i, version = 1 } end
    session:execute(orm.insert(User), rows)
    session:commit()
    rows = nil
    collectgarbage(); collectgarbage()
    local before = collectgarbage("count")
    local before_count = session:count()
    local users = session:scalars(select(User)):all()
    assert.are.equal(N, #users)
    assert.are.equal("m", users[1].name:sub(1, 1))
    local peak = collectgarbage("count")
    local loaded_count = session:count()
    users = nil
    collectgarbage(); collectgarbage()
    -- the latest result's references stay resolvable until the next statement (orm.h): one more
    session:scalar(select(User.id):limit(1))
    collectgarbage(); collectgarbage()
    local after = collectgarbage("count")
    local after_count = session:count()
    print(("\n    memory (" .. engine.dialect .. "): Lua %.0f KiB before, %.0f KiB with %d objects loaded, %.0f KiB after dropping them; " ..
      "session count %d -> %d -> %d"):format(before, peak, N, after, before_count, loaded_count, after_count))
    assert.are.equal(N, loaded_count)
    assert.are.equal(0, after_count)
    assert.is_true(after - before < (peak - before) * 0.05, "Lua memory did not return")
    session:close()
  end)
end)

teardown(function() Base.metadata:drop_all(engine) end)
