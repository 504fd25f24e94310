/*
 * allocwalk.c -- the allocation-failure walk over whole Lua scenarios.
 *
 * Lua's own test suite runs every task under an allocator that fails the
 * N-th and every later allocation, for N = 1, 2, 3, ... until the task
 * succeeds.  This driver does the same for otlab: the scenarios are Lua
 * functions listed in tests/lua/allocfail.lua (each loader, each solver, a
 * Sinkhorn with a progress callback, ...).  For each scenario and each N it
 *
 *   1. creates a fresh Lua state on ot_mem_lua_alloc (the allocator that
 *      Lua and the core share), opens the standard libraries and `ot`,
 *      loads the scenario file and runs the scenario's setup (no faults);
 *   2. calls ot_mem_fail_after(N) and runs the scenario under lua_pcall;
 *   3. turns injection off and accepts only success or an error whose
 *      message holds "not enough memory" (Lua's own, or a binding's
 *      "<function>: not enough memory");
 *   4. closes the state and requires the live-bytes counter to be back to
 *      where it was before the state was made, i.e. 0 (every block of Lua
 *      and of the core was given back).
 *
 * The walk stops at the first N that succeeds.  A second walk does the same
 * with a byte limit (the memory budget) set to the bytes in use plus 2^k,
 * k = 6, 7, ..., accepting also an error that names the memory budget.
 *
 * The switch is the C function ot_mem_fail_after itself, called only by
 * this driver: no Lua function, option or environment variable exists
 * through which a user could turn on fault injection by mistake, and only
 * a driver outside the state can check the live bytes after lua_close.
 *
 * Usage: test_allocwalk [SCENARIO-NAME...] (default: all).  Prints one line
 * per scenario ("scenario emd: 187 failure points, 7 byte limits: ok") and
 * a last line "allocwalk: P failure points survived in S scenarios, F failed".
 * Exit status non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "bind/bind.h"
#include "ot/alloc.h"
#include "ot/ot.h"

#ifndef OTLAB_SOURCE_ROOT
#define OTLAB_SOURCE_ROOT "."
#endif

#define SCENARIOS OTLAB_SOURCE_ROOT "/tests/lua/allocfail.lua"
#define MAX_N 200000L /* a scenario that needs more allocations is a bug here */

/*
 * Build a state ready to run scenario `index` (1-based): on success the
 * stack holds the scenario's run function and its argument (the setup's
 * result) and *name points at a static copy of its name.  Returns 0 when
 * there is no such scenario, -1 on an error (printed).
 */
static int prepare(lua_State *L, int index, char *name, size_t namelen) {
  luaL_openlibs(L);
  luaL_requiref(L, "ot", luaopen_ot, 1);
  lua_pop(L, 1);
  lua_pushliteral(L, OTLAB_SOURCE_ROOT);
  lua_setglobal(L, "OTLAB_ROOT");
  lua_getglobal(L, "package");
  lua_pushliteral(L, OTLAB_SOURCE_ROOT "/lua/?.lua;" OTLAB_SOURCE_ROOT "/tests/lua/?.lua");
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  if (luaL_dofile(L, SCENARIOS) != LUA_OK) {
    fprintf(stderr, "allocwalk: %s\n", lua_tostring(L, -1));
    return -1;
  }
  if (lua_geti(L, -1, index) != LUA_TTABLE) return 0;
  lua_getfield(L, -1, "name");
  snprintf(name, namelen, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
  lua_pop(L, 1);
  lua_getfield(L, -1, "run");
  if (lua_getfield(L, -2, "setup") == LUA_TFUNCTION) {
    if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
      fprintf(stderr, "allocwalk: scenario %s: setup failed: %s\n", name, lua_tostring(L, -1));
      return -1;
    }
  } else {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  lua_gc(L, LUA_GCCOLLECT);
  return 1;
}

/* Does the error on top of the stack say that memory ran out? */
static int memory_error(lua_State *L, int status, int budget_ok) {
  if (status == LUA_ERRMEM) return 1;
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  if (!msg) return 0;
  if (strstr(msg, "not enough memory")) return 1;
  /* the core's OT_EBUDGET text, or a binding's "... memory budget is ..." */
  return budget_ok && strstr(msg, "memory budget") != NULL;
}

enum { RUN_OK, RUN_OOM, RUN_BAD, RUN_NONE };

/*
 * One run of scenario `index` with failures from the n-th allocation on
 * (limit_extra == 0) or with a budget of the live bytes plus limit_extra.
 */
static int run_once(int index, long n, size_t limit_extra, char *name, size_t namelen,
                    long *count, int dry) {
  int result;
  size_t base = ot_mem_used(); /* 0, unless an earlier run leaked */
  lua_State *L = lua_newstate(ot_mem_lua_alloc, NULL);
  if (!L) {
    fprintf(stderr, "allocwalk: cannot create a state\n");
    return RUN_BAD;
  }
  int p = prepare(L, index, name, namelen);
  if (p <= 0) {
    lua_close(L);
    if (p == 0) return RUN_NONE;
    if (ot_mem_used() != base)
      fprintf(stderr, "allocwalk: %zu bytes live after lua_close\n", ot_mem_used() - base);
    return RUN_BAD;
  }
  if (dry) { /* only the name was wanted */
    lua_close(L);
    return RUN_OK;
  }
  size_t old_limit = ot_mem_limit();
  if (limit_extra) ot_mem_set_limit(ot_mem_used() + limit_extra);
  else ot_mem_fail_after(n);
  int status = lua_pcall(L, 1, 0, 0);
  *count = ot_mem_fail_count();
  ot_mem_fail_after(0);
  ot_mem_set_limit(old_limit);
  if (status == LUA_OK) {
    result = RUN_OK;
  } else if (memory_error(L, status, limit_extra != 0)) {
    result = RUN_OOM;
  } else {
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a string)";
    if (limit_extra)
      printf("FAIL scenario %s, byte limit +%zu: error is not a memory error: %s\n", name,
             limit_extra, msg);
    else
      printf("FAIL scenario %s, allocation %ld: error is not a memory error: %s\n", name, n, msg);
    result = RUN_BAD;
  }
  lua_close(L);
  if (ot_mem_used() != base) {
    size_t lost = ot_mem_used() - base;
    if (limit_extra)
      printf("FAIL scenario %s, byte limit +%zu: %zu bytes live after lua_close\n", name,
             limit_extra, lost);
    else if (n)
      printf("FAIL scenario %s, allocation %ld: %zu bytes live after lua_close\n", name, n, lost);
    else
      printf("FAIL scenario %s (no faults): %zu bytes live after lua_close\n", name, lost);
    result = RUN_BAD;
  }
  return result;
}

static int wanted(const char *name, int argc, char **argv) {
  if (argc < 2) return 1;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], name) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  long survived = 0;
  int scenarios = 0, failed = 0;
  char name[128];
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int index = 1;; index++) {
    long count = 0;
    /* A run without faults: does the scenario exist, is it wanted, and
     * does it succeed at all? */
    int r = run_once(index, 0, 0, name, sizeof name, &count, 1);
    if (r == RUN_NONE) break;
    if (r != RUN_OK || !wanted(name, argc, argv)) {
      if (r != RUN_OK) failed++;
      continue;
    }
    r = run_once(index, 0, 0, name, sizeof name, &count, 0);
    scenarios++;
    if (r != RUN_OK) {
      printf("FAIL scenario %s: fails without fault injection\n", name);
      failed++;
      continue;
    }
    long total = count, points = 0;
    int bad = 0;
    /* Fail the n-th and every later allocation, n = 1, 2, ... */
    for (long n = 1; n <= MAX_N; n++) {
      r = run_once(index, n, 0, name, sizeof name, &count, 0);
      if (r == RUN_BAD) { bad = 1; break; }
      if (r == RUN_OK) break;
      points++;
    }
    if (!bad && r != RUN_OK) {
      printf("FAIL scenario %s: no success within %ld allocations\n", name, MAX_N);
      bad = 1;
    }
    /* Byte limits: the budget at the live bytes plus 64 B, 128 B, ... */
    long limits = 0;
    for (int k = 6; k < 40 && !bad; k++) {
      r = run_once(index, 0, (size_t)1 << k, name, sizeof name, &count, 0);
      if (r == RUN_BAD) bad = 1;
      if (r != RUN_OOM) break;
      limits++;
    }
    survived += points;
    if (bad) failed++;
    printf("scenario %s: %ld allocations, %ld failure points and %ld byte limits survived: %s\n",
           name, total, points, limits, bad ? "FAIL" : "ok");
  }
  printf("allocwalk: %ld failure points survived in %d scenarios, %d failed\n", survived,
         scenarios, failed);
  return failed || scenarios == 0 ? 1 : 0;
}
