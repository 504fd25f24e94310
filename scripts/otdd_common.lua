-- otdd_common.lua: helpers shared by the OTDD experiment scripts and demo
-- (scripts/otdd_*.lua, scripts/demos/otdd.lua):
--   C.fashion8{split=, n=}   Fashion-MNIST at 8x8 by the UCI digits recipe
--   C.augment(D, kind, s, seed)  noise / shift / rotate augmentations of 8x8 images
--   C.show_labels(W, info, title)  the label-distance heatmap with class names
-- Loaded with dofile(OTLAB_ROOT .. "/scripts/otdd_common.lua").

local C = {}

-- Fashion-MNIST made like the UCI optical digits: 28x28 images padded to
-- 32x32, thresholded (pixel >= 128 -> on), and the "on" pixels counted in
-- each 4x4 block: 8x8 features with values 0..16.
function C.fashion8(opts)
  opts = opts or {}
  local F = ot.data.fashion_mnist{split = opts.split or "test", n = opts.n}
  local on = ((F.X - 127.5) * 2):clip(0, 1)           -- 0 or 1 for integer pixels
  local P = ot.zeros(784, 64)
  for r = 0, 27 do
    for c = 0, 27 do
      local br, bc = (r + 2) // 4, (c + 2) // 4           -- 2 pixels of padding each side
      P:set(r * 28 + c + 1, br * 8 + bc + 1, 1)
    end
  end
  local D = ot.data.dataset(on:dot(P), F.y, "fashion-mnist 8x8 (" .. (opts.split or "test") .. ")")
  D.label_names = F.label_names
  return D
end

-- Pixel (r, c) of an 8x8 image stored as row i of X (0-based r, c; 0 outside).
local function px(X, i, r, c)
  if r < 0 or r > 7 or c < 0 or c > 7 then return 0 end
  return X:get(i, r * 8 + c + 1)
end

-- Augment the 8x8 images of D: kind "noise" (Gaussian, std s, clipped to
-- 0..16), "shift" (s pixels right and down, zeros enter), "rotate" (s
-- degrees about the centre, bilinear).  Labels are kept.
function C.augment(D, kind, s, seed)
  local X, n = D.X, D.n
  local Y
  if kind == "noise" then
    ot.seed(seed or 1)
    Y = (X + ot.randn(n, 64) * s):clip(0, 16)
  else
    Y = ot.zeros(n, 64)
    local th = math.rad(s)
    local cs, sn = math.cos(th), math.sin(th)
    for i = 1, n do
      for r = 0, 7 do
        for c = 0, 7 do
          local v
          if kind == "shift" then
            v = px(X, i, r - s, c - s)
          else
            -- inverse rotation of the target pixel about (3.5, 3.5)
            local y, x = r - 3.5, c - 3.5
            local sy, sx = cs * y - sn * x + 3.5, sn * y + cs * x + 3.5
            local r0, c0 = math.floor(sy), math.floor(sx)
            local fy, fx = sy - r0, sx - c0
            v = (1 - fy) * ((1 - fx) * px(X, i, r0, c0) + fx * px(X, i, r0, c0 + 1))
                + fy * ((1 - fx) * px(X, i, r0 + 1, c0) + fx * px(X, i, r0 + 1, c0 + 1))
          end
          Y:set(i, r * 8 + c + 1, v)
        end
      end
    end
  end
  local A = ot.data.dataset(Y, D.y, string.format("%s %s %g", D.name, kind, s))
  A.label_names = D.label_names
  return A
end

-- The label-distance heatmap of an ot.otdd result, class names on the axes.
function C.show_labels(W, info, title)
  ui.heatmap(W, {rows = info.class_names1, cols = info.class_names2, title = title,
                 width = 60, height = math.min(24, 2 * W:shape() + 4)})
end

return C
