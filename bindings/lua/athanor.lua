-- athanor.lua — `require "athanor"`: SQLAlchemy's Core for Lua (5.4 and LuaJIT 2.1) over libathanor.
-- This file only gathers the public names; the layer is split by responsibility:
--   athanor/engine.lua  engines, connections, transactions, results     athanor/errors.lua  error classes
--   athanor/sql.lua     the expression language and statements           athanor/values.lua  Decimal, Date, ...
--   athanor/schema.lua  MetaData, Table, Column, types, DDL, reflection, inspect
--   athanor/orm.lua     the ORM: registry and declarative classes, Session, ORM statements (athanor.orm)
-- athanor_raw (the SWIG module generated from bindings/athanor.i) is the C API underneath.
local raw = require "athanor_raw"
local values = require "athanor.values"
local errors = require "athanor.errors"
local sql = require "athanor.sql"
local schema = require "athanor.schema"
local engine = require "athanor.engine"
local orm = require "athanor.orm"

local M = {
  _VERSION = raw.ath_version_string(),
  errors = errors,
  types = schema.types,
  null = values.null,
  raw = raw,
  orm = orm,
}

for _, name in ipairs { "Decimal", "Date", "Time", "DateTime", "Timestamp", "Interval", "UUID", "Binary", "array", "map", "typeof" } do
  M[name] = values[name]
end
M.create_engine = engine.create_engine
for _, name in ipairs { "select", "insert", "update", "delete", "text", "table", "column", "bindparam", "literal",
  "literal_column", "true_", "false_", "and_", "or_", "not_", "tuple_", "distinct", "asc", "desc", "extract", "exists",
  "cast", "type_coerce", "case", "func", "union", "union_all", "intersect", "intersect_all", "except_", "except_all",
  "excluded", "star" } do
  M[name] = sql[name]
end
M.sql_null = sql.null -- the NULL expression (athanor.null is the NULL value)
for _, name in ipairs { "MetaData", "Table", "Column", "ForeignKey", "ForeignKeyConstraint", "PrimaryKeyConstraint",
  "UniqueConstraint", "CheckConstraint", "Index", "inspect" } do
  M[name] = schema[name]
end
-- Types live in athanor.types (athanor.Date is the date value, athanor.types.Date the column type).

--- athanor.version(): "major.minor.patch" of the loaded library.
function M.version() return raw.ath_version_string() end

return M
