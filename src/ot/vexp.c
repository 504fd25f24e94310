/*
 * vexp.c -- the vectorized exponential and fused log-sum-exp kernels (see
 * vexp.h for the method, accuracy and special values).
 *
 * Built as its own static library with -O3 -ffp-contract=fast (meson.build)
 * so the polynomial uses fused multiply-adds; nothing here relies on
 * -ffast-math: NaN and infinities keep their IEEE meaning.  Four-lane GCC
 * vector types make the vector width explicit; on x86-64 every public
 * function is cloned for x86-64-v3 (AVX2 + FMA) and a baseline, and the
 * loader picks one at run time.
 */
#include "vexp.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VEXP_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define VEXP_CLONES
#endif

#define VINLINE static inline __attribute__((always_inline))

static const double LOG2E = 1.4426950408889634074;
static const double LN2_HI = 6.93147180369123816490e-01; /* trailing zeros: k*LN2_HI is exact */
static const double LN2_LO = 1.90821492927058770002e-10;
static const double SHIFT = 6755399441055744.0; /* 1.5 * 2^52: rounds to an integer in the low bits */

VINLINE v4d splat(double x) { return (v4d){x, x, x, x}; }

VINLINE v4d vsel(v4i mask, v4d a, v4d b) { /* mask ? a : b, lane by lane */
  return (v4d)(((v4i)a & mask) | ((v4i)b & ~mask));
}

VINLINE v4d vload(const double *p) {
  v4d v;
  memcpy(&v, p, sizeof v);
  return v;
}

VINLINE void vstore(double *p, v4d v) { memcpy(p, &v, sizeof v); }

/* Load the n < 4 trailing elements of p, padding with `pad`. */
VINLINE v4d vload_tail(const double *p, size_t n, double pad) {
  double t[4] = {pad, pad, pad, pad};
  for (size_t i = 0; i < n; i++) t[i] = p[i];
  return vload(t);
}

/*
 * exp of four lanes: x = k ln2 + r, exp(r) by the degree-12 Taylor
 * polynomial in Horner form (|r| <= 0.347, truncation < 2e-16 relative),
 * times 2^k assembled in the exponent field.  x is clamped to [-708, 709]
 * so that k + 1023 stays a normal exponent; the clamped lanes are then set
 * to 0 or +inf.  NaN fails both comparisons and flows through as NaN.
 */
VINLINE v4d vexp4(v4d x) {
  v4i lo = x < splat(-708.0), hi = x > splat(709.0);
  v4d xc = vsel(lo, splat(-708.0), vsel(hi, splat(709.0), x));
  v4d t = xc * splat(LOG2E) + splat(SHIFT);
  v4d k = t - splat(SHIFT);
  v4d r = (xc - k * splat(LN2_HI)) - k * splat(LN2_LO);
  v4d p = splat(1.0 / 479001600.0);
  p = p * r + splat(1.0 / 39916800.0);
  p = p * r + splat(1.0 / 3628800.0);
  p = p * r + splat(1.0 / 362880.0);
  p = p * r + splat(1.0 / 40320.0);
  p = p * r + splat(1.0 / 5040.0);
  p = p * r + splat(1.0 / 720.0);
  p = p * r + splat(1.0 / 120.0);
  p = p * r + splat(1.0 / 24.0);
  p = p * r + splat(1.0 / 6.0);
  p = p * r + splat(0.5);
  p = p * r + splat(1.0);
  p = p * r + splat(1.0);
  v4i bits = ((v4i)t + 1023) << 52; /* the low bits of t hold k */
  v4d y = p * (v4d)bits;
  y = vsel(lo, splat(0.0), y);
  return vsel(hi, splat(INFINITY), y);
}

VINLINE double hsum(v4d v) { return (v[0] + v[1]) + (v[2] + v[3]); }

VINLINE double hmax(v4d v) {
  double a = v[0] > v[1] ? v[0] : v[1], b = v[2] > v[3] ? v[2] : v[3];
  return a > b ? a : b;
}

VINLINE v4d vmax(v4d acc, v4d v) { return vsel(v > acc, v, acc); } /* NaN never wins */

VEXP_CLONES
void ot_vexp(double *y, const double *x, size_t n) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vstore(y + i, vexp4(vload(x + i)));
  if (i < n) {
    v4d e = vexp4(vload_tail(x + i, n - i, 0.0));
    for (size_t k = 0; i + k < n; k++) y[i + k] = e[k];
  }
}

VEXP_CLONES
double ot_vexp_lse(const double *h, const double *c, size_t m, double s) {
  size_t j, tail = m & 3, body = m - tail;
  v4d mx = splat(-INFINITY), mx2 = splat(-INFINITY);
  for (j = 0; j + 8 <= body; j += 8) { /* two chains hide the compare latency */
    mx = vmax(mx, vload(h + j) - vload(c + j));
    mx2 = vmax(mx2, vload(h + j + 4) - vload(c + j + 4));
  }
  for (; j < body; j += 4) mx = vmax(mx, vload(h + j) - vload(c + j));
  mx = vmax(mx, mx2);
  double big = hmax(mx);
  for (j = body; j < m; j++)
    if (h[j] - c[j] > big) big = h[j] - c[j];
  if (big == -INFINITY) {
    for (j = 0; j < m; j++)
      if (isnan(h[j] - c[j])) return NAN;
    return -INFINITY;
  }
  v4d vs = splat(s), vb = splat(big), acc = splat(0.0), acc2 = splat(0.0);
  for (j = 0; j + 8 <= body; j += 8) {
    acc += vexp4((vload(h + j) - vload(c + j) - vb) * vs);
    acc2 += vexp4((vload(h + j + 4) - vload(c + j + 4) - vb) * vs);
  }
  for (; j < body; j += 4) acc += vexp4((vload(h + j) - vload(c + j) - vb) * vs);
  if (tail) {
    v4d t = vload_tail(h + body, tail, -INFINITY) - vload_tail(c + body, tail, 0.0);
    acc += vexp4((t - vb) * vs);
  }
  return big * s + log(hsum(acc + acc2));
}

VEXP_CLONES
double ot_vexp_row(double *out, double fi, const double *h, const double *c, size_t m,
                   double s) {
  size_t j = 0;
  v4d vs = splat(s), vf = splat(fi), acc = splat(0.0);
  for (; j + 4 <= m; j += 4) {
    v4d e = vexp4((vf + vload(h + j) - vload(c + j)) * vs);
    vstore(out + j, e);
    acc += e;
  }
  if (j < m) {
    v4d t = vload_tail(h + j, m - j, -INFINITY) - vload_tail(c + j, m - j, 0.0);
    v4d e = vexp4((vf + t) * vs);
    for (size_t k = 0; j + k < m; k++) out[j + k] = e[k];
    acc += e;
  }
  return hsum(acc);
}

enum { TILE = 256 }; /* columns per cost tile: 2 KiB on the stack */

VEXP_CLONES
double ot_vexp_lse_pts(const double *h, const double *x, const double *yt, size_t ldy,
                       size_t d, size_t m, int metric, double scale, double s) {
  double c[TILE] __attribute__((aligned(32)));
  double big = -INFINITY, sum = 0.0; /* running max and sum of exp((t - big) * s) */
  for (size_t j0 = 0; j0 < m; j0 += TILE) {
    size_t nt = m - j0 < TILE ? m - j0 : TILE, nb = nt & ~(size_t)3;
    for (size_t j = 0; j < nb; j += 4) { /* the cost tile */
      v4d acc = splat(0.0);
      for (size_t k = 0; k < d; k++) {
        v4d diff = splat(x[k]) - vload(yt + k * ldy + j0 + j);
        acc += diff * diff;
      }
      vstore(c + j, acc);
    }
    for (size_t j = nb; j < nt; j++) {
      double acc = 0.0;
      for (size_t k = 0; k < d; k++) {
        double diff = x[k] - yt[k * ldy + j0 + j];
        acc += diff * diff;
      }
      c[j] = acc;
    }
    if (metric == 1)
      for (size_t j = 0; j < nt; j++) c[j] = sqrt(c[j]);
    v4d mx = splat(-INFINITY), vsc = splat(scale);
    for (size_t j = 0; j < nb; j += 4) {
      v4d t = vload(h + j0 + j) - vload(c + j) * vsc;
      vstore(c + j, t);
      mx = vmax(mx, t);
    }
    double tb = hmax(mx);
    for (size_t j = nb; j < nt; j++) {
      c[j] = h[j0 + j] - c[j] * scale;
      if (c[j] > tb) tb = c[j];
    }
    if (tb == -INFINITY) {
      for (size_t j = 0; j < nt; j++)
        if (isnan(c[j])) return NAN;
      continue;
    }
    if (tb > big) { /* rescale the running sum to the new maximum */
      sum *= exp((big - tb) * s);
      big = tb;
    }
    v4d vb = splat(big), vs = splat(s), acc = splat(0.0);
    for (size_t j = 0; j < nb; j += 4) acc += vexp4((vload(c + j) - vb) * vs);
    if (nb < nt) acc += vexp4((vload_tail(c + nb, nt - nb, -INFINITY) - vb) * vs);
    sum += hsum(acc);
  }
  if (big == -INFINITY) return -INFINITY;
  return big * s + log(sum);
}
