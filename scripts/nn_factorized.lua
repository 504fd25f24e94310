-- nn_factorized.lua -- the seed's finding at CPU scale: factorized layers train
-- like dense ones when spectrally initialized and regularized with Frobenius
-- decay (specs/factorized.md, "Reference behaviour").
--
--   otlab scripts/nn_factorized.lua [--quick] [--seeds N] [--epochs N]
--
-- Digits 8x8, a 75/25 stratified split per seed, standardized with the
-- training statistics; MLP 64 -> 128 -> two factorized 128x128 -> 10, ReLU,
-- SGD momentum 0.9, batch 64, lr 0.05 times 0.1 after 50% and 75% of the
-- epochs (30).  Three experiments, each over the seeds 1..N (default 5):
--   A  no batch norm, lambda = 5e-3: ranks 2, 4, 16 x {regular+wd,
--      spectral+wd, spectral+fd}, and the dense net
--   B  batch norm, lambda = 5e-4: the same grid
--   C  overcomplete r = 256 = 2 x 128 (no batch norm, lambda = 5e-4), two-
--      factor U Vt and three-factor U M Vt (the latter also at lr 0.02):
--      weight decay against Frobenius decay, then the collapse of each
--      trained net into a dense one (largest logit difference)
-- Each cell is the mean +- sd of the test accuracy (%) over the seeds.  A
-- diverged run (the loss became nan or inf) counts at the accuracy of a
-- net whose logits are nan, i.e. predicting class 0 as PyTorch's argmax
-- does (about 10%), so the cells compare with the reference numbers taken
-- with PyTorch; "k div" says how many of the seeds diverged, "k dead" how
-- many more ended below 20% with finite weights (every ReLU dead after a
-- huge step: a divergence the loss did not show as nan).
-- --quick: 2 seeds, 6 epochs, ranks 2 and 16 (a smoke run of a few seconds).

local args = { ... }
local quick, nseeds, epochs = false, 5, 30
local i = 1
while i <= #args do
  local a = args[i]
  if a == "--quick" then
    quick = true
  elseif a == "--seeds" or a == "--epochs" then
    local v = tonumber(args[i + 1])
    if not v or v < 1 or v ~= math.floor(v) then
      io.stderr:write("nn_factorized: " .. a .. " needs a positive integer\n")
      os.exit(2)
    end
    if a == "--seeds" then nseeds = v else epochs = v end
    i = i + 1
  else
    io.stderr:write("usage: otlab scripts/nn_factorized.lua [--quick] [--seeds N] [--epochs N]\n")
    os.exit(2)
  end
  i = i + 1
end
local ranks = { 2, 4, 16 }
if quick then nseeds, epochs, ranks = 2, 6, { 2, 16 } end
local milestones = { math.floor(epochs * 0.5), math.floor(epochs * 0.75) }

local t_start = ot.clock and ot.clock() or os.time()
local function now() return ot.clock and ot.clock() or os.time() end

-- ---- data: one standardized split per seed -------------------------------------------
local digits = ot.data.digits()
local splits = {}
local function split(seed)
  if splits[seed] then return splits[seed] end
  local tr, te = digits:split(0.25, { stratify = true, seed = seed })
  local mu = tr.X:mean(1)
  local sd = ((tr.X - mu) ^ 2):mean(1):sqrt():map(function(v) return v > 0 and v or 1 end)
  local s = { X = (tr.X - mu) / sd, y = tr.y, Xt = (te.X - mu) / sd, yt = te.y }
  local zeros = 0 -- the accuracy of a nan net: class 0 everywhere
  for k = 1, #s.yt do if s.yt(k) == 0 then zeros = zeros + 1 end end
  s.nan_acc = zeros / #s.yt
  splits[seed] = s
  return s
end

-- ---- one run ------------------------------------------------------------------------------
-- kind: "dense" | "regular+wd" | "spectral+wd" | "spectral+fd"
local function run(kind, rank, bn, lambda, seed, deep, lr)
  local d = split(seed)
  local spec
  if kind == "dense" then
    spec = { 64, 128, 128, 128, 10 }
  else
    spec = { 64, 128, { 128, rank = rank, deep = deep }, { 128, rank = rank, deep = deep }, 10 }
  end
  spec.batchnorm = bn
  spec.init = kind:match("^regular") and "regular" or "spectral"
  spec.seed = 1000 + seed
  local net = ot.nn.mlp(spec)
  local info = net:fit(d.X, d.y, {
    epochs = epochs, lr = lr or 0.05, momentum = 0.9, batch_size = 64, weight_decay = lambda,
    regularizer = kind:match("fd$") and "frobenius" or "weight",
    milestones = milestones, gamma = 0.1, seed = seed, test = { d.Xt, d.yt },
  })
  local acc = info.diverged and d.nan_acc or net:accuracy(d.Xt, d.yt)
  return acc * 100, info.diverged, net, info
end

local function stats(v)
  local n, s, ss = #v, 0, 0
  for _, x in ipairs(v) do s = s + x end
  local m = s / n
  for _, x in ipairs(v) do ss = ss + (x - m) ^ 2 end
  return m, n > 1 and math.sqrt(ss / (n - 1)) or 0
end

-- "mean +- sd", then how many runs diverged and how many more ended at
-- chance level (below 20%: a net whose ReLUs all died after a huge step)
local function cell(accs, div)
  local m, sd = stats(accs)
  local s = string.format("%5.1f +- %4.1f", m, sd)
  local low = 0
  for _, a in ipairs(accs) do if a < 20 then low = low + 1 end end
  low = low - div
  if div > 0 and low > 0 then
    s = s .. string.format(" (%d div, %d dead)", div, low)
  elseif div > 0 then
    s = s .. string.format(" (%d div)", div)
  elseif low > 0 then
    s = s .. string.format(" (%d dead)", low)
  end
  return s
end

local function grid(title, bn, lambda, ref)
  print(string.format("\n%s (lambda = %g, %d seeds, %d epochs; test accuracy %%)", title, lambda,
                      nseeds, epochs))
  local head = string.format("%-13s", "")
  for _, r in ipairs(ranks) do head = head .. string.format("  %-24s", "r = " .. r) end
  print(head .. "  reference (PyTorch, 3 seeds)")
  for _, kind in ipairs({ "regular+wd", "spectral+wd", "spectral+fd", "dense" }) do
    local line = string.format("%-13s", kind)
    for _, r in ipairs(ranks) do
      if kind == "dense" and r ~= ranks[1] then
        line = line .. string.format("  %-24s", "")
      else
        local accs, div = {}, 0
        for seed = 1, nseeds do
          local a, dv = run(kind, r, bn, lambda, seed)
          accs[#accs + 1] = a
          if dv then div = div + 1 end
        end
        line = line .. string.format("  %-24s", cell(accs, div))
      end
    end
    print(line .. "  " .. (ref[kind] or ""))
    io.stdout:flush()
  end
end

print(string.format("factorized layers on digits: MLP 64 -> 128 -> 128x128 (U Vt) x 2 -> 10, " ..
                    "SGD 0.9, batch 64, lr 0.05 x0.1 after epochs %d and %d%s",
                    milestones[1], milestones[2], quick and "  [--quick]" or ""))
print("dense: r does not apply (one column)")

grid("A. no batch norm", false, 5e-3, {
  ["regular+wd"] = "diverged in most runs",
  ["spectral+wd"] = "88.6 +- 2.9 | 66.9 +- 49 (1 div) | 97.1 +- 0.2",
  ["spectral+fd"] = "91.7 +- 0.3 | 95.6 +- 0.7 | 97.6 +- 0.5",
  ["dense"] = "about 97",
})
grid("B. batch norm", true, 5e-4, {
  ["spectral+wd"] = "82.0 +- 7.3 at r = 2; within noise of fd at 4, 16",
  ["spectral+fd"] = "87.3 +- 1.1 at r = 2",
  ["dense"] = "96.4",
})

-- ---- C: overcomplete ---------------------------------------------------------------------------
local R = quick and 160 or 256
print(string.format("\nC. overcomplete r = %d > 128 (no batch norm, lambda = 5e-4, %d seeds; test accuracy %%)",
                    R, nseeds))
print("reference: trains with FD, diverges with weight decay; the collapsed net predicts the same " ..
      "(max logit difference ~1e-14)")
print("(the deep form also at lr 0.02: at 0.05 it is past its stability limit)")
for _, form in ipairs({ { "U Vt", false, 0.05 }, { "U M Vt", true, 0.05 }, { "U M Vt", true, 0.02 } }) do
  for _, kind in ipairs({ "regular+wd", "spectral+wd", "spectral+fd" }) do
    local accs, div, worst, agree, checked, nonfinite = {}, 0, 0, true, 0, 0
    for seed = 1, nseeds do
      local a, dv, net = run(kind, R, false, 5e-4, seed, form[2], form[3])
      accs[#accs + 1] = a
      if dv then
        div = div + 1
      else
        local d = split(seed)
        local l1, z1 = net:predict(d.Xt)
        local l2, z2 = net:collapse():predict(d.Xt)
        if z1:all_finite() and z2:all_finite() then
          worst = math.max(worst, (z1 - z2):abs():max())
          agree = agree and l1:equals(l2)
          checked = checked + 1
        else -- a dead net whose factors drifted to extreme scales overflows
          nonfinite = nonfinite + 1
        end
      end
    end
    local col = checked == 0 and "-" or string.format("max |logit diff| %.1e, labels %s (%d nets)",
                                                      worst, agree and "identical" or "DIFFER", checked)
    if nonfinite > 0 then
      col = col .. string.format("; %d with non-finite logits (factored or collapsed)", nonfinite)
    end
    print(string.format("%-7s lr %-5g %-12s %-30s collapse: %s", form[1], form[3], kind,
                        cell(accs, div), col))
    io.stdout:flush()
  end
end

print(string.format("\nwall time %.1f s (BLAS threads %d)", now() - t_start, ot.threads()))
