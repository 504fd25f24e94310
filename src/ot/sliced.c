/*
 * sliced.c -- sliced Wasserstein distance and exact 1-D OT by sorting
 * (see sliced.h).
 *
 * Along one direction theta the two clouds become weighted sets of reals;
 * their W_p^p is the integral of |F^-1(t) - G^-1(t)|^p over t (Villani,
 * "Topics in Optimal Transportation", 2003, thm 2.18; Peyre and Cuturi,
 * "Computational Optimal Transport", 2019, remark 2.30), computed by
 * sorting both sets and walking the two cumulative weight sequences
 * together: each step pairs the current x and y over the overlap of their
 * quantile intervals.  O((n + m) log(n + m)) per direction.
 *
 * Directions are independent: they run on OpenMP threads, each with its
 * own sort buffers; no BLAS call is made (so no BLAS thread pool competes
 * for the cores).  Projections are plain dot products, cheap next to the
 * sort.
 */
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "sliced.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Directions per progress report grow until a block takes this long (the
 * doubling can overshoot to twice it; Ctrl-C must answer within 20 ms). */
#define BLOCK_SECONDS 0.005
/* (points x directions) under which a block is not worth threads. */
#define PAR_MIN_WORK 20000.0

typedef struct vw {
  double v, w; /* value and weight */
} vw;

/* Below this many elements a partition is finished by insertion sort. */
#define SORT_SMALL 16

static void insertion_sort(vw *a, size_t n) {
  for (size_t i = 1; i < n; i++) {
    vw t = a[i];
    size_t j = i;
    for (; j > 0 && a[j - 1].v > t.v; j--) a[j] = a[j - 1];
    a[j] = t;
  }
}

/*
 * Sort by value, ascending: quicksort with a median-of-three pivot and
 * Hoare's partition (equal keys split evenly, so ties cost nothing
 * extra), recursing into the smaller side (stack depth <= log2 n).  About
 * 3x faster than qsort's comparator calls on projected data.  Values are
 * finite (validated by the callers).
 */
static void sort_vw(vw *a, size_t n) {
  while (n > SORT_SMALL) {
    size_t mid = n / 2;
    /* order a[0], a[mid], a[n-1]; the median becomes the pivot */
    if (a[mid].v < a[0].v) { vw t = a[mid]; a[mid] = a[0]; a[0] = t; }
    if (a[n - 1].v < a[0].v) { vw t = a[n - 1]; a[n - 1] = a[0]; a[0] = t; }
    if (a[n - 1].v < a[mid].v) { vw t = a[n - 1]; a[n - 1] = a[mid]; a[mid] = t; }
    double pivot = a[mid].v;
    size_t i = 0, j = n - 1;
    for (;;) {
      while (a[i].v < pivot) i++;
      while (a[j].v > pivot) j--;
      if (i >= j) break;
      vw t = a[i];
      a[i] = a[j];
      a[j] = t;
      i++;
      j--;
    }
    size_t left = j + 1; /* a[0..j] <= pivot <= a[j+1..n) */
    if (left < n - left) {
      sort_vw(a, left);
      a += left;
      n -= left;
    } else {
      sort_vw(a + left, n - left);
      n = left;
    }
  }
  insertion_sort(a, n);
}

void ot_sliced_opts_init(ot_sliced_opts *opts) {
  memset(opts, 0, sizeof *opts);
  opts->n_projections = 50;
  opts->p = 2.0;
}

static double powp(double t, double p) {
  return p == 2.0 ? t * t : p == 1.0 ? t : pow(t, p);
}

/*
 * W_p^p between the sorted weighted sets xs (n) and ys (m): walk the
 * cumulative weights ca, cb; the pair (i, j) carries the mass between the
 * previous breakpoint and min(ca, cb).  Totals that differ by rounding
 * leave a sliver unpaired at the end, which is ignored.
 */
static double w1d_sorted(const vw *xs, size_t n, const vw *ys, size_t m, double p) {
  size_t i = 0, j = 0;
  double ca = xs[0].w, cb = ys[0].w, prev = 0.0, cost = 0.0;
  for (;;) {
    double t = ca < cb ? ca : cb;
    if (t > prev) cost += (t - prev) * powp(fabs(xs[i].v - ys[j].v), p);
    if (t > prev) prev = t;
    int adv_i = ca <= t, adv_j = cb <= t;
    if (adv_i) {
      if (++i == n) break;
      ca += xs[i].w;
    }
    if (adv_j) {
      if (++j == m) break;
      cb += ys[j].w;
    }
  }
  return cost;
}

int ot_sliced_wasserstein_1d(double *out, const double *x, const double *a, size_t n,
                             const double *y, const double *b, size_t m, double p) {
  vw *buf = NULL;
  int rc;
  if (n == 0 || m == 0 || !(p > 0.0) || isinf(p)) return OT_EINVAL;
  size_t bytes;
  if ((rc = ot_mem_size(n + m, 1, sizeof *buf, &bytes))) return rc;
  if ((rc = ot_malloc(bytes, &buf))) return rc;
  for (size_t i = 0; i < n; i++) buf[i] = (vw){x[i], a ? a[i] : 1.0 / (double)n};
  for (size_t j = 0; j < m; j++) buf[n + j] = (vw){y[j], b ? b[j] : 1.0 / (double)m};
  sort_vw(buf, n);
  sort_vw(buf + n, m);
  *out = w1d_sorted(buf, n, buf + n, m, p);
  ot_free(buf);
  return OT_OK;
}

/* W_p^p along direction k of dirs (d x K): project, sort, merge.  buf
 * holds n + m pairs. */
static double one_direction(ot_mat X, const double *a, ot_mat Y, const double *b,
                            const double *dirs, size_t K, size_t k, double p, vw *buf) {
  size_t n = X.rows, m = Y.rows, d = X.cols;
  for (size_t i = 0; i < n; i++) {
    const double *x = X.data + i * X.ld;
    double s = 0.0;
    for (size_t c = 0; c < d; c++) s += x[c] * dirs[c * K + k];
    buf[i] = (vw){s, a ? a[i] : 1.0 / (double)n};
  }
  for (size_t j = 0; j < m; j++) {
    const double *y = Y.data + j * Y.ld;
    double s = 0.0;
    for (size_t c = 0; c < d; c++) s += y[c] * dirs[c * K + k];
    buf[n + j] = (vw){s, b ? b[j] : 1.0 / (double)m};
  }
  sort_vw(buf, n);
  sort_vw(buf + n, m);
  return w1d_sorted(buf, n, buf + n, m, p);
}

/* K random unit directions into the columns of dirs (d x K): d normals
 * per direction, normalised (a zero draw, probability 0, is redrawn). */
static void draw_directions(double *dirs, size_t d, size_t K, ot_rng *rng) {
  for (size_t k = 0; k < K; k++) {
    double s;
    do {
      s = 0.0;
      for (size_t c = 0; c < d; c++) {
        double z = ot_rng_normal(rng);
        dirs[c * K + k] = z;
        s += z * z;
      }
    } while (!(s > 0.0));
    s = 1.0 / sqrt(s);
    for (size_t c = 0; c < d; c++) dirs[c * K + k] *= s;
  }
}

/*
 * The estimate from the first k values: mean or max of W_p^p, then the
 * p-th root.
 */
static double estimate(const double *per, size_t k, int max, double p) {
  double s = 0.0;
  for (size_t i = 0; i < k; i++) s = max ? fmax(s, per[i]) : s + per[i];
  if (!max && k) s /= (double)k;
  return pow(s, 1.0 / p);
}

int ot_sliced_distance(double *out, ot_mat X, const double *a, ot_mat Y, const double *b,
                       ot_mat theta, double *per_proj, double *dirs, const ot_sliced_opts *opts) {
  size_t n = X.rows, m = Y.rows, d = X.cols;
  size_t K = theta.data ? theta.cols : opts->n_projections;
  double *own_dirs = NULL, *own_per = NULL;
  vw *bufs = NULL;
  int rc = OT_OK, nthreads = 1;
  if (Y.cols != d || (theta.data && theta.rows != d)) return OT_ESHAPE;
  if (n == 0 || m == 0 || d == 0 || K == 0 || !(opts->p > 0.0) || isinf(opts->p))
    return OT_EINVAL;
  if (!theta.data && !opts->rng) return OT_EINVAL;
#ifdef _OPENMP
  nthreads = omp_get_max_threads();
  if (nthreads < 1) nthreads = 1;
#endif
  size_t bytes;
  if (!dirs) {
    if ((rc = ot_alloc_doubles(d, K, &own_dirs))) goto done;
    dirs = own_dirs;
  }
  if (!per_proj) {
    if ((rc = ot_alloc_doubles(K, 1, &own_per))) goto done;
    per_proj = own_per;
  }
  if ((rc = ot_mem_size(n + m, (size_t)nthreads, sizeof *bufs, &bytes))) goto done;
  if ((rc = ot_malloc(bytes, &bufs))) goto done;
  if (theta.data) {
    for (size_t c = 0; c < d; c++)
      for (size_t k = 0; k < K; k++) dirs[c * K + k] = OT_AT(theta, c, k);
  } else {
    draw_directions(dirs, d, K, opts->rng);
  }
  double t0 = ot_clock();
  size_t block = (size_t)nthreads;
  for (size_t k0 = 0; k0 < K;) {
    size_t k1 = K - k0 < block ? K : k0 + block;
    double tb = ot_clock();
    long nb = (long)(k1 - k0);
    int parallel = nthreads > 1 && nb > 1 && (double)(n + m) * (double)nb > PAR_MIN_WORK;
    (void)parallel;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
#endif
    for (long r = 0; r < nb; r++) {
      int tid = 0;
#ifdef _OPENMP
      tid = omp_get_thread_num();
#endif
      size_t k = k0 + (size_t)r;
      per_proj[k] = one_direction(X, a, Y, b, dirs, K, k, opts->p, bufs + (size_t)tid * (n + m));
    }
    k0 = k1;
    double now = ot_clock();
    if (now - tb < BLOCK_SECONDS && block < K) block *= 2; /* fewer, larger blocks */
    if (opts->progress) {
      ot_progress pr = {"sliced", (long)k0, (long)K, 0.0, estimate(per_proj, k0, opts->max, opts->p),
                        now - t0, NULL};
      if (opts->progress(opts->progress_ud, &pr)) {
        rc = OT_ECANCELED;
        goto done;
      }
    }
  }
  *out = estimate(per_proj, K, opts->max, opts->p);
done:
  ot_free(bufs);
  ot_free(own_per);
  ot_free(own_dirs);
  return rc;
}
