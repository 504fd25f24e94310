-- flow_transfer.lua: transfer by flowing a labeled source toward a few-shot target.
--
-- Source: UCI digits 0-4 (901 labeled images).  Target: digits 5-9, of which
-- only k images per class are labeled; the rest is the test set.  The source
-- flows toward the k-shot target with joint labels (labels re-derived by
-- clustering the label part, so they take the target's label values).
-- A nearest-class-mean classifier (the nn module is not used yet) is then
-- trained on
--   (a) the k-shot target alone,
--   (b) the raw source, its classes renamed to the nearest k-shot class mean, plus the k-shot,
--   (c) the flowed source with its derived labels, plus the k-shot,
-- and evaluated on the unlabeled target images.
--
-- Run: otlab scripts/flow_transfer.lua [steps]
local steps = tonumber(arg and arg[1]) or 10

local digits = ot.data.digits()
local src, tgt = digits:where{0, 1, 2, 3, 4}, digits:where{5, 6, 7, 8, 9}

-- nearest class mean: means from (X, y) lists, accuracy on (Xt, yt)
local function ncm(parts, test)
  local sums, counts, d = {}, {}, test.X:shape() and select(2, test.X:shape())
  for _, p in ipairs(parts) do
    local n = p.X:shape()
    for i = 1, n do
      local c = p.y:get(i)
      sums[c] = sums[c] or {}
      counts[c] = (counts[c] or 0) + 1
      for k = 1, d do sums[c][k] = (sums[c][k] or 0) + p.X:get(i, k) end
    end
  end
  local good, n = 0, test.X:shape()
  for i = 1, n do
    local best, lab = math.huge, nil
    for c, s in pairs(sums) do
      local dist = 0
      for k = 1, d do dist = dist + (test.X:get(i, k) - s[k] / counts[c]) ^ 2 end
      if dist < best then best, lab = dist, c end
    end
    if lab == test.y:get(i) then good = good + 1 end
  end
  return good / n
end

-- the raw source with each class renamed to the nearest k-shot class mean
local function renamed(source, shot)
  local means = {}
  local function mean_of(ds, c)
    local X = ds:class_X(c)
    return X:mean(1)
  end
  local map = {}
  for _, c in ipairs(source.classes) do
    local m = mean_of(source, c)
    local best = math.huge
    for _, t in ipairs(shot.classes) do
      means[t] = means[t] or mean_of(shot, t)
      local dd = (m - means[t]):norm()
      if dd < best then best, map[c] = dd, t end
    end
  end
  local y = {}
  for i = 1, source.n do y[i] = map[source.y:get(i)] end
  return ot.data.dataset(source.X, y, "source renamed")
end

print(string.format("%-6s %-12s %-22s %-22s %s", "k", "k-shot only", "raw source + k-shot",
                    "flowed source + k-shot", "flow time"))
for _, k in ipairs{2, 5, 10} do
  -- k labeled target images per class (the first k of each class), the rest for testing
  local shot_idx, test_idx, seen = {}, {}, {}
  for i = 1, tgt.n do
    local c = tgt.y:get(i)
    seen[c] = (seen[c] or 0) + 1
    if seen[c] <= k then shot_idx[#shot_idx + 1] = i else test_idx[#test_idx + 1] = i end
  end
  local shot, test = tgt:subset(shot_idx), tgt:subset(test_idx)
  local t0 = os.clock()
  local flow = ot.flow.new(src, {target = shot, labels = "joint", solver = "compat", step = 0.25,
                                 box = {0, 16}})
  local flowed = flow:run{steps = steps}
  local dt = os.clock() - t0
  local a = ncm({shot}, test)
  local b = ncm({renamed(src, shot), shot}, test)
  local c = ncm({flowed, shot}, test)
  print(string.format("%-6d %-12.3f %-22.3f %-22.3f %.1f s CPU", k, a, b, c, dt))
end
