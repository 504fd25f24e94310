/*
 * sinkhorn.h -- entropic optimal transport: Sinkhorn's algorithm in the
 * kernel and log domains, with absorption (stabilized) and epsilon-scaling,
 * unbalanced transport with KL marginal penalties, and the debiased
 * Sinkhorn divergence, dense or online (costs from coordinates, O(n + m)
 * memory).
 *
 * The problem (POT's convention, Cuturi 2013):
 *
 *   P* = argmin_P <P, M> + reg * sum_ij P_ij log P_ij
 *        subject to P 1 = a, P^T 1 = b, P >= 0,
 *
 * whose solution is P_ij = exp((f_i + g_j - M_ij) / reg) for dual (log)
 * potentials f (n) and g (m); in the kernel domain P = diag(u) K diag(v)
 * with K = exp(-M / reg), u = exp(f / reg), v = exp(g / reg).
 *
 * Every solver here reports the *log potentials* f, g (units of cost) so
 * that results of all methods compare directly; the kernel scalings are
 * u = exp(f / reg), v = exp(g / reg).
 *
 * Marginal error (the stopping rule, as POT's): the Euclidean norm
 * ||P^T 1 - b||_2 after the row update (which makes P 1 = a exact).  It is
 * read from the next column pass, which the iteration computes anyway, so
 * checking it every iteration costs O(m).
 *
 * Inputs are trusted: a, b finite, >= 0, with equal positive sums (the
 * balanced solvers), M finite, reg > 0 finite.  The bindings validate.
 */
#ifndef OT_SINKHORN_H
#define OT_SINKHORN_H

#include <stddef.h>

#include "mat.h"
#include "ot.h"

/* Methods (ot_sinkhorn_opts.method). */
enum {
  OT_SINKHORN_KERNEL = 0,   /* scaling iterations on K = exp(-M/reg): two dgemv per iteration */
  OT_SINKHORN_LOG,          /* log-domain: fused log-sum-exp over rows (vectorized exp, OpenMP) */
  OT_SINKHORN_STABILIZED,   /* kernel iterations, large scalings absorbed into the potentials */
  OT_SINKHORN_EPS_SCALING,  /* log-domain with a decreasing reg schedule and warm starts */
  OT_SINKHORN_NMETHODS
};

/* Outcomes (ot_sinkhorn_info.status); all are returned with OT_OK. */
enum {
  OT_SINKHORN_CONVERGED = 0, /* err < tol */
  OT_SINKHORN_MAX_ITER,      /* max_iter iterations ran without reaching tol */
  OT_SINKHORN_NUMERIC        /* NaN or Inf appeared; the last finite iterate is returned */
};

/* Above this max(M)/reg the kernel exp(-M/reg) underflows (exp(-708) ~ 1e-308). */
#define OT_SINKHORN_UNDERFLOW 700.0

typedef struct ot_sinkhorn_opts {
  int method;          /* OT_SINKHORN_*; default OT_SINKHORN_KERNEL */
  int auto_log;        /* 1 (default): the kernel method switches to the log domain when
                          max(M)/reg > OT_SINKHORN_UNDERFLOW; 0: it fails with OT_EINVAL */
  long max_iter;       /* iteration cap (default 1000); for epsilon-scaling it counts the
                          iterations of every stage */
  double tol;          /* stop when the marginal error < tol (default 1e-9); 0 runs max_iter */
  double tau;          /* stabilized: absorb when a scaling leaves [1/tau, tau] (default 1e3) */
  double eps0;         /* epsilon-scaling: first reg of the schedule; 0 (default) = max(M) */
  double eps_factor;   /* epsilon-scaling: ratio of successive regs, in (0, 1) (default 0.5) */
  long eps_inner;      /* epsilon-scaling: iterations per intermediate stage (default 10) */
  const double *f0;    /* warm start: log potentials f (n), g (m) in cost units; NULL = */
  const double *g0;    /*   cold start (both must be given; epsilon-scaling then skips its
                          schedule and iterates at reg directly) */
  double *err_history; /* optional: the marginal error of each checked iteration ... */
  size_t err_cap;      /* ... up to err_cap entries */
  ot_progress_fn progress;  /* called about once per iteration, at least every ~50 ms */
  void *progress_ud;
} ot_sinkhorn_opts;

/* Results besides the plan and potentials. */
typedef struct ot_sinkhorn_info {
  int status;          /* OT_SINKHORN_CONVERGED / _MAX_ITER / _NUMERIC */
  int method;          /* the method that ran (OT_SINKHORN_LOG after a switch) */
  int switched;        /* 1 when the kernel method switched to the log domain */
  long iterations;     /* completed iterations (a column and a row update each) */
  double err;          /* final marginal error ||P^T 1 - b||_2 */
  double cost;         /* <P, M>: the value of POT's sinkhorn2 */
  double objective;    /* <P, M> + reg * sum P log P (0 log 0 = 0): the entropic objective */
  size_t n_err;        /* entries written to err_history */
} ot_sinkhorn_info;

/* Fill *o with the defaults above. */
void ot_sinkhorn_opts_init(ot_sinkhorn_opts *o);

/*
 * Solve the entropic OT problem between a (n) and b (m) for the cost M
 * (n x m view) and regularization reg > 0.
 *
 * P: n x m output for the plan (any ld); P.data == NULL computes no plan
 *    (sinkhorn2: only the cost and objective).
 * f, g: outputs for the log potentials (n and m doubles; NULL to skip).
 *    f_i = -inf where a_i = 0 (and g_j where b_j = 0).
 * info: filled on OT_OK and on OT_ECANCELED (iterations so far).
 *
 * Memory: one n x m scratch matrix (K, or M transposed for the log
 * domain) plus O(n + m), from ot_malloc.
 * Returns OT_OK (see info->status for convergence), OT_ESHAPE, OT_EINVAL
 * (reg <= 0, bad method or options, or the kernel method forced with
 * auto_log = 0 where exp(-M/reg) underflows), OT_EBUDGET/OT_ENOMEM,
 * OT_ECANCELED (the progress callback returned non-zero).
 */
int ot_sinkhorn_solve(ot_mat P, double *f, double *g, const double *a, const double *b,
                      ot_mat M, double reg, const ot_sinkhorn_opts *o, ot_sinkhorn_info *info);

/*
 * Unbalanced entropic OT with KL marginal penalties (POT's
 * sinkhorn_unbalanced, Chizat et al. 2018, Algorithm 1):
 *
 *   min_P <P, M> + reg * sum P log P + reg_m * KL(P 1 | a) + reg_m * KL(P^T 1 | b),
 *   KL(x | y) = sum x log(x / y) - x + y.
 *
 * Scaling updates u = (a / K v)^fi, v = (b / K^T u)^fi with
 * fi = reg_m / (reg_m + reg), u first (POT's order), from u = 1/n, v = 1/m
 * (or the warm start).  The error is POT's: the mean of the relative
 * changes of u and v, 0.5 * (max|du| / max(max|u|, max|u_prev|, 1) + the
 * same for v); the log-domain variant uses the changes of f/reg and g/reg.
 * Methods: OT_SINKHORN_KERNEL (switches to the log domain under the same
 * underflow rule) and OT_SINKHORN_LOG; others give OT_EINVAL.
 * info->cost is <P, M> (POT's sinkhorn_unbalanced2), info->objective the
 * full objective above.  a and b need not have equal sums.
 */
int ot_sinkhorn_unbalanced(ot_mat P, double *f, double *g, const double *a, const double *b,
                           ot_mat M, double reg, double reg_m, const ot_sinkhorn_opts *o,
                           ot_sinkhorn_info *info);

/* ---- Sinkhorn divergence ------------------------------------------------- */

enum { OT_DIV_SQEUCLIDEAN = 0, OT_DIV_EUCLIDEAN = 1 };

typedef struct ot_divergence_opts {
  int metric;          /* OT_DIV_SQEUCLIDEAN (|x - y|^2, default) or OT_DIV_EUCLIDEAN */
  int online;          /* 1: costs from coordinates in tiles (O(n + m) memory);
                          0: dense cost matrices (4 of them) */
  long max_iter;       /* iterations at the final reg (default 1000) */
  double tol;          /* stop when the largest marginal error (L1) < tol (default 1e-9) */
  double scaling;      /* epsilon-scaling ratio in (0, 1) (default 0.5): reg decreases from
                          the squared diameter by scaling^p per step (p = 2 for sqeuclidean,
                          1 for euclidean), one iteration per step; 0 = no scaling */
  ot_progress_fn progress;
  void *progress_ud;
} ot_divergence_opts;

typedef struct ot_divergence_info {
  int status;          /* OT_SINKHORN_CONVERGED / _MAX_ITER / _NUMERIC */
  long iterations;     /* iterations at the final reg */
  long stages;         /* epsilon-scaling steps before the final reg */
  double err;          /* largest L1 marginal error of the three problems */
  double ot_ab, ot_aa, ot_bb; /* OT_eps values (dual objective <a, f> + <b, g>) */
} ot_divergence_info;

void ot_divergence_opts_init(ot_divergence_opts *o);

/*
 * The debiased Sinkhorn divergence (Genevay et al. 2018; Feydy et al. 2019,
 * GeomLoss's S_eps):
 *
 *   S = OT(a, b) - (OT(a, a) + OT(b, b)) / 2,
 *   OT(a, b) = min_P <P, C> + reg * KL(P | a x b) = <a, f> + <b, g> at the optimum,
 *
 * for points X (n x d) with weights a and Y (m x d) with weights b (sums
 * 1), cost C = |x - y|^2 (POT's sqeuclidean; GeomLoss's p = 2 uses half of
 * it) or |x - y|.  During epsilon-scaling all four potentials take
 * GeomLoss's averaged updates; at the final reg the (a, b) problem
 * alternates over-relaxed updates (the weight adapted to the observed
 * contraction rate, Thibault et al. 2017) and the symmetric problems keep
 * the averaged ones until their own error is below tol.
 * *out = S (>= 0 up to rounding for these costs).
 * Memory: online O((n + m) d); dense four cost matrices (n x m twice, n x n,
 * m x m).  OpenMP over rows; the progress callback is called between
 * blocks of rows, so a long pass can be interrupted.
 * Returns OT_OK, OT_ESHAPE (different d), OT_EINVAL, OT_EBUDGET/OT_ENOMEM,
 * OT_ECANCELED.
 */
int ot_sinkhorn_divergence(double *out, ot_mat X, ot_mat Y, const double *a, const double *b,
                           double reg, const ot_divergence_opts *o, ot_divergence_info *info);

#endif
