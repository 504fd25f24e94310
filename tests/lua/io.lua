print("testing io")

-- ot.load / ot.save through the real binary: round trips in every format,
-- options, the error rule (nil, msg for the file system; errors for bad
-- arguments and bad content), and that the next call after an error works.

local base = os.tmpname() -- a unique name; our files are base .. suffix
os.remove(base)
local made = {}
local function tmp(suffix)
  local p = base .. suffix
  made[#made + 1] = p
  return p
end

-- Bit-exact comparison of two matrices (or vectors) through get/shape.
local function same(A, B)
  local r, c = A:shape()
  local r2, c2 = B:shape()
  if r ~= r2 or c ~= c2 then return false end
  for i = 1, r do
    for j = 1, c do
      local a, b = A:get(i, j), B:get(i, j)
      if not (a == b and (a ~= 0 or 1 / a == 1 / b)) then return false end
    end
  end
  return true
end

-- pcall f(...); it must fail with a message containing `needle` (plain).
local function fails(needle, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error containing: " .. needle)
  msg = tostring(msg)
  assert(msg:find(needle, 1, true), "got: " .. msg .. "\nwanted: " .. needle)
  return msg
end

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- a matrix with awkward values
local X = ot.zeros(6, 4)
local vals = { -0.0, 0.1, 1 / 3, 5e-324, 1.7976931348623157e308, -2.5e-300, 123456789.125 }
for i = 1, 6 do
  for j = 1, 4 do
    X:set(i, j, vals[(i * 4 + j) % #vals + 1] * (j % 2 == 0 and -1 or 1))
  end
end

-- ---- round trips ---------------------------------------------------------
for _, suffix in ipairs({ ".npy", ".csv", ".tsv", ".idx", ".npy.gz", ".csv.gz", "-idx2-ubyte.gz" }) do
  local p = tmp(suffix)
  assert(ot.save(p, X) == true, suffix)
  local Y, info = ot.load(p)
  assert(same(X, Y), "round trip " .. suffix)
  assert(info.rows == 6 and info.cols == 4 and info.path == p)
  assert(info.gzip == (suffix:sub(-3) == ".gz"), suffix)
end
do -- format names and info fields
  local _, i1 = ot.load(base .. ".npy")
  assert(i1.format == "npy" and i1.dtype == "<f8" and i1.version == "1.0" and
         i1.fortran_order == false and i1.shape[1] == 6 and i1.shape[2] == 4 and i1.total == 6)
  local _, i2 = ot.load(base .. ".tsv")
  assert(i2.format == "csv" and i2.delimiter == "\t" and i2.header == nil)
  assert(read(base .. ".tsv"):find("\t", 1, true))
  local _, i3 = ot.load(base .. ".idx")
  assert(i3.format == "idx" and i3.dtype == ">f8")
end

do -- vectors stay vectors in npy and IDX; tables are accepted
  local v = ot.mat({ 3, 1, 4, 1, 5 })
  for _, suffix in ipairs({ "v.npy", "v.idx" }) do
    assert(ot.save(tmp(suffix), v))
    local w, info = ot.load(base .. suffix)
    assert(same(v, w) and #info.shape == 1, suffix)
    assert(tostring(w):find("Vec"), "a vector: " .. tostring(w))
  end
  assert(ot.save(tmp("t.csv"), { { 1, 2 }, { 3, 4 } }))
  local T = ot.load(base .. "t.csv")
  assert(same(T, ot.mat({ { 1, 2 }, { 3, 4 } })))
end

do -- u8 IDX, the format option, gzip option
  local U = ot.mat({ { 0, 255, 7 }, { 1, 2, 3 } })
  assert(ot.save(tmp("u.idx"), U, { dtype = "u1" }))
  local V, info = ot.load(base .. "u.idx")
  assert(same(U, V) and info.dtype == "|u1")
  assert(#read(base .. "u.idx") == 4 + 8 + 6)
  assert(ot.save(tmp("x.data"), X, { format = "npy", gzip = true }))
  local Y, i2 = ot.load(base .. "x.data") -- content decides: gzip, then npy
  assert(same(X, Y) and i2.format == "npy" and i2.gzip)
  local Z = ot.load(base .. "x.data", { format = "npy" })
  assert(same(X, Z))
end

do -- views with a stride (a column of X) are written element by element
  local c = X:col(2)
  for _, suffix in ipairs({ "col.npy", "col.csv", "col.idx" }) do
    assert(ot.save(tmp(suffix), c))
    local w = ot.load(base .. suffix)
    for i = 1, 6 do assert(w:get(i, 1) == X:get(i, 2), suffix) end
  end
  assert(ot.save(tmp("cl.csv"), X, { labels = X:col(3) }))
  local _, yl = ot.load(base .. "cl.csv", { label_col = 5 })
  for i = 1, 6 do assert(yl:get(i) == X:get(i, 3)) end
end

do -- under a decimal-comma locale (when one exists) CSV still uses '.'
  local old = os.setlocale(nil, "numeric")
  for _, name in ipairs({ "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8" }) do
    if os.setlocale(name, "numeric") then
      local p = tmp("loc.csv")
      write(p, "1.5,2.25\n")
      local L = ot.load(p)
      assert(L:get(1, 1) == 1.5 and L:get(1, 2) == 2.25)
      assert(ot.save(p, L))
      assert(read(p) == "1.5,2.25\n")
      break
    end
  end
  os.setlocale(old, "numeric")
end

-- ---- np.save's bytes -----------------------------------------------------
do
  local G = ot.zeros(3, 4)
  for i = 1, 3 do for j = 1, 4 do G:set(i, j, ((i - 1) * 4 + j - 1) * 0.5 - 1.25) end end
  assert(ot.save(tmp("g.npy"), G))
  assert(read(base .. "g.npy") == read("tests/data/io/golden_mat.npy"), "np.save bytes")
  local L = ot.load("tests/data/io/golden_mat.npy")
  assert(same(L, G))
  local F, fi = ot.load("tests/data/io/fortran_3d.npy")
  assert(fi.fortran_order and fi.shape[3] == 4)
  local r, c = F:shape()
  assert(r == 2 and c == 12 and F:get(2, 12) == (23 - 5) * 0.25 and F:get(1, 2) == -1)
end

-- ---- CSV: headers, labels, limit -------------------------------------------
do
  local p = tmp("iris.csv")
  write(p, "sepal,petal,species\r\n5.1,1.4,setosa\r\n\r\n7.0,4.7,versicolor\r\n6.3,6.0,virginica\r\n4.9,1.4,setosa\r\n")
  local A, y, info = ot.load(p, { label_col = -1 })
  local r, c = A:shape()
  assert(r == 4 and c == 2 and A:get(2, 1) == 7.0)
  assert(y:get(1) == 0 and y:get(2) == 1 and y:get(3) == 2 and y:get(4) == 0)
  assert(info.header[1] == "sepal" and info.header[2] == "petal" and #info.header == 2)
  assert(info.label_name == "species")
  assert(info.classes[1] == "setosa" and info.classes[3] == "virginica")
  local B, y2 = ot.load(p, { label_col = 3, limit = 2 })
  assert(select(1, B:shape()) == 2 and select(1, y2:shape()) == 2)
  local C, y3, i3 = ot.load(p, { label_col = -1, header = true, limit = 1 })
  assert(C:get(1, 1) == 5.1 and y3:get(1) == 0 and #i3.classes == 1)
  fails("line 2, column 3: value 'setosa' is not a number (a text column? label_col reads one",
        ot.load, p, { label_col = 1 })
  -- a header is data when told so
  fails("ot.load: " .. p .. ": csv: line 1, column 1: value 'sepal' is not a number", ot.load, p,
        { header = false })
  -- save with names and labels, load back
  local q = tmp("lab.csv")
  assert(ot.save(q, A, { labels = y, header = { "a", "b", "class" } }))
  assert(read(q):sub(1, 12) == "a,b,class\n5.")
  local A2, ylab, i2 = ot.load(q, { label_col = -1 })
  assert(same(A, A2) and same(y, ylab) and i2.label_name == "class")
  assert(ot.save(q, A, { header = true, delimiter = ";" }))
  assert(read(q):sub(1, 6) == "x1;x2\n")
  local A3, i3 = ot.load(q, { delimiter = ";" })
  assert(same(A, A3) and i3.header[2] == "x2")
end

do -- a separate labels file, counts checked
  local img = tmp("img-idx2-ubyte")
  local lab = tmp("lab-idx1-ubyte")
  local bad = tmp("bad-idx1-ubyte")
  assert(ot.save(img, X))
  assert(ot.save(lab, ot.mat({ 0, 1, 2, 0, 1, 2 }), { dtype = "u1" }))
  assert(ot.save(bad, ot.mat({ 0, 1, 2 }), { dtype = "u1" }))
  local A, y, info = ot.load(img, { labels = lab })
  assert(same(A, X) and y:get(3) == 2 and info.labels_path == lab)
  local A2, y2 = ot.load(img, { labels = lab, limit = 2 })
  assert(select(1, A2:shape()) == 2 and select(1, y2:shape()) == 2)
  fails("ot.load: " .. bad .. ": labels: the label file has 3 items, the data has 6", ot.load, img,
        { labels = bad })
  local r, m = ot.load(img, { labels = base .. "missing" })
  assert(r == nil and m:find("missing: No such file or directory", 1, true))
end

-- ---- the error rule -----------------------------------------------------------
do -- the file system: nil, msg
  local r, msg = ot.load(base .. "absent.npy")
  assert(r == nil and msg == base .. "absent.npy: No such file or directory", msg)
  r, msg = ot.load("tests")
  assert(r == nil and msg:find("Is a directory", 1, true))
  r, msg = ot.save(base .. "/no/dir/x.npy", X)
  assert(r == nil and msg:find("No such file or directory", 1, true), msg)
  r, msg = ot.save("/dev/full", X, { format = "csv" })
  assert(r == nil and msg == "/dev/full: No space left on device", msg)
end

do -- malformed content raises "ot.load: <path>: <reason>"
  local p = tmp("bad.npy")
  local h = "{'descr': '<f8', 'fortran_order': False, 'shape': (100, 3), }   \n"
  write(p, "\x93NUMPY\1\0" .. string.pack("<I2", #h) .. h .. string.rep("\0", 800))
  fails("ot.load: " .. p .. ": npy: header says 100x3 <f8 = 2400 bytes, file has 800 after the header",
        ot.load, p)
  local q = tmp("bad.csv")
  write(q, "1,2,3\n4,5\n")
  fails("ot.load: " .. q .. ": csv: line 2 has 2 fields, expected 3 like line 1", ot.load, q)
  write(q, "1;5;2\n3;4;5\n")
  fails("line 2, column 1: '3;4;5' is not a number (is the delimiter ';'?", ot.load, q)
  write(q, "1,5;2,5\n")
  fails("a decimal comma?", ot.load, q, { delimiter = ";" })
  write(q, "1,nan\n")
  fails("'nan' is not finite", ot.load, q)
  local N = ot.load(q, { allow_nonfinite = true })
  assert(N:get(1, 2) ~= N:get(1, 2))
  write(q, "1,1e999\n")
  fails("ERANGE", ot.load, q)
  write(q, "1," .. string.rep("2", 100) .. "\n")
  fails("line 1 is 102 bytes long, over the limit of 50", ot.load, q, { max_line = 50 })
  -- a truncated gzip
  local g = tmp("cut.npy.gz")
  assert(ot.save(g, X))
  local bytes = read(g)
  write(g, bytes:sub(1, #bytes - 10))
  fails("ot.load: " .. g .. ": gzip: truncated", ot.load, g)
  -- IDX magic
  local i = tmp("bad.idx")
  write(i, "\0\0\10\1\0\0\0\1x")
  fails("unknown type code 0x0A", ot.load, i)
  -- values IDX u8 cannot hold: refused before writing, old file kept
  local keep = tmp("keep.idx")
  assert(ot.save(keep, ot.mat({ 1, 2, 3 }), { dtype = "u1" }))
  fails("ot.save: " .. keep .. ": idx: the value at row 1, column 1 is 0.5", ot.save, keep,
        ot.mat({ 0.5 }), { dtype = "u1" })
  assert(same(ot.load(keep), ot.mat({ 1, 2, 3 })))
end

do -- bad arguments and options raise, naming the argument
  local p = base .. ".npy"
  fails("ot.load: bad argument #1 'path' (string expected, got no value)", ot.load)
  fails("ot.load: bad argument #2 'opts' (unknown option 'limt'", ot.load, p, { limt = 3 })
  fails("ot.load: bad argument #2 'opts' (table expected, got number)", ot.load, p, 5)
  fails("option 'limit' must be an integer, got string", ot.load, p, { limit = "many" })
  fails("option 'limit' must be >= 0, got -1", ot.load, p, { limit = -1 })
  fails("option 'label_col' must be a column number", ot.load, p, { label_col = 0 })
  fails("option 'label_col' must be an integer, got 1.5", ot.load, p, { label_col = 1.5 })
  fails("option 'format' must be \"npy\", \"csv\" or \"idx\", got \"xls\"", ot.load, p, { format = "xls" })
  fails("option 'header' must be a boolean, got string", ot.load, base .. ".csv", { header = "yes" })
  fails("option 'delimiter' must be one character", ot.load, base .. ".csv", { delimiter = ",," })
  fails("option 'delimiter' must be one character", ot.load, base .. ".csv", { delimiter = "." })
  fails("option 'delimiter' applies to csv files only, this is npy", ot.load, p, { delimiter = ";" })
  fails("options 'label_col' and 'labels' exclude each other", ot.load, p, { label_col = 1, labels = p })
  fails("option 'allow_nonfinite' must be a boolean", ot.load, p, { allow_nonfinite = 1 })
  fails("ot.load: " .. p .. ": npy: label_col 9 is out of range for 4 columns", ot.load, p, { label_col = 9 })
  fails("ot.load: " .. base .. "v.npy: npy: label_col needs a matrix", ot.load, base .. "v.npy", { label_col = 1 })

  fails("ot.save: bad argument #1 'path' (string expected, got number)", ot.save, 1, X)
  fails("ot.save: bad argument #2 'M'", ot.save, p, "x")
  fails("ot.save: bad argument #1 'path' (cannot tell the format from the name", ot.save, base .. ".xyz", X)
  fails("ot.save: bad argument #3 'opts' (unknown option 'gzipp'", ot.save, p, X, { gzipp = true })
  fails("option 'labels' applies to csv files only, this is npy", ot.save, p, X, { labels = ot.zeros(6) })
  fails("option 'labels' has 2 entries for 6 rows", ot.save, base .. ".csv", X, { labels = ot.zeros(2) })
  fails("option 'labels' must be a vector, got a matrix", ot.save, base .. ".csv", X, { labels = X })
  fails("option 'header' has 3 names for 4 columns", ot.save, base .. ".csv", X, { header = { "a", "b", "c" } })
  fails("option 'header': name 2 is number, not a string", ot.save, base .. ".csv", X, { header = { "a", 2, "c", "d" } })
  fails("option 'header': name 1 contains a line break", ot.save, base .. ".csv", X, { header = { "a\nb", "x", "c", "d" } })
  fails("option 'dtype' must be \"f8\" for this format, got \"u1\"", ot.save, p, X, { dtype = "u1" })
  fails("option 'gzip' must be a boolean", ot.save, p, X, { gzip = "yes" })
end

-- after all those errors the next valid calls work
local Y = ot.load(base .. ".npy")
assert(same(X, Y))
assert(ot.save(base .. ".npy", Y))

-- ---- memory budget: refused with the sizes, then the session goes on --------
do
  local p = tmp("big.npy")
  assert(ot.save(p, ot.zeros(200, 100)))
  local old = ot.mem_limit()
  ot.mem_limit(ot.mem().used + 100000)
  local ok, msg = pcall(ot.load, p)
  ot.mem_limit(old)
  assert(not ok and msg:find("budget", 1, true), msg)
  assert(select(1, ot.load(p):shape()) == 200)
end

do -- a sweep of tight budgets: every step either loads or fails cleanly
  local p = tmp("sweep.csv.gz")
  assert(ot.save(p, X, { labels = ot.mat({ 1, 2, 3, 1, 2, 3 }), header = true }))
  local old = ot.mem_limit()
  local loaded, refused = 0, 0
  for extra = 1024, 41024, 250 do -- a budget must stay above what is live
    collectgarbage()
    local used = ot.mem().used
    ot.mem_limit(used + extra)
    local ok, A, y = pcall(ot.load, p, { label_col = -1 })
    ot.mem_limit(old)
    if ok then
      loaded = loaded + 1
      assert(same(A, X) and y:get(6) == 3)
    else
      refused = refused + 1
      assert(tostring(A):find("budget", 1, true) or tostring(A):find("memory", 1, true), A)
    end
  end
  assert(loaded > 0 and refused > 0, loaded .. " " .. refused)
  assert(same(ot.load(p, { label_col = -1 }), X))
end

for _, p in ipairs(made) do os.remove(p) end
print("io ok")
