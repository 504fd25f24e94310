/*
 * assign.h -- the dense linear assignment problem with dual potentials,
 * by the Jonker-Volgenant algorithm (LAPJV).
 *
 *     minimise  sum_i C[i][sigma(i)]  over permutations sigma of 0..n-1
 *
 * R. Jonker and A. Volgenant, "A shortest augmenting path algorithm for
 * dense and sparse linear assignment problems", Computing 38 (1987)
 * 325-340: column reduction, reduction transfer, two passes of augmenting
 * row reduction, then one Dijkstra-like shortest augmenting path per row
 * still free.  O(n^3) in the worst case, much less on typical costs.
 *
 * Duals: on return u[i] + v[j] = C[i][j] for j = sigma(i) (exactly:
 * u[i] is computed as C[i][sigma(i)] - v[sigma(i)]) and
 * C[i][j] - u[i] - v[j] >= 0 for every (i, j), up to rounding of a few
 * ulps of max |C| (the prices are sums of cost differences).  Hence
 * sum_i u[i] + sum_j v[j] = the optimal cost, a certificate of optimality.
 *
 * Relation to OT: for uniform weights a = b = 1/n the optimal plan of
 * ot_emd_solve is sigma / n, its cost is (1/n) sum_i C[i][sigma(i)], and
 * (u, v) are optimal OT duals (u_i + v_j <= C_ij, sum a u + sum b v = cost).
 *
 * C API for other modules (the bounds module calls it directly):
 *
 *   ot_assign_opts o; ot_assign_opts_init(&o);
 *   size_t *sigma = ...n...; double *u = ...n..., *v = ...n..., cost;
 *   int rc = ot_assign_solve(C, &o, sigma, u, v, &cost);
 *
 * Inputs are trusted to be finite (validate first).  The function
 * allocates O(n) scratch with ot_malloc and frees it before returning.
 */
#ifndef OT_ASSIGN_H
#define OT_ASSIGN_H

#include <stddef.h>

#include "mat.h"
#include "ot.h"

typedef struct ot_assign_opts {
  ot_progress_fn progress;  /* NULL = none; called before the first augmentation, then
                               about every `interval` seconds during the augmentation
                               phase: kernel "assign", iter = rows
                               augmented, max_iter = rows free after the reductions,
                               err = rows still free, objective NaN */
  void *progress_ud;
  double interval;          /* seconds between progress calls; default 0.05 */
} ot_assign_opts;

/* Defaults: no progress, 0.05 s. */
void ot_assign_opts_init(ot_assign_opts *opts);

/*
 * Solve the assignment problem for the square cost matrix C (n x n, any
 * ld, n >= 1).  Outputs, caller-owned:
 *   sigma  n entries: sigma[i] = the column assigned to row i (0-based);
 *   u, v   n entries each, dual potentials (either may be NULL);
 *   cost   sum_i C[i][sigma(i)] (may be NULL).
 * opts may be NULL (defaults).
 * Status: OT_OK; OT_ESHAPE when C is not square; OT_EINVAL when n = 0;
 * OT_EBUDGET / OT_ENOMEM (scratch); OT_ECANCELED when the progress callback
 * returned non-zero (outputs not written).
 */
int ot_assign_solve(ot_mat C, const ot_assign_opts *opts, size_t *sigma, double *u, double *v,
                    double *cost);

#endif
