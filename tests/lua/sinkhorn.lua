print("testing sinkhorn")

-- Instances shared with tests/c/sinkhorn.c: points of the R2 sequence in
-- [0,1]^2 (x_i = frac(off + i * (0.75488..., 0.56984...)), off 0.5 for X
-- and 0.25 for Y), weights proportional to 1 + (i mod 3), squared
-- Euclidean cost.  Golden numbers from POT 0.8.2, computed once (see the
-- header of tests/c/sinkhorn.c for the calls).

local function frac(x) return x - math.floor(x) end

local function points(n, off)
  local t = {}
  for i = 0, n - 1 do
    t[i + 1] = {frac(off + i * 0.7548776662466927), frac(off + i * 0.5698402909980532)}
  end
  return ot.mat(t)
end

local function weights(n, total)
  local t, s = {}, 0
  for i = 0, n - 1 do t[i + 1] = 1 + i % 3; s = s + t[i + 1] end
  for i = 1, n do t[i] = t[i] * (total or 1) / s end
  return ot.mat(t)
end

local function inst(n, m)
  local X, Y = points(n, 0.5), points(m, 0.25)
  return weights(n), weights(m), ot.dist(X, Y), X, Y
end

local function rel(got, want) return math.abs(got - want) / math.abs(want) end

local function fails(msg, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. msg)
  assert(string.find(tostring(err), msg, 1, true), "got: " .. tostring(err) .. "\nwant: " .. msg)
end

local methods = {"sinkhorn", "log", "stabilized", "epsilon_scaling"}

-- golden values against POT's sinkhorn2 (1e-7 relative), marginals, agreement
for _, g in ipairs({{5, 7, 0.1, 0.09451278419137393, -0.1706367237881915},
                    {20, 15, 0.05, 0.05030816412698996, -0.16503567341188013},
                    {30, 30, 0.02, 0.033798723327996646, -0.060623972103907964}}) do
  local a, b, M = inst(g[1], g[2])
  local P0
  for _, meth in ipairs(methods) do
    local P, info = ot.sinkhorn(a, b, M, g[3], {method = meth, max_iter = 100000})
    assert(info.converged and info.status == "converged", meth)
    assert(info.method == meth and info.switched == false)
    assert(rel(info.cost, g[4]) < 1e-7, meth .. " cost " .. info.cost)
    assert(rel(info.objective, g[5]) < 1e-7, meth .. " objective " .. info.objective)
    local c, info2 = ot.sinkhorn2(a, b, M, g[3], {method = meth, max_iter = 100000})
    assert(c == info2.cost and rel(c, g[4]) < 1e-7)
    -- marginals: rows exact to rounding, columns within tol (L2)
    local rows, cols = P:sum(2), P:sum(1)
    for i = 1, g[1] do assert(math.abs(rows:get(i) - a:get(i)) < 1e-12) end
    local e = 0
    for j = 1, g[2] do e = e + (cols:get(1, j) - b:get(j)) ^ 2 end
    assert(math.sqrt(e) < 1e-9 and math.abs(math.sqrt(e) - info.err) < 1e-12)
    -- the plan has the form exp((f_i + g_j - M_ij) / reg); u, v are the scalings
    local i, j = 2, 3
    local pij = math.exp((info.f:get(i) + info.g:get(j) - M:get(i, j)) / g[3])
    assert(math.abs(P:get(i, j) - pij) < 1e-12 * math.max(1, pij))
    assert(math.abs(info.u:get(i) - math.exp(info.f:get(i) / g[3])) < 1e-12 * info.u:get(i))
    assert(#info.err_history == info.iterations or meth == "epsilon_scaling")
    if P0 then assert(P:allclose(P0, 0, 1e-9), meth .. " differs from the kernel method")
    else P0 = P end
  end
end

-- log vs kernel where the kernel does not underflow, uniform weights from nil and {}
do
  local _, _, M = inst(25, 25)
  local P1 = ot.sinkhorn(nil, {}, M, 0.01, {method = "sinkhorn", max_iter = 100000})
  local P2 = ot.sinkhorn({}, nil, M, 0.01, {method = "log", max_iter = 100000})
  assert(P1:allclose(P2, 0, 1e-10))
end

-- strided inputs: M as a block of a wider matrix, weights as a column view
do
  local a, b, M = inst(20, 15)
  local wide = ot.hstack({M, ot.ones(20, 4)})
  local V = wide:slice(nil, nil, 1, 15)
  local A = ot.hstack({a:reshape(20, 1), ot.ones(20, 1)}):slice(nil, nil, 1, 1)
  for _, meth in ipairs(methods) do
    local P1, i1 = ot.sinkhorn(a, b, M, 0.05, {method = meth})
    local P2, i2 = ot.sinkhorn(A, b, V, 0.05, {method = meth})
    assert(P1:allclose(P2, 0, 1e-15) and i1.cost == i2.cost, meth)
  end
end

-- Sinkhorn -> exact OT as reg -> 0: 0 <= <C, P_eps> - OT <= eps log(nm)
for _, e in ipairs({{8, 8, 0.050672189666651914}, {6, 9, 0.057367693992108906},
                    {12, 10, 0.04311402206070421}}) do
  local a, b, M = inst(e[1], e[2])
  for _, reg in ipairs({0.1, 0.03, 0.01}) do
    local c, info = ot.sinkhorn2(a, b, M, reg, {method = "log", max_iter = 200000, tol = 1e-10})
    assert(info.converged)
    local gap = c - e[3]
    assert(gap >= -1e-9 and gap <= reg * math.log(e[1] * e[2]), reg .. ": " .. gap)
  end
end

-- non-convergence is data; tol = 0 runs exactly max_iter
do
  local a, b, M = inst(20, 15)
  for _, meth in ipairs(methods) do
    local P, info = ot.sinkhorn(a, b, M, 0.01, {method = meth, max_iter = 3})
    assert(info.converged == false and info.status == "max_iter_reached", meth)
    assert(info.iterations == 3 and info.err > 0)
  end
  local _, info = ot.sinkhorn2(a, b, M, 0.05, {tol = 0, max_iter = 40})
  assert(info.iterations == 40 and #info.err_history == 40 and info.converged == false)
  -- warm start from converged potentials: done at once
  local _, i1 = ot.sinkhorn2(a, b, M, 0.05, {method = "log"})
  local _, i2 = ot.sinkhorn2(a, b, M, 0.05, {method = "log", f = i1.f, g = i1.g, tol = 1e-8})
  assert(i1.iterations > 10 and i2.iterations <= 1 and i2.converged)
end

-- underflow: the kernel method switches to the log domain and says so
do
  local a, b, M = inst(20, 15)
  local c, info = ot.sinkhorn2(a, b, M, 1e-3, {max_iter = 5000})
  assert(info.method == "log" and info.switched == true and c == c)
  fails("ot.sinkhorn2: bad argument #4 'reg' (exp(-M/reg) underflows: max|M|/reg = ",
        ot.sinkhorn2, a, b, M, 1e-3, {auto_log = false})
  local _, info2 = ot.sinkhorn2(a, b, M, 1e-3, {method = "stabilized", max_iter = 20})
  assert(info2.method == "stabilized" and info2.cost == info2.cost)
end

-- cancel through the progress callback; errors inside it are re-raised
do
  local a, b, M = inst(20, 15)
  local calls = 0
  fails("ot.sinkhorn: canceled by the progress callback at iteration",
        ot.sinkhorn, a, b, M, 0.05,
        {tol = 0, max_iter = 10000000, progress = function(p)
          calls = calls + 1
          assert(p.kernel == "sinkhorn" and p.iter >= 1)
          return false
        end})
  assert(calls == 1)
  fails("boom in callback", ot.sinkhorn2, a, b, M, 0.05,
        {progress = function() error("boom in callback") end})
  local seen = 0
  local _, info = ot.sinkhorn2(a, b, M, 0.05, {progress = function() seen = seen + 1 end})
  assert(seen >= 1 and info.converged) -- the process lives, the next call works
end

-- zero weights are valid; normalize rescales unequal masses
do
  local _, _, M = inst(6, 5)
  local a = ot.mat({0, 0.25, 0.25, 0, 0.25, 0.25})
  local P, info = ot.sinkhorn(a, nil, M, 0.05)
  assert(info.converged and P:row(1):sum() == 0 and info.f:get(1) == -math.huge)
  local P2, info2 = ot.sinkhorn({1, 1, 1, 1, 1, 1}, {2, 2, 2, 2, 2}, M, 0.05, {normalize = true})
  assert(info2.converged and math.abs(P2:sum() - 1) < 1e-12)
end

-- bad inputs: message, process alive, next call works
do
  local a, b, M = inst(5, 7)
  fails("ot.sinkhorn: bad argument #4 'reg' (must be > 0, got 0)", ot.sinkhorn, a, b, M, 0)
  fails("ot.sinkhorn: bad argument #4 'reg' (must be > 0, got -1)", ot.sinkhorn, a, b, M, -1)
  fails("ot.sinkhorn: bad argument #4 'reg' (must be > 0, got nan)", ot.sinkhorn, a, b, M, 0 / 0)
  fails("ot.sinkhorn2: bad argument #4 'reg' (must be finite, got inf)", ot.sinkhorn2, a, b, M,
        math.huge)
  fails("bad argument #4 'reg' (number expected, got nil)", ot.sinkhorn, a, b, M)
  fails("ot.sinkhorn: bad argument #1 'a' (a[2] = -0.2 < 0)", ot.sinkhorn,
        {0.4, -0.2, 0.4, 0.2, 0.2}, b, M, 0.1)
  -- (bind_checkweights prints 0/0 as "-nan" with glibc)
  fails("nan is not finite)", ot.sinkhorn, {0.2, 0.2, 0 / 0, 0.2, 0.2}, b, M, 0.1)
  fails("ot.sinkhorn: bad argument #1 'a' (a[3] = ", ot.sinkhorn,
        {0.2, 0.2, 0 / 0, 0.2, 0.2}, b, M, 0.1)
  fails("ot.sinkhorn: bad argument #1 'a' (a[1] = inf is not finite)", ot.sinkhorn,
        {math.huge, 0.2, 0.2, 0.2, 0.2}, b, M, 0.1)
  fails("ot.sinkhorn: bad argument #1 'a' (all weights are zero)", ot.sinkhorn,
        {0, 0, 0, 0, 0}, b, M, 0.1)
  fails("ot.sinkhorn: bad argument #1 'a' (has 3 entries but M is 5x7 (needs 5))", ot.sinkhorn,
        {1, 1, 1}, b, M, 0.1)
  fails("ot.sinkhorn: bad argument #2 'b' (has 5 entries but M is 5x7 (needs 7))", ot.sinkhorn,
        a, ot.unif(5), M, 0.1)
  fails("ot.sinkhorn: bad argument #2 'b' (sums to 2", ot.sinkhorn, a, b * 2, M, 0.1)
  local Mbad = M:copy()
  Mbad:set(2, 3, 0 / 0)
  fails("ot.sinkhorn: bad argument #3 'M' (M[2,3] = nan is not finite)", ot.sinkhorn, a, b,
        Mbad, 0.1)
  Mbad:set(2, 3, -math.huge)
  fails("ot.sinkhorn2: bad argument #3 'M' (M[2,3] = -inf is not finite)", ot.sinkhorn2, a, b,
        Mbad, 0.1)
  fails("ot.sinkhorn: bad argument #3 'M' (empty cost matrix (0x7))", ot.sinkhorn, {}, b,
        ot.zeros(0, 7), 0.1)
  fails("ot.sinkhorn: bad argument #5 'opts' (unknown option 'max_iters'", ot.sinkhorn, a, b, M,
        0.1, {max_iters = 10})
  fails("ot.sinkhorn: bad argument #5 'opts' (unknown method 'lg'", ot.sinkhorn, a, b, M, 0.1,
        {method = "lg"})
  fails("option 'tol' must be finite and >= 0, got -1", ot.sinkhorn, a, b, M, 0.1, {tol = -1})
  fails("option 'max_iter' must be in 0..2e9, got -5", ot.sinkhorn, a, b, M, 0.1, {max_iter = -5})
  fails("a warm start needs both 'f' and 'g'", ot.sinkhorn, a, b, M, 0.1, {f = ot.zeros(5)})
  fails("option 'f' must be a vector of 5 values", ot.sinkhorn, a, b, M, 0.1,
        {f = ot.zeros(4), g = ot.zeros(7)})
  fails("option 'progress' must be a function, got number", ot.sinkhorn, a, b, M, 0.1,
        {progress = 1})
  local P, info = ot.sinkhorn(a, b, M, 0.1)
  assert(info.converged and rel(info.cost, 0.09451278419137393) < 1e-7)
end

-- over the memory budget: refused with a clear error, the session goes on
do
  local M = ot.dist(ot.rand(600, 2), ot.rand(600, 2))
  collectgarbage("collect")
  local old = ot.mem_limit()
  ot.mem_limit(ot.mem().used + 2 * 1024 * 1024)
  local ok, err = pcall(ot.sinkhorn2, nil, nil, M, 0.1)
  local X, Y = ot.rand(600, 2), ot.rand(600, 2)
  local ok2, err2 = pcall(ot.sinkhorn_divergence, X, Y, {online = false})
  local s, dinfo = ot.sinkhorn_divergence(X, Y, {reg = 0.5}) -- dense does not fit: online
  ot.mem_limit(old)
  assert(not ok and string.find(err, "ot.sinkhorn2: a 600x600 problem (kernel) needs 2.", 1, true), err)
  assert(string.find(err, "memory budget is", 1, true), err)
  assert(not ok2 and string.find(err2, "ot.sinkhorn_divergence: the dense divergence (4 cost "
                                 .. "matrices) needs 11.", 1, true), err2)
  assert(dinfo.online == true and s > 0)
  local c, info = ot.sinkhorn2(nil, nil, M, 0.1)
  assert(info.converged)
end

-- unbalanced against POT (b has 1.5 times the mass of a)
for _, u in ipairs({{10, 12, 0.1, 1.0, 0.13762309293317423, 0.0018732293673793224,
                     1.3941229143374938},
                    {7, 5, 0.05, 0.5, 0.07684460748523544, 0.0004825915595237218,
                     1.2771627216946495}}) do
  local a, _, M = inst(u[1], u[2])
  local b = weights(u[2], 1.5)
  for _, meth in ipairs({"sinkhorn", "log"}) do
    local opts = {method = meth, tol = 1e-13, max_iter = 100000}
    local P, info = ot.unbalanced.sinkhorn_unbalanced(a, b, M, u[3], u[4], opts)
    assert(info.converged and info.reg_m == u[4])
    assert(rel(info.cost, u[5]) < 1e-7 and rel(P:get(1, 1), u[6]) < 1e-7 and rel(P:sum(), u[7]) < 1e-7)
    local c = ot.unbalanced.sinkhorn_unbalanced2(a, b, M, u[3], u[4], opts)
    assert(rel(c, u[5]) < 1e-7)
  end
end
do
  local a, b, M = inst(5, 7)
  fails("ot.unbalanced.sinkhorn_unbalanced: bad argument #5 'reg_m' (must be > 0, got 0)",
        ot.unbalanced.sinkhorn_unbalanced, a, b, M, 0.1, 0)
  fails("ot.unbalanced.sinkhorn_unbalanced2: bad argument #5 'reg_m' (must be finite, got inf)",
        ot.unbalanced.sinkhorn_unbalanced2, a, b, M, 0.1, math.huge)
  fails("unknown method 'stabilized'; known: sinkhorn, log", ot.unbalanced.sinkhorn_unbalanced,
        a, b, M, 0.1, 1, {method = "stabilized"})
  local _, info = ot.unbalanced.sinkhorn_unbalanced2(a, b, M, 1e-4, 1)
  assert(info.switched and info.method == "log")
end

-- Sinkhorn divergence: POT's objectives, online == dense, >= 0, 0 for identical inputs
for _, d in ipairs({{10, 14, 0.1, 0.02416574931123533}, {25, 20, 0.05, 0.011903400485160615}}) do
  local a, b, _, X, Y = inst(d[1], d[2])
  local vals = {}
  for _, online in ipairs({false, true}) do
    for _, scaling in ipairs({0, 0.5}) do
      local s, info = ot.sinkhorn_divergence(X, Y, {reg = d[3], a = a, b = b, online = online,
                                                    scaling = scaling, tol = 1e-12,
                                                    max_iter = 100000})
      assert(info.converged and info.online == online and s >= 0)
      assert(rel(s, d[4]) < 1e-7, s)
      assert(math.abs(s - (info.ot_ab - (info.ot_aa + info.ot_bb) / 2)) < 1e-15)
      vals[#vals + 1] = s
    end
  end
  assert(math.abs(vals[1] - vals[3]) < 1e-12)
  local z = ot.sinkhorn_divergence(X, X, {reg = d[3], a = a, b = a})
  assert(math.abs(z) < 1e-12, z)
  local s1 = ot.sinkhorn_divergence(X, Y, {reg = d[3], metric = "euclidean", online = true, tol = 1e-12})
  local s2 = ot.sinkhorn_divergence(X, Y, {reg = d[3], metric = "euclidean", online = false, tol = 1e-12})
  assert(s1 > 0 and math.abs(s1 - s2) < 1e-12)
end
do
  local X, Y = ot.rand(6, 2), ot.rand(7, 2)
  fails("ot.sinkhorn_divergence: bad argument #1 'X' (empty dataset", ot.sinkhorn_divergence,
        ot.zeros(0, 2), Y)
  fails("ot.sinkhorn_divergence: bad argument #2 'Y' (points of dimension 3",
        ot.sinkhorn_divergence, X, ot.rand(7, 3))
  local Xb = X:copy()
  Xb:set(2, 1, 0 / 0)
  fails("ot.sinkhorn_divergence: bad argument #1 'X' (X[2,1] = nan is not finite)",
        ot.sinkhorn_divergence, Xb, Y)
  Xb:set(2, 1, 1e200)
  fails("X[2,1] = 1e+200: squared distances overflow", ot.sinkhorn_divergence, Xb, Y)
  fails("option 'reg' must be finite and > 0, got 0", ot.sinkhorn_divergence, X, Y, {reg = 0})
  fails("option 'reg' must be finite and > 0, got -0.1", ot.sinkhorn_divergence, X, Y, {reg = -0.1})
  fails("unknown metric 'cosine'", ot.sinkhorn_divergence, X, Y, {metric = "cosine"})
  fails("unknown option 'blur'", ot.sinkhorn_divergence, X, Y, {blur = 0.1})
  fails("'a' (a[1] = -1 < 0)", ot.sinkhorn_divergence, X, Y, {a = {-1, 1, 1, 1, 1, 1}})
  fails("option 'b' has 3 weights but there are 7 points", ot.sinkhorn_divergence, X, Y,
        {b = {1, 1, 1}})
  fails("weights a sum to 6 but b to 1", ot.sinkhorn_divergence, X, Y, {a = {1, 1, 1, 1, 1, 1}})
  local s = ot.sinkhorn_divergence(X, Y, {a = {1, 1, 1, 1, 1, 1}, normalize = true})
  assert(s > 0)
  fails("ot.sinkhorn_divergence: canceled by the progress callback", ot.sinkhorn_divergence, X, Y,
        {progress = function() return false end})
end

print("OK")
