/*
 * sys.c -- session settings: the memory budget, threads, version.
 */
#include "bind.h"
#include "ot/alloc.h"
#include "ot/linalg.h"

/* ot.mem(): a table {used=, peak=, limit=} in bytes. */
static int sys_mem(lua_State *L) {
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)ot_mem_used());
  lua_setfield(L, -2, "used");
  lua_pushinteger(L, (lua_Integer)ot_mem_peak());
  lua_setfield(L, -2, "peak");
  lua_pushinteger(L, (lua_Integer)ot_mem_limit());
  lua_setfield(L, -2, "limit");
  return 1;
}

/* ot.mem_limit([size]): the budget in bytes; with an argument (bytes, or a
 * string like "2G"), sets it first.  0 means no limit. */
static int sys_mem_limit(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    size_t bytes;
    if (lua_type(L, 1) == LUA_TSTRING) {
      const char *s = lua_tostring(L, 1);
      if (ot_mem_parse(s, &bytes) != OT_OK)
        bind_argerror(L, 1, "size", "expected bytes or a size like \"512M\" or \"2G\", got \"%s\"", s);
    } else {
      bytes = bind_checksize(L, 1, "size");
    }
    /* A budget at or below what is live would leave a session in which
     * nothing, not even this call's result, can be allocated. */
    if (bytes != 0 && bytes <= ot_mem_used()) {
      char want[32], used[32];
      ot_mem_format(bytes, want, sizeof want);
      ot_mem_format(ot_mem_used(), used, sizeof used);
      bind_argerror(L, 1, "size", "%s is not above the %s already in use", want, used);
    }
    ot_mem_set_limit(bytes);
  }
  lua_pushinteger(L, (lua_Integer)ot_mem_limit());
  return 1;
}

/* ot.threads([n]): BLAS threads; sets them first when n is given. */
static int sys_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = bind_checkinteger(L, 1, "n");
    if (n < 1 || n > 1024) bind_argerror(L, 1, "n", "must be in 1..1024, got %lld", (long long)n);
    ot_blas_set_threads((int)n);
  }
  lua_pushinteger(L, ot_blas_threads());
  return 1;
}

static int sys_blas_info(lua_State *L) {
  lua_pushstring(L, ot_blas_info());
  return 1;
}

static const luaL_Reg sys_funcs[] = {
  {"mem", sys_mem},
  {"mem_limit", sys_mem_limit},
  {"threads", sys_threads},
  {"blas_info", sys_blas_info},
  {NULL, NULL}
};

void bind_open_sys(lua_State *L) {
  luaL_setfuncs(L, sys_funcs, 0);
#ifdef OTLAB_VERSION
  lua_pushliteral(L, OTLAB_VERSION);
  lua_setfield(L, -2, "version");
#endif
}
