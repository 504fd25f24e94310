-- demo: a label-morphing flow on a 2-D mixture
-- Run: otlab scripts/demos/flow.lua (or demo("flow") at the prompt).
-- A source mixture with two classes flows onto a target mixture with three
-- classes placed elsewhere.  Labels move with the points (labels = "joint"):
-- each particle carries its class Gaussian, and after every step the labels
-- are re-derived by clustering, so two source labels morph into three.

print("A dataset flow: particles move to decrease the OT dataset distance (OTDD)")
print("to a target dataset; here the labels flow too.")
print()
local src = ot.data.gaussian_mixture{n = 150, means = {{-3, -2}, {3, -2}}, labels = {0, 1}, seed = 11}
local tgt = ot.data.gaussian_mixture{n = 180, means = {{-4, 4}, {0, 6}, {4, 4}}, labels = {5, 6, 7},
                                     seed = 12}
print("source: " .. tostring(src))
print("target: " .. tostring(tgt))
ui.scatter(tgt.X, tgt.y, {width = 64, height = 16, title = "the target: three classes (5, 6, 7)"})

local flow = ot.flow.new(src, {target = tgt, labels = "joint", step = 0.5, eps = 0.05,
                               title = "demo: label-morphing flow"})
local function counts(y)
  local c, keys = {}, {}
  for i = 1, #y do local v = math.tointeger(y:get(i)) or y:get(i); if not c[v] then keys[#keys + 1] = v end; c[v] = (c[v] or 0) + 1 end
  table.sort(keys)
  local t = {}
  for _, k in ipairs(keys) do t[#t + 1] = k .. ": " .. c[k] end
  return table.concat(t, ", ")
end
for _, upto in ipairs{0, 2, 5, 12, 25} do
  local now = flow:history().step
  local k = math.tointeger(upto - now:get(#now))
  if k and k > 0 then flow:step(k) end
  local s, h = flow:state(), flow:history()
  ui.scatter(s.X, s.y, {width = 64, height = 16,
                        title = string.format("step %d  F = %.3f  labels {%s}", upto, h.F:get(#h.F),
                                              counts(s.y))})
  if upto == 0 then
    print("Step 0: two classes below. Each step moves every particle along x - T(x), T the")
    print("barycentric projection of the entropic plan in the space (features, class mean, class spread).")
  elseif upto == 5 then
    print("The label part now drifts to the target's class Gaussians; clustering it gives the labels.")
  end
end
local h = flow:history()
ui.plot(h.F, {width = 64, height = 10, title = "the objective (Sinkhorn divergence) per step"})
print(string.format("F fell from %.3f to %.4f in %d steps; labels now {%s}: two source classes",
                    h.F:get(1), h.F:get(#h.F), #h.F - 1, counts(flow:state().y)))
print("became the target's three. Try labels = \"fixed\" to keep the source labels instead.")
