print("testing mpi")
-- ot.mpi in a world of one rank (tests/mpi/run.sh runs the same calls under
-- mpirun with 2 and 4 ranks), the pack format, and the shard/reduce path.

local mpi = ot.mpi
local function errmsg(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(msg)
end
local function bad(want, f, ...)
  local msg = errmsg(f, ...)
  assert(msg:find(want, 1, true), "unexpected message: " .. msg)
  assert(mpi.size() == 1) -- the session goes on
end

-- a world of one rank (no launcher here)
assert(mpi.rank() == 0 and mpi.size() == 1 and mpi.active() == false)
assert(type(mpi.built()) == "boolean")
mpi.barrier()

-- pack / unpack round trips, matrices and vectors included
local M = ot.mat{{1, 2, 3}, {4, 5, 6}}
local v = ot.linspace(0, 1, 5)
local value = {1, 2.5, "three", true, false, M = M, v = v, nested = {x = {y = {-0.0, 1 / 0}}},
  [3.5] = "float key", [math.maxinteger] = math.mininteger, s = ("\0\1\255"):rep(100)}
local back = mpi.unpack(mpi.pack(value))
assert(back[1] == 1 and math.type(back[1]) == "integer" and back[2] == 2.5 and back[3] == "three")
assert(back[4] == true and back[5] == false and back[3.5] == "float key")
assert(back[math.maxinteger] == math.mininteger and back.s == value.s)
assert(back.nested.x.y[2] == math.huge and 1 / back.nested.x.y[1] == -math.huge)
assert(back.M:shape() == 2 and select(2, back.M:shape()) == 3 and back.M:get(2, 3) == 6)
assert(not rawequal(back.M, M)) -- a copy
local vr, vc = back.v:shape()
assert(vr == 5 and vc == 1 and back.v:get(5) == 1)
assert(tostring(back.v):find("5", 1, true)) -- still a vector
assert(mpi.unpack(mpi.pack(nil)) == nil)
-- a view travels as its own elements
local T = ot.mat{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
local col = mpi.unpack(mpi.pack(T:T()))
assert(col:get(1, 3) == 7)

-- values that cannot travel, and corrupt data
bad("ot.mpi.pack: cannot send a function", mpi.pack, print)
local cyc = {}
cyc.self = cyc
bad("contains itself", mpi.pack, cyc)
local deep = {}
for _ = 1, 100 do deep = {deep} end
bad("nested deeper", mpi.pack, deep)
local good = mpi.pack({a = ot.ones(3, 3)})
bad("ot.mpi.unpack: bad argument #1 's' (string expected, got number)", mpi.unpack, 3)
bad("not packed by ot.mpi.pack", mpi.unpack, "hello")
for cut = 0, #good - 1 do -- every truncation is refused, never an over-read
  assert(not pcall(mpi.unpack, good:sub(1, cut)))
end
bad("trailing bytes", mpi.unpack, good .. "x")
bad("unknown type tag", mpi.unpack, good:sub(1, 5) .. "z")
-- a shared table (not a cycle) is packed twice, fine
local shared = {1}
local two = mpi.unpack(mpi.pack({shared, shared}))
assert(two[1][1] == 1 and two[2][1] == 1)

-- collectives in one rank
local b = mpi.bcast({a = "x", M = M})
assert(b.a == "x" and b.M:get(1, 2) == 2 and not rawequal(b.M, M))
local g = mpi.gather(7)
assert(#g == 1 and g[1] == 7)
g = mpi.allgather("s")
assert(#g == 1 and g[1] == "s")
assert(mpi.allreduce(2.5) == 2.5 and mpi.allreduce(3, "max") == 3)
local R = mpi.allreduce(M, "sum")
assert(not rawequal(R, M) and R:get(2, 1) == 4)
bad("ot.mpi.allreduce: bad argument #1 'x' (number or matrix expected, got string)", mpi.allreduce, "x")
bad("ot.mpi.allreduce: bad argument #2 'op' (expected \"sum\", \"max\", \"min\" or \"prod\", got \"avg\")",
  mpi.allreduce, 1, "avg")
bad("ot.mpi.bcast: bad argument #2 'root' (must be a rank in 0..0, got 1)", mpi.bcast, 1, 1)
bad("ot.mpi.gather: bad argument #2 'root' (must be a rank in 0..0, got -1)", mpi.gather, 1, -1)

-- map: results in order; a per-item seed makes random draws layout-free
local res = mpi.map({10, 20, 30}, function(x, i) return x + i end)
assert(#res == 3 and res[1] == 11 and res[3] == 33)
local r1 = mpi.map({1, 2, 3}, function() return ot.rand(2):sum() end, {seed = 5})
local r2 = mpi.map({1, 2, 3}, function() return ot.rand(2):sum() end, {seed = 5})
assert(r1[1] == r2[1] and r1[3] == r2[3] and r1[1] ~= r1[2])
assert(#mpi.map({}, function() return 1 end) == 0)
bad("ot.mpi.map: bad argument #1 'items' (table expected, got number)", mpi.map, 3, print)
bad("ot.mpi.map: bad argument #2 'f' (function expected, got nil)", mpi.map, {1})
bad("unknown option 'sed'", mpi.map, {1}, print, {sed = 1})
bad("ot.mpi.map: item 2 failed: ", mpi.map, {1, 2}, function(x) if x == 2 then error("boom") end end)
bad("name must be a non-empty file name", mpi.map, {1}, print, {name = "a/b"})

-- shards: three shard runs and a reduce run give the serial results
local exe
for i = -1, -10, -1 do
  if arg[i] then exe = arg[i] end
end
local dir = os.tmpname()
os.remove(dir)
local script = dir .. ".lua"
local f = assert(io.open(script, "w"))
f:write([[
local res = ot.mpi.map({1, 2, 3, 4, 5}, function(x, i) return {x * x, ot.rand(3)} end, {seed = 11, name = "sq"})
local s = 0
for _, r in ipairs(res) do s = s + r[1] + r[2]:sum() end
print(string.format("%.17g", s))
]])
f:close()
local function run(shard)
  local env = shard and ("OTLAB_SHARD=" .. shard .. " ") or "OTLAB_SHARD= "
  local p = assert(io.popen(env .. "OTLAB_SHARD_DIR=" .. dir .. " " .. exe .. " -E --no-panel " .. script ..
    " 2>/dev/null; echo rc=$?"))
  local out = p:read("a")
  p:close()
  return out
end
local serial = run(nil)
assert(serial:find("rc=0", 1, true), serial)
for i = 1, 3 do
  local out = run(i .. "/3")
  assert(out == "rc=0\n", "a shard prints nothing on stdout and stops: " .. out)
end
assert(run("reduce") == serial, "reduce gives the serial result")
os.remove(dir .. "/sq-1.2of3.otpk")
assert(run("reduce"):find("rc=1", 1, true), "a missing shard is an error")
assert(run("1/3") == "rc=0\n") -- shard 1 is there, 2 is missing: recompute ours, stop
for i = 1, 3 do os.remove(dir .. "/sq-1." .. i .. "of3.otpk") end
os.remove(dir)
os.remove(script)
local bogus = io.popen("OTLAB_SHARD=4/3 " .. exe .. " -E --no-panel -e 'ot.mpi.map({1}, print)' 2>&1")
assert(bogus:read("a"):find("OTLAB_SHARD must be i/N", 1, true))
bogus:close()
print("mpi ok")

-- the host's --shard and --shard-dir flags set the same switches
do
  local d = os.tmpname()
  os.remove(d)
  local code = "'print(ot.mpi.map({1, 2, 3}, function(x) return x * 2 end)[3])'"
  local function sh(flags)
    local p = assert(io.popen(exe .. " -E --no-panel " .. flags .. " -e " .. code .. " 2>&1; echo rc=$?"))
    local out = p:read("a")
    p:close()
    return out
  end
  assert(sh("--shard 1/2 --shard-dir " .. d):find("2 of 3 items written", 1, true))
  assert(sh("--shard 2/2 --shard-dir=" .. d):find("rc=0", 1, true))
  assert(sh("--shard reduce --shard-dir " .. d):find("^6\nrc=0"))
  assert(sh("--shard 0/2"):find("bad value for --shard: '0/2'", 1, true))
  assert(sh("--shard-dir ''"):find("bad value for --shard-dir", 1, true))
  for i = 1, 2 do os.remove(d .. "/map-1." .. i .. "of2.otpk") end
  os.remove(d)
end
print("mpi flags ok")
