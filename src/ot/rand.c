/*
 * rand.c -- xoshiro256** seeded by splitmix64 (see rand.h).
 */
#include <math.h>

#include "rand.h"

__extension__ typedef unsigned __int128 u128; /* GCC and clang both have it */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void ot_rng_seed(ot_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  r->has_spare = 0;
  r->spare = 0.0;
}

uint64_t ot_rng_u64(ot_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double ot_rng_uniform(ot_rng *r) {
  return (double)(ot_rng_u64(r) >> 11) * 0x1.0p-53; /* top 53 bits */
}

double ot_rng_normal(ot_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u, v, s;
  do { /* a point uniform in the unit disc, origin excluded */
    u = 2.0 * ot_rng_uniform(r) - 1.0;
    v = 2.0 * ot_rng_uniform(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double f = sqrt(-2.0 * log(s) / s);
  r->spare = v * f;
  r->has_spare = 1;
  return u * f;
}

uint64_t ot_rng_below(ot_rng *r, uint64_t n) {
  /* Lemire, "Fast random integer generation in an interval", TOMACS 2019. */
  u128 m = (u128)ot_rng_u64(r) * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    uint64_t thresh = -n % n;
    while (lo < thresh) {
      m = (u128)ot_rng_u64(r) * n;
      lo = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

void ot_rng_permutation(ot_rng *r, size_t *perm, size_t n) {
  for (size_t i = 0; i < n; i++) perm[i] = i;
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)ot_rng_below(r, i);
    size_t t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
}

void ot_rng_sample(ot_rng *r, size_t *out, size_t k, size_t n, size_t *scratch) {
  for (size_t i = 0; i < n; i++) scratch[i] = i;
  for (size_t i = 0; i < k; i++) {
    size_t j = i + (size_t)ot_rng_below(r, n - i);
    size_t t = scratch[i];
    scratch[i] = scratch[j];
    scratch[j] = t;
    out[i] = scratch[i];
  }
}
