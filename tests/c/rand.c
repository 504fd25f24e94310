/*
 * tests/c/rand.c -- the seeded generator: reference outputs, determinism,
 * distribution moments, permutations and samples.
 */
#include <stdlib.h>
#include <string.h>

#include "rand.h"
#include "test.h"

int main(void) {
  ot_rng r, r2;

  /* Reference outputs of xoshiro256** seeded through splitmix64, computed
   * once by an independent implementation of the published algorithms. */
  static const uint64_t want0[4] = {0x99ec5f36cb75f2b4u, 0xbf6e1f784956452au,
                                    0x1a5f849d4933e6e0u, 0x6aa594f1262d2d2cu};
  static const uint64_t want42[4] = {0x15780b2e0c2ec716u, 0x6104d9866d113a7eu,
                                     0xae17533239e499a1u, 0xecb8ad4703b360a1u};
  ot_rng_seed(&r, 0);
  for (int i = 0; i < 4; i++) CHECK("seed 0 reference output", ot_rng_u64(&r) == want0[i]);
  ot_rng_seed(&r, 42);
  for (int i = 0; i < 4; i++) CHECK("seed 42 reference output", ot_rng_u64(&r) == want42[i]);
  ot_rng_seed(&r, 42);
  CHECK("uniform = top 53 bits", ot_rng_uniform(&r) == 0.08386297105988216);

  /* Same seed, same stream (normals included); different seed differs. */
  ot_rng_seed(&r, 7);
  ot_rng_seed(&r2, 7);
  int same = 1;
  for (int i = 0; i < 1000; i++) same &= ot_rng_normal(&r) == ot_rng_normal(&r2);
  CHECK("same seed gives the same normals", same);
  ot_rng_seed(&r2, 8);
  CHECK("different seeds differ", ot_rng_u64(&r) != ot_rng_u64(&r2));

  /* Moments: n = 200000 draws; the tolerances are ~6 standard errors. */
  enum { N = 200000 };
  double s = 0, s2 = 0, lo = 1, hi = 0;
  ot_rng_seed(&r, 1);
  for (int i = 0; i < N; i++) {
    double u = ot_rng_uniform(&r);
    s += u;
    s2 += u * u;
    if (u < lo) lo = u;
    if (u > hi) hi = u;
  }
  CHECK_NEAR("uniform mean 1/2", s / N, 0.5, 6 * 0.2887 / sqrt(N));
  CHECK_NEAR("uniform variance 1/12", s2 / N - (s / N) * (s / N), 1.0 / 12, 0.002);
  CHECK("uniform in [0, 1)", lo >= 0.0 && hi < 1.0);
  s = s2 = 0;
  double s3 = 0, s4 = 0;
  for (int i = 0; i < N; i++) {
    double z = ot_rng_normal(&r);
    s += z;
    s2 += z * z;
    s3 += z * z * z;
    s4 += z * z * z * z;
  }
  CHECK_NEAR("normal mean 0", s / N, 0.0, 6 / sqrt(N));
  CHECK_NEAR("normal variance 1", s2 / N, 1.0, 6 * sqrt(2.0 / N));
  CHECK_NEAR("normal skewness 0", s3 / N, 0.0, 6 * sqrt(15.0 / N));
  CHECK_NEAR("normal kurtosis 3", s4 / N, 3.0, 6 * sqrt(96.0 / N));

  /* below(n): in range and roughly flat (chi-square over 10 cells, 9 dof:
   * 40 is far beyond the 0.9999 quantile 33.7). */
  long cell[10] = {0};
  int in_range = 1;
  for (int i = 0; i < N; i++) {
    uint64_t k = ot_rng_below(&r, 10);
    in_range &= k < 10;
    if (k < 10) cell[k]++;
  }
  double chi = 0;
  for (int k = 0; k < 10; k++) chi += (cell[k] - N / 10.0) * (cell[k] - N / 10.0) / (N / 10.0);
  CHECK("below(10) in range", in_range);
  CHECK("below(10) chi-square < 40", chi < 40);
  CHECK("below(1) is 0", ot_rng_below(&r, 1) == 0);
  uint64_t big = (uint64_t)1 << 63;
  CHECK("below(2^63) in range", ot_rng_below(&r, big + 1) <= big);

  /* Permutations are permutations; samples are distinct and in range. */
  size_t perm[100], seen[100], out[30], scratch[100];
  ot_rng_permutation(&r, perm, 100);
  memset(seen, 0, sizeof seen);
  int ok = 1;
  for (int i = 0; i < 100; i++) ok &= perm[i] < 100 && !seen[perm[i]]++;
  CHECK("permutation of 0..99", ok);
  ot_rng_sample(&r, out, 30, 100, scratch);
  memset(seen, 0, sizeof seen);
  ok = 1;
  for (int i = 0; i < 30; i++) ok &= out[i] < 100 && !seen[out[i]]++;
  CHECK("30 distinct of 100", ok);
  ot_rng_sample(&r, out, 0, 0, scratch);
  ot_rng_permutation(&r, perm, 0);
  CHECK("empty sample and permutation are fine", 1);

  /* Every index equally likely as the first draw (chi-square, 9 dof). */
  long first[10] = {0};
  for (int i = 0; i < 50000; i++) {
    ot_rng_sample(&r, out, 3, 10, scratch);
    first[out[0]]++;
  }
  chi = 0;
  for (int k = 0; k < 10; k++) chi += (first[k] - 5000.0) * (first[k] - 5000.0) / 5000.0;
  CHECK("first draw uniform (chi-square < 40)", chi < 40);
  return test_report();
}
