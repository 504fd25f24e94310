/*
 * print.c -- libFuzzer target for the matrix printer (Mat:tostring,
 * tostring(M), the numbers of ot.printoptions) and the Lua pretty printer
 * (prelude.format), fed random shapes, options and values: NaN, +-Inf,
 * -0, subnormals, DBL_MAX, integers near 1e7, raw bit patterns.
 *
 * Input layout: rows, cols, flags (1 vector, 2 full, 4 options given),
 * precision, edgeitems, maxrows, maxcols; then per element a selector
 * byte (and 8 raw bytes for selector 0).  Missing bytes read as 0.
 *
 * Checks on M:tostring(opts): the header ("Mat RxC" / "Vec N"); "[]" for
 * an empty matrix; the number of values shown (elision as documented:
 * edgeitems at each end when rows > maxrows or cols > maxcols, unless
 * full); every value token is nan, inf, -inf or a whole C-locale number;
 * the value read back equals the element exactly at precision 17 and to
 * the stated significant digits otherwise (integers below 1e7 exactly);
 * the rows of a matrix are aligned (equal length); no decimal comma.
 * tostring(M) and prelude.format on a table holding M and numbers must
 * succeed.  A broken rule aborts, so libFuzzer keeps the input.
 *
 * Built by scripts/fuzz (target "print") with clang-14 from libot, the
 * bindings, libtui and Lua.  With -DFUZZ_REPLAY_MAIN it is instead the
 * test c/fuzz_print: every file of tests/fuzz/corpus/print/ and
 * tests/fuzz/crashes/print-* through the same checks.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "bind/bind.h"
#include "ot/alloc.h"

#ifndef OTLAB_SOURCE_ROOT
#define OTLAB_SOURCE_ROOT "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;

/* Checked by Lua: returns the text of M:tostring(opts), tostring(M) and
 * prelude.format({M, ...}); arguments M, opts (or nil). */
static const char *chunk =
  "local M, o, x = ...\n"
  "local s = o and M:tostring(o) or M:tostring()\n"
  "local d = tostring(M)\n"
  "local f = package.loaded.prelude.format({ M, x, -x, n = M:numel(), t = { M } })\n"
  "assert(type(d) == 'string' and type(f) == 'string' and #f > 0)\n"
  "return s\n";

static void fail(const char *why, const char *text) {
  fprintf(stderr, "fuzz print: %s\n--- text:\n%s\n---\n", why, text ? text : "(none)");
  abort();
}

static void setup(void) {
  if (L) return;
  L = lua_newstate(ot_mem_lua_alloc, NULL);
  if (!L) fail("cannot create a Lua state", NULL);
  luaL_openlibs(L);
  luaL_requiref(L, "ot", luaopen_ot, 1);
  lua_pop(L, 1);
  lua_pushliteral(L, OTLAB_SOURCE_ROOT);
  lua_setglobal(L, "OTLAB_ROOT");
  lua_getglobal(L, "package");
  lua_pushliteral(L, OTLAB_SOURCE_ROOT "/lua/?.lua");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "prelude");
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) fail("cannot load the prelude", lua_tostring(L, -1));
  if (luaL_loadstring(L, chunk) != LUA_OK) fail("chunk", lua_tostring(L, -1));
  lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.print");
}

typedef struct reader {
  const uint8_t *p;
  size_t n;
} reader;

static uint8_t byte(reader *r) {
  if (!r->n) return 0;
  r->n--;
  return *r->p++;
}

static double value(reader *r) {
  uint8_t sel = byte(r);
  switch (sel % 12) {
    case 0: {
      uint64_t bits = 0;
      for (int k = 0; k < 8; k++) bits |= (uint64_t)byte(r) << (8 * k);
      double x;
      memcpy(&x, &bits, sizeof x);
      return x;
    }
    case 1: return NAN;
    case 2: return INFINITY;
    case 3: return -INFINITY;
    case 4: return sel & 0x80 ? -DBL_MAX : DBL_MAX;
    case 5: return sel & 0x80 ? -DBL_TRUE_MIN : DBL_MIN;
    case 6: return -0.0;
    case 7: return (double)((int)(sel >> 4) - 8) * 1e6 + 9999999.0 * (sel & 1); /* near 1e7 */
    case 8: return (double)(int8_t)byte(r);
    case 9: return ldexp((double)byte(r) + 0.5, (int)byte(r) - 128);
    case 10: return (double)byte(r) / 7.0;
    default: return 1e15 + (double)byte(r); /* integers beyond %.0f's range */
  }
}

/* Elision of n items as the printer documents it. */
static size_t shown(size_t n, size_t maxn, size_t e, int full) {
  return !full && n > maxn && n > 2 * e ? 2 * e : n;
}

static size_t shown_index(size_t k, size_t n, size_t e, int elide) {
  return !elide || k < e ? k : n - 2 * e + k;
}

/* Compare a printed token with the element it shows. */
static void check_token(const char *tok, double x, int prec, const char *text) {
  char why[256];
  if (isnan(x)) {
    if (strcmp(tok, "nan") != 0) fail("NaN not printed as nan", text);
    return;
  }
  if (isinf(x)) {
    if (strcmp(tok, x > 0 ? "inf" : "-inf") != 0) fail("Inf not printed as inf/-inf", text);
    return;
  }
  char *end;
  double y = strtod(tok, &end);
  if (end == tok || *end) {
    snprintf(why, sizeof why, "token '%s' is not a number", tok);
    fail(why, text);
  }
  double tol = (x == floor(x) && fabs(x) < 1e7) || prec >= 17
                 ? 0.0
                 : fabs(x) * pow(10.0, 1 - prec);
  if (!(fabs(y - x) <= tol) && !(isinf(y) && fabs(x) > DBL_MAX / 2)) {
    snprintf(why, sizeof why, "token '%s' reads %.17g, element %.17g (precision %d)", tok, y, x,
             prec);
    fail(why, text);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  reader r = {data, size};
  size_t rows = byte(&r) % 40, cols = byte(&r) % 40;
  uint8_t flags = byte(&r);
  int vec = flags & 1, full = (flags & 2) != 0, opts = (flags & 4) != 0;
  int prec = 1 + byte(&r) % 17, edge = 1 + byte(&r) % 8;
  int maxrows = 1 + byte(&r) % 50, maxcols = 1 + byte(&r) % 50;
  if (vec) cols = 1;
  if (!opts) { /* the defaults of ot.printoptions */
    prec = 4, edge = 3, maxrows = 10, maxcols = 8, full = 0;
  }
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.print");
  bmat *b = vec ? bind_newvec(L, rows, "fuzz") : bind_newmat(L, rows, cols, "fuzz");
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) OT_AT(b->m, i, j) = value(&r);
  if (opts) {
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, prec);
    lua_setfield(L, -2, "precision");
    lua_pushinteger(L, edge);
    lua_setfield(L, -2, "edgeitems");
    lua_pushinteger(L, maxrows);
    lua_setfield(L, -2, "maxrows");
    lua_pushinteger(L, maxcols);
    lua_setfield(L, -2, "maxcols");
    lua_pushboolean(L, full);
    lua_setfield(L, -2, "full");
  } else {
    lua_pushnil(L);
  }
  lua_pushnumber(L, value(&r));
  if (lua_pcall(L, 3, 1, 0) != LUA_OK) fail("a valid call raised an error", lua_tostring(L, -1));
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  char *text = malloc(len + 1);
  if (!text) abort();
  memcpy(text, s, len + 1);
  lua_settop(L, top);

  /* header */
  char head[64];
  if (vec) snprintf(head, sizeof head, "Vec %zu\n", rows);
  else snprintf(head, sizeof head, "Mat %zux%zu\n", rows, cols);
  if (strncmp(text, head, strlen(head)) != 0) fail("wrong header", text);
  if (strchr(text, ',')) fail("a comma in the printed matrix", text);
  const char *body = text + strlen(head);
  if (rows * cols == 0) {
    if (strcmp(body, "[]") != 0) fail("an empty matrix is not []", text);
    free(text);
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
  }
  size_t e = (size_t)edge;
  size_t nr = vec ? rows : shown(rows, (size_t)maxrows, e, full);
  size_t nc = vec ? 1 : shown(cols, (size_t)maxcols, e, full);
  int erow = nr < rows, ecol = nc < cols;
  if (vec) { /* a vector prints on one line, elided by maxrows */
    nr = shown(rows, (size_t)maxrows, e, full);
    erow = nr < rows;
  }
  /* aligned rows */
  if (!vec) {
    size_t width = 0;
    const char *line = body;
    while (*line) {
      const char *nl = strchr(line, '\n');
      size_t l = nl ? (size_t)(nl - line) : strlen(line);
      if (!(l == 4 && strncmp(line, " ...", 4) == 0)) {
        size_t w = l - (nl ? 0 : 1); /* the last line ends with an extra ']' */
        if (width && w != width) fail("rows are not aligned", text);
        width = w;
      }
      line = nl ? nl + 1 : line + l;
    }
  }
  /* tokens in order */
  char *copy = strdup(body);
  if (!copy) abort();
  size_t k = 0, want = nr * nc;
  for (char *tok = strtok(copy, " []\n"); tok; tok = strtok(NULL, " []\n")) {
    if (strcmp(tok, "...") == 0) continue;
    if (k >= want) fail("more values than the elision shows", text);
    size_t ri = vec ? k : k / nc, ci = vec ? 0 : k % nc;
    size_t i = shown_index(ri, rows, e, erow), j = vec ? 0 : shown_index(ci, cols, e, ecol);
    check_token(tok, OT_AT(b->m, i, j), prec, text);
    k++;
  }
  if (k != want) fail("fewer values than the elision shows", text);
  free(copy);
  free(text);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}

#ifdef FUZZ_REPLAY_MAIN
#include <dirent.h>

#ifndef OTLAB_FUZZ_DIR
#error "OTLAB_FUZZ_DIR must name tests/fuzz"
#endif

/* Feed every file of dir whose name starts with prefix; the file count. */
static long replay(const char *dir, const char *prefix) {
  DIR *dp = opendir(dir);
  long n = 0;
  if (!dp) return -1;
  struct dirent *d;
  while ((d = readdir(dp))) {
    if (d->d_name[0] == '.' || strncmp(d->d_name, prefix, strlen(prefix)) != 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, d->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint8_t *exact = malloc(len ? len : 1); /* exactly its size: over-reads show */
    if (!exact) abort();
    memcpy(exact, buf, len);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    n++;
  }
  closedir(dp);
  return n;
}

int main(void) {
  long a = replay(OTLAB_FUZZ_DIR "/corpus/print", "");
  long c = replay(OTLAB_FUZZ_DIR "/crashes", "print-");
  if (L) lua_close(L);
  printf("fuzz print replay: %ld corpus files, %ld crash seeds\n", a, c);
  if (a <= 0) {
    printf("FAIL: no corpus in %s/corpus/print\n", OTLAB_FUZZ_DIR);
    return 1;
  }
  if (ot_mem_used() != 0) {
    printf("FAIL: %zu bytes live after lua_close\n", ot_mem_used());
    return 1;
  }
  printf("0 failed\n");
  return 0;
}
#endif
