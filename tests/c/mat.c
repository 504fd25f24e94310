/*
 * tests/c/mat.c -- the matrix view operations of src/ot/mat.c.
 *
 * Most checks run on views whose ld exceeds their column count (blocks of
 * a larger buffer filled with a sentinel), compare against plain loops, and
 * verify that nothing outside the view was written.  Tolerances are stated
 * where results are not exact.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "mat.h"
#include "ot.h"
#include "rand.h"
#include "test.h"

#define SENTINEL -12345.0

static ot_rng rng;

/* A rows x cols view inside a buffer with 3 spare columns per row and
 * sentinels around it; values uniform in [-1, 1). */
typedef struct strided {
  double buf[40 * 40];
  ot_mat m;
} strided;

static void make_strided(strided *s, size_t rows, size_t cols) {
  for (size_t k = 0; k < sizeof s->buf / sizeof s->buf[0]; k++) s->buf[k] = SENTINEL;
  s->m = ot_mat_block(ot_mat_view(s->buf, rows + 2, cols + 3), 1, 1, rows, cols);
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) OT_AT(s->m, i, j) = 2 * ot_rng_uniform(&rng) - 1;
}

/* 1 when every buffer element outside the view still holds the sentinel. */
static int untouched_outside(const strided *s) {
  for (size_t k = 0; k < sizeof s->buf / sizeof s->buf[0]; k++) {
    const double *p = s->buf + k;
    size_t off = (size_t)(p - s->m.data);
    int inside = p >= s->m.data && off / s->m.ld < s->m.rows && off % s->m.ld < s->m.cols;
    if (!inside && *p != SENTINEL) return 0;
  }
  return 1;
}

static void test_views(void) {
  double d[12];
  for (int k = 0; k < 12; k++) d[k] = k;
  ot_mat m = ot_mat_view(d, 3, 4);
  CHECK("view ld", m.ld == 4 && ot_mat_is_contiguous(m) && ot_mat_numel(m) == 12);
  ot_mat b = ot_mat_block(m, 1, 1, 2, 2);
  CHECK("block element", OT_AT(b, 1, 1) == 10.0 && b.ld == 4);
  CHECK("block not contiguous", !ot_mat_is_contiguous(b));
  CHECK("one row is contiguous", ot_mat_is_contiguous(ot_mat_block(m, 2, 1, 1, 3)));
  ot_mat bb = ot_mat_block(b, 1, 0, 1, 2); /* view of a view */
  CHECK("view of view", OT_AT(bb, 0, 0) == 9.0 && OT_AT(bb, 0, 1) == 10.0);
  CHECK("vector-like", ot_mat_is_vector(bb) && ot_mat_is_vector(ot_mat_block(m, 0, 2, 3, 1)) &&
                           !ot_mat_is_vector(b));
  CHECK("overlap self", ot_mat_overlaps(m, b));
  CHECK("disjoint rows", !ot_mat_overlaps(ot_mat_block(m, 0, 0, 1, 4), ot_mat_block(m, 1, 0, 2, 4)));
  CHECK("empty overlaps nothing", !ot_mat_overlaps(ot_mat_block(m, 0, 0, 0, 4), m));
}

static void test_fill_copy(void) {
  strided a, b;
  make_strided(&a, 4, 5);
  ot_mat_fill(a.m, 2.5);
  CHECK("fill inside", OT_AT(a.m, 3, 4) == 2.5 && OT_AT(a.m, 0, 0) == 2.5);
  CHECK("fill stays inside", untouched_outside(&a));
  ot_mat_eye(a.m);
  CHECK("eye", OT_AT(a.m, 2, 2) == 1.0 && OT_AT(a.m, 2, 3) == 0.0 && OT_AT(a.m, 3, 4) == 0.0);
  CHECK("eye stays inside", untouched_outside(&a));

  double v[5];
  ot_mat lv = ot_mat_view(v, 5, 1);
  ot_mat_linspace(lv, -1, 1);
  CHECK("linspace ends", v[0] == -1.0 && v[4] == 1.0 && v[2] == 0.0 && v[1] == -0.5);
  ot_mat_linspace(ot_mat_view(v, 1, 1), 3, 7);
  CHECK("linspace of one is a", v[0] == 3.0);
  make_strided(&a, 2, 3);
  ot_mat_linspace(a.m, 0, 5);
  CHECK("linspace row-major on a view", OT_AT(a.m, 1, 0) == 3.0 && OT_AT(a.m, 1, 2) == 5.0);

  make_strided(&a, 3, 4);
  make_strided(&b, 3, 4);
  CHECK("copy ok", ot_mat_copy(b.m, a.m) == OT_OK);
  int same = 1;
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 4; j++) same &= OT_AT(a.m, i, j) == OT_AT(b.m, i, j);
  CHECK("copy values with ld != cols", same && untouched_outside(&b));
  CHECK("copy shape error", ot_mat_copy(ot_mat_block(b.m, 0, 0, 2, 4), a.m) == OT_ESHAPE);

  /* copy_flat: 3x4 view into a 2x6 contiguous and a 12x1 column view */
  double f[12];
  CHECK("copy_flat ok", ot_mat_copy_flat(ot_mat_view(f, 2, 6), a.m) == OT_OK);
  CHECK("copy_flat order", f[0] == OT_AT(a.m, 0, 0) && f[5] == OT_AT(a.m, 1, 1) &&
                               f[11] == OT_AT(a.m, 2, 3));
  CHECK("copy_flat numel", ot_mat_copy_flat(ot_mat_view(f, 2, 5), a.m) == OT_ESHAPE);
  strided c;
  make_strided(&c, 12, 1);
  CHECK("copy_flat into a strided column", ot_mat_copy_flat(c.m, a.m) == OT_OK &&
                                               OT_AT(c.m, 7, 0) == OT_AT(a.m, 1, 3) &&
                                               untouched_outside(&c));

  /* transpose of a view into a view */
  make_strided(&b, 4, 3);
  CHECK("transpose ok", ot_mat_transpose(b.m, a.m) == OT_OK);
  same = 1;
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 4; j++) same &= OT_AT(b.m, j, i) == OT_AT(a.m, i, j);
  CHECK("transpose values", same && untouched_outside(&b));
  CHECK("transpose shape", ot_mat_transpose(a.m, a.m) == OT_ESHAPE);
  /* a larger transpose crossing the 32-tiles */
  static double big[70 * 45], bigt[45 * 70];
  for (size_t k = 0; k < 70 * 45; k++) big[k] = (double)k;
  ot_mat_transpose(ot_mat_view(bigt, 45, 70), ot_mat_view(big, 70, 45));
  CHECK("tiled transpose", bigt[44 * 70 + 69] == big[69 * 45 + 44] && bigt[33 * 70 + 2] == big[2 * 45 + 33]);
}

static void test_diag_gather_concat(void) {
  strided a;
  make_strided(&a, 3, 5);
  double d[3];
  CHECK("get_diag", ot_mat_get_diag(ot_mat_view(d, 3, 1), a.m) == OT_OK && d[2] == OT_AT(a.m, 2, 2));
  CHECK("get_diag into a row", ot_mat_get_diag(ot_mat_view(d, 1, 3), a.m) == OT_OK);
  CHECK("get_diag length", ot_mat_get_diag(ot_mat_view(d, 2, 1), a.m) == OT_ESHAPE);
  strided s;
  make_strided(&s, 3, 3);
  CHECK("set_diag", ot_mat_set_diag(s.m, ot_mat_view(d, 3, 1)) == OT_OK && OT_AT(s.m, 1, 1) == d[1] &&
                        OT_AT(s.m, 0, 1) == 0.0 && untouched_outside(&s));
  CHECK("set_diag shape", ot_mat_set_diag(a.m, ot_mat_view(d, 3, 1)) == OT_ESHAPE);

  size_t idx[4] = {2, 0, 2, 1};
  double g[4 * 5];
  ot_mat G = ot_mat_view(g, 4, 5);
  CHECK("gather rows", ot_mat_gather_rows(G, a.m, idx) == OT_OK && OT_AT(G, 0, 4) == OT_AT(a.m, 2, 4) &&
                           OT_AT(G, 3, 1) == OT_AT(a.m, 1, 1) && OT_AT(G, 2, 0) == OT_AT(a.m, 2, 0));
  idx[3] = 3;
  CHECK("gather rows out of range", ot_mat_gather_rows(G, a.m, idx) == OT_EINVAL);
  idx[3] = 4;
  double gc[3 * 4];
  ot_mat GC = ot_mat_view(gc, 3, 4);
  CHECK("gather cols", ot_mat_gather_cols(GC, a.m, idx) == OT_OK && OT_AT(GC, 1, 3) == OT_AT(a.m, 1, 4) &&
                           OT_AT(GC, 2, 1) == OT_AT(a.m, 2, 0));
  idx[0] = 5;
  CHECK("gather cols out of range", ot_mat_gather_cols(GC, a.m, idx) == OT_EINVAL);
  CHECK("gather shape", ot_mat_gather_cols(ot_mat_view(gc, 2, 4), a.m, idx) == OT_ESHAPE);

  /* concat: a 3x5 view over a 2x5 contiguous, then side by side */
  double e[10];
  for (int k = 0; k < 10; k++) e[k] = 100 + k;
  ot_mat parts[2] = {a.m, ot_mat_view(e, 2, 5)};
  double v[25];
  ot_mat V = ot_mat_view(v, 5, 5);
  CHECK("vstack", ot_mat_concat(V, parts, 2, 1) == OT_OK && OT_AT(V, 2, 4) == OT_AT(a.m, 2, 4) &&
                      OT_AT(V, 3, 0) == 100 && OT_AT(V, 4, 4) == 109);
  CHECK("vstack rows must add up", ot_mat_concat(ot_mat_view(v, 4, 5), parts, 2, 1) == OT_ESHAPE);
  CHECK("hstack needs equal rows", ot_mat_concat(V, parts, 2, 2) == OT_ESHAPE);
  ot_mat hp[2] = {ot_mat_view(e, 2, 5), ot_mat_block(a.m, 0, 0, 2, 3)};
  double h[16];
  ot_mat H = ot_mat_view(h, 2, 8);
  CHECK("hstack", ot_mat_concat(H, hp, 2, 2) == OT_OK && OT_AT(H, 1, 4) == 109 &&
                      OT_AT(H, 1, 7) == OT_AT(a.m, 1, 2));
  CHECK("bad axis", ot_mat_concat(H, hp, 2, 3) == OT_EINVAL);
}

/* The reference for one binary op. */
static double ref_op(double u, int op, double v) {
  switch (op) {
  case OT_OP_ADD: return u + v;
  case OT_OP_SUB: return u - v;
  case OT_OP_MUL: return u * v;
  case OT_OP_DIV: return u / v;
  case OT_OP_POW: return pow(u, v);
  case OT_OP_MIN: return isnan(u) || isnan(v) ? NAN : fmin(u, v);
  case OT_OP_MAX: return isnan(u) || isnan(v) ? NAN : fmax(u, v);
  default: return v;
  }
}

static int same_double(double x, double y) { return (isnan(x) && isnan(y)) || x == y; }

static void test_binop(void) {
  size_t r, c;
  CHECK("broadcast equal", ot_mat_broadcast(3, 4, 3, 4, &r, &c) && r == 3 && c == 4);
  CHECK("broadcast row", ot_mat_broadcast(3, 4, 1, 4, &r, &c) && r == 3 && c == 4);
  CHECK("broadcast column", ot_mat_broadcast(3, 1, 3, 4, &r, &c) && r == 3 && c == 4);
  CHECK("broadcast outer", ot_mat_broadcast(3, 1, 1, 5, &r, &c) && r == 3 && c == 5);
  CHECK("broadcast with empty", ot_mat_broadcast(1, 4, 0, 4, &r, &c) && r == 0 && c == 4);
  CHECK("no broadcast", !ot_mat_broadcast(3, 4, 4, 3, &r, &c) && !ot_mat_broadcast(3, 4, 3, 2, &r, &c));

  /* every op, every broadcast pattern, on strided views (positive b for pow) */
  const size_t shapes[][2] = {{3, 4}, {1, 4}, {3, 1}, {1, 1}};
  int all_ok = 1, outside_ok = 1;
  for (int op = 0; op < OT_OP_COUNT; op++)
    for (int sa = 0; sa < 4; sa++)
      for (int sb = 0; sb < 4; sb++) {
        strided a, b, o;
        make_strided(&a, shapes[sa][0], shapes[sa][1]);
        make_strided(&b, shapes[sb][0], shapes[sb][1]);
        if (op == OT_OP_POW) ot_mat_apply(a.m, a.m, OT_FN_ABS);
        OT_AT(a.m, 0, 0) = op == OT_OP_MIN ? NAN : OT_AT(a.m, 0, 0); /* NaN propagation */
        ot_mat_broadcast(a.m.rows, a.m.cols, b.m.rows, b.m.cols, &r, &c);
        make_strided(&o, r, c);
        if (ot_mat_binop(o.m, a.m, op, b.m) != OT_OK) all_ok = 0;
        for (size_t i = 0; i < r; i++)
          for (size_t j = 0; j < c; j++) {
            double u = OT_AT(a.m, a.m.rows == 1 ? 0 : i, a.m.cols == 1 ? 0 : j);
            double v = OT_AT(b.m, b.m.rows == 1 ? 0 : i, b.m.cols == 1 ? 0 : j);
            if (!same_double(OT_AT(o.m, i, j), ref_op(u, op, v))) all_ok = 0;
          }
        outside_ok &= untouched_outside(&o);
      }
  CHECK("binop: all ops and broadcasts match the reference", all_ok);
  CHECK("binop writes only its output view", outside_ok);

  strided a, b;
  make_strided(&a, 3, 4);
  make_strided(&b, 4, 3);
  CHECK("binop shape error", ot_mat_binop(a.m, a.m, OT_OP_ADD, b.m) == OT_ESHAPE);
  CHECK("binop output shape error", ot_mat_binop(b.m, a.m, OT_OP_ADD, a.m) == OT_ESHAPE);
  CHECK("binop unknown op", ot_mat_binop(a.m, a.m, OT_OP_COUNT, a.m) == OT_EINVAL);

  /* in place: out is a, and a row of a as the broadcast operand copied first */
  double before = OT_AT(a.m, 2, 1);
  CHECK("scalar in place", ot_mat_scalar(a.m, a.m, OT_OP_MUL, 2.0) == OT_OK && OT_AT(a.m, 2, 1) == 2 * before);
  before = OT_AT(a.m, 1, 3);
  CHECK("rscalar", ot_mat_rscalar(a.m, 1.0, OT_OP_SUB, a.m) == OT_OK && OT_AT(a.m, 1, 3) == 1.0 - before);
  CHECK("rscalar divides the scalar", ot_mat_rscalar(a.m, 1.0, OT_OP_DIV, a.m) == OT_OK);
  CHECK("scalar shape", ot_mat_scalar(b.m, a.m, OT_OP_ADD, 1.0) == OT_ESHAPE);
  strided s;
  make_strided(&s, 1, 4);
  make_strided(&b, 3, 4);
  CHECK("set broadcasts a row", ot_mat_binop(b.m, b.m, OT_OP_SET, s.m) == OT_OK &&
                                    OT_AT(b.m, 2, 3) == OT_AT(s.m, 0, 3) && untouched_outside(&b));

  /* apply and clip */
  make_strided(&a, 3, 4);
  make_strided(&b, 3, 4);
  OT_AT(a.m, 0, 0) = 4.0;
  ot_mat_apply(b.m, a.m, OT_FN_SQRT);
  CHECK("sqrt", OT_AT(b.m, 0, 0) == 2.0 && isnan(OT_AT(b.m, 0, 1)) == (OT_AT(a.m, 0, 1) < 0));
  ot_mat_apply(b.m, a.m, OT_FN_EXP);
  ot_mat_apply(b.m, b.m, OT_FN_LOG);
  CHECK_NEAR("log(exp(x)) = x", OT_AT(b.m, 2, 3), OT_AT(a.m, 2, 3), 1e-15);
  ot_mat_apply(b.m, a.m, OT_FN_NEG);
  ot_mat_apply(b.m, b.m, OT_FN_ABS);
  CHECK("abs(-x)", OT_AT(b.m, 1, 2) == fabs(OT_AT(a.m, 1, 2)) && untouched_outside(&b));
  CHECK("apply unknown fn", ot_mat_apply(b.m, a.m, OT_FN_COUNT) == OT_EINVAL);
  OT_AT(a.m, 1, 1) = NAN;
  ot_mat_clip(b.m, a.m, -0.5, 0.5);
  int in = 1;
  for (size_t i = 0; i < 3; i++)
    for (size_t j = 0; j < 4; j++)
      if (!(i == 1 && j == 1)) in &= OT_AT(b.m, i, j) >= -0.5 && OT_AT(b.m, i, j) <= 0.5;
  CHECK("clip bounds", in && OT_AT(b.m, 0, 0) == 0.5 && isnan(OT_AT(b.m, 1, 1)));
  CHECK("clip lo > hi", ot_mat_clip(b.m, a.m, 1, 0) == OT_EINVAL);
  CHECK("clip open side", ot_mat_clip(b.m, a.m, 0, INFINITY) == OT_OK && OT_AT(b.m, 0, 0) == 4.0);
}

static void test_reduce(void) {
  strided a;
  make_strided(&a, 5, 7);
  double s = 0, p = 1, mn = INFINITY, mx = -INFINITY, v;
  for (size_t i = 0; i < 5; i++)
    for (size_t j = 0; j < 7; j++) {
      double x = OT_AT(a.m, i, j);
      s += x;
      p *= x;
      mn = fmin(mn, x);
      mx = fmax(mx, x);
    }
  CHECK("reduce sum", ot_mat_reduce(&v, a.m, OT_RED_SUM) == OT_OK);
  CHECK_NEAR("sum on a view", v, s, 1e-13);
  ot_mat_reduce(&v, a.m, OT_RED_MEAN);
  CHECK_NEAR("mean", v, s / 35, 1e-14);
  ot_mat_reduce(&v, a.m, OT_RED_PROD);
  CHECK_NEAR("prod (relative)", v / p, 1.0, 1e-12);
  ot_mat_reduce(&v, a.m, OT_RED_MIN);
  CHECK("min", v == mn);
  ot_mat_reduce(&v, a.m, OT_RED_MAX);
  CHECK("max", v == mx);

  /* axis reductions into strided outputs */
  strided o1, o2;
  make_strided(&o1, 1, 7);
  make_strided(&o2, 5, 1);
  CHECK("axis 1 sum", ot_mat_reduce_axis(o1.m, a.m, OT_RED_SUM, 1) == OT_OK);
  CHECK("axis 2 sum", ot_mat_reduce_axis(o2.m, a.m, OT_RED_SUM, 2) == OT_OK);
  double c3 = 0, r2 = 0;
  for (size_t i = 0; i < 5; i++) c3 += OT_AT(a.m, i, 3);
  for (size_t j = 0; j < 7; j++) r2 += OT_AT(a.m, 2, j);
  CHECK_NEAR("column sum", OT_AT(o1.m, 0, 3), c3, 1e-14);
  CHECK_NEAR("row sum", OT_AT(o2.m, 2, 0), r2, 1e-14);
  CHECK("axis outputs stay inside", untouched_outside(&o1) && untouched_outside(&o2));
  ot_mat_reduce_axis(o2.m, a.m, OT_RED_MAX, 2);
  double rmax = -INFINITY;
  for (size_t j = 0; j < 7; j++) rmax = fmax(rmax, OT_AT(a.m, 4, j));
  CHECK("row max", OT_AT(o2.m, 4, 0) == rmax);
  ot_mat_reduce_axis(o1.m, a.m, OT_RED_MIN, 1);
  double cmin = INFINITY;
  for (size_t i = 0; i < 5; i++) cmin = fmin(cmin, OT_AT(a.m, i, 6));
  CHECK("column min", OT_AT(o1.m, 0, 6) == cmin);
  ot_mat_reduce_axis(o1.m, a.m, OT_RED_MEAN, 1);
  CHECK_NEAR("column mean", OT_AT(o1.m, 0, 3), c3 / 5, 1e-15);
  CHECK("axis length", ot_mat_reduce_axis(o2.m, a.m, OT_RED_SUM, 1) == OT_ESHAPE);
  CHECK("bad axis", ot_mat_reduce_axis(o2.m, a.m, OT_RED_SUM, 3) == OT_EINVAL);

  /* NaN propagates through min/max, sums and axis reductions */
  OT_AT(a.m, 3, 2) = NAN;
  ot_mat_reduce(&v, a.m, OT_RED_MIN);
  CHECK("min propagates NaN", isnan(v));
  ot_mat_reduce(&v, a.m, OT_RED_MAX);
  CHECK("max propagates NaN", isnan(v));
  ot_mat_reduce(&v, a.m, OT_RED_SUM);
  CHECK("sum propagates NaN", isnan(v));
  ot_mat_reduce_axis(o1.m, a.m, OT_RED_MAX, 1);
  CHECK("column max NaN only in its column", isnan(OT_AT(o1.m, 0, 2)) && !isnan(OT_AT(o1.m, 0, 1)));
  ot_mat_reduce_axis(o2.m, a.m, OT_RED_MIN, 2);
  CHECK("row min NaN only in its row", isnan(OT_AT(o2.m, 3, 0)) && !isnan(OT_AT(o2.m, 2, 0)));

  /* empty */
  ot_mat e = ot_mat_view(a.buf, 0, 4);
  CHECK("empty sum", ot_mat_reduce(&v, e, OT_RED_SUM) == OT_OK && v == 0.0);
  CHECK("empty prod", ot_mat_reduce(&v, e, OT_RED_PROD) == OT_OK && v == 1.0);
  CHECK("empty mean", ot_mat_reduce(&v, e, OT_RED_MEAN) == OT_OK && isnan(v));
  CHECK("empty min", ot_mat_reduce(&v, e, OT_RED_MIN) == OT_EINVAL);
  double out4[4];
  CHECK("column sums of 0 rows", ot_mat_reduce_axis(ot_mat_view(out4, 1, 4), e, OT_RED_SUM, 1) == OT_OK &&
                                     out4[3] == 0.0);
  CHECK("column max of 0 rows", ot_mat_reduce_axis(ot_mat_view(out4, 1, 4), e, OT_RED_MAX, 1) == OT_EINVAL);
  CHECK("row max of 0 rows", ot_mat_reduce_axis(ot_mat_view(out4, 0, 1), e, OT_RED_MAX, 2) == OT_OK);

  /* accuracy: a million copies of 0.1 sum within a few ulps (naive
   * summation is off by ~1e-6 here); compensated across rows too */
  size_t n = 1000000;
  double *big;
  if (ot_alloc_doubles(n, 1, &big) == OT_OK) {
    for (size_t k = 0; k < n; k++) big[k] = 0.1;
    ot_mat_reduce(&v, ot_mat_view(big, n, 1), OT_RED_SUM);
    CHECK_NEAR("pairwise sum of 1e6 x 0.1", v, 100000.0, 1e-8);
    ot_mat_reduce(&v, ot_mat_block(ot_mat_view(big, 1000, 1000), 0, 0, 1000, 999), OT_RED_SUM);
    CHECK_NEAR("strided sum of 999000 x 0.1", v, 99900.0, 1e-8);
    ot_free(big);
  }
}

static void test_argreduce(void) {
  double d[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 9};
  ot_mat m = ot_mat_view(d, 3, 4);
  size_t idx[4];
  CHECK("argmax all", ot_mat_argreduce(idx, m, OT_RED_MAX, 0) == OT_OK && idx[0] == 1 && idx[1] == 1);
  CHECK("argmin all, first of ties", ot_mat_argreduce(idx, m, OT_RED_MIN, 0) == OT_OK && idx[0] == 0 &&
                                         idx[1] == 1);
  ot_mat_argreduce(idx, m, OT_RED_MAX, 1);
  CHECK("argmax per column, first of ties", idx[0] == 1 && idx[1] == 1 && idx[2] == 2 && idx[3] == 2);
  ot_mat_argreduce(idx, m, OT_RED_MIN, 2);
  CHECK("argmin per row", idx[0] == 1 && idx[1] == 2 && idx[2] == 1);
  ot_mat b = ot_mat_block(m, 1, 1, 2, 3); /* {9 2 6; 3 5 9} */
  ot_mat_argreduce(idx, b, OT_RED_MAX, 0);
  CHECK("argmax on a view", idx[0] == 0 && idx[1] == 0);
  ot_mat_argreduce(idx, b, OT_RED_MIN, 1);
  CHECK("argmin per column on a view", idx[0] == 1 && idx[1] == 0 && idx[2] == 0);
  d[6] = NAN;
  ot_mat_argreduce(idx, m, OT_RED_MAX, 0);
  CHECK("argmax finds the first NaN", idx[0] == 1 && idx[1] == 2);
  d[0] = NAN;
  ot_mat_argreduce(idx, m, OT_RED_MIN, 0);
  CHECK("argmin NaN at the start", idx[0] == 0 && idx[1] == 0);
  CHECK("argreduce empty", ot_mat_argreduce(idx, ot_mat_view(d, 0, 4), OT_RED_MAX, 0) == OT_EINVAL);
  CHECK("argreduce bad op", ot_mat_argreduce(idx, m, OT_RED_SUM, 0) == OT_EINVAL);
}

static void test_norms(void) {
  double d[] = {3, -4, 0, 12};
  ot_mat v = ot_mat_view(d, 4, 1), r;
  double x;
  ot_mat_norm_vec(&x, v, 2);
  CHECK("2-norm", x == 13.0);
  ot_mat_norm_vec(&x, v, 1);
  CHECK("1-norm", x == 19.0);
  ot_mat_norm_vec(&x, v, INFINITY);
  CHECK("inf-norm", x == 12.0);
  ot_mat_norm_vec(&x, v, -INFINITY);
  CHECK("-inf-norm", x == 0.0);
  ot_mat_norm_vec(&x, v, 0);
  CHECK("0-norm counts", x == 3.0);
  ot_mat_norm_vec(&x, v, 3);
  CHECK_NEAR("3-norm", x, cbrt(27.0 + 64.0 + 1728.0), 1e-12);
  CHECK("negative p", ot_mat_norm_vec(&x, v, -1) == OT_EINVAL);
  double h[] = {3e300, 4e300};
  ot_mat_norm_vec(&x, ot_mat_view(h, 1, 2), 2);
  CHECK_NEAR("2-norm does not overflow (relative)", x / 5e300, 1.0, 1e-15);
  double t[] = {3e-300, 4e-300};
  ot_mat_norm_vec(&x, ot_mat_view(t, 2, 1), 2);
  CHECK_NEAR("2-norm does not underflow (relative)", x / 5e-300, 1.0, 1e-15);
  double nn[] = {1, NAN, INFINITY};
  ot_mat_norm_vec(&x, ot_mat_view(nn, 3, 1), 2);
  CHECK("norm with NaN is NaN", isnan(x));
  ot_mat_norm_vec(&x, ot_mat_view(nn + 2, 1, 1), 2);
  CHECK("norm with Inf is Inf", x == INFINITY);

  double a[] = {1, 2, 3, 4};
  ot_mat A = ot_mat_view(a, 2, 2);
  ot_mat_norm_mat(&x, A, 1);
  CHECK("matrix 1-norm: largest column sum", x == 6.0);
  ot_mat_norm_mat(&x, A, INFINITY);
  CHECK("matrix inf-norm: largest row sum", x == 7.0);
  ot_mat_norm_mat(&x, A, 2);
  CHECK_NEAR("spectral norm of [1 2; 3 4]", x, 5.4649857042190426, 1e-12);
  ot_mat_norm_vec(&x, A, 2);
  CHECK_NEAR("Frobenius", x, sqrt(30.0), 1e-15);
  /* a wide strided block: the Gram matrix is taken on the small side */
  strided s;
  make_strided(&s, 2, 9);
  ot_mat_fill(s.m, 0);
  OT_AT(s.m, 0, 3) = -7;
  OT_AT(s.m, 1, 8) = 2;
  ot_mat_norm_mat(&x, s.m, 2);
  CHECK_NEAR("spectral norm of a scaled selection", x, 7.0, 1e-12);
  CHECK("matrix p=3", ot_mat_norm_mat(&x, A, 3) == OT_EINVAL);
  ot_mat_norm_mat(&x, ot_mat_view(a, 0, 2), 2);
  CHECK("norm of empty", x == 0.0);
  r = ot_mat_view(nn, 1, 3);
  ot_mat_norm_mat(&x, r, 2);
  CHECK("spectral norm with NaN", isnan(x));

  double b[] = {2, 0, 1, 5};
  ot_mat_inner(&x, A, ot_mat_view(b, 2, 2));
  CHECK("inner product", x == 2 + 3 + 20);
  CHECK("inner shape", ot_mat_inner(&x, A, ot_mat_view(b, 4, 1)) == OT_ESHAPE);
}

static void test_compare(void) {
  double a[] = {1, 2, 3, INFINITY}, b[] = {1, 2, 3 + 1e-9, INFINITY};
  ot_mat A = ot_mat_view(a, 2, 2), B = ot_mat_view(b, 2, 2);
  int ok;
  CHECK("allclose default-like tolerances", ot_mat_allclose(&ok, A, B, 1e-5, 1e-8) == OT_OK && ok);
  ot_mat_allclose(&ok, A, B, 0, 0);
  CHECK("exact comparison sees 1e-9", !ok);
  ot_mat_allclose(&ok, A, A, 0, 0);
  CHECK("inf equals inf", ok);
  a[0] = NAN;
  ot_mat_allclose(&ok, A, A, 1, 1);
  CHECK("NaN is never close", !ok);
  CHECK("allclose shape", ot_mat_allclose(&ok, A, ot_mat_view(b, 4, 1), 0, 0) == OT_ESHAPE);
  size_t i = 9, j = 9;
  CHECK("all_finite finds NaN", !ot_mat_all_finite(A, &i, &j) && i == 0 && j == 0);
  CHECK("all_finite on finite", ot_mat_all_finite(ot_mat_view(b, 1, 3), NULL, NULL));
}

int main(void) {
  ot_rng_seed(&rng, 7);
  test_views();
  test_fill_copy();
  test_diag_gather_concat();
  test_binop();
  test_reduce();
  test_argreduce();
  test_norms();
  test_compare();
  return test_report();
}
