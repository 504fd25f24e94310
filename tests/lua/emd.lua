print("testing emd")

-- Tolerances: marginals 1e-12 * (n + m), duality gap 1e-9 relative,
-- reduced costs >= -1e-9 * max|M|, values from POT 0.8.2 to 1e-9 relative
-- (computed once with /usr/bin/python3; the calls are quoted next to them).

local function close(x, y, tol) return math.abs(x - y) <= tol * math.max(1, math.abs(y)) end

-- expects an error whose message contains `text` (plain find)
local function fails(text, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error containing: " .. text)
  err = tostring(err)
  assert(err:find(text, 1, true), "error '" .. err .. "' lacks '" .. text .. "'")
end

-- the certificate of an exact solution given as a sparse plan
local function certify(a, b, M, P, info)
  local n, m = M:shape()
  local rows, cols = {}, {}
  for i = 1, n do rows[i] = 0 end
  for j = 1, m do cols[j] = 0 end
  local k = P:shape()
  assert(k <= n + m - 1, "too many entries")
  local cost = 0
  for r = 1, k do
    local i, j, w = P(r, 1), P(r, 2), P(r, 3)
    assert(w > 0)
    rows[i] = rows[i] + w
    cols[j] = cols[j] + w
    cost = cost + w * M(i, j)
  end
  for i = 1, n do assert(math.abs(rows[i] - a[i]) <= 1e-12 * (n + m), "row marginal") end
  for j = 1, m do assert(math.abs(cols[j] - b[j]) <= 1e-12 * (n + m), "column marginal") end
  local dual, scale, minrc = 0, 0, math.huge
  for i = 1, n do dual = dual + a[i] * info.u(i) end
  for j = 1, m do dual = dual + b[j] * info.v(j) end
  for i = 1, n do
    for j = 1, m do
      scale = math.max(scale, math.abs(M(i, j)))
      minrc = math.min(minrc, M(i, j) - info.u(i) - info.v(j))
    end
  end
  assert(minrc >= -1e-9 * math.max(scale, 1), "reduced costs " .. minrc)
  assert(math.abs(cost - dual) <= 1e-9 * math.max(math.abs(cost), 1e-12), "duality gap")
  assert(close(info.cost, cost, 1e-12))
  assert(info.status == "optimal" and info.converged == true)
end

-- a small fixed problem with POT's answer
local uw = {0.1, 0.3, 0.2, 0.25, 0.15}
local vw = {0.4, 0.1, 0.3, 0.2}
local M = ot.mat({{3, 1, 4, 1}, {5, 9, 2, 6}, {5, 3, 5, 8}, {9, 7, 9, 3}, {2, 3, 8, 4}})
local P, info = ot.emd(uw, vw, M)
-- ot.emd2(uw, vw, M) = 3.0500000000000003
assert(close(info.cost, 3.05, 1e-12))
certify(uw, vw, M, P, info)
local c2, info2 = ot.emd2(uw, vw, M)
assert(c2 == info.cost and info2.iterations == info.iterations)
for _, f in ipairs({"cost", "u", "v", "iterations", "status", "converged", "solver", "time", "err"}) do
  assert(info[f] ~= nil, "info." .. f)
end
assert(info.solver == "simplex" and info.min_rc >= -1e-12 * 9 and info.nnz == P:shape())
local D = ot.emd(uw, vw, M, {dense = true})
local n, m = D:shape()
assert(n == 5 and m == 4)
local D2 = ot.plan_dense(P, 5, 4)
for i = 1, 5 do for j = 1, 4 do assert(D(i, j) == D2(i, j)) end end
-- POT's plan: [[0 .1 0 0] [0 0 .3 0] [.2 0 0 0] [.05 0 0 .2] [.15 0 0 0]]
assert(close(D(4, 1), 0.05, 1e-12) and close(D(2, 3), 0.3, 1e-12))

-- uniform weights from nil or {}; points form = matrix form
ot.seed(3)
local X, Y = ot.rand(30, 3), ot.rand(25, 3)
local C = ot.dist(X, Y)
local a, b = {}, {}
for i = 1, 30 do a[i] = 1 / 30 end
for j = 1, 25 do b[j] = 1 / 25 end
local Pc, ic = ot.emd(nil, {}, C)
certify(a, b, C, Pc, ic)
local Pp, ip = ot.emd({}, {}, X, Y)
assert(close(ip.cost, ic.cost, 1e-12))
local cp = ot.emd2(nil, nil, X, Y, {max_iter = 100000})
assert(close(cp, ic.cost, 1e-12))

-- symmetry
local W1 = ot.emd2(uw, vw, M)
local W2 = ot.emd2(vw, uw, M:transpose())
assert(close(W1, W2, 1e-12))

-- permutation instance: the identity plan
local Xs = ot.rand(12, 2)
local Pi, ii = ot.emd({}, {}, Xs, Xs)
assert(Pi:shape() == 12 and ii.cost == 0)
for r = 1, 12 do assert(Pi(r, 1) == Pi(r, 2)) end

-- assignment solver on a square uniform problem
local S = ot.dist(ot.rand(40, 4), ot.rand(40, 4))
local cs, is = ot.emd2({}, {}, S, {solver = "simplex"})
local ca, ia = ot.emd2({}, {}, S, {solver = "assign"})
assert(is.solver == "simplex" and ia.solver == "assign")
assert(close(cs, ca, 1e-12))
local Pa, ia2 = ot.emd({}, {}, S, {solver = "assign"})
local w40 = {}
for i = 1, 40 do w40[i] = 1 / 40 end
certify(w40, w40, S, Pa, ia2)

-- zero weights are valid: dropped points get no mass, duals stay feasible
local az = {0.5, 0, 0.5, 0, 0}
local bz = {0, 0.25, 0.75, 0}
local Pz, iz = ot.emd(az, bz, M)
certify(az, bz, M, Pz, iz)

-- normalize
local cn = ot.emd2({1, 3, 2, 2.5, 1.5}, {4, 1, 3, 2}, M, {normalize = true})
assert(close(cn, 3.05, 1e-12))

-- one-point problems
local P1, i1 = ot.emd({1}, {1}, ot.mat({{2.5}}))
assert(P1:shape() == 1 and i1.cost == 2.5)
local c1 = ot.emd2({}, {}, ot.mat({{1, 2, 3}}))
assert(close(c1, 2, 1e-15))
assert(ot.emd2({}, {}, ot.mat({{0.5}}), ot.mat({{2.0}})) == 2.25)

-- iteration cap: data, not an error
local Xb, Yb = ot.rand(60, 2), ot.rand(60, 2)
local cm, im = ot.emd2({}, {}, Xb, Yb, {max_iter = 5})
assert(im.status == "max_iter_reached" and im.converged == false and im.iterations == 5)

-- progress callback: a table per call; false cancels; an error propagates
local calls, last = 0, nil
local Xl, Yl = ot.rand(400, 2), ot.rand(400, 2)
local Pk, ik = ot.emd({}, {}, Xl, Yl, {progress = function(p)
  calls = calls + 1
  last = p
  return false
end})
assert(ik.status == "canceled" and ik.converged == false, ik.status)
assert(calls == 1 and last.kernel == "emd" and last.iter >= 0)
fails("boom", ot.emd2, {}, {}, Xl, Yl, {progress = function() error("boom") end})
local cf = ot.emd2({}, {}, Xl, Yl, {progress = function() return true end})
assert(cf > 0)

-- bad inputs: message, and the next call still works
fails("ot.emd: bad argument #1 'a' (a[2] = -0.2 < 0)", ot.emd, {0.6, -0.2, 0.6}, {0.5, 0.5}, ot.zeros(3, 2))
fails("bad argument #2 'b'", ot.emd, {0.5, 0.5}, {0.4, 0.4}, ot.zeros(2, 2))
fails("normalize = true", ot.emd2, {0.5, 0.5}, {0.4, 0.4}, ot.zeros(2, 2))
fails("has 3 entries, needs 2", ot.emd, {0.2, 0.3, 0.5}, {}, ot.zeros(2, 2))
fails("all weights are zero", ot.emd, {0, 0}, {}, ot.zeros(2, 2))
fails("not finite", ot.emd, {0 / 0, 1}, {}, ot.zeros(2, 2))
fails("not finite", ot.emd, {}, {math.huge, 1}, ot.zeros(2, 2))
fails("M[2,1] = nan is not finite", ot.emd, {}, {}, ot.mat({{1, 2}, {0 / 0, 3}}))
fails("M[1,2] = inf is not finite", ot.emd2, {}, {}, ot.mat({{1, math.huge}, {0, 3}}))
fails("empty cost matrix (0x3)", ot.emd, {}, {}, ot.zeros(0, 3))
fails("dimension", ot.emd2, {}, {}, ot.rand(3, 2), ot.rand(4, 3))
fails("empty dataset", ot.emd2, {}, {}, ot.zeros(0, 2), ot.rand(4, 2))
fails("X[1,1] = nan", ot.emd2, {}, {}, ot.mat({{0 / 0, 1}}), ot.rand(4, 2))
fails("overflow", ot.emd2, {}, {}, ot.mat({{1e300, 1}}), ot.mat({{-1e300, 1}}))
fails("unknown option 'maxiter'", ot.emd, {}, {}, ot.zeros(2, 2), {maxiter = 3})
fails("option 'solver'", ot.emd, {}, {}, ot.zeros(2, 2), {solver = "hungarian"})
fails("needs a square cost matrix", ot.emd, {}, {}, ot.zeros(2, 3), {solver = "assign"})
fails("uniform weights", ot.emd, {0.3, 0.7}, {}, ot.zeros(2, 2), {solver = "assign"})
fails("option 'max_iter' must be >= 1, got -1", ot.emd, {}, {}, ot.zeros(2, 2), {max_iter = -1})
fails("option 'max_iter' must be >= 1, got 0", ot.emd, {}, {}, ot.zeros(2, 2), {max_iter = 0})
fails("option 'max_iter' must be an integer", ot.emd, {}, {}, ot.zeros(2, 2), {max_iter = 1.5})
fails("option 'tol'", ot.emd, {}, {}, ot.zeros(2, 2), {tol = -1})
fails("option 'dense' must be a boolean", ot.emd, {}, {}, ot.zeros(2, 2), {dense = 1})
fails("progress", ot.emd, {}, {}, ot.zeros(2, 2), {progress = 3})
fails("argument 4", ot.emd, {}, {}, ot.zeros(2, 2), nil, {})
fails("point clouds must be matrices", ot.emd2, {}, {}, ot.rand(2, 2), {{1, 2}, {3, 4}})
fails("canceled by the progress callback", ot.emd, {}, {}, ot.dist(ot.rand(300, 2), ot.rand(300, 2)),
  {solver = "assign", progress = function() return false end})
fails("bad argument #1 'P'", ot.plan_dense, ot.zeros(2, 2), 2, 2)
fails("i = 3 is not an index", ot.plan_dense, ot.mat({{3, 1, 0.5}}), 2, 2)
-- over the memory budget: refused before allocating (a dense 10^6 x 10^6 plan)
local Xh = ot.zeros(1000000, 1)
fails("cannot allocate", ot.emd, {}, {}, Xh, Xh, {dense = true})
fails("cannot allocate", ot.plan_dense, ot.mat({{1, 1, 1}}), 2 ^ 40, 2 ^ 40)
Xh = nil
assert(close(ot.emd2(uw, vw, M), 3.05, 1e-12))

-- 1-D: POT's examples and values
local P1d, i1d = ot.emd_1d({2, 0}, {0, 3}, {0.5, 0.5}, {0.5, 0.5}, {dense = true})
assert(P1d(1, 2) == 0.5 and P1d(2, 1) == 0.5 and P1d(1, 1) == 0 and i1d.cost == 0.5)
assert(ot.emd2_1d({2, 0}, {0, 3}) == 0.5)
local u = {0.3, -1.2, 2.5, 0.7, 0.0}
local v = {1.1, -0.4, 0.9, 3.0}
-- ot.wasserstein_1d(u, v, uw, vw, p) for p = 1, 2, 3: 0.9250000000000002, 1.2415, 2.1350500000000006
assert(close(ot.wasserstein_1d(u, v, uw, vw), 0.925, 1e-12))
assert(close(ot.wasserstein_1d(u, v, uw, vw, 2), 1.2415, 1e-12))
assert(close(ot.wasserstein_1d(u, v, uw, vw, 3), 2.13505, 1e-12))
-- ot.emd2_1d(u, v, uw, vw) = 1.2415; metric='minkowski', p=1.5: 1.02876838869587
assert(close(ot.emd2_1d(u, v, uw, vw), 1.2415, 1e-12))
assert(close(ot.emd2_1d(u, v, uw, vw, {metric = "minkowski", p = 1.5}), 1.02876838869587, 1e-12))
assert(close(ot.emd2_1d(u, v, uw, vw, "minkowski", 1.5), 1.02876838869587, 1e-12))
assert(close(ot.emd2_1d(u, v, uw, vw, "euclidean"), 0.925, 1e-12))
fails("only after a metric name", ot.emd2_1d, u, v, uw, vw, nil, 2)
fails("bad argument #5 'metric' (metric \"sqeuclidean\"", ot.emd2_1d, u, v, uw, vw, "chebyshev")
fails("bad argument #6 'p' (must be finite and >= 1", ot.emd2_1d, u, v, uw, vw, "minkowski", 0.5)
-- against the simplex on the same costs
local Pl, il = ot.emd_1d(u, v, uw, vw)
local Mu = ot.zeros(5, 4)
for i = 1, 5 do for j = 1, 4 do Mu:set(i, j, (u[i] - v[j]) ^ 2) end end
assert(close(il.cost, ot.emd2(uw, vw, Mu), 1e-12))
local Dl = ot.plan_dense(Pl, 5, 4)
for i = 1, 5 do
  local srow = 0
  for j = 1, 4 do srow = srow + Dl(i, j) end
  assert(math.abs(srow - uw[i]) <= 1e-14)
end
-- against sorting: equal sizes, uniform weights
local xs, ys = ot.randn(50), ot.randn(50)
local sx, sy = xs:totable(), ys:totable()
table.sort(sx)
table.sort(sy)
local w2 = 0
for i = 1, 50 do w2 = w2 + (sx[i] - sy[i]) ^ 2 / 50 end
assert(close(ot.wasserstein_1d(xs, ys, nil, nil, 2), w2, 1e-12))
assert(close(ot.emd2_1d(xs, ys), w2, 1e-12))
assert(close(ot.emd2({}, {}, xs:reshape(50, 1), ys:reshape(50, 1)), w2, 1e-12))
-- 1-D bad inputs
fails("empty sample", ot.emd_1d, {}, {1})
fails("x_a[2] = nan is not finite", ot.emd_1d, {1, 0 / 0}, {1})
fails("p' must be finite and >= 1", ot.emd_1d, {1}, {2}, nil, nil, {metric = "minkowski", p = 0.5})
fails("option 'metric'", ot.emd2_1d, {1}, {2}, nil, nil, {metric = "cosine"})
fails("bad argument #5 'p'", ot.wasserstein_1d, {1}, {2}, nil, nil, 0.5)
fails("v_weights", ot.wasserstein_1d, {1, 2}, {2}, {0.5, 0.5}, {2})
assert(ot.wasserstein_1d({1, 2}, {2}, {0.5, 0.5}, {2}, 1, {normalize = true}) == 0.5)
fails("vector expected", ot.emd_1d, ot.zeros(2, 2), {1})
assert(ot.emd2_1d({0}, {1}) == 1)

-- default (uniform) weights over the memory budget: the error names the function
do
  local X, Y = ot.rand(3, 2), ot.rand(300000, 2)
  local old = ot.mem_limit()
  ot.mem_limit(ot.mem().used + 100000)
  local ok, msg = pcall(ot.emd2, nil, nil, X, Y)
  ot.mem_limit(old)
  assert(not ok and tostring(msg):find("^ot.emd2: cannot allocate a 300000 matrix"), tostring(msg))
  X, Y = nil, nil
  assert(ot.emd2(nil, nil, ot.mat{{0, 1}, {1, 0}}) == 0) -- the session goes on
end

print("OK")
