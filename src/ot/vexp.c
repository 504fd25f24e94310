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

/* Eight lanes: one AVX-512 register, two AVX2 registers or four SSE2 ones. */
typedef double vd __attribute__((vector_size(64)));
typedef int64_t vi __attribute__((vector_size(64)));
#define LANES 8

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define VEXP_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VEXP_CLONES
#endif

#define VINLINE static inline __attribute__((always_inline))

static const double LOG2E = 1.4426950408889634074;
static const double LN2_HI = 6.93147180369123816490e-01; /* trailing zeros: k*LN2_HI is exact */
static const double LN2_LO = 1.90821492927058770002e-10;
static const double SHIFT = 6755399441055744.0; /* 1.5 * 2^52: rounds to an integer in the low bits */

VINLINE vd splat(double x) { return (vd){x, x, x, x, x, x, x, x}; }

VINLINE vd vsel(vi mask, vd a, vd b) { /* mask ? a : b, lane by lane */
  return (vd)(((vi)a & mask) | ((vi)b & ~mask));
}

VINLINE vd vload(const double *p) {
  vd v;
  memcpy(&v, p, sizeof v);
  return v;
}

VINLINE void vstore(double *p, vd v) { memcpy(p, &v, sizeof v); }

/* Load the n < LANES trailing elements of p, padding with `pad`. */
VINLINE vd vload_tail(const double *p, size_t n, double pad) {
  double t[LANES] = {pad, pad, pad, pad, pad, pad, pad, pad};
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
VINLINE vd vexpv(vd x) {
  vi lo = x < splat(-708.0), hi = x > splat(709.0);
  vd xc = vsel(lo, splat(-708.0), vsel(hi, splat(709.0), x));
  vd t = xc * splat(LOG2E) + splat(SHIFT);
  vd k = t - splat(SHIFT);
  vd r = (xc - k * splat(LN2_HI)) - k * splat(LN2_LO);
  vd p = splat(1.0 / 479001600.0);
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
  vi bits = ((vi)t + 1023) << 52; /* the low bits of t hold k */
  vd y = p * (vd)bits;
  y = vsel(lo, splat(0.0), y);
  return vsel(hi, splat(INFINITY), y);
}

VINLINE double hsum(vd v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

VINLINE double hmax(vd v) {
  double a = v[0];
  for (int k = 1; k < LANES; k++) a = v[k] > a ? v[k] : a;
  return a;
}

VINLINE vd vmax(vd acc, vd v) { return vsel(v > acc, v, acc); } /* NaN never wins */

VEXP_CLONES
void ot_vexp(double *y, const double *x, size_t n) {
  size_t i = 0;
  for (; i + LANES <= n; i += LANES) vstore(y + i, vexpv(vload(x + i)));
  if (i < n) {
    vd e = vexpv(vload_tail(x + i, n - i, 0.0));
    for (size_t k = 0; i + k < n; k++) y[i + k] = e[k];
  }
}

/* sum_j exp((h_j - c_j - shift) * s) in one pass. */
VINLINE double shifted_sum(const double *h, const double *c, size_t m, double s, double shift) {
  size_t j, tail = m % LANES, body = m - tail;
  vd vs = splat(s), vb = splat(shift), acc = splat(0.0);
  for (j = 0; j < body; j += LANES) acc += vexpv((vload(h + j) - vload(c + j) - vb) * vs);
  if (tail) {
    vd t = vload_tail(h + body, tail, -INFINITY) - vload_tail(c + body, tail, 0.0);
    acc += vexpv((t - vb) * vs);
  }
  return hsum(acc);
}

VEXP_CLONES
double ot_vexp_lse(const double *h, const double *c, size_t m, double s, double hint) {
  if (isfinite(hint)) { /* one pass with the guessed shift, kept when the sum is safe */
    double sum = shifted_sum(h, c, m, s, hint);
    if (sum > 1e-200 && sum < 1e200) return hint * s + log(sum);
    if (isnan(sum)) return NAN;
  }
  size_t j, tail = m % LANES, body = m - tail;
  vd mx = splat(-INFINITY);
  for (j = 0; j < body; j += LANES) mx = vmax(mx, vload(h + j) - vload(c + j));
  double big = hmax(mx);
  for (j = body; j < m; j++)
    if (h[j] - c[j] > big) big = h[j] - c[j];
  if (big == -INFINITY) {
    for (j = 0; j < m; j++)
      if (isnan(h[j] - c[j])) return NAN;
    return -INFINITY;
  }
  return big * s + log(shifted_sum(h, c, m, s, big));
}

VEXP_CLONES
void ot_vexp_acc(double *acc, const double *c, const double *shift, double a, double s,
                 size_t m) {
  size_t j = 0;
  vd va = splat(a), vs = splat(s);
  for (; j + LANES <= m; j += LANES)
    vstore(acc + j, vload(acc + j) + vexpv((va - vload(c + j)) * vs - vload(shift + j)));
  if (j < m) {
    vd e = vexpv((va - vload_tail(c + j, m - j, 0.0)) * vs - vload_tail(shift + j, m - j, 0.0));
    for (size_t k = 0; j + k < m; k++) acc[j + k] += e[k];
  }
}

VEXP_CLONES
double ot_vexp_row(double *out, double fi, const double *h, const double *c, size_t m,
                   double s) {
  size_t j = 0;
  vd vs = splat(s), vf = splat(fi), acc = splat(0.0);
  for (; j + LANES <= m; j += LANES) {
    vd e = vexpv((vf + vload(h + j) - vload(c + j)) * vs);
    vstore(out + j, e);
    acc += e;
  }
  if (j < m) {
    vd t = vload_tail(h + j, m - j, -INFINITY) - vload_tail(c + j, m - j, 0.0);
    vd e = vexpv((vf + t) * vs);
    for (size_t k = 0; j + k < m; k++) out[j + k] = e[k];
    acc += e;
  }
  return hsum(acc);
}

enum { TILE = 256 }; /* columns per cost tile: 2 KiB on the stack */

VEXP_CLONES
void ot_vexp_lse_pts(const double *h, const double *x, const double *yt, size_t ldy, size_t d,
                     size_t m, int metric, double scale, double s, double *bigp, double *sump) {
  double c[TILE] __attribute__((aligned(64)));
  double big = *bigp, sum = *sump; /* running max and sum of exp((t - big) * s) */
  for (size_t j0 = 0; j0 < m; j0 += TILE) {
    size_t nt = m - j0 < TILE ? m - j0 : TILE, nb = nt - nt % LANES;
    for (size_t j = 0; j < nb; j += LANES) { /* the cost tile */
      vd acc = splat(0.0);
      for (size_t k = 0; k < d; k++) {
        vd diff = splat(x[k]) - vload(yt + k * ldy + j0 + j);
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
    vd mx = splat(-INFINITY), vsc = splat(scale);
    for (size_t j = 0; j < nb; j += LANES) {
      vd t = vload(h + j0 + j) - vload(c + j) * vsc;
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
        if (isnan(c[j])) sum = NAN;
      continue;
    }
    if (tb > big) { /* rescale the running sum to the new maximum */
      sum *= exp((big - tb) * s);
      big = tb;
    }
    vd vb = splat(big), vs = splat(s), acc = splat(0.0);
    for (size_t j = 0; j < nb; j += LANES) acc += vexpv((vload(c + j) - vb) * vs);
    if (nb < nt) acc += vexpv((vload_tail(c + nb, nt - nb, -INFINITY) - vb) * vs);
    sum += hsum(acc);
  }
  *bigp = big;
  *sump = sum;
}
