/*
 * bounds.c (bindings) -- ot.bounds: certified mini-batch upper and lower
 * bounds on OT (specs/bounds.md): ot.bounds.minibatch, ot.bounds.curve and
 * ot.bounds.fatras (an estimate, not a bound).
 * share/help/bounds.txt is the user manual.
 *
 * The core result (arrays from ot_malloc) lives in a userdata whose __gc
 * frees it, so an error raised while the Lua tables are built cannot leak it.
 */
#include <math.h>
#include <string.h>

#include <stdlib.h>

#include "bind.h"
#include "cost.h"
#include "mpi.h"
#include "ot/alloc.h"
#include "ot/bounds.h"
#include "ot/cost.h"

#define RESULT_MT "ot.bounds.result"

static int result_gc(lua_State *L) {
  ot_bounds_result *r = luaL_checkudata(L, 1, RESULT_MT);
  ot_bounds_result_free(r);
  return 0;
}

/* Push a zeroed result holder (freed by the GC). */
static ot_bounds_result *new_result(lua_State *L) {
  ot_bounds_result *r = lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  if (luaL_newmetatable(L, RESULT_MT)) {
    lua_pushcfunction(L, result_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return r;
}

static const char *const minibatch_keys[] = {
    "m", "budget", "strategy", "partition", "seed", "solver", "reg", "max_iter", "tol",
    "lower", "plan", "metric", "cost", "threads", "progress", NULL};
static const char *const curve_keys[] = {
    "m", "budgets", "strategy", "partition", "seed", "solver", "reg", "max_iter", "tol",
    "lower", "metric", "cost", "threads", "progress", NULL};
static const char *const fatras_keys[] = {"m", "q", "seed", "complete", "metric", "cost", NULL};

/* Everything read from the arguments. */
typedef struct args {
  ot_bounds_problem prob;
  ot_bounds_opts o;
  size_t n;
  int cb;            /* stack index of opts.progress, or 0 */
  size_t *perm;      /* given partition: 2 n entries (Lua userdata), or NULL */
  long budgets_n;    /* curve */
  lua_Integer *budgets;
} args;

/* Squared distances between the points must not overflow. */
static void checkspan(lua_State *L, int arg, const char *name, ot_mat X, ot_mat Y) {
  double s = 0.0;
  for (size_t t = 0; t < X.cols; t++) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < X.rows; i++) {
      lo = fmin(lo, OT_AT(X, i, t));
      hi = fmax(hi, OT_AT(X, i, t));
    }
    for (size_t j = 0; j < Y.rows; j++) {
      lo = fmin(lo, OT_AT(Y, j, t));
      hi = fmax(hi, OT_AT(Y, j, t));
    }
    s += (hi - lo) * (hi - lo);
  }
  if (!isfinite(s))
    bind_argerror(L, arg, name, "coordinates so far apart that squared distances overflow; "
                  "rescale the points");
}

/* The field `key` of the options at optarg pushed (nil when absent). */
static int pushopt(lua_State *L, int optarg, const char *key) {
  if (!lua_istable(L, optarg)) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, optarg, key);
}

/*
 * X (arg 1), Y (arg 2) and the cost options (metric, cost) into a->prob.
 * With opts.cost = M (n x n), X and Y may be nil.  equal: X and Y must have
 * as many rows (minibatch, curve).
 */
static void read_samples(lua_State *L, int optarg, args *a, int equal) {
  memset(&a->prob, 0, sizeof a->prob);
  int has_cost = pushopt(L, optarg, "cost") != LUA_TNIL;
  if (has_cost) {
    bmat *M = bind_testmat(L, -1);
    if (!M)
      bind_argerror(L, optarg, "opts", "option 'cost' must be a matrix, got %s",
                    luaL_typename(L, -1));
    if (M->m.rows == 0 || M->m.cols == 0)
      bind_argerror(L, optarg, "opts", "option 'cost' is an empty matrix");
    if (equal && M->m.rows != M->m.cols)
      bind_argerror(L, optarg, "opts", "option 'cost' must be square (n x n), got %zux%zu",
                    M->m.rows, M->m.cols);
    size_t bi, bj;
    if (!ot_mat_all_finite(M->m, &bi, &bj))
      bind_argerror(L, optarg, "opts", "option 'cost': cost[%zu,%zu] = %g is not finite",
                    bi + 1, bj + 1, OT_AT(M->m, bi, bj));
    a->prob.C = M->m;
    a->n = M->m.rows;
    lua_replace(L, optarg + 1); /* anchored in a spare slot */
    if (pushopt(L, optarg, "metric") != LUA_TNIL)
      bind_argerror(L, optarg, "opts", "options 'metric' and 'cost' exclude each other");
    lua_pop(L, 1);
    if (!lua_isnil(L, 1) || !lua_isnil(L, 2)) { /* points too: for the spatial partition */
      bmat *X = bind_checkpoints(L, 1, "X"), *Y = bind_checkpoints(L, 2, "Y");
      bind_checksamedim(L, 2, "Y", Y, "X", X);
      if (X->m.rows != M->m.rows)
        bind_argerror(L, 1, "X", "has %zu rows but opts.cost has %zu", X->m.rows, M->m.rows);
      if (Y->m.rows != M->m.cols)
        bind_argerror(L, 2, "Y", "has %zu rows but opts.cost has %zu columns", Y->m.rows,
                      M->m.cols);
      a->prob.X = X->m;
      a->prob.Y = Y->m;
    }
    a->prob.metric = OT_METRIC_SQEUCLIDEAN;
    return;
  }
  lua_pop(L, 1);
  bmat *X = bind_checkpoints(L, 1, "X");
  bmat *Y = bind_checkpoints(L, 2, "Y");
  bind_checksamedim(L, 2, "Y", Y, "X", X);
  if (equal && X->m.rows != Y->m.rows)
    bind_argerror(L, 2, "Y", "has %zu points but X has %zu (mini-batch bounds need equal "
                  "sizes with uniform weights)", Y->m.rows, X->m.rows);
  checkspan(L, 2, "Y", X->m, Y->m);
  a->prob.X = X->m;
  a->prob.Y = Y->m;
  a->n = X->m.rows;
  const char *metric = bind_optfield_string(L, optarg, "metric", "sqeuclidean");
  if (strcmp(metric, "sqeuclidean") == 0) a->prob.metric = OT_METRIC_SQEUCLIDEAN;
  else if (strcmp(metric, "euclidean") == 0) a->prob.metric = OT_METRIC_EUCLIDEAN;
  else
    bind_argerror(L, optarg, "opts", "option 'metric' must be \"sqeuclidean\" or \"euclidean\" "
                  "(or give a cost matrix as opts.cost), got \"%s\"", metric);
}

/* A seed: opts.seed (an integer >= 0) or one drawn from the session generator. */
static uint64_t read_seed(lua_State *L, int optarg) {
  lua_Integer s = bind_optfield_integer(L, optarg, "seed", -1);
  if (pushopt(L, optarg, "seed") == LUA_TNIL) s = -1;
  lua_pop(L, 1);
  if (s == -1) return ot_rng_u64(bind_rng()) >> 12; /* fits a Lua integer and a double */
  if (s < 0) bind_argerror(L, optarg, "opts", "option 'seed' must be >= 0, got %lld", (long long)s);
  return (uint64_t)s;
}

/* A 1-based permutation of n (vector or table) into perm (0-based). */
static void read_perm(lua_State *L, int idx, int optarg, const char *which, size_t n,
                      size_t *perm, unsigned char *seen) {
  bmat *v = bind_testmat(L, idx);
  size_t len;
  if (v) {
    if (v->m.rows != 1 && v->m.cols != 1)
      bind_argerror(L, optarg, "opts", "partition.%s must be a vector, got a %zux%zu matrix",
                    which, v->m.rows, v->m.cols);
    len = v->m.rows * v->m.cols;
  } else if (lua_istable(L, idx)) {
    len = (size_t)lua_rawlen(L, idx);
  } else {
    bind_argerror(L, optarg, "opts", "partition.%s must be a vector or a table, got %s", which,
                  luaL_typename(L, idx));
    return;
  }
  if (len != n)
    bind_argerror(L, optarg, "opts", "partition.%s has %zu entries, need n = %zu", which, len, n);
  memset(seen, 0, n);
  for (size_t i = 0; i < n; i++) {
    double x;
    if (v) {
      x = v->m.rows == 1 ? v->m.data[i] : v->m.data[i * v->m.ld];
    } else {
      lua_rawgeti(L, idx, (lua_Integer)i + 1);
      int ok;
      x = lua_tonumberx(L, -1, &ok);
      lua_pop(L, 1);
      if (!ok) x = NAN;
    }
    if (!(x >= 1 && x <= (double)n && x == floor(x)))
      bind_argerror(L, optarg, "opts", "partition.%s[%zu] = %g is not an index in 1..%zu", which,
                    i + 1, x, n);
    size_t j = (size_t)x - 1;
    if (seen[j])
      bind_argerror(L, optarg, "opts", "partition.%s is not a permutation (%zu appears twice)",
                    which, j + 1);
    seen[j] = 1;
    perm[i] = j;
  }
}

/* The options shared by minibatch and curve into a (after read_samples). */
static void read_opts(lua_State *L, int optarg, args *a, int curve) {
  ot_bounds_opts *o = &a->o;
  ot_bounds_opts_init(o);
  size_t n = a->n;
  lua_Integer m = bind_optfield_integer(L, optarg, "m", 0);
  if (pushopt(L, optarg, "m") == LUA_TNIL)
    bind_argerror(L, optarg, "opts", "option 'm' (the batch size, a divisor of n = %zu) is "
                  "required", n);
  lua_pop(L, 1);
  if (m < 1 || (size_t)m > n)
    bind_argerror(L, optarg, "opts", "option 'm' must be in 1..n = %zu, got %lld", n,
                  (long long)m);
  if (n % (size_t)m)
    bind_argerror(L, optarg, "opts", "option 'm' = %lld does not divide n = %zu (no point is "
                  "dropped: choose a divisor of n, or subset the data)", (long long)m, n);
  o->m = (size_t)m;
  size_t k = n / (size_t)m;
  const char *s = bind_optfield_string(L, optarg, "strategy", "circulant");
  if (ot_bounds_strategy_parse(s, &o->strategy))
    bind_argerror(L, optarg, "opts", "option 'strategy' must be \"diag\", \"all\", \"opt\", "
                  "\"circulant\", \"random\", \"knn\" or \"adaptive\", got \"%s\"", s);
  if (!curve) {
    lua_Integer b = bind_optfield_integer(L, optarg, "budget", 0);
    long need = o->strategy == OT_BOUNDS_ALL || o->strategy == OT_BOUNDS_OPT
                    ? (long)(k * k) : (long)k;
    if (pushopt(L, optarg, "budget") != LUA_TNIL && b < need)
      bind_argerror(L, optarg, "opts", "option 'budget' = %lld is below the %ld solves strategy "
                    "\"%s\" needs (k = %zu batches%s)", (long long)b, need, s, k,
                    need == (long)k ? "" : ", k^2 pairs");
    lua_pop(L, 1);
    o->budget = (long)b;
  }
  o->seed = read_seed(L, optarg);
  int pt = pushopt(L, optarg, "partition");
  if (pt == LUA_TSTRING) {
    const char *p = lua_tostring(L, -1);
    if (ot_bounds_partition_parse(p, &o->partition) || o->partition == OT_BOUNDS_GIVEN)
      bind_argerror(L, optarg, "opts", "option 'partition' must be \"shuffle\", \"ordered\", "
                    "\"spatial\" or a table {x = perm, y = perm}, got \"%s\"", p);
    if (o->partition == OT_BOUNDS_SPATIAL && a->prob.C.data && !a->prob.X.data)
      bind_argerror(L, optarg, "opts", "partition \"spatial\" needs the points X and Y");
  } else if (pt == LUA_TTABLE) {
    int t = lua_gettop(L);
    size_t bytes;
    if (ot_mem_size(n, 2 * sizeof(size_t) + 1, 1, &bytes))
      bind_argerror(L, optarg, "opts", "partition too large");
    a->perm = lua_newuserdatauv(L, bytes, 0);
    lua_replace(L, optarg + 2); /* anchored in a spare slot */
    unsigned char *seen = (unsigned char *)(a->perm + 2 * n);
    lua_getfield(L, t, "x");
    read_perm(L, lua_gettop(L), optarg, "x", n, a->perm, seen);
    lua_pop(L, 1);
    lua_getfield(L, t, "y");
    read_perm(L, lua_gettop(L), optarg, "y", n, a->perm + n, seen);
    lua_pop(L, 1);
    o->partition = OT_BOUNDS_GIVEN;
    o->perm_x = a->perm;
    o->perm_y = a->perm + n;
  } else if (pt != LUA_TNIL) {
    bind_argerror(L, optarg, "opts", "option 'partition' must be a string or a table "
                  "{x = perm, y = perm}, got %s", luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  if (o->partition == OT_BOUNDS_SPATIAL && !a->prob.X.data)
    bind_argerror(L, optarg, "opts", "partition \"spatial\" needs the points X and Y");
  const char *sv = bind_optfield_string(L, optarg, "solver", "assign");
  if (ot_bounds_solver_parse(sv, &o->solver))
    bind_argerror(L, optarg, "opts", "option 'solver' must be \"assign\", \"emd\" or "
                  "\"sinkhorn\", got \"%s\"", sv);
  o->reg = bind_optfield_number(L, optarg, "reg", 0.01);
  if (!(o->reg > 0 && isfinite(o->reg)))
    bind_argerror(L, optarg, "opts", "option 'reg' must be > 0 and finite, got %g", o->reg);
  lua_Integer mi = bind_optfield_integer(L, optarg, "max_iter", 1000);
  if (mi < 1) bind_argerror(L, optarg, "opts", "option 'max_iter' must be >= 1, got %lld",
                            (long long)mi);
  o->sinkhorn_max_iter = (long)mi;
  o->sinkhorn_tol = bind_optfield_number(L, optarg, "tol", 1e-9);
  if (!(o->sinkhorn_tol >= 0 && o->sinkhorn_tol < 1))
    bind_argerror(L, optarg, "opts", "option 'tol' must be in [0, 1), got %g", o->sinkhorn_tol);
  if (o->solver != OT_BOUNDS_SINKHORN) {
    static const char *const sk[] = {"reg", "max_iter", "tol"};
    for (int i = 0; i < 3; i++) {
      if (pushopt(L, optarg, sk[i]) != LUA_TNIL)
        bind_argerror(L, optarg, "opts", "option '%s' applies to solver = \"sinkhorn\" only",
                      sk[i]);
      lua_pop(L, 1);
    }
  }
  int lt = pushopt(L, optarg, "lower");
  if (lt != LUA_TNIL) {
    int idx = lua_gettop(L);
    o->lower = 0;
    if (lt == LUA_TSTRING) {
      lua_createtable(L, 1, 0);
      lua_pushvalue(L, idx);
      lua_rawseti(L, -2, 1);
      lua_replace(L, idx);
    } else if (lt == LUA_TBOOLEAN && !lua_toboolean(L, idx)) {
      lua_newtable(L);
      lua_replace(L, idx);
    } else if (lt != LUA_TTABLE) {
      bind_argerror(L, optarg, "opts", "option 'lower' must be a list of \"nn\", \"dual\", "
                    "\"semi\" (or false), got %s", luaL_typename(L, idx));
    }
    lua_Integer len = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= len; i++) {
      lua_rawgeti(L, idx, i);
      const char *name = lua_tostring(L, -1);
      if (lua_type(L, -1) != LUA_TSTRING) name = NULL;
      if (name && strcmp(name, "nn") == 0) o->lower |= OT_BOUNDS_LOWER_NN;
      else if (name && strcmp(name, "dual") == 0) o->lower |= OT_BOUNDS_LOWER_DUAL;
      else if (name && strcmp(name, "semi") == 0) o->lower |= OT_BOUNDS_LOWER_SEMI;
      else
        bind_argerror(L, optarg, "opts", "option 'lower'[%lld] must be \"nn\", \"dual\" or "
                      "\"semi\", got %s", (long long)i, name ? name : luaL_typename(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  lua_Integer th = bind_optfield_integer(L, optarg, "threads", 0);
  if (th < 0 || th > 1024)
    bind_argerror(L, optarg, "opts", "option 'threads' must be in 0..1024, got %lld",
                  (long long)th);
  o->threads = (int)th;
  a->cb = 0;
  if (pushopt(L, optarg, "progress") == LUA_TFUNCTION) {
    a->cb = lua_gettop(L);
    lua_replace(L, optarg + 3);
    a->cb = optarg + 3;
  } else {
    if (!lua_isnil(L, -1))
      bind_argerror(L, optarg, "opts", "option 'progress' must be a function, got %s",
                    luaL_typename(L, -1));
    lua_pop(L, 1);
  }
}

/* The options table is required (m has no default). */
static void checkoptstable(lua_State *L, int optarg) {
  if (lua_isnil(L, optarg))
    bind_argerror(L, optarg, "opts", "options table expected (at least {m = batch size})");
  if (!lua_istable(L, optarg))
    bind_argerror(L, optarg, "opts", "table expected, got %s", luaL_typename(L, optarg));
}

/* Raise for a failed core call (memory already released by the core). */
static int raise_status(lua_State *L, int rc, const char *fname, const bind_progress_ud *pud,
                        const ot_bounds_result *r) {
  if (rc == OT_ECANCELED) {
    if (pud->lua_error) return lua_error(L);
    if (bind_interrupted)
      return luaL_error(L, "%s: interrupted at solve %I of %I", fname, (lua_Integer)r->solves,
                        (lua_Integer)r->budget);
    return luaL_error(L, "%s: canceled by the progress callback at solve %I", fname,
                      (lua_Integer)r->solves);
  }
  bind_check_status(L, rc, fname);
  return 0;
}

static void setnum(lua_State *L, const char *k, double v) {
  if (isnan(v)) return; /* not computed: the field is absent */
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void setint(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* Push a vector of 1-based indices. */
static void push_index_vec(lua_State *L, const size_t *p, size_t n, const char *fname) {
  bmat *v = bind_newvec(L, n, fname);
  for (size_t i = 0; i < n; i++) v->m.data[i] = (double)(p[i] + 1);
}

/* Push the result table of one run. */
static void push_result(lua_State *L, const ot_bounds_result *r, const args *a,
                        const char *fname) {
  const ot_bounds_opts *o = &a->o;
  lua_createtable(L, 0, 32);
  setnum(L, "upper", r->upper);
  setnum(L, "lower", r->lower);
  setnum(L, "gap", r->upper - r->lower);
  setnum(L, "diag", r->diag);
  setnum(L, "all", r->all);
  setnum(L, "opt", r->opt);
  setnum(L, "budgeted", r->budgeted);
  setnum(L, "nn", r->nn);
  setnum(L, "dual", r->dual);
  setnum(L, "semi", r->semi);
  lua_pushboolean(L, r->certified);
  lua_setfield(L, -2, "certified");
  setint(L, "n", (lua_Integer)r->n);
  setint(L, "m", (lua_Integer)r->m);
  setint(L, "k", (lua_Integer)r->k);
  setint(L, "solves", r->solves);
  setint(L, "budget", r->budget);
  setint(L, "rounds", r->rounds);
  setint(L, "seed", (lua_Integer)o->seed);
  lua_pushstring(L, ot_bounds_strategy_name(o->strategy));
  lua_setfield(L, -2, "strategy");
  lua_pushstring(L, ot_bounds_solver_name(o->solver));
  lua_setfield(L, -2, "solver");
  if (o->solver == OT_BOUNDS_SINKHORN) setint(L, "inner_unconverged", r->inner_unconverged);
  lua_pushstring(L, "certified bounds: lower <= OT <= upper");
  lua_setfield(L, -2, "kind");
  bmat *P = bind_newmat(L, r->npairs, 3, fname);
  for (size_t q = 0; q < r->npairs; q++) {
    OT_AT(P->m, q, 0) = (double)(r->pair_a[q] + 1);
    OT_AT(P->m, q, 1) = (double)(r->pair_b[q] + 1);
    OT_AT(P->m, q, 2) = r->pair_d[q];
  }
  lua_setfield(L, -2, "pairs");
  push_index_vec(L, r->sigma, r->k, fname);
  lua_setfield(L, -2, "sigma");
  lua_createtable(L, 0, 3);
  lua_pushstring(L, ot_bounds_partition_name(o->partition));
  lua_setfield(L, -2, "name");
  push_index_vec(L, r->perm_x, r->n, fname);
  lua_setfield(L, -2, "x");
  push_index_vec(L, r->perm_y, r->n, fname);
  lua_setfield(L, -2, "y");
  lua_setfield(L, -2, "partition");
  if (o->want_plan) {
    bmat *T = bind_newmat(L, r->plan_nnz, 3, fname);
    for (size_t q = 0; q < r->plan_nnz; q++) {
      OT_AT(T->m, q, 0) = (double)(r->plan_i[q] + 1);
      OT_AT(T->m, q, 1) = (double)(r->plan_j[q] + 1);
      OT_AT(T->m, q, 2) = r->plan_mass[q];
    }
    lua_setfield(L, -2, "plan");
  }
  lua_pushnumber(L, r->time_total);
  lua_setfield(L, -2, "time");
  lua_pushnumber(L, r->time_solves);
  lua_setfield(L, -2, "time_solves");
  lua_pushnumber(L, r->time_lower);
  lua_setfield(L, -2, "time_lower");
  if (o->want_plan) {
    lua_pushnumber(L, r->time_plan);
    lua_setfield(L, -2, "time_plan");
  }
}

/*
 * The distribution of this call (pushed on the stack): over MPI ranks,
 * shards or none (src/bind/mpi.h).  Adaptive rounds depend on the values
 * of the previous round, so they cannot be precomputed by shards.  A shard
 * run goes through the whole kernel (zeros stand for the other shards'
 * rows; its result is thrown away) so that its batches are the reduce
 * run's.
 */
static bind_dist *setup_dist(lua_State *L, args *a, const char *fname) {
  const char *sh = getenv("OTLAB_SHARD");
  if (sh && sh[0] && a->o.strategy == OT_BOUNDS_ADAPTIVE)
    luaL_error(L, "%s: strategy \"adaptive\" picks each round's pairs from the values of the "
               "previous round, so it cannot run as shards (OTLAB_SHARD / --shard); run it "
               "under mpirun or in one process", fname);
  bind_dist *d = bind_dist_new(L, fname, "bounds", 1);
  int mode = bind_dist_mode(d);
  if (mode != BIND_DIST_LOCAL) {
    a->o.distribute = bind_dist_jobs;
    a->o.distribute_ud = d;
  }
  return d;
}

/* ot.bounds.minibatch(X, Y, opts) -> result table */
static int bounds_minibatch(lua_State *L) {
  const char *fname = "ot.bounds.minibatch";
  lua_settop(L, 6); /* 4..6: anchors for the cost, the partition, the callback */
  const int optarg = 3;
  checkoptstable(L, optarg);
  bind_checkopts(L, optarg, minibatch_keys);
  args a;
  memset(&a, 0, sizeof a);
  read_samples(L, optarg, &a, 1);
  read_opts(L, optarg, &a, 0);
  a.o.want_plan = bind_optfield_boolean(L, optarg, "plan", 0);
  ot_bounds_result *r = new_result(L);
  bind_dist *dist = setup_dist(L, &a, fname);
  bind_progress_ud pud = {L, a.cb, 0.0, 0};
  a.o.progress = bind_progress;
  a.o.progress_ud = &pud;
  a.o.interval = 0.05;
  bind_dist_progress(dist, &a.o.progress, &a.o.progress_ud);
  int rc = ot_bounds_minibatch(&a.prob, &a.o, r);
  if (rc) {
    bind_dist_check(L, dist);
    return raise_status(L, rc, fname, &pud, r);
  }
  bind_dist_finish(L, dist);
  push_result(L, r, &a, fname);
  return 1;
}

/* ot.bounds.curve(X, Y, opts) -> table of vectors, one entry per budget */
static int bounds_curve(lua_State *L) {
  const char *fname = "ot.bounds.curve";
  lua_settop(L, 6);
  const int optarg = 3;
  checkoptstable(L, optarg);
  bind_checkopts(L, optarg, curve_keys);
  args a;
  memset(&a, 0, sizeof a);
  read_samples(L, optarg, &a, 1);
  read_opts(L, optarg, &a, 1);
  size_t k = a.n / a.o.m;
  long kk = (long)(k * k);
  long need = a.o.strategy == OT_BOUNDS_ALL || a.o.strategy == OT_BOUNDS_OPT ? kk : (long)k;
  /* budgets: given, or k, 2k, 4k, ... up to k^2 */
  long nb = 0;
  lua_Integer *bud;
  if (pushopt(L, optarg, "budgets") != LUA_TNIL) {
    bmat *v = bind_testmat(L, -1);
    size_t len = v ? v->m.rows * v->m.cols : lua_istable(L, -1) ? (size_t)lua_rawlen(L, -1) : 0;
    if (!v && !lua_istable(L, -1))
      bind_argerror(L, optarg, "opts", "option 'budgets' must be a list of integers, got %s",
                    luaL_typename(L, -1));
    if (len == 0 || len > 10000)
      bind_argerror(L, optarg, "opts", "option 'budgets' must have 1..10000 entries, got %zu",
                    len);
    bud = lua_newuserdatauv(L, len * sizeof *bud, 0);
    for (size_t i = 0; i < len; i++) {
      double x;
      if (v) {
        x = v->m.data[v->m.rows == 1 ? i : i * v->m.ld];
      } else {
        lua_rawgeti(L, -2, (lua_Integer)i + 1);
        int ok;
        x = lua_tonumberx(L, -1, &ok);
        lua_pop(L, 1);
        if (!ok) x = NAN;
      }
      if (!(x == floor(x) && x >= (double)need && x <= 9e15))
        bind_argerror(L, optarg, "opts", "option 'budgets'[%zu] = %g must be an integer >= %ld "
                      "(the solves strategy \"%s\" needs)", i + 1, x, need,
                      ot_bounds_strategy_name(a.o.strategy));
      bud[i] = (lua_Integer)x;
    }
    nb = (long)len;
  } else {
    bud = lua_newuserdatauv(L, 64 * sizeof *bud, 0);
    for (long b = need; nb < 64; b *= 2) {
      bud[nb++] = b > kk ? kk : b;
      if (b >= kk) break;
    }
  }
  int budidx = lua_gettop(L);
  (void)budidx;
  ot_bounds_result *r = new_result(L);
  bmat *vb = bind_newvec(L, (size_t)nb, fname);
  int ib = lua_gettop(L);
  bmat *vu = bind_newvec(L, (size_t)nb, fname);
  int iu = lua_gettop(L);
  bmat *vl = bind_newvec(L, (size_t)nb, fname);
  int il = lua_gettop(L);
  bmat *vg = bind_newvec(L, (size_t)nb, fname);
  int ig = lua_gettop(L);
  bmat *vs = bind_newvec(L, (size_t)nb, fname);
  int is = lua_gettop(L);
  bmat *vt = bind_newvec(L, (size_t)nb, fname);
  int it = lua_gettop(L);
  bmat *vc = bind_newvec(L, (size_t)nb, fname);
  int ic = lua_gettop(L);
  bind_dist *dist = setup_dist(L, &a, fname);
  bind_progress_ud pud = {L, a.cb, 0.0, 0};
  a.o.progress = bind_progress;
  a.o.progress_ud = &pud;
  a.o.interval = 0.05;
  bind_dist_progress(dist, &a.o.progress, &a.o.progress_ud);
  int lower = a.o.lower;
  double low = NAN, nn = NAN, dual = NAN, semi = NAN, tlow = 0;
  for (long q = 0; q < nb; q++) {
    a.o.budget = (long)bud[q];
    a.o.lower = q == 0 ? lower : 0; /* the lower bounds do not depend on the budget */
    int rc = ot_bounds_minibatch(&a.prob, &a.o, r);
    if (rc) {
      bind_dist_check(L, dist);
      return raise_status(L, rc, fname, &pud, r);
    }
    if (q == 0) {
      low = r->lower;
      nn = r->nn;
      dual = r->dual;
      semi = r->semi;
      tlow = r->time_lower;
    }
    vb->m.data[q] = (double)r->budget;
    vu->m.data[q] = r->upper;
    vl->m.data[q] = low;
    vg->m.data[q] = r->upper - low;
    vs->m.data[q] = (double)r->solves;
    vt->m.data[q] = r->time_total - r->time_lower;
    vc->m.data[q] = r->certified;
    ot_bounds_result_free(r);
  }
  bind_dist_finish(L, dist);
  lua_createtable(L, 0, 20);
  static const char *const names[] = {"budget", "upper", "lower", "gap", "solves", "time",
                                      "certified"};
  const int idx[] = {ib, iu, il, ig, is, it, ic};
  for (int t = 0; t < 7; t++) {
    lua_pushvalue(L, idx[t]);
    lua_setfield(L, -2, names[t]);
  }
  setnum(L, "nn", nn);
  setnum(L, "dual", dual);
  setnum(L, "semi", semi);
  setnum(L, "time_lower", tlow);
  setint(L, "n", (lua_Integer)a.n);
  setint(L, "m", (lua_Integer)a.o.m);
  setint(L, "k", (lua_Integer)k);
  setint(L, "seed", (lua_Integer)a.o.seed);
  lua_pushstring(L, ot_bounds_strategy_name(a.o.strategy));
  lua_setfield(L, -2, "strategy");
  lua_pushstring(L, ot_bounds_solver_name(a.o.solver));
  lua_setfield(L, -2, "solver");
  return 1;
}

/* ot.bounds.fatras(X, Y, {m, q, seed, complete}) -> {estimate, stderr, ...} */
static int bounds_fatras(lua_State *L) {
  const char *fname = "ot.bounds.fatras";
  lua_settop(L, 6);
  const int optarg = 3;
  checkoptstable(L, optarg);
  bind_checkopts(L, optarg, fatras_keys);
  args a;
  memset(&a, 0, sizeof a);
  read_samples(L, optarg, &a, 0);
  size_t nx = a.prob.C.data ? a.prob.C.rows : a.prob.X.rows;
  size_t ny = a.prob.C.data ? a.prob.C.cols : a.prob.Y.rows;
  size_t nmin = nx < ny ? nx : ny;
  lua_Integer m = bind_optfield_integer(L, optarg, "m", 0);
  if (pushopt(L, optarg, "m") == LUA_TNIL)
    bind_argerror(L, optarg, "opts", "option 'm' (the batch size) is required");
  lua_pop(L, 1);
  if (m < 1 || (size_t)m > nmin)
    bind_argerror(L, optarg, "opts", "option 'm' must be in 1..%zu (the smaller sample), got %lld",
                  nmin, (long long)m);
  int complete = bind_optfield_boolean(L, optarg, "complete", 0);
  lua_Integer q = bind_optfield_integer(L, optarg, "q", 100);
  if (q < 1 || q > 10000000)
    bind_argerror(L, optarg, "opts", "option 'q' must be in 1..1e7, got %lld", (long long)q);
  if (complete) {
    double tot = 1;
    for (lua_Integer t = 0; t < m; t++) tot *= (double)(nx - (size_t)t) / (double)(t + 1);
    double t2 = 1;
    for (lua_Integer t = 0; t < m; t++) t2 *= (double)(ny - (size_t)t) / (double)(t + 1);
    if (tot * t2 > 1e7)
      bind_argerror(L, optarg, "opts", "complete = true enumerates C(%zu,%lld) x C(%zu,%lld) = "
                    "%.3g subset pairs, more than 1e7; use q random pairs", nx, (long long)m,
                    ny, (long long)m, tot * t2);
  }
  uint64_t seed = read_seed(L, optarg);
  double v, se;
  long pairs;
  double t0 = ot_clock();
  int rc = ot_bounds_fatras(&a.prob, (size_t)m, (long)q, seed, complete, &v, &se, &pairs);
  bind_check_status(L, rc, fname);
  lua_createtable(L, 0, 10);
  lua_pushnumber(L, v);
  lua_setfield(L, -2, "estimate");
  lua_pushnumber(L, se);
  lua_setfield(L, -2, "stderr");
  setint(L, "pairs", pairs);
  setint(L, "m", m);
  if (!complete) setint(L, "q", q);
  setint(L, "seed", (lua_Integer)seed);
  lua_pushboolean(L, complete);
  lua_setfield(L, -2, "complete");
  lua_pushstring(L, "estimate, not a bound");
  lua_setfield(L, -2, "kind");
  lua_pushnumber(L, ot_clock() - t0);
  lua_setfield(L, -2, "time");
  return 1;
}

static const luaL_Reg bounds_funcs[] = {{"minibatch", bounds_minibatch},
                                        {"curve", bounds_curve},
                                        {"fatras", bounds_fatras},
                                        {NULL, NULL}};

/* Adds ot.bounds to the table on top of the stack. */
void bind_open_bounds(lua_State *L) {
  luaL_newlib(L, bounds_funcs);
  lua_setfield(L, -2, "bounds");
}
