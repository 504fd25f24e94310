/*
 * bounds.h -- certified mini-batch upper and lower bounds on OT
 * (specs/bounds.md).
 *
 * X = {x_1..x_n}, Y = {y_1..y_n}, uniform weights 1/n, cost C_ij = c(x_i, y_j)
 * (squared Euclidean, Euclidean, or a precomputed n x n matrix); OT is the
 * optimal assignment cost (1/n) min_sigma sum_i C_i,sigma(i).
 *
 * The points are split into k = n / m batches A_1..A_k of X and B_1..B_k
 * of Y (m must divide n).  D_ab = OT(unif(A_a), unif(B_b)) is one "solve"
 * (an m x m assignment).  Upper bounds: for any permutation sigma of the
 * batches, (1/k) sum_a D_a,sigma(a) >= OT (the batch plans lifted into their
 * blocks form a feasible coupling).  The strategy picks which pairs E are
 * solved within a budget of solves, and the upper bound is the best
 * permutation inside E:
 *   diag       E = {(a, a)}: mini-batch averaging (k solves)
 *   all, opt   every pair (k^2 solves): reports diag, all (mean of all D_ab)
 *              and opt (the optimal coupling of the batches)
 *   circulant  E_r = {(a, a + s mod k) : s < r}, r = floor(budget / k)
 *   random     the diagonal and r - 1 seeded random permutations
 *   knn        the proxy-optimal permutation and each row's nearest batches
 *              by a proxy p_ab <= D_ab (distance of the batch means), r per row
 *   adaptive   solve the assignment on W (D where solved, the proxy
 *              elsewhere); solve the pairs it uses; repeat until it uses only
 *              solved pairs (then the upper bound is opt: certified) or the
 *              budget is spent.
 * Every set is nested in the budget, so the upper bound never increases as
 * the budget grows.
 *
 * Lower bounds (each reads every cost once per pass, streamed in tiles of
 * rows: O(n) memory besides what is said):
 *   nn    max(mean_i min_j C_ij, mean_j min_i C_ij)
 *   dual  the potentials f of the first solve of each source batch, shifted
 *         per batch by the best offsets t (a k x n transport problem on
 *         h_aj = min_{i in A_a} C_ij - f_i: k x n doubles), then two
 *         c-transforms; dual-feasible by construction.
 *   semi  (1/k) sum_a (1/m) min over injective maps A_a -> Y, and the same
 *         from Y to X; the max of the two.  One (m + 1) x n transport
 *         problem per batch and direction ((m + 1) n doubles per solve).
 * lower = the max of the requested ones.
 *
 * Structure of the work (so that a later distributed version can hand the
 * pair solves to other processes): the strategy decides which pairs are
 * solved next (select), each pair is solved independently from the points
 * of its two batches (one m x m block per worker thread, OpenMP), and the
 * k x k matrix of solved values is reduced by one k x k assignment.
 *
 * Threads: pair solves run in an OpenMP team with BLAS held to one thread;
 * each tile of the lower-bound passes is computed by a threaded GEMM, then
 * scanned by an OpenMP team (one after the other, never nested).  Rounds of
 * tiny work (m^3 x pairs < 10^6) are solved by the calling thread alone.
 *
 * Order of the work: the first round of solves (a permutation of batch
 * pairs: every source batch gets its potentials), then the lower bounds,
 * then the rest of the budget on the upper bound.
 *
 * Progress: opts.progress is called from the calling thread about every
 * opts.interval seconds with kernel "bounds", iter = solves done, max_iter =
 * budget, objective = the current upper bound (NaN before the first
 * complete permutation), err = upper - lower (inf before a lower bound),
 * state = an ot_view of kind OT_VIEW_BOUNDS with values {upper, lower,
 * solves, budget}.  A non-zero return stops the run: OT_ECANCELED.
 *
 * Distributed runs: with opts.distribute, each round of pair solves is one
 * ot_jobs batch (jobs.h): job t = pair t of the round, key (a, b, h1, h2)
 * (0-based batches; h1, h2 the two 32-bit halves of a hash of the points
 * or costs, metric, partition and solver: rows of another run do not
 * match), row (D_ab, 1 when a Sinkhorn solve hit max_iter else 0, then,
 * when some pair of the round provides dual potentials, the m potentials f
 * of its rows (0 for the other pairs)).  The semi-relaxed bound is one
 * batch of 2k jobs, key (direction 0 = X to Y or 1, batch, h1, h2), row (value,
 * 1 when certified optimal).  The plan's k re-solves (assign, emd) are one
 * batch (kind "plan", key (a, sigma(a), h1, h2), row the m assignment
 * columns; not fixed: sigma comes from the results).  The distributor runs
 * them wherever it likes; everything else (partition, proxies, selection,
 * the k x k reduce, the nn and dual passes, the Sinkhorn plan) runs in
 * every caller, in the same order,
 * so the results equal those of one process bit for bit.  A distributor's
 * failure status is returned as is.
 *
 * Status codes: OT_OK; OT_EINVAL (m does not divide n, m = 0, budget below
 * what the strategy needs, a bad permutation, bad option, spatial partition
 * without points); OT_ESHAPE (X, Y shapes, C not n x n); OT_EBUDGET /
 * OT_ENOMEM; OT_ECANCELED.  Nothing leaks on any return.
 */
#ifndef OT_BOUNDS_H
#define OT_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

#include "jobs.h"
#include "mat.h"
#include "ot.h"
#include "view.h"

enum { /* strategies */
  OT_BOUNDS_DIAG = 0,
  OT_BOUNDS_ALL,
  OT_BOUNDS_OPT,
  OT_BOUNDS_CIRCULANT,
  OT_BOUNDS_RANDOM,
  OT_BOUNDS_KNN,
  OT_BOUNDS_ADAPTIVE,
  OT_BOUNDS_NSTRATEGIES
};

enum { /* partitions */
  OT_BOUNDS_SHUFFLE = 0, /* seeded random permutations of X and of Y */
  OT_BOUNDS_ORDERED,     /* consecutive index blocks */
  OT_BOUNDS_SPATIAL,     /* sorted along a seeded random direction (points only) */
  OT_BOUNDS_GIVEN,       /* opts.perm_x, opts.perm_y */
  OT_BOUNDS_NPARTITIONS
};

enum { /* inner solvers */
  OT_BOUNDS_ASSIGN = 0,  /* LAPJV (ot_assign_solve) */
  OT_BOUNDS_EMD,         /* network simplex (ot_emd_solve) */
  OT_BOUNDS_SINKHORN,    /* log-domain Sinkhorn, rounded to a feasible plan */
  OT_BOUNDS_NSOLVERS
};

enum { /* lower bounds, a bit set */
  OT_BOUNDS_LOWER_NN = 1,
  OT_BOUNDS_LOWER_DUAL = 2,
  OT_BOUNDS_LOWER_SEMI = 4
};

/* The two samples: points X, Y (n x d each) with a metric, or a cost matrix. */
typedef struct ot_bounds_problem {
  ot_mat X, Y;  /* n x d each (the costs when C.data == NULL; with C, optional,
                   used only by the spatial partition) */
  ot_mat C;     /* precomputed n x n cost (any ld), or data NULL */
  int metric;   /* OT_METRIC_SQEUCLIDEAN or OT_METRIC_EUCLIDEAN (cost.h) */
} ot_bounds_problem;

typedef struct ot_bounds_opts {
  size_t m;                 /* batch size; must divide n (default 0 = invalid) */
  long budget;              /* solves allowed; 0 (default) = what the strategy needs:
                               k for diag, k^2 for all/opt, 4k (at most k^2) otherwise */
  int strategy;             /* OT_BOUNDS_*; default OT_BOUNDS_CIRCULANT */
  int partition;            /* default OT_BOUNDS_SHUFFLE */
  const size_t *perm_x;     /* OT_BOUNDS_GIVEN: n indices each, a permutation of 0..n-1; */
  const size_t *perm_y;     /*   batch a is perm[a m .. a m + m - 1] */
  uint64_t seed;            /* partitions and random pair sets; default 0 */
  int solver;               /* default OT_BOUNDS_ASSIGN */
  double reg;               /* Sinkhorn: reg = this * the block's largest cost (default 0.01) */
  long sinkhorn_max_iter;   /* default 1000 */
  double sinkhorn_tol;      /* default 1e-9 */
  int lower;                /* OT_BOUNDS_LOWER_* bits; default NN | DUAL */
  int want_plan;            /* 1: fill result plan_* (re-solves the k chosen pairs) */
  int threads;              /* OpenMP threads for the pair solves; 0 = default */
  ot_progress_fn progress;  /* NULL = none; see the top of this file */
  void *progress_ud;
  double interval;          /* seconds between progress calls; default 0.05 */
  ot_jobs_fn distribute;    /* NULL (default): every solve here; else each round of pair
                               solves (kind "pairs") and the semi-relaxed solves (kind
                               "semi") go through it, see "Distributed runs" above */
  void *distribute_ud;
} ot_bounds_opts;

/* Defaults as above (m = 0 must be set by the caller). */
void ot_bounds_opts_init(ot_bounds_opts *opts);

/* Names ("diag", "shuffle", "assign", ...); parse returns OT_EINVAL for unknown names. */
const char *ot_bounds_strategy_name(int strategy);
const char *ot_bounds_partition_name(int partition);
const char *ot_bounds_solver_name(int solver);
int ot_bounds_strategy_parse(const char *name, int *out);
int ot_bounds_partition_parse(const char *name, int *out);
int ot_bounds_solver_parse(const char *name, int *out);

/*
 * Results.  Values not computed are NaN.  Arrays are owned by the result
 * (ot_malloc) and released by ot_bounds_result_free; on a non-OK return they
 * are already released (NULL) and only the counters (solves) are kept.
 */
typedef struct ot_bounds_result {
  size_t n, m, k;
  double upper;             /* = budgeted: the best permutation inside the solved pairs */
  double lower;             /* max of the requested lower bounds */
  double diag, all, opt;    /* when every pair they need was solved (opt also when certified) */
  double budgeted;
  double nn, dual, semi;
  int certified;            /* 1: upper == opt (every pair solved, or the proxy certificate) */
  long solves;              /* pair solves made (plan re-solves not counted) */
  long budget;              /* the budget used (after the default) */
  long rounds;              /* selection rounds (adaptive: assignments on W) */
  long inner_unconverged;   /* Sinkhorn solves that hit max_iter (still feasible after rounding) */
  size_t npairs;            /* == solves */
  size_t *pair_a, *pair_b;  /* the solved pairs in order (0-based batches) */
  double *pair_d;           /* and their D_ab */
  size_t *sigma;            /* k: the batch coupling a -> sigma[a] of the upper bound */
  size_t *perm_x, *perm_y;  /* n each: the partition (batch a = entries a m .. a m + m - 1) */
  size_t plan_nnz;          /* want_plan: triplets (i, j, mass), 0-based, sorted by i */
  size_t *plan_i, *plan_j;
  double *plan_mass;
  double time_solves, time_lower, time_plan, time_total; /* seconds */
} ot_bounds_result;

void ot_bounds_result_free(ot_bounds_result *r);

/*
 * Compute the bounds.  n = X.rows = Y.rows (or C.rows = C.cols), n >= 1;
 * inputs trusted finite.  *res is overwritten (call ot_bounds_result_free
 * after OT_OK).  Status codes: see the top of this file.
 */
int ot_bounds_minibatch(const ot_bounds_problem *prob, const ot_bounds_opts *opts,
                        ot_bounds_result *res);

/*
 * Solve one pair: D_ab for batch rows ia[0..m) of X and columns jb[0..m) of
 * Y under opts' solver, writing the potentials of the rows into f (m, may be
 * NULL) and, when perm is not NULL, the batch plan as an assignment
 * perm[r] = column index (r-th row to the perm[r]-th column; assignment and
 * emd solvers only).  The building block of ot_bounds_minibatch, exposed
 * for distributed drivers.  Allocates its scratch (O(m^2)) and frees it.
 */
int ot_bounds_solve_pair(const ot_bounds_problem *prob, const ot_bounds_opts *opts,
                         const size_t *ia, const size_t *jb, size_t m, double *D, double *f,
                         size_t *perm);

/*
 * The incomplete mini-batch estimator of Fatras et al. (2020): the mean over
 * q pairs of independent uniformly random m-subsets (of X and of Y) of their
 * OT (m x m assignment).  With complete = 1 every C(n, m)^2 pair of subsets
 * is enumerated instead (q ignored; OT_EINVAL when more than 10^7 pairs).
 * An estimate of E[OT of mini-batches], NOT a bound on OT.  X (nx x d) and
 * Y (ny x d) may differ in size (or C nx x ny).  *stderr_out: the standard
 * error of the mean (0 for complete).
 */
int ot_bounds_fatras(const ot_bounds_problem *prob, size_t m, long q, uint64_t seed,
                     int complete, double *value, double *stderr_out, long *pairs);

#endif
