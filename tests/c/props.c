/*
 * props.c -- seeded random property tests of the OT core
 * (specs/reliability.md, "Property tests on seeded random instances").
 *
 * Each property runs on NINST = 1000 small random instances (n, m <= 9,
 * so the whole file stays a few seconds under ASan; 100 under valgrind).  Instance k of a property
 * uses the generator seeded with SEED + k; a failure prints the property,
 * the seed and the numbers, so `OTLAB_PROPS_SEED=<seed> OTLAB_PROPS_N=1
 * test_props` replays exactly that instance.  Tolerances (stated per
 * property below) are those of the spec:
 *   exact OT:  marginals within 1e-12 n, duality gap <= 1e-9 relative,
 *              reduced costs >= -1e-9 (costs scaled to [0, 1]);
 *   symmetry:  W(a, b, C) = W(b, a, C^T) to 1e-12 relative;
 *   triangle:  W2(X, Z) <= W2(X, Y) + W2(Y, Z) + 1e-9;
 *   Bures:     1-D and commuting covariances against their closed forms
 *              to 1e-9 relative (plus sqrt(eps |C1| |C2|) per dimension
 *              when C1 is singular), and symmetric in its two arguments;
 *   entropic:  -1e-7 <= <C, P_eps> - OT <= eps log(n m) + 1e-7, for a
 *              shrinking eps, and the gap bound shrinks with eps;
 *   log vs kernel Sinkhorn: plans within 1e-9, costs within 1e-10 where
 *              max(C)/eps <= 50 (no underflow);
 *   1-D:       the sorted coupling's cost equals the network simplex's to
 *              1e-12 relative, and W1 equals the integral of |F_a - F_b|.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emd.h"
#include "gauss.h"
#include "mat.h"
#include "rand.h"
#include "sinkhorn.h"
#include "test.h"

#define MAXN 9
#define MAXD 4

static uint64_t SEED = 20261128u;
static long NINST = 1000;

/* One failed instance: prints the property and the seed that replays it. */
#define PROP(name, k, cond, ...)                                                  \
  do {                                                                            \
    if (cond) {                                                                   \
      test_passed++;                                                              \
    } else {                                                                      \
      test_failed++;                                                              \
      printf("FAIL %s: seed %llu (OTLAB_PROPS_SEED=%llu OTLAB_PROPS_N=1): ", name, \
             (unsigned long long)(SEED + (uint64_t)(k)),                          \
             (unsigned long long)(SEED + (uint64_t)(k)));                         \
      printf(__VA_ARGS__);                                                        \
      printf("\n");                                                               \
    }                                                                             \
  } while (0)

typedef struct problem {
  size_t n, m, d;
  double a[MAXN], b[MAXN];
  double X[MAXN * MAXD], Y[MAXN * MAXD];
  double C[MAXN * MAXN], CT[MAXN * MAXN];
} problem;

static size_t uniform_int(ot_rng *r, size_t lo, size_t hi) {
  return lo + (size_t)(ot_rng_uniform(r) * (double)(hi - lo + 1)) % (hi - lo + 1);
}

/* Random weights summing to 1; with zeros sometimes (never all). */
static void weights(ot_rng *r, double *w, size_t n, int zeros) {
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    w[i] = (zeros && ot_rng_uniform(r) < 0.2) ? 0.0 : 0.05 + ot_rng_uniform(r);
    s += w[i];
  }
  if (s == 0) {
    w[0] = 1;
    s = 1;
  }
  for (size_t i = 0; i < n; i++) w[i] /= s;
}

static double sqdist(const double *x, const double *y, size_t d) {
  double s = 0;
  for (size_t k = 0; k < d; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
  return s;
}

/* Fill C (and CT) from points (kind 0) or uniform entries in [0, 1]. */
static void make_problem(ot_rng *r, problem *p, size_t nmin, int zeros) {
  p->n = uniform_int(r, nmin, MAXN);
  p->m = uniform_int(r, nmin, MAXN);
  p->d = uniform_int(r, 1, MAXD);
  weights(r, p->a, p->n, zeros);
  weights(r, p->b, p->m, zeros);
  for (size_t i = 0; i < p->n * p->d; i++) p->X[i] = ot_rng_uniform(r);
  for (size_t i = 0; i < p->m * p->d; i++) p->Y[i] = ot_rng_uniform(r);
  int points = ot_rng_uniform(r) < 0.5;
  for (size_t i = 0; i < p->n; i++)
    for (size_t j = 0; j < p->m; j++) {
      double c = points ? sqdist(p->X + i * p->d, p->Y + j * p->d, p->d) / (double)p->d
                        : ot_rng_uniform(r);
      p->C[i * p->m + j] = c;
      p->CT[j * p->n + i] = c;
    }
}

typedef struct emd_out {
  int rc;
  ot_emd_result res;
  size_t pi[2 * MAXN], pj[2 * MAXN];
  double mass[2 * MAXN], u[MAXN], v[MAXN];
} emd_out;

static void emd(const double *a, size_t n, const double *b, size_t m, double *C, emd_out *o) {
  ot_emd_problem prob;
  memset(&prob, 0, sizeof prob);
  prob.n = n;
  prob.m = m;
  prob.a = a;
  prob.b = b;
  prob.C = ot_mat_view(C, n, m);
  ot_emd_opts opts;
  ot_emd_opts_init(&opts);
  o->rc = ot_emd_solve(&prob, &opts, o->pi, o->pj, o->mass, o->u, o->v, &o->res);
}

/* ---- exact OT: marginals, duality gap, reduced costs, symmetry ---------- */
static void prop_emd(void) {
  for (long k = 0; k < NINST; k++) {
    ot_rng r;
    ot_rng_seed(&r, SEED + (uint64_t)k);
    problem p;
    make_problem(&r, &p, 1, 1);
    emd_out o, t;
    emd(p.a, p.n, p.b, p.m, p.C, &o);
    if (o.rc != OT_OK || o.res.status != OT_EMD_OPTIMAL) {
      PROP("emd solves", k, 0, "rc %d status %d (n %zu m %zu)", o.rc, o.res.status, p.n, p.m);
      continue;
    }
    double row[MAXN] = {0}, col[MAXN] = {0}, cost = 0, err = 0;
    int neg = 0;
    for (size_t t2 = 0; t2 < o.res.nnz; t2++) {
      row[o.pi[t2]] += o.mass[t2];
      col[o.pj[t2]] += o.mass[t2];
      cost += o.mass[t2] * p.C[o.pi[t2] * p.m + o.pj[t2]];
      neg |= o.mass[t2] < 0;
    }
    for (size_t i = 0; i < p.n; i++) err = fmax(err, fabs(row[i] - p.a[i]));
    for (size_t j = 0; j < p.m; j++) err = fmax(err, fabs(col[j] - p.b[j]));
    size_t nm = p.n > p.m ? p.n : p.m;
    PROP("emd marginals", k, err <= 1e-12 * (double)nm && !neg, "err %.3g (n %zu m %zu)", err,
         p.n, p.m);
    double dual = 0, minrc = INFINITY;
    for (size_t i = 0; i < p.n; i++) dual += p.a[i] * o.u[i];
    for (size_t j = 0; j < p.m; j++) dual += p.b[j] * o.v[j];
    for (size_t i = 0; i < p.n; i++)
      for (size_t j = 0; j < p.m; j++) minrc = fmin(minrc, p.C[i * p.m + j] - o.u[i] - o.v[j]);
    PROP("emd duality gap", k, fabs(cost - dual) <= 1e-9 * fmax(1.0, fabs(cost)),
         "primal %.17g dual %.17g", cost, dual);
    PROP("emd reported cost", k, fabs(cost - o.res.cost) <= 1e-12 * fmax(1.0, cost),
         "sum %.17g reported %.17g", cost, o.res.cost);
    PROP("emd reduced costs", k, minrc >= -1e-9, "min reduced cost %.3g", minrc);
    emd(p.b, p.m, p.a, p.n, p.CT, &t);
    PROP("emd symmetry", k,
         t.rc == OT_OK && fabs(t.res.cost - o.res.cost) <= 1e-12 * fmax(1.0, o.res.cost),
         "W(a,b,C) %.17g W(b,a,C^T) %.17g", o.res.cost, t.res.cost);
  }
}

/* ---- W2 triangle inequality on random triples -------------------------- */
static double w2(const double *X, const double *a, size_t n, const double *Y, const double *b,
                 size_t m, size_t d, int *rc) {
  double C[MAXN * MAXN];
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++) C[i * m + j] = sqdist(X + i * d, Y + j * d, d);
  emd_out o;
  emd(a, n, b, m, C, &o);
  if (o.rc != OT_OK || o.res.status != OT_EMD_OPTIMAL) *rc = 1;
  return sqrt(fmax(o.res.cost, 0.0));
}

static void prop_triangle(void) {
  for (long k = 0; k < NINST; k++) {
    ot_rng r;
    ot_rng_seed(&r, SEED + (uint64_t)k);
    size_t d = uniform_int(&r, 1, MAXD), n[3];
    double P[3][MAXN * MAXD], w[3][MAXN];
    for (int s = 0; s < 3; s++) {
      n[s] = uniform_int(&r, 1, MAXN);
      weights(&r, w[s], n[s], 1);
      double shift = 2 * ot_rng_uniform(&r);
      for (size_t i = 0; i < n[s] * d; i++) P[s][i] = ot_rng_normal(&r) + shift;
    }
    int bad = 0;
    double xy = w2(P[0], w[0], n[0], P[1], w[1], n[1], d, &bad);
    double yz = w2(P[1], w[1], n[1], P[2], w[2], n[2], d, &bad);
    double xz = w2(P[0], w[0], n[0], P[2], w[2], n[2], d, &bad);
    PROP("W2 triangle inequality", k, !bad && xz <= xy + yz + 1e-9,
         "W2(X,Z) %.17g > W2(X,Y) %.17g + W2(Y,Z) %.17g", xz, xy, yz);
  }
}

/* ---- Bures: 1-D and commuting covariances --------------------------------- */
static void prop_bures(void) {
  for (long k = 0; k < NINST; k++) {
    ot_rng r;
    ot_rng_seed(&r, SEED + (uint64_t)k);
    size_t d = uniform_int(&r, 1, MAXD);
    /* Q: a random orthogonal matrix (Gram-Schmidt of a Gaussian one, with
     * re-orthogonalization: one pass leaves Q off by cond * eps, which
     * shows as a wrong "closed form"). */
    double Q[MAXD * MAXD], l1[MAXD], l2[MAXD], m1[MAXD], m2[MAXD];
    for (size_t i = 0; i < d * d; i++) Q[i] = ot_rng_normal(&r);
    for (size_t c = 0; c < d; c++) {
      for (int pass = 0; pass < 2; pass++) /* twice: orthogonal to rounding */
        for (size_t c2 = 0; c2 < c; c2++) {
          double dot = 0;
          for (size_t i = 0; i < d; i++) dot += Q[i * d + c] * Q[i * d + c2];
          for (size_t i = 0; i < d; i++) Q[i * d + c] -= dot * Q[i * d + c2];
        }
      double nrm = 0;
      for (size_t i = 0; i < d; i++) nrm += Q[i * d + c] * Q[i * d + c];
      nrm = sqrt(nrm);
      for (size_t i = 0; i < d; i++) Q[i * d + c] /= nrm;
    }
    double want = 0;
    for (size_t i = 0; i < d; i++) {
      /* eigenvalues spread over 4 decades, a zero one now and then */
      l1[i] = ot_rng_uniform(&r) < 0.05 ? 0.0 : pow(10.0, 4 * ot_rng_uniform(&r) - 2);
      l2[i] = pow(10.0, 4 * ot_rng_uniform(&r) - 2);
      m1[i] = ot_rng_normal(&r);
      m2[i] = ot_rng_normal(&r);
      want += (m1[i] - m2[i]) * (m1[i] - m2[i]) + (sqrt(l1[i]) - sqrt(l2[i])) * (sqrt(l1[i]) - sqrt(l2[i]));
    }
    double C1[MAXD * MAXD], C2[MAXD * MAXD];
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++) {
        double s1 = 0, s2 = 0;
        for (size_t c = 0; c < d; c++) {
          s1 += Q[i * d + c] * l1[c] * Q[j * d + c];
          s2 += Q[i * d + c] * l2[c] * Q[j * d + c];
        }
        C1[i * d + j] = s1;
        C2[i * d + j] = s2;
      }
    for (size_t i = 0; i < d; i++) /* exact symmetry */
      for (size_t j = 0; j < i; j++) {
        C1[i * d + j] = C1[j * d + i];
        C2[i * d + j] = C2[j * d + i];
      }
    double got = NAN, back = NAN;
    int rc = ot_gauss_bures(&got, m1, ot_mat_view(C1, d, d), m2, ot_mat_view(C2, d, d), NULL, NULL);
    int rc2 = ot_gauss_bures(&back, m2, ot_mat_view(C2, d, d), m1, ot_mat_view(C1, d, d), NULL, NULL);
    /* Tolerance: 1e-9 relative to the scale of the traces; when C1 is
     * singular, the square root of a rounded zero eigenvalue (~eps |C1|)
     * adds up to sqrt(eps |C1| |C2|) per dimension: sqrt is not Lipschitz
     * at 0, so no method does better in floating point. */
    double max1 = 0, max2 = 0, tr = 0;
    int singular = 0;
    for (size_t i = 0; i < d; i++) {
      max1 = fmax(max1, l1[i]);
      max2 = fmax(max2, l2[i]);
      tr += l1[i] + l2[i];
      singular |= l1[i] == 0;
    }
    double tol = 1e-9 * fmax(want, tr) +
                 (singular ? 4.0 * (double)d * sqrt(2.2e-16 * max1 * max2) : 0.0);
    PROP("Bures commuting covariances", k, rc == OT_OK && fabs(got - want) <= tol,
         "d %zu: got %.17g, closed form %.17g (rc %d, %s)", d, got, want, rc,
         singular ? "singular C1" : "C1 > 0");
    PROP("Bures symmetry", k, rc2 == OT_OK && fabs(got - back) <= tol, "%.17g vs %.17g", got,
         back);
    /* 1-D: (m1 - m2)^2 + (s1 - s2)^2 */
    double s1 = pow(10.0, 3 * ot_rng_uniform(&r) - 1.5), s2 = pow(10.0, 3 * ot_rng_uniform(&r) - 1.5);
    double v1 = s1 * s1, v2 = s2 * s2, w1d = NAN;
    rc = ot_gauss_bures(&w1d, m1, ot_mat_view(&v1, 1, 1), m2, ot_mat_view(&v2, 1, 1), NULL, NULL);
    double want1 = (m1[0] - m2[0]) * (m1[0] - m2[0]) + (s1 - s2) * (s1 - s2);
    PROP("Bures 1-D", k, rc == OT_OK && fabs(w1d - want1) <= 1e-9 * fmax(1.0, want1),
         "got %.17g want %.17g", w1d, want1);
  }
}

/* ---- Sinkhorn ------------------------------------------------------------ */
static int sinkhorn(problem *p, int method, double reg, double tol, double *P,
                    ot_sinkhorn_info *info) {
  ot_sinkhorn_opts o;
  ot_sinkhorn_opts_init(&o);
  o.method = method;
  o.auto_log = 0;
  o.tol = tol;
  o.max_iter = 20000;
  return ot_sinkhorn_solve(ot_mat_view(P, p->n, p->m), NULL, NULL, p->a, p->b,
                           ot_mat_view(p->C, p->n, p->m), reg, &o, info);
}

static void prop_sinkhorn(void) {
  static const int methods[] = {OT_SINKHORN_KERNEL, OT_SINKHORN_LOG, OT_SINKHORN_STABILIZED};
  static const char *const names[] = {"kernel", "log", "stabilized"};
  long converged = 0, slow = 0;
  for (long k = 0; k < NINST; k++) {
    ot_rng r;
    ot_rng_seed(&r, SEED + (uint64_t)k);
    problem p;
    make_problem(&r, &p, 2, 0);
    emd_out e;
    emd(p.a, p.n, p.b, p.m, p.C, &e);
    double P[MAXN * MAXN], PL[MAXN * MAXN];
    double bound_prev = INFINITY;
    /* entropic -> exact: a shrinking reg; the log domain for the small ones */
    static const double regs[] = {0.5, 0.1, 0.02, 0.005};
    for (size_t q = 0; q < sizeof regs / sizeof regs[0]; q++) {
      double reg = regs[q];
      int method = reg >= 0.02 ? methods[k % 3] : OT_SINKHORN_LOG;
      ot_sinkhorn_info info;
      int rc = sinkhorn(&p, method, reg, 1e-11, P, &info);
      if (rc == OT_OK && info.status == OT_SINKHORN_MAX_ITER) {
        slow++; /* not an error (slow at small reg); counted below */
        continue;
      }
      if (rc != OT_OK || info.status != OT_SINKHORN_CONVERGED) {
        PROP("sinkhorn runs", k, 0, "%s reg %g: rc %d status %d after %ld iterations",
             names[method == OT_SINKHORN_LOG ? 1 : k % 3], reg, rc, info.status, info.iterations);
        continue;
      }
      converged++;
      double row[MAXN] = {0}, col[MAXN] = {0}, cost = 0, err = 0;
      for (size_t i = 0; i < p.n; i++)
        for (size_t j = 0; j < p.m; j++) {
          row[i] += P[i * p.m + j];
          col[j] += P[i * p.m + j];
          cost += P[i * p.m + j] * p.C[i * p.m + j];
        }
      for (size_t i = 0; i < p.n; i++) err += fabs(row[i] - p.a[i]);
      for (size_t j = 0; j < p.m; j++) err += fabs(col[j] - p.b[j]);
      PROP("sinkhorn marginals", k, err <= 1e-9, "%s reg %g: L1 marginal error %.3g",
           names[method == OT_SINKHORN_LOG ? 1 : k % 3], reg, err);
      PROP("sinkhorn cost", k, fabs(cost - info.cost) <= 1e-12, "<C,P> %.17g reported %.17g",
           cost, info.cost);
      double gap = cost - e.res.cost, bound = reg * log((double)(p.n * p.m));
      PROP("entropic >= exact", k, gap >= -1e-8, "reg %g: <C,P_eps> %.17g < OT %.17g", reg, cost,
           e.res.cost);
      PROP("entropic gap <= eps log(nm)", k, gap <= bound + 1e-8,
           "reg %g: <C,P_eps> - OT = %.3g > %.3g", reg, gap, bound);
      PROP("entropic bound shrinks", k, bound < bound_prev, "%.3g", bound);
      bound_prev = bound;
    }
    /* log vs kernel where the kernel does not underflow */
    double cmax = 0;
    for (size_t i = 0; i < p.n * p.m; i++) cmax = fmax(cmax, p.C[i]);
    double reg = fmax(0.05, cmax / 50) * (1 + ot_rng_uniform(&r));
    ot_sinkhorn_info ik, il;
    int rk = sinkhorn(&p, OT_SINKHORN_KERNEL, reg, 1e-13, P, &ik);
    int rl = sinkhorn(&p, OT_SINKHORN_LOG, reg, 1e-13, PL, &il);
    double diff = 0;
    for (size_t i = 0; i < p.n * p.m; i++) diff = fmax(diff, fabs(P[i] - PL[i]));
    PROP("log vs kernel sinkhorn", k,
         rk == OT_OK && rl == OT_OK && diff <= 1e-9 && fabs(ik.cost - il.cost) <= 1e-10,
         "reg %g: max |P_kernel - P_log| %.3g, costs %.17g %.17g", reg, diff, ik.cost, il.cost);
  }
  printf("sinkhorn: %ld runs converged to 1e-11, %ld reached 20000 iterations\n", converged,
         slow);
  CHECK("sinkhorn runs converged (>= 99%)", converged >= 4 * NINST * 99 / 100);
}

/* ---- 1-D closed forms ------------------------------------------------------ */
typedef struct wpt {
  double x, w;
} wpt;

static int wpt_cmp(const void *p, const void *q) {
  double a = ((const wpt *)p)->x, b = ((const wpt *)q)->x;
  return (a > b) - (a < b);
}

/* W1 = integral of |F_a(t) - F_b(t)| dt, from the merged sorted points. */
static double w1_cdf(const double *x, const double *a, size_t n, const double *y,
                     const double *b, size_t m) {
  wpt pts[2 * MAXN];
  for (size_t i = 0; i < n; i++) pts[i] = (wpt){x[i], a[i]};
  for (size_t j = 0; j < m; j++) pts[n + j] = (wpt){y[j], -b[j]};
  qsort(pts, n + m, sizeof pts[0], wpt_cmp);
  double F = 0, s = 0;
  for (size_t t = 0; t + 1 < n + m; t++) {
    F += pts[t].w;
    s += fabs(F) * (pts[t + 1].x - pts[t].x);
  }
  return s;
}

static void prop_1d(void) {
  for (long k = 0; k < NINST; k++) {
    ot_rng r;
    ot_rng_seed(&r, SEED + (uint64_t)k);
    problem p;
    make_problem(&r, &p, 1, 1);
    double *x = p.X, *y = p.Y;
    /* ties now and then */
    if (ot_rng_uniform(&r) < 0.2) y[0] = x[0];
    double C[MAXN * MAXN];
    for (size_t i = 0; i < p.n; i++)
      for (size_t j = 0; j < p.m; j++) C[i * p.m + j] = (x[i] - y[j]) * (x[i] - y[j]);
    emd_out e;
    emd(p.a, p.n, p.b, p.m, C, &e);
    double c1 = NAN, w1 = NAN, wp = NAN;
    int rc = ot_emd_1d(x, p.n, y, p.m, p.a, p.b, OT_EMD1D_SQEUCLIDEAN, 2, NULL, NULL, NULL, NULL,
                       &c1);
    PROP("1-D sorted coupling = emd", k,
         rc == OT_OK && e.rc == OT_OK && fabs(c1 - e.res.cost) <= 1e-12 * fmax(1e-3, e.res.cost),
         "emd_1d %.17g emd %.17g", c1, e.res.cost);
    rc = ot_emd_1d(x, p.n, y, p.m, p.a, p.b, OT_EMD1D_EUCLIDEAN, 1, NULL, NULL, NULL, NULL, &w1);
    int rc2 = ot_emd_wasserstein_1d(x, p.n, y, p.m, p.a, p.b, 1.0, &wp);
    double want = w1_cdf(x, p.a, p.n, y, p.b, p.m);
    PROP("1-D W1 = integral |F_a - F_b|", k,
         rc == OT_OK && rc2 == OT_OK && fabs(w1 - want) <= 1e-12 && fabs(wp - want) <= 1e-12,
         "emd_1d %.17g wasserstein_1d %.17g cdf %.17g", w1, wp, want);
  }
}

int main(void) {
  const char *s = getenv("OTLAB_PROPS_SEED"), *n = getenv("OTLAB_PROPS_N");
  if (s && *s) SEED = strtoull(s, NULL, 10);
  /* Under valgrind (its preload library in LD_PRELOAD) 100 instances per
   * property: 1000 take ~10 minutes there; the normal and ASan runs do 1000. */
  const char *pre = getenv("LD_PRELOAD");
  if (pre && strstr(pre, "vgpreload")) NINST = 100;
  if (n && *n) NINST = strtol(n, NULL, 10);
  printf("property tests: seed %llu, %ld instances per property\n", (unsigned long long)SEED,
         NINST);
  prop_emd();
  prop_triangle();
  prop_bures();
  prop_sinkhorn();
  prop_1d();
  return test_report();
}
