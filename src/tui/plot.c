/*
 * plot.c -- text plots drawn into a character grid (see plot.h).
 *
 * Everything here is pure rendering: no curses, no Lua, no output except
 * tui_grid_write's FILE*.  The axes of line plots and scatters share one
 * layout (frame_layout): title row, optional y label row, the plot area
 * with y tick labels on its left, the x axis, its tick labels, an optional
 * x label row and legend rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ot/alloc.h"
#include "ot/ot.h"
#include "plot.h"

/* ---- the grid ------------------------------------------------------------ */

static int row_extent(const tui_grid *g, int y);

int tui_grid_init(tui_grid *g, int width, int height, tui_cell *cells) {
  if (width < 1 || height < 1 || width > TUI_GRID_MAX || height > TUI_GRID_MAX)
    return OT_EINVAL;
  g->width = width;
  g->height = height;
  g->cells = cells;
  g->owned = 0;
  tui_grid_clear(g);
  return OT_OK;
}

int tui_grid_new(tui_grid **out, int width, int height) {
  *out = NULL;
  if (width < 1 || height < 1 || width > TUI_GRID_MAX || height > TUI_GRID_MAX)
    return OT_EINVAL;
  tui_grid *g;
  int rc = ot_malloc(sizeof *g, &g);
  if (rc != OT_OK) return rc;
  tui_cell *cells;
  rc = ot_malloc((size_t)width * (size_t)height * sizeof *cells, &cells);
  if (rc != OT_OK) {
    ot_free(g);
    return rc;
  }
  tui_grid_init(g, width, height, cells);
  g->owned = 1;
  *out = g;
  return OT_OK;
}

void tui_grid_free(tui_grid *g) {
  if (!g) return;
  if (g->owned) ot_free(g->cells);
  ot_free(g);
}

void tui_grid_clear(tui_grid *g) {
  size_t n = (size_t)g->width * (size_t)g->height;
  for (size_t i = 0; i < n; i++) {
    g->cells[i].ch[0] = ' ';
    g->cells[i].ch[1] = '\0';
    g->cells[i].color = 0;
    g->cells[i].bg = 0;
  }
}

void tui_grid_put2(tui_grid *g, int x, int y, const char *glyph, int color, int bg) {
  if (x < 0 || y < 0 || x >= g->width || y >= g->height) return;
  tui_cell *c = &g->cells[(size_t)y * (size_t)g->width + (size_t)x];
  size_t len = strlen(glyph);
  if (len > 4) len = 4;
  memcpy(c->ch, glyph, len);
  c->ch[len] = '\0';
  c->color = (unsigned char)color;
  c->bg = (unsigned char)bg;
}

void tui_grid_put(tui_grid *g, int x, int y, const char *glyph, int color) {
  tui_grid_put2(g, x, y, glyph, color, 0);
}

void tui_grid_blit(tui_grid *g, const tui_grid *src, int x, int y) {
  for (int r = 0; r < src->height; r++) {
    if (y + r < 0 || y + r >= g->height) continue;
    for (int c = 0; c < src->width; c++) {
      if (x + c < 0 || x + c >= g->width) continue;
      g->cells[(size_t)(y + r) * (size_t)g->width + (size_t)(x + c)] =
        src->cells[(size_t)r * (size_t)src->width + (size_t)c];
    }
  }
}

/* ---- colours ------------------------------------------------------------- */

/* Categorical colours (series, classes): blue, orange, green, red, purple,
 * brown, pink, grey, olive, cyan -- distinct on dark and light screens. */
static const unsigned char categorical[10] = {33, 208, 40, 196, 135, 130, 205, 245, 142, 44};

/* Viridis-like stops (RGB) of the heat ramp, dark purple to yellow. */
static const unsigned char heat_stops[9][3] = {
  {68, 1, 84},    {71, 44, 122},  {59, 81, 139},  {44, 113, 142}, {33, 144, 141},
  {39, 173, 129}, {92, 200, 99},  {170, 220, 50}, {253, 231, 37}};

/* Nearest level 0..5 of the xterm colour cube for a channel value. */
static int cube_level(double v) {
  static const int lv[6] = {0, 95, 135, 175, 215, 255};
  int best = 0;
  for (int k = 1; k < 6; k++)
    if (fabs(v - lv[k]) < fabs(v - lv[best])) best = k;
  return best;
}

int tui_color_xterm(int c) {
  if (c <= 0 || c > 255) return -1;
  if (c < TUI_HEAT0) return categorical[(c - 1) % 10];
  int l = c - TUI_HEAT0;
  if (l >= TUI_HEAT_LEVELS) l = TUI_HEAT_LEVELS - 1;
  /* interpolate the stops, then the nearest colour of the 6x6x6 cube */
  double t = (double)l / (TUI_HEAT_LEVELS - 1) * 8.0;
  int k = (int)t;
  if (k > 7) k = 7;
  double f = t - k;
  int rgb[3];
  for (int ch = 0; ch < 3; ch++)
    rgb[ch] = cube_level(heat_stops[k][ch] * (1 - f) + heat_stops[k + 1][ch] * f);
  return 16 + 36 * rgb[0] + 6 * rgb[1] + rgb[2];
}

void tui_heat_rgb(double t, unsigned char rgb[3]) {
  if (isnan(t)) {
    rgb[0] = rgb[1] = rgb[2] = 128;
    return;
  }
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  double u = t * 8.0;
  int k = (int)u;
  if (k > 7) k = 7;
  double f = u - k;
  for (int ch = 0; ch < 3; ch++)
    rgb[ch] = (unsigned char)lround(heat_stops[k][ch] * (1 - f) + heat_stops[k + 1][ch] * f);
}

void tui_class_rgb(int k, unsigned char rgb[3]) {
  /* the categorical colours as RGB, same order as `categorical` */
  static const unsigned char c[10][3] = {
    {0, 135, 255}, {255, 135, 0}, {0, 215, 0},    {255, 0, 0},     {175, 95, 255},
    {175, 95, 0},  {255, 95, 175}, {138, 138, 138}, {175, 175, 0}, {0, 175, 175}};
  if (k < 0) k = -k;
  memcpy(rgb, c[k % 10], 3);
}

/* Append s to buf at *pos when it fits in len (the count grows anyway). */
static void emit(char *buf, size_t len, size_t *pos, const char *s) {
  size_t k = strlen(s);
  if (*pos + k < len) memcpy(buf + *pos, s, k);
  *pos += k;
}

size_t tui_grid_ansi(const tui_grid *g, char *buf, size_t len) {
  size_t pos = 0;
  for (int y = 0; y < g->height; y++) {
    int n = row_extent(g, y);
    const tui_cell *row = &g->cells[(size_t)y * (size_t)g->width];
    int fg = 0, bg = 0; /* colours in effect */
    for (int x = 0; x < n; x++) {
      if (row[x].color != fg || row[x].bg != bg) {
        char sgr[48];
        int xf = tui_color_xterm(row[x].color), xb = tui_color_xterm(row[x].bg);
        int k = snprintf(sgr, sizeof sgr, "\033[0m");
        if (xf >= 0) k += snprintf(sgr + k, sizeof sgr - (size_t)k, "\033[38;5;%dm", xf);
        if (xb >= 0) snprintf(sgr + k, sizeof sgr - (size_t)k, "\033[48;5;%dm", xb);
        if (fg || bg || xf >= 0 || xb >= 0) emit(buf, len, &pos, sgr);
        fg = row[x].color;
        bg = row[x].bg;
      }
      emit(buf, len, &pos, row[x].ch);
    }
    if (fg || bg) emit(buf, len, &pos, "\033[0m");
    emit(buf, len, &pos, "\n");
  }
  if (pos < len) buf[pos] = '\0';
  return pos + 1;
}

void tui_grid_puts(tui_grid *g, int x, int y, const char *s, int color) {
  char one[2] = {0, 0};
  for (; *s; s++, x++) {
    one[0] = *s;
    tui_grid_put(g, x, y, one, color);
  }
}

/* Columns of row y up to its last non-blank cell. */
static int row_extent(const tui_grid *g, int y) {
  const tui_cell *row = &g->cells[(size_t)y * (size_t)g->width];
  int n = g->width;
  while (n > 0 && strcmp(row[n - 1].ch, " ") == 0) n--;
  return n;
}

size_t tui_grid_text_size(const tui_grid *g) {
  size_t total = 1;
  for (int y = 0; y < g->height; y++) {
    int n = row_extent(g, y);
    const tui_cell *row = &g->cells[(size_t)y * (size_t)g->width];
    for (int x = 0; x < n; x++) total += strlen(row[x].ch);
    total += 1;
  }
  return total;
}

int tui_grid_text(const tui_grid *g, char *buf, size_t len) {
  if (len < tui_grid_text_size(g)) return OT_EINVAL;
  char *p = buf;
  for (int y = 0; y < g->height; y++) {
    int n = row_extent(g, y);
    const tui_cell *row = &g->cells[(size_t)y * (size_t)g->width];
    for (int x = 0; x < n; x++) {
      size_t k = strlen(row[x].ch);
      memcpy(p, row[x].ch, k);
      p += k;
    }
    *p++ = '\n';
  }
  *p = '\0';
  return OT_OK;
}

int tui_grid_used_height(const tui_grid *g) {
  int h = g->height;
  while (h > 1 && row_extent(g, h - 1) == 0) h--;
  return h;
}

int tui_grid_write(const tui_grid *g, FILE *f) {
  for (int y = 0; y < g->height; y++) {
    int n = row_extent(g, y);
    const tui_cell *row = &g->cells[(size_t)y * (size_t)g->width];
    for (int x = 0; x < n; x++)
      if (fputs(row[x].ch, f) == EOF) return OT_EIO;
    if (fputc('\n', f) == EOF) return OT_EIO;
  }
  return OT_OK;
}

void tui_plot_opts_init(tui_plot_opts *o) {
  o->title = NULL;
  o->xlabel = NULL;
  o->ylabel = NULL;
  o->logy = 0;
  o->ascii = 0;
  o->color = 0;
  o->row_names = NULL;
  o->col_names = NULL;
  o->full_rows = 0;
  o->full_cols = 0;
}

/* ---- scaling ----------------------------------------------------------------- */

/* (v - lo) / (hi - lo) for lo < hi, also when hi - lo overflows. */
static double unit(double v, double lo, double hi) {
  if (isfinite(hi - lo)) return (v - lo) / (hi - lo);
  return (v * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5);
}

/* The level 0..n-1 of v in [lo, hi] (equal bins); n / 2 when lo == hi. */
static int level_of(double v, double lo, double hi, int n) {
  if (!(hi > lo)) return n / 2;
  double t = unit(v, lo, hi) * n;
  if (!(t >= 0)) return 0; /* also NaN */
  if (t >= n - 1) return n - 1;
  return (int)t;
}

/* ---- axes ---------------------------------------------------------------- */

#define TICK_MAX 32
#define LABEL_LEN 16

typedef struct axis {
  double lo, hi;   /* the axis range (log10 of the values on a log axis) */
  int log;
  int n;           /* number of ticks */
  double tick[TICK_MAX];          /* positions, in axis units */
  char label[TICK_MAX][LABEL_LEN];
} axis;

/* The smallest 1, 2 or 5 times a power of ten that is >= raw (raw > 0). */
static double nice_step(double raw) {
  double e = floor(log10(raw));
  double p = pow(10.0, e);
  double f = raw / p;
  double m = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0;
  return m * p;
}

/* A tick label: "%.6g" without "-0"; 10^e on a log axis. */
static void tick_label(char *out, double v, int log) {
  if (log) {
    int e = (int)lround(v);
    if (e >= -4 && e <= 4)
      snprintf(out, LABEL_LEN, "%.6g", pow(10.0, e));
    else
      snprintf(out, LABEL_LEN, "1e%d", e);
    return;
  }
  if (v == 0.0) v = 0.0; /* no "-0" */
  snprintf(out, LABEL_LEN, "%.6g", v);
}

/*
 * Fill ax for data in [lo, hi] (finite, lo <= hi; log10 values when log)
 * with about `target` ticks (>= 2): the range is widened to whole steps
 * (whole decades on a log axis).  Constant data get a range around the
 * value.
 */
static void axis_build(axis *ax, double lo, double hi, int target, int log) {
  ax->log = log;
  if (target < 2) target = 2;
  /* keep steps and ticks finite: beyond +-1e307 points sit on the edge */
  if (lo < -1e307) lo = -1e307;
  if (hi > 1e307) hi = 1e307;
  if (lo > hi) lo = hi;
  if (log) {
    double a = floor(lo), b = ceil(hi);
    if (b <= a) b = a + 1;
    double k = ceil((b - a) / target);
    while ((b - a) / k + 1 > TICK_MAX) k++;
    a = floor(a / k) * k;
    int n = 0;
    for (double t = a;; t += k) {
      ax->tick[n++] = t;
      if (t >= b || n == TICK_MAX) break;
    }
    ax->n = n;
    ax->lo = a;
    ax->hi = ax->tick[n - 1];
  } else {
    if (!(hi > lo)) { /* constant data */
      double d = lo != 0.0 ? fabs(lo) * 0.1 : 1.0;
      lo -= d;
      hi += d;
    }
    double step = nice_step((hi - lo) / target);
    double a = floor(lo / step), b = ceil(hi / step);
    while (b - a + 1 > TICK_MAX) {
      step = nice_step(step * 1.5);
      a = floor(lo / step);
      b = ceil(hi / step);
    }
    if (b <= a) b = a + 1;
    ax->n = (int)(b - a) + 1;
    for (int i = 0; i < ax->n; i++) {
      double t = (a + i) * step;
      if (fabs(t) < step * 1e-9) t = 0.0;
      ax->tick[i] = t;
    }
    ax->lo = ax->tick[0];
    ax->hi = ax->tick[ax->n - 1];
  }
  for (int i = 0; i < ax->n; i++) tick_label(ax->label[i], ax->tick[i], log);
}

static int axis_label_width(const axis *ax) {
  int w = 0;
  for (int i = 0; i < ax->n; i++) {
    int k = (int)strlen(ax->label[i]);
    if (k > w) w = k;
  }
  return w;
}

/* Cell offset 0..cells-1 of the axis value v (lo maps to 0). */
static int axis_pos(const axis *ax, double v, int cells) {
  double t = unit(v, ax->lo, ax->hi);
  if (!(t >= 0)) t = 0; /* clamped values (see axis_build), NaN */
  if (t > 1) t = 1;
  return (int)lround(t * (cells - 1));
}

/* ---- the frame of line plots and scatters ---------------------------------- */

typedef struct frame {
  int x0, y0;    /* top-left cell of the plot area */
  int pw, ph;    /* its width and height */
  axis xa, ya;
  int legend_y;  /* first legend row */
} frame;

/* Non-blank text: not NULL and not "". */
static int has_text(const char *s) { return s && s[0]; }

/* Rows a legend of `count` entries of widths w[] takes on `width` columns. */
static int legend_rows(const int *w, size_t count, int width) {
  if (count == 0) return 0;
  int rows = 1, used = 0;
  for (size_t i = 0; i < count; i++) {
    int need = used ? used + 3 + w[i] : w[i];
    if (used && need > width) {
      rows++;
      used = w[i];
    } else {
      used = need;
    }
  }
  return rows;
}

/* Draw legend entries (text[i], glyph colour color[i]) from row y, wrapped. */
static void legend_draw(tui_grid *g, int x0, int y, char (*text)[64], const int *color,
                        size_t count) {
  int x = x0;
  int width = g->width;
  for (size_t i = 0; i < count; i++) {
    int w = (int)strlen(text[i]);
    if (x > x0 && x + 3 + w > width) {
      y++;
      x = x0;
    } else if (x > x0) {
      x += 3;
    }
    char one[2] = {text[i][0], 0};
    tui_grid_put(g, x, y, one, color[i]);
    tui_grid_puts(g, x + 1, y, text[i] + 1, 0);
    x += w;
  }
}

/*
 * Lay out and draw the axes for data in [xlo, xhi] x [ylo, yhi] (finite;
 * log10 of y when o->logy) with `lrows` legend rows under everything.
 * OT_EINVAL when the plot area would be smaller than 2 x 2.
 */
static int frame_draw(tui_grid *g, frame *f, double xlo, double xhi, double ylo, double yhi,
                      int lrows, const tui_plot_opts *o) {
  int W = g->width, H = g->height;
  int top = (has_text(o->title) ? 1 : 0) + (has_text(o->ylabel) ? 1 : 0);
  int bottom = 2 + (has_text(o->xlabel) ? 1 : 0) + lrows;
  f->ph = H - top - bottom;
  if (f->ph < 2) return OT_EINVAL;
  axis_build(&f->ya, ylo, yhi, f->ph / 3, o->logy);
  int margin = axis_label_width(&f->ya) + 1;
  f->x0 = margin + 1;
  f->pw = W - f->x0;
  if (f->pw < 2) return OT_EINVAL;
  f->y0 = top;
  /* x ticks: as many as fit with a space between labels */
  int target = f->pw / 10;
  for (;;) {
    axis_build(&f->xa, xlo, xhi, target, 0);
    int lw = axis_label_width(&f->xa);
    if (target <= 2 || f->xa.n * (lw + 1) <= f->pw + lw) break;
    target--;
  }
  tui_grid_clear(g);
  if (has_text(o->title)) {
    int len = (int)strlen(o->title);
    tui_grid_puts(g, len < W ? (W - len) / 2 : 0, 0, o->title, 0);
  }
  if (has_text(o->ylabel)) tui_grid_puts(g, 0, top - 1, o->ylabel, 0);
  /* y axis, ticks and labels */
  int axis_x = f->x0 - 1;
  for (int r = 0; r < f->ph; r++) tui_grid_put(g, axis_x, f->y0 + r, "|", 0);
  int last_row = -1;
  for (int i = 0; i < f->ya.n; i++) {
    int r = f->y0 + f->ph - 1 - axis_pos(&f->ya, f->ya.tick[i], f->ph);
    tui_grid_put(g, axis_x, r, "+", 0);
    if (r == last_row) continue;
    last_row = r;
    int len = (int)strlen(f->ya.label[i]);
    tui_grid_puts(g, margin - 1 - len, r, f->ya.label[i], 0);
  }
  /* x axis, ticks and labels */
  int ay = f->y0 + f->ph;
  tui_grid_put(g, axis_x, ay, "+", 0);
  for (int c = 0; c < f->pw; c++) tui_grid_put(g, f->x0 + c, ay, "-", 0);
  int last_end = -1;
  for (int i = 0; i < f->xa.n; i++) {
    int c = f->x0 + axis_pos(&f->xa, f->xa.tick[i], f->pw);
    tui_grid_put(g, c, ay, "+", 0);
    int len = (int)strlen(f->xa.label[i]);
    int start = c - (len - 1) / 2;
    if (start + len > W) start = W - len;
    if (start < 0) start = 0;
    if (start <= last_end) continue;
    tui_grid_puts(g, start, ay + 1, f->xa.label[i], 0);
    last_end = start + len;
  }
  int y = ay + 2;
  if (has_text(o->xlabel)) {
    int len = (int)strlen(o->xlabel);
    int start = f->x0 + (f->pw - len) / 2;
    if (start + len > W) start = W - len;
    if (start < 0) start = 0;
    tui_grid_puts(g, start, y, o->xlabel, 0);
    y++;
  }
  f->legend_y = y;
  return OT_OK;
}

/*
 * frame_draw with room for a legend of nleg entries of widths w[] wrapped
 * under the plot area: the legend's width depends on the y labels, which
 * depend on the rows left, so settle the layout in a few rounds.
 */
static int frame_with_legend(tui_grid *g, frame *f, double xlo, double xhi, double ylo,
                             double yhi, const int *w, size_t nleg, const tui_plot_opts *o) {
  int lrows = legend_rows(w, nleg, g->width - 8 > 8 ? g->width - 8 : 8);
  for (int round = 0; round < 3; round++) {
    int rc = frame_draw(g, f, xlo, xhi, ylo, yhi, lrows, o);
    if (rc != OT_OK) return rc;
    int need = legend_rows(w, nleg, g->width - f->x0);
    if (need == lrows) break;
    lrows = need;
  }
  return OT_OK;
}

/* Plot cell of the point (x, y) (y already log10 on a log axis). */
static void frame_cell(const frame *f, double x, double y, int *cx, int *cy) {
  *cx = f->x0 + axis_pos(&f->xa, x, f->pw);
  *cy = f->y0 + f->ph - 1 - axis_pos(&f->ya, y, f->ph);
}

/* The plotted y of a value: log10 on a log axis; 0 when it is not shown. */
static int plot_y(double y, int logy, double *out) {
  if (!isfinite(y)) return 0;
  if (logy) {
    if (!(y > 0)) return 0;
    y = log10(y);
  }
  *out = y;
  return 1;
}

/* ---- line plots ------------------------------------------------------------ */

static const char series_glyphs[] = "*+ox#@%&=~";

/* Join cells (c0, r0) and (c1, r1) with glyph g: a DDA over the longer side. */
static void draw_segment(tui_grid *g, int c0, int r0, int c1, int r1, const char *glyph,
                         int color) {
  int dc = c1 - c0, dr = r1 - r0;
  int steps = abs(dc) > abs(dr) ? abs(dc) : abs(dr);
  if (steps == 0) {
    tui_grid_put(g, c0, r0, glyph, color);
    return;
  }
  for (int k = 0; k <= steps; k++) {
    int c = c0 + (int)lround((double)dc * k / steps);
    int r = r0 + (int)lround((double)dr * k / steps);
    tui_grid_put(g, c, r, glyph, color);
  }
}

int tui_plot_lines(tui_grid *g, const tui_series *s, size_t nseries, const tui_plot_opts *o) {
  tui_plot_opts defaults;
  if (!o) {
    tui_plot_opts_init(&defaults);
    o = &defaults;
  }
  if (nseries == 0) return OT_EINVAL;
  /* data range over the points that are shown */
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (size_t k = 0; k < nseries; k++) {
    for (size_t i = 0; i < s[k].n; i++) {
      double x = s[k].x ? s[k].x[i] : (double)(i + 1), y;
      if (!isfinite(x) || !plot_y(s[k].y[i], o->logy, &y)) continue;
      if (x < xlo) xlo = x;
      if (x > xhi) xhi = x;
      if (y < ylo) ylo = y;
      if (y > yhi) yhi = y;
    }
  }
  if (xlo > xhi) { /* nothing to show: empty axes */
    xlo = 0.0;
    xhi = 1.0;
    ylo = 0.0;
    yhi = 1.0;
  }
  /* legend: "<glyph> <name>" per series when there are several */
  size_t nleg = nseries > 1 ? nseries : 0;
  if (nleg > TICK_MAX) nleg = TICK_MAX;
  char text[TICK_MAX][64];
  int width[TICK_MAX], color[TICK_MAX];
  for (size_t k = 0; k < nleg; k++) {
    char glyph = series_glyphs[k % (sizeof series_glyphs - 1)];
    if (s[k].label)
      snprintf(text[k], sizeof text[k], "%c %s", glyph, s[k].label);
    else
      snprintf(text[k], sizeof text[k], "%c series %zu", glyph, k + 1);
    width[k] = (int)strlen(text[k]);
    color[k] = (int)(k % 127) + 1;
  }
  frame f;
  int rc = frame_with_legend(g, &f, xlo, xhi, ylo, yhi, width, nleg, o);
  if (rc != OT_OK) return rc;
  for (size_t k = 0; k < nseries; k++) {
    char glyph[2] = {series_glyphs[k % (sizeof series_glyphs - 1)], 0};
    int col = (int)(k % 127) + 1;
    int have_prev = 0, pc = 0, pr = 0;
    for (size_t i = 0; i < s[k].n; i++) {
      double x = s[k].x ? s[k].x[i] : (double)(i + 1), y;
      if (!isfinite(x) || !plot_y(s[k].y[i], o->logy, &y)) {
        have_prev = 0; /* a gap breaks the line */
        continue;
      }
      int c, r;
      frame_cell(&f, x, y, &c, &r);
      if (have_prev)
        draw_segment(g, pc, pr, c, r, glyph, col);
      else
        tui_grid_put(g, c, r, glyph, col);
      have_prev = 1;
      pc = c;
      pr = r;
    }
  }
  legend_draw(g, f.x0, f.legend_y, text, color, nleg);
  return OT_OK;
}

/* ---- heatmaps ---------------------------------------------------------------- */

static const char shade_ramp[] = " .:-=+*#%@";
#define SHADES 10

/*
 * Mean of the block [r0, r1) x [c0, c1) of m into *out; 0 when the block
 * holds a NaN or an infinity.
 */
static int block_mean(ot_mat m, size_t r0, size_t r1, size_t c0, size_t c1, double *out) {
  double sum = 0.0, count = (double)(r1 - r0) * (double)(c1 - c0);
  for (size_t i = r0; i < r1; i++) {
    const double *row = m.data + i * m.ld;
    for (size_t j = c0; j < c1; j++) {
      if (!isfinite(row[j])) return 0;
      sum += row[j] / count; /* scaled first: no overflow near DBL_MAX */
    }
  }
  *out = sum;
  return 1;
}

/* Name k of a names array, cut to `max` bytes into out. */
static void name_cut(char *out, size_t outlen, const char *name, int max) {
  snprintf(out, outlen, "%.*s", max, name ? name : "");
}

int tui_plot_heatmap(tui_grid *g, ot_mat m, const tui_plot_opts *o) {
  tui_plot_opts defaults;
  if (!o) {
    tui_plot_opts_init(&defaults);
    o = &defaults;
  }
  if (m.rows == 0 || m.cols == 0) return OT_EINVAL;
  size_t frows = o->full_rows ? o->full_rows : m.rows;
  size_t fcols = o->full_cols ? o->full_cols : m.cols;
  int W = g->width, H = g->height;
  char rlabel[24], clabel[24];
  snprintf(rlabel, sizeof rlabel, "%zu", frows);
  snprintf(clabel, sizeof clabel, "%zu", fcols);
  int top = (has_text(o->title) ? 1 : 0) + 1; /* title, column labels */
  int avail_h = H - top - 1;                  /* the colour bar row */
  /* row names apply when every row gets its own line */
  int rnames = o->row_names && frows == m.rows && m.rows <= (size_t)(avail_h > 0 ? avail_h : 0);
  int margin = (int)strlen(rlabel);
  if (rnames) {
    margin = 1;
    for (size_t i = 0; i < m.rows; i++) {
      int k = o->row_names[i] ? (int)strlen(o->row_names[i]) : 0;
      if (k > margin) margin = k;
    }
    if (margin > 12) margin = 12;
  }
  int x0 = margin + 1;
  int avail_w = W - x0;
  if (avail_w < 1 || avail_h < 1) return OT_EINVAL;
  /* matrix rows per text row: 2 (half blocks) when coloured and too tall */
  int half = o->color && m.rows > (size_t)avail_h;
  size_t rows_fit = (size_t)avail_h * (half ? 2 : 1);
  /* cells: two columns per element when it fits, else one, else blocks */
  size_t nr = m.rows <= rows_fit ? m.rows : rows_fit;
  size_t nc, sx = 1;
  if (m.cols * 2 <= (size_t)avail_w) {
    nc = m.cols;
    sx = 2;
  } else {
    nc = m.cols <= (size_t)avail_w ? m.cols : (size_t)avail_w;
  }
  int text_rows = half ? (int)((nr + 1) / 2) : (int)nr;
  int levels = o->color ? TUI_HEAT_LEVELS : SHADES;
  /* pass 1: range of the shown (block-mean) values */
  double lo = INFINITY, hi = -INFINITY;
  int any_bad = 0;
  for (size_t i = 0; i < nr; i++) {
    size_t r0 = i * m.rows / nr, r1 = (i + 1) * m.rows / nr;
    for (size_t j = 0; j < nc; j++) {
      size_t c0 = j * m.cols / nc, c1 = (j + 1) * m.cols / nc;
      double v;
      if (!block_mean(m, r0, r1, c0, c1, &v)) {
        any_bad = 1;
        continue;
      }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  tui_grid_clear(g);
  if (has_text(o->title)) {
    int len = (int)strlen(o->title);
    tui_grid_puts(g, len < W ? (W - len) / 2 : 0, 0, o->title, 0);
  }
  /* column labels: names over their columns, else the first and last index */
  int cy = top - 1;
  int last_col = x0 + (int)(nc * sx) - 1;
  if (o->col_names && fcols == m.cols && nc == m.cols) {
    char nm[64];
    for (size_t j = 0; j < nc; j++) {
      name_cut(nm, sizeof nm, o->col_names[j], (int)sx);
      tui_grid_puts(g, x0 + (int)(j * sx), cy, nm, 0);
    }
  } else {
    tui_grid_puts(g, x0, cy, "1", 0);
    int clen = (int)strlen(clabel);
    int last_start = last_col - clen + 1;
    if (fcols > 1 && last_start > x0 + 1) tui_grid_puts(g, last_start, cy, clabel, 0);
    /* index ranges: the first index of the column every 10 cells, where it
     * keeps a space from its neighbours */
    int free_from = x0 + 2;
    for (int c = 10; c < (int)(nc * sx); c += 10) {
      size_t j = (size_t)c / sx;
      size_t idx = (j * m.cols / nc) * fcols / m.cols + 1;
      char num[24];
      int len = snprintf(num, sizeof num, "%zu", idx);
      int x = x0 + c;
      if (x < free_from || x + len + 1 >= last_start) continue;
      tui_grid_puts(g, x, cy, num, 0);
      free_from = x + len + 1;
    }
  }
  /* row labels: names by their rows, else the first and last index */
  if (rnames) {
    char nm[64];
    for (size_t i = 0; i < nr; i++) {
      name_cut(nm, sizeof nm, o->row_names[i], margin);
      tui_grid_puts(g, margin - (int)strlen(nm), top + (int)i, nm, 0);
    }
  } else {
    tui_grid_puts(g, margin - 1, top, "1", 0);
    if (text_rows > 1) tui_grid_puts(g, margin - (int)strlen(rlabel), top + text_rows - 1, rlabel, 0);
    /* index ranges: the first index of every 5th text row, away from the last */
    for (int r = 5; r < text_rows - 2; r += 5) {
      size_t i = (size_t)r * (half ? 2 : 1);
      size_t idx = (i * m.rows / nr) * frows / m.rows + 1;
      char num[24];
      snprintf(num, sizeof num, "%zu", idx);
      tui_grid_puts(g, margin - (int)strlen(num), top + r, num, 0);
    }
  }
  /* pass 2: the cells */
  for (size_t i = 0; i < nr; i++) {
    size_t r0 = i * m.rows / nr, r1 = (i + 1) * m.rows / nr;
    for (size_t j = 0; j < nc; j++) {
      size_t c0 = j * m.cols / nc, c1 = (j + 1) * m.cols / nc;
      double v;
      int level = -1;
      if (block_mean(m, r0, r1, c0, c1, &v)) level = level_of(v, lo, hi, levels);
      for (size_t k = 0; k < sx; k++) {
        int x = x0 + (int)(j * sx + k);
        if (!o->color) {
          char glyph[2] = {level < 0 ? '?' : shade_ramp[level], 0};
          tui_grid_put(g, x, top + (int)i, glyph, level + 1);
        } else if (!half) {
          if (level < 0) tui_grid_put(g, x, top + (int)i, "?", 0);
          else tui_grid_put(g, x, top + (int)i, "\u2588", TUI_HEAT0 + level);
        } else { /* even rows: foreground of the upper half; odd rows: background */
          int y = top + (int)(i / 2);
          if (x >= W) continue;
          tui_cell *c = &g->cells[(size_t)y * (size_t)W + (size_t)x];
          if (i % 2 == 0) {
            if (level < 0) tui_grid_put(g, x, y, "?", 0);
            else tui_grid_put(g, x, y, "\u2580", TUI_HEAT0 + level);
          } else if (strcmp(c->ch, "?") != 0) {
            if (level < 0) tui_grid_put(g, x, y, "?", 0);
            else c->bg = (unsigned char)(TUI_HEAT0 + level);
          }
        }
      }
    }
  }
  /* the colour bar: ramp and value range, then what fits of the '?' note
   * and the block size */
  char bar[160], part[64];
  int by = top + text_rows;
  if (o->color) {
    if (lo <= hi)
      snprintf(bar, sizeof bar, "%.4g ", lo);
    else
      snprintf(bar, sizeof bar, "no finite values");
    tui_grid_puts(g, 0, by, bar, 0);
    int x = (int)strlen(bar);
    if (lo <= hi) {
      for (int l = 0; l < TUI_HEAT_LEVELS; l++) tui_grid_put(g, x++, by, "\u2588", TUI_HEAT0 + l);
      snprintf(bar, sizeof bar, " %.4g", hi);
    } else {
      bar[0] = '\0';
    }
    if (any_bad && x + (int)strlen(bar) + 11 <= W) strcat(bar, ", ?=nan/inf");
    if (nr < m.rows || nc < m.cols || frows > m.rows || fcols > m.cols) {
      snprintf(part, sizeof part, ", means of %zux%zu blocks", (frows + nr - 1) / nr,
               (fcols + nc - 1) / nc);
      if (x + strlen(bar) + strlen(part) <= (size_t)W) strcat(bar, part);
    }
    tui_grid_puts(g, x, by, bar, 0);
    return OT_OK;
  }
  if (lo <= hi)
    snprintf(bar, sizeof bar, "[%s] %.4g .. %.4g", shade_ramp, lo, hi);
  else
    snprintf(bar, sizeof bar, "[%s] no finite values", shade_ramp);
  if (any_bad && strlen(bar) + 11 <= (size_t)W) strcat(bar, ", ?=nan/inf");
  if (nr < m.rows || nc < m.cols || frows > m.rows || fcols > m.cols) {
    snprintf(part, sizeof part, ", means of %zux%zu blocks", (frows + nr - 1) / nr,
             (fcols + nc - 1) / nc);
    if (strlen(bar) + strlen(part) <= (size_t)W) strcat(bar, part);
  }
  tui_grid_puts(g, 0, by, bar, 0);
  return OT_OK;
}

/* ---- scatters -------------------------------------------------------------------- */

static const char class_letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Index of v in the sorted distinct values cls[0..n). */
static size_t class_index(const double *cls, size_t n, double v) {
  size_t a = 0, b = n;
  while (a + 1 < b) {
    size_t mid = (a + b) / 2;
    if (cls[mid] <= v) a = mid; else b = mid;
  }
  return a;
}

int tui_plot_scatter(tui_grid *g, ot_mat X, const double *labels, const tui_plot_opts *o) {
  tui_plot_opts defaults;
  if (!o) {
    tui_plot_opts_init(&defaults);
    o = &defaults;
  }
  if (X.cols != 2) return OT_EINVAL;
  size_t n = X.rows;
  double *cls = NULL;
  unsigned char *dots = NULL; /* braille bits per plot cell (o->color) */
  size_t ncls = 0;
  int digits = 1, rc = OT_OK;
  if (labels && n > 0) {
    rc = ot_alloc_doubles(n, 1, &cls);
    if (rc != OT_OK) return rc;
    for (size_t i = 0; i < n; i++) {
      double v = labels[i];
      cls[i] = isnan(v) ? INFINITY : v; /* NaN would break the ordering */
      if (!(v >= 0 && v <= 9 && v == floor(v))) digits = 0;
    }
    qsort(cls, n, sizeof *cls, cmp_double);
    for (size_t i = 0; i < n; i++)
      if (ncls == 0 || cls[i] != cls[ncls - 1]) cls[ncls++] = cls[i];
  }
  /* the legend */
  size_t nleg = ncls > 0 ? (digits ? 1 : (ncls < TICK_MAX ? ncls : TICK_MAX)) : 0;
  char text[TICK_MAX][64];
  int width[TICK_MAX], color[TICK_MAX];
  if (ncls > 0 && digits) {
    int k = snprintf(text[0], sizeof text[0], "classes:");
    for (size_t c = 0; c < ncls && k < 60; c++) k += snprintf(text[0] + k, sizeof text[0] - (size_t)k, " %d", (int)cls[c]);
    width[0] = k;
    color[0] = 0;
  } else {
    for (size_t c = 0; c < nleg; c++) {
      char glyph = c < sizeof class_letters - 1 ? class_letters[c] : '+';
      if (c == TICK_MAX - 1 && ncls > TICK_MAX)
        snprintf(text[c], sizeof text[c], "%c=... (%zu classes)", glyph, ncls);
      else
        snprintf(text[c], sizeof text[c], "%c=%.6g", glyph, cls[c]);
      width[c] = (int)strlen(text[c]);
      color[c] = (int)(c % 127) + 1;
    }
  }
  /* data range */
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double x = OT_AT(X, i, 0), y;
    if (!isfinite(x) || !plot_y(OT_AT(X, i, 1), o->logy, &y)) continue;
    if (x < xlo) xlo = x;
    if (x > xhi) xhi = x;
    if (y < ylo) ylo = y;
    if (y > yhi) yhi = y;
  }
  if (xlo > xhi) {
    xlo = 0.0;
    xhi = 1.0;
    ylo = 0.0;
    yhi = 1.0;
  }
  frame f;
  rc = frame_with_legend(g, &f, xlo, xhi, ylo, yhi, width, nleg, o);
  if (rc != OT_OK) goto done;
  if (o->color && (rc = ot_malloc((size_t)f.pw * (size_t)f.ph, &dots)) != OT_OK) goto done;
  if (dots) memset(dots, 0, (size_t)f.pw * (size_t)f.ph);
  for (size_t i = 0; i < n; i++) {
    double x = OT_AT(X, i, 0), y;
    if (!isfinite(x) || !plot_y(OT_AT(X, i, 1), o->logy, &y)) continue;
    char glyph[4] = {'*', 0};
    int col = 0;
    if (ncls > 0) {
      double v = isnan(labels[i]) ? INFINITY : labels[i];
      size_t c = class_index(cls, ncls, v);
      glyph[0] = digits ? (char)('0' + (int)v)
                        : c < sizeof class_letters - 1 ? class_letters[c] : '+';
      col = (int)(c % 127) + 1;
    }
    if (dots) { /* braille: 2 x 4 dots per cell */
      int dx = axis_pos(&f.xa, x, 2 * f.pw);
      int dy = 4 * f.ph - 1 - axis_pos(&f.ya, y, 4 * f.ph);
      unsigned char *d = &dots[(size_t)(dy / 4) * (size_t)f.pw + (size_t)(dx / 2)];
      *d = (unsigned char)(*d | tui_braille_bit(dx % 2, dy % 4));
      tui_braille(glyph, *d);
      tui_grid_put(g, f.x0 + dx / 2, f.y0 + dy / 4, glyph, col);
      continue;
    }
    int cx, cy;
    frame_cell(&f, x, y, &cx, &cy);
    tui_grid_put(g, cx, cy, glyph, col);
  }
  if (nleg > 0) {
    if (digits && o->color) { /* each class digit in its colour */
      tui_grid_puts(g, f.x0, f.legend_y, "classes:", 0);
      int x = f.x0 + 8;
      for (size_t c = 0; c < ncls && x + 2 <= g->width; c++, x += 2) {
        char one[2] = {(char)('0' + (int)cls[c]), 0};
        tui_grid_put(g, x + 1, f.legend_y, one, (int)(c % 127) + 1);
      }
    } else if (digits) {
      tui_grid_puts(g, f.x0, f.legend_y, text[0], 0);
    } else {
      legend_draw(g, f.x0, f.legend_y, text, color, nleg);
    }
  }
done:
  ot_free(dots);
  ot_free(cls);
  return rc;
}

/* ---- braille ------------------------------------------------------------------- */

unsigned tui_braille_bit(int dx, int dy) {
  /* dots 1, 2, 3, 7 down the left column; 4, 5, 6, 8 down the right */
  static const unsigned char bit[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
  if (dx < 0 || dx > 1 || dy < 0 || dy > 3) return 0;
  return bit[dx][dy];
}

void tui_braille(char out[4], unsigned bits) {
  unsigned cp = 0x2800u + (bits & 0xFFu); /* three UTF-8 bytes: 1110xxxx 10xxxxxx 10xxxxxx */
  out[0] = (char)(0xE0u | (cp >> 12));
  out[1] = (char)(0x80u | ((cp >> 6) & 0x3Fu));
  out[2] = (char)(0x80u | (cp & 0x3Fu));
  out[3] = '\0';
}

/* ---- sparklines ------------------------------------------------------------------ */

static const char *const spark_utf8[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                          "\u2585", "\u2586", "\u2587", "\u2588"};
static const char spark_ascii[] = "_.-~=+*#";

size_t tui_sparkline_size(size_t n, size_t width, int ascii) {
  size_t cells = width > 0 && width < n ? width : n;
  return cells * (ascii ? 1 : 3) + 1;
}

/* Mean of the finite values of v[a..b); 0 when there is none. */
static int group_mean(const double *v, size_t a, size_t b, double *out) {
  size_t k = 0;
  for (size_t i = a; i < b; i++) k += isfinite(v[i]) != 0;
  if (k == 0) return 0;
  double sum = 0.0;
  for (size_t i = a; i < b; i++)
    if (isfinite(v[i])) sum += v[i] / (double)k; /* scaled first: no overflow */
  *out = sum;
  return 1;
}

int tui_sparkline(char *buf, size_t len, const double *v, size_t n, size_t width, int ascii) {
  if (!buf || len < tui_sparkline_size(n, width, ascii)) return OT_EINVAL;
  size_t cells = width > 0 && width < n ? width : n;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t c = 0; c < cells; c++) {
    double m;
    if (!group_mean(v, c * n / cells, (c + 1) * n / cells, &m)) continue;
    if (m < lo) lo = m;
    if (m > hi) hi = m;
  }
  char *p = buf;
  for (size_t c = 0; c < cells; c++) {
    double m;
    if (!group_mean(v, c * n / cells, (c + 1) * n / cells, &m)) {
      *p++ = ' ';
      continue;
    }
    int level = level_of(m, lo, hi, 8) - (hi > lo ? 0 : 1); /* constant: level 3 */
    if (ascii) {
      *p++ = spark_ascii[level];
    } else {
      memcpy(p, spark_utf8[level], 3);
      p += 3;
    }
  }
  *p = '\0';
  return OT_OK;
}
