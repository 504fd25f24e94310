/*
 * mpi.h (bindings) -- what src/bind/mpi.c offers the other bindings: the
 * world (rank, size) and a distributor of ot_jobs batches (src/ot/jobs.h)
 * over MPI ranks or over the shards of a job array, for kernels whose
 * options take an ot_jobs_fn (ot.bounds, ot.otdd).
 *
 * One distribution (bind_dist) serves one call of a Lua function.  Its mode
 * is fixed when it is made:
 *   BIND_DIST_LOCAL   one process: every job runs here
 *   BIND_DIST_MPI     several ranks: rank r runs jobs r, r + size, ... of
 *                     each batch; the rows travel to every rank (one
 *                     MPI_Allgatherv per batch, after one MPI_Allreduce of
 *                     the statuses), so every rank goes on with all rows
 *   BIND_DIST_SHARD   OTLAB_SHARD=i/N: this process runs jobs i-1, i-1+N,
 *                     ... of each batch, leaves the other rows at 0, and
 *                     bind_dist_finish writes its rows to
 *                     OTLAB_SHARD_DIR/<name>-<call>.<i>of<N>.npy and ends
 *                     the script (the kernel's result is meaningless then)
 *   BIND_DIST_REDUCE  OTLAB_SHARD=reduce, or a shard run finding the files
 *                     of all N shards: no job runs; every row is read from
 *                     the files, checked against the job's key
 * Batches that depend on earlier results (jobs->fixed = 0) are skipped by
 * shard runs and run whole by the reduce run.
 * <call> numbers the distributed calls of a run (1, 2, ...), as ot.mpi.map
 * numbers its calls, so a script with several calls finds its own files.
 *
 * Shard files (.npy, '<f8', one 2-d array): one row per job of the shard,
 * in the order they ran: batch (1-based: the kernel's fixed batches of
 * jobs in order), job (0-based within the batch), key_width, width, the key, the
 * result row, NaN padding to the widest row.  For ot.bounds pair solves
 * the key is the batch pair (a, b), 0-based, and the row begins with D_ab.
 */
#ifndef BIND_MPI_H
#define BIND_MPI_H

#include "bind.h"
#include "ot/jobs.h"

/* This process's rank (0 without MPI) and the number of ranks (1). */
int bind_mpi_rank(void);
int bind_mpi_size(void);
/* The script failed: under MPI with several ranks, abort the whole job
 * (MPI_Abort with this exit code) so no rank waits forever in a collective. */
void bind_mpi_fail(int code);

enum { BIND_DIST_LOCAL = 0, BIND_DIST_MPI, BIND_DIST_SHARD, BIND_DIST_REDUCE };

typedef struct bind_dist bind_dist;

/*
 * Push a new distribution for one call of fname (a userdata; its __gc
 * frees everything, so errors raised later leak nothing).  name: the shard
 * files' prefix ("bounds").  shards = 1: reads OTLAB_SHARD / OTLAB_SHARD_DIR
 * (a bad value, unreadable or missing shard files in reduce mode raise);
 * shards = 0: MPI or local only (the call computes everything when sharded).
 */
bind_dist *bind_dist_new(lua_State *L, const char *fname, const char *name, int shards);

/* BIND_DIST_* */
int bind_dist_mode(const bind_dist *d);

/* The ot_jobs_fn: ud is the bind_dist.  A failure of its own (a shard
 * file that does not match) returns OT_EFORMAT or OT_EIO with a message
 * that bind_dist_check raises. */
int bind_dist_jobs(void *ud, ot_jobs *jobs);

/*
 * Under MPI, wrap the kernel's progress (*fn, *ud) so that a stop asked on
 * any rank stops every rank at the same batch (see bind_dist_jobs); a stop
 * asked after the last batch is ignored (the run completes).  Nothing
 * changes in the other modes.
 */
void bind_dist_progress(bind_dist *d, ot_progress_fn *fn, void **ud);

/* After a kernel call failed: raise the distributor's message when the
 * failure was its own (returns otherwise). */
void bind_dist_check(lua_State *L, bind_dist *d);

/*
 * After the kernel succeeded.  Shard mode: write this shard's rows, print
 * a line on stderr, end the script (as os.exit(0, true)).  Reduce mode:
 * raise when the files hold rows this run did not use (the files come from
 * a different script, data or options).  Local and MPI: nothing.
 */
void bind_dist_finish(lua_State *L, bind_dist *d);

#endif
