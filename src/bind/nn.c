/*
 * nn.c (bindings) -- ot.nn: factorized neural layers: spectral init, Frobenius decay (specs/factorized.md).
 * share/help/nn.txt is the user manual.
 */
#include "bind.h"

/* Adds ot.nn to the table on top of the stack. */
void bind_open_nn(lua_State *L) {
  lua_newtable(L);
  lua_setfield(L, -2, "nn");
}
