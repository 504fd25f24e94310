/*
 * io.c -- ot.load and ot.save: .npy, CSV and MNIST IDX files (plain or
 * gzip) in and out of Lua, on top of src/ot/io.h.
 *
 * The error rule (also on the help page):
 *   - the file system refusing (missing file, permission, a directory, disk
 *     full) is an expected outcome: the function returns nil and
 *     "<path>: <reason>", as io.open does;
 *   - bad arguments or options raise "ot.load: bad argument #N ...";
 *   - a file whose content is malformed raises "ot.load: <path>: <reason>"
 *     (the reason starts with the format: "npy: header says ...");
 *   - a result over the memory budget raises, naming the sizes.
 *
 * Memory: the results are allocated as Lua matrices directly by the core's
 * allocation hook, which runs bind_newmat under lua_pcall, so a memory
 * error never longjmps through the parser and the result is not copied.
 * Whatever else the core hands back (header names, classes) lives in an
 * ot_io_data inside a userdata box with __gc, created before the core call,
 * so an error raised afterwards cannot leak it.
 */
#include <string.h>

#include "bind.h"
#include "ot/alloc.h"
#include "ot/io.h"

#define IO_BOX "ot.io.data"

static int box_gc(lua_State *L) {
  ot_io_data *d = luaL_checkudata(L, 1, IO_BOX);
  ot_io_data_free(d);
  return 0;
}

/* Push an empty ot_io_data box (freed by the GC, or at once by box_gc). */
static ot_io_data *newbox(lua_State *L) {
  ot_io_data *d = lua_newuserdatauv(L, sizeof *d, 0);
  ot_io_data_init(d);
  if (luaL_newmetatable(L, IO_BOX)) {
    lua_pushcfunction(L, box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return d;
}

/* ---- the allocation hook ---------------------------------------------------- */

typedef struct alloc_req {
  size_t rows, cols;
  int vec;
  const char *fname;
} alloc_req;

/* Run under lua_pcall: push the new matrix described by the request. */
static int alloc_protected(lua_State *L) {
  alloc_req *r = lua_touserdata(L, 1);
  if (r->vec)
    bind_newvec(L, r->rows, r->fname);
  else
    bind_newmat(L, r->rows, r->cols, r->fname);
  return 1;
}

typedef struct hook_ud {
  lua_State *L;
  int idx[2];     /* stack slots of X and y once allocated, else 0 */
  int failed;     /* 1: an allocation raised; its message is on the stack top */
  int force_vec;  /* 1: a one-column result is made a vector (a labels file) */
  const char *fname;
} hook_ud;

/* ot_io_alloc_fn: a Lua matrix left on the stack; NULL when Lua refused. */
static double *alloc_hook(void *ud, int which, size_t rows, size_t cols, int vec) {
  hook_ud *h = ud;
  lua_State *L = h->L;
  if (h->failed) return NULL;
  alloc_req r = {rows, cols, vec || (h->force_vec && cols == 1), h->fname};
  lua_pushcfunction(L, alloc_protected); /* a light function: pushing cannot fail */
  lua_pushlightuserdata(L, &r);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    h->failed = 1;
    return NULL;
  }
  h->idx[which] = lua_gettop(L);
  return bind_testmat(L, -1)->m.data;
}

/* ---- shared argument checks ------------------------------------------------ */

static const char *check_path(lua_State *L, int arg) {
  if (lua_type(L, arg) != LUA_TSTRING)
    bind_argerror(L, arg, "path", "string expected, got %s", luaL_typename(L, arg));
  return lua_tostring(L, arg);
}

/* opts.format as an OT_IO_* code; OT_IO_AUTO when absent. */
static int opt_format(lua_State *L, int arg) {
  const char *f = bind_optfield_string(L, arg, "format", NULL);
  if (!f) return OT_IO_AUTO;
  if (strcmp(f, "npy") == 0) return OT_IO_NPY;
  if (strcmp(f, "csv") == 0) return OT_IO_CSV;
  if (strcmp(f, "idx") == 0) return OT_IO_IDX;
  bind_argerror(L, arg, "opts", "option 'format' must be \"npy\", \"csv\" or \"idx\", got \"%s\"", f);
  return OT_IO_AUTO;
}

/* opts.delimiter: one character that cannot start a number; 0 when absent. */
static char opt_delimiter(lua_State *L, int arg) {
  const char *s = bind_optfield_string(L, arg, "delimiter", NULL);
  if (!s) return 0;
  char c = s[0];
  if (strlen(s) != 1 || c == '"' || c == '\n' || c == '\r' || c == '.' || c == '+' || c == '-' ||
      (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    bind_argerror(L, arg, "opts",
                  "option 'delimiter' must be one character other than a quote, a line break, "
                  "a letter, a digit, '.', '+' or '-', got \"%s\"",
                  s);
  return c;
}

/* 1 when opts has a non-nil `key`. */
static int has_opt(lua_State *L, int arg, const char *key) {
  if (!lua_istable(L, arg)) return 0;
  int t = lua_getfield(L, arg, key);
  lua_pop(L, 1);
  return t != LUA_TNIL;
}

/* Refuse options that do not apply to the format. */
static void only_for(lua_State *L, int arg, int fmt, int want, const char *const keys[]) {
  if (fmt == OT_IO_AUTO || fmt == want) return;
  for (int i = 0; keys[i]; i++)
    if (has_opt(L, arg, keys[i]))
      bind_argerror(L, arg, "opts", "option '%s' applies to %s files only, this is %s", keys[i],
                    ot_io_format_name(want), ot_io_format_name(fmt));
}

/* Push a Lua array of the n NUL-terminated strings back to back at s. */
static void push_names(lua_State *L, const char *s, size_t n) {
  lua_createtable(L, (int)(n < 1000000 ? n : 0), 0);
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(s);
    lua_pushlstring(L, s, len);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
    s += len + 1;
  }
}

/* ---- ot.load ------------------------------------------------------------------ */

static const char *const load_keys[] = {"format", "header", "delimiter", "label_col", "labels",
                                        "limit", "allow_nonfinite", "max_line", NULL};
static const char *const csv_only[] = {"header", "delimiter", "max_line", NULL};

/*
 * Run one core load with the hook; on success the results sit on the stack
 * (X at h->idx[0], y at h->idx[1]) above the box.  Returns 0, or the number
 * of values to return (nil, msg) for an I/O failure.  Raises for the rest.
 */
static int run_load(lua_State *L, const char *path, ot_io_opts *o, hook_ud *h, ot_io_data *d) {
  char err[512];
  luaL_checkstack(L, 8, "ot.load");
  o->alloc = alloc_hook;
  o->alloc_ud = h;
  int rc = ot_io_load(path, o, d, err, sizeof err);
  if (rc == OT_OK) return 0;
  if (h->failed) lua_error(L); /* Lua's own message (over budget, out of memory) */
  if (rc == OT_EIO) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  return luaL_error(L, "ot.load: %s: %s", path, err);
}

/* ot.load(path [, opts]) -> X, info  or  X, y, info  (label_col, labels) */
static int io_load(lua_State *L) {
  const char *path = check_path(L, 1);
  bind_checkopts(L, 2, load_keys);
  ot_io_opts o;
  ot_io_opts_init(&o);
  o.format = opt_format(L, 2);
  int fmt = o.format ? o.format : ot_io_format_from_name(path, NULL);
  only_for(L, 2, fmt, OT_IO_CSV, csv_only);
  if (has_opt(L, 2, "header")) o.header = bind_optfield_boolean(L, 2, "header", 0);
  o.delimiter = opt_delimiter(L, 2);
  lua_Integer lc = bind_optfield_integer(L, 2, "label_col", 0);
  if (has_opt(L, 2, "label_col") && lc == 0)
    bind_argerror(L, 2, "opts", "option 'label_col' must be a column number (1 is the first, "
                                "-1 the last), got 0");
  if (lc < -(lua_Integer)1e15 || lc > (lua_Integer)1e15)
    bind_argerror(L, 2, "opts", "option 'label_col' is out of range, got %lld", (long long)lc);
  o.label_col = (long)lc;
  const char *labels = bind_optfield_string(L, 2, "labels", NULL);
  if (labels && o.label_col)
    bind_argerror(L, 2, "opts", "options 'label_col' and 'labels' exclude each other");
  lua_Integer limit = bind_optfield_integer(L, 2, "limit", -1);
  if (has_opt(L, 2, "limit")) {
    if (limit < 0) bind_argerror(L, 2, "opts", "option 'limit' must be >= 0, got %lld", (long long)limit);
    o.limit = (size_t)limit;
  }
  o.allow_nonfinite = bind_optfield_boolean(L, 2, "allow_nonfinite", 0);
  lua_Integer ml = bind_optfield_integer(L, 2, "max_line", (lua_Integer)o.max_line);
  if (ml < 1) bind_argerror(L, 2, "opts", "option 'max_line' must be >= 1, got %lld", (long long)ml);
  o.max_line = (size_t)ml;
  lua_settop(L, 2);

  /* the data file */
  ot_io_data *d = newbox(L); /* slot 3 */
  hook_ud h = {L, {0, 0}, 0, 0, "ot.load"};
  int n = run_load(L, path, &o, &h, d);
  if (n) return n;
  int X = h.idx[0], y = h.idx[1];

  /* a separate labels file */
  if (labels) {
    ot_io_opts lo;
    ot_io_opts_init(&lo);
    lo.limit = o.limit;
    ot_io_data *ld = newbox(L);
    hook_ud lh = {L, {0, 0}, 0, 1, "ot.load"};
    n = run_load(L, labels, &lo, &lh, ld);
    if (n) return n;
    char err[512];
    if (ot_io_check_labels(d, ld, err, sizeof err) != OT_OK)
      return luaL_error(L, "ot.load: %s: %s", labels, err);
    y = lh.idx[0]; /* a vector: the hook makes one-column results vectors */
  }

  /* results: X [, y], info */
  lua_pushvalue(L, X);
  if (y) lua_pushvalue(L, y);
  lua_createtable(L, 0, 16);
  lua_pushstring(L, ot_io_format_name(d->format));
  lua_setfield(L, -2, "format");
  lua_pushstring(L, path);
  lua_setfield(L, -2, "path");
  lua_pushinteger(L, (lua_Integer)d->rows);
  lua_setfield(L, -2, "rows");
  lua_pushinteger(L, (lua_Integer)d->cols);
  lua_setfield(L, -2, "cols");
  lua_pushinteger(L, (lua_Integer)d->total);
  lua_setfield(L, -2, "total");
  lua_pushboolean(L, d->gzip);
  lua_setfield(L, -2, "gzip");
  lua_createtable(L, d->ndim, 0);
  for (int k = 0; k < d->ndim; k++) {
    lua_pushinteger(L, (lua_Integer)d->shape[k]);
    lua_rawseti(L, -2, k + 1);
  }
  lua_setfield(L, -2, "shape");
  if (d->format != OT_IO_CSV) {
    lua_pushstring(L, d->dtype);
    lua_setfield(L, -2, "dtype");
  }
  if (d->format == OT_IO_NPY) {
    lua_pushboolean(L, d->fortran);
    lua_setfield(L, -2, "fortran_order");
    lua_pushfstring(L, "%d.%d", d->version[0], d->version[1]);
    lua_setfield(L, -2, "version");
  }
  if (d->format == OT_IO_CSV) {
    lua_pushlstring(L, &d->delimiter, 1);
    lua_setfield(L, -2, "delimiter");
    if (d->names) {
      push_names(L, d->names, d->cols);
      lua_setfield(L, -2, "header");
    }
    if (d->label_name) {
      lua_pushstring(L, d->label_name);
      lua_setfield(L, -2, "label_name");
    }
    if (d->classes) {
      push_names(L, d->classes, d->nclasses);
      lua_setfield(L, -2, "classes");
    }
  }
  if (labels) {
    lua_pushstring(L, labels);
    lua_setfield(L, -2, "labels_path");
  }
  return y ? 3 : 2;
}

/* ---- ot.save ------------------------------------------------------------------ */

static const char *const save_keys[] = {"format", "header", "delimiter", "labels", "dtype", "gzip",
                                        NULL};
static const char *const csv_save_only[] = {"header", "delimiter", "labels", NULL};

/* ot.save(path, M [, opts]) -> true  or  nil, msg */
static int io_save(lua_State *L) {
  const char *path = check_path(L, 1);
  bmat *M = bind_tomat(L, 2, "M");
  bind_checkopts(L, 3, save_keys);
  ot_io_save_opts o;
  ot_io_save_opts_init(&o);
  int namegz;
  int fmt = ot_io_format_from_name(path, &namegz);
  o.format = opt_format(L, 3);
  if (o.format) fmt = o.format;
  if (fmt == OT_IO_AUTO)
    bind_argerror(L, 1, "path",
                  "cannot tell the format from the name \"%s\"; use .npy, .csv, .tsv, .idx or "
                  "-ubyte (optionally .gz), or the format option",
                  path);
  o.format = fmt;
  only_for(L, 3, fmt, OT_IO_CSV, csv_save_only);
  o.delimiter = opt_delimiter(L, 3);
  if (has_opt(L, 3, "gzip")) o.gzip = bind_optfield_boolean(L, 3, "gzip", namegz);
  const char *dt = bind_optfield_string(L, 3, "dtype", NULL);
  if (dt) {
    if (strcmp(dt, "f8") == 0)
      o.dtype = OT_IO_F8;
    else if (strcmp(dt, "u1") == 0 && fmt == OT_IO_IDX)
      o.dtype = OT_IO_U8;
    else
      bind_argerror(L, 3, "opts", "option 'dtype' must be \"f8\"%s, got \"%s\"",
                    fmt == OT_IO_IDX ? " or \"u1\"" : " for this format", dt);
  }
  size_t rows = M->m.rows, cols = M->m.cols;

  /* labels: a vector of rows values, copied into a Lua-owned buffer */
  if (has_opt(L, 3, "labels")) {
    lua_getfield(L, 3, "labels");
    bmat *b = bind_testmat(L, -1);
    if (!b || !(b->vec || b->m.cols == 1))
      bind_argerror(L, 3, "opts", "option 'labels' must be a vector, got %s",
                    b ? "a matrix" : luaL_typename(L, -1));
    if (b->m.rows != rows)
      bind_argerror(L, 3, "opts", "option 'labels' has %zu entries for %zu rows", b->m.rows, rows);
    double *lab = lua_newuserdatauv(L, rows * sizeof(double) + 1, 0);
    for (size_t i = 0; i < rows; i++) lab[i] = OT_AT(b->m, i, 0);
    o.labels = lab; /* anchored on the stack until the call returns */
  }

  /* header: true (names x1..xd [, label]) or a table of strings */
  if (has_opt(L, 3, "header")) {
    lua_getfield(L, 3, "header");
    size_t want = cols + (o.labels ? 1 : 0);
    if (lua_isboolean(L, -1)) {
      if (lua_toboolean(L, -1)) {
        const char **names = lua_newuserdatauv(L, (want + 1) * sizeof *names, 0);
        lua_createtable(L, (int)(cols < 1000000 ? cols : 0), 0); /* anchors the names */
        for (size_t j = 0; j < cols; j++) {
          names[j] = lua_pushfstring(L, "x%I", (lua_Integer)j + 1);
          lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
        if (o.labels) names[cols] = "label";
        o.names = names;
        o.nnames = want;
      }
    } else if (lua_istable(L, -1)) {
      size_t n = (size_t)lua_rawlen(L, -1);
      if (n != want && !(o.labels && n == cols))
        bind_argerror(L, 3, "opts", "option 'header' has %zu names for %zu columns", n, want);
      const char **names = lua_newuserdatauv(L, (n + 1) * sizeof *names, 0);
      for (size_t j = 0; j < n; j++) {
        if (lua_rawgeti(L, -2, (lua_Integer)j + 1) != LUA_TSTRING)
          bind_argerror(L, 3, "opts", "option 'header': name %zu is %s, not a string", j + 1,
                        luaL_typename(L, -1));
        names[j] = lua_tostring(L, -1); /* anchored in the header table */
        if (strpbrk(names[j], "\r\n") || strlen(names[j]) != lua_rawlen(L, -1))
          bind_argerror(L, 3, "opts", "option 'header': name %zu contains a line break or a NUL",
                        j + 1);
        lua_pop(L, 1);
      }
      o.names = names;
      o.nnames = n;
    } else {
      bind_argerror(L, 3, "opts", "option 'header' must be a boolean or a table of names, got %s",
                    luaL_typename(L, -1));
    }
  }

  char err[512];
  int rc = ot_io_save(path, M->m, M->vec, &o, err, sizeof err);
  if (rc == OT_EIO) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  if (rc != OT_OK) return luaL_error(L, "ot.save: %s: %s", path, err);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg io_funcs[] = {
  {"load", io_load},
  {"save", io_save},
  {NULL, NULL}
};

void bind_open_io(lua_State *L) { luaL_setfuncs(L, io_funcs, 0); }
