/*
 * mat.h -- dense matrix views.
 *
 * An ot_mat is a view that owns nothing: `rows` x `cols` doubles, row-major,
 * element (i, j) at data[i * ld + j], with ld >= cols (ld may exceed cols for
 * a block of a larger matrix; a column of a matrix is a rows x 1 view with
 * the parent's ld).  Kernels take views and write into outputs the caller
 * passes in (the output comes first, as in TH's r_ argument).
 */
#ifndef OT_MAT_H
#define OT_MAT_H

#include <stddef.h>

typedef struct ot_mat {
  size_t rows, cols;
  size_t ld;     /* distance between rows, in doubles */
  double *data;  /* not owned */
} ot_mat;

#define OT_AT(m, i, j) ((m).data[(size_t)(i) * (m).ld + (size_t)(j)])

/* A view of `rows` x `cols` contiguous doubles at data. */
ot_mat ot_mat_view(double *data, size_t rows, size_t cols);
/* The block [r0, r0+nr) x [c0, c0+nc) of m; the caller checks bounds. */
ot_mat ot_mat_block(ot_mat m, size_t r0, size_t c0, size_t nr, size_t nc);
/* 1 when the rows lie back to back (ld == cols or a single row). */
int ot_mat_is_contiguous(ot_mat m);
/* Number of elements, rows * cols (the caller checked it fits). */
size_t ot_mat_numel(ot_mat m);

/* Element operations.  Shapes are checked: OT_ESHAPE on mismatch. */
void ot_mat_fill(ot_mat m, double v);
int ot_mat_copy(ot_mat dst, ot_mat src);
int ot_mat_transpose(ot_mat dst, ot_mat src);   /* dst is src.cols x src.rows */

/* 1 when every element is finite; otherwise 0 and *bad_i, *bad_j locate one. */
int ot_mat_all_finite(ot_mat m, size_t *bad_i, size_t *bad_j);

#endif
