/*
 * tests/c/sliced.c -- sliced Wasserstein: the 1-D solver against sorting
 * and POT, the sliced distance in 1-D equal to the exact 1-D distance for
 * any direction, goldens against POT 0.8.2 with explicit directions,
 * rotation invariance in distribution, seed determinism, max-sliced,
 * cancellation, bad arguments.
 *
 * Golden values: computed once with /usr/bin/python3 and POT 0.8.2
 * (ot.sliced_wasserstein_distance / ot.max_sliced_wasserstein_distance
 * with projections=theta, n_projections=4; ot.wasserstein_1d) on the
 * formula-generated data below; tests never run Python.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "rand.h"
#include "sliced.h"
#include "test.h"

#define N 7
#define M 5
#define D 3
#define K 4

static double X[N * D], Y[M * D], A[N], B[M], TH[D * K];

/* The data of the goldens (same formulas as the Python that made them). */
static void golden_data(void) {
  double sa = 0, sb = 0;
  for (int i = 1; i <= N; i++) {
    for (int c = 0; c < D; c++) X[(i - 1) * D + c] = sin(0.7 * i + 1.3 * c) + 0.1 * i;
    A[i - 1] = i;
    sa += i;
  }
  for (int j = 1; j <= M; j++) {
    for (int c = 0; c < D; c++) Y[(j - 1) * D + c] = cos(0.4 * j - 0.9 * c) * 1.5;
    B[j - 1] = (double)j * j;
    sb += (double)j * j;
  }
  for (int i = 0; i < N; i++) A[i] /= sa;
  for (int j = 0; j < M; j++) B[j] /= sb;
  for (int c = 0; c < D; c++)
    for (int k = 1; k <= K; k++) TH[c * K + k - 1] = cos(k + 0.5 * c);
}

static double sliced(ot_mat Xm, const double *a, ot_mat Ym, const double *b, ot_mat th,
                     ot_sliced_opts *o, int *rc) {
  double v = NAN;
  *rc = ot_sliced_distance(&v, Xm, a, Ym, b, th, NULL, NULL, o);
  return v;
}

static void test_goldens(void) {
  golden_data();
  ot_mat Xm = ot_mat_view(X, N, D), Ym = ot_mat_view(Y, M, D), th = ot_mat_view(TH, D, K);
  /* p: uniform, weighted, max (weighted) */
  const double want[3][3] = {
    {0.9055843238469455, 0.813522221536622, 1.4334402491124034},
    {1.176440005211966, 1.0126740652612523, 1.542429473287023},
    {1.3419463901778224, 1.1563532231877849, 1.6169654001675193},
  };
  for (int pi = 0; pi < 3; pi++) {
    ot_sliced_opts o;
    ot_sliced_opts_init(&o);
    o.p = pi + 1;
    int rc;
    CHECK_NEAR("POT golden, uniform (1e-12)", sliced(Xm, NULL, Ym, NULL, th, &o, &rc), want[pi][0], 1e-12);
    CHECK("status", rc == OT_OK);
    CHECK_NEAR("POT golden, weighted (1e-12)", sliced(Xm, A, Ym, B, th, &o, &rc), want[pi][1], 1e-12);
    o.max = 1;
    CHECK_NEAR("POT golden, max-sliced (1e-12)", sliced(Xm, A, Ym, B, th, &o, &rc), want[pi][2], 1e-12);
  }
  /* the 1-D solver against POT's wasserstein_1d (W_2^2) */
  double x[N], y[M], w = NAN;
  for (int i = 0; i < N; i++) x[i] = X[i * D];
  for (int j = 0; j < M; j++) y[j] = Y[j * D];
  CHECK("1-D status", ot_sliced_wasserstein_1d(&w, x, A, N, y, B, M, 2.0) == OT_OK);
  CHECK_NEAR("1-D against POT's wasserstein_1d (1e-14)", w, 0.16261926108730654, 1e-14);
}

/* Equal sizes, uniform weights: W_p^p = mean |x_(i) - y_(i)|^p after sorting. */
static void test_1d_against_sorting(void) {
  ot_rng g;
  ot_rng_seed(&g, 5);
  double x[64], y[64], xs[64], ys[64];
  for (int i = 0; i < 64; i++) x[i] = xs[i] = ot_rng_normal(&g), y[i] = ys[i] = 3 * ot_rng_uniform(&g);
  for (int i = 1; i < 64; i++) /* insertion sorts, independent of the solver */
    for (int j = i; j > 0 && xs[j - 1] > xs[j]; j--) {
      double t = xs[j]; xs[j] = xs[j - 1]; xs[j - 1] = t;
    }
  for (int i = 1; i < 64; i++)
    for (int j = i; j > 0 && ys[j - 1] > ys[j]; j--) {
      double t = ys[j]; ys[j] = ys[j - 1]; ys[j - 1] = t;
    }
  for (double p = 1; p <= 3; p += 0.5) {
    double want = 0, w = NAN;
    for (int i = 0; i < 64; i++) want += pow(fabs(xs[i] - ys[i]), p) / 64;
    CHECK("1-D status", ot_sliced_wasserstein_1d(&w, x, NULL, 64, y, NULL, 64, p) == OT_OK);
    CHECK_NEAR("1-D equals sorted pairing (1e-13 relative)", w / want, 1.0, 1e-13);
    /* in dimension 1, every direction is +-1: the sliced distance is exact */
    ot_sliced_opts o;
    ot_sliced_opts_init(&o);
    ot_rng r;
    ot_rng_seed(&r, 9);
    o.rng = &r;
    o.p = p;
    o.n_projections = 7;
    int rc;
    double sw = sliced(ot_mat_view(x, 64, 1), NULL, ot_mat_view(y, 64, 1), NULL,
                       (ot_mat){0, 0, 0, NULL}, &o, &rc);
    CHECK_NEAR("sliced in 1-D = exact 1-D distance (1e-13 relative)", pow(sw, p) / want, 1.0, 1e-13);
  }
  /* two Diracs: |x - y| whatever the weights; zero weights are valid */
  double a2[3] = {0.5, 0.0, 0.5}, x2[3] = {1, 100, 1}, y2[1] = {4}, w = 0;
  CHECK("zero weights", ot_sliced_wasserstein_1d(&w, x2, a2, 3, y2, NULL, 1, 1.0) == OT_OK);
  CHECK_NEAR("zero-weight point ignored", w, 3.0, 1e-15);
}

static int cmp_double(const void *p, const void *q) {
  double a = *(const double *)p, b = *(const double *)q;
  return (a > b) - (a < b);
}

/* Larger sets with many ties (values rounded to a few levels) and sorted
 * or reversed inputs: the solver's own sort against libc's qsort. */
static void test_1d_sort_stress(void) {
  ot_rng g;
  ot_rng_seed(&g, 77);
  size_t n = 3000;
  double *x = NULL, *y = NULL, *xs = NULL, *ys = NULL;
  ot_alloc_doubles(n, 1, &x);
  ot_alloc_doubles(n, 1, &y);
  ot_alloc_doubles(n, 1, &xs);
  ot_alloc_doubles(n, 1, &ys);
  for (int kind = 0; kind < 4; kind++) {
    for (size_t i = 0; i < n; i++) {
      double u = ot_rng_uniform(&g), v = ot_rng_normal(&g);
      switch (kind) {
      case 0: x[i] = floor(5 * u); y[i] = floor(3 * v); break;          /* heavy ties */
      case 1: x[i] = (double)i; y[i] = (double)(n - i); break;           /* sorted, reversed */
      case 2: x[i] = 1.0; y[i] = (double)(i % 2); break;                 /* constant, two levels */
      default: x[i] = v; y[i] = u * 4 - 2; break;
      }
      xs[i] = x[i];
      ys[i] = y[i];
    }
    qsort(xs, n, sizeof *xs, cmp_double);
    qsort(ys, n, sizeof *ys, cmp_double);
    double want = 0.0, w = NAN;
    for (size_t i = 0; i < n; i++) want += (xs[i] - ys[i]) * (xs[i] - ys[i]) / (double)n;
    CHECK("1-D status (stress)", ot_sliced_wasserstein_1d(&w, x, NULL, n, y, NULL, n, 2.0) == OT_OK);
    CHECK_NEAR("1-D sort stress: equals qsort pairing (1e-12 relative)", w, want, 1e-12 * fmax(1.0, want));
  }
  ot_free(x);
  ot_free(y);
  ot_free(xs);
  ot_free(ys);
}

static int cancel(void *ud, const ot_progress *p) {
  (void)p;
  (*(int *)ud)++;
  return 1;
}

static void test_random(void) {
  ot_rng g;
  ot_rng_seed(&g, 31);
  size_t n = 300, m = 200, d = 4;
  double *x = NULL, *y = NULL, *xr = NULL;
  ot_alloc_doubles(n, d, &x);
  ot_alloc_doubles(m, d, &y);
  ot_alloc_doubles(n, d, &xr);
  for (size_t i = 0; i < n * d; i++) x[i] = ot_rng_normal(&g) * (1 + (double)(i % d));
  for (size_t i = 0; i < m * d; i++) y[i] = ot_rng_normal(&g) + 2.0;
  ot_mat Xm = ot_mat_view(x, n, d), Ym = ot_mat_view(y, m, d), none = {0, 0, 0, NULL};
  ot_sliced_opts o;
  ot_sliced_opts_init(&o);
  ot_rng r;
  o.rng = &r;
  int rc;
  /* seed determinism */
  ot_rng_seed(&r, 42);
  double s1 = sliced(Xm, NULL, Ym, NULL, none, &o, &rc);
  ot_rng_seed(&r, 42);
  double s2 = sliced(Xm, NULL, Ym, NULL, none, &o, &rc);
  CHECK("same seed, same value (bitwise)", s1 == s2 && rc == OT_OK);
  double s3 = sliced(Xm, NULL, Ym, NULL, none, &o, &rc);
  CHECK("the generator moved on", s3 != s1);
  /* rotation invariance in distribution: rotate both clouds, many directions */
  double c = cos(0.7), s = sin(0.7);
  for (size_t i = 0; i < n; i++) {
    memcpy(xr + i * d, x + i * d, d * sizeof *x);
    xr[i * d] = c * x[i * d] - s * x[i * d + 1];
    xr[i * d + 1] = s * x[i * d] + c * x[i * d + 1];
  }
  double *yr = NULL;
  ot_alloc_doubles(m, d, &yr);
  for (size_t j = 0; j < m; j++) {
    memcpy(yr + j * d, y + j * d, d * sizeof *y);
    yr[j * d] = c * y[j * d] - s * y[j * d + 1];
    yr[j * d + 1] = s * y[j * d] + c * y[j * d + 1];
  }
  o.n_projections = 4000;
  ot_rng_seed(&r, 1);
  double a = sliced(Xm, NULL, Ym, NULL, none, &o, &rc);
  ot_rng_seed(&r, 2);
  double b = sliced(ot_mat_view(xr, n, d), NULL, ot_mat_view(yr, m, d), NULL, none, &o, &rc);
  CHECK_NEAR("rotation invariance in distribution (2% relative, 4000 directions)", b / a, 1.0, 0.02);
  /* per-projection values and directions come back; unit directions */
  double per[16], dirs[4 * 16];
  o.n_projections = 16;
  double v = NAN;
  CHECK("status with outputs", ot_sliced_distance(&v, Xm, NULL, Ym, NULL, none, per, dirs, &o) == OT_OK);
  double mean = 0, unit = 0;
  for (int k = 0; k < 16; k++) {
    mean += per[k] / 16;
    double nn = 0;
    for (size_t cc = 0; cc < d; cc++) nn += dirs[cc * 16 + k] * dirs[cc * 16 + k];
    unit = fmax(unit, fabs(nn - 1));
  }
  CHECK_NEAR("value = sqrt(mean of per-projection W2^2)", v, sqrt(mean), 1e-14);
  CHECK("directions are unit vectors", unit < 1e-14);
  /* cancellation */
  int calls = 0;
  o.progress = cancel;
  o.progress_ud = &calls;
  CHECK("cancel", ot_sliced_distance(&v, Xm, NULL, Ym, NULL, none, NULL, NULL, &o) == OT_ECANCELED);
  CHECK("callback once", calls == 1);
  o.progress = NULL;
  /* errors */
  CHECK("dimension mismatch", ot_sliced_distance(&v, Xm, NULL, ot_mat_view(y, m, 3), NULL, none,
                                                 NULL, NULL, &o) == OT_ESHAPE);
  CHECK("empty", ot_sliced_distance(&v, ot_mat_view(x, 0, d), NULL, Ym, NULL, none, NULL, NULL,
                                    &o) == OT_EINVAL);
  o.p = 0;
  CHECK("p = 0", ot_sliced_distance(&v, Xm, NULL, Ym, NULL, none, NULL, NULL, &o) == OT_EINVAL);
  o.p = 2;
  o.rng = NULL;
  CHECK("no generator", ot_sliced_distance(&v, Xm, NULL, Ym, NULL, none, NULL, NULL, &o) == OT_EINVAL);
  /* one point each: |<theta, x - y>| for each direction */
  double th1[2] = {0.6, 0.8}, p1[2] = {0, 0}, q1[2] = {3, 4};
  CHECK_NEAR("one-point datasets", sliced(ot_mat_view(p1, 1, 2), NULL, ot_mat_view(q1, 1, 2), NULL,
                                           ot_mat_view(th1, 2, 1), &o, &rc), 5.0, 1e-15);
  ot_free(x);
  ot_free(y);
  ot_free(xr);
  ot_free(yr);
}

/* Fault injection over both entry points: OT_OK or OT_ENOMEM, no leak. */
/* One sliced distance on the golden data with a generator seeded afresh. */
static int sliced_seeded(ot_mat Xm, ot_mat Ym, ot_mat none) {
  ot_sliced_opts o;
  ot_sliced_opts_init(&o);
  ot_rng r;
  ot_rng_seed(&r, 1);
  o.rng = &r;
  double v;
  return ot_sliced_distance(&v, Xm, A, Ym, B, none, NULL, NULL, &o);
}

static void test_fault_sweep(void) {
  golden_data();
  ot_mat Xm = ot_mat_view(X, N, D), Ym = ot_mat_view(Y, M, D), none = {0, 0, 0, NULL};
  CHECK_FAULT_SWEEP("fault sweep: only OT_OK or OT_ENOMEM, nothing leaked, success reached",
                    sliced_seeded(Xm, Ym, none));
  double v;
  CHECK_FAULT_SWEEP("fault sweep: only OT_OK or OT_ENOMEM, nothing leaked, success reached",
                    ot_sliced_wasserstein_1d(&v, X, A, N, Y, B, M, 2.0));
}

int main(void) {
  test_fault_sweep();
  test_goldens();
  test_1d_against_sorting();
  test_1d_sort_stress();
  test_random();
  CHECK("no live memory at the end", ot_mem_used() == 0);
  return test_report();
}
