/*
 * util.c -- argument checking, option tables, errors, the random generator
 * and the progress sink shared by every binding (see bind.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "ot/alloc.h"
#include "panel_hook.h"

volatile sig_atomic_t bind_interrupted = 0;

bind_panel_fn bind_panel_hook = NULL;

static ot_rng session_rng;
static int rng_ready;

ot_rng *bind_rng(void) {
  if (!rng_ready) {
    ot_rng_seed(&session_rng, 0);
    rng_ready = 1;
  }
  return &session_rng;
}

/* If the table at t (a module, named prefix) holds the function at fn,
 * push "prefix.key" and return 1; otherwise push nothing and return 0. */
static int name_in(lua_State *L, int t, int fn, const char *prefix) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, fn)) {
      lua_pushfstring(L, "%s.%s", prefix, lua_tostring(L, -2));
      lua_replace(L, -3);
      lua_pop(L, 1);
      return 1;
    }
    lua_pop(L, 1);
  }
  return 0;
}

/* Push the qualified name of the running C function: "ot.zeros",
 * "ot.data.digits", "Mat:sum", or the name Lua knows it by. */
static void push_funcname(lua_State *L) {
  lua_Debug ar;
  if (!lua_getstack(L, 0, &ar)) {
    lua_pushliteral(L, "?");
    return;
  }
  lua_getinfo(L, "nf", &ar);
  int fn = lua_gettop(L);
  if (lua_getglobal(L, "ot") == LUA_TTABLE) {
    int ot = fn + 1;
    if (name_in(L, ot, fn, "ot")) goto found;
    lua_pushnil(L);
    while (lua_next(L, ot)) { /* one level of sub-modules: ot.data, ot.gaussian... */
      if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
        lua_pushfstring(L, "ot.%s", lua_tostring(L, -2));
        if (name_in(L, lua_gettop(L) - 1, fn, lua_tostring(L, -1))) goto found;
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  lua_settop(L, fn - 1);
  if (ar.name && ar.namewhat && strcmp(ar.namewhat, "method") == 0)
    lua_pushfstring(L, "Mat:%s", ar.name);
  else
    lua_pushstring(L, ar.name ? ar.name : "?");
  return;
found:
  lua_replace(L, fn);
  lua_settop(L, fn);
}

int bind_argerror(lua_State *L, int arg, const char *name, const char *fmt, ...) {
  va_list ap;
  char reason[256];
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  push_funcname(L);
  const char *fname = lua_tostring(L, -1);
  return luaL_error(L, "%s: bad argument #%d '%s' (%s)", fname, arg, name, reason);
}

double bind_checknumber(lua_State *L, int arg, const char *name) {
  int isnum;
  lua_Number v = lua_tonumberx(L, arg, &isnum);
  if (!isnum) bind_argerror(L, arg, name, "number expected, got %s", luaL_typename(L, arg));
  return v;
}

lua_Integer bind_checkinteger(lua_State *L, int arg, const char *name) {
  int isnum;
  lua_Integer v = lua_tointegerx(L, arg, &isnum);
  if (!isnum) {
    if (lua_isnumber(L, arg))
      bind_argerror(L, arg, name, "number has no integer representation, got %s",
                    lua_tostring(L, arg));
    else
      bind_argerror(L, arg, name, "integer expected, got %s", luaL_typename(L, arg));
  }
  return v;
}

size_t bind_checksize(lua_State *L, int arg, const char *name) {
  lua_Integer v = bind_checkinteger(L, arg, name);
  if (v < 0) bind_argerror(L, arg, name, "must be >= 0, got %lld", (long long)v);
  return (size_t)v;
}

void bind_checkopts(lua_State *L, int arg, const char *const keys[]) {
  if (lua_isnoneornil(L, arg)) return;
  if (!lua_istable(L, arg))
    bind_argerror(L, arg, "opts", "table expected, got %s", luaL_typename(L, arg));
  arg = lua_absindex(L, arg);
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    lua_pop(L, 1);
    int ok = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *k = lua_tostring(L, -1);
      for (int i = 0; keys[i]; i++)
        if (strcmp(k, keys[i]) == 0) ok = 1;
    }
    if (!ok) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (int i = 0; keys[i]; i++) {
        if (i) luaL_addstring(&b, ", ");
        luaL_addstring(&b, keys[i]);
      }
      luaL_pushresult(&b);
      const char *known = lua_tostring(L, -1);
      const char *bad = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                       : luaL_typename(L, -2);
      bind_argerror(L, arg, "opts", "unknown option '%s'; known: %s", bad,
                    keys[0] ? known : "none");
    }
  }
}

/* Push opts[key]; 1 when present (not nil). */
static int getfield(lua_State *L, int arg, const char *key) {
  if (!lua_istable(L, arg)) {
    lua_pushnil(L);
    return 0;
  }
  return lua_getfield(L, arg, key) != LUA_TNIL;
}

double bind_optfield_number(lua_State *L, int arg, const char *key, double def) {
  double v = def;
  if (getfield(L, arg, key)) {
    int isnum;
    v = lua_tonumberx(L, -1, &isnum);
    if (!isnum)
      bind_argerror(L, arg, "opts", "option '%s' must be a number, got %s", key,
                    luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

lua_Integer bind_optfield_integer(lua_State *L, int arg, const char *key, lua_Integer def) {
  lua_Integer v = def;
  if (getfield(L, arg, key)) {
    int isnum;
    v = lua_tointegerx(L, -1, &isnum);
    if (!isnum)
      bind_argerror(L, arg, "opts", "option '%s' must be an integer, got %s", key,
                    lua_isnumber(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

int bind_optfield_boolean(lua_State *L, int arg, const char *key, int def) {
  int v = def;
  if (getfield(L, arg, key)) {
    if (!lua_isboolean(L, -1))
      bind_argerror(L, arg, "opts", "option '%s' must be a boolean, got %s", key,
                    luaL_typename(L, -1));
    v = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

const char *bind_optfield_string(lua_State *L, int arg, const char *key, const char *def) {
  const char *v = def;
  if (getfield(L, arg, key)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      bind_argerror(L, arg, "opts", "option '%s' must be a string, got %s", key,
                    luaL_typename(L, -1));
    v = lua_tostring(L, -1); /* anchored in the options table */
  }
  lua_pop(L, 1);
  return v;
}

bmat *bind_checkweights(lua_State *L, int arg, const char *name, size_t n, double *sum) {
  bmat *w;
  arg = lua_absindex(L, arg);
  int empty = lua_isnoneornil(L, arg);
  if (lua_istable(L, arg)) {
    lua_pushnil(L);
    empty = lua_next(L, arg) == 0;
    if (!empty) lua_pop(L, 2); /* the key and value lua_next pushed */
  }
  if (empty) {
    push_funcname(L); /* an over-budget error names the function called */
    w = bind_newvec(L, n, lua_tostring(L, -1)); /* uniform */
    lua_remove(L, -2);
    for (size_t i = 0; i < n; i++) w->m.data[i] = 1.0 / (double)n;
    lua_replace(L, arg);
    *sum = n ? 1.0 : 0.0;
    return w;
  }
  w = bind_checkvector(L, arg, name);
  if (w->m.rows != n)
    bind_argerror(L, arg, name, "has %zu entries, needs %zu (one per point)", w->m.rows, n);
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    double v = w->m.data[i];
    if (!isfinite(v))
      bind_argerror(L, arg, name, "%s[%zu] = %s is not finite", name, i + 1,
                    isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"); /* %g may say "-nan" */
    if (v < 0) bind_argerror(L, arg, name, "%s[%zu] = %g < 0", name, i + 1, v);
    s += v;
  }
  if (n > 0 && !(s > 0)) bind_argerror(L, arg, name, "all weights are zero");
  *sum = s;
  return w;
}

void bind_checkbalanced(lua_State *L, int arg_b, const char *name_b, double sa, double sb) {
  if (fabs(sa - sb) > 1e-9 * (sa > sb ? sa : sb))
    bind_argerror(L, arg_b, name_b,
                  "sums to %.17g but a sums to %.17g; balanced OT needs equal masses "
                  "(pass normalize = true to rescale both to 1)", sb, sa);
}

void bind_check_status(lua_State *L, int rc, const char *fname) {
  if (rc == OT_OK) return;
  if (rc == OT_EBUDGET) {
    char lim[32], used[32];
    ot_mem_format(ot_mem_limit(), lim, sizeof lim);
    ot_mem_format(ot_mem_used(), used, sizeof used);
    luaL_error(L, "%s: %s (%s of %s in use; raise it with --mem-limit or ot.mem_limit)", fname,
               ot_strerror(rc), used, lim);
  }
  if (rc == OT_ECANCELED && bind_interrupted) luaL_error(L, "%s: interrupted", fname);
  luaL_error(L, "%s: %s", fname, ot_strerror(rc));
}

/* Protected part of bind_progress: calls the callback (1) with a table
 * made from the ot_progress (light userdata 2); returns its result. */
static int progress_call(lua_State *L) {
  const ot_progress *p = lua_touserdata(L, 2);
  lua_settop(L, 1);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, p->kernel ? p->kernel : "");
  lua_setfield(L, -2, "kernel");
  lua_pushinteger(L, p->iter);
  lua_setfield(L, -2, "iter");
  lua_pushinteger(L, p->max_iter);
  lua_setfield(L, -2, "max_iter");
  lua_pushnumber(L, p->err);
  lua_setfield(L, -2, "err");
  lua_pushnumber(L, p->objective);
  lua_setfield(L, -2, "objective");
  lua_pushnumber(L, p->elapsed);
  lua_setfield(L, -2, "elapsed");
  lua_call(L, 1, 1);
  return 1;
}

int bind_progress(void *ud, const ot_progress *p) {
  bind_progress_ud *u = ud;
  if (bind_interrupted) return 1;
  if (bind_panel_hook && bind_panel_hook(p)) { /* the panel's c key: as Ctrl-C */
    bind_interrupted = 1;
    return 1;
  }
  if (!u || !u->L || !u->callback) return 0;
  lua_State *L = u->L;
  /* The table is built inside the protected call: a memory error while
   * building it must not longjmp through the kernel's frames (it would
   * leak the kernel's scratch; found by the allocation-failure walk). */
  lua_pushcfunction(L, progress_call);
  lua_pushvalue(L, u->callback);
  lua_pushlightuserdata(L, (void *)p);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    u->lua_error = 1; /* message stays on the stack for the binding */
    return 1;
  }
  int stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1); /* `return false` stops */
  lua_pop(L, 1);
  return stop;
}
