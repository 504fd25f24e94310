/*
 * tests/c/sinkhorn.c -- entropic OT: the vectorized exp, every Sinkhorn
 * method against POT's values, marginals, agreement between methods, the
 * limit reg -> 0, non-convergence, the underflow switch, cancellation,
 * unbalanced transport and the Sinkhorn divergence (dense and online).
 *
 * Instances: points of the R2 low-discrepancy sequence in [0,1]^2
 * (x_i = frac(off + i * (0.75488..., 0.56984...)), off 0.5 for X and 0.25
 * for Y), weights proportional to 1 + (i mod 3), squared Euclidean cost.
 * The golden numbers were computed once with POT 0.8.2 (python3-pot) on
 * the same instances (ot.sinkhorn2 with method 'sinkhorn_log',
 * stopThr 1e-14; ot.emd2; ot.unbalanced.sinkhorn_unbalanced2 with b scaled
 * by 1.5, stopThr 1e-15; the divergence as
 * obj(a,b) - (obj(a,a) + obj(b,b))/2 with obj = <P,M> + reg sum P log P
 * from POT's plans, where the entropy terms of KL(P | a x b) cancel).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "sinkhorn.h"
#include "test.h"
#include "vexp.h"

static double frac(double x) { return x - floor(x); }

/* n points of the R2 sequence starting at offset off (n x 2, row-major). */
static void points(double *X, size_t n, double off) {
  for (size_t i = 0; i < n; i++) {
    X[2 * i] = frac(off + (double)i * 0.7548776662466927);
    X[2 * i + 1] = frac(off + (double)i * 0.5698402909980532);
  }
}

static void weights(double *w, size_t n, double total) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += w[i] = 1.0 + (double)(i % 3);
  for (size_t i = 0; i < n; i++) w[i] *= total / s;
}

typedef struct inst {
  size_t n, m;
  double *a, *b, *X, *Y, *M;
} inst;

static inst make(size_t n, size_t m) {
  inst t = {n, m, malloc(n * sizeof(double)), malloc(m * sizeof(double)),
            malloc(2 * n * sizeof(double)), malloc(2 * m * sizeof(double)),
            malloc(n * m * sizeof(double))};
  weights(t.a, n, 1.0);
  weights(t.b, m, 1.0);
  points(t.X, n, 0.5);
  points(t.Y, m, 0.25);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++) {
      double dx = t.X[2 * i] - t.Y[2 * j], dy = t.X[2 * i + 1] - t.Y[2 * j + 1];
      t.M[i * m + j] = dx * dx + dy * dy;
    }
  return t;
}

static void drop(inst *t) {
  free(t->a), free(t->b), free(t->X), free(t->Y), free(t->M);
}

static double rel(double got, double want) { return fabs(got - want) / fabs(want); }

/* Solve and return the cost; P (n x m) is filled when given. */
static int solve(const inst *t, double reg, int method, double *P, double *f, double *g,
                 ot_sinkhorn_info *info, ot_sinkhorn_opts *opt) {
  ot_sinkhorn_opts o;
  if (opt)
    o = *opt;
  else
    ot_sinkhorn_opts_init(&o);
  o.method = method;
  ot_mat Pv = {t->n, t->m, t->m, P};
  return ot_sinkhorn_solve(Pv, f, g, t->a, t->b, ot_mat_view(t->M, t->n, t->m), reg, &o, info);
}

static void test_vexp(void) {
  size_t n = 1000000;
  double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++) x[i] = -708.0 + 1417.0 * (double)i / (double)(n - 1);
  ot_vexp(y, x, n);
  double worst = 0.0;
  for (size_t i = 0; i < n; i++) {
    double e = exp(x[i]), r = fabs(y[i] - e) / e;
    worst = r > worst ? r : worst;
  }
  /* measured 3.15e-16 (1.4 ulp) for the AVX-512 and AVX2 clones and 3.16e-16 for the
   * SSE2 baseline without FMA (each built alone once); the header promises < 4e-16.
   * This run checks the clone the CPU selects. */
  printf("vexp: max relative error over [-708, 709]: %.3g\n", worst);
  CHECK("vexp accuracy < 4e-16 relative", worst < 4e-16);
  double sp[7] = {-INFINITY, NAN, -750.0, 750.0, 0.0, 1.0, -1.0};
  ot_vexp(sp, sp, 7);
  CHECK("exp(-inf) = 0", sp[0] == 0.0);
  CHECK("exp(NaN) = NaN", isnan(sp[1]));
  CHECK("underflow -> 0", sp[2] == 0.0);
  CHECK("overflow -> inf", sp[3] == INFINITY);
  CHECK("exp(0) = 1", sp[4] == 1.0);
  CHECK_NEAR("exp(1)", sp[5], exp(1.0), 1e-15);
  CHECK_NEAR("exp(-1)", sp[6], exp(-1.0), 1e-16);
  /* log-sum-exp against the naive sum, odd lengths for the tails */
  for (size_t m = 1; m < 40; m += 3) {
    double h[40], c[40], naive = 0.0;
    for (size_t j = 0; j < m; j++) {
      h[j] = sin((double)j);
      c[j] = cos(3.0 * (double)j);
      naive += exp((h[j] - c[j]) * 2.0);
    }
    CHECK_NEAR("lse", ot_vexp_lse(h, c, m, 2.0, NAN), log(naive), 1e-13);
    CHECK_NEAR("lse, good hint", ot_vexp_lse(h, c, m, 2.0, 0.5 * log(naive) + 3.0), log(naive),
               1e-13);
    CHECK_NEAR("lse, hint far off", ot_vexp_lse(h, c, m, 2.0, 1e4), log(naive), 1e-13);
    CHECK_NEAR("lse, hint far off below", ot_vexp_lse(h, c, m, 2.0, -1e4), log(naive), 1e-13);
    double row[40], sum = ot_vexp_row(row, 0.3, h, c, m, 2.0);
    CHECK_NEAR("row sum", sum, exp(0.6) * naive, 1e-12 * sum);
    /* column accumulation with per-column shifts (ragged tail included) */
    double accs[40], sh[40];
    int accok = 1;
    for (size_t j = 0; j < m; j++) accs[j] = 0.25, sh[j] = 0.1 * (double)j - 1.0;
    ot_vexp_acc(accs, c, sh, 0.3, 2.0, m);
    for (size_t j = 0; j < m; j++) {
      double want = 0.25 + exp((0.3 - c[j]) * 2.0 - sh[j]);
      accok &= fabs(accs[j] - want) <= 1e-15 * want;
    }
    CHECK("shifted column accumulation", accok);
    double xt[80], pt[2] = {0.2, -0.4}, naive2 = 0.0;
    for (size_t j = 0; j < m; j++) {
      xt[j] = h[j];
      xt[m + j] = c[j];
      double dd = (pt[0] - h[j]) * (pt[0] - h[j]) + (pt[1] - c[j]) * (pt[1] - c[j]);
      naive2 += exp((h[j] - dd) * 2.0);
    }
    double big = -INFINITY, acc = 0.0; /* two column ranges, accumulated */
    ot_vexp_lse_pts(h, pt, xt, m, 2, m / 2, 0, 1.0, 2.0, &big, &acc);
    ot_vexp_lse_pts(h + m / 2, pt, xt + m / 2, m, 2, m - m / 2, 0, 1.0, 2.0, &big, &acc);
    CHECK_NEAR("lse from points", big * 2.0 + log(acc), log(naive2), 1e-13);
  }
  double ninf[5] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY}, z[5] = {0};
  CHECK("lse of nothing", ot_vexp_lse(ninf, z, 5, 1.0, NAN) == -INFINITY);
  CHECK("lse of nothing, hint", ot_vexp_lse(ninf, z, 5, 1.0, 0.0) == -INFINITY);
  free(x), free(y);
}

static const char *const names[] = {"sinkhorn", "log", "stabilized", "epsilon_scaling"};

static void test_golden(void) {
  struct {
    size_t n, m;
    double reg, cost, obj;
  } g[] = {{5, 7, 0.1, 0.09451278419137393, -0.1706367237881915},
           {20, 15, 0.05, 0.05030816412698996, -0.16503567341188013},
           {30, 30, 0.02, 0.033798723327996646, -0.060623972103907964}};
  for (size_t k = 0; k < 3; k++) {
    inst t = make(g[k].n, g[k].m);
    double *P = malloc(t.n * t.m * sizeof(double)), *P0 = malloc(t.n * t.m * sizeof(double));
    for (int meth = 0; meth < OT_SINKHORN_NMETHODS; meth++) {
      ot_sinkhorn_info info;
      ot_sinkhorn_opts o;
      ot_sinkhorn_opts_init(&o);
      o.max_iter = 100000;
      int rc = solve(&t, g[k].reg, meth, P, NULL, NULL, &info, &o);
      CHECK("solve ok", rc == OT_OK);
      CHECK("converged", info.status == OT_SINKHORN_CONVERGED);
      if (rel(info.cost, g[k].cost) > 1e-7 || rel(info.objective, g[k].obj) > 1e-7)
        printf("  %s n=%zu: cost %.17g obj %.17g\n", names[meth], t.n, info.cost, info.objective);
      CHECK("cost = POT's sinkhorn2 (1e-7 relative)", rel(info.cost, g[k].cost) < 1e-7);
      CHECK("objective = POT's (1e-7 relative)", rel(info.objective, g[k].obj) < 1e-7);
      /* marginals: rows exact to rounding, columns within tol (L2) */
      double e2 = 0.0, emax = 0.0;
      for (size_t j = 0; j < t.m; j++) {
        double s = 0.0;
        for (size_t i = 0; i < t.n; i++) s += P[i * t.m + j];
        e2 += (s - t.b[j]) * (s - t.b[j]);
      }
      for (size_t i = 0; i < t.n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < t.m; j++) s += P[i * t.m + j];
        emax = fabs(s - t.a[i]) > emax ? fabs(s - t.a[i]) : emax;
      }
      CHECK("column marginal within tol", sqrt(e2) < 1e-9);
      CHECK("row marginal exact (1e-12)", emax < 1e-12);
      if (meth == 0) {
        memcpy(P0, P, t.n * t.m * sizeof(double));
      } else { /* all methods agree with the kernel method (and so log vs kernel) */
        double d = 0.0;
        for (size_t i = 0; i < t.n * t.m; i++) d = fmax(d, fabs(P[i] - P0[i]));
        CHECK("plans agree across methods (1e-9)", d < 1e-9);
      }
    }
    free(P), free(P0);
    drop(&t);
  }
}

/* Sinkhorn -> exact OT as reg -> 0: 0 <= <C, P_eps> - OT <= eps log(nm).  Smaller regs
 * need hundreds of thousands of iterations on these degenerate instances. */
static void test_limit(void) {
  struct {
    size_t n, m;
    double ot;
  } e[] = {{8, 8, 0.050672189666651914}, {6, 9, 0.057367693992108906},
           {12, 10, 0.04311402206070421}};
  double regs[] = {0.1, 0.05, 0.02, 0.01};
  for (size_t k = 0; k < 3; k++) {
    inst t = make(e[k].n, e[k].m);
    for (size_t r = 0; r < 4; r++) {
      ot_sinkhorn_info info;
      ot_sinkhorn_opts o;
      ot_sinkhorn_opts_init(&o);
      o.max_iter = 200000;
      o.tol = 1e-10;
      int rc = solve(&t, regs[r], OT_SINKHORN_LOG, NULL, NULL, NULL, &info, &o);
      double gap = info.cost - e[k].ot, bound = regs[r] * log((double)(t.n * t.m));
      CHECK("limit solve ok", rc == OT_OK && info.status == OT_SINKHORN_CONVERGED);
      /* a marginal error of 1e-10 moves the cost by at most ~1e-10 * sqrt(m) * max(C) */
      CHECK("<C,P_eps> - OT >= 0 (to 1e-9)", gap >= -1e-9);
      CHECK("<C,P_eps> - OT <= eps log(nm)", gap <= bound);
    }
    drop(&t);
  }
}

static int stop_at_3(void *ud, const ot_progress *p) {
  int *calls = ud;
  ++*calls;
  return p->iter >= 3;
}

static void test_outcomes(void) {
  inst t = make(20, 15);
  ot_sinkhorn_info info;
  ot_sinkhorn_opts o;
  double P[300], f[20], g[15];
  /* non-convergence is data, not an error */
  ot_sinkhorn_opts_init(&o);
  o.max_iter = 3;
  for (int meth = 0; meth < OT_SINKHORN_NMETHODS; meth++) {
    int rc = solve(&t, 0.01, meth, P, NULL, NULL, &info, &o);
    CHECK("max_iter: ok", rc == OT_OK);
    CHECK("max_iter: not converged", info.status == OT_SINKHORN_MAX_ITER);
    CHECK("max_iter: 3 iterations", info.iterations == 3);
    CHECK("max_iter: error reported", isfinite(info.err) && info.err > 0);
  }
  /* tol = 0 runs exactly max_iter, with an error per iteration after the first */
  double hist[100];
  ot_sinkhorn_opts_init(&o);
  o.tol = 0;
  o.max_iter = 50;
  o.err_history = hist;
  o.err_cap = 100;
  solve(&t, 0.05, OT_SINKHORN_KERNEL, P, NULL, NULL, &info, &o);
  CHECK("tol 0: exactly max_iter", info.iterations == 50 && info.status == OT_SINKHORN_MAX_ITER);
  CHECK("history length", info.n_err == 50);
  CHECK("history decreases", hist[49] < hist[1]);
  CHECK("final err is the last entry", info.err == hist[49]);
  solve(&t, 0.05, OT_SINKHORN_LOG, P, NULL, NULL, &info, &o);
  CHECK("tol 0 (log): exactly max_iter", info.iterations == 50 && info.n_err == 50);
  /* warm start from converged potentials: done at once */
  ot_sinkhorn_opts_init(&o);
  solve(&t, 0.05, OT_SINKHORN_LOG, P, f, g, &info, &o);
  long cold = info.iterations;
  o.f0 = f, o.g0 = g;
  for (int meth = 0; meth < OT_SINKHORN_NMETHODS; meth++) {
    double f2[20], g2[15];
    o.tol = 1e-8;
    solve(&t, 0.05, meth, P, f2, g2, &info, &o);
    CHECK("warm start converges in <= 1 iteration", info.iterations <= 1 && cold > 10);
    CHECK("warm start converged", info.status == OT_SINKHORN_CONVERGED);
  }
  /* underflow: max M / reg > 700 switches the kernel method to the log domain */
  ot_sinkhorn_opts_init(&o);
  o.max_iter = 5000;
  int rc = solve(&t, 1e-3, OT_SINKHORN_KERNEL, P, NULL, NULL, &info, &o);
  CHECK("underflow: ok", rc == OT_OK);
  CHECK("underflow: switched to log", info.switched == 1 && info.method == OT_SINKHORN_LOG);
  CHECK("underflow: finite cost", isfinite(info.cost));
  o.auto_log = 0;
  CHECK("underflow forced kernel: OT_EINVAL",
        solve(&t, 1e-3, OT_SINKHORN_KERNEL, P, NULL, NULL, &info, &o) == OT_EINVAL);
  rc = solve(&t, 1e-3, OT_SINKHORN_STABILIZED, P, NULL, NULL, &info, &o);
  CHECK("stabilized survives reg = 1e-3", rc == OT_OK && isfinite(info.cost) && !info.switched);
  /* NaN mid-iteration (a NaN warm start): status numeric, not a crash */
  ot_sinkhorn_opts_init(&o);
  double fn[20], gn[15];
  for (size_t i = 0; i < 20; i++) fn[i] = NAN;
  memset(gn, 0, sizeof gn);
  o.f0 = fn, o.g0 = gn;
  solve(&t, 0.05, OT_SINKHORN_KERNEL, P, NULL, NULL, &info, &o);
  CHECK("NaN: numeric status (kernel)", info.status == OT_SINKHORN_NUMERIC);
  solve(&t, 0.05, OT_SINKHORN_LOG, P, NULL, NULL, &info, &o);
  CHECK("NaN: numeric status (log)", info.status == OT_SINKHORN_NUMERIC);
  /* cancel through the progress callback */
  for (int meth = 0; meth < OT_SINKHORN_NMETHODS; meth++) {
    int calls = 0;
    ot_sinkhorn_opts_init(&o);
    o.progress = stop_at_3;
    o.progress_ud = &calls;
    o.tol = 0;
    o.max_iter = 100000;
    /* pacing reports every 10 ms: the callback sees iteration >= 3 at its second call */
    rc = solve(&t, 0.05, meth, P, NULL, NULL, &info, &o);
    CHECK("cancel: OT_ECANCELED", rc == OT_ECANCELED);
    CHECK("cancel: stopped early", info.iterations < 100000 && calls >= 1);
  }
  /* bad arguments */
  ot_sinkhorn_opts_init(&o);
  CHECK("reg 0", solve(&t, 0.0, 0, P, NULL, NULL, &info, &o) == OT_EINVAL);
  CHECK("reg NaN", solve(&t, NAN, 0, P, NULL, NULL, &info, &o) == OT_EINVAL);
  CHECK("reg inf", solve(&t, INFINITY, 0, P, NULL, NULL, &info, &o) == OT_EINVAL);
  CHECK("bad method", solve(&t, 0.1, 9, P, NULL, NULL, &info, &o) == OT_EINVAL);
  /* zero weights are valid */
  t.a[3] = 0.0, t.a[4] *= 2.0 + 0.0;
  weights(t.b, t.m, 1.0);
  double s = 0.0;
  for (size_t i = 0; i < t.n; i++) s += t.a[i];
  for (size_t i = 0; i < t.n; i++) t.a[i] /= s;
  for (int meth = 0; meth < OT_SINKHORN_NMETHODS; meth++) {
    rc = solve(&t, 0.05, meth, P, f, g, &info, &o);
    CHECK("zero weight: converged", rc == OT_OK && info.status == OT_SINKHORN_CONVERGED);
    double rs = 0.0;
    for (size_t j = 0; j < t.m; j++) rs += P[3 * t.m + j];
    CHECK("zero weight: empty row", rs == 0.0 && f[3] == -INFINITY);
  }
  /* allocation failures: every point fails cleanly (ASan checks for leaks) */
  for (long k = 1; k <= 6; k++)
    for (int meth = 0; meth < OT_SINKHORN_NMETHODS; meth++) {
      ot_mem_fail_after(k);
      rc = solve(&t, 0.05, meth, NULL, NULL, NULL, &info, &o);
      ot_mem_fail_after(0);
      CHECK("allocation failure reported", rc == OT_OK || rc == OT_ENOMEM);
    }
  drop(&t);
}

static void test_unbalanced(void) {
  struct {
    size_t n, m;
    double reg, reg_m, cost, p11, mass;
  } u[] = {{10, 12, 0.1, 1.0, 0.13762309293317423, 0.0018732293673793224, 1.3941229143374938},
           {7, 5, 0.05, 0.5, 0.07684460748523544, 0.0004825915595237218, 1.2771627216946495}};
  for (size_t k = 0; k < 2; k++) {
    inst t = make(u[k].n, u[k].m);
    weights(t.b, t.m, 1.5);
    double *P = malloc(t.n * t.m * sizeof(double));
    for (int meth = 0; meth < 2; meth++) {
      ot_sinkhorn_opts o;
      ot_sinkhorn_info info;
      ot_sinkhorn_opts_init(&o);
      o.method = meth;
      o.tol = 1e-13;
      o.max_iter = 100000;
      ot_mat Pv = ot_mat_view(P, t.n, t.m);
      int rc = ot_sinkhorn_unbalanced(Pv, NULL, NULL, t.a, t.b, ot_mat_view(t.M, t.n, t.m),
                                      u[k].reg, u[k].reg_m, &o, &info);
      double mass = 0.0;
      for (size_t i = 0; i < t.n * t.m; i++) mass += P[i];
      CHECK("unbalanced ok", rc == OT_OK && info.status == OT_SINKHORN_CONVERGED);
      CHECK("unbalanced cost = POT's (1e-7 relative)", rel(info.cost, u[k].cost) < 1e-7);
      CHECK("unbalanced P11 = POT's (1e-7 relative)", rel(P[0], u[k].p11) < 1e-7);
      CHECK("unbalanced mass = POT's (1e-7 relative)", rel(mass, u[k].mass) < 1e-7);
      if (rel(info.cost, u[k].cost) > 1e-7) printf("  unbalanced %d: %.17g\n", meth, info.cost);
    }
    free(P);
    drop(&t);
  }
}

static void test_divergence(void) {
  struct {
    size_t n, m;
    double reg, s;
  } dv[] = {{10, 14, 0.1, 0.02416574931123533}, {25, 20, 0.05, 0.011903400485160615}};
  for (size_t k = 0; k < 2; k++) {
    inst t = make(dv[k].n, dv[k].m);
    for (int online = 0; online < 2; online++)
      for (int scale = 0; scale < 2; scale++) {
        ot_divergence_opts o;
        ot_divergence_info info;
        ot_divergence_opts_init(&o);
        o.online = online;
        o.scaling = scale ? 0.5 : 0.0;
        o.max_iter = 100000;
        o.tol = 1e-12;
        double s;
        int rc = ot_sinkhorn_divergence(&s, ot_mat_view(t.X, t.n, 2), ot_mat_view(t.Y, t.m, 2),
                                        t.a, t.b, dv[k].reg, &o, &info);
        CHECK("divergence ok", rc == OT_OK && info.status == OT_SINKHORN_CONVERGED);
        if (rel(s, dv[k].s) > 1e-7) printf("  divergence %d %d: %.17g\n", online, scale, s);
        CHECK("divergence = POT's objectives (1e-7 relative)", rel(s, dv[k].s) < 1e-7);
        CHECK("divergence >= 0", s >= 0);
      }
    /* identical inputs: 0 */
    ot_divergence_opts o;
    ot_divergence_info info;
    ot_divergence_opts_init(&o);
    double s;
    ot_sinkhorn_divergence(&s, ot_mat_view(t.X, t.n, 2), ot_mat_view(t.X, t.n, 2), t.a, t.a,
                           dv[k].reg, &o, &info);
    CHECK_NEAR("divergence(X, X) = 0", s, 0.0, 1e-12);
    o.online = 1;
    o.metric = OT_DIV_EUCLIDEAN;
    ot_sinkhorn_divergence(&s, ot_mat_view(t.X, t.n, 2), ot_mat_view(t.X, t.n, 2), t.a, t.a,
                           dv[k].reg, &o, &info);
    CHECK_NEAR("divergence(X, X) = 0 (euclidean, online)", s, 0.0, 1e-12);
    /* online == dense for the euclidean metric too */
    double s1, s2;
    o.tol = 1e-12;
    ot_sinkhorn_divergence(&s1, ot_mat_view(t.X, t.n, 2), ot_mat_view(t.Y, t.m, 2), t.a, t.b,
                           dv[k].reg, &o, &info);
    o.online = 0;
    ot_sinkhorn_divergence(&s2, ot_mat_view(t.X, t.n, 2), ot_mat_view(t.Y, t.m, 2), t.a, t.b,
                           dv[k].reg, &o, &info);
    CHECK_NEAR("online == dense (euclidean)", s1, s2, 1e-12);
    CHECK("euclidean divergence > 0", s1 > 0);
    drop(&t);
  }
}

int main(void) {
  test_vexp();
  test_golden();
  test_limit();
  test_outcomes();
  test_unbalanced();
  test_divergence();
  return test_report();
}
