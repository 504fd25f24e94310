/*
 * tests/c/gauss.c -- Bures-Wasserstein against closed forms (1-D,
 * commuting covariances, equal covariances), symmetry and the triangle
 * inequality, the Monge map pushing N(m1, C1) onto N(m2, C2)
 * (A C1 A^T = C2), matrix square roots, PSD clamping and the not-PSD
 * error, singular covariances, empirical moments.
 */
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "gauss.h"
#include "linalg.h"
#include "rand.h"
#include "test.h"

#define D 5

/* A random rotation (Gram-Schmidt on normals), d x d row-major. */
static void rotation(ot_rng *g, double *Q, size_t d) {
  for (size_t i = 0; i < d * d; i++) Q[i] = ot_rng_normal(g);
  for (size_t j = 0; j < d; j++) { /* columns */
    for (size_t p = 0; p < j; p++) {
      double s = 0.0;
      for (size_t i = 0; i < d; i++) s += Q[i * d + j] * Q[i * d + p];
      for (size_t i = 0; i < d; i++) Q[i * d + j] -= s * Q[i * d + p];
    }
    double nrm = 0.0;
    for (size_t i = 0; i < d; i++) nrm += Q[i * d + j] * Q[i * d + j];
    nrm = sqrt(nrm);
    for (size_t i = 0; i < d; i++) Q[i * d + j] /= nrm;
  }
}

/* C = Q diag(l) Q^T */
static void from_eig(double *C, const double *Q, const double *l, size_t d) {
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double s = 0.0;
      for (size_t k = 0; k < d; k++) s += Q[i * d + k] * l[k] * Q[j * d + k];
      C[i * d + j] = s;
    }
}

/* A random SPD matrix with eigenvalues in [0.1, 3]. */
static void random_spd(ot_rng *g, double *C, size_t d) {
  double Q[D * D], l[D];
  rotation(g, Q, d);
  for (size_t k = 0; k < d; k++) l[k] = 0.1 + 2.9 * ot_rng_uniform(g);
  from_eig(C, Q, l, d);
}

static double bures(const double *m1, double *C1, const double *m2, double *C2, size_t d,
                    int *rc) {
  double w = NAN;
  *rc = ot_gauss_bures(&w, m1, ot_mat_view(C1, d, d), m2, ot_mat_view(C2, d, d), NULL, NULL);
  return w;
}

static void test_closed_forms(void) {
  int rc;
  /* 1-D: (m1 - m2)^2 + (s1 - s2)^2 */
  double m1 = 1.0, v1 = 4.0, m2 = -0.5, v2 = 0.25;
  double w = bures(&m1, &v1, &m2, &v2, 1, &rc);
  CHECK("1-D status", rc == OT_OK);
  CHECK_NEAR("1-D closed form (1e-14)", w, 1.5 * 1.5 + 1.5 * 1.5, 1e-14);
  /* commuting covariances (same eigenvectors): sum (sqrt(a_k) - sqrt(b_k))^2 */
  ot_rng g;
  ot_rng_seed(&g, 17);
  for (int trial = 0; trial < 5; trial++) {
    double Q[D * D], a[D], b[D], C1[D * D], C2[D * D], mu1[D], mu2[D], want = 0.0;
    rotation(&g, Q, D);
    for (size_t k = 0; k < D; k++) {
      a[k] = 0.05 + 3 * ot_rng_uniform(&g);
      b[k] = 0.05 + 3 * ot_rng_uniform(&g);
      mu1[k] = ot_rng_normal(&g);
      mu2[k] = ot_rng_normal(&g);
      want += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]) + (sqrt(a[k]) - sqrt(b[k])) * (sqrt(a[k]) - sqrt(b[k]));
    }
    if (trial == 0) memset(Q, 0, sizeof Q), Q[0] = Q[6] = Q[12] = Q[18] = Q[24] = 1.0; /* diagonal */
    from_eig(C1, Q, a, D);
    from_eig(C2, Q, b, D);
    w = bures(mu1, C1, mu2, C2, D, &rc);
    CHECK("commuting status", rc == OT_OK);
    CHECK_NEAR("commuting covariances closed form (1e-12)", w, want, 1e-12);
    /* equal covariances: ||m1 - m2||^2 */
    double mm = 0.0;
    for (size_t k = 0; k < D; k++) mm += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]);
    w = bures(mu1, C1, mu2, C1, D, &rc);
    CHECK_NEAR("equal covariances: ||m1 - m2||^2 (1e-12)", w, mm, 1e-12);
    /* symmetry and self-distance */
    double C3[D * D];
    random_spd(&g, C3, D);
    double w12 = bures(mu1, C1, mu2, C3, D, &rc), w21 = bures(mu2, C3, mu1, C1, D, &rc);
    CHECK_NEAR("symmetry (1e-12)", w12, w21, 1e-12);
    CHECK_NEAR("W(N, N) = 0 (1e-12)", bures(mu1, C3, mu1, C3, D, &rc), 0.0, 1e-12);
  }
  /* triangle inequality of W2 on random triples */
  int tri = 1;
  for (int trial = 0; trial < 20; trial++) {
    double C[3][D * D], mu[3][D];
    for (int t = 0; t < 3; t++) {
      random_spd(&g, C[t], D);
      for (size_t k = 0; k < D; k++) mu[t][k] = ot_rng_normal(&g);
    }
    double ab = sqrt(bures(mu[0], C[0], mu[1], C[1], D, &rc));
    double bc = sqrt(bures(mu[1], C[1], mu[2], C[2], D, &rc));
    double ac = sqrt(bures(mu[0], C[0], mu[2], C[2], D, &rc));
    tri &= ac <= ab + bc + 1e-12;
  }
  CHECK("triangle inequality on 20 random triples", tri);
}

static void test_map_and_sqrtm(void) {
  ot_rng g;
  ot_rng_seed(&g, 23);
  double C1[D * D], C2[D * D], A[D * D], b[D], m1[D], m2[D], T[D * D], R[D * D];
  random_spd(&g, C1, D);
  random_spd(&g, C2, D);
  for (size_t k = 0; k < D; k++) m1[k] = ot_rng_normal(&g), m2[k] = ot_rng_normal(&g);
  ot_mat C1m = ot_mat_view(C1, D, D), C2m = ot_mat_view(C2, D, D), Am = ot_mat_view(A, D, D);
  CHECK("map status", ot_gauss_map(Am, b, m1, C1m, m2, C2m, NULL, NULL) == OT_OK);
  /* A C1 A^T = C2 */
  ot_gemm(ot_mat_view(T, D, D), 1.0, Am, 0, C1m, 0, 0.0);
  ot_gemm(ot_mat_view(R, D, D), 1.0, ot_mat_view(T, D, D), 0, Am, 1, 0.0);
  double e = 0.0;
  for (size_t i = 0; i < D * D; i++) e = fmax(e, fabs(R[i] - C2[i]));
  CHECK("the map pushes C1 onto C2: A C1 A^T = C2 (1e-10)", e <= 1e-10);
  /* A m1 + b = m2, A symmetric PSD */
  double em = 0.0, asym = 0.0;
  for (size_t i = 0; i < D; i++) {
    double s = b[i];
    for (size_t k = 0; k < D; k++) s += A[i * D + k] * m1[k], asym = fmax(asym, fabs(A[i * D + k] - A[k * D + i]));
    em = fmax(em, fabs(s - m2[i]));
  }
  CHECK("T(m1) = m2 (1e-12)", em <= 1e-12);
  CHECK("A symmetric", asym == 0.0);
  /* factor: F^T F = C with the rank of C (here C1 projected on 3 directions: rank 3) */
  {
    double P[D * D], Cr[D * D], F[D * D], G[D * D];
    for (size_t i = 0; i < D * D; i++) P[i] = 0.0;
    for (size_t i = 0; i < 3 && i < D; i++) P[i * D + i] = 1.0; /* diag(1,1,1,0,...) */
    ot_gemm(ot_mat_view(G, D, D), 1.0, ot_mat_view(P, D, D), 0, C1m, 0, 0.0);
    ot_gemm(ot_mat_view(Cr, D, D), 1.0, ot_mat_view(G, D, D), 0, ot_mat_view(P, D, D), 0, 0.0);
    size_t rank = 99;
    CHECK("factor status", ot_gauss_factor(ot_mat_view(F, D, D), &rank, ot_mat_view(Cr, D, D),
                                           1e-10, NULL, NULL) == OT_OK);
    CHECK("factor rank 3", rank == 3);
    ot_gemm(ot_mat_view(G, D, D), 1.0, ot_mat_view(F, rank, D), 1, ot_mat_view(F, rank, D), 0,
            0.0);
    double ef = 0.0, big = 0.0;
    for (size_t i = 0; i < D * D; i++) {
      ef = fmax(ef, fabs(G[i] - Cr[i]));
      big = fmax(big, fabs(Cr[i]));
    }
    CHECK("F^T F = C (1e-13 relative)", ef <= 1e-13 * big);
    double neg[4] = {1, 0, 0, -1};
    CHECK("factor refuses a non-PSD matrix",
          ot_gauss_factor(ot_mat_view(F, 2, 2), &rank, ot_mat_view(neg, 2, 2), 1e-10, NULL, NULL) ==
              OT_EINVAL);
  }
  /* sqrtm: S S = C and S^+ S = I for SPD C */
  double S[D * D], Si[D * D];
  ot_mat Sm = ot_mat_view(S, D, D), Sim = ot_mat_view(Si, D, D);
  CHECK("sqrtm status", ot_gauss_sqrtm(Sm, Sim, C1m, 1e-10, NULL, NULL) == OT_OK);
  ot_gemm(ot_mat_view(T, D, D), 1.0, Sm, 0, Sm, 0, 0.0);
  ot_gemm(ot_mat_view(R, D, D), 1.0, Sim, 0, Sm, 0, 0.0);
  e = 0.0;
  double ei = 0.0;
  for (size_t i = 0; i < D; i++)
    for (size_t j = 0; j < D; j++) {
      e = fmax(e, fabs(T[i * D + j] - C1[i * D + j]));
      ei = fmax(ei, fabs(R[i * D + j] - (i == j)));
    }
  CHECK("S S = C (1e-12)", e <= 1e-12);
  CHECK("S^-1 S = I (1e-10)", ei <= 1e-10);
  /* 1-D map: A = s2 / s1 */
  double v1 = 4.0, v2 = 9.0, a1, b1, mu1 = 1.0, mu2 = 3.0;
  CHECK("1-D map", ot_gauss_map(ot_mat_view(&a1, 1, 1), &b1, &mu1, ot_mat_view(&v1, 1, 1), &mu2,
                                ot_mat_view(&v2, 1, 1), NULL, NULL) == OT_OK);
  CHECK_NEAR("1-D map slope", a1, 1.5, 1e-15);
  CHECK_NEAR("1-D map intercept", b1, 1.5, 1e-15);
}

static void test_psd(void) {
  /* rank-1 covariance x x^T: eigenvalues 0 up to rounding, clamped */
  double x[3] = {0.3, -1.7, 2.9}, C[9], Z[9] = {0}, m[3] = {0, 0, 0}, A[9], b[3];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) C[i * 3 + j] = x[i] * x[j];
  ot_gauss_info info;
  double w = -1;
  CHECK("rank-1 PSD accepted", ot_gauss_bures(&w, m, ot_mat_view(C, 3, 3), m, ot_mat_view(Z, 3, 3),
                                              NULL, &info) == OT_OK);
  CHECK_NEAR("W2^2 to a Dirac = tr C (1e-12)", w, x[0] * x[0] + x[1] * x[1] + x[2] * x[2], 1e-12);
  /* a slightly negative eigenvalue (-1e-13 relative) is clamped */
  double N[4] = {1.0, 0.0, 0.0, -1e-13};
  CHECK("tiny negative eigenvalue clamped", ot_gauss_bures(&w, m, ot_mat_view(N, 2, 2), m,
                                                           ot_mat_view(N, 2, 2), NULL, &info) == OT_OK);
  CHECK("clamping counted", info.clamped >= 1);
  CHECK_NEAR("clamped distance to itself", w, 0.0, 1e-12);
  /* not PSD: eigenvalues 3 and -1 */
  double B[4] = {1, 2, 2, 1}, I2[4] = {1, 0, 0, 1};
  CHECK("not PSD (C1)", ot_gauss_bures(&w, m, ot_mat_view(B, 2, 2), m, ot_mat_view(I2, 2, 2),
                                       NULL, &info) == OT_EINVAL && info.not_psd == 1);
  CHECK_NEAR("reported eigenvalue", info.min_eig, -1.0, 1e-12);
  CHECK("not PSD (C2)", ot_gauss_bures(&w, m, ot_mat_view(I2, 2, 2), m, ot_mat_view(B, 2, 2),
                                       NULL, &info) == OT_EINVAL && info.not_psd == 2);
  CHECK("not PSD (map)", ot_gauss_map(ot_mat_view(A, 2, 2), b, m, ot_mat_view(B, 2, 2), m,
                                      ot_mat_view(I2, 2, 2), NULL, &info) == OT_EINVAL);
  ot_gauss_opts o;
  ot_gauss_opts_init(&o);
  o.psd_tol = 0.5; /* -1 vs max|l| = 3: tolerated at 50%, then clamped */
  CHECK("psd_tol widens the clamp", ot_gauss_bures(&w, m, ot_mat_view(B, 2, 2), m,
                                                   ot_mat_view(I2, 2, 2), &o, &info) == OT_OK);
  /* singular C1: the pseudo-inverse map, A = diag(2, 0) */
  double S1[4] = {1, 0, 0, 0}, S2[4] = {4, 0, 0, 9};
  CHECK("singular map status", ot_gauss_map(ot_mat_view(A, 2, 2), b, m, ot_mat_view(S1, 2, 2), m,
                                            ot_mat_view(S2, 2, 2), NULL, NULL) == OT_OK);
  CHECK("singular map: A = diag(2, 0)", fabs(A[0] - 2) < 1e-14 && fabs(A[1]) < 1e-14 &&
                                            fabs(A[2]) < 1e-14 && fabs(A[3]) < 1e-14);
  CHECK("shape mismatch", ot_gauss_bures(&w, m, ot_mat_view(S1, 2, 2), m, ot_mat_view(C, 3, 3),
                                         NULL, NULL) == OT_ESHAPE);
}

static void test_empirical(void) {
  double X[8] = {0, 0, 2, 0, 0, 4, 2, 4}, w[4] = {1, 1, 1, 3}, mean[2], C[4];
  ot_mat Xm = ot_mat_view(X, 4, 2), Cm = ot_mat_view(C, 2, 2);
  CHECK("empirical status", ot_gauss_empirical(mean, Cm, Xm, NULL, 0.0, 1) == OT_OK);
  CHECK("uniform mean", mean[0] == 1 && mean[1] == 2);
  CHECK("uniform covariance (1/n)", C[0] == 1 && C[3] == 4 && C[1] == 0 && C[2] == 0);
  CHECK("weighted status", ot_gauss_empirical(mean, Cm, Xm, w, 0.5, 1) == OT_OK);
  /* weights 1/6, 1/6, 1/6, 1/2: mean (4/3 + ... ) */
  double mx = (2 + 2 * 3) / 6.0, my = (4 + 4 * 3) / 6.0;
  CHECK_NEAR("weighted mean x", mean[0], mx, 1e-15);
  CHECK_NEAR("weighted mean y", mean[1], my, 1e-15);
  double cxx = 0, cxy = 0;
  for (int i = 0; i < 4; i++) {
    cxx += w[i] / 6 * (X[2 * i] - mx) * (X[2 * i] - mx);
    cxy += w[i] / 6 * (X[2 * i] - mx) * (X[2 * i + 1] - my);
  }
  CHECK_NEAR("weighted covariance + ridge", C[0], cxx + 0.5, 1e-14);
  CHECK_NEAR("weighted cross covariance", C[1], cxy, 1e-14);
  CHECK("no centring (bias = false)", ot_gauss_empirical(mean, Cm, Xm, NULL, 0.0, 0) == OT_OK &&
                                          mean[0] == 0 && C[0] == 2 && C[3] == 8 && C[1] == 2);
  CHECK("one sample: zero covariance plus ridge", ot_gauss_empirical(mean, Cm, ot_mat_view(X + 2, 1, 2),
                                                                     NULL, 1e-6, 1) == OT_OK &&
                                                      C[0] == 1e-6 && C[1] == 0 && mean[0] == 2);
}

/* Fault injection over every entry point: OT_OK or OT_ENOMEM, no leak. */
static void test_fault_sweep(void) {
  ot_rng g;
  ot_rng_seed(&g, 4);
  double C1[D * D], C2[D * D], A[D * D], b[D], m[D] = {0}, S[D * D], Si[D * D], X[20 * D], w = 0;
  random_spd(&g, C1, D);
  random_spd(&g, C2, D);
  for (int i = 0; i < 20 * D; i++) X[i] = ot_rng_normal(&g);
  ot_mat C1m = ot_mat_view(C1, D, D), C2m = ot_mat_view(C2, D, D);
  for (int which = 0; which < 4; which++)
    CHECK_FAULT_SWEEP("fault sweep: only OT_OK or OT_ENOMEM, nothing leaked, success reached",
      which == 0 ? ot_gauss_bures(&w, m, C1m, m, C2m, NULL, NULL)
      : which == 1 ? ot_gauss_map(ot_mat_view(A, D, D), b, m, C1m, m, C2m, NULL, NULL)
      : which == 2 ? ot_gauss_sqrtm(ot_mat_view(S, D, D), ot_mat_view(Si, D, D), C1m, 1e-10, NULL, NULL)
      : ot_gauss_empirical(b, ot_mat_view(S, D, D), ot_mat_view(X, 20, D), NULL, 0.0, 1));
}

int main(void) {
  test_fault_sweep();
  test_closed_forms();
  test_map_and_sqrtm();
  test_psd();
  test_empirical();
  CHECK("no live memory at the end", ot_mem_used() == 0);
  return test_report();
}
