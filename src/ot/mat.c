/*
 * mat.c -- basic operations on matrix views (see mat.h).
 */
#include <math.h>
#include <string.h>

#include "mat.h"
#include "ot.h"

ot_mat ot_mat_view(double *data, size_t rows, size_t cols) {
  ot_mat m = {rows, cols, cols, data};
  return m;
}

ot_mat ot_mat_block(ot_mat m, size_t r0, size_t c0, size_t nr, size_t nc) {
  ot_mat b = {nr, nc, m.ld, m.data + r0 * m.ld + c0};
  return b;
}

int ot_mat_is_contiguous(ot_mat m) { return m.ld == m.cols || m.rows <= 1; }

size_t ot_mat_numel(ot_mat m) { return m.rows * m.cols; }

void ot_mat_fill(ot_mat m, double v) {
  for (size_t i = 0; i < m.rows; i++) {
    double *r = m.data + i * m.ld;
    for (size_t j = 0; j < m.cols; j++) r[j] = v;
  }
}

int ot_mat_copy(ot_mat dst, ot_mat src) {
  if (dst.rows != src.rows || dst.cols != src.cols) return OT_ESHAPE;
  for (size_t i = 0; i < src.rows; i++)
    memmove(dst.data + i * dst.ld, src.data + i * src.ld, src.cols * sizeof(double));
  return OT_OK;
}

int ot_mat_transpose(ot_mat dst, ot_mat src) {
  if (dst.rows != src.cols || dst.cols != src.rows) return OT_ESHAPE;
  enum { B = 32 }; /* tile so both sides stay in cache */
  for (size_t i0 = 0; i0 < src.rows; i0 += B)
    for (size_t j0 = 0; j0 < src.cols; j0 += B) {
      size_t i1 = i0 + B < src.rows ? i0 + B : src.rows;
      size_t j1 = j0 + B < src.cols ? j0 + B : src.cols;
      for (size_t i = i0; i < i1; i++)
        for (size_t j = j0; j < j1; j++) OT_AT(dst, j, i) = OT_AT(src, i, j);
    }
  return OT_OK;
}

int ot_mat_all_finite(ot_mat m, size_t *bad_i, size_t *bad_j) {
  for (size_t i = 0; i < m.rows; i++)
    for (size_t j = 0; j < m.cols; j++)
      if (!isfinite(OT_AT(m, i, j))) {
        if (bad_i) *bad_i = i;
        if (bad_j) *bad_j = j;
        return 0;
      }
  return 1;
}
