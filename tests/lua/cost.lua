print("testing cost")

local function errmsg(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(msg)
end

-- the error mentions `want` (plain find) and the next valid call works
local function bad(want, f, ...)
  local msg = errmsg(f, ...)
  assert(msg:find(want, 1, true), "unexpected message: " .. msg)
  assert(ot.dist(ot.mat{{0, 0}, {1, 1}})(1, 2) == 2)
end

local function naive(x, y, metric, p)
  local s, xx, yy = 0, 0, 0
  for k = 1, #x do
    local t = x[k] - y[k]
    if metric == "sqeuclidean" or metric == "euclidean" then s = s + t * t
    elseif metric == "cityblock" then s = s + math.abs(t)
    elseif metric == "cosine" then s, xx, yy = s + x[k] * y[k], xx + x[k]^2, yy + y[k]^2
    elseif metric == "chebyshev" then s = math.max(s, math.abs(t))
    else s = s + math.abs(t)^p end
  end
  if metric == "euclidean" then return math.sqrt(s)
  elseif metric == "cosine" then return 1 - s / math.sqrt(xx * yy)
  elseif metric == "minkowski" then return s^(1 / p) end
  return s
end

local function rows(M)
  local n, d = M:shape()
  local t = {}
  for i = 1, n do
    t[i] = {}
    for k = 1, d do t[i][k] = M(i, k) end
  end
  return t
end

-- every metric against naive loops, on views with ld != cols
ot.seed(5)
local bigX, bigY = ot.randn(23, 7), ot.randn(17, 9)
local X, Y = bigX:slice(1, 23, 2, 5), bigY:slice(1, 17, 3, 6)   -- 23x4 and 17x4 views
local tx, ty = rows(X), rows(Y)
for _, case in ipairs({{"sqeuclidean"}, {"euclidean"}, {"cityblock"}, {"cosine"},
                       {"minkowski", 3}, {"minkowski", 1.5}, {"chebyshev"}}) do
  local metric, p = case[1], case[2]
  local C = ot.dist(X, Y, metric, p)
  local n, m = C:shape()
  assert(n == 23 and m == 17)
  for i = 1, n do
    for j = 1, m do
      local want = naive(tx[i], ty[j], metric, p or 2)
      assert(math.abs(C(i, j) - want) <= 1e-12 * math.max(1, math.abs(want)), metric)
    end
  end
end
-- default metric, Y = X forms, tables of rows, vectors as 1-D points
local C1 = ot.dist(X)
local C2 = ot.dist(X, nil, "sqeuclidean")
local C3 = ot.dist(X, "sqeuclidean")
assert(C1 == C2 and C2 == C3)
for i = 1, 23 do assert(C1(i, i) >= 0 and C1(i, i) < 1e-12) end
for i = 1, 23 * 23 do assert(C1:reshape(23 * 23, 1):get(i) >= 0) end
assert(ot.dist({{0, 0}, {3, 4}}, {{0, 0}}, "euclidean")(2, 1) == 5)
local v = ot.dist(ot.mat{1, 2, 4}, ot.mat{0, 1})
assert(v(3, 1) == 16 and v(1, 2) == 0)
-- the same points, contiguous or strided, give the same matrix
assert(ot.dist(X:copy(), Y:copy()):allclose(ot.dist(X, Y), 0, 1e-13))
-- one-point datasets are valid
assert(ot.dist(ot.mat{{1, 2}}, ot.mat{{1, 2}})(1, 1) == 0)

-- bad inputs: each message checked, the session continues
bad("bad argument #2 'Y' (points of dimension 3", ot.dist, ot.zeros(3, 2), ot.zeros(3, 3))
bad("X[2,1] = nan is not finite", ot.dist, ot.mat{{0, 0}, {0 / 0, 1}})
bad("Y[1,2] = inf is not finite", ot.dist, ot.mat{{0, 0}}, ot.mat{{0, math.huge}})
bad("'X' (empty dataset (0x2)", ot.dist, ot.zeros(0, 2))
bad("'Y' (empty dataset (3x0)", ot.dist, ot.zeros(3, 2), ot.zeros(3, 0))
bad("unknown metric 'hamming'", ot.dist, X, Y, "hamming")
bad("'p' (applies to metric 'minkowski' only", ot.dist, X, Y, "euclidean", 3)
bad("'p' (must be >= 1", ot.dist, X, Y, "minkowski", 0.5)
bad("row 2 of Y is the zero vector", ot.dist, X, ot.mat{{1, 1, 1, 1}, {0, 0, 0, 0}}, "cosine")
bad("X[1,2] = 1e+200: sqeuclidean costs overflow", ot.dist, ot.mat{{0, 1e200}})
bad("bad argument #1 'X' (matrix or table expected, got string)", ot.dist, "x")
bad("cannot allocate", ot.dist, ot.zeros(2^20, 1), ot.zeros(2^20, 1))
bad("'metric' (string expected, got number)", ot.dist, X, Y, 3)

-- Ctrl-C: with the interrupt flag raised ot.dist stops between tiles
-- (exercised in the e2e tests; here a big call simply completes)
local B = ot.dist(ot.rand(600, 3), ot.rand(500, 3))
assert(select(1, B:shape()) == 600)

-- barycentric projection: a permutation plan gives the permuted targets
local Yp = ot.mat{{0, 0}, {1, 0}, {0, 1}, {5, 5}}
local perm = {3, 1, 4, 2}
local P = ot.zeros(4, 4)
for i = 1, 4 do P:set(i, perm[i], 0.25) end
local T = ot.barycentric_projection(P, Yp)
for i = 1, 4 do
  for k = 1, 2 do assert(math.abs(T(i, k) - Yp(perm[i], k)) < 1e-15) end
end
-- the same plan as 1-based triplets
local trip = ot.zeros(4, 3)
for i = 1, 4 do trip:set(i, 1, i); trip:set(i, 2, perm[i]); trip:set(i, 3, 0.25) end
assert(ot.barycentric_projection(trip, Yp):allclose(T, 0, 1e-15))
-- split mass: a weighted average
local S = ot.barycentric_projection(ot.mat{{0.1, 0.1, 0, 0}}, Yp)
assert(S(1, 1) == 0.5 and S(1, 2) == 0)
-- massless rows: an error without X, X_i kept with it
local Pz = ot.mat{{0.5, 0, 0, 0}, {0, 0, 0, 0}}
local Xs = ot.mat{{9, 9}, {7, 8}}
local Tz = ot.barycentric_projection(Pz, Yp, {X = Xs})
assert(Tz(1, 1) == 0 and Tz(2, 1) == 7 and Tz(2, 2) == 8)
local Ts = ot.barycentric_projection(ot.mat{{1, 1, 0.5}}, Yp, {X = Xs})
assert(Ts(1, 1) == 0 and Ts(2, 2) == 8)
local Tn = ot.barycentric_projection(ot.mat{{1, 1, 0.5}, {3, 2, 1}}, Yp, {n = 3, sparse = true, X = ot.ones(3, 2)})
assert(select(1, Tn:shape()) == 3 and Tn(2, 1) == 1 and Tn(3, 1) == 1 and Tn(3, 2) == 0)

local function badp(want, ...)
  local msg = errmsg(ot.barycentric_projection, ...)
  assert(msg:find(want, 1, true), "unexpected message: " .. msg)
end
badp("source point 2 receives no mass", Pz, Yp)
badp("P[1,2] = -1 must be finite and >= 0", ot.mat{{1, -1, 0, 0}}, Yp)
badp("P[1,1] = nan", ot.mat{{0 / 0, 1, 0, 0}}, Yp)
badp("a dense plan needs one column per target point: P is 1x2", ot.mat{{1, 2}}, Yp)
badp("column index 7 is not in 1..4", ot.mat{{1, 7, 0.5}}, Yp)
badp("row index 1.5 is not a positive integer", ot.mat{{1.5, 1, 0.5}}, Yp)
badp("mass -0.5 must be finite", ot.mat{{1, 1, -0.5}}, Yp)
badp("source point 2 receives no mass", ot.mat{{1, 1, 0.5}}, Yp, {n = 3})
badp("is ambiguous", ot.mat{{1, 1, 0.5}}, ot.zeros(3, 2))
-- a 3x3 dense plan whose entries cannot be indices is dense
assert(ot.barycentric_projection(ot.mat{{0.5, 0, 0}, {0, 0.5, 0}, {0, 0, 0.5}}, ot.eye(3))(2, 2) == 1)
assert(ot.barycentric_projection(ot.mat{{1, 1, 1}}, ot.eye(3), {sparse = false})(1, 1) == 1 / 3)
badp("X has dimension 3", P, Yp, {X = ot.zeros(4, 3)})
badp("X has 2 points but P has 4 rows", P, Yp, {X = ot.zeros(2, 2)})
badp("unknown option 'x'", P, Yp, {x = 1})
badp("row index 3 exceeds the 2 source points", ot.mat{{3, 1, 0.5}}, Yp, {n = 2})
badp("'Y' (empty dataset", P, ot.zeros(0, 2))
-- the session continues
assert(ot.barycentric_projection(ot.mat{{1, 3, 1}}, Yp)(1, 2) == 1)
badp("the weighted sums overflowed", ot.mat{{1e300, 1e300, 0, 0}}, ot.mat{{1e300, 0}, {1e300, 0}, {0, 0}, {0, 0}})
assert(ot.barycentric_projection(ot.mat{{1e300, 1e300, 0, 0}}, Yp)(1, 1) == 0.5)
