/*
 * sliced.h -- the sliced Wasserstein distance (Rabin et al., "Wasserstein
 * barycenter and its application to texture mixing", SSVM 2011; Bonneel
 * et al., "Sliced and Radon Wasserstein barycenters of measures", JMIV
 * 2015) and the exact 1-D Wasserstein distance it is built on.
 *
 * For weighted point clouds mu = sum_i a_i delta(x_i) and nu = sum_j b_j
 * delta(y_j) in R^d and K unit directions theta_k:
 *
 *   SW_p(mu, nu) = ( (1/K) sum_k W_p^p(<theta_k, .>_# mu, <theta_k, .>_# nu) )^(1/p)
 *
 * which is POT's sliced_wasserstein_distance (a Monte-Carlo estimate of
 * the expectation over the uniform measure on the sphere).  The max
 * variant replaces the mean by the max over the directions (POT's
 * max_sliced_wasserstein_distance).  Each 1-D problem is solved exactly by
 * sorting and merging the two quantile functions.
 *
 * Directions are drawn from the caller's generator (normals normalised to
 * unit length, as POT does) or given by the caller.  The directions are
 * drawn before any parallel work, so the result depends only on the
 * generator's state, never on the number of threads.
 */
#ifndef OT_SLICED_H
#define OT_SLICED_H

#include "mat.h"
#include "ot.h"
#include "rand.h"

typedef struct ot_sliced_opts {
  size_t n_projections;     /* number of random directions K; default 50 */
  double p;                 /* exponent of the ground cost |x - y|^p, > 0; default 2 */
  int max;                  /* 1: max over directions instead of the mean; default 0 */
  ot_rng *rng;              /* generator for the directions (required when none are given) */
  ot_progress_fn progress;  /* called after each block of directions (iter = directions
                               done, max_iter = K, objective = running estimate); NULL = none */
  void *progress_ud;
} ot_sliced_opts;

/* Defaults as POT: 50 projections, p = 2, mean; no generator, no progress. */
void ot_sliced_opts_init(ot_sliced_opts *opts);

/*
 * W_p^p between two weighted sets of reals: x (n values, weights a) and y
 * (m values, weights b); a or b NULL = uniform 1/n, 1/m.  Weights are >= 0
 * and the two totals agree (the caller checks); the cost is the integral
 * over t in (0, total) of |F^-1(t) - G^-1(t)|^p with the quantile
 * functions of the (unnormalised) cumulative weights.  The values need not
 * be sorted.  Scratch: n + m index/value pairs.  Returns OT_OK,
 * OT_EINVAL (n or m is 0, or p <= 0), OT_EBUDGET/OT_ENOMEM.
 */
int ot_sliced_wasserstein_1d(double *out, const double *x, const double *a, size_t n,
                             const double *y, const double *b, size_t m, double p);

/*
 * The sliced distance between the rows of X (n x d, weights a) and Y
 * (m x d, weights b); a, b NULL = uniform.  theta: d x K directions in its
 * columns (POT's layout), or theta.data == NULL to draw opts->n_projections
 * random unit directions from opts->rng.  Given directions are used as
 * they are (not normalised).  per_proj, when not NULL, receives the K
 * values W_p^p along each direction; dirs, when not NULL, receives the
 * directions used (d x K, row-major).  *out = the distance.
 * Threads: OpenMP over directions (each thread sorts its own copies).
 * Status: OT_ESHAPE (dimensions), OT_EINVAL (empty sets, K = 0, p <= 0, no
 * generator), OT_EBUDGET/OT_ENOMEM, OT_ECANCELED.
 */
int ot_sliced_distance(double *out, ot_mat X, const double *a, ot_mat Y, const double *b,
                       ot_mat theta, double *per_proj, double *dirs, const ot_sliced_opts *opts);

#endif
