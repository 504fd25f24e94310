print("testing sliced")

local function errmsg(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(msg)
end
local SW = ot.sliced_wasserstein_distance
local function bad(want, ...)
  local msg = errmsg(SW, ...)
  assert(msg:find(want, 1, true), "unexpected message: " .. msg)
  assert(SW({{0}}, {{1}}) == 1) -- the session goes on
end
local function near(a, b, tol) return math.abs(a - b) <= tol end

-- golden data (the same formulas in the Python that produced the values)
local function gen(n, d, f)
  local M = ot.zeros(n, d)
  for i = 1, n do for c = 1, d do M:set(i, c, f(i, c)) end end
  return M
end
local X = gen(7, 3, function(i, c) return math.sin(0.7 * i + 1.3 * (c - 1)) + 0.1 * i end)
local Y = gen(5, 3, function(j, c) return math.cos(0.4 * j - 0.9 * (c - 1)) * 1.5 end)
local a, b = ot.zeros(7), ot.zeros(5)
for i = 1, 7 do a:set(i, i / 28) end
for j = 1, 5 do b:set(j, j * j / 55) end
local th = gen(3, 4, function(c, k) return math.cos(k + 0.5 * (c - 1)) end)

-- POT 0.8.2, computed once with /usr/bin/python3:
--   ot.sliced_wasserstein_distance(X, Y, [a, b,] n_projections=4, p=p, projections=th)
--   ot.max_sliced_wasserstein_distance(X, Y, a, b, n_projections=4, p=p, projections=th)
local golden = {
  {0.9055843238469455, 0.813522221536622, 1.4334402491124034},
  {1.176440005211966, 1.0126740652612523, 1.542429473287023},
  {1.3419463901778224, 1.1563532231877849, 1.6169654001675193},
}
for p = 1, 3 do
  local g = golden[p]
  assert(near(SW(X, Y, nil, nil, {projections = th, p = p}), g[1], 1e-12))
  assert(near(SW(X, Y, a, b, {projections = th, p = p}), g[2], 1e-12))
  assert(near(ot.max_sliced_wasserstein_distance(X, Y, a, b, {projections = th, p = p}), g[3], 1e-12))
end
-- weights as Lua tables
local ta, tb = {}, {}
for i = 1, 7 do ta[i] = i / 28 end
for j = 1, 5 do tb[j] = j * j / 55 end
assert(near(SW(X, Y, ta, tb, {projections = th}), golden[2][2], 1e-12))
-- unnormalised weights with normalize = true
local a3, b3 = a * 3, b * 7
assert(near(SW(X, Y, a3, b3, {projections = th, normalize = true}), golden[2][2], 1e-12))

-- random directions against POT with many directions: POT's
-- sliced_wasserstein_distance(Xs, Xt, n_projections=20000, seed=s) gave
-- 2.2043, 2.2099, 2.2098 for s = 0, 1, 2 (Monte-Carlo spread ~0.3%);
-- otlab with 3000 of its own directions must land within 2%.
local Xs = gen(200, 4, function(i, c) return math.sin((i - 1) * 0.37 + (c - 1)) * c end)
local Xt = gen(300, 4, function(i, c) return math.cos((i - 1) * 0.11 + 2 * (c - 1)) * 2 + (c - 1) end)
local v, info = SW(Xs, Xt, {n_projections = 3000, seed = 0})
assert(near(v, 2.207, 0.02 * 2.207), v)
assert(info.n_projections == 3000 and info.p == 2 and info.time >= 0)
local d, K = info.projections:shape()
assert(d == 4 and K == 3000 and #info.projected_emds == 3000)
assert(near(math.sqrt(info.projected_emds:mean()), v, 1e-12))

-- seed determinism; the session generator otherwise (ot.seed)
local v1 = SW(Xs, Xt, nil, nil, {seed = 5})
local v2 = SW(Xs, Xt, nil, nil, {seed = 5})
assert(v1 == v2)
ot.seed(3); local s1 = SW(Xs, Xt)
ot.seed(3); local s2 = SW(Xs, Xt)
assert(s1 == s2)
assert(SW(Xs, Xt) ~= s1)

-- 1-D: any direction gives the exact 1-D distance (sorted pairing, equal sizes)
local x1, y1 = ot.mat{3, 1, 2}, ot.mat{10, 0, 5}
assert(near(SW(x1, y1, nil, nil, {n_projections = 3}), math.sqrt((1 + 9 + 49) / 3), 1e-14))
assert(near(SW(x1, y1, {p = 1, seed = 1}), (1 + 3 + 7) / 3, 1e-14))
-- rotation invariance (in distribution): rotate both clouds by 0.7 in the plane
local function rot(M)
  local R = ot.eye(4)
  local c, s = math.cos(0.7), math.sin(0.7)
  R:set(1, 1, c); R:set(1, 2, -s); R:set(2, 1, s); R:set(2, 2, c)
  return M:dot(R:T())
end
local r1 = SW(Xs, Xt, {n_projections = 3000, seed = 11})
local r2 = SW(rot(Xs), rot(Xt), {n_projections = 3000, seed = 12})
assert(near(r1 / r2, 1, 0.02))
-- same cloud: 0; one-point datasets are valid
assert(SW(Xs, Xs) < 1e-12)
assert(near(SW({{0, 0}}, {{3, 4}}, {projections = ot.mat{{0.6}, {0.8}}}), 5, 1e-15))

-- progress: called with iter/max_iter; an error inside it propagates; false cancels
local calls = 0
SW(Xs, Xt, {n_projections = 200, progress = function(p) calls = calls + 1; assert(p.max_iter == 200) end})
assert(calls >= 1)
bad("boom", Xs, Xt, {progress = function() error("boom") end})
bad("canceled by the progress callback", Xs, Xt, {progress = function() return false end})

-- bad inputs
bad("'X_t' (points of dimension 3", Xs, ot.zeros(5, 3))
bad("'X_s' (empty dataset (0x4)", ot.zeros(0, 4), Xt)
bad("X_t[2,1] = nan is not finite", Xs, ot.mat{{0, 0, 0, 0}, {0 / 0, 0, 0, 0}})
bad("a[1] = -1 < 0", X, Y, {-1, 1, 1, 1, 1, 1, 1})
bad("has 2 entries, needs 5", X, Y, nil, {0.5, 0.5})
bad("balanced OT needs equal masses", X, Y, a3, b3, {projections = th})
bad("all weights are zero", X, Y, {0, 0, 0, 0, 0, 0, 0})
bad("unknown option 'n_proj'", X, Y, {n_proj = 3})
bad("n_projections must be >= 1, got 0", X, Y, {n_projections = 0})
bad("p must be finite and > 0, got 0", X, Y, {p = 0})
bad("projections must be d x K = 3 x K", X, Y, {projections = ot.ones(2, 4)})
bad("option 'seed' must be an integer", X, Y, {seed = 1.5})
bad("progress must be a function", X, Y, {progress = 3})
bad("cannot allocate", X, Y, {n_projections = 2^40})
-- coordinates whose projected gaps overflow
bad("X_s[1,2] = 1e+200: |x - y|^2 overflows", ot.mat{{0, 1e200}}, ot.mat{{0, 0}})
bad("X_t[1,1] = -1e+307: |x - y|^1 overflows", ot.mat{{0, 0}}, ot.mat{{-1e307, 0}}, {p = 1})
assert(SW(ot.mat{{0, 0}}, ot.mat{{-1e300, 0}}, {p = 1, projections = ot.mat{{1}, {0}}}) == 1e300)
assert(SW(ot.mat{{0, 1e100}}, ot.mat{{0, 0}}, {projections = ot.mat{{0}, {1}}}) == 1e100)
