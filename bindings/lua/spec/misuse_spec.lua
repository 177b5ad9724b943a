-- misuse_spec.lua — every function of the raw module called with wrong arguments, NULL and closed
-- handles: each call either works or raises a Lua error; none may crash the host (run under ASan).
local athanor = require "athanor"
local raw = athanor.raw

describe("the raw module under misuse", function()
  it("raises instead of crashing, whatever the arguments", function()
    local engine = athanor.create_engine("sqlite://")
    local conn = engine:connect()
    local res = conn:execute(athanor.select(athanor.literal(1)))
    local tx_conn = engine:connect()
    local tx = tx_conn:begin()
    local md = athanor.MetaData()
    athanor.Table("t", md, athanor.Column("id", athanor.types.Integer))
    local mdh = md:_handle()
    local handles = { engine._h, conn._h, res._h, tx._h, mdh }
    local closed = {}
    for i, h in ipairs(handles) do closed[i] = h end
    -- close them all (children first); the userdata stay, now empty
    for i = #handles - 1, 1, -1 do raw.close(handles[i]) end
    raw.close(mdh)
    local live_engine = athanor.create_engine("sqlite://")
    local live_conn = live_engine:connect()
    local args = {
      {}, { nil }, { nil, nil, nil, nil, nil, nil }, { 1, 2, 3, 4 }, { -1, -1, -1 }, { "x", "y", "z" },
      { {}, {}, {} }, { print }, { true, false }, { 2 ^ 63, 0 / 0 }, { raw.pack { 1 } }, { "\xc1" },
      { live_engine._h, "x" }, { live_conn._h, "\x93", "\x90" }, { live_conn._h, raw.pack { k = "select" }, nil },
    }
    for _, h in ipairs(closed) do
      args[#args + 1] = { h }
      args[#args + 1] = { h, h, h }
      args[#args + 1] = { h, raw.pack { k = "select", columns = { { "lit", 1 } } }, raw.pack {} }
      args[#args + 1] = { h, 0, nil }
      args[#args + 1] = { h, 4, "main", "t" }
    end
    local skip = { ath_init = true, ath_shutdown = true, configure = true, close = true } -- close: tested elsewhere
    local calls = 0
    for name, f in pairs(raw) do
      if type(f) == "function" and not skip[name] then
        for _, a in ipairs(args) do
          pcall(f, (table.unpack or unpack)(a, 1, 6))
          calls = calls + 1
        end
      end
    end
    assert.is_true(calls > 500)
    -- the live objects still work
    assert.are.equal(2, live_conn:scalar(athanor.select(athanor.literal(1) + 1)))
    live_conn:close()
    live_engine:dispose()
    tx_conn:close()
    collectgarbage()
    collectgarbage()
  end)
end)
