/*
 * panel_hook.h -- where the live panel plugs into bind_progress (util.c),
 * the one progress sink of every binding.
 *
 * Bindings must not include curses.h (the layers of DESIGN.md), so the
 * host (src/repl/main.c) installs the panel's sink here as a plain function
 * pointer at start-up; bind_progress calls it on every report before the
 * Lua callback.  A non-zero return means the user asked to cancel the job
 * (the panel's c key): bind_progress then sets bind_interrupted, so the
 * binding reports "interrupted" exactly as after Ctrl-C.  NULL: no panel.
 */
#ifndef OT_BIND_PANEL_HOOK_H
#define OT_BIND_PANEL_HOOK_H

#include "ot/ot.h"

typedef int (*bind_panel_fn)(const ot_progress *p);
extern bind_panel_fn bind_panel_hook;

#endif
