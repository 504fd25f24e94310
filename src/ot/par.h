/*
 * par.h -- the thread number and team size of the OpenMP region a kernel
 * runs in, for per-thread scratch (0 and 1 without OpenMP), and the team's
 * shared flags.
 */
#ifndef OT_PAR_H
#define OT_PAR_H

#ifdef _OPENMP
#include <omp.h>
#define OT_THREAD_ID() omp_get_thread_num()
#define OT_NTHREADS() omp_get_max_threads()
#else
#define OT_THREAD_ID() 0
#define OT_NTHREADS() 1
#endif

/* Flags shared by a team (stop requests, a first error): read and written
 * atomically, so that a thread sees another's write without a data race. */
static inline int ot_flag_get(const int *flag) { return __atomic_load_n(flag, __ATOMIC_RELAXED); }

static inline void ot_flag_set(int *flag, int v) { __atomic_store_n(flag, v, __ATOMIC_RELAXED); }

#endif
