/*
 * Tests of the nn core module (specs/factorized.md, "Tests that must exist"):
 * central finite-difference gradients of every layer type, the loss, the
 * bias, batch norm (train and eval) and both regularizers; spectral-init
 * exactness; exact collapse of a trained overcomplete net; determinism;
 * diagnostics; save/load; bad inputs and allocation-failure sweeps.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linalg.h"
#include "nn.h"
#include "rand.h"
#include "test.h"

static ot_mat mv(double *p, size_t r, size_t c) { return ot_mat_view(p, r, c); }
static const ot_mat none = {0, 0, 0, NULL};

/* Three Gaussian blobs in `in` dimensions: X (n x in) and labels 0..2. */
static void blobs(double *X, double *y, size_t n, size_t in, uint64_t seed) {
  ot_rng r;
  ot_rng_seed(&r, seed);
  for (size_t k = 0; k < n; k++) {
    y[k] = (double)(k % 3);
    for (size_t j = 0; j < in; j++)
      X[k * in + j] = ot_rng_normal(&r) + (j % 3 == k % 3 ? 2.0 : 0.0);
  }
}

static ot_nn_net *build(size_t in, const ot_nn_layer_spec *ls, size_t nl, int act, int bn,
                        int init, uint64_t seed) {
  ot_nn_spec s;
  ot_rng r;
  ot_nn_net *net = NULL;
  ot_nn_spec_init(&s);
  s.in = in;
  s.layers = ls;
  s.nlayers = nl;
  s.act = act;
  s.batchnorm = bn;
  s.init = init;
  ot_rng_seed(&r, seed);
  int rc = ot_nn_new(&net, &s, &r);
  CHECK("ot_nn_new", rc == OT_OK && net);
  return net;
}

/*
 * Central differences (h = 1e-6) of loss + penalty against the analytic
 * gradient, tensor by tensor (each parameter block of each layer): the
 * relative error ||g - g_fd|| / max(||g||, ||g_fd||) must be below 1e-7.
 */
static double fd_check(ot_nn_net *net, ot_mat X, const double *y, double lambda, int reg,
                       int train, const char *what) {
  double loss, pen, worst = 0.0, h = 1e-6;
  size_t np = net->nparams;
  double *g = malloc(np * sizeof *g), *fd = malloc(np * sizeof *fd);
  /* batch-norm running statistics must not drift between evaluations in eval
   * mode: keep a copy and restore it */
  double *buf = malloc((net->nbuffers + 1) * sizeof *buf);
  memcpy(buf, net->buffers, net->nbuffers * sizeof *buf);
  CHECK("objective", ot_nn_objective(net, X, y, lambda, reg, train, 1, &loss, &pen, NULL) == OT_OK);
  memcpy(g, net->grads, np * sizeof *g);
  for (size_t k = 0; k < np; k++) {
    double save = net->params[k], lp, pp, lm, pm;
    net->params[k] = save + h;
    ot_nn_objective(net, X, y, lambda, reg, train, 0, &lp, &pp, NULL);
    net->params[k] = save - h;
    ot_nn_objective(net, X, y, lambda, reg, train, 0, &lm, &pm, NULL);
    net->params[k] = save;
    memcpy(net->buffers, buf, net->nbuffers * sizeof *buf);
    fd[k] = ((lp + pp) - (lm + pm)) / (2 * h);
  }
  /* tensor blocks: the boundaries are the layer offsets */
  size_t cuts[OT_NN_MAX_LAYERS * 8 + 2], nc = 0;
  for (size_t i = 0; i < net->nlayers; i++) {
    const ot_nn_layer *L = &net->layers[i];
    size_t offs[] = {L->w, L->u, L->m, L->vt, L->b, L->gamma, L->beta};
    for (size_t j = 0; j < 7; j++)
      if (offs[j] != OT_NN_NONE) cuts[nc++] = offs[j];
  }
  cuts[nc++] = np;
  for (size_t c = 0; c + 1 < nc; c++) {
    double d2 = 0, a2 = 0, f2 = 0;
    for (size_t k = cuts[c]; k < cuts[c + 1]; k++) {
      d2 += (g[k] - fd[k]) * (g[k] - fd[k]);
      a2 += g[k] * g[k];
      f2 += fd[k] * fd[k];
    }
    double den = sqrt(a2 > f2 ? a2 : f2);
    double rel = den > 0 ? sqrt(d2) / den : 0.0;
    if (rel > worst) worst = rel;
    if (!(rel < 1e-7)) printf("  %s: tensor at %zu: relative error %.3g\n", what, cuts[c], rel);
  }
  CHECK(what, worst < 1e-7);
  free(buf);
  free(fd);
  free(g);
  return worst;
}

static void test_gradients(void) {
  size_t n = 11, in = 5;
  double X[11 * 5], y[11];
  blobs(X, y, n, in, 3);
  ot_mat Xm = mv(X, n, in);
  /* dense, factorized U Vt, deep U M Vt, overcomplete (r > min), classifier */
  ot_nn_layer_spec ls[] = {{7, 0, 0}, {6, 3, 0}, {6, 4, 1}, {5, 9, 0}, {3, 0, 0}};
  for (int act = 0; act < 2; act++)
    for (int bn = 0; bn < 2; bn++)
      for (int reg = 0; reg < 2; reg++) {
        ot_nn_net *net = build(in, ls, 5, act, bn, OT_NN_INIT_REGULAR, 10 + (uint64_t)act);
        if (!net) continue;
        if (bn) { /* non-trivial BN parameters and running statistics */
          ot_rng r;
          ot_rng_seed(&r, 5);
          for (size_t i = 0; i + 1 < net->nlayers; i++) {
            const ot_nn_layer *L = &net->layers[i];
            for (size_t j = 0; j < L->out; j++) {
              net->params[L->gamma + j] = 1 + 0.3 * ot_rng_normal(&r);
              net->params[L->beta + j] = 0.2 * ot_rng_normal(&r);
              net->buffers[L->run_mean + j] = 0.1 * ot_rng_normal(&r);
              net->buffers[L->run_var + j] = 1 + 0.5 * ot_rng_uniform(&r);
            }
          }
        } else { /* non-zero biases */
          for (size_t i = 0; i < net->nlayers; i++)
            for (size_t j = 0; j < net->layers[i].out; j++)
              net->params[net->layers[i].b + j] = 0.1 * (double)((j * 7 + i) % 5) - 0.2;
        }
        char what[96];
        snprintf(what, sizeof what, "gradient %s bn=%d %s train", act ? "tanh" : "relu", bn,
                 reg ? "frobenius" : "weight");
        fd_check(net, Xm, y, 0.3, reg, 1, what);
        if (bn) {
          snprintf(what, sizeof what, "gradient %s bn=1 %s eval", act ? "tanh" : "relu",
                   reg ? "frobenius" : "weight");
          fd_check(net, Xm, y, 0.3, reg, 0, what);
        }
        ot_nn_free(net);
      }
  /* the Frobenius penalty alone equals (lambda/2)||U M Vt||^2 */
  ot_nn_net *net = build(in, ls, 5, OT_NN_TANH, 0, OT_NN_INIT_REGULAR, 7);
  double loss, pw, pf, want = 0.0, W[6 * 7];
  ot_nn_objective(net, Xm, y, 0.5, OT_NN_REG_WEIGHT, 1, 0, &loss, &pw, NULL);
  ot_nn_objective(net, Xm, y, 0.5, OT_NN_REG_FROBENIUS, 1, 0, &loss, &pf, NULL);
  for (size_t i = 0; i < net->nlayers; i++) {
    const ot_nn_layer *L = &net->layers[i];
    if (L->rank == 0) continue;
    ot_nn_layer_weight(net, i, mv(W, L->out, L->in));
    double f = 0, wu = 0;
    for (size_t k = 0; k < L->out * L->in; k++) f += W[k] * W[k];
    size_t end = L->vt + L->rank * L->in;
    for (size_t k = L->u; k < end; k++) wu += net->params[k] * net->params[k];
    want += 0.25 * (f - wu); /* frobenius - weight on this layer's factors */
  }
  CHECK_NEAR("Frobenius penalty value", pf - pw, want, 1e-12 * (1 + fabs(want)));
  ot_nn_free(net);
}

/* max |a - b| over n values */
static double maxdiff(const double *a, const double *b, size_t n) {
  double m = 0;
  for (size_t k = 0; k < n; k++)
    if (fabs(a[k] - b[k]) > m) m = fabs(a[k] - b[k]);
  return m;
}

static void spectral_case(size_t m, size_t n, size_t r, int lowrank) {
  ot_rng rg;
  ot_rng_seed(&rg, m * 100 + n * 10 + r);
  size_t k = m < n ? m : n;
  double *W = malloc(m * n * sizeof *W), *U = malloc(m * r * sizeof *U),
         *Vt = malloc(r * n * sizeof *Vt), *P = malloc(m * n * sizeof *P),
         *s = malloc(k * sizeof *s), *G = malloc(r * r * sizeof *G);
  if (lowrank) { /* rank 2: W = a b^T + c d^T */
    double a[64], b[64], c[64], d[64];
    for (size_t i = 0; i < 64; i++)
      a[i] = ot_rng_normal(&rg), b[i] = ot_rng_normal(&rg), c[i] = ot_rng_normal(&rg),
      d[i] = ot_rng_normal(&rg);
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < n; j++) W[i * n + j] = a[i] * b[j] + c[i] * d[j];
  } else {
    for (size_t i = 0; i < m * n; i++) W[i] = ot_rng_normal(&rg) * sqrt(2.0 / (double)n);
  }
  CHECK("split", ot_nn_spectral_split(mv(U, m, r), mv(Vt, r, n), mv(W, m, n)) == OT_OK);
  ot_svd(mv(s, k, 1), none, none, mv(W, m, n));
  size_t rk = lowrank ? 2 : k, kept = r < rk ? r : rk;
  /* balanced Grams: U^T U = Vt Vt^T = diag(s_1..s_kept, 0...) */
  double e1 = 0, e2 = 0;
  ot_syrk(mv(G, r, r), 1.0, mv(U, m, r), 1, 0.0);
  for (size_t i = 0; i < r; i++)
    for (size_t j = 0; j < r; j++) e1 = fmax(e1, fabs(G[i * r + j] - (i == j && i < kept ? s[i] : 0)));
  ot_syrk(mv(G, r, r), 1.0, mv(Vt, r, n), 0, 0.0);
  for (size_t i = 0; i < r; i++)
    for (size_t j = 0; j < r; j++) e2 = fmax(e2, fabs(G[i * r + j] - (i == j && i < kept ? s[i] : 0)));
  CHECK_NEAR("U^T U = diag(sigma)", e1, 0.0, 1e-12);
  CHECK_NEAR("Vt Vt^T = diag(sigma)", e2, 0.0, 1e-12);
  /* residual R = W - U Vt is orthogonal to both factors (truncated SVD), its
   * energy is the discarded sigma^2, and zero at full rank */
  ot_gemm(mv(P, m, n), 1.0, mv(U, m, r), 0, mv(Vt, r, n), 0, 0.0);
  double rf = 0, wf = 0, kf = 0;
  for (size_t i = 0; i < m * n; i++) {
    P[i] = W[i] - P[i];
    rf += P[i] * P[i];
    wf += W[i] * W[i];
  }
  for (size_t i = 0; i < kept; i++) kf += s[i] * s[i];
  CHECK_NEAR("||W - U Vt||^2 = discarded energy", rf, wf - kf, 1e-12 * (1 + wf));
  double *T = malloc(r * n * sizeof *T), *T2 = malloc(m * r * sizeof *T2);
  ot_gemm(mv(T, r, n), 1.0, mv(U, m, r), 1, mv(P, m, n), 0, 0.0);   /* U^T R */
  ot_gemm(mv(T2, m, r), 1.0, mv(P, m, n), 0, mv(Vt, r, n), 1, 0.0); /* R V */
  double o1 = 0, o2 = 0;
  for (size_t i = 0; i < r * n; i++) o1 = fmax(o1, fabs(T[i]));
  for (size_t i = 0; i < m * r; i++) o2 = fmax(o2, fabs(T2[i]));
  CHECK_NEAR("U^T (W - U Vt) = 0", o1, 0.0, 1e-12);
  CHECK_NEAR("(W - U Vt) V = 0", o2, 0.0, 1e-12);
  if (r >= rk) {
    double e = 0;
    for (size_t i = 0; i < m * n; i++) e = fmax(e, fabs(P[i]));
    CHECK_NEAR("r >= rank reproduces W", e, 0.0, 1e-12);
  }
  int zero = 1; /* padding beyond the rank is exactly zero */
  for (size_t j = rk; j < r; j++) {
    for (size_t i = 0; i < m; i++) zero &= U[i * r + j] == 0.0;
    for (size_t c = 0; c < n; c++) zero &= Vt[j * n + c] == 0.0;
  }
  CHECK("padding beyond the rank is zero", zero);
  free(T2);
  free(T);
  free(G);
  free(s);
  free(P);
  free(Vt);
  free(U);
  free(W);
}

static void test_spectral(void) {
  spectral_case(9, 6, 3, 0);
  spectral_case(6, 9, 4, 0);
  spectral_case(8, 8, 8, 0);  /* r = min(m, n) reproduces W */
  spectral_case(7, 5, 12, 0); /* overcomplete: zero padding */
  spectral_case(8, 6, 4, 1);  /* r > rank(W) = 2 */
  /* the net's spectral init is the split of the Kaiming draw it made */
  ot_nn_layer_spec ls[] = {{6, 3, 0}, {4, 0, 0}};
  ot_nn_net *net = build(8, ls, 2, OT_NN_RELU, 0, OT_NN_INIT_SPECTRAL, 42);
  ot_rng rg;
  ot_rng_seed(&rg, 42);
  double W[48], U[18], Vt[24];
  for (size_t i = 0; i < 48; i++) W[i] = sqrt(2.0 / 8) * ot_rng_normal(&rg);
  ot_nn_spectral_split(mv(U, 6, 3), mv(Vt, 3, 8), mv(W, 6, 8));
  CHECK("net U = split of its draw", maxdiff(U, net->params + net->layers[0].u, 18) == 0.0);
  CHECK("net Vt = split of its draw", maxdiff(Vt, net->params + net->layers[0].vt, 24) == 0.0);
  ot_nn_free(net);
}

/* diagnostics against the multiplied-out W */
static void test_norms(void) {
  ot_nn_layer_spec ls[] = {{7, 3, 1}, {6, 12, 0}, {5, 0, 0}, {3, 0, 0}};
  ot_nn_net *net = build(9, ls, 4, OT_NN_RELU, 0, OT_NN_INIT_REGULAR, 9);
  for (size_t i = 0; i < 4; i++) {
    const ot_nn_layer *L = &net->layers[i];
    double W[9 * 7], s[9], sv[9], fro2, nuc, f = 0, nn = 0;
    size_t k = L->in < L->out ? L->in : L->out, nsv = ot_nn_layer_nsv(net, i);
    ot_nn_layer_weight(net, i, mv(W, L->out, L->in));
    ot_svd(mv(s, k, 1), none, none, mv(W, L->out, L->in));
    CHECK("norms", ot_nn_layer_norms(net, i, &fro2, &nuc, mv(sv, nsv, 1)) == OT_OK);
    for (size_t j = 0; j < L->out * L->in; j++) f += W[j] * W[j];
    for (size_t j = 0; j < k; j++) nn += s[j];
    CHECK_NEAR("||W||_F^2 by the trace formula", fro2, f, 1e-12 * f);
    CHECK_NEAR("nuclear norm", nuc, nn, 1e-11 * nn);
    CHECK("number of singular values", nsv == (L->rank && L->rank < k ? L->rank : k));
    CHECK_NEAR("singular values", maxdiff(sv, s, nsv), 0.0, 1e-12 * s[0]);
  }
  ot_nn_free(net);
}

/* train an overcomplete net (wide and deep layers, batch norm) and collapse it */
static void test_collapse(void) {
  size_t n = 90, in = 6;
  double X[90 * 6], y[90], acc;
  blobs(X, y, n, in, 11);
  ot_nn_layer_spec ls[] = {{8, 0, 0}, {8, 16, 0}, {8, 16, 1}, {3, 0, 0}};
  for (int bn = 0; bn < 2; bn++)
    for (int init = 0; init < 2; init++) {
      ot_nn_net *net = build(in, ls, 4, OT_NN_RELU, bn, init, 5), *d = NULL;
      ot_nn_train_opts o;
      ot_nn_train_opts_init(&o);
      o.epochs = 5;
      o.batch_size = 16;
      o.regularizer = OT_NN_REG_FROBENIUS;
      ot_rng r;
      ot_rng_seed(&r, 1);
      size_t done;
      int div;
      CHECK("fit", ot_nn_fit(net, mv(X, n, in), y, &o, &r, none, &done, &div) == OT_OK);
      CHECK("fit ran every epoch", done == 5 && !div);
      CHECK("collapse", ot_nn_collapse(&d, net) == OT_OK);
      for (size_t i = 0; i < 4; i++) CHECK("collapsed layers are dense", d->layers[i].rank == 0);
      double L1[90 * 3], L2[90 * 3];
      ot_nn_predict(net, mv(L1, n, 3), mv(X, n, in));
      ot_nn_predict(d, mv(L2, n, 3), mv(X, n, in));
      CHECK_NEAR("collapsed logits", maxdiff(L1, L2, n * 3), 0.0, 1e-10);
      ot_nn_accuracy(net, mv(X, n, in), y, &acc);
      if (!(acc > (init ? 0.8 : 0.5))) printf("  bn=%d init=%d: accuracy %g\n", bn, init, acc);
      CHECK("the net learned the blobs", acc > (init ? 0.8 : 0.5));
      ot_nn_free(d);
      ot_nn_free(net);
    }
}

/* same seeds, same data: bit-identical weights and losses */
static void test_determinism(void) {
  size_t n = 70, in = 5;
  double X[70 * 5], y[70], h1[3 * 5], h2[3 * 5];
  blobs(X, y, n, in, 2);
  ot_nn_layer_spec ls[] = {{8, 2, 0}, {8, 3, 1}, {3, 0, 0}};
  ot_nn_net *a = build(in, ls, 3, OT_NN_TANH, 1, OT_NN_INIT_SPECTRAL, 77);
  ot_nn_net *b = build(in, ls, 3, OT_NN_TANH, 1, OT_NN_INIT_SPECTRAL, 77);
  ot_nn_train_opts o;
  ot_nn_train_opts_init(&o);
  o.epochs = 3;
  o.batch_size = 8;
  ot_rng r1, r2;
  ot_rng_seed(&r1, 3);
  ot_rng_seed(&r2, 3);
  ot_nn_fit(a, mv(X, n, in), y, &o, &r1, mv(h1, 3, 5), NULL, NULL);
  ot_nn_fit(b, mv(X, n, in), y, &o, &r2, mv(h2, 3, 5), NULL, NULL);
  CHECK("same weights", memcmp(a->params, b->params, a->nparams * sizeof(double)) == 0);
  CHECK("same running statistics", memcmp(a->buffers, b->buffers, a->nbuffers * sizeof(double)) == 0);
  int same = 1;
  for (size_t e = 0; e < 3; e++)
    for (size_t j = 0; j < 2; j++) same &= h1[e * 5 + j] == h2[e * 5 + j];
  CHECK("same losses and accuracies", same);
  CHECK("loss decreased", h1[2 * 5] < h1[0]);
  ot_nn_free(a);
  ot_nn_free(b);
}

static void test_save_load(void) {
  char dir[] = "/tmp/otlab-nn-test-XXXXXX", err[256];
  CHECK("mkdtemp", mkdtemp(dir) != NULL);
  ot_nn_layer_spec ls[] = {{6, 0, 0}, {5, 2, 1}, {4, 7, 0}, {3, 0, 0}};
  ot_nn_net *net = build(4, ls, 4, OT_NN_TANH, 1, OT_NN_INIT_SPECTRAL, 8), *back = NULL;
  for (size_t k = 0; k < net->nbuffers; k++) net->buffers[k] = 0.5 + 0.01 * (double)k;
  net->epochs = 3;
  CHECK("save", ot_nn_save(net, dir, err, sizeof err) == OT_OK);
  CHECK("load", ot_nn_load(&back, dir, err, sizeof err) == OT_OK && back);
  if (back) {
    CHECK("same shape", back->nparams == net->nparams && back->nlayers == 4 &&
                            back->layers[1].deep && back->layers[2].rank == 7 && back->batchnorm &&
                            back->act == OT_NN_TANH && back->epochs == 3);
    CHECK("same weights", memcmp(back->params, net->params, net->nparams * sizeof(double)) == 0);
    CHECK("same buffers", memcmp(back->buffers, net->buffers, net->nbuffers * sizeof(double)) == 0);
  }
  ot_nn_free(back);
  back = NULL;
  char path[300];
  snprintf(path, sizeof path, "%s/l2_U.npy", dir);
  remove(path);
  CHECK("missing tensor", ot_nn_load(&back, dir, err, sizeof err) == OT_EIO && !back &&
                              strstr(err, "l2_U.npy"));
  CHECK("missing dir", ot_nn_load(&back, "/no/such/dir", err, sizeof err) == OT_EIO);
  /* clean up: remove every file we wrote */
  const char *names[] = {"l1_W", "l1_gamma", "l1_beta", "l1_running_mean", "l1_running_var",
                         "l2_M", "l2_Vt", "l2_gamma", "l2_beta", "l2_running_mean",
                         "l2_running_var", "l3_U", "l3_Vt", "l3_gamma", "l3_beta",
                         "l3_running_mean", "l3_running_var", "l4_W", "l4_b"};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
    snprintf(path, sizeof path, "%s/%s.npy", dir, names[k]);
    remove(path);
  }
  snprintf(path, sizeof path, "%s/net.txt", dir);
  remove(path);
  CHECK("directory empty after cleanup", rmdir(dir) == 0);
  ot_nn_free(net);
}

static void test_bad_inputs(void) {
  ot_nn_spec s;
  ot_rng r;
  ot_nn_net *net = NULL;
  ot_rng_seed(&r, 1);
  ot_nn_layer_spec ok[] = {{4, 2, 0}, {3, 0, 0}}, one[] = {{1, 0, 0}}, deep0[] = {{4, 0, 1}, {3, 0, 0}};
  ot_nn_spec_init(&s);
  s.in = 0, s.layers = ok, s.nlayers = 2;
  CHECK("in = 0", ot_nn_new(&net, &s, &r) == OT_EINVAL && !net);
  s.in = 3, s.layers = one, s.nlayers = 1;
  CHECK("one class", ot_nn_new(&net, &s, &r) == OT_EINVAL);
  s.layers = deep0, s.nlayers = 2;
  CHECK("deep dense", ot_nn_new(&net, &s, &r) == OT_EINVAL);
  s.layers = ok, s.act = 7;
  CHECK("bad activation", ot_nn_new(&net, &s, &r) == OT_EINVAL);
  s.act = OT_NN_RELU;
  CHECK("valid", ot_nn_new(&net, &s, &r) == OT_OK);
  double X[6] = {1, 2, 3, 4, 5, 6}, y[2] = {0, 3}, yf[2] = {0, 0.5}, yok[2] = {0, 2}, acc;
  ot_nn_train_opts o;
  ot_nn_train_opts_init(&o);
  CHECK("label out of range", ot_nn_train_epoch(net, mv(X, 2, 3), y, &o, &r, NULL) == OT_EINVAL);
  CHECK("fractional label", ot_nn_accuracy(net, mv(X, 2, 3), yf, &acc) == OT_EINVAL);
  CHECK("wrong width", ot_nn_accuracy(net, mv(X, 3, 2), yok, &acc) == OT_ESHAPE);
  o.momentum = 1.0;
  CHECK("momentum 1", ot_nn_train_epoch(net, mv(X, 2, 3), yok, &o, &r, NULL) == OT_EINVAL);
  ot_nn_train_opts_init(&o);
  o.batch_size = 0;
  CHECK("batch 0", ot_nn_fit(net, mv(X, 2, 3), yok, &o, &r, none, NULL, NULL) == OT_EINVAL);
  ot_nn_train_opts_init(&o);
  CHECK("no rows", ot_nn_train_epoch(net, mv(X, 0, 3), yok, &o, &r, NULL) == OT_EINVAL);
  CHECK("layer out of range", ot_nn_layer_norms(net, 2, NULL, NULL, none) == OT_EINVAL);
  double Wn[4] = {1, NAN, 0, 1}, Un[2], Vn[2];
  CHECK("split of a non-finite W", ot_nn_spectral_split(mv(Un, 2, 1), mv(Vn, 1, 2), mv(Wn, 2, 2)) == OT_EINVAL);
  { /* norms of an overflowed layer are nan, without calling LAPACK */
    ot_nn_net *c = NULL;
    double f, nuc, sv[3];
    ot_nn_clone(&c, net);
    c->params[c->layers[0].u] = INFINITY;
    CHECK("norms of an overflowed layer", ot_nn_layer_norms(c, 0, &f, &nuc, mv(sv, 2, 1)) == OT_OK &&
                                              isnan(f) && isnan(nuc) && isnan(sv[0]));
    ot_nn_free(c);
    /* finite factors whose product overflows: U M = inf */
    ot_nn_layer_spec dl[] = {{4, 3, 1}, {3, 0, 0}};
    c = build(3, dl, 2, OT_NN_RELU, 0, OT_NN_INIT_SPECTRAL, 1);
    for (size_t k = 0; k < 12; k++) c->params[c->layers[0].u + k] = 1e200;
    for (size_t k = 0; k < 9; k++) c->params[c->layers[0].m + k] = 1e200;
    CHECK("norms of a layer whose product overflows",
          ot_nn_layer_norms(c, 0, &f, &nuc, mv(sv, 3, 1)) == OT_OK && isnan(nuc) && isnan(sv[2]));
    ot_nn_free(c);
  }
  /* a diverging run stops with the flag set and finite weights kept */
  o.lr = 1e6;
  o.momentum = 0.0;
  o.epochs = 50;
  o.batch_size = 1;
  size_t done;
  int div;
  CHECK("diverging fit returns", ot_nn_fit(net, mv(X, 2, 3), yok, &o, &r, none, &done, &div) == OT_OK);
  CHECK("divergence reported", div == 1 && done < 50);
  int finite = 1;
  for (size_t k = 0; k < net->nparams; k++) finite &= isfinite(net->params[k]) != 0;
  CHECK("weights before the bad step are kept", finite);
  ot_nn_free(net);
}

/* progress: the panel view and cancellation */
typedef struct seen {
  int calls, ends;
  double last_epoch;
  int stop_after;
} seen;

static int on_progress(void *ud, const ot_progress *p) {
  seen *s = ud;
  const ot_nn_report *rep = p->state;
  s->calls++;
  if (rep->view.kind == OT_VIEW_TRAIN && rep->epoch_end) {
    s->ends++;
    s->last_epoch = rep->view.values[3];
  }
  return s->stop_after && s->ends >= s->stop_after;
}

static void test_progress(void) {
  size_t n = 60, in = 4;
  double X[60 * 4], y[60], hist[10 * 5];
  blobs(X, y, n, in, 4);
  ot_nn_layer_spec ls[] = {{6, 2, 0}, {3, 0, 0}};
  ot_nn_net *net = build(in, ls, 2, OT_NN_RELU, 0, OT_NN_INIT_SPECTRAL, 1);
  ot_nn_train_opts o;
  ot_nn_train_opts_init(&o);
  double ms[] = {2, 3};
  o.epochs = 4;
  o.milestones = ms;
  o.nmilestones = 2;
  o.test_X = mv(X, 30, in);
  o.test_y = y;
  seen s = {0, 0, 0, 0};
  o.progress = on_progress;
  o.progress_ud = &s;
  ot_rng r;
  ot_rng_seed(&r, 1);
  size_t done;
  CHECK("fit with progress", ot_nn_fit(net, mv(X, n, in), y, &o, &r, mv(hist, 4, 5), &done, NULL) == OT_OK);
  CHECK("one end-of-epoch report per epoch", s.ends == 4 && s.last_epoch == 4.0);
  CHECK("step schedule", hist[3] == 0.05 && fabs(hist[2 * 5 + 3] - 0.005) < 1e-15 &&
                             fabs(hist[3 * 5 + 3] - 0.0005) < 1e-15);
  CHECK("test accuracy reported", hist[2] >= 0 && hist[2] <= 1);
  seen c = {0, 0, 0, 2};
  o.progress_ud = &c;
  CHECK("canceled", ot_nn_fit(net, mv(X, n, in), y, &o, &r, none, &done, NULL) == OT_ECANCELED);
  CHECK("canceled after two epochs", done == 2 && net->epochs == 6);
  ot_nn_free(net);
}

/* allocation failures: every entry point returns OT_ENOMEM cleanly, then succeeds */
static ot_nn_net *sweep_net;
static double sweep_X[40 * 4], sweep_y[40];

static int sweep_new(void) {
  ot_nn_layer_spec ls[] = {{6, 2, 1}, {5, 9, 0}, {3, 0, 0}};
  ot_nn_spec s;
  ot_rng r;
  ot_nn_net *net = NULL;
  ot_nn_spec_init(&s);
  s.in = 4, s.layers = ls, s.nlayers = 3, s.batchnorm = 1;
  ot_rng_seed(&r, 1);
  int rc = ot_nn_new(&net, &s, &r);
  ot_nn_free(net);
  return rc;
}

static int sweep_fit(void) {
  ot_nn_net *c = NULL;
  ot_nn_train_opts o;
  ot_rng r;
  int rc = ot_nn_clone(&c, sweep_net);
  if (rc) return rc;
  ot_nn_train_opts_init(&o);
  o.epochs = 2;
  o.batch_size = 16;
  o.test_X = mv(sweep_X, 40, 4);
  o.test_y = sweep_y;
  ot_rng_seed(&r, 1);
  rc = ot_nn_fit(c, mv(sweep_X, 40, 4), sweep_y, &o, &r, none, NULL, NULL);
  ot_nn_free(c);
  return rc;
}

static int sweep_collapse(void) {
  ot_nn_net *d = NULL, *c = NULL;
  int rc = ot_nn_clone(&c, sweep_net);
  if (!rc) rc = ot_nn_collapse(&d, c);
  double L[40 * 3];
  if (!rc) rc = ot_nn_predict(d, mv(L, 40, 3), mv(sweep_X, 40, 4));
  ot_nn_free(d);
  ot_nn_free(c);
  return rc;
}

static int sweep_norms(void) {
  double f, nuc, sv[9];
  int rc = OT_OK;
  for (size_t i = 0; i < sweep_net->nlayers && !rc; i++)
    rc = ot_nn_layer_norms(sweep_net, i, &f, &nuc, mv(sv, ot_nn_layer_nsv(sweep_net, i), 1));
  return rc;
}

static int sweep_objective(void) {
  ot_nn_net *c = NULL;
  double loss, pen;
  int rc = ot_nn_clone(&c, sweep_net);
  if (!rc) rc = ot_nn_objective(c, mv(sweep_X, 40, 4), sweep_y, 0.1, OT_NN_REG_FROBENIUS, 1, 1,
                                &loss, &pen, NULL);
  ot_nn_free(c);
  return rc;
}

static char sweep_dir[64];

static int sweep_load(void) {
  ot_nn_net *net = NULL;
  char err[256];
  int rc = ot_nn_load(&net, sweep_dir, err, sizeof err);
  ot_nn_free(net);
  return rc;
}

static int sweep_epoch(void) {
  ot_nn_net *c = NULL;
  ot_nn_train_opts o;
  ot_rng r;
  int rc = ot_nn_clone(&c, sweep_net);
  if (rc) return rc;
  ot_nn_train_opts_init(&o);
  o.regularizer = OT_NN_REG_FROBENIUS;
  ot_rng_seed(&r, 1);
  rc = ot_nn_train_epoch(c, mv(sweep_X, 40, 4), sweep_y, &o, &r, NULL);
  ot_nn_free(c);
  return rc;
}

static void test_faults(void) {
  blobs(sweep_X, sweep_y, 40, 4, 6);
  ot_nn_layer_spec ls[] = {{6, 2, 1}, {5, 9, 0}, {3, 0, 0}};
  sweep_net = build(4, ls, 3, OT_NN_RELU, 1, OT_NN_INIT_SPECTRAL, 2);
  CHECK_FAULT_SWEEP("ot_nn_new", sweep_new());
  CHECK_FAULT_SWEEP("ot_nn_fit", sweep_fit());
  CHECK_FAULT_SWEEP("ot_nn_collapse + predict", sweep_collapse());
  CHECK_FAULT_SWEEP("ot_nn_layer_norms", sweep_norms());
  CHECK_FAULT_SWEEP("ot_nn_objective", sweep_objective());
  CHECK_FAULT_SWEEP("ot_nn_train_epoch", sweep_epoch());
  char err[256];
  strcpy(sweep_dir, "/tmp/otlab-nn-sweep-XXXXXX");
  if (mkdtemp(sweep_dir) && ot_nn_save(sweep_net, sweep_dir, err, sizeof err) == OT_OK) {
    CHECK_FAULT_SWEEP("ot_nn_load", sweep_load());
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -r '%s'", sweep_dir);
    CHECK("cleanup", system(cmd) == 0);
  } else {
    CHECK("save for the load sweep", 0);
  }
  ot_nn_free(sweep_net);
}

int main(void) {
  ot_blas_set_threads(1);
  test_gradients();
  test_spectral();
  test_norms();
  test_collapse();
  test_determinism();
  test_save_load();
  test_bad_inputs();
  test_progress();
  test_faults();
  return test_report();
}
