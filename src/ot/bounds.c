/*
 * bounds.c -- certified mini-batch upper and lower bounds on OT
 * (specs/bounds.md).  See bounds.h for the definitions and the contract.
 *
 * Layout of a run (ot_bounds_minibatch):
 *   partition      perm_x, perm_y (batch a = perm[a m .. a m + m - 1])
 *   proxy          p_ab <= D_ab for knn, adaptive and the certificate
 *   rounds         select_round() appends the next pairs to the pair list,
 *                  solve_pairs() solves them (OpenMP team, one m x m block
 *                  per worker), reduce() finds the best batch permutation
 *   lower bounds   streamed passes over row tiles of the cost
 *   plan           the k chosen pairs solved again, lifted to n entries
 */
#include "bounds.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "assign.h"
#include "cost.h"
#include "emd.h"
#include "linalg.h"
#include "rand.h"
#include "sinkhorn.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- options and names ---------------------------------------------------- */

void ot_bounds_opts_init(ot_bounds_opts *o) {
  memset(o, 0, sizeof *o);
  o->m = 0;
  o->budget = 0;
  o->strategy = OT_BOUNDS_CIRCULANT;
  o->partition = OT_BOUNDS_SHUFFLE;
  o->seed = 0;
  o->solver = OT_BOUNDS_ASSIGN;
  o->reg = 0.01;
  o->sinkhorn_max_iter = 1000;
  o->sinkhorn_tol = 1e-9;
  o->lower = OT_BOUNDS_LOWER_NN | OT_BOUNDS_LOWER_DUAL;
  o->want_plan = 0;
  o->threads = 0;
  o->interval = 0.05;
}

static const char *const strategy_names[] = {"diag", "all", "opt", "circulant",
                                             "random", "knn", "adaptive"};
static const char *const partition_names[] = {"shuffle", "ordered", "spatial", "given"};
static const char *const solver_names[] = {"assign", "emd", "sinkhorn"};

const char *ot_bounds_strategy_name(int s) {
  return s >= 0 && s < OT_BOUNDS_NSTRATEGIES ? strategy_names[s] : "?";
}
const char *ot_bounds_partition_name(int p) {
  return p >= 0 && p < OT_BOUNDS_NPARTITIONS ? partition_names[p] : "?";
}
const char *ot_bounds_solver_name(int s) {
  return s >= 0 && s < OT_BOUNDS_NSOLVERS ? solver_names[s] : "?";
}

static int parse(const char *name, const char *const *names, int count, int *out) {
  for (int i = 0; i < count; i++)
    if (strcmp(name, names[i]) == 0) {
      *out = i;
      return OT_OK;
    }
  return OT_EINVAL;
}
int ot_bounds_strategy_parse(const char *name, int *out) {
  return parse(name, strategy_names, OT_BOUNDS_NSTRATEGIES, out);
}
int ot_bounds_partition_parse(const char *name, int *out) {
  return parse(name, partition_names, OT_BOUNDS_NPARTITIONS, out);
}
int ot_bounds_solver_parse(const char *name, int *out) {
  return parse(name, solver_names, OT_BOUNDS_NSOLVERS, out);
}

void ot_bounds_result_free(ot_bounds_result *r) {
  ot_free(r->pair_a);
  ot_free(r->pair_b);
  ot_free(r->pair_d);
  ot_free(r->sigma);
  ot_free(r->perm_x);
  ot_free(r->perm_y);
  ot_free(r->plan_i);
  ot_free(r->plan_j);
  ot_free(r->plan_mass);
  r->pair_a = r->pair_b = r->sigma = r->perm_x = r->perm_y = r->plan_i = r->plan_j = NULL;
  r->pair_d = r->plan_mass = NULL;
  r->npairs = r->plan_nnz = 0;
}

/* ---- costs ------------------------------------------------------------------ */

/* C(x_i, y_j) in the exact difference form (or the precomputed entry). */
static double cost_ij(const ot_bounds_problem *p, size_t i, size_t j) {
  if (p->C.data) return OT_AT(p->C, i, j);
  const double *x = p->X.data + i * p->X.ld, *y = p->Y.data + j * p->Y.ld;
  double s = 0.0;
  for (size_t t = 0; t < p->X.cols; t++) {
    double e = x[t] - y[t];
    s += e * e;
  }
  return p->metric == OT_METRIC_EUCLIDEAN ? sqrt(s) : s;
}

/* ---- one pair solve ----------------------------------------------------------- */

/* Scratch of one worker: one m x m block and the solver's vectors. */
typedef struct worker {
  size_t m;
  double *block;  /* m x m costs */
  double *P;      /* Sinkhorn: m x m plan */
  double *vec;    /* u, v, w (uniform weights), rounding scratch: 6 m */
  size_t *idx;    /* sigma (m) and emd triplets (2 m + 2 m) */
  double *mass;   /* emd triplet masses: 2 m */
} worker;

static void worker_free(worker *w) {
  ot_free(w->block);
  ot_free(w->P);
  ot_free(w->vec);
  ot_free(w->idx);
  ot_free(w->mass);
  memset(w, 0, sizeof *w);
}

static int worker_init(worker *w, size_t m, int solver) {
  int rc;
  memset(w, 0, sizeof *w);
  w->m = m;
  if ((rc = ot_alloc_doubles(m, m, &w->block)) || (rc = ot_alloc_doubles(6, m, &w->vec)) ||
      (rc = ot_malloc(5 * m * sizeof(size_t), &w->idx)))
    goto done;
  if (solver == OT_BOUNDS_EMD && (rc = ot_alloc_doubles(2, m, &w->mass))) goto done;
  if (solver == OT_BOUNDS_SINKHORN && (rc = ot_alloc_doubles(m, m, &w->P))) goto done;
  return OT_OK;
done:
  worker_free(w);
  return rc;
}

/*
 * Altschuler-Weed-Rigollet rounding (NeurIPS 2017, Algorithm 2) of F (m x m)
 * onto the couplings of two uniform 1/m marginals: scale rows down to at
 * most 1/m, then columns, then add the rank-one correction err_r err_c^T /
 * |err_r|_1.  F >= 0 on entry; the result is exactly feasible up to rounding.
 * s: 2 m doubles of scratch.
 */
static void round_plan(double *F, size_t m, double *s) {
  const double t = 1.0 / (double)m;
  double *er = s, *ec = s + m;
  for (size_t i = 0; i < m; i++) {
    double r = 0.0;
    for (size_t j = 0; j < m; j++) r += F[i * m + j];
    double x = r > t ? t / r : 1.0;
    if (x != 1.0)
      for (size_t j = 0; j < m; j++) F[i * m + j] *= x;
  }
  for (size_t j = 0; j < m; j++) ec[j] = 0.0;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < m; j++) ec[j] += F[i * m + j];
  for (size_t j = 0; j < m; j++) {
    double y = ec[j] > t ? t / ec[j] : 1.0;
    if (y != 1.0)
      for (size_t i = 0; i < m; i++) F[i * m + j] *= y;
  }
  for (size_t j = 0; j < m; j++) ec[j] = t;
  double l1 = 0.0;
  for (size_t i = 0; i < m; i++) {
    double r = 0.0;
    for (size_t j = 0; j < m; j++) {
      r += F[i * m + j];
      ec[j] -= F[i * m + j];
    }
    er[i] = t - r > 0 ? t - r : 0.0;
    l1 += er[i];
  }
  if (l1 > 0)
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < m; j++) F[i * m + j] += er[i] * (ec[j] > 0 ? ec[j] : 0.0) / l1;
}

/*
 * Solve the pair (rows ia, columns jb) with worker w.  *D = the batch plan's
 * cost (the optimum for assign/emd, <C, rounded plan> for Sinkhorn); f (m)
 * the row potentials; perm (m) the assignment when wanted (assign/emd).
 * *unconverged += 1 when Sinkhorn hit max_iter.  Inner progress: pf/pud.
 */
static int solve_block(const ot_bounds_problem *prob, const ot_bounds_opts *o, worker *w,
                       const size_t *ia, const size_t *jb, double *D, double *f, size_t *perm,
                       long *unconverged, ot_progress_fn pf, void *pud) {
  const size_t m = w->m;
  double *u = w->vec, *v = w->vec + m, *wt = w->vec + 2 * m;
  size_t *sig = w->idx;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t r = 0; r < m; r++)
    for (size_t s = 0; s < m; s++) {
      double c = cost_ij(prob, ia[r], jb[s]);
      w->block[r * m + s] = c;
      if (c < lo) lo = c;
      if (c > hi) hi = c;
    }
  ot_mat B = ot_mat_view(w->block, m, m);
  int rc, solver = o->solver;
  if (solver == OT_BOUNDS_EMD) {
    for (size_t r = 0; r < m; r++) wt[r] = 1.0 / (double)m;
    ot_emd_problem ep;
    memset(&ep, 0, sizeof ep);
    ep.n = ep.m = m;
    ep.a = ep.b = wt;
    ep.C = B;
    ot_emd_opts eo;
    ot_emd_opts_init(&eo);
    eo.progress = pf;
    eo.progress_ud = pud;
    ot_emd_result er;
    size_t *pi = w->idx + m, *pj = w->idx + 3 * m; /* room for 2m - 1 triplets */
    rc = ot_emd_solve(&ep, &eo, pi, pj, w->mass, u, v, &er);
    if (rc) return rc;
    int ok = er.status == OT_EMD_OPTIMAL;
    if (ok) { /* a vertex of the assignment polytope: one mass 1/m per row */
      for (size_t r = 0; r < m; r++) sig[r] = m;
      for (size_t t = 0; t < er.nnz; t++)
        if (w->mass[t] > 0.5 / (double)m) {
          if (sig[pi[t]] != m) ok = 0;
          sig[pi[t]] = pj[t];
        }
      for (size_t r = 0; r < m && ok; r++) v[r] = 0.0;
      for (size_t r = 0; r < m && ok; r++) {
        if (sig[r] == m || v[sig[r]] != 0.0) ok = 0;
        else v[sig[r]] = 1.0;
      }
    }
    if (!ok) solver = OT_BOUNDS_ASSIGN; /* not a permutation (never seen): solve again */
    else {
      double tot = 0.0;
      for (size_t r = 0; r < m; r++) tot += w->block[r * m + sig[r]];
      *D = tot / (double)m;
    }
  }
  if (solver == OT_BOUNDS_SINKHORN) {
    if (hi - lo <= 0) { /* constant block: every plan costs lo */
      for (size_t r = 0; r < m; r++) u[r] = lo;
      solver = OT_BOUNDS_ASSIGN;
    } else {
      for (size_t r = 0; r < m; r++) wt[r] = 1.0 / (double)m;
      ot_sinkhorn_opts so;
      ot_sinkhorn_opts_init(&so);
      so.method = OT_SINKHORN_LOG;
      so.max_iter = o->sinkhorn_max_iter;
      so.tol = o->sinkhorn_tol;
      so.progress = pf;
      so.progress_ud = pud;
      ot_sinkhorn_info si;
      ot_mat P = ot_mat_view(w->P, m, m);
      rc = ot_sinkhorn_solve(P, u, v, wt, wt, B, o->reg * (hi - lo), &so, &si);
      if (rc) return rc;
      int finite = 1;
      for (size_t t = 0; t < m * m && finite; t++) finite = isfinite(w->P[t]) && w->P[t] >= 0;
      for (size_t r = 0; r < m && finite; r++) finite = isfinite(u[r]);
      if (!finite) {
        solver = OT_BOUNDS_ASSIGN; /* numerical failure: the exact solve instead */
      } else {
        if (si.status != OT_SINKHORN_CONVERGED) (*unconverged)++;
        round_plan(w->P, m, w->vec + 3 * m);
        double tot = 0.0;
        for (size_t t = 0; t < m * m; t++) tot += w->P[t] * w->block[t];
        *D = tot;
      }
    }
  }
  if (solver == OT_BOUNDS_ASSIGN) {
    ot_assign_opts ao;
    ot_assign_opts_init(&ao);
    ao.progress = pf;
    ao.progress_ud = pud;
    ao.interval = o->interval > 0 ? o->interval : 0.05;
    double tot;
    if ((rc = ot_assign_solve(B, &ao, sig, u, v, &tot))) return rc;
    *D = tot / (double)m;
    if (w->P) { /* a Sinkhorn worker that fell back: its plan is the assignment */
      memset(w->P, 0, m * m * sizeof(double));
      for (size_t r = 0; r < m; r++) w->P[r * m + sig[r]] = 1.0 / (double)m;
    }
  }
  if (f) memcpy(f, u, m * sizeof(double));
  if (perm) memcpy(perm, sig, m * sizeof(size_t));
  return OT_OK;
}

int ot_bounds_solve_pair(const ot_bounds_problem *prob, const ot_bounds_opts *opts,
                         const size_t *ia, const size_t *jb, size_t m, double *D, double *f,
                         size_t *perm) {
  if (m == 0) return OT_EINVAL;
  if (perm && opts->solver == OT_BOUNDS_SINKHORN) return OT_EINVAL;
  worker w;
  int rc = worker_init(&w, m, opts->solver);
  if (rc) return rc;
  long unc = 0;
  rc = solve_block(prob, opts, &w, ia, jb, D, f, perm, &unc, opts->progress, opts->progress_ud);
  worker_free(&w);
  return rc;
}

/* ---- the run's state ---------------------------------------------------------- */

typedef struct ctx {
  const ot_bounds_problem *prob;
  const ot_bounds_opts *o;
  ot_bounds_result *res;
  size_t n, m, k;
  size_t *px, *py;      /* partitions (owned by res) */
  size_t *bx;           /* n: batch of each x (dual only) */
  double *D;            /* k x k solved values, NaN = not solved */
  double *M;            /* k x k scratch of reduce() */
  double *proxy;        /* k x k lower proxies, or NULL */
  double *f;            /* n potentials (dual), or NULL */
  unsigned char *fset;  /* k: batch a has its potentials */
  unsigned char *fsrc;  /* budget: pair t provides potentials */
  size_t *pa, *pb;      /* pair list (owned by res) */
  double *pd;
  size_t npairs, cap;
  /* progress */
  ot_view view;
  double t0, last;
  double upper, lower;
  int stop;             /* set by any thread: stop solving */
  int canceled;         /* the progress callback asked to stop */
  long done;            /* solves finished */
  size_t next;          /* next pair of the current round (work queue) */
  double fp[2];         /* the run's fingerprint, two 32-bit halves (see fingerprint()) */
} ctx;

/* Call the user's progress callback (calling thread only). 1 = stop. */
static int report(ctx *c) {
  if (!c->o->progress) return 0;
  ot_progress p;
  memset(&p, 0, sizeof p);
  long done;
#pragma omp atomic read
  done = c->done;
  c->view.kind = OT_VIEW_BOUNDS;
  c->view.title = "mini-batch bounds: upper and lower";
  c->view.values[0] = c->upper;
  c->view.values[1] = c->lower;
  c->view.values[2] = (double)done;
  c->view.values[3] = (double)c->res->budget;
  p.kernel = "bounds";
  p.iter = done;
  p.max_iter = c->res->budget;
  p.objective = c->upper;
  p.err = isnan(c->upper) || isnan(c->lower) ? INFINITY : c->upper - c->lower;
  p.elapsed = ot_clock() - c->t0;
  p.state = &c->view;
  c->last = ot_clock();
  if (c->o->progress(c->o->progress_ud, &p)) {
    c->canceled = 1;
#pragma omp atomic write
    c->stop = 1;
    return 1;
  }
  return 0;
}

/* Report when the interval has passed (calling thread only). */
static int maybe_report(ctx *c) {
  if (!c->o->progress) return 0;
  if (ot_clock() - c->last < c->o->interval) return 0;
  return report(c);
}

/* The work queue of a round: *u gets the next item; 0 when stopped or done. */
static int claim(ctx *c, size_t count, size_t *u) {
  int stop;
#pragma omp atomic read
  stop = c->stop;
  if (stop) return 0;
  size_t v;
#pragma omp atomic capture
  v = c->next++;
  *u = v;
  return v < count;
}

/* Inner solvers' progress: stop when asked; thread 0 forwards reports. */
typedef struct inner_ud {
  ctx *c;
  int tid;
} inner_ud;

static int inner_progress(void *ud, const ot_progress *p) {
  (void)p;
  inner_ud *iu = ud;
  int stop;
#pragma omp atomic read
  stop = iu->c->stop;
  if (stop) return 1;
  if (iu->tid == 0) return maybe_report(iu->c);
  return 0;
}

/* FNV-1a over the 8 bytes of v. */
static uint64_t fnv_u64(uint64_t h, uint64_t v) {
  for (int t = 0; t < 8; t++) {
    h ^= (v >> (8 * t)) & 0xff;
    h *= 0x100000001b3ULL;
  }
  return h;
}

static uint64_t fnv_double(uint64_t h, double x) {
  uint64_t v;
  memcpy(&v, &x, sizeof v);
  return fnv_u64(h, v);
}

static uint64_t fnv_mat(uint64_t h, ot_mat A) {
  h = fnv_u64(fnv_u64(h, A.rows), A.cols);
  for (size_t i = 0; A.data && i < A.rows; i++)
    for (size_t j = 0; j < A.cols; j++) h = fnv_double(h, OT_AT(A, i, j));
  return h;
}

/*
 * The run's fingerprint: a hash of everything a pair value depends on (the
 * points or costs, the metric, the partition, the solver and its
 * parameters), appended to every job's key, so that a distributor reading
 * rows computed elsewhere (shard files) can tell they belong to this run.
 * Two exact 32-bit halves as doubles.
 */
static void fingerprint(ctx *c) {
  const ot_bounds_problem *p = c->prob;
  const ot_bounds_opts *o = c->o;
  uint64_t h = 0xcbf29ce484222325ULL;
  if (p->C.data) h = fnv_mat(h, p->C);
  else h = fnv_mat(fnv_mat(fnv_u64(h, (uint64_t)p->metric), p->X), p->Y);
  h = fnv_u64(fnv_u64(h, c->n), c->m);
  for (size_t i = 0; i < c->n; i++) h = fnv_u64(fnv_u64(h, c->px[i]), c->py[i]);
  h = fnv_u64(h, (uint64_t)o->solver);
  if (o->solver == OT_BOUNDS_SINKHORN)
    h = fnv_u64(fnv_double(fnv_double(h, o->reg), o->sinkhorn_tol), (uint64_t)o->sinkhorn_max_iter);
  c->fp[0] = (double)(h >> 32);
  c->fp[1] = (double)(h & 0xffffffffULL);
}

/* One batch of pair jobs: pairs [first, first + count) of the list. */
typedef struct pairs_batch {
  ctx *c;
  size_t first;
  int want_f; /* rows carry the potentials of the pairs that provide them */
} pairs_batch;

/*
 * ot_jobs.run of a round: the pairs first, first + stride, ... of the
 * batch, in parallel (an OpenMP team taking pairs from a shared counter),
 * each written to its row of jobs->out (D, unconverged flag, potentials).
 */
static int pairs_run(ot_jobs *jobs, size_t start, size_t stride) {
  pairs_batch *pb = jobs->run_ud;
  ctx *c = pb->c;
  size_t count = start < jobs->count ? (jobs->count - start - 1) / stride + 1 : 0;
  if (count == 0) return c->canceled ? OT_ECANCELED : OT_OK;
  int rc = OT_OK, nth = 1;
  long unc = 0;
#ifdef _OPENMP
  nth = c->o->threads > 0 ? c->o->threads : omp_get_max_threads();
  if ((size_t)nth > count) nth = (int)count;
  if ((double)c->m * (double)c->m * (double)c->m * (double)count < 1e6) nth = 1; /* tiny work */
  if (nth < 1) nth = 1;
#endif
  int blas = ot_blas_threads();
  ot_blas_set_threads(1); /* never threaded BLAS inside the team */
  c->next = 0;
#pragma omp parallel num_threads(nth) reduction(+ : unc)
  {
    inner_ud iu = {c, 0};
#ifdef _OPENMP
    iu.tid = omp_get_thread_num();
#endif
    worker w;
    int wrc = worker_init(&w, c->m, c->o->solver);
    if (wrc) {
#pragma omp critical(bounds_rc)
      if (!rc) rc = wrc;
#pragma omp atomic write
      c->stop = 1;
    }
    for (;;) {
      size_t u;
      if (!claim(c, count, &u)) break;
      size_t t = start + u * stride, q = pb->first + t, a = c->pa[q], b = c->pb[q];
      double d = NAN, *row = jobs->out + t * jobs->width;
      /* f is indexed by position in the partition: f[r] for x = px[a m + r] */
      double *f = pb->want_f && c->fsrc[q] ? row + 2 : NULL;
      long before = unc;
      int src = solve_block(c->prob, c->o, &w, c->px + a * c->m, c->py + b * c->m, &d, f, NULL,
                            &unc, inner_progress, &iu);
      if (src) {
#pragma omp critical(bounds_rc)
        if (rc == OT_OK || (rc == OT_ECANCELED && src != OT_ECANCELED)) rc = src;
#pragma omp atomic write
        c->stop = 1;
        break;
      }
      row[0] = d;
      row[1] = unc > before ? 1.0 : 0.0;
#pragma omp atomic update
      c->done++;
      if (iu.tid == 0) maybe_report(c);
    }
    worker_free(&w);
  }
  (void)unc; /* the flags in the rows carry the count */
  ot_blas_set_threads(blas);
  if (rc == OT_OK && c->canceled) rc = OT_ECANCELED;
  return rc;
}

/*
 * Solve pairs [first, first + count) of the list: one ot_jobs batch, run
 * here or handed to opts.distribute; then D, the pair values, the
 * potentials and the count of unconverged Sinkhorn solves are read back
 * from the rows in pair order.
 */
static int solve_pairs(ctx *c, size_t first, size_t count, long *unconverged) {
  if (count == 0) return OT_OK;
  size_t m = c->m;
  int want_f = 0;
  for (size_t q = first; c->fsrc && q < first + count; q++)
    if (c->fsrc[q]) want_f = 1;
  size_t width = 2 + (want_f ? m : 0);
  double *key, *out;
  int rc = ot_alloc_doubles(count, 4 + width, &key); /* keys, then the rows */
  if (rc) return rc;
  out = key + 4 * count;
  memset(out, 0, count * width * sizeof(double));
  for (size_t t = 0; t < count; t++) {
    key[4 * t] = (double)c->pa[first + t];
    key[4 * t + 1] = (double)c->pb[first + t];
    key[4 * t + 2] = c->fp[0];
    key[4 * t + 3] = c->fp[1];
  }
  pairs_batch pb = {c, first, want_f};
  ot_jobs jobs = {"pairs", count, 4, key, width, out, pairs_run, &pb,
                  c->o->strategy != OT_BOUNDS_ADAPTIVE};
  rc = c->o->distribute ? c->o->distribute(c->o->distribute_ud, &jobs) : pairs_run(&jobs, 0, 1);
  if (rc) goto done;
  for (size_t t = 0; t < count; t++) {
    size_t q = first + t, a = c->pa[q], b = c->pb[q];
    const double *row = out + t * width;
    c->pd[q] = row[0];
    c->D[a * c->k + b] = row[0];
    if (row[1] != 0) (*unconverged)++;
    if (want_f && c->fsrc[q]) memcpy(c->f + a * m, row + 2, m * sizeof(double));
  }
#pragma omp atomic write
  c->done = (long)(first + count);
done:
  ot_free(key);
  return rc;
}

/*
 * The best batch permutation for the k x k values W (NaN = forbidden pair):
 * one k x k assignment with a sentinel above every allowed value for the
 * forbidden pairs.  *value = (1/k) sum_a V[a, sigma(a)] where V = vals
 * (the values the bound is made of; W may hold proxies).  OT_ENUMERIC when
 * no permutation avoids the forbidden pairs (never, by construction).
 * M: k x k scratch.
 */
static int reduce(const double *W, const double *vals, size_t k, size_t *sigma, double *value,
                  double *M) {
  double lo = INFINITY, hi = -INFINITY;
  for (size_t t = 0; t < k * k; t++)
    if (!isnan(W[t])) {
      if (W[t] < lo) lo = W[t];
      if (W[t] > hi) hi = W[t];
    }
  if (!(lo <= hi)) return OT_ENUMERIC;
  double span = hi - lo;
  double S = hi + (double)(k + 1) * span + 0.5 * (fabs(hi) + fabs(lo) + span) + DBL_MIN;
  for (size_t t = 0; t < k * k; t++) M[t] = isnan(W[t]) ? S : W[t];
  int rc = ot_assign_solve(ot_mat_view(M, k, k), NULL, sigma, NULL, NULL, NULL);
  if (rc) return rc;
  double tot = 0.0;
  for (size_t a = 0; a < k; a++) {
    double x = vals[a * k + sigma[a]];
    if (isnan(x) || isnan(W[a * k + sigma[a]])) return OT_ENUMERIC;
    tot += x;
  }
  *value = tot / (double)k;
  return OT_OK;
}

/* Append pair (a, b) to the list unless it is already there. */
static void add_pair(ctx *c, unsigned char *sel, size_t a, size_t b) {
  if (sel[a * c->k + b] || c->npairs >= c->cap) return;
  sel[a * c->k + b] = 1;
  if (c->fsrc) {
    c->fsrc[c->npairs] = !c->fset[a];
    c->fset[a] = 1;
  }
  c->pa[c->npairs] = a;
  c->pb[c->npairs] = b;
  c->pd[c->npairs] = NAN;
  c->npairs++;
}

/* ---- partitions and proxies ----------------------------------------------------- */

typedef struct keyed {
  double key;
  size_t idx;
} keyed;

static int keyed_cmp(const void *pa, const void *pb) {
  const keyed *a = pa, *b = pb;
  if (a->key < b->key) return -1;
  if (a->key > b->key) return 1;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* perm = the rows of Z sorted by <z, dir> (ties by index). */
static int sort_along(ot_mat Z, const double *dir, size_t *perm) {
  keyed *ks;
  int rc = ot_malloc(Z.rows * sizeof *ks, &ks);
  if (rc) return rc;
  for (size_t i = 0; i < Z.rows; i++) {
    double s = 0.0;
    for (size_t t = 0; t < Z.cols; t++) s += OT_AT(Z, i, t) * dir[t];
    ks[i].key = s;
    ks[i].idx = i;
  }
  qsort(ks, Z.rows, sizeof *ks, keyed_cmp);
  for (size_t i = 0; i < Z.rows; i++) perm[i] = ks[i].idx;
  ot_free(ks);
  return OT_OK;
}

/* 1 when p[0..n) is a permutation of 0..n-1 (seen: n bytes scratch). */
static int is_perm(const size_t *p, size_t n, unsigned char *seen) {
  memset(seen, 0, n);
  for (size_t i = 0; i < n; i++) {
    if (p[i] >= n || seen[p[i]]) return 0;
    seen[p[i]] = 1;
  }
  return 1;
}

static int make_partition(ctx *c) {
  const ot_bounds_opts *o = c->o;
  size_t n = c->n;
  int rc = OT_OK;
  switch (o->partition) {
  case OT_BOUNDS_ORDERED:
    for (size_t i = 0; i < n; i++) c->px[i] = c->py[i] = i;
    return OT_OK;
  case OT_BOUNDS_SHUFFLE: {
    ot_rng r;
    ot_rng_seed(&r, o->seed);
    ot_rng_permutation(&r, c->px, n);
    ot_rng_permutation(&r, c->py, n);
    return OT_OK;
  }
  case OT_BOUNDS_SPATIAL: {
    /* points are needed (with a cost matrix they may be given besides it) */
    if (!c->prob->X.data || !c->prob->Y.data || c->prob->X.rows != n || c->prob->Y.rows != n ||
        c->prob->X.cols != c->prob->Y.cols)
      return OT_EINVAL;
    size_t d = c->prob->X.cols;
    double *dir;
    if ((rc = ot_alloc_doubles(d, 1, &dir))) return rc;
    ot_rng r;
    ot_rng_seed(&r, o->seed);
    for (size_t t = 0; t < d; t++) dir[t] = ot_rng_normal(&r);
    rc = sort_along(c->prob->X, dir, c->px);
    if (!rc) rc = sort_along(c->prob->Y, dir, c->py);
    ot_free(dir);
    return rc;
  }
  case OT_BOUNDS_GIVEN: {
    if (!o->perm_x || !o->perm_y) return OT_EINVAL;
    unsigned char *seen;
    if ((rc = ot_malloc(n, &seen))) return rc;
    int ok = is_perm(o->perm_x, n, seen) && is_perm(o->perm_y, n, seen);
    ot_free(seen);
    if (!ok) return OT_EINVAL;
    memcpy(c->px, o->perm_x, n * sizeof(size_t));
    memcpy(c->py, o->perm_y, n * sizeof(size_t));
    return OT_OK;
  }
  default:
    return OT_EINVAL;
  }
}

/*
 * proxy[a k + b] <= D_ab: for points, the cost between the batch means
 * (Jensen: ||mean A - mean B||^2 <= D for sqeuclidean, the norm's convexity
 * for euclidean); for a cost matrix, the mean over the rows of A of the
 * smallest cost to B (every assignment pays at least that per row).
 */
static int make_proxy(ctx *c) {
  size_t k = c->k, m = c->m, n = c->n;
  int rc;
  if ((rc = ot_alloc_doubles(k, k, &c->proxy))) return rc;
  const ot_bounds_problem *p = c->prob;
  if (p->C.data) {
    for (size_t a = 0; a < k; a++)
      for (size_t b = 0; b < k; b++) {
        double s = 0.0;
        for (size_t r = 0; r < m; r++) {
          double mn = INFINITY;
          for (size_t q = 0; q < m; q++) {
            double x = OT_AT(p->C, c->px[a * m + r], c->py[b * m + q]);
            if (x < mn) mn = x;
          }
          s += mn;
        }
        c->proxy[a * k + b] = s / (double)m;
      }
    return OT_OK;
  }
  size_t d = p->X.cols;
  double *mu;
  if ((rc = ot_alloc_doubles(2 * k, d ? d : 1, &mu))) return rc;
  memset(mu, 0, 2 * k * d * sizeof(double));
  for (size_t i = 0; i < n; i++) {
    double *ma = mu + (i / m) * d, *mb = mu + (k + i / m) * d;
    const double *x = p->X.data + c->px[i] * p->X.ld, *y = p->Y.data + c->py[i] * p->Y.ld;
    for (size_t t = 0; t < d; t++) {
      ma[t] += x[t];
      mb[t] += y[t];
    }
  }
  for (size_t t = 0; t < 2 * k * d; t++) mu[t] /= (double)m;
  for (size_t a = 0; a < k; a++)
    for (size_t b = 0; b < k; b++) {
      double s = 0.0;
      for (size_t t = 0; t < d; t++) {
        double e = mu[a * d + t] - mu[(k + b) * d + t];
        s += e * e;
      }
      /* a hair below, so that rounding of the means never lifts it above D */
      s *= 1.0 - 1e-12;
      c->proxy[a * k + b] = p->metric == OT_METRIC_EUCLIDEAN ? sqrt(s) : s;
    }
  ot_free(mu);
  return OT_OK;
}

/* ---- lower bounds ----------------------------------------------------------------- */

/*
 * Stream the n x n costs in tiles of rows: for each tile [i0, i1), T holds
 * C[i0..i1) x [0, n).  visit(T, i0, i1, ud) consumes it.  Progress between
 * tiles.  Scratch: one tile (at most ~2^20 doubles, at least one row).
 */
typedef void (*tile_fn)(ot_mat T, size_t i0, size_t i1, void *ud);

/* Rows per tile: 256 rows of a given matrix, or about 2^20 computed costs. */
static size_t tile_rows(const ctx *c) {
  size_t n = c->n, tile = c->prob->C.data ? 256 : ((size_t)1 << 20) / n;
  if (tile < 1) tile = 1;
  if (tile > n) tile = n;
  return tile;
}

static int stream_costs(ctx *c, tile_fn visit, void *ud) {
  const ot_bounds_problem *p = c->prob;
  size_t n = c->n;
  if (p->C.data) {
    size_t step = tile_rows(c);
    for (size_t i0 = 0; i0 < n; i0 += step) {
      size_t i1 = i0 + step < n ? i0 + step : n;
      visit(ot_mat_block(p->C, i0, 0, i1 - i0, n), i0, i1, ud);
      if (maybe_report(c)) return OT_ECANCELED;
    }
    return OT_OK;
  }
  size_t tile = tile_rows(c);
  double *buf = NULL, *yn = NULL;
  int rc;
  if ((rc = ot_alloc_doubles(tile, n, &buf)) || (rc = ot_alloc_doubles(n, 1, &yn))) goto done;
  ot_cost_sqnorms(yn, p->Y);
  ot_cost_opts co;
  ot_cost_opts_init(&co);
  co.metric = p->metric;
  for (size_t i0 = 0; i0 < n; i0 += tile) {
    size_t i1 = i0 + tile < n ? i0 + tile : n;
    ot_mat T = ot_mat_view(buf, i1 - i0, n);
    if ((rc = ot_cost_rows(T, p->X, p->Y, i0, i1, &co, yn))) goto done;
    visit(T, i0, i1, ud);
    if (maybe_report(c)) {
      rc = OT_ECANCELED;
      goto done;
    }
  }
done:
  ot_free(buf);
  ot_free(yn);
  return rc;
}

/* Pass 1: row and column minima (nn), and h_aj = min_{i in A_a} C_ij - f_i (dual). */
typedef struct pass1 {
  double *rmin, *cmin; /* n each */
  double *part;        /* tile rows x column blocks: partial row minima */
  double *h;           /* k x n, or NULL */
  const double *fx;    /* f by point index (n), or NULL */
  const size_t *bx;
} pass1;

/*
 * Threads split the columns into blocks of COLS_BLOCK (the column minima and
 * h are updated per column, so blocks never collide); each block's row
 * minima go to s->part (rows x blocks) and are combined afterwards.
 */
#define COLS_BLOCK 1024

static void visit1(ot_mat T, size_t i0, size_t i1, void *ud) {
  pass1 *s = ud;
  size_t n = T.cols, rows = i1 - i0;
  long nb = (long)((n + COLS_BLOCK - 1) / COLS_BLOCK);
#pragma omp parallel for schedule(static) if (rows * n > 65536)
  for (long b = 0; b < nb; b++) {
    size_t j0 = (size_t)b * COLS_BLOCK, j1 = j0 + COLS_BLOCK < n ? j0 + COLS_BLOCK : n;
    for (size_t i = i0; i < i1; i++) {
      const double *row = T.data + (i - i0) * T.ld;
      double mn = INFINITY;
      for (size_t j = j0; j < j1; j++) {
        if (row[j] < mn) mn = row[j];
        if (row[j] < s->cmin[j]) s->cmin[j] = row[j];
      }
      s->part[(i - i0) * (size_t)nb + (size_t)b] = mn;
      if (s->h) {
        double *h = s->h + s->bx[i] * n, fi = s->fx[i];
        for (size_t j = j0; j < j1; j++) {
          double e = row[j] - fi;
          if (e < h[j]) h[j] = e;
        }
      }
    }
  }
  for (size_t r = 0; r < rows; r++) {
    double mn = INFINITY;
    for (long b = 0; b < nb; b++) mn = fmin(mn, s->part[r * (size_t)nb + (size_t)b]);
    s->rmin[i0 + r] = mn;
  }
}

/* Pass 2: F'_i = min_j C_ij - G_j. */
typedef struct pass2 {
  const double *G;
  double *F;
} pass2;

static void visit2(ot_mat T, size_t i0, size_t i1, void *ud) {
  pass2 *s = ud;
  size_t n = T.cols;
  long e1 = (long)i1;
#pragma omp parallel for schedule(static) if ((i1 - i0) * n > 65536)
  for (long ii = (long)i0; ii < e1; ii++) {
    size_t i = (size_t)ii;
    const double *row = T.data + (i - i0) * T.ld;
    double mn = INFINITY;
    for (size_t j = 0; j < n; j++) {
      double e = row[j] - s->G[j];
      if (e < mn) mn = e;
    }
    s->F[i] = mn;
  }
}

/* nn and dual bounds (as requested) from one or two streamed passes. */
static int lower_nn_dual(ctx *c, int want_nn, int want_dual, double *nn, double *dual) {
  size_t n = c->n, k = c->k, m = c->m;
  pass1 s1;
  memset(&s1, 0, sizeof s1);
  double *fx = NULL, *G = NULL, *t = NULL, *w = NULL, *mass = NULL;
  size_t *bx = NULL, *pi = NULL, *pj = NULL;
  int rc;
  size_t nparts = tile_rows(c) * ((n + COLS_BLOCK - 1) / COLS_BLOCK);
  if ((rc = ot_alloc_doubles(2 * n + nparts, 1, &s1.rmin))) goto done;
  s1.cmin = s1.rmin + n;
  s1.part = s1.cmin + n;
  for (size_t j = 0; j < n; j++) s1.cmin[j] = INFINITY;
  if (want_dual) {
    if ((rc = ot_alloc_doubles(k, n, &s1.h)) || (rc = ot_alloc_doubles(n, 1, &fx)) ||
        (rc = ot_malloc(n * sizeof *bx, &bx)))
      goto done;
    for (size_t q = 0; q < k * n; q++) s1.h[q] = INFINITY;
    for (size_t q = 0; q < n; q++) { /* by point index */
      fx[c->px[q]] = c->f[q];
      bx[c->px[q]] = q / m;
    }
    s1.fx = fx;
    s1.bx = bx;
  }
  if ((rc = stream_costs(c, visit1, &s1))) goto done;
  double sr = 0.0, sc = 0.0;
  for (size_t i = 0; i < n; i++) {
    sr += s1.rmin[i];
    sc += s1.cmin[i];
  }
  double v = fmax(sr, sc) / (double)n;
  if (want_nn) {
    *nn = v;
    if (isnan(c->lower) || v > c->lower) c->lower = v;
  }
  if (!want_dual) goto done;
  /* Best offsets t: duals of OT(unif_k, unif_n; h). */
  if ((rc = ot_alloc_doubles(3 * (k + n), 1, &G)) || (rc = ot_malloc(2 * (k + n) * sizeof *pi, &pi)))
    goto done;
  t = G + n;
  w = t + k;
  mass = w + k + n;
  pj = pi + k + n;
  for (size_t a = 0; a < k; a++) w[a] = 1.0 / (double)k;
  for (size_t j = 0; j < n; j++) w[k + j] = 1.0 / (double)n;
  if (k == 1) {
    t[0] = 0.0;
  } else {
    ot_emd_problem ep;
    memset(&ep, 0, sizeof ep);
    ep.n = k;
    ep.m = n;
    ep.a = w;
    ep.b = w + k;
    ep.C = ot_mat_view(s1.h, k, n);
    ot_emd_opts eo;
    ot_emd_opts_init(&eo);
    inner_ud iu = {c, 0};
    eo.progress = inner_progress;
    eo.progress_ud = &iu;
    ot_emd_result er;
    if ((rc = ot_emd_solve(&ep, &eo, pi, pj, mass, t, G, &er))) goto done;
    /* any t gives a valid bound; the optimum the best one */
  }
  for (size_t j = 0; j < n; j++) {
    double g = INFINITY;
    for (size_t a = 0; a < k; a++) {
      double e = s1.h[a * n + j] - t[a];
      if (e < g) g = e;
    }
    G[j] = g;
  }
  pass2 s2 = {G, s1.rmin}; /* F' overwrites the row minima */
  if ((rc = stream_costs(c, visit2, &s2))) goto done;
  double sf = 0.0, sg = 0.0;
  for (size_t i = 0; i < n; i++) {
    sf += s1.rmin[i];
    sg += G[i];
  }
  *dual = (sf + sg) / (double)n;
  if (isnan(c->lower) || *dual > c->lower) c->lower = *dual;
done:
  ot_free(s1.rmin);
  ot_free(s1.h);
  ot_free(fx);
  ot_free(bx);
  ot_free(G);
  ot_free(pi);
  return rc;
}

/*
 * ot_jobs.run of the semi-relaxed solves: jobs t = first, first + stride,
 * ... of the 2k (direction t / k, batch t % k), each an (m + 1) x n
 * transport problem whose last row (zero cost) absorbs the n - m unused
 * points; row t of jobs->out = (the injective map's mean cost, 1 when the
 * solve certified optimality).  An OpenMP team, one (m + 1) x n matrix per
 * thread.
 */
static int semi_run(ot_jobs *jobs, size_t start, size_t stride) {
  ctx *c = jobs->run_ud;
  size_t n = c->n, m = c->m, k = c->k, R = m + 1, cap = R + n - 1;
  size_t count = start < jobs->count ? (jobs->count - start - 1) / stride + 1 : 0;
  if (count == 0) return c->canceled ? OT_ECANCELED : OT_OK;
  double *w;
  int rc = OT_OK, nth = 1;
  if ((rc = ot_alloc_doubles(R + n, 1, &w))) return rc;
  for (size_t r = 0; r < m; r++) w[r] = 1.0;
  w[m] = (double)(n - m);
  for (size_t j = 0; j < n; j++) w[R + j] = 1.0;
#ifdef _OPENMP
  nth = c->o->threads > 0 ? c->o->threads : omp_get_max_threads();
  if ((size_t)nth > count) nth = (int)count;
  if ((double)R * (double)n * (double)count < 2.5e5) nth = 1; /* tiny work */
  if (nth < 1) nth = 1;
#endif
  int blas = ot_blas_threads();
  ot_blas_set_threads(1);
  c->next = 0;
#pragma omp parallel num_threads(nth)
  {
    inner_ud iu = {c, 0};
#ifdef _OPENMP
    iu.tid = omp_get_thread_num();
#endif
    double *Cb = NULL, *mass = NULL;
    size_t *pi = NULL;
    int wrc;
    if ((wrc = ot_alloc_doubles(R, n, &Cb)) || (wrc = ot_alloc_doubles(cap, 1, &mass)) ||
        (wrc = ot_malloc(2 * cap * sizeof *pi, &pi))) {
#pragma omp critical(bounds_rc)
      if (rc == OT_OK) rc = wrc;
#pragma omp atomic write
      c->stop = 1;
    }
    for (;;) {
      size_t u;
      if (!claim(c, count, &u)) break;
      size_t t = start + u * stride;
      int dir = t >= k;
      const size_t *rows = (dir == 0 ? c->px : c->py) + (t % k) * m;
      for (size_t r = 0; r < m; r++)
        for (size_t j = 0; j < n; j++)
          Cb[r * n + j] = dir == 0 ? cost_ij(c->prob, rows[r], j) : cost_ij(c->prob, j, rows[r]);
      for (size_t j = 0; j < n; j++) Cb[m * n + j] = 0.0;
      ot_emd_problem ep;
      memset(&ep, 0, sizeof ep);
      ep.n = m == n ? m : R; /* m = n: the dummy row has no mass */
      ep.m = n;
      ep.a = w;
      ep.b = w + R;
      ep.C = ot_mat_view(Cb, ep.n, n);
      ot_emd_opts eo;
      ot_emd_opts_init(&eo);
      eo.progress = inner_progress;
      eo.progress_ud = &iu;
      ot_emd_result er;
      int src = ot_emd_solve(&ep, &eo, pi, pi + cap, mass, NULL, NULL, &er);
      if (src) {
#pragma omp critical(bounds_rc)
        if (rc == OT_OK || (rc == OT_ECANCELED && src != OT_ECANCELED)) rc = src;
#pragma omp atomic write
        c->stop = 1;
        break;
      }
      /* masses are 1 per point: the cost is the injective map's total */
      jobs->out[2 * t] = er.cost / (double)m;
      jobs->out[2 * t + 1] = er.status == OT_EMD_OPTIMAL ? 1.0 : 0.0;
      if (iu.tid == 0) maybe_report(c);
    }
    ot_free(Cb);
    ot_free(mass);
    ot_free(pi);
  }
  ot_blas_set_threads(blas);
  ot_free(w);
  if (rc == OT_OK && c->canceled) rc = OT_ECANCELED;
  return rc;
}

/*
 * The semi-relaxed bound: for each batch, (1/m) min over injective maps
 * into the other side; both directions; *semi = the larger mean.  NaN when
 * a solve did not certify optimality.  The 2k solves are one ot_jobs
 * batch (run here or by opts.distribute), read back in batch order.
 */
static int lower_semi(ctx *c, double *semi) {
  size_t k = c->k, jobs_n = 2 * k;
  double *key, *out;
  int rc = ot_alloc_doubles(jobs_n, 6, &key); /* keys, then the rows */
  if (rc) return rc;
  out = key + 4 * jobs_n;
  memset(out, 0, jobs_n * 2 * sizeof(double));
  for (size_t t = 0; t < jobs_n; t++) {
    key[4 * t] = (double)(t / k);
    key[4 * t + 1] = (double)(t % k);
    key[4 * t + 2] = c->fp[0];
    key[4 * t + 3] = c->fp[1];
  }
  ot_jobs jobs = {"semi", jobs_n, 4, key, 2, out, semi_run, c, 1};
  rc = c->o->distribute ? c->o->distribute(c->o->distribute_ud, &jobs) : semi_run(&jobs, 0, 1);
  if (rc) goto done;
  int ok = 1;
  double best = -INFINITY;
  for (int dir = 0; dir < 2; dir++) { /* summed in batch order: the same with any layout */
    double sum = 0.0;
    for (size_t a = 0; a < k; a++) {
      size_t t = (size_t)dir * k + a;
      sum += out[2 * t];
      if (out[2 * t + 1] == 0) ok = 0;
    }
    if (sum / (double)k > best) best = sum / (double)k;
  }
  *semi = ok ? best : NAN;
  if (ok && (isnan(c->lower) || best > c->lower)) c->lower = best;
done:
  ot_free(key);
  return rc;
}

/* ---- the plan ------------------------------------------------------------------------ */

typedef struct trip {
  size_t i, j;
  double w;
} trip;

static int trip_cmp(const void *pa, const void *pb) {
  const trip *a = pa, *b = pb;
  if (a->i != b->i) return a->i < b->i ? -1 : 1;
  return a->j < b->j ? -1 : a->j > b->j;
}

/*
 * ot_jobs.run of the plan's re-solves (assign and emd): pair a of the
 * coupling, row = its assignment perm[0..m) as doubles.  One after the
 * other on the calling thread (the k solves are few).
 */
static int plan_run(ot_jobs *jobs, size_t start, size_t stride) {
  ctx *c = jobs->run_ud;
  size_t m = c->m;
  worker w;
  size_t *perm = NULL;
  int rc = worker_init(&w, m, c->o->solver);
  if (rc) return rc;
  if ((rc = ot_malloc(m * sizeof *perm, &perm))) goto done;
  inner_ud iu = {c, 0};
  long unc = 0;
  for (size_t a = start; a < jobs->count; a += stride) {
    size_t b = c->res->sigma[a];
    double d;
    if ((rc = solve_block(c->prob, c->o, &w, c->px + a * m, c->py + b * m, &d, NULL, perm, &unc,
                          inner_progress, &iu)))
      goto done;
    for (size_t q = 0; q < m; q++) jobs->out[a * m + q] = (double)perm[q];
    if (maybe_report(c)) {
      rc = OT_ECANCELED;
      goto done;
    }
  }
done:
  worker_free(&w);
  ot_free(perm);
  return rc;
}

/* Solve the k chosen pairs again and lift their plans to the n points.
 * Assign and emd: one ot_jobs batch (kind "plan", key (a, sigma(a), h1,
 * h2), row the m assignment columns); Sinkhorn: here (rows of m^2). */
static int make_plan(ctx *c) {
  ot_bounds_result *r = c->res;
  size_t n = c->n, m = c->m, k = c->k;
  int sk = c->o->solver == OT_BOUNDS_SINKHORN;
  if (!sk) {
    double *key;
    trip *tr = NULL;
    int rc = ot_alloc_doubles(k, 4 + m, &key); /* keys, then the rows */
    if (rc) return rc;
    double *out = key + 4 * k;
    for (size_t a = 0; a < k; a++) {
      key[4 * a] = (double)a;
      key[4 * a + 1] = (double)r->sigma[a];
      key[4 * a + 2] = c->fp[0];
      key[4 * a + 3] = c->fp[1];
    }
    memset(out, 0, k * m * sizeof(double));
    ot_jobs jobs = {"plan", k, 4, key, m, out, plan_run, c, 0}; /* sigma: from results */
    rc = c->o->distribute ? c->o->distribute(c->o->distribute_ud, &jobs) : plan_run(&jobs, 0, 1);
    if (rc) goto pdone;
    if ((rc = ot_malloc(n * sizeof *tr, &tr))) goto pdone;
    for (size_t a = 0, t = 0; a < k; a++)
      for (size_t q = 0; q < m; q++, t++) {
        size_t col = (size_t)out[a * m + q];
        if (col >= m) col = 0; /* a placeholder row of a shard run (never used) */
        tr[t] = (trip){c->px[a * m + q], c->py[r->sigma[a] * m + col], 1.0 / (double)n};
      }
    qsort(tr, n, sizeof *tr, trip_cmp);
    if ((rc = ot_malloc(n * sizeof(size_t), &r->plan_i)) ||
        (rc = ot_malloc(n * sizeof(size_t), &r->plan_j)) ||
        (rc = ot_alloc_doubles(n, 1, &r->plan_mass)))
      goto pdone;
    for (size_t q = 0; q < n; q++) {
      r->plan_i[q] = tr[q].i;
      r->plan_j[q] = tr[q].j;
      r->plan_mass[q] = tr[q].w;
    }
    r->plan_nnz = n;
  pdone:
    ot_free(key);
    ot_free(tr);
    return rc;
  }
  size_t cap = n;
  int rc;
  if (sk && (rc = ot_mem_size(n, m, 1, &cap))) return rc;
  trip *tr = NULL;
  size_t *perm = NULL;
  worker w;
  memset(&w, 0, sizeof w);
  if ((rc = ot_malloc(cap * sizeof *tr, &tr)) || (rc = ot_malloc(m * sizeof *perm, &perm)) ||
      (rc = worker_init(&w, m, c->o->solver)))
    goto done;
  inner_ud iu = {c, 0};
  size_t nnz = 0;
  long unc = 0;
  for (size_t a = 0; a < k; a++) {
    size_t b = r->sigma[a];
    double d;
    if ((rc = solve_block(c->prob, c->o, &w, c->px + a * m, c->py + b * m, &d, NULL,
                          sk ? NULL : perm, &unc, inner_progress, &iu)))
      goto done;
    if (sk) {
      for (size_t q = 0; q < m; q++)
        for (size_t s = 0; s < m; s++) {
          double x = w.P[q * m + s];
          if (x > 0) tr[nnz++] = (trip){c->px[a * m + q], c->py[b * m + s], x / (double)k};
        }
    } else {
      for (size_t q = 0; q < m; q++)
        tr[nnz++] = (trip){c->px[a * m + q], c->py[b * m + perm[q]], 1.0 / (double)n};
    }
    if (maybe_report(c)) {
      rc = OT_ECANCELED;
      goto done;
    }
  }
  qsort(tr, nnz, sizeof *tr, trip_cmp);
  if ((rc = ot_malloc((nnz ? nnz : 1) * sizeof(size_t), &r->plan_i)) ||
      (rc = ot_malloc((nnz ? nnz : 1) * sizeof(size_t), &r->plan_j)) ||
      (rc = ot_alloc_doubles(nnz ? nnz : 1, 1, &r->plan_mass)))
    goto done;
  for (size_t q = 0; q < nnz; q++) {
    r->plan_i[q] = tr[q].i;
    r->plan_j[q] = tr[q].j;
    r->plan_mass[q] = tr[q].w;
  }
  r->plan_nnz = nnz;
done:
  worker_free(&w);
  ot_free(tr);
  ot_free(perm);
  return rc;
}

/* ---- the driver ------------------------------------------------------------------------ */

/*
 * The requested lower bounds, once, right after the first round of solves
 * (which gives every source batch its potentials): the panel then shows the
 * upper bound closing in on them while the budget is spent.
 */
static int run_lower(ctx *c, ot_bounds_result *res) {
  const ot_bounds_opts *o = c->o;
  int rc = OT_OK;
  double t = ot_clock();
  if (o->lower & (OT_BOUNDS_LOWER_NN | OT_BOUNDS_LOWER_DUAL))
    if ((rc = lower_nn_dual(c, o->lower & OT_BOUNDS_LOWER_NN, o->lower & OT_BOUNDS_LOWER_DUAL,
                            &res->nn, &res->dual)))
      return rc;
  if (o->lower & OT_BOUNDS_LOWER_SEMI)
    if ((rc = lower_semi(c, &res->semi))) return rc;
  res->time_lower = ot_clock() - t;
  return report(c) ? OT_ECANCELED : OT_OK;
}

/* Pairs the strategy needs at least, and the default budget. */
static void budget_rule(int strategy, size_t k, long *need, long *def) {
  long kk = (long)(k * k);
  switch (strategy) {
  case OT_BOUNDS_DIAG:
    *need = *def = (long)k;
    break;
  case OT_BOUNDS_ALL:
  case OT_BOUNDS_OPT:
    *need = *def = kk;
    break;
  default:
    *need = (long)k;
    *def = 4 * (long)k < kk ? 4 * (long)k : kk;
  }
}

int ot_bounds_minibatch(const ot_bounds_problem *prob, const ot_bounds_opts *o,
                        ot_bounds_result *res) {
  memset(res, 0, sizeof *res);
  double t_start = ot_clock();
  size_t n;
  if (prob->C.data) {
    if (prob->C.rows != prob->C.cols) return OT_ESHAPE;
    n = prob->C.rows;
  } else {
    if (!prob->X.data || !prob->Y.data) return OT_EINVAL;
    if (prob->X.rows != prob->Y.rows || prob->X.cols != prob->Y.cols) return OT_ESHAPE;
    if (prob->metric != OT_METRIC_SQEUCLIDEAN && prob->metric != OT_METRIC_EUCLIDEAN)
      return OT_EINVAL;
    n = prob->X.rows;
  }
  if (n == 0 || o->m == 0 || o->m > n || n % o->m) return OT_EINVAL;
  if (o->strategy < 0 || o->strategy >= OT_BOUNDS_NSTRATEGIES || o->solver < 0 ||
      o->solver >= OT_BOUNDS_NSOLVERS || o->lower < 0 || o->lower > 7 || o->budget < 0 ||
      !(o->interval >= 0))
    return OT_EINVAL;
  if (o->solver == OT_BOUNDS_SINKHORN && !(o->reg > 0 && o->sinkhorn_max_iter > 0))
    return OT_EINVAL;
  size_t m = o->m, k = n / m;
  if (k > 0 && k > ((size_t)-1 / sizeof(double)) / k) return OT_EOVERFLOW;
  long need, def;
  budget_rule(o->strategy, k, &need, &def);
  long budget = o->budget ? o->budget : def;
  if (budget < need) return OT_EINVAL;
  long kk = (long)(k * k);
  long cap = budget < kk ? budget : kk;

  ctx c;
  memset(&c, 0, sizeof c);
  c.prob = prob;
  c.o = o;
  c.res = res;
  c.n = n;
  c.m = m;
  c.k = k;
  c.upper = NAN;
  c.lower = NAN;
  c.t0 = t_start;
  c.last = t_start;
  c.cap = (size_t)cap;
  res->n = n;
  res->m = m;
  res->k = k;
  res->budget = budget;
  res->upper = res->lower = res->diag = res->all = res->opt = res->budgeted = NAN;
  res->nn = res->dual = res->semi = NAN;
  const int want_dual = (o->lower & OT_BOUNDS_LOWER_DUAL) != 0;
  unsigned char *sel = NULL;
  double *W = NULL;
  size_t *order = NULL, *sig = NULL;
  int rc;
  if ((rc = ot_malloc(n * sizeof(size_t), &res->perm_x)) ||
      (rc = ot_malloc(n * sizeof(size_t), &res->perm_y)) ||
      (rc = ot_malloc((size_t)cap * sizeof(size_t), &res->pair_a)) ||
      (rc = ot_malloc((size_t)cap * sizeof(size_t), &res->pair_b)) ||
      (rc = ot_alloc_doubles((size_t)cap, 1, &res->pair_d)) ||
      (rc = ot_malloc(k * sizeof(size_t), &res->sigma)) || (rc = ot_alloc_doubles(k, k, &c.D)) ||
      (rc = ot_alloc_doubles(k, k, &c.M)) ||
      (rc = ot_calloc(k * k, &sel)) || (rc = ot_malloc(k * sizeof(size_t), &sig)))
    goto done;
  c.px = res->perm_x;
  c.py = res->perm_y;
  c.pa = res->pair_a;
  c.pb = res->pair_b;
  c.pd = res->pair_d;
  for (size_t t = 0; t < k * k; t++) c.D[t] = NAN;
  if (want_dual && ((rc = ot_alloc_doubles(n, 1, &c.f)) || (rc = ot_calloc(k, &c.fset)) ||
                    (rc = ot_calloc((size_t)cap, &c.fsrc))))
    goto done;
  if ((rc = make_partition(&c))) goto done;
  if (o->distribute) fingerprint(&c);
  if ((rc = make_proxy(&c))) goto done; /* knn, adaptive and the certificate */
  if (report(&c)) {
    rc = OT_ECANCELED;
    goto done;
  }

  /* Rounds: select, solve, reduce. */
  double t_solve = ot_clock();
  int strategy = o->strategy;
  size_t r_rows = (size_t)(budget / (long)k); /* pairs per source batch */
  if (r_rows > k) r_rows = k;
  if (strategy == OT_BOUNDS_DIAG) r_rows = 1;
  if (strategy == OT_BOUNDS_ALL || strategy == OT_BOUNDS_OPT) r_rows = k;
  ot_rng rng;
  ot_rng_seed(&rng, o->seed ^ 0x9e3779b97f4a7c15ULL);
  size_t *perm = sig; /* scratch permutation (k) */
  int certified = 0;
  if (strategy == OT_BOUNDS_KNN) {
    if ((rc = ot_malloc(k * k * sizeof *order, &order))) goto done;
    if ((rc = reduce(c.proxy, c.proxy, k, res->sigma, &(double){0}, c.M))) goto done;
    keyed *ks;
    if ((rc = ot_malloc(k * sizeof *ks, &ks))) goto done;
    for (size_t a = 0; a < k; a++) {
      for (size_t b = 0; b < k; b++) ks[b] = (keyed){c.proxy[a * k + b], b};
      qsort(ks, k, sizeof *ks, keyed_cmp);
      size_t q = 0;
      order[a * k + q++] = res->sigma[a];
      for (size_t b = 0; b < k; b++)
        if (ks[b].idx != res->sigma[a]) order[a * k + q++] = ks[b].idx;
    }
    ot_free(ks);
  }
  if (strategy == OT_BOUNDS_ADAPTIVE) {
    if ((rc = ot_alloc_doubles(k, k, &W))) goto done;
    memcpy(W, c.proxy, k * k * sizeof(double));
    for (;;) {
      double wv;
      if ((rc = reduce(W, W, k, sig, &wv, c.M))) goto done;
      res->rounds++;
      size_t first = c.npairs;
      for (size_t a = 0; a < k; a++)
        if (isnan(c.D[a * k + sig[a]])) add_pair(&c, sel, a, sig[a]);
      if (c.npairs == first) {
        certified = 1;
        break;
      }
      if ((rc = solve_pairs(&c, first, c.npairs - first, &res->inner_unconverged))) goto done;
      for (size_t q = first; q < c.npairs; q++) W[c.pa[q] * k + c.pb[q]] = c.pd[q];
      if ((rc = reduce(c.D, c.D, k, res->sigma, &c.upper, c.M))) goto done;
      if (res->rounds == 1 && (rc = run_lower(&c, res))) goto done;
      if (c.npairs >= c.cap) break;
    }
  } else {
    for (size_t s = 0; s < r_rows; s++) {
      size_t first = c.npairs;
      if (strategy == OT_BOUNDS_RANDOM && s > 0) ot_rng_permutation(&rng, perm, k);
      for (size_t a = 0; a < k; a++) {
        size_t b;
        if (strategy == OT_BOUNDS_RANDOM) b = s == 0 ? a : perm[a];
        else if (strategy == OT_BOUNDS_KNN) b = order[a * k + s];
        else b = (a + s) % k;
        add_pair(&c, sel, a, b);
      }
      res->rounds++;
      if ((rc = solve_pairs(&c, first, c.npairs - first, &res->inner_unconverged))) goto done;
      if (s + 1 < r_rows && k <= 512) /* the running upper bound, for the progress panel */
        if ((rc = reduce(c.D, c.D, k, res->sigma, &c.upper, c.M))) goto done;
      if (s == 0 && (rc = run_lower(&c, res))) goto done;
    }
  }
  res->solves = (long)c.npairs;
  res->npairs = c.npairs;
  res->time_solves = ot_clock() - t_solve - res->time_lower;
  if ((rc = reduce(c.D, c.D, k, res->sigma, &c.upper, c.M))) goto done;
  res->upper = res->budgeted = c.upper;
  /* Certificate: the assignment on W = D where solved, the proxy elsewhere. */
  if (c.npairs == k * k) certified = 1;
  if (!certified) {
    if (!W && (rc = ot_alloc_doubles(k, k, &W))) goto done;
    for (size_t t = 0; t < k * k; t++) W[t] = isnan(c.D[t]) ? c.proxy[t] : c.D[t];
    double wv;
    if ((rc = reduce(W, W, k, sig, &wv, c.M))) goto done;
    certified = 1;
    for (size_t a = 0; a < k; a++)
      if (isnan(c.D[a * k + sig[a]])) certified = 0;
  }
  res->certified = certified;
  if (certified) res->opt = res->upper;
  {
    double sd = 0.0, sa = 0.0;
    int dfull = 1, afull = 1;
    for (size_t a = 0; a < k; a++) {
      if (isnan(c.D[a * k + a])) dfull = 0;
      else sd += c.D[a * k + a];
      for (size_t b = 0; b < k; b++) {
        if (isnan(c.D[a * k + b])) afull = 0;
        else sa += c.D[a * k + b];
      }
    }
    if (dfull) res->diag = sd / (double)k;
    if (afull) res->all = sa / (double)(k * k);
  }
  if (report(&c)) {
    rc = OT_ECANCELED;
    goto done;
  }

  res->lower = c.lower;

  if (o->want_plan) {
    double t_plan = ot_clock();
    if ((rc = make_plan(&c))) goto done;
    res->time_plan = ot_clock() - t_plan;
  }
  if (c.canceled) {
    rc = OT_ECANCELED;
    goto done;
  }
  res->time_total = ot_clock() - t_start;
done:
  if (rc != OT_OK) { /* nothing of the result survives but the count of solves */
    res->solves = c.done;
    ot_bounds_result_free(res);
  }
  ot_free(c.D);
  ot_free(c.M);
  ot_free(c.proxy);
  ot_free(c.f);
  ot_free(c.fset);
  ot_free(c.fsrc);
  ot_free(sel);
  ot_free(W);
  ot_free(order);
  ot_free(sig);
  return rc;
}

/* ---- the Fatras et al. estimator ---------------------------------------------------------- */

/* Next m-subset of 0..n-1 in lexicographic order; 0 after the last. */
static int next_subset(size_t *s, size_t m, size_t n) {
  size_t i = m;
  while (i > 0 && s[i - 1] == n - m + i - 1) i--;
  if (i == 0) return 0;
  s[i - 1]++;
  for (size_t t = i; t < m; t++) s[t] = s[t - 1] + 1;
  return 1;
}

/* C(n, m), or HUGE_VAL past 1e300. */
static double binom(size_t n, size_t m) {
  double r = 1.0;
  for (size_t t = 0; t < m; t++) r = r * (double)(n - t) / (double)(t + 1);
  return r;
}

int ot_bounds_fatras(const ot_bounds_problem *prob, size_t m, long q, uint64_t seed,
                     int complete, double *value, double *stderr_out, long *pairs) {
  size_t nx, ny;
  if (prob->C.data) {
    nx = prob->C.rows;
    ny = prob->C.cols;
  } else {
    if (!prob->X.data || !prob->Y.data || prob->X.cols != prob->Y.cols) return OT_ESHAPE;
    if (prob->metric != OT_METRIC_SQEUCLIDEAN && prob->metric != OT_METRIC_EUCLIDEAN)
      return OT_EINVAL;
    nx = prob->X.rows;
    ny = prob->Y.rows;
  }
  if (m == 0 || m > nx || m > ny) return OT_EINVAL;
  if (!complete && q < 1) return OT_EINVAL;
  double total = complete ? binom(nx, m) * binom(ny, m) : (double)q;
  if (total > 1e7) return OT_EINVAL;
  ot_bounds_opts o;
  ot_bounds_opts_init(&o);
  o.m = m;
  worker w;
  size_t *sa = NULL, *sb = NULL, *scr = NULL;
  int rc = worker_init(&w, m, OT_BOUNDS_ASSIGN);
  if (rc) return rc;
  if ((rc = ot_malloc(m * sizeof *sa, &sa)) || (rc = ot_malloc(m * sizeof *sb, &sb)) ||
      (rc = ot_malloc((nx > ny ? nx : ny) * sizeof *scr, &scr)))
    goto done;
  double sum = 0.0, sum2 = 0.0;
  long cnt = 0, unc = 0;
  if (complete) {
    for (size_t t = 0; t < m; t++) sa[t] = t;
    do {
      for (size_t t = 0; t < m; t++) sb[t] = t;
      do {
        double d;
        if ((rc = solve_block(prob, &o, &w, sa, sb, &d, NULL, NULL, &unc, NULL, NULL))) goto done;
        sum += d;
        cnt++;
      } while (next_subset(sb, m, ny));
    } while (next_subset(sa, m, nx));
    *stderr_out = 0.0;
  } else {
    ot_rng r;
    ot_rng_seed(&r, seed);
    for (long t = 0; t < q; t++) {
      ot_rng_sample(&r, sa, m, nx, scr);
      ot_rng_sample(&r, sb, m, ny, scr);
      double d;
      if ((rc = solve_block(prob, &o, &w, sa, sb, &d, NULL, NULL, &unc, NULL, NULL))) goto done;
      sum += d;
      sum2 += d * d;
      cnt++;
    }
    double mean = sum / (double)cnt;
    double var = cnt > 1 ? (sum2 - (double)cnt * mean * mean) / (double)(cnt - 1) : 0.0;
    *stderr_out = var > 0 ? sqrt(var / (double)cnt) : 0.0;
  }
  *value = sum / (double)cnt;
  *pairs = cnt;
done:
  worker_free(&w);
  ot_free(sa);
  ot_free(sb);
  ot_free(scr);
  return rc;
}
