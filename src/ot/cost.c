/*
 * cost.c -- pairwise cost matrices (see cost.h) and the barycentric
 * projection of a plan.
 *
 * Three evaluation paths share one set of metric definitions:
 *   - GEMM path (sqeuclidean, euclidean, cosine): one dgemm per tile of rows
 *     writes -2 X Y^T (or X Y^T) straight into the output, then a fused pass
 *     over the tile, still in cache, adds the squared norms and clamps;
 *   - transposed path (cityblock, minkowski): Y is transposed once into a
 *     d x m scratch so the innermost loop runs along j over contiguous
 *     memory and vectorises; rows are split over OpenMP threads;
 *   - direct path (opts.serial): a plain loop over pairs, no allocation, no
 *     BLAS, no OpenMP, for callers already inside a parallel region.
 */
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "cost.h"
#include "linalg.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Work (multiply-adds) under which a loop is not worth an OpenMP region. */
#define PAR_MIN_WORK 200000.0

/* Rows per tile: 128 keeps the GEMM efficient for any d (fewer rows cost
 * up to 2.5x at d = 784, measured) while the tile stays in the last-level
 * cache for the pass that adds the norms; at most TILE_DOUBLES doubles of
 * output per tile for very wide outputs, never under TILE_MIN_ROWS rows. */
#define TILE_ROWS 128
#define TILE_DOUBLES (1u << 20)
#define TILE_MIN_ROWS 16

/* Pace of progress reports from ot_cost_matrix (seconds). */
#define PROGRESS_EVERY 0.02

void ot_cost_opts_init(ot_cost_opts *opts) {
  memset(opts, 0, sizeof *opts);
  opts->metric = OT_METRIC_SQEUCLIDEAN;
  opts->p = 2.0;
}

static const char *const metric_names[OT_METRIC_COUNT] = {
  "sqeuclidean", "euclidean", "cityblock", "cosine", "minkowski"
};

int ot_cost_metric_parse(const char *name, int *metric, double *p) {
  if (!name) return OT_EINVAL;
  for (int k = 0; k < OT_METRIC_COUNT; k++)
    if (strcmp(name, metric_names[k]) == 0) {
      *metric = k;
      return OT_OK;
    }
  if (strcmp(name, "chebyshev") == 0) {
    *metric = OT_METRIC_MINKOWSKI;
    if (p) *p = INFINITY;
    return OT_OK;
  }
  return OT_EINVAL;
}

const char *ot_cost_metric_name(int metric) {
  return metric >= 0 && metric < OT_METRIC_COUNT ? metric_names[metric] : "?";
}

void ot_cost_sqnorms(double *out, ot_mat X) {
  for (size_t i = 0; i < X.rows; i++) {
    const double *x = X.data + i * X.ld;
    double s = 0.0;
    for (size_t k = 0; k < X.cols; k++) s += x[k] * x[k];
    out[i] = s;
  }
}

size_t ot_cost_first_zero_row(ot_mat X) {
  for (size_t i = 0; i < X.rows; i++) {
    const double *x = X.data + i * X.ld;
    size_t k = 0;
    while (k < X.cols && x[k] == 0.0) k++;
    if (k == X.cols) return i;
  }
  return X.rows;
}

/* Validate metric and p; OT_EINVAL when unusable. */
static int check_metric(int metric, double p) {
  if (metric < 0 || metric >= OT_METRIC_COUNT) return OT_EINVAL;
  if (metric == OT_METRIC_MINKOWSKI && !(p >= 1.0)) return OT_EINVAL; /* also rejects NaN */
  return OT_OK;
}

double ot_cost_pair(const double *x, const double *y, size_t d, const ot_cost_opts *opts) {
  int metric = opts ? opts->metric : OT_METRIC_SQEUCLIDEAN;
  double p = opts ? opts->p : 2.0, s = 0.0;
  switch (metric) {
  case OT_METRIC_SQEUCLIDEAN:
  case OT_METRIC_EUCLIDEAN:
    for (size_t k = 0; k < d; k++) s += (x[k] - y[k]) * (x[k] - y[k]);
    return metric == OT_METRIC_EUCLIDEAN ? sqrt(s) : s;
  case OT_METRIC_CITYBLOCK:
    for (size_t k = 0; k < d; k++) s += fabs(x[k] - y[k]);
    return s;
  case OT_METRIC_COSINE: {
    double xx = 0.0, yy = 0.0;
    for (size_t k = 0; k < d; k++) {
      s += x[k] * y[k];
      xx += x[k] * x[k];
      yy += y[k] * y[k];
    }
    if (xx == 0.0 || yy == 0.0) return NAN;
    double c = 1.0 - s / (sqrt(xx) * sqrt(yy));
    return c < 0.0 ? 0.0 : c > 2.0 ? 2.0 : c;
  }
  case OT_METRIC_MINKOWSKI:
    if (isinf(p)) {
      for (size_t k = 0; k < d; k++) s = fmax(s, fabs(x[k] - y[k]));
      return s;
    }
    if (p == 1.0) {
      for (size_t k = 0; k < d; k++) s += fabs(x[k] - y[k]);
      return s;
    }
    for (size_t k = 0; k < d; k++) s += pow(fabs(x[k] - y[k]), p);
    return pow(s, 1.0 / p);
  default:
    return NAN;
  }
}

/* Direct path: rows [i0, i1) of X against all of Y, pair by pair. */
static void rows_direct(ot_mat C, ot_mat X, ot_mat Y, size_t i0, size_t i1,
                        const ot_cost_opts *o) {
  for (size_t i = i0; i < i1; i++) {
    double *c = C.data + (i - i0) * C.ld;
    const double *x = X.data + i * X.ld;
    for (size_t j = 0; j < Y.rows; j++) c[j] = ot_cost_pair(x, Y.data + j * Y.ld, X.cols, o);
  }
}

/* Columns per chunk of the transposed path: the chunk of the output row
 * stays in L1 while the d coordinates stream past it. */
#define CHUNK 512

/* GCC on x86-64 Linux: an AVX2 clone of the row kernels, chosen at load
 * time on CPUs that have it (the build targets baseline x86-64).  Not
 * under ASan, whose instrumentation does not mix with ifunc resolvers. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__)
#define COST_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define COST_CLONES
#endif

/* `#pragma omp simd` asks for vector code even at -O2 (the loops are
 * free of dependences across j). */
#ifdef _OPENMP
#define SIMD _Pragma("omp simd")
#else
#define SIMD
#endif

/*
 * c[j] = sqrt(c[j]) for m values >= 0.  libm's sqrt must set errno for
 * negative arguments, which keeps GCC from vectorising a plain loop; on
 * x86-64 the SSE2 instruction (part of the baseline) does two at a time.
 */
static void sqrt_row(double *restrict c, size_t m) {
  size_t j = 0;
#if defined(__x86_64__) && defined(__SSE2__)
  for (; j + 2 <= m; j += 2) _mm_storeu_pd(c + j, _mm_sqrt_pd(_mm_loadu_pd(c + j)));
#endif
  for (; j < m; j++) c[j] = sqrt(c[j]);
}

/*
 * One output row of the transposed path, c[j] = cost(x, Y_j) for j < m:
 * Yt is Y^T (d x m, contiguous).  Chunks of CHUNK columns accumulate over
 * the d coordinates with the inner loop along j.
 */
COST_CLONES
static void row_transposed(double *restrict c, const double *restrict x, const double *restrict Yt,
                           size_t m, size_t d, int kind, double p) {
  for (size_t j0 = 0; j0 < m; j0 += CHUNK) {
    size_t len = m - j0 < CHUNK ? m - j0 : CHUNK;
    double *restrict cc = c + j0;
    SIMD
    for (size_t j = 0; j < len; j++) cc[j] = 0.0;
    for (size_t k = 0; k < d; k++) {
      const double xk = x[k];
      const double *restrict yk = Yt + k * m + j0;
      switch (kind) {
      case 1:
        SIMD
        for (size_t j = 0; j < len; j++) cc[j] += fabs(xk - yk[j]);
        break;
      case 2:
        SIMD
        for (size_t j = 0; j < len; j++) cc[j] += (xk - yk[j]) * (xk - yk[j]);
        break;
      case 3:
        SIMD
        for (size_t j = 0; j < len; j++) {
          double t = fabs(xk - yk[j]);
          cc[j] = t > cc[j] ? t : cc[j]; /* inputs are finite: no NaN rule needed */
        }
        break;
      default:
        for (size_t j = 0; j < len; j++) cc[j] += pow(fabs(xk - yk[j]), p);
        break;
      }
    }
    if (kind == 2) {
      sqrt_row(cc, len);
    } else if (kind == 0) {
      for (size_t j = 0; j < len; j++) cc[j] = pow(cc[j], 1.0 / p);
    }
  }
}

/*
 * Transposed path for cityblock and Minkowski, rows [i0, i1) over OpenMP
 * threads.  kind: 1 = L1, 2 = L2 (Minkowski p = 2), 3 = Chebyshev, 0 =
 * general p.
 */
static void rows_transposed(ot_mat C, ot_mat X, const double *Yt, size_t m, size_t i0,
                            size_t i1, int metric, double p, int parallel) {
  size_t d = X.cols;
  long nr = (long)(i1 - i0);
  int inf = isinf(p), l1 = metric == OT_METRIC_CITYBLOCK || (!inf && p == 1.0);
  int kind = l1 ? 1 : inf ? 3 : p == 2.0 ? 2 : 0;
  (void)parallel;
#ifdef _OPENMP /* dynamic: a core taken by another process must not stall the others */
#pragma omp parallel for schedule(dynamic, 4) if (parallel)
#endif
  for (long r = 0; r < nr; r++)
    row_transposed(C.data + (size_t)r * C.ld, X.data + (i0 + (size_t)r) * X.ld, Yt, m, d, kind, p);
}

/*
 * The pass after the GEMM over one output row c (m entries): add the
 * squared norms and clamp (sqeuclidean, then sqrt for euclidean), or
 * normalise and clamp (cosine: c holds <x, y_j>, xi = 1 / ||x||, yinv[j]
 * = 1 / ||y_j||, or yn[j] = ||y_j||^2 when yinv is NULL).
 */
COST_CLONES
static void gemm_epilogue(double *restrict c, size_t m, int metric, double xn, double xi,
                          const double *restrict yn, const double *restrict yinv) {
  if (metric == OT_METRIC_COSINE) {
    if (yinv) {
      SIMD
      for (size_t j = 0; j < m; j++) {
        double v = 1.0 - c[j] * xi * yinv[j];
        v = v < 0.0 ? 0.0 : v;
        c[j] = v > 2.0 ? 2.0 : v;
      }
    } else {
      for (size_t j = 0; j < m; j++) {
        double v = 1.0 - c[j] * xi / sqrt(yn[j]);
        v = v < 0.0 ? 0.0 : v;
        c[j] = v > 2.0 ? 2.0 : v;
      }
    }
    return;
  }
  SIMD
  for (size_t j = 0; j < m; j++) {
    double v = c[j] + xn + yn[j];
    c[j] = v > 0.0 ? v : 0.0;
  }
  if (metric == OT_METRIC_EUCLIDEAN) sqrt_row(c, m);
}

/*
 * GEMM path for rows [i0, i1): C (i1 - i0 rows) gets -2 X Y^T (or X Y^T
 * for cosine) from one dgemm, then the norms.  yn holds ||Y_j||^2; for
 * cosine, yinv (when not NULL) holds 1 / ||Y_j|| to save the divisions.
 */
static int rows_gemm(ot_mat C, ot_mat X, ot_mat Y, size_t i0, size_t i1, int metric,
                     const double *yn, const double *yinv) {
  size_t m = Y.rows, d = X.cols;
  long nr = (long)(i1 - i0);
  ot_mat Xb = ot_mat_block(X, i0, 0, i1 - i0, d);
  int rc = ot_gemm(C, metric == OT_METRIC_COSINE ? 1.0 : -2.0, Xb, 0, Y, 1, 0.0);
  if (rc) return rc;
  /* The pass over the tile is serial on purpose: OpenBLAS's workers keep
   * spinning (sched_yield) for a while after each call, and OpenMP threads
   * started now would fight them for the cores (measured: 5-20x slower on
   * two cores).  The tile is in cache, so this pass is cheap next to the GEMM. */
  for (long r = 0; r < nr; r++) {
    const double *x = Xb.data + (size_t)r * Xb.ld;
    double xn = 0.0;
    for (size_t k = 0; k < d; k++) xn += x[k] * x[k];
    gemm_epilogue(C.data + (size_t)r * C.ld, m, metric, xn, 1.0 / sqrt(xn), yn, yinv);
  }
  return OT_OK;
}

static int uses_gemm(int metric) {
  return metric == OT_METRIC_SQEUCLIDEAN || metric == OT_METRIC_EUCLIDEAN ||
         metric == OT_METRIC_COSINE;
}

/* Common shape and argument checks of ot_cost_matrix / ot_cost_rows. */
static int check_args(ot_mat C, ot_mat X, ot_mat Y, size_t i0, size_t i1,
                      const ot_cost_opts *o) {
  if (X.cols != Y.cols) return OT_ESHAPE;
  if (i0 > i1 || i1 > X.rows) return OT_EINVAL;
  if (C.rows != i1 - i0 || C.cols != Y.rows) return OT_ESHAPE;
  return check_metric(o->metric, o->p);
}

/* Cosine needs a direction for every point involved. */
static int check_cosine(ot_mat X, ot_mat Y, size_t i0, size_t i1, const double *yn) {
  ot_mat Xb = ot_mat_block(X, i0, 0, i1 - i0, X.cols);
  if (ot_cost_first_zero_row(Xb) < Xb.rows) return OT_EINVAL;
  if (yn) {
    for (size_t j = 0; j < Y.rows; j++)
      if (yn[j] == 0.0) return OT_EINVAL;
  } else if (ot_cost_first_zero_row(Y) < Y.rows) {
    return OT_EINVAL;
  }
  return OT_OK;
}

/* Yt = Y^T as a contiguous d x m array. */
static void transpose_into(double *Yt, ot_mat Y) {
  size_t m = Y.rows, d = Y.cols;
  for (size_t j = 0; j < m; j++)
    for (size_t k = 0; k < d; k++) Yt[k * m + j] = OT_AT(Y, j, k);
}

int ot_cost_rows(ot_mat C, ot_mat X, ot_mat Y, size_t i0, size_t i1, const ot_cost_opts *opts,
                 const double *ynorm2) {
  ot_cost_opts def;
  if (!opts) {
    ot_cost_opts_init(&def);
    opts = &def;
  }
  int rc = check_args(C, X, Y, i0, i1, opts);
  if (rc) return rc;
  size_t m = Y.rows, d = X.cols;
  double *scratch = NULL;
  if (i0 == i1 || m == 0) return OT_OK;
  if (opts->metric == OT_METRIC_COSINE && (rc = check_cosine(X, Y, i0, i1, ynorm2))) return rc;
  if (opts->serial || d == 0) {
    rows_direct(C, X, Y, i0, i1, opts);
    return OT_OK;
  }
  int parallel = (double)(i1 - i0) * (double)m * (double)d > PAR_MIN_WORK;
  if (uses_gemm(opts->metric)) {
    const double *yn = ynorm2;
    if (!yn) {
      if ((rc = ot_alloc_doubles(m, 1, &scratch))) return rc;
      ot_cost_sqnorms(scratch, Y);
      yn = scratch;
    }
    rc = rows_gemm(C, X, Y, i0, i1, opts->metric, yn, NULL);
  } else {
    if ((rc = ot_alloc_doubles(d, m, &scratch))) return rc;
    transpose_into(scratch, Y);
    rows_transposed(C, X, scratch, m, i0, i1, opts->metric, opts->p, parallel);
  }
  ot_free(scratch);
  return rc;
}

/*
 * The full matrix, a tile of rows at a time.  Scratch: the norms of Y
 * (and their inverses for cosine) on the GEMM path, Y^T on the transposed
 * path.  Progress is reported between tiles, at most every PROGRESS_EVERY
 * seconds; a non-zero answer stops with OT_ECANCELED (C partly written).
 */
int ot_cost_matrix(ot_mat C, ot_mat X, ot_mat Y, const ot_cost_opts *opts) {
  ot_cost_opts def;
  if (!opts) {
    ot_cost_opts_init(&def);
    opts = &def;
  }
  int rc = check_args(C, X, Y, 0, X.rows, opts);
  if (rc) return rc;
  size_t n = X.rows, m = Y.rows, d = X.cols;
  double *yn = NULL, *yt = NULL;
  if (n == 0 || m == 0) return OT_OK;
  if (opts->metric == OT_METRIC_COSINE && (rc = check_cosine(X, Y, 0, n, NULL))) return rc;
  int gemm = uses_gemm(opts->metric) && !opts->serial && d > 0;
  int direct = opts->serial || d == 0;
  if (gemm) {
    int cos = opts->metric == OT_METRIC_COSINE;
    if ((rc = ot_alloc_doubles(cos ? 2 * m : m, 1, &yn))) goto done;
    ot_cost_sqnorms(yn, Y);
    if (cos)
      for (size_t j = 0; j < m; j++) yn[m + j] = 1.0 / sqrt(yn[j]);
  } else if (!direct) {
    if ((rc = ot_alloc_doubles(d, m, &yt))) goto done;
    transpose_into(yt, Y);
  }
  size_t tile = opts->tile_rows;
  if (tile == 0) {
    tile = TILE_DOUBLES / m;
    if (tile > TILE_ROWS) tile = TILE_ROWS;
    if (tile < TILE_MIN_ROWS) tile = TILE_MIN_ROWS;
  }
  double t0 = ot_clock(), last = t0;
  for (size_t i0 = 0; i0 < n; i0 += tile) {
    size_t i1 = n - i0 < tile ? n : i0 + tile;
    ot_mat Cb = ot_mat_block(C, i0, 0, i1 - i0, m);
    int parallel = !opts->serial && (double)(i1 - i0) * (double)m * (double)d > PAR_MIN_WORK;
    if (direct)
      rows_direct(Cb, X, Y, i0, i1, opts);
    else if (gemm)
      rc = rows_gemm(Cb, X, Y, i0, i1, opts->metric, yn,
                     opts->metric == OT_METRIC_COSINE ? yn + m : NULL);
    else
      rows_transposed(Cb, X, yt, m, i0, i1, opts->metric, opts->p, parallel);
    if (rc) goto done;
    double now = ot_clock();
    if (opts->progress && (now - last >= PROGRESS_EVERY || i1 == n)) {
      ot_progress pr = {"dist", (long)i1, (long)n, 0.0, NAN, now - t0, NULL};
      last = now;
      if (opts->progress(opts->progress_ud, &pr)) {
        rc = OT_ECANCELED;
        goto done;
      }
    }
  }
done:
  ot_free(yn);
  ot_free(yt);
  return rc;
}

/* Shared end of the barycentric projections: divide each row of T by
 * its mass, or fall back on X for massless rows. */
static int finish_projection(ot_mat T, const double *mass, ot_mat X, size_t *bad_row) {
  for (size_t i = 0; i < T.rows; i++) {
    double *t = T.data + i * T.ld;
    if (mass[i] > 0.0) {
      double inv = 1.0 / mass[i];
      for (size_t k = 0; k < T.cols; k++) t[k] *= inv;
    } else if (X.data) {
      memcpy(t, X.data + i * X.ld, T.cols * sizeof *t);
    } else {
      if (bad_row) *bad_row = i;
      return OT_EINVAL;
    }
  }
  return OT_OK;
}

/*
 * Dense plan: masses first (so a massless row without X fails before any
 * work), then T = P Y in one GEMM, then the division.
 */
int ot_barycentric_dense(ot_mat T, ot_mat P, ot_mat Y, ot_mat X, size_t *bad_row) {
  size_t n = P.rows, m = P.cols, d = Y.cols;
  double *mass = NULL;
  int rc;
  if (Y.rows != m || T.rows != n || T.cols != d) return OT_ESHAPE;
  if (X.data && (X.rows != n || X.cols != d)) return OT_ESHAPE;
  if ((rc = ot_alloc_doubles(n, 1, &mass))) return rc;
  for (size_t i = 0; i < n; i++) {
    const double *p = P.data + i * P.ld;
    double s = 0.0;
    for (size_t j = 0; j < m; j++) s += p[j];
    mass[i] = s;
    if (!(s > 0.0) && !X.data) {
      if (bad_row) *bad_row = i;
      rc = OT_EINVAL;
      goto done;
    }
  }
  if ((rc = ot_gemm(T, 1.0, P, 0, Y, 0, 0.0))) goto done;
  rc = finish_projection(T, mass, X, bad_row);
done:
  ot_free(mass);
  return rc;
}

/*
 * Sparse plan: every triplet is validated before T is touched, then the
 * masses and the weighted sums accumulate in one pass.
 */
int ot_barycentric_sparse(ot_mat T, ot_mat triplets, int base, ot_mat Y, ot_mat X,
                          size_t *bad_row) {
  size_t n = T.rows, m = Y.rows, d = Y.cols, k = triplets.rows;
  double *mass = NULL;
  int rc;
  if (triplets.cols != 3 || T.cols != d) return OT_ESHAPE;
  if (X.data && (X.rows != n || X.cols != d)) return OT_ESHAPE;
  if (base != 0 && base != 1) return OT_EINVAL;
  for (size_t t = 0; t < k; t++) {
    double i = OT_AT(triplets, t, 0) - base, j = OT_AT(triplets, t, 1) - base;
    if (!(i >= 0 && i < (double)n && i == floor(i) && j >= 0 && j < (double)m && j == floor(j))) {
      if (bad_row) *bad_row = t;
      return OT_EINVAL;
    }
  }
  if ((rc = ot_calloc(n * sizeof *mass, &mass))) return rc;
  ot_mat_fill(T, 0.0);
  for (size_t t = 0; t < k; t++) {
    size_t i = (size_t)OT_AT(triplets, t, 0) - (size_t)base;
    size_t j = (size_t)OT_AT(triplets, t, 1) - (size_t)base;
    double w = OT_AT(triplets, t, 2);
    double *ti = T.data + i * T.ld;
    const double *yj = Y.data + j * Y.ld;
    for (size_t c = 0; c < d; c++) ti[c] += w * yj[c];
    mass[i] += w;
  }
  rc = finish_projection(T, mass, X, bad_row);
  ot_free(mass);
  return rc;
}
