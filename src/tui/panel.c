/*
 * panel.c -- the live ncurses panel (see panel.h): the only code that
 * includes curses.h.
 *
 * Two halves: the record (what the reports of the current kernel run said:
 * curves and a snapshot of its ot_view, kept in memory we own because the
 * kernel's view is valid only during its progress call), and the display
 * (tui_panel_render draws the record into a character grid with plot.c;
 * show_grid copies that grid to the curses screen).  The screen is one
 * SCREEN made by newterm() at the first open and suspended with endwin()
 * in between, so a session opens and closes the panel many times without
 * leaking terminal state.
 */
#include <curses.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ot/alloc.h"
#include "ot/view.h"
#include "panel.h"

#define HIST_MAX 2048   /* points kept per curve; halved when full */
#define SNAP_ROWS 120   /* a plan or matrix is kept as block means of at most this */
#define SNAP_COLS 200
#define SNAP_POINTS 20000 /* particles kept (a regular subsample beyond) */
#define NAMES_MAX 64
#define NAME_LEN 24

/* One recorded report: x (iteration, solves or epoch) and the values. */
typedef struct hpoint {
  double iter, err, obj;
  double x2, v[3]; /* BOUNDS: x2 solves, v upper, lower; TRAIN: x2 epoch, v loss, acc, acc */
} hpoint;

static struct {
  /* configuration and terminal */
  int enabled, color_ok;
  int tried, usable;      /* newterm attempted / it gave a usable screen */
  SCREEN *scr;
  int colors;             /* 1: 256 colours are in use */
  short pair_of[256][256]; /* curses pair of the colour indices (fg, bg); 0: none yet */
  int npairs;
  /* state */
  int open;               /* on the screen now */
  int wanted;             /* tui_panel_show asked for it (reopen after output) */
  int hold;               /* wait for q at the chunk's end */
  int suppressed;         /* q pressed: no automatic opening until the chunk ends */
  int run_quiet;          /* output closed it: not again during this run */
  int paused;
  double last_draw, last_snap;
  /* the current run */
  int have_run;
  char kernel[32];
  long iter, max_iter, last_iter;
  double err, obj, elapsed, last_elapsed;
  hpoint *hist;
  size_t hn;
  /* text-mode progress lines */
  double last_line;
  int lines_printed;
  /* the view snapshot */
  int vkind;
  double *vmat;           /* PLAN, MATRIX: block means; PARTICLES: n x 2 points */
  double *vlab;           /* PARTICLES: labels, or NULL */
  size_t vr, vc, vfull_r, vfull_c, vcap, vlabcap;
  char vtitle[80];
  char rnames[NAMES_MAX][NAME_LEN], cnames[NAMES_MAX][NAME_LEN];
  int have_rnames, have_cnames;
  double vvalues[4];
} P;

static volatile sig_atomic_t winch_seen;

void tui_panel_init(int enabled, int color) {
  P.enabled = enabled;
  P.color_ok = color;
}

int tui_panel_is_open(void) { return P.open; }

/* ---- the record ------------------------------------------------------------- */

/* Forget the run: a new one starts (new kernel, iteration or clock went back). */
static void run_reset(const ot_progress *p) {
  P.have_run = 1;
  snprintf(P.kernel, sizeof P.kernel, "%s", p->kernel && p->kernel[0] ? p->kernel : "kernel");
  P.hn = 0;
  P.vkind = OT_VIEW_NONE;
  P.last_line = 0.0;
  P.last_snap = -1.0;
  P.run_quiet = 0;
}

/* Append a report to the curves, halving them when full. */
static void hist_add(const ot_progress *p, const ot_view *v) {
  if (!P.hist && ot_malloc(HIST_MAX * sizeof *P.hist, &P.hist) != OT_OK) return;
  if (P.hn == HIST_MAX) {
    for (size_t k = 0; k < HIST_MAX / 2; k++) P.hist[k] = P.hist[2 * k + 1];
    P.hn = HIST_MAX / 2;
  }
  hpoint *h = &P.hist[P.hn++];
  h->iter = (double)p->iter;
  h->err = p->err;
  h->obj = p->objective;
  h->x2 = NAN;
  h->v[0] = h->v[1] = h->v[2] = NAN;
  if (v && v->kind == OT_VIEW_BOUNDS) {
    h->x2 = v->values[2];
    h->v[0] = v->values[0];
    h->v[1] = v->values[1];
  } else if (v && v->kind == OT_VIEW_TRAIN) {
    h->x2 = v->values[3];
    h->v[0] = v->values[0];
    h->v[1] = v->values[1];
    h->v[2] = v->values[2];
  }
}

/* Room for n doubles in *buf (capacity *cap); 0 when the allocator refused. */
static int reserve(double **buf, size_t *cap, size_t n) {
  if (*cap >= n && *buf) return 1;
  double *nb;
  if (ot_alloc_doubles(n, 1, &nb) != OT_OK) return 0;
  ot_free(*buf);
  *buf = nb;
  *cap = n;
  return 1;
}

/* Copy names (borrowed from the kernel) for up to NAMES_MAX entries. */
static int copy_names(char (*dst)[NAME_LEN], const char *const *src, size_t n) {
  if (!src || n > NAMES_MAX) return 0;
  for (size_t k = 0; k < n; k++) snprintf(dst[k], NAME_LEN, "%s", src[k] ? src[k] : "");
  return 1;
}

/* Keep what the view shows now (the kernel may reuse its memory later). */
static void snapshot(const ot_view *v) {
  P.vkind = OT_VIEW_NONE;
  if (!v || v->kind <= OT_VIEW_NONE || v->kind > OT_VIEW_TRAIN) return;
  snprintf(P.vtitle, sizeof P.vtitle, "%s", v->title ? v->title : "");
  memcpy(P.vvalues, v->values, sizeof P.vvalues);
  ot_mat m = v->mat;
  if (v->kind == OT_VIEW_PLAN || v->kind == OT_VIEW_MATRIX) {
    if (!m.data || m.rows == 0 || m.cols == 0) return;
    size_t nr = m.rows < SNAP_ROWS ? m.rows : SNAP_ROWS;
    size_t nc = m.cols < SNAP_COLS ? m.cols : SNAP_COLS;
    if (!reserve(&P.vmat, &P.vcap, nr * nc)) return;
    for (size_t i = 0; i < nr; i++) {
      size_t r0 = i * m.rows / nr, r1 = (i + 1) * m.rows / nr;
      for (size_t j = 0; j < nc; j++) {
        size_t c0 = j * m.cols / nc, c1 = (j + 1) * m.cols / nc;
        double s = 0.0, cnt = (double)(r1 - r0) * (double)(c1 - c0);
        for (size_t a = r0; a < r1; a++)
          for (size_t b = c0; b < c1; b++) s += m.data[a * m.ld + b] / cnt;
        P.vmat[i * nc + j] = s; /* a NaN or infinity propagates: shown as '?' */
      }
    }
    P.vr = nr;
    P.vc = nc;
    P.vfull_r = m.rows;
    P.vfull_c = m.cols;
    P.have_rnames = nr == m.rows && copy_names(P.rnames, v->row_names, m.rows);
    P.have_cnames = nc == m.cols && copy_names(P.cnames, v->col_names, m.cols);
  } else if (v->kind == OT_VIEW_PARTICLES) {
    if (!m.data || m.rows == 0 || m.cols == 0) return;
    size_t n = m.rows < SNAP_POINTS ? m.rows : SNAP_POINTS;
    if (!reserve(&P.vmat, &P.vcap, 2 * n)) return;
    if (v->labels && !reserve(&P.vlab, &P.vlabcap, n)) return;
    const ot_mat *pr = v->proj;
    int proj = pr && pr->data && pr->rows == m.cols && pr->cols == 2;
    for (size_t k = 0; k < n; k++) {
      const double *row = m.data + (k * m.rows / n) * m.ld;
      double x, y;
      if (proj) {
        x = y = 0.0;
        for (size_t d = 0; d < m.cols; d++) {
          x += row[d] * pr->data[d * pr->ld];
          y += row[d] * pr->data[d * pr->ld + 1];
        }
      } else {
        x = row[0];
        y = m.cols > 1 ? row[1] : 0.0;
      }
      P.vmat[2 * k] = x;
      P.vmat[2 * k + 1] = y;
      if (v->labels) P.vlab[k] = v->labels[k * m.rows / n];
    }
    P.vr = n;
    P.vc = 2;
    P.vfull_r = m.rows;
  } else if (v->kind != OT_VIEW_BOUNDS && v->kind != OT_VIEW_TRAIN) {
    return;
  }
  P.vkind = v->kind;
  if (v->kind == OT_VIEW_PARTICLES && !v->labels) P.vkind = -OT_VIEW_PARTICLES; /* no labels */
}

/* ---- drawing into a grid ------------------------------------------------------ */

/* Draw plot kind `what` of the record into the w x h region at (x, y) of g. */
enum { CURVE_ERR, CURVE_OBJ, CURVE_BOUNDS, CURVE_LOSS, CURVE_ACC, VIEW_MAP, VIEW_SCATTER };

static void region(tui_grid *g, int what, int x, int y, int w, int h, int color) {
  if (w < 12 || h < 5) return;
  tui_grid *sub;
  if (tui_grid_new(&sub, w, h) != OT_OK) return;
  double *buf = NULL;
  size_t n = P.hn;
  tui_plot_opts o;
  tui_plot_opts_init(&o);
  o.color = color;
  int rc = OT_EINVAL;
  if (what <= CURVE_ACC) {
    if (ot_alloc_doubles(5, n ? n : 1, &buf) != OT_OK) goto done;
    double *xs = buf, *y0 = buf + n, *y1 = buf + 2 * n, *y2 = buf + 3 * n;
    for (size_t k = 0; k < n; k++) {
      const hpoint *hp = &P.hist[k];
      int alt = what >= CURVE_BOUNDS;
      xs[k] = alt && isfinite(hp->x2) ? hp->x2 : hp->iter;
      y0[k] = what == CURVE_ERR ? hp->err : what == CURVE_OBJ ? hp->obj
            : what == CURVE_ACC ? hp->v[1] : hp->v[0];
      y1[k] = what == CURVE_ACC ? hp->v[2] : hp->v[1];
      y2[k] = NAN;
    }
    (void)y2;
    tui_series s[2] = {{xs, y0, n, NULL}, {xs, y1, n, NULL}};
    size_t ns = 1;
    if (what == CURVE_ERR) {
      o.title = "marginal error (log)";
      o.logy = 1;
    } else if (what == CURVE_OBJ) {
      o.title = "objective";
    } else if (what == CURVE_BOUNDS) {
      o.title = "bounds vs solves";
      s[0].label = "upper";
      s[1].label = "lower";
      ns = 2;
    } else if (what == CURVE_LOSS) {
      o.title = "loss vs epoch";
    } else {
      o.title = "accuracy vs epoch";
      s[0].label = "train";
      s[1].label = "test";
      ns = 2;
    }
    rc = tui_plot_lines(sub, s, ns, &o);
  } else if (what == VIEW_MAP) {
    char title[120];
    if (P.vtitle[0])
      snprintf(title, sizeof title, "%s", P.vtitle);
    else
      snprintf(title, sizeof title, "%s (%zu x %zu)", P.vkind == OT_VIEW_PLAN ? "plan" : "matrix",
               P.vfull_r, P.vfull_c);
    o.title = title;
    o.full_rows = P.vfull_r;
    o.full_cols = P.vfull_c;
    const char *rn[NAMES_MAX], *cn[NAMES_MAX];
    if (P.have_rnames) {
      for (size_t k = 0; k < P.vr; k++) rn[k] = P.rnames[k];
      o.row_names = rn;
    }
    if (P.have_cnames) {
      for (size_t k = 0; k < P.vc; k++) cn[k] = P.cnames[k];
      o.col_names = cn;
    }
    rc = tui_plot_heatmap(sub, ot_mat_view(P.vmat, P.vr, P.vc), &o);
  } else {
    char title[120];
    snprintf(title, sizeof title, "%s", P.vtitle[0] ? P.vtitle : "particles");
    o.title = title;
    rc = tui_plot_scatter(sub, ot_mat_view(P.vmat, P.vr, 2), P.vkind > 0 ? P.vlab : NULL, &o);
  }
  if (rc == OT_OK) tui_grid_blit(g, sub, x, y);
done:
  ot_free(buf);
  tui_grid_free(sub);
}

/* "1.2e-05", "-", etc. */
static void fmt_num(char *out, size_t len, double v) {
  if (isnan(v)) snprintf(out, len, "-");
  else snprintf(out, len, "%.4g", v);
}

int tui_panel_render(tui_grid *g, int color) {
  int W = g->width, H = g->height;
  tui_grid_clear(g);
  char line[512], e[32], ob[32];
  if (!P.have_run) {
    snprintf(line, sizeof line, "otlab panel: no solver has reported yet");
  } else {
    fmt_num(e, sizeof e, P.err);
    fmt_num(ob, sizeof ob, P.obj);
    char it[48];
    if (P.max_iter > 0) snprintf(it, sizeof it, "%ld/%ld", P.iter, P.max_iter);
    else snprintf(it, sizeof it, "%ld", P.iter);
    /* three spaces between the fields when they fit the width, one when
     * not (long iteration counts on an 80- or 100-column terminal), so the
     * "(paused)" mark at the end stays visible */
    for (int sep = 3; sep >= 1; sep -= 2) {
      snprintf(line, sizeof line, "otlab panel: %s%*siteration %s%*serr %s%*sobjective %s%*s%.1f s%s%s",
               P.kernel, sep, "", it, sep, "", e, sep, "", ob, sep, "", P.elapsed,
               P.paused ? (sep == 3 ? "   " : " ") : "", P.paused ? "(paused)" : "");
      if ((int)strlen(line) <= W) break;
    }
  }
  tui_grid_puts(g, 0, 0, line, 0);
  tui_grid_puts(g, 0, H - 1, "q close panel   c cancel job   p pause redraw", 0);
  if (!P.have_run || H < 8) return OT_OK;
  int body_y = 1, body_h = H - 2;
  int kind = P.vkind < 0 ? -P.vkind : P.vkind;
  int view = kind != OT_VIEW_NONE && W >= 60;
  int lw = view ? W * 2 / 5 : W;
  /* the solver's curves on the left: error (log) over objective when tracked */
  int has_obj = 0;
  for (size_t k = 0; k < P.hn && !has_obj; k++) has_obj = isfinite(P.hist[k].obj);
  int tracks = kind == OT_VIEW_BOUNDS || kind == OT_VIEW_TRAIN; /* the curves are the view */
  if (has_obj && !tracks) {
    region(g, CURVE_ERR, 0, body_y, lw, body_h / 2, color);
    region(g, CURVE_OBJ, 0, body_y + body_h / 2, lw, body_h - body_h / 2, color);
  } else {
    region(g, CURVE_ERR, 0, body_y, lw, body_h, color);
  }
  if (!view) return OT_OK;
  int rx = lw + 1, rw = W - lw - 1;
  switch (kind) {
  case OT_VIEW_PLAN:
  case OT_VIEW_MATRIX:
    region(g, VIEW_MAP, rx, body_y, rw, body_h, color);
    break;
  case OT_VIEW_PARTICLES:
    region(g, VIEW_SCATTER, rx, body_y, rw, body_h, color);
    break;
  case OT_VIEW_BOUNDS:
    region(g, CURVE_BOUNDS, rx, body_y, rw, body_h, color);
    break;
  case OT_VIEW_TRAIN:
    region(g, CURVE_LOSS, rx, body_y, rw, body_h / 2, color);
    region(g, CURVE_ACC, rx, body_y + body_h / 2, rw, body_h - body_h / 2, color);
    break;
  default:
    break;
  }
  return OT_OK;
}

/* ---- the screen --------------------------------------------------------------- */

static void on_winch(int sig) {
  (void)sig;
  winch_seen = 1;
}

static struct sigaction old_winch;

/* The curses colour pair for the cell colour indices (fg, bg), made on
 * first use; 0 (the default pair) when the terminal's pairs run out. */
static int pair_for(int fg, int bg) {
  if (fg == 0 && bg == 0) return 0;
  short *slot = &P.pair_of[fg & 255][bg & 255];
  if (*slot) return *slot;
  if (P.npairs + 1 >= COLOR_PAIRS || P.npairs + 1 > 32767) return 0;
  *slot = (short)++P.npairs;
  init_pair(*slot, (short)tui_color_xterm(fg), (short)tui_color_xterm(bg));
  return *slot;
}

/* 1 when dir holds a terminfo entry for term (as "x/xterm" or, on
 * case-insensitive file systems, "78/xterm"). */
static int terminfo_in(const char *dir, size_t dlen, const char *term) {
  char path[1024];
  if (dlen == 0 || dlen > 512) return 0;
  snprintf(path, sizeof path, "%.*s/%c/%s", (int)dlen, dir, term[0], term);
  if (access(path, R_OK) == 0) return 1;
  snprintf(path, sizeof path, "%.*s/%02x/%s", (int)dlen, dir, (unsigned char)term[0], term);
  return access(path, R_OK) == 0;
}

/*
 * 1 when the terminfo database has an entry for term, searched where
 * ncurses searches ($TERMINFO, ~/.terminfo, $TERMINFO_DIRS, the system
 * directories).  Asked before newterm(), whose failure on an unknown TERM
 * leaves ncurses' pre-screen allocated for the rest of the process.
 */
static int terminfo_known(const char *term) {
  if (strchr(term, '/') || strchr(term, '.')) return 0;
  const char *t = getenv("TERMINFO"), *home = getenv("HOME"), *dirs = getenv("TERMINFO_DIRS");
  if (t && terminfo_in(t, strlen(t), term)) return 1;
  if (home) {
    char hd[600];
    snprintf(hd, sizeof hd, "%s/.terminfo", home);
    if (terminfo_in(hd, strlen(hd), term)) return 1;
  }
  for (const char *d = dirs; d && *d;) {
    const char *end = strchr(d, ':');
    size_t len = end ? (size_t)(end - d) : strlen(d);
    if (terminfo_in(d, len, term)) return 1;
    d = end ? end + 1 : NULL;
  }
  static const char *const sys[] = {"/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo",
                                    "/usr/lib/terminfo", "/usr/local/share/terminfo"};
  for (size_t k = 0; k < sizeof sys / sizeof sys[0]; k++)
    if (terminfo_in(sys[k], strlen(sys[k]), term)) return 1;
  return 0;
}

/* Make the screen at the first open: newterm on the terminal, or nothing
 * (P.usable = 0) when there is no terminal or it cannot address the cursor. */
static void screen_try(void) {
  P.tried = 1;
  P.usable = 0;
  const char *term = getenv("TERM");
  if (!P.enabled || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || !term || !term[0] ||
      strcmp(term, "dumb") == 0 || !terminfo_known(term))
    return;
  /* our SIGWINCH handler first, so that ncurses does not install its own */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_winch;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGWINCH, &sa, &old_winch);
  P.scr = newterm(NULL, stdout, stdin);
  if (!P.scr) {
    sigaction(SIGWINCH, &old_winch, NULL);
    return;
  }
  char *cup = tigetstr("cup");
  if (!cup || cup == (char *)-1) {
    endwin();
    delscreen(P.scr);
    P.scr = NULL;
    sigaction(SIGWINCH, &old_winch, NULL);
    return;
  }
  cbreak();
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  P.colors = 0;
  if (P.color_ok && has_colors() && start_color() == OK && COLORS >= 256) {
    use_default_colors();
    P.colors = 1;
  }
  endwin(); /* shown by screen_open */
  sigaction(SIGWINCH, &old_winch, NULL);
  P.usable = 1;
}

/* Resize curses to the terminal's size when it changed. */
static void check_size(void) {
  struct winsize ws;
  winch_seen = 0;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
      (ws.ws_row != LINES || ws.ws_col != COLS)) {
    resize_term(ws.ws_row, ws.ws_col);
    erase();
    clearok(curscr, TRUE);
  }
}

/* Copy the grid to the screen and show it. */
static void show_grid(const tui_grid *g) {
  for (int y = 0; y < g->height && y < LINES; y++) {
    move(y, 0);
    for (int x = 0; x < g->width && x < COLS; x++) {
      const tui_cell *c = &g->cells[(size_t)y * (size_t)g->width + (size_t)x];
      int pair = P.colors ? pair_for(c->color, c->bg) : 0;
      if (pair) attron(COLOR_PAIR(pair));
      addstr(c->ch); /* ERR in the last cell (the cursor cannot advance): drawn anyway */
      if (pair) attroff(COLOR_PAIR(pair));
    }
  }
  refresh();
}

/* Draw the record on the screen now. */
static void redraw(void) {
  if (winch_seen) check_size();
  tui_grid *g;
  if (tui_grid_new(&g, COLS > 0 ? COLS : 1, LINES > 0 ? LINES : 1) != OT_OK) return;
  tui_panel_render(g, P.colors);
  show_grid(g);
  tui_grid_free(g);
  P.last_draw = ot_clock();
}

/* Put the panel on the screen; 0 when there is no usable terminal. */
static int screen_open(void) {
  if (P.open) return 1;
  if (!P.tried) screen_try();
  if (!P.usable) return 0;
  fflush(stdout);
  fflush(stderr);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_winch;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGWINCH, &sa, &old_winch);
  set_term(P.scr);
  reset_prog_mode();
  curs_set(0);
  check_size();
  clearok(curscr, TRUE);
  P.open = 1;
  redraw();
  return 1;
}

/* Take the panel off the screen: the terminal is as before it opened. */
static void screen_close(void) {
  if (!P.open) return;
  curs_set(1);
  endwin();
  fflush(stdout);
  sigaction(SIGWINCH, &old_winch, NULL);
  P.open = 0;
}

/* Read the keys waiting; returns 1 when c asked to cancel. */
static int read_keys(void) {
  int cancel = 0, ch;
  while (P.open && (ch = getch()) != ERR) {
    if (ch == 'q' || ch == 'Q') {
      screen_close();
      P.suppressed = 1;
      P.wanted = 0;
      P.hold = 0;
    } else if (ch == 'c' || ch == 'C') {
      cancel = 1;
    } else if (ch == 'p' || ch == 'P') {
      P.paused = !P.paused;
      redraw(); /* shows "(paused)" or the fresh state */
    } else if (ch == KEY_RESIZE) {
      winch_seen = 1;
    }
  }
  if (P.open && winch_seen) {
    check_size();
    redraw();
  }
  return cancel;
}

/* ---- the hook ------------------------------------------------------------------ */

/* One progress line on stderr (no escape bytes). */
static void progress_line(const char *what) {
  char e[32], ob[32];
  fmt_num(e, sizeof e, P.err);
  fmt_num(ob, sizeof ob, P.obj);
  if (P.max_iter > 0)
    fprintf(stderr, "[%s] %s iteration %ld/%ld, err %s, objective %s, %.1f s\n", P.kernel, what,
            P.iter, P.max_iter, e, ob, P.elapsed);
  else
    fprintf(stderr, "[%s] %s iteration %ld, err %s, objective %s, %.1f s\n", P.kernel, what,
            P.iter, e, ob, P.elapsed);
  fflush(stderr);
}

/* A run that printed progress lines ends: its summary. */
static void run_summary(void) {
  if (P.lines_printed) progress_line("ended at");
  P.lines_printed = 0;
}

int tui_panel_progress(const ot_progress *p) {
  const char *k = p->kernel && p->kernel[0] ? p->kernel : "kernel";
  if (!P.have_run || strncmp(k, P.kernel, sizeof P.kernel - 1) != 0 || p->iter < P.last_iter ||
      p->elapsed < P.last_elapsed) {
    run_summary();
    run_reset(p);
  }
  P.last_iter = P.iter = p->iter;
  P.max_iter = p->max_iter;
  P.err = p->err;
  P.obj = p->objective;
  P.last_elapsed = P.elapsed = p->elapsed;
  const ot_view *v = p->state;
  hist_add(p, v);
  double now = ot_clock();
  int due = now - P.last_draw >= TUI_PANEL_FRAME;
  /* the view: kept at each redraw, else at most five times a second */
  if (v && (P.open ? due && !P.paused : now - P.last_snap >= 0.2)) {
    snapshot(v);
    P.last_snap = now;
  }
  if (!P.open) {
    int could = P.enabled && (!P.tried || P.usable);
    if (could && !P.suppressed && !P.run_quiet && (P.wanted || p->elapsed >= TUI_PANEL_DELAY)) {
      if (v) snapshot(v);
      if (screen_open()) return read_keys();
      could = 0;
    }
    if (!could && p->elapsed >= TUI_PANEL_LINE_EVERY &&
        p->elapsed - P.last_line >= TUI_PANEL_LINE_EVERY) {
      progress_line("at");
      P.last_line = p->elapsed;
      P.lines_printed = 1;
    }
    return 0;
  }
  int cancel = read_keys();
  if (P.open && due && !P.paused) redraw();
  return cancel;
}

/* ---- requests from Lua and the host -------------------------------------------- */

int tui_panel_show(int hold) {
  if (!P.enabled) return 0;
  P.suppressed = 0;
  if (!screen_open()) return 0;
  P.wanted = 1;
  P.hold = P.hold || hold;
  return 1;
}

void tui_panel_hide(void) {
  screen_close();
  P.wanted = 0;
  P.hold = 0;
}

void tui_panel_before_output(void) {
  if (!P.open) return;
  screen_close();
  P.run_quiet = 1; /* e.g. a progress callback that prints: no flicker */
}

/* ui.show at the prompt: keep the panel until q (or Esc, Enter, Ctrl-C). */
static volatile sig_atomic_t hold_sigint;
static void on_hold_sigint(int sig) {
  (void)sig;
  hold_sigint = 1;
}

static void hold_wait(void) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_hold_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  hold_sigint = 0;
  redraw();
  timeout(100);
  int quick = 0; /* ERRs that came back at once: the input is at its end */
  while (P.open && !hold_sigint && quick < 20) {
    double t = ot_clock();
    int ch = getch();
    quick = ch == ERR && ot_clock() - t < 0.05 ? quick + 1 : 0;
    if (ch == 'q' || ch == 'Q' || ch == 27 || ch == '\n' || ch == '\r' || ch == KEY_ENTER) break;
    if (ch == 'p' || ch == 'P') continue; /* nothing runs: nothing to pause */
    if (ch == KEY_RESIZE || winch_seen) {
      check_size();
      redraw();
    }
  }
  nodelay(stdscr, TRUE);
  sigaction(SIGINT, &old, NULL);
}

void tui_panel_chunk_end(void) {
  if (P.open && P.hold) hold_wait();
  screen_close();
  run_summary();
  P.wanted = 0;
  P.hold = 0;
  P.suppressed = 0;
  P.run_quiet = 0;
  P.paused = 0;
}

void tui_panel_shutdown(void) {
  screen_close();
  if (P.scr) {
    delscreen(P.scr);
    P.scr = NULL;
  }
  P.tried = 0;
  ot_free(P.hist);
  ot_free(P.vmat);
  ot_free(P.vlab);
  P.hist = NULL;
  P.vmat = P.vlab = NULL;
  P.vcap = P.vlabcap = 0;
}
