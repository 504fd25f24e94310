-- flow.lua -- driver of `scripts/bench flow`, run by otlab from scripts/bench.
--
-- Arguments (key=value, as scripts/bench passes them): quick= (1: 2000
-- particles instead of 10^4 for the large row), repeats= (timed steps per
-- row after the first, best kept); the others (otlab, dir, sizes, python,
-- here, online_n, only) are accepted and ignored.
--
-- Rows:
--   digits compat   one flow step on the digits pair of specs/flows.md (901
--                   particles -> 896, d = 64, fixed labels, debiased OTDD,
--                   the peer's compat schedule, Adam step 1, clip 10): the
--                   spec's reference setting
--   digits conv.    the same pair, converged solver (over-relaxed Sinkhorn
--                   to 1e-6 at eps = 0.1, warm-started from the previous step)
--   large           N = 10^4 particles -> 10^4 in d = 64, 10 classes each,
--                   online (tiled) costs, fixed labels, debiased OTDD,
--                   converged solver with warm starts and max_iter = 0: one
--                   Sinkhorn update per step from the previous potentials
--                   (2 passes over the 10^8 pairs: the potentials track the flow)
-- The peer (microsoft/otdd's flows, PyTorch + geomloss) is not installable
-- here (no PyPI); its time is quoted from specs/flows.md: 0.4-2.6 s per
-- step on the digits pair.  Times are wall clock of the step (evaluation at
-- the new state included), the best of the timed steps; cpu/step is the
-- process CPU time per step (all threads), which load on a shared machine
-- inflates less than the wall time.
local A = {}
for _, a in ipairs({...}) do
  local k, v = a:match("^([%w_]+)=(.*)$")
  if k then A[k] = v end
end
local repeats = math.max(2, tonumber(A.repeats or "3") or 3)
local quick = A.quick == "1"
local function out(...) io.write(...); io.flush() end

local PEER_LO, PEER_HI = 0.4, 2.6

local cpu_per_step
local function best_step(flow, k)
  local c0 = os.clock()
  flow:step(k)
  cpu_per_step = (os.clock() - c0) / k
  local h = flow:history()
  local best, sum = math.huge, 0
  for i = 2, #h.time do
    local t = h.time:get(i)
    best = math.min(best, t)
    sum = sum + t
  end
  return best, sum / (#h.time - 1), h
end

out(string.format("%-16s %6s %6s %4s %11s %10s %10s %7s %22s %s\n", "row", "n", "m", "d",
                  "create (s)", "step (s)", "cpu/step", "passes", "peer (quoted, s/step)", "ratio"))
local function row(name, n, m, d, create, step, passes, peer)
  local ratio = peer and string.format("%.3g-%.3g", step / PEER_HI, step / PEER_LO) or "-"
  out(string.format("%-16s %6d %6d %4d %11.4f %10.4f %10.4f %7d %22s %s\n", name, n, m, d, create,
                    step, cpu_per_step, passes,
                    peer and string.format("%.1f-%.1f", PEER_LO, PEER_HI) or "-", ratio))
end

local digits = ot.data.digits()
local src, tgt = digits:where{0, 1, 2, 3, 4}, digits:where{5, 6, 7, 8, 9}
do
  local f = ot.flow.new(src, {target = tgt, solver = "compat", optimizer = "adam", step = 1,
                              clip = 10})
  local best, _, h = best_step(f, repeats)
  row("digits compat", src.n, tgt.n, 64, h.time:get(1), best, h.solver_iter:get(#h.time), true)
  out(string.format("  (F_0 = %.4f, F_1 = %.4f; the spec's 1288.28, 1081.86)\n", h.F:get(1), h.F:get(2)))
end
do
  local f = ot.flow.new(src, {target = tgt, step = 0.25})
  local best, _, h = best_step(f, repeats)
  row("digits conv.", src.n, tgt.n, 64, h.time:get(1), best, h.solver_iter:get(#h.time), true)
end
do
  local N, d = quick and 2000 or 10000, 64
  ot.seed(1)
  local X, Y = ot.randn(N, d), ot.randn(N, d) * 0.5 + 1
  local ys, yt = {}, {}
  for i = 1, N do ys[i] = i % 10; yt[i] = (i * 7) % 10 end
  local f = ot.flow.new(ot.data.dataset(X, ys), {target = ot.data.dataset(Y, yt), online = true,
                                                 max_iter = 0, step = 0.5})
  local best, _, h = best_step(f, repeats)
  row("large (online)", N, N, d, h.time:get(1), best, h.solver_iter:get(#h.time), false)
end
