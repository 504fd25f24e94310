/*
 * otdd.c -- the optimal transport dataset distance (see otdd.h).
 * (Stub: the implementations are being written; every solver returns
 * OT_EUNSUPPORTED until then.)
 */
#include <string.h>

#include "alloc.h"
#include "otdd.h"

void ot_otdd_stats_opts_init(ot_otdd_stats_opts *o) {
  memset(o, 0, sizeof *o);
  o->min_class_size = 2;
  o->drop_small = 1;
  o->moments = 2;
  o->psd_tol = 1e-10;
}

void ot_otdd_label_opts_init(ot_otdd_label_opts *o) {
  memset(o, 0, sizeof *o);
  o->inner = OT_OTDD_INNER_GAUSSIAN;
  o->exact_debiased = 1;
}

void ot_otdd_outer_opts_init(ot_otdd_outer_opts *o) {
  memset(o, 0, sizeof *o);
  o->mode = OT_OTDD_OUTER_SINKHORN;
  o->debiased = 1;
  o->entreg = 0.1;
  o->lambda_x = 1.0;
  o->lambda_y = 1.0;
  o->scaling = 0.5;
  o->max_iter = 2000;
  o->tol = 1e-6;
  o->online = -1;
  o->dense_limit = (size_t)256 << 20;
}

void ot_otdd_stats_free(ot_otdd_stats *st) {
  ot_free(st->labels);
  ot_free(st->counts);
  ot_free(st->index);
  ot_free(st->dropped_labels);
  ot_free(st->dropped_counts);
  ot_free(st->means);
  ot_free(st->covs);
  ot_free(st->sqrts);
  ot_free(st->traces);
  memset(st, 0, sizeof *st);
}

int ot_otdd_stats_compute(ot_otdd_stats *st, ot_mat X, const double *y,
                          const ot_otdd_stats_opts *o) {
  (void)X; (void)y; (void)o;
  memset(st, 0, sizeof *st);
  return OT_EUNSUPPORTED;
}

int ot_otdd_stats_update(ot_otdd_stats *st, ot_mat X) {
  (void)st; (void)X;
  return OT_EUNSUPPORTED;
}

int ot_otdd_label_distances(ot_mat W, const ot_otdd_stats *A, const ot_otdd_stats *B,
                            const ot_otdd_label_opts *o) {
  (void)W; (void)A; (void)B; (void)o;
  return OT_EUNSUPPORTED;
}

int ot_otdd_outer(const ot_otdd_problem *p, const ot_otdd_outer_opts *o, ot_otdd_outputs *out,
                  ot_otdd_outer_result *res) {
  (void)p; (void)o; (void)out; (void)res;
  return OT_EUNSUPPORTED;
}

int ot_otdd_barycentric(ot_mat T, double *softmin, ot_mat X1, const int *c1, ot_mat X2,
                        const int *c2, const double *b, const double *g, ot_mat W,
                        double lambda_x, double lambda_y, double eps) {
  (void)T; (void)softmin; (void)X1; (void)c1; (void)X2; (void)c2; (void)b; (void)g; (void)W;
  (void)lambda_x; (void)lambda_y; (void)eps;
  return OT_EUNSUPPORTED;
}

int ot_otdd_distance(double *value, const ot_otdd_stats *A, const ot_otdd_stats *B,
                     const ot_otdd_label_opts *lo, const ot_otdd_outer_opts *oo,
                     ot_mat W12, ot_mat W11, ot_mat W22, ot_otdd_outputs *out,
                     ot_otdd_outer_result *res) {
  (void)value; (void)A; (void)B; (void)lo; (void)oo; (void)W12; (void)W11; (void)W22;
  (void)out; (void)res;
  return OT_EUNSUPPORTED;
}

const char *ot_otdd_inner_name(int inner) {
  static const char *const names[] = {"gaussian", "exact", "upper", "means"};
  return inner >= 0 && inner < OT_OTDD_INNER_COUNT ? names[inner] : "?";
}

const char *ot_otdd_outer_name(int mode) {
  static const char *const names[] = {"sinkhorn", "compat", "exact"};
  return mode >= 0 && mode < OT_OTDD_OUTER_COUNT ? names[mode] : "?";
}
