/*
 * nn.c -- multilayer perceptrons with factorized layers: spectral init,
 * Frobenius decay, SGD with momentum (specs/factorized.md; see nn.h).
 *
 * Forward and backward passes are written by hand on BLAS: every product
 * of a batch with a weight is one dgemm on row-major blocks, the Gram
 * matrices of the factors are dsyrk.  A factorized layer never forms W:
 * the batch goes through Vt (n x r), then M, then U.
 *
 * Batch quantities live in one workspace (ot_nn_ws) allocated for a batch
 * capacity and grown when a larger batch comes; it is owned by the net.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alloc.h"
#include "io.h"
#include "linalg.h"
#include "nn.h"

/* Per-layer batch buffers (rows = the batch size in use). */
typedef struct nn_lbuf {
  double *t, *t2;    /* factorized: X Vt^T and (deep) that times M^T, n x r */
  double *z;         /* linear output, n x out */
  double *xhat;      /* batch norm: normalized z, n x out */
  double *a;         /* layer output after BN and activation (last: = z) */
  double *mean, *istd; /* batch norm: statistics used, out each */
} nn_lbuf;

struct ot_nn_ws {
  size_t cap;                    /* batch rows the buffers hold */
  double *mem;                   /* one block for everything below */
  nn_lbuf l[OT_NN_MAX_LAYERS];
  double *d0, *d1;               /* backward: gradients w.r.t. activations, cap x maxw */
  double *dt, *dt2;              /* backward: gradients w.r.t. t and t2, cap x maxr */
  double *xb, *yb;               /* a gathered mini-batch: cap x in, cap labels */
  double *g[4];                  /* Frobenius decay: four maxr x maxr scratch matrices */
  int blas_saved;                /* BLAS threads to restore (blas_single), or 0 */
};

#define PREDICT_CHUNK 256 /* rows per forward pass of predict and accuracy */

static ot_mat mv(double *p, size_t r, size_t c) { return ot_mat_view(p, r, c); }

/*
 * Elementwise kernels of the passes, written branch-free for the
 * vectorizer (a branch on the sign of ReLU inputs mispredicts half the
 * time).  NaN stays NaN through the ReLU, so a diverging run shows in the
 * loss.
 */
static void relu_fwd(double *restrict a, const double *restrict h, size_t n) {
#pragma omp simd
  for (size_t k = 0; k < n; k++) {
    double x = h[k];
    a[k] = x > 0 || x != x ? x : 0.0;
  }
}

static void relu_inplace(double *restrict a, size_t n) {
#pragma omp simd
  for (size_t k = 0; k < n; k++) {
    double x = a[k];
    a[k] = x > 0 || x != x ? x : 0.0;
  }
}

/* d *= relu'(a): zero where the output a is not positive */
static void relu_bwd(double *restrict d, const double *restrict a, size_t n) {
#pragma omp simd
  for (size_t k = 0; k < n; k++) d[k] = a[k] > 0 ? d[k] : 0.0;
}

/* each of the n rows of z (width w) += v */
static void add_rows(double *restrict z, const double *restrict v, size_t n, size_t w) {
  for (size_t k = 0; k < n; k++) {
    double *restrict zk = z + k * w;
#pragma omp simd
    for (size_t j = 0; j < w; j++) zk[j] += v[j];
  }
}

/* v = mu v + g; p -= lr v (PyTorch's SGD with momentum, dampening 0) */
static void sgd_step(double *restrict p, double *restrict v, const double *restrict g, size_t n,
                     double mu, double lr) {
#pragma omp simd
  for (size_t k = 0; k < n; k++) {
    v[k] = mu * v[k] + g[k];
    p[k] -= lr * v[k];
  }
}

/* g += lambda p over n values; returns sum p^2 */
static double decay(double *restrict g, const double *restrict p, size_t n, double lambda, int grad) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (size_t k = 0; k < n; k++) s += p[k] * p[k];
  if (grad) {
#pragma omp simd
    for (size_t k = 0; k < n; k++) g[k] += lambda * p[k];
  }
  return s;
}

/* s[j] = sum over the n rows of z of (z[j] - mean[j])^2 */
static void sq_dev_sums(double *restrict s, const double *restrict z, const double *restrict mean,
                        size_t n, size_t w) {
  for (size_t j = 0; j < w; j++) s[j] = 0.0;
  for (size_t k = 0; k < n; k++) {
    const double *restrict zk = z + k * w;
#pragma omp simd
    for (size_t j = 0; j < w; j++) s[j] += (zk[j] - mean[j]) * (zk[j] - mean[j]);
  }
}

/* batch norm output: xhat = (z - mean) istd, y = gamma xhat + beta, n rows of width w */
static void bn_apply(double *restrict y, double *restrict xhat, const double *restrict z,
                     const double *restrict mean, const double *restrict istd,
                     const double *restrict gam, const double *restrict bet, size_t n, size_t w) {
  for (size_t k = 0; k < n; k++) {
    const double *restrict zk = z + k * w;
    double *restrict xk = xhat + k * w, *restrict yk = y + k * w;
#pragma omp simd
    for (size_t j = 0; j < w; j++) {
      xk[j] = (zk[j] - mean[j]) * istd[j];
      yk[j] = gam[j] * xk[j] + bet[j];
    }
  }
}

/* dgamma = sum of d xhat, dbeta = sum of d over the rows */
static void bn_grads(double *restrict dg, double *restrict db, const double *restrict d,
                     const double *restrict xhat, size_t n, size_t w) {
  for (size_t j = 0; j < w; j++) dg[j] = 0.0, db[j] = 0.0;
  for (size_t k = 0; k < n; k++) {
    const double *restrict dk = d + k * w, *restrict xk = xhat + k * w;
#pragma omp simd
    for (size_t j = 0; j < w; j++) {
      dg[j] += dk[j] * xk[j];
      db[j] += dk[j];
    }
  }
}

/* d (w.r.t. the BN output) becomes the gradient w.r.t. its input z */
static void bn_back(double *restrict d, const double *restrict xhat, const double *restrict gam,
                    const double *restrict istd, const double *restrict dg,
                    const double *restrict db, size_t n, size_t w, int train) {
  double inv = 1.0 / (double)n;
  for (size_t k = 0; k < n; k++) {
    double *restrict dk = d + k * w;
    const double *restrict xk = xhat + k * w;
    if (train) {
#pragma omp simd
      for (size_t j = 0; j < w; j++)
        dk[j] = gam[j] * istd[j] * (dk[j] - (db[j] + xk[j] * dg[j]) * inv);
    } else {
#pragma omp simd
      for (size_t j = 0; j < w; j++) dk[j] = gam[j] * istd[j] * dk[j];
    }
  }
}

/* s = the column sums of the n x w rows of d */
static void col_sums(double *restrict s, const double *restrict d, size_t n, size_t w) {
  for (size_t j = 0; j < w; j++) s[j] = 0.0;
  for (size_t k = 0; k < n; k++) {
    const double *restrict dk = d + k * w;
#pragma omp simd
    for (size_t j = 0; j < w; j++) s[j] += dk[j];
  }
}

void ot_nn_spec_init(ot_nn_spec *s) {
  memset(s, 0, sizeof *s);
  s->act = OT_NN_RELU;
  s->init = OT_NN_INIT_SPECTRAL;
  s->bn_momentum = 0.1;
  s->bn_eps = 1e-5;
}

void ot_nn_train_opts_init(ot_nn_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->lr = 0.05;
  o->momentum = 0.9;
  o->weight_decay = 5e-4;
  o->regularizer = OT_NN_REG_WEIGHT;
  o->batch_size = 64;
  o->epochs = 30;
  o->gamma = 0.1;
}

/* ---- building ----------------------------------------------------------------- */

/* Checked a += b for counts. */
static int add_size(size_t *a, size_t b) {
  if (*a > SIZE_MAX - b) return OT_EOVERFLOW;
  *a += b;
  return OT_OK;
}

/* Checked rows * cols. */
static int mul_size(size_t a, size_t b, size_t *out) {
  if (a && b > SIZE_MAX / a) return OT_EOVERFLOW;
  *out = a * b;
  return OT_OK;
}

/*
 * Allocate a net for spec with the parameter layout of nn.h and zeroed
 * parameters, gradients, momentum and buffers (no initialization).
 * OT_EINVAL for a bad spec; allocation statuses.
 */
static int nn_alloc(ot_nn_net **out, const ot_nn_spec *s) {
  ot_nn_net *net = NULL;
  int rc;
  *out = NULL;
  if (!s || s->in < 1 || s->in > OT_NN_MAX_WIDTH || s->nlayers < 1 ||
      s->nlayers > OT_NN_MAX_LAYERS || !s->layers || (s->act != OT_NN_RELU && s->act != OT_NN_TANH) ||
      (s->init != OT_NN_INIT_REGULAR && s->init != OT_NN_INIT_SPECTRAL) ||
      !(s->bn_momentum >= 0 && s->bn_momentum <= 1) || !(s->bn_eps > 0 && isfinite(s->bn_eps)))
    return OT_EINVAL;
  for (size_t i = 0; i < s->nlayers; i++) {
    const ot_nn_layer_spec *l = &s->layers[i];
    if (l->out < 1 || l->out > OT_NN_MAX_WIDTH || l->rank > OT_NN_MAX_WIDTH ||
        (l->deep && l->rank == 0))
      return OT_EINVAL;
  }
  if (s->layers[s->nlayers - 1].out < 2) return OT_EINVAL;
  if ((rc = ot_calloc(sizeof *net, &net))) return rc;
  net->in = s->in;
  net->nlayers = s->nlayers;
  net->classes = s->layers[s->nlayers - 1].out;
  net->act = s->act;
  net->batchnorm = s->batchnorm ? 1 : 0;
  net->init = s->init;
  net->bn_momentum = s->bn_momentum;
  net->bn_eps = s->bn_eps;
  size_t np = 0, nb = 0, in = s->in, sz;
  for (size_t i = 0; i < s->nlayers; i++) {
    ot_nn_layer *L = &net->layers[i];
    const ot_nn_layer_spec *ls = &s->layers[i];
    int last = i + 1 == s->nlayers;
    L->in = in;
    L->out = ls->out;
    L->rank = ls->rank;
    L->deep = ls->rank ? ls->deep != 0 : 0;
    L->bn = net->batchnorm && !last;
    L->act = last ? -1 : s->act;
    L->w = L->u = L->m = L->vt = L->b = L->gamma = L->beta = OT_NN_NONE;
    L->run_mean = L->run_var = OT_NN_NONE;
    if (L->rank == 0) {
      L->w = np;
      if ((rc = mul_size(L->out, L->in, &sz)) || (rc = add_size(&np, sz))) goto fail;
    } else {
      L->u = np;
      if ((rc = mul_size(L->out, L->rank, &sz)) || (rc = add_size(&np, sz))) goto fail;
      if (L->deep) {
        L->m = np;
        if ((rc = mul_size(L->rank, L->rank, &sz)) || (rc = add_size(&np, sz))) goto fail;
      }
      L->vt = np;
      if ((rc = mul_size(L->rank, L->in, &sz)) || (rc = add_size(&np, sz))) goto fail;
    }
    if (L->bn) { /* BN's beta replaces the linear bias */
      L->gamma = np;
      L->beta = np + L->out;
      if ((rc = add_size(&np, 2 * L->out))) goto fail;
      L->run_mean = nb;
      L->run_var = nb + L->out;
      if ((rc = add_size(&nb, 2 * L->out))) goto fail;
    } else {
      L->b = np;
      if ((rc = add_size(&np, L->out))) goto fail;
    }
    in = L->out;
  }
  net->nparams = np;
  net->nbuffers = nb;
  if ((rc = ot_mem_size(np, 3, sizeof(double), &sz))) goto fail;
  if ((rc = ot_calloc(sz, &net->params))) goto fail;
  net->grads = net->params + np;
  net->vel = net->params + 2 * np;
  if ((rc = ot_alloc_doubles(nb ? nb : 1, 1, &net->buffers))) goto fail;
  memset(net->buffers, 0, (nb ? nb : 1) * sizeof(double));
  for (size_t i = 0; i < net->nlayers; i++) {
    ot_nn_layer *L = &net->layers[i];
    if (!L->bn) continue;
    for (size_t j = 0; j < L->out; j++) {
      net->params[L->gamma + j] = 1.0;
      net->buffers[L->run_var + j] = 1.0;
    }
  }
  *out = net;
  return OT_OK;
fail:
  ot_nn_free(net);
  return rc;
}

/* The spec of an existing net, into s and the caller's layer array ls. */
static void spec_of(const ot_nn_net *net, ot_nn_spec *s, ot_nn_layer_spec *ls) {
  ot_nn_spec_init(s);
  s->in = net->in;
  s->nlayers = net->nlayers;
  s->act = net->act;
  s->batchnorm = net->batchnorm;
  s->init = net->init;
  s->bn_momentum = net->bn_momentum;
  s->bn_eps = net->bn_eps;
  for (size_t i = 0; i < net->nlayers; i++) {
    ls[i].out = net->layers[i].out;
    ls[i].rank = net->layers[i].rank;
    ls[i].deep = net->layers[i].deep;
  }
  s->layers = ls;
}

void ot_nn_free(ot_nn_net *net) {
  if (!net) return;
  if (net->ws) ot_free(net->ws->mem);
  ot_free(net->ws);
  ot_free(net->params);
  ot_free(net->buffers);
  ot_free(net);
}

int ot_nn_clone(ot_nn_net **out, const ot_nn_net *net) {
  ot_nn_spec s;
  ot_nn_layer_spec ls[OT_NN_MAX_LAYERS];
  spec_of(net, &s, ls);
  int rc = nn_alloc(out, &s);
  if (rc) return rc;
  memcpy((*out)->params, net->params, 3 * net->nparams * sizeof(double));
  memcpy((*out)->buffers, net->buffers, net->nbuffers * sizeof(double));
  (*out)->epochs = net->epochs;
  (*out)->steps = net->steps;
  return OT_OK;
}

/*
 * Spectral split (nn.h).  The thin SVD W = A diag(s) B^T comes from LAPACK's
 * dgesdd; the top min(r, k) triplets are kept and the square root of each
 * singular value goes to both sides, so the two factors are balanced.
 */
int ot_nn_spectral_split(ot_mat U, ot_mat Vt, ot_mat W) {
  size_t m = W.rows, n = W.cols, k = m < n ? m : n, r = U.cols;
  double *A = NULL, *Bt = NULL, *s = NULL;
  size_t A_bad_i, A_bad_j;
  int rc;
  if (U.rows != m || Vt.rows != r || Vt.cols != n) return OT_ESHAPE;
  if (!ot_mat_all_finite(W, &A_bad_i, &A_bad_j)) return OT_EINVAL;
  if ((rc = ot_alloc_doubles(m, k ? k : 1, &A)) || (rc = ot_alloc_doubles(k ? k : 1, n, &Bt)) ||
      (rc = ot_alloc_doubles(k ? k : 1, 1, &s)))
    goto done;
  if ((rc = ot_svd(mv(s, k, 1), mv(A, m, k), mv(Bt, k, n), W))) goto done;
  /* singular values at rounding level are zero: beyond the numerical rank the
   * factors are padded with zeros, as beyond min(m, n) */
  double tiny = k ? s[0] * (double)(m > n ? m : n) * DBL_EPSILON : 0.0;
  for (size_t j = 0; j < r; j++) {
    double h = j < k && s[j] > tiny ? sqrt(s[j]) : 0.0;
    for (size_t i = 0; i < m; i++) OT_AT(U, i, j) = h > 0 ? A[i * k + j] * h : 0.0;
    for (size_t c = 0; c < n; c++) OT_AT(Vt, j, c) = h > 0 ? Bt[j * n + c] * h : 0.0;
  }
done:
  ot_free(s);
  ot_free(Bt);
  ot_free(A);
  return rc;
}

/* Fill p[0..n) with N(0, var) draws. */
static void draw_normal(ot_rng *rng, double *p, size_t n, double var) {
  double sd = sqrt(var);
  for (size_t i = 0; i < n; i++) p[i] = sd * ot_rng_normal(rng);
}

/* Initialize the weights of a freshly allocated net (nn.h, ot_nn_new). */
static int nn_init(ot_nn_net *net, ot_rng *rng) {
  int rc = OT_OK;
  double *w = NULL;
  for (size_t i = 0; i < net->nlayers && !rc; i++) {
    ot_nn_layer *L = &net->layers[i];
    double *P = net->params;
    if (L->rank == 0) {
      draw_normal(rng, P + L->w, L->out * L->in, 2.0 / (double)L->in);
      continue;
    }
    if (L->deep) ot_mat_eye(mv(P + L->m, L->rank, L->rank));
    if (net->init == OT_NN_INIT_REGULAR) {
      draw_normal(rng, P + L->u, L->out * L->rank, 2.0 / (double)L->rank);
      draw_normal(rng, P + L->vt, L->rank * L->in, 2.0 / (double)L->in);
    } else {
      if ((rc = ot_alloc_doubles(L->out, L->in, &w))) break;
      draw_normal(rng, w, L->out * L->in, 2.0 / (double)L->in);
      rc = ot_nn_spectral_split(mv(P + L->u, L->out, L->rank), mv(P + L->vt, L->rank, L->in),
                                mv(w, L->out, L->in));
      ot_free(w);
      w = NULL;
    }
  }
  return rc;
}

int ot_nn_new(ot_nn_net **out, const ot_nn_spec *spec, ot_rng *rng) {
  int rc;
  if (!out || !rng) return OT_EINVAL;
  if ((rc = nn_alloc(out, spec))) return rc;
  if ((rc = nn_init(*out, rng))) {
    ot_nn_free(*out);
    *out = NULL;
  }
  return rc;
}

/* ---- the workspace -------------------------------------------------------------- */

/*
 * Make the workspace hold batches of n rows (at least 64; grows, never
 * shrinks).  One block from ot_malloc holds, per layer, what the backward
 * pass needs from the forward one (t, t2, z, xhat, a and the batch-norm
 * statistics), then two ping-pong gradient buffers of the widest layer, two
 * of the largest rank, a gathered mini-batch and the r x r scratch of the
 * Frobenius decay.  On failure the old block is kept (OT_ENOMEM/OT_EBUDGET).
 * The spec's MLP needs about 1100 doubles per row: 2.2 MiB at 256 rows.
 */
static int ws_reserve(ot_nn_net *net, size_t n) {
  if (net->ws && net->ws->cap >= n) return OT_OK;
  size_t cap = n < 64 ? 64 : n, maxw = net->in, maxr = 1, per_row = 0, fixed = 0, total, bytes;
  int rc;
  for (size_t i = 0; i < net->nlayers; i++) {
    const ot_nn_layer *L = &net->layers[i];
    if (L->out > maxw) maxw = L->out;
    if (L->rank > maxr) maxr = L->rank;
    per_row += (L->rank ? (L->deep ? 2 : 1) * L->rank : 0) + L->out * (L->bn ? 2 : 1) +
               (L->act >= 0 ? L->out : 0);
    fixed += L->bn ? 2 * L->out : 0;
  }
  per_row += 2 * maxw + 2 * maxr + net->in + 1;
  fixed += 4 * maxr * maxr;
  if ((rc = ot_mem_size(cap, per_row, 1, &total)) || (rc = add_size(&total, fixed)) ||
      (rc = ot_mem_size(total, sizeof(double), 1, &bytes)))
    return rc;
  ot_nn_ws *ws = net->ws;
  if (!ws) {
    if ((rc = ot_calloc(sizeof *ws, &ws))) return rc;
    net->ws = ws;
  }
  double *mem;
  if ((rc = ot_malloc(bytes, &mem))) return rc;
  ot_free(ws->mem);
  ws->mem = mem;
  ws->cap = cap;
  double *p = mem;
#define TAKE(ptr, count) do { (ptr) = p; p += (count); } while (0)
  for (size_t i = 0; i < net->nlayers; i++) {
    const ot_nn_layer *L = &net->layers[i];
    nn_lbuf *b = &ws->l[i];
    memset(b, 0, sizeof *b);
    if (L->rank) TAKE(b->t, cap * L->rank);
    if (L->deep) TAKE(b->t2, cap * L->rank);
    TAKE(b->z, cap * L->out);
    if (L->bn) {
      TAKE(b->xhat, cap * L->out);
      TAKE(b->mean, L->out);
      TAKE(b->istd, L->out);
    }
    if (L->act >= 0) TAKE(b->a, cap * L->out);
    else b->a = b->z;
  }
  TAKE(ws->d0, cap * maxw);
  TAKE(ws->d1, cap * maxw);
  TAKE(ws->dt, cap * maxr);
  TAKE(ws->dt2, cap * maxr);
  TAKE(ws->xb, cap * net->in);
  TAKE(ws->yb, cap);
  for (int k = 0; k < 4; k++) TAKE(ws->g[k], maxr * maxr);
#undef TAKE
  return OT_OK;
}

/*
 * BLAS threads for a pass over batches of n rows: products this small
 * (n x width x width below 2^24 multiply-adds) run faster on one thread
 * than split across several, whose start-up and synchronization cost more
 * than the work (3x slower wall time measured at batch 64 on a busy
 * 2-core machine).  Returns the thread count to restore, or 0 when the
 * setting was left alone.  Threads do not change the results: each
 * element of a product is summed by one thread in the same order.
 */
static int blas_single(ot_nn_net *net, size_t n) {
  size_t w = net->in;
  for (size_t i = 0; i < net->nlayers; i++) {
    if (net->layers[i].out > w) w = net->layers[i].out;
    if (net->layers[i].rank > w) w = net->layers[i].rank;
  }
  int before = ot_blas_threads();
  if (before <= 1 || (double)n * (double)w * (double)w >= 16777216.0) return 0;
  ot_blas_set_threads(1);
  if (net->ws) net->ws->blas_saved = before;
  return before;
}

static void blas_restore(ot_nn_net *net, int before) {
  if (before > 0) ot_blas_set_threads(before);
  if (before > 0 && net->ws) net->ws->blas_saved = 0;
}

/* ---- forward and backward ------------------------------------------------------- */

/*
 * Forward pass of the n rows at X (n x in, leading dimension ldx) through
 * every layer; the logits end in ws->l[last].z.  train: batch norm on the
 * batch statistics (updating the running ones when update_running), else
 * on the running statistics.  The workspace must hold n rows.
 *
 * Rows are examples, so a layer is Z = A W^T (+ b): one dgemm with W
 * transposed in place; a factorized layer is T = A Vt^T, T2 = T M^T,
 * Z = T2 U^T, which costs n r (in + out) multiply-adds instead of
 * n in out.  Batch norm (Ioffe and Szegedy 2015, Algorithm 1) normalizes
 * each column of Z with the batch mean and the biased variance; the running
 * variance takes the unbiased one, as PyTorch does.
 */
static void forward(ot_nn_net *net, const double *X, size_t ldx, size_t n, int train,
                    int update_running) {
  ot_nn_ws *ws = net->ws;
  const double *in = X;
  size_t ldin = ldx;
  double *P = net->params;
  for (size_t i = 0; i < net->nlayers; i++) {
    const ot_nn_layer *L = &net->layers[i];
    nn_lbuf *b = &ws->l[i];
    ot_mat A = {n, L->in, ldin, (double *)in};
    ot_mat Z = mv(b->z, n, L->out);
    if (L->rank == 0) {
      ot_gemm(Z, 1.0, A, 0, mv(P + L->w, L->out, L->in), 1, 0.0);
    } else {
      size_t r = L->rank;
      ot_gemm(mv(b->t, n, r), 1.0, A, 0, mv(P + L->vt, r, L->in), 1, 0.0);
      const double *t = b->t;
      if (L->deep) {
        ot_gemm(mv(b->t2, n, r), 1.0, mv(b->t, n, r), 0, mv(P + L->m, r, r), 1, 0.0);
        t = b->t2;
      }
      ot_gemm(Z, 1.0, mv((double *)t, n, r), 0, mv(P + L->u, L->out, r), 1, 0.0);
    }
    size_t out = L->out;
    if (L->b != OT_NN_NONE) add_rows(b->z, P + L->b, n, out);
    double *h = b->z; /* input of the activation */
    if (L->bn) {
      double *mean = b->mean, *istd = b->istd;
      double *rm = net->buffers + L->run_mean, *rv = net->buffers + L->run_var;
      const double *gam = P + L->gamma, *bet = P + L->beta;
      if (train) {
        col_sums(mean, b->z, n, out);
        for (size_t j = 0; j < out; j++) mean[j] /= (double)n;
        sq_dev_sums(istd, b->z, mean, n, out); /* sums of squares for now */
        for (size_t j = 0; j < out; j++) {
          double var = istd[j] / (double)n;
          if (update_running) {
            double mom = net->bn_momentum;
            rm[j] = (1 - mom) * rm[j] + mom * mean[j];
            if (n > 1) rv[j] = (1 - mom) * rv[j] + mom * istd[j] / (double)(n - 1); /* unbiased */
          }
          istd[j] = 1.0 / sqrt(var + net->bn_eps);
        }
      } else {
        for (size_t j = 0; j < out; j++) {
          mean[j] = rm[j];
          istd[j] = 1.0 / sqrt(rv[j] + net->bn_eps);
        }
      }
      double *dst = L->act >= 0 ? b->a : b->z; /* BN is never on the last layer */
      bn_apply(dst, b->xhat, b->z, mean, istd, gam, bet, n, out);
      h = dst;
    }
    if (L->act == OT_NN_RELU) {
      if (h == b->a) relu_inplace(b->a, n * out);
      else relu_fwd(b->a, h, n * out);
    } else if (L->act == OT_NN_TANH) {
      for (size_t k = 0; k < n * out; k++) b->a[k] = tanh(h[k]);
    }
    in = b->a;
    ldin = out;
  }
}

/*
 * Softmax cross-entropy of the logits (n x c) against labels y: returns the
 * summed loss, writes (softmax - onehot) * scale into dz when dz is not
 * NULL, and counts the rows whose first arg-max is the label.
 */
static double softmax_xent(const double *logits, size_t n, size_t c, const double *y, double *dz,
                           double scale, size_t *correct) {
  double total = 0.0;
  size_t right = 0;
  for (size_t k = 0; k < n; k++) {
    const double *z = logits + k * c;
    size_t lab = (size_t)y[k], best = 0;
    double mx = z[0];
    int finite = 1;
    for (size_t j = 0; j < c; j++) {
      if (!isfinite(z[j])) finite = 0;
      if (z[j] > mx) mx = z[j], best = j;
    }
    if (finite && best == lab) right++;
    double s = 0.0;
    for (size_t j = 0; j < c; j++) s += exp(z[j] - mx);
    double lse = mx + log(s);
    total += lse - z[lab];
    if (dz) {
      double *d = dz + k * c;
      for (size_t j = 0; j < c; j++) d[j] = exp(z[j] - lse) * scale;
      d[lab] -= scale;
    }
  }
  if (correct) *correct = right;
  return total;
}

/*
 * Backward pass after forward() on the same rows: dlogits (n x classes, in
 * ws->d0) back to every parameter gradient, which are overwritten.  X is the
 * batch forward() saw.  train tells which batch norm formula ran.
 *
 * With D = dLoss/dZ (n x out) and A the layer's input:
 *   dense       dW = D^T A, db = column sums of D, dA = D W
 *   factorized  dU = D^T T2, dT2 = D U, dM = dT2^T T, dT = dT2 M,
 *               dVt = dT^T A, dA = dT Vt          (T2 = T without M)
 *   batch norm  dgamma = sum D xhat, dbeta = sum D,
 *               dZ = gamma istd (D - (dbeta + xhat dgamma) / n)   (train)
 * Gradients flow through two buffers (d0, d1) that swap at each layer.
 */
static void backward(ot_nn_net *net, const double *X, size_t ldx, size_t n, int train) {
  ot_nn_ws *ws = net->ws;
  double *P = net->params, *G = net->grads;
  double *d = ws->d0, *dprev = ws->d1;
  for (size_t ii = net->nlayers; ii-- > 0;) {
    const ot_nn_layer *L = &net->layers[ii];
    nn_lbuf *b = &ws->l[ii];
    size_t out = L->out;
    /* d holds dLoss/d(output of layer ii) */
    if (L->act == OT_NN_RELU) {
      relu_bwd(d, b->a, n * out);
    } else if (L->act == OT_NN_TANH) {
      for (size_t k = 0; k < n * out; k++) d[k] *= 1.0 - b->a[k] * b->a[k];
    }
    if (L->bn) {
      const double *gam = P + L->gamma;
      double *dg = G + L->gamma, *db = G + L->beta;
      bn_grads(dg, db, d, b->xhat, n, out);
      /* dz = gamma istd / n (n g - sum g - xhat sum(g xhat)) in train mode */
      bn_back(d, b->xhat, gam, b->istd, dg, db, n, out, train);
    } else {
      col_sums(G + L->b, d, n, out);
    }
    /* d is now dLoss/dz (n x out) */
    const double *in = ii ? ws->l[ii - 1].a : X;
    size_t ldin = ii ? L->in : ldx;
    ot_mat A = {n, L->in, ldin, (double *)in};
    ot_mat D = mv(d, n, out);
    if (L->rank == 0) {
      ot_gemm(mv(G + L->w, out, L->in), 1.0, D, 1, A, 0, 0.0);
      if (ii) ot_gemm(mv(dprev, n, L->in), 1.0, D, 0, mv(P + L->w, out, L->in), 0, 0.0);
    } else {
      size_t r = L->rank;
      const double *t = L->deep ? b->t2 : b->t;
      double *dt = L->deep ? ws->dt2 : ws->dt;
      ot_gemm(mv(G + L->u, out, r), 1.0, D, 1, mv((double *)t, n, r), 0, 0.0);
      ot_gemm(mv(dt, n, r), 1.0, D, 0, mv(P + L->u, out, r), 0, 0.0);
      if (L->deep) { /* t2 = t M^T: dM = dt2^T t, dt = dt2 M */
        ot_gemm(mv(G + L->m, r, r), 1.0, mv(ws->dt2, n, r), 1, mv(b->t, n, r), 0, 0.0);
        ot_gemm(mv(ws->dt, n, r), 1.0, mv(ws->dt2, n, r), 0, mv(P + L->m, r, r), 0, 0.0);
      }
      ot_gemm(mv(G + L->vt, r, L->in), 1.0, mv(ws->dt, n, r), 1, A, 0, 0.0);
      if (ii) ot_gemm(mv(dprev, n, L->in), 1.0, mv(ws->dt, n, r), 0, mv(P + L->vt, r, L->in), 0, 0.0);
    }
    double *tmp = d;
    d = dprev;
    dprev = tmp;
  }
}

/*
 * Add the regularization gradient to net->grads (when grad) and return its
 * value: (lambda/2)||theta||^2 for every non-factor parameter and, for the
 * factors, the same (weight) or (lambda/2)||U M Vt||_F^2 (frobenius), whose
 * gradient is dU += lambda U M Gv M^T, dM += lambda Gu M Gv, dVt += lambda
 * M^T Gu M Vt with Gu = U^T U, Gv = Vt Vt^T (dsyrk).
 */
static double regularize(ot_nn_net *net, double lambda, int regularizer, int grad) {
  double *P = net->params, *G = net->grads, pen = 0.0;
  if (lambda == 0.0) return 0.0;
  if (regularizer == OT_NN_REG_WEIGHT) return 0.5 * lambda * decay(G, P, net->nparams, lambda, grad);
  size_t start = 0;
  for (size_t i = 0; i < net->nlayers; i++) {
    const ot_nn_layer *L = &net->layers[i];
    if (L->rank == 0) continue;
    /* non-factor parameters before this layer's factors */
    pen += 0.5 * lambda * decay(G + start, P + start, L->u - start, lambda, grad);
    start = L->vt + L->rank * L->in;
    size_t r = L->rank, out = L->out, in = L->in;
    double *gu = net->ws->g[0], *gv = net->ws->g[1], *s1 = net->ws->g[2], *s2 = net->ws->g[3];
    ot_mat U = mv(P + L->u, out, r), Vt = mv(P + L->vt, r, in);
    ot_syrk(mv(gu, r, r), 1.0, U, 1, 0.0);
    ot_syrk(mv(gv, r, r), 1.0, Vt, 0, 0.0);
    if (!L->deep) {
      double f = 0.0;
      for (size_t k = 0; k < r * r; k++) f += gu[k] * gv[k];
      pen += 0.5 * lambda * f;
      if (grad) {
        ot_gemm(mv(G + L->u, out, r), lambda, U, 0, mv(gv, r, r), 0, 1.0);
        ot_gemm(mv(G + L->vt, r, in), lambda, mv(gu, r, r), 0, Vt, 0, 1.0);
      }
    } else {
      ot_mat M = mv(P + L->m, r, r);
      ot_gemm(mv(s1, r, r), 1.0, M, 0, mv(gv, r, r), 0, 0.0);    /* s1 = M Gv */
      ot_gemm(mv(s2, r, r), 1.0, mv(s1, r, r), 0, M, 1, 0.0);    /* s2 = M Gv M^T */
      double f = 0.0;
      for (size_t k = 0; k < r * r; k++) f += gu[k] * s2[k];
      pen += 0.5 * lambda * f;
      if (grad) {
        ot_gemm(mv(G + L->u, out, r), lambda, U, 0, mv(s2, r, r), 0, 1.0);
        ot_gemm(mv(G + L->m, r, r), lambda, mv(gu, r, r), 0, mv(s1, r, r), 0, 1.0);
        ot_gemm(mv(s2, r, r), 1.0, mv(gu, r, r), 0, M, 0, 0.0);   /* s2 = Gu M */
        ot_gemm(mv(s1, r, r), 1.0, M, 1, mv(s2, r, r), 0, 0.0);   /* s1 = M^T Gu M */
        ot_gemm(mv(G + L->vt, r, in), lambda, mv(s1, r, r), 0, Vt, 0, 1.0);
      }
    }
  }
  pen += 0.5 * lambda * decay(G + start, P + start, net->nparams - start, lambda, grad);
  return pen;
}

/* OT_EINVAL unless every label is an integer in 0..classes-1. */
static int check_labels(const ot_nn_net *net, const double *y, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (!(y[k] >= 0 && y[k] < (double)net->classes && y[k] == floor(y[k]))) return OT_EINVAL;
  return OT_OK;
}

/*
 * The objective (nn.h): one forward pass, the loss, and with grad the
 * backward pass and the regularizer's gradient.  Used by the gradient
 * tests and Net:loss; training runs the same steps on gathered batches.
 */
int ot_nn_objective(ot_nn_net *net, ot_mat X, const double *y, double lambda, int regularizer,
                    int train, int grad, double *loss, double *penalty, size_t *correct) {
  int rc;
  if (!net || !y) return OT_EINVAL;
  if (X.cols != net->in) return OT_ESHAPE;
  if (X.rows == 0 || !(lambda >= 0) ||
      (regularizer != OT_NN_REG_WEIGHT && regularizer != OT_NN_REG_FROBENIUS))
    return OT_EINVAL;
  if ((rc = check_labels(net, y, X.rows))) return rc;
  if ((rc = ws_reserve(net, X.rows))) return rc;
  size_t n = X.rows;
  forward(net, X.data, X.ld, n, train, train);
  double *logits = net->ws->l[net->nlayers - 1].z;
  double s = softmax_xent(logits, n, net->classes, y, grad ? net->ws->d0 : NULL, 1.0 / (double)n,
                          correct);
  if (grad) backward(net, X.data, X.ld, n, train);
  double pen = regularize(net, lambda, regularizer, grad);
  if (loss) *loss = s / (double)n;
  if (penalty) *penalty = pen;
  return OT_OK;
}

/* ---- training ------------------------------------------------------------------- */

/* OT_EINVAL for training options out of their domains (nn.h). */
static int check_train_opts(const ot_nn_train_opts *o) {
  if (!(o->lr >= 0 && isfinite(o->lr)) || !(o->momentum >= 0 && o->momentum < 1) ||
      !(o->weight_decay >= 0 && isfinite(o->weight_decay)) || o->batch_size < 1 ||
      (o->regularizer != OT_NN_REG_WEIGHT && o->regularizer != OT_NN_REG_FROBENIUS) ||
      !(o->gamma > 0 && isfinite(o->gamma)) || (o->nmilestones && !o->milestones))
    return OT_EINVAL;
  return OT_OK;
}

/* Call the progress callback with rep as state; non-zero asks to stop. */
static int report(const ot_nn_net *net, const ot_nn_train_opts *o, ot_nn_report *rep, long iter,
                  double t0) {
  if (!o->progress) return 0;
  rep->view.kind = OT_VIEW_TRAIN;
  rep->view.values[0] = rep->loss;
  rep->view.values[1] = rep->train_acc;
  rep->view.values[2] = rep->test_acc;
  ot_progress p = {"nn", iter, (long)o->epochs, rep->loss, rep->loss + rep->penalty,
                   ot_clock() - t0, rep};
  /* the callback runs with the caller's BLAS threads, not the pass's one */
  int saved = net->ws ? net->ws->blas_saved : 0;
  if (saved > 0) ot_blas_set_threads(saved);
  int stop = o->progress(o->progress_ud, &p);
  if (saved > 0) ot_blas_set_threads(1);
  return stop;
}

/*
 * One epoch (nn.h).  The permutation buffer is the only allocation besides
 * the workspace; progress is called within the epoch at most every 20 ms
 * (epoch_end = 0), never at its end (ot_nn_fit does that).
 */
static int train_epoch(ot_nn_net *net, ot_mat X, const double *y, const ot_nn_train_opts *o,
                       ot_rng *rng, double lr, ot_nn_report *rep, long epoch_index) {
  size_t n = X.rows, *perm = NULL, bs = o->batch_size < n ? o->batch_size : n;
  int rc;
  double t0 = ot_clock(), last = t0, sum_loss = 0.0;
  size_t seen = 0, right = 0;
  rep->diverged = 0;
  if ((rc = ws_reserve(net, bs))) return rc;
  if ((rc = ot_malloc(n * sizeof *perm, &perm))) return rc;
  ot_rng_permutation(rng, perm, n);
  ot_nn_ws *ws = net->ws;
  double mu = o->momentum;
  for (size_t start = 0; start < n; start += bs) {
    size_t nb = n - start < bs ? n - start : bs, correct = 0;
    for (size_t k = 0; k < nb; k++) {
      size_t src = perm[start + k];
      memcpy(ws->xb + k * net->in, X.data + src * X.ld, net->in * sizeof(double));
      ws->yb[k] = y[src];
    }
    forward(net, ws->xb, net->in, nb, 1, 1);
    double s = softmax_xent(ws->l[net->nlayers - 1].z, nb, net->classes, ws->yb, ws->d0,
                            1.0 / (double)nb, &correct);
    if (!isfinite(s)) {
      rep->diverged = 1;
      break;
    }
    backward(net, ws->xb, net->in, nb, 1);
    regularize(net, o->weight_decay, o->regularizer, 1);
    sgd_step(net->params, net->vel, net->grads, net->nparams, mu, lr);
    net->steps++;
    sum_loss += s;
    seen += nb;
    right += correct;
    double now = ot_clock();
    if (o->progress && now - last >= 0.02) {
      last = now;
      rep->epoch_end = 0;
      rep->loss = sum_loss / (double)seen;
      rep->train_acc = (double)right / (double)seen;
      rep->view.values[3] = (double)epoch_index + (double)(start + nb) / (double)n;
      if (report(net, o, rep, epoch_index, t0)) {
        rc = OT_ECANCELED;
        break;
      }
    }
  }
  if (rc == OT_OK && !rep->diverged) { /* weights that overflowed also end the run */
    for (size_t k = 0; k < net->nparams; k++)
      if (!isfinite(net->params[k])) {
        rep->diverged = 1;
        break;
      }
  }
  rep->loss = seen ? sum_loss / (double)seen : NAN;
  rep->train_acc = seen ? (double)right / (double)seen : NAN;
  rep->lr = lr;
  rep->time = ot_clock() - t0;
  ot_free(perm);
  return rc;
}

int ot_nn_train_epoch(ot_nn_net *net, ot_mat X, const double *y, const ot_nn_train_opts *o,
                      ot_rng *rng, ot_nn_report *rep) {
  ot_nn_report local;
  int rc;
  if (!net || !o || !rng || !y) return OT_EINVAL;
  if (X.cols != net->in) return OT_ESHAPE;
  if (X.rows == 0) return OT_EINVAL;
  if ((rc = check_train_opts(o)) || (rc = check_labels(net, y, X.rows))) return rc;
  memset(&local, 0, sizeof local);
  local.test_acc = NAN;
  if (!rep) rep = &local;
  ot_nn_train_opts oc = *o; /* progress counts this net's epochs: epochs + 1 in all */
  oc.epochs = (size_t)net->epochs + 1;
  if ((rc = ws_reserve(net, o->batch_size < X.rows ? o->batch_size : X.rows))) return rc;
  int th = blas_single(net, o->batch_size);
  rc = train_epoch(net, X, y, &oc, rng, o->lr, rep, net->epochs);
  blas_restore(net, th);
  if (rc == OT_OK && !rep->diverged) net->epochs++;
  return rc;
}

/* lr of epoch e (0-based) under the step schedule. */
static double scheduled_lr(const ot_nn_train_opts *o, size_t e) {
  double lr = o->lr;
  for (size_t k = 0; k < o->nmilestones; k++)
    if (o->milestones[k] <= (double)e) lr *= o->gamma;
  return lr;
}

int ot_nn_fit(ot_nn_net *net, ot_mat X, const double *y, const ot_nn_train_opts *o, ot_rng *rng,
              ot_mat history, size_t *done, int *diverged) {
  ot_nn_report rep;
  double *norms = NULL;
  int rc;
  if (done) *done = 0;
  if (diverged) *diverged = 0;
  if (!net || !o || !rng || !y) return OT_EINVAL;
  if (X.cols != net->in) return OT_ESHAPE;
  if (X.rows == 0) return OT_EINVAL;
  if ((rc = check_train_opts(o)) || (rc = check_labels(net, y, X.rows))) return rc;
  int has_test = o->test_X.data != NULL && o->test_X.rows > 0;
  if (has_test) {
    if (o->test_X.cols != net->in) return OT_ESHAPE;
    if (!o->test_y) return OT_EINVAL;
    if ((rc = check_labels(net, o->test_y, o->test_X.rows))) return rc;
  }
  if (history.data && (history.rows < o->epochs || history.cols != 5)) return OT_ESHAPE;
  if ((rc = ws_reserve(net, o->batch_size < X.rows ? o->batch_size : X.rows))) return rc;
  if ((rc = ot_alloc_doubles(2 * net->nlayers, 1, &norms))) return rc;
  memset(&rep, 0, sizeof rep);
  rep.nlayers = net->nlayers;
  rep.fro = norms;
  rep.nuclear = norms + net->nlayers;
  rep.test_acc = NAN;
  double t0 = ot_clock();
  int th = blas_single(net, o->batch_size > PREDICT_CHUNK ? o->batch_size : PREDICT_CHUNK);
  for (size_t e = 0; e < o->epochs; e++) {
    if ((rc = train_epoch(net, X, y, o, rng, scheduled_lr(o, e), &rep, (long)e))) break;
    if (rep.diverged) {
      if (diverged) *diverged = 1;
      rep.test_acc = NAN;
    } else {
      net->epochs++;
      if (has_test && (rc = ot_nn_accuracy(net, o->test_X, o->test_y, &rep.test_acc))) break;
    }
    rep.penalty = rep.diverged ? NAN : regularize(net, o->weight_decay, o->regularizer, 0);
    for (size_t i = 0; i < net->nlayers; i++) {
      double f2 = NAN, nuc = NAN;
      if (!rep.diverged && (rc = ot_nn_layer_norms(net, i, &f2, &nuc, (ot_mat){0, 0, 0, NULL})))
        break;
      norms[i] = sqrt(f2);
      norms[net->nlayers + i] = nuc;
    }
    if (rc) break;
    if (history.data) {
      OT_AT(history, e, 0) = rep.loss;
      OT_AT(history, e, 1) = rep.train_acc;
      OT_AT(history, e, 2) = rep.test_acc;
      OT_AT(history, e, 3) = rep.lr;
      OT_AT(history, e, 4) = rep.time;
    }
    if (done) *done = e + 1;
    rep.epoch_end = 1;
    rep.epoch = (long)e + 1;
    rep.view.values[3] = (double)(e + 1);
    if (report(net, o, &rep, (long)e + 1, t0)) {
      rc = OT_ECANCELED;
      break;
    }
    if (rep.diverged) break;
  }
  blas_restore(net, th);
  ot_free(norms);
  return rc;
}

/* ---- inference ------------------------------------------------------------------ */

/*
 * Logits of X in chunks of PREDICT_CHUNK rows (so a large X needs no large
 * workspace), batch norm on the running statistics.
 */
int ot_nn_predict(ot_nn_net *net, ot_mat logits, ot_mat X) {
  int rc;
  if (!net) return OT_EINVAL;
  if (X.cols != net->in || logits.rows != X.rows || logits.cols != net->classes) return OT_ESHAPE;
  if (X.rows == 0) return OT_OK;
  if ((rc = ws_reserve(net, PREDICT_CHUNK))) return rc;
  int th = blas_single(net, PREDICT_CHUNK);
  for (size_t s = 0; s < X.rows; s += PREDICT_CHUNK) {
    size_t nb = X.rows - s < PREDICT_CHUNK ? X.rows - s : PREDICT_CHUNK;
    forward(net, X.data + s * X.ld, X.ld, nb, 0, 0);
    const double *z = net->ws->l[net->nlayers - 1].z;
    for (size_t k = 0; k < nb; k++)
      memcpy(&OT_AT(logits, s + k, 0), z + k * net->classes, net->classes * sizeof(double));
  }
  blas_restore(net, th);
  return OT_OK;
}

int ot_nn_accuracy(ot_nn_net *net, ot_mat X, const double *y, double *acc) {
  int rc;
  if (!net || !y || !acc) return OT_EINVAL;
  if (X.cols != net->in) return OT_ESHAPE;
  if (X.rows == 0) return OT_EINVAL;
  if ((rc = check_labels(net, y, X.rows))) return rc;
  if ((rc = ws_reserve(net, PREDICT_CHUNK))) return rc;
  size_t right = 0;
  int th = blas_single(net, PREDICT_CHUNK);
  for (size_t s = 0; s < X.rows; s += PREDICT_CHUNK) {
    size_t nb = X.rows - s < PREDICT_CHUNK ? X.rows - s : PREDICT_CHUNK, c = 0;
    forward(net, X.data + s * X.ld, X.ld, nb, 0, 0);
    softmax_xent(net->ws->l[net->nlayers - 1].z, nb, net->classes, y + s, NULL, 0.0, &c);
    right += c;
  }
  blas_restore(net, th);
  *acc = (double)right / (double)X.rows;
  return OT_OK;
}

/* ---- collapse and diagnostics --------------------------------------------------- */

/* W = U M Vt (or a copy of a dense W); the only place W is ever formed. */
int ot_nn_layer_weight(const ot_nn_net *net, size_t i, ot_mat W) {
  if (!net || i >= net->nlayers) return OT_EINVAL;
  const ot_nn_layer *L = &net->layers[i];
  double *P = net->params, *um = NULL;
  int rc = OT_OK;
  if (W.rows != L->out || W.cols != L->in) return OT_ESHAPE;
  if (L->rank == 0) return ot_mat_copy(W, mv(P + L->w, L->out, L->in));
  size_t r = L->rank;
  const double *u = P + L->u;
  if (L->deep) {
    if ((rc = ot_alloc_doubles(L->out, r, &um))) return rc;
    ot_gemm(mv(um, L->out, r), 1.0, mv(P + L->u, L->out, r), 0, mv(P + L->m, r, r), 0, 0.0);
    u = um;
  }
  ot_gemm(W, 1.0, mv((double *)u, L->out, r), 0, mv(P + L->vt, r, L->in), 0, 0.0);
  ot_free(um);
  return rc;
}

/*
 * Collapse (nn.h): a dense net of the same shape with each W multiplied
 * out.  The function computed is the same up to rounding: the factored
 * and the collapsed products sum in different orders.
 */
int ot_nn_collapse(ot_nn_net **out, const ot_nn_net *net) {
  ot_nn_spec s;
  ot_nn_layer_spec ls[OT_NN_MAX_LAYERS];
  ot_nn_net *d = NULL;
  int rc;
  if (!out || !net) return OT_EINVAL;
  *out = NULL;
  spec_of(net, &s, ls);
  for (size_t i = 0; i < net->nlayers; i++) ls[i].rank = 0, ls[i].deep = 0;
  if ((rc = nn_alloc(&d, &s))) return rc;
  for (size_t i = 0; i < net->nlayers; i++) {
    const ot_nn_layer *L = &net->layers[i], *D = &d->layers[i];
    if ((rc = ot_nn_layer_weight(net, i, mv(d->params + D->w, D->out, D->in)))) goto fail;
    if (L->b != OT_NN_NONE) memcpy(d->params + D->b, net->params + L->b, L->out * sizeof(double));
    if (L->bn) {
      memcpy(d->params + D->gamma, net->params + L->gamma, 2 * L->out * sizeof(double));
      memcpy(d->buffers + D->run_mean, net->buffers + L->run_mean, 2 * L->out * sizeof(double));
    }
  }
  d->epochs = net->epochs;
  d->steps = net->steps;
  *out = d;
  return OT_OK;
fail:
  ot_nn_free(d);
  return rc;
}

/* 1 when every weight of layer L (W or U, M, Vt) is finite. */
static int layer_finite(const ot_nn_net *net, const ot_nn_layer *L) {
  const double *P = net->params;
  size_t from = L->rank ? L->u : L->w;
  size_t to = L->rank ? L->vt + L->rank * L->in : L->w + L->out * L->in;
  int ok = 1;
  for (size_t k = from; k < to; k++) ok &= isfinite(P[k]) != 0;
  return ok;
}

size_t ot_nn_layer_nsv(const ot_nn_net *net, size_t i) {
  if (!net || i >= net->nlayers) return 0;
  const ot_nn_layer *L = &net->layers[i];
  size_t k = L->in < L->out ? L->in : L->out;
  return L->rank && L->rank < k ? L->rank : k;
}

/*
 * Norms of layer i (nn.h).  Factorized: the Frobenius norm from the Grams,
 * the singular values of U' Vt (U' = U M) as those of R_U R_V^T with
 * U' = Q_U R_U and Vt^T = Q_V R_V, which are at most r x r.
 */
int ot_nn_layer_norms(const ot_nn_net *net, size_t i, double *fro2, double *nuclear, ot_mat sv) {
  if (!net || i >= net->nlayers) return OT_EINVAL;
  const ot_nn_layer *L = &net->layers[i];
  size_t nsv = ot_nn_layer_nsv(net, i), out = L->out, in = L->in, r = L->rank;
  double *P = net->params, *buf = NULL, *s = NULL;
  int rc = OT_OK;
  if (sv.data && !(ot_mat_is_vector(sv) && ot_mat_numel(sv) == nsv)) return OT_ESHAPE;
  if ((rc = ot_alloc_doubles(nsv, 1, &s))) return rc;
  if (!layer_finite(net, L)) goto overflow; /* no SVD: LAPACK would complain */
  if (r == 0) {
    ot_mat W = mv(P + L->w, out, in);
    if (fro2) {
      double f = 0.0;
      for (size_t k = 0; k < out * in; k++) f += W.data[k] * W.data[k];
      *fro2 = f;
    }
    rc = ot_svd(mv(s, nsv, 1), (ot_mat){0, 0, 0, NULL}, (ot_mat){0, 0, 0, NULL}, W);
  } else {
    size_t k1 = out < r ? out : r, k2 = in < r ? in : r, total;
    /* buf: U' (out x r), V (in x r), R_U (k1 x r), R_V (k2 x r), Gu, Gv, S (r x r each) */
    if ((rc = ot_mem_size(out + in + k1 + k2 + 3 * r, r, 1, &total)) ||
        (rc = ot_alloc_doubles(total, 1, &buf)))
      goto done;
    double *up = buf, *v = up + out * r, *ru = v + in * r, *rv = ru + k1 * r, *gu = rv + k2 * r,
           *gv = gu + r * r, *sm = gv + r * r;
    ot_mat U = mv(P + L->u, out, r), Vt = mv(P + L->vt, r, in);
    if (L->deep) ot_gemm(mv(up, out, r), 1.0, U, 0, mv(P + L->m, r, r), 0, 0.0);
    else ot_mat_copy(mv(up, out, r), U);
    if (fro2) {
      ot_syrk(mv(gu, r, r), 1.0, mv(up, out, r), 1, 0.0);
      ot_syrk(mv(gv, r, r), 1.0, Vt, 0, 0.0);
      double f = 0.0;
      for (size_t k = 0; k < r * r; k++) f += gu[k] * gv[k];
      *fro2 = f;
    }
    ot_mat_transpose(mv(v, in, r), Vt);
    size_t bi, bj;
    if (!ot_mat_all_finite(mv(up, out, r), &bi, &bj)) goto overflow; /* U M overflowed */
    if ((rc = ot_qr_r(mv(ru, k1, r), mv(up, out, r))) || (rc = ot_qr_r(mv(rv, k2, r), mv(v, in, r))))
      goto done;
    ot_gemm(mv(sm, k1, k2), 1.0, mv(ru, k1, r), 0, mv(rv, k2, r), 1, 0.0);
    if (!ot_mat_all_finite(mv(sm, k1, k2), &bi, &bj)) goto overflow;
    rc = ot_svd(mv(s, nsv, 1), (ot_mat){0, 0, 0, NULL}, (ot_mat){0, 0, 0, NULL}, mv(sm, k1, k2));
  }
  if (rc) goto done;
  double nuc = 0.0;
  for (size_t k = 0; k < nsv; k++) nuc += s[k];
  if (nuclear) *nuclear = nuc;
  if (sv.data)
    for (size_t k = 0; k < nsv; k++) sv.data[k * (sv.rows == 1 ? 1 : sv.ld)] = s[k];
  goto done;
overflow: /* an overflowed layer: its norms are nan */
  if (fro2) *fro2 = NAN;
  if (nuclear) *nuclear = NAN;
  for (size_t k = 0; sv.data && k < nsv; k++) sv.data[k * (sv.rows == 1 ? 1 : sv.ld)] = NAN;
done:
  ot_free(buf);
  ot_free(s);
  return rc;
}

/* ---- save and load -------------------------------------------------------------- */

static int nn_fail(int rc, char *err, size_t errlen, const char *fmt, const char *a,
                   const char *b) {
  if (err && errlen) snprintf(err, errlen, fmt, a, b);
  return rc;
}

/* The tensors of layer i: name, offset, rows, cols, in params (0) or buffers (1). */
typedef struct nn_tensor {
  const char *name;
  size_t off, rows, cols;
  int buffer;  /* 1: in net->buffers */
  int vec;     /* 1: saved as a 1-d array */
} nn_tensor;

static size_t layer_tensors(const ot_nn_layer *L, nn_tensor *t) {
  size_t k = 0;
  if (L->w != OT_NN_NONE) t[k++] = (nn_tensor){"W", L->w, L->out, L->in, 0, 0};
  if (L->u != OT_NN_NONE) t[k++] = (nn_tensor){"U", L->u, L->out, L->rank, 0, 0};
  if (L->m != OT_NN_NONE) t[k++] = (nn_tensor){"M", L->m, L->rank, L->rank, 0, 0};
  if (L->vt != OT_NN_NONE) t[k++] = (nn_tensor){"Vt", L->vt, L->rank, L->in, 0, 0};
  if (L->b != OT_NN_NONE) t[k++] = (nn_tensor){"b", L->b, L->out, 1, 0, 1};
  if (L->gamma != OT_NN_NONE) t[k++] = (nn_tensor){"gamma", L->gamma, L->out, 1, 0, 1};
  if (L->beta != OT_NN_NONE) t[k++] = (nn_tensor){"beta", L->beta, L->out, 1, 0, 1};
  if (L->run_mean != OT_NN_NONE) t[k++] = (nn_tensor){"running_mean", L->run_mean, L->out, 1, 1, 1};
  if (L->run_var != OT_NN_NONE) t[k++] = (nn_tensor){"running_var", L->run_var, L->out, 1, 1, 1};
  return k;
}

/*
 * Save (nn.h).  The tensors go first, each replaced atomically by
 * ot_io_save; net.txt last, so a directory without it holds no complete
 * net.  net.txt is line-oriented text: "otlab-nn 1", then in, layers, act,
 * batchnorm, init, bn_momentum, bn_eps, epochs, steps, and one
 * "layer i out O rank R deep D" line per layer.
 */
int ot_nn_save(const ot_nn_net *net, const char *dir, char *err, size_t errlen) {
  char path[4096];
  nn_tensor t[9];
  int rc = OT_OK;
  if (err && errlen) err[0] = 0;
  if (!net || !dir || !*dir) return OT_EINVAL;
  if (strlen(dir) > sizeof path - 64) return nn_fail(OT_EINVAL, err, errlen, "%s: path too long", dir, "");
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return nn_fail(OT_EIO, err, errlen, "%s: %s", dir, strerror(errno));
  for (size_t i = 0; i < net->nlayers && !rc; i++) {
    size_t k = layer_tensors(&net->layers[i], t);
    for (size_t j = 0; j < k && !rc; j++) {
      snprintf(path, sizeof path, "%s/l%zu_%s.npy", dir, i + 1, t[j].name);
      double *base = t[j].buffer ? net->buffers : net->params;
      rc = ot_io_save(path, mv(base + t[j].off, t[j].rows, t[j].cols), t[j].vec, NULL, err,
                      errlen);
    }
  }
  if (rc) return rc;
  /* the manifest last: a directory without it is not a saved net */
  snprintf(path, sizeof path, "%s/net.txt", dir);
  FILE *f = fopen(path, "w");
  if (!f) return nn_fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
  fprintf(f, "otlab-nn 1\nin %zu\nlayers %zu\nact %s\nbatchnorm %d\ninit %s\n", net->in,
          net->nlayers, net->act == OT_NN_TANH ? "tanh" : "relu", net->batchnorm,
          net->init == OT_NN_INIT_REGULAR ? "regular" : "spectral");
  fprintf(f, "bn_momentum %.17g\nbn_eps %.17g\nepochs %ld\nsteps %ld\n", net->bn_momentum,
          net->bn_eps, net->epochs, net->steps);
  for (size_t i = 0; i < net->nlayers; i++)
    fprintf(f, "layer %zu out %zu rank %zu deep %d\n", i + 1, net->layers[i].out,
            net->layers[i].rank, net->layers[i].deep);
  if (ferror(f) | (fclose(f) != 0)) return nn_fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
  return OT_OK;
}

/*
 * Load (nn.h): parse net.txt, build the net, then read every tensor,
 * checking its size.  Non-finite values are accepted (a diverged net saves
 * and loads as it was).  OT_EIO for a missing file, OT_EFORMAT for a bad
 * description or a tensor of the wrong shape.
 */
int ot_nn_load(ot_nn_net **out, const char *dir, char *err, size_t errlen) {
  char path[4096], word[32];
  ot_nn_layer_spec ls[OT_NN_MAX_LAYERS];
  ot_nn_spec s;
  ot_nn_net *net = NULL;
  nn_tensor t[9];
  ot_io_data d;
  int rc = OT_OK;
  if (err && errlen) err[0] = 0;
  if (!out || !dir || !*dir) return OT_EINVAL;
  *out = NULL;
  if (strlen(dir) > sizeof path - 64) return nn_fail(OT_EINVAL, err, errlen, "%s: path too long", dir, "");
  snprintf(path, sizeof path, "%s/net.txt", dir);
  FILE *f = fopen(path, "r");
  if (!f) return nn_fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
  ot_nn_spec_init(&s);
  int version = 0, bn = 0, ok = 1;
  char act[16] = "", init[16] = "";
  long epochs = 0, steps = 0;
  size_t nl = 0;
  ok &= fscanf(f, "otlab-nn %d in %zu layers %zu act %15s batchnorm %d init %15s", &version, &s.in,
               &nl, act, &bn, init) == 6;
  ok &= ok && fscanf(f, " bn_momentum %lf bn_eps %lf epochs %ld steps %ld", &s.bn_momentum,
                     &s.bn_eps, &epochs, &steps) == 4;
  ok &= ok && version == 1 && nl >= 1 && nl <= OT_NN_MAX_LAYERS;
  for (size_t i = 0; ok && i < nl; i++) {
    size_t idx = 0;
    ok &= fscanf(f, " layer %zu out %zu rank %zu deep %d", &idx, &ls[i].out, &ls[i].rank,
                 &ls[i].deep) == 4 && idx == i + 1;
  }
  fclose(f);
  if (ok && strcmp(act, "relu") && strcmp(act, "tanh")) ok = 0;
  if (ok && strcmp(init, "regular") && strcmp(init, "spectral")) ok = 0;
  if (!ok) return nn_fail(OT_EFORMAT, err, errlen, "%s: not an otlab net description%s", path, "");
  s.nlayers = nl;
  s.layers = ls;
  s.act = strcmp(act, "tanh") == 0 ? OT_NN_TANH : OT_NN_RELU;
  s.init = strcmp(init, "regular") == 0 ? OT_NN_INIT_REGULAR : OT_NN_INIT_SPECTRAL;
  s.batchnorm = bn;
  if ((rc = nn_alloc(&net, &s)))
    return rc == OT_EINVAL ? nn_fail(OT_EFORMAT, err, errlen, "%s: invalid net description%s",
                                     path, "")
                           : rc;
  net->epochs = epochs;
  net->steps = steps;
  ot_io_opts o;
  ot_io_opts_init(&o);
  o.format = OT_IO_NPY;
  o.allow_nonfinite = 1;
  ot_io_data_init(&d);
  for (size_t i = 0; i < nl && !rc; i++) {
    size_t k = layer_tensors(&net->layers[i], t);
    for (size_t j = 0; j < k && !rc; j++) {
      snprintf(path, sizeof path, "%s/l%zu_%s.npy", dir, i + 1, t[j].name);
      if ((rc = ot_io_load(path, &o, &d, err, errlen))) break;
      if (d.rows * d.cols != t[j].rows * t[j].cols || (t[j].cols > 1 && d.cols != t[j].cols)) {
        snprintf(word, sizeof word, "%zux%zu", t[j].rows, t[j].cols);
        rc = nn_fail(OT_EFORMAT, err, errlen, "%s: wrong shape, expected %s", path, word);
      } else {
        double *base = t[j].buffer ? net->buffers : net->params;
        memcpy(base + t[j].off, d.x, d.rows * d.cols * sizeof(double));
      }
      ot_io_data_free(&d);
    }
  }
  if (rc) {
    ot_nn_free(net);
    return rc;
  }
  *out = net;
  return OT_OK;
}
