-- values_spec.lua — Lua values <-> msgpack in luaglue.c, without a database: every native type and
-- ext type round-trips, maps are encoded with sorted keys, malformed input is a Lua error.
local athanor = require "athanor"
local raw = athanor.raw

local function rt(v) return raw.unpack(raw.pack(v)) end

describe("msgpack values", function()
  it("round-trips native values", function()
    for _, v in ipairs { 0, 1, -1, 127, 128, -33, 255, 65536, -2147483649, 2 ^ 40, 1.5, -2.25, "", "héllo", true, false } do
      assert.are.equal(v, rt(v))
    end
    local long = ("x"):rep(70000)
    assert.are.equal(long, rt(long))
    assert.is_nil(rt(nil))
    assert.is_nil(rt(athanor.null))
  end)

  it("keeps 64-bit integers exact on Lua 5.4", function()
    if jit then return end
    assert.are.equal(math.maxinteger, rt(math.maxinteger))
    assert.are.equal(math.mininteger, rt(math.mininteger))
    assert.are.equal("float", math.type(rt(3.0)))
    assert.are.equal("integer", math.type(rt(3)))
  end)

  it("encodes sequences as arrays and other tables as maps with sorted keys", function()
    assert.are.same({ 1, 2, { 3 } }, rt { 1, 2, { 3 } })
    assert.are.same({ a = 1, b = { c = "d" } }, rt { b = { c = "d" }, a = 1 })
    assert.are.equal(raw.pack { a = 1, b = 2, c = 3 }, raw.pack { c = 3, b = 2, a = 1 })
    assert.are.equal("\x90", raw.pack {})
    assert.are.equal("\x80", raw.pack(athanor.map {}))
    assert.are.equal("\x93\xc0\x01\xc0", raw.pack(athanor.array({ nil, 1 }, 3)))
  end)

  it("round-trips the ext value types", function()
    local vals = {
      athanor.Decimal("12.3400"), athanor.Date("2024-02-29"), athanor.Time("23:59:59.999999"),
      athanor.DateTime("2024-01-02T03:04:05.5"), athanor.Interval { days = -1, seconds = 1 },
      athanor.UUID("12345678-1234-5678-1234-567812345678"), athanor.Timestamp("2100-01-01T00:00:00.000001Z"),
      athanor.Timestamp(0), athanor.Timestamp(-86400), athanor.Binary("\0\1\2\255"),
    }
    for _, v in ipairs(vals) do
      local back = rt(v)
      assert.are.equal(getmetatable(v), getmetatable(back))
      assert.are.equal(tostring(v), tostring(back))
      assert.is_true(v == back)
    end
    assert.are.equal("12345678-1234-5678-1234-567812345678", tostring(athanor.UUID("12345678123456781234567812345678")))
    assert.are.equal("2024-01-02T03:04:05Z", tostring(athanor.Timestamp("2024-01-02T05:04:05+02:00")))
    assert.are.equal("-1 day, 0:00:01", tostring(athanor.Interval { days = -1, seconds = 1 }))
    assert.are.equal("Decimal", athanor.typeof(athanor.Decimal("1")))
  end)

  it("rejects what it cannot encode or decode, with a Lua error", function()
    assert.has_error(function() raw.pack(print) end, "athanor: cannot encode a Lua function as a value")
    assert.has_error(function() raw.pack { [1.5] = 1 } end)
    local deep = {}
    local t = deep
    for _ = 1, 100 do t[1] = {}; t = t[1] end
    assert.has_error(function() raw.pack(deep) end, "athanor: value nested too deeply to encode")
    assert.has_error(function() raw.unpack("\xdd\0\0\0\5") end)
    assert.has_error(function() raw.unpack("\xc1") end)
    assert.has_error(function() raw.unpack("\x01\x02") end)
    assert.has_error(function() athanor.Date("yesterday") end)
    assert.has_error(function() athanor.UUID("nope") end)
  end)
end)
