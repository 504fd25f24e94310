/*
 * otdd.c -- the optimal transport dataset distance (see otdd.h and
 * specs/otdd.md).
 *
 * Layout: class statistics (labels re-indexed by sorting, moments, square
 * roots), label distances (pairs in parallel), the outer problem (one
 * "softmin" primitive over a cost block, dense or online, driven by the
 * epsilon schedule of the mode), the barycentric map, and the one-call
 * distance.  Every function frees its scratch at one exit label.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cost.h"
#include "emd.h"
#include "gauss.h"
#include "linalg.h"
#include "par.h"
#include "otdd.h"
#include "sinkhorn.h"
#include "vexp.h"


/* Seconds between progress reports inside long passes. */
#define PACE 0.05
/* Doubles per online cost tile (rows x columns). */
#define TILE_DOUBLES ((size_t)1 << 22)

void ot_otdd_stats_opts_init(ot_otdd_stats_opts *o) {
  memset(o, 0, sizeof *o);
  o->min_class_size = 2;
  o->drop_small = 1;
  o->moments = 2;
  o->psd_tol = 1e-10;
}

void ot_otdd_label_opts_init(ot_otdd_label_opts *o) {
  memset(o, 0, sizeof *o);
  o->inner = OT_OTDD_INNER_GAUSSIAN;
  o->exact_debiased = 1;
}

void ot_otdd_outer_opts_init(ot_otdd_outer_opts *o) {
  memset(o, 0, sizeof *o);
  o->mode = OT_OTDD_OUTER_SINKHORN;
  o->debiased = 1;
  o->entreg = 0.1;
  o->lambda_x = 1.0;
  o->lambda_y = 1.0;
  o->scaling = 0.5;
  o->max_iter = 5000;
  o->tol = 1e-3;
  o->exact_start = 1;
  o->online = -1;
  o->dense_limit = (size_t)256 << 20;
  o->cache = (size_t)2 << 30;
}

const char *ot_otdd_inner_name(int inner) {
  static const char *const names[] = {"gaussian", "exact", "upper", "means"};
  return inner >= 0 && inner < OT_OTDD_INNER_COUNT ? names[inner] : "?";
}

const char *ot_otdd_outer_name(int mode) {
  static const char *const names[] = {"sinkhorn", "compat", "exact"};
  return mode >= 0 && mode < OT_OTDD_OUTER_COUNT ? names[mode] : "?";
}

/* ---- 1. class statistics ------------------------------------------------- */

void ot_otdd_stats_free(ot_otdd_stats *st) {
  ot_free(st->labels);
  ot_free(st->counts);
  ot_free(st->index);
  ot_free(st->dropped_labels);
  ot_free(st->dropped_counts);
  ot_free(st->means);
  ot_free(st->covs);
  ot_free(st->sqrts);
  ot_free(st->factors);
  ot_free(st->ranks);
  ot_free(st->traces);
  memset(st, 0, sizeof *st);
}

static int cmp_double(const void *p, const void *q) {
  double a = *(const double *)p, b = *(const double *)q;
  return (a > b) - (a < b);
}

/* Position of v in the ascending array vals[0..k) (present by construction). */
static size_t find_value(const double *vals, size_t k, double v) {
  size_t lo = 0, hi = k;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (vals[mid] <= v) lo = mid; else hi = mid;
  }
  return lo;
}

/*
 * Means, covariances (unbiased, + ridge), square roots and traces of the
 * kept classes of st from the features X (st->n x st->d).  The arrays are
 * allocated on first use.  Covariances: one GEMM per class on the centred
 * rows (threaded BLAS); square roots: classes in parallel (BLAS on one
 * thread meanwhile).  OT_EINVAL when a covariance is not PSD.
 */
static int compute_moments(ot_otdd_stats *st, ot_mat X) {
  size_t C = st->nclass, d = st->d, n = st->n;
  double *Z = NULL;
  size_t *rows = NULL, *start = NULL;
  int rc = OT_OK;
  st->X = X;
  if (st->moments < 1) return OT_OK;
  if (!st->means && (rc = ot_alloc_doubles(C, d, &st->means))) goto done;
  memset(st->means, 0, C * d * sizeof(double));
  for (size_t i = 0; i < n; i++) {
    int k = st->index[i];
    if (k < 0) continue;
    double *mu = st->means + (size_t)k * d;
    const double *x = X.data + i * X.ld;
    for (size_t j = 0; j < d; j++) mu[j] += x[j];
  }
  for (size_t k = 0; k < C; k++)
    for (size_t j = 0; j < d; j++) st->means[k * d + j] /= (double)st->counts[k];
  if (st->moments < 2) goto done;

  size_t per = st->diagonal ? d : d * d;
  if (!st->covs && (rc = ot_alloc_doubles(C, per, &st->covs))) goto done;
  if (st->diagonal && !st->sqrts && (rc = ot_alloc_doubles(C, d, &st->sqrts))) goto done;
  if (!st->diagonal && !st->factors &&
      ((rc = ot_alloc_doubles(C, d * d, &st->factors)) ||
       (rc = ot_malloc(C * sizeof *st->ranks, &st->ranks))))
    goto done;
  if (!st->traces && (rc = ot_alloc_doubles(C, 1, &st->traces))) goto done;
  st->clamped = 0;
  st->min_eig = INFINITY;

  if (st->diagonal) {
    memset(st->covs, 0, C * d * sizeof(double));
    for (size_t i = 0; i < n; i++) {
      int k = st->index[i];
      if (k < 0) continue;
      const double *mu = st->means + (size_t)k * d, *x = X.data + i * X.ld;
      double *v = st->covs + (size_t)k * d;
      for (size_t j = 0; j < d; j++) v[j] += (x[j] - mu[j]) * (x[j] - mu[j]);
    }
    for (size_t k = 0; k < C; k++) {
      double tr = 0.0;
      for (size_t j = 0; j < d; j++) {
        double v = st->covs[k * d + j] / (double)(st->counts[k] - 1) + st->ridge;
        st->covs[k * d + j] = v;
        st->sqrts[k * d + j] = sqrt(v > 0.0 ? v : 0.0);
        tr += v;
      }
      st->traces[k] = tr;
      for (size_t j = 0; j < d; j++)
        if (st->covs[k * d + j] < st->min_eig) st->min_eig = st->covs[k * d + j];
    }
    goto done;
  }

  /* Rows grouped by class (counting sort), then one GEMM per class. */
  size_t maxc = 0;
  for (size_t k = 0; k < C; k++) maxc = st->counts[k] > maxc ? st->counts[k] : maxc;
  if ((rc = ot_malloc(st->n_kept * sizeof *rows, &rows))) goto done;
  if ((rc = ot_malloc((C + 1) * sizeof *start, &start))) goto done;
  if ((rc = ot_alloc_doubles(maxc, d, &Z))) goto done;
  start[0] = 0;
  for (size_t k = 0; k < C; k++) start[k + 1] = start[k] + st->counts[k];
  {
    size_t *fill = start; /* reuse: advanced during the scatter, restored after */
    for (size_t i = 0; i < n; i++)
      if (st->index[i] >= 0) rows[fill[st->index[i]]++] = i;
    for (size_t k = C; k > 0; k--) start[k] = start[k - 1];
    start[0] = 0;
  }
  for (size_t k = 0; k < C; k++) {
    size_t nk = st->counts[k];
    const double *mu = st->means + k * d;
    for (size_t r = 0; r < nk; r++) {
      const double *x = X.data + rows[start[k] + r] * X.ld;
      for (size_t j = 0; j < d; j++) Z[r * d + j] = x[j] - mu[j];
    }
    ot_mat S = ot_mat_view(st->covs + k * d * d, d, d);
    if ((rc = ot_gemm(S, 1.0 / (double)(nk - 1), ot_mat_view(Z, nk, d), 1,
                      ot_mat_view(Z, nk, d), 0, 0.0)))
      goto done;
    double tr = 0.0;
    for (size_t i = 0; i < d; i++) {
      for (size_t j = 0; j < i; j++) {
        double v = 0.5 * (OT_AT(S, i, j) + OT_AT(S, j, i));
        OT_AT(S, i, j) = OT_AT(S, j, i) = v;
      }
      OT_AT(S, i, i) += st->ridge;
      tr += OT_AT(S, i, i);
    }
    st->traces[k] = tr;
  }

  /* Factors, classes in parallel. */
  {
    int saved = ot_blas_threads(), bad = OT_OK, clamped = 0;
    double min_eig = INFINITY;
    ot_blas_set_threads(1);
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : clamped) reduction(min : min_eig)
    for (size_t k = 0; k < C; k++) {
      int cl = 0, r;
      double me = INFINITY;
      r = ot_gauss_factor(ot_mat_view(st->factors + k * d * d, d, d), &st->ranks[k],
                          ot_mat_view(st->covs + k * d * d, d, d), st->psd_tol, &cl, &me);
      clamped += cl;
      if (me < min_eig) min_eig = me;
      if (r) {
#pragma omp critical(otdd_status)
        if (!bad) ot_flag_set(&bad, r);
      }
    }
    ot_blas_set_threads(saved);
    st->clamped = clamped;
    st->min_eig = min_eig;
    rc = bad;
  }

done:
  ot_free(Z);
  ot_free(rows);
  ot_free(start);
  return rc;
}

int ot_otdd_stats_compute(ot_otdd_stats *st, ot_mat X, const double *y,
                          const ot_otdd_stats_opts *o) {
  ot_otdd_stats_opts def;
  double *vals = NULL;
  size_t n = X.rows, d = X.cols, k = 0;
  int rc = OT_OK;
  memset(st, 0, sizeof *st);
  if (!o) {
    ot_otdd_stats_opts_init(&def);
    o = &def;
  }
  if (n == 0 || d == 0 || !y || !X.data) return OT_EINVAL;
  if (o->min_class_size < 2 || o->moments < 0 || o->moments > 2 || !(o->ridge >= 0.0))
    return OT_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!(fabs(y[i]) <= 9007199254740992.0) || y[i] != floor(y[i])) return OT_EINVAL;

  st->n = n;
  st->d = d;
  st->moments = o->moments;
  st->diagonal = o->diagonal ? 1 : 0;
  st->ridge = o->ridge;
  st->psd_tol = o->psd_tol;
  st->X = X;
  if ((rc = ot_alloc_doubles(n, 1, &vals))) goto fail;
  memcpy(vals, y, n * sizeof(double));
  qsort(vals, n, sizeof(double), cmp_double);
  for (size_t i = 0; i < n; i++)
    if (i == 0 || vals[i] != vals[k - 1]) vals[k++] = vals[i];
  /* k distinct labels in vals[0..k); count them. */
  size_t *cnt = NULL;
  if ((rc = ot_calloc(k * sizeof *cnt, &cnt))) goto fail;
  for (size_t i = 0; i < n; i++) cnt[find_value(vals, k, y[i])]++;
  size_t kept = 0, dropped = 0;
  for (size_t c = 0; c < k; c++) {
    if (cnt[c] >= o->min_class_size) kept++; else dropped++;
  }
  if ((dropped && !o->drop_small) || kept == 0) {
    ot_free(cnt);
    rc = OT_EINVAL;
    goto fail;
  }
  if ((rc = ot_alloc_doubles(kept, 1, &st->labels)) ||
      (rc = ot_malloc(kept * sizeof *st->counts, &st->counts)) ||
      (rc = ot_malloc(n * sizeof *st->index, &st->index)) ||
      (dropped && (rc = ot_alloc_doubles(dropped, 1, &st->dropped_labels))) ||
      (dropped && (rc = ot_malloc(dropped * sizeof *st->dropped_counts, &st->dropped_counts)))) {
    ot_free(cnt);
    goto fail;
  }
  {
    /* cnt[c] becomes the new class index (or -1) after the labels are split. */
    size_t kk = 0, dd = 0;
    for (size_t c = 0; c < k; c++) {
      if (cnt[c] >= o->min_class_size) {
        st->labels[kk] = vals[c];
        st->counts[kk] = cnt[c];
        cnt[c] = kk++;
      } else {
        st->dropped_labels[dd] = vals[c];
        st->dropped_counts[dd++] = cnt[c];
        cnt[c] = SIZE_MAX;
      }
    }
    st->n_kept = 0;
    for (size_t i = 0; i < n; i++) {
      size_t c = cnt[find_value(vals, k, y[i])];
      st->index[i] = c == SIZE_MAX ? -1 : (int)c;
      if (c != SIZE_MAX) st->n_kept++;
    }
  }
  ot_free(cnt);
  st->nclass = kept;
  st->ndropped = dropped;
  ot_free(vals);
  vals = NULL;
  if ((rc = compute_moments(st, X))) goto fail;
  return OT_OK;
fail:
  ot_free(vals);
  ot_otdd_stats_free(st);
  return rc;
}

int ot_otdd_stats_update(ot_otdd_stats *st, ot_mat X) {
  if (!st->index) return OT_EINVAL;
  if (X.rows != st->n || X.cols != st->d) return OT_ESHAPE;
  return compute_moments(st, X);
}

/* ---- 2. label distances -------------------------------------------------- */

/* ||a - b||^2 over d values. */
static double sqdist(const double *a, const double *b, size_t d) {
  double s = 0.0;
  for (size_t j = 0; j < d; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}

/*
 * Bures cross term tr((C1^(1/2) C2 C1^(1/2))^(1/2)) for full statistics,
 * from the factors (F^T F = C, ranks r1, r2): the nuclear norm of
 * G = F2 F1^T (r2 x r1), i.e. the sum of the square roots of the
 * eigenvalues of the smaller of G G^T and G^T G.  G, M, w are d x d, d x d,
 * d scratch.  BLAS is single-threaded in the caller's region.
 */
static int bures_cross(double *out, const double *F1, size_t r1, const double *F2, size_t r2,
                       size_t d, double *G, double *M, double *w) {
  int rc;
  *out = 0.0;
  if (r1 == 0 || r2 == 0) return OT_OK;
  size_t r = r1 < r2 ? r1 : r2;
  ot_mat Gm = ot_mat_view(G, r2, r1);
  if ((rc = ot_gemm(Gm, 1.0, ot_mat_view((double *)F2, r2, d), 0,
                    ot_mat_view((double *)F1, r1, d), 1, 0.0)) ||
      (rc = ot_syrk(ot_mat_view(M, r, r), 1.0, Gm, r2 > r1, 0.0)) ||
      (rc = ot_eigh(ot_mat_view(w, r, 1), (ot_mat){r, r, r, NULL}, ot_mat_view(M, r, r))))
    return rc;
  double s = 0.0;
  for (size_t k = 0; k < r; k++) s += w[k] > 0.0 ? sqrt(w[k]) : 0.0;
  *out = s;
  return OT_OK;
}

/* Rows of each class grouped: rows[start[k] .. start[k+1]) are the rows of class k. */
static int group_rows(const ot_otdd_stats *s, size_t **rows, size_t **start) {
  int rc;
  *rows = NULL;
  *start = NULL;
  if ((rc = ot_malloc((s->n_kept ? s->n_kept : 1) * sizeof **rows, rows))) return rc;
  if ((rc = ot_malloc((s->nclass + 1) * sizeof **start, start))) {
    ot_free(*rows);
    *rows = NULL;
    return rc;
  }
  size_t *st = *start;
  st[0] = 0;
  for (size_t k = 0; k < s->nclass; k++) st[k + 1] = st[k] + s->counts[k];
  for (size_t i = 0; i < s->n; i++)
    if (s->index[i] >= 0) (*rows)[st[s->index[i]]++] = i;
  for (size_t k = s->nclass; k > 0; k--) st[k] = st[k - 1];
  st[0] = 0;
  return OT_OK;
}

/* Exact (or entropic) OT between class ka of A and kb of B, cost ||x - x'||^2. */
static int exact_pair(double *out, const ot_otdd_stats *A, const size_t *ra, size_t ka,
                      const ot_otdd_stats *B, const size_t *rb, size_t kb,
                      const ot_otdd_label_opts *o) {
  size_t d = A->d, na = A->counts[ka], nb = B->counts[kb];
  double *P = NULL, *Q = NULL;
  int rc;
  if (o->exact_maxsamples) {
    if (na > o->exact_maxsamples) na = o->exact_maxsamples;
    if (nb > o->exact_maxsamples) nb = o->exact_maxsamples;
  }
  if ((rc = ot_alloc_doubles(na, d, &P))) goto done;
  if ((rc = ot_alloc_doubles(nb, d, &Q))) goto done;
  for (size_t r = 0; r < na; r++) memcpy(P + r * d, A->X.data + ra[r] * A->X.ld, d * sizeof(double));
  for (size_t r = 0; r < nb; r++) memcpy(Q + r * d, B->X.data + rb[r] * B->X.ld, d * sizeof(double));
  if (o->exact_reg > 0.0) {
    ot_divergence_opts dopt;
    ot_divergence_info dinf;
    ot_divergence_opts_init(&dopt);
    dopt.online = 0;
    rc = ot_sinkhorn_divergence(out, ot_mat_view(P, na, d), ot_mat_view(Q, nb, d), NULL, NULL,
                                o->exact_reg, &dopt, &dinf);
    if (!rc && !o->exact_debiased) *out = dinf.ot_ab;
  } else {
    double *a = NULL, *b = NULL;
    ot_emd_problem pr;
    ot_emd_opts eo;
    ot_emd_result er;
    if ((rc = ot_alloc_doubles(na, 1, &a)) || (rc = ot_alloc_doubles(nb, 1, &b))) {
      ot_free(a);
      goto done;
    }
    for (size_t i = 0; i < na; i++) a[i] = 1.0 / (double)na;
    for (size_t j = 0; j < nb; j++) b[j] = 1.0 / (double)nb;
    memset(&pr, 0, sizeof pr);
    pr.n = na;
    pr.m = nb;
    pr.a = a;
    pr.b = b;
    pr.X = ot_mat_view(P, na, d);
    pr.Y = ot_mat_view(Q, nb, d);
    ot_emd_opts_init(&eo);
    rc = ot_emd_solve(&pr, &eo, NULL, NULL, NULL, NULL, NULL, &er);
    if (!rc) *out = er.cost;
    ot_free(a);
    ot_free(b);
  }
  if (!rc && *out < 0.0) *out = 0.0;
done:
  ot_free(P);
  ot_free(Q);
  return rc;
}

/* The state of one label-distance computation, for labels_run. */
typedef struct labels_ctx {
  const ot_otdd_stats *A, *B;
  const ot_otdd_label_opts *o;
  size_t d;
  int full;
  const size_t *ra, *sa, *rb, *sb;
  double *scratch;      /* full gaussian: (2 d^2 + d) per thread */
  ot_mat W;             /* also written as pairs finish (the panel shows it filling) */
  int sym;
} labels_ctx;

/*
 * ot_jobs.run of the label pairs: pairs first, first + stride, ... in
 * parallel (OpenMP, BLAS on one thread meanwhile), w_ij into row t of
 * jobs->out.  Progress from thread 0 (iter = pairs done here).
 */
static int labels_run(ot_jobs *jobs, size_t first, size_t stride) {
  labels_ctx *lc = jobs->run_ud;
  const ot_otdd_stats *A = lc->A, *B = lc->B;
  const ot_otdd_label_opts *o = lc->o;
  size_t d = lc->d;
  size_t cnt = first < jobs->count ? (jobs->count - first - 1) / stride + 1 : 0;
  int saved = ot_blas_threads(), bad = OT_OK, stop = 0;
  size_t donep = 0;
  double t0 = ot_clock(), last = t0;
  ot_blas_set_threads(1);
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t u = 0; u < cnt; u++) {
    if (ot_flag_get(&stop) || ot_flag_get(&bad)) continue;
    size_t t = first + u * stride;
    size_t i = (size_t)jobs->key[2 * t], j = (size_t)jobs->key[2 * t + 1];
    const double *mi = A->means ? A->means + i * d : NULL;
    const double *mj = B->means ? B->means + j * d : NULL;
    double w = 0.0;
    int r = OT_OK;
    switch (o->inner) {
      case OT_OTDD_INNER_MEANS: w = sqdist(mi, mj, d); break;
      case OT_OTDD_INNER_UPPER: w = sqdist(mi, mj, d) + A->traces[i] + B->traces[j]; break;
      case OT_OTDD_INNER_EXACT:
        r = exact_pair(&w, A, lc->ra + lc->sa[i], i, B, lc->rb + lc->sb[j], j, o);
        break;
      default:
        if (A->diagonal) {
          w = sqdist(mi, mj, d) + sqdist(A->sqrts + i * d, B->sqrts + j * d, d);
        } else {
          double *U = lc->scratch + (size_t)OT_THREAD_ID() * (2 * d * d + d), cross = 0.0;
          r = bures_cross(&cross, A->factors + i * d * d, A->ranks[i], B->factors + j * d * d,
                          B->ranks[j], d, U, U + d * d, U + 2 * d * d);
          w = sqdist(mi, mj, d) + A->traces[i] + B->traces[j] - 2.0 * cross;
        }
        break;
    }
    if (r) {
#pragma omp critical(otdd_status)
      if (!bad) ot_flag_set(&bad, r);
      continue;
    }
    if (!(w > 0.0)) w = isnan(w) ? w : 0.0;
    jobs->out[t] = w;
    OT_AT(lc->W, i, j) = w;
    if (lc->sym) OT_AT(lc->W, j, i) = w;
#pragma omp atomic
    donep++;
    if (OT_THREAD_ID() == 0 && o->progress) {
      double now = ot_clock();
      if (now - last >= PACE) {
        ot_progress pr = {"otdd labels", (long)donep, (long)cnt, 0.0, NAN, now - t0, o->state};
        last = now;
        if (o->progress(o->progress_ud, &pr)) ot_flag_set(&stop, 1);
      }
    }
  }
  ot_blas_set_threads(saved);
  return bad ? bad : stop ? OT_ECANCELED : OT_OK;
}

int ot_otdd_label_distances(ot_mat W, const ot_otdd_stats *A, const ot_otdd_stats *B,
                            const ot_otdd_label_opts *o) {
  ot_otdd_label_opts def;
  size_t C1, C2, d;
  size_t *ra = NULL, *sa = NULL, *rb = NULL, *sb = NULL;
  double *scratch = NULL, *key = NULL;
  int rc = OT_OK;
  if (!o) {
    ot_otdd_label_opts_init(&def);
    o = &def;
  }
  if (!A || !B || !A->index || !B->index) return OT_EINVAL;
  C1 = A->nclass;
  C2 = B->nclass;
  d = A->d;
  if (B->d != d) return OT_ESHAPE;
  if (W.rows != C1 || W.cols != C2) return OT_ESHAPE;
  if (o->inner < 0 || o->inner >= OT_OTDD_INNER_COUNT || !(o->exact_reg >= 0.0)) return OT_EINVAL;
  int need = o->inner == OT_OTDD_INNER_MEANS ? 1 : o->inner == OT_OTDD_INNER_EXACT ? 0 : 2;
  if (A->moments < need || B->moments < need) return OT_EINVAL;
  if (need == 2 && A->diagonal != B->diagonal) return OT_EINVAL;
  const int sym = A == B;
  const int full = need == 2 && !A->diagonal && o->inner == OT_OTDD_INNER_GAUSSIAN;

  /* The pairs to compute (upper triangle when symmetric), as the jobs' keys
   * (i, j), followed by their rows (w). */
  size_t np = sym ? C1 * (C1 - 1) / 2 : C1 * C2;
  if ((rc = ot_alloc_doubles(np + 1, 3, &key))) goto done;
  double *out = key + 2 * np;
  np = 0;
  for (size_t i = 0; i < C1; i++)
    for (size_t j = sym ? i + 1 : 0; j < C2; j++) {
      key[2 * np] = (double)i;
      key[2 * np + 1] = (double)j;
      out[np++] = NAN;
    }
  if (sym)
    for (size_t i = 0; i < C1; i++) OT_AT(W, i, i) = 0.0;
  if (o->inner == OT_OTDD_INNER_EXACT) {
    if (!A->X.data || !B->X.data) {
      rc = OT_EINVAL;
      goto done;
    }
    if ((rc = group_rows(A, &ra, &sa))) goto done;
    if ((rc = group_rows(B, &rb, &sb))) goto done;
  }
  int nt = OT_NTHREADS();
  if (full && (rc = ot_alloc_doubles((size_t)nt, 2 * d * d + d, &scratch))) goto done;
  labels_ctx lc = {A, B, o, d, full, ra, sa, rb, sb, scratch, W, sym};
  ot_jobs jobs = {"labels", np, 2, key, 1, out, labels_run, &lc, 1};
  rc = o->distribute ? o->distribute(o->distribute_ud, &jobs) : labels_run(&jobs, 0, 1);
  if (!rc)
    for (size_t p = 0; p < np; p++) {
      size_t i = (size_t)key[2 * p], j = (size_t)key[2 * p + 1];
      OT_AT(W, i, j) = out[p];
      if (sym) OT_AT(W, j, i) = out[p];
      if (isnan(out[p])) rc = OT_ENUMERIC;
    }
done:
  ot_free(scratch);
  ot_free(key);
  ot_free(ra);
  ot_free(sa);
  ot_free(rb);
  ot_free(sb);
  return rc;
}

/* ---- 3. the outer problem ------------------------------------------------ */

/* One point cloud of the outer problem. */
typedef struct side {
  ot_mat X;
  const int *c;
  size_t n;
  double *logw;   /* log weights */
  const double *w;
  double *sq;     /* squared norms */
  const size_t *cstart; /* when rows are sorted by class: class k is rows
                           [cstart[k], cstart[k+1]); NULL otherwise */
  size_t ncls;
  const float *Xf; /* single precision: the rows centred at the mean of both clouds,
                      in float (sq then holds their squared norms); NULL: double */
} side;

/*
 * Online blocks kept between sweeps (the `cache` option): slot k of a
 * block's sweep (see sweep_blocks) is at base + off[k] (off[k] = SIZE_MAX:
 * recomputed each sweep) and holds, once filled, the finished double
 * costs; in single precision when those do not all fit, the float inner
 * products instead (half the memory, so more blocks kept), finished again
 * at each read.  Either way a kept block gives the same bits as a
 * recomputed one.  Every sweep of a block visits all its slots, so the
 * first sweep that completes fills them all.
 */
typedef struct tcache {
  char *base;
  size_t *off;
  size_t nslots;
  int filled;     /* 1 once a sweep of the block has completed (all slots hold it) */
  int fin;        /* 1: slots hold finished double costs (always in double precision;
                     in single precision when they all fit the budget) */
} tcache;

/* One cost block: rows of r against columns of c. */
typedef struct blk {
  const side *r, *c;
  ot_mat W;       /* label distances, r classes x c classes */
  double *dense;  /* r->n x c->n cached costs, or NULL (online) */
  tcache *tc;     /* online: kept sweep blocks, or NULL */
} blk;

/* Shared state of a solve. */
typedef struct ctx {
  double lx, ly;
  size_t swr, swc;     /* online sweeps: rows and columns of a block */
  float *ftile;        /* single precision: the GEMM's tile before the norms are added */
  size_t tile_rows;
  double *h;           /* column scratch (max(n, m)) */
  ot_progress_fn progress;
  void *ud;
  const void *state;
  double t0, last;
  long iter, max_iter;
  double err, obj;
  double *hr;          /* online sweeps: row values (max(n, m)) */
  double *hc;          /* online sweeps: guesses of the column log-sum-exps (max(n, m)) */
  double *bscr;        /* online sweeps: per-thread scratch (see sweep_blocks) */
  float *bfscr;        /* and its single precision GEMM blocks (NULL: double) */
  double *clsacc;      /* online sweeps with class sums: 2 x C2 accumulators per row */
  size_t bper;         /* doubles of scratch per thread */
  int nthr;            /* threads the scratch was made for */
} ctx;

/* Report progress when due (or forced); non-zero: canceled. */
static int report(ctx *x, int force) {
  if (!x->progress) return 0;
  double now = ot_clock();
  if (!force && now - x->last < PACE) return 0;
  x->last = now;
  ot_progress pr = {"otdd", x->iter, x->max_iter, x->err, x->obj, now - x->t0, x->state};
  return x->progress(x->ud, &pr);
}

/* 1 when block b's feature inner products are a float GEMM (single precision). */
static int blk_single(const ctx *x, const blk *b) {
  return x->lx != 0.0 && b->r->Xf && b->c->Xf;
}

/*
 * First half of cost_range: the feature inner products of rows [i0, i0 +
 * ni) against columns [j0, j0 + nj) of block b, a GEMM into out (double:
 * -lx x.y, ni x nj contiguous) or, in single precision, into fscr (x.y in
 * float).
 */
static int cost_products(const ctx *x, const blk *b, size_t i0, size_t ni, size_t j0, size_t nj,
                         double *out, float *fscr) {
  const side *r = b->r, *c = b->c;
  size_t d = r->X.cols;
  if (blk_single(x, b))
    return ot_sgemm_nt(fscr, nj, 1.0f, r->Xf + i0 * d, d, c->Xf + j0 * d, d, ni, nj, d);
  if (x->lx != 0.0)
    return ot_gemm(ot_mat_view(out, ni, nj), -x->lx, ot_mat_block(r->X, i0, 0, ni, d), 0,
                   ot_mat_block(c->X, j0, 0, nj, d), 1, 0.0);
  memset(out, 0, ni * nj * sizeof(double));
  return OT_OK;
}

/*
 * Second half: the costs into out from the products (ft: the float ones of
 * single precision; NULL: the double ones already in out), the squared
 * norms and the label lookup (OpenMP over rows).
 */
static void cost_finish(const ctx *x, const blk *b, size_t i0, size_t ni, size_t j0, size_t nj,
                        double *out, const float *ft) {
  const side *r = b->r, *c = b->c;
  double lx = x->lx, hy = 0.5 * x->ly;
#pragma omp parallel for schedule(static) if (ni * nj > 20000)
  for (size_t ii = 0; ii < ni; ii++) {
    double *o = out + ii * nj, si = 0.5 * lx * r->sq[i0 + ii];
    const double *wr = (hy != 0.0 && b->W.data) ? b->W.data + (size_t)r->c[i0 + ii] * b->W.ld : NULL;
    const double *sq = c->sq + j0;
    const int *cc = c->c + j0;
    const float *fr = ft ? ft + ii * nj : NULL;
    for (size_t j = 0; j < nj; j++) {
      double v = (fr ? -lx * (double)fr[j] : o[j]) + si + 0.5 * lx * sq[j];
      if (v < 0.0) v = 0.0;
      o[j] = wr ? v + hy * wr[cc[j]] : v;
    }
  }
}

/*
 * Costs of rows [i0, i0 + ni) of block b against columns [j0, j0 + nj) into
 * out (ni x nj, contiguous): one GEMM for the inner products (single
 * precision: into fscr, ni x nj floats), then the norms and the labels.
 */
static int cost_range(const ctx *x, const blk *b, size_t i0, size_t ni, size_t j0, size_t nj,
                      double *out, float *fscr) {
  int rc = cost_products(x, b, i0, ni, j0, nj, out, fscr);
  if (!rc) cost_finish(x, b, i0, ni, j0, nj, out, blk_single(x, b) ? fscr : NULL);
  return rc;
}

/* Costs of rows [i0, i0 + ni) of block b against all its columns (ni x m). */
static int cost_rows(const ctx *x, const blk *b, size_t i0, size_t ni, double *out) {
  return cost_range(x, b, i0, ni, 0, b->c->n, out, x->ftile);
}

/* Fill the dense cache of block b (r->n x c->n). */
static int fill_dense(const ctx *x, blk *b) {
  size_t n = b->r->n, m = b->c->n, step = 256;
  for (size_t i0 = 0; i0 < n; i0 += step) {
    size_t ni = n - i0 < step ? n - i0 : step;
    int rc = cost_rows(x, b, i0, ni, b->dense + i0 * m);
    if (rc) return rc;
  }
  return OT_OK;
}

/*
 * Single precision feature costs: float copies of both clouds centred at
 * the mean of all their rows (distances do not change; the inner products
 * shrink, and with them the float rounding), and sq replaced by the squared
 * norms of the float rows (in double) so that the cost is that of the
 * rounded points.  *store owns the copies; x->ftile gets `rows` x `cols`
 * floats of GEMM scratch (for fill_dense; none when rows is 0).
 */
static int make_single(ctx *x, side *A, side *B, size_t rows, size_t cols, float **store) {
  size_t n = A->n, m = B->n, d = A->X.cols, bytes;
  double *mu = NULL;
  int rc;
  if ((rc = ot_mem_size(n + m, d, sizeof(float), &bytes)) || (rc = ot_malloc(bytes, store)))
    return rc;
  if (rows && ((rc = ot_mem_size(rows, cols, sizeof(float), &bytes)) ||
               (rc = ot_malloc(bytes, &x->ftile))))
    return rc;
  if ((rc = ot_alloc_doubles(d, 1, &mu))) return rc;
  float *xf = *store, *yf = xf + n * d;
  for (size_t k = 0; k < d; k++) mu[k] = 0.0;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < d; k++) mu[k] += OT_AT(A->X, i, k);
  for (size_t j = 0; j < m; j++)
    for (size_t k = 0; k < d; k++) mu[k] += OT_AT(B->X, j, k);
  for (size_t k = 0; k < d; k++) mu[k] /= (double)(n + m);
  const side *sd[2] = {A, B};
  float *dst[2] = {xf, yf};
  for (int t = 0; t < 2; t++)
    for (size_t i = 0; i < sd[t]->n; i++) {
      float *row = dst[t] + i * d;
      double s2 = 0.0;
      for (size_t k = 0; k < d; k++) {
        row[k] = (float)(OT_AT(sd[t]->X, i, k) - mu[k]);
        s2 += (double)row[k] * (double)row[k];
      }
      sd[t]->sq[i] = s2;
    }
  A->Xf = xf;
  B->Xf = yf;
  ot_free(mu);
  return OT_OK;
}

/*
 * out_i = -eps log sum_j w_j exp((g_j - C_ij) / eps) over the columns of
 * block b (w = the column side's weights; g NULL = 0).  prev (may be NULL):
 * the previous values of out, as a hint for the one-pass log-sum-exp.
 * Online blocks are swept in row tiles; progress between tiles.
 */
/*
 * One row of a soft-min with the columns sorted by class: L[l] = log sum over
 * the columns j of class l of exp((h_j - c_j) s); returns -eps log sum_l exp(L[l]).
 */
static double row_cls(const double *h, const double *c, const side *cs, double s, double eps,
                      double *L) {
  double big = -INFINITY, sum = 0.0;
  for (size_t l = 0; l < cs->ncls; l++) {
    size_t j0 = cs->cstart[l], nl = cs->cstart[l + 1] - j0;
    L[l] = ot_vexp_lse(h + j0, c + j0, nl, s, L[l] / s); /* hint: the previous value */
    big = L[l] > big ? L[l] : big;
  }
  for (size_t l = 0; l < cs->ncls; l++) sum += exp(L[l] - big);
  return -eps * (big + log(sum));
}

static int sweep_blocks(ctx *x, const blk *b, const double *h, const double *hr, double s,
                        double *Lr, double *Lc, int sym, double *Lcls, const double *Hc);

static int softmin_cls(ctx *x, const blk *b, const double *g, double eps, double *out,
                       const double *prev, double *Lc) {
  size_t n = b->r->n, m = b->c->n;
  double *h = x->h, s = 1.0 / eps;
  for (size_t j = 0; j < m; j++) h[j] = (g ? g[j] : 0.0) + eps * b->c->logw[j];
  if (b->dense) {
#pragma omp parallel for schedule(static) if (n * m > 20000)
    for (size_t i = 0; i < n; i++)
      out[i] = Lc ? row_cls(h, b->dense + i * m, b->c, s, eps, Lc + i * b->c->ncls)
                  : -eps * ot_vexp_lse(h, b->dense + i * m, m, s, prev ? -prev[i] : NAN);
    return OT_OK;
  }
  /* online: the blocked sweep, rows only (class sums with them when asked) */
  if (!x->bscr || (Lc && !x->clsacc)) return OT_EINVAL;
  int rc = sweep_blocks(x, b, h, NULL, s, out, NULL, 0, Lc, NULL);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) out[i] *= -eps;
  return OT_OK;
}

static int softmin(ctx *x, const blk *b, const double *g, double eps, double *out,
                   const double *prev) {
  return softmin_cls(x, b, g, eps, out, prev, NULL);
}

/*
 * Online sweeps that use each cost tile for two soft-mins (the GEMM of the
 * tiles dominates in high dimension).  Running log-sum-exp accumulators:
 * (M, S) stands for M + log S.
 */

/* Merge the log-sum-exp value L into (M, S). */
static void acc_merge(double *M, double *S, double L) {
  if (L == -INFINITY) return;
  if (L > *M) {
    *S = *S * exp(*M - L) + 1.0;
    *M = L;
  } else {
    *S += exp(L - *M);
  }
}

/*
 * Column accumulation of a block t (ni x nj, row stride ld) into (M, S) of
 * its nj columns: adds exp(v_ij) with v_ij = (hr[i] - t_ij) s to column j.
 * The block's maxima per column first, then the shifted exponentials
 * (vectorized); mx: nj doubles of scratch.
 */
static void col_accumulate(const double *t, size_t ld, size_t ni, size_t nj, const double *hr,
                           double s, double *M, double *S, double *mx) {
  for (size_t j = 0; j < nj; j++) mx[j] = -INFINITY;
  for (size_t ii = 0; ii < ni; ii++) {
    const double *tr = t + ii * ld;
    double h = hr[ii];
    for (size_t j = 0; j < nj; j++) {
      double v = (h - tr[j]) * s;
      mx[j] = v > mx[j] ? v : mx[j];
    }
  }
  for (size_t j = 0; j < nj; j++) {
    double nm = mx[j] > M[j] ? mx[j] : M[j];
    if (nm == -INFINITY) continue;
    S[j] = M[j] == -INFINITY ? 0.0 : S[j] * exp(M[j] - nm);
    M[j] = nm;
  }
  for (size_t ii = 0; ii < ni; ii++) {
    const double *tr = t + ii * ld;
    double h = hr[ii];
    for (size_t j = 0; j < nj; j++) mx[j] = (h - tr[j]) * s - M[j];
    ot_vexp(mx, mx, nj);
    for (size_t j = 0; j < nj; j++) S[j] += mx[j];
  }
}

/*
 * Column accumulation with fixed shifts: S[j] += exp((hr[i] - t_ij) s - H[j])
 * over the ni rows of block t (row stride ld); H: guesses of the columns'
 * log-sum-exps (one pass, no maxima; see sweep_blocks for the check).
 */
static void col_accumulate_hint(const double *t, size_t ld, size_t ni, size_t nj,
                                const double *hr, double s, const double *H, double *S) {
  for (size_t ii = 0; ii < ni; ii++) ot_vexp_acc(S, t + ii * ld, H, hr[ii], s, nj);
}

/*
 * Online sweeps by blocks of swr rows x swc columns (default SW_R x SW_C;
 * tile_rows x tile_rows when that option is given): each thread computes
 * a block's costs (BLAS on one thread: no second thread pool competing for
 * the cores), then its row and column log-sum-exps while the block is still
 * in cache, into running (M, S) accumulators of its own (M + log S), merged
 * after the sweep.  Per-thread scratch (ctx.bscr, bper doubles each): the
 * block (swr x swc), column maxima (swc), row and column accumulators
 * (2 x max(n, m) each); single precision adds an swr x swc float block.
 */
enum { SW_R = 256, SW_C = 2048 };

static size_t sweep_scratch(size_t nm, size_t swr, size_t swc) { return swr * swc + swc + 4 * nm; }

/*
 * Row log-sum-exps of one block (ni x nj at columns j0..): into the running
 * (M, S) of each row, or, with per-class sums (cls: the column side sorted
 * by class), into the row's class accumulators K (2 x C per row: M's then
 * S's) for the classes the block meets.
 */
static void block_rows(const double *blkc, size_t ni, size_t nj, size_t i0, size_t j0,
                       const double *h, double s, double *rM, double *rS, const side *cls,
                       double *K) {
  if (!cls) {
    for (size_t ii = 0; ii < ni; ii++)
      acc_merge(&rM[i0 + ii], &rS[i0 + ii], ot_vexp_lse(h + j0, blkc + ii * nj, nj, s, NAN));
    return;
  }
  size_t C = cls->ncls, l0 = 0;
  while (l0 < C && cls->cstart[l0 + 1] <= j0) l0++;
  for (size_t ii = 0; ii < ni; ii++) {
    double *k = K + (i0 + ii) * 2 * C;
    for (size_t l = l0; l < C && cls->cstart[l] < j0 + nj; l++) {
      size_t a = cls->cstart[l] > j0 ? cls->cstart[l] : j0;
      size_t e = cls->cstart[l + 1] < j0 + nj ? cls->cstart[l + 1] : j0 + nj;
      if (a < e)
        acc_merge(&k[l], &k[C + l], ot_vexp_lse(h + a, blkc + ii * nj + (a - j0), e - a, s, NAN));
    }
  }
}

/*
 * One sweep of block b.  h (columns, m): h_j = g_j + eps log w_j; hr (rows,
 * n): likewise from the row potential.  Lr (n, may be NULL): L_i = log sum_j
 * exp((h_j - C_ij) / eps); Lc (m, may be NULL): L_j = log sum_i exp((hr_i -
 * C_ij) / eps).  Lcls (n x C, may be NULL; the column side sorted by class,
 * not sym): also the row sums per column class, Lr their log-sum-exp.
 * sym: b is a symmetric self block (r == c, hr unused): only the blocks on
 * and above the diagonal are computed, each serving its rows and,
 * transposed, its columns; the result in Lr.  Work items: a row block with
 * all its column blocks (rows stay with one thread), or under sym one
 * (row block, column block) pair.  Hc (may be NULL): guesses of the column
 * results (Lc, or under sym the transposed part of Lr), e.g. the previous
 * sweep's: the column sums are then shifted by them and taken in one pass;
 * a result more than 300 from its guess (or not finite) sends the whole
 * sweep round again without guesses.
 */
/*
 * The block grid of a sweep of b: row blocks of R = swr rows, column blocks
 * of cw = swc columns, or under sym (r == c) of R columns aligned with the
 * row blocks; the work items and the slots of a cache (non-sym: slot rb *
 * ncb + cb; sym: the item).
 */
typedef struct sgrid {
  size_t R, cw, nrb, ncb, nitems, nslots;
} sgrid;

static sgrid sweep_grid(const ctx *x, const blk *b, int sym) {
  sgrid g;
  size_t n = b->r->n, m = b->c->n;
  g.R = x->swr;
  g.cw = sym ? x->swr : x->swc;
  g.nrb = (n + g.R - 1) / g.R;
  g.ncb = (m + g.cw - 1) / g.cw;
  g.nitems = sym ? g.nrb * (g.nrb + 1) / 2 : g.nrb;
  g.nslots = sym ? g.nitems : g.nrb * g.ncb;
  return g;
}

/* Item p of a sym sweep -> its (row block, column block), cb >= rb, row by row. */
static void sym_item(size_t p, size_t nrb, size_t *rb, size_t *cb) {
  size_t r = 0, left = p;
  while (left >= nrb - r) {
    left -= nrb - r;
    r++;
  }
  *rb = r;
  *cb = r + left;
}

/*
 * The costs of one sweep block (rows i0.., columns j0.., slot k) for reading:
 * from b's cache when kept (filled on the first sweep), else computed into
 * blkc (and fb, single precision).  *cst gets the block to read.
 */
static int sweep_block_costs(const ctx *x, const blk *b, size_t k, size_t i0, size_t ni,
                             size_t j0, size_t nj, double *blkc, float *fb, const double **cst) {
  const tcache *tc = b->tc;
  char *slot = tc && tc->off[k] != SIZE_MAX ? tc->base + tc->off[k] : NULL;
  int rc = OT_OK;
  *cst = blkc;
  if (!slot) return cost_range(x, b, i0, ni, j0, nj, blkc, fb);
  if (blk_single(x, b) && !tc->fin) {
    float *pf = (float *)(void *)slot;
    if (!tc->filled) rc = cost_products(x, b, i0, ni, j0, nj, blkc, pf);
    if (!rc) cost_finish(x, b, i0, ni, j0, nj, blkc, pf);
  } else {
    double *pd = (double *)(void *)slot;
    if (!tc->filled) rc = cost_range(x, b, i0, ni, j0, nj, pd, fb);
    *cst = pd;
  }
  return rc;
}

static int sweep_blocks(ctx *x, const blk *b, const double *h, const double *hr, double s,
                        double *Lr, double *Lc, int sym, double *Lcls, const double *Hc) {
  size_t n = b->r->n, m = b->c->n, nm = n > m ? n : m;
  sgrid gr = sweep_grid(x, b, sym);
  size_t R = gr.R, Cw = x->swc, base = R * Cw + Cw; /* accumulators after the block */
  size_t nrb = gr.nrb, ncb = gr.ncb, cw = gr.cw, nitems = gr.nitems;
  const side *cls = Lcls && !sym ? b->c : NULL;
  size_t C = cls ? cls->ncls : 0;
  int nt = x->nthr, bad = OT_OK;
  int stop = 0;
  for (int t = 0; t < nt; t++) {
    double *acc = x->bscr + (size_t)t * x->bper + base;
    for (size_t k = 0; k < nm; k++) acc[k] = acc[2 * nm + k] = -INFINITY;
    memset(acc + nm, 0, nm * sizeof(double));
    memset(acc + 3 * nm, 0, nm * sizeof(double));
  }
  if (cls)
    for (size_t i = 0; i < n; i++) {
      double *k = x->clsacc + i * 2 * C;
      for (size_t l = 0; l < C; l++) {
        k[l] = -INFINITY;
        k[C + l] = 0.0;
      }
    }
  int saved = ot_blas_threads();
  ot_blas_set_threads(1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (n * m > 20000)
  for (size_t p = 0; p < nitems; p++) {
    if (ot_flag_get(&stop) || ot_flag_get(&bad)) continue;
    size_t rb = p, cb0 = 0, cb1 = ncb;
    if (sym) {
      sym_item(p, nrb, &rb, &cb0);
      cb1 = cb0 + 1;
    }
    int tid = OT_THREAD_ID();
    double *blkc = x->bscr + (size_t)tid * x->bper, *mx = blkc + R * Cw;
    double *rM = mx + Cw, *rS = rM + nm, *cM = rS + nm, *cS = cM + nm;
    float *fb = x->bfscr ? x->bfscr + (size_t)tid * R * Cw : NULL;
    size_t i0 = rb * R, ni = n - i0 < R ? n - i0 : R;
    for (size_t cb = cb0; cb < cb1 && !ot_flag_get(&stop); cb++) {
      size_t j0 = cb * cw, nj = m - j0 < cw ? m - j0 : cw;
      const double *cst;
      int rc = sweep_block_costs(x, b, sym ? p : rb * ncb + cb, i0, ni, j0, nj, blkc, fb, &cst);
      if (rc) {
#pragma omp critical(otdd_sweep)
        if (!bad) ot_flag_set(&bad, rc);
        break;
      }
      if (Lr) block_rows(cst, ni, nj, i0, j0, h, s, rM, rS, cls, x->clsacc);
      if (sym && cb != rb && Hc) /* the transposed block: its columns are rows of the result */
        col_accumulate_hint(cst, nj, ni, nj, h + i0, s, Hc + j0, cS + j0);
      else if (sym && cb != rb)
        col_accumulate(cst, nj, ni, nj, h + i0, s, rM + j0, rS + j0, mx);
      else if (!sym && Lc && Hc)
        col_accumulate_hint(cst, nj, ni, nj, hr + i0, s, Hc + j0, cS + j0);
      else if (!sym && Lc)
        col_accumulate(cst, nj, ni, nj, hr + i0, s, cM + j0, cS + j0, mx);
      if (tid == 0 && report(x, 0)) ot_flag_set(&stop, 1);
    }
  }
  ot_blas_set_threads(saved);
  if (bad) return bad;
  if (stop) return OT_ECANCELED;
  if (b->tc) b->tc->filled = 1;
  /* merge the threads' accumulators */
  int again = 0;
  for (int pass = 0; pass < 2; pass++) {
    double *L = pass ? Lc : Lr;
    size_t len = pass ? m : n, off = pass ? 2 * nm : 0;
    if (!L || (pass && sym) || (!pass && cls)) continue;
    int hinted = Hc && (pass || sym); /* the shifted one-pass sums in cS */
    for (size_t k = 0; k < len; k++) {
      double Mk = -INFINITY, Sk = 0.0, Hs = 0.0;
      for (int t = 0; t < nt; t++) {
        const double *acc = x->bscr + (size_t)t * x->bper + base;
        if (!pass && acc[k] != -INFINITY) acc_merge(&Mk, &Sk, acc[k] + log(acc[nm + k]));
        if (pass && !hinted && acc[off + k] != -INFINITY)
          acc_merge(&Mk, &Sk, acc[off + k] + log(acc[off + nm + k]));
        if (hinted) Hs += acc[3 * nm + k];
      }
      if (hinted && Hs > 0.0) acc_merge(&Mk, &Sk, Hc[k] + log(Hs));
      L[k] = Mk + log(Sk);
      if (hinted && !(fabs(L[k] - Hc[k]) <= 300.0)) again = 1;
    }
  }
  if (again) /* a guess too far off (or NaN): the sweep again, two passes per column */
    return sweep_blocks(x, b, h, hr, s, Lr, Lc, sym, Lcls, NULL);
  if (cls && Lr)
    for (size_t i = 0; i < n; i++) {
      const double *k = x->clsacc + i * 2 * C;
      double Mk = -INFINITY, Sk = 0.0;
      for (size_t l = 0; l < C; l++) {
        Lcls[i * C + l] = k[l] == -INFINITY ? -INFINITY : k[l] + log(k[C + l]);
        acc_merge(&Mk, &Sk, Lcls[i * C + l]);
      }
      Lr[i] = Mk + log(Sk);
    }
  return OT_OK;
}

/* Bytes of slot k of a sweep grid of b with elem-byte entries (on cache lines); *cells
   gets its entries. */
static size_t slot_bytes(const blk *b, const sgrid *g, int sym, size_t k, size_t elem,
                         size_t *cells) {
  size_t rb, cb, n = b->r->n, m = b->c->n;
  if (sym) {
    sym_item(k, g->nrb, &rb, &cb);
  } else {
    rb = k / g->ncb;
    cb = k % g->ncb;
  }
  size_t ni = n - rb * g->R < g->R ? n - rb * g->R : g->R;
  size_t nj = m - cb * g->cw < g->cw ? m - cb * g->cw : g->cw;
  *cells = ni * nj;
  return (ni * nj * elem + 63) & ~(size_t)63;
}

/*
 * Plan and allocate the kept blocks of the online sweeps of bs[0..nb) (each
 * tcs[t] starts zeroed; the caller frees off and tcs[0].base) within
 * `budget` bytes, capped at half of the memory budget still free: slots in
 * sweep order, the blocks in the order given, each slot kept when it still
 * fits; when that memory cannot be had, nothing is kept.  *bytes gets the
 * bytes kept, *frac the fraction of the swept cells.
 */
static int cache_plan(const ctx *x, size_t budget, blk *const *bs, int nb, tcache *tcs,
                      size_t *bytes, double *frac) {
  size_t lim = ot_mem_limit(), used = ot_mem_used(), total = 0, all = 0, kept = 0, sz, cells;
  int rc, fin = 1;
  if (lim) {
    size_t room = lim > used ? (lim - used) / 2 : 0;
    if (budget > room) budget = room;
  }
  if (blk_single(x, bs[0])) { /* finished doubles when they all fit, else floats */
    size_t need = 0;
    for (int t = 0; t < nb && need <= budget; t++) {
      int sym = bs[t]->r == bs[t]->c;
      sgrid g = sweep_grid(x, bs[t], sym);
      for (size_t k = 0; k < g.nslots && need <= budget; k++)
        need += slot_bytes(bs[t], &g, sym, k, sizeof(double), &cells);
    }
    fin = need <= budget;
  }
  for (int t = 0; t < nb; t++) {
    blk *b = bs[t];
    int sym = b->r == b->c;
    sgrid g = sweep_grid(x, b, sym);
    size_t elem = fin ? sizeof(double) : sizeof(float);
    if ((rc = ot_mem_size(g.nslots, sizeof(size_t), 1, &sz)) || (rc = ot_malloc(sz, &tcs[t].off)))
      return rc;
    tcs[t].nslots = g.nslots;
    tcs[t].fin = fin;
    for (size_t k = 0; k < g.nslots; k++) {
      sz = slot_bytes(b, &g, sym, k, elem, &cells);
      all += cells;
      tcs[t].off[k] = SIZE_MAX;
      if (sz <= budget - total) {
        tcs[t].off[k] = total;
        total += sz;
        kept += cells;
      }
    }
    b->tc = &tcs[t];
  }
  if (total && ot_malloc(total, &tcs[0].base) != OT_OK) {
    /* the cache only saves time: without the memory, every block is recomputed */
    for (int t = 0; t < nb; t++)
      for (size_t k = 0; k < tcs[t].nslots; k++) tcs[t].off[k] = SIZE_MAX;
    total = kept = 0;
  }
  for (int t = 1; t < nb; t++) tcs[t].base = tcs[0].base;
  *bytes = total;
  *frac = all ? (double)kept / (double)all : 0.0;
  return OT_OK;
}

/*
 * One sweep of the online cross block b (n x m): fo_i = softmin over j with
 * column potential g, and go_j = softmin over i with row potential f, both
 * from the same blocks.
 */
static int cross_sweep(ctx *x, const blk *b, const double *g, const double *f, double eps,
                       double *fo, double *go) {
  size_t n = b->r->n, m = b->c->n;
  double *h = x->h, *hr = x->hr;
  for (size_t j = 0; j < m; j++) h[j] = (g ? g[j] : 0.0) + eps * b->c->logw[j];
  for (size_t i = 0; i < n; i++) hr[i] = (f ? f[i] : 0.0) + eps * b->r->logw[i];
  if (g) /* go_j = -eps L_j is near g_j */
    for (size_t j = 0; j < m; j++) x->hc[j] = -g[j] / eps;
  int rc = sweep_blocks(x, b, h, hr, 1.0 / eps, fo, go, 0, NULL, g ? x->hc : NULL);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) fo[i] *= -eps;
  for (size_t j = 0; j < m; j++) go[j] *= -eps;
  return OT_OK;
}

/*
 * One sweep of the online symmetric self block b (r == c, n x n): out_i =
 * softmin over j with potential f, from the blocks on and above the
 * diagonal only.
 */
static int self_sweep(ctx *x, const blk *b, const double *f, double eps, double *out) {
  size_t n = b->r->n;
  double *h = x->h;
  for (size_t j = 0; j < n; j++) h[j] = (f ? f[j] : 0.0) + eps * b->r->logw[j];
  if (f) /* out_j = -eps L_j is near f_j */
    for (size_t j = 0; j < n; j++) x->hc[j] = -f[j] / eps;
  int rc = sweep_blocks(x, b, h, NULL, 1.0 / eps, out, NULL, 1, NULL, f ? x->hc : NULL);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) out[i] *= -eps;
  return OT_OK;
}

/*
 * out_j = softmin over the rows i of the cross block, with row potential f:
 * online by the column pass of xy's blocks (the same blocks, and cache, as
 * the row soft-mins), dense from yx.
 */
static int softmin_cols(ctx *x, const blk *xy, const blk *yx, const double *f, double eps,
                        double *out, const double *prev) {
  if (!x->bscr) return softmin(x, yx, f, eps, out, prev);
  size_t n = xy->r->n, m = xy->c->n;
  double *hr = x->hr;
  for (size_t i = 0; i < n; i++) hr[i] = (f ? f[i] : 0.0) + eps * xy->r->logw[i];
  if (prev)
    for (size_t j = 0; j < m; j++) x->hc[j] = -prev[j] / eps;
  int rc = sweep_blocks(x, xy, x->h, hr, 1.0 / eps, NULL, out, 0, NULL, prev ? x->hc : NULL);
  if (rc) return rc;
  for (size_t j = 0; j < m; j++) out[j] *= -eps;
  return OT_OK;
}

/*
 * The cross pair from the previous pair: fo = softmin(xy, g), go =
 * softmin(yx, f); online blocks in one sweep of the tiles.
 */
static int cross_both(ctx *x, const blk *xy, const blk *yx, const double *g, const double *f,
                      double eps, double *fo, double *go, const double *fprev,
                      const double *gprev) {
  int rc;
  (void)fprev;
  if (x->bscr) return cross_sweep(x, xy, g, f, eps, fo, go);
  if ((rc = softmin(x, xy, g, eps, fo, fprev))) return rc;
  return softmin(x, yx, f, eps, go, gprev);
}

/* A self soft-min: online blocks by the symmetric sweep (half the tiles). */
static int self_one(ctx *x, const blk *b, const double *f, double eps, double *out,
                    const double *prev) {
  if (x->bscr) return self_sweep(x, b, f, eps, out);
  return softmin(x, b, f, eps, out, prev);
}

/* sum_i w_i v_i */
static double wdot(const double *w, const double *v, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += w[i] * v[i];
  return s;
}

/* L1 marginal error sum_i w_i |exp((f_i - t_i) / eps) - 1| */
static double marg_err(const double *w, const double *f, const double *t, size_t n, double eps) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += w[i] * fabs(expm1((f[i] - t[i]) / eps));
  return s;
}

/*
 * Over-relaxation weight from the contraction rate `rate` observed under
 * weight w (Young's SOR theory as used for Sinkhorn by Thibault et al.
 * 2017): the plain rate is theta = ((rate + w - 1) / (w sqrt(rate)))^2 and
 * the best weight 2 / (1 + sqrt(1 - theta)), kept in [1, 1.9].
 */
static double relax_weight(double rate, double w) {
  if (!(rate > 0 && rate < 1)) return 1.0;
  double mu = (rate + w - 1.0) / (w * sqrt(rate)), theta = mu * mu;
  if (!(theta > 0)) return 1.0;
  if (theta >= 1.0) theta = 0.999;
  double best = 2.0 / (1.0 + sqrt(1.0 - theta));
  return best < 1.0 ? 1.0 : best > 1.9 ? 1.9 : best;
}

/*
 * The epsilon list of the peer (geomloss 0.2.6, p = 2): [D^2], exp(t) for
 * t = 2 ln D + k * 2 ln s (k < ceil((ln entreg - 2 ln D) / (2 ln s)), as
 * numpy's arange counts), then entreg.  *len gets the count; list has room
 * for 200 entries.
 */
static void eps_list(double *list, size_t *len, double D, double entreg, double s) {
  size_t k = 0;
  list[k++] = D * D;
  double start = 2.0 * log(D), stop = log(entreg), step = 2.0 * log(s);
  double cnt = ceil((stop - start) / step);
  if (cnt > 0.0) {
    if (cnt > 190.0) cnt = 190.0;
    for (long t = 0; t < (long)cnt; t++) list[k++] = exp(start + (double)t * step);
  }
  list[k++] = entreg;
  *len = k;
}

/* Dense plan rows: P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps); online
 * blocks in tiles of x->tile_rows rows (scratch allocated here). */
static int write_plan(ctx *x, const blk *b, const double *f, const double *g, double eps,
                      ot_mat P) {
  size_t n = b->r->n, m = b->c->n, step = b->dense ? n : x->tile_rows;
  double *tile = NULL;
  float *ft = NULL;
  int rc = OT_OK;
  if (!b->dense) {
    size_t bytes;
    if (step == 0 || step > n) step = n;
    if ((rc = ot_alloc_doubles(step, m, &tile))) return rc;
    if (b->r->Xf && ((rc = ot_mem_size(step, m, sizeof(float), &bytes)) ||
                     (rc = ot_malloc(bytes, &ft))))
      goto done;
  }
  for (size_t i0 = 0; i0 < n; i0 += step) {
    size_t ni = n - i0 < step ? n - i0 : step;
    const double *t = b->dense ? b->dense + i0 * m : tile;
    if (!b->dense && (rc = cost_range(x, b, i0, ni, 0, m, tile, ft))) goto done;
    for (size_t ii = 0; ii < ni; ii++) {
      size_t i = i0 + ii;
      double *row = P.data + i * P.ld;
      for (size_t j = 0; j < m; j++)
        row[j] = b->r->w[i] * b->c->w[j] * exp((f[i] + g[j] - t[ii * m + j]) / eps);
    }
  }
done:
  ot_free(tile);
  ot_free(ft);
  return rc;
}

/*
 * Class-block balancing of the cross problem (a coarse correction).  The
 * cost is nearly constant across class blocks at scale eps, so plain
 * Sinkhorn fixes the mass each block of classes carries only through
 * exponentially small entries (very slowly).  With rows and columns sorted
 * by class, the block masses are read from the per-class sums Lc (n x C2,
 * Lc_il = log sum_{j in l} b_j exp((g_j - C_ij) / eps)) of the row pass:
 *   log M_kl = LSE_{i in k} (log a_i + f_i / eps + Lc_il);
 * a small log-domain Sinkhorn finds u (C1), v (C2) giving the blocks the
 * class masses of a and b, and f_i += eps u_k, g_j += eps v_l.  The
 * potentials of the full problem stay a valid dual pair; only the block
 * constants move.  scr: C1 * C2 + 2 * (C1 + C2) doubles.
 */
static void balance(const side *A, const side *B, double *f, double *g, const double *Lc,
                    double eps, double *scr) {
  size_t C1 = A->ncls, C2 = B->ncls;
  double *lM = scr, *u = lM + C1 * C2, *v = u + C1, *la = v + C2, *lb = la + C1;
  for (size_t k = 0; k < C1; k++) {
    double big = -INFINITY;
    for (size_t i = A->cstart[k]; i < A->cstart[k + 1]; i++)
      big = A->logw[i] > big ? A->logw[i] : big;
    double sm = 0.0;
    for (size_t i = A->cstart[k]; i < A->cstart[k + 1]; i++) sm += exp(A->logw[i] - big);
    la[k] = big + log(sm);
    for (size_t l = 0; l < C2; l++) {
      double bg = -INFINITY, t = 0.0;
      for (size_t i = A->cstart[k]; i < A->cstart[k + 1]; i++) {
        double e = A->logw[i] + f[i] / eps + Lc[i * C2 + l];
        bg = e > bg ? e : bg;
      }
      for (size_t i = A->cstart[k]; i < A->cstart[k + 1]; i++)
        t += exp(A->logw[i] + f[i] / eps + Lc[i * C2 + l] - bg);
      lM[k * C2 + l] = bg + log(t);
    }
  }
  for (size_t l = 0; l < C2; l++) {
    double big = -INFINITY, sm = 0.0;
    for (size_t j = B->cstart[l]; j < B->cstart[l + 1]; j++)
      big = B->logw[j] > big ? B->logw[j] : big;
    for (size_t j = B->cstart[l]; j < B->cstart[l + 1]; j++) sm += exp(B->logw[j] - big);
    lb[l] = big + log(sm);
    v[l] = 0.0;
  }
  for (int it = 0; it < 2000; it++) {
    double change = 0.0;
    for (size_t k = 0; k < C1; k++) {
      double bg = -INFINITY, t = 0.0;
      for (size_t l = 0; l < C2; l++) bg = fmax(bg, lM[k * C2 + l] + v[l]);
      for (size_t l = 0; l < C2; l++) t += exp(lM[k * C2 + l] + v[l] - bg);
      u[k] = la[k] - bg - log(t);
    }
    for (size_t l = 0; l < C2; l++) {
      double bg = -INFINITY, t = 0.0;
      for (size_t k = 0; k < C1; k++) bg = fmax(bg, lM[k * C2 + l] + u[k]);
      for (size_t k = 0; k < C1; k++) t += exp(lM[k * C2 + l] + u[k] - bg);
      double nv = lb[l] - bg - log(t);
      change = fmax(change, fabs(nv - v[l]));
      v[l] = nv;
    }
    if (!(change > 1e-13)) break;
  }
  for (size_t k = 0; k < C1; k++)
    if (isfinite(u[k]))
      for (size_t i = A->cstart[k]; i < A->cstart[k + 1]; i++) f[i] += eps * u[k];
  for (size_t l = 0; l < C2; l++)
    if (isfinite(v[l]))
      for (size_t j = B->cstart[l]; j < B->cstart[l + 1]; j++) g[j] += eps * v[l];
}

/* The potentials of a solve and their scratch. */
typedef struct pots {
  double *f_ba, *g_ab, *f_aa, *g_bb, *ft, *gt, *fa, *gb;
  const double *wa, *wb;
  size_t n, m;
  int debiased;
  double *Lc, *bscr;   /* balancing (NULL: off): n x C2 per-class sums, small scratch */
  const side *A, *B;
} pots;

/*
 * Iterate at eps until every marginal error < tol or `cap` iterations.
 * (a, a) and (b, b): averaged symmetric updates, dropped once converged.
 * (a, b): alternating updates with over-relaxation f <- (1 - w) f + w softmin(g)
 * (Thibault et al. 2017): after 8 plain steps w = 2 / (1 + sqrt(1 - theta)) from
 * the observed contraction rate theta (at most 1.9), re-estimated every 10 steps;
 * back to w = 1 for good when the error stops decreasing.  The (a, b) error is the
 * larger of the row marginal of (f, g) and the column marginal of (f', g).
 * *iters gets the iterations made, *err the final largest error, *conv 1 when
 * converged.  out (may be NULL): its *_prev get the potentials before the last
 * iteration.
 */
static int iterate(ctx *x, const blk *xy, const blk *yx, const blk *xx, const blk *yy, pots *P,
                   double eps, double tol, long cap, long *iters, double *err, int *conv,
                   ot_otdd_outputs *out) {
  size_t n = P->n, m = P->m;
  const double *wa = P->wa, *wb = P->wb;
  double *f_ba = P->f_ba, *g_ab = P->g_ab, *f_aa = P->f_aa, *g_bb = P->g_bb;
  double *ft = P->ft, *gt = P->gt, *fa = P->fa, *gb = P->gb;
  int done_ab = 0, done_aa = !P->debiased, done_bb = !P->debiased, rc;
  double e_ab = INFINITY, e_aa = 0.0, e_bb = 0.0, w = 1.0, hist[11];
  long it = 0, k = 0;
  *conv = 0;
  for (; it < cap; it++) {
    if (out) {
      if (out->f_ba_prev) memcpy(out->f_ba_prev, f_ba, n * sizeof(double));
      if (out->g_ab_prev) memcpy(out->g_ab_prev, g_ab, m * sizeof(double));
      if (P->debiased && out->f_aa_prev) memcpy(out->f_aa_prev, f_aa, n * sizeof(double));
      if (P->debiased && out->g_bb_prev) memcpy(out->g_bb_prev, g_bb, m * sizeof(double));
    }
    if (!done_ab) {
      if ((rc = softmin_cls(x, xy, g_ab, eps, ft, f_ba, P->Lc))) return rc;
      double erow = marg_err(wa, f_ba, ft, n, eps);
      for (size_t i = 0; i < n; i++) f_ba[i] = w == 1.0 ? ft[i] : (1 - w) * f_ba[i] + w * ft[i];
      if (P->Lc) balance(P->A, P->B, f_ba, g_ab, P->Lc, eps, P->bscr);
      if ((rc = softmin_cols(x, xy, yx, f_ba, eps, gt, g_ab))) return rc;
      double ecol = marg_err(wb, g_ab, gt, m, eps);
      for (size_t j = 0; j < m; j++) g_ab[j] = w == 1.0 ? gt[j] : (1 - w) * g_ab[j] + w * gt[j];
      e_ab = erow > ecol ? erow : ecol;
      hist[k % 11] = e_ab;
      k++;
      if (k == 8 && hist[3] > 0) {
        w = relax_weight(pow(hist[7] / hist[3], 0.25), 1.0);
      } else if (k > 8 && (k - 8) % 10 == 0 && w > 1.0) {
        double last = hist[(k - 1) % 11], first = hist[(k - 11) % 11];
        w = last < first && first > 0 ? relax_weight(pow(last / first, 0.1), w) : 1.0;
      }
    }
    if (!done_aa) {
      if ((rc = self_one(x, xx, f_aa, eps, fa, f_aa))) return rc;
      e_aa = marg_err(wa, f_aa, fa, n, eps);
      for (size_t i = 0; i < n; i++) f_aa[i] = 0.5 * (f_aa[i] + fa[i]);
    }
    if (!done_bb) {
      if ((rc = self_one(x, yy, g_bb, eps, gb, g_bb))) return rc;
      e_bb = marg_err(wb, g_bb, gb, m, eps);
      for (size_t j = 0; j < m; j++) g_bb[j] = 0.5 * (g_bb[j] + gb[j]);
    }
    done_ab = e_ab < tol;
    done_aa = done_aa || e_aa < tol;
    done_bb = done_bb || e_bb < tol;
    x->err = fmax(e_ab, fmax(e_aa, e_bb));
    x->iter++;
    x->obj = wdot(wa, f_ba, n) + wdot(wb, g_ab, m);
    if (P->debiased) x->obj -= wdot(wa, f_aa, n) + wdot(wb, g_bb, m);
    if (isnan(x->err)) break;
    if (done_ab && done_aa && done_bb) {
      it++;
      *conv = 1;
      break;
    }
    if (report(x, 0)) return OT_ECANCELED;
  }
  *iters = it;
  *err = x->err;
  return OT_OK;
}

/* 1 when the n class indices never decrease. */
static int is_sorted(const int *c, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (c[i] < c[i - 1]) return 0;
  return 1;
}

/* The solver proper (see ot_otdd_outer); balancing when both sides are sorted by class. */
static int outer_impl(const ot_otdd_problem *p, const ot_otdd_outer_opts *o, ot_otdd_outputs *out,
                      ot_otdd_outer_result *res) {
  ot_otdd_outer_opts def;
  ot_otdd_outputs none;
  side A, B;
  blk xy, yx, xx, yy;
  ctx x;
  double *buf = NULL, *dense = NULL, *Cexact = NULL;
  size_t *tpi = NULL, *tpj = NULL;
  double *tmass = NULL;
  float *fstore = NULL;
  tcache tcs[3];
  int rc = OT_OK;
  double t0 = ot_clock();

  memset(tcs, 0, sizeof tcs);

  if (!o) {
    ot_otdd_outer_opts_init(&def);
    o = &def;
  }
  if (!out) {
    memset(&none, 0, sizeof none);
    out = &none;
  }
  memset(res, 0, sizeof *res);
  res->value = res->ot_ab = res->ot_aa = res->ot_bb = NAN;
  res->mode = o->mode;
  size_t n = p->X1.rows, m = p->X2.rows, d = p->X1.cols;
  if (n == 0 || m == 0 || d == 0 || !p->c1 || !p->c2) return OT_EINVAL;
  if (p->X2.cols != d) return OT_ESHAPE;
  if (o->mode < 0 || o->mode >= OT_OTDD_OUTER_COUNT) return OT_EINVAL;
  if (!(o->entreg > 0.0) || !isfinite(o->entreg) || !(o->lambda_x >= 0.0) ||
      !(o->lambda_y >= 0.0) || !(o->scaling > 0.0 && o->scaling < 1.0) || o->max_iter < 0 ||
      !(o->tol >= 0.0))
    return OT_EINVAL;
  const int debiased = o->debiased && o->mode != OT_OTDD_OUTER_EXACT;
  size_t C1 = 0, C2 = 0;
  for (size_t i = 0; i < n; i++) C1 = (size_t)p->c1[i] + 1 > C1 ? (size_t)p->c1[i] + 1 : C1;
  for (size_t j = 0; j < m; j++) C2 = (size_t)p->c2[j] + 1 > C2 ? (size_t)p->c2[j] + 1 : C2;
  for (size_t i = 0; i < n; i++)
    if (p->c1[i] < 0) return OT_EINVAL;
  for (size_t j = 0; j < m; j++)
    if (p->c2[j] < 0) return OT_EINVAL;
  if (o->lambda_y != 0.0) {
    if (p->W12.rows < C1 || p->W12.cols < C2 || !p->W12.data) return OT_ESHAPE;
    if (debiased && (p->W11.rows < C1 || p->W11.cols < C1 || !p->W11.data || p->W22.rows < C2 ||
                     p->W22.cols < C2 || !p->W22.data))
      return OT_ESHAPE;
  }
  if (out->P.data && (out->P.rows != n || out->P.cols != m)) return OT_ESHAPE;

  memset(&x, 0, sizeof x);
  x.lx = o->lambda_x;
  x.ly = o->lambda_y;
  x.progress = o->progress;
  x.ud = o->progress_ud;
  x.state = o->state;
  x.t0 = x.last = t0;
  x.obj = NAN;

  /* Scratch: per side logw, sq, (uniform w); potentials f_ba, g_ab, f_aa, g_bb, their
     tentative updates and previous values; h. */
  size_t nm = n > m ? n : m;
  size_t need = 3 * n + 3 * m + 4 * (n + m) + nm;
  if ((rc = ot_alloc_doubles(need, 1, &buf))) goto done;
  double *q = buf;
  A.logw = q; q += n; A.sq = q; q += n;
  double *wa = q; q += n;
  B.logw = q; q += m; B.sq = q; q += m;
  double *wb = q; q += m;
  double *f_ba = q; q += n; double *g_ab = q; q += m;
  double *f_aa = q; q += n; double *g_bb = q; q += m;
  double *ft = q; q += n; double *gt = q; q += m;
  double *fa = q; q += n; double *gb = q; q += m;
  x.h = q;
  double *Lc = NULL, *bscr = NULL;
  size_t *cs1 = NULL, *cs2 = NULL;
  A.X = p->X1; A.c = p->c1; A.n = n;
  A.cstart = B.cstart = NULL;
  A.Xf = B.Xf = NULL;
  A.ncls = B.ncls = 0;
  B.X = p->X2; B.c = p->c2; B.n = m;
  for (size_t i = 0; i < n; i++) wa[i] = p->a ? p->a[i] : 1.0 / (double)n;
  for (size_t j = 0; j < m; j++) wb[j] = p->b ? p->b[j] : 1.0 / (double)m;
  A.w = wa;
  B.w = wb;
  for (size_t i = 0; i < n; i++) A.logw[i] = log(wa[i]);
  for (size_t j = 0; j < m; j++) B.logw[j] = log(wb[j]);
  ot_cost_sqnorms(A.sq, A.X);
  ot_cost_sqnorms(B.sq, B.X);

  /* Label blocks: W21 = W12^T is read through a transposed copy. */
  double *W21 = NULL;
  size_t wsz = C1 * C2;
  if (o->lambda_y != 0.0) {
    if ((rc = ot_alloc_doubles(wsz ? wsz : 1, 1, &W21))) goto done;
    for (size_t i = 0; i < C1; i++)
      for (size_t j = 0; j < C2; j++) W21[j * C1 + i] = OT_AT(p->W12, i, j);
  }
  /* Class-block balancing (sinkhorn mode, both sides sorted by class). */
  if (o->mode == OT_OTDD_OUTER_SINKHORN && C1 * C2 > 1 && is_sorted(p->c1, n) &&
      is_sorted(p->c2, m)) {
    if ((rc = ot_malloc((C1 + 1) * sizeof *cs1, &cs1)) ||
        (rc = ot_malloc((C2 + 1) * sizeof *cs2, &cs2)) || (rc = ot_alloc_doubles(n, C2, &Lc)) ||
        (rc = ot_alloc_doubles(C1 * C2 + 2 * (C1 + C2), 1, &bscr)))
      goto done_w;
    for (size_t k = 0, i = 0; k <= C1; k++) {
      while (i < n && (size_t)p->c1[i] < k) i++;
      cs1[k] = i;
    }
    for (size_t l = 0, j = 0; l <= C2; l++) {
      while (j < m && (size_t)p->c2[j] < l) j++;
      cs2[l] = j;
    }
    for (size_t k = 0; k < n * C2; k++) Lc[k] = NAN; /* no hint on the first pass */
    A.cstart = cs1;
    A.ncls = C1;
    B.cstart = cs2;
    B.ncls = C2;
  }
  xy = (blk){&A, &B, p->W12, NULL, NULL};
  yx = (blk){&B, &A, W21 ? ot_mat_view(W21, C2, C1) : (ot_mat){0, 0, 0, NULL}, NULL, NULL};
  xx = (blk){&A, &A, p->W11, NULL, NULL};
  yy = (blk){&B, &B, p->W22, NULL, NULL};

  /* ---- exact: network simplex on the dense cross block -------------------- */
  const int single = o->single && o->lambda_x != 0.0;
  res->single = single;
  if (o->mode == OT_OTDD_OUTER_EXACT) {
    if (single && (rc = make_single(&x, &A, &B, 256, m, &fstore))) goto done_w;
    if ((rc = ot_alloc_doubles(n, m, &Cexact))) goto done_w;
    xy.dense = Cexact;
    if ((rc = fill_dense(&x, &xy))) goto done_w;
    size_t cap = n + m - 1;
    size_t *pi = out->pi, *pj = out->pj;
    double *mass = out->mass;
    if (out->P.data && !(pi && pj && mass)) {
      if ((rc = ot_malloc(cap * sizeof *tpi, &tpi)) || (rc = ot_malloc(cap * sizeof *tpj, &tpj)) ||
          (rc = ot_alloc_doubles(cap, 1, &tmass)))
        goto done_w;
      pi = tpi;
      pj = tpj;
      mass = tmass;
    }
    ot_emd_problem pr;
    ot_emd_opts eo;
    ot_emd_result er;
    memset(&pr, 0, sizeof pr);
    pr.n = n;
    pr.m = m;
    pr.a = wa;
    pr.b = wb;
    pr.C = ot_mat_view(Cexact, n, m);
    ot_emd_opts_init(&eo);
    eo.progress = o->progress;
    eo.progress_ud = o->progress_ud;
    rc = ot_emd_solve(&pr, &eo, pi, pj, mass, out->f_ba, out->g_ab, &er);
    if (rc) goto done_w;
    res->value = res->ot_ab = er.cost;
    res->iterations = er.iterations;
    res->err = er.err;
    res->nnz = er.nnz;
    res->status = er.status == OT_EMD_OPTIMAL ? OT_OTDD_CONVERGED : OT_OTDD_MAX_ITER;
    if (out->P.data) {
      for (size_t i = 0; i < n; i++) memset(out->P.data + i * out->P.ld, 0, m * sizeof(double));
      for (size_t k = 0; k < er.nnz; k++) OT_AT(out->P, pi[k], pj[k]) = mass[k];
    }
    goto done_w;
  }

  /* ---- entropic modes: dense or online blocks ------------------------------ */
  {
    size_t cells = 2 * n * m + (debiased ? n * n + m * m : 0);
    size_t bytes;
    int online = o->online;
    if (online < 0) {
      online = ot_mem_size(cells, sizeof(double), 1, &bytes) || bytes > o->dense_limit;
    }
    res->online = online;
    size_t tr = o->tile_rows ? o->tile_rows : TILE_DOUBLES / nm;
    if (tr < 16 && !o->tile_rows) tr = 16;
    if (tr > nm) tr = nm;
    if (single && (rc = make_single(&x, &A, &B, online ? 0 : 256, nm, &fstore))) goto done_w;
    if (!online) {
      if ((rc = ot_alloc_doubles(cells, 1, &dense))) goto done_w;
      xy.dense = dense;
      yx.dense = dense + n * m;
      if (debiased) {
        xx.dense = dense + 2 * n * m;
        yy.dense = xx.dense + n * n;
      }
      if ((rc = fill_dense(&x, &xy)) || (rc = fill_dense(&x, &yx))) goto done_w;
      if (debiased && ((rc = fill_dense(&x, &xx)) || (rc = fill_dense(&x, &yy)))) goto done_w;
    } else {
      x.tile_rows = tr;
      /* blocks of the sweeps: tile_rows x tile_rows when given (tests), else the
         cache-sized default */
      x.swr = o->tile_rows ? o->tile_rows : SW_R;
      x.swc = o->tile_rows ? o->tile_rows : SW_C;
      x.nthr = OT_NTHREADS();
      x.bper = sweep_scratch(nm, x.swr, x.swc);
      if ((rc = ot_alloc_doubles(nm, 1, &x.hr)) || (rc = ot_alloc_doubles(nm, 1, &x.hc)) ||
          (rc = ot_alloc_doubles((size_t)x.nthr, x.bper, &x.bscr)))
        goto done_w;
      if (Lc && (rc = ot_alloc_doubles(n, 2 * C2, &x.clsacc))) goto done_w;
      if (single) {
        size_t fb;
        if ((rc = ot_mem_size((size_t)x.nthr * x.swr, x.swc, sizeof(float), &fb)) ||
            (rc = ot_malloc(fb, &x.bfscr)))
          goto done_w;
      }
      blk *const swept[3] = {&xy, &xx, &yy};
      if (o->cache && (rc = cache_plan(&x, o->cache, swept, debiased ? 3 : 1, tcs,
                                       &res->cache_bytes, &res->cached)))
        goto done_w;
    }
  }

  /* Diameter and epsilon list. */
  double eps_l[200];
  size_t L = 0;
  {
    double lo[2], hi[2], D2 = 0.0;
    double *mn = NULL;
    if ((rc = ot_alloc_doubles(2 * d, 1, &mn))) goto done_w;
    double *mx = mn + d;
    for (size_t k = 0; k < d; k++) {
      mn[k] = INFINITY;
      mx[k] = -INFINITY;
    }
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < d; k++) {
        double v = OT_AT(A.X, i, k);
        if (v < mn[k]) mn[k] = v;
        if (v > mx[k]) mx[k] = v;
      }
    for (size_t j = 0; j < m; j++)
      for (size_t k = 0; k < d; k++) {
        double v = OT_AT(B.X, j, k);
        if (v < mn[k]) mn[k] = v;
        if (v > mx[k]) mx[k] = v;
      }
    for (size_t k = 0; k < d; k++) D2 += (mx[k] - mn[k]) * (mx[k] - mn[k]);
    ot_free(mn);
    if (o->mode == OT_OTDD_OUTER_COMPAT) {
      /* the label coordinate of the peer's (d+1)-vectors */
      lo[0] = INFINITY;
      hi[0] = -INFINITY;
      for (size_t i = 0; i < n; i++) {
        lo[0] = fmin(lo[0], p->c1[i]);
        hi[0] = fmax(hi[0], p->c1[i]);
      }
      double off = debiased ? (double)C1 : 0.0;
      for (size_t j = 0; j < m; j++) {
        lo[0] = fmin(lo[0], p->c2[j] + off);
        hi[0] = fmax(hi[0], p->c2[j] + off);
      }
      D2 += (hi[0] - lo[0]) * (hi[0] - lo[0]);
    } else {
      /* the largest cost: lambda_x / 2 D_x^2 + lambda_y / 2 max W, as D^2 / 2 */
      double wmax = 0.0;
      const ot_mat *Ws[3] = {&p->W12, &p->W11, &p->W22};
      if (o->lambda_y != 0.0)
        for (int t = 0; t < (debiased ? 3 : 1); t++)
          for (size_t i = 0; i < Ws[t]->rows; i++)
            for (size_t j = 0; j < Ws[t]->cols; j++) wmax = fmax(wmax, OT_AT(*Ws[t], i, j));
      D2 = o->lambda_x * D2 + o->lambda_y * wmax;
      (void)hi;
    }
    (void)lo;
    double D = sqrt(D2);
    if (!(D > 0.0)) D = sqrt(o->entreg);
    res->diameter = D;
    eps_list(eps_l, &L, D, o->entreg, o->scaling);
    res->eps0 = eps_l[0];
  }

  const int warm = o->mode == OT_OTDD_OUTER_SINKHORN && o->f_ba0 && o->g_ab0 &&
                   (!debiased || (o->f_aa0 && o->g_bb0));
  double eps = eps_l[0];
  pots pt = {f_ba, g_ab, f_aa, g_bb, ft, gt, fa, gb, wa, wb, n, m, debiased, Lc, bscr, &A, &B};
  x.max_iter = (long)L + (o->mode == OT_OTDD_OUTER_SINKHORN ? o->max_iter : 1);

  if (warm) {
    memcpy(f_ba, o->f_ba0, n * sizeof(double));
    memcpy(g_ab, o->g_ab0, m * sizeof(double));
    if (debiased) {
      memcpy(f_aa, o->f_aa0, n * sizeof(double));
      memcpy(g_bb, o->g_bb0, m * sizeof(double));
    }
    eps = o->entreg;
  } else {
    /* Initialisation at the first eps, then the averaged annealing stages. */
    if ((rc = cross_both(&x, &xy, &yx, NULL, NULL, eps, f_ba, g_ab, NULL, NULL)))
      goto done_w;
    if (debiased && ((rc = self_one(&x, &xx, NULL, eps, f_aa, NULL)) ||
                     (rc = self_one(&x, &yy, NULL, eps, g_bb, NULL))))
      goto done_w;
    if (o->mode == OT_OTDD_OUTER_SINKHORN) {
      /* converged annealing: each stage iterated to a loose tolerance (1e-2: tighter
         stages leave the converged value as it is, measured on digits and
         Fashion-MNIST, and cost 20 % more iterations) */
      for (size_t k = 0; k + 1 < L; k++) {
        long its;
        double e;
        int conv;
        eps = eps_l[k];
        if ((rc = iterate(&x, &xy, &yx, &xx, &yy, &pt, eps, fmax(o->tol, 1e-2), 100, &its, &e,
                          &conv, NULL)))
          goto done_w;
        res->stage_iterations += its;
        if (report(&x, 1)) {
          rc = OT_ECANCELED;
          goto done_w;
        }
      }
      eps = o->entreg;
    } else {
      for (size_t k = 0; k < L; k++) {
        eps = eps_l[k];
        if ((rc = cross_both(&x, &xy, &yx, g_ab, f_ba, eps, ft, gt, f_ba, g_ab)))
          goto done_w;
        if (debiased && ((rc = self_one(&x, &xx, f_aa, eps, fa, f_aa)) ||
                         (rc = self_one(&x, &yy, g_bb, eps, gb, g_bb))))
          goto done_w;
        for (size_t i = 0; i < n; i++) f_ba[i] = 0.5 * (f_ba[i] + ft[i]);
        for (size_t j = 0; j < m; j++) g_ab[j] = 0.5 * (g_ab[j] + gt[j]);
        if (debiased) {
          for (size_t i = 0; i < n; i++) f_aa[i] = 0.5 * (f_aa[i] + fa[i]);
          for (size_t j = 0; j < m; j++) g_bb[j] = 0.5 * (g_bb[j] + gb[j]);
        }
        x.iter = (long)k + 1;
        x.obj = NAN;
        if (report(&x, 1)) {
          rc = OT_ECANCELED;
          goto done_w;
        }
      }
    }
    res->stages = (long)L;
  }

  if (o->mode == OT_OTDD_OUTER_COMPAT) {
    /* The final undamped update of all four, the cross pair from the previous pair. */
    memcpy(ft, f_ba, n * sizeof(double));
    memcpy(gt, g_ab, m * sizeof(double));
    if ((rc = cross_both(&x, &xy, &yx, gt, ft, eps, f_ba, g_ab, ft, gt)))
      goto done_w;
    if (out->f_ba_prev) memcpy(out->f_ba_prev, ft, n * sizeof(double));
    if (out->g_ab_prev) memcpy(out->g_ab_prev, gt, m * sizeof(double));
    if (debiased) {
      memcpy(fa, f_aa, n * sizeof(double));
      memcpy(gb, g_bb, m * sizeof(double));
      if ((rc = self_one(&x, &xx, fa, eps, f_aa, fa)) || (rc = self_one(&x, &yy, gb, eps, g_bb, gb)))
        goto done_w;
      if (out->f_aa_prev) memcpy(out->f_aa_prev, fa, n * sizeof(double));
      if (out->g_bb_prev) memcpy(out->g_bb_prev, gb, m * sizeof(double));
    }
    /* marginal error of the cross plan (f_ba, g_ab): column sums, via one more pass */
    if ((rc = softmin_cols(&x, &xy, &yx, f_ba, eps, gt, g_ab))) goto done_w;
    res->err = marg_err(wb, g_ab, gt, m, eps);
    res->iterations = (long)L + 1;
    res->status = OT_OTDD_CONVERGED;
  } else {
    long its;
    double e;
    int conv;
    eps = o->entreg;
    if (o->exact_start && xy.dense && !warm) {
      /* start the cross problem from the exact duals (eps -> 0 limit) */
      ot_emd_problem pr;
      ot_emd_opts eo;
      ot_emd_result er;
      memset(&pr, 0, sizeof pr);
      pr.n = n; pr.m = m; pr.a = wa; pr.b = wb; pr.C = ot_mat_view(xy.dense, n, m);
      ot_emd_opts_init(&eo);
      if ((rc = ot_emd_solve(&pr, &eo, NULL, NULL, NULL, f_ba, g_ab, &er))) goto done_w;
    }
    if ((rc = iterate(&x, &xy, &yx, &xx, &yy, &pt, eps, o->tol, o->max_iter, &its, &e, &conv,
                      out)))
      goto done_w;
    res->iterations = its;
    res->err = e;
    res->status = isnan(e) ? OT_OTDD_NUMERIC : conv ? OT_OTDD_CONVERGED : OT_OTDD_MAX_ITER;
  }

  res->ot_ab = wdot(wa, f_ba, n) + wdot(wb, g_ab, m);
  if (debiased) {
    res->ot_aa = 2.0 * wdot(wa, f_aa, n);
    res->ot_bb = 2.0 * wdot(wb, g_bb, m);
    res->value = wdot(wa, f_ba, n) - wdot(wa, f_aa, n) + wdot(wb, g_ab, m) - wdot(wb, g_bb, m);
  } else {
    res->value = res->ot_ab;
  }
  if (!isfinite(res->value)) {
    res->status = OT_OTDD_NUMERIC;
    res->value = NAN;
  }
  if (out->f_ba) memcpy(out->f_ba, f_ba, n * sizeof(double));
  if (out->g_ab) memcpy(out->g_ab, g_ab, m * sizeof(double));
  if (debiased && out->f_aa) memcpy(out->f_aa, f_aa, n * sizeof(double));
  if (debiased && out->g_bb) memcpy(out->g_bb, g_bb, m * sizeof(double));
  if (out->P.data && (rc = write_plan(&x, &xy, f_ba, g_ab, eps, out->P))) goto done_w;
  x.err = res->err;
  x.obj = res->value;
  if (report(&x, 1)) rc = OT_ECANCELED;

done_w:
  ot_free(W21);
  ot_free(Lc);
  ot_free(bscr);
  ot_free(cs1);
  ot_free(cs2);
done:
  ot_free(tpi);
  ot_free(tpj);
  ot_free(tmass);
  ot_free(Cexact);
  ot_free(dense);
  ot_free(x.ftile);
  ot_free(fstore);
  ot_free(x.hr);
  ot_free(x.hc);
  ot_free(x.bscr);
  ot_free(x.bfscr);
  ot_free(x.clsacc);
  ot_free(buf);
  ot_free(tcs[0].base);
  for (int t = 0; t < 3; t++) {
    ot_free(tcs[t].off);
  }
  res->time = ot_clock() - t0;
  return rc;
}

/* dst[perm[k]] = src[k] for k < n (src NULL: nothing). */
static void unpermute(double *dst, const double *src, const size_t *perm, size_t n) {
  if (dst && src)
    for (size_t k = 0; k < n; k++) dst[perm[k]] = src[k];
}

/* Stable order of the rows by class: perm[k] = the original row at sorted position k. */
static int class_order(size_t **perm, const int *c, size_t n, size_t C) {
  size_t *cnt = NULL;
  int rc;
  if ((rc = ot_malloc(n * sizeof **perm, perm))) return rc;
  if ((rc = ot_calloc((C + 1) * sizeof *cnt, &cnt))) {
    ot_free(*perm);
    *perm = NULL;
    return rc;
  }
  for (size_t i = 0; i < n; i++) cnt[c[i] + 1]++;
  for (size_t k = 0; k < C; k++) cnt[k + 1] += cnt[k];
  for (size_t i = 0; i < n; i++) (*perm)[cnt[c[i]]++] = i;
  ot_free(cnt);
  return OT_OK;
}

/*
 * The entropic plan of the original (unsorted) problem from its potentials:
 * P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps), row tiles recomputed online.
 */
static int plan_online(const ot_otdd_problem *p, const ot_otdd_outer_opts *o, const double *f,
                       const double *g, ot_mat P) {
  size_t n = p->X1.rows, m = p->X2.rows, C1 = 0, C2 = 0;
  double *buf = NULL;
  float *fstore = NULL;
  int rc;
  for (size_t i = 0; i < n; i++) C1 = (size_t)p->c1[i] + 1 > C1 ? (size_t)p->c1[i] + 1 : C1;
  for (size_t j = 0; j < m; j++) C2 = (size_t)p->c2[j] + 1 > C2 ? (size_t)p->c2[j] + 1 : C2;
  if ((rc = ot_alloc_doubles(2 * (n + m), 1, &buf))) goto done;
  size_t tr = TILE_DOUBLES / m;
  if (tr < 16) tr = 16;
  if (tr > n) tr = n;
  side A = {p->X1, p->c1, n, NULL, buf, buf + n, NULL, 0, NULL};
  side B = {p->X2, p->c2, m, NULL, buf + 2 * n, buf + 2 * n + m, NULL, 0, NULL};
  double *wa = buf, *wb = buf + 2 * n;
  for (size_t i = 0; i < n; i++) wa[i] = p->a ? p->a[i] : 1.0 / (double)n;
  for (size_t j = 0; j < m; j++) wb[j] = p->b ? p->b[j] : 1.0 / (double)m;
  A.w = wa;
  B.w = wb;
  A.sq = buf + n;
  B.sq = buf + 2 * n + m;
  ot_cost_sqnorms(A.sq, A.X);
  ot_cost_sqnorms(B.sq, B.X);
  ctx x;
  memset(&x, 0, sizeof x);
  x.lx = o->lambda_x;
  x.ly = o->lambda_y;
  x.tile_rows = tr;
  blk b = {&A, &B, p->W12, NULL, NULL};
  if (o->single && o->lambda_x != 0.0 && (rc = make_single(&x, &A, &B, 0, m, &fstore)))
    goto done_x;
  rc = write_plan(&x, &b, f, g, o->entreg, P);
done_x:
  ot_free(x.ftile);
  ot_free(fstore);
done:
  ot_free(buf);
  return rc;
}

int ot_otdd_outer(const ot_otdd_problem *p, const ot_otdd_outer_opts *o, ot_otdd_outputs *out,
                  ot_otdd_outer_result *res) {
  ot_otdd_outer_opts def;
  size_t n = p->X1.rows, m = p->X2.rows, d = p->X1.cols;
  if (!o) {
    ot_otdd_outer_opts_init(&def);
    o = &def;
  }
  if (o->mode != OT_OTDD_OUTER_SINKHORN || n == 0 || m == 0 || d == 0 || !p->c1 || !p->c2 ||
      p->X2.cols != d || (is_sorted(p->c1, n) && is_sorted(p->c2, m)))
    return outer_impl(p, o, out, res);
  for (size_t i = 0; i < n; i++)
    if (p->c1[i] < 0) return OT_EINVAL;
  for (size_t j = 0; j < m; j++)
    if (p->c2[j] < 0) return OT_EINVAL;
  if (out && out->P.data && (out->P.rows != n || out->P.cols != m)) return OT_ESHAPE;

  /* Sort both sides by class (copies), solve, put the potentials back in order. */
  size_t C1 = 0, C2 = 0, *pa = NULL, *pb = NULL;
  double *buf = NULL;
  int *cc = NULL, rc;
  for (size_t i = 0; i < n; i++) C1 = (size_t)p->c1[i] + 1 > C1 ? (size_t)p->c1[i] + 1 : C1;
  for (size_t j = 0; j < m; j++) C2 = (size_t)p->c2[j] + 1 > C2 ? (size_t)p->c2[j] + 1 : C2;
  if ((rc = class_order(&pa, p->c1, n, C1)) || (rc = class_order(&pb, p->c2, m, C2))) goto done;
  size_t nd, md;
  if ((rc = ot_mem_size(n, d, 1, &nd)) || (rc = ot_mem_size(m, d, 1, &md))) goto done;
  /* X1', X2', a', b', 8 potentials (outputs) and 4 warm starts */
  if ((rc = ot_alloc_doubles(nd + md + 7 * n + 7 * m, 1, &buf))) goto done;
  if ((rc = ot_malloc((n + m) * sizeof *cc, &cc))) goto done;
  double *X1 = buf, *X2 = X1 + nd, *a = X2 + md, *b = a + n, *q = b + m;
  for (size_t k = 0; k < n; k++) {
    memcpy(X1 + k * d, p->X1.data + pa[k] * p->X1.ld, d * sizeof(double));
    cc[k] = p->c1[pa[k]];
    a[k] = p->a ? p->a[pa[k]] : 1.0 / (double)n;
  }
  for (size_t k = 0; k < m; k++) {
    memcpy(X2 + k * d, p->X2.data + pb[k] * p->X2.ld, d * sizeof(double));
    cc[n + k] = p->c2[pb[k]];
    b[k] = p->b ? p->b[pb[k]] : 1.0 / (double)m;
  }
  ot_otdd_problem ps = {ot_mat_view(X1, n, d), cc, a, ot_mat_view(X2, m, d), cc + n, b,
                        p->W12, p->W11, p->W22};
  ot_otdd_outputs os;
  memset(&os, 0, sizeof os);
  os.f_ba = q; q += n;
  os.g_ab = q; q += m;
  os.f_aa = q; q += n;
  os.g_bb = q; q += m;
  os.f_ba_prev = q; q += n;
  os.g_ab_prev = q; q += m;
  os.f_aa_prev = q; q += n;
  os.g_bb_prev = q; q += m;
  ot_otdd_outer_opts oc = *o;
  const double *w0[4] = {o->f_ba0, o->g_ab0, o->f_aa0, o->g_bb0};
  const double **wd[4] = {&oc.f_ba0, &oc.g_ab0, &oc.f_aa0, &oc.g_bb0};
  for (int t = 0; t < 4; t++) {
    size_t len = t % 2 ? m : n;
    const size_t *perm = t % 2 ? pb : pa;
    if (w0[t]) {
      for (size_t k = 0; k < len; k++) q[k] = w0[t][perm[k]];
      *wd[t] = q;
    }
    q += len;
  }
  rc = outer_impl(&ps, &oc, &os, res);
  if (rc || !out) goto done;
  unpermute(out->f_ba, os.f_ba, pa, n);
  unpermute(out->g_ab, os.g_ab, pb, m);
  unpermute(out->f_ba_prev, os.f_ba_prev, pa, n);
  unpermute(out->g_ab_prev, os.g_ab_prev, pb, m);
  if (o->debiased) {
    unpermute(out->f_aa, os.f_aa, pa, n);
    unpermute(out->g_bb, os.g_bb, pb, m);
    unpermute(out->f_aa_prev, os.f_aa_prev, pa, n);
    unpermute(out->g_bb_prev, os.g_bb_prev, pb, m);
  }
  if (out->P.data) {
    /* from the sorted potentials put back in order */
    double *f = X1, *g = X2; /* reuse the copies' room (n >= n, m >= m when d >= 1) */
    unpermute(f, os.f_ba, pa, n);
    unpermute(g, os.g_ab, pb, m);
    rc = plan_online(p, o, f, g, out->P);
  }
done:
  ot_free(pa);
  ot_free(pb);
  ot_free(buf);
  ot_free(cc);
  return rc;
}

/* ---- barycentric map ----------------------------------------------------- */

int ot_otdd_barycentric(ot_mat T, double *softmin_out, ot_mat X1, const int *c1, ot_mat X2,
                        const int *c2, const double *b, const double *g, ot_mat W,
                        double lambda_x, double lambda_y, double eps) {
  size_t n = X1.rows, m = X2.rows, d = X1.cols;
  double *buf = NULL, *tile = NULL;
  int rc = OT_OK;
  if (X2.cols != d || T.rows != n || T.cols != d) return OT_ESHAPE;
  if (!c1 || !c2 || !g || !(eps > 0.0) || !(lambda_x >= 0.0) || !(lambda_y >= 0.0))
    return OT_EINVAL;
  if (n == 0 || m == 0) return OT_EINVAL;
  if (lambda_y != 0.0 && !W.data) return OT_ESHAPE;
  side A = {X1, c1, n, NULL, NULL, NULL, NULL, 0, NULL}, B = {X2, c2, m, NULL, NULL, NULL, NULL, 0, NULL};
  ctx x;
  memset(&x, 0, sizeof x);
  x.lx = lambda_x;
  x.ly = lambda_y;
  size_t tr = TILE_DOUBLES / m;
  if (tr < 16) tr = 16;
  if (tr > n) tr = n;
  if ((rc = ot_alloc_doubles(n + 2 * m, 1, &buf))) goto done;
  if ((rc = ot_alloc_doubles(tr, m, &tile))) goto done;
  A.sq = buf;
  B.sq = buf + n;
  double *h = buf + n + m;
  ot_cost_sqnorms(A.sq, X1);
  ot_cost_sqnorms(B.sq, X2);
  for (size_t j = 0; j < m; j++) h[j] = g[j] + eps * log(b ? b[j] : 1.0 / (double)m);
  blk bk = {&A, &B, W, NULL, NULL};
  for (size_t i0 = 0; i0 < n; i0 += tr) {
    size_t ni = n - i0 < tr ? n - i0 : tr;
    if ((rc = cost_rows(&x, &bk, i0, ni, tile))) goto done;
#pragma omp parallel for schedule(static)
    for (size_t ii = 0; ii < ni; ii++) {
      double *t = tile + ii * m, big = -INFINITY;
      for (size_t j = 0; j < m; j++) {
        t[j] = (h[j] - t[j]) / eps;
        big = t[j] > big ? t[j] : big;
      }
      for (size_t j = 0; j < m; j++) t[j] -= big;
      ot_vexp(t, t, m);
      double s = 0.0;
      for (size_t j = 0; j < m; j++) s += t[j];
      for (size_t j = 0; j < m; j++) t[j] /= s;
      if (softmin_out) softmin_out[i0 + ii] = -eps * (big + log(s));
    }
    if ((rc = ot_gemm(ot_mat_block(T, i0, 0, ni, d), 1.0, ot_mat_view(tile, ni, m), 0, X2, 0,
                      0.0)))
      goto done;
  }
done:
  ot_free(buf);
  ot_free(tile);
  return rc;
}

/* ---- all three steps ------------------------------------------------------ */

int ot_otdd_distance(double *value, const ot_otdd_stats *A, const ot_otdd_stats *B,
                     const ot_otdd_label_opts *lo, const ot_otdd_outer_opts *oo,
                     ot_mat W12, ot_mat W11, ot_mat W22, ot_otdd_outputs *out,
                     ot_otdd_outer_result *res) {
  ot_otdd_outer_opts odef;
  ot_otdd_outer_result rdef;
  double *w12 = NULL, *w11 = NULL, *w22 = NULL, *X1 = NULL, *X2 = NULL;
  int *c1 = NULL, *c2 = NULL;
  int rc = OT_OK;
  if (!oo) {
    ot_otdd_outer_opts_init(&odef);
    oo = &odef;
  }
  if (!res) res = &rdef;
  *value = NAN;
  if (!A || !B || !A->index || !B->index || !A->X.data || !B->X.data) return OT_EINVAL;
  if (A->d != B->d) return OT_ESHAPE;
  size_t C1 = A->nclass, C2 = B->nclass, d = A->d;
  const int debiased = oo->debiased && oo->mode != OT_OTDD_OUTER_EXACT;
  if (W12.data && (W12.rows != C1 || W12.cols != C2)) return OT_ESHAPE;
  if (W11.data && (W11.rows != C1 || W11.cols != C1)) return OT_ESHAPE;
  if (W22.data && (W22.rows != C2 || W22.cols != C2)) return OT_ESHAPE;
  if (!W12.data) {
    if ((rc = ot_alloc_doubles(C1, C2, &w12))) goto done;
    W12 = ot_mat_view(w12, C1, C2);
  }
  if (debiased && !W11.data) {
    if ((rc = ot_alloc_doubles(C1, C1, &w11))) goto done;
    W11 = ot_mat_view(w11, C1, C1);
  }
  if (debiased && !W22.data) {
    if ((rc = ot_alloc_doubles(C2, C2, &w22))) goto done;
    W22 = ot_mat_view(w22, C2, C2);
  }
  if ((rc = ot_otdd_label_distances(W12, A, B, lo))) goto done;
  if (debiased) {
    if ((rc = ot_otdd_label_distances(W11, A, A, lo))) goto done;
    if ((rc = ot_otdd_label_distances(W22, B, B, lo))) goto done;
  }
  /* Rows of kept classes (copies only when some were dropped). */
  ot_mat M1 = A->X, M2 = B->X;
  const int *k1 = A->index, *k2 = B->index;
  for (int s = 0; s < 2; s++) {
    const ot_otdd_stats *S = s ? B : A;
    if (S->n_kept == S->n) continue;
    double **Xs = s ? &X2 : &X1;
    int **cs = s ? &c2 : &c1;
    if ((rc = ot_alloc_doubles(S->n_kept, d, Xs))) goto done;
    if ((rc = ot_malloc(S->n_kept * sizeof(int), cs))) goto done;
    size_t r = 0;
    for (size_t i = 0; i < S->n; i++) {
      if (S->index[i] < 0) continue;
      memcpy(*Xs + r * d, S->X.data + i * S->X.ld, d * sizeof(double));
      (*cs)[r++] = S->index[i];
    }
    if (s) {
      M2 = ot_mat_view(X2, S->n_kept, d);
      k2 = c2;
    } else {
      M1 = ot_mat_view(X1, S->n_kept, d);
      k1 = c1;
    }
  }
  ot_otdd_problem pr = {M1, k1, NULL, M2, k2, NULL, W12, W11, W22};
  rc = ot_otdd_outer(&pr, oo, out, res);
  if (!rc) *value = res->value;
done:
  ot_free(w12);
  ot_free(w11);
  ot_free(w22);
  ot_free(X1);
  ot_free(X2);
  ot_free(c1);
  ot_free(c2);
  return rc;
}
