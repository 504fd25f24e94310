-- demo: factorized layers with and without spectral init
-- Run: otlab scripts/demos/factorized.lua (or demo("factorized") at the prompt).
-- A layer W (128 x 128) replaced by a product U Vt of rank r has r/64 of the
-- parameters.  How the factors start and how they are regularized decides
-- whether such a net trains like the dense one (Khodak et al., ICLR 2021):
-- spectral init starts U Vt at the best rank-r approximation of a usual
-- dense init, and Frobenius decay penalizes ||U Vt||^2 rather than
-- ||U||^2 + ||Vt||^2.  Digits, MLP 64 -> 128 -> two factorized -> 10.

local fmt = string.format

local ds = ot.data.digits()
local tr, te = ds:split(0.25, { stratify = true, seed = 1 })
local mu = tr.X:mean(1)
local sd = ((tr.X - mu) ^ 2):mean(1):sqrt():map(function(v) return v > 0 and v or 1 end)
local X, Xt = (tr.X - mu) / sd, (te.X - mu) / sd
print(fmt("Digits: %d training and %d test images of 8x8 pixels, standardized.", tr.n, te.n))

-- 1. What spectral init does to one layer
local r = 4
local sp = ot.nn.mlp{ 64, 128, { 128, rank = r }, { 128, rank = r }, 10, seed = 3 }
local rg = ot.nn.mlp{ 64, 128, { 128, rank = r }, { 128, rank = r }, 10, seed = 3, init = "regular" }
local L, R = sp:layer(2), rg:layer(2)
print(fmt("\n1. One 128x128 layer as U Vt with rank r = %d (%d instead of %d weights).", r,
          2 * 128 * r, 128 * 128))
print("   spectral: U Vt is the top-4 SVD of a Kaiming draw, split evenly between the factors:")
print(fmt("   singular values %s; U^T U = Vt Vt^T = diag of them (balanced).",
          table.concat((function()
            local t = {}
            for i = 1, r do t[i] = fmt("%.2f", L.sv(i)) end
            return t
          end)(), " ")))
print(fmt("   regular: U, Vt drawn independently; ||U Vt||_F = %.1f against %.1f spectral,",
          R.fro, L.fro))
print("   so each regular layer multiplies the signal by a much larger factor.")

-- 2. Train the three schemes, no batch norm, lambda = 5e-3
print("\n2. Training 20 epochs each (no batch norm, SGD 0.9, lr 0.05, lambda = 5e-3):")
local runs = {
  { "regular + weight decay", "regular", "weight" },
  { "spectral + weight decay", "spectral", "weight" },
  { "spectral + Frobenius decay", "spectral", "frobenius" },
}
local curves, labels = {}, {}
for k, run in ipairs(runs) do
  local net = ot.nn.mlp{ 64, 128, { 128, rank = r }, { 128, rank = r }, 10, seed = 7, init = run[2] }
  local acc = {}
  local info = net:fit(X, tr.y, {
    epochs = 20, lr = 0.05, weight_decay = 5e-3, regularizer = run[3], milestones = { 10, 15 },
    seed = 2, test = { Xt, te.y },
    progress = function(p) acc[p.epoch] = 100 * p.test_acc end,
  })
  for e = #acc + 1, 20 do acc[e] = 0 / 0 end -- a diverged run leaves a gap
  curves[k], labels[k] = acc, run[1]
  local l2 = not info.diverged and net:layer(2)
  print(fmt("   %-27s %s", run[1], info.diverged
    and fmt("diverged in epoch %d (the loss became infinite)", info.epochs + 1)
    or fmt("test accuracy %.1f%%, layer 2: ||W||_F %.2f, nuclear norm %.2f", 100 * info.final_test_acc,
           l2.fro, l2.nuclear)))
end
ui.plot(curves, { labels = labels, width = 70, height = 14, title = "test accuracy (%) per epoch",
                  xlabel = "epoch" })
print("   Weight decay on the factors, (lambda/2)(||U||^2 + ||Vt||^2), is at least lambda times")
print("   the nuclear norm of U Vt (equal when the factors are balanced): a penalty on the")
print("   product's singular values that depends on how it is factored. Frobenius decay,")
print("   (lambda/2)||U Vt||^2, penalizes the product itself, as weight decay does a dense W.")

-- 3. Overcomplete, then collapsed
print("\n3. Overcomplete: rank 256 > 128 (more parameters than the dense layer), Frobenius decay.")
local over = ot.nn.mlp{ 64, 128, { 128, rank = 256 }, { 128, rank = 256 }, 10, seed = 4 }
local oi = over:fit(X, tr.y, { epochs = 10, lr = 0.05, weight_decay = 5e-4, regularizer = "frobenius",
                               milestones = { 5, 8 }, seed = 1, test = { Xt, te.y } })
local dense = over:collapse()
local l1, z1 = over:predict(Xt)
local l2, z2 = dense:predict(Xt)
print(fmt("   test accuracy %.1f%%; collapsed into dense 128x128 layers (%d -> %d weights),",
          100 * oi.final_test_acc, over:info().params, dense:info().params))
print(fmt("   the same predictions: max |logit difference| = %.1e, labels identical: %s.",
          (z1 - z2):abs():max(), tostring(l1:equals(l2))))
print("\nMore: scripts/nn_factorized.lua runs the whole grid (5 seeds, ranks 2/4/16, batch norm).")
