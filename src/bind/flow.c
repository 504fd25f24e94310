/*
 * flow.c (bindings) -- ot.flow: particle gradient flows of datasets (specs/flows.md).
 * share/help/flow.txt is the user manual.
 */
#include "bind.h"

/* Adds ot.flow to the table on top of the stack. */
void bind_open_flow(lua_State *L) {
  lua_newtable(L);
  lua_setfield(L, -2, "flow");
}
