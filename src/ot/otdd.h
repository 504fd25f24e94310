/*
 * otdd.h -- the optimal transport dataset distance (specs/otdd.md).
 *
 * A dataset is {(x_i, y_i)}: features x_i in R^d (rows of X) and integer
 * labels y_i.  Class k defines alpha_k, the empirical distribution of the
 * features with that label.  The ground cost between (feature, label) pairs is
 *
 *   c((x, k), (x', k')) = lambda_x / 2 * ||x - x'||^2 + lambda_y / 2 * W(k, k')
 *
 * where W(k, k') is a *squared* 2-Wasserstein distance between alpha_k and
 * alpha_k' (the label distance).  OTDD(D1, D2) is OT with this cost and
 * uniform weights: the debiased Sinkhorn divergence
 *
 *   S_eps = OT_eps(D1, D2) - 1/2 OT_eps(D1, D1) - 1/2 OT_eps(D2, D2)
 *
 * by default (eps = entreg = 0.1), plain OT_eps, or exact OT.
 *
 * The work is split in three steps so that callers (the Lua binding, the
 * dataset flows of flow.c) can reuse each one:
 *
 *   1. ot_otdd_stats_compute: per-dataset class statistics, computed once
 *      (labels re-indexed to 0..C-1 in ascending order of their values,
 *      counts, means, covariances, covariance square roots; classes with
 *      fewer than min_class_size samples dropped or refused).
 *      ot_otdd_stats_update recomputes the moments from moved features
 *      keeping the class index (flows with fixed labels).
 *   2. ot_otdd_label_distances: the C1 x C2 matrix W between the classes of
 *      two statistics (gaussian Bures, diagonal, upper, means; or exact OT
 *      between the class clouds).  Pairs in parallel (OpenMP).
 *   3. ot_otdd_outer: the outer OT problem on the augmented cost, given the
 *      two clouds, their class indices and the label blocks W12 (and W11,
 *      W22 for the debiased form).  Modes: converged log-domain Sinkhorn with
 *      epsilon-scaling (each stage iterated, a class-block balancing step
 *      that fixes the mass of each (class, class) block, over-relaxation),
 *      the peer's "compat" schedule, exact network simplex.
 *      Returns the value and the final dual potentials.  Dense (cost blocks
 *      cached) or online (cost blocks recomputed from coordinates: one GEMM
 *      per block plus a label-pair lookup, each block reduced by the thread
 *      that made it; O((n + m) d) memory).
 *
 * ot_otdd_barycentric gives, in the same online form, the row-normalized
 * entropic plan applied to the target points, sum_j pi_ij y_j / sum_j pi_ij,
 * which is what the envelope gradient of the flows needs (specs/flows.md,
 * "Reference behaviour"): with P the cross plan and Q the self plan,
 *   grad_{x_i} S_eps = a_i lambda_x (sum_k Q_ik x_k - sum_j P_ij y_j)
 * (rows of P and Q normalized; lambda_x = 1 in the spec's formula).
 *
 * Status codes: OT_OK, OT_EINVAL (bad labels, options, a class too small
 * when refused, a covariance that is not PSD), OT_ESHAPE (dimensions
 * disagree), OT_EBUDGET / OT_ENOMEM (scratch; nothing leaked), OT_ECANCELED
 * (the progress callback asked to stop), OT_ELAPACK (eigensolver failed),
 * OT_ENUMERIC (NaN/Inf from finite inputs).  Inputs are trusted to be
 * finite (the bindings validate them).
 */
#ifndef OT_OTDD_H
#define OT_OTDD_H

#include <stddef.h>

#include "jobs.h"
#include "mat.h"
#include "ot.h"

/* ---- 1. class statistics ------------------------------------------------- */

typedef struct ot_otdd_stats_opts {
  size_t min_class_size; /* classes with fewer samples are dropped (default 2; >= 2) */
  int drop_small;        /* 1 (default): drop them (listed in the stats); 0: OT_EINVAL */
  int diagonal;          /* 1: variances only (no d x d matrices); default 0 */
  int moments;           /* 2 (default): means and covariances (+ square roots);
                            1: means only (enough for the "means" label distance);
                            0: none (labels only, for inner = exact) */
  double ridge;          /* covariances get + ridge * I (default 0) */
  double psd_tol;        /* relative tolerance for tiny negative eigenvalues (1e-10) */
} ot_otdd_stats_opts;

void ot_otdd_stats_opts_init(ot_otdd_stats_opts *o);

/*
 * Class statistics of one dataset.  Every array is owned (ot_malloc) and
 * released by ot_otdd_stats_free.  Covariances are unbiased (n_k - 1).
 */
typedef struct ot_otdd_stats {
  size_t n, d;          /* rows and columns of the X given */
  size_t nclass;        /* C: classes kept */
  double *labels;       /* C label values, ascending (class k has label labels[k]) */
  size_t *counts;       /* C sample counts */
  int *index;           /* n: class of each row (0..C-1), -1 for a row of a dropped class */
  size_t n_kept;        /* rows with index >= 0 */
  size_t ndropped;      /* classes dropped (fewer than min_class_size samples) */
  double *dropped_labels; /* ndropped label values (ascending) */
  size_t *dropped_counts; /* and their counts */
  int moments;          /* what was computed (see the opts) */
  int diagonal;         /* 1: covs and sqrts hold C x d variances / standard deviations */
  double ridge;         /* the ridge added */
  double *means;        /* C x d (moments >= 1) */
  double *covs;         /* C x d x d, or C x d when diagonal (moments == 2) */
  double *sqrts;        /* diagonal: C x d standard deviations (NULL otherwise) */
  double *factors;      /* full: C x d x d low-rank factors F_k of the covariances (the
                           first ranks[k] rows of class k, F_k^T F_k = cov_k; see
                           ot_gauss_factor); NULL when diagonal */
  size_t *ranks;        /* full: C ranks of the factors */
  double *traces;       /* C: tr(cov) */
  int clamped;          /* negative eigenvalues clamped to 0 over all square roots */
  double min_eig;       /* smallest eigenvalue seen before clamping */
  ot_mat X;             /* borrowed: the features given (used by inner = exact);
                           must outlive every call that reads these statistics */
  double psd_tol;
} ot_otdd_stats;

/*
 * Compute the statistics of (X, y): X is n x d (n, d > 0), y holds n
 * integer-valued doubles (any integers: negative, non-contiguous).
 * OT_EINVAL: a label that is not an integer (or beyond 2^53), a class
 * too small with drop_small = 0, no class left after dropping, a
 * covariance not PSD; *st is then left empty (safe to free).
 * The square roots (full mode) use one symmetric eigendecomposition per
 * class, symmetrized first, tiny negative eigenvalues clamped.
 */
int ot_otdd_stats_compute(ot_otdd_stats *st, ot_mat X, const double *y,
                          const ot_otdd_stats_opts *o);

/*
 * Recompute means, covariances and square roots from new features X (same
 * n x d as before, rows in the same order; the class index, counts and the
 * dropped classes are kept).  X becomes the borrowed features.  For flows
 * whose labels stay fixed while the features move.
 */
int ot_otdd_stats_update(ot_otdd_stats *st, ot_mat X);

/* Release the arrays and zero *st (idempotent; st may hold a failed compute). */
void ot_otdd_stats_free(ot_otdd_stats *st);

/* ---- 2. label distances -------------------------------------------------- */

enum {
  OT_OTDD_INNER_GAUSSIAN = 0, /* Bures-Wasserstein between N(mu, Sigma); with diagonal
                                 statistics: ||mu - mu'||^2 + sum_k (s_k - s'_k)^2 */
  OT_OTDD_INNER_EXACT,        /* OT between the class clouds, cost ||x - x'||^2 */
  OT_OTDD_INNER_UPPER,        /* ||mu - mu'||^2 + tr Sigma + tr Sigma' */
  OT_OTDD_INNER_MEANS,        /* ||mu - mu'||^2 */
  OT_OTDD_INNER_COUNT
};

typedef struct ot_otdd_label_opts {
  int inner;             /* OT_OTDD_INNER_* (default gaussian) */
  /* inner = exact: */
  double exact_reg;      /* 0 (default): network simplex; > 0: entropic OT_reg (log domain) */
  int exact_debiased;    /* with exact_reg > 0: debiased divergence (default 1) */
  size_t exact_maxsamples; /* 0 (default): all points of each class; otherwise the first
                              maxsamples of each class (callers shuffle to subsample) */
  ot_progress_fn progress; /* called between pairs (iter = pairs done), NULL = none */
  void *progress_ud;
  const void *state;     /* passed as ot_progress.state (an ot_view, may be NULL) */
  ot_jobs_fn distribute; /* NULL (default): every pair here; else the list of class pairs
                            is one ot_jobs batch (kind "labels", job t = the t-th pair
                            (i, j) in row order, upper triangle when A == B; key (i, j),
                            0-based; row (w_ij)) handed to it: the same W whatever the
                            layout */
  void *distribute_ud;
} ot_otdd_label_opts;

void ot_otdd_label_opts_init(ot_otdd_label_opts *o);

/*
 * W (A->nclass x B->nclass, any ld) = squared 2-Wasserstein label distances
 * between the classes of A and B, clamped at 0.  When A == B (the same
 * pointer) only the upper triangle is computed, mirrored, and the diagonal
 * is exactly 0.  The statistics must hold what the method needs (gaussian
 * and upper: moments 2; means: moments >= 1; exact: the borrowed X).
 * A and B must have the same d (OT_ESHAPE).  Gaussian: the cross term
 * tr((S Sigma' S)^(1/2)) from the eigenvalues of S Sigma' S, S = Sigma^(1/2)
 * computed once per class.  Pairs run in parallel (OpenMP, BLAS set to one
 * thread meanwhile).
 */
int ot_otdd_label_distances(ot_mat W, const ot_otdd_stats *A, const ot_otdd_stats *B,
                            const ot_otdd_label_opts *o);

/* ---- 3. the outer problem ------------------------------------------------ */

enum {
  OT_OTDD_OUTER_SINKHORN = 0, /* log-domain Sinkhorn, epsilon-scaling, iterated to tol */
  OT_OTDD_OUTER_COMPAT,       /* the peer's (geomloss 0.2.6) schedule, see the spec */
  OT_OTDD_OUTER_EXACT,        /* network simplex on the cross block (dense n x m costs) */
  OT_OTDD_OUTER_COUNT
};

/* Outcomes (ot_otdd_outer_result.status). */
enum {
  OT_OTDD_CONVERGED = 0,  /* sinkhorn: marginal error < tol; exact: certified optimal;
                             compat: the schedule ran (no tolerance is involved) */
  OT_OTDD_MAX_ITER,       /* sinkhorn: max_iter iterations at the final eps; exact: pivot cap */
  OT_OTDD_NUMERIC         /* NaN/Inf appeared: value is NaN */
};

typedef struct ot_otdd_outer_opts {
  int mode;              /* OT_OTDD_OUTER_*; default sinkhorn */
  int debiased;          /* 1 (default): S_eps; 0: OT_eps (exact mode ignores it) */
  double entreg;         /* eps (default 0.1), > 0 */
  double lambda_x;       /* feature weight (default 1) */
  double lambda_y;       /* label weight (default 1) */
  double scaling;        /* epsilon-scaling ratio s in (0, 1): eps decreases by s^2
                            per stage (default 0.5, the peer's) */
  long max_iter;         /* sinkhorn: iteration cap at the final eps (default 5000) */
  double tol;            /* sinkhorn: L1 marginal error tolerance (default 1e-3): at the
                            default eps = 0.1 and costs in the thousands (eps / cost ~ 1e-4)
                            Sinkhorn converges slowly; tighter tolerances cost thousands of
                            iterations */
  int exact_start;       /* sinkhorn, dense: start the cross potentials at the final eps from
                            the network simplex duals (the eps -> 0 limit); default 1 */
  int online;            /* -1 (default): dense when the cost blocks fit in dense_limit
                            bytes, else online; 0: dense; 1: online (exact mode is dense) */
  size_t dense_limit;    /* bytes (default 256 MiB) */
  size_t tile_rows;      /* online: the sweeps' blocks are tile_rows x tile_rows and the
                            coupling's tiles tile_rows rows; 0 (default) = automatic
                            (blocks of 256 x 2048, tiles of about 4M doubles) */
  size_t cache;          /* online: bytes the solver may keep cost blocks in between
                            sweeps, so that those blocks' GEMMs run once per solve
                            instead of once per sweep (the cross block first, then the
                            self blocks); capped at half of the memory budget still free
                            when the solve starts; 0 = recompute every block (memory
                            O(n + m) only); default 2 GiB.  Cached and recomputed blocks
                            give bit-identical results */
  int single;            /* 1: the feature inner products of the cost in single precision
                            (float GEMM on the clouds centred at their common mean; about
                            twice as fast in high dimension, costs exact to ~1e-6 relative);
                            0 (default): double */
  /* Warm start (sinkhorn mode; all that the form needs must be given, else
     cold): potentials from a previous call, in cost units.  With a warm
     start the epsilon schedule is skipped and iterations run at entreg. */
  const double *f_ba0, *g_ab0, *f_aa0, *g_bb0;
  ot_progress_fn progress; /* about once per iteration, at least every ~50 ms; kernel =
                              "otdd", err = marginal error, objective = current value */
  void *progress_ud;
  const void *state;     /* passed as ot_progress.state (an ot_view, may be NULL) */
} ot_otdd_outer_opts;

void ot_otdd_outer_opts_init(ot_otdd_outer_opts *o);

/*
 * The outer problem.  Source: X1 (n x d), class indices c1 (n values in
 * 0..C1-1), weights a (n, sum 1; NULL = uniform).  Target: X2 (m x d), c2
 * (0..C2-1), b (m; NULL = uniform).  Label blocks: W12 (C1 x C2) always;
 * W11 (C1 x C1) and W22 (C2 x C2) for the debiased form (zero diagonal;
 * ignored otherwise, may have data NULL).  Nothing is owned.
 *
 * Sinkhorn mode sorts both clouds by class internally (copies of X1 and X2
 * unless c1 and c2 are already non-decreasing) for the class-block
 * balancing; outputs come back in the caller's order.
 *
 * In compat mode the peer's diameter is computed from the (d+1)-vectors
 * [x, label index] with the source classes numbered 0..C1-1 and the target
 * classes C1..C1+C2-1 (debiased) or 0..C2-1 (not debiased); the label index
 * is the row's class index c1 / c2 (the peer re-indexes labels in
 * ascending order, as ot_otdd_stats does).
 */
typedef struct ot_otdd_problem {
  ot_mat X1; const int *c1; const double *a;
  ot_mat X2; const int *c2; const double *b;
  ot_mat W12, W11, W22;
} ot_otdd_problem;

/*
 * Outputs (caller-owned; every pointer may be NULL when not wanted).
 * Potentials are in cost units at the final eps, with the entropic plan
 *   pi_ij = a_i b_j exp((f_ba_i + g_ab_j - C_ij) / eps)
 * (cross) and likewise (f_aa, f_aa) with C_xx for the self plan of D1,
 * (g_bb, g_bb) with C_yy for D2.  Sinkhorn mode: f_ba, g_ab (n, m) always;
 * f_aa (n), g_bb (m) when debiased.  Compat mode: the potentials after the
 * final undamped update, and the *_prev ones: those before it (the update
 * computes f_ba from g_ab_prev, so the row-normalized plan of the peer's
 * last step is pi_ij ~ b_j exp((g_ab_prev_j - C_ij) / eps)).  In sinkhorn
 * mode the *_prev outputs get the potentials before the last iteration.
 * Exact mode: f_ba, g_ab get the network simplex duals (u, v).
 * P (n x m, any ld; data NULL = none): the cross plan, dense (entropic
 * modes: from f_ba, g_ab as above; exact: the optimal plan).
 * pi, pj, mass (exact mode, room for n + m - 1): the sparse optimal plan
 * as 0-based triplets, their number in result->nnz.
 */
typedef struct ot_otdd_outputs {
  double *f_ba, *g_ab, *f_aa, *g_bb;
  double *f_ba_prev, *g_ab_prev, *f_aa_prev, *g_bb_prev;
  ot_mat P;
  size_t *pi, *pj;
  double *mass;
} ot_otdd_outputs;

typedef struct ot_otdd_outer_result {
  double value;          /* S_eps (debiased), OT_eps = <a, f> + <b, g> (not), or exact cost */
  double ot_ab, ot_aa, ot_bb; /* the dual values of the three problems (ot_aa, ot_bb: NaN
                                 when not debiased) */
  int status;            /* OT_OTDD_CONVERGED / _MAX_ITER / _NUMERIC */
  int mode;              /* the mode that ran */
  int online;            /* 1 when the cost tiles were recomputed (online form) */
  int single;            /* 1 when the feature inner products were in single precision */
  size_t cache_bytes;    /* online: bytes of cost blocks kept between sweeps */
  double cached;         /* online: the fraction of the swept cost cells kept (0..1) */
  long iterations;       /* sinkhorn: iterations at the final eps; exact: pivots;
                            compat: stages (length of the eps list) */
  long stages;           /* epsilon-scaling stages before the final eps */
  long stage_iterations; /* sinkhorn: iterations made during those stages */
  double err;            /* final L1 marginal error (largest of the problems); exact:
                            the largest marginal violation */
  double eps0;           /* first eps of the schedule */
  double diameter;       /* the diameter used for eps0 */
  size_t nnz;            /* exact: triplets written */
  double time;           /* seconds */
} ot_otdd_outer_result;

int ot_otdd_outer(const ot_otdd_problem *p, const ot_otdd_outer_opts *o, ot_otdd_outputs *out,
                  ot_otdd_outer_result *res);

/*
 * The online barycentric map of an entropic plan given by its column
 * potential: for each row i of X1,
 *
 *   T_i = sum_j pi_ij X2_j / sum_j pi_ij,
 *   log pi_ij = log b_j + g_j / eps - C_ij / eps + const_i,
 *   C_ij = lambda_x / 2 ||X1_i - X2_j||^2 + lambda_y / 2 W[c1_i][c2_j].
 *
 * T is n x d (X2.cols); b NULL = uniform; g (m) in cost units.  If
 * softmin is not NULL it gets -eps log sum_j b_j exp((g_j - C_ij) / eps)
 * (the row potential this g induces).  Tiles of rows against all columns:
 * O(tile * m + (n + m) d) memory.  For the self plan pass X1 twice with
 * W11 and the self potential.
 */
int ot_otdd_barycentric(ot_mat T, double *softmin, ot_mat X1, const int *c1, ot_mat X2,
                        const int *c2, const double *b, const double *g, ot_mat W,
                        double lambda_x, double lambda_y, double eps);

/* ---- all three steps ------------------------------------------------------ */

/*
 * OTDD between two datasets from their statistics (computed with the same
 * diagonal/moments settings): builds the label blocks (W12 into W12 when
 * its data is not NULL, C1 x C2; the debiased form also computes W11 and
 * W22 internally, or into W11/W22 when given), keeps the rows of kept
 * classes, and solves the outer problem with uniform weights.  out may be
 * NULL; its arrays are indexed by the *kept* rows (rows of dropped classes
 * skipped, order kept).
 */
int ot_otdd_distance(double *value, const ot_otdd_stats *A, const ot_otdd_stats *B,
                     const ot_otdd_label_opts *lo, const ot_otdd_outer_opts *oo,
                     ot_mat W12, ot_mat W11, ot_mat W22, ot_otdd_outputs *out,
                     ot_otdd_outer_result *res);

/* Names: "gaussian", "exact", "upper", "means" / "sinkhorn", "compat", "exact". */
const char *ot_otdd_inner_name(int inner);
const char *ot_otdd_outer_name(int mode);

#endif
