/*
 * emd.c -- exact OT by the network simplex on the implicit complete
 * bipartite graph, and the 1-D monotone coupling.  See emd.h for the
 * problem, the conventions and the status codes.
 *
 * Graph.  Nodes 0..n-1 are the sources (supply a_i), n..n+m-1 the sinks
 * (demand b_j) and R = n + m the artificial root.  A real arc goes from
 * source i to sink n + j with cost C_ij; an artificial arc goes from each
 * source to R (cost 0) or from R to each sink (cost `art` > max C_ij), so
 * every arc leaves a source or enters a sink.  Consequently the direction of
 * a tree arc is known from its lower end: the arc between a node u and its
 * parent points up (u -> parent) when u is a source, down when u is a sink.
 * The tree therefore needs no arc ids: the arc of u is (u, parent[u]), its
 * flow is flow[u] and its cost follows from the two node indices.
 *
 * Artificial cost.  art = 2 max |C_ij| exceeds every C_ij, which is all the
 * big-M argument needs here: if at an optimum a source i still sent flow to
 * the root, some sink j would receive flow from it (the supplies balance),
 * and the real arc (i, j) would price at C_ij - art < 0.  So an optimal
 * basis carries no artificial flow (beyond rounding of the supplies).
 *
 * Potentials.  reduced cost of arc s -> t:  rc = cost + pi[s] - pi[t];
 * basic arcs have rc = 0, the basis is optimal when no real arc has
 * rc < 0.  For a real arc rc(i, j) = C_ij + pi_i - pi_{n+j}, so the duals of
 * the transportation problem are u_i = -pi_i and v_j = pi_{n+j}.
 *
 * Tree.  parent / first child / next and previous sibling lists and the
 * depth of every node.  A pivot finds the apex (join) of the cycle that the
 * entering arc closes by climbing from the deeper end, picks the leaving arc
 * by the ratio test, pushes the flow round the cycle, and re-hangs the
 * subtree cut off by the leaving arc from the entering arc: the parent
 * links along the stem (from the entering node up to the leaving arc) are
 * reversed, then one depth-first walk over the moved subtree shifts its
 * potentials and depths.  Non-tree arcs always carry zero flow (no upper
 * bounds), so nothing is stored per arc.
 */
#include "emd.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

void ot_emd_opts_init(ot_emd_opts *opts) {
  memset(opts, 0, sizeof *opts);
  opts->max_iter = 0;
  opts->tol = 1e-12;
  opts->block = 0;
  opts->progress = NULL;
  opts->progress_ud = NULL;
  opts->interval = 0.05;
}

long ot_emd_default_max_iter(size_t n, size_t m) {
  double cap = 100000.0 + 1000.0 * ((double)n + (double)m);
  return cap > (double)LONG_MAX / 2 ? LONG_MAX / 2 : (long)cap;
}

/* Width of the chunks in which costs from points are evaluated. */
#define CHUNK 256

typedef struct simplex {
  size_t n, m;            /* active sources and sinks */
  int root;               /* n + m */
  /* costs: dense (C != NULL) or points */
  const double *C;
  size_t ld;
  const double *X;        /* n x d, row-major, active rows only */
  const double *Yt;       /* d x m: Y transposed, active columns only */
  size_t d;
  double art;             /* cost of the root -> sink arcs */
  double eps;             /* an arc enters when rc < -eps */
  /* tree, indexed by node */
  int *parent, *child, *next, *prev, *depth, *order;
  double *flow, *pi, *supply;
  /* pricing */
  size_t narcs, block, cursor;
  /* progress */
  const ot_emd_opts *opts;
  double t0, last_report;
  long iter, max_iter;
  int canceled;
} simplex;

/* C_ij for active source i and active sink j (0-based in the active sets). */
static double arc_cost(const simplex *s, size_t i, size_t j) {
  if (s->C) return s->C[i * s->ld + j];
  const double *x = s->X + i * s->d;
  double acc = 0.0;
  for (size_t t = 0; t < s->d; t++) {
    double diff = x[t] - s->Yt[t * s->m + j];
    acc += diff * diff;
  }
  return acc;
}

/*
 * Explicit 4-wide vectors (GCC/Clang vector extensions: SSE2 pairs on
 * baseline x86-64, one AVX register in the AVX2 clone below).  The
 * elementwise arithmetic is IEEE double as in scalar code, so a value
 * computed here equals the scalar value of the same expression.
 */
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));

/* Macros rather than functions: no vector passes through a call (ABI). */
#define V4_LOAD(dst, p) memcpy(&(dst), (p), sizeof(v4d))
#define V4_MIN(a, b) ((v4d)(((v4l)(a) & ((a) < (b))) | ((v4l)(b) & ~((a) < (b)))))
#define V4_HMIN(a) fmin(fmin((a)[0], (a)[1]), fmin((a)[2], (a)[3]))

/* Function multi-versioning: an AVX2 clone of the pricing kernels chosen
 * at load time on CPUs that have it (GCC on x86-64 with ifunc). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_ADDRESS__)
#define OT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define OT_CLONES
#endif

/*
 * min over k < len of c[k] - w[k] (dense pricing, pass 1).
 */
OT_CLONES
static double dense_min(const double *c, const double *w, size_t len) {
  v4d m0 = {INFINITY, INFINITY, INFINITY, INFINITY}, m1 = m0;
  size_t k = 0;
  for (; k + 8 <= len; k += 8) {
    v4d c0, c1, w0, w1;
    V4_LOAD(c0, c + k);
    V4_LOAD(c1, c + k + 4);
    V4_LOAD(w0, w + k);
    V4_LOAD(w1, w + k + 4);
    c0 -= w0;
    c1 -= w1;
    m0 = V4_MIN(c0, m0);
    m1 = V4_MIN(c1, m1);
  }
  m0 = V4_MIN(m0, m1);
  double mn = V4_HMIN(m0);
  for (; k < len; k++) {
    double r = c[k] - w[k];
    mn = r < mn ? r : mn;
  }
  return mn;
}

/*
 * Points pricing: r[k] = ||x - y_{j0+k}||^2 - w[k] for k < len (len <= CHUNK,
 * Yt = Y^T with row stride m, positioned at column j0); returns min r.
 */
OT_CLONES
static double points_chunk(const double *x, const double *Yt, size_t m, size_t d,
                           const double *w, size_t len, double *r) {
  v4d mv = {INFINITY, INFINITY, INFINITY, INFINITY};
  size_t k = 0;
  for (; k + 4 <= len; k += 4) {
    v4d acc = {0, 0, 0, 0};
    for (size_t t = 0; t < d; t++) {
      v4d y;
      V4_LOAD(y, Yt + t * m + k);
      v4d diff = x[t] - y;
      acc += diff * diff;
    }
    v4d wk;
    V4_LOAD(wk, w + k);
    acc -= wk;
    memcpy(r + k, &acc, sizeof acc);
    mv = V4_MIN(acc, mv);
  }
  double mn = V4_HMIN(mv);
  for (; k < len; k++) {
    double acc = 0.0;
    for (size_t t = 0; t < d; t++) {
      double diff = x[t] - Yt[t * m + k];
      acc += diff * diff;
    }
    r[k] = acc - w[k];
    mn = r[k] < mn ? r[k] : mn;
  }
  return mn;
}

/*
 * The smallest reduced cost (c_ij - pi_{n+j}) + pi_i over the arcs (i, j0),
 * ..., (i, j0 + len - 1).  When it is below `best`, returns it and sets *arg
 * to its offset; otherwise returns best and leaves *arg alone.  The
 * expression is evaluated the same way everywhere so the value found here
 * is the value of the arc.
 */
static double seg_min(const simplex *s, size_t i, size_t j0, size_t len, double best,
                      size_t *arg) {
  const double *w = s->pi + s->n + j0;
  const double shift = s->pi[i];
  if (s->C) {
    const double *c = s->C + i * s->ld + j0;
    double mn = dense_min(c, w, len);
    if (!(mn + shift < best)) return best;
    size_t k = 0; /* pass 2 (rare): where it is */
    while (k + 1 < len && c[k] - w[k] != mn) k++;
    *arg = k;
    return mn + shift;
  }
  double r[CHUNK];
  const double *x = s->X + i * s->d;
  for (size_t k0 = 0; k0 < len; k0 += CHUNK) {
    size_t l = len - k0 < CHUNK ? len - k0 : CHUNK;
    double mn = points_chunk(x, s->Yt + j0 + k0, s->m, s->d, w + k0, l, r);
    if (mn + shift < best) {
      size_t k = 0;
      while (k + 1 < l && r[k] != mn) k++;
      *arg = k0 + k;
      best = mn + shift;
    }
  }
  return best;
}

/*
 * Report progress when `interval` seconds have passed since the last
 * report.  Returns non-zero (and sets s->canceled) when the callback asks to
 * stop.  err = mass still carried by artificial arcs.
 */
static int report(simplex *s) {
  const ot_emd_opts *o = s->opts;
  if (!o->progress) return 0;
  double now = ot_clock();
  if (now - s->last_report < o->interval) return 0;
  s->last_report = now;
  double art = 0.0;
  for (int c = s->child[s->root]; c >= 0; c = s->next[c]) art += s->flow[c];
  ot_progress p = {"emd", s->iter, s->max_iter, art, NAN, now - s->t0, NULL};
  if (o->progress(o->progress_ud, &p)) s->canceled = 1;
  return s->canceled;
}

/*
 * Block search for an entering arc: scan the arcs in row-major order from
 * the cursor in blocks of s->block arcs; after each block, if an arc with
 * rc < -eps was seen, take the most negative one seen.  Returns 1 with
 * (*ei, *ej, *rc) set, 0 after a full sweep without a candidate (then
 * *min_rc is the smallest reduced cost of the sweep), -1 when canceled.
 */
static int find_entering(simplex *s, size_t *ei, size_t *ej, double *rc, double *min_rc) {
  const size_t m = s->m, total = s->narcs;
  size_t pos = s->cursor, scanned = 0, barc = SIZE_MAX;
  double best = -s->eps, seen = INFINITY;
  unsigned blocks = 0;
  while (scanned < total) {
    size_t left = s->block < total - scanned ? s->block : total - scanned;
    scanned += left;
    while (left) {
      size_t i = pos / m, j = pos % m;
      size_t len = m - j < left ? m - j : left;
      size_t k = SIZE_MAX;
      double got = seg_min(s, i, j, len, seen, &k);
      if (k != SIZE_MAX) {
        seen = got;
        if (got < best) {
          best = got;
          barc = pos + k;
        }
      }
      pos += len;
      if (pos == total) pos = 0;
      left -= len;
    }
    if (barc != SIZE_MAX) {
      s->cursor = pos;
      *ei = barc / m;
      *ej = barc % m;
      *rc = best;
      return 1;
    }
    if ((++blocks & 7) == 0 && report(s)) return -1; /* a clock read per 8 blocks */
  }
  *min_rc = seen;
  return 0;
}

/* Remove u from its parent's list of children. */
static void tree_detach(simplex *s, int u) {
  int p = s->parent[u];
  if (s->prev[u] >= 0)
    s->next[s->prev[u]] = s->next[u];
  else
    s->child[p] = s->next[u];
  if (s->next[u] >= 0) s->prev[s->next[u]] = s->prev[u];
}

/* Make u the first child of p. */
static void tree_attach(simplex *s, int u, int p) {
  int c = s->child[p];
  s->parent[u] = p;
  s->prev[u] = -1;
  s->next[u] = c;
  if (c >= 0) s->prev[c] = u;
  s->child[p] = u;
}

/*
 * Preorder of the subtree of r into s->order (r first); returns its size.
 * Walks the child lists without a stack: down to the first child, else to
 * the next sibling of the nearest ancestor that has one.
 */
static int preorder(simplex *s, int r) {
  int k = 0, u = r;
  for (;;) {
    s->order[k++] = u;
    if (s->child[u] >= 0) {
      u = s->child[u];
      continue;
    }
    while (u != r && s->next[u] < 0) u = s->parent[u];
    if (u == r) break;
    u = s->next[u];
  }
  return k;
}

/*
 * Potentials from scratch, top-down from the root (pi_root = 0), so that
 * every tree arc has reduced cost 0 to rounding of one subtraction.
 * Rebuilds s->order as the preorder of the whole tree.
 */
static void exact_potentials(simplex *s) {
  const int n = (int)s->n;
  int cnt = preorder(s, s->root);
  s->pi[s->root] = 0.0;
  for (int k = 1; k < cnt; k++) {
    int u = s->order[k], p = s->parent[u];
    if (u < n) /* source u -> p */
      s->pi[u] = p == s->root ? s->pi[p] : s->pi[p] - arc_cost(s, (size_t)u, (size_t)(p - n));
    else /* p -> sink u */
      s->pi[u] = p == s->root ? s->pi[p] + s->art
                              : s->pi[p] + arc_cost(s, (size_t)p, (size_t)(u - n));
  }
}

/*
 * Flows from scratch, bottom-up: the arc of u carries the net supply of the
 * subtree of u (up for a source, down for a sink).  Tiny negative values
 * from rounding on degenerate arcs are set to 0.  Uses the preorder left in
 * s->order by exact_potentials.
 */
static void exact_flows(simplex *s) {
  const int n = (int)s->n, N = s->root + 1;
  double *net = s->flow; /* reused: net supply of each subtree, then the flow */
  for (int u = 0; u < N; u++) net[u] = s->supply[u];
  for (int k = N - 1; k >= 1; k--) {
    int u = s->order[k];
    net[s->parent[u]] += net[u];
  }
  for (int k = 1; k < N; k++) {
    int u = s->order[k];
    double f = u < n ? net[u] : -net[u];
    net[u] = f > 0 ? f : 0.0;
  }
  net[s->root] = 0.0;
}

/*
 * One pivot on the entering arc (i, n + j) with reduced cost rc < 0.
 * Returns nothing; the tree, flows, depths and potentials are updated.
 */
static void pivot(simplex *s, size_t i, size_t j, double rc) {
  int *parent = s->parent, *depth = s->depth;
  double *flow = s->flow;
  const int n = (int)s->n;
  const int first = (int)i, second = n + (int)j;

  /* The apex of the cycle: climb from the deeper end. */
  int x = first, y = second;
  while (depth[x] > depth[y]) x = parent[x];
  while (depth[y] > depth[x]) y = parent[y];
  while (x != y) {
    x = parent[x];
    y = parent[y];
  }
  const int join = x;

  /*
   * Ratio test.  The cycle runs first -> second along the entering arc,
   * up from second to the apex and down from the apex to first.  Arcs
   * traversed against their direction lose flow: on the path of first the
   * up arcs (sources), on the path of second the down arcs (sinks).  Ties:
   * the last blocking arc in the cycle's order from the apex (strongly
   * feasible tree rule): on first's path the one nearest first (strict <
   * while climbing), on second's path the one nearest the apex (<=, and it
   * beats first's path).
   */
  double delta = INFINITY;
  int uout = -1, side = 0;
  for (int u = first; u != join; u = parent[u])
    if (u < n && flow[u] < delta) {
      delta = flow[u];
      uout = u;
      side = 1;
    }
  for (int u = second; u != join; u = parent[u])
    if (u >= n && flow[u] <= delta) {
      delta = flow[u];
      uout = u;
      side = 2;
    }

  if (delta > 0) {
    for (int u = first; u != join; u = parent[u]) flow[u] += u < n ? -delta : delta;
    for (int u = second; u != join; u = parent[u]) flow[u] += u < n ? delta : -delta;
  }

  /*
   * Re-hang the subtree of uout (it holds the entering end u_in) from the
   * other end v_in.  Along the stem u_in = w0, w1 = parent(w0), ..., uout
   * the parent links reverse and each arc's flow moves one node down the
   * stem; the entering arc carries delta.
   */
  const int u_in = side == 1 ? first : second;
  const int v_in = side == 1 ? second : first;
  const double sigma = side == 1 ? -rc : rc; /* potential shift of the moved subtree */
  tree_detach(s, uout);
  int w = u_in, newpar = v_in;
  double carry = delta;
  for (;;) {
    int oldpar = parent[w];
    double oldflow = flow[w];
    if (w != uout) tree_detach(s, w);
    tree_attach(s, w, newpar);
    flow[w] = carry;
    if (w == uout) break;
    carry = oldflow;
    newpar = w;
    w = oldpar;
  }

  /* Shift potentials and depths over the moved subtree. */
  int cnt = preorder(s, u_in);
  for (int k = 0; k < cnt; k++) {
    int u = s->order[k];
    s->pi[u] += sigma;
    depth[u] = depth[parent[u]] + 1;
  }
}

/* Comparison of triplets by (row, column) for the output order. */
typedef struct triplet {
  size_t i, j;
  double mass;
} triplet;

static int triplet_cmp(const void *pa, const void *pb) {
  const triplet *x = pa, *y = pb;
  if (x->i != y->i) return x->i < y->i ? -1 : 1;
  if (x->j != y->j) return x->j < y->j ? -1 : 1;
  return 0;
}

/* Largest |v| over the rows x cols block at p with stride ld. */
static double max_abs(const double *p, size_t rows, size_t cols, size_t ld) {
  double mx = 0.0;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) {
      double v = fabs(p[i * ld + j]);
      mx = v > mx ? v : mx;
    }
  return mx;
}

/* Check weights: finite, >= 0, positive sum; *sum gets the sum. */
static int check_weights(const double *w, size_t n, double *sum) {
  double acc = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(w[i]) || w[i] < 0) return OT_EINVAL;
    acc += w[i];
  }
  if (!(acc > 0) || !isfinite(acc)) return OT_EINVAL;
  *sum = acc;
  return OT_OK;
}

/*
 * The solver proper.  Allocates O(n + m) scratch (plus the compacted cost
 * data when some weights are zero, and Y^T for points), runs the simplex
 * with a final certification scan, and writes the outputs described in
 * emd.h.  One exit label frees everything.
 */
int ot_emd_solve(const ot_emd_problem *prob, const ot_emd_opts *opts_in, size_t *out_i,
                 size_t *out_j, double *out_mass, double *out_u, double *out_v,
                 ot_emd_result *res) {
  ot_emd_opts defaults;
  if (!opts_in) {
    ot_emd_opts_init(&defaults);
    opts_in = &defaults;
  }
  const ot_emd_opts *opts = opts_in;
  const size_t n0 = prob->n, m0 = prob->m;
  const int dense = prob->C.data != NULL;
  int rc = OT_OK;
  simplex s;
  memset(&s, 0, sizeof s);
  size_t *ia = NULL, *jb = NULL;
  double *Cc = NULL, *Xc = NULL, *Yt = NULL;
  triplet *trip = NULL;
  memset(res, 0, sizeof *res);
  res->min_rc = NAN;

  if (n0 == 0 || m0 == 0 || !prob->a || !prob->b) return OT_EINVAL;
  if (!(opts->tol >= 0) || !(opts->interval >= 0)) return OT_EINVAL;
  if (dense) {
    if (prob->C.rows != n0 || prob->C.cols != m0 || prob->C.ld < m0) return OT_ESHAPE;
  } else {
    if (!prob->X.data || !prob->Y.data) return OT_EINVAL;
    if (prob->X.rows != n0 || prob->Y.rows != m0 || prob->X.cols != prob->Y.cols)
      return OT_ESHAPE;
    if (prob->X.cols == 0) return OT_EINVAL;
  }
  double sa, sb;
  if (check_weights(prob->a, n0, &sa) != OT_OK || check_weights(prob->b, m0, &sb) != OT_OK)
    return OT_EINVAL;
  if (fabs(sa - sb) > 1e-9 * (sa > sb ? sa : sb)) return OT_EINVAL;
  if (n0 + m0 >= (size_t)INT_MAX) return OT_EINVAL;

  /* Active points (positive weight). */
  if ((rc = ot_malloc(n0 * sizeof *ia, &ia)) || (rc = ot_malloc(m0 * sizeof *jb, &jb))) goto done;
  size_t n = 0, m = 0;
  for (size_t i = 0; i < n0; i++)
    if (prob->a[i] > 0) ia[n++] = i;
  for (size_t j = 0; j < m0; j++)
    if (prob->b[j] > 0) jb[m++] = j;
  s.n = n;
  s.m = m;
  s.root = (int)(n + m);
  s.opts = opts;

  /* Cost data restricted to the active points. */
  if (dense) {
    if (n == n0 && m == m0) {
      s.C = prob->C.data;
      s.ld = prob->C.ld;
    } else {
      if ((rc = ot_alloc_doubles(n, m, &Cc))) goto done;
      for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) Cc[i * m + j] = OT_AT(prob->C, ia[i], jb[j]);
      s.C = Cc;
      s.ld = m;
    }
  } else {
    size_t d = prob->X.cols;
    if ((rc = ot_alloc_doubles(n, d, &Xc)) || (rc = ot_alloc_doubles(d, m, &Yt))) goto done;
    for (size_t i = 0; i < n; i++)
      for (size_t t = 0; t < d; t++) Xc[i * d + t] = OT_AT(prob->X, ia[i], t);
    for (size_t j = 0; j < m; j++)
      for (size_t t = 0; t < d; t++) Yt[t * m + j] = OT_AT(prob->Y, jb[j], t);
    s.X = Xc;
    s.Yt = Yt;
    s.d = d;
  }

  /* Cost scale: max |C| (points: a bound from the bounding box). */
  double scale;
  if (s.C) {
    scale = max_abs(s.C, n, m, s.ld);
  } else {
    scale = 0.0;
    for (size_t t = 0; t < s.d; t++) {
      double lo = INFINITY, hi = -INFINITY;
      for (size_t i = 0; i < n; i++) {
        lo = fmin(lo, s.X[i * s.d + t]);
        hi = fmax(hi, s.X[i * s.d + t]);
      }
      for (size_t j = 0; j < m; j++) {
        lo = fmin(lo, s.Yt[t * m + j]);
        hi = fmax(hi, s.Yt[t * m + j]);
      }
      scale += (hi - lo) * (hi - lo);
    }
  }
  if (!isfinite(scale)) {
    rc = OT_EINVAL; /* costs overflow */
    goto done;
  }
  s.art = scale > 0 ? 2.0 * scale : 1.0;
  s.eps = opts->tol * (scale > 0 ? scale : 1.0);

  /* Tree scratch. */
  const int N = s.root + 1;
  int **iarr[] = {&s.parent, &s.child, &s.next, &s.prev, &s.depth, &s.order};
  for (size_t k = 0; k < sizeof iarr / sizeof *iarr; k++)
    if ((rc = ot_malloc((size_t)N * sizeof(int), iarr[k]))) goto done;
  if ((rc = ot_alloc_doubles((size_t)N, 1, &s.flow)) ||
      (rc = ot_alloc_doubles((size_t)N, 1, &s.pi)) ||
      (rc = ot_alloc_doubles((size_t)N, 1, &s.supply)))
    goto done;

  /* Supplies (b rescaled to sum(a)) and the artificial basis. */
  const double rescale = sa / sb;
  for (size_t i = 0; i < n; i++) s.supply[i] = prob->a[ia[i]];
  for (size_t j = 0; j < m; j++) s.supply[n + j] = -prob->b[jb[j]] * rescale;
  s.supply[s.root] = 0.0;
  s.parent[s.root] = -1;
  s.depth[s.root] = 0;
  s.next[s.root] = s.prev[s.root] = -1;
  s.flow[s.root] = 0.0;
  s.pi[s.root] = 0.0;
  s.child[s.root] = -1;
  for (int u = N - 2; u >= 0; u--) {
    s.child[u] = -1;
    tree_attach(&s, u, s.root);
    s.depth[u] = 1;
    s.flow[u] = u < (int)n ? s.supply[u] : -s.supply[u];
    s.pi[u] = u < (int)n ? 0.0 : s.art;
  }

  s.narcs = n * m;
  if (opts->block > 0) {
    s.block = opts->block;
  } else {
    s.block = (size_t)sqrt((double)s.narcs);
    if (s.block < 64) s.block = 64;
  }
  s.cursor = 0;
  s.max_iter = opts->max_iter > 0 ? opts->max_iter : ot_emd_default_max_iter(n, m);
  s.t0 = ot_clock();
  s.last_report = -INFINITY; /* the first check reports: callers see a run start */

  /*
   * Main loop.  When a sweep finds no entering arc, recompute the
   * potentials exactly and sweep again: a clean second sweep certifies
   * optimality (it is the final full reduced-cost scan).  Potentials are
   * also recomputed every `refresh` pivots so rounding cannot drift.
   */
  int status = OT_EMD_OPTIMAL;
  long refresh = N > 1024 ? N : 1024, since = 0;
  int fresh = 0; /* potentials exact since the last pivot */
  for (;;) {
    size_t ei, ej;
    double rcost, mn;
    int f = find_entering(&s, &ei, &ej, &rcost, &mn);
    if (f < 0) {
      status = OT_EMD_CANCELED;
      break;
    }
    if (f == 0) {
      if (fresh) {
        res->min_rc = mn;
        break;
      }
      exact_potentials(&s);
      fresh = 1;
      continue;
    }
    if (s.iter >= s.max_iter) {
      status = OT_EMD_MAX_ITER;
      break;
    }
    pivot(&s, ei, ej, rcost);
    s.iter++;
    fresh = 0;
    if (++since >= refresh) {
      exact_potentials(&s);
      since = 0;
    }
    if ((s.iter & 15) == 0 && report(&s)) { /* pivots can cost O(n + m) each */
      status = OT_EMD_CANCELED;
      break;
    }
  }

  /* Exact flows and potentials of the final tree. */
  exact_potentials(&s);
  exact_flows(&s);

  /* Triplets: real tree arcs with positive flow. */
  if ((rc = ot_malloc((n + m) * sizeof *trip, &trip))) goto done;
  size_t nnz = 0;
  double cost = 0.0, comp = 0.0; /* Kahan-compensated sum */
  for (int u = 0; u < s.root; u++) {
    int p = s.parent[u];
    if (p == s.root || !(s.flow[u] > 0)) continue;
    size_t i = (size_t)(u < (int)n ? u : p), j = (size_t)((u < (int)n ? p : u) - (int)n);
    trip[nnz].i = ia[i];
    trip[nnz].j = jb[j];
    trip[nnz].mass = s.flow[u];
    double term = s.flow[u] * arc_cost(&s, i, j) - comp;
    double t = cost + term;
    comp = (t - cost) - term;
    cost = t;
    nnz++;
  }
  qsort(trip, nnz, sizeof *trip, triplet_cmp);
  res->nnz = nnz;
  res->cost = cost;
  res->iterations = s.iter;
  res->status = status;

  /* Marginal error of the plan against a and the rescaled b. */
  {
    double *ra = NULL;
    if ((rc = ot_calloc((n0 + m0) * sizeof *ra, &ra))) goto done;
    for (size_t k = 0; k < nnz; k++) {
      ra[trip[k].i] += trip[k].mass;
      ra[n0 + trip[k].j] += trip[k].mass;
    }
    double err = 0.0;
    for (size_t i = 0; i < n0; i++) err = fmax(err, fabs(ra[i] - prob->a[i]));
    for (size_t j = 0; j < m0; j++) err = fmax(err, fabs(ra[n0 + j] - prob->b[j] * rescale));
    res->err = err;
    ot_free(ra);
  }
  for (size_t k = 0; k < nnz; k++) {
    if (out_i) out_i[k] = trip[k].i;
    if (out_j) out_j[k] = trip[k].j;
    if (out_mass) out_mass[k] = trip[k].mass;
  }

  /*
   * Duals: u = -pi on the sources, v = pi on the sinks; zero-weight points
   * get the largest feasible potentials (sources first, then sinks against
   * every source), then everything is centred.
   */
  if (out_u || out_v) {
    double *u = NULL, *v = NULL;
    if ((rc = ot_alloc_doubles(n0 + m0, 1, &u))) goto done;
    v = u + n0;
    for (size_t i = 0; i < n0; i++) u[i] = NAN;
    for (size_t j = 0; j < m0; j++) v[j] = NAN;
    for (size_t i = 0; i < n; i++) u[ia[i]] = -s.pi[i];
    for (size_t j = 0; j < m; j++) v[jb[j]] = s.pi[n + j];
    /* Costs of the original problem (dropped points included). */
    for (size_t i = 0; i < n0; i++) {
      if (prob->a[i] > 0) continue;
      double best = INFINITY;
      for (size_t jj = 0; jj < m; jj++) {
        double c;
        if (dense) {
          c = OT_AT(prob->C, i, jb[jj]);
        } else {
          c = 0.0;
          for (size_t t = 0; t < prob->X.cols; t++) {
            double diff = OT_AT(prob->X, i, t) - OT_AT(prob->Y, jb[jj], t);
            c += diff * diff;
          }
        }
        best = fmin(best, c - v[jb[jj]]);
      }
      u[i] = best;
    }
    for (size_t j = 0; j < m0; j++) {
      if (prob->b[j] > 0) continue;
      double best = INFINITY;
      for (size_t i = 0; i < n0; i++) {
        double c;
        if (dense) {
          c = OT_AT(prob->C, i, j);
        } else {
          c = 0.0;
          for (size_t t = 0; t < prob->X.cols; t++) {
            double diff = OT_AT(prob->X, i, t) - OT_AT(prob->Y, j, t);
            c += diff * diff;
          }
        }
        best = fmin(best, c - u[i]);
      }
      v[j] = best;
    }
    double da = 0.0, db = 0.0;
    for (size_t i = 0; i < n0; i++) da += prob->a[i] * u[i];
    for (size_t j = 0; j < m0; j++) db += prob->b[j] * rescale * v[j];
    double c = (db - da) / (sa + sb * rescale);
    for (size_t i = 0; i < n0; i++) u[i] += c;
    for (size_t j = 0; j < m0; j++) v[j] -= c;
    res->dual = (da + c * sa) + (db - c * sb * rescale);
    if (out_u) memcpy(out_u, u, n0 * sizeof *u);
    if (out_v) memcpy(out_v, v, m0 * sizeof *v);
    ot_free(u);
  }
  if (status == OT_EMD_CANCELED) rc = OT_ECANCELED;

done:
  ot_free(trip);
  ot_free(s.parent);
  ot_free(s.child);
  ot_free(s.next);
  ot_free(s.prev);
  ot_free(s.depth);
  ot_free(s.order);
  ot_free(s.flow);
  ot_free(s.pi);
  ot_free(s.supply);
  ot_free(Cc);
  ot_free(Xc);
  ot_free(Yt);
  ot_free(ia);
  ot_free(jb);
  return rc;
}

/* ---- one dimension --------------------------------------------------------- */

typedef struct keyed {
  double x;
  size_t i;
} keyed;

static int keyed_cmp(const void *pa, const void *pb) {
  const keyed *p = pa, *q = pb;
  if (p->x != q->x) return p->x < q->x ? -1 : 1;
  return p->i < q->i ? -1 : p->i > q->i;
}

/* Ground cost of a gap |x - y| under a 1-D metric. */
static double gap_cost(double g, int metric, double p) {
  g = fabs(g);
  switch (metric) {
  case OT_EMD1D_SQEUCLIDEAN: return g * g;
  case OT_EMD1D_EUCLIDEAN: return g;
  default: return p == 1.0 ? g : p == 2.0 ? g * g : pow(g, p);
  }
}

/*
 * The monotone coupling of the sorted samples (north-west corner rule on
 * the sorted order).  Shared by ot_emd_1d and ot_emd_wasserstein_1d; the
 * triplet outputs may be NULL.  Mass left over from rounding (below 1e-15
 * of the total) is dropped rather than matched to the wrong point.
 */
static int monotone_1d(const double *x, size_t n, const double *y, size_t m, const double *a,
                       const double *b, int metric, double p, size_t *pi, size_t *pj,
                       double *mass, size_t *nnz_out, double *cost_out) {
  int rc = OT_OK;
  keyed *kx = NULL, *ky = NULL;
  if (n == 0 || m == 0) return OT_EINVAL;
  if (metric < OT_EMD1D_SQEUCLIDEAN || metric > OT_EMD1D_MINKOWSKI) return OT_EINVAL;
  if (metric == OT_EMD1D_MINKOWSKI && !(p >= 1.0 && isfinite(p))) return OT_EINVAL;
  double sa = 1.0, sb = 1.0;
  if (a && check_weights(a, n, &sa) != OT_OK) return OT_EINVAL;
  if (b && check_weights(b, m, &sb) != OT_OK) return OT_EINVAL;
  if (fabs(sa - sb) > 1e-9 * (sa > sb ? sa : sb)) return OT_EINVAL;
  if ((rc = ot_malloc(n * sizeof *kx, &kx)) || (rc = ot_malloc(m * sizeof *ky, &ky))) goto done;
  for (size_t i = 0; i < n; i++) kx[i] = (keyed){x[i], i};
  for (size_t j = 0; j < m; j++) ky[j] = (keyed){y[j], j};
  qsort(kx, n, sizeof *kx, keyed_cmp);
  qsort(ky, m, sizeof *ky, keyed_cmp);
  const double wa0 = 1.0 / (double)n, wb0 = 1.0 / (double)m, rs = sa / sb;
#define WA(k) (a ? a[kx[k].i] : wa0)
#define WB(k) (b ? b[ky[k].i] * rs : wb0)
  size_t i = 0, j = 0, nnz = 0;
  double ra = WA(0), rb = WB(0), cost = 0.0, comp = 0.0;
  const double tiny = 1e-15 * sa;
  while (i < n && j < m) {
    double t = ra < rb ? ra : rb;
    if (t > 0) {
      if (pi) {
        pi[nnz] = kx[i].i;
        pj[nnz] = ky[j].i;
        mass[nnz] = t;
      }
      nnz++;
      double term = t * gap_cost(kx[i].x - ky[j].x, metric, p) - comp;
      double s2 = cost + term;
      comp = (s2 - cost) - term;
      cost = s2;
    }
    ra -= t;
    rb -= t;
    if (ra <= tiny && ++i < n) ra = WA(i);
    if (rb <= tiny && ++j < m) rb = WB(j);
  }
#undef WA
#undef WB
  if (nnz_out) *nnz_out = nnz;
  *cost_out = cost;
done:
  ot_free(kx);
  ot_free(ky);
  return rc;
}

int ot_emd_1d(const double *x, size_t n, const double *y, size_t m, const double *a,
              const double *b, int metric, double p, size_t *pi, size_t *pj, double *mass,
              size_t *nnz, double *cost) {
  if ((pi == NULL) != (pj == NULL) || (pi == NULL) != (mass == NULL)) return OT_EINVAL;
  return monotone_1d(x, n, y, m, a, b, metric, p, pi, pj, mass, nnz, cost);
}

int ot_emd_wasserstein_1d(const double *x, size_t n, const double *y, size_t m,
                          const double *a, const double *b, double p, double *out) {
  if (!(p >= 1.0 && isfinite(p))) return OT_EINVAL;
  return monotone_1d(x, n, y, m, a, b, OT_EMD1D_MINKOWSKI, p, NULL, NULL, NULL, NULL, out);
}
