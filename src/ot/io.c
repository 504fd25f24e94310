/*
 * io.c -- readers and writers for NumPy .npy, CSV and MNIST IDX files,
 * plain or gzip-compressed (see io.h for the contract).
 *
 * The parsers never trust a header: each size is checked for overflow and
 * compared with the bytes present before anything is allocated, and the
 * payload must be exactly prod(shape) * itemsize bytes.  Every message
 * names the format and says what is wrong with numbers the user can check.
 *
 * CSV numbers are converted under a "C" locale object installed with
 * uselocale() for the call, so a process running with a decimal-comma
 * LC_NUMERIC still reads and writes '.' as the decimal point.
 */
#define _XOPEN_SOURCE 700 /* realpath(), with the POSIX 2008 interfaces */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "alloc.h"
#include "io.h"
#include "ot.h"

/* ---- small helpers ------------------------------------------------------- */

/* printf into the caller's message buffer (when there is one); returns rc. */
static int fail(int rc, char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

/* "100x3", "100" or "scalar" for a shape, into buf. */
static const char *shape_text(char *buf, size_t len, const size_t *shape, int ndim) {
  size_t k = 0;
  if (ndim == 0) {
    snprintf(buf, len, "scalar");
    return buf;
  }
  buf[0] = '\0';
  for (int i = 0; i < ndim && k < len; i++) {
    int n = snprintf(buf + k, len - k, i ? "x%zu" : "%zu", shape[i]);
    if (n < 0) break;
    k += (size_t)n;
  }
  return buf;
}

/* A token for a message: quoted, at most ~40 characters, with
 * non-printable bytes as \xNN. */
static const char *token_text(char *buf, size_t len, const char *s, size_t n) {
  size_t k = 0;
  static const char hex[] = "0123456789abcdef";
  if (len < 8) {
    buf[0] = '\0';
    return buf;
  }
  buf[k++] = '\'';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (k + 8 >= len || i >= 40) {
      memcpy(buf + k, "...", 3);
      k += 3;
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      buf[k++] = (char)c;
    } else {
      buf[k++] = '\\';
      buf[k++] = 'x';
      buf[k++] = hex[c >> 4];
      buf[k++] = hex[c & 15];
    }
  }
  buf[k++] = '\'';
  buf[k] = '\0';
  return buf;
}

/* Unsigned integers from bytes in a given order (be = 1: big-endian).
 * Assembling byte by byte is independent of the host's order. */
static uint64_t load_uint(const unsigned char *p, int size, int be) {
  uint64_t v = 0;
  if (be)
    for (int i = 0; i < size; i++) v = (v << 8) | p[i];
  else
    for (int i = size - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* 1 when the n bytes at s equal the lower-case ASCII word w, ignoring case
 * (locale-free, unlike strncasecmp). */
static int ascii_ieq(const char *s, const char *w, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != w[i]) return 0;
  }
  return 1;
}

static int host_is_big_endian(void) {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 0;
}

/* IEEE half precision to double. */
static double half_to_double(unsigned h) {
  int sign = (h >> 15) & 1, e = (h >> 10) & 31;
  unsigned m = h & 1023;
  double v;
  if (e == 0)
    v = ldexp((double)m, -24); /* zero or subnormal */
  else if (e == 31)
    v = m ? NAN : INFINITY;
  else
    v = ldexp((double)(m | 1024), e - 25);
  return sign ? -v : v;
}

/* A stored element type: kind 'f', 'i', 'u' or 'b', size in bytes, order. */
typedef struct elemtype {
  char kind;
  int size;
  int be;
} elemtype;

/* One element at p converted to double. */
static double load_elem(const unsigned char *p, elemtype t) {
  uint64_t u = load_uint(p, t.size, t.be);
  switch (t.kind) {
    case 'f':
      if (t.size == 8) {
        double d;
        memcpy(&d, &u, 8);
        return d;
      } else if (t.size == 4) {
        uint32_t w = (uint32_t)u;
        float f;
        memcpy(&f, &w, 4);
        return (double)f;
      }
      return half_to_double((unsigned)u);
    case 'i': {
      int64_t s;
      if (t.size < 8 && (u >> (8 * t.size - 1)) & 1) u |= ~UINT64_C(0) << (8 * t.size);
      memcpy(&s, &u, 8);
      return (double)s;
    }
    case 'b':
      return u != 0;
    default:
      return (double)u;
  }
}

/*
 * Allocate one rows x cols result: through the caller's hook when there is
 * one (then the caller owns it, *owned = 0), else with ot_alloc_doubles
 * (*owned = 1).  Over the budget the message gives the size needed and the
 * budget's state.  OT_OK, OT_EBUDGET, OT_ENOMEM or OT_EOVERFLOW.
 */
static int result_alloc(const ot_io_opts *o, int which, size_t rows, size_t cols, int vec,
                        double **out, int *owned, const char *fmt, char *err, size_t errlen) {
  *out = NULL;
  *owned = 0;
  if (o->alloc) {
    *out = o->alloc(o->alloc_ud, which, rows, cols, vec);
    if (!*out)
      return fail(OT_ENOMEM, err, errlen, "%s: cannot allocate the %zux%zu result", fmt, rows,
                  cols);
    return OT_OK;
  }
  int rc = ot_alloc_doubles(rows, cols, out);
  if (rc == OT_EBUDGET) {
    char need[32], lim[32], used[32];
    size_t bytes = 0;
    ot_mem_size(rows, cols, sizeof(double), &bytes);
    ot_mem_format(bytes, need, sizeof need);
    ot_mem_format(ot_mem_limit(), lim, sizeof lim);
    ot_mem_format(ot_mem_used(), used, sizeof used);
    return fail(rc, err, errlen,
                "%s: the %zux%zu result needs %s, over the memory budget (%s of %s in use)", fmt,
                rows, cols, need, used, lim);
  }
  if (rc != OT_OK)
    return fail(rc, err, errlen, "%s: cannot allocate the %zux%zu result (%s)", fmt, rows, cols,
                ot_strerror(rc));
  *owned = 1;
  return OT_OK;
}

/* Scratch allocation with a message naming what it was for. */
static int scratch_alloc(size_t bytes, void *out, const char *what, char *err, size_t errlen) {
  int rc = ot_malloc(bytes, out);
  if (rc != OT_OK) {
    char need[32];
    ot_mem_format(bytes, need, sizeof need);
    return fail(rc, err, errlen, "%s: cannot allocate %s for %s (%s)", what, need, what,
                ot_strerror(rc));
  }
  return OT_OK;
}

void ot_io_opts_init(ot_io_opts *o) {
  memset(o, 0, sizeof *o);
  o->format = OT_IO_AUTO;
  o->limit = OT_IO_NOLIMIT;
  o->label_col = 0;
  o->allow_nonfinite = 0;
  o->header = -1;
  o->delimiter = 0;
  o->max_line = (size_t)1 << 20;
  o->max_bytes = OT_IO_NOLIMIT;
  o->alloc = NULL;
  o->alloc_ud = NULL;
}

void ot_io_data_init(ot_io_data *d) {
  memset(d, 0, sizeof *d);
  d->x = d->y = NULL;
  d->names = d->label_name = d->classes = NULL;
}

void ot_io_data_free(ot_io_data *d) {
  if (d->own_x) ot_free(d->x);
  if (d->own_y) ot_free(d->y);
  ot_free(d->names);
  ot_free(d->label_name);
  ot_free(d->classes);
  ot_io_data_init(d);
}

/* The options, or the defaults when o is NULL. */
static const ot_io_opts *opts_or_default(const ot_io_opts *o, ot_io_opts *def) {
  if (o) return o;
  ot_io_opts_init(def);
  return def;
}

/* The 0-based index of label column k (1-based, or negative from the end)
 * among ncols columns; OT_EINVAL with a message when out of range. */
static int label_index(long k, size_t ncols, size_t *out, const char *fmt, char *err,
                       size_t errlen) {
  if (k > 0 && (unsigned long)k <= ncols) {
    *out = (size_t)k - 1;
    return OT_OK;
  }
  if (k < 0 && (unsigned long)-(k + 1) < ncols) {
    *out = ncols - (size_t)-(k + 1) - 1;
    return OT_OK;
  }
  return fail(OT_EINVAL, err, errlen, "%s: label_col %ld is out of range for %zu columns", fmt,
              k, ncols);
}

/*
 * Convert a typed array (npy or IDX payload at src) into d->x, and d->y when
 * o->label_col is set.  shape/ndim describe the stored array; `fortran`
 * says whether it is stored column-major.  d->rows/cols/vec must be set
 * (rows already cut by the limit).  Checks finiteness of float data.
 */
static int convert_array(const unsigned char *src, elemtype t, int fortran, int ndim,
                         const size_t *shape, const ot_io_opts *o, ot_io_data *d,
                         const char *fmt, char *err, size_t errlen) {
  int rc = OT_OK;
  size_t rows = d->rows, cols = d->cols, lab = (size_t)-1, xcols = cols;
  double *row = NULL;
  size_t fstride[OT_IO_MAXDIM], idx[OT_IO_MAXDIM];
  if (o->label_col) {
    if (d->vec || ndim < 2)
      return fail(OT_EINVAL, err, errlen, "%s: label_col needs a matrix, the file holds a %d-d array",
                  fmt, ndim);
    rc = label_index(o->label_col, cols, &lab, fmt, err, errlen);
    if (rc) return rc;
    xcols = cols - 1;
  }
  rc = result_alloc(o, OT_IO_X, rows, xcols, d->vec, &d->x, &d->own_x, fmt, err, errlen);
  if (rc) goto done;
  if (lab != (size_t)-1) {
    rc = result_alloc(o, OT_IO_Y, rows, 1, 1, &d->y, &d->own_y, fmt, err, errlen);
    if (rc) goto done;
    rc = scratch_alloc(cols * sizeof(double) + 1, &row, fmt, err, errlen);
    if (rc) goto done;
    d->cols = xcols;
  }
  /* Fortran strides (in elements): dimension k advances by prod(shape[0..k-1]). */
  if (fortran && ndim > 0) {
    fstride[0] = 1;
    for (int k = 1; k < ndim; k++) fstride[k] = fstride[k - 1] * shape[k - 1];
  }
  if (cols == 0) goto done; /* rows x 0: nothing to read, however many rows */
  size_t sz = (size_t)t.size;
  int isfloat = t.kind == 'f';
  int native_f8 = isfloat && t.size == 8 && t.be == host_is_big_endian();
  for (size_t i = 0; i < rows; i++) {
    double *dst = row ? row : d->x + i * xcols;
    if (!fortran || ndim < 2) { /* C order: row i is contiguous */
      const unsigned char *p = src + i * cols * sz;
      if (native_f8) /* the common case: the bytes are already doubles */
        memcpy(dst, p, cols * sizeof(double));
      else if (t.kind == 'u' && t.size == 1) /* MNIST pixels */
        for (size_t j = 0; j < cols; j++) dst[j] = p[j];
      else
        for (size_t j = 0; j < cols; j++) dst[j] = load_elem(p + j * sz, t);
    } else {
      /* walk the trailing indices in C order, the last fastest */
      size_t off = i; /* element offset of (i, 0, ..., 0) */
      for (int k = 1; k < ndim; k++) idx[k] = 0;
      for (size_t j = 0; j < cols; j++) {
        dst[j] = load_elem(src + off * sz, t);
        for (int k = ndim - 1; k >= 1; k--) {
          if (++idx[k] < shape[k]) {
            off += fstride[k];
            break;
          }
          off -= (shape[k] - 1) * fstride[k];
          idx[k] = 0;
        }
      }
    }
    if (isfloat) {
      for (size_t j = 0; j < cols; j++) {
        if (isfinite(dst[j])) continue;
        if (j == lab) {
          rc = fail(OT_EFORMAT, err, errlen, "%s: the label at row %zu is %g (labels must be finite)",
                    fmt, i + 1, dst[j]);
          goto done;
        }
        if (!o->allow_nonfinite) {
          rc = fail(OT_EFORMAT, err, errlen,
                    "%s: the value at row %zu, column %zu is %g; non-finite values are refused "
                    "(allow_nonfinite keeps them)",
                    fmt, i + 1, j + 1, dst[j]);
          goto done;
        }
      }
    }
    if (row) {
      double *x = d->x + i * xcols;
      for (size_t j = 0, k = 0; j < cols; j++) {
        if (j == lab)
          d->y[i] = row[j];
        else
          x[k++] = row[j];
      }
    }
  }
done:
  ot_free(row);
  return rc;
}

/* ---- .npy --------------------------------------------------------------- */

/*
 * The .npy layout (NumPy's format.py, NEP 1):
 *   bytes 0-5   "\x93NUMPY"
 *   bytes 6-7   major, minor version: 1.0, 2.0 or 3.0
 *   then        header length, little-endian: 2 bytes (1.0) or 4 (2.0, 3.0)
 *   then        the header, a Python dict literal in ASCII (3.0: UTF-8),
 *               padded with spaces and ended by '\n':
 *               {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 *   then        the payload, prod(shape) * itemsize bytes, nothing after.
 * The header is parsed here by a small recursive-descent reader of exactly
 * that literal (no general Python evaluation).
 */

/* A cursor over the Python literal of an npy header. */
typedef struct pylit {
  const char *p, *end;
} pylit;

static void py_skipws(pylit *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static int py_accept(pylit *c, char ch) {
  py_skipws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/* A quoted string ('...' or "...", no escapes) into out; 0 on success. */
static int py_string(pylit *c, char *out, size_t cap) {
  py_skipws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
  char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q) {
    if (*c->p == '\\' || n + 1 >= cap) return -1;
    out[n++] = *c->p++;
  }
  if (c->p >= c->end) return -1;
  c->p++;
  out[n] = '\0';
  return 0;
}

/* A word made of letters (True, False). */
static int py_word(pylit *c, const char *w) {
  size_t n = strlen(w);
  py_skipws(c);
  if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
    c->p += n;
    return 1;
  }
  return 0;
}

/* A non-negative integer (an optional Python 2 'L' suffix allowed);
 * 0 on success, -1 malformed, -2 too large for size_t. */
static int py_size(pylit *c, size_t *out) {
  size_t v = 0;
  int nd = 0;
  py_skipws(c);
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    unsigned dgt = (unsigned)(*c->p - '0');
    if (v > (SIZE_MAX - dgt) / 10) return -2;
    v = v * 10 + dgt;
    nd++;
    c->p++;
  }
  if (!nd) return -1;
  if (c->p < c->end && *c->p == 'L') c->p++;
  *out = v;
  return 0;
}

/* Parse a descr like "<f8" into t.  OT_OK, OT_EUNSUPPORTED (valid NumPy
 * type we do not read) or OT_EFORMAT, with a message. */
static int npy_dtype(const char *descr, elemtype *t, char *err, size_t errlen) {
  const char *s = descr;
  char order = '=';
  if (*s == '<' || *s == '>' || *s == '|' || *s == '=') order = *s++;
  char kind = *s ? *s++ : '\0';
  char *end;
  long size = 0;
  if (*s >= '0' && *s <= '9') size = strtol(s, &end, 10);
  else end = (char *)s;
  const char *kname = NULL;
  switch (kind) {
    case 'c': kname = "complex"; break;
    case 'S': case 'a': kname = "byte string"; break;
    case 'U': kname = "unicode string"; break;
    case 'O': kname = "Python object"; break;
    case 'M': kname = "datetime"; break;
    case 'm': kname = "timedelta"; break;
    case 'V': kname = "void (raw or structured)"; break;
    default: break;
  }
  if (kname)
    return fail(OT_EUNSUPPORTED, err, errlen,
                "npy: dtype '%s' (%s) is not supported; otlab reads float, int, uint and bool",
                descr, kname);
  int ok = *end == '\0' &&
           ((kind == 'f' && (size == 2 || size == 4 || size == 8)) ||
            ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
            (kind == 'b' && size == 1));
  if (!ok) {
    if (kind == 'f' && *end == '\0' && (size == 12 || size == 16))
      return fail(OT_EUNSUPPORTED, err, errlen, "npy: dtype '%s' (long double) is not supported",
                  descr);
    return fail(OT_EFORMAT, err, errlen, "npy: unknown dtype '%s'", descr);
  }
  if (order == '|' && size > 1)
    return fail(OT_EFORMAT, err, errlen, "npy: dtype '%s': byte order '|' needs a 1-byte type",
                descr);
  t->kind = kind;
  t->size = (int)size;
  t->be = order == '>' || (order == '=' && host_is_big_endian());
  return OT_OK;
}

/*
 * Parse the header dictionary {'descr': ..., 'fortran_order': ...,
 * 'shape': (...), } of an npy file.  Exactly these three keys, once each.
 */
static int npy_header(const char *h, size_t hlen, char *descr, size_t dcap, int *fortran,
                      size_t *shape, int *ndim, char *err, size_t errlen) {
  pylit c = {h, h + hlen};
  int seen = 0;
  char key[32];
  if (!py_accept(&c, '{'))
    return fail(OT_EFORMAT, err, errlen, "npy: the header is not a dictionary (no '{')");
  for (;;) {
    if (py_accept(&c, '}')) break;
    if (py_string(&c, key, sizeof key))
      return fail(OT_EFORMAT, err, errlen, "npy: malformed header near offset %zu",
                  (size_t)(c.p - h));
    if (!py_accept(&c, ':'))
      return fail(OT_EFORMAT, err, errlen, "npy: malformed header: no ':' after '%s'", key);
    int bit;
    if (strcmp(key, "descr") == 0) {
      bit = 1;
      py_skipws(&c);
      if (c.p < c.end && *c.p == '[')
        return fail(OT_EUNSUPPORTED, err, errlen,
                    "npy: structured dtypes (record arrays) are not supported");
      if (py_string(&c, descr, dcap))
        return fail(OT_EFORMAT, err, errlen, "npy: malformed header: 'descr' is not a short string");
    } else if (strcmp(key, "fortran_order") == 0) {
      bit = 2;
      if (py_word(&c, "True"))
        *fortran = 1;
      else if (py_word(&c, "False"))
        *fortran = 0;
      else
        return fail(OT_EFORMAT, err, errlen,
                    "npy: malformed header: 'fortran_order' is not True or False");
    } else if (strcmp(key, "shape") == 0) {
      bit = 4;
      *ndim = 0;
      if (!py_accept(&c, '('))
        return fail(OT_EFORMAT, err, errlen, "npy: malformed header: 'shape' is not a tuple");
      while (!py_accept(&c, ')')) {
        size_t v;
        int r = py_size(&c, &v);
        if (r == -2)
          return fail(OT_EOVERFLOW, err, errlen, "npy: a dimension in 'shape' overflows size_t");
        if (r)
          return fail(OT_EFORMAT, err, errlen,
                      "npy: malformed header: 'shape' holds something other than sizes");
        if (*ndim >= OT_IO_MAXDIM)
          return fail(OT_EUNSUPPORTED, err, errlen, "npy: more than %d dimensions",
                      OT_IO_MAXDIM);
        shape[(*ndim)++] = v;
        if (!py_accept(&c, ',')) {
          if (!py_accept(&c, ')'))
            return fail(OT_EFORMAT, err, errlen, "npy: malformed header: 'shape' is not a tuple");
          break;
        }
      }
    } else {
      return fail(OT_EFORMAT, err, errlen, "npy: unexpected key '%s' in the header", key);
    }
    if (seen & bit) return fail(OT_EFORMAT, err, errlen, "npy: key '%s' appears twice", key);
    seen |= bit;
    if (!py_accept(&c, ',')) {
      if (!py_accept(&c, '}'))
        return fail(OT_EFORMAT, err, errlen, "npy: malformed header after '%s'", key);
      break;
    }
  }
  py_skipws(&c);
  while (c.p < c.end && *c.p == '\0') c.p++; /* some writers pad with NULs */
  if (c.p != c.end)
    return fail(OT_EFORMAT, err, errlen, "npy: unexpected text after the header dictionary");
  if (seen != 7)
    return fail(OT_EFORMAT, err, errlen, "npy: the header lacks '%s'",
                !(seen & 1) ? "descr" : !(seen & 2) ? "fortran_order" : "shape");
  return OT_OK;
}

/*
 * Parse a .npy file held in buf.  Versions 1.0 (2-byte header length),
 * 2.0 and 3.0 (4-byte); dtypes f2 f4 f8 i1..i8 u1..u8 b1 in either byte
 * order; C or Fortran order; 0 to 32 dimensions (see io.h for the result
 * shape).  The payload must be exactly prod(shape) * itemsize bytes.
 */
static int npy_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d,
                     char *err, size_t errlen) {
  const unsigned char *b = buf;
  ot_io_opts def;
  char descr[32], shp[128];
  int rc, fortran = 0, ndim = 0;
  size_t shape[OT_IO_MAXDIM], count = 1, bytes, pre, hlen;
  elemtype t = {0, 0, 0};
  o = opts_or_default(o, &def);
  ot_io_data_init(d);
  d->format = OT_IO_NPY;
  if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return fail(OT_EFORMAT, err, errlen, "npy: bad magic: the file does not start with \\x93NUMPY");
  d->version[0] = b[6];
  d->version[1] = b[7];
  if ((b[6] != 1 && b[6] != 2 && b[6] != 3) || b[7] != 0)
    return fail(OT_EUNSUPPORTED, err, errlen,
                "npy: unknown format version %d.%d (otlab reads 1.0, 2.0 and 3.0)", b[6], b[7]);
  if (b[6] == 1) {
    pre = 10;
    hlen = (size_t)load_uint(b + 8, 2, 0);
  } else {
    if (len < 12)
      return fail(OT_EFORMAT, err, errlen, "npy: the file ends inside the version %d.0 preamble",
                  b[6]);
    pre = 12;
    hlen = (size_t)load_uint(b + 8, 4, 0);
  }
  if (hlen > OT_IO_NPY_MAXHEADER)
    return fail(OT_EFORMAT, err, errlen, "npy: header of %zu bytes is over the %d-byte limit", hlen,
                OT_IO_NPY_MAXHEADER);
  if (hlen > len - pre)
    return fail(OT_EFORMAT, err, errlen,
                "npy: header says %zu bytes but the file has only %zu after the preamble", hlen,
                len - pre);
  rc = npy_header((const char *)b + pre, hlen, descr, sizeof descr, &fortran, shape, &ndim, err,
                  errlen);
  if (rc) return rc;
  rc = npy_dtype(descr, &t, err, errlen);
  if (rc) return rc;
  for (int k = 0; k < ndim; k++) {
    if (ot_mem_size(count, shape[k], 1, &count))
      return fail(OT_EOVERFLOW, err, errlen, "npy: shape %s: the element count overflows",
                  shape_text(shp, sizeof shp, shape, ndim));
  }
  if (ot_mem_size(count, (size_t)t.size, 1, &bytes))
    return fail(OT_EOVERFLOW, err, errlen, "npy: shape %s of %s: the byte count overflows",
                shape_text(shp, sizeof shp, shape, ndim), descr);
  size_t have = len - pre - hlen;
  if (have != bytes)
    return fail(OT_EFORMAT, err, errlen,
                "npy: header says %s %s = %zu bytes, file has %zu after the header (%s)",
                shape_text(shp, sizeof shp, shape, ndim), descr, bytes, have,
                have < bytes ? "truncated" : "trailing bytes");
  d->ndim = ndim;
  memcpy(d->shape, shape, (size_t)ndim * sizeof shape[0]);
  snprintf(d->dtype, sizeof d->dtype, "%c%c%d", t.size == 1 ? '|' : t.be ? '>' : '<', t.kind,
           t.size);
  d->fortran = fortran;
  if (ndim == 0) {
    d->total = 1;
    d->cols = 1;
    d->vec = 1;
  } else {
    d->total = shape[0];
    d->cols = 1; /* prod(shape[1:]); may overflow only when shape[0] == 0 */
    for (int k = 1; k < ndim; k++)
      if (ot_mem_size(d->cols, shape[k], 1, &d->cols)) {
        ot_io_data_free(d); /* a failed parse leaves d reset, as io.h promises */
        return fail(OT_EOVERFLOW, err, errlen, "npy: shape %s: the column count overflows",
                    shape_text(shp, sizeof shp, shape, ndim));
      }
    d->vec = ndim == 1;
  }
  d->rows = d->total < o->limit ? d->total : o->limit;
  rc = convert_array(b + pre + hlen, t, fortran, ndim, shape, o, d, "npy", err, errlen);
  if (rc) ot_io_data_free(d);
  return rc;
}

/* The public entry: on failure d is left reset (ot_io_data_init), whichever
 * check failed, so callers and fuzzers can rely on it. */
int ot_npy_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d, char *err,
                size_t errlen) {
  int rc = npy_parse(buf, len, o, d, err, errlen);
  if (rc != OT_OK) ot_io_data_free(d);
  return rc;
}

/* ---- MNIST IDX ------------------------------------------------------------ */

/*
 * The IDX layout (LeCun et al., the MNIST database page):
 *   bytes 0-1   zero
 *   byte 2      element type code (08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64)
 *   byte 3      number of dimensions
 *   then        each dimension as a big-endian 32-bit unsigned size
 *   then        the elements, big-endian, last dimension fastest.
 */

/* Element type of an IDX type code; 0 when unknown. */
static int idx_type(unsigned code, elemtype *t, const char **name) {
  switch (code) {
    case 0x08: *t = (elemtype){'u', 1, 1}; *name = "u8"; return 1;
    case 0x09: *t = (elemtype){'i', 1, 1}; *name = "i8"; return 1;
    case 0x0B: *t = (elemtype){'i', 2, 1}; *name = "i16"; return 1;
    case 0x0C: *t = (elemtype){'i', 4, 1}; *name = "i32"; return 1;
    case 0x0D: *t = (elemtype){'f', 4, 1}; *name = "f32"; return 1;
    case 0x0E: *t = (elemtype){'f', 8, 1}; *name = "f64"; return 1;
    default: return 0;
  }
}

/*
 * Parse an IDX file held in buf: two zero bytes, a type code, the number
 * of dimensions (1 to 4), each dimension as a big-endian 32-bit size, then
 * the big-endian payload of exactly prod(dims) * itemsize bytes.  A 1-d
 * file is a vector; otherwise item i is row i of an n x prod(dims[1:])
 * matrix.  With o->limit only the first `limit` items are converted (the
 * whole size is still checked).
 */
static int idx_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d,
                     char *err, size_t errlen) {
  const unsigned char *b = buf;
  ot_io_opts def;
  elemtype t = {0, 0, 0};
  const char *tname;
  char shp[128];
  size_t shape[4], count = 1, bytes, hdr;
  int rc, ndim;
  o = opts_or_default(o, &def);
  ot_io_data_init(d);
  d->format = OT_IO_IDX;
  if (len < 4)
    return fail(OT_EFORMAT, err, errlen, "idx: the file has %zu bytes, too short for the magic",
                len);
  if (b[0] != 0 || b[1] != 0)
    return fail(OT_EFORMAT, err, errlen,
                "idx: bad magic 0x%02x%02x%02x%02x (expected two zero bytes, a type code and "
                "the number of dimensions, e.g. 0x00000803)",
                b[0], b[1], b[2], b[3]);
  if (!idx_type(b[2], &t, &tname))
    return fail(OT_EFORMAT, err, errlen,
                "idx: unknown type code 0x%02X (known: 08 u8, 09 i8, 0B i16, 0C i32, 0D f32, "
                "0E f64)",
                b[2]);
  ndim = b[3];
  if (ndim < 1 || ndim > 4)
    return fail(OT_EFORMAT, err, errlen, "idx: %d dimensions in the magic (1 to 4 supported)",
                ndim);
  hdr = 4 + 4 * (size_t)ndim;
  if (len < hdr)
    return fail(OT_EFORMAT, err, errlen,
                "idx: the file has %zu bytes, too short for the %zu-byte header of %d dimensions",
                len, hdr, ndim);
  for (int k = 0; k < ndim; k++) {
    shape[k] = (size_t)load_uint(b + 4 + 4 * k, 4, 1);
    if (ot_mem_size(count, shape[k], 1, &count))
      return fail(OT_EOVERFLOW, err, errlen, "idx: dimensions %s: the element count overflows",
                  shape_text(shp, sizeof shp, shape, k + 1));
  }
  if (ot_mem_size(count, (size_t)t.size, 1, &bytes))
    return fail(OT_EOVERFLOW, err, errlen, "idx: dimensions %s of %s: the byte count overflows",
                shape_text(shp, sizeof shp, shape, ndim), tname);
  if (len - hdr != bytes)
    return fail(OT_EFORMAT, err, errlen,
                "idx: header says %s %s = %zu bytes, file has %zu after the header (%s)",
                shape_text(shp, sizeof shp, shape, ndim), tname, bytes, len - hdr,
                len - hdr < bytes ? "truncated" : "trailing bytes");
  d->ndim = ndim;
  memcpy(d->shape, shape, (size_t)ndim * sizeof shape[0]);
  snprintf(d->dtype, sizeof d->dtype, "%c%c%d", t.size == 1 ? '|' : '>', t.kind, t.size);
  d->total = shape[0];
  d->vec = ndim == 1;
  d->cols = 1;
  for (int k = 1; k < ndim; k++)
    if (ot_mem_size(d->cols, shape[k], 1, &d->cols)) {
      ot_io_data_free(d); /* a failed parse leaves d reset, as io.h promises */
      return fail(OT_EOVERFLOW, err, errlen, "idx: dimensions %s: the column count overflows",
                  shape_text(shp, sizeof shp, shape, ndim));
    }
  d->rows = d->total < o->limit ? d->total : o->limit;
  rc = convert_array(b + hdr, t, 0, ndim, shape, o, d, "idx", err, errlen);
  if (rc) ot_io_data_free(d);
  return rc;
}

/* The public entry: on failure d is left reset (ot_io_data_init), whichever
 * check failed, so callers and fuzzers can rely on it. */
int ot_idx_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d, char *err,
                size_t errlen) {
  int rc = idx_parse(buf, len, o, d, err, errlen);
  if (rc != OT_OK) ot_io_data_free(d);
  return rc;
}

/* ---- CSV ------------------------------------------------------------------ */

/*
 * What is read as CSV (RFC 4180 with the usual liberties):
 *   file    := [UTF-8 BOM] line*          lines end in '\n' or "\r\n"
 *   line    := blank | field (DELIM field)*
 *   field   := blanks (number | '"' text '"' | text) blanks
 * where blank lines (spaces, tabs, CR only) are skipped, a doubled quote
 * inside quotes is a quote, and quoted fields cannot span lines.  With
 * DELIM ' ' fields are separated by runs of spaces and tabs.
 * A number is [+-] digits [. digits] [(e|E) [+-] digits], or nan, inf,
 * infinity in any case (refused unless allowed).  The grammar is checked
 * here, then strtod converts under the "C" locale, so hex floats, leading
 * junk or a locale's decimal comma never slip through strtod.
 */

/* One field of a CSV row: its text (inside the quotes when quoted, where a
 * doubled quote stands for one). */
typedef struct csv_field {
  const char *s;
  size_t len;
  int quoted;
} csv_field;

/* A cursor over CSV lines. */
typedef struct csv_rd {
  const char *p, *end;
  size_t line;     /* number of the line at p, 1-based */
  size_t row_line; /* number of the line of the row last returned */
  char delim;      /* ' ' splits on runs of blanks */
  size_t max_line;
} csv_rd;

static int is_blank(char c, char delim) { return c == ' ' || (c == '\t' && delim != '\t'); }

/*
 * Split the next non-blank line into fields: up to cap are stored in f,
 * all are counted in *nf.  *got is 0 at the end of the data.  Lines end at
 * '\n' with an optional '\r' before it; quoted fields cannot span lines.
 */
static int csv_next(csv_rd *r, csv_field *f, size_t cap, size_t *nf, int *got, char *err,
                    size_t errlen) {
  *got = 0;
  *nf = 0;
  while (r->p < r->end) {
    const char *ls = r->p, *nl = memchr(ls, '\n', (size_t)(r->end - ls));
    const char *le = nl ? nl : r->end;
    size_t lineno = r->line++;
    r->p = nl ? nl + 1 : r->end;
    if (le > ls && le[-1] == '\r') le--;
    if ((size_t)(le - ls) > r->max_line)
      return fail(OT_EFORMAT, err, errlen, "csv: line %zu is %zu bytes long, over the limit of %zu",
                  lineno, (size_t)(le - ls), r->max_line);
    const char *s = ls;
    while (s < le && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
    if (s == le) continue; /* blank line */
    r->row_line = lineno;
    size_t n = 0;
    s = ls;
    for (;;) {
      csv_field fld;
      while (s < le && is_blank(*s, r->delim)) s++;
      if (r->delim == ' ' && s == le) break;
      if (s < le && *s == '"') {
        const char *q = ++s;
        for (;;) {
          while (q < le && *q != '"') q++;
          if (q >= le)
            return fail(OT_EFORMAT, err, errlen,
                        "csv: line %zu, column %zu: unterminated quote (quoted fields cannot "
                        "span lines)",
                        lineno, n + 1);
          if (q + 1 < le && q[1] == '"') {
            q += 2;
            continue;
          }
          break;
        }
        fld = (csv_field){s, (size_t)(q - s), 1};
        s = q + 1;
        if (r->delim != ' ')
          while (s < le && is_blank(*s, r->delim)) s++;
        if (s < le && (r->delim == ' ' ? !is_blank(*s, ' ') : *s != r->delim))
          return fail(OT_EFORMAT, err, errlen,
                      "csv: line %zu, column %zu: text after a closing quote", lineno, n + 1);
      } else {
        const char *fs = s;
        if (r->delim == ' ')
          while (s < le && *s != ' ' && *s != '\t') s++;
        else
          while (s < le && *s != r->delim) s++;
        const char *fe = s;
        while (fe > fs && is_blank(fe[-1], r->delim)) fe--;
        fld = (csv_field){fs, (size_t)(fe - fs), 0};
      }
      if (n < cap) f[n] = fld;
      n++;
      if (r->delim == ' ') continue;
      if (s < le && *s == r->delim) {
        s++;
        continue;
      }
      break;
    }
    *nf = n;
    *got = 1;
    return OT_OK;
  }
  return OT_OK;
}

/* Classify a token: 0 a finite-looking number, 1 nan/inf, -1 not a number.
 * Accepts [+-] digits [. digits] [e [+-] digits] (digits on at least one
 * side of the point) and nan, inf, infinity in any case. */
static int num_syntax(const char *s, size_t n) {
  size_t i = 0, nd = 0;
  if (i < n && (s[i] == '+' || s[i] == '-')) i++;
  size_t w = n - i;
  if ((w == 3 && (ascii_ieq(s + i, "nan", 3) || ascii_ieq(s + i, "inf", 3))) ||
      (w == 8 && ascii_ieq(s + i, "infinity", 8)))
    return 1;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++, nd++;
  if (i < n && s[i] == '.') {
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, nd++;
  }
  if (!nd) return -1;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t ne = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, ne++;
    if (!ne) return -1;
  }
  return i == n ? 0 : -1;
}

/* 1 when the token is a number written with a decimal comma ("1,5"). */
static int decimal_comma(const char *s, size_t n) {
  char alt[64];
  if (n == 0 || n >= sizeof alt || !memchr(s, ',', n)) return 0;
  memcpy(alt, s, n);
  for (size_t i = 0; i < n; i++)
    if (alt[i] == ',') alt[i] = '.';
  return num_syntax(alt, n) == 0;
}

/* The state of one CSV parse. */
typedef struct csv_ctx {
  const ot_io_opts *o;
  char delim;
  char *tok;   /* NUL-terminated copy of a token for strtod (ot_malloc) */
  size_t tcap;
  char *err;
  size_t errlen;
} csv_ctx;

/* The reason a token is not a number, with a hint for the usual mistakes:
 * a decimal comma, or the wrong delimiter. */
static int csv_not_number(csv_ctx *c, const csv_field *f, size_t line, size_t col, int label) {
  char tb[96];
  const char *what = label ? "label" : "value";
  if (f->len == 0)
    return fail(OT_EFORMAT, c->err, c->errlen, "csv: line %zu, column %zu: empty field", line, col);
  token_text(tb, sizeof tb, f->s, f->len);
  if (c->delim != ',' && decimal_comma(f->s, f->len))
    return fail(OT_EFORMAT, c->err, c->errlen,
                "csv: line %zu, column %zu: %s is not a number (a decimal comma? otlab reads "
                "only '.' as the decimal point)",
                line, col, tb);
  static const char seps[] = ";\t,|";
  for (const char *p = seps; *p; p++)
    if (*p != c->delim && memchr(f->s, *p, f->len))
      return fail(OT_EFORMAT, c->err, c->errlen,
                  "csv: line %zu, column %zu: %s is not a number (is the delimiter '%s'? set the "
                  "delimiter option; it is '%c' now)",
                  line, col, tb, *p == '\t' ? "\\t" : (char[]){*p, 0}, c->delim);
  return fail(OT_EFORMAT, c->err, c->errlen, "csv: line %zu, column %zu: %s %s is not a number%s",
              line, col, what, tb,
              label ? "" : " (a text column? label_col reads one as class labels)");
}

/*
 * Convert one field to a double in the C locale.  NaN/Inf only when allowed
 * (never for labels); overflow beyond +-DBL_MAX is an error, underflow gives
 * the nearest double (0 or subnormal).
 */
static int csv_number(csv_ctx *c, const csv_field *f, size_t line, size_t col, int label,
                      double *out) {
  int k = num_syntax(f->s, f->len);
  char tb[96];
  if (k < 0) return csv_not_number(c, f, line, col, label);
  if (k == 1 && (label || !c->o->allow_nonfinite))
    return fail(OT_EFORMAT, c->err, c->errlen,
                label ? "csv: line %zu, column %zu: label %s is not finite"
                      : "csv: line %zu, column %zu: %s is not finite; non-finite values are "
                        "refused (allow_nonfinite keeps them)",
                line, col, token_text(tb, sizeof tb, f->s, f->len));
  if (f->len + 1 > c->tcap) {
    size_t cap = f->len + 64;
    char *t;
    int rc = scratch_alloc(cap, &t, "csv", c->err, c->errlen);
    if (rc) return rc;
    ot_free(c->tok);
    c->tok = t;
    c->tcap = cap;
  }
  memcpy(c->tok, f->s, f->len);
  c->tok[f->len] = '\0';
  errno = 0;
  char *end;
  double v = strtod(c->tok, &end);
  if ((size_t)(end - c->tok) != f->len) /* cannot happen after num_syntax; kept as a guard */
    return fail(OT_EFORMAT, c->err, c->errlen, "csv: line %zu, column %zu: %s is not a number",
                line, col, token_text(tb, sizeof tb, f->s, f->len));
  if (errno == ERANGE && isinf(v))
    return fail(OT_EFORMAT, c->err, c->errlen,
                "csv: line %zu, column %zu: %s is out of the range of a double (ERANGE)", line, col,
                token_text(tb, sizeof tb, f->s, f->len));
  *out = v;
  return OT_OK;
}

/* Copy a field's text, undoing doubled quotes and replacing NULs; returns
 * the bytes written (at most f->len), no terminator. */
static size_t field_copy(char *dst, const csv_field *f) {
  size_t k = 0;
  for (size_t i = 0; i < f->len; i++) {
    char ch = f->s[i];
    if (f->quoted && ch == '"' && i + 1 < f->len && f->s[i + 1] == '"') i++;
    dst[k++] = ch ? ch : '?';
  }
  return k;
}

/* The names of fields f[0..n) except index skip, NUL-terminated, back to
 * back, into *out (ot_malloc). */
static int names_build(const csv_field *f, size_t n, size_t skip, char **out, char *err,
                       size_t errlen) {
  size_t total = 1, k = 0;
  for (size_t j = 0; j < n; j++)
    if (j != skip) total += f[j].len + 1;
  int rc = scratch_alloc(total, out, "csv header names", err, errlen);
  if (rc) return rc;
  for (size_t j = 0; j < n; j++) {
    if (j == skip) continue;
    k += field_copy(*out + k, &f[j]);
    (*out)[k++] = '\0';
  }
  (*out)[k] = '\0';
  return OT_OK;
}

/* Text labels: a hash set of the distinct label tokens. */
typedef struct cls_tab {
  csv_field *ent;  /* distinct labels; after cls_sort, in byte order */
  size_t n, ecap;
  size_t *slot;    /* open addressing: 0 empty, else index + 1 into ent */
  size_t scap;     /* power of two */
} cls_tab;

static size_t cls_hash(const char *s, size_t n) {
  uint64_t h = UINT64_C(1469598103934665603); /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
  return (size_t)h;
}

/* The slot of text s (empty or holding it). */
static size_t cls_slot(const cls_tab *t, const char *s, size_t n) {
  size_t i = cls_hash(s, n) & (t->scap - 1);
  while (t->slot[i]) {
    const csv_field *e = &t->ent[t->slot[i] - 1];
    if (e->len == n && memcmp(e->s, s, n) == 0) break;
    i = (i + 1) & (t->scap - 1);
  }
  return i;
}

/* Rebuild the slots with capacity cap (a power of two > 2n). */
static int cls_rehash(cls_tab *t, size_t cap, char *err, size_t errlen) {
  size_t bytes, *slot;
  int rc = ot_mem_size(cap, sizeof(size_t), 1, &bytes);
  if (rc == OT_OK) rc = ot_calloc(bytes, &slot);
  if (rc) return fail(rc, err, errlen, "csv: cannot allocate the label table (%s)", ot_strerror(rc));
  ot_free(t->slot);
  t->slot = slot;
  t->scap = cap;
  for (size_t k = 0; k < t->n; k++) t->slot[cls_slot(t, t->ent[k].s, t->ent[k].len)] = k + 1;
  return OT_OK;
}

/* Add a label text unless present. */
static int cls_add(cls_tab *t, const csv_field *f, char *err, size_t errlen) {
  int rc;
  if (!t->slot || 2 * (t->n + 1) > t->scap) {
    rc = cls_rehash(t, t->scap ? 2 * t->scap : 64, err, errlen);
    if (rc) return rc;
  }
  size_t i = cls_slot(t, f->s, f->len);
  if (t->slot[i]) return OT_OK;
  if (t->n == t->ecap) {
    size_t cap = t->ecap ? 2 * t->ecap : 32, bytes;
    csv_field *e;
    rc = ot_mem_size(cap, sizeof *e, 1, &bytes);
    if (rc == OT_OK) rc = ot_malloc(bytes, &e);
    if (rc) return fail(rc, err, errlen, "csv: cannot allocate the label table (%s)", ot_strerror(rc));
    if (t->n) memcpy(e, t->ent, t->n * sizeof *e);
    ot_free(t->ent);
    t->ent = e;
    t->ecap = cap;
  }
  t->ent[t->n] = *f;
  t->slot[i] = ++t->n;
  return OT_OK;
}

static int cls_cmp(const void *a, const void *b) {
  const csv_field *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = n ? memcmp(x->s, y->s, n) : 0;
  if (c) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Sort the classes into byte order (class k is ent[k]) and rebuild the
 * slots for lookups. */
static int cls_sort(cls_tab *t, char *err, size_t errlen) {
  if (t->n > 1) qsort(t->ent, t->n, sizeof *t->ent, cls_cmp);
  return cls_rehash(t, t->scap, err, errlen);
}

static void cls_free(cls_tab *t) {
  ot_free(t->ent);
  ot_free(t->slot);
  memset(t, 0, sizeof *t);
}

/*
 * Parse CSV text held in buf (see io.h for the options).  Two passes over
 * the text: the first checks the structure (every row has as many fields
 * as the first) and counts the rows, so the result is allocated once at
 * its exact size; the second converts the numbers.  A text label column
 * (a label that is not a number) is mapped to classes 0..k-1 in byte order
 * of the names, which are returned in d->classes.
 */
static int csv_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d,
                     char *err, size_t errlen) {
  const char *s = buf, *end = s + len;
  const unsigned char *u = buf;
  ot_io_opts def;
  csv_field *f = NULL;
  cls_tab cls = {0};
  size_t ncols, nf, lab = (size_t)-1, rows = 0, first_line, i;
  int got, rc = OT_OK, header, textlab = 0;
  o = opts_or_default(o, &def);
  ot_io_data_init(d);
  d->format = OT_IO_CSV;
  d->ndim = 2;
  char delim = o->delimiter ? o->delimiter : ',';
  d->delimiter = delim;
  if (delim == '"' || delim == '\n' || delim == '\r' || delim == '\0' || delim == '.' ||
      delim == '+' || delim == '-' || (delim >= '0' && delim <= '9') ||
      (delim >= 'a' && delim <= 'z') || (delim >= 'A' && delim <= 'Z'))
    return fail(OT_EINVAL, err, errlen, "csv: '%c' cannot be a delimiter", delim ? delim : '0');
  if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF)))
    return fail(OT_EFORMAT, err, errlen,
                "csv: the file is UTF-16 (byte-order mark %02X %02X); save it as UTF-8", u[0], u[1]);
  if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) s += 3; /* UTF-8 BOM */
  locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (!cloc) return fail(OT_ENOMEM, err, errlen, "csv: cannot create the C locale");
  locale_t oldloc = uselocale(cloc);
  csv_ctx c = {o, delim, NULL, 0, err, errlen};
  const csv_rd start = {s, end, 1, 0, delim, o->max_line};
  csv_rd rd = start;

  /* the first row fixes the number of fields */
  rc = csv_next(&rd, NULL, 0, &ncols, &got, err, errlen);
  if (rc) goto done;
  if (!got) {
    rc = fail(OT_EFORMAT, err, errlen, "csv: no data: the file is empty or blank");
    goto done;
  }
  first_line = rd.row_line;
  rc = scratch_alloc(ncols * sizeof *f, &f, "csv", err, errlen);
  if (rc) goto done;
  if (o->label_col) {
    rc = label_index(o->label_col, ncols, &lab, "csv", err, errlen);
    if (rc) goto done;
  }
  rd = start;
  csv_next(&rd, f, ncols, &nf, &got, err, errlen);
  header = o->header;
  if (header < 0) { /* auto: no token outside the label column reads as a number */
    size_t text = 0, other = 0;
    for (size_t j = 0; j < ncols; j++)
      if (j != lab) {
        other++;
        text += num_syntax(f[j].s, f[j].len) < 0 && !decimal_comma(f[j].s, f[j].len);
      }
    header = other > 0 && text == other;
  }
  if (header) {
    d->header = 1;
    rc = names_build(f, ncols, lab, &d->names, err, errlen);
    if (rc) goto done;
    if (lab != (size_t)-1) {
      rc = names_build(f + lab, 1, (size_t)-1, &d->label_name, err, errlen);
      if (rc) goto done;
    }
  } else {
    rd = start;
  }
  const csv_rd data = rd;

  /* pass 1: structure, row count, whether labels are text */
  while (rows < o->limit) {
    rc = csv_next(&rd, f, ncols, &nf, &got, err, errlen);
    if (rc) goto done;
    if (!got) break;
    if (nf != ncols) {
      rc = fail(OT_EFORMAT, err, errlen, "csv: line %zu has %zu fields, expected %zu like line %zu",
                rd.row_line, nf, ncols, first_line);
      goto done;
    }
    if (lab != (size_t)-1 && !textlab && num_syntax(f[lab].s, f[lab].len) < 0 && f[lab].len)
      textlab = 1;
    rows++;
  }
  if (textlab) { /* collect the classes */
    rd = data;
    for (i = 0; i < rows; i++) {
      csv_next(&rd, f, ncols, &nf, &got, err, errlen);
      if (f[lab].len == 0) {
        rc = fail(OT_EFORMAT, err, errlen, "csv: line %zu, column %zu: empty label", rd.row_line,
                  lab + 1);
        goto done;
      }
      rc = cls_add(&cls, &f[lab], err, errlen);
      if (rc) goto done;
    }
    rc = cls_sort(&cls, err, errlen);
    if (rc) goto done;
    rc = names_build(cls.ent, cls.n, (size_t)-1, &d->classes, err, errlen);
    if (rc) goto done;
    d->nclasses = cls.n;
  }
  d->rows = d->total = d->shape[0] = rows;
  d->shape[1] = ncols;
  d->cols = lab == (size_t)-1 ? ncols : ncols - 1;
  rc = result_alloc(o, OT_IO_X, rows, d->cols, 0, &d->x, &d->own_x, "csv", err, errlen);
  if (rc) goto done;
  if (lab != (size_t)-1) {
    rc = result_alloc(o, OT_IO_Y, rows, 1, 1, &d->y, &d->own_y, "csv", err, errlen);
    if (rc) goto done;
  }

  /* pass 2: the numbers */
  rd = data;
  for (i = 0; i < rows; i++) {
    double *x = d->x + i * d->cols;
    csv_next(&rd, f, ncols, &nf, &got, err, errlen);
    for (size_t j = 0; j < ncols; j++) {
      if (j == lab) {
        if (textlab) {
          size_t sl = cls_slot(&cls, f[j].s, f[j].len);
          d->y[i] = (double)(cls.slot[sl] - 1);
        } else {
          rc = csv_number(&c, &f[j], rd.row_line, j + 1, 1, &d->y[i]);
        }
      } else {
        rc = csv_number(&c, &f[j], rd.row_line, j + 1, 0, x++);
      }
      if (rc) goto done;
    }
  }
done:
  uselocale(oldloc);
  freelocale(cloc);
  ot_free(c.tok);
  ot_free(f);
  cls_free(&cls);
  if (rc) ot_io_data_free(d);
  return rc;
}

/* The public entry: on failure d is left reset (ot_io_data_init), whichever
 * check failed, so callers and fuzzers can rely on it. */
int ot_csv_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d, char *err,
                size_t errlen) {
  int rc = csv_parse(buf, len, o, d, err, errlen);
  if (rc != OT_OK) ot_io_data_free(d);
  return rc;
}

/* ---- gzip ----------------------------------------------------------------- */

/*
 * gzip (RFC 1952) is inflated in memory with zlib.  The output size is
 * never trusted from the trailer: it only seeds the first allocation,
 * bounded by deflate's best ratio (about 1032:1) so that a lying trailer
 * cannot make the reader reserve gigabytes; the buffer then doubles as the
 * data really inflates, always through the budgeted allocator.
 */

/* zlib's own blocks go through the budgeted allocator too. */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size) {
  size_t bytes;
  void *p;
  (void)opaque;
  if (ot_mem_size(items, size, 1, &bytes) || ot_malloc(bytes, &p)) return Z_NULL;
  return p;
}

static void z_free(voidpf opaque, voidpf p) {
  (void)opaque;
  ot_free(p);
}

int ot_io_is_gzip(const void *buf, size_t len) {
  const unsigned char *b = buf;
  return len >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

/*
 * Inflate with an output buffer that starts at the size the trailer
 * announces (bounded by deflate's maximum ratio, so a lying trailer cannot
 * make us allocate much) and doubles as needed, up to max_out.  The end of
 * every member must be reached: input that stops before it is "truncated".
 * Concatenated members are joined, as gzip does; other trailing bytes are
 * an error.
 */
int ot_io_gunzip(const void *buf, size_t len, size_t max_out, void **out, size_t *outlen,
                 char *err, size_t errlen) {
  const unsigned char *in = buf;
  unsigned char *o = NULL, probe;
  size_t cap, used = 0, inpos = 0;
  z_stream z;
  int rc = OT_OK, zr;
  *out = NULL;
  *outlen = 0;
  if (!ot_io_is_gzip(buf, len))
    return fail(OT_EFORMAT, err, errlen, "gzip: not gzip data (no 1f 8b magic)");
  memset(&z, 0, sizeof z);
  z.zalloc = z_alloc;
  z.zfree = z_free;
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    return fail(OT_ENOMEM, err, errlen, "gzip: cannot start the decompressor (out of memory)");
  cap = len >= 18 ? (size_t)load_uint(in + len - 4, 4, 0) : 0; /* ISIZE, mod 2^32 */
  size_t plausible = len > (SIZE_MAX - 4096) / 1100 ? SIZE_MAX : len * 1100 + 4096;
  if (cap > plausible) cap = plausible;
  if (cap < 4096) cap = 4096;
  if (cap > max_out) cap = max_out;
  if (cap < 1) cap = 1;
  rc = ot_malloc(cap, &o);
  if (rc) {
    char need[32];
    ot_mem_format(cap, need, sizeof need);
    rc = fail(rc, err, errlen, "gzip: cannot allocate %s for the inflated data (%s)", need,
              ot_strerror(rc));
    goto done;
  }
  for (;;) {
    if (z.avail_in == 0 && inpos < len) {
      size_t chunk = len - inpos < UINT_MAX ? len - inpos : UINT_MAX;
      z.next_in = (Bytef *)(in + inpos);
      z.avail_in = (uInt)chunk;
      inpos += chunk;
    }
    int probing = 0;
    if (used == cap && cap < max_out) { /* grow */
      size_t ncap = cap > max_out / 2 ? max_out : 2 * cap;
      unsigned char *n;
      rc = ot_malloc(ncap, &n);
      if (rc) {
        char need[32];
        ot_mem_format(ncap, need, sizeof need);
        rc = fail(rc, err, errlen, "gzip: cannot allocate %s for the inflated data (%s)", need,
                  ot_strerror(rc));
        goto done;
      }
      memcpy(n, o, used);
      ot_free(o);
      o = n;
      cap = ncap;
    }
    size_t room = cap - used < UINT_MAX ? cap - used : UINT_MAX;
    if (room == 0) { /* at max_out: any further byte is over the limit */
      probing = 1;
      z.next_out = &probe;
      z.avail_out = 1;
    } else {
      z.next_out = o + used;
      z.avail_out = (uInt)room;
    }
    zr = inflate(&z, Z_NO_FLUSH);
    if (probing && z.avail_out == 0) {
      rc = fail(OT_EFORMAT, err, errlen, "gzip: the inflated data exceeds the limit of %zu bytes",
                max_out);
      goto done;
    }
    if (!probing) used += room - z.avail_out;
    if (zr == Z_STREAM_END) {
      size_t rest = z.avail_in + (len - inpos), pos = len - rest;
      if (rest == 0) break;
      if (!ot_io_is_gzip(in + pos, rest)) {
        rc = fail(OT_EFORMAT, err, errlen,
                  "gzip: %zu bytes of trailing garbage after the compressed data", rest);
        goto done;
      }
      inflateReset(&z); /* the next member */
    } else if (zr == Z_BUF_ERROR) { /* no progress: needs input or output space */
      if (z.avail_in == 0 && inpos == len && z.avail_out > 0) {
        rc = fail(OT_EFORMAT, err, errlen,
                  "gzip: truncated: the compressed data ends before its end marker (%zu bytes "
                  "inflated from %zu)",
                  used, len);
        goto done;
      }
    } else if (zr == Z_OK) {
      continue;
    } else if (zr == Z_MEM_ERROR) {
      rc = fail(OT_ENOMEM, err, errlen, "gzip: out of memory while inflating");
      goto done;
    } else {
      rc = fail(OT_EFORMAT, err, errlen, "gzip: corrupt data (%s)", z.msg ? z.msg : "bad stream");
      goto done;
    }
  }
  *out = o;
  *outlen = used;
  o = NULL;
done:
  inflateEnd(&z);
  ot_free(o);
  return rc;
}

/* ---- front-ends ----------------------------------------------------------- */

/*
 * File access stays out of the parsers: a file is read whole into one
 * budgeted buffer, inflated when it starts with the gzip magic (whatever
 * its name says), then parsed from memory.  Peak memory for a .gz file is
 * the compressed bytes plus the inflated bytes, then the inflated bytes
 * plus the result.
 */

const char *ot_io_format_name(int format) {
  switch (format) {
    case OT_IO_NPY: return "npy";
    case OT_IO_CSV: return "csv";
    case OT_IO_IDX: return "idx";
    default: return "auto";
  }
}

/* 1 when the n bytes before e end with the ASCII suffix sfx, any case. */
static int has_suffix(const char *s, size_t n, const char *sfx) {
  size_t k = strlen(sfx);
  return n >= k && ascii_ieq(s + n - k, sfx, k);
}

int ot_io_format_from_name(const char *path, int *gz) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  int z = 0;
  if (has_suffix(base, n, ".gz")) {
    z = 1;
    n -= 3;
  }
  if (gz) *gz = z;
  if (has_suffix(base, n, ".npy")) return OT_IO_NPY;
  if (has_suffix(base, n, ".csv") || has_suffix(base, n, ".tsv")) return OT_IO_CSV;
  /* no ".txt": its delimiter could be anything; the content decides */
  /* MNIST names: train-images-idx3-ubyte, t10k-labels.idx1-ubyte, x.idx, x.idx3 */
  if (has_suffix(base, n, "ubyte") || has_suffix(base, n, ".idx")) return OT_IO_IDX;
  if (n >= 5 && has_suffix(base, n - 1, ".idx") && base[n - 1] >= '1' && base[n - 1] <= '4')
    return OT_IO_IDX;
  return OT_IO_AUTO;
}

/* The format a buffer's content shows: the npy magic, a plausible IDX
 * magic, else CSV. */
static int sniff_format(const unsigned char *b, size_t len) {
  elemtype t = {0, 0, 0};
  const char *name;
  if (len >= 6 && memcmp(b, "\x93NUMPY", 6) == 0) return OT_IO_NPY;
  if (len >= 4 && b[0] == 0 && b[1] == 0 && idx_type(b[2], &t, &name) && b[3] >= 1 && b[3] <= 4)
    return OT_IO_IDX;
  return OT_IO_CSV;
}

int ot_io_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d, char *err,
                size_t errlen) {
  ot_io_opts def;
  void *plain = NULL;
  size_t plen = 0;
  int rc, gz = ot_io_is_gzip(buf, len);
  o = opts_or_default(o, &def);
  ot_io_data_init(d);
  if (gz) {
    rc = ot_io_gunzip(buf, len, o->max_bytes, &plain, &plen, err, errlen);
    if (rc) return rc;
    buf = plain;
    len = plen;
  }
  int fmt = o->format ? o->format : sniff_format(buf, len);
  switch (fmt) {
    case OT_IO_NPY: rc = ot_npy_parse(buf, len, o, d, err, errlen); break;
    case OT_IO_CSV: rc = ot_csv_parse(buf, len, o, d, err, errlen); break;
    case OT_IO_IDX: rc = ot_idx_parse(buf, len, o, d, err, errlen); break;
    default: rc = fail(OT_EINVAL, err, errlen, "unknown format code %d", fmt); break;
  }
  if (rc == OT_OK) d->gzip = gz;
  ot_free(plain);
  return rc;
}

/*
 * Read a whole file with open/read (a regular file in one allocation of
 * its size; a pipe or device in growing chunks).
 */
int ot_io_read_file(const char *path, size_t max_bytes, void **buf, size_t *len, char *err,
                    size_t errlen) {
  struct stat st;
  unsigned char *b = NULL;
  size_t cap, n = 0;
  int rc = OT_OK, fd;
  *buf = NULL;
  *len = 0;
  do
    fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
  if (fstat(fd, &st) != 0) {
    rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
    goto done;
  }
  if (S_ISDIR(st.st_mode)) {
    rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(EISDIR));
    goto done;
  }
  int regular = S_ISREG(st.st_mode);
  if (regular && (uintmax_t)st.st_size > max_bytes) {
    rc = fail(OT_EFORMAT, err, errlen, "the file has %jd bytes, over the limit of %zu",
              (intmax_t)st.st_size, max_bytes);
    goto done;
  }
  cap = regular ? (size_t)st.st_size : 65536;
  if (cap > max_bytes) cap = max_bytes;
  for (;;) {
    if (!b || (n == cap && !regular)) { /* the first block, or grow for a pipe */
      size_t ncap = !b ? cap : cap > max_bytes / 2 ? max_bytes : 2 * cap;
      unsigned char *nb;
      if (b && ncap == cap) {
        rc = fail(OT_EFORMAT, err, errlen, "the file has more than the limit of %zu bytes",
                  max_bytes);
        goto done;
      }
      rc = ot_malloc(ncap ? ncap : 1, &nb);
      if (rc) {
        char need[32], lim[32], used[32];
        ot_mem_format(ncap, need, sizeof need);
        ot_mem_format(ot_mem_limit(), lim, sizeof lim);
        ot_mem_format(ot_mem_used(), used, sizeof used);
        rc = fail(rc, err, errlen,
                  "reading the file needs %s, over the memory budget (%s of %s in use)", need,
                  used, lim);
        goto done;
      }
      if (n) memcpy(nb, b, n);
      ot_free(b);
      b = nb;
      cap = ncap;
    }
    if (regular && n == cap) break; /* read to the size fstat gave */
    ssize_t r = read(fd, b + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
      goto done;
    }
    if (r == 0) break; /* end of file (a regular file may have shrunk) */
    n += (size_t)r;
  }
  *buf = b;
  *len = n;
  b = NULL;
done:
  ot_free(b);
  close(fd);
  return rc;
}

int ot_io_load(const char *path, const ot_io_opts *o, ot_io_data *d, char *err, size_t errlen) {
  ot_io_opts def, use;
  void *raw = NULL;
  size_t rawlen = 0;
  int rc;
  o = opts_or_default(o, &def);
  ot_io_data_init(d);
  use = *o;
  if (!use.format) use.format = ot_io_format_from_name(path, NULL);
  if (use.format == OT_IO_CSV && !use.delimiter) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (has_suffix(base, n, ".gz")) n -= 3;
    use.delimiter = has_suffix(base, n, ".tsv") ? '\t' : ',';
  }
  rc = ot_io_read_file(path, o->max_bytes, &raw, &rawlen, err, errlen);
  if (rc) return rc;
  rc = ot_io_parse(raw, rawlen, &use, d, err, errlen);
  ot_free(raw);
  return rc;
}

int ot_io_check_labels(const ot_io_data *data, const ot_io_data *labels, char *err,
                       size_t errlen) {
  if (!labels->vec && labels->cols != 1)
    return fail(OT_ESHAPE, err, errlen, "labels: expected a vector or one column, got %zux%zu",
                labels->rows, labels->cols);
  int totals = data->format != OT_IO_CSV && labels->format != OT_IO_CSV;
  size_t nd = totals ? data->total : data->rows, nl = totals ? labels->total : labels->rows;
  if (nd != nl)
    return fail(OT_ESHAPE, err, errlen, "labels: the label file has %zu items, the data has %zu",
                nl, nd);
  if (labels->rows != data->rows)
    return fail(OT_ESHAPE, err, errlen, "labels: %zu labels read for %zu rows", labels->rows,
                data->rows);
  return OT_OK;
}

/* ---- writers -------------------------------------------------------------- */

/*
 * Writers stream into a FILE through a small "sink" that optionally deflates
 * (so a .gz file is never held whole in memory) and remembers the first
 * error, which keeps the writers free of error checks after each write.
 * Everything that can be refused (shapes, names, values a u8 IDX cannot
 * hold) is checked by check_write before the first byte.
 */

#define ZCHUNK 65536

/* An output stream: a FILE, optionally through deflate (gzip framing).
 * The first error sticks in rc (with errno in err_no) and later writes
 * are skipped. */
typedef struct sink {
  FILE *f;
  int gz;
  z_stream z;
  unsigned char *stage, *zout; /* ZCHUNK bytes each (gzip only) */
  size_t n;                    /* bytes staged */
  int rc, err_no;
} sink;

static void sink_fwrite(sink *s, const void *p, size_t n) {
  if (s->rc || n == 0) return;
  errno = 0;
  if (fwrite(p, 1, n, s->f) != n) {
    s->rc = OT_EIO;
    s->err_no = errno ? errno : EIO;
  }
}

/* Run deflate over the staged bytes (flush: Z_NO_FLUSH or Z_FINISH). */
static void sink_deflate(sink *s, int flush) {
  int zr;
  s->z.next_in = s->stage;
  s->z.avail_in = (uInt)s->n;
  do {
    s->z.next_out = s->zout;
    s->z.avail_out = ZCHUNK;
    zr = deflate(&s->z, flush);
    if (zr == Z_STREAM_ERROR) {
      s->rc = OT_ENOMEM;
      return;
    }
    sink_fwrite(s, s->zout, ZCHUNK - s->z.avail_out);
  } while (!s->rc && (s->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END)));
  s->n = 0;
}

static int sink_open(sink *s, FILE *f, int gz) {
  memset(s, 0, sizeof *s);
  s->f = f;
  s->gz = gz;
  if (!gz) return OT_OK;
  if (ot_malloc(ZCHUNK, &s->stage) || ot_malloc(ZCHUNK, &s->zout)) goto nomem;
  s->z.zalloc = z_alloc;
  s->z.zfree = z_free;
  if (deflateInit2(&s->z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    s->gz = 0; /* nothing to end */
    goto nomem;
  }
  return OT_OK;
nomem:
  ot_free(s->stage);
  ot_free(s->zout);
  s->stage = s->zout = NULL;
  return OT_ENOMEM;
}

static void sink_put(sink *s, const void *p, size_t n) {
  const unsigned char *b = p;
  if (!s->gz) {
    sink_fwrite(s, p, n);
    return;
  }
  while (n && !s->rc) {
    size_t k = ZCHUNK - s->n < n ? ZCHUNK - s->n : n;
    memcpy(s->stage + s->n, b, k);
    s->n += k;
    b += k;
    n -= k;
    if (s->n == ZCHUNK) sink_deflate(s, Z_NO_FLUSH);
  }
}

/* Finish the stream (the gzip trailer) and release it; the FILE stays
 * open.  Returns the first error. */
static int sink_close(sink *s) {
  if (s->gz) {
    if (!s->rc) sink_deflate(s, Z_FINISH);
    deflateEnd(&s->z);
  }
  ot_free(s->stage);
  ot_free(s->zout);
  if (!s->rc && ferror(s->f)) {
    s->rc = OT_EIO;
    s->err_no = EIO;
  }
  return s->rc;
}

/* What each writer needs of its arguments, checked before any byte is
 * written. */
static int check_write(int fmt, ot_mat m, int vec, const ot_io_save_opts *o, char *err,
                       size_t errlen) {
  if (vec && m.cols != 1)
    return fail(OT_EINVAL, err, errlen, "%s: a vector must have one column, got %zu",
                ot_io_format_name(fmt), m.cols);
  if (fmt == OT_IO_CSV) {
    size_t want = m.cols + (o->labels ? 1 : 0);
    if (o->names && o->nnames != want && !(o->labels && o->nnames == m.cols))
      return fail(OT_EINVAL, err, errlen, "csv: %zu header names for %zu columns", o->nnames,
                  want);
    for (size_t j = 0; o->names && j < o->nnames; j++)
      if (!o->names[j] || strpbrk(o->names[j], "\r\n"))
        return fail(OT_EINVAL, err, errlen, "csv: header name %zu %s", j + 1,
                    o->names[j] ? "contains a line break" : "is missing");
    char dl = o->delimiter ? o->delimiter : ',';
    if (dl == '"' || dl == '\n' || dl == '\r' || dl == '.' || dl == '-' || dl == '+' ||
        (dl >= '0' && dl <= '9') || (dl >= 'a' && dl <= 'z') || (dl >= 'A' && dl <= 'Z'))
      return fail(OT_EINVAL, err, errlen, "csv: '%c' cannot be a delimiter", dl);
  }
  if (fmt == OT_IO_IDX) {
    if (m.rows > UINT32_MAX || m.cols > UINT32_MAX)
      return fail(OT_EINVAL, err, errlen, "idx: %zux%zu does not fit 32-bit dimensions", m.rows,
                  m.cols);
    if (o->dtype == OT_IO_U8)
      for (size_t i = 0; i < m.rows; i++)
        for (size_t j = 0; j < m.cols; j++) {
          double v = OT_AT(m, i, j);
          if (!(v >= 0 && v <= 255 && v == floor(v)))
            return fail(OT_EINVAL, err, errlen,
                        "idx: the value at row %zu, column %zu is %.17g, not an integer in 0..255 "
                        "(dtype u8)",
                        i + 1, j + 1, v);
        }
  }
  return OT_OK;
}

/*
 * The header np.save writes for a '<f8' C-order array of this shape: the
 * magic and version 1.0, the length, the dictionary with keys sorted,
 * spare spaces so the first dimension can grow to 21 digits in place, then
 * spaces and '\n' so that the whole header fills a multiple of 64 bytes
 * (64 more when it already does, as NumPy's padding formula gives).
 */
size_t ot_npy_header(unsigned char *buf, size_t cap, size_t rows, size_t cols, int vec) {
  char h[OT_NPY_HEADER_MAX], first[32];
  int n = vec ? snprintf(h, sizeof h, "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu,), }",
                         rows)
              : snprintf(h, sizeof h,
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }",
                         rows, cols);
  int growth = 21 - snprintf(first, sizeof first, "%zu", rows);
  memset(h + n, ' ', (size_t)growth);
  n += growth;
  size_t hlen = (size_t)n + 1, pad = 64 - (10 + hlen) % 64, total = 10 + hlen + pad;
  if (total > cap) return 0;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)((hlen + pad) & 0xff);
  buf[9] = (unsigned char)((hlen + pad) >> 8);
  memcpy(buf + 10, h, (size_t)n);
  memset(buf + 10 + n, ' ', pad);
  buf[total - 1] = '\n';
  return total;
}

static void npy_write_s(sink *s, ot_mat m, int vec) {
  unsigned char h[OT_NPY_HEADER_MAX], buf[4096];
  sink_put(s, h, ot_npy_header(h, sizeof h, m.rows, m.cols, vec));
  size_t k = 0;
  for (size_t i = 0; i < m.rows; i++)
    for (size_t j = 0; j < m.cols; j++) {
      uint64_t u;
      double v = OT_AT(m, i, j);
      memcpy(&u, &v, 8);
      for (int b = 0; b < 8; b++) buf[k++] = (unsigned char)(u >> (8 * b));
      if (k == sizeof buf) {
        sink_put(s, buf, k);
        k = 0;
      }
    }
  sink_put(s, buf, k);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v (C locale
 * active); nan, inf, -inf for the others.  Returns the length. */
static int fmt_double(char *buf, size_t cap, double v) {
  if (isnan(v)) return snprintf(buf, cap, "nan");
  if (isinf(v)) return snprintf(buf, cap, v > 0 ? "inf" : "-inf");
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, cap, "%.*g", prec, v);
    if (prec == 17 || strtod(buf, NULL) == v) break;
  }
  return n;
}

/* A header name, quoted when it holds the delimiter, a quote or blanks at
 * either end. */
static void csv_put_name(sink *s, const char *name, char delim) {
  size_t n = strlen(name);
  int q = n == 0 || strchr(name, '"') || strchr(name, delim) || name[0] == ' ' ||
          name[0] == '\t' || name[n - 1] == ' ' || name[n - 1] == '\t';
  if (!q) {
    sink_put(s, name, n);
    return;
  }
  sink_put(s, "\"", 1);
  for (const char *p = name; *p; p++) {
    sink_put(s, p, 1);
    if (*p == '"') sink_put(s, "\"", 1);
  }
  sink_put(s, "\"", 1);
}

static void csv_write_s(sink *s, ot_mat m, const ot_io_save_opts *o, char delim) {
  char num[40];
  if (o->names) {
    for (size_t j = 0; j < o->nnames; j++) {
      if (j) sink_put(s, &delim, 1);
      csv_put_name(s, o->names[j], delim);
    }
    if (o->labels && o->nnames == m.cols) {
      if (m.cols) sink_put(s, &delim, 1);
      sink_put(s, "label", 5);
    }
    sink_put(s, "\n", 1);
  }
  for (size_t i = 0; i < m.rows && !s->rc; i++) {
    for (size_t j = 0; j < m.cols; j++) {
      if (j) sink_put(s, &delim, 1);
      sink_put(s, num, (size_t)fmt_double(num, sizeof num, OT_AT(m, i, j)));
    }
    if (o->labels) {
      if (m.cols) sink_put(s, &delim, 1);
      sink_put(s, num, (size_t)fmt_double(num, sizeof num, o->labels[i]));
    }
    sink_put(s, "\n", 1);
  }
}

static void idx_write_s(sink *s, ot_mat m, int vec, int dtype) {
  unsigned char h[12] = {0, 0, dtype == OT_IO_U8 ? 0x08 : 0x0E, vec ? 1 : 2}, buf[4096];
  uint32_t dims[2] = {(uint32_t)m.rows, (uint32_t)m.cols};
  for (int k = 0; k < (vec ? 1 : 2); k++)
    for (int b = 0; b < 4; b++) h[4 + 4 * k + b] = (unsigned char)(dims[k] >> (24 - 8 * b));
  sink_put(s, h, vec ? 8 : 12);
  size_t k = 0;
  for (size_t i = 0; i < m.rows; i++)
    for (size_t j = 0; j < m.cols; j++) {
      double v = OT_AT(m, i, j);
      if (dtype == OT_IO_U8) {
        buf[k++] = (unsigned char)v;
      } else {
        uint64_t u;
        memcpy(&u, &v, 8);
        for (int b = 0; b < 8; b++) buf[k++] = (unsigned char)(u >> (56 - 8 * b));
      }
      if (k + 8 > sizeof buf) {
        sink_put(s, buf, k);
        k = 0;
      }
    }
  sink_put(s, buf, k);
}

void ot_io_save_opts_init(ot_io_save_opts *o) {
  memset(o, 0, sizeof *o);
  o->format = OT_IO_AUTO;
  o->gzip = -1;
  o->delimiter = 0;
  o->names = NULL;
  o->nnames = 0;
  o->labels = NULL;
  o->dtype = OT_IO_F8;
}

/* Write fmt to f (through gzip when gz), after checking the arguments.
 * `what` names the output in I/O messages. */
static int write_any(FILE *f, int gz, int fmt, ot_mat m, int vec, const ot_io_save_opts *o,
                     char delim, const char *what, char *err, size_t errlen) {
  sink s;
  locale_t cloc = (locale_t)0, oldloc = (locale_t)0;
  int rc = check_write(fmt, m, vec, o, err, errlen);
  if (rc) return rc;
  if (sink_open(&s, f, gz)) return fail(OT_ENOMEM, err, errlen, "%s: cannot start the compressor",
                                        ot_io_format_name(fmt));
  switch (fmt) {
    case OT_IO_NPY: npy_write_s(&s, m, vec); break;
    case OT_IO_CSV:
      cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
      if (!cloc) {
        s.rc = OT_ENOMEM;
        break;
      }
      oldloc = uselocale(cloc);
      csv_write_s(&s, m, o, delim);
      uselocale(oldloc);
      freelocale(cloc);
      break;
    default: idx_write_s(&s, m, vec, o->dtype); break;
  }
  rc = sink_close(&s);
  if (rc == OT_EIO) return fail(rc, err, errlen, "%s: %s", what, strerror(s.err_no));
  if (rc) return fail(rc, err, errlen, "%s: %s", ot_io_format_name(fmt), ot_strerror(rc));
  return OT_OK;
}

int ot_npy_write(FILE *f, ot_mat m, int vec, char *err, size_t errlen) {
  ot_io_save_opts o;
  ot_io_save_opts_init(&o);
  return write_any(f, 0, OT_IO_NPY, m, vec, &o, ',', "npy", err, errlen);
}

int ot_csv_write(FILE *f, ot_mat m, const ot_io_save_opts *o, char *err, size_t errlen) {
  ot_io_save_opts def;
  if (!o) {
    ot_io_save_opts_init(&def);
    o = &def;
  }
  return write_any(f, 0, OT_IO_CSV, m, 0, o, o->delimiter ? o->delimiter : ',', "csv", err,
                   errlen);
}

int ot_idx_write(FILE *f, ot_mat m, int vec, int dtype, char *err, size_t errlen) {
  ot_io_save_opts o;
  ot_io_save_opts_init(&o);
  o.dtype = dtype;
  return write_any(f, 0, OT_IO_IDX, m, vec, &o, ',', "idx", err, errlen);
}

/*
 * Atomic replacement (see io.h).  The temporary file is "<target>.tmpXXXXXX"
 * from mkstemp, given the mode the old file had (or 0666 less the umask),
 * flushed to disk with fsync and renamed over the target.  A symbolic link
 * is followed, so the file it points to is replaced and the link kept.
 */
int ot_io_write_atomic(const char *path, ot_io_writer writer, void *ud, char *err, size_t errlen) {
  struct stat st;
  char *real = NULL, *tmp = NULL;
  const char *target = path;
  FILE *f = NULL;
  int rc, fd = -1;
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
    real = realpath(path, NULL);
    if (real) target = real;
  }
  int exists = stat(target, &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) { /* a device or a pipe: write in place */
    f = fopen(target, "wb");
    if (!f) {
      rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
      goto done;
    }
    rc = writer(f, ud, err, errlen);
    if (fclose(f) != 0 && !rc) rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
    f = NULL;
    goto done;
  }
  size_t tlen = strlen(target) + 16;
  rc = ot_malloc(tlen, &tmp);
  if (rc) {
    rc = fail(rc, err, errlen, "%s: %s", path, ot_strerror(rc));
    goto done;
  }
  snprintf(tmp, tlen, "%s.tmpXXXXXX", target);
  fd = mkstemp(tmp);
  if (fd < 0) {
    rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
    ot_free(tmp);
    tmp = NULL;
    goto done;
  }
  mode_t mode;
  if (exists) {
    mode = st.st_mode & 07777;
  } else {
    mode_t mask = umask(0); /* reading the umask means setting it */
    umask(mask);
    mode = 0666 & ~mask;
  }
  fchmod(fd, mode);
  f = fdopen(fd, "wb");
  if (!f) {
    rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
    close(fd);
    goto done;
  }
  rc = writer(f, ud, err, errlen);
  if (!rc && fflush(f) != 0) rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
  if (!rc && fsync(fileno(f)) != 0 && errno != EINVAL && errno != EROFS)
    rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
  if (fclose(f) != 0 && !rc) rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
  f = NULL;
  if (!rc && rename(tmp, target) != 0) rc = fail(OT_EIO, err, errlen, "%s: %s", path, strerror(errno));
done:
  if (tmp) {
    if (rc) unlink(tmp);
    ot_free(tmp);
  }
  free(real); /* from realpath's malloc */
  return rc;
}

/* ot_io_write_bytes's writer: data and length, path for the message. */
typedef struct bytes_job {
  const void *data;
  size_t len;
  const char *path;
} bytes_job;

static int write_bytes(FILE *f, void *ud, char *err, size_t errlen) {
  const bytes_job *j = ud;
  if (j->len && fwrite(j->data, 1, j->len, f) != j->len)
    return fail(OT_EIO, err, errlen, "%s: %s", j->path, strerror(errno));
  return OT_OK;
}

int ot_io_write_bytes(const char *path, const void *data, size_t len, char *err, size_t errlen) {
  bytes_job j = {data, len, path};
  return ot_io_write_atomic(path, write_bytes, &j, err, errlen);
}

/* ot_io_save's writer: the matrix in its format. */
typedef struct save_job {
  int gz, fmt, vec;
  ot_mat m;
  const ot_io_save_opts *o;
  char delim;
  const char *path;
} save_job;

static int write_save(FILE *f, void *ud, char *err, size_t errlen) {
  const save_job *j = ud;
  return write_any(f, j->gz, j->fmt, j->m, j->vec, j->o, j->delim, j->path, err, errlen);
}

int ot_io_save(const char *path, ot_mat m, int vec, const ot_io_save_opts *o, char *err,
               size_t errlen) {
  ot_io_save_opts def;
  int rc, namegz;
  if (!o) {
    ot_io_save_opts_init(&def);
    o = &def;
  }
  int fmt = ot_io_format_from_name(path, &namegz);
  if (o->format) fmt = o->format;
  if (fmt == OT_IO_AUTO)
    return fail(OT_EINVAL, err, errlen,
                "cannot tell the format from the name (use .npy, .csv, .tsv, .idx or -ubyte, "
                "optionally with .gz, or give the format)");
  int gz = o->gzip < 0 ? namegz : o->gzip;
  char delim = o->delimiter;
  if (!delim) {
    size_t n = strlen(path);
    if (namegz) n -= 3;
    delim = has_suffix(path, n, ".tsv") ? '\t' : ',';
  }
  ot_io_save_opts use = *o;
  use.delimiter = delim;
  rc = check_write(fmt, m, vec, &use, err, errlen);
  if (rc) return rc;
  save_job j = {gz, fmt, vec, m, &use, delim, path};
  return ot_io_write_atomic(path, write_save, &j, err, errlen);
}
