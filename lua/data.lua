-- data.lua: the module ot.data -- labelled datasets, the bundled loaders and
-- seeded synthetic generators.
--
-- A Dataset is a table {X, y, classes, counts, n, d, name, ...} with methods
-- (subset, where, by_label, class_X, split, shuffle, labels).  It is built by
-- ot.data.dataset(X, y [, name]), which validates everything once (finite
-- features, integer labels in 0..2^53, matching lengths, no empty data) so
-- that kernels can trust what they get.  Fields are meant to be read, not
-- assigned: the methods work from the labels as validated at construction.
--
-- Errors follow the C bindings:
--   ot.data.moons: bad argument #1 'opts' (unknown option 'nosie'; known: n, noise, seed)

local ot = require("ot")

local M = {}

local floor, huge, type, tointeger = math.floor, math.huge, type, math.tointeger
local fmt, concat = string.format, table.concat

local TWO53 = 2 ^ 53                -- largest label: integers above it are not exact doubles

-- ---- errors and option tables -----------------------------------------------

-- Raise "<fname>: bad argument #<arg> '<name>' (<reason>)" without a position
-- prefix, exactly as bind_argerror does for the C functions.
local function argerror(fname, arg, name, reason, ...)
  if select("#", ...) > 0 then reason = fmt(reason, ...) end
  error(fmt("%s: bad argument #%d '%s' (%s)", fname, arg, name, reason), 0)
end

-- A number for a message: integers without a fraction (9007199254740994, not
-- 9.007199254741e+15), others in the shortest form that reads back exactly.
local function num(v)
  if v ~= v then return "nan" end
  if v == huge then return "inf" end
  if v == -huge then return "-inf" end
  if math.type(v) == "integer" then return tostring(v) end
  if v == floor(v) and math.abs(v) < 2 ^ 63 then return fmt("%.0f", v) end
  for p = 15, 16 do
    local s = fmt("%." .. p .. "g", v)
    if tonumber(s) == v then return s end
  end
  return fmt("%.17g", v)
end

-- Any value for a message: numbers as num() writes them, others by type.
local function show(v)
  if type(v) == "number" then return num(v) end
  return type(v)
end

-- Check an options table: nil or a table whose keys are all in `known` (a
-- list, in the order it is printed).  Returns the table (or {} for nil).
local function checkopts(fname, arg, opts, known)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    argerror(fname, arg, "opts", "table expected, got %s", type(opts))
  end
  for k in pairs(opts) do
    local ok = false
    for _, name in ipairs(known) do
      if k == name then ok = true break end
    end
    if not ok then
      argerror(fname, arg, "opts", "unknown option '%s'; known: %s",
               type(k) == "string" and k or type(k), #known > 0 and concat(known, ", ") or "none")
    end
  end
  return opts
end

-- opts[key] as an integer >= lo (default def when absent).
local function optint(fname, arg, opts, key, def, lo)
  local v = opts[key]
  if v == nil then return def end
  if type(v) ~= "number" then
    argerror(fname, arg, "opts", "option '%s' must be an integer, got %s", key, type(v))
  end
  local i = tointeger(v)
  if not i then
    argerror(fname, arg, "opts", "option '%s' must be an integer, got %s", key, num(v))
  end
  if lo and i < lo then
    argerror(fname, arg, "opts", "option '%s' must be >= %d, got %d", key, lo, i)
  end
  return i
end

-- opts[key] as a finite number >= lo (default def when absent).
local function optnum(fname, arg, opts, key, def, lo)
  local v = opts[key]
  if v == nil then return def end
  if type(v) ~= "number" then
    argerror(fname, arg, "opts", "option '%s' must be a number, got %s", key, type(v))
  end
  if v ~= v or v == huge or v == -huge then
    argerror(fname, arg, "opts", "option '%s' must be finite, got %s", key, num(v))
  end
  if lo and v < lo then
    argerror(fname, arg, "opts", "option '%s' must be >= %s, got %s", key, num(lo), num(v))
  end
  return v
end

-- opts[key] as a boolean (default def when absent).
local function optbool(fname, arg, opts, key, def)
  local v = opts[key]
  if v == nil then return def end
  if type(v) ~= "boolean" then
    argerror(fname, arg, "opts", "option '%s' must be a boolean, got %s", key, type(v))
  end
  return v
end

-- opts[key] as one of the strings in `choices` (default def when absent).
local function optchoice(fname, arg, opts, key, def, choices)
  local v = opts[key]
  if v == nil then return def end
  if type(v) ~= "string" then
    argerror(fname, arg, "opts", "option '%s' must be a string, got %s", key, type(v))
  end
  for _, c in ipairs(choices) do
    if v == c then return v end
  end
  argerror(fname, arg, "opts", "option '%s' must be one of %s, got '%s'", key,
           '"' .. concat(choices, '", "') .. '"', v)
end

-- Reseed the session generator when opts.seed is given.
local function optseed(fname, arg, opts)
  local s = optint(fname, arg, opts, "seed", nil)
  if s then ot.seed(s) end
  return s
end

-- ---- matrices -------------------------------------------------------------

local ismat = ot.ismat

-- The values of a vector or an n x 1 matrix as a flat Lua table.
local function column_values(v)
  local t = v:totable()
  if type(t[1]) == "table" then   -- an n x 1 matrix gives a table of rows
    for i = 1, #t do t[i] = t[i][1] end
  end
  return t
end

-- The first non-finite entry of X, row by row, as i, j, value; nil when every
-- entry is finite.
local function first_nonfinite(X)
  local ok, i, j = X:all_finite()
  if ok then return nil end
  return i, j, X:get(i, j)
end

-- ---- labels ---------------------------------------------------------------

-- Validate labels y (a Lua table, a vector or an n x 1 matrix) against n rows.
-- Returns a Lua table of n integers; raises a "bad argument" error naming the
-- first bad entry otherwise.
local function check_labels(fname, arg, y, n)
  local vals
  if type(y) == "table" and not ismat(y) then
    local len = #y
    if len ~= n then
      argerror(fname, arg, "y", "has %d labels, X has %d rows", len, n)
    end
    vals = y
  elseif ismat(y) then
    local r, c = y:shape()
    if c ~= 1 then
      argerror(fname, arg, "y", "must be a vector or an n x 1 matrix, got %d x %d", r, c)
    end
    if r ~= n then
      argerror(fname, arg, "y", "has %d labels, X has %d rows", r, n)
    end
    vals = column_values(y)
  else
    argerror(fname, arg, "y", "table or vector of labels expected, got %s", type(y))
  end
  local lab = {}
  for i = 1, n do
    local v = vals[i]
    if type(v) ~= "number" then
      argerror(fname, arg, "y", "y[%d] is %s, not a number", i, type(v))
    end
    if v ~= v then
      argerror(fname, arg, "y", "y[%d] is nan; labels must be integers in 0..2^53", i)
    end
    if v < 0 then
      argerror(fname, arg, "y", "y[%d] = %s is negative; labels must be integers in 0..2^53", i, num(v))
    end
    if v > TWO53 then
      argerror(fname, arg, "y", "y[%d] = %s is beyond 2^53; labels must be integers in 0..2^53",
               i, num(v))
    end
    local k = tointeger(v)
    if not k then
      argerror(fname, arg, "y", "y[%d] = %s is not an integer", i, num(v))
    end
    lab[i] = k
  end
  return lab
end

-- The sorted distinct labels of lab and their counts (aligned lists).
local function class_list(lab)
  local cnt, classes = {}, {}
  for i = 1, #lab do
    local c = lab[i]
    if cnt[c] then
      cnt[c] = cnt[c] + 1
    else
      cnt[c] = 1
      classes[#classes + 1] = c
    end
  end
  table.sort(classes)
  local counts = {}
  for k, c in ipairs(classes) do counts[k] = cnt[c] end
  return classes, counts
end

-- "{0..9}", "{0, 3, 7}", "{0, 1, 2, 3, 4, ..., 99}".
local function classes_text(classes)
  local k = #classes
  if k >= 3 and classes[k] - classes[1] == k - 1 then
    return fmt("{%d..%d}", classes[1], classes[k])
  end
  local parts = {}
  if k <= 8 then
    for i = 1, k do parts[i] = tostring(classes[i]) end
  else
    for i = 1, 6 do parts[i] = tostring(classes[i]) end
    parts[7] = "..."
    parts[8] = tostring(classes[k])
  end
  return "{" .. concat(parts, ", ") .. "}"
end

-- ---- the Dataset type -----------------------------------------------------

local Dataset = {}          -- methods
local meta = { __index = Dataset, __name = "ot.data.Dataset" }
local labels_of = setmetatable({}, { __mode = "k" })  -- dataset -> its validated label table

-- Fields carried over from a dataset to the subsets made from it.
local CARRIED = { "label_names", "feature_names", "image_shape", "source", "path" }

-- Build a dataset from trusted parts: X (n x d, finite, n, d >= 1) and lab (a
-- table of n validated integer labels).  `from` (optional) lends its carried
-- fields.
local function build(X, lab, name, from, extra)
  local n, d = X:shape()
  local classes, counts = class_list(lab)
  local ds = setmetatable({
    X = X, y = ot.mat(lab), classes = classes, counts = counts,
    n = n, d = d, name = name,
  }, meta)
  if from then
    for _, k in ipairs(CARRIED) do ds[k] = from[k] end
  end
  if extra then
    for k, v in pairs(extra) do ds[k] = v end
  end
  labels_of[ds] = lab
  return ds
end

meta.__tostring = function(ds)
  local k = #ds.classes
  return fmt("Dataset '%s': %d x %d, %d %s %s", ds.name, ds.n, ds.d, k,
             k == 1 and "class" or "classes", classes_text(ds.classes))
end

meta.__len = function(ds) return ds.n end

-- ot.data.dataset(X, y [, name]): validate and wrap.
function M.dataset(X, y, name)
  local fname = "ot.data.dataset"
  if type(X) == "table" and not ismat(X) then
    local ok, m = pcall(ot.mat, X)
    if not ok then
      local why = tostring(m)
      argerror(fname, 1, "X", "cannot convert the table to a matrix: %s",
               why:match("^ot%.mat: bad argument #1 't' %((.*)%)$") or why)
    end
    X = m
  elseif not ismat(X) then
    argerror(fname, 1, "X", "matrix expected, got %s", type(X))
  end
  local n, d = X:shape()
  if n == 0 or d == 0 then
    argerror(fname, 1, "X", "empty dataset: X is %d x %d", n, d)
  end
  if y == nil then
    argerror(fname, 2, "y", "labels expected, got nil")
  end
  local lab = check_labels(fname, 2, y, n)
  if name ~= nil and type(name) ~= "string" then
    argerror(fname, 3, "name", "string expected, got %s", type(name))
  end
  local i, j, v = first_nonfinite(X)
  if i then
    argerror(fname, 1, "X", "X[%d][%d] = %s is not finite", i, j, num(v))
  end
  return build(X, lab, name or "unnamed")
end

-- Check that self is a Dataset (a method called with '.' instead of ':').
local function checkself(fname, ds)
  if getmetatable(ds) ~= meta then
    error(fmt("%s: bad self (Dataset expected, got %s; call it with ':')", fname,
              type(ds)), 0)
  end
  return labels_of[ds]
end

-- A table of 1-based row indices from idx (a table or a vector), checked
-- against 1..n.
local function check_indices(fname, arg, idx, n)
  local vals
  if type(idx) == "table" and not ismat(idx) then
    vals = idx
  elseif ismat(idx) then
    local r, c = idx:shape()
    if c ~= 1 then
      argerror(fname, arg, "idx", "must be a vector or an n x 1 matrix, got %d x %d", r, c)
    end
    vals = column_values(idx)
  else
    argerror(fname, arg, "idx", "table or vector of row indices expected, got %s", type(idx))
  end
  local m = #vals
  if m == 0 then argerror(fname, arg, "idx", "empty selection: a dataset needs rows") end
  local out = {}
  for k = 1, m do
    local v = vals[k]
    if type(v) ~= "number" then
      argerror(fname, arg, "idx", "idx[%d] is %s, not a number", k, type(v))
    end
    local i = tointeger(v)
    if not i then argerror(fname, arg, "idx", "idx[%d] = %s is not an integer", k, num(v)) end
    if i < 1 or i > n then
      argerror(fname, arg, "idx", "idx[%d] = %d is out of range 1..%d", k, i, n)
    end
    out[k] = i
  end
  return out
end

-- The dataset made of rows idx (trusted indices) of ds.
local function take(ds, lab, idx, name)
  local sub = {}
  for k = 1, #idx do sub[k] = lab[idx[k]] end
  return build(ds.X:select_rows(idx), sub, name, ds)
end

-- Dataset:subset(idx [, name]): rows idx (1-based; repeats allowed).
function Dataset:subset(idx, name)
  local fname = "Dataset:subset"
  local lab = checkself(fname, self)
  local rows = check_indices(fname, 1, idx, self.n)
  if name ~= nil and type(name) ~= "string" then
    argerror(fname, 2, "name", "string expected, got %s", type(name))
  end
  return take(self, lab, rows, name or (self.name .. " (subset)"))
end

-- A set {label = true} from one label or a table of labels, each of which
-- must be a class of ds.
local function label_set(fname, arg, ds, labels)
  local list = type(labels) == "table" and labels or { labels }
  if type(labels) ~= "table" and type(labels) ~= "number" then
    argerror(fname, arg, "labels", "label or table of labels expected, got %s", type(labels))
  end
  if #list == 0 then argerror(fname, arg, "labels", "empty list of labels") end
  local isclass = {}
  for _, c in ipairs(ds.classes) do isclass[c] = true end
  local set = {}
  for k, v in ipairs(list) do
    local c = type(v) == "number" and tointeger(v)
    if not c then
      argerror(fname, arg, "labels", "labels[%d] = %s is not an integer label", k, show(v))
    end
    if not isclass[c] then
      argerror(fname, arg, "labels", "%d is not a class of '%s' (classes %s)", c, ds.name,
               classes_text(ds.classes))
    end
    set[c] = true
  end
  return set
end

-- The rows (in order) whose label is in set.
local function rows_in(lab, set)
  local idx = {}
  for i = 1, #lab do
    if set[lab[i]] then idx[#idx + 1] = i end
  end
  return idx
end

-- Dataset:where(labels): the rows whose label is one of labels.
function Dataset:where(labels)
  local fname = "Dataset:where"
  local lab = checkself(fname, self)
  local set = label_set(fname, 1, self, labels)
  local names = {}
  for _, c in ipairs(self.classes) do
    if set[c] then names[#names + 1] = tostring(c) end
  end
  return take(self, lab, rows_in(lab, set), fmt("%s (labels %s)", self.name, concat(names, ",")))
end

-- Dataset:by_label(c): the rows of class c.
function Dataset:by_label(c)
  local fname = "Dataset:by_label"
  local lab = checkself(fname, self)
  if type(c) ~= "number" then argerror(fname, 1, "c", "label expected, got %s", type(c)) end
  local set = label_set(fname, 1, self, c)
  return take(self, lab, rows_in(lab, set), fmt("%s (label %s)", self.name, num(c)))
end

-- Dataset:class_X(c): the feature matrix of class c.
function Dataset:class_X(c)
  local fname = "Dataset:class_X"
  local lab = checkself(fname, self)
  if type(c) ~= "number" then argerror(fname, 1, "c", "label expected, got %s", type(c)) end
  local set = label_set(fname, 1, self, c)
  return self.X:select_rows(rows_in(lab, set))
end

-- Dataset:labels(): a fresh Lua table of the n labels.
function Dataset:labels()
  local lab = checkself("Dataset:labels", self)
  return table.move(lab, 1, #lab, 1, {})
end

-- Dataset:shuffle([seed]): the rows in a random order.
function Dataset:shuffle(seed)
  local fname = "Dataset:shuffle"
  local lab = checkself(fname, self)
  if seed ~= nil then
    local s = type(seed) == "number" and tointeger(seed)
    if not s then argerror(fname, 1, "seed", "integer expected, got %s", show(seed)) end
    ot.seed(s)
  end
  return take(self, lab, ot.randperm(self.n), self.name .. " (shuffled)")
end

-- Split quotas: ntest spread over classes in proportion to their counts,
-- floors first, then the largest remainders (ties to the earlier class).
local function quotas(counts, n, ntest)
  local q, rem, total = {}, {}, 0
  for k, c in ipairs(counts) do
    local exact = ntest * c / n
    q[k] = floor(exact)
    rem[k] = exact - q[k]
    total = total + q[k]
  end
  local order = {}
  for k = 1, #counts do order[k] = k end
  table.sort(order, function(a, b)
    if rem[a] ~= rem[b] then return rem[a] > rem[b] end
    return a < b
  end)
  for k = 1, ntest - total do q[order[k]] = q[order[k]] + 1 end
  return q
end

-- Dataset:split(frac_or_ntest [, opts]) -> train, test.
function Dataset:split(frac, opts)
  local fname = "Dataset:split"
  local lab = checkself(fname, self)
  opts = checkopts(fname, 2, opts, { "seed", "stratify" })
  local n = self.n
  if n < 2 then
    argerror(fname, 1, "frac", "cannot split a dataset of %d row", n)
  end
  if type(frac) ~= "number" then
    argerror(fname, 1, "frac", "number expected, got %s", type(frac))
  end
  local ntest
  if frac > 0 and frac < 1 then
    ntest = floor(frac * n + 0.5)
    if ntest < 1 then ntest = 1 end
    if ntest > n - 1 then ntest = n - 1 end
  else
    ntest = tointeger(frac)
    if not ntest or ntest < 1 or ntest > n - 1 then
      argerror(fname, 1, "frac", "must be a fraction in (0, 1) or a test size in 1..%d, got %s",
               n - 1, num(frac))
    end
  end
  local stratify = optbool(fname, 2, opts, "stratify", false)
  optseed(fname, 2, opts)
  local perm = ot.randperm(n)
  local test, train = {}, {}
  if stratify then
    -- walk one random permutation and fill each class's quota first: a
    -- uniform random subset of the right size within every class
    local q = quotas(self.counts, n, ntest)
    local want = {}
    for k, c in ipairs(self.classes) do want[c] = q[k] end
    for _, i in ipairs(perm) do
      local c = lab[i]
      if want[c] > 0 then
        want[c] = want[c] - 1
        test[#test + 1] = i
      else
        train[#train + 1] = i
      end
    end
  else
    for k, i in ipairs(perm) do
      if k <= ntest then test[#test + 1] = i else train[#train + 1] = i end
    end
  end
  table.sort(train)
  table.sort(test)
  return take(self, lab, train, self.name .. " (train)"),
         take(self, lab, test, self.name .. " (test)")
end

M.Dataset = Dataset

-- ---- bundled and packaged datasets ----------------------------------------

-- Path of a bundled file under share/data.
local function bundled(fname, rel)
  local root = rawget(_G, "OTLAB_ROOT")
  if type(root) ~= "string" then
    error(fname .. ": OTLAB_ROOT is not set; cannot find the bundled datasets", 0)
  end
  return root .. "/share/data/" .. rel
end

local function readable(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- ot.load with the caller's name on errors.
local function load(fname, path, opts)
  local ok, X, y = pcall(ot.load, path, opts)
  if not ok then error(fmt("%s: cannot load %s: %s", fname, path, tostring(X)), 0) end
  if X == nil then error(fmt("%s: cannot load %s: %s", fname, path, tostring(y)), 0) end
  return X, y
end

-- Checked load of a labelled CSV whose label is its last column.
local function load_csv(fname, file, ncol, header)
  local path = bundled(fname, file)
  local X, y = load(fname, path, { header = header, label_col = ncol })
  local lab = check_labels(fname, 1, y, (X:shape()))
  return X, lab, path
end

-- ot.data.digits(): UCI optical digits, 1797 x 64, pixels 0..16, labels 0..9.
function M.digits(...)
  checkopts("ot.data.digits", 1, (...), {})
  local X, lab, path = load_csv("ot.data.digits", "digits.csv.gz", 65, false)
  return build(X, lab, "digits", nil, { image_shape = { 8, 8 }, source = "bundled", path = path })
end

-- ot.data.iris(): Fisher's iris, 150 x 4, classes 0..2.
function M.iris(...)
  checkopts("ot.data.iris", 1, (...), {})
  local X, lab, path = load_csv("ot.data.iris", "iris.csv", 5, true)
  return build(X, lab, "iris", nil, {
    feature_names = { "sepal_length", "sepal_width", "petal_length", "petal_width" },
    label_names = { [0] = "setosa", "versicolor", "virginica" },
    source = "bundled", path = path,
  })
end

-- ot.data.wine(): UCI wine, 178 x 13, classes 0..2.
function M.wine(...)
  checkopts("ot.data.wine", 1, (...), {})
  local X, lab, path = load_csv("ot.data.wine", "wine.csv", 14, true)
  return build(X, lab, "wine", nil, {
    feature_names = { "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium",
                      "total_phenols", "flavanoids", "nonflavanoid_phenols", "proanthocyanins",
                      "color_intensity", "hue", "od280_od315_of_diluted_wines", "proline" },
    label_names = { [0] = "class_0", "class_1", "class_2" },
    source = "bundled", path = path,
  })
end

local FASHION_DEBIAN = "/usr/share/datasets/fashion-mnist"
local FASHION_COUNT = {
  debian = { train = 60000, test = 10000 },
  bundled = { train = 1000, test = 500 },
}
local FASHION_NAMES = { [0] = "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }

-- The 784 x s*s block-averaging matrix P: (X P)[i, b] is the mean of the
-- f x f block b of image i, f = 28 / s.
local function pooling(s)
  local f = 28 // s
  local P = ot.zeros(784, s * s)
  local w = 1 / (f * f)
  for r = 0, 27 do
    for c = 0, 27 do
      P:set(r * 28 + c + 1, (r // f) * s + (c // f) + 1, w)
    end
  end
  return P
end

-- ot.data.fashion_mnist{split=, n=, size=, normalize=, source=}
function M.fashion_mnist(opts)
  local fname = "ot.data.fashion_mnist"
  opts = checkopts(fname, 1, opts, { "split", "n", "size", "normalize", "source" })
  local split = optchoice(fname, 1, opts, "split", "train", { "train", "test" })
  local size = optint(fname, 1, opts, "size", 28)
  if size ~= 28 and size ~= 14 and size ~= 7 then
    argerror(fname, 1, "opts", "option 'size' must be 28, 14 or 7, got %d", size)
  end
  local normalize = optbool(fname, 1, opts, "normalize", false)
  local source = optchoice(fname, 1, opts, "source", "auto", { "auto", "debian", "bundled" })
  local n = optint(fname, 1, opts, "n", nil, 1)

  local stem = split == "train" and "train" or "t10k"
  local deb_images = FASHION_DEBIAN .. "/" .. stem .. "-images-idx3-ubyte.gz"
  local deb_labels = FASHION_DEBIAN .. "/" .. stem .. "-labels-idx1-ubyte.gz"
  local have_deb = readable(deb_images) and readable(deb_labels)
  if source == "debian" and not have_deb then
    error(fmt("%s: %s not found (install the Debian package dataset-fashion-mnist, or use "
              .. "source = \"bundled\")", fname, deb_images), 0)
  end
  if source == "auto" then source = have_deb and "debian" or "bundled" end
  local images, labels
  if source == "debian" then
    images, labels = deb_images, deb_labels
  else
    images = bundled(fname, "fashion-mnist/" .. stem .. "-images-idx3-ubyte.gz")
    labels = bundled(fname, "fashion-mnist/" .. stem .. "-labels-idx1-ubyte.gz")
  end
  local avail = FASHION_COUNT[source][split]
  if n and n > avail then
    argerror(fname, 1, "opts", "option 'n' = %d exceeds the %d %s images of the %s%s", n,
             avail, split, source == "debian" and "Debian package" or "bundled subset",
             source == "bundled" and " (install dataset-fashion-mnist for all of them)" or "")
  end
  n = n or avail

  local X = load(fname, images, { limit = n })
  local y = load(fname, labels, { limit = n })
  local rows = X:shape()
  if rows ~= n then
    error(fmt("%s: %s holds %d images, %d requested", fname, images, rows, n), 0)
  end
  local lab = check_labels(fname, 1, y, n)
  if size ~= 28 then X = X:dot(pooling(size)) end
  if normalize then X = X / 255 end

  local name = "fashion-mnist " .. split
  if source == "bundled" then name = name .. " (bundled subset)" end
  return build(X, lab, name, nil, {
    label_names = FASHION_NAMES, image_shape = { size, size },
    source = source, path = images,
  })
end

-- ---- synthetic data -------------------------------------------------------

-- Split n into #w counts proportional to weights w (largest remainder).
local function split_counts(n, w)
  local total = 0
  for _, v in ipairs(w) do total = total + v end
  local props = {}
  for k, v in ipairs(w) do props[k] = v / total end
  return quotas(props, 1, n)
end

-- A Lua table of rows and labels in a random order, as a dataset.
local function shuffled_dataset(rows, lab, name, extra)
  local perm = ot.randperm(#rows)
  local r2, l2 = {}, {}
  for k, i in ipairs(perm) do
    r2[k] = rows[i]
    l2[k] = lab[i]
  end
  return build(ot.mat(r2), l2, name, nil, extra)
end

-- ot.data.moons{n=, noise=, seed=}: two interleaving half circles.
function M.moons(opts)
  local fname = "ot.data.moons"
  opts = checkopts(fname, 1, opts, { "n", "noise", "seed" })
  local n = optint(fname, 1, opts, "n", 200, 2)
  local noise = optnum(fname, 1, opts, "noise", 0, 0)
  optseed(fname, 1, opts)
  local nout = n // 2
  local t = ot.rand(n)
  local z = noise > 0 and ot.randn(n, 2) or nil
  local rows, lab = {}, {}
  for i = 1, n do
    local a = math.pi * t:get(i, 1)
    local x, y
    if i <= nout then
      x, y, lab[i] = math.cos(a), math.sin(a), 0
    else
      x, y, lab[i] = 1 - math.cos(a), 0.5 - math.sin(a), 1
    end
    if z then x, y = x + noise * z:get(i, 1), y + noise * z:get(i, 2) end
    rows[i] = { x, y }
  end
  return shuffled_dataset(rows, lab, "moons", { source = "synthetic" })
end

-- ot.data.rings{n=, radii=, noise=, seed=}: concentric circles, one class each.
function M.rings(opts)
  local fname = "ot.data.rings"
  opts = checkopts(fname, 1, opts, { "n", "radii", "noise", "seed" })
  local radii = opts.radii or { 1, 2 }
  if type(radii) ~= "table" or #radii == 0 then
    argerror(fname, 1, "opts", "option 'radii' must be a non-empty table of numbers")
  end
  for k, r in ipairs(radii) do
    if type(r) ~= "number" or r ~= r or r < 0 or r == huge then
      argerror(fname, 1, "opts", "option 'radii': radii[%d] must be a finite number >= 0, got %s",
               k, show(r))
    end
  end
  local K = #radii
  local n = optint(fname, 1, opts, "n", 200, K)
  local noise = optnum(fname, 1, opts, "noise", 0, 0)
  optseed(fname, 1, opts)
  local w = {}
  for k = 1, K do w[k] = 1 end
  local counts = split_counts(n, w)
  local t = ot.rand(n)
  local z = noise > 0 and ot.randn(n, 2) or nil
  local rows, lab, i = {}, {}, 0
  for k = 1, K do
    for _ = 1, counts[k] do
      i = i + 1
      local a = 2 * math.pi * t:get(i, 1)
      local x, y = radii[k] * math.cos(a), radii[k] * math.sin(a)
      if z then x, y = x + noise * z:get(i, 1), y + noise * z:get(i, 2) end
      rows[i] = { x, y }
      lab[i] = k - 1
    end
  end
  return shuffled_dataset(rows, lab, "rings", { source = "synthetic" })
end

-- A point given as a table of numbers or a vector, as a Lua table of d numbers.
local function point(fname, what, p)
  local t
  if type(p) == "table" and not ismat(p) then
    t = p
  elseif ismat(p) then
    local r, c = p:shape()
    t = {}
    if c == 1 then
      for i = 1, r do t[i] = p:get(i, 1) end
    elseif r == 1 then
      for j = 1, c do t[j] = p:get(1, j) end
    else
      argerror(fname, 1, "opts", "%s must be a vector, got a %d x %d matrix", what, r, c)
    end
  else
    argerror(fname, 1, "opts", "%s must be a table of numbers or a vector, got %s", what, type(p))
  end
  for j = 1, #t do
    local v = t[j]
    if type(v) ~= "number" or v ~= v or v == huge or v == -huge then
      argerror(fname, 1, "opts", "%s[%d] must be a finite number, got %s", what, j, show(v))
    end
  end
  return t
end

-- Means of a mixture: a table of K points or a K x d matrix -> list of tables.
local function mixture_means(fname, means)
  if means == nil then argerror(fname, 1, "opts", "option 'means' is required") end
  local list = {}
  if ismat(means) then
    local K, d = means:shape()
    for k = 1, K do
      local t = {}
      for j = 1, d do t[j] = means:get(k, j) end
      list[k] = point(fname, fmt("means[%d]", k), t)
    end
  elseif type(means) == "table" then
    for k = 1, #means do list[k] = point(fname, fmt("means[%d]", k), means[k]) end
  else
    argerror(fname, 1, "opts", "option 'means' must be a table of points or a K x d matrix, got %s",
             type(means))
  end
  if #list == 0 then argerror(fname, 1, "opts", "option 'means' is empty") end
  local d = #list[1]
  if d == 0 then argerror(fname, 1, "opts", "means[1] is empty (dimension 0)") end
  for k = 2, #list do
    if #list[k] ~= d then
      argerror(fname, 1, "opts", "means[%d] has dimension %d, means[1] has %d", k, #list[k], d)
    end
  end
  return list, d
end

-- Lower Cholesky factor of the d x d table S (rows), or nil, row, pivot when
-- S is not positive definite.  d is small (the dimension of a mixture).
local function cholesky(S, d)
  local L = {}
  for i = 1, d do L[i] = {} for j = 1, d do L[i][j] = 0 end end
  for j = 1, d do
    local s = S[j][j]
    for k = 1, j - 1 do s = s - L[j][k] * L[j][k] end
    if not (s > 0) then return nil, j, s end
    local ljj = math.sqrt(s)
    L[j][j] = ljj
    for i = j + 1, d do
      local t = S[i][j]
      for k = 1, j - 1 do t = t - L[i][k] * L[j][k] end
      L[i][j] = t / ljj
    end
  end
  return L
end

-- One covariance (a variance >= 0 or a d x d matrix / table of rows) as the
-- transposed Cholesky factor L^T (a d x d matrix), so that Z L^T has rows
-- distributed as N(0, S).
local function cov_factor(fname, what, S, d)
  if type(S) == "number" then
    if S ~= S or S < 0 or S == huge then
      argerror(fname, 1, "opts", "%s must be a finite variance >= 0, got %s", what, num(S))
    end
    local Lt = ot.zeros(d, d)
    for i = 1, d do Lt:set(i, i, math.sqrt(S)) end
    return Lt
  end
  local rows = {}
  if ismat(S) then
    local r, c = S:shape()
    if r ~= d or c ~= d then
      argerror(fname, 1, "opts", "%s must be %d x %d, got %d x %d", what, d, d, r, c)
    end
    for i = 1, d do
      rows[i] = {}
      for j = 1, d do rows[i][j] = S:get(i, j) end
    end
  elseif type(S) == "table" then
    if #S ~= d then argerror(fname, 1, "opts", "%s must have %d rows, got %d", what, d, #S) end
    for i = 1, d do
      if type(S[i]) ~= "table" or #S[i] ~= d then
        argerror(fname, 1, "opts", "%s row %d must be a table of %d numbers", what, i, d)
      end
      rows[i] = S[i]
    end
  else
    argerror(fname, 1, "opts", "%s must be a variance or a %d x %d matrix, got %s", what, d, d,
             type(S))
  end
  for i = 1, d do
    for j = 1, d do
      local v = rows[i][j]
      if type(v) ~= "number" or v ~= v or v == huge or v == -huge then
        argerror(fname, 1, "opts", "%s[%d][%d] must be a finite number, got %s", what, i, j,
                 show(v))
      end
    end
  end
  for i = 1, d do
    for j = i + 1, d do
      local a, b = rows[i][j], rows[j][i]
      if math.abs(a - b) > 1e-12 * math.max(1, math.abs(a), math.abs(b)) then
        argerror(fname, 1, "opts", "%s is not symmetric: [%d][%d] = %s, [%d][%d] = %s", what,
                 i, j, num(a), j, i, num(b))
      end
    end
  end
  local L, row, piv = cholesky(rows, d)
  if not L then
    argerror(fname, 1, "opts", "%s is not positive definite (pivot %d is %s)", what, row, num(piv))
  end
  local Lt = ot.zeros(d, d)
  for i = 1, d do
    for j = 1, i do Lt:set(j, i, L[i][j]) end
  end
  return Lt
end

-- ot.data.gaussian_mixture{n=, means=, covs=, weights=, labels=, seed=}
function M.gaussian_mixture(opts)
  local fname = "ot.data.gaussian_mixture"
  opts = checkopts(fname, 1, opts, { "n", "means", "covs", "weights", "labels", "seed" })
  local means, d = mixture_means(fname, opts.means)
  local K = #means
  local n = optint(fname, 1, opts, "n", 200, 1)

  -- covariances: one scalar for all, or a list of K scalars / matrices
  local covs = opts.covs
  if covs == nil then covs = 1 end
  local factors = {}
  -- a table of rows ({{1, 0}, {0, 1}}) is one matrix shared by all components
  local rows_table = type(covs) == "table" and not ismat(covs) and type(covs[1]) == "table"
                     and not ismat(covs[1]) and type(covs[1][1]) == "number"
  if type(covs) == "number" or ismat(covs) or rows_table then
    local Lt = cov_factor(fname, "option 'covs'", covs, d)
    for k = 1, K do factors[k] = Lt end
  elseif type(covs) == "table" then
    if #covs ~= K then
      argerror(fname, 1, "opts", "option 'covs' must have one entry per mean (%d), got %d",
               K, #covs)
    end
    for k = 1, K do factors[k] = cov_factor(fname, fmt("covs[%d]", k), covs[k], d) end
  else
    argerror(fname, 1, "opts", "option 'covs' must be a variance, a %d x %d matrix or a table "
             .. "of %d of them, got %s", d, d, K, type(covs))
  end

  local weights = opts.weights
  if weights == nil then
    weights = {}
    for k = 1, K do weights[k] = 1 end
  end
  if type(weights) ~= "table" or #weights ~= K then
    argerror(fname, 1, "opts", "option 'weights' must be a table of %d numbers", K)
  end
  local wsum = 0
  for k, w in ipairs(weights) do
    if type(w) ~= "number" or w ~= w or w < 0 or w == huge then
      argerror(fname, 1, "opts", "weights[%d] must be a finite number >= 0, got %s", k, show(w))
    end
    wsum = wsum + w
  end
  if not (wsum > 0) then argerror(fname, 1, "opts", "option 'weights' sums to 0") end

  local labels = opts.labels
  if labels == nil then
    labels = {}
    for k = 1, K do labels[k] = k - 1 end
  end
  if type(labels) ~= "table" or #labels ~= K then
    argerror(fname, 1, "opts", "option 'labels' must be a table of %d labels", K)
  end
  local seen = {}
  for k, c in ipairs(labels) do
    local i = type(c) == "number" and tointeger(c)
    if not i or i < 0 or c > TWO53 then
      argerror(fname, 1, "opts", "labels[%d] must be an integer in 0..2^53, got %s", k, show(c))
    end
    if seen[i] then argerror(fname, 1, "opts", "labels[%d] = %d repeats labels[%d]", k, i, seen[i]) end
    seen[i] = k
  end

  optseed(fname, 1, opts)
  local counts = split_counts(n, weights)
  local parts, lab = {}, {}
  for k = 1, K do
    local nk = counts[k]
    if nk > 0 then
      local Xk = ot.randn(nk, d):dot(factors[k]) + { means[k] }  -- the 1 x d mean broadcasts
      parts[#parts + 1] = Xk
      for _ = 1, nk do lab[#lab + 1] = tointeger(labels[k]) end
    end
  end
  local X = #parts == 1 and parts[1] or ot.vstack(parts)
  local perm = ot.randperm(n)
  local l2 = {}
  for k, i in ipairs(perm) do l2[k] = lab[i] end
  return build(X:select_rows(perm), l2, "gaussian mixture", nil, { source = "synthetic" })
end

return M
