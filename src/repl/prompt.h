/*
 * prompt.h -- the interactive prompt of otlab: GNU Readline in callback
 * mode, tab completion over the Lua state, persistent history, and Ctrl-C
 * at an idle prompt (it clears the line instead of ending the session).
 *
 * Readline is driven through its callback interface from a pselect() loop,
 * so that SIGINT, SIGWINCH and SIGTSTP are handled here, outside signal
 * handlers: a handler only sets a flag and pselect() returns EINTR.
 * Readline's own signal handlers are never installed (rl_catch_signals = 0).
 *
 * Completion reads the Lua state but never runs Lua code: fields come from
 * lua_next/lua_rawget and methods from a metatable's __index *table*.
 */
#ifndef OT_REPL_PROMPT_H
#define OT_REPL_PROMPT_H

#include <lua.h>

/*
 * Set up readline for the session.
 *   L        the Lua state whose globals are completed; it must outlive the
 *            prompt (prompt_close before lua_close).
 *   history  the history file, or NULL for no persistent history.  It is
 *            read now (a missing file is fine) and appended to after each
 *            chunk; an unreadable or unwritable file gives one warning on
 *            stderr and turns the file off for the session.
 */
void prompt_init(lua_State *L, const char *history);

/*
 * Read one line with `prompt` ("> " or ">> ").  Returns a malloc'd line
 * (without its newline; free() it), or NULL.  NULL with *interrupted = 1
 * means Ctrl-C cleared the line (the caller drops any pending chunk);
 * NULL with *interrupted = 0 means end of input (Ctrl-D on an empty line).
 */
char *prompt_read(const char *prompt, int *interrupted);

/*
 * Record a complete chunk (possibly several lines joined by '\n') in the
 * history and append it to the history file.  Empty chunks and chunks that
 * start with a space are not recorded.
 */
void prompt_save(const char *chunk);

/* Trim the history file to its cap and release readline's memory. */
void prompt_close(void);

/* Cap on remembered history entries (memory and file). */
#define PROMPT_HISTORY_MAX 10000

#endif
