-- Run by tests/mpi/run.sh under mpirun -np 2: a stop asked on one rank
-- (here the progress callback of rank 0 returns false at its first call,
-- before any batch) stops every rank at the same batch, so no rank waits
-- forever in a collective; each rank gets an error that says why, and
-- the ranks go on together.
ot.seed(1)
local X, Y = ot.randn(64, 2), ot.randn(64, 2)
local function stop_on_rank0() if ot.mpi.rank() == 0 then return false end end
for _, f in ipairs({"minibatch", "curve"}) do
  local ok, err = pcall(ot.bounds[f], X, Y, {m = 8, strategy = "all", progress = stop_on_rank0})
  assert(not ok)
  local want = ot.mpi.rank() == 0 and "canceled by the progress callback"
               or "stopped because another rank was interrupted or canceled"
  assert(tostring(err):find(want, 1, true), err)
  -- a stop on rank 1 inside the solves
  ok, err = pcall(ot.bounds[f], X, Y, {m = 8, strategy = "all", seed = 2, progress = function(p)
    if ot.mpi.rank() == 1 and p.iter > 0 then error("boom on rank 1") end
  end})
  assert(not ok, "the error on rank 1 stops rank 0 too")
  want = ot.mpi.rank() == 1 and "boom on rank 1" or "another rank was interrupted or canceled"
  assert(tostring(err):find(want, 1, true), err)
end
-- ot.otdd.pairwise: an error inside a dataset pair on rank 1 stops rank 0
local function cloud(shift)
  local Z, y = ot.randn(30, 2) + shift, ot.zeros(30)
  for i = 1, 30 do y:set(i, i % 3) end
  return {X = Z, y = y}
end
local sets = {cloud(0), cloud(1), cloud(2)}
local ok, err = pcall(ot.otdd.pairwise, sets, {outer = "compat", progress = function(p)
  if ot.mpi.rank() == 1 and p.kernel ~= "otdd labels" then error("pair boom on rank 1") end
end})
assert(not ok, "the error on rank 1 stops rank 0 too")
local want = ot.mpi.rank() == 1 and "pair boom on rank 1"
             or "ot.otdd.pairwise: stopped because another rank raised an error"
assert(tostring(err):find(want, 1, true), err)

-- still in step: a collective and a distributed run after the stops
assert(ot.mpi.allreduce(1) == ot.mpi.size())
local r = ot.bounds.minibatch(X, Y, {m = 8, strategy = "all", seed = 3})
print(string.format("after %.17g", r.upper))
print("done")
