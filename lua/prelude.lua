-- prelude.lua: the globals of an otlab session -- help, apropos, pretty
-- printing, timing, demos.  The only Lua file that creates globals, on
-- purpose: ot, help, apropos, pp, time, timeit, demo.
--
-- The host (src/repl/main.c) requires this module once at start-up and
-- keeps the returned table: its `show` prints the results of each command
-- typed at the prompt.  Help pages come from share/help/*.txt, where each
-- entry starts with a line "@@ <qualified name>" followed by the signature.

local M = {}

local fmt, concat, sort = string.format, table.concat, table.sort
local mtype = math.type

ot = require("ot")

-- ot.data is written in Lua (lua/data.lua); the session starts without it
-- when it is missing, and says why when it is broken.
do
  local ok, data = pcall(require, "data")
  if ok then
    ot.data = data
  elseif not tostring(data):find("module 'data' not found", 1, true) then
    io.stderr:write("otlab: warning: ot.data is not available: ", tostring(data), "\n")
  end
end

-- The panel's functions, when the build has them, are the global `ui`.
if type(ot.ui) == "table" then ui = ot.ui end

-- What the host tells us (root directory, directory listing, a wall clock).
local host = package.loaded["otlab.host"] or {}
local root = host.root or OTLAB_ROOT or "."
local clock = host.clock or os.clock

local function errorf(fname, argn, name, reason, ...)
  error(fmt("%s: bad argument #%d '%s' (%s)", fname, argn, name, fmt(reason, ...)), 0)
end

-- The names of a directory's entries, sorted; {} when it cannot be read.
local function listdir(dir)
  if not host.listdir then return {} end
  local names = host.listdir(dir)
  if not names then return {} end
  sort(names)
  return names
end

-- ---- the pretty printer ----------------------------------------------------

M.defaults = {
  depth = 3,   -- nesting shown before "{...}"
  items = 30,  -- entries shown per table before "... (N more)"
  width = 78,  -- a table fits on one line up to this many columns
  string = 200 -- characters of a string shown inside a table
}

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local
  nil not or repeat return then true until while]]):gmatch("%a+") do
  keywords[w] = true
end

local function is_name(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil and not keywords[k]
end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r",
                  ["\t"] = "\\t", ["\0"] = "\\0" }

-- s in double quotes with escapes, cut to `max` characters when given.
local function quote(s, max)
  local extra = ""
  if max and #s > max then
    extra = fmt("... (%d bytes)", #s)
    s = s:sub(1, max)
  end
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or fmt("\\%d", c:byte())
  end) .. '"' .. extra
end

-- Numbers as Lua prints them (a float keeps its ".0"); compact: 6 digits.
local function number(x, compact)
  if compact and mtype(x) == "float" and x == x and x ~= math.huge and x ~= -math.huge then
    return fmt("%.6g", x)
  end
  return tostring(x)
end

-- Order of keys: numbers, then strings, then anything else.
local rank = { number = 1, string = 2, boolean = 3 }
local function key_less(a, b)
  local ra, rb = rank[type(a)] or 4, rank[type(b)] or 4
  if ra ~= rb then return ra < rb end
  if ra <= 2 then return a < b end
  return tostring(a) < tostring(b)
end

-- Keys that head a solver's info table, in this order.
local info_first = { "value", "cost", "distance", "objective", "converged", "status",
                     "iterations", "iter", "niter", "err", "error", "time" }
local info_rank = {}
for i, k in ipairs(info_first) do info_rank[k] = i end

-- A solver's info table: a flat record of scalars with a telltale key.
local function is_info(t)
  local n, telltale = 0, false
  for k, v in next, t do
    n = n + 1
    if type(k) ~= "string" or n > 20 then return false end
    local tv = type(v)
    if tv ~= "number" and tv ~= "boolean" and tv ~= "string" and not ot.ismat(v) then
      return false
    end
    if info_rank[k] then telltale = true end
  end
  return telltale
end

local format -- forward

-- Info tables as a compact record, headline keys first, numbers with 6
-- digits, matrices by their shape only (print info.u to see one), wrapped
-- to the printer's width.
local function format_info(t, opts, indent)
  local keys = {}
  for k in next, t do keys[#keys + 1] = k end
  sort(keys, function(a, b)
    local ra, rb = info_rank[a] or 99, info_rank[b] or 99
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  local parts = {}
  for i, k in ipairs(keys) do
    local v = t[k]
    local text
    if type(v) == "number" then
      text = number(v, true)
    elseif type(v) == "string" then
      text = quote(v, 60)
    elseif ot.ismat(v) then
      text = "<" .. tostring(v):match("^[^\n]*") .. ">"
    else
      text = tostring(v)
    end
    parts[i] = k .. " = " .. text
  end
  local lines, line = {}, "{"
  for i, part in ipairs(parts) do
    local piece = part .. (i < #parts and "," or "}")
    if #line > 1 and #indent + #line + 1 + #piece > opts.width then
      lines[#lines + 1] = line
      line = indent .. " " .. piece
    else
      line = line .. (#line > 1 and " " or "") .. piece
    end
  end
  lines[#lines + 1] = line
  return concat(lines, "\n")
end

local function format_key(k, opts, seen, indent)
  if is_name(k) then return k end
  if type(k) == "string" then return "[" .. quote(k, opts.string) .. "]" end
  return "[" .. format(k, opts, seen, indent, opts.depth) .. "]"
end

-- A table: array part first, then the other keys sorted; one line when it
-- fits, else one entry per line.  seen marks the tables being printed.
local function format_table(t, opts, seen, indent, depth)
  if seen[t] then return "<cycle>" end
  local count = 0
  for _ in next, t do count = count + 1 end
  if count == 0 then return "{}" end
  if depth >= opts.depth then return fmt("{...} (%d %s)", count, count == 1 and "entry" or "entries") end
  if is_info(t) then return format_info(t, opts, indent) end
  seen[t] = true
  local items, shown = {}, 0
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local inner = indent .. "  "
  for i = 1, n do
    if shown >= opts.items then break end
    shown = shown + 1
    items[shown] = format(rawget(t, i), opts, seen, inner, depth + 1)
  end
  local keys = {}
  for k in next, t do
    if not (mtype(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  sort(keys, key_less)
  for _, k in ipairs(keys) do
    if shown >= opts.items then break end
    shown = shown + 1
    items[shown] = format_key(k, opts, seen, inner) .. " = " ..
      format(rawget(t, k), opts, seen, inner, depth + 1)
  end
  seen[t] = nil
  if count > shown then items[#items + 1] = fmt("... (%d more)", count - shown) end
  local line = "{" .. concat(items, ", ") .. "}"
  if #line + #indent <= opts.width and not line:find("\n", 1, true) then return line end
  return "{\n" .. inner .. concat(items, ",\n" .. inner) .. "\n" .. indent .. "}"
end

local name_of -- forward: the qualified name of a function (help index)

-- Format any value; nested values are indented by `indent`.
format = function(v, opts, seen, indent, depth)
  local tv = type(v)
  if tv == "string" then
    return quote(v, depth > 0 and opts.string or nil)
  elseif tv == "number" then
    return number(v)
  elseif tv == "function" then
    local name = name_of(v)
    return name and "function: " .. name or tostring(v)
  end
  local mt = getmetatable(v)
  if mt ~= nil and type(mt) == "table" and rawget(mt, "__tostring") then
    local ok, s = pcall(tostring, v)
    if not ok then s = "<__tostring failed: " .. tostring(s) .. ">" end
    if indent ~= "" then s = s:gsub("\n", "\n" .. indent) end
    return s
  end
  if tv == "table" then return format_table(v, opts, seen, indent, depth) end
  return tostring(v)
end

-- M.format(v [, opts]): the text auto-print shows for v.  opts overrides
-- M.defaults (depth, items, width, string).
function M.format(v, opts)
  local o = {}
  for k, d in pairs(M.defaults) do o[k] = d end
  if opts ~= nil then
    if type(opts) ~= "table" then errorf("pp", 2, "opts", "table expected, got %s", type(opts)) end
    for k, x in pairs(opts) do
      if M.defaults[k] == nil then
        errorf("pp", 2, "opts", "unknown option '%s'; known: depth, items, string, width", tostring(k))
      end
      o[k] = x
    end
  end
  return format(v, o, {}, "", 0)
end

-- Print values as auto-print does: one line each when they are short.
local function show(...)
  local n = select("#", ...)
  local parts, multi = {}, false
  for i = 1, n do
    parts[i] = M.format((select(i, ...)))
    if parts[i]:find("\n", 1, true) then multi = true end
  end
  io.write(concat(parts, multi and "\n" or "\t"), "\n")
  io.stdout:flush()
end
M.show = show

-- pp(...): pretty-print values (what the prompt shows for a result).
function pp(...)
  show(...)
end

-- ---- help pages ---------------------------------------------------------------

local pages, page_order -- name -> page, and names in file order

-- Parse share/help/*.txt.  A page is {name, file, text, sig, summary}.
local function load_pages()
  if pages then return pages, page_order end
  pages, page_order = {}, {}
  local dir = root .. "/share/help"
  for _, file in ipairs(listdir(dir)) do
    if file:match("%.txt$") then
      local f = io.open(dir .. "/" .. file, "r")
      if f then
        local cur, lines
        local function finish()
          if not cur then return end
          while #lines > 0 and lines[#lines]:match("^%s*$") do lines[#lines] = nil end
          local text = concat(lines, "\n")
          local summary -- the first sentence of the first description line
          for i = 2, #lines do
            if lines[i]:match("%S") then
              summary = lines[i]:match("^%s*(.-)%s*$")
              summary = summary:match("^(.-%.)%s") or summary
              break
            end
          end
          if not pages[cur] then page_order[#page_order + 1] = cur end
          pages[cur] = { name = cur, file = file, text = text, sig = lines[1] or cur,
                         summary = summary or lines[1] or "" }
        end
        for line in f:lines() do
          line = line:gsub("\r$", "")
          local name = line:match("^@@%s+(%S+)")
          if name then
            finish()
            cur, lines = name, {}
          elseif cur then
            lines[#lines + 1] = line
          end
        end
        finish()
        f:close()
      end
    end
  end
  return pages, page_order
end

-- The methods table of a type registered with luaL_newmetatable (the
-- matrix type "ot.Mat"), or nil.
local function registry_methods(tname)
  local reg = debug.getregistry()
  local mt = reg and rawget(reg, tname)
  local index = type(mt) == "table" and rawget(mt, "__index")
  return type(index) == "table" and index or nil
end

-- The short type name of a metatable: "ot.data.Dataset" -> "Dataset".
local function type_name(mt)
  local n = type(mt) == "table" and rawget(mt, "__name")
  return type(n) == "string" and n:match("([%w_]+)$") or nil
end

M.globals = { "help", "apropos", "pp", "time", "timeit", "demo" }

-- Every otlab function reachable from the session, as name -> function:
-- ot.x, ot.<module>.x, Mat:x (and the methods of other named types held by
-- a global), and the prelude's globals.
function M.functions()
  local out = {}
  local function add_table(t, prefix, sep)
    for k, v in next, t do
      if type(k) == "string" and type(v) == "function" then out[prefix .. sep .. k] = v end
    end
  end
  add_table(ot, "ot", ".")
  local global_name = {} -- a module that is also a global goes by that name (ui)
  for k, v in next, _G do
    if type(k) == "string" and type(v) == "table" and v ~= ot then global_name[v] = k end
  end
  for k, v in next, ot do
    if type(k) == "string" and type(v) == "table" and v ~= ot then
      add_table(v, global_name[v] or "ot." .. k, ".")
    end
  end
  local mat = registry_methods("ot.Mat")
  if mat then add_table(mat, "Mat", ":") end
  for _, g in ipairs(M.globals) do
    if type(_G[g]) == "function" then out[g] = _G[g] end
  end
  return out
end

-- Methods of named types reachable from globals (a Dataset held in
-- `digits` gives Dataset:subset ...), for looking functions up by value.
local function global_methods(out)
  for _, v in next, _G do
    local mt = (type(v) == "table" or type(v) == "userdata") and getmetatable(v)
    local tname = type_name(mt)
    local index = tname and rawget(mt, "__index")
    if type(index) == "table" then
      for k, f in next, index do
        if type(k) == "string" and type(f) == "function" then
          local name = tname .. ":" .. k
          if not out[name] then out[name] = f end
        end
      end
    end
  end
end

-- The qualified name of a function value, preferring a name with a page.
name_of = function(f)
  local all = M.functions()
  global_methods(all)
  local p = load_pages()
  local names = {}
  for name, g in next, all do
    if g == f then names[#names + 1] = name end
  end
  sort(names)
  for _, name in ipairs(names) do
    if p[name] then return name end
  end
  return names[1]
end
M.name_of = name_of

-- The text of the page `name`, or nil.
function M.page(name)
  local p = load_pages()
  return p[name] and p[name].text or nil
end

-- The group a name belongs to in the topic list: "ot", "ot.data", "Mat", ...
local function group_of(name)
  local g = name:match("^(.*):[^:]+$") or name:match("^(.*)%.[^.]+$")
  return g or "globals"
end

local function wrap_words(words, indent, width)
  local lines, line = {}, ""
  for _, w in ipairs(words) do
    if #line > 0 and #line + 1 + #w > width - #indent then
      lines[#lines + 1] = line
      line = w
    else
      line = #line > 0 and line .. " " .. w or w
    end
  end
  if #line > 0 then lines[#lines + 1] = line end
  return concat(lines, "\n" .. indent)
end

-- A page that documents a function: its signature line has a call.
local function is_function_page(page)
  return page.sig:find("(", 1, true) ~= nil
end

-- All documented or reachable names, grouped: {group -> short names}.
-- Pages that are not about one function (ot.data, Dataset) are "topics".
local function topics()
  local p, order = load_pages()
  local groups, seen = {}, {}
  local function add(name, g)
    if seen[name] then return end
    seen[name] = true
    groups[g] = groups[g] or {}
    local short = (g == "globals" or g == "topics") and name or name:sub(#g + 2)
    groups[g][#groups[g] + 1] = short
  end
  for _, name in ipairs(order) do
    add(name, is_function_page(p[name]) and group_of(name) or "topics")
  end
  for name in next, M.functions() do add(name, group_of(name)) end
  return groups
end

local function print_topics()
  local groups = topics()
  local names = {}
  for g in next, groups do names[#names + 1] = g end
  local last = { globals = 1, topics = 2 }
  sort(names, function(a, b)
    local ra, rb = last[a] or 0, last[b] or 0
    if ra ~= rb then return ra < rb end
    return a < b
  end)
  local out = { "otlab help.  help(\"name\"), help(f) or ?name shows a page; " ..
                "apropos(\"word\") searches.", "" }
  local w = 10
  for _, g in ipairs(names) do if #g + 2 > w then w = #g + 2 end end
  for _, g in ipairs(names) do
    local list = groups[g]
    sort(list)
    out[#out + 1] = g .. string.rep(" ", w - #g) .. wrap_words(list, string.rep(" ", w), 78)
  end
  out[#out + 1] = ""
  out[#out + 1] = "help(\"ot\"), help(\"Mat\") ... list a group with one line per function."
  out[#out + 1] = "At the prompt: Tab completes names, fields and methods; Up/Down search the"
  out[#out + 1] = "history by prefix; a trailing ';' hides the result; _ is the last result;"
  out[#out + 1] = ":time on|off times each command; Ctrl-C interrupts; Ctrl-D exits."
  print(concat(out, "\n"))
end

-- One line per member of a group ("ot", "Mat", "ot.data").
local function print_group(g, members)
  local p = load_pages()
  sort(members)
  local w = 0
  for _, n in ipairs(members) do if #n > w then w = #n end end
  local out = {}
  for _, n in ipairs(members) do
    out[#out + 1] = fmt("  %-" .. w .. "s  %s", n, p[n] and p[n].summary or "(no help page)")
  end
  print(g .. ":\n" .. concat(out, "\n"))
end

-- Members of group g (qualified names), from the pages and the session.
local function members_of(g)
  local p, order = load_pages()
  local set, list = {}, {}
  local function add(n)
    if group_of(n) == g and not set[n] then set[n] = true list[#list + 1] = n end
  end
  for _, n in ipairs(order) do add(n) end
  for n in next, M.functions() do add(n) end
  return list
end

-- The page for a name typed by the user: exact, else ot.<name>, else a
-- unique page ending in .name or :name.  Returns the name or nil and the
-- candidates.
local function resolve(name)
  local p = load_pages()
  if p[name] then return name end
  if p["ot." .. name] then return "ot." .. name end
  local cands = {}
  local tail = name:match("[.:]([^.:]+)$") or name
  for n in next, p do
    local t = n:match("[.:]([^.:]+)$") or n
    if t == tail then cands[#cands + 1] = n end
  end
  sort(cands)
  if #cands == 1 then return cands[1] end
  return nil, cands
end

-- help(): topics.  help(f) / help("ot.zeros") / help("zeros"): the page.
-- help(ot) / help("Mat"): one line per function of the group.
function help(what)
  local p = load_pages()
  if what == nil then return print_topics() end
  local name
  local tw = type(what)
  if tw == "string" then
    name = what:match("^%s*(.-)%s*$")
  elseif tw == "function" then
    name = name_of(what)
    if not name then
      print("no help page: this function is not part of otlab (for Lua's own functions " ..
            "see the Lua 5.4 manual)")
      return
    end
  elseif tw == "table" or tw == "userdata" then
    if what == ot then name = "ot" end
    for k, v in next, ot do
      if v == what and type(k) == "string" then name = "ot." .. k end
    end
    if what == ui and ui ~= nil then name = "ui" end -- ot.ui is the global ui
    if not name then name = type_name(getmetatable(what)) end
    if not name then print("no help for this " .. tw) return end
  else
    print("help: give a function or a name, e.g. help(ot.zeros) or help(\"ot.zeros\")")
    return
  end
  local found, cands = resolve(name)
  if found then
    print(p[found].text)
    return
  end
  local members = members_of(name)
  if #members > 0 then return print_group(name, members) end
  if cands and #cands > 1 then
    print(fmt("'%s' is ambiguous: %s", name, concat(cands, ", ")))
    return
  end
  if M.functions()[name] then
    print(name .. " has no help page yet")
    return
  end
  print(fmt("no help for '%s'; try apropos(\"%s\")", name, name))
end

-- apropos("word"): the names whose name or page mentions word (any case).
function apropos(word)
  if type(word) ~= "string" or word == "" then
    errorf("apropos", 1, "word", "a non-empty string expected, got %s", type(word))
  end
  local p, order = load_pages()
  local needle = word:lower()
  local by_name, by_text = {}, {}
  local listed = {}
  for _, n in ipairs(order) do
    if n:lower():find(needle, 1, true) then by_name[#by_name + 1] = n
    elseif p[n].text:lower():find(needle, 1, true) then by_text[#by_text + 1] = n end
    listed[n] = true
  end
  for n in next, M.functions() do
    if not listed[n] and n:lower():find(needle, 1, true) then by_name[#by_name + 1] = n end
  end
  sort(by_name)
  sort(by_text)
  local all = {}
  for _, n in ipairs(by_name) do all[#all + 1] = n end
  for _, n in ipairs(by_text) do all[#all + 1] = n end
  if #all == 0 then
    print(fmt("nothing found for '%s'", word))
    return
  end
  local w = 0
  for _, n in ipairs(all) do if #n > w then w = #n end end
  local out = {}
  for _, n in ipairs(all) do
    out[#out + 1] = fmt("%-" .. w .. "s  %s", n, p[n] and p[n].summary or "(no help page)")
  end
  print(concat(out, "\n"))
end

-- ---- timing ---------------------------------------------------------------

-- A duration in seconds as text: "12.3 us", "4.56 ms", "1.234 s".
local function duration(s)
  if s < 1e-3 then return fmt("%.1f us", s * 1e6) end
  if s < 1 then return fmt("%.2f ms", s * 1e3) end
  return fmt("%.3f s", s)
end
M.duration = duration

local function check_callable(fname, f)
  local mt = getmetatable(f)
  if type(f) ~= "function" and not (type(mt) == "table" and mt.__call) then
    errorf(fname, 1, "f", "function expected, got %s", type(f))
  end
end

-- time(f, ...): call f(...), print its wall time, return its results.
function time(f, ...)
  check_callable("time", f)
  local t0 = clock()
  local r = table.pack(f(...))
  print("time: " .. duration(clock() - t0))
  return table.unpack(r, 1, r.n)
end

local timeit_meta = {
  __tostring = function(r)
    return fmt("timeit: median %s, IQR %s, min %s, max %s, n = %d", duration(r.median),
               duration(r.iqr), duration(r.min), duration(r.max), r.n)
  end,
}

-- timeit(f [, n]): run f() n times (default: as many as fit in about half a
-- second, 3 to 1000), print the median and spread, return the statistics.
function timeit(f, n)
  check_callable("timeit", f)
  if n ~= nil and (mtype(n) ~= "integer" or n < 1) then
    errorf("timeit", 2, "n", "an integer >= 1 expected, got %s", tostring(n))
  end
  local times = {}
  local t0 = clock()
  f()
  times[1] = clock() - t0
  if not n then
    n = times[1] > 0 and math.floor(0.5 / times[1]) or 1000
    n = math.max(3, math.min(1000, n))
  end
  for i = 2, n do
    local t = clock()
    f()
    times[i] = clock() - t
  end
  local s = {}
  for i = 1, n do s[i] = times[i] end
  sort(s)
  local function q(p) -- quantile with linear interpolation
    local x = 1 + (n - 1) * p
    local lo = math.floor(x)
    local hi = math.min(lo + 1, n)
    return s[lo] + (s[hi] - s[lo]) * (x - lo)
  end
  local sum = 0
  for i = 1, n do sum = sum + s[i] end
  local r = setmetatable({ n = n, median = q(0.5), q1 = q(0.25), q3 = q(0.75), min = s[1],
                           max = s[n], mean = sum / n, times = times }, timeit_meta)
  r.iqr = r.q3 - r.q1
  print(tostring(r))
  return r
end

-- ---- demos ------------------------------------------------------------------

-- The demo scripts: scripts/demos/*.lua whose first line is
-- "-- demo: <title>", sorted by name.
function M.demos()
  local list = {}
  local dir = root .. "/scripts/demos"
  for _, file in ipairs(listdir(dir)) do
    local name = file:match("^(.+)%.lua$")
    if name then
      local f = io.open(dir .. "/" .. file, "r")
      local first = f and f:read("l")
      if f then f:close() end
      local title = first and first:match("^%-%-%s*demo:%s*(.-)%s*$")
      if title then list[#list + 1] = { name = name, title = title, path = dir .. "/" .. file } end
    end
  end
  sort(list, function(x, y) return x.name < y.name end)
  return list
end

-- demo(): list the demos; demo("name"): run one; demo("all"): run them all.
function demo(name)
  local list = M.demos()
  if name == nil then
    if #list == 0 then
      print("no demos yet (a demo is a script in scripts/demos/ whose first line is " ..
            "\"-- demo: <title>\")")
      return
    end
    local out = { "demos (run one with demo(\"name\"), all with demo(\"all\")):" }
    for _, d in ipairs(list) do out[#out + 1] = fmt("  %-20s %s", d.name, d.title) end
    print(concat(out, "\n"))
    return
  end
  if type(name) ~= "string" then errorf("demo", 1, "name", "string expected, got %s", type(name)) end
  if name == "all" then
    for i, d in ipairs(list) do
      print(fmt("==== demo %d/%d: %s -- %s", i, #list, d.name, d.title))
      dofile(d.path)
    end
    return
  end
  for _, d in ipairs(list) do
    if d.name == name then return dofile(d.path) end
  end
  local names = {}
  for i, d in ipairs(list) do names[i] = d.name end
  errorf("demo", 1, "name", "no demo '%s'; demos: %s", name,
         #names > 0 and concat(names, ", ") or "none")
end

return M
