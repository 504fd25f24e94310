/*
 * tests/c/emd.c -- the network simplex and the 1-D solvers.
 *
 * Tolerances (stated per check): marginals within 1e-12 * (n + m) of the
 * weights, duality gap |cost - dual| <= 1e-9 * max(|cost|, 1e-300) + 1e-15,
 * reduced costs C_ij - u_i - v_j >= -1e-9 * max|C|, golden values from POT
 * to 1e-9 relative.  Random instances are seeded; a failure prints the seed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "assign.h"
#include "emd.h"
#include "rand.h"
#include "test.h"

/* Everything a solve returns, in one place. */
typedef struct sol {
  size_t n, m, nnz;
  size_t *pi, *pj;
  double *mass, *u, *v;
  ot_emd_result res;
  int rc;
} sol;

static void sol_free(sol *s) {
  free(s->pi);
  free(s->pj);
  free(s->mass);
  free(s->u);
  free(s->v);
  memset(s, 0, sizeof *s);
}

static sol solve(const ot_emd_problem *p, const ot_emd_opts *o) {
  sol s;
  memset(&s, 0, sizeof s);
  s.n = p->n;
  s.m = p->m;
  size_t cap = p->n + p->m;
  s.pi = malloc(cap * sizeof *s.pi);
  s.pj = malloc(cap * sizeof *s.pj);
  s.mass = malloc(cap * sizeof *s.mass);
  s.u = malloc((p->n + 1) * sizeof *s.u);
  s.v = malloc((p->m + 1) * sizeof *s.v);
  s.rc = ot_emd_solve(p, o, s.pi, s.pj, s.mass, s.u, s.v, &s.res);
  s.nnz = s.res.nnz;
  return s;
}

/* Cost of (i, j) in problem p (matrix or squared Euclidean points). */
static double pcost(const ot_emd_problem *p, size_t i, size_t j) {
  if (p->C.data) return OT_AT(p->C, i, j);
  double c = 0;
  for (size_t t = 0; t < p->X.cols; t++) {
    double d = OT_AT(p->X, i, t) - OT_AT(p->Y, j, t);
    c += d * d;
  }
  return c;
}

/*
 * The optimality certificate of a solution: marginals, duality gap,
 * reduced costs, complementary slackness, sparsity.  Returns the number
 * of failed checks (each also reported with `seed`).
 */
static int certify(const ot_emd_problem *p, const sol *s, unsigned long seed) {
  int before = test_failed;
  size_t n = p->n, m = p->m;
  double sa = 0, sb = 0, scale = 0;
  for (size_t i = 0; i < n; i++) sa += p->a[i];
  for (size_t j = 0; j < m; j++) sb += p->b[j];
  double *row = calloc(n, sizeof *row), *colm = calloc(m, sizeof *colm);
  double cost = 0;
  for (size_t k = 0; k < s->nnz; k++) {
    row[s->pi[k]] += s->mass[k];
    colm[s->pj[k]] += s->mass[k];
    cost += s->mass[k] * pcost(p, s->pi[k], s->pj[k]);
    if (!(s->mass[k] > 0)) CHECK("plan entries are positive", 0);
    if (fabs(pcost(p, s->pi[k], s->pj[k]) - s->u[s->pi[k]] - s->v[s->pj[k]]) > 1e-9 * (1 + fabs(s->u[s->pi[k]])))
      CHECK("complementary slackness on the support", 0);
  }
  double merr = 0;
  for (size_t i = 0; i < n; i++) merr = fmax(merr, fabs(row[i] - p->a[i]));
  for (size_t j = 0; j < m; j++) merr = fmax(merr, fabs(colm[j] - p->b[j] * sa / sb));
  double minrc = INFINITY, dual = 0;
  for (size_t i = 0; i < n; i++) {
    dual += p->a[i] * s->u[i];
    for (size_t j = 0; j < m; j++) {
      double c = pcost(p, i, j);
      scale = fmax(scale, fabs(c));
      minrc = fmin(minrc, c - s->u[i] - s->v[j]);
    }
  }
  for (size_t j = 0; j < m; j++) dual += p->b[j] * sa / sb * s->v[j];
  if (scale == 0) scale = 1;
  CHECK("status optimal", s->rc == OT_OK && s->res.status == OT_EMD_OPTIMAL);
  CHECK("at most n + m - 1 entries", s->nnz <= n + m - 1);
  CHECK("marginals within 1e-12 (n + m)", merr <= 1e-12 * (double)(n + m) * fmax(sa, 1e-300));
  CHECK("reduced costs >= -1e-9 max|C|", minrc >= -1e-9 * scale);
  CHECK("duality gap <= 1e-9 relative", fabs(cost - dual) <= 1e-9 * fabs(cost) + 1e-15 * scale);
  CHECK("reported cost is the plan's", fabs(cost - s->res.cost) <= 1e-12 * fabs(cost) + 1e-300);
  CHECK("reported err", s->res.err <= 1e-12 * (double)(n + m) * sa);
  free(row);
  free(colm);
  if (test_failed != before)
    printf("  (seed %lu, n = %zu, m = %zu, merr %g, minrc %g, gap %g)\n", seed, n, m, merr, minrc,
           cost - dual);
  return test_failed - before;
}

/* The instance of tests/c golden values: identical formulas in the Python
 * script that produced them (POT 0.8.2, ot.emd2 on M = sum (x - y)^2). */
static void golden_instance(size_t n, size_t m, size_t d, double *X, double *Y, double *a,
                            double *b, double *M) {
  double sa = 0, sb = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t t = 0; t < d; t++)
      X[i * d + t] = fmod((double)(i + 1) * 0.7548776662 + (double)(t + 1) * 0.5698402910, 1.0);
    a[i] = 1.0 + fmod((double)i, 3.0);
    sa += a[i];
  }
  for (size_t j = 0; j < m; j++) {
    for (size_t t = 0; t < d; t++)
      Y[j * d + t] = fmod((double)(j + 1) * 0.4142135624 + (double)(t + 1) * 0.3183098862, 1.0);
    b[j] = 1.0 + 0.5 * fmod((double)j, 4.0);
    sb += b[j];
  }
  for (size_t i = 0; i < n; i++) a[i] /= sa;
  for (size_t j = 0; j < m; j++) b[j] /= sb;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++) {
      double c = 0;
      for (size_t t = 0; t < d; t++) {
        double diff = X[i * d + t] - Y[j * d + t];
        c += diff * diff;
      }
      M[i * m + j] = c;
    }
}

static void test_golden(void) {
  /* python3: print(repr(float(ot.emd2(a, b, M)))) with POT 0.8.2 */
  static const struct { size_t n, m, d; double want; } g[] = {
      {7, 9, 2, 0.0718032226775297},
      {20, 15, 3, 0.218475313145859},
      {50, 50, 2, 0.09076480894651477},
      {64, 40, 5, 0.41435618881446945},
  };
  for (size_t k = 0; k < sizeof g / sizeof *g; k++) {
    size_t n = g[k].n, m = g[k].m, d = g[k].d;
    double *X = malloc(n * d * sizeof *X), *Y = malloc(m * d * sizeof *Y);
    double *a = malloc(n * sizeof *a), *b = malloc(m * sizeof *b), *M = malloc(n * m * sizeof *M);
    golden_instance(n, m, d, X, Y, a, b, M);
    ot_emd_problem p = {n, m, a, b, ot_mat_view(M, n, m), {0}, {0}};
    sol s = solve(&p, NULL);
    certify(&p, &s, k);
    CHECK_NEAR("golden value vs POT (matrix)", s.res.cost, g[k].want, 1e-9 * g[k].want);
    sol_free(&s);
    ot_emd_problem q = {n, m, a, b, {0}, ot_mat_view(X, n, d), ot_mat_view(Y, m, d)};
    s = solve(&q, NULL);
    certify(&q, &s, k);
    CHECK_NEAR("golden value vs POT (points)", s.res.cost, g[k].want, 1e-9 * g[k].want);
    sol_free(&s);
    free(X), free(Y), free(a), free(b), free(M);
  }
}

/*
 * Seeded random instances: sizes 1..14, weights with zeros now and then,
 * integer costs (heavily degenerate) or uniform ones, matrix and points.
 */
static void test_random(void) {
  ot_rng r;
  for (unsigned long seed = 1; seed <= 300; seed++) {
    ot_rng_seed(&r, seed);
    size_t n = 1 + (size_t)ot_rng_below(&r, 14), m = 1 + (size_t)ot_rng_below(&r, 14);
    size_t d = 1 + (size_t)ot_rng_below(&r, 3);
    double *a = malloc(n * sizeof *a), *b = malloc(m * sizeof *b);
    double *M = malloc(n * m * sizeof *M), *X = malloc(n * d * sizeof *X), *Y = malloc(m * d * sizeof *Y);
    int integer = seed % 3 == 0, zeros = seed % 4 == 0;
    double sa = 0, sb = 0;
    for (size_t i = 0; i < n; i++) {
      a[i] = integer ? (double)(1 + ot_rng_below(&r, 4)) : ot_rng_uniform(&r);
      if (zeros && ot_rng_below(&r, 3) == 0) a[i] = 0;
      sa += a[i];
    }
    if (sa == 0) a[0] = sa = 1;
    for (size_t j = 0; j < m; j++) {
      b[j] = integer ? (double)(1 + ot_rng_below(&r, 4)) : ot_rng_uniform(&r);
      if (zeros && ot_rng_below(&r, 3) == 0) b[j] = 0;
      sb += b[j];
    }
    if (sb == 0) b[0] = sb = 1;
    for (size_t i = 0; i < n; i++) a[i] /= sa;
    for (size_t j = 0; j < m; j++) b[j] /= sb;
    for (size_t k = 0; k < n * m; k++)
      M[k] = integer ? (double)ot_rng_below(&r, 5) : ot_rng_normal(&r);
    for (size_t k = 0; k < n * d; k++) X[k] = integer ? (double)ot_rng_below(&r, 3) : ot_rng_uniform(&r);
    for (size_t k = 0; k < m * d; k++) Y[k] = integer ? (double)ot_rng_below(&r, 3) : ot_rng_uniform(&r);

    ot_emd_problem p = {n, m, a, b, ot_mat_view(M, n, m), {0}, {0}};
    sol s = solve(&p, NULL);
    certify(&p, &s, seed);
    /* Symmetry: W(a, b, C) = W(b, a, C^T). */
    double *Mt = malloc(n * m * sizeof *Mt);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < m; j++) Mt[j * n + i] = M[i * m + j];
    ot_emd_problem pt = {m, n, b, a, ot_mat_view(Mt, m, n), {0}, {0}};
    sol st = solve(&pt, NULL);
    if (fabs(st.res.cost - s.res.cost) > 1e-10 * (1 + fabs(s.res.cost))) {
      CHECK("symmetry W(a,b,C) = W(b,a,C^T)", 0);
      printf("  (seed %lu)\n", seed);
    }
    sol_free(&st);
    sol_free(&s);
    free(Mt);

    ot_emd_problem q = {n, m, a, b, {0}, ot_mat_view(X, n, d), ot_mat_view(Y, m, d)};
    s = solve(&q, NULL);
    certify(&q, &s, seed);
    sol_free(&s);
    free(a), free(b), free(M), free(X), free(Y);
  }
}

/* A progress callback that counts its calls and stops at the first. */
static int cancel_cb(void *ud, const ot_progress *pr) {
  (*(long *)ud)++;
  return pr->iter >= 0; /* stop at once */
}

/* Medium instances (matrix and points agree, certificate holds). */
static void test_medium(void) {
  ot_rng r;
  ot_rng_seed(&r, 2024);
  size_t n = 150, m = 120, d = 3;
  double *a = malloc(n * sizeof *a), *b = malloc(m * sizeof *b), *M = malloc(n * m * sizeof *M);
  double *X = malloc(n * d * sizeof *X), *Y = malloc(m * d * sizeof *Y);
  for (size_t i = 0; i < n; i++) a[i] = 1.0 / (double)n;
  for (size_t j = 0; j < m; j++) b[j] = 1.0 / (double)m;
  for (size_t k = 0; k < n * d; k++) X[k] = ot_rng_uniform(&r);
  for (size_t k = 0; k < m * d; k++) Y[k] = ot_rng_uniform(&r);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++) {
      double c = 0;
      for (size_t t = 0; t < d; t++) c += (X[i * d + t] - Y[j * d + t]) * (X[i * d + t] - Y[j * d + t]);
      M[i * m + j] = c;
    }
  ot_emd_problem p = {n, m, a, b, ot_mat_view(M, n, m), {0}, {0}};
  ot_emd_problem q = {n, m, a, b, {0}, ot_mat_view(X, n, d), ot_mat_view(Y, m, d)};
  sol s1 = solve(&p, NULL), s2 = solve(&q, NULL);
  certify(&p, &s1, 2024);
  certify(&q, &s2, 2024);
  CHECK_NEAR("matrix and points agree", s1.res.cost, s2.res.cost, 1e-12);
  CHECK("min_rc reported", s1.res.min_rc >= -1e-9);
  /* Progress: canceled on the first call. */
  ot_emd_opts o;
  ot_emd_opts_init(&o);
  o.interval = 0;
  long calls = 0;
  o.progress = cancel_cb;
  o.progress_ud = &calls;
  sol s3 = solve(&p, &o);
  CHECK("cancel returns OT_ECANCELED", s3.rc == OT_ECANCELED);
  CHECK("cancel status", s3.res.status == OT_EMD_CANCELED);
  CHECK("callback called once", calls == 1);
  CHECK("cancel stops early", s3.res.iterations < s1.res.iterations);
  sol_free(&s3);
  /* Iteration cap: reported, not an error. */
  ot_emd_opts_init(&o);
  o.max_iter = 10;
  s3 = solve(&p, &o);
  CHECK("max_iter: rc OK", s3.rc == OT_OK);
  CHECK("max_iter: status", s3.res.status == OT_EMD_MAX_ITER && s3.res.iterations == 10);
  sol_free(&s3);
  /* Small blocks give the same optimum. */
  ot_emd_opts_init(&o);
  o.block = 7;
  s3 = solve(&p, &o);
  certify(&p, &s3, 7);
  CHECK_NEAR("block size does not change the optimum", s3.res.cost, s1.res.cost, 1e-12);
  sol_free(&s3);
  /* Against the assignment solver on the square part. */
  ot_mat Ms = {m, m, m, M};
  size_t *sig = malloc(m * sizeof *sig);
  double *u = malloc(m * sizeof *u), *v = malloc(m * sizeof *v), total;
  CHECK("assign ok", ot_assign_solve(Ms, NULL, sig, u, v, &total) == OT_OK);
  ot_emd_problem ps = {m, m, b, b, Ms, {0}, {0}};
  sol s4 = solve(&ps, NULL);
  CHECK_NEAR("emd = assign / n on a square uniform instance", s4.res.cost, total / (double)m, 1e-12);
  sol_free(&s4);
  free(sig), free(u), free(v);
  sol_free(&s1);
  sol_free(&s2);
  free(a), free(b), free(M), free(X), free(Y);
}

/* A permutation instance: C_ij = 0 on a permutation, > 0 elsewhere. */
static void test_permutation(void) {
  size_t n = 40;
  double *M = malloc(n * n * sizeof *M), *a = malloc(n * sizeof *a);
  size_t perm[40];
  ot_rng r;
  ot_rng_seed(&r, 5);
  ot_rng_permutation(&r, perm, n);
  for (size_t i = 0; i < n; i++) {
    a[i] = 1.0 / (double)n;
    for (size_t j = 0; j < n; j++) M[i * n + j] = j == perm[i] ? 0.0 : 1.0 + ot_rng_uniform(&r);
  }
  ot_emd_problem p = {n, n, a, a, ot_mat_view(M, n, n), {0}, {0}};
  sol s = solve(&p, NULL);
  certify(&p, &s, 5);
  int ok = s.nnz == n;
  for (size_t k = 0; k < s.nnz && ok; k++) ok = s.pj[k] == perm[s.pi[k]] && s.mass[k] == a[0];
  CHECK("permutation instance: the permutation plan", ok);
  CHECK("permutation instance: cost 0", s.res.cost == 0);
  sol_free(&s);
  /* Identity: points against themselves. */
  double X[30];
  for (size_t k = 0; k < 30; k++) X[k] = ot_rng_uniform(&r);
  ot_emd_problem q = {10, 10, a, a, {0}, ot_mat_view(X, 10, 3), ot_mat_view(X, 10, 3)};
  for (size_t k = 0; k < 10; k++) a[k] = 0.1;
  s = solve(&q, NULL);
  ok = s.nnz == 10;
  for (size_t k = 0; k < s.nnz && ok; k++) ok = s.pi[k] == s.pj[k];
  CHECK("X against X: identity plan", ok && s.res.cost == 0);
  sol_free(&s);
  free(M), free(a);
}

/* 1-D: the simplex, ot_emd_1d and ot_emd_wasserstein_1d against sorting. */
static int cmpd(const void *x, const void *y) {
  double p = *(const double *)x, q = *(const double *)y;
  return (p > q) - (p < q);
}

static void test_1d(void) {
  ot_rng r;
  ot_rng_seed(&r, 11);
  size_t n = 60;
  double x[60], y[60], xs[60], ys[60], M[3600], a[60];
  for (size_t i = 0; i < n; i++) {
    xs[i] = x[i] = ot_rng_normal(&r);
    ys[i] = y[i] = 2 + 0.5 * ot_rng_normal(&r);
    a[i] = 1.0 / (double)n;
  }
  qsort(xs, n, sizeof *xs, cmpd);
  qsort(ys, n, sizeof *ys, cmpd);
  double w2 = 0, w1 = 0, w3 = 0;
  for (size_t i = 0; i < n; i++) {
    double g = fabs(xs[i] - ys[i]);
    w1 += g / (double)n;
    w2 += g * g / (double)n;
    w3 += g * g * g / (double)n;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) M[i * n + j] = (x[i] - y[j]) * (x[i] - y[j]);
  ot_emd_problem p = {n, n, a, a, ot_mat_view(M, n, n), {0}, {0}};
  sol s = solve(&p, NULL);
  CHECK_NEAR("simplex = sorted closed form (W2^2)", s.res.cost, w2, 1e-12 * w2);
  sol_free(&s);
  size_t pi[119], pj[119], nnz;
  double mass[119], c;
  CHECK("emd_1d ok", ot_emd_1d(x, n, y, n, NULL, NULL, OT_EMD1D_SQEUCLIDEAN, 1, pi, pj, mass, &nnz, &c) == OT_OK);
  CHECK_NEAR("emd_1d sqeuclidean = sorted closed form", c, w2, 1e-12 * w2);
  CHECK("emd_1d: n entries (uniform, equal sizes)", nnz == n);
  CHECK("emd_1d euclidean", ot_emd_1d(x, n, y, n, a, a, OT_EMD1D_EUCLIDEAN, 1, NULL, NULL, NULL, &nnz, &c) == OT_OK);
  CHECK_NEAR("emd_1d euclidean = W1", c, w1, 1e-12 * w1);
  CHECK("wasserstein_1d p=3", ot_emd_wasserstein_1d(x, n, y, n, NULL, NULL, 3, &c) == OT_OK);
  CHECK_NEAR("wasserstein_1d = W3^3", c, w3, 1e-12 * w3);
  CHECK("wasserstein_1d p < 1", ot_emd_wasserstein_1d(x, n, y, n, NULL, NULL, 0.5, &c) == OT_EINVAL);
  /* Unequal sizes and weights: 1-D against the simplex. */
  double b[25], yy[25], M2[60 * 25];
  double sb = 0;
  for (size_t j = 0; j < 25; j++) {
    yy[j] = ot_rng_uniform(&r) * 3;
    b[j] = j % 5 == 0 ? 0 : ot_rng_uniform(&r);
    sb += b[j];
  }
  for (size_t j = 0; j < 25; j++) b[j] /= sb;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < 25; j++) M2[i * 25 + j] = fabs(x[i] - yy[j]) * fabs(x[i] - yy[j]) * fabs(x[i] - yy[j]);
  ot_emd_problem q = {n, 25, a, b, ot_mat_view(M2, n, 25), {0}, {0}};
  s = solve(&q, NULL);
  CHECK("emd_1d minkowski 3", ot_emd_1d(x, n, yy, 25, a, b, OT_EMD1D_MINKOWSKI, 3, pi, pj, mass, &nnz, &c) == OT_OK);
  CHECK_NEAR("emd_1d |x-y|^3 = simplex", c, s.res.cost, 1e-11 * s.res.cost);
  CHECK("emd_1d at most n + m - 1 entries", nnz <= n + 25 - 1);
  double rows[60] = {0}, cols[25] = {0};
  for (size_t k = 0; k < nnz; k++) {
    rows[pi[k]] += mass[k];
    cols[pj[k]] += mass[k];
  }
  double merr = 0;
  for (size_t i = 0; i < n; i++) merr = fmax(merr, fabs(rows[i] - a[i]));
  for (size_t j = 0; j < 25; j++) merr = fmax(merr, fabs(cols[j] - b[j]));
  CHECK("emd_1d marginals", merr <= 1e-13);
  CHECK("emd_1d wasserstein agree", ot_emd_wasserstein_1d(x, n, yy, 25, a, b, 3, &c) == OT_OK &&
                                        fabs(c - s.res.cost) <= 1e-11 * c + 1e-300);
  sol_free(&s);
}

/* Bad arguments and one-point problems. */
static void test_bad(void) {
  double a[3] = {0.5, 0.5, 0}, b[2] = {0.5, 0.5}, M[6] = {1, 2, 3, 4, 5, 6};
  ot_emd_result res;
  ot_emd_problem p = {3, 2, a, b, ot_mat_view(M, 3, 2), {0}, {0}};
  CHECK("zero weight ok", ot_emd_solve(&p, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_OK);
  a[0] = -0.5;
  CHECK("negative weight", ot_emd_solve(&p, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_EINVAL);
  a[0] = NAN;
  CHECK("NaN weight", ot_emd_solve(&p, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_EINVAL);
  a[0] = INFINITY;
  CHECK("Inf weight", ot_emd_solve(&p, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_EINVAL);
  a[0] = 0.7;
  CHECK("unequal sums", ot_emd_solve(&p, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_EINVAL);
  a[0] = a[1] = 0;
  CHECK("all zero", ot_emd_solve(&p, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_EINVAL);
  a[0] = a[1] = 0.5;
  p.C = ot_mat_view(M, 2, 3);
  CHECK("shape mismatch", ot_emd_solve(&p, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_ESHAPE);
  p.n = 0;
  CHECK("empty", ot_emd_solve(&p, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_EINVAL);
  double X[2] = {0, 1}, Y[2] = {3, 4};
  ot_emd_problem q = {2, 1, b, b, {0}, ot_mat_view(X, 2, 1), ot_mat_view(Y, 2, 1)};
  CHECK("points: Y rows != m", ot_emd_solve(&q, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_ESHAPE);
  /* One point each side. */
  double one = 2.0, c11 = 3.5, uu, vv;
  size_t i1, j1;
  double m1;
  ot_emd_problem r = {1, 1, &one, &one, ot_mat_view(&c11, 1, 1), {0}, {0}};
  CHECK("1x1 ok", ot_emd_solve(&r, NULL, &i1, &j1, &m1, &uu, &vv, &res) == OT_OK);
  CHECK("1x1 plan", res.nnz == 1 && i1 == 0 && j1 == 0 && m1 == 2.0);
  CHECK_NEAR("1x1 cost", res.cost, 7.0, 0);
  CHECK_NEAR("1x1 duals", uu + vv, 3.5, 1e-15);
  /* One source, many sinks. */
  double bb[4] = {0.1, 0.2, 0.3, 0.4}, row[4] = {4, 3, 2, 1}, w1 = 1, duals_u, duals_v[4];
  size_t ii[4], jj[4];
  double mm[4];
  ot_emd_problem s1 = {1, 4, &w1, bb, ot_mat_view(row, 1, 4), {0}, {0}};
  CHECK("1x4 ok", ot_emd_solve(&s1, NULL, ii, jj, mm, &duals_u, duals_v, &res) == OT_OK);
  CHECK_NEAR("1x4 cost", res.cost, 0.4 + 0.6 + 0.6 + 0.4, 1e-15);
  CHECK("1x4 four entries", res.nnz == 4);
  /* Options. */
  ot_emd_opts o;
  ot_emd_opts_init(&o);
  o.tol = -1;
  CHECK("bad tol", ot_emd_solve(&s1, &o, NULL, NULL, NULL, NULL, NULL, &res) == OT_EINVAL);
  /* 1-D bad inputs. */
  double c;
  CHECK("1d empty", ot_emd_1d(X, 0, Y, 2, NULL, NULL, 0, 1, NULL, NULL, NULL, NULL, &c) == OT_EINVAL);
  CHECK("1d bad metric", ot_emd_1d(X, 2, Y, 2, NULL, NULL, 9, 1, NULL, NULL, NULL, NULL, &c) == OT_EINVAL);
  CHECK("1d minkowski p < 1", ot_emd_1d(X, 2, Y, 2, NULL, NULL, OT_EMD1D_MINKOWSKI, 0.5, NULL, NULL, NULL, NULL, &c) == OT_EINVAL);
  double neg[2] = {-1, 2};
  CHECK("1d negative weight", ot_emd_1d(X, 2, Y, 2, neg, NULL, 0, 1, NULL, NULL, NULL, NULL, &c) == OT_EINVAL);
}

/* Allocation failures: every failure point returns an error, no leaks. */
static void test_faults(void) {
  double a[5] = {0.2, 0.2, 0.2, 0.2, 0.2}, b[4] = {0.25, 0.25, 0, 0.5}, M[20];
  for (int k = 0; k < 20; k++) M[k] = (double)((k * 7) % 11);
  ot_emd_problem p = {5, 4, a, b, ot_mat_view(M, 5, 4), {0}, {0}};
  size_t pi[8], pj[8];
  double mass[8], u[5], v[4];
  ot_emd_result res;
  CHECK_FAULT_SWEEP("allocation failures: OT_ENOMEM and nothing held",
                    ot_emd_solve(&p, NULL, pi, pj, mass, u, v, &res));
}

int main(void) {
  test_golden();
  test_random();
  test_medium();
  test_permutation();
  test_1d();
  test_bad();
  test_faults();
  return test_report();
}
