/*
 * fuzz.h -- the checks shared by the libFuzzer targets (npy.c, csv.c,
 * idx.c) and the replay test (replay.c).
 *
 * fuzz_one() feeds one input to one parser under a small memory budget,
 * twice: once with the default options (plus a writer round trip when the
 * parse succeeds) and once with options picked from a hash of the input
 * (row limit, label column, non-finite values, CSV header/delimiter/line
 * limit, a caller-owned allocation hook, format sniffing).  Every result
 * is checked against the contract of io.h; the first broken rule is
 * described in `why` and fuzz_one returns 1.  It returns 0 when every rule
 * held, whatever status the parser returned.
 */
#ifndef OT_FUZZ_H
#define OT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The targets. */
enum { FUZZ_NPY = 0, FUZZ_CSV, FUZZ_IDX, FUZZ_NTARGETS };

/* Memory budget of the parsers while fuzzing, and the most bytes inflated
 * from gzip: a lying header meets the budget long before libFuzzer's
 * -malloc_limit_mb=256. */
#define FUZZ_BUDGET ((size_t)64 << 20)
#define FUZZ_MAX_BYTES ((size_t)16 << 20)

/* "npy", "csv" or "idx". */
const char *fuzz_target_name(int target);

/* Set the memory budget (once per process; idempotent). */
void fuzz_setup(void);

/* Check one input against target; 0 when it behaved, 1 with why filled. */
int fuzz_one(int target, const uint8_t *data, size_t size, char *why, size_t whylen);

#endif
