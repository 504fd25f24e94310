-- allocfail.lua: the scenarios of the allocation-failure walk.
--
-- Not a test script on its own: tests/c/allocwalk.c (meson test
-- alloc/walk) loads this file into a fresh state for every failure point,
-- runs a scenario's setup() without faults, then its run(state) with the
-- N-th and every later allocation failing (N = 1, 2, ...), and accepts only
-- success or a clean "not enough memory", with 0 live bytes after
-- lua_close.  See the header of allocwalk.c.
--
-- Each entry: { name = "...", setup = function() return state end (optional),
--               run = function(state) ... end }.
-- run() should check its own result with assert (it only matters when it
-- succeeds) and stay small: the walk runs it once per allocation it makes.
--
-- Modules add one line each (see the end: otdd, flow, nn, bounds), e.g.
--   add("otdd", function(s) ot.otdd.distance(s.D, s.E) end, labelled)

local S = {}
local root = OTLAB_ROOT or "."

-- add(name, run [, setup]): one scenario.
local function add(name, run, setup)
  S[#S + 1] = { name = name, run = run, setup = setup }
end

-- Setup of the solver scenarios: two small seeded point clouds, weights
-- and their cost matrix (made before faults are injected).
local function points()
  ot.seed(7)
  local X, Y = ot.rand(12, 2), ot.rand(10, 2)
  return { X = X, Y = Y, M = ot.dist(X, Y), a = ot.unif(12), b = ot.unif(10) }
end

local function gauss()
  ot.seed(3)
  local A, B = ot.randn(3, 3), ot.randn(3, 3)
  local C1 = A:T():dot(A):add_(ot.eye(3))
  local C2 = B:T():dot(B):add_(ot.eye(3))
  return { m1 = ot.zeros(3), m2 = ot.ones(3), C1 = C1, C2 = C2,
           Xs = ot.randn(20, 3), Xt = ot.randn(25, 3) }
end

-- ---- loaders ---------------------------------------------------------------
add("load npy", function()
  local X = ot.load(root .. "/tests/data/io/golden_mat.npy")
  assert(X:numel() > 0)
end)
add("load npy vector", function()
  local v = ot.load(root .. "/tests/data/io/vec.npy")
  assert(v:numel() > 0)
end)
add("load csv", function()
  local X, y, info = ot.load(root .. "/share/data/iris.csv", { label_col = -1, limit = 20 })
  assert(X:shape() == 20 and y:numel() == 20 and info.rows == 20)
end)
add("load idx.gz", function()
  local X, y = ot.load(root .. "/share/data/fashion-mnist/t10k-images-idx3-ubyte.gz",
    { limit = 5, labels = root .. "/share/data/fashion-mnist/t10k-labels-idx1-ubyte.gz" })
  assert(X:shape() == 5 and y:numel() == 5)
end)
add("save+load npy", function(s)
  local path = os.tmpname()
  local ok, err = pcall(ot.save, path .. ".npy", s.M)
  os.remove(path)
  if not ok then os.remove(path .. ".npy"); error(err, 0) end
  local ok2, M2 = pcall(ot.load, path .. ".npy")
  os.remove(path .. ".npy")
  if not ok2 then error(M2, 0) end
  assert(M2:equals(s.M))
end, points)

-- ---- solvers ---------------------------------------------------------------
add("dist", function(s)
  local M = ot.dist(s.X, s.Y)
  assert(M:shape() == 12)
end, points)
add("emd", function(s)
  local P, info = ot.emd(s.a, s.b, s.M)
  assert(info.status == "optimal" and info.cost > 0 and P ~= nil)
end, points)
add("emd2 points", function(s)
  local c = ot.emd2(nil, nil, s.X, s.Y)
  assert(c > 0)
end, points)
add("emd_1d", function(s)
  local x, y = s.X:col(1), s.Y:col(1)
  local P = ot.emd_1d(x, y)
  assert(ot.emd2_1d(x, y) >= 0 and P ~= nil)
end, points)
add("sinkhorn", function(s)
  local P, info = ot.sinkhorn(s.a, s.b, s.M, 0.1)
  assert(info.converged)
end, points)
add("sinkhorn log", function(s)
  local P, info = ot.sinkhorn(s.a, s.b, s.M, 0.05, { method = "log" })
  assert(info.converged)
end, points)
add("sinkhorn stabilized", function(s)
  local _, info = ot.sinkhorn(s.a, s.b, s.M, 0.05, { method = "stabilized" })
  assert(info.status ~= nil)
end, points)
add("sinkhorn epsilon_scaling", function(s)
  local _, info = ot.sinkhorn(s.a, s.b, s.M, 0.05, { method = "epsilon_scaling" })
  assert(info.status ~= nil)
end, points)
add("sinkhorn2 auto-log", function(s)
  local c, info = ot.sinkhorn2(s.a, s.b, s.M, 1e-4)
  assert(c > 0 and info.method == "log")
end, points)
add("sinkhorn progress", function(s)
  local calls = 0
  local _, info = ot.sinkhorn(s.a, s.b, s.M, 0.01, { method = "log",
    progress = function(p) calls = calls + 1; local t = { p.iter, p.err } ; return t[1] < 1e9 end })
  assert(info.converged and calls > 0)
end, points)
add("sinkhorn_divergence", function(s)
  local v = ot.sinkhorn_divergence(s.X, s.Y, { reg = 0.1 })
  assert(v == v)
end, points)
add("sinkhorn_divergence online", function(s)
  local v = ot.sinkhorn_divergence(s.X, s.Y, { reg = 0.1, online = true })
  assert(v == v)
end, points)
add("unbalanced", function(s)
  local _, info = ot.unbalanced.sinkhorn_unbalanced(s.a, s.b, s.M, 0.1, 1.0)
  assert(info.status ~= nil)
end, points)
add("gaussian", function(g)
  local W = ot.gaussian.bures_wasserstein_distance(g.m1, g.C1, g.m2, g.C2)
  local A, b = ot.gaussian.bures_wasserstein_mapping(g.m1, g.C1, g.m2, g.C2)
  assert(W > 0 and A and b)
end, gauss)
add("gaussian empirical", function(g)
  local W = ot.gaussian.empirical_bures_wasserstein_distance(g.Xs, g.Xt)
  local A = ot.gaussian.empirical_bures_wasserstein_mapping(g.Xs, g.Xt)
  assert(W > 0 and A)
end, gauss)
add("sliced", function(s)
  local v = ot.sliced_wasserstein_distance(s.X, s.Y, nil, nil, { n_projections = 20, seed = 1 })
  local w = ot.max_sliced_wasserstein_distance(s.X, s.Y, nil, nil, { n_projections = 20, seed = 1 })
  assert(v > 0 and w >= 0)
end, points)
add("data moons", function()
  local D = ot.data.moons({ n = 30, seed = 1 })
  assert(D.X:shape() == 30)
end, function() ot.data = require("data") end)
add("ui sparkline", function(s)
  local out = ot.ui.sparkline(s.M:row(1))
  assert(type(out) == "string")
end, points)

-- The modules (one line each; more can follow the same pattern):
local function labelled()
  ot.data = require("data")
  local D = ot.data.gaussian_mixture{ n = 30, means = { { 0, 0 }, { 3, 0 }, { 0, 3 } }, seed = 1 }
  local E = ot.data.gaussian_mixture{ n = 24, means = { { 1, 0 }, { 3, 1 } }, seed = 2 }
  return { D = D, E = E, X = ot.randn(16, 2), Y = ot.randn(16, 2) }
end
add("otdd", function(s) local d = ot.otdd.distance(s.D, s.E, { outer = "compat" }); assert(d == d) end, labelled)
add("otdd exact", function(s) local d = ot.otdd.distance(s.D, s.E, { outer = "exact" }); assert(d == d) end, labelled)
add("flow", function(s) local f = ot.flow.new(s.D, { target = s.E, step = 0.5 }); f:step(2); assert(f:state()) end, labelled)
add("nn epoch", function(s) local net = ot.nn.mlp{ 2, 8, { 8, rank = 2 }, 3, seed = 1 }; local info = net:train_epoch(s.D.X, s.D.y); assert(info) end, labelled)
add("bounds", function(s) local r = ot.bounds.minibatch(s.X, s.Y, { m = 4, seed = 1 }); assert(r.upper >= r.lower - 1e-9) end, labelled)

return S
