/*
 * tests/c/io.c -- .npy, CSV and IDX readers and writers.
 *
 * Fixtures in tests/data/io were written once by NumPy (make_fixtures.py);
 * their values follow a formula of the flat index, so loads are checked bit
 * for bit.  Hostile inputs are built in memory here.  Every failure case
 * checks the status and that the message names the reason.  At the end all
 * counted memory must be released.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, setenv */

#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "alloc.h"
#include "io.h"
#include "ot.h"
#include "test.h"

#define DATA OTLAB_TEST_DATA "/io/"

static char err[1024];

/* Check a failing call: status `want` and a message containing `needle`. */
#define CHECK_FAIL(desc, call, want, needle)                                     \
  do {                                                                           \
    err[0] = '\0';                                                               \
    int rc_ = (call);                                                            \
    CHECK(desc ": status", rc_ == (want));                                       \
    CHECK(desc ": message", strstr(err, needle) != NULL);                        \
    if (rc_ != (want) || !strstr(err, needle))                                   \
      printf("  got status %d (%s), message \"%s\"\n", rc_, ot_strerror(rc_), err); \
  } while (0)

/* Bit-exact double comparison (NaN equals NaN of the same bits). */
static int same(double a, double b) { return memcmp(&a, &b, sizeof a) == 0 || a == b; }

/* A fixture file's bytes (ot_malloc); NULL when missing. */
static void *fixture(const char *name, size_t *len) {
  char path[512];
  void *buf;
  snprintf(path, sizeof path, DATA "%s", name);
  if (ot_io_read_file(path, OT_IO_NOLIMIT, &buf, len, err, sizeof err) != OT_OK) {
    printf("  cannot read fixture %s: %s\n", name, err);
    return NULL;
  }
  return buf;
}

/* ---- builders for hostile inputs ------------------------------------------ */

/* An npy file: magic, version major.minor, header text (padded as given),
 * then `payload` bytes (zero-filled except the pattern below). */
static size_t make_npy(unsigned char *out, size_t cap, int major, int minor, const char *hdr,
                       size_t payload) {
  size_t hl = strlen(hdr), pre = major == 1 ? 10 : 12;
  if (pre + hl + payload > cap) return 0;
  memcpy(out, "\x93NUMPY", 6);
  out[6] = (unsigned char)major;
  out[7] = (unsigned char)minor;
  out[8] = (unsigned char)(hl & 0xff);
  out[9] = (unsigned char)(hl >> 8);
  if (major != 1) {
    out[10] = (unsigned char)(hl >> 16);
    out[11] = (unsigned char)(hl >> 24);
  }
  memcpy(out + pre, hdr, hl);
  memset(out + pre + hl, 0, payload);
  return pre + hl + payload;
}

/* An IDX file with the given magic bytes, dims and payload length. */
static size_t make_idx(unsigned char *out, unsigned type, unsigned ndim, const uint32_t *dims,
                       const void *payload, size_t plen) {
  size_t k = 0;
  out[k++] = 0;
  out[k++] = 0;
  out[k++] = (unsigned char)type;
  out[k++] = (unsigned char)ndim;
  for (unsigned d = 0; d < ndim; d++)
    for (int b = 3; b >= 0; b--) out[k++] = (unsigned char)(dims[d] >> (8 * b));
  if (plen) memcpy(out + k, payload, plen);
  return k + plen;
}

/* gzip-compress len bytes into out (malloc); returns the size. */
static size_t gzip_mem(const void *in, size_t len, unsigned char **out) {
  z_stream z;
  memset(&z, 0, sizeof z);
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  size_t cap = deflateBound(&z, (uLong)len) + 64;
  *out = malloc(cap);
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  z.next_out = *out;
  z.avail_out = (uInt)cap;
  deflate(&z, Z_FINISH);
  size_t n = cap - z.avail_out;
  deflateEnd(&z);
  return n;
}

/* ---- .npy ----------------------------------------------------------------- */

/* Expected value of element k of a fixture of this kind and size. */
static double fixture_value(char kind, int size, size_t k) {
  switch (kind) {
    case 'f': return ((double)k - 5) * 0.25;
    case 'i': return k == 11 ? -ldexp(1, 8 * size - 1) : (double)k - 5;
    case 'u': return k == 11 ? (size == 8 ? (double)UINT64_MAX : ldexp(1, 8 * size) - 1) : (double)k;
    default: return (double)(k % 2);
  }
}

static void test_npy_dtypes(void) {
  static const struct { char kind; int size; } types[] = {
    {'f', 2}, {'f', 4}, {'f', 8}, {'i', 1}, {'i', 2}, {'i', 4}, {'i', 8},
    {'u', 1}, {'u', 2}, {'u', 4}, {'u', 8}, {'b', 1},
  };
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    for (int o = 0; o < 2; o++) {
      char name[32], want_dtype[8];
      int one = types[t].size == 1;
      if (one && o) continue;
      snprintf(name, sizeof name, "%c%d_%s.npy", types[t].kind, types[t].size,
               one ? "na" : o ? "be" : "le");
      snprintf(want_dtype, sizeof want_dtype, "%c%c%d", one ? '|' : o ? '>' : '<', types[t].kind,
               types[t].size);
      size_t len;
      void *buf = fixture(name, &len);
      ot_io_data d;
      int rc = buf ? ot_npy_parse(buf, len, NULL, &d, err, sizeof err) : -1;
      CHECK(name, rc == OT_OK);
      if (rc == OT_OK) {
        int exact = d.rows == 3 && d.cols == 4 && !d.vec && d.ndim == 2;
        for (size_t k = 0; exact && k < 12; k++)
          exact = same(d.x[k], fixture_value(types[t].kind, types[t].size, k));
        CHECK(name, exact);
        CHECK(name, strcmp(d.dtype, want_dtype) == 0);
        CHECK(name, d.version[0] == 1 && d.version[1] == 0 && !d.fortran);
      } else {
        printf("  %s: %s\n", name, err);
      }
      ot_io_data_free(&d);
      ot_free(buf);
    }
  }
}

/* A fixture whose element (i, j) is (i * cols + j - 5) * 0.25. */
static void check_f8_fixture(const char *name, size_t rows, size_t cols, int vec, int fortran,
                             int major) {
  size_t len;
  void *buf = fixture(name, &len);
  ot_io_data d;
  int rc = buf ? ot_npy_parse(buf, len, NULL, &d, err, sizeof err) : -1;
  CHECK(name, rc == OT_OK);
  if (rc == OT_OK) {
    CHECK(name, d.rows == rows && d.cols == cols && d.vec == vec && d.fortran == fortran);
    CHECK(name, d.version[0] == major);
    int exact = 1;
    for (size_t k = 0; k < rows * cols; k++) exact &= same(d.x[k], ((double)k - 5) * 0.25);
    CHECK(name, exact);
  } else {
    printf("  %s: %s\n", name, err);
  }
  ot_io_data_free(&d);
  ot_free(buf);
}

static void test_npy_layouts(void) {
  check_f8_fixture("f8_le.npy", 3, 4, 0, 0, 1);
  check_f8_fixture("fortran_2d.npy", 3, 4, 0, 1, 1);
  check_f8_fixture("fortran_3d.npy", 2, 12, 0, 1, 1); /* (2, 3, 4) -> 2 x 12 */
  check_f8_fixture("c_3d.npy", 2, 12, 0, 0, 1);
  check_f8_fixture("v2.npy", 3, 4, 0, 0, 2);
  check_f8_fixture("v3.npy", 3, 4, 0, 0, 3);
  check_f8_fixture("vec.npy", 5, 1, 1, 0, 1);

  size_t len;
  ot_io_data d;
  void *buf = fixture("fortran_be_i4.npy", &len);
  CHECK("fortran big-endian i4", buf && ot_npy_parse(buf, len, NULL, &d, err, sizeof err) == OT_OK);
  int exact = d.rows == 3 && d.cols == 4 && d.fortran;
  for (size_t k = 0; exact && k < 12; k++) exact = same(d.x[k], fixture_value('i', 4, k));
  CHECK("fortran big-endian i4 values", exact);
  ot_io_data_free(&d);
  ot_free(buf);

  buf = fixture("scalar.npy", &len);
  CHECK("0-d", buf && ot_npy_parse(buf, len, NULL, &d, err, sizeof err) == OT_OK);
  CHECK("0-d is a vector of 1", d.vec && d.rows == 1 && d.ndim == 0 && d.x[0] == 7.5);
  ot_io_data_free(&d);
  ot_free(buf);

  buf = fixture("empty_0x3.npy", &len);
  CHECK("0x3", buf && ot_npy_parse(buf, len, NULL, &d, err, sizeof err) == OT_OK);
  CHECK("0x3 shape", d.rows == 0 && d.cols == 3 && !d.vec);
  ot_io_data_free(&d);
  ot_free(buf);

  /* limit and label_col on an npy matrix */
  ot_io_opts o;
  ot_io_opts_init(&o);
  o.limit = 2;
  o.label_col = -1;
  buf = fixture("f8_le.npy", &len);
  CHECK("npy limit + label_col", ot_npy_parse(buf, len, &o, &d, err, sizeof err) == OT_OK);
  CHECK("npy limit rows", d.rows == 2 && d.cols == 3 && d.total == 3 && d.y);
  CHECK("npy label values", d.y && d.y[0] == (3 - 5) * 0.25 && d.y[1] == (7 - 5) * 0.25);
  CHECK("npy x after split", d.x[3] == (4 - 5) * 0.25 && d.x[5] == (6 - 5) * 0.25);
  ot_io_data_free(&d);
  o.limit = OT_IO_NOLIMIT;
  o.label_col = 5;
  CHECK_FAIL("npy label_col out of range", ot_npy_parse(buf, len, &o, &d, err, sizeof err),
             OT_EINVAL, "label_col 5");
  ot_free(buf);
  buf = fixture("vec.npy", &len);
  o.label_col = 1;
  CHECK_FAIL("npy label_col on a vector", ot_npy_parse(buf, len, &o, &d, err, sizeof err),
             OT_EINVAL, "needs a matrix");
  ot_free(buf);
}

/* The writer reproduces np.save's bytes. */
static void test_npy_writer(void) {
  double mat[12], vec[5] = {0.1, -2.5, 1e300, 5e-324, -0.0};
  for (int k = 0; k < 12; k++) mat[k] = k * 0.5 - 1.25;
  struct { const char *name; double *data; size_t rows, cols; int vec; } cases[] = {
    {"golden_mat.npy", mat, 3, 4, 0}, {"golden_vec.npy", vec, 5, 1, 1}};
  for (int c = 0; c < 2; c++) {
    char *mem = NULL;
    size_t mlen = 0, glen;
    FILE *f = open_memstream(&mem, &mlen);
    int rc = ot_npy_write(f, ot_mat_view(cases[c].data, cases[c].rows, cases[c].cols),
                          cases[c].vec, err, sizeof err);
    fclose(f);
    void *gold = fixture(cases[c].name, &glen);
    CHECK("npy writer status", rc == OT_OK);
    CHECK(cases[c].name, gold && glen == mlen && memcmp(gold, mem, glen) == 0);
    free(mem);
    ot_free(gold);
  }

  /* headers for many shapes, as np.save writes them */
  size_t len, pos = 0;
  unsigned char *hb = fixture("npy_headers.bin", &len), mine[OT_NPY_HEADER_MAX];
  int all = hb != NULL, nrec = 0;
  while (hb && pos + 20 <= len) {
    uint64_t rows, cols;
    uint32_t hl;
    memcpy(&rows, hb + pos, 8); /* the fixture is little-endian, as is the test host */
    memcpy(&cols, hb + pos + 8, 8);
    memcpy(&hl, hb + pos + 16, 4);
    pos += 20;
    int isvec = cols == UINT64_MAX;
    size_t n = ot_npy_header(mine, sizeof mine, rows, isvec ? 1 : cols, isvec);
    if (n != hl || memcmp(mine, hb + pos, hl) != 0) {
      all = 0;
      printf("  header differs for rows %llu cols %llu\n", (unsigned long long)rows,
             (unsigned long long)cols);
    }
    pos += hl;
    nrec++;
  }
  CHECK("np.save headers for every shape", all && nrec > 100);
  ot_free(hb);
}

static void test_npy_hostile(void) {
  unsigned char b[4096];
  size_t n;
  ot_io_data d;
  ot_io_opts o;
  const char *ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }\n";

  n = make_npy(b, sizeof b, 1, 0, ok, 48);
  CHECK("npy builder sanity", ot_npy_parse(b, n, NULL, &d, err, sizeof err) == OT_OK);
  ot_io_data_free(&d);

  b[5] = 'X';
  CHECK_FAIL("npy bad magic", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "bad magic");
  CHECK_FAIL("npy empty buffer", ot_npy_parse(b, 0, NULL, &d, err, sizeof err), OT_EFORMAT,
             "bad magic");
  n = make_npy(b, sizeof b, 4, 0, ok, 48);
  CHECK_FAIL("npy version 4.0", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EUNSUPPORTED,
             "unknown format version 4.0");
  n = make_npy(b, sizeof b, 1, 1, ok, 48);
  CHECK_FAIL("npy version 1.1", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EUNSUPPORTED,
             "version 1.1");
  n = make_npy(b, sizeof b, 2, 0, ok, 48);
  CHECK_FAIL("npy v2 preamble cut", ot_npy_parse(b, 11, NULL, &d, err, sizeof err), OT_EFORMAT,
             "preamble");

  /* header longer than the file, and over the cap */
  n = make_npy(b, sizeof b, 1, 0, ok, 0);
  b[8] = 0xf4;
  b[9] = 0x01; /* 500 */
  CHECK_FAIL("npy header longer than file", ot_npy_parse(b, n, NULL, &d, err, sizeof err),
             OT_EFORMAT, "header says 500 bytes but the file has only");
  n = make_npy(b, sizeof b, 2, 0, ok, 48);
  b[8] = 0;
  b[9] = 0;
  b[10] = 0x10; /* 1 MiB */
  CHECK_FAIL("npy header over the cap", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "over the 65536-byte limit");

  /* shape lying about the payload */
  n = make_npy(b, sizeof b, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (100, 3), }\n",
               800);
  CHECK_FAIL("npy shape lies", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "npy: header says 100x3 <f8 = 2400 bytes, file has 800 after the header (truncated)");
  n = make_npy(b, sizeof b, 1, 0, ok, 47);
  CHECK_FAIL("npy truncated payload", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "file has 47 after the header (truncated)");
  n = make_npy(b, sizeof b, 1, 0, ok, 56);
  CHECK_FAIL("npy trailing bytes", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "file has 56 after the header (trailing bytes)");

  /* dims product overflow, a dimension over size_t, too many dims */
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }",
               0);
  CHECK_FAIL("npy dims overflow", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EOVERFLOW,
             "element count overflows");
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (3074457345618258603,), }", 0);
  CHECK_FAIL("npy bytes overflow", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EOVERFLOW,
             "byte count overflows");
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 0);
  CHECK_FAIL("npy dim over size_t", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EOVERFLOW,
             "overflows size_t");
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
               "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }", 8);
  CHECK_FAIL("npy 33 dims", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EUNSUPPORTED,
             "more than 32 dimensions");
  /* rows x 0 with a huge row count is instant and empty */
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 0), }", 0);
  CHECK("npy 2^40 x 0", ot_npy_parse(b, n, NULL, &d, err, sizeof err) == OT_OK &&
                            d.rows == ((size_t)1 << 40) && d.cols == 0);
  ot_io_data_free(&d);

  /* dtypes otlab does not read, and malformed ones */
  n = make_npy(b, sizeof b, 1, 0, "{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", 32);
  CHECK_FAIL("npy complex", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EUNSUPPORTED,
             "complex");
  n = make_npy(b, sizeof b, 1, 0, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16);
  CHECK_FAIL("npy object", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EUNSUPPORTED,
             "Python object");
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", 16);
  CHECK_FAIL("npy structured", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EUNSUPPORTED,
             "structured");
  n = make_npy(b, sizeof b, 1, 0, "{'descr': '<f16', 'fortran_order': False, 'shape': (2,), }", 32);
  CHECK_FAIL("npy long double", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EUNSUPPORTED,
             "long double");
  n = make_npy(b, sizeof b, 1, 0, "{'descr': '<x4', 'fortran_order': False, 'shape': (2,), }", 8);
  CHECK_FAIL("npy unknown dtype", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "unknown dtype '<x4'");
  n = make_npy(b, sizeof b, 1, 0, "{'descr': '|f8', 'fortran_order': False, 'shape': (2,), }", 16);
  CHECK_FAIL("npy | on f8", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "byte order '|'");

  /* malformed dictionaries */
  n = make_npy(b, sizeof b, 1, 0, "{'descr': '<f8', 'shape': (2,), }", 16);
  CHECK_FAIL("npy missing key", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "lacks 'fortran_order'");
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}", 16);
  CHECK_FAIL("npy extra key", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "unexpected key 'extra'");
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", 16);
  CHECK_FAIL("npy duplicate key", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "appears twice");
  n = make_npy(b, sizeof b, 1, 0, "['descr']", 16);
  CHECK_FAIL("npy not a dict", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "not a dictionary");
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,)}", 16);
  CHECK_FAIL("npy bad bool", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "fortran_order");
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3)}", 16);
  CHECK_FAIL("npy negative dim", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "shape");
  n = make_npy(b, sizeof b, 1, 0,
               "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} junk", 16);
  CHECK_FAIL("npy text after dict", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "after the header");

  /* native byte order '=' */
  n = make_npy(b, sizeof b, 1, 0, "{'descr': '=f8', 'fortran_order': False, 'shape': (1,), }", 8);
  memcpy(b + n - 8, &(double){2.75}, 8);
  CHECK("npy native order", ot_npy_parse(b, n, NULL, &d, err, sizeof err) == OT_OK && d.x[0] == 2.75);
  ot_io_data_free(&d);

  /* non-finite payloads */
  n = make_npy(b, sizeof b, 1, 0, ok, 48);
  double nan = NAN;
  memcpy(b + n - 48 + 4 * 8, &nan, 8); /* element (2, 2) */
  CHECK_FAIL("npy NaN refused", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "row 2, column 2 is nan");
  ot_io_opts_init(&o);
  o.allow_nonfinite = 1;
  CHECK("npy NaN allowed", ot_npy_parse(b, n, &o, &d, err, sizeof err) == OT_OK && isnan(d.x[4]));
  ot_io_data_free(&d);

  /* every prefix of a valid file fails cleanly */
  n = make_npy(b, sizeof b, 1, 0, ok, 48);
  int clean = 1;
  for (size_t cut = 0; cut < n; cut++) {
    int rc = ot_npy_parse(b, cut, NULL, &d, err, sizeof err);
    clean &= rc == OT_EFORMAT && d.x == NULL;
  }
  CHECK("npy every truncation is a format error", clean);
}

/* ---- IDX ------------------------------------------------------------------ */

static void test_idx(void) {
  unsigned char b[512], pay[64];
  uint32_t dims[5] = {2, 2, 3, 1, 1};
  ot_io_data d;
  ot_io_opts o;
  size_t n;
  for (int k = 0; k < 12; k++) pay[k] = (unsigned char)(10 * k);

  /* 2 images of 2x3 u8 -> 2 x 6 */
  n = make_idx(b, 0x08, 3, dims, pay, 12);
  CHECK("idx u8 images", ot_idx_parse(b, n, NULL, &d, err, sizeof err) == OT_OK);
  CHECK("idx shape", d.rows == 2 && d.cols == 6 && !d.vec && d.ndim == 3 && d.shape[2] == 3);
  CHECK("idx values", d.x[0] == 0 && d.x[7] == 70 && d.x[11] == 110);
  CHECK("idx dtype", strcmp(d.dtype, "|u1") == 0);
  ot_io_data_free(&d);

  /* labels: 1-d -> vector; limit reads the first items only */
  ot_io_opts_init(&o);
  o.limit = 3;
  uint32_t five = 5;
  n = make_idx(b, 0x08, 1, &five, pay, 5);
  CHECK("idx labels + limit", ot_idx_parse(b, n, &o, &d, err, sizeof err) == OT_OK);
  CHECK("idx labels vector", d.vec && d.rows == 3 && d.total == 5 && d.x[2] == 20);
  ot_io_data_free(&d);

  /* every type code, big-endian */
  {
    unsigned char p[16] = {0xff, 0xfe};
    n = make_idx(b, 0x09, 1, (uint32_t[]){2}, p, 2);
    CHECK("idx i8", ot_idx_parse(b, n, NULL, &d, err, sizeof err) == OT_OK && d.x[0] == -1 &&
                        d.x[1] == -2);
    ot_io_data_free(&d);
    unsigned char i16[4] = {0x80, 0x00, 0x01, 0x02};
    n = make_idx(b, 0x0B, 1, (uint32_t[]){2}, i16, 4);
    CHECK("idx i16", ot_idx_parse(b, n, NULL, &d, err, sizeof err) == OT_OK &&
                         d.x[0] == -32768 && d.x[1] == 258);
    ot_io_data_free(&d);
    unsigned char i32[4] = {0xff, 0xff, 0xff, 0xfd};
    n = make_idx(b, 0x0C, 1, (uint32_t[]){1}, i32, 4);
    CHECK("idx i32", ot_idx_parse(b, n, NULL, &d, err, sizeof err) == OT_OK && d.x[0] == -3);
    ot_io_data_free(&d);
    unsigned char f32[4] = {0x3f, 0xc0, 0x00, 0x00}; /* 1.5f */
    n = make_idx(b, 0x0D, 1, (uint32_t[]){1}, f32, 4);
    CHECK("idx f32", ot_idx_parse(b, n, NULL, &d, err, sizeof err) == OT_OK && d.x[0] == 1.5);
    ot_io_data_free(&d);
    unsigned char f64[8] = {0xc0, 0x04, 0, 0, 0, 0, 0, 0}; /* -2.5 */
    n = make_idx(b, 0x0E, 1, (uint32_t[]){1}, f64, 8);
    CHECK("idx f64", ot_idx_parse(b, n, NULL, &d, err, sizeof err) == OT_OK && d.x[0] == -2.5);
    ot_io_data_free(&d);
    unsigned char fnan[8] = {0x7f, 0xf8, 0, 0, 0, 0, 0, 0};
    n = make_idx(b, 0x0E, 1, (uint32_t[]){1}, fnan, 8);
    CHECK_FAIL("idx NaN refused", ot_idx_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
               "non-finite");
  }

  /* hostile headers */
  n = make_idx(b, 0x08, 3, dims, pay, 12);
  b[1] = 1;
  CHECK_FAIL("idx bad magic", ot_idx_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "bad magic 0x00010803");
  CHECK_FAIL("idx too short", ot_idx_parse(b, 3, NULL, &d, err, sizeof err), OT_EFORMAT,
             "too short");
  n = make_idx(b, 0x0A, 3, dims, pay, 12);
  CHECK_FAIL("idx unknown type", ot_idx_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "unknown type code 0x0A");
  n = make_idx(b, 0x08, 0, dims, pay, 12);
  CHECK_FAIL("idx ndim 0", ot_idx_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "0 dimensions");
  n = make_idx(b, 0x08, 5, dims, pay, 12);
  CHECK_FAIL("idx ndim 5", ot_idx_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "5 dimensions");
  n = make_idx(b, 0x08, 3, dims, pay, 12);
  CHECK_FAIL("idx header cut", ot_idx_parse(b, 10, NULL, &d, err, sizeof err), OT_EFORMAT,
             "too short for the 16-byte header");
  CHECK_FAIL("idx size != file (short)", ot_idx_parse(b, n - 1, NULL, &d, err, sizeof err),
             OT_EFORMAT, "idx: header says 2x2x3 u8 = 12 bytes, file has 11 after the header (truncated)");
  n = make_idx(b, 0x08, 3, dims, pay, 13);
  CHECK_FAIL("idx size != file (long)", ot_idx_parse(b, n, NULL, &d, err, sizeof err), OT_EFORMAT,
             "trailing bytes");
  uint32_t huge[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
  n = make_idx(b, 0x0E, 4, huge, NULL, 0);
  CHECK_FAIL("idx dims overflow", ot_idx_parse(b, n, NULL, &d, err, sizeof err), OT_EOVERFLOW,
             "overflows");
  n = make_idx(b, 0x08, 3, (uint32_t[]){0xffffffffu, 0xffffu, 2}, NULL, 0);
  CHECK_FAIL("idx huge claims, tiny file", ot_idx_parse(b, n, NULL, &d, err, sizeof err),
             OT_EFORMAT, "file has 0 after the header");

  /* label count != image count */
  ot_io_data img, lab;
  n = make_idx(b, 0x08, 3, dims, pay, 12);
  ot_idx_parse(b, n, NULL, &img, err, sizeof err);
  n = make_idx(b, 0x08, 1, (uint32_t[]){3}, pay, 3);
  ot_idx_parse(b, n, NULL, &lab, err, sizeof err);
  CHECK_FAIL("idx label count != image count", ot_io_check_labels(&img, &lab, err, sizeof err),
             OT_ESHAPE, "the label file has 3 items, the data has 2");
  ot_io_data_free(&lab);
  n = make_idx(b, 0x08, 1, (uint32_t[]){2}, pay, 2);
  ot_idx_parse(b, n, NULL, &lab, err, sizeof err);
  CHECK("idx labels match", ot_io_check_labels(&img, &lab, err, sizeof err) == OT_OK);
  ot_io_data_free(&lab);
  ot_io_data_free(&img);
}

/* ---- gzip ----------------------------------------------------------------- */

static void test_gzip(void) {
  unsigned char b[512], pay[600], *gz, *two;
  uint32_t dims[3] = {2, 10, 30};
  ot_io_data d;
  for (int k = 0; k < 600; k++) pay[k] = (unsigned char)(k % 7);
  size_t n = make_idx(b, 0x08, 3, dims, pay, 0);
  unsigned char *raw = malloc(n + 600);
  memcpy(raw, b, n);
  memcpy(raw + n, pay, 600);
  size_t rlen = n + 600, glen = gzip_mem(raw, rlen, &gz);

  CHECK("gzip idx", ot_io_parse(gz, glen, NULL, &d, err, sizeof err) == OT_OK && d.gzip &&
                        d.format == OT_IO_IDX && d.rows == 2 && d.cols == 300 && d.x[299] == 299 % 7);
  ot_io_data_free(&d);

  void *out;
  size_t olen;
  CHECK("gunzip", ot_io_gunzip(gz, glen, OT_IO_NOLIMIT, &out, &olen, err, sizeof err) == OT_OK &&
                      olen == rlen && memcmp(out, raw, rlen) == 0);
  ot_free(out);
  CHECK_FAIL("gunzip size cap", ot_io_gunzip(gz, glen, 100, &out, &olen, err, sizeof err),
             OT_EFORMAT, "exceeds the limit of 100 bytes");
  CHECK("gunzip cap exactly the size",
        ot_io_gunzip(gz, glen, rlen, &out, &olen, err, sizeof err) == OT_OK && olen == rlen);
  ot_free(out);

  /* truncated at every point: always an error, never a crash */
  int all = 1, named = 0;
  for (size_t cut = 2; cut < glen; cut++) {
    int rc = ot_io_gunzip(gz, cut, OT_IO_NOLIMIT, &out, &olen, err, sizeof err);
    all &= rc == OT_EFORMAT && out == NULL;
    named += strstr(err, "truncated") != NULL;
  }
  CHECK("gzip truncated anywhere fails", all);
  CHECK("gzip truncated says so", named >= (int)glen - 12);
  CHECK_FAIL("gzip truncated via parse", ot_io_parse(gz, glen - 9, NULL, &d, err, sizeof err),
             OT_EFORMAT, "gzip: truncated");

  /* corrupt CRC, trailing garbage, two members */
  gz[glen - 6] ^= 0x55;
  CHECK_FAIL("gzip bad crc", ot_io_parse(gz, glen, NULL, &d, err, sizeof err), OT_EFORMAT,
             "corrupt");
  gz[glen - 6] ^= 0x55;
  two = malloc(2 * glen + 3);
  memcpy(two, gz, glen);
  memcpy(two + glen, "abc", 3);
  CHECK_FAIL("gzip trailing garbage", ot_io_gunzip(two, glen + 3, OT_IO_NOLIMIT, &out, &olen, err,
                                                   sizeof err),
             OT_EFORMAT, "3 bytes of trailing garbage");
  size_t half = 50, g1, g2;
  unsigned char *m1, *m2;
  g1 = gzip_mem(raw, half, &m1);
  g2 = gzip_mem(raw + half, rlen - half, &m2);
  memcpy(two, m1, g1);
  memcpy(two + g1, m2, g2);
  CHECK("gzip two members", ot_io_parse(two, g1 + g2, NULL, &d, err, sizeof err) == OT_OK &&
                                d.rows == 2 && d.x[299] == 299 % 7);
  ot_io_data_free(&d);
  CHECK_FAIL("gzip not gzip", ot_io_gunzip(raw, rlen, OT_IO_NOLIMIT, &out, &olen, err, sizeof err),
             OT_EFORMAT, "not gzip");
  /* a lying ISIZE trailer (4 GiB) must not make it allocate 4 GiB */
  memcpy(two, gz, glen);
  two[glen - 1] = two[glen - 2] = two[glen - 3] = two[glen - 4] = 0xff;
  size_t before = ot_mem_peak();
  ot_mem_reset_peak();
  CHECK_FAIL("gzip lying ISIZE", ot_io_gunzip(two, glen, OT_IO_NOLIMIT, &out, &olen, err, sizeof err),
             OT_EFORMAT, "corrupt");
  CHECK("gzip lying ISIZE allocates little", ot_mem_peak() < ot_mem_used() + (size_t)(1 << 20));
  (void)before;
  free(m1);
  free(m2);
  free(two);
  free(gz);
  free(raw);
}

/* ---- CSV ------------------------------------------------------------------ */

/* Parse a NUL-terminated CSV text with options (NULL: defaults). */
static int csv(const char *text, const ot_io_opts *o, ot_io_data *d) {
  return ot_csv_parse(text, strlen(text), o, d, err, sizeof err);
}

/* 1 when d holds exactly the values v[rows*cols]. */
static int csv_is(const ot_io_data *d, size_t rows, size_t cols, const double *v) {
  if (d->rows != rows || d->cols != cols || d->vec) return 0;
  for (size_t k = 0; k < rows * cols; k++)
    if (!same(d->x[k], v[k])) return 0;
  return 1;
}

static void test_csv_basic(void) {
  ot_io_data d;
  ot_io_opts o;
  static const double v6[] = {1, 2, 3, 4, 5, 6};

  CHECK("csv plain", csv("1,2,3\n4,5,6\n", NULL, &d) == OT_OK && csv_is(&d, 2, 3, v6) && !d.header);
  ot_io_data_free(&d);
  CHECK("csv no final newline", csv("1,2,3\n4,5,6", NULL, &d) == OT_OK && csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  CHECK("csv CRLF", csv("1,2,3\r\n4,5,6\r\n", NULL, &d) == OT_OK && csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  CHECK("csv BOM", csv("\xEF\xBB\xBF" "1,2,3\n4,5,6\n", NULL, &d) == OT_OK && csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  CHECK("csv empty lines", csv("\n\n1,2,3\n\n  \r\n4,5,6\n\n", NULL, &d) == OT_OK &&
                               csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  CHECK("csv blanks around fields", csv(" 1 ,\t2, 3\n4,5 ,6 \n", NULL, &d) == OT_OK &&
                                        csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  CHECK("csv quoted numbers", csv("\"1\",2,\"3\"\n4,5,6\n", NULL, &d) == OT_OK && csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  static const double vx[] = {-1.5, 2e-3, 0.5, 1e10, -0.0, 3};
  CHECK("csv number forms", csv("-1.5,+2e-3,.5\n1E+10,-0,3.\n", NULL, &d) == OT_OK &&
                                csv_is(&d, 2, 3, vx));
  ot_io_data_free(&d);
  CHECK("csv underflow reads as the nearest double",
        csv("1e-400,4.9e-324\n", NULL, &d) == OT_OK && d.x[0] == 0 && d.x[1] > 0);
  ot_io_data_free(&d);

  /* headers: auto, forced, quoted names */
  CHECK("csv header auto", csv("a,b,c\n1,2,3\n4,5,6\n", NULL, &d) == OT_OK && d.header &&
                               csv_is(&d, 2, 3, v6) && strcmp(d.names, "a") == 0 &&
                               strcmp(d.names + 2, "b") == 0 && strcmp(d.names + 4, "c") == 0);
  ot_io_data_free(&d);
  CHECK("csv header quoted", csv("\"x, one\",\"say \"\"hi\"\"\"\n1,2\n", NULL, &d) == OT_OK &&
                                 d.header && strcmp(d.names, "x, one") == 0 &&
                                 strcmp(d.names + 7, "say \"hi\"") == 0);
  ot_io_data_free(&d);
  ot_io_opts_init(&o);
  o.header = 1;
  CHECK("csv header forced", csv("10,20,30\n1,2,3\n4,5,6\n", &o, &d) == OT_OK && d.header &&
                                 csv_is(&d, 2, 3, v6) && strcmp(d.names, "10") == 0);
  ot_io_data_free(&d);
  o.header = 0;
  CHECK_FAIL("csv header refused", csv("a,b,c\n1,2,3\n", &o, &d), OT_EFORMAT,
             "line 1, column 1: value 'a' is not a number");
  CHECK("csv header only", csv("a,b,c\n", NULL, &d) == OT_OK && d.rows == 0 && d.cols == 3);
  ot_io_data_free(&d);
  CHECK_FAIL("csv mixed first row is data", csv("a,2,3\n1,2,3\n", NULL, &d), OT_EFORMAT,
             "line 1, column 1");

  /* delimiters */
  ot_io_opts_init(&o);
  o.delimiter = '\t';
  CHECK("csv tab", csv("1\t2\t3\n4\t5\t6\n", &o, &d) == OT_OK && csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  o.delimiter = ' ';
  CHECK("csv blanks", csv("  1  2\t3\n4 5    6  \n", &o, &d) == OT_OK && csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  CHECK("csv blanks with quotes", csv("\"a b\" \"c\"\n1 2\n", &o, &d) == OT_OK && d.header &&
                                       strcmp(d.names, "a b") == 0 && d.rows == 1);
  ot_io_data_free(&d);
  CHECK_FAIL("csv blanks, text after quote", csv("\"a\"b 1\n", &o, &d), OT_EFORMAT,
             "text after a closing quote");
  o.delimiter = ';';
  CHECK("csv semicolon", csv("1;2;3\n4;5;6", &o, &d) == OT_OK && csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  o.delimiter = '"';
  CHECK_FAIL("csv bad delimiter", csv("1\n", &o, &d), OT_EINVAL, "cannot be a delimiter");

  /* labels */
  ot_io_opts_init(&o);
  o.label_col = -1;
  CHECK("csv numeric labels", csv("1,2,7\n3,4,9\n", &o, &d) == OT_OK && d.rows == 2 &&
                                  d.cols == 2 && d.y && d.y[0] == 7 && d.y[1] == 9 &&
                                  d.x[2] == 3 && !d.classes);
  ot_io_data_free(&d);
  o.label_col = 1;
  CHECK("csv text labels", csv("id,f1,f2\nsetosa,1,2\nvirginica,3,4\nsetosa,5,6\n", &o, &d) ==
                                   OT_OK && d.header && d.rows == 3 && d.cols == 2 &&
                               d.nclasses == 2 && strcmp(d.classes, "setosa") == 0 &&
                               strcmp(d.classes + 7, "virginica") == 0 && d.y[0] == 0 &&
                               d.y[1] == 1 && d.y[2] == 0 && strcmp(d.label_name, "id") == 0 &&
                               strcmp(d.names, "f1") == 0 && d.x[5] == 6);
  ot_io_data_free(&d);
  CHECK("csv text labels sorted", csv("b,1\na,2\nc,3\n", &o, &d) == OT_OK && !d.header &&
                                      d.y[0] == 1 && d.y[1] == 0 && d.y[2] == 2);
  ot_io_data_free(&d);
  o.label_col = 4;
  CHECK_FAIL("csv label_col out of range", csv("1,2,3\n", &o, &d), OT_EINVAL,
             "label_col 4 is out of range for 3 columns");
  o.label_col = -4;
  CHECK_FAIL("csv label_col -4", csv("1,2,3\n", &o, &d), OT_EINVAL, "label_col -4");
  o.label_col = 2;
  CHECK_FAIL("csv label nan", csv("1,2,3\n1,nan,3\n", &o, &d), OT_EFORMAT,
             "line 2, column 2: label 'nan' is not finite");
  CHECK_FAIL("csv empty label", csv("1,a,3\n1,,3\n", &o, &d), OT_EFORMAT, "line 2, column 2: empty label");

  /* limit: the rows past it are not even looked at */
  ot_io_opts_init(&o);
  o.limit = 2;
  CHECK("csv limit", csv("1,2,3\n4,5,6\n7,8\nx\n", &o, &d) == OT_OK && csv_is(&d, 2, 3, v6));
  ot_io_data_free(&d);
  o.limit = 0;
  CHECK("csv limit 0", csv("1,2,3\n4,5,6\n", &o, &d) == OT_OK && d.rows == 0 && d.cols == 3);
  ot_io_data_free(&d);
}

static void test_csv_hostile(void) {
  ot_io_data d;
  ot_io_opts o;
  CHECK_FAIL("csv ragged short", csv("1,2,3\n4,5\n", NULL, &d), OT_EFORMAT,
             "csv: line 2 has 2 fields, expected 3 like line 1");
  CHECK_FAIL("csv ragged long", csv("a,b\n1,2\n\n3,4,5\n", NULL, &d), OT_EFORMAT,
             "line 4 has 3 fields, expected 2 like line 1");
  CHECK_FAIL("csv non-numeric", csv("1,2,3\n4,abc,6\n", NULL, &d), OT_EFORMAT,
             "csv: line 2, column 2: value 'abc' is not a number");
  CHECK_FAIL("csv number with junk", csv("1,2,3\n4,5x,6\n", NULL, &d), OT_EFORMAT,
             "line 2, column 2: value '5x'");
  CHECK_FAIL("csv hex float", csv("1,2\n0x10,1\n", NULL, &d), OT_EFORMAT, "'0x10' is not a number");
  CHECK_FAIL("csv binary junk", csv("1,2\n\x01\x7f,1\n", NULL, &d), OT_EFORMAT, "'\\x01\\x7f'");
  CHECK_FAIL("csv empty field", csv("1,,3\n", NULL, &d), OT_EFORMAT, "line 1, column 2: empty field");
  CHECK_FAIL("csv nan", csv("1,2\n3,nan\n", NULL, &d), OT_EFORMAT,
             "line 2, column 2: 'nan' is not finite");
  CHECK_FAIL("csv inf", csv("1,2\n-Infinity,4\n", NULL, &d), OT_EFORMAT, "'-Infinity' is not finite");
  ot_io_opts_init(&o);
  o.allow_nonfinite = 1;
  CHECK("csv nan/inf allowed", csv("1,NaN\n-inf,INF\n", &o, &d) == OT_OK && isnan(d.x[1]) &&
                                   d.x[2] == -INFINITY && d.x[3] == INFINITY);
  ot_io_data_free(&d);
  CHECK_FAIL("csv ERANGE", csv("1,2\n3,1e999\n", NULL, &d), OT_EFORMAT,
             "line 2, column 2: '1e999' is out of the range of a double (ERANGE)");
  CHECK_FAIL("csv ERANGE negative", csv("-1.8e308,2\n", NULL, &d), OT_EFORMAT, "ERANGE");
  CHECK_FAIL("csv unterminated quote", csv("1,\"2\n3,4\n", NULL, &d), OT_EFORMAT,
             "line 1, column 2: unterminated quote");
  CHECK_FAIL("csv text after quote", csv("1,\"2\"x\n", NULL, &d), OT_EFORMAT,
             "text after a closing quote");
  CHECK_FAIL("csv empty", csv("", NULL, &d), OT_EFORMAT, "empty");
  CHECK_FAIL("csv blank", csv("\n \r\n\t\n", NULL, &d), OT_EFORMAT, "empty or blank");
  CHECK_FAIL("csv UTF-16", csv("\xFF\xFE" "1\0,\0" "2\0", NULL, &d), OT_EFORMAT, "UTF-16");

  /* decimal comma: in a ';' file, and a ';' file read with ',' */
  ot_io_opts_init(&o);
  o.delimiter = ';';
  CHECK_FAIL("csv decimal comma", csv("1,5;2,5\n3,0;4,25\n", &o, &d), OT_EFORMAT,
             "line 1, column 1: '1,5' is not a number (a decimal comma?");
  CHECK_FAIL("csv wrong delimiter", csv("1,5;2,5\n3,0;4,25\n", NULL, &d), OT_EFORMAT,
             "line 1, column 2: '5;2' is not a number (is the delimiter ';'?");

  /* over-long lines: a small cap, and the default 1 MiB */
  ot_io_opts_init(&o);
  o.max_line = 16;
  CHECK_FAIL("csv long line", csv("1,2\n1,2,3,4,5,6,7,8,9\n", &o, &d), OT_EFORMAT,
             "line 2 is 17 bytes long, over the limit of 16");
  size_t big = ((size_t)1 << 20) + 10;
  char *line = malloc(big + 1);
  for (size_t k = 0; k < big; k++) line[k] = k % 2 ? ',' : '1';
  line[big - 1] = '1';
  line[big] = '\0';
  CHECK_FAIL("csv 1 MiB line", csv(line, NULL, &d), OT_EFORMAT, "over the limit of 1048576");
  free(line);

  /* every prefix of a valid text parses or fails cleanly */
  const char *t = "a,b,\"c\"\r\n1,2.5e3,-3\n\n4,5,6\r\n";
  int clean = 1;
  for (size_t cut = 0; cut <= strlen(t); cut++) {
    int rc = ot_csv_parse(t, cut, NULL, &d, err, sizeof err);
    clean &= rc == OT_OK || rc == OT_EFORMAT;
    ot_io_data_free(&d);
  }
  CHECK("csv every prefix parses or fails cleanly", clean);
}

/* ---- files ---------------------------------------------------------------- */

static char tmpdir[64];

static const char *tmp(const char *name) {
  static char path[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
  return path[k];
}

/* Number of entries in the temp dir (a failed save must leave none). */
static int dir_entries(void) {
  DIR *dir = opendir(tmpdir);
  int n = 0;
  struct dirent *e;
  while (dir && (e = readdir(dir)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  if (dir) closedir(dir);
  return n;
}

/* A deterministic matrix with awkward values. */
static void fill(double *x, size_t n) {
  uint64_t s = 88172645463325252u;
  for (size_t k = 0; k < n; k++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    double u = (double)(s >> 11) / 9007199254740992.0;
    x[k] = (u - 0.5) * pow(10, (int)(s % 41) - 20);
  }
  x[0] = -0.0;
  x[1] = 0.1;
  x[2] = 1.0 / 3;
  x[3] = 5e-324;
  x[4] = 1.7976931348623157e308;
}

/* Save m to name, load it back, compare bit for bit. */
static void roundtrip(const char *name, ot_mat m, int vec, const ot_io_save_opts *so, int want_gz) {
  ot_io_data d;
  int rc = ot_io_save(tmp(name), m, vec, so, err, sizeof err);
  CHECK(name, rc == OT_OK);
  if (rc) printf("  save %s: %s\n", name, err);
  rc = ot_io_load(tmp(name), NULL, &d, err, sizeof err);
  CHECK(name, rc == OT_OK);
  if (rc) {
    printf("  load %s: %s\n", name, err);
    return;
  }
  int exact = d.rows == m.rows && d.cols == m.cols && d.vec == vec && d.gzip == want_gz;
  for (size_t i = 0; exact && i < m.rows; i++)
    for (size_t j = 0; j < m.cols; j++) exact &= same(d.x[i * m.cols + j], OT_AT(m, i, j));
  CHECK(name, exact);
  ot_io_data_free(&d);
}

static void test_files(void) {
  double x[35], u8[35], lab[7];
  ot_io_save_opts so;
  ot_io_data d;
  ot_io_opts o;
  fill(x, 35);
  for (int k = 0; k < 35; k++) u8[k] = (k * 37) % 256;
  for (int k = 0; k < 7; k++) lab[k] = k % 3;
  ot_mat m = ot_mat_view(x, 7, 5), mu = ot_mat_view(u8, 7, 5);

  ot_io_save_opts_init(&so);
  roundtrip("a.npy", m, 0, &so, 0);
  roundtrip("a.csv", m, 0, &so, 0);
  roundtrip("a.tsv", m, 0, &so, 0);
  roundtrip("a.idx", m, 0, &so, 0);
  roundtrip("a.npy.gz", m, 0, &so, 1);
  roundtrip("a.csv.gz", m, 0, &so, 1);
  roundtrip("train-images-idx2-ubyte.gz", m, 0, &so, 1);
  roundtrip("v.npy", ot_mat_view(x, 35, 1), 1, &so, 0);
  roundtrip("v.idx1", ot_mat_view(x, 35, 1), 1, &so, 0);
  so.dtype = OT_IO_U8;
  roundtrip("u.idx", mu, 0, &so, 0);
  ot_io_save_opts_init(&so);
  so.format = OT_IO_NPY;
  roundtrip("a.dat", m, 0, &so, 0); /* format by content when the name says nothing */

  /* a tsv really has tabs; a csv with names and labels */
  void *buf;
  size_t len;
  ot_io_read_file(tmp("a.tsv"), OT_IO_NOLIMIT, &buf, &len, err, sizeof err);
  CHECK("tsv has tabs", memchr(buf, '\t', len) && !memchr(buf, ',', len));
  ot_free(buf);
  const char *names[] = {"alpha", "b,eta", "\"g\"", " d", "e", "class"};
  ot_io_save_opts_init(&so);
  so.names = names;
  so.nnames = 6;
  so.labels = lab;
  CHECK("csv save names + labels", ot_io_save(tmp("n.csv"), m, 0, &so, err, sizeof err) == OT_OK);
  ot_io_opts_init(&o);
  o.label_col = -1;
  CHECK("csv load names + labels", ot_io_load(tmp("n.csv"), &o, &d, err, sizeof err) == OT_OK);
  CHECK("csv names back", d.header && strcmp(d.names, "alpha") == 0 &&
                             strcmp(d.names + 6, "b,eta") == 0 && strcmp(d.names + 12, "\"g\"") == 0 &&
                             strcmp(d.names + 16, " d") == 0 && strcmp(d.label_name, "class") == 0);
  CHECK("csv labels back", d.y && d.y[4] == 1 && d.y[5] == 2 && same(d.x[6], x[6]));
  ot_io_data_free(&d);
  so.nnames = 3;
  CHECK_FAIL("csv save wrong name count", ot_io_save(tmp("n.csv"), m, 0, &so, err, sizeof err),
             OT_EINVAL, "3 header names for 6 columns");
  const char *bad[] = {"a", "b\nc", "d", "e", "f"};
  so.names = bad;
  so.nnames = 5;
  so.labels = NULL;
  CHECK_FAIL("csv save name with newline", ot_io_save(tmp("n.csv"), m, 0, &so, err, sizeof err),
             OT_EINVAL, "line break");

  /* atomic replace: a failed save leaves the old file and no temporary */
  ot_io_save_opts_init(&so);
  so.dtype = OT_IO_U8;
  CHECK("idx u8 save", ot_io_save(tmp("keep.idx"), mu, 0, &so, err, sizeof err) == OT_OK);
  chmod(tmp("keep.idx"), 0640);
  int before = dir_entries();
  CHECK_FAIL("idx u8 refuses 2.5-like values", ot_io_save(tmp("keep.idx"), m, 0, &so, err, sizeof err),
             OT_EINVAL, "not an integer in 0..255");
  CHECK("failed save leaves no temporary", dir_entries() == before);
  CHECK("failed save keeps the old file", ot_io_load(tmp("keep.idx"), NULL, &d, err, sizeof err) ==
                                              OT_OK && d.x[34] == u8[34]);
  ot_io_data_free(&d);
  ot_io_save_opts_init(&so);
  CHECK("save over an existing file", ot_io_save(tmp("keep.idx"), m, 0, &so, err, sizeof err) == OT_OK);
  struct stat st;
  CHECK("save keeps the mode", stat(tmp("keep.idx"), &st) == 0 && (st.st_mode & 0777) == 0640);
  CHECK("no temporary after success", dir_entries() == before);

  /* through a symbolic link: the target is replaced, the link kept */
  symlink("a.npy", tmp("link.npy"));
  CHECK("save through a link", ot_io_save(tmp("link.npy"), mu, 0, &so, err, sizeof err) == OT_OK);
  CHECK("link kept", lstat(tmp("link.npy"), &st) == 0 && S_ISLNK(st.st_mode));
  CHECK("target replaced", ot_io_load(tmp("a.npy"), NULL, &d, err, sizeof err) == OT_OK &&
                               d.x[1] == u8[1]);
  ot_io_data_free(&d);

  /* the file system says no */
  CHECK_FAIL("save into a missing dir", ot_io_save(tmp("nope/x.npy"), m, 0, &so, err, sizeof err),
             OT_EIO, "nope/x.npy: No such file or directory");
  CHECK_FAIL("save to a full disk", ot_io_save("/dev/full", m, 0, &(ot_io_save_opts){OT_IO_NPY, 0, 0, NULL, 0, NULL, 0},
                                               err, sizeof err),
             OT_EIO, "/dev/full: No space left on device");
  CHECK_FAIL("save with no format", ot_io_save(tmp("x.dat"), m, 0, &so, err, sizeof err), OT_EINVAL,
             "cannot tell the format");
  CHECK_FAIL("load a missing file", ot_io_load(tmp("missing.npy"), NULL, &d, err, sizeof err), OT_EIO,
             "missing.npy: No such file or directory");
  CHECK_FAIL("load a directory", ot_io_load(tmpdir, NULL, &d, err, sizeof err), OT_EIO,
             "Is a directory");
  ot_io_opts_init(&o);
  o.max_bytes = 100;
  CHECK_FAIL("load over max_bytes", ot_io_load(tmp("a.npy"), &o, &d, err, sizeof err), OT_EFORMAT,
             "over the limit of 100");
  CHECK_FAIL("load gz over max_bytes", ot_io_load(tmp("a.csv.gz"), &o, &d, err, sizeof err),
             OT_EFORMAT, "limit of 100");

  /* file names */
  int gz;
  CHECK("name npy", ot_io_format_from_name("/x/y.NPY", &gz) == OT_IO_NPY && !gz);
  CHECK("name csv.gz", ot_io_format_from_name("y.csv.gz", &gz) == OT_IO_CSV && gz);
  CHECK("name mnist", ot_io_format_from_name("t10k-labels.idx1-ubyte", &gz) == OT_IO_IDX);
  CHECK("name mnist gz", ot_io_format_from_name("train-images-idx3-ubyte.gz", &gz) == OT_IO_IDX && gz);
  CHECK("name idx3", ot_io_format_from_name("a.idx3", NULL) == OT_IO_IDX);
  CHECK("name unknown", ot_io_format_from_name("a.npy/b", NULL) == OT_IO_AUTO);
}

/* ---- locale --------------------------------------------------------------- */

/* Switch LC_NUMERIC to a decimal-comma locale, building one with
 * localedef under the temp dir when none is installed; 0 if impossible. */
static int decimal_comma_locale(void) {
  static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", NULL};
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; names[i]; i++)
      if (setlocale(LC_NUMERIC, names[i]) && localeconv()->decimal_point[0] == ',') return 1;
    if (pass == 0) {
      char cmd[512];
      snprintf(cmd, sizeof cmd,
               "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", tmpdir);
      if (system(cmd) != 0) return 0;
      setenv("LOCPATH", tmpdir, 1);
    }
  }
  return 0;
}

static void test_locale(void) {
  ot_io_data d;
  if (!decimal_comma_locale()) {
    printf("note: no decimal-comma locale available; locale test skipped\n");
    return;
  }
  char probe[32];
  snprintf(probe, sizeof probe, "%.1f", 1.5);
  CHECK("locale really uses a decimal comma", strcmp(probe, "1,5") == 0);
  CHECK("csv reads '.' under a decimal-comma locale",
        csv("1.5,2.25\n-3.125,4e-1\n", NULL, &d) == OT_OK && d.x[0] == 1.5 && d.x[1] == 2.25 &&
            d.x[2] == -3.125 && d.x[3] == 0.4);
  ot_io_data_free(&d);
  double v[2] = {1.5, 0.1};
  char *mem = NULL;
  size_t mlen = 0;
  FILE *f = open_memstream(&mem, &mlen);
  ot_csv_write(f, ot_mat_view(v, 1, 2), NULL, err, sizeof err);
  fclose(f);
  CHECK("csv writes '.' under a decimal-comma locale", mem && strcmp(mem, "1.5,0.1\n") == 0);
  free(mem);
  snprintf(probe, sizeof probe, "%.1f", 1.5);
  CHECK("locale restored after csv", strcmp(probe, "1,5") == 0);
  setlocale(LC_NUMERIC, "C");
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s/de_DE.UTF-8", tmpdir);
  if (system(cmd) != 0) printf("note: could not remove the test locale\n");
}

/* ---- mutations: every parser survives corrupted inputs -------------------- */

static uint64_t mut_state = 0x9E3779B97F4A7C15u;
static uint64_t mut_next(void) {
  mut_state ^= mut_state << 13;
  mut_state ^= mut_state >> 7;
  mut_state ^= mut_state << 17;
  return mut_state;
}

/* Parse `rounds` random corruptions of buf (byte flips, cuts, growth) with
 * and without options; each must succeed or fail with a parse status and
 * leave nothing allocated.  Under ASan this is a small seeded fuzzer. */
static void mutate(const char *name, const void *buf, size_t len, int rounds) {
  unsigned char *m = malloc(len + 64);
  int ok = 1, parsed = 0;
  size_t base = ot_mem_used();
  ot_io_opts o;
  for (int r = 0; r < rounds; r++) {
    size_t n = len;
    memcpy(m, buf, len);
    int edits = 1 + (int)(mut_next() % 4);
    for (int e = 0; e < edits; e++) {
      uint64_t z = mut_next();
      switch (z % 8) {
        case 0: n = n ? (size_t)(mut_next() % n) : 0; break;                  /* cut */
        case 1: if (n + 8 <= len + 64) { memset(m + n, (int)(z >> 8), 8); n += 8; } break;
        case 2: if (n) m[mut_next() % n] = (unsigned char)"0,.-e\n\"9"[(z >> 8) % 8]; break;
        default: if (n) m[mut_next() % n] = (unsigned char)(z >> 16); break;   /* any byte */
      }
    }
    ot_io_opts_init(&o);
    if (r % 3 == 1) o.limit = 1 + (size_t)(mut_next() % 3);
    if (r % 5 == 2) o.label_col = -1;
    if (r % 7 == 3) o.allow_nonfinite = 1;
    ot_io_data d;
    int rc = ot_io_parse(m, n, &o, &d, err, sizeof err);
    parsed += rc == OT_OK;
    if (rc != OT_OK && rc != OT_EFORMAT && rc != OT_EUNSUPPORTED && rc != OT_EOVERFLOW &&
        rc != OT_EINVAL) {
      ok = 0;
      printf("  %s mutation %d: status %s: %s\n", name, r, ot_strerror(rc), err);
    }
    if (rc == OT_OK && d.rows && d.cols && !d.x) ok = 0;
    ot_io_data_free(&d);
  }
  CHECK(name, ok && ot_mem_used() == base);
  printf("  mutations of %s: %d of %d parsed\n", name, parsed, rounds);
  free(m);
}

static void test_mutations(void) {
  size_t len;
  void *buf = fixture("f8_le.npy", &len);
  if (buf) mutate("npy f8", buf, len, 4000);
  ot_free(buf);
  buf = fixture("fortran_3d.npy", &len);
  if (buf) mutate("npy fortran 3-d", buf, len, 2000);
  ot_free(buf);
  buf = fixture("i2_be.npy", &len);
  if (buf) mutate("npy i2 big-endian", buf, len, 2000);
  ot_free(buf);
  const char *t = "a,b,\"c d\",label\r\n1,2.5e3,-3,x\n\n4,.5,6,y\r\n7,8,9e-1,x\n";
  mutate("csv", t, strlen(t), 4000);
  unsigned char b[256], pay[24];
  for (int k = 0; k < 24; k++) pay[k] = (unsigned char)k;
  size_t n = make_idx(b, 0x08, 3, (uint32_t[]){2, 3, 4}, pay, 24);
  mutate("idx", b, n, 3000);
  n = make_idx(b, 0x0B, 2, (uint32_t[]){3, 4}, pay, 24);
  mutate("idx i16", b, n, 2000);
  unsigned char *gz;
  size_t glen = gzip_mem(t, strlen(t), &gz);
  mutate("gzip csv", gz, glen, 3000);
  free(gz);
}

/* ---- memory faults and the budget ------------------------------------------ */

typedef int (*scenario)(void);

static int sc_csv(void) {
  ot_io_data d;
  ot_io_opts o;
  ot_io_opts_init(&o);
  o.label_col = 1;
  int rc = csv("k,a,b\nx,1,2\ny,3,4\nx,5,6\nzz,1e5,7\n", &o, &d);
  ot_io_data_free(&d);
  return rc;
}

static int sc_load_gz(void) {
  ot_io_data d;
  int rc = ot_io_load(tmp("a.npy.gz"), NULL, &d, err, sizeof err);
  ot_io_data_free(&d);
  return rc;
}

static int sc_save_gz(void) {
  double x[6] = {1, 2, 3, 4, 5, 6};
  return ot_io_save(tmp("f.csv.gz"), ot_mat_view(x, 2, 3), 0, NULL, err, sizeof err);
}

static void test_faults(void) {
  static const struct { const char *name; scenario fn; } sc[] = {
    {"csv with text labels", sc_csv}, {"load .npy.gz", sc_load_gz}, {"save .csv.gz", sc_save_gz}};
  for (size_t s = 0; s < sizeof sc / sizeof sc[0]; s++) {
    size_t base = ot_mem_used();
    int ok = 1, done = 0;
    long n;
    for (n = 1; n < 500 && !done; n++) {
      ot_mem_fail_after(n);
      int rc = sc[s].fn();
      ot_mem_fail_after(0);
      if (rc == OT_OK) done = 1;
      else if (rc != OT_ENOMEM && rc != OT_EBUDGET) {
        ok = 0;
        printf("  %s: allocation %ld failing gave %s: %s\n", sc[s].name, n, ot_strerror(rc), err);
      }
      if (ot_mem_used() != base) {
        ok = 0;
        printf("  %s: allocation %ld failing leaked %zu bytes\n", sc[s].name, n,
               ot_mem_used() - base);
      }
    }
    CHECK(sc[s].name, ok && done && n > 2);
  }
  CHECK("no temporaries left by failed saves", dir_entries() > 0);

  /* over the budget: refused before allocating, with a clear message */
  unsigned char *b = malloc(80100);
  size_t n = make_npy(b, 80100, 1, 0,
                      "{'descr': '<f8', 'fortran_order': False, 'shape': (100, 100), }\n", 80000);
  size_t old = ot_mem_limit();
  ot_mem_set_limit(ot_mem_used() + 50000);
  ot_io_data d;
  CHECK_FAIL("npy over the budget", ot_npy_parse(b, n, NULL, &d, err, sizeof err), OT_EBUDGET,
             "the 100x100 result needs 78.1 KiB, over the memory budget");
  ot_mem_set_limit(old);
  free(b);
}

int main(void) {
  size_t base = ot_mem_used();
  snprintf(tmpdir, sizeof tmpdir, "/tmp/otlab-io-XXXXXX");
  if (!mkdtemp(tmpdir)) {
    printf("cannot create a temp dir\n");
    return 1;
  }
  test_npy_dtypes();
  test_npy_layouts();
  test_npy_writer();
  test_npy_hostile();
  test_idx();
  test_gzip();
  test_csv_basic();
  test_csv_hostile();
  test_files();
  test_locale();
  test_mutations();
  test_faults();
  CHECK("all counted memory released", ot_mem_used() == base);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0) printf("note: could not remove %s\n", tmpdir);
  return test_report();
}
