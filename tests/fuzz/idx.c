/*
 * idx.c -- libFuzzer target for the IDX reader, plain or gzip (ot_io_parse
 * with format idx, hence ot_io_gunzip, and ot_idx_parse).
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
  if (fuzz_one(FUZZ_IDX, data, size, why, sizeof why)) {
    fprintf(stderr, "fuzz idx: %s\n", why);
    abort();
  }
  return 0;
}
