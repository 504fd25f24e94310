/*
 * sinkhorn.c -- entropic optimal transport (see sinkhorn.h for the problem,
 * the conventions and the contracts).
 *
 * References:
 *   M. Cuturi, Sinkhorn distances: lightspeed computation of optimal
 *     transport, NIPS 2013 (the kernel scaling iterations, Algorithm 1).
 *   B. Schmitzer, Stabilized sparse scaling algorithms for entropy
 *     regularized transport problems, SIAM J. Sci. Comput. 2019 (the
 *     log-domain updates, absorption into potentials, Algorithm 2, and
 *     epsilon-scaling, Section 3.2).
 *   L. Chizat, G. Peyre, B. Schmitzer, F.-X. Vialard, Scaling algorithms for
 *     unbalanced optimal transport problems, Math. Comp. 2018 (Algorithm 1
 *     with the KL proximal step: the exponent reg_m / (reg_m + reg)).
 *   J. Feydy et al., Interpolating between optimal transport and MMD using
 *     Sinkhorn divergences, AISTATS 2019 (the debiased divergence, the
 *     symmetric updates and the epsilon-scaling schedule of GeomLoss).
 *
 * Layout of the work: the kernel method keeps one n x m matrix K and does
 * two dgemv per iteration (K^T u then K v).  The log-domain methods keep M
 * and a transposed copy MT, so both half-iterations are row passes of the
 * fused log-sum-exp kernel (vexp.c) threaded with OpenMP over rows.
 */
#include "sinkhorn.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "linalg.h"
#include "view.h"
#include "vexp.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many elements a row pass is not worth waking the threads. */
#define OMP_MIN_WORK 32768

void ot_sinkhorn_opts_init(ot_sinkhorn_opts *o) {
  memset(o, 0, sizeof *o);
  o->method = OT_SINKHORN_KERNEL;
  o->auto_log = 1;
  o->max_iter = 1000;
  o->tol = 1e-9;
  o->tau = 1e3;
  o->eps0 = 0.0;
  o->eps_factor = 0.5;
  o->eps_inner = 10;
}

void ot_divergence_opts_init(ot_divergence_opts *o) {
  memset(o, 0, sizeof *o);
  o->metric = OT_DIV_SQEUCLIDEAN;
  o->online = 0;
  o->max_iter = 1000;
  o->tol = 1e-9;
  o->scaling = 0.5;
}

/* ---- shared helpers ------------------------------------------------------- */

/*
 * Progress pacing: report at the first call, then at most every 10 ms
 * unless `force`; the callback sees the iteration, the error and the
 * elapsed time.  Returns 1 when the callback asks to stop.
 *
 * For the live panel the balanced solver also shows its current plan
 * (an OT_VIEW_PLAN in ot_progress.state) when n m <= SINKHORN_VIEW_MAX:
 * the plan is rebuilt from the potentials into `plan` at most every
 * SINKHORN_VIEW_EVERY seconds once the run has lasted that long (quick
 * calls pay nothing), and reported with every call after that.
 */
#define SINKHORN_VIEW_MAX ((size_t)1 << 20)
#define SINKHORN_VIEW_EVERY 0.2

typedef struct pacer {
  ot_progress_fn fn;
  void *ud;
  const char *kernel;
  long max_iter;
  double t0, last;
  /* the panel's view of the plan: NULL plan when not shown */
  double *plan;                /* n x m, owned by the solver */
  ot_view view;
  const void *st;              /* the kstate or lstate the plan comes from */
  int log_domain;              /* 1: st is an lstate */
  double reg;                  /* the reg of the current iterations */
  double last_plan;            /* ot_clock() of the last rebuild; < 0: never */
  const double *a, *b;         /* the weights: the objective <a, f> + <b, g> */
  long iter;                   /* iter and err of the last pace() call, for the */
  double err;                  /*   checks inside a pass (lse_rows) */
} pacer;

static void pacer_init(pacer *p, const char *kernel, ot_progress_fn fn, void *ud, long max_iter) {
  memset(p, 0, sizeof *p);
  p->fn = fn;
  p->ud = ud;
  p->kernel = kernel;
  p->max_iter = max_iter;
  p->t0 = ot_clock();
  p->last = -1.0;
  p->last_plan = -1.0;
}

static void pacer_fill_plan(pacer *p);
static double pacer_objective(const pacer *p);

static int pace(pacer *p, long iter, double err, int force) {
  if (!p->fn) return 0;
  p->iter = iter;
  p->err = err;
  double now = ot_clock();
  /* at most every 5 ms: the callback also carries Ctrl-C, answered in 20 ms */
  if (!force && p->last >= 0 && now - p->last < 0.005) return 0;
  p->last = now;
  if (p->plan && p->st && now - p->t0 >= SINKHORN_VIEW_EVERY &&
      (force || now - p->last_plan >= SINKHORN_VIEW_EVERY)) {
    pacer_fill_plan(p);
    p->last_plan = now;
  }
  ot_progress pr = {p->kernel, iter, p->max_iter, err, p->a && p->st ? pacer_objective(p) : NAN,
                    now - p->t0, p->last_plan >= 0 ? &p->view : NULL};
  return p->fn(p->ud, &pr) != 0;
}

/* Largest |M_ij|: the underflow test compares it with 700 reg. */
static double max_abs(ot_mat M) {
  double mx = 0.0;
  for (size_t i = 0; i < M.rows; i++) {
    const double *r = M.data + i * M.ld;
    for (size_t j = 0; j < M.cols; j++) {
      double v = fabs(r[j]);
      mx = v > mx ? v : mx;
    }
  }
  return mx;
}

static void record_err(ot_sinkhorn_info *info, const ot_sinkhorn_opts *o, double err) {
  info->err = err;
  if (o->err_history && info->n_err < o->err_cap) o->err_history[info->n_err++] = err;
}

/*
 * out[i] = log sum_j exp((h_j - C_ij) / reg) for the rows of C (rows x
 * cols, leading dimension ld): the fused soft-min pass, threaded over rows.
 * hint_reg > 0: out[] holds the previous pass's results, computed at
 * reg = hint_reg; out[i] * hint_reg is then the shift of a one-pass sum
 * (vexp.h), which saves the max pass.  hint_reg = 0: no hints.
 */
static void lse_rows(double *out, const double *h, const double *C, size_t rows, size_t cols,
                     size_t ld, double s, double hint_reg, pacer *pc, int *canceled) {
  /* With a progress callback the pass goes in blocks of ~2^21 pairs with a
   * pace() check between them: a whole pass takes ~10-20 ms at 3000 x 3000
   * and Ctrl-C must answer within 20 ms.  A cancel sets *canceled and
   * leaves out[] partly updated (the caller gives up the iterate). */
  size_t block = rows;
  if (pc && pc->fn && cols) {
    block = ((size_t)1 << 21) / cols;
    if (block < 16) block = 16;
  }
  for (size_t i0 = 0; i0 < rows; i0 += block) {
    long lo = (long)i0, hi = (long)(rows - i0 < block ? rows : i0 + block);
#pragma omp parallel for schedule(dynamic, 8) if (rows * cols > OMP_MIN_WORK)
    for (long i = lo; i < hi; i++)
      out[i] = ot_vexp_lse(h, C + (size_t)i * ld, cols, s, hint_reg > 0 ? out[i] * hint_reg : NAN);
    if ((size_t)hi < rows && pc && pace(pc, pc->iter, pc->err, 0)) {
      *canceled = 1;
      return;
    }
  }
}

/* Sum over i with w_i > 0 of w_i * x_i (skips the -inf potentials of empty rows). */
static double wdot(const double *w, const double *x, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    if (w[i] > 0) s += w[i] * x[i];
  return s;
}

/* KL(x | y) = sum x log(x / y) - x + y, with 0 log 0 = 0. */
static double kl(const double *x, const double *y, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (x[i] > 0) s += x[i] * log(x[i] / y[i]);
    s += y[i] - x[i];
  }
  return s;
}

/* ---- the log-domain engine ---------------------------------------------- */

/*
 * State of the log-domain iterations, shared by the log, epsilon-scaling
 * and unbalanced solvers.  Owns MT and the scratch vectors; f and g point
 * at the caller's outputs or at owned scratch.
 */
typedef struct lstate {
  size_t n, m;
  ot_mat M;
  double *MT;          /* m x n, M transposed (owned) */
  const double *a, *b;
  double *loga, *logb; /* owned, -inf for zero weights */
  double *f, *g;       /* the log potentials (cost units) */
  double *lr, *lc;     /* row and column log-sum-exp results (owned) */
  double *fprev, *gprev;
  double fi;           /* KL exponent reg_m / (reg_m + reg); 1 when balanced */
  double lr_reg, lc_reg; /* reg at which lr, lc were last computed (0: never) */
  pacer *pc;           /* checks inside the passes (balanced loop only; else NULL) */
  int canceled;        /* set by a pass that the progress callback stopped */
} lstate;

static void lstate_free(lstate *st) {
  ot_free(st->MT);
  ot_free(st->loga);
  ot_free(st->lr);
  st->MT = st->loga = st->lr = NULL;
}

/* Allocate MT and scratch; transpose M.  f, g are the caller's buffers. */
static int lstate_init(lstate *st, ot_mat M, const double *a, const double *b, double *f,
                       double *g) {
  size_t n = M.rows, m = M.cols;
  int rc;
  memset(st, 0, sizeof *st);
  st->n = n;
  st->m = m;
  st->M = M;
  st->a = a;
  st->b = b;
  st->f = f;
  st->g = g;
  st->fi = 1.0;
  if ((rc = ot_alloc_doubles(m, n, &st->MT))) return rc;
  if ((rc = ot_alloc_doubles(2, n + m, &st->loga))) return rc;
  if ((rc = ot_alloc_doubles(2, n + m, &st->lr))) return rc;
  st->logb = st->loga + n;
  st->fprev = st->logb + m;
  st->gprev = st->fprev + n;
  st->lc = st->lr + n;
  /* lr's second half is spare scratch for the final statistics */
  ot_mat_transpose(ot_mat_view(st->MT, m, n), M);
  for (size_t i = 0; i < n; i++) st->loga[i] = a[i] > 0 ? log(a[i]) : -INFINITY;
  for (size_t j = 0; j < m; j++) st->logb[j] = b[j] > 0 ? log(b[j]) : -INFINITY;
  return OT_OK;
}

/*
 * The column half-iteration: lc_j = LSE_i((f_i - M_ij)/reg).  Before
 * overwriting g, the column sums of the current plan are
 * exp(g_j/reg + lc_j); *err gets ||colsum - b||_2 (balanced use).
 * Then g_j = fi * reg * (log b_j - lc_j).
 */
static void log_col_update(lstate *st, double reg, double *err) {
  double s = 1.0 / reg;
  lse_rows(st->lc, st->f, st->MT, st->m, st->n, st->n, s, st->lc_reg, st->pc, &st->canceled);
  if (st->canceled) return;
  st->lc_reg = reg;
  if (err) {
    double e = 0.0;
    for (size_t j = 0; j < st->m; j++) {
      double cs = st->b[j] > 0 || isfinite(st->g[j]) ? exp(st->g[j] * s + st->lc[j]) : 0.0;
      double d = cs - st->b[j];
      e += d * d;
    }
    *err = sqrt(e);
  }
  for (size_t j = 0; j < st->m; j++)
    st->g[j] = st->b[j] > 0 ? st->fi * reg * (st->logb[j] - st->lc[j]) : -INFINITY;
}

/* The row half-iteration: f_i = fi * reg * (log a_i - LSE_j((g_j - M_ij)/reg)). */
static void log_row_update(lstate *st, double reg) {
  lse_rows(st->lr, st->g, st->M.data, st->n, st->m, st->M.ld, 1.0 / reg, st->lr_reg, st->pc,
           &st->canceled);
  if (st->canceled) return;
  st->lr_reg = reg;
  for (size_t i = 0; i < st->n; i++)
    st->f[i] = st->a[i] > 0 ? st->fi * reg * (st->loga[i] - st->lr[i]) : -INFINITY;
}

/* 1 when a potential became NaN or +inf (-inf marks zero weights). */
static int bad_potentials(const lstate *st) {
  for (size_t i = 0; i < st->n; i++)
    if (isnan(st->f[i]) || st->f[i] == INFINITY) return 1;
  for (size_t j = 0; j < st->m; j++)
    if (isnan(st->g[j]) || st->g[j] == INFINITY) return 1;
  return 0;
}

/*
 * Run balanced log-domain iterations at `reg` (g then f, POT's order).
 * check: test the marginal error against tol and record it.  *iter counts
 * completed iterations across stages; the loop stops after max_total.
 * Returns OT_OK or OT_ECANCELED; info->status is set when check is on.
 */
static int log_loop(lstate *st, double reg, long max_total, int check, const ot_sinkhorn_opts *o,
                    ot_sinkhorn_info *info, pacer *pc, int warm) {
  double err = NAN;
  size_t n = st->n, m = st->m;
  info->status = OT_SINKHORN_MAX_ITER;
  pc->st = st; /* the panel's plan comes from these potentials */
  st->pc = pc;
  pc->log_domain = 1;
  pc->reg = reg;
  for (;;) {
    memcpy(st->gprev, st->g, m * sizeof(double));
    log_col_update(st, reg, &err);
    if (st->canceled) return OT_ECANCELED;
    if (check && (info->iterations > 0 || warm)) {
      record_err(info, o, err);
      if (err < o->tol) { /* the iterate before this column update met tol */
        memcpy(st->g, st->gprev, m * sizeof(double));
        info->status = OT_SINKHORN_CONVERGED;
        return OT_OK;
      }
    }
    if (info->iterations >= max_total) { /* the err above is that of the final iterate */
      memcpy(st->g, st->gprev, m * sizeof(double));
      if (check && info->iterations == 0) record_err(info, o, err);
      return OT_OK;
    }
    /* also between the half-iterations: one half is a full pass over M
     * (~10 ms at 3000 x 3000), and Ctrl-C must answer within 20 ms */
    if (pace(pc, info->iterations, err, 0)) return OT_ECANCELED;
    memcpy(st->fprev, st->f, n * sizeof(double));
    log_row_update(st, reg);
    if (st->canceled) return OT_ECANCELED;
    if (bad_potentials(st)) {
      memcpy(st->f, st->fprev, n * sizeof(double));
      memcpy(st->g, st->gprev, m * sizeof(double));
      info->status = OT_SINKHORN_NUMERIC;
      return OT_OK;
    }
    info->iterations++;
    if (pace(pc, info->iterations, err, 0)) return OT_ECANCELED;
  }
}

/*
 * Final statistics of a plan exp((f_i + g_j - M_ij)/reg): writes P when
 * P.data != NULL, and fills info->cost and info->objective.  r (n) and
 * c (m) receive the row and column sums.  Scratch: one row per thread when
 * there is no P (allocated here).
 */
static int log_finish(lstate *st, ot_mat P, double reg, double *r, double *c, double *cost_out) {
  size_t n = st->n, m = st->m;
  double s = 1.0 / reg, cost = 0.0;
  double *scratch = NULL;
  int nth = 1, rc;
#ifdef _OPENMP
  nth = omp_get_max_threads();
#endif
  if (!P.data && (rc = ot_alloc_doubles((size_t)nth, m, &scratch))) return rc;
  long nr = (long)n;
#pragma omp parallel for schedule(static) reduction(+ : cost) if (n * m > OMP_MIN_WORK)
  for (long i = 0; i < nr; i++) {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    double *row = P.data ? P.data + (size_t)i * P.ld : scratch + (size_t)t * m;
    const double *mr = st->M.data + (size_t)i * st->M.ld;
    r[i] = ot_vexp_row(row, st->f[i], st->g, mr, m, s);
    double ci = 0.0;
    for (size_t j = 0; j < m; j++) ci += row[j] * mr[j];
    cost += ci;
  }
  if (P.data) {
    memset(c, 0, m * sizeof(double));
    for (size_t i = 0; i < n; i++) {
      const double *pr = P.data + i * P.ld;
      for (size_t j = 0; j < m; j++) c[j] += pr[j];
    }
  } else {
    lse_rows(c, st->f, st->MT, m, n, n, s, 0.0, NULL, NULL);
    for (size_t j = 0; j < m; j++) c[j] = exp(st->g[j] * s + c[j]);
  }
  ot_free(scratch);
  *cost_out = cost;
  return OT_OK;
}

/* ---- the kernel-domain engine -------------------------------------------- */

/*
 * Kernel-domain state: K (owned) = exp((alpha_i + beta_j - M_ij)/reg) with
 * alpha = beta = 0 for the plain method; the stabilized method absorbs the
 * scalings into alpha, beta and rebuilds K.
 */
typedef struct kstate {
  size_t n, m;
  ot_mat M;
  double *K;
  double *u, *v, *uprev, *vprev, *Ktu, *Kv, *alpha, *beta; /* one block, owned */
} kstate;

static void kstate_free(kstate *st) {
  ot_free(st->K);
  ot_free(st->u);
  st->K = st->u = NULL;
}

/*
 * Rebuild the panel's plan from the solver state: u_i K_ij v_j for the
 * kernel methods, exp((f_i + g_j - M_ij) / reg) in the log domain.  The
 * result lands in p->plan (n x m), described by p->view.
 */
static void pacer_fill_plan(pacer *p) {
  if (p->log_domain) {
    const lstate *st = p->st;
    for (size_t i = 0; i < st->n; i++)
      ot_vexp_row(p->plan + i * st->m, st->f[i], st->g, st->M.data + i * st->M.ld, st->m,
                  1.0 / p->reg);
    p->view.mat = ot_mat_view(p->plan, st->n, st->m);
  } else {
    const kstate *st = p->st;
    for (size_t i = 0; i < st->n; i++) {
      const double *kr = st->K + i * st->m;
      double *pr = p->plan + i * st->m;
      for (size_t j = 0; j < st->m; j++) pr[j] = st->u[i] * kr[j] * st->v[j];
    }
    p->view.mat = ot_mat_view(p->plan, st->n, st->m);
  }
  p->view.kind = OT_VIEW_PLAN;
}

/* The dual objective <a, f> + <b, g> of the current potentials (in the
 * kernel methods f = alpha + reg log u, g = beta + reg log v). */
static double pacer_objective(const pacer *p) {
  double s = 0.0;
  if (p->log_domain) {
    const lstate *st = p->st;
    for (size_t i = 0; i < st->n; i++) if (p->a[i] > 0) s += p->a[i] * st->f[i];
    for (size_t j = 0; j < st->m; j++) if (p->b[j] > 0) s += p->b[j] * st->g[j];
  } else {
    const kstate *st = p->st;
    for (size_t i = 0; i < st->n; i++)
      if (p->a[i] > 0) s += p->a[i] * (st->alpha[i] + p->reg * log(st->u[i]));
    for (size_t j = 0; j < st->m; j++)
      if (p->b[j] > 0) s += p->b[j] * (st->beta[j] + p->reg * log(st->v[j]));
  }
  return s;
}

static int kstate_init(kstate *st, ot_mat M) {
  size_t n = M.rows, m = M.cols;
  int rc;
  memset(st, 0, sizeof *st);
  st->n = n;
  st->m = m;
  st->M = M;
  if ((rc = ot_alloc_doubles(n, m, &st->K))) return rc;
  if ((rc = ot_alloc_doubles(4, n + m, &st->u))) return rc;
  st->v = st->u + n;
  st->uprev = st->v + m;
  st->vprev = st->uprev + n;
  st->Ktu = st->vprev + m;
  st->Kv = st->Ktu + m;
  st->alpha = st->Kv + n;
  st->beta = st->alpha + n;
  return OT_OK;
}

/* K_ij = exp((alpha_i + beta_j - M_ij)/reg), rows in parallel. */
static void build_kernel(kstate *st, double reg) {
  long nr = (long)st->n;
  size_t m = st->m;
#pragma omp parallel for schedule(static) if (st->n * m > OMP_MIN_WORK)
  for (long i = 0; i < nr; i++)
    ot_vexp_row(st->K + (size_t)i * m, st->alpha[i], st->beta, st->M.data + (size_t)i * st->M.ld,
                m, 1.0 / reg);
}

/*
 * Kernel iterations (Cuturi 2013, Algorithm 1, POT's order: v then u).
 * The column sums v .* K^T u of the current plan come from the K^T u that
 * the next v update needs, so the error check is O(m).  stabilized: absorb
 * u, v into alpha, beta when max(u) or max(v) exceeds tau (Schmitzer 2019,
 * Algorithm 2) and rebuild K.  A division by a zero column or row sum of
 * a positive weight, or a NaN, ends the loop with the previous iterate and
 * status NUMERIC.
 */
static int kernel_loop(kstate *st, const double *a, const double *b, double reg, int stabilized,
                       int warm, const ot_sinkhorn_opts *o, ot_sinkhorn_info *info, pacer *pc) {
  size_t n = st->n, m = st->m;
  ot_mat K = ot_mat_view(st->K, n, m);
  ot_mat vu = ot_mat_view(st->u, n, 1), vv = ot_mat_view(st->v, m, 1);
  pc->st = st; /* the panel's plan comes from u, K, v */
  pc->log_domain = 0;
  pc->reg = reg;
  ot_mat vKtu = ot_mat_view(st->Ktu, m, 1), vKv = ot_mat_view(st->Kv, n, 1);
  double err = NAN;
  info->status = OT_SINKHORN_MAX_ITER;
  for (;;) {
    ot_gemv(vKtu, 1.0, K, 1, vu, 0.0);
    if (info->iterations > 0 || warm) {
      double e = 0.0;
      for (size_t j = 0; j < m; j++) {
        double d = st->v[j] * st->Ktu[j] - b[j];
        e += d * d;
      }
      err = sqrt(e);
      record_err(info, o, err);
      if (isnan(err)) {
        info->status = OT_SINKHORN_NUMERIC;
        return OT_OK;
      }
      if (err < o->tol) {
        info->status = OT_SINKHORN_CONVERGED;
        return OT_OK;
      }
    }
    if (info->iterations >= o->max_iter) return OT_OK;
    memcpy(st->uprev, st->u, n * sizeof(double));
    memcpy(st->vprev, st->v, m * sizeof(double));
    int bad = 0;
    for (size_t j = 0; j < m; j++) {
      st->v[j] = b[j] > 0 ? b[j] / st->Ktu[j] : 0.0;
      if (!isfinite(st->v[j])) bad = 1;
    }
    if (!bad) {
      ot_gemv(vKv, 1.0, K, 0, vv, 0.0);
      for (size_t i = 0; i < n; i++) {
        st->u[i] = a[i] > 0 ? a[i] / st->Kv[i] : 0.0;
        if (!isfinite(st->u[i])) bad = 1;
      }
    }
    if (bad) {
      memcpy(st->u, st->uprev, n * sizeof(double));
      memcpy(st->v, st->vprev, m * sizeof(double));
      info->status = OT_SINKHORN_NUMERIC;
      return OT_OK;
    }
    info->iterations++;
    if (stabilized) {
      double mu = 0.0, mv = 0.0;
      for (size_t i = 0; i < n; i++) mu = st->u[i] > mu ? st->u[i] : mu;
      for (size_t j = 0; j < m; j++) mv = st->v[j] > mv ? st->v[j] : mv;
      if (mu > o->tau || mv > o->tau) {
        for (size_t i = 0; i < n; i++) {
          st->alpha[i] += a[i] > 0 ? reg * log(st->u[i]) : -INFINITY;
          st->u[i] = a[i] > 0 ? 1.0 : 0.0;
        }
        for (size_t j = 0; j < m; j++) {
          st->beta[j] += b[j] > 0 ? reg * log(st->v[j]) : -INFINITY;
          st->v[j] = b[j] > 0 ? 1.0 : 0.0;
        }
        build_kernel(st, reg);
      }
    }
    if (pace(pc, info->iterations, err, 0)) return OT_ECANCELED;
  }
}

/*
 * Plan, cost and objective from the kernel state: P_ij = u_i K_ij v_j,
 * f = alpha + reg log u, g = beta + reg log v; r, c get the marginals.
 */
static void kernel_finish(kstate *st, ot_mat P, double reg, double *f, double *g, double *r,
                          double *c, double *cost_out) {
  size_t n = st->n, m = st->m;
  double cost = 0.0;
  memset(c, 0, m * sizeof(double));
  for (size_t i = 0; i < n; i++) {
    const double *kr = st->K + i * m, *mr = st->M.data + i * st->M.ld;
    double *pr = P.data ? P.data + i * P.ld : NULL;
    double ui = st->u[i], ri = 0.0, ci = 0.0;
    for (size_t j = 0; j < m; j++) {
      double p = ui * kr[j] * st->v[j];
      if (pr) pr[j] = p;
      ri += p;
      ci += p * mr[j];
      c[j] += p;
    }
    r[i] = ri;
    cost += ci;
  }
  for (size_t i = 0; i < n; i++) f[i] = st->alpha[i] + (st->u[i] > 0 ? reg * log(st->u[i]) : -INFINITY);
  for (size_t j = 0; j < m; j++) g[j] = st->beta[j] + (st->v[j] > 0 ? reg * log(st->v[j]) : -INFINITY);
  *cost_out = cost;
}

/* ---- the balanced solver -------------------------------------------------- */

int ot_sinkhorn_solve(ot_mat P, double *f, double *g, const double *a, const double *b,
                      ot_mat M, double reg, const ot_sinkhorn_opts *o, ot_sinkhorn_info *info) {
  size_t n = M.rows, m = M.cols;
  double *own = NULL, *r, *c;
  kstate ks = {0};
  lstate ls = {0};
  pacer pc = {0}; /* pc.plan is freed at done: */
  int rc = OT_OK, method = o->method, warm = o->f0 && o->g0;
  memset(info, 0, sizeof *info);
  info->err = NAN;
  info->cost = info->objective = NAN;
  if (P.data && (P.rows != n || P.cols != m)) return OT_ESHAPE;
  if (!(reg > 0) || !isfinite(reg) || method < 0 || method >= OT_SINKHORN_NMETHODS ||
      o->max_iter < 0 || !(o->tol >= 0) || !(o->tau > 1) || !(o->eps_factor > 0) ||
      !(o->eps_factor < 1) || o->eps_inner < 0 || !(o->eps0 >= 0) || n == 0 || m == 0)
    return OT_EINVAL;
  double big = max_abs(M);
  if (method == OT_SINKHORN_KERNEL && big / reg > OT_SINKHORN_UNDERFLOW) {
    if (!o->auto_log) return OT_EINVAL;
    method = OT_SINKHORN_LOG;
    info->switched = 1;
  }
  info->method = method;
  /* f, g, and the marginals r, c: caller's f, g when given, else owned */
  if ((rc = ot_alloc_doubles(2, n + m, &own))) goto done;
  r = own;
  c = own + n;
  if (!f) f = own + n + m;
  if (!g) g = own + 2 * n + m;
  pacer_init(&pc, "sinkhorn", o->progress, o->progress_ud, o->max_iter);
  pc.a = a;
  pc.b = b;
  /* the panel's plan: small problems, within the budget, only with a callback */
  if (o->progress && n * m <= SINKHORN_VIEW_MAX && ot_mem_check(n * m * sizeof(double)) == OT_OK &&
      (rc = ot_alloc_doubles(n, m, &pc.plan)))
    goto done;
  double cost = 0.0;
  if (method == OT_SINKHORN_KERNEL || method == OT_SINKHORN_STABILIZED) {
    int stab = method == OT_SINKHORN_STABILIZED;
    if ((rc = kstate_init(&ks, M))) goto done;
    if (warm) {
      for (size_t i = 0; i < n; i++) ks.alpha[i] = stab ? o->f0[i] : 0.0;
      for (size_t j = 0; j < m; j++) ks.beta[j] = stab ? o->g0[j] : 0.0;
      for (size_t i = 0; i < n; i++) ks.u[i] = a[i] > 0 ? (stab ? 1.0 : exp(o->f0[i] / reg)) : 0.0;
      for (size_t j = 0; j < m; j++) ks.v[j] = b[j] > 0 ? (stab ? 1.0 : exp(o->g0[j] / reg)) : 0.0;
    } else if (stab) {
      /* c-transform start: every row and column of K has its largest entry 1, so no
       * row or column underflows whatever reg is */
      for (size_t i = 0; i < n; i++) {
        const double *mr = M.data + i * M.ld;
        double mn = INFINITY;
        for (size_t j = 0; j < m; j++) mn = mr[j] < mn ? mr[j] : mn;
        ks.alpha[i] = -mn;
      }
      for (size_t j = 0; j < m; j++) ks.beta[j] = INFINITY;
      for (size_t i = 0; i < n; i++) {
        const double *mr = M.data + i * M.ld;
        for (size_t j = 0; j < m; j++) {
          double t = mr[j] + ks.alpha[i];
          ks.beta[j] = t < ks.beta[j] ? t : ks.beta[j];
        }
      }
      for (size_t j = 0; j < m; j++) ks.beta[j] = -ks.beta[j];
      for (size_t i = 0; i < n; i++) ks.u[i] = a[i] > 0 ? 1.0 : 0.0;
      for (size_t j = 0; j < m; j++) ks.v[j] = b[j] > 0 ? 1.0 : 0.0;
    } else { /* POT's start */
      for (size_t i = 0; i < n; i++) ks.u[i] = 1.0 / (double)n, ks.alpha[i] = 0.0;
      for (size_t j = 0; j < m; j++) ks.v[j] = 1.0 / (double)m, ks.beta[j] = 0.0;
    }
    build_kernel(&ks, reg);
    if ((rc = kernel_loop(&ks, a, b, reg, stab, warm, o, info, &pc))) goto done;
    kernel_finish(&ks, P, reg, f, g, r, c, &cost);
  } else {
    if ((rc = lstate_init(&ls, M, a, b, f, g))) goto done;
    if (warm) {
      memcpy(f, o->f0, n * sizeof(double));
      memcpy(g, o->g0, m * sizeof(double));
    } else {
      memset(f, 0, n * sizeof(double));
      memset(g, 0, m * sizeof(double));
    }
    if (method == OT_SINKHORN_EPS_SCALING && !warm) { /* a warm start skips the schedule */
      /* Schmitzer 2019, Sec. 3.2: solve roughly at a decreasing sequence of regs, each
       * warm-started from the previous potentials, then to tol at the target reg */
      double e = o->eps0 > 0 ? o->eps0 : big;
      while (e > reg && info->iterations < o->max_iter) {
        long stop = info->iterations + o->eps_inner;
        if ((rc = log_loop(&ls, e, stop < o->max_iter ? stop : o->max_iter, 0, o, info, &pc, 1)))
          goto done;
        if (info->status == OT_SINKHORN_NUMERIC) break;
        e *= o->eps_factor;
      }
      warm = 1;
    }
    if (info->status != OT_SINKHORN_NUMERIC) /* a failed schedule keeps its iterate */
      if ((rc = log_loop(&ls, reg, o->max_iter, 1, o, info, &pc, warm))) goto done;
    if ((rc = log_finish(&ls, P, reg, r, c, &cost))) goto done;
  }
  info->cost = cost;
  info->objective = wdot(r, f, n) + wdot(c, g, m);
  pace(&pc, info->iterations, info->err, 1);
done:
  kstate_free(&ks);
  lstate_free(&ls);
  ot_free(own);
  ot_free(pc.plan);
  return rc;
}

/* ---- unbalanced ----------------------------------------------------------- */

/* POT's error: the mean of the relative sup-norm changes of u and v. */
static double rel_change(const double *x, const double *xp, size_t n) {
  double d = 0.0, mx = 1.0;
  for (size_t i = 0; i < n; i++) {
    double t = fabs(x[i] - xp[i]);
    d = t > d ? t : d;
    mx = fabs(x[i]) > mx ? fabs(x[i]) : mx;
    mx = fabs(xp[i]) > mx ? fabs(xp[i]) : mx;
  }
  return d / mx;
}

/* sup |x - xp| / reg over finite entries (the log-domain analogue). */
static double pot_change(const double *x, const double *xp, size_t n, double reg) {
  double d = 0.0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i]) && isfinite(xp[i])) {
      double t = fabs(x[i] - xp[i]);
      d = t > d ? t : d;
    }
  return d / reg;
}

int ot_sinkhorn_unbalanced(ot_mat P, double *f, double *g, const double *a, const double *b,
                           ot_mat M, double reg, double reg_m, const ot_sinkhorn_opts *o,
                           ot_sinkhorn_info *info) {
  size_t n = M.rows, m = M.cols;
  double *own = NULL, *r, *c, cost = 0.0;
  kstate ks = {0};
  lstate ls = {0};
  pacer pc;
  int rc = OT_OK, method = o->method, warm = o->f0 && o->g0;
  memset(info, 0, sizeof *info);
  info->err = info->cost = info->objective = NAN;
  if (P.data && (P.rows != n || P.cols != m)) return OT_ESHAPE;
  if (!(reg > 0) || !isfinite(reg) || !(reg_m > 0) || isnan(reg_m) || o->max_iter < 0 ||
      !(o->tol >= 0) || n == 0 || m == 0 ||
      (method != OT_SINKHORN_KERNEL && method != OT_SINKHORN_LOG))
    return OT_EINVAL;
  double fi = isinf(reg_m) ? 1.0 : reg_m / (reg_m + reg);
  if (method == OT_SINKHORN_KERNEL && max_abs(M) / reg > OT_SINKHORN_UNDERFLOW) {
    if (!o->auto_log) return OT_EINVAL;
    method = OT_SINKHORN_LOG;
    info->switched = 1;
  }
  info->method = method;
  info->status = OT_SINKHORN_MAX_ITER;
  if ((rc = ot_alloc_doubles(2, n + m, &own))) goto done;
  r = own;
  c = own + n;
  if (!f) f = own + n + m;
  if (!g) g = own + 2 * n + m;
  pacer_init(&pc, "sinkhorn_unbalanced", o->progress, o->progress_ud, o->max_iter);
  if (method == OT_SINKHORN_KERNEL) {
    if ((rc = kstate_init(&ks, M))) goto done;
    ot_mat K = ot_mat_view(ks.K, n, m);
    ot_mat vu = ot_mat_view(ks.u, n, 1), vv = ot_mat_view(ks.v, m, 1);
    ot_mat vKtu = ot_mat_view(ks.Ktu, m, 1), vKv = ot_mat_view(ks.Kv, n, 1);
    for (size_t i = 0; i < n; i++) {
      ks.alpha[i] = 0.0;
      ks.u[i] = warm ? exp(o->f0[i] / reg) : 1.0 / (double)n;
    }
    for (size_t j = 0; j < m; j++) {
      ks.beta[j] = 0.0;
      ks.v[j] = warm ? exp(o->g0[j] / reg) : 1.0 / (double)m;
    }
    build_kernel(&ks, reg);
    while (info->iterations < o->max_iter) {
      memcpy(ks.uprev, ks.u, n * sizeof(double));
      memcpy(ks.vprev, ks.v, m * sizeof(double));
      int bad = 0;
      ot_gemv(vKv, 1.0, K, 0, vv, 0.0);
      for (size_t i = 0; i < n; i++) {
        ks.u[i] = a[i] > 0 ? pow(a[i] / ks.Kv[i], fi) : 0.0;
        if (!isfinite(ks.u[i])) bad = 1;
      }
      ot_gemv(vKtu, 1.0, K, 1, vu, 0.0);
      for (size_t j = 0; j < m; j++) {
        ks.v[j] = b[j] > 0 ? pow(b[j] / ks.Ktu[j], fi) : 0.0;
        if (!isfinite(ks.v[j])) bad = 1;
      }
      if (bad) {
        memcpy(ks.u, ks.uprev, n * sizeof(double));
        memcpy(ks.v, ks.vprev, m * sizeof(double));
        info->status = OT_SINKHORN_NUMERIC;
        break;
      }
      info->iterations++;
      double err = 0.5 * (rel_change(ks.u, ks.uprev, n) + rel_change(ks.v, ks.vprev, m));
      record_err(info, o, err);
      if (err < o->tol) {
        info->status = OT_SINKHORN_CONVERGED;
        break;
      }
      if (pace(&pc, info->iterations, err, 0)) {
        rc = OT_ECANCELED;
        goto done;
      }
    }
    kernel_finish(&ks, P, reg, f, g, r, c, &cost);
  } else {
    if ((rc = lstate_init(&ls, M, a, b, f, g))) goto done;
    ls.fi = fi;
    for (size_t i = 0; i < n; i++) f[i] = warm ? o->f0[i] : -reg * log((double)n);
    for (size_t j = 0; j < m; j++) g[j] = warm ? o->g0[j] : -reg * log((double)m);
    while (info->iterations < o->max_iter) {
      memcpy(ls.fprev, f, n * sizeof(double));
      memcpy(ls.gprev, g, m * sizeof(double));
      log_row_update(&ls, reg);
      log_col_update(&ls, reg, NULL);
      if (bad_potentials(&ls)) {
        memcpy(f, ls.fprev, n * sizeof(double));
        memcpy(g, ls.gprev, m * sizeof(double));
        info->status = OT_SINKHORN_NUMERIC;
        break;
      }
      info->iterations++;
      double err = 0.5 * (pot_change(f, ls.fprev, n, reg) + pot_change(g, ls.gprev, m, reg));
      record_err(info, o, err);
      if (err < o->tol) {
        info->status = OT_SINKHORN_CONVERGED;
        break;
      }
      if (pace(&pc, info->iterations, err, 0)) {
        rc = OT_ECANCELED;
        goto done;
      }
    }
    if ((rc = log_finish(&ls, P, reg, r, c, &cost))) goto done;
  }
  info->cost = cost;
  info->objective = wdot(r, f, n) + wdot(c, g, m);
  if (!isinf(reg_m)) info->objective += reg_m * (kl(r, a, n) + kl(c, b, m));
  pace(&pc, info->iterations, info->err, 1);
done:
  kstate_free(&ks);
  lstate_free(&ls);
  ot_free(own);
  return rc;
}

/* ---- Sinkhorn divergence -------------------------------------------------- */

/*
 * One side of a soft-min: the rows are the points of a set S, the columns
 * those of a set T.  Dense: C is the |S| x |T| cost matrix.  Online: the
 * rows of S are read from X (row-major, ld) and T from its coordinates by
 * dimension Tt (d x nt, leading dimension nt); costs are made per tile.
 */
typedef struct dside {
  size_t ns, nt;
  const double *C;   /* dense, or NULL */
  size_t ldc;
  const double *X;   /* online: the rows of S */
  size_t ldx, d;
  const double *Tt;  /* online: T by dimension */
  int metric;
} dside;

/* Divergence run state: pacing, the progress counters and a cancel flag. */
typedef struct drun {
  pacer pc;
  long iter;
  double err;
  int canceled;
} drun;

/*
 * out_i = -eps * log sum_j exp((h_j - C_ij) / eps), with h_j = g_j + eps log w_j
 * (the GeomLoss soft-min of g against the weights w).  Rows go in blocks
 * of about 2^22 pairs; the progress callback runs between blocks (outside
 * the OpenMP region), so a pass over 10^10 pairs stays interruptible.
 * Online, each thread takes CHUNK rows at a time and sweeps the columns in
 * blocks of COLS points, so the block's coordinates stay in cache while
 * the chunk's rows run over them.
 */
enum { CHUNK = 32, COLS = 2048 };

static void softmin(double *out, const dside *sd, const double *g, const double *logw, double *h,
                    double eps, drun *run) {
  size_t nt = sd->nt;
  double s = 1.0 / eps;
  for (size_t j = 0; j < nt; j++) h[j] = logw[j] == -INFINITY ? -INFINITY : g[j] + eps * logw[j];
  size_t block = ((size_t)1 << 22) / (nt ? nt : 1);
  block = block < CHUNK ? CHUNK : block - block % CHUNK;
  for (size_t i0 = 0; i0 < sd->ns && !run->canceled; i0 += block) {
    size_t i1 = i0 + block < sd->ns ? i0 + block : sd->ns;
    long nchunks = (long)((i1 - i0 + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(dynamic, 1) if ((i1 - i0) * nt > OMP_MIN_WORK)
    for (long c = 0; c < nchunks; c++) {
      size_t r0 = i0 + (size_t)c * CHUNK, r1 = r0 + CHUNK < i1 ? r0 + CHUNK : i1;
      if (sd->C) {
        for (size_t i = r0; i < r1; i++)
          out[i] = -eps * ot_vexp_lse(h, sd->C + i * sd->ldc, nt, s, NAN);
        continue;
      }
      double big[CHUNK], sum[CHUNK];
      for (size_t i = r0; i < r1; i++) big[i - r0] = -INFINITY, sum[i - r0] = 0.0;
      for (size_t j0 = 0; j0 < nt; j0 += COLS) {
        size_t nc = nt - j0 < COLS ? nt - j0 : COLS;
        for (size_t i = r0; i < r1; i++)
          ot_vexp_lse_pts(h + j0, sd->X + i * sd->ldx, sd->Tt + j0, nt, sd->d, nc, sd->metric,
                          1.0, s, &big[i - r0], &sum[i - r0]);
      }
      for (size_t i = r0; i < r1; i++) {
        double l = big[i - r0] == -INFINITY ? (isnan(sum[i - r0]) ? NAN : -INFINITY)
                                            : big[i - r0] * s + log(sum[i - r0]);
        out[i] = -eps * l;
      }
    }
    if (pace(&run->pc, run->iter, run->err, 0)) run->canceled = 1;
  }
}

/* Cost matrix C_ij = |x_i - y_j|^2 (or its square root) for rows of X, Y. */
static void dense_cost(double *C, ot_mat X, ot_mat Y, int metric) {
  long nr = (long)X.rows;
  size_t m = Y.rows, d = X.cols;
#pragma omp parallel for schedule(static) if (X.rows * m > OMP_MIN_WORK)
  for (long i = 0; i < nr; i++) {
    const double *x = X.data + (size_t)i * X.ld;
    for (size_t j = 0; j < m; j++) {
      const double *y = Y.data + j * Y.ld;
      double acc = 0.0;
      for (size_t k = 0; k < d; k++) acc += (x[k] - y[k]) * (x[k] - y[k]);
      C[(size_t)i * m + j] = metric == OT_DIV_EUCLIDEAN ? sqrt(acc) : acc;
    }
  }
}

/* Coordinates by dimension: Tt[k * n + i] = X_ik. */
static void by_dimension(double *Tt, ot_mat X) {
  for (size_t i = 0; i < X.rows; i++)
    for (size_t k = 0; k < X.cols; k++) Tt[k * X.rows + i] = X.data[i * X.ld + k];
}

/* Half the largest symmetric marginal violation: sum_i w_i |exp((f_i - ft_i)/eps) - 1|. */
static double sym_err(const double *w, const double *f, const double *ft, size_t n, double eps) {
  double e = 0.0;
  for (size_t i = 0; i < n; i++)
    if (w[i] > 0) e += w[i] * fabs(expm1((f[i] - ft[i]) / eps));
  return e;
}

/*
 * Over-relaxation weight from an observed contraction rate `rate` of the
 * error under weight w (Young's SOR theory, as used for Sinkhorn by
 * Thibault et al. 2017): the plain (w = 1) rate is
 * theta = ((rate + w - 1) / (w sqrt(rate)))^2 and the best weight
 * 2 / (1 + sqrt(1 - theta)), capped at 1.9.  Returns 1 when the rate says
 * nothing useful.
 */
static double relax_weight(double rate, double w) {
  if (!(rate > 0 && rate < 1)) return 1.0;
  double mu = (rate + w - 1.0) / (w * sqrt(rate)), theta = mu * mu;
  if (!(theta > 0)) return 1.0;
  if (theta >= 1.0) theta = 0.999;
  double best = 2.0 / (1.0 + sqrt(1.0 - theta));
  return best < 1.0 ? 1.0 : best > 1.9 ? 1.9 : best;
}

int ot_sinkhorn_divergence(double *out, ot_mat X, ot_mat Y, const double *a, const double *b,
                           double reg, const ot_divergence_opts *o, ot_divergence_info *info) {
  size_t n = X.rows, m = Y.rows, d = X.cols, nm = n > m ? n : m;
  double *buf = NULL, *cxy = NULL, *cyx = NULL, *cxx = NULL, *cyy = NULL, *xt = NULL, *yt = NULL;
  int rc = OT_OK;
  drun run;
  memset(info, 0, sizeof *info);
  info->err = info->ot_ab = info->ot_aa = info->ot_bb = NAN;
  *out = NAN;
  if (Y.cols != d) return OT_ESHAPE;
  if (!(reg > 0) || !isfinite(reg) || n == 0 || m == 0 || d == 0 || o->max_iter < 0 ||
      !(o->tol >= 0) || !(o->scaling >= 0) || !(o->scaling < 1) ||
      (o->metric != OT_DIV_SQEUCLIDEAN && o->metric != OT_DIV_EUCLIDEAN))
    return OT_EINVAL;
  /* potentials and scratch: f_ab, ft_ab, f_aa, ft_aa, loga (n each); g_ab, gt_ab, g_bb,
   * gt_bb, logb (m each); h (max(n, m)) */
  if ((rc = ot_alloc_doubles(5 * (n + m) + nm, 1, &buf))) goto done;
  double *fab = buf, *ftab = fab + n, *faa = ftab + n, *ftaa = faa + n, *loga = ftaa + n;
  double *gab = loga + n, *gtab = gab + m, *gbb = gtab + m, *gtbb = gbb + m, *logb = gtbb + m;
  double *h = logb + m;
  for (size_t i = 0; i < n; i++) loga[i] = a[i] > 0 ? log(a[i]) : -INFINITY;
  for (size_t j = 0; j < m; j++) logb[j] = b[j] > 0 ? log(b[j]) : -INFINITY;
  dside xy = {n, m, NULL, m, X.data, X.ld, d, NULL, o->metric};
  dside yx = {m, n, NULL, n, Y.data, Y.ld, d, NULL, o->metric};
  dside xx = {n, n, NULL, n, X.data, X.ld, d, NULL, o->metric};
  dside yy = {m, m, NULL, m, Y.data, Y.ld, d, NULL, o->metric};
  if (o->online) {
    if ((rc = ot_alloc_doubles(d, n, &xt)) || (rc = ot_alloc_doubles(d, m, &yt))) goto done;
    by_dimension(xt, X);
    by_dimension(yt, Y);
    xy.Tt = yt, yx.Tt = xt, xx.Tt = xt, yy.Tt = yt;
  } else {
    if ((rc = ot_alloc_doubles(n, m, &cxy)) || (rc = ot_alloc_doubles(m, n, &cyx)) ||
        (rc = ot_alloc_doubles(n, n, &cxx)) || (rc = ot_alloc_doubles(m, m, &cyy)))
      goto done;
    dense_cost(cxy, X, Y, o->metric);
    ot_mat_transpose(ot_mat_view(cyx, m, n), ot_mat_view(cxy, n, m));
    dense_cost(cxx, X, X, o->metric);
    dense_cost(cyy, Y, Y, o->metric);
    xy.C = cxy, yx.C = cyx, xx.C = cxx, yy.C = cyy;
  }
  /* the diameter of the bounding box of both clouds sets the first reg */
  double diam2 = 0.0;
  for (size_t k = 0; k < d; k++) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      double v = X.data[i * X.ld + k];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    for (size_t j = 0; j < m; j++) {
      double v = Y.data[j * Y.ld + k];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    diam2 += (hi - lo) * (hi - lo);
  }
  double p = o->metric == OT_DIV_EUCLIDEAN ? 1.0 : 2.0;
  double e = o->scaling > 0 ? pow(diam2, p / 2) : reg;
  if (!(e > reg)) e = reg;
  memset(&run, 0, sizeof run);
  run.err = NAN;
  pacer_init(&run.pc, "sinkhorn_divergence", o->progress, o->progress_ud, o->max_iter);
  /* first potentials at the largest reg (GeomLoss's initialization) */
  memset(gab, 0, m * sizeof(double));
  memset(fab, 0, n * sizeof(double));
  softmin(fab, &xy, gab, logb, h, e, &run);
  softmin(gab, &yx, fab, loga, h, e, &run);
  memset(ftaa, 0, n * sizeof(double));
  memset(gtbb, 0, m * sizeof(double));
  softmin(faa, &xx, ftaa, loga, h, e, &run);
  softmin(gbb, &yy, gtbb, logb, h, e, &run);
  /* annealing: one averaged update per reg of the schedule */
  while (e > reg && !run.canceled) {
    e *= pow(o->scaling, p);
    if (e < reg) e = reg;
    softmin(ftab, &xy, gab, logb, h, e, &run);
    softmin(gtab, &yx, fab, loga, h, e, &run);
    softmin(ftaa, &xx, faa, loga, h, e, &run);
    softmin(gtbb, &yy, gbb, logb, h, e, &run);
    for (size_t i = 0; i < n; i++) fab[i] = 0.5 * (fab[i] + ftab[i]), faa[i] = 0.5 * (faa[i] + ftaa[i]);
    for (size_t j = 0; j < m; j++) gab[j] = 0.5 * (gab[j] + gtab[j]), gbb[j] = 0.5 * (gbb[j] + gtbb[j]);
    info->stages++;
    run.iter++;
  }
  /*
   * Final reg.  (a, a) and (b, b): averaged symmetric updates, dropped once their marginal
   * error is below tol (they converge in a few steps).  (a, b): alternating updates with
   * over-relaxation, f <- (1 - w) f + w softmin(g) (Thibault et al. 2017; Lehmann et al.
   * 2021): after 8 plain steps the contraction rate theta of plain Sinkhorn is estimated
   * from the error decay and w = 2 / (1 + sqrt(1 - theta)) (at most 1.9); every 10 steps
   * theta is re-estimated from the relaxed rate (relax_weight); if the error does not
   * decrease over 10 steps, w falls back to 1 for good.  The error of (a, b) is the larger
   * of the row marginal of (f, g) and the column marginal of (f', g) with f' the updated f,
   * both read from the soft-mins computed anyway.
   */
  info->status = OT_SINKHORN_MAX_ITER;
  double w = 1.0, eaa = INFINITY, ebb = INFINITY, hist[11];
  long k = 0;
  while (!run.canceled) {
    softmin(ftab, &xy, gab, logb, h, reg, &run);
    double erow = 0.0;
    for (size_t i = 0; i < n; i++)
      if (a[i] > 0) erow += a[i] * fabs(expm1((fab[i] - ftab[i]) / reg));
    for (size_t i = 0; i < n; i++) fab[i] = w == 1.0 ? ftab[i] : (1 - w) * fab[i] + w * ftab[i];
    softmin(gtab, &yx, fab, loga, h, reg, &run);
    if (!(eaa < o->tol)) softmin(ftaa, &xx, faa, loga, h, reg, &run);
    if (!(ebb < o->tol)) softmin(gtbb, &yy, gbb, logb, h, reg, &run);
    if (run.canceled) break;
    double ecol = 0.0; /* column marginal of (f', g) before the g update */
    for (size_t j = 0; j < m; j++)
      if (b[j] > 0) ecol += b[j] * fabs(expm1((gab[j] - gtab[j]) / reg));
    for (size_t j = 0; j < m; j++) gab[j] = w == 1.0 ? gtab[j] : (1 - w) * gab[j] + w * gtab[j];
    if (!(eaa < o->tol)) {
      eaa = sym_err(a, faa, ftaa, n, reg);
      for (size_t i = 0; i < n; i++) faa[i] = 0.5 * (faa[i] + ftaa[i]);
    }
    if (!(ebb < o->tol)) {
      ebb = sym_err(b, gbb, gtbb, m, reg);
      for (size_t j = 0; j < m; j++) gbb[j] = 0.5 * (gbb[j] + gtbb[j]);
    }
    double eab = erow > ecol ? erow : ecol, err = eab;
    err = eaa > err ? eaa : err;
    err = ebb > err ? ebb : err;
    info->err = run.err = err;
    if (isnan(err)) {
      info->status = OT_SINKHORN_NUMERIC;
      break;
    }
    info->iterations++;
    run.iter++;
    if (err < o->tol) {
      info->status = OT_SINKHORN_CONVERGED;
      break;
    }
    if (info->iterations >= o->max_iter) break;
    /* over-relaxation control on the (a, b) error (see above) */
    hist[k % 11] = eab;
    k++;
    if (k == 8 && hist[3] > 0) {
      w = relax_weight(pow(hist[7] / hist[3], 0.25), 1.0);
    } else if (k > 8 && (k - 8) % 10 == 0 && w > 1.0) {
      double last = hist[(k - 1) % 11], first = hist[(k - 11) % 11];
      w = last < first && first > 0 ? relax_weight(pow(last / first, 0.1), w) : 1.0;
    }
  }
  if (run.canceled) {
    rc = OT_ECANCELED;
    goto done;
  }
  info->ot_ab = wdot(a, fab, n) + wdot(b, gab, m);
  info->ot_aa = 2.0 * wdot(a, faa, n);
  info->ot_bb = 2.0 * wdot(b, gbb, m);
  *out = info->ot_ab - 0.5 * (info->ot_aa + info->ot_bb);
  pace(&run.pc, run.iter, info->err, 1);
done:
  ot_free(buf);
  ot_free(cxy);
  ot_free(cyx);
  ot_free(cxx);
  ot_free(cyy);
  ot_free(xt);
  ot_free(yt);
  return rc;
}
