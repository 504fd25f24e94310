/*
 * emd.c (bindings) -- exact OT: ot.emd, ot.emd2 (network simplex or the
 * assignment solver), ot.emd_1d, ot.emd2_1d, ot.wasserstein_1d and
 * ot.plan_dense.
 *
 * share/help/emd.txt is the user manual of these functions.
 *
 * Sparse plans are k x 3 matrices whose rows are (i, j, mass), 1-based,
 * sorted by i then j; ot.plan_dense turns one into the n x m matrix.
 */
#include <math.h>
#include <string.h>

#include "bind.h"
#include "cost.h"
#include "ot/alloc.h"
#include "ot/assign.h"
#include "ot/emd.h"

/* A scratch block owned by a Lua userdata (freed by the GC, so an error
 * raised later cannot leak it).  Pushed on the stack. */
static void *scratch(lua_State *L, size_t count, size_t size, const char *fname) {
  size_t bytes;
  if (ot_mem_size(count ? count : 1, size, 1, &bytes) != OT_OK)
    luaL_error(L, "%s: problem too large", fname);
  return lua_newuserdatauv(L, bytes, 0);
}

/* Squared distances between the points must not overflow. */
static void checkspan(lua_State *L, int arg, const char *name, const bmat *X, const bmat *Y) {
  double s = 0.0;
  for (size_t t = 0; t < X->m.cols; t++) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < X->m.rows; i++) {
      lo = fmin(lo, OT_AT(X->m, i, t));
      hi = fmax(hi, OT_AT(X->m, i, t));
    }
    for (size_t j = 0; j < Y->m.rows; j++) {
      lo = fmin(lo, OT_AT(Y->m, j, t));
      hi = fmax(hi, OT_AT(Y->m, j, t));
    }
    s += (hi - lo) * (hi - lo);
  }
  if (!isfinite(s))
    bind_argerror(L, arg, name, "coordinates so far apart that squared distances overflow; "
                  "rescale the points");
}

/* 1 when all n weights are equal. */
static int is_uniform(const double *w, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (w[i] != w[0]) return 0;
  return 1;
}

/* Replace the weight vector at arg by a copy scaled to sum 1. */
static bmat *normalized(lua_State *L, int arg, const bmat *w, double sum) {
  bmat *c = bind_newvec(L, w->m.rows, "weights");
  for (size_t i = 0; i < w->m.rows; i++) c->m.data[i] = w->m.data[i] / sum;
  lua_replace(L, arg);
  return c;
}

/* Push a k x 3 plan (1-based i, j, mass). */
static void push_sparse(lua_State *L, const size_t *pi, const size_t *pj, const double *mass,
                        size_t k, const char *fname) {
  bmat *P = bind_newmat(L, k, 3, fname);
  for (size_t r = 0; r < k; r++) {
    P->m.data[3 * r] = (double)(pi[r] + 1);
    P->m.data[3 * r + 1] = (double)(pj[r] + 1);
    P->m.data[3 * r + 2] = mass[r];
  }
}

static const char *const emd_keys[] = {"max_iter", "dense", "normalize", "progress", "solver",
                                       "tol", NULL};

/*
 * The common body of ot.emd (want_plan = 1) and ot.emd2.  Forms:
 *   (a, b, M [, opts])       cost matrix M, n x m
 *   (a, b, X, Y [, opts])    points (n x d, m x d), squared Euclidean on the fly
 * Pushes the plan (ot.emd only) and the info table.
 */
static int emd_common(lua_State *L, int want_plan, const char *fname) {
  lua_settop(L, 5);
  const int points = bind_testmat(L, 4) != NULL;
  if (!points && lua_istable(L, 4)) { /* a table of rows in Y's place is a mistake, not opts */
    int t = lua_rawgeti(L, 4, 1);
    lua_pop(L, 1);
    if (t == LUA_TTABLE || t == LUA_TNUMBER)
      return bind_argerror(L, 4, "Y", "point clouds must be matrices here (convert with ot.mat); "
                           "a table in this place is read as the options");
  }
  const int optarg = points ? 5 : 4;
  if (!points && !lua_isnil(L, 5))
    bind_argerror(L, 5, "opts", "unexpected argument (the options table is argument 4 "
                  "with a cost matrix, 5 with two point clouds)");
  bmat *M = NULL, *X = NULL, *Y = NULL;
  size_t n, m;
  if (points) {
    X = bind_checkpoints(L, 3, "X");
    Y = bind_checkpoints(L, 4, "Y");
    bind_checksamedim(L, 4, "Y", Y, "X", X);
    checkspan(L, 4, "Y", X, Y);
    n = X->m.rows;
    m = Y->m.rows;
  } else {
    M = bind_checkcosts(L, 3);
    n = M->m.rows;
    m = M->m.cols;
  }
  double sa, sb;
  bmat *a = bind_checkweights(L, 1, "a", n, &sa);
  bmat *b = bind_checkweights(L, 2, "b", m, &sb);

  bind_checkopts(L, optarg, emd_keys);
  int normalize = bind_optfield_boolean(L, optarg, "normalize", 0);
  int dense = bind_optfield_boolean(L, optarg, "dense", 0);
  lua_Integer max_iter = bind_optfield_integer(L, optarg, "max_iter", LUA_MININTEGER);
  if (max_iter == LUA_MININTEGER)
    max_iter = 0; /* absent: the core's default */
  else if (max_iter < 1)
    bind_argerror(L, optarg, "opts", "option 'max_iter' must be >= 1, got %lld",
                  (long long)max_iter);
  double tol = bind_optfield_number(L, optarg, "tol", 1e-12);
  if (!(tol >= 0 && tol < 1))
    bind_argerror(L, optarg, "opts", "option 'tol' must be in [0, 1), got %g", tol);
  const char *solver = bind_optfield_string(L, optarg, "solver", "auto");
  int use_assign;
  if (strcmp(solver, "auto") == 0) {
    use_assign = -1;
  } else if (strcmp(solver, "simplex") == 0) {
    use_assign = 0;
  } else if (strcmp(solver, "assign") == 0) {
    use_assign = 1;
  } else {
    return bind_argerror(L, optarg, "opts", "option 'solver' must be \"auto\", \"simplex\" or "
                         "\"assign\", got \"%s\"", solver);
  }
  int cb = 0;
  if (lua_istable(L, optarg)) {
    lua_getfield(L, optarg, "progress");
    if (lua_isfunction(L, -1)) {
      cb = lua_gettop(L);
    } else if (!lua_isnil(L, -1)) {
      return bind_argerror(L, optarg, "opts", "option 'progress' must be a function, got %s",
                           luaL_typename(L, -1));
    } else {
      lua_pop(L, 1);
    }
  }
  if (normalize) {
    a = normalized(L, 1, a, sa);
    b = normalized(L, 2, b, sb);
    sa = sb = 1.0;
  } else {
    bind_checkbalanced(L, 2, "b", sa, sb);
  }
  const int square_uniform = !points && n == m && is_uniform(a->m.data, n) &&
                             is_uniform(b->m.data, m);
  if (use_assign == 1 && !square_uniform)
    return bind_argerror(L, optarg, "opts", "solver \"assign\" needs a square cost matrix and "
                         "uniform weights (got %zux%zu%s)", n, m,
                         points ? " points" : "");
  /*
   * "auto" is the network simplex.  Measured on random points, squared
   * Euclidean, uniform weights: LAPJV is 2x faster at d >= 10, n >= 2000
   * but 2-5x slower at d <= 2 and up to 50x on shifted Gaussian clouds
   * (long augmenting paths), and nothing cheap in M predicts which; the
   * simplex is never far off.
   */
  if (use_assign == -1) use_assign = 0;

  /* Outputs, allocated before the kernel runs. */
  const size_t cap = n + m - 1;
  size_t *pi = scratch(L, cap, sizeof(size_t), fname);
  size_t *pj = scratch(L, cap, sizeof(size_t), fname);
  double *mass = scratch(L, cap, sizeof(double), fname);
  bmat *u = bind_newvec(L, n, fname);
  int u_idx = lua_gettop(L);
  bmat *v = bind_newvec(L, m, fname);
  int v_idx = lua_gettop(L);
  bmat *P = NULL;
  int p_idx = 0;
  if (want_plan && dense) {
    P = bind_newmat(L, n, m, fname);
    p_idx = lua_gettop(L);
  }

  bind_progress_ud pud = {L, cb, 0.0, 0};
  ot_emd_result res;
  memset(&res, 0, sizeof res);
  int rc;
  double t0 = ot_clock();
  if (use_assign) {
    ot_assign_opts ao;
    ot_assign_opts_init(&ao);
    ao.progress = bind_progress;
    ao.progress_ud = &pud;
    ao.interval = cb ? 0.05 : 0.01;
    double total;
    rc = ot_assign_solve(M->m, &ao, pi, u->m.data, v->m.data, &total);
    if (rc == OT_OK) {
      const double w = a->m.data[0]; /* every mass; b is rescaled to a's sum */
      for (size_t i = 0; i < n; i++) {
        pj[i] = pi[i];
        mass[i] = w;
      }
      /* Rows in order i, columns sigma(i): sorted by i already. */
      for (size_t i = 0; i < n; i++) pi[i] = i;
      res.nnz = n;
      res.cost = w * total;
      /* Centre the duals as the simplex does (sum a u = sum b v). */
      double su = 0, sv = 0;
      for (size_t i = 0; i < n; i++) {
        su += u->m.data[i];
        sv += v->m.data[i];
      }
      double c = (sv - su) / (2.0 * (double)n);
      for (size_t i = 0; i < n; i++) {
        u->m.data[i] += c;
        v->m.data[i] -= c;
      }
      res.dual = w * (su + sv);
      res.status = OT_EMD_OPTIMAL;
      res.err = 0.0;
      res.iterations = 0;
    }
  } else {
    ot_emd_problem prob;
    memset(&prob, 0, sizeof prob);
    prob.n = n;
    prob.m = m;
    prob.a = a->m.data;
    prob.b = b->m.data;
    if (points) {
      prob.X = X->m;
      prob.Y = Y->m;
    } else {
      prob.C = M->m;
    }
    ot_emd_opts o;
    ot_emd_opts_init(&o);
    o.max_iter = (long)max_iter;
    o.tol = tol;
    o.progress = bind_progress;
    o.progress_ud = &pud;
    o.interval = cb ? 0.05 : 0.01; /* without a Lua callback: only Ctrl-C, checked often */
    rc = ot_emd_solve(&prob, &o, pi, pj, mass, u->m.data, v->m.data, &res);
  }
  double elapsed = ot_clock() - t0;
  if (rc == OT_ECANCELED) {
    if (pud.lua_error) return lua_error(L); /* the callback's own error */
    if (bind_interrupted)
      return luaL_error(L, "%s: interrupted at iteration %I", fname, (lua_Integer)res.iterations);
    if (use_assign) return luaL_error(L, "%s: canceled by the progress callback", fname);
    /* the Lua callback returned false: results so far, status "canceled" */
  } else {
    bind_check_status(L, rc, fname);
  }

  if (want_plan) {
    if (P) {
      for (size_t k = 0; k < res.nnz; k++) OT_AT(P->m, pi[k], pj[k]) = mass[k];
      lua_pushvalue(L, p_idx);
    } else {
      push_sparse(L, pi, pj, mass, res.nnz, fname);
    }
  } else {
    lua_pushnumber(L, res.cost);
  }
  lua_createtable(L, 0, 12);
  lua_pushnumber(L, res.cost);
  lua_setfield(L, -2, "cost");
  lua_pushvalue(L, u_idx);
  lua_setfield(L, -2, "u");
  lua_pushvalue(L, v_idx);
  lua_setfield(L, -2, "v");
  lua_pushinteger(L, res.iterations);
  lua_setfield(L, -2, "iterations");
  static const char *const names[] = {"optimal", "max_iter_reached", "canceled"};
  lua_pushstring(L, names[res.status]);
  lua_setfield(L, -2, "status");
  lua_pushboolean(L, res.status == OT_EMD_OPTIMAL);
  lua_setfield(L, -2, "converged");
  lua_pushstring(L, use_assign ? "assign" : "simplex");
  lua_setfield(L, -2, "solver");
  lua_pushnumber(L, elapsed);
  lua_setfield(L, -2, "time");
  lua_pushnumber(L, res.err);
  lua_setfield(L, -2, "err");
  lua_pushnumber(L, res.dual);
  lua_setfield(L, -2, "dual");
  lua_pushinteger(L, (lua_Integer)res.nnz);
  lua_setfield(L, -2, "nnz");
  if (!use_assign && !isnan(res.min_rc)) {
    lua_pushnumber(L, res.min_rc);
    lua_setfield(L, -2, "min_rc");
  }
  return 2;
}

/* ot.emd(a, b, M [, opts]) / ot.emd(a, b, X, Y [, opts]) -> plan, info */
static int emd_emd(lua_State *L) { return emd_common(L, 1, "ot.emd"); }

/* ot.emd2(...) -> cost, info */
static int emd_emd2(lua_State *L) { return emd_common(L, 0, "ot.emd2"); }

/* A 1-D sample at arg: a vector (or 1 x n, n x 1, table), non-empty, finite. */
static bmat *checksample(lua_State *L, int arg, const char *name) {
  bmat *x = bind_checkvector(L, arg, name);
  if (x->m.rows == 0) bind_argerror(L, arg, name, "empty sample");
  for (size_t i = 0; i < x->m.rows; i++)
    if (!isfinite(x->m.data[i]))
      bind_argerror(L, arg, name, "%s[%zu] = %s is not finite", name, i + 1,
                    isnan(x->m.data[i]) ? "nan" : x->m.data[i] > 0 ? "inf" : "-inf");
  return x;
}

/* Weights of the two 1-D samples (args 3 and 4), balanced or normalized. */
static void checkweights_1d(lua_State *L, size_t n, size_t m, int normalize, bmat **a,
                            bmat **b) {
  double sa, sb;
  *a = bind_checkweights(L, 3, "a", n, &sa);
  *b = bind_checkweights(L, 4, "b", m, &sb);
  if (normalize) {
    *a = normalized(L, 3, *a, sa);
    *b = normalized(L, 4, *b, sb);
  } else {
    bind_checkbalanced(L, 4, "b", sa, sb);
  }
}

static const char *const emd1d_keys[] = {"metric", "p", "dense", "normalize", NULL};

/* Body of ot.emd_1d (want_plan) and ot.emd2_1d. */
static int emd1d_common(lua_State *L, int want_plan, const char *fname) {
  lua_settop(L, 6);
  bmat *x = checksample(L, 1, "x_a");
  bmat *y = checksample(L, 2, "x_b");
  const size_t n = x->m.rows, m = y->m.rows;
  const char *metric;
  double p;
  int normalize = 0, dense = 0;
  const int positional = lua_type(L, 5) == LUA_TSTRING;
  if (positional) { /* POT's positional form (..., metric [, p]) */
    metric = lua_tostring(L, 5);
    p = lua_isnil(L, 6) ? 1.0 : bind_checknumber(L, 6, "p");
  } else {
    if (!lua_isnil(L, 6))
      return bind_argerror(L, 6, "p", "only after a metric name in argument 5");
    bind_checkopts(L, 5, emd1d_keys);
    normalize = bind_optfield_boolean(L, 5, "normalize", 0);
    dense = bind_optfield_boolean(L, 5, "dense", 0);
    metric = bind_optfield_string(L, 5, "metric", "sqeuclidean");
    p = bind_optfield_number(L, 5, "p", 1.0);
  }
  int mc;
  if (strcmp(metric, "sqeuclidean") == 0) {
    mc = OT_EMD1D_SQEUCLIDEAN;
  } else if (strcmp(metric, "euclidean") == 0 || strcmp(metric, "cityblock") == 0) {
    mc = OT_EMD1D_EUCLIDEAN;
  } else if (strcmp(metric, "minkowski") == 0) {
    mc = OT_EMD1D_MINKOWSKI;
    if (!(p >= 1.0 && isfinite(p)))
      return positional ? bind_argerror(L, 6, "p", "must be finite and >= 1 (the monotone "
                                        "coupling is optimal only for convex costs), got %g", p)
                        : bind_argerror(L, 5, "opts", "option 'p' must be finite and >= 1 (the "
                                        "monotone coupling is optimal only for convex costs), "
                                        "got %g", p);
  } else {
    return bind_argerror(L, 5, positional ? "metric" : "opts", "%s \"sqeuclidean\", "
                         "\"euclidean\", \"cityblock\" or \"minkowski\" expected, got \"%s\"",
                         positional ? "metric" : "option 'metric':", metric);
  }
  bmat *a, *b;
  checkweights_1d(L, n, m, normalize, &a, &b);
  const size_t cap = n + m - 1;
  size_t *pi = scratch(L, cap, sizeof(size_t), fname);
  size_t *pj = scratch(L, cap, sizeof(size_t), fname);
  double *mass = scratch(L, cap, sizeof(double), fname);
  bmat *P = NULL;
  if (want_plan && dense) P = bind_newmat(L, n, m, fname);
  size_t nnz = 0;
  double cost = 0.0;
  int rc = ot_emd_1d(x->m.data, n, y->m.data, m, a->m.data, b->m.data, mc, p, pi, pj, mass, &nnz,
                     &cost);
  bind_check_status(L, rc, fname);
  if (!want_plan) {
    lua_pushnumber(L, cost);
    return 1;
  }
  if (P) {
    for (size_t k = 0; k < nnz; k++) OT_AT(P->m, pi[k], pj[k]) += mass[k];
  } else {
    push_sparse(L, pi, pj, mass, nnz, fname);
  }
  lua_createtable(L, 0, 2);
  lua_pushnumber(L, cost);
  lua_setfield(L, -2, "cost");
  lua_pushinteger(L, (lua_Integer)nnz);
  lua_setfield(L, -2, "nnz");
  return 2;
}

/* ot.emd_1d(x_a, x_b [, a, b [, opts]]) -> plan, info */
static int emd_emd_1d(lua_State *L) { return emd1d_common(L, 1, "ot.emd_1d"); }

/* ot.emd2_1d(x_a, x_b [, a, b [, opts]]) -> cost */
static int emd_emd2_1d(lua_State *L) { return emd1d_common(L, 0, "ot.emd2_1d"); }

static const char *const w1d_keys[] = {"normalize", NULL};

/* ot.wasserstein_1d(u_values, v_values [, u_weights, v_weights [, p [, opts]]]) -> W_p^p */
static int emd_wasserstein_1d(lua_State *L) {
  lua_settop(L, 6);
  bmat *x = checksample(L, 1, "u_values");
  bmat *y = checksample(L, 2, "v_values");
  double p = 1.0;
  if (!lua_isnil(L, 5)) {
    p = bind_checknumber(L, 5, "p");
    if (!(p >= 1.0 && isfinite(p))) return bind_argerror(L, 5, "p", "must be finite and >= 1, got %g", p);
  }
  bind_checkopts(L, 6, w1d_keys);
  int normalize = bind_optfield_boolean(L, 6, "normalize", 0);
  double sa, sb;
  bmat *a = bind_checkweights(L, 3, "u_weights", x->m.rows, &sa);
  bmat *b = bind_checkweights(L, 4, "v_weights", y->m.rows, &sb);
  if (normalize) {
    a = normalized(L, 3, a, sa);
    b = normalized(L, 4, b, sb);
  } else {
    bind_checkbalanced(L, 4, "v_weights", sa, sb);
  }
  double out = 0.0;
  int rc = ot_emd_wasserstein_1d(x->m.data, x->m.rows, y->m.data, y->m.rows, a->m.data,
                                 b->m.data, p, &out);
  bind_check_status(L, rc, "ot.wasserstein_1d");
  lua_pushnumber(L, out);
  return 1;
}

/* ot.plan_dense(P, n, m) -> the n x m matrix of a sparse k x 3 plan. */
static int emd_plan_dense(lua_State *L) {
  lua_settop(L, 3);
  bmat *P = bind_tomat(L, 1, "P");
  size_t n = bind_checksize(L, 2, "n");
  size_t m = bind_checksize(L, 3, "m");
  if (P->m.cols != 3 && !(P->m.rows == 0))
    return bind_argerror(L, 1, "P", "sparse plan expected (k x 3 rows of i, j, mass), got a "
                         "%zux%zu matrix", P->m.rows, P->m.cols);
  for (size_t r = 0; r < P->m.rows; r++) {
    double i = OT_AT(P->m, r, 0), j = OT_AT(P->m, r, 1), w = OT_AT(P->m, r, 2);
    if (!(i >= 1 && i <= (double)n && i == floor(i)))
      return bind_argerror(L, 1, "P", "row %zu: i = %g is not an index in 1..%zu", r + 1, i, n);
    if (!(j >= 1 && j <= (double)m && j == floor(j)))
      return bind_argerror(L, 1, "P", "row %zu: j = %g is not an index in 1..%zu", r + 1, j, m);
    if (!isfinite(w))
      return bind_argerror(L, 1, "P", "row %zu: mass %g is not finite", r + 1, w);
  }
  bmat *D = bind_newmat(L, n, m, "ot.plan_dense");
  for (size_t r = 0; r < P->m.rows; r++)
    OT_AT(D->m, (size_t)OT_AT(P->m, r, 0) - 1, (size_t)OT_AT(P->m, r, 1) - 1) +=
        OT_AT(P->m, r, 2);
  return 1;
}

static const luaL_Reg emd_funcs[] = {
    {"emd", emd_emd},
    {"emd2", emd_emd2},
    {"emd_1d", emd_emd_1d},
    {"emd2_1d", emd_emd2_1d},
    {"wasserstein_1d", emd_wasserstein_1d},
    {"plan_dense", emd_plan_dense},
    {NULL, NULL},
};

void bind_open_emd(lua_State *L) { luaL_setfuncs(L, emd_funcs, 0); }
