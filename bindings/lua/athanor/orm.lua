-- athanor/orm.lua — SQLAlchemy's ORM for Lua over athanor's C ORM (athanor/orm.h, docs/orm.md):
-- declarative classes on a registry, objects as proxies, sessions, ORM statements, loader options.
--
--   local orm = athanor.orm
--   local Base = orm.registry()
--   local User = Base:map("User", { __tablename = "users",
--     id = orm.Column(T.Integer, { primary_key = true }), name = orm.Column(T.String(30)),
--     addresses = orm.relationship("Address", { back_populates = "user", cascade = "all, delete-orphan" }) })
--   function User:greet() return "hi " .. self.name end          -- methods work on instances
--   local engine = athanor.create_engine(url, { metadata = Base.metadata })
--   Base.metadata:create_all(engine)
--   local session = orm.Session(engine)
--   session:add(User { name = "ed" }); session:commit()
--   local ed = session:scalars(orm.select(User):where(User.name:eq("ed"))):one()
--
-- Objects. An instance is a Lua table (its proxy) holding the C object (an owned ath_obj userdata,
-- released by the garbage collector) and its id. Proxies are cached by object id in one weak-valued
-- table, so the same row in the same session is the same Lua object across queries while anything
-- holds it (identity); once Lua drops it, the C object's reference goes too, and a clean object leaves
-- the session's identity map (SQLAlchemy's weak identity map). Attribute reads and writes go to C
-- each time (values follow expiry and refresh), by the attribute's index. Fields that are not mapped
-- attributes are stored on the proxy itself (lost if the proxy is collected and the row loaded again).
--
-- Relationships. A many-to-one reads as the related object (or nil) and is set by assignment. A
-- collection reads as a snapshot: a plain Lua sequence of the related objects (so #, ipairs and
-- indexing work on Lua 5.4 and LuaJIT alike), with methods :append(obj), :remove(obj) and
-- :extend(list) that change the relationship itself (ath_obj_link / ath_obj_unlink) and the
-- snapshot along; table.insert on a snapshot changes only the snapshot. Assigning a sequence
-- (`user.addresses = {a, b}`) replaces the collection.
--
-- Class attributes (User.name, User.addresses) are expressions of the Core DSL (athanor/sql.lua):
-- ["attr", cls, name] and ["rel", cls, name] on the wire; orm.select(User) selects ["entity", cls].
--
-- Mirrors SQLAlchemy's orm/decl_api.py (registry, mapped classes), orm/session.py (Session),
-- orm/strategy_options.py (loader options) and the ORM side of sql/selectable.py / dml.py. Not here:
-- mapping, identity map, unit of work and loading, which are the C ORM's (orm/, athanor/orm.h); this
-- layer keeps no state of its own besides the proxy cache. Once a result's references are proxies
-- the C session's hold on them is released (ath_session_release_results), so a clean object dropped
-- by Lua leaves the identity map when the collector frees its proxy.
local raw = require "athanor_raw"
local errors = require "athanor.errors"
local values = require "athanor.values"
local sql = require "athanor.sql"
local schema = require "athanor.schema"

local M = {}
local null = values.null
local unpack = table.unpack or unpack
local function argerr(msg) errors.raise("ArgumentError", msg) end
local function invalid(msg) errors.raise("InvalidRequestError", msg) end
-- Counts from C (size_t, int64_t) arrive as Lua numbers; integers on Lua 5.4.
local function int(n) return math.tointeger and math.tointeger(n) or n end

-- ath_session_execute() flags (orm.h).
local ROWS_SCALARS, ROWS_ONE, ROWS_ONE_OR_NONE, ROWS_FIRST = 1, 2, 4, 8
local STATUS = { [0] = "transient", "pending", "persistent", "deleted", "detached" }

---------------------------------------------------------------------------------------------------
-- Proxies

local cache = setmetatable({}, { __mode = "v" }) -- object id -> proxy (every session: ids are unique)
function M._cache() return cache end

-- The cache's hash part keeps its size after its proxies are collected (Lua shrinks a table only
-- when an insert makes it grow): after loading and dropping many objects, a garbage-collection
-- cycle replaces a mostly empty cache with a copy of its live entries. A sentinel object's
-- finalizer (__gc on a table in 5.4, a newproxy userdata on LuaJIT) runs once per cycle.
local inserted = 0 -- entries the cache has had since the last compaction (live then + made since)
local function compact()
  -- counting is O(cache), as the collector's own traversal of it in that cycle
  if inserted < 4096 then return end
  local live = 0
  for _ in pairs(cache) do live = live + 1 end
  if live * 4 < inserted then
    local fresh = setmetatable({}, { __mode = "v" })
    for id, p in pairs(cache) do fresh[id] = p end
    cache = fresh
  end
  inserted = live
end
local function sentinel()
  local s
  if newproxy then -- LuaJIT / 5.1: only userdata have finalizers
    s = newproxy(true)
    getmetatable(s).__gc = function() if pcall(compact) then sentinel() end end
  else
    s = setmetatable({}, { __gc = function() if pcall(compact) then sentinel() end end })
  end
end
sentinel()

-- The class behind a proxy, or nil for any other value.
local function class_of(v)
  if type(v) ~= "table" then return nil end
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__ath_cls") or nil
end

-- The ath_obj handle of a proxy (argument `what` of a method, for the message).
local function obj_h(v, what)
  if not class_of(v) then argerr((what or "argument") .. " must be a mapped object, not " .. (type(v) == "table" and "a plain table" or type(v))) end
  return rawget(v, "__ath_h")
end

-- The proxy of a new ath_obj reference `h` (id and class or class name when known); an existing
-- proxy wins and the redundant reference is released now rather than by the collector.
local function wrap(h, reg, id, cls, name)
  if h == nil then return nil end
  id = id or int(raw.ath_obj_id(h))
  local p = cache[id]
  if p ~= nil then
    raw.close(h)
    return p
  end
  if not cls then
    name = name or raw.ath_obj_class(h)
    cls = reg.classes[name]
    if not cls then invalid("object of class '" .. tostring(name) .. "' is not mapped by this registry") end
  end
  p = setmetatable({ __ath_h = h, __ath_id = id }, cls.__mt)
  cache[id] = p
  inserted = inserted + 1
  return p
end
M._wrap = wrap

-- Collections: snapshot sequences with methods; owner and relationship in a weak side table.
local owners = setmetatable({}, { __mode = "k" })
local Collection = { __name = "athanor.orm.Collection" }
Collection.__index = Collection
local function coll_owner(c)
  local o = owners[c]
  if not o then argerr("not a relationship collection") end
  return o
end
--- coll:append(obj): add obj to the relationship (and to this snapshot); a transient obj joins the session.
function Collection:append(obj)
  local o = coll_owner(self)
  raw.ath_obj_link(obj_h(o.obj, "owner"), o.rel, obj_h(obj, "append(obj)"))
  for i = 1, #self do if rawequal(self[i], obj) then return self end end
  rawset(self, #self + 1, obj)
  return self
end
--- coll:remove(obj): take obj out of the relationship (and of this snapshot).
function Collection:remove(obj)
  local o = coll_owner(self)
  raw.ath_obj_unlink(obj_h(o.obj, "owner"), o.rel, obj_h(obj, "remove(obj)"))
  for i = 1, #self do
    if rawequal(self[i], obj) then table.remove(self, i); break end
  end
  return self
end
function Collection:extend(list)
  for _, obj in ipairs(list) do self:append(obj) end
  return self
end

-- A relationship's value: the object (many-to-one) or a collection snapshot.
local function get_rel(self, h, a, cls)
  local reg = cls.__registry
  local found
  local function resolve(id) -- a related object without a proxy yet: among the relationship's items
    if not found then
      found = {}
      local _, n = raw.ath_obj_related_count(h, a.name)
      for i = 0, n - 1 do
        local _, rh = raw.ath_obj_related(h, a.name, i)
        found[raw.ath_obj_id(rh)] = rh
      end
    end
    local rh = found[id]
    if rh == nil then invalid("related object " .. tostring(id) .. " of " .. cls.__name .. "." .. a.name .. " not found") end
    found[id] = nil
    return wrap(rh, reg, id)
  end
  local v = raw.orm_get(h, a.idx, cache, resolve)
  if type(v) == "table" and getmetatable(v) == nil then
    setmetatable(v, Collection)
    owners[v] = { obj = self, rel = a.name }
  end
  return v
end

local function set_rel(self, h, a, v)
  if v == nil or v == null then
    -- many-to-one cleared; for a collection, emptied
    local cur = get_rel(self, h, a, class_of(self))
    if type(cur) == "table" and getmetatable(cur) == Collection then
      for i = #cur, 1, -1 do raw.ath_obj_unlink(h, a.name, rawget(cur[i], "__ath_h")) end
    else
      raw.ath_obj_link(h, a.name, nil)
    end
  elseif class_of(v) then
    raw.ath_obj_link(h, a.name, rawget(v, "__ath_h"))
  elseif type(v) == "table" and (getmetatable(v) == nil or getmetatable(v) == Collection) then
    local keep = {}
    for i, x in ipairs(v) do keep[obj_h(x, a.name .. "[" .. i .. "]")] = true end
    local cur = get_rel(self, h, a, class_of(self))
    if type(cur) ~= "table" or getmetatable(cur) ~= Collection then
      argerr(a.name .. " is a many-to-one relationship: assign one object or nil")
    end
    for i = #cur, 1, -1 do
      local ch = rawget(cur[i], "__ath_h")
      if not keep[ch] then raw.ath_obj_unlink(h, a.name, ch) end
    end
    for _, x in ipairs(v) do raw.ath_obj_link(h, a.name, rawget(x, "__ath_h")) end
  else
    argerr(a.name .. " takes a mapped object, a sequence of them or nil")
  end
end

-- The metatable of a class's instances.
local orm_value, orm_set = raw.orm_value, raw.orm_set
local function instance_mt(cls)
  local attrs = cls.__attrs
  local columns = cls.__columns -- column attributes first: one lookup on the hot path
  local mt = { __ath_ext = 1, __ath_cls = cls, __name = cls.__name }
  mt.__index = function(self, k)
    local i = columns[k]
    if i then return orm_value(rawget(self, "__ath_h"), i) end
    local a = attrs[k]
    if a == nil then return cls[k] end
    return get_rel(self, rawget(self, "__ath_h"), a, cls)
  end
  mt.__newindex = function(self, k, v)
    local i = columns[k]
    if i then orm_set(rawget(self, "__ath_h"), i, v); return end
    local a = attrs[k]
    if a == nil then rawset(self, k, v); return end
    set_rel(self, rawget(self, "__ath_h"), a, v)
  end
  mt.__tostring = function(self)
    local h = rawget(self, "__ath_h")
    local ok, st = pcall(raw.ath_obj_status_of, h)
    local parts = {}
    if ok and st ~= 0 and st ~= 1 and cls.__pk then
      for i, name in ipairs(cls.__pk) do
        local ok2, _, v = pcall(raw.ath_obj_get, h, name)
        parts[i] = ok2 and tostring(v) or "?"
      end
    end
    return ("<%s%s %s>"):format(cls.__name, #parts > 0 and (" " .. table.concat(parts, ",")) or "",
      ok and STATUS[st] or "freed")
  end
  return mt
end

---------------------------------------------------------------------------------------------------
-- Class attributes as expressions

local Form = getmetatable(sql.null())
local counter = 0

-- Column attribute: a Form node ["attr", cls, name] (every Core operator), plus its class and name.
local function column_attr(clsname, name)
  return setmetatable({ form = { "attr", clsname, name }, _orm_cls = clsname, _orm_attr = name }, Form)
end

local RelAttr = sql.class("ormrel")
sql.compilers.ormrel = function(n) return { "rel", n._orm_cls, n._orm_attr } end
local function rel_attr(clsname, name) return setmetatable({ _orm_cls = clsname, _orm_attr = name }, RelAttr) end
local function crit(c) if c == nil then return nil end return sql.coerce(c) end
--- User.addresses:any([crit]): EXISTS a related row (matching crit).
function RelAttr:any(c) return sql.form { "any", self, crit(c) } end
--- Address.user:has([crit]): EXISTS the related row (matching crit).
function RelAttr:has(c) return sql.form { "has", self, crit(c) } end
--- User.addresses:contains(obj): the collection holds obj.
function RelAttr:contains(obj)
  obj_h(obj, "contains(obj)")
  return sql.form { "contains", self, sql.bind(obj) }
end
local function rel_compare(op)
  return function(self, obj)
    if obj == nil or obj == null then return sql.form { op == "=" and "is" or "is_not", self, sql.form { "null" } } end
    obj_h(obj, "comparison operand")
    return sql.form { op, self, sql.bind(obj) }
  end
end
RelAttr.eq, RelAttr.ne = rel_compare("="), rel_compare("!=")
function RelAttr:is_(o) return rel_compare("=")(self, o) end
function RelAttr:is_not(o) return rel_compare("!=")(self, o) end

-- Entities: ["entity", cls] as a column (the object) or FROM item (its table).
local Entity = sql.class("entity", sql.FromClause)
for _, k in ipairs { "join", "outerjoin", "select" } do Entity[k] = sql.FromClause[k] end
sql.compilers.entity = function(n) return { "entity", n.cls.__name } end
function Entity:_exposed() return self.name end

---------------------------------------------------------------------------------------------------
-- Declarative mapping

local ColumnDesc = { __name = "athanor.orm.Column" }
ColumnDesc.__index = ColumnDesc
--- orm.Column([column_name,] type, [ForeignKey(...),] [{primary_key =, nullable =, deferred =, ...}]):
--- a column attribute (SQLAlchemy's mapped_column); the column is named after the attribute unless
--- column_name is given. Options are schema Column's, plus deferred = true.
function M.Column(...)
  counter = counter + 1
  local args = { ... }
  local n = select("#", ...)
  local colname
  if type(args[1]) == "string" then colname = table.remove(args, 1); n = n - 1 end
  local deferred = false
  for i = 1, n do
    local a = args[i]
    if type(a) == "table" and getmetatable(a) == nil and a.deferred ~= nil then
      local o = {}
      for k, v in pairs(a) do if k ~= "deferred" then o[k] = v end end
      deferred = a.deferred and true or false
      args[i] = o
    end
  end
  return setmetatable({ colname = colname, args = args, n = n, order = counter, deferred = deferred }, ColumnDesc)
end
M.mapped_column = M.Column

local RelDesc = { __name = "athanor.orm.relationship" }
RelDesc.__index = RelDesc
--- orm.relationship("Target", {back_populates =, cascade = "all, delete-orphan", lazy =, order_by =,
--- secondary =, uselist =, foreign_keys =, remote_side =, post_update =, passive_deletes =,
--- primaryjoin =, secondaryjoin =}). A join condition is an expression, or a function returning
--- one (called when the registry is configured, so it may name classes mapped later).
function M.relationship(target, opts)
  if type(target) ~= "string" and not (type(target) == "table" and rawget(target, "__mt")) then
    argerr("relationship() needs the target class or its name")
  end
  if opts ~= nil and (type(opts) ~= "table" or getmetatable(opts) ~= nil) then argerr("relationship() options must be a table") end
  counter = counter + 1
  return setmetatable({ target = type(target) == "string" and target or target.__name, opts = opts or {}, order = counter }, RelDesc)
end

local Registry = { __name = "athanor.orm.registry" }
Registry.__index = Registry
local by_metadata = setmetatable({}, { __mode = "k" })
local last_registry

--- orm.registry([{metadata = MetaData}]): the registry of mapped classes (declarative base).
function M.registry(opts)
  local md = opts and opts.metadata or schema.MetaData()
  local reg = setmetatable({ metadata = md, classes = {}, order = {} }, Registry)
  by_metadata[md] = reg
  last_registry = reg
  return reg
end
M.declarative_base = M.registry

local ColumnMT = getmetatable(schema.Column("x"))
local function col_ref(c, default_table)
  if type(c) == "string" then
    local t, n = c:match("^([^.]+)%.([^.]+)$")
    if t then return { "col", t, n } end
    return { "col", default_table, c }
  end
  if getmetatable(c) == ColumnMT and c.table then return { "col", c.table.name, c.name } end
  if type(c) == "table" and c._orm_cls then return { "attr", c._orm_cls, c._orm_attr } end
  argerr("expected a column ('table.column' or a Column)")
end
local function list_of(v)
  if type(v) == "table" and getmetatable(v) == nil then return v end
  return { v }
end

local CLASS_KEYS = { __tablename = true, __table_args = true, __version_id = true, __eager_defaults = true,
  __inherits = true, __polymorphic_on = true, __polymorphic_identity = true }

--- Base:map("User", {__tablename = "users", attr = orm.Column(...), rel = orm.relationship(...),
--- method = function(self) ... end, __table_args = {...}, __version_id = "version",
--- __eager_defaults = true}) -> the class. User{...} / User.new{...} make instances.
--- Inheritance: a base names its discriminator `__polymorphic_on = "type"` (an attribute) and each
--- class its `__polymorphic_identity`; a subclass has `__inherits = Base`, and either its own
--- `__tablename` whose primary key refers to the parent's (joined-table) or none (single-table;
--- its columns are then declared on the base). A subclass has its parent's attributes and methods.
function Registry:map(name, def)
  if type(name) ~= "string" then argerr("map() needs a class name") end
  if type(def) ~= "table" or getmetatable(def) ~= nil then argerr("map('" .. name .. "') needs a definition table") end
  if self.classes[name] then argerr("class '" .. name .. "' is already mapped in this registry") end
  if self._h then invalid("the registry is configured; map every class before the first session or instance") end
  local parent = def.__inherits
  if parent ~= nil and not (type(parent) == "table" and rawget(parent, "__registry") == self) then
    argerr("map('" .. name .. "'): __inherits must be a class mapped by this registry")
  end
  local tname = def.__tablename
  if type(tname) ~= "string" and not (parent and tname == nil) then argerr("map('" .. name .. "'): __tablename is required") end
  local cls = { __name = name, __registry = self, __attrs = {}, __props = values.map {}, __rels = values.map {},
    __tablename = tname, __parent = parent, __identity = def.__polymorphic_identity, __columns = {} }
  if parent then -- the parent's attributes (records of their own: indexes differ per class) and methods
    for k, a in pairs(parent.__attrs) do
      cls.__attrs[k] = { name = a.name, column = a.column, rel = a.rel }
      cls[k] = a.rel and rel_attr(name, k) or column_attr(name, k)
    end
    for k, v in pairs(parent) do
      if type(v) == "function" and k ~= "new" and cls[k] == nil then cls[k] = v end
    end
  end
  local cols, rels = {}, {}
  for k, v in pairs(def) do
    local mt = getmetatable(v)
    if mt == ColumnDesc then
      cols[#cols + 1] = { key = k, desc = v }
    elseif mt == ColumnMT then
      cols[#cols + 1] = { key = k, col = v }
    elseif mt == RelDesc then
      rels[#rels + 1] = { key = k, desc = v }
    elseif not CLASS_KEYS[k] then
      cls[k] = v -- methods and class-level values
    end
  end
  table.sort(cols, function(a, b)
    local oa, ob = a.desc and a.desc.order or math.huge, b.desc and b.desc.order or math.huge
    if oa ~= ob then return oa < ob end
    return a.key < b.key
  end)
  table.sort(rels, function(a, b) return a.desc.order < b.desc.order end)
  if parent and not tname and #cols > 0 then
    argerr("map('" .. name .. "'): a single-table subclass has no table of its own; declare its columns on " .. parent.__name)
  end
  local targs = {}
  for _, c in ipairs(cols) do
    local col = c.col
    if not col then
      local d = c.desc
      col = schema.Column(d.colname or c.key, unpack(d.args, 1, d.n))
      if d.deferred then cls.__props[c.key] = values.map { deferred = true } end
    end
    if col.name ~= c.key then
      local p = cls.__props[c.key] or values.map {}
      p.column = col.name
      cls.__props[c.key] = p
    end
    targs[#targs + 1] = col
    if not (parent and cls.__attrs[c.key]) then -- a joined-table subclass's key column is the parent's key attribute
      cls.__attrs[c.key] = { name = c.key, column = col.name }
      cls[c.key] = column_attr(name, c.key)
    end
  end
  for _, a in ipairs(list_of(def.__table_args or {})) do targs[#targs + 1] = a end
  if tname then
    cls.__table__ = schema.Table(tname, self.metadata, unpack(targs))
  else
    cls.__table__ = parent.__table__
  end
  if parent then
    cls.__pk = parent.__pk
  else
    cls.__pk = {}
    for _, col in ipairs(cls.__table__.primary_key) do
      for k, a in pairs(cls.__attrs) do if a.column == col.name then cls.__pk[#cls.__pk + 1] = k end end
    end
  end
  local on = def.__polymorphic_on
  if on ~= nil then
    if parent then argerr("map('" .. name .. "'): __polymorphic_on belongs to the base class " .. parent.__name) end
    local a = cls.__attrs[on]
    if not a or a.rel then argerr("map('" .. name .. "'): __polymorphic_on names '" .. tostring(on) .. "', which is not a column attribute") end
    cls.__polymorphic_on = a.column
  end
  for _, r in ipairs(rels) do
    local o = r.desc.opts
    local s = values.map { target = r.desc.target }
    if o.back_populates then s.back_populates = o.back_populates end
    if o.cascade then
      local list = {}
      for part in tostring(o.cascade):gmatch("[^,%s]+") do list[#list + 1] = part end
      s.cascade = list
    end
    if o.lazy then s.lazy = o.lazy end
    if o.uselist ~= nil then s.uselist = o.uselist end
    if o.post_update ~= nil then s.post_update = o.post_update end
    if o.passive_deletes ~= nil then s.passive_deletes = o.passive_deletes end
    if o.secondary then s.secondary = type(o.secondary) == "string" and o.secondary or o.secondary.name end
    for _, k in ipairs { "primaryjoin", "secondaryjoin" } do
      if o[k] ~= nil then s[k] = o[k] end -- made wire forms by Registry:spec()
    end
    if o.order_by then
      local ob = {}
      for i, e in ipairs(list_of(o.order_by)) do
        if type(e) == "string" then
          local desc = e:match("^%-(.+)$")
          ob[i] = desc and { "desc", { "attr", r.desc.target, desc } } or { "attr", r.desc.target, e }
        else
          ob[i] = sql.inline(e)
        end
      end
      s.order_by = ob
    end
    if o.foreign_keys then
      local l = {}
      for i, c in ipairs(list_of(o.foreign_keys)) do l[i] = col_ref(c, tname) end
      s.foreign_keys = l
    end
    if o.remote_side then
      local l = {}
      for i, c in ipairs(list_of(o.remote_side)) do l[i] = col_ref(c, tname) end
      s.remote_side = l
    end
    cls.__rels[r.key] = s
    cls.__attrs[r.key] = { name = r.key, rel = true }
    cls[r.key] = rel_attr(name, r.key)
  end
  cls.__version_id, cls.__eager_defaults = def.__version_id, def.__eager_defaults
  cls.__entity = setmetatable({ cls = cls, name = cls.__table__.name, _base_name = cls.__table__.name,
    columns = cls.__table__.columns, c = cls.__table__.c }, Entity)
  cls.__mt = instance_mt(cls)
  local attrs = cls.__attrs
  cls.new = function(init)
    if init ~= nil and (type(init) ~= "table" or getmetatable(init) ~= nil) then
      argerr(name .. "{...} takes a table of attribute values")
    end
    local reg = self:configure()
    local h, id = raw.orm_create(reg._h, name)
    local obj = wrap(h, reg, id, cls)
    if init then
      -- column attributes set in one call; relationships (and unknown names) here
      local rest = raw.orm_init(h, init, cls.__columns)
      if rest then
        for _, k in ipairs(rest) do
          if not attrs[k] then argerr("'" .. tostring(k) .. "' is an invalid keyword argument for " .. name) end
          obj[k] = init[k]
        end
      end
    end
    return obj
  end
  setmetatable(cls, {
    __call = function(_, init) return cls.new(init) end,
    __tostring = function() return "<class " .. name .. ">" end,
    __name = "athanor.orm.class",
  })
  self.classes[name] = cls
  self.order[#self.order + 1] = cls
  return cls
end

--- The mapping spec (docs/orm.md "Mapping spec") as a Lua table.
function Registry:spec()
  local classes = {}
  for i, cls in ipairs(self.order) do
    local rels = values.map {}
    for k, r in pairs(cls.__rels) do
      local s = values.map {}
      for rk, rv in pairs(r) do
        if rk == "primaryjoin" or rk == "secondaryjoin" then
          if type(rv) == "function" then rv = rv() end
          rv = sql.inline(rv)
        end
        s[rk] = rv
      end
      rels[k] = s
    end
    local c = values.map { name = cls.__name, table = cls.__tablename or values.null, properties = cls.__props,
      relationships = rels }
    if cls.__version_id then c.version_id = cls.__version_id end
    if cls.__eager_defaults ~= nil then c.eager_defaults = cls.__eager_defaults end
    if cls.__parent then c.inherits = cls.__parent.__name end
    if cls.__polymorphic_on then c.polymorphic_on = cls.__polymorphic_on end
    if cls.__identity ~= nil then c.polymorphic_identity = cls.__identity end
    classes[i] = c
  end
  return values.map { k = "registry", metadata = self.metadata:spec(), classes = classes }
end

--- Base:configure(): build the C registry (validates every class; SQLAlchemy's configure_mappers).
--- Done by the first session or instance when not called.
function Registry:configure()
  if self._h then return self end
  local _, h = raw.ath_registry_create(raw.pack(self:spec()))
  for _, cls in ipairs(self.order) do
    local ci = raw.ath_registry_class(h, cls.__name)
    for _, a in pairs(cls.__attrs) do -- __columns: column attribute name -> index (proxies, orm_init)
      a.idx = raw.ath_registry_attr(h, ci, a.name)
      if not a.rel then cls.__columns[a.name] = a.idx end
    end
  end
  self._h = h
  return self
end

---------------------------------------------------------------------------------------------------
-- Statements

local function entity_of(v)
  if type(v) == "table" and rawget(v, "__entity") and rawget(v, "__mt") then return v.__entity end
  return v
end

local OrmSelect = {}
for k, v in pairs(sql.Select) do OrmSelect[k] = v end
OrmSelect.__index = OrmSelect
OrmSelect.__name = "athanor.orm.Select"
setmetatable(OrmSelect, { __index = sql.Select })

--- orm.select(User), orm.select(User, Address.email), orm.select(User.name): an ORM select.
function M.select(...)
  local args = {}
  local n = select("#", ...)
  for i = 1, n do args[i] = entity_of((select(i, ...))) end
  local s = sql.select(unpack(args, 1, n))
  return setmetatable(s, OrmSelect)
end

local OrmJoin = sql.class("ormjoin", sql.FromClause)
for _, k in ipairs { "join", "outerjoin", "select" } do OrmJoin[k] = sql.FromClause[k] end
function OrmJoin:_exposed() return nil end
sql.compilers.ormjoin = function(n, ctx)
  local t = { "join", sql.compile(n._left, ctx), sql.compile(n._right, ctx), n.on and sql.compile(n.on, ctx) or null }
  if n.how ~= "inner" then t[5] = n.how end
  return t
end

local function is_rel(v) return getmetatable(v) == RelAttr end

--- s:join(User.addresses) along a relationship; s:join(Address [, on]) to an entity (ON from the
--- foreign keys when not given); {isouter = true} / {full = true} as Core's.
function OrmSelect:join(target, on, opts)
  if type(on) == "table" and not sql.is_node(on) and getmetatable(on) == nil then on, opts = nil, on end
  opts = opts or {}
  local how = opts.full and "full" or (opts.isouter and "left" or "inner")
  local from = {}
  for i, f in ipairs(self._from) do from[i] = f end
  local left = table.remove(from)
  if not left then
    for _, c in ipairs(self._columns) do
      if getmetatable(c) == Entity then left = c; break end
      if c.table then left = c.table; break end
      if c._orm_cls then
        local reg = last_registry
        for _, r in pairs(by_metadata) do if r.classes[c._orm_cls] then reg = r end end
        left = reg and reg.classes[c._orm_cls] and reg.classes[c._orm_cls].__entity
        if left then break end
      end
    end
  end
  if not left then argerr("join(): nothing to join from; use select_from()") end
  target = entity_of(target)
  local j
  if is_rel(target) then
    j = setmetatable({ _left = left, _right = target, on = on and sql.coerce(on) or nil, how = how }, OrmJoin)
  elseif on ~= nil then
    j = setmetatable({ _left = left, _right = target, on = sql.coerce(on), how = how }, OrmJoin)
  else
    j = sql.FromClause.join(left, target, nil, { isouter = how == "left", full = how == "full" })
  end
  from[#from + 1] = j
  return sql.copy(self, { _from = from })
end
function OrmSelect:outerjoin(target, on, opts)
  if type(on) == "table" and not sql.is_node(on) and getmetatable(on) == nil then on, opts = nil, on end
  opts = opts or {}
  return self:join(target, on, { isouter = true, full = opts.full })
end
--- s:filter_by{name = "ed"}: attribute equality on the first entity (of the FROM list or the columns).
function OrmSelect:filter_by(kv)
  if type(kv) ~= "table" then argerr("filter_by() takes a {attribute = value} table") end
  local ent
  for _, f in ipairs(self._from) do if getmetatable(f) == Entity then ent = f; break end end
  if not ent then
    for _, c in ipairs(self._columns) do if getmetatable(c) == Entity then ent = c; break end end
  end
  if not ent then return sql.Select.filter_by(self, kv) end
  local names = {}
  for k in pairs(kv) do names[#names + 1] = k end
  table.sort(names)
  local s = self
  for _, k in ipairs(names) do
    local a = ent.cls.__attrs[k]
    if not a or a.rel then argerr("filter_by(): " .. ent.cls.__name .. " has no column attribute '" .. tostring(k) .. "'") end
    s = s:where(ent.cls[k]:eq(kv[k]))
  end
  return s
end
function OrmSelect:select_from(...)
  local l = {}
  for i = 1, select("#", ...) do l[i] = entity_of((select(i, ...))) end
  return sql.Select.select_from(self, unpack(l))
end

local function with_extra(stmt, k, v)
  local e = {}
  for kk, vv in pairs(stmt._extra or {}) do e[kk] = vv end
  e[k] = v
  return sql.copy(stmt, { _extra = e })
end

-- Loader options: chains of (strategy, relationship) or column options; wire forms of docs/orm.md.
local Loader = { __name = "athanor.orm.Loader" }
Loader.__index = Loader
local function rel_step(r, what)
  if not is_rel(r) then argerr(what .. "() needs a relationship attribute (User.addresses)") end
  return { r._orm_cls, r._orm_attr }
end
local function loader(strategy, parent, ...)
  local n = select("#", ...)
  if n == 0 then argerr(strategy .. "() needs a relationship attribute") end
  local path, forms = {}, {}
  if parent then
    for i, p in ipairs(parent.path) do path[i] = p end
    for i, f in ipairs(parent.forms) do forms[i] = f end
  end
  for i = 1, n do
    path[#path + 1] = rel_step((select(i, ...)), strategy)
  end
  local f = { strategy }
  for _, p in ipairs(path) do f[#f + 1] = p end
  forms[#forms + 1] = f
  return setmetatable({ path = path, forms = forms }, Loader)
end
for _, s in ipairs { "selectinload", "subqueryload", "joinedload", "lazyload", "noload" } do
  M[s] = function(...) return loader(s, nil, ...) end
  Loader[s] = function(self, ...) return loader(s, self, ...) end
end
local function col_attr_check(a, what)
  if type(a) ~= "table" or not a._orm_cls or is_rel(a) then argerr(what .. "() needs column attributes (User.name)") end
  return a
end
--- defer(User.bio), undefer(User.bio), load_only(User.name, User.email).
function M.defer(a)
  col_attr_check(a, "defer")
  return setmetatable({ forms = { { "defer", a._orm_cls, a._orm_attr } } }, Loader)
end
function M.undefer(a)
  col_attr_check(a, "undefer")
  return setmetatable({ forms = { { "undefer", a._orm_cls, a._orm_attr } } }, Loader)
end
function M.load_only(...)
  local names, clsname = {}, nil
  for i = 1, select("#", ...) do
    local a = col_attr_check((select(i, ...)), "load_only")
    clsname = clsname or a._orm_cls
    names[#names + 1] = a._orm_attr
  end
  if not clsname then argerr("load_only() needs column attributes") end
  return setmetatable({ forms = { { "load_only", clsname, names } } }, Loader)
end

--- s:options(selectinload(User.addresses), defer(User.bio), ...)
function OrmSelect:options(...)
  local list = {}
  for _, f in ipairs(self._extra and self._extra.options or {}) do list[#list + 1] = f end
  for i = 1, select("#", ...) do
    local o = select(i, ...)
    if getmetatable(o) ~= Loader then argerr("options() takes loader options (selectinload(...), defer(...), ...)") end
    for _, f in ipairs(o.forms) do list[#list + 1] = f end
  end
  return with_extra(self, "options", list)
end
--- s:execution_options{populate_existing = true}
function OrmSelect:execution_options(o)
  if type(o) ~= "table" then argerr("execution_options() takes a table") end
  local m = values.map {}
  for k, v in pairs((self._extra or {}).execution_options or {}) do m[k] = v end
  for k, v in pairs(o) do m[k] = v end
  return with_extra(self, "execution_options", m)
end

-- ORM DML: the Core statement classes on an entity, plus synchronize_session.
local function dml_class(base, name)
  local c = {}
  for k, v in pairs(base) do c[k] = v end
  c.__index = c
  c.__name = "athanor.orm." .. name
  setmetatable(c, { __index = base })
  --- stmt:execution_options{synchronize_session = "auto" | "fetch" | false}
  function c:execution_options(o)
    if type(o) ~= "table" then argerr("execution_options() takes a table") end
    local s = self
    if o.synchronize_session ~= nil then s = with_extra(s, "synchronize_session", o.synchronize_session) end
    return s
  end
  function c:synchronize_session(v) return with_extra(self, "synchronize_session", v) end
  return c
end
local OrmInsert, OrmUpdate, OrmDelete = dml_class(sql.Insert, "Insert"), dml_class(sql.Update, "Update"), dml_class(sql.Delete, "Delete")
local function entity_arg(cls, what)
  if type(cls) ~= "table" or not rawget(cls, "__entity") then argerr(what .. "() needs a mapped class") end
  return cls.__entity
end
--- orm.insert(User) (bulk: session:execute(insert(User), {{...}, ...})), orm.update(User), orm.delete(User).
function M.insert(cls) return setmetatable({ table = entity_arg(cls, "insert") }, OrmInsert) end
function M.update(cls) return setmetatable({ table = entity_arg(cls, "update") }, OrmUpdate) end
function M.delete(cls) return setmetatable({ table = entity_arg(cls, "delete") }, OrmDelete) end

-- Shape and params of a statement for ath_session_execute: ORM bulk INSERT / UPDATE take their rows
-- as a params array of attribute maps; everything else is Core's prepare.
local function prepare(stmt, params)
  local mt = getmetatable(stmt)
  if (mt == OrmInsert or mt == OrmUpdate) and not stmt._values and not stmt._from_select then
    if type(params) ~= "table" then argerr("a bulk " .. (mt == OrmInsert and "insert" or "update") .. " needs a list of {attribute = value} rows") end
    local rows = params
    if params[1] == nil and next(params) ~= nil then rows = { params } end
    local out = {}
    for i, r in ipairs(rows) do
      if type(r) ~= "table" then argerr("bulk row " .. i .. " is not a table") end
      out[i] = values.map(r)
    end
    local s = values.map { k = mt == OrmInsert and "insert" or "update", table = { "entity", stmt.table.cls.__name } }
    for k, v in pairs(stmt._extra or {}) do s[k] = v end
    return raw.pack(s), raw.pack(out)
  end
  if type(stmt) ~= "table" or not sql.is_node(stmt) then argerr("execute() needs a statement") end
  return sql.prepare(stmt, params)
end

---------------------------------------------------------------------------------------------------
-- Results

local Result = { __name = "athanor.orm.Result" }
Result.__index = Result
local ScalarResult = { __name = "athanor.orm.ScalarResult" }
ScalarResult.__index = ScalarResult

local function one_of(list, allow_none)
  if #list == 0 then
    if allow_none then return nil end
    errors.raise("NoResultFound", "No row was found when one was required")
  end
  if #list > 1 then errors.raise("MultipleResultsFound", "Multiple rows were found when one or none was required") end
  return list[1]
end
--- result:all() -> the rows (sequences: row[1] is an object for an entity column).
function Result:all() return self.rows end
function Result:first() return self.rows[1] end
function Result:one() return one_of(self.rows, false) end
function Result:one_or_none() return one_of(self.rows, true) end
function Result:scalar() local r = self.rows[1]; return r and r[1] end
--- result:scalars() -> the first column of each row (ScalarResult).
function Result:scalars()
  local out = {}
  for i, r in ipairs(self.rows) do out[i] = r[1] end
  return setmetatable({ items = out }, ScalarResult)
end
function Result:__len() return #self.rows end
function ScalarResult:all() return self.items end
function ScalarResult:first() return self.items[1] end
function ScalarResult:one() return one_of(self.items, false) end
function ScalarResult:one_or_none() return one_of(self.items, true) end
function ScalarResult:__len() return #self.items end

---------------------------------------------------------------------------------------------------
-- Session

local Session = { __name = "athanor.orm.Session" }
Session.__index = Session
M.Session_class = Session

--- orm.Session(engine [, {registry = Base, autoflush = false, expire_on_commit = false}]).
--- The registry is the one whose metadata the engine was created with (else the last one made).
--- close() detaches everything and resets the session; it can be used again (SQLAlchemy 2.0).
function M.Session(engine, opts)
  if type(engine) ~= "table" or not engine._handle then argerr("Session() needs an Engine") end
  if opts ~= nil and type(opts) ~= "table" then argerr("Session() options must be a table") end
  opts = opts or {}
  local reg = opts.registry or by_metadata[engine.metadata] or last_registry
  if getmetatable(reg) ~= Registry then argerr("Session(): no registry (map classes on orm.registry() first)") end
  local o = nil -- nil: the C defaults, without a table per session
  if opts.autoflush ~= nil or opts.expire_on_commit ~= nil then
    o = { autoflush = opts.autoflush, expire_on_commit = opts.expire_on_commit }
  end
  -- _h (the C session) is made on first use; false until then keeps the table from growing
  return setmetatable({ engine = engine, registry = reg, _opts = o, _h = false }, Session)
end

-- The resolver of a result's object references (raw.orm_execute): the session's object, made once
-- per session that executes statements.
local function resolver(self)
  local r = rawget(self, "_resolve")
  if not r then
    local reg = self.registry
    r = function(id)
      local h, id2, name = raw.orm_object(self._h, id, cache)
      if id2 == nil then return h end -- its proxy
      return wrap(h, reg, id2, nil, name)
    end
    self._resolve = r
  end
  return r
end

local function sh(self)
  if getmetatable(self) ~= Session then argerr("expected a Session (use session:method(...))") end
  local h = rawget(self, "_h")
  if not h then
    self.registry:configure()
    local _
    _, h = raw.ath_session_create(self.engine:_handle(), self.registry._h, self._opts)
    self._h = h
  end
  return h
end

function Session:add(obj) raw.ath_session_add(sh(self), obj_h(obj, "add(obj)")) end
function Session:add_all(list)
  if type(list) ~= "table" or getmetatable(list) ~= nil and getmetatable(list) ~= Collection then argerr("add_all() takes a sequence of objects") end
  for i, obj in ipairs(list) do raw.ath_session_add(sh(self), obj_h(obj, "add_all()[" .. i .. "]")) end
end
function Session:delete(obj) raw.ath_session_delete(sh(self), obj_h(obj, "delete(obj)")) end
--- session:get(User, 5) / session:get(User, {k1, k2}): the object or nil.
function Session:get(cls, pk)
  local h = sh(self)
  if type(cls) ~= "table" or not rawget(cls, "__entity") then argerr("get() needs a mapped class") end
  if pk == nil then argerr("get() needs a primary key") end
  local p, id, name = raw.orm_get_obj(h, cls.__name, pk, cache)
  if id == nil then return p end -- its proxy, or nil
  return wrap(p, self.registry, id, nil, name)
end
function Session:flush() raw.ath_session_flush(sh(self)) end
function Session:commit() raw.ath_session_commit(sh(self)) end
function Session:rollback() raw.ath_session_rollback(sh(self)) end
function Session:close()
  if getmetatable(self) ~= Session then argerr("expected a Session") end
  local h = rawget(self, "_h")
  self._h = nil
  if h then raw.close(h) end
end
Session.__close = function(self) self:close() end -- local s <close> = orm.Session(engine) (Lua 5.4)
local function attr_list(attrs)
  if attrs == nil then return nil end
  if type(attrs) == "string" then return { attrs } end
  if type(attrs) ~= "table" then argerr("attribute names must be a sequence of strings") end
  return attrs
end
--- session:expire(obj [, {"name", ...}]), expire_all(), refresh(obj [, names]), expunge(obj), expunge_all()
function Session:expire(obj, attrs) raw.ath_session_expire(sh(self), obj_h(obj, "expire(obj)"), attr_list(attrs)) end
function Session:expire_all() raw.ath_session_expire_all(sh(self)) end
function Session:refresh(obj, attrs) raw.ath_session_refresh(sh(self), obj_h(obj, "refresh(obj)"), attr_list(attrs)) end
function Session:expunge(obj) raw.ath_session_expunge(sh(self), obj_h(obj, "expunge(obj)")) end
function Session:expunge_all() raw.ath_session_expunge_all(sh(self)) end
--- session:merge(obj [, {load = false}]) -> this session's object.
function Session:merge(obj, opts)
  local flags = (opts and opts.load == false) and 1 or 0
  local _, h = raw.ath_session_merge(sh(self), obj_h(obj, "merge(obj)"), flags)
  return wrap(h, self.registry)
end
--- Objects in the session (pending, persistent, deleted).
function Session:count() return int(raw.ath_session_count(sh(self))) end
--- Rows the latest DML statement changed.
function Session:rowcount() return int(raw.ath_session_rowcount(sh(self))) end
function Session:is_modified(obj)
  sh(self)
  return raw.ath_obj_is_modified(obj_h(obj, "is_modified(obj)")) == 1
end
function Session:contains(obj)
  sh(self)
  local st = raw.ath_obj_status_of(obj_h(obj, "contains(obj)"))
  return st == 1 or st == 2 or st == 3 -- in some session; ath_obj has no session accessor
end

-- Run fn(self) and end a transaction scope: ok -> commit(), error -> rollback() and re-raise.
local function scoped(self, fn, commit, rollback)
  local res = { pcall(fn, self) }
  if res[1] then
    commit()
    return unpack(res, 2, table.maxn and table.maxn(res) or #res)
  end
  pcall(rollback)
  error(res[2], 0)
end

local SessionTxn = { __name = "athanor.orm.SessionTransaction" }
SessionTxn.__index = SessionTxn
function SessionTxn:commit() if not self.done then self.done = true; self._commit() end end
function SessionTxn:rollback() if not self.done then self.done = true; self._rollback() end end

--- session:begin(function(session) ... end): commit when it returns, roll back when it raises.
--- Without a function: a transaction object with commit() / rollback().
function Session:begin(fn)
  local h = sh(self)
  local c, r = function() raw.ath_session_commit(h) end, function() raw.ath_session_rollback(h) end
  if fn == nil then return setmetatable({ _commit = c, _rollback = r }, SessionTxn) end
  if type(fn) ~= "function" then argerr("begin() takes a function or nothing") end
  return scoped(self, fn, c, r)
end
--- session:begin_nested([fn]): a SAVEPOINT; with a function, released when it returns, rolled back
--- to when it raises; without, a transaction object with commit() / rollback().
function Session:begin_nested(fn)
  local h = sh(self)
  if fn ~= nil and type(fn) ~= "function" then argerr("begin_nested() takes a function or nothing") end
  raw.ath_session_begin_nested(h)
  local c, r = function() raw.ath_session_commit_nested(h) end, function() raw.ath_session_rollback_nested(h) end
  if fn == nil then return setmetatable({ _commit = c, _rollback = r }, SessionTxn) end
  return scoped(self, fn, c, r)
end
--- session:no_autoflush(function(session) ... end): run without autoflush.
function Session:no_autoflush(fn)
  local h = sh(self)
  if type(fn) ~= "function" then argerr("no_autoflush() takes a function") end
  local prev = raw.ath_session_set_autoflush(h, 0)
  local res = { pcall(fn, self) }
  raw.ath_session_set_autoflush(h, prev)
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, table.maxn and table.maxn(res) or #res)
end

local function run(self, stmt, params, flags)
  local h = sh(self)
  local shape, packed = prepare(stmt, params)
  return raw.orm_execute(h, shape, packed, flags, cache, resolver(self))
end

-- The names of a select's columns, as SQLAlchemy's Row keys: the class name for an entity, the
-- attribute, column or label name otherwise. A metatable giving rows access by those names
-- (row.User, row.email), cached on the statement; nil when there are none.
local function row_metatable(stmt)
  if type(stmt) ~= "table" or type(rawget(stmt, "_columns")) ~= "table" then return nil end
  local mt = rawget(stmt, "_orm_row_mt")
  if mt ~= nil then return mt or nil end
  local pos = {}
  for i, c in ipairs(stmt._columns) do
    local name
    if getmetatable(c) == Entity then name = c.cls.__name
    elseif type(c) == "table" and c._orm_attr then name = c._orm_attr
    elseif type(c) == "table" and type(c.form) == "table" and c.form[1] == "label" then name = c.form[2]
    elseif type(c) == "table" and type(c.name) == "string" and c.table then name = c.name end
    if name and pos[name] == nil then pos[name] = i end
  end
  mt = next(pos) and { __index = function(row, k) local i = pos[k]; if i then return rawget(row, i) end end } or false
  rawset(stmt, "_orm_row_mt", mt)
  return mt or nil
end

--- session:execute(stmt [, params]) -> Result: rows are sequences (row[1]) that also answer to the
--- columns' names (row.User for an entity, row.email for an attribute or label); objects for entity
--- columns; rowcount for DML.
function Session:execute(stmt, params)
  local rows = run(self, stmt, params, 0)
  rows = type(rows) == "table" and rows or {}
  local mt = row_metatable(stmt)
  if mt then for _, r in ipairs(rows) do setmetatable(r, mt) end end
  return setmetatable({ rows = rows, rowcount = int(raw.ath_session_rowcount(self._h)) }, Result)
end
--- session:scalars(stmt [, params]) -> ScalarResult (:all(), :first(), :one(), :one_or_none()).
function Session:scalars(stmt, params)
  local items = run(self, stmt, params, ROWS_SCALARS)
  return setmetatable({ items = type(items) == "table" and items or {} }, ScalarResult)
end
local function single(self, stmt, params, flag)
  local v = run(self, stmt, params, ROWS_SCALARS + flag)
  if type(v) == "table" and getmetatable(v) == nil then v = v[1] end
  return v
end
--- session:scalar(stmt): the first row's first column (or nil); session:one(stmt), first(stmt),
--- one_or_none(stmt): the first column, with NoResultFound / MultipleResultsFound as SQLAlchemy.
function Session:scalar(stmt, params) return single(self, stmt, params, ROWS_FIRST) end
Session.first = Session.scalar
function Session:one(stmt, params) return single(self, stmt, params, ROWS_ONE) end
function Session:one_or_none(stmt, params) return single(self, stmt, params, ROWS_ONE_OR_NONE) end

---------------------------------------------------------------------------------------------------
-- Object inspection

--- orm.status(obj): "transient", "pending", "persistent", "deleted" or "detached".
function M.status(obj) return STATUS[raw.ath_obj_status_of(obj_h(obj, "status(obj)"))] end
--- orm.state(obj): every loaded column attribute as a table {name = value}.
function M.state(obj) local _, v = raw.ath_obj_state(obj_h(obj, "state(obj)")); return v end
--- orm.history(obj, "name"): {added =, unchanged =, deleted =} (relationships: objects).
function M.history(obj, attr)
  local h = obj_h(obj, "history(obj)")
  local cls = class_of(obj)
  local _, v = raw.ath_obj_history(h, attr)
  if cls.__attrs[attr] and cls.__attrs[attr].rel then
    for _, k in ipairs { "added", "unchanged", "deleted" } do
      for i, ref in ipairs(v[k] or {}) do
        if type(ref) == "table" and ref.ext == 1 then
          local id = 0
          for b = 1, 8 do id = id * 256 + ref.v:byte(b) end
          v[k][i] = cache[id] or ref
        end
      end
    end
  end
  return v
end
function M.is_modified(obj) return raw.ath_obj_is_modified(obj_h(obj, "is_modified(obj)")) == 1 end
--- orm.object_id(obj): the C object's id (the payload of its references).
function M.object_id(obj) obj_h(obj, "object_id(obj)"); return int(rawget(obj, "__ath_id")) end
--- orm.class_of(obj): its mapped class (nil for other values).
M.class_of = class_of

M.Registry_class = Registry
M.Result_class, M.ScalarResult_class, M.Collection_class = Result, ScalarResult, Collection
return M
