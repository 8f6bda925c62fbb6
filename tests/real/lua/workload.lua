-- workload.lua DIR: a long-running Lua service for the live-patch test.
--
-- It never stops doing work that runs through the code Debian's two CVE
-- fixes change: multi-operand string concatenation (luaV_concat), load() of
-- generated chunks that read globals (the parser's singlevar), and runtime
-- errors raised by the VM (luaG_runerror) caught by pcall/xpcall.  Every
-- result is checked; a wrong one is counted in state.failures.
--
-- Requests: the test drops a Lua chunk as DIR/req/N.lua (N = 1, 2, ...; written
-- elsewhere and renamed in), the service runs it under pcall inside this
-- process and answers in DIR/resp/N.txt (also renamed in): the chunk's
-- results joined by tabs, after "true" or "false" from pcall.  Lua's standard
-- library has no non-blocking read, so the service polls for the next file
-- between work batches instead of blocking on a pipe.
local dir = assert(arg[1], "usage: lua5.4 workload.lua DIR")

state = { iterations = 0, failures = 0, last_failure = "none" }

local function fail(what)
  state.failures = state.failures + 1
  state.last_failure = string.format("iteration %d: %s", state.iterations, what)
  io.stderr:write("workload: FAILURE ", state.last_failure, "\n")
end

local function expect(ok, what)
  if not ok then fail(what) end
end

-- __concat metamethods make the VM leave its string fast path.
local Tag = setmetatable({}, { __concat = function (a, b)
  local function s(x) return type(x) == "table" and "<tag>" or x end
  return s(a) .. s(b)
end })

local function concat_work(i)
  local s = "k" .. i .. ":" .. i * 3 .. "/" .. 0.5 .. "-" .. "end"
  expect(s == string.format("k%d:%d/0.5-end", i, i * 3), "concat " .. s)
  local acc = ""
  for j = 1, 24 do acc = acc .. j % 10 end
  expect(acc == "123456789012345678901234", "concat loop " .. acc)
  local long = string.rep("x", 40) .. i .. string.rep("y", 40)
  expect(#long == 80 + #tostring(i), "long concat length")
  expect(("a" .. Tag .. "b") == "a<tag>b", "__concat")
end

-- Chunks the parser has never seen: globals resolve through _ENV.
local env = { G0 = 0, G1 = 10, G2 = 20, G3 = 30, G4 = 40 }
local function load_work(i)
  local k = i % 97
  local src = "local a, b = ... return a * " .. k .. " + b + G" .. i % 5
  local chunk, err = load(src, "=gen", "t", env)
  if not chunk then return fail("load: " .. err) end
  expect(chunk(i, 7) == i * k + 7 + (i % 5) * 10, "generated chunk result")
  local src2 = "local _ENV <const> = ... return G1 + " .. k
  local chunk2 = load(src2, "=gen2")
  expect(chunk2 and chunk2(env) == 10 + k, "chunk with a table _ENV")
  local bad = load("return 1 +", "=broken")
  expect(bad == nil, "syntax error not reported")
end

local function error_work(i)
  local ok, msg = pcall(function () local t = nil; return t.x end)
  expect(not ok and msg:find("^workload%.lua:%d+: attempt to index a nil value %(local 't'%)$"),
         "index error message: " .. tostring(msg))
  ok, msg = pcall(function () return "a" .. {} end)
  expect(not ok and msg:find("attempt to concatenate a table value", 1, true), "concat error")
  ok, msg = xpcall(function () return i + nil end, function (m) return "handled: " .. m end)
  expect(not ok and msg:find("^handled: workload%.lua:%d+: attempt to perform arithmetic on a nil value$"),
         "xpcall handler: " .. tostring(msg))
  ok, msg = pcall(error, { code = i })
  expect(not ok and msg.code == i, "error with a table")
end

local next_req = 1
local function serve()
  local path = dir .. "/req/" .. next_req .. ".lua"
  local f = io.open(path, "r")
  if not f then return end
  local src = f:read("a")
  f:close()
  os.remove(path)
  local out
  local chunk, err = load(src, "=request", "t")
  if chunk then
    local r = table.pack(pcall(chunk))
    for k = 1, r.n do r[k] = tostring(r[k]) end
    out = table.concat(r, "\t", 1, r.n)
  else
    out = "false\tload: " .. err
  end
  local final = dir .. "/resp/" .. next_req .. ".txt"
  local tmp = final .. ".tmp"
  local w = assert(io.open(tmp, "w"))
  w:write(out, "\n")
  w:close()
  assert(os.rename(tmp, final))
  next_req = next_req + 1
end

io.stdout:write("ready\n")
io.stdout:flush()
while true do
  for _ = 1, 32 do
    local i = state.iterations + 1
    concat_work(i)
    load_work(i)
    error_work(i)
    state.iterations = i
  end
  serve()
end
