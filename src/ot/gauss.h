/*
 * gauss.h -- optimal transport between Gaussians: the Bures-Wasserstein
 * distance, the linear Monge map, matrix square roots, and the empirical
 * estimates of means and covariances from samples.
 *
 * For N(m1, C1) and N(m2, C2) in R^d (Dowson and Landau 1982; Knott and
 * Smith 1984; Peyre and Cuturi, "Computational Optimal Transport", 2019,
 * remark 2.31):
 *
 *   W2^2 = ||m1 - m2||^2 + tr(C1 + C2 - 2 (C1^{1/2} C2 C1^{1/2})^{1/2})
 *
 * and the optimal map is T(x) = m2 + A (x - m1) = A x + b with
 *
 *   A = C1^{-1/2} (C1^{1/2} C2 C1^{1/2})^{1/2} C1^{-1/2},  b = m2 - A m1.
 *
 * Matrix functions go through the symmetric eigendecomposition
 * (ot_eigh, LAPACK dsyevd): C = V diag(l) V^T, f(C) = V diag(f(l)) V^T.
 * Covariances are read from their lower triangle and must be positive
 * semi-definite: eigenvalues in [-psd_tol * max|l|, 0) are rounding
 * residue and clamped to 0; a more negative one is an error (OT_EINVAL,
 * info->not_psd names the matrix).  For a singular C1 the map uses the
 * pseudo-inverse of C1^{1/2} (eigenvalues at or below d * DBL_EPSILON *
 * max l count as 0): A then acts on the range of C1 only, and maps
 * N(m1, C1) onto N(m2, P C2 P) where P projects on that range.
 *
 * Status codes: OT_ESHAPE (sizes), OT_EINVAL (not PSD), OT_ENUMERIC (finite
 * inputs so large that a result overflowed), OT_ELAPACK (the eigensolver
 * failed), OT_EBUDGET/OT_ENOMEM (scratch: a few d x d).
 */
#ifndef OT_GAUSS_H
#define OT_GAUSS_H

#include "mat.h"
#include "ot.h"

typedef struct ot_gauss_opts {
  double psd_tol;  /* relative PSD tolerance on eigenvalues; default 1e-10 */
} ot_gauss_opts;

/* What the matrix functions saw (may be NULL where accepted). */
typedef struct ot_gauss_info {
  int not_psd;     /* 0, or 1 / 2: C1 / C2 has an eigenvalue below -psd_tol * max|l| */
  double min_eig;  /* smallest eigenvalue of the offending (or last examined) matrix */
  int clamped;     /* eigenvalues clamped to 0 over the whole computation */
} ot_gauss_info;

/* Defaults: psd_tol = 1e-10. */
void ot_gauss_opts_init(ot_gauss_opts *opts);

/*
 * S = C^{1/2} (d x d) of the symmetric PSD matrix C; when Sinv.data is not
 * NULL also Sinv = the pseudo-inverse of S.  S and Sinv must not overlap C.
 * *clamped (may be NULL) gets the number of eigenvalues clamped to 0,
 * *min_eig (may be NULL) the smallest eigenvalue.  OT_EINVAL: not PSD.
 */
int ot_gauss_sqrtm(ot_mat S, ot_mat Sinv, ot_mat C, double psd_tol, int *clamped,
                   double *min_eig);

/*
 * Low-rank factor of the PSD matrix C (d x d): the first *rank rows of F
 * (d x d) hold sqrt(l_k) v_k^T for the eigenpairs (l_k, v_k) of C with l_k
 * above the rounding level d * DBL_EPSILON * max l (largest first), so
 * that F^T F = C up to that level; the other rows are left as they are.
 * PSD check, *clamped and *min_eig as ot_gauss_sqrtm.
 */
int ot_gauss_factor(ot_mat F, size_t *rank, ot_mat C, double psd_tol, int *clamped,
                    double *min_eig);

/*
 * *w2sq = the squared Bures-Wasserstein distance between N(m1, C1) and
 * N(m2, C2) (m1, m2: d doubles; C1, C2: d x d), clamped at 0 against
 * rounding.  opts NULL = defaults; info may be NULL.
 */
int ot_gauss_bures(double *w2sq, const double *m1, ot_mat C1, const double *m2, ot_mat C2,
                   const ot_gauss_opts *opts, ot_gauss_info *info);

/*
 * The Monge map between the two Gaussians: A (d x d, symmetric PSD) and
 * b (d doubles), T(x) = A x + b.  A must not overlap C1 or C2.
 */
int ot_gauss_map(ot_mat A, double *b, const double *m1, ot_mat C1, const double *m2, ot_mat C2,
                 const ot_gauss_opts *opts, ot_gauss_info *info);

/*
 * Empirical mean and covariance of the n samples in the rows of X (n x d)
 * with weights w (n values >= 0 with a positive sum; NULL = uniform):
 *
 *   mean = sum_i w_i x_i / sum w
 *   C    = sum_i w_i (x_i - mean)(x_i - mean)^T / sum w + reg I
 *
 * (the 1/n "biased" normalisation, as POT's OT_mapping_linear).  With
 * center = 0 the mean is taken as 0 (POT's bias=False): mean is set to 0
 * and C = sum w_i x_i x_i^T / sum w + reg I.  mean holds d doubles; C is
 * d x d.  One GEMM on a weighted, centred copy of X (scratch n x d).
 */
int ot_gauss_empirical(double *mean, ot_mat C, ot_mat X, const double *w, double reg,
                       int center);

#endif
