/*
 * mpi.c (bindings) -- ot.mpi: bags of independent work spread over MPI
 * ranks, or over the shards of a job array when there is no MPI.
 *
 * otlab is built with MPI when meson finds it (-Dmpi=auto|enabled|
 * disabled; OTLAB_HAVE_MPI is then defined).  MPI is initialized only when
 * the process was started by a launcher (mpirun / srun set OMPI_COMM_WORLD_SIZE,
 * PMIX_RANK or PMI_SIZE); otherwise, and in builds without MPI, ot.mpi is a
 * world of one rank and every call below still works, so one script runs
 * unchanged on a laptop and on a cluster.  Ranks other than 0 run the same
 * script with standard output sent to /dev/null: rank 0 owns the terminal.
 *
 * Values travel in one self-describing byte format (ot.mpi.pack): nil,
 * booleans, numbers, strings, matrices and tables of those.  Collectives
 * therefore accept any such value, and ot.mpi.map gathers whatever the
 * work function returns, in item order, whatever the number of ranks.
 *
 * Shards (no MPI needed): with OTLAB_SHARD=i/N (otlab --shard i/N) each
 * ot.mpi.map call computes only the items of shard i, writes them to
 * OTLAB_SHARD_DIR (default ./otlab-shards) and ends the script; when the
 * files of all N shards are there, map reads them instead.  A final run
 * with OTLAB_SHARD=reduce (otlab --shard reduce) never computes: it reads
 * every shard and fails, naming the missing ones, when some are absent.
 * So a Slurm job array runs the script N times with --shard i/N, and one
 * more run with --shard reduce finishes it with the same numbers.
 *
 * share/help/mpi.txt is the user manual.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpi.h"
#include "panel_hook.h"
#include "ot/alloc.h"
#include "ot/io.h"
#include "ot/rand.h"

#ifdef OTLAB_HAVE_MPI
#include <mpi.h>
#endif

/* ---- the world ------------------------------------------------------------- */

static int world_rank = 0, world_size = 1;
static int mpi_on = 0; /* MPI_Init ran in this process */

#ifdef OTLAB_HAVE_MPI
/* True when a launcher started this process as one of several ranks. */
static int under_launcher(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", NULL};
  for (int i = 0; vars[i]; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

/* __gc of a sentinel kept in the registry: MPI ends when the state closes. */
static int mpi_finalize_gc(lua_State *L) {
  int fin = 0;
  if (mpi_on && MPI_Finalized(&fin) == MPI_SUCCESS && !fin) MPI_Finalize();
  mpi_on = 0;
  return 0;
}

/* Start MPI under a launcher; a failure leaves a world of one rank. */
static void world_init(lua_State *L) {
  int inited = 0;
  if (mpi_on || !under_launcher()) return;
  MPI_Initialized(&inited);
  if (!inited) {
    int provided;
    /* Only the main thread calls MPI; OpenMP threads stay inside kernels. */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return;
  }
  mpi_on = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  /* Errors come back as codes: a failed collective raises a Lua error. */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  lua_newuserdatauv(L, 1, 0);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, mpi_finalize_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "otlab.mpi.sentinel");
  if (world_rank != 0) { /* rank 0 owns the terminal: the others print nothing */
    bind_panel_hook = NULL; /* no panel, no progress lines on stderr */
    fflush(stdout);
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      close(fd);
    }
  }
}

/* Raise "<fname>: MPI error: <text>" for a failed MPI call. */
static void mpi_check(lua_State *L, int rc, const char *fname) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  luaL_error(L, "%s: MPI error: %s", fname, text);
}
#else
static void world_init(lua_State *L) { (void)L; }
#endif

/* ---- pack / unpack ----------------------------------------------------------- */

/*
 * The byte format: a 5-byte header "OTPK" + a byte-order mark (1 on
 * little-endian machines), then one value: '0' nil, 'f' / 't' booleans,
 * 'i' int64, 'd' double, 's' u64 length + bytes, 'm' u64 rows, u64 cols,
 * u8 vec, rows*cols doubles row by row, '{' key value ... '}' tables.
 * Numbers are stored in the machine's byte order (clusters are homogeneous;
 * unpack refuses data of the other order).
 */
#define PACK_MAGIC "OTPK"
#define PACK_DEPTH 64

static unsigned char byte_order(void) {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b; /* 1 little-endian, 0 big-endian */
}

/*
 * The bytes being packed live in a userdata at the fixed stack slot `idx`
 * (replaced by a bigger one as they grow), so an error raised halfway
 * leaks nothing, and the packer may push and pop freely above it (a
 * luaL_Buffer would require its box at the top of the stack).
 */
typedef struct wbuf {
  lua_State *L;
  int idx;
  char *p;
  size_t n, cap;
} wbuf;

static void wb_add(wbuf *b, const void *data, size_t len) {
  if (len > b->cap - b->n) {
    size_t cap = b->cap ? b->cap : 256;
    while (len > cap - b->n) {
      if (cap > ((size_t)1 << 40)) luaL_error(b->L, "ot.mpi: packed value too large");
      cap *= 2;
    }
    char *np = lua_newuserdatauv(b->L, cap, 0);
    if (b->n) memcpy(np, b->p, b->n);
    lua_replace(b->L, b->idx);
    b->p = np;
    b->cap = cap;
  }
  if (len) memcpy(b->p + b->n, data, len);
  b->n += len;
}
static void wb_char(wbuf *b, char c) { wb_add(b, &c, 1); }
static void put_u64(wbuf *b, uint64_t v) { wb_add(b, &v, 8); }

/* Pack the value at idx (absolute) into b.  `seen` (absolute index) is a
 * table of the tables on the current path, to refuse cycles. */
static void pack_value(lua_State *L, wbuf *b, int idx, int seen, int depth,
                       const char *fname) {
  bmat *M;
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    wb_char(b, '0');
    break;
  case LUA_TBOOLEAN:
    wb_char(b, lua_toboolean(L, idx) ? 't' : 'f');
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      int64_t v = (int64_t)lua_tointeger(L, idx);
      wb_char(b, 'i');
      wb_add(b, (const char *)&v, 8);
    } else {
      double v = lua_tonumber(L, idx);
      wb_char(b, 'd');
      wb_add(b, (const char *)&v, 8);
    }
    break;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    wb_char(b, 's');
    put_u64(b, len);
    wb_add(b, s, len);
    break;
  }
  case LUA_TTABLE:
    if (depth >= PACK_DEPTH) luaL_error(L, "%s: tables nested deeper than %d", fname, PACK_DEPTH);
    lua_pushvalue(L, idx);
    if (lua_rawget(L, seen) != LUA_TNIL) luaL_error(L, "%s: cannot send a table that contains itself", fname);
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, seen);
    wb_char(b, '{');
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      int top = lua_gettop(L);
      luaL_checkstack(L, 8, fname);
      pack_value(L, b, top - 1, seen, depth + 1, fname);
      pack_value(L, b, top, seen, depth + 1, fname);
      lua_pop(L, 1);
    }
    wb_char(b, '}');
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, seen);
    break;
  case LUA_TUSERDATA:
    if ((M = bind_testmat(L, idx)) != NULL) {
      wb_char(b, 'm');
      put_u64(b, M->m.rows);
      put_u64(b, M->m.cols);
      wb_char(b, (char)(M->vec ? 1 : 0));
      for (size_t i = 0; i < M->m.rows; i++)
        wb_add(b, (const char *)(M->m.data + i * M->m.ld), M->m.cols * sizeof(double));
      break;
    }
    /* fall through */
  default:
    luaL_error(L, "%s: cannot send a %s (numbers, strings, booleans, matrices and tables only)",
               fname, luaL_typename(L, idx));
  }
}

/* Push the packed form of the value at idx as a Lua string. */
static void pack_push(lua_State *L, int idx, const char *fname) {
  idx = lua_absindex(L, idx);
  lua_pushnil(L); /* the byte buffer's slot */
  wbuf b = {L, lua_gettop(L), NULL, 0, 0};
  lua_newtable(L); /* seen */
  int seen = lua_gettop(L);
  wb_add(&b, PACK_MAGIC, 4);
  wb_char(&b, (char)byte_order());
  pack_value(L, &b, idx, seen, 0, fname);
  lua_pushlstring(L, b.p, b.n);
  lua_replace(L, b.idx);
  lua_pop(L, 1); /* seen */
}

typedef struct reader {
  const unsigned char *p;
  size_t len, pos;
  const char *fname;
} reader;

static void corrupt(lua_State *L, const reader *r, const char *why) {
  luaL_error(L, "%s: corrupt packed data at byte %d (%s)", r->fname, (int)r->pos, why);
}

static const unsigned char *take(lua_State *L, reader *r, size_t n) {
  if (n > r->len - r->pos) corrupt(L, r, "truncated");
  const unsigned char *at = r->p + r->pos;
  r->pos += n;
  return at;
}

static uint64_t take_u64(lua_State *L, reader *r) {
  uint64_t v;
  memcpy(&v, take(L, r, 8), 8);
  return v;
}

/* Push the next value of r.  Returns 0 when the byte was '}' (nothing
 * pushed: the end of a table), else 1. */
static int unpack_value(lua_State *L, reader *r, int depth) {
  unsigned char tag = *take(L, r, 1);
  luaL_checkstack(L, 4, r->fname);
  switch (tag) {
  case '0': lua_pushnil(L); return 1;
  case 'f': lua_pushboolean(L, 0); return 1;
  case 't': lua_pushboolean(L, 1); return 1;
  case 'i': {
    int64_t v;
    memcpy(&v, take(L, r, 8), 8);
    lua_pushinteger(L, (lua_Integer)v);
    return 1;
  }
  case 'd': {
    double v;
    memcpy(&v, take(L, r, 8), 8);
    lua_pushnumber(L, v);
    return 1;
  }
  case 's': {
    uint64_t n = take_u64(L, r);
    if (n > r->len - r->pos) corrupt(L, r, "string longer than the data");
    lua_pushlstring(L, (const char *)take(L, r, (size_t)n), (size_t)n);
    return 1;
  }
  case 'm': {
    uint64_t rows = take_u64(L, r), cols = take_u64(L, r);
    int vec = *take(L, r, 1);
    if ((vec != 0 && vec != 1) || (vec && cols != 1)) corrupt(L, r, "bad matrix header");
    if (cols && rows > (r->len - r->pos) / 8 / cols) corrupt(L, r, "matrix larger than the data");
    bmat *M = vec ? bind_newvec(L, (size_t)rows, r->fname)
                  : bind_newmat(L, (size_t)rows, (size_t)cols, r->fname);
    size_t bytes = (size_t)(rows * cols) * sizeof(double);
    if (bytes) memcpy(M->m.data, take(L, r, bytes), bytes);
    return 1;
  }
  case '{':
    if (depth >= PACK_DEPTH) corrupt(L, r, "tables nested too deep");
    lua_newtable(L);
    for (;;) {
      if (!unpack_value(L, r, depth + 1)) return 1;
      if (lua_isnil(L, -1)) corrupt(L, r, "nil table key");
      if (lua_type(L, -1) == LUA_TNUMBER && isnan(lua_tonumber(L, -1))) corrupt(L, r, "NaN table key");
      if (!unpack_value(L, r, depth + 1)) corrupt(L, r, "table key without a value");
      lua_rawset(L, -3);
    }
  case '}':
    if (depth == 0) corrupt(L, r, "unbalanced '}'");
    return 0;
  default:
    corrupt(L, r, "unknown type tag");
    return 0;
  }
}

/* Push the value packed in s[0..len). */
static void unpack_push(lua_State *L, const void *s, size_t len, const char *fname) {
  reader r = {s, len, 0, fname};
  const unsigned char *h = take(L, &r, 5);
  if (memcmp(h, PACK_MAGIC, 4) != 0) corrupt(L, &r, "not packed by ot.mpi.pack");
  if (h[4] != byte_order()) corrupt(L, &r, "packed on a machine of the other byte order");
  if (!unpack_value(L, &r, 0)) corrupt(L, &r, "unbalanced '}'");
  if (r.pos != r.len) corrupt(L, &r, "trailing bytes");
}

/* ot.mpi.pack(v) -> string */
static int mpi_pack(lua_State *L) {
  lua_settop(L, 1);
  pack_push(L, 1, "ot.mpi.pack");
  return 1;
}

/* ot.mpi.unpack(s) -> v */
static int mpi_unpack(lua_State *L) {
  size_t len;
  if (lua_type(L, 1) != LUA_TSTRING)
    bind_argerror(L, 1, "s", "string expected, got %s", luaL_typename(L, 1));
  const char *s = lua_tolstring(L, 1, &len);
  unpack_push(L, s, len, "ot.mpi.unpack");
  return 1;
}

/* ---- collectives ------------------------------------------------------------- */

/* ot.mpi.rank() -> 0-based rank;  ot.mpi.size() -> number of ranks */
static int mpi_rank(lua_State *L) {
  lua_pushinteger(L, world_rank);
  return 1;
}
static int mpi_size(lua_State *L) {
  lua_pushinteger(L, world_size);
  return 1;
}
/* ot.mpi.active() -> true when MPI is running with this process as a rank */
static int mpi_active(lua_State *L) {
  lua_pushboolean(L, mpi_on);
  return 1;
}
/* ot.mpi.built() -> true when this otlab was built with MPI */
static int mpi_built(lua_State *L) {
#ifdef OTLAB_HAVE_MPI
  lua_pushboolean(L, 1);
#else
  lua_pushboolean(L, 0);
#endif
  return 1;
}

static int mpi_barrier(lua_State *L) {
#ifdef OTLAB_HAVE_MPI
  if (mpi_on) mpi_check(L, MPI_Barrier(MPI_COMM_WORLD), "ot.mpi.barrier");
#endif
  (void)L;
  return 0;
}

/* The optional root argument at arg (default 0), checked against the world. */
static int check_root(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg)) return 0;
  lua_Integer r = bind_checkinteger(L, arg, "root");
  if (r < 0 || r >= world_size)
    bind_argerror(L, arg, "root", "must be a rank in 0..%d, got %lld", world_size - 1, (long long)r);
  return (int)r;
}

#ifdef OTLAB_HAVE_MPI
/*
 * Gather the strings at stack index idx of every rank (in rank order) to
 * root, or to all ranks when root < 0.  Pushes a table {s_0, ..., s_{P-1}}
 * on the receiving ranks, nil elsewhere.
 */
static void gather_strings(lua_State *L, int idx, int root, const char *fname) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  if (len > (size_t)INT32_MAX) luaL_error(L, "%s: a value over 2 GiB cannot be sent", fname);
  int mylen = (int)len, all = root < 0, recv = all || world_rank == root;
  int *lens = lua_newuserdatauv(L, 2 * sizeof(int) * (size_t)world_size, 0);
  int *offs = lens + world_size;
  int rc = all ? MPI_Allgather(&mylen, 1, MPI_INT, lens, 1, MPI_INT, MPI_COMM_WORLD)
               : MPI_Gather(&mylen, 1, MPI_INT, lens, 1, MPI_INT, root, MPI_COMM_WORLD);
  mpi_check(L, rc, fname);
  size_t total = 0;
  if (recv) {
    for (int p = 0; p < world_size; p++) {
      offs[p] = (int)total;
      total += (size_t)lens[p];
    }
    if (total > (size_t)INT32_MAX) luaL_error(L, "%s: gathered values exceed 2 GiB", fname);
  }
  char *buf = lua_newuserdatauv(L, total ? total : 1, 0);
  rc = all ? MPI_Allgatherv(s, mylen, MPI_BYTE, buf, lens, offs, MPI_BYTE, MPI_COMM_WORLD)
           : MPI_Gatherv(s, mylen, MPI_BYTE, buf, lens, offs, MPI_BYTE, root, MPI_COMM_WORLD);
  mpi_check(L, rc, fname);
  if (!recv) {
    lua_pop(L, 2);
    lua_pushnil(L);
    return;
  }
  lua_createtable(L, world_size, 0);
  for (int p = 0; p < world_size; p++) {
    lua_pushlstring(L, buf + offs[p], (size_t)lens[p]);
    lua_rawseti(L, -2, p + 1);
  }
  lua_replace(L, -3);
  lua_pop(L, 1);
}
#endif

/* ot.mpi.bcast(v [, root]) -> root's v on every rank */
static int mpi_bcast(lua_State *L) {
  lua_settop(L, 2);
  int root = check_root(L, 2);
  (void)root;
#ifdef OTLAB_HAVE_MPI
  if (mpi_on) {
    if (world_rank == root) pack_push(L, 1, "ot.mpi.bcast");
    else lua_pushliteral(L, "");
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    long long n = (long long)len;
    mpi_check(L, MPI_Bcast(&n, 1, MPI_LONG_LONG, root, MPI_COMM_WORLD), "ot.mpi.bcast");
    if (n > INT32_MAX) luaL_error(L, "ot.mpi.bcast: a value over 2 GiB cannot be sent");
    char *buf = lua_newuserdatauv(L, n ? (size_t)n : 1, 0);
    if (world_rank == root) memcpy(buf, s, (size_t)n);
    mpi_check(L, MPI_Bcast(buf, (int)n, MPI_BYTE, root, MPI_COMM_WORLD), "ot.mpi.bcast");
    unpack_push(L, buf, (size_t)n, "ot.mpi.bcast");
    return 1;
  }
#endif
  /* One rank: a copy, as the other ranks would get. */
  pack_push(L, 1, "ot.mpi.bcast");
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  unpack_push(L, s, len, "ot.mpi.bcast");
  return 1;
}

/* Shared body of gather (root >= 0) and allgather (root = -1). */
static int do_gather(lua_State *L, int root, const char *fname) {
  pack_push(L, 1, fname);
#ifdef OTLAB_HAVE_MPI
  if (mpi_on) {
    gather_strings(L, lua_gettop(L), root, fname);
    if (lua_isnil(L, -1)) return 1;
  } else
#endif
  {
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, 1);
  }
  int t = lua_gettop(L);
  lua_createtable(L, world_size, 0);
  for (int p = 1; p <= world_size; p++) {
    size_t len;
    lua_rawgeti(L, t, p);
    const char *s = lua_tolstring(L, -1, &len);
    unpack_push(L, s, len, fname);
    lua_rawseti(L, -3, p);
    lua_pop(L, 1);
  }
  return 1;
}

/* ot.mpi.gather(v [, root]) -> {v_rank0, v_rank1, ...} on root, nil elsewhere */
static int mpi_gather(lua_State *L) {
  lua_settop(L, 2);
  return do_gather(L, check_root(L, 2), "ot.mpi.gather");
}

/* ot.mpi.allgather(v) -> {v_rank0, v_rank1, ...} on every rank */
static int mpi_allgather(lua_State *L) {
  lua_settop(L, 1);
  return do_gather(L, -1, "ot.mpi.allgather");
}

/* Combine b into a element-wise with op (0 sum, 1 max, 2 min, 3 prod). */
static double combine(int op, double a, double b) {
  switch (op) {
  case 1: return a > b || isnan(a) ? a : b;
  case 2: return a < b || isnan(a) ? a : b;
  case 3: return a * b;
  default: return a + b;
  }
}

/*
 * ot.mpi.allreduce(x [, op]) -> the reduction of x over the ranks, on every
 * rank.  x: a number or a matrix (same shape on every rank); op "sum"
 * (default), "max", "min" or "prod".  The reduction runs in rank order
 * (rank 0 first) so the result does not depend on the MPI library's tree.
 */
static int mpi_allreduce(lua_State *L) {
  static const char *const ops[] = {"sum", "max", "min", "prod", NULL};
  lua_settop(L, 2);
  int op = 0;
  if (!lua_isnil(L, 2)) {
    const char *s = lua_tostring(L, 2);
    if (lua_type(L, 2) != LUA_TSTRING)
      bind_argerror(L, 2, "op", "string expected, got %s", luaL_typename(L, 2));
    for (op = 0; ops[op] && strcmp(ops[op], s) != 0; op++) {}
    if (!ops[op]) bind_argerror(L, 2, "op", "expected \"sum\", \"max\", \"min\" or \"prod\", got \"%s\"", s);
  }
  int isnum = lua_type(L, 1) == LUA_TNUMBER;
  bmat *X = isnum ? NULL : bind_testmat(L, 1);
  if (!isnum && !X)
    bind_argerror(L, 1, "x", "number or matrix expected, got %s", luaL_typename(L, 1));
  if (isnum) lua_pushnumber(L, lua_tonumber(L, 1)); /* as a float: packed as 'd' */
  else lua_pushvalue(L, 1);
  int me = lua_gettop(L);
  /* Gather everything and reduce in rank order: deterministic, and shape
   * mismatches are found on every rank alike. */
  lua_pushcfunction(L, mpi_allgather);
  lua_pushvalue(L, me);
  lua_call(L, 1, 1);
  int all = lua_gettop(L);
  lua_rawgeti(L, all, 1);
  if (isnum) {
    double acc = lua_tonumber(L, -1);
    for (int p = 2; p <= world_size; p++) {
      lua_rawgeti(L, all, p);
      acc = combine(op, acc, lua_tonumber(L, -1));
      lua_pop(L, 1);
    }
    lua_pushnumber(L, acc);
    return 1;
  }
  bmat *acc = bind_testmat(L, -1); /* a fresh copy from unpack: ours to change */
  for (int p = 2; p <= world_size; p++) {
    lua_rawgeti(L, all, p);
    bmat *B = bind_testmat(L, -1);
    if (!B || B->m.rows != acc->m.rows || B->m.cols != acc->m.cols)
      luaL_error(L, "ot.mpi.allreduce: bad argument #1 'x' (rank %d has a %dx%d matrix, rank 0 a %dx%d one)",
                 p - 1, B ? (int)B->m.rows : 0, B ? (int)B->m.cols : 0, (int)acc->m.rows, (int)acc->m.cols);
    size_t n = acc->m.rows * acc->m.cols;
    for (size_t i = 0; i < n; i++) acc->m.data[i] = combine(op, acc->m.data[i], B->m.data[i]);
    lua_pop(L, 1);
  }
  return 1;
}

/* ---- map ------------------------------------------------------------------- */

/* Shard mode from OTLAB_SHARD: -1 none, 0 reduce, else i in 1..N. */
typedef struct shard_cfg {
  int index; /* 1-based shard, 0 for reduce, -1 when not sharding */
  int count; /* N (0 for reduce: read from the files) */
  const char *dir;
} shard_cfg;

static int shard_config(lua_State *L, shard_cfg *c) {
  const char *s = getenv("OTLAB_SHARD");
  c->index = -1;
  c->count = 0;
  c->dir = getenv("OTLAB_SHARD_DIR");
  if (!c->dir || !c->dir[0]) c->dir = "otlab-shards";
  if (!s || !s[0]) return 0;
  if (strcmp(s, "reduce") == 0) {
    c->index = 0;
    return 1;
  }
  int i, n, used = 0;
  if (sscanf(s, "%d/%d%n", &i, &n, &used) != 2 || s[used] != '\0' || n < 1 || i < 1 || i > n)
    luaL_error(L, "ot.mpi.map: OTLAB_SHARD must be i/N with 1 <= i <= N, or reduce (got \"%s\")", s);
  c->index = i;
  c->count = n;
  return 1;
}

/* Path of shard i of N of map call `call` named name. */
static void shard_path(char *out, size_t cap, const shard_cfg *c, const char *name, int call,
                       int i, int n) {
  snprintf(out, cap, "%s/%s-%d.%dof%d.otpk", c->dir, name, call, i, n);
}

/* Read a whole shard file and push its table {n = items, [i] = result ...}.
 * Returns 0 when the file does not exist (nothing pushed). */
static int read_shard(lua_State *L, const char *path) {
  void *buf = NULL;
  size_t len = 0;
  char err[256];
  struct stat st;
  if (stat(path, &st) != 0) return 0;
  int rc = ot_io_read_file(path, (size_t)1 << 40, &buf, &len, err, sizeof err);
  if (rc != OT_OK) luaL_error(L, "ot.mpi.map: cannot read %s: %s", path, err);
  lua_pushlstring(L, buf, len);
  ot_free(buf);
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  unpack_push(L, s, n, "ot.mpi.map");
  lua_remove(L, -2);
  if (!lua_istable(L, -1)) luaL_error(L, "ot.mpi.map: %s is not a shard file", path);
  return 1;
}

/* Call f(item, i) for item i with the session generator reseeded from
 * (seed, i) when seed_given.  Pushes {true, result} or {false, message}. */
static void run_item(lua_State *L, int items, int f, lua_Integer i, int seed_given, lua_Integer seed) {
  if (seed_given) /* per-item streams: the same numbers whichever rank runs it */
    ot_rng_seed(bind_rng(), (uint64_t)seed * 0x9E3779B97F4A7C15ull + (uint64_t)i);
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, f);
  lua_rawgeti(L, items, i);
  lua_pushinteger(L, i);
  int st = lua_pcall(L, 2, 1, 0);
  lua_pushboolean(L, st == LUA_OK);
  lua_rawseti(L, -3, 1);
  if (st != LUA_OK && !lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "(error object is not a string)");
  }
  lua_rawseti(L, -2, 2);
}

/* Raise the first failure in the outcome table at idx ({ {ok, v}, ... }). */
static void raise_failures(lua_State *L, int outcomes, lua_Integer n, int where) {
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, outcomes, i);
    if (lua_istable(L, -1)) {
      lua_rawgeti(L, -1, 1);
      int ok = lua_toboolean(L, -1);
      lua_pop(L, 1);
      if (!ok) {
        lua_rawgeti(L, -1, 2);
        if (where >= 0)
          luaL_error(L, "ot.mpi.map: item %d failed on rank %d: %s", (int)i, where, lua_tostring(L, -1));
        luaL_error(L, "ot.mpi.map: item %d failed: %s", (int)i, lua_tostring(L, -1));
      }
    }
    lua_pop(L, 1);
  }
}

/*
 * ot.mpi.map(items, f [, opts]) -> results
 * results[i] = f(items[i], i) for i = 1..#items, on every rank, whatever
 * the number of ranks or shards.  Item i runs on rank (i-1) % size.
 * opts: seed (reseed the session generator from (seed, i) before each
 * item, so random draws do not depend on the layout), name (of the shard
 * files, default "map").
 */
static int mpi_map(lua_State *L) {
  static const char *const keys[] = {"seed", "name", NULL};
  lua_settop(L, 3);
  if (lua_type(L, 1) != LUA_TTABLE)
    bind_argerror(L, 1, "items", "table expected, got %s", luaL_typename(L, 1));
  if (!lua_isfunction(L, 2) && !luaL_getmetafield(L, 2, "__call"))
    bind_argerror(L, 2, "f", "function expected, got %s", luaL_typename(L, 2));
  lua_settop(L, 3);
  bind_checkopts(L, 3, keys);
  int seed_given = 0;
  lua_Integer seed = 0;
  if (lua_istable(L, 3)) {
    seed_given = lua_getfield(L, 3, "seed") != LUA_TNIL;
    lua_pop(L, 1);
  }
  if (seed_given) seed = bind_optfield_integer(L, 3, "seed", 0);
  const char *name = bind_optfield_string(L, 3, "name", "map");
  if (!name[0] || strchr(name, '/'))
    bind_argerror(L, 3, "opts", "name must be a non-empty file name without '/', got \"%s\"", name);
  lua_Integer n = luaL_len(L, 1);
  lua_settop(L, 3);
  lua_newtable(L); /* 4: outcomes {ok, value} by item */
  int outcomes = 4;

  static int call_count = 0; /* numbers the map calls of this run, for the shard files */
  int call = ++call_count;
  shard_cfg sc;
  if (shard_config(L, &sc)) {
    char path[4096];
    if (sc.index > 0) { /* a shard: load if all shards are done, else compute ours */
      int complete = 1;
      for (int s = 1; s <= sc.count && complete; s++) {
        shard_path(path, sizeof path, &sc, name, call, s, sc.count);
        complete = access(path, R_OK) == 0;
      }
      if (!complete) {
        for (lua_Integer i = sc.index; i <= n; i += sc.count) {
          run_item(L, 1, 2, i, seed_given, seed);
          lua_rawseti(L, outcomes, i);
        }
        raise_failures(L, outcomes, n, -1);
        lua_newtable(L);
        lua_pushinteger(L, n);
        lua_setfield(L, -2, "n");
        lua_pushvalue(L, outcomes);
        lua_setfield(L, -2, "outcomes");
        pack_push(L, -1, "ot.mpi.map");
        size_t len;
        const char *data = lua_tolstring(L, -1, &len);
        mkdir(sc.dir, 0777);
        shard_path(path, sizeof path, &sc, name, call, sc.index, sc.count);
        char werr[512];
        if (ot_io_write_bytes(path, data, len, werr, sizeof werr) != OT_OK)
          luaL_error(L, "ot.mpi.map: cannot write %s", werr);
        fprintf(stderr, "otlab: shard %d/%d of map '%s' #%d: %d of %d items written to %s\n",
                sc.index, sc.count, name, call, (int)(n >= sc.index ? (n - sc.index) / sc.count + 1 : 0),
                (int)n, path);
        fflush(NULL);
        /* This shard's part is done: end the script as os.exit(0, true) would. */
        lua_getglobal(L, "os");
        lua_getfield(L, -1, "exit");
        lua_pushinteger(L, 0);
        lua_pushboolean(L, 1);
        lua_call(L, 2, 0);
        return 0;
      }
    }
    /* Reduce (or a shard run finding all shards done): read them all. */
    int count = sc.count;
    if (count == 0) { /* reduce: find N from the files of shard 1 */
      for (int tryn = 1; tryn <= 100000 && count == 0; tryn++) {
        shard_path(path, sizeof path, &sc, name, call, 1, tryn);
        if (access(path, R_OK) == 0) count = tryn;
      }
      if (count == 0)
        luaL_error(L, "ot.mpi.map: no shard files for map '%s' #%d in %s (run the shards first)",
                   name, call, sc.dir);
    }
    for (int s = 1; s <= count; s++) {
      shard_path(path, sizeof path, &sc, name, call, s, count);
      if (!read_shard(L, path))
        luaL_error(L, "ot.mpi.map: shard %d of %d is missing: %s", s, count, path);
      lua_getfield(L, -1, "n");
      if (lua_tointeger(L, -1) != n)
        luaL_error(L, "ot.mpi.map: %s holds %d items, this run maps %d (a different script or input?)",
                   path, (int)lua_tointeger(L, -1), (int)n);
      lua_pop(L, 1);
      lua_getfield(L, -1, "outcomes");
      for (lua_Integer i = s; i <= n; i += count) {
        if (lua_rawgeti(L, -1, i) != LUA_TTABLE) luaL_error(L, "ot.mpi.map: %s lacks item %d", path, (int)i);
        lua_rawseti(L, outcomes, i);
      }
      lua_pop(L, 2);
    }
  } else {
    for (lua_Integer i = world_rank + 1; i <= n; i += world_size) {
      run_item(L, 1, 2, i, seed_given, seed);
      lua_rawseti(L, outcomes, i);
    }
#ifdef OTLAB_HAVE_MPI
    if (mpi_on && world_size > 1) {
      /* Every rank learns every outcome (failures included, so that all
       * ranks raise the same error instead of some waiting forever).  Each
       * outcome is packed here first: a result that cannot travel becomes
       * a failure of its item, and the collective below cannot fail on one
       * rank only. */
      lua_newtable(L);
      int packed = lua_gettop(L);
      for (lua_Integer i = world_rank + 1; i <= n; i += world_size) {
        lua_pushcfunction(L, mpi_pack);
        lua_rawgeti(L, outcomes, i);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
          lua_createtable(L, 2, 0);
          lua_pushboolean(L, 0);
          lua_rawseti(L, -2, 1);
          lua_pushfstring(L, "its result cannot be sent to the other ranks: %s",
                          lua_isstring(L, -2) ? lua_tostring(L, -2) : "?");
          lua_rawseti(L, -2, 2);
          lua_replace(L, -2);
          pack_push(L, -1, "ot.mpi.map");
          lua_replace(L, -2);
        }
        lua_rawseti(L, packed, i);
      }
      lua_pushcfunction(L, mpi_allgather);
      lua_pushvalue(L, packed);
      lua_call(L, 1, 1);
      int all = lua_gettop(L);
      for (int p = 0; p < world_size; p++) {
        lua_rawgeti(L, all, p + 1);
        for (lua_Integer i = p + 1; i <= n; i += world_size) {
          size_t len;
          lua_rawgeti(L, -1, i);
          const char *str = lua_tolstring(L, -1, &len);
          if (!str) luaL_error(L, "ot.mpi.map: rank %d sent no result for item %d", p, (int)i);
          unpack_push(L, str, len, "ot.mpi.map");
          lua_rawseti(L, outcomes, i);
          lua_pop(L, 1);
        }
        lua_pop(L, 1);
      }
      for (int p = 0; p < world_size; p++) { /* name the rank of the first failure */
        for (lua_Integer i = p + 1; i <= n; i += world_size) {
          lua_rawgeti(L, outcomes, i);
          lua_rawgeti(L, -1, 1);
          int ok = lua_toboolean(L, -1);
          lua_pop(L, 2);
          if (!ok) {
            lua_newtable(L);
            lua_rawgeti(L, outcomes, i);
            lua_rawseti(L, -2, i);
            raise_failures(L, lua_gettop(L), i, p);
          }
        }
      }
      lua_settop(L, outcomes);
    }
#endif
  }
  raise_failures(L, outcomes, n, -1);
  lua_createtable(L, (int)n, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, outcomes, i);
    lua_rawgeti(L, -1, 2);
    lua_rawseti(L, -3, i);
    lua_pop(L, 1);
  }
  return 1;
}

/* ot.mpi.shard() -> i, N (0, N for reduce; nil when not sharding) */
static int mpi_shard(lua_State *L) {
  shard_cfg sc;
  if (!shard_config(L, &sc)) return 0;
  lua_pushinteger(L, sc.index);
  lua_pushinteger(L, sc.count);
  return 2;
}

/* ---- distribution of kernels' jobs (mpi.h) ------------------------------------ */

int bind_mpi_rank(void) { return world_rank; }
int bind_mpi_size(void) { return world_size; }

/*
 * Called by the host when a script ends with an error.  Under MPI with
 * several ranks the others may be waiting in a collective this rank will
 * never reach: MPI_Abort ends the whole job (with exit status code) instead
 * of leaving it hanging.  Does nothing in a world of one.
 */
void bind_mpi_fail(int code) {
#ifdef OTLAB_HAVE_MPI
  if (mpi_on && world_size > 1) {
    fprintf(stderr, "otlab: rank %d: the script failed; stopping all %d ranks\n", world_rank,
            world_size);
    fflush(NULL);
    MPI_Abort(MPI_COMM_WORLD, code);
  }
#endif
  (void)code;
}

#define DIST_MT "otlab.dist"

struct bind_dist {
  int mode;
  const char *fname;
  char name[64];
  int call;            /* this call's number among the distributed calls of the run */
  shard_cfg sc;        /* (sc.dir points into the environment) */
  int shards;          /* N */
  long batch;          /* batches seen so far */
  char err[1024];      /* the distributor's own failure, or "" */
  /* shard: this shard's records (batch, job, kw, w, key, row), back to back */
  double *rec;
  size_t rec_len, rec_cap, nrec, rec_maxw;
  /* reduce: the N files and a cursor in each */
  ot_io_data *files;
  size_t *cursor;
  /* MPI: the kernel's progress, wrapped (bind_dist_progress) */
  ot_progress_fn inner;
  void *inner_ud;
  int in_run;          /* inside jobs->run: a stop reaches every rank at the batch's end */
  int latched;         /* a stop was asked; honoured at the next batch */
};

static int dist_gc(lua_State *L) {
  bind_dist *d = luaL_checkudata(L, 1, DIST_MT);
  ot_free(d->rec);
  d->rec = NULL;
  if (d->files) {
    for (int s = 0; s < d->shards; s++) ot_io_data_free(&d->files[s]);
    ot_free(d->files);
    d->files = NULL;
  }
  ot_free(d->cursor);
  d->cursor = NULL;
  return 0;
}

static void dist_path(char *out, size_t cap, const bind_dist *d, int i, int n) {
  snprintf(out, cap, "%s/%s-%d.%dof%d.npy", d->sc.dir, d->name, d->call, i, n);
}

bind_dist *bind_dist_new(lua_State *L, const char *fname, const char *name, int shards) {
  static int dist_calls = 0;
  bind_dist *d = lua_newuserdatauv(L, sizeof *d, 0);
  memset(d, 0, sizeof *d);
  if (luaL_newmetatable(L, DIST_MT)) {
    lua_pushcfunction(L, dist_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  d->fname = fname;
  snprintf(d->name, sizeof d->name, "%s", name);
  d->call = ++dist_calls;
  d->mode = world_size > 1 ? BIND_DIST_MPI : BIND_DIST_LOCAL;
  if (!shards || !shard_config(L, &d->sc)) return d;
  char path[4096];
  if (d->sc.index > 0) { /* a shard: reduce when all N files are there */
    int complete = 1;
    for (int s = 1; s <= d->sc.count && complete; s++) {
      dist_path(path, sizeof path, d, s, d->sc.count);
      complete = access(path, R_OK) == 0;
    }
    d->shards = d->sc.count;
    d->mode = complete ? BIND_DIST_REDUCE : BIND_DIST_SHARD;
    if (d->mode == BIND_DIST_SHARD) return d;
  } else { /* reduce: N from the files of shard 1 */
    for (int tryn = 1; tryn <= 100000 && d->shards == 0; tryn++) {
      dist_path(path, sizeof path, d, 1, tryn);
      if (access(path, R_OK) == 0) d->shards = tryn;
    }
    if (d->shards == 0)
      luaL_error(L, "%s: no shard files %s-%d.1ofN.npy in %s (run the shards first)", fname,
                 d->name, d->call, d->sc.dir);
    d->mode = BIND_DIST_REDUCE;
  }
  int rc = ot_calloc((size_t)d->shards * sizeof *d->files, &d->files);
  if (!rc) rc = ot_calloc((size_t)d->shards * sizeof *d->cursor, &d->cursor);
  if (rc) {
    d->shards = 0; /* nothing loaded for the __gc to free */
    bind_check_status(L, rc, fname);
  }
  for (int s = 0; s < d->shards; s++) ot_io_data_init(&d->files[s]);
  for (int s = 1; s <= d->shards; s++) {
    dist_path(path, sizeof path, d, s, d->shards);
    if (access(path, R_OK) != 0)
      luaL_error(L, "%s: shard %d of %d is missing: %s", fname, s, d->shards, path);
    char err[256];
    ot_io_opts io;
    ot_io_opts_init(&io);
    io.format = OT_IO_NPY;
    io.allow_nonfinite = 1; /* rows are padded with NaN; results may hold NaN or Inf */
    rc = ot_io_load(path, &io, &d->files[s - 1], err, sizeof err);
    if (rc) luaL_error(L, "%s: cannot read %s: %s", fname, path, err);
    if (d->files[s - 1].rows && d->files[s - 1].cols < 4)
      luaL_error(L, "%s: %s is not a shard file (%d columns)", fname, path,
                 (int)d->files[s - 1].cols);
  }
  return d;
}

int bind_dist_mode(const bind_dist *d) { return d->mode; }

/* Append one record to the shard's list. */
static int dist_record(bind_dist *d, size_t job, const ot_jobs *j) {
  size_t len = 4 + j->key_width + j->width;
  if (len > d->rec_cap - d->rec_len) {
    size_t cap = d->rec_cap ? 2 * d->rec_cap : 1024;
    while (cap - d->rec_len < len) cap *= 2;
    double *nr;
    int rc = ot_alloc_doubles(cap, 1, &nr);
    if (rc) return rc;
    if (d->rec_len) memcpy(nr, d->rec, d->rec_len * sizeof(double));
    ot_free(d->rec);
    d->rec = nr;
    d->rec_cap = cap;
  }
  double *r = d->rec + d->rec_len;
  r[0] = (double)d->batch;
  r[1] = (double)job;
  r[2] = (double)j->key_width;
  r[3] = (double)j->width;
  if (j->key_width) memcpy(r + 4, j->key + job * j->key_width, j->key_width * sizeof(double));
  memcpy(r + 4 + j->key_width, j->out + job * j->width, j->width * sizeof(double));
  d->rec_len += len;
  d->nrec++;
  if (len > d->rec_maxw) d->rec_maxw = len;
  return OT_OK;
}

/* Fill the rows of batch d->batch from the shard files (reduce). */
static int dist_read(bind_dist *d, ot_jobs *j) {
  for (size_t t = 0; t < j->count; t++) {
    int s = (int)(t % (size_t)d->shards);
    ot_io_data *f = &d->files[s];
    size_t r = d->cursor[s]++;
    char path[4096];
    dist_path(path, sizeof path, d, s + 1, d->shards);
    const double *row = r < f->rows ? f->x + r * f->cols : NULL;
    if (!row || row[0] != (double)d->batch || row[1] != (double)t ||
        row[2] != (double)j->key_width || row[3] != (double)j->width ||
        f->cols < 4 + j->key_width + j->width) {
      snprintf(d->err, sizeof d->err, "%.700s does not match this run: its row %zu should be job %zu "
               "of batch %ld (%s); the shards ran a different script, data or options",
               path, r + 1, t, d->batch, j->kind);
      return OT_EFORMAT;
    }
    for (size_t q = 0; q < j->key_width; q++)
      if (row[4 + q] != j->key[t * j->key_width + q]) {
        snprintf(d->err, sizeof d->err, "%.700s does not match this run: job %zu of batch %ld (%s) "
                 "has another key (the shards ran with other data, seed or options)",
                 path, t, d->batch, j->kind);
        return OT_EFORMAT;
      }
    memcpy(j->out + t * j->width, row + 4 + j->key_width, j->width * sizeof(double));
  }
  return OT_OK;
}

#ifdef OTLAB_HAVE_MPI
/* Rank-order priority of statuses: a real failure beats a cancel. */
static int status_rank(int rc) { return rc == OT_OK ? 0 : rc == OT_ECANCELED ? 1 : 2 + rc; }

/* The MPI layout: run our share, agree on the status, gather the rows. */
static int dist_mpi(bind_dist *d, ot_jobs *j) {
  int P = world_size, me = world_rank;
  size_t w = j->width;
  double *buf = NULL;
  int *cnt = NULL, *off = NULL;
  size_t total = j->count * w;
  int rc = OT_OK;
  if (total > (size_t)INT32_MAX) rc = OT_EOVERFLOW; /* the same on every rank */
  if (!rc) rc = ot_alloc_doubles(total ? total : 1, 1, &buf);
  if (!rc) rc = ot_malloc(2 * (size_t)P * sizeof(int), &cnt);
  if (!rc) off = cnt + P;
  if (!rc && d->latched) rc = OT_ECANCELED; /* asked between batches */
  if (!rc) {
    d->in_run = 1;
    rc = j->run(j, (size_t)me, (size_t)P);
    d->in_run = 0;
  }
  /* everyone learns the worst status before any row moves */
  int mine = status_rank(rc), worst = 0;
  if (MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) {
    snprintf(d->err, sizeof d->err, "MPI_Allreduce of the statuses failed");
    rc = OT_EIO;
    goto done;
  }
  if (worst) {
    int all = worst == 1 ? OT_ECANCELED : worst - 2;
    if (rc == OT_OK) /* this rank was fine: say where the stop came from */
      snprintf(d->err, sizeof d->err, "stopped because another rank %s%s",
               all == OT_ECANCELED ? "was interrupted or canceled" : "failed: ",
               all == OT_ECANCELED ? "" : ot_strerror(all));
    rc = all;
    goto done;
  }
  /* rank p's rows, job order: t = p, p + P, ...; packed contiguously */
  size_t at = 0;
  for (int p = 0; p < P; p++) {
    size_t np = (size_t)p < j->count ? (j->count - (size_t)p - 1) / (size_t)P + 1 : 0;
    cnt[p] = (int)(np * w);
    off[p] = (int)at;
    at += np * w;
  }
  for (size_t t = (size_t)me, q = (size_t)off[me]; t < j->count; t += (size_t)P, q += w)
    memcpy(buf + q, j->out + t * w, w * sizeof(double));
  if (MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, off, MPI_DOUBLE,
                     MPI_COMM_WORLD) != MPI_SUCCESS) {
    snprintf(d->err, sizeof d->err, "MPI_Allgatherv of the %s rows failed", j->kind);
    rc = OT_EIO;
    goto done;
  }
  for (int p = 0; p < P; p++)
    for (size_t t = (size_t)p, q = (size_t)off[p]; t < j->count; t += (size_t)P, q += w)
      memcpy(j->out + t * w, buf + q, w * sizeof(double));
done:
  ot_free(buf);
  ot_free(cnt);
  return rc;
}
#endif

/*
 * The kernel's progress under MPI.  A stop (Ctrl-C, a callback returning
 * false or raising) must reach every rank at the same point, or some ranks
 * would wait forever in the next collective: inside a batch's run it stops
 * the local share, and the status exchange at the batch's end stops every
 * rank; elsewhere it is only noted (the kernel goes on) and stops the next
 * batch.  A stop after the last batch is too late: the run completes.
 */
static int dist_progress(void *ud, const ot_progress *p) {
  bind_dist *d = ud;
  if (!d->latched && d->inner(d->inner_ud, p)) d->latched = 1;
  return d->latched && d->in_run;
}

void bind_dist_progress(bind_dist *d, ot_progress_fn *fn, void **ud) {
  if (d->mode != BIND_DIST_MPI || !*fn) return;
  d->inner = *fn;
  d->inner_ud = *ud;
  *fn = dist_progress;
  *ud = d;
}

int bind_dist_jobs(void *ud, ot_jobs *j) {
  bind_dist *d = ud;
  if (j->fixed) d->batch++; /* the batches the shard files number */
  switch (d->mode) {
#ifdef OTLAB_HAVE_MPI
  case BIND_DIST_MPI:
    if (mpi_on && world_size > 1) return dist_mpi(d, j);
    return j->run(j, 0, 1);
#endif
  case BIND_DIST_SHARD: {
    if (!j->fixed) return OT_OK; /* made by the run that reads the shards */
    size_t first = (size_t)(d->sc.index - 1), stride = (size_t)d->sc.count;
    int rc = j->run(j, first, stride);
    for (size_t t = first; rc == OT_OK && t < j->count; t += stride) rc = dist_record(d, t, j);
    return rc;
  }
  case BIND_DIST_REDUCE:
    return j->fixed ? dist_read(d, j) : j->run(j, 0, 1);
  default:
    return j->run(j, 0, 1);
  }
}

void bind_dist_check(lua_State *L, bind_dist *d) {
  if (d->err[0]) luaL_error(L, "%s: %s", d->fname, d->err);
}

void bind_dist_finish(lua_State *L, bind_dist *d) {
  char path[4096];
  if (d->mode == BIND_DIST_REDUCE) {
    for (int s = 0; s < d->shards; s++)
      if (d->cursor[s] != d->files[s].rows) {
        dist_path(path, sizeof path, d, s + 1, d->shards);
        luaL_error(L, "%s: %s holds %d rows, this run used %d (the shards ran a different "
                   "script, data or options)", d->fname, path, (int)d->files[s].rows,
                   (int)d->cursor[s]);
      }
    return;
  }
  if (d->mode != BIND_DIST_SHARD) return;
  size_t cols = d->rec_maxw ? d->rec_maxw : 4;
  bmat *M = bind_newmat(L, d->nrec, cols, d->fname);
  const double *r = d->rec;
  for (size_t q = 0; q < d->nrec; q++) {
    size_t len = 4 + (size_t)r[2] + (size_t)r[3];
    for (size_t c = 0; c < cols; c++) OT_AT(M->m, q, c) = c < len ? r[c] : NAN;
    r += len;
  }
  mkdir(d->sc.dir, 0777);
  dist_path(path, sizeof path, d, d->sc.index, d->sc.count);
  ot_io_save_opts so;
  ot_io_save_opts_init(&so);
  so.format = OT_IO_NPY;
  char err[512];
  int rc = ot_io_save(path, M->m, 0, &so, err, sizeof err);
  if (rc) luaL_error(L, "%s: cannot write %s: %s", d->fname, path, err);
  fprintf(stderr, "otlab: shard %d/%d of %s #%d: %d jobs in %ld batches written to %s\n",
          d->sc.index, d->sc.count, d->fname, d->call, (int)d->nrec, d->batch, path);
  fflush(NULL);
  lua_getglobal(L, "os");
  lua_getfield(L, -1, "exit");
  lua_pushinteger(L, 0);
  lua_pushboolean(L, 1);
  lua_call(L, 2, 0);
}

static const luaL_Reg mpi_funcs[] = {
  {"rank", mpi_rank},         {"size", mpi_size},       {"active", mpi_active},
  {"built", mpi_built},       {"barrier", mpi_barrier}, {"bcast", mpi_bcast},
  {"gather", mpi_gather},     {"allgather", mpi_allgather},
  {"allreduce", mpi_allreduce}, {"map", mpi_map},       {"shard", mpi_shard},
  {"pack", mpi_pack},         {"unpack", mpi_unpack},   {NULL, NULL},
};

/* Adds ot.mpi to the table on top of the stack (and starts MPI under a
 * launcher). */
void bind_open_mpi(lua_State *L) {
  world_init(L);
  luaL_newlib(L, mpi_funcs);
  lua_setfield(L, -2, "mpi");
}
