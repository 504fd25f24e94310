/*
 * nn.c (bindings) -- ot.nn: multilayer perceptrons with factorized layers,
 * spectral initialization and Frobenius decay (specs/factorized.md), on top
 * of src/ot/nn.h.  share/help/nn.txt is the user manual.
 *
 * A net is the userdata "ot.nn.Net" holding a pointer to the core net (freed
 * by __gc).  Methods count their arguments after self (net:fit(X, y, opts):
 * X is #1), and name themselves "Net:<method>" in errors.  Every argument is
 * validated before any work; the data once (finite values, widths, labels),
 * the kernels trust them.  Results that Lua keeps (history matrices, logits)
 * are created before the core call, so an error raised after it cannot leak.
 *
 * Progress: training reports go to bind_progress (Ctrl-C and the live panel,
 * which reads ot_progress.state as an ot_view of kind OT_VIEW_TRAIN) and,
 * after each epoch, to the Lua callback opts.progress with a table of the
 * epoch's figures.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "ot/alloc.h"
#include "ot/nn.h"

#define NET_TYPE "ot.nn.Net"

typedef struct bnet {
  ot_nn_net *net;
  int busy; /* 1 while a training run holds the net (a callback may not reenter it) */
} bnet;

/* ---- errors and options for methods ("Net:fit: bad argument #1 'X' (...)") ------------ */

static int argerr(lua_State *L, const char *fname, int arg, const char *name, const char *fmt,
                  ...) {
  char reason[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  return luaL_error(L, "%s: bad argument #%d '%s' (%s)", fname, arg, name, reason);
}

/* Unknown keys of the options table at idx (argument number arg) are errors. */
static void checkopts(lua_State *L, const char *fname, int idx, int arg, const char *const keys[]) {
  if (lua_isnoneornil(L, idx)) return;
  if (!lua_istable(L, idx)) argerr(L, fname, arg, "opts", "table expected, got %s", luaL_typename(L, idx));
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    int ok = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (int i = 0; keys[i]; i++) ok |= strcmp(lua_tostring(L, -1), keys[i]) == 0;
    if (!ok) {
      char known[512] = "";
      for (int i = 0; keys[i]; i++) {
        if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, keys[i], sizeof known - strlen(known) - 1);
      }
      argerr(L, fname, arg, "opts", "unknown option '%s'; known: %s",
             lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1), known);
    }
  }
}

/* opts[key] pushed; 1 when present. */
static int optget(lua_State *L, int idx, const char *key) {
  if (!lua_istable(L, idx)) {
    lua_pushnil(L);
    return 0;
  }
  return lua_getfield(L, idx, key) != LUA_TNIL;
}

/* A finite number option within [lo, hi]. */
static double optnum(lua_State *L, const char *fname, int idx, int arg, const char *key, double def,
                     double lo, double hi) {
  double v = def;
  if (optget(L, idx, key)) {
    int isnum;
    v = lua_tonumberx(L, -1, &isnum);
    if (!isnum)
      argerr(L, fname, arg, "opts", "option '%s' must be a number, got %s", key, luaL_typename(L, -1));
    if (!(v >= lo && v <= hi))
      argerr(L, fname, arg, "opts", "option '%s' must be in [%g, %g], got %g", key, lo, hi, v);
  }
  lua_pop(L, 1);
  return v;
}

static lua_Integer optint(lua_State *L, const char *fname, int idx, int arg, const char *key,
                          lua_Integer def, lua_Integer lo, lua_Integer hi) {
  lua_Integer v = def;
  if (optget(L, idx, key)) {
    int isnum;
    v = lua_tointegerx(L, -1, &isnum);
    if (!isnum)
      argerr(L, fname, arg, "opts", "option '%s' must be an integer, got %s", key,
             lua_isnumber(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
    if (v < lo || v > hi)
      argerr(L, fname, arg, "opts", "option '%s' must be in %lld..%lld, got %lld", key,
             (long long)lo, (long long)hi, (long long)v);
  }
  lua_pop(L, 1);
  return v;
}

static int optbool(lua_State *L, const char *fname, int idx, int arg, const char *key, int def) {
  int v = def;
  if (optget(L, idx, key)) {
    if (!lua_isboolean(L, -1))
      argerr(L, fname, arg, "opts", "option '%s' must be a boolean, got %s", key, luaL_typename(L, -1));
    v = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* A string option among choices[] (NULL-terminated); returns its index. */
static int optchoice(lua_State *L, const char *fname, int idx, int arg, const char *key, int def,
                     const char *const choices[]) {
  int v = def;
  if (optget(L, idx, key)) {
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    v = -1;
    for (int i = 0; s && choices[i]; i++)
      if (strcmp(s, choices[i]) == 0) v = i;
    if (v < 0)
      argerr(L, fname, arg, "opts", "option '%s' must be \"%s\" or \"%s\", got %s", key, choices[0],
             choices[1], s ? s : luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

/* opts.seed: 1 and *seed set when present. */
static int optseed(lua_State *L, const char *fname, int idx, int arg, uint64_t *seed) {
  if (!optget(L, idx, "seed")) {
    lua_pop(L, 1);
    return 0;
  }
  int isnum;
  lua_Integer v = lua_tointegerx(L, -1, &isnum);
  if (!isnum) argerr(L, fname, arg, "opts", "option 'seed' must be an integer, got %s", luaL_typename(L, -1));
  lua_pop(L, 1);
  *seed = (uint64_t)v;
  return 1;
}

/* opts.progress: its stack index (pushed), or 0. */
static int optprogress(lua_State *L, const char *fname, int idx, int arg) {
  if (!optget(L, idx, "progress")) {
    lua_pop(L, 1);
    return 0;
  }
  if (!lua_isfunction(L, -1))
    argerr(L, fname, arg, "opts", "option 'progress' must be a function, got %s", luaL_typename(L, -1));
  return lua_gettop(L);
}

static const char *const act_names[] = {"relu", "tanh", NULL};
static const char *const init_names[] = {"regular", "spectral", NULL};
static const char *const reg_names[] = {"weight", "frobenius", NULL};

/* ---- the Net userdata ----------------------------------------------------------------- */

static bnet *checknet(lua_State *L, const char *fname) {
  bnet *b = luaL_testudata(L, 1, NET_TYPE);
  if (!b) luaL_error(L, "%s: bad self (a net expected, got %s; call it as net:%s(...))", fname,
                     luaL_typename(L, 1), strchr(fname, ':') ? strchr(fname, ':') + 1 : fname);
  if (!b->net) luaL_error(L, "%s: the net has been released", fname);
  if (b->busy) luaL_error(L, "%s: the net is training (called from its own progress callback?)", fname);
  return b;
}

/* Push an empty Net userdata (its net set by the caller after the core call). */
static bnet *newnet(lua_State *L) {
  bnet *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->net = NULL;
  b->busy = 0;
  luaL_setmetatable(L, NET_TYPE);
  return b;
}

static int net_gc(lua_State *L) {
  bnet *b = luaL_checkudata(L, 1, NET_TYPE);
  ot_nn_free(b->net);
  b->net = NULL;
  return 0;
}

/* Arguments X (stack idx, argument number arg): a finite matrix of width `in`. */
static bmat *checkX(lua_State *L, const char *fname, int idx, int arg, size_t in, const char *name) {
  bmat *X = bind_testmat(L, idx);
  if (!X) argerr(L, fname, arg, name, "matrix expected, got %s", luaL_typename(L, idx));
  if (X->m.rows == 0) argerr(L, fname, arg, name, "has no rows");
  if (X->m.cols != in)
    argerr(L, fname, arg, name, "has %zu columns, the net takes %zu inputs", X->m.cols, in);
  size_t bi, bj;
  if (!ot_mat_all_finite(X->m, &bi, &bj))
    argerr(L, fname, arg, name, "%s[%zu][%zu] = %s is not finite", name, bi + 1, bj + 1,
           isnan(OT_AT(X->m, bi, bj)) ? "nan" : OT_AT(X->m, bi, bj) > 0 ? "inf" : "-inf");
  return X;
}

/* Labels y at idx: n integers in 0..classes-1, as a contiguous vector. */
static const double *checky(lua_State *L, const char *fname, int idx, int arg, size_t n,
                            size_t classes, const char *name) {
  bmat *y;
  if (!lua_istable(L, idx) && !bind_testmat(L, idx))
    argerr(L, fname, arg, name, "vector of labels expected, got %s", luaL_typename(L, idx));
  /* bind_checkvector raises errors named after the running function; shapes
   * are checked here first so the common mistakes get this function's name */
  bmat *m = bind_testmat(L, idx);
  if (!m) { /* a Lua table: numbers only */
    size_t len = lua_rawlen(L, idx);
    for (size_t k = 1; k <= len; k++) {
      int t = lua_rawgeti(L, idx, (lua_Integer)k);
      lua_pop(L, 1);
      if (t != LUA_TNUMBER)
        argerr(L, fname, arg, name, "%s[%zu] is a %s, not a number", name, k, lua_typename(L, t));
    }
  }
  if (m && !(m->m.rows == 1 || m->m.cols == 1))
    argerr(L, fname, arg, name, "vector expected, got a %zux%zu matrix", m->m.rows, m->m.cols);
  y = bind_checkvector(L, idx, name);
  if (y->m.rows != n) argerr(L, fname, arg, name, "has %zu labels for %zu rows", y->m.rows, n);
  for (size_t k = 0; k < n; k++) {
    double v = y->m.data[k];
    if (!(v >= 0 && v < (double)classes && v == floor(v)))
      argerr(L, fname, arg, name, "%s[%zu] = %g is not a class of this net (integers 0..%zu)", name,
             k + 1, v, classes - 1);
  }
  return y->m.data;
}

/*
 * net:fit(ds, opts) and net:fit(X, y, opts): when the value at 2 is a
 * dataset (a table with fields X and y), put ds.X, ds.y in its place.
 */
static void expand_dataset(lua_State *L, int top) {
  lua_settop(L, top);
  if (lua_istable(L, 2) && lua_getfield(L, 2, "X") != LUA_TNIL) {
    lua_getfield(L, 2, "y");
    if (top >= 4) { /* the options move from #3 to #4 */
      lua_pushvalue(L, 3);
      lua_replace(L, 4);
    }
    lua_replace(L, 3);
    lua_replace(L, 2);
  }
  lua_settop(L, top);
}

/* ---- ot.nn.mlp ------------------------------------------------------------------------ */

static const char *const mlp_keys[] = {"activation", "batchnorm", "init", "seed", "bn_momentum",
                                       "bn_eps", NULL};

/*
 * ot.nn.mlp{in, l1, l2, ..., activation =, batchnorm =, init =, seed =}:
 * each layer entry is a width (dense) or {width, rank = r | scale = s,
 * deep = bool}.
 */
static int nn_mlp(lua_State *L) {
  const char *fname = "ot.nn.mlp";
  ot_nn_layer_spec ls[OT_NN_MAX_LAYERS];
  ot_nn_spec s;
  lua_settop(L, 1);
  if (!lua_istable(L, 1))
    return bind_argerror(L, 1, "spec", "table expected, got %s (e.g. {64, 128, {128, rank = 4}, 10})",
                         luaL_typename(L, 1));
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  /* hash keys: only the known options */
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    if (lua_isinteger(L, -1)) {
      lua_Integer k = lua_tointeger(L, -1);
      if (k < 1 || k > n) bind_argerror(L, 1, "spec", "entry [%lld] is outside 1..%lld", (long long)k, (long long)n);
      continue;
    }
    int ok = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (int i = 0; mlp_keys[i]; i++) ok |= strcmp(lua_tostring(L, -1), mlp_keys[i]) == 0;
    if (!ok)
      bind_argerror(L, 1, "spec", "unknown option '%s'; known: activation, batchnorm, init, seed, "
                    "bn_momentum, bn_eps", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                                        : luaL_typename(L, -1));
  }
  if (n < 2) bind_argerror(L, 1, "spec", "needs the input width and at least one layer, got %lld entries", (long long)n);
  if (n - 1 > OT_NN_MAX_LAYERS) bind_argerror(L, 1, "spec", "at most %d layers, got %lld", OT_NN_MAX_LAYERS, (long long)(n - 1));
  ot_nn_spec_init(&s);
  size_t prev = 0;
  for (lua_Integer k = 1; k <= n; k++) {
    int t = lua_rawgeti(L, 1, k);
    size_t width = 0, rank = 0;
    int deep = 0;
    if (t == LUA_TTABLE && k > 1) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        lua_pop(L, 1);
        int ok = lua_isinteger(L, -1) && lua_tointeger(L, -1) == 1;
        if (lua_type(L, -1) == LUA_TSTRING) {
          const char *key = lua_tostring(L, -1);
          ok = !strcmp(key, "rank") || !strcmp(key, "scale") || !strcmp(key, "deep");
        }
        if (!ok)
          bind_argerror(L, 1, "spec", "entry %lld: unknown key '%s'; known: [1] (width), rank, scale, deep",
                        (long long)k, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
      }
      lua_rawgeti(L, -1, 1);
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > (lua_Integer)OT_NN_MAX_WIDTH)
        bind_argerror(L, 1, "spec", "entry %lld: width must be an integer in 1..%zu", (long long)k, OT_NN_MAX_WIDTH);
      width = (size_t)lua_tointeger(L, -1);
      lua_pop(L, 1);
      int hr = lua_getfield(L, -1, "rank") != LUA_TNIL;
      int hs = lua_getfield(L, -2, "scale") != LUA_TNIL;
      if (hr && hs) bind_argerror(L, 1, "spec", "entry %lld: give rank or scale, not both", (long long)k);
      size_t mn = prev < width ? prev : width;
      if (hr) {
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > (lua_Integer)OT_NN_MAX_WIDTH)
          bind_argerror(L, 1, "spec", "entry %lld: rank must be an integer in 1..%zu", (long long)k, OT_NN_MAX_WIDTH);
        rank = (size_t)lua_tointeger(L, -2);
      }
      if (hs) {
        double sc = lua_tonumber(L, -1);
        if (!lua_isnumber(L, -1) || !(sc > 0 && sc <= 64))
          bind_argerror(L, 1, "spec", "entry %lld: scale must be a number in (0, 64]", (long long)k);
        double r = floor(sc * (double)mn + 0.5);
        if (r < 1)
          bind_argerror(L, 1, "spec", "entry %lld: scale %g gives rank 0 for min(in, out) = %zu", (long long)k, sc, mn);
        rank = (size_t)r;
      }
      lua_pop(L, 2);
      int td = lua_getfield(L, -1, "deep");
      if (td != LUA_TNIL && td != LUA_TBOOLEAN)
        bind_argerror(L, 1, "spec", "entry %lld: deep must be a boolean", (long long)k);
      deep = lua_toboolean(L, -1);
      lua_pop(L, 1);
      if (deep && !rank)
        bind_argerror(L, 1, "spec", "entry %lld: deep needs a factorized layer (rank or scale)", (long long)k);
    } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
               lua_tointeger(L, -1) <= (lua_Integer)OT_NN_MAX_WIDTH) {
      width = (size_t)lua_tointeger(L, -1);
    } else {
      bind_argerror(L, 1, "spec", "entry %lld must be %s, got %s", (long long)k,
                    k == 1 ? "the input width (an integer >= 1)"
                           : "a width (integer >= 1) or a table {width, rank = r | scale = s, deep = bool}",
                    lua_isnumber(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    if (k == 1) {
      s.in = width;
    } else {
      ls[k - 2].out = width;
      ls[k - 2].rank = rank;
      ls[k - 2].deep = deep;
    }
    prev = width;
  }
  if (ls[n - 2].out < 2) bind_argerror(L, 1, "spec", "the last layer gives the classes: at least 2, got %zu", ls[n - 2].out);
  s.nlayers = (size_t)(n - 1);
  s.layers = ls;
  s.act = optchoice(L, fname, 1, 1, "activation", OT_NN_RELU, act_names);
  s.init = optchoice(L, fname, 1, 1, "init", OT_NN_INIT_SPECTRAL, init_names);
  s.batchnorm = optbool(L, fname, 1, 1, "batchnorm", 0);
  s.bn_momentum = optnum(L, fname, 1, 1, "bn_momentum", 0.1, 0.0, 1.0);
  s.bn_eps = optnum(L, fname, 1, 1, "bn_eps", 1e-5, 1e-300, 1.0);
  uint64_t seed;
  ot_rng local, *rng = bind_rng();
  if (optseed(L, fname, 1, 1, &seed)) {
    ot_rng_seed(&local, seed);
    rng = &local;
  }
  bnet *b = newnet(L);
  int rc = ot_nn_new(&b->net, &s, rng);
  bind_check_status(L, rc, fname);
  return 1;
}

/* ---- training ------------------------------------------------------------------------- */

static const char *const epoch_keys[] = {"lr", "momentum", "weight_decay", "regularizer",
                                         "batch_size", "seed", "progress", NULL};
static const char *const fit_keys[] = {"lr", "momentum", "weight_decay", "regularizer",
                                       "batch_size", "seed", "progress", "epochs", "milestones",
                                       "gamma", "test", NULL};

/* The training options shared by train_epoch and fit (opts at idx). */
static void read_train_opts(lua_State *L, const char *fname, int idx, int arg, ot_nn_train_opts *o) {
  ot_nn_train_opts_init(o);
  o->lr = optnum(L, fname, idx, arg, "lr", o->lr, 0.0, 1e300);
  o->momentum = optnum(L, fname, idx, arg, "momentum", o->momentum, 0.0, 0.999999);
  o->weight_decay = optnum(L, fname, idx, arg, "weight_decay", o->weight_decay, 0.0, 1e300);
  o->regularizer = optchoice(L, fname, idx, arg, "regularizer", OT_NN_REG_WEIGHT, reg_names);
  o->batch_size = (size_t)optint(L, fname, idx, arg, "batch_size", 64, 1, (lua_Integer)1 << 40);
}

typedef struct nn_pud {
  bind_progress_ud base; /* callback 0: interrupts and the panel only */
  lua_State *L;
  int callback;          /* stack index of opts.progress, or 0 */
  int lua_error;         /* the callback raised: its message is on the stack */
  int canceled;          /* the callback returned false */
  long epoch;            /* last epoch reported within */
} nn_pud;

static void setnum(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

/* The progress sink of training runs (see the header comment). */
static int nn_progress(void *ud, const ot_progress *p) {
  nn_pud *u = ud;
  const ot_nn_report *rep = p->state;
  u->epoch = (long)rep->view.values[3];
  if (bind_progress(&u->base, p)) return 1;
  if (!rep->epoch_end || !u->callback) return 0;
  lua_State *L = u->L;
  if (!lua_checkstack(L, 8)) return 0;
  lua_pushvalue(L, u->callback);
  lua_createtable(L, 0, 12);
  lua_pushinteger(L, rep->epoch);
  lua_setfield(L, -2, "epoch");
  lua_pushinteger(L, p->max_iter);
  lua_setfield(L, -2, "epochs");
  setnum(L, "loss", rep->loss);
  setnum(L, "penalty", rep->penalty);
  setnum(L, "train_acc", rep->train_acc);
  setnum(L, "test_acc", rep->test_acc);
  setnum(L, "lr", rep->lr);
  setnum(L, "time", rep->time);
  setnum(L, "elapsed", p->elapsed);
  lua_pushboolean(L, rep->diverged);
  lua_setfield(L, -2, "diverged");
  lua_createtable(L, (int)rep->nlayers, 0);
  for (size_t i = 0; i < rep->nlayers; i++) {
    lua_pushnumber(L, rep->fro[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "fro");
  lua_createtable(L, (int)rep->nlayers, 0);
  for (size_t i = 0; i < rep->nlayers; i++) {
    lua_pushnumber(L, rep->nuclear[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "nuclear");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    u->lua_error = 1;
    return 1;
  }
  int stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (stop) u->canceled = 1;
  return stop;
}

/* After a training run: re-raise callback errors and interrupts. */
static void finish(lua_State *L, int rc, nn_pud *u, const char *fname) {
  if (rc == OT_ECANCELED) {
    if (u->lua_error) lua_error(L);
    if (!u->canceled)
      luaL_error(L, "%s: interrupted in epoch %d (the net keeps the weights of its last step)",
                 fname, (int)u->epoch + 1);
    return;
  }
  bind_check_status(L, rc, fname);
}

/* net:train_epoch(X, y [, opts]) -> info */
static int net_train_epoch(lua_State *L) {
  const char *fname = "Net:train_epoch";
  expand_dataset(L, 4);
  bnet *b = checknet(L, fname);
  ot_nn_net *net = b->net;
  bmat *X = checkX(L, fname, 2, 1, net->in, "X");
  const double *y = checky(L, fname, 3, 2, X->m.rows, net->classes, "y");
  checkopts(L, fname, 4, 3, epoch_keys);
  ot_nn_train_opts o;
  read_train_opts(L, fname, 4, 3, &o);
  uint64_t seed;
  ot_rng local, *rng = bind_rng();
  if (optseed(L, fname, 4, 3, &seed)) {
    ot_rng_seed(&local, seed);
    rng = &local;
  }
  nn_pud u = {{L, 0, 0.0, 0}, L, optprogress(L, fname, 4, 3), 0, 0, (long)net->epochs};
  o.progress = nn_progress;
  o.progress_ud = &u;
  ot_nn_report rep;
  memset(&rep, 0, sizeof rep);
  rep.test_acc = NAN;
  lua_createtable(L, 0, 8); /* the result, before the run */
  b->busy = 1;
  int rc = ot_nn_train_epoch(net, X->m, y, &o, rng, &rep);
  b->busy = 0;
  finish(L, rc, &u, fname);
  setnum(L, "loss", rep.loss);
  setnum(L, "train_acc", rep.train_acc);
  setnum(L, "lr", rep.lr);
  setnum(L, "time", rep.time);
  setnum(L, "examples_per_second", rep.time > 0 ? (double)X->m.rows / rep.time : NAN);
  lua_pushboolean(L, rep.diverged);
  lua_setfield(L, -2, "diverged");
  lua_pushinteger(L, net->epochs);
  lua_setfield(L, -2, "epoch");
  lua_pushstring(L, rc == OT_ECANCELED ? "canceled" : rep.diverged ? "diverged" : "completed");
  lua_setfield(L, -2, "status");
  return 1;
}

/* A column of the history matrix H (rows x 5) as a new vector. */
static void push_column(lua_State *L, ot_mat H, size_t rows, size_t col, const char *key) {
  bmat *v = bind_newvec(L, rows, "Net:fit");
  for (size_t k = 0; k < rows; k++) v->m.data[k] = OT_AT(H, k, col);
  lua_setfield(L, -2, key);
}

/* net:fit(X, y [, opts]) -> info */
static int net_fit(lua_State *L) {
  const char *fname = "Net:fit";
  expand_dataset(L, 4);
  bnet *b = checknet(L, fname);
  ot_nn_net *net = b->net;
  bmat *X = checkX(L, fname, 2, 1, net->in, "X");
  const double *y = checky(L, fname, 3, 2, X->m.rows, net->classes, "y");
  checkopts(L, fname, 4, 3, fit_keys);
  ot_nn_train_opts o;
  read_train_opts(L, fname, 4, 3, &o);
  o.epochs = (size_t)optint(L, fname, 4, 3, "epochs", 30, 0, 10000000);
  o.gamma = optnum(L, fname, 4, 3, "gamma", 0.1, 1e-300, 1e300);
  /* milestones: a list of epochs after which lr *= gamma */
  double ms[64];
  size_t nms = 0;
  if (optget(L, 4, "milestones")) {
    if (!lua_istable(L, -1))
      argerr(L, fname, 3, "opts", "option 'milestones' must be a list of epochs, got %s", luaL_typename(L, -1));
    size_t len = lua_rawlen(L, -1);
    if (len > 64) argerr(L, fname, 3, "opts", "option 'milestones': at most 64 entries");
    for (size_t k = 0; k < len; k++) {
      lua_rawgeti(L, -1, (lua_Integer)k + 1);
      int isnum;
      ms[k] = lua_tonumberx(L, -1, &isnum);
      if (!isnum || !(ms[k] >= 0) || !isfinite(ms[k]))
        argerr(L, fname, 3, "opts", "option 'milestones': entry %zu must be an epoch >= 0", k + 1);
      lua_pop(L, 1);
    }
    nms = len;
  }
  lua_pop(L, 1);
  o.milestones = ms;
  o.nmilestones = nms;
  /* the test set: {Xt, yt} or a dataset {X = , y = } */
  if (optget(L, 4, "test")) {
    int t = lua_gettop(L);
    if (!lua_istable(L, t) || bind_testmat(L, t))
      argerr(L, fname, 3, "opts", "option 'test' must be {X, y} or a dataset, got %s", luaL_typename(L, t));
    if (lua_getfield(L, t, "X") == LUA_TNIL) {
      lua_pop(L, 1);
      lua_rawgeti(L, t, 1);
      lua_rawgeti(L, t, 2);
    } else {
      lua_getfield(L, t, "y");
    }
    bmat *Xt = checkX(L, fname, t + 1, 3, net->in, "test X");
    o.test_X = Xt->m;
    o.test_y = checky(L, fname, t + 2, 3, Xt->m.rows, net->classes, "test y");
  } else {
    lua_pop(L, 1);
  }
  uint64_t seed;
  ot_rng local, *rng = bind_rng();
  if (optseed(L, fname, 4, 3, &seed)) {
    ot_rng_seed(&local, seed);
    rng = &local;
  }
  nn_pud u = {{L, 0, 0.0, 0}, L, optprogress(L, fname, 4, 3), 0, 0, 0};
  o.progress = nn_progress;
  o.progress_ud = &u;
  bmat *H = bind_newmat(L, o.epochs ? o.epochs : 1, 5, fname);
  int hidx = lua_gettop(L);
  size_t done = 0;
  int diverged = 0;
  b->busy = 1;
  double t0 = ot_clock();
  int rc = ot_nn_fit(net, X->m, y, &o, rng, o.epochs ? H->m : (ot_mat){0, 0, 0, NULL}, &done, &diverged);
  double elapsed = ot_clock() - t0;
  b->busy = 0;
  finish(L, rc, &u, fname);
  lua_createtable(L, 0, 14);
  lua_pushinteger(L, (lua_Integer)done);
  lua_setfield(L, -2, "epochs");
  push_column(L, H->m, done, 0, "loss");
  push_column(L, H->m, done, 1, "train_acc");
  push_column(L, H->m, done, 2, "test_acc");
  push_column(L, H->m, done, 3, "lr");
  push_column(L, H->m, done, 4, "epoch_time");
  double last = done ? OT_AT(H->m, done - 1, 2) : NAN;
  setnum(L, "final_test_acc", last);
  setnum(L, "final_loss", done ? OT_AT(H->m, done - 1, 0) : NAN);
  setnum(L, "time", elapsed);
  double ex = 0.0, tt = 0.0;
  for (size_t e = 0; e < done; e++) tt += OT_AT(H->m, e, 4), ex += (double)X->m.rows;
  setnum(L, "examples_per_second", tt > 0 ? ex / tt : NAN);
  lua_pushboolean(L, diverged);
  lua_setfield(L, -2, "diverged");
  lua_pushstring(L, rc == OT_ECANCELED ? "canceled" : diverged ? "diverged" : "completed");
  lua_setfield(L, -2, "status");
  lua_remove(L, hidx);
  return 1;
}

/* ---- inference and diagnostics -------------------------------------------------------- */

/* net:predict(X) -> labels (vector), logits (n x classes) */
static int net_predict(lua_State *L) {
  const char *fname = "Net:predict";
  lua_settop(L, 2);
  bnet *b = checknet(L, fname);
  ot_nn_net *net = b->net;
  bmat *X = checkX(L, fname, 2, 1, net->in, "X");
  bmat *lab = bind_newvec(L, X->m.rows, fname);
  bmat *Z = bind_newmat(L, X->m.rows, net->classes, fname);
  int rc = ot_nn_predict(net, Z->m, X->m);
  bind_check_status(L, rc, fname);
  for (size_t k = 0; k < X->m.rows; k++) {
    size_t best = 0;
    for (size_t j = 1; j < net->classes; j++)
      if (OT_AT(Z->m, k, j) > OT_AT(Z->m, k, best)) best = j;
    lab->m.data[k] = (double)best;
  }
  return 2;
}

/* net:accuracy(X, y) -> fraction in [0, 1] */
static int net_accuracy(lua_State *L) {
  const char *fname = "Net:accuracy";
  expand_dataset(L, 3);
  bnet *b = checknet(L, fname);
  ot_nn_net *net = b->net;
  bmat *X = checkX(L, fname, 2, 1, net->in, "X");
  const double *y = checky(L, fname, 3, 2, X->m.rows, net->classes, "y");
  double acc = 0;
  int rc = ot_nn_accuracy(net, X->m, y, &acc);
  bind_check_status(L, rc, fname);
  lua_pushnumber(L, acc);
  return 1;
}

/* net:loss(X, y [, opts]) -> cross-entropy, penalty */
static int net_loss(lua_State *L) {
  const char *fname = "Net:loss";
  static const char *const keys[] = {"weight_decay", "regularizer", "mode", NULL};
  static const char *const modes[] = {"eval", "train", NULL};
  expand_dataset(L, 4);
  bnet *b = checknet(L, fname);
  ot_nn_net *net = b->net;
  bmat *X = checkX(L, fname, 2, 1, net->in, "X");
  const double *y = checky(L, fname, 3, 2, X->m.rows, net->classes, "y");
  checkopts(L, fname, 4, 3, keys);
  double wd = optnum(L, fname, 4, 3, "weight_decay", 0.0, 0.0, 1e300);
  int reg = optchoice(L, fname, 4, 3, "regularizer", OT_NN_REG_WEIGHT, reg_names);
  int train = optchoice(L, fname, 4, 3, "mode", 0, modes);
  double loss = 0, pen = 0;
  int rc;
  if (train) { /* batch statistics without touching the running ones: work on a copy */
    ot_nn_net *c = NULL;
    rc = ot_nn_clone(&c, net);
    if (!rc) rc = ot_nn_objective(c, X->m, y, wd, reg, 1, 0, &loss, &pen, NULL);
    ot_nn_free(c);
  } else {
    rc = ot_nn_objective(net, X->m, y, wd, reg, 0, 0, &loss, &pen, NULL);
  }
  bind_check_status(L, rc, fname);
  lua_pushnumber(L, loss);
  lua_pushnumber(L, pen);
  return 2;
}

/* net:collapse() -> a new net with dense layers */
static int net_collapse(lua_State *L) {
  const char *fname = "Net:collapse";
  lua_settop(L, 1);
  bnet *b = checknet(L, fname);
  bnet *d = newnet(L);
  int rc = ot_nn_collapse(&d->net, b->net);
  bind_check_status(L, rc, fname);
  return 1;
}

/* net:clone() -> an independent copy */
static int net_clone(lua_State *L) {
  const char *fname = "Net:clone";
  lua_settop(L, 1);
  bnet *b = checknet(L, fname);
  bnet *d = newnet(L);
  int rc = ot_nn_clone(&d->net, b->net);
  bind_check_status(L, rc, fname);
  return 1;
}

/* Copy count doubles into a new matrix (vec: a vector) set as field key. */
static void set_tensor(lua_State *L, const char *key, const double *p, size_t rows, size_t cols,
                       int vec, const char *fname) {
  bmat *m = vec ? bind_newvec(L, rows, fname) : bind_newmat(L, rows, cols, fname);
  memcpy(m->m.data, p, rows * cols * sizeof(double));
  lua_setfield(L, -2, key);
}

/* net:layer(i) -> table of the layer's shape, norms, singular values and tensors */
static int net_layer(lua_State *L) {
  const char *fname = "Net:layer";
  lua_settop(L, 2);
  bnet *b = checknet(L, fname);
  ot_nn_net *net = b->net;
  int isnum;
  lua_Integer i = lua_tointegerx(L, 2, &isnum);
  if (!isnum) argerr(L, fname, 1, "i", "integer expected, got %s", luaL_typename(L, 2));
  if (i < 1 || i > (lua_Integer)net->nlayers)
    argerr(L, fname, 1, "i", "must be in 1..%zu, got %lld", net->nlayers, (long long)i);
  size_t li = (size_t)i - 1;
  const ot_nn_layer *Ly = &net->layers[li];
  size_t nsv = ot_nn_layer_nsv(net, li);
  lua_createtable(L, 0, 20);
  bmat *sv = bind_newvec(L, nsv, fname);
  double fro2 = 0, nuc = 0;
  int rc = ot_nn_layer_norms(net, li, &fro2, &nuc, sv->m);
  bind_check_status(L, rc, fname);
  lua_setfield(L, -2, "sv");
  bmat *W = bind_newmat(L, Ly->out, Ly->in, fname);
  rc = ot_nn_layer_weight(net, li, W->m);
  bind_check_status(L, rc, fname);
  lua_setfield(L, -2, "W");
  lua_pushstring(L, Ly->rank ? "factorized" : "dense");
  lua_setfield(L, -2, "kind");
  lua_pushinteger(L, (lua_Integer)Ly->in);
  lua_setfield(L, -2, "in");
  lua_pushinteger(L, (lua_Integer)Ly->out);
  lua_setfield(L, -2, "out");
  lua_pushinteger(L, (lua_Integer)Ly->rank);
  lua_setfield(L, -2, "rank");
  lua_pushboolean(L, Ly->deep);
  lua_setfield(L, -2, "deep");
  lua_pushboolean(L, Ly->bn);
  lua_setfield(L, -2, "batchnorm");
  lua_pushstring(L, Ly->act < 0 ? "none" : act_names[Ly->act]);
  lua_setfield(L, -2, "activation");
  setnum(L, "fro2", fro2);
  setnum(L, "fro", sqrt(fro2));
  setnum(L, "nuclear", nuc);
  const double *P = net->params;
  if (Ly->u != OT_NN_NONE) {
    set_tensor(L, "U", P + Ly->u, Ly->out, Ly->rank, 0, fname);
    set_tensor(L, "Vt", P + Ly->vt, Ly->rank, Ly->in, 0, fname);
  }
  if (Ly->m != OT_NN_NONE) set_tensor(L, "M", P + Ly->m, Ly->rank, Ly->rank, 0, fname);
  if (Ly->b != OT_NN_NONE) set_tensor(L, "b", P + Ly->b, Ly->out, 1, 1, fname);
  if (Ly->bn) {
    set_tensor(L, "gamma", P + Ly->gamma, Ly->out, 1, 1, fname);
    set_tensor(L, "beta", P + Ly->beta, Ly->out, 1, 1, fname);
    set_tensor(L, "running_mean", net->buffers + Ly->run_mean, Ly->out, 1, 1, fname);
    set_tensor(L, "running_var", net->buffers + Ly->run_var, Ly->out, 1, 1, fname);
  }
  return 1;
}

/* net:info() -> {in, classes, layers, params, epochs, steps, activation, batchnorm, init} */
static int net_info(lua_State *L) {
  lua_settop(L, 1);
  bnet *b = checknet(L, "Net:info");
  ot_nn_net *net = b->net;
  lua_createtable(L, 0, 10);
  lua_pushinteger(L, (lua_Integer)net->in);
  lua_setfield(L, -2, "in");
  lua_pushinteger(L, (lua_Integer)net->classes);
  lua_setfield(L, -2, "classes");
  lua_pushinteger(L, (lua_Integer)net->nlayers);
  lua_setfield(L, -2, "layers");
  lua_pushinteger(L, (lua_Integer)net->nparams);
  lua_setfield(L, -2, "params");
  lua_pushinteger(L, net->epochs);
  lua_setfield(L, -2, "epochs");
  lua_pushinteger(L, net->steps);
  lua_setfield(L, -2, "steps");
  lua_pushstring(L, act_names[net->act]);
  lua_setfield(L, -2, "activation");
  lua_pushboolean(L, net->batchnorm);
  lua_setfield(L, -2, "batchnorm");
  lua_pushstring(L, init_names[net->init]);
  lua_setfield(L, -2, "init");
  return 1;
}

/* net:save(dir) -> true, or nil, msg when the file system refuses */
static int net_save(lua_State *L) {
  const char *fname = "Net:save";
  lua_settop(L, 2);
  bnet *b = checknet(L, fname);
  if (lua_type(L, 2) != LUA_TSTRING) argerr(L, fname, 1, "dir", "string expected, got %s", luaL_typename(L, 2));
  char err[512];
  int rc = ot_nn_save(b->net, lua_tostring(L, 2), err, sizeof err);
  if (rc == OT_EIO) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  if (rc) luaL_error(L, "%s: %s", fname, err[0] ? err : ot_strerror(rc));
  lua_pushboolean(L, 1);
  return 1;
}

/* ot.nn.load(dir) -> net, or nil, msg when the file system refuses */
static int nn_load(lua_State *L) {
  const char *fname = "ot.nn.load";
  lua_settop(L, 1);
  if (lua_type(L, 1) != LUA_TSTRING) bind_argerror(L, 1, "dir", "string expected, got %s", luaL_typename(L, 1));
  char err[512];
  bnet *b = newnet(L);
  int rc = ot_nn_load(&b->net, lua_tostring(L, 1), err, sizeof err);
  if (rc == OT_EIO) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  if (rc) luaL_error(L, "%s: %s", fname, err[0] ? err : ot_strerror(rc));
  return 1;
}

/* "Net 64 -> 128 -> 128 (U Vt, r = 4) -> 10, relu, spectral init, 17802 params, 0 epochs" */
static int net_tostring(lua_State *L) {
  bnet *b = luaL_checkudata(L, 1, NET_TYPE);
  if (!b->net) {
    lua_pushliteral(L, "Net (released)");
    return 1;
  }
  ot_nn_net *net = b->net;
  luaL_Buffer B;
  char part[96];
  luaL_buffinit(L, &B);
  snprintf(part, sizeof part, "Net %zu", net->in);
  luaL_addstring(&B, part);
  for (size_t i = 0; i < net->nlayers; i++) {
    const ot_nn_layer *Ly = &net->layers[i];
    if (Ly->rank)
      snprintf(part, sizeof part, " -> %zu (%s, r = %zu)", Ly->out, Ly->deep ? "U M Vt" : "U Vt", Ly->rank);
    else
      snprintf(part, sizeof part, " -> %zu", Ly->out);
    luaL_addstring(&B, part);
  }
  snprintf(part, sizeof part, ", %s%s, %s init, %zu params, %ld epochs", act_names[net->act],
           net->batchnorm ? ", batchnorm" : "", init_names[net->init], net->nparams, net->epochs);
  luaL_addstring(&B, part);
  luaL_pushresult(&B);
  return 1;
}

static int net_len(lua_State *L) {
  bnet *b = luaL_checkudata(L, 1, NET_TYPE);
  lua_pushinteger(L, b->net ? (lua_Integer)b->net->nlayers : 0);
  return 1;
}

static const luaL_Reg net_methods[] = {
  {"train_epoch", net_train_epoch}, {"fit", net_fit},         {"predict", net_predict},
  {"accuracy", net_accuracy},       {"loss", net_loss},       {"collapse", net_collapse},
  {"clone", net_clone},             {"layer", net_layer},     {"info", net_info},
  {"save", net_save},               {NULL, NULL}};

static const luaL_Reg net_meta[] = {
  {"__gc", net_gc}, {"__close", net_gc}, {"__tostring", net_tostring}, {"__len", net_len}, {NULL, NULL}};

static const luaL_Reg nn_funcs[] = {{"mlp", nn_mlp}, {"load", nn_load}, {NULL, NULL}};

/* Adds ot.nn to the table on top of the stack. */
void bind_open_nn(lua_State *L) {
  luaL_newmetatable(L, NET_TYPE);
  luaL_setfuncs(L, net_meta, 0);
  luaL_newlibtable(L, net_methods);
  luaL_setfuncs(L, net_methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, nn_funcs);
  lua_setfield(L, -2, "nn");
}
