/*
 * cost.c (bindings) -- ot.dist and ot.barycentric_projection, plus the
 * point-cloud checks shared with the gauss and sliced bindings (cost.h).
 *
 * share/help/cost.txt is the user manual of these functions.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "bind.h"
#include "cost.h"
#include "ot/cost.h"

/* Points at stack index idx, reported as argument #arg. */
static bmat *checkpoints(lua_State *L, int idx, int arg, const char *name) {
  bmat *b = bind_tomat(L, idx, name);
  if (b->m.rows == 0 || b->m.cols == 0)
    bind_argerror(L, arg, name, "empty dataset (%zux%zu): needs at least one point of dimension >= 1",
                  b->m.rows, b->m.cols);
  size_t bi, bj;
  if (!ot_mat_all_finite(b->m, &bi, &bj)) {
    double v = OT_AT(b->m, bi, bj);
    bind_argerror(L, arg, name, "%s[%zu,%zu] = %s is not finite", name, bi + 1, bj + 1,
                  isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
  }
  return b;
}

bmat *bind_checkpoints(lua_State *L, int arg, const char *name) {
  return checkpoints(L, arg, arg, name);
}

void bind_checksamedim(lua_State *L, int arg, const char *name, const bmat *Y,
                       const char *xname, const bmat *X) {
  if (Y->m.cols != X->m.cols)
    bind_argerror(L, arg, name, "points of dimension %zu (%zux%zu) but %s has dimension %zu (%zux%zu)",
                  Y->m.cols, Y->m.rows, Y->m.cols, xname, X->m.cols, X->m.rows, X->m.cols);
}

/* Largest |entry| of m and its position. */
static double maxabs(ot_mat m, size_t *pi, size_t *pj) {
  double best = -1.0;
  for (size_t i = 0; i < m.rows; i++)
    for (size_t j = 0; j < m.cols; j++) {
      double v = fabs(OT_AT(m, i, j));
      if (v > best) {
        best = v;
        *pi = i;
        *pj = j;
      }
    }
  return best;
}

/*
 * Refuse coordinates so large that the costs overflow to Inf (for
 * sqeuclidean: |v| above sqrt(DBL_MAX / 4d)): name the entry and the bound.
 */
static void check_magnitude(lua_State *L, int arg, const char *name, const bmat *b, int metric,
                            double p) {
  double d = (double)b->m.cols, bound;
  switch (metric) {
  case OT_METRIC_CITYBLOCK: bound = DBL_MAX / (4.0 * d); break;
  case OT_METRIC_MINKOWSKI: bound = isinf(p) ? DBL_MAX / 4.0 : pow(DBL_MAX / (2.0 * d), 1.0 / p) / 2.0; break;
  default: bound = sqrt(DBL_MAX / (4.0 * d)); break; /* squares and dot products */
  }
  size_t i = 0, j = 0;
  double v = maxabs(b->m, &i, &j);
  if (v > bound)
    bind_argerror(L, arg, name, "%s[%zu,%zu] = %g: %s costs overflow for |values| above %.3g; "
                  "rescale the points", name, i + 1, j + 1, OT_AT(b->m, i, j),
                  ot_cost_metric_name(metric), bound);
}

/* Error when a point has no direction (cosine). */
static void check_nonzero(lua_State *L, int arg, const char *name, const bmat *b) {
  size_t z = ot_cost_first_zero_row(b->m);
  if (z < b->m.rows)
    bind_argerror(L, arg, name, "row %zu of %s is the zero vector: the cosine distance is "
                  "undefined for it", z + 1, name);
}

/*
 * ot.dist(X [, Y [, metric [, p]]]) -> C (n x m).  Y nil (or a metric
 * string in its place) means Y = X.  The matrix is allocated (budget
 * checked) before the kernel runs, which then cannot leak on error.
 */
static int cost_dist(lua_State *L) {
  static const char known[] = "sqeuclidean, euclidean, cityblock, cosine, minkowski, chebyshev";
  lua_settop(L, 4);
  int argy = 2, argm = 3, argp = 4;
  if (lua_type(L, 2) == LUA_TSTRING) { /* ot.dist(X, "cosine") */
    argy = 0;
    argm = 2;
    argp = 3;
  }
  bmat *X = bind_checkpoints(L, 1, "X");
  bmat *Y = X;
  int ypos = 1;
  if (argy && !lua_isnil(L, argy)) {
    Y = bind_checkpoints(L, argy, "Y");
    bind_checksamedim(L, argy, "Y", Y, "X", X);
    ypos = argy;
  }
  ot_cost_opts o;
  ot_cost_opts_init(&o);
  if (!lua_isnil(L, argm)) {
    if (lua_type(L, argm) != LUA_TSTRING)
      bind_argerror(L, argm, "metric", "string expected, got %s", luaL_typename(L, argm));
    const char *name = lua_tostring(L, argm);
    if (ot_cost_metric_parse(name, &o.metric, &o.p))
      bind_argerror(L, argm, "metric", "unknown metric '%s'; known: %s", name, known);
  }
  if (!lua_isnil(L, argp)) {
    double p = bind_checknumber(L, argp, "p");
    if (o.metric != OT_METRIC_MINKOWSKI || isinf(o.p))
      bind_argerror(L, argp, "p", "applies to metric 'minkowski' only (metric is '%s')",
                    lua_isnil(L, argm) ? "sqeuclidean" : lua_tostring(L, argm));
    if (!(p >= 1.0)) bind_argerror(L, argp, "p", "must be >= 1 (or math.huge), got %g", p);
    o.p = p;
  }
  check_magnitude(L, 1, "X", X, o.metric, o.p);
  if (Y != X) check_magnitude(L, ypos, "Y", Y, o.metric, o.p);
  if (o.metric == OT_METRIC_COSINE) {
    check_nonzero(L, 1, "X", X);
    if (Y != X) check_nonzero(L, ypos, "Y", Y);
  }
  bmat *C = bind_newmat(L, X->m.rows, Y->m.rows, "ot.dist");
  bind_progress_ud ud = {L, 0, 0.0, 0};
  o.progress = bind_progress;
  o.progress_ud = &ud;
  int rc = ot_cost_matrix(C->m, X->m, Y->m, &o);
  bind_check_status(L, rc, "ot.dist");
  return 1;
}

/* 1 when every row of the k x 3 matrix P reads as a triplet (i, j, mass)
 * with positive integer indices, j <= m. */
static int looks_like_triplets(ot_mat P, size_t m) {
  for (size_t t = 0; t < P.rows; t++) {
    double i = OT_AT(P, t, 0), j = OT_AT(P, t, 1);
    if (!(i >= 1 && i == floor(i) && j >= 1 && j == floor(j) && j <= (double)m)) return 0;
  }
  return 1;
}

/*
 * ot.barycentric_projection(P, Y [, opts]) -> T (n x d).
 * opts: X (source points, n x d: massless rows stay at X_i), sparse
 * (true: P is k x 3 triplets (i, j, mass) with 1-based indices; false:
 * dense n x m; default: decided from the shapes), n (rows of T for a sparse
 * plan; default X's rows, else the largest row index).
 */
static int cost_barycentric_projection(lua_State *L) {
  static const char *const keys[] = {"X", "sparse", "n", NULL};
  lua_settop(L, 3);
  bmat *P = bind_tomat(L, 1, "P");
  bmat *Y = bind_checkpoints(L, 2, "Y");
  bind_checkopts(L, 3, keys);
  size_t k = P->m.rows, m = Y->m.rows, d = Y->m.cols;
  bmat *X = NULL;
  if (lua_istable(L, 3)) {
    lua_getfield(L, 3, "X"); /* stays on the stack: keeps a converted X alive */
    if (!lua_isnil(L, -1)) {
      X = checkpoints(L, lua_gettop(L), 3, "opts.X");
      if (X->m.cols != d)
        bind_argerror(L, 3, "opts", "X has dimension %zu (%zux%zu) but Y has dimension %zu",
                      X->m.cols, X->m.rows, X->m.cols, d);
    }
  }
  int sparse;
  if (lua_istable(L, 3) && lua_getfield(L, 3, "sparse") != LUA_TNIL) {
    lua_pop(L, 1);
    sparse = bind_optfield_boolean(L, 3, "sparse", 0);
  } else {
    if (lua_istable(L, 3)) lua_pop(L, 1);
    int dense_ok = P->m.cols == m, sparse_ok = P->m.cols == 3;
    if (dense_ok && sparse_ok) sparse_ok = looks_like_triplets(P->m, m);
    if (dense_ok && sparse_ok)
      bind_argerror(L, 1, "P", "a %zux3 P with 3 target points is ambiguous: pass sparse = true "
                    "(triplets i, j, mass) or sparse = false (dense plan)", k);
    sparse = sparse_ok && !dense_ok;
  }
  if (!sparse && P->m.cols != m)
    bind_argerror(L, 1, "P", "a dense plan needs one column per target point: P is %zux%zu, "
                  "Y has %zu points", k, P->m.cols, m);
  if (sparse && P->m.cols != 3)
    bind_argerror(L, 1, "P", "a sparse plan is a kx3 matrix of triplets (i, j, mass), got %zux%zu",
                  k, P->m.cols);
  /* entries: masses finite and >= 0; sparse indices integers within range */
  size_t n = sparse ? 0 : k;
  for (size_t t = 0; t < k; t++) {
    if (sparse) {
      double i = OT_AT(P->m, t, 0), j = OT_AT(P->m, t, 1), w = OT_AT(P->m, t, 2);
      if (!(i >= 1 && i == floor(i) && i <= 9007199254740992.0))
        bind_argerror(L, 1, "P", "triplet %zu: row index %g is not a positive integer", t + 1, i);
      if (!(j >= 1 && j == floor(j) && j <= (double)m))
        bind_argerror(L, 1, "P", "triplet %zu: column index %g is not in 1..%zu (Y's points)",
                      t + 1, j, m);
      if (!isfinite(w) || w < 0)
        bind_argerror(L, 1, "P", "triplet %zu: mass %g must be finite and >= 0", t + 1,
                      isnan(w) ? fabs(w) : w);
      if ((size_t)i > n) n = (size_t)i;
    } else {
      for (size_t j = 0; j < P->m.cols; j++) {
        double w = OT_AT(P->m, t, j);
        if (!isfinite(w) || w < 0)
          bind_argerror(L, 1, "P", "P[%zu,%zu] = %g must be finite and >= 0", t + 1, j + 1,
                        isnan(w) ? fabs(w) : w); /* "nan", never "-nan" */
      }
    }
  }
  if (sparse) {
    size_t nn = X ? X->m.rows : n;
    if (lua_istable(L, 3) && lua_getfield(L, 3, "n") != LUA_TNIL) {
      lua_pop(L, 1);
      lua_Integer v = bind_optfield_integer(L, 3, "n", 0);
      if (v < 1 || (X && (size_t)v != X->m.rows))
        bind_argerror(L, 3, "opts", "n = %lld must be >= 1%s", (long long)v,
                      X ? " and equal to X's number of points" : "");
      nn = (size_t)v;
    } else if (lua_istable(L, 3)) {
      lua_pop(L, 1);
    }
    if (n > nn)
      bind_argerror(L, 1, "P", "row index %zu exceeds the %zu source points", n, nn);
    n = nn;
  } else {
    if (lua_istable(L, 3)) {
      lua_getfield(L, 3, "n");
      if (!lua_isnil(L, -1)) bind_argerror(L, 3, "opts", "option 'n' applies to sparse plans only");
      lua_pop(L, 1);
    }
    if (X && X->m.rows != n)
      bind_argerror(L, 3, "opts", "X has %zu points but P has %zu rows", X->m.rows, n);
  }
  if (n == 0) bind_argerror(L, 1, "P", "empty plan (no source points)");
  bmat *T = bind_newmat(L, n, d, "ot.barycentric_projection");
  ot_mat Xm = X ? X->m : (ot_mat){0, 0, 0, NULL};
  size_t bad = 0;
  int rc = sparse ? ot_barycentric_sparse(T->m, P->m, 1, Y->m, Xm, &bad)
                  : ot_barycentric_dense(T->m, P->m, Y->m, Xm, &bad);
  if (rc == OT_EINVAL)
    bind_argerror(L, 1, "P", "source point %zu receives no mass (row sum 0); pass opts.X to keep "
                  "such points in place", bad + 1);
  bind_check_status(L, rc, "ot.barycentric_projection");
  size_t bi, bj;
  if (!ot_mat_all_finite(T->m, &bi, &bj))
    return luaL_error(L, "ot.barycentric_projection: the weighted sums overflowed (values too "
                      "large); rescale P or Y");
  return 1;
}

static const luaL_Reg cost_funcs[] = {
  {"dist", cost_dist},
  {"barycentric_projection", cost_barycentric_projection},
  {NULL, NULL}
};

bmat *bind_checkcosts(lua_State *L, int arg) {
  bmat *M = bind_tomat(L, arg, "M");
  if (M->m.rows == 0 || M->m.cols == 0)
    bind_argerror(L, arg, "M", "empty cost matrix (%zux%zu)", M->m.rows, M->m.cols);
  size_t bi, bj;
  if (!ot_mat_all_finite(M->m, &bi, &bj)) {
    double v = OT_AT(M->m, bi, bj);
    bind_argerror(L, arg, "M", "M[%zu,%zu] = %s is not finite", bi + 1, bj + 1,
                  isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
  }
  return M;
}

void bind_open_cost(lua_State *L) { luaL_setfuncs(L, cost_funcs, 0); }
