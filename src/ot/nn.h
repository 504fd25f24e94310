/*
 * nn.h -- multilayer perceptrons with factorized layers: spectral
 * initialization and Frobenius decay (specs/factorized.md; Khodak, Tenenholtz,
 * Mackey and Fusi, "Initialization and regularization of factorized neural
 * layers", ICLR 2021).
 *
 * A net is a chain of linear layers.  Layer l maps in_l -> out_l and is
 *   dense:            y = W x + b                  W is out x in
 *   factorized:       y = U (Vt x) + b             U out x r, Vt r x in
 *   factorized deep:  y = U M (Vt x) + b           M r x r, starts at I
 * W = U Vt is never formed; r may exceed min(in, out) (overcomplete).
 * Every layer but the last is followed by an optional batch normalization
 * (then the linear bias is omitted: BN's beta takes its place) and the
 * activation (ReLU or tanh).  The last layer's outputs are the logits of a
 * softmax cross-entropy loss over `classes` = out of the last layer; labels
 * are the integers 0 .. classes-1 stored as doubles.
 *
 * Parameters live in one flat array (params, with grads and the momentum
 * buffer alongside), layer after layer in the order W | U, M, Vt | b |
 * gamma, beta; the running statistics of batch normalization live in a
 * second array (buffers).  Matrices are row-major, as everywhere in otlab.
 *
 * Training minimizes, over mini-batches,
 *   mean cross-entropy + (lambda/2) sum ||theta||^2 over the non-factor
 *   parameters + the factor penalty:
 *     regularizer "weight":     (lambda/2)(||U||^2 + ||M||^2 + ||Vt||^2)
 *     regularizer "frobenius":  (lambda/2)||U M Vt||_F^2  (Frobenius decay)
 * with SGD and momentum (v <- mu v + g; theta <- theta - lr v) and a step
 * schedule (lr times gamma at each milestone epoch).
 *
 * Status codes: OT_EINVAL for bad specs or options (and labels outside
 * 0..classes-1), OT_ESHAPE for data of the wrong width, OT_ENOMEM /
 * OT_EBUDGET / OT_EOVERFLOW from the allocator, OT_ELAPACK when an SVD
 * fails, OT_ECANCELED when the progress callback stopped a run, OT_EIO /
 * OT_EFORMAT from save and load.
 */
#ifndef OT_NN_H
#define OT_NN_H

#include <stddef.h>
#include <stdint.h>

#include "mat.h"
#include "ot.h"
#include "rand.h"
#include "view.h"

enum { OT_NN_RELU = 0, OT_NN_TANH = 1 };                    /* activations */
enum { OT_NN_INIT_REGULAR = 0, OT_NN_INIT_SPECTRAL = 1 };    /* initializations */
enum { OT_NN_REG_WEIGHT = 0, OT_NN_REG_FROBENIUS = 1 };      /* factor penalties */

#define OT_NN_MAX_LAYERS 64
#define OT_NN_MAX_WIDTH ((size_t)1 << 24)

/* One linear layer of a spec. */
typedef struct ot_nn_layer_spec {
  size_t out;   /* output width, >= 1 */
  size_t rank;  /* 0: dense; r >= 1: factorized of rank r (any r, overcomplete too) */
  int deep;     /* factorized only: 1 for the three-factor U M Vt */
} ot_nn_layer_spec;

/* What to build; fill with ot_nn_spec_init() first. */
typedef struct ot_nn_spec {
  size_t in;                       /* input width, >= 1 */
  size_t nlayers;                  /* linear layers, 1 .. OT_NN_MAX_LAYERS */
  const ot_nn_layer_spec *layers;  /* nlayers entries; the last gives the classes (>= 2) */
  int act;                         /* OT_NN_RELU (default) or OT_NN_TANH */
  int batchnorm;                   /* 1: batch norm after every hidden layer; default 0 */
  int init;                        /* OT_NN_INIT_REGULAR or OT_NN_INIT_SPECTRAL (default) */
  double bn_momentum;              /* running-statistics momentum, default 0.1 */
  double bn_eps;                   /* default 1e-5 */
} ot_nn_spec;

void ot_nn_spec_init(ot_nn_spec *s);

/* A layer of a built net (read-only for callers). */
typedef struct ot_nn_layer {
  size_t in, out, rank;   /* rank 0: dense */
  int deep, bn, act;      /* act: OT_NN_RELU/TANH, or -1 for the last layer */
  /* offsets into net->params; (size_t)-1 when the layer has no such tensor */
  size_t w, u, m, vt, b, gamma, beta;
  size_t run_mean, run_var; /* offsets into net->buffers (bn only) */
} ot_nn_layer;

#define OT_NN_NONE ((size_t)-1)

typedef struct ot_nn_ws ot_nn_ws; /* batch workspace (private) */

typedef struct ot_nn_net {
  size_t in, classes, nlayers;
  ot_nn_layer layers[OT_NN_MAX_LAYERS];
  int act, batchnorm, init;
  double bn_momentum, bn_eps;
  size_t nparams, nbuffers;
  double *params, *grads, *vel;   /* nparams each */
  double *buffers;                /* nbuffers: BN running means and variances */
  long epochs, steps;             /* epochs and SGD steps trained so far */
  ot_nn_ws *ws;                   /* grown on demand, freed with the net */
} ot_nn_net;

/*
 * Build a net from spec, its weights drawn from rng: dense W ~ N(0, 2/in)
 * (Kaiming normal); factorized, init regular: U ~ N(0, 2/r), Vt ~ N(0, 2/in);
 * spectral: W ~ N(0, 2/in) drawn, then U, Vt = ot_nn_spectral_split(W, r);
 * M = I; biases 0; BN gamma 1, beta 0, running mean 0, variance 1.
 * *out is the new net (ot_nn_free it), NULL on failure.
 */
int ot_nn_new(ot_nn_net **out, const ot_nn_spec *spec, ot_rng *rng);
void ot_nn_free(ot_nn_net *net);
/* A deep copy (weights, momentum, buffers, counters). */
int ot_nn_clone(ot_nn_net **out, const ot_nn_net *net);

/*
 * Spectral split of the m x n matrix W into U (m x r) and Vt (r x n):
 * W = A diag(s) B^T (thin SVD), U = A_r diag(s_r)^(1/2), Vt = diag(s_r)^(1/2)
 * B_r^T, so U Vt is the best rank-r approximation of W and U^T U = Vt Vt^T
 * = diag(s_r).  Columns of U and rows of Vt beyond min(m, n), or beyond the
 * numerical rank (singular values below s_1 max(m, n) DBL_EPSILON), are
 * zero.  OT_EINVAL when W has a non-finite entry.
 */
int ot_nn_spectral_split(ot_mat U, ot_mat Vt, ot_mat W);

/*
 * The training objective on the batch X (n x in) with labels y (n values):
 * *loss = mean cross-entropy, *penalty = the regularization term for lambda
 * and regularizer; with grad != 0 the gradient of loss + penalty goes into
 * net->grads.  train != 0 runs batch norm on the batch's statistics (and
 * updates the running statistics), else on the running ones.
 * correct (may be NULL) receives the number of rows predicted right.
 */
int ot_nn_objective(ot_nn_net *net, ot_mat X, const double *y, double lambda, int regularizer,
                    int train, int grad, double *loss, double *penalty, size_t *correct);

/* Training options; fill with ot_nn_train_opts_init() first. */
typedef struct ot_nn_train_opts {
  double lr;              /* learning rate, default 0.05 */
  double momentum;        /* default 0.9 */
  double weight_decay;    /* lambda, default 5e-4 */
  int regularizer;        /* OT_NN_REG_WEIGHT (default) or OT_NN_REG_FROBENIUS */
  size_t batch_size;      /* default 64; the last batch of an epoch may be smaller */
  size_t epochs;          /* ot_nn_fit: default 30 */
  const double *milestones; /* ot_nn_fit: epochs (1-based, fractional allowed) after which lr *= gamma */
  size_t nmilestones;     /* default: none */
  double gamma;           /* default 0.1 */
  ot_mat test_X;          /* ot_nn_fit: optional test set (data NULL: none) */
  const double *test_y;
  ot_progress_fn progress;
  void *progress_ud;
} ot_nn_train_opts;

void ot_nn_train_opts_init(ot_nn_train_opts *o);

/*
 * What training reports.  ot_progress.state points at one of these: its
 * first member is the panel's ot_view (kind OT_VIEW_TRAIN, values loss,
 * train accuracy, test accuracy, epoch), so the panel may read it as an
 * ot_view.  epoch_end is 1 for the report made after an epoch (then the
 * per-layer norms are filled in), 0 for reports within an epoch (at most
 * every 20 ms).  The ot_progress itself carries iter = epochs completed,
 * max_iter = epochs of the run, err = the training loss so far and
 * objective = loss + penalty.
 */
typedef struct ot_nn_report {
  ot_view view;
  int epoch_end;
  long epoch;          /* epochs completed (fit: of this run) */
  double loss;         /* mean training cross-entropy of the epoch (so far) */
  double penalty;      /* regularization term at the end of the epoch */
  double train_acc;    /* running accuracy over the epoch's mini-batches, in [0, 1] */
  double test_acc;     /* accuracy on the test set (NaN without one) */
  double lr;           /* learning rate used in the epoch */
  double time;         /* seconds the epoch took */
  int diverged;        /* 1: the loss became NaN or infinite */
  size_t nlayers;
  double *fro;         /* nlayers values: ||W||_F of each layer (W = U M Vt) */
  double *nuclear;     /* nlayers values: nuclear norm of each layer */
} ot_nn_report;

/*
 * One epoch of SGD over X (n x in), labels y, mini-batches drawn by a
 * permutation from rng; lr is o->lr.  rep (may be NULL) receives loss,
 * train_acc, time and diverged.  Stops early on a non-finite loss, before
 * that batch's step (diverged = 1, OT_OK); an epoch that ends with a
 * non-finite weight also sets diverged.  OT_ECANCELED when the progress callback stopped it: the
 * weights are those after the last completed step.
 */
int ot_nn_train_epoch(ot_nn_net *net, ot_mat X, const double *y, const ot_nn_train_opts *o,
                      ot_rng *rng, ot_nn_report *rep);

/*
 * o->epochs epochs with the step schedule; after each epoch the progress
 * callback gets a report with epoch_end = 1.  history (may be NULL) is
 * epochs x 5: loss, train accuracy, test accuracy, lr, time per epoch;
 * *done the epochs completed.  A diverged epoch ends the run (OT_OK).
 */
int ot_nn_fit(ot_nn_net *net, ot_mat X, const double *y, const ot_nn_train_opts *o, ot_rng *rng,
              ot_mat history, size_t *done, int *diverged);

/* logits (n x classes) of X (n x in), batch norm in eval mode. */
int ot_nn_predict(ot_nn_net *net, ot_mat logits, ot_mat X);
/* Fraction of rows of X whose arg-max logit is y (first maximum; NaN logits count as wrong). */
int ot_nn_accuracy(ot_nn_net *net, ot_mat X, const double *y, double *acc);

/* A new net with every factorized layer multiplied out into a dense W
 * (biases, batch norm and its running statistics copied). */
int ot_nn_collapse(ot_nn_net **out, const ot_nn_net *net);

/*
 * Diagnostics of layer i (0-based): *fro2 = ||W||_F^2 by the trace formula
 * trace((U^T U) M (Vt Vt^T) M^T) without forming W; *nuclear = sum of the
 * singular values; sv (may have data NULL) receives the min(in, out, r)
 * (dense: min(in, out)) singular values, descending, from the QR factors
 * of U M and Vt^T and the SVD of R_U R_V^T.
 */
int ot_nn_layer_norms(const ot_nn_net *net, size_t i, double *fro2, double *nuclear, ot_mat sv);
/* The number of singular values ot_nn_layer_norms gives for layer i. */
size_t ot_nn_layer_nsv(const ot_nn_net *net, size_t i);
/* W of layer i (out x in) multiplied out. */
int ot_nn_layer_weight(const ot_nn_net *net, size_t i, ot_mat W);

/*
 * Save to the directory dir (created if missing): net.txt (the architecture,
 * one line per layer) and one .npy per tensor: l<i>_W, l<i>_U, l<i>_M,
 * l<i>_Vt, l<i>_b, l<i>_gamma, l<i>_beta, l<i>_running_mean,
 * l<i>_running_var (i 1-based), loadable with numpy.load.  err gets a
 * one-line reason.  ot_nn_load builds the net again.
 */
int ot_nn_save(const ot_nn_net *net, const char *dir, char *err, size_t errlen);
int ot_nn_load(ot_nn_net **out, const char *dir, char *err, size_t errlen);

#endif
