/*
 * plot.h -- text plots drawn into a character grid: line plots (several
 * series, nice 1-2-5 ticks, optional log-scale y), heatmaps of a matrix,
 * 2-D scatters coloured by label, and sparklines.
 *
 * Pure C: no curses, no Lua.  A grid is a width x height array of cells,
 * each holding one code point as UTF-8 and a colour index; the panel shows
 * a grid with ncurses, and tui_grid_text / tui_grid_write print it as plain
 * text (one line per row, '\n' after each, no trailing spaces).
 *
 * Colour indices (for a display that has colours; plain text ignores them):
 * 0 is the default colour; series k and class k (0-based) get k + 1
 * (categorical, below TUI_HEAT0); shade-ramp level l (0 = lowest) gets
 * l + 1; level l of the colour ramp of half-block heatmaps gets
 * TUI_HEAT0 + l.  tui_color_xterm maps an index to the xterm 256-colour
 * palette and tui_grid_ansi prints a grid with those colours as SGR escapes.
 *
 * Status codes: OT_OK; OT_EINVAL for a bad size (a grid too small for the
 * plot's axes and labels, an empty matrix, a buffer too small); OT_ENOMEM
 * or OT_EBUDGET from the allocator (src/ot/alloc.h), which is the only
 * source of memory here.
 */
#ifndef OT_TUI_PLOT_H
#define OT_TUI_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "ot/mat.h"

/* Largest grid side accepted by tui_grid_new / tui_grid_init. */
#define TUI_GRID_MAX 4096

typedef struct tui_cell {
  char ch[5];           /* one code point as UTF-8, NUL-terminated (" " when empty) */
  unsigned char color;  /* foreground colour index, 0 = default */
  unsigned char bg;     /* background colour index, 0 = default */
} tui_cell;

/* The colour ramp of half-block heatmaps: TUI_HEAT0 + 0 .. TUI_HEAT0 +
 * TUI_HEAT_LEVELS - 1, dark to bright (a viridis-like ramp). */
#define TUI_HEAT0 128
#define TUI_HEAT_LEVELS 24

/* The xterm 256-colour index of colour index c; -1 for the default (0). */
int tui_color_xterm(int c);
/* The heat ramp as 24-bit colour: t in [0, 1] (clamped; NaN gives grey)
 * into rgb (pictures saved by ui.save). */
void tui_heat_rgb(double t, unsigned char rgb[3]);
/* Categorical colour k (0-based, cycling) as 24-bit RGB. */
void tui_class_rgb(int k, unsigned char rgb[3]);

typedef struct tui_grid {
  int width, height;   /* columns and rows */
  tui_cell *cells;     /* width * height cells, row-major */
  int owned;           /* 1: cells came from tui_grid_new and go with tui_grid_free */
} tui_grid;

/*
 * Allocate a width x height grid of blank cells into *out (1 <= width,
 * height <= TUI_GRID_MAX, else OT_EINVAL).  Free it with tui_grid_free.
 */
int tui_grid_new(tui_grid **out, int width, int height);
void tui_grid_free(tui_grid *g);
/*
 * A grid over caller storage `cells` (width * height cells, e.g. a Lua
 * userdata so that an error cannot leak it); blanks the cells.
 * OT_EINVAL for sizes outside 1..TUI_GRID_MAX.
 */
int tui_grid_init(tui_grid *g, int width, int height, tui_cell *cells);
/* Blank every cell (a space, colour 0). */
void tui_grid_clear(tui_grid *g);
/* Set cell (x, y) to the code point `glyph` (UTF-8) with foreground
 * `color` and the default background; ignored when outside. */
void tui_grid_put(tui_grid *g, int x, int y, const char *glyph, int color);
/* The same with a background colour index `bg`. */
void tui_grid_put2(tui_grid *g, int x, int y, const char *glyph, int color, int bg);
/* Copy src into g with its top-left cell at (x, y), clipped at g's edges. */
void tui_grid_blit(tui_grid *g, const tui_grid *src, int x, int y);
/* Write the ASCII string s from (x, y) rightwards, clipped at the edge. */
void tui_grid_puts(tui_grid *g, int x, int y, const char *s, int color);

/* Bytes tui_grid_text needs, the terminating NUL included. */
size_t tui_grid_text_size(const tui_grid *g);
/* The grid as text into buf (len bytes); OT_EINVAL when len is too small. */
int tui_grid_text(const tui_grid *g, char *buf, size_t len);
/* Rows up to the last one that is not blank (at least 1): a caller may
 * set g->height to it to drop blank rows under a small plot. */
int tui_grid_used_height(const tui_grid *g);
/* The grid as text to f; OT_EIO when writing fails. */
int tui_grid_write(const tui_grid *g, FILE *f);
/*
 * The grid as text with colours: a cell whose colours differ from the
 * previous cell's is preceded by "ESC[0m" and "ESC[38;5;Nm" / "ESC[48;5;Nm"
 * (xterm 256 colours, tui_color_xterm), and a line that set a colour ends
 * with "ESC[0m" before its '\n'.  Writes into buf when len is large enough
 * and returns the bytes needed, the NUL included (call with len 0 to size).
 */
size_t tui_grid_ansi(const tui_grid *g, char *buf, size_t len);

/* ---- plots ------------------------------------------------------------------ */

/* What every plot may carry.  Strings are borrowed for the call only. */
typedef struct tui_plot_opts {
  const char *title;   /* centred on the first row; NULL or "" for none */
  const char *xlabel;  /* under the x tick labels; NULL for none */
  const char *ylabel;  /* on a row above the plot, left; NULL for none */
  int logy;            /* 1: log10 y axis; points with y <= 0 are skipped */
  int ascii;           /* 1: ASCII glyphs only (sparklines) */
  int color;           /* heatmaps: Unicode blocks coloured from the heat ramp
                          instead of the shade ramp; scatters: braille dots
                          coloured by class (needs a colour display) */
  /* heatmaps: names of the rows / columns (NULL: indices); borrowed */
  const char *const *row_names;
  const char *const *col_names;
  /* heatmaps: the matrix drawn is a block reduction of a full_rows x
   * full_cols matrix, whose indices label the axes (0: the matrix's own) */
  size_t full_rows, full_cols;
} tui_plot_opts;

/* Defaults: no title or labels, linear y, Unicode allowed, no colour, no
 * names, labels from the matrix's own size. */
void tui_plot_opts_init(tui_plot_opts *o);

/* One series of a line plot: n points (x[i], y[i]). */
typedef struct tui_series {
  const double *x;     /* NULL: x = 1, 2, ..., n */
  const double *y;     /* n values */
  size_t n;
  const char *label;   /* legend name; NULL: "series k" (1-based) */
} tui_series;

/*
 * Line plot of nseries series over the whole grid g: axes with tick labels
 * at 1-2-5 steps (powers of ten on a log axis), consecutive points joined
 * by the series' glyph ("*+ox#@%&=~", cycling), a legend row when there are
 * several series.  Points with a NaN or infinite coordinate (or y <= 0 on a
 * log axis) are skipped and break the line.  Constant data get a range
 * around the value; no finite point at all gives empty axes over [0, 1].
 * OT_EINVAL when nseries is 0 or the grid leaves less than 2 x 2 cells for
 * the plot area.
 */
int tui_plot_lines(tui_grid *g, const tui_series *s, size_t nseries, const tui_plot_opts *o);

/*
 * Heatmap of the matrix m over the grid g with the shade ramp " .:-=+*#%@"
 * (lowest to highest value, scaled to the range of the shown values).
 * Each element takes two columns when the matrix is narrow enough, one
 * otherwise; a matrix larger than the area is block-averaged (each cell
 * shows the mean of a block of elements).  A cell whose block holds a NaN
 * or an infinity shows '?'.  Constant data show the middle of the ramp.
 * Row indices 1..rows label the left side, column indices 1..cols the top
 * (and in between, the first index of every 5th text row and of every 10th
 * column: index ranges of the blocks), and the last row is a colour bar with the value range.  OT_EINVAL for an
 * empty matrix or a grid too small (it needs at least one cell of area).
 *
 * With o->color the cells are Unicode blocks coloured from the heat ramp
 * (TUI_HEAT0 + level): a full block per element (two columns per element
 * when narrow enough) when the rows fit, else upper half blocks "\u2580"
 * whose foreground shows one row and background the next, so a cell is two
 * (block-averaged) rows; the colour bar is the ramp itself.
 * o->row_names / o->col_names (rows / cols strings) replace the indices
 * when the matrix is not block-averaged on that axis: row names on the left
 * (at most 12 characters shown), column names over their columns (cut to
 * the column's width).  o->full_rows / o->full_cols label a reduced matrix
 * with the indices of the full one.
 */
int tui_plot_heatmap(tui_grid *g, ot_mat m, const tui_plot_opts *o);

/*
 * 2-D scatter of the n x 2 matrix X (column 1: x, column 2: y) on axes as
 * tui_plot_lines draws them.  labels (n values, or NULL) choose each
 * point's glyph: when every label is an integer 0..9 the glyph is the
 * digit itself, otherwise the distinct labels in increasing order get
 * a..z, A..Z (and '+' past 52 classes); the legend row maps glyphs to
 * labels.  Without labels every point is '*' and there is no legend.  A
 * later point overwrites an earlier one in the same cell.  Points with a
 * non-finite coordinate are skipped.  OT_EINVAL when X is not n x 2 or the
 * grid is too small; allocator codes for the class table.
 *
 * With o->color the points are braille dots (U+2800 plus the dot bits of
 * the Unicode braille patterns: 2 x 4 dots per cell), so a cell holds up
 * to eight points; a cell takes the colour (class + 1) of the last point
 * drawn in it, and the legend shows each class's glyph in its colour.
 */
int tui_plot_scatter(tui_grid *g, ot_mat X, const double *labels, const tui_plot_opts *o);

/*
 * The braille pattern with dot bits `bits` (bit k = dot k + 1 of the
 * Unicode braille cell: dots 1-3 and 7 down the left column, 4-6 and 8
 * down the right) as UTF-8 into out (4 bytes, NUL-terminated): U+2800 +
 * bits.  tui_braille_bit gives the bit of the dot at column dx (0, 1) and
 * row dy (0..3, top to bottom).
 */
void tui_braille(char out[4], unsigned bits);
unsigned tui_braille_bit(int dx, int dy);

/*
 * Sparkline: one glyph per value of v (n values) from "▁▂▃▄▅▆▇█", or from
 * the ASCII ramp "_.-~=+*#" when ascii is 1.  With 0 < width < n the values
 * are averaged in width consecutive groups.  NaN and infinities show as a
 * space (and count as missing in a group's mean); constant data show the
 * middle of the ramp.  Writes a NUL-terminated string into buf (len bytes,
 * at least tui_sparkline_size(n, width, ascii)); OT_EINVAL otherwise.
 */
int tui_sparkline(char *buf, size_t len, const double *v, size_t n, size_t width, int ascii);
size_t tui_sparkline_size(size_t n, size_t width, int ascii);

#endif
