/*
 * linalg.h -- the BLAS/LAPACK wrappers.  linalg.c is the only file of otlab
 * that includes cblas.h or lapacke.h; everything else calls these.
 *
 * All matrices are row-major ot_mat views.  Shapes are checked and give
 * OT_ESHAPE; LAPACK failures give OT_ELAPACK.
 */
#ifndef OT_LINALG_H
#define OT_LINALG_H

#include "mat.h"

/* C = alpha * op(A) * op(B) + beta * C, op = transpose when ta/tb != 0. */
int ot_gemm(ot_mat C, double alpha, ot_mat A, int ta, ot_mat B, int tb, double beta);
/* y = alpha * op(A) * x + beta * y; x and y are vectors (n x 1 or 1 x n). */
int ot_gemv(ot_mat y, double alpha, ot_mat A, int ta, ot_mat x, double beta);
/* Dot product of two contiguous vectors of length n. */
double ot_dot(size_t n, const double *x, const double *y);

/*
 * Symmetric eigendecomposition of the n x n matrix A (lower triangle read).
 * w (n values, ascending) and, when V is non-NULL-data, the eigenvectors as
 * the columns of V (n x n).  A is not modified.  Scratch from ot_malloc.
 */
int ot_eigh(ot_mat w, ot_mat V, ot_mat A);
/* Cholesky factor: L (n x n, lower, upper part zeroed) with A = L L^T.
 * OT_ELAPACK when A is not positive definite. */
int ot_cholesky(ot_mat L, ot_mat A);
/* Solve A X = B for square A (copies; A and B unchanged). */
int ot_solve(ot_mat X, ot_mat A, ot_mat B);

/* Number of threads OpenBLAS uses; set_threads(n <= 0) leaves it. */
int ot_blas_threads(void);
void ot_blas_set_threads(int n);
/* Short description of the BLAS build (e.g. "OpenBLAS 0.3.21 ... Haswell"). */
const char *ot_blas_info(void);

#endif
