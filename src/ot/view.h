/*
 * view.h -- what a long kernel shows on the live panel.
 *
 * A kernel that wants more than the generic curves (ot_progress.err on a
 * log scale and ot_progress.objective) points ot_progress.state at an
 * ot_view it keeps up to date.  The panel (src/tui/panel.c) reads it only
 * during the progress call, so the kernel may reuse the memory afterwards;
 * every pointer is borrowed, never freed by the reader.  Fields a kind
 * does not use stay zero.
 *
 * What the panel draws from each kind (it copies what it needs during the
 * call, so a view may point at scratch memory):
 *   PLAN, MATRIX  a heatmap of mat (block means of at most 120 x 200 kept;
 *                 the axes keep the full indices); MATRIX row_names /
 *                 col_names (at most 64, 23 characters shown) label the axes
 *                 when every row / column has its own cell; title on top
 *                 (default "plan (n x m)" / "matrix (n x m)").
 *   BOUNDS        curves of values[0] (upper) and values[1] (lower) against
 *                 values[2] (solves done), one point per progress call.
 *   PARTICLES     a scatter of the first two columns of mat (or mat * proj)
 *                 coloured by labels (at most 20000 points, a regular
 *                 subsample beyond); title on top (default "particles").
 *   TRAIN         loss (values[0]) and train / test accuracy (values[1],
 *                 values[2]) against the epoch (values[3]).
 * ot_progress.err (log scale) and ot_progress.objective (when not NaN) are
 * drawn as curves next to the view in every case.  Report a view about as
 * often as the progress calls; there is no cost when no panel is shown
 * except the copy made at most five times a second.
 */
#ifndef OT_VIEW_H
#define OT_VIEW_H

#include <stddef.h>

#include "mat.h"

typedef enum ot_view_kind {
  OT_VIEW_NONE = 0,
  OT_VIEW_PLAN,       /* mat: the current coupling (n x m), drawn as a heatmap */
  OT_VIEW_MATRIX,     /* mat: any matrix (e.g. OTDD label distances), with names */
  OT_VIEW_BOUNDS,     /* values: upper, lower, solves done, budget */
  OT_VIEW_PARTICLES,  /* mat: particles n x d (first two columns drawn, or
                         projected by proj d x 2), labels: n labels */
  OT_VIEW_TRAIN       /* values: loss, train acc, test acc, epoch */
} ot_view_kind;

typedef struct ot_view {
  int kind;                     /* an ot_view_kind */
  ot_mat mat;                   /* PLAN, MATRIX, PARTICLES */
  const ot_mat *proj;           /* PARTICLES: optional d x 2 projection */
  const double *labels;         /* PARTICLES: one label per row, or NULL */
  const char *const *row_names; /* MATRIX: optional axis names (rows) */
  const char *const *col_names; /* MATRIX: optional axis names (columns) */
  double values[4];             /* BOUNDS, TRAIN: see the kinds above */
  const char *title;            /* optional caption, e.g. "digits 0-4 -> 5-9" */
} ot_view;

#endif
