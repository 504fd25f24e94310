/*
 * prompt.c -- the interactive prompt: readline in callback mode, tab
 * completion over the Lua state, persistent history, idle Ctrl-C.
 * See prompt.h for the contract.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "prompt.h"

static lua_State *prompt_L;     /* the state completion reads */
static char *hist_file;         /* NULL: no history file (or it failed) */

/* Set by the signal handlers while prompt_read waits; read in its loop. */
static volatile sig_atomic_t got_sigint, got_sigwinch, got_sigtstp;

/* The line handed over by readline's callback. */
static char *line_result;
static int line_done;

/* ---- history ------------------------------------------------------------ */

/* Give up on the history file with one warning on stderr. */
static void hist_fail(const char *what, const char *why) {
  fprintf(stderr, "otlab: warning: %s history file '%s' (%s); history will not be saved\n", what,
          hist_file, why);
  fflush(stderr);
  free(hist_file);
  hist_file = NULL;
}

/*
 * Open the history file: read it when it exists; when it does not, check
 * that its directory does, so a bad path is reported now rather than after
 * the first command.
 */
static void hist_open(const char *path) {
  struct stat st;
  hist_file = strdup(path);
  if (!hist_file) return;
  if (stat(path, &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      hist_fail("cannot use", S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file");
      return;
    }
    int e = read_history(path);
    if (e) hist_fail("cannot read", strerror(e));
    else history_truncate_file(path, PROMPT_HISTORY_MAX); /* keep the cap across sessions */
    return;
  }
  if (errno != ENOENT) {
    hist_fail("cannot use", strerror(errno));
    return;
  }
  /* a new file: its directory must exist */
  char *dir = strdup(path);
  if (!dir) return;
  char *slash = strrchr(dir, '/');
  if (slash) {
    if (slash == dir) slash[1] = '\0';
    else *slash = '\0';
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
      hist_fail("cannot create", "its directory does not exist");
  }
  free(dir);
}

void prompt_save(const char *chunk) {
  if (!chunk || !chunk[0] || chunk[0] == ' ') return; /* a leading space keeps it private */
  HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last && strcmp(last->line, chunk) == 0) return; /* no consecutive duplicates */
  add_history(chunk);
  if (!hist_file) return;
  int e = append_history(1, hist_file);
  if (e == ENOENT) e = write_history(hist_file); /* append does not create the file */
  if (e) hist_fail("cannot write", strerror(e));
}

/* ---- completion ----------------------------------------------------------- */

static const char *const lua_keywords[] = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
  "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", NULL
};

/* What is being completed, worked out from the line before any Lua runs. */
enum { COMPLETE_NAME, COMPLETE_KEY, COMPLETE_MODULE };
typedef struct complete_ctx {
  int kind;
  const char *text;  /* the word readline replaces */
  const char *path;  /* COMPLETE_KEY: the table expression before ["... */
  size_t pathlen;
  char quote;        /* COMPLETE_KEY: the quote that opened the key */
} complete_ctx;

/* The candidates of the current completion (malloc'd strings). */
static char **cand;
static size_t ncand, icand;

static int is_ident(const char *s, size_t n) {
  if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return 0;
  for (int k = 0; lua_keywords[k]; k++)
    if (strlen(lua_keywords[k]) == n && memcmp(lua_keywords[k], s, n) == 0) return 0;
  return 1;
}

/*
 * Push t[k] for the value at idx without running any metamethod function:
 * a raw read of a table, then (for a table without the key, or any other
 * value) its metatable's __index when that is a table, up to 8 levels.
 * Pushes nil when not found.
 */
static void raw_field(lua_State *L, int idx, const char *k, size_t n) {
  idx = lua_absindex(L, idx);
  lua_pushvalue(L, idx);
  for (int depth = 0; depth < 8; depth++) {
    if (lua_istable(L, -1)) {
      lua_pushlstring(L, k, n);
      if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
      }
      lua_pop(L, 1);
    }
    if (!lua_getmetatable(L, -1)) break;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    lua_remove(L, -2); /* the metatable */
    lua_remove(L, -2); /* the previous value */
    if (!lua_istable(L, -1)) break;
  }
  lua_pop(L, 1);
  lua_pushnil(L);
}

/* Resolve a dotted path "a.b.c" from the globals; pushes the value or nil. */
static void resolve_path(lua_State *L, const char *path, size_t n) {
  lua_pushglobaltable(L);
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && path[j] != '.') j++;
    if (!is_ident(path + i, j - i)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return;
    }
    raw_field(L, -1, path + i, j - i);
    lua_remove(L, -2);
    if (lua_isnil(L, -1)) return;
    i = j + 1;
  }
}

/*
 * Add to the set at index `set` every string key of the value at idx (its
 * own raw keys if a table, then those of its metatables' __index tables)
 * that starts with word: as prefix..key.  methods: keep only functions.
 * idents: keep only keys that are Lua names.
 */
static void add_keys(lua_State *L, int set, int idx, const char *prefix, size_t plen,
                     const char *word, int methods, int idents) {
  size_t wlen = strlen(word);
  lua_pushvalue(L, idx);
  for (int depth = 0; depth < 8; depth++) {
    if (lua_istable(L, -1)) {
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        size_t klen;
        if (lua_type(L, -2) == LUA_TSTRING) {
          const char *k = lua_tolstring(L, -2, &klen);
          int ok = klen >= wlen && memcmp(k, word, wlen) == 0;
          if (ok && idents && !is_ident(k, klen)) ok = 0;
          if (ok && methods && !lua_isfunction(L, -1)) ok = 0;
          if (ok) {
            lua_pushlstring(L, prefix, plen);
            lua_pushvalue(L, -3);
            lua_concat(L, 2);
            lua_pushboolean(L, 1);
            lua_rawset(L, set);
          }
        }
        lua_pop(L, 1);
      }
    }
    if (!lua_getmetatable(L, -1)) break;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    lua_remove(L, -2);
    lua_remove(L, -2);
    if (!lua_istable(L, -1)) break;
  }
  lua_pop(L, 1);
}

/* Module names for require "...: package.loaded, package.preload and the
 * files that package.path can find (DIR/?.lua and DIR/?/init.lua). */
static void add_modules(lua_State *L, int set, const char *word) {
  size_t wlen = strlen(word);
  lua_getglobal(L, "package");
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  int pkg = lua_gettop(L);
  static const char *const tables[] = {"loaded", "preload"};
  for (int t = 0; t < 2; t++) {
    lua_pushstring(L, tables[t]);
    lua_rawget(L, pkg);
    if (lua_istable(L, -1)) add_keys(L, set, lua_gettop(L), "", 0, word, 0, 0);
    lua_pop(L, 1);
  }
  lua_pushliteral(L, "path");
  lua_rawget(L, pkg);
  const char *path = lua_tostring(L, -1);
  while (path && *path) {
    const char *end = strchr(path, ';');
    size_t n = end ? (size_t)(end - path) : strlen(path);
    const char *q = memchr(path, '?', n);
    if (q) {
      /* the directory before '?', and what follows it in the template */
      lua_pushlstring(L, path, (size_t)(q - path));
      const char *dirname = lua_tostring(L, -1);
      size_t slen = n - (size_t)(q - path) - 1;
      int is_init = slen == 9 && memcmp(q + 1, "/init.lua", 9) == 0;
      int is_lua = slen == 4 && memcmp(q + 1, ".lua", 4) == 0;
      DIR *d = (is_init || is_lua) ? opendir(dirname[0] ? dirname : ".") : NULL;
      struct dirent *e;
      while (d && (e = readdir(d)) != NULL) {
        size_t elen = strlen(e->d_name);
        if (e->d_name[0] == '.' || elen < wlen || memcmp(e->d_name, word, wlen) != 0) continue;
        if (is_lua && elen > 4 && strcmp(e->d_name + elen - 4, ".lua") == 0) {
          lua_pushlstring(L, e->d_name, elen - 4);
        } else if (is_init) {
          lua_pushfstring(L, "%s%s/init.lua", dirname, e->d_name);
          int found = access(lua_tostring(L, -1), R_OK) == 0;
          lua_pop(L, 1);
          if (!found) continue;
          lua_pushstring(L, e->d_name);
        } else {
          continue;
        }
        lua_pushboolean(L, 1);
        lua_rawset(L, set);
      }
      if (d) closedir(d);
      lua_pop(L, 1);
    }
    path = end ? end + 1 : NULL;
  }
  lua_settop(L, pkg - 1);
}

/*
 * Collect the candidates for a complete_ctx (lightuserdata at 1) into a
 * table used as a set; returns it.  Runs under lua_pcall, so an allocation
 * error cannot longjmp out of readline.
 */
static int collect(lua_State *L) {
  const complete_ctx *c = lua_touserdata(L, 1);
  lua_newtable(L);
  int set = lua_gettop(L);
  if (c->kind == COMPLETE_MODULE) {
    add_modules(L, set, c->text);
  } else if (c->kind == COMPLETE_KEY) {
    resolve_path(L, c->path, c->pathlen);
    if (!lua_isnil(L, -1)) add_keys(L, set, lua_gettop(L), "", 0, c->text, 0, 0);
    lua_pop(L, 1);
  } else {
    const char *text = c->text;
    const char *sep = NULL;
    for (const char *p = text; *p; p++)
      if (*p == '.' || *p == ':') sep = p;
    if (!sep) {
      lua_pushglobaltable(L);
      add_keys(L, set, lua_gettop(L), "", 0, text, 0, 1);
      lua_pop(L, 1);
      size_t n = strlen(text);
      for (int k = 0; lua_keywords[k]; k++)
        if (strncmp(lua_keywords[k], text, n) == 0) {
          lua_pushboolean(L, 1);
          lua_setfield(L, set, lua_keywords[k]);
        }
    } else {
      for (const char *p = text; p < sep; p++)
        if (*p == ':') return 1; /* a ':' can only be the last separator */
      resolve_path(L, text, (size_t)(sep - text));
      if (!lua_isnil(L, -1))
        add_keys(L, set, lua_gettop(L), text, (size_t)(sep - text) + 1, sep + 1, *sep == ':', 1);
      lua_pop(L, 1);
    }
  }
  return 1;
}

static void free_candidates(void) {
  for (size_t i = 0; i < ncand; i++) free(cand[i]);
  free(cand);
  cand = NULL;
  ncand = icand = 0;
}

/* Fill cand[] from the context; 0 when there is nothing to offer. */
static size_t gather(const complete_ctx *c) {
  lua_State *L = prompt_L;
  free_candidates();
  int top = lua_gettop(L);
  if (!lua_checkstack(L, 20)) return 0;
  lua_pushcfunction(L, collect);
  lua_pushlightuserdata(L, (void *)c);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    lua_settop(L, top);
    return 0;
  }
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    n++;
    lua_pop(L, 1);
  }
  cand = calloc(n + 1, sizeof *cand);
  if (cand) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      const char *s = lua_tostring(L, -2);
      if (s && (cand[ncand] = strdup(s)) != NULL) ncand++;
      lua_pop(L, 1);
    }
  }
  lua_settop(L, top);
  return ncand;
}

/* readline generator over cand[] (readline frees what it returns). */
static char *generator(const char *text, int state) {
  (void)text;
  if (state == 0) icand = 0;
  return icand < ncand ? strdup(cand[icand++]) : NULL;
}

/* Bytes of the common "a.b." / "m:" prefix, not shown when listing. */
static size_t display_skip;

/* List matches without their shared table prefix ("zeros" for "ot.zeros"). */
static void display_hook(char **matches, int len, int max) {
  char **shown = malloc(((size_t)len + 2) * sizeof *shown);
  if (!shown) return;
  for (int i = 0; i <= len; i++) {
    size_t n = strlen(matches[i]);
    shown[i] = matches[i] + (display_skip < n ? display_skip : n);
  }
  shown[len + 1] = NULL;
  rl_display_match_list(shown, len, max - (int)display_skip);
  free(shown);
  rl_forced_update_display();
}

/*
 * readline's attempted-completion function.  Inside a string: a key of
 * t["..., a module name of require "..., else file names (readline's own
 * completer).  Elsewhere: globals, keywords, tbl.field, obj:method.
 */
static char **complete(const char *text, int start, int end) {
  (void)end;
  complete_ctx c = {COMPLETE_NAME, text, NULL, 0, 0};
  const char *line = rl_line_buffer;
  rl_completion_display_matches_hook = NULL;
  display_skip = 0;
  if (rl_completion_quote_character) {
    int q = start - 1; /* the opening quote */
    int i = q - 1;
    while (i >= 0 && isspace((unsigned char)line[i])) i--;
    if (i >= 0 && line[i] == '[') {
      int e = i, b = i;
      while (b > 0 && (isalnum((unsigned char)line[b - 1]) || line[b - 1] == '_' ||
                       line[b - 1] == '.'))
        b--;
      if (b == e) return NULL;
      c.kind = COMPLETE_KEY;
      c.path = line + b;
      c.pathlen = (size_t)(e - b);
      c.quote = (char)rl_completion_quote_character;
    } else {
      if (i >= 0 && line[i] == '(') i--;
      while (i >= 0 && isspace((unsigned char)line[i])) i--;
      int b = i + 1;
      while (b > 0 && (isalnum((unsigned char)line[b - 1]) || line[b - 1] == '_')) b--;
      if (i - b + 1 == 7 && strncmp(line + b, "require", 7) == 0)
        c.kind = COMPLETE_MODULE;
      else
        return NULL; /* file names: readline's filename completion */
    }
  }
  rl_attempted_completion_over = 1; /* never fall back to file names here */
  rl_completion_append_character = '\0';
  size_t head = 0; /* "a/ot.ze": '/' does not break words (file paths), skip "a/" */
  if (c.kind == COMPLETE_NAME) {
    const char *w = text + strlen(text);
    while (w > text && (isalnum((unsigned char)w[-1]) || strchr("_.:", w[-1]))) w--;
    head = (size_t)(w - text);
    c.text = w;
  }
  if (gather(&c) == 0) return NULL;
  for (size_t i = 0; head && i < ncand; i++) { /* put the head back */
    size_t n = strlen(cand[i]);
    char *s = malloc(head + n + 1);
    if (!s) continue;
    memcpy(s, text, head);
    memcpy(s + head, cand[i], n + 1);
    free(cand[i]);
    cand[i] = s;
  }
  if (c.kind == COMPLETE_KEY) {
    rl_completion_suppress_quote = 1;
    if (ncand == 1) { /* close the key: t["key"] */
      size_t n = strlen(cand[0]);
      char *s = realloc(cand[0], n + 3);
      if (s) {
        s[n] = c.quote;
        s[n + 1] = ']';
        s[n + 2] = '\0';
        cand[0] = s;
      }
    }
  } else if (c.kind == COMPLETE_NAME) {
    const char *sep = strrchr(text + head, '.');
    const char *colon = strrchr(text + head, ':');
    if (colon > sep) sep = colon;
    if (sep || head) {
      display_skip = sep ? (size_t)(sep - text) + 1 : head;
      rl_completion_display_matches_hook = display_hook;
    }
  }
  char **m = rl_completion_matches(text, generator);
  free_candidates();
  return m;
}

/* ---- reading a line -------------------------------------------------------- */

/*
 * The signal handlers only set a flag.  A process-directed signal may land
 * on another thread (OpenBLAS starts workers before main runs, with these
 * signals unblocked); it is forwarded to the main thread, whose pselect()
 * must wake up.
 */
static pthread_t prompt_thread;

static int forwarded(int sig) {
  if (pthread_equal(pthread_self(), prompt_thread)) return 0;
  pthread_kill(prompt_thread, sig);
  return 1;
}
static void on_sigint(int sig) {
  if (!forwarded(sig)) got_sigint = 1;
}
static void on_sigwinch(int sig) {
  if (!forwarded(sig)) got_sigwinch = 1;
}
static void on_sigtstp(int sig) {
  if (!forwarded(sig)) got_sigtstp = 1;
}

/*
 * readline's input function.  Readline's own waits in pselect() with every
 * signal unblocked (it saves no mask when it does not catch signals), so a
 * Ctrl-C would set our flag while it kept reading typeahead.  Here a plain
 * read() runs with SIGINT blocked: the prompt loop notices the signal in its
 * own pselect() between two keys.  It is called only when input is ready.
 */
static int prompt_getc(FILE *f) {
  unsigned char c;
  for (;;) {
    ssize_t n = read(fileno(f), &c, 1);
    if (n == 1) return c;
    if (n == 0 || errno != EINTR) return EOF;
  }
}

/* readline's callback: the line is complete (NULL at end of input). */
static void on_line(char *line) {
  line_result = line;
  line_done = 1;
  rl_callback_handler_remove();
}

void prompt_init(lua_State *L, const char *history) {
  prompt_L = L;
  prompt_thread = pthread_self();
  rl_readline_name = "otlab"; /* for $if otlab in ~/.inputrc */
  rl_catch_signals = 0;       /* we handle SIGINT, SIGWINCH and SIGTSTP ourselves */
  rl_catch_sigwinch = 0;
  rl_change_environment = 0;  /* do not export LINES and COLUMNS */
  rl_attempted_completion_function = complete;
  rl_getc_function = prompt_getc;
  /* no '/', '~' or '-' here: they start file paths inside strings */
  rl_basic_word_break_characters = " \t\n\"'`<>=;|&{}()[],+*%^#";
  rl_completer_quote_characters = "\"'";
  rl_initialize();
  /* Up/Down: search the history for lines starting with what is typed */
  rl_bind_keyseq("\\e[A", rl_history_search_backward);
  rl_bind_keyseq("\\e[B", rl_history_search_forward);
  rl_bind_keyseq("\\eOA", rl_history_search_backward);
  rl_bind_keyseq("\\eOB", rl_history_search_forward);
  if (!isatty(STDOUT_FILENO)) rl_variable_bind("enable-bracketed-paste", "off");
  using_history();
  stifle_history(PROMPT_HISTORY_MAX);
  history_write_timestamps = 1; /* timestamps delimit multi-line entries in the file */
  history_comment_char = '#';
  if (history && *history) hist_open(history);
}

/*
 * Stop for Ctrl-Z with the terminal restored, and take it back on resume.
 * Called from the prompt loop (not a signal handler) with SIGTSTP blocked.
 */
static void suspend_self(void) {
  struct sigaction dfl, old;
  rl_cleanup_after_signal();
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGTSTP, &dfl, &old);
  sigset_t unblock, saved;
  sigemptyset(&unblock);
  sigaddset(&unblock, SIGTSTP);
  raise(SIGTSTP);
  sigprocmask(SIG_UNBLOCK, &unblock, &saved); /* stops here until SIGCONT */
  sigprocmask(SIG_SETMASK, &saved, NULL);
  sigaction(SIGTSTP, &old, NULL);
  rl_reset_after_signal();
  rl_forced_update_display();
}

char *prompt_read(const char *prompt, int *interrupted) {
  struct sigaction sa, old_int, old_winch, old_tstp;
  sigset_t block, orig;
  int fd = fileno(rl_instream ? rl_instream : stdin);
  *interrupted = 0;
  line_result = NULL;
  line_done = 0;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGWINCH);
  sigaddset(&block, SIGTSTP);
  sigprocmask(SIG_BLOCK, &block, &orig); /* delivered only inside pselect */
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, &old_int);
  sa.sa_handler = on_sigwinch;
  sigaction(SIGWINCH, &sa, &old_winch);
  sa.sa_handler = on_sigtstp;
  sigaction(SIGTSTP, &sa, &old_tstp);
  got_sigint = got_sigwinch = got_sigtstp = 0;
  if (isatty(fd)) rl_reset_screen_size(); /* the window may have changed meanwhile */
  rl_callback_handler_install(prompt, on_line);
  while (!line_done) {
    if (got_sigint) { /* Ctrl-C: drop the line, keep the session */
      got_sigint = 0;
      rl_free_line_state();
      rl_callback_sigcleanup();
      rl_point = rl_end;
      rl_redisplay();
      fputs("^C", rl_outstream);
      rl_crlf();
      fflush(rl_outstream);
      rl_callback_handler_remove();
      *interrupted = 1;
      break;
    }
    if (got_sigwinch) {
      got_sigwinch = 0;
      rl_resize_terminal();
    }
    if (got_sigtstp) {
      got_sigtstp = 0;
      suspend_self();
    }
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    int r = pselect(fd + 1, &fds, NULL, NULL, NULL, &orig);
    if (r < 0) {
      if (errno == EINTR) continue;
      rl_callback_handler_remove(); /* unusable input: end of input */
      break;
    }
    if (r > 0) rl_callback_read_char();
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGWINCH, &old_winch, NULL);
  sigaction(SIGTSTP, &old_tstp, NULL);
  sigprocmask(SIG_SETMASK, &orig, NULL);
  return line_result;
}

void prompt_close(void) {
  if (hist_file) history_truncate_file(hist_file, PROMPT_HISTORY_MAX);
  free(hist_file);
  hist_file = NULL;
  rl_clear_history();
  free_candidates();
  prompt_L = NULL;
}
