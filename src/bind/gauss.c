/*
 * gauss.c (bindings) -- ot.gaussian: Bures-Wasserstein distance and Monge
 * map between Gaussians, and their empirical versions from samples.
 *
 * Names follow POT's ot.gaussian (added in POT 0.9; 0.8.2 has the map as
 * ot.da.OT_mapping_linear).  Argument order follows otlab's spec,
 * (m1, C1, m2, C2): each Gaussian's mean next to its covariance.  POT 0.9
 * orders them (ms, mt, Cs, Ct); the help page says so.
 * share/help/gauss.txt is the user manual.
 */
#include <math.h>
#include <string.h>

#include "bind.h"
#include "cost.h"
#include "ot/gauss.h"

/* A mean at arg: a vector (or 1 x d / d x 1 matrix, or table), or a plain
 * number for d = 1.  Finite entries.  Replaces the value at arg. */
static bmat *check_mean(lua_State *L, int arg, const char *name) {
  bmat *v;
  if (lua_type(L, arg) == LUA_TNUMBER) {
    double x = lua_tonumber(L, arg);
    v = bind_newvec(L, 1, NULL);
    v->m.data[0] = x;
    lua_replace(L, arg);
  } else {
    v = bind_checkvector(L, arg, name);
  }
  for (size_t i = 0; i < v->m.rows; i++)
    if (!isfinite(v->m.data[i]))
      bind_argerror(L, arg, name, "%s[%zu] = %g is not finite", name, i + 1, fabs(v->m.data[i]));
  if (v->m.rows == 0) bind_argerror(L, arg, name, "empty mean (dimension 0)");
  return v;
}

/* A covariance at arg: d x d (a plain number when d = 1), finite and
 * symmetric to 1e-9 relative to its largest entry. */
static bmat *check_cov(lua_State *L, int arg, const char *name, size_t d) {
  bmat *C;
  if (lua_type(L, arg) == LUA_TNUMBER) {
    double x = lua_tonumber(L, arg);
    C = bind_newmat(L, 1, 1, NULL);
    C->m.data[0] = x;
    lua_replace(L, arg);
  } else {
    C = bind_tomat(L, arg, name);
  }
  if (C->m.rows != d || C->m.cols != d)
    bind_argerror(L, arg, name, "must be %zux%zu to match the mean, got %zux%zu", d, d,
                  C->m.rows, C->m.cols);
  size_t bi, bj;
  if (!ot_mat_all_finite(C->m, &bi, &bj))
    bind_argerror(L, arg, name, "%s[%zu,%zu] = %g is not finite", name, bi + 1, bj + 1,
                  fabs(OT_AT(C->m, bi, bj)));
  double big = 0.0;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) big = fmax(big, fabs(OT_AT(C->m, i, j)));
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < i; j++)
      if (fabs(OT_AT(C->m, i, j) - OT_AT(C->m, j, i)) > 1e-9 * big)
        bind_argerror(L, arg, name, "not symmetric: %s[%zu,%zu] = %.17g but %s[%zu,%zu] = %.17g",
                      name, i + 1, j + 1, OT_AT(C->m, i, j), name, j + 1, i + 1,
                      OT_AT(C->m, j, i));
  return C;
}

/* Overflow of finite inputs, in words. */
static void check_overflow(lua_State *L, int rc, const char *fname) {
  if (rc == OT_ENUMERIC)
    luaL_error(L, "%s: the computation overflowed (values too large); rescale the inputs", fname);
}

/* Raise the error of a core status; not-PSD names the covariance. */
static void gauss_status(lua_State *L, int rc, const ot_gauss_info *info, int arg1, int arg2,
                         const char *n1, const char *n2, double tol, const char *fname) {
  check_overflow(L, rc, fname);
  if (rc == OT_EINVAL && info->not_psd)
    bind_argerror(L, info->not_psd == 1 ? arg1 : arg2, info->not_psd == 1 ? n1 : n2,
                  "not positive semi-definite: eigenvalue %g below the tolerance -%g * max|eigenvalue|",
                  info->min_eig, tol);
  bind_check_status(L, rc, fname);
}

/* Read m1, C1, m2, C2 at 1..4 (same dimension). */
static void check_gaussians(lua_State *L, bmat **m1, bmat **C1, bmat **m2, bmat **C2) {
  lua_settop(L, 4);
  *m1 = check_mean(L, 1, "m1");
  *C1 = check_cov(L, 2, "C1", (*m1)->m.rows);
  *m2 = check_mean(L, 3, "m2");
  if ((*m2)->m.rows != (*m1)->m.rows)
    bind_argerror(L, 3, "m2", "has dimension %zu but m1 has dimension %zu", (*m2)->m.rows,
                  (*m1)->m.rows);
  *C2 = check_cov(L, 4, "C2", (*m2)->m.rows);
}

/* ot.gaussian.bures_wasserstein_distance(m1, C1, m2, C2) -> W, info */
static int gauss_bures_distance(lua_State *L) {
  bmat *m1, *C1, *m2, *C2;
  check_gaussians(L, &m1, &C1, &m2, &C2);
  ot_gauss_opts o;
  ot_gauss_opts_init(&o);
  ot_gauss_info info;
  double w2 = 0.0;
  int rc = ot_gauss_bures(&w2, m1->m.data, C1->m, m2->m.data, C2->m, &o, &info);
  gauss_status(L, rc, &info, 2, 4, "C1", "C2", o.psd_tol, "ot.gaussian.bures_wasserstein_distance");
  lua_pushnumber(L, sqrt(w2));
  lua_createtable(L, 0, 2);
  lua_pushnumber(L, w2);
  lua_setfield(L, -2, "squared");
  lua_pushinteger(L, info.clamped);
  lua_setfield(L, -2, "clamped");
  return 2;
}

/* ot.gaussian.bures_wasserstein_mapping(m1, C1, m2, C2) -> A, b */
static int gauss_bures_mapping(lua_State *L) {
  bmat *m1, *C1, *m2, *C2;
  check_gaussians(L, &m1, &C1, &m2, &C2);
  size_t d = m1->m.rows;
  bmat *A = bind_newmat(L, d, d, "ot.gaussian.bures_wasserstein_mapping");
  bmat *b = bind_newvec(L, d, "ot.gaussian.bures_wasserstein_mapping");
  ot_gauss_opts o;
  ot_gauss_opts_init(&o);
  ot_gauss_info info;
  int rc = ot_gauss_map(A->m, b->m.data, m1->m.data, C1->m, m2->m.data, C2->m, &o, &info);
  gauss_status(L, rc, &info, 2, 4, "C1", "C2", o.psd_tol, "ot.gaussian.bures_wasserstein_mapping");
  return 2;
}

/*
 * Shared front of the empirical functions: samples at 1 and 2, options at
 * 3 (a table, or a number = reg as POT's third positional argument).
 * Pushes ms, Cs, mt, Ct (in this order) and returns the stack index of ms.
 */
static int empirical_moments(lua_State *L, const char *fname, double *psd_tol) {
  static const char *const keys[] = {"reg", "ws", "wt", "bias", "psd_tol", NULL};
  lua_settop(L, 3);
  bmat *Xs = bind_checkpoints(L, 1, "Xs");
  bmat *Xt = bind_checkpoints(L, 2, "Xt");
  bind_checksamedim(L, 2, "Xt", Xt, "Xs", Xs);
  double reg = 1e-6;
  int bias = 1;
  *psd_tol = 1e-10;
  lua_pushnil(L); /* 4: ws */
  lua_pushnil(L); /* 5: wt */
  if (lua_type(L, 3) == LUA_TNUMBER) {
    reg = lua_tonumber(L, 3);
  } else {
    bind_checkopts(L, 3, keys);
    reg = bind_optfield_number(L, 3, "reg", reg);
    bias = bind_optfield_boolean(L, 3, "bias", bias);
    *psd_tol = bind_optfield_number(L, 3, "psd_tol", *psd_tol);
    if (lua_istable(L, 3)) {
      lua_getfield(L, 3, "ws");
      lua_replace(L, 4);
      lua_getfield(L, 3, "wt");
      lua_replace(L, 5);
    }
  }
  if (!(reg >= 0.0) || isinf(reg))
    bind_argerror(L, 3, "reg", "must be finite and >= 0, got %g", reg);
  if (!(*psd_tol >= 0.0)) bind_argerror(L, 3, "opts", "psd_tol must be >= 0, got %g", *psd_tol);
  double sw;
  bmat *ws = bind_checkweights(L, 4, "ws", Xs->m.rows, &sw);
  bmat *wt = bind_checkweights(L, 5, "wt", Xt->m.rows, &sw);
  size_t d = Xs->m.cols;
  int base = lua_gettop(L) + 1;
  bmat *ms = bind_newvec(L, d, fname);
  bmat *Cs = bind_newmat(L, d, d, fname);
  bmat *mt = bind_newvec(L, d, fname);
  bmat *Ct = bind_newmat(L, d, d, fname);
  int rc = ot_gauss_empirical(ms->m.data, Cs->m, Xs->m, ws->m.data, reg, bias);
  if (rc == OT_OK) rc = ot_gauss_empirical(mt->m.data, Ct->m, Xt->m, wt->m.data, reg, bias);
  check_overflow(L, rc, fname);
  bind_check_status(L, rc, fname);
  return base;
}

/* Info table of the empirical functions: the moments used. */
static void push_moments_info(lua_State *L, int base, const ot_gauss_info *info) {
  lua_createtable(L, 0, 5);
  static const char *const names[] = {"ms", "Cs", "mt", "Ct"};
  for (int k = 0; k < 4; k++) {
    lua_pushvalue(L, base + k);
    lua_setfield(L, -2, names[k]);
  }
  lua_pushinteger(L, info->clamped);
  lua_setfield(L, -2, "clamped");
}

/* ot.gaussian.empirical_bures_wasserstein_distance(Xs, Xt [, opts]) -> W, info */
static int gauss_empirical_distance(lua_State *L) {
  static const char fname[] = "ot.gaussian.empirical_bures_wasserstein_distance";
  double tol;
  int base = empirical_moments(L, fname, &tol);
  bmat *ms = bind_testmat(L, base), *Cs = bind_testmat(L, base + 1);
  bmat *mt = bind_testmat(L, base + 2), *Ct = bind_testmat(L, base + 3);
  ot_gauss_opts o;
  ot_gauss_opts_init(&o);
  o.psd_tol = tol;
  ot_gauss_info info;
  double w2 = 0.0;
  int rc = ot_gauss_bures(&w2, ms->m.data, Cs->m, mt->m.data, Ct->m, &o, &info);
  check_overflow(L, rc, fname);
  bind_check_status(L, rc, fname); /* moments of real samples are PSD */
  lua_pushnumber(L, sqrt(w2));
  push_moments_info(L, base, &info);
  lua_pushnumber(L, w2);
  lua_setfield(L, -2, "squared");
  return 2;
}

/* ot.gaussian.empirical_bures_wasserstein_mapping(Xs, Xt [, opts]) -> A, b, info */
static int gauss_empirical_mapping(lua_State *L) {
  static const char fname[] = "ot.gaussian.empirical_bures_wasserstein_mapping";
  double tol;
  int base = empirical_moments(L, fname, &tol);
  bmat *ms = bind_testmat(L, base), *Cs = bind_testmat(L, base + 1);
  bmat *mt = bind_testmat(L, base + 2), *Ct = bind_testmat(L, base + 3);
  size_t d = ms->m.rows;
  bmat *A = bind_newmat(L, d, d, fname);
  bmat *b = bind_newvec(L, d, fname);
  ot_gauss_opts o;
  ot_gauss_opts_init(&o);
  o.psd_tol = tol;
  ot_gauss_info info;
  int rc = ot_gauss_map(A->m, b->m.data, ms->m.data, Cs->m, mt->m.data, Ct->m, &o, &info);
  check_overflow(L, rc, fname);
  bind_check_status(L, rc, fname);
  push_moments_info(L, base, &info);
  return 3;
}

static const luaL_Reg gauss_funcs[] = {
  {"bures_wasserstein_distance", gauss_bures_distance},
  {"bures_wasserstein_mapping", gauss_bures_mapping},
  {"empirical_bures_wasserstein_distance", gauss_empirical_distance},
  {"empirical_bures_wasserstein_mapping", gauss_empirical_mapping},
  {NULL, NULL}
};

/* Creates ot.gaussian in the table on top of the stack. */
void bind_open_gauss(lua_State *L) {
  luaL_newlib(L, gauss_funcs);
  lua_setfield(L, -2, "gaussian");
}
