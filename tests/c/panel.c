/*
 * tests/c/panel.c -- the live panel without a terminal (src/tui/panel.c):
 * what it records from progress reports and draws for each kind of
 * ot_view (plan, named matrix, bounds, particles, training), run
 * boundaries, the progress lines printed on stderr when no panel can open,
 * and that nothing ever tries to open a screen here (--no-panel).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ot/ot.h"
#include "ot/view.h"
#include "test.h"
#include "tui/panel.h"
#include "tui/plot.h"

/* The panel's text at w x h, malloc'd. */
static char *panel_text(int w, int h) {
  tui_grid *g = NULL;
  if (tui_grid_new(&g, w, h) != OT_OK || tui_panel_render(g, 0) != OT_OK) exit(1);
  size_t n = tui_grid_text_size(g);
  char *buf = malloc(n);
  if (!buf) exit(1);
  tui_grid_text(g, buf, n);
  tui_grid_free(g);
  return buf;
}

static int has(const char *text, const char *what) {
  if (strstr(text, what)) return 1;
  printf("--- missing '%s' in:\n%s---\n", what, text);
  return 0;
}

/* Report iterations 1..n of `kernel` with a falling error and view v. */
static void run(const char *kernel, long n, const ot_view *v, double t0) {
  for (long k = 1; k <= n; k++) {
    ot_progress p = {kernel, k, n, pow(10.0, -(double)k / 10.0), 1.0 / (double)k,
                     t0 + 0.01 * (double)k, v};
    tui_panel_progress(&p);
  }
}

int main(void) {
  tui_panel_init(0, 0); /* --no-panel: never a screen */
  char *s = panel_text(80, 20);
  CHECK("nothing reported yet", has(s, "otlab panel: no solver has reported yet") &&
        has(s, "q close panel   c cancel job   p pause redraw"));
  free(s);

  /* a plan */
  double plan[12 * 10];
  for (int i = 0; i < 12; i++)
    for (int j = 0; j < 10; j++) plan[i * 10 + j] = i == j ? 1.0 : 0.01;
  ot_view v;
  memset(&v, 0, sizeof v);
  v.kind = OT_VIEW_PLAN;
  v.mat = ot_mat_view(plan, 12, 10);
  run("sinkhorn", 40, &v, 0.0);
  CHECK("no screen with --no-panel", !tui_panel_is_open() && tui_panel_show(0) == 0);
  s = panel_text(100, 30);
  CHECK("header: kernel, iteration, err, objective, time",
        has(s, "otlab panel: sinkhorn   iteration 40/40   err 0.0001   objective 0.025   0.4 s"));
  CHECK("error curve on a log scale", has(s, "marginal error (log)") && has(s, "0.0001 +"));
  CHECK("objective curve", has(s, "          objective "));
  CHECK("plan heatmap with its size", has(s, "plan (12 x 10)") && has(s, "@@"));
  free(s);
  s = panel_text(70, 20); /* the fields close up rather than run off the edge */
  CHECK("header at 70 columns: single spaces, nothing cut",
        has(s, "otlab panel: sinkhorn iteration 40/40 err 0.0001 objective 0.025 0.4 s\n") ||
        has(s, "otlab panel: sinkhorn iteration 40/40 err 0.0001 objective 0.025 0.4 s "));
  free(s);
  s = panel_text(50, 20); /* narrow: the curves only */
  CHECK("narrow panel: curves, no heatmap", has(s, "marginal error (log)") && !strstr(s, "plan (12"));
  free(s);

  /* a named matrix: a new run (another kernel) */
  const char *names[3] = {"cats", "dogs", "owls"};
  double D[9] = {0, 1, 2, 1, 0, 1, 2, 1, 0};
  memset(&v, 0, sizeof v);
  v.kind = OT_VIEW_MATRIX;
  v.mat = ot_mat_view(D, 3, 3);
  v.row_names = names;
  v.col_names = names;
  v.title = "label distances";
  run("otdd", 5, &v, 0.0);
  s = panel_text(100, 30);
  CHECK("new run: the kernel's name", has(s, "otlab panel: otdd   iteration 5/5"));
  CHECK("named matrix", has(s, "label distances") && has(s, "cats") && has(s, "owls"));
  free(s);

  /* bounds closing in */
  memset(&v, 0, sizeof v);
  v.kind = OT_VIEW_BOUNDS;
  for (long k = 1; k <= 30; k++) {
    v.values[0] = 1.0 + 1.0 / (double)k;
    v.values[1] = 1.0 - 1.0 / (double)k;
    v.values[2] = (double)(10 * k);
    v.values[3] = 300;
    ot_progress p = {"bounds", k, 30, NAN, NAN, 0.01 * (double)k, &v};
    tui_panel_progress(&p);
  }
  s = panel_text(100, 30);
  CHECK("bound curves", has(s, "bounds vs solves") && has(s, "* upper") && has(s, "+ lower"));
  CHECK("no objective curve when none is reported", !strstr(s, "          objective ") &&
        has(s, "objective -"));
  free(s);

  /* particles with labels */
  double X[40 * 3], lab[40];
  for (int i = 0; i < 40; i++) {
    X[3 * i] = cos(i * 0.3) + (i % 2) * 3.0;
    X[3 * i + 1] = sin(i * 0.3);
    X[3 * i + 2] = 99.0; /* a third feature: not drawn */
    lab[i] = i % 2;
  }
  memset(&v, 0, sizeof v);
  v.kind = OT_VIEW_PARTICLES;
  v.mat = ot_mat_view(X, 40, 3);
  v.labels = lab;
  v.title = "flow step";
  run("flow", 10, &v, 0.0);
  s = panel_text(100, 30);
  CHECK("particle scatter coloured by label", has(s, "flow step") && has(s, "classes: 0 1"));
  free(s);

  /* training */
  memset(&v, 0, sizeof v);
  v.kind = OT_VIEW_TRAIN;
  for (long k = 1; k <= 20; k++) {
    v.values[0] = 1.0 / (double)k;
    v.values[1] = 0.5 + 0.02 * (double)k;
    v.values[2] = 0.45 + 0.02 * (double)k;
    v.values[3] = (double)k;
    ot_progress p = {"nn", k, 20, NAN, v.values[0], 0.1 * (double)k, &v};
    tui_panel_progress(&p);
  }
  s = panel_text(100, 30);
  CHECK("training curves", has(s, "loss vs epoch") && has(s, "accuracy vs epoch") &&
        has(s, "* train") && has(s, "+ test"));
  free(s);

  tui_panel_chunk_end(); /* the training run lasted 2 s: its summary goes here */

  /* progress lines on stderr: one every 2 s of a run, a summary at the end */
  char path[] = "/tmp/otlab-panel-test-XXXXXX";
  int fd = mkstemp(path);
  CHECK("temporary file", fd >= 0);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  for (long k = 1; k <= 500; k++) { /* 5 s of reports, 10 ms apart */
    ot_progress p = {"sinkhorn", k, 500, 1.0 / (double)k, NAN, 0.01 * (double)k, NULL};
    tui_panel_progress(&p);
  }
  tui_panel_chunk_end();
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  char text[1024] = "";
  FILE *f = fopen(path, "r");
  size_t got = f ? fread(text, 1, sizeof text - 1, f) : 0;
  text[got] = '\0';
  if (f) fclose(f);
  close(fd);
  unlink(path);
  CHECK("progress lines at 2 s and 4 s, then the summary",
        strcmp(text, "[sinkhorn] at iteration 200/500, err 0.005, objective -, 2.0 s\n"
                     "[sinkhorn] at iteration 400/500, err 0.0025, objective -, 4.0 s\n"
                     "[sinkhorn] ended at iteration 500/500, err 0.002, objective -, 5.0 s\n") == 0);
  if (!strstr(text, "[sinkhorn] ended")) printf("--- stderr was:\n%s---\n", text);
  CHECK("no escape bytes", strchr(text, '\033') == NULL);

  tui_panel_shutdown();
  return test_report();
}
