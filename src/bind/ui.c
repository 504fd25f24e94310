/*
 * ui.c -- the text plots of the Lua face `ui` (the table ot.ui, which the
 * prelude makes the global `ui`): ui.plot, ui.heatmap, ui.scatter and
 * ui.sparkline.  Each draws with src/tui/plot.c into a grid held in a Lua
 * userdata (an error cannot leak it) and prints the grid as plain text
 * through Lua's io.write, so plots work in pipes, scripts and logs.
 *
 * The panel functions (ui.show, ui.hide, ui.watch) drive src/tui/panel.c,
 * and ui.save writes pictures: PNG (zlib's deflate and CRC-32, encoded
 * here), PGM, SVG and CSV, replacing the file atomically.
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

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <zlib.h>

#include "bind.h"
#include "ot/io.h"
#include "tui/panel.h"
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
static int ui_ascii_env(void) {
  const char *term = getenv("TERM");
  if (term && strcmp(term, "dumb") == 0) return 1;
  const char *cs = nl_langinfo(CODESET);
  return !(cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0));
}

static int ui_ascii(lua_State *L, int opts) {
  int a = bind_optfield_boolean(L, opts, "ascii", -1);
  return a != -1 ? a : ui_ascii_env();
}

/* 1 when plots may use colours: opts.color, or else a 256-colour terminal
 * on stdout, colours not turned off (NO_COLOR, --no-color) and UTF-8. */
static int ui_color(lua_State *L, int opts) {
  int c = bind_optfield_boolean(L, opts, "color", -1);
  if (c != -1) return c;
  if (!isatty(STDOUT_FILENO) || ui_ascii_env()) return 0;
  const char *nc = getenv("NO_COLOR");
  if (nc && nc[0]) return 0;
  int host_color = 1;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "otlab.host") == LUA_TTABLE) {
    lua_getfield(L, -1, "color");
    host_color = lua_isnil(L, -1) || lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  if (!host_color) return 0;
  const char *term = getenv("TERM"), *ct = getenv("COLORTERM");
  return (term && strstr(term, "256color")) || (ct && ct[0]);
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
static int ui_finish(lua_State *L, tui_grid *g, int opts, int color) {
  int print = bind_optfield_boolean(L, opts, "print", 1);
  g->height = tui_grid_used_height(g);
  size_t size = color ? tui_grid_ansi(g, NULL, 0) : tui_grid_text_size(g);
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, size);
  if (color) tui_grid_ansi(g, p, size);
  else tui_grid_text(g, p, size);
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
  return ui_finish(L, &g, opts, 0);
}

/*
 * opts[key]: a table of exactly n strings (axis names) as a NULL-free array
 * in a new userdata on the stack, or NULL when absent.
 */
static const char *const *ui_names(lua_State *L, int opts, const char *key, size_t n) {
  if (!lua_istable(L, opts) || lua_getfield(L, opts, key) == LUA_TNIL) {
    if (lua_istable(L, opts)) lua_pop(L, 1);
    return NULL;
  }
  int t = lua_gettop(L);
  if (!lua_istable(L, t) || (size_t)lua_rawlen(L, t) != n)
    bind_argerror(L, opts, "opts", "option '%s' must be a table of %zu strings", key, n);
  const char **names = lua_newuserdatauv(L, (n ? n : 1) * sizeof *names, 0);
  for (size_t k = 0; k < n; k++) {
    lua_rawgeti(L, t, (lua_Integer)k + 1);
    if (!lua_isstring(L, -1))
      bind_argerror(L, opts, "opts", "%s[%zu] must be a string, got %s", key, k + 1,
                    luaL_typename(L, -1));
    names[k] = lua_tostring(L, -1); /* anchored in the option's table */
    lua_pop(L, 1);
  }
  return names;
}

/* M as a matrix view (a vector shows as one row); errors for empty ones. */
static ot_mat ui_heat_mat(lua_State *L, int arg) {
  bmat *b = bind_tomat(L, arg, "M");
  ot_mat m = b->m;
  if (b->vec) {
    m.cols = m.rows;
    m.rows = 1;
    m.ld = m.cols;
  }
  if (m.rows == 0 || m.cols == 0)
    bind_argerror(L, arg, "M", "is empty (%zux%zu)", m.rows, m.cols);
  return m;
}

/* ui.heatmap(M [, opts]) */
static int ui_heatmap_impl(lua_State *L) {
  static const char *const keys[] = {"width", "height", "title", "ascii", "color", "rows",
                                     "cols", "print", NULL};
  bind_checkopts(L, 2, keys);
  lua_settop(L, 2);
  ot_mat m = ui_heat_mat(L, 1);
  int w, h;
  ui_size(L, 2, &w, &h);
  tui_plot_opts o;
  tui_plot_opts_init(&o);
  o.title = bind_optfield_string(L, 2, "title", NULL);
  o.color = bind_optfield_boolean(L, 2, "ascii", 0) ? 0 : ui_color(L, 2);
  o.row_names = ui_names(L, 2, "rows", m.rows);
  o.col_names = ui_names(L, 2, "cols", m.cols);
  tui_grid g;
  ui_newgrid(L, &g, w, h);
  int rc = tui_plot_heatmap(&g, m, &o);
  ui_check_render(L, rc, &g);
  return ui_finish(L, &g, 2, o.color);
}

/* ui.scatter(X [, labels] [, opts]) */
static int ui_scatter_impl(lua_State *L) {
  static const char *const keys[] = {"width", "height", "title", "xlabel", "ylabel", "color",
                                     "print", NULL};
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
  o.color = ui_color(L, opts);
  tui_grid g;
  ui_newgrid(L, &g, w, h);
  int rc = tui_plot_scatter(&g, b->m, lab, &o);
  ui_check_render(L, rc, &g);
  return ui_finish(L, &g, opts, o.color);
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

/* ---- the panel --------------------------------------------------------------- */

/* ui.show([opts]): the panel on the terminal (until q when the command
 * ends), or its text when there is no terminal. */
static int ui_show_impl(lua_State *L) {
  static const char *const keys[] = {"width", "height", "print", NULL};
  bind_checkopts(L, 1, keys);
  lua_settop(L, 1);
  if (tui_panel_show(1)) return 0;
  int w, h;
  ui_size(L, 1, &w, &h);
  tui_grid g;
  ui_newgrid(L, &g, w, h);
  ui_check_render(L, tui_panel_render(&g, 0), &g);
  return ui_finish(L, &g, 1, 0);
}

/* ui.hide(): close the panel. */
static int ui_hide_impl(lua_State *L) {
  (void)L;
  tui_panel_hide();
  return 0;
}

/* ui.watch(f, ...): f(...) with the panel open from the start; its results. */
static int ui_watch(lua_State *L) {
  if (lua_type(L, 1) != LUA_TFUNCTION)
    return luaL_error(L, "ui.watch: bad argument #1 'f' (function expected, got %s)",
                      luaL_typename(L, 1));
  tui_panel_show(0);
  int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  tui_panel_hide();
  if (st != LUA_OK) return lua_error(L);
  return lua_gettop(L);
}

/* print and io.write close the panel first, so what they print shows:
 * upvalue 1 is the original function. */
static int ui_output_wrapper(lua_State *L) {
  tui_panel_before_output();
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

/* Wrap t[key] (t at index t) with ui_output_wrapper when it is a function. */
static void ui_wrap_output(lua_State *L, int t, const char *key) {
  if (lua_getfield(L, t, key) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushcclosure(L, ui_output_wrapper, 1);
  lua_setfield(L, t, key);
}

/* ---- ui.save: pictures and data ---------------------------------------------------- */

/* Bytes of a file being built, in a Lua buffer (an error cannot leak it). */
static void put32(luaL_Buffer *b, unsigned long v) {
  char c[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
  luaL_addlstring(b, c, 4);
}

/* One PNG chunk: length, type, data, CRC-32 of type and data. */
static void png_chunk(luaL_Buffer *b, const char *type, const unsigned char *data, size_t len) {
  put32(b, (unsigned long)len);
  luaL_addlstring(b, type, 4);
  if (len) luaL_addlstring(b, (const char *)data, len);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, (const Bytef *)type, 4);
  if (len) crc = crc32(crc, data, (uInt)len);
  put32(b, crc);
}

/*
 * An RGB raster (w x h, 3 bytes a pixel, rows top to bottom) as a PNG file
 * pushed as a string: signature, IHDR (8-bit truecolour), one IDAT with
 * the zlib stream of the rows (each with filter byte 0), IEND.
 */
static void png_encode(lua_State *L, const unsigned char *rgb, int w, int h) {
  size_t row = (size_t)w * 3 + 1, raw_len = row * (size_t)h;
  unsigned char *raw = lua_newuserdatauv(L, raw_len, 0);
  for (int y = 0; y < h; y++) {
    raw[(size_t)y * row] = 0;
    memcpy(raw + (size_t)y * row + 1, rgb + (size_t)y * (size_t)w * 3, (size_t)w * 3);
  }
  uLongf zlen = compressBound((uLong)raw_len);
  unsigned char *z = lua_newuserdatauv(L, zlen, 0);
  if (compress2(z, &zlen, raw, (uLong)raw_len, 6) != Z_OK) luaL_error(L, "?: compression failed");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, "\x89PNG\r\n\x1a\n", 8);
  unsigned char ihdr[13] = {(unsigned char)(w >> 24), (unsigned char)(w >> 16),
                            (unsigned char)(w >> 8), (unsigned char)w,
                            (unsigned char)(h >> 24), (unsigned char)(h >> 16),
                            (unsigned char)(h >> 8), (unsigned char)h,
                            8, 2, 0, 0, 0};
  png_chunk(&b, "IHDR", ihdr, 13);
  png_chunk(&b, "IDAT", z, zlen);
  png_chunk(&b, "IEND", NULL, 0);
  luaL_pushresult(&b);
}

/* Write data to path, replacing it atomically (ot_io_write_bytes); nil, msg
 * pushed on failure, true on success. */
static int ui_write_file(lua_State *L, const char *path, const char *data, size_t len) {
  char err[512];
  if (ot_io_write_bytes(path, data, len, err, sizeof err) != OT_OK) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* Finite range of m into lo, hi (lo > hi when none). */
static void mat_range(ot_mat m, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (size_t i = 0; i < m.rows; i++)
    for (size_t j = 0; j < m.cols; j++) {
      double v = m.data[i * m.ld + j];
      if (!isfinite(v)) continue;
      if (v < *lo) *lo = v;
      if (v > *hi) *hi = v;
    }
}

static double unit_of(double v, double lo, double hi) {
  if (!isfinite(v)) return NAN;
  return hi > lo ? (v - lo) / (hi - lo) : 0.5;
}

/* The heatmap picture of m pushed as a string in format fmt ("png", "pgm",
 * "svg", "csv"); `scale` pixels per element (0: automatic). */
static void save_heatmap(lua_State *L, ot_mat m, const char *fmt, int scale, const char *title) {
  double lo, hi;
  mat_range(m, &lo, &hi);
  size_t big = m.rows > m.cols ? m.rows : m.cols;
  if (scale <= 0) scale = big >= 512 ? 1 : (int)(512 / big);
  size_t W = m.cols * (size_t)scale, H = m.rows * (size_t)scale;
  if (W > 4096) W = 4096; /* larger matrices are sampled */
  if (H > 4096) H = 4096;
  if (strcmp(fmt, "csv") == 0) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < m.rows; i++) {
      for (size_t j = 0; j < m.cols; j++) {
        char num[40];
        snprintf(num, sizeof num, "%s%.17g", j ? "," : "", m.data[i * m.ld + j]);
        luaL_addstring(&b, num);
      }
      luaL_addchar(&b, '\n');
    }
    luaL_pushresult(&b);
  } else if (strcmp(fmt, "svg") == 0) {
    size_t nr = m.rows < 200 ? m.rows : 200, nc = m.cols < 200 ? m.cols : 200;
    int cell = (int)(nr > nc ? 600 / nr : 600 / nc);
    if (cell < 1) cell = 1;
    int top = title ? 24 : 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char line[256];
    snprintf(line, sizeof line,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
             "width=\"%zu\" height=\"%zu\" viewBox=\"0 0 %zu %zu\">\n",
             nc * (size_t)cell, nr * (size_t)cell + (size_t)top, nc * (size_t)cell,
             nr * (size_t)cell + (size_t)top);
    luaL_addstring(&b, line);
    if (title) {
      luaL_addstring(&b, "<text x=\"4\" y=\"17\" font-family=\"sans-serif\" font-size=\"14\">");
      for (const char *c = title; *c; c++) {
        if (*c == '<') luaL_addstring(&b, "&lt;");
        else if (*c == '&') luaL_addstring(&b, "&amp;");
        else if (*c == '>') luaL_addstring(&b, "&gt;");
        else luaL_addchar(&b, *c);
      }
      luaL_addstring(&b, "</text>\n");
    }
    for (size_t i = 0; i < nr; i++)
      for (size_t j = 0; j < nc; j++) {
        double v = m.data[(i * m.rows / nr) * m.ld + j * m.cols / nc];
        unsigned char rgb[3];
        tui_heat_rgb(unit_of(v, lo, hi), rgb);
        snprintf(line, sizeof line,
                 "<rect x=\"%zu\" y=\"%zu\" width=\"%d\" height=\"%d\" fill=\"#%02x%02x%02x\"/>\n",
                 j * (size_t)cell, i * (size_t)cell + (size_t)top, cell, cell, rgb[0], rgb[1], rgb[2]);
        luaL_addstring(&b, line);
      }
    luaL_addstring(&b, "</svg>\n");
    luaL_pushresult(&b);
  } else {
    int gray = strcmp(fmt, "pgm") == 0;
    size_t px = gray ? 1 : 3;
    unsigned char *img = lua_newuserdatauv(L, W * H * px, 0);
    for (size_t y = 0; y < H; y++)
      for (size_t x = 0; x < W; x++) {
        double t = unit_of(m.data[(y * m.rows / H) * m.ld + x * m.cols / W], lo, hi);
        unsigned char *p = img + (y * W + x) * px;
        if (gray) p[0] = isnan(t) ? 0 : (unsigned char)lround(t * 255.0);
        else tui_heat_rgb(t, p);
      }
    if (gray) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      char head[64];
      snprintf(head, sizeof head, "P5\n%zu %zu\n255\n", W, H);
      luaL_addstring(&b, head);
      luaL_addlstring(&b, (const char *)img, W * H);
      luaL_pushresult(&b);
    } else {
      png_encode(L, img, (int)W, (int)H);
    }
  }
}

/* Class index of each label (sorted distinct values) into cls (n ints). */
static void label_classes(const double *lab, size_t n, int *cls) {
  for (size_t i = 0; i < n; i++) {
    int k = 0;
    for (size_t j = 0; j < n; j++) /* distinct smaller labels: O(n^2) only for n <= 20000 */
      if (lab[j] < lab[i]) {
        int seen = 0;
        for (size_t q = 0; q < j && !seen; q++) seen = lab[q] == lab[j];
        k += !seen;
      }
    cls[i] = k;
  }
}

/* The scatter picture of X (n x 2) with optional labels, as fmt. */
static void save_scatter(lua_State *L, ot_mat X, const double *lab, const char *fmt,
                         const char *title) {
  size_t n = X.rows;
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double x = X.data[i * X.ld], y = X.data[i * X.ld + 1];
    if (!isfinite(x) || !isfinite(y)) continue;
    xlo = x < xlo ? x : xlo;
    xhi = x > xhi ? x : xhi;
    ylo = y < ylo ? y : ylo;
    yhi = y > yhi ? y : yhi;
  }
  int *cls = lua_newuserdatauv(L, (n ? n : 1) * sizeof(int), 0);
  if (lab && n <= 20000) label_classes(lab, n, cls);
  else for (size_t i = 0; i < n; i++) cls[i] = lab ? (int)lab[i] : 0;
  const int S = 512, pad = 16;
  luaL_Buffer b;
  if (strcmp(fmt, "csv") == 0) {
    luaL_buffinit(L, &b);
    luaL_addstring(&b, lab ? "x,y,label\n" : "x,y\n");
    for (size_t i = 0; i < n; i++) {
      char line[96];
      if (lab) snprintf(line, sizeof line, "%.17g,%.17g,%.17g\n", X.data[i * X.ld], X.data[i * X.ld + 1], lab[i]);
      else snprintf(line, sizeof line, "%.17g,%.17g\n", X.data[i * X.ld], X.data[i * X.ld + 1]);
      luaL_addstring(&b, line);
    }
    luaL_pushresult(&b);
    return;
  }
  int svg = strcmp(fmt, "svg") == 0;
  unsigned char *img = NULL;
  if (svg) {
    luaL_buffinit(L, &b);
    char line[200];
    snprintf(line, sizeof line,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
             "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n<rect width=\"%d\" height=\"%d\" "
             "fill=\"white\"/>\n", S, S, S, S, S, S);
    luaL_addstring(&b, line);
    if (title) {
      luaL_addstring(&b, "<text x=\"4\" y=\"14\" font-family=\"sans-serif\" font-size=\"12\">");
      for (const char *c = title; *c; c++) {
        if (*c == '<') luaL_addstring(&b, "&lt;");
        else if (*c == '&') luaL_addstring(&b, "&amp;");
        else if (*c == '>') luaL_addstring(&b, "&gt;");
        else luaL_addchar(&b, *c);
      }
      luaL_addstring(&b, "</text>\n");
    }
  } else {
    img = lua_newuserdatauv(L, (size_t)S * S * 3, 0);
    memset(img, 255, (size_t)S * S * 3);
  }
  for (size_t i = 0; i < n; i++) {
    double x = X.data[i * X.ld], y = X.data[i * X.ld + 1];
    if (!isfinite(x) || !isfinite(y)) continue;
    double tx = xhi > xlo ? (x - xlo) / (xhi - xlo) : 0.5, ty = yhi > ylo ? (y - ylo) / (yhi - ylo) : 0.5;
    int px = pad + (int)lround(tx * (S - 2 * pad)), py = S - pad - (int)lround(ty * (S - 2 * pad));
    unsigned char rgb[3] = {0, 0, 0};
    if (lab) tui_class_rgb(cls[i], rgb);
    if (svg) {
      char line[160];
      snprintf(line, sizeof line, "<circle cx=\"%d\" cy=\"%d\" r=\"2.5\" fill=\"#%02x%02x%02x\"/>\n",
               px, py, rgb[0], rgb[1], rgb[2]);
      luaL_addstring(&b, line);
    } else {
      for (int dy = -2; dy <= 2; dy++)
        for (int dx = -2; dx <= 2; dx++) {
          if (dx * dx + dy * dy > 5) continue;
          int qx = px + dx, qy = py + dy;
          if (qx < 0 || qy < 0 || qx >= S || qy >= S) continue;
          memcpy(img + ((size_t)qy * S + (size_t)qx) * 3, rgb, 3);
        }
    }
  }
  if (svg) {
    luaL_addstring(&b, "</svg>\n");
    luaL_pushresult(&b);
  } else {
    png_encode(L, img, S, S);
  }
}

/* Curves: series s (ns) as SVG polylines or CSV columns. */
static void save_curves(lua_State *L, const tui_series *s, size_t ns, const char *fmt, int logy,
                        const char *title) {
  luaL_Buffer b;
  if (strcmp(fmt, "csv") == 0) {
    size_t n = 0;
    for (size_t k = 0; k < ns; k++) n = s[k].n > n ? s[k].n : n;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "x");
    for (size_t k = 0; k < ns; k++) {
      char name[80];
      if (s[k].label) snprintf(name, sizeof name, ",%s", s[k].label);
      else snprintf(name, sizeof name, ",series%zu", k + 1);
      luaL_addstring(&b, name);
    }
    luaL_addchar(&b, '\n');
    for (size_t i = 0; i < n; i++) {
      char num[40];
      snprintf(num, sizeof num, "%.17g", s[0].x ? s[0].x[i] : (double)(i + 1));
      luaL_addstring(&b, num);
      for (size_t k = 0; k < ns; k++) {
        if (i < s[k].n) snprintf(num, sizeof num, ",%.17g", s[k].y[i]);
        else snprintf(num, sizeof num, ",");
        luaL_addstring(&b, num);
      }
      luaL_addchar(&b, '\n');
    }
    luaL_pushresult(&b);
    return;
  }
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (size_t k = 0; k < ns; k++)
    for (size_t i = 0; i < s[k].n; i++) {
      double x = s[k].x ? s[k].x[i] : (double)(i + 1), y = s[k].y[i];
      if (logy) y = y > 0 ? log10(y) : NAN;
      if (!isfinite(x) || !isfinite(y)) continue;
      xlo = x < xlo ? x : xlo;
      xhi = x > xhi ? x : xhi;
      ylo = y < ylo ? y : ylo;
      yhi = y > yhi ? y : yhi;
    }
  const int W = 640, H = 400, L0 = 70, R0 = 20, T0 = 30, B0 = 40;
  luaL_buffinit(L, &b);
  char line[400];
  snprintf(line, sizeof line,
           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
           "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n<rect width=\"%d\" height=\"%d\" "
           "fill=\"white\"/>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
           "stroke=\"black\"/>\n", W, H, W, H, W, H, L0, T0, W - L0 - R0, H - T0 - B0);
  luaL_addstring(&b, line);
  if (xlo <= xhi) {
    snprintf(line, sizeof line,
             "<g font-family=\"sans-serif\" font-size=\"11\"><text x=\"%d\" y=\"%d\">%.4g</text>"
             "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.4g</text><text x=\"%d\" y=\"%d\" "
             "text-anchor=\"end\">%s%.4g</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s%.4g"
             "</text></g>\n", L0, H - B0 + 14, xlo, W - R0, H - B0 + 14, xhi, L0 - 4, H - B0,
             logy ? "1e" : "", ylo, L0 - 4, T0 + 10, logy ? "1e" : "", yhi);
    luaL_addstring(&b, line);
  }
  if (title) {
    luaL_addstring(&b, "<text x=\"70\" y=\"20\" font-family=\"sans-serif\" font-size=\"14\">");
    for (const char *c = title; *c; c++) {
      if (*c == '<') luaL_addstring(&b, "&lt;");
      else if (*c == '&') luaL_addstring(&b, "&amp;");
      else if (*c == '>') luaL_addstring(&b, "&gt;");
      else luaL_addchar(&b, *c);
    }
    luaL_addstring(&b, "</text>\n");
  }
  for (size_t k = 0; k < ns; k++) {
    unsigned char rgb[3];
    tui_class_rgb((int)k, rgb);
    snprintf(line, sizeof line, "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"#%02x%02x%02x\" points=\"",
             rgb[0], rgb[1], rgb[2]);
    luaL_addstring(&b, line);
    for (size_t i = 0; i < s[k].n; i++) {
      double x = s[k].x ? s[k].x[i] : (double)(i + 1), y = s[k].y[i];
      if (logy) y = y > 0 ? log10(y) : NAN;
      if (!isfinite(x) || !isfinite(y)) continue;
      double tx = xhi > xlo ? (x - xlo) / (xhi - xlo) : 0.5, ty = yhi > ylo ? (y - ylo) / (yhi - ylo) : 0.5;
      snprintf(line, sizeof line, "%.1f,%.1f ", L0 + tx * (W - L0 - R0), H - B0 - ty * (H - T0 - B0));
      luaL_addstring(&b, line);
    }
    luaL_addstring(&b, "\"/>\n");
  }
  luaL_addstring(&b, "</svg>\n");
  luaL_pushresult(&b);
}

/* 1 when the value at idx is vector-like: a vector, a 1 x n / n x 1 matrix
 * or a table whose first entry is a number. */
static int ui_is_vectorish(lua_State *L, int idx) {
  bmat *b = bind_testmat(L, idx);
  if (b) return b->vec || b->m.rows == 1 || b->m.cols == 1;
  if (!lua_istable(L, idx)) return 0;
  lua_rawgeti(L, idx, 1);
  int num = lua_type(L, -1) == LUA_TNUMBER;
  lua_pop(L, 1);
  return num;
}

/* ui.save(file, M [, opts]) / ui.save(file, X, labels [, opts]) /
 * ui.save(file, ys | {ys...} [, opts]) / ui.save(file, xs, ys [, opts]) */
static int ui_save_impl(lua_State *L) {
  static const char *const keys[] = {"kind", "title", "scale", "logy", "labels", NULL};
  const char *path = luaL_checkstring(L, 1);
  const char *dot = strrchr(path, '.');
  char fmt[8] = "";
  if (dot && strlen(dot + 1) < sizeof fmt)
    for (size_t k = 0; dot[1 + k]; k++) fmt[k] = (char)tolower((unsigned char)dot[1 + k]);
  if (strcmp(fmt, "png") && strcmp(fmt, "svg") && strcmp(fmt, "pgm") && strcmp(fmt, "csv"))
    bind_argerror(L, 1, "file", "the name must end in .png, .svg, .pgm or .csv, got '%s'", path);
  if (lua_isnoneornil(L, 2))
    bind_argerror(L, 2, "data", "a matrix, points or curves expected, got %s", luaL_typename(L, 2));
  /* the options table is the last table argument without an array part */
  int opts = 0, top = lua_gettop(L);
  if (top >= 3 && lua_istable(L, top) && !bind_testmat(L, top) && lua_rawlen(L, top) == 0 &&
      !lua_isnil(L, top)) {
    lua_pushnil(L);
    int has_keys = lua_next(L, top) != 0;
    if (has_keys) lua_pop(L, 2);
    if (has_keys || top >= 4) opts = top;
  }
  if (opts) bind_checkopts(L, opts, keys);
  int nargs = opts ? opts - 1 : top;
  const char *kind = opts ? bind_optfield_string(L, opts, "kind", NULL) : NULL;
  const char *title = opts ? bind_optfield_string(L, opts, "title", NULL) : NULL;
  int scale = opts ? (int)bind_optfield_integer(L, opts, "scale", 0) : 0;
  int logy = opts ? bind_optfield_boolean(L, opts, "logy", 0) : 0;
  if (scale < 0 || scale > 64)
    bind_argerror(L, opts, "opts", "option 'scale' must be in 0..64, got %d", scale);
  if (!kind) {
    if (ui_is_series_list(L, 2) || ui_is_vectorish(L, 2)) kind = "plot";
    else if (nargs >= 3) kind = "scatter";
    else kind = "heatmap";
  }
  if (strcmp(kind, "heatmap") == 0) {
    ot_mat m = ui_heat_mat(L, 2);
    save_heatmap(L, m, fmt, scale, title);
  } else if (strcmp(kind, "scatter") == 0) {
    bmat *b = bind_tomat(L, 2, "X");
    if (b->m.cols != 2 || b->vec)
      bind_argerror(L, 2, "X", "must be n x 2 (one point per row), got %zux%zu", b->m.rows,
                    b->vec ? (size_t)1 : b->m.cols);
    if (strcmp(fmt, "pgm") == 0)
      bind_argerror(L, 1, "file", "scatters save as .png, .svg or .csv");
    const double *lab = NULL;
    if (nargs >= 3 && !lua_isnil(L, 3)) {
      size_t nl;
      lab = ui_tovector(L, 3, 3, "labels", &nl);
      if (nl != b->m.rows)
        bind_argerror(L, 3, "labels", "has %zu entries, needs %zu (one per point)", nl, b->m.rows);
    }
    save_scatter(L, b->m, lab, fmt, title);
  } else if (strcmp(kind, "plot") == 0) {
    if (strcmp(fmt, "svg") && strcmp(fmt, "csv"))
      bind_argerror(L, 1, "file", "curves save as .svg or .csv");
    int xs_arg = nargs >= 3 ? 2 : 0, ys_arg = nargs >= 3 ? 3 : 2;
    const double *xs = NULL;
    size_t nx = 0;
    if (xs_arg) xs = ui_tovector(L, xs_arg, xs_arg, "xs", &nx);
    int list = ui_is_series_list(L, ys_arg);
    size_t ns = list ? (size_t)lua_rawlen(L, ys_arg) : 1;
    if (ns == 0 || ns > 1000) bind_argerror(L, ys_arg, "ys", "1..1000 series expected, got %zu", ns);
    tui_series *s = lua_newuserdatauv(L, ns * sizeof *s, 0);
    for (size_t k = 0; k < ns; k++) {
      if (list) {
        lua_rawgeti(L, ys_arg, (lua_Integer)k + 1);
        s[k].y = ui_tovector(L, -1, ys_arg, "ys", &s[k].n);
        lua_remove(L, -2);
      } else {
        s[k].y = ui_tovector(L, ys_arg, ys_arg, "ys", &s[k].n);
      }
      if (xs && s[k].n != nx)
        bind_argerror(L, ys_arg, "ys", "has %zu entries but xs has %zu", s[k].n, nx);
      s[k].x = xs;
      s[k].label = NULL;
      if (opts && lua_getfield(L, opts, "labels") == LUA_TTABLE) {
        if (lua_rawgeti(L, -1, (lua_Integer)k + 1) == LUA_TSTRING)
          s[k].label = lua_tostring(L, -1); /* anchored in opts.labels */
        lua_pop(L, 1);
      }
      if (opts) lua_pop(L, 1);
    }
    save_curves(L, s, ns, fmt, logy, title);
  } else {
    bind_argerror(L, opts, "opts", "option 'kind' must be \"heatmap\", \"scatter\" or \"plot\", got '%s'", kind);
  }
  size_t len;
  const char *data = lua_tolstring(L, -1, &len);
  return ui_write_file(L, path, data, len);
}

static int ui_plot(lua_State *L) { return ui_call(L, ui_plot_impl, "ui.plot"); }
static int ui_heatmap(lua_State *L) { return ui_call(L, ui_heatmap_impl, "ui.heatmap"); }
static int ui_scatter(lua_State *L) { return ui_call(L, ui_scatter_impl, "ui.scatter"); }
static int ui_sparkline(lua_State *L) { return ui_call(L, ui_sparkline_impl, "ui.sparkline"); }
static int ui_show(lua_State *L) { return ui_call(L, ui_show_impl, "ui.show"); }
static int ui_hide(lua_State *L) { return ui_call(L, ui_hide_impl, "ui.hide"); }
static int ui_save(lua_State *L) { return ui_call(L, ui_save_impl, "ui.save"); }

static const luaL_Reg ui_funcs[] = {
  {"plot", ui_plot},
  {"heatmap", ui_heatmap},
  {"scatter", ui_scatter},
  {"sparkline", ui_sparkline},
  {"show", ui_show},
  {"hide", ui_hide},
  {"watch", ui_watch},
  {"save", ui_save},
  {NULL, NULL}
};

/* Adds the sub-table ot.ui to the ot table on top of the stack. */
void bind_open_ui(lua_State *L) {
  lua_newtable(L);
  luaL_setfuncs(L, ui_funcs, 0);
  lua_setfield(L, -2, "ui");
  /* print and io.write take an open panel off the screen first */
  lua_pushglobaltable(L);
  ui_wrap_output(L, lua_gettop(L), "print");
  if (lua_getfield(L, -1, "io") == LUA_TTABLE) ui_wrap_output(L, lua_gettop(L), "write");
  lua_pop(L, 2);
}
