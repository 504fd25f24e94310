-- ot.lua -- driver of `scripts/bench ot`, run by otlab from scripts/bench.
--
-- Arguments (key=value): otlab= (the binary), dir= (an empty temporary
-- directory for the data), sizes= (n for the emd2 and Sinkhorn rows,
-- comma-separated), quick= (1: the smallest size only), repeats=, python=
-- (empty: otlab alone), here= (this directory), online_n= (points for the
-- online divergence row; empty: 10^5, 10^4 with quick), only= (row groups,
-- comma-separated; empty: all).
--
-- It prints otlab's side of the environment, asks the Python worker for
-- POT's, generates each data set once (ot.seed + ot.rand, saved with ot.save
-- as .npy so both workers read identical bytes), then runs each row's otlab
-- worker and POT worker (separate processes) and prints the row as soon as
-- it is done.

-- A usage error: the message alone (no traceback), exit status 2.
local function die(msg)
  io.stderr:write("bench: ", msg, "\n")
  os.exit(2)
end

local A = {}
for _, a in ipairs({...}) do
  local k, v = a:match("^([%w_]+)=(.*)$")
  if not k then die("argument '" .. a .. "' is not key=value") end
  A[k] = v
end

local function out(...) io.write(...); io.flush() end

-- Shell quoting for io.popen command lines.
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local sizes = {}
for s in (A.sizes or "1000,2000,4000"):gmatch("%d+") do
  local n = tonumber(s)
  if n < 2 then die("sizes must be at least 2, got " .. s) end
  sizes[#sizes + 1] = n
end
table.sort(sizes)
if A.quick == "1" then sizes = {sizes[1]} end
local nmax = sizes[#sizes]
local repeats = tonumber(A.repeats or "3")
local python = A.python ~= "" and A.python or nil

-- Row groups (--only): all of them unless a list is given.
local GROUPS = {"emd2", "floor", "sinkhorn", "log", "converged", "online", "sliced", "gauss",
                "dist"}
local only
if A.only and A.only ~= "" then
  only = {}
  for g in A.only:gmatch("[^,]+") do
    local known = false
    for _, k in ipairs(GROUPS) do known = known or k == g end
    if not known then
      die("unknown row group '" .. g .. "' (known: " .. table.concat(GROUPS, ", ") .. ")")
    end
    only[g] = true
  end
end
local function want(g) return not only or only[g] == true end

-- ---- the environment ---------------------------------------------------------

local limit = ot.mem_limit()
out(string.format("otlab             %s, BLAS threads %d, memory budget %s\n",
                  tostring(ot.version or "?"), ot.threads(),
                  limit == 0 and "none" or string.format("%.1f GiB", limit / 2^30)))
out("otlab BLAS        ", ot.blas_info(), "\n")

-- Run a worker; returns a table {result = {key = value}, na =, error =,
-- missing =, warnings = {...}, lines = {...}}.
-- Each worker runs under timeout(1) when it is there, so that a solver that
-- never returns costs one row, not the run.
local TIMEOUT = tonumber(A.timeout or "300")
local has_timeout = os.execute("command -v timeout >/dev/null 2>&1")
if not has_timeout then TIMEOUT = nil end

local function run_worker(cmd, timeout)
  timeout = TIMEOUT and (timeout or TIMEOUT)
  if timeout then cmd = string.format("timeout --foreground -k 5 %d %s", timeout, cmd) end
  local p = io.popen(cmd .. " 2>&1", "r")
  local r = {warnings = {}, lines = {}}
  for line in p:lines() do
    local tag, rest = line:match("^@(%w+)%s*(.*)$")
    if tag == "result" then
      r.result = {}
      for k, v in rest:gmatch("([%w_]+)=(%S+)") do r.result[k] = tonumber(v) or v end
    elseif tag == "na" then r.na = rest
    elseif tag == "error" then r.error = rest
    elseif tag == "missing" then r.missing = rest
    elseif tag == "warning" then r.warnings[#r.warnings + 1] = rest
    elseif tag == "ok" then r.ok = true
    else r.lines[#r.lines + 1] = line end
  end
  local ok, how, code = p:close()
  if not ok and how == "exit" and code == 124 and timeout then
    r.error = string.format("timed out after %d s", timeout)
  end
  if not r.result and not r.na and not r.error and not r.missing then
    local last = ""
    for i = #r.lines, 1, -1 do
      if r.lines[i]:find("%S") then last = r.lines[i]; break end
    end
    if not ok then
      -- timeout(1) reports a child killed by signal s as exit 128 + s.
      local what = how == "signal" and ("killed by signal " .. tostring(code))
        or (code > 128 and code < 160) and ("killed by signal " .. (code - 128))
        or ("exit " .. tostring(code))
      last = what .. (last ~= "" and (": " .. last) or "")
    end
    r.error = last ~= "" and last or "no result"
  end
  return r
end

local pot_missing
if python and not os.execute("command -v " .. q(python) .. " >/dev/null 2>&1") then
  pot_missing = python .. " not found"
elseif python then
  local r = run_worker(q(python) .. " " .. q(A.here .. "/pot_worker.py") .. " op=env")
  for _, l in ipairs(r.lines) do out(l, "\n") end
  if r.missing or not r.ok then
    pot_missing = r.missing or r.error or "the Python worker failed"
  end
else
  pot_missing = "--no-pot"
end
if pot_missing then
  out("POT               not available (", pot_missing, "): otlab's figures alone\n")
end

-- ---- the data ----------------------------------------------------------------

local datasets = {}

-- Paths of X and Y (n x d, uniform in [0,1]^d), generated on first use.
-- Each (n, d) has its own seed, so a data set does not depend on which rows
-- ran before it.
local function data(n, d)
  local key = n .. "x" .. d
  if not datasets[key] then
    ot.seed(1000003 * n + d)
    local X, Y = ot.rand(n, d), ot.rand(n, d)
    local px = string.format("%s/X_%d_%d.npy", A.dir, n, d)
    local py = string.format("%s/Y_%d_%d.npy", A.dir, n, d)
    assert(ot.save(px, X))
    assert(ot.save(py, Y))
    datasets[key] = {px, py}
    X, Y = nil, nil
    collectgarbage("collect")
  end
  return datasets[key][1], datasets[key][2]
end

-- Path of a d x K matrix of unit directions (normal draws normalised, one
-- per column: POT's layout), shared by both sides of the sliced row so that
-- their values can be compared.
local function directions(d, K)
  local path = string.format("%s/dirs_%d_%d.npy", A.dir, d, K)
  ot.seed(7 * d + K)
  local R = ot.randn(d, K)
  for j = 1, K do
    local s = 0
    for i = 1, d do s = s + R:get(i, j)^2 end
    s = math.sqrt(s)
    for i = 1, d do R:set(i, j, R:get(i, j) / s) end
  end
  assert(ot.save(path, R))
  return path
end

-- ---- the table ---------------------------------------------------------------

local function fmt_time(t)
  if type(t) ~= "number" then return "-" end
  if t < 0 then return string.format("%.3g s", t) end   -- noise beat the difference
  if t >= 1 then return string.format("%.2f s", t) end
  if t >= 1e-3 then return string.format("%.3g ms", t * 1e3) end
  return string.format("%.3g us", t * 1e6)
end

local function fmt_bytes(b)
  if b >= 2^30 then return string.format("%.2f GiB", b / 2^30) end
  if b >= 2^20 then return string.format("%.1f MiB", b / 2^20) end
  return string.format("%.0f KiB", b / 2^10)
end

local W = {24, 7, 3, 12, 12, 7, 9}
local function row(cells, note)
  local parts = {}
  for i, w in ipairs(W) do
    local c = tostring(cells[i] or "")
    parts[i] = i == 1 and string.format("%-" .. w .. "s", c) or string.format("%" .. w .. "s", c)
  end
  out(table.concat(parts, " "), note and note ~= "" and ("  " .. note) or "", "\n")
end

-- A cell for a worker that gave no time.
local function failed_cell(r)
  if r.na then return "n/a" end
  if r.missing then return "n/a" end
  return "error"
end

local failures = {}

local function scale_of(x) return math.abs(x) > 0 and math.abs(x) or 1 end

-- One row: run both workers with `args` (a table of key=value), print.
-- spec: label, n, d; pot = a string shown instead of running POT;
-- note(o, p) adds to the note column; objective = false hides rel.diff;
-- tol = the largest rel.diff expected (a larger one is flagged); timeout =
-- seconds for the otlab worker.
local function bench_row(spec, args)
  local argv = {}
  for k, v in pairs(args) do argv[#argv + 1] = q(k .. "=" .. tostring(v)) end
  table.sort(argv)
  argv = table.concat(argv, " ")
  local o = run_worker(q(A.otlab) .. " -E --no-panel " .. q(A.here .. "/ot_worker.lua") .. " " .. argv,
                       spec.timeout)
  local p
  if type(spec.pot) == "string" then
    p = {cannot = spec.pot, warnings = {}}
  elseif not pot_missing then
    p = run_worker(q(python) .. " " .. q(A.here .. "/pot_worker.py") .. " " .. argv)
  end
  local ot_t = o.result and o.result.time
  local pot_t = p and p.result and p.result.time
  local cells = {spec.label, spec.n, spec.d}
  cells[4] = ot_t and fmt_time(ot_t) or failed_cell(o)
  if not p then cells[5] = "-"
  elseif p.cannot then cells[5] = "cannot"
  else cells[5] = pot_t and fmt_time(pot_t) or failed_cell(p) end
  if ot_t and pot_t and pot_t > 0 and ot_t > 0 then
    cells[6] = string.format("%.2fx", ot_t / pot_t)
  end
  local ob, pb = o.result and o.result.obj, p and p.result and p.result.obj
  if spec.objective ~= false and type(ob) == "number" and type(pb) == "number" then
    local scale = scale_of(pb)
    cells[7] = string.format("%.1e", math.abs(ob - pb) / scale)
  end
  local notes = {}
  if cells[7] and spec.tol and math.abs(ob - pb) > spec.tol * scale_of(pb) then
    notes[#notes + 1] = string.format("rel.diff ABOVE %.0e", spec.tol)
  end
  if o.na then table.insert(notes, 1, "(" .. o.na .. ")") end
  if o.error then
    notes[#notes + 1] = "otlab: " .. o.error:sub(1, 160)
    failures[#failures + 1] = spec.label .. " n=" .. spec.n
  end
  for _, w in ipairs(o.warnings) do notes[#notes + 1] = "otlab: " .. w:sub(1, 80) end
  if p and p.cannot then notes[#notes + 1] = "POT: " .. p.cannot end
  if p and p.error then notes[#notes + 1] = "POT: " .. p.error:sub(1, 160) end
  if p then for _, w in ipairs(p.warnings) do notes[#notes + 1] = "POT: " .. w:sub(1, 80) end end
  if spec.note then
    local s = spec.note(o.result, p and p.result)
    if s and s ~= "" then table.insert(notes, o.na and 2 or 1, s) end
  end
  row(cells, table.concat(notes, "; "))
  return o.result, p and p.result
end

-- Kernel Sinkhorn regularisation: 0.05 times the largest squared distance
-- in [0,1]^2 (2), so exp(-M/reg) >= exp(-20): no underflow in the kernel.
local REG = 0.1

out("\n")
row({"operation", "n", "d", "otlab", "POT", "ratio", "rel.diff"}, "note")
row({("-"):rep(W[1]), ("-"):rep(W[2]), ("-"):rep(W[3]), ("-"):rep(W[4]), ("-"):rep(W[5]),
     ("-"):rep(W[6]), ("-"):rep(W[7])}, "")

-- emd2: the solve alone; each side builds M with its own ot.dist first.
local function emd_note(o, p)
  if o and p and o.time and p.time then
    return string.format("goal <= 0.70x: %s", o.time <= 0.7 * p.time and "met" or "not met")
  end
end
for _, d in ipairs(want("emd2") and {2, 10} or {}) do
  for _, n in ipairs(sizes) do
    local x, y = data(n, d)
    bench_row({label = "emd2 (solve)", n = n, d = d, note = emd_note, tol = 1e-9},
              {op = "emd2", n = n, d = d, x = x, y = y, repeats = repeats})
  end
end

-- The floor first, so that the Sinkhorn rows can be set against it.
local floor = {}
for _, n in ipairs(want("floor") and sizes or {}) do
  local x, y = data(n, 2)
  local o, p = bench_row({label = "2 dgemv on K (floor)", n = n, d = 2},
                         {op = "floor", n = n, d = 2, x = x, y = y, reg = REG,
                          repeats = math.max(repeats, 20), budget = 2})
  local best = o and o.time
  if p and p.time and (not best or p.time < best) then best = p.time end
  floor[n] = best
end

-- Iterations per run (log domain): about 0.5-1 s of POT at each size; its
-- set-up is one pass over M, small next to an iteration's 2 n^2 exps.
local function iters(n, c, lo)
  local k = math.max(lo, math.floor(c / (n * n)))
  return k, math.max(1, k // 5)
end

for _, n in ipairs(want("sinkhorn") and sizes or {}) do
  local x, y = data(n, 2)
  -- The set-up (kernel, allocations) costs some 20-30 iterations at every
  -- n: a fixed k = 100 keeps the difference well above it.
  local k, k0 = 100, 20
  bench_row({label = "sinkhorn iteration", n = n, d = 2, note = function(o)
      if o and o.time and floor[n] then
        local r = o.time / floor[n]
        return string.format("%.2fx floor (goal <= 1.3x: %s); k=%d/%d", r,
                             r <= 1.3 and "met" or "not met", k, k0)
      end
      return string.format("k=%d/%d", k, k0)
    end},
    {op = "sinkhorn", n = n, d = 2, x = x, y = y, reg = REG, k = k, k0 = k0, repeats = repeats})
end

for _, n in ipairs(want("log") and sizes or {}) do
  local x, y = data(n, 2)
  local k, k0 = iters(n, 5e7, 10)
  bench_row({label = "log sinkhorn iteration", n = n, d = 2, note = function(o, p)
      if o and p and o.time and p.time and o.time > 0 then
        local r = p.time / o.time
        return string.format("%.1fx faster (goal >= 8x: %s); k=%d/%d", r,
                             r >= 8 and "met" or "not met", k, k0)
      end
      return string.format("k=%d/%d", k, k0)
    end},
    {op = "sinkhorn_log", n = n, d = 2, x = x, y = y, reg = REG, k = k, k0 = k0,
     repeats = repeats})
end

-- Converged solves: the objectives must agree to 1e-7 relative.
if want("converged") then
  local n = sizes[1]
  local x, y = data(n, 2)
  for _, m in ipairs({{"sinkhorn2 to tol 1e-9", "sinkhorn_conv"},
                      {"log sinkhorn2 to 1e-9", "sinkhorn_log_conv"}}) do
    bench_row({label = m[1], n = n, d = 2, tol = 1e-7, note = function(o, p)
        local s = {}
        if o and o.iterations then s[#s + 1] = "otlab " .. o.iterations .. " it." end
        if p and p.iterations then s[#s + 1] = "POT " .. p.iterations .. " it." end
        return table.concat(s, ", ")
      end},
      {op = m[2], n = n, d = 2, x = x, y = y, reg = REG, tol = 1e-9, max_iter = 100000,
       repeats = repeats})
  end
end

-- Online (matrix-free) Sinkhorn divergence with epsilon-scaling, GeomLoss
-- style: one iteration per reg step from the squared diameter down to reg
-- (ratio scaling^2), then a few at the final reg.  Every pass costs
-- 4 n^2 kernel terms, so the run is a handful of passes, not a converged
-- solve: the marginal error it reaches is printed with it.
local ONLINE = {reg = 0.01, scaling = 0.5, max_iter = 5, tol = 1e-3}

-- Time per kernel term: each step or iteration evaluates n m + m n + n n +
-- m m terms (the three problems of the divergence; here m = n).
local function per_term(o, n)
  if type(o.stages) ~= "number" or type(o.iterations) ~= "number" then return "" end
  local terms = (o.stages + o.iterations) * 4.0 * n * n
  if terms <= 0 then return "" end
  return string.format(", %.2f ns per kernel term", o.time / terms * 1e9)
end
if want("online") then
  local n = tonumber(A.online_n or "") or (A.quick == "1" and 10000 or 100000)
  local x, y = data(n, 2)
  local opts = string.format("online=true,scaling=%g,max_iter=%d,tol=%g",
                             ONLINE.scaling, ONLINE.max_iter, ONLINE.tol)
  bench_row({label = "online sinkhorn_div", n = n, d = 2, objective = false,
             pot = string.format("cannot (%d x %d matrix = %s)", n, n, fmt_bytes(8.0 * n * n)),
             note = function(o)
               if o and o.peak then
                 return string.format("S = %.6g, peak %s (%s before the call); reg %g, scaling %g, "
                                      .. "%s steps + %s it., err %s",
                                      o.obj, fmt_bytes(o.peak), fmt_bytes(o.base), ONLINE.reg,
                                      ONLINE.scaling, tostring(o.stages or "?"),
                                      tostring(o.iterations or "?"),
                                      type(o.err) == "number" and string.format("%.1e", o.err)
                                      or "?")
                        .. per_term(o, n)
               end
             end, timeout = 3600},
            {op = "online", n = n, d = 2, x = x, y = y, reg = ONLINE.reg,
             opts = opts, repeats = 1, budget = 0})
end

if want("sliced") then
  local x, y = data(nmax, 10)
  bench_row({label = "sliced wasserstein", n = nmax, d = 10, tol = 1e-9,
             note = function() return "50 directions, the same on both sides" end},
            {op = "sliced", n = nmax, d = 10, x = x, y = y, projections = 50,
             dirs = directions(10, 50),
             repeats = math.max(repeats, 5), budget = 2})
end
if want("gauss") then
  local x, y = data(nmax, 10)
  bench_row({label = "gaussian empirical map", n = nmax, d = 10, tol = 1e-9,
             note = function() return "POT: ot.da.OT_mapping_linear; rel.diff of |(A, b)|" end},
            {op = "gauss_map", n = nmax, d = 10, x = x, y = y, repeats = math.max(repeats, 5),
             budget = 2})
end
if want("dist") then
  local x, y = data(nmax, 10)
  bench_row({label = "ot.dist sqeuclidean", n = nmax, d = 10,
             note = function() return "rel.diff of sum(M)" end},
            {op = "dist", n = nmax, d = 10, x = x, y = y, repeats = math.max(repeats, 5),
             budget = 2})
end

out([[

Notes:
- times are wall-clock, the best of the repeats after one warm-up (a call over 4 s: once);
  ratio = otlab / POT (below 1: otlab faster); rel.diff = |otlab - POT| / |POT| of the
  objective (the values of emd2 and sinkhorn2, <P, M>).
- emd2: the exact solve alone, uniform weights; each side first builds M with its own
  ot.dist (sqeuclidean), untimed. POT's numItermax is raised to 1e8 so that it reaches
  the optimum at every n.
]])
out(string.format([[
- Sinkhorn: reg = %g (0.05 x the largest squared distance in [0,1]^2, so exp(-M/reg) >= 2e-9:
  no underflow), uniform weights, tol = 0 (POT: stopThr = 0) and exactly k iterations;
  per iteration = (t(k) - t(k0)) / (k - k0) (k/k0 in the note), which cancels the set-up
  that both runs share. Log domain: POT's method "sinkhorn_log", otlab's "log".
]], REG))
out([[
- floor: K v and K^T u, one dgemv each on the same n x n kernel (numpy: K.dot(v), K.T.dot(u));
  the kernel Sinkhorn note compares otlab's iteration with the faster of the two floors.
- "to tol 1e-9": one converged solve each (marginal error < 1e-9); objectives to 1e-7.
- sliced: p = 2, 50 unit directions drawn once and given to both (opts.projections, POT's
  projections=), so the values agree to rounding; the time excludes drawing them.
- gaussian: the affine Monge map x -> A x + b between the Gaussians fitted to X and Y
  (ot.gaussian.empirical_bures_wasserstein_mapping; POT 0.8.2: ot.da.OT_mapping_linear),
  reg = 1e-6 on both; the objective compared is the Frobenius norm of (A, b).
- online: ot.sinkhorn_divergence with online = true (costs from the coordinates, no n x n
  matrix) and epsilon-scaling; one call, timed once; S is the divergence, err the largest
  L1 marginal error reached; peak = ot.mem().peak of that process (every otlab buffer).
]])
if #failures > 0 then
  out(string.format("%d row(s) failed in otlab: %s\n", #failures, table.concat(failures, ", ")))
  os.exit(1)
end
