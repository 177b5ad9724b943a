-- athanor/errors.lua — the error classes (SQLAlchemy's exception hierarchy) as Lua values, built at
-- load time from the C library's table (errors.def, through athanor_raw.error_classes()), and the
-- error object every failure raises: {class, message, sqlstate, native_code, code, sql, ...}.
-- Errors from C are made in the generated wrapper (luaglue.c); errors the Lua layer detects itself
-- (NoResultFound, a closed connection, a missing parameter) are made here with the same shape.
local raw = require "athanor_raw"

local M = {}

local Error = {}
Error.__index = Error

local classes = {}   -- name -> class {name, parent (class or nil), code}
local by_id = {}

for id, c in pairs(raw.error_classes()) do
  by_id[id] = { name = c.name, code = c.code, id = id, parent_id = c.parent }
end
for id, c in pairs(by_id) do
  if id ~= 0 and c.parent_id ~= 0 then c.parent = by_id[c.parent_id] end
  classes[c.name] = c
  M[c.name] = c
end

-- True when class name `a` is `b` or one of its descendants.
local function class_is(a, b)
  local c = classes[a]
  local target = type(b) == "table" and b.name or b
  while c do
    if c.name == target then return true end
    c = c.parent
  end
  return false
end

--- err:is(class_or_name): whether the error is of that class or a subclass.
function Error:is(what) return class_is(self.class, what) end

Error.__tostring = function(e)
  local s = e.class .. ": " .. tostring(e.message)
  if e.sqlstate and e.sqlstate ~= "" then s = s .. " (SQLSTATE " .. e.sqlstate .. ")" end
  if e.sql then s = s .. "\n[SQL: " .. e.sql .. "]" end
  return s
end

--- The metatable of every athanor error object (also given to errors raised in C).
M.Error = Error

--- A new error object of class `name` (raised with error(), level 0 keeps the message intact).
function M.new(name, message, fields)
  local e = fields or {}
  e.class = name
  e.class_id = classes[name] and classes[name].id or -1
  e.message = message
  e.code = e.code or -1
  e.sqlstate = e.sqlstate or ""
  return setmetatable(e, Error)
end

function M.raise(name, message, fields)
  error(M.new(name, message, fields), 0)
end

--- True when `v` is an athanor error object (of class `what`, when given).
function M.is(v, what)
  if getmetatable(v) ~= Error then return false end
  return what == nil or class_is(v.class, what)
end

M.class_is = class_is
return M
