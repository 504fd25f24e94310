-- otdd_digits_fashion.lua: UCI digits vs Fashion-MNIST made the same way
-- (8x8 block counts of thresholded, padded images: values 0..16).
--   otlab scripts/otdd_digits_fashion.lua [n]     (n Fashion images, default 2000)
-- Prints OTDD(digits, fashion), compared with digit-to-digit splits, and
-- draws the digits x fashion label-distance heatmap with class names.

local C = dofile(OTLAB_ROOT .. "/scripts/otdd_common.lua")
local n = tonumber(arg and arg[1]) or 2000
local D = ot.data.digits()
local F = C.fashion8{split = "test", n = n}
print(D)
print(F)

local d, info = ot.otdd.distance(D, F, {outer = "compat"})
local s = ot.otdd.distance(D:where{0, 1, 2, 3, 4}, D:where{5, 6, 7, 8, 9}, {outer = "compat"})
local f2 = ot.otdd.distance(F:where{0, 1, 2, 3, 4}, F:where{5, 6, 7, 8, 9}, {outer = "compat"})
print(string.format("OTDD(digits, fashion 8x8)        = %10.2f  (%.2f s)", d, info.time))
print(string.format("OTDD(digits 0-4, digits 5-9)     = %10.2f", s))
print(string.format("OTDD(fashion 0-4, fashion 5-9)   = %10.2f", f2))
print("Digits are closer to each other than to clothing, though both are 8x8")
print("counts in 0..16; the label matrix shows which garments look most like")
print("which digits:")
C.show_labels(info.label_distances, info, "label distances: digits (rows) x fashion (columns)")
local W = info.label_distances
for i = 1, W:shape() do
  local best, bj = math.huge, 0
  for j = 1, select(2, W:shape()) do
    if W(i, j) < best then best, bj = W(i, j), j end
  end
  print(string.format("digit %s is closest to %-12s (W = %.0f)", info.class_names1[i],
                      info.class_names2[bj], best))
end
