/*
 * init.c -- builds the `ot` table from every binding module, as linit.c
 * does for Lua's standard libraries.  Each module adds its functions to the
 * table on top of the stack.
 */
#include "bind.h"

static void (*const openers[])(lua_State *L) = {
  bind_open_mat,
  bind_open_rand,
  bind_open_io,
  bind_open_sys,
  bind_open_cost,
  bind_open_emd,
  bind_open_sinkhorn,
  bind_open_gauss,
  bind_open_sliced,
  bind_open_ui,
  bind_open_bounds,
  bind_open_otdd,
  bind_open_flow,
  bind_open_nn,
  bind_open_mpi,
};

int luaopen_ot(lua_State *L) {
  lua_newtable(L);
  for (size_t i = 0; i < sizeof openers / sizeof openers[0]; i++) openers[i](L);
  return 1;
}
