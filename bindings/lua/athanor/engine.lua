-- athanor/engine.lua — engines, connections, transactions and results (SQLAlchemy 2.0's
-- engine/base.py, engine/result.py): the Lua objects over the raw handles. Each object holds its
-- raw handle (released by its own __gc, or at once by close(), which is idempotent) and a
-- reference to its parent, so a result keeps its connection and engine alive. Statements are
-- turned into shape + params by athanor/sql.lua; rows are decoded in C one batch at a time.
-- Not here: the ORM (a Session will wrap a Connection the same way, from orm.lua).
local raw = require "athanor_raw"
local errors = require "athanor.errors"
local sql = require "athanor.sql"

local M = {}
local unpack = table.unpack or unpack
local function pack(...) return { n = select("#", ...), ... } end

-- conn:execute("SQL text"): one text() statement per distinct string while it is in use, so its
-- compiled shape is reused (weak values: unused ones are collected).
local text_cache = setmetatable({}, { __mode = "v" })

local function closed(what) errors.raise("ResourceClosedError", "This " .. what .. " is closed") end

-- The ArgumentError for a wrong argument type, naming the method.
local function argcheck(ok, method, msg)
  if not ok then errors.raise("ArgumentError", method .. ": " .. msg) end
end

---------------------------------------------------------------------------------------------------
-- Rows: arrays of values (nil for NULL) whose metatable maps column names to positions.

local row_methods = {}
--- row:_asdict(): {name = value}.
function row_methods._asdict(row)
  local mt = getmetatable(row)
  local d = {}
  for i, name in ipairs(mt.__keys) do d[name] = rawget(row, i) end
  return d
end
--- row:_tuple(): the values as multiple returns (NULLs included).
function row_methods._tuple(row) return unpack(row, 1, getmetatable(row).__n) end
function row_methods._fields(row) return { unpack(getmetatable(row).__keys) } end

local function row_metatable(keys)
  local index = {}
  for i, k in ipairs(keys) do
    if index[k] == nil then index[k] = i end
  end
  local mt = { __keys = keys, __n = #keys, __name = "athanor.Row" }
  mt.__index = function(row, k)
    local i = index[k]
    if i then return rawget(row, i) end
    return row_methods[k]
  end
  mt.__len = function() return #keys end
  mt.__tostring = function(row)
    local parts = {}
    for i = 1, #keys do
      local v = rawget(row, i)
      parts[i] = type(v) == "string" and ("%q"):format(v) or tostring(v)
    end
    return "(" .. table.concat(parts, ", ") .. ")"
  end
  return mt
end

---------------------------------------------------------------------------------------------------
-- Result

local Result = {}
Result.__index = Result
Result.__name = "athanor.Result"

-- Row metatables by column names (joined by NUL bytes, as raw.execute gives them): results of the
-- same columns share one instead of building it (and its closures) per execute. Weak values: a
-- metatable no row or result uses is collected.
local row_mts = setmetatable({}, { __mode = "v" })
local function row_metatable_of(h, names)
  local mt = row_mts[names]
  if mt then return mt end
  local keys = {}
  for i = 1, raw.ath_result_column_count(h) do keys[i] = raw.ath_result_column_name(h, i - 1) end
  mt = row_metatable(keys)
  row_mts[names] = mt
  return mt
end

-- A Result over raw handle h and the header values raw.execute returned with it.
local function new_result(conn, h, returns_rows, rowcount, lastrowid, names, ipk, pk_rows)
  local mt = row_mts[names] or row_metatable_of(h, names)
  -- _buffer and _pos are set when fetchone() buffers a batch; the keys are the row metatable's
  local self = setmetatable({ _h = h, _conn = conn, returns_rows = returns_rows, rowcount = rowcount,
    lastrowid = lastrowid, inserted_primary_key = ipk, _row_mt = mt }, Result)
  if pk_rows then -- read before a row-less result closes itself
    local _, keys = raw.ath_result_inserted_primary_key_rows(h)
    self._pk_rows = keys
  end
  if not returns_rows then self:close() end
  return self
end

function Result:keys() return { unpack(self._row_mt.__keys) } end

function Result:close()
  if self._h then
    raw.close(self._h)
    self._h = nil
  end
  self._buffer = nil
end
Result.__close = Result.close

local function need_rows(self)
  if not self.returns_rows then
    errors.raise("ResourceClosedError", "This result object does not return rows. It has been closed automatically.")
  end
end

--- The next batch of rows (a list; nil when none remain). max_rows: 0 or nil = 500.
function Result:fetchmany(max_rows)
  need_rows(self)
  argcheck(max_rows == nil or (type(max_rows) == "number" and max_rows >= 0 and max_rows < 2 ^ 31),
    "fetchmany", "the batch size must be a non-negative number")
  if self._buffer then
    local b, pos = self._buffer, self._pos
    self._buffer = nil
    if pos == 1 then return b end
    local out = {}
    for i = pos, #b do out[#out + 1] = b[i] end
    return #out > 0 and out or self:fetchmany(max_rows)
  end
  if not self._h then return nil end
  local batch = raw.fetch(self._h, max_rows or 0, self._row_mt)
  if not batch then self:close() end
  return batch
end

--- One row or nil.
function Result:fetchone()
  need_rows(self)
  if not self._buffer then
    self._buffer = self:fetchmany()
    self._pos = 1
    if not self._buffer then return nil end
  end
  local row = self._buffer[self._pos]
  self._pos = self._pos + 1
  if self._pos > #self._buffer then self._buffer = nil end
  return row
end

--- Every remaining row, as a list.
function Result:all()
  need_rows(self)
  local out = {}
  if self._buffer then
    for i = self._pos, #self._buffer do out[#out + 1] = self._buffer[i] end
    self._buffer = nil
  end
  if self._h then
    local rest = raw.fetch_all(self._h, 0, self._row_mt)
    self:close()
    if #out == 0 then return rest end
    for i = 1, #rest do out[#out + 1] = rest[i] end
  end
  return out
end
Result.fetchall = Result.all

--- Iterate rows one by one, fetching `batch` rows per call into C (default 500):
--- for row in result:rows() do ... end
function Result:rows(batch)
  need_rows(self)
  local buf, i = nil, 0
  return function()
    if buf then
      i = i + 1
      if i <= #buf then return buf[i] end
    end
    buf, i = self:fetchmany(batch), 1
    return buf and buf[1] or nil
  end
end

--- Iterate batches (lists of rows): for rows in result:partitions(1000) do ... end
function Result:partitions(size)
  need_rows(self)
  return function() return self:fetchmany(size) end
end

-- The next row and (with probe) whether another follows; the result is closed afterwards. Straight
-- from C when nothing is buffered: one crossing for the usual single-row result.
local function next_and_more(self, probe)
  if self._buffer or not self._h then
    local row = self:fetchone()
    local more = probe and row ~= nil and self:fetchone() ~= nil
    self:close()
    return row, more
  end
  local row, more = raw.fetch_one(self._h, self._row_mt, probe)
  self:close()
  return row, more
end

--- The first row (or nil), closing the result.
function Result:first()
  if not self.returns_rows then need_rows(self) end
  return (next_and_more(self, false))
end

--- Exactly one row: NoResultFound / MultipleResultsFound otherwise.
function Result:one()
  if not self.returns_rows then need_rows(self) end
  local row, more = next_and_more(self, true)
  if row == nil then errors.raise("NoResultFound", "No row was found when one was required") end
  if more then errors.raise("MultipleResultsFound", "Multiple rows were found when exactly one was required") end
  return row
end

--- At most one row: nil when none, MultipleResultsFound when more.
function Result:one_or_none()
  if not self.returns_rows then need_rows(self) end
  local row, more = next_and_more(self, true)
  if more then errors.raise("MultipleResultsFound", "Multiple rows were found when one or none was required") end
  return row
end

--- The first column of the first row (nil when no row), closing the result.
function Result:scalar()
  local row = self:first()
  if row == nil then return nil end
  return rawget(row, 1)
end

--- The first column of each row (ScalarResult): :all(), :first(), :one(), :one_or_none(), :iter().
local ScalarResult = {}
ScalarResult.__index = ScalarResult
function Result:scalars(index)
  need_rows(self)
  return setmetatable({ _result = self, _i = index or 1 }, ScalarResult)
end
function ScalarResult:all()
  local out = {}
  for n, row in ipairs(self._result:all()) do out[n] = rawget(row, self._i) end
  return out
end
function ScalarResult:first()
  local row = self._result:first()
  if row ~= nil then return rawget(row, self._i) end
end
function ScalarResult:one() return rawget(self._result:one(), self._i) end
function ScalarResult:one_or_none()
  local row = self._result:one_or_none()
  if row ~= nil then return rawget(row, self._i) end
end
function ScalarResult:iter(batch)
  local rows = self._result:rows(batch)
  return function()
    local row = rows()
    if row ~= nil then return rawget(row, self._i) end
  end
end
ScalarResult.close = function(self) self._result:close() end

--- Rows as {name = value} tables: :all(), :first(), :one(), :iter().
local MappingResult = {}
MappingResult.__index = MappingResult
function Result:mappings()
  need_rows(self)
  return setmetatable({ _result = self }, MappingResult)
end
function MappingResult:all()
  local out = {}
  for n, row in ipairs(self._result:all()) do out[n] = row:_asdict() end
  return out
end
function MappingResult:first()
  local row = self._result:first()
  return row and row:_asdict()
end
function MappingResult:one() return self._result:one():_asdict() end
function MappingResult:iter(batch)
  local rows = self._result:rows(batch)
  return function()
    local row = rows()
    return row and row:_asdict()
  end
end

--- The primary keys of every inserted row, each a list in key column order (executemany with
--- {return_defaults = true}), or nil.
function Result:inserted_primary_key_rows() return self._pk_rows end

---------------------------------------------------------------------------------------------------
-- Transaction

local Transaction = {}
Transaction.__index = Transaction
Transaction.__name = "athanor.Transaction"

function Transaction:commit()
  if not self._h then closed("transaction") end
  raw.ath_txn_commit(self._h)
end
function Transaction:rollback()
  if not self._h then closed("transaction") end
  raw.ath_txn_rollback(self._h)
end
function Transaction:is_active() return self._h ~= nil and raw.ath_txn_is_active(self._h) == 1 end
--- Two-phase only: PREPARE (then commit() / rollback() finish it), and the transaction id.
function Transaction:prepare()
  if not self._h then closed("transaction") end
  raw.ath_txn_prepare(self._h)
end
function Transaction:xid() return self._h and raw.ath_txn_xid(self._h) end
--- Release the transaction, rolling it back if still active. Idempotent.
function Transaction:close()
  if self._h then
    raw.close(self._h)
    self._h = nil
  end
end
--- Lua 5.4: `local tx <close> = conn:begin()` commits at the end of the scope, rolls back on error.
Transaction.__close = function(self, err)
  if self._h and raw.ath_txn_is_active(self._h) == 1 then
    if err == nil then self:commit() else self:rollback() end
  end
  self:close()
end

---------------------------------------------------------------------------------------------------
-- Connection

local Connection = {}
Connection.__index = Connection
Connection.__name = "athanor.Connection"

local function h_of(conn)
  if not conn._h then closed("Connection") end
  return conn._h
end

--- conn:execute(statement, params): a Result. params is a table of named values, or a list of
--- such tables for executemany (DBAPI executemany / insertmanyvalues). opts: {return_defaults=true}.
function Connection:execute(stmt, params, opts)
  local h = self._h -- h_of() and argcheck() inline: the hot path of Core
  if not h then closed("Connection") end
  if params ~= nil and type(params) ~= "table" then
    argcheck(false, "execute", "params must be a table or a list of tables")
  end
  if type(stmt) == "string" then
    local t = text_cache[stmt]
    if not t then t = sql.text(stmt); text_cache[stmt] = t end
    stmt = t
  end
  local many = params ~= nil and params[1] ~= nil and type(params[1]) == "table" and getmetatable(params) == nil
  local shape, packed = sql.prepare(stmt, params, many)
  local flags = many and opts and opts.return_defaults and raw.ATH_EXEC_RETURN_DEFAULTS or 0
  local res, returns_rows, rowcount, lastrowid, names, ipk = raw.execute(h, shape, packed, many, flags)
  return new_result(self, res, returns_rows, rowcount, lastrowid, names, ipk, many and opts and opts.return_defaults)
end

--- The first column of the first row.
function Connection:scalar(stmt, params) return self:execute(stmt, params):scalar() end
--- The first column of every row (ScalarResult).
function Connection:scalars(stmt, params) return self:execute(stmt, params):scalars() end

function Connection:commit() raw.ath_conn_commit(h_of(self)) end
function Connection:rollback() raw.ath_conn_rollback(h_of(self)) end
function Connection:in_transaction() return raw.ath_conn_in_transaction(h_of(self)) == 1 end
function Connection:set_isolation_level(level) raw.ath_conn_set_isolation_level(h_of(self), level) end

-- Run fn(conn) inside transaction tx: commit when it returns, roll back and re-raise when it fails.
local function run_in(tx, conn, fn)
  local res = pack(pcall(fn, conn))
  if res[1] then
    if tx._h and raw.ath_txn_is_active(tx._h) == 1 then tx:commit() end
    tx:close()
    return unpack(res, 2, res.n)
  end
  pcall(function() if tx._h and raw.ath_txn_is_active(tx._h) == 1 then tx:rollback() end end)
  tx:close()
  error(res[2], 0)
end

--- conn:begin() -> Transaction; conn:begin(function(conn) ... end) runs the function in a
--- transaction that commits when it returns and rolls back (re-raising the error) when it fails.
function Connection:begin(fn)
  local _, t = raw.ath_conn_begin(h_of(self))
  local tx = setmetatable({ _h = t, _conn = self }, Transaction)
  if fn == nil then return tx end
  argcheck(type(fn) == "function", "begin", "expects a function or nothing")
  return run_in(tx, self, fn)
end

--- A SAVEPOINT; with a function, as begin(fn).
function Connection:begin_nested(fn)
  local _, t = raw.ath_conn_begin_nested(h_of(self))
  local tx = setmetatable({ _h = t, _conn = self }, Transaction)
  if fn == nil then return tx end
  return run_in(tx, self, fn)
end

--- A two-phase transaction (PostgreSQL PREPARE TRANSACTION, MySQL XA): tx:prepare(), then
--- tx:commit() / tx:rollback(); tx:xid() is its id (generated when not given).
function Connection:begin_twophase(xid)
  argcheck(xid == nil or type(xid) == "string", "begin_twophase", "xid must be a string")
  local _, t = raw.ath_conn_begin_twophase(h_of(self), xid)
  return setmetatable({ _h = t, _conn = self }, Transaction)
end
--- The xids of the prepared transactions the server holds.
function Connection:recover_twophase()
  local _, xids = raw.ath_conn_recover_twophase(h_of(self))
  return xids
end
function Connection:commit_prepared(xid) raw.ath_conn_commit_prepared(h_of(self), xid) end
function Connection:rollback_prepared(xid) raw.ath_conn_rollback_prepared(h_of(self), xid) end

--- Return the connection to the pool (rolling back what was not committed). Idempotent.
function Connection:close()
  if self._h then
    raw.close(self._h)
    self._h = nil
  end
end
function Connection:closed() return self._h == nil end
--- Lua 5.4: `local conn <close> = engine:connect()`; for engine:begin()'s connection, the scope's
--- end also commits (or rolls back, on error) its transaction.
Connection.__close = function(self, err)
  if self._scope_tx then
    Transaction.__close(self._scope_tx, err)
    self._scope_tx = nil
  end
  self:close()
end

---------------------------------------------------------------------------------------------------
-- Engine

local Engine = {}
Engine.__index = Engine
Engine.__name = "athanor.Engine"

--- create_engine(url, opts): opts as SQLAlchemy's create_engine keywords: echo, pool_size,
--- max_overflow, pool_timeout (s), pool_recycle (s), pool_pre_ping, pool_use_lifo, pool_class
--- ("queue", "null", "static", "singleton_thread"), isolation_level, stream_results,
--- compile_cache_size, stmt_cache_size, metadata (a MetaData: typed binds and results).
function M.create_engine(url, opts)
  argcheck(type(url) == "string", "create_engine", "url must be a string")
  argcheck(opts == nil or type(opts) == "table", "create_engine", "opts must be a table")
  local copts, md = nil, nil
  if opts then
    copts = {}
    for k, v in pairs(opts) do copts[k] = v end
    if copts.metadata ~= nil then
      md = copts.metadata
      argcheck(type(md) == "table" and md._handle, "create_engine", "metadata must be a MetaData")
      copts.metadata = md:_handle()
    end
  end
  local _, h = raw.ath_engine_create(url, copts)
  return setmetatable({ _h = h, url = url, metadata = md, dialect = raw.ath_engine_dialect_name(h) }, Engine)
end

local function eh(engine)
  if not engine._h then closed("Engine") end
  return engine._h
end

--- A Connection checked out of the pool.
function Engine:connect()
  local _, c = raw.ath_engine_connect(eh(self))
  return setmetatable({ _h = c, engine = self }, Connection)
end

--- engine:begin(function(conn) ... end): a connection in a transaction, committed when the function
--- returns, rolled back when it raises; the connection is closed either way. Without a function:
--- a Connection with a begun transaction, which `<close>` (Lua 5.4) commits or rolls back.
function Engine:begin(fn)
  local conn = self:connect()
  if fn == nil then
    conn._scope_tx = conn:begin()
    return conn
  end
  argcheck(type(fn) == "function", "begin", "expects a function or nothing")
  local results = pack(pcall(conn.begin, conn, fn))
  conn:close()
  if not results[1] then error(results[2], 0) end
  return unpack(results, 2, results.n)
end

--- Compile a statement for this engine's dialect (through its cache): {sql=, bind_order=, expanding=}.
function Engine:compile(stmt)
  local shape = sql.prepare(stmt, nil, false, true)
  local _, out = raw.ath_engine_compile(eh(self), shape)
  return out
end

--- Counters: {compile_cache = {...}, stmt_cache = {...}, pool = {...}}.
function Engine:stats()
  local _, s = raw.ath_engine_stats(eh(self))
  return s
end

--- Close idle pooled connections and release the engine (connections still out keep it alive).
function Engine:dispose()
  if self._h then
    raw.close(self._h)
    self._h = nil
  end
end
Engine.close = Engine.dispose
Engine.__close = Engine.dispose

function Engine:_handle() return eh(self) end

M.Engine, M.Connection, M.Result, M.Transaction = Engine, Connection, Result, Transaction
return M
