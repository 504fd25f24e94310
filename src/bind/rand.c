/*
 * rand.c -- ot.seed and the random constructors, on the session generator.
 */
#include "bind.h"
#include "ot/alloc.h"

/* ot.seed(n): reseed the session generator; same seed, same numbers. */
static int rand_seed(lua_State *L) {
  lua_Integer s = bind_checkinteger(L, 1, "seed");
  ot_rng_seed(bind_rng(), (uint64_t)s);
  return 0;
}

/* Shared by rand/randn: ot.rand(n) is a vector, ot.rand(r, c) a matrix. */
static bmat *new_shaped(lua_State *L, const char *fname) {
  size_t r = bind_checksize(L, 1, "rows");
  if (lua_isnoneornil(L, 2)) return bind_newvec(L, r, fname);
  size_t c = bind_checksize(L, 2, "cols");
  return bind_newmat(L, r, c, fname);
}

static int rand_rand(lua_State *L) {
  bmat *b = new_shaped(L, "ot.rand");
  ot_rng *g = bind_rng();
  for (size_t i = 0; i < b->m.rows; i++)
    for (size_t j = 0; j < b->m.cols; j++) OT_AT(b->m, i, j) = ot_rng_uniform(g);
  return 1;
}

static int rand_randn(lua_State *L) {
  bmat *b = new_shaped(L, "ot.randn");
  ot_rng *g = bind_rng();
  for (size_t i = 0; i < b->m.rows; i++)
    for (size_t j = 0; j < b->m.cols; j++) OT_AT(b->m, i, j) = ot_rng_normal(g);
  return 1;
}

/* ot.randperm(n): a random permutation of 1..n as a Lua table. */
static int rand_randperm(lua_State *L) {
  size_t n = bind_checksize(L, 1, "n");
  size_t bytes;
  if (ot_mem_size(n, 1, sizeof(size_t), &bytes) || ot_mem_check(bytes))
    bind_check_status(L, OT_EBUDGET, "ot.randperm");
  size_t *perm = lua_newuserdatauv(L, bytes, 0); /* scratch the GC frees, even on error */
  ot_rng_permutation(bind_rng(), perm, n);
  lua_createtable(L, (int)(n < 1u << 30 ? n : 0), 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)perm[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* ot.choice(n, k): k distinct indices from 1..n, uniformly, as a table. */
static int rand_choice(lua_State *L) {
  size_t n = bind_checksize(L, 1, "n");
  size_t k = bind_checksize(L, 2, "k");
  if (k > n) bind_argerror(L, 2, "k", "must be <= n = %zu, got %zu", n, k);
  size_t bytes;
  if (ot_mem_size(n + k, 1, sizeof(size_t), &bytes) || ot_mem_check(bytes))
    bind_check_status(L, OT_EBUDGET, "ot.choice");
  size_t *buf = lua_newuserdatauv(L, bytes, 0);
  ot_rng_sample(bind_rng(), buf, k, n, buf + k);
  lua_createtable(L, (int)(k < 1u << 30 ? k : 0), 0);
  for (size_t i = 0; i < k; i++) {
    lua_pushinteger(L, (lua_Integer)buf[i] + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static const luaL_Reg rand_funcs[] = {
  {"seed", rand_seed},
  {"rand", rand_rand},
  {"randn", rand_randn},
  {"randperm", rand_randperm},
  {"choice", rand_choice},
  {NULL, NULL}
};

void bind_open_rand(lua_State *L) { luaL_setfuncs(L, rand_funcs, 0); }
