/*
 * tests/c/plot.c -- golden-text tests of the text plots (src/tui/plot.c):
 * each plot kind on a small fixed grid compared with its exact text, and
 * the edge cases: constant data, NaN and infinities, a 1x1 matrix, grids
 * too small, log scales with non-positive values, allocation failures;
 * the coloured kinds (full and half-block heatmaps, braille scatters, ANSI
 * text), axis names and blits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ot/alloc.h"
#include "ot/ot.h"
#include "test.h"
#include "tui/plot.h"

/* 1 when the text of g equals want; prints both otherwise. */
static int text_is(const tui_grid *g, const char *want) {
  size_t size = tui_grid_text_size(g);
  char *buf = malloc(size);
  if (!buf || tui_grid_text(g, buf, size) != OT_OK) {
    free(buf);
    return 0;
  }
  int same = strlen(buf) == size - 1 && strcmp(buf, want) == 0;
  if (!same) printf("--- got:\n%s--- want:\n%s---\n", buf, want);
  free(buf);
  return same;
}

/* A fresh w x h grid (the harness stops at the first failure to get one). */
static tui_grid *grid(int w, int h) {
  tui_grid *g = NULL;
  if (tui_grid_new(&g, w, h) != OT_OK) {
    printf("cannot allocate a grid\n");
    exit(1);
  }
  return g;
}

static void test_grid(void) {
  tui_grid *g = NULL;
  CHECK("zero width refused", tui_grid_new(&g, 0, 5) == OT_EINVAL && g == NULL);
  CHECK("huge height refused", tui_grid_new(&g, 5, TUI_GRID_MAX + 1) == OT_EINVAL);
  g = grid(6, 3);
  tui_grid_puts(g, 1, 0, "ab", 0);
  tui_grid_put(g, 5, 1, "\u2588", 3);
  tui_grid_put(g, 6, 1, "x", 0);  /* outside: ignored */
  tui_grid_put(g, -1, 0, "x", 0); /* outside: ignored */
  tui_grid_puts(g, 4, 2, "xyz", 0); /* clipped */
  CHECK("text without trailing spaces", text_is(g, " ab\n     \u2588\n    xy\n"));
  CHECK("size counts UTF-8 bytes", tui_grid_text_size(g) == strlen(" ab\n     \u2588\n    xy\n") + 1);
  char small[4];
  CHECK("small buffer refused", tui_grid_text(g, small, sizeof small) == OT_EINVAL);
  CHECK("colour kept", g->cells[1 * 6 + 5].color == 3);
  tui_grid_clear(g);
  CHECK("cleared grid is blank lines", text_is(g, "\n\n\n"));
  CHECK("used height of a blank grid", tui_grid_used_height(g) == 1);
  tui_grid_puts(g, 0, 1, "q", 0);
  CHECK("used height", tui_grid_used_height(g) == 2);
  tui_grid_free(g);
  tui_grid_free(NULL);
  /* caller storage */
  tui_cell cells[4];
  tui_grid cg;
  CHECK("init over caller cells", tui_grid_init(&cg, 2, 2, cells) == OT_OK && !cg.owned);
  CHECK("init refuses bad sizes", tui_grid_init(&cg, 2, 0, cells) == OT_EINVAL);
  /* allocation failure */
  ot_mem_fail_after(1);
  g = NULL;
  CHECK("allocation failure reported", tui_grid_new(&g, 4, 4) == OT_ENOMEM && g == NULL);
  ot_mem_fail_after(0);
}

static double huge[3] = {-1e308, 1e308, 0};

static void test_lines(void) {
  tui_grid *g = grid(30, 8);
  double y1[4] = {1, 4, 9, 16};
  tui_series s1 = {NULL, y1, 4, NULL};
  CHECK("one series", tui_plot_lines(g, &s1, 1, NULL) == OT_OK);
  CHECK("one series text", text_is(g,
      "20 +\n"
      "   |                        **\n"
      "10 +                     ***\n"
      "   |                *****\n"
      "   |          ******\n"
      " 0 +      ****\n"
      "   ++------------+-----------+\n"
      "    0            2           4\n"));
  tui_grid_free(g);

  g = grid(30, 10);
  double x2[3] = {0, 1, 2}, a[3] = {0, 1, 0}, b[3] = {1, 0, 1};
  tui_series s2[2] = {{x2, a, 3, "up"}, {x2, b, 3, NULL}};
  tui_plot_opts o;
  tui_plot_opts_init(&o);
  o.title = "two";
  CHECK("two series", tui_plot_lines(g, s2, 2, &o) == OT_OK);
  CHECK("two series text, legend", text_is(g,
      "             two\n"
      "  1 +++         ***         ++\n"
      "    |  ++     **   **     ++\n"
      "0.5 +    ++***       **+++\n"
      "    |    **+++       ++***\n"
      "    |  **     ++   ++     **\n"
      "  0 +**         +++         **\n"
      "    ++-----------+-----------+\n"
      "     0           1           2\n"
      "     * up   + series 2\n"));

  /* log scale: -3 and 0 are skipped (and break the line) */
  double e[5] = {100, 1, -3, 0.01, 0};
  tui_series s3 = {NULL, e, 5, NULL};
  tui_plot_opts_init(&o);
  o.logy = 1;
  CHECK("log scale", tui_plot_lines(g, &s3, 1, &o) == OT_OK);
  CHECK("log scale text", text_is(g,
      " 100 +      *\n"
      "     |       **\n"
      "     |         **\n"
      "   1 +           **\n"
      "     |\n"
      "     |\n"
      "     |\n"
      "0.01 +                       *\n"
      "     ++-----------+----------+\n"
      "      0           2          4\n"));
  /* log scale with nothing positive: empty axes */
  double neg[2] = {-1, 0};
  tui_series s6 = {NULL, neg, 2, NULL};
  CHECK("log scale, no positive value", tui_plot_lines(g, &s6, 1, &o) == OT_OK);
  int stars = 0;
  for (int i = 0; i < g->width * g->height; i++) stars += g->cells[i].ch[0] == '*';
  CHECK("log scale, no point drawn", stars == 0);
  tui_grid_free(g);

  g = grid(24, 6);
  double c[3] = {5, 5, 5};
  tui_series s4 = {NULL, c, 3, NULL};
  CHECK("constant data", tui_plot_lines(g, &s4, 1, NULL) == OT_OK);
  CHECK("constant data text", text_is(g,
      "5.5 +\n"
      "  5 +*******************\n"
      "    |\n"
      "4.5 +\n"
      "    ++--------+--------+\n"
      "     1        2        3\n"));
  double zero[2] = {0, 0};
  tui_series s7 = {NULL, zero, 2, NULL};
  CHECK("constant zero data", tui_plot_lines(g, &s7, 1, NULL) == OT_OK);
  double nn[5] = {1, 2, NAN, 2, INFINITY};
  tui_series s5 = {NULL, nn, 5, NULL};
  CHECK("NaN and Inf skipped", tui_plot_lines(g, &s5, 1, NULL) == OT_OK);
  CHECK("NaN and Inf text", text_is(g,
      "  2 +         *        *\n"
      "1.5 +       **\n"
      "    |      *\n"
      "  1 +     *\n"
      "    ++--------+--------+\n"
      "     0        2        4\n"));
  tui_series sh = {NULL, huge, 3, NULL};
  CHECK("range overflowing a double", tui_plot_lines(g, &sh, 1, NULL) == OT_OK);
  size_t size = tui_grid_text_size(g);
  char *buf = malloc(size);
  CHECK("no nan in the labels", buf && tui_grid_text(g, buf, size) == OT_OK && !strstr(buf, "nan"));
  free(buf);
  tui_series empty = {NULL, NULL, 0, NULL};
  CHECK("empty series: empty axes", tui_plot_lines(g, &empty, 1, NULL) == OT_OK);
  CHECK("no series refused", tui_plot_lines(g, &s4, 0, NULL) == OT_EINVAL);
  tui_grid_free(g);

  g = grid(30, 4); /* 2 rows of axes leave 2 rows of plot */
  CHECK("smallest height", tui_plot_lines(g, &s1, 1, NULL) == OT_OK);
  tui_grid_free(g);
  g = grid(30, 3);
  CHECK("too low", tui_plot_lines(g, &s1, 1, NULL) == OT_EINVAL);
  tui_grid_free(g);
  g = grid(5, 10);
  CHECK("too narrow", tui_plot_lines(g, &s1, 1, NULL) == OT_EINVAL);
  tui_grid_free(g);
}

static void test_heatmap(void) {
  tui_grid *g = grid(20, 6);
  double M[6] = {0, 1, 2, 3, 4, 5};
  ot_mat m = {2, 3, 3, M};
  CHECK("heatmap", tui_plot_heatmap(g, m, NULL) == OT_OK);
  CHECK("heatmap text", text_is(g,
      "  1    3\n"
      "1   ::==\n"
      "2 **%%@@\n"
      "[ .:-=+*#%@] 0 .. 5\n"
      "\n"
      "\n"));
  CHECK("used height", tui_grid_used_height(g) == 4);
  double one = 7;
  ot_mat m1 = {1, 1, 1, &one};
  CHECK("1x1 matrix", tui_plot_heatmap(g, m1, NULL) == OT_OK);
  CHECK("1x1 matrix text: middle shade", text_is(g,
      "  1\n"
      "1 ++\n"
      "[ .:-=+*#%@] 7 .. 7\n"
      "\n"
      "\n"
      "\n"));
  double Mn[4] = {0, NAN, 1, 2};
  ot_mat mn = {2, 2, 2, Mn};
  CHECK("NaN", tui_plot_heatmap(g, mn, NULL) == OT_OK);
  CHECK("NaN shows ?", text_is(g,
      "  1  2\n"
      "1   ??\n"
      "2 ++@@\n"
      "[ .:-=+*#%@] 0 .. 2\n"
      "\n"
      "\n"));
  ot_mat mh = {1, 3, 3, huge};
  CHECK("range overflowing a double", tui_plot_heatmap(g, mh, NULL) == OT_OK);
  CHECK("range overflowing a double: lowest, highest, middle",
        text_is(g, "  1    3\n1   @@++\n[ .:-=+*#%@] -1e+308\n\n\n\n"));
  ot_mat m0 = {0, 3, 3, M};
  CHECK("empty matrix refused", tui_plot_heatmap(g, m0, NULL) == OT_EINVAL);
  tui_grid_free(g);

  g = grid(40, 8);
  static double B[100 * 100];
  for (int i = 0; i < 100; i++)
    for (int j = 0; j < 100; j++) B[i * 100 + j] = i + j;
  ot_mat mb = {100, 100, 100, B};
  CHECK("block averages", tui_plot_heatmap(g, mb, NULL) == OT_OK);
  CHECK("block averages text", text_is(g,
      "    1         28        56           100\n"
      "  1        .......::::::------=======+++\n"
      "     .......::::::-------======+++++++**\n"
      "    ..::::::-------======+++++++******##\n"
      "    ::------=======+++++++******#######%\n"
      "    ---======+++++++******#######%%%%%%@\n"
      "100 ===+++++++******#######%%%%%%@@@@@@@\n"
      "[ .:-=+*#%@] 8 .. 189\n"));
  tui_grid_free(g);
  g = grid(60, 30);
  CHECK("block averages, wide", tui_plot_heatmap(g, mb, NULL) == OT_OK);
  size_t size = tui_grid_text_size(g);
  char *buf = malloc(size);
  CHECK("text", buf && tui_grid_text(g, buf, size) == OT_OK);
  CHECK("the bar names the blocks", buf && strstr(buf, "means of 4x2 blocks") != NULL);
  /* index ranges: every 10 cells on top, every 5 rows on the left */
  CHECK("column index ranges", buf && strncmp(buf, "    1         18        36        54        72           100\n", 60) == 0);
  CHECK("row index ranges", buf && strstr(buf, "\n 18 ") != NULL && strstr(buf, "\n 36 ") != NULL);
  free(buf);
  tui_grid_free(g);

  g = grid(3, 3); /* label, one column of cells; title row, one row, bar */
  CHECK("smallest grid", tui_plot_heatmap(g, m1, NULL) == OT_OK);
  tui_grid_free(g);
  g = grid(2, 3);
  CHECK("too narrow", tui_plot_heatmap(g, m1, NULL) == OT_EINVAL);
  tui_grid_free(g);
  g = grid(10, 2);
  CHECK("too low", tui_plot_heatmap(g, m1, NULL) == OT_EINVAL);
  tui_grid_free(g);
}

static void test_scatter(void) {
  tui_grid *g = grid(24, 8);
  double X[8] = {0, 0, 1, 1, 2, 0, 1, -1};
  double L1[4] = {0, 1, 2, 1}, L2[4] = {-1, 3, 3, 10};
  ot_mat xm = {4, 2, 2, X};
  CHECK("digit labels", tui_plot_scatter(g, xm, L1, NULL) == OT_OK);
  CHECK("digit labels text", text_is(g,
      " 1 +          1\n"
      "   |\n"
      " 0 +0                  2\n"
      "   |\n"
      "-1 +          1\n"
      "   ++---------+--------+\n"
      "    0         1        2\n"
      "    classes: 0 1 2\n"));
  CHECK("other labels", tui_plot_scatter(g, xm, L2, NULL) == OT_OK);
  CHECK("other labels text", text_is(g,
      " 1 +          b\n"
      "   |\n"
      " 0 +a                  b\n"
      "   |\n"
      "-1 +          c\n"
      "   ++---------+--------+\n"
      "    0         1        2\n"
      "    a=-1   b=3   c=10\n"));
  CHECK("no labels", tui_plot_scatter(g, xm, NULL, NULL) == OT_OK);
  CHECK("no labels text", text_is(g,
      " 1 +          *\n"
      "   |\n"
      " 0 +*                  *\n"
      "   |\n"
      "   |\n"
      "-1 +          *\n"
      "   ++---------+--------+\n"
      "    0         1        2\n"));
  double Xn[4] = {NAN, 1, 1, 1};
  ot_mat xn = {2, 2, 2, Xn};
  CHECK("NaN point skipped", tui_plot_scatter(g, xn, NULL, NULL) == OT_OK);
  ot_mat bad = {4, 1, 2, X};
  CHECK("X must be n x 2", tui_plot_scatter(g, bad, NULL, NULL) == OT_EINVAL);
  ot_mem_fail_after(1);
  CHECK("class table allocation failure", tui_plot_scatter(g, xm, L2, NULL) == OT_ENOMEM);
  ot_mem_fail_after(0);
  tui_grid_free(g);
  g = grid(24, 4);
  CHECK("too low with a legend", tui_plot_scatter(g, xm, L2, NULL) == OT_EINVAL);
  CHECK("fits without legend", tui_plot_scatter(g, xm, NULL, NULL) == OT_OK);
  tui_grid_free(g);
}

static void test_sparkline(void) {
  char buf[64];
  double v[9] = {1, 2, 3, 4, 5, 6, 7, 8, NAN};
  CHECK("sparkline", tui_sparkline(buf, sizeof buf, v, 9, 0, 0) == OT_OK);
  CHECK("sparkline text", strcmp(buf, "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588 ") == 0);
  CHECK("ascii sparkline", tui_sparkline(buf, sizeof buf, v, 9, 0, 1) == OT_OK);
  CHECK("ascii sparkline text", strcmp(buf, "_.-~=+*# ") == 0);
  CHECK("size", tui_sparkline_size(9, 0, 0) == 28 && tui_sparkline_size(9, 3, 1) == 4);
  CHECK("grouped", tui_sparkline(buf, sizeof buf, v, 8, 4, 1) == OT_OK && strcmp(buf, "_-+#") == 0);
  double c[3] = {2, 2, 2};
  CHECK("constant", tui_sparkline(buf, sizeof buf, c, 3, 0, 1) == OT_OK && strcmp(buf, "~~~") == 0);
  CHECK("overflowing range", tui_sparkline(buf, sizeof buf, huge, 3, 0, 1) == OT_OK && strcmp(buf, "_#=") == 0);
  double big[2] = {1e308, 1e308};
  CHECK("overflowing mean", tui_sparkline(buf, sizeof buf, big, 2, 1, 1) == OT_OK && strcmp(buf, "~") == 0);
  CHECK("empty", tui_sparkline(buf, sizeof buf, c, 0, 0, 0) == OT_OK && buf[0] == '\0');
  CHECK("small buffer", tui_sparkline(buf, 3, v, 9, 0, 1) == OT_EINVAL);
}

/* The ANSI text of g equals want (escapes included); prints both otherwise. */
static int ansi_is(const tui_grid *g, const char *want) {
  size_t size = tui_grid_ansi(g, NULL, 0);
  char *buf = malloc(size);
  if (!buf) return 0;
  int same = tui_grid_ansi(g, buf, size) == size && strlen(buf) == size - 1 && strcmp(buf, want) == 0;
  if (!same) printf("--- got:\n%s--- want:\n%s---\n", buf, want);
  free(buf);
  return same;
}

static void test_color(void) {
  /* the palette */
  CHECK("default colour", tui_color_xterm(0) == -1);
  CHECK("categorical colours cycle", tui_color_xterm(1) == 33 && tui_color_xterm(11) == 33 &&
        tui_color_xterm(2) == 208);
  CHECK("heat ramp ends: dark purple, yellow", tui_color_xterm(TUI_HEAT0) == 53 &&
        tui_color_xterm(TUI_HEAT0 + TUI_HEAT_LEVELS - 1) == 220);
  unsigned char rgb[3];
  tui_heat_rgb(0.0, rgb);
  CHECK("heat rgb low", rgb[0] == 68 && rgb[1] == 1 && rgb[2] == 84);
  tui_heat_rgb(2.0, rgb);
  CHECK("heat rgb clamped high", rgb[0] == 253 && rgb[1] == 231 && rgb[2] == 37);
  tui_heat_rgb(NAN, rgb);
  CHECK("heat rgb NaN grey", rgb[0] == 128 && rgb[1] == 128 && rgb[2] == 128);

  /* coloured full blocks: each element two columns, colour bar */
  double M[6] = {0, 1, 2, 3, 4, 5};
  ot_mat m = {2, 3, 3, M};
  tui_plot_opts o;
  tui_plot_opts_init(&o);
  o.color = 1;
  tui_grid *g = grid(30, 5);
  CHECK("coloured heatmap", tui_plot_heatmap(g, m, &o) == OT_OK);
  CHECK("coloured heatmap text", text_is(g,
      "  1    3\n"
      "1 \u2588\u2588\u2588\u2588\u2588\u2588\n"
      "2 \u2588\u2588\u2588\u2588\u2588\u2588\n"
      "0 \u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588 5\n"
      "\n"));
  CHECK("coloured heatmap levels", g->cells[30 + 2].color == TUI_HEAT0 &&
        g->cells[30 + 4].color == TUI_HEAT0 + 4 && g->cells[30 + 6].color == TUI_HEAT0 + 9 &&
        g->cells[2 * 30 + 6].color == TUI_HEAT0 + TUI_HEAT_LEVELS - 1);
  CHECK("colour bar is the ramp", g->cells[3 * 30 + 2].color == TUI_HEAT0 &&
        g->cells[3 * 30 + 25].color == TUI_HEAT0 + 23);
  tui_grid_free(g);

  /* half blocks: 8 rows on 4 text rows; foreground row 2k, background 2k+1 */
  double H[24];
  for (int i = 0; i < 24; i++) H[i] = i;
  ot_mat mh = {8, 3, 3, H};
  g = grid(34, 6);
  CHECK("half-block heatmap", tui_plot_heatmap(g, mh, &o) == OT_OK);
  CHECK("half-block heatmap text", text_is(g,
      "  1    3\n"
      "1 \u2580\u2580\u2580\u2580\u2580\u2580\n"
      "  \u2580\u2580\u2580\u2580\u2580\u2580\n"
      "  \u2580\u2580\u2580\u2580\u2580\u2580\n"
      "8 \u2580\u2580\u2580\u2580\u2580\u2580\n"
      "0 \u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588\u2588 23\n"));
  CHECK("half-block colours: upper row fg, lower row bg",
        g->cells[34 + 2].color == TUI_HEAT0 && g->cells[34 + 2].bg == TUI_HEAT0 + 3 &&
        g->cells[34 + 4].color == TUI_HEAT0 + 1 && g->cells[34 + 4].bg == TUI_HEAT0 + 4);
  tui_grid_free(g);

  /* axis names instead of indices; labels of a reduced matrix */
  const char *rn[2] = {"zero", "one"}, *cn[3] = {"a", "b", "c"};
  tui_plot_opts_init(&o);
  o.row_names = rn;
  o.col_names = cn;
  o.title = "names";
  g = grid(24, 6);
  CHECK("named heatmap", tui_plot_heatmap(g, m, &o) == OT_OK);
  CHECK("named heatmap text", text_is(g,
      "         names\n"
      "     a b c\n"
      "zero   ::==\n"
      " one **%%@@\n"
      "[ .:-=+*#%@] 0 .. 5\n"
      "\n"));
  tui_grid_free(g);
  tui_plot_opts_init(&o);
  o.full_rows = 200;
  o.full_cols = 300;
  g = grid(24, 5);
  CHECK("reduced heatmap", tui_plot_heatmap(g, m, &o) == OT_OK);
  CHECK("reduced heatmap labelled with the full indices", text_is(g,
      "    1  300\n"
      "  1   ::==\n"
      "200 **%%@@\n"
      "[ .:-=+*#%@] 0 .. 5\n"
      "\n"));
  tui_grid_free(g);

  /* braille */
  char b[4];
  tui_braille(b, 0);
  CHECK("blank braille", strcmp(b, "\u2800") == 0);
  tui_braille(b, 0xFF);
  CHECK("full braille", strcmp(b, "\u28FF") == 0);
  tui_braille(b, tui_braille_bit(0, 0) | tui_braille_bit(0, 1) | tui_braille_bit(0, 2) |
                 tui_braille_bit(0, 3));
  CHECK("left column: dots 1, 2, 3, 7", strcmp(b, "\u2847") == 0);
  CHECK("dot bits", tui_braille_bit(1, 0) == 0x08 && tui_braille_bit(1, 3) == 0x80 &&
        tui_braille_bit(0, 3) == 0x40 && tui_braille_bit(2, 0) == 0);
  double X[10] = {0, 0, 1, 1, 0.5, 0.5, 0.52, 0.5, 1, 0};
  double L[5] = {0, 1, 0, 0, 1};
  ot_mat xm = {5, 2, 2, X};
  tui_plot_opts_init(&o);
  o.color = 1;
  g = grid(20, 8);
  CHECK("braille scatter", tui_plot_scatter(g, xm, L, &o) == OT_OK);
  CHECK("braille scatter text", text_is(g,
      "  1 +              \u2808\n"
      "    |\n"
      "0.5 +       \u2810\n"
      "    |\n"
      "  0 +\u2840             \u2880\n"
      "    ++------+------+\n"
      "     0     0.5     1\n"
      "     classes: 0 1\n"));
  CHECK("braille cells coloured by class", g->cells[19].color == 2 && g->cells[4 * 20 + 5].color == 1 &&
        g->cells[7 * 20 + 14].color == 1 && g->cells[7 * 20 + 16].color == 2);
  CHECK("ANSI text", ansi_is(g,
      "  1 +              \033[0m\033[38;5;208m\u2808\033[0m\n"
      "    |\n"
      "0.5 +       \033[0m\033[38;5;33m\u2810\033[0m\n"
      "    |\n"
      "  0 +\033[0m\033[38;5;33m\u2840\033[0m             \033[0m\033[38;5;208m\u2880\033[0m\n"
      "    ++------+------+\n"
      "     0     0.5     1\n"
      "     classes: \033[0m\033[38;5;33m0\033[0m \033[0m\033[38;5;208m1\033[0m\n"));
  ot_mem_fail_after(2); /* the class table succeeds, the dot table fails */
  CHECK("dot table allocation failure", tui_plot_scatter(g, xm, L, &o) == OT_ENOMEM);
  ot_mem_fail_after(0);
  tui_grid_free(g);

  /* blit: copy with clipping */
  tui_grid *a = grid(4, 2), *c = grid(3, 1);
  tui_grid_puts(c, 0, 0, "xyz", 5);
  tui_grid_blit(a, c, 2, 1);
  tui_grid_blit(a, c, -1, 0);
  CHECK("blit clips at the edges", text_is(a, "yz\n  xy\n") && a->cells[4 + 2].color == 5);
  tui_grid_free(a);
  tui_grid_free(c);
}

int main(void) {
  test_grid();
  test_lines();
  test_heatmap();
  test_scatter();
  test_sparkline();
  test_color();
  return test_report();
}
