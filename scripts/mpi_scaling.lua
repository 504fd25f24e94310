-- mpi_scaling.lua -- time the batch-pair solves of ot.bounds.minibatch and
-- the dataset pairs of ot.otdd.pairwise on 1 rank and under mpirun, and
-- check that every layout gives the same numbers.
--
--   OMP_NUM_THREADS=1 otlab scripts/mpi_scaling.lua [n] [m]
--   OMP_NUM_THREADS=2 otlab scripts/mpi_scaling.lua [n] [m]
--   OMP_NUM_THREADS=1 mpirun -np 2 otlab scripts/mpi_scaling.lua [n] [m]
--
-- Prints (rank 0) the bound, the solves and the seconds of the call (rank
-- 0's clock: its own share plus waiting for the others' rows).  Defaults:
-- n = 6000 points in 2-d, m = 200 (k = 30 batches, strategy "all": 900
-- assignment solves of 200 x 200 in 30 rounds), no lower bound (the solves
-- alone), then 10 overlapping sets of 600 digits for ot.otdd.pairwise
-- (45 pairs, outer = "compat").
local n = tonumber(arg and arg[1]) or 6000
local m = tonumber(arg and arg[2]) or 200
ot.seed(11)
local X, Y = ot.randn(n, 2), ot.randn(n, 2) * 1.2 + 0.3
ot.mpi.barrier()
local r = ot.bounds.minibatch(X, Y, {m = m, strategy = "all", seed = 1, lower = false})
print(string.format("ranks %d threads %s  bounds: upper %.17g solves %d rounds %d time %.3f s",
  ot.mpi.size(), os.getenv("OMP_NUM_THREADS") or "default", r.upper, r.solves, r.rounds, r.time))
local D = ot.data.digits()
local sets = {}
for s = 1, 10 do
  local idx = {}
  for i = 1, 600 do idx[i] = (s - 1) * 119 + i end
  sets[s] = D:subset(idx)
end
ot.mpi.barrier()
local K, info = ot.otdd.pairwise(sets, {outer = "compat"})
local sum = 0
for i = 1, 10 do for j = 1, 10 do sum = sum + K(i, j) * (i + 2 * j) end end
print(string.format("ranks %d threads %s  otdd pairwise: checksum %.17g time %.3f s",
  ot.mpi.size(), os.getenv("OMP_NUM_THREADS") or "default", sum, info.time))
