/*
 * Tests of the bounds core module (specs/bounds.md): the worked example's
 * numbers to 1e-10, the spec's eight properties on seeded random instances
 * (the spec's LCG; the seed is printed on failure), and an allocation-
 * failure sweep of ot_bounds_minibatch.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assign.h"
#include "bounds.h"
#include "cost.h"
#include "test.h"

/* The spec's 64-bit LCG: s <- a s + c (mod 2^64), value (s >> 11) 2^-53. */
static uint64_t lcg_s;
static double lcg(void) {
  lcg_s = 6364136223846793005ULL * lcg_s + 1442695040888963407ULL;
  return (double)(lcg_s >> 11) * 0x1p-53;
}

/* X (n x d) row by row, then Y from the same stream, Y's first coordinate + shift. */
static void gen(uint64_t seed, size_t n, size_t d, double shift, double *X, double *Y) {
  lcg_s = seed;
  for (size_t t = 0; t < n * d; t++) X[t] = lcg();
  for (size_t t = 0; t < n * d; t++) Y[t] = lcg();
  for (size_t i = 0; i < n; i++) Y[i * d] += shift;
}

static double sqd(const double *x, const double *y, size_t d) {
  double s = 0;
  for (size_t t = 0; t < d; t++) s += (x[t] - y[t]) * (x[t] - y[t]);
  return s;
}

/* Exact OT (uniform, equal n) by LAPJV on the full matrix; C is filled. */
static double exact_ot(const double *X, const double *Y, size_t n, size_t d, double *C) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) C[i * n + j] = sqd(X + i * d, Y + j * d, d);
  size_t sig[64];
  double tot;
  if (ot_assign_solve(ot_mat_view(C, n, n), NULL, sig, NULL, NULL, &tot)) return NAN;
  return tot / (double)n;
}

static ot_bounds_problem points(double *X, double *Y, size_t n, size_t d) {
  ot_bounds_problem p;
  memset(&p, 0, sizeof p);
  p.X = ot_mat_view(X, n, d);
  p.Y = ot_mat_view(Y, n, d);
  p.metric = OT_METRIC_SQEUCLIDEAN;
  return p;
}


/* ---- the worked example ------------------------------------------------------ */

static double WX[16] = {0, 0, 1, 0, 0, 1, 1, 1, 4, 0, 5, 0, 4, 1, 5, 1};
static double WY[16] = {2, 3, 3, 3, 6, 2, 7, 2, 2, 4, 3, 4, 0, 3, 1, 3};

static void test_worked_example(void) {
  ot_bounds_problem p = points(WX, WY, 8, 2);
  double C[64];
  CHECK_NEAR("worked OT", exact_ot(WX, WY, 8, 2, C), 8.0, 1e-10);
  static const size_t ms[4] = {1, 2, 4, 8};
  static const double diag[4] = {22.5, 22.5, 21, 8}, all[4] = {16.5, 16, 15, 8},
                      opt[4] = {8, 9.5, 9, 8}, semi[4] = {5.75, 6, 7.5, 8};
  static const double circ[4][8] = {{22.5, 22.5, 19.75, 14.5, 9.75, 8.75, 8.5, 8},
                                    {22.5, 21.5, 10.5, 9.5},
                                    {21, 9},
                                    {8}};
  for (int t = 0; t < 4; t++) {
    ot_bounds_opts o;
    ot_bounds_opts_init(&o);
    o.m = ms[t];
    o.partition = OT_BOUNDS_ORDERED;
    o.strategy = OT_BOUNDS_ALL;
    o.lower = OT_BOUNDS_LOWER_NN | OT_BOUNDS_LOWER_DUAL | OT_BOUNDS_LOWER_SEMI;
    ot_bounds_result r;
    int rc = ot_bounds_minibatch(&p, &o, &r);
    CHECK("worked example runs", rc == OT_OK);
    if (rc) continue;
    char what[64];
    snprintf(what, sizeof what, "worked m=%zu diag", ms[t]);
    CHECK_NEAR(what, r.diag, diag[t], 1e-10);
    snprintf(what, sizeof what, "worked m=%zu all", ms[t]);
    CHECK_NEAR(what, r.all, all[t], 1e-10);
    snprintf(what, sizeof what, "worked m=%zu opt", ms[t]);
    CHECK_NEAR(what, r.opt, opt[t], 1e-10);
    CHECK_NEAR(what, r.upper, opt[t], 1e-10);
    snprintf(what, sizeof what, "worked m=%zu semi", ms[t]);
    CHECK_NEAR(what, r.semi, semi[t], 1e-10);
    snprintf(what, sizeof what, "worked m=%zu nn", ms[t]);
    CHECK_NEAR(what, r.nn, 5.75, 1e-10);
    CHECK("worked certified", r.certified == 1);
    CHECK("worked solves k^2", r.solves == (long)(r.k * r.k));
    if (ms[t] == 1 || ms[t] == 8) {
      snprintf(what, sizeof what, "worked m=%zu dual = OT", ms[t]);
      CHECK_NEAR(what, r.dual, 8.0, 1e-10);
    }
    CHECK("worked dual <= OT", r.dual <= 8.0 + 1e-10);
    ot_bounds_result_free(&r);
    size_t k = 8 / ms[t];
    for (size_t rr = 1; rr <= k && k > 1; rr++) {
      ot_bounds_opts_init(&o);
      o.m = ms[t];
      o.partition = OT_BOUNDS_ORDERED;
      o.strategy = OT_BOUNDS_CIRCULANT;
      o.budget = (long)(rr * k);
      o.lower = 0;
      if (ot_bounds_minibatch(&p, &o, &r) != OT_OK) {
        CHECK("worked circulant runs", 0);
        continue;
      }
      snprintf(what, sizeof what, "worked m=%zu circulant r=%zu", ms[t], rr);
      CHECK_NEAR(what, r.upper, circ[t][rr - 1], 1e-10);
      CHECK("worked circulant lower nan without lower bounds", isnan(r.lower));
      ot_bounds_result_free(&r);
    }
  }
  /* Fatras et al.'s complete estimator. */
  double v, se;
  long pairs;
  CHECK("fatras m=2", ot_bounds_fatras(&p, 2, 0, 0, 1, &v, &se, &pairs) == OT_OK);
  CHECK_NEAR("fatras complete m=2", v, 12.8418367347, 1e-10);
  CHECK("fatras m=2 pairs", pairs == 28 * 28);
  CHECK("fatras m=4", ot_bounds_fatras(&p, 4, 0, 0, 1, &v, &se, &pairs) == OT_OK);
  CHECK_NEAR("fatras complete m=4", v, 9.8893877551, 1e-10);
  CHECK("fatras m=4 pairs", pairs == 70 * 70);
}

static void test_lcg(void) {
  double X[48], Y[48];
  gen(1, 24, 2, 0.5, X, Y);
  CHECK_NEAR("lcg X[0]", X[0], 0.4232091709, 1e-10);
  CHECK_NEAR("lcg X[0] 2", X[1], 0.5094074429, 1e-10);
  CHECK_NEAR("lcg Y[0]", Y[0], 0.5132276042, 1e-10);
  CHECK_NEAR("lcg Y[0] 2", Y[1], 0.1822856230, 1e-10);
}


/* ---- the properties on random instances ------------------------------------------ */

static int fails_before;
#define SEEDCHECK(seed)                                                        \
  do {                                                                         \
    if (test_failed > fails_before) {                                          \
      printf("  (instance seed %llu)\n", (unsigned long long)(seed));           \
      fails_before = test_failed;                                              \
    }                                                                          \
  } while (0)

/* Properties 1, 5 and 8 for one run: bounds around OT, the plan, determinism. */
static void check_run(const ot_bounds_problem *p, const ot_bounds_opts *o, double ot,
                      const double *C, size_t n, double tol) {
  ot_bounds_result r, r2;
  int rc = ot_bounds_minibatch(p, o, &r);
  CHECK("property run", rc == OT_OK);
  if (rc) return;
  CHECK("1: upper >= OT", r.upper >= ot - tol);
  CHECK("1: budgeted = upper", r.budgeted == r.upper);
  if (!isnan(r.diag)) CHECK("1: diag >= OT", r.diag >= ot - tol);
  if (!isnan(r.all)) CHECK("1: all >= OT", r.all >= ot - tol);
  if (!isnan(r.opt)) CHECK("1: opt >= OT", r.opt >= ot - tol);
  if (!isnan(r.nn)) CHECK("1: nn <= OT", r.nn <= ot + tol);
  if (!isnan(r.dual)) CHECK("1: dual <= OT", r.dual <= ot + tol);
  if (!isnan(r.semi)) CHECK("1: semi <= OT", r.semi <= ot + tol);
  if (!isnan(r.lower)) CHECK("1: lower <= OT", r.lower <= ot + tol);
  CHECK("solves within budget", r.solves <= r.budget && r.solves >= (long)r.k);
  if (!isnan(r.opt) && !isnan(r.diag)) CHECK("4: opt <= diag", r.opt <= r.diag + tol);
  if (!isnan(r.opt) && !isnan(r.all)) CHECK("4: opt <= all", r.opt <= r.all + tol);
  if (o->want_plan) {
    double rows[64] = {0}, cols[64] = {0}, cost = 0;
    for (size_t q = 0; q < r.plan_nnz; q++) {
      rows[r.plan_i[q]] += r.plan_mass[q];
      cols[r.plan_j[q]] += r.plan_mass[q];
      cost += r.plan_mass[q] * C[r.plan_i[q] * n + r.plan_j[q]];
    }
    double err = 0;
    for (size_t i = 0; i < n; i++)
      err = fmax(err, fmax(fabs(rows[i] - 1.0 / n), fabs(cols[i] - 1.0 / n)));
    CHECK("5: plan marginals 1/n", err <= 1e-15);
    CHECK("5: <C, plan> = upper", fabs(cost - r.upper) <= tol);
    if (o->solver != OT_BOUNDS_SINKHORN) CHECK("5: plan has n entries", r.plan_nnz == n);
  }
  rc = ot_bounds_minibatch(p, o, &r2);
  CHECK("8: second run", rc == OT_OK);
  if (rc == OT_OK) {
    int same = r.upper == r2.upper && (r.lower == r2.lower || (isnan(r.lower) && isnan(r2.lower))) &&
               r.solves == r2.solves && r.certified == r2.certified && r.plan_nnz == r2.plan_nnz &&
               !memcmp(r.pair_a, r2.pair_a, r.npairs * sizeof(size_t)) &&
               !memcmp(r.pair_b, r2.pair_b, r.npairs * sizeof(size_t)) &&
               !memcmp(r.pair_d, r2.pair_d, r.npairs * sizeof(double)) &&
               !memcmp(r.sigma, r2.sigma, r.k * sizeof(size_t)) &&
               !memcmp(r.perm_x, r2.perm_x, n * sizeof(size_t));
    CHECK("8: same seed, same output", same);
    ot_bounds_result_free(&r2);
  }
  ot_bounds_result_free(&r);
}

static double upper_of(const ot_bounds_problem *p, ot_bounds_opts *o, int *certified) {
  ot_bounds_result r;
  if (ot_bounds_minibatch(p, o, &r) != OT_OK) return NAN;
  double u = r.upper;
  if (certified) *certified = r.certified;
  ot_bounds_result_free(&r);
  return u;
}

static void test_properties(int instances) {
  static const size_t sizes[] = {4, 6, 8, 12, 6, 8};
  double X[64 * 3], Y[64 * 3], C[64 * 64];
  size_t given_x[64], given_y[64];
  fails_before = test_failed;
  for (int inst = 0; inst < instances; inst++) {
    uint64_t seed = 1000 + (uint64_t)inst;
    size_t n = sizes[inst % 6], d = 1 + (size_t)(inst % 3);
    double shift = 0.25 * (inst % 5);
    gen(seed, n, d, shift, X, Y);
    ot_bounds_problem p = points(X, Y, n, d);
    double ot = exact_ot(X, Y, n, d, C);
    double scale = 0;
    for (size_t t = 0; t < n * n; t++) scale = fmax(scale, C[t]);
    double tol = 1e-9 * fmax(scale, 1.0);
    /* a batch size dividing n, cycling through the divisors */
    size_t divs[16], nd = 0;
    for (size_t m = 1; m <= n; m++)
      if (n % m == 0) divs[nd++] = m;
    size_t m = divs[(size_t)(inst / 6) % nd], k = n / m;
    for (size_t i = 0; i < n; i++) given_x[i] = given_y[n - 1 - i] = i;
    ot_bounds_opts o;
    ot_bounds_opts_init(&o);
    o.m = m;
    o.seed = seed;
    o.strategy = inst % OT_BOUNDS_NSTRATEGIES;
    o.partition = (inst / 7) % OT_BOUNDS_NPARTITIONS;
    o.perm_x = given_x;
    o.perm_y = given_y;
    o.solver = (inst / 3) % 5 == 4 ? OT_BOUNDS_SINKHORN : (inst / 3) % 5 == 3 ? OT_BOUNDS_EMD
                                                                              : OT_BOUNDS_ASSIGN;
    o.reg = 0.05;
    o.lower = 7;
    o.want_plan = 1;
    o.threads = 1 + (inst % 10 == 0);
    long lo = o.strategy == OT_BOUNDS_ALL || o.strategy == OT_BOUNDS_OPT ? (long)(k * k) : (long)k;
    o.budget = lo + (long)((seed * 7919) % (k * k - (size_t)lo + 1));
    if (o.strategy == OT_BOUNDS_DIAG) o.budget = (long)k;
    check_run(&p, &o, ot, C, n, tol);

    /* 4: nested pair sets, the upper bound never increases with the budget */
    if (o.strategy >= OT_BOUNDS_CIRCULANT) {
      o.lower = 0;
      o.want_plan = 0;
      double prev = INFINITY;
      int mono = 1;
      for (long b = (long)k; b <= (long)(k * k); b += (long)k) {
        o.budget = b;
        double u = upper_of(&p, &o, NULL);
        if (!(u <= prev + tol)) mono = 0;
        prev = u;
      }
      CHECK("4: U_E non-increasing in the budget", mono);
    }
    /* 3: circulant r = 1 is diag, r = k is opt; adaptive at k^2 certifies opt */
    if (o.solver != OT_BOUNDS_SINKHORN) {
      ot_bounds_opts a;
      ot_bounds_opts_init(&a);
      a.m = m;
      a.seed = seed;
      a.lower = 0;
      a.solver = o.solver;
      a.strategy = OT_BOUNDS_ALL;
      ot_bounds_result r;
      if (ot_bounds_minibatch(&p, &a, &r) == OT_OK) {
        double diag = r.diag, opt = r.opt;
        ot_bounds_result_free(&r);
        a.strategy = OT_BOUNDS_CIRCULANT;
        a.budget = (long)k;
        CHECK_NEAR("3: circulant r=1 = diag", upper_of(&p, &a, NULL), diag, tol);
        a.budget = (long)(k * k);
        CHECK_NEAR("3: circulant r=k = opt", upper_of(&p, &a, NULL), opt, tol);
        a.strategy = OT_BOUNDS_ADAPTIVE;
        int cert = 0;
        CHECK_NEAR("3: adaptive at k^2 = opt", upper_of(&p, &a, &cert), opt, tol);
        CHECK("3: adaptive at k^2 certified", cert);
      } else {
        CHECK("3: all runs", 0);
      }
    }
    /* 2: m = n and m = 1 */
    if (inst % 10 == 0) {
      ot_bounds_opts a;
      ot_bounds_opts_init(&a);
      a.seed = seed;
      a.lower = 7;
      a.strategy = OT_BOUNDS_ALL;
      a.m = n;
      ot_bounds_result r;
      if (ot_bounds_minibatch(&p, &a, &r) == OT_OK) {
        CHECK_NEAR("2: m=n upper = OT", r.upper, ot, tol);
        CHECK_NEAR("2: m=n diag = OT", r.diag, ot, tol);
        CHECK_NEAR("2: m=n all = OT", r.all, ot, tol);
        CHECK_NEAR("2: m=n dual = OT", r.dual, ot, tol);
        CHECK_NEAR("2: m=n semi = OT", r.semi, ot, tol);
        CHECK_NEAR("2: m=n lower = OT", r.lower, ot, tol);
        ot_bounds_result_free(&r);
      } else {
        CHECK("2: m=n runs", 0);
      }
      a.m = 1;
      if (ot_bounds_minibatch(&p, &a, &r) == OT_OK) {
        CHECK_NEAR("2: m=1 opt = OT", r.opt, ot, tol);
        CHECK_NEAR("2: m=1 semi = nn", r.semi, r.nn, tol);
        CHECK_NEAR("2: m=1 dual = OT", r.dual, ot, tol);
        ot_bounds_result_free(&r);
      } else {
        CHECK("2: m=1 runs", 0);
      }
    }
    /* 6: semi never decreases when ordered batches merge (m -> 2m) */
    if (n % (2 * m) == 0) {
      ot_bounds_opts a;
      ot_bounds_opts_init(&a);
      a.partition = OT_BOUNDS_ORDERED;
      a.strategy = OT_BOUNDS_DIAG;
      a.lower = OT_BOUNDS_LOWER_SEMI;
      ot_bounds_result r1, r2;
      a.m = m;
      int ok1 = ot_bounds_minibatch(&p, &a, &r1) == OT_OK;
      a.m = 2 * m;
      int ok2 = ot_bounds_minibatch(&p, &a, &r2) == OT_OK;
      CHECK("6: runs", ok1 && ok2);
      if (ok1 && ok2) CHECK("6: semi(2m) >= semi(m)", r2.semi >= r1.semi - tol);
      if (ok1) ot_bounds_result_free(&r1);
      if (ok2) ot_bounds_result_free(&r2);
    }
    SEEDCHECK(seed);
  }
}

/* 7: the mean of diag over seeded shuffles is the complete estimator. */
static void test_fatras_mean(void) {
  double X[12], Y[12];
  gen(7, 6, 2, 0.3, X, Y);
  ot_bounds_problem p = points(X, Y, 6, 2);
  for (size_t m = 2; m <= 3; m++) {
    double full, se;
    long pairs;
    CHECK("7: complete", ot_bounds_fatras(&p, m, 0, 0, 1, &full, &se, &pairs) == OT_OK);
    ot_bounds_opts o;
    ot_bounds_opts_init(&o);
    o.m = m;
    o.strategy = OT_BOUNDS_DIAG;
    o.lower = 0;
    double s = 0, s2 = 0;
    const int R = 1000;
    for (int t = 0; t < R; t++) {
      o.seed = (uint64_t)t + 1;
      double u = upper_of(&p, &o, NULL);
      s += u;
      s2 += u * u;
    }
    double mean = s / R, sd = sqrt(fmax(s2 / R - mean * mean, 0) / R);
    printf("7: m=%zu mean diag %.6f +- %.6f, complete estimator %.6f\n", m, mean, sd, full);
    CHECK("7: mean of diag near the complete estimator (4 standard errors)",
          fabs(mean - full) <= 4 * sd + 1e-12);
    /* the incomplete estimator too */
    double inc;
    CHECK("7: incomplete", ot_bounds_fatras(&p, m, 4000, 5, 0, &inc, &se, &pairs) == OT_OK);
    CHECK("7: incomplete near complete", fabs(inc - full) <= 5 * se + 1e-12);
  }
}

/* Errors and the allocation-failure sweep. */
static void test_errors(void) {
  ot_bounds_problem p = points(WX, WY, 8, 2);
  ot_bounds_opts o;
  ot_bounds_result r;
  ot_bounds_opts_init(&o);
  o.m = 3;
  CHECK("m must divide n", ot_bounds_minibatch(&p, &o, &r) == OT_EINVAL);
  o.m = 0;
  CHECK("m = 0", ot_bounds_minibatch(&p, &o, &r) == OT_EINVAL);
  o.m = 2;
  o.budget = 3;
  CHECK("budget below k", ot_bounds_minibatch(&p, &o, &r) == OT_EINVAL);
  o.budget = 0;
  o.strategy = OT_BOUNDS_ALL;
  o.budget = 15;
  CHECK("all needs k^2", ot_bounds_minibatch(&p, &o, &r) == OT_EINVAL);
  o.budget = 0;
  size_t bad[8] = {0, 1, 2, 3, 4, 5, 6, 6};
  o.partition = OT_BOUNDS_GIVEN;
  o.perm_x = o.perm_y = bad;
  CHECK("given: not a permutation", ot_bounds_minibatch(&p, &o, &r) == OT_EINVAL);
  double C[64];
  exact_ot(WX, WY, 8, 2, C);
  ot_bounds_problem pc;
  memset(&pc, 0, sizeof pc);
  pc.C = ot_mat_view(C, 8, 8);
  o.partition = OT_BOUNDS_SPATIAL;
  CHECK("spatial needs points", ot_bounds_minibatch(&pc, &o, &r) == OT_EINVAL);
  /* a precomputed cost gives the same numbers */
  ot_bounds_opts_init(&o);
  o.m = 2;
  o.partition = OT_BOUNDS_ORDERED;
  o.strategy = OT_BOUNDS_ALL;
  o.lower = 7;
  if (ot_bounds_minibatch(&pc, &o, &r) == OT_OK) {
    CHECK_NEAR("cost matrix: opt", r.opt, 9.5, 1e-10);
    CHECK_NEAR("cost matrix: semi", r.semi, 6, 1e-10);
    CHECK_NEAR("cost matrix: nn", r.nn, 5.75, 1e-10);
    ot_bounds_result_free(&r);
  } else {
    CHECK("cost matrix runs", 0);
  }
  /* allocation failures: clean OT_ENOMEM, then success */
  /* (each configuration makes fewer than 100 counted allocations: the sweep's cap) */
  static const int lowers[] = {0, OT_BOUNDS_LOWER_NN | OT_BOUNDS_LOWER_DUAL, OT_BOUNDS_LOWER_SEMI};
  for (int s = 0; s < OT_BOUNDS_NSTRATEGIES; s++)
    for (int l = 0; l < 3; l++) {
      ot_bounds_opts_init(&o);
      o.m = l == 2 ? 8 : 4;
      o.strategy = s;
      o.lower = s == OT_BOUNDS_ADAPTIVE && l == 1 ? OT_BOUNDS_LOWER_NN : lowers[l];
      o.want_plan = l == 0 && s != OT_BOUNDS_ADAPTIVE;
      o.threads = 1;
      o.solver = s == OT_BOUNDS_DIAG && l == 0 ? OT_BOUNDS_EMD : OT_BOUNDS_ASSIGN;
      int rc;
      CHECK_FAULT_SWEEP("fault sweep", (rc = ot_bounds_minibatch(&p, &o, &r),
                                        rc == OT_OK ? (ot_bounds_result_free(&r), OT_OK) : rc));
    }
}

/* Progress: called, with the bounds view; a non-zero return cancels cleanly. */
static int progress_calls;
static int prog(void *ud, const ot_progress *p) {
  const ot_view *v = p->state;
  progress_calls++;
  if (!v || v->kind != OT_VIEW_BOUNDS || strcmp(p->kernel, "bounds") != 0) return 1;
  return ud && progress_calls >= 2;
}

static void test_progress(void) {
  ot_bounds_problem p = points(WX, WY, 8, 2);
  ot_bounds_opts o;
  ot_bounds_result r;
  ot_bounds_opts_init(&o);
  o.m = 2;
  o.progress = prog;
  o.interval = 0;
  progress_calls = 0;
  CHECK("progress run", ot_bounds_minibatch(&p, &o, &r) == OT_OK);
  CHECK("progress called", progress_calls >= 3);
  ot_bounds_result_free(&r);
  size_t base = ot_mem_used();
  int stop = 1;
  o.progress_ud = &stop;
  progress_calls = 0;
  CHECK("progress cancels", ot_bounds_minibatch(&p, &o, &r) == OT_ECANCELED);
  CHECK("canceled: nothing leaked", ot_mem_used() == base && r.pair_a == NULL);
}

/* The OpenMP path (enough work per round to start a team): same answer as one thread. */
static void test_threads(void) {
  static double X[256 * 2], Y[256 * 2];
  gen(99, 256, 2, 0.2, X, Y);
  ot_bounds_problem p = points(X, Y, 256, 2);
  ot_bounds_opts o;
  ot_bounds_result r1, r2;
  ot_bounds_opts_init(&o);
  o.m = 64;
  o.strategy = OT_BOUNDS_ALL;
  o.seed = 5;
  o.threads = 1;
  int ok1 = ot_bounds_minibatch(&p, &o, &r1) == OT_OK;
  o.threads = 2;
  int ok2 = ot_bounds_minibatch(&p, &o, &r2) == OT_OK;
  CHECK("threads: runs", ok1 && ok2);
  if (ok1 && ok2) {
    CHECK("threads: same upper", r1.upper == r2.upper && r1.lower == r2.lower);
    CHECK("threads: same pairs", !memcmp(r1.pair_d, r2.pair_d, r1.npairs * sizeof(double)));
  }
  if (ok1) ot_bounds_result_free(&r1);
  if (ok2) ot_bounds_result_free(&r2);
  /* the semi-relaxed solves on a team: the same bound as on one thread */
  {
    static double X2[512 * 2], Y2[512 * 2];
    gen(98, 512, 2, 0.3, X2, Y2);
    ot_bounds_problem p2 = points(X2, Y2, 512, 2);
    ot_bounds_opts s;
    ot_bounds_opts_init(&s);
    s.m = 128;
    s.strategy = OT_BOUNDS_DIAG;
    s.lower = OT_BOUNDS_LOWER_SEMI;
    s.threads = 1;
    ok1 = ot_bounds_minibatch(&p2, &s, &r1) == OT_OK;
    s.threads = 2;
    ok2 = ot_bounds_minibatch(&p2, &s, &r2) == OT_OK;
    CHECK("threads: semi runs", ok1 && ok2);
    if (ok1 && ok2) CHECK("threads: same semi", r1.semi == r2.semi && !isnan(r1.semi));
    if (ok1) ot_bounds_result_free(&r1);
    if (ok2) ot_bounds_result_free(&r2);
    size_t base2 = ot_mem_used();
    for (long nth = 2; nth < 40; nth += 6) { /* failures inside the semi team */
      ot_mem_fail_after(nth);
      int rc = ot_bounds_minibatch(&p2, &s, &r1);
      ot_mem_fail_after(0);
      if (rc == OT_OK) ot_bounds_result_free(&r1);
      CHECK("threads: semi allocation failure clean",
            (rc == OT_OK || rc == OT_ENOMEM) && ot_mem_used() == base2);
    }
  }
  /* a failing allocation inside the team: a clean OT_ENOMEM */
  size_t base = ot_mem_used();
  o.lower = 0;
  for (long nth = 1; nth < 40; nth += 3) {
    ot_mem_fail_after(nth);
    int rc = ot_bounds_minibatch(&p, &o, &r1);
    ot_mem_fail_after(0);
    if (rc == OT_OK) ot_bounds_result_free(&r1);
    CHECK("threads: allocation failure clean", (rc == OT_OK || rc == OT_ENOMEM) && ot_mem_used() == base);
  }
}

/*
 * A distributor that plays P processes in turn (each runs its stride of
 * the jobs, as rank r of P would) and one that fails: results bit-identical
 * to the plain run for every strategy, lower bound and solver; a failing
 * distributor's status comes back with nothing leaked.
 */
typedef struct fake_dist {
  int procs;
  int fail_at; /* fail the n-th batch (0: never) */
  int batches;
  size_t kinds_pairs, kinds_semi, kinds_plan;
} fake_dist;

static int fake_distribute(void *ud, ot_jobs *j) {
  fake_dist *fd = ud;
  fd->batches++;
  if (!strcmp(j->kind, "pairs")) fd->kinds_pairs++;
  if (!strcmp(j->kind, "semi")) fd->kinds_semi++;
  if (!strcmp(j->kind, "plan")) fd->kinds_plan++;
  if (fd->fail_at && fd->batches == fd->fail_at) return OT_EIO;
  for (int r = fd->procs - 1; r >= 0; r--) { /* the last process first: order must not matter */
    int rc = j->run(j, (size_t)r, (size_t)fd->procs);
    if (rc) return rc;
  }
  return OT_OK;
}

static void test_distribute(void) {
  static double X[96 * 3], Y[96 * 3];
  gen(77, 96, 3, 0.4, X, Y);
  ot_bounds_problem p = points(X, Y, 96, 3);
  for (int s = 0; s < OT_BOUNDS_NSTRATEGIES; s++)
    for (int v = 0; v < 3; v++) {
      ot_bounds_opts o;
      ot_bounds_opts_init(&o);
      o.m = 8;
      o.strategy = s;
      o.seed = 40 + (uint64_t)s;
      o.solver = v == 0 ? OT_BOUNDS_ASSIGN : v == 1 ? OT_BOUNDS_EMD : OT_BOUNDS_SINKHORN;
      o.sinkhorn_max_iter = 30; /* some unconverged solves */
      o.lower = OT_BOUNDS_LOWER_NN | OT_BOUNDS_LOWER_DUAL | OT_BOUNDS_LOWER_SEMI;
      o.want_plan = v != 2;
      o.budget = s == OT_BOUNDS_ALL || s == OT_BOUNDS_OPT ? 0 : 40;
      ot_bounds_result r0, r1;
      int rc0 = ot_bounds_minibatch(&p, &o, &r0);
      fake_dist fd = {3, 0, 0, 0, 0, 0};
      o.distribute = fake_distribute;
      o.distribute_ud = &fd;
      int rc1 = ot_bounds_minibatch(&p, &o, &r1);
      CHECK("distribute: runs", rc0 == OT_OK && rc1 == OT_OK);
      if (rc0 == OT_OK && rc1 == OT_OK) {
        int same = r0.npairs == r1.npairs && r0.solves == r1.solves &&
                   !memcmp(&r0.upper, &r1.upper, sizeof(double)) &&
                   !memcmp(&r0.lower, &r1.lower, sizeof(double)) &&
                   !memcmp(&r0.dual, &r1.dual, sizeof(double)) &&
                   !memcmp(&r0.semi, &r1.semi, sizeof(double)) &&
                   r0.inner_unconverged == r1.inner_unconverged && r0.rounds == r1.rounds &&
                   r0.certified == r1.certified && r0.plan_nnz == r1.plan_nnz &&
                   !memcmp(r0.pair_d, r1.pair_d, r0.npairs * sizeof(double)) &&
                   !memcmp(r0.sigma, r1.sigma, r0.k * sizeof(size_t)) &&
                   (!o.want_plan ||
                    (!memcmp(r0.plan_i, r1.plan_i, r0.plan_nnz * sizeof(size_t)) &&
                     !memcmp(r0.plan_j, r1.plan_j, r0.plan_nnz * sizeof(size_t)) &&
                     !memcmp(r0.plan_mass, r1.plan_mass, r0.plan_nnz * sizeof(double))));
        if (!same) printf("distribute: strategy %d solver %d differs\n", s, v);
        CHECK("distribute: bit-identical to one process", same);
        CHECK("distribute: one batch per round, one semi batch, one plan batch",
              fd.kinds_pairs == (size_t)r1.rounds - (s == OT_BOUNDS_ADAPTIVE && r1.certified) &&
              fd.kinds_semi == 1 && fd.kinds_plan == (size_t)(o.want_plan && v != 2));
        if (v == 2) CHECK("distribute: unconverged counted", r1.inner_unconverged > 0);
      }
      if (rc0 == OT_OK) ot_bounds_result_free(&r0);
      if (rc1 == OT_OK) ot_bounds_result_free(&r1);
      /* a failing distributor: its status, nothing leaked */
      size_t base = ot_mem_used();
      for (int at = 1; at <= 2; at++) {
        fake_dist bad = {2, at, 0, 0, 0, 0};
        o.distribute_ud = &bad;
        int rc = ot_bounds_minibatch(&p, &o, &r1);
        if (rc == OT_OK) ot_bounds_result_free(&r1);
        CHECK("distribute: failure returned", rc == OT_EIO && ot_mem_used() == base);
      }
    }
}

int main(void) {
  test_lcg();
  test_worked_example();
  test_errors();
  test_progress();
  test_threads();
  test_distribute();
  test_fatras_mean();
  test_properties(1000);
  return test_report();
}
