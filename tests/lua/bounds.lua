print("testing bounds")

-- The worked example of specs/bounds.md to 1e-10, the Fatras complete
-- estimator, the properties of the spec on seeded random instances (the
-- spec's LCG) against ot.emd2, and every bad input (message checked, the
-- process alive, the next valid call works).

local function close(x, y, tol) return x ~= nil and math.abs(x - y) <= tol end

local function fails(text, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error containing: " .. text)
  err = tostring(err)
  assert(err:find(text, 1, true), "error '" .. err .. "' lacks '" .. text .. "'")
end

local X = ot.mat{{0,0},{1,0},{0,1},{1,1},{4,0},{5,0},{4,1},{5,1}}
local Y = ot.mat{{2,3},{3,3},{6,2},{7,2},{2,4},{3,4},{0,3},{1,3}}

-- the worked example: ordered batches, squared Euclidean
local OT = ot.emd2(nil, nil, ot.dist(X, Y))
assert(close(OT, 8, 1e-10), "OT " .. OT)
local rows = {
  [1] = {diag = 22.5, all = 16.5, opt = 8, semi = 5.75, circ = {22.5, 22.5, 19.75, 14.5, 9.75, 8.75, 8.5, 8}},
  [2] = {diag = 22.5, all = 16, opt = 9.5, semi = 6, circ = {22.5, 21.5, 10.5, 9.5}},
  [4] = {diag = 21, all = 15, opt = 9, semi = 7.5, circ = {21, 9}},
  [8] = {diag = 8, all = 8, opt = 8, semi = 8, circ = {8}},
}
for m, want in pairs(rows) do
  local r = ot.bounds.minibatch(X, Y, {m = m, partition = "ordered", strategy = "all",
                                       lower = {"nn", "dual", "semi"}, plan = true})
  for _, f in ipairs({"diag", "all", "opt", "semi"}) do
    assert(close(r[f], want[f], 1e-10), ("m=%d %s = %s, want %s"):format(m, f, tostring(r[f]), want[f]))
  end
  assert(close(r.nn, 5.75, 1e-10) and close(r.upper, want.opt, 1e-10))
  assert(r.certified == true and r.k == 8 // m and r.m == m and r.n == 8)
  assert(r.lower <= 8 + 1e-10 and r.dual <= 8 + 1e-10)
  assert(r.solves == r.k * r.k and r.pairs:shape() == r.k * r.k)
  assert(r.kind == "certified bounds: lower <= OT <= upper")
  -- the plan: 8 entries of mass 1/8, marginals exact, cost = upper
  local P, M = r.plan, ot.dist(X, Y)
  assert(P:shape() == 8)
  local cost, rs, cs = 0, {}, {}
  for q = 1, 8 do
    local i, j, w = P(q, 1), P(q, 2), P(q, 3)
    rs[i] = (rs[i] or 0) + w
    cs[j] = (cs[j] or 0) + w
    cost = cost + w * M(i, j)
  end
  for i = 1, 8 do assert(rs[i] == 0.125 and cs[i] == 0.125) end
  assert(close(cost, r.upper, 1e-10))
  for rr, u in ipairs(want.circ) do
    local c = ot.bounds.minibatch(X, Y, {m = m, partition = "ordered", strategy = "circulant",
                                         budget = rr * (8 // m), lower = false})
    assert(close(c.upper, u, 1e-10), ("m=%d circulant r=%d: %s, want %s"):format(m, rr, c.upper, u))
    assert(c.lower == nil)
  end
end
-- m = 1 and m = n: the dual bound with exact offsets is OT
for _, m in ipairs({1, 8}) do
  local r = ot.bounds.minibatch(X, Y, {m = m, partition = "ordered", strategy = "diag", lower = "dual"})
  assert(close(r.dual, 8, 1e-10), "dual at m=" .. m)
end
-- Fatras et al.'s complete estimator (all C(8, m)^2 subset pairs)
local f2 = ot.bounds.fatras(X, Y, {m = 2, complete = true})
assert(close(f2.estimate, 12.8418367347, 1e-10) and f2.pairs == 28 * 28)
assert(f2.kind == "estimate, not a bound" and f2.complete == true)
local f4 = ot.bounds.fatras(X, Y, {m = 4, complete = true})
assert(close(f4.estimate, 9.8893877551, 1e-10) and f4.pairs == 70 * 70)
local fi = ot.bounds.fatras(X, Y, {m = 2, q = 3000, seed = 3})
assert(math.abs(fi.estimate - f2.estimate) <= 5 * fi.stderr and fi.q == 3000)
assert(ot.bounds.fatras(X, Y, {m = 2, q = 50, seed = 9}).estimate ==
       ot.bounds.fatras(X, Y, {m = 2, q = 50, seed = 9}).estimate)

-- a precomputed cost gives the same numbers
local C = ot.dist(X, Y)
local rc = ot.bounds.minibatch(nil, nil, {cost = C, m = 2, partition = "ordered", strategy = "all",
                                          lower = {"nn", "semi", "dual"}})
assert(close(rc.opt, 9.5, 1e-10) and close(rc.semi, 6, 1e-10) and close(rc.nn, 5.75, 1e-10))
-- a cost matrix with the points besides it: the spatial partition sorts the points
local sp1 = ot.bounds.minibatch(X, Y, {cost = C, m = 2, partition = "spatial", seed = 4, strategy = "all"})
local sp2 = ot.bounds.minibatch(X, Y, {m = 2, partition = "spatial", seed = 4, strategy = "all"})
assert(close(sp1.upper, sp2.upper, 1e-10) and sp1.partition.x(1) == sp2.partition.x(1))

-- the spec's LCG
local lcg_s
local function lcg()
  lcg_s = lcg_s * 6364136223846793005 + 1442695040888963407 -- wraps mod 2^64
  return (lcg_s >> 11) * 2.0^-53
end
local function gen(seed, n, d, shift)
  lcg_s = seed
  local A, B = ot.zeros(n, d), ot.zeros(n, d)
  for i = 1, n do for t = 1, d do A:set(i, t, lcg()) end end
  for i = 1, n do for t = 1, d do B:set(i, t, lcg()) end end
  for i = 1, n do B:set(i, 1, B(i, 1) + shift) end
  return A, B
end
local A0, B0 = gen(1, 24, 2, 0.5)
assert(close(A0(1, 1), 0.4232091709, 1e-10) and close(A0(1, 2), 0.5094074429, 1e-10))
assert(close(B0(1, 1), 0.5132276042, 1e-10) and close(B0(1, 2), 0.1822856230, 1e-10))

-- properties on seeded instances (the C test runs 1050 of them; here the binding)
local strategies = {"diag", "all", "opt", "circulant", "random", "knn", "adaptive"}
local partitions = {"shuffle", "ordered", "spatial"}
for inst = 0, 59 do
  local seed = 500 + inst
  local n = ({4, 6, 8, 12})[inst % 4 + 1]
  local A, B = gen(seed, n, 1 + inst % 3, 0.25 * (inst % 5))
  local exact = ot.emd2(nil, nil, ot.dist(A, B))
  local divs = {}
  for m = 1, n do if n % m == 0 then divs[#divs + 1] = m end end
  local m = divs[inst % #divs + 1]
  local k = n // m
  local strat = strategies[inst % 7 + 1]
  local opts = {m = m, strategy = strat, partition = partitions[inst % 3 + 1], seed = seed,
                lower = {"nn", "dual", "semi"}, plan = true,
                solver = inst % 5 == 4 and "emd" or "assign"}
  if strat ~= "diag" and strat ~= "all" and strat ~= "opt" then opts.budget = k + (seed % (k * k - k + 1)) end
  local r = ot.bounds.minibatch(A, B, opts)
  local tol = 1e-9 * math.max(1, ot.dist(A, B):max())
  local msg = "instance seed " .. seed
  assert(r.lower <= exact + tol and exact <= r.upper + tol, msg)
  assert(r.nn <= exact + tol and r.dual <= exact + tol and r.semi <= exact + tol, msg)
  assert(r.solves <= r.budget, msg)
  if r.opt then assert(r.opt <= r.upper + tol, msg) end
  local r2 = ot.bounds.minibatch(A, B, opts)
  assert(r2.upper == r.upper and r2.lower == r.lower and r2.solves == r.solves, msg .. " (determinism)")
  -- the curve: non-increasing upper bounds
  if strat ~= "diag" and strat ~= "all" and strat ~= "opt" then
    local cv = ot.bounds.curve(A, B, {m = m, strategy = strat, seed = seed, lower = "nn"})
    local nb = cv.budget:shape()
    for q = 2, nb do assert(cv.upper(q) <= cv.upper(q - 1) + tol, msg .. " curve") end
    assert(cv.lower(1) <= exact + tol and cv.gap(nb) >= -tol, msg)
    assert(cv.budget(nb) == k * k)
  end
end

-- the spatial partition tightens diag on clustered data
do
  local A, B = gen(77, 64, 2, 0)
  local sh = ot.bounds.minibatch(A, B, {m = 8, strategy = "diag", seed = 1, lower = false})
  local sp = ot.bounds.minibatch(A, B, {m = 8, strategy = "diag", seed = 1, lower = false, partition = "spatial"})
  assert(sp.upper < sh.upper, "spatial " .. sp.upper .. " vs shuffle " .. sh.upper)
end

-- given permutations, euclidean metric, the Sinkhorn inner solver
do
  local px, py = {}, {}
  for i = 1, 8 do px[i] = i; py[i] = 9 - i end
  local r = ot.bounds.minibatch(X, Y, {m = 2, partition = {x = px, y = py}, strategy = "all", lower = false})
  assert(r.partition.name == "given" and r.partition.y(1) == 8)
  local e = ot.bounds.minibatch(X, Y, {m = 4, metric = "euclidean", strategy = "all", seed = 2, lower = {"nn", "dual"}})
  local exact = ot.emd2(nil, nil, ot.dist(X, Y, "euclidean"))
  assert(e.lower <= exact + 1e-9 and exact <= e.upper + 1e-9)
  local s = ot.bounds.minibatch(X, Y, {m = 4, solver = "sinkhorn", reg = 0.05, strategy = "all",
                                       seed = 2, plan = true})
  assert(s.upper >= 8 - 1e-9 and s.solver == "sinkhorn" and s.inner_unconverged >= 0)
  local P, M, cost = s.plan, ot.dist(X, Y), 0
  for q = 1, P:shape() do cost = cost + P(q, 3) * M(P(q, 1), P(q, 2)) end
  assert(close(cost, s.upper, 1e-9))
end

-- progress: the callback sees the bounds; returning false cancels
do
  local seen = 0
  local r = ot.bounds.minibatch(X, Y, {m = 2, progress = function(p)
    assert(p.kernel == "bounds")
    seen = seen + 1
  end})
  assert(seen >= 2 and r.upper)
  fails("ot.bounds.minibatch: canceled by the progress callback", ot.bounds.minibatch, X, Y,
        {m = 2, progress = function() return false end})
  fails("boom", ot.bounds.minibatch, X, Y, {m = 2, progress = function() error("boom") end})
end

-- bad inputs: message, process alive, next valid call works
local valid = function() return ot.bounds.minibatch(X, Y, {m = 2, seed = 1}) end
local bad = {
  {"ot.bounds.minibatch: bad argument #3 'opts' (options table expected", function() return ot.bounds.minibatch(X, Y) end},
  {"bad argument #3 'opts' (table expected, got number)", function() return ot.bounds.minibatch(X, Y, 3) end},
  {"option 'm' (the batch size, a divisor of n = 8) is required", function() return ot.bounds.minibatch(X, Y, {}) end},
  {"option 'm' = 3 does not divide n = 8", function() return ot.bounds.minibatch(X, Y, {m = 3}) end},
  {"option 'm' must be in 1..n = 8, got 0", function() return ot.bounds.minibatch(X, Y, {m = 0}) end},
  {"option 'm' must be in 1..n = 8, got 16", function() return ot.bounds.minibatch(X, Y, {m = 16}) end},
  {"option 'm' must be an integer, got 2.5", function() return ot.bounds.minibatch(X, Y, {m = 2.5}) end},
  {"unknown option", function() return ot.bounds.minibatch(X, Y, {m = 2, bugdet = 4}) end},
  {"ot.bounds.minibatch: bad argument #1 'X'", function() return ot.bounds.minibatch("x", Y, {m = 2}) end},
  {"bad argument #2 'Y' (has 4 points but X has 8", function() return ot.bounds.minibatch(X, ot.mat{{1,1},{2,2},{3,3},{4,4}}, {m = 2}) end},
  {"bad argument #2 'Y'", function() return ot.bounds.minibatch(X, ot.mat{{1,1,1}}, {m = 1}) end},
  {"is not finite", function() return ot.bounds.minibatch(ot.mat{{0/0, 0}, {1, 1}}, ot.mat{{0, 0}, {1, 1}}, {m = 1}) end},
  {"bad argument #1 'X' (empty", function() return ot.bounds.minibatch(ot.zeros(0, 2), Y, {m = 1}) end},
  {"squared distances overflow", function() return ot.bounds.minibatch(ot.mat{{1e200}, {0}}, ot.mat{{-1e200}, {0}}, {m = 1}) end},
  {"option 'budget' = 3 is below the 4 solves", function() return ot.bounds.minibatch(X, Y, {m = 2, budget = 3}) end},
  {"option 'budget' = 15 is below the 16 solves strategy \"all\" needs", function() return ot.bounds.minibatch(X, Y, {m = 2, budget = 15, strategy = "all"}) end},
  {"option 'strategy' must be", function() return ot.bounds.minibatch(X, Y, {m = 2, strategy = "best"}) end},
  {"option 'partition' must be \"shuffle\"", function() return ot.bounds.minibatch(X, Y, {m = 2, partition = "random"}) end},
  {"partition.x has 3 entries, need n = 8", function() return ot.bounds.minibatch(X, Y, {m = 2, partition = {x = {1, 2, 3}, y = {}}}) end},
  {"partition.y is not a permutation (1 appears twice)", function() return ot.bounds.minibatch(X, Y, {m = 2, partition = {x = {1,2,3,4,5,6,7,8}, y = {1,1,3,4,5,6,7,8}}}) end},
  {"partition.x[2] = 9 is not an index in 1..8", function() return ot.bounds.minibatch(X, Y, {m = 2, partition = {x = {1,9,3,4,5,6,7,8}, y = {1,2,3,4,5,6,7,8}}}) end},
  {"option 'solver' must be", function() return ot.bounds.minibatch(X, Y, {m = 2, solver = "lp"}) end},
  {"option 'reg' must be > 0", function() return ot.bounds.minibatch(X, Y, {m = 2, solver = "sinkhorn", reg = 0}) end},
  {"option 'reg' applies to solver = \"sinkhorn\" only", function() return ot.bounds.minibatch(X, Y, {m = 2, reg = 0.1}) end},
  {"option 'lower'[1] must be \"nn\", \"dual\" or \"semi\", got exact", function() return ot.bounds.minibatch(X, Y, {m = 2, lower = {"exact"}}) end},
  {"option 'lower' must be a list", function() return ot.bounds.minibatch(X, Y, {m = 2, lower = 3}) end},
  {"option 'metric' must be \"sqeuclidean\" or \"euclidean\"", function() return ot.bounds.minibatch(X, Y, {m = 2, metric = "cosine"}) end},
  {"option 'cost' must be square", function() return ot.bounds.minibatch(nil, nil, {m = 2, cost = ot.zeros(8, 4)}) end},
  {"option 'cost': cost[1,2] = inf is not finite", function() local c = ot.zeros(8, 8); c:set(1, 2, 1/0); return ot.bounds.minibatch(nil, nil, {m = 2, cost = c}) end},
  {"options 'metric' and 'cost' exclude each other", function() return ot.bounds.minibatch(nil, nil, {m = 2, cost = ot.zeros(8, 8), metric = "euclidean"}) end},
  {"bad argument #1 'X' (has 4 rows but opts.cost has 8)", function() return ot.bounds.minibatch(ot.zeros(4, 2), Y, {m = 2, cost = ot.zeros(8, 8)}) end},
  {"partition \"spatial\" needs the points X and Y", function() return ot.bounds.minibatch(nil, nil, {m = 2, cost = ot.zeros(8, 8), partition = "spatial"}) end},
  {"option 'seed' must be >= 0", function() return ot.bounds.minibatch(X, Y, {m = 2, seed = -4}) end},
  {"option 'threads' must be in 0..1024", function() return ot.bounds.minibatch(X, Y, {m = 2, threads = -1}) end},
  {"option 'progress' must be a function", function() return ot.bounds.minibatch(X, Y, {m = 2, progress = 1}) end},
  {"option 'plan' must be a boolean", function() return ot.bounds.minibatch(X, Y, {m = 2, plan = 1}) end},
  {"ot.bounds.curve: bad argument #3 'opts' (option 'budgets'[1] = 2 must be an integer >= 4", function() return ot.bounds.curve(X, Y, {m = 2, budgets = {2, 8}}) end},
  {"ot.bounds.curve: bad argument #3 'opts' (unknown option", function() return ot.bounds.curve(X, Y, {m = 2, budget = 8}) end},
  {"ot.bounds.curve: bad argument #3 'opts' (option 'budgets' must have 1..10000 entries", function() return ot.bounds.curve(X, Y, {m = 2, budgets = {}}) end},
  {"ot.bounds.fatras: bad argument #3 'opts' (option 'm' (the batch size) is required", function() return ot.bounds.fatras(X, Y, {q = 3}) end},
  {"ot.bounds.fatras: bad argument #3 'opts' (option 'm' must be in 1..8", function() return ot.bounds.fatras(X, Y, {m = 9}) end},
  {"ot.bounds.fatras: bad argument #3 'opts' (option 'q' must be in 1..1e7, got 0", function() return ot.bounds.fatras(X, Y, {m = 2, q = 0}) end},
  {"more than 1e7; use q random pairs", function() return ot.bounds.fatras(ot.rand(40, 2), ot.rand(40, 2), {m = 10, complete = true}) end},
  {"ot.bounds.fatras: bad argument #3 'opts' (unknown option", function() return ot.bounds.fatras(X, Y, {m = 2, budget = 3}) end},
}
local v0 = valid()
for _, case in ipairs(bad) do
  fails(case[1], case[2])
  local v = valid()
  assert(v.upper == v0.upper and v.lower == v0.lower, "valid call after a bad one")
end

-- fatras with different sizes is fine
local fd = ot.bounds.fatras(X, ot.mat{{0, 0}, {1, 1}, {2, 2}}, {m = 2, q = 20, seed = 1})
assert(fd.estimate > 0 and fd.pairs == 20)
-- shards (no MPI): OTLAB_SHARD=i/N runs write their share of the pair
-- solves; the reduce run reads them and prints the serial numbers.  The
-- errors: adaptive as shards, missing files, files of another run.
do
  local exe
  for i = -1, -10, -1 do
    if arg[i] then exe = arg[i] end
  end
  local dir = os.tmpname()
  os.remove(dir)
  local script = dir .. ".lua"
  local function write(code)
    local f = assert(io.open(script, "w"))
    f:write("ot.seed(3)\nlocal X, Y = ot.randn(24, 2), ot.randn(24, 2) + 1\n" .. code)
    f:close()
  end
  local function run(shard)
    local env = shard and ("OTLAB_SHARD=" .. shard .. " ") or "OTLAB_SHARD= "
    local p = assert(io.popen(env .. "OTLAB_SHARD_DIR=" .. dir .. " " .. exe .. " -E --no-panel " ..
      script .. " 2>&1; echo rc=$?"))
    local out = p:read("a")
    p:close()
    return out
  end
  local function clean()
    local p = io.popen("ls " .. dir .. " 2>/dev/null")
    for name in p:lines() do os.remove(dir .. "/" .. name) end
    p:close()
    os.remove(dir)
  end
  local call = [[
local r = ot.bounds.minibatch(X, Y, {m = 4, strategy = "circulant", budget = BUDGET, seed = SEED,
                                     lower = {"nn", "dual", "semi"}, plan = true})
print(string.format("%.17g %.17g %.17g %d", r.upper, r.lower, r.plan:sum(), r.solves))
]]
  local function code(budget, seed) return (call:gsub("BUDGET", budget):gsub("SEED", seed)) end
  write(code(18, 1))
  local serial = run(nil)
  assert(serial:find("rc=0\n$"), serial)
  for i = 1, 2 do
    local out = run(i .. "/2")
    assert(out:find("shard " .. i .. "/2 of ot.bounds.minibatch #1", 1, true) and out:find("rc=0\n$"), out)
  end
  assert(run("reduce") == serial, "reduce gives the serial numbers")
  assert(run("1/2") == serial, "a shard finding every file reads them")
  -- files of another run: another seed (other pairs), another budget (rows left over)
  write(code(18, 2))
  local out = run("reduce")
  assert(out:find("does not match this run", 1, true) and out:find("rc=1"), out)
  write(code(12, 1))
  out = run("reduce")
  assert(out:find("this run used", 1, true) and out:find("rc=1"), out)
  os.remove(dir .. "/bounds-1.2of2.npy")
  write(code(18, 1))
  out = run("reduce")
  assert(out:find("shard 2 of 2 is missing", 1, true) and out:find("rc=1"), out)
  clean()
  out = run("reduce")
  assert(out:find("no shard files bounds-1.1ofN.npy", 1, true) and out:find("rc=1"), out)
  -- adaptive picks each round from the last one: not as shards
  write('ot.bounds.minibatch(X, Y, {m = 4, strategy = "adaptive"})')
  out = run("1/2")
  assert(out:find('strategy "adaptive" picks each round', 1, true) and out:find("rc=1"), out)
  write('ot.bounds.curve(X, Y, {m = 4, strategy = "adaptive"})')
  out = run("reduce")
  assert(out:find("ot.bounds.curve: strategy \"adaptive\"", 1, true) and out:find("rc=1"), out)
  clean()
  os.remove(script)
end

-- the same script without a launcher: a world of one, nothing changes
assert(ot.mpi.size() == 1)
print("bounds ok")
