/*
 * cost.h -- pairwise cost matrices between point clouds, and the
 * barycentric projection of a transport plan.
 *
 * Points are the rows of row-major views: X is n x d, Y is m x d (same d).
 * The cost matrix C is n x m with C[i][j] = c(x_i, y_j) for one metric:
 *
 *   OT_METRIC_SQEUCLIDEAN  ||x - y||^2, computed as ||x||^2 + ||y||^2 - 2 <x, y>
 *                          with one GEMM per tile of rows, clamped at 0 (the
 *                          formula may round to tiny negatives; the diagonal
 *                          of C(X, X) is >= 0 but not necessarily exactly 0)
 *   OT_METRIC_EUCLIDEAN    ||x - y||, the square root of the above
 *   OT_METRIC_CITYBLOCK    sum_k |x_k - y_k|
 *   OT_METRIC_COSINE       1 - <x, y> / (||x|| ||y||), clamped to [0, 2];
 *                          a zero vector has no direction: OT_EINVAL (the
 *                          caller can locate it with ot_cost_first_zero_row)
 *   OT_METRIC_MINKOWSKI    (sum_k |x_k - y_k|^p)^(1/p) for p >= 1;
 *                          p = INFINITY gives max_k |x_k - y_k| (Chebyshev)
 *
 * Inputs are trusted to be finite (the bindings validate them once).
 * Status codes: OT_ESHAPE (dimensions or output shape), OT_EINVAL (bad
 * metric or p, zero vector for cosine, bad row range), OT_EBUDGET/OT_ENOMEM
 * (scratch), OT_ECANCELED (progress callback asked to stop).
 *
 * Threads: by default the GEMM runs on OpenBLAS's threads and the other
 * row loops on OpenMP, one after the other (never nested).  A caller that
 * is itself inside an OpenMP parallel region (an online solver computing
 * its own tiles) sets opts.serial = 1: then no BLAS call and no OpenMP
 * region is made (sqeuclidean uses the difference form sum (x_k - y_k)^2).
 */
#ifndef OT_COST_H
#define OT_COST_H

#include "mat.h"
#include "ot.h"

enum {
  OT_METRIC_SQEUCLIDEAN = 0,
  OT_METRIC_EUCLIDEAN,
  OT_METRIC_CITYBLOCK,
  OT_METRIC_COSINE,
  OT_METRIC_MINKOWSKI,
  OT_METRIC_COUNT
};

typedef struct ot_cost_opts {
  int metric;               /* OT_METRIC_*; default OT_METRIC_SQEUCLIDEAN */
  double p;                 /* Minkowski exponent, >= 1 or INFINITY; default 2 */
  size_t tile_rows;         /* rows per tile in ot_cost_matrix; 0 (default) = automatic:
                               128 rows, fewer (down to 16) when m > 8192 */
  int serial;               /* 1: no BLAS and no OpenMP (safe inside a parallel region);
                               default 0 */
  ot_progress_fn progress;  /* called between tiles of ot_cost_matrix (iter = rows done,
                               max_iter = n); NULL = none */
  void *progress_ud;
} ot_cost_opts;

/* Defaults: sqeuclidean, p = 2, automatic tiles, threaded, no progress. */
void ot_cost_opts_init(ot_cost_opts *opts);

/*
 * Metric names as POT/scipy spell them: "sqeuclidean", "euclidean",
 * "cityblock", "cosine", "minkowski"; also "chebyshev" (sets *metric to
 * OT_METRIC_MINKOWSKI and *p to INFINITY; p may be NULL otherwise).
 * OT_EINVAL for an unknown name.
 */
int ot_cost_metric_parse(const char *name, int *metric, double *p);
/* The name of a metric code ("?" for a bad code). */
const char *ot_cost_metric_name(int metric);

/* out[i] = ||X_i||^2 for the X.rows rows of X (out holds X.rows doubles). */
void ot_cost_sqnorms(double *out, ot_mat X);
/* The index of the first all-zero row of X, or X.rows when there is none. */
size_t ot_cost_first_zero_row(ot_mat X);

/*
 * The cost between two points x and y of dimension d, in the exact
 * difference form (no cancellation: c(x, x) = 0 exactly).  For solvers that
 * evaluate costs on the fly from coordinates.  `opts` gives metric and p
 * (NULL = sqeuclidean); a zero vector under cosine gives NaN.
 */
double ot_cost_pair(const double *x, const double *y, size_t d, const ot_cost_opts *opts);

/*
 * C = the full n x m cost matrix between the rows of X (n x d) and Y
 * (m x d), in tiles of rows so the GEMM output stays in cache while the
 * norms are added; the progress callback runs between tiles.  C is
 * written in place (any ld >= m) and must not overlap X or Y.  opts NULL
 * = defaults.  Scratch: m + tile doubles from ot_malloc.
 */
int ot_cost_matrix(ot_mat C, ot_mat X, ot_mat Y, const ot_cost_opts *opts);

/*
 * Rows [i0, i1) of the cost matrix between X and Y into C, which is
 * (i1 - i0) x m: C[r][j] = c(X[i0 + r], Y[j]).  For matrix-free solvers
 * that stream the cost a block of rows at a time.  ynorm2, when not NULL,
 * holds ||Y_j||^2 for the m rows of Y (ot_cost_sqnorms): pass it to avoid
 * recomputing it on every call (used by sqeuclidean, euclidean and
 * cosine; ignored otherwise).  No progress calls.  OT_EINVAL when
 * i0 > i1 or i1 > X.rows.  With opts->serial = 1 this function allocates
 * nothing and can run concurrently on disjoint outputs.
 */
int ot_cost_rows(ot_mat C, ot_mat X, ot_mat Y, size_t i0, size_t i1, const ot_cost_opts *opts,
                 const double *ynorm2);

/*
 * Barycentric projection of a transport plan onto target points Y (m x d):
 *
 *     T_i = sum_j P_ij Y_j / sum_j P_ij        (T is n x d)
 *
 * the image of source point i under the plan's barycentric map (Ferradans
 * et al., "Regularized discrete optimal transport", SIAM J. Imaging Sci.
 * 2014, eq. 13).  A row of P with zero total mass has no image: when X
 * (n x d, source points) is given (X.data != NULL), T_i = X_i (the point
 * stays where it is); otherwise OT_EINVAL and *bad_row = i (0-based; may be
 * NULL).  Entries of P are trusted to be finite and >= 0.
 *
 * ot_barycentric_dense takes P as an n x m matrix (one GEMM, T = P Y, then
 * each row divided by its mass).  ot_barycentric_sparse takes the plan as a
 * k x 3 matrix of triplets (i, j, mass) whose indices count from `base`
 * (0 or 1; the Lua face uses 1); T has n rows, where n is T.rows.  Indices
 * must be integers within range (OT_EINVAL, *bad_row = the offending
 * triplet's row); repeated (i, j) pairs add up.
 * T must not overlap P, Y or X.  Scratch: n doubles.
 */
int ot_barycentric_dense(ot_mat T, ot_mat P, ot_mat Y, ot_mat X, size_t *bad_row);
int ot_barycentric_sparse(ot_mat T, ot_mat triplets, int base, ot_mat Y, ot_mat X,
                          size_t *bad_row);

#endif
