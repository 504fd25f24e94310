print("testing data")

local data = require("data")

-- ---- helpers ----------------------------------------------------------------

-- f(...) must fail with exactly the message want.
local function fails(want, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error: " .. want)
  if msg ~= want then
    error(string.format("wrong message\n  got:  %s\n  want: %s", tostring(msg), want), 2)
  end
end

-- All entries of X as one flat Lua table (row by row).
local function flat(X)
  local r, c = X:shape()
  local t = {}
  for i = 1, r do
    for j = 1, c do t[#t + 1] = X:get(i, j) end
  end
  return t
end

local function same_matrix(A, B)
  local ra, ca = A:shape()
  local rb, cb = B:shape()
  if ra ~= rb or ca ~= cb then return false end
  local a, b = flat(A), flat(B)
  for k = 1, #a do
    if a[k] ~= b[k] then return false end
  end
  return true
end

local function range_of(X)
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(flat(X)) do
    if v < lo then lo = v end
    if v > hi then hi = v end
  end
  return lo, hi
end

local function all_integers(X)
  for _, v in ipairs(flat(X)) do
    if v ~= math.floor(v) then return false end
  end
  return true
end

local function same_list(a, b)
  if #a ~= #b then return false end
  for k = 1, #a do
    if a[k] ~= b[k] then return false end
  end
  return true
end

-- ---- bundled tables ---------------------------------------------------------

do
  local ds = data.digits()
  assert(ds.n == 1797 and ds.d == 64)
  local r, c = ds.X:shape()
  assert(r == 1797 and c == 64)
  assert(select(1, ds.y:shape()) == 1797)
  local lo, hi = range_of(ds.X)
  assert(lo == 0 and hi == 16, "digits pixels are counts 0..16")
  assert(all_integers(ds.X))
  assert(same_list(ds.classes, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }))
  -- counts checked against the file with awk when it was bundled
  assert(same_list(ds.counts, { 178, 182, 177, 183, 181, 182, 181, 179, 174, 180 }))
  assert(tostring(ds) == "Dataset 'digits': 1797 x 64, 10 classes {0..9}")
  assert(#ds == 1797)
  -- first row of digits.csv.gz: 0,0,5,13,9,1,0,0,... label 0
  assert(ds.X:get(1, 3) == 5 and ds.X:get(1, 4) == 13 and ds.y:get(1, 1) == 0)
  assert(ds.image_shape[1] == 8 and ds.image_shape[2] == 8)
  -- every call returns independent matrices
  local ds2 = data.digits()
  ds2.X:set(1, 1, 99)
  assert(data.digits().X:get(1, 1) == 0 and ds.X:get(1, 1) == 0)
  fails("ot.data.digits: bad argument #1 'opts' (unknown option 'n'; known: none)",
        data.digits, { n = 3 })
end

do
  local ds = data.iris()
  assert(ds.n == 150 and ds.d == 4)
  assert(same_list(ds.classes, { 0, 1, 2 }) and same_list(ds.counts, { 50, 50, 50 }))
  assert(tostring(ds) == "Dataset 'iris': 150 x 4, 3 classes {0..2}")
  -- first and last rows: 5.1,3.5,1.4,0.2,0 and 5.9,3.0,5.1,1.8,2
  assert(ds.X:get(1, 1) == 5.1 and ds.X:get(1, 4) == 0.2)
  assert(ds.X:get(150, 3) == 5.1 and ds.y:get(150, 1) == 2)
  assert(ds.label_names[0] == "setosa" and ds.label_names[2] == "virginica")
  assert(#ds.feature_names == 4)
end

do
  local ds = data.wine()
  assert(ds.n == 178 and ds.d == 13)
  assert(same_list(ds.classes, { 0, 1, 2 }) and same_list(ds.counts, { 59, 71, 48 }))
  assert(ds.X:get(1, 1) == 14.23 and ds.X:get(1, 13) == 1065)
  assert(#ds.feature_names == 13)
end

-- ---- Fashion-MNIST ----------------------------------------------------------

local FASHION_TRAIN_COUNTS = { 107, 104, 86, 92, 95, 100, 100, 115, 102, 99 }
local FASHION_TEST_COUNTS = { 55, 52, 65, 46, 57, 39, 47, 47, 44, 48 }

do
  local tr = data.fashion_mnist { source = "bundled" }
  assert(tr.n == 1000 and tr.d == 784 and tr.source == "bundled")
  assert(same_list(tr.classes, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }))
  assert(same_list(tr.counts, FASHION_TRAIN_COUNTS))
  assert(tr.name == "fashion-mnist train (bundled subset)")
  local lo, hi = range_of(tr.X)
  assert(lo == 0 and hi == 255 and all_integers(tr.X))
  -- image 1 (label 9, ankle boot): pixel sum and one pixel, computed with numpy
  local s = 0
  for j = 1, 784 do s = s + tr.X:get(1, j) end
  assert(s == 76247 and tr.X:get(1, 10 * 28 + 15) == 228)
  assert(tr.y:get(1, 1) == 9 and tr.label_names[9] == "Ankle boot")

  local te = data.fashion_mnist { source = "bundled", split = "test" }
  assert(te.n == 500 and te.d == 784 and same_list(te.counts, FASHION_TEST_COUNTS))

  -- n, size and normalize
  local small = data.fashion_mnist { source = "bundled", n = 10, size = 14 }
  assert(small.n == 10 and small.d == 196)
  assert(small.image_shape[1] == 14)
  -- 2 x 2 block averages of image 1, checked against the 28 x 28 pixels
  for bi = 0, 13 do
    for bj = 0, 13 do
      local want = 0
      for di = 0, 1 do
        for dj = 0, 1 do want = want + tr.X:get(1, (2 * bi + di) * 28 + 2 * bj + dj + 1) end
      end
      want = want / 4
      assert(math.abs(small.X:get(1, bi * 14 + bj + 1) - want) <= 1e-12 * 255,
             "size = 14 is the mean of 2 x 2 blocks")
    end
  end
  local sum14 = 0
  for j = 1, 196 do sum14 = sum14 + small.X:get(1, j) end
  assert(math.abs(sum14 - 19061.75) < 1e-9 and math.abs(small.X:get(1, 5 * 14 + 8) - 219.5) < 1e-12)
  local s7 = data.fashion_mnist { source = "bundled", n = 3, size = 7, split = "test" }
  assert(s7.d == 49 and s7.n == 3)
  local tiny = data.fashion_mnist { source = "bundled", n = 1, size = 7 }
  assert(math.abs(tiny.X:get(1, 3 * 7 + 4) - 206.625) < 1e-12)
  local nz = data.fashion_mnist { source = "bundled", n = 5, normalize = true }
  local lo2, hi2 = range_of(nz.X)
  assert(lo2 == 0 and hi2 <= 1 and hi2 > 0.9)
  assert(math.abs(nz.X:get(1, 10 * 28 + 15) - 228 / 255) < 1e-15)

  fails("ot.data.fashion_mnist: bad argument #1 'opts' (option 'n' = 1001 exceeds the 1000 train "
        .. "images of the bundled subset (install dataset-fashion-mnist for all of them))",
        data.fashion_mnist, { source = "bundled", n = 1001 })
  fails("ot.data.fashion_mnist: bad argument #1 'opts' (option 'size' must be 28, 14 or 7, got 10)",
        data.fashion_mnist, { size = 10 })
  fails("ot.data.fashion_mnist: bad argument #1 'opts' (option 'split' must be one of \"train\", "
        .. "\"test\", got 'val')", data.fashion_mnist, { split = "val" })
  fails("ot.data.fashion_mnist: bad argument #1 'opts' (option 'n' must be >= 1, got 0)",
        data.fashion_mnist, { n = 0 })
  fails("ot.data.fashion_mnist: bad argument #1 'opts' (unknown option 'szie'; known: split, n, "
        .. "size, normalize, source)", data.fashion_mnist, { szie = 14 })

  -- the Debian package, when it is installed
  local deb = io.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", "rb")
  if deb then
    deb:close()
    local d = data.fashion_mnist { source = "debian", n = 1200 }
    assert(d.n == 1200 and d.d == 784 and d.source == "debian")
    assert(d.name == "fashion-mnist train")
    -- the bundled subset is the head of the package's files
    for _, i in ipairs({ 1, 500, 1000 }) do
      for _, j in ipairs({ 1, 200, 407, 784 }) do assert(d.X:get(i, j) == tr.X:get(i, j)) end
      assert(d.y:get(i, 1) == tr.y:get(i, 1))
    end
    assert(data.fashion_mnist { n = 3 }.source == "debian", "auto prefers the package")
    local dt = data.fashion_mnist { source = "debian", split = "test", size = 7 }
    assert(dt.n == 10000 and dt.d == 49)
    assert(same_list(dt.counts, { 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000 }))
    fails("ot.data.fashion_mnist: bad argument #1 'opts' (option 'n' = 10001 exceeds the 10000 "
          .. "test images of the Debian package)",
          data.fashion_mnist, { source = "debian", split = "test", n = 10001 })
    print("  fashion-mnist: Debian package checked")
  else
    assert(data.fashion_mnist { n = 3 }.source == "bundled", "auto falls back to the subset")
    fails("ot.data.fashion_mnist: /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz not "
          .. "found (install the Debian package dataset-fashion-mnist, or use source = \"bundled\")",
          data.fashion_mnist, { source = "debian" })
    print("  fashion-mnist: Debian package not installed, bundled subset only")
  end
end

-- ---- ot.data.dataset: construction and validation ------------------------

do
  local X = ot.mat { { 1, 2 }, { 3, 4 }, { 5, 6 } }
  local a = data.dataset(X, { 2, 0, 2 }, "toy")
  assert(a.n == 3 and a.d == 2 and a.name == "toy" and a.X == X)
  assert(same_list(a.classes, { 0, 2 }) and same_list(a.counts, { 1, 2 }))
  assert(tostring(a) == "Dataset 'toy': 3 x 2, 2 classes {0, 2}")
  -- labels as a vector and as an n x 1 matrix give the same dataset
  local b = data.dataset(X, ot.mat { 2, 0, 2 })
  local c = data.dataset(X, ot.mat { { 2 }, { 0 }, { 2 } })
  assert(same_list(b:labels(), { 2, 0, 2 }) and same_list(c:labels(), { 2, 0, 2 }))
  assert(b.name == "unnamed")
  local r, cc = b.y:shape()
  assert(r == 3 and cc == 1)
  -- a table of rows is converted; labels up to 2^53 are fine
  local big = data.dataset({ { 0 }, { 1 } }, { 0, 2 ^ 53 })
  assert(big.classes[2] == 2 ^ 53 and math.type(big.classes[2]) == "integer")
  assert(tostring(data.dataset(X, { 7, 7, 7 })) == "Dataset 'unnamed': 3 x 2, 1 class {7}")
  local many = {}
  for i = 1, 12 do many[i] = 2 * i end
  assert(tostring(data.dataset(ot.zeros(12, 1), many)) ==
         "Dataset 'unnamed': 12 x 1, 12 classes {2, 4, 6, 8, 10, 12, ..., 24}")

  local F = "ot.data.dataset: bad argument #"
  fails(F .. "2 'y' (y[2] = 0.5 is not an integer)", data.dataset, X, { 0, 0.5, 1 })
  fails(F .. "2 'y' (y[3] = -1 is negative; labels must be integers in 0..2^53)",
        data.dataset, X, { 0, 1, -1 })
  fails(F .. "2 'y' (y[1] is nan; labels must be integers in 0..2^53)",
        data.dataset, X, { 0 / 0, 1, 1 })
  fails(F .. "2 'y' (y[2] = 9007199254740994 is beyond 2^53; labels must be integers in 0..2^53)",
        data.dataset, X, { 0, 2 ^ 53 + 2, 1 })
  fails(F .. "2 'y' (y[2] = 9007199254740993 is beyond 2^53; labels must be integers in 0..2^53)",
        data.dataset, X, { 0, (1 << 53) + 1, 1 })
  fails(F .. "2 'y' (y[1] = inf is beyond 2^53; labels must be integers in 0..2^53)",
        data.dataset, X, { math.huge, 1, 1 })
  fails(F .. "2 'y' (y[1] = -inf is negative; labels must be integers in 0..2^53)",
        data.dataset, X, { -math.huge, 1, 1 })
  fails(F .. "2 'y' (y[2] is string, not a number)", data.dataset, X, { 0, "1", 1 })
  -- the same checks through a vector
  fails(F .. "2 'y' (y[3] = 1.25 is not an integer)", data.dataset, X, ot.mat { 0, 1, 1.25 })
  fails(F .. "2 'y' (y[2] is nan; labels must be integers in 0..2^53)",
        data.dataset, X, ot.mat { 0, 0 / 0, 1 })
  fails(F .. "2 'y' (has 2 labels, X has 3 rows)", data.dataset, X, { 0, 1 })
  fails(F .. "2 'y' (has 4 labels, X has 3 rows)", data.dataset, X, ot.mat { 0, 1, 1, 1 })
  fails(F .. "2 'y' (must be a vector or an n x 1 matrix, got 3 x 2)", data.dataset, X, X)
  fails(F .. "2 'y' (table or vector of labels expected, got string)", data.dataset, X, "abc")
  fails(F .. "2 'y' (labels expected, got nil)", data.dataset, X)
  fails(F .. "1 'X' (matrix expected, got string)", data.dataset, "X", { 0 })
  fails(F .. "1 'X' (cannot convert the table to a matrix: row 2 has 2 entries, row 1 has 1)",
        data.dataset, { { 1 }, { 2, 3 } }, { 0, 1 })
  fails(F .. "1 'X' (empty dataset: X is 0 x 3)", data.dataset, ot.zeros(0, 3), {})
  fails(F .. "1 'X' (empty dataset: X is 0 x 1)", data.dataset, {}, {})
  fails(F .. "1 'X' (empty dataset: X is 3 x 0)", data.dataset, ot.zeros(3, 0), { 0, 1, 2 })
  fails(F .. "3 'name' (string expected, got number)", data.dataset, X, { 0, 1, 1 }, 5)
  local Y = ot.mat { { 1, 2 }, { 3, 0 / 0 }, { 5, math.huge } }
  fails(F .. "1 'X' (X[2][2] = nan is not finite)", data.dataset, Y, { 0, 1, 1 })
  Y:set(2, 2, 0)
  fails(F .. "1 'X' (X[3][2] = inf is not finite)", data.dataset, Y, { 0, 1, 1 })
  Y:set(3, 2, -math.huge)
  fails(F .. "1 'X' (X[3][2] = -inf is not finite)", data.dataset, Y, { 0, 1, 1 })
  -- huge finite values whose sum overflows are still finite
  Y:set(3, 2, 1.7e308)
  Y:set(3, 1, 1.7e308)
  assert(data.dataset(Y, { 0, 1, 1 }).n == 3)
  -- a failed call changes nothing and the next call works
  assert(data.dataset(X, { 0, 1, 1 }).n == 3)
end

-- ---- subset, where, split -------------------------------------------------

-- A dataset whose single feature is the row number, to follow rows around.
local function numbered(n, K)
  local rows, lab = {}, {}
  for i = 1, n do
    rows[i] = { i }
    lab[i] = (i - 1) % K
  end
  return data.dataset(ot.mat(rows), lab, "numbered")
end

do
  local ds = numbered(20, 4)
  local s = ds:subset({ 3, 1, 3 })
  assert(s.n == 3 and s.X:get(1, 1) == 3 and s.X:get(2, 1) == 1 and s.X:get(3, 1) == 3)
  assert(same_list(s:labels(), { 2, 0, 2 }) and same_list(s.classes, { 0, 2 }))
  assert(ds:subset(ot.mat { 20, 19 }).X:get(2, 1) == 19)
  local F = "Dataset:subset: bad argument #1 'idx' "
  fails(F .. "(idx[2] = 21 is out of range 1..20)", ds.subset, ds, { 1, 21 })
  fails(F .. "(idx[1] = 0 is out of range 1..20)", ds.subset, ds, { 0 })
  fails(F .. "(idx[1] = 1.5 is not an integer)", ds.subset, ds, { 1.5 })
  fails(F .. "(empty selection: a dataset needs rows)", ds.subset, ds, {})
  fails(F .. "(table or vector of row indices expected, got string)", ds.subset, ds, "1")
  fails("Dataset:subset: bad self (Dataset expected, got table; call it with ':')",
        ds.subset, { 1 })

  local w = ds:where({ 1, 3 })
  assert(w.n == 10 and same_list(w.classes, { 1, 3 }) and same_list(w.counts, { 5, 5 }))
  assert(w.X:get(1, 1) == 2 and w.X:get(2, 1) == 4, "where keeps the row order")
  assert(ds:where(2).n == 5 and ds:by_label(0).n == 5)
  local cx = ds:class_X(3)
  assert(select(1, cx:shape()) == 5 and cx:get(1, 1) == 4 and cx:get(5, 1) == 20)
  fails("Dataset:where: bad argument #1 'labels' (7 is not a class of 'numbered' (classes {0..3}))",
        ds.where, ds, { 1, 7 })
  fails("Dataset:where: bad argument #1 'labels' (empty list of labels)", ds.where, ds, {})
  fails("Dataset:by_label: bad argument #1 'c' (label expected, got table)", ds.by_label, ds, { 1 })
  fails("Dataset:class_X: bad argument #1 'labels' (9 is not a class of 'numbered' (classes {0..3}))",
        ds.class_X, ds, 9)

  -- split: sizes, disjoint, covering, reproducible
  local function ids(part)
    local t = {}
    for i = 1, part.n do t[#t + 1] = part.X:get(i, 1) end
    return t
  end
  local function check_partition(train, test, n)
    local seen = {}
    for _, v in ipairs(ids(train)) do assert(not seen[v]) seen[v] = "train" end
    for _, v in ipairs(ids(test)) do assert(not seen[v], "train and test overlap") seen[v] = "test" end
    for i = 1, n do assert(seen[i], "row missing from the split") end
    assert(train.n + test.n == n)
  end
  local big = numbered(103, 3)
  local tr, te = big:split(0.25, { seed = 5 })
  assert(te.n == 26 and tr.n == 77)
  check_partition(tr, te, 103)
  assert(tr.name == "numbered (train)" and te.name == "numbered (test)")
  local tr2, te2 = big:split(0.25, { seed = 5 })
  assert(same_list(ids(te), ids(te2)) and same_list(ids(tr), ids(tr2)), "same seed, same split")
  local _, te3 = big:split(0.25, { seed = 6 })
  assert(not same_list(ids(te), ids(te3)), "different seeds, different splits")
  local tr4, te4 = big:split(10)
  assert(te4.n == 10 and tr4.n == 93)
  check_partition(tr4, te4, 103)
  -- stratified: each class keeps its share (counts 35, 34, 34; 30 test rows)
  local trs, tes = big:split(30, { seed = 1, stratify = true })
  check_partition(trs, tes, 103)
  assert(same_list(tes.counts, { 11, 10, 9 }) or same_list(tes.counts, { 10, 10, 10 }))
  local sum = 0
  for k = 1, 3 do
    assert(math.abs(tes.counts[k] - 30 * big.counts[k] / 103) < 1)
    sum = sum + tes.counts[k]
  end
  assert(sum == 30)
  local dtr, dte = data.digits():split(0.2, { seed = 3, stratify = true })
  for k = 1, 10 do
    assert(math.abs(dte.counts[k] - 0.2 * dtr.counts[k] / 0.8) < 2)
  end
  assert(dte.n == 359 and dtr.n == 1438)
  local F2 = "Dataset:split: bad argument #1 'frac' "
  fails(F2 .. "(must be a fraction in (0, 1) or a test size in 1..102, got 103)", big.split, big, 103)
  fails(F2 .. "(must be a fraction in (0, 1) or a test size in 1..102, got 0)", big.split, big, 0)
  fails(F2 .. "(must be a fraction in (0, 1) or a test size in 1..102, got 2.5)", big.split, big, 2.5)
  fails(F2 .. "(number expected, got nil)", big.split, big)
  fails(F2 .. "(cannot split a dataset of 1 row)", big.split, big:subset { 1 }, 0.5)
  fails("Dataset:split: bad argument #2 'opts' (unknown option 'sead'; known: seed, stratify)",
        big.split, big, 0.5, { sead = 1 })
  fails("Dataset:split: bad argument #2 'opts' (option 'seed' must be an integer, got 1.5)",
        big.split, big, 0.5, { seed = 1.5 })

  local sh1, sh2 = big:shuffle(4), big:shuffle(4)
  assert(same_matrix(sh1.X, sh2.X) and not same_matrix(sh1.X, big.X))
  assert(same_list(sh1.counts, big.counts))
end

-- ---- synthetic generators ---------------------------------------------------

do
  fails("ot.data.moons: bad argument #1 'opts' (unknown option 'nosie'; known: n, noise, seed)",
        data.moons, { nosie = 0.1 })
  fails("ot.data.moons: bad argument #1 'opts' (option 'noise' must be >= 0, got -1)",
        data.moons, { noise = -1 })
  fails("ot.data.moons: bad argument #1 'opts' (option 'n' must be an integer, got string)",
        data.moons, { n = "10" })
  fails("ot.data.moons: bad argument #1 'opts' (table expected, got number)", data.moons, 5)

  local m1 = data.moons { n = 101, noise = 0.1, seed = 7 }
  local m2 = data.moons { n = 101, noise = 0.1, seed = 7 }
  local m3 = data.moons { n = 101, noise = 0.1, seed = 8 }
  assert(m1.n == 101 and m1.d == 2 and same_list(m1.counts, { 50, 51 }))
  assert(same_matrix(m1.X, m2.X) and same_list(m1:labels(), m2:labels()), "same seed, same data")
  assert(not same_matrix(m1.X, m3.X), "different seeds, different data")
  -- without noise, points lie on the two half circles
  local m0 = data.moons { n = 50, seed = 1 }
  for i = 1, 50 do
    local x, y = m0.X:get(i, 1), m0.X:get(i, 2)
    if m0.y:get(i, 1) == 0 then
      assert(math.abs(x * x + y * y - 1) < 1e-12 and y >= 0)
    else
      assert(math.abs((x - 1) ^ 2 + (y - 0.5) ^ 2 - 1) < 1e-12 and y <= 0.5)
    end
  end

  local r = data.rings { n = 90, radii = { 1, 2, 4 }, seed = 2 }
  assert(r.n == 90 and same_list(r.classes, { 0, 1, 2 }) and same_list(r.counts, { 30, 30, 30 }))
  local radii = { [0] = 1, 2, 4 }
  for i = 1, 90 do
    local x, y = r.X:get(i, 1), r.X:get(i, 2)
    assert(math.abs(math.sqrt(x * x + y * y) - radii[r.y:get(i, 1)]) < 1e-12)
  end
  local ra = data.rings { n = 40, noise = 0.05, seed = 3 }
  assert(same_matrix(ra.X, data.rings { n = 40, noise = 0.05, seed = 3 }.X))
  assert(not same_matrix(ra.X, data.rings { n = 40, noise = 0.05, seed = 4 }.X))
  fails("ot.data.rings: bad argument #1 'opts' (option 'radii': radii[2] must be a finite number "
        .. ">= 0, got -1)", data.rings, { radii = { 1, -1 } })
  fails("ot.data.rings: bad argument #1 'opts' (unknown option 'radius'; known: n, radii, noise, "
        .. "seed)", data.rings, { radius = 2 })

  -- Gaussian mixture: sample means within 5 standard errors of the means
  local n = 20000
  local g = data.gaussian_mixture {
    n = n, seed = 11, weights = { 1, 3 }, labels = { 4, 9 },
    means = { { 0, 0 }, { 5, -2 } },
    covs = { 1, { { 2, 0.8 }, { 0.8, 1 } } },
  }
  assert(g.n == n and g.d == 2 and same_list(g.classes, { 4, 9 }))
  assert(same_list(g.counts, { 5000, 15000 }))
  local want = { [4] = { { 0, 0 }, { 1, 1 } }, [9] = { { 5, -2 }, { 2, 1 } } } -- means, variances
  for _, c in ipairs({ 4, 9 }) do
    local Xc = g:class_X(c)
    local nc = select(1, Xc:shape())
    local m, v, cxy = { 0, 0 }, { 0, 0 }, 0
    for i = 1, nc do
      for j = 1, 2 do m[j] = m[j] + Xc:get(i, j) / nc end
    end
    for i = 1, nc do
      local a, b = Xc:get(i, 1) - m[1], Xc:get(i, 2) - m[2]
      v[1], v[2], cxy = v[1] + a * a / nc, v[2] + b * b / nc, cxy + a * b / nc
    end
    for j = 1, 2 do
      local se = math.sqrt(want[c][2][j] / nc)
      assert(math.abs(m[j] - want[c][1][j]) < 5 * se,
             string.format("class %d mean[%d] = %g, want %g +- %g", c, j, m[j], want[c][1][j], 5 * se))
      -- variance: standard error about var * sqrt(2 / n)
      assert(math.abs(v[j] - want[c][2][j]) < 5 * want[c][2][j] * math.sqrt(2 / nc))
    end
    local wantc = c == 9 and 0.8 or 0
    assert(math.abs(cxy - wantc) < 0.06, "covariance of class " .. c)
  end
  local g1 = data.gaussian_mixture { n = 50, means = ot.mat { { 0, 0, 0 }, { 1, 1, 1 } }, seed = 2 }
  local g2 = data.gaussian_mixture { n = 50, means = { ot.mat { 0, 0, 0 }, { 1, 1, 1 } }, seed = 2 }
  local g3 = data.gaussian_mixture { n = 50, means = { { 0, 0, 0 }, { 1, 1, 1 } }, seed = 3 }
  assert(g1.d == 3 and same_matrix(g1.X, g2.X) and not same_matrix(g1.X, g3.X))
  assert(same_list(g1.classes, { 0, 1 }) and same_list(g1.counts, { 25, 25 }))
  assert(tostring(g1) == "Dataset 'gaussian mixture': 50 x 3, 2 classes {0, 1}")
  local F = "ot.data.gaussian_mixture: bad argument #1 'opts' "
  fails(F .. "(option 'means' is required)", data.gaussian_mixture, { n = 5 })
  fails(F .. "(means[2] has dimension 1, means[1] has 2)", data.gaussian_mixture,
        { means = { { 0, 0 }, { 1 } } })
  fails(F .. "(covs[2] is not positive definite (pivot 2 is -3))", data.gaussian_mixture,
        { means = { { 0, 0 }, { 1, 1 } }, covs = { 1, { { 1, 2 }, { 2, 1 } } } })
  fails(F .. "(covs[1] is not symmetric: [1][2] = 0.5, [2][1] = 0)", data.gaussian_mixture,
        { means = { { 0, 0 }, { 1, 1 } }, covs = { { { 1, 0.5 }, { 0, 1 } }, 1 } })
  fails(F .. "(option 'covs' must have one entry per mean (2), got 3)", data.gaussian_mixture,
        { means = { { 0, 0 }, { 1, 1 } }, covs = { 1, 1, 1 } })
  fails(F .. "(option 'covs' must be a finite variance >= 0, got -1)", data.gaussian_mixture,
        { means = { { 0 } }, covs = -1 })
  fails(F .. "(weights[2] must be a finite number >= 0, got -1)", data.gaussian_mixture,
        { means = { { 0 }, { 1 } }, weights = { 1, -1 } })
  fails(F .. "(option 'weights' sums to 0)", data.gaussian_mixture,
        { means = { { 0 }, { 1 } }, weights = { 0, 0 } })
  fails(F .. "(labels[2] = 0 repeats labels[1])", data.gaussian_mixture,
        { means = { { 0 }, { 1 } }, labels = { 0, 0 } })
  fails(F .. "(labels[1] must be an integer in 0..2^53, got -1)", data.gaussian_mixture,
        { means = { { 0 }, { 1 } }, labels = { -1, 0 } })
  fails(F .. "(means[1][2] must be a finite number, got nan)", data.gaussian_mixture,
        { means = { { 0, 0 / 0 } } })
  fails(F .. "(unknown option 'mean'; known: n, means, covs, weights, labels, seed)",
        data.gaussian_mixture, { mean = { { 0 } } })
  -- a shared covariance matrix, and a zero variance (a point mass)
  local pm = data.gaussian_mixture { n = 10, means = { { 3, 4 } }, covs = 0, seed = 1 }
  assert(same_list(flat(pm.X), { 3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4 }))
  local sh = data.gaussian_mixture { n = 10, means = { { 0, 0 }, { 1, 1 } },
                                     covs = ot.mat { { 1, 0 }, { 0, 2 } }, seed = 4 }
  local sh2 = data.gaussian_mixture { n = 10, means = { { 0, 0 }, { 1, 1 } },
                                      covs = { { 1, 0 }, { 0, 2 } }, seed = 4 }
  local sh3 = data.gaussian_mixture { n = 10, means = { { 0, 0 }, { 1, 1 } },
                                      covs = { { { 1, 0 }, { 0, 2 } }, ot.mat { { 1, 0 }, { 0, 2 } } },
                                      seed = 4 }
  assert(same_matrix(sh.X, sh2.X) and same_matrix(sh.X, sh3.X), "shared covariance forms agree")
end

print("OK")
