/*
 * mat.c -- operations on matrix views (see mat.h).
 *
 * Every loop walks rows through `ld`, so blocks, rows and columns of other
 * matrices (views of views included) work like contiguous matrices.  Inner
 * loops run along a row, where the memory is contiguous, and are written
 * simply enough for the compiler's vectoriser.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "linalg.h"
#include "mat.h"
#include "ot.h"

/* ---- views ---------------------------------------------------------------- */

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

int ot_mat_is_vector(ot_mat m) { return m.rows == 1 || m.cols == 1; }

/* Element k of a vector-like view. */
static double *vec_at(ot_mat v, size_t k) { return v.rows == 1 ? v.data + k : v.data + k * v.ld; }
static size_t vec_len(ot_mat v) { return v.rows == 1 ? v.cols : v.rows; }

/*
 * Address-range test: two views overlap when the spans from their first to
 * one past their last element intersect.  Interleaved views that share no
 * element (two columns of one matrix) still count as overlapping; callers
 * only use this to decide whether to copy, where a false positive is safe.
 */
int ot_mat_overlaps(ot_mat a, ot_mat b) {
  if (ot_mat_numel(a) == 0 || ot_mat_numel(b) == 0) return 0;
  uintptr_t a0 = (uintptr_t)a.data, a1 = (uintptr_t)(a.data + (a.rows - 1) * a.ld + a.cols);
  uintptr_t b0 = (uintptr_t)b.data, b1 = (uintptr_t)(b.data + (b.rows - 1) * b.ld + b.cols);
  return a0 < b1 && b0 < a1;
}

/* ---- filling and copying -------------------------------------------------- */

void ot_mat_fill(ot_mat m, double v) {
  for (size_t i = 0; i < m.rows; i++) {
    double *r = m.data + i * m.ld;
    for (size_t j = 0; j < m.cols; j++) r[j] = v;
  }
}

void ot_mat_eye(ot_mat m) {
  ot_mat_fill(m, 0.0);
  for (size_t i = 0; i < m.rows && i < m.cols; i++) OT_AT(m, i, i) = 1.0;
}

/* numpy's linspace: a + k h in row-major order, with the last value set to
 * b exactly so that rounding in k h cannot leave it short. */
void ot_mat_linspace(ot_mat m, double a, double b) {
  size_t n = ot_mat_numel(m), k = 0;
  double h = n > 1 ? (b - a) / (double)(n - 1) : 0.0;
  for (size_t i = 0; i < m.rows; i++)
    for (size_t j = 0; j < m.cols; j++, k++) OT_AT(m, i, j) = k + 1 == n && n > 1 ? b : a + (double)k * h;
}

int ot_mat_copy(ot_mat dst, ot_mat src) {
  if (dst.rows != src.rows || dst.cols != src.cols) return OT_ESHAPE;
  for (size_t i = 0; i < src.rows; i++)
    memmove(dst.data + i * dst.ld, src.data + i * src.ld, src.cols * sizeof(double));
  return OT_OK;
}

/* Walk src row by row and dst with a separate (row, column) cursor, so two
 * shapes and two strides can differ.  OT_ESHAPE unless numel agrees. */
int ot_mat_copy_flat(ot_mat dst, ot_mat src) {
  if (ot_mat_numel(dst) != ot_mat_numel(src)) return OT_ESHAPE;
  size_t di = 0, dj = 0; /* position in dst, advanced in row-major order */
  for (size_t i = 0; i < src.rows; i++)
    for (size_t j = 0; j < src.cols; j++) {
      OT_AT(dst, di, dj) = OT_AT(src, i, j);
      if (++dj == dst.cols) {
        dj = 0;
        di++;
      }
    }
  return OT_OK;
}

/* dst = src^T in 32 x 32 tiles: one side is always read or written across
 * rows, and tiling keeps both sides in cache.  OT_ESHAPE on shapes. */
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

int ot_mat_get_diag(ot_mat d, ot_mat m) {
  size_t n = m.rows < m.cols ? m.rows : m.cols;
  if (!ot_mat_is_vector(d) || vec_len(d) != n) return OT_ESHAPE;
  for (size_t k = 0; k < n; k++) *vec_at(d, k) = OT_AT(m, k, k);
  return OT_OK;
}

int ot_mat_set_diag(ot_mat m, ot_mat d) {
  if (!ot_mat_is_vector(d)) return OT_ESHAPE;
  size_t n = vec_len(d);
  if (m.rows != n || m.cols != n) return OT_ESHAPE;
  ot_mat_fill(m, 0.0);
  for (size_t k = 0; k < n; k++) OT_AT(m, k, k) = *vec_at(d, k);
  return OT_OK;
}

/* Indices are all checked before anything is written, so OT_EINVAL leaves
 * dst as it was. */
int ot_mat_gather_rows(ot_mat dst, ot_mat src, const size_t *idx) {
  if (dst.cols != src.cols) return OT_ESHAPE;
  for (size_t k = 0; k < dst.rows; k++)
    if (idx[k] >= src.rows) return OT_EINVAL;
  for (size_t k = 0; k < dst.rows; k++)
    memcpy(dst.data + k * dst.ld, src.data + idx[k] * src.ld, src.cols * sizeof(double));
  return OT_OK;
}

int ot_mat_gather_cols(ot_mat dst, ot_mat src, const size_t *idx) {
  if (dst.rows != src.rows) return OT_ESHAPE;
  for (size_t k = 0; k < dst.cols; k++)
    if (idx[k] >= src.cols) return OT_EINVAL;
  for (size_t i = 0; i < dst.rows; i++) {
    const double *s = src.data + i * src.ld;
    double *d = dst.data + i * dst.ld;
    for (size_t k = 0; k < dst.cols; k++) d[k] = s[idx[k]];
  }
  return OT_OK;
}

/*
 * Check every part against dst (matching columns for axis 1, rows for axis
 * 2, sizes adding up) before copying each into its block of dst.  Returns
 * OT_EINVAL for a bad axis, OT_ESHAPE otherwise.
 */
int ot_mat_concat(ot_mat dst, const ot_mat *parts, size_t n, int axis) {
  size_t total = 0;
  if (axis != 1 && axis != 2) return OT_EINVAL;
  for (size_t p = 0; p < n; p++) {
    if (axis == 1 ? parts[p].cols != dst.cols : parts[p].rows != dst.rows) return OT_ESHAPE;
    total += axis == 1 ? parts[p].rows : parts[p].cols;
  }
  if (total != (axis == 1 ? dst.rows : dst.cols)) return OT_ESHAPE;
  size_t at = 0; /* first row (axis 1) or column (axis 2) of the next part */
  for (size_t p = 0; p < n; p++) {
    ot_mat q = parts[p];
    ot_mat_copy(axis == 1 ? ot_mat_block(dst, at, 0, q.rows, q.cols)
                          : ot_mat_block(dst, 0, at, q.rows, q.cols), q);
    at += axis == 1 ? q.rows : q.cols;
  }
  return OT_OK;
}

/* ---- elementwise arithmetic --------------------------------------------- */

/* numpy's rule per dimension: equal sizes, or a 1 that takes the other's
 * size (so 1 against 0 gives 0). */
int ot_mat_broadcast(size_t ar, size_t ac, size_t br, size_t bc, size_t *r, size_t *c) {
  if (ar != br && ar != 1 && br != 1) return 0;
  if (ac != bc && ac != 1 && bc != 1) return 0;
  *r = ar == br ? ar : ar == 1 ? br : ar;
  *c = ac == bc ? ac : ac == 1 ? bc : ac;
  return 1;
}

/*
 * One output row: o[j] = x[j*xs] op y[j*ys] with strides 0 or 1 (0 repeats
 * a broadcast element).  The four stride cases get their own loops so the
 * common ones vectorise; EXPR combines the doubles u and v.
 */
#define ROW_LOOP(EXPR)                                                  \
  do {                                                                  \
    if (xs && ys) {                                                     \
      for (size_t j = 0; j < n; j++) {                                  \
        double u = x[j], v = y[j];                                      \
        o[j] = (EXPR);                                                  \
      }                                                                 \
    } else if (xs) {                                                    \
      double v = y[0];                                                  \
      for (size_t j = 0; j < n; j++) {                                  \
        double u = x[j];                                                \
        o[j] = (EXPR);                                                  \
      }                                                                 \
    } else if (ys) {                                                    \
      double u = x[0];                                                  \
      for (size_t j = 0; j < n; j++) {                                  \
        double v = y[j];                                                \
        o[j] = (EXPR);                                                  \
      }                                                                 \
    } else {                                                            \
      double u = x[0], v = y[0], w = (EXPR);                            \
      for (size_t j = 0; j < n; j++) o[j] = w;                          \
    }                                                                   \
  } while (0)

static void row_op(double *o, const double *x, int xs, const double *y, int ys, size_t n, int op) {
  switch (op) {
  case OT_OP_ADD: ROW_LOOP(u + v); break;
  case OT_OP_SUB: ROW_LOOP(u - v); break;
  case OT_OP_MUL: ROW_LOOP(u * v); break;
  case OT_OP_DIV: ROW_LOOP(u / v); break;
  case OT_OP_POW: ROW_LOOP(v == 2.0 ? u * u : pow(u, v)); break;
  case OT_OP_MIN: ROW_LOOP(u != u || u < v ? u : v); break; /* NaN in u or v wins */
  case OT_OP_MAX: ROW_LOOP(u != u || u > v ? u : v); break;
  case OT_OP_SET: ROW_LOOP(((void)u, v)); break;
  default: break;
  }
}

/*
 * Row by row: a one-row operand gives the same row for every i, a
 * one-column operand a stride of 0 inside the row (see row_op).  Reading
 * element j of an operand before writing element j of out makes out == a
 * or out == b safe.  OT_EINVAL for op, OT_ESHAPE for shapes.
 */
int ot_mat_binop(ot_mat out, ot_mat a, int op, ot_mat b) {
  size_t r, c;
  if (op < 0 || op >= OT_OP_COUNT) return OT_EINVAL;
  if (!ot_mat_broadcast(a.rows, a.cols, b.rows, b.cols, &r, &c) || out.rows != r || out.cols != c)
    return OT_ESHAPE;
  if (r == 0 || c == 0) return OT_OK;
  int xs = a.cols == c, ys = b.cols == c; /* 0: the operand's one column is repeated */
  for (size_t i = 0; i < r; i++) {
    const double *x = a.data + (a.rows == 1 ? 0 : i * a.ld);
    const double *y = b.data + (b.rows == 1 ? 0 : i * b.ld);
    row_op(out.data + i * out.ld, x, xs, y, ys, c, op);
  }
  return OT_OK;
}

/* A scalar is a 1 x 1 operand on the stack; ot_mat_binop broadcasts it. */
int ot_mat_scalar(ot_mat out, ot_mat a, int op, double s) {
  if (out.rows != a.rows || out.cols != a.cols) return OT_ESHAPE;
  return ot_mat_binop(out, a, op, ot_mat_view(&s, 1, 1));
}

int ot_mat_rscalar(ot_mat out, double s, int op, ot_mat a) {
  if (out.rows != a.rows || out.cols != a.cols) return OT_ESHAPE;
  return ot_mat_binop(out, ot_mat_view(&s, 1, 1), op, a);
}

/* One loop per function, chosen outside the row loop, so each is a plain
 * loop over contiguous doubles.  out may be a. */
int ot_mat_apply(ot_mat out, ot_mat a, int fn) {
  if (out.rows != a.rows || out.cols != a.cols) return OT_ESHAPE;
  if (fn < 0 || fn >= OT_FN_COUNT) return OT_EINVAL;
  for (size_t i = 0; i < a.rows; i++) {
    const double *x = a.data + i * a.ld;
    double *o = out.data + i * out.ld;
    size_t n = a.cols;
    switch (fn) {
    case OT_FN_NEG: for (size_t j = 0; j < n; j++) o[j] = -x[j]; break;
    case OT_FN_ABS: for (size_t j = 0; j < n; j++) o[j] = fabs(x[j]); break;
    case OT_FN_EXP: for (size_t j = 0; j < n; j++) o[j] = exp(x[j]); break;
    case OT_FN_LOG: for (size_t j = 0; j < n; j++) o[j] = log(x[j]); break;
    case OT_FN_SQRT: for (size_t j = 0; j < n; j++) o[j] = sqrt(x[j]); break;
    default: break;
    }
  }
  return OT_OK;
}

/* NaN fails both comparisons and passes through unchanged. */
int ot_mat_clip(ot_mat out, ot_mat a, double lo, double hi) {
  if (out.rows != a.rows || out.cols != a.cols) return OT_ESHAPE;
  if (lo > hi || lo != lo || hi != hi) return OT_EINVAL;
  for (size_t i = 0; i < a.rows; i++) {
    const double *x = a.data + i * a.ld;
    double *o = out.data + i * out.ld;
    for (size_t j = 0; j < a.cols; j++) o[j] = x[j] < lo ? lo : x[j] > hi ? hi : x[j];
  }
  return OT_OK;
}

/* ---- reductions ----------------------------------------------------------- */

/*
 * Pairwise sum of n contiguous doubles: blocks of up to 128 are summed with
 * eight running partial sums, larger runs are split in halves.  The error
 * grows like log(n) instead of n (Higham, "The accuracy of floating point
 * summation", 1993, sec. 2).
 */
static double sum_run(const double *x, size_t n) {
  if (n <= 128) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; k++) s[k] += x[i + k];
    t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) t += x[i];
    return t;
  }
  size_t h = n / 2;
  h -= h % 8;
  return sum_run(x, h) + sum_run(x + h, n - h);
}

/* Neumaier's compensated accumulation: *s + *c is the running total. */
static void neumaier(double *s, double *c, double v) {
  double t = *s + v;
  if (fabs(*s) >= fabs(v))
    *c += (*s - t) + v;
  else
    *c += (v - t) + *s;
  *s = t;
}

static double prod_run(const double *x, size_t n) {
  double p = 1.0;
  for (size_t j = 0; j < n; j++) p *= x[j];
  return p;
}

/* Min or max of n >= 1 contiguous doubles; NaN propagates. */
static double extreme_run(const double *x, size_t n, int max) {
  double m = x[0];
  int nan = 0;
  if (max) {
    for (size_t j = 0; j < n; j++) {
      m = x[j] > m ? x[j] : m;
      nan |= x[j] != x[j];
    }
  } else {
    for (size_t j = 0; j < n; j++) {
      m = x[j] < m ? x[j] : m;
      nan |= x[j] != x[j];
    }
  }
  return nan ? NAN : m;
}

/*
 * A contiguous matrix is reduced as one long run (the pairwise sum then
 * spans all of it); otherwise each row is one run and the row results are
 * combined (compensated for sums).  min/max stop early at a NaN.
 */
int ot_mat_reduce(double *out, ot_mat a, int op) {
  size_t n = ot_mat_numel(a);
  if (op < 0 || op >= OT_RED_COUNT) return OT_EINVAL;
  if ((op == OT_RED_MIN || op == OT_RED_MAX) && n == 0) return OT_EINVAL;
  if (ot_mat_is_contiguous(a)) a = ot_mat_view(a.data, 1, n); /* one long run */
  switch (op) {
  case OT_RED_SUM:
  case OT_RED_MEAN: {
    double s = 0.0, c = 0.0;
    for (size_t i = 0; i < a.rows; i++) neumaier(&s, &c, sum_run(a.data + i * a.ld, a.cols));
    s += c;
    *out = op == OT_RED_SUM ? s : n ? s / (double)n : NAN;
    break;
  }
  case OT_RED_PROD: {
    double p = 1.0;
    for (size_t i = 0; i < a.rows; i++) p *= prod_run(a.data + i * a.ld, a.cols);
    *out = p;
    break;
  }
  default: { /* min, max */
    int max = op == OT_RED_MAX;
    double m = extreme_run(a.data, a.cols, max);
    for (size_t i = 1; i < a.rows && m == m; i++) {
      double r = extreme_run(a.data + i * a.ld, a.cols, max);
      m = r != r || (max ? r > m : r < m) ? r : m;
    }
    *out = m;
    break;
  }
  }
  return OT_OK;
}

/*
 * Axis 2 reduces each contiguous row as a run; axis 1 walks each column
 * down the rows (strided reads, compensated sums).  out is any vector-like
 * view, strided columns included.
 */
int ot_mat_reduce_axis(ot_mat out, ot_mat a, int op, int axis) {
  if (op < 0 || op >= OT_RED_COUNT || (axis != 1 && axis != 2)) return OT_EINVAL;
  size_t len = axis == 1 ? a.cols : a.rows;     /* values produced */
  size_t over = axis == 1 ? a.rows : a.cols;    /* values reduced into each */
  if (!ot_mat_is_vector(out) || vec_len(out) != len) {
    if (!(len == 0 && ot_mat_numel(out) == 0)) return OT_ESHAPE;
    return OT_OK;
  }
  if (len == 0) return OT_OK;
  if ((op == OT_RED_MIN || op == OT_RED_MAX) && over == 0) return OT_EINVAL;
  if (axis == 2) { /* one contiguous run per row */
    for (size_t i = 0; i < a.rows; i++) {
      const double *x = a.data + i * a.ld;
      double v;
      switch (op) {
      case OT_RED_SUM: v = sum_run(x, over); break;
      case OT_RED_MEAN: v = over ? sum_run(x, over) / (double)over : NAN; break;
      case OT_RED_PROD: v = prod_run(x, over); break;
      default: v = extreme_run(x, over, op == OT_RED_MAX); break;
      }
      *vec_at(out, i) = v;
    }
    return OT_OK;
  }
  /* axis 1: accumulate rows into out element by element (out may be strided) */
  for (size_t j = 0; j < a.cols; j++) {
    double v;
    switch (op) {
    case OT_RED_SUM:
    case OT_RED_MEAN: {
      double s = 0.0, c = 0.0;
      for (size_t i = 0; i < a.rows; i++) neumaier(&s, &c, OT_AT(a, i, j));
      v = s + c;
      if (op == OT_RED_MEAN) v = over ? v / (double)over : NAN;
      break;
    }
    case OT_RED_PROD:
      v = 1.0;
      for (size_t i = 0; i < a.rows; i++) v *= OT_AT(a, i, j);
      break;
    default: {
      int max = op == OT_RED_MAX;
      v = OT_AT(a, 0, j);
      for (size_t i = 1; i < a.rows && v == v; i++) {
        double x = OT_AT(a, i, j);
        v = x != x || (max ? x > v : x < v) ? x : v;
      }
      break;
    }
    }
    *vec_at(out, j) = v;
  }
  return OT_OK;
}

/* Index of the first extreme (or first NaN) of n >= 1 values x[k*stride]. */
static size_t argext(const double *x, size_t n, size_t stride, int max) {
  size_t best = 0;
  double m = x[0];
  if (m != m) return 0;
  for (size_t k = 1; k < n; k++) {
    double v = x[k * stride];
    if (v != v) return k;
    if (max ? v > m : v < m) {
      m = v;
      best = k;
    }
  }
  return best;
}

/* Built on argext, which keeps the first extreme and stops at the first
 * NaN; over all elements the rows are scanned in order for the same rule. */
int ot_mat_argreduce(size_t *idx, ot_mat a, int op, int axis) {
  if (op != OT_RED_MIN && op != OT_RED_MAX) return OT_EINVAL;
  int max = op == OT_RED_MAX;
  switch (axis) {
  case 0: {
    if (ot_mat_numel(a) == 0) return OT_EINVAL;
    size_t bi = 0, bj = argext(a.data, a.cols, 1, max);
    double m = a.data[bj];
    for (size_t i = 1; i < a.rows && m == m; i++) {
      const double *x = a.data + i * a.ld;
      size_t j = argext(x, a.cols, 1, max);
      if (x[j] != x[j] || (max ? x[j] > m : x[j] < m)) {
        bi = i;
        bj = j;
        m = x[j];
      }
    }
    idx[0] = bi;
    idx[1] = bj;
    return OT_OK;
  }
  case 1:
    if (a.rows == 0 && a.cols > 0) return OT_EINVAL;
    for (size_t j = 0; j < a.cols; j++) idx[j] = argext(a.data + j, a.rows, a.ld, max);
    return OT_OK;
  case 2:
    if (a.cols == 0 && a.rows > 0) return OT_EINVAL;
    for (size_t i = 0; i < a.rows; i++) idx[i] = argext(a.data + i * a.ld, a.cols, 1, max);
    return OT_OK;
  default:
    return OT_EINVAL;
  }
}

/* Four partial sums per row (vectorisable), rows combined with Neumaier's
 * compensation.  OT_ESHAPE unless the shapes agree. */
int ot_mat_inner(double *out, ot_mat a, ot_mat b) {
  if (a.rows != b.rows || a.cols != b.cols) return OT_ESHAPE;
  double s = 0.0, c = 0.0;
  for (size_t i = 0; i < a.rows; i++) {
    const double *x = a.data + i * a.ld, *y = b.data + i * b.ld;
    double p[4] = {0, 0, 0, 0};
    size_t j = 0;
    for (; j + 4 <= a.cols; j += 4)
      for (int k = 0; k < 4; k++) p[k] += x[j + k] * y[j + k];
    double t = (p[0] + p[1]) + (p[2] + p[3]);
    for (; j < a.cols; j++) t += x[j] * y[j];
    neumaier(&s, &c, t);
  }
  *out = s + c;
  return OT_OK;
}

/* ---- norms ---------------------------------------------------------------- */

/*
 * One pass finds the largest and smallest magnitude (and any NaN); the
 * p-norms then sum (|x| / largest)^p and scale back, the overflow-safe
 * scheme of LAPACK's dnrm2, in a second pass.
 */
int ot_mat_norm_vec(double *out, ot_mat a, double p) {
  if (p != p || (p < 0 && p != -INFINITY)) return OT_EINVAL;
  if (ot_mat_numel(a) == 0) {
    *out = 0.0;
    return OT_OK;
  }
  /* largest and smallest |x|, and whether a NaN was seen */
  double big = 0.0, small = INFINITY;
  int nan = 0;
  for (size_t i = 0; i < a.rows; i++)
    for (size_t j = 0; j < a.cols; j++) {
      double v = fabs(OT_AT(a, i, j));
      nan |= v != v;
      big = v > big ? v : big;
      small = v < small ? v : small;
    }
  if (nan) {
    *out = NAN;
    return OT_OK;
  }
  if (p == INFINITY || p == -INFINITY) {
    *out = p > 0 ? big : small;
    return OT_OK;
  }
  double s = 0.0, c = 0.0;
  if (p == 0) {
    for (size_t i = 0; i < a.rows; i++)
      for (size_t j = 0; j < a.cols; j++) s += OT_AT(a, i, j) != 0.0;
    *out = s;
    return OT_OK;
  }
  if (p == 1) {
    for (size_t i = 0; i < a.rows; i++) {
      double t = 0.0;
      for (size_t j = 0; j < a.cols; j++) t += fabs(OT_AT(a, i, j));
      neumaier(&s, &c, t);
    }
    *out = s + c;
    return OT_OK;
  }
  /* scale by the largest magnitude so |x|^p neither overflows nor underflows */
  if (big == 0.0 || big == INFINITY) {
    *out = big;
    return OT_OK;
  }
  for (size_t i = 0; i < a.rows; i++) {
    double t = 0.0;
    for (size_t j = 0; j < a.cols; j++) {
      double v = fabs(OT_AT(a, i, j)) / big;
      t += p == 2 ? v * v : pow(v, p);
    }
    neumaier(&s, &c, t);
  }
  s += c;
  *out = big * (p == 2 ? sqrt(s) : pow(s, 1.0 / p));
  return OT_OK;
}

/* Largest singular value of a finite, non-empty a: sqrt of the largest
 * eigenvalue of the smaller of a^T a and a a^T.  Scratch from ot_malloc. */
static int spectral_norm(double *out, ot_mat a) {
  int tall = a.rows >= a.cols; /* then a^T a is the smaller Gram matrix */
  size_t k = tall ? a.cols : a.rows;
  double *g = NULL, *w = NULL;
  int rc;
  if ((rc = ot_alloc_doubles(k, k, &g)) != OT_OK) goto done;
  if ((rc = ot_alloc_doubles(k, 1, &w)) != OT_OK) goto done;
  ot_mat G = ot_mat_view(g, k, k), W = ot_mat_view(w, k, 1), none = {0, 0, 0, NULL};
  if ((rc = ot_gemm(G, 1.0, a, tall, a, !tall, 0.0)) != OT_OK) goto done;
  if ((rc = ot_eigh(W, none, G)) != OT_OK) goto done;
  *out = sqrt(w[k - 1] > 0 ? w[k - 1] : 0.0); /* eigenvalues ascend */
done:
  ot_free(w);
  ot_free(g);
  return rc;
}

/* Non-finite input short-cuts to NaN (any NaN) or Inf, before LAPACK
 * could see it; otherwise the induced norms by their definitions. */
int ot_mat_norm_mat(double *out, ot_mat a, double p) {
  if (p != 1 && p != 2 && p != INFINITY) return OT_EINVAL;
  if (ot_mat_numel(a) == 0) {
    *out = 0.0;
    return OT_OK;
  }
  size_t bi, bj;
  if (!ot_mat_all_finite(a, &bi, &bj)) { /* NaN wins over Inf, as in the sums */
    double m;
    ot_mat_norm_vec(&m, a, INFINITY);
    *out = m;
    return OT_OK;
  }
  if (p == 2) return spectral_norm(out, a);
  double best = 0.0;
  if (p == INFINITY) {
    for (size_t i = 0; i < a.rows; i++) {
      double t = 0.0;
      for (size_t j = 0; j < a.cols; j++) t += fabs(OT_AT(a, i, j));
      best = t > best ? t : best;
    }
  } else {
    for (size_t j = 0; j < a.cols; j++) {
      double t = 0.0;
      for (size_t i = 0; i < a.rows; i++) t += fabs(OT_AT(a, i, j));
      best = t > best ? t : best;
    }
  }
  *out = best;
  return OT_OK;
}

/* a == b first, so equal infinities compare equal; any NaN fails both
 * tests.  Stops at the first pair that is not close. */
int ot_mat_allclose(int *out, ot_mat a, ot_mat b, double rtol, double atol) {
  if (a.rows != b.rows || a.cols != b.cols) return OT_ESHAPE;
  for (size_t i = 0; i < a.rows; i++)
    for (size_t j = 0; j < a.cols; j++) {
      double x = OT_AT(a, i, j), y = OT_AT(b, i, j);
      if (!(x == y || fabs(x - y) <= atol + rtol * fabs(y))) {
        *out = 0;
        return OT_OK;
      }
    }
  *out = 1;
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
