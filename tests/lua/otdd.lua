print("testing otdd")

-- ot.otdd: reference values of specs/otdd.md on the bundled digits (source =
-- labels 0-4 in file order, target = labels 5-9), closed forms, invariances,
-- the pairwise matrix, and the bad inputs (message checked, process alive,
-- next valid call works).

local function near(got, want, tol, what)
  assert(math.abs(got - want) <= tol,
         string.format("%s: got %.10g, want %.10g (tol %g)", what, got, want, tol))
end

local D = ot.data.digits()
local S, T = D:where{0, 1, 2, 3, 4}, D:where{5, 6, 7, 8, 9}
assert(S.n == 901 and T.n == 896)

-- the peer's schedule reproduces its number (peer, double precision: 1288.2826)
local v, info = ot.otdd.distance(S, T, {outer = "compat"})
near(v, 1288.2826, 1e-4 * 1288.2826, "compat")
assert(info.status == "schedule_completed" and info.debiased and info.outer == "compat")
assert(info.precision == "double")
-- precision = "single": float inner products on centred clouds, within 1e-6
-- relative of double; dense and online tiles agree closely
local vs, is = ot.otdd.distance(S, T, {outer = "compat", precision = "single"})
assert(is.precision == "single" and not is.online)
near(vs, v, 1e-6 * v, "single precision")
local vso, iso = ot.otdd.distance(S, T, {outer = "compat", precision = "single", online = true})
assert(iso.online and iso.precision == "single")
near(vso, vs, 1e-7 * vs, "single precision, online")
-- cache: the online sweeps keep their cost blocks (all of them by default at
-- this size); none, part or all kept give the same distance to rounding
local vo0, io0 = ot.otdd.distance(S, T, {outer = "compat", online = true, cache = 0})
assert(io0.online and io0.cached == 0 and io0.cache_bytes == 0)
local vo1, io1 = ot.otdd.distance(S, T, {outer = "compat", online = true})
assert(io1.cached == 1 and io1.cache_bytes > 0)
local vo2, io2 = ot.otdd.distance(S, T, {outer = "compat", online = true, cache = "4M"})
assert(io2.cached > 0 and io2.cached < 1 and io2.cache_bytes <= 4 * 2 ^ 20)
near(vo1, vo0, 1e-12 * vo0, "cache = none")
near(vo2, vo0, 1e-12 * vo0, "part cached = none")
near(vo0, v, 1e-9 * v, "online = dense")
assert(info.cached == nil) -- dense: no cache fields
local _, io3 = ot.otdd.distance(S, T, {outer = "compat", online = true, cache = 2 ^ 22})
assert(io3.cache_bytes > 0 and io3.cache_bytes <= 2 ^ 22) -- an integral float is bytes too
for _, bad in ipairs{{-1, "bytes (an integer >= 0)"}, {"lots", "a size like"},
                     {true, "bytes (an integer >= 0)"}, {1.5, "bytes (an integer >= 0)"}} do
  local okc, errc = pcall(ot.otdd.distance, S, T, {cache = bad[1]})
  assert(not okc and errc:find("ot.otdd.distance: bad argument #3 'opts'", 1, true)
         and errc:find("option 'cache' must be", 1, true) and errc:find(bad[2], 1, true), errc)
end
local okp, errp = pcall(ot.otdd.distance, S, T, {precision = "half"})
assert(not okp and errp:find("ot.otdd.distance: bad argument #3 'opts'", 1, true)
       and errp:find("option 'precision' must be one of double, single, got 'half'", 1, true), errp)
local W = info.label_distances
assert(W:shape() == 5 and select(2, W:shape()) == 5)
assert(info.class_names1[1] == "0" and info.class_names2[5] == "9")
assert(info.labels2:get(1) == 5)
local F = info.label_distances_full
assert(F:shape() == 10)
for i = 1, 10 do
  assert(F(i, i) == 0)
  for j = 1, 10 do assert(F(i, j) == F(j, i)) end
end
near(F(1, 6), W(1, 1), 0, "full block holds the cross block")
assert(info.time_stats >= 0 and info.time_labels >= 0 and info.time_outer > 0)

-- exact outer OT (network simplex) on the same cost: 1308.792802
local ve, ie = ot.otdd.distance(S, T, {outer = "exact"})
near(ve, 1308.792802, 1e-6 * 1308.792802, "exact")
assert(ie.converged and not ie.debiased)

-- label matrix between a dataset and itself: symmetric, zero diagonal
local W1 = ot.otdd.label_distances(S, S)
for i = 1, 5 do
  assert(W1(i, i) == 0)
  for j = 1, 5 do assert(W1(i, j) == W1(j, i)) end
end
assert(W1(1, 2) > 0)

-- Bures against the closed form: 2-D classes with known sample moments
-- class 1: (+-1, 0), (0, +-2): mean 0, cov diag(2/3, 8/3); class 2: 3x that + (5, -1)
local pts, lab = {}, {}
for _, p in ipairs{{1, 0}, {-1, 0}, {0, 2}, {0, -2}} do
  pts[#pts + 1] = p; lab[#lab + 1] = 1
  pts[#pts + 1] = {3 * p[1] + 5, 3 * p[2] - 1}; lab[#lab + 1] = 2
end
local G = {X = ot.mat(pts), y = lab}
local Wg = ot.otdd.label_distances(G, G)
near(Wg(1, 2), 26 + 4 * (2 / 3 + 8 / 3), 1e-10, "Bures closed form")
near(ot.otdd.label_distances(G, G, {inner = "means"})(1, 2), 26, 1e-12, "means")
near(ot.otdd.label_distances(G, G, {inner = "upper"})(1, 2), 26 + 10 * (10 / 3), 1e-12, "upper")
near(ot.otdd.label_distances(G, G, {diagonal_cov = true})(1, 2), 26 + 4 * (10 / 3), 1e-10,
     "diagonal")
local ex = 0
for _, p in ipairs{{1, 0}, {-1, 0}, {0, 2}, {0, -2}} do
  ex = ex + ((2 * p[1] + 5) ^ 2 + (2 * p[2] - 1) ^ 2) / 4
end
near(ot.otdd.label_distances(G, G, {inner = "exact"})(1, 2), ex, 1e-9, "exact inner")

-- OTDD(D, D) = 0 for the debiased divergence; smaller subsets keep the test fast
local s3 = {}
for i = 1, S.n, 3 do s3[#s3 + 1] = i end
local S3 = S:subset(s3)
local z = ot.otdd.distance(S3, S3, {outer = "compat"})
assert(math.abs(z) < 1e-9, "compat OTDD(D, D) = " .. z)
z = ot.otdd.distance(S3, S3, {outer = "exact"})
assert(math.abs(z) < 1e-9, "exact OTDD(D, D) = " .. z)

-- invariance to label renaming (non-contiguous, negative, out of order)
local map = {[0] = 40, [1] = -7, [2] = 3, [3] = 100, [4] = 12}
local yr = {}
for i = 1, S3.n do yr[i] = map[S3.y:get(i)] end
local R = {X = S3.X, y = yr}
local t3 = {}
for i = 1, T.n, 3 do t3[#t3 + 1] = i end
local T3 = T:subset(t3)
for _, mode in ipairs{"compat", "exact"} do
  local a = ot.otdd.distance(S3, T3, {outer = mode})
  local b, ib = ot.otdd.distance(R, T3, {outer = mode})
  near(b, a, 1e-9 * a, "renaming (" .. mode .. ")")
  assert(ib.labels1:get(1) == -7 and ib.class_names1[5] == "100")
end

-- converged Sinkhorn (small, loose eps): between plain OT_eps-free bounds
local vs, is = ot.otdd.distance(S3, T3, {entreg = 10})
assert(is.outer == "sinkhorn" and is.converged, is.status)
assert(vs > 0 and vs < ve * 1.2)

-- feature-only OT (lambda_y = 0) and class names from label_names
local A = {X = ot.mat{{0, 0}, {1, 0}, {0, 1}, {1, 1}}, y = {0, 0, 1, 1},
           label_names = {[0] = "zero", [1] = "one"}}
local B = {X = ot.mat{{0, 0}, {1, 0}, {0, 1}, {1, 1}}, y = {5, 5, 6, 6}}
local v0, i0 = ot.otdd.distance(A, B, {lambda_y = 0, outer = "exact"})
near(v0, 0, 1e-12, "feature-only OT of equal clouds")
assert(i0.class_names1[1] == "zero" and i0.class_names2[2] == "6")

-- coupling: marginals uniform
local _, ic = ot.otdd.distance(A, B, {coupling = true, entreg = 0.5, tol = 1e-9})
local P = ic.coupling
for i = 1, 4 do near(P:sum(2):get(i), 0.25, 1e-6, "coupling rows") end
local _, ix = ot.otdd.distance(A, B, {coupling = true, outer = "exact"})
near(ix.coupling:sum(), 1, 1e-12, "exact coupling mass")

-- a one-sample class is dropped with a notice (or refused by option)
local C = {X = ot.mat{{0, 0}, {1, 0}, {0, 1}, {1, 1}, {5, 5}}, y = {3, 3, 7, 7, 9}}
local vd, id = ot.otdd.distance(C, B)
assert(id.dropped[1]:find("class 9 dropped", 1, true), id.dropped[1])
assert(id.n1 == 4)

-- maxsamples + seed: reproducible subsample, statistics on all data
local m1, im1 = ot.otdd.distance(S, T, {outer = "compat", maxsamples = 200, seed = 3})
local m2 = ot.otdd.distance(S, T, {outer = "compat", maxsamples = 200, seed = 3})
assert(m1 == m2 and im1.n1 == 200 and im1.rows1:shape() == 200)
near(im1.label_distances(1, 1), W(1, 1), 0, "statistics on all data")

-- class statistics on request
local _, ist = ot.otdd.distance(G, G, {stats = true, outer = "exact"})
near(ist.stats1.covs[1](2, 2), 8 / 3, 1e-12, "stats covs")
assert(ist.stats1.counts:get(1) == 4)

-- pairwise: symmetric, zero diagonal, the entries are the pair distances
local K, ik = ot.otdd.pairwise({S3, T3, D:where{0, 9}:subset{1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40}}, {outer = "compat"})
for i = 1, 3 do
  assert(K(i, i) == 0)
  for j = 1, 3 do assert(K(i, j) == K(j, i)) end
end
near(K(1, 2), ot.otdd.distance(S3, T3, {outer = "compat"}), 1e-9 * K(1, 2), "pairwise entry")
assert(#ik.names == 3)

-- ---- bad inputs: message checked, process alive, next valid call works ----
local function bad(fn, frag, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error containing " .. frag)
  assert(type(err) == "string" and err:find(frag, 1, true), err)
  local w = ot.otdd.label_distances(A, B)   -- the next valid call works
  assert(w(1, 1) >= 0)
end
local dist = ot.otdd.distance
bad(dist, "ot.otdd.distance: bad argument #1 'D1' (dataset expected", 42, B)
bad(dist, "bad argument #2 'D2' (field X must be a matrix", A, {y = {1}})
bad(dist, "bad argument #1 'D1' (y[2] = 0.5 is not an integer label)",
    {X = ot.mat{{0, 0}, {1, 1}}, y = {0, 0.5}}, B)
bad(dist, "bad argument #1 'D1' (y[1] = nan is not an integer label)",
    {X = ot.mat{{0, 0}, {1, 1}}, y = {0 / 0, 1}}, B)
bad(dist, "bad argument #1 'D1' (3 labels for 2 rows of X)", {X = ot.mat{{0}, {1}}, y = {0, 0, 1}}, B)
bad(dist, "bad argument #1 'D1' (X[1][2] = inf is not finite)",
    {X = ot.mat{{0, math.huge}, {1, 1}}, y = {0, 0}}, B)
bad(dist, "bad argument #2 'D2' (dimension 3 does not match D1's 2)", A,
    {X = ot.mat{{0, 0, 0}, {1, 1, 1}}, y = {1, 1}})
bad(dist, "bad argument #1 'D1' (no class has at least 2 samples", {X = ot.mat{{0, 0}, {1, 1}}, y = {0, 1}},
    B)
bad(dist, "bad argument #1 'D1' (class 9 has 1 sample, fewer than min_class_size = 2", C, B,
    {small_classes = "error"})
bad(dist, "bad argument #3 'opts' (option 'entreg' must be finite and > 0, got 0)", A, B,
    {entreg = 0})
bad(dist, "bad argument #3 'opts' (unknown option 'outr'", A, B, {outr = "exact"})
bad(dist, "bad argument #3 'opts' (option 'outer' must be one of sinkhorn, compat, exact", A, B,
    {outer = "fast"})
bad(dist, "bad argument #3 'opts' (option 'min_class_size' must be >= 2, got 1)", A, B,
    {min_class_size = 1})
bad(ot.otdd.pairwise, "ot.otdd.pairwise: bad argument #1 'datasets' (empty list)", {})
bad(ot.otdd.pairwise, "bad argument #1 'datasets' (datasets[2] has dimension 3", {A,
    {X = ot.mat{{0, 0, 0}, {1, 1, 1}}, y = {1, 1}}})
-- a singular covariance (a class on a line) is fine: clamped, reported
local L = {X = ot.mat{{0, 0}, {1, 1}, {2, 2}, {0, 1}, {1, 2}, {2, 3}}, y = {1, 1, 1, 2, 2, 2}}
local vl, il = ot.otdd.distance(L, L, {outer = "exact"})
near(vl, 0, 1e-9, "singular covariances")
-- the coupling over the memory budget: a clear error before any work
local old = ot.mem_limit()
ot.mem_limit(ot.mem().used + 2 ^ 20)
local ok, err = pcall(dist, S, T, {coupling = true})
ot.mem_limit(old)
assert(not ok and err:find("coupling needs", 1, true), err)
assert(ot.otdd.distance(A, B, {outer = "exact"}) >= 0)
-- a progress callback that raises: its error comes back, the next call works
ok, err = pcall(dist, S3, T3, {progress = function() error("stop here", 0) end})
assert(not ok and err == "stop here", tostring(err))
ok, err = pcall(dist, S3, T3, {progress = function() return false end})
assert(not ok and err:find("canceled by the progress callback", 1, true), tostring(err))
assert(ot.otdd.distance(S3, T3, {outer = "compat"}) > 0)

-- pairwise runs each dataset pair protected (so that MPI ranks learn of a
-- failure): an error inside a pair comes back with its own message
ok, err = pcall(ot.otdd.pairwise, {S3, T3}, {outer = "compat", progress = function(p)
  if p.kernel ~= "otdd labels" then error("stop in the outer problem") end
end})
assert(not ok and tostring(err):find("stop in the outer problem", 1, true), tostring(err))
assert(ot.otdd.pairwise({S3, T3}, {outer = "compat"})(1, 2) > 0)

print("otdd ok")
