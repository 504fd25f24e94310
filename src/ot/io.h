/*
 * io.h -- data files: NumPy .npy, CSV and MNIST IDX readers and writers,
 * plain or gzip-compressed.
 *
 * Reading is split in two layers.  The parsers (ot_npy_parse, ot_csv_parse,
 * ot_idx_parse, ot_io_gunzip) work on a buffer in memory and trust nothing
 * in it: every size read from a header is checked for overflow and against
 * the bytes actually present before anything is allocated, so they can be
 * fuzzed directly.  The front-end ot_io_load reads a file into a buffer,
 * inflates it when it starts with the gzip magic, picks the parser and
 * frees the buffers before returning.
 *
 * Results are doubles, row-major.  A 1-d array (npy shape (n,), an IDX
 * label file) is a vector: rows = n, cols = 1, vec = 1.  A 2-d array is a
 * rows x cols matrix.  An array with more dimensions keeps its first one as
 * the rows and flattens the others, in C order, into the columns (60000
 * MNIST images of 28x28 become a 60000 x 784 matrix).  A 0-d npy array is a
 * vector of length 1.  CSV always gives a matrix.
 *
 * Values are validated at load: NaN and +-Inf are refused unless
 * opts.allow_nonfinite is set (the kernels trust their inputs).
 *
 * Errors: every function returns an OT_* status and, when err is not NULL,
 * writes a one-line reason into err (errlen bytes, NUL-terminated, at most
 * truncated) that starts with the format, e.g.
 *   npy: header says 100x3 <f8 = 2400 bytes, file has 800 after the header
 *   csv: line 7, column 3: 'abc' is not a number
 * Status codes:
 *   OT_EIO          the file system refused (missing file, permission, disk
 *                   full); the reason is "<path>: <strerror(errno)>"
 *   OT_EFORMAT      the content is malformed (bad magic, sizes that do not
 *                   add up, truncated gzip, a non-numeric CSV token...)
 *   OT_EUNSUPPORTED a valid feature otlab does not read (complex dtypes,
 *                   structured arrays, npy with more than 32 dimensions)
 *   OT_EOVERFLOW    a size in the header overflows size_t
 *   OT_EBUDGET, OT_ENOMEM  the result does not fit the memory budget
 *   OT_EINVAL       a bad option, or values a writer cannot store
 */
#ifndef OT_IO_H
#define OT_IO_H

#include <stdio.h>

#include "mat.h"

/* File formats. */
enum {
  OT_IO_AUTO = 0,  /* from the file name, else from the content */
  OT_IO_NPY,
  OT_IO_CSV,
  OT_IO_IDX
};

#define OT_IO_NOLIMIT ((size_t)-1)
#define OT_IO_MAXDIM 32          /* most dimensions accepted in a .npy */
#define OT_IO_NPY_MAXHEADER 65536 /* most header bytes accepted in a .npy */

/* Which result an allocation hook is asked for. */
enum { OT_IO_X = 0, OT_IO_Y = 1 };

/*
 * Allocation hook for the results.  Called at most once per result with
 * its final shape, after the input has been validated enough to know it;
 * returns storage for rows * cols doubles that the caller owns, or NULL to
 * make the parser fail with OT_ENOMEM.  `vec` is 1 for a vector.  The hook
 * must not longjmp (a Lua caller runs its allocation under lua_pcall).
 */
typedef double *(*ot_io_alloc_fn)(void *ud, int which, size_t rows, size_t cols, int vec);

/* Reading options; fill with ot_io_opts_init() first. */
typedef struct ot_io_opts {
  int format;           /* OT_IO_AUTO (default), OT_IO_NPY, OT_IO_CSV, OT_IO_IDX */
  size_t limit;         /* read at most this many rows (items); OT_IO_NOLIMIT (default) */
  long label_col;       /* split this column off as labels y: k > 0 the k-th column
                           (1-based), k < 0 counts from the end (-1 the last);
                           0 (default) none.  Needs a matrix. */
  int allow_nonfinite;  /* 1: keep NaN/Inf values (labels never); default 0 */
  int header;           /* CSV: -1 auto (default: a first row with a token that is
                           not a number is a header), 0 no header, 1 header */
  char delimiter;       /* CSV: field separator; 0 (default): tab for a .tsv name,
                           else ','.  ' ' means runs of blanks. */
  size_t max_line;      /* CSV: longest line accepted, bytes; default 1 MiB */
  size_t max_bytes;     /* most bytes read from the file and inflated from gzip;
                           default OT_IO_NOLIMIT (only the memory budget limits) */
  ot_io_alloc_fn alloc; /* NULL (default): results from ot_alloc_doubles, owned
                           by the ot_io_data and freed by ot_io_data_free */
  void *alloc_ud;
} ot_io_opts;

void ot_io_opts_init(ot_io_opts *o);

/*
 * What a reader produced.  Initialize with ot_io_data_init(); release with
 * ot_io_data_free() (which leaves it initialized again).  x and y are freed
 * there only when they came from the default allocator (own_x, own_y); to
 * keep x past the free, take the pointer and set own_x = 0, then release it
 * later with ot_free().
 */
typedef struct ot_io_data {
  double *x;            /* rows x cols, row-major, contiguous */
  size_t rows, cols;
  int vec;              /* 1: x is a vector (cols == 1) */
  double *y;            /* labels split off by label_col: rows values; else NULL */
  int format;           /* OT_IO_NPY, OT_IO_CSV or OT_IO_IDX */
  int gzip;             /* 1: the file was gzip-compressed */
  int ndim;             /* dimensions of the stored array (CSV: 2) */
  size_t shape[OT_IO_MAXDIM]; /* the stored shape (CSV: data rows read, fields) */
  size_t total;         /* rows (items) in the file, before limit; for CSV read
                           with a limit, the rows read */
  char dtype[8];        /* stored element type as a NumPy descr: "<f8", "|u1", ">i2" */
  int fortran;          /* npy: stored in Fortran order (converted) */
  int version[2];       /* npy: format version, e.g. {1, 0} */
  int header;           /* CSV: 1 when a header row was read */
  char delimiter;       /* CSV: the delimiter used */
  char *names;          /* CSV header: the names of x's cols columns, each
                           NUL-terminated, back to back; NULL without header */
  char *label_name;     /* CSV header: the name of the label column, or NULL */
  char *classes;        /* CSV text labels: nclasses names back to back (sorted,
                           byte order); the label of class k (0-based) is k */
  size_t nclasses;
  int own_x, own_y;     /* internal: x, y came from ot_alloc_doubles */
} ot_io_data;

void ot_io_data_init(ot_io_data *d);
void ot_io_data_free(ot_io_data *d);

/*
 * Parsers.  buf holds len bytes (need not be NUL-terminated); o may be NULL
 * for the defaults.  On success d holds the result; on failure d is freed
 * and initialized again and err says why.  ot_io_parse inflates gzip
 * content and dispatches on o->format (OT_IO_AUTO: by content: the npy
 * magic, the IDX magic, else CSV); the others take their own format only.
 */
int ot_io_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d,
                char *err, size_t errlen);
int ot_npy_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d,
                 char *err, size_t errlen);
int ot_csv_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d,
                 char *err, size_t errlen);
int ot_idx_parse(const void *buf, size_t len, const ot_io_opts *o, ot_io_data *d,
                 char *err, size_t errlen);

/*
 * Inflate gzip data (one or more members) into *out (ot_malloc, the caller
 * frees it with ot_free) of *outlen bytes.  At most max_out bytes are
 * produced (OT_EFORMAT beyond).  Truncated or corrupt data is OT_EFORMAT.
 */
int ot_io_gunzip(const void *buf, size_t len, size_t max_out, void **out, size_t *outlen,
                 char *err, size_t errlen);

/* 1 when buf starts with the gzip magic bytes 1f 8b. */
int ot_io_is_gzip(const void *buf, size_t len);

/*
 * The format a file name implies: ".npy" -> OT_IO_NPY, ".csv"/".tsv"
 * -> OT_IO_CSV, ".idx*", "*ubyte" -> OT_IO_IDX, after a ".gz" suffix is
 * stripped (*gz is set to 1 then; gz may be NULL); otherwise OT_IO_AUTO.
 */
int ot_io_format_from_name(const char *path, int *gz);
/* "npy", "csv", "idx" or "auto". */
const char *ot_io_format_name(int format);

/*
 * Read the whole file at path into *buf (ot_malloc; ot_free it), at most
 * max_bytes (OT_EFORMAT when larger).  OT_EIO with "<path>: <strerror>"
 * when the file cannot be opened or read (a directory included); the other
 * messages do not repeat the path.
 */
int ot_io_read_file(const char *path, size_t max_bytes, void **buf, size_t *len,
                    char *err, size_t errlen);

/*
 * Load a file: read it, inflate it if it is gzip-compressed (whatever its
 * name), and parse it in the format o->format, else the one its name
 * implies, else the one its content shows.  The file buffers are freed
 * before returning.  For CSV, delimiter 0 means tab for a ".tsv" name.
 */
int ot_io_load(const char *path, const ot_io_opts *o, ot_io_data *d, char *err, size_t errlen);

/*
 * Check that a labels result fits a data result: labels must be a vector,
 * or a matrix with one column, holding one label per data row (compared on
 * the file totals when both are known, so a limit cuts both alike).
 * OT_ESHAPE with the reason otherwise.
 */
int ot_io_check_labels(const ot_io_data *data, const ot_io_data *labels, char *err,
                       size_t errlen);

/* ---- writing ------------------------------------------------------------ */

/* Element types an IDX file can be written in. */
enum { OT_IO_F8 = 0, OT_IO_U8 = 1 };

/* Writing options; fill with ot_io_save_opts_init() first. */
typedef struct ot_io_save_opts {
  int format;            /* OT_IO_AUTO (default: from the name), OT_IO_NPY, ... */
  int gzip;              /* -1 (default): when the name ends in ".gz"; 0; 1 */
  char delimiter;        /* CSV: 0 (default): tab for a ".tsv" name, else ',' */
  const char *const *names; /* CSV header names; NULL (default): no header */
  size_t nnames;         /* must be cols, or cols + 1 with labels (the last
                            names the label column; "label" when only cols) */
  const double *labels;  /* CSV: rows values written as a last column; NULL */
  int dtype;             /* IDX: OT_IO_F8 (default) or OT_IO_U8 (values must be
                            integers in 0..255) */
} ot_io_save_opts;

void ot_io_save_opts_init(ot_io_save_opts *o);

/*
 * Writers into an open stream (use open_memstream for memory).  The matrix
 * m may have ld > cols.  vec = 1 writes a 1-d array (npy shape (n,), IDX
 * with one dimension); m must then have one column.  All values are checked
 * before the first byte is written (OT_EINVAL when they cannot be stored).
 *
 * ot_npy_write writes '<f8', C order, format 1.0 with the header laid out
 * exactly as NumPy's np.save does, so the bytes equal np.save's.
 * ot_csv_write writes one row per line, each value the shortest of %.15g,
 * %.16g, %.17g that reads back to the same double, in the C locale whatever
 * the process locale; NaN and Inf as nan, inf, -inf.
 * ot_idx_write writes big-endian f64 (type 0x0E) or u8 (0x08).
 */
/*
 * The header of ot_npy_write (and np.save) for a rows x cols '<f8' array
 * (vec = 1: shape (rows,)) into buf; returns its length, a multiple of 64
 * and at most OT_NPY_HEADER_MAX, or 0 when cap is too small.
 */
#define OT_NPY_HEADER_MAX 256
size_t ot_npy_header(unsigned char *buf, size_t cap, size_t rows, size_t cols, int vec);

int ot_npy_write(FILE *f, ot_mat m, int vec, char *err, size_t errlen);
int ot_csv_write(FILE *f, ot_mat m, const ot_io_save_opts *o, char *err, size_t errlen);
int ot_idx_write(FILE *f, ot_mat m, int vec, int dtype, char *err, size_t errlen);

/*
 * Save to a file, replacing it atomically: the data goes to a temporary file
 * in the same directory, which is renamed over path only when complete, so
 * a failed save leaves any old file untouched.  (A path naming something
 * other than a regular file, e.g. /dev/stdout, is written in place.)
 * Compressed with gzip when o->gzip says so.  OT_EIO with
 * "<path>: <strerror>" when the file system refuses.
 */
int ot_io_save(const char *path, ot_mat m, int vec, const ot_io_save_opts *o, char *err,
               size_t errlen);

/*
 * The atomic replacement behind ot_io_save, for any content: writer(f, ud,
 * err, errlen) fills an open temporary file next to path (the target of a
 * symbolic link, which is kept), which gets the mode of the file it
 * replaces (or 0666 less the umask), is flushed with fsync and renamed over
 * the target; on any failure the temporary file is removed and the old file
 * is untouched.  A path naming something other than a regular file is
 * written in place.  writer returns OT_OK or an OT_* code with its message in
 * err; the file system's refusals give OT_EIO, "<path>: <strerror>".
 */
typedef int (*ot_io_writer)(FILE *f, void *ud, char *err, size_t errlen);
int ot_io_write_atomic(const char *path, ot_io_writer writer, void *ud, char *err,
                       size_t errlen);
/* ot_io_write_atomic of len bytes of data. */
int ot_io_write_bytes(const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif
