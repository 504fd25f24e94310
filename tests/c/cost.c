/*
 * tests/c/cost.c -- cost matrices against naive loops for every metric
 * (contiguous inputs and views with ld != cols, tiled and untiled, serial
 * and threaded), non-negativity of sqeuclidean, ot_cost_rows against the
 * full matrix, progress cancellation, and the barycentric projection
 * (permutation plans, splits, massless rows, sparse triplets).
 */
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "cost.h"
#include "rand.h"
#include "test.h"

/* Naive reference of one cost, written independently of cost.c. */
static double naive(const double *x, const double *y, size_t d, int metric, double p) {
  double s = 0.0, xx = 0.0, yy = 0.0;
  for (size_t k = 0; k < d; k++) {
    double t = x[k] - y[k];
    switch (metric) {
    case OT_METRIC_SQEUCLIDEAN:
    case OT_METRIC_EUCLIDEAN: s += t * t; break;
    case OT_METRIC_CITYBLOCK: s += fabs(t); break;
    case OT_METRIC_COSINE: s += x[k] * y[k]; xx += x[k] * x[k]; yy += y[k] * y[k]; break;
    default: s = isinf(p) ? fmax(s, fabs(t)) : s + pow(fabs(t), p); break;
    }
  }
  switch (metric) {
  case OT_METRIC_EUCLIDEAN: return sqrt(s);
  case OT_METRIC_COSINE: return 1.0 - s / sqrt(xx * yy);
  case OT_METRIC_MINKOWSKI: return isinf(p) ? s : pow(s, 1.0 / p);
  default: return s;
  }
}

/* Fill the view m with normals scaled by `scale`. */
static void fill(ot_rng *g, ot_mat m, double scale) {
  for (size_t i = 0; i < m.rows; i++)
    for (size_t j = 0; j < m.cols; j++) OT_AT(m, i, j) = scale * ot_rng_normal(g);
}

/* Largest |C - naive| over all entries, relative to max(1, |naive|). */
static double max_err(ot_mat C, ot_mat X, ot_mat Y, int metric, double p) {
  double e = 0.0;
  for (size_t i = 0; i < X.rows; i++)
    for (size_t j = 0; j < Y.rows; j++) {
      double want = naive(X.data + i * X.ld, Y.data + j * Y.ld, X.cols, metric, p);
      double err = fabs(OT_AT(C, i, j) - want) / fmax(1.0, fabs(want));
      if (!(err <= e)) e = err; /* NaN propagates as a failure */
    }
  return e;
}

static int cancel_after_first(void *ud, const ot_progress *p) {
  (void)p;
  (*(int *)ud)++;
  return 1;
}

static void test_metrics(void) {
  ot_rng g;
  ot_rng_seed(&g, 7);
  /* X: 37 x 5 inside a 37 x 8 buffer; Y: 29 x 5 inside a 29 x 6 buffer */
  size_t n = 37, m = 29, d = 5;
  double xb[37 * 8], yb[29 * 6], cb[37 * 31], c2[37 * 29];
  ot_mat X = {n, d, 8, xb}, Y = {m, d, 6, yb}, C = {n, m, 31, cb};
  fill(&g, X, 1.0);
  fill(&g, Y, 1.0);
  struct { int metric; double p; const char *name; } cases[] = {
    {OT_METRIC_SQEUCLIDEAN, 2, "sqeuclidean"}, {OT_METRIC_EUCLIDEAN, 2, "euclidean"},
    {OT_METRIC_CITYBLOCK, 2, "cityblock"}, {OT_METRIC_COSINE, 2, "cosine"},
    {OT_METRIC_MINKOWSKI, 3, "minkowski p=3"}, {OT_METRIC_MINKOWSKI, 1, "minkowski p=1"},
    {OT_METRIC_MINKOWSKI, 2, "minkowski p=2"}, {OT_METRIC_MINKOWSKI, INFINITY, "chebyshev"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    for (int mode = 0; mode < 3; mode++) { /* automatic tiles, 4-row tiles, serial */
      ot_cost_opts o;
      ot_cost_opts_init(&o);
      o.metric = cases[c].metric;
      o.p = cases[c].p;
      o.tile_rows = mode == 1 ? 4 : 0;
      o.serial = mode == 2;
      memset(cb, 0, sizeof cb);
      CHECK(cases[c].name, ot_cost_matrix(C, X, Y, &o) == OT_OK);
      double e = max_err(C, X, Y, o.metric, o.p);
      if (!(e <= 1e-12)) printf("%s mode %d: err %g\n", cases[c].name, mode, e);
      CHECK("cost matrix equals naive loops (1e-12 relative)", e <= 1e-12);
      /* the padding beyond column m is untouched */
      int pad_ok = 1;
      for (size_t i = 0; i < n; i++) pad_ok &= cb[i * 31 + 29] == 0.0 && cb[i * 31 + 30] == 0.0;
      CHECK("ld padding untouched", pad_ok);
      /* rows [5, 23) through ot_cost_rows, with and without precomputed norms */
      double yn[29];
      ot_cost_sqnorms(yn, Y);
      for (int pre = 0; pre < 2; pre++) {
        ot_mat R = {18, m, m, c2};
        CHECK("cost_rows status", ot_cost_rows(R, X, Y, 5, 23, &o, pre ? yn : NULL) == OT_OK);
        double diff = 0.0;
        for (size_t i = 0; i < 18; i++)
          for (size_t j = 0; j < m; j++) diff = fmax(diff, fabs(OT_AT(R, i, j) - OT_AT(C, i + 5, j)));
        CHECK("cost_rows equals the rows of the matrix (1e-12)", diff <= 1e-12);
      }
    }
  }
}

static void test_sqeuclidean_properties(void) {
  ot_rng g;
  ot_rng_seed(&g, 11);
  size_t n = 50, d = 3;
  double xb[50 * 3], cb[50 * 50];
  ot_mat X = ot_mat_view(xb, n, d), C = ot_mat_view(cb, n, n);
  fill(&g, X, 1e3); /* large offsets make the GEMM formula cancel */
  for (size_t i = 0; i < n; i++) OT_AT(X, i, 0) += 1e6;
  CHECK("self cost status", ot_cost_matrix(C, X, X, NULL) == OT_OK);
  int nonneg = 1;
  double diag = 0.0;
  for (size_t i = 0; i < n * n; i++) nonneg &= cb[i] >= 0.0;
  for (size_t i = 0; i < n; i++) diag = fmax(diag, OT_AT(C, i, i));
  CHECK("sqeuclidean is clamped at 0", nonneg);
  CHECK("self distances tiny relative to ||x||^2 = 1e12 (1e-3)", diag <= 1e-3);
  /* ot_cost_pair is exact on the diagonal */
  CHECK("pair cost of a point with itself is 0", ot_cost_pair(xb, xb, d, NULL) == 0.0);
  /* d = 0 and empty sets */
  ot_mat E = {4, 0, 0, xb}, C4 = {4, 4, 4, cb};
  CHECK("d = 0 status", ot_cost_matrix(C4, E, E, NULL) == OT_OK);
  CHECK("d = 0 gives zeros", cb[0] == 0.0 && cb[15] == 0.0);
  ot_mat Z = {0, 3, 3, xb}, C0 = {0, 50, 50, cb};
  CHECK("n = 0 is fine", ot_cost_matrix(C0, Z, X, NULL) == OT_OK);
}

static void test_errors(void) {
  double xb[12] = {1, 2, 3, 4, 5, 6, 0, 0, 0, 1, 1, 1}, cb[64];
  ot_mat X = ot_mat_view(xb, 4, 3), Y2 = ot_mat_view(xb, 6, 2), C = ot_mat_view(cb, 4, 4);
  ot_cost_opts o;
  ot_cost_opts_init(&o);
  CHECK("dimension mismatch", ot_cost_matrix(ot_mat_view(cb, 4, 6), X, Y2, &o) == OT_ESHAPE);
  CHECK("wrong output shape", ot_cost_matrix(ot_mat_view(cb, 4, 5), X, X, &o) == OT_ESHAPE);
  CHECK("bad row range", ot_cost_rows(ot_mat_view(cb, 2, 4), X, X, 3, 5, &o, NULL) == OT_EINVAL);
  o.metric = OT_METRIC_COSINE;
  CHECK("cosine with a zero vector", ot_cost_matrix(C, X, X, &o) == OT_EINVAL);
  CHECK("first zero row", ot_cost_first_zero_row(X) == 2);
  CHECK("cosine pair with zero is NaN", isnan(ot_cost_pair(xb + 6, xb, 3, &o)));
  o.metric = OT_METRIC_MINKOWSKI;
  o.p = 0.5;
  CHECK("minkowski p < 1", ot_cost_matrix(C, X, X, &o) == OT_EINVAL);
  o.metric = 99;
  CHECK("bad metric code", ot_cost_matrix(C, X, X, &o) == OT_EINVAL);
  int met = -1;
  double p = 2;
  CHECK("parse euclidean", ot_cost_metric_parse("euclidean", &met, &p) == OT_OK &&
                               met == OT_METRIC_EUCLIDEAN);
  CHECK("parse chebyshev", ot_cost_metric_parse("chebyshev", &met, &p) == OT_OK &&
                               met == OT_METRIC_MINKOWSKI && isinf(p));
  CHECK("parse unknown", ot_cost_metric_parse("hamming", &met, &p) == OT_EINVAL);
  CHECK("metric name", strcmp(ot_cost_metric_name(OT_METRIC_COSINE), "cosine") == 0);
}

static void test_cancel_and_budget(void) {
  size_t n = 300, d = 4;
  double *x = NULL, *c = NULL;
  CHECK("alloc x", ot_alloc_doubles(n, d, &x) == OT_OK);
  CHECK("alloc c", ot_alloc_doubles(n, n, &c) == OT_OK);
  ot_rng g;
  ot_rng_seed(&g, 3);
  ot_mat X = ot_mat_view(x, n, d), C = ot_mat_view(c, n, n);
  fill(&g, X, 1.0);
  ot_cost_opts o;
  ot_cost_opts_init(&o);
  int calls = 0;
  o.progress = cancel_after_first;
  o.progress_ud = &calls;
  o.tile_rows = 16;
  CHECK("cancel returns OT_ECANCELED", ot_cost_matrix(C, X, X, &o) == OT_ECANCELED);
  CHECK("callback ran once", calls == 1);
  /* scratch allocation failure is reported, nothing leaks */
  size_t used = ot_mem_used();
  ot_mem_fail_after(1);
  ot_cost_opts_init(&o);
  CHECK("scratch failure", ot_cost_matrix(C, X, X, &o) == OT_ENOMEM);
  o.metric = OT_METRIC_CITYBLOCK;
  CHECK("scratch failure (cityblock)", ot_cost_matrix(C, X, X, &o) == OT_ENOMEM);
  ot_mem_fail_after(0);
  CHECK("no leak after failure", ot_mem_used() == used);
  ot_free(x);
  ot_free(c);
}

static void test_barycentric(void) {
  /* permutation plan: T = Y permuted */
  size_t n = 5, d = 2, perm[5] = {3, 0, 4, 1, 2};
  double P[25] = {0}, Y[10], T[10], X[10];
  for (size_t j = 0; j < n; j++) {
    Y[2 * j] = (double)j;
    Y[2 * j + 1] = (double)(j * j);
  }
  for (size_t i = 0; i < n; i++) P[i * n + perm[i]] = 0.2;
  ot_mat Pm = ot_mat_view(P, n, n), Ym = ot_mat_view(Y, n, d), Tm = ot_mat_view(T, n, d);
  ot_mat none = {0, 0, 0, NULL};
  CHECK("dense status", ot_barycentric_dense(Tm, Pm, Ym, none, NULL) == OT_OK);
  int ok = 1;
  for (size_t i = 0; i < n; i++) ok &= fabs(T[2 * i] - Y[2 * perm[i]]) <= 1e-14 && fabs(T[2 * i + 1] - Y[2 * perm[i] + 1]) <= 1e-14;
  CHECK("permutation plan gives permuted Y (1e-14)", ok);
  /* the same as triplets, 1-based */
  double trip[15];
  for (size_t i = 0; i < n; i++) {
    trip[3 * i] = (double)(i + 1);
    trip[3 * i + 1] = (double)(perm[i] + 1);
    trip[3 * i + 2] = 0.2;
  }
  memset(T, 0, sizeof T);
  CHECK("sparse status", ot_barycentric_sparse(Tm, ot_mat_view(trip, n, 3), 1, Ym, none, NULL) == OT_OK);
  ok = 1;
  for (size_t i = 0; i < n; i++) ok &= fabs(T[2 * i] - Y[2 * perm[i]]) <= 1e-14 && fabs(T[2 * i + 1] - Y[2 * perm[i] + 1]) <= 1e-14;
  CHECK("sparse permutation plan gives permuted Y", ok);
  /* a split row: half to point 1, a quarter each to 2 and 4 (0-based 0, 1, 3) */
  memset(P, 0, sizeof P);
  P[0] = 0.1; P[1] = 0.05; P[3] = 0.05;
  P[1 * n + 2] = 0.2;
  CHECK("massless rows without X fail", ot_barycentric_dense(Tm, Pm, Ym, none, NULL) == OT_EINVAL);
  size_t bad = 99;
  ot_barycentric_dense(Tm, Pm, Ym, none, &bad);
  CHECK("the first massless row is reported", bad == 2);
  for (size_t i = 0; i < 10; i++) X[i] = -1.0 - (double)i;
  ot_mat Xm = ot_mat_view(X, n, d);
  CHECK("with X status", ot_barycentric_dense(Tm, Pm, Ym, Xm, NULL) == OT_OK);
  CHECK_NEAR("split row, x", T[0], 0.5 * 0 + 0.25 * 1 + 0.25 * 3, 1e-15);
  CHECK_NEAR("split row, y", T[1], 0.5 * 0 + 0.25 * 1 + 0.25 * 9, 1e-15);
  CHECK("massless rows keep X", T[4] == X[4] && T[9] == X[9]);
  /* sparse, repeated pairs add up, bad index rejected */
  double t2[9] = {1, 2, 0.1, 1, 2, 0.1, 1, 5, 0.2};
  ot_mat T1 = ot_mat_view(T, 1, d);
  CHECK("sparse repeated", ot_barycentric_sparse(T1, ot_mat_view(t2, 3, 3), 1, Ym, none, NULL) == OT_OK);
  CHECK_NEAR("sparse repeated x", T[0], 0.5 * 1 + 0.5 * 4, 1e-15);
  t2[4] = 6;
  CHECK("sparse bad index", ot_barycentric_sparse(T1, ot_mat_view(t2, 3, 3), 1, Ym, none, &bad) == OT_EINVAL && bad == 1);
  CHECK("shape mismatch", ot_barycentric_dense(ot_mat_view(T, 5, 1), Pm, Ym, none, NULL) == OT_ESHAPE);
}

/*
 * Fault injection: fail the N-th and every later allocation for N = 1, 2,
 * ... until the call succeeds; every run must end in OT_OK or OT_ENOMEM
 * with no live memory left behind.
 */
static void test_fault_sweep(void) {
  double xb[40 * 3], yb[30 * 3], cb[40 * 30], tb[40 * 3], pb[40 * 30], trip[6] = {1, 2, 0.5, 3, 1, 0.5};
  ot_rng g;
  ot_rng_seed(&g, 2);
  ot_mat X = ot_mat_view(xb, 40, 3), Y = ot_mat_view(yb, 30, 3), C = ot_mat_view(cb, 40, 30);
  fill(&g, X, 1.0);
  fill(&g, Y, 1.0);
  for (size_t i = 0; i < 40 * 30; i++) pb[i] = 1.0;
  ot_mat none = {0, 0, 0, NULL};
  ot_cost_opts o[3];
  for (int k = 0; k < 3; k++) {
    ot_cost_opts_init(&o[k]);
    o[k].metric = k == 1 ? OT_METRIC_CITYBLOCK : k == 2 ? OT_METRIC_COSINE : OT_METRIC_SQEUCLIDEAN;
  }
  for (int which = 0; which < 6; which++)
    CHECK_FAULT_SWEEP("fault sweep: only OT_OK or OT_ENOMEM, nothing leaked, success reached",
      which <= 2 ? ot_cost_matrix(C, X, Y, &o[which])
      : which == 3 ? ot_cost_rows(ot_mat_view(cb, 10, 30), X, Y, 5, 15, &o[0], NULL)
      : which == 4 ? ot_barycentric_dense(ot_mat_view(tb, 40, 3), ot_mat_view(pb, 40, 30), Y, none, NULL)
      : ot_barycentric_sparse(ot_mat_view(tb, 3, 3), ot_mat_view(trip, 2, 3), 1, Y,
                              ot_mat_view(xb, 3, 3), NULL));
}

int main(void) {
  test_fault_sweep();
  test_metrics();
  test_sqeuclidean_properties();
  test_errors();
  test_cancel_and_budget();
  test_barycentric();
  CHECK("no live memory at the end", ot_mem_used() == 0);
  return test_report();
}
