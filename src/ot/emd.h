/*
 * emd.h -- exact optimal transport: the network simplex on the complete
 * bipartite graph, and the 1-D closed forms.
 *
 * The transportation problem
 *
 *     minimise  sum_ij C_ij P_ij   over P >= 0 with  P 1 = a,  P^T 1 = b
 *
 * is solved by the primal network simplex with block-search pivoting
 * (Dantzig, 1951; Ahuja, Magnanti & Orlin, "Network Flows", 1993, ch. 11;
 * the pivoting rule of LEMON's NetworkSimplex that POT ships): a spanning
 * tree of basic arcs over n source nodes, m sink nodes and an artificial
 * root, started from the artificial basis (every source sends its mass to
 * the root, the root serves every sink at a cost above every C_ij).  Arcs
 * are never stored: the entering arc is found by scanning the implicit
 * n x m arc set in blocks of about sqrt(n m) arcs, picking the most
 * negative reduced cost of the first block that has one.  The leaving arc
 * is chosen by the ratio test with the strongly-feasible-tree tie rule
 * (Cunningham, 1976), which prevents cycling on degenerate pivots.
 *
 * Costs come either from an n x m matrix C or from two point clouds X
 * (n x d) and Y (m x d) with C_ij = ||x_i - y_j||^2 evaluated on the fly,
 * so that large problems never need an n x m matrix: memory is O(n + m)
 * (plus O(m d) for a transposed copy of Y).
 *
 * Exactness: weights are doubles.  The solver rescales b by sum(a)/sum(b)
 * (as POT does), points with zero weight are dropped from the graph and put
 * back in the result, and at the end the flows and potentials are
 * recomputed exactly from the final tree (flows from the supplies by one
 * bottom-up pass, potentials from the root by one top-down pass), so the
 * marginals hold to rounding of one summation, not of every pivot.
 * Optimality is certified by a full scan of the reduced costs with those
 * exact potentials: every C_ij - u_i - v_j >= -tol * scale, scale =
 * max |C_ij|.  If the scan finds a violation the simplex resumes.  When
 * the pivot cap is hit, the result says so (OT_EMD_MAX_ITER): never a
 * silently sub-optimal plan.
 *
 * Duals: u_i + v_j = C_ij on every basic arc with positive flow and
 * C_ij - u_i - v_j >= -tol * scale everywhere, for zero-weight points too
 * (their potentials are the largest feasible ones).  They are centred as
 * POT's center_dual does: a constant c is added to u and removed from v so
 * that sum_i a_i u_i = sum_j b_j v_j (the value of the dual objective is
 * unchanged).
 *
 * The plan is returned as sparse triplets (i, j, mass), 0-based, sorted by
 * i then j, only entries with mass > 0: at most n + m - 1 of them.
 *
 * Status codes of every function: OT_OK, OT_EINVAL (an argument out of its
 * domain: negative or non-finite weight, unequal or zero sums, empty
 * problem, more than INT_MAX - 1 nodes, bad option), OT_ESHAPE (shapes of C,
 * X, Y disagree), OT_EBUDGET / OT_ENOMEM (scratch memory, nothing leaked),
 * OT_ECANCELED (the progress callback returned non-zero: the outputs then
 * hold the current basic solution, result->status = OT_EMD_CANCELED).
 * Inputs are trusted to be finite except where said (the Lua bindings
 * validate them once); the solver still checks the weights.
 */
#ifndef OT_EMD_H
#define OT_EMD_H

#include <stddef.h>

#include "mat.h"
#include "ot.h"

/* Outcome of a solve (ot_emd_result.status). */
enum {
  OT_EMD_OPTIMAL = 0,   /* certified optimal to tol */
  OT_EMD_MAX_ITER,      /* the pivot cap was reached: plan feasible only if err == 0 */
  OT_EMD_CANCELED       /* the progress callback stopped the solve */
};

typedef struct ot_emd_opts {
  long max_iter;            /* cap on pivots; <= 0 = ot_emd_default_max_iter(n, m) */
  double tol;               /* relative reduced-cost tolerance: an arc enters when
                               C_ij - u_i - v_j < -tol * scale; default 1e-12 */
  size_t block;             /* arcs per pricing block; 0 (default) = max(sqrt(n m), 64) */
  ot_progress_fn progress;  /* NULL = none; called at the first check (after 16 pivots or
                               8 pricing blocks), then about every `interval` seconds, with
                               iter = pivots, err = mass still on artificial arcs,
                               objective = NaN (not tracked), kernel = "emd" */
  void *progress_ud;
  double interval;          /* seconds between progress calls; default 0.05 */
} ot_emd_opts;

/* Defaults: max_iter 0 (automatic), tol 1e-12, automatic block, no progress, 0.05 s. */
void ot_emd_opts_init(ot_emd_opts *opts);

/*
 * The default pivot cap for an n x m problem: 100000 + 1000 (n + m)
 * (POT's fixed 100000 stops larger problems before optimality; the number
 * of pivots grows roughly linearly with n + m, measured at 10-50 (n + m)
 * on random instances).
 */
long ot_emd_default_max_iter(size_t n, size_t m);

typedef struct ot_emd_result {
  size_t nnz;         /* number of triplets written (<= n + m - 1) */
  double cost;        /* sum over the plan of mass * C_ij */
  double dual;        /* sum a_i u_i + sum b_j v_j */
  double min_rc;      /* smallest reduced cost C_ij - u_i - v_j seen by the final scan
                         (NaN when no final scan was made) */
  double err;         /* largest marginal violation of the returned plan (absolute) */
  long iterations;    /* pivots made */
  int status;         /* OT_EMD_OPTIMAL, OT_EMD_MAX_ITER or OT_EMD_CANCELED */
} ot_emd_result;

/*
 * Problem data.  Exactly one cost source: C (n x m, any ld) when C.data is
 * not NULL, otherwise the points X (n x d) and Y (m x d), squared
 * Euclidean.  a (n) and b (m): weights >= 0, finite, positive sums that
 * agree to 1e-9 relative (b is rescaled to sum(a) inside; a and b are not
 * modified).  Nothing is owned; all must outlive the call.
 */
typedef struct ot_emd_problem {
  size_t n, m;
  const double *a, *b;
  ot_mat C;
  ot_mat X, Y;
} ot_emd_problem;

/*
 * Solve.  Outputs (caller-owned, any may be NULL when not wanted):
 *   pi, pj, mass  room for n + m - 1 triplets (0-based row, column, mass);
 *   u (n), v (m)  dual potentials;
 *   res           the summary (required).
 * Status codes: see the top of this file.  On OT_ECANCELED the outputs are
 * written for the current basis (marginals may be violated: see res->err).
 */
int ot_emd_solve(const ot_emd_problem *prob, const ot_emd_opts *opts, size_t *pi, size_t *pj,
                 double *mass, double *u, double *v, ot_emd_result *res);

/* ---- one dimension ------------------------------------------------------- */

/* Ground costs of the 1-D solvers: |x - y|^2, |x - y|, |x - y|^p. */
enum { OT_EMD1D_SQEUCLIDEAN = 0, OT_EMD1D_EUCLIDEAN, OT_EMD1D_MINKOWSKI };

/*
 * Exact 1-D OT between sum_i a_i delta(x_i) and sum_j b_j delta(y_j) for a
 * convex cost of |x - y| (metric OT_EMD1D_*, p >= 1 for Minkowski): the
 * monotone (north-west corner) coupling of the sorted points, which is
 * optimal for such costs.  O((n + m) log(n + m)).
 * a, b: weights (NULL = uniform 1/n, 1/m), >= 0 with equal positive sums to
 * 1e-9 relative (b is rescaled to sum(a)).  Writes up to n + m - 1 triplets
 * (0-based indices into x and y, sorted by position along the line) into
 * pi, pj, mass when they are not NULL, their number into *nnz (may be
 * NULL), and the cost into *cost.
 * Status: OT_OK, OT_EINVAL (empty, bad weights or metric or p),
 * OT_EBUDGET / OT_ENOMEM.
 */
int ot_emd_1d(const double *x, size_t n, const double *y, size_t m, const double *a,
              const double *b, int metric, double p, size_t *pi, size_t *pj, double *mass,
              size_t *nnz, double *cost);

/*
 * POT's wasserstein_1d: integral over q in (0, 1) of |F_u^{-1}(q) - F_v^{-1}(q)|^p,
 * that is W_p^p (the p-th power of the p-Wasserstein distance, not its root),
 * from the quantile functions of the two weighted samples; the same monotone
 * coupling as ot_emd_1d with cost |x - y|^p.  p >= 1.  Weights as in ot_emd_1d.
 */
int ot_emd_wasserstein_1d(const double *x, size_t n, const double *y, size_t m,
                          const double *a, const double *b, double p, double *out);

#endif
