print("testing nn")

-- Small, fast problems (this file runs under ASan too): a 400-row slice of
-- digits, standardized with the training statistics.
local ds = ot.data.digits():subset((function()
  local idx = {}
  for i = 1, 400 do idx[i] = i end
  return idx
end)())
local tr, te = ds:split(0.25, { stratify = true, seed = 3 })
local mu = tr.X:mean(1)
local sd = ((tr.X - mu) ^ 2):mean(1):sqrt():map(function(v) return v > 0 and v or 1 end)
local X, Xt = (tr.X - mu) / sd, (te.X - mu) / sd
local y, yt = tr.y, te.y

-- errors: message checked, session alive, the next valid call works
local function fails(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error: " .. pattern)
  assert(string.find(tostring(err), pattern, 1, true), "got: " .. tostring(err))
end

-- ---- the builder -------------------------------------------------------------------
local net = ot.nn.mlp{ 64, 32, { 32, rank = 4 }, { 32, scale = 0.5, deep = true }, 10, seed = 1 }
assert(#net == 4)
local s = tostring(net)
assert(s:find("Net 64 -> 32 -> 32 (U Vt, r = 4) -> 32 (U M Vt, r = 16) -> 10", 1, true), s)
local info = net:info()
assert(info.in_ == nil and info["in"] == 64 and info.classes == 10 and info.layers == 4)
-- 64*32+32 + (32*4 + 4*32 + 32) + (32*16 + 16*16 + 16*32 + 32) + (32*10 + 10)
assert(info.params == 2080 + 288 + 1312 + 330, info.params)
assert(info.init == "spectral" and info.activation == "relu" and info.batchnorm == false)

-- spectral init: layer 2 is the balanced split, U^T U = Vt Vt^T = diag(sv)
local L2 = net:layer(2)
assert(L2.kind == "factorized" and L2.rank == 4 and L2.deep == false)
local GU, GV = L2.U:T():dot(L2.U), L2.Vt:dot(L2.Vt:T())
for i = 1, 4 do
  for j = 1, 4 do
    local want = i == j and L2.sv(i) or 0
    assert(math.abs(GU(i, j) - want) < 1e-12 and math.abs(GV(i, j) - want) < 1e-12)
  end
end
assert(math.abs(L2.fro ^ 2 - (L2.W ^ 2):sum()) < 1e-12 * L2.fro ^ 2)
assert(math.abs(L2.nuclear - L2.sv:sum()) < 1e-12)
local L3 = net:layer(3)
assert(L3.M and L3.M:allclose(ot.eye(16)), "M starts at the identity")
assert(net:layer(4).b and net:layer(1).kind == "dense")

fails("ot.nn.mlp: bad argument #1 'spec' (unknown option 'batchnrom'", ot.nn.mlp, { 4, 3, batchnrom = true })
fails("entry 2: unknown key 'rnak'", ot.nn.mlp, { 4, { 3, rnak = 2 }, 3 })
fails("entry 2: rank must be an integer", ot.nn.mlp, { 4, { 3, rank = 0 }, 3 })
fails("give rank or scale, not both", ot.nn.mlp, { 4, { 3, rank = 1, scale = 0.5 }, 3 })
fails("scale 0.1 gives rank 0", ot.nn.mlp, { 4, { 3, scale = 0.1 }, 3 })
fails("deep needs a factorized layer", ot.nn.mlp, { 4, { 3, deep = true }, 3 })
fails("the last layer gives the classes: at least 2", ot.nn.mlp, { 4, 1 })
fails("needs the input width and at least one layer", ot.nn.mlp, { 4 })
fails("option 'activation' must be \"relu\" or \"tanh\", got sigmoid", ot.nn.mlp, { 4, 3, activation = "sigmoid" })
fails("option 'init' must be \"regular\" or \"spectral\"", ot.nn.mlp, { 4, 3, init = "svd" })
fails("table expected, got number", ot.nn.mlp, 5)
fails("entry 1 must be the input width", ot.nn.mlp, { 0, 3 })

-- ---- training ------------------------------------------------------------------------
local function train(seed, opts)
  local n = ot.nn.mlp{ 64, 32, { 32, rank = 4 }, 10, seed = seed, batchnorm = opts.batchnorm }
  local o = { epochs = 4, lr = 0.05, weight_decay = 5e-3, regularizer = "frobenius",
              milestones = { 2, 3 }, seed = seed, test = { Xt, yt }, batch_size = 16 }
  return n, n:fit(X, y, o)
end
local netA, ia = train(1, {})
assert(ia.status == "completed" and ia.epochs == 4 and not ia.diverged)
assert(ia.loss:shape() == 4 and ia.test_acc:shape() == 4)
assert(ia.loss(4) < ia.loss(1), "the loss goes down")
assert(ia.final_test_acc > 0.8, ia.final_test_acc)
assert(math.abs(ia.lr(1) - 0.05) < 1e-15 and math.abs(ia.lr(3) - 0.005) < 1e-15 and
       math.abs(ia.lr(4) - 0.0005) < 1e-15)
assert(math.abs(netA:accuracy(Xt, yt) - ia.final_test_acc) < 1e-15)
assert(netA:info().epochs == 4)

-- determinism: same seeds, same losses and the same predictions, bit for bit
local netB, ib = train(1, {})
for e = 1, 4 do assert(ia.loss(e) == ib.loss(e) and ia.test_acc(e) == ib.test_acc(e)) end
local la, za = netA:predict(Xt)
local lb, zb = netB:predict(Xt)
assert(za:equals(zb) and la:equals(lb))
assert(za:shape() == Xt:shape() and select(2, za:shape()) == 10)
local zc = train(2, {})
assert(not select(2, zc:predict(Xt)):equals(za), "another seed, another net")

-- predictions are the arg-max of the logits
for i = 1, 5 do
  local best, bj = -math.huge, 0
  for j = 1, 10 do if za(i, j) > best then best, bj = za(i, j), j - 1 end end
  assert(la(i) == bj)
end

-- train_epoch, the dataset form and loss
local n1 = ot.nn.mlp{ 64, 16, 10, seed = 4 }
local before = n1:loss(X, y)
local e1 = n1:train_epoch(tr.X:copy():mul_(0):add_(X), y, { lr = 0.05, seed = 1 })
assert(e1.status == "completed" and e1.epoch == 1 and e1.examples_per_second > 0)
local e2 = n1:train_epoch(X, y, { lr = 0.05, seed = 1 })
assert(e2.epoch == 2 and n1:loss(X, y) < before)
local dtr = ot.data.dataset(X, y, "std digits")
local i2 = n1:fit(dtr, { epochs = 1, test = ot.data.dataset(Xt, yt, "test") })
assert(i2.epochs == 1 and i2.test_acc(1) > 0)
local ce, pen = n1:loss(X, y, { weight_decay = 0.1 })
assert(ce > 0 and pen > 0)
assert(select(2, n1:loss(X, y)) == 0)

-- batch norm: train mode uses the batch, eval mode the running statistics
local nb, ibn = train(5, { batchnorm = true })
assert(ibn.status == "completed")
local lb1 = nb:layer(1)
assert(lb1.batchnorm and lb1.gamma and lb1.running_var and lb1.b == nil)
local ce_eval = nb:loss(X, y)
local ce_train = nb:loss(X, y, { mode = "train" })
assert(ce_eval ~= ce_train)
assert(nb:loss(X, y) == ce_eval, "train-mode loss leaves the running statistics alone")

-- collapse of a trained overcomplete net (wide and deep, r > min(in, out))
local over = ot.nn.mlp{ 64, 32, { 32, rank = 64 }, { 32, rank = 48, deep = true }, 10, seed = 6 }
over:fit(X, y, { epochs = 3, regularizer = "frobenius", seed = 2 })
local dense = over:collapse()
assert(dense:layer(2).kind == "dense" and dense:layer(3).kind == "dense")
local _, z1 = over:predict(Xt)
local _, z2 = dense:predict(Xt)
assert((z1 - z2):abs():max() < 1e-10, (z1 - z2):abs():max())
assert(over:layer(2).W:allclose(dense:layer(2).W, 0, 1e-13))

-- a view with a row stride wider than its columns gives what its copy gives
do
  local V = X:slice(nil, nil, 2, 9)
  local C = V:copy()
  local a = ot.nn.mlp{ 8, { 6, rank = 2 }, 10, seed = 1, batchnorm = true }
  local b = a:clone()
  local ra = a:fit(V, y, { epochs = 2, seed = 1 })
  local rb = b:fit(C, y, { epochs = 2, seed = 1 })
  assert(ra.loss:equals(rb.loss) and select(2, a:predict(V)):equals(select(2, b:predict(C))))
  assert(a:loss(V, y) == b:loss(C, y) and a:accuracy(V, y) == b:accuracy(C, y))
end

-- clone is independent
local cl = netA:clone()
cl:train_epoch(X, y, { seed = 1 })
assert(select(2, netA:predict(Xt)):equals(za))

-- progress: one call per epoch; false cancels; errors are re-raised
local calls = {}
local np = ot.nn.mlp{ 64, 16, { 16, rank = 2 }, 10, seed = 7 }
local ip = np:fit(X, y, { epochs = 5, seed = 1, test = { Xt, yt }, progress = function(p)
  calls[#calls + 1] = p
  assert(p.epochs == 5 and #p.fro == 3 and #p.nuclear == 3 and p.time >= 0)
  if p.epoch == 3 then return false end
end })
assert(#calls == 3 and ip.status == "canceled" and ip.epochs == 3, ip.status)
assert(calls[2].epoch == 2 and calls[2].test_acc == ip.test_acc(2) and calls[2].loss == ip.loss(2))
assert(math.abs(calls[3].fro[2] - np:layer(2).fro) < 1e-12)
local threads, inside = ot.threads(), nil
np:fit(X, y, { epochs = 1, progress = function() inside = ot.threads() end })
assert(inside == threads and ot.threads() == threads, "the callback sees the session's BLAS threads")
fails("boom", np.fit, np, X, y, { epochs = 2, progress = function() error("boom") end })
fails("Net:fit: the net is training", np.fit, np, X, y, { epochs = 1, progress = function()
  np:fit(X, y, { epochs = 1 })
end })
assert(np:accuracy(X, y) > 0) -- still usable

-- divergence is data, not an error
local nd = ot.nn.mlp{ 64, 16, { 16, rank = 2 }, 10, init = "regular", seed = 1 }
local idv = nd:fit(X, y, { epochs = 5, lr = 1e4, momentum = 0.9, seed = 1 })
assert(idv.diverged and idv.status == "diverged" and idv.epochs < 5)

-- ---- save and load ----------------------------------------------------------------------
local dir = os.tmpname()
os.remove(dir)
assert(netA:save(dir) == true)
local back = ot.nn.load(dir)
assert(tostring(back) == tostring(netA))
assert(select(2, back:predict(Xt)):equals(za))
local nbdir = os.tmpname()
os.remove(nbdir)
assert(nb:save(nbdir))
assert(select(2, ot.nn.load(nbdir):predict(Xt)):equals(select(2, nb:predict(Xt))))
local W = ot.load(dir .. "/l1_W.npy")
assert(W:equals(netA:layer(1).W))
for _, d in ipairs({ dir, nbdir }) do
  local p = io.popen("ls " .. d)
  for f in p:lines() do os.remove(d .. "/" .. f) end
  p:close()
  os.remove(d)
end
local ok, msg = ot.nn.load("/no/such/dir")
assert(ok == nil and msg:find("/no/such/dir/net.txt", 1, true), msg)
ok, msg = netA:save("/no/such/dir/x")
assert(ok == nil and msg:find("/no/such/dir/x", 1, true), msg)

-- ---- bad arguments -----------------------------------------------------------------------
fails("Net:fit: bad argument #1 'X' (has 63 columns, the net takes 64 inputs)", netA.fit, netA, X:slice(1, -1, 1, 63), y)
fails("Net:fit: bad argument #2 'y' (has 10 labels for 300 rows)", netA.fit, netA, X, ot.zeros(10))
fails("Net:fit: bad argument #2 'y' (y[1] = 12 is not a class of this net (integers 0..9))", netA.fit, netA, X,
      y:copy():fill(12))
fails("Net:fit: bad argument #2 'y' (y[2] is a string, not a number)", netA.fit, netA, X:slice(1, 2), { 1, "a" })
assert(netA:accuracy(X:slice(1, 3), { 0, 1, 2 }) >= 0, "labels as a Lua table")
fails("Net:fit: bad argument #3 'opts' (unknown option 'epoch'", netA.fit, netA, X, y, { epoch = 3 })
fails("option 'momentum' must be in [0, 0.999999], got 1", netA.fit, netA, X, y, { momentum = 1 })
fails("option 'regularizer' must be \"weight\" or \"frobenius\", got fro", netA.fit, netA, X, y, { regularizer = "fro" })
fails("option 'batch_size' must be in 1..", netA.fit, netA, X, y, { batch_size = 0 })
fails("option 'milestones': entry 1 must be an epoch >= 0", netA.fit, netA, X, y, { milestones = { -1 } })
fails("option 'test' must be {X, y} or a dataset", netA.fit, netA, X, y, { test = 3 })
fails("Net:fit: bad argument #3 'test X' (has 2 columns", netA.fit, netA, X, y, { test = { ot.zeros(3, 2), ot.zeros(3) } })
fails("Net:train_epoch: bad argument #1 'X' (matrix expected, got nil)", netA.train_epoch, netA)
fails("Net:predict: bad argument #1 'X' (X[1][1] = nan is not finite)", netA.predict, netA, ot.full(2, 64, 0 / 0))
fails("Net:layer: bad argument #1 'i' (must be in 1..3, got 4)", netA.layer, netA, 4)
fails("Net:loss: bad argument #3 'opts' (option 'mode' must be \"eval\" or \"train\"", netA.loss, netA, X, y, { mode = "x" })
fails("Net:save: bad argument #1 'dir' (string expected, got nil)", netA.save, netA)
fails("ot.nn.load: bad argument #1 'dir' (string expected, got number)", ot.nn.load, 3)
fails("Net:fit: bad self", netA.fit, 3)
assert(netA:accuracy(Xt, yt) == ia.final_test_acc, "the net survived every error")
print("OK")
