print("testing flow")

-- Checks that f(...) fails with a message containing `want` (plain text).
local function fails(want, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error containing: " .. want)
  assert(tostring(msg):find(want, 1, true), "message was: " .. tostring(msg))
end

local function rel(a, b) return math.abs(a - b) / math.abs(b) end

-- ---- the spec's reference history on the digits pair (compat mode) ----------
-- specs/flows.md: labels 0-4 -> 5-9, fixed labels, debiased, eps = 0.1, the
-- peer's compat schedule, class statistics recomputed each step, gradient
-- clipped to total norm 10, Adam with step 1.  F_0 = 1288.28; after steps
-- 1-4: 1081.86, 918.10, 789.37, 691.87; mean displacement after 5 steps 22.7.
do
  local digits = ot.data.digits()
  local src, tgt = digits:where{0, 1, 2, 3, 4}, digits:where{5, 6, 7, 8, 9}
  local f = ot.flow.new(src, {target = tgt, solver = "compat", optimizer = "adam", step = 1.0,
                              clip = 10, objective = {otdd = 1}})
  local ref = {1288.28, 1081.86, 918.10, 789.37, 691.87}
  local h = f:history()
  assert(rel(h.F:get(1), 1288.2826) < 1e-6, "F_0 = " .. h.F:get(1))
  for k = 1, 4 do f:step() end
  f:step()
  h = f:history()
  for k = 1, 5 do
    local r = rel(h.F:get(k), ref[k])
    print(string.format("  digits compat: F_%d = %.4f (peer %.2f, rel %.1e)", k - 1, h.F:get(k), ref[k], r))
    assert(r < 5e-3, "reference history step " .. (k - 1))
  end
  assert(math.abs(h.displacement:get(6) - 22.7) < 0.1, "displacement " .. h.displacement:get(6))
  -- history bookkeeping: F_before of step k is F of step k-1
  for k = 2, 6 do assert(h.F_before:get(k) == h.F:get(k - 1)) end
  assert(h.step:get(6) == 5 and h.otdd:get(6) == h.F:get(6))
  -- pixels leave [0, 16] without a box; stay inside with one
  local X = f:state().X
  assert(X:min() < 0 or X:max() > 16)
  local g = ot.flow.new(src, {target = tgt, solver = "compat", optimizer = "adam", step = 1.0,
                              clip = 10, box = {0, 16}})
  g:step()
  local Xg = g:state().X
  assert(Xg:min() >= 0 and Xg:max() <= 16)
end

-- ---- API: step, run, state, history, trajectory -------------------------------
do
  ot.seed(1)
  local X = ot.randn(30, 2)
  local y = {}
  for i = 1, 30 do y[i] = i % 2 end
  local src = ot.data.dataset(X, y, "toy")
  local f = ot.flow.new(src, {objective = {potential = {quadratic = {b = {1, 2}}}}, step = 0.2,
                              snapshots = {every = 2}, steps = 6})
  local F1 = f:step()
  assert(type(F1) == "number")
  local state, info = f:run()
  assert(info.steps == 6 and info.step == 7 and info.status == "steps", info.status)
  assert(state.n == 30 and state.d == 2)
  local h = f:history()
  assert(#h.F == 8)
  for k = 2, 8 do assert(h.F:get(k) <= h.F:get(k - 1)) end
  local tr = f:trajectory()
  assert(#tr == 4, #tr)                  -- steps 0, 2, 4, 6
  assert(tr[1].step == 0 and tr[4].step == 6)
  assert(tr.X:shape() == 120 and tr.steps:get(4) == 6)
  -- run to a tolerance
  local _, i2 = f:run{steps = 1000, tol = 1e-10}
  assert(i2.status == "tol", i2.status)
  -- a seconds budget
  local _, i3 = f:run{steps = 10 ^ 9, seconds = 0.05}
  assert(i3.status == "seconds" or i3.status == "tol")
  assert(tostring(f):find("Flow: 30 particles", 1, true))
end

-- ---- a user potential (vectorised, over the whole matrix) matches the built-in --
do
  ot.seed(2)
  local X = ot.randn(15, 3)
  local b = ot.mat{0.5, -1, 2}
  local function V(P, labels)
    assert(labels:shape() == 15)
    local D = P - b:reshape(1, 3)
    return (D * D):sum(2), D * 2
  end
  local f1 = ot.flow.new(X, {objective = {potential = V}, step = 0.1})
  local f2 = ot.flow.new(X, {objective = {potential = {quadratic = {b = b}}}, step = 0.1})
  f1:step(5)
  f2:step(5)
  local d = (f1:state().X - f2:state().X):abs():max()
  assert(d < 1e-12, d)
  -- a user function returning the wrong shape, or raising, is an error; the flow lives on
  fails("must return an 15x3 gradient", ot.flow.new, X,
        {objective = {potential = {fn = function(P) return 1, ot.zeros(2, 2) end, quadratic = true}}})
  local n = 0
  local boom = ot.flow.new(X, {objective = {potential = function(P)
    n = n + 1
    if n == 3 then error("boom") end
    return 0, P * 0
  end}})
  boom:step()
  fails("boom", boom.step, boom)
  assert(boom:step() == 0)       -- still usable
end

-- ---- joint labels: labels morph into the target's layout --------------------
do
  local src = ot.data.gaussian_mixture{n = 90, means = {{0, 0}, {4, 0}, {8, 0}}, seed = 3}
  local tgt = ot.data.gaussian_mixture{n = 90, means = {{0, 6}, {4, 6}, {8, 6}}, seed = 4,
                                       labels = {20, 10, 30}}
  local f = ot.flow.new(src, {target = tgt, labels = "joint", step = 0.5, eps = 0.05})
  f:run{steps = 25}
  local s = f:state()
  local agree = 0
  for i = 1, s.n do
    local x, want, best = s.X:get(i, 1), nil, math.huge
    for c, lab in ipairs{20, 10, 30} do
      local dx = x - 4 * (c - 1)
      if dx * dx < best then best, want = dx * dx, lab end
    end
    if s.y:get(i) == want then agree = agree + 1 end
  end
  assert(agree >= 0.95 * s.n, agree)
end

-- ---- determinism with a seed (noise included) --------------------------------
do
  local X = ot.randn(20, 2)
  local function run(seed)
    local f = ot.flow.new(X, {objective = {potential = {quadratic = true}, noise = 0.5}, seed = seed})
    f:step(4)
    return f:state().X
  end
  assert((run(7) - run(7)):abs():max() == 0)
  assert((run(7) - run(8)):abs():max() > 0)
end

-- ---- progress: called with the step; false cancels, the state is kept --------
do
  local X = ot.randn(10, 2)
  local seen = 0
  local f = ot.flow.new(X, {objective = {potential = {quadratic = true}},
                            progress = function(p)
                              assert(p.kernel == "flow")
                              seen = seen + 1
                              if p.iter >= 2 then return false end
                            end})
  f:step()
  fails("canceled by the progress callback", f.step, f, 5)
  assert(seen >= 3 and f:history().step:get(3) == 2)
  local g = ot.flow.new(X, {objective = {potential = {quadratic = true}},
                            progress = function(p) if p.iter == 1 then error("from progress") end end})
  fails("from progress", g.step, g)
  assert(#g:history().F == 2)   -- step 1 was committed before the callback raised
end

-- ---- features-only ot objective, exact solver, online tiles --------------------
do
  local src = ot.data.gaussian_mixture{n = 40, means = {{0, 0}, {2, 2}}, seed = 5}
  local tgt = ot.data.gaussian_mixture{n = 30, means = {{5, 0}, {5, 3}}, seed = 6}
  local tgt40 = ot.data.gaussian_mixture{n = 40, means = {{5, 0}, {5, 3}}, seed = 6}
  local fe = ot.flow.new(src, {target = tgt40, objective = {ot = 1}, solver = "exact", step = 1})
  assert(fe:step() < 1e-10)    -- one Euler step with tau = 1 lands on the exact OT images
  local fd = ot.flow.new(src, {target = tgt, objective = {otdd = 1}, online = false, step = 0.5,
                              sinkhorn_tol = 1e-10})
  local fo = ot.flow.new(src, {target = tgt, objective = {otdd = 1}, online = true, step = 0.5,
                              sinkhorn_tol = 1e-10})
  fd:step(3)
  fo:step(3)
  -- compat: the online form (Jacobi pairs from one sweep of cost tiles, sparse
  -- barycentric sums) follows the dense one
  local cd = ot.flow.new(src, {target = tgt, solver = "compat", online = false, step = 0.5})
  local co = ot.flow.new(src, {target = tgt, solver = "compat", online = true, step = 0.5})
  cd:step(2)
  co:step(2)
  for k = 1, 3 do
    assert(rel(cd:history().F:get(k), co:history().F:get(k)) < 1e-9, k)
  end
  -- dense (exact-dual start) and online (warm start) solves agree once converged
  assert(rel(fd:history().F:get(4), fo:history().F:get(4)) < 1e-6)
end

-- ---- interaction energy separates labels ---------------------------------------
do
  local src = ot.data.gaussian_mixture{n = 40, means = {{0, 0}, {0.5, 0}}, seed = 7}
  local f = ot.flow.new(src, {objective = {interaction = {repulsion = 1, attraction = 1, width = 1}},
                              step = 0.5})
  local h0 = f:history().F:get(1)
  f:step(20)
  assert(f:history().F:get(21) < h0)
end

-- ---- bad inputs: message, process alive, next valid call works ------------------
do
  local X = ot.randn(10, 2)
  fails("ot.flow.new: bad argument #1 'source' (dataset or matrix expected, got number)", ot.flow.new, 3)
  fails("unknown option 'foo'", ot.flow.new, X, {foo = 1})
  fails("unknown option 'bogus' in objective", ot.flow.new, X, {objective = {bogus = 1}})
  fails("the objective is empty", ot.flow.new, X, {})
  fails("need a target", ot.flow.new, X, {objective = {ot = 1}})
  fails("step must be > 0", ot.flow.new, X, {objective = {potential = {quadratic = true}}, step = 0})
  fails("optimizer must be", ot.flow.new, X, {objective = {potential = {quadratic = true}}, optimizer = "sgd"})
  fails("labels must be", ot.flow.new, X, {objective = {potential = {quadratic = true}}, labels = "x"})
  fails("labels = \"tied\" needs a target", ot.flow.new, X, {objective = {potential = {quadratic = true}}, labels = "tied"})
  fails("target has 3 features", ot.flow.new, X, {target = ot.randn(4, 3)})
  fails("is not finite", ot.flow.new, ot.mat{{1, 0 / 0}})
  fails("empty dataset", ot.flow.new, ot.zeros(0, 2))
  fails("at least 2 points", ot.flow.new, ot.data.dataset(X, {1, 1, 1, 1, 1, 1, 1, 1, 1, 2}), {target = X,
        objective = {otdd = 1}})
  -- a target without labels is one class
  assert(ot.flow.new(ot.data.dataset(X, {1, 1, 1, 1, 1, 2, 2, 2, 2, 2}), {target = X}))
  fails("potential.collapse.dims[1]", ot.flow.new, X, {objective = {potential = {collapse = {dims = {3}}}}})
  fails("margin.w", ot.flow.new, X, {objective = {potential = {margin = {positive = {1}}}}})
  fails("noise must be >= 0", ot.flow.new, X, {objective = {noise = -1}})
  fails("box must be", ot.flow.new, X, {objective = {potential = {quadratic = true}}, box = 3})
  local f = ot.flow.new(X, {objective = {potential = {quadratic = true}}})
  fails("flow:step: bad argument #2 'k'", f.step, f, 0)
  fails("flow:run: bad argument #2 'opts' (unknown option 'stepz'", f.run, f, {stepz = 1})
  fails("flow expected", f.step, 3)
  local huge = ot.flow.new(X, {objective = {potential = {quadratic = true}}, step = 1e308})
  fails("numerical error at step 1", huge.step, huge)
  assert(huge:history().step:get(1) == 0)
  assert(f:step() >= 0)
end

print("flow ok")
