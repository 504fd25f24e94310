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

-- ---- coloured text, names ---------------------------------------------------------
local M23 = ot.mat({{0, 1, 2}, {3, 4, 5}})
s = ui.heatmap(M23, {width = 30, height = 5, color = true, print = false})
assert(s:find("\27[38;5;53m", 1, true) and s:find("\u{2588}", 1, true), s)
assert(ui.heatmap(M23, {width = 30, height = 5, print = false}):find("[ .:-=+*#%@]", 1, true),
       "no colour into a pipe")
s = ui.heatmap(M23, {width = 30, height = 6, rows = {"zero", "one"}, cols = {"a", "b", "c"},
                     print = false})
assert(s:find("zero   ::==", 1, true) and s:find("     a b c", 1, true), s)
assert(errmsg(ui.heatmap, M23, {rows = {"x"}}):find("ui.heatmap: bad argument #2 'opts' (option 'rows' must be a table of 2 strings)", 1, true))
s = ui.scatter(ot.mat({{0, 0}, {1, 1}}), {0, 1}, {width = 20, height = 8, color = true, print = false})
assert(s:find("\u{2840}", 1, true) and s:find("\27[38;5;208m", 1, true), s)

-- ---- the panel without a terminal ------------------------------------------------------
-- (tests run with --no-panel and no terminal: ui.show prints the panel as text)
local X = ot.mat({{0}, {1}, {2}, {3}})
local P1, info1 = ot.sinkhorn(nil, nil, ot.dist(X, X), 0.5)
s = ui.show({width = 80, height = 20, print = false})
-- (three spaces between the header's fields, one when they would not fit the width)
assert(s:find("^otlab panel: sinkhorn +iteration %d+/%d+ +err ") and s:find("q close panel", 1, true), s)
local wide = ui.show({width = 120, height = 20, print = false})
assert(wide:find("^otlab panel: sinkhorn   iteration %d+/%d+   err "), wide)
assert(s:find("marginal error (log)", 1, true), s)
ui.hide()
local r1, r2 = ui.watch(function(a, b) return a + b, "x" end, 1, 2)
assert(r1 == 3 and r2 == "x")
assert(not pcall(ui.watch, function() error("boom") end))
assert(errmsg(ui.watch, 1):find("ui.watch: bad argument #1 'f' (function expected, got number)", 1, true))

-- ---- ui.save: the files are valid -------------------------------------------------------
local crc_table = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do c = (c & 1) ~= 0 and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  crc_table[i] = c
end
local function crc32(str)
  local c = 0xFFFFFFFF
  for i = 1, #str do c = crc_table[(c ~ str:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end
assert(crc32("IEND") == 0xAE426082) -- the CRC every PNG's IEND chunk carries
local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local d = f:read("a")
  f:close()
  return d
end
-- PNG: signature, then chunks with correct CRCs: IHDR first, IDAT, IEND last
local function check_png(path, w, h)
  local d = slurp(path)
  assert(d:sub(1, 8) == "\137PNG\r\n\26\n", "PNG signature")
  local pos, types = 9, {}
  while pos <= #d do
    local len = string.unpack(">I4", d, pos)
    local body = d:sub(pos + 4, pos + 7 + len)
    local crc = string.unpack(">I4", d, pos + 8 + len)
    assert(crc == crc32(body), "CRC of chunk " .. body:sub(1, 4))
    types[#types + 1] = body:sub(1, 4)
    if #types == 1 then
      local W, H, depth, ctype = string.unpack(">I4I4BB", body, 5)
      assert(W == w and H == h and depth == 8 and ctype == 2, ("IHDR %d x %d"):format(W, H))
    end
    pos = pos + 12 + len
  end
  assert(pos == #d + 1, "chunks end at the end of the file")
  assert(types[1] == "IHDR" and types[#types] == "IEND", table.concat(types, " "))
  local idat = false
  for _, t in ipairs(types) do idat = idat or t == "IDAT" end
  assert(idat, "an IDAT chunk")
end
local tmp = os.tmpname()
os.remove(tmp)
assert(ui.save(tmp .. ".png", M23) == true)
check_png(tmp .. ".png", 3 * 170, 2 * 170)
assert(ui.save(tmp .. ".png", M23, {scale = 4}) == true)
check_png(tmp .. ".png", 12, 8)
assert(ui.save(tmp .. "s.png", ot.randn(30, 2), ot.randperm(30)) == true)
check_png(tmp .. "s.png", 512, 512)
-- PGM: P5 header, exactly w * h bytes after it
assert(ui.save(tmp .. ".pgm", M23, {scale = 2}) == true)
local d = slurp(tmp .. ".pgm")
local W, H, body = d:match("^P5\n(%d+) (%d+)\n255\n(.*)$")
assert(W == "6" and H == "4" and #body == 24, "PGM header")
assert(body:byte(1) == 0 and body:byte(24) == 255, "lowest black, highest white")
-- SVG: an XML declaration, one <svg> element closed at the end, escaped title,
-- one element per matrix entry
local function check_svg(path)
  local t = slurp(path)
  assert(t:find('^<%?xml version="1.0" encoding="UTF%-8"%?>\n<svg xmlns="http://www.w3.org/2000/svg"'), t:sub(1, 80))
  assert(t:find("</svg>\n$"))
  local _, opens = t:gsub("<svg", "")
  assert(opens == 1)
  for tag in t:gmatch("<(%a+)[^>]*[^/]>") do
    assert(tag == "svg" or tag == "text" or tag == "g", "unclosed element " .. tag)
  end
  return t
end
assert(ui.save(tmp .. ".svg", M23, {title = "a<b & c"}) == true)
local t = check_svg(tmp .. ".svg")
assert(t:find("a&lt;b &amp; c", 1, true))
local _, rects = t:gsub("<rect ", "")
assert(rects == 6, rects)
assert(ui.save(tmp .. "c.svg", {1, 0.1, 0.01}, {logy = true}) == true)
assert(check_svg(tmp .. "c.svg"):find("<polyline", 1, true))
assert(ui.save(tmp .. "p.svg", ot.mat({{0, 0}, {1, 1}}), {1, 2}) == true)
local _, circles = check_svg(tmp .. "p.svg"):gsub("<circle ", "")
assert(circles == 2)
-- CSV of curves and of a matrix
assert(ui.save(tmp .. ".csv", {1, 2, 3}, {{1, 0.5, 0.25}, {3, 2, 1}}, {labels = {"a", "b"}}) == true)
assert(slurp(tmp .. ".csv") == "x,a,b\n1,1,3\n2,0.5,2\n3,0.25,1\n", slurp(tmp .. ".csv"))
assert(ui.save(tmp .. "m.csv", M23) == true)
assert(slurp(tmp .. "m.csv") == "0,1,2\n3,4,5\n")
-- errors and failures
assert(errmsg(ui.save, tmp .. ".jpg", M23):find("ui.save: bad argument #1 'file' (the name must end in .png, .svg, .pgm or .csv", 1, true))
assert(errmsg(ui.save, tmp .. ".png", {1, 2, 3}):find("curves save as .svg or .csv", 1, true))
assert(errmsg(ui.save, tmp .. ".png", M23, {bogus = 1}):find("unknown option 'bogus'", 1, true))
local ok, msg = ui.save("/nonexistent-dir/x.png", M23)
assert(ok == nil and msg:find("/nonexistent-dir/x.png", 1, true))
for _, suffix in ipairs({".png", "s.png", ".pgm", ".svg", "c.svg", "p.svg", ".csv", "m.csv"}) do
  os.remove(tmp .. suffix)
end

-- ---- demos ------------------------------------------------------------------------
local demos = require("prelude").demos()
local names = {}
for _, dm in ipairs(demos) do names[dm.name] = dm.title end
assert(names.sinkhorn_eps and names.exact_vs_entropic, "the OT-core demos are listed")
-- the two OT-core demos run and narrate
for _, name in ipairs({"sinkhorn_eps", "exact_vs_entropic"}) do
  local said = {}
  local old_print, old_write = print, io.write
  print = function(...) said[#said + 1] = table.concat({...}, "\t") end
  io.write = function(...) said[#said + 1] = table.concat({...}) end
  -- sinkhorn_eps in its quick form (a small live run: valgrind runs this test)
  local ok, err
  if name == "sinkhorn_eps" then
    ok, err = pcall(assert(loadfile(OTLAB_ROOT .. "/scripts/demos/sinkhorn_eps.lua")), "quick")
  else
    ok, err = pcall(demo, name)
  end
  print, io.write = old_print, old_write
  assert(ok, err)
  local text = table.concat(said, "\n")
  assert(text:find("Takeaway:", 1, true), name)
  if name == "sinkhorn_eps" then
    -- smaller epsilon: more iterations and less blur
    local its, blurs = {}, {}
    for it, blur in text:gmatch("(%d+) iterations, [%d.]+ s, cost [%d.]+ %(exact [%d.]+%), blur ([%d.]+)") do
      its[#its + 1], blurs[#blurs + 1] = tonumber(it), tonumber(blur)
    end
    assert(#its == 3 and its[1] < its[2] and its[2] < its[3], text)
    assert(blurs[1] > blurs[2] and blurs[2] > blurs[3])
  else
    assert(text:find("80 non-zero entries out of 6400", 1, true), text)
  end
end

print("OK")
