/*
 * otdd.c (bindings) -- ot.otdd: the optimal transport dataset distance
 * (specs/otdd.md).  share/help/otdd.txt is the user manual.
 *
 *   ot.otdd.distance(D1, D2 [, opts])        -> value, info
 *   ot.otdd.label_distances(D1, D2 [, opts]) -> W (C1 x C2), info
 *   ot.otdd.pairwise({D1, D2, ...} [, opts]) -> K x K matrix, info
 *
 * A dataset is an ot.data Dataset or any table {X = matrix or rows, y =
 * labels}; label_names (a table label -> name), when present, names the
 * classes.  Class statistics live in "ot.otdd.stats" userdata whose __gc
 * frees the core arrays, so an error raised after they are computed
 * leaks nothing.  Every argument is validated before any work.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "mpi.h"
#include "ot/alloc.h"
#include "ot/otdd.h"
#include "ot/view.h"

#define STATS_MT "ot.otdd.stats"
#define NAME_LEN 40

/* ---- helpers ------------------------------------------------------------- */

static void setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void setint(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

static int stats_gc(lua_State *L) {
  ot_otdd_stats *s = luaL_checkudata(L, 1, STATS_MT);
  ot_otdd_stats_free(s);
  return 0;
}

/* Push a new empty stats userdata (freed by __gc). */
static ot_otdd_stats *newstats(lua_State *L) {
  ot_otdd_stats *s = lua_newuserdatauv(L, sizeof *s, 1);
  memset(s, 0, sizeof *s);
  if (luaL_newmetatable(L, STATS_MT)) {
    lua_pushcfunction(L, stats_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return s;
}

/* A dataset read from the argument: features, labels, name. */
typedef struct dset {
  ot_mat X;
  double *y;     /* n labels (in a vector userdata kept on the stack) */
  int arg;       /* argument number (for messages) */
  const char *argname;
  int names;     /* stack index of the label_names table, or 0 */
  char name[64];
} dset;

/*
 * Read the dataset at stack index idx (argument number arg, named argname):
 * a table with X (matrix, or table of rows) and y (vector, 1-row/column
 * matrix, or table of numbers).  Pushes the X matrix and a labels vector
 * (2 stack slots) and fills *ds.  Validates: shapes, finite features,
 * integer labels.
 */
static void read_dataset(lua_State *L, int idx, int arg, const char *argname, dset *ds) {
  memset(ds, 0, sizeof *ds);
  ds->arg = arg;
  ds->argname = argname;
  if (!lua_istable(L, idx))
    bind_argerror(L, arg, argname, "dataset expected (a Dataset or a table {X = , y = }), got %s",
                  luaL_typename(L, idx));
  lua_getfield(L, idx, "X");
  bmat *X = bind_testmat(L, -1);
  if (!X) {
    if (lua_istable(L, -1)) {
      lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
      lua_getfield(L, -1, "ot");
      lua_getfield(L, -1, "mat");
      lua_pushvalue(L, -4);
      if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        bind_argerror(L, arg, argname, "X: %s", lua_tostring(L, -1));
      lua_replace(L, -4);
      lua_pop(L, 2);
      X = bind_testmat(L, -1);
    }
    if (!X)
      bind_argerror(L, arg, argname, "field X must be a matrix (n x d), got %s",
                    luaL_typename(L, -1));
  }
  size_t n = X->m.rows, d = X->m.cols;
  if (X->vec) d = 1;
  if (n == 0 || d == 0) bind_argerror(L, arg, argname, "empty dataset: X is %zux%zu", n, d);
  size_t bi, bj;
  if (!ot_mat_all_finite(X->m, &bi, &bj)) {
    double bad = OT_AT(X->m, bi, bj);
    bind_argerror(L, arg, argname, "X[%zu][%zu] = %s is not finite", bi + 1, bj + 1,
                  isnan(bad) ? "nan" : bad > 0 ? "inf" : "-inf");
  }
  ds->X = X->m;
  /* labels */
  lua_getfield(L, idx, "y");
  int yi = lua_gettop(L);
  bmat *ym = bind_testmat(L, yi);
  size_t len = 0;
  if (ym) {
    if (ym->m.rows != 1 && ym->m.cols != 1)
      bind_argerror(L, arg, argname, "labels y must be a vector, got a %zux%zu matrix",
                    ym->m.rows, ym->m.cols);
    len = ym->m.rows * ym->m.cols;
  } else if (lua_istable(L, yi)) {
    len = (size_t)lua_rawlen(L, yi);
  } else {
    bind_argerror(L, arg, argname, "field y (labels) must be a vector or a table, got %s",
                  luaL_typename(L, yi));
  }
  if (len != n)
    bind_argerror(L, arg, argname, "%zu labels for %zu rows of X", len, n);
  bmat *yv = bind_newvec(L, n, "ot.otdd");
  for (size_t i = 0; i < n; i++) {
    double v;
    if (ym) {
      v = ym->m.rows == 1 ? OT_AT(ym->m, 0, i) : OT_AT(ym->m, i, 0);
    } else {
      lua_rawgeti(L, yi, (lua_Integer)i + 1);
      int isnum;
      v = lua_tonumberx(L, -1, &isnum);
      if (!isnum)
        bind_argerror(L, arg, argname, "y[%zu] is a %s, not a number", i + 1,
                      luaL_typename(L, -1));
      lua_pop(L, 1);
    }
    if (isnan(v)) bind_argerror(L, arg, argname, "y[%zu] = nan is not an integer label", i + 1);
    if (!isfinite(v) || v != floor(v) || fabs(v) > 9007199254740992.0)
      bind_argerror(L, arg, argname, "y[%zu] = %g is not an integer label", i + 1, v);
    yv->m.data[i] = v;
  }
  lua_replace(L, yi); /* the vector replaces y */
  ds->y = yv->m.data;
  /* optional names */
  lua_getfield(L, idx, "label_names");
  if (lua_istable(L, -1)) {
    ds->names = lua_gettop(L);
  } else {
    lua_pop(L, 1);
    lua_pushnil(L);
    ds->names = 0;
  }
  lua_getfield(L, idx, "name");
  snprintf(ds->name, sizeof ds->name, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : argname);
  lua_pop(L, 1);
}

/* The display name of label v of a dataset (label_names[v] or the number). */
static void class_name(lua_State *L, const dset *ds, double v, char *out, size_t len) {
  if (ds->names) {
    lua_rawgeti(L, ds->names, (lua_Integer)v);
    if (lua_isstring(L, -1)) {
      snprintf(out, len, "%s", lua_tostring(L, -1));
      lua_pop(L, 1);
      return;
    }
    lua_pop(L, 1);
  }
  snprintf(out, len, "%.0f", v);
}

/* Options shared by the functions. */
typedef struct common {
  ot_otdd_stats_opts so;
  ot_otdd_label_opts lo;
  int small_error;
  bind_dist *dist;  /* label pairs over MPI ranks (NULL: all here) */
} common;

static const char *const inner_names[] = {"gaussian", "exact", "upper", "means", NULL};
static const char *const outer_names[] = {"sinkhorn", "compat", "exact", NULL};

static int optchoice(lua_State *L, int opts, const char *key, const char *const *names, int def) {
  const char *s = bind_optfield_string(L, opts, key, NULL);
  if (!s) return def;
  for (int k = 0; names[k]; k++)
    if (strcmp(s, names[k]) == 0) return k;
  char list[128] = "";
  for (int k = 0; names[k]; k++) {
    strcat(list, k ? ", " : "");
    strcat(list, names[k]);
  }
  bind_argerror(L, opts, "opts", "option '%s' must be one of %s, got '%s'", key, list, s);
  return def;
}

static void read_common(lua_State *L, int opts, common *c) {
  c->dist = NULL;
  ot_otdd_stats_opts_init(&c->so);
  ot_otdd_label_opts_init(&c->lo);
  c->lo.inner = optchoice(L, opts, "inner", inner_names, OT_OTDD_INNER_GAUSSIAN);
  c->so.diagonal = bind_optfield_boolean(L, opts, "diagonal_cov", 0);
  c->so.ridge = bind_optfield_number(L, opts, "ridge", 0.0);
  if (!(c->so.ridge >= 0.0) || isinf(c->so.ridge))
    bind_argerror(L, opts, "opts", "option 'ridge' must be finite and >= 0, got %g", c->so.ridge);
  lua_Integer mcs = bind_optfield_integer(L, opts, "min_class_size", 2);
  if (mcs < 2 || mcs > 1000000000)
    bind_argerror(L, opts, "opts", "option 'min_class_size' must be >= 2, got %lld",
                  (long long)mcs);
  c->so.min_class_size = (size_t)mcs;
  static const char *const small[] = {"drop", "error", NULL};
  c->small_error = optchoice(L, opts, "small_classes", small, 0);
  c->so.drop_small = 1; /* the binding raises the error itself, with the label */
  c->so.moments = c->lo.inner == OT_OTDD_INNER_EXACT ? 0
                  : c->lo.inner == OT_OTDD_INNER_MEANS ? 1 : 2;
  c->lo.exact_reg = bind_optfield_number(L, opts, "inner_reg", 0.0);
  if (!(c->lo.exact_reg >= 0.0) || isinf(c->lo.exact_reg))
    bind_argerror(L, opts, "opts", "option 'inner_reg' must be finite and >= 0, got %g",
                  c->lo.exact_reg);
  lua_Integer ims = bind_optfield_integer(L, opts, "inner_maxsamples", 0);
  if (ims < 0) bind_argerror(L, opts, "opts", "option 'inner_maxsamples' must be >= 0");
  c->lo.exact_maxsamples = (size_t)ims;
}

/*
 * Class statistics of a dataset into a new stats userdata (pushed).
 * Raises for a too-small class when small_classes = "error", and when no
 * class is left.
 */
static ot_otdd_stats *compute_stats(lua_State *L, const dset *ds, const common *c,
                                    const char *fname) {
  ot_otdd_stats *s = newstats(L);
  int rc = ot_otdd_stats_compute(s, ds->X, ds->y, &c->so);
  if (rc == OT_EINVAL) {
    /* find why: no class left, or a non-PSD covariance (not for sample covariances) */
    bind_argerror(L, ds->arg, ds->argname,
                  "no class has at least %d samples (min_class_size)", (int)c->so.min_class_size);
  }
  bind_check_status(L, rc, fname);
  if (s->ndropped && c->small_error) {
    char nm[NAME_LEN];
    class_name(L, ds, s->dropped_labels[0], nm, sizeof nm);
    bind_argerror(L, ds->arg, ds->argname,
                  "class %s has %d sample%s, fewer than min_class_size = %d "
                  "(small_classes = \"drop\" drops it)",
                  nm, (int)s->dropped_counts[0], s->dropped_counts[0] == 1 ? "" : "s",
                  (int)c->so.min_class_size);
  }
  return s;
}

/* Push the labels of s as a vector and the class names as a table. */
static void push_classes(lua_State *L, const ot_otdd_stats *s, const dset *ds) {
  bmat *v = bind_newvec(L, s->nclass, "ot.otdd");
  for (size_t k = 0; k < s->nclass; k++) v->m.data[k] = s->labels[k];
  lua_createtable(L, (int)s->nclass, 0);
  for (size_t k = 0; k < s->nclass; k++) {
    char nm[NAME_LEN];
    class_name(L, ds, s->labels[k], nm, sizeof nm);
    lua_pushstring(L, nm);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
}

/* Append notices of dropped classes of s to the table at t (a list of strings). */
static void push_dropped(lua_State *L, int t, const ot_otdd_stats *s, const dset *ds) {
  for (size_t k = 0; k < s->ndropped; k++) {
    char nm[NAME_LEN];
    class_name(L, ds, s->dropped_labels[k], nm, sizeof nm);
    lua_pushfstring(L, "%s: class %s dropped (%d sample%s < min_class_size)", ds->argname, nm,
                    (int)s->dropped_counts[k], s->dropped_counts[k] == 1 ? "" : "s");
    lua_rawseti(L, t, (lua_Integer)lua_rawlen(L, t) + 1);
  }
}

/* Push the class statistics of s as a table {labels, counts, means, covs = {...}}. */
static void push_stats(lua_State *L, const ot_otdd_stats *s) {
  size_t C = s->nclass, d = s->d;
  lua_createtable(L, 0, 6);
  bmat *v = bind_newvec(L, C, "ot.otdd");
  for (size_t k = 0; k < C; k++) v->m.data[k] = s->labels[k];
  lua_setfield(L, -2, "labels");
  v = bind_newvec(L, C, "ot.otdd");
  for (size_t k = 0; k < C; k++) v->m.data[k] = (double)s->counts[k];
  lua_setfield(L, -2, "counts");
  if (s->means) {
    bmat *M = bind_newmat(L, C, d, "ot.otdd");
    memcpy(M->m.data, s->means, C * d * sizeof(double));
    lua_setfield(L, -2, "means");
  }
  if (s->covs) {
    lua_createtable(L, (int)C, 0);
    for (size_t k = 0; k < C; k++) {
      if (s->diagonal) {
        bmat *S = bind_newvec(L, d, "ot.otdd");
        memcpy(S->m.data, s->covs + k * d, d * sizeof(double));
      } else {
        bmat *S = bind_newmat(L, d, d, "ot.otdd");
        memcpy(S->m.data, s->covs + k * d * d, d * d * sizeof(double));
      }
      lua_rawseti(L, -2, (lua_Integer)k + 1);
    }
    lua_setfield(L, -2, s->diagonal ? "variances" : "covs");
  }
  setint(L, "clamped", s->clamped);
  setnum(L, "ridge", s->ridge);
}

/* Raise for a core failure after a cancel or error (memory already freed by the core). */
static void finish(lua_State *L, int rc, bind_progress_ud *ud, const char *fname,
                   const char *phase) {
  if (rc == OT_OK) return;
  if (rc == OT_ECANCELED) {
    if (ud->lua_error) lua_error(L);
    if (bind_interrupted) luaL_error(L, "%s: interrupted (%s)", fname, phase);
    luaL_error(L, "%s: canceled by the progress callback (%s)", fname, phase);
  }
  bind_check_status(L, rc, fname);
}

/*
 * W = the label distances between A and B (progress through ud), with the
 * class pairs spread over the MPI ranks when c->dist says so (every rank
 * gets all of W, the same numbers as one process).  Raises on failure.
 */
static void label_call(lua_State *L, common *c, ot_mat W, const ot_otdd_stats *A,
                       const ot_otdd_stats *B, bind_progress_ud *ud, const char *fname) {
  c->lo.progress = bind_progress;
  c->lo.progress_ud = ud;
  c->lo.distribute = NULL;
  c->lo.distribute_ud = NULL;
  if (c->dist && bind_dist_mode(c->dist) == BIND_DIST_MPI) {
    c->lo.distribute = bind_dist_jobs;
    c->lo.distribute_ud = c->dist;
    bind_dist_progress(c->dist, &c->lo.progress, &c->lo.progress_ud);
  }
  int rc = ot_otdd_label_distances(W, A, B, &c->lo);
  if (rc && c->dist) bind_dist_check(L, c->dist);
  finish(L, rc, ud, fname, "label distances");
}

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

/* Names for the panel view: a userdata of C1 + C2 names and two pointer arrays. */
typedef struct names_block {
  const char *rows[64], *cols[64];
  char text[128][NAME_LEN];
} names_block;

static names_block *view_names(lua_State *L, const ot_otdd_stats *A, const dset *da,
                               const ot_otdd_stats *B, const dset *db) {
  names_block *nb = lua_newuserdatauv(L, sizeof *nb, 0);
  memset(nb, 0, sizeof *nb);
  size_t C1 = A->nclass < 64 ? A->nclass : 64, C2 = B->nclass < 64 ? B->nclass : 64;
  for (size_t k = 0; k < C1; k++) {
    class_name(L, da, A->labels[k], nb->text[k], NAME_LEN);
    nb->rows[k] = nb->text[k];
  }
  for (size_t k = 0; k < C2; k++) {
    class_name(L, db, B->labels[k], nb->text[64 + k], NAME_LEN);
    nb->cols[k] = nb->text[64 + k];
  }
  return nb;
}

/* ---- ot.otdd.label_distances ---------------------------------------------- */

static const char *const label_keys[] = {"inner", "diagonal_cov", "ridge", "min_class_size",
                                         "small_classes", "inner_reg", "inner_maxsamples",
                                         "progress", NULL};

static int otdd_label_distances(lua_State *L) {
  const char *fname = "ot.otdd.label_distances";
  lua_settop(L, 3);
  bind_checkopts(L, 3, label_keys);
  common c;
  read_common(L, 3, &c);
  int cb = optprogress(L, 3);
  dset d1, d2;
  read_dataset(L, 1, 1, "D1", &d1);
  read_dataset(L, 2, 2, "D2", &d2);
  if (d1.X.cols != d2.X.cols)
    bind_argerror(L, 2, "D2", "dimension %zu does not match D1's %zu", d2.X.cols, d1.X.cols);
  double t0 = ot_clock();
  ot_otdd_stats *A = compute_stats(L, &d1, &c, fname);
  /* the same dataset twice: one statistics object, so W is exactly symmetric */
  ot_otdd_stats *B = lua_rawequal(L, 1, 2) ? A : compute_stats(L, &d2, &c, fname);
  double t1 = ot_clock();
  int wi = lua_gettop(L) + 1;
  bmat *W = bind_newmat(L, A->nclass, B->nclass, fname);
  bind_progress_ud ud = {L, cb, 0.0, 0};
  names_block *nb = view_names(L, A, &d1, B, &d2);
  ot_view view;
  memset(&view, 0, sizeof view);
  view.kind = OT_VIEW_MATRIX;
  view.mat = W->m;
  view.row_names = nb->rows;
  view.col_names = nb->cols;
  view.title = "OTDD label distances";
  c.lo.state = &view;
  c.dist = bind_dist_new(L, fname, "otdd", 0);
  label_call(L, &c, W->m, A, B, &ud, fname);
  double t2 = ot_clock();
  lua_pushvalue(L, wi);
  lua_createtable(L, 0, 10);
  push_classes(L, A, &d1);
  lua_setfield(L, -3, "class_names1");
  lua_setfield(L, -2, "labels1");
  push_classes(L, B, &d2);
  lua_setfield(L, -3, "class_names2");
  lua_setfield(L, -2, "labels2");
  lua_newtable(L);
  push_dropped(L, lua_gettop(L), A, &d1);
  push_dropped(L, lua_gettop(L), B, &d2);
  lua_setfield(L, -2, "dropped");
  lua_pushstring(L, inner_names[c.lo.inner]);
  lua_setfield(L, -2, "inner");
  setnum(L, "time_stats", t1 - t0);
  setnum(L, "time_labels", t2 - t1);
  setnum(L, "time", t2 - t0);
  return 2;
}

/* ---- ot.otdd.distance ------------------------------------------------------- */

static const char *const distance_keys[] = {
    "inner", "outer", "debiased", "entreg", "lambda_x", "lambda_y", "diagonal_cov", "ridge",
    "maxsamples", "seed", "coupling", "min_class_size", "small_classes", "stats", "tol",
    "max_iter", "online", "scaling", "inner_reg", "inner_maxsamples", "progress", "precision",
    "cache", NULL};

typedef struct outer_cfg {
  ot_otdd_outer_opts oo;
  size_t maxsamples;
  uint64_t seed;
  int coupling, want_stats;
} outer_cfg;

static void read_outer(lua_State *L, int opts, outer_cfg *c) {
  ot_otdd_outer_opts_init(&c->oo);
  c->oo.mode = optchoice(L, opts, "outer", outer_names, OT_OTDD_OUTER_SINKHORN);
  static const char *const precisions[] = {"double", "single", NULL};
  c->oo.single = optchoice(L, opts, "precision", precisions, 0);
  c->oo.debiased = bind_optfield_boolean(L, opts, "debiased", 1);
  c->oo.entreg = bind_optfield_number(L, opts, "entreg", 0.1);
  if (!(c->oo.entreg > 0.0) || isinf(c->oo.entreg))
    bind_argerror(L, opts, "opts", "option 'entreg' must be finite and > 0, got %g", c->oo.entreg);
  c->oo.lambda_x = bind_optfield_number(L, opts, "lambda_x", 1.0);
  c->oo.lambda_y = bind_optfield_number(L, opts, "lambda_y", 1.0);
  if (!(c->oo.lambda_x >= 0.0) || isinf(c->oo.lambda_x))
    bind_argerror(L, opts, "opts", "option 'lambda_x' must be finite and >= 0, got %g",
                  c->oo.lambda_x);
  if (!(c->oo.lambda_y >= 0.0) || isinf(c->oo.lambda_y))
    bind_argerror(L, opts, "opts", "option 'lambda_y' must be finite and >= 0, got %g",
                  c->oo.lambda_y);
  c->oo.tol = bind_optfield_number(L, opts, "tol", c->oo.tol);
  if (!(c->oo.tol >= 0.0))
    bind_argerror(L, opts, "opts", "option 'tol' must be >= 0, got %g", c->oo.tol);
  lua_Integer mi = bind_optfield_integer(L, opts, "max_iter", c->oo.max_iter);
  if (mi < 0 || mi > 100000000)
    bind_argerror(L, opts, "opts", "option 'max_iter' must be in 0..1e8, got %lld", (long long)mi);
  c->oo.max_iter = (long)mi;
  c->oo.scaling = bind_optfield_number(L, opts, "scaling", 0.5);
  if (!(c->oo.scaling > 0.0 && c->oo.scaling < 1.0))
    bind_argerror(L, opts, "opts", "option 'scaling' must be in (0, 1), got %g", c->oo.scaling);
  if (lua_istable(L, opts)) {
    lua_getfield(L, opts, "online");
    if (lua_isboolean(L, -1))
      c->oo.online = lua_toboolean(L, -1);
    else if (!lua_isnil(L, -1))
      bind_argerror(L, opts, "opts", "option 'online' must be a boolean, got %s",
                    luaL_typename(L, -1));
    lua_pop(L, 1);
    lua_getfield(L, opts, "cache");
    int isint = 0;
    lua_Integer cv = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &isint) : 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *txt = lua_tostring(L, -1);
      if (ot_mem_parse(txt, &c->oo.cache) != OT_OK)
        bind_argerror(L, opts, "opts", "option 'cache' must be bytes or a size like \"512M\" "
                      "or \"2G\", got \"%s\"", txt);
    } else if (isint && cv >= 0) { /* integral floats too: 2^30 is a float in Lua */
      c->oo.cache = (size_t)cv;
    } else if (!lua_isnil(L, -1)) {
      bind_argerror(L, opts, "opts", "option 'cache' must be bytes (an integer >= 0) or a size "
                    "like \"2G\", got %s", luaL_tolstring(L, -1, NULL));
    }
    lua_pop(L, 1);
  }
  lua_Integer ms = bind_optfield_integer(L, opts, "maxsamples", 0);
  if (ms < 0) bind_argerror(L, opts, "opts", "option 'maxsamples' must be >= 0, got %lld",
                            (long long)ms);
  c->maxsamples = (size_t)ms;
  lua_Integer sd = bind_optfield_integer(L, opts, "seed", -1);
  c->seed = sd >= 0 ? (uint64_t)sd : ot_rng_u64(bind_rng());
  c->coupling = bind_optfield_boolean(L, opts, "coupling", 0);
  c->want_stats = bind_optfield_boolean(L, opts, "stats", 0);
}

/*
 * The rows of s that take part in the outer problem: the kept rows, or a
 * uniform subsample of maxsamples of them (order kept).  Pushes the feature
 * matrix and an index userdata (ints); returns the count.
 */
static size_t outer_rows(lua_State *L, const ot_otdd_stats *s, size_t maxsamples, ot_rng *r,
                         ot_mat *Xo, int **co, size_t **rowsel, const char *fname) {
  size_t n = s->n_kept, d = s->d;
  size_t take = maxsamples && maxsamples < n ? maxsamples : n;
  size_t *sel = lua_newuserdatauv(L, (n + n + 1) * sizeof(size_t), 0);
  size_t *kept = sel + n;
  for (size_t i = 0, k = 0; i < s->n; i++)
    if (s->index[i] >= 0) kept[k++] = i;
  if (take < n) {
    size_t *pick = lua_newuserdatauv(L, (take + n + 1) * sizeof(size_t), 0);
    ot_rng_sample(r, pick, take, n, pick + take);
    /* keep file order */
    char *mark = lua_newuserdatauv(L, n + 1, 0);
    memset(mark, 0, n);
    for (size_t k = 0; k < take; k++) mark[pick[k]] = 1;
    for (size_t i = 0, k = 0; i < n; i++)
      if (mark[i]) sel[k++] = kept[i];
    lua_pop(L, 2);
  } else {
    memcpy(sel, kept, n * sizeof(size_t));
  }
  if (take == s->n) {
    /* every row takes part: the dataset's own features and class index, no copy */
    lua_pushnil(L);
    lua_pushnil(L);
    *Xo = s->X;
    *co = s->index;
    *rowsel = sel;
    return take;
  }
  bmat *M = bind_newmat(L, take, d, fname);
  int *c = lua_newuserdatauv(L, take * sizeof(int) + 1, 0);
  for (size_t k = 0; k < take; k++) {
    memcpy(M->m.data + k * d, s->X.data + sel[k] * s->X.ld, d * sizeof(double));
    c[k] = s->index[sel[k]];
  }
  *Xo = M->m;
  *co = c;
  *rowsel = sel;
  return take;
}

/*
 * One OTDD between datasets whose statistics are computed (A, B with their
 * dset), leaving on the stack whatever it allocates; fills *value and, when
 * info_idx != 0, the info table at that index.
 */
static void run_distance(lua_State *L, const char *fname, const ot_otdd_stats *A, const dset *da,
                         const ot_otdd_stats *B, const dset *db, common *c, outer_cfg *oc,
                         int cb, double *value, int info, double t_stats, const bmat *W11in,
                         const bmat *W22in) {
  size_t C1 = A->nclass, C2 = B->nclass;
  const int debiased = oc->oo.debiased && oc->oo.mode != OT_OTDD_OUTER_EXACT;
  bind_progress_ud ud = {L, cb, 0.0, 0};
  double t0 = ot_clock();
  int w12i = lua_gettop(L) + 1;
  bmat *W12 = bind_newmat(L, C1, C2, fname);
  bmat *W11 = NULL, *W22 = NULL;
  names_block *nb = view_names(L, A, da, B, db);
  ot_view view;
  memset(&view, 0, sizeof view);
  view.kind = OT_VIEW_MATRIX;
  view.mat = W12->m;
  view.row_names = nb->rows;
  view.col_names = nb->cols;
  view.title = "OTDD label distances";
  c->lo.state = &view;
  if (oc->oo.lambda_y != 0.0) label_call(L, c, W12->m, A, B, &ud, fname);
  int w11i = 0, w22i = 0;
  if (debiased) {
    if (W11in) {
      W11 = (bmat *)W11in;
    } else {
      W11 = bind_newmat(L, C1, C1, fname);
      w11i = lua_gettop(L);
      if (oc->oo.lambda_y != 0.0) label_call(L, c, W11->m, A, A, &ud, fname);
    }
    if (W22in) {
      W22 = (bmat *)W22in;
    } else {
      W22 = bind_newmat(L, C2, C2, fname);
      w22i = lua_gettop(L);
      if (oc->oo.lambda_y != 0.0) label_call(L, c, W22->m, B, B, &ud, fname);
    }
  }
  double t1 = ot_clock();
  /* the rows of the outer problem */
  ot_rng r;
  ot_rng_seed(&r, oc->seed);
  ot_mat X1, X2;
  int *c1, *c2;
  size_t *sel1, *sel2;
  size_t n = outer_rows(L, A, oc->maxsamples, &r, &X1, &c1, &sel1, fname);
  size_t m = outer_rows(L, B, oc->maxsamples, &r, &X2, &c2, &sel2, fname);
  int pi = 0;
  bmat *P = NULL;
  if (oc->coupling) {
    P = bind_newmat(L, n, m, fname);
    pi = lua_gettop(L);
  }
  int fi = lua_gettop(L) + 1;
  bmat *f = bind_newvec(L, n, fname);
  bmat *g = bind_newvec(L, m, fname);
  ot_otdd_outputs out;
  memset(&out, 0, sizeof out);
  out.f_ba = f->m.data;
  out.g_ab = g->m.data;
  if (P) out.P = P->m;
  ot_otdd_problem pr = {X1, c1, NULL, X2, c2, NULL, W12->m,
                        W11 ? W11->m : (ot_mat){0, 0, 0, NULL},
                        W22 ? W22->m : (ot_mat){0, 0, 0, NULL}};
  ot_otdd_outer_opts oo = oc->oo;
  oo.progress = bind_progress;
  oo.progress_ud = &ud;
  oo.state = &view;
  ot_otdd_outer_result res;
  int rc = ot_otdd_outer(&pr, &oo, &out, &res);
  finish(L, rc, &ud, fname, "outer problem");
  double t2 = ot_clock();
  *value = res.value;
  if (!info) return;
  lua_pushvalue(L, w12i);
  lua_setfield(L, info, "label_distances");
  if (debiased) {
    /* the full block over the union of both label sets */
    bmat *F = bind_newmat(L, C1 + C2, C1 + C2, fname);
    for (size_t i = 0; i < C1; i++)
      for (size_t j = 0; j < C1; j++) OT_AT(F->m, i, j) = OT_AT(W11->m, i, j);
    for (size_t i = 0; i < C2; i++)
      for (size_t j = 0; j < C2; j++) OT_AT(F->m, C1 + i, C1 + j) = OT_AT(W22->m, i, j);
    for (size_t i = 0; i < C1; i++)
      for (size_t j = 0; j < C2; j++)
        OT_AT(F->m, i, C1 + j) = OT_AT(F->m, C1 + j, i) = OT_AT(W12->m, i, j);
    lua_setfield(L, info, "label_distances_full");
  }
  (void)w11i;
  (void)w22i;
  push_classes(L, A, da);
  lua_setfield(L, info, "class_names1");
  lua_setfield(L, info, "labels1");
  push_classes(L, B, db);
  lua_setfield(L, info, "class_names2");
  lua_setfield(L, info, "labels2");
  lua_newtable(L);
  push_dropped(L, lua_gettop(L), A, da);
  push_dropped(L, lua_gettop(L), B, db);
  lua_setfield(L, info, "dropped");
  lua_pushvalue(L, info);
  setnum(L, "distance", res.value);
  lua_pushboolean(L, res.status == OT_OTDD_CONVERGED);
  lua_setfield(L, -2, "converged");
  lua_pushstring(L, res.status == OT_OTDD_CONVERGED ? (oc->oo.mode == OT_OTDD_OUTER_COMPAT
                                                          ? "schedule_completed"
                                                          : "converged")
                    : res.status == OT_OTDD_MAX_ITER ? "max_iter_reached"
                                                     : "numerical error");
  lua_setfield(L, -2, "status");
  setint(L, "iterations", res.iterations);
  setint(L, "stages", res.stages);
  setint(L, "stage_iterations", res.stage_iterations);
  setnum(L, "err", res.err);
  setnum(L, "eps0", res.eps0);
  setnum(L, "diameter", res.diameter);
  lua_pushboolean(L, res.online);
  lua_setfield(L, -2, "online");
  if (res.online) {
    setint(L, "cache_bytes", (lua_Integer)res.cache_bytes);
    setnum(L, "cached", res.cached);
  }
  lua_pushstring(L, res.single ? "single" : "double");
  lua_setfield(L, -2, "precision");
  lua_pushstring(L, outer_names[oc->oo.mode]);
  lua_setfield(L, -2, "outer");
  lua_pushstring(L, inner_names[c->lo.inner]);
  lua_setfield(L, -2, "inner");
  lua_pushboolean(L, debiased);
  lua_setfield(L, -2, "debiased");
  setnum(L, "entreg", oc->oo.entreg);
  setnum(L, "lambda_x", oc->oo.lambda_x);
  setnum(L, "lambda_y", oc->oo.lambda_y);
  setnum(L, "ot_ab", res.ot_ab);
  if (debiased) {
    setnum(L, "ot_aa", res.ot_aa);
    setnum(L, "ot_bb", res.ot_bb);
  }
  setint(L, "n1", (lua_Integer)n);
  setint(L, "n2", (lua_Integer)m);
  setnum(L, "time_stats", t_stats);
  setnum(L, "time_labels", t1 - t0);
  setnum(L, "time_outer", t2 - t1);
  setnum(L, "time", t_stats + (t2 - t0));
  if (oc->oo.mode != OT_OTDD_OUTER_EXACT || 1) {
    lua_pushvalue(L, fi);
    lua_setfield(L, -2, "f");
    lua_pushvalue(L, fi + 1);
    lua_setfield(L, -2, "g");
  }
  if (P) {
    lua_pushvalue(L, pi);
    lua_setfield(L, -2, "coupling");
  }
  if (n < A->n_kept || m < B->n_kept) {
    /* the rows used (1-based, into the original X) */
    bmat *r1 = bind_newvec(L, n, fname);
    for (size_t k = 0; k < n; k++) r1->m.data[k] = (double)sel1[k] + 1;
    lua_setfield(L, -2, "rows1");
    bmat *r2 = bind_newvec(L, m, fname);
    for (size_t k = 0; k < m; k++) r2->m.data[k] = (double)sel2[k] + 1;
    lua_setfield(L, -2, "rows2");
  }
  setint(L, "clamped", A->clamped + B->clamped);
  lua_pop(L, 1);
}

static int otdd_distance(lua_State *L) {
  const char *fname = "ot.otdd.distance";
  lua_settop(L, 3);
  bind_checkopts(L, 3, distance_keys);
  common c;
  read_common(L, 3, &c);
  outer_cfg oc;
  read_outer(L, 3, &oc);
  int cb = optprogress(L, 3);
  dset d1, d2;
  read_dataset(L, 1, 1, "D1", &d1);
  read_dataset(L, 2, 2, "D2", &d2);
  if (d1.X.cols != d2.X.cols)
    bind_argerror(L, 2, "D2", "dimension %zu does not match D1's %zu", d2.X.cols, d1.X.cols);
  if (oc.coupling) {
    /* refuse early what cannot fit (the coupling is n x m doubles) */
    size_t bytes;
    size_t n = oc.maxsamples && oc.maxsamples < d1.X.rows ? oc.maxsamples : d1.X.rows;
    size_t m = oc.maxsamples && oc.maxsamples < d2.X.rows ? oc.maxsamples : d2.X.rows;
    if (ot_mem_size(n, m, sizeof(double), &bytes) || ot_mem_check(bytes)) {
      char need[32], lim[32];
      ot_mem_format(bytes, need, sizeof need);
      ot_mem_format(ot_mem_limit(), lim, sizeof lim);
      char msg[256];
      snprintf(msg, sizeof msg, "%s: the %zux%zu coupling needs %s, over the memory budget "
               "(%s); call without coupling = true (the distance itself needs O(n + m) memory)",
               fname, n, m, need, lim);
      luaL_error(L, "%s", msg);
    }
  }
  c.dist = bind_dist_new(L, fname, "otdd", 0);
  double t0 = ot_clock();
  int si = lua_gettop(L) + 1;
  ot_otdd_stats *A = compute_stats(L, &d1, &c, fname);
  ot_otdd_stats *B = lua_rawequal(L, 1, 2) ? A : compute_stats(L, &d2, &c, fname);
  double ts = ot_clock() - t0;
  lua_createtable(L, 0, 40);
  int info = lua_gettop(L);
  double value;
  run_distance(L, fname, A, &d1, B, &d2, &c, &oc, cb, &value, info, ts, NULL, NULL);
  if (oc.want_stats) {
    push_stats(L, A);
    lua_setfield(L, info, "stats1");
    push_stats(L, B);
    lua_setfield(L, info, "stats2");
  }
  (void)si;
  lua_pushnumber(L, value);
  lua_pushvalue(L, info);
  return 2;
}

/* ---- ot.otdd.pairwise ------------------------------------------------------ */

/* Everything a dataset pair of ot.otdd.pairwise needs (pairwise_run). */
typedef struct pairwise_ctx {
  lua_State *L;
  const char *fname;
  ot_otdd_stats **S;
  const dset *ds;
  common *c;
  outer_cfg *oc;
  int cb, debiased;
  bmat **Wself;
  size_t t;         /* the job being run by pair_call */
  const double *key;
  double value;
  int failed;       /* a pair failed here; its error value is in the registry */
} pairwise_ctx;

#define PAIR_ERROR "otlab.otdd.pair_error"

/* lua_pcall'd with a copy of the caller's stack as its arguments (the
 * datasets and the callback are known by their stack slots): the OTDD of
 * dataset pair t of the job list. */
static int pair_call(lua_State *L) {
  pairwise_ctx *pc = lua_touserdata(L, lua_upvalueindex(1));
  size_t i = (size_t)pc->key[2 * pc->t], j = (size_t)pc->key[2 * pc->t + 1];
  run_distance(L, pc->fname, pc->S[i], &pc->ds[i], pc->S[j], &pc->ds[j], pc->c, pc->oc, pc->cb,
               &pc->value, 0, 0.0, pc->debiased ? pc->Wself[i] : NULL,
               pc->debiased ? pc->Wself[j] : NULL);
  return 0;
}

/*
 * ot_jobs.run of the dataset pairs: pairs first, first + stride, ... one
 * after the other (each OTDD uses the threads itself), each in a protected
 * call so that a failure (an error, an interrupt) comes back as a status
 * every rank learns, its message kept for this rank to raise.
 */
static int pairwise_run(ot_jobs *jobs, size_t first, size_t stride) {
  pairwise_ctx *pc = jobs->run_ud;
  lua_State *L = pc->L;
  for (size_t t = first; t < jobs->count; t += stride) {
    pc->t = t;
    int top = lua_gettop(L);
    luaL_checkstack(L, top + 2, pc->fname);
    lua_pushlightuserdata(L, pc);
    lua_pushcclosure(L, pair_call, 1);
    for (int i = 1; i <= top; i++) lua_pushvalue(L, i);
    if (lua_pcall(L, top, 0, 0) != LUA_OK) {
      lua_setfield(L, LUA_REGISTRYINDEX, PAIR_ERROR);
      pc->failed = 1;
      return bind_interrupted ? OT_ECANCELED : OT_EINVAL;
    }
    jobs->out[t] = pc->value;
  }
  return OT_OK;
}

static int otdd_pairwise(lua_State *L) {
  const char *fname = "ot.otdd.pairwise";
  lua_settop(L, 2);
  if (!lua_istable(L, 1))
    bind_argerror(L, 1, "datasets", "a list of datasets expected, got %s", luaL_typename(L, 1));
  bind_checkopts(L, 2, distance_keys);
  common c;
  read_common(L, 2, &c);
  outer_cfg oc;
  read_outer(L, 2, &oc);
  if (oc.coupling) bind_argerror(L, 2, "opts", "option 'coupling' is not available here");
  int cb = optprogress(L, 2);
  size_t K = (size_t)lua_rawlen(L, 1);
  if (K < 1) bind_argerror(L, 1, "datasets", "empty list");
  if (K > 256) bind_argerror(L, 1, "datasets", "at most 256 datasets, got %zu", K);
  dset *ds = lua_newuserdatauv(L, K * sizeof(dset), 0);
  for (size_t k = 0; k < K; k++) {
    lua_rawgeti(L, 1, (lua_Integer)k + 1);
    int idx = lua_gettop(L);
    if (!lua_istable(L, idx))
      bind_argerror(L, 1, "datasets", "datasets[%zu] is a %s, not a dataset", k + 1,
                    luaL_typename(L, idx));
    read_dataset(L, idx, 1, "datasets", &ds[k]);
    if (ds[k].X.cols != ds[0].X.cols)
      bind_argerror(L, 1, "datasets", "datasets[%zu] has dimension %zu, datasets[1] has %zu",
                    k + 1, ds[k].X.cols, ds[0].X.cols);
  }
  bind_dist *dist = bind_dist_new(L, fname, "otdd", 0);
  double t0 = ot_clock();
  /* statistics once per dataset, and the self label blocks once per dataset
   * (their class pairs spread over the ranks) */
  ot_otdd_stats **S = lua_newuserdatauv(L, K * sizeof(*S), 0);
  bmat **Wself = lua_newuserdatauv(L, K * sizeof(*Wself), 0);
  memset(Wself, 0, K * sizeof(*Wself));
  const int debiased = oc.oo.debiased && oc.oo.mode != OT_OTDD_OUTER_EXACT;
  bind_progress_ud ud = {L, cb, 0.0, 0};
  for (size_t k = 0; k < K; k++) S[k] = compute_stats(L, &ds[k], &c, fname);
  if (debiased && oc.oo.lambda_y != 0.0) {
    c.dist = dist;
    for (size_t k = 0; k < K; k++) {
      Wself[k] = bind_newmat(L, S[k]->nclass, S[k]->nclass, fname);
      label_call(L, &c, Wself[k]->m, S[k], S[k], &ud, fname);
    }
    c.dist = NULL; /* inside a dataset pair everything runs on its rank */
  }
  double ts = ot_clock() - t0;
  int Di = lua_gettop(L) + 1;
  bmat *Dm = bind_newmat(L, K, K, fname);
  lua_createtable(L, 0, 4);
  int info = lua_gettop(L);
  lua_createtable(L, (int)K, 0);
  for (size_t k = 0; k < K; k++) {
    lua_pushstring(L, ds[k].name);
    lua_rawseti(L, -2, (lua_Integer)k + 1);
  }
  lua_setfield(L, info, "names");
  lua_newtable(L);
  int drop = lua_gettop(L);
  for (size_t k = 0; k < K; k++) push_dropped(L, drop, S[k], &ds[k]);
  lua_setfield(L, info, "dropped");
  /* the dataset pairs (i < j) as jobs: key (i, j), row (the distance); over
   * the MPI ranks, rank r computes pairs r, r + size, ... */
  size_t np = K * (K - 1) / 2;
  double *kb = lua_newuserdatauv(L, (np ? np : 1) * 3 * sizeof(double), 0);
  double *out = kb + 2 * np;
  np = 0;
  for (size_t i = 0; i < K; i++)
    for (size_t j = i + 1; j < K; j++) {
      kb[2 * np] = (double)i;
      kb[2 * np + 1] = (double)j;
      out[np++] = NAN;
    }
  pairwise_ctx pc = {L, fname, S, ds, &c, &oc, cb, debiased, Wself, 0, kb, 0.0, 0};
  ot_jobs jobs = {"datasets", np, 2, kb, 1, out, pairwise_run, &pc, 1};
  int rc = bind_dist_mode(dist) == BIND_DIST_MPI ? bind_dist_jobs(dist, &jobs)
                                                 : pairwise_run(&jobs, 0, 1);
  if (rc) {
    if (pc.failed) { /* this rank's own error, as it was raised */
      lua_getfield(L, LUA_REGISTRYINDEX, PAIR_ERROR);
      lua_pushnil(L);
      lua_setfield(L, LUA_REGISTRYINDEX, PAIR_ERROR);
      return lua_error(L);
    }
    if (bind_dist_mode(dist) == BIND_DIST_MPI)
      luaL_error(L, "%s: stopped because another rank %s", fname,
                 rc == OT_ECANCELED ? "was interrupted or canceled"
                                    : "raised an error in a dataset pair (its message is on "
                                      "that rank's standard error)");
    bind_check_status(L, rc, fname);
  }
  for (size_t t = 0; t < np; t++) {
    size_t i = (size_t)kb[2 * t], j = (size_t)kb[2 * t + 1];
    OT_AT(Dm->m, i, j) = OT_AT(Dm->m, j, i) = out[t];
  }
  lua_settop(L, info);
  setnum(L, "time_stats", ts);
  setnum(L, "time", ot_clock() - t0);
  lua_pushvalue(L, Di);
  lua_pushvalue(L, info);
  return 2;
}

static const luaL_Reg otdd_funcs[] = {
    {"distance", otdd_distance},
    {"label_distances", otdd_label_distances},
    {"pairwise", otdd_pairwise},
    {NULL, NULL},
};

/* Adds ot.otdd to the table on top of the stack. */
void bind_open_otdd(lua_State *L) {
  luaL_newlib(L, otdd_funcs);
  lua_setfield(L, -2, "otdd");
}
