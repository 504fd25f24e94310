/*
 * sinkhorn.c (bindings) -- ot.sinkhorn, ot.sinkhorn2, ot.sinkhorn_divergence
 * and ot.unbalanced.sinkhorn_unbalanced / sinkhorn_unbalanced2.
 *
 * share/help/sinkhorn.txt is the user manual of these functions.  Every
 * argument is validated before the kernel runs; results (plan, potentials,
 * error history) are Lua matrices created before the call, so an error
 * raised afterwards leaks nothing.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ot/alloc.h"

#include "bind.h"
#include "cost.h"
#include "ot/sinkhorn.h"

/* Entries kept in info.err_history at most. */
#define HISTORY_CAP 100000

static const char *const method_names[] = {"sinkhorn", "log", "stabilized", "epsilon_scaling"};

/* The method named s (POT's names accepted too), or -1. */
static int method_of(const char *s) {
  static const struct {
    const char *name;
    int method;
  } names[] = {{"sinkhorn", OT_SINKHORN_KERNEL},        {"sinkhorn_knopp", OT_SINKHORN_KERNEL},
               {"log", OT_SINKHORN_LOG},                {"sinkhorn_log", OT_SINKHORN_LOG},
               {"stabilized", OT_SINKHORN_STABILIZED},  {"sinkhorn_stabilized", OT_SINKHORN_STABILIZED},
               {"epsilon_scaling", OT_SINKHORN_EPS_SCALING},
               {"sinkhorn_epsilon_scaling", OT_SINKHORN_EPS_SCALING}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(s, names[i].name) == 0) return names[i].method;
  return -1;
}

static const char *status_name(int status) {
  switch (status) {
  case OT_SINKHORN_CONVERGED: return "converged";
  case OT_SINKHORN_MAX_ITER: return "max_iter_reached";
  default: return "numerical error";
  }
}

/* reg (or reg_m) at arg: a finite number > 0. */
static double checkreg(lua_State *L, int arg, const char *name) {
  double r = bind_checknumber(L, arg, name);
  if (isnan(r)) bind_argerror(L, arg, name, "must be > 0, got nan");
  if (!(r > 0)) bind_argerror(L, arg, name, "must be > 0, got %g", r);
  if (isinf(r)) bind_argerror(L, arg, name, "must be finite, got %g", r);
  return r;
}

/*
 * Weights at arg for a side of n points (checked by bind_checkweights);
 * the error names M's shape when the length is wrong.
 */
static bmat *checkweights(lua_State *L, int arg, const char *name, size_t n, const bmat *M,
                          double *sum) {
  bmat *w = bind_testmat(L, arg);
  size_t len = 0;
  if (w && (w->m.rows == 1 || w->m.cols == 1)) len = w->m.rows * w->m.cols;
  if (!w && lua_istable(L, arg)) len = (size_t)lua_rawlen(L, arg);
  if (len && len != n)
    bind_argerror(L, arg, name, "has %zu entries but M is %zux%zu (needs %zu)", len,
                  M->m.rows, M->m.cols, n);
  return bind_checkweights(L, arg, name, n, sum);
}

/* Rescale the weights at arg to sum 1 (in a new vector replacing it). */
static bmat *normalized(lua_State *L, int arg, bmat *w, double sum) {
  size_t n = w->m.rows;
  bmat *c = bind_newvec(L, n, "weights");
  for (size_t i = 0; i < n; i++) c->m.data[i] = w->m.data[i] / sum;
  lua_replace(L, arg);
  return c;
}

/*
 * Optional warm-start vector opts[key] (a vector or 1 x n / n x 1 matrix
 * of n values, finite or -inf): copied into a new vector left on the
 * stack.  Returns its data, or NULL when absent.
 */
static double *optvector(lua_State *L, int opts, const char *key, size_t n) {
  if (!lua_istable(L, opts) || lua_getfield(L, opts, key) == LUA_TNIL) {
    if (lua_istable(L, opts)) lua_pop(L, 1);
    return NULL;
  }
  bmat *v = bind_testmat(L, -1);
  if (!v || !(v->m.rows == 1 || v->m.cols == 1) || v->m.rows * v->m.cols != n)
    bind_argerror(L, opts, "opts", "option '%s' must be a vector of %zu values, got %s", key, n,
                  v ? "a matrix of another shape" : luaL_typename(L, -1));
  bmat *c = bind_newvec(L, n, "warm start");
  size_t inc = v->m.rows == 1 ? 1 : v->m.ld;
  for (size_t i = 0; i < n; i++) {
    double x = v->m.data[i * inc];
    if (isnan(x) || x == INFINITY)
      bind_argerror(L, opts, "opts", "option '%s': %s[%zu] = %g is not finite", key, key, i + 1, x);
    c->m.data[i] = x;
  }
  lua_remove(L, -2);
  return c->m.data;
}

/* The progress callback opts.progress: its stack index (pushed), or 0. */
static int optprogress(lua_State *L, int opts) {
  if (!lua_istable(L, opts)) return 0;
  int t = lua_getfield(L, opts, "progress");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (t != LUA_TFUNCTION)
    bind_argerror(L, opts, "opts", "option 'progress' must be a function, got %s",
                  luaL_typename(L, -1));
  return lua_gettop(L);
}

/*
 * After a kernel returned rc: a Lua error from the callback is re-raised;
 * cancellation (Ctrl-C or the callback returning false) becomes
 * "<fname>: interrupted at iteration N" / "canceled by the progress
 * callback at iteration N"; other failures go through bind_check_status.
 */
static void finish_status(lua_State *L, int rc, bind_progress_ud *ud, const char *fname,
                          long iter) {
  if (rc == OT_OK) return;
  if (rc == OT_ECANCELED) {
    if (ud->lua_error) lua_error(L); /* the callback's message is on top */
    if (bind_interrupted) luaL_error(L, "%s: interrupted at iteration %d", fname, (int)iter);
    luaL_error(L, "%s: canceled by the progress callback at iteration %d", fname, (int)iter);
  }
  bind_check_status(L, rc, fname);
}

/*
 * Refuse, before anything is allocated, a run whose buffers (`bytes`,
 * described by `what`) exceed the memory budget: the error gives the
 * needed and the available amounts.
 */
static void checkbudget(lua_State *L, const char *fname, double bytes, const char *what) {
  if (bytes < 9e18 && ot_mem_check((size_t)bytes) == OT_OK) return;
  char need[32], lim[32], used[32];
  ot_mem_format(bytes < 9e18 ? (size_t)bytes : (size_t)9e18, need, sizeof need);
  ot_mem_format(ot_mem_limit(), lim, sizeof lim);
  ot_mem_format(ot_mem_used(), used, sizeof used);
  luaL_error(L, "%s: %s needs %s, memory budget is %s with %s in use (see --mem-limit or "
             "ot.mem_limit)", fname, what, need, lim, used);
}

static void setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static const char *const sinkhorn_keys[] = {"method", "max_iter", "tol", "f", "g", "progress",
                                            "normalize", "auto_log", "tau", "eps0",
                                            "eps_factor", "eps_inner", NULL};

/*
 * ot.sinkhorn / ot.sinkhorn2 / the unbalanced pair: one implementation.
 * Stack: 1 a, 2 b, 3 M, 4 reg, [5 reg_m], opts; `plan` selects the main
 * result (the plan, or the cost).
 */
static int sinkhorn_common(lua_State *L, int plan, int unbalanced, const char *fname) {
  int opts = unbalanced ? 6 : 5;
  lua_settop(L, opts);
  bmat *M = bind_checkcosts(L, 3);
  size_t n = M->m.rows, m = M->m.cols;
  double sa, sb;
  bmat *a = checkweights(L, 1, "a", n, M, &sa);
  bmat *b = checkweights(L, 2, "b", m, M, &sb);
  double reg = checkreg(L, 4, "reg");
  double reg_m = unbalanced ? checkreg(L, 5, "reg_m") : INFINITY;
  bind_checkopts(L, opts, sinkhorn_keys);
  ot_sinkhorn_opts o;
  ot_sinkhorn_opts_init(&o);
  if (unbalanced) o.tol = 1e-6; /* POT's default for the unbalanced solvers */
  const char *meth = bind_optfield_string(L, opts, "method", "sinkhorn");
  o.method = method_of(meth);
  if (o.method < 0 || (unbalanced && o.method != OT_SINKHORN_KERNEL && o.method != OT_SINKHORN_LOG))
    bind_argerror(L, opts, "opts", "unknown method '%s'; known: %s", meth,
                  unbalanced ? "sinkhorn, log"
                             : "sinkhorn, log, stabilized, epsilon_scaling");
  lua_Integer mi = bind_optfield_integer(L, opts, "max_iter", o.max_iter);
  if (mi < 0 || mi > 2000000000)
    bind_argerror(L, opts, "opts", "option 'max_iter' must be in 0..2e9, got %lld", (long long)mi);
  o.max_iter = (long)mi;
  o.tol = bind_optfield_number(L, opts, "tol", o.tol);
  if (!(o.tol >= 0) || isinf(o.tol))
    bind_argerror(L, opts, "opts", "option 'tol' must be finite and >= 0, got %g", o.tol);
  o.auto_log = bind_optfield_boolean(L, opts, "auto_log", 1);
  o.tau = bind_optfield_number(L, opts, "tau", o.tau);
  if (!(o.tau > 1) || isinf(o.tau))
    bind_argerror(L, opts, "opts", "option 'tau' must be finite and > 1, got %g", o.tau);
  o.eps0 = bind_optfield_number(L, opts, "eps0", 0.0);
  if (!(o.eps0 >= 0) || isinf(o.eps0))
    bind_argerror(L, opts, "opts", "option 'eps0' must be finite and >= 0, got %g", o.eps0);
  o.eps_factor = bind_optfield_number(L, opts, "eps_factor", o.eps_factor);
  if (!(o.eps_factor > 0 && o.eps_factor < 1))
    bind_argerror(L, opts, "opts", "option 'eps_factor' must be in (0, 1), got %g", o.eps_factor);
  lua_Integer inner = bind_optfield_integer(L, opts, "eps_inner", o.eps_inner);
  if (inner < 1 || inner > 1000000)
    bind_argerror(L, opts, "opts", "option 'eps_inner' must be in 1..1e6, got %lld",
                  (long long)inner);
  o.eps_inner = (long)inner;
  int normalize = bind_optfield_boolean(L, opts, "normalize", 0);
  if (normalize) {
    a = normalized(L, 1, a, sa);
    b = normalized(L, 2, b, sb);
  } else if (!unbalanced) {
    bind_checkbalanced(L, 2, "b", sa, sb);
  }
  if (!o.auto_log && o.method == OT_SINKHORN_KERNEL) {
    double big = 0.0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < m; j++) big = fmax(big, fabs(OT_AT(M->m, i, j)));
    if (big / reg > OT_SINKHORN_UNDERFLOW)
      bind_argerror(L, 4, "reg", "exp(-M/reg) underflows: max|M|/reg = %g > %g; use a larger "
                    "reg, method = \"log\", or auto_log = true", big / reg, OT_SINKHORN_UNDERFLOW);
  }
  o.f0 = optvector(L, opts, "f", n);
  o.g0 = optvector(L, opts, "g", m);
  if (!o.f0 != !o.g0)
    bind_argerror(L, opts, "opts", "a warm start needs both 'f' and 'g'");
  int cb = optprogress(L, opts);
  {
    double nm = (double)n * (double)m, vecs = 16.0 * ((double)n + (double)m);
    char what[96];
    snprintf(what, sizeof what, "a %zux%zu problem (%s%s)", n, m,
             plan ? "plan and " : "", o.method == OT_SINKHORN_KERNEL ||
             o.method == OT_SINKHORN_STABILIZED ? "kernel" : "transposed costs");
    checkbudget(L, fname, 8.0 * ((plan ? 2.0 : 1.0) * nm + vecs), what);
  }
  /* results, allocated before the kernel runs */
  int top = lua_gettop(L);
  bmat *P = plan ? bind_newmat(L, n, m, fname) : NULL;
  if (!plan) lua_pushnil(L);
  bmat *f = bind_newvec(L, n, fname);
  bmat *g = bind_newvec(L, m, fname);
  size_t cap = (size_t)o.max_iter + 1 < HISTORY_CAP ? (size_t)o.max_iter + 1 : HISTORY_CAP;
  bmat *hist = bind_newvec(L, cap, fname);
  o.err_history = hist->m.data;
  o.err_cap = cap;
  bind_progress_ud ud = {L, cb, 0.0, 0};
  o.progress = bind_progress;
  o.progress_ud = &ud;
  ot_sinkhorn_info info;
  ot_mat Pv = P ? P->m : (ot_mat){n, m, m, NULL};
  double t0 = ot_clock();
  int rc = unbalanced
               ? ot_sinkhorn_unbalanced(Pv, f->m.data, g->m.data, a->m.data, b->m.data, M->m,
                                        reg, reg_m, &o, &info)
               : ot_sinkhorn_solve(Pv, f->m.data, g->m.data, a->m.data, b->m.data, M->m, reg, &o,
                                   &info);
  double elapsed = ot_clock() - t0;
  finish_status(L, rc, &ud, fname, info.iterations);
  /* main result */
  if (plan)
    lua_pushvalue(L, top + 1);
  else
    lua_pushnumber(L, info.cost);
  lua_createtable(L, 0, 20);
  setnum(L, "cost", info.cost);
  setnum(L, "objective", info.objective);
  lua_pushboolean(L, info.status == OT_SINKHORN_CONVERGED);
  lua_setfield(L, -2, "converged");
  lua_pushstring(L, status_name(info.status));
  lua_setfield(L, -2, "status");
  lua_pushinteger(L, info.iterations);
  lua_setfield(L, -2, "iterations");
  setnum(L, "err", info.err);
  lua_pushstring(L, method_names[info.method]);
  lua_setfield(L, -2, "method");
  lua_pushboolean(L, info.switched);
  lua_setfield(L, -2, "switched");
  setnum(L, "reg", reg);
  if (unbalanced) setnum(L, "reg_m", reg_m);
  setnum(L, "time", elapsed);
  lua_pushvalue(L, top + 2);
  lua_setfield(L, -2, "f");
  lua_pushvalue(L, top + 3);
  lua_setfield(L, -2, "g");
  bmat *u = bind_newvec(L, n, fname);
  for (size_t i = 0; i < n; i++) u->m.data[i] = exp(f->m.data[i] / reg);
  lua_setfield(L, -2, "u");
  bmat *v = bind_newvec(L, m, fname);
  for (size_t j = 0; j < m; j++) v->m.data[j] = exp(g->m.data[j] / reg);
  lua_setfield(L, -2, "v");
  if (info.n_err < cap) {
    bind_newview(L, top + 4, ot_mat_view(hist->m.data, info.n_err, 1), 1);
  } else {
    lua_pushvalue(L, top + 4);
  }
  lua_setfield(L, -2, "err_history");
  return 2;
}

static int sinkhorn_sinkhorn(lua_State *L) { return sinkhorn_common(L, 1, 0, "ot.sinkhorn"); }
static int sinkhorn_sinkhorn2(lua_State *L) { return sinkhorn_common(L, 0, 0, "ot.sinkhorn2"); }
static int sinkhorn_unbalanced(lua_State *L) {
  return sinkhorn_common(L, 1, 1, "ot.unbalanced.sinkhorn_unbalanced");
}
static int sinkhorn_unbalanced2(lua_State *L) {
  return sinkhorn_common(L, 0, 1, "ot.unbalanced.sinkhorn_unbalanced2");
}

/* ---- ot.sinkhorn_divergence ----------------------------------------------- */

/* Above this many (n * m) pairs the divergence runs online unless told otherwise. */
#define ONLINE_PAIRS 4000000.0

static const char *const divergence_keys[] = {"reg", "a", "b", "metric", "online", "max_iter",
                                              "tol", "scaling", "progress", "normalize", NULL};

/* Weights opts[key] for n points: pushed as a vector (uniform when absent). */
static bmat *optweights(lua_State *L, int opts, const char *key, size_t n, double *sum) {
  if (lua_istable(L, opts))
    lua_getfield(L, opts, key);
  else
    lua_pushnil(L);
  int idx = lua_gettop(L);
  bmat *w = bind_testmat(L, idx);
  size_t len = 0;
  if (w && (w->m.rows == 1 || w->m.cols == 1)) len = w->m.rows * w->m.cols;
  if (!w && lua_istable(L, idx)) len = (size_t)lua_rawlen(L, idx);
  if (len && len != n)
    bind_argerror(L, opts, "opts", "option '%s' has %zu weights but there are %zu points", key,
                  len, n);
  return bind_checkweights(L, idx, key, n, sum);
}

/* Squares of coordinates above sqrt(DBL_MAX / 4d) overflow the costs. */
static void checkmagnitude(lua_State *L, int arg, const char *name, const bmat *X) {
  double bound = sqrt(DBL_MAX / (4.0 * (double)X->m.cols));
  for (size_t i = 0; i < X->m.rows; i++)
    for (size_t k = 0; k < X->m.cols; k++)
      if (fabs(OT_AT(X->m, i, k)) > bound)
        bind_argerror(L, arg, name, "%s[%zu,%zu] = %g: squared distances overflow above %.3g; "
                      "rescale the points", name, i + 1, k + 1, OT_AT(X->m, i, k), bound);
}

static int sinkhorn_divergence(lua_State *L) {
  const char *fname = "ot.sinkhorn_divergence";
  lua_settop(L, 3);
  bmat *X = bind_checkpoints(L, 1, "X");
  bmat *Y = bind_checkpoints(L, 2, "Y");
  bind_checksamedim(L, 2, "Y", Y, "X", X);
  checkmagnitude(L, 1, "X", X);
  checkmagnitude(L, 2, "Y", Y);
  bind_checkopts(L, 3, divergence_keys);
  size_t n = X->m.rows, m = Y->m.rows;
  double reg = bind_optfield_number(L, 3, "reg", 0.01);
  if (isnan(reg) || !(reg > 0) || isinf(reg))
    bind_argerror(L, 3, "opts", "option 'reg' must be finite and > 0, got %g", reg);
  double sa, sb;
  bmat *a = optweights(L, 3, "a", n, &sa);
  int ia = lua_gettop(L);
  bmat *b = optweights(L, 3, "b", m, &sb);
  int ib = lua_gettop(L);
  if (!bind_optfield_boolean(L, 3, "normalize", 0) && fabs(sa - sb) > 1e-9 * fmax(sa, sb))
    bind_argerror(L, 3, "opts", "weights a sum to %.17g but b to %.17g; the divergence needs "
                  "equal masses (pass normalize = true to rescale both to 1)", sa, sb);
  a = normalized(L, ia, a, sa);
  b = normalized(L, ib, b, sb);
  ot_divergence_opts o;
  ot_divergence_opts_init(&o);
  o.tol = 1e-6;
  const char *metric = bind_optfield_string(L, 3, "metric", "sqeuclidean");
  if (strcmp(metric, "sqeuclidean") == 0)
    o.metric = OT_DIV_SQEUCLIDEAN;
  else if (strcmp(metric, "euclidean") == 0)
    o.metric = OT_DIV_EUCLIDEAN;
  else
    bind_argerror(L, 3, "opts", "unknown metric '%s'; known: sqeuclidean, euclidean", metric);
  double dn = (double)n, dm = (double)m, dd = (double)X->m.cols;
  double dense_bytes = 8.0 * (2.0 * dn * dm + dn * dn + dm * dm + 11.0 * (dn + dm));
  int auto_online = dn * dm > ONLINE_PAIRS ||
                    !(dense_bytes < 9e18 && ot_mem_check((size_t)dense_bytes) == OT_OK);
  o.online = bind_optfield_boolean(L, 3, "online", auto_online);
  checkbudget(L, fname, o.online ? 8.0 * (11.0 + dd) * (dn + dm) : dense_bytes,
              o.online ? "the online divergence" : "the dense divergence (4 cost matrices)");
  lua_Integer mi = bind_optfield_integer(L, 3, "max_iter", o.max_iter);
  if (mi < 0 || mi > 2000000000)
    bind_argerror(L, 3, "opts", "option 'max_iter' must be in 0..2e9, got %lld", (long long)mi);
  o.max_iter = (long)mi;
  o.tol = bind_optfield_number(L, 3, "tol", o.tol);
  if (!(o.tol >= 0) || isinf(o.tol))
    bind_argerror(L, 3, "opts", "option 'tol' must be finite and >= 0, got %g", o.tol);
  o.scaling = bind_optfield_number(L, 3, "scaling", o.scaling);
  if (!(o.scaling >= 0 && o.scaling < 1))
    bind_argerror(L, 3, "opts", "option 'scaling' must be in [0, 1), got %g", o.scaling);
  int cb = optprogress(L, 3);
  bind_progress_ud ud = {L, cb, 0.0, 0};
  o.progress = bind_progress;
  o.progress_ud = &ud;
  ot_divergence_info info;
  double s, t0 = ot_clock();
  int rc = ot_sinkhorn_divergence(&s, X->m, Y->m, a->m.data, b->m.data, reg, &o, &info);
  double elapsed = ot_clock() - t0;
  finish_status(L, rc, &ud, fname, info.iterations);
  lua_pushnumber(L, s);
  lua_createtable(L, 0, 14);
  setnum(L, "value", s);
  setnum(L, "ot_ab", info.ot_ab);
  setnum(L, "ot_aa", info.ot_aa);
  setnum(L, "ot_bb", info.ot_bb);
  lua_pushboolean(L, info.status == OT_SINKHORN_CONVERGED);
  lua_setfield(L, -2, "converged");
  lua_pushstring(L, status_name(info.status));
  lua_setfield(L, -2, "status");
  lua_pushinteger(L, info.iterations);
  lua_setfield(L, -2, "iterations");
  lua_pushinteger(L, info.stages);
  lua_setfield(L, -2, "stages");
  setnum(L, "err", info.err);
  lua_pushboolean(L, o.online);
  lua_setfield(L, -2, "online");
  lua_pushstring(L, metric);
  lua_setfield(L, -2, "metric");
  setnum(L, "reg", reg);
  setnum(L, "time", elapsed);
  return 2;
}

static const luaL_Reg sinkhorn_funcs[] = {
  {"sinkhorn", sinkhorn_sinkhorn},
  {"sinkhorn2", sinkhorn_sinkhorn2},
  {"sinkhorn_divergence", sinkhorn_divergence},
  {NULL, NULL}
};

static const luaL_Reg unbalanced_funcs[] = {
  {"sinkhorn_unbalanced", sinkhorn_unbalanced},
  {"sinkhorn_unbalanced2", sinkhorn_unbalanced2},
  {NULL, NULL}
};

void bind_open_sinkhorn(lua_State *L) {
  luaL_setfuncs(L, sinkhorn_funcs, 0);
  if (lua_getfield(L, -1, "unbalanced") != LUA_TTABLE) { /* the sub-table is ours to create */
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "unbalanced");
  }
  luaL_setfuncs(L, unbalanced_funcs, 0);
  lua_pop(L, 1);
}
