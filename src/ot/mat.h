/*
 * mat.h -- dense matrix views and the elementwise, reduction and
 * rearranging operations on them.
 *
 * An ot_mat is a view that owns nothing: `rows` x `cols` doubles, row-major,
 * element (i, j) at data[i * ld + j], with ld >= cols (ld may exceed cols for
 * a block of a larger matrix; a column of a matrix is a rows x 1 view with
 * the parent's ld).  Kernels take views and write into outputs the caller
 * passes in (the output comes first, as in TH's r_ argument).  Every
 * function here accepts any ld, so views of views work everywhere.
 *
 * A "vector-like" view has one row or one column; its k-th element is
 * data[k] (one row) or data[k * ld] (one column).
 *
 * Axes are numbered as in the Lua face:
 *   axis 1  reduces down the rows: one value per column (numpy axis=0);
 *   axis 2  reduces across each row: one value per row (numpy axis=1).
 *
 * NaN handling: sums, products and means propagate NaN as IEEE arithmetic
 * does; min, max and the min/max-based norms propagate it too (a NaN makes
 * the result NaN, as numpy's min/max do); argmin/argmax give the position
 * of the first NaN when there is one.
 *
 * Status codes: OT_ESHAPE when shapes do not agree, OT_EINVAL for an
 * argument out of its domain (an empty reduction that has no value, an
 * index out of range, an unknown operation code).
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

/* ---- views ---------------------------------------------------------------- */

/* A view of `rows` x `cols` contiguous doubles at data. */
ot_mat ot_mat_view(double *data, size_t rows, size_t cols);
/* The block [r0, r0+nr) x [c0, c0+nc) of m; the caller checks bounds. */
ot_mat ot_mat_block(ot_mat m, size_t r0, size_t c0, size_t nr, size_t nc);
/* 1 when the rows lie back to back (ld == cols or a single row). */
int ot_mat_is_contiguous(ot_mat m);
/* Number of elements, rows * cols (the caller checked it fits). */
size_t ot_mat_numel(ot_mat m);
/* 1 when m has one row or one column (a vector-like view). */
int ot_mat_is_vector(ot_mat m);
/*
 * 1 when the memory spans of a and b intersect (a conservative test on the
 * address ranges [data, data + (rows-1)*ld + cols)); empty views overlap
 * nothing.  Callers copy an operand first when it overlaps the output.
 */
int ot_mat_overlaps(ot_mat a, ot_mat b);

/* ---- filling and copying -------------------------------------------------- */

/* Set every element of m to v. */
void ot_mat_fill(ot_mat m, double v);
/* Zeros with ones on the main diagonal (any shape). */
void ot_mat_eye(ot_mat m);
/*
 * The numel(m) values a, a + h, ..., b with h = (b - a) / (numel - 1), in
 * row-major order (the last one is exactly b; a single element is a).
 */
void ot_mat_linspace(ot_mat m, double a, double b);
/* dst = src (same shape, else OT_ESHAPE).  Rows are moved with memmove. */
int ot_mat_copy(ot_mat dst, ot_mat src);
/*
 * Copy the elements of src into dst in row-major order; the shapes may
 * differ but the numbers of elements must agree (OT_ESHAPE).  dst and src
 * must not overlap.  This is reshape's copy.
 */
int ot_mat_copy_flat(ot_mat dst, ot_mat src);
/* dst = src^T; dst is src.cols x src.rows (OT_ESHAPE); no overlap. */
int ot_mat_transpose(ot_mat dst, ot_mat src);
/*
 * d = the main diagonal of m: d is vector-like with min(rows, cols)
 * elements (OT_ESHAPE otherwise).
 */
int ot_mat_get_diag(ot_mat d, ot_mat m);
/*
 * m = diag(d): m is n x n for the n elements of the vector-like d
 * (OT_ESHAPE otherwise); off-diagonal elements are set to zero.
 */
int ot_mat_set_diag(ot_mat m, ot_mat d);
/*
 * Gather: row k of dst is row idx[k] of src (0-based, repeats allowed);
 * dst is (number of indices) x src.cols.  OT_EINVAL when an index is out
 * of range (nothing is guaranteed written then).  The _cols variant
 * gathers columns: column k of dst is column idx[k] of src.
 */
int ot_mat_gather_rows(ot_mat dst, ot_mat src, const size_t *idx);
int ot_mat_gather_cols(ot_mat dst, ot_mat src, const size_t *idx);
/*
 * Concatenate the n views parts[] into dst: axis 1 stacks them vertically
 * (all have dst.cols columns; the rows add up to dst.rows), axis 2 side by
 * side (all have dst.rows rows; the columns add up).  OT_ESHAPE otherwise,
 * OT_EINVAL for another axis.  dst must not overlap the parts.
 */
int ot_mat_concat(ot_mat dst, const ot_mat *parts, size_t n, int axis);

/* ---- elementwise arithmetic --------------------------------------------- */

/*
 * Binary operations a op b.  MIN and MAX propagate NaN; SET gives b (with
 * broadcasting that is an assignment: ot_mat_binop(m, m, OT_OP_SET, src)).
 */
enum {
  OT_OP_ADD, OT_OP_SUB, OT_OP_MUL, OT_OP_DIV, OT_OP_POW, OT_OP_MIN, OT_OP_MAX, OT_OP_SET,
  OT_OP_COUNT
};

/*
 * The broadcast shape of an ar x ac and a br x bc operand (numpy's rule in
 * two dimensions: each dimension is equal, or one of them is 1 and takes
 * the other's size).  Returns 1 and sets *r, *c, or 0 when they do not
 * broadcast.
 */
int ot_mat_broadcast(size_t ar, size_t ac, size_t br, size_t bc, size_t *r, size_t *c);
/*
 * out = a op b elementwise, broadcasting a and b to out's shape, which must
 * be their broadcast shape (OT_ESHAPE otherwise; OT_EINVAL for an unknown
 * op).  out may be a or b itself (same data, shape and ld), for in-place
 * updates; any other overlap with out gives undefined results.
 */
int ot_mat_binop(ot_mat out, ot_mat a, int op, ot_mat b);
/* out = a op s (scalar on the right) and out = s op a (on the left); out
 * has a's shape (OT_ESHAPE) and may be a itself. */
int ot_mat_scalar(ot_mat out, ot_mat a, int op, double s);
int ot_mat_rscalar(ot_mat out, double s, int op, ot_mat a);

/* Elementwise functions. */
enum { OT_FN_NEG, OT_FN_ABS, OT_FN_EXP, OT_FN_LOG, OT_FN_SQRT, OT_FN_COUNT };
/* out = f(a) elementwise (same shape, OT_ESHAPE; OT_EINVAL for an unknown
 * fn); out may be a itself. */
int ot_mat_apply(ot_mat out, ot_mat a, int fn);
/* out = min(max(a, lo), hi) elementwise; NaN stays NaN.  Use -INFINITY or
 * INFINITY for a missing bound.  OT_EINVAL when lo > hi.  out may be a. */
int ot_mat_clip(ot_mat out, ot_mat a, double lo, double hi);

/* ---- reductions ----------------------------------------------------------- */

enum { OT_RED_SUM, OT_RED_MEAN, OT_RED_PROD, OT_RED_MIN, OT_RED_MAX, OT_RED_COUNT };

/*
 * *out = the reduction of every element of a.  Sums are pairwise within
 * contiguous runs and compensated across rows.  The sum of nothing is 0,
 * the product 1, the mean NaN; min and max of an empty matrix have no
 * value and give OT_EINVAL.
 */
int ot_mat_reduce(double *out, ot_mat a, int op);
/*
 * Reduce along one axis into the vector-like out: axis 1 gives a.cols
 * values (one per column), axis 2 gives a.rows values (one per row).
 * OT_ESHAPE when out has the wrong length, OT_EINVAL for min/max over an
 * empty dimension (when out is not empty) or a bad axis/op.
 */
int ot_mat_reduce_axis(ot_mat out, ot_mat a, int op, int axis);
/*
 * Positions of the minimum (op OT_RED_MIN) or maximum (OT_RED_MAX), 0-based,
 * first occurrence, first NaN when there is one.  axis 0: idx[0], idx[1] =
 * the row and column over all elements; axis 1: idx[j] = the row of the
 * extreme of column j (a.cols entries); axis 2: idx[i] = the column of the
 * extreme of row i (a.rows entries).  OT_EINVAL when there is nothing to
 * choose from, or for a bad axis/op.
 */
int ot_mat_argreduce(size_t *idx, ot_mat a, int op, int axis);
/* *out = sum of a[i][j] * b[i][j] (Frobenius inner product; same shape,
 * else OT_ESHAPE).  For two vectors this is their dot product. */
int ot_mat_inner(double *out, ot_mat a, ot_mat b);

/*
 * Norms.  ot_mat_norm_vec treats every element of a as one vector:
 * p = 2 (Euclidean, scaled so it neither overflows nor underflows), 1 (sum
 * of absolute values), INFINITY (largest absolute value), -INFINITY
 * (smallest), 0 (number of non-zeros), any other p > 0: (sum |x|^p)^(1/p).
 * OT_EINVAL for p < 0 other than -INFINITY, or NaN.
 *
 * ot_mat_norm_mat is the induced matrix norm: p = 1 (largest column sum of
 * absolute values), INFINITY (largest row sum), 2 (spectral: the largest
 * singular value, from the eigenvalues of the smaller Gram matrix; scratch
 * from ot_malloc, so OT_EBUDGET/OT_ENOMEM are possible).  OT_EINVAL for
 * another p.  The Frobenius norm is ot_mat_norm_vec with p = 2.
 * The norm of an empty matrix is 0.
 */
int ot_mat_norm_vec(double *out, ot_mat a, double p);
int ot_mat_norm_mat(double *out, ot_mat a, double p);

/*
 * *out = 1 when a and b have the same shape (else OT_ESHAPE) and every
 * pair satisfies a == b or |a - b| <= atol + rtol * |b| (numpy.allclose;
 * NaN is never close to anything), else 0.  rtol = atol = 0 tests exact
 * equality.
 */
int ot_mat_allclose(int *out, ot_mat a, ot_mat b, double rtol, double atol);

/* 1 when every element is finite; otherwise 0 and *bad_i, *bad_j locate one. */
int ot_mat_all_finite(ot_mat m, size_t *bad_i, size_t *bad_j);

#endif
