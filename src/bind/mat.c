/*
 * mat.c -- the Lua matrix type "ot.Mat" and its constructors.
 *
 * A matrix is one userdata: a bmat header followed by its doubles, so the
 * GC sees the real size.  Views share a parent's storage and keep the parent
 * alive in user value 1.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "ot/alloc.h"

/* Offset of the inline data, rounded up so the doubles are aligned. */
#define DATA_OFFSET ((sizeof(bmat) + 15) / 16 * 16)

/* "3x4" or "5" in a static buffer, for messages raised at once. */
static const char *shape_text(size_t rows, size_t cols, int vec) {
  static char buf[64];
  if (vec)
    snprintf(buf, sizeof buf, "%zu", rows);
  else
    snprintf(buf, sizeof buf, "%zux%zu", rows, cols);
  return buf;
}

static bmat *newmat(lua_State *L, size_t rows, size_t cols, int vec, const char *fname) {
  size_t bytes, total;
  char need[32], lim[32], used[32];
  int rc = ot_mem_size(rows, cols, sizeof(double), &bytes);
  if (rc == OT_OK && bytes > (size_t)-1 - DATA_OFFSET) rc = OT_EOVERFLOW;
  if (rc != OT_OK)
    luaL_error(L, "%s: cannot allocate a %s matrix (size overflows)", fname, shape_text(rows, cols, vec));
  total = DATA_OFFSET + bytes;
  if (ot_mem_check(total) != OT_OK) {
    ot_mem_format(total, need, sizeof need);
    ot_mem_format(ot_mem_limit(), lim, sizeof lim);
    ot_mem_format(ot_mem_used(), used, sizeof used);
    luaL_error(L, "%s: cannot allocate a %s matrix: needs %s, memory budget is %s with %s in use "
               "(see --mem-limit)", fname, shape_text(rows, cols, vec), need, lim, used);
  }
  bmat *b = lua_newuserdatauv(L, total, 1);
  b->m = ot_mat_view((double *)((char *)b + DATA_OFFSET), rows, cols);
  b->vec = vec;
  b->view = 0;
  if (bytes) memset(b->m.data, 0, bytes);
  luaL_setmetatable(L, BIND_MAT);
  return b;
}

bmat *bind_newmat(lua_State *L, size_t rows, size_t cols, const char *fname) {
  return newmat(L, rows, cols, 0, fname);
}

bmat *bind_newvec(lua_State *L, size_t n, const char *fname) {
  return newmat(L, n, 1, 1, fname);
}

bmat *bind_newview(lua_State *L, int parent, ot_mat v, int vec) {
  parent = lua_absindex(L, parent);
  bmat *b = lua_newuserdatauv(L, sizeof(bmat), 1);
  b->m = v;
  b->vec = vec;
  b->view = 1;
  luaL_setmetatable(L, BIND_MAT);
  lua_pushvalue(L, parent);
  lua_setiuservalue(L, -2, 1);
  return b;
}

bmat *bind_testmat(lua_State *L, int idx) { return luaL_testudata(L, idx, BIND_MAT); }

bmat *bind_checkmat(lua_State *L, int arg, const char *name) {
  bmat *b = bind_testmat(L, arg);
  if (!b) bind_argerror(L, arg, name, "matrix expected, got %s", luaL_typename(L, arg));
  return b;
}

/* Length of the sequence part of the table at idx, refusing holes. */
static size_t seqlen(lua_State *L, int idx) { return (size_t)lua_rawlen(L, idx); }

bmat *bind_tomat(lua_State *L, int arg, const char *name) {
  bmat *b = bind_testmat(L, arg);
  if (b) return b;
  if (!lua_istable(L, arg))
    bind_argerror(L, arg, name, "matrix or table expected, got %s", luaL_typename(L, arg));
  arg = lua_absindex(L, arg);
  size_t n = seqlen(L, arg);
  if (n == 0) { /* {} is the empty vector */
    b = bind_newvec(L, 0, "ot.mat");
    lua_replace(L, arg);
    return b;
  }
  int t1 = lua_rawgeti(L, arg, 1);
  lua_pop(L, 1);
  if (t1 == LUA_TTABLE) { /* a table of rows */
    lua_rawgeti(L, arg, 1);
    size_t m = seqlen(L, -1);
    lua_pop(L, 1);
    for (size_t i = 1; i <= n; i++) {
      if (lua_rawgeti(L, arg, (lua_Integer)i) != LUA_TTABLE)
        bind_argerror(L, arg, name, "row %zu is not a table", i);
      if (seqlen(L, -1) != m)
        bind_argerror(L, arg, name, "row %zu has %zu entries, row 1 has %zu", i, seqlen(L, -1), m);
      for (size_t j = 1; j <= m; j++) {
        if (lua_rawgeti(L, -1, (lua_Integer)j) != LUA_TNUMBER)
          bind_argerror(L, arg, name, "entry [%zu][%zu] is %s, not a number", i, j,
                        luaL_typename(L, -1));
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
    b = bind_newmat(L, n, m, "ot.mat");
    for (size_t i = 0; i < n; i++) {
      lua_rawgeti(L, arg, (lua_Integer)i + 1);
      for (size_t j = 0; j < m; j++) {
        lua_rawgeti(L, -1, (lua_Integer)j + 1);
        OT_AT(b->m, i, j) = lua_tonumber(L, -1);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  } else { /* a flat table: a vector */
    for (size_t i = 1; i <= n; i++) {
      if (lua_rawgeti(L, arg, (lua_Integer)i) != LUA_TNUMBER)
        bind_argerror(L, arg, name, "entry [%zu] is %s, not a number", i, luaL_typename(L, -1));
      lua_pop(L, 1);
    }
    b = bind_newvec(L, n, "ot.mat");
    for (size_t i = 0; i < n; i++) {
      lua_rawgeti(L, arg, (lua_Integer)i + 1);
      b->m.data[i] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
  }
  lua_replace(L, arg);
  return b;
}

/* ---- constructors ------------------------------------------------------ */

static int mat_zeros(lua_State *L) {
  size_t r = bind_checksize(L, 1, "rows");
  if (lua_isnoneornil(L, 2)) {
    bind_newvec(L, r, "ot.zeros");
  } else {
    size_t c = bind_checksize(L, 2, "cols");
    bind_newmat(L, r, c, "ot.zeros");
  }
  return 1;
}

static int mat_ones(lua_State *L) {
  mat_zeros(L);
  ot_mat_fill(bind_checkmat(L, -1, "result")->m, 1.0);
  return 1;
}

static int mat_eye(lua_State *L) {
  size_t r = bind_checksize(L, 1, "rows");
  size_t c = lua_isnoneornil(L, 2) ? r : bind_checksize(L, 2, "cols");
  bmat *b = bind_newmat(L, r, c, "ot.eye");
  for (size_t i = 0; i < r && i < c; i++) OT_AT(b->m, i, i) = 1.0;
  return 1;
}

static int mat_mat(lua_State *L) {
  if (bind_testmat(L, 1)) { /* ot.mat(M) copies */
    bmat *src = bind_testmat(L, 1);
    bmat *b = newmat(L, src->m.rows, src->m.cols, src->vec, "ot.mat");
    ot_mat_copy(b->m, src->m);
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  bind_tomat(L, 1, "t");
  lua_settop(L, 1);
  return 1;
}

/* ---- metamethods ------------------------------------------------------- */

static int mat_len(lua_State *L) {
  bmat *b = bind_checkmat(L, 1, "self");
  lua_pushinteger(L, (lua_Integer)b->m.rows);
  return 1;
}

static int mat_tostring(lua_State *L) {
  bmat *b = bind_checkmat(L, 1, "self");
  if (b->vec)
    lua_pushfstring(L, "Mat(%I)", (LUAI_UACINT)b->m.rows);
  else
    lua_pushfstring(L, "Mat(%Ix%I)", (LUAI_UACINT)b->m.rows, (LUAI_UACINT)b->m.cols);
  return 1;
}

static int mat_shape(lua_State *L) {
  bmat *b = bind_checkmat(L, 1, "self");
  lua_pushinteger(L, (lua_Integer)b->m.rows);
  lua_pushinteger(L, (lua_Integer)b->m.cols);
  return 2;
}

static const luaL_Reg mat_methods[] = {
  {"shape", mat_shape},
  {NULL, NULL}
};

static const luaL_Reg mat_meta[] = {
  {"__len", mat_len},
  {"__tostring", mat_tostring},
  {"__index", NULL},
  {NULL, NULL}
};

static const luaL_Reg mat_funcs[] = {
  {"zeros", mat_zeros},
  {"ones", mat_ones},
  {"eye", mat_eye},
  {"mat", mat_mat},
  {NULL, NULL}
};

void bind_open_mat(lua_State *L) {
  luaL_newmetatable(L, BIND_MAT);
  luaL_setfuncs(L, mat_meta, 0);
  luaL_newlibtable(L, mat_methods);
  luaL_setfuncs(L, mat_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "ot.Mat");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  luaL_setfuncs(L, mat_funcs, 0);
}
