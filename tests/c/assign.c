/*
 * tests/c/assign.c -- the Jonker-Volgenant assignment solver.
 *
 * Checks: the optimum against brute force over all permutations (n <= 7,
 * exact equality for integer costs, 1e-12 otherwise), that sigma is a
 * permutation, dual feasibility C_ij - u_i - v_j >= -1e-9 max|C|, tightness
 * u_i + v_sigma(i) = C_i,sigma(i) to 1e-12, sum u + sum v = cost to 1e-9
 * relative, agreement with the network simplex on larger instances, bad
 * shapes, one-point problems, cancellation, allocation failures.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "assign.h"
#include "emd.h"
#include "rand.h"
#include "test.h"

/* Smallest sum over all permutations of 0..n-1 (recursive enumeration). */
static double brute(const double *C, size_t n, size_t k, int *used, double acc) {
  if (k == n) return acc;
  double best = INFINITY;
  for (size_t j = 0; j < n; j++) {
    if (used[j]) continue;
    used[j] = 1;
    double v = brute(C, n, k + 1, used, acc + C[k * n + j]);
    used[j] = 0;
    if (v < best) best = v;
  }
  return best;
}

/* The certificate of one solution; prints the seed on failure. */
static void certify(const double *C, size_t n, const size_t *sig, const double *u,
                    const double *v, double cost, unsigned long seed) {
  int before = test_failed;
  int *seen = calloc(n, sizeof *seen);
  int perm = 1;
  double total = 0, scale = 0, minrc = INFINITY, tight = 0, dual = 0;
  for (size_t i = 0; i < n; i++) {
    if (sig[i] >= n || seen[sig[i]]++) perm = 0;
    else {
      total += C[i * n + sig[i]];
      tight = fmax(tight, fabs(C[i * n + sig[i]] - u[i] - v[sig[i]]));
    }
    dual += u[i] + v[i];
    for (size_t j = 0; j < n; j++) {
      scale = fmax(scale, fabs(C[i * n + j]));
      minrc = fmin(minrc, C[i * n + j] - u[i] - v[j]);
    }
  }
  if (scale == 0) scale = 1;
  CHECK("sigma is a permutation", perm);
  CHECK("cost is the sum over sigma", fabs(total - cost) <= 1e-12 * scale * (double)n);
  CHECK("duals feasible (>= -1e-9 max|C|)", minrc >= -1e-9 * scale);
  CHECK("duals tight on sigma", tight <= 1e-12 * scale * 4);
  CHECK("sum u + sum v = cost", fabs(dual - cost) <= 1e-9 * (fabs(cost) + scale));
  if (test_failed != before) printf("  (seed %lu, n = %zu, minrc %g)\n", seed, n, minrc);
  free(seen);
}

static void test_brute(void) {
  ot_rng r;
  for (unsigned long seed = 1; seed <= 400; seed++) {
    ot_rng_seed(&r, seed);
    size_t n = 1 + (size_t)ot_rng_below(&r, 7);
    int integer = seed % 2 == 0;
    double C[49], u[7], v[7], cost;
    size_t sig[7];
    int used[7] = {0};
    for (size_t k = 0; k < n * n; k++)
      C[k] = integer ? (double)ot_rng_below(&r, 4) : ot_rng_normal(&r);
    int rc = ot_assign_solve(ot_mat_view(C, n, n), NULL, sig, u, v, &cost);
    CHECK("solve ok", rc == OT_OK);
    certify(C, n, sig, u, v, cost, seed);
    double want = brute(C, n, 0, used, 0.0);
    if (fabs(cost - want) > (integer ? 0 : 1e-12)) {
      CHECK("optimum equals brute force", 0);
      printf("  (seed %lu: %.17g vs %.17g)\n", seed, cost, want);
    }
  }
}

/* Larger instances: squared distances of random points (many near ties in
 * 2-D), integer costs, against the network simplex. */
static void test_vs_simplex(void) {
  ot_rng r;
  for (unsigned long seed = 1; seed <= 12; seed++) {
    ot_rng_seed(&r, 1000 + seed);
    size_t n = 20 + (size_t)ot_rng_below(&r, 120), d = 1 + seed % 3;
    double *C = malloc(n * n * sizeof *C), *X = malloc(n * d * sizeof *X);
    double *Y = malloc(n * d * sizeof *Y), *w = malloc(n * sizeof *w);
    double *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v), cost;
    size_t *sig = malloc(n * sizeof *sig);
    for (size_t k = 0; k < n * d; k++) {
      X[k] = ot_rng_uniform(&r);
      Y[k] = ot_rng_uniform(&r);
    }
    for (size_t i = 0; i < n; i++) {
      w[i] = 1.0 / (double)n;
      for (size_t j = 0; j < n; j++) {
        double c = 0;
        for (size_t t = 0; t < d; t++) c += (X[i * d + t] - Y[j * d + t]) * (X[i * d + t] - Y[j * d + t]);
        C[i * n + j] = seed % 4 == 0 ? floor(10 * c) : c;
      }
    }
    CHECK("solve ok", ot_assign_solve(ot_mat_view(C, n, n), NULL, sig, u, v, &cost) == OT_OK);
    certify(C, n, sig, u, v, cost, 1000 + seed);
    ot_emd_problem p = {n, n, w, w, ot_mat_view(C, n, n), {0}, {0}};
    ot_emd_result res;
    CHECK("simplex ok", ot_emd_solve(&p, NULL, NULL, NULL, NULL, NULL, NULL, &res) == OT_OK);
    if (fabs(res.cost - cost / (double)n) > 1e-12 * (1 + fabs(res.cost))) {
      CHECK("assign / n = emd", 0);
      printf("  (seed %lu: %.17g vs %.17g)\n", 1000 + seed, cost / (double)n, res.cost);
    }
    free(C), free(X), free(Y), free(w), free(u), free(v), free(sig);
  }
}

static int stop_cb(void *ud, const ot_progress *p) {
  (void)p;
  (*(int *)ud)++;
  return 1;
}

static void test_misc(void) {
  double C[6] = {1, 2, 3, 4, 5, 6}, u[3], v[3], cost;
  size_t sig[3];
  CHECK("not square", ot_assign_solve(ot_mat_view(C, 2, 3), NULL, sig, u, v, &cost) == OT_ESHAPE);
  CHECK("empty", ot_assign_solve(ot_mat_view(C, 0, 0), NULL, sig, u, v, &cost) == OT_EINVAL);
  double one = -2.5;
  CHECK("1x1", ot_assign_solve(ot_mat_view(&one, 1, 1), NULL, sig, u, v, &cost) == OT_OK &&
                   sig[0] == 0 && cost == -2.5 && u[0] + v[0] == -2.5);
  /* Outputs may be NULL; a view with ld > cols. */
  double big[12] = {5, 1, 9, 0, 2, 8, 3, 0, 4, 4, 1, 0};
  ot_mat view = {3, 3, 4, big};
  CHECK("ld > cols, NULL duals", ot_assign_solve(view, NULL, sig, NULL, NULL, &cost) == OT_OK &&
                                     cost == 1 + 2 + 1);
  /* Cancellation: a callback that stops at once (interval 0), on an
   * instance with free rows after the reductions (all rows prefer column 0). */
  size_t n = 30;
  double *M = malloc(n * n * sizeof *M), *uu = malloc(n * sizeof *uu), *vv = malloc(n * sizeof *vv);
  size_t *ss = malloc(n * sizeof *ss);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) M[i * n + j] = (double)(j * (i + 1));
  ot_assign_opts o;
  ot_assign_opts_init(&o);
  o.interval = 0;
  int calls = 0;
  o.progress = stop_cb;
  o.progress_ud = &calls;
  CHECK("cancel", ot_assign_solve(ot_mat_view(M, n, n), &o, ss, uu, vv, &cost) == OT_ECANCELED && calls == 1);
  CHECK("no cancel without callback", ot_assign_solve(ot_mat_view(M, n, n), NULL, ss, uu, vv, &cost) == OT_OK);
  certify(M, n, ss, uu, vv, cost, 0);
  /* Allocation failures. */
  CHECK_FAULT_SWEEP("allocation failures: OT_ENOMEM, nothing held",
                    ot_assign_solve(ot_mat_view(M, n, n), NULL, ss, uu, vv, &cost));
  free(M), free(uu), free(vv), free(ss);
}

int main(void) {
  test_brute();
  test_vs_simplex();
  test_misc();
  return test_report();
}
