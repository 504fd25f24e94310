-- demo: exact vs entropic plans between two 2-D point clouds
-- Run: otlab scripts/demos/exact_vs_entropic.lua (or demo("exact_vs_entropic")).
-- The exact plan between two uniform clouds of equal size is a permutation
-- (one partner per point); the entropic plan spreads each point's mass over
-- its neighbours.  Points are ordered by angle so the plans read as bands.

ot.seed(11)
local n = 80

-- a ring and a shifted blob, each ordered by angle around its centre
local function cloud(kind)
  local pts = {}
  local r = ot.randn(n, 2)
  for i = 1, n do
    local x, y
    if kind == "ring" then
      local a = 2 * math.pi * (i - 1) / n
      x, y = math.cos(a) * 2 + 0.1 * r:get(i, 1), math.sin(a) * 2 + 0.1 * r:get(i, 2)
    else
      x, y = 0.7 * r:get(i, 1) + 3, 0.7 * r:get(i, 2)
    end
    pts[i] = { x, y }
  end
  local cx, cy = kind == "ring" and 0 or 3, 0
  table.sort(pts, function(p, q) return math.atan(p[2] - cy, p[1] - cx) < math.atan(q[2] - cy, q[1] - cx) end)
  return ot.mat(pts)
end
local X, Y = cloud("ring"), cloud("blob")

print("Exact vs entropic OT between a ring (class 0) and a blob (class 1), " .. n .. " points each.")
local both = {}
for i = 1, n do both[i] = { X:get(i, 1), X:get(i, 2) } end
for i = 1, n do both[n + i] = { Y:get(i, 1), Y:get(i, 2) } end
local labels = {}
for i = 1, 2 * n do labels[i] = i <= n and 0 or 1 end
ui.scatter(ot.mat(both), labels, { width = 72, height = 20, title = "the two clouds" })

local M = ot.dist(X, Y)
local P, info = ot.emd(nil, nil, M, { dense = true })
local nz = 0
for i = 1, n do
  for j = 1, n do if P:get(i, j) > 1e-12 then nz = nz + 1 end end
end
print(string.format("\nExact (network simplex): cost %.4f, %d non-zero entries out of %d (a permutation has %d).",
                    info.cost, nz, n * n, n))
ui.heatmap(P, { width = 72, height = 22, title = "exact plan: one partner per point" })

local eps = 0.05 * M:max()
local Q, qi = ot.sinkhorn(nil, nil, M, eps, { method = "log" })
local nq = 0
for i = 1, n do
  for j = 1, n do if Q:get(i, j) > 1e-3 / (n * n) then nq = nq + 1 end end
end
print(string.format("\nEntropic (Sinkhorn, eps = 0.05 x max cost): cost %.4f (+%.1f%%), %d iterations, %d entries above 1e-3 of uniform.",
                    qi.cost, 100 * (qi.cost / info.cost - 1), qi.iterations, nq))
ui.heatmap(Q, { width = 72, height = 22, title = "entropic plan: mass spread over neighbours" })
print("Takeaway: the entropic plan is dense and smooth (and fast on large problems); the exact one is sparse.")
