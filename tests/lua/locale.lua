print("testing locale")

-- Numbers in files and at the prompt use '.' whatever the locale.  The
-- test command runs the Lua and e2e suites a second time under a
-- decimal-comma locale (meson test --setup comma; scripts/test builds
-- de_DE.UTF-8 with localedef into a temporary LOCPATH).  That setup sets
-- OTLAB_TEST_LOCALE; then this file asserts that the locale really took
-- effect (LC_ALL is set, the locale loads, printf writes "0,5") and runs
-- the number-handling functions with LC_NUMERIC switched to it -- harsher
-- than the host, which adopts only LC_CTYPE from the environment.
-- Without OTLAB_TEST_LOCALE it checks the host's default (LC_NUMERIC "C").

local want = os.getenv("OTLAB_TEST_LOCALE")

-- The host leaves numbers in the C locale.
assert(os.setlocale(nil, "numeric") == "C", "the host changed LC_NUMERIC")
assert(string.format("%.1f", 0.5) == "0.5")

if not want or want == "" then
  print("locale: OTLAB_TEST_LOCALE unset; the decimal-comma run is meson test --setup comma")
  return
end

-- 1. The environment really carries the locale, and it loads (LOCPATH).
assert(os.getenv("LC_ALL") == want, "LC_ALL is " .. tostring(os.getenv("LC_ALL")) ..
  ", not " .. want .. " (meson's test env overrode the setup?)")
assert(os.setlocale(nil, "ctype") ~= "C" or os.setlocale("", "ctype"),
  "the host did not adopt LC_CTYPE")
local got = os.setlocale("", "numeric")
assert(got == want, "cannot load locale " .. want .. " (LOCPATH=" ..
  tostring(os.getenv("LOCPATH")) .. ")")
assert(string.format("%.1f", 0.5) == "0,5", "the locale does not write a decimal comma")

-- 2. With LC_NUMERIC = the comma locale, otlab still reads and writes dots.
local ok, err = pcall(function()
  local tmp = os.tmpname()
  local X = ot.mat({ { 1.5, -2.25 }, { 1e-300, 3.125e10 } })
  -- CSV round trip: written with dots, read back exactly.
  assert(ot.save(tmp .. ".csv", X))
  local f = assert(io.open(tmp .. ".csv"))
  local text = f:read("a")
  f:close()
  assert(text:find("1.5", 1, true) and not text:find("1,5", 1, true), "CSV written with commas: " .. text)
  local Y = ot.load(tmp .. ".csv", { header = false })
  assert(Y:equals(X), "CSV round trip changed the values")
  -- A hand-written CSV with dots reads as numbers.
  f = assert(io.open(tmp .. ".csv", "w"))
  f:write("a,b\n0.5,2.75\n")
  f:close()
  local Z = ot.load(tmp .. ".csv")
  assert(Z:get(1, 1) == 0.5 and Z:get(1, 2) == 2.75, "CSV read with the locale's decimal point")
  os.remove(tmp .. ".csv")
  os.remove(tmp)
  -- npy headers are text too.
  assert(ot.save(tmp .. ".npy", X))
  assert(ot.load(tmp .. ".npy"):equals(X))
  os.remove(tmp .. ".npy")
  -- Sizes with a fraction.
  local old = ot.mem_limit()
  assert(ot.mem_limit("1.5G") == math.floor(1.5 * 2 ^ 30), "ot.mem_limit read \"1.5G\" wrongly")
  ot.mem_limit(old)
  -- Solvers and the printer do not care.
  local M = ot.dist(ot.mat({ { 0 }, { 1 } }), ot.mat({ { 0.5 }, { 1.5 } }))
  assert(math.abs(ot.emd2(nil, nil, M) - 0.25) < 1e-15)
  local s = tostring(ot.mat({ { 0.5 } }))
  assert(s:find("0.5", 1, true), "Mat printed with the locale's decimal point: " .. s)
end)
os.setlocale("C", "numeric")
assert(ok, err)
print("locale: " .. want .. " in effect; files and sizes kept '.'")
