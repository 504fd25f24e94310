-- prelude.lua: the globals of an otlab session (help, pretty printing, timing).
-- The only Lua file that creates globals, on purpose.
ot = require("ot")
