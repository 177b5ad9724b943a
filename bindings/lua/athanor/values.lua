-- athanor/values.lua — Lua values for what Lua lacks among the wire's values (docs/wire-format.md
-- "Values"): Decimal (ext 2), Date (3), Time (4), DateTime (5, naive), Interval (6, microseconds),
-- UUID (7), Timestamp (-1, a timezone-aware instant), Binary (msgpack bin) and null (SQL NULL inside
-- lists, where nil cannot be stored). Each is a small table with a metatable: tostring gives its
-- text, == compares values. luaglue.c builds them when decoding results and encodes them back.
local raw = require "athanor_raw"

local M = {}

local function text_type(name, code, check)
  local mt = { __ath_ext = code, __name = "athanor." .. name }
  mt.__index = mt
  mt.__tostring = function(v) return v.v end
  mt.__eq = function(a, b) return a.v == b.v end
  mt.__lt = function(a, b) return a.v < b.v end
  mt.__le = function(a, b) return a.v <= b.v end
  local ctor = function(s)
    if type(s) ~= "string" and type(s) ~= "number" then
      error("athanor." .. name .. "() expects a string", 2)
    end
    s = tostring(s)
    if check and not s:match(check) then
      error(("athanor.%s(): malformed value %q"):format(name, s), 2)
    end
    return setmetatable({ v = s }, mt)
  end
  return ctor, mt
end

local dec_mt, date_mt, time_mt, dt_mt
M.Decimal, dec_mt = text_type("Decimal", 2, "^[+-]?%d*%.?%d*[eE]?[+-]?%d*$")
M.Date, date_mt = text_type("Date", 3, "^%d%d%d%d%-%d%d%-%d%d$")
M.Time, time_mt = text_type("Time", 4, "^%d%d:%d%d:%d%d")
M.DateTime, dt_mt = text_type("DateTime", 5, "^%d%d%d%d%-%d%d%-%d%d[T ]%d%d:%d%d:%d%d")
do
  local mk = M.DateTime
  M.DateTime = function(s)
    if type(s) == "string" then s = s:gsub("^(%d%d%d%d%-%d%d%-%d%d) ", "%1T") end
    return mk(s)
  end
end
--- Decimal's number (lossy).
function dec_mt.tonumber(v) return tonumber(v.v) end

-- UUID: 16 bytes; tostring gives the dashed lowercase hex form.
local uuid_mt = { __ath_ext = 7, __name = "athanor.UUID" }
uuid_mt.__index = uuid_mt
uuid_mt.__tostring = function(u)
  local h = u.v:gsub(".", function(c) return ("%02x"):format(c:byte()) end)
  return ("%s-%s-%s-%s-%s"):format(h:sub(1, 8), h:sub(9, 12), h:sub(13, 16), h:sub(17, 20), h:sub(21, 32))
end
uuid_mt.__eq = function(a, b) return a.v == b.v end
function M.UUID(s)
  if type(s) ~= "string" then error("athanor.UUID() expects a string", 2) end
  if #s == 16 and not s:match("^[%x%-]+$") then return setmetatable({ v = s }, uuid_mt) end
  local h = s:gsub("[{}%-]", ""):lower()
  if not h:match("^" .. ("%x"):rep(32) .. "$") then error(("athanor.UUID(): malformed UUID %q"):format(s), 2) end
  return setmetatable({ v = (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)) }, uuid_mt)
end

-- Interval: a signed number of microseconds.
local iv_mt = { __ath_ext = 6, __name = "athanor.Interval" }
iv_mt.__index = iv_mt
iv_mt.__eq = function(a, b) return a.us == b.us end
-- As Python's timedelta: days (possibly negative), then a non-negative H:MM:SS[.ffffff].
iv_mt.__tostring = function(v)
  local us = v.us
  local days = math.floor(us / 86400e6)
  local rem = us - days * 86400e6
  local s = math.floor(rem / 1e6)
  local frac = rem - s * 1e6
  local out = ("%d:%02d:%02d"):format(math.floor(s / 3600), math.floor(s % 3600 / 60), s % 60)
  if frac ~= 0 then out = out .. (".%06d"):format(frac) end
  if days ~= 0 then out = ("%d day%s, "):format(days, (days == 1 or days == -1) and "" or "s") .. out end
  return out
end
function iv_mt.seconds(v) return v.us / 1e6 end
--- Interval{days=, hours=, minutes=, seconds=, microseconds=} or Interval(seconds).
function M.Interval(t)
  local us
  if type(t) == "number" then
    us = t * 1e6
  elseif type(t) == "table" then
    us = ((t.days or 0) * 86400 + (t.hours or 0) * 3600 + (t.minutes or 0) * 60 + (t.seconds or 0)) * 1e6
      + (t.microseconds or 0)
  else
    error("athanor.Interval() expects seconds or {days=, hours=, minutes=, seconds=, microseconds=}", 2)
  end
  us = math.floor(us + 0.5)
  if math.tointeger then us = math.tointeger(us) or us end
  return setmetatable({ us = us }, iv_mt)
end

-- Timestamp: a timezone-aware instant (Unix seconds + nanoseconds); tostring in UTC, RFC 3339.
local ts_mt = { __ath_ext = -1, __name = "athanor.Timestamp" }
ts_mt.__index = ts_mt
ts_mt.__eq = function(a, b) return a.sec == b.sec and a.nsec == b.nsec end
local function civil_from_days(z) -- days since 1970-01-01 -> y, m, d (Howard Hinnant's algorithm)
  z = z + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  return m <= 2 and y + 1 or y, m, d
end
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
ts_mt.__tostring = function(t)
  local days = math.floor(t.sec / 86400)
  local rem = t.sec - days * 86400
  local y, m, d = civil_from_days(days)
  local s = ("%04d-%02d-%02dT%02d:%02d:%02d"):format(y, m, d, math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60)
  if t.nsec ~= 0 then s = s .. (".%06d"):format(math.floor(t.nsec / 1000)) end
  return s .. "Z"
end
--- Timestamp(unix_seconds [, nanoseconds]) or Timestamp("YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+hh:mm]").
function M.Timestamp(a, nsec)
  local sec
  if type(a) == "number" then
    sec = math.floor(a)
    nsec = nsec or math.floor((a - sec) * 1e9 + 0.5)
  elseif type(a) == "string" then
    local y, mo, d, h, mi, s, rest = a:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):(%d%d)(.*)$")
    if not y then error(("athanor.Timestamp(): malformed instant %q"):format(a), 2) end
    local frac, tz = rest:match("^%.(%d+)(.*)$")
    tz = tz or rest
    nsec = frac and math.floor(tonumber(frac) * 10 ^ (9 - #frac) + 0.5) or 0
    sec = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
    if tz ~= "" and tz ~= "Z" then
      local sg, oh, om = tz:match("^([+-])(%d%d):?(%d%d)$")
      if not sg then error(("athanor.Timestamp(): malformed offset %q"):format(tz), 2) end
      local off = tonumber(oh) * 3600 + tonumber(om) * 60
      sec = sg == "+" and sec - off or sec + off
    end
  else
    error("athanor.Timestamp() expects Unix seconds or an RFC 3339 string", 2)
  end
  if math.tointeger then sec = math.tointeger(sec) or sec; nsec = math.tointeger(nsec) or nsec end
  return setmetatable({ sec = sec, nsec = nsec or 0 }, ts_mt)
end

-- Binary: bytes to bind as msgpack bin (LargeBinary); results of binary columns come back as one.
local bin_mt = { __ath_bin = true, __name = "athanor.Binary" }
bin_mt.__index = bin_mt
bin_mt.__tostring = function(b) return b.bytes end
bin_mt.__eq = function(a, b) return a.bytes == b.bytes end
bin_mt.__len = function(b) return #b.bytes end
function M.Binary(s)
  if type(s) ~= "string" then error("athanor.Binary() expects a string", 2) end
  return setmetatable({ bytes = s }, bin_mt)
end

-- An array that keeps nils (its length in n): params, JSON arrays with nulls.
local array_mt = { __ath_array = true }
function M.array(t, n) t = t or {}; t.n = n or t.n or #t; return setmetatable(t, array_mt) end
-- A map even when empty or keyed 1..n.
local map_mt = { __ath_map = true }
function M.map(t) return setmetatable(t or {}, map_mt) end

local errors = require "athanor.errors"
--- SQL NULL where a nil cannot be stored (inside lists); a light userdata, encoded as nil.
M.null = raw.configure {
  error_mt = errors.Error,
  binary_mt = bin_mt,
  ext = { [2] = dec_mt, [3] = date_mt, [4] = time_mt, [5] = dt_mt, [6] = iv_mt, [7] = uuid_mt, [-1] = ts_mt },
}

--- The value type's name ("Decimal", ...) or nil for plain Lua values.
function M.typeof(v)
  local mt = getmetatable(v)
  return mt and mt.__name and mt.__name:match("^athanor%.(.*)$") or nil
end

return M
