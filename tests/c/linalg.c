/*
 * tests/c/linalg.c -- the BLAS/LAPACK wrappers of src/ot/linalg.c.
 *
 * gemm and gemv are compared with plain triple loops on random sizes, with
 * every combination of transposes, on strided views (blocks of larger
 * buffers) as well as contiguous matrices.  eigh, cholesky and solve are
 * checked through their residuals: A V = V diag(w), L L^T = A, A X = B.
 * Tolerances are absolute on values of order one.
 */
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "linalg.h"
#include "mat.h"
#include "ot.h"
#include "rand.h"
#include "test.h"

static ot_rng rng;
static const double PI = 3.14159265358979323846;

/* A rows x cols view with `pad` spare columns per row, inside a fresh
 * poisoned (NaN) buffer; release it with ot_free(o.buf). */
typedef struct owned {
  double *buf;
  ot_mat m;
} owned;

static owned new_view(size_t rows, size_t cols, size_t pad) {
  owned o = {NULL, {0, 0, 0, NULL}};
  size_t ld = cols + pad;
  if (ot_alloc_doubles(rows + 1, ld + 1, &o.buf) != OT_OK) return o;
  for (size_t k = 0; k < (rows + 1) * (ld + 1); k++) o.buf[k] = NAN; /* poison the padding */
  o.m.rows = rows;
  o.m.cols = cols;
  o.m.ld = ld;
  o.m.data = o.buf + 1; /* not at the start of the buffer either */
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) OT_AT(o.m, i, j) = 2 * ot_rng_uniform(&rng) - 1;
  return o;
}

/* Element (i, j) of op(A). */
static double op_at(ot_mat A, int t, size_t i, size_t j) { return t ? OT_AT(A, j, i) : OT_AT(A, i, j); }

static void test_gemm(void) {
  int bad = 0, trials = 0;
  double worst = 0;
  for (int trial = 0; trial < 60; trial++) {
    size_t m = 1 + ot_rng_below(&rng, 17), n = 1 + ot_rng_below(&rng, 17), k = 1 + ot_rng_below(&rng, 17);
    int ta = trial & 1, tb = (trial >> 1) & 1;
    size_t pad = (trial >> 2) % 3; /* 0: contiguous, else strided views */
    owned A = ta ? new_view(k, m, pad) : new_view(m, k, pad);
    owned B = tb ? new_view(n, k, pad) : new_view(k, n, pad);
    owned C = new_view(m, n, pad);
    if (!A.buf || !B.buf || !C.buf) {
      bad++;
    } else {
      double alpha = 1.5, beta = trial % 5 == 0 ? 0.0 : -0.5;
      owned C0 = new_view(m, n, 0);
      ot_mat_copy(C0.m, C.m);
      if (ot_gemm(C.m, alpha, A.m, ta, B.m, tb, beta) != OT_OK) bad++;
      for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
          double s = 0;
          for (size_t l = 0; l < k; l++) s += op_at(A.m, ta, i, l) * op_at(B.m, tb, l, j);
          double want = alpha * s + (beta == 0.0 ? 0.0 : beta * OT_AT(C0.m, i, j));
          double err = fabs(OT_AT(C.m, i, j) - want);
          worst = err > worst ? err : worst;
        }
      /* the padding of C is still poisoned: nothing written outside */
      for (size_t i = 0; i < m; i++)
        for (size_t j = n; j < C.m.ld; j++) bad += !isnan(OT_AT(C.m, i, j));
      ot_free(C0.buf);
      trials++;
    }
    ot_free(A.buf);
    ot_free(B.buf);
    ot_free(C.buf);
  }
  CHECK("gemm ran on every trial", bad == 0 && trials == 60);
  CHECK_NEAR("gemm matches the triple loop (max abs error)", worst, 0.0, 1e-12);

  /* beta = 0 ignores NaN in C, as BLAS promises */
  double a[] = {1, 2, 3, 4}, c[] = {NAN, NAN, NAN, NAN};
  ot_mat A = ot_mat_view(a, 2, 2), C = ot_mat_view(c, 2, 2);
  CHECK("gemm A A^T", ot_gemm(C, 1.0, A, 0, A, 1, 0.0) == OT_OK && c[0] == 5 && c[1] == 11 && c[3] == 25);
  /* k = 0: C = beta C */
  double z[1], cc[] = {2, 4};
  ot_mat Z = ot_mat_view(z, 2, 0), Zt = ot_mat_view(z, 0, 1);
  CHECK("gemm k = 0", ot_gemm(ot_mat_view(cc, 2, 1), 1.0, Z, 0, Zt, 0, 0.5) == OT_OK && cc[0] == 1 && cc[1] == 2);
  /* shape errors */
  double d6[6];
  ot_mat B23 = ot_mat_view(d6, 2, 3);
  CHECK("gemm inner mismatch", ot_gemm(C, 1, B23, 1, A, 0, 0) == OT_ESHAPE);
  CHECK("gemm output mismatch", ot_gemm(C, 1, A, 0, B23, 0, 0) == OT_ESHAPE);
}

static void test_gemv(void) {
  double worst = 0;
  int bad = 0;
  for (int trial = 0; trial < 20; trial++) {
    size_t m = 1 + ot_rng_below(&rng, 13), n = 1 + ot_rng_below(&rng, 13);
    int ta = trial & 1;
    owned A = new_view(m, n, trial % 3);
    size_t xl = ta ? m : n, yl = ta ? n : m;
    /* x as a strided column of a matrix, y as a row */
    owned X = new_view(xl, 2, 1), Y = new_view(1, yl, 2);
    ot_mat x = ot_mat_block(X.m, 0, 1, xl, 1), y = Y.m;
    double y0[16];
    for (size_t i = 0; i < yl; i++) y0[i] = OT_AT(y, 0, i);
    if (ot_gemv(y, 2.0, A.m, ta, x, 1.0) != OT_OK) bad++;
    for (size_t i = 0; i < yl; i++) {
      double s = 0;
      for (size_t l = 0; l < xl; l++) s += op_at(A.m, ta, i, l) * OT_AT(x, l, 0);
      double err = fabs(OT_AT(y, 0, i) - (2.0 * s + y0[i]));
      worst = err > worst ? err : worst;
    }
    ot_free(A.buf);
    ot_free(X.buf);
    ot_free(Y.buf);
  }
  CHECK("gemv ok on every trial", bad == 0);
  CHECK_NEAR("gemv matches the loop (max abs error)", worst, 0.0, 1e-12);
  double a[6], x[2], y[3];
  CHECK("gemv shape", ot_gemv(ot_mat_view(y, 3, 1), 1, ot_mat_view(a, 2, 3), 0, ot_mat_view(x, 2, 1), 0) ==
                          OT_ESHAPE);
  CHECK("gemv non-vector", ot_gemv(ot_mat_view(y, 3, 1), 1, ot_mat_view(a, 3, 2), 0, ot_mat_view(a, 2, 2), 0) ==
                               OT_ESHAPE);
  double p[] = {1, 2, 3}, q[] = {4, 5, 6};
  CHECK("dot", ot_dot(3, p, q) == 32.0 && ot_dot(0, p, q) == 0.0);
}

static void test_eigh(void) {
  /* a known spectrum: tridiag(-1, 2, -1) of order n has eigenvalues
   * 2 - 2 cos(k pi / (n + 1)), k = 1..n */
  enum { N = 6 };
  double a[N * N] = {0}, w[N], v[N * N];
  ot_mat A = ot_mat_view(a, N, N), W = ot_mat_view(w, N, 1), V = ot_mat_view(v, N, N);
  for (int i = 0; i < N; i++) {
    OT_AT(A, i, i) = 2;
    if (i) OT_AT(A, i, i - 1) = OT_AT(A, i - 1, i) = -1;
  }
  CHECK("eigh ok", ot_eigh(W, V, A) == OT_OK);
  double werr = 0;
  for (int k = 0; k < N; k++) werr = fmax(werr, fabs(w[k] - (2 - 2 * cos((k + 1) * PI / (N + 1)))));
  CHECK_NEAR("eigenvalues ascending, closed form", werr, 0.0, 1e-13);
  double res = 0, orth = 0;
  for (int i = 0; i < N; i++)
    for (int k = 0; k < N; k++) {
      double av = 0, vv = 0;
      for (int l = 0; l < N; l++) {
        av += OT_AT(A, i, l) * OT_AT(V, l, k);
        vv += OT_AT(V, l, i) * OT_AT(V, l, k);
      }
      res = fmax(res, fabs(av - OT_AT(V, i, k) * w[k]));
      orth = fmax(orth, fabs(vv - (i == k)));
    }
  CHECK_NEAR("A V = V diag(w)", res, 0.0, 1e-13);
  CHECK_NEAR("V^T V = I", orth, 0.0, 1e-13);
  CHECK("A not modified", OT_AT(A, 0, 0) == 2 && OT_AT(A, 1, 0) == -1);
  ot_mat none = {0, 0, 0, NULL};
  double w2[N];
  CHECK("eigh values only", ot_eigh(ot_mat_view(w2, 1, N), none, A) == OT_OK && fabs(w2[N - 1] - w[N - 1]) < 1e-13);
  CHECK("eigh non-square", ot_eigh(W, V, ot_mat_view(a, 2, 3)) == OT_ESHAPE);
  CHECK("eigh w length", ot_eigh(ot_mat_view(w, N - 1, 1), V, A) == OT_ESHAPE);
}

static void test_cholesky_solve(void) {
  enum { N = 7 };
  /* A = R R^T + N I is symmetric positive definite */
  owned R = new_view(N, N, 0), Av = new_view(N, N, 2);
  ot_mat A = Av.m;
  ot_gemm(A, 1.0, R.m, 0, R.m, 1, 0.0);
  for (int i = 0; i < N; i++) OT_AT(A, i, i) += N;
  owned Lv = new_view(N, N, 1);
  CHECK("cholesky ok", ot_cholesky(Lv.m, A) == OT_OK);
  double res = 0, upper = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int l = 0; l < N; l++) s += OT_AT(Lv.m, i, l) * OT_AT(Lv.m, j, l);
      res = fmax(res, fabs(s - OT_AT(A, i, j)));
      if (j > i) upper = fmax(upper, fabs(OT_AT(Lv.m, i, j)));
    }
  CHECK_NEAR("L L^T = A", res, 0.0, 1e-12);
  CHECK("upper part zeroed", upper == 0.0);
  double np[] = {1, 2, 2, 1}, l2[4];
  CHECK("cholesky refuses an indefinite matrix", ot_cholesky(ot_mat_view(l2, 2, 2), ot_mat_view(np, 2, 2)) == OT_ELAPACK);
  CHECK("cholesky shape", ot_cholesky(ot_mat_view(l2, 2, 2), A) == OT_ESHAPE);

  owned B = new_view(N, 3, 1), X = new_view(N, 3, 2);
  CHECK("solve ok", ot_solve(X.m, A, B.m) == OT_OK);
  res = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < 3; j++) {
      double s = 0;
      for (int l = 0; l < N; l++) s += OT_AT(A, i, l) * OT_AT(X.m, l, j);
      res = fmax(res, fabs(s - OT_AT(B.m, i, j)));
    }
  CHECK_NEAR("A X = B residual", res, 0.0, 1e-12);
  double s1[] = {1, 2, 2, 4}, b1[2] = {1, 1}, x1[2];
  CHECK("solve singular", ot_solve(ot_mat_view(x1, 2, 1), ot_mat_view(s1, 2, 2), ot_mat_view(b1, 2, 1)) == OT_ELAPACK);
  CHECK("solve shape", ot_solve(X.m, A, ot_mat_view(b1, 2, 1)) == OT_ESHAPE);
  ot_free(R.buf);
  ot_free(Av.buf);
  ot_free(Lv.buf);
  ot_free(B.buf);
  ot_free(X.buf);
}

int main(void) {
  ot_rng_seed(&rng, 11);
  size_t before = ot_mem_used();
  test_gemm();
  test_gemv();
  test_eigh();
  test_cholesky_solve();
  CHECK("every scratch block released", ot_mem_used() == before);
  CHECK("blas info", ot_blas_info() != NULL && ot_blas_threads() >= 1);
  return test_report();
}
