/*
 * jobs.h -- a bag of independent jobs that a caller may spread over
 * processes (MPI ranks, shards of a job array).
 *
 * A kernel whose work is a list of independent solves (mini-batch pairs,
 * label pairs) describes one batch of them as an ot_jobs and hands it to a
 * distributor (an ot_jobs_fn given in its options).  The distributor calls
 * run() for the jobs this process owns and makes every row of out known
 * here, by whatever means (MPI collectives, files of other processes); the
 * kernel then goes on as if it had run every job itself.  With no
 * distributor, the kernel calls run(jobs, 0, 1).  The core never knows
 * how the rows travel: it includes neither MPI nor Lua.
 *
 * Results are bit-identical whatever the layout when each job's row depends
 * only on its key (the same code computes it wherever it runs) and the
 * kernel combines the rows in job order.
 */
#ifndef OT_JOBS_H
#define OT_JOBS_H

#include <stddef.h>

typedef struct ot_jobs ot_jobs;
struct ot_jobs {
  const char *kind;   /* what the jobs are ("pairs", "semi"): names them in messages */
  size_t count;       /* jobs 0 .. count - 1 */
  size_t key_width;   /* doubles that identify a job (e.g. the batch pair a, b) */
  const double *key;  /* count x key_width, row-major: lets a distributor check that
                         rows computed elsewhere belong to these jobs */
  size_t width;       /* doubles of result per job */
  double *out;        /* count x width, row-major: row t is job t's result */
  /*
   * Run jobs first, first + stride, first + 2 stride, ... (< count) in this
   * process, writing their rows of out.  Returns OT_OK, OT_ECANCELED (the
   * kernel's progress callback asked to stop) or another status; a failed
   * run leaves the other rows untouched.
   */
  int (*run)(ot_jobs *jobs, size_t first, size_t stride);
  void *run_ud;       /* the kernel's state for run */
  int fixed;          /* 1: the jobs are known before the kernel has any result (they
                         depend on the inputs and options only), so separate runs of the
                         kernel (shards) can compute them ahead and a later run read them;
                         0: they depend on earlier results (the distributor of shards
                         runs them where the results are, i.e. in the run that reads) */
};

/*
 * A distributor: on OT_OK every row of jobs->out is filled.  Every process
 * taking part returns the same status (a failure or cancel on one of them
 * fails the batch on all, so none waits for the others forever).  ud is
 * the distributor's own state (opts.distribute_ud).
 */
typedef int (*ot_jobs_fn)(void *ud, ot_jobs *jobs);

#endif
