-- flow_mixture.lua: a 2-D Gaussian-mixture flow with label morphing (joint labels).
--
-- The source has two classes side by side; the target has three classes on a
-- line above them.  With labels = "joint" every particle carries its class
-- Gaussian [x, mu_y, sqrt(diag Sigma_y)] and flows in that augmented space;
-- after each step the labels are re-derived by k-means on the label part
-- (k = 3, the target's classes), so the two source labels split into three.
--
-- Run: otlab scripts/flow_mixture.lua [steps]
local steps = tonumber(arg and arg[1]) or 30

local src = ot.data.gaussian_mixture{n = 200, means = {{-2, 0}, {2, 0}}, labels = {0, 1}, seed = 1}
local tgt = ot.data.gaussian_mixture{n = 240, means = {{-4, 5}, {0, 5}, {4, 5}}, labels = {5, 6, 7},
                                     seed = 2}
print(src)
print(tgt)

local function counts(y)
  local c = {}
  for i = 1, #y do local v = y:get(i); c[v] = (c[v] or 0) + 1 end
  local keys = {}
  for k in pairs(c) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = string.format("%d: %d", k, c[k]) end
  return table.concat(parts, ", ")
end

local flow = ot.flow.new(src, {target = tgt, labels = "joint", step = 0.5, eps = 0.05,
                               snapshots = {every = 10}, title = "mixture, joint labels"})
ui.scatter(tgt.X, tgt.y, {width = 60, height = 14, title = "target (labels 5, 6, 7)"})
ui.scatter(src.X, src.y, {width = 60, height = 14, title = "source (labels 0, 1)"})
local t0 = os.clock()
flow:run{steps = steps}
for _, snap in ipairs(flow:trajectory()) do
  ui.scatter(snap.X, snap.y, {width = 60, height = 14,
                              title = string.format("step %d: labels {%s}", snap.step, counts(snap.y))})
end
local h = flow:history()
print(string.format("F: %.4f -> %.4f after %d steps (%.2f s CPU)", h.F:get(1), h.F:get(#h.F),
                    #h.F - 1, os.clock() - t0))
print("label counts now: " .. counts(flow:state().y))
ui.plot(h.F, {title = "objective (Sinkhorn divergence, augmented space)", width = 60, height = 10})
