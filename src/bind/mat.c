/*
 * mat.c -- the Lua matrix type "ot.Mat": constructors, methods, operators
 * and numpy-style printing.
 *
 * A matrix is one userdata: a bmat header followed by its doubles, so the
 * GC sees the real size.  Views (rows, columns, slices, reshapes) share a
 * parent's storage and keep the storage's owner alive in user value 1.
 * The computations live in the core (src/ot/mat.c, linalg.c); this file
 * checks arguments, allocates results and converts.
 *
 * Conventions of the Lua face (share/help/mat.txt is the user manual):
 *   - indices are 1-based; a negative index counts from the end (-1 last);
 *   - a vector is stored n x 1 and broadcasts as a column;
 *   - `*` is elementwise, M:dot(B) the matrix product;
 *   - axis 1 reduces down the rows (one value per column, a 1 x cols
 *     matrix), axis 2 across each row (one value per row, a vector).
 *
 * Errors: "<function>: bad argument #N 'name' (reason)".  For methods N
 * does not count self (M:get(i, j): i is #1), as users read the call.
 */
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "ot/alloc.h"
#include "ot/linalg.h"

/* Offset of the inline data, rounded up so the doubles are aligned. */
#define DATA_OFFSET ((sizeof(bmat) + 15) / 16 * 16)

/* ---- errors and argument checks ----------------------------------------- */

/* A shape as text, "3x4", with " vector" appended for vectors. */
typedef struct shapestr {
  char s[64];
} shapestr;

static shapestr shape_rc(size_t rows, size_t cols, int vec) {
  shapestr t;
  snprintf(t.s, sizeof t.s, "%zux%zu%s", rows, cols, vec ? " vector" : "");
  return t;
}

static shapestr shape_of(const bmat *b) { return shape_rc(b->m.rows, b->m.cols, b->vec); }

/* Method names start with "Mat:"; their argument numbers skip self. */
static int is_method(const char *fn) { return fn && strncmp(fn, "Mat:", 4) == 0; }

/*
 * Raise "<fn>: bad argument #N 'name' (reason)" for the value at stack index
 * idx.  fn NULL (a helper called by other bindings) names the running
 * function through bind_argerror.
 */
static int merr(lua_State *L, const char *fn, int idx, const char *name, const char *fmt, ...) {
  char reason[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  if (!fn) return bind_argerror(L, idx, name, "%s", reason);
  if (is_method(fn)) {
    if (idx == 1) return luaL_error(L, "%s: bad argument 'self' (%s)", fn, reason);
    idx--;
  }
  return luaL_error(L, "%s: bad argument #%d '%s' (%s)", fn, idx, name, reason);
}

static double cnum(lua_State *L, const char *fn, int idx, const char *name) {
  int ok;
  double v = lua_tonumberx(L, idx, &ok);
  if (!ok) merr(L, fn, idx, name, "number expected, got %s", luaL_typename(L, idx));
  return v;
}

static lua_Integer cint(lua_State *L, const char *fn, int idx, const char *name) {
  int ok;
  lua_Integer v = lua_tointegerx(L, idx, &ok);
  if (!ok) {
    if (lua_type(L, idx) == LUA_TNUMBER)
      merr(L, fn, idx, name, "number has no integer representation, got %s",
           lua_tostring(L, idx));
    merr(L, fn, idx, name, "integer expected, got %s", luaL_typename(L, idx));
  }
  return v;
}

static size_t csize(lua_State *L, const char *fn, int idx, const char *name) {
  lua_Integer v = cint(L, fn, idx, name);
  if (v < 0) merr(L, fn, idx, name, "must be >= 0, got %lld", (long long)v);
  return (size_t)v;
}

/* A 1-based (or negative, from the end) index k into n things -> 0-based. */
static size_t to_index(lua_State *L, const char *fn, int idx, const char *name, lua_Integer k,
                       size_t n, const char *what) {
  lua_Integer orig = k;
  if (k < 0) k += (lua_Integer)n + 1;
  if (k < 1 || (size_t)k > n) {
    if (n == 0) merr(L, fn, idx, name, "%s %lld out of range: there are none", what, (long long)orig);
    merr(L, fn, idx, name, "%s %lld out of range 1..%zu", what, (long long)orig, n);
  }
  return (size_t)(k - 1);
}

static size_t cindex(lua_State *L, const char *fn, int idx, const char *name, size_t n,
                     const char *what) {
  return to_index(L, fn, idx, name, cint(L, fn, idx, name), n, what);
}

/* An optional axis: 0 when absent, else 1 or 2. */
static int caxis(lua_State *L, const char *fn, int idx) {
  if (lua_isnoneornil(L, idx)) return 0;
  lua_Integer a = cint(L, fn, idx, "axis");
  if (a != 1 && a != 2)
    merr(L, fn, idx, "axis", "must be 1 (down the rows, one value per column) or 2 (across "
         "each row, one value per row), got %lld", (long long)a);
  return (int)a;
}

/* ---- allocation --------------------------------------------------------- */

static bmat *newmat(lua_State *L, size_t rows, size_t cols, int vec, const char *fname) {
  size_t bytes, total;
  char need[32], lim[32], used[32];
  if (!fname) fname = "ot.mat";
  int rc = ot_mem_size(rows, cols, sizeof(double), &bytes);
  if (rc == OT_OK && bytes > (size_t)-1 - DATA_OFFSET) rc = OT_EOVERFLOW;
  shapestr what = shape_rc(rows, cols, 0);
  if (vec) snprintf(what.s, sizeof what.s, "%zu", rows); /* vectors say their length */
  if (rc != OT_OK) luaL_error(L, "%s: cannot allocate a %s matrix (size overflows)", fname, what.s);
  total = DATA_OFFSET + bytes;
  if (ot_mem_check(total) != OT_OK) {
    ot_mem_format(total, need, sizeof need);
    ot_mem_format(ot_mem_limit(), lim, sizeof lim);
    ot_mem_format(ot_mem_used(), used, sizeof used);
    luaL_error(L, "%s: cannot allocate a %s matrix: needs %s, memory budget is %s with %s in use "
               "(see --mem-limit)", fname, what.s, need, lim, used);
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

bmat *bind_newvec(lua_State *L, size_t n, const char *fname) { return newmat(L, n, 1, 1, fname); }

/* A new matrix with b's shape and kind (contents zeroed). */
static bmat *newlike(lua_State *L, const bmat *b, const char *fname) {
  return newmat(L, b->m.rows, b->m.cols, b->vec, fname);
}

bmat *bind_newview(lua_State *L, int parent, ot_mat v, int vec) {
  parent = lua_absindex(L, parent);
  bmat *p = bind_testmat(L, parent);
  bmat *b = lua_newuserdatauv(L, sizeof(bmat), 1);
  b->m = v;
  b->vec = vec;
  b->view = 1;
  luaL_setmetatable(L, BIND_MAT);
  /* anchor the owner of the storage, so views of views do not chain */
  if (p && p->view)
    lua_getiuservalue(L, parent, 1);
  else
    lua_pushvalue(L, parent);
  lua_setiuservalue(L, -2, 1);
  return b;
}

/* Push a view v of the matrix p at stack index parent; it is a vector when
 * p is one and v is a contiguous column of it. */
static bmat *pushview(lua_State *L, int parent, const bmat *p, ot_mat v) {
  int vec = p->vec && v.cols == 1 && (v.ld == 1 || v.rows <= 1);
  return bind_newview(L, parent, v, vec);
}

bmat *bind_testmat(lua_State *L, int idx) { return luaL_testudata(L, idx, BIND_MAT); }

bmat *bind_checkmat(lua_State *L, int arg, const char *name) {
  bmat *b = bind_testmat(L, arg);
  if (!b) bind_argerror(L, arg, name, "matrix expected, got %s", luaL_typename(L, arg));
  return b;
}

/* ---- tables to matrices ------------------------------------------------- */

/*
 * The matrix at idx, or a Lua table converted into a new matrix that
 * replaces it on the stack: a table of rows gives a matrix, a flat table
 * of numbers a vector, {} the empty vector.  Every entry is checked before
 * anything is allocated.
 */
static bmat *tomat_at(lua_State *L, const char *fn, int idx, int arg, const char *name,
                      const char *ctx) {
  bmat *b = bind_testmat(L, idx);
  if (b) return b;
  if (!lua_istable(L, idx))
    merr(L, fn, arg, name, "%smatrix or table expected, got %s", ctx, luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  size_t n = (size_t)lua_rawlen(L, idx);
  int t1 = n ? lua_rawgeti(L, idx, 1) : LUA_TNIL;
  if (n) lua_pop(L, 1);
  if (t1 == LUA_TTABLE) { /* a table of rows */
    lua_rawgeti(L, idx, 1);
    size_t m = (size_t)lua_rawlen(L, -1);
    lua_pop(L, 1);
    for (size_t i = 1; i <= n; i++) {
      if (lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TTABLE)
        merr(L, fn, arg, name, "%srow %zu is %s, not a table", ctx, i, luaL_typename(L, -1));
      if ((size_t)lua_rawlen(L, -1) != m)
        merr(L, fn, arg, name, "%srow %zu has %zu entries, row 1 has %zu", ctx, i,
             (size_t)lua_rawlen(L, -1), m);
      for (size_t j = 1; j <= m; j++) {
        if (lua_rawgeti(L, -1, (lua_Integer)j) != LUA_TNUMBER)
          merr(L, fn, arg, name, "%sentry [%zu][%zu] is %s, not a number", ctx, i, j,
               luaL_typename(L, -1));
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
    b = newmat(L, n, m, 0, fn);
    for (size_t i = 0; i < n; i++) {
      lua_rawgeti(L, idx, (lua_Integer)i + 1);
      for (size_t j = 0; j < m; j++) {
        lua_rawgeti(L, -1, (lua_Integer)j + 1);
        OT_AT(b->m, i, j) = lua_tonumber(L, -1);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  } else { /* a flat table: a vector */
    for (size_t i = 1; i <= n; i++) {
      if (lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TNUMBER)
        merr(L, fn, arg, name, "%sentry [%zu] is %s, not a number", ctx, i,
             luaL_typename(L, -1));
      lua_pop(L, 1);
    }
    b = newmat(L, n, 1, 1, fn);
    for (size_t i = 0; i < n; i++) {
      lua_rawgeti(L, idx, (lua_Integer)i + 1);
      b->m.data[i] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
  }
  lua_replace(L, idx);
  return b;
}

static bmat *tomat(lua_State *L, const char *fn, int idx, const char *name) {
  return tomat_at(L, fn, idx, idx, name, "");
}

bmat *bind_tomat(lua_State *L, int arg, const char *name) { return tomat(L, NULL, arg, name); }

/*
 * A view of the vector-like b with the other orientation (n x 1 <-> 1 x n),
 * for operations whose target shape is fixed.  A strided column is copied
 * first into a scratch userdata left on the stack.
 */
static ot_mat reorient(lua_State *L, const bmat *b, const char *fn) {
  ot_mat m = b->m;
  size_t n = m.rows == 1 ? m.cols : m.rows;
  if (m.rows == 1) return ot_mat_view(m.data, n, 1);
  if (m.ld == 1 || n <= 1) return ot_mat_view(m.data, 1, n);
  bmat *t = newmat(L, 1, n, 0, fn);
  ot_mat_copy_flat(t->m, m);
  return t->m;
}

bmat *bind_checkvector(lua_State *L, int arg, const char *name) {
  arg = lua_absindex(L, arg);
  bmat *b = tomat(L, NULL, arg, name);
  if (b->vec) return b;
  ot_mat m = b->m;
  if (!ot_mat_is_vector(m)) {
    shapestr s = shape_of(b);
    bind_argerror(L, arg, name, "vector expected, got a %s matrix", s.s);
  }
  size_t n = m.rows == 1 ? m.cols : m.rows;
  bmat *v;
  if (m.rows == 1 || m.ld == 1) { /* contiguous already: a vector view */
    v = bind_newview(L, arg, ot_mat_view(m.data, n, 1), 1);
  } else {
    v = newmat(L, n, 1, 1, NULL);
    ot_mat_copy_flat(v->m, m);
  }
  lua_replace(L, arg);
  return v;
}

/* The matrix method receiver. */
static bmat *cself(lua_State *L, const char *fn) {
  bmat *b = bind_testmat(L, 1);
  if (!b)
    merr(L, fn, 1, "self", "matrix expected, got %s; call it with ':'", luaL_typename(L, 1));
  return b;
}

/* ---- constructors ------------------------------------------------------ */

/* f(n) -> vector, f(r, c) -> matrix: the shape arguments of zeros & co. */
static bmat *shaped(lua_State *L, const char *fn) {
  size_t r = csize(L, fn, 1, "rows");
  if (lua_isnoneornil(L, 2)) return newmat(L, r, 1, 1, fn);
  size_t c = csize(L, fn, 2, "cols");
  return newmat(L, r, c, 0, fn);
}

static int mat_zeros(lua_State *L) {
  shaped(L, "ot.zeros");
  return 1;
}

static int mat_ones(lua_State *L) {
  ot_mat_fill(shaped(L, "ot.ones")->m, 1.0);
  return 1;
}

/* ot.full(n, v) or ot.full(r, c, v) */
static int mat_full(lua_State *L) {
  const char *fn = "ot.full";
  int nargs = lua_gettop(L);
  if (nargs >= 3) {
    size_t r = csize(L, fn, 1, "rows"), c = csize(L, fn, 2, "cols");
    double v = cnum(L, fn, 3, "value");
    ot_mat_fill(newmat(L, r, c, 0, fn)->m, v);
  } else {
    size_t n = csize(L, fn, 1, "rows");
    double v = cnum(L, fn, 2, "value");
    ot_mat_fill(newmat(L, n, 1, 1, fn)->m, v);
  }
  return 1;
}

static int mat_eye(lua_State *L) {
  const char *fn = "ot.eye";
  size_t r = csize(L, fn, 1, "rows");
  size_t c = lua_isnoneornil(L, 2) ? r : csize(L, fn, 2, "cols");
  ot_mat_eye(newmat(L, r, c, 0, fn)->m);
  return 1;
}

static int mat_linspace(lua_State *L) {
  const char *fn = "ot.linspace";
  double a = cnum(L, fn, 1, "a"), b = cnum(L, fn, 2, "b");
  size_t n = csize(L, fn, 3, "n");
  ot_mat_linspace(newmat(L, n, 1, 1, fn)->m, a, b);
  return 1;
}

static int mat_unif(lua_State *L) {
  const char *fn = "ot.unif";
  size_t n = csize(L, fn, 1, "n");
  ot_mat_fill(newmat(L, n, 1, 1, fn)->m, n ? 1.0 / (double)n : 0.0);
  return 1;
}

static int mat_mat(lua_State *L) {
  const char *fn = "ot.mat";
  bmat *src = bind_testmat(L, 1);
  if (src) { /* ot.mat(M) copies */
    ot_mat_copy(newlike(L, src, fn)->m, src->m);
    return 1;
  }
  if (!lua_istable(L, 1)) merr(L, fn, 1, "t", "table or matrix expected, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  tomat(L, fn, 1, "t");
  return 1;
}

static int mat_ismat(lua_State *L) {
  lua_pushboolean(L, bind_testmat(L, 1) != NULL);
  return 1;
}

/* ---- shape and elements --------------------------------------------------- */

static int mat_shape(lua_State *L) {
  bmat *b = cself(L, "Mat:shape");
  lua_pushinteger(L, (lua_Integer)b->m.rows);
  lua_pushinteger(L, (lua_Integer)b->m.cols);
  return 2;
}

static int numel_impl(lua_State *L, const char *fn) {
  bmat *b = cself(L, fn);
  lua_pushinteger(L, (lua_Integer)ot_mat_numel(b->m));
  return 1;
}
static int mat_numel(lua_State *L) { return numel_impl(L, "Mat:numel"); }
static int mat_size(lua_State *L) { return numel_impl(L, "Mat:size"); }

static int mat_len(lua_State *L) {
  bmat *b = cself(L, "Mat:__len");
  lua_pushinteger(L, (lua_Integer)b->m.rows);
  return 1;
}

/*
 * The element addressed by the `nidx` indices at stack 2..: (i, j), or one
 * index into a vector-like matrix (one row or one column).
 */
static double *element(lua_State *L, const char *fn, bmat *b, int nidx) {
  ot_mat m = b->m;
  size_t i, j;
  if (nidx == 1) {
    if (!ot_mat_is_vector(m)) {
      shapestr s = shape_of(b);
      merr(L, fn, 3, "j", "missing: a %s matrix takes two indices (i, j)", s.s);
    }
    size_t n = m.rows == 1 ? m.cols : m.rows;
    size_t k = cindex(L, fn, 2, "i", n, "index");
    i = m.rows == 1 ? 0 : k;
    j = m.rows == 1 ? k : 0;
  } else {
    i = cindex(L, fn, 2, "i", m.rows, "row");
    j = cindex(L, fn, 3, "j", m.cols, "column");
  }
  return &OT_AT(m, i, j);
}

static int mat_get(lua_State *L) {
  const char *fn = "Mat:get";
  bmat *b = cself(L, fn);
  int nidx = lua_isnoneornil(L, 3) ? 1 : 2;
  lua_pushnumber(L, *element(L, fn, b, nidx));
  return 1;
}

/* M:set(i, j, v), or v:set(i, x) for a vector-like matrix; returns M. */
static int mat_set(lua_State *L) {
  const char *fn = "Mat:set";
  bmat *b = cself(L, fn);
  int top = lua_gettop(L);
  int nidx = top >= 4 ? 2 : 1;
  if (nidx == 1 && !ot_mat_is_vector(b->m)) {
    shapestr s = shape_of(b);
    merr(L, fn, 4, "v", "missing: a %s matrix takes M:set(i, j, v)", s.s);
  }
  double v = cnum(L, fn, nidx + 2, "v");
  double *p = element(L, fn, b, nidx);
  *p = v;
  lua_settop(L, 1);
  return 1;
}

/* ---- views ------------------------------------------------------------- */

static int mat_row(lua_State *L) {
  const char *fn = "Mat:row";
  bmat *b = cself(L, fn);
  size_t i = cindex(L, fn, 2, "i", b->m.rows, "row");
  pushview(L, 1, b, ot_mat_block(b->m, i, 0, 1, b->m.cols));
  return 1;
}

static int mat_col(lua_State *L) {
  const char *fn = "Mat:col";
  bmat *b = cself(L, fn);
  size_t j = cindex(L, fn, 2, "j", b->m.cols, "column");
  pushview(L, 1, b, ot_mat_block(b->m, 0, j, b->m.rows, 1));
  return 1;
}

/*
 * An inclusive range lo..hi (1-based, negatives from the end, defaults
 * 1..-1) of n things from the stack at idx, idx+1 -> *start, *count.
 * hi = lo - 1 is the empty range.
 */
static void crange(lua_State *L, const char *fn, int idx, const char *n0, const char *n1, size_t n,
                   const char *what, size_t *start, size_t *count) {
  lua_Integer a = lua_isnoneornil(L, idx) ? 1 : cint(L, fn, idx, n0);
  lua_Integer b = lua_isnoneornil(L, idx + 1) ? -1 : cint(L, fn, idx + 1, n1);
  lua_Integer a0 = a, b0 = b, N = (lua_Integer)n;
  if (a < 0) a += N + 1;
  if (b < 0) b += N + 1;
  if (a < 1 || a > N + 1)
    merr(L, fn, idx, n0, "first %s %lld out of range 1..%lld", what, (long long)a0, (long long)N);
  if (b > N || b < a - 1) {
    if (b > N || b < 0)
      merr(L, fn, idx + 1, n1, "last %s %lld out of range 1..%lld", what, (long long)b0,
           (long long)N);
    merr(L, fn, idx + 1, n1, "last %s %lld comes before the first, %lld", what, (long long)b0,
         (long long)a0);
  }
  *start = (size_t)(a - 1);
  *count = (size_t)(b - a + 1);
}

/* M:slice(r0, r1 [, c0, c1]): the view of rows r0..r1 and columns c0..c1. */
static int mat_slice(lua_State *L) {
  const char *fn = "Mat:slice";
  bmat *b = cself(L, fn);
  size_t r0, nr, c0, nc;
  crange(L, fn, 2, "r0", "r1", b->m.rows, "row", &r0, &nr);
  crange(L, fn, 4, "c0", "c1", b->m.cols, "column", &c0, &nc);
  pushview(L, 1, b, ot_mat_block(b->m, r0, c0, nr, nc));
  return 1;
}

/*
 * The 1-based indices at stack idx (a table of integers, or a matrix whose
 * elements read in row-major order are integers) checked against 1..n and
 * stored 0-based in a scratch userdata pushed on the stack.  *count is the
 * number of indices.
 */
static size_t *cindices(lua_State *L, const char *fn, int idx, size_t n, const char *what,
                        size_t *count) {
  bmat *im = bind_testmat(L, idx);
  if (!im && !lua_istable(L, idx))
    merr(L, fn, idx, "idx", "table or matrix of indices expected, got %s", luaL_typename(L, idx));
  size_t k = im ? ot_mat_numel(im->m) : (size_t)lua_rawlen(L, idx), bytes;
  if (ot_mem_size(k, 1, sizeof(size_t), &bytes) != OT_OK || ot_mem_check(bytes) != OT_OK)
    bind_check_status(L, OT_EBUDGET, fn);
  size_t *out = lua_newuserdatauv(L, bytes ? bytes : 1, 0);
  for (size_t t = 0; t < k; t++) {
    double v;
    if (im) {
      v = OT_AT(im->m, t / im->m.cols, t % im->m.cols);
    } else {
      if (lua_rawgeti(L, idx, (lua_Integer)t + 1) != LUA_TNUMBER)
        merr(L, fn, idx, "idx", "idx[%zu] is %s, not a number", t + 1, luaL_typename(L, -1));
      v = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    if (!(v == floor(v) && fabs(v) < 9.0e15))
      merr(L, fn, idx, "idx", "idx[%zu] = %g is not an integer", t + 1, v);
    lua_Integer i = (lua_Integer)v, i0 = i;
    if (i < 0) i += (lua_Integer)n + 1;
    if (i < 1 || (size_t)i > n)
      merr(L, fn, idx, "idx", "idx[%zu] = %lld out of range 1..%zu (%s)", t + 1, (long long)i0, n,
           what);
    out[t] = (size_t)(i - 1);
  }
  *count = k;
  return out;
}

static int mat_select_rows(lua_State *L) {
  const char *fn = "Mat:select_rows";
  bmat *b = cself(L, fn);
  size_t k;
  size_t *idx = cindices(L, fn, 2, b->m.rows, "rows", &k);
  bmat *r = newmat(L, k, b->m.cols, b->vec, fn);
  bind_check_status(L, ot_mat_gather_rows(r->m, b->m, idx), fn);
  return 1;
}

static int mat_select_cols(lua_State *L) {
  const char *fn = "Mat:select_cols";
  bmat *b = cself(L, fn);
  size_t k;
  size_t *idx = cindices(L, fn, 2, b->m.cols, "columns", &k);
  bmat *r = newmat(L, b->m.rows, k, 0, fn);
  bind_check_status(L, ot_mat_gather_cols(r->m, b->m, idx), fn);
  return 1;
}

/* ---- copies and reshaping --------------------------------------------- */

static int mat_copy(lua_State *L) {
  const char *fn = "Mat:copy";
  bmat *b = cself(L, fn);
  ot_mat_copy(newlike(L, b, fn)->m, b->m);
  return 1;
}

static int transpose_impl(lua_State *L, const char *fn) {
  bmat *b = cself(L, fn);
  ot_mat_transpose(newmat(L, b->m.cols, b->m.rows, 0, fn)->m, b->m);
  return 1;
}
static int mat_T(lua_State *L) { return transpose_impl(L, "Mat:T"); }
static int mat_transpose(lua_State *L) { return transpose_impl(L, "Mat:transpose"); }

/* M:reshape(r, c) or M:reshape(n) (a vector); one size may be -1. */
static int mat_reshape(lua_State *L) {
  const char *fn = "Mat:reshape";
  bmat *b = cself(L, fn);
  size_t n = ot_mat_numel(b->m);
  int vec = lua_isnoneornil(L, 3);
  lua_Integer r = cint(L, fn, 2, "rows"), c = vec ? 1 : cint(L, fn, 3, "cols");
  if (r < -1) merr(L, fn, 2, "rows", "must be >= 0 or -1, got %lld", (long long)r);
  if (c < -1) merr(L, fn, 3, "cols", "must be >= 0 or -1, got %lld", (long long)c);
  if (r == -1 && c == -1) merr(L, fn, 3, "cols", "only one size can be -1");
  if (r == -1 || c == -1) { /* infer the missing size */
    lua_Integer known = r == -1 ? c : r;
    if (known == 0 || n % (size_t)known != 0)
      merr(L, fn, r == -1 ? 2 : 3, r == -1 ? "rows" : "cols",
           "cannot infer -1: %zu elements do not split into parts of %lld", n, (long long)known);
    if (r == -1) r = (lua_Integer)(n / (size_t)known);
    else c = (lua_Integer)(n / (size_t)known);
  }
  size_t total;
  if (ot_mem_size((size_t)r, (size_t)c, 1, &total) != OT_OK || total != n) {
    shapestr s = shape_of(b);
    if (vec)
      merr(L, fn, 2, "rows", "a vector of %lld cannot hold the %zu elements of a %s matrix",
           (long long)r, n, s.s);
    merr(L, fn, 2, "rows", "a %lldx%lld matrix cannot hold the %zu elements of a %s matrix",
         (long long)r, (long long)c, n, s.s);
  }
  if (ot_mat_is_contiguous(b->m)) {
    bind_newview(L, 1, ot_mat_view(b->m.data, (size_t)r, (size_t)c), vec);
  } else {
    bmat *o = newmat(L, (size_t)r, (size_t)c, vec, fn);
    ot_mat_copy_flat(o->m, b->m);
  }
  return 1;
}

static int mat_flatten(lua_State *L) {
  const char *fn = "Mat:flatten";
  bmat *b = cself(L, fn);
  ot_mat_copy_flat(newmat(L, ot_mat_numel(b->m), 1, 1, fn)->m, b->m);
  return 1;
}

static int mat_fill(lua_State *L) {
  const char *fn = "Mat:fill";
  bmat *b = cself(L, fn);
  ot_mat_fill(b->m, cnum(L, fn, 2, "v"));
  lua_settop(L, 1);
  return 1;
}

/*
 * The operand at idx prepared to combine into the fixed shape of target
 * (in-place operations, assign): it must broadcast to target's shape; a
 * vector-like operand of the target's vector length is taken in the
 * target's orientation; an operand sharing memory with target (but not
 * target itself) is copied first.  Scratch stays on the stack.
 */
static ot_mat into_operand(lua_State *L, const char *fn, int idx, const char *name, bmat *target) {
  if (!lua_istable(L, idx) && !bind_testmat(L, idx))
    merr(L, fn, idx, name, "number, matrix or table expected, got %s", luaL_typename(L, idx));
  bmat *s = tomat(L, fn, idx, name);
  ot_mat t = target->m, m = s->m;
  size_t r, c;
  if (!(ot_mat_broadcast(t.rows, t.cols, m.rows, m.cols, &r, &c) && r == t.rows && c == t.cols)) {
    if (ot_mat_is_vector(t) && ot_mat_is_vector(m) && ot_mat_numel(t) == ot_mat_numel(m)) {
      m = reorient(L, s, fn);
    } else {
      shapestr ss = shape_of(s), ts = shape_of(target);
      merr(L, fn, idx, name, "shape %s does not broadcast to %s", ss.s, ts.s);
    }
  }
  int same = m.data == t.data && m.rows == t.rows && m.cols == t.cols && m.ld == t.ld;
  if (!same && ot_mat_overlaps(m, t)) {
    bmat *tmp = newmat(L, m.rows, m.cols, 0, fn);
    ot_mat_copy(tmp->m, m);
    m = tmp->m;
  }
  return m;
}

/* M:assign(x): copy a number, matrix or table into M (broadcast); returns M. */
static int mat_assign(lua_State *L) {
  const char *fn = "Mat:assign";
  bmat *b = cself(L, fn);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    ot_mat_fill(b->m, lua_tonumber(L, 2));
  } else {
    ot_mat src = into_operand(L, fn, 2, "x", b);
    ot_mat_binop(b->m, b->m, OT_OP_SET, src);
  }
  lua_settop(L, 1);
  return 1;
}

/* The in-place operations M:add_(x) & co. */
static int inplace(lua_State *L, int op, const char *fn) {
  bmat *b = cself(L, fn);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    ot_mat_scalar(b->m, b->m, op, lua_tonumber(L, 2));
  } else {
    ot_mat src = into_operand(L, fn, 2, "x", b);
    ot_mat_binop(b->m, b->m, op, src);
  }
  lua_settop(L, 1);
  return 1;
}
static int mat_add_(lua_State *L) { return inplace(L, OT_OP_ADD, "Mat:add_"); }
static int mat_sub_(lua_State *L) { return inplace(L, OT_OP_SUB, "Mat:sub_"); }
static int mat_mul_(lua_State *L) { return inplace(L, OT_OP_MUL, "Mat:mul_"); }
static int mat_div_(lua_State *L) { return inplace(L, OT_OP_DIV, "Mat:div_"); }

/* ---- arithmetic operators ------------------------------------------------ */

/* Operands of an operator: a number, a matrix or a table (converted). */
static bmat *operand(lua_State *L, const char *fn, int idx, const char *name) {
  int t = lua_type(L, idx);
  if (t != LUA_TTABLE && !bind_testmat(L, idx))
    merr(L, fn, idx, name, "number, matrix or table expected, got %s", luaL_typename(L, idx));
  return tomat(L, fn, idx, name);
}

/* A op B for the metamethods: scalars on either side, or broadcasting. */
static int arith(lua_State *L, int op, const char *fn) {
  lua_settop(L, 2);
  if (lua_type(L, 1) == LUA_TNUMBER) {
    double s = lua_tonumber(L, 1);
    bmat *b = operand(L, fn, 2, "B");
    ot_mat_rscalar(newlike(L, b, fn)->m, s, op, b->m);
    return 1;
  }
  if (lua_type(L, 2) == LUA_TNUMBER) {
    bmat *a = operand(L, fn, 1, "A");
    double s = lua_tonumber(L, 2);
    ot_mat_scalar(newlike(L, a, fn)->m, a->m, op, s);
    return 1;
  }
  bmat *a = operand(L, fn, 1, "A"), *b = operand(L, fn, 2, "B");
  size_t r, c;
  if (!ot_mat_broadcast(a->m.rows, a->m.cols, b->m.rows, b->m.cols, &r, &c)) {
    shapestr sa = shape_of(a), sb = shape_of(b);
    merr(L, fn, 2, "B", "shapes %s and %s do not broadcast", sa.s, sb.s);
  }
  int vec = c == 1 && (a->vec || b->vec);
  bmat *o = newmat(L, r, c, vec, fn);
  ot_mat_binop(o->m, a->m, op, b->m);
  return 1;
}
static int mat_add(lua_State *L) { return arith(L, OT_OP_ADD, "Mat.__add"); }
static int mat_sub(lua_State *L) { return arith(L, OT_OP_SUB, "Mat.__sub"); }
static int mat_mul(lua_State *L) { return arith(L, OT_OP_MUL, "Mat.__mul"); }
static int mat_div(lua_State *L) { return arith(L, OT_OP_DIV, "Mat.__div"); }
static int mat_pow(lua_State *L) { return arith(L, OT_OP_POW, "Mat.__pow"); }

static int mat_unm(lua_State *L) {
  const char *fn = "Mat.__unm";
  bmat *a = operand(L, fn, 1, "A");
  ot_mat_apply(newlike(L, a, fn)->m, a->m, OT_FN_NEG);
  return 1;
}

/* ---- elementwise functions ---------------------------------------------- */

static int apply_impl(lua_State *L, int f, const char *fn) {
  bmat *b = cself(L, fn);
  ot_mat_apply(newlike(L, b, fn)->m, b->m, f);
  return 1;
}
static int mat_abs(lua_State *L) { return apply_impl(L, OT_FN_ABS, "Mat:abs"); }
static int mat_exp(lua_State *L) { return apply_impl(L, OT_FN_EXP, "Mat:exp"); }
static int mat_log(lua_State *L) { return apply_impl(L, OT_FN_LOG, "Mat:log"); }
static int mat_sqrt(lua_State *L) { return apply_impl(L, OT_FN_SQRT, "Mat:sqrt"); }

/* M:map(f): a new matrix of f(x) for every element x. */
static int mat_map(lua_State *L) {
  const char *fn = "Mat:map";
  bmat *b = cself(L, fn);
  if (lua_type(L, 2) != LUA_TFUNCTION && !luaL_getmetafield(L, 2, "__call"))
    merr(L, fn, 2, "f", "function expected, got %s", luaL_typename(L, 2));
  lua_settop(L, 2);
  bmat *o = newlike(L, b, fn);
  for (size_t i = 0; i < b->m.rows; i++)
    for (size_t j = 0; j < b->m.cols; j++) {
      lua_pushvalue(L, 2);
      lua_pushnumber(L, OT_AT(b->m, i, j));
      lua_call(L, 1, 1);
      int ok;
      double v = lua_tonumberx(L, -1, &ok);
      if (!ok || lua_type(L, -1) != LUA_TNUMBER)
        merr(L, fn, 2, "f", "returned %s for element (%zu, %zu), not a number",
             luaL_typename(L, -1), i + 1, j + 1);
      lua_pop(L, 1);
      OT_AT(o->m, i, j) = v;
    }
  return 1;
}

/* M:clip(lo, hi): elements limited to [lo, hi]; nil leaves a side open. */
static int mat_clip(lua_State *L) {
  const char *fn = "Mat:clip";
  bmat *b = cself(L, fn);
  double lo = lua_isnoneornil(L, 2) ? -INFINITY : cnum(L, fn, 2, "lo");
  double hi = lua_isnoneornil(L, 3) ? INFINITY : cnum(L, fn, 3, "hi");
  if (lo != lo) merr(L, fn, 2, "lo", "is NaN");
  if (hi != hi) merr(L, fn, 3, "hi", "is NaN");
  if (lo > hi) merr(L, fn, 3, "hi", "must be >= lo = %g, got %g", lo, hi);
  ot_mat_clip(newlike(L, b, fn)->m, b->m, lo, hi);
  return 1;
}

/* ---- reductions ----------------------------------------------------------- */

static const char *const red_noun[] = {"sum", "mean", "product", "minimum", "maximum"};

/*
 * M:sum([axis]) & co: a number over all elements; axis 1 a 1 x cols
 * matrix (one value per column), axis 2 a vector (one value per row).
 */
static int reduce_impl(lua_State *L, int op, const char *fn) {
  bmat *b = cself(L, fn);
  int axis = caxis(L, fn, 2);
  int ext = op == OT_RED_MIN || op == OT_RED_MAX;
  shapestr s = shape_of(b);
  if (axis == 0) {
    double v;
    if (ext && ot_mat_numel(b->m) == 0) luaL_error(L, "%s: an empty %s matrix has no %s", fn, s.s, red_noun[op]);
    bind_check_status(L, ot_mat_reduce(&v, b->m, op), fn);
    lua_pushnumber(L, v);
    return 1;
  }
  size_t len = axis == 1 ? b->m.cols : b->m.rows, over = axis == 1 ? b->m.rows : b->m.cols;
  if (ext && over == 0 && len > 0)
    luaL_error(L, "%s: no %s over axis %d of an empty %s matrix", fn, red_noun[op], axis, s.s);
  bmat *o = axis == 1 ? newmat(L, 1, len, 0, fn) : newmat(L, len, 1, 1, fn);
  bind_check_status(L, ot_mat_reduce_axis(o->m, b->m, op, axis), fn);
  return 1;
}
static int mat_sum(lua_State *L) { return reduce_impl(L, OT_RED_SUM, "Mat:sum"); }
static int mat_mean(lua_State *L) { return reduce_impl(L, OT_RED_MEAN, "Mat:mean"); }
static int mat_prod(lua_State *L) { return reduce_impl(L, OT_RED_PROD, "Mat:prod"); }
static int mat_min(lua_State *L) { return reduce_impl(L, OT_RED_MIN, "Mat:min"); }
static int mat_max(lua_State *L) { return reduce_impl(L, OT_RED_MAX, "Mat:max"); }

/*
 * M:argmin([axis]) / argmax: over all elements i, j (a vector gives i
 * only); axis 1 a 1 x cols matrix of row numbers; axis 2 a vector of
 * column numbers.  All 1-based.
 */
static int argreduce_impl(lua_State *L, int op, const char *fn) {
  bmat *b = cself(L, fn);
  int axis = caxis(L, fn, 2);
  shapestr s = shape_of(b);
  size_t len = axis == 0 ? 2 : axis == 1 ? b->m.cols : b->m.rows;
  size_t over = axis == 1 ? b->m.rows : b->m.cols;
  if (axis == 0 ? ot_mat_numel(b->m) == 0 : over == 0 && len > 0)
    luaL_error(L, "%s: an empty %s matrix has no %s", fn, s.s, red_noun[op]);
  size_t bytes;
  if (ot_mem_size(len, 1, sizeof(size_t), &bytes) != OT_OK || ot_mem_check(bytes) != OT_OK)
    bind_check_status(L, OT_EBUDGET, fn);
  size_t *idx = lua_newuserdatauv(L, bytes ? bytes : 1, 0);
  bind_check_status(L, ot_mat_argreduce(idx, b->m, op, axis), fn);
  if (axis == 0) {
    if (b->vec) {
      lua_pushinteger(L, (lua_Integer)idx[0] + 1);
      return 1;
    }
    lua_pushinteger(L, (lua_Integer)idx[0] + 1);
    lua_pushinteger(L, (lua_Integer)idx[1] + 1);
    return 2;
  }
  bmat *o = axis == 1 ? newmat(L, 1, len, 0, fn) : newmat(L, len, 1, 1, fn);
  for (size_t k = 0; k < len; k++) o->m.data[k] = (double)idx[k] + 1.0;
  return 1;
}
static int mat_argmin(lua_State *L) { return argreduce_impl(L, OT_RED_MIN, "Mat:argmin"); }
static int mat_argmax(lua_State *L) { return argreduce_impl(L, OT_RED_MAX, "Mat:argmax"); }

/*
 * M:norm([p]): vectors take any p >= 0 or +-math.huge (default 2);
 * matrices take "fro" (default), 1, 2 or math.huge.
 */
static int mat_norm(lua_State *L) {
  const char *fn = "Mat:norm";
  bmat *b = cself(L, fn);
  double p = 2, v;
  int fro = 1;
  if (lua_type(L, 2) == LUA_TSTRING) {
    if (strcmp(lua_tostring(L, 2), "fro") != 0)
      merr(L, fn, 2, "p", "unknown norm '%s'; use 'fro', 1, 2 or math.huge", lua_tostring(L, 2));
  } else if (!lua_isnoneornil(L, 2)) {
    p = cnum(L, fn, 2, "p");
    fro = 0;
  }
  if (b->vec || fro) {
    if (p != p || (p < 0 && p != -INFINITY))
      merr(L, fn, 2, "p", "vector norms take p >= 0 or +-math.huge, got %g", p);
    bind_check_status(L, ot_mat_norm_vec(&v, b->m, p), fn);
  } else {
    if (p != 1 && p != 2 && p != INFINITY)
      merr(L, fn, 2, "p", "matrix norms are 'fro' (the default), 1, 2 and math.huge, got %g; "
           "M:flatten():norm(p) gives the elementwise p-norm", p);
    bind_check_status(L, ot_mat_norm_mat(&v, b->m, p), fn);
  }
  lua_pushnumber(L, v);
  return 1;
}

/* ---- products ------------------------------------------------------------- */

/*
 * A:dot(B) / ot.dot(A, B), numpy's dot: vector . vector = number, matrix .
 * vector and vector . matrix = vector, matrix . matrix = matrix.
 * ia, ib: stack indices of A and B.
 */
static int dot_impl(lua_State *L, const char *fn, int ia, int ib) {
  bmat *a = ia == 1 && is_method(fn) ? cself(L, fn) : tomat(L, fn, ia, "A");
  bmat *b = tomat(L, fn, ib, "B");
  ot_mat A = a->m, B = b->m;
  shapestr sa = shape_of(a), sb = shape_of(b);
  if (a->vec && b->vec) {
    double v;
    if (A.rows != B.rows)
      merr(L, fn, ib, "B", "vector lengths %zu and %zu differ", A.rows, B.rows);
    ot_mat_inner(&v, A, B);
    lua_pushnumber(L, v);
    return 1;
  }
  size_t k = a->vec ? A.rows : A.cols;
  if (B.rows != k)
    merr(L, fn, ib, "B", "shapes %s and %s do not match for a product: B needs %zu rows", sa.s,
         sb.s, k);
  int rc;
  if (b->vec) /* A x */
    rc = ot_gemv(newmat(L, A.rows, 1, 1, fn)->m, 1.0, A, 0, B, 0.0);
  else if (a->vec) /* x^T B, as a vector */
    rc = ot_gemv(newmat(L, B.cols, 1, 1, fn)->m, 1.0, B, 1, A, 0.0);
  else
    rc = ot_gemm(newmat(L, A.rows, B.cols, 0, fn)->m, 1.0, A, 0, B, 0, 0.0);
  bind_check_status(L, rc, fn);
  return 1;
}
static int mat_dot(lua_State *L) { return dot_impl(L, "Mat:dot", 1, 2); }
static int mat_dot_fn(lua_State *L) { return dot_impl(L, "ot.dot", 1, 2); }

/* ot.outer(u, v): the matrix u v^T (u, v vector-like or flat tables). */
static int mat_outer(lua_State *L) {
  const char *fn = "ot.outer";
  ot_mat u = bind_checkvector(L, 1, "u")->m, v = bind_checkvector(L, 2, "v")->m;
  bmat *o = newmat(L, u.rows, v.rows, 0, fn);
  bind_check_status(L, ot_gemm(o->m, 1.0, u, 0, v, 1, 0.0), fn);
  return 1;
}

/* M:diag() / ot.diag(x): a vector's diagonal matrix, or a matrix's diagonal. */
static int diag_impl(lua_State *L, const char *fn) {
  bmat *b = is_method(fn) ? cself(L, fn) : tomat(L, fn, 1, "x");
  if (b->vec) {
    bmat *o = newmat(L, b->m.rows, b->m.rows, 0, fn);
    ot_mat_set_diag(o->m, b->m);
  } else {
    size_t n = b->m.rows < b->m.cols ? b->m.rows : b->m.cols;
    ot_mat_get_diag(newmat(L, n, 1, 1, fn)->m, b->m);
  }
  return 1;
}
static int mat_diag(lua_State *L) { return diag_impl(L, "Mat:diag"); }
static int mat_diag_fn(lua_State *L) { return diag_impl(L, "ot.diag"); }

/*
 * ot.vstack{A, B, ...} / ot.hstack: concatenation; also ot.vstack(A, B,
 * ...).  Vectors count as columns: vstack of vectors is a longer vector,
 * hstack of vectors a matrix with them as columns.
 */
static int stack_impl(lua_State *L, int axis, const char *fn) {
  int list = !bind_testmat(L, 1); /* a table of items, else the arguments */
  int base, n;
  if (list) {
    if (!lua_istable(L, 1))
      merr(L, fn, 1, "list", "table of matrices expected, got %s", luaL_typename(L, 1));
    lua_settop(L, 1);
    lua_Unsigned len = lua_rawlen(L, 1);
    if (len == 0) merr(L, fn, 1, "list", "nothing to stack: the list is empty");
    if (len > 100000) merr(L, fn, 1, "list", "too many items (%llu)", (unsigned long long)len);
    luaL_checkstack(L, (int)len + LUA_MINSTACK, fn); /* room for conversions and errors too */
    for (lua_Unsigned i = 1; i <= len; i++) lua_rawgeti(L, 1, (lua_Integer)i);
    base = 2;
    n = (int)len;
  } else {
    base = 1;
    n = lua_gettop(L);
  }
  /* convert and check every item before allocating the result */
  size_t rows = 0, cols = 0;
  int allvec = 1;
  for (int k = 0; k < n; k++) {
    int idx = base + k;
    bmat *b;
    if (list) {
      char ctx[32];
      snprintf(ctx, sizeof ctx, "item %d: ", k + 1);
      b = tomat_at(L, fn, idx, 1, "list", ctx); /* errors name the list */
    } else {
      b = tomat(L, fn, idx, "M");
    }
    ot_mat m = b->m;
    if (k == 0) {
      rows = m.rows;
      cols = m.cols;
    } else if (axis == 1 ? m.cols != cols : m.rows != rows) {
      shapestr s = shape_of(b);
      if (list)
        merr(L, fn, 1, "list", "item %d has shape %s, item 1 has %zu %s", k + 1, s.s,
             axis == 1 ? cols : rows, axis == 1 ? "columns" : "rows");
      merr(L, fn, idx, "M", "shape %s does not fit: argument #1 has %zu %s", s.s, axis == 1 ? cols : rows,
           axis == 1 ? "columns" : "rows");
    } else {
      if (axis == 1) rows += m.rows;
      else cols += m.cols;
    }
    allvec &= b->vec;
  }
  size_t bytes;
  if (ot_mem_size((size_t)n, 1, sizeof(ot_mat), &bytes) != OT_OK) bytes = 0;
  ot_mat *parts = lua_newuserdatauv(L, bytes, 0);
  for (int k = 0; k < n; k++) parts[k] = bind_testmat(L, base + k)->m;
  bmat *o = newmat(L, rows, cols, allvec && cols == 1, fn);
  bind_check_status(L, ot_mat_concat(o->m, parts, (size_t)n, axis), fn);
  return 1;
}
static int mat_vstack(lua_State *L) { return stack_impl(L, 1, "ot.vstack"); }
static int mat_hstack(lua_State *L) { return stack_impl(L, 2, "ot.hstack"); }

/* ---- comparisons -------------------------------------------------------- */

/*
 * Compare the matrix a with the operand at idx (matrix or table): 1 when
 * the shapes agree (vector-likes of the same length agree in any
 * orientation) and every pair is close in numpy.allclose's sense.
 */
static int close_impl(lua_State *L, const char *fn, bmat *a, int idx, double rtol, double atol) {
  bmat *b = tomat(L, fn, idx, "B");
  ot_mat B = b->m;
  int ok = 0;
  if (a->m.rows != B.rows || a->m.cols != B.cols) {
    if (!(ot_mat_is_vector(a->m) && ot_mat_is_vector(B) && ot_mat_numel(a->m) == ot_mat_numel(B)))
      return 0;
    B = reorient(L, b, fn);
  }
  ot_mat_allclose(&ok, a->m, B, rtol, atol);
  return ok;
}

/* M:equals(B [, tol]): same shape and |M - B| <= tol everywhere (default 0). */
static int mat_equals(lua_State *L) {
  const char *fn = "Mat:equals";
  bmat *a = cself(L, fn);
  double tol = lua_isnoneornil(L, 3) ? 0.0 : cnum(L, fn, 3, "tol");
  if (!(tol >= 0)) merr(L, fn, 3, "tol", "must be >= 0, got %g", tol);
  lua_pushboolean(L, close_impl(L, fn, a, 2, 0.0, tol));
  return 1;
}

static int allclose_impl(lua_State *L, const char *fn) {
  int m = is_method(fn);
  bmat *a = m ? cself(L, fn) : tomat(L, fn, 1, "A");
  double rtol = lua_isnoneornil(L, 3) ? 1e-5 : cnum(L, fn, 3, "rtol");
  double atol = lua_isnoneornil(L, 4) ? 1e-8 : cnum(L, fn, 4, "atol");
  if (!(rtol >= 0)) merr(L, fn, 3, "rtol", "must be >= 0, got %g", rtol);
  if (!(atol >= 0)) merr(L, fn, 4, "atol", "must be >= 0, got %g", atol);
  lua_pushboolean(L, close_impl(L, fn, a, 2, rtol, atol));
  return 1;
}
static int mat_allclose(lua_State *L) { return allclose_impl(L, "Mat:allclose"); }
static int mat_allclose_fn(lua_State *L) { return allclose_impl(L, "ot.allclose"); }

/* A == B: same shape (vectors and n x 1 matrices alike) and equal values. */
static int mat_eq(lua_State *L) {
  bmat *a = bind_testmat(L, 1), *b = bind_testmat(L, 2);
  int ok = 0;
  if (a && b && a->m.rows == b->m.rows && a->m.cols == b->m.cols)
    ot_mat_allclose(&ok, a->m, b->m, 0.0, 0.0);
  lua_pushboolean(L, ok);
  return 1;
}

/* M:all_finite(): true, or false and the 1-based position of a NaN/Inf. */
static int mat_all_finite(lua_State *L) {
  bmat *b = cself(L, "Mat:all_finite");
  size_t i, j;
  if (ot_mat_all_finite(b->m, &i, &j)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_pushinteger(L, (lua_Integer)i + 1);
  lua_pushinteger(L, (lua_Integer)j + 1);
  return 3;
}

/* ---- conversion to tables --------------------------------------------------- */

/* M:totable(): a table of rows; a vector gives a flat table. */
static int mat_totable(lua_State *L) {
  bmat *b = cself(L, "Mat:totable");
  ot_mat m = b->m;
  if (m.rows > INT32_MAX || m.cols > INT32_MAX) luaL_error(L, "Mat:totable: too large for a table");
  if (b->vec) {
    lua_createtable(L, (int)m.rows, 0);
    for (size_t i = 0; i < m.rows; i++) {
      lua_pushnumber(L, OT_AT(m, i, 0));
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
  }
  lua_createtable(L, (int)m.rows, 0);
  for (size_t i = 0; i < m.rows; i++) {
    lua_createtable(L, (int)m.cols, 0);
    for (size_t j = 0; j < m.cols; j++) {
      lua_pushnumber(L, OT_AT(m, i, j));
      lua_rawseti(L, -2, (lua_Integer)j + 1);
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* ---- printing ---------------------------------------------------------------- */

typedef struct printopts {
  int precision;  /* significant digits of non-integers */
  int edgeitems;  /* rows/columns shown at each end when eliding */
  int maxrows;    /* more rows (vector elements) than this are elided */
  int maxcols;    /* more columns than this are elided */
  int full;       /* 1: never elide */
} printopts;

static printopts print_defaults = {4, 3, 10, 8, 0};

/*
 * One number as text, independent of the locale: nan, inf, -inf; integers
 * below 1e7 in full; others with `prec` significant digits (%g).
 */
static void fmt_num(char *buf, size_t len, double x, int prec) {
  if (x != x) {
    snprintf(buf, len, "nan");
  } else if (isinf(x)) {
    snprintf(buf, len, x > 0 ? "inf" : "-inf");
  } else if (x == floor(x) && fabs(x) < 1e7) {
    snprintf(buf, len, "%.0f", x);
  } else {
    snprintf(buf, len, "%.*g", prec, x);
    const char *dp = localeconv()->decimal_point; /* a non-C LC_NUMERIC would change it */
    if (dp && dp[0] && !(dp[0] == '.' && dp[1] == '\0')) {
      char *p = strstr(buf, dp);
      if (p) {
        size_t dl = strlen(dp);
        *p = '.';
        memmove(p + 1, p + dl, strlen(p + dl) + 1);
      }
    }
  }
}

/* The k-th shown index of n (with elision): first e, then last e. */
static size_t shown_index(size_t k, size_t n, size_t e, int elide) {
  return !elide || k < e ? k : n - 2 * e + k;
}

static void add_padded(luaL_Buffer *B, const char *s, size_t width) {
  for (size_t l = strlen(s); l < width; l++) luaL_addchar(B, ' ');
  luaL_addstring(B, s);
}

/* Push the text of b: a header line, then the values numpy-style. */
static void push_text(lua_State *L, const bmat *b, const printopts *o) {
  ot_mat m = b->m;
  char num[64];
  luaL_Buffer B;
  luaL_buffinit(L, &B);
  if (b->vec)
    snprintf(num, sizeof num, "Vec %zu", m.rows);
  else
    snprintf(num, sizeof num, "Mat %zux%zu", m.rows, m.cols);
  luaL_addstring(&B, num);
  luaL_addchar(&B, '\n');
  if (ot_mat_numel(m) == 0) {
    luaL_addstring(&B, "[]");
    luaL_pushresult(&B);
    return;
  }
  size_t e = (size_t)o->edgeitems;
  if (b->vec) { /* one line */
    int elide = !o->full && m.rows > (size_t)o->maxrows && m.rows > 2 * e;
    size_t shown = elide ? 2 * e : m.rows;
    luaL_addchar(&B, '[');
    for (size_t k = 0; k < shown; k++) {
      if (k) luaL_addchar(&B, ' ');
      if (elide && k == e) luaL_addstring(&B, "... ");
      fmt_num(num, sizeof num, OT_AT(m, shown_index(k, m.rows, e, elide), 0), o->precision);
      luaL_addstring(&B, num);
    }
    luaL_addchar(&B, ']');
    luaL_pushresult(&B);
    return;
  }
  int erow = !o->full && m.rows > (size_t)o->maxrows && m.rows > 2 * e;
  int ecol = !o->full && m.cols > (size_t)o->maxcols && m.cols > 2 * e;
  size_t nr = erow ? 2 * e : m.rows, nc = ecol ? 2 * e : m.cols, width = 1;
  for (size_t r = 0; r < nr; r++) /* one width for every shown element */
    for (size_t c = 0; c < nc; c++) {
      fmt_num(num, sizeof num,
              OT_AT(m, shown_index(r, m.rows, e, erow), shown_index(c, m.cols, e, ecol)),
              o->precision);
      size_t l = strlen(num);
      width = l > width ? l : width;
    }
  for (size_t r = 0; r < nr; r++) {
    if (erow && r == e) luaL_addstring(&B, " ...\n");
    luaL_addstring(&B, r == 0 ? "[[" : " [");
    size_t i = shown_index(r, m.rows, e, erow);
    for (size_t c = 0; c < nc; c++) {
      if (c) luaL_addchar(&B, ' ');
      if (ecol && c == e) luaL_addstring(&B, "... ");
      fmt_num(num, sizeof num, OT_AT(m, i, shown_index(c, m.cols, e, ecol)), o->precision);
      add_padded(&B, num, width);
    }
    luaL_addstring(&B, r + 1 == nr ? "]]" : "]\n");
  }
  luaL_pushresult(&B);
}

/*
 * Read the options table at idx over *o: unknown keys and values out of
 * range are errors naming fn (bind_checkopts cannot name a method).
 */
static void read_printopts(lua_State *L, const char *fn, int idx, printopts *o, int allow_full) {
  if (lua_isnoneornil(L, idx)) return;
  if (!lua_istable(L, idx)) merr(L, fn, idx, "opts", "table expected, got %s", luaL_typename(L, idx));
  struct {
    const char *key;
    int *field, lo, hi;
  } f[] = {{"precision", &o->precision, 1, 17},
           {"edgeitems", &o->edgeitems, 1, 1000},
           {"maxrows", &o->maxrows, 1, 1000000},
           {"maxcols", &o->maxcols, 1, 1000000}};
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    size_t k = 0;
    while (k < sizeof f / sizeof f[0] && !(key && strcmp(key, f[k].key) == 0)) k++;
    if (k < sizeof f / sizeof f[0]) {
      int isint;
      lua_Integer v = lua_tointegerx(L, -1, &isint);
      if (!isint || lua_type(L, -1) != LUA_TNUMBER)
        merr(L, fn, idx, "opts", "option '%s' must be an integer, got %s", key,
             lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1));
      if (v < f[k].lo || v > f[k].hi)
        merr(L, fn, idx, "opts", "option '%s' must be in %d..%d, got %lld", key, f[k].lo, f[k].hi,
             (long long)v);
      *f[k].field = (int)v;
    } else if (key && strcmp(key, "full") == 0) {
      if (!allow_full) merr(L, fn, idx, "opts", "option 'full' applies to M:tostring only");
      if (!lua_isboolean(L, -1))
        merr(L, fn, idx, "opts", "option 'full' must be a boolean, got %s", luaL_typename(L, -1));
      o->full = lua_toboolean(L, -1);
    } else {
      merr(L, fn, idx, "opts", "unknown option '%s'; known: precision, edgeitems, maxrows, maxcols%s",
           key ? key : luaL_typename(L, -2), allow_full ? ", full" : "");
    }
    lua_pop(L, 1);
  }
}

static int mat_tostring(lua_State *L) {
  bmat *b = cself(L, "Mat:__tostring");
  push_text(L, b, &print_defaults);
  return 1;
}

/* M:tostring([opts]): the printed text with options for this call. */
static int mat_tostring_opts(lua_State *L) {
  const char *fn = "Mat:tostring";
  bmat *b = cself(L, fn);
  printopts o = print_defaults;
  read_printopts(L, fn, 2, &o, 1);
  lua_settop(L, 1);
  push_text(L, b, &o);
  return 1;
}

/* ot.printoptions([opts]): set the defaults; returns the current ones. */
static int mat_printoptions(lua_State *L) {
  const char *fn = "ot.printoptions";
  printopts o = print_defaults;
  read_printopts(L, fn, 1, &o, 0);
  print_defaults = o;
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, o.precision);
  lua_setfield(L, -2, "precision");
  lua_pushinteger(L, o.edgeitems);
  lua_setfield(L, -2, "edgeitems");
  lua_pushinteger(L, o.maxrows);
  lua_setfield(L, -2, "maxrows");
  lua_pushinteger(L, o.maxcols);
  lua_setfield(L, -2, "maxcols");
  return 1;
}

/* ---- registration --------------------------------------------------------- */

static const luaL_Reg mat_methods[] = {
  {"shape", mat_shape},
  {"numel", mat_numel},
  {"size", mat_size},
  {"get", mat_get},
  {"set", mat_set},
  {"row", mat_row},
  {"col", mat_col},
  {"slice", mat_slice},
  {"select_rows", mat_select_rows},
  {"select_cols", mat_select_cols},
  {"copy", mat_copy},
  {"T", mat_T},
  {"transpose", mat_transpose},
  {"reshape", mat_reshape},
  {"flatten", mat_flatten},
  {"fill", mat_fill},
  {"assign", mat_assign},
  {"add_", mat_add_},
  {"sub_", mat_sub_},
  {"mul_", mat_mul_},
  {"div_", mat_div_},
  {"abs", mat_abs},
  {"exp", mat_exp},
  {"log", mat_log},
  {"sqrt", mat_sqrt},
  {"map", mat_map},
  {"clip", mat_clip},
  {"sum", mat_sum},
  {"mean", mat_mean},
  {"prod", mat_prod},
  {"min", mat_min},
  {"max", mat_max},
  {"argmin", mat_argmin},
  {"argmax", mat_argmax},
  {"norm", mat_norm},
  {"dot", mat_dot},
  {"diag", mat_diag},
  {"equals", mat_equals},
  {"allclose", mat_allclose},
  {"all_finite", mat_all_finite},
  {"totable", mat_totable},
  {"tostring", mat_tostring_opts},
  {NULL, NULL}
};

static const luaL_Reg mat_meta[] = {
  {"__len", mat_len},
  {"__tostring", mat_tostring},
  {"__call", mat_get},
  {"__add", mat_add},
  {"__sub", mat_sub},
  {"__mul", mat_mul},
  {"__div", mat_div},
  {"__pow", mat_pow},
  {"__unm", mat_unm},
  {"__eq", mat_eq},
  {"__index", NULL},
  {NULL, NULL}
};

static const luaL_Reg mat_funcs[] = {
  {"zeros", mat_zeros},
  {"ones", mat_ones},
  {"full", mat_full},
  {"eye", mat_eye},
  {"linspace", mat_linspace},
  {"unif", mat_unif},
  {"mat", mat_mat},
  {"ismat", mat_ismat},
  {"dot", mat_dot_fn},
  {"outer", mat_outer},
  {"diag", mat_diag_fn},
  {"vstack", mat_vstack},
  {"hstack", mat_hstack},
  {"allclose", mat_allclose_fn},
  {"printoptions", mat_printoptions},
  {NULL, NULL}
};

void bind_open_mat(lua_State *L) {
  luaL_newmetatable(L, BIND_MAT);
  luaL_setfuncs(L, mat_meta, 0);
  luaL_newlibtable(L, mat_methods);
  luaL_setfuncs(L, mat_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_setfuncs(L, mat_funcs, 0);
}
