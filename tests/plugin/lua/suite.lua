-- suite.lua: exercises the parts of Lua a plugin-built interpreter must get
-- right (VM, GC, strings, tables, coroutines, errors).  Prints one line per
-- check and "all N checks passed" at the end; any failure raises an error.
local n = 0
local function check(name, cond)
  n = n + 1
  if not cond then error("check failed: " .. name, 2) end
  print("ok " .. n .. " " .. name)
end

local function fib(k) if k < 2 then return k end return fib(k - 1) + fib(k - 2) end
check("recursion", fib(20) == 6765)

check("integer arithmetic", 7 // 2 == 3 and 7 % 3 == 1 and math.maxinteger + 1 == math.mininteger)
check("float arithmetic", math.abs(math.sqrt(2) ^ 2 - 2) < 1e-12 and 7 / 2 == 3.5)
check("bitwise", (0xF0 | 0x0F) == 0xFF and (1 << 10) == 1024 and (~0) == -1)
check("string.format", string.format("%5.2f|%d|%s|%x", 3.14159, 42, "x", 255) == " 3.14|42|x|ff")
check("string patterns", ("key=value; k2=v2"):gsub("(%w+)=(%w+)", "%2=%1") == "value=key; v2=k2")
check("string.rep and len", #string.rep("ab", 1000, ",") == 2999)
check("utf8", utf8.len("héllo") == 5 and utf8.char(233) == "é")

local t = {}
for i = 1, 10000 do t[i] = (i * 7919) % 10007 end
table.sort(t)
local sorted = true
for i = 2, #t do if t[i - 1] > t[i] then sorted = false end end
check("table.sort", sorted)
check("table.concat", table.concat({1, 2, 3}, "-") == "1-2-3")

local mt = {__add = function(a, b) return setmetatable({v = a.v + b.v}, getmetatable(a)) end,
            __index = function(_, k) return k .. "!" end}
local a, b = setmetatable({v = 1}, mt), setmetatable({v = 2}, mt)
check("metatables", (a + b).v == 3 and a.missing == "missing!")

local function counter()
  local c = 0
  return function() c = c + 1; return c end
end
local c1 = counter(); c1(); c1()
check("closures and upvalues", c1() == 3)

local co = coroutine.wrap(function(x)
  local y = coroutine.yield(x + 1)
  return y * 2
end)
check("coroutines", co(1) == 2 and co(10) == 20)

local ok, err = pcall(function() error({code = 7}) end)
check("pcall with error objects", not ok and err.code == 7)
local ok2, msg = pcall(function() return nil + 1 end)
check("runtime errors are caught", not ok2 and msg:find("arithmetic") ~= nil)

local weak = setmetatable({}, {__mode = "k"})
weak[{}] = true
collectgarbage("collect")
check("garbage collector clears weak keys", next(weak) == nil)

local big = {}
for i = 1, 200000 do big[i] = tostring(i) end
check("many allocations", #big == 200000 and big[123456] == "123456")

local s = 0
for i = 1, 10 do
  if i % 2 == 0 then goto continue end
  s = s + i
  ::continue::
end
check("goto", s == 25)

check("load", load("return 6 * 7")() == 42)
check("string.pack", string.unpack("<i4", string.pack("<i4", -5)) == -5)
check("os and io present", type(os.time()) == "number" and io.write ~= nil)

print("all " .. n .. " checks passed")
