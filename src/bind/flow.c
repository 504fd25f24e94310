/*
 * flow.c (bindings) -- ot.flow: particle gradient flows of datasets (specs/flows.md).
 * share/help/flow.txt is the user manual.
 *
 * ot.flow.new(source, opts) validates everything, builds the core flow
 * (src/ot/flow.h) and returns a userdata "ot.Flow" whose user value is a
 * table keeping what the flow needs from Lua: the user potential, the
 * progress callback, the snapshot list.  Lua is entered from inside a
 * step only through lua_pcall (user potential, progress callback), so no
 * error longjmps through core frames; the core keeps the state of the
 * last completed step when a step fails or is interrupted.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "ot/alloc.h"
#include "ot/flow.h"

#define FLOW_MT "ot.Flow"

typedef struct bflow {
  ot_flow *f;
  long max_steps;
  double tol, seconds;
  long every;          /* snapshot period, 0 = none */
  size_t nsnap;
} bflow;

/* User-value slots of the flow userdata (one table). */
#define UV_POT "potential"
#define UV_PROG "progress"
#define UV_SNAP "snapshots"

/* ---- argument helpers ---------------------------------------------------- */

/* "<fname>: bad argument #arg 'name' (reason)" for the methods (not in the ot table). */
static int merr(lua_State *L, const char *fname, int arg, const char *name, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return luaL_error(L, "%s: bad argument #%d '%s' (%s)", fname, arg, name, buf);
}

/* A finite number field of table t (stack index) or def when absent. */
static double numfield(lua_State *L, int arg, int t, const char *key, const char *what,
                       double def) {
  double v = def;
  if (lua_getfield(L, t, key) != LUA_TNIL) {
    if (!lua_isnumber(L, -1))
      bind_argerror(L, arg, "opts", "%s.%s must be a number, got %s", what, key,
                    luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
    if (!isfinite(v)) bind_argerror(L, arg, "opts", "%s.%s must be finite, got %g", what, key, v);
  }
  lua_pop(L, 1);
  return v;
}

/* Unknown keys of the table at t are errors. */
static void checkkeys(lua_State *L, int arg, int t, const char *what, const char *const keys[]) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int ok = 0;
    if (lua_type(L, -2) == LUA_TSTRING)
      for (size_t k = 0; keys[k]; k++)
        if (strcmp(lua_tostring(L, -2), keys[k]) == 0) ok = 1;
    if (!ok) {
      const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
      bind_argerror(L, arg, "opts", "unknown option '%s' in %s", name, what);
    }
    lua_pop(L, 1);
  }
}

/*
 * Dataset-like value at idx: a table with X (matrix) and y, or a matrix.
 * Pushes X (a matrix) and y (a vector, or nil) and returns their stack
 * positions; checks shape, finiteness and integer labels.
 */
static bmat *getdata(lua_State *L, int idx, int arg, const char *name, bmat **yv, int *xpos) {
  idx = lua_absindex(L, idx);
  bmat *X = NULL;
  *yv = NULL;
  if (bind_testmat(L, idx)) {
    lua_pushvalue(L, idx);
    lua_pushnil(L);
  } else if (lua_istable(L, idx)) {
    lua_getfield(L, idx, "X");
    if (!bind_testmat(L, -1))
      bind_argerror(L, arg, name, "dataset or matrix expected (field X is %s)",
                    luaL_typename(L, -1));
    lua_getfield(L, idx, "y");
  } else {
    bind_argerror(L, arg, name, "dataset or matrix expected, got %s", luaL_typename(L, idx));
    return NULL;
  }
  *xpos = lua_gettop(L) - 1;
  X = bind_testmat(L, *xpos);
  size_t n = X->m.rows, d = X->m.cols;
  if (n == 0 || d == 0) bind_argerror(L, arg, name, "empty dataset: X is %dx%d", (int)n, (int)d);
  size_t bi, bj;
  if (!ot_mat_all_finite(X->m, &bi, &bj))
    bind_argerror(L, arg, name, "X[%zu][%zu] = %g is not finite", bi + 1, bj + 1,
                  OT_AT(X->m, bi, bj));
  if (!lua_isnil(L, -1)) {
    int ypos = lua_gettop(L);
    if (!bind_testmat(L, ypos) && !lua_istable(L, ypos))
      bind_argerror(L, arg, name, "labels y must be a vector, got %s", luaL_typename(L, ypos));
    bmat *y = bind_checkvector(L, ypos, name);
    if (y->m.rows != n)
      bind_argerror(L, arg, name, "%d labels for %d points", (int)y->m.rows, (int)n);
    for (size_t i = 0; i < n; i++) {
      double v = y->m.data[i];
      if (!isfinite(v) || v != floor(v))
        bind_argerror(L, arg, name, "label y[%zu] = %g is not an integer", i + 1, v);
    }
    *yv = y;
  }
  return X;
}

/* ---- the user potential -------------------------------------------------- */

typedef struct user_ud {
  lua_State *L;
  int fn;        /* stack index of the Lua function */
  int failed;    /* 1: its error message is on the stack */
} user_ud;

/* Protected part of a user potential call: args fn, X lightuserdata... */
static int user_call(lua_State *L) {
  ot_mat *X = lua_touserdata(L, 1);
  const double *lab = lua_touserdata(L, 2);
  double *vals = lua_touserdata(L, 3);
  ot_mat *G = lua_touserdata(L, 4);
  size_t n = X->rows, d = X->cols;
  lua_pushvalue(L, 5);
  bmat *Xm = bind_newmat(L, n, d, "ot.flow");
  ot_mat_copy(Xm->m, *X);
  bmat *y = bind_newvec(L, n, "ot.flow");
  memcpy(y->m.data, lab, n * sizeof *lab);
  lua_call(L, 2, 2);
  if (lua_isnumber(L, -2)) {
    double v = lua_tonumber(L, -2);
    for (size_t i = 0; i < n; i++) vals[i] = v;
  } else {
    bmat *v = bind_testmat(L, -2);
    if (!v || v->m.rows * v->m.cols != n)
      return luaL_error(L, "ot.flow: the potential function must return values (a number or "
                           "%d values) and an %dx%d gradient", (int)n, (int)n, (int)d);
    for (size_t i = 0; i < n; i++)
      vals[i] = v->m.cols == 1 ? OT_AT(v->m, i, 0) : OT_AT(v->m, 0, i);
  }
  bmat *g = bind_testmat(L, -1);
  if (!g || g->m.rows != n || g->m.cols != d)
    return luaL_error(L, "ot.flow: the potential function must return an %dx%d gradient as its "
                         "second result", (int)n, (int)d);
  ot_mat_copy(*G, g->m);
  return 0;
}

static int user_potential(void *ud, ot_mat X, const double *labels, double *values, ot_mat G) {
  user_ud *u = ud;
  lua_State *L = u->L;
  lua_pushcfunction(L, user_call);
  lua_pushlightuserdata(L, &X);
  lua_pushlightuserdata(L, (void *)labels);
  lua_pushlightuserdata(L, values);
  lua_pushlightuserdata(L, &G);
  lua_pushvalue(L, u->fn);
  if (lua_pcall(L, 5, 0, 0) != LUA_OK) {
    u->failed = 1;
    return 1;
  }
  return 0;
}

/* ---- construction ----------------------------------------------------------- */

static const char *const new_keys[] = {
    "target", "objective", "labels", "step", "optimizer", "clip", "box", "steps", "tol",
    "seconds", "seed", "snapshots", "solver", "eps", "debiased", "lambda_x", "lambda_y",
    "online", "max_iter", "sinkhorn_tol", "momentum", "betas", "scaling", "title", "progress",
    NULL};

/* The potential option (table or function) at stack index t into o. */
static void read_potential(lua_State *L, int arg, int t, ot_flow_opts *o, size_t d, int fnslot) {
  if (lua_isfunction(L, t)) {
    lua_pushvalue(L, t);
    lua_replace(L, fnslot);
    o->w_user = 1;
    return;
  }
  if (!lua_istable(L, t))
    bind_argerror(L, arg, "opts", "objective.potential must be a table or a function, got %s",
                  luaL_typename(L, t));
  static const char *const pk[] = {"quadratic", "margin", "collapse", "box", "fn", "weight", NULL};
  checkkeys(L, arg, t, "objective.potential", pk);
  if (lua_getfield(L, t, "fn") != LUA_TNIL) {
    if (!lua_isfunction(L, -1))
      bind_argerror(L, arg, "opts", "objective.potential.fn must be a function");
    lua_replace(L, fnslot);
    o->w_user = numfield(L, arg, t, "weight", "objective.potential", 1.0);
  } else {
    lua_pop(L, 1);
  }
  if (lua_getfield(L, t, "quadratic") != LUA_TNIL) {
    int q = lua_gettop(L);
    o->w_quad = 1;
    if (lua_istable(L, q)) {
      static const char *const qk[] = {"A", "b", "weight", NULL};
      checkkeys(L, arg, q, "potential.quadratic", qk);
      o->w_quad = numfield(L, arg, q, "weight", "potential.quadratic", 1.0);
      if (lua_getfield(L, q, "A") != LUA_TNIL) {
        bmat *A = bind_tomat(L, lua_gettop(L), "opts");
        if (A->m.cols != d)
          bind_argerror(L, arg, "opts", "potential.quadratic.A must have %d columns, got %d",
                        (int)d, (int)A->m.cols);
        o->quad_A = A->m.data; /* contiguous: bind_tomat/new matrices are */
        if (A->m.ld != A->m.cols) bind_argerror(L, arg, "opts", "potential.quadratic.A: pass a contiguous matrix");
        o->quad_p = A->m.rows;
      }
      size_t p = o->quad_A ? o->quad_p : d;
      if (lua_getfield(L, q, "b") != LUA_TNIL) {
        bmat *b = bind_checkvector(L, lua_gettop(L), "opts");
        if (b->m.rows != p)
          bind_argerror(L, arg, "opts", "potential.quadratic.b must have %d values, got %d",
                        (int)p, (int)b->m.rows);
        o->quad_b = b->m.data;
      }
      /* the matrices stay on the stack until ot_flow_create copied them */
    } else if (!lua_isboolean(L, q) || !lua_toboolean(L, q)) {
      bind_argerror(L, arg, "opts", "potential.quadratic must be a table or true");
    }
  } else {
    lua_pop(L, 1);
  }
  if (lua_getfield(L, t, "margin") != LUA_TNIL) {
    int q = lua_gettop(L);
    if (!lua_istable(L, q)) bind_argerror(L, arg, "opts", "potential.margin must be a table");
    static const char *const mk[] = {"w", "b", "gap", "positive", "weight", NULL};
    checkkeys(L, arg, q, "potential.margin", mk);
    o->w_margin = numfield(L, arg, q, "weight", "potential.margin", 1.0);
    o->margin_b = numfield(L, arg, q, "b", "potential.margin", 0.0);
    o->margin_gap = numfield(L, arg, q, "gap", "potential.margin", 1.0);
    lua_getfield(L, q, "w");
    if (lua_isnil(L, -1)) bind_argerror(L, arg, "opts", "potential.margin.w (the normal, %d values) is required", (int)d);
    bmat *w = bind_checkvector(L, lua_gettop(L), "opts");
    if (w->m.rows != d)
      bind_argerror(L, arg, "opts", "potential.margin.w must have %d values, got %d", (int)d,
                    (int)w->m.rows);
    o->margin_w = w->m.data;
    lua_getfield(L, q, "positive");
    if (lua_isnil(L, -1))
      bind_argerror(L, arg, "opts", "potential.margin.positive (labels on the positive side) is required");
    bmat *pv = bind_checkvector(L, lua_gettop(L), "opts");
    o->margin_pos = pv->m.data;
    o->n_margin_pos = pv->m.rows;
  } else {
    lua_pop(L, 1);
  }
  if (lua_getfield(L, t, "collapse") != LUA_TNIL) {
    int q = lua_gettop(L);
    if (!lua_istable(L, q)) bind_argerror(L, arg, "opts", "potential.collapse must be a table");
    static const char *const ck[] = {"dims", "value", "weight", NULL};
    checkkeys(L, arg, q, "potential.collapse", ck);
    o->w_collapse = numfield(L, arg, q, "weight", "potential.collapse", 1.0);
    o->collapse_value = numfield(L, arg, q, "value", "potential.collapse", 0.0);
    lua_getfield(L, q, "dims");
    if (!lua_istable(L, -1))
      bind_argerror(L, arg, "opts", "potential.collapse.dims must be a table of coordinates (1..%d)", (int)d);
    size_t k = (size_t)lua_rawlen(L, -1);
    size_t *dims = lua_newuserdatauv(L, (k ? k : 1) * sizeof *dims, 0);
    for (size_t r = 0; r < k; r++) {
      lua_rawgeti(L, -2, (lua_Integer)r + 1);
      lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
      if (v < 1 || (size_t)v > d)
        bind_argerror(L, arg, "opts", "potential.collapse.dims[%d] must be an integer in 1..%d", (int)r + 1, (int)d);
      dims[r] = (size_t)v - 1;
      lua_pop(L, 1);
    }
    o->collapse_dims = dims;
    o->n_collapse = k;
  } else {
    lua_pop(L, 1);
  }
  if (lua_getfield(L, t, "box") != LUA_TNIL) {
    int q = lua_gettop(L);
    if (!lua_istable(L, q)) bind_argerror(L, arg, "opts", "potential.box must be a table");
    static const char *const bk[] = {"lo", "hi", "weight", NULL};
    checkkeys(L, arg, q, "potential.box", bk);
    o->w_box = numfield(L, arg, q, "weight", "potential.box", 1.0);
    o->box_lo = numfield(L, arg, q, "lo", "potential.box", 0.0);
    o->box_hi = numfield(L, arg, q, "hi", "potential.box", 1.0);
    if (o->box_lo > o->box_hi) bind_argerror(L, arg, "opts", "potential.box: lo > hi");
  } else {
    lua_pop(L, 1);
  }
}

static const char *status_text(int rc) { return ot_strerror(rc); }

/* Raise the error of a failed core call; u/pud may hold a Lua message. */
static void flow_fail(lua_State *L, int rc, user_ud *u, bind_progress_ud *pud, const char *fname,
                      long step) {
  if (u && u->failed) lua_error(L);
  if (pud && pud->lua_error) lua_error(L);
  if (step < 0 && rc == OT_ECANCELED)
    luaL_error(L, "%s: %s while evaluating the start", fname,
               bind_interrupted ? "interrupted" : "canceled by the progress callback");
  if (rc == OT_ECANCELED && bind_interrupted)
    luaL_error(L, "%s: interrupted at step %d (the flow keeps the state of step %d)", fname,
               (int)step + 1, (int)step);
  if (rc == OT_ECANCELED)
    luaL_error(L, "%s: canceled by the progress callback at step %d (state of step %d kept)",
               fname, (int)step + 1, (int)step);
  if (rc == OT_ENUMERIC)
    luaL_error(L, "%s: numerical error at step %d (NaN or Inf; state of step %d kept): "
                  "try a smaller step or clip", fname, (int)step + 1, (int)step);
  luaL_error(L, "%s: %s", fname, status_text(rc));
}

static bflow *checkflow(lua_State *L, int idx, const char *fname) {
  bflow *b = luaL_testudata(L, idx, FLOW_MT);
  if (!b) luaL_error(L, "%s: bad argument #1 'self' (flow expected, got %s)", fname, luaL_typename(L, idx));
  if (!b->f) luaL_error(L, "%s: the flow was released", fname);
  return b;
}

/* Save a snapshot into the user-value list when the period asks for it. */
static void snapshot(lua_State *L, int self, bflow *b, int force) {
  long s = ot_flow_steps(b->f);
  if (!force && (b->every <= 0 || s % b->every != 0)) return;
  lua_getiuservalue(L, self, 1);
  lua_getfield(L, -1, UV_SNAP);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, s);
  lua_setfield(L, -2, "step");
  ot_mat X = ot_flow_X(b->f);
  bmat *m = bind_newmat(L, X.rows, X.cols, "ot.flow");
  ot_mat_copy(m->m, X);
  lua_setfield(L, -2, "X");
  bmat *y = bind_newvec(L, X.rows, "ot.flow");
  memcpy(y->m.data, ot_flow_labels(b->f), X.rows * sizeof(double));
  lua_setfield(L, -2, "y");
  lua_rawseti(L, -2, (lua_Integer)++b->nsnap);
  lua_pop(L, 2);
}

/*
 * Prepare the per-call callbacks: pushes the user potential and progress
 * functions (or nil) and points the core at u / pud.
 */
static void arm(lua_State *L, int self, bflow *b, user_ud *u, bind_progress_ud *pud) {
  lua_getiuservalue(L, self, 1);
  lua_getfield(L, -1, UV_POT);
  lua_getfield(L, -2, UV_PROG);
  int top = lua_gettop(L);
  u->L = L;
  u->fn = top - 1;
  u->failed = 0;
  pud->L = L;
  pud->callback = lua_isfunction(L, top) ? top : 0;
  pud->last_call = 0;
  pud->lua_error = 0;
  ot_flow_set_user_ud(b->f, u);
  ot_flow_set_progress(b->f, bind_progress, pud);
}

static int flow_new(lua_State *L) {
  const char *fname = "ot.flow.new";
  lua_settop(L, 2);
  int fnslot = 3, progslot = 4;
  lua_pushnil(L);
  lua_pushnil(L);
  bmat *ys, *yt = NULL;
  int xs_pos, xt_pos = 0;
  bmat *Xs = getdata(L, 1, 1, "source", &ys, &xs_pos);
  size_t d = Xs->m.cols;
  if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2))
    bind_argerror(L, 2, "opts", "table expected, got %s", luaL_typename(L, 2));
  if (lua_isnil(L, 2)) {
    lua_newtable(L);
    lua_replace(L, 2);
  }
  bind_checkopts(L, 2, new_keys);
  ot_flow_opts o;
  ot_flow_opts_init(&o);
  bmat *Xt = NULL;
  if (lua_getfield(L, 2, "target") != LUA_TNIL) {
    Xt = getdata(L, -1, 2, "opts", &yt, &xt_pos);
    if (Xt->m.cols != d)
      bind_argerror(L, 2, "opts", "target has %d features, the source %d", (int)Xt->m.cols,
                    (int)d);
  }
  /* objective */
  int has_obj = lua_getfield(L, 2, "objective") != LUA_TNIL;
  int ob = lua_gettop(L);
  if (has_obj) {
    if (!lua_istable(L, ob))
      bind_argerror(L, 2, "opts", "objective must be a table, got %s", luaL_typename(L, ob));
    static const char *const ok[] = {"otdd", "ot", "potential", "interaction", "noise", NULL};
    checkkeys(L, 2, ob, "objective", ok);
    o.w_otdd = numfield(L, 2, ob, "otdd", "objective", 0.0);
    o.w_ot = numfield(L, 2, ob, "ot", "objective", 0.0);
    o.noise = numfield(L, 2, ob, "noise", "objective", 0.0);
    if (o.noise < 0) bind_argerror(L, 2, "opts", "objective.noise must be >= 0, got %g", o.noise);
    if (lua_getfield(L, ob, "potential") != LUA_TNIL)
      read_potential(L, 2, lua_gettop(L), &o, d, fnslot);
    if (lua_getfield(L, ob, "interaction") != LUA_TNIL) {
      int q = lua_gettop(L);
      if (!lua_istable(L, q)) bind_argerror(L, 2, "opts", "objective.interaction must be a table");
      static const char *const ik[] = {"repulsion", "attraction", "width", NULL};
      checkkeys(L, 2, q, "objective.interaction", ik);
      o.repulsion = numfield(L, 2, q, "repulsion", "objective.interaction", 0.0);
      o.attraction = numfield(L, 2, q, "attraction", "objective.interaction", 0.0);
      o.width = numfield(L, 2, q, "width", "objective.interaction", 1.0);
      if (!(o.width > 0)) bind_argerror(L, 2, "opts", "objective.interaction.width must be > 0, got %g", o.width);
    }
  } else if (Xt) {
    o.w_otdd = 1.0;
  }
  if ((o.w_otdd != 0 || o.w_ot != 0) && !Xt)
    bind_argerror(L, 2, "opts", "the otdd and ot objectives need a target");
  if (o.w_otdd == 0 && o.w_ot == 0 && o.w_quad == 0 && o.w_margin == 0 && o.w_collapse == 0 &&
      o.w_box == 0 && o.w_user == 0 && o.repulsion == 0 && o.attraction == 0 && o.noise == 0)
    bind_argerror(L, 2, "opts", "the objective is empty (give a target or objective terms)");
  const char *lab = bind_optfield_string(L, 2, "labels", "fixed");
  if (strcmp(lab, "fixed") == 0) o.labels = OT_FLOW_FIXED;
  else if (strcmp(lab, "joint") == 0) o.labels = OT_FLOW_JOINT;
  else if (strcmp(lab, "tied") == 0) o.labels = OT_FLOW_TIED;
  else bind_argerror(L, 2, "opts", "labels must be \"fixed\", \"joint\" or \"tied\", got \"%s\"", lab);
  if (o.labels != OT_FLOW_FIXED && !Xt)
    bind_argerror(L, 2, "opts", "labels = \"%s\" needs a target", lab);
  const char *sv = bind_optfield_string(L, 2, "solver", "converged");
  if (strcmp(sv, "converged") == 0) o.solver = OT_FLOW_CONVERGED;
  else if (strcmp(sv, "compat") == 0) o.solver = OT_FLOW_COMPAT;
  else if (strcmp(sv, "exact") == 0) o.solver = OT_FLOW_EXACT;
  else bind_argerror(L, 2, "opts", "solver must be \"converged\", \"compat\" or \"exact\", got \"%s\"", sv);
  const char *op = bind_optfield_string(L, 2, "optimizer", "euler");
  if (strcmp(op, "euler") == 0) o.optimizer = OT_FLOW_EULER;
  else if (strcmp(op, "momentum") == 0) o.optimizer = OT_FLOW_MOMENTUM;
  else if (strcmp(op, "adam") == 0) o.optimizer = OT_FLOW_ADAM;
  else bind_argerror(L, 2, "opts", "optimizer must be \"euler\", \"momentum\" or \"adam\", got \"%s\"", op);
  o.step = bind_optfield_number(L, 2, "step", 0.1);
  if (!(o.step > 0) || !isfinite(o.step)) bind_argerror(L, 2, "opts", "step must be > 0, got %g", o.step);
  o.clip = bind_optfield_number(L, 2, "clip", 0.0);
  if (!(o.clip >= 0)) bind_argerror(L, 2, "opts", "clip must be >= 0, got %g", o.clip);
  o.eps = bind_optfield_number(L, 2, "eps", 0.1);
  if (!(o.eps > 0) || !isfinite(o.eps)) bind_argerror(L, 2, "opts", "eps must be > 0, got %g", o.eps);
  o.scaling = bind_optfield_number(L, 2, "scaling", 0.5);
  if (!(o.scaling > 0 && o.scaling < 1)) bind_argerror(L, 2, "opts", "scaling must be in (0, 1), got %g", o.scaling);
  o.debiased = bind_optfield_boolean(L, 2, "debiased", 1);
  o.lambda_x = bind_optfield_number(L, 2, "lambda_x", 1.0);
  o.lambda_y = bind_optfield_number(L, 2, "lambda_y", 1.0);
  if (!(o.lambda_x > 0) || !(o.lambda_y >= 0) || !isfinite(o.lambda_x) || !isfinite(o.lambda_y))
    bind_argerror(L, 2, "opts", "lambda_x must be > 0 and lambda_y >= 0");
  o.max_iter = (long)bind_optfield_integer(L, 2, "max_iter", 1000);
  if (o.max_iter < 0) bind_argerror(L, 2, "opts", "max_iter must be >= 0");
  o.sinkhorn_tol = bind_optfield_number(L, 2, "sinkhorn_tol", 1e-3);
  if (!(o.sinkhorn_tol >= 0)) bind_argerror(L, 2, "opts", "sinkhorn_tol must be >= 0");
  o.momentum = bind_optfield_number(L, 2, "momentum", 0.9);
  if (!(o.momentum >= 0 && o.momentum < 1)) bind_argerror(L, 2, "opts", "momentum must be in [0, 1)");
  if (lua_getfield(L, 2, "betas") != LUA_TNIL) {
    if (!lua_istable(L, -1)) bind_argerror(L, 2, "opts", "betas must be {beta1, beta2}");
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    o.beta1 = luaL_optnumber(L, -2, 0.9);
    o.beta2 = luaL_optnumber(L, -1, 0.999);
    if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1))
      bind_argerror(L, 2, "opts", "betas must lie in [0, 1)");
  }
  if (lua_getfield(L, 2, "online") != LUA_TNIL) {
    if (!lua_isboolean(L, -1)) bind_argerror(L, 2, "opts", "online must be a boolean");
    o.online = lua_toboolean(L, -1);
  }
  if (lua_getfield(L, 2, "box") != LUA_TNIL) {
    if (!lua_istable(L, -1)) bind_argerror(L, 2, "opts", "box must be {lo, hi}");
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1))
      bind_argerror(L, 2, "opts", "box must be {lo, hi} (two numbers)");
    o.project = 1;
    o.proj_lo = lua_tonumber(L, -2);
    o.proj_hi = lua_tonumber(L, -1);
    if (!(o.proj_lo <= o.proj_hi)) bind_argerror(L, 2, "opts", "box: lo must be <= hi");
  }
  lua_Integer seed = bind_optfield_integer(L, 2, "seed", -1);
  o.seed = seed >= 0 ? (uint64_t)seed : ot_rng_u64(bind_rng());
  bflow tmp = {0};
  tmp.max_steps = (long)bind_optfield_integer(L, 2, "steps", 100);
  if (tmp.max_steps < 0) bind_argerror(L, 2, "opts", "steps must be >= 0");
  tmp.tol = bind_optfield_number(L, 2, "tol", 0.0);
  if (!(tmp.tol >= 0)) bind_argerror(L, 2, "opts", "tol must be >= 0");
  tmp.seconds = bind_optfield_number(L, 2, "seconds", INFINITY);
  if (!(tmp.seconds > 0)) bind_argerror(L, 2, "opts", "seconds must be > 0");
  if (lua_getfield(L, 2, "snapshots") != LUA_TNIL) {
    if (!lua_istable(L, -1)) bind_argerror(L, 2, "opts", "snapshots must be {every = k}");
    static const char *const sk[] = {"every", NULL};
    checkkeys(L, 2, lua_gettop(L), "snapshots", sk);
    tmp.every = (long)numfield(L, 2, lua_gettop(L), "every", "snapshots", 1);
    if (tmp.every < 1) bind_argerror(L, 2, "opts", "snapshots.every must be >= 1");
  }
  if (lua_getfield(L, 2, "progress") != LUA_TNIL) {
    if (!lua_isfunction(L, -1)) bind_argerror(L, 2, "opts", "progress must be a function");
    lua_replace(L, progslot);
  }
  const char *title = bind_optfield_string(L, 2, "title", NULL);
  /* the userdata and its user-value table first, so nothing leaks */
  bflow *b = lua_newuserdatauv(L, sizeof *b, 1);
  int self = lua_gettop(L);
  *b = tmp;
  luaL_setmetatable(L, FLOW_MT);
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, fnslot);
  lua_setfield(L, -2, UV_POT);
  lua_pushvalue(L, progslot);
  lua_setfield(L, -2, UV_PROG);
  lua_newtable(L);
  lua_setfield(L, -2, UV_SNAP);
  lua_setiuservalue(L, self, 1);
  if (!lua_isnil(L, fnslot)) o.user = user_potential;
  o.title = title;
  user_ud u;
  bind_progress_ud pud;
  lua_pushvalue(L, fnslot);
  u.L = L;
  u.fn = lua_gettop(L);
  u.failed = 0;
  lua_pushvalue(L, progslot);
  pud.L = L;
  pud.callback = lua_isfunction(L, -1) ? lua_gettop(L) : 0;
  pud.last_call = 0;
  pud.lua_error = 0;
  o.user_ud = &u;
  o.progress = bind_progress;
  o.progress_ud = &pud;
  ot_mat Y = Xt ? Xt->m : ot_mat_view(NULL, 0, 0);
  int rc = ot_flow_create(&b->f, Xs->m, ys ? ys->m.data : NULL, Y, yt ? yt->m.data : NULL, &o);
  if (rc == OT_EINVAL && (o.w_otdd != 0 || o.labels != OT_FLOW_FIXED))
    luaL_error(L, "%s: every class of the source and the target needs at least 2 points "
                  "(class covariances)", fname);
  if (rc) flow_fail(L, rc, &u, &pud, fname, -1);
  lua_pushvalue(L, self);
  snapshot(L, lua_gettop(L), b, b->every > 0);
  return 1;
}

/* ---- methods ---------------------------------------------------------------- */

static int flow_gc(lua_State *L) {
  bflow *b = luaL_checkudata(L, 1, FLOW_MT);
  ot_flow_destroy(b->f);
  b->f = NULL;
  return 0;
}

/* flow:step([k]) -> F after the k-th step */
static int flow_step(lua_State *L) {
  const char *fname = "flow:step";
  bflow *b = checkflow(L, 1, fname);
  lua_settop(L, 2);
  lua_Integer k = 1;
  if (!lua_isnil(L, 2)) {
    int isint = 0;
    k = lua_tointegerx(L, 2, &isint); /* 3.0 counts as 3 */
    if (!isint || lua_type(L, 2) != LUA_TNUMBER)
      merr(L, fname, 2, "k", "integer expected, got %s", luaL_typename(L, 2));
  }
  if (k < 1) merr(L, fname, 2, "k", "must be >= 1, got %lld", (long long)k);
  user_ud u;
  bind_progress_ud pud;
  arm(L, 1, b, &u, &pud);
  for (lua_Integer i = 0; i < k; i++) {
    int rc = ot_flow_step(b->f);
    if (rc) flow_fail(L, rc, &u, &pud, fname, ot_flow_steps(b->f));
    snapshot(L, 1, b, 0);
  }
  size_t nh;
  const ot_flow_record *h = ot_flow_history(b->f, &nh);
  lua_pushnumber(L, h[nh - 1].F);
  return 1;
}

static int flow_state(lua_State *L);

/* flow:run([opts]) -> state, info */
static int flow_run(lua_State *L) {
  const char *fname = "flow:run";
  bflow *b = checkflow(L, 1, fname);
  lua_settop(L, 2);
  long steps = b->max_steps;
  double tol = b->tol, secs = b->seconds;
  if (!lua_isnil(L, 2)) {
    if (!lua_istable(L, 2)) merr(L, fname, 2, "opts", "table expected, got %s", luaL_typename(L, 2));
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
      double v = lua_tonumber(L, -1);
      if (!lua_isnumber(L, -1) || isnan(v))
        merr(L, fname, 2, "opts", "option '%s' must be a number", k);
      if (strcmp(k, "steps") == 0 && v >= 0 && v == floor(v)) steps = (long)v;
      else if (strcmp(k, "tol") == 0 && v >= 0) tol = v;
      else if (strcmp(k, "seconds") == 0 && v > 0) secs = v;
      else if (strcmp(k, "steps") && strcmp(k, "tol") && strcmp(k, "seconds"))
        merr(L, fname, 2, "opts", "unknown option '%s'; known: steps, tol, seconds", k);
      else
        merr(L, fname, 2, "opts", "option '%s' out of range (%g)", k, v);
      lua_pop(L, 1);
    }
  }
  user_ud u;
  bind_progress_ud pud;
  arm(L, 1, b, &u, &pud);
  double t0 = ot_clock();
  const char *status = "steps";
  long done = 0;
  for (; done < steps; done++) {
    if (ot_clock() - t0 >= secs) {
      status = "seconds";
      break;
    }
    int rc = ot_flow_step(b->f);
    if (rc) flow_fail(L, rc, &u, &pud, fname, ot_flow_steps(b->f));
    snapshot(L, 1, b, 0);
    size_t nh;
    const ot_flow_record *h = ot_flow_history(b->f, &nh);
    if (tol > 0 && fabs(h[nh - 1].F - h[nh - 1].F_before) < tol) {
      done++;
      status = "tol";
      break;
    }
  }
  lua_settop(L, 1);
  flow_state(L);
  size_t nh;
  const ot_flow_record *h = ot_flow_history(b->f, &nh);
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, done);
  lua_setfield(L, -2, "steps");
  lua_pushinteger(L, ot_flow_steps(b->f));
  lua_setfield(L, -2, "step");
  lua_pushnumber(L, h[nh - 1].F);
  lua_setfield(L, -2, "F");
  lua_pushstring(L, status);
  lua_setfield(L, -2, "status");
  lua_pushnumber(L, ot_clock() - t0);
  lua_setfield(L, -2, "time");
  return 2;
}

/* flow:state() -> dataset (an ot.data dataset when ot.data is loaded) */
static int flow_state(lua_State *L) {
  bflow *b = checkflow(L, 1, "flow:state");
  ot_mat X = ot_flow_X(b->f);
  int ds = 0;
  if (lua_getglobal(L, "ot") == LUA_TTABLE && lua_getfield(L, -1, "data") == LUA_TTABLE &&
      lua_getfield(L, -1, "dataset") == LUA_TFUNCTION)
    ds = 1;
  else
    lua_settop(L, 1);
  bmat *m = bind_newmat(L, X.rows, X.cols, "flow:state");
  ot_mat_copy(m->m, X);
  bmat *y = bind_newvec(L, X.rows, "flow:state");
  memcpy(y->m.data, ot_flow_labels(b->f), X.rows * sizeof(double));
  if (ds) {
    lua_pushfstring(L, "flow step %d", (int)ot_flow_steps(b->f));
    lua_call(L, 3, 1);
    lua_replace(L, 2);
    lua_settop(L, 2);
  } else {
    lua_createtable(L, 0, 2);
    lua_insert(L, -3);
    lua_setfield(L, -3, "y");
    lua_setfield(L, -2, "X");
  }
  return 1;
}

/* flow:history() -> table of vectors, one entry per recorded state */
static int flow_history(lua_State *L) {
  bflow *b = checkflow(L, 1, "flow:history");
  size_t nh;
  const ot_flow_record *h = ot_flow_history(b->f, &nh);
  static const char *const names[] = {"step", "F", "F_before", "otdd", "ot", "potential",
                                      "interaction", "time", "displacement",
                                      "step_displacement", "grad_norm", "solver_iter"};
  lua_createtable(L, 0, 12);
  for (int k = 0; k < 12; k++) {
    bmat *v = bind_newvec(L, nh, "flow:history");
    for (size_t i = 0; i < nh; i++) {
      const ot_flow_record *r = h + i;
      double x;
      switch (k) {
      case 0: x = (double)r->step; break;
      case 1: x = r->F; break;
      case 2: x = r->F_before; break;
      case 3: case 4: case 5: case 6: x = r->parts[k - 3]; break;
      case 7: x = r->time; break;
      case 8: x = r->displacement; break;
      case 9: x = r->step_displacement; break;
      case 10: x = r->grad_norm; break;
      default: x = (double)r->solver_iter;
      }
      v->m.data[i] = x;
    }
    lua_setfield(L, -2, names[k]);
  }
  return 1;
}

/* flow:trajectory() -> list of snapshots {step, X, y}, plus .steps and .X (stacked) */
static int flow_trajectory(lua_State *L) {
  bflow *b = checkflow(L, 1, "flow:trajectory");
  lua_getiuservalue(L, 1, 1);
  lua_getfield(L, -1, UV_SNAP);
  int list = lua_gettop(L);
  size_t k = b->nsnap, n = ot_flow_n(b->f), d = ot_flow_d(b->f);
  lua_createtable(L, (int)k, 2);
  int out = lua_gettop(L);
  bmat *st = bind_newvec(L, k, "flow:trajectory");
  bmat *all = bind_newmat(L, k * n, d, "flow:trajectory");
  for (size_t s = 0; s < k; s++) {
    lua_rawgeti(L, list, (lua_Integer)s + 1);
    lua_getfield(L, -1, "step");
    st->m.data[s] = lua_tonumber(L, -1);
    lua_getfield(L, -2, "X");
    bmat *X = bind_testmat(L, -1);
    ot_mat_copy(ot_mat_block(all->m, s * n, 0, n, d), X->m);
    lua_pop(L, 2);
    lua_rawseti(L, out, (lua_Integer)s + 1);
  }
  lua_setfield(L, out, "X");
  lua_setfield(L, out, "steps");
  return 1;
}

static int flow_tostring(lua_State *L) {
  bflow *b = luaL_checkudata(L, 1, FLOW_MT);
  if (!b->f) {
    lua_pushstring(L, "Flow (released)");
    return 1;
  }
  size_t nh;
  const ot_flow_record *h = ot_flow_history(b->f, &nh);
  lua_pushfstring(L, "Flow: %d particles in d = %d, step %d, F = %f", (int)ot_flow_n(b->f),
                  (int)ot_flow_d(b->f), (int)ot_flow_steps(b->f), h[nh - 1].F);
  return 1;
}

static const luaL_Reg flow_methods[] = {{"step", flow_step},
                                        {"run", flow_run},
                                        {"state", flow_state},
                                        {"history", flow_history},
                                        {"trajectory", flow_trajectory},
                                        {NULL, NULL}};

/* Adds ot.flow to the table on top of the stack. */
void bind_open_flow(lua_State *L) {
  if (luaL_newmetatable(L, FLOW_MT)) {
    luaL_newlib(L, flow_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, flow_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, flow_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, flow_new);
  lua_setfield(L, -2, "new");
  lua_setfield(L, -2, "flow");
}
