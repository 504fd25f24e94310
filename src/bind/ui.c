/*
 * ui.c -- the text plots of the Lua face `ui` (the table ot.ui, which the
 * prelude makes the global `ui`): ui.plot, ui.heatmap, ui.scatter and
 * ui.sparkline.  Each draws with src/tui/plot.c into a grid held in a Lua
 * userdata (an error cannot leak it) and prints the grid as plain text
 * through Lua's io.write, so plots work in pipes, scripts and logs.
 *
 * Error messages name the functions as users call them ("ui.plot: bad
 * argument #1 'ys' (...)"): every function runs its body through ui_call,
 * which renames the errors of the shared argument helpers (they cannot find
 * a function called from C in the ot table and name it "?").
 */
#include <langinfo.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "bind.h"
#include "tui/plot.h"

#define UI_WIDTH 72   /* grid size when stdout is not a terminal */
#define UI_HEIGHT 20

/*
 * Run impl on this call's arguments under lua_pcall and re-raise its error
 * with "?: " (the helpers' name for a function they cannot place) replaced
 * by fname.  Returns impl's results.
 */
static int ui_call(lua_State *L, lua_CFunction impl, const char *fname) {
  int n = lua_gettop(L);
  lua_pushcfunction(L, impl);
  lua_insert(L, 1);
  int st = lua_pcall(L, n, LUA_MULTRET, 0);
  if (st != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (st == LUA_ERRRUN && msg && strncmp(msg, "?: ", 3) == 0)
      lua_pushfstring(L, "%s: %s", fname, msg + 3);
    return lua_error(L);
  }
  return lua_gettop(L);
}

/* The terminal's size for a plot when stdout is a terminal, else 72 x 20. */
static void ui_default_size(int *w, int *h) {
  *w = UI_WIDTH;
  *h = UI_HEIGHT;
  if (!isatty(STDOUT_FILENO)) return;
  int cols = 0, rows = 0;
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    cols = ws.ws_col;
    rows = ws.ws_row;
  } else {
    const char *c = getenv("COLUMNS"), *r = getenv("LINES");
    if (c) cols = atoi(c);
    if (r) rows = atoi(r);
  }
  if (cols > 0) *w = cols < 20 ? 20 : cols > 240 ? 240 : cols;
  if (rows > 0) *h = rows - 2 < 8 ? 8 : rows - 2 > 60 ? 60 : rows - 2; /* room for the prompt */
}

/* 1 when only ASCII may be written: opts.ascii, or else TERM=dumb or a
 * character set that is not UTF-8. */
static int ui_ascii(lua_State *L, int opts) {
  int a = bind_optfield_boolean(L, opts, "ascii", -1);
  if (a != -1) return a;
  const char *term = getenv("TERM");
  if (term && strcmp(term, "dumb") == 0) return 1;
  const char *cs = nl_langinfo(CODESET);
  return !(cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0));
}

/* opts.width / opts.height, defaulting to the terminal's size. */
static void ui_size(lua_State *L, int opts, int *w, int *h) {
  ui_default_size(w, h);
  lua_Integer W = bind_optfield_integer(L, opts, "width", *w);
  lua_Integer H = bind_optfield_integer(L, opts, "height", *h);
  if (W < 1 || W > TUI_GRID_MAX)
    bind_argerror(L, opts, "opts", "option 'width' must be in 1..%d, got %lld", TUI_GRID_MAX,
                  (long long)W);
  if (H < 1 || H > TUI_GRID_MAX)
    bind_argerror(L, opts, "opts", "option 'height' must be in 1..%d, got %lld", TUI_GRID_MAX,
                  (long long)H);
  *w = (int)W;
  *h = (int)H;
}

/*
 * The value at idx (a vector-like matrix or a table of numbers) as n
 * contiguous doubles in a new userdata pushed on the stack.  Errors name
 * argument argn as `name` ("ys", "ys[2]").
 */
static double *ui_tovector(lua_State *L, int idx, int argn, const char *name, size_t *n) {
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 4, "too many series");
  bmat *b = bind_testmat(L, idx);
  if (b) {
    ot_mat m = b->m;
    if (m.rows != 1 && m.cols != 1 && m.rows * m.cols != 0)
      bind_argerror(L, argn, name, "vector expected, got a %zux%zu matrix", m.rows, m.cols);
    size_t len = m.rows * m.cols;
    double *v = lua_newuserdatauv(L, len * sizeof(double) + 1, 0);
    for (size_t k = 0; k < len; k++) v[k] = m.rows == 1 ? m.data[k] : m.data[k * m.ld];
    *n = len;
    return v;
  }
  if (!lua_istable(L, idx))
    bind_argerror(L, argn, name, "vector or table of numbers expected, got %s",
                  luaL_typename(L, idx));
  size_t len = (size_t)lua_rawlen(L, idx);
  double *v = lua_newuserdatauv(L, len * sizeof(double) + 1, 0);
  for (size_t k = 0; k < len; k++) {
    lua_rawgeti(L, idx, (lua_Integer)k + 1);
    int isnum;
    v[k] = lua_tonumberx(L, -1, &isnum);
    if (!isnum)
      bind_argerror(L, argn, name, "%s[%zu] is %s, not a number", name, k + 1,
                    luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  *n = len;
  return v;
}

/* 1 when the value at idx is a list of series: a table whose first entry is
 * a table or a matrix. */
static int ui_is_series_list(lua_State *L, int idx) {
  if (!lua_istable(L, idx) || bind_testmat(L, idx)) return 0;
  lua_rawgeti(L, idx, 1);
  int list = lua_istable(L, -1) || bind_testmat(L, -1);
  lua_pop(L, 1);
  return list;
}

/* 1 when the value at idx can be the options table: absent, nil, or a table
 * that is not a matrix and has no array part. */
static int ui_is_opts(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return 1;
  return lua_istable(L, idx) && !bind_testmat(L, idx) && lua_rawlen(L, idx) == 0;
}

/*
 * Finish a plot: the grid as text, printed through io.write unless
 * opts.print is false, in which case the text is returned.
 */
static int ui_finish(lua_State *L, tui_grid *g, int opts) {
  int print = bind_optfield_boolean(L, opts, "print", 1);
  g->height = tui_grid_used_height(g);
  size_t size = tui_grid_text_size(g);
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, size);
  tui_grid_text(g, p, size);
  luaL_pushresultsize(&b, size - 1);
  if (!print) return 1;
  int text = lua_gettop(L);
  /* io.write as the session has it now (a script or test may replace it) */
  if (lua_getglobal(L, "io") == LUA_TTABLE && lua_getfield(L, -1, "write") == LUA_TFUNCTION) {
    lua_pushvalue(L, text);
    lua_call(L, 1, 0);
  } else {
    fputs(lua_tostring(L, text), stdout); /* no io library: straight to stdout */
  }
  return 0;
}

/* A grid of w x h cells in a new userdata on the stack. */
static tui_grid *ui_newgrid(lua_State *L, tui_grid *g, int w, int h) {
  tui_cell *cells = lua_newuserdatauv(L, (size_t)w * (size_t)h * sizeof(tui_cell), 0);
  tui_grid_init(g, w, h, cells);
  return g;
}

/* A renderer's status as an error: a small grid is the usual cause. */
static void ui_check_render(lua_State *L, int rc, const tui_grid *g) {
  if (rc == OT_EINVAL)
    luaL_error(L, "?: a %dx%d grid is too small for this plot (raise opts.width or opts.height)",
               g->width, g->height);
  if (rc != OT_OK) luaL_error(L, "?: %s", ot_strerror(rc));
}

/* ui.plot(ys [, opts]) / ui.plot(xs, ys [, opts]) / ui.plot({ys1, ys2, ...} [, opts]) /
 * ui.plot(xs, {ys1, ...} [, opts]) */
static int ui_plot_impl(lua_State *L) {
  static const char *const keys[] = {"width", "height", "title", "logy", "labels", "xlabel",
                                     "ylabel", "print", NULL};
  if (lua_isnoneornil(L, 1))
    bind_argerror(L, 1, "ys", "vector or table of numbers expected, got %s", luaL_typename(L, 1));
  int xs_arg = 0, ys_arg = 1, opts = 2;
  if (!ui_is_opts(L, 2)) { /* ui.plot(xs, ys, ...) */
    xs_arg = 1;
    ys_arg = 2;
    opts = 3;
  }
  const char *ys_name = "ys";
  bind_checkopts(L, opts, keys);
  lua_settop(L, opts);
  int w, h;
  ui_size(L, opts, &w, &h);
  tui_plot_opts o;
  tui_plot_opts_init(&o);
  o.title = bind_optfield_string(L, opts, "title", NULL);
  o.xlabel = bind_optfield_string(L, opts, "xlabel", NULL);
  o.ylabel = bind_optfield_string(L, opts, "ylabel", NULL);
  o.logy = bind_optfield_boolean(L, opts, "logy", 0);
  /* xs */
  const double *xs = NULL;
  size_t nx = 0;
  if (xs_arg) {
    if (ui_is_series_list(L, xs_arg))
      bind_argerror(L, xs_arg, "xs", "vector or table of numbers expected, got a list of series");
    xs = ui_tovector(L, xs_arg, xs_arg, "xs", &nx);
  }
  /* the series */
  size_t ns = 1;
  int list = ui_is_series_list(L, ys_arg);
  if (list) ns = (size_t)lua_rawlen(L, ys_arg);
  if (ns > 1000) bind_argerror(L, ys_arg, ys_name, "%zu series; at most 1000", ns);
  tui_series *s = lua_newuserdatauv(L, ns * sizeof *s, 0);
  for (size_t k = 0; k < ns; k++) {
    char name[32];
    if (list) {
      snprintf(name, sizeof name, "%s[%zu]", ys_name, k + 1);
      lua_rawgeti(L, ys_arg, (lua_Integer)k + 1);
      s[k].y = ui_tovector(L, -1, ys_arg, name, &s[k].n);
      lua_remove(L, -2); /* keep the converted copy */
    } else {
      snprintf(name, sizeof name, "%s", ys_name);
      s[k].y = ui_tovector(L, ys_arg, ys_arg, name, &s[k].n);
    }
    if (xs && s[k].n != nx)
      bind_argerror(L, ys_arg, name, "has %zu entries but xs has %zu", s[k].n, nx);
    s[k].x = xs;
    s[k].label = NULL;
  }
  /* opts.labels: one name per series */
  if (lua_istable(L, opts) && lua_getfield(L, opts, "labels") != LUA_TNIL) {
    int lt = lua_gettop(L);
    if (!lua_istable(L, lt))
      bind_argerror(L, opts, "opts", "option 'labels' must be a table of strings, got %s",
                    luaL_typename(L, lt));
    for (size_t k = 0; k < ns; k++) {
      if (lua_rawgeti(L, lt, (lua_Integer)k + 1) != LUA_TNIL) {
        if (lua_type(L, -1) != LUA_TSTRING)
          bind_argerror(L, opts, "opts", "labels[%zu] must be a string, got %s", k + 1,
                        luaL_typename(L, -1));
        s[k].label = lua_tostring(L, -1); /* anchored in the labels table */
      }
      lua_pop(L, 1);
    }
  } else {
    lua_pop(L, 1);
  }
  tui_grid g;
  ui_newgrid(L, &g, w, h);
  int rc = tui_plot_lines(&g, s, ns, &o);
  ui_check_render(L, rc, &g);
  return ui_finish(L, &g, opts);
}

/* ui.heatmap(M [, opts]) */
static int ui_heatmap_impl(lua_State *L) {
  static const char *const keys[] = {"width", "height", "title", "ascii", "print", NULL};
  bind_checkopts(L, 2, keys);
  lua_settop(L, 2);
  bmat *b = bind_tomat(L, 1, "M");
  ot_mat m = b->m;
  if (b->vec) { /* a vector shows as one row */
    m.cols = m.rows;
    m.rows = 1;
    m.ld = m.cols;
  }
  if (m.rows == 0 || m.cols == 0)
    bind_argerror(L, 1, "M", "is empty (%zux%zu)", m.rows, m.cols);
  int w, h;
  ui_size(L, 2, &w, &h);
  ui_ascii(L, 2); /* accepted; the shade ramp is ASCII in any case */
  tui_plot_opts o;
  tui_plot_opts_init(&o);
  o.title = bind_optfield_string(L, 2, "title", NULL);
  tui_grid g;
  ui_newgrid(L, &g, w, h);
  int rc = tui_plot_heatmap(&g, m, &o);
  ui_check_render(L, rc, &g);
  return ui_finish(L, &g, 2);
}

/* ui.scatter(X [, labels] [, opts]) */
static int ui_scatter_impl(lua_State *L) {
  static const char *const keys[] = {"width", "height", "title", "xlabel", "ylabel", "print",
                                     NULL};
  int labels_arg = 2, opts = 3;
  if (ui_is_opts(L, 2) && lua_isnoneornil(L, 3)) { /* ui.scatter(X, opts) */
    labels_arg = 0;
    opts = 2;
  }
  bind_checkopts(L, opts, keys);
  lua_settop(L, 3);
  bmat *b = bind_tomat(L, 1, "X");
  if (b->m.cols != 2 || b->vec)
    bind_argerror(L, 1, "X", "must be n x 2 (one point per row), got %zux%zu", b->m.rows,
                  b->vec ? (size_t)1 : b->m.cols);
  const double *lab = NULL;
  if (labels_arg && !lua_isnil(L, labels_arg)) {
    size_t nl;
    lab = ui_tovector(L, labels_arg, labels_arg, "labels", &nl);
    if (nl != b->m.rows)
      bind_argerror(L, labels_arg, "labels", "has %zu entries, needs %zu (one per point)", nl,
                    b->m.rows);
    for (size_t i = 0; i < nl; i++)
      if (!(lab[i] >= -1e15 && lab[i] <= 1e15) || lab[i] != floor(lab[i]))
        bind_argerror(L, labels_arg, "labels", "labels[%zu] = %g is not an integer", i + 1,
                      isnan(lab[i]) ? NAN : lab[i]); /* %g of a NaN may say "-nan" */
  }
  int w, h;
  ui_size(L, opts, &w, &h);
  tui_plot_opts o;
  tui_plot_opts_init(&o);
  o.title = bind_optfield_string(L, opts, "title", NULL);
  o.xlabel = bind_optfield_string(L, opts, "xlabel", NULL);
  o.ylabel = bind_optfield_string(L, opts, "ylabel", NULL);
  tui_grid g;
  ui_newgrid(L, &g, w, h);
  int rc = tui_plot_scatter(&g, b->m, lab, &o);
  ui_check_render(L, rc, &g);
  return ui_finish(L, &g, opts);
}

/* ui.sparkline(values [, opts]) -> string */
static int ui_sparkline_impl(lua_State *L) {
  static const char *const keys[] = {"width", "ascii", NULL};
  bind_checkopts(L, 2, keys);
  lua_settop(L, 2);
  size_t n;
  const double *v = ui_tovector(L, 1, 1, "values", &n);
  int dw, dh;
  ui_default_size(&dw, &dh);
  lua_Integer width = bind_optfield_integer(L, 2, "width", dw);
  if (width < 1 || width > 100000)
    bind_argerror(L, 2, "opts", "option 'width' must be in 1..100000, got %lld",
                  (long long)width);
  int ascii = ui_ascii(L, 2);
  size_t size = tui_sparkline_size(n, (size_t)width, ascii);
  char *buf = lua_newuserdatauv(L, size, 0);
  tui_sparkline(buf, size, v, n, (size_t)width, ascii);
  lua_pushstring(L, buf);
  return 1;
}

static int ui_plot(lua_State *L) { return ui_call(L, ui_plot_impl, "ui.plot"); }
static int ui_heatmap(lua_State *L) { return ui_call(L, ui_heatmap_impl, "ui.heatmap"); }
static int ui_scatter(lua_State *L) { return ui_call(L, ui_scatter_impl, "ui.scatter"); }
static int ui_sparkline(lua_State *L) { return ui_call(L, ui_sparkline_impl, "ui.sparkline"); }

static const luaL_Reg ui_funcs[] = {
  {"plot", ui_plot},
  {"heatmap", ui_heatmap},
  {"scatter", ui_scatter},
  {"sparkline", ui_sparkline},
  {NULL, NULL}
};

/* Adds the sub-table ot.ui to the ot table on top of the stack. */
void bind_open_ui(lua_State *L) {
  lua_newtable(L);
  luaL_setfuncs(L, ui_funcs, 0);
  lua_setfield(L, -2, "ui");
}
