-- flow_digits.lua: digits 0-4 flowing toward digits 5-9 (OTDD, fixed labels).
--
-- The source is the UCI digits with labels 0-4, the target those with
-- labels 5-9 (specs/otdd.md, pair (a)).  The flow decreases the debiased
-- OTDD with explicit Euler steps on the velocity field x - T(x) (T: the
-- barycentric projection of the plan; the self term of the divergence
-- included), pixels kept in [0, 16] by the box.  The script shows a few
-- particles as 8x8 images at chosen steps, shaded in text, and writes the
-- same grid as a PGM picture (one row per step, one column per particle).
--
-- Run: otlab scripts/flow_digits.lua [outdir]   (default /tmp/otlab-flow-digits)
local outdir = arg and arg[1] or "/tmp/otlab-flow-digits"
local show_steps = {0, 1, 2, 4, 8, 16}
local picks = {1, 2, 3, 4, 5, 6, 7, 8}   -- rows of the source shown

local digits = ot.data.digits()
local src, tgt = digits:where{0, 1, 2, 3, 4}, digits:where{5, 6, 7, 8, 9}
print(src)
print(tgt)

local flow = ot.flow.new(src, {target = tgt, solver = "compat", step = 0.25, box = {0, 16},
                               title = "digits 0-4 -> 5-9"})
local shades = " .:-=+*#%@"

-- the 8x8 images of the chosen particles side by side, shaded
local function grid(X, y, caption)
  print(caption)
  local lines = {}
  for r = 0, 7 do
    local parts = {}
    for _, i in ipairs(picks) do
      local s = {}
      for c = 1, 8 do
        local v = math.max(0, math.min(16, X:get(i, r * 8 + c)))
        local k = math.floor(v / 16 * (#shades - 1) + 0.5) + 1
        s[#s + 1] = shades:sub(k, k)
      end
      parts[#parts + 1] = table.concat(s)
    end
    lines[#lines + 1] = "  " .. table.concat(parts, "  ")
  end
  local labs = {}
  for _, i in ipairs(picks) do labs[#labs + 1] = string.format("label %-2d", y:get(i)) end
  print(table.concat(lines, "\n"))
  print("  " .. table.concat(labs, "  "))
end

-- frames for the picture: one per shown step
local frames = {}
local function keep(X)
  local f = {}
  for _, i in ipairs(picks) do
    local img = {}
    for k = 1, 64 do img[k] = X:get(i, k) end
    f[#f + 1] = img
  end
  frames[#frames + 1] = f
end

local t0 = os.time()
local clock = ot.clock or os.clock
local c0 = clock()
for _, s in ipairs(show_steps) do
  local have = flow:history().step
  local now = have:get(#have)
  if s > now then flow:step(s - now) end
  local st = flow:state()
  local h = flow:history()
  grid(st.X, st.y, string.format("step %d: OTDD = %.2f, mean displacement %.2f", s,
                                 h.F:get(#h.F), h.displacement:get(#h.F)))
  keep(st.X)
end
print(string.format("%d steps in %.2f s", show_steps[#show_steps], clock() - c0))
grid(tgt.X, tgt.y, "for comparison, target samples:")

-- PGM picture: rows = steps, columns = particles, each digit 8x8 scaled 4x, 2-pixel gaps
os.execute("mkdir -p '" .. outdir .. "'")
local S, gap = 4, 2
local W = #picks * (8 * S + gap) + gap
local H = #frames * (8 * S + gap) + gap
local pix = {}
for k = 1, W * H do pix[k] = 255 end
for r, f in ipairs(frames) do
  for c, img in ipairs(f) do
    local y0, x0 = gap + (r - 1) * (8 * S + gap), gap + (c - 1) * (8 * S + gap)
    for p = 0, 63 do
      local v = math.max(0, math.min(16, img[p + 1]))
      local g = 255 - math.floor(v / 16 * 255 + 0.5)
      local py, px = p // 8, p % 8
      for dy = 0, S - 1 do
        for dx = 0, S - 1 do
          pix[(y0 + py * S + dy) * W + x0 + px * S + dx + 1] = g
        end
      end
    end
  end
end
local path = outdir .. "/digits_flow.pgm"
local fh = assert(io.open(path, "wb"))
fh:write(string.format("P5\n%d %d\n255\n", W, H))
local bytes = {}
for k = 1, #pix do bytes[k] = string.char(pix[k]) end
fh:write(table.concat(bytes))
fh:close()
print(string.format("wrote %s (%dx%d: rows = steps %s, columns = source rows %s)", path, W, H,
                    table.concat(show_steps, ","), table.concat(picks, ",")))
