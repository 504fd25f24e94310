/*
 * sliced.c (bindings) -- ot.sliced_wasserstein_distance and
 * ot.max_sliced_wasserstein_distance, POT's argument order
 * (X_s, X_t, a, b, then the keyword arguments in an options table).
 * share/help/sliced.txt is the user manual.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "bind.h"
#include "cost.h"
#include "ot/sliced.h"

/* 1 when the value at idx is a plain table with a string key (an options
 * table rather than a table of weights). */
static int is_opts_table(lua_State *L, int idx) {
  if (!lua_istable(L, idx) || bind_testmat(L, idx)) return 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* A rescaled copy of the weight vector at arg (sum 1), replacing it. */
static bmat *normalized_copy(lua_State *L, int arg, const bmat *w, double sum, const char *fname) {
  size_t n = w->m.rows;
  bmat *c = bind_newvec(L, n, fname);
  for (size_t i = 0; i < n; i++) c->m.data[i] = w->m.data[i] / sum;
  lua_replace(L, arg);
  return c;
}

/* Largest |entry| of m; *pi, *pj locate it. */
static double maxabs(ot_mat m, size_t *pi, size_t *pj) {
  double best = -1.0;
  for (size_t i = 0; i < m.rows; i++)
    for (size_t j = 0; j < m.cols; j++)
      if (fabs(OT_AT(m, i, j)) > best) {
        best = fabs(OT_AT(m, i, j));
        *pi = i;
        *pj = j;
      }
  return best;
}

/*
 * Refuse coordinates so large that a projected gap |s - t|^p, or the sum
 * of K of them, overflows: |<theta, x>| <= ||theta|| sqrt(d) max|x|.
 */
static void check_magnitude(lua_State *L, const bmat *X, const bmat *Y, ot_mat theta, size_t K,
                            double p) {
  double thn = 1.0, d = (double)X->m.cols;
  for (size_t k = 0; theta.data && k < theta.cols; k++) {
    double s = 0.0;
    for (size_t c = 0; c < theta.rows; c++) s += OT_AT(theta, c, k) * OT_AT(theta, c, k);
    if (k == 0 || sqrt(s) > thn) thn = sqrt(s);
  }
  double bound = pow(DBL_MAX / (4.0 * (double)K), 1.0 / p) / (2.0 * sqrt(d) * fmax(thn, 1e-300));
  size_t i = 0, j = 0;
  for (int side = 0; side < 2; side++) {
    const bmat *b = side ? Y : X;
    double v = maxabs(b->m, &i, &j);
    if (v > bound)
      bind_argerror(L, side + 1, side ? "X_t" : "X_s", "%s[%zu,%zu] = %g: |x - y|^%g overflows for "
                    "|values| above %.3g; rescale the points", side ? "X_t" : "X_s", i + 1, j + 1,
                    OT_AT(b->m, i, j), p, bound);
  }
}

static int sliced_common(lua_State *L, int max, const char *fname) {
  static const char *const keys[] = {"n_projections", "p", "seed", "projections", "progress",
                                     "normalize", NULL};
  lua_settop(L, 5);
  if (is_opts_table(L, 3)) { /* ot.sliced_wasserstein_distance(Xs, Xt, {opts}) */
    lua_copy(L, 3, 5);
    lua_pushnil(L);
    lua_replace(L, 3);
  }
  bmat *X = bind_checkpoints(L, 1, "X_s");
  bmat *Y = bind_checkpoints(L, 2, "X_t");
  bind_checksamedim(L, 2, "X_t", Y, "X_s", X);
  bind_checkopts(L, 5, keys);
  size_t n = X->m.rows, m = Y->m.rows, d = X->m.cols;
  double sa, sb;
  bmat *a = bind_checkweights(L, 3, "a", n, &sa);
  bmat *b = bind_checkweights(L, 4, "b", m, &sb);
  if (bind_optfield_boolean(L, 5, "normalize", 0)) {
    a = normalized_copy(L, 3, a, sa, fname);
    b = normalized_copy(L, 4, b, sb, fname);
  } else {
    bind_checkbalanced(L, 4, "b", sa, sb);
  }
  ot_sliced_opts o;
  ot_sliced_opts_init(&o);
  o.max = max;
  lua_Integer K = bind_optfield_integer(L, 5, "n_projections", 50);
  if (K < 1 || K > (lua_Integer)1 << 40)
    bind_argerror(L, 5, "opts", "n_projections must be >= 1, got %lld", (long long)K);
  o.n_projections = (size_t)K;
  o.p = bind_optfield_number(L, 5, "p", 2.0);
  if (!(o.p > 0.0) || isinf(o.p))
    bind_argerror(L, 5, "opts", "p must be finite and > 0, got %g", o.p);
  ot_rng seeded;
  o.rng = bind_rng();
  int top = lua_gettop(L);
  if (lua_istable(L, 5) && lua_getfield(L, 5, "seed") != LUA_TNIL) {
    lua_Integer s = bind_optfield_integer(L, 5, "seed", 0);
    ot_rng_seed(&seeded, (uint64_t)s);
    o.rng = &seeded;
  }
  lua_settop(L, top);
  ot_mat theta = {0, 0, 0, NULL};
  if (lua_istable(L, 5) && lua_getfield(L, 5, "projections") != LUA_TNIL) {
    bmat *th = bind_tomat(L, -1, "projections"); /* stays on the stack */
    if (th->m.rows != d || th->m.cols == 0)
      bind_argerror(L, 5, "opts", "projections must be d x K = %zu x K (one direction per column), "
                    "got %zux%zu", d, th->m.rows, th->m.cols);
    size_t bi, bj;
    if (!ot_mat_all_finite(th->m, &bi, &bj))
      bind_argerror(L, 5, "opts", "projections[%zu,%zu] is not finite", bi + 1, bj + 1);
    theta = th->m;
    o.n_projections = theta.cols;
  } else {
    lua_settop(L, top);
  }
  check_magnitude(L, X, Y, theta, o.n_projections, o.p);
  bind_progress_ud ud = {L, 0, 0.0, 0};
  if (lua_istable(L, 5)) {
    lua_getfield(L, 5, "progress");
    if (!lua_isnil(L, -1)) {
      if (!lua_isfunction(L, -1))
        bind_argerror(L, 5, "opts", "progress must be a function, got %s", luaL_typename(L, -1));
      ud.callback = lua_gettop(L);
    }
  }
  /* outputs first, so nothing can leak once the kernel has run */
  bmat *dirs = bind_newmat(L, d, o.n_projections, fname);
  bmat *per = bind_newvec(L, o.n_projections, fname);
  o.progress = bind_progress;
  o.progress_ud = &ud;
  double t0 = ot_clock(), value = 0.0;
  int rc = ot_sliced_distance(&value, X->m, a->m.data, Y->m, b->m.data, theta, per->m.data,
                              dirs->m.data, &o);
  if (rc == OT_ECANCELED && ud.lua_error) return lua_error(L); /* the callback's error */
  if (rc == OT_ECANCELED && !bind_interrupted)
    return luaL_error(L, "%s: canceled by the progress callback", fname);
  bind_check_status(L, rc, fname);
  lua_pushnumber(L, value);
  lua_createtable(L, 0, 5);
  lua_pushvalue(L, -4);
  lua_setfield(L, -2, "projections");
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "projected_emds");
  lua_pushinteger(L, (lua_Integer)o.n_projections);
  lua_setfield(L, -2, "n_projections");
  lua_pushnumber(L, o.p);
  lua_setfield(L, -2, "p");
  lua_pushnumber(L, ot_clock() - t0);
  lua_setfield(L, -2, "time");
  return 2;
}

/* ot.sliced_wasserstein_distance(X_s, X_t [, a, b, opts]) -> value, info */
static int sliced_distance(lua_State *L) {
  return sliced_common(L, 0, "ot.sliced_wasserstein_distance");
}

/* ot.max_sliced_wasserstein_distance(X_s, X_t [, a, b, opts]) -> value, info */
static int sliced_max_distance(lua_State *L) {
  return sliced_common(L, 1, "ot.max_sliced_wasserstein_distance");
}

static const luaL_Reg sliced_funcs[] = {
  {"sliced_wasserstein_distance", sliced_distance},
  {"max_sliced_wasserstein_distance", sliced_max_distance},
  {NULL, NULL}
};

void bind_open_sliced(lua_State *L) { luaL_setfuncs(L, sliced_funcs, 0); }
