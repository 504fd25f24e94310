/*
 * rand.h -- the seeded random generator.
 *
 * Generator: xoshiro256** 1.0 (Blackman and Vigna, "Scrambled linear
 * pseudorandom number generators", ACM TOMS 2021), its 256-bit state filled
 * from the 64-bit seed by splitmix64, as the authors recommend.  Integer
 * output, uniforms, permutations and samples are bit-identical on every
 * machine for the same seed.  Normals use the Marsaglia polar method, which
 * needs only sqrt (exact in IEEE arithmetic) and log (libm): they agree
 * wherever libm's log rounds the same way.
 *
 * All randomness in otlab comes through an ot_rng; the state is the
 * caller's (the Lua bindings keep one generator).
 */
#ifndef OT_RAND_H
#define OT_RAND_H

#include <stddef.h>
#include <stdint.h>

typedef struct ot_rng {
  uint64_t s[4];
  double spare;     /* second normal of the last polar pair */
  int has_spare;
} ot_rng;

void ot_rng_seed(ot_rng *r, uint64_t seed);
uint64_t ot_rng_u64(ot_rng *r);
/* Uniform on [0, 1) with 53 random bits. */
double ot_rng_uniform(ot_rng *r);
/* Standard normal. */
double ot_rng_normal(ot_rng *r);
/* Uniform integer in [0, n) without modulo bias (Lemire's method); n > 0. */
uint64_t ot_rng_below(ot_rng *r, uint64_t n);
/* perm[0..n) = a uniformly random permutation of 0..n-1 (Fisher-Yates). */
void ot_rng_permutation(ot_rng *r, size_t *perm, size_t n);
/*
 * out[0..k) = k distinct indices drawn uniformly from 0..n-1, in draw order.
 * scratch must hold n size_t (a partial Fisher-Yates shuffle); k <= n.
 */
void ot_rng_sample(ot_rng *r, size_t *out, size_t k, size_t n, size_t *scratch);

#endif
