-- Run by tests/mpi/run.sh with 1, 2 and 4 ranks (and as shards): every
-- line printed by rank 0 must be identical whatever the layout.
local mpi = ot.mpi
local n = 13 -- not a multiple of the rank counts: uneven shares
local items = {}
for i = 1, n do items[i] = {size = 20 + i, reg = 0.05 + 0.01 * i} end

-- a bag of independent solves: each item is its own small OT problem,
-- drawn from a per-item stream (opts.seed), so no result depends on
-- which rank ran it
local res = mpi.map(items, function(it, i)
  local X, Y = ot.randn(it.size, 3), ot.randn(it.size, 3) + 0.5
  local M = ot.dist(X, Y)
  local exact = ot.emd2(nil, nil, M)
  local ent = ot.sinkhorn2(nil, nil, M, it.reg)
  return {i = i, exact = exact, entropic = ent, mean = X:sum(1)}
end, {seed = 2026, name = "check"})
for i, r in ipairs(res) do
  assert(r.i == i)
  print(string.format("item %2d exact %.17g entropic %.17g mean %.17g", i, r.exact, r.entropic,
    r.mean:sum()))
end

-- collectives: each rank contributes the same total whatever the layout
if not mpi.shard() then
  local mine = ot.zeros(2, 2)
  for i = mpi.rank() + 1, n, mpi.size() do mine = mine + res[i].exact end
  local total = mpi.allreduce(mine, "sum")
  local expect = 0
  for _, r in ipairs(res) do expect = expect + r.exact end
  assert(math.abs(total:get(1, 1) - expect) <= 1e-9 * expect, "allreduce")
  local g = mpi.allgather(mpi.rank())
  for p = 1, mpi.size() do assert(g[p] == p - 1, "allgather order") end
  local b = mpi.bcast(mpi.rank() == 0 and {tag = "from root", M = ot.eye(2)} or nil)
  assert(b.tag == "from root" and b.M:get(2, 2) == 1, "bcast")
  assert(mpi.allreduce(mpi.rank(), "max") == mpi.size() - 1, "allreduce max")
  mpi.barrier()
end
print("done")
