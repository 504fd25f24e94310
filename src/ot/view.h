/*
 * view.h -- what a long kernel shows on the live panel.
 *
 * A kernel that wants more than the generic curves (ot_progress.err on a
 * log scale and ot_progress.objective) points ot_progress.state at an
 * ot_view it keeps up to date.  The panel (src/tui/panel.c) reads it only
 * during the progress call, so the kernel may reuse the memory afterwards;
 * every pointer is borrowed, never freed by the reader.  Fields a kind
 * does not use stay zero.
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
