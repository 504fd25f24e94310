-- ot_worker.lua -- the otlab side of `scripts/bench ot`: one row per process.
--
-- Run by otlab (`otlab -E --no-panel ot_worker.lua key=value ...`) with the
-- same key=value arguments as pot_worker.py, e.g. op=emd2 n=1000 d=2
-- x=X.npy y=Y.npy repeats=3.  It loads the .npy files the driver wrote, times
-- the operation on the host's wall clock (best of `repeats` runs after one
-- warm-up) and prints one line:
--   @result time=<seconds> obj=<value> [key=value ...]
-- or `@na <reason>` when the function is not in this build, or
-- `@error <message>`.  A fresh process per row keeps ot.mem().peak that
-- row's own, and a crash in one function costs one row, not the table.

local P = {}
for _, a in ipairs({...}) do
  local k, v = a:match("^([%w_]+)=(.*)$")
  if not k then error("ot_worker: argument '" .. a .. "' is not key=value") end
  P[k] = v
end

local host = package.loaded["otlab.host"] or {}
local clock = host.clock
if not clock then
  io.write("@error this otlab has no wall clock (otlab.host.clock)\n")
  os.exit(1)
end

local function say(s) io.write(s, "\n"); io.flush() end

-- The function at a dotted path below `ot` ("gaussian.bures_..."), or nil.
local function lookup(path)
  local t = ot
  for part in path:gmatch("[^.]+") do
    if type(t) ~= "table" then return nil end
    t = t[part]
  end
  return t
end

-- Stop with `@na` unless every named function exists.
local function need(...)
  for _, name in ipairs({...}) do
    if type(lookup(name)) ~= "function" then
      say("@na not in this build: ot." .. name)
      os.exit(0)
    end
  end
end

-- Best wall time of f() over `repeats` runs after one warm-up run; a warm-up
-- longer than `budget` seconds is the only run, and the timed runs stop once
-- `budget` seconds have passed in all.  Returns the time, then f's results
-- of the last run.
local function measure(f, repeats, budget)
  collectgarbage("collect")
  local start = clock()
  local r1, r2 = f()
  local warm = clock() - start
  local best
  if warm < budget then
    for _ = 1, repeats do
      r1, r2 = nil, nil
      collectgarbage("collect")
      local t0 = clock()
      r1, r2 = f()
      local t = clock() - t0
      if not best or t < best then best = t end
      if clock() - start > budget then break end
    end
  end
  return best or warm, r1, r2
end

local repeats = tonumber(P.repeats or "3")
local budget = tonumber(P.budget or "4")
local n = tonumber(P.n)
local reg = tonumber(P.reg or "0")
local op = P.op

local X, Y
local function load_points()
  local msg
  X, msg = ot.load(P.x)
  if not X then error(msg, 0) end
  Y, msg = ot.load(P.y)
  if not Y then error(msg, 0) end
end

-- Extra key=value fields for the result line, and lines of notes.
local extra, notes = {}, {}

-- Notes from a solver's info table: a status other than optimal/converged,
-- or an iteration count other than the one asked for.
local function check_info(info, want_iters)
  if type(info) ~= "table" then return end
  if info.status and info.status ~= "optimal" and info.status ~= "converged"
      and not (want_iters and info.status == "max_iter_reached") then
    notes[#notes + 1] = "status " .. tostring(info.status)
  end
  if want_iters and info.iterations and info.iterations ~= want_iters then
    notes[#notes + 1] = string.format("ran %s iterations, asked %d",
                                      tostring(info.iterations), want_iters)
  end
  if info.iterations then extra[#extra + 1] = "iterations=" .. tostring(info.iterations) end
end

local t, obj
local ok, err = pcall(function()
  if op == "dist" then
    need("dist")
    load_points()
    local M
    t, M = measure(function() return ot.dist(X, Y) end, repeats, budget)
    obj = M:sum()
  elseif op == "emd2" then
    need("dist", "emd2")
    load_points()
    local M = ot.dist(X, Y)
    local info
    t, obj, info = measure(function() return ot.emd2(nil, nil, M) end, repeats, budget)
    check_info(info)
  elseif op == "floor" then
    -- Two dgemv on one n x n kernel, K v and K^T u: the bytes a kernel
    -- Sinkhorn iteration must read at least once each way.
    load_points()
    local K
    if lookup("dist") then
      K = (ot.dist(X, Y) * (-1 / reg)):exp()
    else
      K = ot.rand(n, n)   -- dgemv time does not depend on the values
    end
    local u, v = ot.unif(n), ot.unif(n)
    local Kv, Ktu
    t, Kv, Ktu = measure(function() return K:dot(v), u:dot(K) end, repeats, budget)
    obj = Kv:sum() + Ktu:sum()
  elseif op == "sinkhorn" or op == "sinkhorn_log" then
    need("dist", "sinkhorn2")
    load_points()
    local M = ot.dist(X, Y)
    local method = op == "sinkhorn" and "sinkhorn" or "log"
    local k, k0 = tonumber(P.k), tonumber(P.k0)
    local function run(iters)
      return function()
        return ot.sinkhorn2(nil, nil, M, reg, {method = method, tol = 0, max_iter = iters})
      end
    end
    local tk, info
    tk, obj, info = measure(run(k), repeats, budget)
    check_info(info, k)
    local t0 = measure(run(k0), repeats, budget)
    -- Per iteration: the difference cancels the set-up both runs share.
    t = (tk - t0) / (k - k0)
    extra[#extra + 1] = string.format("total=%.6g", tk)
    if t <= 0 then
      -- The machine's noise beat the difference: t(k)/k, an upper bound.
      t = tk / k
      notes[#notes + 1] = "noisy: t(k)/k shown"
    end
  elseif op == "sinkhorn_conv" or op == "sinkhorn_log_conv" then
    need("dist", "sinkhorn2")
    load_points()
    local M = ot.dist(X, Y)
    local method = op == "sinkhorn_conv" and "sinkhorn" or "log"
    local tol, max_iter = tonumber(P.tol), tonumber(P.max_iter)
    local info
    t, obj, info = measure(function()
      return ot.sinkhorn2(nil, nil, M, reg, {method = method, tol = tol, max_iter = max_iter})
    end, repeats, budget)
    check_info(info)
    if type(info) == "table" and info.converged == false then notes[#notes + 1] = "not converged" end
  elseif op == "online" then
    need("sinkhorn_divergence")
    load_points()
    local opts = {reg = reg}
    -- The option names of the online mode and of epsilon-scaling, as the
    -- binding documents them (share/help): filled in by P.opts as k=v,k=v.
    for k, v in (P.opts or ""):gmatch("([%w_]+)=([^,]+)") do
      if v == "true" then v = true elseif v == "false" then v = false
      else v = tonumber(v) or v end
      opts[k] = v
    end
    collectgarbage("collect")
    local base = ot.mem().used
    local info
    t, obj, info = measure(function() return ot.sinkhorn_divergence(X, Y, opts) end, repeats, budget)
    local peak = ot.mem().peak
    extra[#extra + 1] = string.format("peak=%d base=%d", peak, base)
    if type(info) == "table" then
      for _, k in ipairs({"iterations", "stages", "err"}) do
        if type(info[k]) == "number" then extra[#extra + 1] = string.format("%s=%.6g", k, info[k]) end
      end
      if info.status == "numerical error" then notes[#notes + 1] = "status numerical error" end
    end
  elseif op == "gauss_map" then
    need("gaussian.empirical_bures_wasserstein_mapping")
    load_points()
    local A, b
    t, A, b = measure(function() return ot.gaussian.empirical_bures_wasserstein_mapping(X, Y) end,
                      repeats, budget)
    obj = math.sqrt(A:norm()^2 + b:norm()^2)
  elseif op == "sliced" then
    need("sliced_wasserstein_distance")
    load_points()
    local opts = {n_projections = tonumber(P.projections), seed = 0}
    if P.dirs then
      local msg
      opts = {}
      opts.projections, msg = ot.load(P.dirs)
      if not opts.projections then error(msg, 0) end
    end
    t, obj = measure(function() return ot.sliced_wasserstein_distance(X, Y, opts) end,
                     repeats, budget)
  else
    say("@error unknown op " .. tostring(op))
    os.exit(1)
  end
end)
if not ok then
  say("@error " .. tostring(err):gsub("\n.*", ""))
  os.exit(1)
end

if type(obj) ~= "number" then
  say("@error result is a " .. type(obj) .. ", not a number")
  os.exit(1)
end
say(string.format("@result time=%.9g obj=%.17g %s", t, obj, table.concat(extra, " ")))
for _, s in ipairs(notes) do say("@warning " .. s) end
