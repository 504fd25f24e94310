print("testing ui")

-- The text plots: shapes of the returned text, argument errors, printing.

assert(ui == ot.ui and type(ui.plot) == "function")

local function errmsg(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return msg
end

local function lines(s)
  local t = {}
  for line in s:gmatch("([^\n]*)\n") do t[#t + 1] = line end
  return t
end

-- every line: no trailing spaces, at most w characters (ASCII here)
local function check_shape(s, w, h)
  assert(s:sub(-1) == "\n", "text ends with a newline")
  local ls = lines(s)
  if h then assert(#ls == h, ("%d lines, want %d"):format(#ls, h)) end
  for _, l in ipairs(ls) do
    assert(#l <= w, ("line wider than %d: '%s'"):format(w, l))
    assert(not l:find(" $"), "trailing space: '" .. l .. "'")
    assert(not l:find("[\128-\255]"), "ASCII only: " .. l)
  end
  return ls
end

-- ---- ui.plot ---------------------------------------------------------------------
local s = ui.plot({1, 4, 9, 16}, {width = 30, height = 8, print = false})
assert(s == table.concat({
  "20 +",
  "   |                        **",
  "10 +                     ***",
  "   |                *****",
  "   |          ******",
  " 0 +      ****",
  "   ++------------+-----------+",
  "    0            2           4",
  ""}, "\n"), s)
-- xs and ys, matrices or tables
local x = ot.linspace(0, 6, 40)
s = ui.plot(x, x:map(math.sin), {width = 50, height = 12, title = "sin", print = false})
local ls = check_shape(s, 50, 12)
assert(ls[1]:find("sin", 1, true))
-- several series: legend with the names
s = ui.plot(x, {x:map(math.sin), x:map(math.cos)}, {width = 60, height = 14,
            labels = {"sin", "cos"}, xlabel = "t", ylabel = "value", print = false})
ls = check_shape(s, 60, 14)
assert(ls[1] == "value", ls[1])
assert(ls[14]:find("* sin   + cos", 1, true), ls[14])
assert(ls[13]:find("^%s+t$"), ls[13])
s = ui.plot({{1, 2, 3}, ot.mat({3, 2, 1})}, {width = 40, height = 10, print = false})
ls = check_shape(s, 40, 10)
assert(ls[10]:find("* series 1   + series 2", 1, true), ls[10])
-- log scale: ticks at powers of ten, non-positive values skipped
s = ui.plot({1, 0.1, 0.01, 0, -1, 1e-3}, {logy = true, width = 40, height = 10, print = false})
ls = check_shape(s, 40, 10)
assert(s:find("0.01", 1, true) and ls[1]:find("^%s*1 %+"), s)
-- NaN, constant data, a single point, no points
check_shape(ui.plot({1, 0 / 0, 3, math.huge}, {width = 30, height = 8, print = false}), 30, 8)
check_shape(ui.plot({2, 2, 2}, {width = 30, height = 8, print = false}), 30, 8)
check_shape(ui.plot({5}, {width = 30, height = 8, print = false}), 30, 8)
check_shape(ui.plot({}, {width = 30, height = 8, print = false}), 30, 8)
-- the default size without a terminal: 72 x 20
ls = check_shape(ui.plot({1, 2, 3}, {print = false}), 72, 20)

-- errors name the function as users call it
local msg = errmsg(ui.plot)
assert(msg:find("ui.plot: bad argument #1 'ys' (vector or table of numbers expected, got no value)", 1, true), msg)
msg = errmsg(ui.plot, {1, "a"})
assert(msg:find("ui.plot: bad argument #1 'ys' (ys[2] is string, not a number)", 1, true), msg)
msg = errmsg(ui.plot, {1, 2, 3}, {1, 2})
assert(msg:find("ui.plot: bad argument #2 'ys' (has 2 entries but xs has 3)", 1, true), msg)
msg = errmsg(ui.plot, {{1, 2}, {1, "x"}})
assert(msg:find("ui.plot: bad argument #1 'ys[2]' (ys[2][2] is string, not a number)", 1, true), msg)
msg = errmsg(ui.plot, ot.zeros(3, 3))
assert(msg:find("ui.plot: bad argument #1 'ys' (vector expected, got a 3x3 matrix)", 1, true), msg)
msg = errmsg(ui.plot, {1, 2}, {colour = "red"})
assert(msg:find("ui.plot: bad argument #2 'opts' (unknown option 'colour'", 1, true), msg)
msg = errmsg(ui.plot, {1, 2}, {width = 0})
assert(msg:find("ui.plot: bad argument #2 'opts' (option 'width' must be in 1..4096, got 0)", 1, true), msg)
msg = errmsg(ui.plot, {1, 2}, {width = 30, height = 3})
assert(msg:find("ui.plot: a 30x3 grid is too small for this plot", 1, true), msg)
msg = errmsg(ui.plot, {1, 2}, {labels = "a"})
assert(msg:find("option 'labels' must be a table of strings", 1, true), msg)
msg = errmsg(ui.plot, {1, 2}, {title = 5})
assert(msg:find("ui.plot: bad argument #2 'opts' (option 'title' must be a string, got number)", 1, true), msg)
-- the next call works after an error
assert(#lines(ui.plot({1, 2}, {width = 30, height = 6, print = false})) == 6)

-- ---- ui.heatmap ------------------------------------------------------------------
s = ui.heatmap(ot.mat({{0, 1, 2}, {3, 4, 5}}), {width = 20, height = 6, print = false})
assert(s == "  1    3\n1   ::==\n2 **%%@@\n[ .:-=+*#%@] 0 .. 5\n", s)
s = ui.heatmap({{7}}, {print = false})
assert(s == "  1\n1 ++\n[ .:-=+*#%@] 7 .. 7\n", s)
s = ui.heatmap(ot.mat({{0, 0 / 0}, {1, 2}}), {width = 30, height = 6, print = false})
assert(s:find("??", 1, true) and s:find("?=nan/inf", 1, true), s)
-- large: block means, fits the grid
local P = ot.rand(300, 500)
s = ui.heatmap(P, {width = 60, height = 20, title = "P", print = false})
ls = check_shape(s, 60, 20)
assert(ls[2]:find("500$") and ls[19]:find("^300"), s)
assert(ls[20]:find("means of 18x9 blocks", 1, true), ls[20])
-- a vector is one row
s = ui.heatmap(ot.mat({1, 2, 3}), {print = false})
assert(#lines(s) == 3, s)
msg = errmsg(ui.heatmap, ot.zeros(0, 3))
assert(msg:find("ui.heatmap: bad argument #1 'M' (is empty (0x3))", 1, true), msg)
msg = errmsg(ui.heatmap, "M")
assert(msg:find("ui.heatmap: bad argument #1 'M'", 1, true), msg)
msg = errmsg(ui.heatmap, {{1}}, {width = 2, height = 2})
assert(msg:find("ui.heatmap: a 2x2 grid is too small", 1, true), msg)
assert(#ui.heatmap({{1, 2}}, {print = false, ascii = true}) > 0)

-- ---- ui.scatter -------------------------------------------------------------------
local X = ot.mat({{0, 0}, {1, 1}, {2, 0}, {1, -1}})
s = ui.scatter(X, {0, 1, 2, 1}, {width = 24, height = 8, print = false})
assert(s == table.concat({
  " 1 +          1",
  "   |",
  " 0 +0                  2",
  "   |",
  "-1 +          1",
  "   ++---------+--------+",
  "    0         1        2",
  "    classes: 0 1 2",
  ""}, "\n"), s)
s = ui.scatter(X, ot.mat({-1, 3, 3, 10}), {width = 24, height = 8, print = false})
assert(lines(s)[8] == "    a=-1   b=3   c=10", s)
s = ui.scatter(X, {width = 24, height = 8, print = false}) -- no labels
assert(s:find("*", 1, true) and not s:find("classes"), s)
ot.seed(3)
check_shape(ui.scatter(ot.randn(200, 2), nil, {print = false, title = "cloud"}), 72, 20)
msg = errmsg(ui.scatter, ot.zeros(3, 3))
assert(msg:find("ui.scatter: bad argument #1 'X' (must be n x 2 (one point per row), got 3x3)", 1, true), msg)
msg = errmsg(ui.scatter, X, {1, 2})
assert(msg:find("ui.scatter: bad argument #2 'labels' (has 2 entries, needs 4 (one per point))", 1, true), msg)
msg = errmsg(ui.scatter, X, {1, 2, 3, 1.5})
assert(msg:find("ui.scatter: bad argument #2 'labels' (labels[4] = 1.5 is not an integer)", 1, true), msg)
msg = errmsg(ui.scatter, X, {1, 2, 3, 0 / 0})
assert(msg:find("(labels[4] = nan is not an integer)", 1, true), msg)
msg = errmsg(ui.scatter, X, nil, {logy = true})
assert(msg:find("ui.scatter: bad argument #3 'opts' (unknown option 'logy'", 1, true), msg)

-- ---- ui.sparkline ---------------------------------------------------------------------
assert(ui.sparkline({1, 2, 3, 4, 5, 6, 7, 8}, {ascii = true}) == "_.-~=+*#")
assert(ui.sparkline({1, 2, 3, 4, 5, 6, 7, 8}, {ascii = false}) == "▁▂▃▄▅▆▇█")
assert(ui.sparkline({1, 0 / 0, 1}, {ascii = true}) == "~ ~")
assert(ui.sparkline(ot.linspace(0, 1, 8), {width = 4, ascii = true}) == "_-+#")
assert(ui.sparkline({}) == "")
-- LC_ALL=C in the test environment: ASCII by default
if os.getenv("LC_ALL") == "C" then assert(ui.sparkline({1, 2}) == "_#") end
assert(#ui.sparkline(ot.rand(1000), {ascii = true}) == 72)
msg = errmsg(ui.sparkline, {1, {}})
assert(msg:find("ui.sparkline: bad argument #1 'values' (values[2] is table, not a number)", 1, true), msg)
msg = errmsg(ui.sparkline, {1}, {width = 0})
assert(msg:find("ui.sparkline: bad argument #2 'opts' (option 'width' must be in 1..100000, got 0)", 1, true), msg)

-- ---- printing goes through io.write ----------------------------------------------------------
local out = {}
local old = io.write
io.write = function(...) for _, v in ipairs({...}) do out[#out + 1] = v end end
local r = ui.plot({1, 2, 3}, {width = 30, height = 8})
io.write = old
assert(r == nil and #out == 1 and out[1] == ui.plot({1, 2, 3}, {width = 30, height = 8, print = false}))

-- help(ui) lists the functions with their summaries
out = {}
local old_print = print
print = function(...) out[#out + 1] = table.concat({...}, "\t") end
help(ui)
print = old_print
assert(out[1] and out[1]:find("ui.plot%s+Line plot") and out[1]:find("ui.sparkline"), out[1])

print("OK")
