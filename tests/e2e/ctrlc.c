/*
 * ctrlc.c -- Ctrl-C latency of the longest kernels, measured through a pty.
 *
 * Starts otlab interactively on a pseudo-terminal (forkpty; TERM=dumb,
 * --no-panel), prepares large problems, then for each kernel runs TRIALS
 * trials: type a command that prints a marker and starts the kernel, wait
 * for the marker, let the kernel run 150-250 ms, type Ctrl-C (byte 0x03 on
 * the master side: the terminal driver sends SIGINT, as a keyboard does),
 * and time until the prompt "> " is back after an "interrupted" message.
 * The first run of each kernel is a warm-up, reported but not counted: a
 * Ctrl-C landing in a kernel's set-up (the first touch of its large
 * buffers, e.g. the transposed 3000 x 3000 cost matrix of the log-domain
 * Sinkhorn, which has no progress check) can take 100+ ms on a loaded
 * machine; see the report of issue 9.
 * Prints one line per kernel with p50, p99 (nearest rank) and max, and
 * fails when a kernel's p99 exceeds the limit (20 ms) in two sets of
 * trials in a row (the second set only runs when the first missed: on a
 * shared machine another process can hold the cores for 100+ ms), or when
 * a kernel finished before the Ctrl-C (the problem is too small to
 * measure anything).
 * In a sanitizer build (second argument "address,undefined") the check is
 * functional only -- every Ctrl-C stops the kernel and the prompt is back
 * within 2 s: unoptimized, instrumented code spends the first 200-700 ms
 * of a run in the kernels' set-up (the transposed cost matrix of the
 * log-domain Sinkhorn, the 10^6 random directions of sliced), which has no
 * progress check, so the latency there measures the set-up.
 *
 * Runs at a raised priority (nice -10) when allowed, so that other
 * processes on a shared machine do not dominate the figure.
 *
 * Usage: test_ctrlc OTLAB [SANITIZE [TRIALS]]
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int master = -1;
static pid_t child = -1;
static char buf[1 << 16];
static size_t len;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Read what the pty has within `wait` seconds into buf (keeps the tail). */
static int pump(double wait) {
  struct pollfd p = {master, POLLIN, 0};
  int r = poll(&p, 1, (int)(wait * 1000));
  if (r <= 0) return 0;
  char tmp[4096];
  ssize_t n = read(master, tmp, sizeof tmp);
  if (n <= 0) return -1;
  if (len + (size_t)n >= sizeof buf) { /* keep the last half */
    memmove(buf, buf + len / 2, len - len / 2);
    len -= len / 2;
  }
  memcpy(buf + len, tmp, (size_t)n);
  len += (size_t)n;
  buf[len] = '\0';
  return 1;
}

/* Wait until buf holds `text` (and, when prompt is set, ends with "> "). */
static int wait_for(const char *text, int prompt, double timeout, double *when) {
  double end = now() + timeout;
  for (;;) {
    if (strstr(buf, text) && (!prompt || (len >= 2 && memcmp(buf + len - 2, "> ", 2) == 0))) {
      if (when) *when = now();
      return 1;
    }
    double left = end - now();
    if (left <= 0) return 0;
    if (pump(left < 0.05 ? left : 0.05) < 0) return 0;
  }
}

static void type(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(master, s, n);
    if (w <= 0) {
      if (errno == EINTR) continue;
      return;
    }
    s += w;
    n -= (size_t)w;
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct kernel {
  const char *name;
  const char *call; /* the Lua call; a marker is printed right before it */
} kernel;

static const kernel kernels[] = {
  /* random costs: the simplex needs ~1.4 s at 4000 x 4000 (3000 x 3000
   * Euclidean costs take only 0.3 s on an idle machine) */
  {"emd 4000x4000", "ot.emd2(nil, nil, R)"},
  {"sinkhorn log 3000x3000",
   "ot.sinkhorn2(nil, nil, M, 1e-3, {method = 'log', max_iter = 1000000, tol = 0})"},
  {"divergence online 20000", "ot.sinkhorn_divergence(X2, Y2, {reg = 1e-3, online = true, "
                              "max_iter = 1000000, tol = 0})"},
  {"sliced 20000, 10^6 projections",
   "ot.sliced_wasserstein_distance(X2, Y2, nil, nil, {n_projections = 1000000})"},
};

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_ctrlc OTLAB [SANITIZE [TRIALS]]\n");
    return 2;
  }
  int sanitized = argc > 2 && argv[2][0] && strcmp(argv[2], "none") != 0;
  int trials = argc > 3 ? atoi(argv[3]) : 20;
  double limit = sanitized ? 2.0 : 0.020;
  setvbuf(stdout, NULL, _IOLBF, 0);
  /* The machine may be shared (the test command runs suites in parallel):
   * a higher priority for this driver and otlab (inherited) keeps other
   * processes' load out of the figure, which is otlab's own latency.  Only
   * root may raise it; otherwise the run goes on at normal priority. */
  int raised = setpriority(PRIO_PROCESS, 0, -10) == 0;
  struct winsize ws = {40, 120, 0, 0};
  child = forkpty(&master, NULL, NULL, &ws);
  if (child < 0) {
    perror("forkpty");
    return 1;
  }
  if (child == 0) {
    setenv("TERM", "dumb", 1);
    setenv("NO_COLOR", "1", 1);
    setenv("OTLAB_HISTORY", "", 1);
    /* meson sets MALLOC_PERTURB_, which makes glibc fill every block on
     * malloc and free: 72 MB written when a kernel frees its scratch, a
     * cost users do not have */
    unsetenv("MALLOC_PERTURB_");
    execl(argv[1], argv[1], "-E", "--no-panel", (char *)NULL);
    _exit(127);
  }
  int failed = 0;
  srand(12345);
  if (!wait_for("> ", 1, 30, NULL)) {
    printf("FAIL ctrlc: no prompt from %s; output: %s\n", argv[1], buf);
    kill(child, SIGKILL);
    return 1;
  }
  len = 0;
  buf[0] = '\0';
  type("ot.seed(1); X = ot.rand(3000, 2); Y = ot.rand(3000, 2); M = ot.dist(X, Y); "
       "R = ot.rand(4000, 4000); X2 = ot.rand(20000, 2); Y2 = ot.rand(20000, 2); "
       "print('RE' .. 'ADY')\n");
  if (!wait_for("READY", 1, 120, NULL)) {
    printf("FAIL ctrlc: setup did not finish; output: %s\n", buf);
    kill(child, SIGKILL);
    return 1;
  }
  int attempt = 1;
  for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
    double lat[1000];
    int n = 0, finished = 0, lost = 0, warmup = attempt == 1;
    double first = NAN;
    for (int t = 0; t < trials && t < 1000; t++) {
      char cmd[512];
      len = 0;
      buf[0] = '\0';
      snprintf(cmd, sizeof cmd, "io.write('G' .. 'O\\n'); io.flush(); %s\n", kernels[k].call);
      type(cmd);
      if (!wait_for("GO", 0, 60, NULL)) {
        lost++;
        break;
      }
      double run = 0.150 + 0.100 * rand() / (double)RAND_MAX;
      double until = now() + run;
      while (now() < until) pump(until - now());
      len = 0;
      buf[0] = '\0';
      double t0 = now(), t1;
      type("\003");
      if (!wait_for("interrupted", 1, 10, &t1)) {
        if (strstr(buf, "> ")) finished++;
        else lost++;
        printf("  %s: no 'interrupted' within 10 s of Ctrl-C; output: %.300s\n", kernels[k].name,
               buf);
        /* get back to a prompt: a second Ctrl-C after 1 s ends otlab, so wait */
        wait_for("> ", 1, 30, NULL);
        continue;
      }
      if (t == 0 && warmup) { /* the first run of a kernel: reported, not counted */
        first = t1 - t0;
        t--;
        warmup = 0;
        continue;
      }
      lat[n++] = t1 - t0;
      if (getenv("CTRLC_VERBOSE"))
        printf("  %s: Ctrl-C after %.0f ms of run: %.1f ms\n", kernels[k].name, 1e3 * run,
               1e3 * (t1 - t0));
    }
    if (n == 0) {
      printf("FAIL ctrlc %s: no interrupted run (%d finished before Ctrl-C, %d lost)\n",
             kernels[k].name, finished, lost);
      failed = 1;
      if (lost) break;
      continue;
    }
    qsort(lat, (size_t)n, sizeof lat[0], cmp);
    size_t r99 = (size_t)((99 * n + 99) / 100); /* nearest rank */
    double p50 = lat[(n - 1) / 2], p99 = lat[r99 - 1], mx = lat[n - 1];
    int bad = p99 > limit || finished || lost;
    int retry = bad && !finished && !lost && attempt == 1;
    printf("ctrlc %s: %d trials, p50 %.1f ms, p99 %.1f ms, max %.1f ms (first run %.1f ms)%s%s\n",
           kernels[k].name, n, 1e3 * p50, 1e3 * p99, 1e3 * mx, 1e3 * first,
           retry ? ": over the limit, measuring again" : bad ? ": FAIL" : "",
           finished ? " (some runs finished before Ctrl-C)" : "");
    if (retry) { /* a shared machine: one more set of trials before failing */
      attempt = 2;
      k--;
      continue;
    }
    attempt = 1;
    if (bad) failed = 1;
    if (lost) break;
  }
  type("os.exit(0)\n");
  for (int i = 0; i < 50; i++) {
    int st;
    if (waitpid(child, &st, WNOHANG) == child) {
      child = -1;
      break;
    }
    pump(0.1);
  }
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
  }
  double load[1] = {0};
  getloadavg(load, 1);
  printf("ctrlc: limit %.0f ms (%s build, %s priority, load average %.1f on %ld cores): %s\n",
         1e3 * limit, sanitized ? "sanitizer" : "normal", raised ? "raised" : "normal", load[0],
         sysconf(_SC_NPROCESSORS_ONLN), failed ? "FAIL" : "ok");
  return failed;
}
