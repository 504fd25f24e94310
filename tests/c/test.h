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

#include "alloc.h"
#include "ot.h"

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

/*
 * Allocation-failure sweep: evaluates `call` (an expression giving a status)
 * with the n-th and every later counted allocation failing, for n = 1, 2, ...
 * until it succeeds (at most 100 tries).  Every run must return OT_OK or
 * OT_ENOMEM and leave the live bytes as they were, and success must come.
 */
#define CHECK_FAULT_SWEEP(desc, call)                                           \
  do {                                                                          \
    size_t base_ = ot_mem_used();                                               \
    int ok_ = 1, done_ = 0;                                                     \
    for (long nth_ = 1; nth_ < 200 && !done_; nth_++) {                         \
      ot_mem_fail_after(nth_);                                                  \
      int rc_ = (call);                                                         \
      ot_mem_fail_after(0);                                                     \
      ok_ &= (rc_ == OT_OK || rc_ == OT_ENOMEM) && ot_mem_used() == base_;      \
      done_ = rc_ == OT_OK;                                                     \
    }                                                                           \
    CHECK(desc, ok_ && done_);                                                  \
  } while (0)

static inline int test_report(void) {
  printf("%d passed, %d failed\n", test_passed, test_failed);
  return test_failed ? 1 : 0;
}

#endif
