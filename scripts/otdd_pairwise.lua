-- otdd_pairwise.lua: the matrix of OTDDs among several datasets of 8x8
-- images: digit splits, noisy and rotated digits, Fashion-MNIST at 8x8.
--   otlab scripts/otdd_pairwise.lua
-- Class statistics are computed once per dataset (ot.otdd.pairwise).

local C = dofile(OTLAB_ROOT .. "/scripts/otdd_common.lua")
local D = ot.data.digits()
local idx = {}
for i = 1, D.n, 2 do idx[#idx + 1] = i end
local H = D:subset(idx)
local F = C.fashion8{split = "test", n = 1000}
local sets = {
  D:where{0, 1, 2, 3, 4}, D:where{5, 6, 7, 8, 9},
  C.augment(H, "noise", 4, 3), C.augment(H, "rotate", 30),
  F:where{0, 1, 2, 3, 4}, F:where{5, 6, 7, 8, 9},
}
local short = {"dig 0-4", "dig 5-9", "dig noisy", "dig rot30", "fash 0-4", "fash 5-9"}
local K, info = ot.otdd.pairwise(sets, {outer = "compat"})
print(string.format("pairwise OTDD among %d datasets (%.2f s, statistics %.2f s)", #sets,
                    info.time, info.time_stats))
io.write(string.format("%-10s", ""))
for j = 1, #sets do io.write(string.format("%10s", short[j])) end
io.write("\n")
for i = 1, #sets do
  io.write(string.format("%-10s", short[i]))
  for j = 1, #sets do io.write(string.format("%10.0f", K(i, j))) end
  io.write("\n")
end
ui.heatmap(K, {rows = short, cols = short, title = "pairwise OTDD", width = 70, height = 16})
