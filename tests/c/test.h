/*
 * test.h -- the tiny harness of the C tests (after Redis's testhelp.h).
 * CHECK(desc, cond) counts a check and prints failures with their line;
 * CHECK_NEAR compares doubles with a stated absolute tolerance.
 * main() ends with `return test_report();` (non-zero exit on any failure).
 */
#ifndef OT_TEST_H
#define OT_TEST_H

#include <math.h>
#include <stdio.h>

static int test_passed, test_failed;

#define CHECK(desc, cond)                                                  \
  do {                                                                     \
    if (cond) {                                                            \
      test_passed++;                                                       \
    } else {                                                               \
      test_failed++;                                                       \
      printf("FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, desc, #cond);   \
    }                                                                      \
  } while (0)

#define CHECK_NEAR(desc, got, want, tol)                                              \
  do {                                                                                \
    double g_ = (got), w_ = (want);                                                   \
    if (fabs(g_ - w_) <= (tol)) {                                                     \
      test_passed++;                                                                  \
    } else {                                                                          \
      test_failed++;                                                                  \
      printf("FAIL %s:%d: %s: got %.17g, want %.17g (tol %g)\n", __FILE__, __LINE__,  \
             desc, g_, w_, (double)(tol));                                            \
    }                                                                                 \
  } while (0)

static inline int test_report(void) {
  printf("%d passed, %d failed\n", test_passed, test_failed);
  return test_failed ? 1 : 0;
}

#endif
