/*
 * assign.c -- the Jonker-Volgenant assignment algorithm (LAPJV) with duals.
 * See assign.h for the problem, the reference and the contract.
 *
 * Notation: x[i] is the column of row i (-1: free), y[j] the row of column
 * j (-1: free), v[j] the column prices.  The reduced cost of (i, j) is
 * C_ij - v_j; a row's potential is the smallest reduced cost of its row,
 * and an assigned row is always assigned to a column where that minimum is
 * attained (the invariant every phase keeps).
 */
#include "assign.h"

#include <math.h>
#include <string.h>

#include "alloc.h"

void ot_assign_opts_init(ot_assign_opts *opts) {
  memset(opts, 0, sizeof *opts);
  opts->interval = 0.05;
}

/*
 * Row i's smallest and second smallest reduced costs C_ij - v_j, with the
 * columns where they occur (*j2 = -1 when n = 1, *u2 = INFINITY).
 */
static void two_smallest(const double *c, const double *v, long n, double *u1, long *j1,
                         double *u2, long *j2) {
  double a = c[0] - v[0], b = INFINITY;
  long ja = 0, jb = -1;
  for (long j = 1; j < n; j++) {
    double h = c[j] - v[j];
    if (h < b) {
      if (h >= a) {
        b = h;
        jb = j;
      } else {
        b = a;
        jb = ja;
        a = h;
        ja = j;
      }
    }
  }
  *u1 = a;
  *j1 = ja;
  *u2 = b;
  *j2 = jb;
}

/*
 * The solver.  Phases (numbers as in Jonker & Volgenant 1987, section 4):
 * 1 column reduction, 2 reduction transfer, 3 augmenting row reduction
 * (twice), 4 shortest augmenting paths.  Scratch: six arrays of n.
 */
int ot_assign_solve(ot_mat C, const ot_assign_opts *opts_in, size_t *sigma, double *u_out,
                    double *v_out, double *cost) {
  ot_assign_opts defaults;
  if (!opts_in) {
    ot_assign_opts_init(&defaults);
    opts_in = &defaults;
  }
  const ot_assign_opts *opts = opts_in;
  if (C.rows != C.cols) return OT_ESHAPE;
  if (C.rows == 0) return OT_EINVAL;
  const long n = (long)C.rows;
  const size_t ld = C.ld;
  int rc = OT_OK;
  long *x = NULL, *y = NULL, *freerows = NULL, *col = NULL, *pred = NULL;
  double *v = NULL, *d = NULL;
  if ((rc = ot_malloc((size_t)n * sizeof *x, &x)) || (rc = ot_malloc((size_t)n * sizeof *y, &y)) ||
      (rc = ot_malloc((size_t)n * sizeof *freerows, &freerows)) ||
      (rc = ot_malloc((size_t)n * sizeof *col, &col)) ||
      (rc = ot_malloc((size_t)n * sizeof *pred, &pred)) ||
      (rc = ot_alloc_doubles((size_t)n, 1, &v)) || (rc = ot_alloc_doubles((size_t)n, 1, &d)))
    goto done;
#define ROW(i) (C.data + (size_t)(i) * ld)

  /* 1. Column reduction: v_j = min_i C_ij; a row takes the first column
   * (from the right) whose minimum it holds. */
  long *matches = pred; /* scratch reuse: number of column minima held by each row */
  for (long i = 0; i < n; i++) {
    x[i] = -1;
    matches[i] = 0;
  }
  for (long j = n - 1; j >= 0; j--) {
    long imin = 0;
    double mn = ROW(0)[j];
    for (long i = 1; i < n; i++)
      if (ROW(i)[j] < mn) {
        mn = ROW(i)[j];
        imin = i;
      }
    v[j] = mn;
    if (matches[imin]++ == 0) {
      x[imin] = j;
      y[j] = imin;
    } else {
      y[j] = -1;
    }
  }

  /* 2. Reduction transfer: a row holding exactly one column minimum lowers
   * that column's price to the row's second best reduced cost. */
  long nfree = 0;
  for (long i = 0; i < n; i++) {
    if (matches[i] == 0) {
      freerows[nfree++] = i;
    } else if (matches[i] == 1) {
      long j1 = x[i];
      double mn = INFINITY;
      const double *c = ROW(i);
      for (long j = 0; j < n; j++)
        if (j != j1 && c[j] - v[j] < mn) mn = c[j] - v[j];
      if (mn < INFINITY) v[j1] -= mn - (c[j1] - v[j1]) > 0 ? mn - (c[j1] - v[j1]) : 0.0;
    }
  }

  /* 3. Augmenting row reduction, two passes.  A free row takes its best
   * column, displacing that column's row; when its best is strictly better
   * than its second best the price drops by the difference and the
   * displaced row is processed at once, otherwise it waits for the next
   * pass.  A cap on the work keeps rounding ties from looping. */
  for (int pass = 0; pass < 2 && nfree > 0; pass++) {
    long k = 0, prev = nfree, guard = 0;
    const long cap = 16 * n + 100;
    nfree = 0;
    while (k < prev) {
      long i = freerows[k++];
      if (++guard > cap) { /* give the rest to phase 4 */
        freerows[nfree++] = i;
        continue;
      }
      double u1, u2;
      long j1, j2;
      two_smallest(ROW(i), v, n, &u1, &j1, &u2, &j2);
      long i0 = y[j1];
      if (u1 < u2) {
        v[j1] -= u2 - u1;
      } else if (i0 >= 0 && j2 >= 0) {
        j1 = j2;
        i0 = y[j2];
      }
      if (i0 >= 0) x[i0] = -1;
      x[i] = j1;
      y[j1] = i;
      if (i0 >= 0) {
        if (u1 < u2)
          freerows[--k] = i0; /* again in this pass */
        else
          freerows[nfree++] = i0; /* next pass */
      }
    }
  }

  /* 4. Shortest augmenting path from each free row (Dijkstra on reduced
   * costs).  col[] is partitioned into ready [0, low), the current
   * minimum set [low, up) and the rest [up, n). */
  const long nfree0 = nfree;
  double last_report = -INFINITY; /* the first augmentation reports */
  for (long f = 0; f < nfree0; f++) {
    const long fr = freerows[f];
    if (opts->progress && ot_clock() - last_report >= opts->interval) {
      last_report = ot_clock();
      ot_progress p = {"assign", f, nfree0, (double)(nfree0 - f), NAN, 0.0, NULL};
      if (opts->progress(opts->progress_ud, &p)) {
        rc = OT_ECANCELED;
        goto done;
      }
    }
    const double *cf = ROW(fr);
    for (long j = 0; j < n; j++) {
      d[j] = cf[j] - v[j];
      pred[j] = fr;
      col[j] = j;
    }
    long low = 0, up = 0, last = 0, endofpath = -1;
    double mn = 0.0;
    while (endofpath < 0) {
      if (up == low) {
        /* New minimum set. */
        last = low - 1;
        mn = d[col[up++]];
        for (long k = up; k < n; k++) {
          long j = col[k];
          double h = d[j];
          if (h <= mn) {
            if (h < mn) {
              up = low;
              mn = h;
            }
            col[k] = col[up];
            col[up++] = j;
          }
        }
        for (long k = low; k < up; k++)
          if (y[col[k]] < 0) {
            endofpath = col[k];
            break;
          }
        if (endofpath >= 0) break;
      }
      /* Scan one column of the minimum set. */
      long j1 = col[low++];
      long i = y[j1];
      const double *ci = ROW(i);
      double u1 = ci[j1] - v[j1] - mn;
      for (long k = up; k < n; k++) {
        long j = col[k];
        double h = ci[j] - v[j] - u1;
        if (h < d[j]) {
          d[j] = h;
          pred[j] = i;
          if (h == mn) {
            if (y[j] < 0) {
              endofpath = j;
              break;
            }
            col[k] = col[up];
            col[up++] = j;
          }
        }
      }
    }
    /* Prices of the ready columns, then the augmentation. */
    for (long k = 0; k <= last; k++) {
      long j = col[k];
      v[j] += d[j] - mn;
    }
    long i;
    do {
      i = pred[endofpath];
      y[endofpath] = i;
      long j = endofpath;
      endofpath = x[i];
      x[i] = j;
    } while (i != fr);
  }

  /* Outputs. */
  double total = 0.0, comp = 0.0;
  for (long i = 0; i < n; i++) {
    double c = ROW(i)[x[i]];
    if (sigma) sigma[i] = (size_t)x[i];
    if (u_out) u_out[i] = c - v[x[i]];
    double t = c - comp, s = total + t;
    comp = (s - total) - t;
    total = s;
  }
  if (v_out) memcpy(v_out, v, (size_t)n * sizeof *v);
  if (cost) *cost = total;
#undef ROW

done:
  ot_free(x);
  ot_free(y);
  ot_free(freerows);
  ot_free(col);
  ot_free(pred);
  ot_free(v);
  ot_free(d);
  return rc;
}
