/*
 * flow.h -- particle gradient flows of datasets (specs/flows.md).
 *
 * A flow moves n particles (x_i, y_i) with uniform weights a_i = 1/n to
 * decrease an objective F built from
 *
 *   otdd   the OT dataset distance to a fixed target (m points, labels):
 *          cost c = lambda_x/2 |x - x'|^2 + lambda_y/2 W(y, y'), W the
 *          squared Bures-Wasserstein distance between the class Gaussians
 *          (unbiased covariances, recomputed from the moved features every
 *          step and held constant for the gradient); by default the
 *          debiased divergence S = OT(r,b) - OT(r,r)/2 - OT(b,b)/2
 *   ot     the same with lambda_y = 0 (features only)
 *   potential energy    sum_i a_i V(x_i): quadratic |A x - b|^2, squared
 *          hinge margin to a hyperplane per label, coordinate collapse,
 *          box penalty, and a user function over the whole matrix
 *   interaction energy  sum_{i != k} a_i a_k c_ik exp(-|x_i - x_k|^2 / (2 s^2)),
 *          c_ik = repulsion between different labels, -attraction within
 *
 * plus Langevin noise sqrt(2 beta tau) N(0, I) after each step (its
 * entropy term is not part of the recorded F).
 *
 * Label handling: OT_FLOW_FIXED keeps labels; OT_FLOW_JOINT moves the
 * augmented particles z = [x, mu_y, sqrt(diag Sigma_y)] (the label part
 * scaled by sqrt(lambda_y / lambda_x)) under the feature cost of the
 * augmented space, which is the OTDD cost with the diagonal Bures label
 * distance, and re-derives the labels after each step by k-means on the
 * label part (k = target classes, Lloyd from the target class centres,
 * each cluster named by its nearest target class).  OT_FLOW_TIED keeps
 * the class membership and moves the label part of each class as one free
 * parameter (class means and standard deviations): the members' label
 * gradients are pooled per class, so they stay equal.
 *
 * Gradients (no autograd): the OT terms by barycentric projection of the
 * plan, grad_i = a_i lambda_x (x_i - T(x_i)); the debiased divergence's
 * self term gives grad_i = a_i lambda_x (Q(x_i) - T(x_i)), Q the
 * barycentric projection of the self plan.  Row-normalised plans come from
 * the last soft-min pass (the envelope gradient).
 *
 * Outer solvers: OT_FLOW_COMPAT (GeomLoss 0.2.6's averaged epsilon-scaling
 * schedule as specs/otdd.md states it, recomputed from scratch each step),
 * OT_FLOW_CONVERGED (the same schedule, then alternating updates at the
 * final epsilon to a tolerance; later steps warm-start from the previous
 * potentials), OT_FLOW_EXACT (network simplex; unregularised, so the
 * self term vanishes).  Costs are kept dense when every block fits
 * under a size limit, otherwise recomputed in tiles of rows (O((n + m) d)
 * memory: the online solver).
 *
 * Status codes: OT_OK, OT_EINVAL (bad option or data), OT_ESHAPE,
 * OT_EBUDGET / OT_ENOMEM, OT_ECANCELED (progress callback or user
 * potential asked to stop: the state is left at the last completed step),
 * OT_ENUMERIC (the objective or the particles became NaN / Inf: the step
 * is not committed), OT_ELAPACK.
 */
#ifndef OT_FLOW_H
#define OT_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "mat.h"
#include "ot.h"

enum { OT_FLOW_FIXED = 0, OT_FLOW_JOINT, OT_FLOW_TIED };
enum { OT_FLOW_CONVERGED = 0, OT_FLOW_COMPAT, OT_FLOW_EXACT };
enum { OT_FLOW_EULER = 0, OT_FLOW_MOMENTUM, OT_FLOW_ADAM };

/*
 * A user potential: given the n x d features X and the n labels, write
 * values[i] = V(x_i) and G (n x d) = grad V(x_i).  Return 0, or non-zero
 * to stop (the flow returns OT_ECANCELED).
 */
typedef int (*ot_flow_user_fn)(void *ud, ot_mat X, const double *labels, double *values,
                               ot_mat G);

typedef struct ot_flow_opts {
  /* objective weights; 0 = term absent */
  double w_otdd, w_ot;
  int labels;                  /* OT_FLOW_FIXED (default), OT_FLOW_JOINT or OT_FLOW_TIED */
  int solver;                  /* OT_FLOW_CONVERGED (default), _COMPAT, _EXACT */
  int debiased;                /* 1 (default): Sinkhorn divergence; 0: OT_eps */
  double eps;                  /* entropic regularisation (default 0.1) */
  double scaling;              /* epsilon-scaling ratio on the blur (default 0.5) */
  double lambda_x, lambda_y;   /* cost weights (default 1, 1) */
  long max_iter;               /* converged: iterations at the final eps (default 1000) */
  double sinkhorn_tol;         /* converged: L1 marginal error tolerance (default 1e-3) */
  int online;                  /* -1 (default) automatic, 0 dense costs, 1 tiles */
  /* potential energy: V = w_quad |A x - b|^2 (A: p x d row-major or NULL = identity,
     b: p or d values or NULL = 0) */
  double w_quad;
  const double *quad_A;
  size_t quad_p;
  const double *quad_b;
  /* squared hinge max(0, gap - s_y (w.x + b))^2, s_y = +1 for labels listed in pos */
  double w_margin;
  const double *margin_w;      /* d values */
  double margin_b, margin_gap;
  const double *margin_pos;
  size_t n_margin_pos;
  /* collapse: sum over the listed coordinates (0-based) of (x_k - value)^2 */
  double w_collapse;
  const size_t *collapse_dims;
  size_t n_collapse;
  double collapse_value;
  /* box penalty: sum_k max(0, lo - x_k)^2 + max(0, x_k - hi)^2 */
  double w_box, box_lo, box_hi;
  /* user potential (values and gradients over the whole matrix) */
  double w_user;
  ot_flow_user_fn user;
  void *user_ud;
  /* interaction energy */
  double repulsion, attraction, width;  /* width: kernel sigma (default 1) */
  double noise;                         /* Langevin beta (default 0) */
  /* time stepping */
  double step;                 /* tau (default 0.1) */
  int optimizer;               /* OT_FLOW_EULER (default), _MOMENTUM, _ADAM */
  double momentum;             /* momentum coefficient (default 0.9) */
  double beta1, beta2, adam_eps; /* Adam (0.9, 0.999, 1e-8) */
  double clip;                 /* total gradient norm cap; 0 = none (default) */
  int project;                 /* 1: clamp features into [proj_lo, proj_hi] after each step */
  double proj_lo, proj_hi;
  uint64_t seed;               /* noise generator seed (default 0) */
  ot_progress_fn progress;     /* kernel "flow": iter = step, objective = F, state = ot_view */
  void *progress_ud;
  const char *title;           /* caption of the panel view (may be NULL) */
} ot_flow_opts;

void ot_flow_opts_init(ot_flow_opts *o);

/* One history record: the state after step `step` (step 0 = the start). */
enum { OT_FLOW_PART_OTDD = 0, OT_FLOW_PART_OT, OT_FLOW_PART_POTENTIAL,
       OT_FLOW_PART_INTERACTION, OT_FLOW_NPARTS };
typedef struct ot_flow_record {
  long step;
  double F;                    /* objective at the state after the step */
  double F_before;             /* objective before the step (NaN for step 0) */
  double parts[OT_FLOW_NPARTS];/* unweighted terms (NaN when absent) */
  double time;                 /* seconds the step took (evaluation included) */
  double displacement;         /* mean |x_t - x_0| over particles (features) */
  double step_displacement;    /* mean |x_t - x_{t-1}| */
  double grad_norm;            /* total gradient norm before clipping */
  long solver_iter;            /* soft-min passes (or pivots) of the last solve */
} ot_flow_record;

typedef struct ot_flow ot_flow;

/*
 * Create a flow from the source X (n x d) with labels (n, integers as
 * doubles; NULL = all 0) and the target Y (m x d, labels ylab; Y.data NULL
 * when there is none, then otdd/ot weights must be 0).  Everything is
 * copied; opts (and what its pointers point at, except user_ud) are
 * copied as well.  Evaluates F at the start (history record 0), which may
 * call the progress function.  *out = NULL on failure.
 */
int ot_flow_create(ot_flow **out, ot_mat X, const double *labels, ot_mat Y, const double *ylab,
                   const ot_flow_opts *opts);
void ot_flow_destroy(ot_flow *f);

/*
 * One step: move the particles with the gradient of the current state,
 * evaluate F (and the next gradient) at the new state, commit.  On any
 * error the state stays at the last completed step.
 */
int ot_flow_step(ot_flow *f);

/* Change the user potential's callback data (e.g. a Lua state per call). */
void ot_flow_set_user_ud(ot_flow *f, void *ud);
/* Change the progress callback data. */
void ot_flow_set_progress(ot_flow *f, ot_progress_fn fn, void *ud);

/* Accessors (borrowed; valid until the next step or destroy). */
size_t ot_flow_n(const ot_flow *f);
size_t ot_flow_d(const ot_flow *f);
long ot_flow_steps(const ot_flow *f);        /* completed steps */
ot_mat ot_flow_X(const ot_flow *f);          /* n x d features (a view) */
ot_mat ot_flow_Z(const ot_flow *f);          /* n x D particles (joint: label part scaled) */
const double *ot_flow_labels(const ot_flow *f);
const ot_flow_record *ot_flow_history(const ot_flow *f, size_t *count);
/* The fixed d x 2 panel projection (target's first two principal axes). */
ot_mat ot_flow_projection(const ot_flow *f);

/*
 * Helpers exposed for tests.
 * ot_flow_eval: F and its gradient (n x D, D = d, or 3d for joint) at the
 * current state without moving (parts may be NULL).
 */
int ot_flow_eval(ot_flow *f, double *F, double *parts, ot_mat G);
/* Replace the particles (n x D) (for finite differences); invalidates warm starts. */
int ot_flow_set_particles(ot_flow *f, ot_mat Z);
/* The current particles n x D (features or augmented, scaled as used internally). */
ot_mat ot_flow_particles(const ot_flow *f);

#endif
