-- demo: Sinkhorn vs epsilon: how the regularization blurs the plan and sets the speed
-- Run: otlab scripts/demos/sinkhorn_eps.lua [quick] (or demo("sinkhorn_eps") at the prompt);
-- "quick" makes the live run small (tests).
-- Two sorted 1-D samples of 60 points; the exact plan is a staircase along the
-- diagonal.  Entropic plans at decreasing epsilon (relative to the largest cost)
-- sharpen towards it, and need more iterations to converge.

local quick = ... == "quick"
ot.seed(7)
local n = 60

-- two sorted samples, so that the plans have a readable structure
local function sorted_sample(shift, scale)
  local v, t = ot.randn(n), {}
  for i = 1, n do t[i] = v:get(i) * scale + shift end
  table.sort(t)
  local rows = {}
  for i = 1, n do rows[i] = { t[i] } end
  return ot.mat(rows)
end
local X, Y = sorted_sample(0, 1), sorted_sample(2, 0.6)
local M = ot.dist(X, Y)
local Mmax = M:max()

print("Sinkhorn vs epsilon: " .. n .. " sorted points against " .. n .. ", squared distances")
print("The exact plan (ot.emd) is a staircase along the diagonal:")
local Pe = ot.emd(nil, nil, M, { dense = true })
ui.heatmap(Pe, { width = 64, height = 18, title = "exact plan" })

local curves, names = {}, {}
for _, rel in ipairs({ 0.1, 0.01, 0.001 }) do
  local eps = rel * Mmax
  local P, info = ot.sinkhorn(nil, nil, M, eps, { method = "log", max_iter = 20000, tol = 1e-9 })
  -- blur: the mass-weighted mean distance |i - j| between the matched indices
  local blur = 0
  for i = 1, n do
    for j = 1, n do blur = blur + P:get(i, j) * math.abs(i - j) end
  end
  print(string.format("\nepsilon = %g x max cost: %d iterations, %.3f s, cost %.5f (exact %.5f), blur %.2f indices",
                      rel, info.iterations, info.time, info.cost, ot.emd2(nil, nil, M), blur))
  ui.heatmap(P, { width = 64, height = 18, title = string.format("entropic plan, eps = %g x max", rel) })
  curves[#curves + 1] = info.err_history
  names[#names + 1] = string.format("eps %g", rel)
end

print("\nMarginal error per iteration (log scale): smaller epsilon, slower convergence.")
ui.plot(curves, { logy = true, labels = names, width = 72, height = 18, xlabel = "iteration",
                  ylabel = "marginal error" })
print("Takeaway: epsilon trades sharpness (less blur, cost closer to the exact one) for iterations.")

-- live: on a terminal the panel shows the error falling and the plan sharpening
local big = quick and 60 or 400
local x, y = ot.linspace(0, 1, big), ot.linspace(0.2, 1.3, big)
local Mb = ot.dist(x, y)
print(string.format("\nLive: %d x %d points at epsilon = 0.0005 x max cost with ui.watch: on a terminal the\n" ..
                    "panel shows the error curve falling and the plan (q closes it, c cancels the run);\n" ..
                    "in a pipe, long runs print progress lines on stderr.", big, big))
local _, live = ui.watch(ot.sinkhorn, nil, nil, Mb, 5e-4 * Mb:max(), { method = "log", max_iter = quick and 200 or 2000, tol = 1e-9 })
print(string.format("%d iterations in %.2f s, final marginal error %.2g.", live.iterations, live.time, live.err))
print("The panel's last state (on a terminal it stays until you press q):")
ui.show({ width = 100, height = 26 })
