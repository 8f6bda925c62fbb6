-- Upstream's reproducer shape for the error-handling bug: errors that recur
-- while the C stack and the Lua stack are exhausted, inside message handlers.
-- It must end in "error in error handling" and leave the process healthy.
local function loop () assert(pcall(loop)) end
local ok1, m1 = xpcall(loop, loop)
local count = 0
local function deep (x, y, z) count = count + 1; return 1 + deep(x, y, z) end
local ok2, m2 = xpcall(deep, deep)
return ok1, m1, ok2, m2
