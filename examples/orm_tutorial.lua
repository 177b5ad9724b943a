-- orm_tutorial.lua — athanor's ORM from Lua, following SQLAlchemy's ORM tutorial (users and
-- addresses): declarative classes, a session, add and commit, queries returning objects (the same
-- Lua object for the same row), relationships as sequences, loader options, ORM UPDATE, a delete
-- cascading to the addresses, a rollback, and an error caught as an object. Runs on Lua 5.4 and
-- LuaJIT 2.1 (`make demo` runs both).
--
-- Run from the checkout after `make build`:
--   LUA_PATH='bindings/lua/?.lua;;' LUA_CPATH='build/bindings/lua/5.4/?.so;;' lua5.4 examples/orm_tutorial.lua [URL]
local athanor = require "athanor"
local orm, T = athanor.orm, athanor.types
local Column, relationship, select = orm.Column, orm.relationship, orm.select

-- Declarative classes on a registry (SQLAlchemy's DeclarativeBase): columns, relationships, methods.
local Base = orm.registry()
local User = Base:map("User", {
  __tablename = "user_account",
  id = Column(T.Integer, { primary_key = true }),
  name = Column(T.String(30), { nullable = false }),
  fullname = Column(T.String(100)),
  addresses = relationship("Address", { back_populates = "user", cascade = "all, delete-orphan", order_by = "email_address" }),
})
function User:describe() return ("%s (%s), %d address(es)"):format(self.name, self.fullname or "?", #self.addresses) end

local Address = Base:map("Address", {
  __tablename = "address",
  id = Column(T.Integer, { primary_key = true }),
  email_address = Column(T.String(100), { nullable = false }),
  user_id = Column(T.Integer, athanor.ForeignKey("user_account.id"), { nullable = false }),
  user = relationship("User", { back_populates = "addresses" }),
})

local engine = athanor.create_engine(arg[1] or "sqlite://", { metadata = Base.metadata })
Base.metadata:drop_all(engine)
Base.metadata:create_all(engine)
local session = orm.Session(engine)

-- Objects: User{...} is transient until added; add() cascades to the addresses; commit() flushes.
local spongebob = User { name = "spongebob", fullname = "Spongebob Squarepants",
  addresses = { Address { email_address = "spongebob@sqlalchemy.org" } } }
local sandy = User { name = "sandy", fullname = "Sandy Cheeks" }
sandy.addresses:append(Address { email_address = "sandy@sqlalchemy.org" })
sandy.addresses:append(Address { email_address = "sandy@squirrelpower.org" })
local patrick = User { name = "patrick", fullname = "Patrick Star" }
session:add_all { spongebob, sandy, patrick }
session:commit()
print(("committed: %s, %s, %s"):format(tostring(spongebob), tostring(sandy), tostring(patrick)))

-- Queries return objects; the same row is the same Lua object.
local q = select(User):where(User.name:eq("sandy"))
local found = session:scalars(q):one()
print(("select(User) where name = 'sandy': %s; same object as sandy: %s"):format(found:describe(), tostring(found == sandy)))
for _, u in ipairs(session:scalars(select(User):order_by(User.name)):all()) do print("  " .. u:describe()) end

-- Relationships: a collection is a Lua sequence, a many-to-one the object.
for i, a in ipairs(sandy.addresses) do print(("  sandy.addresses[%d] = %s (user %s)"):format(i, a.email_address, a.user.name)) end

-- Joins along relationships, EXISTS through any(), comparison with an object, loader options.
local rows = session:execute(select(User.name, Address.email_address):join(User.addresses):order_by(Address.email_address)):all()
for _, r in ipairs(rows) do print(("  %s | %s"):format(r[1], r[2])) end
local with_addr = session:scalars(select(User):where(User.addresses:any()):order_by(User.name)):all()
print(("users with an address: %d"):format(#with_addr))
print(("addresses of sandy: %d"):format(#session:scalars(select(Address):where(Address.user:eq(sandy))):all()))
session:close()
local eager = session:scalars(select(User):options(orm.selectinload(User.addresses)):order_by(User.name)):all()
print(("selectinload: %d users, %d addresses loaded up front"):format(#eager, #eager[1].addresses + #eager[2].addresses + #eager[3].addresses))

-- Changes: an attribute set on the object, an ORM UPDATE with criteria.
sandy = session:scalars(q):one()
sandy.fullname = "Sandy Squirrel"
session:execute(orm.update(User):where(User.name:eq("patrick")):values { fullname = "Patrick the Star" })
session:commit()
print(("sandy is now %s; patrick is %s"):format(sandy.fullname, session:scalar(select(User.fullname):where(User.name:eq("patrick")))))

-- Deleting sandy deletes her addresses (cascade "all, delete-orphan").
session:delete(sandy)
session:commit()
print(("after deleting sandy: %d users, %d addresses"):format(
  session:scalar(select(athanor.func.count()):select_from(User.__table__)),
  session:scalar(select(athanor.func.count()):select_from(Address.__table__))))

-- A rollback: pending objects are transient again, changed ones expired back.
patrick = session:get(User, patrick.id)
patrick.name = "patricia"
session:add(User { name = "fakeuser" })
session:rollback()
print(("after rollback: patrick is %s; fakeuser exists: %s"):format(patrick.name,
  tostring(session:scalar(select(User):where(User.name:eq("fakeuser"))) ~= nil)))

-- Errors are objects with the SQLAlchemy class and message.
local ok, err = pcall(session.one, session, select(User):where(User.name:eq("squidward")))
print(("caught %s: %s (ok = %s)"):format(err.class, err.message, tostring(ok)))
session:close()
Base.metadata:drop_all(engine)
engine:dispose()
