-- athanor/sql.lua — the Core expression language (SQLAlchemy's sql/elements.py, selectable.py,
-- dml.py): expressions, FROM items and statements as Lua objects, compiled to the wire format's
-- shape (docs/wire-format.md) with every Lua value lifted into params, so equal statements have equal
-- shapes whatever their values. A statement object caches its shape bytes and its param plan (which
-- value or named bindparam fills each ["bind", i]), so executing it again only packs the params.
-- Statements are generative: where(), order_by(), ... return a new statement.
-- Not here: tables and columns with types and constraints (athanor/schema.lua builds them on the
-- TableClause / ColumnClause below), execution (athanor/engine.lua).
local raw = require "athanor_raw"
local errors = require "athanor.errors"
local values = require "athanor.values"

local M = {}
local null = values.null
local getmetatable, rawget, type = getmetatable, rawget, type -- locals: is_node()/kind() run on every execute

local function argerr(msg) errors.raise("ArgumentError", msg) end

---------------------------------------------------------------------------------------------------
-- Node classes. Every node's metatable has _k (its kind); compile(node, ctx) returns its wire form.

local compilers = {}
local Expr = { __name = "athanor.Expression" } -- ColumnElement: operators and methods
Expr.__index = Expr

local function class(kind, base)
  local c = { _k = kind, __name = "athanor." .. kind }
  c.__index = c
  for k, v in pairs(base or Expr) do
    if c[k] == nil and k ~= "__index" and k ~= "_k" and k ~= "__name" then c[k] = v end
  end
  return setmetatable(c, { __index = base or Expr })
end

local function is_node(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "_k") ~= nil
end
M.is_node = is_node

local function kind(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and rawget(mt, "_k") or nil
end

local Bind = class("bind")
local BindParam = class("bindparam")
local Form = class("form")
local Grouping -- forward

local function bind(v) return setmetatable({ value = v }, Bind) end
local function form(t) return setmetatable({ form = t }, Form) end

-- A Lua value or node as an expression; nil and null are SQL NULL.
local function coerce(v)
  if v == nil or v == null then return form { "null" } end
  if is_node(v) then
    local k = kind(v)
    if k == "select" or k == "compound" then return v:scalar_subquery() end
    return v
  end
  local t = type(v)
  if t == "table" and getmetatable(v) == nil then
    argerr("a plain Lua table cannot be used as a SQL value (use athanor.tuple_(...), in_({...}) or a JSON column)")
  end
  if t == "function" or t == "thread" or (t == "userdata") then
    argerr("a Lua " .. t .. " cannot be used as a SQL value")
  end
  return bind(v)
end
M.coerce = coerce

local function compile(v, ctx)
  if is_node(v) then return compilers[kind(v)](v, ctx) end
  if type(v) == "table" then
    local mt = getmetatable(v)
    if mt == nil or mt.__ath_map or mt.__ath_array then -- structure: compile what it holds
      local out = {}
      for k, x in pairs(v) do out[k] = compile(x, ctx) end
      return setmetatable(out, mt)
    end
  end
  return v
end
M.compile = compile

compilers.form = function(n, ctx) return compile(n.form, ctx) end
compilers.bind = function(n, ctx)
  if ctx.inline then return { "lit", n.value } end
  return { n.expanding and "expanding" or "bind", ctx:add_value(n.value) }
end
compilers.bindparam = function(n, ctx)
  if ctx.inline then
    if n.has_value then return { "lit", n.value } end
    argerr("bind parameter '" .. n.name .. "' has no value to render inline")
  end
  local i = ctx:add_name(n)
  return { n.expanding and "expanding" or "bind", i }
end

--- bindparam(name [, value] [, {expanding = true}]): a named parameter whose value is given at
--- execute time ({name = value}); `value` is its default.
function M.bindparam(name, value, opts)
  if type(name) ~= "string" then argerr("bindparam() needs a name") end
  if type(value) == "table" and getmetatable(value) == nil and opts == nil and value.expanding ~= nil then
    opts, value = value, nil
  end
  return setmetatable({ name = name, value = value, has_value = value ~= nil,
    expanding = opts and opts.expanding or false }, BindParam)
end
--- literal(v): v as a bound parameter.
function M.literal(v) return bind(v) end
function M.null() return form { "null" } end
function M.true_() return form { "true" } end
function M.false_() return form { "false" } end
--- literal_column(text): raw SQL used as a column expression.
function M.literal_column(s) return form { "text", s } end

---------------------------------------------------------------------------------------------------
-- Operators

local function binop(op, a, b) return form { op, coerce(a), coerce(b) } end

-- Comparisons: nil becomes IS [NOT] NULL and booleans true/false in the shape (wire-format.md 3).
local function compare(op, a, b)
  if b == nil or b == null then
    if op == "=" then return form { "is", coerce(a), form { "null" } } end
    if op == "!=" then return form { "is_not", coerce(a), form { "null" } } end
  end
  if type(b) == "boolean" then return form { op, coerce(a), form { b and "true" or "false" } } end
  return binop(op, a, b)
end

function Expr:eq(o) return compare("=", self, o) end
function Expr:ne(o) return compare("!=", self, o) end
function Expr:lt(o) return compare("<", self, o) end
function Expr:le(o) return compare("<=", self, o) end
function Expr:gt(o) return compare(">", self, o) end
function Expr:ge(o) return compare(">=", self, o) end
function Expr:is_(o) return form { "is", coerce(self), (o == nil or o == null) and form { "null" } or coerce(o) } end
function Expr:is_not(o) return form { "is_not", coerce(self), (o == nil or o == null) and form { "null" } or coerce(o) } end
Expr.isnot = Expr.is_not
function Expr:is_distinct_from(o) return binop("is_distinct_from", self, o) end
function Expr:is_not_distinct_from(o) return binop("is_not_distinct_from", self, o) end

local function like(op, self, pattern, escape)
  if escape ~= nil then return form { op, coerce(self), coerce(pattern), { escape = escape } } end
  return form { op, coerce(self), coerce(pattern) }
end
function Expr:like(p, escape) return like("like", self, p, escape) end
function Expr:ilike(p, escape) return like("ilike", self, p, escape) end
function Expr:not_like(p, escape) return like("not_like", self, p, escape) end
function Expr:not_ilike(p, escape) return like("not_ilike", self, p, escape) end

local function affix(op, self, v, opts)
  if opts then
    local o = {}
    if type(opts) == "table" then
      o.escape, o.autoescape = opts.escape, opts.autoescape
    end
    return form { op, coerce(self), coerce(v), o }
  end
  return form { op, coerce(self), coerce(v) }
end
--- col:contains(v [, {autoescape = true} | {escape = "/"}]) — LIKE '%' || v || '%'.
function Expr:contains(v, opts) return affix("contains", self, v, opts) end
function Expr:startswith(v, opts) return affix("startswith", self, v, opts) end
function Expr:endswith(v, opts) return affix("endswith", self, v, opts) end
function Expr:not_contains(v, opts) return affix("not_contains", self, v, opts) end
function Expr:regexp_match(p) return binop("regexp", self, p) end
function Expr:not_regexp_match(p) return binop("not_regexp", self, p) end

local function in_list(op, self, list)
  if is_node(list) then
    local k = kind(list)
    if k == "select" or k == "compound" then return form { op, coerce(self), list } end
    if k == "bindparam" then
      if not list.expanding then list = M.bindparam(list.name, list.value, { expanding = true }) end
      return form { op, coerce(self), list }
    end
    if k == "form" and list.form[1] == "tuple" then return form { op, coerce(self), list } end
    argerr("in_() needs a list, a select or an expanding bindparam")
  end
  if type(list) ~= "table" then argerr("in_() needs a list, a select or an expanding bindparam") end
  local n = list.n or #list
  local has_nil, has_node = false, false
  for i = 1, n do
    local v = list[i]
    if v == nil or v == null then has_nil = true elseif is_node(v) then has_node = true end
  end
  if has_nil or has_node then -- a NULL or an expression in the list: a tuple of binds (shape-level)
    local t = { "tuple" }
    for i = 1, n do t[#t + 1] = coerce(list[i]) end
    if n == 0 then argerr("in_() of an empty tuple") end
    return form { op, coerce(self), form(t) }
  end
  local copy = {}
  for i = 1, n do copy[i] = list[i] end
  return form { op, coerce(self), setmetatable({ value = values.array(copy, n), expanding = true }, Bind) }
end
--- col:in_({1, 2, 3}) (an expanding list: one shape for any length), col:in_(select),
--- col:in_(bindparam("ids", nil, {expanding = true})).
function Expr:in_(list) return in_list("in", self, list) end
function Expr:not_in(list) return in_list("not_in", self, list) end
function Expr:between(lo, hi, symmetric)
  if symmetric then return form { "between", coerce(self), coerce(lo), coerce(hi), { symmetric = true } } end
  return form { "between", coerce(self), coerce(lo), coerce(hi) }
end
function Expr:not_between(lo, hi) return form { "not_between", coerce(self), coerce(lo), coerce(hi) } end

function Expr:label(name) return form { "label", name, coerce(self) } end
function Expr:asc() return form { "asc", self } end
function Expr:desc() return form { "desc", self } end
function Expr:nulls_first() return form { "nulls_first", self } end
function Expr:nulls_last() return form { "nulls_last", self } end
function Expr:distinct() return form { "distinct", self } end
function Expr:collate(name) return form { "collate", self, name } end
function Expr:concat(o) return binop("||", self, o) end
function Expr:cast(t) return M.cast(self, t) end
--- col:op("<->")(other): a custom binary operator.
function Expr:op(operator)
  return function(other) return form { "op", operator, coerce(self), coerce(other) } end
end
function Expr:any_() return form { "any", self } end
function Expr:all_() return form { "all", self } end
function Expr:index(i) return form { "index", coerce(self), coerce(i) } end
function Expr:json_get(key) return form { "json_get", coerce(self), coerce(key) } end
function Expr:json_get_text(key) return form { "json_get_text", coerce(self), coerce(key) } end
function Expr:and_(...) return M.and_(self, ...) end
function Expr:or_(...) return M.or_(self, ...) end
function Expr:not_() return M.not_(self) end

-- Metamethods: arithmetic, .. (||), and on Lua 5.4 & | ~ for AND / OR / NOT. Comparison operators
-- (== < <=) cannot build expressions in Lua (their results become booleans): use :eq() :lt() :le().
Expr.__add = function(a, b) return binop("+", a, b) end
Expr.__sub = function(a, b) return binop("-", a, b) end
Expr.__mul = function(a, b) return binop("*", a, b) end
Expr.__div = function(a, b) return binop("/", a, b) end
Expr.__idiv = function(a, b) return binop("//", a, b) end
Expr.__mod = function(a, b) return binop("%", a, b) end
Expr.__unm = function(a) return form { "neg", a } end
Expr.__concat = function(a, b) return binop("||", a, b) end
Expr.__band = function(a, b) return M.and_(a, b) end
Expr.__bor = function(a, b) return M.or_(a, b) end
Expr.__bnot = function(a) return M.not_(a) end
-- Copy the metamethods into every class made so far and later (class() copies from Expr).
for _, c in ipairs { Bind, BindParam, Form } do
  for k, v in pairs(Expr) do if rawget(c, k) == nil and k:sub(1, 2) == "__" and k ~= "__index" and k ~= "__name" then c[k] = v end end
end

function M.and_(...)
  local t = { "and" }
  for i = 1, select("#", ...) do
    local e = select(i, ...)
    if e ~= nil then t[#t + 1] = coerce(e) end
  end
  if #t == 1 then argerr("and_() needs at least one expression") end
  if #t == 2 then return t[2] end
  return form(t)
end
function M.or_(...)
  local t = { "or" }
  for i = 1, select("#", ...) do
    local e = select(i, ...)
    if e ~= nil then t[#t + 1] = coerce(e) end
  end
  if #t == 1 then argerr("or_() needs at least one expression") end
  if #t == 2 then return t[2] end
  return form(t)
end
function M.not_(e) return form { "not", coerce(e) } end
function M.tuple_(...)
  local t = { "tuple" }
  for i = 1, select("#", ...) do t[#t + 1] = coerce((select(i, ...))) end
  return form(t)
end
function M.distinct(e) return form { "distinct", coerce(e) } end
function M.asc(e) return coerce(e):asc() end
function M.desc(e) return coerce(e):desc() end
function M.extract(field, e) return form { "extract", field, coerce(e) } end
function M.exists(s) return form { "exists", s } end

local function wire_type(t)
  if type(t) == "table" and t._wire then return t._wire end
  if type(t) == "table" and type(t[1]) == "string" then return t end
  if type(t) == "string" then return { t } end
  argerr("expected a type (athanor.types.Integer, String(40), ...)")
end
M.wire_type = wire_type
--- cast(expr, type): CAST(expr AS type).
function M.cast(e, t) return form { "cast", coerce(e), wire_type(t) } end
function M.type_coerce(e, t) return form { "type_coerce", coerce(e), wire_type(t) } end

--- case({{cond, value}, ...} [, else_value | {else_ = v, value = expr}]). With `value`, the whens
--- are {match, result} pairs compared to it (CASE value WHEN ...).
function M.case(whens, opts)
  if type(whens) ~= "table" then argerr("case() needs a list of {condition, value} pairs") end
  local else_, value
  if type(opts) == "table" and not is_node(opts) and getmetatable(opts) == nil then
    else_, value = opts.else_, opts.value
  else
    else_ = opts
  end
  local list = {}
  for i, w in ipairs(whens) do
    if type(w) ~= "table" or getmetatable(w) ~= nil then argerr("case(): each when is a {condition, value} pair") end
    list[i] = { value == nil and coerce(w[1]) or coerce(w[1]), coerce(w[2]) }
  end
  if #list == 0 then argerr("case() needs at least one when") end
  if value ~= nil then
    if else_ ~= nil then return form { "case_on", coerce(value), list, coerce(else_) } end
    return form { "case_on", coerce(value), list }
  end
  if else_ ~= nil then return form { "case", list, coerce(else_) } end
  return form { "case", list }
end

---------------------------------------------------------------------------------------------------
-- Functions: func.count(x), func.lower(x), func.pg_catalog.now(); :filter(), :over(), :within_group()

local Function = class("fn")
compilers.fn = function(n, ctx)
  local args = {}
  for i, a in ipairs(n.args) do args[i] = compile(a, ctx) end
  if n._filter or n._over or n._within_group then
    local o = values.map {}
    if n._filter then o.filter = compile(n._filter, ctx) end
    if n._over then o.over = compile(n._over, ctx) end
    if n._within_group then o.within_group = compile(n._within_group, ctx) end
    return { "fn", n.name, args, o }
  end
  if #args == 0 then return { "fn", n.name } end
  return { "fn", n.name, args }
end
-- A generative copy; the compiled-shape caches stay with the original (the copy is a new statement).
local function copy(t, extra)
  local c = {}
  for k, v in pairs(t) do
    if k ~= "_cache" and k ~= "_named_cache" then c[k] = v end
  end
  for k, v in pairs(extra or {}) do c[k] = v end
  return setmetatable(c, getmetatable(t))
end
M.copy = copy
function Function:filter(cond) return copy(self, { _filter = coerce(cond) }) end
function Function:within_group(...)
  local l = {}
  for i = 1, select("#", ...) do l[i] = coerce((select(i, ...))) end
  return copy(self, { _within_group = l })
end
local function exprs(list)
  if list == nil then return nil end
  if is_node(list) or type(list) ~= "table" then list = { list } end
  local out = {}
  for i, e in ipairs(list) do out[i] = coerce(e) end
  return out
end
local function frame(b)
  if b == nil then return nil end
  local function bound(x)
    if x == nil or x == "unbounded" or x == null then return nil end
    return x
  end
  return values.array({ bound(b[1]), bound(b[2]) }, 2)
end
--- fn:over{partition_by = {...}, order_by = {...}, rows = {lo, hi} | range = {lo, hi}}: a window
--- (bounds: integers, negative = PRECEDING, "unbounded").
function Function:over(w)
  w = w or {}
  local o = values.map {}
  o.partition_by = exprs(w.partition_by)
  o.order_by = exprs(w.order_by)
  o.rows = frame(w.rows)
  o.range = frame(w.range)
  return copy(self, { _over = o })
end
local function func_proxy(name)
  return setmetatable({}, {
    __index = function(_, k) return func_proxy(name and (name .. "." .. k) or k) end,
    __call = function(_, ...)
      if not name then argerr("func needs a function name: func.count(...)") end
      local args = {}
      for i = 1, select("#", ...) do args[i] = coerce((select(i, ...))) end
      return setmetatable({ name = name, args = args }, Function)
    end,
  })
end
--- func.<name>(args...): any SQL function; dotted names via func.schema.name(...).
M.func = func_proxy(nil)

---------------------------------------------------------------------------------------------------
-- Columns and FROM items

local Column = class("col")     -- a column of a FROM item, or unqualified
-- Aliases and subqueries are not tables the C compiler can infer from a qualifier: the select that
-- refers to one lists it in its FROM (unless an enclosing select supplies it: correlation).
local function note_from(ctx, from)
  local k = kind(from)
  if k ~= "alias" and k ~= "subquery" then return end
  local scopes = ctx.scopes
  for i = #scopes, 1, -1 do
    if scopes[i].exposed[from:_exposed()] then return end
    if scopes[i].isolated then break end -- a FROM subquery, CTE or INSERT's select: no correlation
  end
  local top = scopes[#scopes]
  if top then
    top.exposed[from:_exposed()] = true
    top.inferred[#top.inferred + 1] = from
  end
end
compilers.col = function(n, ctx)
  local from = n.table
  if from == nil then return { "col", n.name } end
  if from._register then from:_register(ctx) end
  note_from(ctx, from)
  return { "col", from:_exposed(), n.name }
end
--- column(name): an unqualified column (ColumnClause).
function M.column(name, t) return setmetatable({ name = name, type = t }, Column) end
M.Column_class = Column

local Star = class("star")
compilers.star = function(n, ctx)
  if n.table then
    if n.table._register then n.table:_register(ctx) end
    note_from(ctx, n.table)
    return { "*", n.table:_exposed() }
  end
  return { "*" }
end
M.star = setmetatable({}, Star)

-- `.c` of FROM items whose columns are not declared (subqueries, CTEs): any name is a column.
local function open_columns(from)
  return setmetatable({}, { __index = function(c, k)
    local col = setmetatable({ name = k, table = from }, Column)
    rawset(c, k, col)
    return col
  end })
end

local FromClause = {}
FromClause.__index = FromClause

local function infer_on(left, right)
  local found
  local function scan(a, b) -- columns of a with a foreign key into b's table
    for _, col in ipairs(a.columns or {}) do
      for _, fk in ipairs(col.foreign_keys or {}) do
        if b._base_name and fk.table == b._base_name then
          local target = b.c[fk.column]
          if target then
            if found then argerr("can't determine the join between '" .. a:_exposed() .. "' and '" .. b:_exposed() .. "': more than one foreign key; give the ON clause") end
            found = a.c[col.name]:eq(target)
          end
        end
      end
    end
  end
  local function leaves(f, out)
    if f._left then leaves(f._left, out); leaves(f._right, out) else out[#out + 1] = f end
    return out
  end
  for _, l in ipairs(leaves(left, {})) do
    scan(right, l)
    scan(l, right)
  end
  if not found then
    argerr("can't find any foreign key relationships between '" .. (left._exposed and left:_exposed() or "?") ..
      "' and '" .. right:_exposed() .. "'; give the ON clause")
  end
  return found
end

local Join = class("join", FromClause)
compilers.join = function(n, ctx)
  local t = { "join", compile(n._left, ctx), compile(n._right, ctx), compile(n.on, ctx) }
  if n.how ~= "inner" then t[5] = n.how end
  return t
end
--- a:join(b [, on] [, {isouter = true} | {full = true}]): ON inferred from foreign keys when not given.
function FromClause:join(right, on, opts)
  if type(on) == "table" and not is_node(on) and getmetatable(on) == nil then on, opts = nil, on end
  opts = opts or {}
  if on == nil then on = infer_on(self, right) end
  return setmetatable({ _left = self, _right = right, on = coerce(on),
    how = opts.full and "full" or (opts.isouter and "left" or "inner") }, Join)
end
function FromClause:outerjoin(right, on, opts)
  if type(on) == "table" and not is_node(on) and getmetatable(on) == nil then on, opts = nil, on end
  opts = opts or {}
  return self:join(right, on, { isouter = true, full = opts.full })
end
function FromClause:select() return M.select(self) end
Join.join, Join.outerjoin, Join.select = FromClause.join, FromClause.outerjoin, FromClause.select
function Join:_exposed() return nil end

local TableClause = class("table", FromClause)
compilers.table = function(n)
  if n.schema then return { "table", n.name, { schema = n.schema } } end
  return { "table", n.name }
end
function TableClause:_exposed() return self.name end
for _, k in ipairs { "join", "outerjoin", "select" } do TableClause[k] = FromClause[k] end

--- table(name, col_name...): a lightweight table (TableClause) without metadata.
function M.table(name, ...)
  local t = setmetatable({ name = name, _base_name = name, columns = {}, c = {} }, TableClause)
  for i = 1, select("#", ...) do
    local cn = select(i, ...)
    local col = type(cn) == "string" and M.column(cn) or cn
    col.table = t
    t.columns[#t.columns + 1] = col
    t.c[col.name] = col
  end
  return t
end
M.TableClause = TableClause
M.FromClause = FromClause

local Alias = class("alias", FromClause)
compilers.alias = function(n, ctx) return { "alias", compile(n.element, ctx), n.name } end
function Alias:_exposed() return self.name end
for _, k in ipairs { "join", "outerjoin", "select" } do Alias[k] = FromClause[k] end
--- t:alias(name): `t AS name`; its columns are alias.c.<name>.
function TableClause:alias(name)
  if type(name) ~= "string" then argerr("alias() needs a name (athanor names every alias)") end
  local a = setmetatable({ element = self, name = name, _base_name = self._base_name, columns = {}, c = {} }, Alias)
  for i, col in ipairs(self.columns) do
    local ac = copy(col, { table = a })
    a.columns[i] = ac
    a.c[col.name] = ac
  end
  return a
end

---------------------------------------------------------------------------------------------------
-- Compile context: numbers the params and collects CTEs for the top-level statement.

local Ctx = {}
Ctx.__index = Ctx
local function new_ctx(inline)
  return setmetatable({ plan = {}, n = 0, names = {}, ctes = {}, cte_state = {}, inline = inline, scopes = {} }, Ctx)
end
function Ctx:add_value(v)
  local i = self.n
  self.n = i + 1
  self.plan[i + 1] = { v = v }
  return i
end
function Ctx:add_name(p)
  local i = self.names[p.name]
  if i then return i end
  i = self.n
  self.n = i + 1
  self.names[p.name] = i
  self.plan[i + 1] = { name = p.name, default = p.value, has_default = p.has_value, expanding = p.expanding }
  return i
end
M.new_ctx = new_ctx

---------------------------------------------------------------------------------------------------
-- SELECT and compounds

local Select = class("select")
local Compound = class("compound")
local Subquery = class("subquery", FromClause)
local CTE = class("cte", FromClause)
for _, c in ipairs { Subquery, CTE } do
  for _, k in ipairs { "join", "outerjoin", "select" } do c[k] = FromClause[k] end
end

local function list_of(...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "table" and getmetatable(v) == nil then
      for _, x in ipairs(v) do out[#out + 1] = x end
    elseif v ~= nil then
      out[#out + 1] = v
    end
  end
  return out
end

-- Entries of a columns list: a FROM item stands for all its columns.
local function column_entries(items)
  local out = {}
  for _, e in ipairs(items) do
    local k = kind(e)
    if k == "table" or k == "alias" then
      for _, col in ipairs(e.columns) do out[#out + 1] = col end
      if #e.columns == 0 then out[#out + 1] = setmetatable({ table = e }, Star) end
    elseif k == "subquery" or k == "cte" then
      out[#out + 1] = setmetatable({ table = e }, Star)
    elseif type(e) == "string" then
      out[#out + 1] = M.column(e)
    else
      out[#out + 1] = coerce(e)
    end
  end
  return out
end

--- select(col_or_table, ...) — also select{...}.
function M.select(...)
  local cols = column_entries(list_of(...))
  return setmetatable({ _columns = cols, _from = {}, _where = nil, _order_by = {}, _group_by = {} }, Select)
end

local function order_items(...)
  local out = {}
  for _, e in ipairs(list_of(...)) do
    out[#out + 1] = type(e) == "string" and M.column(e) or coerce(e)
  end
  return out
end
local function append(list, more)
  local out = {}
  for _, v in ipairs(list or {}) do out[#out + 1] = v end
  for _, v in ipairs(more) do out[#out + 1] = v end
  return out
end

local function unpack_list(t) return (table.unpack or unpack)(t, 1, #t) end
function Select:where(...)
  local conds = {}
  if self._where then conds[1] = self._where end
  for i = 1, select("#", ...) do conds[#conds + 1] = (select(i, ...)) end
  return copy(self, { _where = M.and_(unpack_list(conds)) })
end
Select.filter = Select.where
--- where col = value for each {name = value}, on the first FROM item (or the first column's table).
function Select:filter_by(kv)
  local from = self._from[1] or (self._columns[1] and self._columns[1].table)
  if not from then argerr("filter_by() needs a FROM item") end
  local names = {}
  for k in pairs(kv) do names[#names + 1] = k end
  table.sort(names)
  local s = self
  for _, k in ipairs(names) do
    local col = from.c and rawget(from.c, k) or (from.c and from.c[k])
    if not col then argerr("filter_by(): '" .. tostring(from:_exposed()) .. "' has no column '" .. k .. "'") end
    s = s:where(col:eq(kv[k]))
  end
  return s
end
function Select:having(...)
  local conds = { self._having }
  for i = 1, select("#", ...) do conds[#conds + 1] = (select(i, ...)) end
  if conds[1] == nil then table.remove(conds, 1) end
  return copy(self, { _having = M.and_(unpack_list(conds)) })
end
function Select:order_by(...) return copy(self, { _order_by = append(self._order_by, order_items(...)) }) end
function Select:group_by(...) return copy(self, { _group_by = append(self._group_by, order_items(...)) }) end
function Select:limit(n) return copy(self, { _limit = n ~= nil and coerce(n) or nil }) end
function Select:offset(n) return copy(self, { _offset = n ~= nil and coerce(n) or nil }) end
function Select:distinct() return copy(self, { _distinct = true }) end
function Select:add_columns(...) return copy(self, { _columns = append(self._columns, column_entries(list_of(...))) }) end
function Select:with_only_columns(...) return copy(self, { _columns = column_entries(list_of(...)) }) end
function Select:select_from(...) return copy(self, { _from = append(self._from, list_of(...)) }) end
--- correlate(t...): the FROM items an enclosing query supplies; correlate() turns correlation off.
function Select:correlate(...)
  local names = {}
  for i, f in ipairs(list_of(...)) do names[i] = type(f) == "string" and f or f:_exposed() end
  return copy(self, { _correlate = names })
end
--- with_for_update{read =, nowait =, skip_locked =, key_share =, of = {tables}}.
function Select:with_for_update(o)
  o = o or {}
  local fu = values.map {}
  for _, k in ipairs { "read", "nowait", "skip_locked", "key_share" } do if o[k] then fu[k] = true end end
  if o.of then
    fu.of = {}
    for i, t in ipairs(type(o.of) == "table" and getmetatable(o.of) == nil and o.of or { o.of }) do
      fu.of[i] = type(t) == "string" and t or t:_exposed()
    end
  end
  return copy(self, { _for_update = fu })
end
--- s:join(right [, on] [, opts]): join from the last FROM item (or the first column's table).
function Select:join(right, on, opts)
  local from = {}
  for i, f in ipairs(self._from) do from[i] = f end
  local left = table.remove(from)
  if not left then
    for _, c in ipairs(self._columns) do
      if c.table then left = c.table; break end
    end
  end
  if not left then argerr("join(): nothing to join from; use select_from()") end
  from[#from + 1] = left:join(right, on, opts)
  return copy(self, { _from = from })
end
function Select:outerjoin(right, on, opts)
  if type(on) == "table" and not is_node(on) and getmetatable(on) == nil then on, opts = nil, on end
  opts = opts or {}
  return self:join(right, on, { isouter = true, full = opts.full })
end
function Select:scalar_subquery() return form { "scalar", self } end
function Select:exists() return form { "exists", self } end
function Select:label(name) return self:scalar_subquery():label(name) end
--- s:subquery(name): a named FROM item; its columns are sq.c.<name> (athanor names every subquery).
function Select:subquery(name)
  if type(name) ~= "string" then argerr("subquery() needs a name (athanor names every subquery)") end
  local sq = setmetatable({ element = self, name = name }, Subquery)
  sq.c = open_columns(sq)
  return sq
end
Select.alias = Select.subquery
--- s:cte(name [, {recursive = true, columns = {...}}]).
function Select:cte(name, opts)
  if type(name) ~= "string" then argerr("cte() needs a name") end
  opts = opts or {}
  local c = setmetatable({ element = self, name = name, recursive = opts.recursive or false, col_names = opts.columns }, CTE)
  c.c = open_columns(c)
  return c
end
Compound.subquery, Compound.alias, Compound.cte = Select.subquery, Select.subquery, Select.cte
Compound.scalar_subquery, Compound.exists, Compound.label = Select.scalar_subquery, Select.exists, Select.label

-- Compile a select that does not correlate to the statements around it.
local function compile_isolated(e, ctx)
  ctx.isolate = true
  local out = compile(e, ctx)
  ctx.isolate = nil
  return out
end
compilers.subquery = function(n, ctx) return { "subquery", compile_isolated(n.element, ctx), n.name } end
function Subquery:_exposed() return self.name end

-- A CTE is emitted in the top-level statement's WITH once it is referenced.
function CTE:_register(ctx)
  local state = ctx.cte_state[self.name]
  if state then return end
  ctx.cte_state[self.name] = "compiling"
  local q = compile_isolated(self.element, ctx)
  local entry = values.map { name = self.name, query = q }
  if self.recursive then entry.recursive = true end
  if self.col_names then entry.columns = self.col_names end
  ctx.ctes[#ctx.ctes + 1] = entry
  ctx.cte_state[self.name] = "done"
end
compilers.cte = function(n, ctx)
  n:_register(ctx)
  return { "cte", n.name }
end
function CTE:_exposed() return self.name end
--- cte:union_all(select): the recursive part of a recursive CTE (same name).
-- The new CTE keeps the name; references to the old object inside `other` are the recursion.
local function cte_compound(self, op, other)
  local c = setmetatable({ element = op(self.element, other), name = self.name, recursive = self.recursive,
    col_names = self.col_names }, CTE)
  c.c = open_columns(c)
  return c
end
function CTE:union_all(other) return cte_compound(self, M.union_all, other) end
function CTE:union(other) return cte_compound(self, M.union, other) end

local function compile_list(l, ctx)
  local out = {}
  for i, e in ipairs(l) do out[i] = compile(e, ctx) end
  return out
end

-- n._extra: more keys of the statement map (the ORM's "options", "execution_options",
-- "synchronize_session"), compiled as any other part.
local function finish(stmt, ctx, top, n)
  if n and n._extra then
    for k, v in pairs(n._extra) do stmt[k] = compile(v, ctx) end
  end
  if top and #ctx.ctes > 0 then stmt.with = ctx.ctes end
  return stmt
end

local function expose(f, set)
  if f._left then expose(f._left, set); expose(f._right, set)
  elseif f._exposed then set[f:_exposed() or ""] = true end
end
compilers.select = function(n, ctx, top)
  local scope = { exposed = {}, inferred = {}, isolated = ctx.isolate }
  ctx.isolate = nil
  for _, f in ipairs(n._from) do expose(f, scope.exposed) end
  ctx.scopes[#ctx.scopes + 1] = scope
  local from = #n._from > 0 and compile_list(n._from, ctx) or nil
  local s = values.map { k = "select", columns = compile_list(n._columns, ctx) }
  if n._where then s.where = compile(n._where, ctx) end
  if #n._group_by > 0 then s.group_by = compile_list(n._group_by, ctx) end
  if n._having then s.having = compile(n._having, ctx) end
  if #n._order_by > 0 then s.order_by = compile_list(n._order_by, ctx) end
  if n._limit then s.limit = compile(n._limit, ctx) end
  if n._offset then s.offset = compile(n._offset, ctx) end
  if n._distinct then s.distinct = true end
  if n._correlate then s.correlate = n._correlate end
  if n._for_update then s.for_update = n._for_update end
  ctx.scopes[#ctx.scopes] = nil
  for _, f in ipairs(scope.inferred) do
    from = from or {}
    from[#from + 1] = compile(f, ctx)
  end
  s.from = from
  return finish(s, ctx, top, n)
end

local function compound(kindname, ...)
  local sel = list_of(...)
  if #sel < 2 then argerr(kindname .. "() needs two or more selects") end
  return setmetatable({ kind = kindname, selects = sel, _order_by = {} }, Compound)
end
function M.union(...) return compound("union", ...) end
function M.union_all(...) return compound("union_all", ...) end
function M.intersect(...) return compound("intersect", ...) end
function M.intersect_all(...) return compound("intersect_all", ...) end
function M.except_(...) return compound("except", ...) end
function M.except_all(...) return compound("except_all", ...) end
for _, k in ipairs { "union", "union_all", "intersect", "intersect_all", "except_all" } do
  Select[k] = function(self, ...) return M[k](self, ...) end
  Compound[k] = Select[k]
end
Select.except_ = function(self, ...) return M.except_(self, ...) end
Compound.except_ = Select.except_
Compound.order_by, Compound.limit, Compound.offset = Select.order_by, Select.limit, Select.offset
compilers.compound = function(n, ctx, top)
  local iso = ctx.isolate
  local selects = {}
  for i, e in ipairs(n.selects) do
    ctx.isolate = iso
    selects[i] = compile(e, ctx)
  end
  ctx.isolate = nil
  local s = values.map { k = n.kind, selects = selects }
  if #n._order_by > 0 then s.order_by = compile_list(n._order_by, ctx) end
  if n._limit then s.limit = compile(n._limit, ctx) end
  if n._offset then s.offset = compile(n._offset, ctx) end
  return finish(s, ctx, top)
end

---------------------------------------------------------------------------------------------------
-- INSERT, UPDATE, DELETE

local Insert = class("insert")
local Update = class("update")
local Delete = class("delete")

local function target(t)
  local k = kind(t)
  if k ~= "table" then argerr("expected a table (athanor.Table or athanor.table())") end
  return t
end
--- insert(table):values{col = v, ...} (or several tables for a multi-row VALUES); without values,
--- conn:execute(insert(t), {col = v}) or a list of such tables (executemany).
function M.insert(t) return setmetatable({ table = target(t) }, Insert) end
function M.update(t) return setmetatable({ table = target(t) }, Update) end
function M.delete(t) return setmetatable({ table = target(t) }, Delete) end

-- Column names of a {name = value} table in the table's column order (unknown names sorted after).
local function ordered_names(tbl, kv)
  local seen, out = {}, {}
  for _, col in ipairs(tbl.columns or {}) do
    if kv[col.name] ~= nil then out[#out + 1] = col.name; seen[col.name] = true end
  end
  local rest = {}
  for k in pairs(kv) do
    if type(k) ~= "string" then argerr("values() takes {column = value} tables") end
    if not seen[k] then rest[#rest + 1] = k end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do out[#out + 1] = k end
  return out
end

function Insert:values(...)
  local rows = { ... }
  if #rows == 1 and type(rows[1]) == "table" and rows[1][1] ~= nil and getmetatable(rows[1]) == nil then rows = rows[1] end
  local own = {}
  for i, r in ipairs(rows) do
    if type(r) ~= "table" or getmetatable(r) ~= nil then argerr("values() takes {column = value} tables") end
    own[i] = {}
    for k, v in pairs(r) do own[i][k] = v end -- the statement keeps what was given then
  end
  return copy(self, { _values = own })
end
function Insert:returning(...) return copy(self, { _returning = column_entries(list_of(...)) }) end
--- insert(t):from_select({names}, select).
function Insert:from_select(names, sel) return copy(self, { _from_select = sel, _select_names = names }) end
--- on_conflict_do_nothing{index_elements = {...}} / on_conflict_do_update{index_elements =, set_ = {col = v}, where =}
function Insert:on_conflict_do_nothing(o)
  o = o or {}
  return copy(self, { _on_conflict = { target = o.index_elements, constraint = o.constraint, where = o.index_where, ["do"] = "nothing" } })
end
function Insert:on_conflict_do_update(o)
  o = o or {}
  return copy(self, { _on_conflict = { target = o.index_elements, constraint = o.constraint, where = o.index_where,
    ["do"] = "update", set = o.set_, set_where = o.where } })
end
--- The excluded row of an upsert: excluded("name") (excluded.name / VALUES(name) on MySQL).
function M.excluded(name) return form { "excluded", name } end

local function names_of(list)
  local out = {}
  for i, c in ipairs(list or {}) do out[i] = type(c) == "string" and c or c.name end
  return out
end

local function set_pairs(tbl, kv, ctx)
  local out = {}
  for _, name in ipairs(ordered_names(tbl, kv)) do
    out[#out + 1] = { name, compile(coerce(kv[name]), ctx) }
  end
  return out
end

compilers.insert = function(n, ctx, top, keys)
  local s = values.map { k = "insert", table = compile(n.table, ctx) }
  if n._from_select then
    s.columns = names_of(n._select_names)
    s.select = compile_isolated(n._from_select, ctx)
  elseif n._values then
    local names = ordered_names(n.table, n._values[1])
    s.columns = names
    s.values = {}
    for r, row in ipairs(n._values) do
      local vals = {}
      for i, name in ipairs(names) do vals[i] = compile(coerce(row[name]), ctx) end
      s.values[r] = vals
    end
  elseif keys and #keys > 0 then -- columns from the execute params: one VALUES row of named binds
    s.columns = keys
    local vals = {}
    for i, name in ipairs(keys) do vals[i] = compile(M.bindparam(name), ctx) end
    s.values = { vals }
  end
  if n._on_conflict then
    local oc = n._on_conflict
    local o = values.map { ["do"] = oc["do"] }
    if oc.target then o.target = names_of(oc.target) end
    if oc.constraint then o.constraint = oc.constraint end
    if oc.where then o.where = compile(coerce(oc.where), ctx) end
    if oc.set then o.set = set_pairs(n.table, oc.set, ctx) end
    if oc.set_where then o.set_where = compile(coerce(oc.set_where), ctx) end
    s.on_conflict = o
  end
  if n._returning then s.returning = compile_list(n._returning, ctx) end
  return finish(s, ctx, top, n)
end

function Update:where(...)
  local conds = { self._where }
  for i = 1, select("#", ...) do conds[#conds + 1] = (select(i, ...)) end
  if conds[1] == nil then table.remove(conds, 1) end
  return copy(self, { _where = M.and_(unpack_list(conds)) })
end
Delete.where = Update.where
function Update:values(kv)
  if type(kv) ~= "table" or getmetatable(kv) ~= nil then argerr("values() takes a {column = value} table") end
  local own = {}
  for k, v in pairs(kv) do own[k] = v end
  return copy(self, { _values = own })
end
Update.returning, Delete.returning = Insert.returning, Insert.returning
--- update(t):where(...):values{...}:from(other...) / delete(t):using(other...)
function Update:from(...) return copy(self, { _extra_from = list_of(...) }) end
function Delete:using(...) return copy(self, { _extra_from = list_of(...) }) end

compilers.update = function(n, ctx, top, keys)
  local s = values.map { k = "update", table = compile(n.table, ctx) }
  if n._values then
    s.set = set_pairs(n.table, n._values, ctx)
  else
    s.set = {}
    for i, name in ipairs(keys or {}) do s.set[i] = { name, compile(M.bindparam(name), ctx) } end
  end
  if #s.set == 0 then argerr("update() needs values{...} or parameters naming the columns to set") end
  if n._extra_from then s.from = compile_list(n._extra_from, ctx) end
  if n._where then s.where = compile(n._where, ctx) end
  if n._returning then s.returning = compile_list(n._returning, ctx) end
  return finish(s, ctx, top, n)
end
compilers.delete = function(n, ctx, top)
  local s = values.map { k = "delete", table = compile(n.table, ctx) }
  if n._extra_from then s.using = compile_list(n._extra_from, ctx) end
  if n._where then s.where = compile(n._where, ctx) end
  if n._returning then s.returning = compile_list(n._returning, ctx) end
  return finish(s, ctx, top, n)
end

---------------------------------------------------------------------------------------------------
-- text()

local Text = class("text")
-- The :name markers of docs/wire-format.md 4.8: letters, digits, _ or bytes >= 0x80, not after a
-- ':' or such a byte, not followed by ':'; `\:` is a literal colon.
local function markers(s)
  local names, seen = {}, {}
  local i, n = 1, #s
  while i <= n do
    local c = s:sub(i, i)
    if c == "\\" then
      i = i + 2
    elseif c == ":" then
      local prev = i > 1 and s:sub(i - 1, i - 1) or ""
      local name = s:match("^[%w_\128-\255]+", i + 1)
      if name and prev ~= ":" and not prev:match("[%w_\128-\255]") and s:sub(i + 1 + #name, i + 1 + #name) ~= ":" then
        if not seen[name] then seen[name] = true; names[#names + 1] = name end
        i = i + 1 + #name
      else
        i = i + 1 + (name and #name or 0)
      end
    else
      i = i + 1
    end
  end
  return names
end
--- text("SELECT * FROM t WHERE a = :a"): raw SQL, as a statement or a fragment; :name markers are
--- bind parameters whose values come from execute's params or from :bindparams{name = value}.
function M.text(s)
  if type(s) ~= "string" then argerr("text() needs a SQL string") end
  return setmetatable({ sql = s, names = markers(s), defaults = {} }, Text)
end
function Text:bindparams(kv)
  local d = {}
  for k, v in pairs(self.defaults) do d[k] = v end
  for k, v in pairs(kv) do d[k] = v end
  return copy(self, { defaults = d })
end
local function text_binds(n, ctx)
  if #n.names == 0 then return nil end
  local b = values.map {}
  for _, name in ipairs(n.names) do
    local dv = n.defaults[name]
    b[name] = compile(M.bindparam(name, dv), ctx)
  end
  return b
end
compilers.text = function(n, ctx, top)
  if top then
    local s = values.map { k = "text", sql = n.sql }
    s.binds = text_binds(n, ctx)
    return s
  end
  local b = text_binds(n, ctx)
  if b then return { "text", n.sql, b } end
  return { "text", n.sql }
end

---------------------------------------------------------------------------------------------------
-- Preparing a statement for execution: shape bytes (cached on the statement) and params.

local statement_kinds = { select = true, compound = true, insert = true, update = true, delete = true, text = true }

-- The execute params' keys that become columns (insert/update without values), as a cache key.
local function implicit_keys(stmt, params, many)
  local k = kind(stmt)
  if not ((k == "insert" and not stmt._values and not stmt._from_select) or (k == "update" and not stmt._values)) then
    return nil, ""
  end
  local first = params and (many and params[1] or params) or {}
  local named = stmt._named_cache
  if not named then -- names used by bindparams elsewhere in the statement (e.g. an update's WHERE)
    local ctx = new_ctx(false)
    compile(stmt._where, ctx)
    named = ctx.names
    rawset(stmt, "_named_cache", named)
  end
  local kv = {}
  for key in pairs(first) do
    if type(key) == "string" and named[key] == nil then kv[key] = true end
  end
  local keys = ordered_names(stmt.table, kv)
  return keys, table.concat(keys, "\0")
end

local function compiled(stmt, params, many)
  local k = kind(stmt)
  if k ~= nil and k ~= "insert" and k ~= "update" then -- no implicit keys: the one cached form, if made
    local cache = rawget(stmt, "_cache")
    local c = cache and cache[""]
    if c then return c end
  end
  if not statement_kinds[k] then argerr("execute() needs a statement (select, insert, update, delete, text, union...)") end
  local keys, ck = implicit_keys(stmt, params, many)
  local cache = rawget(stmt, "_cache")
  if not cache then cache = {}; rawset(stmt, "_cache", cache) end
  local c = cache[ck]
  if not c then
    local ctx = new_ctx(false)
    local shape = compilers[k](stmt, ctx, true, keys)
    c = { shape = raw.pack(shape), plan = ctx.plan, n = ctx.n }
    cache[ck] = c
  end
  return c
end

-- The plan as the arrays luaglue.c packs params from (pack_params, pack_rows), made once per
-- compiled form: names[i] (nil for a lifted value), consts[i] (the lifted value or the name's
-- default), has[i] (a default exists), exp[i] (an expanding name; exp is nil when there are none).
local function plan_arrays(c)
  if not c.names then
    local names, consts, has, exp = {}, {}, {}, nil
    for i = 1, c.n do
      local e = c.plan[i]
      names[i] = e.name
      if e.name then consts[i], has[i] = e.default, e.has_default else consts[i], has[i] = e.v, true end
      if e.name and e.expanding then exp = exp or {}; exp[i] = true end
    end
    c.names, c.consts, c.has, c.exp = names, consts, has, exp
  end
  return c
end

-- One execution's params array, packed in C from the plan: lifted values, then named bindparams
-- from `p` (their default when absent; athanor.null for NULL, since a nil in a Lua table is no
-- entry at all); a plain list given for an expanding name is its array.
local function missing(name)
  errors.raise("ArgumentError", "A value is required for bind parameter '" .. name .. "' (use athanor.null for NULL)")
end
local function pack_params(c, p)
  plan_arrays(c)
  local packed, name = raw.pack_params(p, c.n, c.names, c.consts, c.has, c.exp)
  if not packed then missing(name) end
  return packed
end

--- prepare(stmt, params, many, shape_only): shape bytes and packed params (or param rows).
function M.prepare(stmt, params, many, shape_only)
  local c = compiled(stmt, params, many)
  if shape_only then return c.shape end
  if not many then
    if not c.names then plan_arrays(c) end
    local packed, name = raw.pack_params(params, c.n, c.names, c.consts, c.has, c.exp)
    if not packed then missing(name) end
    return c.shape, packed
  end
  plan_arrays(c) -- executemany: packed in C straight from the {name = value} rows
  local packed, row, name = raw.pack_rows(params, c.n, c.names, c.consts, c.has)
  if not packed then
    errors.raise("ArgumentError", "A value is required for bind parameter '" .. name .. "' in parameter row " ..
      row .. " (use athanor.null for NULL)")
  end
  return c.shape, packed
end

--- stmt:compile(dialect [, params]): {sql=, bind_order=, expanding=, params=} for a dialect by name
--- ("sqlite", "postgresql", "mysql", "mariadb"), without an engine.
local function compile_for(stmt, dialect, params)
  local c = compiled(stmt, params, false)
  local packed = params and pack_params(c, params) or nil
  local _, out = raw.ath_compile(dialect or "sqlite", c.shape, packed)
  return out
end
for _, cls in ipairs { Select, Compound, Insert, Update, Delete, Text } do
  cls.compile = compile_for
  cls.__tostring = function(s)
    local ok, out = pcall(compile_for, s, "sqlite")
    return ok and out.sql or ("<athanor statement: " .. tostring(out) .. ">")
  end
  cls.shape = function(s, params) return compiled(s, params, false).shape end
end

--- Compile an expression with values inline (schema specs: defaults, CHECK, index expressions).
function M.inline(e)
  if type(e) == "string" then return { "lit", e } end
  local ctx = new_ctx(true)
  return compile(coerce(e), ctx)
end

M.Select, M.Compound, M.Insert, M.Update, M.Delete, M.Text, M.Expr = Select, Compound, Insert, Update, Delete, Text, Expr
M.Subquery, M.CTE, M.Alias, M.Join, M.Function = Subquery, CTE, Alias, Join, Function
-- For layers that add node kinds (athanor/orm.lua): the node class maker, the raw-form node, and the
-- compiler table (compilers[kind] = function(node, ctx) -> wire form).
M.class, M.form, M.compilers, M.bind = class, form, compilers, bind
return M
