-- athanor/schema.lua — MetaData, Table, Column, constraints, indexes and types (SQLAlchemy's
-- sql/schema.py and sqltypes.py) as Lua objects that build the schema spec of docs/schema-spec.md;
-- create_all / drop_all, reflection (MetaData:reflect, Table autoload) and the Inspector
-- (athanor.inspect(engine)). A Table is a TableClause of athanor/sql.lua, so its columns are
-- expressions. The spec crosses once, to ath_metadata_create, when the MetaData is first used.
local raw = require "athanor_raw"
local errors = require "athanor.errors"
local sql = require "athanor.sql"
local values = require "athanor.values"

local M = {}
local function argerr(msg) errors.raise("ArgumentError", msg) end
local table_from_spec, engine_handle -- below

---------------------------------------------------------------------------------------------------
-- Types: types.Integer, types.String(40), types.Numeric(10, 2), types.DateTime{timezone = true},
-- types.Enum({"a", "b"}, {name = "mood"}), types.ARRAY(types.Integer), types.dialect("postgresql.JSONB")

local Type = { __name = "athanor.Type" }
Type.__index = Type
Type.__tostring = function(t)
  local parts = {}
  for i = 2, #t._wire do parts[#parts + 1] = type(t._wire[i]) == "table" and "..." or tostring(t._wire[i]) end
  return t._wire[1] .. (#parts > 0 and "(" .. table.concat(parts, ", ") .. ")" or "")
end

local function make_type(name)
  local base = setmetatable({ _wire = { name } }, Type)
  return setmetatable({ _wire = { name } }, {
    __index = Type,
    __tostring = Type.__tostring,
    __name = "athanor.Type",
    -- String(40), Numeric(10, 2), DateTime{timezone = true}
    __call = function(_, ...)
      local w = { name }
      for i = 1, select("#", ...) do
        local a = select(i, ...)
        if type(a) == "table" and not a._wire then
          a = values.map(a)
        elseif type(a) == "table" then
          a = a._wire
        end
        w[#w + 1] = a
      end
      return setmetatable({ _wire = w }, Type)
    end,
  }), base
end

local types = {}
for _, n in ipairs { "Integer", "BigInteger", "SmallInteger", "Boolean", "String", "Text", "Unicode", "UnicodeText",
  "Float", "Double", "Numeric", "Date", "DateTime", "Time", "Interval", "LargeBinary", "JSON", "Uuid", "UUID" } do
  types[n] = make_type(n)
end
--- Enum({values...} [, {name =, native =, create_constraint =}])
function types.Enum(vals, opts)
  if type(vals) ~= "table" then argerr("Enum() needs a list of values") end
  local w = { "Enum", vals }
  if opts then w[3] = values.map(opts) end
  return setmetatable({ _wire = w }, Type)
end
function types.ARRAY(item, dims)
  local w = { "ARRAY", sql.wire_type(item) }
  if dims then w[3] = dims end
  return setmetatable({ _wire = w }, Type)
end
--- A dialect type by its wire name: types.dialect("postgresql.JSONB"), types.dialect("mysql.TINYINT", 1).
function types.dialect(name, ...)
  return setmetatable({ _wire = { name, ... } }, Type)
end
--- A type object from its wire form (reflection).
function types.from_wire(w) return setmetatable({ _wire = w }, Type) end
M.types = types

---------------------------------------------------------------------------------------------------
-- Columns and constraints

local Column = {}
for k, v in pairs(sql.Column_class) do Column[k] = v end
Column.__index = Column
Column.__name = "athanor.Column"
setmetatable(Column, { __index = sql.Column_class })

local ForeignKey = { __name = "athanor.ForeignKey" }
ForeignKey.__index = ForeignKey
--- ForeignKey("users.id" [, {ondelete =, onupdate =, name =, deferrable =, initially =, use_alter =}])
function M.ForeignKey(ref, opts)
  if type(ref) ~= "string" then argerr("ForeignKey() needs 'table.column'") end
  local schema, tbl, col = ref:match("^(.+)%.([^.]+)%.([^.]+)$")
  if not schema then tbl, col = ref:match("^([^.]+)%.([^.]+)$") end
  if not tbl then argerr("ForeignKey(): '" .. ref .. "' is not 'table.column'") end
  return setmetatable({ schema = schema, table = tbl, column = col, opts = opts or {} }, ForeignKey)
end

local Constraint = { __name = "athanor.Constraint" }
Constraint.__index = Constraint
local function col_names(list)
  local out = {}
  for i, c in ipairs(list) do out[i] = type(c) == "string" and c or c.name end
  return out
end
local function constraint(k, cols, opts)
  return setmetatable({ k = k, columns = cols and col_names(cols), opts = opts or {} }, Constraint)
end
--- PrimaryKeyConstraint({cols} [, {name =}]), UniqueConstraint({cols} [, opts]), CheckConstraint(expr_or_sql [, {name =}])
function M.PrimaryKeyConstraint(cols, opts) return constraint("primary_key", cols, opts) end
function M.UniqueConstraint(cols, opts) return constraint("unique", cols, opts) end
function M.CheckConstraint(e, opts)
  local c = constraint("check", nil, opts)
  c.sql = e
  return c
end
--- ForeignKeyConstraint({cols}, {"t.c", ...} [, opts])
function M.ForeignKeyConstraint(cols, refs, opts)
  local c = constraint("foreign_key", cols, opts)
  c.refs = {}
  for i, r in ipairs(refs) do c.refs[i] = M.ForeignKey(r) end
  return c
end
local Index = { __name = "athanor.Index" }
Index.__index = Index
--- Index(name, col_or_expr... [, {unique = true, where = expr}])
function M.Index(name, ...)
  local n = select("#", ...)
  local opts = {}
  local items = { ... }
  local last = items[n]
  if type(last) == "table" and getmetatable(last) == nil then opts = last; items[n] = nil end
  return setmetatable({ name = name, items = items, opts = opts }, Index)
end

--- Column(name, type [, ForeignKey(...)] [, {primary_key =, nullable =, default =, server_default =,
--- onupdate =, unique =, index =, comment =, autoincrement =, key =}])
function M.Column(name, ...)
  if type(name) ~= "string" then argerr("Column() needs a name") end
  local col = setmetatable({ name = name, foreign_keys = {}, opts = {} }, Column)
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    local mt = getmetatable(a)
    if type(a) == "table" and a._wire then
      col.type = a
    elseif mt == ForeignKey then
      col.foreign_keys[#col.foreign_keys + 1] = a
    elseif type(a) == "table" and mt == nil then
      col.opts = a
    elseif a ~= nil then
      argerr("Column('" .. name .. "'): unexpected argument " .. tostring(a))
    end
  end
  col.type = col.type or types.String -- untyped: NullType in SQLAlchemy; String renders everywhere but MySQL
  col.primary_key = col.opts.primary_key or false
  return col
end

local function expr_spec(v)
  if v == nil then return nil end
  if sql.is_node(v) then return sql.inline(v) end
  return { "lit", v }
end

function Column:_spec()
  local o = self.opts
  local s = values.map { name = self.name, type = self.type._wire }
  if o.primary_key then s.primary_key = true end
  if o.nullable ~= nil then s.nullable = o.nullable end
  if o.autoincrement ~= nil then s.autoincrement = o.autoincrement end
  s.default = expr_spec(o.default)
  s.onupdate = expr_spec(o.onupdate)
  if o.server_default ~= nil then
    s.server_default = type(o.server_default) == "string" and { "lit", o.server_default } or expr_spec(o.server_default)
  end
  if o.unique then s.unique = true end
  if o.index then s.index = true end
  if o.comment then s.comment = o.comment end
  if o.identity then s.identity = values.map(o.identity) end
  if o.computed then
    s.computed = values.map { sql = expr_spec(o.computed.sql or o.computed[1]), persisted = o.computed.persisted }
  end
  return s
end

---------------------------------------------------------------------------------------------------
-- Table

local Table = {}
for k, v in pairs(sql.TableClause) do Table[k] = v end
Table.__index = Table
Table.__name = "athanor.Table"
setmetatable(Table, { __index = sql.TableClause })

--- Table(name, metadata, Column(...)..., constraints/indexes..., {schema =, comment =});
--- Table(name, metadata, {autoload_with = engine [, schema =]}) reflects it (from the whole schema's spec).
function M.Table(name, metadata, ...)
  if type(name) ~= "string" then argerr("Table() needs a name") end
  if getmetatable(metadata) ~= M.MetaData_class then argerr("Table('" .. name .. "'): the second argument must be a MetaData") end
  local n = select("#", ...)
  local last = n > 0 and select(n, ...) or nil
  if type(last) == "table" and getmetatable(last) == nil and last.autoload_with then
    local _, spec = raw.ath_reflect_spec(engine_handle(last.autoload_with), last.schema)
    for _, ts in ipairs(spec.tables or {}) do
      if ts.name == name then return table_from_spec(metadata, ts) end
    end
    errors.raise("NoSuchTableError", name)
  end
  local t = setmetatable({ name = name, _base_name = name, metadata = metadata, columns = {}, c = {},
    constraints = {}, indexes = {}, opts = {} }, Table)
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    local mt = getmetatable(a)
    if mt == Column then
      if t.c[a.name] then argerr("Table('" .. name .. "'): column '" .. a.name .. "' given twice") end
      a.table = t
      t.columns[#t.columns + 1] = a
      t.c[a.name] = a
    elseif mt == Constraint then
      t.constraints[#t.constraints + 1] = a
    elseif mt == Index then
      t.indexes[#t.indexes + 1] = a
    elseif type(a) == "table" and mt == nil then
      t.opts = a
    elseif a ~= nil then
      argerr("Table('" .. name .. "'): unexpected argument " .. tostring(a))
    end
  end
  t.schema = t.opts.schema
  t.primary_key = {}
  for _, col in ipairs(t.columns) do if col.primary_key then t.primary_key[#t.primary_key + 1] = col end end
  metadata:_add(t)
  return t
end

function Table:_spec()
  local s = values.map { name = self.name, columns = {}, constraints = {}, indexes = {} }
  if self.schema then s.schema = self.schema end
  if self.opts.comment then s.comment = self.opts.comment end
  for i, col in ipairs(self.columns) do s.columns[i] = col:_spec() end
  for _, col in ipairs(self.columns) do
    for _, fk in ipairs(col.foreign_keys) do
      local c = values.map { k = "foreign_key", columns = { col.name }, ref_table = fk.table, ref_columns = { fk.column } }
      if fk.schema then c.ref_schema = fk.schema end
      for _, k in ipairs { "name", "ondelete", "onupdate", "match", "deferrable", "initially", "use_alter" } do
        if fk.opts[k] ~= nil then c[k] = fk.opts[k] end
      end
      s.constraints[#s.constraints + 1] = c
    end
  end
  for _, c in ipairs(self.constraints) do
    local o = values.map { k = c.k }
    if c.columns then o.columns = c.columns end
    if c.k == "check" then o.sql = type(c.sql) == "string" and { "text", c.sql } or sql.inline(c.sql) end
    if c.k == "foreign_key" then
      o.ref_table = c.refs[1].table
      o.ref_schema = c.refs[1].schema
      o.ref_columns = {}
      for i, r in ipairs(c.refs) do o.ref_columns[i] = r.column end
    end
    for k, v in pairs(c.opts) do o[k] = v end
    s.constraints[#s.constraints + 1] = o
  end
  for _, ix in ipairs(self.indexes) do
    local o = values.map { name = ix.name, columns = {} }
    for i, it in ipairs(ix.items) do
      if type(it) == "string" then o.columns[i] = it
      elseif getmetatable(it) == Column then o.columns[i] = it.name
      else o.columns[i] = sql.inline(it) end
    end
    if ix.opts.unique then o.unique = true end
    if ix.opts.where then o.where = sql.inline(ix.opts.where) end
    s.indexes[#s.indexes + 1] = o
  end
  return s
end

-- A Table from a reflected spec table.
function table_from_spec(md, ts)
  local args = {}
  local fks = {}
  for _, c in ipairs(ts.constraints or {}) do
    if c.k == "foreign_key" and #c.columns == 1 then
      fks[c.columns[1]] = M.ForeignKey((c.ref_schema and c.ref_schema .. "." or "") .. c.ref_table .. "." .. c.ref_columns[1],
        { name = c.name, ondelete = c.ondelete, onupdate = c.onupdate })
    end
  end
  for _, cs in ipairs(ts.columns) do
    local opts = { primary_key = cs.primary_key, nullable = cs.nullable, comment = cs.comment, autoincrement = cs.autoincrement }
    if cs.server_default then opts.server_default = sql.literal_column(cs.server_default[2]) end
    args[#args + 1] = M.Column(cs.name, types.from_wire(cs.type), fks[cs.name], opts)
  end
  for _, c in ipairs(ts.constraints or {}) do
    if c.k == "primary_key" then
      for _, name in ipairs(c.columns) do
        for _, col in ipairs(args) do if col.name == name then col.opts.primary_key = true; col.primary_key = true end end
      end
    elseif c.k == "unique" then
      args[#args + 1] = M.UniqueConstraint(c.columns, { name = c.name })
    elseif c.k == "foreign_key" and #c.columns > 1 then
      local refs = {}
      for i, rc in ipairs(c.ref_columns) do refs[i] = c.ref_table .. "." .. rc end
      args[#args + 1] = M.ForeignKeyConstraint(c.columns, refs, { name = c.name })
    elseif c.k == "check" and c.sql then
      args[#args + 1] = M.CheckConstraint(c.sql[2], { name = c.name })
    end
  end
  for _, ix in ipairs(ts.indexes or {}) do
    local items = {}
    for i, it in ipairs(ix.columns) do items[i] = type(it) == "string" and it or sql.literal_column(it[2]) end
    items[#items + 1] = { unique = ix.unique }
    args[#args + 1] = M.Index(ix.name, (table.unpack or unpack)(items))
  end
  args[#args + 1] = { schema = ts.schema, comment = ts.comment }
  return M.Table(ts.name, md, (table.unpack or unpack)(args))
end

---------------------------------------------------------------------------------------------------
-- MetaData

local MetaData = { __name = "athanor.MetaData" }
MetaData.__index = MetaData
M.MetaData_class = MetaData

--- MetaData([{naming_convention = {ix = ..., uq = ..., ck = ..., fk = ..., pk = ...}}])
function M.MetaData(opts)
  return setmetatable({ tables = {}, sorted = {}, opts = opts or {} }, MetaData)
end

function MetaData:_add(t)
  local key = (t.schema and t.schema .. "." or "") .. t.name
  if self.tables[key] then argerr("Table '" .. key .. "' is already defined for this MetaData") end
  self.tables[key] = t
  self.sorted[#self.sorted + 1] = t
  self._h = nil -- the spec changed
end

--- The schema spec (docs/schema-spec.md) as a Lua table.
function MetaData:spec()
  local s = values.map { k = "metadata", tables = {} }
  if self.opts.naming_convention then s.naming_convention = values.map(self.opts.naming_convention) end
  for i, t in ipairs(self.sorted) do s.tables[i] = t:_spec() end
  return s
end

--- The ath_metadata handle, built once from the spec (rebuilt when a table is added).
function MetaData:_handle()
  if not self._h then
    local _, h = raw.ath_metadata_create(raw.pack(self:spec()))
    self._h = h
  end
  return self._h
end

function engine_handle(engine)
  if type(engine) ~= "table" or not engine._handle then argerr("expected an Engine") end
  return engine:_handle()
end

--- create_all(engine [, {checkfirst = false}]): CREATE what does not exist yet, in foreign-key order.
function MetaData:create_all(engine, opts)
  local flags = (opts and opts.checkfirst == false) and raw.ATH_DDL_NO_CHECKFIRST or 0
  raw.ath_engine_create_all(engine_handle(engine), self:_handle(), flags)
end
function MetaData:drop_all(engine, opts)
  local flags = (opts and opts.checkfirst == false) and raw.ATH_DDL_NO_CHECKFIRST or 0
  raw.ath_engine_drop_all(engine_handle(engine), self:_handle(), flags)
end
--- The create_all (or, with {drop = true}, drop_all) statements for a dialect: a list of SQL strings.
function MetaData:ddl(dialect, opts)
  local flags = (opts and opts.drop) and raw.ATH_DDL_DROP or 0
  local _, out = raw.ath_compile_ddl(dialect or "sqlite", self:_handle(), flags)
  return out
end

--- reflect(engine [, {schema =}]): add every table of the database (MetaData.reflect); returns self.
function MetaData:reflect(engine, opts)
  local _, spec = raw.ath_reflect_spec(engine_handle(engine), opts and opts.schema or nil)
  -- referenced tables first is not needed: foreign keys name tables, resolved when the spec is built
  for _, ts in ipairs(spec.tables or {}) do
    local key = (ts.schema and ts.schema .. "." or "") .. ts.name
    if not self.tables[key] then table_from_spec(self, ts) end
  end
  return self
end

---------------------------------------------------------------------------------------------------
-- Inspector

local Inspector = { __name = "athanor.Inspector" }
Inspector.__index = Inspector
--- athanor.inspect(engine): SQLAlchemy's Inspector (get_table_names, get_columns, ...).
function M.inspect(engine)
  engine_handle(engine)
  return setmetatable({ engine = engine }, Inspector)
end
local function kind_call(what, per_table)
  return function(self, a, b)
    local tbl, schema
    if per_table then tbl, schema = a, b else schema = a end
    if per_table and type(tbl) ~= "string" then argerr("expected a table name") end
    local _, out = raw.ath_engine_inspect(engine_handle(self.engine), raw[what], schema, tbl)
    return out
  end
end
Inspector.get_schema_names = kind_call("ATH_INSPECT_SCHEMA_NAMES")
Inspector.get_table_names = kind_call("ATH_INSPECT_TABLE_NAMES")
Inspector.get_view_names = kind_call("ATH_INSPECT_VIEW_NAMES")
Inspector.get_sequence_names = kind_call("ATH_INSPECT_SEQUENCE_NAMES")
Inspector.get_columns = kind_call("ATH_INSPECT_COLUMNS", true)
Inspector.get_pk_constraint = kind_call("ATH_INSPECT_PK_CONSTRAINT", true)
Inspector.get_foreign_keys = kind_call("ATH_INSPECT_FOREIGN_KEYS", true)
Inspector.get_indexes = kind_call("ATH_INSPECT_INDEXES", true)
Inspector.get_unique_constraints = kind_call("ATH_INSPECT_UNIQUE_CONSTRAINTS", true)
Inspector.get_check_constraints = kind_call("ATH_INSPECT_CHECK_CONSTRAINTS", true)
Inspector.get_table_comment = kind_call("ATH_INSPECT_TABLE_COMMENT", true)
function Inspector:get_default_schema_name()
  local _, out = raw.ath_engine_inspect(engine_handle(self.engine), raw.ATH_INSPECT_DEFAULT_SCHEMA_NAME, nil, nil)
  return out
end
function Inspector:has_table(name, schema)
  for _, n in ipairs(self:get_table_names(schema)) do if n == name then return true end end
  return false
end

M.Table_class, M.Column_class = Table, Column
return M
