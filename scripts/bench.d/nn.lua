-- nn.lua -- driver of `scripts/bench nn`, run by otlab from scripts/bench.
--
-- Training throughput (examples per second) of the spec's digits MLP,
-- otlab against PyTorch (Debian's python3-torch), same sizes, same data,
-- same optimizer: 64 -> 128 -> 128 -> 128 -> 10, ReLU, SGD momentum 0.9,
-- batch 64, lr 0.05, lambda 5e-3, on the 1347 training rows of digits
-- (75/25 stratified split, seed 1, standardized).  Rows:
--   dense  every layer dense, coupled weight decay
--   fd16   the two 128x128 layers factorized, rank 16, spectral init,
--          Frobenius decay (PyTorch: added to the gradients after backward)
--   bn16   fd16 with batch normalization after every hidden layer
-- otlab runs in double precision; PyTorch in float64 (the like-for-like
-- figure, in the ratio) and float32 (its usual setting, shown for
-- reference).  Each side: one warm-up epoch, then `repeats` timed runs of
-- `epochs` epochs, best kept.  ratio = otlab examples/s / PyTorch's (above
-- 1: otlab is faster).
--
-- First, a check that both compute the same thing (nn_xcheck.py): from the
-- same saved weights, 5 full-batch steps of a net with every layer kind
-- must agree to rounding; a mismatch makes the bench exit 1.
--
-- Arguments (key=value): dir= (empty temporary directory), quick= (1: 2
-- epochs per run, one run), repeats=, python= (empty: otlab alone), here=.

local A = {}
for _, a in ipairs({ ... }) do
  local k, v = a:match("^([%w_]+)=(.*)$")
  if not k then
    io.stderr:write("bench: argument '" .. a .. "' is not key=value\n")
    os.exit(2)
  end
  A[k] = v
end
local quick = A.quick == "1"
local repeats = quick and 1 or tonumber(A.repeats or "3")
local epochs = quick and 2 or 10
local python = A.python ~= "" and A.python or nil
local dir = assert(A.dir, "dir= is required")

local function out(...) io.write(...); io.flush() end
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- ---- data --------------------------------------------------------------------------------
local tr = ot.data.digits():split(0.25, { stratify = true, seed = 1 })
local mu = tr.X:mean(1)
local sd = ((tr.X - mu) ^ 2):mean(1):sqrt():map(function(v) return v > 0 and v or 1 end)
local X, y = (tr.X - mu) / sd, tr.y
assert(ot.save(dir .. "/X.npy", X) and ot.save(dir .. "/y.npy", y))
local n = X:shape()

out(string.format("otlab             %s, BLAS threads %d (one thread for batch-sized products)\n",
                  tostring(ot.version or "?"), ot.threads()))
out(string.format("data              digits, %d training rows x 64, 10 classes; %d epochs x %d runs, best\n",
                  n, epochs, repeats))

-- ---- the same computation? ---------------------------------------------------------------
-- Before timing anything: 5 full-batch steps of a net with every layer
-- kind (dense, U Vt, overcomplete U M Vt; with and without batch norm;
-- Frobenius decay) taken by otlab and by PyTorch's autograd from the same
-- saved weights must agree to rounding (nn_xcheck.py).
local function xcheck()
  if not python then return end
  local dg = ot.data.digits()
  local Xs, ys = dg.X / 16, dg.y
  local xdir = dir .. "/xcheck"
  os.execute("mkdir -p " .. q(xdir))
  assert(ot.save(xdir .. "/X.npy", Xs) and ot.save(xdir .. "/y.npy", ys))
  local ours = {}
  for _, bn in ipairs({ false, true }) do
    local tag = bn and "bn" or "nobn"
    local net = ot.nn.mlp{ 64, 32, { 32, rank = 4 }, { 24, rank = 40, deep = true }, 10,
                           batchnorm = bn, seed = 3 }
    assert(net:save(xdir .. "/" .. tag .. "0"))
    local info = net:fit(Xs, ys, { epochs = 5, batch_size = 4096, lr = 0.05, momentum = 0.9,
                                   weight_decay = 5e-3, regularizer = "frobenius", seed = 1 })
    assert(net:save(xdir .. "/" .. tag .. "1"))
    ours[tag] = info.loss(5)
  end
  local p = io.popen(string.format("%s %s %s 2>&1", q(python), q(A.here .. "/nn_xcheck.py"), q(xdir)))
  local worst, lines, missing = 0, 0, nil
  for line in p:lines() do
    local m = line:match("^missing=(.*)$")
    if m then missing = m end
    local tag, loss5, rel = line:match("^tag=(%w+) loss0=%S+ loss5=(%S+) rel=(%S+)$")
    if tag then
      lines = lines + 1
      worst = math.max(worst, tonumber(rel), math.abs(tonumber(loss5) - ours[tag]) / ours[tag])
    end
  end
  p:close()
  if missing then return end -- said below, with the timings
  if lines ~= 2 then
    out("equivalence       the PyTorch check failed to run (nn_xcheck.py)\n")
    return false
  end
  out(string.format("equivalence       5 full-batch steps, every layer kind, with and without batch norm:\n" ..
                    "                  otlab and PyTorch autograd (float64) agree to %.1e relative%s\n",
                    worst, worst < 1e-12 and "" or "  ** MISMATCH **"))
  return worst < 1e-12
end
local same = xcheck()

-- ---- otlab --------------------------------------------------------------------------------
local CASES = {
  { name = "dense", spec = { 64, 128, 128, 128, 10 }, reg = "weight" },
  { name = "fd16", spec = { 64, 128, { 128, rank = 16 }, { 128, rank = 16 }, 10 }, reg = "frobenius" },
  { name = "bn16", spec = { 64, 128, { 128, rank = 16 }, { 128, rank = 16 }, 10, batchnorm = true },
    reg = "frobenius" },
}

local function otlab_rate(c)
  local spec = {}
  for k, v in pairs(c.spec) do spec[k] = v end
  spec.seed = 1
  local net = ot.nn.mlp(spec)
  local o = { lr = 0.05, momentum = 0.9, batch_size = 64, weight_decay = 5e-3, regularizer = c.reg }
  o.seed = 0
  net:train_epoch(X, y, o) -- warm-up
  local best, loss = 0, 0
  for r = 1, repeats do
    local t = 0
    for e = 1, epochs do
      o.seed = r * 1000 + e
      local info = net:train_epoch(X, y, o)
      t, loss = t + info.time, info.loss
    end
    best = math.max(best, epochs * n / t)
  end
  return best, loss
end

-- ---- PyTorch ------------------------------------------------------------------------------
local function torch_rate(c, dtype)
  if not python then return nil, "skipped (--no-pot)" end
  local cmd = string.format("%s %s %s %s %s %d %d 2>&1", q(python), q(A.here .. "/nn_worker.py"),
                            q(dir), c.name, dtype, epochs, repeats)
  local p = io.popen(cmd)
  local r = {}
  for line in p:lines() do
    local k, v = line:match("^([%w_]+)=(.*)$")
    if k then r[k] = v end
  end
  p:close()
  if r.missing then return nil, "python3-torch missing (apt-get install python3-torch): " .. r.missing end
  if not r.examples_per_second then return nil, "the PyTorch worker failed: " .. cmd end
  return tonumber(r.examples_per_second), r
end

local head = string.format("%-6s %14s %14s %8s %14s %8s  %s", "case", "otlab f64", "torch f64",
                           "ratio", "torch f32", "ratio", "final loss otlab / torch f64")
local printed_head, note = false, nil
for _, c in ipairs(CASES) do
  local ours, loss = otlab_rate(c)
  local t64, r64 = torch_rate(c, "f64")
  local t32 = t64 and torch_rate(c, "f32")
  if not printed_head then
    if r64 and type(r64) == "table" then
      out(string.format("PyTorch           %s, %s intra-op threads\n", r64.version, r64.threads))
    end
    out("\nexamples per second (training, higher is better)\n", head, "\n")
    printed_head = true
  end
  if t64 then
    out(string.format("%-6s %14.0f %14.0f %8.2f %14.0f %8.2f  %.4g / %s\n", c.name, ours, t64,
                      ours / t64, t32 or 0 / 0, t32 and ours / t32 or 0 / 0, loss, r64.loss))
  else
    out(string.format("%-6s %14.0f %14s %8s %14s %8s  %.4g\n", c.name, ours, "-", "-", "-", "-", loss))
    note = r64
  end
end
if note then out("PyTorch: ", note, "\n") end
if same == false then os.exit(1) end
