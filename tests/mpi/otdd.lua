-- Run by tests/mpi/run.sh with 1, 2 and 4 ranks: ot.otdd.label_distances
-- spreads the class pairs over the ranks, ot.otdd.pairwise the dataset
-- pairs (and the class pairs of each dataset's self block); every number
-- printed by rank 0 must equal the single-process run's, bit for bit.
-- (OTDD does not run as shards: under OTLAB_SHARD it computes everything.)
local function g(x) return string.format("%.17g", x) end
local function show(tag, W)
  local r, c = W:shape()
  local parts = {}
  for i = 1, r do
    for j = 1, c do parts[#parts + 1] = g(W(i, j)) end
  end
  print(tag .. " " .. r .. "x" .. c .. " " .. table.concat(parts, " "))
end
ot.seed(5)
local function cloud(n, d, classes, shift)
  local X, y = ot.randn(n, d) + shift, ot.zeros(n)
  for i = 1, n do
    local k = (i - 1) % classes
    y:set(i, k)
    for t = 1, d do X:set(i, t, X(i, t) + 2 * math.sin(k + t)) end
  end
  return {X = X, y = y}
end
local A, B, C = cloud(60, 3, 5, 0), cloud(48, 3, 4, 0.5), cloud(40, 3, 3, -0.3)
show("labels gaussian", ot.otdd.label_distances(A, B))
show("labels self", ot.otdd.label_distances(A, A))
show("labels exact", ot.otdd.label_distances(A, B, {inner = "exact"}))
show("labels means", ot.otdd.label_distances(B, C, {inner = "means"}))
local v, info = ot.otdd.distance(A, B, {outer = "compat"})
print("distance " .. g(v) .. " " .. g(info.ot_ab))
show("pairwise compat", ot.otdd.pairwise({A, B, C}, {outer = "compat"}))
show("pairwise exact", ot.otdd.pairwise({A, B, C, A}, {outer = "exact", inner = "exact"}))
print("done")
