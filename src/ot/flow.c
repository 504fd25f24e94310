/*
 * flow.c -- particle gradient flows of datasets (specs/flows.md).
 *
 * Layout: option defaults; the soft-min passes of the outer Sinkhorn
 * (dense or tiled costs, optional barycentric projection); the compat,
 * converged and exact solves of one OT term; potentials and interactions;
 * the evaluation of F and its gradient; the flow object and its step.
 * Class statistics and label distances come from the OTDD module
 * (ot_otdd_stats_compute / _update, ot_otdd_label_distances), so the flows
 * and ot.otdd share one definition of the label cost.
 */
#include "flow.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "cost.h"
#include "emd.h"
#include "linalg.h"
#include "par.h"
#include "otdd.h"
#include "rand.h"
#include "vexp.h"
#include "view.h"


#define OMP_MIN_WORK 20000
/* Plan weights at or below this are left out of sparse barycentric sums. */
#define SPARSE_W 1e-15
/* Above this many doubles of cost matrices a solve switches to tiles. */
#define DENSE_LIMIT ((size_t)1 << 23)

void ot_flow_opts_init(ot_flow_opts *o) {
  memset(o, 0, sizeof *o);
  o->labels = OT_FLOW_FIXED;
  o->solver = OT_FLOW_CONVERGED;
  o->debiased = 1;
  o->eps = 0.1;
  o->scaling = 0.5;
  o->lambda_x = 1.0;
  o->lambda_y = 1.0;
  o->max_iter = 1000;
  o->sinkhorn_tol = 1e-3;
  o->online = -1;
  o->margin_gap = 1.0;
  o->box_lo = 0.0;
  o->box_hi = 1.0;
  o->width = 1.0;
  o->step = 0.1;
  o->optimizer = OT_FLOW_EULER;
  o->momentum = 0.9;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->adam_eps = 1e-8;
}

struct ot_flow {
  ot_flow_opts o;
  size_t n, d, D, m;     /* D = d (fixed) or 3d (joint) */
  double *Z, *Znew;      /* n x D particles (joint: label part scaled by ls) */
  double *X0;            /* n x d starting features */
  double *lab, *labnew;  /* n labels */
  double *Y;             /* m x D target */
  double *ylab;
  double *a, *b, *loga, *logb;
  double ls;             /* joint: sqrt(lambda_y / lambda_x) */
  /* class statistics (otdd.h) of the starting labels, kept when a flow uses labels
     (fixed-label otdd, joint, tied): st1.index / st2.index give the class of each
     particle / target point (labels ascending), st1.nclass / st2.nclass the counts.
     Fixed-label otdd recomputes st1's moments from the moved features at every
     evaluation. */
  ot_otdd_stats st1, st2;
  int st1_fresh;         /* st1 holds the moments of the current Z (set by create) */
  double *Lyy;           /* C2 x C2, already lambda_y / 2 * W */
  /* option arrays (copies) */
  double *quadA, *quadb, *mw, *mpos;
  size_t *cdims;
  /* optimizer */
  double *G, *Gnew, *m1, *m2, *m1new, *m2new;
  long t;
  double *pool;          /* the arrays above that are carved from one block */
  double last_err;       /* marginal error of the last converged-mode iteration */
  double *scr;           /* soft-min scratch of the running solve: h, cost tile, weights */
  size_t scr_nm, scr_tile; /* scr: h (scr_nm), then per thread a cost tile and a
                              weight tile (scr_tile each) */
  int scr_nthr;
  double F, parts[OT_FLOW_NPARTS], gnorm;
  long solver_iter;
  /* warm potentials per OT term: f_ba (n), g_ab (m), f_aa (n) */
  double *warm[2][3], *warmnew[2][3];
  int have_warm[2], have_warmnew[2];
  double gbb[2];
  int have_gbb[2];
  ot_flow_record *hist;
  size_t nhist, caphist;
  ot_rng rng;
  double *proj;          /* d x 2 */
  ot_mat projm;
  ot_view view;
  long steps;
  double last_tick, t_start;
  int in_create;
};

/* ---- progress ---------------------------------------------------------------- */

/* Report to the progress callback (paced to ~50 ms unless forced). */
static int tick(ot_flow *f, int force) {
  if (!f->o.progress) return 0;
  double now = ot_clock();
  if (!force && now - f->last_tick < 0.05) return 0;
  f->last_tick = now;
  f->view.kind = OT_VIEW_PARTICLES;
  f->view.mat = ot_mat_block(ot_mat_view(f->Z, f->n, f->D), 0, 0, f->n, f->d);
  f->view.proj = &f->projm;
  f->view.labels = f->lab;
  f->view.title = f->o.title;
  ot_progress p = {"flow", f->steps, 0, f->gnorm, f->F, now - f->t_start, &f->view};
  return f->o.progress(f->o.progress_ud, &p) ? OT_ECANCELED : OT_OK;
}

/* ---- soft-min passes ------------------------------------------------------ */

/*
 * One block of the outer cost: rows of X against rows of Y,
 * C_ij = sx |x_i - y_j|^2 + L[li[i] * ldL + lj[j]] (L may be NULL).
 * C (rows x cols dense) when precomputed, else tiles from coordinates.
 */
typedef struct blk {
  ot_mat X, Y;
  const int *li, *lj;
  const double *L;
  size_t ldL;
  double sx;
  double *C;
  double *ynorm;
} blk;

/* Cost rows [i0, i1) into out ((i1 - i0) x m contiguous). */
static int cost_tile(const blk *B, size_t i0, size_t i1, double *out) {
  size_t m = B->Y.rows;
  if (B->C) {
    memcpy(out, B->C + i0 * m, (i1 - i0) * m * sizeof *out);
    return OT_OK;
  }
  ot_mat T = ot_mat_view(out, i1 - i0, m);
  int rc = ot_cost_rows(T, B->X, B->Y, i0, i1, NULL, B->ynorm);
  if (rc) return rc;
  long rows = (long)(i1 - i0);
#pragma omp parallel for schedule(static) if ((size_t)rows * m > OMP_MIN_WORK)
  for (long r = 0; r < rows; r++) {
    size_t i = i0 + (size_t)r;
    double *row = out + (size_t)r * m, sx = B->sx;
    if (B->L) {
      const double *Lr = B->L + (size_t)B->li[i] * B->ldL;
      for (size_t j = 0; j < m; j++) row[j] = sx * row[j] + Lr[B->lj[j]];
    } else {
      for (size_t j = 0; j < m; j++) row[j] *= sx;
    }
  }
  return OT_OK;
}

/* Precompute the whole block (dense mode); B->C allocated here. */
static int blk_dense(blk *B) {
  size_t n = B->X.rows, m = B->Y.rows;
  int rc = ot_alloc_doubles(n, m, &B->C);
  if (rc) return rc;
  ot_mat C = ot_mat_view(B->C, n, m);
  rc = ot_cost_matrix(C, B->X, B->Y, NULL);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) {
    double *r = B->C + i * m;
    const double *Lr = B->L ? B->L + (size_t)B->li[i] * B->ldL : NULL;
    for (size_t j = 0; j < m; j++) r[j] = B->sx * r[j] + (Lr ? Lr[B->lj[j]] : 0.0);
  }
  return OT_OK;
}

static void blk_free(blk *B) {
  ot_free(B->C);
  ot_free(B->ynorm);
  B->C = NULL;
  B->ynorm = NULL;
}

/* Prepare a block for tiles (norms of Y) or dense storage. */
static int blk_init(blk *B, int dense) {
  if (dense) return blk_dense(B);
  int rc = ot_alloc_doubles(B->Y.rows, 1, &B->ynorm);
  if (rc) return rc;
  ot_cost_sqnorms(B->ynorm, B->Y);
  return OT_OK;
}

/*
 * The work of one tile of rows [i0, i1) with costs Ct ((i1 - i0) x m): the
 * row soft-mins into out, the barycentric rows into T (when T), and the
 * column accumulators (cmax, csum; when hc) from the row values hc.  w:
 * (i1 - i0) x m scratch.  The loops are OpenMP-parallel when called alone,
 * serial inside a team (nested regions run on one thread).
 */
static int tile_work(const blk *B, size_t i0, size_t i1, const double *Ct, double *w,
                     const double *h, double eps, double *out, double *T, const double *hc,
                     double *cmax, double *csum) {
  size_t m = B->Y.rows, D = B->Y.cols;
  double s = 1.0 / eps;
  long rows = (long)(i1 - i0);
  size_t nnz = 0;
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : nnz) if ((size_t)rows * m > OMP_MIN_WORK)
  for (long r = 0; r < rows; r++) {
    const double *c = Ct + (size_t)r * m;
    if (T && !B->C) {
      /* online: one exponential per pair for both the soft-min and the weights */
      double *wr = w + (size_t)r * m, mx = -INFINITY, sum = 0;
      for (size_t j = 0; j < m; j++) {
        wr[j] = (h[j] - c[j]) * s;
        if (wr[j] > mx) mx = wr[j];
      }
      for (size_t j = 0; j < m; j++) wr[j] -= mx;
      ot_vexp(wr, wr, m);
      for (size_t j = 0; j < m; j++) sum += wr[j];
      out[i0 + (size_t)r] = -eps * (mx + log(sum));
      double inv = 1.0 / sum;
      for (size_t j = 0; j < m; j++) {
        wr[j] *= inv;
        nnz += wr[j] > SPARSE_W;
      }
      continue;
    }
    double fi = -eps * ot_vexp_lse(h, c, m, s, NAN);
    out[i0 + (size_t)r] = fi;
    if (T) {
      double *wr = w + (size_t)r * m;
      ot_vexp_row(wr, fi, h, c, m, s);
    }
  }
  if (hc) {
    /* the column soft-mins from the row potential, streamed over the tiles
       (one cost tile serves both updates of a Jacobi pair) */
    long nb = (long)((m + 255) / 256);
#pragma omp parallel for schedule(static) if ((size_t)rows * m > OMP_MIN_WORK)
    for (long bj = 0; bj < nb; bj++) {
      size_t j0 = (size_t)bj * 256, j1 = j0 + 256 < m ? j0 + 256 : m, len = j1 - j0;
      double tmax[256], tmp[256];
      for (size_t q = 0; q < len; q++) tmax[q] = -INFINITY;
      for (long r = 0; r < rows; r++) {
        const double *c = Ct + (size_t)r * m + j0;
        double hr = hc[i0 + (size_t)r];
        for (size_t q = 0; q < len; q++) {
          double v = hr - c[q];
          tmax[q] = v > tmax[q] ? v : tmax[q];
        }
      }
      for (size_t q = 0; q < len; q++) {
        double M = fmax(cmax[j0 + q], tmax[q]);
        if (M > -INFINITY && cmax[j0 + q] > -INFINITY) csum[j0 + q] *= exp((cmax[j0 + q] - M) * s);
        cmax[j0 + q] = M;
      }
      for (long r = 0; r < rows; r++) {
        const double *c = Ct + (size_t)r * m + j0;
        double hr = hc[i0 + (size_t)r];
        for (size_t q = 0; q < len; q++) tmp[q] = (hr - c[q] - cmax[j0 + q]) * s;
        ot_vexp(tmp, tmp, len);
        for (size_t q = 0; q < len; q++) csum[j0 + q] += tmp[q];
      }
    }
  }
  if (T && !B->C && nnz * 8 < (size_t)rows * m) {
    /* online (large) problems: at small eps the plan rows are nearly one-hot, so sum
       only the weights above SPARSE_W (the dropped mass is below m * SPARSE_W per
       row).  Dense problems keep the GEMM: Adam's normalisation makes a flow's path
       sensitive to even these tiny terms, and the reference history is dense. */
#pragma omp parallel for schedule(dynamic, 4) if ((size_t)rows * m > OMP_MIN_WORK)
    for (long r = 0; r < rows; r++) {
      const double *wr = w + (size_t)r * m;
      double *t = T + (i0 + (size_t)r) * D;
      for (size_t k = 0; k < D; k++) t[k] = 0.0;
      for (size_t j = 0; j < m; j++)
        if (wr[j] > SPARSE_W) {
          const double *y = B->Y.data + j * B->Y.ld;
          for (size_t k = 0; k < D; k++) t[k] += wr[j] * y[k];
        }
    }
  } else if (T) {
    ot_mat Wt = ot_mat_view(w, i1 - i0, m);
    ot_mat Tt = ot_mat_view(T + i0 * D, i1 - i0, D);
    return ot_gemm(Tt, 1.0, Wt, 0, B->Y, 0, 0.0);
  }
  return OT_OK;
}

/*
 * out_i = softmin_eps(C_i., logw + pot / eps) = -eps log sum_j w_j exp((pot_j - C_ij) / eps)
 * (pot NULL = 0).  With T (rows x D, contiguous), also T_i = sum_j p_ij Y_j
 * with p_ij the row-normalised weights of that soft-min (the barycentric
 * projection onto B->Y).  With cout, also the column soft-mins from cpot
 * (a Jacobi pair from one sweep).  Dense blocks go tile after tile with
 * threaded loops inside; online ones (costs from coordinates) give whole
 * tiles to the threads, each computing its tile's costs with one-thread
 * BLAS and keeping column accumulators of its own (merged at the end), so
 * that no second thread pool competes for the cores.
 */
static int sm_pass_cols(ot_flow *f, const blk *B, double eps, const double *pot,
                        const double *logw, double *out, double *T, const double *cpot,
                        const double *clogw, double *cout) {
  size_t n = B->X.rows, m = B->Y.rows;
  size_t tr = m ? (1u << 20) / m : 1;
  if (tr < 1) tr = 1;
  if (tr > 256) tr = 256;
  if (tr > n) tr = n;
  int nt = B->C ? 1 : f->scr_nthr;
  double *h = f->scr;
  double *acc = NULL, *hc = NULL;
  int rc = OT_OK;
  if (cout) { /* per thread: cmax (m), csum (m); then hc (n) */
    if ((rc = ot_alloc_doubles(2 * (size_t)nt * m + n, 1, &acc))) goto done;
    hc = acc + 2 * (size_t)nt * m;
    for (size_t k = 0; k < (size_t)nt * m; k++) acc[k] = -INFINITY;
    for (size_t k = 0; k < (size_t)nt * m; k++) acc[(size_t)nt * m + k] = 0.0;
    for (size_t i = 0; i < n; i++) hc[i] = (cpot ? cpot[i] : 0.0) + eps * clogw[i];
  }
  for (size_t j = 0; j < m; j++) h[j] = (pot ? pot[j] : 0.0) + eps * logw[j];
  size_t ntiles = (n + tr - 1) / tr;
  if (B->C) {
    double *w = f->scr + f->scr_nm + f->scr_tile;
    for (size_t t = 0; t < ntiles && !rc; t++) {
      size_t i0 = t * tr, i1 = i0 + tr < n ? i0 + tr : n;
      rc = tile_work(B, i0, i1, B->C + i0 * m, w, h, eps, out, T, hc, acc, acc ? acc + m : NULL);
      if (!rc) rc = tick(f, 0);
    }
  } else {
    int saved = ot_blas_threads(), bad = OT_OK;
    int stop = 0;
    ot_blas_set_threads(1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (n * m > OMP_MIN_WORK)
    for (size_t t = 0; t < ntiles; t++) {
      if (ot_flag_get(&stop) || ot_flag_get(&bad)) continue;
      int tid = OT_THREAD_ID();
      double *tile = f->scr + f->scr_nm + 2 * (size_t)tid * f->scr_tile, *w = tile + f->scr_tile;
      size_t i0 = t * tr, i1 = i0 + tr < n ? i0 + tr : n;
      double *cm = acc ? acc + (size_t)tid * m : NULL, *cs = acc ? acc + ((size_t)nt + tid) * m : NULL;
      int r = cost_tile(B, i0, i1, tile);
      if (!r) r = tile_work(B, i0, i1, tile, w, h, eps, out, T, hc, cm, cs);
      if (r) {
#pragma omp critical(flow_pass)
        if (!bad) ot_flag_set(&bad, r);
        continue;
      }
      if (tid == 0 && tick(f, 0)) ot_flag_set(&stop, 1);
    }
    ot_blas_set_threads(saved);
    rc = bad ? bad : stop ? OT_ECANCELED : OT_OK;
  }
  if (rc) goto done;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(out[i])) {
      rc = OT_ENUMERIC;
      break;
    }
  if (cout)
    for (size_t j = 0; j < m; j++) {
      /* merge the threads' (max, sum) pairs */
      double M = -INFINITY, S = 0.0, s = 1.0 / eps;
      for (int t = 0; t < nt; t++) M = fmax(M, acc[(size_t)t * m + j]);
      for (int t = 0; t < nt; t++) {
        double mt = acc[(size_t)t * m + j];
        if (mt > -INFINITY) S += acc[((size_t)nt + t) * m + j] * exp((mt - M) * s);
      }
      cout[j] = -M - eps * log(S);
      if (!isfinite(cout[j])) rc = OT_ENUMERIC;
    }
done:
  ot_free(acc);
  f->solver_iter++;
  return rc;
}

static int sm_pass(ot_flow *f, const blk *B, double eps, const double *pot, const double *logw,
                   double *out, double *T) {
  return sm_pass_cols(f, B, eps, pot, logw, out, T, NULL, NULL, NULL);
}

/* The epsilon list of GeomLoss for p = 2: [D2, D2, D2 s^2, ... > eps, eps]. */
static size_t eps_list(double diam2, double eps, double s, double *out, size_t cap) {
  size_t k = 0;
  out[k++] = diam2;
  if (diam2 > 0) {
    double lt = log(diam2), stop = log(eps), st = 2.0 * log(s);
    for (long i = 0; k + 1 < cap; i++) {
      double t = lt + (double)i * st;
      if (!(t > stop)) break;
      out[k++] = exp(t);
    }
  }
  out[k++] = eps;
  return k;
}

/* Averaged schedule for a pair (f on the X side, g on the Y side). */
static int sched_pair(ot_flow *f, const blk *xy, const blk *yx, const double *la,
                      const double *lb, const double *eps, size_t ne, double *F, double *Gp,
                      double *tf, double *tg) {
  size_t n = xy->X.rows, m = xy->Y.rows;
  int rc;
  if (!xy->C) { /* online: each Jacobi pair from one sweep of cost tiles */
    if ((rc = sm_pass_cols(f, xy, eps[0], NULL, lb, F, NULL, NULL, la, Gp))) return rc;
  } else {
    if ((rc = sm_pass(f, xy, eps[0], NULL, lb, F, NULL))) return rc;
    if ((rc = sm_pass(f, yx, eps[0], NULL, la, Gp, NULL))) return rc;
  }
  for (size_t k = 0; k < ne; k++) {
    if (!xy->C) {
      if ((rc = sm_pass_cols(f, xy, eps[k], Gp, lb, tf, NULL, F, la, tg))) return rc;
    } else {
      if ((rc = sm_pass(f, xy, eps[k], Gp, lb, tf, NULL))) return rc;
      if ((rc = sm_pass(f, yx, eps[k], F, la, tg, NULL))) return rc;
    }
    for (size_t i = 0; i < n; i++) F[i] = 0.5 * (F[i] + tf[i]);
    for (size_t j = 0; j < m; j++) Gp[j] = 0.5 * (Gp[j] + tg[j]);
  }
  return OT_OK;
}

/* Averaged schedule for a symmetric problem. */
static int sched_self(ot_flow *f, const blk *xx, const double *la, const double *eps,
                      size_t ne, double *P, double *tp) {
  size_t n = xx->X.rows;
  int rc;
  if ((rc = sm_pass(f, xx, eps[0], NULL, la, P, NULL))) return rc;
  for (size_t k = 0; k < ne; k++) {
    if ((rc = sm_pass(f, xx, eps[k], P, la, tp, NULL))) return rc;
    for (size_t i = 0; i < n; i++) P[i] = 0.5 * (P[i] + tp[i]);
  }
  return OT_OK;
}

/* sum_j w_j |exp((p_j - q_j) / eps) - 1|: the L1 marginal error of a plan whose
   potential p would be replaced by the soft-min q. */
static double marg_err(const double *w, const double *p, const double *q, size_t k, double eps) {
  double e = 0;
  for (size_t j = 0; j < k; j++) e += w[j] * fabs(expm1((p[j] - q[j]) / eps));
  return e;
}

static double wdot(const double *w, const double *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += w[i] * x[i];
  return s;
}

/* Network simplex on the dense cross block (uniform weights a, b): the sparse plan
   (pi, pj, mass; room for n + m - 1) and/or the duals (u, v); any may be NULL. */
static int emd_dense(ot_flow *f, const blk *xy, size_t *pi, size_t *pj, double *mass, double *u,
                     double *v, ot_emd_result *res) {
  ot_emd_problem prob;
  memset(&prob, 0, sizeof prob);
  prob.n = xy->X.rows;
  prob.m = xy->Y.rows;
  prob.a = f->a;
  prob.b = f->b;
  prob.C = ot_mat_view(xy->C, prob.n, prob.m);
  ot_emd_opts eo;
  ot_emd_opts_init(&eo);
  return ot_emd_solve(&prob, &eo, pi, pj, mass, u, v, res);
}

/* Exact duals of the dense cross block into f (n) and g (m). */
static int emd_duals(ot_flow *f, const blk *xy, double *u, double *v) {
  ot_emd_result res;
  int rc = emd_dense(f, xy, NULL, NULL, NULL, u, v, &res);
  f->solver_iter += 1;
  return rc;
}

/*
 * One OT term between the particles Xp (n x D') and the target Yp (m x D'):
 * label tables Lxy (C1 x C2), Lxx (C1 x C1), Lyy (C2 x C2) scaled, or NULL.
 * *value = S (debiased) or OT_eps; G (n x D', contiguous) += w * gradient.
 */
static int ot_term(ot_flow *f, int term, ot_mat Xp, ot_mat Yp, const int *li,
                   const int *lj, const double *Lxy, const double *Lyx, const double *Lxx,
                   const double *Lyy, double w, double *value, double *G, int commit_warm) {
  size_t n = Xp.rows, m = Yp.rows, Dp = Xp.cols;
  const ot_flow_opts *o = &f->o;
  double sx = 0.5 * o->lambda_x;
  int debiased = o->debiased && o->solver != OT_FLOW_EXACT;
  int dense = o->online == 0 || (o->online < 0 && 2 * n * m + n * n + m * m <= DENSE_LIMIT);
  if (o->solver == OT_FLOW_EXACT) dense = 1;
  size_t C1 = f->st1.nclass, C2 = f->st2.nclass;
  blk xy = {Xp, Yp, li, lj, Lxy, Lxy ? C2 : 0, sx, NULL, NULL};
  blk yx = {Yp, Xp, lj, li, Lyx, Lyx ? C1 : 0, sx, NULL, NULL};
  blk xx = {Xp, Xp, li, li, Lxx, Lxx ? C1 : 0, sx, NULL, NULL};
  blk yy = {Yp, Yp, lj, lj, Lyy, Lyy ? C2 : 0, sx, NULL, NULL};
  double *T = NULL, *Q = NULL, *buf = NULL;
  size_t *pi = NULL, *pj = NULL;
  double *mass = NULL;
  int rc;
  if ((rc = ot_alloc_doubles(n, Dp, &T))) goto done;

  if (o->solver == OT_FLOW_EXACT) {
    if ((rc = blk_dense(&xy))) goto done;
    size_t k = n + m - 1;
    if ((rc = ot_malloc(k * sizeof *pi, &pi)) || (rc = ot_malloc(k * sizeof *pj, &pj)) ||
        (rc = ot_alloc_doubles(k, 1, &mass)))
      goto done;
    ot_emd_result res;
    if ((rc = emd_dense(f, &xy, pi, pj, mass, NULL, NULL, &res))) goto done;
    f->solver_iter += res.iterations;
    memset(T, 0, n * Dp * sizeof *T);
    for (size_t e = 0; e < res.nnz; e++) {
      const double *y = Yp.data + pj[e] * Yp.ld;
      double *t = T + pi[e] * Dp;
      double s = mass[e] / f->a[pi[e]];
      for (size_t c = 0; c < Dp; c++) t[c] += s * y[c];
    }
    *value = res.cost;
    for (size_t i = 0; i < n; i++)
      for (size_t c = 0; c < Dp; c++)
        G[i * Dp + c] += w * f->a[i] * o->lambda_x * (OT_AT(Xp, i, c) - T[i * Dp + c]);
    goto done;
  }

  /* entropic: the epsilon list from the diameter of the bounding box */
  double diam2 = 0;
  for (size_t c = 0; c < Dp; c++) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      double v = OT_AT(Xp, i, c);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    for (size_t j = 0; j < m; j++) {
      double v = OT_AT(Yp, j, c);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    diam2 += (hi - lo) * (hi - lo);
  }
  if (Lxy) { /* the label index coordinate: source classes 0 .. C1 - 1, target classes
                C1 .. C1 + C2 - 1 when debiased (one label matrix over the union), else 0 .. C2 - 1 */
    double r = debiased ? (double)(C1 + C2 - 1) : (double)((C1 > C2 ? C1 : C2) - 1);
    diam2 += r * r;
  }
  double epsl[128];
  size_t ne = eps_list(diam2, o->eps, o->scaling, epsl, 128);
  double eps = o->eps;

  /* soft-min scratch: potentials (max(n, m)) and two tiles of at most tr x m */
  size_t nm = n > m ? n : m, tcap = (size_t)1 << 20;
  if (tcap < nm) tcap = nm;
  if (tcap > nm * nm) tcap = nm * nm;
  f->scr_nthr = OT_NTHREADS();
  if ((rc = ot_alloc_doubles(nm + 2 * tcap * (size_t)f->scr_nthr, 1, &f->scr))) goto done;
  f->scr_nm = nm;
  f->scr_tile = tcap;
  /* buffers: F, Gp, FA, GB, and temporaries */
  if ((rc = ot_alloc_doubles(3 * n + 3 * m, 1, &buf))) goto done;
  double *Fp = buf, *Gp = buf + n, *FA = buf + n + m, *GB = buf + 2 * n + m;
  double *tf = buf + 2 * n + 2 * m, *tg = buf + 3 * n + 2 * m;
  if (debiased && (rc = ot_alloc_doubles(n, Dp, &Q))) goto done;
  if ((rc = blk_init(&xy, dense)) || (rc = blk_init(&yx, 0))) goto done;
  if (dense) {
    if ((rc = ot_alloc_doubles(m, n, &yx.C))) goto done;
    ot_mat_transpose(ot_mat_view(yx.C, m, n), ot_mat_view(xy.C, n, m));
  }
  if (debiased && (rc = blk_init(&xx, dense))) goto done;
  int need_gbb = debiased && !f->have_gbb[term];
  if (need_gbb && (rc = blk_init(&yy, dense))) goto done;

  /* dense: every solve starts from the exact duals (robust after large moves);
     online: from the previous step's potentials when there are some */
  int warm = o->solver == OT_FLOW_CONVERGED && f->have_warm[term] && !dense;
  if (warm) {
    memcpy(Fp, f->warm[term][0], n * sizeof *Fp);
    memcpy(Gp, f->warm[term][1], m * sizeof *Gp);
    if (debiased) memcpy(FA, f->warm[term][2], n * sizeof *FA);
  } else {
    if (o->solver == OT_FLOW_CONVERGED && dense) {
      /* start the cross potentials from the network simplex duals (the eps -> 0 limit) */
      if ((rc = emd_duals(f, &xy, Fp, Gp))) goto done;
      if (debiased && f->have_warm[term]) memcpy(FA, f->warm[term][2], n * sizeof *FA);
      else if (debiased && (rc = sched_self(f, &xx, f->loga, epsl, ne, FA, tf))) goto done;
    } else if ((rc = sched_pair(f, &xy, &yx, f->loga, f->logb, epsl, ne, Fp, Gp, tf, tg))) {
      goto done;
    }
    if (!(o->solver == OT_FLOW_CONVERGED && dense) && debiased &&
        (rc = sched_self(f, &xx, f->loga, epsl, ne, FA, tf)))
      goto done;
  }
  if (need_gbb && (rc = sched_self(f, &yy, f->logb, epsl, ne, GB, tg))) goto done;

  if (o->solver == OT_FLOW_CONVERGED) {
    int cross_done = 0, self_done = !debiased, yy_done = !need_gbb;
    /* cross updates over-relaxed in the log domain (f <- f + om (softmin - f)), which
       cuts the passes at small eps about threefold (om = 1.8) */
    double om = 1.8, prev_err = INFINITY;
    for (long it = 0; it < o->max_iter && !(cross_done && self_done && yy_done); it++) {
      if (!cross_done) {
        /* f first: the target side's potential g moves least between steps */
        if ((rc = sm_pass(f, &xy, eps, Gp, f->logb, tf, NULL))) goto done;
        for (size_t i = 0; i < n; i++) tf[i] = Fp[i] + om * (tf[i] - Fp[i]);
        if ((rc = sm_pass(f, &yx, eps, tf, f->loga, tg, NULL))) goto done;
        /* L1 marginal error of the plan (f, g): its column sums are b_j exp((g_j - g~_j) / eps) */
        double err = marg_err(f->b, Gp, tg, m, eps);
        for (size_t j = 0; j < m; j++) tg[j] = Gp[j] + om * (tg[j] - Gp[j]);
        memcpy(Fp, tf, n * sizeof *Fp);
        memcpy(Gp, tg, m * sizeof *Gp);
        cross_done = err < o->sinkhorn_tol;
        f->last_err = err;
        /* over-relaxation safeguard: back to plain updates when the error grows far
           above the smallest seen (divergence), or turns NaN */
        if (it >= 5 && !(err <= 10 * prev_err)) om = 1.0;
        if (it >= 4 && err < prev_err) prev_err = err;
      }
      if (!self_done) {
        if ((rc = sm_pass(f, &xx, eps, FA, f->loga, tf, NULL))) goto done;
        self_done = marg_err(f->a, FA, tf, n, eps) < o->sinkhorn_tol;
        for (size_t i = 0; i < n; i++) FA[i] = 0.5 * (FA[i] + tf[i]);
      }
      if (!yy_done) {
        if ((rc = sm_pass(f, &yy, eps, GB, f->logb, tg, NULL))) goto done;
        yy_done = marg_err(f->b, GB, tg, m, eps) < o->sinkhorn_tol;
        for (size_t j = 0; j < m; j++) GB[j] = 0.5 * (GB[j] + tg[j]);
      }
    }
  }
  /* the last (undamped) update of every potential, at the final eps, in parallel */
  if (dense) { /* (dense: the same arithmetic as the reference history was recorded with) */
    if ((rc = sm_pass(f, &xy, eps, Gp, f->logb, tf, T))) goto done;
    if ((rc = sm_pass(f, &yx, eps, Fp, f->loga, tg, NULL))) goto done;
  } else if ((rc = sm_pass_cols(f, &xy, eps, Gp, f->logb, tf, T, Fp, f->loga, tg))) {
    goto done;
  }
  memcpy(Fp, tf, n * sizeof *Fp);
  memcpy(Gp, tg, m * sizeof *Gp);
  double val = wdot(f->a, Fp, n) + wdot(f->b, Gp, m);
  if (debiased) {
    if ((rc = sm_pass(f, &xx, eps, FA, f->loga, tf, Q))) goto done;
    memcpy(FA, tf, n * sizeof *FA);
    if (need_gbb) {
      if ((rc = sm_pass(f, &yy, eps, GB, f->logb, tg, NULL))) goto done;
      f->gbb[term] = wdot(f->b, tg, m);
      f->have_gbb[term] = 1;
    }
    val -= wdot(f->a, FA, n) + f->gbb[term];
  }
  *value = val;
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < Dp; c++) {
      double ref = debiased ? Q[i * Dp + c] : OT_AT(Xp, i, c);
      G[i * Dp + c] += w * f->a[i] * o->lambda_x * (ref - T[i * Dp + c]);
    }
  if (commit_warm && o->solver == OT_FLOW_CONVERGED) {
    memcpy(f->warmnew[term][0], Fp, n * sizeof *Fp);
    memcpy(f->warmnew[term][1], Gp, m * sizeof *Gp);
    if (debiased) memcpy(f->warmnew[term][2], FA, n * sizeof *FA);
    f->have_warmnew[term] = 1;
  }
  if (!isfinite(val)) rc = OT_ENUMERIC;
done:
  blk_free(&xy);
  blk_free(&yx);
  blk_free(&xx);
  blk_free(&yy);
  ot_free(T);
  ot_free(Q);
  ot_free(buf);
  ot_free(pi);
  ot_free(pj);
  ot_free(mass);
  ot_free(f->scr);
  f->scr = NULL;
  return rc;
}

/* ---- label distances ------------------------------------------------------- */

/*
 * L (C1 x C2 contiguous) = lambda_y / 2 * W, W the Bures label distances
 * between the classes of A and B (ot_otdd_label_distances; A == B gives
 * the symmetric block with a zero diagonal).
 */
static int label_costs(double *L, const ot_otdd_stats *A, const ot_otdd_stats *B,
                       double lambda_y) {
  ot_otdd_label_opts lo;
  ot_otdd_label_opts_init(&lo);
  size_t k = A->nclass * B->nclass;
  int rc = ot_otdd_label_distances(ot_mat_view(L, A->nclass, B->nclass), A, B, &lo);
  if (rc) return rc;
  for (size_t e = 0; e < k; e++) L[e] *= 0.5 * lambda_y;
  return OT_OK;
}

/* ---- potentials and interactions ------------------------------------------ */

static int in_set(double v, const double *set, size_t k) {
  for (size_t i = 0; i < k; i++)
    if (set[i] == v) return 1;
  return 0;
}

/* Built-in potentials: adds w * a_i * grad V to G (ld D) and returns sum a_i V. */
static double potentials(ot_flow *f, const double *Z, const double *lab, double *G,
                         int *any) {
  const ot_flow_opts *o = &f->o;
  size_t n = f->n, d = f->d, D = f->D;
  double E = 0;
  *any = o->w_quad != 0 || o->w_margin != 0 || o->w_collapse != 0 || o->w_box != 0;
  if (!*any) return 0;
  for (size_t i = 0; i < n; i++) {
    const double *x = Z + i * D;
    double *g = G + i * D;
    double ai = f->a[i], V = 0;
    if (o->w_quad != 0) {
      size_t p = f->quadA ? o->quad_p : d;
      for (size_t r = 0; r < p; ++r) {
        double v = f->quadA ? ot_dot(d, f->quadA + r * d, x) : x[r];
        v -= f->quadb ? f->quadb[r] : 0.0;
        V += o->w_quad * v * v;
        if (f->quadA)
          for (size_t k = 0; k < d; k++) g[k] += ai * o->w_quad * 2 * v * f->quadA[r * d + k];
        else
          g[r] += ai * o->w_quad * 2 * v;
      }
    }
    if (o->w_margin != 0) {
      double sgn = in_set(lab[i], f->mpos, o->n_margin_pos) ? 1.0 : -1.0;
      double h = o->margin_gap - sgn * (ot_dot(d, f->mw, x) + o->margin_b);
      if (h > 0) {
        V += o->w_margin * h * h;
        for (size_t k = 0; k < d; k++) g[k] += ai * o->w_margin * 2 * h * (-sgn) * f->mw[k];
      }
    }
    if (o->w_collapse != 0)
      for (size_t r = 0; r < o->n_collapse; r++) {
        size_t k = f->cdims[r];
        double v = x[k] - o->collapse_value;
        V += o->w_collapse * v * v;
        g[k] += ai * o->w_collapse * 2 * v;
      }
    if (o->w_box != 0)
      for (size_t k = 0; k < d; k++) {
        double lo = o->box_lo - x[k], hi = x[k] - o->box_hi;
        if (lo > 0) {
          V += o->w_box * lo * lo;
          g[k] -= ai * o->w_box * 2 * lo;
        }
        if (hi > 0) {
          V += o->w_box * hi * hi;
          g[k] += ai * o->w_box * 2 * hi;
        }
      }
    E += ai * V;
  }
  return E;
}

/* Interaction energy and its gradient (O(n^2 d), rows in parallel). */
static double interaction(ot_flow *f, const double *Z, const double *lab, double *G) {
  const ot_flow_opts *o = &f->o;
  size_t n = f->n, d = f->d, D = f->D;
  double s2 = o->width * o->width, E = 0;
  long nn = (long)n;
#pragma omp parallel for schedule(dynamic, 8) reduction(+ : E) if (n * n * d > OMP_MIN_WORK)
  for (long ii = 0; ii < nn; ii++) {
    size_t i = (size_t)ii;
    const double *x = Z + i * D;
    double *g = G + i * D;
    for (size_t k = 0; k < n; k++) {
      if (k == i) continue;
      double c = lab[i] == lab[k] ? -o->attraction : o->repulsion;
      if (c == 0) continue;
      const double *y = Z + k * D;
      double r2 = 0;
      for (size_t q = 0; q < d; q++) r2 += (x[q] - y[q]) * (x[q] - y[q]);
      double K = exp(-r2 / (2 * s2)), e = f->a[i] * f->a[k] * c * K;
      E += e;
      for (size_t q = 0; q < d; q++) g[q] += -2.0 * e * (x[q] - y[q]) / s2;
    }
  }
  return E;
}

/* ---- evaluation ------------------------------------------------------------ */

/* F, its parts and gradient G (n x D, overwritten) at particles Z with labels lab. */
static int evaluate(ot_flow *f, const double *Z, const double *lab, double *F, double *parts,
                    double *G, int commit_warm) {
  const ot_flow_opts *o = &f->o;
  size_t n = f->n, d = f->d, D = f->D, m = f->m;
  int rc = OT_OK;
  double *Lxy = NULL, *Lyx = NULL, *Lxx = NULL, *vals = NULL;
  memset(G, 0, n * D * sizeof *G);
  for (int k = 0; k < OT_FLOW_NPARTS; k++) parts[k] = NAN;
  double total = 0;
  for (int term = 0; term < 2; term++) {
    double w = term == 0 ? o->w_otdd : o->w_ot;
    if (w == 0) continue;
    double v = 0;
    ot_mat Xp = ot_mat_view((double *)Z, n, D), Yp = ot_mat_view(f->Y, m, D);
    if (term == 1 && D != d) {
      Xp = ot_mat_block(Xp, 0, 0, n, d);
      Yp = ot_mat_block(Yp, 0, 0, m, d);
    }
    if (term == 0 && o->labels == OT_FLOW_FIXED && o->lambda_y != 0) {
      size_t C1 = f->st1.nclass, C2 = f->st2.nclass;
      if ((rc = ot_alloc_doubles(2 * C1 * C2 + C1 * C1, 1, &Lxy))) goto done;
      Lyx = Lxy + C1 * C2;
      Lxx = Lyx + C1 * C2;
      /* the source classes' moments from the moved features (a covariance that is not
         PSD means the particles went bad: OT_ENUMERIC) */
      if (!(f->st1_fresh && Z == f->Z)) {
        rc = ot_otdd_stats_update(&f->st1, ot_mat_block(ot_mat_view((double *)Z, n, D), 0, 0, n, d));
        if (rc == OT_EINVAL) rc = OT_ENUMERIC;
        if (rc) goto done;
      }
      f->st1_fresh = 0;
      if ((rc = label_costs(Lxy, &f->st1, &f->st2, o->lambda_y)) ||
          (rc = label_costs(Lxx, &f->st1, &f->st1, o->lambda_y)))
        goto done;
      for (size_t p = 0; p < C1; p++)
        for (size_t q = 0; q < C2; q++) Lyx[q * C1 + p] = Lxy[p * C2 + q];
      rc = ot_term(f, term, Xp, Yp, f->st1.index, f->st2.index, Lxy, Lyx, Lxx, f->Lyy, w, &v, G,
                   commit_warm);
    } else if (term == 1 && D != d) {
      /* features-only term of a joint flow: gradient on the feature columns */
      double *Gt = NULL;
      if ((rc = ot_alloc_doubles(n, d, &Gt))) goto done;
      memset(Gt, 0, n * d * sizeof *Gt);
      rc = ot_term(f, term, Xp, Yp, NULL, NULL, NULL, NULL, NULL, NULL, w, &v, Gt, commit_warm);
      for (size_t i = 0; !rc && i < n; i++)
        for (size_t k = 0; k < d; k++) G[i * D + k] += Gt[i * d + k];
      ot_free(Gt);
    } else {
      rc = ot_term(f, term, Xp, Yp, NULL, NULL, NULL, NULL, NULL, NULL, w, &v, G, commit_warm);
    }
    if (rc) goto done;
    parts[term == 0 ? OT_FLOW_PART_OTDD : OT_FLOW_PART_OT] = v;
    total += w * v;
  }
  if (o->labels == OT_FLOW_TIED) {
    /* tied: the label part of a class is one parameter; each member gets a_i times the
       class's gradient over the class mass, so all members move together */
    size_t q = D - d;
    double *acc = NULL;
    const int *li = f->st1.index;
    if ((rc = ot_calloc((f->st1.nclass * (q + 1)) * sizeof(double), &acc))) goto done;
    for (size_t i = 0; i < n; i++) {
      double *r = acc + (size_t)li[i] * (q + 1);
      for (size_t k = 0; k < q; k++) r[k] += G[i * D + d + k];
      r[q] += f->a[i];
    }
    for (size_t i = 0; i < n; i++) {
      const double *r = acc + (size_t)li[i] * (q + 1);
      for (size_t k = 0; k < q; k++) G[i * D + d + k] = f->a[i] * r[k] / r[q];
    }
    ot_free(acc);
  }
  int any;
  double Ep = potentials(f, Z, lab, G, &any);
  if (o->user && o->w_user != 0) {
    double *Gu = NULL;
    if ((rc = ot_alloc_doubles(n, 1, &vals)) || (rc = ot_alloc_doubles(n, d, &Gu))) {
      ot_free(Gu);
      goto done;
    }
    memset(Gu, 0, n * d * sizeof *Gu);
    ot_mat Xv = ot_mat_block(ot_mat_view((double *)Z, n, D), 0, 0, n, d);
    if (o->user(o->user_ud, Xv, lab, vals, ot_mat_view(Gu, n, d))) {
      ot_free(Gu);
      rc = OT_ECANCELED;
      goto done;
    }
    for (size_t i = 0; i < n; i++) {
      Ep += o->w_user * f->a[i] * vals[i];
      for (size_t k = 0; k < d; k++) G[i * D + k] += o->w_user * f->a[i] * Gu[i * d + k];
    }
    ot_free(Gu);
    any = 1;
  }
  if (any) {
    parts[OT_FLOW_PART_POTENTIAL] = Ep;
    total += Ep;
  }
  if (o->repulsion != 0 || o->attraction != 0) {
    double Ei = interaction(f, Z, lab, G);
    parts[OT_FLOW_PART_INTERACTION] = Ei;
    total += Ei;
  }
  *F = total;
  if (!isfinite(total)) rc = OT_ENUMERIC;
  for (size_t i = 0; !rc && i < n * D; i++)
    if (!isfinite(G[i])) rc = OT_ENUMERIC;
done:
  ot_free(Lxy);
  ot_free(vals);
  return rc;
}

/* ---- joint labels ----------------------------------------------------------- */

/*
 * Labels of the particles from their label parts (columns d..3d of Z):
 * Lloyd's k-means from the target class centres, each cluster named by
 * its nearest target class.
 */
static int relabel(ot_flow *f, const double *Z, double *lab) {
  size_t n = f->n, d = f->d, D = f->D, K = f->st2.nclass, q = 2 * d;
  const int *lj = f->st2.index;
  double *ctr = NULL, *tgt = NULL, *acc = NULL, *cnt = NULL;
  size_t *as = NULL;
  int rc = ot_alloc_doubles(K, q, &ctr);
  if (!rc) rc = ot_alloc_doubles(K, q, &tgt);
  if (!rc) rc = ot_alloc_doubles(K, q, &acc);
  if (!rc) rc = ot_alloc_doubles(K, 1, &cnt);
  if (!rc) rc = ot_malloc(n * sizeof *as, &as);
  if (rc) goto done;
  for (size_t j = 0; j < f->m; j++) memcpy(tgt + (size_t)lj[j] * q, f->Y + j * D + d, q * sizeof *tgt);
  memcpy(ctr, tgt, K * q * sizeof *ctr);
  for (int it = 0; it < 100; it++) {
    int moved = 0;
    for (size_t i = 0; i < n; i++) {
      const double *z = Z + i * D + d;
      size_t best = 0;
      double bd = INFINITY;
      for (size_t c = 0; c < K; c++) {
        double s = 0;
        for (size_t k = 0; k < q; k++) s += (z[k] - ctr[c * q + k]) * (z[k] - ctr[c * q + k]);
        if (s < bd) {
          bd = s;
          best = c;
        }
      }
      if (it == 0 || as[i] != best) moved = 1;
      as[i] = best;
    }
    if (!moved) break;
    memset(acc, 0, K * q * sizeof *acc);
    memset(cnt, 0, K * sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
      cnt[as[i]] += 1;
      for (size_t k = 0; k < q; k++) acc[as[i] * q + k] += Z[i * D + d + k];
    }
    for (size_t c = 0; c < K; c++)
      if (cnt[c] > 0)
        for (size_t k = 0; k < q; k++) ctr[c * q + k] = acc[c * q + k] / cnt[c];
  }
  for (size_t c = 0; c < K; c++) { /* name each cluster */
    size_t best = 0;
    double bd = INFINITY;
    for (size_t t = 0; t < K; t++) {
      double s = 0;
      for (size_t k = 0; k < q; k++) s += (ctr[c * q + k] - tgt[t * q + k]) * (ctr[c * q + k] - tgt[t * q + k]);
      if (s < bd) {
        bd = s;
        best = t;
      }
    }
    cnt[c] = f->st2.labels[best];
  }
  for (size_t i = 0; i < n; i++) lab[i] = cnt[as[i]];
done:
  ot_free(ctr);
  ot_free(tgt);
  ot_free(acc);
  ot_free(cnt);
  ot_free(as);
  return rc;
}

/* ---- the flow object ---------------------------------------------------------- */

void ot_flow_destroy(ot_flow *f) {
  if (!f) return;
  double *bufs[] = {f->pool, f->Lyy, f->quadA, f->quadb, f->mw, f->mpos};
  for (size_t k = 0; k < sizeof bufs / sizeof bufs[0]; k++) ot_free(bufs[k]);
  ot_free(f->cdims);
  ot_free(f->hist);
  ot_otdd_stats_free(&f->st1);
  ot_otdd_stats_free(&f->st2);
  ot_free(f);
}

static int dup(double **out, const double *src, size_t k) {
  if (!src) return OT_OK;
  int rc = ot_alloc_doubles(k ? k : 1, 1, out);
  if (!rc) memcpy(*out, src, k * sizeof *src);
  return rc;
}

static int push_record(ot_flow *f, const ot_flow_record *r) {
  if (f->nhist == f->caphist) {
    size_t cap = f->caphist ? 2 * f->caphist : 64, bytes;
    ot_flow_record *h = NULL;
    int rc = ot_mem_size(cap, sizeof *h, 1, &bytes);
    if (!rc) rc = ot_malloc(bytes, &h);
    if (rc) return rc;
    if (f->nhist) memcpy(h, f->hist, f->nhist * sizeof *h);
    ot_free(f->hist);
    f->hist = h;
    f->caphist = cap;
  }
  f->hist[f->nhist++] = *r;
  return OT_OK;
}

/* The panel projection: first two principal axes of P (k x d, ld ldp). */
static int principal_axes(ot_flow *f, const double *P, size_t ldp, size_t k) {
  size_t d = f->d;
  f->projm = ot_mat_view(f->proj, d, 2);
  memset(f->proj, 0, 2 * d * sizeof *f->proj);
  if (d <= 2 || k < 2) {
    for (size_t c = 0; c < 2 && c < d; c++) f->proj[c * 2 + c] = 1.0;
    return OT_OK;
  }
  double *mu = NULL, *Cv = NULL, *V = NULL, *w = NULL;
  int rc = ot_alloc_doubles(d, 1, &mu);
  if (!rc) rc = ot_alloc_doubles(d, d, &Cv);
  if (!rc) rc = ot_alloc_doubles(d, d, &V);
  if (!rc) rc = ot_alloc_doubles(d, 1, &w);
  if (!rc) {
    /* a d x d covariance from a strided matrix: center into V rows one at a time */
    memset(mu, 0, d * sizeof *mu);
    memset(Cv, 0, d * d * sizeof *Cv);
    for (size_t i = 0; i < k; i++)
      for (size_t c = 0; c < d; c++) mu[c] += P[i * ldp + c] / (double)k;
    for (size_t i = 0; i < k; i++)
      for (size_t r = 0; r < d; r++) {
        double xr = P[i * ldp + r] - mu[r];
        if (xr == 0) continue;
        for (size_t c = 0; c <= r; c++) Cv[r * d + c] += xr * (P[i * ldp + c] - mu[c]);
      }
    rc = ot_eigh(ot_mat_view(w, d, 1), ot_mat_view(V, d, d), ot_mat_view(Cv, d, d));
    if (!rc)
      for (size_t r = 0; r < d; r++) {
        f->proj[r * 2] = V[r * d + d - 1];
        f->proj[r * 2 + 1] = V[r * d + d - 2];
      }
  }
  ot_free(mu);
  ot_free(Cv);
  ot_free(V);
  ot_free(w);
  return rc;
}

int ot_flow_create(ot_flow **out, ot_mat X, const double *labels, ot_mat Y, const double *ylab,
                   const ot_flow_opts *opts) {
  *out = NULL;
  const ot_flow_opts *o = opts;
  size_t n = X.rows, d = X.cols, m = Y.data ? Y.rows : 0;
  if (n == 0 || d == 0) return OT_EINVAL;
  if (Y.data && Y.cols != d) return OT_ESHAPE;
  if ((o->w_otdd != 0 || o->w_ot != 0) && m == 0) return OT_EINVAL;
  int aug = o->labels == OT_FLOW_JOINT || o->labels == OT_FLOW_TIED;
  if (aug && m == 0) return OT_EINVAL;
  if (!(o->eps > 0) || !(o->step > 0) || !(o->scaling > 0 && o->scaling < 1) ||
      !(o->width > 0) || o->noise < 0 || o->clip < 0)
    return OT_EINVAL;
  if (o->labels != OT_FLOW_FIXED && !aug) return OT_EINVAL;
  if (o->w_margin != 0 && !o->margin_w) return OT_EINVAL;
  for (size_t r = 0; r < o->n_collapse; r++)
    if (o->collapse_dims[r] >= d) return OT_EINVAL;
  ot_flow *f = NULL;
  int rc = ot_calloc(sizeof *f, &f);
  if (rc) return rc;
  f->o = *o;
  f->t_start = ot_clock();
  f->n = n;
  f->d = d;
  f->m = m;
  f->D = aug ? 3 * d : d;
  f->ls = aug ? sqrt(o->lambda_y / o->lambda_x) : 1.0;
  if (aug && !(f->ls >= 0 && isfinite(f->ls))) {
    rc = OT_EINVAL;
    goto fail;
  }
  size_t D = f->D, nm = n > m ? n : m;
  /* one pool for the particle, target, optimizer and warm-start arrays */
  size_t total = 10 * n * D + n * d + 4 * n + 2 * d + m * D + 3 * m + 12 * nm, bytes;
  if ((rc = ot_mem_size(total, sizeof(double), 1, &bytes)) || (rc = ot_calloc(bytes, &f->pool)))
    goto fail;
  double *q = f->pool;
  double **carve[] = {&f->Z, &f->Znew, &f->G, &f->Gnew, &f->m1, &f->m2, &f->m1new, &f->m2new};
  for (size_t k = 0; k < 8; k++, q += n * D) *carve[k] = q;
  q += 2 * n * D; /* spare */
  f->X0 = q, q += n * d;
  f->lab = q, q += n;
  f->labnew = q, q += n;
  f->a = q, q += n;
  f->loga = q, q += n;
  f->proj = q, q += 2 * d;
  if (m) {
    f->Y = q, q += m * D;
    f->ylab = q, q += m;
    f->b = q, q += m;
    f->logb = q, q += m;
  } else {
    q += m * D + 3 * m;
  }
  for (int t = 0; t < 2; t++)
    for (int k = 0; k < 3; k++) {
      f->warm[t][k] = q, q += nm;
      f->warmnew[t][k] = q, q += nm;
    }
  for (size_t i = 0; i < n; i++) {
    f->lab[i] = labels ? labels[i] : 0.0;
    f->a[i] = 1.0 / (double)n;
    f->loga[i] = -log((double)n);
    for (size_t k = 0; k < d; k++) f->Z[i * D + k] = f->X0[i * d + k] = OT_AT(X, i, k);
  }
  if (m) {
    for (size_t j = 0; j < m; j++) {
      f->ylab[j] = ylab ? ylab[j] : 0.0;
      f->b[j] = 1.0 / (double)m;
      f->logb[j] = -log((double)m);
      for (size_t k = 0; k < d; k++) f->Y[j * D + k] = OT_AT(Y, j, k);
    }
  }
  /* option arrays */
  if ((rc = dup(&f->quadA, o->quad_A, o->quad_p * d)) ||
      (rc = dup(&f->quadb, o->quad_b, o->quad_A ? o->quad_p : d)) ||
      (rc = dup(&f->mw, o->margin_w, d)) || (rc = dup(&f->mpos, o->margin_pos, o->n_margin_pos)))
    goto fail;
  if (o->n_collapse) {
    if ((rc = ot_malloc(o->n_collapse * sizeof *f->cdims, &f->cdims))) goto fail;
    memcpy(f->cdims, o->collapse_dims, o->n_collapse * sizeof *f->cdims);
  }
  f->o.quad_A = f->quadA;
  f->o.quad_b = f->quadb;
  f->o.margin_w = f->mw;
  f->o.margin_pos = f->mpos;
  f->o.collapse_dims = f->cdims;
  f->o.title = NULL;
  /* class statistics: fixed-label otdd needs the target's; joint the augmentation */
  int need_stats = m && ((o->w_otdd != 0 && o->labels == OT_FLOW_FIXED && o->lambda_y != 0) ||
                         aug);
  if (need_stats) {
    /* otdd.h statistics, every class kept (a class of one sample has no unbiased
       covariance: OT_EINVAL).  Joint and tied flows need only the per-coordinate
       means and standard deviations of the augmentation: diagonal statistics. */
    ot_otdd_stats_opts so;
    ot_otdd_stats_opts_init(&so);
    so.drop_small = 0;
    so.diagonal = aug;
    ot_mat Xs = ot_mat_block(ot_mat_view(f->Z, n, D), 0, 0, n, d);
    ot_mat Ys = ot_mat_block(ot_mat_view(f->Y, m, D), 0, 0, m, d);
    if ((rc = ot_otdd_stats_compute(&f->st1, Xs, f->lab, &so)) ||
        (rc = ot_otdd_stats_compute(&f->st2, Ys, f->ylab, &so)))
      goto fail;
    if (!aug) {
      f->st1_fresh = 1; /* the first evaluation (below) reuses these moments */
      if ((rc = ot_alloc_doubles(f->st2.nclass, f->st2.nclass, &f->Lyy)) ||
          (rc = label_costs(f->Lyy, &f->st2, &f->st2, o->lambda_y)))
        goto fail;
    }
  }
  if (aug) {
    /* augmented particles [x, ls mu_y, ls sqrt(diag Sigma_y)] (unbiased variances) */
    const ot_otdd_stats *s1 = &f->st1, *s2 = &f->st2;
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < d; k++) {
        size_t c = (size_t)s1->index[i];
        f->Z[i * D + d + k] = f->ls * s1->means[c * d + k];
        f->Z[i * D + 2 * d + k] = f->ls * s1->sqrts[c * d + k];
      }
    for (size_t j = 0; j < m; j++)
      for (size_t k = 0; k < d; k++) {
        size_t c = (size_t)s2->index[j];
        f->Y[j * D + d + k] = f->ls * s2->means[c * d + k];
        f->Y[j * D + 2 * d + k] = f->ls * s2->sqrts[c * d + k];
      }
  }
  ot_rng_seed(&f->rng, o->seed);
  if (m) rc = principal_axes(f, f->Y, D, m);
  else rc = principal_axes(f, f->Z, D, n);
  if (rc) goto fail;
  f->o.title = o->title;
  /* F_0 and the first gradient */
  ot_flow_record r;
  memset(&r, 0, sizeof r);
  double t0 = ot_clock();
  f->solver_iter = 0;
  rc = evaluate(f, f->Z, f->lab, &f->F, f->parts, f->G, 1);
  if (rc) goto fail;
  for (int t = 0; t < 2; t++)
    if (f->have_warmnew[t]) {
      for (int k = 0; k < 3; k++) {
        double *s = f->warm[t][k];
        f->warm[t][k] = f->warmnew[t][k];
        f->warmnew[t][k] = s;
      }
      f->have_warm[t] = 1;
      f->have_warmnew[t] = 0;
    }
  r.step = 0;
  r.F = f->F;
  r.F_before = NAN;
  memcpy(r.parts, f->parts, sizeof r.parts);
  r.time = ot_clock() - t0;
  r.solver_iter = f->solver_iter;
  if ((rc = push_record(f, &r))) goto fail;
  if ((rc = tick(f, 1))) goto fail;
  *out = f;
  return OT_OK;
fail:
  ot_flow_destroy(f);
  return rc;
}

int ot_flow_step(ot_flow *f) {
  const ot_flow_opts *o = &f->o;
  size_t n = f->n, d = f->d, D = f->D;
  double t0 = ot_clock();
  ot_rng saved = f->rng;
  /* clip the gradient by its total norm (torch's clip_grad_norm_ rule) */
  double gn = 0;
  for (size_t i = 0; i < n * D; i++) gn += f->G[i] * f->G[i];
  gn = sqrt(gn);
  double cs = 1.0;
  if (o->clip > 0) {
    double c = o->clip / (gn + 1e-6);
    if (c < 1) cs = c;
  }
  double tau = o->step;
  long t = f->t + 1;
  double bc1 = 1 - pow(o->beta1, (double)t), bc2 = 1 - pow(o->beta2, (double)t);
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < D; k++) {
      size_t e = i * D + k;
      double g = cs * f->G[e], z = f->Z[e];
      switch (o->optimizer) {
      case OT_FLOW_MOMENTUM:
        f->m1new[e] = o->momentum * f->m1[e] + g / f->a[i];
        z -= tau * f->m1new[e];
        break;
      case OT_FLOW_ADAM:
        f->m1new[e] = o->beta1 * f->m1[e] + (1 - o->beta1) * g;
        f->m2new[e] = o->beta2 * f->m2[e] + (1 - o->beta2) * g * g;
        z -= tau * (f->m1new[e] / bc1) / (sqrt(f->m2new[e] / bc2) + o->adam_eps);
        break;
      default:
        z -= tau * g / f->a[i];
      }
      f->Znew[e] = z;
    }
  if (o->noise > 0) {
    double s = sqrt(2 * o->noise * tau);
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < d; k++) f->Znew[i * D + k] += s * ot_rng_normal(&f->rng);
  }
  if (o->project)
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < d; k++) {
        double *z = f->Znew + i * D + k;
        *z = *z < o->proj_lo ? o->proj_lo : *z > o->proj_hi ? o->proj_hi : *z;
      }
  int rc = OT_OK;
  for (size_t i = 0; i < n * D; i++)
    if (!isfinite(f->Znew[i])) rc = OT_ENUMERIC;
  if (!rc) {
    if (o->labels == OT_FLOW_JOINT) rc = relabel(f, f->Znew, f->labnew);
    else memcpy(f->labnew, f->lab, n * sizeof *f->lab);
  }
  double Fn = NAN, parts[OT_FLOW_NPARTS];
  long it0 = f->solver_iter;
  f->solver_iter = 0;
  if (!rc) rc = evaluate(f, f->Znew, f->labnew, &Fn, parts, f->Gnew, 1);
  if (rc) {
    f->rng = saved;
    f->solver_iter = it0;
    for (int q = 0; q < 2; q++) f->have_warmnew[q] = 0;
    return rc;
  }
  /* commit */
  double disp = 0, sdisp = 0;
  for (size_t i = 0; i < n; i++) {
    double s0 = 0, s1 = 0;
    for (size_t k = 0; k < d; k++) {
      double x = f->Znew[i * D + k];
      s0 += (x - f->X0[i * d + k]) * (x - f->X0[i * d + k]);
      s1 += (x - f->Z[i * D + k]) * (x - f->Z[i * D + k]);
    }
    disp += sqrt(s0);
    sdisp += sqrt(s1);
  }
  double *sw;
#define SWAP(p, q) (sw = (p), (p) = (q), (q) = sw)
  SWAP(f->Z, f->Znew);
  SWAP(f->G, f->Gnew);
  SWAP(f->lab, f->labnew);
  if (o->optimizer != OT_FLOW_EULER) {
    SWAP(f->m1, f->m1new);
    SWAP(f->m2, f->m2new);
  }
  for (int q = 0; q < 2; q++)
    if (f->have_warmnew[q]) {
      for (int k = 0; k < 3; k++) SWAP(f->warm[q][k], f->warmnew[q][k]);
      f->have_warm[q] = 1;
      f->have_warmnew[q] = 0;
    }
#undef SWAP
  f->t = t;
  ot_flow_record r;
  r.step = ++f->steps;
  r.F_before = f->F;
  r.F = f->F = Fn;
  memcpy(r.parts, parts, sizeof r.parts);
  memcpy(f->parts, parts, sizeof parts);
  r.time = ot_clock() - t0;
  r.displacement = disp / (double)n;
  r.step_displacement = sdisp / (double)n;
  r.grad_norm = f->gnorm = gn;
  r.solver_iter = f->solver_iter;
  rc = push_record(f, &r);
  if (rc) return rc;
  return tick(f, 1);
}

int ot_flow_eval(ot_flow *f, double *F, double *parts, ot_mat G) {
  double p[OT_FLOW_NPARTS];
  if (G.rows != f->n || G.cols != f->D || !ot_mat_is_contiguous(G)) return OT_ESHAPE;
  int rc = evaluate(f, f->Z, f->lab, F, parts ? parts : p, G.data, 0);
  return rc;
}

int ot_flow_set_particles(ot_flow *f, ot_mat Z) {
  if (Z.rows != f->n || Z.cols != f->D) return OT_ESHAPE;
  for (size_t i = 0; i < f->n; i++)
    for (size_t k = 0; k < f->D; k++) f->Z[i * f->D + k] = OT_AT(Z, i, k);
  f->have_warm[0] = f->have_warm[1] = 0;
  f->st1_fresh = 0;
  return OT_OK;
}

void ot_flow_set_user_ud(ot_flow *f, void *ud) { f->o.user_ud = ud; }
void ot_flow_set_progress(ot_flow *f, ot_progress_fn fn, void *ud) {
  f->o.progress = fn;
  f->o.progress_ud = ud;
}
size_t ot_flow_n(const ot_flow *f) { return f->n; }
size_t ot_flow_d(const ot_flow *f) { return f->d; }
long ot_flow_steps(const ot_flow *f) { return f->steps; }
ot_mat ot_flow_X(const ot_flow *f) {
  return ot_mat_block(ot_mat_view(f->Z, f->n, f->D), 0, 0, f->n, f->d);
}
ot_mat ot_flow_particles(const ot_flow *f) { return ot_mat_view(f->Z, f->n, f->D); }
ot_mat ot_flow_Z(const ot_flow *f) { return ot_mat_view(f->Z, f->n, f->D); }
const double *ot_flow_labels(const ot_flow *f) { return f->lab; }
const ot_flow_record *ot_flow_history(const ot_flow *f, size_t *count) {
  *count = f->nhist;
  return f->hist;
}
ot_mat ot_flow_projection(const ot_flow *f) { return f->projm; }
