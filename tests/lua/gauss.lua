print("testing gauss")

local G = ot.gaussian
local function errmsg(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(msg)
end
local function bad(want, f, ...)
  local msg = errmsg(f, ...)
  assert(msg:find(want, 1, true), "unexpected message: " .. msg)
  assert(G.bures_wasserstein_distance(0, 1, 0, 1) == 0) -- the session goes on
end
local function near(a, b, tol) return math.abs(a - b) <= tol end

-- 1-D closed form |m1 - m2|^2 + (s1 - s2)^2, numbers or 1x1 matrices; W2 not squared
local W, info = G.bures_wasserstein_distance(1, 4, -0.5, 0.25)
assert(near(W, math.sqrt(1.5^2 + 1.5^2), 1e-14) and near(info.squared, 4.5, 1e-14))
assert(near(G.bures_wasserstein_distance({1}, {{4}}, {-0.5}, ot.mat{{0.25}}), W, 1e-15))

-- commuting (diagonal) covariances
local m1, m2 = ot.mat{1, 2, 3}, ot.mat{0, 0, 1}
local C1, C2 = ot.mat{{1, 0, 0}, {0, 4, 0}, {0, 0, 9}}, ot.mat{{4, 0, 0}, {0, 1, 0}, {0, 0, 0.25}}
local want = (1 + 4 + 4) + ((1 - 2)^2 + (2 - 1)^2 + (3 - 0.5)^2)
assert(near(G.bures_wasserstein_distance(m1, C1, m2, C2)^2, want, 1e-12))
-- equal covariances: ||m1 - m2||
local S = ot.mat{{2, 0.5, 0}, {0.5, 1, 0.2}, {0, 0.2, 3}}
assert(near(G.bures_wasserstein_distance(m1, S, m2, S), 3, 1e-12))

-- the map pushes N(m1, C1) onto N(m2, C2): A C1 A^T = C2, A m1 + b = m2
local A, b = G.bures_wasserstein_mapping(m1, S, m2, C2)
assert(A:dot(S):dot(A:T()):allclose(C2, 0, 1e-10))
assert((A:dot(m1) + b):allclose(m2, 0, 1e-12))
local a1, b1 = G.bures_wasserstein_mapping(1, 4, 3, 9)
assert(near(a1(1, 1), 1.5, 1e-15) and near(b1:get(1), 1.5, 1e-15))

-- PSD clamping (rank-deficient covariance) and the not-PSD error
local x = ot.mat{{0.3}, {-1.7}, {2.9}}
local R = x:dot(x:T())
local Wr = G.bures_wasserstein_distance(ot.zeros(3), R, ot.zeros(3), ot.zeros(3, 3))
assert(near(Wr^2, 0.09 + 2.89 + 8.41, 1e-12))
bad("bad argument #2 'C1' (not positive semi-definite: eigenvalue -1", G.bures_wasserstein_distance,
    {0, 0}, {{1, 2}, {2, 1}}, {0, 0}, ot.eye(2))
bad("bad argument #4 'C2' (not positive semi-definite", G.bures_wasserstein_mapping,
    {0, 0}, ot.eye(2), {0, 0}, {{1, 2}, {2, 1}})
bad("'C1' (not symmetric: C1[2,1] = 0", G.bures_wasserstein_distance, {0, 0}, {{1, 1}, {0, 1}}, {0, 0}, ot.eye(2))
bad("'C2' (must be 2x2 to match the mean, got 3x3", G.bures_wasserstein_distance, {0, 0}, ot.eye(2), {0, 0}, ot.eye(3))
bad("'m2' (has dimension 3 but m1 has dimension 2", G.bures_wasserstein_distance, {0, 0}, ot.eye(2), {0, 0, 0}, ot.eye(3))
bad("'m1' (m1[2] = nan is not finite", G.bures_wasserstein_distance, {0, 0 / 0}, ot.eye(2), {0, 0}, ot.eye(2))
bad("'C1' (C1[1,1] = inf is not finite", G.bures_wasserstein_distance, 0, math.huge, 0, 1)
bad("'m1' (vector expected, got a 2x2 matrix", G.bures_wasserstein_distance, ot.eye(2), ot.eye(2), {0, 0}, ot.eye(2))

-- empirical versions: samples with known moments
ot.seed(7)
local n = 4000
local Z = ot.randn(n, 2)
local L = ot.mat{{2, 0}, {1, 0.5}}
local Xs = Z:dot(L:T()) + ot.mat{{1, -1}}
local Xt = ot.randn(n, 2) * 0.5 + ot.mat{{3, 3}}
local Ae, be, ie = G.empirical_bures_wasserstein_mapping(Xs, Xt)
assert(ie.Cs and ie.Ct and ie.ms and ie.mt)
-- POT's convention: 1/n covariance plus reg (1e-6) on the diagonal
local Cs = ie.Cs
local Xc = Xs - Xs:mean(1)
assert(Cs:allclose(Xc:T():dot(Xc) / n + ot.eye(2) * 1e-6, 1e-12, 1e-12))
-- the map sends the source moments onto the target moments
assert(Ae:dot(Cs):dot(Ae:T()):allclose(ie.Ct, 0, 1e-9))
local mapped = Xs:dot(Ae:T()) + be:T()
assert(mapped:mean(1):allclose(Xt:mean(1), 0, 1e-10))
local We, ie2 = G.empirical_bures_wasserstein_distance(Xs, Xt)
assert(near(We, G.bures_wasserstein_distance(ie2.ms, ie2.Cs, ie2.mt, ie2.Ct), 1e-12))
-- weights: a weight vector equal to uniform changes nothing; reg as a number (POT's 3rd argument)
local Wu = G.empirical_bures_wasserstein_distance(Xs, Xt, {ws = ot.unif(n), reg = 1e-6})
assert(near(Wu, We, 1e-12))
assert(near(G.empirical_bures_wasserstein_distance(Xs, Xt, 1e-6), We, 1e-15))
-- bias = false: moments about 0
local _, _, inb = G.empirical_bures_wasserstein_mapping(Xs, Xt, {bias = false, reg = 0})
assert(inb.ms:get(1) == 0 and near(inb.Cs(1, 1), (Xs:col(1) * Xs:col(1)):mean(), 1e-10))
-- one-point datasets are valid (zero covariance plus the ridge)
local W1 = G.empirical_bures_wasserstein_distance(ot.mat{{0, 0}}, ot.mat{{3, 4}})
assert(near(W1, 5, 1e-9))
-- n <= d: singular covariance without ridge still works (PSD clamp, pseudo-inverse)
local A0 = G.empirical_bures_wasserstein_mapping(ot.mat{{0, 0, 0}, {1, 1, 1}}, ot.randn(5, 3), {reg = 0})
assert(A0:all_finite())

local function bade(want, ...)
  local msg = errmsg(G.empirical_bures_wasserstein_distance, ...)
  assert(msg:find(want, 1, true), "unexpected message: " .. msg)
end
bade("'Xt' (points of dimension 3", Xs, ot.zeros(3, 3))
bade("'Xs' (empty dataset (0x2)", ot.zeros(0, 2), Xt)
bade("Xs[1,1] = nan is not finite", ot.mat{{0 / 0, 1}}, Xt)
bade("unknown option 'rge'", Xs, Xt, {rge = 1})
bade("'reg' (must be finite and >= 0, got -1", Xs, Xt, -1)
bade("ws[2] = -1 < 0", ot.zeros(2, 2), Xt, {ws = {1, -1}})
bade("has 3 entries, needs 2", ot.zeros(2, 2), Xt, {ws = {1, 1, 1}})
assert(G.empirical_bures_wasserstein_distance(Xs, Xs) < 1e-6)
-- finite inputs so large that the computation overflows
bad("overflowed (values too large); rescale the inputs", G.bures_wasserstein_distance,
    {0, 0}, ot.eye(2) * 1e300, {0, 0}, ot.eye(2) * 1e300)
bad("overflowed", G.bures_wasserstein_distance, {-1e300, 0}, ot.eye(2), {1e300, 0}, ot.eye(2))
bad("overflowed", G.bures_wasserstein_mapping, {0, 0}, ot.eye(2) * 1e300, {0, 0}, ot.eye(2) * 1e300)
bade("overflowed", ot.mat{{1e200, 0}, {-1e200, 0}}, Xt)
