-- flow_shaping.lua: dataset shaping with potentials.
--
-- (1) Margin separation: two interleaved moons are pushed apart across the
--     line x2 = 0.25 by a squared-hinge margin potential (labels 1 above, 0
--     below), while a Sinkhorn-divergence term to the original data keeps
--     the shape of each point cloud.
-- (2) Dimension collapse: the iris features 3 and 4 (petal length, width)
--     are collapsed toward 0 by a potential, the OT term keeps the rest.
--
-- Run: otlab scripts/flow_shaping.lua
local moons = ot.data.moons{n = 200, noise = 0.08, seed = 1}
print(moons)
ui.scatter(moons.X, moons.y, {width = 60, height = 14, title = "moons, before"})

local w = ot.mat{0, 1}
local flow = ot.flow.new(moons, {
  target = moons,
  objective = {ot = 1, potential = {margin = {w = w, b = -0.25, gap = 0.5, positive = {1}, weight = 5}}},
  step = 0.1, eps = 0.01, title = "margin shaping"})
local function violations(ds)
  local v = 0
  for i = 1, ds.n do
    local s = ds.y:get(i) == 1 and 1 or -1
    if s * (ds.X:get(i, 2) - 0.25) < 0.5 then v = v + 1 end
  end
  return v
end
print(string.format("points inside the margin |x2 - 0.25| < 0.5 or on the wrong side: %d", violations(moons)))
local st = flow:run{steps = 40}
local h = flow:history()
ui.scatter(st.X, st.y, {width = 60, height = 14, title = "moons, after 40 steps"})
print(string.format("after: %d violations; F %.4f -> %.4f (ot %.4f, potential %.4f)", violations(st),
                    h.F:get(1), h.F:get(#h.F), h.ot:get(#h.F), h.potential:get(#h.F)))

-- (2) collapse two iris coordinates
local iris = ot.data.iris()
print(iris)
local function colvar(X)
  local n, d = X:shape()
  local out = {}
  for k = 1, d do
    local m, s = 0, 0
    for i = 1, n do m = m + X:get(i, k) end
    m = m / n
    for i = 1, n do s = s + (X:get(i, k) - m) ^ 2 end
    out[k] = string.format("%.3f", s / (n - 1))
  end
  return table.concat(out, "  ")
end
local f2 = ot.flow.new(iris, {target = iris, objective = {ot = 1,
                                potential = {collapse = {dims = {3, 4}, value = 0, weight = 10}}},
                              step = 0.05, eps = 0.05})
print("column variances before: " .. colvar(iris.X))
local s2 = f2:run{steps = 60}
print("column variances after:  " .. colvar(s2.X))
local h2 = f2:history()
print(string.format("F %.4f -> %.4f in %d steps", h2.F:get(1), h2.F:get(#h2.F), #h2.F - 1))
