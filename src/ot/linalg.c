/*
 * linalg.c -- BLAS/LAPACK behind otlab's row-major views (see linalg.h).
 */
#include <cblas.h>
#include <lapacke.h>
#include <string.h>

#include "alloc.h"
#include "linalg.h"
#include "ot.h"

/* OpenBLAS extensions (declared in its cblas.h on Debian, repeated for others). */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
char *openblas_get_config(void);

static int is_vector(ot_mat v) { return v.rows == 1 || v.cols == 1; }
static size_t vec_len(ot_mat v) { return v.rows == 1 ? v.cols : v.rows; }
/* Stride between successive elements of a vector view. */
static size_t vec_inc(ot_mat v) { return v.rows == 1 ? 1 : v.ld; }

int ot_gemm(ot_mat C, double alpha, ot_mat A, int ta, ot_mat B, int tb, double beta) {
  size_t m = ta ? A.cols : A.rows, k = ta ? A.rows : A.cols;
  size_t kb = tb ? B.cols : B.rows, n = tb ? B.rows : B.cols;
  if (k != kb || C.rows != m || C.cols != n) return OT_ESHAPE;
  if (m == 0 || n == 0) return OT_OK;
  if (k == 0) { /* BLAS leaves C untouched for k = 0 only with beta = 1 */
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < n; j++) OT_AT(C, i, j) = beta == 0.0 ? 0.0 : beta * OT_AT(C, i, j);
    return OT_OK;
  }
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (int)m, (int)n, (int)k, alpha, A.data, (int)A.ld, B.data, (int)B.ld, beta, C.data,
              (int)C.ld);
  return OT_OK;
}

int ot_sgemm_nt(float *C, size_t ldc, float alpha, const float *A, size_t lda, const float *B,
                size_t ldb, size_t m, size_t n, size_t k) {
  if (m == 0 || n == 0) return OT_OK;
  if (ldc < n || lda < k || ldb < k) return OT_ESHAPE;
  if (k == 0) {
    for (size_t i = 0; i < m; i++) memset(C + i * ldc, 0, n * sizeof(float));
    return OT_OK;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, alpha, A, (int)lda,
              B, (int)ldb, 0.0f, C, (int)ldc);
  return OT_OK;
}

int ot_gemv(ot_mat y, double alpha, ot_mat A, int ta, ot_mat x, double beta) {
  size_t m = ta ? A.cols : A.rows, n = ta ? A.rows : A.cols;
  if (!is_vector(x) || !is_vector(y) || vec_len(x) != n || vec_len(y) != m) return OT_ESHAPE;
  if (m == 0) return OT_OK;
  if (n == 0) {
    for (size_t i = 0; i < m; i++) y.data[i * vec_inc(y)] *= beta;
    return OT_OK;
  }
  cblas_dgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)A.rows, (int)A.cols, alpha,
              A.data, (int)A.ld, x.data, (int)vec_inc(x), beta, y.data, (int)vec_inc(y));
  return OT_OK;
}

double ot_dot(size_t n, const double *x, const double *y) {
  return n ? cblas_ddot((int)n, x, 1, y, 1) : 0.0;
}

int ot_eigh(ot_mat w, ot_mat V, ot_mat A) {
  size_t n = A.rows;
  double *a = NULL;
  int rc;
  if (A.cols != n || !is_vector(w) || vec_len(w) != n) return OT_ESHAPE;
  if (V.data && (V.rows != n || V.cols != n)) return OT_ESHAPE;
  if (n == 0) return OT_OK;
  if ((rc = ot_alloc_doubles(n, n, &a))) goto done;
  ot_mat av = ot_mat_view(a, n, n);
  ot_mat_copy(av, A);
  double *wv = NULL;
  if ((rc = ot_alloc_doubles(n, 1, &wv))) goto done;
  lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, V.data ? 'V' : 'N', 'L', (lapack_int)n, a,
                                   (lapack_int)n, wv);
  if (info != 0) {
    rc = OT_ELAPACK;
  } else {
    for (size_t i = 0; i < n; i++) w.data[i * vec_inc(w)] = wv[i];
    if (V.data) ot_mat_copy(V, av);
  }
  ot_free(wv);
done:
  ot_free(a);
  return rc;
}

int ot_cholesky(ot_mat L, ot_mat A) {
  size_t n = A.rows;
  if (A.cols != n || L.rows != n || L.cols != n) return OT_ESHAPE;
  if (n == 0) return OT_OK;
  if (L.data != A.data) ot_mat_copy(L, A);
  lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)n, L.data, (lapack_int)L.ld);
  if (info != 0) return OT_ELAPACK;
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) OT_AT(L, i, j) = 0.0;
  return OT_OK;
}

int ot_solve(ot_mat X, ot_mat A, ot_mat B) {
  size_t n = A.rows;
  double *a = NULL;
  lapack_int *piv = NULL;
  int rc;
  if (A.cols != n || B.rows != n || X.rows != n || X.cols != B.cols) return OT_ESHAPE;
  if (n == 0 || B.cols == 0) return OT_OK;
  if ((rc = ot_alloc_doubles(n, n, &a))) goto done;
  if ((rc = ot_malloc(n * sizeof *piv, &piv))) goto done;
  ot_mat_copy(ot_mat_view(a, n, n), A);
  if (X.data != B.data) ot_mat_copy(X, B);
  if (LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, (lapack_int)B.cols, a, (lapack_int)n, piv,
                    X.data, (lapack_int)X.ld) != 0)
    rc = OT_ELAPACK;
done:
  ot_free(piv);
  ot_free(a);
  return rc;
}

int ot_syrk(ot_mat C, double alpha, ot_mat A, int trans, double beta) {
  size_t n = trans ? A.cols : A.rows, k = trans ? A.rows : A.cols;
  if (C.rows != n || C.cols != n) return OT_ESHAPE;
  if (n == 0) return OT_OK;
  if (k == 0) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) OT_AT(C, i, j) = beta == 0.0 ? 0.0 : beta * OT_AT(C, i, j);
    return OT_OK;
  }
  cblas_dsyrk(CblasRowMajor, CblasUpper, trans ? CblasTrans : CblasNoTrans, (int)n, (int)k, alpha,
              A.data, (int)A.ld, beta, C.data, (int)C.ld);
  for (size_t i = 1; i < n; i++) /* mirror the upper triangle */
    for (size_t j = 0; j < i; j++) OT_AT(C, i, j) = OT_AT(C, j, i);
  return OT_OK;
}

int ot_svd(ot_mat s, ot_mat U, ot_mat Vt, ot_mat A) {
  size_t m = A.rows, n = A.cols, k = m < n ? m : n;
  double *a = NULL, *u = NULL, *vt = NULL, *sv = NULL;
  int rc = OT_OK, vecs = U.data || Vt.data;
  if (s.data && (!is_vector(s) || vec_len(s) != k)) return OT_ESHAPE;
  if (U.data && (U.rows != m || U.cols != k)) return OT_ESHAPE;
  if (Vt.data && (Vt.rows != k || Vt.cols != n)) return OT_ESHAPE;
  if (k == 0) return OT_OK;
  if ((rc = ot_alloc_doubles(m, n, &a)) || (rc = ot_alloc_doubles(k, 1, &sv))) goto done;
  if (vecs && ((rc = ot_alloc_doubles(m, k, &u)) || (rc = ot_alloc_doubles(k, n, &vt)))) goto done;
  ot_mat_copy(ot_mat_view(a, m, n), A);
  if (LAPACKE_dgesdd(LAPACK_ROW_MAJOR, vecs ? 'S' : 'N', (lapack_int)m, (lapack_int)n, a,
                     (lapack_int)n, sv, u, (lapack_int)k, vt, (lapack_int)n) != 0) {
    rc = OT_ELAPACK;
    goto done;
  }
  if (s.data)
    for (size_t i = 0; i < k; i++) s.data[i * vec_inc(s)] = sv[i];
  if (U.data) ot_mat_copy(U, ot_mat_view(u, m, k));
  if (Vt.data) ot_mat_copy(Vt, ot_mat_view(vt, k, n));
done:
  ot_free(vt);
  ot_free(u);
  ot_free(sv);
  ot_free(a);
  return rc;
}

int ot_qr_r(ot_mat R, ot_mat A) {
  size_t m = A.rows, n = A.cols, k = m < n ? m : n;
  double *a = NULL, *tau = NULL;
  int rc = OT_OK;
  if (R.rows != k || R.cols != n) return OT_ESHAPE;
  if (k == 0) return OT_OK;
  if ((rc = ot_alloc_doubles(m, n, &a)) || (rc = ot_alloc_doubles(k, 1, &tau))) goto done;
  ot_mat_copy(ot_mat_view(a, m, n), A);
  if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)n, a, (lapack_int)n, tau) != 0) {
    rc = OT_ELAPACK;
    goto done;
  }
  for (size_t i = 0; i < k; i++)
    for (size_t j = 0; j < n; j++) OT_AT(R, i, j) = j >= i ? a[i * n + j] : 0.0;
done:
  ot_free(tau);
  ot_free(a);
  return rc;
}

int ot_blas_threads(void) { return openblas_get_num_threads(); }

void ot_blas_set_threads(int n) {
  if (n > 0) openblas_set_num_threads(n);
}

const char *ot_blas_info(void) { return openblas_get_config(); }
