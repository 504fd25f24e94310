-- Run by tests/mpi/run.sh with 1, 2 and 4 ranks and as shards + reduce:
-- ot.bounds.minibatch and ot.bounds.curve spread their batch-pair solves
-- (and the semi-relaxed solves) over the ranks or shards; every number
-- printed by rank 0 must equal the single-process run's, bit for bit.
local function g(x) return x == nil and "nil" or string.format("%.17g", x) end
local function show(tag, r)
  local line = {tag}
  for _, f in ipairs({"upper", "lower", "diag", "all", "opt", "nn", "dual", "semi"}) do
    line[#line + 1] = f .. "=" .. g(r[f])
  end
  line[#line + 1] = "solves=" .. r.solves .. " rounds=" .. r.rounds
  line[#line + 1] = "certified=" .. tostring(r.certified)
  if r.inner_unconverged then line[#line + 1] = "unconverged=" .. r.inner_unconverged end
  print(table.concat(line, " "))
  local P, sum = r.pairs, 0 -- every pair value, in order
  for q = 1, P:shape() do sum = sum + P(q, 3) * q end
  local s = {}
  for a = 1, r.k do s[#s + 1] = ("%d"):format(r.sigma:get(a)) end
  print(tag .. ": pairs " .. P:shape() .. " weighted sum " .. g(sum) .. " sigma " .. table.concat(s, ","))
  if r.plan then
    local c = 0
    for q = 1, r.plan:shape() do c = c + r.plan(q, 1) * r.plan(q, 2) * r.plan(q, 3) end
    print(tag .. ": plan " .. r.plan:shape() .. " " .. g(c))
  end
end

ot.seed(7)
local n, d = 96, 3
local X, Y = ot.randn(n, d), ot.randn(n, d) * 1.3 + 0.4
local static = {
  {strategy = "diag", m = 8, lower = {"nn", "dual", "semi"}, plan = true},
  {strategy = "all", m = 16, lower = {"nn", "dual"}},
  {strategy = "circulant", m = 8, budget = 40, lower = {"semi"}},
  {strategy = "random", m = 8, budget = 30, lower = {"dual"}},
  {strategy = "knn", m = 8, budget = 36, solver = "emd"},
  {strategy = "opt", m = 12, solver = "sinkhorn", reg = 0.05, max_iter = 50, lower = false},
}
for i, o in ipairs(static) do
  o.seed = 100 + i
  show(("minibatch %s m=%d"):format(o.strategy, o.m), ot.bounds.minibatch(X, Y, o))
end
local C = ot.dist(X, Y, "euclidean")
show("minibatch cost-matrix circulant",
     ot.bounds.minibatch(nil, nil, {cost = C, m = 12, budget = 24, seed = 5, lower = {"nn", "semi"}}))
local cv = ot.bounds.curve(X, Y, {m = 8, strategy = "random", seed = 9, lower = {"nn", "dual"}})
for q = 1, cv.budget:shape() do
  print(("curve budget %d upper %s lower %s solves %d certified %s"):format(cv.budget:get(q),
    g(cv.upper:get(q)), g(cv.lower:get(q)), cv.solves:get(q), cv.certified:get(q)))
end
-- adaptive: each round is one batch of pairs; not as shards (an error says so)
if not ot.mpi.shard() then
  local r = ot.bounds.minibatch(X, Y, {m = 8, strategy = "adaptive", budget = 60, seed = 3,
                                       lower = {"nn", "dual", "semi"}})
  show("minibatch adaptive", r)
  local c2 = ot.bounds.curve(X, Y, {m = 8, strategy = "adaptive", seed = 4, budgets = {12, 40}})
  for q = 1, 2 do print("curve adaptive " .. g(c2.upper:get(q)) .. " " .. c2.solves:get(q)) end
else
  print("minibatch adaptive (not as shards)")
end
print("done")
