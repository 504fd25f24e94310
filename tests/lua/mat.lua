print("testing mat")

-- f(...) must fail; returns the message
local function errmsg(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return msg
end

-- f(...) must fail with a message containing want (plain text)
local function fails(want, f, ...)
  local msg = errmsg(f, ...)
  assert(msg:find(want, 1, true), "got: " .. msg .. "\nwant: " .. want)
end

local function shape(M) return table.concat({ M:shape() }, "x") end
local huge, nan = math.huge, 0 / 0

-- ---- constructors ------------------------------------------------------------

local Z = ot.zeros(2, 3)
assert(shape(Z) == "2x3" and Z:sum() == 0 and #Z == 2)
assert(shape(ot.zeros(4)) == "4x1" and ot.zeros(4):equals({ 0, 0, 0, 0 }))
assert(ot.ones(2, 2):equals({ { 1, 1 }, { 1, 1 } }))
assert(ot.ones(3):sum() == 3)
assert(ot.full(2, 3, 7):equals({ { 7, 7, 7 }, { 7, 7, 7 } }))
assert(ot.full(3, -1):equals({ -1, -1, -1 }) and tostring(ot.full(3, -1)):find("^Vec 3"))
assert(ot.eye(3):equals({ { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }))
assert(ot.eye(2, 3):equals({ { 1, 0, 0 }, { 0, 1, 0 } }))
assert(ot.linspace(0, 1, 5):equals({ 0, 0.25, 0.5, 0.75, 1 }))
assert(ot.linspace(3, 3, 1):equals({ 3 }) and ot.linspace(0, 1, 0):numel() == 0)
assert(ot.linspace(-1, 1, 7):get(7) == 1)
assert(ot.unif(4):equals({ 0.25, 0.25, 0.25, 0.25 }) and ot.unif(0):numel() == 0)
assert(math.abs(ot.unif(3):sum() - 1) < 1e-15)
local A = ot.mat({ { 1, 2, 3 }, { 4, 5, 6 } })
assert(shape(A) == "2x3" and A:get(2, 1) == 4)
local v = ot.mat({ 1, 2, 3 })
assert(shape(v) == "3x1" and v:get(3) == 3)
assert(ot.mat({}):numel() == 0 and shape(ot.mat({ {}, {} })) == "2x0")
local A2 = ot.mat(A) -- a copy
A2:set(1, 1, 100)
assert(A:get(1, 1) == 1 and A2:get(1, 1) == 100)
assert(ot.ismat(A) and not ot.ismat({}) and not ot.ismat(nil))

fails("ot.zeros: bad argument #1 'rows' (must be >= 0, got -1)", ot.zeros, -1)
fails("ot.zeros: bad argument #2 'cols' (integer expected, got string)", ot.zeros, 2, "x")
fails("ot.ones: bad argument #1 'rows' (number has no integer representation, got 1.5)", ot.ones, 1.5)
fails("ot.eye: bad argument #2 'cols' (must be >= 0, got -2)", ot.eye, 2, -2)
fails("ot.full: bad argument #3 'value' (number expected, got nil)", ot.full, 2, 2, nil)
fails("ot.full: bad argument #2 'value' (number expected, got no value)", ot.full, 2)
fails("ot.linspace: bad argument #2 'b' (number expected, got no value)", ot.linspace, 1)
fails("ot.linspace: bad argument #3 'n' (must be >= 0, got -3)", ot.linspace, 0, 1, -3)
fails("ot.unif: bad argument #1 'n' (integer expected, got table)", ot.unif, {})
fails("ot.mat: bad argument #1 't' (table or matrix expected, got number)", ot.mat, 5)
fails("ot.mat: bad argument #1 't' (row 2 has 1 entries, row 1 has 2)", ot.mat, { { 1, 2 }, { 3 } })
fails("ot.mat: bad argument #1 't' (row 2 is number, not a table)", ot.mat, { { 1, 2 }, 3 })
fails("ot.mat: bad argument #1 't' (entry [1][2] is string, not a number)", ot.mat, { { 1, "2" } })
fails("ot.mat: bad argument #1 't' (entry [2] is boolean, not a number)", ot.mat, { 1, true })
fails("ot.zeros: cannot allocate a 4294967296x4294967296 matrix (size overflows)", ot.zeros, 2^32, 2^32)

-- ---- shape, elements ------------------------------------------------------------

assert(A:numel() == 6 and A:size() == 6 and v:numel() == 3)
assert(A(2, 3) == 6 and v(2) == 2 and v(2, 1) == 2)
assert(A:get(-1, -1) == 6 and A:get(1, -3) == 1 and v:get(-1) == 3)
local B = A:copy()
assert(B:set(1, 2, 20) == B and B:get(1, 2) == 20 and A:get(1, 2) == 2)
local w = v:copy()
w:set(2, 7)
assert(w:get(2) == 7 and w:set(-1, 9):get(3) == 9)
local r = ot.mat({ { 1, 2, 3 } }) -- 1 x 3: one index works too
assert(r:get(3) == 3 and r:set(2, 5):get(1, 2) == 5)

fails("Mat:get: bad argument #1 'i' (row 3 out of range 1..2)", A.get, A, 3, 1)
fails("Mat:get: bad argument #2 'j' (column 0 out of range 1..3)", A.get, A, 1, 0)
fails("Mat:get: bad argument #1 'i' (row -3 out of range 1..2)", A.get, A, -3, 1)
fails("Mat:get: bad argument #2 'j' (missing: a 2x3 matrix takes two indices (i, j))", A.get, A, 1)
fails("Mat:get: bad argument #1 'i' (index 4 out of range 1..3)", v.get, v, 4)
fails("Mat:get: bad argument #1 'i' (integer expected, got string)", v.get, v, "a")
fails("Mat:get: bad argument #1 'i' (number has no integer representation, got 1.5)", v.get, v, 1.5)
fails("Mat:get: bad argument #1 'i' (index 1 out of range: there are none)", ot.zeros(0).get, ot.zeros(0), 1)
fails("Mat:get: bad argument #1 'i' (row 5 out of range 1..2)", function() return A(5, 1) end)
fails("Mat:set: bad argument #3 'v' (missing: a 2x3 matrix takes M:set(i, j, v))", A.set, A, 1, 2)
fails("Mat:set: bad argument #3 'v' (number expected, got string)", A.set, A, 1, 2, "x")
fails("Mat:set: bad argument #2 'v' (number expected, got nil)", v.set, v, 1, nil)
fails("Mat:get: bad argument 'self' (matrix expected, got number; call it with ':')", A.get, 5, 1, 1)
fails("Mat:shape: bad argument 'self' (matrix expected, got no value", A.shape)

-- ---- views ------------------------------------------------------------------------

local M = ot.mat({ { 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 10, 11, 12 } })
local row2 = M:row(2)
assert(shape(row2) == "1x4" and row2:equals({ { 5, 6, 7, 8 } }) and row2:equals({ 5, 6, 7, 8 }))
local col3 = M:col(3)
assert(shape(col3) == "3x1" and col3:equals({ 3, 7, 11 }) and tostring(col3):find("^Mat 3x1"))
row2:set(1, 50) -- writes through to the parent
col3:set(3, 110)
assert(M:get(2, 1) == 50 and M:get(3, 3) == 110)
local S = M:slice(2, 3, 2, -1)
assert(S:equals({ { 6, 7, 8 }, { 10, 110, 12 } }))
local SS = S:slice(2, 2, 1, 2) -- a view of a view
assert(SS:equals({ { 10, 110 } }))
SS:set(1, 1, -10)
assert(M:get(3, 2) == -10 and S:get(2, 1) == -10)
assert(M:slice(2):equals(M:slice(2, 3, 1, 4)) and M:slice():equals(M))
assert(M:slice(nil, nil, 4, 4):equals({ 4, 8, 12 }))
assert(M:slice(2, 1):numel() == 0 and shape(M:slice(4, 3)) == "0x4")
assert(M:slice(-1, -1):equals({ { 9, -10, 110, 12 } }))
assert(M:row(-1):col(-1):get(1, 1) == 12)
-- vectors: slices and single columns stay vectors
local vv = ot.linspace(1, 10, 10)
assert(tostring(vv:slice(3, 5)):find("^Vec 3") and vv:slice(3, 5):equals({ 3, 4, 5 }))
assert(tostring(vv:col(1)):find("^Vec 10"))
-- operations on views use the view's shape and stride
assert(S:sum() == 6 + 7 + 8 - 10 + 110 + 12)
assert(S:T():equals({ { 6, -10 }, { 7, 110 }, { 8, 12 } }))
assert(S:copy():equals(S) and S:sum(1):equals({ { -4, 117, 20 } }))
assert((S * 2):equals({ { 12, 14, 16 }, { -20, 220, 24 } }))
assert(M:col(2):dot(ot.ones(1, 2)):equals({ { 2, 2 }, { 6, 6 }, { -10, -10 } }))

-- views keep the storage alive after the parent is dropped
do
  local P = ot.linspace(1, 12, 12):reshape(3, 4)
  local view = P:slice(2, 3, 2, 3)
  local vview = view:row(2)
  P = nil
  view = nil
  collectgarbage()
  collectgarbage()
  assert(vview:equals({ { 10, 11 } }))
  local t = {}
  for i = 1, 200 do t[i] = ot.zeros(100, 10) end -- reuse freed memory
  t = nil
  collectgarbage()
  assert(vview:equals({ { 10, 11 } }) and vview:sum() == 21)
end

fails("Mat:row: bad argument #1 'i' (row 4 out of range 1..3)", M.row, M, 4)
fails("Mat:col: bad argument #1 'j' (column 0 out of range 1..4)", M.col, M, 0)
fails("Mat:slice: bad argument #1 'r0' (first row 5 out of range 1..3)", M.slice, M, 5, 5)
fails("Mat:slice: bad argument #2 'r1' (last row 4 out of range 1..3)", M.slice, M, 1, 4)
fails("Mat:slice: bad argument #2 'r1' (last row 1 comes before the first, 3)", M.slice, M, 3, 1)
fails("Mat:slice: bad argument #4 'c1' (last column 9 out of range 1..4)", M.slice, M, 1, 2, 1, 9)
fails("Mat:slice: bad argument #3 'c0' (integer expected, got string)", M.slice, M, 1, 2, "a")

-- gathers
local G = M:select_rows({ 3, 1, 3, -1 })
assert(G:equals({ { 9, -10, 110, 12 }, { 1, 2, 3, 4 }, { 9, -10, 110, 12 }, { 9, -10, 110, 12 } }))
assert(M:select_rows(ot.mat({ 2 })):equals({ { 50, 6, 7, 8 } }))
assert(M:select_rows({}):numel() == 0)
assert(tostring(vv:select_rows({ 10, 1 })):find("^Vec 2") and vv:select_rows({ 10, 1 }):equals({ 10, 1 }))
assert(M:select_cols({ 4, 1 }):equals({ { 4, 1 }, { 8, 50 }, { 12, 9 } }))
fails("Mat:select_rows: bad argument #1 'idx' (idx[2] = 4 out of range 1..3 (rows))", M.select_rows, M, { 1, 4 })
fails("Mat:select_rows: bad argument #1 'idx' (idx[1] = 1.5 is not an integer)", M.select_rows, M, { 1.5 })
fails("Mat:select_rows: bad argument #1 'idx' (idx[1] is string, not a number)", M.select_rows, M, { "1" })
fails("Mat:select_rows: bad argument #1 'idx' (table or matrix of indices expected, got number)", M.select_rows, M, 1)
fails("Mat:select_cols: bad argument #1 'idx' (idx[1] = 5 out of range 1..4 (columns))", M.select_cols, M, { 5 })

-- ---- copies, reshapes ---------------------------------------------------------------

local T = A:T()
assert(shape(T) == "3x2" and T:equals({ { 1, 4 }, { 2, 5 }, { 3, 6 } }) and A:transpose():equals(T))
assert(shape(v:T()) == "1x3" and v:T():equals({ { 1, 2, 3 } }))
local R = A:reshape(3, 2)
assert(R:equals({ { 1, 2 }, { 3, 4 }, { 5, 6 } }))
R:set(1, 1, -1) -- a view of contiguous data
assert(A:get(1, 1) == -1)
A:set(1, 1, 1)
assert(A:reshape(6):equals({ 1, 2, 3, 4, 5, 6 }) and tostring(A:reshape(6)):find("^Vec 6"))
assert(shape(A:reshape(-1, 2)) == "3x2" and shape(A:reshape(1, -1)) == "1x6")
local Rc = M:slice(1, 2, 1, 2):reshape(4) -- not contiguous: a copy
Rc:set(1, 99)
assert(Rc:equals({ 99, 2, 50, 6 }) and M:get(1, 1) == 1)
assert(M:slice(1, 2, 1, 2):flatten():equals({ 1, 2, 50, 6 }))
fails("Mat:reshape: bad argument #1 'rows' (a 4x2 matrix cannot hold the 6 elements of a 2x3 matrix)", A.reshape, A, 4, 2)
fails("Mat:reshape: bad argument #1 'rows' (a vector of 5 cannot hold the 6 elements of a 2x3 matrix)", A.reshape, A, 5)
fails("Mat:reshape: bad argument #2 'cols' (only one size can be -1)", A.reshape, A, -1, -1)
fails("Mat:reshape: bad argument #1 'rows' (cannot infer -1: 6 elements do not split into parts of 4)", A.reshape, A, -1, 4)

-- fill, assign and the in-place operations (all return self)
local F = ot.zeros(2, 3)
assert(F:fill(2) == F and F:sum() == 12)
assert(F:assign({ { 1, 2, 3 }, { 4, 5, 6 } }):equals(A))
assert(F:assign({ { 10, 20, 30 } }):equals({ { 10, 20, 30 }, { 10, 20, 30 } })) -- broadcast a row
assert(F:assign(ot.mat({ 1, 2 })):equals({ { 1, 1, 1 }, { 2, 2, 2 } }))         -- a column
assert(F:assign(0):sum() == 0)
F:row(2):assign({ 7, 8, 9 }) -- a vector into a row view
assert(F:equals({ { 0, 0, 0 }, { 7, 8, 9 } }))
F:col(1):assign(ot.mat({ { 5, 6 } })) -- a row into a column view
assert(F:equals({ { 5, 0, 0 }, { 6, 8, 9 } }))
assert(F:add_(1) == F and F:equals({ { 6, 1, 1 }, { 7, 9, 10 } }))
assert(F:sub_({ { 1, 1, 1 } }):equals({ { 5, 0, 0 }, { 6, 8, 9 } }))
assert(F:mul_(ot.mat({ 2, 3 })):equals({ { 10, 0, 0 }, { 18, 24, 27 } }))
assert(F:div_(F:row(1)):get(1, 1) == 1) -- overlapping operand: taken before writing
assert(F:get(2, 1) == 1.8 and F:get(2, 2) == huge and F:get(1, 2) ~= F:get(1, 2))
local H = ot.ones(3, 3)
H:add_(H) -- the same matrix as operand
assert(H:sum() == 18)
H:slice(2, 3):add_(H:slice(1, 2)) -- overlapping views
assert(H:equals({ { 2, 2, 2 }, { 4, 4, 4 }, { 4, 4, 4 } })) -- as if copied first, like numpy
fails("Mat:add_: bad argument #1 'x' (shape 3x2 does not broadcast to 2x3)", A.add_, A:copy(), ot.ones(3, 2))
fails("Mat:mul_: bad argument #1 'x' (number, matrix or table expected, got string)", A.mul_, A:copy(), "2")
fails("Mat:assign: bad argument #1 'x' (shape 4x1 vector does not broadcast to 2x3)", A.assign, A:copy(), { 1, 2, 3, 4 })
fails("Mat:fill: bad argument #1 'v' (number expected, got no value)", A.fill, A)
fails("Mat:assign: bad argument #1 'x' (number, matrix or table expected, got no value)", A.assign, A:copy())

-- ---- arithmetic ----------------------------------------------------------------------

assert((A + 1):equals({ { 2, 3, 4 }, { 5, 6, 7 } }) and (1 + A):equals(A + 1))
assert((A - 1):equals({ { 0, 1, 2 }, { 3, 4, 5 } }) and (10 - A):equals({ { 9, 8, 7 }, { 6, 5, 4 } }))
assert((A * A):equals({ { 1, 4, 9 }, { 16, 25, 36 } })) -- elementwise
assert((A / 2):get(1, 1) == 0.5 and (6 / A):equals({ { 6, 3, 2 }, { 1.5, 1.2, 1 } }))
assert((A ^ 2):equals(A * A) and (2 ^ v):equals({ 2, 4, 8 }))
assert((-A):equals(A * -1) and tostring(-v):find("^Vec 3"))
assert((A + { { 1, 1, 1 }, { 1, 1, 1 } }):equals(A + 1) and ({ { 1, 2, 3 } } + A):get(2, 3) == 9)
-- broadcasting: a row (1 x n), a column vector (n x 1), and both (outer)
assert((A - A:mean(1)):equals({ { -1.5, -1.5, -1.5 }, { 1.5, 1.5, 1.5 } }))
assert((A / A:sum(2)):equals({ { 1 / 6, 2 / 6, 3 / 6 }, { 4 / 15, 5 / 15, 6 / 15 } }, 1e-15))
assert((ot.mat({ 1, 2 }) * ot.mat({ { 1, 10, 100 } })):equals({ { 1, 10, 100 }, { 2, 20, 200 } }))
assert(tostring(v + v):find("^Vec 3") and tostring(v + 1):find("^Vec 3"))
assert((ot.zeros(0, 3) + ot.ones(1, 3)):numel() == 0)
fails("Mat.__add: bad argument #2 'B' (shapes 2x3 and 3x2 do not broadcast)", function() return A + T end)
fails("Mat.__mul: bad argument #2 'B' (shapes 2x3 and 3x1 vector do not broadcast)", function() return A * v end)
fails("Mat.__sub: bad argument #2 'B' (number, matrix or table expected, got boolean)", function() return A - true end)
fails("Mat.__div: bad argument #1 'A' (number, matrix or table expected, got string)", function() return "x" / A end)
fails("Mat.__add: bad argument #2 'B' (row 2 has 1 entries, row 1 has 2)", function() return A + { { 1, 2 }, { 3 } } end)

-- elementwise functions
assert(ot.mat({ -1, 2 }):abs():equals({ 1, 2 }))
assert(ot.mat({ 0, 1 }):exp():equals({ 1, math.exp(1) }))
assert(ot.mat({ 1, math.exp(2) }):log():equals({ 0, 2 }, 1e-15))
assert(ot.mat({ 4, 9 }):sqrt():equals({ 2, 3 }))
assert(A:map(function(x) return x % 2 end):equals({ { 1, 0, 1 }, { 0, 1, 0 } }))
assert(M:slice(1, 2, 1, 2):map(math.floor):equals({ { 1, 2 }, { 50, 6 } }))
assert(A:clip(2, 5):equals({ { 2, 2, 3 }, { 4, 5, 5 } }) and A:clip(nil, 2):max() == 2 and A:clip(4):min() == 4)
fails("Mat:map: bad argument #1 'f' (function expected, got no value)", A.map, A)
fails("Mat:map: bad argument #1 'f' (returned string for element (1, 1), not a number)", A.map, A, tostring)
fails("boom", A.map, A, function() error("boom") end)
fails("Mat:clip: bad argument #2 'hi' (must be >= lo = 3, got 1)", A.clip, A, 3, 1)
fails("Mat:clip: bad argument #1 'lo' (number expected, got string)", A.clip, A, "a")

-- ---- reductions ------------------------------------------------------------------------

assert(A:sum() == 21 and A:mean() == 3.5 and A:prod() == 720 and A:min() == 1 and A:max() == 6)
assert(A:sum(1):equals({ { 5, 7, 9 } }) and shape(A:sum(1)) == "1x3")
assert(A:sum(2):equals({ 6, 15 }) and tostring(A:sum(2)):find("^Vec 2"))
assert(A:mean(1):equals({ { 2.5, 3.5, 4.5 } }) and A:mean(2):equals({ 2, 5 }))
assert(A:min(1):equals({ { 1, 2, 3 } }) and A:max(2):equals({ 3, 6 }) and A:prod(2):equals({ 6, 120 }))
assert(v:sum() == 6 and v:sum(1):equals({ { 6 } }) and v:sum(2):equals(v))
local i, j = A:argmax()
assert(i == 2 and j == 3)
i, j = A:argmin()
assert(i == 1 and j == 1)
assert(ot.mat({ 3, 9, 1, 9 }):argmax() == 2 and select("#", ot.mat({ 3, 9 }):argmax()) == 1)
assert(ot.mat({ 3, 9, 1, 9 }):argmin() == 3)
assert(A:argmax(1):equals({ { 2, 2, 2 } }) and A:argmin(2):equals({ 1, 1 }))
assert(ot.mat({ { 1, 5, 2 }, { 7, 0, 7 } }):argmax(2):equals({ 2, 1 }))
-- NaN propagates through min/max; argmax points at the first NaN
local N = ot.mat({ { 1, nan }, { 3, 4 } })
assert(N:max() ~= N:max() and N:min() ~= N:min() and N:sum() ~= N:sum())
assert(N:max(2):get(2) == 4 and N:max(2):get(1) ~= N:max(2):get(1))
i, j = N:argmax()
assert(i == 1 and j == 2)
-- empty matrices
assert(ot.zeros(0, 3):sum() == 0 and ot.zeros(0, 3):sum(1):equals({ { 0, 0, 0 } }))
assert(ot.zeros(0, 3):mean() ~= ot.zeros(0, 3):mean() and ot.zeros(0):prod() == 1)
assert(ot.zeros(0, 3):max(2):numel() == 0)
fails("Mat:max: an empty 0x3 matrix has no maximum", ot.zeros(0, 3).max, ot.zeros(0, 3))
fails("Mat:min: no minimum over axis 1 of an empty 0x3 matrix", ot.zeros(0, 3).min, ot.zeros(0, 3), 1)
fails("Mat:argmax: an empty 0x1 vector matrix has no maximum", ot.zeros(0).argmax, ot.zeros(0))
fails("Mat:sum: bad argument #1 'axis' (must be 1 (down the rows, one value per column) or 2 (across each row, one value per row), got 0)", A.sum, A, 0)
fails("Mat:argmin: bad argument #1 'axis' (integer expected, got string)", A.argmin, A, "rows")

-- ---- norms, products ----------------------------------------------------------------------

local Q = ot.mat({ { 1, 2 }, { 3, 4 } })
assert(math.abs(Q:norm() - math.sqrt(30)) < 1e-14 and Q:norm("fro") == Q:norm())
assert(Q:norm(1) == 6 and Q:norm(huge) == 7 and math.abs(Q:norm(2) - 5.4649857042190426) < 1e-12)
local x = ot.mat({ 3, -4 })
assert(x:norm() == 5 and x:norm(1) == 7 and x:norm(huge) == 4 and x:norm(-huge) == 3 and x:norm(0) == 2)
assert(math.abs(x:norm(3) - (27 + 64) ^ (1 / 3)) < 1e-14)
assert(ot.zeros(0, 0):norm() == 0)
fails("Mat:norm: bad argument #1 'p' (matrix norms are 'fro' (the default), 1, 2 and math.huge, got 3; M:flatten():norm(p) gives the elementwise p-norm)", Q.norm, Q, 3)
fails("Mat:norm: bad argument #1 'p' (vector norms take p >= 0 or +-math.huge, got -1)", x.norm, x, -1)
fails("Mat:norm: bad argument #1 'p' (unknown norm 'nuc'; use 'fro', 1, 2 or math.huge)", Q.norm, Q, "nuc")

assert(Q:dot(Q):equals({ { 7, 10 }, { 15, 22 } }) and ot.dot(Q, Q):equals(Q:dot(Q)))
assert(Q:dot(x):equals({ -5, -7 }) and tostring(Q:dot(x)):find("^Vec 2"))          -- matrix . vector
assert(x:dot(Q):equals({ -9, -10 }) and tostring(x:dot(Q)):find("^Vec 2"))          -- vector . matrix
assert(x:dot(x) == 25 and x:dot({ 1, 1 }) == -1 and ot.dot({ 1, 2 }, { 3, 4 }) == 11) -- vector . vector
assert(A:dot(T):equals({ { 14, 32 }, { 32, 77 } }))
assert(A:row(1):dot(T:col(1)):equals({ { 14 } }) and shape(A:row(1):dot(T:col(1))) == "1x1")
assert(A:slice(1, 2, 2, 3):dot(T:slice(2, 3)):equals({ { 2 * 2 + 3 * 3, 2 * 5 + 3 * 6 }, { 5 * 2 + 6 * 3, 5 * 5 + 6 * 6 } }))
assert(ot.zeros(2, 0):dot(ot.zeros(0, 3)):equals(ot.zeros(2, 3)))
assert(ot.outer({ 1, 2 }, { 3, 4, 5 }):equals({ { 3, 4, 5 }, { 6, 8, 10 } }))
assert(ot.outer(A:row(1), A:col(1)):equals({ { 1, 4 }, { 2, 8 }, { 3, 12 } }))
fails("Mat:dot: bad argument #1 'B' (shapes 2x3 and 2x3 do not match for a product: B needs 3 rows)", A.dot, A, A)
fails("Mat:dot: bad argument #1 'B' (vector lengths 2 and 3 differ)", x.dot, x, v)
fails("Mat:dot: bad argument #1 'B' (shapes 3x1 vector and 2x2 do not match for a product: B needs 3 rows)", v.dot, v, Q)
fails("ot.dot: bad argument #2 'B' (matrix or table expected, got no value)", ot.dot, Q)
fails("ot.outer: bad argument #2 'v' (vector expected, got a 2x2 matrix)", ot.outer, x, Q)

-- diag
assert(Q:diag():equals({ 1, 4 }) and A:diag():equals({ 1, 5 }) and tostring(A:diag()):find("^Vec 2"))
assert(x:diag():equals({ { 3, 0 }, { 0, -4 } }) and ot.diag({ 1, 2 }):equals({ { 1, 0 }, { 0, 2 } }))
assert(ot.diag({ { 1, 2 }, { 3, 4 } }):equals({ 1, 4 }))

-- ---- concatenation ------------------------------------------------------------------------

assert(ot.vstack({ A, { { 7, 8, 9 } } }):equals({ { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } }))
assert(ot.vstack(A, A:row(1)):equals({ { 1, 2, 3 }, { 4, 5, 6 }, { 1, 2, 3 } }))
assert(ot.hstack({ A, ot.ones(2, 1) }):equals({ { 1, 2, 3, 1 }, { 4, 5, 6, 1 } }))
assert(ot.hstack(x, x):equals({ { 3, 3 }, { -4, -4 } }))                   -- vectors are columns
assert(ot.vstack({ x, { 5 } }):equals({ 3, -4, 5 }) and tostring(ot.vstack({ x, x })):find("^Vec 4"))
assert(ot.vstack({ A }):equals(A) and ot.vstack({ ot.zeros(0, 3), A }):equals(A))
fails("ot.vstack: bad argument #1 'list' (item 2 has shape 1x2, item 1 has 3 columns)", ot.vstack, { A, { { 1, 2 } } })
fails("ot.hstack: bad argument #1 'list' (item 2 has shape 3x1 vector, item 1 has 2 rows)", ot.hstack, { A, v })
fails("ot.vstack: bad argument #1 'list' (item 2: entry [1][2] is string, not a number)", ot.vstack, { A, { { 1, "x", 3 } } })
fails("ot.vstack: bad argument #1 'list' (item 3: matrix or table expected, got number)", ot.vstack, { A, A, 3 })
fails("ot.vstack: bad argument #1 'list' (nothing to stack: the list is empty)", ot.vstack, {})
do -- many items, as tables and as arguments
  local parts = {}
  for k = 1, 5000 do parts[k] = { { k, k } } end
  assert(ot.vstack(parts):sum() == 5000 * 5001)
  local ms = {}
  for k = 1, 200 do ms[k] = ot.ones(1, 3) end
  assert(shape(ot.vstack(table.unpack(ms))) == "200x3")
end
fails("ot.hstack: bad argument #1 'list' (table of matrices expected, got number)", ot.hstack, 3)
fails("ot.hstack: bad argument #2 'M' (shape 3x3 does not fit: argument #1 has 2 rows)", ot.hstack, A, ot.eye(3))

-- ---- comparisons, tables ------------------------------------------------------------------

assert(A == ot.mat({ { 1, 2, 3 }, { 4, 5, 6 } }) and A ~= T and A ~= A + 1e-12)
assert(v == ot.mat({ 1, 2, 3 }) and v == v:reshape(3, 1) and v ~= v:T())
assert(A:equals({ { 1, 2, 3 }, { 4, 5, 6 } }) and not A:equals({ { 1, 2, 3 } }) and not A:equals({ 1, 2 }))
assert((A + 1e-9):equals(A, 1e-8) and not (A + 1e-7):equals(A, 1e-8))
assert(A:allclose(A + 1e-9) and not A:allclose(A + 1e-3) and A:allclose(A + 1e-3, 1e-3))
assert(ot.allclose(A, A * (1 + 1e-6)) and not ot.allclose({ nan }, { nan }) and ot.allclose({ huge }, { huge }))
assert(not ot.allclose(A, T))
fails("Mat:equals: bad argument #2 'tol' (must be >= 0, got -1)", A.equals, A, A, -1)
fails("Mat:equals: bad argument #1 'B' (matrix or table expected, got string)", A.equals, A, "A")
fails("Mat:allclose: bad argument #1 'B' (matrix or table expected, got no value)", A.allclose, A)
fails("ot.outer: bad argument #1 'u' (matrix or table expected, got number)", ot.outer, 5, { 1 })
fails("ot.allclose: bad argument #3 'rtol' (number expected, got string)", ot.allclose, A, A, "x")
assert(A:all_finite() and select("#", A:all_finite()) == 1)
local ok, fi, fj = ot.mat({ { 1, 2 }, { huge, 4 } }):all_finite()
assert(not ok and fi == 2 and fj == 1)

local t = A:totable()
assert(#t == 2 and #t[1] == 3 and t[2][3] == 6 and ot.mat(t) == A)
local tv = v:totable()
assert(#tv == 3 and type(tv[1]) == "number" and tv[3] == 3 and ot.mat(tv) == v)
assert(#ot.zeros(0):totable() == 0 and #M:col(2):totable() == 3 and #M:col(2):totable()[1] == 1)

-- ---- printing --------------------------------------------------------------------------------

assert(tostring(A) == "Mat 2x3\n[[1 2 3]\n [4 5 6]]")
assert(tostring(v) == "Vec 3\n[1 2 3]")
assert(tostring(ot.mat({ { -1.5, 2 }, { 3, 1000.25 } })) == "Mat 2x2\n[[-1.5    2]\n [   3 1000]]")
assert(tostring(ot.mat({ nan, huge, -huge, 0.125, 1e-5, 123456789 })) ==
  "Vec 6\n[nan inf -inf 0.125 1e-05 1.235e+08]")
assert(tostring(ot.zeros(0, 3)) == "Mat 0x3\n[]" and tostring(ot.zeros(0)) == "Vec 0\n[]")
assert(tostring(ot.mat({ { 1 / 3 } })) == "Mat 1x1\n[[0.3333]]")
assert(tostring(ot.linspace(1, 20, 20)) == "Vec 20\n[1 2 3 ... 18 19 20]")
assert(tostring(ot.linspace(1, 10, 10)) == "Vec 10\n[1 2 3 4 5 6 7 8 9 10]")
local E = ot.linspace(1, 240, 240):reshape(20, 12)
assert(tostring(E) == table.concat({
  "Mat 20x12",
  "[[  1   2   3 ...  10  11  12]",
  " [ 13  14  15 ...  22  23  24]",
  " [ 25  26  27 ...  34  35  36]",
  " ...",
  " [205 206 207 ... 214 215 216]",
  " [217 218 219 ... 226 227 228]",
  " [229 230 231 ... 238 239 240]]" }, "\n"), tostring(E))
assert(tostring(E:slice(1, 2, 1, 3)) == "Mat 2x3\n[[ 1  2  3]\n [13 14 15]]") -- a view prints its own
assert(tostring(ot.zeros(11, 2)):find(" ...\n", 1, true)) -- rows alone elided
assert(not tostring(ot.zeros(10, 8)):find("...", 1, true)) -- 10 x 8 shown in full
-- per-call and session options
assert(E:tostring({ full = true }):find("[121 122 123 124 125 126 127 128 129 130 131 132]", 1, true))
assert(E:tostring({ edgeitems = 1 }) == "Mat 20x12\n[[  1 ...  12]\n ...\n [229 ... 240]]")
assert(ot.mat({ math.pi }):tostring({ precision = 8 }) == "Vec 1\n[3.1415927]")
local old = ot.printoptions()
assert(old.precision == 4 and old.edgeitems == 3 and old.maxrows == 10 and old.maxcols == 8)
ot.printoptions({ precision = 2, maxrows = 30 })
assert(tostring(ot.mat({ math.pi })) == "Vec 1\n[3.1]")
assert(not tostring(E):find(" ...\n", 1, true) and tostring(E):find("[205 206 207 ... 214 215 216]", 1, true))
ot.printoptions(old)
assert(tostring(ot.mat({ math.pi })) == "Vec 1\n[3.142]")
fails("ot.printoptions: bad argument #1 'opts' (unknown option 'precison'", ot.printoptions, { precison = 3 })
fails("ot.printoptions: bad argument #1 'opts' (option 'precision' must be in 1..17, got 0)", ot.printoptions, { precision = 0 })
fails("ot.printoptions: bad argument #1 'opts' (option 'full' applies to M:tostring only)", ot.printoptions, { full = true })
fails("Mat:tostring: bad argument #1 'opts' (option 'edgeitems' must be an integer, got string)", E.tostring, E, { edgeitems = "x" })
fails("Mat:tostring: bad argument #1 'opts' (option 'precision' must be an integer, got 2.5)", E.tostring, E, { precision = 2.5 })
fails("Mat:tostring: bad argument #1 'opts' (unknown option 'ful'; known: precision, edgeitems, maxrows, maxcols, full)", E.tostring, E, { ful = true })
fails("Mat:tostring: bad argument #1 'opts' (table expected, got number)", E.tostring, E, 3)

-- ---- errors leave everything usable --------------------------------------------------------

for _ = 1, 3 do
  assert(not pcall(A.get, A, 9, 9))
  assert(not pcall(function() return A + T end))
  assert(A:get(2, 2) == 5 and (A + 1):sum() == 27)
end
-- over the memory budget: refused before allocating, and the session goes on
local limit = ot.mem_limit()
ot.mem_limit("64M")
fails("ot.ones: cannot allocate a 10000x10000 matrix: needs 762.9 MiB, memory budget is 64.0 MiB", ot.ones, 10000, 10000)
fails("Mat.__add: cannot allocate a 5000x5000 matrix", function() return ot.zeros(5000, 1) + ot.zeros(1, 5000) end)
ot.mem_limit(limit)
assert(ot.zeros(3, 3):sum() == 0)
print("ok")
