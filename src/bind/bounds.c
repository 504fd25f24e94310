/*
 * bounds.c (bindings) -- ot.bounds: certified mini-batch upper and lower bounds on OT (specs/bounds.md).
 * share/help/bounds.txt is the user manual.
 */
#include "bind.h"

/* Adds ot.bounds to the table on top of the stack. */
void bind_open_bounds(lua_State *L) {
  lua_newtable(L);
  lua_setfield(L, -2, "bounds");
}
