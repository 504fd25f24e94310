/*
 * harness.c -- the contract checks run on every fuzz input (see fuzz.h).
 *
 * Linked into the libFuzzer targets (built with clang by scripts/fuzz) and
 * into the replay test (built by meson with the rest of the C tests), so a
 * regression seed is judged by exactly the rules that found it.
 */
#define _XOPEN_SOURCE 700 /* open_memstream */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fuzz.h"
#include "io.h"
#include "ot.h"

#define ERRLEN 256
#define ROUNDTRIP_MAX ((size_t)1 << 16) /* most values written back and re-read */

const char *fuzz_target_name(int target) {
  switch (target) {
    case FUZZ_NPY: return "npy";
    case FUZZ_CSV: return "csv";
    case FUZZ_IDX: return "idx";
    default: return "?";
  }
}

void fuzz_setup(void) { ot_mem_set_limit(FUZZ_BUDGET); }

/* printf into why; returns 1 (a broken rule). */
static int broke(char *why, size_t whylen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
  return 1;
}

/* FNV-1a over the input: picks the options of the second parse. */
static uint32_t fnv1a(const uint8_t *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

/*
 * The caller-owned allocation hook: hands out blocks from the budgeted
 * allocator and records them, so that the harness frees them whatever the
 * parser returned (the caller owns them) and can check that each result
 * was asked for at most once, with the shape the result finally has.
 */
typedef struct hook {
  double *p[2];
  size_t rows[2], cols[2];
  int vec[2], calls[2];
} hook;

static double *hook_alloc(void *ud, int which, size_t rows, size_t cols, int vec) {
  hook *h = ud;
  double *p = NULL;
  if (which != OT_IO_X && which != OT_IO_Y) return NULL;
  h->calls[which]++;
  if (h->p[which] || ot_alloc_doubles(rows, cols, &p) != OT_OK) return NULL;
  h->p[which] = p;
  h->rows[which] = rows;
  h->cols[which] = cols;
  h->vec[which] = vec;
  return p;
}

/* Run the parser of a target; via_io: through ot_io_parse (gzip, sniffing). */
static int parse(int target, int via_io, const uint8_t *data, size_t size, const ot_io_opts *o,
                 ot_io_data *d, char *err) {
  if (via_io) return ot_io_parse(data, size, o, d, err, ERRLEN);
  switch (target) {
    case FUZZ_NPY: return ot_npy_parse(data, size, o, d, err, ERRLEN);
    case FUZZ_CSV: return ot_csv_parse(data, size, o, d, err, ERRLEN);
    default: return ot_idx_parse(data, size, o, d, err, ERRLEN);
  }
}

/* 1 when status is one io.h documents for the in-memory parsers. */
static int status_documented(int rc) {
  return rc == OT_OK || rc == OT_EFORMAT || rc == OT_EUNSUPPORTED || rc == OT_EOVERFLOW ||
         rc == OT_EBUDGET || rc == OT_ENOMEM || rc == OT_EINVAL;
}

/* 1 when an error message starts with a format's name. */
static int message_named(const char *err) {
  static const char *const pre[] = {"npy: ", "csv: ", "idx: ", "gzip: "};
  for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
    if (strncmp(err, pre[i], strlen(pre[i])) == 0) return 1;
  return 0;
}

/* 1 when d is as io.h promises after a failure: reset, holding no memory
 * (the corpus seed npy shape (0, 2^62, 2^62) once left shape fields set). */
static int data_is_clear(const ot_io_data *d) {
  return !d->x && !d->y && !d->names && !d->label_name && !d->classes && !d->own_x &&
         !d->own_y && d->rows == 0 && d->cols == 0 && d->total == 0 && d->ndim == 0;
}

/* Same double: equal bits, or both NaN (a NaN's payload need not survive
 * a text round trip). */
static int same_double(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return a == b && signbit(a) == signbit(b);
}

/*
 * Write d's matrix with the target's writer into memory, parse it back
 * with the same parser and compare.  Returns 0 when identical (or when the
 * matrix is empty or large), 1 with why otherwise.
 */
static int roundtrip(int target, const ot_io_data *d, int allow_nonfinite, char *why,
                     size_t whylen) {
  char *buf = NULL, err[ERRLEN];
  size_t blen = 0;
  int rc, bad = 0;
  if (d->rows == 0 || d->cols == 0 || d->rows * d->cols > ROUNDTRIP_MAX) return 0;
  FILE *f = open_memstream(&buf, &blen);
  if (!f) return 0; /* out of memory outside the budget: nothing to judge */
  ot_mat m = {d->rows, d->cols, d->cols, d->x};
  int vec = d->vec && target != FUZZ_CSV;
  ot_io_save_opts so;
  ot_io_save_opts_init(&so);
  switch (target) {
    case FUZZ_NPY: rc = ot_npy_write(f, m, vec, err, sizeof err); break;
    case FUZZ_CSV: rc = ot_csv_write(f, m, &so, err, sizeof err); break;
    default: rc = ot_idx_write(f, m, vec, OT_IO_F8, err, sizeof err); break;
  }
  if (fclose(f) != 0) rc = rc ? rc : OT_EIO;
  if (rc != OT_OK) {
    bad = broke(why, whylen, "round trip: the %s writer refused a parsed %zux%zu matrix: %s",
                fuzz_target_name(target), d->rows, d->cols, err);
    goto done;
  }
  ot_io_opts o;
  ot_io_opts_init(&o);
  o.allow_nonfinite = allow_nonfinite;
  o.header = 0;
  o.max_bytes = FUZZ_MAX_BYTES;
  ot_io_data back;
  rc = parse(target, 0, (const uint8_t *)buf, blen, &o, &back, err);
  if (rc != OT_OK) {
    bad = broke(why, whylen, "round trip: the written %zux%zu %s does not parse back: %s",
                d->rows, d->cols, fuzz_target_name(target), err);
    goto done;
  }
  if (back.rows != d->rows || back.cols != d->cols || back.vec != vec) {
    bad = broke(why, whylen, "round trip: %zux%zu (vec %d) came back as %zux%zu (vec %d)", d->rows,
                d->cols, vec, back.rows, back.cols, back.vec);
  } else {
    for (size_t k = 0; k < d->rows * d->cols && !bad; k++)
      if (!same_double(back.x[k], d->x[k]))
        bad = broke(why, whylen, "round trip: value %zu was %.17g, came back as %.17g", k,
                    d->x[k], back.x[k]);
  }
  ot_io_data_free(&back);
done:
  free(buf);
  return bad;
}

/*
 * Check one parse result against io.h's contract.  rc is the status, d the
 * result, err the message, o the options used, h the hook (NULL when the
 * default allocator was used), via_io whether ot_io_parse ran.
 */
static int check_result(int target, int rc, const ot_io_data *d, const char *err,
                        const ot_io_opts *o, const hook *h, char *why, size_t whylen) {
  const char *name = fuzz_target_name(target);
  if (!status_documented(rc))
    return broke(why, whylen, "%s: undocumented status %d (%s)", name, rc, ot_strerror(rc));
  if (!memchr(err, '\0', ERRLEN))
    return broke(why, whylen, "%s: the message is not NUL-terminated", name);
  if (h && (h->calls[OT_IO_X] > 1 || h->calls[OT_IO_Y] > 1))
    return broke(why, whylen, "%s: the allocation hook was called %d and %d times for x and y",
                 name, h->calls[OT_IO_X], h->calls[OT_IO_Y]);
  if (rc != OT_OK) {
    if (!err[0]) return broke(why, whylen, "%s: status %d with an empty message", name, rc);
    if (!message_named(err))
      return broke(why, whylen, "%s: the message does not start with the format: %s", name, err);
    if (!data_is_clear(d))
      return broke(why, whylen, "%s: status %d left a result behind", name, rc);
    return 0;
  }
  /* the shape */
  if (d->vec && d->cols != 1)
    return broke(why, whylen, "%s: a vector with %zu columns", name, d->cols);
  if (d->rows > d->total)
    return broke(why, whylen, "%s: %zu rows of %zu in the file", name, d->rows, d->total);
  if (d->rows > o->limit)
    return broke(why, whylen, "%s: %zu rows over the limit of %zu", name, d->rows, o->limit);
  if (d->rows && d->cols && !d->x)
    return broke(why, whylen, "%s: a %zux%zu result without data", name, d->rows, d->cols);
  if (d->format == OT_IO_CSV) {
    size_t fields = d->cols + (d->y ? 1 : 0);
    if (d->ndim != 2 || d->shape[1] != fields)
      return broke(why, whylen, "csv: shape %zux%zu (ndim %d) for %zu columns and %s labels",
                   d->shape[0], d->shape[1], d->ndim, d->cols, d->y ? "" : "no");
    if (d->shape[0] != d->rows && d->shape[0] != d->total)
      return broke(why, whylen, "csv: shape[0] = %zu, rows %zu, total %zu", d->shape[0], d->rows,
                   d->total);
  } else if (d->format == OT_IO_NPY || d->format == OT_IO_IDX) {
    if (d->ndim < 0 || d->ndim > OT_IO_MAXDIM || (d->format == OT_IO_IDX && d->ndim < 1))
      return broke(why, whylen, "%s: %d dimensions", name, d->ndim);
    size_t cols = 1, want_total = d->ndim ? d->shape[0] : 1;
    for (int k = 1; k < d->ndim; k++) cols *= d->shape[k];
    if (d->y) cols -= 1;
    if (d->total != want_total || (d->rows && d->cols != cols) ||
        d->rows != (d->total < o->limit ? d->total : o->limit))
      return broke(why, whylen, "%s: %zux%zu (total %zu) from a stored shape with %zu columns",
                   name, d->rows, d->cols, d->total, cols);
    if (d->vec != (d->ndim <= 1))
      return broke(why, whylen, "%s: vec = %d for %d dimensions", name, d->vec, d->ndim);
  } else {
    return broke(why, whylen, "%s: unknown result format %d", name, d->format);
  }
  /* the hook's blocks are the results, of their final shape */
  if (h) {
    if (d->own_x || d->own_y)
      return broke(why, whylen, "%s: the result is owned by the data despite the hook", name);
    if (h->calls[OT_IO_X] != 1 || d->x != h->p[OT_IO_X] || h->rows[OT_IO_X] != d->rows ||
        h->cols[OT_IO_X] != d->cols)
      return broke(why, whylen, "%s: x is not the %zux%zu block of the hook", name, d->rows,
                   d->cols);
    if (d->y && (d->y != h->p[OT_IO_Y] || h->rows[OT_IO_Y] != d->rows || h->cols[OT_IO_Y] != 1))
      return broke(why, whylen, "%s: y is not the block of the hook", name);
  }
  /* every value is read (uninitialized or out-of-bounds data shows under
   * valgrind and ASan), and non-finite ones only when allowed */
  for (size_t k = 0; k < d->rows * d->cols; k++)
    if (!isfinite(d->x[k]) && !o->allow_nonfinite)
      return broke(why, whylen, "%s: value %zu is %g without allow_nonfinite", name, k, d->x[k]);
  if (o->label_col && !d->y && d->rows)
    return broke(why, whylen, "%s: label_col %ld gave no labels", name, o->label_col);
  for (size_t i = 0; d->y && i < d->rows; i++) {
    double v = d->y[i];
    if (!isfinite(v)) return broke(why, whylen, "%s: label %zu is %g", name, i, v);
    if (d->nclasses && !(v >= 0 && v < (double)d->nclasses && v == floor(v)))
      return broke(why, whylen, "%s: label %zu is %g for %zu classes", name, i, v, d->nclasses);
  }
  /* header names: cols NUL-terminated strings, the classes likewise */
  const char *s = d->names;
  for (size_t j = 0; s && j < d->cols; j++) s += strlen(s) + 1;
  s = d->classes;
  for (size_t j = 0; s && j < d->nclasses; j++) s += strlen(s) + 1;
  return 0;
}

/* One parse with options o (and a hook when use_hook), checked; the live
 * bytes must be back where they were once the result is freed. */
static int run_once(int target, int via_io, const uint8_t *data, size_t size, ot_io_opts *o,
                    int use_hook, int rt, char *why, size_t whylen) {
  char err[ERRLEN];
  hook h;
  ot_io_data d;
  size_t base = ot_mem_used();
  memset(&h, 0, sizeof h);
  memset(err, 'U', sizeof err); /* a parser that forgets the NUL shows */
  err[0] = '\0';
  if (use_hook) {
    o->alloc = hook_alloc;
    o->alloc_ud = &h;
  }
  int rc = parse(target, via_io, data, size, o, &d, err);
  if (rc == OT_OK) err[0] = '\0';
  else if (!memchr(err, '\0', sizeof err)) err[sizeof err - 1] = '\0';
  int bad = check_result(target, rc, &d, err, o, use_hook ? &h : NULL, why, whylen);
  if (!bad && rc == OT_OK && rt) bad = roundtrip(target, &d, o->allow_nonfinite, why, whylen);
  ot_io_data_free(&d);
  ot_free(h.p[OT_IO_X]);
  ot_free(h.p[OT_IO_Y]);
  if (!bad && ot_mem_used() != base)
    bad = broke(why, whylen, "%s: %zu bytes still live after the result was freed (status %d)",
                fuzz_target_name(target), ot_mem_used() - base, rc);
  return bad;
}

int fuzz_one(int target, const uint8_t *data, size_t size, char *why, size_t whylen) {
  static const long labels[] = {1, -1, 2};
  static const char delims[] = {0, ';', '\t', ' '};
  ot_io_opts o;
  uint32_t h = fnv1a(data, size);
  fuzz_setup();
  why[0] = '\0';

  /* 1: the defaults, and the writer round trip */
  ot_io_opts_init(&o);
  o.max_bytes = FUZZ_MAX_BYTES;
  o.max_line = 1 << 16;
  if (run_once(target, target == FUZZ_IDX, data, size, &o, 0, 1, why, whylen)) return 1;

  /* 2: options picked by the input's hash */
  ot_io_opts_init(&o);
  o.max_bytes = (h & 1) ? FUZZ_MAX_BYTES : 4096;
  o.max_line = (h & 2) ? 1 << 16 : 64;
  o.allow_nonfinite = (h >> 2) & 1;
  if ((h >> 3) & 1) o.limit = (h >> 4) & 3; /* 0 to 3 rows */
  if ((h >> 6) & 1) o.label_col = labels[((h >> 7) & 3) % 3];
  if (target == FUZZ_CSV) {
    o.header = (int)((h >> 9) % 3) - 1;
    o.delimiter = delims[(h >> 11) & 3];
  }
  int fmt[] = {OT_IO_NPY, OT_IO_CSV, OT_IO_IDX};
  o.format = ((h >> 13) & 3) == 0 ? OT_IO_AUTO : fmt[target];
  return run_once(target, 1, data, size, &o, (h >> 15) & 1, 0, why, whylen);
}
