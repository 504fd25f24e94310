/*
 * gauss.c -- Bures-Wasserstein distance and Monge map between Gaussians,
 * PSD matrix square roots, empirical moments (see gauss.h).
 *
 * Every matrix function is one symmetric eigendecomposition followed by
 * V diag(f(l)) V^T, computed as (V diag(f)) V^T with one GEMM.  Scratch is
 * a single block of a few d x d arrays, freed at `done:`.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "alloc.h"
#include "gauss.h"
#include "linalg.h"

void ot_gauss_opts_init(ot_gauss_opts *opts) { opts->psd_tol = 1e-10; }

/*
 * Eigenvalues l (ascending, d of them) and, when V is not NULL, the
 * eigenvectors (columns of the d x d array V) of the symmetric C.  Checks
 * PSD up to tol relative to max|l| and clamps the small negatives to 0
 * (counted into *clamped).  *min_eig gets the smallest eigenvalue before
 * clamping.  OT_EINVAL when C is not PSD.
 */
static int eig_psd(double *l, double *V, ot_mat C, double tol, int *clamped, double *min_eig) {
  size_t d = C.rows;
  ot_mat Vm = V ? ot_mat_view(V, d, d) : (ot_mat){d, d, d, NULL};
  int rc = ot_eigh(ot_mat_view(l, d, 1), Vm, C);
  if (rc) return rc;
  if (d == 0) return OT_OK;
  double big = fmax(fabs(l[0]), fabs(l[d - 1]));
  if (min_eig) *min_eig = l[0];
  if (l[0] < -tol * big) return OT_EINVAL;
  for (size_t k = 0; k < d && l[k] < 0.0; k++) {
    l[k] = 0.0;
    if (clamped) (*clamped)++;
  }
  return OT_OK;
}

/* out = V diag(f) V^T (d x d); U is d x d scratch. */
static int eig_apply(ot_mat out, const double *V, const double *f, double *U, size_t d) {
  for (size_t i = 0; i < d; i++)
    for (size_t k = 0; k < d; k++) U[i * d + k] = V[i * d + k] * f[k];
  return ot_gemm(out, 1.0, ot_mat_view(U, d, d), 0, ot_mat_view((double *)V, d, d), 1, 0.0);
}

/* Pseudo-inverse cut-off for eigenvalues of a d x d PSD matrix. */
static double pinv_cut(const double *l, size_t d) {
  return d ? (double)d * DBL_EPSILON * l[d - 1] : 0.0;
}

int ot_gauss_sqrtm(ot_mat S, ot_mat Sinv, ot_mat C, double psd_tol, int *clamped,
                   double *min_eig) {
  size_t d = C.rows;
  double *buf = NULL;
  int rc;
  if (C.cols != d || S.rows != d || S.cols != d) return OT_ESHAPE;
  if (Sinv.data && (Sinv.rows != d || Sinv.cols != d)) return OT_ESHAPE;
  if (d == 0) return OT_OK;
  if ((rc = ot_alloc_doubles(2 * d + 2, d, &buf))) return rc;
  double *V = buf, *U = buf + d * d, *l = U + d * d, *f = l + d;
  if ((rc = eig_psd(l, V, C, psd_tol, clamped, min_eig))) goto done;
  for (size_t k = 0; k < d; k++) f[k] = sqrt(l[k]);
  if ((rc = eig_apply(S, V, f, U, d))) goto done;
  if (Sinv.data) {
    double cut = pinv_cut(l, d);
    for (size_t k = 0; k < d; k++) f[k] = l[k] > cut ? 1.0 / sqrt(l[k]) : 0.0;
    rc = eig_apply(Sinv, V, f, U, d);
  }
done:
  ot_free(buf);
  return rc;
}

int ot_gauss_factor(ot_mat F, size_t *rank, ot_mat C, double psd_tol, int *clamped,
                    double *min_eig) {
  size_t d = C.rows, r = 0;
  double *buf = NULL;
  int rc;
  *rank = 0;
  if (C.cols != d || F.rows != d || F.cols != d) return OT_ESHAPE;
  if (d == 0) return OT_OK;
  if ((rc = ot_alloc_doubles(d + 1, d, &buf))) return rc;
  double *V = buf, *l = buf + d * d;
  if ((rc = eig_psd(l, V, C, psd_tol, clamped, min_eig))) goto done;
  double cut = pinv_cut(l, d);
  for (size_t k = d; k-- > 0 && l[k] > cut; r++) {
    double s = sqrt(l[k]);
    double *row = F.data + r * F.ld;
    for (size_t i = 0; i < d; i++) row[i] = s * V[i * d + k];
  }
  *rank = r;
done:
  ot_free(buf);
  return rc;
}

/* Shape checks shared by the distance and the map. */
static int check_pair(ot_mat C1, ot_mat C2) {
  size_t d = C1.rows;
  return C1.cols == d && C2.rows == d && C2.cols == d ? OT_OK : OT_ESHAPE;
}

/*
 * The common part of the distance and the map.  Fills, in the caller's
 * scratch: S1 = C1^{1/2}, S1i = its pseudo-inverse (when S1i != NULL),
 * M = S1 C2 S1 and, when V is not NULL, its eigenvectors in V with the
 * eigenvalues (clamped at 0) in mu.  C2 is checked PSD on the way.
 */
static int middle(double *S1, double *S1i, double *M, double *V, double *mu, double *T,
                  ot_mat C1, ot_mat C2, double tol, ot_gauss_info *info) {
  size_t d = C1.rows;
  int rc, clamped = 0;
  double min_eig = 0.0;
  ot_mat S1m = ot_mat_view(S1, d, d), Tm = ot_mat_view(T, d, d), Mm = ot_mat_view(M, d, d);
  rc = ot_gauss_sqrtm(S1m, S1i ? ot_mat_view(S1i, d, d) : (ot_mat){d, d, d, NULL}, C1, tol,
                      &clamped, &min_eig);
  if (rc == OT_EINVAL) {
    info->not_psd = 1;
    info->min_eig = min_eig;
  }
  if (rc) return rc;
  /* C2 PSD check: its eigenvalues only (mu is free scratch here) */
  rc = eig_psd(mu, NULL, C2, tol, &clamped, &min_eig);
  info->min_eig = min_eig;
  if (rc == OT_EINVAL) info->not_psd = 2;
  if (rc) return rc;
  if ((rc = ot_gemm(Tm, 1.0, C2, 0, S1m, 0, 0.0))) return rc;
  if ((rc = ot_gemm(Mm, 1.0, S1m, 0, Tm, 0, 0.0))) return rc;
  size_t bi, bj;
  if (!ot_mat_all_finite(Mm, &bi, &bj)) return OT_ENUMERIC; /* overflow: keep Inf from LAPACK */
  for (size_t i = 0; i < d; i++) /* exact symmetry before the eigensolver */
    for (size_t j = 0; j < i; j++) M[i * d + j] = M[j * d + i] = 0.5 * (M[i * d + j] + M[j * d + i]);
  /* M is PSD in exact arithmetic: any negative eigenvalue is rounding */
  rc = eig_psd(mu, V, Mm, INFINITY, &clamped, NULL);
  info->clamped += clamped;
  return rc;
}

int ot_gauss_bures(double *w2sq, const double *m1, ot_mat C1, const double *m2, ot_mat C2,
                   const ot_gauss_opts *opts, ot_gauss_info *info) {
  ot_gauss_opts def;
  ot_gauss_info dummy;
  size_t d = C1.rows;
  double *buf = NULL;
  int rc;
  if (!opts) {
    ot_gauss_opts_init(&def);
    opts = &def;
  }
  if (!info) info = &dummy;
  memset(info, 0, sizeof *info);
  if ((rc = check_pair(C1, C2))) return rc;
  double s = 0.0;
  for (size_t k = 0; k < d; k++) s += (m1[k] - m2[k]) * (m1[k] - m2[k]);
  if (d == 0) {
    *w2sq = 0.0;
    return OT_OK;
  }
  if ((rc = ot_alloc_doubles(3 * d + 1, d, &buf))) return rc;
  double *S1 = buf, *M = S1 + d * d, *T = M + d * d, *mu = T + d * d;
  if ((rc = middle(S1, NULL, M, NULL, mu, T, C1, C2, opts->psd_tol, info))) goto done;
  double tr = 0.0, root = 0.0;
  for (size_t k = 0; k < d; k++) {
    tr += OT_AT(C1, k, k) + OT_AT(C2, k, k);
    root += sqrt(mu[k]);
  }
  s += tr - 2.0 * root;
  if (!isfinite(s)) { /* finite inputs whose products overflowed */
    rc = OT_ENUMERIC;
    goto done;
  }
  *w2sq = s > 0.0 ? s : 0.0;
done:
  ot_free(buf);
  return rc;
}

int ot_gauss_map(ot_mat A, double *b, const double *m1, ot_mat C1, const double *m2, ot_mat C2,
                 const ot_gauss_opts *opts, ot_gauss_info *info) {
  ot_gauss_opts def;
  ot_gauss_info dummy;
  size_t d = C1.rows;
  double *buf = NULL;
  int rc;
  if (!opts) {
    ot_gauss_opts_init(&def);
    opts = &def;
  }
  if (!info) info = &dummy;
  memset(info, 0, sizeof *info);
  if ((rc = check_pair(C1, C2))) return rc;
  if (A.rows != d || A.cols != d) return OT_ESHAPE;
  if (d == 0) return OT_OK;
  if ((rc = ot_alloc_doubles(6 * d + 2, d, &buf))) return rc;
  double *S1 = buf, *S1i = S1 + d * d, *M = S1i + d * d, *V = M + d * d, *T = V + d * d;
  double *U = T + d * d, *mu = U + d * d, *f = mu + d;
  if ((rc = middle(S1, S1i, M, V, mu, T, C1, C2, opts->psd_tol, info))) goto done;
  /* R = M^{1/2} into M, then A = S1i R S1i */
  for (size_t k = 0; k < d; k++) f[k] = sqrt(mu[k]);
  ot_mat Mm = ot_mat_view(M, d, d), Tm = ot_mat_view(T, d, d), S1im = ot_mat_view(S1i, d, d);
  if ((rc = eig_apply(Mm, V, f, U, d))) goto done;
  if ((rc = ot_gemm(Tm, 1.0, Mm, 0, S1im, 0, 0.0))) goto done;
  if ((rc = ot_gemm(A, 1.0, S1im, 0, Tm, 0, 0.0))) goto done;
  for (size_t i = 0; i < d; i++) /* A is symmetric; remove the rounding asymmetry */
    for (size_t j = 0; j < i; j++)
      OT_AT(A, i, j) = OT_AT(A, j, i) = 0.5 * (OT_AT(A, i, j) + OT_AT(A, j, i));
  for (size_t i = 0; i < d; i++) {
    double s = m2[i];
    for (size_t k = 0; k < d; k++) s -= OT_AT(A, i, k) * m1[k];
    b[i] = s;
    if (!isfinite(s)) rc = OT_ENUMERIC; /* overflow (A is finite when b is) */
  }
done:
  ot_free(buf);
  return rc;
}

/*
 * Weighted moments: a centred copy of X scaled row-wise by sqrt(w_i / W)
 * gives C = Xc^T Xc in one GEMM (symmetric by construction up to BLAS's
 * rounding, then symmetrised exactly).
 */
int ot_gauss_empirical(double *mean, ot_mat C, ot_mat X, const double *w, double reg,
                       int center) {
  size_t n = X.rows, d = X.cols;
  double *Xc = NULL;
  int rc;
  if (C.rows != d || C.cols != d) return OT_ESHAPE;
  if (n == 0) return OT_EINVAL;
  double W = 0.0;
  for (size_t i = 0; i < n; i++) W += w ? w[i] : 1.0;
  if (!(W > 0.0)) return OT_EINVAL;
  for (size_t k = 0; k < d; k++) mean[k] = 0.0;
  if (center) {
    for (size_t i = 0; i < n; i++) {
      double wi = (w ? w[i] : 1.0) / W;
      for (size_t k = 0; k < d; k++) mean[k] += wi * OT_AT(X, i, k);
    }
  }
  if ((rc = ot_alloc_doubles(n, d, &Xc))) return rc;
  for (size_t i = 0; i < n; i++) {
    double s = sqrt((w ? w[i] : 1.0) / W);
    for (size_t k = 0; k < d; k++) Xc[i * d + k] = s * (OT_AT(X, i, k) - mean[k]);
  }
  ot_mat Xm = ot_mat_view(Xc, n, d);
  if ((rc = ot_gemm(C, 1.0, Xm, 1, Xm, 0, 0.0))) goto done;
  for (size_t i = 0; i < d; i++) {
    for (size_t j = 0; j < i; j++)
      OT_AT(C, i, j) = OT_AT(C, j, i) = 0.5 * (OT_AT(C, i, j) + OT_AT(C, j, i));
    OT_AT(C, i, i) += reg;
  }
  size_t bi, bj;
  if (!ot_mat_all_finite(C, &bi, &bj)) rc = OT_ENUMERIC; /* squares overflowed */
done:
  ot_free(Xc);
  return rc;
}
