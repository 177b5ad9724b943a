-- orm_patterns_spec.lua — mapping patterns through the Lua ORM on the backend under test:
-- joined-table inheritance (Staff, Engineer, Manager), a self-referential many-to-many with
-- primaryjoin / secondaryjoin, and subquery eager loading. (test_orm_patterns.c counts their SQL.)
local athanor = require "athanor"
local H = require "spec.helper"
local orm, T = athanor.orm, athanor.types
local select = orm.select

local p = H.prefix .. "pat_"
local Base = orm.registry()
local Staff = Base:map("Staff", { __tablename = p .. "staff",
  id = orm.Column(T.Integer, { primary_key = true }),
  name = orm.Column(T.String(30)),
  kind = orm.Column(T.String(20)),
  __polymorphic_on = "kind", __polymorphic_identity = "staff",
})
function Staff:greeting() return "hi, " .. self.name end
local Manager = Base:map("Manager", { __tablename = p .. "managers", __inherits = Staff,
  __polymorphic_identity = "manager",
  id = orm.Column(T.Integer, athanor.ForeignKey(p .. "staff.id"), { primary_key = true }),
  budget = orm.Column(T.Integer),
  reports = orm.relationship("Engineer", { back_populates = "manager", order_by = "language" }),
})
local Engineer = Base:map("Engineer", { __tablename = p .. "engineers", __inherits = Staff,
  __polymorphic_identity = "engineer",
  id = orm.Column(T.Integer, athanor.ForeignKey(p .. "staff.id"), { primary_key = true }),
  language = orm.Column(T.String(20)),
  manager_id = orm.Column(T.Integer, athanor.ForeignKey(p .. "managers.id")),
  manager = orm.relationship("Manager", { back_populates = "reports" }),
})

local edges = athanor.Table(p .. "edges", Base.metadata,
  athanor.Column("l", T.Integer, athanor.ForeignKey(p .. "nodes.id"), { primary_key = true }),
  athanor.Column("r", T.Integer, athanor.ForeignKey(p .. "nodes.id"), { primary_key = true }))
local Node
Node = Base:map("Node", { __tablename = p .. "nodes",
  id = orm.Column(T.Integer, { primary_key = true }),
  label = orm.Column(T.String(20)),
  -- functions: Node is not mapped yet when the relationship is declared
  next = orm.relationship("Node", { secondary = edges, back_populates = "prev", order_by = "label",
    primaryjoin = function() return Node.id:eq(edges.c.l) end,
    secondaryjoin = function() return Node.id:eq(edges.c.r) end }),
  prev = orm.relationship("Node", { secondary = edges, back_populates = "next", lazy = "subquery",
    primaryjoin = function() return Node.id:eq(edges.c.r) end,
    secondaryjoin = function() return Node.id:eq(edges.c.l) end }),
})

local engine = H.engine { metadata = Base.metadata }
teardown(function() Base.metadata:drop_all(engine) end)
Base.metadata:drop_all(engine)
Base.metadata:create_all(engine)

describe("joined-table inheritance", function()
  it("writes each class's table, loads rows as their class, and keeps attributes and methods", function()
    local s = orm.Session(engine)
    local boss = Manager { name = "mo", budget = 100 }
    local ed = Engineer { name = "ed", language = "c" }
    local eve = Engineer { name = "eve", language = "lua" }
    boss.reports:append(ed)
    boss.reports:append(eve)
    s:add_all { boss, Staff { name = "sam" } }
    assert.are.equal("engineer", ed.kind) -- the discriminator, set at creation
    s:commit()
    local conn = engine:connect()
    assert.are.equal(2, conn:scalar(athanor.select(athanor.func.count()):select_from(Engineer.__table__)))
    assert.are.equal(4, conn:scalar(athanor.select(athanor.func.count()):select_from(Staff.__table__)))
    conn:close()
    s:close()

    s = orm.Session(engine)
    local all = s:scalars(select(Staff):order_by(Staff.name)):all()
    assert.are.equal(4, #all)
    assert.are.equal(Engineer, orm.class_of(all[1])) -- ed
    assert.are.equal("c", all[1].language)           -- its own table's column, loaded on access
    assert.are.equal(Manager, orm.class_of(all[3]))   -- mo
    assert.are.equal(Staff, orm.class_of(all[4]))     -- sam
    assert.are.equal("hi, ed", all[1]:greeting())     -- the parent's method
    local luas = s:scalars(select(Engineer):where(Engineer.language:eq("lua"))):all()
    assert.are.equal(1, #luas)
    assert.are.equal("eve", luas[1].name)
    assert.are.equal("mo", luas[1].manager.name)
    assert.are.equal(2, #luas[1].manager.reports)
    luas[1].language = "lua5.4"
    s:commit()
    s:close()

    s = orm.Session(engine)
    local mgr = s:scalars(select(Manager):options(orm.subqueryload(Manager.reports))):one()
    assert.are.same({ "c", "lua5.4" }, { mgr.reports[1].language, mgr.reports[2].language })
    s:delete(mgr.reports[1])
    s:commit()
    s:close()
    s = orm.Session(engine)
    mgr = s:scalars(select(Manager):options(orm.joinedload(Manager.reports))):one()
    assert.are.equal(1, #mgr.reports)
    assert.are.equal("lua5.4", mgr.reports[1].language)
    s:close()
    local conn2 = engine:connect()
    assert.are.equal(1, conn2:scalar(athanor.select(athanor.func.count()):select_from(Engineer.__table__)))
    assert.are.equal(3, conn2:scalar(athanor.select(athanor.func.count()):select_from(Staff.__table__)))
    conn2:close()
  end)

  it("refuses what it cannot map", function()
    local B = orm.registry()
    local A = B:map("A", { __tablename = p .. "a", id = orm.Column(T.Integer, { primary_key = true }) })
    assert.matches("declare its columns on A", H.message_of(function()
      B:map("S", { __inherits = A, x = orm.Column(T.Integer) })
    end))
    assert.matches("__inherits must be a class mapped by this registry", H.message_of(function()
      B:map("X", { __tablename = p .. "x", __inherits = Staff })
    end))
  end)
end)

describe("a self-referential many-to-many", function()
  it("writes each edge once and loads both directions, by subquery when configured", function()
    local s = orm.Session(engine)
    local n1, n2, n3 = Node { label = "n1" }, Node { label = "n2" }, Node { label = "n3" }
    n1.next:append(n2)
    n1.next:append(n3)
    n2.next:append(n3)
    assert.are.equal(2, #n3.prev) -- back_populates, in memory
    s:add(n1)
    s:commit()
    s:close()
    local conn = engine:connect()
    assert.are.equal(3, conn:scalar(athanor.select(athanor.func.count()):select_from(edges)))
    conn:close()

    s = orm.Session(engine)
    local nodes = s:scalars(select(Node):order_by(Node.label)):all() -- prev: lazy="subquery"
    assert.are.same({ "n2", "n3" }, { nodes[1].next[1].label, nodes[1].next[2].label })
    assert.are.equal(0, #nodes[1].prev)
    local prev = { nodes[3].prev[1].label, nodes[3].prev[2].label }
    table.sort(prev)
    assert.are.same({ "n1", "n2" }, prev)
    local with_n3 = s:scalars(select(Node):where(Node.next:any(Node.label:eq("n3"))):order_by(Node.label)):all()
    assert.are.equal(2, #with_n3)
    s:close()
  end)
end)
