-- otdd_augment.lua: OTDD between the digits and augmented copies of them,
-- as the augmentation grows: Gaussian pixel noise, shifts, rotations.
--   otlab scripts/otdd_augment.lua
-- OTDD(D, aug(D)) starts at 0 (the debiased divergence of a dataset with
-- itself) and grows with the strength; plotted with ui.plot.

local C = dofile(OTLAB_ROOT .. "/scripts/otdd_common.lua")
local D = ot.data.digits()
local idx = {}
for i = 1, D.n, 3 do idx[#idx + 1] = i end
D = D:subset(idx)   -- 599 images keep the sweep short
print(D)

local sweeps = {
  {"noise", {0, 1, 2, 4, 6, 8}, "pixel noise std"},
  {"shift", {0, 1, 2, 3}, "shift (pixels)"},
  {"rotate", {0, 10, 20, 30, 45, 60}, "rotation (degrees)"},
}
for _, sw in ipairs(sweeps) do
  local kind, levels = sw[1], sw[2]
  local ys = {}
  print(string.format("%-8s %10s %10s", kind, "strength", "OTDD"))
  for k, s in ipairs(levels) do
    local A = C.augment(D, kind, s, 7)
    local v = ot.otdd.distance(D, A, {outer = "compat"})
    if math.abs(v) < 1e-9 then v = 0 end  -- rounding of a zero divergence
    ys[k] = v
    print(string.format("%-8s %10g %10.2f", "", s, v))
  end
  ui.plot(ot.mat(levels), ot.mat(ys), {title = "OTDD vs " .. sw[3], width = 60, height = 12})
end
