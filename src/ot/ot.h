/*
 * ot.h -- the core library's common definitions: status codes, the progress
 * callback contract and the error text.
 *
 * libot is C11 plus BLAS/LAPACK.  It never prints, exits or aborts; every
 * fallible function returns one of the OT_E* codes below (OT_OK == 0) and
 * writes its results through pointer arguments.  ot_strerror() gives the
 * English text for a code.
 */
#ifndef OT_OT_H
#define OT_OT_H

#include <stddef.h>

/* Status codes.  One code per cause; keep ot_strerror() in step. */
enum {
  OT_OK = 0,
  OT_EINVAL,     /* an argument is out of its domain */
  OT_ESHAPE,     /* matrix shapes do not agree */
  OT_ENOMEM,     /* the allocator returned NULL */
  OT_EBUDGET,    /* the request exceeds the memory budget (nothing allocated) */
  OT_EOVERFLOW,  /* a size computation overflowed size_t */
  OT_ECANCELED,  /* the progress callback asked to stop */
  OT_ENUMERIC,   /* NaN or Inf appeared during a computation */
  OT_ELAPACK,    /* LAPACK reported a failure (singular, no convergence) */
  OT_EIO,        /* reading or writing a file failed (see errno) */
  OT_EFORMAT,    /* a file's contents are malformed */
  OT_EUNSUPPORTED, /* a valid file feature that otlab does not read */
  OT_NSTATUS
};

/* Text for a status code; never NULL, static storage. */
const char *ot_strerror(int status);

/*
 * Progress reports.  Long kernels call an ot_progress_fn at least every
 * ~50 ms of work.  A non-zero return cancels the kernel, which frees its
 * scratch memory and returns OT_ECANCELED.  The struct may grow; callers
 * read only the fields they know.
 */
typedef struct ot_progress {
  const char *kernel;   /* short name of the reporting kernel, e.g. "sinkhorn" */
  long iter;            /* current iteration (or pivots for exact solvers) */
  long max_iter;        /* iteration cap, 0 when unknown */
  double err;           /* current error (marginal violation, gradient norm...) */
  double objective;     /* current objective value, NaN when not tracked */
  double elapsed;       /* seconds since the kernel started */
  const void *state;    /* kernel-specific state (current plan, particles...) */
} ot_progress;

typedef int (*ot_progress_fn)(void *ud, const ot_progress *p);

/* Monotonic wall clock in seconds, for elapsed times and progress pacing. */
double ot_clock(void);

#endif
