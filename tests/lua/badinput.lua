print("testing badinput")

-- The bad-input battery (specs/reliability.md, "Bad inputs that must be
-- tried by tests").  Each case is one bad call; for each the battery checks
--   1. it raises an error whose message names the function and the
--      argument (plain string.find of both fragments);
--   2. the process lives (we are still here) and the error is a string;
--   3. the loaded data is unchanged: every matrix of the environment E
--      (points, weights, costs, a loaded file, a dataset) equals the copy
--      taken before the battery started;
--   4. the next valid call works: the case's `ok` function (or its
--      family's) runs and its result is checked.
--
-- A case: { "<function>", "<argument fragment>", function(E) <bad call> end
--           [, ok = function(E) <valid call, asserts> end] }.
-- soft = true: an I/O failure that returns nil, "<path>: <reason>" (as
-- io.open does; ot.load/ot.save document it) instead of raising.
-- own = true: the error is the caller's own (raised in a progress
-- callback) and must come back unchanged, whatever its type.
-- The argument fragment is usually "#N 'name'" as in
--   ot.emd: bad argument #1 'a' (a[17] = -0.2 < 0)
-- Modules add their cases to the tables at the end (bounds, otdd, flow, nn):
-- one line per case.

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p '" .. tmp .. "'"))
local function tmpfile(name, bytes)
  local path = tmp .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end

-- ---- the environment: data loaded before the battery --------------------
ot.seed(11)
local E = {}
E.X = ot.rand(10, 2)
E.Y = ot.rand(8, 2)
E.Z = ot.rand(8, 3)
E.M = ot.dist(E.X, E.Y)
E.a = ot.unif(10)
E.b = ot.unif(8)
E.v = ot.linspace(0, 1, 8)
E.C = ot.eye(2)
E.m = ot.zeros(2)
E.L = ot.load(OTLAB_ROOT .. "/tests/data/io/golden_mat.npy")
E.D = ot.data.iris()
E.DX, E.Dy = E.D.X, E.D.y
E.good_npy = tmp .. "/good.npy"
ot.save(E.good_npy, E.M)

local snapshot = {}
for k, v in pairs(E) do
  if ot.ismat(v) then snapshot[k] = v:copy() end
end
local function unchanged()
  for k, copy in pairs(snapshot) do
    local v = E[k]
    local r1, c1 = v:shape()
    local r2, c2 = copy:shape()
    if r1 ~= r2 or c1 ~= c2 or not v:equals(copy) then return false, k end
  end
  return true
end

-- Bad matrices and files made once.
local nan, inf = 0 / 0, math.huge
local function with(M, i, j, x) local c = M:copy(); c:set(i, j, x); return c end
local function vwith(v, i, x) local c = v:copy(); c:set(i, x); return c end
E.a_neg = vwith(E.a, 3, -0.2)
E.a_nan = vwith(E.a, 2, nan)
E.a_inf = vwith(E.a, 2, inf)
E.a_zero = ot.zeros(10)
E.a_short = ot.unif(9)
E.a_heavy = ot.full(10, 1, 0.2) -- sums to 2, b to 1
E.M_nan = with(E.M, 2, 3, nan)
E.M_inf = with(E.M, 1, 1, -inf)
E.M_wrong = ot.rand(9, 8)
E.X_nan = with(E.X, 4, 1, nan)
E.X_inf = with(E.X, 4, 2, inf)
E.X_big = with(E.X, 1, 1, 1e200)
E.X_empty = ot.zeros(0, 2)
E.X_d0 = ot.zeros(10, 0)
E.C_notpsd = ot.mat({ { 1, 0 }, { 0, -1 } })
E.C_nan = ot.mat({ { 1, nan }, { nan, 1 } })
E.C_asym = ot.mat({ { 1, 0.5 }, { -0.5, 1 } })

local npy_head = "\147NUMPY\1\0"
local function npy(header, payload)
  local h = header .. string.rep(" ", (64 - (10 + #header + 1) % 64) % 64) .. "\n"
  return npy_head .. string.pack("<I2", #h) .. h .. (payload or "")
end
local F = {}
F.bad_magic = tmpfile("bad_magic.npy", "\147NUMPX\1\0\10\0{}        \n")
F.bad_version = tmpfile("bad_version.npy", "\147NUMPY\9\0\10\0{}        \n")
F.header_long = tmpfile("header_long.npy", "\147NUMPY\1\0\255\127{'descr'")
F.shape_lie = tmpfile("shape_lie.npy",
  npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", string.rep("\0", 8 * 11)))
F.trailing = tmpfile("trailing.npy",
  npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", string.rep("\0", 8 * 2 + 3)))
F.overflow = tmpfile("overflow.npy",
  npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", ""))
F.complex = tmpfile("complex.npy",
  npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", string.rep("\0", 16)))
F.truncated = tmpfile("truncated.npy",
  npy("{'descr': '<f8', 'fortran_order': False, 'shape': (10,), }", string.rep("\0", 20)))
F.nan_npy = tmpfile("nan.npy",
  npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", string.pack("<d", nan)))
F.ragged = tmpfile("ragged.csv", "1,2,3\n4,5\n")
F.token = tmpfile("token.csv", "1,2\n3,abc\n")
F.erange = tmpfile("erange.csv", "1,2\n3,1e999\n")
F.comma = tmpfile("comma.csv", "1;2\n3,5;4\n")
F.longline = tmpfile("longline.csv", string.rep("1,", 3000) .. "1\n")
F.csv_nan = tmpfile("nan.csv", "1,2\nnan,3\n")
F.idx_magic = tmpfile("bad.idx", "\1\2\8\1\0\0\0\2\1\2")
F.idx_type = tmpfile("type.idx", "\0\0\7\1\0\0\0\2\1\2")
F.idx_ndim0 = tmpfile("ndim0.idx", "\0\0\8\0")
F.idx_ndim5 = tmpfile("ndim5.idx", "\0\0\8\5" .. string.rep("\0\0\0\1", 5) .. "\1")
F.idx_size = tmpfile("size.idx", "\0\0\8\1\0\0\0\5\1\2")
F.gz_trunc = tmpfile("trunc.idx.gz", "\31\139\8\0\0\0\0\0\0\3\99\96")
F.labels_count = tmpfile("labels3.csv", "0\n1\n2\n")
F.dir = tmp
F.subdir = tmp .. "/sub.npy"
assert(os.execute("mkdir -p '" .. F.subdir .. "'"))

-- ---- the cases ------------------------------------------------------------
local emd_ok = function(E) local c = ot.emd2(E.a, E.b, E.M); assert(c > 0) end
local sk_ok = function(E) local c, i = ot.sinkhorn2(E.a, E.b, E.M, 0.1); assert(c > 0 and i.converged) end
local load_ok = function(E) local M = ot.load(E.good_npy); assert(M:equals(E.M)) end

local cases = {
  -- weights of the exact solver
  { "ot.emd", "#1 'a'", function(E) return ot.emd(E.a_neg, E.b, E.M) end, ok = emd_ok },
  { "ot.emd", "#1 'a'", function(E) return ot.emd(E.a_nan, E.b, E.M) end, ok = emd_ok },
  { "ot.emd", "#1 'a'", function(E) return ot.emd(E.a_inf, E.b, E.M) end, ok = emd_ok },
  { "ot.emd", "#1 'a'", function(E) return ot.emd(E.a_zero, E.b, E.M) end, ok = emd_ok },
  { "ot.emd", "#1 'a'", function(E) return ot.emd(E.a_short, E.b, E.M) end, ok = emd_ok },
  { "ot.emd", "#2 'b'", function(E) return ot.emd(E.a_heavy, E.b, E.M) end, ok = emd_ok },
  { "ot.emd", "#1 'a'", function(E) return ot.emd({ 1, 2, "x" }, E.b, E.M) end, ok = emd_ok },
  { "ot.emd", "#3 'M'", function(E) return ot.emd(E.a, E.b, E.M_nan) end, ok = emd_ok },
  { "ot.emd", "#3 'M'", function(E) return ot.emd(E.a, E.b, E.M_inf) end, ok = emd_ok },
  { "ot.emd", "'a' (has 10 entries, needs 9", function(E) return ot.emd(E.a, E.b, E.M_wrong) end, ok = emd_ok },
  { "ot.emd", "#3 'M'", function(E) return ot.emd(E.a, E.b, "M") end, ok = emd_ok },
  { "ot.emd", "#5 'opts'", function(E) return ot.emd(E.a, E.b, E.M, nil, { bogus = 1 }) end, ok = emd_ok },
  { "ot.emd", "'max_iter'", function(E) return ot.emd(E.a, E.b, E.M, { max_iter = "x" }) end, ok = emd_ok },
  { "ot.emd2", "#1 'a'", function(E) return ot.emd2(E.a_neg, E.b, E.M) end, ok = emd_ok },
  { "ot.emd2", "#2 'b'", function(E) return ot.emd2(E.a, E.a, E.M) end, ok = emd_ok },
  { "ot.emd2", "'X'", function(E) return ot.emd2(nil, nil, E.X_nan, E.Y) end, ok = emd_ok },
  { "ot.emd2", "'Y'", function(E) return ot.emd2(nil, nil, E.X, E.Z) end, ok = emd_ok },
  { "ot.emd2", "'X'", function(E) return ot.emd2(nil, nil, E.X_empty, E.Y) end, ok = emd_ok },
  { "ot.emd_1d", "'x_a'", function(E) return ot.emd_1d(ot.mat({ 1, nan }), E.v) end },
  { "ot.emd_1d", "'x_b'", function(E) return ot.emd_1d(E.v, ot.zeros(0)) end },
  { "ot.emd2_1d", "'a'", function(E) return ot.emd2_1d(E.v, E.v, vwith(E.b, 1, -1), E.b) end },
  { "ot.wasserstein_1d", "'p'", function(E) return ot.wasserstein_1d(E.v, E.v, nil, nil, 0.5) end },
  { "ot.wasserstein_1d", "'u_values'", function(E) return ot.wasserstein_1d({}, E.v) end },
  -- entropic solvers
  { "ot.sinkhorn", "#4 'reg'", function(E) return ot.sinkhorn(E.a, E.b, E.M, 0) end, ok = sk_ok },
  { "ot.sinkhorn", "#4 'reg'", function(E) return ot.sinkhorn(E.a, E.b, E.M, -1) end, ok = sk_ok },
  { "ot.sinkhorn", "#4 'reg'", function(E) return ot.sinkhorn(E.a, E.b, E.M, nan) end, ok = sk_ok },
  { "ot.sinkhorn", "#4 'reg'", function(E) return ot.sinkhorn(E.a, E.b, E.M, inf) end, ok = sk_ok },
  { "ot.sinkhorn", "#4 'reg'", function(E) return ot.sinkhorn(E.a, E.b, E.M) end, ok = sk_ok },
  { "ot.sinkhorn", "#1 'a'", function(E) return ot.sinkhorn(E.a_neg, E.b, E.M, 0.1) end, ok = sk_ok },
  { "ot.sinkhorn", "#2 'b'", function(E) return ot.sinkhorn(E.a_heavy, E.b, E.M, 0.1) end, ok = sk_ok },
  { "ot.sinkhorn", "#3 'M'", function(E) return ot.sinkhorn(E.a, E.b, E.M_nan, 0.1) end, ok = sk_ok },
  { "ot.sinkhorn", "'opts' (unknown method 'magic'", function(E) return ot.sinkhorn(E.a, E.b, E.M, 0.1, { method = "magic" }) end, ok = sk_ok },
  { "ot.sinkhorn", "'tol'", function(E) return ot.sinkhorn(E.a, E.b, E.M, 0.1, { tol = -1 }) end, ok = sk_ok },
  { "ot.sinkhorn", "'max_iter'", function(E) return ot.sinkhorn(E.a, E.b, E.M, 0.1, { max_iter = -5 }) end, ok = sk_ok },
  { "ot.sinkhorn", "#5 'opts'", function(E) return ot.sinkhorn(E.a, E.b, E.M, 0.1, { regularization = 1 }) end, ok = sk_ok },
  { "ot.sinkhorn", "'progress'", function(E) return ot.sinkhorn(E.a, E.b, E.M, 0.1, { progress = 3 }) end, ok = sk_ok },
  { "ot.sinkhorn", "underflow", function(E)
      return ot.sinkhorn(E.a, E.b, E.M, 1e-5, { method = "sinkhorn", auto_log = false }) end, ok = sk_ok },
  { "ot.sinkhorn", "callback failed", own = true, function(E)
      return ot.sinkhorn(E.a, E.b, E.M, 0.01, { method = "log", progress = function() error("callback failed") end }) end,
    ok = sk_ok },
  { "ot.sinkhorn", "table error", own = true, function(E)
      return ot.sinkhorn(E.a, E.b, E.M, 0.01, { progress = function() error(setmetatable({}, { __tostring = function() return "table error" end })) end }) end,
    ok = sk_ok },
  { "ot.sinkhorn2", "#4 'reg'", function(E) return ot.sinkhorn2(E.a, E.b, E.M, "x") end, ok = sk_ok },
  { "ot.sinkhorn2", "#1 'a' (has 10 entries but M is 9x8", function(E) return ot.sinkhorn2(E.a, E.b, E.M_wrong, 0.1) end, ok = sk_ok },
  { "ot.sinkhorn_divergence", "'reg'", function(E) return ot.sinkhorn_divergence(E.X, E.Y, { reg = 0 }) end },
  { "ot.sinkhorn_divergence", "'X'", function(E) return ot.sinkhorn_divergence(E.X_nan, E.Y) end },
  { "ot.sinkhorn_divergence", "'Y'", function(E) return ot.sinkhorn_divergence(E.X, E.Z) end },
  { "ot.sinkhorn_divergence", "'X'", function(E) return ot.sinkhorn_divergence(E.X_empty, E.Y) end },
  { "ot.sinkhorn_divergence", "'opts' (unknown metric 'cosine'", function(E) return ot.sinkhorn_divergence(E.X, E.Y, { metric = "cosine" }) end },
  { "ot.sinkhorn_divergence", "'a'", function(E) return ot.sinkhorn_divergence(E.X, E.Y, { a = E.a_neg }) end },
  { "ot.sinkhorn_divergence", "'scaling'", function(E) return ot.sinkhorn_divergence(E.X, E.Y, { scaling = 1.5 }) end },
  { "ot.unbalanced.sinkhorn_unbalanced", "'reg_m'", function(E) return ot.unbalanced.sinkhorn_unbalanced(E.a, E.b, E.M, 0.1, -1) end },
  { "ot.unbalanced.sinkhorn_unbalanced", "'reg'", function(E) return ot.unbalanced.sinkhorn_unbalanced(E.a, E.b, E.M, 0, 1) end },
  { "ot.unbalanced.sinkhorn_unbalanced2", "'M'", function(E) return ot.unbalanced.sinkhorn_unbalanced2(E.a, E.b, E.M_nan, 0.1, 1) end },
  -- Gaussian
  { "ot.gaussian.bures_wasserstein_distance", "'C1'", function(E) return ot.gaussian.bures_wasserstein_distance(E.m, E.C_notpsd, E.m, E.C) end },
  { "ot.gaussian.bures_wasserstein_distance", "'C1'", function(E) return ot.gaussian.bures_wasserstein_distance(E.m, E.C_nan, E.m, E.C) end },
  { "ot.gaussian.bures_wasserstein_distance", "'C2'", function(E) return ot.gaussian.bures_wasserstein_distance(E.m, E.C, E.m, ot.eye(3)) end },
  { "ot.gaussian.bures_wasserstein_distance", "'m2'", function(E) return ot.gaussian.bures_wasserstein_distance(E.m, E.C, ot.zeros(3), E.C) end },
  { "ot.gaussian.bures_wasserstein_distance", "'C1'", function(E) return ot.gaussian.bures_wasserstein_distance(E.m, E.C_asym, E.m, E.C) end },
  { "ot.gaussian.bures_wasserstein_mapping", "'C2'", function(E) return ot.gaussian.bures_wasserstein_mapping(E.m, E.C, E.m, E.C_notpsd) end },
  { "ot.gaussian.empirical_bures_wasserstein_distance", "'Xs'", function(E) return ot.gaussian.empirical_bures_wasserstein_distance(E.X_nan, E.Y) end },
  { "ot.gaussian.empirical_bures_wasserstein_distance", "'Xt'", function(E) return ot.gaussian.empirical_bures_wasserstein_distance(E.X, E.Z) end },
  { "ot.gaussian.empirical_bures_wasserstein_mapping", "'Xs'", function(E) return ot.gaussian.empirical_bures_wasserstein_mapping(E.X_empty, E.Y) end },
  -- sliced
  { "ot.sliced_wasserstein_distance", "'X_s'", function(E) return ot.sliced_wasserstein_distance(E.X_inf, E.Y) end },
  { "ot.sliced_wasserstein_distance", "'X_t'", function(E) return ot.sliced_wasserstein_distance(E.X, E.Z) end },
  { "ot.sliced_wasserstein_distance", "'opts' (n_projections must be >= 1", function(E) return ot.sliced_wasserstein_distance(E.X, E.Y, nil, nil, { n_projections = 0 }) end },
  { "ot.sliced_wasserstein_distance", "'a'", function(E) return ot.sliced_wasserstein_distance(E.X, E.Y, E.a_short) end },
  { "ot.sliced_wasserstein_distance", "'opts' (p must be", function(E) return ot.sliced_wasserstein_distance(E.X, E.Y, nil, nil, { p = -1 }) end },
  { "ot.max_sliced_wasserstein_distance", "'X_s'", function(E) return ot.max_sliced_wasserstein_distance(E.X_d0, E.Y) end },
  -- costs
  { "ot.dist", "'Y'", function(E) return ot.dist(E.X, E.Z) end },
  { "ot.dist", "'metric'", function(E) return ot.dist(E.X, E.Y, "hamming-ish") end },
  { "ot.dist", "'X'", function(E) return ot.dist("X") end },
  { "ot.dist", "'p'", function(E) return ot.dist(E.X, E.Y, "minkowski", 0.5) end },
  { "ot.barycentric_projection", "#1 'P' (a dense plan needs one column per target point", function(E) return ot.barycentric_projection(ot.full(10, 8, 0.0125), E.Z:select_rows({1, 2})) end },
  -- matrices
  { "ot.zeros", "'rows'", function(E) return ot.zeros(-1, 2) end },
  { "ot.zeros", "ot.zeros", function(E) return ot.zeros(2 ^ 40, 2 ^ 40) end },
  { "ot.ones", "'rows'", function(E) return ot.ones(1.5, 2) end },
  { "ot.eye", "#1 'rows'", function(E) return ot.eye("three") end },
  { "ot.linspace", "'n'", function(E) return ot.linspace(0, 1, -3) end },
  { "ot.mat", "#1", function(E) return ot.mat({ { 1, 2 }, { 3 } }) end },
  { "ot.mat", "#1", function(E) return ot.mat({ { 1, "x" } }) end },
  { "ot.unif", "#1 'n'", function(E) return ot.unif(-1) end },
  { "ot.full", "'value'", function(E) return ot.full(2, 2, "v") end },
  { "ot.vstack", "#1 'list' (item 2 has shape 8x3", function(E) return ot.vstack({ E.X, E.Z }) end },
  { "ot.hstack", "#1", function(E) return ot.hstack({ E.X, E.Y }) end },
  { "Mat:get", "'i'", function(E) return E.X:get(11, 1) end },
  { "Mat:get", "'j'", function(E) return E.X:get(1, 3) end },
  { "Mat:set", "#3 'v'", function(E) return E.X:set(1, 1, "x") end },
  { "Mat:set", "'i'", function(E) return E.X:set(0, 1, 5) end },
  { "Mat:reshape", "'rows'", function(E) return E.X:reshape(3, 7) end },
  { "Mat:row", "'i'", function(E) return E.X:row(99) end },
  { "Mat:slice", "#2 'r1'", function(E) return E.X:slice(5, 2) end },
  { "Mat:dot", "'B'", function(E) return E.X:dot(E.Y) end },
  { "Mat:add_", "#1", function(E) return E.X:add_(E.Z) end },
  { "Mat:assign", "#1", function(E) return E.X:assign(E.Y) end },
  { "Mat:clip", "'lo'", function(E) return E.X:clip("a", 1) end },
  { "Mat:map", "'f'", function(E) return E.X:map(42) end },
  { "Mat:select_rows", "'idx'", function(E) return E.X:select_rows({ 1, 99 }) end },
  { "Mat:norm", "#1 'p' (unknown norm", function(E) return E.X:norm("frobenius?") end },
  { "ot.randperm", "'n'", function(E) return ot.randperm(-2) end },
  { "ot.choice", "'k'", function(E) return ot.choice(5, 9) end },
  { "ot.seed", "'seed'", function(E) return ot.seed("abc") end },
  { "ot.mem_limit", "'size'", function(E) return ot.mem_limit("lots") end },
  { "ot.mem_limit", "'size'", function(E) return ot.mem_limit(1) end },
  { "ot.threads", "'n'", function(E) return ot.threads(0) end },
  -- files
  { "ot.load", "bad_magic.npy", function(E) return ot.load(F.bad_magic) end, ok = load_ok },
  { "ot.load", "bad_version.npy", function(E) return ot.load(F.bad_version) end, ok = load_ok },
  { "ot.load", "header_long.npy", function(E) return ot.load(F.header_long) end, ok = load_ok },
  { "ot.load", "shape_lie.npy", function(E) return ot.load(F.shape_lie) end, ok = load_ok },
  { "ot.load", "trailing.npy", function(E) return ot.load(F.trailing) end, ok = load_ok },
  { "ot.load", "overflow.npy", function(E) return ot.load(F.overflow) end, ok = load_ok },
  { "ot.load", "complex.npy", function(E) return ot.load(F.complex) end, ok = load_ok },
  { "ot.load", "truncated.npy", function(E) return ot.load(F.truncated) end, ok = load_ok },
  { "ot.load", "nan.npy", function(E) return ot.load(F.nan_npy) end, ok = load_ok },
  { "ot.load", "ragged.csv", function(E) return ot.load(F.ragged) end, ok = load_ok },
  { "ot.load", "token.csv", function(E) return ot.load(F.token) end, ok = load_ok },
  { "ot.load", "erange.csv", function(E) return ot.load(F.erange) end, ok = load_ok },
  { "ot.load", "comma.csv", function(E) return ot.load(F.comma, { delimiter = ";" }) end, ok = load_ok },
  { "ot.load", "longline.csv", function(E) return ot.load(F.longline, { max_line = 1000 }) end, ok = load_ok },
  { "ot.load", "nan.csv", function(E) return ot.load(F.csv_nan) end, ok = load_ok },
  { "ot.load", "bad.idx", function(E) return ot.load(F.idx_magic) end, ok = load_ok },
  { "ot.load", "type.idx", function(E) return ot.load(F.idx_type) end, ok = load_ok },
  { "ot.load", "ndim0.idx", function(E) return ot.load(F.idx_ndim0) end, ok = load_ok },
  { "ot.load", "ndim5.idx", function(E) return ot.load(F.idx_ndim5) end, ok = load_ok },
  { "ot.load", "size.idx", function(E) return ot.load(F.idx_size) end, ok = load_ok },
  { "ot.load", "trunc.idx.gz", function(E) return ot.load(F.gz_trunc) end, ok = load_ok },
  { "ot.load", "missing.npy: No such file", soft = true, function(E) return ot.load(tmp .. "/missing.npy") end, ok = load_ok },
  { "ot.load", "labels: the label file has 3 items, the data has 150", function(E) return ot.load(OTLAB_ROOT .. "/share/data/iris.csv", { labels = F.labels_count }) end, ok = load_ok },
  { "ot.load", "'format'", function(E) return ot.load(E.good_npy, { format = "xls" }) end, ok = load_ok },
  { "ot.load", "#2 'opts'", function(E) return ot.load(E.good_npy, { bogus = true }) end, ok = load_ok },
  { "ot.load", "Is a directory", soft = true, function(E) return ot.load(F.dir) end, ok = load_ok },
  { "ot.save", "x.npy: No such file or directory", soft = true, function(E) return ot.save(tmp .. "/no/such/dir/x.npy", E.M) end, ok = load_ok },
  { "ot.save", "#2", function(E) return ot.save(tmp .. "/x.npy", "not a matrix") end, ok = load_ok },
  { "ot.save", "#1 'path' (cannot tell the format", function(E) return ot.save(F.dir, E.M) end, ok = load_ok },
  { "ot.save", "Is a directory", soft = true, function(E) return ot.save(F.subdir, E.M) end, ok = load_ok },
  -- datasets
  { "ot.data.moons", "'n'", function(E) return ot.data.moons({ n = -5 }) end },
  { "ot.data.moons", "'noise'", function(E) return ot.data.moons({ noise = nan }) end },
  { "ot.data.gaussian_mixture", "'k'", function(E) return ot.data.gaussian_mixture({ k = 0 }) end },
  { "ot.data.dataset", "'y'", function(E) return ot.data.dataset(E.X, ot.zeros(3)) end },
  { "ot.data.dataset", "'y'", function(E) return ot.data.dataset(E.X, ot.full(10, 1, 0.5)) end },
  { "ot.data.dataset", "'y'", function(E) return ot.data.dataset(E.X, ot.full(10, 1, -1)) end },
  { "ot.data.dataset", "'y'", function(E) return ot.data.dataset(E.X, ot.full(10, 1, nan)) end },
  { "ot.data.dataset", "'y'", function(E) return ot.data.dataset(E.X, ot.full(10, 1, 2 ^ 60)) end },
  { "Dataset:subset", "'idx'", function(E) return E.D:subset({ 0 }) end },
  { "Dataset:split", "'frac'", function(E) return E.D:split(1.5) end },
  { "Dataset:class_X", "#1 'labels' (99 is not a class", function(E) return E.D:class_X(99) end },
  -- text plots
  { "ui.plot", "'ys'", function(E) return ui.plot({ 1, "x", 3 }) end },
  { "ui.plot", "'width'", function(E) return ui.plot({ 1, 2, 3 }, { width = -4 }) end },
  { "ui.heatmap", "'M'", function(E) return ui.heatmap("M") end },
  { "ui.scatter", "'X'", function(E) return ui.scatter(E.Z) end },
  { "ui.scatter", "'labels'", function(E) return ui.scatter(E.X, ot.zeros(3)) end },
  { "ui.sparkline", "'values'", function(E) return ui.sparkline(42) end },
  -- memory: a request over the budget is refused before allocating
  { "ot.rand", "ot.rand", function(E) return ot.rand(2 ^ 31, 2 ^ 31) end },
  { "ot.dist", "budget", function(E) return ot.dist(ot.zeros(2 ^ 22, 1), ot.zeros(2 ^ 22, 1)) end },
}

-- Modules add their cases here, one line each (same format as above).
local module_cases = {
  -- bounds:  { "ot.bounds.<f>", "'<arg>'", function(E) return ot.bounds.<f>(...) end },
  -- otdd:    { "ot.otdd.<f>", "'<arg>'", function(E) return ot.otdd.<f>(...) end },
  -- flow:    { "ot.flow.<f>", "'<arg>'", function(E) return ot.flow.<f>(...) end },
  -- nn:      { "ot.nn.<f>", "'<arg>'", function(E) return ot.nn.<f>(...) end },
}
for _, c in ipairs(module_cases) do cases[#cases + 1] = c end

-- Memory error inside Lua itself: string.rep over the budget.
-- (Lua caps strings at 2 GiB itself, so a small budget is set for the call
-- and put back whatever happens.)
cases[#cases + 1] = { "string.rep", "not enough memory", function(E)
  local old = ot.mem_limit()
  ot.mem_limit(ot.mem().used + 2 ^ 26)
  local ok, err = pcall(string.rep, "x", 2 ^ 30)
  ot.mem_limit(old)
  if not ok then error(err, 0) end
end }

-- A default next-valid call for cases without their own.
local function default_ok(E)
  local P, info = ot.emd(E.a, E.b, E.M)
  assert(info.status == "optimal")
  local c = ot.sinkhorn2(E.a, E.b, E.M, 0.1)
  assert(c > 0)
  local X = ot.zeros(3, 3)
  assert(X:sum() == 0)
end

-- ---- run ------------------------------------------------------------------
local failures, names = 0, {}
for k, c in ipairs(cases) do
  local fname, frag, call = c[1], c[2], c[3]
  local ok, err, msg = pcall(call, E)
  local why
  if c.soft then -- an I/O failure: nil and "<path>: <reason>", as io.open
    if ok and err == nil and type(msg) == "string" then ok, err = false, msg
    elseif ok then why = "no nil, message result" end
  end
  if why then
  elseif ok then
    why = "no error"
  elseif c.own then -- the caller's own error object comes back unchanged
    if not tostring(err):find(frag, 1, true) then why = "not the callback's error" end
  elseif type(err) ~= "string" then
    why = "error object is a " .. type(err)
  elseif not c.soft and not err:find(fname, 1, true) and fname ~= "string.rep" then
    why = "message lacks the function name"
  elseif not c.own and not err:find(frag, 1, true) then
    why = "message lacks '" .. frag .. "'"
  end
  if not why then
    local same, what = unchanged()
    if not same then why = "input " .. what .. " changed" end
  end
  if not why then
    local ok2, err2 = pcall(c.ok or default_ok, E)
    if not ok2 then why = "the next valid call failed: " .. tostring(err2) end
  end
  if why then
    failures = failures + 1
    print(string.format("FAIL case %d %s [%s]: %s; got: %s", k, fname, frag, why,
      ok and "success" or tostring(err)))
  end
  names[fname] = true
end
local nfun = 0
for _ in pairs(names) do nfun = nfun + 1 end
os.execute("rm -rf '" .. tmp .. "'")
print(string.format("badinput: %d cases over %d functions, %d failed", #cases, nfun, failures))
assert(#cases >= 80)
assert(failures == 0, failures .. " bad-input cases failed")
