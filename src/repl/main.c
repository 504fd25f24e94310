/*
 * main.c -- the otlab host: command line, Lua state, scripts and the REPL.
 *
 * It follows Lua's own lua.c (the option grammar, the `arg` table, docall
 * with a traceback, Ctrl-C through a Lua hook) and fixes its warts:
 *   - a script, -e chunk or piped chunk that raises an error exits with 1;
 *   - scripts are loaded as text only (precompiled chunks are refused);
 *   - Ctrl-C at an idle prompt clears the line instead of ending the
 *     session, and a first Ctrl-C during a command only interrupts it; a
 *     second one, while the first is still pending after a second, is the
 *     escape hatch (the default action: the process ends);
 *   - a memory error while handling one line does not end the session.
 *
 * Start-up order: the Lua state (allocator counted against the memory
 * budget), the standard libraries and `ot`, --mem-limit/--threads/--seed,
 * package.path and the `otlab.host` module, the `arg` table, the prelude,
 * the init file (unless -E), the bundled digits (when going interactive
 * without a script), -e/-l in order, the script, then the REPL or stdin.
 *
 * The readline side (line editing, completion, history) is in prompt.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "bind/bind.h"
#include "bind/mpi.h"
#include "bind/panel_hook.h"
#include "ot/alloc.h"
#include "repl/prompt.h"
#include "tui/panel.h"

#define PROMPT1 "> "
#define PROMPT2 "  >> "

static const char *progname = "otlab";

/* The state Ctrl-C arms a hook on (set before any chunk runs). */
static lua_State *globalL;

/* Colours on stderr (errors); decided once from the options and terminal. */
static int color_err;

/* Warnings (-W, or warn("@on")); a multi-part warning continues when 1. */
static int warn_on, warn_cont;

/* ---- the command line ------------------------------------------------------ */

/* An -e or -l option, kept in command-line order. */
typedef struct argop {
  char kind;        /* 'e' or 'l' */
  const char *arg;
} argop;

typedef struct options {
  int script;       /* argv index of the script ("-" for stdin); 0 when none */
  int has_e, has_i, has_v, has_E, has_W;
  int no_panel, no_color;
  const char *seed, *threads, *mem_limit; /* values as given, NULL when absent */
  const char *history;                    /* --history FILE; "" means none */
  const char *shard, *shard_dir;          /* --shard i/N|reduce, --shard-dir DIR */
  argop *ops;
  int nops;
} options;

static void print_usage(FILE *f) {
  fprintf(f,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat         execute string 'stat'\n"
          "  -i              enter interactive mode after executing 'script'\n"
          "  -l mod          require library 'mod' into global 'mod'\n"
          "  -l g=mod        require library 'mod' into global 'g'\n"
          "  -v              show version information\n"
          "  -E              ignore the init file and LUA_PATH/LUA_CPATH\n"
          "  -W              turn warnings on\n"
          "  --              stop handling options\n"
          "  -               stop handling options and execute stdin\n"
          "  --no-panel      never open the live panel\n"
          "  --no-color      no colours (also when NO_COLOR is set)\n"
          "  --seed N        seed the random generator (ot.seed)\n"
          "  --threads N     threads for BLAS (ot.threads)\n"
          "  --mem-limit S   memory budget: bytes, or a size like 512M or 2G (ot.mem_limit)\n"
          "  --history FILE  history file (\"\" for none)\n"
          "  --shard i/N     compute the i-th of N shares of each ot.mpi.map, save it, stop;\n"
          "  --shard reduce  read all shares instead of computing (help(ot.mpi.map))\n"
          "  --shard-dir DIR where shares are kept (default ./otlab-shards)\n"
          "  --help          show this help and exit\n",
          progname);
  fflush(f);
}

/* Report a bad command line on stderr, with the usage. */
static int usage_error(const char *fmt, const char *what) {
  fprintf(stderr, "%s: ", progname);
  fprintf(stderr, fmt, what);
  fputc('\n', stderr);
  print_usage(stderr);
  return 0;
}

/* Value of a long option: "--opt=value" or the next argument. */
static const char *long_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (*i + 1 >= argc) return NULL;
  return argv[++*i];
}

/*
 * Parse argv into o (o->ops must have room for argc entries).  Returns 1,
 * or 0 after printing an error and the usage.  --help prints the usage and
 * exits.  As in lua.c, options end at the first non-option (the script),
 * at "-" (stdin is the script) or after "--".
 */
static int collectargs(int argc, char **argv, options *o) {
  if (argv[0] && argv[0][0]) progname = argv[0];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0) {
      o->script = i;
      return 1;
    }
    if (strcmp(a, "--") == 0) {
      o->script = i + 1 < argc ? i + 1 : 0;
      return 1;
    }
    if (a[1] == '-') { /* long options */
      static const char *const valued[] = {"--seed", "--threads", "--mem-limit", "--history",
                                           "--shard-dir", "--shard"};
      const char **slot[] = {&o->seed, &o->threads, &o->mem_limit, &o->history,
                             &o->shard_dir, &o->shard};
      enum { NVALUED = sizeof valued / sizeof valued[0] };
      int k;
      if (strcmp(a, "--help") == 0) {
        print_usage(stdout);
        exit(EXIT_SUCCESS);
      } else if (strcmp(a, "--no-panel") == 0) {
        o->no_panel = 1;
        continue;
      } else if (strcmp(a, "--no-color") == 0 || strcmp(a, "--no-colour") == 0) {
        o->no_color = 1;
        continue;
      }
      for (k = 0; k < NVALUED; k++) {
        size_t n = strlen(valued[k]);
        if (strncmp(a, valued[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) break;
      }
      if (k == NVALUED) return usage_error("unrecognized option '%s'", a);
      const char *v = long_value(argc, argv, &i, valued[k]);
      if (!v) return usage_error("'%s' needs an argument", valued[k]);
      *slot[k] = v;
      continue;
    }
    switch (a[1]) {
    case 'E': case 'W': case 'i': case 'v':
      if (a[2] != '\0') return usage_error("unrecognized option '%s'", a);
      if (a[1] == 'E') o->has_E = 1;
      if (a[1] == 'W') o->has_W = 1;
      if (a[1] == 'i') o->has_i = o->has_v = 1; /* -i implies -v */
      if (a[1] == 'v') o->has_v = 1;
      break;
    case 'e': case 'l': {
      const char *v = a + 2;
      if (*v == '\0') { /* the argument is the next word */
        if (i + 1 >= argc || argv[i + 1][0] == '-')
          return usage_error("'%s' needs an argument", a);
        v = argv[++i];
      }
      if (a[1] == 'e') o->has_e = 1;
      o->ops[o->nops].kind = a[1];
      o->ops[o->nops++].arg = v;
      break;
    }
    default:
      return usage_error("unrecognized option '%s'", a);
    }
  }
  return 1;
}

/* Check the values of --seed, --threads, --mem-limit and --shard before
 * starting; --shard and --shard-dir go to the environment (OTLAB_SHARD,
 * OTLAB_SHARD_DIR), where ot.mpi reads them. */
static int check_values(const options *o) {
  if (o->shard) {
    int i, n, used = 0;
    if (strcmp(o->shard, "reduce") != 0 &&
        (sscanf(o->shard, "%d/%d%n", &i, &n, &used) != 2 || o->shard[used] != '\0' || n < 1 ||
         i < 1 || i > n)) {
      fprintf(stderr, "%s: bad value for --shard: '%s' (i/N with 1 <= i <= N, or reduce)\n",
              progname, o->shard);
      return 0;
    }
    setenv("OTLAB_SHARD", o->shard, 1);
  }
  if (o->shard_dir) {
    if (!o->shard_dir[0]) {
      fprintf(stderr, "%s: bad value for --shard-dir: '' (a directory expected)\n", progname);
      return 0;
    }
    setenv("OTLAB_SHARD_DIR", o->shard_dir, 1);
  }
  const char *ints[] = {o->seed, o->threads};
  const char *names[] = {"--seed", "--threads"};
  for (int k = 0; k < 2; k++) {
    if (!ints[k]) continue;
    char *end;
    errno = 0;
    long long v = strtoll(ints[k], &end, 10);
    (void)v;
    if (end == ints[k] || *end != '\0' || errno == ERANGE) {
      fprintf(stderr, "%s: bad value for %s: '%s' (an integer expected)\n", progname, names[k],
              ints[k]);
      return 0;
    }
  }
  size_t bytes;
  if (o->mem_limit && ot_mem_parse(o->mem_limit, &bytes) != OT_OK) {
    fprintf(stderr, "%s: bad value for --mem-limit: '%s' (bytes, or a size like 512M or 2G)\n",
            progname, o->mem_limit);
    return 0;
  }
  return 1;
}

/* ---- messages, warnings, errors ------------------------------------------- */

/* Print "pname: msg" on stderr (pname NULL at the prompt), red on a colour terminal. */
static void l_message(const char *pname, const char *msg) {
  if (color_err) fputs("\033[31m", stderr);
  if (pname) fprintf(stderr, "%s: ", pname);
  fputs(msg, stderr);
  if (color_err) fputs("\033[0m", stderr);
  fputc('\n', stderr);
  fflush(stderr);
}

/* Print the error message on top of the stack (if status is an error) and pop it. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    l_message(progname, msg ? msg : "(error object is not a string)");
    lua_pop(L, 1);
  }
  return status;
}

/* Message handler: adds a traceback; non-string error objects go through
 * __tostring or are described by their type. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Lua's warning function: off until -W or warn("@on"). */
static void warnf(void *ud, const char *msg, int tocont) {
  (void)ud;
  if (!warn_cont && msg[0] == '@') { /* a control message */
    if (strcmp(msg, "@on") == 0) warn_on = 1;
    else if (strcmp(msg, "@off") == 0) warn_on = 0;
    return;
  }
  if (warn_on) {
    if (!warn_cont) fputs("Lua warning: ", stderr);
    fputs(msg, stderr);
    if (!tocont) fputc('\n', stderr);
    fflush(stderr);
  }
  warn_cont = tocont;
}

static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "%s: PANIC: unprotected error in call to Lua API (%s)\n", progname,
          msg ? msg : "error object is not a string");
  fflush(stderr);
  return 0; /* Lua aborts */
}

/* ---- Ctrl-C while a chunk runs ------------------------------------------------ */

static struct timespec first_sigint; /* when the pending interrupt was asked for */
static pthread_t main_thread;        /* where SIGINT is handled (see laction) */
static volatile sig_atomic_t sigint_seen; /* a Ctrl-C arrived during the last docall */

/* The hook armed by the handler: raises the interrupt inside Lua code. */
static void lstop(lua_State *L, lua_Debug *ar) {
  lua_sethook(L, NULL, 0, 0);
  /* A kernel stopped by the flag raises its own, more precise error
   * ("ot.sinkhorn: interrupted at iteration 812"); the hook then fires on
   * the call of the message handler.  Let that error through. */
  if (ar->event == LUA_HOOKCALL && lua_getinfo(L, "f", ar)) {
    int handler = lua_tocfunction(L, -1) == msghandler;
    lua_pop(L, 1);
    if (handler) return;
  }
  luaL_error(L, "interrupted");
}

/*
 * SIGINT while a chunk runs: set bind_interrupted (C kernels poll it through
 * bind_progress) and arm a hook that stops Lua code at its next
 * instruction, call or return.  A second Ctrl-C while the first is still
 * pending a second later (a kernel that cannot stop) gets the default
 * action: the process ends.  Only async-signal-safe calls here.  A signal
 * that lands on another thread (an OpenBLAS worker) is forwarded to the
 * main thread, so the escape hatch and the hook act where Lua runs.
 */
static void laction(int sig) {
  int saved_errno = errno;
  struct timespec now;
  if (!pthread_equal(pthread_self(), main_thread)) {
    pthread_kill(main_thread, sig);
    errno = saved_errno;
    return;
  }
  sigint_seen = 1;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (bind_interrupted) {
    double waited = (double)(now.tv_sec - first_sigint.tv_sec) +
                    1e-9 * (double)(now.tv_nsec - first_sigint.tv_nsec);
    if (waited >= 1.0) {
      struct sigaction dfl;
      memset(&dfl, 0, sizeof dfl);
      dfl.sa_handler = SIG_DFL;
      sigemptyset(&dfl.sa_mask);
      sigaction(sig, &dfl, NULL);
      raise(sig); /* delivered when this handler returns */
      errno = saved_errno;
      return;
    }
    static const char hint[] = "(stopping; press Ctrl-C again in a second to quit otlab)\n";
    ssize_t w = write(STDERR_FILENO, hint, sizeof hint - 1);
    (void)w;
  } else {
    first_sigint = now;
  }
  bind_interrupted = 1;
  lua_sethook(globalL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
  errno = saved_errno;
}

/*
 * Call the function below the narg arguments on top of the stack with a
 * traceback handler, SIGINT caught while it runs.  Returns the lua_pcall
 * status (error message with traceback on the stack) like lua.c's docall.
 */
static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  struct sigaction sa, old;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  bind_interrupted = 0;
  sigint_seen = 0;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = laction;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  int status = lua_pcall(L, narg, nres, base);
  sigaction(SIGINT, &old, NULL);
  if (lua_gethook(L) == lstop) lua_sethook(L, NULL, 0, 0); /* armed too late to fire */
  tui_panel_chunk_end(); /* the terminal is readline's again; summaries of long runs */
  bind_interrupted = 0;
  lua_remove(L, base);
  return status;
}

/* ---- chunks ----------------------------------------------------------------- */

/* After a failed load: say plainly that precompiled chunks are refused. */
static void explain_binary(lua_State *L, int status, const char *name) {
  if (status != LUA_ERRSYNTAX) return;
  const char *msg = lua_tostring(L, -1);
  if (msg && strstr(msg, "attempt to load a binary chunk")) {
    lua_pop(L, 1);
    lua_pushfstring(L, "%s: precompiled Lua chunks are not accepted (otlab loads source text only)",
                    name);
  }
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

/* Run a Lua file (NULL: stdin, as the chunk "=stdin"), text only. */
static int dofile(lua_State *L, const char *name) {
  int status = luaL_loadfilex(L, name, "t");
  explain_binary(L, status, name ? name : "stdin");
  return dochunk(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name) {
  int status = luaL_loadbufferx(L, s, strlen(s), name, "t");
  explain_binary(L, status, name + 1);
  return dochunk(L, status);
}

/*
 * -l mod: global mod = require("mod"); -l g=mod: global g.  For a dotted
 * name without "=" the global is the last component (-l a.b sets b).
 */
static int dolibrary(lua_State *L, const char *spec) {
  const char *eq = strchr(spec, '=');
  const char *modname = eq ? eq + 1 : spec;
  if (eq) {
    lua_pushlstring(L, spec, (size_t)(eq - spec));
  } else {
    const char *dot = strrchr(spec, '.');
    lua_pushstring(L, dot ? dot + 1 : spec);
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, lua_tostring(L, -2));
  else report(L, status);
  lua_pop(L, 1); /* the global name */
  return status;
}

/* The `arg` table as lua.c lays it out: arg[0] the script, negative
 * indices the interpreter and its options, 1.. the script's arguments. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  int narg = argc - (script + 1);
  lua_createtable(L, narg > 0 ? narg : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Run the script argv[script] with the rest of argv as its arguments (`...`). */
static int handle_script(lua_State *L, char **argv, int argc, int script) {
  const char *fname = argv[script];
  if (strcmp(fname, "-") == 0 && strcmp(argv[script - 1], "--") != 0) fname = NULL; /* stdin */
  int status = luaL_loadfilex(L, fname, "t");
  explain_binary(L, status, fname ? fname : "stdin");
  if (status == LUA_OK) {
    int n = argc - script - 1;
    luaL_checkstack(L, n, "too many arguments to script");
    for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
    status = docall(L, n, 0);
  }
  return report(L, status);
}

/* Call ot.<fn>(value) for a command-line setting; value is an integer when
 * it parses as one, else a string. */
static int apply_setting(lua_State *L, const char *fn, const char *value) {
  lua_getglobal(L, "ot");
  lua_getfield(L, -1, fn);
  lua_remove(L, -2);
  if (lua_stringtonumber(L, value) == 0) lua_pushstring(L, value);
  return report(L, docall(L, 1, 0));
}

/* ---- the otlab.host module: what the host tells the Lua side ---------------- */

static int dir_gc(lua_State *L) {
  DIR **d = luaL_checkudata(L, 1, "otlab.dir");
  if (*d) closedir(*d);
  *d = NULL;
  return 0;
}

/* listdir(path) -> array of entry names (unsorted, no "." or ".."), or nil, msg. */
static int host_listdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR **d = lua_newuserdatauv(L, sizeof *d, 0); /* closed by __gc, even on error */
  *d = NULL;
  if (luaL_newmetatable(L, "otlab.dir")) {
    lua_pushcfunction(L, dir_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  *d = opendir(path);
  if (!*d) return luaL_fileresult(L, 0, path);
  lua_newtable(L);
  lua_Integer n = 0;
  struct dirent *e;
  while ((e = readdir(*d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++n);
  }
  closedir(*d);
  *d = NULL;
  return 1;
}

/* clock() -> seconds on a monotonic wall clock (for time and timeit). */
static int host_clock(lua_State *L) {
  lua_pushnumber(L, ot_clock());
  return 1;
}

/*
 * package.loaded["otlab.host"]: root, version, color, panel, history and
 * interactive (set to true when the prompt starts), listdir() and clock().
 * C code (the panel) reads the same table from the registry's _LOADED.
 */
static void open_host(lua_State *L, const char *root, const options *o, const char *history) {
  static const luaL_Reg host_funcs[] = {{"listdir", host_listdir}, {"clock", host_clock},
                                        {NULL, NULL}};
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  luaL_newlib(L, host_funcs);
  lua_pushstring(L, root);
  lua_setfield(L, -2, "root");
  lua_pushliteral(L, OTLAB_VERSION);
  lua_setfield(L, -2, "version");
  const char *nc = getenv("NO_COLOR");
  lua_pushboolean(L, !o->no_color && !(nc && nc[0]));
  lua_setfield(L, -2, "color");
  lua_pushboolean(L, !o->no_panel);
  lua_setfield(L, -2, "panel");
  if (history) lua_pushstring(L, history);
  else lua_pushboolean(L, 0);
  lua_setfield(L, -2, "history");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "interactive");
  lua_setfield(L, -2, "otlab.host");
  lua_pop(L, 1);
}

static void set_host_field(lua_State *L, const char *key, int value) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "otlab.host") == LUA_TTABLE) {
    lua_pushboolean(L, value);
    lua_setfield(L, -2, key);
  }
  lua_pop(L, 2);
}

/* ---- paths ------------------------------------------------------------------- */

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

/* "$XDG_<var>/otlab/<file>", else "$HOME/<fallback>", into buf; NULL when
 * neither is set.  mkdir_xdg: create the otlab directory under XDG. */
static const char *user_path(char *buf, size_t len, const char *var, const char *file,
                             const char *fallback, int mkdir_xdg) {
  const char *x = getenv(var);
  if (x && x[0] == '/') { /* the XDG spec ignores relative paths */
    if (mkdir_xdg) {
      snprintf(buf, len, "%s/otlab", x);
      mkdir(x, 0700);
      mkdir(buf, 0700);
    }
    snprintf(buf, len, "%s/otlab/%s", x, file);
    return buf;
  }
  const char *home = getenv("HOME");
  if (!home || !home[0]) return NULL;
  snprintf(buf, len, "%s/%s", home, fallback);
  return buf;
}

/* The history file: --history, else $OTLAB_HISTORY (empty: none), else
 * $XDG_STATE_HOME/otlab/history, else ~/.otlab_history.  NULL: none.
 * create: make the XDG directory (only when the prompt starts). */
static const char *history_path(const options *o, char *buf, size_t len, int create) {
  if (o->history) return o->history[0] ? o->history : NULL;
  const char *env = getenv("OTLAB_HISTORY");
  if (env) return env[0] ? env : NULL;
  return user_path(buf, len, "XDG_STATE_HOME", "history", ".otlab_history", create);
}

/* Run the init file ($XDG_CONFIG_HOME/otlab/init.lua, else
 * ~/.config/otlab/init.lua) when it exists. */
static int handle_init(lua_State *L) {
  char buf[PATH_MAX];
  const char *path = user_path(buf, sizeof buf, "XDG_CONFIG_HOME", "init.lua",
                               ".config/otlab/init.lua", 0);
  if (!path || access(path, F_OK) != 0) return LUA_OK;
  int status = dofile(L, path);
  if (status != LUA_OK)
    fprintf(stderr, "%s: (error in the init file %s; otlab -E skips it)\n", progname, path);
  return status;
}

/* ---- the interactive loop ------------------------------------------------------ */

static int show_time;          /* :time on */
static char *held_line;        /* a line from readline, freed after each step */
static char *held_more;        /* a continuation line, likewise */
static char dataset_note[256]; /* what the banner says about the loaded dataset */

static void print_version(void) {
  printf("otlab %s -- optimal transport workbench (%s)\n", OTLAB_VERSION, LUA_RELEASE);
  fflush(stdout);
}

/* Load the bundled digits as the global `digits` (guarded: the prompt
 * starts even when ot.data or the file is missing). */
static void load_dataset(lua_State *L) {
  static const char code[] =
    "if type(ot) ~= 'table' or type(ot.data) ~= 'table' or not ot.data.digits then\n"
    "  return nil, 'ot.data is not available'\n"
    "end\n"
    "local ok, d = pcall(ot.data.digits)\n"
    "if not ok then return nil, tostring(d) end\n"
    "digits = d\n"
    "return tostring(d)\n";
  int top = lua_gettop(L);
  if (luaL_loadbufferx(L, code, sizeof code - 1, "=(dataset)", "t") == LUA_OK &&
      lua_pcall(L, 0, 2, 0) == LUA_OK) {
    if (lua_isstring(L, -2))
      snprintf(dataset_note, sizeof dataset_note, "digits = ot.data.digits()  -- %s",
               lua_tostring(L, -2));
    else
      snprintf(dataset_note, sizeof dataset_note, "(digits not loaded: %s)",
               lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
  }
  lua_settop(L, top);
}

static void print_banner(int version_shown) {
  int c = color_err && isatty(STDOUT_FILENO);
  if (!version_shown) print_version();
  printf("%shelp() lists topics, ?name shows a page, apropos(\"word\") searches; Ctrl-D exits%s\n",
         c ? "\033[2m" : "", c ? "\033[0m" : "");
  if (dataset_note[0]) printf("%s\n", dataset_note);
  fflush(stdout);
}

/* Is the chunk incomplete, i.e. did loading fail at the end of the text? */
static int incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t n;
  const char *msg = lua_tolstring(L, -1, &n);
  return msg && n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
}

/* Compile code, as "return <code>" first (an expression to print), then as
 * a statement.  Pushes the function or the statement's error message. */
static int compile(lua_State *L, const char *code, size_t len) {
  lua_pushliteral(L, "return ");
  lua_pushlstring(L, code, len);
  lua_concat(L, 2);
  size_t rlen;
  const char *ret = lua_tolstring(L, -1, &rlen);
  int status = luaL_loadbufferx(L, ret, rlen, "=stdin", "t");
  lua_remove(L, -2);
  if (status == LUA_OK) return status;
  lua_pop(L, 1);
  return luaL_loadbufferx(L, code, len, "=stdin", "t");
}

/*
 * A help request typed at the prompt: "?name" and "name?" become
 * help("name"), "??word" apropos("word"), "?" help().  Pushes the Lua code
 * and returns 1, or returns 0 for an ordinary line.
 */
static int help_request(lua_State *L, const char *line) {
  while (isspace((unsigned char)*line)) line++;
  size_t n = strlen(line);
  while (n && isspace((unsigned char)line[n - 1])) n--;
  const char *fn, *arg;
  size_t alen;
  if (n >= 2 && line[0] == '?' && line[1] == '?') {
    fn = "apropos", arg = line + 2, alen = n - 2;
  } else if (n >= 1 && line[0] == '?') {
    fn = "help", arg = line + 1, alen = n - 1;
  } else if (n >= 2 && line[n - 1] == '?') {
    for (size_t i = 0; i + 1 < n; i++)
      if (!(isalnum((unsigned char)line[i]) || strchr("_.:", line[i]))) return 0;
    fn = "help", arg = line, alen = n - 1;
  } else {
    return 0;
  }
  while (alen && isspace((unsigned char)*arg)) arg++, alen--;
  while (alen && isspace((unsigned char)arg[alen - 1])) alen--;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, fn);
  luaL_addchar(&b, '(');
  if (alen) {
    luaL_addchar(&b, '"');
    for (size_t i = 0; i < alen; i++) {
      if (arg[i] == '"' || arg[i] == '\\') luaL_addchar(&b, '\\');
      luaL_addchar(&b, arg[i]);
    }
    luaL_addchar(&b, '"');
  }
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

/*
 * Prompt commands: ":time on|off" (wall time of each command) and
 * ":mem-limit SIZE" (the memory budget, set from C: it works even when the
 * budget is so low that Lua itself cannot allocate).  Returns 1 when the
 * line was such a command.
 */
static int prompt_command(const char *line) {
  while (isspace((unsigned char)*line)) line++;
  if (line[0] != ':' || line[1] == ':') return 0; /* "::label::" is Lua */
  char cmd[32] = "", arg[32] = "";
  sscanf(line + 1, "%31s %31s", cmd, arg);
  if (strcmp(cmd, "time") == 0 && (strcmp(arg, "on") == 0 || strcmp(arg, "off") == 0 || !arg[0])) {
    show_time = arg[0] ? strcmp(arg, "on") == 0 : !show_time;
    printf("timing is %s\n", show_time ? "on" : "off");
  } else if (strcmp(cmd, "mem-limit") == 0) {
    size_t bytes;
    if (arg[0] && ot_mem_parse(arg, &bytes) != OT_OK) {
      l_message(NULL, "usage: :mem-limit SIZE (bytes, or a size like 512M or 2G; 0: no limit)");
      return 1;
    }
    if (arg[0]) ot_mem_set_limit(bytes);
    char lim[32], used[32];
    ot_mem_format(ot_mem_limit(), lim, sizeof lim);
    ot_mem_format(ot_mem_used(), used, sizeof used);
    printf("memory budget %s (%s in use)\n", ot_mem_limit() ? lim : "unlimited", used);
  } else {
    l_message(NULL, "unknown command; prompt commands: :time on|off, :mem-limit SIZE");
    return 1;
  }
  fflush(stdout);
  return 1;
}

/* After a memory error at the prompt: say how to get out when the budget,
 * not the machine, is what ran out. */
static void memory_hint(const char *msg) {
  if (!msg || !strstr(msg, "not enough memory") || ot_mem_limit() == 0) return;
  if (ot_mem_used() + ((size_t)1 << 20) < ot_mem_limit()) return;
  l_message(NULL, "(the memory budget is spent; :mem-limit SIZE raises it)");
}

static void print_duration(double s) {
  if (s < 1e-3) printf("time: %.1f us\n", s * 1e6);
  else if (s < 1.0) printf("time: %.2f ms\n", s * 1e3);
  else printf("time: %.3f s\n", s);
  fflush(stdout);
}

/* Print n results on top of the stack through the prelude's printer (or
 * tostring when the prelude is missing).  Leaves the stack as it was. */
static void show_results(lua_State *L, int n) {
  int first = lua_gettop(L) - n + 1;
  luaL_checkstack(L, n + 2, "too many results to print");
  if (lua_getfield(L, LUA_REGISTRYINDEX, "otlab.show") == LUA_TFUNCTION) {
    for (int i = 0; i < n; i++) lua_pushvalue(L, first + i);
    int status = docall(L, n, 0);
    if (status != LUA_OK) {
      lua_pushfstring(L, "error printing the result: %s", lua_tostring(L, -1));
      lua_remove(L, -2);
      l_message(NULL, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    return;
  }
  lua_pop(L, 1);
  for (int i = 0; i < n; i++) {
    size_t len;
    const char *s = luaL_tolstring(L, first + i, &len);
    fwrite(s, 1, len, stdout);
    fputc(i + 1 < n ? '\t' : '\n', stdout);
    lua_pop(L, 1);
  }
  fflush(stdout);
}

/* End a REPL step that read something: the session goes on. */
static int step_done(lua_State *L) {
  lua_pushboolean(L, 1);
  return 1;
}

/*
 * One step of the REPL (run under lua_pcall): read a chunk (with
 * continuation lines), compile it, run it, print its results.  Returns
 * false at the end of input.
 */
static int repl_step(lua_State *L) {
  int intr;
  held_line = prompt_read(PROMPT1, &intr);
  if (!held_line) {
    lua_pushboolean(L, intr); /* Ctrl-C: go on; end of input: stop */
    return 1;
  }
  const char *line = held_line;
  const char *p = line;
  while (isspace((unsigned char)*p)) p++;
  if (*p == '\0') return step_done(L);
  if (prompt_command(line)) {
    prompt_save(line);
    return step_done(L);
  }
  int text = lua_gettop(L) + 1; /* the chunk as typed (history) */
  lua_pushstring(L, line);
  int status, quiet = 0;
  if (help_request(L, line)) {
    size_t n;
    const char *code = lua_tolstring(L, -1, &n);
    status = luaL_loadbufferx(L, code, n, "=stdin", "t");
    lua_remove(L, -2); /* the code */
  } else {
    for (;;) {
      size_t n;
      const char *code = lua_tolstring(L, text, &n);
      status = compile(L, code, n);
      if (!incomplete(L, status)) break;
      lua_pop(L, 1);
      held_more = prompt_read(PROMPT2, &intr);
      if (!held_more) {
        if (intr) { /* Ctrl-C drops the unfinished chunk */
          lua_settop(L, text - 1);
          return step_done(L);
        }
        status = compile(L, code, n); /* end of input: report the incomplete chunk */
        break;
      }
      lua_pushliteral(L, "\n");
      lua_pushstring(L, held_more);
      lua_concat(L, 3);
      free(held_more);
      held_more = NULL;
    }
    size_t n;
    const char *code = lua_tolstring(L, text, &n);
    while (n && isspace((unsigned char)code[n - 1])) n--;
    quiet = n && code[n - 1] == ';'; /* a trailing ';' suppresses printing */
  }
  prompt_save(lua_tostring(L, text));
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    l_message(NULL, msg ? msg : "(error)");
    lua_settop(L, text - 1);
    return step_done(L);
  }
  int base = lua_gettop(L); /* the function */
  double t0 = ot_clock();
  status = docall(L, 0, LUA_MULTRET);
  double elapsed = ot_clock() - t0;
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (sigint_seen && isatty(STDERR_FILENO)) fputc('\n', stderr); /* after the echoed ^C */
    l_message(NULL, msg ? msg : "(error)");
    memory_hint(msg);
  } else {
    int n = lua_gettop(L) - base + 1;
    if (n > 0) {
      lua_pushvalue(L, base);
      lua_setglobal(L, "_");
      if (!quiet) show_results(L, n);
    }
  }
  if (show_time) print_duration(elapsed);
  lua_settop(L, text - 1);
  return step_done(L);
}

/*
 * The interactive loop: each step runs protected, so even a memory error
 * while reading or printing leaves the session alive.  SIGINT between
 * steps is ignored; prompt_read and docall install their own handlers.
 */
static void doREPL(lua_State *L, const char *history, int version_shown) {
  struct sigaction ign, old;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGINT, &ign, &old);
  const char *saved = progname;
  progname = NULL; /* messages at the prompt are not prefixed */
  set_host_field(L, "interactive", 1);
  print_banner(version_shown);
  prompt_init(L, history);
  for (;;) {
    lua_settop(L, 0);
    lua_pushcfunction(L, repl_step);
    int status = lua_pcall(L, 0, 1, 0);
    free(held_line);
    free(held_more);
    held_line = held_more = NULL;
    if (status != LUA_OK) {
      const char *msg = lua_tostring(L, -1);
      l_message(NULL, msg ? msg : "(error)");
      memory_hint(msg);
      continue;
    }
    if (!lua_toboolean(L, -1)) break;
  }
  lua_settop(L, 0);
  prompt_close();
  fputc('\n', stdout);
  fflush(stdout);
  progname = saved;
  sigaction(SIGINT, &old, NULL);
}

/* ---- main ------------------------------------------------------------------- */

static int enter_repl; /* set by pmain: run the REPL after it returns */

/*
 * Everything up to the REPL, in protected mode (lua.c's pmain).  Arguments:
 * the options (light userdata), argc, argv.  Returns true on success.
 */
static int pmain(lua_State *L) {
  options *o = lua_touserdata(L, 1);
  int argc = (int)lua_tointeger(L, 2);
  char **argv = lua_touserdata(L, 3);
  static char histbuf[PATH_MAX];
  const char *history = history_path(o, histbuf, sizeof histbuf, 0);
  int interactive_noscript = o->script == 0 &&
    (o->has_i || (!o->has_e && !o->has_v && isatty(STDIN_FILENO)));

  luaL_checkversion(L);
  if (o->has_v) print_version();
  if (o->has_E) { /* package.path/cpath ignore LUA_PATH and LUA_CPATH */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  if (o->has_W) lua_warning(L, "@on", 0);
  luaL_openlibs(L);
  luaL_requiref(L, "ot", luaopen_ot, 1);
  lua_pop(L, 1);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);

  if (o->mem_limit && apply_setting(L, "mem_limit", o->mem_limit) != LUA_OK) return 0;
  if (o->threads && apply_setting(L, "threads", o->threads) != LUA_OK) return 0;
  if (o->seed && apply_setting(L, "seed", o->seed) != LUA_OK) return 0;

  const char *root = find_root();
  lua_pushstring(L, root);
  lua_setglobal(L, "OTLAB_ROOT");
  lua_getglobal(L, "package");
  lua_pushfstring(L, "%s/lua/?.lua;", root);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
  open_host(L, root, o, history);
  createargtable(L, argv, argc, o->script);

  lua_getglobal(L, "require");
  lua_pushliteral(L, "prelude");
  if (report(L, docall(L, 1, 1)) != LUA_OK) return 0;
  if (lua_istable(L, -1) && lua_getfield(L, -1, "show") == LUA_TFUNCTION)
    lua_setfield(L, LUA_REGISTRYINDEX, "otlab.show"); /* the auto-printer */
  lua_settop(L, 3);

  if (!o->has_E && handle_init(L) != LUA_OK) return 0;
  if (interactive_noscript) load_dataset(L);
  for (int k = 0; k < o->nops; k++) {
    int status = o->ops[k].kind == 'e' ? dostring(L, o->ops[k].arg, "=(command line)")
                                       : dolibrary(L, o->ops[k].arg);
    if (status != LUA_OK) return 0;
  }
  if (o->script > 0 && handle_script(L, argv, argc, o->script) != LUA_OK) return 0;
  if (o->has_i) {
    enter_repl = 1;
  } else if (o->script == 0 && !o->has_e && !o->has_v) {
    if (isatty(STDIN_FILENO)) enter_repl = 1;
    else if (dofile(L, NULL) != LUA_OK) return 0; /* stdin as one chunk */
  }
  lua_pushboolean(L, 1);
  return 1;
}

/*
 * OpenMP's threads spin while they wait for work by default; on a machine
 * where another process holds a core that makes the threaded kernels several
 * times slower (measured: log-domain Sinkhorn 3x at n = 2000 on 2 cores),
 * while passive waiting costs at most ~10% on an idle machine.  libgomp reads
 * OMP_WAIT_POLICY when it loads, before main(), so when the user has not
 * chosen a policy we set it and execute ourselves again, once.
 */
static void choose_omp_wait_policy(char **argv) {
  if (getenv("OMP_WAIT_POLICY")) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv); /* returns only on failure: go on as we are */
}

int main(int argc, char **argv) {
  choose_omp_wait_policy(argv);
  setlocale(LC_CTYPE, ""); /* characters follow the user; numbers stay "C" (a dot) */
  main_thread = pthread_self();
  options o;
  memset(&o, 0, sizeof o);
  o.ops = calloc((size_t)argc + 1, sizeof *o.ops);
  if (!o.ops) return EXIT_FAILURE;
  if (!collectargs(argc, argv, &o) || !check_values(&o)) {
    free(o.ops);
    return EXIT_FAILURE;
  }
  const char *nc = getenv("NO_COLOR");
  const char *term = getenv("TERM");
  color_err = !o.no_color && !(nc && nc[0]) && isatty(STDERR_FILENO) && term &&
              strcmp(term, "dumb") != 0;
  tui_panel_init(!o.no_panel, !o.no_color && !(nc && nc[0]));
  bind_panel_hook = tui_panel_progress; /* every binding's progress reaches the panel */

  lua_State *L = lua_newstate(ot_mem_lua_alloc, NULL);
  if (!L) {
    l_message(progname, "cannot create state: not enough memory");
    free(o.ops);
    return EXIT_FAILURE;
  }
  globalL = L;
  lua_atpanic(L, panic);
  lua_setwarnf(L, warnf, L);
  lua_gc(L, LUA_GCSTOP); /* no collections while starting, as lua.c */
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &o);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 3, 1, 0);
  int ok = lua_toboolean(L, -1);
  report(L, status);
  if (status != LUA_OK || !ok) bind_mpi_fail(EXIT_FAILURE); /* returns in one process */
  if (status == LUA_OK && ok && enter_repl) {
    static char histbuf[PATH_MAX];
    doREPL(L, history_path(&o, histbuf, sizeof histbuf, 1), o.has_v);
  }
  tui_panel_shutdown();
  lua_close(L);
  globalL = NULL;
  free(o.ops);
  return (status == LUA_OK && ok) ? EXIT_SUCCESS : EXIT_FAILURE;
}
