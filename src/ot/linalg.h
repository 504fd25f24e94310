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
/*
 * Single precision C = alpha * A B^T (A: m x k, B: n x k, C: m x n; row
 * strides lda, ldb, ldc), for callers that trade accuracy for speed.
 */
int ot_sgemm_nt(float *C, size_t ldc, float alpha, const float *A, size_t lda, const float *B,
                size_t ldb, size_t m, size_t n, size_t k);
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

/*
 * Symmetric rank-k update, both triangles written:
 * C = alpha * A A^T + beta * C (trans = 0; A is n x k) or
 * C = alpha * A^T A + beta * C (trans != 0; A is k x n); C is n x n.
 */
int ot_syrk(ot_mat C, double alpha, ot_mat A, int trans, double beta);
/*
 * Thin SVD of the m x n matrix A = U diag(s) Vt, k = min(m, n): s (k values,
 * descending), U (m x k) and Vt (k x n), each optional (data NULL).  A is not
 * modified.  Scratch from ot_malloc; OT_ELAPACK when the SVD fails.
 */
int ot_svd(ot_mat s, ot_mat U, ot_mat Vt, ot_mat A);
/*
 * The triangular factor R of the QR factorization of the m x n matrix A:
 * R is min(m, n) x n, upper trapezoidal (zeros below the diagonal), with
 * A = Q R for some Q with orthonormal columns.  A is not modified.
 */
int ot_qr_r(ot_mat R, ot_mat A);

/* Number of threads OpenBLAS uses; set_threads(n <= 0) leaves it. */
int ot_blas_threads(void);
void ot_blas_set_threads(int n);
/* Short description of the BLAS build (e.g. "OpenBLAS 0.3.21 ... Haswell"). */
const char *ot_blas_info(void);

#endif
