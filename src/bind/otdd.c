/*
 * otdd.c (bindings) -- ot.otdd: the optimal transport dataset distance (specs/otdd.md).
 * share/help/otdd.txt is the user manual.
 */
#include "bind.h"

/* Adds ot.otdd to the table on top of the stack. */
void bind_open_otdd(lua_State *L) {
  lua_newtable(L);
  lua_setfield(L, -2, "otdd");
}
