/*
 * npy.c -- libFuzzer target for the NumPy .npy reader (ot_npy_parse;
 * ot_io_parse with gzip and format sniffing).
 * Built by scripts/fuzz with clang-14 -fsanitize=fuzzer,address,undefined;
 * the checks live in harness.c (shared with the replay test).  A broken
 * rule aborts, so libFuzzer saves the input as a crash.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char why[512];
  if (fuzz_one(FUZZ_NPY, data, size, why, sizeof why)) {
    fprintf(stderr, "fuzz npy: %s\n", why);
    abort();
  }
  return 0;
}
