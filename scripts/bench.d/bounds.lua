-- bounds.lua -- driver of `scripts/bench bounds`, run by otlab from scripts/bench.
--
-- Arguments (key=value, as scripts/bench passes them): dir= (a temporary
-- directory for the .npy files), python= (empty: otlab only), here=,
-- quick= (1: the smallest size only), repeats= (timed runs after a warm-up,
-- best kept); the others are accepted and ignored.
--
-- Rows: the same mini-batch bounds computed by otlab (ot.bounds.minibatch,
-- ordered partition, LAPJV per batch pair, pair solves on OpenMP threads)
-- and by a POT user's loop (bounds_worker.py: ot.dist + ot.emd2 per pair,
-- then ot.emd2 on the k x k matrix for the optimal coupling), on identical
-- points (uniform in [0,1]^d, written once as .npy):
--   diag   mini-batch averaging, k solves
--   opt    the optimal coupling of the batches, k^2 solves + one k x k OT
-- ratio = otlab time / POT time (below 1: otlab is faster); rel.diff =
-- |value_otlab - value_POT| / value_POT (both are exact: ~1e-15 expected).
-- POT has no mini-batch bound of its own; the loop is what it takes there.
local A = {}
for _, a in ipairs({...}) do
  local k, v = a:match("^([%w_]+)=(.*)$")
  if k then A[k] = v end
end
local repeats = math.max(1, tonumber(A.repeats or "3") or 3)
local quick = A.quick == "1"
local python = A.python ~= "" and A.python or nil
local function out(...) io.write(...); io.flush() end
local fmt = string.format

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function worker(args)
  local p = io.popen(q(python) .. " " .. q(A.here .. "/bounds_worker.py") .. " " .. args .. " 2>&1", "r")
  local text = p:read("a")
  p:close()
  local t, v = text:match("@result time=(%S+) obj=(%S+)")
  if t then return tonumber(t), tonumber(v) end
  return nil, (text:match("@%a+ ([^\n]*)") or text):sub(1, 60)
end

local function str(x) if type(x) == "function" then return x() end return tostring(x) end
out(fmt("otlab %s, BLAS: %s\n", str(ot.version), str(ot.blas_info)))
if python then
  local p = io.popen(q(python) .. " " .. q(A.here .. "/bounds_worker.py") .. " op=env 2>&1", "r")
  local env = p:read("a")
  p:close()
  out("peer: POT's ot.dist + ot.emd2 per batch pair, in a Python loop (" ..
      ((env:match("@env ([^\n]*)")) or env:gsub("\n", " ")) .. ")\n")
end
out("\n")

local cases = quick and {{n = 1000, d = 10, m = 50}}
  or {{n = 2000, d = 10, m = 50}, {n = 4000, d = 10, m = 100}, {n = 8000, d = 10, m = 200}}

out(fmt("%-5s %6s %3s %4s %5s %7s | %14s %9s | %14s %9s | %6s %9s\n", "row", "n", "d", "m", "k",
        "solves", "otlab value", "time", "POT value", "time", "ratio", "rel.diff"))
for _, c in ipairs(cases) do
  ot.seed(1)
  local X, Y = ot.rand(c.n, c.d), ot.rand(c.n, c.d)
  local fx, fy = A.dir .. fmt("/bx_%d.npy", c.n), A.dir .. fmt("/by_%d.npy", c.n)
  assert(ot.save(fx, X))
  assert(ot.save(fy, Y))
  local k = c.n // c.m
  for _, row in ipairs({"diag", "opt"}) do
    local opts = {m = c.m, partition = "ordered", strategy = row == "diag" and "diag" or "all",
                  lower = false}
    ot.bounds.minibatch(X, Y, opts) -- warm-up
    local best, val = math.huge, nil
    for _ = 1, repeats do
      local r = ot.bounds.minibatch(X, Y, opts)
      local v = row == "diag" and r.diag or r.opt
      if r.time < best then best, val = r.time, v end
      if r.time > 4 then break end
    end
    local pt, pv
    if python then pt, pv = worker(fmt("op=%s x=%s y=%s m=%d repeats=%d", row, q(fx), q(fy), c.m, repeats)) end
    local solves = row == "diag" and k or k * k
    if pt then
      out(fmt("%-5s %6d %3d %4d %5d %7d | %14.9g %8.3fs | %14.9g %8.3fs | %6.3f %9.1e\n", row, c.n, c.d,
              c.m, k, solves, val, best, pv, pt, best / pt, math.abs(val - pv) / math.abs(pv)))
    else
      out(fmt("%-5s %6d %3d %4d %5d %7d | %14.9g %8.3fs | %s\n", row, c.n, c.d, c.m, k, solves, val,
              best, python and ("POT: " .. tostring(pv)) or "(POT not run)"))
    end
  end
end
