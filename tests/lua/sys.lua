print("testing sys")

local function errmsg(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return msg
end

local m = ot.mem()
assert(type(m.used) == "number" and m.used > 0, "Lua's own memory is counted")
assert(m.peak >= m.used and m.limit > 0)

-- the budget: a matrix over it is refused with the amounts, and nothing changes
local old = ot.mem_limit()
assert(ot.mem_limit("64M") == 64 * 2^20)
local msg = errmsg(ot.zeros, 10000, 10000)
assert(msg:find("ot.zeros: cannot allocate a 10000x10000 matrix: needs 762.9 MiB, memory budget is 64.0 MiB", 1, true), msg)
local x = ot.zeros(100, 100) -- still fine under the budget
assert(select(1, x:shape()) == 100)
-- Lua's own allocations count too: a huge string fails cleanly
local ok, err = pcall(string.rep, "x", 2^28)
assert(not ok and err:find("not enough memory"), err)
assert(ot.mem_limit(old) == old)
assert(errmsg(ot.mem_limit, "lots"):find("ot.mem_limit: bad argument #1 'size' (expected bytes or a size like", 1, true))
assert(errmsg(ot.mem_limit, -5):find("must be >= 0", 1, true))
-- a budget below what is already live is refused, and the old one stays
msg = errmsg(ot.mem_limit, 1000)
assert(msg:find("ot.mem_limit: bad argument #1 'size' (1000 B is not above the ", 1, true), msg)
assert(msg:find("already in use)", 1, true), msg)
assert(ot.mem_limit() == old)

-- threads
local t = ot.threads()
assert(t >= 1)
assert(ot.threads(1) == 1)
ot.threads(t)
assert(errmsg(ot.threads, 0):find("ot.threads: bad argument #1 'n' (must be in 1..1024, got 0)", 1, true))
assert(type(ot.blas_info()) == "string" and #ot.blas_info() > 0)
assert(type(ot.version) == "string")
print("ok")
