print("testing prelude")

-- The prelude as the host loaded it: its printer, help index and pages.
local P = require("prelude")
assert(type(P.show) == "function" and type(P.format) == "function")
for _, g in ipairs({ "help", "apropos", "pp", "time", "timeit", "demo" }) do
  assert(type(_G[g]) == "function", g .. " is not a global function")
end
assert(ot == require("ot"))

-- Numbers print and parse with a dot whatever the user's locale.
assert(tostring(1.5) == "1.5" and tonumber("2.25") == 2.25)
assert(string.format("%.2f", 0.5) == "0.50")

-- Capture what print and io.write produce while f runs.
local function capture(f, ...)
  local out = {}
  local old_print, old_write = print, io.write
  print = function(...)
    local t = table.pack(...)
    for i = 1, t.n do t[i] = tostring(t[i]) end
    out[#out + 1] = table.concat(t, "\t") .. "\n"
  end
  io.write = function(...)
    for _, s in ipairs({ ... }) do out[#out + 1] = tostring(s) end
  end
  local ok, err = pcall(f, ...)
  print, io.write = old_print, old_write
  assert(ok, err)
  return table.concat(out)
end

-- ---- the pretty printer ----------------------------------------------------
local F = P.format
assert(F(3) == "3" and F(1.0) == "1.0" and F(0.1) == "0.1")
assert(F(nil) == "nil" and F(true) == "true")
assert(F('a"b\n') == '"a\\"b\\n"', F('a"b\n'))
assert(F({}) == "{}")
-- array part first, in order; then keys sorted: numbers, strings
assert(F({ b = 1, a = 2, 10, 20 }) == "{10, 20, a = 2, b = 1}", F({ b = 1, a = 2, 10, 20 }))
local mixed = F({ [3] = "c", [1.5] = 1, z = 1, ["a b"] = 2, ["end"] = 0 })
assert(mixed == '{[1.5] = 1, [3] = "c", ["a b"] = 2, ["end"] = 0, z = 1}', mixed)
-- cycles are marked; a table seen twice but not on the path is printed twice
local t = {}
t.self = t
assert(F(t) == "{self = <cycle>}", F(t))
local a = { x = {} }
a.x.back = a
assert(F(a) == "{x = {back = <cycle>}}", F(a))
local s = { 1 }
assert(F({ p = s, q = s }) == "{p = {1}, q = {1}}")
-- depth cap
local deep = F({ a = { b = { c = { d = 1 } } } })
assert(deep == "{a = {b = {c = {...} (1 entry)}}}", deep)
assert(F({ a = { b = 1 } }, { depth = 1 }) == "{a = {...} (1 entry)}")
-- item cap
local long = {}
for i = 1, 40 do long[i] = i end
assert(F(long, { items = 5 }) == "{1, 2, 3, 4, 5, ... (35 more)}", F(long, { items = 5 }))
-- long strings inside tables are cut, at top level they are not
assert(F({ string.rep("x", 300) }):find("(300 bytes)", 1, true))
assert(#F(string.rep("x", 300)) == 302)
-- too wide for one line: one entry per line, indented
local wide = {}
for i = 1, 20 do wide["key" .. i] = string.rep("v", 10) end
local w = F(wide)
assert(w:sub(1, 2) == "{\n" and w:find('\n  key1 = "vvvvvvvvvv",\n', 1, true), w)
-- matrices print themselves; inside a table too, indented
local m = ot.zeros(2, 2)
assert(F(m) == tostring(m))
assert(F({ m = m }):find(tostring(m):gsub("\n", "\n  "), 1, true))
-- __tostring is used, and its failure does not break printing
assert(F(setmetatable({}, { __tostring = function() return "obj" end })) == "obj")
assert(F(setmetatable({}, { __tostring = function() error("boom") end })):find("__tostring failed"))
-- solver info tables: one line, headline keys first, short numbers
local info = F({ err = 1.23456789e-5, iter = 3, converged = true, value = 2.5, method = "log" })
assert(info == '{value = 2.5, converged = true, iter = 3, err = 1.23457e-05, method = "log"}', info)
-- otlab functions print with their names
assert(F(ot.zeros) == "function: ot.zeros")
assert(F(help) == "function: help")
-- bad options are errors naming the option
local ok, err = pcall(F, {}, { bogus = 1 })
assert(not ok and err:find("unknown option 'bogus'"), err)
-- pp and the auto-printer write one line per short value
assert(capture(pp, 1, "a") == '1\t"a"\n')
assert(capture(P.show, { 1 }, nil) == "{1}\tnil\n")

-- ---- help -----------------------------------------------------------------------
assert(P.name_of(ot.zeros) == "ot.zeros")
assert(P.name_of(print) == nil)
local methods = getmetatable(ot.zeros(1, 1)).__index
assert(P.name_of(methods.shape) == "Mat:shape")
assert(P.name_of(time) == "time")
if ot.data then assert(P.name_of(ot.data.digits) == "ot.data.digits") end

local seed_page = P.page("ot.seed")
assert(seed_page and seed_page:match("^ot%.seed%(n%)"), "page ot.seed")
assert(capture(help, ot.seed) == seed_page .. "\n")    -- by value
assert(capture(help, "ot.seed") == seed_page .. "\n")  -- by qualified name
assert(capture(help, "seed") == seed_page .. "\n")     -- by short name
assert(capture(help, help):match("^help%(%[what%]%)"))
assert(capture(help, "no_such_thing"):find("no help for 'no_such_thing'"))
assert(capture(help, print):find("not part of otlab"))
assert(capture(help, m):match("^Mat"))                -- a matrix: its type
local topics = capture(help)
assert(topics:find("\not%s") and topics:find("zeros") and topics:find("\nglobals%s+apropos demo help"), topics)
assert(capture(help, "ot"):find("ot.zeros", 1, true))
assert(capture(help, "Mat"):find("shape"))

-- apropos finds names and page text, names first
local found = capture(apropos, "seed")
assert(found:match("^ot%.seed%s"), found)
assert(capture(apropos, "zzzqqq"):find("nothing found"))
assert(not pcall(apropos, 42))

-- ---- timing ------------------------------------------------------------------
local out = capture(function()
  local x, y = time(function(p, q) return p + q, "two" end, 1, 2)
  assert(x == 3 and y == "two")
end)
assert(out:match("^time: [%d.]+ [um]?s\n$"), out)
assert(not pcall(time, 42))
local stats
out = capture(function() stats = timeit(function() return math.sqrt(2) end, 5) end)
assert(stats.n == 5 and #stats.times == 5)
assert(stats.min <= stats.median and stats.median <= stats.max and stats.iqr >= 0)
assert(out:match("^timeit: median"), out)
assert(tostring(stats):match("^timeit: median"))
assert(not pcall(timeit, print, 0))
assert(P.duration(2e-6) == "2.0 us" and P.duration(0.0125) == "12.50 ms" and P.duration(2) == "2.000 s")

-- ---- demos -------------------------------------------------------------------
assert(type(P.demos()) == "table")
assert(capture(demo):find("demo"))
assert(not pcall(demo, "no-such-demo"))

-- ---- the session's host module ------------------------------------------------
local host = package.loaded["otlab.host"]
assert(host and host.root == OTLAB_ROOT and host.interactive == false and host.panel == false)
assert(type(host.clock()) == "number")
local names = host.listdir(OTLAB_ROOT .. "/share/help")
assert(type(names) == "table" and #names > 0)
assert(host.listdir("/no/such/dir") == nil)

-- ---- checks that report every problem before failing ---------------------------
local problems = {}

-- Every otlab function reachable from the session has a help page.
local missing = {}
for name in pairs(P.functions()) do
  if not P.page(name) then missing[#missing + 1] = name end
end
table.sort(missing)
if #missing > 0 then
  print("functions without a help page (" .. #missing .. "):")
  for _, n in ipairs(missing) do print("  " .. n) end
  problems[#problems + 1] = #missing .. " functions without a help page"
end

-- Every page's example runs: the lines of a page run in order in a fresh
-- environment (so `X = ...` on one line serves the next), with the prompt's
-- forms translated (`?name` is help, a trailing `;` only hides the result).
-- This is the one place that runs the examples of every module's pages.
for name in pairs(P.functions()) do
  local page = P.page(name)
  local env = setmetatable({}, { __index = _G })
  for line in (page or ""):gmatch("\n  > ([^\n]*)") do
    local code = line:gsub(";%s*$", "")
    if not code:match("^%?") then
      local chunk = load("return " .. code, "=example", "t", env) or load(code, "=example", "t", env)
      if not chunk then
        problems[#problems + 1] = "example of " .. name .. " does not parse: " .. line
        break
      end
      local ok, err = pcall(capture, chunk)
      if not ok then
        problems[#problems + 1] = "example of " .. name .. " fails: " .. line .. ": " .. tostring(err)
        break
      end
    end
  end
end

-- The man page is the output of scripts/mkman.lua on the current pages.
local mk = assert(loadfile(OTLAB_ROOT .. "/scripts/mkman.lua", "t"))("--module")
local want = mk.build(OTLAB_ROOT)
local f = assert(io.open(OTLAB_ROOT .. "/share/man/otlab.1", "rb"))
local have = f:read("a")
f:close()
if have ~= want then
  local i = 1
  while have:sub(i, i) == want:sub(i, i) do i = i + 1 end
  local line = select(2, want:sub(1, i):gsub("\n", "")) + 1
  problems[#problems + 1] = "share/man/otlab.1 is out of date from line " .. line ..
    " (regenerate: otlab scripts/mkman.lua > share/man/otlab.1)"
end

if #problems > 0 then error(table.concat(problems, "\n"), 0) end
print("OK")
