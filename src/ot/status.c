/*
 * status.c -- status texts and the monotonic clock shared by all kernels.
 */
#include <time.h>

#include "ot.h"

static const char *const status_text[OT_NSTATUS] = {
  "success",
  "invalid argument",
  "shape mismatch",
  "not enough memory",
  "over the memory budget",
  "size overflow",
  "canceled",
  "numerical error (NaN or Inf)",
  "LAPACK failure",
  "input/output error",
  "malformed file",
  "unsupported file feature",
};

const char *ot_strerror(int status) {
  if (status < 0 || status >= OT_NSTATUS) return "unknown status";
  return status_text[status];
}

double ot_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
