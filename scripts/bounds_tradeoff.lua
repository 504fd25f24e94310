-- bounds_tradeoff.lua -- the budget / tightness trade-off of certified
-- mini-batch bounds on OT (specs/bounds.md, issue 5).
--
--   otlab scripts/bounds_tradeoff.lua [quick] [--save DIR]
--
-- For two pairs of point clouds
--   (1) Gaussian mixtures in 2-D: three components against three shifted ones
--       (ot.data.gaussian_mixture), n = 1920 each;
--   (2) UCI digits (8x8, counts 0..16) against Fashion-MNIST brought to the
--       same 8x8 format by the UCI recipe: each 28x28 image is padded to
--       32x32, thresholded at 128 and the set pixels of each 4x4 block are
--       counted (0..16), as the UCI digits were made from 32x32 bitmaps;
--       n = 960 each (the first 960 digits, the first 960 training images);
-- it runs ot.bounds.curve for several batch sizes m and two strategies
-- (circulant: nested shifted diagonals; adaptive: assignments on proxies,
-- stopping when certified), with shuffled batches and, for adaptive, also
-- spatial ones (sorted along a random direction), budgets k, 2k, 4k, ... k^2 solves, and prints
-- upper, lower (max of nn and dual), the gap, the gap relative to exact OT
-- (network simplex on the full cost matrix, computable at these sizes),
-- solves and wall time; then a text plot per data set.
-- "quick" runs smaller sizes (a smoke test, a few seconds); --save DIR also
-- writes each plot as DIR/bounds_tradeoff_<k>.svg (and .csv) with ui.save.

local quick, savedir = false, nil
do
  local args = {...}
  local i = 1
  while i <= #args do
    if args[i] == "quick" then quick = true
    elseif args[i] == "--save" and args[i + 1] then savedir = args[i + 1]; i = i + 1
    else error("usage: otlab scripts/bounds_tradeoff.lua [quick] [--save DIR]", 0) end
    i = i + 1
  end
end
local fmt = string.format

-- ---- data -------------------------------------------------------------------

-- Fashion-MNIST images (n x 784, 0..255) to UCI-style 8x8 block counts.
local function uci8x8(F)
  local n = F:shape()
  local Z = ot.zeros(n, 64)
  for i = 1, n do
    local counts = {}
    for b = 1, 64 do counts[b] = 0 end
    for r = 0, 27 do
      local br = (r + 2) // 4 -- row in the 32x32 padded frame, then its block
      for c = 0, 27 do
        if F(i, r * 28 + c + 1) >= 128 then
          local b = br * 8 + (c + 2) // 4 + 1
          counts[b] = counts[b] + 1
        end
      end
    end
    for b = 1, 64 do Z:set(i, b, counts[b]) end
  end
  return Z
end

local function first_rows(X, n)
  local idx = {}
  for i = 1, n do idx[i] = i end
  return X:select_rows(idx)
end

local sets = {}
do
  local n = quick and 240 or 1920
  local A = ot.data.gaussian_mixture{n = n, seed = 11,
    means = {{0, 0}, {4, 0}, {2, 3}}, covs = 0.5}
  local B = ot.data.gaussian_mixture{n = n, seed = 12,
    means = {{1, 1}, {5, 2}, {2, 5}}, covs = {0.3, 0.8, 0.5}}
  sets[#sets + 1] = {name = "Gaussian mixtures 2-D", X = A.X, Y = B.X,
                     ms = quick and {8, 30, 60} or {30, 120, 480}}
end
do
  local n = quick and 240 or 960
  local D = ot.data.digits()
  local F = ot.data.fashion_mnist{split = "train", n = n}
  sets[#sets + 1] = {name = "digits vs Fashion-MNIST 8x8", X = first_rows(D.X, n),
                     Y = uci8x8(F.X), ms = quick and {8, 30, 60} or {24, 60, 120}}
end

-- ---- runs ---------------------------------------------------------------------

print(fmt("bounds_tradeoff: otlab %s, %s, %s", tostring(ot.version),
          os.date("!%Y-%m-%d %H:%M UTC"), quick and "quick sizes" or "full sizes"))
for si, s in ipairs(sets) do
  local n, d = s.X:shape()
  local exact, einfo = ot.emd2(nil, nil, s.X, s.Y)
  local texact = einfo.time
  print()
  print(fmt("== %s: n = %d, d = %d; exact OT (network simplex, %s) = %.6g in %.2f s",
            s.name, n, d, einfo.status, exact, texact))
  print(fmt("%-18s %5s %4s %7s %7s %12s %12s %11s %8s %5s %8s",
            "strategy", "m", "k", "budget", "solves", "upper", "lower", "gap", "gap/OT", "cert", "time s"))
  local series, labels, xs, maxr = {}, {}, nil, 0
  for _, m in ipairs(s.ms) do
    for _, run in ipairs({{"circulant", "shuffle"}, {"adaptive", "shuffle"},
                          {"adaptive", "spatial"}}) do
      local strat, part = run[1], run[2]
      local cv = ot.bounds.curve(s.X, s.Y, {m = m, strategy = strat, seed = 1, partition = part,
                                            lower = {"nn", "dual"}})
      local nb = cv.budget:shape()
      for q = 1, nb do
        print(fmt("%-18s %5d %4d %7d %7d %12.6g %12.6g %11.4g %7.2f%% %5s %8.3f",
                  strat .. "/" .. part, m, cv.k, cv.budget(q), cv.solves(q), cv.upper(q), cv.lower(q),
                  cv.gap(q), 100 * cv.gap(q) / exact, cv.certified(q) == 1 and "yes" or "no",
                  cv.time(q) + (q == 1 and cv.time_lower or 0)))
      end
      print(fmt("%-18s %5d %4d   lower bounds: nn = %.6g, dual = %.6g (%.3f s, once)", "", m,
                cv.k, cv.nn, cv.dual, cv.time_lower))
      if strat == "circulant" then -- the plot shows the nested circulant family
        -- plotted against log2(budget / k) = 0, 1, 2, ...
        local up = {}
        for q = 1, nb do up[q] = cv.upper(q) end
        series[#series + 1] = up
        labels[#labels + 1] = fmt("upper m=%d", m)
        if nb > maxr then maxr = nb end
        series[#series + 1] = {lower = cv.lower(1), n = nb}
        labels[#labels + 1] = fmt("lower m=%d", m)
      end
    end
  end
  -- pad the series to a common x axis
  local X = {}
  for q = 1, maxr do X[q] = q - 1 end
  local ys = {}
  for i, sr in ipairs(series) do
    local v = {}
    for q = 1, maxr do
      if sr.lower then v[q] = q <= sr.n and sr.lower or 0 / 0
      else v[q] = sr[q] or 0 / 0 end
    end
    ys[i] = v
  end
  local ex = {}
  for q = 1, maxr do ex[q] = exact end
  ys[#ys + 1] = ex
  labels[#labels + 1] = "exact OT"
  ui.plot(X, ys, {labels = labels, width = 78, height = 22,
                  title = s.name .. ": circulant bounds vs budget",
                  xlabel = "log2(budget / k): budget = k, 2k, 4k, ... k^2 solves",
                  ylabel = "OT (squared Euclidean)"})
  if savedir then
    for _, ext in ipairs({"svg", "csv"}) do
      local file = fmt("%s/bounds_tradeoff_%d.%s", savedir, si, ext)
      local ok, err = ui.save(file, X, ys, {labels = labels, title = s.name .. ": circulant bounds vs log2(budget / k)"})
      print(ok and ("saved " .. file) or ("could not save: " .. tostring(err)))
    end
  end
end
