/*
 * main.c -- the otlab host: command line, Lua state, script runner.
 * (Interactive prompt to follow.)
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "bind/bind.h"
#include "ot/alloc.h"

static const char *progname = "otlab";

/* The directory holding lua/ and share/: $OTLAB_ROOT, else the source tree
 * when running from the build directory, else the installed data dir. */
static const char *find_root(void) {
  const char *env = getenv("OTLAB_ROOT");
  if (env && *env) return env;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    /* an uninstalled binary, still in its build directory */
    if (strncmp(exe, OTLAB_BUILD_ROOT "/", strlen(OTLAB_BUILD_ROOT "/")) == 0 &&
        access(OTLAB_SOURCE_ROOT "/lua/prelude.lua", R_OK) == 0)
      return OTLAB_SOURCE_ROOT;
  }
  return OTLAB_DATADIR;
}

static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error)");
    fflush(stderr);
    lua_pop(L, 1);
  }
  return status;
}

int main(int argc, char **argv) {
  lua_State *L = lua_newstate(ot_mem_lua_alloc, NULL);
  if (!L) {
    fprintf(stderr, "%s: cannot create Lua state: not enough memory\n", progname);
    return 1;
  }
  luaL_openlibs(L);
  luaL_requiref(L, "ot", luaopen_ot, 1);
  lua_pop(L, 1);
  const char *root = find_root();
  lua_pushstring(L, root);
  lua_setglobal(L, "OTLAB_ROOT");
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/lua/?.lua;", root);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  int status = LUA_OK;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "prelude");
  status = report(L, docall(L, 1, 0));
  for (int i = 1; status == LUA_OK && i < argc; i++) {
    if (strcmp(argv[i], "-e") == 0 && i + 1 < argc) {
      i++;
      status = luaL_loadbuffer(L, argv[i], strlen(argv[i]), "=(command line)");
      if (status == LUA_OK) status = docall(L, 0, 0);
      report(L, status);
    } else if (argv[i][0] == '-' && strcmp(argv[i], "-") != 0) {
      continue;
    } else {
      const char *fname = strcmp(argv[i], "-") == 0 ? NULL : argv[i];
      status = luaL_loadfilex(L, fname, "t");
      if (status == LUA_OK) status = docall(L, 0, 0);
      report(L, status);
      break;
    }
  }
  lua_close(L);
  return status == LUA_OK ? 0 : 1;
}
